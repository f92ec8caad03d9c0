//! Per-peer status shared between the session tasks (FSM state, message
//! counters), the speaker (prefix counters) and readers ([`StatusHandle`]).
//! Counters are atomics; the rest changes only on FSM transitions.

use crate::{Family, FsmState, PeerId, PeerStatus};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// The slowly changing part of a peer's status.
#[derive(Clone, Debug)]
pub(crate) struct Base {
    pub state: FsmState,
    pub established_at: Option<Instant>,
    pub last_error: (u8, u8),
    pub established_transitions: u32,
    pub negotiated_hold_time: u16,
    pub negotiated_keepalive: u16,
    pub remote_router_id: Ipv4Addr,
    pub local_addr: Option<SocketAddr>,
    pub remote_addr: Option<SocketAddr>,
    pub remote_as: u32,
    pub negotiated_version: u8,
}

pub(crate) struct PeerShared {
    pub id: PeerId,
    pub base: Mutex<Base>,
    pub in_updates: AtomicU32,
    pub out_updates: AtomicU32,
    pub in_messages: AtomicU32,
    pub out_messages: AtomicU32,
    /// NLRI announced by the peer since the session came up, per family.
    pub received: [AtomicU32; 4],
    /// Paths from the peer in its RIB, per family.
    pub accepted: [AtomicU32; 4],
}

impl PeerShared {
    pub fn new(id: PeerId, remote_as: u32) -> Self {
        PeerShared {
            id,
            base: Mutex::new(Base {
                state: FsmState::Idle,
                established_at: None,
                last_error: (0, 0),
                established_transitions: 0,
                negotiated_hold_time: 0,
                negotiated_keepalive: 0,
                remote_router_id: Ipv4Addr::UNSPECIFIED,
                local_addr: None,
                remote_addr: None,
                remote_as,
                negotiated_version: 0,
            }),
            in_updates: AtomicU32::new(0),
            out_updates: AtomicU32::new(0),
            in_messages: AtomicU32::new(0),
            out_messages: AtomicU32::new(0),
            received: Default::default(),
            accepted: Default::default(),
        }
    }

    pub fn base(&self) -> std::sync::MutexGuard<'_, Base> {
        self.base.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn snapshot(&self) -> PeerStatus {
        let b = self.base().clone();
        let per_family = |c: &[AtomicU32; 4]| {
            Family::ALL
                .iter()
                .map(|f| (*f, c[*f as usize].load(Relaxed)))
                .collect()
        };
        PeerStatus {
            id: self.id,
            state: b.state,
            established_secs: match (b.state, b.established_at) {
                (FsmState::Established, Some(t)) => {
                    t.elapsed().as_secs().min(u32::MAX as u64) as u32
                }
                _ => 0,
            },
            last_error: b.last_error,
            in_updates: self.in_updates.load(Relaxed),
            out_updates: self.out_updates.load(Relaxed),
            in_messages: self.in_messages.load(Relaxed),
            out_messages: self.out_messages.load(Relaxed),
            established_transitions: b.established_transitions,
            negotiated_hold_time: b.negotiated_hold_time,
            negotiated_keepalive: b.negotiated_keepalive,
            remote_router_id: b.remote_router_id,
            local_addr: b.local_addr,
            remote_addr: b.remote_addr,
            remote_as: b.remote_as,
            negotiated_version: b.negotiated_version,
            prefixes_received: per_family(&self.received),
            prefixes_accepted: per_family(&self.accepted),
        }
    }

    pub fn add(counter: &[AtomicU32; 4], f: Family, n: i64) {
        let c = &counter[f as usize];
        if n >= 0 {
            c.fetch_add(n as u32, Relaxed);
        } else {
            let _ = c.fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub((-n) as u32)));
        }
    }
}

/// Read access to every peer's [`PeerStatus`], for BGP4-MIB bgpPeerTable and
/// the extension MIB. Cheap to clone; reading never waits for the speaker
/// (only for a peer's own short status lock).
#[derive(Clone, Default)]
pub struct StatusHandle {
    pub(crate) peers: Arc<RwLock<BTreeMap<PeerId, Arc<PeerShared>>>>,
    pub(crate) ribs: Arc<RwLock<Vec<RibStats>>>,
}

/// Size of one RIB (refreshed by the speaker at most every 100 ms).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct RibStats {
    /// None = the VPN RIB, Some(vrf) = a VRF's RIB.
    pub rib: Option<String>,
    /// Keys (prefixes, RD + prefix for VPN routes) with at least one path.
    pub routes: usize,
    /// Octets held by the RIB's tables (keys, best paths, other paths,
    /// index), not counting the shared attribute sets.
    pub table_bytes: usize,
    /// Distinct attribute sets held by the whole speaker.
    pub attr_sets: usize,
}

impl StatusHandle {
    /// The status of every configured peer, ordered by id.
    pub fn snapshot(&self) -> Vec<PeerStatus> {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        peers.values().map(|p| p.snapshot()).collect()
    }

    /// The status of one peer.
    pub fn get(&self, id: PeerId) -> Option<PeerStatus> {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        peers.get(&id).map(|p| p.snapshot())
    }

    /// Route counts and table sizes of every RIB.
    pub fn ribs(&self) -> Vec<RibStats> {
        self.ribs.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_ribs(&self, r: Vec<RibStats>) {
        *self.ribs.write().unwrap_or_else(|e| e.into_inner()) = r;
    }

    pub(crate) fn insert(&self, p: Arc<PeerShared>) {
        let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
        peers.insert(p.id, p);
    }

    pub(crate) fn remove(&self, id: PeerId) {
        let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
        peers.remove(&id);
    }
}
