//! Live view of the host's network interfaces (what IF-MIB serves and what
//! interface bindings refer to). Filled from the kernel and kept current from
//! link notifications; readers take an immutable snapshot.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Operational state of a link (IF-MIB ifOperStatus values).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OperState {
    Up = 1,
    Down = 2,
    Testing = 3,
    Unknown = 4,
    Dormant = 5,
    NotPresent = 6,
    LowerLayerDown = 7,
}

/// Traffic counters of a link, as the kernel keeps them (64-bit).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct IfStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_multicast: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// One interface.
#[derive(Clone, PartialEq, Debug)]
pub struct IfInfo {
    /// Kernel ifindex (= IF-MIB ifIndex).
    pub index: u32,
    pub name: String,
    /// ARPHRD_* link type from the kernel.
    pub link_type: u16,
    pub mtu: u32,
    /// Speed in bits per second when the kernel knows it, else 0.
    pub speed_bps: u64,
    pub mac: Vec<u8>,
    pub admin_up: bool,
    pub oper: OperState,
    pub promiscuous: bool,
    /// Agent clock ticks (crate::clock) when oper state last changed; 0 if
    /// unchanged since the agent started.
    pub last_change: u32,
    pub alias: String,
    pub stats: IfStats,
}

/// An immutable snapshot of all interfaces, ordered by ifindex.
#[derive(Clone, Default, Debug)]
pub struct Interfaces {
    pub by_index: BTreeMap<u32, Arc<IfInfo>>,
}

impl Interfaces {
    pub fn get(&self, index: u32) -> Option<&IfInfo> {
        self.by_index.get(&index).map(|a| a.as_ref())
    }
    pub fn is_up(&self, index: u32) -> bool {
        self.get(index).is_some_and(|i| i.oper == OperState::Up)
    }
}
