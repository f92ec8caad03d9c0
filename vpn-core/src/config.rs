//! Committed configuration: the rows an operator creates, as one immutable
//! value ([`Config`]) that readers share and commits replace.

use crate::keys::{IfConfKey, RtKey, VrfKey};
use crate::rd::RouteDistinguisher;
use imbl::OrdMap;
use serde::{Deserialize, Serialize};
use std::ops::Bound;

/// Row state (RFC 2579's three stored states of a conceptual row).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum RowState {
    Active = 1,
    NotInService = 2,
    NotReady = 3,
}

/// How a row is kept (RFC 2579 StorageType values).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Storage {
    Other = 1,
    Volatile = 2,
    NonVolatile = 3,
    Permanent = 4,
    ReadOnly = 5,
}

impl Storage {
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            1 => Storage::Other,
            2 => Storage::Volatile,
            3 => Storage::NonVolatile,
            4 => Storage::Permanent,
            5 => Storage::ReadOnly,
            _ => return None,
        })
    }
    /// Rows of this kind survive a restart (are written to the store).
    pub fn persists(self) -> bool {
        matches!(self, Storage::NonVolatile | Storage::Permanent | Storage::ReadOnly)
    }
}

/// Desired state of a VRF.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum AdminStatus {
    Up = 1,
    Down = 2,
    Testing = 3,
}

impl AdminStatus {
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            1 => AdminStatus::Up,
            2 => AdminStatus::Down,
            3 => AdminStatus::Testing,
            _ => return None,
        })
    }
}

/// Role of an attachment circuit (mplsL3VpnIfVpnClassification).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum IfClassification {
    CarrierOfCarrier = 1,
    Enterprise = 2,
    InterProvider = 3,
}

impl IfClassification {
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            1 => IfClassification::CarrierOfCarrier,
            2 => IfClassification::Enterprise,
            3 => IfClassification::InterProvider,
            _ => return None,
        })
    }
}

/// Time fields of a row, in agent clock ticks. Not persisted: a row loaded at
/// start was (re)instantiated at tick 0.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct RowTimes {
    #[serde(skip)]
    pub created: u32,
    #[serde(skip)]
    pub last_changed: u32,
}

/// A VRF (mplsL3VpnVrfEntry).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct VrfRow {
    /// RFC 2685 VPN-ID: 7 octets or empty.
    pub vpn_id: Vec<u8>,
    pub description: Vec<u8>,
    pub rd: Option<RouteDistinguisher>,
    pub mid_thresh: u32,
    pub high_thresh: u32,
    pub max_routes: u32,
    pub admin: AdminStatus,
    pub state: RowState,
    pub storage: Storage,
    /// The row has been active at least once (rows that never were are
    /// garbage-collected, RFC 2579).
    pub ever_active: bool,
    pub times: RowTimes,
}

impl VrfRow {
    /// A new row with the defaults of ARCHITECTURE.md.
    pub fn new(storage: Storage) -> Self {
        VrfRow {
            vpn_id: Vec::new(),
            description: Vec::new(),
            rd: None,
            mid_thresh: 0,
            high_thresh: 0,
            max_routes: 0,
            admin: AdminStatus::Up,
            state: RowState::NotReady,
            storage,
            ever_active: false,
            times: RowTimes::default(),
        }
    }
}

/// A route target of a VRF (mplsL3VpnVrfRTEntry).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RtRow {
    pub rt: Option<RouteDistinguisher>,
    pub description: Vec<u8>,
    pub state: RowState,
    pub storage: Storage,
    pub ever_active: bool,
    pub times: RowTimes,
}

impl RtRow {
    pub fn new(storage: Storage) -> Self {
        RtRow {
            rt: None,
            description: Vec::new(),
            state: RowState::NotReady,
            storage,
            ever_active: false,
            times: RowTimes::default(),
        }
    }
}

/// Route distribution protocols of an attachment circuit: bit n of the SMI BITS
/// {none(0), bgp(1), ospf(2), rip(3), isis(4), static(5), other(6)}, bit 0 the
/// most significant bit of the first octet.
pub const ROUTE_DIST_NONE: u8 = 0x80;

/// An interface bound to a VRF (mplsL3VpnIfConfEntry).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct IfConfRow {
    pub classification: IfClassification,
    /// The BITS value, one octet (bits 0..6).
    pub route_dist: u8,
    pub state: RowState,
    pub storage: Storage,
    pub ever_active: bool,
    pub times: RowTimes,
}

impl IfConfRow {
    pub fn new(storage: Storage) -> Self {
        IfConfRow {
            classification: IfClassification::Enterprise,
            route_dist: ROUTE_DIST_NONE,
            state: RowState::NotReady,
            storage,
            ever_active: false,
            times: RowTimes::default(),
        }
    }
}

/// Agent-wide settings that persist.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Settings {
    pub sys_contact: Vec<u8>,
    pub sys_name: Vec<u8>,
    pub sys_location: Vec<u8>,
    /// mplsL3VpnNotificationEnable (default false).
    pub notification_enable: bool,
    /// mplsL3VpnIllLblRcvThrsh (0 = disabled).
    pub ill_lbl_thresh: u32,
    /// snmpEnableAuthenTraps (default false).
    pub enable_authen_traps: bool,
}

/// One change to the configuration. A commit is a list of these, applied in
/// order as one transaction.
#[derive(Clone, PartialEq, Debug)]
pub enum Change {
    PutVrf(VrfKey, VrfRow),
    /// Remove a VRF and everything that belongs to it.
    DelVrf(VrfKey),
    PutRt(RtKey, RtRow),
    DelRt(RtKey),
    PutIfConf(IfConfKey, IfConfRow),
    DelIfConf(IfConfKey),
    PutSettings(Settings),
}

/// Why a change cannot be made given the rest of the configuration.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("VRF {0:?} does not exist")]
    NoSuchVrf(VrfKey),
    #[error("route distinguisher {rd} is used by VRF {owner:?}")]
    RdInUse { rd: RouteDistinguisher, owner: VrfKey },
    #[error("interface {if_index} is bound to VRF {owner:?}")]
    InterfaceBound { if_index: u32, owner: VrfKey },
    #[error("interface {0} does not exist")]
    NoSuchInterface(u32),
    #[error("route thresholds must satisfy mid <= high <= max routes")]
    Thresholds,
}

/// The committed configuration: one ordered map per table plus the derived
/// indexes the cross-row rules need. Cloning is O(1) (persistent maps).
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub generation: u64,
    pub vrfs: OrdMap<VrfKey, VrfRow>,
    pub rts: OrdMap<RtKey, RtRow>,
    pub ifconfs: OrdMap<IfConfKey, IfConfRow>,
    pub settings: Settings,
    /// Derived: which VRF holds each RD.
    rd_owner: OrdMap<RouteDistinguisher, VrfKey>,
    /// Derived: which VRF each interface is bound to.
    if_owner: OrdMap<u32, VrfKey>,
}

impl Config {
    /// The VRF that uses `rd`, if any.
    pub fn rd_owner(&self, rd: &RouteDistinguisher) -> Option<&VrfKey> {
        self.rd_owner.get(rd)
    }

    /// The VRF an interface is bound to, if any.
    pub fn if_owner(&self, if_index: u32) -> Option<&VrfKey> {
        self.if_owner.get(&if_index)
    }

    /// Interface bindings of one VRF, in ifIndex order.
    pub fn ifconfs_of<'a>(&'a self, vrf: &VrfKey) -> impl Iterator<Item = (&'a IfConfKey, &'a IfConfRow)> + 'a {
        let lo = IfConfKey::new(vrf, 0);
        let hi = IfConfKey::new(vrf, u32::MAX);
        self.ifconfs.range((Bound::Included(lo), Bound::Included(hi)))
    }

    /// Route-target rows of one VRF, in (index, type) order.
    pub fn rts_of<'a>(&'a self, vrf: &VrfKey) -> impl Iterator<Item = (&'a RtKey, &'a RtRow)> + 'a {
        let lo = RtKey::new(vrf, 0, crate::keys::RtType::Import);
        let hi = RtKey::new(vrf, u32::MAX, crate::keys::RtType::Both);
        self.rts.range((Bound::Included(lo), Bound::Included(hi)))
    }

    /// Check that `row` may be stored under `key` given the other rows
    /// (unique RD, threshold order).
    pub fn check_vrf(&self, key: &VrfKey, row: &VrfRow) -> Result<(), ConfigError> {
        if let Some(rd) = &row.rd {
            if let Some(owner) = self.rd_owner.get(rd) {
                if owner != key {
                    return Err(ConfigError::RdInUse { rd: *rd, owner: owner.clone() });
                }
            }
        }
        let nz = [row.mid_thresh, row.high_thresh, row.max_routes];
        let mut last = 0;
        for v in nz.into_iter().filter(|&v| v != 0) {
            if v < last {
                return Err(ConfigError::Thresholds);
            }
            last = v;
        }
        Ok(())
    }

    /// Check that an interface binding may be stored (VRF exists, interface
    /// not bound elsewhere). Whether the interface exists is the caller's
    /// check against the live interface view.
    pub fn check_ifconf(&self, key: &IfConfKey) -> Result<(), ConfigError> {
        let vrf = key.vrf();
        if !self.vrfs.contains_key(&vrf) {
            return Err(ConfigError::NoSuchVrf(vrf));
        }
        match self.if_owner.get(&key.if_index()) {
            Some(owner) if *owner != vrf => {
                Err(ConfigError::InterfaceBound { if_index: key.if_index(), owner: owner.clone() })
            }
            _ => Ok(()),
        }
    }

    /// Check that a route-target row may be stored (its VRF exists).
    pub fn check_rt(&self, key: &RtKey) -> Result<(), ConfigError> {
        let vrf = key.vrf();
        if !self.vrfs.contains_key(&vrf) {
            return Err(ConfigError::NoSuchVrf(vrf));
        }
        Ok(())
    }

    /// Apply changes, returning the resulting configuration and the list of
    /// effective changes (a VRF deletion expanded into its cascade). `now` is
    /// the agent clock, stamped into creation and last-change times.
    pub fn apply(&self, changes: &[Change], now: u32) -> (Config, Vec<Change>) {
        let mut c = self.clone();
        let mut eff = Vec::with_capacity(changes.len());
        for ch in changes {
            c.apply_one(ch, now, &mut eff);
        }
        c.generation = self.generation + 1;
        (c, eff)
    }

    fn touch_vrf(&mut self, vrf: &VrfKey, now: u32) {
        if let Some(r) = self.vrfs.get_mut(vrf) {
            r.times.last_changed = now;
        }
    }

    fn apply_one(&mut self, ch: &Change, now: u32, eff: &mut Vec<Change>) {
        match ch {
            Change::PutVrf(k, row) => {
                let mut row = row.clone();
                row.ever_active |= row.state == RowState::Active;
                match self.vrfs.get(k) {
                    Some(old) => {
                        row.ever_active |= old.ever_active;
                        row.times.created = old.times.created;
                        row.times.last_changed = if strip_times(old) != strip_times(&row) {
                            now
                        } else {
                            old.times.last_changed
                        };
                        if let Some(rd) = old.rd {
                            self.rd_owner.remove(&rd);
                        }
                    }
                    None => {
                        row.times = RowTimes { created: now, last_changed: now };
                    }
                }
                if let Some(rd) = row.rd {
                    self.rd_owner.insert(rd, k.clone());
                }
                self.vrfs.insert(k.clone(), row.clone());
                eff.push(Change::PutVrf(k.clone(), row));
            }
            Change::DelVrf(k) => {
                let ifs: Vec<IfConfKey> = self.ifconfs_of(k).map(|(ik, _)| ik.clone()).collect();
                for ik in ifs {
                    self.apply_one(&Change::DelIfConf(ik), now, eff);
                }
                let rts: Vec<RtKey> = self.rts_of(k).map(|(rk, _)| rk.clone()).collect();
                for rk in rts {
                    self.apply_one(&Change::DelRt(rk), now, eff);
                }
                if let Some(old) = self.vrfs.remove(k) {
                    if let Some(rd) = old.rd {
                        self.rd_owner.remove(&rd);
                    }
                    eff.push(Change::DelVrf(k.clone()));
                }
            }
            Change::PutRt(k, row) => {
                let mut row = row.clone();
                row.ever_active |= row.state == RowState::Active;
                row.times = match self.rts.get(k) {
                    Some(old) => {
                        row.ever_active |= old.ever_active;
                        old.times
                    }
                    None => RowTimes { created: now, last_changed: now },
                };
                self.rts.insert(k.clone(), row.clone());
                eff.push(Change::PutRt(k.clone(), row));
            }
            Change::DelRt(k) => {
                if self.rts.remove(k).is_some() {
                    eff.push(ch.clone());
                }
            }
            Change::PutIfConf(k, row) => {
                let vrf = k.vrf();
                let mut row = row.clone();
                row.ever_active |= row.state == RowState::Active;
                row.times = match self.ifconfs.get(k) {
                    Some(old) => {
                        row.ever_active |= old.ever_active;
                        old.times
                    }
                    None => RowTimes { created: now, last_changed: now },
                };
                if self.ifconfs.insert(k.clone(), row.clone()).is_none() {
                    self.touch_vrf(&vrf, now);
                }
                self.if_owner.insert(k.if_index(), vrf);
                eff.push(Change::PutIfConf(k.clone(), row));
            }
            Change::DelIfConf(k) => {
                if self.ifconfs.remove(k).is_some() {
                    self.if_owner.remove(&k.if_index());
                    self.touch_vrf(&k.vrf(), now);
                    eff.push(ch.clone());
                }
            }
            Change::PutSettings(s) => {
                self.settings = s.clone();
                eff.push(ch.clone());
            }
        }
    }

    /// Rows created with createAndWait that were never active and were created
    /// more than `max_age` ticks before `now`: the changes that remove them.
    pub fn stale_rows(&self, now: u32, max_age: u32) -> Vec<Change> {
        let old = |t: &RowTimes| now.wrapping_sub(t.created) > max_age;
        let mut out: Vec<Change> = Vec::new();
        for (k, r) in self.vrfs.iter() {
            if !r.ever_active && r.state != RowState::Active && old(&r.times) {
                out.push(Change::DelVrf(k.clone()));
            }
        }
        for (k, r) in self.rts.iter() {
            if !r.ever_active && r.state != RowState::Active && old(&r.times) {
                out.push(Change::DelRt(k.clone()));
            }
        }
        for (k, r) in self.ifconfs.iter() {
            if !r.ever_active && r.state != RowState::Active && old(&r.times) {
                out.push(Change::DelIfConf(k.clone()));
            }
        }
        out
    }

    /// Build a configuration from loaded rows (times at 0), dropping rows whose
    /// VRF is missing. Returns the orphans dropped so the store can remove them.
    pub fn from_rows(
        vrfs: Vec<(VrfKey, VrfRow)>,
        rts: Vec<(RtKey, RtRow)>,
        ifconfs: Vec<(IfConfKey, IfConfRow)>,
        settings: Settings,
    ) -> (Config, Vec<Change>) {
        let mut c = Config { settings, ..Config::default() };
        let mut orphans = Vec::new();
        for (k, r) in vrfs {
            if let Some(rd) = r.rd {
                c.rd_owner.insert(rd, k.clone());
            }
            c.vrfs.insert(k, r);
        }
        for (k, r) in rts {
            if c.vrfs.contains_key(&k.vrf()) {
                c.rts.insert(k, r);
            } else {
                orphans.push(Change::DelRt(k));
            }
        }
        for (k, r) in ifconfs {
            if c.vrfs.contains_key(&k.vrf()) && !c.if_owner.contains_key(&k.if_index()) {
                c.if_owner.insert(k.if_index(), k.vrf());
                c.ifconfs.insert(k, r);
            } else {
                orphans.push(Change::DelIfConf(k));
            }
        }
        (c, orphans)
    }
}

fn strip_times(r: &VrfRow) -> VrfRow {
    VrfRow { times: RowTimes::default(), ever_active: false, ..r.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vrf(n: &str) -> VrfKey {
        VrfKey::new(n.as_bytes()).unwrap()
    }

    #[test]
    fn cascade_and_indexes() {
        let red = vrf("red");
        let mut row = VrfRow::new(Storage::NonVolatile);
        row.rd = RouteDistinguisher::parse_text("65000:1");
        row.state = RowState::Active;
        let ik = IfConfKey::new(&red, 3);
        let rk = RtKey::new(&red, 1, crate::keys::RtType::Both);
        let (c, _) = Config::default().apply(
            &[
                Change::PutVrf(red.clone(), row.clone()),
                Change::PutIfConf(ik.clone(), IfConfRow::new(Storage::Volatile)),
                Change::PutRt(rk.clone(), RtRow::new(Storage::Volatile)),
            ],
            5,
        );
        assert_eq!(c.if_owner(3), Some(&red));
        assert_eq!(c.rd_owner(&row.rd.unwrap()), Some(&red));
        let blue = vrf("blue");
        let mut b = row.clone();
        b.state = RowState::Active;
        assert!(matches!(c.check_vrf(&blue, &b), Err(ConfigError::RdInUse { .. })));
        assert!(matches!(
            c.check_ifconf(&IfConfKey::new(&blue, 3)),
            Err(ConfigError::NoSuchVrf(_))
        ));
        let (c2, eff) = c.apply(&[Change::DelVrf(red.clone())], 9);
        assert_eq!(eff, vec![Change::DelIfConf(ik), Change::DelRt(rk), Change::DelVrf(red)]);
        assert!(c2.vrfs.is_empty() && c2.ifconfs.is_empty() && c2.rts.is_empty());
        assert_eq!(c2.if_owner(3), None);
        assert_eq!(c2.rd_owner(&row.rd.unwrap()), None);
    }

    #[test]
    fn never_active_rows_are_stale_after_max_age() {
        let k = vrf("w");
        let mut r = VrfRow::new(Storage::Volatile);
        r.state = RowState::NotInService;
        let (c, _) = Config::default().apply(&[Change::PutVrf(k.clone(), r.clone())], 100);
        assert!(c.stale_rows(100 + 30_000, 30_000).is_empty());
        assert_eq!(c.stale_rows(100 + 30_001, 30_000), vec![Change::DelVrf(k.clone())]);
        r.state = RowState::Active;
        let (c, _) = c.apply(&[Change::PutVrf(k.clone(), r.clone())], 200);
        r.state = RowState::NotInService;
        let (c, _) = c.apply(&[Change::PutVrf(k.clone(), r)], 300);
        assert!(c.vrfs[&k].ever_active);
        assert!(c.stale_rows(u32::MAX / 2, 30_000).is_empty());
    }

    #[test]
    fn thresholds_order() {
        let c = Config::default();
        let k = vrf("a");
        let mut r = VrfRow::new(Storage::Volatile);
        (r.mid_thresh, r.high_thresh, r.max_routes) = (10, 20, 30);
        assert!(c.check_vrf(&k, &r).is_ok());
        (r.mid_thresh, r.high_thresh, r.max_routes) = (10, 0, 5);
        assert_eq!(c.check_vrf(&k, &r), Err(ConfigError::Thresholds));
        (r.mid_thresh, r.high_thresh, r.max_routes) = (0, 50, 0);
        assert!(c.check_vrf(&k, &r).is_ok());
    }

    #[test]
    fn times_stamped() {
        let k = vrf("t");
        let (c, _) = Config::default().apply(&[Change::PutVrf(k.clone(), VrfRow::new(Storage::Volatile))], 100);
        assert_eq!(c.vrfs[&k].times, RowTimes { created: 100, last_changed: 100 });
        let same = c.vrfs[&k].clone();
        let (c, _) = c.apply(&[Change::PutVrf(k.clone(), same)], 200);
        assert_eq!(c.vrfs[&k].times.last_changed, 100);
        let (c, _) = c.apply(&[Change::PutIfConf(IfConfKey::new(&k, 1), IfConfRow::new(Storage::Volatile))], 300);
        assert_eq!(c.vrfs[&k].times, RowTimes { created: 100, last_changed: 300 });
    }
}
