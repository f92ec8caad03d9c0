//! What a read sees: one committed configuration, one interface snapshot and
//! the agent's own state, taken together so every value in a PDU is consistent.

use crate::stats::SnmpStats;
use std::sync::Arc;
use vpn_core::fibview::{FibView, RouteDrops};
use vpn_core::ifaces::Interfaces;
use vpn_core::Config;

/// Facts about the running agent that the system group reports.
#[derive(Debug, Clone)]
pub struct AgentInfo {
    pub sys_descr: String,
    /// Default sysName when none has been set (the host name).
    pub default_sys_name: String,
}

/// The read context of one PDU.
pub struct View<'a> {
    pub cfg: &'a Config,
    pub ifs: &'a Interfaces,
    /// Agent clock (hundredths of a second since start) when the PDU arrived.
    pub now: u32,
    pub info: &'a AgentInfo,
    pub stats: &'a SnmpStats,
    pub fib: &'a FibView,
    pub drops: &'a RouteDrops,
    pub illegal_labels: &'a vpn_core::fibview::IllegalLabels,
    pub peers: &'a vpn_core::bgpcfg::PeerStates,
    /// Routes learned through BGP (read-only rows of the route table).
    pub bgp: &'a vpn_core::vpn::BgpRoutes,
}

/// Owned parts of a [`View`], for callers that hold snapshots.
pub struct Snapshot {
    pub cfg: Arc<Config>,
    pub ifs: Arc<Interfaces>,
}
