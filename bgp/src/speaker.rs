//! The speaker task: owns [`Core`] (RIBs, Adj-RIB-Out queues), the peer
//! tasks and the listeners; turns commands and session messages into core
//! calls, sends what the core encodes to the sessions' writers, and the
//! core's events to vpn-core.

use crate::core::Core;
use crate::md5;
use crate::packet::error::{cease, code};
use crate::packet::Notification;
use crate::session::{self, ToPeer, ToSpeaker, Writer, WriterMsg};
use crate::status::{PeerShared, StatusHandle};
use crate::{BgpCommand, BgpEvent, PeerConfig, PeerId, SpeakerConfig};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

struct PeerHandle {
    cfg: PeerConfig,
    tx: mpsc::UnboundedSender<ToPeer>,
    shared: Arc<PeerShared>,
    writer: Option<(u64, Writer)>,
    /// RFC 4724: when the stale routes of a restarting peer go.
    restart_deadline: Option<Instant>,
    restart_time: u16,
}

struct Listener {
    addr: SocketAddr,
    sock: Arc<TcpListener>,
    task: JoinHandle<()>,
}

pub(crate) struct Speaker {
    core: Core,
    peers: HashMap<PeerId, PeerHandle>,
    listeners: Vec<Listener>,
    to_speaker: mpsc::Sender<ToSpeaker>,
    events: mpsc::UnboundedSender<Vec<BgpEvent>>,
    /// Room for events in `events` (EVENT_QUEUE permits, one per event; the
    /// consumer gives them back as it takes batches).
    room: Arc<tokio::sync::Semaphore>,
    /// Commands received while waiting for room in `events`.
    backlog: VecDeque<BgpCommand>,
    cmds_open: bool,
    status: StatusHandle,
    stats_at: Option<Instant>,
}

/// Events travel in batches of at most EVENT_BATCH (one channel operation
/// and one wake-up per batch, not per route: per-event sends cost the
/// 1M-route ingest ~5% of both the speaker's and the consumer's CPU).
pub(crate) const EVENT_BATCH: usize = 4096;
/// Events in flight to the consumer at most: the speaker waits (and stops
/// reading from its sessions, so TCP pushes back on the peers) while
/// vpn-core is behind.
pub(crate) const EVENT_QUEUE: usize = 16384;
/// Events the speaker lets accumulate (while applying queued UPDATEs)
/// before sending them. With per-event sends, larger batches meant fewer
/// wake-ups (16k events 0.88 s / 0.77 CPU s / 66 MiB for the 1M-route
/// ingest, 64k 0.65 s / 0.62 / 75 MiB); with batched sends the wake-ups are
/// few anyway and a large batch only holds memory (bench/bgp_ingest.sh,
/// speaker only, 2 runs each: 64k 0.34 s / 0.38 CPU s / 92-112 MiB, 16k
/// 0.26-0.29 s / 0.30 / 63-72 MiB, 4k 0.27-0.29 s / 0.31 / 61-70 MiB).
const MAX_BATCH_EVENTS: usize = 16384;
/// Decoded UPDATE batches queued from the sessions to the speaker.
const SESSION_QUEUE: usize = 64;

pub(crate) async fn run(
    mut cmds: mpsc::Receiver<BgpCommand>,
    events: mpsc::UnboundedSender<Vec<BgpEvent>>,
    room: Arc<tokio::sync::Semaphore>,
    status: StatusHandle,
) {
    let (to_speaker, mut from_sessions) = mpsc::channel(SESSION_QUEUE);
    let mut s = Speaker {
        core: Core::new(SpeakerConfig {
            asn: 0,
            router_id: Ipv4Addr::UNSPECIFIED,
            listen: Vec::new(),
        }),
        peers: HashMap::new(),
        listeners: Vec::new(),
        to_speaker,
        events,
        room,
        backlog: VecDeque::new(),
        cmds_open: true,
        status,
        stats_at: None,
    };
    loop {
        if let Some(c) = s.backlog.pop_front() {
            if matches!(c, BgpCommand::Shutdown) {
                s.shutdown(&mut cmds).await;
                break;
            }
            s.on_command(c).await;
            s.flush(&mut cmds).await;
            continue;
        }
        let deadline = s.peers.values().filter_map(|p| p.restart_deadline).min();
        tokio::select! {
            biased;
            m = from_sessions.recv() => {
                let Some(m) = m else { break };
                s.on_session(m);
                // Take what else is queued before encoding output, as long
                // as the events it makes stay few.
                for _ in 0..256 {
                    if s.core.events.len() >= MAX_BATCH_EVENTS {
                        break;
                    }
                    match from_sessions.try_recv() {
                        Ok(m) => s.on_session(m),
                        Err(_) => break,
                    }
                }
            }
            c = cmds.recv(), if s.cmds_open => match c {
                None | Some(BgpCommand::Shutdown) => {
                    s.shutdown(&mut cmds).await;
                    break;
                }
                Some(c) => s.on_command(c).await,
            },
            _ = tokio::time::sleep_until(s.stats_at.unwrap_or_else(far)), if s.stats_at.is_some() => {}
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(far)), if deadline.is_some() => {
                let now = Instant::now();
                let due: Vec<PeerId> = s.peers.iter().filter(|(_, p)| p.restart_deadline.is_some_and(|d| d <= now)).map(|(id, _)| *id).collect();
                for id in due {
                    if let Some(p) = s.peers.get_mut(&id) { p.restart_deadline = None; }
                    s.core.restart_expired(id);
                }
            }
        }
        s.flush(&mut cmds).await;
    }
}

impl Speaker {
    /// Sends the core's events, waiting for room (never dropping one) while
    /// still taking commands, so that a vpn-core blocked on sending a
    /// command cannot deadlock with us.
    async fn emit(&mut self, cmds: &mut mpsc::Receiver<BgpCommand>) {
        if self.core.events.is_empty() {
            return;
        }
        let all = std::mem::take(&mut self.core.events);
        if all.len() <= EVENT_BATCH {
            self.send_batch(all, cmds).await;
            return;
        }
        let mut it = all.into_iter();
        loop {
            let batch: Vec<BgpEvent> = it.by_ref().take(EVENT_BATCH).collect();
            if batch.is_empty() || !self.send_batch(batch, cmds).await {
                return;
            }
        }
    }

    /// Sends one batch, waiting for room while taking commands; false when
    /// the consumer is gone.
    async fn send_batch(
        &mut self,
        batch: Vec<BgpEvent>,
        cmds: &mut mpsc::Receiver<BgpCommand>,
    ) -> bool {
        // EVENT_BATCH <= EVENT_QUEUE: a batch always fits once drained.
        let n = batch.len().min(EVENT_QUEUE) as u32;
        if let Ok(p) = self.room.try_acquire_many(n) {
            p.forget();
            return self.events.send(batch).is_ok();
        }
        let room = self.room.clone();
        loop {
            tokio::select! {
                p = room.acquire_many(n) => {
                    let Ok(p) = p else { return false };
                    p.forget();
                    return self.events.send(batch).is_ok();
                }
                _ = self.events.closed() => return false,
                c = cmds.recv(), if self.cmds_open => match c {
                    Some(c) => self.backlog.push_back(c),
                    None => {
                        self.cmds_open = false;
                        self.backlog.push_back(BgpCommand::Shutdown);
                    }
                },
            }
        }
    }

    async fn flush(&mut self, cmds: &mut mpsc::Receiver<BgpCommand>) {
        for id in self.core.peers_with_output() {
            let Some((gen, bytes)) = self.core.flush(id) else {
                continue;
            };
            if let Some(p) = self.peers.get(&id) {
                if let Some((g, w)) = &p.writer {
                    if *g == gen {
                        let _ = w.send(WriterMsg::Data(bytes));
                    }
                }
            }
        }
        self.emit(cmds).await;
        // RIB sizes for the status handle, at most every 100 ms (and once
        // more 100 ms after the last change).
        let now = Instant::now();
        match self.stats_at {
            Some(t) if t > now => {}
            Some(_) => {
                self.status.set_ribs(self.core.rib_stats());
                self.stats_at = None;
            }
            None => self.stats_at = Some(now + Duration::from_millis(100)),
        }
    }

    fn on_session(&mut self, m: ToSpeaker) {
        match m {
            ToSpeaker::Updates { id, gen, updates } => {
                for u in updates {
                    self.core.apply_update(id, gen, u);
                }
            }
            ToSpeaker::State { id, old, new } => {
                if let Some(p) = self.peers.get(&id) {
                    let status = p.shared.snapshot();
                    self.core.events.push(BgpEvent::PeerState {
                        id,
                        old,
                        new,
                        status,
                    });
                }
            }
            ToSpeaker::Up { id, info, writer } => {
                if let Some(p) = self.peers.get_mut(&id) {
                    p.writer = Some((info.gen, writer));
                    p.restart_deadline = None;
                    p.restart_time = info.peer_gr.map_or(0, |(t, _)| t);
                    self.core.peer_up(id, info);
                }
            }
            ToSpeaker::Down { id, gen, graceful } => {
                if let Some(p) = self.peers.get_mut(&id) {
                    if p.writer.as_ref().is_some_and(|(g, _)| *g == gen) {
                        p.writer = None;
                        if graceful && p.restart_time > 0 {
                            p.restart_deadline =
                                Some(Instant::now() + Duration::from_secs(p.restart_time as u64));
                        }
                    }
                }
                self.core.peer_down(id, gen, graceful);
            }
            ToSpeaker::RouteRefresh { id, gen, family } => {
                if self
                    .peers
                    .get(&id)
                    .and_then(|p| p.writer.as_ref())
                    .is_some_and(|(g, _)| *g == gen)
                {
                    self.core.refresh_out(id, family);
                }
            }
            ToSpeaker::Accepted { stream, remote } => {
                let ip = session::peer_key(remote.ip());
                match self
                    .peers
                    .values()
                    .find(|p| session::peer_key(p.cfg.address) == ip)
                {
                    Some(p) => {
                        let _ = p.tx.send(ToPeer::Incoming(stream));
                    }
                    None => tracing::info!(%remote, "connection from an unknown peer refused"),
                }
            }
        }
    }

    async fn on_command(&mut self, c: BgpCommand) {
        match c {
            BgpCommand::SetSpeaker(cfg) => {
                let listen_changed = cfg.listen != self.core.speaker.listen;
                self.core.speaker = cfg.clone();
                if listen_changed {
                    self.relisten().await;
                }
                for p in self.peers.values() {
                    let _ = p.tx.send(ToPeer::Config(p.cfg.clone(), cfg.clone()));
                }
            }
            BgpCommand::PutPeer(cfg) => self.put_peer(cfg),
            BgpCommand::DelPeer(id) => {
                if let Some(p) = self.peers.remove(&id) {
                    let _ = p.tx.send(ToPeer::Stop(Notification::new(
                        code::CEASE,
                        cease::PEER_DECONFIGURED,
                        Vec::new(),
                    )));
                    self.set_md5(p.cfg.address, None);
                    self.status.remove(id);
                }
                self.core.del_peer(id);
            }
            BgpCommand::Originate { rib, routes } => self.core.originate(&rib, routes),
            BgpCommand::Withdraw { rib, keys } => self.core.withdraw(&rib, keys),
            BgpCommand::Refresh(id) => {
                if let Some(p) = self.peers.get(&id) {
                    let _ = p.tx.send(ToPeer::Refresh);
                }
            }
            BgpCommand::Shutdown => {}
        }
    }

    fn put_peer(&mut self, cfg: PeerConfig) {
        let key = cfg.md5_password.clone();
        let addr = cfg.address;
        match self.peers.get_mut(&cfg.id) {
            Some(p) => {
                let old_addr = p.cfg.address;
                p.cfg = cfg.clone();
                let _ =
                    p.tx.send(ToPeer::Config(cfg.clone(), self.core.speaker.clone()));
                let shared = p.shared.clone();
                self.core.put_peer(cfg, shared);
                if old_addr != addr {
                    self.set_md5(old_addr, None);
                }
            }
            None => {
                let shared = Arc::new(PeerShared::new(cfg.id, cfg.remote_as));
                self.status.insert(shared.clone());
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(session::run_peer(
                    cfg.clone(),
                    self.core.speaker.clone(),
                    shared.clone(),
                    rx,
                    self.to_speaker.clone(),
                ));
                self.core.put_peer(cfg.clone(), shared.clone());
                self.peers.insert(
                    cfg.id,
                    PeerHandle {
                        cfg,
                        tx,
                        shared,
                        writer: None,
                        restart_deadline: None,
                        restart_time: 0,
                    },
                );
            }
        }
        self.set_md5(addr, key.as_deref().map(str::as_bytes));
    }

    /// RFC 2385 keys on every listener of the peer's family.
    fn set_md5(&self, peer: IpAddr, key: Option<&[u8]>) {
        for l in self
            .listeners
            .iter()
            .filter(|l| l.addr.is_ipv4() == peer.is_ipv4())
        {
            if let Err(e) = md5::set_md5(&*l.sock, peer, key) {
                if key.is_some() {
                    tracing::error!(%peer, listener = %l.addr, error = %e, "TCP MD5 key not set");
                }
            }
        }
    }

    async fn relisten(&mut self) {
        for l in self.listeners.drain(..) {
            l.task.abort();
        }
        for addr in self.core.speaker.listen.clone() {
            match bind(addr) {
                Ok(sock) => {
                    let sock = Arc::new(sock);
                    let tx = self.to_speaker.clone();
                    let s2 = sock.clone();
                    let task = tokio::spawn(async move {
                        loop {
                            match s2.accept().await {
                                Ok((stream, remote)) => {
                                    if tx
                                        .send(ToSpeaker::Accepted { stream, remote })
                                        .await
                                        .is_err()
                                    {
                                        return;
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "accept failed");
                                    tokio::time::sleep(Duration::from_millis(100)).await;
                                }
                            }
                        }
                    });
                    self.listeners.push(Listener { addr, sock, task });
                }
                Err(e) => tracing::error!(%addr, error = %e, "cannot listen"),
            }
        }
        let keys: Vec<(IpAddr, String)> = self
            .peers
            .values()
            .filter_map(|p| p.cfg.md5_password.clone().map(|k| (p.cfg.address, k)))
            .collect();
        for (a, k) in keys {
            self.set_md5(a, Some(k.as_bytes()));
        }
    }

    async fn shutdown(&mut self, cmds: &mut mpsc::Receiver<BgpCommand>) {
        for p in self.peers.values() {
            let _ = p.tx.send(ToPeer::Stop(Notification::new(
                code::CEASE,
                cease::ADMIN_SHUTDOWN,
                Vec::new(),
            )));
        }
        for l in self.listeners.drain(..) {
            l.task.abort();
        }
        // Give the writers a moment to send the NOTIFICATIONs.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.cmds_open = false;
        self.emit(cmds).await;
    }
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(86400)
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(1024)
}
