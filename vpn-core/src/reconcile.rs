//! The reconciler: one thread, level-triggered. It compares what the
//! committed configuration asks of the FIB (tables and interface steering for
//! active VRFs, the best route of each prefix, ILM entries for allocated
//! labels) with what it has applied, and sends the difference to the FIB
//! backend. Commits give it hints (which VRF, prefix or label changed) so a
//! change costs work proportional to the change, not to the table; a hint
//! never decides *what* to do, the configuration does. Failures become state
//! (the VRF's FIB status and reason) and are retried with backoff.
//!
//! The route of a prefix in a VRF's table is, by administrative distance:
//! its connected route ([`crate::connected`]: a directly attached subnet of
//! one of the VRF's interfaces, `dev IF` at metric 0), else its best static
//! row, else its BGP route (CE-learned, then imported); else nothing (the
//! catch-all for a default prefix). Connected routes come from the interface
//! view: their changes arrive as prefix hints (the VPN glue computes which
//! prefixes an address or link change touched), and every VRF round
//! recomputes them.
//!
//! ```text
//!  Store::commit --hints--> [channel] --> Reconciler thread --ops--> Fib backend
//!                                              |
//!                                              +--> FibView (ArcSwap) --> readers
//! ```

use crate::config::{label_owner_vrf_key, Config, LabelMode, RowState};
use crate::connected::Connected;
use crate::fibview::{Backend, FibStatus, FibView, VrfFibState};
use crate::keys::VrfKey;
use crate::routes::{RteIndex, RteKey, RteRow, RteType, STATIC_DISTANCE};
use crate::store::Store;
use arc_swap::ArcSwap;
use fib::{Fib, FibError, FibOp, Labels, NextHop, Route, RouteTable, StoredRoute, VrfFib};
use ipnet::IpNet;
use mpls::{Ilm, IlmAction};
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What changed (a hint: the work is always derived from the configuration).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Hint {
    /// Everything (start, after failures).
    All,
    /// Reload what the kernel holds, then everything (links came or went).
    Resync,
    Vrf(VrfKey),
    /// One prefix of a VRF (a commit changed a route row).
    Prefix(VrfKey, IpNet),
    /// Prefixes of one VRF (BGP changed its routes): one hint, one key, for
    /// a whole batch.
    Prefixes(VrfKey, Vec<IpNet>),
    Label(Vec<u8>),
    Stop,
}

/// Hints for the effective changes of one commit.
pub fn hints(eff: &[crate::Change]) -> Vec<Hint> {
    use crate::Change::*;
    let mut out = Vec::new();
    for c in eff {
        match c {
            PutVrf(k, _) | DelVrf(k) => out.push(Hint::Vrf(k.clone())),
            PutIfConf(k, _) | DelIfConf(k) => out.push(Hint::Vrf(k.vrf())),
            PutRte(k, _) | DelRte(k) => {
                let i = k.index();
                out.push(Hint::Prefix(i.vrf, i.prefix));
            }
            Label(o, _) => out.push(Hint::Label(o.clone())),
            PutRt(..) | DelRt(..) | PutSettings(..) | Security(..) | Notify(..) | PutPeer(..)
            | DelPeer(..) | HoldLabels(..) => {}
        }
    }
    out
}

/// The route a VRF's FIB gets for one prefix: the best active route by
/// administrative distance, then metric (then index order, for a stable pick).
pub fn best_route<'a>(
    cfg: &'a Config,
    vrf: &VrfKey,
    prefix: &IpNet,
) -> Option<(&'a RteKey, &'a RteRow)> {
    cfg.routes_of_prefix(vrf, prefix)
        .filter(|(_, r)| r.state == RowState::Active)
        .min_by_key(|(k, r)| (STATIC_DISTANCE, r.metrics[0].max(0), (*k).clone()))
}

fn fib_route(table: u32, idx: &RteIndex, r: &RteRow) -> Route {
    let nexthop = match (r.rtype, idx.next_hop) {
        (RteType::Blackhole, _) => NextHop::Blackhole,
        (RteType::Reject, _) => NextHop::Reject,
        (RteType::Local, _) | (_, None) => NextHop::Dev {
            ifindex: r.if_index,
        },
        (_, Some(addr)) => NextHop::Via {
            addr,
            ifindex: r.if_index,
        },
    };
    Route {
        table,
        prefix: idx.prefix,
        nexthop,
        metric: r.metrics[0].max(0) as u32,
        labels: Labels::new(),
    }
}

/// The FIB route of a BGP-learned VRF route: via its next hop (the remote
/// PE for an imported route, pushing the label it was advertised with; the
/// CE for a CE route).
fn bgp_fib_route(table: u32, p: &IpNet, r: &crate::vpn::BgpRoute) -> Option<Route> {
    let addr = r.next_hop(p)?;
    Some(Route {
        table,
        prefix: *p,
        nexthop: NextHop::Via { addr, ifindex: 0 },
        metric: r.distance(),
        labels: Labels::from(r.labels()),
    })
}

/// The FIB route of a connected prefix: directly attached, metric 0.
fn connected_fib_route(table: u32, p: &IpNet, c: &Connected) -> Route {
    Route {
        table,
        prefix: *p,
        nexthop: NextHop::Dev {
            ifindex: c.if_index,
        },
        metric: crate::connected::CONNECTED_DISTANCE,
        labels: Labels::new(),
    }
}

/// A VRF whose routes go to the FIB: row active and admin up.
fn installs(cfg: &Config, vrf: &VrfKey) -> Option<u32> {
    let r = cfg.vrfs.get(vrf)?;
    (r.state == RowState::Active).then_some(r.table_id)
}

fn routes_enabled(cfg: &Config, vrf: &VrfKey) -> bool {
    crate::connected::vrf_in_service(cfg, vrf)
}

/// The ILM entry an allocated label should have.
fn ilm_for(cfg: &Config, owner: &[u8]) -> Option<Ilm> {
    let label = cfg.label(owner)?;
    let vrf = label_owner_vrf_key(owner)?;
    let table = installs(cfg, &vrf)?;
    let lookup = IlmAction::PopLookup { table };
    let action = match owner.first()? {
        b'V' => lookup,
        b'P' => {
            let mode = cfg.vrfs.get(&vrf)?.label_mode;
            if mode != LabelMode::PerPrefix {
                return None;
            }
            // The owner names the prefix: find it from any route of the VRF
            // whose prefix start matches.
            let start = &owner[1..];
            let row = cfg
                .routes
                .range::<_, [u8]>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
                .take_while(|(k, _)| k.as_bytes().starts_with(start))
                .find(|(_, r)| r.state == RowState::Active);
            match row {
                Some((k, r)) => {
                    let best = best_route(cfg, &vrf, &k.index().prefix).unwrap_or((k, r));
                    match best.0.index().next_hop {
                        Some(via) => IlmAction::PopForward {
                            via,
                            ifindex: best.1.if_index,
                        },
                        None => lookup,
                    }
                }
                // Held by a route outside the configuration (connected,
                // CE-learned): the VRF's table holds that route.
                None => lookup,
            }
        }
        b'N' => {
            let tail = &owner[1 + vrf.as_bytes().len()..];
            let via = match tail.len() {
                4 => Some(std::net::IpAddr::from(<[u8; 4]>::try_from(tail).ok()?)),
                16 => Some(std::net::IpAddr::from(<[u8; 16]>::try_from(tail).ok()?)),
                _ => None,
            };
            match via {
                Some(via) => IlmAction::PopForward { via, ifindex: 0 },
                None => lookup,
            }
        }
        _ => return None,
    };
    Some(Ilm { label, action })
}

/// What has been applied to the backend.
#[derive(Default)]
struct Applied {
    vrfs: BTreeMap<u32, VrfFib>,
    /// Routes by table (no empty table kept): what a table holds is one
    /// lookup, and dropping it costs its own routes only. Not kept when
    /// the backend holds exactly what was applied ([`Fib::held_routes`]:
    /// the shadow FIB), which is then read instead of a second copy.
    routes: BTreeMap<u32, RouteTable>,
    /// Whether `routes` is kept (see above).
    keep_routes: bool,
    /// label -> (entry, owner it was installed for)
    ilm: BTreeMap<u32, (Ilm, Vec<u8>)>,
    ilm_by_owner: BTreeMap<Vec<u8>, u32>,
}

impl Applied {
    /// Record routes that took (a run of one table is merged at once).
    fn put_routes(&mut self, routes: impl IntoIterator<Item = Route>) {
        if !self.keep_routes {
            return;
        }
        let mut routes = routes.into_iter().peekable();
        while let Some(first) = routes.next() {
            let table = first.table;
            let held = self.routes.entry(table).or_default();
            if routes.peek().is_none_or(|r| r.table != table) {
                held.insert(first.prefix, StoredRoute::from(first));
                continue;
            }
            let mut run = vec![(first.prefix, StoredRoute::from(first))];
            while let Some(r) = routes.next_if(|r| r.table == table) {
                run.push((r.prefix, StoredRoute::from(r)));
            }
            held.insert_batch(run);
        }
    }
}

/// The routes applied, per table: the backend's own when it holds exactly
/// them, else the reconciler's record.
fn applied_routes<'a>(fib: &'a dyn Fib, a: &'a Applied) -> &'a BTreeMap<u32, RouteTable> {
    fib.held_routes().unwrap_or(&a.routes)
}

/// What the prefixes of one VRF have in common in a round, looked up once.
struct VrfFacts<'a> {
    table: u32,
    /// Row active and admin up ([`routes_enabled`]).
    enabled: bool,
    /// Whether the VRF has any static route row (else no best_route lookup).
    has_static: bool,
    /// Its connected routes (computed once per round: they cost the VRF's
    /// bindings, not its routes).
    connected: BTreeMap<IpNet, Connected>,
    /// The VRF's BGP routes.
    bgp: Option<&'a crate::chunkmap::NetMap<crate::vpn::BgpRoute>>,
    /// What its table holds as applied.
    applied: Option<&'a RouteTable>,
    /// The backend has IPv6 (catch-all of that family).
    ipv6: bool,
}

impl VrfFacts<'_> {
    /// The operations that make the VRF's `prefixes` (sorted, distinct)
    /// right.
    fn prefix_ops(&self, cfg: &Config, vrf: &VrfKey, prefixes: &[IpNet], ops: &mut Vec<FibOp>) {
        // The BGP route of each prefix: where the prefixes are many for
        // the VRF's BGP routes, one ordered walk of the map (at most
        // MERGE_WALK steps per prefix) instead of a lookup per prefix.
        const MERGE_WALK: usize = 8;
        let mut walk = match (self.bgp, prefixes.first()) {
            (Some(m), Some(first)) if prefixes.len().saturating_mul(MERGE_WALK) >= m.len() => {
                Some(m.range_from(first).peekable())
            }
            _ => None,
        };
        for p in prefixes {
            let bgp = match &mut walk {
                Some(w) => {
                    while w.next_if(|(q, _)| q < p).is_some() {}
                    w.next_if(|(q, _)| q == p).map(|(_, r)| r)
                }
                None => self.bgp.and_then(|m| m.get(p)),
            };
            prefix_op(cfg, self, vrf, p, bgp, ops);
        }
    }
}

/// The operation (if any) that makes one prefix of a VRF right, given its
/// BGP route.
fn prefix_op(
    cfg: &Config,
    f: &VrfFacts,
    vrf: &VrfKey,
    p: &IpNet,
    bgp: Option<&crate::vpn::BgpRoute>,
    ops: &mut Vec<FibOp>,
) {
    let table = f.table;
    let want = if f.enabled {
        // Connected (distance 0), static (1), then BGP.
        f.connected
            .get(p)
            .map(|c| connected_fib_route(table, p, c))
            .or_else(|| {
                f.has_static
                    .then(|| best_route(cfg, vrf, p))
                    .flatten()
                    .map(|(k, r)| fib_route(table, &k.index(), r))
            })
            .or_else(|| bgp.and_then(|r| bgp_fib_route(table, p, r)))
    } else {
        None
    };
    let want = match want {
        None if is_default(p) && (p.addr().is_ipv4() || f.ipv6) => {
            Some(catch_all(table, p.addr().is_ipv6()))
        }
        w => w,
    };
    match (want, f.applied.and_then(|h| h.get(p))) {
        (Some(w), Some(h)) if w.is_stored_as(&h) => {}
        (Some(w), _) => ops.push(FibOp::PutRoute(w)),
        (None, Some(_)) => ops.push(FibOp::DelRoute { table, prefix: *p }),
        (None, None) => {}
    }
}

/// The start of the label owners of one kind (`V`, `P`, `N`) of a VRF.
fn owner_start(kind: u8, vrf: &VrfKey) -> Vec<u8> {
    let mut p = vec![kind];
    p.extend_from_slice(vrf.as_bytes());
    p
}

/// The reconciler (runs on its own thread; see [`Reconciler::spawn`]).
pub struct Reconciler {
    fib: Box<dyn Fib>,
    store: Arc<Store>,
    /// Routes learned through BGP (imported VPN routes, CE routes).
    bgp: Arc<ArcSwap<crate::vpn::BgpRoutes>>,
    /// The BGP routes as of this round.
    bgp_now: Arc<crate::vpn::BgpRoutes>,
    /// The host's interfaces: only existing ones are steered into a VRF
    /// (a binding to a deleted link waits for it to come back). `None` in
    /// tests that have no interface view: every binding counts.
    ifs: Option<Arc<ArcSwap<crate::ifaces::Interfaces>>>,
    view: Arc<ArcSwap<FibView>>,
    applied: Applied,
    /// Operations that failed, by VRF (table), with the reason.
    failures: BTreeMap<u32, String>,
    /// Capabilities missing for something a VRF asked for, by table.
    notes: BTreeMap<u32, String>,
    /// Published status (a persistent map: publishing is O(1) to clone).
    status: imbl::OrdMap<VrfKey, VrfFibState>,
    /// VRFs whose status may have changed this round.
    touched: BTreeSet<VrfKey>,
    /// The table each VRF was last installed in (to remove it once the row
    /// is gone).
    tables: BTreeMap<VrfKey, u32>,
    backoff: Duration,
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Reconciler {
    /// Start the reconciler thread; returns the hint sender and the view.
    pub fn spawn(
        fib: Box<dyn Fib>,
        backend: Backend,
        store: Arc<Store>,
        bgp: Arc<ArcSwap<crate::vpn::BgpRoutes>>,
        ifs: Option<Arc<ArcSwap<crate::ifaces::Interfaces>>>,
    ) -> (
        Sender<Hint>,
        Arc<ArcSwap<FibView>>,
        std::thread::JoinHandle<()>,
    ) {
        let view = Arc::new(ArcSwap::from_pointee(FibView::new(
            backend,
            fib.capabilities(),
        )));
        let (tx, rx) = std::sync::mpsc::channel();
        let mut r = Reconciler::new(fib, store, bgp, ifs, view.clone());
        let h = std::thread::Builder::new()
            .name("reconciler".into())
            .spawn(move || r.run(rx))
            .expect("spawning the reconciler thread");
        let _ = tx.send(Hint::Resync);
        (tx, view, h)
    }

    fn new(
        fib: Box<dyn Fib>,
        store: Arc<Store>,
        bgp: Arc<ArcSwap<crate::vpn::BgpRoutes>>,
        ifs: Option<Arc<ArcSwap<crate::ifaces::Interfaces>>>,
        view: Arc<ArcSwap<FibView>>,
    ) -> Reconciler {
        let keep_routes = fib.held_routes().is_none();
        Reconciler {
            fib,
            store,
            bgp,
            bgp_now: Arc::new(crate::vpn::BgpRoutes::default()),
            ifs,
            view,
            applied: Applied {
                keep_routes,
                ..Applied::default()
            },
            failures: BTreeMap::new(),
            notes: BTreeMap::new(),
            status: imbl::OrdMap::new(),
            touched: BTreeSet::new(),
            tables: BTreeMap::new(),
            backoff: Duration::from_secs(1),
        }
    }

    fn run(&mut self, rx: Receiver<Hint>) {
        let mut retry_at: Option<Instant> = None;
        loop {
            let timeout = retry_at.map_or(Duration::from_secs(3600), |t| {
                t.saturating_duration_since(Instant::now())
            });
            let first = match rx.recv_timeout(timeout) {
                Ok(h) => h,
                Err(RecvTimeoutError::Timeout) => Hint::All,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut batch = vec![first];
            batch.extend(rx.try_iter());
            if batch.contains(&Hint::Stop) {
                return;
            }
            let cfg = self.store.snapshot();
            self.bgp_now = self.bgp.load_full();
            let all = if batch.contains(&Hint::Resync) {
                self.resync(&cfg);
                true
            } else if batch.contains(&Hint::All) || retry_at.is_some_and(|t| Instant::now() >= t) {
                self.full(&cfg);
                true
            } else {
                self.incremental(&cfg, batch);
                false
            };
            self.publish(&cfg, all);
            if self.failures.is_empty() {
                retry_at = None;
                self.backoff = Duration::from_secs(1);
            } else {
                retry_at = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    /// Reload what the backend holds of ours, then converge everything.
    fn resync(&mut self, cfg: &Config) {
        match self.fib.load() {
            Ok(st) => {
                self.applied = Applied {
                    keep_routes: self.fib.held_routes().is_none(),
                    ..Applied::default()
                };
                for v in st.vrfs {
                    self.applied.vrfs.insert(v.table, v);
                }
                self.applied.put_routes(st.routes);
                for i in st.ilm {
                    // Owner unknown until reconciled: mark with an empty owner.
                    self.applied.ilm.insert(i.label, (i, Vec::new()));
                }
                tracing::info!(
                    vrfs = self.applied.vrfs.len(),
                    routes = applied_routes(&*self.fib, &self.applied)
                        .values()
                        .map(RouteTable::len)
                        .sum::<usize>(),
                    ilm = self.applied.ilm.len(),
                    "FIB loaded"
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "reading the FIB failed; will retry");
                self.failures.insert(0, format!("reading the FIB: {e}"));
                return;
            }
        }
        self.full(cfg);
    }

    /// Converge every VRF, and remove what no VRF wants.
    fn full(&mut self, cfg: &Config) {
        self.failures.clear();
        let mut ops = Vec::new();
        let wanted: BTreeSet<u32> = cfg.vrfs.keys().filter_map(|k| installs(cfg, k)).collect();
        self.tables.retain(|k, _| cfg.vrfs.contains_key(k));
        // Strays first: tables no active VRF holds.
        for (&table, _) in self
            .applied
            .vrfs
            .iter()
            .filter(|(t, _)| !wanted.contains(t))
        {
            ops.push(FibOp::DelVrf { table });
        }
        for (&table, held) in self
            .applied
            .routes
            .iter()
            .filter(|(t, _)| !wanted.contains(t))
        {
            ops.extend(
                held.prefixes()
                    .map(|prefix| FibOp::DelRoute { table, prefix }),
            );
        }
        for vrf in cfg.vrfs.keys() {
            self.vrf_ops(cfg, vrf, &mut ops);
        }
        // ILM entries: every allocated label, and nothing else.
        let want_ilm: BTreeMap<u32, (Ilm, Vec<u8>)> = cfg
            .labels
            .iter()
            .filter_map(|(o, _)| ilm_for(cfg, o).map(|i| (i.label, (i, o.clone()))))
            .collect();
        for (&label, _) in self
            .applied
            .ilm
            .iter()
            .filter(|(l, _)| !want_ilm.contains_key(l))
        {
            ops.push(FibOp::DelIlm { label });
        }
        for (label, (i, o)) in &want_ilm {
            if self.applied.ilm.get(label).map(|x| &x.0) != Some(i) {
                ops.push(FibOp::PutIlm(*i));
            } else {
                self.applied.ilm.insert(*label, (*i, o.clone()));
                self.applied.ilm_by_owner.insert(o.clone(), *label);
            }
        }
        self.execute(cfg, ops);
    }

    fn incremental(&mut self, cfg: &Config, hints: Vec<Hint>) {
        let mut ops = Vec::new();
        let mut vrfs = BTreeSet::new();
        // Prefix hints grouped by VRF: the VRF's facts are looked up once.
        let mut prefixes: BTreeMap<VrfKey, Vec<IpNet>> = BTreeMap::new();
        let mut owners = BTreeSet::new();
        for h in hints {
            match h {
                Hint::Vrf(v) => {
                    vrfs.insert(v);
                }
                Hint::Prefix(v, p) => prefixes.entry(v).or_default().push(p),
                Hint::Prefixes(v, ps) => match prefixes.entry(v) {
                    Entry::Vacant(e) => {
                        e.insert(ps);
                    }
                    Entry::Occupied(mut e) => e.get_mut().extend(ps),
                },
                Hint::Label(o) => {
                    owners.insert(o);
                }
                _ => {}
            }
        }
        for v in &vrfs {
            self.vrf_ops(cfg, v, &mut ops);
            // Labels of a VRF whose row changed may change action, and ILM
            // entries installed for it may have lost their label.
            owners.extend(cfg.label_owners_of(v).cloned());
            owners.extend(owners_in(&self.applied.ilm_by_owner, v));
        }
        let bgp = self.bgp_now.clone();
        let ipv6 = self.fib.capabilities().ipv6;
        for (v, mut ps) in prefixes {
            if vrfs.contains(&v) {
                continue;
            }
            if let Some(table) = installs(cfg, &v) {
                ps.sort_unstable();
                ps.dedup();
                let enabled = routes_enabled(cfg, &v);
                let facts = VrfFacts {
                    table,
                    enabled,
                    has_static: cfg.routes_of(&v).next().is_some(),
                    connected: if enabled {
                        self.connected_of(cfg, &v)
                    } else {
                        BTreeMap::new()
                    },
                    bgp: bgp.of(&v),
                    applied: applied_routes(&*self.fib, &self.applied).get(&table),
                    ipv6,
                };
                facts.prefix_ops(cfg, &v, &ps, &mut ops);
                // Per-prefix label owners (allocated or installed), looked
                // for only where the VRF has any.
                let start = owner_start(b'P', &v);
                let allocated = cfg
                    .labels
                    .range::<_, [u8]>((Bound::Included(&start[..]), Bound::Unbounded))
                    .next()
                    .is_some_and(|(o, _)| o.starts_with(&start));
                let installed = self
                    .applied
                    .ilm_by_owner
                    .range::<[u8], _>((Bound::Included(&start[..]), Bound::Unbounded))
                    .next()
                    .is_some_and(|(o, _)| o.starts_with(&start));
                if allocated || installed {
                    for p in &ps {
                        let o = crate::config::label_owner_prefix(&v, p);
                        if cfg.label(&o).is_some() || self.applied.ilm_by_owner.contains_key(&o) {
                            owners.insert(o);
                        }
                    }
                }
            }
            self.touched.insert(v);
        }
        self.touched.extend(vrfs);
        for o in owners {
            self.ilm_ops(cfg, &o, &mut ops);
        }
        self.execute(cfg, ops);
    }

    /// Operations that make one VRF's table, steering and routes right.
    fn vrf_ops(&mut self, cfg: &Config, vrf: &VrfKey, ops: &mut Vec<FibOp>) {
        let table = match installs(cfg, vrf) {
            Some(t) => t,
            None => {
                // Not (or no longer) installed: remove a table we had for it.
                let had = self
                    .tables
                    .remove(vrf)
                    .or(cfg.vrfs.get(vrf).map(|r| r.table_id));
                if let Some(t) = had.filter(|t| self.applied.vrfs.contains_key(t)) {
                    ops.push(FibOp::DelVrf { table: t });
                }
                return;
            }
        };
        self.tables.insert(vrf.clone(), table);
        let want = VrfFib {
            name: format!("l3v{table}"),
            table,
            interfaces: {
                let ifs = self.ifs.as_ref().map(|i| i.load_full());
                cfg.ifconfs_of(vrf)
                    .filter(|(_, b)| b.state == RowState::Active)
                    .map(|(k, _)| k.if_index())
                    .filter(|i| ifs.as_ref().is_none_or(|x| x.get(*i).is_some()))
                    .collect()
            },
        };
        if self.applied.vrfs.get(&table) != Some(&want) {
            ops.push(FibOp::PutVrf(want));
        }
        let mut desired: BTreeMap<IpNet, Route> = BTreeMap::new();
        if routes_enabled(cfg, vrf) {
            let mut last: Option<IpNet> = None;
            for (k, _) in cfg.routes_of(vrf) {
                let idx = k.index();
                if last == Some(idx.prefix) {
                    continue;
                }
                last = Some(idx.prefix);
                if let Some((bk, br)) = best_route(cfg, vrf, &idx.prefix) {
                    desired.insert(idx.prefix, fib_route(table, &bk.index(), br));
                }
            }
            // Connected routes (distance 0) over static ones.
            for (p, c) in self.connected_of(cfg, vrf) {
                desired.insert(p, connected_fib_route(table, &p, &c));
            }
            // BGP routes where no connected or static route is.
            if let Some(m) = self.bgp_now.of(vrf) {
                for (p, r) in m.iter() {
                    if let std::collections::btree_map::Entry::Vacant(e) = desired.entry(p) {
                        if let Some(route) = bgp_fib_route(table, &p, r) {
                            e.insert(route);
                        }
                    }
                }
            }
        }
        for v6 in [false, true] {
            if v6 && !self.fib.capabilities().ipv6 {
                continue;
            }
            let c = catch_all(table, v6);
            desired.entry(c.prefix).or_insert(c);
        }
        let have = applied_routes(&*self.fib, &self.applied).get(&table);
        for p in have.iter().flat_map(|h| h.prefixes()) {
            if !desired.contains_key(&p) {
                ops.push(FibOp::DelRoute { table, prefix: p });
            }
        }
        for (p, r) in desired {
            if have
                .and_then(|h| h.get(&p))
                .is_none_or(|h| !r.is_stored_as(&h))
            {
                ops.push(FibOp::PutRoute(r));
            }
        }
    }

    /// The connected routes of a VRF as of the current interface snapshot
    /// (none without an interface view).
    fn connected_of(&self, cfg: &Config, vrf: &VrfKey) -> BTreeMap<IpNet, Connected> {
        match &self.ifs {
            Some(ifs) if cfg.ifconfs_of(vrf).next().is_some() => {
                crate::connected::of_vrf(cfg, &ifs.load(), vrf)
            }
            _ => BTreeMap::new(),
        }
    }

    fn ilm_ops(&mut self, cfg: &Config, owner: &[u8], ops: &mut Vec<FibOp>) {
        let want = ilm_for(cfg, owner);
        let have = self.applied.ilm_by_owner.get(owner).copied();
        if let Some(l) = have {
            if want.is_none_or(|w| w.label != l) {
                ops.push(FibOp::DelIlm { label: l });
            }
        }
        if let Some(w) = want {
            if self.applied.ilm.get(&w.label).map(|x| &x.0) != Some(&w) {
                ops.push(FibOp::PutIlm(w));
            }
        }
    }

    /// Send operations; record what took, and what failed against its VRF.
    fn execute(&mut self, cfg: &Config, ops: Vec<FibOp>) {
        if ops.is_empty() {
            return;
        }
        let results = self.fib.apply(&ops);
        let mut done = 0usize;
        // Route puts that took are recorded a run at a time (merged per
        // table); any other operation keeps its place after them.
        let mut run: Vec<Route> = Vec::new();
        for (op, res) in ops.into_iter().zip(results) {
            let table = op_table(&op, cfg);
            match res {
                Ok(()) => {
                    done += 1;
                }
                Err(FibError::Unsupported(what)) => {
                    // The platform cannot do it: say so on the VRF, do not retry.
                    self.notes.insert(
                        table,
                        format!("{what} not programmed: the kernel has no support for it"),
                    );
                }
                Err(e) => {
                    tracing::warn!(table, error = %e, "FIB operation failed");
                    self.failures.entry(table).or_insert_with(|| e.to_string());
                    continue;
                }
            }
            match op {
                FibOp::PutRoute(r) => run.push(r),
                op => {
                    self.applied.put_routes(run.drain(..));
                    self.record(cfg, op);
                }
            }
        }
        self.applied.put_routes(run);
        tracing::debug!(done, failures = self.failures.len(), "FIB round");
    }

    fn record(&mut self, cfg: &Config, op: FibOp) {
        let a = &mut self.applied;
        match op {
            FibOp::PutVrf(v) => {
                a.vrfs.insert(v.table, v);
            }
            FibOp::DelVrf { table } => {
                a.vrfs.remove(&table);
                a.routes.remove(&table);
                self.notes.remove(&table);
            }
            FibOp::PutRoute(r) => a.put_routes([r]),
            FibOp::DelRoute { table, prefix } => {
                if let Some(held) = a.routes.get_mut(&table) {
                    held.remove(&prefix);
                    if held.is_empty() {
                        a.routes.remove(&table);
                    }
                }
            }
            FibOp::PutIlm(i) => {
                let owner = cfg.label_holder(i.label).cloned().unwrap_or_default();
                if let Some((_, old)) = a.ilm.insert(i.label, (i, owner.clone())) {
                    a.ilm_by_owner.remove(&old);
                }
                a.ilm_by_owner.insert(owner, i.label);
            }
            FibOp::DelIlm { label } => {
                if let Some((_, o)) = a.ilm.remove(&label) {
                    a.ilm_by_owner.remove(&o);
                }
            }
        }
    }

    /// Publish each VRF's status.
    fn publish(&mut self, cfg: &Config, all: bool) {
        let now = crate::clock::ticks();
        let keys: Vec<VrfKey> = if all {
            self.status
                .keys()
                .filter(|k| !cfg.vrfs.contains_key(*k))
                .cloned()
                .chain(cfg.vrfs.keys().cloned())
                .collect()
        } else {
            // Only VRFs this round touched, plus those with failures or notes.
            let mut t: BTreeSet<VrfKey> = std::mem::take(&mut self.touched);
            for table in self.failures.keys().chain(self.notes.keys()) {
                if let Some(v) = cfg.table_owner(*table) {
                    t.insert(v.clone());
                }
            }
            t.into_iter().collect()
        };
        self.touched.clear();
        let mut changed = false;
        for k in keys {
            let Some(r) = cfg.vrfs.get(&k) else {
                changed |= self.status.remove(&k).is_some();
                continue;
            };
            let (status, reason) = if r.state != RowState::Active {
                (FibStatus::NotApplicable, "row not active".to_string())
            } else if r.admin != crate::AdminStatus::Up
                && self.applied.vrfs.contains_key(&r.table_id)
            {
                (
                    FibStatus::NotApplicable,
                    "admin status not up: table kept, routes withdrawn".to_string(),
                )
            } else if let Some(e) = self.failures.get(&r.table_id) {
                (FibStatus::Failed, e.clone())
            } else if self.applied.vrfs.contains_key(&r.table_id) {
                (
                    FibStatus::Installed,
                    self.notes.get(&r.table_id).cloned().unwrap_or_default(),
                )
            } else {
                (FibStatus::Pending, String::new())
            };
            let routes = applied_routes(&*self.fib, &self.applied)
                .get(&r.table_id)
                .map_or(0, |t| u32::try_from(t.len()).unwrap_or(u32::MAX));
            match self.status.get(&k) {
                Some(s) if s.status == status && s.reason == reason => {
                    if s.routes != routes {
                        // Not a status change: last_change stays.
                        let s = VrfFibState {
                            routes,
                            ..s.clone()
                        };
                        self.status.insert(k, s);
                        changed = true;
                    }
                }
                _ => {
                    self.status.insert(
                        k,
                        VrfFibState {
                            status,
                            reason,
                            last_change: now,
                            routes,
                        },
                    );
                    changed = true;
                }
            }
        }
        if changed {
            let mut v = (**self.view.load()).clone();
            v.vrfs = self.status.clone();
            self.view.store(Arc::new(v));
        }
    }
}

/// Metric of the catch-all routes (the largest the kernel keeps, as the
/// kernel's VRF documentation uses for its unreachable default).
pub const CATCH_ALL_METRIC: u32 = 4_278_198_272;

/// The default route of a family, which every installed VRF table holds so
/// that traffic steered into the VRF never falls through to the main table:
/// the operator's best default route, or a reject at the highest metric.
fn catch_all(table: u32, v6: bool) -> Route {
    let prefix = if v6 {
        IpNet::V6(ipnet::Ipv6Net::new(std::net::Ipv6Addr::UNSPECIFIED, 0).expect("valid"))
    } else {
        min_net()
    };
    Route {
        table,
        prefix,
        nexthop: NextHop::Reject,
        metric: CATCH_ALL_METRIC,
        labels: Labels::new(),
    }
}

fn is_default(p: &IpNet) -> bool {
    p.prefix_len() == 0
}

/// Owners (of installed ILM entries) that belong to one VRF: the V, P and N
/// owner ranges of its key.
fn owners_in(map: &BTreeMap<Vec<u8>, u32>, vrf: &VrfKey) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for t in [b'V', b'P', b'N'] {
        let p = owner_start(t, vrf);
        out.extend(
            map.range(p.clone()..)
                .take_while(|(o, _)| o.starts_with(&p))
                .filter(|(o, _)| label_owner_vrf_key(o).as_ref() == Some(vrf))
                .map(|(o, _)| o.clone()),
        );
    }
    out
}

fn min_net() -> IpNet {
    IpNet::V4(ipnet::Ipv4Net::new(std::net::Ipv4Addr::UNSPECIFIED, 0).expect("valid"))
}

/// The table an operation concerns (0 when unknown).
fn op_table(op: &FibOp, cfg: &Config) -> u32 {
    match op {
        FibOp::PutVrf(v) => v.table,
        FibOp::DelVrf { table } | FibOp::DelRoute { table, .. } => *table,
        FibOp::PutRoute(r) => r.table,
        FibOp::PutIlm(i) => match i.action {
            IlmAction::PopLookup { table } => table,
            IlmAction::PopForward { .. } => cfg
                .label_holder(i.label)
                .and_then(|o| label_owner_vrf_key(o))
                .and_then(|v| cfg.vrfs.get(&v).map(|r| r.table_id))
                .unwrap_or(0),
        },
        FibOp::DelIlm { .. } => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;
    use crate::keys::IfConfKey;
    use crate::routes::{RteKey, RteRow};
    use fib::{Capabilities, FibState, ShadowFib};
    use std::sync::Mutex;

    /// A shadow FIB the test can look into while the reconciler owns it.
    #[derive(Clone)]
    struct Shared(Arc<Mutex<ShadowFib>>);

    impl Fib for Shared {
        fn capabilities(&self) -> Capabilities {
            self.0.lock().unwrap().capabilities()
        }
        fn load(&mut self) -> Result<FibState, FibError> {
            self.0.lock().unwrap().load()
        }
        fn apply(&mut self, ops: &[FibOp]) -> Vec<Result<(), FibError>> {
            self.0.lock().unwrap().apply(ops)
        }
    }

    fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
        let t = Instant::now();
        while !f() {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn vrf(n: &str) -> VrfKey {
        VrfKey::new(n.as_bytes()).unwrap()
    }

    fn route(v: &VrfKey, p: &str, nh: &str, metric: i32) -> (RteKey, RteRow) {
        let k = RteKey::new(v, p.parse().unwrap(), &[0, 0], Some(nh.parse().unwrap()));
        let mut r = RteRow {
            state: RowState::Active,
            rtype: crate::routes::RteType::Remote,
            ..RteRow::default()
        };
        r.metrics[0] = metric;
        (k, r)
    }

    fn start(
        store: &Arc<Store>,
        shadow: &Shared,
    ) -> (
        Sender<Hint>,
        Arc<ArcSwap<FibView>>,
        std::thread::JoinHandle<()>,
    ) {
        let (tx, view, h) = Reconciler::spawn(
            Box::new(shadow.clone()),
            Backend::Shadow,
            store.clone(),
            Default::default(),
            None,
        );
        let hooks = Mutex::new(tx.clone());
        store.on_commit(Box::new(move |_, eff| {
            for h in hints(eff) {
                let _ = hooks.lock().unwrap().send(h);
            }
        }));
        (tx, view, h)
    }

    /// With the shadow backend itself (not a wrapper), the reconciler
    /// reads what the backend holds instead of keeping a second copy, and
    /// converges the same way.
    #[test]
    fn shadow_backend_is_the_applied_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let red = vrf("red");
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        let (a1, r1) = route(&red, "10.1.0.0/16", "192.0.2.1", 20);
        store
            .commit(
                1,
                vec![
                    Change::PutVrf(red.clone(), row),
                    Change::PutRte(a1.clone(), r1),
                ],
            )
            .unwrap();
        let view = Arc::new(ArcSwap::from_pointee(FibView::new(
            Backend::Shadow,
            ShadowFib::new().capabilities(),
        )));
        let mut rec = Reconciler::new(
            Box::new(ShadowFib::new()),
            store.clone(),
            Default::default(),
            None,
            view.clone(),
        );
        let table = store.snapshot().vrfs[&red].table_id;
        let held = |rec: &Reconciler| -> Vec<String> {
            let t = rec.fib.held_routes().unwrap();
            t.get(&table)
                .map(|t| t.prefixes().map(|p| p.to_string()).collect())
                .unwrap_or_default()
        };
        rec.resync(&store.snapshot());
        rec.publish(&store.snapshot(), true);
        assert!(rec.applied.routes.is_empty(), "no second copy");
        assert_eq!(held(&rec), ["0.0.0.0/0", "10.1.0.0/16", "::/0"]);
        assert_eq!(view.load().vrf(&red).routes, 3);
        // Level-triggered: another full round changes nothing.
        rec.full(&store.snapshot());
        assert_eq!(held(&rec), ["0.0.0.0/0", "10.1.0.0/16", "::/0"]);
        store.commit(2, vec![Change::DelRte(a1)]).unwrap();
        rec.incremental(
            &store.snapshot(),
            vec![Hint::Prefix(red.clone(), "10.1.0.0/16".parse().unwrap())],
        );
        rec.publish(&store.snapshot(), false);
        assert_eq!(held(&rec), ["0.0.0.0/0", "::/0"]);
        assert_eq!(view.load().vrf(&red).routes, 2);
        assert!(rec.failures.is_empty());
    }

    #[test]
    fn converges_incrementally_and_after_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let shadow = Shared(Arc::new(Mutex::new(ShadowFib::new())));
        let (tx, view, h) = start(&store, &shadow);
        let red = vrf("red");
        let mut row = VrfRow::new(Storage::NonVolatile);
        row.state = RowState::Active;
        let mut b = IfConfRow::new(Storage::NonVolatile);
        b.state = RowState::Active;
        let (a1, r1) = route(&red, "10.1.0.0/16", "192.0.2.1", 20);
        let (a2, r2) = route(&red, "10.1.0.0/16", "192.0.2.2", 10);
        let (a3, r3) = route(&red, "2001:db8::/32", "2001:db8:ffff::1", -1);
        store
            .commit(
                1,
                vec![
                    Change::PutVrf(red.clone(), row.clone()),
                    Change::PutIfConf(IfConfKey::new(&red, 1), b),
                    Change::PutRte(a1.clone(), r1),
                    Change::PutRte(a2.clone(), r2),
                    Change::PutRte(a3, r3),
                ],
            )
            .unwrap();
        let fib = || shadow.0.lock().unwrap().state();
        wait_for("routes", || fib().routes.len() == 4);
        let st = fib();
        assert_eq!(
            st.vrfs,
            vec![VrfFib {
                name: "l3v10000".into(),
                table: 10_000,
                interfaces: vec![1]
            }]
        );
        let defaults: Vec<&Route> = st
            .routes
            .iter()
            .filter(|r| r.prefix.prefix_len() == 0)
            .collect();
        // every installed table holds a reject default per family, so VRF
        // traffic never falls through to the main table
        assert_eq!(defaults.len(), 2);
        assert!(defaults
            .iter()
            .all(|r| r.nexthop == NextHop::Reject && r.metric == CATCH_ALL_METRIC));
        let v4 = st
            .routes
            .iter()
            .find(|r| r.prefix.addr().is_ipv4() && r.prefix.prefix_len() > 0)
            .unwrap();
        // the lower metric wins
        assert_eq!(
            v4.nexthop,
            NextHop::Via {
                addr: "192.0.2.2".parse().unwrap(),
                ifindex: 0
            }
        );
        assert_eq!(v4.metric, 10);
        let label = store.snapshot().label(&label_owner_vrf(&red)).unwrap();
        assert_eq!(
            st.ilm,
            vec![Ilm {
                label,
                action: IlmAction::PopLookup { table: 10_000 }
            }]
        );
        wait_for("status", || {
            view.load().vrf(&red).status == FibStatus::Installed
        });

        // remove the best route: the other next hop takes over
        store.commit(2, vec![Change::DelRte(a2)]).unwrap();
        wait_for("failover", || {
            fib().routes.iter().any(|r| {
                r.nexthop
                    == NextHop::Via {
                        addr: "192.0.2.1".parse().unwrap(),
                        ifindex: 0,
                    }
            })
        });
        // admin down withdraws the routes, keeps the table
        row.admin = AdminStatus::Down;
        store
            .commit(3, vec![Change::PutVrf(red.clone(), row.clone())])
            .unwrap();
        wait_for("withdraw", || fib().routes.len() == 2);
        assert_eq!(fib().vrfs.len(), 1);
        row.admin = AdminStatus::Up;
        store
            .commit(4, vec![Change::PutVrf(red.clone(), row.clone())])
            .unwrap();
        wait_for("re-add", || fib().routes.len() == 4);
        tx.send(Hint::Stop).unwrap();
        h.join().unwrap();

        // A restart: the FIB holds a stray of ours; the store holds the truth.
        shadow.0.lock().unwrap().apply(&[FibOp::PutRoute(Route {
            table: 10_000,
            prefix: "10.99.0.0/16".parse().unwrap(),
            nexthop: NextHop::Blackhole,
            metric: 0,
            labels: Labels::new(),
        })]);
        let (tx, _view, h) = start(&store, &shadow);
        wait_for("stray removed", || fib().routes.len() == 4);
        assert!(fib()
            .routes
            .iter()
            .all(|r| r.prefix != "10.99.0.0/16".parse::<IpNet>().unwrap()));
        // destroying the VRF removes everything
        store.commit(5, vec![Change::DelVrf(red)]).unwrap();
        wait_for("all gone", || {
            let s = fib();
            s.vrfs.is_empty() && s.routes.is_empty() && s.ilm.is_empty()
        });
        tx.send(Hint::Stop).unwrap();
        h.join().unwrap();
    }

    /// Connected routes: installed as `dev IF` metric 0, over a static row
    /// and a BGP route of the same prefix; an address or link change (a
    /// prefix hint, as the VPN glue sends it) brings the next best back;
    /// admin down withdraws them; a full round agrees.
    #[test]
    fn connected_routes_win_and_follow_the_interfaces() {
        use crate::ifaces::{IfAddr, IfInfo, Interfaces, OperState};
        use crate::vpn::BgpRoutes;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let shadow = Shared(Arc::new(Mutex::new(ShadowFib::new())));
        let link = |oper| IfInfo::fixture(7, "ce0", oper);
        let addr = |s: &str| IfAddr {
            addr: s.parse().unwrap(),
            peer: None,
            prefix_route: true,
            since: 0,
        };
        let both = vec![
            addr("10.77.1.1/24"),
            addr("2001:db8:77::1/64"),
            addr("fe80::1/64"),
        ];
        let ifs = Arc::new(ArcSwap::from_pointee(
            Interfaces::from_list(vec![link(OperState::Up)]).with_addrs(7, both.clone()),
        ));
        let bgp: Arc<ArcSwap<BgpRoutes>> = Default::default();
        let (tx, view, h) = Reconciler::spawn(
            Box::new(shadow.clone()),
            Backend::Shadow,
            store.clone(),
            bgp.clone(),
            Some(ifs.clone()),
        );
        let hooks = Mutex::new(tx.clone());
        store.on_commit(Box::new(move |_, eff| {
            for h in hints(eff) {
                let _ = hooks.lock().unwrap().send(h);
            }
        }));
        let red = vrf("red");
        let v4: IpNet = "10.77.1.0/24".parse().unwrap();
        let v6: IpNet = "2001:db8:77::/64".parse().unwrap();
        let mut routes = BgpRoutes::default();
        routes.insert(&red, v6, bgp_route("2001:db8::2", 100));
        bgp.store(Arc::new(routes));
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        let mut b = IfConfRow::new(Storage::Volatile);
        b.state = RowState::Active;
        let (sk, sr) = route(&red, "10.77.1.0/24", "192.0.2.1", 5);
        store
            .commit(
                1,
                vec![
                    Change::PutVrf(red.clone(), row.clone()),
                    Change::PutIfConf(IfConfKey::new(&red, 7), b),
                    Change::PutRte(sk, sr),
                ],
            )
            .unwrap();
        let table = store.snapshot().vrfs[&red].table_id;
        let lines = || {
            let mut v: Vec<String> = shadow
                .0
                .lock()
                .unwrap()
                .state()
                .routes
                .iter()
                .filter(|r| r.prefix == v4 || r.prefix == v6)
                .map(|r| r.to_string())
                .collect();
            v.sort();
            v
        };
        let conn4 = format!("10.77.1.0/24 ifindex 7 table {table}");
        let conn6 = format!("2001:db8:77::/64 ifindex 7 table {table}");
        let stat4 = format!("10.77.1.0/24 via 192.0.2.1 table {table} metric 5");
        let bgp6 =
            format!("2001:db8:77::/64 encap mpls 100 via 2001:db8::2 table {table} metric 200");
        wait_for("connected routes", || {
            lines() == vec![conn4.clone(), conn6.clone()]
        });
        // catch-alls and the two connected routes (fe80:: gives none)
        wait_for("count", || view.load().vrf(&red).routes == 4);

        // The IPv4 address goes: the static row takes the prefix back.
        ifs.store(Arc::new(
            Interfaces::from_list(vec![link(OperState::Up)]).with_addrs(7, both[1..].to_vec()),
        ));
        tx.send(Hint::Prefixes(red.clone(), vec![v4])).unwrap();
        wait_for("static back", || {
            lines() == vec![stat4.clone(), conn6.clone()]
        });

        // The link goes down: the BGP route takes the IPv6 prefix back.
        ifs.store(Arc::new(
            Interfaces::from_list(vec![link(OperState::Down)]).with_addrs(7, both.clone()),
        ));
        tx.send(Hint::Prefixes(red.clone(), vec![v4, v6])).unwrap();
        wait_for("BGP back", || lines() == vec![stat4.clone(), bgp6.clone()]);

        // Up again, both addresses: a full round finds the same as hints.
        ifs.store(Arc::new(
            Interfaces::from_list(vec![link(OperState::Up)]).with_addrs(7, both.clone()),
        ));
        tx.send(Hint::Prefixes(red.clone(), vec![v6, v4])).unwrap();
        wait_for("connected again", || {
            lines() == vec![conn4.clone(), conn6.clone()]
        });
        let before = shadow.0.lock().unwrap().state();
        tx.send(Hint::All).unwrap();
        tx.send(Hint::Vrf(red.clone())).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(shadow.0.lock().unwrap().state(), before);

        // Admin down: no routes but the catch-alls.
        row.admin = AdminStatus::Down;
        store
            .commit(2, vec![Change::PutVrf(red.clone(), row)])
            .unwrap();
        wait_for("withdrawn", || lines().is_empty());
        assert_eq!(view.load().vrf(&red).routes, 2);
        tx.send(Hint::Stop).unwrap();
        h.join().unwrap();
    }

    #[test]
    fn per_prefix_labels_get_forwarding_ilm() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let shadow = Shared(Arc::new(Mutex::new(ShadowFib::new())));
        let (tx, _view, h) = start(&store, &shadow);
        let k = vrf("pp");
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        row.label_mode = LabelMode::PerPrefix;
        let (a1, r1) = route(&k, "10.2.0.0/16", "192.0.2.7", 0);
        store
            .commit(
                1,
                vec![Change::PutVrf(k.clone(), row), Change::PutRte(a1, r1)],
            )
            .unwrap();
        let fib = || shadow.0.lock().unwrap().state();
        wait_for("ilm", || fib().ilm.len() == 1);
        let l = store
            .snapshot()
            .label(&label_owner_prefix(&k, &"10.2.0.0/16".parse().unwrap()))
            .unwrap();
        assert_eq!(
            fib().ilm,
            vec![Ilm {
                label: l,
                action: IlmAction::PopForward {
                    via: "192.0.2.7".parse().unwrap(),
                    ifindex: 0
                }
            }]
        );
        tx.send(Hint::Stop).unwrap();
        h.join().unwrap();
    }

    fn bgp_route(nh: &str, label: u32) -> crate::vpn::BgpRoute {
        crate::vpn::BgpRoute {
            source: crate::vpn::Source::Imported {
                rd: [0, 0, 0xfd, 0xe8, 0, 0, 0, 1],
            },
            label: Some(label),
            attrs: Arc::new(bgp::PathAttrs {
                next_hop: Some(nh.parse().unwrap()),
                ..Default::default()
            }),
            updated: 0,
        }
    }

    #[test]
    fn bgp_prefix_batches_converge_and_the_route_count_is_published() {
        use crate::vpn::BgpRoutes;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let shadow = Shared(Arc::new(Mutex::new(ShadowFib::new())));
        let bgp: Arc<ArcSwap<BgpRoutes>> = Default::default();
        let (tx, view, h) = Reconciler::spawn(
            Box::new(shadow.clone()),
            Backend::Shadow,
            store.clone(),
            bgp.clone(),
            None,
        );
        let hooks = Mutex::new(tx.clone());
        store.on_commit(Box::new(move |_, eff| {
            for h in hints(eff) {
                let _ = hooks.lock().unwrap().send(h);
            }
        }));
        let (a, b) = (vrf("a"), vrf("b"));
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        // b has a static route: it wins over BGP for its prefix
        let (sk, sr) = route(&b, "10.0.1.0/24", "192.0.2.9", 0);
        store
            .commit(
                1,
                vec![
                    Change::PutVrf(a.clone(), row.clone()),
                    Change::PutVrf(b.clone(), row.clone()),
                    Change::PutRte(sk, sr),
                ],
            )
            .unwrap();
        let count = |k: &VrfKey| view.load().vrf(k).routes;
        wait_for("catch-alls and the static route", || {
            count(&a) == 2 && count(&b) == 3
        });
        let installed_at = view.load().vrf(&a).last_change;
        let nets: Vec<IpNet> = (0..100u32)
            .map(|i| IpNet::V4(ipnet::Ipv4Net::new((0x0a00_0000 + (i << 8)).into(), 24).unwrap()))
            .collect();
        let mut routes = BgpRoutes::default();
        for p in &nets {
            routes.insert(&a, *p, bgp_route("192.0.2.1", 100));
            routes.insert(&b, *p, bgp_route("192.0.2.2", 200));
        }
        bgp.store(Arc::new(routes.clone()));
        // batches of any size, a prefix twice, a prefix hint among them
        tx.send(Hint::Prefixes(a.clone(), nets[..60].to_vec()))
            .unwrap();
        tx.send(Hint::Prefixes(b.clone(), nets.clone())).unwrap();
        tx.send(Hint::Prefix(a.clone(), nets[70])).unwrap();
        tx.send(Hint::Prefixes(a.clone(), nets[50..].to_vec()))
            .unwrap();
        wait_for("BGP routes", || count(&a) == 102 && count(&b) == 102);
        let st = shadow.0.lock().unwrap().state();
        let a_table = store.snapshot().vrfs[&a].table_id;
        let b_table = store.snapshot().vrfs[&b].table_id;
        let r = st
            .routes
            .iter()
            .find(|r| r.table == a_table && r.prefix == nets[5])
            .unwrap();
        assert_eq!(
            r.to_string(),
            format!("10.0.5.0/24 encap mpls 100 via 192.0.2.1 table {a_table} metric 200")
        );
        let r = st
            .routes
            .iter()
            .find(|r| r.table == b_table && r.prefix == nets[1])
            .unwrap();
        assert_eq!(
            r.to_string(),
            format!("10.0.1.0/24 via 192.0.2.9 table {b_table}"),
            "the static route wins"
        );
        // a count change is no status change
        assert_eq!(view.load().vrf(&a).last_change, installed_at);
        assert_eq!(view.load().vrf(&a).status, FibStatus::Installed);
        // one prefix among many BGP routes (a lookup, not a walk)
        routes.insert(&a, nets[80], bgp_route("192.0.2.3", 300));
        bgp.store(Arc::new(routes.clone()));
        tx.send(Hint::Prefix(a.clone(), nets[80])).unwrap();
        let want = format!("10.0.80.0/24 encap mpls 300 via 192.0.2.3 table {a_table} metric 200");
        wait_for("updated", || {
            shadow
                .0
                .lock()
                .unwrap()
                .state()
                .routes
                .iter()
                .any(|r| r.to_string() == want)
        });
        assert_eq!(count(&a), 102);
        // withdrawals
        for p in &nets[..30] {
            routes.remove(&a, p);
        }
        bgp.store(Arc::new(routes));
        tx.send(Hint::Prefixes(a.clone(), nets[..30].to_vec()))
            .unwrap();
        wait_for("withdrawn", || count(&a) == 72);
        assert_eq!(count(&b), 102);
        // the incremental rounds left what a full round wants: no-op
        let before = shadow.0.lock().unwrap().state();
        tx.send(Hint::All).unwrap();
        tx.send(Hint::Vrf(b.clone())).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(shadow.0.lock().unwrap().state(), before);
        // admin down: the catch-alls stay
        row.admin = AdminStatus::Down;
        store
            .commit(2, vec![Change::PutVrf(a.clone(), row)])
            .unwrap();
        wait_for("admin down", || count(&a) == 2);
        store.commit(3, vec![Change::DelVrf(b.clone())]).unwrap();
        wait_for("b gone", || view.load().vrfs.get(&b).is_none());
        assert_eq!(count(&b), 0);
        tx.send(Hint::Stop).unwrap();
        h.join().unwrap();
    }

    /// Heap bytes in use (glibc; run with MALLOC_ARENA_MAX=1 so every
    /// thread allocates from the arena mallinfo2 reports).
    #[cfg(feature = "bench-internal")]
    fn heap_in_use() -> usize {
        // SAFETY: mallinfo2 only reads the allocator's statistics.
        let m = unsafe { libc::mallinfo2() };
        m.uordblks + m.hblkhd
    }

    /// CPU time of the calling thread.
    #[cfg(feature = "bench-internal")]
    fn thread_cpu() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: ts is a valid timespec for clock_gettime to fill.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    /// The hints the VPN glue sends for one on_change call.
    #[cfg(feature = "bench-internal")]
    fn prefix_hints(v: &VrfKey, ps: &[IpNet]) -> Vec<Hint> {
        vec![Hint::Prefixes(v.clone(), ps.to_vec())]
    }

    /// 1000 VRFs x 1000 imported BGP routes through the reconciler into a
    /// shadow FIB: CPU of the ingest rounds and heap they leave behind. A
    /// benchmark, compiled only with the `bench-internal` feature (so the
    /// test suite neither runs nor skips it):
    /// `MALLOC_ARENA_MAX=1 cargo test --release -p vpn-core --lib
    /// --features bench-internal bench_bgp_ingest -- --nocapture`
    #[cfg(feature = "bench-internal")]
    #[test]
    fn bench_bgp_ingest() {
        use crate::vpn::{BgpRoute, BgpRoutes, Source};
        const VRFS: usize = 1000;
        const PER_VRF: usize = 1000;
        const CHUNK: usize = 250; // prefixes per on_change call (one UPDATE)
        const CALLS_PER_ROUND: usize = 64;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let shadow = Shared(Arc::new(Mutex::new(ShadowFib::new())));
        let bgp: Arc<ArcSwap<BgpRoutes>> = Default::default();
        let view = Arc::new(ArcSwap::from_pointee(FibView::new(
            Backend::Shadow,
            shadow.capabilities(),
        )));
        let mut rec = Reconciler::new(
            Box::new(shadow.clone()),
            store,
            bgp.clone(),
            None,
            view.clone(),
        );
        let keys: Vec<VrfKey> = (0..VRFS).map(|i| vrf(&format!("v{i}"))).collect();
        let changes: Vec<Change> = keys
            .iter()
            .map(|k| {
                let mut row = VrfRow::new(Storage::Volatile);
                row.state = RowState::Active;
                Change::PutVrf(k.clone(), row)
            })
            .collect();
        let (cfg, _) = Config::default().apply(&changes, 1);
        rec.full(&cfg);
        rec.publish(&cfg, true);
        let mut routes = BgpRoutes::default();
        let mut calls = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let attrs = Arc::new(bgp::PathAttrs {
                next_hop: Some(std::net::IpAddr::from([192, 0, 2, (i % 250) as u8 + 1])),
                ..Default::default()
            });
            let mut rd = [0u8; 8];
            rd[2..4].copy_from_slice(&65000u16.to_be_bytes());
            rd[4..8].copy_from_slice(&(i as u32).to_be_bytes());
            let ps: Vec<IpNet> = (0..PER_VRF)
                .map(|j| {
                    let a = std::net::Ipv4Addr::from(0x0a00_0000u32 + ((j as u32) << 8));
                    IpNet::V4(ipnet::Ipv4Net::new(a, 24).unwrap())
                })
                .collect();
            for p in &ps {
                routes.insert(
                    k,
                    *p,
                    BgpRoute {
                        source: Source::Imported { rd },
                        label: Some(16 + i as u32),
                        attrs: attrs.clone(),
                        updated: 0,
                    },
                );
            }
            for c in ps.chunks(CHUNK) {
                calls.push((k.clone(), c.to_vec()));
            }
        }
        bgp.store(Arc::new(routes));
        rec.bgp_now = bgp.load_full();
        let heap0 = heap_in_use();
        let rounds: Vec<Vec<Hint>> = calls
            .chunks(CALLS_PER_ROUND)
            .map(|cs| cs.iter().flat_map(|(k, ps)| prefix_hints(k, ps)).collect())
            .collect();
        let heap_hints = heap_in_use() - heap0;
        let (t0, c0) = (Instant::now(), thread_cpu());
        for hints in rounds {
            rec.incremental(&cfg, hints);
            rec.publish(&cfg, false);
        }
        let (wall, cpu) = (t0.elapsed(), thread_cpu() - c0);
        let heap_after = heap_in_use() - heap0;
        let n = shadow.0.lock().unwrap().route_count();
        assert_eq!(n, VRFS * PER_VRF + 2 * VRFS);
        assert!(rec.failures.is_empty());
        eprintln!(
            "bgp ingest: {} routes, cpu {:.3} s, wall {:.3} s, hints {} MiB, \
             heap after (applied + shadow + status) {} MiB",
            VRFS * PER_VRF,
            cpu.as_secs_f64(),
            wall.as_secs_f64(),
            heap_hints >> 20,
            heap_after >> 20,
        );
        // A second pass (same routes): the level-triggered no-op.
        let hints: Vec<Hint> = calls
            .iter()
            .flat_map(|(k, ps)| prefix_hints(k, ps))
            .collect();
        let c0 = thread_cpu();
        rec.incremental(&cfg, hints);
        rec.publish(&cfg, false);
        eprintln!(
            "no-op round over all routes: cpu {:.3} s",
            (thread_cpu() - c0).as_secs_f64()
        );
        // Full pass (e.g. a retry): everything compared again.
        let c0 = thread_cpu();
        rec.full(&cfg);
        rec.publish(&cfg, true);
        eprintln!("full round: cpu {:.3} s", (thread_cpu() - c0).as_secs_f64());
    }
}
