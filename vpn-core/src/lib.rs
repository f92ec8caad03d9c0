//! Domain model of l3vpnd: VRF configuration, its persistence (sled) and the
//! live views (interfaces) that the management layer reads.
//!
//! Nothing here knows SNMP. Keys of every table are byte strings ordered the way
//! the management index orders them (see [`keys`]), so "next row" is a range
//! lookup in the in-memory maps and in sled alike.

pub mod bgpcfg;
pub mod chunkmap;
pub mod clock;
pub mod config;
pub mod connected;
pub mod fibview;
pub mod ifaces;
pub mod keys;
pub mod notify_cfg;
pub mod rd;
pub mod reconcile;
pub mod routes;
pub mod security;
pub mod state;
pub mod store;
pub mod thresholds;
pub mod vpn;

pub use config::*;
pub use keys::*;
pub use rd::RouteDistinguisher;
pub use store::{Store, StoreError};

/// The lower crates whose types appear in vpn-core's API, re-exported so
/// the management layer depends on vpn-core alone.
pub use {bgp, fib, mpls};
