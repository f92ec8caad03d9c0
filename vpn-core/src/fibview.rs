//! What the FIB side reports to readers: backend, capabilities and the
//! installation status of each VRF (the reconciler publishes it).

use crate::keys::VrfKey;
use fib::Capabilities;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::Mutex;

/// Which FIB backend runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    Shadow = 1,
    Netlink = 2,
}

/// Installation status of a VRF in the FIB.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FibStatus {
    /// Not yet (or not fully) programmed; the reconciler is working on it.
    Pending = 1,
    Installed = 2,
    /// The last attempt failed; retried with backoff; the reason says why.
    Failed = 3,
    /// Not installed by design (row not active, admin down).
    NotApplicable = 4,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VrfFibState {
    pub status: FibStatus,
    pub reason: String,
    /// Agent clock ticks of the last status change.
    pub last_change: u32,
}

/// Published by the reconciler after each round.
#[derive(Clone, Debug)]
pub struct FibView {
    pub backend: Backend,
    pub caps: Capabilities,
    pub vrfs: BTreeMap<VrfKey, VrfFibState>,
}

impl FibView {
    pub fn new(backend: Backend, caps: Capabilities) -> FibView {
        FibView {
            backend,
            caps,
            vrfs: BTreeMap::new(),
        }
    }

    pub fn vrf(&self, k: &VrfKey) -> VrfFibState {
        self.vrfs.get(k).cloned().unwrap_or(VrfFibState {
            status: FibStatus::Pending,
            reason: String::new(),
            last_change: 0,
        })
    }
}

/// Routes refused because a VRF was at its maximum
/// (mplsL3VpnVrfPerfRoutesDropped), per VRF incarnation (its creation tick),
/// so a re-created VRF starts again at 0.
#[derive(Default, Debug)]
pub struct RouteDrops {
    inner: Mutex<HashMap<VrfKey, (u32, u32)>>,
}

impl RouteDrops {
    pub fn record(&self, vrf: &VrfKey, created: u32) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let e = m.entry(vrf.clone()).or_insert((created, 0));
        if e.0 != created {
            *e = (created, 0);
        }
        e.1 = e.1.wrapping_add(1);
    }

    pub fn get(&self, vrf: &VrfKey, created: u32) -> u32 {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match m.get(vrf) {
            Some(&(c, n)) if c == created => n,
            _ => 0,
        }
    }
}
