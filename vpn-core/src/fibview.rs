//! What the FIB side reports to readers: backend, capabilities and the
//! installation status of each VRF (the reconciler publishes it).

use crate::keys::VrfKey;
use fib::Capabilities;
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
    /// Routes the VRF's table holds as applied by the reconciler (its
    /// catch-all defaults included); a change of it alone is no status
    /// change.
    pub routes: u32,
}

/// Published by the reconciler after each round.
#[derive(Clone, Debug)]
pub struct FibView {
    pub backend: Backend,
    pub caps: Capabilities,
    pub vrfs: imbl::OrdMap<VrfKey, VrfFibState>,
}

impl FibView {
    pub fn new(backend: Backend, caps: Capabilities) -> FibView {
        FibView {
            backend,
            caps,
            vrfs: imbl::OrdMap::new(),
        }
    }

    pub fn vrf(&self, k: &VrfKey) -> VrfFibState {
        self.vrfs.get(k).cloned().unwrap_or(VrfFibState {
            status: FibStatus::Pending,
            reason: String::new(),
            last_change: 0,
            routes: 0,
        })
    }
}

/// Routes refused because a VRF was at its maximum
/// (mplsL3VpnVrfPerfRoutesDropped), per VRF incarnation (its creation tick),
/// so a re-created VRF starts again at 0.
/// Told of every add refused at a VRF's maximum.
pub type OnDrop = Box<dyn Fn(&VrfKey) + Send + Sync>;

#[derive(Default)]
pub struct RouteDrops {
    inner: Mutex<HashMap<VrfKey, (u32, u32)>>,
    /// Told of every refused add (threshold tracking).
    on_drop: std::sync::OnceLock<OnDrop>,
}

impl std::fmt::Debug for RouteDrops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteDrops")
            .field("inner", &self.inner)
            .finish()
    }
}

impl RouteDrops {
    /// Call `f` for every refused add (set once).
    pub fn set_on_drop(&self, f: OnDrop) {
        let _ = self.on_drop.set(f);
    }

    pub fn record(&self, vrf: &VrfKey, created: u32) {
        if let Some(f) = self.on_drop.get() {
            f(vrf);
        }
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

/// Labels received for a VRF outside the ranges its configuration allows
/// (mplsL3VpnVrfSecIllegalLblVltns), per VRF incarnation.
#[derive(Default)]
pub struct IllegalLabels {
    inner: Mutex<HashMap<VrfKey, (u32, u32)>>,
    /// Told of every illegal label with the VRF's new count (the
    /// mplsL3VpnIllLblRcvThrsh crossing is the notification originator's).
    on_illegal: std::sync::OnceLock<OnIllegal>,
}

/// What [`IllegalLabels::set_on_illegal`] calls: (configuration, VRF, new count).
pub type OnIllegal = Box<dyn Fn(&crate::Config, &VrfKey, u32) + Send + Sync>;

impl std::fmt::Debug for IllegalLabels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IllegalLabels")
            .field("inner", &self.inner)
            .finish()
    }
}

impl IllegalLabels {
    /// Call `f` with the configuration, the VRF and its new count after
    /// every illegal label (set once).
    pub fn set_on_illegal(&self, f: OnIllegal) {
        let _ = self.on_illegal.set(f);
    }

    /// Check a label received for `vrf` (for example in a VPN route from a
    /// peer) against the label space; count it if it is illegal. Returns
    /// whether it was legal.
    pub fn check(&self, cfg: &crate::Config, vrf: &VrfKey, label: u32) -> bool {
        let legal = cfg.settings.label_space.is_legal(label);
        if !legal {
            let created = cfg.vrfs.get(vrf).map_or(0, |r| r.times.created);
            let n = {
                let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
                let e = m.entry(vrf.clone()).or_insert((created, 0));
                if e.0 != created {
                    *e = (created, 0);
                }
                e.1 = e.1.wrapping_add(1);
                e.1
            };
            if let Some(f) = self.on_illegal.get() {
                f(cfg, vrf, n);
            }
        }
        legal
    }

    pub fn get(&self, vrf: &VrfKey, created: u32) -> u32 {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match m.get(vrf) {
            Some(&(c, n)) if c == created => n,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;

    #[test]
    fn illegal_labels_are_counted_per_vrf_incarnation() {
        let k = VrfKey::new(b"s").unwrap();
        let (c, _) = Config::default().apply(
            &[Change::PutVrf(k.clone(), VrfRow::new(Storage::Volatile))],
            7,
        );
        let il = IllegalLabels::default();
        assert!(il.check(&c, &k, 16_000));
        assert!(!il.check(&c, &k, 3));
        assert!(!il.check(&c, &k, 1_048_576));
        assert_eq!(il.get(&k, 7), 2);
        // a re-created VRF starts from zero
        assert_eq!(il.get(&k, 9), 0);
    }
}
