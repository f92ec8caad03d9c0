//! The speaker's state, without I/O: peers and their sessions as the RIBs
//! see them, the RIBs, attribute interning, best path, the Adj-RIB-Out
//! queues, and the events for vpn-core. The speaker task (speaker.rs) drives
//! it from commands and session messages; tests drive it directly.

use crate::packet::nlri::{FamilySet, Nlri};
use crate::packet::update::{self, Update};
use crate::packet::SessionCtx;
use crate::rib::attrs::AttrStore;
use crate::rib::best::{self, Source};
use crate::rib::table::{Change, PathRef, Table, TableKey};
use crate::rib::{with_table, AnyKey, Rib};
use crate::status::PeerShared;
use crate::{
    AsSegment, BgpEvent, Family, Path, PathAttrs, PeerConfig, PeerId, RouteKey, SpeakerConfig,
};
use hashbrown::{HashMap, HashSet};
use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// What the speaker knows of an Established session.
#[derive(Clone, Debug)]
pub(crate) struct SessionInfo {
    pub gen: u64,
    pub ctx: SessionCtx,
    pub local_addr: SocketAddr,
    pub remote_addr: SocketAddr,
    pub remote_id: Ipv4Addr,
    /// Negotiated hold time and keepalive interval (seconds).
    pub hold_time: u16,
    pub keepalive: u16,
    /// The peer's graceful restart capability: restart time and the families
    /// it preserves (RFC 4724 section 3).
    pub peer_gr: Option<(u16, FamilySet)>,
}

struct Session {
    info: SessionInfo,
    /// Keys whose best path changed since the last flush (Adj-RIB-Out to
    /// be brought up to date).
    pending: HashSet<AnyKey>,
    /// Families to send in full, then End-of-RIB (session start, refresh).
    dump: Vec<Family>,
}

struct Peer {
    cfg: PeerConfig,
    shared: Arc<PeerShared>,
    session: Option<Session>,
    /// Set while the peer restarts (RFC 4724 helper): its paths are stale.
    restarting: bool,
    /// The identity of the last session, for best path of stale paths.
    last_source: Source,
}

/// Everything the speaker holds. Peers are indexed by a 16-bit slot (the
/// `src` of their paths); slot 0 is this speaker (local paths).
pub(crate) struct Core {
    pub speaker: SpeakerConfig,
    attrs: AttrStore,
    ribs: HashMap<Option<String>, Rib>,
    peers: Vec<Option<Peer>>,
    slots: HashMap<PeerId, u16>,
    /// Events for vpn-core, drained by the task after each call.
    pub events: Vec<BgpEvent>,
}

fn source_of(peers: &[Option<Peer>], src: u16) -> Source {
    if src == 0 {
        return Source::Local;
    }
    match peers.get(src as usize).and_then(|p| p.as_ref()) {
        Some(p) => p.last_source,
        None => Source::Ibgp {
            router_id: Ipv4Addr::BROADCAST,
            addr: IpAddr::V4(Ipv4Addr::BROADCAST),
        },
    }
}

fn better<'a>(
    attrs: &'a AttrStore,
    peers: &'a [Option<Peer>],
) -> impl Fn(&PathRef, &PathRef) -> bool + 'a {
    move |a, b| {
        best::compare(
            attrs.get(a.attr),
            source_of(peers, a.src),
            attrs.get(b.attr),
            source_of(peers, b.src),
        ) == Ordering::Greater
    }
}

fn family_of(k: &AnyKey) -> Family {
    match k {
        AnyKey::V4(_) => Family::Ipv4Unicast,
        AnyKey::V6(_) => Family::Ipv6Unicast,
        AnyKey::Vpn4(_) => Family::Vpnv4,
        AnyKey::Vpn6(_) => Family::Vpnv6,
    }
}

fn to_route(k: &AnyKey) -> RouteKey {
    match *k {
        AnyKey::V4(k) => k.to_route(),
        AnyKey::V6(k) => k.to_route(),
        AnyKey::Vpn4(k) => k.to_route(),
        AnyKey::Vpn6(k) => k.to_route(),
    }
}

impl Peer {
    fn is_ebgp(&self, local_as: u32) -> bool {
        self.cfg.remote_as != local_as
    }

    /// Whether `best` goes to this peer (RFC 4271 section 9.2, RFC 4456
    /// section 6): never back to its source; iBGP-learned paths to internal
    /// peers only when one side is a route reflector client.
    fn exports(
        &self,
        my_slot: u16,
        best: Option<&PathRef>,
        peers: &[Option<Peer>],
        local_as: u32,
    ) -> bool {
        let Some(best) = best else { return false };
        if best.src == my_slot {
            return false;
        }
        match source_of(peers, best.src) {
            Source::Local | Source::Ebgp { .. } => true,
            Source::Ibgp { .. } => {
                self.is_ebgp(local_as)
                    || self.cfg.route_reflector_client
                    || peers
                        .get(best.src as usize)
                        .and_then(|p| p.as_ref())
                        .is_some_and(|p| p.cfg.route_reflector_client)
            }
        }
    }
}

impl Core {
    pub fn new(speaker: SpeakerConfig) -> Self {
        Core {
            speaker,
            attrs: AttrStore::default(),
            ribs: HashMap::new(),
            peers: vec![None],
            slots: HashMap::new(),
            events: Vec::new(),
        }
    }

    pub fn rib_stats(&self) -> Vec<crate::status::RibStats> {
        let mut v: Vec<_> = self
            .ribs
            .iter()
            .map(|(name, r)| crate::status::RibStats {
                rib: name.clone(),
                routes: r.len(),
                table_bytes: r.heap_bytes(),
                attr_sets: self.attrs.len(),
            })
            .collect();
        v.sort_by(|a, b| a.rib.cmp(&b.rib));
        v
    }

    /// All paths of a key in a RIB, best first (the Adj-RIBs-In's view).
    #[cfg_attr(not(test), allow(dead_code))] // no query command yet
    pub fn paths(&self, rib: &Option<String>, key: &RouteKey) -> Vec<Path> {
        let Some(r) = self.ribs.get(rib) else {
            return Vec::new();
        };
        let refs = match AnyKey::from(key) {
            AnyKey::V4(k) => r.v4.paths(&k),
            AnyKey::V6(k) => r.v6.paths(&k),
            AnyKey::Vpn4(k) => r.vpn4.paths(&k),
            AnyKey::Vpn6(k) => r.vpn6.paths(&k),
        };
        refs.iter().map(|p| self.path(p)).collect()
    }

    /// Routes from `id` (its Adj-RIB-In after treat-as-withdraw).
    #[cfg_attr(not(test), allow(dead_code))] // no query command yet
    pub fn adj_rib_in(&self, id: PeerId) -> Vec<(RouteKey, Path)> {
        let Some(&slot) = self.slots.get(&id) else {
            return Vec::new();
        };
        let Some(Some(p)) = self.peers.get(slot as usize) else {
            return Vec::new();
        };
        let Some(r) = self.ribs.get(&p.cfg.rib) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        fn collect<K: TableKey>(
            core: &Core,
            t: &Table<K>,
            slot: u16,
            out: &mut Vec<(RouteKey, Path)>,
        ) {
            for k in t.keys_of(slot, false) {
                for p in t.paths(&k).iter().filter(|p| p.src == slot) {
                    out.push((k.to_route(), core.path(p)));
                }
            }
        }
        collect(self, &r.v4, slot, &mut out);
        collect(self, &r.v6, slot, &mut out);
        collect(self, &r.vpn4, slot, &mut out);
        collect(self, &r.vpn6, slot, &mut out);
        out
    }

    fn path(&self, p: &PathRef) -> Path {
        let from = if p.src == 0 {
            None
        } else {
            self.peers
                .get(p.src as usize)
                .and_then(|x| x.as_ref())
                .map(|x| x.cfg.id)
        };
        Path {
            attrs: self.attrs.get(p.attr).clone(),
            labels: p.label().into_iter().collect(),
            from,
        }
    }

    // ---- peers ----

    pub fn put_peer(&mut self, cfg: PeerConfig, shared: Arc<PeerShared>) {
        if let Some(&slot) = self.slots.get(&cfg.id) {
            if let Some(Some(p)) = self.peers.get_mut(slot as usize) {
                let rib_changed = p.cfg.rib != cfg.rib;
                if rib_changed {
                    self.flush_paths(slot, false);
                }
                if let Some(Some(p)) = self.peers.get_mut(slot as usize) {
                    p.cfg = cfg;
                }
            }
            return;
        }
        let peer = Peer {
            cfg: cfg.clone(),
            shared,
            session: None,
            restarting: false,
            last_source: Source::Ibgp {
                router_id: Ipv4Addr::UNSPECIFIED,
                addr: cfg.address,
            },
        };
        let slot = match self.peers.iter().skip(1).position(|p| p.is_none()) {
            Some(i) => i + 1,
            None => {
                self.peers.push(None);
                self.peers.len() - 1
            }
        };
        if slot > u16::MAX as usize {
            tracing::error!(peer = cfg.id, "more than 65535 peers");
            return;
        }
        self.peers[slot] = Some(peer);
        self.slots.insert(cfg.id, slot as u16);
    }

    pub fn del_peer(&mut self, id: PeerId) {
        let Some(slot) = self.slots.remove(&id) else {
            return;
        };
        self.flush_paths(slot, false);
        if let Some(p) = self.peers.get_mut(slot as usize) {
            *p = None;
        }
    }

    /// A session reached Established: its Adj-RIB-Out starts with a full
    /// dump of the negotiated families.
    pub fn peer_up(&mut self, id: PeerId, info: SessionInfo) {
        let Some(&slot) = self.slots.get(&id) else {
            return;
        };
        let local_as = self.speaker.asn;
        let Some(Some(p)) = self.peers.get_mut(slot as usize) else {
            return;
        };
        let source = if p.is_ebgp(local_as) {
            Source::Ebgp {
                router_id: info.remote_id,
                addr: info.remote_addr.ip(),
            }
        } else {
            Source::Ibgp {
                router_id: info.remote_id,
                addr: info.remote_addr.ip(),
            }
        };
        let source_changed = p.last_source != source;
        p.last_source = source;
        for c in p.shared.received.iter() {
            c.store(0, std::sync::atomic::Ordering::Relaxed);
        }
        let families = info.ctx.families;
        let keep_stale = p
            .restarting
            .then(|| info.peer_gr.map(|(_, f)| f).unwrap_or_default());
        p.session = Some(Session {
            info,
            pending: HashSet::new(),
            dump: families.iter().collect(),
        });
        if let Some(keep) = keep_stale {
            // RFC 4724 section 4.2: families the peer no longer preserves
            // lose their stale routes now; the others at End-of-RIB.
            for f in Family::ALL.into_iter().filter(|f| !keep.contains(*f)) {
                self.sweep_stale(slot, Some(f));
            }
        }
        if source_changed {
            self.reselect_src(slot);
        }
    }

    /// The session ended. With `graceful` (the peer has the graceful
    /// restart capability and the session did not end by NOTIFICATION) its
    /// routes are kept as stale until it comes back and sends End-of-RIB, or
    /// [`Core::restart_expired`].
    pub fn peer_down(&mut self, id: PeerId, gen: u64, graceful: bool) {
        let Some(&slot) = self.slots.get(&id) else {
            return;
        };
        let Some(Some(p)) = self.peers.get_mut(slot as usize) else {
            return;
        };
        if p.session.as_ref().is_none_or(|s| s.info.gen != gen) {
            return;
        }
        let gr = p.session.as_ref().and_then(|s| s.info.peer_gr);
        p.session = None;
        // Announcements counted "since the session came up": none now.
        for c in p.shared.received.iter() {
            c.store(0, std::sync::atomic::Ordering::Relaxed);
        }
        if graceful && gr.is_some() {
            p.restarting = true;
            if let Some(r) = self.ribs.get_mut(&p.cfg.rib) {
                r.v4.mark_stale(slot);
                r.v6.mark_stale(slot);
                r.vpn4.mark_stale(slot);
                r.vpn6.mark_stale(slot);
            }
            return;
        }
        self.flush_paths(slot, false);
    }

    /// The restart time of a restarting peer ran out (RFC 4724 section 4.2).
    pub fn restart_expired(&mut self, id: PeerId) {
        let Some(&slot) = self.slots.get(&id) else {
            return;
        };
        if let Some(Some(p)) = self.peers.get_mut(slot as usize) {
            if p.restarting && p.session.is_none() {
                self.flush_paths(slot, false);
            }
        }
    }

    fn reselect_src(&mut self, slot: u16) {
        let Some(Some(p)) = self.peers.get(slot as usize) else {
            return;
        };
        let rib = p.cfg.rib.clone();
        let Some(r) = self.ribs.get(&rib) else { return };
        let keys: Vec<AnyKey> =
            r.v4.keys_of(slot, false)
                .into_iter()
                .map(AnyKey::V4)
                .chain(r.v6.keys_of(slot, false).into_iter().map(AnyKey::V6))
                .chain(r.vpn4.keys_of(slot, false).into_iter().map(AnyKey::Vpn4))
                .chain(r.vpn6.keys_of(slot, false).into_iter().map(AnyKey::Vpn6))
                .collect();
        let Core {
            attrs, ribs, peers, ..
        } = self;
        let Some(r) = ribs.get_mut(&rib) else { return };
        let mut changes = Vec::new();
        for key in keys {
            let c = with_table!(r, key, |t, k| t.reselect(&k, better(attrs, peers)));
            changes.push((key, c));
        }
        for (key, c) in changes {
            self.after_change(&rib, key, c, None);
        }
    }

    /// Removes the paths of `slot` (all, or only the stale ones of one
    /// family).
    fn flush_paths(&mut self, slot: u16, stale_only: bool) {
        self.flush_family(slot, None, stale_only);
        if let Some(Some(p)) = self.peers.get_mut(slot as usize) {
            if !stale_only {
                p.restarting = false;
            }
        }
    }

    fn sweep_stale(&mut self, slot: u16, family: Option<Family>) {
        self.flush_family(slot, family, true);
    }

    fn flush_family(&mut self, slot: u16, family: Option<Family>, stale_only: bool) {
        let Some(Some(p)) = self.peers.get(slot as usize) else {
            return;
        };
        let rib = p.cfg.rib.clone();
        let Some(r) = self.ribs.get(&rib) else { return };
        let want = |f: Family| family.is_none_or(|x| x == f);
        let mut keys: Vec<AnyKey> = Vec::new();
        if want(Family::Ipv4Unicast) {
            keys.extend(r.v4.keys_of(slot, stale_only).into_iter().map(AnyKey::V4));
        }
        if want(Family::Ipv6Unicast) {
            keys.extend(r.v6.keys_of(slot, stale_only).into_iter().map(AnyKey::V6));
        }
        if want(Family::Vpnv4) {
            keys.extend(
                r.vpn4
                    .keys_of(slot, stale_only)
                    .into_iter()
                    .map(AnyKey::Vpn4),
            );
        }
        if want(Family::Vpnv6) {
            keys.extend(
                r.vpn6
                    .keys_of(slot, stale_only)
                    .into_iter()
                    .map(AnyKey::Vpn6),
            );
        }
        for key in keys {
            self.remove_path(&rib, key, slot);
        }
    }

    // ---- routes ----

    fn remove_path(&mut self, rib: &Option<String>, key: AnyKey, src: u16) {
        let Core {
            attrs, ribs, peers, ..
        } = self;
        let Some(r) = ribs.get_mut(rib) else { return };
        let c = with_table!(r, key, |t, k| t.remove(&k, src, better(attrs, peers)));
        self.after_change(rib, key, c, None);
    }

    /// Bookkeeping after a table change: attribute references, counters,
    /// the Best event, and the Adj-RIB-Out queues of the RIB's peers.
    fn after_change(
        &mut self,
        rib: &Option<String>,
        key: AnyKey,
        c: Change,
        targets: Option<&[u16]>,
    ) {
        let family = family_of(&key);
        // The previous best's attributes, taken before its reference goes.
        let learned = |p: &Option<PathRef>| p.is_some_and(|p| p.src != 0);
        let old_attrs = (c.best_changed() && learned(&c.old_best))
            .then(|| c.old_best.as_ref().map(|p| self.attrs.get(p.attr).clone()))
            .flatten();
        if let Some(old) = c.removed {
            self.attrs.release(old.attr);
            if old.src != 0 {
                if let Some(Some(p)) = self.peers.get(old.src as usize) {
                    PeerShared::add(&p.shared.accepted, family, -1);
                }
            }
        }
        if !c.best_changed() {
            return;
        }
        if learned(&c.old_best) || learned(&c.new_best) {
            let best = c.new_best.as_ref().map(|p| self.path(p));
            self.events.push(BgpEvent::Best {
                rib: rib.clone(),
                key: to_route(&key),
                best,
                old: old_attrs,
            });
        }
        self.queue_out(rib, key, &c, targets);
    }

    /// Slots of the peers of `rib` with an Established session.
    fn targets(&self, rib: &Option<String>) -> Vec<u16> {
        self.peers
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let p = p.as_ref()?;
                (p.session.is_some() && &p.cfg.rib == rib).then_some(i as u16)
            })
            .collect()
    }

    fn queue_out(
        &mut self,
        rib: &Option<String>,
        key: AnyKey,
        c: &Change,
        targets: Option<&[u16]>,
    ) {
        let owned;
        let targets = match targets {
            Some(t) => t,
            None => {
                owned = self.targets(rib);
                &owned
            }
        };
        let family = family_of(&key);
        let local_as = self.speaker.asn;
        for &slot in targets {
            let Some(Some(p)) = self.peers.get(slot as usize) else {
                continue;
            };
            let Some(s) = &p.session else { continue };
            if !s.info.ctx.families.contains(family) {
                continue;
            }
            let go = p.exports(slot, c.old_best.as_ref(), &self.peers, local_as)
                || p.exports(slot, c.new_best.as_ref(), &self.peers, local_as);
            if go {
                if let Some(Some(p)) = self.peers.get_mut(slot as usize) {
                    if let Some(s) = &mut p.session {
                        s.pending.insert(key);
                    }
                }
            }
        }
    }

    /// Applies an UPDATE from peer `id`'s session `gen` (RFC 4271 section
    /// 9.1, with RFC 7606 outcomes already decided by the codec).
    pub fn apply_update(&mut self, id: PeerId, gen: u64, up: Update) {
        let Some(&slot) = self.slots.get(&id) else {
            return;
        };
        let Some(Some(p)) = self.peers.get(slot as usize) else {
            return;
        };
        let Some(s) = &p.session else { return };
        if s.info.gen != gen {
            return;
        }
        let families = s.info.ctx.families;
        let rib = p.cfg.rib.clone();
        let ebgp = p.is_ebgp(self.speaker.asn);
        let shared = p.shared.clone();
        let targets = self.targets(&rib);
        self.ribs.entry(rib.clone()).or_default();

        for n in &up.withdrawn {
            let key = AnyKey::from(&n.key);
            if families.contains(family_of(&key)) {
                self.remove_path_targets(&rib, key, slot, &targets);
            }
        }
        let mut reject = up.treat_as_withdraw.is_some();
        if let Some(e) = &up.treat_as_withdraw {
            tracing::warn!(peer = id, error = %e, "UPDATE treated as withdraw (RFC 7606)");
        }
        for (t, e) in &up.discarded {
            tracing::info!(peer = id, attr = t, error = %e, "attribute discarded (RFC 7606)");
        }
        // Loop detection: our AS in an external path (RFC 4271 section
        // 9.1.2), our router id as ORIGINATOR_ID or cluster id in
        // CLUSTER_LIST (RFC 4456 section 8).
        let a = &up.attrs;
        let my_as = self.speaker.asn;
        if ebgp
            && a.as_path.iter().any(|s| match s {
                AsSegment::Sequence(v) | AsSegment::Set(v) => v.contains(&my_as),
            })
        {
            reject = true;
        }
        let my_id = self.speaker.router_id;
        if !ebgp && (a.originator_id == Some(my_id) || a.cluster_list.contains(&my_id)) {
            reject = true;
        }
        for (list, nh) in [(&up.announced, None), (&up.nlri, up.nlri_next_hop)] {
            if list.is_empty() {
                continue;
            }
            for n in list.iter() {
                PeerShared::add(&shared.received, n.key.family(), 1);
            }
            if reject {
                for n in list.iter() {
                    let key = AnyKey::from(&n.key);
                    self.remove_path_targets(&rib, key, slot, &targets);
                }
                continue;
            }
            let attr = match nh {
                Some(nh) => {
                    let mut a = up.attrs.clone();
                    a.next_hop = Some(IpAddr::V4(nh));
                    a.next_hop_link_local = None;
                    self.attrs.intern_owned(a, 0)
                }
                None => self.attrs.intern_owned(up.attrs.clone(), 0),
            };
            self.announce(&rib, slot, attr, list, families, &targets, &shared);
            self.attrs.release_if_unused(attr);
        }
        if let Some(f) = up.end_of_rib {
            self.events.push(BgpEvent::EndOfRib { id, family: f });
            self.sweep_stale(slot, Some(f));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn announce(
        &mut self,
        rib: &Option<String>,
        slot: u16,
        attr: u32,
        list: &[Nlri],
        families: FamilySet,
        targets: &[u16],
        shared: &Arc<PeerShared>,
    ) {
        for n in list {
            let key = AnyKey::from(&n.key);
            let family = family_of(&key);
            if !families.contains(family) {
                continue;
            }
            self.attrs.add_ref(attr, 1);
            let path = PathRef::new(attr, n.label, slot);
            let Core {
                attrs, ribs, peers, ..
            } = self;
            let Some(r) = ribs.get_mut(rib) else { return };
            let c = with_table!(r, key, |t, k| t.upsert(k, path, better(attrs, peers)));
            // +1 here, -1 in after_change for the path it replaced.
            PeerShared::add(&shared.accepted, family, 1);
            self.after_change(rib, key, c, Some(targets));
        }
    }

    fn remove_path_targets(
        &mut self,
        rib: &Option<String>,
        key: AnyKey,
        src: u16,
        targets: &[u16],
    ) {
        let Core {
            attrs, ribs, peers, ..
        } = self;
        let Some(r) = ribs.get_mut(rib) else { return };
        let c = with_table!(r, key, |t, k| t.remove(&k, src, better(attrs, peers)));
        self.after_change(rib, key, c, Some(targets));
    }

    /// Local routes (BgpCommand::Originate): next hop None means self.
    pub fn originate(&mut self, rib: &Option<String>, routes: Vec<(RouteKey, Path)>) {
        self.ribs.entry(rib.clone()).or_default();
        let targets = self.targets(rib);
        for (key, path) in routes {
            let attr = self.attrs.intern(&path.attrs, 1);
            let p = PathRef::new(attr, key_label(&key, &path), 0);
            let k = AnyKey::from(&key);
            let Core {
                attrs, ribs, peers, ..
            } = self;
            let Some(r) = ribs.get_mut(rib) else { return };
            let c = with_table!(r, k, |t, kk| t.upsert(kk, p, better(attrs, peers)));
            self.after_change(rib, k, c, Some(&targets));
        }
    }

    pub fn withdraw(&mut self, rib: &Option<String>, keys: Vec<RouteKey>) {
        let targets = self.targets(rib);
        for key in keys {
            self.remove_path_targets(rib, AnyKey::from(&key), 0, &targets);
        }
    }

    /// The peer asked for its Adj-RIB-Out again (RFC 2918 section 4).
    pub fn refresh_out(&mut self, id: PeerId, family: Family) {
        let Some(&slot) = self.slots.get(&id) else {
            return;
        };
        if let Some(Some(p)) = self.peers.get_mut(slot as usize) {
            if let Some(s) = &mut p.session {
                if s.info.ctx.families.contains(family) && !s.dump.contains(&family) {
                    s.dump.push(family);
                }
            }
        }
    }

    // ---- Adj-RIB-Out ----

    /// The attributes `best` (from `src`) is sent with to peer `to`.
    fn export_attrs(&self, a: &PathAttrs, src: u16, to: &Peer, info: &SessionInfo) -> PathAttrs {
        let mut a = a.clone();
        let local_as = self.speaker.asn;
        let self_nh = info.local_addr.ip();
        let source = source_of(&self.peers, src);
        if to.is_ebgp(local_as) {
            // RFC 4271 section 5.1.2: prepend our AS.
            match a.as_path.first_mut() {
                Some(AsSegment::Sequence(v)) if v.len() < 255 => v.insert(0, local_as),
                _ => a.as_path.insert(0, AsSegment::Sequence(vec![local_as])),
            }
            a.next_hop = Some(self_nh);
            a.next_hop_link_local = None;
            a.local_pref = None;
            if matches!(source, Source::Ebgp { .. }) {
                // RFC 4271 section 5.1.4: a MED from a neighbouring AS is
                // not passed to another.
                a.med = None;
            }
            a.originator_id = None;
            a.cluster_list.clear();
        } else {
            a.local_pref.get_or_insert(best::DEFAULT_LOCAL_PREF);
            match source {
                Source::Local => {
                    if a.next_hop.is_none() {
                        a.next_hop = Some(self_nh);
                        a.next_hop_link_local = None;
                    }
                }
                Source::Ebgp { .. } => {
                    a.next_hop = Some(self_nh);
                    a.next_hop_link_local = None;
                }
                Source::Ibgp { router_id, .. } => {
                    // RFC 4456 section 8.
                    a.originator_id.get_or_insert(router_id);
                    a.cluster_list.insert(0, self.speaker.router_id);
                }
            }
        }
        a
    }

    /// Encodes what changed in peer `id`'s Adj-RIB-Out since the last call
    /// (and any pending full dumps, each ended by End-of-RIB).
    pub fn flush(&mut self, id: PeerId) -> Option<(u64, Vec<u8>)> {
        let &slot = self.slots.get(&id)?;
        let p = self.peers.get_mut(slot as usize)?.as_mut()?;
        let s = p.session.as_mut()?;
        if s.pending.is_empty() && s.dump.is_empty() {
            return None;
        }
        let pending: Vec<AnyKey> = s.pending.drain().collect();
        let dump = std::mem::take(&mut s.dump);
        let gen = s.info.gen;
        let rib = p.cfg.rib.clone();
        let mut out = Vec::new();
        let mut keys: Vec<AnyKey> = pending;
        for f in &dump {
            if let Some(r) = self.ribs.get(&rib) {
                match f {
                    Family::Ipv4Unicast => keys.extend(r.v4.iter().map(|(k, _)| AnyKey::V4(k))),
                    Family::Ipv6Unicast => keys.extend(r.v6.iter().map(|(k, _)| AnyKey::V6(k))),
                    Family::Vpnv4 => keys.extend(r.vpn4.iter().map(|(k, _)| AnyKey::Vpn4(k))),
                    Family::Vpnv6 => keys.extend(r.vpn6.iter().map(|(k, _)| AnyKey::Vpn6(k))),
                }
            }
        }
        for chunk in keys.chunks(20_000) {
            self.encode_chunk(slot, &rib, chunk, &mut out);
        }
        for f in dump {
            update::encode_end_of_rib(f, &mut out);
        }
        (!out.is_empty()).then_some((gen, out))
    }

    fn encode_chunk(&self, slot: u16, rib: &Option<String>, keys: &[AnyKey], out: &mut Vec<u8>) {
        let Some(Some(p)) = self.peers.get(slot as usize) else {
            return;
        };
        let Some(s) = &p.session else { return };
        let r = self.ribs.get(rib);
        let local_as = self.speaker.asn;
        let mut groups: HashMap<(u32, u16, Family), Vec<Nlri>> = HashMap::new();
        let mut withdraws: HashMap<Family, Vec<Nlri>> = HashMap::new();
        for key in keys {
            let family = family_of(key);
            if !s.info.ctx.families.contains(family) {
                continue;
            }
            let best = r.and_then(|r| match key {
                AnyKey::V4(k) => r.v4.best(k),
                AnyKey::V6(k) => r.v6.best(k),
                AnyKey::Vpn4(k) => r.vpn4.best(k),
                AnyKey::Vpn6(k) => r.vpn6.best(k),
            });
            let route = to_route(key);
            match best.filter(|b| p.exports(slot, Some(b), &self.peers, local_as)) {
                Some(b) => groups
                    .entry((b.attr, b.src, family))
                    .or_default()
                    .push(Nlri {
                        key: route,
                        label: b.label(),
                    }),
                None => withdraws.entry(family).or_default().push(Nlri {
                    key: route,
                    label: None,
                }),
            }
        }
        for (family, list) in withdraws {
            update::encode_withdraw(family, &list, out);
        }
        for ((attr, src, family), list) in groups {
            let a = self.export_attrs(self.attrs.get(attr), src, p, &s.info);
            update::encode_announce(&s.info.ctx, family, &a, &list, out);
        }
    }

    /// Ids of peers with something to send.
    pub fn peers_with_output(&self) -> Vec<PeerId> {
        self.peers
            .iter()
            .flatten()
            .filter(|p| {
                p.session
                    .as_ref()
                    .is_some_and(|s| !s.pending.is_empty() || !s.dump.is_empty())
            })
            .map(|p| p.cfg.id)
            .collect()
    }
}

/// The label of a local path: its first label, for VPN keys.
fn key_label(key: &RouteKey, path: &Path) -> Option<u32> {
    match key {
        RouteKey::Vpn(..) => Some(path.labels.first().copied().unwrap_or(0)),
        RouteKey::Unicast(_) => path.labels.first().copied(),
    }
}

#[cfg(test)]
mod tests;
