//! BGP/MPLS IP VPN glue (RFC 4364): turns committed configuration into what
//! the BGP speaker runs and originates, and what it learns into VRF routes.
//!
//! - Peers: each active peer row becomes a speaker peer (PE-PE peers use the
//!   VPN RIB, CE peers their VRF's RIB).
//! - Export: every best route of a VRF with an RD and export route targets
//!   is originated as a VPN route (RD:prefix, the export RTs, the VRF's
//!   label per its mode, next hop self): connected routes (the subnets of
//!   the VRF's interfaces, [`crate::connected`]), static rows and CE-learned
//!   routes, in that order of preference. Connected and static routes go out
//!   with ORIGIN incomplete; a connected route takes the VRF's label
//!   (pop and look up: its hosts are reached through the VRF's table), or
//!   where the VRF's mode allocated none, the label its mode gives a route
//!   without a next hop. The VRF's CE peers are offered the same routes.
//! - Import: a VPN route whose RTs meet a VRF's import RTs becomes a route of
//!   that VRF (next hop the remote PE, its label) and is advertised to the
//!   VRF's CE peers; routes a CE peer sends become routes of its VRF.
//!
//! Imported and CE-learned routes live in [`BgpRoutes`], published for the
//! reconciler (FIB) and the route table (read-only rows, Proto bgp).
//!
//! Interface events (addresses, links: [`Vpn::follow_interfaces`]) and
//! binding changes re-evaluate the connected routes of the VRFs concerned:
//! the glue keeps, per VRF, the connected routes it last saw; the prefixes
//! that differ from the interface view now are exported or withdrawn and
//! handed to the reconciler (the [`OnChange`] hints), and nothing else.

use crate::bgpcfg::{
    PeerKey, PeerRow, PeerState, PeerStates, FAM_IPV4_UNICAST, FAM_IPV6_UNICAST, FAM_VPNV4,
    FAM_VPNV6,
};
use crate::chunkmap::{ChunkMap, NetMap};
use crate::config::{
    label_owner_next_hop, label_owner_prefix, label_owner_vrf, Config, LabelMode, RowState,
};
use crate::connected::Connected;
use crate::ifaces::{IfEvent, Interfaces};
use crate::keys::{RtType, VrfKey};
use crate::reconcile::best_route;
use crate::routes::RteKey;
use crate::Change;
use arc_swap::ArcSwap;
use bgp::{
    BgpCommand, BgpEvent, Family, Path, PathAttrs, PeerConfig, PeerId, RouteKey, SpeakerConfig,
};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::Bound;
use std::sync::{Arc, Mutex, OnceLock};

/// Administrative distances: eBGP (CE-learned) and iBGP (imported VPN).
pub const EBGP_DISTANCE: u32 = 20;
pub const IBGP_DISTANCE: u32 = 200;

/// The policy OID of BGP rows in mplsL3VpnVrfRteTable (the BGP4-MIB root,
/// 1.3.6.1.2.1.15), so they never collide with static rows (policy {0 0}).
pub const BGP_POLICY: &[u32] = &[1, 3, 6, 1, 2, 1, 15];

/// Where a VRF route learned through BGP came from.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Source {
    /// A VPN route of a remote PE, imported by route target.
    Imported { rd: bgp::Rd },
    /// Sent by a CE peer of the VRF.
    Ce { peer: PeerId, peer_as: u32 },
}

/// A VRF route learned through BGP.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BgpRoute {
    pub source: Source,
    /// The label it was advertised with (the speaker keeps one label per
    /// path: RFC 8277 without multiple labels); None for unlabelled routes.
    pub label: Option<u32>,
    pub attrs: Arc<PathAttrs>,
    /// Agent clock ticks when it was last updated.
    pub updated: u32,
}

impl BgpRoute {
    /// The label stack to push (outermost first): empty or one label.
    pub fn labels(&self) -> &[u32] {
        self.label.as_slice()
    }
    /// The next hop, in the family of the route's prefix `p` (derived from
    /// the attributes, so it is not stored twice).
    pub fn next_hop(&self, p: &IpNet) -> Option<IpAddr> {
        family_next_hop(p, self.attrs.next_hop)
    }
    pub fn distance(&self) -> u32 {
        match self.source {
            Source::Imported { .. } => IBGP_DISTANCE,
            Source::Ce { .. } => EBGP_DISTANCE,
        }
    }
}

/// The BGP-learned routes of one VRF (one per prefix: the best) and its
/// counters of routes added and deleted.
#[derive(Clone, Debug, Default)]
pub struct VrfBgp {
    routes: NetMap<BgpRoute>,
    added: u32,
    deleted: u32,
}

impl VrfBgp {
    pub fn routes(&self) -> &NetMap<BgpRoute> {
        &self.routes
    }
    fn insert(&mut self, p: IpNet, r: BgpRoute) {
        if self.routes.insert(p, r).is_none() {
            self.added = self.added.wrapping_add(1);
        }
    }
    fn remove(&mut self, p: &IpNet) -> Option<BgpRoute> {
        let old = self.routes.remove(p)?;
        self.deleted = self.deleted.wrapping_add(1);
        Some(old)
    }
}

/// BGP-learned routes of every VRF. Persistent maps (an imbl map of VRFs,
/// a [`NetMap`] of routes per VRF): publishing a new version shares
/// everything that did not change. The route table
/// (mplsL3VpnVrfRteTable) is served from the same maps: within a VRF, the
/// order of prefixes is the order of their route-table keys.
#[derive(Clone, Debug, Default)]
pub struct BgpRoutes {
    vrfs: imbl::OrdMap<VrfKey, VrfBgp>,
}

impl BgpRoutes {
    pub fn of(&self, vrf: &VrfKey) -> Option<&NetMap<BgpRoute>> {
        self.vrfs.get(vrf).map(|v| &v.routes)
    }
    pub fn count(&self, vrf: &VrfKey) -> u32 {
        self.of(vrf).map_or(0, |m| m.len() as u32)
    }
    pub fn get(&self, vrf: &VrfKey, p: &IpNet) -> Option<&BgpRoute> {
        self.of(vrf)?.get(p)
    }
    /// The route-table key of a BGP route.
    pub fn key(vrf: &VrfKey, p: &IpNet, r: &BgpRoute) -> RteKey {
        RteKey::new(
            vrf,
            *p,
            BGP_POLICY,
            r.next_hop(p).filter(|n| n.is_ipv4() == p.addr().is_ipv4()),
        )
    }
    /// (added, deleted) BGP routes of a VRF.
    pub fn counters(&self, vrf: &VrfKey) -> (u32, u32) {
        self.vrfs.get(vrf).map_or((0, 0), |v| (v.added, v.deleted))
    }
    /// One VRF's routes, for changing them in place (the persistent maps
    /// copy only the nodes they share with published versions).
    pub fn vrf_mut(&mut self, vrf: &VrfKey) -> &mut VrfBgp {
        if !self.vrfs.contains_key(vrf) {
            self.vrfs.insert(vrf.clone(), VrfBgp::default());
        }
        self.vrfs.get_mut(vrf).expect("inserted above")
    }
    pub fn insert(&mut self, vrf: &VrfKey, p: IpNet, r: BgpRoute) {
        self.vrf_mut(vrf).insert(p, r)
    }
    pub fn remove(&mut self, vrf: &VrfKey, p: &IpNet) -> Option<BgpRoute> {
        self.vrfs.get_mut(vrf)?.remove(p)
    }

    /// Forget a VRF's entry if it holds nothing (no routes, no counts).
    fn tidy(&mut self, vrf: &VrfKey) {
        if self
            .vrfs
            .get(vrf)
            .is_some_and(|v| v.routes.is_empty() && v.added == 0 && v.deleted == 0)
        {
            self.vrfs.remove(vrf);
        }
    }

    /// Drop every route of a VRF (it was destroyed); returns their prefixes.
    pub fn clear_vrf(&mut self, vrf: &VrfKey) -> Vec<IpNet> {
        self.vrfs
            .remove(vrf)
            .map(|v| v.routes.keys().collect())
            .unwrap_or_default()
    }

    /// The route a route-table key names, if it is a BGP route's key.
    pub fn by_key(&self, key: &[u8]) -> Option<&BgpRoute> {
        let (k, idx) = RteKey::parse(key).ok()?;
        if idx.policy != BGP_POLICY {
            return None;
        }
        let r = self.get(&idx.vrf, &idx.prefix)?;
        (Self::key(&idx.vrf, &idx.prefix, r) == k).then_some(r)
    }

    /// The first BGP route whose route-table key lies after `from` (a
    /// route-table walk's lower bound), with that key. With `upto` (a key
    /// another source has found) the search stops at the VRFs whose keys
    /// all lie after it: a walk over other rows looks at one or two VRFs,
    /// not at every VRF after its own.
    pub fn next_after(
        &self,
        from: Bound<&[u8]>,
        upto: Option<&[u8]>,
    ) -> Option<(RteKey, &BgpRoute)> {
        let fb: &[u8] = match from {
            Bound::Included(b) | Bound::Excluded(b) => b,
            Bound::Unbounded => &[],
        };
        let past = |k: &RteKey| match from {
            Bound::Included(b) => k.as_bytes() >= b,
            Bound::Excluded(b) => k.as_bytes() > b,
            Bound::Unbounded => true,
        };
        // VRF keys are [length, name..]: the VRF `from` names (or the first
        // one after it) starts the search; later VRFs lie wholly after it.
        let vlen = fb.first().map_or(0, |&n| (1 + n as usize).min(fb.len()));
        for (vrf, v) in self
            .vrfs
            .range::<_, [u8]>((Bound::Included(&fb[..vlen]), Bound::Unbounded))
        {
            if upto.is_some_and(|u| vrf.as_bytes() > u) {
                return None;
            }
            if v.routes.is_empty() {
                continue;
            }
            let floor = if fb.starts_with(vrf.as_bytes()) {
                match prefix_floor(&fb[vrf.as_bytes().len()..]) {
                    Some(p) => p,
                    None => continue,
                }
            } else {
                IpNet::V4(Ipv4Net::default())
            };
            // At most the other lengths of the floor's address come before.
            for (p, r) in v.routes.range_from(&floor) {
                let k = Self::key(vrf, &p, r);
                if past(&k) {
                    return Some((k, r));
                }
            }
        }
        None
    }
}

/// The least prefix whose route-key tail (what follows the VRF in a key:
/// address type, address length and address, prefix length, ...) can come
/// at or after `rest`; None when every tail comes before it. Within a VRF,
/// prefix order (IPv4 before IPv6, then address, then length) is key order.
fn prefix_floor(rest: &[u8]) -> Option<IpNet> {
    use std::cmp::Ordering;
    for v6 in [false, true] {
        let (t, alen): (u8, usize) = if v6 { (2, 16) } else { (1, 4) };
        let head = [0, 0, 0, t, alen as u8];
        let n = rest.len().min(head.len());
        match rest[..n].cmp(&head[..n]) {
            // Every key of this family comes after `rest`.
            Ordering::Less => return Some(family_min(v6)),
            Ordering::Equal if n < head.len() => return Some(family_min(v6)),
            Ordering::Greater => continue,
            Ordering::Equal => {
                let mut a = [0u8; 16];
                let given = &rest[head.len()..rest.len().min(head.len() + alen)];
                a[..given.len()].copy_from_slice(given);
                return Some(if v6 {
                    IpNet::V6(Ipv6Net::new(a.into(), 0).expect("length 0"))
                } else {
                    let b: [u8; 4] = a[..4].try_into().expect("4 octets");
                    IpNet::V4(Ipv4Net::new(b.into(), 0).expect("length 0"))
                });
            }
        }
    }
    None
}

fn family_min(v6: bool) -> IpNet {
    if v6 {
        IpNet::V6(Ipv6Net::default())
    } else {
        IpNet::V4(Ipv4Net::default())
    }
}

fn rt_bytes(cfg: &Config, vrf: &VrfKey, want: RtType) -> Vec<[u8; 8]> {
    cfg.rts_of(vrf)
        .filter(|(k, r)| {
            r.state == RowState::Active && (k.rt_type() == want || k.rt_type() == RtType::Both)
        })
        .filter_map(|(_, r)| r.rt.map(|x| x.to_rt_bytes()))
        .collect()
}

fn families(bits: u8) -> Vec<Family> {
    let mut f = Vec::new();
    if bits & FAM_IPV4_UNICAST != 0 {
        f.push(Family::Ipv4Unicast);
    }
    if bits & FAM_IPV6_UNICAST != 0 {
        f.push(Family::Ipv6Unicast);
    }
    if bits & FAM_VPNV4 != 0 {
        f.push(Family::Vpnv4);
    }
    if bits & FAM_VPNV6 != 0 {
        f.push(Family::Vpnv6);
    }
    f
}

/// The label a VRF route is exported with, per the VRF's mode.
fn export_label(
    cfg: &Config,
    vrf: &VrfKey,
    prefix: &IpNet,
    next_hop: Option<IpAddr>,
) -> Option<u32> {
    match cfg.vrfs.get(vrf)?.label_mode {
        LabelMode::PerVrf => cfg.label(&label_owner_vrf(vrf)),
        LabelMode::PerPrefix => cfg
            .label(&label_owner_prefix(vrf, prefix))
            .or_else(|| cfg.label(&label_owner_vrf(vrf))),
        LabelMode::PerNextHop => cfg
            .label(&label_owner_next_hop(vrf, next_hop))
            .or_else(|| cfg.label(&label_owner_vrf(vrf))),
    }
}

/// A VPN path as the import side keeps it.
#[derive(Clone, Debug)]
struct VpnPath {
    attrs: Arc<PathAttrs>,
    label: Option<u32>,
}

impl VpnPath {
    /// The VRF route it makes, updated at `now` (agent clock ticks).
    fn route(&self, rd: bgp::Rd, now: u32) -> BgpRoute {
        BgpRoute {
            source: Source::Imported { rd },
            label: self.label,
            attrs: self.attrs.clone(),
            updated: now,
        }
    }
}

/// The number of routes a VRF holds: its active static rows, its BGP
/// routes (imported, CE-learned) and its connected routes that are rows of
/// the route table (mplsL3VpnVrfPerfCurrNumRoutes; what the route-count
/// thresholds and MaxRoutes count).
pub fn vrf_route_count(
    cfg: &Config,
    bgp: &BgpRoutes,
    ifs: Option<&Interfaces>,
    vrf: &VrfKey,
) -> u32 {
    cfg.active_route_count(vrf)
        .saturating_add(bgp.count(vrf))
        .saturating_add(ifs.map_or(0, |i| crate::connected::row_count(cfg, i, vrf)))
}

/// The route targets among a path's extended communities (RFC 4360 types
/// 0x00/0x01/0x02, sub-type 0x02).
fn route_targets(a: &PathAttrs) -> impl Iterator<Item = &[u8; 8]> {
    a.ext_communities
        .iter()
        .filter(|c| c[0] <= 0x02 && c[1] == 0x02)
}

/// The learned VPN best paths by (route target, prefix, RD), once per
/// route target they carry; IPv4 and IPv6 prefixes apart (an IPv4 key is
/// 21 bytes: 40 bytes an entry with its path, instead of 56).
#[derive(Default)]
struct RtIndex {
    v4: ChunkMap<([u8; 8], Ipv4Net, bgp::Rd), VpnPath>,
    v6: ChunkMap<([u8; 8], Ipv6Net, bgp::Rd), VpnPath>,
}

impl RtIndex {
    fn insert(&mut self, rt: &[u8; 8], p: &IpNet, rd: &bgp::Rd, v: VpnPath) {
        match p {
            IpNet::V4(p) => self.v4.insert((*rt, *p, *rd), v),
            IpNet::V6(p) => self.v6.insert((*rt, *p, *rd), v),
        };
    }
    fn remove(&mut self, rt: &[u8; 8], p: &IpNet, rd: &bgp::Rd) {
        match p {
            IpNet::V4(p) => self.v4.remove(&(*rt, *p, *rd)),
            IpNet::V6(p) => self.v6.remove(&(*rt, *p, *rd)),
        };
    }
    fn get(&self, rt: &[u8; 8], p: &IpNet, rd: &bgp::Rd) -> Option<&VpnPath> {
        match p {
            IpNet::V4(p) => self.v4.get(&(*rt, *p, *rd)),
            IpNet::V6(p) => self.v6.get(&(*rt, *p, *rd)),
        }
    }
    /// The lowest RD's path for `p` carrying `rt`.
    fn first_rd(&self, rt: &[u8; 8], p: &IpNet) -> Option<(bgp::Rd, &VpnPath)> {
        match p {
            IpNet::V4(p) => self
                .v4
                .range_from(&(*rt, *p, [0u8; 8]))
                .next()
                .filter(|((r, q, _), _)| r == rt && q == p)
                .map(|((_, _, rd), path)| (*rd, path)),
            IpNet::V6(p) => self
                .v6
                .range_from(&(*rt, *p, [0u8; 8]))
                .next()
                .filter(|((r, q, _), _)| r == rt && q == p)
                .map(|((_, _, rd), path)| (*rd, path)),
        }
    }
    /// Every (prefix, RD, path) carrying `rt`.
    fn of_rt<'a>(&'a self, rt: &'a [u8; 8]) -> impl Iterator<Item = (IpNet, bgp::Rd, &'a VpnPath)> {
        let v4 = self
            .v4
            .range_from(&(*rt, Ipv4Net::default(), [0u8; 8]))
            .take_while(move |(k, _)| k.0 == *rt)
            .map(|((_, p, rd), v)| (IpNet::V4(*p), *rd, v));
        let v6 = self
            .v6
            .range_from(&(*rt, Ipv6Net::default(), [0u8; 8]))
            .take_while(move |(k, _)| k.0 == *rt)
            .map(|((_, p, rd), v)| (IpNet::V6(*p), *rd, v));
        v4.chain(v6)
    }
}

/// A VRF that imports, as of one configuration generation.
struct Importer {
    key: VrfKey,
    /// Its import route targets.
    irt: Vec<[u8; 8]>,
    max_routes: u32,
    created: u32,
}

impl Importer {
    fn wants(&self, a: &PathAttrs) -> bool {
        a.ext_communities.iter().any(|c| self.irt.contains(c))
    }
}

/// Which VRFs import each route target (rebuilt when the configuration
/// changed).
#[derive(Default)]
struct Imports {
    gen: Option<u64>,
    vrfs: Vec<Importer>,
    by_rt: std::collections::HashMap<[u8; 8], Vec<usize>>,
}

#[derive(Default)]
struct State {
    next_id: PeerId,
    ids: BTreeMap<PeerKey, PeerId>,
    keys: BTreeMap<PeerId, PeerKey>,
    /// Peers given to the speaker, as given.
    running: BTreeMap<PeerId, PeerConfig>,
    speaker: Option<SpeakerConfig>,
    /// What each VRF exports now: prefix -> (VPN key, path).
    exported: BTreeMap<VrfKey, BTreeMap<IpNet, (RouteKey, Path)>>,
    /// What each VRF's CE peers are offered: prefix -> path.
    ce_offered: BTreeMap<VrfKey, BTreeMap<IpNet, Path>>,
    /// The VPN RIB's learned best paths as the speaker reports them, once
    /// per route target they carry: (RT, prefix, RD). A VRF finds what it
    /// imports by its import RTs, and the other RDs that offer a prefix.
    by_rt: RtIndex,
    imports: Imports,
    /// The connected routes of each VRF as last seen (no empty entries),
    /// and which VRFs each interface gave routes to.
    connected: BTreeMap<VrfKey, BTreeMap<IpNet, Connected>>,
    /// The label owner each exported prefix outside the configuration
    /// holds ([`Change::HoldLabels`]), per VRF.
    held: BTreeMap<VrfKey, BTreeMap<IpNet, Vec<u8>>>,
    /// VRFs that refused imports at their MaxRoutes: when routes leave
    /// them, the waiting paths (still in `by_rt`) fill the room.
    starved: BTreeSet<VrfKey>,
    connected_by_if: BTreeMap<u32, BTreeSet<VrfKey>>,
}

impl State {
    /// A path (the lowest RD's) for `p` carrying one of `irt`, if any.
    fn import_candidate(&self, irt: &[[u8; 8]], p: &IpNet) -> Option<(bgp::Rd, &VpnPath)> {
        irt.iter()
            .filter_map(|rt| self.by_rt.first_rd(rt, p))
            .min_by_key(|(rd, _)| *rd)
    }

    fn refresh_imports(&mut self, cfg: &Config) {
        if self.imports.gen == Some(cfg.generation) {
            return;
        }
        let mut im = Imports {
            gen: Some(cfg.generation),
            ..Imports::default()
        };
        for (vrf, r) in cfg.vrfs.iter() {
            if r.state != RowState::Active {
                continue;
            }
            let irt = rt_bytes(cfg, vrf, RtType::Import);
            if irt.is_empty() {
                continue;
            }
            let i = im.vrfs.len();
            for rt in &irt {
                let v = im.by_rt.entry(*rt).or_default();
                if !v.contains(&i) {
                    v.push(i);
                }
            }
            im.vrfs.push(Importer {
                key: vrf.clone(),
                irt,
                max_routes: r.max_routes,
                created: r.times.created,
            });
        }
        self.imports = im;
    }
}

/// What one prefix of a VRF calls for: its VPN export (key and path), the
/// path its CE peers are offered, and the label owner it holds.
type Want = (Option<(RouteKey, Path)>, Option<Path>, Option<Vec<u8>>);

/// Told which prefixes of a VRF got other BGP routes.
pub type OnChange = Box<dyn Fn(&VrfKey, &[IpNet]) + Send + Sync>;

/// The glue between configuration, the speaker and the VRF routes.
pub struct Vpn {
    cmd: tokio::sync::mpsc::UnboundedSender<BgpCommand>,
    st: Mutex<State>,
    pub routes: Arc<ArcSwap<BgpRoutes>>,
    pub peers: Arc<ArcSwap<PeerStates>>,
    /// Called with the VRF and prefixes whose BGP routes changed (the
    /// reconciler's hints).
    on_change: OnChange,
    /// Labels received from peers are checked here (illegal-label counts).
    pub illegal: Arc<crate::fibview::IllegalLabels>,
    /// Route limits for imported routes.
    pub drops: Arc<crate::fibview::RouteDrops>,
    /// The interface view connected routes come from (none until
    /// [`Vpn::set_interfaces`]: no connected routes).
    ifs: OnceLock<Arc<ArcSwap<Interfaces>>>,
    /// Where label holds go to be committed (see [`Vpn::set_label_holder`]).
    holder: OnceLock<LabelHolder>,
}

/// Takes label holds and drops ([`Change::HoldLabels`]) to commit them
/// later, outside the glue's lock and outside the commit that may be
/// running (holds are decided in commit hooks too).
pub type LabelHolder = Box<dyn Fn(Vec<(Vec<u8>, bool)>) + Send + Sync>;

impl Vpn {
    /// `routes` and `peers` are the views this glue keeps current (the
    /// reconciler and the MIB read them).
    pub fn new(
        cmd: tokio::sync::mpsc::UnboundedSender<BgpCommand>,
        routes: Arc<ArcSwap<BgpRoutes>>,
        peers: Arc<ArcSwap<PeerStates>>,
        illegal: Arc<crate::fibview::IllegalLabels>,
        drops: Arc<crate::fibview::RouteDrops>,
        on_change: OnChange,
    ) -> Vpn {
        Vpn {
            cmd,
            st: Mutex::new(State {
                next_id: 1,
                ..State::default()
            }),
            routes,
            peers,
            on_change,
            illegal,
            drops,
            ifs: OnceLock::new(),
            holder: OnceLock::new(),
        }
    }

    /// Where connected routes come from. Set once, before [`Vpn::sync_all`]
    /// (a second call is ignored).
    /// Where the holds on per-prefix / per-next-hop labels of exported
    /// routes outside the configuration (connected, CE-learned) go: the
    /// holder commits them ([`Change::HoldLabels`]); the labels they get
    /// come back as commits and the routes are exported then. Set once (a
    /// second call is ignored); without it such routes wait for a label a
    /// route row allocates.
    pub fn set_label_holder(&self, h: LabelHolder) {
        let _ = self.holder.set(h);
    }

    pub fn set_interfaces(&self, ifs: Arc<ArcSwap<Interfaces>>) {
        let _ = self.ifs.set(ifs);
    }

    /// The connected routes of a VRF as of the interface view now.
    fn connected_now(&self, cfg: &Config, vrf: &VrfKey) -> BTreeMap<IpNet, Connected> {
        match self.ifs.get() {
            Some(ifs) if cfg.ifconfs_of(vrf).next().is_some() => {
                crate::connected::of_vrf(cfg, &ifs.load(), vrf)
            }
            _ => BTreeMap::new(),
        }
    }

    /// Record a VRF's connected routes as seen now; returns the prefixes
    /// whose connected route came, went or moved to another interface, and
    /// tells the reconciler about them.
    fn note_connected(&self, st: &mut State, cfg: &Config, vrf: &VrfKey) -> Vec<IpNet> {
        let now = self.connected_now(cfg, vrf);
        let empty = BTreeMap::new();
        let old = st.connected.get(vrf).unwrap_or(&empty);
        let mut changed: Vec<IpNet> = old
            .iter()
            .filter(|(p, c)| now.get(p).is_none_or(|n| n.if_index != c.if_index))
            .map(|(p, _)| *p)
            .collect();
        changed.extend(now.keys().filter(|p| !old.contains_key(p)).copied());
        if changed.is_empty() {
            // Only ages may differ: keep the newer view.
            if !now.is_empty() {
                st.connected.insert(vrf.clone(), now);
            }
            return changed;
        }
        changed.sort_unstable();
        for c in old.values() {
            if let Some(s) = st.connected_by_if.get_mut(&c.if_index) {
                s.remove(vrf);
                if s.is_empty() {
                    st.connected_by_if.remove(&c.if_index);
                }
            }
        }
        for c in now.values() {
            st.connected_by_if
                .entry(c.if_index)
                .or_default()
                .insert(vrf.clone());
        }
        if now.is_empty() {
            st.connected.remove(vrf);
        } else {
            st.connected.insert(vrf.clone(), now);
        }
        (self.on_change)(vrf, &changed);
        changed
    }

    /// Re-evaluate a VRF's connected routes: export or withdraw exactly the
    /// prefixes whose connected route changed.
    fn refresh_connected(&self, st: &mut State, cfg: &Config, vrf: &VrfKey) {
        let changed = self.note_connected(st, cfg, vrf);
        if !changed.is_empty() {
            self.sync_export_prefixes(st, cfg, vrf, Some(&changed));
        }
    }

    /// These links changed (oper status, addresses, came or went): the VRFs
    /// they are bound to, or gave connected routes to, re-evaluate them.
    pub fn on_interfaces(&self, cfg: &Config, indexes: &BTreeSet<u32>) {
        let mut st = self.st.lock().unwrap_or_else(|p| p.into_inner());
        let mut vrfs = BTreeSet::new();
        for i in indexes {
            vrfs.extend(cfg.if_owner(*i).cloned());
            if let Some(s) = st.connected_by_if.get(i) {
                vrfs.extend(s.iter().cloned());
            }
        }
        for v in &vrfs {
            self.refresh_connected(&mut st, cfg, v);
        }
    }

    /// Interface events were lost: re-evaluate the connected routes of every
    /// VRF that has bindings or had connected routes.
    pub fn on_interfaces_all(&self, cfg: &Config) {
        let mut st = self.st.lock().unwrap_or_else(|p| p.into_inner());
        let mut vrfs: BTreeSet<VrfKey> = st.connected.keys().cloned().collect();
        vrfs.extend(cfg.ifconfs.keys().map(|k| k.vrf()));
        for v in &vrfs {
            self.refresh_connected(&mut st, cfg, v);
        }
    }

    /// Take connected routes from `ifs` and follow the watcher's events on a
    /// thread of its own ("vpn-ifaces"; it never blocks an async worker on
    /// the glue's lock): each batch of events re-evaluates the VRFs of the
    /// links it names, a lag re-evaluates all. The thread ends when the
    /// watcher is dropped.
    pub fn follow_interfaces(
        self: &Arc<Self>,
        store: Arc<crate::Store>,
        ifs: Arc<ArcSwap<Interfaces>>,
        mut events: tokio::sync::broadcast::Receiver<IfEvent>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        use tokio::sync::broadcast::error::{RecvError, TryRecvError};
        self.set_interfaces(ifs);
        let vpn = self.clone();
        std::thread::Builder::new()
            .name("vpn-ifaces".into())
            .spawn(move || loop {
                let mut links = BTreeSet::new();
                let mut lost = false;
                match events.blocking_recv() {
                    Ok(ev) => {
                        links.insert(ev.index());
                    }
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(
                            lost = n,
                            "interface events lost; re-evaluating every VRF's connected routes"
                        );
                        lost = true;
                    }
                    Err(RecvError::Closed) => return,
                }
                loop {
                    match events.try_recv() {
                        Ok(ev) => {
                            links.insert(ev.index());
                        }
                        Err(TryRecvError::Lagged(_)) => lost = true,
                        Err(_) => break,
                    }
                }
                let cfg = store.snapshot();
                if lost {
                    vpn.on_interfaces_all(&cfg);
                } else {
                    vpn.on_interfaces(&cfg, &links);
                }
            })
    }

    fn send(&self, c: BgpCommand) {
        if self.cmd.send(c).is_err() {
            tracing::error!("BGP speaker is gone; command dropped");
        }
    }

    /// Converge everything (at start).
    pub fn sync_all(&self, cfg: &Config) {
        let vrfs: Vec<VrfKey> = cfg.vrfs.keys().cloned().collect();
        let mut st = self.st.lock().unwrap_or_else(|p| p.into_inner());
        self.sync_speaker(&mut st, cfg);
        let keys: Vec<PeerKey> = cfg
            .peers
            .keys()
            .cloned()
            .chain(st.ids.keys().cloned())
            .collect();
        for k in keys {
            self.sync_peer(&mut st, cfg, &k);
        }
        for v in vrfs {
            self.sync_export(&mut st, cfg, &v);
        }
    }

    /// After each commit: peers, speaker, exports and imports of the VRFs
    /// the commit touched.
    pub fn on_commit(&self, cfg: &Config, eff: &[Change]) {
        let mut st = self.st.lock().unwrap_or_else(|p| p.into_inner());
        // Whole VRFs (their row, RTs or VRF label changed) and single
        // prefixes (routes or per-prefix labels changed).
        let mut vrfs = BTreeSet::new();
        let mut reimport = BTreeSet::new();
        let mut prefixes: BTreeMap<VrfKey, BTreeSet<IpNet>> = BTreeMap::new();
        let mut bindings = BTreeSet::new();
        for c in eff {
            match c {
                Change::PutSettings(_) => self.sync_speaker(&mut st, cfg),
                Change::PutPeer(k, _) | Change::DelPeer(k) => {
                    self.sync_peer(&mut st, cfg, k);
                    if let Some(v) = k.vrf() {
                        vrfs.insert(v);
                    }
                }
                Change::PutVrf(k, _) | Change::DelVrf(k) => {
                    if matches!(c, Change::DelVrf(_)) {
                        // The configuration dropped its holds with it.
                        st.held.remove(k);
                    }
                    vrfs.insert(k.clone());
                    reimport.insert(k.clone());
                }
                Change::PutRt(k, _) | Change::DelRt(k) => {
                    vrfs.insert(k.vrf());
                    reimport.insert(k.vrf());
                }
                Change::PutRte(k, _) | Change::DelRte(k) => {
                    let i = k.index();
                    prefixes.entry(i.vrf).or_default().insert(i.prefix);
                }
                // A binding came, went or changed state: the VRF's
                // connected routes.
                Change::PutIfConf(k, _) | Change::DelIfConf(k) => {
                    bindings.insert(k.vrf());
                }
                Change::Label(o, _) => match (o.first(), crate::config::label_owner_vrf_key(o)) {
                    (Some(b'P'), Some(v)) => {
                        // The owner names the prefix.
                        let p = crate::config::label_owner_prefix_parts(o).map(|(_, p)| p);
                        match p {
                            Some(p) => {
                                prefixes.entry(v).or_default().insert(p);
                            }
                            None => {
                                vrfs.insert(v);
                            }
                        }
                    }
                    (_, Some(v)) => {
                        vrfs.insert(v);
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        for v in &reimport {
            self.reimport(&mut st, cfg, v, true);
        }
        for v in &vrfs {
            self.sync_export(&mut st, cfg, v);
        }
        for v in bindings.difference(&vrfs) {
            self.refresh_connected(&mut st, cfg, v);
        }
        for (v, ps) in prefixes {
            if !vrfs.contains(&v) {
                let ps: Vec<IpNet> = ps.into_iter().collect();
                self.sync_export_prefixes(&mut st, cfg, &v, Some(&ps));
            }
        }
    }

    fn sync_speaker(&self, st: &mut State, cfg: &Config) {
        let b = &cfg.settings.bgp;
        let want = SpeakerConfig {
            asn: b.asn,
            router_id: b.router_id.into(),
            listen: b.listen.clone(),
        };
        if st.speaker.as_ref() != Some(&want) {
            st.speaker = Some(want.clone());
            self.send(BgpCommand::SetSpeaker(want));
        }
    }

    fn peer_config(id: PeerId, k: &PeerKey, r: &PeerRow) -> PeerConfig {
        PeerConfig {
            id,
            address: k.addr(),
            port: r.remote_port,
            remote_as: r.remote_as,
            families: families(r.families),
            hold_time: r.hold_time,
            keepalive: r.keepalive,
            md5_password: (!r.md5.is_empty()).then(|| String::from_utf8_lossy(&r.md5).into_owned()),
            route_reflector_client: r.rr_client,
            admin_up: r.admin_up,
            passive: false,
            rib: k.vrf().map(|v| v.name_str().to_string()),
        }
    }

    fn sync_peer(&self, st: &mut State, cfg: &Config, k: &PeerKey) {
        let want = cfg
            .peers
            .get(k)
            .filter(|r| r.state == RowState::Active && r.complete());
        match (want, st.ids.get(k).copied()) {
            (Some(r), id) => {
                let id = id.unwrap_or_else(|| {
                    let id = st.next_id;
                    st.next_id += 1;
                    st.ids.insert(k.clone(), id);
                    st.keys.insert(id, k.clone());
                    id
                });
                let pc = Self::peer_config(id, k, r);
                if st.running.get(&id) != Some(&pc) {
                    st.running.insert(id, pc.clone());
                    self.send(BgpCommand::PutPeer(pc));
                }
            }
            (None, Some(id)) => {
                st.ids.remove(k);
                st.keys.remove(&id);
                st.running.remove(&id);
                self.send(BgpCommand::DelPeer(id));
                let mut p = (**self.peers.load()).clone();
                p.peers.remove(k);
                self.peers.store(Arc::new(p));
            }
            (None, None) => {}
        }
    }

    /// What one prefix of a VRF should export (as a VPN route) and offer its
    /// CE peers, given the VRF's row and export RTs.
    fn want_for(
        cfg: &Config,
        routes: &BgpRoutes,
        vrf: &VrfKey,
        ert: &[[u8; 8]],
        ce_peers: bool,
        connected: Option<&Connected>,
        p: &IpNet,
    ) -> Want {
        let Some(row) = cfg
            .vrfs
            .get(vrf)
            .filter(|r| r.state == RowState::Active && r.admin == crate::AdminStatus::Up)
        else {
            return (None, None, None);
        };
        // Connected (distance 0) before static (1) before BGP.
        let stat = match connected {
            Some(_) => None,
            None => best_route(cfg, vrf, p),
        };
        let local = connected.is_some() || stat.is_some();
        let learned = routes.get(vrf, p);
        let (nh, attrs) = match (local, learned) {
            (true, _) => (
                stat.and_then(|(k, _)| k.index().next_hop),
                PathAttrs {
                    origin: 2,
                    ..PathAttrs::default()
                },
            ),
            (false, Some(b)) => (b.next_hop(p), (*b.attrs).clone()),
            (false, None) => return (None, None, None),
        };
        // CE peers get the VRF's connected, static and imported routes from
        // us; routes a CE sent are in the speaker's VRF RIB already (it
        // advertises them to the VRF's other CEs itself), and offering them
        // back as ours would keep them alive after the CE withdraws them.
        let from_ce = !local && learned.is_some_and(|b| matches!(b.source, Source::Ce { .. }));
        let ce = (ce_peers && !from_ce).then(|| Path {
            attrs: Arc::new(PathAttrs {
                next_hop: None,
                ..attrs.clone()
            }),
            labels: bgp::Labels::new(),
            from: None,
        });
        // VPN export: local routes (connected, static, CE-learned);
        // imported ones belong to other PEs.
        if !local && learned.is_some_and(|b| matches!(b.source, Source::Imported { .. })) {
            return (None, ce, None);
        }
        let (Some(rd), false) = (row.rd, ert.is_empty()) else {
            return (None, ce, None);
        };
        // A route outside the configuration (connected, CE-learned) holds
        // the label its VRF's mode gives it; route rows allocate theirs.
        let hold = match (stat, row.label_mode) {
            (Some(_), _) | (None, LabelMode::PerVrf) => None,
            (None, LabelMode::PerPrefix) => Some(label_owner_prefix(vrf, p)),
            (None, LabelMode::PerNextHop) => Some(label_owner_next_hop(
                vrf,
                if connected.is_some() { None } else { nh },
            )),
        };
        let label = match connected {
            // Its hosts are reached by a lookup in the VRF's table.
            Some(_) => cfg
                .label(&label_owner_vrf(vrf))
                .or_else(|| export_label(cfg, vrf, p, None)),
            None => export_label(cfg, vrf, p, nh),
        };
        let Some(label) = label else {
            return (None, ce, hold);
        };
        let mut a = attrs;
        a.next_hop = None;
        a.local_pref = Some(100);
        a.ext_communities = ert.to_vec();
        (
            Some((
                RouteKey::Vpn(rd.to_rd_bytes(), *p),
                Path {
                    attrs: Arc::new(a),
                    labels: bgp::Labels::one(label),
                    from: None,
                },
            )),
            ce,
            hold,
        )
    }

    /// Recompute what a VRF exports and offers its CE peers: every prefix
    /// (`only` None: after a change to the VRF itself), or some prefixes.
    fn sync_export(&self, st: &mut State, cfg: &Config, vrf: &VrfKey) {
        // The connected routes as of now (the reconciler is told if they
        // differ from what the glue last saw), then every prefix.
        self.note_connected(st, cfg, vrf);
        self.sync_export_prefixes(st, cfg, vrf, None)
    }

    fn sync_export_prefixes(
        &self,
        st: &mut State,
        cfg: &Config,
        vrf: &VrfKey,
        only: Option<&[IpNet]>,
    ) {
        let ert = rt_bytes(cfg, vrf, RtType::Export);
        let routes = self.routes.load();
        let ce_peers = cfg
            .peers
            .range::<_, [u8]>((
                std::ops::Bound::Included(vrf.as_bytes()),
                std::ops::Bound::Unbounded,
            ))
            .next()
            .is_some_and(|(k, _)| k.as_bytes().starts_with(vrf.as_bytes()));
        // A VRF that exports nothing, has no CE peers and offered nothing
        // before has nothing to do.
        if ert.is_empty()
            && !ce_peers
            && !st.exported.contains_key(vrf)
            && !st.ce_offered.contains_key(vrf)
            && !st.held.contains_key(vrf)
        {
            return;
        }
        let connected = self.connected_now(cfg, vrf);
        let prefixes: BTreeSet<IpNet> = match only {
            Some(ps) => ps.iter().copied().collect(),
            None => {
                let mut ps: BTreeSet<IpNet> = cfg
                    .routes_of(vrf)
                    .filter(|(_, r)| r.state == RowState::Active)
                    .map(|(k, _)| k.index().prefix)
                    .collect();
                ps.extend(connected.keys().copied());
                if let Some(m) = routes.of(vrf) {
                    ps.extend(m.keys());
                }
                ps.extend(
                    st.exported
                        .get(vrf)
                        .into_iter()
                        .flat_map(|m| m.keys().copied()),
                );
                ps.extend(
                    st.ce_offered
                        .get(vrf)
                        .into_iter()
                        .flat_map(|m| m.keys().copied()),
                );
                ps.extend(st.held.get(vrf).into_iter().flat_map(|m| m.keys().copied()));
                ps
            }
        };
        let mut originate = Vec::new();
        let mut withdraw = Vec::new();
        let mut ce_originate = Vec::new();
        let mut ce_withdraw = Vec::new();
        let mut holds = Vec::new();
        let mut drops = Vec::new();
        let exported = st.exported.entry(vrf.clone()).or_default();
        let offered = st.ce_offered.entry(vrf.clone()).or_default();
        let held = st.held.entry(vrf.clone()).or_default();
        for p in prefixes {
            let (vpn, ce, hold) =
                Self::want_for(cfg, &routes, vrf, &ert, ce_peers, connected.get(&p), &p);
            match (hold, held.get(&p)) {
                (Some(w), Some(h)) if w == *h => {}
                (Some(w), h) => {
                    if let Some(h) = h {
                        drops.push((h.clone(), false));
                    }
                    holds.push((w.clone(), true));
                    held.insert(p, w);
                }
                (None, Some(h)) => {
                    drops.push((h.clone(), false));
                    held.remove(&p);
                }
                (None, None) => {}
            }
            match (vpn, exported.get(&p)) {
                (Some(w), Some(h)) if w == *h => {}
                (Some(w), h) => {
                    if let Some((hk, _)) = h {
                        if *hk != w.0 {
                            withdraw.push(*hk);
                        }
                    }
                    originate.push(w.clone());
                    exported.insert(p, w);
                }
                (None, Some((hk, _))) => {
                    withdraw.push(*hk);
                    exported.remove(&p);
                }
                (None, None) => {}
            }
            match (ce, offered.get(&p)) {
                (Some(w), Some(h)) if w == *h => {}
                (Some(w), _) => {
                    ce_originate.push((RouteKey::Unicast(p), w.clone()));
                    offered.insert(p, w);
                }
                (None, Some(_)) => {
                    ce_withdraw.push(RouteKey::Unicast(p));
                    offered.remove(&p);
                }
                (None, None) => {}
            }
        }
        if exported.is_empty() {
            st.exported.remove(vrf);
        }
        if st.ce_offered.get(vrf).is_some_and(|m| m.is_empty()) {
            st.ce_offered.remove(vrf);
        }
        if st.held.get(vrf).is_some_and(|m| m.is_empty()) {
            st.held.remove(vrf);
        }
        // New holds before the drops they replace (a label moving between
        // owners is never released in between).
        holds.extend(drops);
        if !holds.is_empty() {
            if let Some(h) = self.holder.get() {
                h(holds);
            }
        }
        if !withdraw.is_empty() {
            self.send(BgpCommand::Withdraw {
                rib: None,
                keys: withdraw,
            });
        }
        if !originate.is_empty() {
            self.send(BgpCommand::Originate {
                rib: None,
                routes: originate,
            });
        }
        let rib = Some(vrf.name_str().to_string());
        if !ce_withdraw.is_empty() {
            self.send(BgpCommand::Withdraw {
                rib: rib.clone(),
                keys: ce_withdraw,
            });
        }
        if !ce_originate.is_empty() {
            self.send(BgpCommand::Originate {
                rib,
                routes: ce_originate,
            });
        }
    }

    /// Re-evaluate which VPN routes a VRF imports (its RTs or row changed,
    /// or routes left a VRF that had refused some at its maximum): within
    /// its MaxRoutes, the lowest RD per prefix; a refusal counts in
    /// RoutesDropped when `count_drops` (a new attempt, not a refill).
    /// Returns the prefixes whose route changed.
    fn reimport(
        &self,
        st: &mut State,
        cfg: &Config,
        vrf: &VrfKey,
        count_drops: bool,
    ) -> Vec<IpNet> {
        let now = crate::clock::ticks();
        let (max, created) = cfg
            .vrfs
            .get(vrf)
            .map_or((0, 0), |r| (r.max_routes, r.times.created));
        let ifs = self.ifs.get().map(|i| i.load_full());
        let others = vrf_route_count(cfg, &BgpRoutes::default(), ifs.as_deref(), vrf);
        let mut refused = 0u32;
        let irt = rt_bytes(cfg, vrf, RtType::Import);
        let active = cfg
            .vrfs
            .get(vrf)
            .is_some_and(|r| r.state == RowState::Active);
        let mut routes = (**self.routes.load()).clone();
        let mut changed = Vec::new();
        if !cfg.vrfs.contains_key(vrf) {
            changed = routes.clear_vrf(vrf);
        } else {
            let v = routes.vrf_mut(vrf);
            // Drop imports that no longer match; keep CE-learned routes.
            let held: Vec<(IpNet, bgp::Rd)> = v
                .routes
                .iter()
                .filter_map(|(p, r)| match r.source {
                    Source::Imported { rd } => Some((p, rd)),
                    Source::Ce { .. } => None,
                })
                .collect();
            for (p, rd) in held {
                let ok = active && irt.iter().any(|rt| st.by_rt.get(rt, &p, &rd).is_some());
                if !ok {
                    v.remove(&p);
                    changed.push(p);
                }
            }
            if active {
                // What the import RTs bring, the lowest RD per prefix.
                let mut want: BTreeMap<IpNet, (bgp::Rd, &VpnPath)> = BTreeMap::new();
                for rt in &irt {
                    for (p, rd, path) in st.by_rt.of_rt(rt) {
                        let e = want.entry(p).or_insert((rd, path));
                        if rd < e.0 {
                            *e = (rd, path);
                        }
                    }
                }
                for (p, (rd, path)) in want {
                    if v.routes.contains_key(&p) {
                        continue;
                    }
                    if max != 0 && others.saturating_add(v.routes.len() as u32) >= max {
                        refused += 1;
                        continue;
                    }
                    if let Some(l) = path.label {
                        self.illegal.check(cfg, vrf, l);
                    }
                    v.insert(p, path.route(rd, now));
                    changed.push(p);
                }
            }
        }
        routes.tidy(vrf);
        self.routes.store(Arc::new(routes));
        if refused > 0 {
            st.starved.insert(vrf.clone());
            if count_drops {
                for _ in 0..refused {
                    self.drops.record(vrf, created);
                }
            }
        } else {
            st.starved.remove(vrf);
        }
        if !changed.is_empty() {
            (self.on_change)(vrf, &changed);
        }
        changed
    }

    /// Refresh the peer view from the speaker's status (counters move
    /// without events; called periodically, never per request).
    /// Runs on an async worker: if the event thread holds the state (a big
    /// batch of routes), skip this round rather than block the worker that
    /// also answers SNMP.
    pub fn refresh_peers(&self, statuses: Vec<bgp::PeerStatus>) {
        let st = match self.st.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        let mut p = PeerStates::default();
        for s in &statuses {
            if let Some(k) = st.keys.get(&s.id) {
                p.peers.insert(k.clone(), peer_state(s));
            }
        }
        self.peers.store(Arc::new(p));
    }

    /// Handle events from the speaker (a batch: one view update for all).
    /// `cfg` is the current configuration.
    ///
    /// VPN routes are applied in two steps: first the route-target index
    /// and, per importing VRF, the list of its (prefix, RD) changes in event
    /// order; then each VRF's list against that VRF's routes (one lookup of
    /// the VRF per batch, not per route). CE routes are applied as they come.
    pub fn on_events(&self, cfg: &Config, events: Vec<BgpEvent>) {
        let mut guard = self.st.lock().unwrap_or_else(|e| e.into_inner());
        let st = &mut *guard;
        st.refresh_imports(cfg);
        let mut routes = (**self.routes.load()).clone();
        let mut touched: BTreeMap<VrfKey, Vec<IpNet>> = BTreeMap::new();
        let mut peers_changed = false;
        let mut peer_view = (**self.peers.load()).clone();
        // Importer index -> (prefix, RD, new path has one of its RTs).
        let mut work: BTreeMap<usize, Vec<(IpNet, bgp::Rd, bool)>> = BTreeMap::new();
        let mut cands: Vec<usize> = Vec::new();
        for ev in events {
            match ev {
                BgpEvent::PeerState {
                    id,
                    status,
                    old,
                    new,
                } => {
                    if let Some(k) = st.keys.get(&id) {
                        tracing::info!(peer = %k.addr(), ?old, ?new, "BGP peer state");
                        peer_view.peers.insert(k.clone(), peer_state(&status));
                        peers_changed = true;
                    }
                }
                BgpEvent::Best {
                    rib: None,
                    key: RouteKey::Vpn(rd, p),
                    best,
                    old,
                } => {
                    // Only learned paths are imported (a local best is one of
                    // this PE's own exports).
                    let best = best.filter(|b| b.from.is_some());
                    if let Some(o) = &old {
                        for rt in route_targets(o) {
                            st.by_rt.remove(rt, &p, &rd);
                        }
                    }
                    if let Some(b) = &best {
                        let vp = VpnPath {
                            attrs: b.attrs.clone(),
                            label: b.labels.first().copied(),
                        };
                        for rt in route_targets(&b.attrs) {
                            st.by_rt.insert(rt, &p, &rd, vp.clone());
                        }
                    }
                    // VRFs that import the new or the old path's RTs.
                    cands.clear();
                    for a in best.iter().map(|b| &*b.attrs).chain(old.as_deref()) {
                        for rt in route_targets(a) {
                            if let Some(v) = st.imports.by_rt.get(rt) {
                                cands.extend_from_slice(v);
                            }
                        }
                    }
                    cands.sort_unstable();
                    cands.dedup();
                    for &i in &cands {
                        let wants = best
                            .as_ref()
                            .is_some_and(|b| st.imports.vrfs[i].wants(&b.attrs));
                        work.entry(i).or_default().push((p, rd, wants));
                    }
                }
                BgpEvent::Best {
                    rib: Some(name),
                    key: RouteKey::Unicast(p),
                    best,
                    ..
                } => {
                    let Some(vrf) = VrfKey::new(name.as_bytes()) else {
                        continue;
                    };
                    self.ce_best(st, cfg, &mut routes, &vrf, p, best);
                    touched.entry(vrf).or_default().push(p);
                }
                BgpEvent::EndOfRib { .. } | BgpEvent::Best { .. } => {}
            }
        }
        let mut starved = Vec::new();
        for (i, list) in work {
            let imp = &st.imports.vrfs[i];
            let (ps, refused) = self.import_into(st, cfg, &mut routes, imp, list);
            if refused {
                starved.push(imp.key.clone());
            }
            if !ps.is_empty() {
                touched.entry(imp.key.clone()).or_default().extend(ps);
            }
        }
        st.starved.extend(starved);
        // VRFs that refused imports and have room again: the waiting paths.
        let refill: Vec<VrfKey> = touched
            .keys()
            .filter(|v| st.starved.contains(*v))
            .filter(|v| {
                let max = cfg.vrfs.get(*v).map_or(0, |r| r.max_routes);
                let ifs = self.ifs.get().map(|i| i.load_full());
                max == 0 || vrf_route_count(cfg, &routes, ifs.as_deref(), v) < max
            })
            .cloned()
            .collect();
        self.routes.store(Arc::new(routes));
        if peers_changed {
            self.peers.store(Arc::new(peer_view));
        }
        // Refilled before anyone is told, so the counts they see (route
        // thresholds) are the batch's final ones.
        for v in refill {
            let ps = self.reimport(st, cfg, &v, false);
            if !ps.is_empty() {
                self.sync_export_prefixes(st, cfg, &v, Some(&ps));
            }
        }
        for (v, ps) in touched {
            (self.on_change)(&v, &ps);
            self.sync_export_prefixes(st, cfg, &v, Some(&ps));
        }
    }

    /// Applies one VRF's share of a batch of VPN best-path changes (in
    /// event order); returns the prefixes whose route changed.
    fn import_into(
        &self,
        st: &State,
        cfg: &Config,
        routes: &mut BgpRoutes,
        imp: &Importer,
        list: Vec<(IpNet, bgp::Rd, bool)>,
    ) -> (Vec<IpNet>, bool) {
        let vrf = &imp.key;
        let mut refused = false;
        // The VRF's other routes (static, connected): MaxRoutes counts all.
        let ifs = self.ifs.get().map(|i| i.load_full());
        let statics = vrf_route_count(cfg, &BgpRoutes::default(), ifs.as_deref(), vrf);
        let now = crate::clock::ticks();
        let v = routes.vrf_mut(vrf);
        let mut changed = Vec::with_capacity(list.len());
        for (p, rd, wants) in list {
            let cur = v.routes.get(&p);
            let is_ce = cur.is_some_and(|c| matches!(c.source, Source::Ce { .. }));
            let holds = matches!(cur, Some(BgpRoute { source: Source::Imported { rd: r }, .. }) if *r == rd);
            if wants && !is_ce {
                // The path as the index holds it now (a later event of the
                // batch may have changed it again: it is then in the list
                // too, and applies after this one).
                let Some(path) = imp.irt.iter().find_map(|rt| st.by_rt.get(rt, &p, &rd)) else {
                    continue;
                };
                if cur.is_none() && imp.max_routes != 0 {
                    // A new route: within the VRF's maximum?
                    if statics + v.routes.len() as u32 >= imp.max_routes {
                        self.drops.record(vrf, imp.created);
                        refused = true;
                        continue;
                    }
                }
                if let Some(l) = path.label {
                    self.illegal.check(cfg, vrf, l);
                }
                v.insert(p, path.route(rd, now));
                changed.push(p);
            } else if holds {
                // Another RD may still offer the prefix.
                v.remove(&p);
                if let Some((ord, other)) = st.import_candidate(&imp.irt, &p) {
                    v.insert(p, other.route(ord, now));
                }
                changed.push(p);
            }
        }
        (changed, refused)
    }

    /// A CE peer's best path for a prefix of its VRF changed.
    fn ce_best(
        &self,
        st: &State,
        cfg: &Config,
        routes: &mut BgpRoutes,
        vrf: &VrfKey,
        p: IpNet,
        best: Option<Path>,
    ) {
        // A local best (one of ours, from: None) means no CE route.
        match best.filter(|b| b.from.is_some()) {
            Some(path) => {
                let peer_as = path
                    .attrs
                    .as_path
                    .iter()
                    .find_map(|s| match s {
                        bgp::AsSegment::Sequence(v) => v.first().copied(),
                        bgp::AsSegment::Set(_) => None,
                    })
                    .unwrap_or(0);
                if routes.get(vrf, &p).is_none() {
                    if let Some(row) = cfg.vrfs.get(vrf) {
                        let ifs = self.ifs.get().map(|i| i.load_full());
                        let n = vrf_route_count(cfg, routes, ifs.as_deref(), vrf);
                        if row.max_routes != 0 && n >= row.max_routes {
                            self.drops.record(vrf, row.times.created);
                            return;
                        }
                    }
                }
                routes.insert(
                    vrf,
                    p,
                    BgpRoute {
                        source: Source::Ce {
                            peer: path.from.unwrap_or(0),
                            peer_as,
                        },
                        label: None,
                        attrs: path.attrs.clone(),
                        updated: crate::clock::ticks(),
                    },
                );
            }
            None => {
                let was_ce = routes
                    .get(vrf, &p)
                    .is_some_and(|r| matches!(r.source, Source::Ce { .. }));
                if !was_ce {
                    return;
                }
                routes.remove(vrf, &p);
                // An imported path for the prefix takes over.
                let now = crate::clock::ticks();
                if let Some(imp) = st.imports.vrfs.iter().find(|i| &i.key == vrf) {
                    if let Some((rd, path)) = st.import_candidate(&imp.irt, &p) {
                        routes.insert(vrf, p, path.route(rd, now));
                    }
                }
            }
        }
    }

    /// Handle one event (see [`Vpn::on_events`]).
    pub fn on_event(&self, cfg: &Config, ev: BgpEvent) {
        self.on_events(cfg, vec![ev])
    }
}

/// The next hop of a route in the prefix's own family: an IPv4 next hop of
/// an IPv6 route (VPNv6 over IPv4, RFC 4659 section 3.2.1.1) is written as
/// the IPv4-mapped IPv6 address, as it was on the wire.
fn family_next_hop(p: &IpNet, nh: Option<IpAddr>) -> Option<IpAddr> {
    match (p, nh) {
        (IpNet::V6(_), Some(IpAddr::V4(a))) => Some(IpAddr::V6(a.to_ipv6_mapped())),
        (IpNet::V4(_), Some(IpAddr::V6(a))) => {
            a.to_ipv4_mapped().map(IpAddr::V4).or(Some(IpAddr::V6(a)))
        }
        (_, nh) => nh,
    }
}

fn peer_state(s: &bgp::PeerStatus) -> PeerState {
    let mut received = [0u32; 4];
    let mut accepted = [0u32; 4];
    let idx = |f: Family| match f {
        Family::Ipv4Unicast => 0,
        Family::Ipv6Unicast => 1,
        Family::Vpnv4 => 2,
        Family::Vpnv6 => 3,
    };
    // Received = what the peer currently advertises: rejected paths count
    // as withdrawn and there is no import policy, so it is the Adj-RIB-In
    // (the speaker's own `prefixes_received` counts announcements instead).
    for (f, n) in &s.prefixes_accepted {
        accepted[idx(*f)] = *n;
        received[idx(*f)] = *n;
    }
    PeerState {
        fsm: s.state as u32,
        established_secs: s.established_secs,
        last_error: s.last_error,
        in_updates: s.in_updates,
        out_updates: s.out_updates,
        in_messages: s.in_messages,
        out_messages: s.out_messages,
        established_transitions: s.established_transitions,
        hold_time: s.negotiated_hold_time,
        keepalive: s.negotiated_keepalive,
        remote_router_id: s.remote_router_id.octets(),
        local: s.local_addr,
        remote: s.remote_addr,
        negotiated_version: s.negotiated_version,
        received,
        accepted,
        in_update_elapsed: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RtRow, Storage, VrfRow};
    use crate::keys::RtKey;
    use crate::rd::RouteDistinguisher;
    use crate::store::Store;
    use std::sync::Mutex;

    fn vrf(n: &str) -> VrfKey {
        VrfKey::new(n.as_bytes()).unwrap()
    }

    fn route(nh: &str) -> BgpRoute {
        BgpRoute {
            source: Source::Imported { rd: [0; 8] },
            label: Some(16),
            attrs: Arc::new(PathAttrs {
                next_hop: Some(nh.parse().unwrap()),
                ..PathAttrs::default()
            }),
            updated: 0,
        }
    }

    /// The route table's walk over BGP routes (next_after, by_key) agrees
    /// with a sorted map of their keys, from every bound a walk can give:
    /// each key, each key cut short, each key with one octet raised or
    /// lowered, and a few odd ones.
    #[test]
    fn walk_bounds_match_a_sorted_key_map() {
        let mut r = BgpRoutes::default();
        let vrfs = [vrf("a"), vrf("b"), vrf("zz"), vrf("abc"), vrf("empty")];
        let ps = [
            "0.0.0.0/0",
            "10.0.0.0/8",
            "10.0.0.0/16",
            "10.0.0.0/24",
            "10.1.0.0/16",
            "192.0.2.0/24",
            "255.255.255.255/32",
            "::/0",
            "2001:db8::/32",
            "2001:db8::/48",
            "2001:db8:1::/48",
            "ffff::/16",
        ];
        let mut want: BTreeMap<RteKey, ()> = BTreeMap::new();
        for (i, v) in vrfs.iter().enumerate().take(4) {
            for (j, p) in ps.iter().enumerate() {
                if (i + j) % 3 == 2 {
                    continue;
                }
                let p: IpNet = p.parse().unwrap();
                let nh = if j % 2 == 0 {
                    "192.0.2.1"
                } else {
                    "2001:db8::1"
                };
                let rt = route(nh);
                want.insert(BgpRoutes::key(v, &p, &rt), ());
                r.insert(v, p, rt);
            }
        }
        r.vrf_mut(&vrfs[4]);
        let bounds = crate::routes::walk_bounds(want.keys().map(|k| k.as_bytes()));
        for b in &bounds {
            for bound in [Bound::Included(&b[..]), Bound::Excluded(&b[..])] {
                let got = r.next_after(bound, None).map(|(k, _)| k);
                // With a bound another source found, the same up to it.
                for u in [&b[..], &[][..], &[255u8; 40][..]] {
                    let capped = r.next_after(bound, Some(u)).map(|(k, _)| k);
                    if got.as_ref().is_some_and(|k| k.as_bytes() <= u) {
                        assert_eq!(capped, got, "bound {bound:?} upto {u:?}");
                    } else {
                        // Past the cap: nothing, or the right answer.
                        assert!(
                            capped.is_none() || capped == got,
                            "bound {bound:?} upto {u:?}: {capped:?}"
                        );
                    }
                }
                let exp = want
                    .range::<[u8], _>((bound, Bound::Unbounded))
                    .next()
                    .map(|(k, _)| k.clone());
                assert_eq!(got, exp, "bound {bound:?}");
            }
            assert_eq!(
                r.by_key(b).is_some(),
                want.keys().any(|k| k.as_bytes() == &b[..]),
                "key {b:?}"
            );
        }
        assert_eq!(
            r.next_after(Bound::Unbounded, None).map(|(k, _)| k),
            want.keys().next().cloned()
        );
    }

    fn rt(s: &str) -> RouteDistinguisher {
        RouteDistinguisher::parse_text(s).unwrap()
    }

    /// A VRF importing `irt` (an active row with an RD and one import RT).
    fn vrf_changes(name: &str, irt: &str, max_routes: u32) -> Vec<Change> {
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        row.rd = Some(rt("65001:1"));
        row.max_routes = max_routes;
        let mut r = RtRow::new(Storage::Volatile);
        r.rt = Some(rt(irt));
        r.state = RowState::Active;
        vec![
            Change::PutVrf(vrf(name), row),
            Change::PutRt(RtKey::new(&vrf(name), 1, RtType::Import), r),
        ]
    }

    type Seen = Arc<Mutex<Vec<(VrfKey, Vec<IpNet>)>>>;

    fn glue() -> (Vpn, Seen) {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let v = Vpn::new(
            tx,
            Default::default(),
            Default::default(),
            Default::default(),
            Default::default(),
            Box::new(move |v, ps| s.lock().unwrap().push((v.clone(), ps.to_vec()))),
        );
        (v, seen)
    }

    fn path(rts: &[&str], label: u32, nh: &str) -> Path {
        Path {
            attrs: Arc::new(PathAttrs {
                next_hop: Some(nh.parse().unwrap()),
                ext_communities: rts.iter().map(|r| rt(r).to_rt_bytes()).collect(),
                ..PathAttrs::default()
            }),
            labels: bgp::Labels::one(label),
            from: Some(1),
        }
    }

    fn best(rd: &str, p: &str, best: Option<&Path>, old: Option<&Path>) -> BgpEvent {
        BgpEvent::Best {
            rib: None,
            key: RouteKey::Vpn(rt(rd).to_rd_bytes(), p.parse().unwrap()),
            best: best.cloned(),
            old: old.map(|o| o.attrs.clone()),
        }
    }

    /// (prefix, RD as text, label) of a VRF's BGP routes.
    fn held(v: &Vpn, name: &str) -> Vec<(String, String, Option<u32>)> {
        let r = v.routes.load();
        r.of(&vrf(name))
            .map(|m| {
                m.iter()
                    .map(|(p, r)| match r.source {
                        Source::Imported { rd } => (
                            p.to_string(),
                            RouteDistinguisher::from_rd_bytes(&rd).unwrap().to_string(),
                            r.label,
                        ),
                        Source::Ce { .. } => (p.to_string(), "ce".into(), r.label),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Routes blue refused at its maximum (mplsL3VpnVrfPerfRoutesDropped).
    fn blue_drops(v: &Vpn, cfg: &Config) -> u32 {
        let created = cfg.vrfs.get(&vrf("blue")).unwrap().times.created;
        v.drops.get(&vrf("blue"), created)
    }

    /// Import by route target, another RD taking over a withdrawn prefix
    /// (also within one batch), a path losing the VRF's RT, route limits,
    /// and a VRF whose import RT changes.
    #[test]
    fn imports_follow_route_targets_and_other_rds() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut ch = vrf_changes("red", "65000:1", 0);
        ch.extend(vrf_changes("blue", "65000:2", 2));
        store.commit(1, ch).unwrap();
        let cfg = store.snapshot();
        let (v, seen) = glue();
        let a = path(&["65000:1"], 100, "10.9.0.1");
        let b = path(&["65000:1", "65000:2"], 200, "10.9.0.2");
        v.on_events(
            &cfg,
            vec![
                best("65000:10", "10.1.0.0/16", Some(&a), None),
                best("65000:20", "10.1.0.0/16", Some(&b), None),
                best("65000:20", "10.2.0.0/16", Some(&b), None),
                best("65000:20", "10.3.0.0/16", Some(&b), None),
            ],
        );
        // The last event for a prefix wins; blue takes two (its maximum).
        assert_eq!(
            held(&v, "red"),
            vec![
                ("10.1.0.0/16".into(), "65000:20".into(), Some(200)),
                ("10.2.0.0/16".into(), "65000:20".into(), Some(200)),
                ("10.3.0.0/16".into(), "65000:20".into(), Some(200)),
            ]
        );
        assert_eq!(
            held(&v, "blue"),
            vec![
                ("10.1.0.0/16".into(), "65000:20".into(), Some(200)),
                ("10.2.0.0/16".into(), "65000:20".into(), Some(200)),
            ]
        );
        assert_eq!(blue_drops(&v, &cfg), 1);
        // RD 65000:20 withdraws 10.1/16: red falls back to RD 65000:10.
        seen.lock().unwrap().clear();
        v.on_events(&cfg, vec![best("65000:20", "10.1.0.0/16", None, Some(&b))]);
        assert_eq!(
            held(&v, "red")[0],
            ("10.1.0.0/16".into(), "65000:10".into(), Some(100))
        );
        // blue has room again: the path it refused (10.3/16) comes in, and
        // is not counted as dropped a second time.
        assert_eq!(
            held(&v, "blue"),
            vec![
                ("10.2.0.0/16".into(), "65000:20".into(), Some(200)),
                ("10.3.0.0/16".into(), "65000:20".into(), Some(200)),
            ]
        );
        assert_eq!(blue_drops(&v, &cfg), 1);
        let mut s = seen.lock().unwrap().clone();
        s.sort();
        let mut exp = vec![
            (vrf("blue"), vec!["10.1.0.0/16".parse().unwrap()]),
            (vrf("blue"), vec!["10.3.0.0/16".parse().unwrap()]),
            (vrf("red"), vec!["10.1.0.0/16".parse().unwrap()]),
        ];
        exp.sort();
        assert_eq!(s, exp);
        // 10.2/16 loses red's RT (same RD, new attributes) and, in the same
        // batch, is offered again by RD 65000:30 with it.
        let c = path(&["65000:2"], 300, "10.9.0.3");
        let d = path(&["65000:1"], 400, "10.9.0.4");
        v.on_events(
            &cfg,
            vec![
                best("65000:20", "10.2.0.0/16", Some(&c), Some(&b)),
                best("65000:30", "10.2.0.0/16", Some(&d), None),
            ],
        );
        assert_eq!(
            held(&v, "red")[1],
            ("10.2.0.0/16".into(), "65000:30".into(), Some(400))
        );
        assert_eq!(
            held(&v, "blue"),
            vec![
                ("10.2.0.0/16".into(), "65000:20".into(), Some(300)),
                ("10.3.0.0/16".into(), "65000:20".into(), Some(200)),
            ]
        );
        // A local best (from: None) is never imported, and undoes nothing
        // it was not given.
        let mut mine = path(&["65000:1"], 500, "10.9.0.5");
        mine.from = None;
        v.on_events(
            &cfg,
            vec![best("65000:40", "10.4.0.0/16", Some(&mine), None)],
        );
        assert_eq!(held(&v, "red").len(), 3);
        // red now imports 65000:2 instead: exactly blue's paths come in.
        let mut r = RtRow::new(Storage::Volatile);
        r.rt = Some(rt("65000:2"));
        r.state = RowState::Active;
        store
            .commit(
                1,
                vec![Change::PutRt(RtKey::new(&vrf("red"), 1, RtType::Import), r)],
            )
            .unwrap();
        let cfg = store.snapshot();
        v.on_commit(
            &cfg,
            &[Change::PutRt(
                RtKey::new(&vrf("red"), 1, RtType::Import),
                RtRow::new(Storage::Volatile),
            )],
        );
        assert_eq!(
            held(&v, "red"),
            vec![
                ("10.2.0.0/16".into(), "65000:20".into(), Some(300)),
                ("10.3.0.0/16".into(), "65000:20".into(), Some(200)),
            ]
        );
        assert_eq!(v.routes.load().counters(&vrf("red")), (6, 4));
    }

    /// Connected routes: exported (RD, export RTs, the VRF's label, ORIGIN
    /// incomplete, next hop self) and offered to nothing else; address and
    /// link changes and binding changes re-evaluate exactly the prefixes
    /// whose connected route changed, and the reconciler hears of them.
    #[test]
    fn connected_routes_are_exported_and_follow_the_interfaces() {
        use crate::config::IfConfRow;
        use crate::ifaces::{IfAddr, IfInfo, OperState};
        use crate::keys::IfConfKey;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let red = vrf("red");
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        row.rd = Some(rt("65000:1"));
        let mut ert = RtRow::new(Storage::Volatile);
        ert.rt = Some(rt("65000:100"));
        ert.state = RowState::Active;
        let mut b = IfConfRow::new(Storage::Volatile);
        b.state = RowState::Active;
        let blackhole = |p: &str| {
            let k = RteKey::new(&red, p.parse().unwrap(), &[0, 0], None);
            let r = crate::routes::RteRow {
                state: RowState::Active,
                rtype: crate::routes::RteType::Blackhole,
                ..Default::default()
            };
            Change::PutRte(k, r)
        };
        store
            .commit(
                1,
                vec![
                    Change::PutVrf(red.clone(), row),
                    Change::PutRt(RtKey::new(&red, 1, RtType::Export), ert),
                    Change::PutIfConf(IfConfKey::new(&red, 7), b),
                    // the same prefix as a connected route, and another
                    blackhole("10.77.1.0/24"),
                    blackhole("10.77.2.0/24"),
                ],
            )
            .unwrap();
        let cfg = store.snapshot();
        let label = cfg.label(&label_owner_vrf(&red)).unwrap();
        let link = |oper| IfInfo::fixture(7, "ce0", oper);
        let addr = |s: &str| IfAddr {
            addr: s.parse().unwrap(),
            peer: None,
            prefix_route: true,
            since: 0,
        };
        let view = |oper, addrs: &[&str]| {
            Arc::new(
                Interfaces::from_list(vec![link(oper)])
                    .with_addrs(7, addrs.iter().map(|a| addr(a)).collect()),
            )
        };
        let ifs = Arc::new(ArcSwap::new(view(
            OperState::Up,
            &["10.77.1.1/24", "2001:db8:77::1/64", "fe80::1/64"],
        )));

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let v = Vpn::new(
            tx,
            Default::default(),
            Default::default(),
            Default::default(),
            Default::default(),
            Box::new(move |v: &VrfKey, ps: &[IpNet]| {
                s.lock()
                    .unwrap()
                    .push((v.name_str().to_string(), ps.to_vec()))
            }),
        );
        v.set_interfaces(ifs.clone());
        // Commands as text: "+RD:prefix label RTs origin nh" / "-RD:prefix".
        let mut cmds = move || {
            let mut out = Vec::new();
            while let Ok(c) = rx.try_recv() {
                match c {
                    BgpCommand::Originate { rib, routes } => {
                        for (k, p) in routes {
                            let RouteKey::Vpn(rd, pfx) = k else { continue };
                            let rts = &p.attrs.ext_communities;
                            out.push(format!(
                                "+{rib:?} {}:{pfx} {:?} {rts:?} origin {} nh {:?}",
                                RouteDistinguisher::from_rd_bytes(&rd).unwrap(),
                                p.labels.as_slice(),
                                p.attrs.origin,
                                p.attrs.next_hop
                            ));
                        }
                    }
                    BgpCommand::Withdraw { rib, keys } => {
                        for k in keys {
                            if let RouteKey::Vpn(rd, pfx) = k {
                                out.push(format!(
                                    "-{rib:?} {}:{pfx}",
                                    RouteDistinguisher::from_rd_bytes(&rd).unwrap()
                                ));
                            }
                        }
                    }
                    _ => {}
                }
            }
            out.sort();
            out
        };
        let hints = |want: &[&str]| {
            let got = std::mem::take(&mut *seen.lock().unwrap());
            let want: Vec<(String, Vec<IpNet>)> = if want.is_empty() {
                vec![]
            } else {
                vec![(
                    "red".into(),
                    want.iter().map(|p| p.parse().unwrap()).collect(),
                )]
            };
            assert_eq!(got, want);
        };
        let exp = |p: &str| {
            format!(
                "+None 65000:1:{p} [{label}] {:?} origin 2 nh None",
                vec![rt("65000:100").to_rt_bytes()]
            )
        };

        v.sync_all(&cfg);
        assert_eq!(
            cmds(),
            vec![
                exp("10.77.1.0/24"),
                exp("10.77.2.0/24"),
                exp("2001:db8:77::/64")
            ]
        );
        hints(&["10.77.1.0/24", "2001:db8:77::/64"]);

        // The IPv6 address goes: that prefix is withdrawn, nothing else.
        ifs.store(view(OperState::Up, &["10.77.1.1/24", "fe80::1/64"]));
        v.on_interfaces(&cfg, &[7].into());
        assert_eq!(cmds(), vec!["-None 65000:1:2001:db8:77::/64".to_string()]);
        hints(&["2001:db8:77::/64"]);

        // Link down: 10.77.1.0/24 is no longer connected, but the static
        // row exports the same route: no UPDATE, only the FIB hint.
        ifs.store(view(OperState::Down, &["10.77.1.1/24"]));
        v.on_interfaces(&cfg, &[7].into());
        assert!(cmds().is_empty());
        hints(&["10.77.1.0/24"]);

        // Up again with another address; an unrelated link changes nothing.
        ifs.store(view(OperState::Up, &["10.77.1.1/24", "10.77.3.1/24"]));
        v.on_interfaces(&cfg, &[7, 99].into());
        assert_eq!(cmds(), vec![exp("10.77.3.0/24")]);
        hints(&["10.77.1.0/24", "10.77.3.0/24"]);
        v.on_interfaces(&cfg, &[99].into());
        v.on_interfaces_all(&cfg);
        assert!(cmds().is_empty());
        hints(&[]);

        // The binding goes: its connected routes with it.
        let (cfg, eff) = store
            .commit(2, vec![Change::DelIfConf(IfConfKey::new(&red, 7))])
            .unwrap();
        v.on_commit(&cfg, &eff);
        assert_eq!(cmds(), vec!["-None 65000:1:10.77.3.0/24".to_string()]);
        hints(&["10.77.1.0/24", "10.77.3.0/24"]);
    }

    /// A CE-learned route of a VRF in per-prefix mode holds its prefix's
    /// label; once the hold is committed the route is exported with that
    /// label, and the hold is dropped when the CE withdraws it.
    #[test]
    fn ce_routes_hold_their_per_prefix_label() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let red = vrf("red");
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        row.rd = Some(rt("65001:7"));
        row.label_mode = LabelMode::PerPrefix;
        let mut ert = RtRow::new(Storage::Volatile);
        ert.rt = Some(rt("65000:9"));
        ert.state = RowState::Active;
        store
            .commit(
                1,
                vec![
                    Change::PutVrf(red.clone(), row),
                    Change::PutRt(RtKey::new(&red, 1, RtType::Export), ert),
                ],
            )
            .unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let v = Vpn::new(
            tx,
            Default::default(),
            Default::default(),
            Default::default(),
            Default::default(),
            Box::new(|_, _| {}),
        );
        let holds = Arc::new(Mutex::new(Vec::new()));
        let h = holds.clone();
        v.set_label_holder(Box::new(move |l| h.lock().unwrap().extend(l)));
        let p: IpNet = "172.16.5.0/24".parse().unwrap();
        let owner = label_owner_prefix(&red, &p);
        let ce = |best: Option<Path>| BgpEvent::Best {
            rib: Some("red".into()),
            key: RouteKey::Unicast(p),
            best,
            old: None,
        };
        let mut from_ce = path(&[], 0, "192.0.2.66");
        from_ce.labels = bgp::Labels::new();
        v.on_events(&store.snapshot(), vec![ce(Some(from_ce))]);
        assert_eq!(*holds.lock().unwrap(), vec![(owner.clone(), true)]);
        let vpn_commands = |rx: &mut tokio::sync::mpsc::UnboundedReceiver<BgpCommand>| {
            let mut out = Vec::new();
            while let Ok(c) = rx.try_recv() {
                match c {
                    BgpCommand::Originate { rib: None, routes } => {
                        out.extend(routes.into_iter().map(|(k, p)| (k, Some(p.labels[0]))))
                    }
                    BgpCommand::Withdraw { rib: None, keys } => {
                        out.extend(keys.into_iter().map(|k| (k, None)))
                    }
                    _ => {}
                }
            }
            out
        };
        // No label yet: nothing exported.
        assert_eq!(vpn_commands(&mut rx), vec![]);
        // The holder commits the hold: the label comes back with the commit.
        let list = std::mem::take(&mut *holds.lock().unwrap());
        let (cfg, eff) = store.commit(2, vec![Change::HoldLabels(list)]).unwrap();
        let label = cfg.label(&owner).expect("allocated for the hold");
        v.on_commit(&cfg, &eff);
        let key = RouteKey::Vpn(rt("65001:7").to_rd_bytes(), p);
        assert_eq!(vpn_commands(&mut rx), vec![(key, Some(label))]);
        // The CE withdraws: the VPN route goes and the hold is dropped.
        v.on_events(&cfg, vec![ce(None)]);
        assert_eq!(vpn_commands(&mut rx), vec![(key, None)]);
        let list = std::mem::take(&mut *holds.lock().unwrap());
        assert_eq!(list, vec![(owner.clone(), false)]);
        let (cfg, _) = store.commit(3, vec![Change::HoldLabels(list)]).unwrap();
        assert_eq!(cfg.label(&owner), None);
    }
}
