//! MPLS label spaces and the incoming label map (ILM) model.
//!
//! Labels are 20-bit values; 0..15 are reserved by RFC 3032. The platform
//! label space is split into a static range (labels an operator assigns) and
//! a dynamic range (labels this router allocates to VRFs, prefixes or next
//! hops). Allocation here is pure: the caller owns the table of allocations
//! (vpn-core keeps it in its committed configuration so allocations persist).

pub mod ilm;
mod labels;
pub mod space;

pub use ilm::{Ilm, IlmAction};
pub use labels::Labels;
pub use space::{LabelError, LabelRange, LabelSpace, MAX_LABEL, MIN_UNRESERVED};
