//! The netlink backend: the Linux kernel FIB of the calling thread's network
//! namespace, programmed over a blocking NETLINK_ROUTE socket (the
//! reconciler calls it from its own thread).
//!
//! What is ours is marked, so [`Fib::load`] can find it after a restart or
//! a `kill -9`: every route and rule carries our protocol number
//! ([`RTPROT_L3VPND`] unless configured otherwise), and VRF devices are
//! named `l3v<table>`.
//!
//! ```text
//!  FibOp ─► check::validate ─► msg::* (rtnetlink messages) ─► sock::Batch
//!                                                                  │ full, or an op
//!                                                                  ▼ needs kernel state
//!                               results[op] ◄─ acks by seq ◄─ sock::Conn::flush
//! ```
//!
//! A VRF is a routing table plus what steers its interfaces into it:
//! - where the kernel has VRF devices: a `vrf` link `l3v<table>` bound to the
//!   table (its alias is the VRF's name), the interfaces enslaved to it;
//! - where it has not: per bound interface, `iif <dev> lookup <table>` rules
//!   for IPv4 and IPv6 at a configured priority (default 1000).
//!
//! Labels (MPLS encap on routes, ILM entries) go to the kernel where it has
//! AF_MPLS, else the operation fails with [`FibError::Unsupported`]: a label
//! is never dropped silently.
//!
//! Kernel behaviours the backend hides:
//! - a route is keyed by (table, prefix, metric) in the kernel, by (table,
//!   prefix) here. NLM_F_REPLACE only replaces the route of the same metric,
//!   so a put that changes the metric removes the other metrics of ours for
//!   the prefix afterwards (known from the last load and the puts since).
//! - IPv6 has no metric 0: the kernel stores 1024 ([`crate::IPV6_DEFAULT_METRIC`]).
//!   [`Route::is_installed_as`] compares accordingly.
//! - deleting what is absent succeeds (ESRCH/ENOENT are "already so").

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ipnet::IpNet;
use mpls::IlmAction;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use tracing::{debug, warn};

use crate::check::{describe, reserved_table, validate};
use crate::{
    caps, Capabilities, Fib, FibError, FibOp, FibState, Route, VrfFib, IPV6_DEFAULT_METRIC,
};

mod installed;
pub(crate) mod msg;
pub(crate) mod sock;

use installed::Installed;

use msg::{Link, OurRule};
use sock::{Batch, Conn, Failure};

/// Our rtm_protocol number: in /etc/iproute2/rt_protos terms, routes and
/// rules with `proto 201` are l3vpnd's.
pub const RTPROT_L3VPND: u8 = 201;

/// Name prefix of our VRF devices (`l3v<table>`; IFNAMSIZ leaves no room
/// for the VRF's own name, which goes to the device's alias).
pub const VRF_DEVICE_PREFIX: &str = "l3v";

/// Priority of our `iif <dev> lookup <table>` rules by default: before the
/// main table (32766), where the kernel puts its own l3mdev rule.
pub const DEFAULT_RULE_PRIORITY: u32 = 1000;

const RTM_NEWROUTE: u16 = 24;

/// How the netlink backend marks and places what it installs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetlinkConfig {
    /// rtm_protocol / FRA_PROTOCOL of everything we install.
    pub protocol: u8,
    /// Priority of the per-interface rules (kernels without VRF devices).
    pub rule_priority: u32,
}

impl Default for NetlinkConfig {
    fn default() -> Self {
        NetlinkConfig {
            protocol: RTPROT_L3VPND,
            rule_priority: DEFAULT_RULE_PRIORITY,
        }
    }
}

/// The kernel FIB (see the module docs).
pub struct NetlinkFib {
    conn: Conn,
    caps: Capabilities,
    cfg: NetlinkConfig,
    /// Metrics of our routes per (table, prefix), as last loaded and
    /// applied since; lets a put that changes the metric remove the old one.
    installed: Installed,
}

/// Links and our rules as the kernel has them, read once per apply when an
/// operation needs them and kept current with what the apply queues.
struct View {
    links: Vec<Link>,
    rules: Vec<OurRule>,
}

impl View {
    fn link(&self, index: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.index == index)
    }
    fn link_named(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }
}

/// One apply in progress.
struct Ctx<'a> {
    ops: &'a [FibOp],
    results: Vec<Result<(), FibError>>,
    batch: Batch,
    view: Option<View>,
}

const GONE: &[i32] = &[libc::ESRCH, libc::ENOENT];
const EXISTS: &[i32] = &[libc::EEXIST];

fn effective_metric(r: &Route) -> u32 {
    if r.prefix.addr().is_ipv6() && r.metric == 0 {
        IPV6_DEFAULT_METRIC
    } else {
        r.metric
    }
}

/// The FibError of a failed message of `op`.
fn to_error(op: &FibOp, f: Failure) -> FibError {
    match (op, f) {
        (FibOp::PutRoute(r), Failure::Kernel { errno, .. })
            if !r.labels.is_empty() && errno == libc::EOPNOTSUPP =>
        {
            FibError::Unsupported("mpls encap")
        }
        (_, Failure::Kernel { errno, msg }) => FibError::Kernel {
            op: describe(op),
            errno,
            msg,
        },
        (_, Failure::Io(s)) => FibError::Io(format!("{}: {s}", describe(op))),
    }
}

fn enodev(op: &FibOp, msg: String) -> FibError {
    FibError::Kernel {
        op: describe(op),
        errno: libc::ENODEV,
        msg,
    }
}

impl NetlinkFib {
    /// Opens the backend in the calling thread's network namespace with the
    /// default configuration and detects what the kernel can do.
    pub fn new() -> Result<NetlinkFib, FibError> {
        NetlinkFib::with_config(NetlinkConfig::default())
    }

    /// Like [`NetlinkFib::new`] with another protocol number or rule
    /// priority.
    pub fn with_config(cfg: NetlinkConfig) -> Result<NetlinkFib, FibError> {
        let mut conn =
            Conn::open().map_err(|e| FibError::Io(format!("opening NETLINK_ROUTE: {e}")))?;
        let caps = caps::detect(&mut conn);
        debug!(
            max_batch = conn.max_batch(),
            strict_dumps = conn.strict(),
            "netlink FIB socket ready"
        );
        Ok(NetlinkFib {
            conn,
            caps,
            cfg,
            installed: Installed::default(),
        })
    }

    pub fn config(&self) -> NetlinkConfig {
        self.cfg
    }

    /// The VRF device of `table` where the kernel has VRF devices.
    pub fn vrf_device_name(table: u32) -> String {
        format!("{VRF_DEVICE_PREFIX}{table}")
    }

    fn families(&self) -> Vec<AddressFamily> {
        if self.caps.ipv6 {
            vec![AddressFamily::Inet, AddressFamily::Inet6]
        } else {
            vec![AddressFamily::Inet]
        }
    }

    fn push(
        &mut self,
        ctx: &mut Ctx,
        op: usize,
        m: RouteNetlinkMessage,
        flags: u16,
        tolerate: &'static [i32],
    ) {
        ctx.batch.push(&mut self.conn, op, m, flags, tolerate);
        if ctx.batch.is_full(&self.conn) {
            self.flush(ctx);
        }
    }

    /// Sends what is queued; failures become their operation's result (the
    /// first failure of an operation wins) and invalidate what was cached
    /// about its object.
    fn flush(&mut self, ctx: &mut Ctx) {
        if ctx.batch.is_empty() {
            return;
        }
        for (i, failure) in self.conn.flush(&mut ctx.batch) {
            let op = &ctx.ops[i];
            match op {
                FibOp::PutRoute(r) => {
                    self.installed.remove(r.table, &r.prefix);
                }
                FibOp::DelRoute { table, prefix } => {
                    self.installed.remove(*table, prefix);
                }
                FibOp::PutVrf(_) | FibOp::DelVrf { .. } | FibOp::PutIlm(_) => ctx.view = None,
                FibOp::DelIlm { .. } => {}
            }
            if ctx.results[i].is_ok() {
                ctx.results[i] = Err(to_error(op, failure));
            }
        }
    }

    fn dump_links(&mut self) -> Result<Vec<Link>, Failure> {
        let replies = self.conn.dump(msg::dump_links(), |_, _| true)?;
        Ok(replies
            .iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => Some(msg::parse_link(l)),
                _ => None,
            })
            .collect())
    }

    fn dump_rules(&mut self) -> Result<Vec<OurRule>, Failure> {
        let mut rules = Vec::new();
        for family in self.families() {
            let replies = self.conn.dump(msg::dump_rules(family), |_, _| true)?;
            rules.extend(replies.iter().filter_map(|r| match r {
                RouteNetlinkMessage::NewRule(m) => msg::parse_rule(m, self.cfg.protocol),
                _ => None,
            }));
        }
        Ok(rules)
    }

    /// Our routes of one family (and table), as raw messages.
    fn dump_our_routes(
        &mut self,
        family: AddressFamily,
        table: Option<u32>,
    ) -> Result<Vec<netlink_packet_route::route::RouteMessage>, Failure> {
        let proto = self.cfg.protocol;
        let fam = u8::from(family);
        let replies = self
            .conn
            .dump(msg::dump_routes(family, proto, table), |kind, payload| {
                kind == RTM_NEWROUTE
                    && msg::payload_protocol(payload) == Some(proto)
                    && msg::payload_family(payload) == Some(fam)
            })?;
        Ok(replies
            .into_iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewRoute(m) => Some(m),
                _ => None,
            })
            .filter(|m| table.is_none_or(|t| msg::route_table(m) == t))
            .collect())
    }

    /// Reads links and our rules unless already read in this apply (after
    /// sending what is queued, so they include it).
    fn ensure_view(&mut self, ctx: &mut Ctx) -> Result<(), Failure> {
        if ctx.view.is_some() {
            return Ok(());
        }
        self.flush(ctx);
        let links = self.dump_links()?;
        let rules = self.dump_rules()?;
        ctx.view = Some(View { links, rules });
        Ok(())
    }

    fn put_route(&mut self, ctx: &mut Ctx, i: usize, r: &Route) -> Result<(), FibError> {
        if r.prefix.addr().is_ipv6() && !self.caps.ipv6 {
            return Err(FibError::Unsupported("ipv6"));
        }
        if !r.labels.is_empty() && !self.caps.mpls {
            return Err(FibError::Unsupported("mpls encap"));
        }
        let metric = effective_metric(r);
        let proto = self.cfg.protocol;
        let mut stale = self.installed.metrics(r.table, &r.prefix);
        stale.retain(|m| *m != metric);
        // Recorded before the push: a failure found by a flush inside it
        // forgets the entry again.
        self.installed.set(r.table, r.prefix, metric);
        self.push(
            ctx,
            i,
            msg::new_route(r, proto, metric),
            NLM_F_CREATE | NLM_F_REPLACE,
            &[],
        );
        if !stale.is_empty() {
            // Remove the old metric only once the new route is in.
            self.flush(ctx);
            if ctx.results[i].is_err() {
                return Ok(()); // recorded by flush
            }
            for m in stale {
                self.push(
                    ctx,
                    i,
                    msg::del_route(r.table, &r.prefix, proto, Some(m)),
                    0,
                    GONE,
                );
            }
        }
        Ok(())
    }

    fn del_route(
        &mut self,
        ctx: &mut Ctx,
        i: usize,
        table: u32,
        prefix: &IpNet,
    ) -> Result<(), FibError> {
        if prefix.addr().is_ipv6() && !self.caps.ipv6 {
            return Ok(()); // nothing of that family can be there
        }
        let proto = self.cfg.protocol;
        match self.installed.remove(table, prefix) {
            Some(metrics) => {
                for m in metrics {
                    self.push(
                        ctx,
                        i,
                        msg::del_route(table, prefix, proto, Some(m)),
                        0,
                        GONE,
                    );
                }
            }
            None => self.push(ctx, i, msg::del_route(table, prefix, proto, None), 0, GONE),
        }
        Ok(())
    }

    fn put_vrf(&mut self, ctx: &mut Ctx, i: usize, v: &VrfFib) -> Result<(), FibError> {
        let op = &ctx.ops[i];
        self.ensure_view(ctx).map_err(|f| to_error(op, f))?;
        let Some(view) = ctx.view.as_ref() else {
            return Err(FibError::Io(format!("{}: no link view", describe(op))));
        };
        for ifindex in &v.interfaces {
            if view.link(*ifindex).is_none() {
                return Err(enodev(op, format!("no interface with ifindex {ifindex}")));
            }
        }
        if self.caps.vrf_device {
            self.put_vrf_device(ctx, i, v)
        } else {
            self.put_vrf_rules(ctx, i, v);
            Ok(())
        }
    }

    /// The rules that steer `v`'s interfaces into its table: exactly one per
    /// (interface, family), at our priority; others of ours for the table go.
    fn put_vrf_rules(&mut self, ctx: &mut Ctx, i: usize, v: &VrfFib) {
        let proto = self.cfg.protocol;
        let Some(view) = ctx.view.as_ref() else {
            return;
        };
        let mut want = Vec::new();
        for ifindex in &v.interfaces {
            let Some(link) = view.link(*ifindex) else {
                continue;
            };
            for family in self.families() {
                want.push(OurRule {
                    ipv6: family == AddressFamily::Inet6,
                    iifname: link.name.clone(),
                    table: v.table,
                    priority: self.cfg.rule_priority,
                });
            }
        }
        let stale: Vec<OurRule> = view
            .rules
            .iter()
            .filter(|r| r.table == v.table && !want.contains(r))
            .cloned()
            .collect();
        let missing: Vec<OurRule> = want
            .iter()
            .filter(|r| !view.rules.contains(r))
            .cloned()
            .collect();
        for r in &stale {
            self.push(ctx, i, msg::del_rule(r, proto), 0, GONE);
        }
        for r in &missing {
            self.push(
                ctx,
                i,
                msg::new_rule(r, proto),
                NLM_F_CREATE | NLM_F_EXCL,
                EXISTS,
            );
        }
        if let Some(view) = ctx.view.as_mut() {
            view.rules.retain(|r| !stale.contains(r));
            view.rules.extend(missing);
        }
    }

    /// The VRF device of `v`: created (or recreated when bound to another
    /// table), up, aliased with the VRF's name, with exactly `v`'s
    /// interfaces enslaved. Rules of ours for the table (left from a kernel
    /// without VRF devices) go.
    fn put_vrf_device(&mut self, ctx: &mut Ctx, i: usize, v: &VrfFib) -> Result<(), FibError> {
        let op = &ctx.ops[i];
        let proto = self.cfg.protocol;
        let name = Self::vrf_device_name(v.table);
        let existing = ctx
            .view
            .as_ref()
            .and_then(|view| view.link_named(&name))
            .map(|l| (l.index, l.vrf_table));
        if existing.map(|(_, t)| t) != Some(Some(v.table)) {
            if let Some((index, _)) = existing {
                self.push(ctx, i, msg::del_link(index), 0, &[libc::ENODEV]);
            }
            self.push(
                ctx,
                i,
                msg::new_vrf(&name, v.table),
                NLM_F_CREATE | NLM_F_EXCL,
                &[],
            );
            self.flush(ctx);
            if ctx.results[i].is_err() {
                return Ok(()); // recorded by flush
            }
            ctx.view = None;
            self.ensure_view(ctx).map_err(|f| to_error(op, f))?;
        }
        let Some(view) = ctx.view.as_ref() else {
            return Err(FibError::Io(format!("{}: no link view", describe(op))));
        };
        let Some(dev) = view.link_named(&name).map(|l| l.index) else {
            return Err(enodev(
                op,
                format!("VRF device {name} vanished after creation"),
            ));
        };
        let enslave: Vec<u32> = v
            .interfaces
            .iter()
            .copied()
            .filter(|x| view.link(*x).is_some_and(|l| l.master != dev))
            .collect();
        let release: Vec<u32> = view
            .links
            .iter()
            .filter(|l| l.master == dev && !v.interfaces.contains(&l.index))
            .map(|l| l.index)
            .collect();
        let stale_rules: Vec<OurRule> = view
            .rules
            .iter()
            .filter(|r| r.table == v.table)
            .cloned()
            .collect();
        self.push(ctx, i, msg::set_up(dev, Some(&v.name)), 0, &[]);
        for x in &enslave {
            self.push(ctx, i, msg::set_master(*x, dev), 0, &[]);
        }
        for x in &release {
            self.push(ctx, i, msg::set_master(*x, 0), 0, &[libc::ENODEV]);
        }
        for r in &stale_rules {
            self.push(ctx, i, msg::del_rule(r, proto), 0, GONE);
        }
        if let Some(view) = ctx.view.as_mut() {
            for l in view.links.iter_mut() {
                if enslave.contains(&l.index) {
                    l.master = dev;
                } else if release.contains(&l.index) {
                    l.master = 0;
                }
            }
            view.rules.retain(|r| r.table != v.table);
        }
        Ok(())
    }

    /// Every route of ours in the table, our rules for it, its VRF device.
    fn del_vrf(&mut self, ctx: &mut Ctx, i: usize, table: u32) -> Result<(), FibError> {
        let op = &ctx.ops[i];
        let proto = self.cfg.protocol;
        self.flush(ctx);
        let mut keys = Vec::new();
        for family in self.families() {
            let routes = self
                .dump_our_routes(family, Some(table))
                .map_err(|f| to_error(op, f))?;
            keys.extend(routes.iter().filter_map(msg::route_key));
        }
        for (t, prefix, metric) in keys {
            self.push(
                ctx,
                i,
                msg::del_route(t, &prefix, proto, Some(metric)),
                0,
                GONE,
            );
        }
        self.installed.remove_table(table);
        self.ensure_view(ctx).map_err(|f| to_error(op, f))?;
        let Some(view) = ctx.view.as_ref() else {
            return Err(FibError::Io(format!("{}: no link view", describe(op))));
        };
        let rules: Vec<OurRule> = view
            .rules
            .iter()
            .filter(|r| r.table == table)
            .cloned()
            .collect();
        let device = view
            .link_named(&Self::vrf_device_name(table))
            .filter(|l| l.vrf_table.is_some())
            .map(|l| l.index);
        for r in &rules {
            self.push(ctx, i, msg::del_rule(r, proto), 0, GONE);
        }
        if let Some(dev) = device {
            self.push(ctx, i, msg::del_link(dev), 0, &[libc::ENODEV]);
        }
        if let Some(view) = ctx.view.as_mut() {
            view.rules.retain(|r| r.table != table);
            if let Some(dev) = device {
                view.links.retain(|l| l.index != dev);
                for l in view.links.iter_mut().filter(|l| l.master == dev) {
                    l.master = 0;
                }
            }
        }
        Ok(())
    }

    fn put_ilm(&mut self, ctx: &mut Ctx, i: usize, ilm: &mpls::Ilm) -> Result<(), FibError> {
        if !self.caps.mpls {
            return Err(FibError::Unsupported("mpls"));
        }
        let op = &ctx.ops[i];
        let vrf_oif = match ilm.action {
            IlmAction::PopLookup { table } => {
                if !self.caps.vrf_device {
                    return Err(FibError::Unsupported(
                        "mpls pop-and-lookup without VRF devices",
                    ));
                }
                self.ensure_view(ctx).map_err(|f| to_error(op, f))?;
                let name = Self::vrf_device_name(table);
                match ctx.view.as_ref().and_then(|v| v.link_named(&name)) {
                    Some(l) => Some(l.index),
                    None => {
                        return Err(enodev(
                            op,
                            format!("no VRF device {name} for table {table}"),
                        ))
                    }
                }
            }
            IlmAction::PopForward { .. } => None,
        };
        let proto = self.cfg.protocol;
        self.push(
            ctx,
            i,
            msg::new_ilm(ilm, proto, vrf_oif),
            NLM_F_CREATE | NLM_F_REPLACE,
            &[],
        );
        Ok(())
    }

    fn apply_one(&mut self, ctx: &mut Ctx, i: usize) -> Result<(), FibError> {
        let op = &ctx.ops[i];
        validate(op)?;
        match op {
            FibOp::PutRoute(r) => self.put_route(ctx, i, r),
            FibOp::DelRoute { table, prefix } => self.del_route(ctx, i, *table, prefix),
            FibOp::PutVrf(v) => self.put_vrf(ctx, i, v),
            FibOp::DelVrf { table } => self.del_vrf(ctx, i, *table),
            FibOp::PutIlm(ilm) => self.put_ilm(ctx, i, ilm),
            FibOp::DelIlm { label } => {
                if !self.caps.mpls {
                    return Err(FibError::Unsupported("mpls"));
                }
                let proto = self.cfg.protocol;
                self.push(ctx, i, msg::del_ilm(*label, proto), 0, GONE);
                Ok(())
            }
        }
    }
}

impl Fib for NetlinkFib {
    fn capabilities(&self) -> Capabilities {
        self.caps
    }

    /// Everything of ours in the kernel: routes with our protocol in any
    /// table (IPv4, and IPv6 where the kernel has it), our rules and VRF
    /// devices, our AF_MPLS routes. A VRF is reported for every table that
    /// has our device, rules or routes (reserved tables excepted); without
    /// a device its name is `l3v<table>` (the kernel keeps no other). An
    /// interface is reported bound when it is enslaved to our device, or
    /// when all its rules (each family, our priority) are there, so a
    /// partial binding reads as unbound and the next put repairs it.
    /// Routes of ours the types cannot express (see `msg::parse_route`) are
    /// logged and left out.
    fn load(&mut self) -> Result<FibState, FibError> {
        let io = |what: &str, f: Failure| match f {
            Failure::Kernel { errno, msg } => FibError::Kernel {
                op: format!("load: {what}"),
                errno,
                msg,
            },
            Failure::Io(s) => FibError::Io(format!("load: {what}: {s}")),
        };
        let mut state = FibState::default();
        let mut installed = Installed::default();
        for family in self.families() {
            for m in self
                .dump_our_routes(family, None)
                .map_err(|f| io("routes", f))?
            {
                match msg::parse_route(&m) {
                    Ok(Some(r)) => {
                        installed.add(r.table, r.prefix, r.metric);
                        state.routes.push(r);
                    }
                    Ok(None) => {
                        warn!(route = ?m, "a route of ours that l3vpnd cannot express; left alone")
                    }
                    Err(e) => return Err(FibError::Io(format!("load: route of ours: {e}"))),
                }
            }
        }
        let links = self.dump_links().map_err(|f| io("links", f))?;
        let rules = self.dump_rules().map_err(|f| io("rules", f))?;

        let mut vrfs: BTreeMap<u32, VrfFib> = BTreeMap::new();
        let mut vrf_devices: HashMap<u32, u32> = HashMap::new();
        let ours = |l: &&Link| {
            l.vrf_table.is_some()
                && l.name.starts_with(VRF_DEVICE_PREFIX)
                && !l.name.starts_with("l3vcap")
        };
        for dev in links.iter().filter(ours) {
            let table = dev.vrf_table.unwrap_or_default();
            vrf_devices.insert(dev.index, table);
            let mut interfaces: Vec<u32> = links
                .iter()
                .filter(|l| l.master == dev.index)
                .map(|l| l.index)
                .collect();
            interfaces.sort_unstable();
            vrfs.insert(
                table,
                VrfFib {
                    name: dev
                        .alias
                        .clone()
                        .filter(|a| !a.is_empty())
                        .unwrap_or_else(|| dev.name.clone()),
                    table,
                    interfaces,
                },
            );
        }
        let families = self.families().len();
        // table -> interface name -> families with a rule at our priority
        let mut by_table: BTreeMap<u32, BTreeMap<&str, BTreeSet<bool>>> = BTreeMap::new();
        for r in &rules {
            let names = by_table.entry(r.table).or_default();
            if r.priority == self.cfg.rule_priority {
                names.entry(r.iifname.as_str()).or_default().insert(r.ipv6);
            }
        }
        for (table, names) in by_table {
            let bound: Vec<u32> = if self.caps.vrf_device {
                Vec::new() // rules are leftovers where devices exist
            } else {
                let mut v: Vec<u32> = names
                    .iter()
                    .filter(|(_, fams)| fams.len() >= families)
                    .filter_map(|(name, _)| links.iter().find(|l| l.name == *name).map(|l| l.index))
                    .collect();
                v.sort_unstable();
                v
            };
            vrfs.entry(table).or_insert_with(|| VrfFib {
                name: Self::vrf_device_name(table),
                table,
                interfaces: bound,
            });
        }
        for r in &state.routes {
            vrfs.entry(r.table).or_insert_with(|| VrfFib {
                name: Self::vrf_device_name(r.table),
                table: r.table,
                interfaces: Vec::new(),
            });
        }
        state.vrfs = vrfs
            .into_values()
            .filter(|v| !reserved_table(v.table))
            .collect();

        if self.caps.mpls {
            let proto = self.cfg.protocol;
            let fam = u8::from(AddressFamily::Mpls);
            let replies = self
                .conn
                .dump(msg::dump_ilm(proto), |kind, payload| {
                    kind == RTM_NEWROUTE
                        && msg::payload_protocol(payload) == Some(proto)
                        && msg::payload_family(payload) == Some(fam)
                })
                .map_err(|f| io("mpls routes", f))?;
            for r in &replies {
                if let RouteNetlinkMessage::NewRoute(m) = r {
                    match msg::parse_ilm(m, &vrf_devices) {
                        Some(ilm) => state.ilm.push(ilm),
                        None => {
                            warn!(route = ?m, "an MPLS route of ours that l3vpnd cannot express; left alone")
                        }
                    }
                }
            }
        }
        self.installed = installed;
        state.sort();
        Ok(state)
    }

    /// Applies `ops` in order, in as few sendmsg(2) calls as the receive
    /// buffer allows (see `sock.rs`); one result per operation.
    fn apply(&mut self, ops: &[FibOp]) -> Vec<Result<(), FibError>> {
        let mut ctx = Ctx {
            ops,
            results: (0..ops.len()).map(|_| Ok(())).collect(),
            batch: Batch::default(),
            view: None,
        };
        for i in 0..ops.len() {
            if let Err(e) = self.apply_one(&mut ctx, i) {
                if ctx.results[i].is_ok() {
                    ctx.results[i] = Err(e);
                }
            }
        }
        self.flush(&mut ctx);
        let failed = ctx.results.iter().filter(|r| r.is_err()).count();
        debug!(ops = ops.len(), failed, "netlink FIB apply");
        ctx.results
    }
}
