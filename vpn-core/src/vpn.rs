//! BGP/MPLS IP VPN glue (RFC 4364): turns committed configuration into what
//! the BGP speaker runs and originates, and what it learns into VRF routes.
//!
//! - Peers: each active peer row becomes a speaker peer (PE-PE peers use the
//!   VPN RIB, CE peers their VRF's RIB).
//! - Export: every best route of a VRF with an RD and export route targets
//!   is originated as a VPN route (RD:prefix, the export RTs, the VRF's
//!   label per its mode, next hop self).
//! - Import: a VPN route whose RTs meet a VRF's import RTs becomes a route of
//!   that VRF (next hop the remote PE, its label) and is advertised to the
//!   VRF's CE peers; routes a CE peer sends become routes of its VRF.
//!
//! Imported and CE-learned routes live in [`BgpRoutes`], published for the
//! reconciler (FIB) and the route table (read-only rows, Proto bgp).

use crate::bgpcfg::{
    PeerKey, PeerRow, PeerState, PeerStates, FAM_IPV4_UNICAST, FAM_IPV6_UNICAST, FAM_VPNV4,
    FAM_VPNV6,
};
use crate::config::{
    label_owner_next_hop, label_owner_prefix, label_owner_vrf, Config, LabelMode, RowState,
};
use crate::keys::{RtType, VrfKey};
use crate::reconcile::best_route;
use crate::routes::RteKey;
use crate::Change;
use arc_swap::ArcSwap;
use bgp::{
    BgpCommand, BgpEvent, Family, Path, PathAttrs, PeerConfig, PeerId, RouteKey, SpeakerConfig,
};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

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

/// BGP-learned routes of every VRF (one per prefix: the best), also indexed
/// by their route-table key so the table is walked in index order.
#[derive(Clone, Debug, Default)]
pub struct BgpRoutes {
    vrfs: imbl::OrdMap<VrfKey, imbl::OrdMap<IpNet, BgpRoute>>,
    pub index: imbl::OrdMap<RteKey, BgpRoute>,
    /// Routes added to / removed from each VRF (Perf RoutesAdded/Deleted).
    counters: imbl::OrdMap<VrfKey, (u32, u32)>,
}

impl BgpRoutes {
    pub fn of(&self, vrf: &VrfKey) -> Option<&imbl::OrdMap<IpNet, BgpRoute>> {
        self.vrfs.get(vrf)
    }
    pub fn count(&self, vrf: &VrfKey) -> u32 {
        self.vrfs.get(vrf).map_or(0, |m| m.len() as u32)
    }
    pub fn get(&self, vrf: &VrfKey, p: &IpNet) -> Option<&BgpRoute> {
        self.vrfs.get(vrf)?.get(p)
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
        self.counters.get(vrf).copied().unwrap_or((0, 0))
    }
    pub fn insert(&mut self, vrf: &VrfKey, p: IpNet, r: BgpRoute) {
        if self.replace(vrf, &p).is_none() {
            let (a, d) = self.counters(vrf);
            self.counters.insert(vrf.clone(), (a.wrapping_add(1), d));
        }
        self.index.insert(Self::key(vrf, &p, &r), r.clone());
        // In place: the inner map's nodes are copied only where shared.
        match self.vrfs.get_mut(vrf) {
            Some(m) => {
                m.insert(p, r);
            }
            None => {
                self.vrfs.insert(vrf.clone(), imbl::OrdMap::unit(p, r));
            }
        }
    }
    pub fn remove(&mut self, vrf: &VrfKey, p: &IpNet) -> Option<BgpRoute> {
        let old = self.replace(vrf, p)?;
        let (a, d) = self.counters(vrf);
        self.counters.insert(vrf.clone(), (a, d.wrapping_add(1)));
        Some(old)
    }
    /// Take a route out without counting it deleted (it is being replaced).
    fn replace(&mut self, vrf: &VrfKey, p: &IpNet) -> Option<BgpRoute> {
        let m = self.vrfs.get_mut(vrf)?;
        let old = m.remove(p)?;
        if m.is_empty() {
            self.vrfs.remove(vrf);
        }
        self.index.remove(&Self::key(vrf, p, &old));
        Some(old)
    }

    /// Drop every route of a VRF (it was destroyed); returns their prefixes.
    pub fn clear_vrf(&mut self, vrf: &VrfKey) -> Vec<IpNet> {
        let ps: Vec<IpNet> = self
            .vrfs
            .get(vrf)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        for p in &ps {
            self.replace(vrf, p);
        }
        self.counters.remove(vrf);
        ps
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
    /// The VPN RIB as the speaker reports it (best per RD:prefix).
    /// Keyed prefix first, so every RD's route to one prefix is one range.
    vpn: BTreeMap<(IpNet, bgp::Rd), Path>,
    /// Route target -> VRFs importing it, as of configuration `import_gen`.
    importers: BTreeMap<[u8; 8], Vec<VrfKey>>,
    import_gen: Option<u64>,
}

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
}

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
        }
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
                Change::Label(o, _) => match (o.first(), crate::config::label_owner_vrf_key(o)) {
                    (Some(b'P'), Some(v)) => {
                        // The owner holds the prefix's route-key start.
                        let p = cfg
                            .routes
                            .range::<_, [u8]>((
                                std::ops::Bound::Included(&o[1..]),
                                std::ops::Bound::Unbounded,
                            ))
                            .next()
                            .filter(|(k, _)| k.as_bytes().starts_with(&o[1..]))
                            .map(|(k, _)| k.index().prefix);
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
            self.reimport(&st, cfg, v);
        }
        for v in &vrfs {
            self.sync_export(&mut st, cfg, v);
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
        p: &IpNet,
    ) -> (Option<(RouteKey, Path)>, Option<Path>) {
        let Some(row) = cfg
            .vrfs
            .get(vrf)
            .filter(|r| r.state == RowState::Active && r.admin == crate::AdminStatus::Up)
        else {
            return (None, None);
        };
        let stat = best_route(cfg, vrf, p);
        let learned = routes.get(vrf, p);
        let (nh, attrs) = match (stat, learned) {
            (Some((k, _)), _) => (
                k.index().next_hop,
                PathAttrs {
                    origin: 2,
                    ..PathAttrs::default()
                },
            ),
            (None, Some(b)) => (b.next_hop(p), (*b.attrs).clone()),
            (None, None) => return (None, None),
        };
        // CE peers get the VRF's static and imported routes from us; routes
        // a CE sent are in the speaker's VRF RIB already (it advertises them
        // to the VRF's other CEs itself), and offering them back as ours
        // would keep them alive after the CE withdraws them.
        let from_ce =
            stat.is_none() && learned.is_some_and(|b| matches!(b.source, Source::Ce { .. }));
        let ce = (ce_peers && !from_ce).then(|| Path {
            attrs: Arc::new(PathAttrs {
                next_hop: None,
                ..attrs.clone()
            }),
            labels: vec![],
            from: None,
        });
        // VPN export: local routes (static, CE-learned); imported ones belong
        // to other PEs.
        if stat.is_none() && learned.is_some_and(|b| matches!(b.source, Source::Imported { .. })) {
            return (None, ce);
        }
        let (Some(rd), false) = (row.rd, ert.is_empty()) else {
            return (None, ce);
        };
        let Some(label) = export_label(cfg, vrf, p, nh) else {
            return (None, ce);
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
                    labels: vec![label],
                    from: None,
                },
            )),
            ce,
        )
    }

    /// Recompute what a VRF exports and offers its CE peers: every prefix
    /// (`only` None: after a change to the VRF itself), or some prefixes.
    fn sync_export(&self, st: &mut State, cfg: &Config, vrf: &VrfKey) {
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
        {
            return;
        }
        let prefixes: BTreeSet<IpNet> = match only {
            Some(ps) => ps.iter().copied().collect(),
            None => {
                let mut ps: BTreeSet<IpNet> = cfg
                    .routes_of(vrf)
                    .filter(|(_, r)| r.state == RowState::Active)
                    .map(|(k, _)| k.index().prefix)
                    .collect();
                if let Some(m) = routes.of(vrf) {
                    ps.extend(m.keys().copied());
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
                ps
            }
        };
        let mut originate = Vec::new();
        let mut withdraw = Vec::new();
        let mut ce_originate = Vec::new();
        let mut ce_withdraw = Vec::new();
        let exported = st.exported.entry(vrf.clone()).or_default();
        let offered = st.ce_offered.entry(vrf.clone()).or_default();
        for p in prefixes {
            let (vpn, ce) = Self::want_for(cfg, &routes, vrf, &ert, ce_peers, &p);
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

    /// Re-evaluate which VPN routes a VRF imports (its RTs or row changed).
    fn reimport(&self, st: &State, cfg: &Config, vrf: &VrfKey) {
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
            // Drop imports that no longer match; keep CE-learned routes.
            let held: Vec<(IpNet, BgpRoute)> = routes
                .of(vrf)
                .map(|m| m.iter().map(|(p, r)| (*p, r.clone())).collect())
                .unwrap_or_default();
            for (p, r) in &held {
                if let Source::Imported { rd } = r.source {
                    let ok = active
                        && st.vpn.get(&(*p, rd)).is_some_and(|path| {
                            path.attrs.ext_communities.iter().any(|c| irt.contains(c))
                        });
                    if !ok {
                        routes.remove(vrf, p);
                        changed.push(*p);
                    }
                }
            }
            if active {
                for ((p, rd), path) in &st.vpn {
                    if routes.get(vrf, p).is_some() {
                        continue;
                    }
                    if path.attrs.ext_communities.iter().any(|c| irt.contains(c)) {
                        routes.insert(vrf, *p, imported(*rd, path));
                        changed.push(*p);
                    }
                }
            }
        }
        self.routes.store(Arc::new(routes));
        if !changed.is_empty() {
            (self.on_change)(vrf, &changed);
        }
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
    pub fn on_events(&self, cfg: &Config, events: Vec<BgpEvent>) {
        let mut st = self.st.lock().unwrap_or_else(|e| e.into_inner());
        // Which VRFs import each route target (rebuilt when the
        // configuration changed).
        if st.import_gen != Some(cfg.generation) {
            let mut idx: BTreeMap<[u8; 8], Vec<VrfKey>> = BTreeMap::new();
            for (vrf, r) in cfg.vrfs.iter() {
                if r.state == RowState::Active {
                    for rt in rt_bytes(cfg, vrf, RtType::Import) {
                        idx.entry(rt).or_default().push(vrf.clone());
                    }
                }
            }
            st.importers = idx;
            st.import_gen = Some(cfg.generation);
        }
        let mut routes = (**self.routes.load()).clone();
        let mut touched: BTreeMap<VrfKey, Vec<IpNet>> = BTreeMap::new();
        let mut peers_changed = false;
        let mut peer_view = (**self.peers.load()).clone();
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
                } => {
                    let old = match &best {
                        Some(path) => st.vpn.insert((p, rd), path.clone()),
                        None => st.vpn.remove(&(p, rd)),
                    };
                    // VRFs that import the new or the old path's RTs.
                    let mut cands: BTreeSet<VrfKey> = BTreeSet::new();
                    for path in best.iter().chain(old.iter()) {
                        for c in &path.attrs.ext_communities {
                            if let Some(v) = st.importers.get(c) {
                                cands.extend(v.iter().cloned());
                            }
                        }
                    }
                    for vrf in cands {
                        let Some(row) = cfg.vrfs.get(&vrf) else {
                            continue;
                        };
                        let irt = rt_bytes(cfg, &vrf, RtType::Import);
                        let wants = best.as_ref().is_some_and(|b| {
                            b.attrs.ext_communities.iter().any(|c| irt.contains(c))
                        });
                        let cur = routes.get(&vrf, &p);
                        let is_ce = cur.is_some_and(|c| matches!(c.source, Source::Ce { .. }));
                        let holds = matches!(cur, Some(BgpRoute { source: Source::Imported { rd: r }, .. }) if *r == rd);
                        if wants && !is_ce {
                            let path = best.as_ref().expect("wants implies a path");
                            if cur.is_none() {
                                // A new route: within the VRF's maximum?
                                let n = cfg.active_route_count(&vrf) + routes.count(&vrf);
                                if row.max_routes != 0 && n >= row.max_routes {
                                    self.drops.record(&vrf, row.times.created);
                                    continue;
                                }
                            }
                            for l in &path.labels {
                                self.illegal.check(cfg, &vrf, *l);
                            }
                            routes.insert(&vrf, p, imported(rd, path));
                            touched.entry(vrf).or_default().push(p);
                        } else if holds {
                            // Another RD may still offer the prefix.
                            routes.remove(&vrf, &p);
                            if let Some(((_, ord), other)) = st
                                .vpn
                                .range((p, [0u8; 8])..=(p, [0xffu8; 8]))
                                .find(|(_, path)| {
                                    path.attrs.ext_communities.iter().any(|c| irt.contains(c))
                                })
                            {
                                routes.insert(&vrf, p, imported(*ord, other));
                            }
                            touched.entry(vrf).or_default().push(p);
                        }
                    }
                }
                BgpEvent::Best {
                    rib: Some(name),
                    key: RouteKey::Unicast(p),
                    best,
                } => {
                    let Some(vrf) = VrfKey::new(name.as_bytes()) else {
                        continue;
                    };
                    // A local best (one of ours, from: None) means no CE route.
                    let best = best.filter(|b| b.from.is_some());
                    match best {
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
                            if routes.get(&vrf, &p).is_none() {
                                if let Some(row) = cfg.vrfs.get(&vrf) {
                                    let n = cfg.active_route_count(&vrf) + routes.count(&vrf);
                                    if row.max_routes != 0 && n >= row.max_routes {
                                        self.drops.record(&vrf, row.times.created);
                                        continue;
                                    }
                                }
                            }
                            routes.insert(
                                &vrf,
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
                            routes.remove(&vrf, &p);
                        }
                    }
                    touched.entry(vrf).or_default().push(p);
                }
                BgpEvent::LabelReceived { .. }
                | BgpEvent::EndOfRib { .. }
                | BgpEvent::Best { .. } => {}
            }
        }
        self.routes.store(Arc::new(routes));
        if peers_changed {
            self.peers.store(Arc::new(peer_view));
        }
        for (v, ps) in touched {
            (self.on_change)(&v, &ps);
            self.sync_export_prefixes(&mut st, cfg, &v, Some(&ps));
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

fn imported(rd: bgp::Rd, path: &Path) -> BgpRoute {
    BgpRoute {
        source: Source::Imported { rd },
        label: path.labels.first().copied(),
        attrs: path.attrs.clone(),
        updated: crate::clock::ticks(),
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
