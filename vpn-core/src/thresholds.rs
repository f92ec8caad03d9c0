//! Route-count thresholds of a VRF and the notifications they call for
//! (RFC 4382 mplsL3VpnVrfRouteMidThreshExceeded, ...MaxThreshExceeded,
//! ...MaxThreshCleared; the state machine of INVENTORY.md section 8.4).
//!
//! - Mid: one notification when the count goes above Mid; re-armed only when
//!   it falls below Mid (equal neither fires nor re-arms). Not rate-limited.
//! - Max exceeded: the count goes above High, or reaches it when High equals
//!   MaxRoutes, or an add is refused at the maximum ("attempts to exceed").
//!   With T = 0: once, until the count falls below High. With T > 0: at most
//!   once per T seconds while the condition persists and adds keep coming.
//! - Max cleared: when the count falls below High after an exceed. With
//!   T = 0 every time; with T > 0 at most once per window of T seconds
//!   starting at the exceed that opened it.
//! - A threshold of 0 is disabled. The state is tracked whether or not
//!   notifications are enabled, so enabling them sends nothing stale.

use crate::keys::VrfKey;
use std::collections::HashMap;
use std::sync::Mutex;

/// A notification to send, with the values its varbinds carry.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ThresholdEvent {
    MidExceeded { vrf: VrfKey, routes: u32, mid: u32 },
    MaxExceeded { vrf: VrfKey, routes: u32, high: u32 },
    MaxCleared { vrf: VrfKey, routes: u32, high: u32 },
}

/// Thresholds of one VRF as configured.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Limits {
    pub mid: u32,
    pub high: u32,
    pub max: u32,
    /// Re-issue interval, seconds (0 = once until cleared).
    pub interval: u32,
}

/// A VRF's limits as configured (and the node-wide re-issue interval).
pub fn limits(cfg: &crate::Config, vrf: &VrfKey) -> Option<Limits> {
    let r = cfg.vrfs.get(vrf)?;
    Some(Limits {
        mid: r.mid_thresh,
        high: r.high_thresh,
        max: r.max_routes,
        interval: cfg.settings.rte_mx_thrsh_time,
    })
}

/// The latch state of one VRF.
#[derive(Clone, Debug)]
pub struct State {
    mid_armed: bool,
    exceeded: bool,
    /// When the current rate-limit window opened (the exceed that opened it).
    window_start: Option<u64>,
    last_exceed: Option<u64>,
    cleared_in_window: bool,
    last_count: u32,
}

impl Default for State {
    fn default() -> Self {
        State {
            mid_armed: true,
            exceeded: false,
            window_start: None,
            last_exceed: None,
            cleared_in_window: false,
            last_count: 0,
        }
    }
}

impl State {
    /// Feed the current route count (`attempt`: an add was just refused at
    /// the maximum) at time `now` (seconds); returns what to notify.
    pub fn observe(
        &mut self,
        vrf: &VrfKey,
        n: u32,
        attempt: bool,
        l: Limits,
        now: u64,
    ) -> Vec<ThresholdEvent> {
        let mut out = Vec::new();
        let grew = n > self.last_count || attempt;
        self.last_count = n;
        if l.mid == 0 {
            self.mid_armed = true;
        } else if n > l.mid && self.mid_armed {
            self.mid_armed = false;
            out.push(ThresholdEvent::MidExceeded {
                vrf: vrf.clone(),
                routes: n,
                mid: l.mid,
            });
        } else if n < l.mid {
            self.mid_armed = true;
        }
        if l.high == 0 {
            self.exceeded = false;
            return out;
        }
        let cond = n > l.high || (l.high == l.max && n >= l.high) || attempt;
        let t = l.interval as u64;
        let window_open = |s: &State| s.window_start.is_some_and(|w| t > 0 && now < w + t);
        let exceed = ThresholdEvent::MaxExceeded {
            vrf: vrf.clone(),
            routes: n,
            high: l.high,
        };
        if cond && !self.exceeded {
            self.exceeded = true;
            if t == 0 || !window_open(self) {
                self.window_start = Some(now);
                self.last_exceed = Some(now);
                self.cleared_in_window = false;
                out.push(exceed);
            }
        } else if cond && t > 0 && grew && self.last_exceed.is_some_and(|e| now >= e + t) {
            // Still over, and routes keep coming: re-issue once per interval.
            self.window_start = Some(now);
            self.last_exceed = Some(now);
            self.cleared_in_window = false;
            out.push(exceed);
        } else if !cond && n < l.high && self.exceeded {
            self.exceeded = false;
            if t == 0 || !(window_open(self) && self.cleared_in_window) {
                self.cleared_in_window = true;
                out.push(ThresholdEvent::MaxCleared {
                    vrf: vrf.clone(),
                    routes: n,
                    high: l.high,
                });
            }
        }
        out
    }
}

/// Threshold state of every VRF.
#[derive(Default, Debug)]
pub struct Tracker {
    states: Mutex<HashMap<VrfKey, State>>,
}

impl Tracker {
    /// Observe a VRF's count; see [`State::observe`].
    pub fn observe(
        &self,
        vrf: &VrfKey,
        n: u32,
        attempt: bool,
        l: Limits,
        now: u64,
    ) -> Vec<ThresholdEvent> {
        let mut m = self.states.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(vrf.clone())
            .or_default()
            .observe(vrf, n, attempt, l, now)
    }

    /// Observe every VRF whose routes or thresholds a commit changed;
    /// `count` is a VRF's number of routes (all of them: static, BGP,
    /// connected; see [`crate::vpn::vrf_route_count`]).
    pub fn observe_commit(
        &self,
        cfg: &crate::Config,
        eff: &[crate::Change],
        now: u64,
        count: &dyn Fn(&VrfKey) -> u32,
    ) -> Vec<ThresholdEvent> {
        use crate::Change::*;
        let mut vrfs = std::collections::BTreeSet::new();
        for c in eff {
            match c {
                PutRte(k, _) | DelRte(k) => {
                    vrfs.insert(k.vrf());
                }
                PutVrf(k, _) => {
                    vrfs.insert(k.clone());
                }
                DelVrf(k) => self.forget(k),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for v in vrfs {
            if let Some(l) = limits(cfg, &v) {
                out.extend(self.observe(&v, count(&v), false, l, now));
            }
        }
        out
    }

    /// The VRF holds `n` routes now (they changed outside a commit: BGP
    /// routes, connected routes), or, with `attempt`, an add was refused at
    /// its maximum ("attempts to exceed").
    pub fn observe_count(
        &self,
        cfg: &crate::Config,
        vrf: &VrfKey,
        n: u32,
        attempt: bool,
        now: u64,
    ) -> Vec<ThresholdEvent> {
        match limits(cfg, vrf) {
            Some(l) => self.observe(vrf, n, attempt, l, now),
            None => Vec::new(),
        }
    }

    /// Forget a destroyed VRF.
    pub fn forget(&self, vrf: &VrfKey) {
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(vrf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ThresholdEvent::*;

    fn v() -> VrfKey {
        VrfKey::new(b"t").unwrap()
    }

    /// Feed a sequence of (count, attempt, time) and collect short names.
    fn run(l: Limits, seq: &[(u32, bool, u64)]) -> Vec<String> {
        let mut s = State::default();
        let mut out = Vec::new();
        for &(n, a, t) in seq {
            for e in s.observe(&v(), n, a, l, t) {
                out.push(match e {
                    MidExceeded { routes, .. } => format!("mid@{routes}"),
                    MaxExceeded { routes, .. } => format!("max@{routes}"),
                    MaxCleared { routes, .. } => format!("clr@{routes}"),
                });
            }
        }
        out
    }

    fn counts(c: &[u32]) -> Vec<(u32, bool, u64)> {
        c.iter().map(|&n| (n, false, 0)).collect()
    }

    #[test]
    fn mid_is_one_shot_with_strict_rearm() {
        let l = Limits {
            mid: 3,
            ..Limits::default()
        };
        // 4 > 3 fires; 3 (equal) does not re-arm; 2 re-arms; 4 fires again
        assert_eq!(
            run(l, &counts(&[1, 2, 3, 4, 5, 3, 4, 2, 3, 4])),
            vec!["mid@4", "mid@4"]
        );
        assert_eq!(
            run(Limits::default(), &counts(&[0, 1, 100])),
            Vec::<String>::new()
        );
    }

    #[test]
    fn max_with_t0_latches_and_clears_every_cycle() {
        let l = Limits {
            high: 5,
            max: 10,
            ..Limits::default()
        };
        // 5 == high but high != max: no exceed; 6 exceeds; 5 is not below; 4 clears
        assert_eq!(
            run(l, &counts(&[4, 5, 6, 7, 5, 4, 6, 4])),
            vec!["max@6", "clr@4", "max@6", "clr@4"]
        );
    }

    #[test]
    fn high_equal_to_max_fires_on_reaching_it_and_on_attempts() {
        let l = Limits {
            high: 3,
            max: 3,
            ..Limits::default()
        };
        assert_eq!(run(l, &counts(&[2, 3, 3, 2])), vec!["max@3", "clr@2"]);
        let l = Limits {
            high: 5,
            max: 3,
            ..Limits::default()
        };
        // a refused add is an attempt to exceed even below High
        assert_eq!(
            run(l, &[(3, true, 0), (2, false, 1)]),
            vec!["max@3", "clr@2"]
        );
    }

    #[test]
    fn max_with_interval_rate_limits() {
        let l = Limits {
            high: 5,
            max: 10,
            interval: 60,
            ..Limits::default()
        };
        let seq = [
            (6, false, 0),   // exceed: sent, window 0..60
            (7, false, 10),  // still over, too soon: nothing
            (4, false, 20),  // cleared: first clear in window, sent
            (6, false, 30),  // exceed again within window: suppressed
            (4, false, 40),  // clear again within window: suppressed
            (6, false, 70),  // window over: sent, window 70..130
            (7, false, 135), // over, grew, interval passed: re-issued
            (7, false, 300), // over but no new route: nothing
            (3, false, 301), // cleared: sent (first in window 135..195)
        ];
        assert_eq!(
            run(l, &seq),
            vec!["max@6", "clr@4", "max@6", "max@7", "clr@3"]
        );
    }

    #[test]
    fn disabled_high_never_fires() {
        let l = Limits {
            high: 0,
            max: 3,
            ..Limits::default()
        };
        assert_eq!(run(l, &[(3, true, 0), (2, false, 1)]), Vec::<String>::new());
    }
}
