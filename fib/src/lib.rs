//! The kernel FIB: what l3vpnd installs for its VRFs (routing tables, the
//! rules or VRF devices that steer bound interfaces into them, routes, MPLS
//! ILM entries), behind one trait with two backends: `shadow` (in memory,
//! exact, inspectable) and `netlink` (the Linux kernel).
//!
//! The caller (vpn-core's reconciler) is level-triggered: it asks the backend
//! what it holds ([`Fib::load`]) and sends the operations that make it hold
//! the desired state ([`Fib::apply`]). Backends never know about rows or BGP.

use ipnet::IpNet;
use mpls::Ilm;
use std::net::IpAddr;

mod caps;
mod check;
mod display;
pub mod netlink;
pub mod shadow;
mod table;

/// The label stack type lives in mpls (bgp carries it too).
pub use mpls::Labels;
pub use netlink::{NetlinkConfig, NetlinkFib, RTPROT_L3VPND};
pub use shadow::ShadowFib;
pub use table::{RouteTable, StoredRoute};

/// The metric Linux gives an IPv6 route installed with metric 0
/// (`IP6_RT_PRIO_USER`): the kernel has no IPv6 metric 0.
pub const IPV6_DEFAULT_METRIC: u32 = 1024;

/// A VRF as the FIB sees it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VrfFib {
    /// Stable short name (used for a VRF device where the kernel has them).
    pub name: String,
    /// Kernel routing table id.
    pub table: u32,
    /// ifindexes of the interfaces bound to the VRF, ascending.
    pub interfaces: Vec<u32>,
}

/// Where a route sends traffic.
#[derive(Clone, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
pub enum NextHop {
    /// Via a gateway, optionally out of an interface (0 = any).
    Via { addr: IpAddr, ifindex: u32 },
    /// Directly out of an interface.
    Dev { ifindex: u32 },
    /// Drop silently.
    Blackhole,
    /// Drop and answer ICMP unreachable.
    Reject,
}

/// One route in a VRF table.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct Route {
    pub table: u32,
    pub prefix: IpNet,
    pub nexthop: NextHop,
    pub metric: u32,
    /// MPLS labels to push (outermost first); empty for none.
    pub labels: Labels,
}

impl Route {
    /// Whether `loaded` (one route as a backend's [`Fib::load`] reports it)
    /// is what this desired route asks for. Equality, except for what the
    /// kernel fills in: a gateway route given with ifindex 0 ("any") is
    /// reported with the interface the kernel resolved, and an IPv6 route
    /// given metric 0 is reported with [`IPV6_DEFAULT_METRIC`].
    pub fn is_installed_as(&self, loaded: &Route) -> bool {
        self.table == loaded.table
            && self.prefix == loaded.prefix
            && self.installs(&loaded.nexthop, loaded.metric, &loaded.labels)
    }

    /// [`Route::is_installed_as`] for a route held in a [`RouteTable`]
    /// under this route's table and prefix.
    pub fn is_stored_as(&self, loaded: &StoredRoute) -> bool {
        self.installs(&loaded.nexthop, loaded.metric, &loaded.labels)
    }

    fn installs(&self, nexthop: &NextHop, metric: u32, labels: &Labels) -> bool {
        let metric_ok = self.metric == metric
            || (self.prefix.addr().is_ipv6() && self.metric == 0 && metric == IPV6_DEFAULT_METRIC);
        let nexthop_ok = match (&self.nexthop, nexthop) {
            (
                NextHop::Via { addr, ifindex: 0 },
                NextHop::Via {
                    addr: loaded_addr, ..
                },
            ) => addr == loaded_addr,
            (a, b) => a == b,
        };
        self.labels == *labels && metric_ok && nexthop_ok
    }
}

/// One change to the FIB.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FibOp {
    /// Create (or update the interfaces of) a VRF.
    PutVrf(VrfFib),
    /// Remove a VRF: its table's routes, rules/device.
    DelVrf {
        table: u32,
    },
    /// Add or replace the route for (table, prefix).
    PutRoute(Route),
    DelRoute {
        table: u32,
        prefix: IpNet,
    },
    PutIlm(Ilm),
    DelIlm {
        label: u32,
    },
}

/// What the kernel (or the shadow) holds of ours.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct FibState {
    pub vrfs: Vec<VrfFib>,
    pub routes: Vec<Route>,
    pub ilm: Vec<Ilm>,
}

impl FibState {
    /// Puts the state in its canonical order: VRFs by table, routes by
    /// (table, prefix, metric, next hop), ILM entries by label. Both
    /// backends return sorted states, so two states compare with `==`.
    pub fn sort(&mut self) {
        self.vrfs
            .sort_by(|a, b| a.table.cmp(&b.table).then(a.name.cmp(&b.name)));
        self.routes.sort_by(|a, b| {
            (a.table, a.prefix, a.metric, &a.nexthop, &a.labels)
                .cmp(&(b.table, b.prefix, b.metric, &b.nexthop, &b.labels))
        });
        self.ilm.sort();
    }
}

/// What the platform can do (detected, never assumed).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Capabilities {
    pub vrf_device: bool,
    pub mpls: bool,
    pub ipv6: bool,
}

/// Why an operation failed.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum FibError {
    #[error("kernel refused {op}: {errno} ({msg})")]
    Kernel { op: String, errno: i32, msg: String },
    #[error("{0} is not supported on this platform")]
    Unsupported(&'static str),
    #[error("netlink: {0}")]
    Io(String),
    /// The operation is malformed; no backend would accept it, so none tries
    /// (a prefix with host bits set, a reserved table id, a label outside
    /// 20 bits, a label stack deeper than [`Labels::CAPACITY`], a gateway of
    /// the other address family).
    #[error("invalid {op}: {reason}")]
    Invalid { op: String, reason: &'static str },
}

/// A FIB backend.
pub trait Fib: Send {
    fn capabilities(&self) -> Capabilities;
    /// Read what the backend holds of ours (routes with our protocol, our
    /// rules / VRF devices, our ILM entries).
    fn load(&mut self) -> Result<FibState, FibError>;
    /// Apply operations in order, batched; one result per operation.
    fn apply(&mut self, ops: &[FibOp]) -> Vec<Result<(), FibError>>;
    /// The routes the backend holds, per table, when what it holds is
    /// exactly what was applied to it (the shadow model): its caller then
    /// need not keep a copy of its own. None for a backend whose state lives
    /// elsewhere (the kernel).
    fn held_routes(&self) -> Option<&std::collections::BTreeMap<u32, RouteTable>> {
        None
    }
}
