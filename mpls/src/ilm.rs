//! Incoming label map: what the data plane does with a packet that arrives
//! with a label this router allocated (RFC 3031 section 3.11).

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The action for one incoming label.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IlmAction {
    /// Pop the label and look the packet up in a VRF's routing table
    /// (per-VRF label).
    PopLookup { table: u32 },
    /// Pop the label and forward to a next hop (per-prefix or per-next-hop
    /// label), out of `ifindex` when known (0 = any).
    PopForward { via: IpAddr, ifindex: u32 },
}

/// One ILM entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ilm {
    pub label: u32,
    pub action: IlmAction,
}
