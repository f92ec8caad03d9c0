//! MP-BGP speaker for BGP/MPLS IP VPNs: wire codec, FSM, sessions, Adj-RIBs,
//! best path. It knows nothing of SNMP, rows, sled or VRF configuration:
//! vpn-core tells it which peers to run and which routes to originate, and
//! it tells vpn-core (through [`BgpEvent`]s) what the peers send and how the
//! sessions go.
//!
//! ```text
//!  vpn-core --BgpCommand--> [speaker task] <--TCP--> peers
//!     ^                          |
//!     +------- BgpEvent ---------+         (peer state, best-path changes)
//! ```
//!
//! Start it with [`spawn`]: send [`BgpCommand::SetSpeaker`] first (no
//! session starts before the speaker has an AS and a router id), then
//! [`BgpCommand::PutPeer`] per peer. Read peer counters at any time through
//! the returned [`StatusHandle`].
//!
//! Modules: `packet/` the wire codec (RFC 4271, 4760, 4364, 4659, 8277,
//! 6793, 4724, 8950, 7606), `session.rs` the FSM and TCP (with its task
//! diagram), `core.rs` the RIBs and Adj-RIB-Out logic without I/O, `rib/`
//! tables, attribute interning and best path, `speaker.rs` the task that
//! ties them together.

mod core;
mod md5;
pub mod packet;
mod rib;
mod session;
mod speaker;
mod status;

pub use mpls::Labels;
pub use packet::nlri::FamilySet;
pub use session::CONNECT_RETRY;
pub use status::{RibStats, StatusHandle};

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// Address families this speaker negotiates (RFC 4760 AFI/SAFI).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Family {
    /// AFI 1, SAFI 1
    Ipv4Unicast,
    /// AFI 2, SAFI 1
    Ipv6Unicast,
    /// AFI 1, SAFI 128 (RFC 4364)
    Vpnv4,
    /// AFI 2, SAFI 128 (RFC 4659)
    Vpnv6,
}

/// A route distinguisher as its 8 octets (RFC 4364 section 4.2).
pub type Rd = [u8; 8];

/// The key of a route in a RIB.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum RouteKey {
    Unicast(IpNet),
    /// RD + prefix (the label is an attribute of the path, not the key).
    Vpn(Rd, IpNet),
}

/// Well-known and optional path attributes we use (RFC 4271, RFC 4360,
/// RFC 4760). Shared between routes with identical attributes.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct PathAttrs {
    /// 0 IGP, 1 EGP, 2 INCOMPLETE
    pub origin: u8,
    /// AS_PATH segments flattened to AS_SEQUENCE order (sets kept as
    /// segments inside the codec; for best path, length counts a set as 1).
    pub as_path: Vec<AsSegment>,
    /// Next hop (from NEXT_HOP or MP_REACH_NLRI; for VPN routes the RD of the
    /// next hop is dropped; a link-local second address is kept aside).
    pub next_hop: Option<IpAddr>,
    pub next_hop_link_local: Option<std::net::Ipv6Addr>,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    pub atomic_aggregate: bool,
    pub aggregator: Option<(u32, Ipv4Addr)>,
    pub communities: Vec<u32>,
    /// Extended communities, 8 octets each (route targets are type
    /// 0x00/0x01/0x02 sub-type 0x02).
    pub ext_communities: Vec<[u8; 8]>,
    pub originator_id: Option<Ipv4Addr>,
    pub cluster_list: Vec<Ipv4Addr>,
    /// Attributes we do not interpret, kept to pass on (optional transitive).
    pub unknown: Vec<(u8, u8, Vec<u8>)>,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum AsSegment {
    Sequence(Vec<u32>),
    Set(Vec<u32>),
}

/// A path: attributes plus the label stack of a labelled route (RFC 8277).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Path {
    pub attrs: Arc<PathAttrs>,
    pub labels: Labels,
    /// Which peer it came from (None: originated locally).
    pub from: Option<PeerId>,
}

/// Identifies a peer for the life of its configuration (vpn-core picks it).
pub type PeerId = u32;

/// A peer to run.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PeerConfig {
    pub id: PeerId,
    pub address: IpAddr,
    /// TCP port to connect to (179 normally).
    pub port: u16,
    pub remote_as: u32,
    pub families: Vec<Family>,
    /// Seconds; 0 = no keepalives (RFC 4271 allows 0 or >= 3).
    pub hold_time: u16,
    pub keepalive: u16,
    /// RFC 2385 TCP MD5 password.
    pub md5_password: Option<String>,
    pub route_reflector_client: bool,
    pub admin_up: bool,
    /// Only accept connections, never connect.
    pub passive: bool,
    /// Which RIB this peer's routes go to and come from: None = the
    /// provider-wide VPN RIB (PE-PE / RR), Some(name) = a VRF's RIB (a CE
    /// peer inside a VRF; name is opaque to bgp).
    pub rib: Option<String>,
}

/// Speaker-wide settings.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SpeakerConfig {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    /// Addresses to accept connections on (empty: no listener).
    pub listen: Vec<SocketAddr>,
}

/// RFC 4271 section 8 FSM states (the values BGP4-MIB bgpPeerState uses).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FsmState {
    Idle = 1,
    Connect = 2,
    Active = 3,
    OpenSent = 4,
    OpenConfirm = 5,
    Established = 6,
}

/// Counters and state of one peer (for BGP4-MIB bgpPeerTable and the
/// extension MIB).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PeerStatus {
    pub id: PeerId,
    pub state: FsmState,
    /// Seconds the session has been Established (0 when not).
    pub established_secs: u32,
    /// Last NOTIFICATION code/subcode sent or received.
    pub last_error: (u8, u8),
    pub in_updates: u32,
    pub out_updates: u32,
    pub in_messages: u32,
    pub out_messages: u32,
    pub established_transitions: u32,
    pub negotiated_hold_time: u16,
    pub negotiated_keepalive: u16,
    pub remote_router_id: Ipv4Addr,
    pub local_addr: Option<SocketAddr>,
    pub remote_addr: Option<SocketAddr>,
    pub remote_as: u32,
    pub negotiated_version: u8,
    /// Prefixes received (NLRI announced since the session came up) /
    /// accepted (paths now in Adj-RIB-In, after treat-as-withdraw and loop
    /// detection) per family.
    pub prefixes_received: Vec<(Family, u32)>,
    pub prefixes_accepted: Vec<(Family, u32)>,
}

/// What vpn-core asks of the speaker.
#[derive(Clone, Debug)]
pub enum BgpCommand {
    SetSpeaker(SpeakerConfig),
    PutPeer(PeerConfig),
    DelPeer(PeerId),
    /// Originate (or replace) routes in a RIB (None = the VPN RIB, else a
    /// VRF RIB advertised to that VRF's CE peers). Next hop None = self.
    Originate {
        rib: Option<String>,
        routes: Vec<(RouteKey, Path)>,
    },
    Withdraw {
        rib: Option<String>,
        keys: Vec<RouteKey>,
    },
    /// Ask a peer to resend (ROUTE-REFRESH, RFC 2918).
    Refresh(PeerId),
    Shutdown,
}

/// What the speaker tells vpn-core.
#[derive(Clone, Debug)]
pub enum BgpEvent {
    /// A peer's FSM moved (old -> new); `status` is the new status.
    PeerState {
        id: PeerId,
        old: FsmState,
        new: FsmState,
        status: PeerStatus,
    },
    /// The best path of a key in a RIB changed (None: no path left).
    /// Reported whenever the old or the new best path was learned from a
    /// peer; a change between two local paths (vpn-core's own) is not. A
    /// local best after a learned one comes with `from: None`.
    Best {
        rib: Option<String>,
        key: RouteKey,
        best: Option<Path>,
        /// The attributes of the previous best path when it was learned
        /// from a peer (None: there was none, or it was local). Since every
        /// change to or from a learned best is reported, this is the `best`
        /// of the previous event for the key whenever that one was learned.
        old: Option<Arc<PathAttrs>>,
    },
    /// End-of-RIB received (RFC 4724) for a family from a peer.
    EndOfRib { id: PeerId, family: Family },
}

/// The speaker's events, in order. They travel in batches (one channel
/// operation per batch); take them one at a time ([`Events::recv`]) or a
/// batch at a time.
pub struct Events {
    rx: tokio::sync::mpsc::UnboundedReceiver<Vec<BgpEvent>>,
    /// The speaker's room for events: given back per batch taken.
    room: Arc<tokio::sync::Semaphore>,
    /// The rest of a batch being taken one at a time.
    pending: std::collections::VecDeque<BgpEvent>,
}

impl Events {
    /// The next event; None once the speaker has stopped.
    pub async fn recv(&mut self) -> Option<BgpEvent> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            let b = self.rx.recv().await?;
            self.taken(&b);
            self.pending.extend(b);
        }
    }

    fn taken(&self, b: &[BgpEvent]) {
        self.room.add_permits(b.len().min(speaker::EVENT_QUEUE));
    }

    /// The next batch (never empty); None once the speaker has stopped.
    pub async fn recv_batch(&mut self) -> Option<Vec<BgpEvent>> {
        if !self.pending.is_empty() {
            return Some(self.pending.drain(..).collect());
        }
        let b = self.rx.recv().await?;
        self.taken(&b);
        Some(b)
    }

    /// [`Events::recv_batch`] for a thread outside the runtime.
    pub fn blocking_recv_batch(&mut self) -> Option<Vec<BgpEvent>> {
        if !self.pending.is_empty() {
            return Some(self.pending.drain(..).collect());
        }
        let b = self.rx.blocking_recv()?;
        self.taken(&b);
        Some(b)
    }

    /// A batch if one is ready now.
    pub fn try_recv_batch(&mut self) -> Option<Vec<BgpEvent>> {
        if !self.pending.is_empty() {
            return Some(self.pending.drain(..).collect());
        }
        let b = self.rx.try_recv().ok()?;
        self.taken(&b);
        Some(b)
    }
}

/// Starts the speaker on the current tokio runtime (call from inside one).
///
/// Returns the event stream and the status handle. Events are never
/// dropped: at most 16,384 are in flight, and when vpn-core falls behind the
/// speaker waits, stops reading its sessions' UPDATEs, and TCP flow control
/// holds the peers back (keepalives go on). Commands sent meanwhile are
/// still taken, so a task that both sends commands and reads events cannot
/// deadlock with the speaker. A route learned yields a `Best` when it changes
/// the best path (its labels are in the path). The speaker stops on
/// [`BgpCommand::Shutdown`] or when `cmds` closes, after sending Cease
/// NOTIFICATIONs.
///
/// Everything else about a peer's session (hold/keepalive negotiation,
/// collision detection, TCP MD5, graceful restart helper, route refresh)
/// happens inside; see [`PeerStatus`] for what is visible.
pub fn spawn(cmds: tokio::sync::mpsc::Receiver<BgpCommand>) -> (Events, StatusHandle) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let room = Arc::new(tokio::sync::Semaphore::new(speaker::EVENT_QUEUE));
    let status = StatusHandle::default();
    tokio::spawn(speaker::run(cmds, tx, room.clone(), status.clone()));
    (
        Events {
            rx,
            room,
            pending: Default::default(),
        },
        status,
    )
}
