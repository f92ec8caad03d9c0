//! Live view of the host's network interfaces (what IF-MIB serves, what
//! interface bindings refer to, and the addresses that give a VRF its
//! connected routes). Filled from the kernel and kept current from link and
//! address notifications; readers take an immutable snapshot.
//!
//! ```text
//!     one NETLINK_ROUTE socket, bound to RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR
//!     and RTNLGRP_IPV6_IFADDR
//!   kernel ──► RTM_NEWLINK / RTM_DELLINK / RTM_NEWADDR / RTM_DELADDR ──┐
//!         ◄── RTM_GETLINK dump (start, every stats_interval, after a loss)
//!         ◄── RTM_GETADDR dump (start, after a loss; after the link dump)
//!         ──► dump replies (NLM_F_MULTI ... NLMSG_DONE) ───────────────┤
//!                                                     in kernel order ▼
//!                                       watcher task: Table (working copy)
//!                                          │ ArcSwap::store (copy-on-write)
//!                                          │ then broadcast LinkEvent (links)
//!                                          │ and IfEvent (links, addresses)
//!                                          ▼
//!                   readers: snapshot() / view() ─ Arc<Interfaces>, never wait
//! ```
//!
//! Dump replies and notifications share one socket on purpose: the kernel
//! queues both in the order it produced them, so applying every message in
//! arrival order leaves each link in its latest state. (Two sockets, one for
//! notifications and one for the periodic dump, could let a dump taken before
//! a change overwrite the notification of that change.) A socket runs one
//! dump at a time: links first, then addresses (an address names its link).

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use ipnet::IpNet;
use netlink_packet_core::{
    ErrorBuffer, NetlinkBuffer, NetlinkMessage, NlasIterator, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_OVERRUN, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkMessage, Stats, Stats64};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tracing::{debug, warn};

/// Operational state of a link (IF-MIB ifOperStatus values).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OperState {
    Up = 1,
    Down = 2,
    Testing = 3,
    Unknown = 4,
    Dormant = 5,
    NotPresent = 6,
    LowerLayerDown = 7,
}

/// Traffic counters of a link, as the kernel keeps them (64-bit).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct IfStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_multicast: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// One interface.
#[derive(Clone, PartialEq, Debug)]
pub struct IfInfo {
    /// Kernel ifindex (= IF-MIB ifIndex).
    pub index: u32,
    pub name: String,
    /// ARPHRD_* link type from the kernel.
    pub link_type: u16,
    pub mtu: u32,
    /// Speed in bits per second when the kernel knows it, else 0.
    pub speed_bps: u64,
    pub mac: Vec<u8>,
    pub admin_up: bool,
    pub oper: OperState,
    pub promiscuous: bool,
    /// Agent clock ticks (crate::clock) when oper state last changed; 0 if
    /// unchanged since the agent started.
    pub last_change: u32,
    pub alias: String,
    pub stats: IfStats,
}

impl IfInfo {
    /// An Ethernet-like link (MTU 1500, admin up, no MAC, counters zero)
    /// with this index, name and oper state: for tests and fixtures.
    pub fn fixture(index: u32, name: &str, oper: OperState) -> IfInfo {
        IfInfo {
            index,
            name: name.into(),
            link_type: 1,
            mtu: 1500,
            speed_bps: 0,
            mac: vec![],
            admin_up: true,
            oper,
            promiscuous: false,
            last_change: 0,
            alias: String::new(),
            stats: IfStats::default(),
        }
    }
}

/// One IPv4 or IPv6 address of an interface (RTM_NEWADDR), as `ip addr`
/// shows it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IfAddr {
    /// The interface's own address with its prefix length (IFA_LOCAL, or
    /// IFA_ADDRESS where there is no IFA_LOCAL): `10.77.1.1/24`. Host bits
    /// are kept.
    pub addr: IpNet,
    /// The remote end of a point-to-point address (`ip addr add A peer
    /// B/len`: IFA_ADDRESS differs from IFA_LOCAL); the prefix the kernel
    /// routes is around the peer then.
    pub peer: Option<IpAddr>,
    /// The kernel derives a prefix route from it: not IFA_F_NOPREFIXROUTE,
    /// and not an IPv6 address whose duplicate address detection failed.
    pub prefix_route: bool,
    /// Agent clock ticks (crate::clock) when it appeared; 0 if present when
    /// the agent started.
    pub since: u32,
}

impl IfAddr {
    /// The prefix it makes directly reachable: the address (or the peer of a
    /// point-to-point address) masked to the prefix length.
    pub fn prefix(&self) -> IpNet {
        let base = self.peer.unwrap_or(self.addr.addr());
        IpNet::new(base, self.addr.prefix_len())
            .map(|n| n.trunc())
            .unwrap_or_else(|_| self.addr.trunc())
    }

    /// Same address (what RTM_DELADDR names): address, length and peer.
    fn same(&self, o: &IfAddr) -> bool {
        self.addr == o.addr && self.peer == o.peer
    }
}

/// An immutable snapshot of all interfaces, ordered by ifindex.
#[derive(Clone, Default, Debug)]
pub struct Interfaces {
    pub by_index: BTreeMap<u32, Arc<IfInfo>>,
    /// Addresses (IPv4 and IPv6) by ifindex, in the order they appeared;
    /// links without addresses have no entry, and only links present in
    /// `by_index` have one.
    pub addrs: BTreeMap<u32, Arc<Vec<IfAddr>>>,
}

impl Interfaces {
    pub fn get(&self, index: u32) -> Option<&IfInfo> {
        self.by_index.get(&index).map(|a| a.as_ref())
    }
    /// The addresses of a link (empty if it has none or does not exist).
    pub fn addrs(&self, index: u32) -> &[IfAddr] {
        self.addrs.get(&index).map_or(&[], |a| a.as_slice())
    }
    pub fn is_up(&self, index: u32) -> bool {
        self.get(index).is_some_and(|i| i.oper == OperState::Up)
    }

    /// A snapshot holding exactly these links (a later entry with the same
    /// index replaces an earlier one). For tests and fixtures.
    pub fn from_list(v: Vec<IfInfo>) -> Interfaces {
        Interfaces {
            by_index: v.into_iter().map(|i| (i.index, Arc::new(i))).collect(),
            addrs: BTreeMap::new(),
        }
    }

    /// This snapshot with link `index` holding exactly `addrs` (ignored if
    /// the link does not exist). For tests and fixtures.
    pub fn with_addrs(mut self, index: u32, addrs: Vec<IfAddr>) -> Interfaces {
        if self.by_index.contains_key(&index) {
            if addrs.is_empty() {
                self.addrs.remove(&index);
            } else {
                self.addrs.insert(index, Arc::new(addrs));
            }
        }
        self
    }

    /// The link with this name, if any. A linear scan: for configuration
    /// and tests, not for the per-request path (which goes by ifindex).
    pub fn by_name(&self, name: &str) -> Option<&IfInfo> {
        self.by_index
            .values()
            .map(|a| a.as_ref())
            .find(|i| i.name == name)
    }

    /// Number of links.
    pub fn len(&self) -> usize {
        self.by_index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_index.is_empty()
    }
}

/// A change of the link set or of a link's operational state, as the watcher
/// observed it (after the snapshot that shows it was published).
#[derive(Clone, Debug, PartialEq)]
pub enum LinkEvent {
    Added(u32),
    Removed(u32),
    OperChanged {
        index: u32,
        old: OperState,
        new: OperState,
    },
}

/// A change of a link's addresses, as the watcher observed it (after the
/// snapshot that shows it was published).
#[derive(Clone, Debug, PartialEq)]
pub enum AddrEvent {
    /// A new address, or one whose `prefix_route` changed (the new value).
    Added {
        index: u32,
        addr: IfAddr,
    },
    Removed {
        index: u32,
        addr: IfAddr,
    },
}

/// Every change the watcher observes, in the order it observed them: what
/// [`IfWatcher::subscribe_all`] delivers. (Link events alone keep their own
/// channel, [`IfWatcher::subscribe`], for the consumers that match on them.)
#[derive(Clone, Debug, PartialEq)]
pub enum IfEvent {
    Link(LinkEvent),
    Addr(AddrEvent),
}

impl IfEvent {
    /// The ifindex of the link it concerns.
    pub fn index(&self) -> u32 {
        match self {
            IfEvent::Link(LinkEvent::Added(i) | LinkEvent::Removed(i))
            | IfEvent::Link(LinkEvent::OperChanged { index: i, .. })
            | IfEvent::Addr(AddrEvent::Added { index: i, .. })
            | IfEvent::Addr(AddrEvent::Removed { index: i, .. }) => *i,
        }
    }
}

/// Why the watcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum IfError {
    /// `start` was not polled inside a tokio runtime.
    #[error("the interface watcher must run inside a tokio runtime")]
    NoRuntime,
    #[error("cannot open the rtnetlink socket: {0}")]
    Socket(#[source] io::Error),
    #[error("cannot send the {0} dump request: {1}")]
    Send(DumpKind, #[source] io::Error),
    #[error("cannot read from the rtnetlink socket: {0}")]
    Recv(#[source] io::Error),
    /// The kernel answered a dump with an error.
    #[error("the kernel refused the {0} dump: {1}")]
    DumpRefused(DumpKind, #[source] io::Error),
    /// The initial dumps did not finish in time.
    #[error("the initial link and address dumps did not finish within {0:?}")]
    DumpTimeout(Duration),
}

/// Keeps an [`Interfaces`] view current from the kernel (see the module
/// docs). Dropping the watcher stops its task; a [`view`](IfWatcher::view)
/// kept after that still reads, but no longer changes.
pub struct IfWatcher {
    view: Arc<ArcSwap<Interfaces>>,
    events: broadcast::Sender<LinkEvent>,
    all: broadcast::Sender<IfEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl IfWatcher {
    /// Dump all links and then all addresses (complete before returning),
    /// then keep the view current from RTNLGRP_LINK and RTNLGRP_IPV4_IFADDR /
    /// RTNLGRP_IPV6_IFADDR notifications in a tokio task; counters
    /// (IFLA_STATS64) are refreshed by a link dump every `stats_interval`
    /// (`Duration::ZERO` turns the periodic dump off).
    ///
    /// Must be called inside a tokio runtime with its IO and time drivers
    /// enabled (`enable_all`).
    pub async fn start(stats_interval: Duration) -> Result<IfWatcher, IfError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(IfError::NoRuntime);
        }
        let sock = NlSocket::open().map_err(IfError::Socket)?;
        let view = Arc::new(ArcSwap::from_pointee(Interfaces::default()));
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let (all, _) = broadcast::channel(EVENT_CAPACITY);
        let mut engine = Engine::new(view.clone(), events.clone(), all.clone());
        let mut buf = Vec::with_capacity(RECV_BUF_LEN);

        // Links first: an address names its link.
        let initial = async {
            let links = initial_dump(&mut engine, &sock, &mut buf, DumpKind::Links).await?;
            let addrs = initial_dump(&mut engine, &sock, &mut buf, DumpKind::Addrs).await?;
            Ok::<bool, IfError>(links && addrs)
        };
        let complete = match tokio::time::timeout(INITIAL_DUMP_TIMEOUT, initial).await {
            Ok(r) => r?,
            Err(_) => return Err(IfError::DumpTimeout(INITIAL_DUMP_TIMEOUT)),
        };
        engine.initial = false;
        engine.publish();

        let task = tokio::spawn(engine.run(sock, buf, stats_interval, !complete));
        Ok(IfWatcher {
            view,
            events,
            all,
            task,
        })
    }

    /// The current snapshot (cheap: one atomic load and a reference count).
    pub fn snapshot(&self) -> Arc<Interfaces> {
        self.view.load_full()
    }

    /// Events from now on. A receiver that falls more than
    /// [`EVENT_CAPACITY`] events behind gets `RecvError::Lagged` and should
    /// re-read the snapshot.
    pub fn subscribe(&self) -> broadcast::Receiver<LinkEvent> {
        self.events.subscribe()
    }

    /// Link and address events from now on, in the order observed (same
    /// lag rule as [`subscribe`](IfWatcher::subscribe)).
    pub fn subscribe_all(&self) -> broadcast::Receiver<IfEvent> {
        self.all.subscribe()
    }

    /// A handle readers can keep without the watcher.
    pub fn view(&self) -> Arc<ArcSwap<Interfaces>> {
        self.view.clone()
    }
}

impl Drop for IfWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One dump during `start`, retried when interrupted. Ok(true): complete.
/// Ok(false): every message was still applied in kernel order, but the dump
/// was interrupted or notifications were lost, so the task dumps again
/// right away.
async fn initial_dump(
    engine: &mut Engine,
    sock: &NlSocket,
    buf: &mut Vec<u8>,
    kind: DumpKind,
) -> Result<bool, IfError> {
    for attempt in 1..=INITIAL_DUMP_ATTEMPTS {
        engine
            .start_dump(sock, kind)
            .map_err(|e| IfError::Send(kind, e))?;
        loop {
            let n = match sock.recv(buf).await {
                Ok(n) => n,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    warn!(%kind, "rtnetlink socket overrun during the initial dump");
                    engine.mark_lost();
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(IfError::Recv(e)),
            };
            if n > buf.len() {
                warn!(len = n, %kind, "netlink datagram truncated during the initial dump");
                engine.mark_lost();
                continue;
            }
            match engine.handle_datagram(buf, sock.port) {
                None => continue,
                Some(DumpEnd::Failed(errno)) => {
                    return Err(IfError::DumpRefused(
                        kind,
                        io::Error::from_raw_os_error(errno),
                    ))
                }
                Some(DumpEnd::Done { interrupted: false }) => return Ok(true),
                Some(DumpEnd::Done { interrupted: true }) => {
                    warn!(attempt, %kind, "initial dump interrupted, dumping again");
                    break;
                }
            }
        }
    }
    Ok(false)
}

/// Capacity of the event channel.
pub const EVENT_CAPACITY: usize = 1024;

const INITIAL_DUMP_ATTEMPTS: u32 = 3;
const INITIAL_DUMP_TIMEOUT: Duration = Duration::from_secs(10);
/// A dump still running after this long is abandoned and started again.
const DUMP_TIMEOUT: Duration = Duration::from_secs(30);
/// Wait after a lost notification (ENOBUFS) before dumping again, so that a
/// burst that overran the socket can settle.
const RESYNC_DELAY: Duration = Duration::from_millis(200);
/// Wait before retrying a dump the kernel refused.
const RETRY_DELAY: Duration = Duration::from_secs(1);
const REOPEN_MIN: Duration = Duration::from_secs(1);
const REOPEN_MAX: Duration = Duration::from_secs(30);
/// The kernel builds dump datagrams of at most 32 KiB; notifications are
/// single messages of a few KiB.
const RECV_BUF_LEN: usize = 64 * 1024;
/// Socket receive buffer asked for (SO_RCVBUFFORCE, else SO_RCVBUF capped
/// by net.core.rmem_max): room for a burst of a few thousand link messages.
const SOCKET_RCVBUF: libc::c_int = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------
// Kernel constants (uapi linux/if.h, linux/if_link.h, linux/rtnetlink.h)

const IFF_UP: u32 = libc::IFF_UP as u32;
const IFF_RUNNING: u32 = libc::IFF_RUNNING as u32;
const IFF_PROMISC: u32 = libc::IFF_PROMISC as u32;

const IF_OPER_UNKNOWN: u8 = 0;
const IF_OPER_NOTPRESENT: u8 = 1;
const IF_OPER_DOWN: u8 = 2;
const IF_OPER_LOWERLAYERDOWN: u8 = 3;
const IF_OPER_TESTING: u8 = 4;
const IF_OPER_DORMANT: u8 = 5;
const IF_OPER_UP: u8 = 6;

const RTM_NEWLINK: u16 = libc::RTM_NEWLINK;
const RTM_DELLINK: u16 = libc::RTM_DELLINK;
const RTM_NEWADDR: u16 = libc::RTM_NEWADDR;
const RTM_DELADDR: u16 = libc::RTM_DELADDR;
const RTNLGRP_LINK: u32 = libc::RTNLGRP_LINK;
const RTNLGRP_IPV4_IFADDR: u32 = libc::RTNLGRP_IPV4_IFADDR;
const RTNLGRP_IPV6_IFADDR: u32 = libc::RTNLGRP_IPV6_IFADDR;

// uapi linux/if_addr.h
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const IFA_F_DADFAILED: u32 = 0x08;
const IFA_F_NOPREFIXROUTE: u32 = 0x200;

const IFLA_ADDRESS: u16 = libc::IFLA_ADDRESS;
const IFLA_IFNAME: u16 = libc::IFLA_IFNAME;
const IFLA_MTU: u16 = libc::IFLA_MTU;
const IFLA_STATS: u16 = libc::IFLA_STATS;
const IFLA_OPERSTATE: u16 = libc::IFLA_OPERSTATE;
const IFLA_IFALIAS: u16 = libc::IFLA_IFALIAS;
const IFLA_STATS64: u16 = libc::IFLA_STATS64;

// ---------------------------------------------------------------------------
// Pure mappings

/// ifOperStatus from the kernel's IFLA_OPERSTATE (RFC 2863 values, see the
/// kernel's Documentation/networking/operstates.rst) and the ifi_flags.
///
/// The kernel reports UNKNOWN for links that do not track a carrier (lo,
/// tun, ...). Like net-snmp, such a link that is IFF_UP and IFF_RUNNING is
/// reported up; an UNKNOWN link that is administratively down is down
/// (RFC 2863 section 3.1.13: admin down implies oper down). Values newer
/// than this code are treated as UNKNOWN.
pub(crate) fn oper_state(operstate: u8, flags: u32) -> OperState {
    match operstate {
        IF_OPER_UP => OperState::Up,
        IF_OPER_DOWN => OperState::Down,
        IF_OPER_TESTING => OperState::Testing,
        IF_OPER_DORMANT => OperState::Dormant,
        IF_OPER_NOTPRESENT => OperState::NotPresent,
        IF_OPER_LOWERLAYERDOWN => OperState::LowerLayerDown,
        _ => {
            let up = flags & IFF_UP != 0;
            let running = flags & IFF_RUNNING != 0;
            match (up, running) {
                (true, true) => OperState::Up,
                (false, _) => OperState::Down,
                (true, false) => OperState::Unknown,
            }
        }
    }
}

/// ifAdminStatus up: IFF_UP.
pub(crate) fn admin_up(flags: u32) -> bool {
    flags & IFF_UP != 0
}

/// ifPromiscuousMode: IFF_PROMISC (as SIOCGIFFLAGS reports it, i.e. what
/// was asked for with `ip link set promisc on`).
pub(crate) fn promiscuous(flags: u32) -> bool {
    flags & IFF_PROMISC != 0
}

/// Bits per second from the text of /sys/class/net/NAME/speed (Mb/s; -1 or
/// unreadable when the driver does not know).
fn parse_speed_bps(text: &str) -> u64 {
    match text.trim().parse::<i64>() {
        Ok(mbps) if mbps > 0 => (mbps as u64).saturating_mul(1_000_000),
        _ => 0,
    }
}

/// Speed of a link from sysfs. Checked against the ifindex, because a /sys
/// mounted for another network namespace can show a different link of the
/// same name.
fn read_speed_bps(name: &str, index: u32) -> u64 {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return 0;
    }
    let dir = Path::new("/sys/class/net").join(name);
    match std::fs::read_to_string(dir.join("ifindex")) {
        Ok(s) if s.trim().parse::<u32>().ok() == Some(index) => {}
        _ => return 0,
    }
    std::fs::read_to_string(dir.join("speed"))
        .map(|s| parse_speed_bps(&s))
        .unwrap_or(0)
}

fn stats_from64(s: &Stats64) -> IfStats {
    IfStats {
        rx_bytes: s.rx_bytes,
        rx_packets: s.rx_packets,
        rx_multicast: s.multicast,
        rx_errors: s.rx_errors,
        rx_dropped: s.rx_dropped,
        tx_bytes: s.tx_bytes,
        tx_packets: s.tx_packets,
        tx_errors: s.tx_errors,
        tx_dropped: s.tx_dropped,
    }
}

fn stats_from32(s: &Stats) -> IfStats {
    IfStats {
        rx_bytes: s.rx_bytes.into(),
        rx_packets: s.rx_packets.into(),
        rx_multicast: s.multicast.into(),
        rx_errors: s.rx_errors.into(),
        rx_dropped: s.rx_dropped.into(),
        tx_bytes: s.tx_bytes.into(),
        tx_packets: s.tx_packets.into(),
        tx_errors: s.tx_errors.into(),
        tx_dropped: s.tx_dropped.into(),
    }
}

// ---------------------------------------------------------------------------
// Parsing of RTM_NEWLINK / RTM_DELLINK payloads

/// `struct ifinfomsg` (rtnetlink(7)), the fixed header of link messages.
mod ifinfomsg {
    pub const FAMILY: usize = 0;
    pub const TYPE: std::ops::Range<usize> = 2..4;
    pub const INDEX: std::ops::Range<usize> = 4..8;
    pub const FLAGS: std::ops::Range<usize> = 8..12;
    pub const LEN: usize = 16;
}

/// What one link message says (attributes it lacks are `None`).
#[derive(Clone, Debug, Default, PartialEq)]
struct LinkRepr {
    family: u8,
    index: u32,
    link_type: u16,
    flags: u32,
    name: Option<String>,
    mtu: Option<u32>,
    mac: Option<Vec<u8>>,
    operstate: Option<u8>,
    alias: Option<String>,
    stats64: Option<IfStats>,
    stats32: Option<IfStats>,
}

#[derive(Debug, PartialEq)]
enum LinkParseError {
    Short(usize),
}

/// A NUL-terminated attribute string (lossy on invalid UTF-8).
fn nla_string(v: &[u8]) -> String {
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// Parse an ifinfomsg and the attributes we serve. An attribute that is
/// malformed is skipped (logged), the rest of the message still counts.
fn parse_link(payload: &[u8]) -> Result<LinkRepr, LinkParseError> {
    if payload.len() < ifinfomsg::LEN {
        return Err(LinkParseError::Short(payload.len()));
    }
    let u16_at =
        |r: std::ops::Range<usize>| u16::from_ne_bytes([payload[r.start], payload[r.start + 1]]);
    let u32_at = |r: std::ops::Range<usize>| {
        let s = r.start;
        u32::from_ne_bytes([payload[s], payload[s + 1], payload[s + 2], payload[s + 3]])
    };
    let mut link = LinkRepr {
        family: payload[ifinfomsg::FAMILY],
        link_type: u16_at(ifinfomsg::TYPE),
        // ifi_index is an int; the kernel never sends a negative one.
        index: u32_at(ifinfomsg::INDEX),
        flags: u32_at(ifinfomsg::FLAGS),
        ..LinkRepr::default()
    };
    for nla in NlasIterator::new(&payload[ifinfomsg::LEN..]) {
        let nla = match nla {
            Ok(nla) => nla,
            Err(e) => {
                warn!(index = link.index, error = %e, "malformed link attribute, rest ignored");
                break;
            }
        };
        let v = nla.value();
        match nla.kind() {
            IFLA_IFNAME => link.name = Some(nla_string(v)),
            IFLA_IFALIAS => link.alias = Some(nla_string(v)),
            IFLA_ADDRESS => link.mac = Some(v.to_vec()),
            IFLA_MTU if v.len() >= 4 => {
                link.mtu = Some(u32::from_ne_bytes([v[0], v[1], v[2], v[3]]))
            }
            IFLA_OPERSTATE if !v.is_empty() => link.operstate = Some(v[0]),
            // Both parsers zero-fill a payload shorter than today's struct
            // (older kernels) and ignore a longer one (newer kernels).
            IFLA_STATS64 => match Stats64::parse(v) {
                Ok(s) => link.stats64 = Some(stats_from64(&s)),
                Err(e) => warn!(index = link.index, error = %e, "bad IFLA_STATS64"),
            },
            IFLA_STATS => match Stats::parse(v) {
                Ok(s) => link.stats32 = Some(stats_from32(&s)),
                Err(e) => warn!(index = link.index, error = %e, "bad IFLA_STATS"),
            },
            kind @ (IFLA_MTU | IFLA_OPERSTATE) => {
                warn!(
                    index = link.index,
                    kind,
                    len = v.len(),
                    "short link attribute, ignored"
                )
            }
            _ => {}
        }
    }
    Ok(link)
}

// ---------------------------------------------------------------------------
// Parsing of RTM_NEWADDR / RTM_DELADDR payloads

/// `struct ifaddrmsg` (rtnetlink(7)), the fixed header of address messages.
mod ifaddrmsg {
    pub const FAMILY: usize = 0;
    pub const PREFIXLEN: usize = 1;
    pub const FLAGS: usize = 2;
    pub const INDEX: std::ops::Range<usize> = 4..8;
    pub const LEN: usize = 8;
}

/// What one address message says.
#[derive(Clone, Debug, Default, PartialEq)]
struct AddrRepr {
    family: u8,
    prefix_len: u8,
    /// ifa_flags, or IFA_FLAGS (all 32 bits) when present.
    flags: u32,
    index: u32,
    /// IFA_ADDRESS: the address, or the peer of a point-to-point one.
    address: Option<IpAddr>,
    /// IFA_LOCAL: the local address (IPv4 always, IPv6 point-to-point).
    local: Option<IpAddr>,
}

/// Why an address message cannot be used (logged with the message's
/// family, index and length; the rest of the datagram still counts).
#[derive(Debug, PartialEq, thiserror::Error)]
enum AddrParseError {
    #[error("ifaddrmsg needs 8 octets, the payload has {0}")]
    Short(usize),
    #[error("attribute {kind} holds {len} octets, not an address of family {family}")]
    BadAddress { kind: u16, len: usize, family: u8 },
    #[error("attribute IFA_FLAGS holds {0} octets, not 4")]
    BadFlags(usize),
    #[error("malformed attribute: {0}")]
    Attribute(String),
    #[error("prefix length {len} is too long for family {family}")]
    BadPrefixLen { len: u8, family: u8 },
    #[error("neither IFA_LOCAL nor IFA_ADDRESS")]
    NoAddress,
}

/// Parse an ifaddrmsg and its address attributes. Unlike a link message, a
/// malformed attribute spoils the message: the address is its point.
/// Families other than AF_INET and AF_INET6 are returned as they are (the
/// caller ignores them) without looking at their attributes.
fn parse_addr(payload: &[u8]) -> Result<AddrRepr, AddrParseError> {
    if payload.len() < ifaddrmsg::LEN {
        return Err(AddrParseError::Short(payload.len()));
    }
    let i = ifaddrmsg::INDEX;
    let mut a = AddrRepr {
        family: payload[ifaddrmsg::FAMILY],
        prefix_len: payload[ifaddrmsg::PREFIXLEN],
        flags: payload[ifaddrmsg::FLAGS].into(),
        index: u32::from_ne_bytes([
            payload[i.start],
            payload[i.start + 1],
            payload[i.start + 2],
            payload[i.start + 3],
        ]),
        ..AddrRepr::default()
    };
    let alen = match a.family as i32 {
        libc::AF_INET => 4,
        libc::AF_INET6 => 16,
        _ => return Ok(a),
    };
    for nla in NlasIterator::new(&payload[ifaddrmsg::LEN..]) {
        let nla = nla.map_err(|e| AddrParseError::Attribute(e.to_string()))?;
        let v = nla.value();
        let kind = nla.kind();
        match kind {
            IFA_ADDRESS | IFA_LOCAL => {
                let ip = match (alen, v.len()) {
                    (4, 4) => IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3])),
                    (16, 16) => {
                        let b: [u8; 16] = v.try_into().expect("16 octets");
                        IpAddr::V6(Ipv6Addr::from(b))
                    }
                    _ => {
                        return Err(AddrParseError::BadAddress {
                            kind,
                            len: v.len(),
                            family: a.family,
                        })
                    }
                };
                if kind == IFA_ADDRESS {
                    a.address = Some(ip);
                } else {
                    a.local = Some(ip);
                }
            }
            IFA_FLAGS => match v {
                [b0, b1, b2, b3] => a.flags = u32::from_ne_bytes([*b0, *b1, *b2, *b3]),
                _ => return Err(AddrParseError::BadFlags(v.len())),
            },
            _ => {}
        }
    }
    Ok(a)
}

impl AddrRepr {
    fn is_inet(&self) -> bool {
        matches!(self.family as i32, libc::AF_INET | libc::AF_INET6)
    }

    /// The address as the view keeps it (`since` 0: the table stamps it).
    fn to_if_addr(&self) -> Result<IfAddr, AddrParseError> {
        let local = self
            .local
            .or(self.address)
            .ok_or(AddrParseError::NoAddress)?;
        let addr =
            IpNet::new(local, self.prefix_len).map_err(|_| AddrParseError::BadPrefixLen {
                len: self.prefix_len,
                family: self.family,
            })?;
        // IFA_ADDRESS differs from IFA_LOCAL only on point-to-point
        // addresses (rtnetlink(7), `ip addr add A peer B`).
        let peer = match (self.local, self.address) {
            (Some(l), Some(p)) if l != p => Some(p),
            _ => None,
        };
        Ok(IfAddr {
            addr,
            peer,
            prefix_route: self.flags & (IFA_F_NOPREFIXROUTE | IFA_F_DADFAILED) == 0,
            since: 0,
        })
    }
}

// ---------------------------------------------------------------------------
// The table: applies link and address messages to the working copy (no I/O
// but the injected speed reader, so it is unit-testable)

#[derive(Default)]
struct Table {
    links: Interfaces,
}

impl Table {
    /// Apply an RTM_NEWLINK. `initial` while the start-up dump runs (no
    /// last_change stamp, no events). Returns whether the entry changed and
    /// the event it causes.
    fn apply_new(
        &mut self,
        link: LinkRepr,
        initial: bool,
        now: impl FnOnce() -> u32,
        read_speed: &mut dyn FnMut(&str, u32) -> u64,
    ) -> (bool, Option<LinkEvent>) {
        let index = link.index;
        let old = self.links.by_index.get(&index);
        let oper = oper_state(link.operstate.unwrap_or(IF_OPER_UNKNOWN), link.flags);
        let admin = admin_up(link.flags);
        let name = match (link.name, old) {
            (Some(n), _) => n,
            (None, Some(o)) => o.name.clone(),
            (None, None) => String::new(),
        };
        let stats = link
            .stats64
            .or(link.stats32)
            .or(old.map(|o| o.stats))
            .unwrap_or_default();
        let mtu = link.mtu.or(old.map(|o| o.mtu)).unwrap_or(0);

        let (event, last_change, speed_bps) = match old {
            None => {
                let stamp = if initial { 0 } else { now() };
                let ev = (!initial).then_some(LinkEvent::Added(index));
                (ev, stamp, read_speed(&name, index))
            }
            Some(o) => {
                let oper_changed = o.oper != oper;
                let ev = (oper_changed && !initial).then_some(LinkEvent::OperChanged {
                    index,
                    old: o.oper,
                    new: oper,
                });
                let stamp = if oper_changed && !initial {
                    now()
                } else {
                    o.last_change
                };
                // Speed follows carrier and renames, not counters: read it
                // again only when one of those may have changed.
                let speed = if oper_changed || o.admin_up != admin || o.name != name {
                    read_speed(&name, index)
                } else {
                    o.speed_bps
                };
                (ev, stamp, speed)
            }
        };
        let info = IfInfo {
            index,
            name,
            link_type: link.link_type,
            mtu,
            speed_bps,
            mac: link.mac.unwrap_or_default(),
            admin_up: admin,
            oper,
            promiscuous: promiscuous(link.flags),
            last_change,
            alias: link.alias.unwrap_or_default(),
            stats,
        };
        if old.is_some_and(|o| **o == info) {
            return (false, None);
        }
        self.links.by_index.insert(index, Arc::new(info));
        (true, event)
    }

    /// Apply an RTM_DELLINK (its addresses go with it).
    fn remove(&mut self, index: u32, initial: bool) -> (bool, Option<LinkEvent>) {
        self.links.addrs.remove(&index);
        match self.links.by_index.remove(&index) {
            Some(_) => (true, (!initial).then_some(LinkEvent::Removed(index))),
            None => (false, None),
        }
    }

    /// Apply an RTM_NEWADDR (new address, or news of a known one). Returns
    /// whether the view changed and the event it causes. An address of a
    /// link the table does not hold is not kept: the link's RTM_NEWLINK
    /// came first unless it was lost, and a loss re-dumps both.
    fn apply_addr(
        &mut self,
        index: u32,
        mut a: IfAddr,
        initial: bool,
        now: impl FnOnce() -> u32,
    ) -> (bool, Option<AddrEvent>) {
        if !self.links.by_index.contains_key(&index) {
            debug!(index, addr = %a.addr, "address of an unknown link ignored");
            return (false, None);
        }
        let list = Arc::make_mut(self.links.addrs.entry(index).or_default());
        if let Some(old) = list.iter_mut().find(|o| o.same(&a)) {
            if old.prefix_route == a.prefix_route {
                return (false, None);
            }
            old.prefix_route = a.prefix_route;
            let ev = (!initial).then_some(AddrEvent::Added { index, addr: *old });
            return (true, ev);
        }
        a.since = if initial { 0 } else { now() };
        list.push(a);
        (
            true,
            (!initial).then_some(AddrEvent::Added { index, addr: a }),
        )
    }

    /// Apply an RTM_DELADDR.
    fn remove_addr(&mut self, index: u32, a: &IfAddr, initial: bool) -> (bool, Option<AddrEvent>) {
        let Some(list) = self.links.addrs.get_mut(&index) else {
            return (false, None);
        };
        let Some(pos) = list.iter().position(|o| o.same(a)) else {
            return (false, None);
        };
        let old = Arc::make_mut(list).remove(pos);
        if list.is_empty() {
            self.links.addrs.remove(&index);
        }
        let ev = (!initial).then_some(AddrEvent::Removed { index, addr: old });
        (true, ev)
    }
}

// ---------------------------------------------------------------------------
// The socket

struct NlSocket {
    fd: AsyncFd<Socket>,
    /// Our netlink port id: dump replies carry it, notifications do not.
    port: u32,
}

impl NlSocket {
    fn open() -> io::Result<NlSocket> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        let groups = [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR]
            .iter()
            .fold(0u32, |m, g| m | 1 << (g - 1));
        sock.bind(&SocketAddr::new(0, groups))?;
        let mut addr = SocketAddr::new(0, 0);
        sock.get_address(&mut addr)?;
        set_rcvbuf(&sock);
        sock.set_non_blocking(true)?;
        // SAFETY: `Socket` owns its descriptor (closed only in its Drop),
        // `as_raw_fd` always returns that same descriptor, and nothing here
        // closes or replaces it while the `AsyncFd` owns the socket.
        let fd = unsafe { AsyncFd::register_with_interest(sock, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(NlSocket {
            port: addr.port_number(),
            fd,
        })
    }

    fn send(&self, bytes: &[u8]) -> io::Result<()> {
        let n = self
            .fd
            .get_ref()
            .send_to(bytes, &SocketAddr::new(0, 0), 0)?;
        if n != bytes.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "short netlink send",
            ));
        }
        Ok(())
    }

    /// Receive one datagram into `buf` (cleared first). Returns its full
    /// length, which exceeds `buf.len()` if it was truncated.
    /// Cancel-safe: a datagram is either read whole or left queued.
    async fn recv(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            buf.clear();
            if buf.capacity() < RECV_BUF_LEN {
                buf.reserve(RECV_BUF_LEN);
            }
            match guard.try_io(|fd| fd.get_ref().recv(buf, libc::MSG_TRUNC)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

/// Ask for a large receive buffer: SO_RCVBUFFORCE (needs CAP_NET_ADMIN) and
/// else SO_RCVBUF. Failing both only makes an overrun (and so a re-dump)
/// more likely.
fn set_rcvbuf(sock: &Socket) {
    let size: libc::c_int = SOCKET_RCVBUF;
    // SAFETY: setsockopt reads exactly `optlen` bytes from `optval`, which
    // points to a live c_int of that size; the fd is owned by `sock`.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            &size as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        if let Err(e) = sock.set_rx_buf_sz(size) {
            debug!(error = %e, "cannot enlarge the rtnetlink receive buffer");
        }
    }
}

fn dump_request(kind: DumpKind, seq: u32) -> Vec<u8> {
    let req = match kind {
        DumpKind::Links => RouteNetlinkMessage::GetLink(LinkMessage::default()),
        // Family AF_UNSPEC: IPv4 and IPv6 addresses.
        DumpKind::Addrs => RouteNetlinkMessage::GetAddress(AddressMessage::default()),
    };
    let mut msg = NetlinkMessage::from(req);
    msg.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.header.sequence_number = seq;
    msg.finalize();
    let mut bytes = vec![0; msg.buffer_len()];
    msg.serialize(&mut bytes);
    bytes
}

async fn recv_opt(sock: Option<&NlSocket>, buf: &mut Vec<u8>) -> io::Result<usize> {
    match sock {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn tick_opt(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

// ---------------------------------------------------------------------------
// The engine: message handling and the task loop

/// What a dump asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DumpKind {
    Links,
    Addrs,
}

impl std::fmt::Display for DumpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DumpKind::Links => "link",
            DumpKind::Addrs => "address",
        })
    }
}

struct DumpState {
    kind: DumpKind,
    seq: u32,
    /// Links the dump (or a notification since it started) showed; after a
    /// clean link dump the others are gone.
    seen: HashSet<u32>,
    /// The same for addresses: (ifindex, address, peer).
    seen_addrs: HashSet<(u32, IpNet, Option<IpAddr>)>,
    interrupted: bool,
    started: Instant,
}

#[derive(Debug, PartialEq)]
enum DumpEnd {
    Done {
        interrupted: bool,
    },
    /// The kernel answered with this errno.
    Failed(i32),
}

struct Engine {
    view: Arc<ArcSwap<Interfaces>>,
    events: broadcast::Sender<LinkEvent>,
    all: broadcast::Sender<IfEvent>,
    table: Table,
    dump: Option<DumpState>,
    next_seq: u32,
    /// Still inside `start`: links are "present at start".
    initial: bool,
    /// The working copy differs from the published one.
    dirty: bool,
    /// Publish at the end of this datagram even though a dump runs.
    urgent: bool,
    pending: Vec<IfEvent>,
    read_speed: fn(&str, u32) -> u64,
}

impl Engine {
    fn new(
        view: Arc<ArcSwap<Interfaces>>,
        events: broadcast::Sender<LinkEvent>,
        all: broadcast::Sender<IfEvent>,
    ) -> Engine {
        Engine {
            view,
            events,
            all,
            table: Table::default(),
            dump: None,
            next_seq: 1,
            initial: true,
            dirty: false,
            urgent: false,
            pending: Vec::new(),
            read_speed: read_speed_bps,
        }
    }

    fn start_dump(&mut self, sock: &NlSocket, kind: DumpKind) -> io::Result<()> {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        sock.send(&dump_request(kind, seq))?;
        self.dump = Some(DumpState {
            kind,
            seq,
            seen: HashSet::new(),
            seen_addrs: HashSet::new(),
            interrupted: false,
            started: Instant::now(),
        });
        Ok(())
    }

    /// Apply every message of one datagram, in order. Returns how the
    /// running dump ended if its end was in this datagram.
    fn handle_datagram(&mut self, data: &[u8], port: u32) -> Option<DumpEnd> {
        let mut end = None;
        let mut off = 0;
        while off < data.len() {
            let msg = match NetlinkBuffer::new_checked(&data[off..]) {
                Ok(m) => m,
                Err(e) => {
                    warn!(error = %e, offset = off, "malformed netlink message, rest dropped");
                    break;
                }
            };
            // new_checked guarantees 16 <= length <= remaining bytes.
            let len = msg.length() as usize;
            off += (len + 3) & !3;
            if let Some(e) = self.handle_message(&msg, port) {
                end = Some(e);
            }
        }
        self.publish();
        end
    }

    fn handle_message(&mut self, msg: &NetlinkBuffer<&[u8]>, port: u32) -> Option<DumpEnd> {
        let ours = port != 0 && msg.port_number() == port;
        let in_dump = ours
            && self
                .dump
                .as_ref()
                .is_some_and(|d| d.seq == msg.sequence_number());
        if ours && !in_dump {
            // Reply to a dump we abandoned.
            return None;
        }
        let payload = msg.payload();
        match msg.message_type() {
            RTM_NEWLINK | RTM_DELLINK => {
                let link = match parse_link(payload) {
                    Ok(l) => l,
                    Err(e) => {
                        warn!(?e, "undecodable link message ignored");
                        return None;
                    }
                };
                // AF_BRIDGE (bridge port) messages are partial views of a
                // link, and their RTM_DELLINK only means "left the bridge".
                if link.family != libc::AF_UNSPEC as u8 {
                    return None;
                }
                if in_dump && msg.flags() & NLM_F_DUMP_INTR != 0 {
                    if let Some(d) = self.dump.as_mut() {
                        d.interrupted = true;
                    }
                }
                if msg.message_type() == RTM_NEWLINK {
                    if let Some(d) = self.dump.as_mut() {
                        d.seen.insert(link.index);
                    }
                    let initial = self.initial;
                    let (changed, ev) = self.table.apply_new(
                        link,
                        initial,
                        crate::clock::ticks,
                        &mut self.read_speed,
                    );
                    self.note(changed, ev.map(IfEvent::Link), !in_dump);
                } else {
                    let (changed, ev) = self.table.remove(link.index, self.initial);
                    self.note(changed, ev.map(IfEvent::Link), true);
                }
                None
            }
            RTM_NEWADDR | RTM_DELADDR => {
                let kind = msg.message_type();
                let parsed = parse_addr(payload).and_then(|a| {
                    if !a.is_inet() {
                        return Ok(None);
                    }
                    a.to_if_addr().map(|x| Some((a.index, x)))
                });
                let (index, addr) = match parsed {
                    Ok(Some(x)) => x,
                    Ok(None) => return None,
                    Err(e) => {
                        warn!(
                            error = %e,
                            message = if kind == RTM_NEWADDR { "RTM_NEWADDR" } else { "RTM_DELADDR" },
                            len = payload.len(),
                            head = ?&payload[..payload.len().min(ifaddrmsg::LEN)],
                            "undecodable address message ignored"
                        );
                        // A dump that skipped an address must not prune it.
                        if in_dump {
                            if let Some(d) = self.dump.as_mut() {
                                d.interrupted = true;
                            }
                        }
                        return None;
                    }
                };
                if in_dump && msg.flags() & NLM_F_DUMP_INTR != 0 {
                    if let Some(d) = self.dump.as_mut() {
                        d.interrupted = true;
                    }
                }
                let initial = self.initial;
                let (changed, ev) = if kind == RTM_NEWADDR {
                    if let Some(d) = self.dump.as_mut() {
                        d.seen_addrs.insert((index, addr.addr, addr.peer));
                    }
                    self.table
                        .apply_addr(index, addr, initial, crate::clock::ticks)
                } else {
                    if let Some(d) = self.dump.as_mut() {
                        d.seen_addrs.remove(&(index, addr.addr, addr.peer));
                    }
                    self.table.remove_addr(index, &addr, initial)
                };
                self.note(changed, ev.map(IfEvent::Addr), true);
                None
            }
            NLMSG_DONE if in_dump => {
                let d = self.dump.take()?;
                // struct nlmsgerr-like: a negative errno may follow.
                let code = payload
                    .get(0..4)
                    .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or(0);
                if code < 0 {
                    return Some(DumpEnd::Failed(-code));
                }
                let interrupted = d.interrupted || msg.flags() & NLM_F_DUMP_INTR != 0;
                if !interrupted {
                    match d.kind {
                        DumpKind::Links => self.prune(&d.seen),
                        DumpKind::Addrs => self.prune_addrs(&d.seen_addrs),
                    }
                }
                Some(DumpEnd::Done { interrupted })
            }
            NLMSG_ERROR if in_dump => {
                self.dump = None;
                let code = ErrorBuffer::new_checked(payload)
                    .ok()
                    .and_then(|e| e.code())
                    .map(|c| c.get())
                    .unwrap_or(-libc::EIO);
                Some(DumpEnd::Failed(code.saturating_neg()))
            }
            NLMSG_OVERRUN => {
                warn!("netlink overrun message");
                if let Some(d) = self.dump.as_mut() {
                    d.interrupted = true;
                }
                None
            }
            _ => None,
        }
    }

    /// Remove links a clean dump did not show: their RTM_DELLINK was lost.
    fn prune(&mut self, seen: &HashSet<u32>) {
        let gone: Vec<u32> = self
            .table
            .links
            .by_index
            .keys()
            .filter(|i| !seen.contains(i))
            .copied()
            .collect();
        for index in gone {
            warn!(index, "link vanished without a notification");
            let (changed, ev) = self.table.remove(index, self.initial);
            self.note(changed, ev.map(IfEvent::Link), true);
        }
    }

    /// Remove addresses a clean address dump did not show.
    fn prune_addrs(&mut self, seen: &HashSet<(u32, IpNet, Option<IpAddr>)>) {
        let gone: Vec<(u32, IfAddr)> = self
            .table
            .links
            .addrs
            .iter()
            .flat_map(|(i, l)| l.iter().map(move |a| (*i, *a)))
            .filter(|(i, a)| !seen.contains(&(*i, a.addr, a.peer)))
            .collect();
        for (index, a) in gone {
            warn!(index, addr = %a.addr, "address vanished without a notification");
            let (changed, ev) = self.table.remove_addr(index, &a, self.initial);
            self.note(changed, ev.map(IfEvent::Addr), true);
        }
    }

    fn note(&mut self, changed: bool, ev: Option<IfEvent>, urgent: bool) {
        if changed {
            self.dirty = true;
            self.urgent |= urgent;
        }
        if let Some(ev) = ev {
            self.urgent = true;
            self.pending.push(ev);
        }
    }

    /// Store the working copy if it changed, unless a dump runs and only
    /// dumped counters changed (then once at the dump's end: one copy per
    /// dump, not one per link). Events go out after the snapshot showing
    /// them.
    fn publish(&mut self) {
        if self.dirty && (self.urgent || self.dump.is_none()) {
            self.view.store(Arc::new(self.table.links.clone()));
            self.dirty = false;
            self.urgent = false;
        }
        if !self.dirty {
            for ev in self.pending.drain(..) {
                // No receiver is not an error.
                if let IfEvent::Link(l) = &ev {
                    let _ = self.events.send(l.clone());
                }
                let _ = self.all.send(ev);
            }
        }
    }

    async fn run(
        mut self,
        sock: NlSocket,
        mut buf: Vec<u8>,
        stats_interval: Duration,
        dump_now: bool,
    ) {
        let mut sock = Some(sock);
        let mut ticker = (!stats_interval.is_zero()).then(|| {
            let mut t = tokio::time::interval_at(Instant::now() + stats_interval, stats_interval);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        // Dumps to run, links before addresses (a loss asks for both; the
        // periodic counter refresh for links only).
        let mut want_links = dump_now;
        let mut want_addrs = dump_now;
        let mut resync_at: Option<Instant> = None;
        let mut reopen_at: Option<Instant> = None;
        let mut reopen_wait = REOPEN_MIN;

        loop {
            if (want_links || want_addrs) && self.dump.is_none() {
                if let Some(s) = sock.as_ref() {
                    let kind = if want_links {
                        want_links = false;
                        DumpKind::Links
                    } else {
                        want_addrs = false;
                        DumpKind::Addrs
                    };
                    if let Err(e) = self.start_dump(s, kind) {
                        warn!(error = %e, %kind, "cannot request a dump, retrying");
                        resync_at.get_or_insert(Instant::now() + RETRY_DELAY);
                    }
                }
            }
            let dump_deadline = self.dump.as_ref().map(|d| d.started + DUMP_TIMEOUT);
            tokio::select! {
                r = recv_opt(sock.as_ref(), &mut buf) => match r {
                    Ok(n) if n > buf.len() => {
                        warn!(len = n, "netlink datagram truncated, re-dumping links and addresses");
                        self.mark_lost();
                        resync_at.get_or_insert(Instant::now() + RESYNC_DELAY);
                    }
                    Ok(_) => {
                        let port = sock.as_ref().map_or(0, |s| s.port);
                        match self.handle_datagram(&buf, port) {
                            Some(DumpEnd::Failed(errno)) => {
                                let error = io::Error::from_raw_os_error(errno);
                                warn!(%error, "dump refused, retrying");
                                resync_at.get_or_insert(Instant::now() + RETRY_DELAY);
                            }
                            Some(DumpEnd::Done { interrupted: true }) => {
                                debug!("dump interrupted by changes, dumping again");
                                resync_at.get_or_insert(Instant::now() + RESYNC_DELAY);
                            }
                            _ => {}
                        }
                    }
                    Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                        warn!("rtnetlink socket overrun, notifications lost; re-dumping");
                        self.mark_lost();
                        resync_at.get_or_insert(Instant::now() + RESYNC_DELAY);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        warn!(error = %e, "rtnetlink socket failed, reopening");
                        sock = None;
                        self.dump = None;
                        reopen_at = Some(Instant::now() + reopen_wait);
                    }
                },
                _ = tick_opt(&mut ticker) => {
                    // A dump still running at the next tick already counts.
                    if self.dump.is_none() {
                        want_links = true;
                    }
                }
                _ = sleep_opt(resync_at) => {
                    resync_at = None;
                    want_links = true;
                    want_addrs = true;
                }
                _ = sleep_opt(dump_deadline) => {
                    warn!("dump did not finish in {DUMP_TIMEOUT:?}, starting again");
                    self.dump = None;
                    want_links = true;
                    want_addrs = true;
                }
                _ = sleep_opt(reopen_at) => {
                    reopen_at = None;
                    match NlSocket::open() {
                        Ok(s) => {
                            sock = Some(s);
                            reopen_wait = REOPEN_MIN;
                            want_links = true;
                            want_addrs = true;
                        }
                        Err(e) => {
                            reopen_wait = (reopen_wait * 2).min(REOPEN_MAX);
                            warn!(error = %e, retry_in = ?reopen_wait,
                                "cannot reopen the rtnetlink socket");
                            reopen_at = Some(Instant::now() + reopen_wait);
                        }
                    }
                }
            }
            self.publish();
        }
    }

    /// Notifications were lost: the running dump (if any) may not prune.
    fn mark_lost(&mut self) {
        if let Some(d) = self.dump.as_mut() {
            d.interrupted = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{
        Emitable, NetlinkHeader, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_MULTIPART,
    };
    use netlink_packet_route::address::{AddressAttribute, AddressFlags};
    use netlink_packet_route::link::{
        InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkLayerType, State,
    };
    use netlink_packet_route::AddressFamily;

    const IFA_F_PERMANENT: u32 = 0x80;

    const UP: u32 = IFF_UP;
    const RUNNING: u32 = IFF_RUNNING;

    #[test]
    fn operstate_table() {
        let cases: &[(u8, u32, OperState)] = &[
            (IF_OPER_UP, UP | RUNNING, OperState::Up),
            (IF_OPER_UP, UP, OperState::Up),
            (IF_OPER_DOWN, UP, OperState::Down),
            (IF_OPER_DOWN, 0, OperState::Down),
            (IF_OPER_TESTING, UP, OperState::Testing),
            (IF_OPER_DORMANT, UP, OperState::Dormant),
            (IF_OPER_NOTPRESENT, UP, OperState::NotPresent),
            (IF_OPER_LOWERLAYERDOWN, UP, OperState::LowerLayerDown),
            // lo: UNKNOWN, but up and running -> up (as net-snmp does)
            (IF_OPER_UNKNOWN, UP | RUNNING, OperState::Up),
            (IF_OPER_UNKNOWN, UP, OperState::Unknown),
            (IF_OPER_UNKNOWN, RUNNING, OperState::Down),
            (IF_OPER_UNKNOWN, 0, OperState::Down),
            // a value newer than this code counts as UNKNOWN
            (42, UP | RUNNING, OperState::Up),
            (42, UP, OperState::Unknown),
        ];
        for &(op, flags, want) in cases {
            assert_eq!(
                oper_state(op, flags),
                want,
                "operstate {op} flags {flags:#x}"
            );
        }
    }

    #[test]
    fn flag_handling() {
        assert!(admin_up(UP));
        assert!(!admin_up(RUNNING | IFF_PROMISC));
        assert!(promiscuous(IFF_PROMISC | UP));
        assert!(!promiscuous(UP | RUNNING));
    }

    #[test]
    fn speed_text() {
        assert_eq!(parse_speed_bps("10000\n"), 10_000_000_000);
        assert_eq!(parse_speed_bps("1000"), 1_000_000_000);
        assert_eq!(parse_speed_bps("-1\n"), 0);
        assert_eq!(parse_speed_bps("0"), 0);
        assert_eq!(parse_speed_bps(""), 0);
        assert_eq!(parse_speed_bps("fast"), 0);
        assert_eq!(read_speed_bps("../../etc", 1), 0);
        assert_eq!(read_speed_bps("", 1), 0);
    }

    fn link_msg(index: u32, name: &str, flags: LinkFlags, state: State) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.link_layer_type = LinkLayerType::Ether;
        m.header.flags = flags;
        m.attributes = vec![
            LinkAttribute::IfName(name.into()),
            LinkAttribute::Mtu(1500),
            LinkAttribute::Address(vec![2, 0, 0, 0, 0, index as u8]),
            LinkAttribute::OperState(state),
            LinkAttribute::Stats64({
                let mut s = Stats64::default();
                (s.rx_bytes, s.rx_packets, s.multicast) = (1000, 10, 1);
                (s.tx_bytes, s.tx_packets, s.tx_dropped) = (2000, 20, 3);
                s
            }),
        ];
        m
    }

    fn frame(msg: RouteNetlinkMessage, port: u32, seq: u32, flags: u16) -> Vec<u8> {
        let mut nl = NetlinkMessage::from(msg);
        nl.header.port_number = port;
        nl.header.sequence_number = seq;
        nl.header.flags = flags;
        nl.finalize();
        let mut b = vec![0; nl.buffer_len()];
        nl.serialize(&mut b);
        b
    }

    fn done(port: u32, seq: u32) -> Vec<u8> {
        let mut header = NetlinkHeader::default();
        header.port_number = port;
        header.sequence_number = seq;
        header.flags = NLM_F_MULTIPART;
        header.message_type = NLMSG_DONE;
        header.length = 20;
        let mut b = vec![0; 20];
        header.emit(&mut b);
        b
    }

    fn engine() -> (Engine, broadcast::Receiver<LinkEvent>) {
        let (e, rx, _) = engine_all();
        (e, rx)
    }

    /// An engine and receivers of its link events and of all its events.
    fn engine_all() -> (
        Engine,
        broadcast::Receiver<LinkEvent>,
        broadcast::Receiver<IfEvent>,
    ) {
        let view = Arc::new(ArcSwap::from_pointee(Interfaces::default()));
        let (tx, rx) = broadcast::channel(16);
        let (all, all_rx) = broadcast::channel(16);
        let mut e = Engine::new(view, tx, all);
        e.read_speed = |_, _| 1_000_000_000;
        (e, rx, all_rx)
    }

    fn fake_dump(e: &mut Engine, seq: u32) {
        fake_dump_of(e, seq, DumpKind::Links)
    }

    fn fake_dump_of(e: &mut Engine, seq: u32, kind: DumpKind) {
        e.dump = Some(DumpState {
            kind,
            seq,
            seen: HashSet::new(),
            seen_addrs: HashSet::new(),
            interrupted: false,
            started: Instant::now(),
        });
    }

    #[test]
    fn parse_full_link_message() {
        let mut m = link_msg(
            7,
            "eth7",
            LinkFlags::Up | LinkFlags::Running | LinkFlags::Promisc,
            State::Up,
        );
        m.attributes.push(LinkAttribute::IfAlias("uplink".into()));
        let b = frame(RouteNetlinkMessage::NewLink(m), 0, 0, 0);
        let nb = NetlinkBuffer::new_checked(&b[..]).unwrap();
        let l = parse_link(nb.payload()).unwrap();
        assert_eq!(l.index, 7);
        assert_eq!(l.link_type, 1);
        assert_eq!(l.name.as_deref(), Some("eth7"));
        assert_eq!(l.mtu, Some(1500));
        assert_eq!(l.mac, Some(vec![2, 0, 0, 0, 0, 7]));
        assert_eq!(l.operstate, Some(IF_OPER_UP));
        assert_eq!(l.alias.as_deref(), Some("uplink"));
        let s = l.stats64.unwrap();
        assert_eq!((s.rx_bytes, s.rx_packets, s.rx_multicast), (1000, 10, 1));
        assert_eq!((s.tx_bytes, s.tx_packets, s.tx_dropped), (2000, 20, 3));
        assert!(admin_up(l.flags) && promiscuous(l.flags));
    }

    #[test]
    fn notifications_drive_the_view_and_events() {
        let (mut e, mut rx) = engine();
        e.initial = false;
        let up = LinkFlags::Up | LinkFlags::Running;
        let b = frame(
            RouteNetlinkMessage::NewLink(link_msg(5, "v5", LinkFlags::empty(), State::Down)),
            0,
            0,
            0,
        );
        assert_eq!(e.handle_datagram(&b, 99), None);
        assert_eq!(rx.try_recv().unwrap(), LinkEvent::Added(5));
        let snap = e.view.load_full();
        let i = snap.get(5).unwrap();
        assert_eq!(
            (i.name.as_str(), i.oper, i.admin_up),
            ("v5", OperState::Down, false)
        );
        assert_eq!(i.speed_bps, 1_000_000_000);
        assert_eq!(i.stats.rx_packets, 10);

        // The same message again: no change, no event.
        e.handle_datagram(&b, 99);
        assert!(rx.try_recv().is_err());

        let b = frame(
            RouteNetlinkMessage::NewLink(link_msg(5, "v5", up, State::Up)),
            0,
            0,
            0,
        );
        e.handle_datagram(&b, 99);
        assert_eq!(
            rx.try_recv().unwrap(),
            LinkEvent::OperChanged {
                index: 5,
                old: OperState::Down,
                new: OperState::Up
            }
        );
        assert!(e.view.load().is_up(5));

        let b = frame(
            RouteNetlinkMessage::DelLink(link_msg(5, "v5", up, State::Up)),
            0,
            0,
            0,
        );
        e.handle_datagram(&b, 99);
        assert_eq!(rx.try_recv().unwrap(), LinkEvent::Removed(5));
        assert!(e.view.load().get(5).is_none());
    }

    #[test]
    fn bridge_family_messages_are_ignored() {
        let (mut e, mut rx) = engine();
        e.initial = false;
        let b = frame(
            RouteNetlinkMessage::NewLink(link_msg(5, "v5", LinkFlags::Up, State::Up)),
            0,
            0,
            0,
        );
        e.handle_datagram(&b, 99);
        assert_eq!(rx.try_recv().unwrap(), LinkEvent::Added(5));
        // A port leaving a bridge: RTM_DELLINK with ifi_family AF_BRIDGE.
        let mut m = link_msg(5, "v5", LinkFlags::Up, State::Up);
        m.header.interface_family = AddressFamily::Bridge;
        e.handle_datagram(&frame(RouteNetlinkMessage::DelLink(m.clone()), 0, 0, 0), 99);
        e.handle_datagram(&frame(RouteNetlinkMessage::NewLink(m), 0, 0, 0), 99);
        assert!(rx.try_recv().is_err());
        assert!(e.view.load().get(5).is_some());
    }

    #[test]
    fn dump_counters_publish_once_and_prune_missing_links() {
        let (mut e, mut rx) = engine();
        e.initial = false;
        let up = LinkFlags::Up | LinkFlags::Running;
        for i in [1, 2, 3] {
            let b = frame(
                RouteNetlinkMessage::NewLink(link_msg(i, &format!("l{i}"), up, State::Up)),
                0,
                0,
                0,
            );
            e.handle_datagram(&b, 99);
        }
        while rx.try_recv().is_ok() {}
        let before = e.view.load_full();

        // A dump (our port, our seq) showing 1 and 3 with new counters.
        fake_dump(&mut e, 42);
        let mut dg = Vec::new();
        for i in [1, 3] {
            let mut m = link_msg(i, &format!("l{i}"), up, State::Up);
            m.attributes
                .retain(|a| !matches!(a, LinkAttribute::Stats64(_)));
            let mut s = Stats64::default();
            s.rx_packets = 500;
            m.attributes.push(LinkAttribute::Stats64(s));
            dg.extend(frame(
                RouteNetlinkMessage::NewLink(m),
                99,
                42,
                NLM_F_MULTIPART,
            ));
        }
        assert_eq!(e.handle_datagram(&dg, 99), None);
        // Counters only: not published until the dump ends.
        assert!(Arc::ptr_eq(&before, &e.view.load_full()));
        assert_eq!(
            e.handle_datagram(&done(99, 42), 99),
            Some(DumpEnd::Done { interrupted: false })
        );
        let after = e.view.load_full();
        assert_eq!(after.get(1).unwrap().stats.rx_packets, 500);
        assert_eq!(after.get(3).unwrap().stats.rx_packets, 500);
        assert!(after.get(2).is_none(), "link 2 was not in the dump");
        assert_eq!(rx.try_recv().unwrap(), LinkEvent::Removed(2));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn interrupted_dump_does_not_prune() {
        let (mut e, _rx) = engine();
        e.initial = false;
        let up = LinkFlags::Up | LinkFlags::Running;
        for i in [1, 2] {
            let b = frame(
                RouteNetlinkMessage::NewLink(link_msg(i, &format!("l{i}"), up, State::Up)),
                0,
                0,
                0,
            );
            e.handle_datagram(&b, 99);
        }
        fake_dump(&mut e, 7);
        let b = frame(
            RouteNetlinkMessage::NewLink(link_msg(1, "l1", up, State::Up)),
            99,
            7,
            NLM_F_MULTIPART | NLM_F_DUMP_INTR,
        );
        e.handle_datagram(&b, 99);
        assert_eq!(
            e.handle_datagram(&done(99, 7), 99),
            Some(DumpEnd::Done { interrupted: true })
        );
        assert!(e.view.load().get(2).is_some());
    }

    #[test]
    fn replies_to_an_abandoned_dump_are_ignored() {
        let (mut e, _rx) = engine();
        e.initial = false;
        fake_dump(&mut e, 8);
        let b = frame(
            RouteNetlinkMessage::NewLink(link_msg(1, "l1", LinkFlags::Up, State::Up)),
            99,
            7,
            NLM_F_MULTIPART,
        );
        e.handle_datagram(&b, 99);
        assert_eq!(e.handle_datagram(&done(99, 7), 99), None);
        assert!(e.table.links.is_empty());
        assert!(e.dump.is_some());
    }

    #[test]
    fn initial_links_have_no_last_change_and_later_ones_do() {
        let (mut e, mut rx) = engine();
        let up = LinkFlags::Up | LinkFlags::Running;
        let mut t = 0;
        let mut stamp = || {
            t += 1;
            100 + t
        };
        let mut speed = |_: &str, _: u32| 0;
        let l = parse_of(link_msg(1, "a", up, State::Up));
        e.table.apply_new(l, true, &mut stamp, &mut speed);
        assert_eq!(e.table.links.get(1).unwrap().last_change, 0);
        let l = parse_of(link_msg(1, "a", LinkFlags::empty(), State::Down));
        let (changed, ev) = e.table.apply_new(l, false, &mut stamp, &mut speed);
        assert!(changed);
        assert_eq!(
            ev,
            Some(LinkEvent::OperChanged {
                index: 1,
                old: OperState::Up,
                new: OperState::Down
            })
        );
        assert_eq!(e.table.links.get(1).unwrap().last_change, 101);
        let (_, ev) = e.table.apply_new(
            parse_of(link_msg(2, "b", up, State::Up)),
            false,
            &mut stamp,
            &mut speed,
        );
        assert_eq!(ev, Some(LinkEvent::Added(2)));
        assert_eq!(e.table.links.get(2).unwrap().last_change, 102);
        assert!(rx.try_recv().is_err());
    }

    fn parse_of(m: LinkMessage) -> LinkRepr {
        let b = frame(RouteNetlinkMessage::NewLink(m), 0, 0, 0);
        parse_link(NetlinkBuffer::new_checked(&b[..]).unwrap().payload()).unwrap()
    }

    #[test]
    fn stats32_fallback_and_missing_attributes() {
        let mut m = link_msg(3, "x", LinkFlags::Up, State::Unknown);
        m.attributes
            .retain(|a| !matches!(a, LinkAttribute::Stats64(_) | LinkAttribute::Address(_)));
        let mut s = Stats::default();
        s.rx_bytes = 77;
        m.attributes.push(LinkAttribute::Stats(s));
        let mut t = Table::default();
        t.apply_new(parse_of(m), true, || 0, &mut |_, _| 0);
        let i = t.links.get(3).unwrap();
        assert_eq!(i.stats.rx_bytes, 77);
        assert!(i.mac.is_empty());
        assert_eq!(i.alias, "");
        assert_eq!(i.oper, OperState::Unknown);
    }

    #[test]
    fn odd_bytes_never_panic() {
        let (mut e, _rx) = engine();
        e.initial = false;
        let mut good = frame(
            RouteNetlinkMessage::NewLink(link_msg(9, "odd", LinkFlags::Up, State::Up)),
            0,
            0,
            0,
        );
        good.extend(done(0, 0));
        // Every truncation, and every single corrupted byte.
        for cut in 0..good.len() {
            e.handle_datagram(&good[..cut], 99);
        }
        for pos in 0..good.len() {
            for val in [0u8, 1, 3, 0x7f, 0xff] {
                let mut b = good.clone();
                b[pos] = val;
                e.handle_datagram(&b, 99);
            }
        }
        // An attribute claiming more bytes than there are.
        let mut b = frame(
            RouteNetlinkMessage::NewLink(link_msg(10, "bad", LinkFlags::Up, State::Up)),
            0,
            0,
            0,
        );
        let attr_len_at = 16 + ifinfomsg::LEN;
        b[attr_len_at] = 0xff;
        b[attr_len_at + 1] = 0x7f;
        e.handle_datagram(&b, 99);
        // Short MTU / operstate attributes are skipped, not trusted.
        assert!(parse_link(&[0u8; 3]).is_err());
        let mut p = vec![0u8; ifinfomsg::LEN];
        p.extend([6, 0, IFLA_MTU as u8, 0, 1, 0, 0, 0]); // 2-byte MTU (padded)
        p.extend([4, 0, IFLA_OPERSTATE as u8, 0]); // empty operstate
        let l = parse_link(&p).unwrap();
        assert_eq!((l.mtu, l.operstate), (None, None));
    }

    // --- addresses -------------------------------------------------------

    fn addr_msg(
        index: u32,
        family: AddressFamily,
        len: u8,
        attrs: Vec<AddressAttribute>,
    ) -> AddressMessage {
        let mut m = AddressMessage::default();
        m.header.family = family;
        m.header.prefix_len = len;
        m.header.index = index;
        m.attributes = attrs;
        m
    }

    /// `ip addr add A/len dev X` as the kernel reports it: IPv4 with
    /// IFA_ADDRESS and IFA_LOCAL equal, IPv6 with IFA_ADDRESS only.
    fn plain_addr(index: u32, a: &str, len: u8) -> AddressMessage {
        let ip: IpAddr = a.parse().unwrap();
        match ip {
            IpAddr::V4(_) => addr_msg(
                index,
                AddressFamily::Inet,
                len,
                vec![AddressAttribute::Address(ip), AddressAttribute::Local(ip)],
            ),
            IpAddr::V6(_) => addr_msg(
                index,
                AddressFamily::Inet6,
                len,
                vec![
                    AddressAttribute::Address(ip),
                    AddressAttribute::Flags(AddressFlags::Permanent | AddressFlags::Nodad),
                ],
            ),
        }
    }

    fn payload_of(m: RouteNetlinkMessage) -> Vec<u8> {
        let b = frame(m, 0, 0, 0);
        NetlinkBuffer::new_checked(&b[..])
            .unwrap()
            .payload()
            .to_vec()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn parse_address_messages() {
        // IPv4 10.77.1.1/24 on ifindex 7.
        let a = parse_addr(&payload_of(RouteNetlinkMessage::NewAddress(plain_addr(
            7,
            "10.77.1.1",
            24,
        ))))
        .unwrap();
        assert_eq!(
            (a.family, a.index, a.prefix_len),
            (libc::AF_INET as u8, 7, 24)
        );
        let x = a.to_if_addr().unwrap();
        assert_eq!(x.addr, net("10.77.1.1/24"));
        assert_eq!((x.peer, x.prefix_route, x.since), (None, true, 0));
        assert_eq!(x.prefix(), net("10.77.1.0/24"));

        // IPv6 2001:db8:77::1/64: IFA_ADDRESS only; IFA_FLAGS read whole.
        let a = parse_addr(&payload_of(RouteNetlinkMessage::NewAddress(plain_addr(
            7,
            "2001:db8:77::1",
            64,
        ))))
        .unwrap();
        assert_eq!(a.flags, IFA_F_PERMANENT | 0x02);
        let x = a.to_if_addr().unwrap();
        assert_eq!(x.addr, net("2001:db8:77::1/64"));
        assert_eq!(x.prefix(), net("2001:db8:77::/64"));
        assert!(x.prefix_route);

        // Point-to-point: `ip addr add 10.0.0.1 peer 10.0.0.2/32`.
        let l: IpAddr = "10.0.0.1".parse().unwrap();
        let p: IpAddr = "10.0.0.2".parse().unwrap();
        let m = addr_msg(
            3,
            AddressFamily::Inet,
            32,
            vec![AddressAttribute::Local(l), AddressAttribute::Address(p)],
        );
        let x = parse_addr(&payload_of(RouteNetlinkMessage::NewAddress(m)))
            .unwrap()
            .to_if_addr()
            .unwrap();
        assert_eq!((x.addr, x.peer), (net("10.0.0.1/32"), Some(p)));
        assert_eq!(x.prefix(), net("10.0.0.2/32"));
        // A peer prefix: `ip addr add 10.0.0.1 peer 10.9.9.9/30`.
        let x = IfAddr {
            addr: net("10.0.0.1/30"),
            peer: Some("10.9.9.9".parse().unwrap()),
            prefix_route: true,
            since: 0,
        };
        assert_eq!(x.prefix(), net("10.9.9.8/30"));

        // noprefixroute and a failed DAD: no prefix route.
        for f in [AddressFlags::Noprefixroute, AddressFlags::Dadfailed] {
            let mut m = plain_addr(7, "2001:db8:78::1", 64);
            m.attributes
                .retain(|a| !matches!(a, AddressAttribute::Flags(_)));
            m.attributes.push(AddressAttribute::Flags(f));
            let x = parse_addr(&payload_of(RouteNetlinkMessage::NewAddress(m)))
                .unwrap()
                .to_if_addr()
                .unwrap();
            assert!(!x.prefix_route, "{f:?}");
        }
    }

    #[test]
    fn malformed_address_messages_are_errors() {
        assert_eq!(parse_addr(&[2, 24, 0]), Err(AddrParseError::Short(3)));
        // An IPv4 message with a 16-octet address.
        let mut p = vec![libc::AF_INET as u8, 24, 0, 0, 7, 0, 0, 0];
        p.extend([20, 0, IFA_LOCAL as u8, 0]);
        p.extend([0u8; 16]);
        assert_eq!(
            parse_addr(&p),
            Err(AddrParseError::BadAddress {
                kind: IFA_LOCAL,
                len: 16,
                family: libc::AF_INET as u8
            })
        );
        // Short IFA_FLAGS.
        let mut p = vec![libc::AF_INET6 as u8, 64, 0, 0, 7, 0, 0, 0];
        p.extend([6, 0, IFA_FLAGS as u8, 0, 1, 0, 0, 0]);
        assert_eq!(parse_addr(&p), Err(AddrParseError::BadFlags(2)));
        // An attribute longer than the message.
        let mut p = vec![libc::AF_INET as u8, 24, 0, 0, 7, 0, 0, 0];
        p.extend([0xff, 0x7f, IFA_LOCAL as u8, 0, 10, 0, 0, 1]);
        assert!(matches!(parse_addr(&p), Err(AddrParseError::Attribute(_))));
        // No address at all; a prefix length too long for the family.
        let p = vec![libc::AF_INET as u8, 24, 0, 0, 7, 0, 0, 0];
        assert_eq!(
            parse_addr(&p).unwrap().to_if_addr(),
            Err(AddrParseError::NoAddress)
        );
        let mut p = vec![libc::AF_INET as u8, 33, 0, 0, 7, 0, 0, 0];
        p.extend([8, 0, IFA_LOCAL as u8, 0, 10, 0, 0, 1]);
        assert_eq!(
            parse_addr(&p).unwrap().to_if_addr(),
            Err(AddrParseError::BadPrefixLen {
                len: 33,
                family: libc::AF_INET as u8
            })
        );
        // Another family: returned as it is, not an address of ours.
        let p = vec![libc::AF_PACKET as u8, 0, 0, 0, 7, 0, 0, 0, 0xff];
        assert!(!parse_addr(&p).unwrap().is_inet());
    }

    /// The addresses of the view follow RTM_NEWADDR / RTM_DELADDR; events
    /// go out after the snapshot showing them; unknown links, repeats and
    /// removed links.
    #[test]
    fn address_notifications_drive_the_view_and_events() {
        crate::clock::start();
        std::thread::sleep(Duration::from_millis(20)); // ticks > 0
        let (mut e, mut links, mut all) = engine_all();
        e.initial = false;
        let up = LinkFlags::Up | LinkFlags::Running;
        let nl = |m: RouteNetlinkMessage| frame(m, 0, 0, 0);
        e.handle_datagram(
            &nl(RouteNetlinkMessage::NewLink(link_msg(
                5,
                "v5",
                up,
                State::Up,
            ))),
            99,
        );
        assert_eq!(links.try_recv().unwrap(), LinkEvent::Added(5));
        assert_eq!(all.try_recv().unwrap(), IfEvent::Link(LinkEvent::Added(5)));

        // Two addresses in one datagram.
        let mut dg = nl(RouteNetlinkMessage::NewAddress(plain_addr(
            5,
            "10.77.1.1",
            24,
        )));
        dg.extend(nl(RouteNetlinkMessage::NewAddress(plain_addr(
            5,
            "2001:db8:77::1",
            64,
        ))));
        e.handle_datagram(&dg, 99);
        let snap = e.view.load_full();
        let got: Vec<IpNet> = snap.addrs(5).iter().map(|a| a.addr).collect();
        assert_eq!(got, vec![net("10.77.1.1/24"), net("2001:db8:77::1/64")]);
        let a4 = snap.addrs(5)[0];
        assert_eq!(
            all.try_recv().unwrap(),
            IfEvent::Addr(AddrEvent::Added { index: 5, addr: a4 })
        );
        assert!(matches!(
            all.try_recv().unwrap(),
            IfEvent::Addr(AddrEvent::Added { index: 5, .. })
        ));
        assert!(
            links.try_recv().is_err(),
            "address events are not link events"
        );

        // The same address again (a lifetime refresh): no change, no event.
        e.handle_datagram(
            &nl(RouteNetlinkMessage::NewAddress(plain_addr(
                5,
                "10.77.1.1",
                24,
            ))),
            99,
        );
        assert!(all.try_recv().is_err());
        assert!(Arc::ptr_eq(&snap, &e.view.load_full()));
        // The same address with a new length is another address.
        e.handle_datagram(
            &nl(RouteNetlinkMessage::NewAddress(plain_addr(
                5,
                "10.77.1.1",
                16,
            ))),
            99,
        );
        assert!(matches!(
            all.try_recv().unwrap(),
            IfEvent::Addr(AddrEvent::Added { .. })
        ));
        assert_eq!(e.view.load().addrs(5).len(), 3);
        e.handle_datagram(
            &nl(RouteNetlinkMessage::DelAddress(plain_addr(
                5,
                "10.77.1.1",
                16,
            ))),
            99,
        );
        assert!(matches!(
            all.try_recv().unwrap(),
            IfEvent::Addr(AddrEvent::Removed { .. })
        ));

        // An address of a link the table does not hold: not kept.
        e.handle_datagram(
            &nl(RouteNetlinkMessage::NewAddress(plain_addr(
                6, "10.6.0.1", 24,
            ))),
            99,
        );
        assert!(e.view.load().addrs(6).is_empty());
        assert!(all.try_recv().is_err());

        // RTM_DELADDR removes exactly that address.
        e.handle_datagram(
            &nl(RouteNetlinkMessage::DelAddress(plain_addr(
                5,
                "10.77.1.1",
                24,
            ))),
            99,
        );
        assert_eq!(
            all.try_recv().unwrap(),
            IfEvent::Addr(AddrEvent::Removed { index: 5, addr: a4 })
        );
        let got: Vec<IpNet> = e.view.load().addrs(5).iter().map(|a| a.addr).collect();
        assert_eq!(got, vec![net("2001:db8:77::1/64")]);
        // Deleting an address it does not have changes nothing.
        e.handle_datagram(
            &nl(RouteNetlinkMessage::DelAddress(plain_addr(
                5, "10.9.9.9", 24,
            ))),
            99,
        );
        assert!(all.try_recv().is_err());

        // An undecodable address message is skipped; the next one counts.
        let mut bad = nl(RouteNetlinkMessage::NewAddress(plain_addr(
            5, "10.8.0.1", 24,
        )));
        let attr_len_at = 16 + ifaddrmsg::LEN;
        bad[attr_len_at] = 0xff;
        bad[attr_len_at + 1] = 0x7f;
        bad.extend(nl(RouteNetlinkMessage::NewAddress(plain_addr(
            5, "10.9.0.1", 24,
        ))));
        e.handle_datagram(&bad, 99);
        let got: Vec<IpNet> = e.view.load().addrs(5).iter().map(|a| a.addr).collect();
        assert_eq!(got, vec![net("2001:db8:77::1/64"), net("10.9.0.1/24")]);
        assert!(
            e.view.load().addrs(5)[1].since > 0,
            "stamped when it appeared"
        );
        while all.try_recv().is_ok() {}

        // The link goes: its addresses with it.
        e.handle_datagram(
            &nl(RouteNetlinkMessage::DelLink(link_msg(
                5,
                "v5",
                up,
                State::Up,
            ))),
            99,
        );
        assert!(e.view.load().addrs(5).is_empty());
        assert!(e.view.load().addrs.is_empty());
        assert_eq!(
            all.try_recv().unwrap(),
            IfEvent::Link(LinkEvent::Removed(5))
        );
    }

    #[test]
    fn address_dump_prunes_missing_addresses_unless_interrupted() {
        let (mut e, _links, mut all) = engine_all();
        e.initial = false;
        let up = LinkFlags::Up | LinkFlags::Running;
        let nl = |m: RouteNetlinkMessage, port, seq, flags| frame(m, port, seq, flags);
        e.handle_datagram(
            &nl(
                RouteNetlinkMessage::NewLink(link_msg(5, "v5", up, State::Up)),
                0,
                0,
                0,
            ),
            99,
        );
        for a in ["10.1.0.1", "10.2.0.1"] {
            e.handle_datagram(
                &nl(
                    RouteNetlinkMessage::NewAddress(plain_addr(5, a, 24)),
                    0,
                    0,
                    0,
                ),
                99,
            );
        }
        while all.try_recv().is_ok() {}

        // An interrupted dump showing only 10.1.0.1 prunes nothing.
        fake_dump_of(&mut e, 7, DumpKind::Addrs);
        let b = nl(
            RouteNetlinkMessage::NewAddress(plain_addr(5, "10.1.0.1", 24)),
            99,
            7,
            NLM_F_MULTIPART | NLM_F_DUMP_INTR,
        );
        e.handle_datagram(&b, 99);
        assert_eq!(
            e.handle_datagram(&done(99, 7), 99),
            Some(DumpEnd::Done { interrupted: true })
        );
        assert_eq!(e.view.load().addrs(5).len(), 2);

        // A clean one does: 10.2.0.1 vanished without a notification.
        fake_dump_of(&mut e, 8, DumpKind::Addrs);
        let b = nl(
            RouteNetlinkMessage::NewAddress(plain_addr(5, "10.1.0.1", 24)),
            99,
            8,
            NLM_F_MULTIPART,
        );
        e.handle_datagram(&b, 99);
        assert_eq!(
            e.handle_datagram(&done(99, 8), 99),
            Some(DumpEnd::Done { interrupted: false })
        );
        let got: Vec<IpNet> = e.view.load().addrs(5).iter().map(|a| a.addr).collect();
        assert_eq!(got, vec![net("10.1.0.1/24")]);
        assert!(matches!(
            all.try_recv().unwrap(),
            IfEvent::Addr(AddrEvent::Removed { index: 5, addr }) if addr.addr == net("10.2.0.1/24")
        ));
        // A link dump never prunes addresses.
        fake_dump(&mut e, 9);
        let b = nl(
            RouteNetlinkMessage::NewLink(link_msg(5, "v5", up, State::Up)),
            99,
            9,
            NLM_F_MULTIPART,
        );
        e.handle_datagram(&b, 99);
        e.handle_datagram(&done(99, 9), 99);
        assert_eq!(e.view.load().addrs(5).len(), 1);
        // Addresses present during the initial dumps carry no stamp.
        let (mut e, _l, _a) = engine_all();
        e.handle_datagram(
            &nl(
                RouteNetlinkMessage::NewLink(link_msg(5, "v5", up, State::Up)),
                0,
                0,
                0,
            ),
            99,
        );
        e.handle_datagram(
            &nl(
                RouteNetlinkMessage::NewAddress(plain_addr(5, "10.1.0.1", 24)),
                0,
                0,
                0,
            ),
            99,
        );
        e.initial = false;
        e.publish();
        assert_eq!(e.view.load().addrs(5)[0].since, 0);
    }

    #[test]
    fn odd_address_bytes_never_panic() {
        let (mut e, _rx) = engine();
        e.initial = false;
        let up = LinkFlags::Up | LinkFlags::Running;
        e.handle_datagram(
            &frame(
                RouteNetlinkMessage::NewLink(link_msg(9, "odd", up, State::Up)),
                0,
                0,
                0,
            ),
            99,
        );
        let mut good = frame(
            RouteNetlinkMessage::NewAddress(plain_addr(9, "10.7.0.1", 24)),
            0,
            0,
            0,
        );
        good.extend(frame(
            RouteNetlinkMessage::DelAddress(plain_addr(9, "2001:db8::1", 64)),
            0,
            0,
            0,
        ));
        for cut in 0..good.len() {
            e.handle_datagram(&good[..cut], 99);
        }
        for pos in 0..good.len() {
            for val in [0u8, 1, 3, 0x7f, 0xff] {
                let mut b = good.clone();
                b[pos] = val;
                e.handle_datagram(&b, 99);
            }
        }
    }

    #[test]
    fn from_list_and_lookups() {
        let mk = IfInfo::fixture;
        let ifs =
            Interfaces::from_list(vec![mk(3, "c", OperState::Down), mk(1, "a", OperState::Up)]);
        assert_eq!(ifs.by_index.keys().copied().collect::<Vec<_>>(), vec![1, 3]);
        assert!(ifs.is_up(1) && !ifs.is_up(3) && !ifs.is_up(2));
        assert_eq!(ifs.by_name("c").map(|i| i.index), Some(3));
        assert_eq!(ifs.len(), 2);
    }

    #[tokio::test]
    async fn loopback_is_present_and_up() {
        let w = IfWatcher::start(Duration::from_millis(100))
            .await
            .expect("start");
        let snap = w.snapshot();
        let lo = snap.get(1).expect("ifindex 1");
        assert_eq!(lo.name, "lo");
        assert_eq!(lo.oper, OperState::Up);
        assert!(lo.admin_up);
        assert_eq!(lo.link_type, libc::ARPHRD_LOOPBACK);
        assert_eq!(lo.last_change, 0);
        assert!(snap.is_up(1));

        // The periodic dump refreshes counters: send datagrams over lo.
        let before = lo.stats.rx_packets;
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..5 {
            tx.send_to(b"ping", rx.local_addr().unwrap()).unwrap();
        }
        let view = w.view();
        let deadline = Instant::now() + Duration::from_secs(3);
        while view.load().get(1).unwrap().stats.rx_packets < before + 5 {
            assert!(Instant::now() < deadline, "lo counters not refreshed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // --- root only: a real veth pair -------------------------------------

    fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    /// One synchronous rtnetlink request, waiting for its ACK.
    fn rtnl(msg: RouteNetlinkMessage, extra_flags: u16) -> io::Result<()> {
        let mut s = Socket::new(NETLINK_ROUTE)?;
        s.bind_auto()?;
        let b = frame(msg, 0, 1, NLM_F_REQUEST | NLM_F_ACK | extra_flags);
        s.send_to(&b, &SocketAddr::new(0, 0), 0)?;
        loop {
            let (data, _) = s.recv_from_full()?;
            let nb = NetlinkBuffer::new_checked(&data[..])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            if nb.message_type() == NLMSG_ERROR {
                let code = ErrorBuffer::new_checked(nb.payload())
                    .ok()
                    .and_then(|e| e.code())
                    .map_or(0, |c| c.get());
                return if code == 0 {
                    Ok(())
                } else {
                    Err(io::Error::from_raw_os_error(-code))
                };
            }
        }
    }

    fn by_name(name: &str) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.into()));
        m
    }

    fn add_veth(a: &str, b: &str) -> io::Result<()> {
        let mut m = by_name(a);
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(by_name(b)))),
        ]));
        rtnl(RouteNetlinkMessage::NewLink(m), NLM_F_CREATE | NLM_F_EXCL)
    }

    fn set_up(name: &str) -> io::Result<()> {
        let mut m = by_name(name);
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        rtnl(RouteNetlinkMessage::SetLink(m), 0)
    }

    fn del_link(name: &str) -> io::Result<()> {
        rtnl(RouteNetlinkMessage::DelLink(by_name(name)), 0)
    }

    /// Deletes the veth pair however the test ends.
    struct VethGuard(String);
    impl Drop for VethGuard {
        fn drop(&mut self) {
            let _ = del_link(&self.0);
        }
    }

    async fn next_event(
        rx: &mut broadcast::Receiver<LinkEvent>,
        deadline: Instant,
    ) -> Option<LinkEvent> {
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Ok(ev)) => {
                    // Shown when the test fails (or with --nocapture).
                    println!("event: {ev:?}");
                    return Some(ev);
                }
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                _ => return None,
            }
        }
    }

    #[tokio::test]
    async fn veth_pair_lifecycle() {
        if !is_root() {
            println!("skipped: needs root");
            return;
        }
        crate::clock::start();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let t0 = crate::clock::ticks();
        let (a, b) = (
            format!("l3t{}a", std::process::id()),
            format!("l3t{}b", std::process::id()),
        );
        let _ = del_link(&a); // a leftover from a killed run
        let w = IfWatcher::start(Duration::from_secs(1))
            .await
            .expect("start");
        let mut rx = w.subscribe();

        add_veth(&a, &b).expect("create veth");
        let guard = VethGuard(a.clone());

        // Added for both ends, and the snapshot shows them when it arrives.
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut added = Vec::new();
        while added.len() < 2 {
            match next_event(&mut rx, deadline).await {
                Some(LinkEvent::Added(i)) => {
                    let snap = w.snapshot();
                    let name = snap.get(i).expect("added link in snapshot").name.clone();
                    if name == a || name == b {
                        added.push(i);
                    }
                }
                Some(_) => {}
                None => panic!("no Added events for {a}/{b}, got {added:?}"),
            }
        }
        let snap = w.snapshot();
        let ia = snap.by_name(&a).expect("a").index;
        let ib = snap.by_name(&b).expect("b").index;
        for i in [ia, ib] {
            let info = snap.get(i).unwrap();
            assert_eq!(info.oper, OperState::Down);
            assert!(!info.admin_up);
            assert_eq!(info.link_type, libc::ARPHRD_ETHER);
            assert_eq!(info.mtu, 1500);
            assert_eq!(info.mac.len(), 6);
            assert!(info.last_change >= t0 && info.last_change > 0);
        }

        // Both ends up: both oper Up, each announced by OperChanged.
        set_up(&a).expect("a up");
        set_up(&b).expect("b up");
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut up = HashSet::new();
        while up.len() < 2 {
            match next_event(&mut rx, deadline).await {
                Some(LinkEvent::OperChanged {
                    index,
                    new: OperState::Up,
                    ..
                }) if index == ia || index == ib => {
                    assert!(w.snapshot().is_up(index));
                    up.insert(index);
                }
                Some(_) => {}
                None => panic!("no OperChanged to Up within 2 s (got {up:?})"),
            }
        }
        let snap = w.snapshot();
        assert!(snap.get(ia).unwrap().admin_up && snap.is_up(ia) && snap.is_up(ib));
        assert_eq!(
            snap.get(ia).unwrap().speed_bps,
            10_000_000_000,
            "veth reports 10000 Mb/s"
        );

        // Deleting one end removes both.
        del_link(&a).expect("delete veth");
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut removed = HashSet::new();
        while removed.len() < 2 {
            match next_event(&mut rx, deadline).await {
                Some(LinkEvent::Removed(i)) if i == ia || i == ib => {
                    removed.insert(i);
                }
                Some(_) => {}
                None => panic!("no Removed events (got {removed:?})"),
            }
        }
        let snap = w.snapshot();
        assert!(snap.get(ia).is_none() && snap.get(ib).is_none());
        drop(guard);
    }

    /// Addresses on a real veth: notifications, the initial dump of a
    /// second watcher, removal, and removal of the link.
    #[tokio::test]
    async fn veth_addresses() {
        if !is_root() {
            println!("skipped: needs root");
            return;
        }
        crate::clock::start();
        let (a, b) = (
            format!("l3a{}a", std::process::id()),
            format!("l3a{}b", std::process::id()),
        );
        let _ = del_link(&a);
        let w = IfWatcher::start(Duration::ZERO).await.expect("start");
        add_veth(&a, &b).expect("create veth");
        let guard = VethGuard(a.clone());
        let deadline = Instant::now() + Duration::from_secs(2);
        while w.snapshot().by_name(&a).is_none() {
            assert!(Instant::now() < deadline, "{a} not seen");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let ia = w.snapshot().by_name(&a).unwrap().index;
        set_up(&a).expect("a up");
        let mut rx = w.subscribe_all();
        let add = |m: AddressMessage| {
            rtnl(
                RouteNetlinkMessage::NewAddress(m),
                NLM_F_CREATE | NLM_F_EXCL,
            )
        };
        add(plain_addr(ia, "203.0.113.201", 30)).expect("add IPv4 address");
        add(plain_addr(ia, "2001:db8:77::1", 64)).expect("add IPv6 address");
        let want = [net("203.0.113.201/30"), net("2001:db8:77::1/64")];
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut seen = Vec::new();
        while seen.len() < 2 {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Ok(IfEvent::Addr(AddrEvent::Added { index, addr }))) if index == ia => {
                    assert!(w.snapshot().addrs(ia).contains(&addr));
                    assert!(addr.since > 0 && addr.prefix_route);
                    seen.push(addr.addr);
                }
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                _ => panic!("no address events for {a} (got {seen:?})"),
            }
        }
        seen.sort();
        let mut w2 = want.to_vec();
        w2.sort();
        assert_eq!(seen, w2);

        // A watcher started now finds them in its initial dump (link-local
        // fe80:: addresses of the veth may be there as well).
        let w2 = IfWatcher::start(Duration::ZERO)
            .await
            .expect("second start");
        let got: Vec<IpNet> = w2.snapshot().addrs(ia).iter().map(|x| x.addr).collect();
        for n in want {
            assert!(got.contains(&n), "{n} missing from the dump: {got:?}");
        }
        assert!(w2.snapshot().addrs(ia).iter().all(|x| x.since == 0));
        drop(w2);

        // RTM_DELADDR.
        rtnl(
            RouteNetlinkMessage::DelAddress(plain_addr(ia, "203.0.113.201", 30)),
            0,
        )
        .expect("delete IPv4 address");
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Ok(IfEvent::Addr(AddrEvent::Removed { index, addr })))
                    if index == ia && addr.addr == want[0] =>
                {
                    break
                }
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                _ => panic!("no Removed event for {}", want[0]),
            }
        }
        assert!(!w.snapshot().addrs(ia).iter().any(|x| x.addr == want[0]));
        del_link(&a).expect("delete veth");
        let deadline = Instant::now() + Duration::from_secs(2);
        while w.snapshot().get(ia).is_some() || !w.snapshot().addrs(ia).is_empty() {
            assert!(Instant::now() < deadline, "{a} and its addresses not gone");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(guard);
    }
}
