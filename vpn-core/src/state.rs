//! Derived state of VRFs, computed from one configuration and one interface
//! snapshot so that every value read together is consistent.
//!
//! Operational status (ARCHITECTURE.md): a VRF is up iff its row is active,
//! its admin status is up, and at least one of its active interface bindings
//! is to an interface whose oper status is up.

use crate::config::{AdminStatus, Config, RowState};
use crate::ifaces::Interfaces;
use crate::keys::VrfKey;

/// Interface counts and status of one VRF.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct VrfStatus {
    pub oper_up: bool,
    /// Active bindings whose interface is oper up.
    pub active_interfaces: u32,
    /// Active bindings, whatever the interface state.
    pub associated_interfaces: u32,
}

/// Status of one VRF (`None` if it does not exist).
pub fn vrf_status(cfg: &Config, ifs: &Interfaces, vrf: &VrfKey) -> Option<VrfStatus> {
    let row = cfg.vrfs.get(vrf)?;
    let mut st = VrfStatus::default();
    for (k, b) in cfg.ifconfs_of(vrf) {
        if b.state == RowState::Active {
            st.associated_interfaces += 1;
            if ifs.is_up(k.if_index()) {
                st.active_interfaces += 1;
            }
        }
    }
    st.oper_up =
        row.state == RowState::Active && row.admin == AdminStatus::Up && st.active_interfaces > 0;
    Some(st)
}

/// Node-wide counts (mplsL3VpnActiveVrfs, mplsL3VpnConnectedInterfaces).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct NodeStatus {
    pub configured_vrfs: u32,
    pub active_vrfs: u32,
    pub connected_interfaces: u32,
}

/// Node-wide counts, consistent with [`vrf_status`] of every VRF. Walks the
/// bindings only (at most one per interface), not the VRFs.
pub fn node_status(cfg: &Config, ifs: &Interfaces) -> NodeStatus {
    let mut n = NodeStatus {
        configured_vrfs: cfg.vrfs.len() as u32,
        ..NodeStatus::default()
    };
    let mut last_up: Option<VrfKey> = None;
    for (k, b) in cfg.ifconfs.iter() {
        if b.state != RowState::Active {
            continue;
        }
        n.connected_interfaces += 1;
        if !ifs.is_up(k.if_index()) {
            continue;
        }
        let vrf = k.vrf();
        if last_up.as_ref() == Some(&vrf) {
            continue;
        }
        if cfg
            .vrfs
            .get(&vrf)
            .is_some_and(|r| r.state == RowState::Active && r.admin == AdminStatus::Up)
        {
            n.active_vrfs += 1;
        }
        last_up = Some(vrf);
    }
    n
}
