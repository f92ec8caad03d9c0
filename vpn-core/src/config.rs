//! Committed configuration: the rows an operator creates, as one immutable
//! value ([`Config`]) that readers share and commits replace.

use crate::keys::{IfConfKey, RtKey, VrfKey};
use crate::rd::RouteDistinguisher;
use crate::routes::{RteKey, RteRow};
use imbl::OrdMap;
use mpls::LabelSpace;
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
        matches!(
            self,
            Storage::NonVolatile | Storage::Permanent | Storage::ReadOnly
        )
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
    /// How labels are allocated for the VRF's routes.
    pub label_mode: LabelMode,
    /// Kernel routing table of the VRF, allocated when the row is created
    /// and kept for its life (0 only before that).
    pub table_id: u32,
}

/// Label allocation mode of a VRF (RFC 4364 leaves the choice to the PE).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum LabelMode {
    /// One label for the VRF: pop and look up in its table.
    PerVrf = 1,
    /// One label per prefix.
    PerPrefix = 2,
    /// One label per next hop (per CE).
    PerNextHop = 3,
}

impl LabelMode {
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            1 => LabelMode::PerVrf,
            2 => LabelMode::PerPrefix,
            3 => LabelMode::PerNextHop,
            _ => return None,
        })
    }
}

/// First kernel routing table id given to VRFs.
pub const TABLE_BASE: u32 = 10_000;

/// Who holds a label: the VRF (per-VRF), one prefix of it, or one next hop.
pub fn label_owner_vrf(vrf: &VrfKey) -> Vec<u8> {
    let mut o = vec![b'V'];
    o.extend_from_slice(vrf.as_bytes());
    o
}

pub fn label_owner_prefix(vrf: &VrfKey, prefix: &ipnet::IpNet) -> Vec<u8> {
    let mut o = vec![b'P'];
    o.extend_from_slice(&RteKey::prefix_start(vrf, prefix));
    o
}

pub fn label_owner_next_hop(vrf: &VrfKey, nh: Option<std::net::IpAddr>) -> Vec<u8> {
    let mut o = vec![b'N'];
    o.extend_from_slice(vrf.as_bytes());
    match nh {
        None => o.push(0),
        Some(std::net::IpAddr::V4(a)) => o.extend_from_slice(&a.octets()),
        Some(std::net::IpAddr::V6(a)) => o.extend_from_slice(&a.octets()),
    }
    o
}

/// The VRF and prefix a per-prefix label owner names (`None` for other
/// owners or malformed bytes).
pub fn label_owner_prefix_parts(owner: &[u8]) -> Option<(VrfKey, ipnet::IpNet)> {
    if owner.first() != Some(&b'P') {
        return None;
    }
    let vrf = label_owner_vrf_key(owner)?;
    let rest = &owner[1 + vrf.as_bytes().len()..];
    let (t, rest) = rest.split_first_chunk::<4>()?;
    let (&n, rest) = rest.split_first()?;
    let (addr, rest) = (rest.get(..n as usize)?, rest.get(n as usize..)?);
    let plen: [u8; 4] = rest.try_into().ok()?;
    let plen = u8::try_from(u32::from_be_bytes(plen)).ok()?;
    let p = match (u32::from_be_bytes(*t), addr.len()) {
        (crate::routes::INET_IPV4, 4) => ipnet::IpNet::V4(
            ipnet::Ipv4Net::new(<[u8; 4]>::try_from(addr).ok()?.into(), plen).ok()?,
        ),
        (crate::routes::INET_IPV6, 16) => ipnet::IpNet::V6(
            ipnet::Ipv6Net::new(<[u8; 16]>::try_from(addr).ok()?.into(), plen).ok()?,
        ),
        _ => return None,
    };
    Some((vrf, p))
}

/// The VRF a label owner belongs to.
pub fn label_owner_vrf_key(owner: &[u8]) -> Option<VrfKey> {
    let n = *owner.get(1)? as usize;
    VrfKey::from_bytes(owner.get(1..2 + n)?)
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
            label_mode: LabelMode::PerVrf,
            table_id: 0,
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
    /// Static and dynamic label ranges.
    pub label_space: LabelSpace,
    /// Re-issue interval of the max-threshold notification, seconds
    /// (mplsL3VpnVrfConfRteMxThrshTime; 0 = once until cleared).
    pub rte_mx_thrsh_time: u32,
    /// The BGP speaker.
    pub bgp: crate::bgpcfg::BgpSettings,
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
    PutRte(RteKey, RteRow),
    DelRte(RteKey),
    PutPeer(crate::bgpcfg::PeerKey, crate::bgpcfg::PeerRow),
    DelPeer(crate::bgpcfg::PeerKey),
    PutSettings(Settings),
    /// An effect, not a request: a label allocated to (`Some`) or released
    /// from (`None`) an owner. [`Config::apply`] produces these.
    Label(Vec<u8>, Option<u32>),
    /// Routes outside the configuration (CE-learned, connected) that a VRF
    /// exports with a per-prefix or per-next-hop label hold that label's
    /// owner (`true`) while they exist and drop it (`false`) when they go;
    /// the VPN glue sends these, in order. A hold is not a row and is not
    /// persisted (the allocation it causes is, like any label); a hold for
    /// a VRF that does not exist is ignored.
    HoldLabels(Vec<(Vec<u8>, bool)>),
    /// A row of the SNMP security tables ([`crate::security`]): not part of
    /// [`Config`], committed in the same transaction as the rest of a PDU.
    Security(crate::security::SecChange),
    /// A row of the notification originator's tables ([`crate::notify_cfg`]):
    /// like `Security`, not part of [`Config`], committed with the PDU.
    Notify(crate::notify_cfg::NotifyChange),
}

/// Why a change cannot be made given the rest of the configuration.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("VRF {0:?} does not exist")]
    NoSuchVrf(VrfKey),
    #[error("route distinguisher {rd} is used by VRF {owner:?}")]
    RdInUse {
        rd: RouteDistinguisher,
        owner: VrfKey,
    },
    #[error("interface {if_index} is bound to VRF {owner:?}")]
    InterfaceBound { if_index: u32, owner: VrfKey },
    #[error("interface {0} does not exist")]
    NoSuchInterface(u32),
    #[error("route thresholds must satisfy mid <= high <= max routes")]
    Thresholds,
    #[error("VRF {0:?} holds its maximum number of routes")]
    RouteLimit(VrfKey),
}

/// The committed configuration: one ordered map per table plus the derived
/// indexes the cross-row rules need. Cloning is O(1) (persistent maps).
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub generation: u64,
    pub vrfs: OrdMap<VrfKey, VrfRow>,
    pub rts: OrdMap<RtKey, RtRow>,
    pub ifconfs: OrdMap<IfConfKey, IfConfRow>,
    pub routes: OrdMap<RteKey, RteRow>,
    pub peers: OrdMap<crate::bgpcfg::PeerKey, crate::bgpcfg::PeerRow>,
    pub settings: Settings,
    /// Label allocations: owner -> label (persisted).
    pub labels: OrdMap<Vec<u8>, u32>,
    /// Derived: label -> owner.
    label_owner: OrdMap<u32, Vec<u8>>,
    /// Derived: active routes that use each per-prefix / per-next-hop label.
    label_refs: OrdMap<Vec<u8>, u32>,
    /// Holds on per-prefix / per-next-hop labels by routes outside the
    /// configuration ([`Change::HoldLabels`]). A label goes when neither
    /// routes nor holds use it.
    label_holds: OrdMap<Vec<u8>, u32>,
    /// Where the next allocation starts looking.
    label_hint: u32,
    /// Owners that needed a label and found none (dynamic range exhausted)
    /// in the last apply; a SET that leaves any is refused.
    pub label_shortage: Vec<Vec<u8>>,
    /// Derived: which VRF holds each RD.
    rd_owner: OrdMap<RouteDistinguisher, VrfKey>,
    /// Derived: which VRF each interface is bound to.
    if_owner: OrdMap<u32, VrfKey>,
    /// Derived: which VRF holds each kernel table id.
    table_owner: OrdMap<u32, VrfKey>,
    /// Derived: active routes per VRF.
    active_routes: OrdMap<VrfKey, u32>,
    /// Routes added to / removed from each VRF since the agent started (or
    /// the VRF was created): mplsL3VpnVrfPerfRoutesAdded/Deleted.
    route_counters: OrdMap<VrfKey, (u32, u32)>,
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
    pub fn ifconfs_of<'a>(
        &'a self,
        vrf: &VrfKey,
    ) -> impl Iterator<Item = (&'a IfConfKey, &'a IfConfRow)> + 'a {
        let lo = IfConfKey::new(vrf, 0);
        let hi = IfConfKey::new(vrf, u32::MAX);
        self.ifconfs
            .range((Bound::Included(lo), Bound::Included(hi)))
    }

    /// Route-target rows of one VRF, in (index, type) order.
    pub fn rts_of<'a>(&'a self, vrf: &VrfKey) -> impl Iterator<Item = (&'a RtKey, &'a RtRow)> + 'a {
        let lo = RtKey::new(vrf, 0, crate::keys::RtType::Import);
        let hi = RtKey::new(vrf, u32::MAX, crate::keys::RtType::Both);
        self.rts.range((Bound::Included(lo), Bound::Included(hi)))
    }

    /// Routes of one VRF, in index order.
    pub fn routes_of<'a>(
        &'a self,
        vrf: &VrfKey,
    ) -> impl Iterator<Item = (&'a RteKey, &'a RteRow)> + 'a {
        let lo = vrf.as_bytes().to_vec();
        let mut hi = lo.clone();
        hi.push(0xff);
        self.routes
            .range::<_, [u8]>((Bound::Included(lo.as_slice()), Bound::Unbounded))
            .take_while(move |(k, _)| k.as_bytes().starts_with(&lo))
    }

    /// Routes of one prefix of one VRF (every next hop and policy).
    pub fn routes_of_prefix<'a>(
        &'a self,
        vrf: &VrfKey,
        prefix: &ipnet::IpNet,
    ) -> impl Iterator<Item = (&'a RteKey, &'a RteRow)> + 'a {
        let lo = RteKey::prefix_start(vrf, prefix);
        self.routes
            .range::<_, [u8]>((Bound::Included(lo.as_slice()), Bound::Unbounded))
            .take_while(move |(k, _)| k.as_bytes().starts_with(&lo))
    }

    /// Active routes of a VRF (mplsL3VpnVrfPerfCurrNumRoutes).
    pub fn active_route_count(&self, vrf: &VrfKey) -> u32 {
        self.active_routes.get(vrf).copied().unwrap_or(0)
    }

    /// (added, deleted) routes of a VRF since the agent started or the VRF
    /// was created, whichever is later.
    pub fn route_counters(&self, vrf: &VrfKey) -> (u32, u32) {
        self.route_counters.get(vrf).copied().unwrap_or((0, 0))
    }

    /// The label held by an owner.
    pub fn label(&self, owner: &[u8]) -> Option<u32> {
        self.labels.get(owner).copied()
    }

    /// The owner of a label.
    pub fn label_holder(&self, label: u32) -> Option<&Vec<u8>> {
        self.label_owner.get(&label)
    }

    /// Label owners of one VRF (its own label, its prefixes', its next hops').
    pub fn label_owners_of<'a>(
        &'a self,
        vrf: &'a VrfKey,
    ) -> impl Iterator<Item = &'a Vec<u8>> + 'a {
        [b'V', b'P', b'N'].into_iter().flat_map(move |t| {
            let mut p = vec![t];
            p.extend_from_slice(vrf.as_bytes());
            self.labels
                .range::<_, Vec<u8>>((Bound::Included(p.clone()), Bound::Unbounded))
                .take_while(move |(o, _)| o.starts_with(&p))
                .map(|(o, _)| o)
                .filter(move |o| label_owner_vrf_key(o).as_ref() == Some(vrf))
        })
    }

    /// Number of allocated labels.
    pub fn labels_allocated(&self) -> usize {
        self.labels.len()
    }

    /// The VRF that holds a kernel table.
    pub fn table_owner(&self, table: u32) -> Option<&VrfKey> {
        self.table_owner.get(&table)
    }

    /// Check that activating a route in `vrf` stays within its MaxRoutes
    /// (0 = no limit), given the VRF's `others` routes besides its static
    /// rows (BGP, connected).
    pub fn check_route_limit(&self, vrf: &VrfKey, others: u32) -> Result<(), ConfigError> {
        let max = self.vrfs.get(vrf).map_or(0, |r| r.max_routes);
        if max != 0 && self.active_route_count(vrf).saturating_add(others) >= max {
            return Err(ConfigError::RouteLimit(vrf.clone()));
        }
        Ok(())
    }

    /// Check that `row` may be stored under `key` given the other rows
    /// (unique RD, threshold order).
    pub fn check_vrf(&self, key: &VrfKey, row: &VrfRow) -> Result<(), ConfigError> {
        if let Some(rd) = &row.rd {
            if let Some(owner) = self.rd_owner.get(rd) {
                if owner != key {
                    return Err(ConfigError::RdInUse {
                        rd: *rd,
                        owner: owner.clone(),
                    });
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
            Some(owner) if *owner != vrf => Err(ConfigError::InterfaceBound {
                if_index: key.if_index(),
                owner: owner.clone(),
            }),
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
        c.label_shortage.clear();
        let mut eff = Vec::with_capacity(changes.len());
        for ch in changes {
            c.apply_one(ch, now, &mut eff);
        }
        c.generation = self.generation + 1;
        (c, eff)
    }

    /// Give `owner` a label if it has none (recording a shortage if the
    /// dynamic range is full).
    fn ensure_label(&mut self, owner: Vec<u8>, eff: &mut Vec<Change>) {
        if self.labels.contains_key(&owner) {
            return;
        }
        let space = self.settings.label_space;
        let lo_map = &self.label_owner;
        let got = space.allocate(self.label_hint, |x| lo_map.range(x..).map(|(l, _)| *l));
        match got {
            Ok(l) => {
                self.label_hint = l.saturating_add(1);
                self.labels.insert(owner.clone(), l);
                self.label_owner.insert(l, owner.clone());
                eff.push(Change::Label(owner, Some(l)));
            }
            Err(_) => self.label_shortage.push(owner),
        }
    }

    fn release_label(&mut self, owner: &[u8], eff: &mut Vec<Change>) {
        if let Some(l) = self.labels.remove(owner) {
            self.label_owner.remove(&l);
            self.label_refs.remove(owner);
            eff.push(Change::Label(owner.to_vec(), None));
        }
    }

    /// The label owner an active route of `vrf` uses, per the VRF's mode
    /// (`None` in per-VRF mode: the VRF's own label).
    fn route_label_owner(&self, key: &RteKey) -> Option<Vec<u8>> {
        let vrf = key.vrf();
        let mode = self.vrfs.get(&vrf)?.label_mode;
        let idx = key.index();
        match mode {
            LabelMode::PerVrf => None,
            LabelMode::PerPrefix => Some(label_owner_prefix(&vrf, &idx.prefix)),
            LabelMode::PerNextHop => Some(label_owner_next_hop(&vrf, idx.next_hop)),
        }
    }

    fn route_ref(&mut self, key: &RteKey, delta: i32, eff: &mut Vec<Change>) {
        let vrf = key.vrf();
        let n = self.active_routes.get(&vrf).copied().unwrap_or(0);
        let n = if delta > 0 {
            n + 1
        } else {
            n.saturating_sub(1)
        };
        let (a, d) = self.route_counters.get(&vrf).copied().unwrap_or((0, 0));
        let counters = if delta > 0 {
            (a.wrapping_add(1), d)
        } else {
            (a, d.wrapping_add(1))
        };
        if self.vrfs.contains_key(&vrf) {
            self.route_counters.insert(vrf.clone(), counters);
        }
        if n == 0 {
            self.active_routes.remove(&vrf);
        } else {
            self.active_routes.insert(vrf, n);
        }
        if let Some(owner) = self.route_label_owner(key) {
            let r = self.label_refs.get(&owner).copied().unwrap_or(0);
            if delta > 0 {
                self.label_refs.insert(owner.clone(), r + 1);
                self.ensure_label(owner, eff);
            } else if r <= 1 {
                if self.label_holds.contains_key(&owner) {
                    self.label_refs.remove(&owner);
                } else {
                    self.release_label(&owner, eff);
                }
            } else {
                self.label_refs.insert(owner, r - 1);
            }
        }
    }

    /// Recompute every label of a VRF (after its row or mode changed).
    fn relabel_vrf(&mut self, vrf: &VrfKey, eff: &mut Vec<Change>) {
        let row = self.vrfs.get(vrf).cloned();
        let mut want: std::collections::BTreeMap<Vec<u8>, u32> = Default::default();
        if let Some(r) = &row {
            if r.label_mode == LabelMode::PerVrf && (r.state == RowState::Active || r.ever_active) {
                // Kept from the first activation to the row's end (no relabel
                // churn when the row is taken out of service).
                want.insert(label_owner_vrf(vrf), 1);
            }
            if r.label_mode != LabelMode::PerVrf {
                let keys: Vec<RteKey> = self
                    .routes_of(vrf)
                    .filter(|(_, rr)| rr.state == RowState::Active)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in keys {
                    if let Some(o) = self.route_label_owner(&k) {
                        *want.entry(o).or_default() += 1;
                    }
                }
            }
            // Held by routes outside the configuration: kept until their
            // holder drops them (it re-evaluates after a mode change).
            for (o, _) in self.holds_of(vrf) {
                want.entry(o.clone()).or_default();
            }
        } else {
            // The VRF is gone: so are the holds on its labels.
            let held: Vec<Vec<u8>> = self.holds_of(vrf).map(|(o, _)| o.clone()).collect();
            for o in held {
                self.label_holds.remove(&o);
            }
        }
        let have: Vec<Vec<u8>> = self.label_owners_of(vrf).cloned().collect();
        for o in have {
            if !want.contains_key(&o) {
                self.release_label(&o, eff);
            }
        }
        for (o, refs) in want {
            if o[0] != b'V' {
                if refs > 0 {
                    self.label_refs.insert(o.clone(), refs);
                } else {
                    self.label_refs.remove(&o);
                }
            }
            self.ensure_label(o, eff);
        }
    }

    /// Holds on the per-prefix / per-next-hop labels of one VRF.
    fn holds_of<'a>(&'a self, vrf: &'a VrfKey) -> impl Iterator<Item = (&'a Vec<u8>, &'a u32)> {
        [b'P', b'N'].into_iter().flat_map(move |t| {
            let mut p = vec![t];
            p.extend_from_slice(vrf.as_bytes());
            self.label_holds
                .range::<_, Vec<u8>>((Bound::Included(p.clone()), Bound::Unbounded))
                .take_while(move |(o, _)| o.starts_with(&p))
                .filter(move |(o, _)| label_owner_vrf_key(o).as_ref() == Some(vrf))
        })
    }

    /// Number of holds on a label owner (see [`Change::HoldLabels`]).
    pub fn label_holds(&self, owner: &[u8]) -> u32 {
        self.label_holds.get(owner).copied().unwrap_or(0)
    }

    fn hold_label(&mut self, owner: &[u8], hold: bool, eff: &mut Vec<Change>) {
        if !matches!(owner.first(), Some(b'P' | b'N'))
            || !label_owner_vrf_key(owner).is_some_and(|v| self.vrfs.contains_key(&v))
        {
            return;
        }
        let n = self.label_holds(owner);
        if hold {
            self.label_holds.insert(owner.to_vec(), n + 1);
            self.ensure_label(owner.to_vec(), eff);
        } else if n > 1 {
            self.label_holds.insert(owner.to_vec(), n - 1);
        } else if n == 1 {
            self.label_holds.remove(owner);
            if !self.label_refs.contains_key(owner) {
                self.release_label(owner, eff);
            }
        }
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
                        row.times = RowTimes {
                            created: now,
                            last_changed: now,
                        };
                    }
                }
                if let Some(rd) = row.rd {
                    self.rd_owner.insert(rd, k.clone());
                }
                let old = self.vrfs.get(k).cloned();
                row.table_id = match &old {
                    Some(o) if o.table_id != 0 => o.table_id,
                    _ if row.table_id != 0
                        && self.table_owner.get(&row.table_id).is_none_or(|o| o == k) =>
                    {
                        row.table_id
                    }
                    _ => {
                        // After the highest table in use; the lowest free one
                        // only once that runs out (no scan in the usual case).
                        match self.table_owner.range(TABLE_BASE..).next_back() {
                            None => TABLE_BASE,
                            Some((&hi, _)) if hi < u32::MAX - 1 => hi + 1,
                            Some(_) => {
                                let mut t = TABLE_BASE;
                                for (&used, _) in self.table_owner.range(TABLE_BASE..) {
                                    if used != t {
                                        break;
                                    }
                                    t += 1;
                                }
                                t
                            }
                        }
                    }
                };
                self.table_owner.insert(row.table_id, k.clone());
                self.vrfs.insert(k.clone(), row.clone());
                eff.push(Change::PutVrf(k.clone(), row.clone()));
                let relabel = match &old {
                    None => true,
                    Some(o) => {
                        o.label_mode != row.label_mode
                            || (o.state == RowState::Active) != (row.state == RowState::Active)
                    }
                };
                if relabel {
                    self.relabel_vrf(k, eff);
                }
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
                let peers: Vec<crate::bgpcfg::PeerKey> = self
                    .peers
                    .range::<_, [u8]>((Bound::Included(k.as_bytes()), Bound::Unbounded))
                    .take_while(|(pk, _)| pk.as_bytes().starts_with(k.as_bytes()))
                    .map(|(pk, _)| pk.clone())
                    .collect();
                for pk in peers {
                    self.apply_one(&Change::DelPeer(pk), now, eff);
                }
                let rtes: Vec<RteKey> = self.routes_of(k).map(|(rk, _)| rk.clone()).collect();
                for rk in rtes {
                    self.apply_one(&Change::DelRte(rk), now, eff);
                }
                if let Some(old) = self.vrfs.remove(k) {
                    if let Some(rd) = old.rd {
                        self.rd_owner.remove(&rd);
                    }
                    if self.table_owner.get(&old.table_id) == Some(k) {
                        self.table_owner.remove(&old.table_id);
                    }
                    self.route_counters.remove(k);
                    self.relabel_vrf(k, eff);
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
                    None => RowTimes {
                        created: now,
                        last_changed: now,
                    },
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
                    None => RowTimes {
                        created: now,
                        last_changed: now,
                    },
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
            Change::PutRte(k, row) => {
                let mut row = row.clone();
                row.ever_active |= row.state == RowState::Active;
                let old = self.routes.get(k).cloned();
                let was = old.as_ref().is_some_and(|o| o.state == RowState::Active);
                row.times = match &old {
                    Some(o) => {
                        row.ever_active |= o.ever_active;
                        RowTimes {
                            created: o.times.created,
                            last_changed: if *o != row { now } else { o.times.last_changed },
                        }
                    }
                    None => RowTimes {
                        created: now,
                        last_changed: now,
                    },
                };
                self.routes.insert(k.clone(), row.clone());
                eff.push(Change::PutRte(k.clone(), row.clone()));
                match (was, row.state == RowState::Active) {
                    (false, true) => self.route_ref(k, 1, eff),
                    (true, false) => self.route_ref(k, -1, eff),
                    _ => {}
                }
            }
            Change::DelRte(k) => {
                if let Some(old) = self.routes.remove(k) {
                    eff.push(ch.clone());
                    if old.state == RowState::Active {
                        self.route_ref(k, -1, eff);
                    }
                }
            }
            Change::PutSettings(s) => {
                let space_changed = s.label_space != self.settings.label_space;
                self.settings = s.clone();
                eff.push(ch.clone());
                if space_changed {
                    // Labels outside the new dynamic range are re-allocated.
                    let out: Vec<(Vec<u8>, u32)> = self
                        .labels
                        .iter()
                        .filter(|(_, l)| !s.label_space.dynamic.contains(**l))
                        .map(|(o, l)| (o.clone(), *l))
                        .collect();
                    self.label_hint = s.label_space.dynamic.lo;
                    for (o, _) in out {
                        let refs = self.label_refs.get(&o).copied();
                        self.release_label(&o, eff);
                        if let Some(r) = refs {
                            self.label_refs.insert(o.clone(), r);
                        }
                        self.ensure_label(o, eff);
                    }
                }
            }
            Change::Label(..) => {}
            Change::HoldLabels(list) => {
                for (o, hold) in list {
                    self.hold_label(o, *hold, eff);
                }
            }
            Change::PutPeer(k, row) => {
                let mut row = row.clone();
                row.ever_active |= row.state == RowState::Active;
                row.times = match self.peers.get(k) {
                    Some(o) => {
                        row.ever_active |= o.ever_active;
                        o.times
                    }
                    None => RowTimes {
                        created: now,
                        last_changed: now,
                    },
                };
                self.peers.insert(k.clone(), row.clone());
                eff.push(Change::PutPeer(k.clone(), row));
            }
            Change::DelPeer(k) => {
                if self.peers.remove(k).is_some() {
                    eff.push(ch.clone());
                }
            }
            Change::Security(_) | Change::Notify(_) => eff.push(ch.clone()),
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
        for (k, r) in self.routes.iter() {
            if !r.ever_active && r.state != RowState::Active && old(&r.times) {
                out.push(Change::DelRte(k.clone()));
            }
        }
        for (k, r) in self.peers.iter() {
            if !r.ever_active && r.state != RowState::Active && old(&r.times) {
                out.push(Change::DelPeer(k.clone()));
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
        routes: Vec<(RteKey, RteRow)>,
        labels: Vec<(Vec<u8>, u32)>,
        peers: Vec<(crate::bgpcfg::PeerKey, crate::bgpcfg::PeerRow)>,
        settings: Settings,
    ) -> (Config, Vec<Change>) {
        let mut c = Config {
            settings,
            ..Config::default()
        };
        let mut orphans = Vec::new();
        for (k, r) in vrfs {
            if let Some(rd) = r.rd {
                c.rd_owner.insert(rd, k.clone());
            }
            c.table_owner.insert(r.table_id, k.clone());
            c.vrfs.insert(k, r);
        }
        for (k, r) in routes {
            if c.vrfs.contains_key(&k.vrf()) {
                if r.state == RowState::Active {
                    *c.active_routes.entry(k.vrf()).or_insert(0) += 1;
                }
                c.routes.insert(k, r);
            } else {
                orphans.push(Change::DelRte(k));
            }
        }
        for (k, r) in peers {
            match k.vrf() {
                Some(v) if !c.vrfs.contains_key(&v) => orphans.push(Change::DelPeer(k)),
                _ => {
                    c.peers.insert(k, r);
                }
            }
        }
        for (o, l) in labels {
            c.label_owner.insert(l, o.clone());
            c.labels.insert(o, l);
        }
        // Re-derive reference counts and drop allocations no row needs.
        let keys: Vec<VrfKey> = c.vrfs.keys().cloned().collect();
        let mut eff = Vec::new();
        for k in &keys {
            c.relabel_vrf(k, &mut eff);
        }
        let stale: Vec<Vec<u8>> = c
            .labels
            .keys()
            .filter(|o| label_owner_vrf_key(o).is_none_or(|v| !c.vrfs.contains_key(&v)))
            .cloned()
            .collect();
        for o in stale {
            c.release_label(&o, &mut eff);
        }
        orphans.extend(eff);
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
    VrfRow {
        times: RowTimes::default(),
        ever_active: false,
        ..r.clone()
    }
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
        assert!(matches!(
            c.check_vrf(&blue, &b),
            Err(ConfigError::RdInUse { .. })
        ));
        assert!(matches!(
            c.check_ifconf(&IfConfKey::new(&blue, 3)),
            Err(ConfigError::NoSuchVrf(_))
        ));
        let (c2, eff) = c.apply(&[Change::DelVrf(red.clone())], 9);
        assert_eq!(
            eff,
            vec![
                Change::DelIfConf(ik),
                Change::DelRt(rk),
                Change::Label(label_owner_vrf(&red), None),
                Change::DelVrf(red)
            ]
        );
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
        assert_eq!(
            c.stale_rows(100 + 30_001, 30_000),
            vec![Change::DelVrf(k.clone())]
        );
        r.state = RowState::Active;
        let (c, _) = c.apply(&[Change::PutVrf(k.clone(), r.clone())], 200);
        r.state = RowState::NotInService;
        let (c, _) = c.apply(&[Change::PutVrf(k.clone(), r)], 300);
        assert!(c.vrfs[&k].ever_active);
        assert!(c.stale_rows(u32::MAX / 2, 30_000).is_empty());
    }

    fn route(vrf: &VrfKey, p: &str, nh: Option<&str>) -> RteKey {
        RteKey::new(
            vrf,
            p.parse().unwrap(),
            &[0, 0],
            nh.map(|x| x.parse().unwrap()),
        )
    }

    fn active_route() -> RteRow {
        RteRow {
            state: RowState::Active,
            ..RteRow::default()
        }
    }

    #[test]
    fn prefix_owners_decode() {
        for (v, p) in [
            ("red", "10.1.2.0/24"),
            ("a-b", "2001:db8::/48"),
            ("x", "0.0.0.0/0"),
        ] {
            let p: ipnet::IpNet = p.parse().unwrap();
            let o = label_owner_prefix(&vrf(v), &p);
            assert_eq!(label_owner_prefix_parts(&o), Some((vrf(v), p)));
            for n in 0..o.len() {
                assert_eq!(label_owner_prefix_parts(&o[..n]), None);
            }
        }
        assert_eq!(
            label_owner_prefix_parts(&label_owner_vrf(&vrf("red"))),
            None
        );
    }

    /// Holds by routes outside the configuration keep a per-prefix label
    /// alive alongside route rows; the label goes when neither uses it;
    /// holds go with their VRF and never touch another VRF's labels.
    #[test]
    fn label_holds_share_labels_with_route_rows() {
        let k = vrf("h");
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        row.label_mode = LabelMode::PerPrefix;
        let (c, _) = Config::default().apply(&[Change::PutVrf(k.clone(), row.clone())], 1);
        assert_eq!(c.labels_allocated(), 0);
        let p = label_owner_prefix(&k, &"10.9.0.0/16".parse().unwrap());
        let hold =
            |c: &Config, h: bool, t: u32| c.apply(&[Change::HoldLabels(vec![(p.clone(), h)])], t);
        // Two holds, one allocation (the effect names it).
        let (c, eff) = hold(&c, true, 2);
        let l = c.label(&p).unwrap();
        assert_eq!(eff, vec![Change::Label(p.clone(), Some(l))]);
        let (c, eff) = hold(&c, true, 3);
        assert!(eff.is_empty());
        assert_eq!(c.label_holds(&p), 2);
        let (c, _) = hold(&c, false, 4);
        assert_eq!(c.label(&p), Some(l));
        // A route row for the prefix shares it: the last hold goes, the
        // label stays; the row goes, the label goes.
        let r = route(&k, "10.9.0.0/16", Some("192.0.2.1"));
        let (c, _) = c.apply(&[Change::PutRte(r.clone(), active_route())], 5);
        let (c, eff) = hold(&c, false, 6);
        assert!(eff.is_empty());
        assert_eq!(c.label(&p), Some(l));
        let (c, eff) = c.apply(&[Change::DelRte(r.clone())], 7);
        assert!(eff.contains(&Change::Label(p.clone(), None)));
        // The other way round: the row goes first, the hold keeps it.
        let (c, _) = c.apply(&[Change::PutRte(r.clone(), active_route())], 8);
        let (c, _) = hold(&c, true, 9);
        let l2 = c.label(&p).unwrap();
        let (c, _) = c.apply(&[Change::DelRte(r)], 10);
        assert_eq!(c.label(&p), Some(l2));
        // A mode change keeps held labels until the holder drops them.
        row.label_mode = LabelMode::PerVrf;
        let (c, _) = c.apply(&[Change::PutVrf(k.clone(), row.clone())], 11);
        assert_eq!(c.label(&p), Some(l2));
        let (c, eff) = hold(&c, false, 12);
        assert_eq!(eff, vec![Change::Label(p.clone(), None)]);
        // Holds go with their VRF; a late drop, or a hold of an unknown VRF
        // or of a VRF label, changes nothing.
        row.label_mode = LabelMode::PerPrefix;
        let (c, _) = c.apply(&[Change::PutVrf(k.clone(), row.clone())], 13);
        let (c, _) = hold(&c, true, 14);
        let (c, _) = c.apply(&[Change::DelVrf(k.clone())], 15);
        assert_eq!((c.label(&p), c.label_holds(&p)), (None, 0));
        let (c, _) = c.apply(&[Change::PutVrf(k.clone(), row.clone())], 16);
        let (c, eff) = hold(&c, false, 17);
        assert!(eff.is_empty());
        let (c, eff) = c.apply(
            &[Change::HoldLabels(vec![
                (
                    label_owner_prefix(&vrf("nope"), &"10.0.0.0/8".parse().unwrap()),
                    true,
                ),
                (label_owner_vrf(&k), true),
            ])],
            18,
        );
        assert!(eff.is_empty());
        assert_eq!(c.labels_allocated(), 0);
    }

    #[test]
    fn labels_follow_mode_and_routes() {
        let k = vrf("l");
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        let (c, _) = Config::default().apply(&[Change::PutVrf(k.clone(), row.clone())], 1);
        let vl = c.label(&label_owner_vrf(&k)).unwrap();
        assert_eq!(vl, 16_000);
        assert_eq!(c.vrfs[&k].table_id, TABLE_BASE);
        let r1 = route(&k, "10.0.0.0/24", Some("192.0.2.1"));
        let r2 = route(&k, "10.0.1.0/24", Some("192.0.2.1"));
        let r3 = route(&k, "10.0.1.0/24", Some("192.0.2.2"));
        let (c, _) = c.apply(
            &[
                Change::PutRte(r1.clone(), active_route()),
                Change::PutRte(r2.clone(), active_route()),
                Change::PutRte(r3.clone(), active_route()),
            ],
            2,
        );
        assert_eq!(c.active_route_count(&k), 3);
        assert_eq!(c.labels_allocated(), 1);
        // per-next-hop: two next hops, two labels; the VRF label goes
        row.label_mode = LabelMode::PerNextHop;
        let (c, _) = c.apply(&[Change::PutVrf(k.clone(), row.clone())], 3);
        assert_eq!(c.label(&label_owner_vrf(&k)), None);
        let n1 = c
            .label(&label_owner_next_hop(
                &k,
                Some("192.0.2.1".parse().unwrap()),
            ))
            .unwrap();
        assert!(c
            .label(&label_owner_next_hop(
                &k,
                Some("192.0.2.2".parse().unwrap())
            ))
            .is_some());
        assert_eq!(c.labels_allocated(), 2);
        // removing one of two routes via 192.0.2.1 keeps its label; both releases it
        let (c, _) = c.apply(&[Change::DelRte(r1)], 4);
        assert_eq!(
            c.label(&label_owner_next_hop(
                &k,
                Some("192.0.2.1".parse().unwrap())
            )),
            Some(n1)
        );
        let (c, _) = c.apply(&[Change::DelRte(r2)], 5);
        assert_eq!(
            c.label(&label_owner_next_hop(
                &k,
                Some("192.0.2.1".parse().unwrap())
            )),
            None
        );
        // per-prefix
        row.label_mode = LabelMode::PerPrefix;
        let (c, _) = c.apply(&[Change::PutVrf(k.clone(), row.clone())], 6);
        assert_eq!(c.labels_allocated(), 1);
        assert!(c
            .label(&label_owner_prefix(&k, &"10.0.1.0/24".parse().unwrap()))
            .is_some());
        // destroy releases everything and the table id
        let (c, _) = c.apply(&[Change::DelVrf(k.clone())], 7);
        assert_eq!(c.labels_allocated(), 0);
        assert!(c.routes.is_empty());
        assert_eq!(c.table_owner(TABLE_BASE), None);
    }

    #[test]
    fn label_exhaustion_is_reported() {
        let mut s = Settings::default();
        s.label_space = LabelSpace::new(
            mpls::LabelRange { lo: 16, hi: 99 },
            mpls::LabelRange { lo: 100, hi: 100 },
        )
        .unwrap();
        let (c, _) = Config::default().apply(&[Change::PutSettings(s)], 1);
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        let (c, _) = c.apply(&[Change::PutVrf(vrf("a"), row.clone())], 1);
        assert!(c.label_shortage.is_empty());
        let (c, _) = c.apply(&[Change::PutVrf(vrf("b"), row)], 1);
        assert_eq!(c.label_shortage, vec![label_owner_vrf(&vrf("b"))]);
        assert_eq!(c.vrfs[&vrf("b")].table_id, TABLE_BASE + 1);
    }

    #[test]
    fn route_limit() {
        let k = vrf("m");
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        row.max_routes = 1;
        let (c, _) = Config::default().apply(&[Change::PutVrf(k.clone(), row)], 1);
        assert!(c.check_route_limit(&k, 0).is_ok());
        // Other routes (BGP, connected) count too.
        assert_eq!(
            c.check_route_limit(&k, 1),
            Err(ConfigError::RouteLimit(k.clone()))
        );
        let (c, _) = c.apply(
            &[Change::PutRte(
                route(&k, "10.0.0.0/8", None),
                active_route(),
            )],
            2,
        );
        assert_eq!(c.check_route_limit(&k, 0), Err(ConfigError::RouteLimit(k)));
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
        let (c, _) = Config::default().apply(
            &[Change::PutVrf(k.clone(), VrfRow::new(Storage::Volatile))],
            100,
        );
        assert_eq!(
            c.vrfs[&k].times,
            RowTimes {
                created: 100,
                last_changed: 100
            }
        );
        let same = c.vrfs[&k].clone();
        let (c, _) = c.apply(&[Change::PutVrf(k.clone(), same)], 200);
        assert_eq!(c.vrfs[&k].times.last_changed, 100);
        let (c, _) = c.apply(
            &[Change::PutIfConf(
                IfConfKey::new(&k, 1),
                IfConfRow::new(Storage::Volatile),
            )],
            300,
        );
        assert_eq!(
            c.vrfs[&k].times,
            RowTimes {
                created: 100,
                last_changed: 300
            }
        );
    }
}
