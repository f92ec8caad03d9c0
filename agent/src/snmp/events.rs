//! Domain events turned into notifications for the originator
//! ([`super::notify`]), with the varbinds of each NOTIFICATION-TYPE's
//! OBJECTS clause and their instance suffixes.
//!
//! Sources and gates:
//! - start: coldStart when this start created the store, warmStart at later
//!   starts (ungated);
//! - commits and link events: mplsL3VpnVrfUp/Down on every transition of
//!   mplsL3VpnVrfOperStatus (vpn-core::state::vrf_status: up iff the row is
//!   active, admin up, and an active binding's interface is up), tracked
//!   here per VRF. The mplsL3VpnIfConfRowStatus varbind names the binding
//!   that caused the transition: the binding added, removed or changed by
//!   the commit, or the interface whose link changed (the lowest ifIndex if
//!   several). When the cause is the VRF itself (admin status, VRF
//!   RowStatus, destroy), it names the VRF's lowest-ifIndex active binding
//!   whose interface is up (for VrfDown: as it was before the change). Its
//!   value is the binding's RowStatus after the change, or active(1) when
//!   the binding is gone (destroyed with it; its last state). VRFs that
//!   exist at start give no notification for their initial status;
//! - route thresholds (vpn-core::thresholds, its latches run whatever the
//!   gate says) and illegal labels: mplsL3VpnVrfRouteMidThreshExceeded,
//!   ...NumVrfRouteMaxThreshExceeded, ...NumVrfRouteMaxThreshCleared, and
//!   mplsL3VpnNumVrfSecIllglLblThrshExcd when a VRF's counter goes from
//!   mplsL3VpnIllLblRcvThrsh to one more (0 = disabled);
//!   the six RFC 4382 notifications only while mplsL3VpnNotificationEnable
//!   is true(1);
//! - links: linkUp when the ifOperStatus of an interface with an active
//!   binding to a VRF becomes up(1),
//!   linkDown when it leaves up(1) for any state but notPresent (the
//!   ifOperStatus varbind carries the new value); not for unbound
//!   interfaces, whose ifLinkUpDownTrapEnable reads disabled(2);
//! - authentication failures of the engine: authenticationFailure while
//!   snmpEnableAuthenTraps is enabled(1).

use super::notify::{Notification, Originator, SNMP_TRAPS};
use arc_swap::ArcSwap;
use mib::l3vpn::{IFCONF_ENTRY, PERF_ENTRY, SEC_ENTRY, VRF_ENTRY};
use mib::{Oid, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use vpn_core::ifaces::{Interfaces, LinkEvent, OperState};
use vpn_core::state::vrf_status;
use vpn_core::thresholds::ThresholdEvent;
use vpn_core::{Change, Config, IfConfKey, RowState, Store, VrfKey};

/// mplsL3VpnNotifications (RFC 4382) = mplsL3VpnMIB.0.
pub const MPLS_L3VPN_NOTIFICATIONS: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 0];
pub const VRF_UP: u32 = 1;
pub const VRF_DOWN: u32 = 2;
pub const MID_THRESH_EXCEEDED: u32 = 3;
pub const MAX_THRESH_EXCEEDED: u32 = 4;
pub const ILL_LBL_THRSH_EXCD: u32 = 5;
pub const MAX_THRESH_CLEARED: u32 = 6;
/// snmpTraps (RFC 3418, IF-MIB): coldStart .1, warmStart .2, linkDown .3,
/// linkUp .4, authenticationFailure .5.
pub const COLD_START: u32 = 1;
pub const WARM_START: u32 = 2;
pub const LINK_DOWN: u32 = 3;
pub const LINK_UP: u32 = 4;
pub const AUTHENTICATION_FAILURE: u32 = 5;

const IF_INDEX: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 1];
const IF_ADMIN_STATUS: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 7];
const IF_OPER_STATUS: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 8];

const IFCONF_ROW_STATUS: u32 = 5;
const VRF_OPER_STATUS: u32 = 6;
const VRF_MID_THRESH: u32 = 9;
const VRF_HIGH_THRESH: u32 = 10;
const PERF_CURR_NUM_ROUTES: u32 = 3;
const SEC_ILLEGAL_LBL_VLTNS: u32 = 1;

fn l3vpn_oid(n: u32) -> Oid {
    mib::oid::join(MPLS_L3VPN_NOTIFICATIONS, &[n])
}

fn std_oid(n: u32) -> Oid {
    mib::oid::join(SNMP_TRAPS, &[n])
}

/// column.vrfName (the non-IMPLIED name index).
fn vrf_col(entry: &[u32], col: u32, vrf: &VrfKey) -> Oid {
    let mut o = mib::oid::join(entry, &[col]);
    o.extend(vrf.as_bytes().iter().map(|&b| b as u32));
    o
}

/// mplsL3VpnVrfUp / mplsL3VpnVrfDown with their two objects.
pub fn vrf_updown(vrf: &VrfKey, up: bool, if_index: u32, row_status: i32) -> Notification {
    let mut rs = vrf_col(IFCONF_ENTRY, IFCONF_ROW_STATUS, vrf);
    rs.push(if_index);
    Notification::new(
        &l3vpn_oid(if up { VRF_UP } else { VRF_DOWN }),
        vec![
            (rs, Value::Integer(row_status)),
            (
                vrf_col(VRF_ENTRY, VRF_OPER_STATUS, vrf),
                Value::Integer(if up { 1 } else { 2 }),
            ),
        ],
    )
}

/// The three route-threshold notifications.
pub fn threshold(e: &ThresholdEvent) -> Notification {
    let (n, vrf, routes, col, limit) = match e {
        ThresholdEvent::MidExceeded { vrf, routes, mid } => {
            (MID_THRESH_EXCEEDED, vrf, *routes, VRF_MID_THRESH, *mid)
        }
        ThresholdEvent::MaxExceeded { vrf, routes, high } => {
            (MAX_THRESH_EXCEEDED, vrf, *routes, VRF_HIGH_THRESH, *high)
        }
        ThresholdEvent::MaxCleared { vrf, routes, high } => {
            (MAX_THRESH_CLEARED, vrf, *routes, VRF_HIGH_THRESH, *high)
        }
    };
    Notification::new(
        &l3vpn_oid(n),
        vec![
            (
                vrf_col(PERF_ENTRY, PERF_CURR_NUM_ROUTES, vrf),
                Value::Gauge32(routes),
            ),
            (vrf_col(VRF_ENTRY, col, vrf), Value::Gauge32(limit)),
        ],
    )
}

/// mplsL3VpnNumVrfSecIllglLblThrshExcd.
pub fn illegal_labels(vrf: &VrfKey, count: u32) -> Notification {
    Notification::new(
        &l3vpn_oid(ILL_LBL_THRSH_EXCD),
        vec![(
            vrf_col(SEC_ENTRY, SEC_ILLEGAL_LBL_VLTNS, vrf),
            Value::Counter32(count),
        )],
    )
}

/// linkUp / linkDown (IF-MIB) with ifIndex, ifAdminStatus, ifOperStatus.
pub fn link(up: bool, if_index: u32, admin_up: bool, oper: OperState) -> Notification {
    let i = |o: &[u32]| mib::oid::join(o, &[if_index]);
    Notification::new(
        &std_oid(if up { LINK_UP } else { LINK_DOWN }),
        vec![
            (i(IF_INDEX), Value::Integer(if_index as i32)),
            (
                i(IF_ADMIN_STATUS),
                Value::Integer(if admin_up { 1 } else { 2 }),
            ),
            (i(IF_OPER_STATUS), Value::Integer(oper as i32)),
        ],
    )
}

/// BGP4-MIB (RFC 4273) bgpNotification = bgp.0: bgpEstablishedNotification
/// .1, bgpBackwardTransNotification .2.
pub const BGP_NOTIFICATION: &[u32] = &[1, 3, 6, 1, 2, 1, 15, 0];
const BGP_PEER_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 15, 3, 1];

/// bgpEstablishedNotification (the FSM enters established(6)) or
/// bgpBackwardTransNotification (it moves to a lower-numbered state) of an
/// IPv4 peer, with bgpPeerRemoteAddr, bgpPeerLastError and bgpPeerState
/// (instance: the peer's address); `None` for other transitions.
pub fn bgp_transition(
    peer: std::net::Ipv4Addr,
    old: u32,
    new: u32,
    last_error: (u8, u8),
) -> Option<Notification> {
    let n = if new == 6 && old != 6 {
        1
    } else if new < old {
        2
    } else {
        return None;
    };
    let idx: Vec<u32> = peer.octets().iter().map(|&b| b as u32).collect();
    let col = |c: u32| {
        let mut o = mib::oid::join(BGP_PEER_ENTRY, &[c]);
        o.extend_from_slice(&idx);
        o
    };
    Some(Notification::new(
        &mib::oid::join(BGP_NOTIFICATION, &[n]),
        vec![
            (col(7), Value::IpAddress(peer.octets())),
            (
                col(14),
                Value::OctetString(vec![last_error.0, last_error.1]),
            ),
            (col(2), Value::Integer(new as i32)),
        ],
    ))
}

/// Whether the interface of binding `k` is up.
fn binding_up(cfg: &Config, ifs: &Interfaces, k: &IfConfKey) -> bool {
    cfg.ifconfs
        .get(k)
        .is_some_and(|b| b.state == RowState::Active)
        && ifs.is_up(k.if_index())
}

/// The lowest-ifIndex active binding of `vrf` whose interface is up (else
/// the lowest binding at all).
fn lowest_up(cfg: &Config, ifs: &Interfaces, vrf: &VrfKey) -> Option<u32> {
    cfg.ifconfs_of(vrf)
        .find(|(k, _)| binding_up(cfg, ifs, k))
        .or_else(|| cfg.ifconfs_of(vrf).next())
        .map(|(k, _)| k.if_index())
}

/// The RowStatus value a VrfUp/Down names for binding (vrf, if_index).
fn row_status(cfg: &Config, vrf: &VrfKey, if_index: u32) -> i32 {
    cfg.ifconfs
        .get(&IfConfKey::new(vrf, if_index))
        .map_or(RowState::Active as i32, |b| b.state as i32)
}

struct Inner {
    /// Oper status of every VRF as last notified (or found at start).
    up: HashMap<VrfKey, bool>,
    /// The configuration before the commit being looked at.
    last: Arc<Config>,
}

/// Turns domain events into notifications.
pub struct Events {
    orig: Originator,
    store: Arc<Store>,
    ifs: Arc<ArcSwap<Interfaces>>,
    inner: Mutex<Inner>,
}

impl Events {
    pub fn new(orig: Originator, store: Arc<Store>, ifs: Arc<ArcSwap<Interfaces>>) -> Arc<Events> {
        let cfg = store.snapshot();
        let now = ifs.load_full();
        let up = cfg
            .vrfs
            .keys()
            .map(|k| {
                (
                    k.clone(),
                    vrf_status(&cfg, &now, k).is_some_and(|s| s.oper_up),
                )
            })
            .collect();
        Arc::new(Events {
            orig,
            store,
            ifs,
            inner: Mutex::new(Inner { up, last: cfg }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// coldStart (a new store) or warmStart.
    pub fn started(&self, new_store: bool) {
        let n = if new_store { COLD_START } else { WARM_START };
        self.orig.send(Notification::new(&std_oid(n), Vec::new()));
    }

    /// authenticationFailure, if snmpEnableAuthenTraps is enabled(1).
    pub fn auth_failure(&self) {
        if self.store.snapshot().settings.enable_authen_traps {
            self.orig.send(Notification::new(
                &std_oid(AUTHENTICATION_FAILURE),
                Vec::new(),
            ));
        }
    }

    fn l3vpn(&self, cfg: &Config, n: Notification) {
        if cfg.settings.notification_enable {
            self.orig.send(n);
        }
    }

    /// Route-threshold events of a commit or a refused add.
    pub fn thresholds(&self, cfg: &Config, evs: &[ThresholdEvent]) {
        for e in evs {
            tracing::info!(event = ?e, "route threshold");
            self.l3vpn(cfg, threshold(e));
        }
    }

    /// A BGP peer's FSM moved from `old` to `new` (BGP4-MIB values):
    /// bgpEstablishedNotification / bgpBackwardTransNotification (not gated
    /// by mplsL3VpnNotificationEnable, which covers RFC 4382's only).
    pub fn bgp_peer(&self, peer: std::net::Ipv4Addr, old: u32, new: u32, last_error: (u8, u8)) {
        if let Some(n) = bgp_transition(peer, old, new, last_error) {
            self.orig.send(n);
        }
    }

    /// A VRF's illegal-label counter is now `count`.
    pub fn illegal_label(&self, cfg: &Config, vrf: &VrfKey, count: u32) {
        let t = cfg.settings.ill_lbl_thresh;
        if t != 0 && count == t.wrapping_add(1) {
            self.l3vpn(cfg, illegal_labels(vrf, count));
        }
    }

    /// After a durable commit (a Store::on_commit hook): VRF oper-status
    /// transitions the commit caused.
    pub fn committed(&self, eff: &[Change]) {
        let new = self.store.snapshot();
        let ifs = self.ifs.load_full();
        let mut g = self.lock();
        let old = std::mem::replace(&mut g.last, new.clone());
        // VRFs the commit touched, with the bindings it changed.
        let mut touched: BTreeMap<VrfKey, Vec<(u32, bool)>> = BTreeMap::new();
        for c in eff {
            match c {
                Change::PutVrf(k, _) | Change::DelVrf(k) => {
                    touched.entry(k.clone()).or_default();
                }
                Change::PutIfConf(k, row) => touched
                    .entry(k.vrf())
                    .or_default()
                    .push((k.if_index(), row.state == RowState::Active)),
                Change::DelIfConf(k) => touched
                    .entry(k.vrf())
                    .or_default()
                    .push((k.if_index(), false)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for (vrf, bindings) in touched {
            let now_up = vrf_status(&new, &ifs, &vrf).is_some_and(|s| s.oper_up);
            let was_up = g.up.get(&vrf).copied().unwrap_or(false);
            if new.vrfs.contains_key(&vrf) {
                g.up.insert(vrf.clone(), now_up);
            } else {
                g.up.remove(&vrf);
            }
            if now_up == was_up {
                continue;
            }
            let cause = if now_up {
                bindings
                    .iter()
                    .filter(|(i, active)| *active && ifs.is_up(*i))
                    .map(|(i, _)| *i)
                    .min()
                    .or_else(|| lowest_up(&new, &ifs, &vrf))
            } else {
                bindings
                    .iter()
                    .filter(|(i, active)| {
                        !*active && binding_up(&old, &ifs, &IfConfKey::new(&vrf, *i))
                    })
                    .map(|(i, _)| *i)
                    .min()
                    .or_else(|| lowest_up(&old, &ifs, &vrf))
            };
            let Some(i) = cause else { continue };
            out.push(vrf_updown(&vrf, now_up, i, row_status(&new, &vrf, i)));
        }
        drop(g);
        for n in out {
            self.l3vpn(&new, n);
        }
    }

    /// A link event of the interface watcher: linkUp/linkDown for bound
    /// interfaces and the VRF transitions they cause.
    pub fn link(&self, ev: &LinkEvent) {
        let cfg = self.store.snapshot();
        let ifs = self.ifs.load_full();
        let index = match ev {
            LinkEvent::OperChanged { index, .. }
            | LinkEvent::Added(index)
            | LinkEvent::Removed(index) => *index,
        };
        let Some(vrf) = cfg.if_owner(index).cloned() else {
            return;
        };
        // ifLinkUpDownTrapEnable is enabled(1) for interfaces with an
        // active binding.
        let active = cfg
            .ifconfs
            .get(&IfConfKey::new(&vrf, index))
            .is_some_and(|b| b.state == RowState::Active);
        if let LinkEvent::OperChanged { old, new, .. } = ev {
            let (was, is) = (*old == OperState::Up, *new == OperState::Up);
            if active && was != is && *new != OperState::NotPresent {
                let admin = ifs.get(index).is_some_and(|i| i.admin_up);
                self.orig.send(link(is, index, admin, *new));
            }
        }
        // The VRF's status as of this event: the snapshot may already show
        // later changes of this interface, whose own events follow.
        let ifs = match ev {
            LinkEvent::OperChanged { new, .. } => {
                let mut v = (*ifs).clone();
                if let Some(i) = v.by_index.get(&index) {
                    let mut i = (**i).clone();
                    i.oper = *new;
                    v.by_index.insert(index, Arc::new(i));
                }
                Arc::new(v)
            }
            LinkEvent::Removed(_) => {
                let mut v = (*ifs).clone();
                v.by_index.remove(&index);
                Arc::new(v)
            }
            LinkEvent::Added(_) => ifs,
        };
        self.recheck(&cfg, &ifs, &vrf, Some(index));
    }

    /// Events were lost: compare every VRF with what was last notified.
    pub fn resync(&self) {
        let cfg = self.store.snapshot();
        let ifs = self.ifs.load_full();
        for vrf in cfg.vrfs.keys() {
            self.recheck(&cfg, &ifs, vrf, None);
        }
    }

    fn recheck(&self, cfg: &Config, ifs: &Interfaces, vrf: &VrfKey, cause: Option<u32>) {
        let Some(st) = vrf_status(cfg, ifs, vrf) else {
            return;
        };
        let mut g = self.lock();
        let was = g.up.insert(vrf.clone(), st.oper_up).unwrap_or(false);
        if was == st.oper_up {
            return;
        }
        let before = g.last.clone();
        drop(g);
        let i = cause.or_else(|| {
            if st.oper_up {
                lowest_up(cfg, ifs, vrf)
            } else {
                lowest_up(&before, ifs, vrf)
            }
        });
        if let Some(i) = i {
            self.l3vpn(cfg, vrf_updown(vrf, st.oper_up, i, row_status(cfg, vrf, i)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: &str) -> VrfKey {
        VrfKey::new(n.as_bytes()).unwrap()
    }

    #[test]
    fn varbinds_of_each_notification() {
        let n = vrf_updown(&k("AB"), true, 7, 1);
        assert_eq!(n.trap_oid, vec![1, 3, 6, 1, 2, 1, 10, 166, 11, 0, 1]);
        assert_eq!(
            n.objects,
            vec![
                (
                    vec![1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 1, 1, 5, 2, 65, 66, 7],
                    Value::Integer(1)
                ),
                (
                    vec![1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 2, 1, 6, 2, 65, 66],
                    Value::Integer(1)
                ),
            ]
        );
        let n = threshold(&ThresholdEvent::MaxCleared {
            vrf: k("A"),
            routes: 4,
            high: 5,
        });
        assert_eq!(n.trap_oid, vec![1, 3, 6, 1, 2, 1, 10, 166, 11, 0, 6]);
        assert_eq!(
            n.objects,
            vec![
                (
                    vec![1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 3, 1, 1, 3, 1, 65],
                    Value::Gauge32(4)
                ),
                (
                    vec![1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 2, 1, 10, 1, 65],
                    Value::Gauge32(5)
                ),
            ]
        );
        let n = illegal_labels(&k("A"), 6);
        assert_eq!(n.trap_oid, vec![1, 3, 6, 1, 2, 1, 10, 166, 11, 0, 5]);
        assert_eq!(
            n.objects,
            vec![(
                vec![1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 6, 1, 1, 1, 65],
                Value::Counter32(6)
            )]
        );
        let n = bgp_transition([192, 0, 2, 7].into(), 5, 6, (0, 0)).unwrap();
        assert_eq!(n.trap_oid, vec![1, 3, 6, 1, 2, 1, 15, 0, 1]);
        assert_eq!(
            n.objects,
            vec![
                (
                    vec![1, 3, 6, 1, 2, 1, 15, 3, 1, 7, 192, 0, 2, 7],
                    Value::IpAddress([192, 0, 2, 7])
                ),
                (
                    vec![1, 3, 6, 1, 2, 1, 15, 3, 1, 14, 192, 0, 2, 7],
                    Value::OctetString(vec![0, 0])
                ),
                (
                    vec![1, 3, 6, 1, 2, 1, 15, 3, 1, 2, 192, 0, 2, 7],
                    Value::Integer(6)
                ),
            ]
        );
        let n = bgp_transition([192, 0, 2, 7].into(), 6, 1, (6, 2)).unwrap();
        assert_eq!(n.trap_oid, vec![1, 3, 6, 1, 2, 1, 15, 0, 2]);
        assert!(bgp_transition([192, 0, 2, 7].into(), 1, 2, (0, 0)).is_none());
        let n = link(false, 3, true, OperState::Down);
        assert_eq!(n.trap_oid, vec![1, 3, 6, 1, 6, 3, 1, 1, 5, 3]);
        assert_eq!(
            n.objects,
            vec![
                (vec![1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 3], Value::Integer(3)),
                (vec![1, 3, 6, 1, 2, 1, 2, 2, 1, 7, 3], Value::Integer(1)),
                (vec![1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 3], Value::Integer(2)),
            ]
        );
    }
}

#[cfg(test)]
mod commit_tests {
    use super::*;
    use mib::notify_mib::NotifyState;
    use vpn_core::ifaces::IfInfo;
    use vpn_core::{AdminStatus, IfConfRow, Storage, VrfRow};

    fn iface(index: u32, up: bool) -> IfInfo {
        let oper = if up { OperState::Up } else { OperState::Down };
        IfInfo::fixture(index, &format!("if{index}"), oper)
    }

    fn names(rx: &mut tokio::sync::mpsc::Receiver<Notification>) -> Vec<String> {
        let mut v = Vec::new();
        while let Ok(n) = rx.try_recv() {
            let last = *n.trap_oid.last().unwrap();
            let (i, rs) = match &n.objects[..] {
                [(o, Value::Integer(rs)), ..] => (*o.last().unwrap(), *rs),
                _ => (0, 0),
            };
            v.push(format!("{last}:{i}:{rs}"));
        }
        v
    }

    #[test]
    fn vrf_transitions_from_commits_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let ifs = Arc::new(ArcSwap::from_pointee(Interfaces::from_list(vec![
            iface(1, true),
            iface(2, true),
            iface(3, false),
        ])));
        let (orig, mut rx) =
            super::super::notify::test_originator(Arc::new(NotifyState::new(Default::default())));
        let ev = Events::new(orig, store.clone(), ifs.clone());
        {
            let e = ev.clone();
            store.on_commit(Box::new(move |_c, eff| e.committed(eff)));
        }
        let v = VrfKey::new(b"red").unwrap();
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        let mut s = store.snapshot().settings.clone();
        s.notification_enable = true;
        store
            .commit(
                1,
                vec![
                    Change::PutSettings(s),
                    Change::PutVrf(v.clone(), row.clone()),
                ],
            )
            .unwrap();
        assert!(names(&mut rx).is_empty(), "a VRF with no interface is down");
        let mut b = IfConfRow::new(Storage::Volatile);
        b.state = RowState::Active;
        // Binding a down interface: nothing; then an up one: VrfUp naming it.
        store
            .commit(2, vec![Change::PutIfConf(IfConfKey::new(&v, 3), b.clone())])
            .unwrap();
        assert!(names(&mut rx).is_empty());
        store
            .commit(3, vec![Change::PutIfConf(IfConfKey::new(&v, 2), b.clone())])
            .unwrap();
        assert_eq!(names(&mut rx), vec!["1:2:1"]);
        store
            .commit(4, vec![Change::PutIfConf(IfConfKey::new(&v, 1), b.clone())])
            .unwrap();
        assert!(names(&mut rx).is_empty(), "already up");
        // Admin down: VrfDown naming the lowest up binding, active(1).
        row.admin = AdminStatus::Down;
        store
            .commit(5, vec![Change::PutVrf(v.clone(), row.clone())])
            .unwrap();
        assert_eq!(names(&mut rx), vec!["2:1:1"]);
        row.admin = AdminStatus::Up;
        store
            .commit(6, vec![Change::PutVrf(v.clone(), row.clone())])
            .unwrap();
        assert_eq!(names(&mut rx), vec!["1:1:1"]);
        // Link 1 down: linkDown and nothing else (2 is still up); link 2
        // down: linkDown then VrfDown naming 2.
        ifs.store(Arc::new(Interfaces::from_list(vec![
            iface(1, false),
            iface(2, true),
            iface(3, false),
        ])));
        ev.link(&LinkEvent::OperChanged {
            index: 1,
            old: OperState::Up,
            new: OperState::Down,
        });
        assert_eq!(names(&mut rx), vec!["3:1:1"]);
        ifs.store(Arc::new(Interfaces::from_list(vec![
            iface(1, false),
            iface(2, false),
            iface(3, false),
        ])));
        ev.link(&LinkEvent::OperChanged {
            index: 2,
            old: OperState::Up,
            new: OperState::Down,
        });
        assert_eq!(names(&mut rx), vec!["3:2:2", "2:2:1"]);
        // Unbound interfaces: nothing.
        ev.link(&LinkEvent::OperChanged {
            index: 9,
            old: OperState::Up,
            new: OperState::Down,
        });
        assert!(names(&mut rx).is_empty());
        // Up again through link 2, then destroy the VRF: VrfDown naming the
        // lowest up binding (2), with its last state active(1).
        ifs.store(Arc::new(Interfaces::from_list(vec![
            iface(1, false),
            iface(2, true),
            iface(3, false),
        ])));
        ev.link(&LinkEvent::OperChanged {
            index: 2,
            old: OperState::Down,
            new: OperState::Up,
        });
        assert_eq!(names(&mut rx), vec!["4:2:2", "1:2:1"]);
        store.commit(7, vec![Change::DelVrf(v.clone())]).unwrap();
        assert_eq!(names(&mut rx), vec!["2:2:1"]);
        // Disabled: the state is still tracked, nothing is sent.
        let mut s = store.snapshot().settings.clone();
        s.notification_enable = false;
        store
            .commit(
                8,
                vec![
                    Change::PutSettings(s),
                    Change::PutVrf(v.clone(), row.clone()),
                ],
            )
            .unwrap();
        store
            .commit(9, vec![Change::PutIfConf(IfConfKey::new(&v, 2), b.clone())])
            .unwrap();
        assert!(names(&mut rx).is_empty());
        // Illegal labels: once, at threshold + 1.
        let mut s = store.snapshot().settings.clone();
        s.notification_enable = true;
        s.ill_lbl_thresh = 2;
        let (cfg, _) = store.commit(10, vec![Change::PutSettings(s)]).unwrap();
        for n in 1..=4 {
            ev.illegal_label(&cfg, &v, n);
        }
        let got: Vec<Notification> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].objects[0].1, Value::Counter32(3));
    }
}
