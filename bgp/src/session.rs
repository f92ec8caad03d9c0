//! BGP sessions (RFC 4271 section 8): one peer task per configured peer
//! arbitrates its TCP connections (at most one outgoing and one incoming at
//! a time, collision detection per section 6.8); each connection runs in its
//! own task through OpenSent, OpenConfirm and Established, with the Hold and
//! Keepalive timers, and writes through a writer task.
//!
//! ```text
//!  speaker task --ToPeer--> peer task --ConnCtl--> conn task --WriterMsg--> writer task --> TCP
//!       ^                      |   ^                  |   ^
//!       |                      |   +---ConnEvent------+   +---- TCP (reads)
//!       +------ToSpeaker-------+------(UPDATEs, once Established)
//! ```
//!
//! A malformed message ends only its own connection (NOTIFICATION, then
//! close); nothing here panics on input.

use crate::core::SessionInfo;
use crate::md5;
use crate::packet::error::{cease, code, open as open_err};
use crate::packet::nlri::{FamilySet, AFI_IPV4, AFI_IPV6, SAFI_MPLS_VPN, SAFI_UNICAST};
use crate::packet::open::{Capability, Open, AS_TRANS};
use crate::packet::update::Update;
use crate::packet::{self, msg_type, Message, Notification, RouteRefresh, SessionCtx};
use crate::status::PeerShared;
use crate::{Family, FsmState, PeerConfig, PeerId, SpeakerConfig};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout_at};

/// ConnectRetryTime (RFC 4271 section 10 suggests 120 s; 5 s as GoBGP, so
/// that a restarted peer is found quickly). Jittered by 0.75..1.
pub const CONNECT_RETRY: Duration = Duration::from_secs(5);
/// The Hold Time used until the OPEN is received (section 8: "4 minutes").
pub const OPEN_HOLD: Duration = Duration::from_secs(240);
/// Restart time advertised in our graceful restart capability (helper).
pub const RESTART_TIME: u16 = 120;

/// Messages from the session side to the speaker task.
pub(crate) enum ToSpeaker {
    State {
        id: PeerId,
        old: FsmState,
        new: FsmState,
    },
    Up {
        id: PeerId,
        info: SessionInfo,
        writer: Writer,
    },
    Down {
        id: PeerId,
        gen: u64,
        graceful: bool,
    },
    Updates {
        id: PeerId,
        gen: u64,
        updates: Vec<Update>,
    },
    RouteRefresh {
        id: PeerId,
        gen: u64,
        family: Family,
    },
    Accepted {
        stream: TcpStream,
        remote: SocketAddr,
    },
}

/// Messages from the speaker task to a peer task.
pub(crate) enum ToPeer {
    Config(PeerConfig, SpeakerConfig),
    Incoming(TcpStream),
    Refresh,
    Stop(Notification),
}

pub(crate) enum WriterMsg {
    Data(Vec<u8>),
    Close,
}

pub(crate) type Writer = mpsc::UnboundedSender<WriterMsg>;

enum ConnEvent {
    OpenReceived {
        cid: u64,
        open: Box<Open>,
    },
    Confirmed {
        cid: u64,
        info: Box<SessionInfo>,
        writer: Writer,
    },
    /// The connection ended; `graceful`: by TCP failure, not NOTIFICATION
    /// (RFC 4724 section 4.2), `error` the NOTIFICATION sent or received.
    Closed {
        cid: u64,
        error: Option<(u8, u8)>,
        graceful: bool,
    },
}

enum ConnCtl {
    Proceed,
    Go { gen: u64 },
    Refresh,
    Close(Notification),
}

struct Conn {
    outgoing: bool,
    state: FsmState,
    remote_id: Option<std::net::Ipv4Addr>,
    ctl: mpsc::UnboundedSender<ConnCtl>,
    gen: u64,
}

fn jitter(d: Duration) -> Duration {
    // 0.75..1.0 (RFC 4271 section 10) from the clock's low bits.
    let n = Instant::now().elapsed().subsec_nanos() as u64 ^ std::process::id() as u64;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
        ^ n;
    d.mul_f64(0.75 + (nanos % 1000) as f64 / 4000.0)
}

fn fsm_rank(s: FsmState) -> u8 {
    match s {
        FsmState::Idle => 0,
        FsmState::Active => 1,
        FsmState::Connect => 2,
        FsmState::OpenSent => 3,
        FsmState::OpenConfirm => 4,
        FsmState::Established => 5,
    }
}

/// What makes a session need a reset when it changes.
fn session_key(c: &PeerConfig) -> impl PartialEq {
    (
        c.address,
        c.port,
        c.remote_as,
        c.families.clone(),
        c.hold_time,
        c.keepalive,
        c.md5_password.clone(),
        c.route_reflector_client,
        c.passive,
        c.rib.clone(),
    )
}

struct PeerTask {
    cfg: PeerConfig,
    speaker: SpeakerConfig,
    shared: Arc<PeerShared>,
    to_speaker: mpsc::Sender<ToSpeaker>,
    conns: HashMap<u64, Conn>,
    next_cid: u64,
    gen: u64,
    state: FsmState,
    events_tx: mpsc::UnboundedSender<ConnEvent>,
    next_connect: Option<tokio::time::Instant>,
}

/// Runs one peer until `Stop` (or the speaker goes away).
pub(crate) async fn run_peer(
    cfg: PeerConfig,
    speaker: SpeakerConfig,
    shared: Arc<PeerShared>,
    mut rx: mpsc::UnboundedReceiver<ToPeer>,
    to_speaker: mpsc::Sender<ToSpeaker>,
) {
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let mut p = PeerTask {
        cfg,
        speaker,
        shared,
        to_speaker,
        conns: HashMap::new(),
        next_cid: 1,
        gen: 0,
        state: FsmState::Idle,
        events_tx,
        next_connect: Some(tokio::time::Instant::now()),
    };
    p.update_state().await;
    loop {
        let connect_at = p.connect_due();
        tokio::select! {
            ev = events_rx.recv() => {
                let Some(ev) = ev else { return };
                p.on_conn_event(ev).await;
            }
            msg = rx.recv() => match msg {
                None => { p.close_all(Notification::new(code::CEASE, cease::ADMIN_SHUTDOWN, Vec::new())); return; }
                Some(ToPeer::Stop(n)) => {
                    p.close_all(n);
                    p.set_down_state(FsmState::Idle).await;
                    return;
                }
                Some(ToPeer::Config(cfg, speaker)) => p.reconfigure(cfg, speaker).await,
                Some(ToPeer::Incoming(stream)) => p.incoming(stream),
                Some(ToPeer::Refresh) => {
                    for c in p.conns.values().filter(|c| c.state == FsmState::Established) {
                        let _ = c.ctl.send(ConnCtl::Refresh);
                    }
                }
            },
            _ = sleep_until(connect_at.unwrap_or_else(far_future)), if connect_at.is_some() => {
                p.next_connect = None;
                p.connect();
            }
        }
        p.update_state().await;
    }
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86400)
}

impl PeerTask {
    fn runnable(&self) -> bool {
        self.cfg.admin_up && self.speaker.asn != 0 && !self.speaker.router_id.is_unspecified()
    }

    fn connect_due(&self) -> Option<tokio::time::Instant> {
        if !self.runnable() || self.cfg.passive || self.conns.values().any(|c| c.outgoing) {
            return None;
        }
        if self
            .conns
            .values()
            .any(|c| c.state == FsmState::Established)
        {
            return None;
        }
        self.next_connect
    }

    async fn update_state(&mut self) {
        let best = self
            .conns
            .values()
            .map(|c| c.state)
            .max_by_key(|s| fsm_rank(*s));
        let new = match best {
            Some(s) => s,
            None if self.runnable() => FsmState::Active,
            None => FsmState::Idle,
        };
        self.set_down_state(new).await;
    }

    async fn set_down_state(&mut self, new: FsmState) {
        if new == self.state {
            return;
        }
        let old = self.state;
        self.state = new;
        {
            let mut b = self.shared.base();
            b.state = new;
            if new == FsmState::Established {
                b.established_at = Some(Instant::now());
                b.established_transitions += 1;
            } else if old == FsmState::Established {
                b.established_at = None;
            }
        }
        let _ = self
            .to_speaker
            .send(ToSpeaker::State {
                id: self.cfg.id,
                old,
                new,
            })
            .await;
    }

    fn params(&self) -> ConnParams {
        ConnParams {
            cfg: self.cfg.clone(),
            speaker: self.speaker.clone(),
            shared: self.shared.clone(),
        }
    }

    fn new_conn(&mut self, outgoing: bool) -> (u64, mpsc::UnboundedReceiver<ConnCtl>) {
        let cid = self.next_cid;
        self.next_cid += 1;
        let (ctl, ctl_rx) = mpsc::unbounded_channel();
        let state = if outgoing {
            FsmState::Connect
        } else {
            FsmState::OpenSent
        };
        self.conns.insert(
            cid,
            Conn {
                outgoing,
                state,
                remote_id: None,
                ctl,
                gen: 0,
            },
        );
        (cid, ctl_rx)
    }

    fn connect(&mut self) {
        let (cid, ctl_rx) = self.new_conn(true);
        let params = self.params();
        let events = self.events_tx.clone();
        let to_speaker = self.to_speaker.clone();
        tokio::spawn(async move {
            match connect(&params).await {
                Ok(stream) => conn_task(cid, stream, params, events, ctl_rx, to_speaker).await,
                Err(e) => {
                    tracing::debug!(peer = params.cfg.id, error = %e, "connect failed");
                    let _ = events.send(ConnEvent::Closed {
                        cid,
                        error: None,
                        graceful: false,
                    });
                }
            }
        });
    }

    fn incoming(&mut self, stream: TcpStream) {
        // RFC 4271 section 8.2.2: refused in Idle. Otherwise accepted even
        // next to other connections (one may be closing, or a collision):
        // the OPEN decides (section 6.8). At most 3 at a time.
        if !self.runnable() || self.conns.len() >= 3 {
            drop(stream);
            return;
        }
        let (cid, ctl_rx) = self.new_conn(false);
        let params = self.params();
        let events = self.events_tx.clone();
        let to_speaker = self.to_speaker.clone();
        tokio::spawn(conn_task(cid, stream, params, events, ctl_rx, to_speaker));
    }

    fn close_all(&mut self, n: Notification) {
        for c in self.conns.values() {
            let _ = c.ctl.send(ConnCtl::Close(n.clone()));
        }
    }

    async fn reconfigure(&mut self, cfg: PeerConfig, speaker: SpeakerConfig) {
        let reset = session_key(&cfg) != session_key(&self.cfg)
            || speaker.asn != self.speaker.asn
            || speaker.router_id != self.speaker.router_id;
        let admin_down = self.cfg.admin_up && !cfg.admin_up;
        self.shared.base().remote_as = cfg.remote_as;
        self.cfg = cfg;
        self.speaker = speaker;
        if admin_down {
            self.close_all(Notification::new(
                code::CEASE,
                cease::ADMIN_SHUTDOWN,
                Vec::new(),
            ));
        } else if reset {
            self.close_all(Notification::new(
                code::CEASE,
                cease::OTHER_CONFIG_CHANGE,
                Vec::new(),
            ));
        }
        if self.next_connect.is_none() && self.conns.is_empty() {
            self.next_connect = Some(tokio::time::Instant::now());
        }
    }

    async fn on_conn_event(&mut self, ev: ConnEvent) {
        match ev {
            ConnEvent::OpenReceived { cid, open } => {
                let local_id = u32::from(self.speaker.router_id);
                let remote_id = open.bgp_id;
                let Some(me) = self.conns.get(&cid) else {
                    return;
                };
                let me_outgoing = me.outgoing;
                // RFC 4271 section 6.8.
                let mut close_me = false;
                let mut close_other = Vec::new();
                for (&ocid, o) in &self.conns {
                    if ocid == cid {
                        continue;
                    }
                    match o.state {
                        FsmState::Established => close_me = true,
                        FsmState::OpenConfirm => {
                            let keep_outgoing = local_id > u32::from(remote_id);
                            if me_outgoing == keep_outgoing {
                                close_other.push(ocid);
                            } else {
                                close_me = true;
                            }
                        }
                        _ => {}
                    }
                }
                let collision = Notification::new(code::CEASE, cease::COLLISION, Vec::new());
                for o in close_other {
                    if let Some(c) = self.conns.get(&o) {
                        let _ = c.ctl.send(ConnCtl::Close(collision.clone()));
                    }
                }
                if let Some(me) = self.conns.get_mut(&cid) {
                    if close_me {
                        let _ = me.ctl.send(ConnCtl::Close(collision));
                    } else {
                        me.state = FsmState::OpenConfirm;
                        me.remote_id = Some(remote_id);
                        let _ = me.ctl.send(ConnCtl::Proceed);
                    }
                }
            }
            ConnEvent::Confirmed { cid, info, writer } => {
                if !self.conns.contains_key(&cid) {
                    return;
                }
                let collision = Notification::new(code::CEASE, cease::COLLISION, Vec::new());
                for (&ocid, o) in &self.conns {
                    if ocid != cid {
                        let _ = o.ctl.send(ConnCtl::Close(collision.clone()));
                    }
                }
                self.gen += 1;
                let gen = self.gen;
                let mut info = *info;
                info.gen = gen;
                {
                    // The status shows the connection that is the session
                    // (before anyone hears it is Established): not one that
                    // reached OpenConfirm and then lost a collision (RFC 4271
                    // section 6.8).
                    let mut b = self.shared.base();
                    b.negotiated_hold_time = info.hold_time;
                    b.negotiated_keepalive = info.keepalive;
                    b.remote_router_id = info.remote_id;
                    b.local_addr = Some(info.local_addr);
                    b.remote_addr = Some(info.remote_addr);
                    b.negotiated_version = 4;
                }
                if let Some(me) = self.conns.get_mut(&cid) {
                    me.state = FsmState::Established;
                    me.gen = gen;
                }
                self.set_down_state(FsmState::Established).await;
                let _ = self
                    .to_speaker
                    .send(ToSpeaker::Up {
                        id: self.cfg.id,
                        info,
                        writer,
                    })
                    .await;
                if let Some(me) = self.conns.get(&cid) {
                    let _ = me.ctl.send(ConnCtl::Go { gen });
                }
            }
            ConnEvent::Closed {
                cid,
                error,
                graceful,
            } => {
                let Some(c) = self.conns.remove(&cid) else {
                    return;
                };
                if let Some(e) = error {
                    self.shared.base().last_error = e;
                }
                if c.outgoing || c.state == FsmState::Established {
                    self.next_connect = Some(tokio::time::Instant::now() + jitter(CONNECT_RETRY));
                }
                if c.state == FsmState::Established {
                    let _ = self
                        .to_speaker
                        .send(ToSpeaker::Down {
                            id: self.cfg.id,
                            gen: c.gen,
                            graceful,
                        })
                        .await;
                }
            }
        }
    }
}

#[derive(Clone)]
struct ConnParams {
    cfg: PeerConfig,
    speaker: SpeakerConfig,
    shared: Arc<PeerShared>,
}

/// Leading bits two addresses of one family share.
fn common_prefix_len(a: std::net::IpAddr, b: std::net::IpAddr) -> u32 {
    match (a, b) {
        (std::net::IpAddr::V4(a), std::net::IpAddr::V4(b)) => {
            (u32::from(a) ^ u32::from(b)).leading_zeros()
        }
        (std::net::IpAddr::V6(a), std::net::IpAddr::V6(b)) => {
            (u128::from(a) ^ u128::from(b)).leading_zeros()
        }
        _ => 0,
    }
}

/// Opens the TCP connection to the peer: MD5 key set before connect, bound
/// to a configured listen address of the same family (port 0) if any.
async fn connect(p: &ConnParams) -> std::io::Result<TcpStream> {
    let remote = SocketAddr::new(p.cfg.address, p.cfg.port);
    let sock = if remote.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(key) = &p.cfg.md5_password {
        md5::set_md5(&sock, p.cfg.address, Some(key.as_bytes()))?;
    }
    // Of several listen addresses, the one on the peer's subnet is the
    // source the peer expects: take the longest common prefix with it.
    if let Some(l) = p
        .speaker
        .listen
        .iter()
        .filter(|l| l.is_ipv4() == remote.is_ipv4() && !l.ip().is_unspecified())
        .max_by_key(|l| common_prefix_len(l.ip(), remote.ip()))
    {
        sock.bind(SocketAddr::new(l.ip(), 0))?;
    }
    let deadline = tokio::time::Instant::now() + CONNECT_RETRY.max(Duration::from_secs(3));
    match timeout_at(deadline, sock.connect(remote)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connect timed out",
        )),
    }
}

/// Our OPEN (RFC 4271 section 4.2, capabilities per RFC 5492).
pub(crate) fn our_open(cfg: &PeerConfig, speaker: &SpeakerConfig) -> Open {
    let mut caps: Vec<Capability> = cfg
        .families
        .iter()
        .map(|f| {
            let (afi, safi) = f.afi_safi();
            Capability::Multiprotocol { afi, safi }
        })
        .collect();
    caps.push(Capability::RouteRefresh);
    caps.push(Capability::FourOctetAs(speaker.asn));
    // Helper mode (RFC 4724 section 3): no families, restart time ours.
    caps.push(Capability::GracefulRestart {
        flags: 0,
        time: RESTART_TIME,
        families: Vec::new(),
    });
    if cfg.address.is_ipv6() {
        caps.push(Capability::ExtendedNextHop(vec![
            (AFI_IPV4, SAFI_UNICAST as u16, AFI_IPV6),
            (AFI_IPV4, SAFI_MPLS_VPN as u16, AFI_IPV6),
        ]));
    }
    Open {
        version: 4,
        my_as: if speaker.asn > 0xffff {
            AS_TRANS
        } else {
            speaker.asn as u16
        },
        hold_time: cfg.hold_time,
        bgp_id: speaker.router_id,
        capabilities: caps,
        one_param: false,
    }
}

/// Checks the peer's OPEN against the configuration (RFC 4271 section 6.2).
fn check_open(open: &Open, p: &ConnParams) -> Result<(), Notification> {
    if open.asn() != p.cfg.remote_as {
        return Err(Notification::new(
            code::OPEN,
            open_err::BAD_PEER_AS,
            open.my_as.to_be_bytes().to_vec(),
        ));
    }
    if open.bgp_id == p.speaker.router_id && p.cfg.remote_as == p.speaker.asn {
        return Err(Notification::new(
            code::OPEN,
            open_err::BAD_BGP_ID,
            Vec::new(),
        ));
    }
    Ok(())
}

struct Reader {
    half: tokio::net::tcp::OwnedReadHalf,
    buf: Vec<u8>,
    start: usize,
}

enum ReadErr {
    /// TCP closed or failed.
    Io,
    /// A message the peer must be told about.
    Bad(Notification),
}

impl Reader {
    /// The next whole message already in the buffer, without reading.
    fn buffered(&mut self, shared: &PeerShared) -> Option<std::ops::Range<usize>> {
        match packet::frame(&self.buf[self.start..]) {
            Ok(Some(len)) => {
                let r = self.start..self.start + len;
                self.start += len;
                shared.in_messages.fetch_add(1, Relaxed);
                Some(r)
            }
            _ => None,
        }
    }

    /// The next whole message's octets (as a range of `buf`).
    async fn next(&mut self, shared: &PeerShared) -> Result<std::ops::Range<usize>, ReadErr> {
        loop {
            match packet::frame(&self.buf[self.start..]) {
                Ok(Some(len)) => {
                    let r = self.start..self.start + len;
                    self.start += len;
                    shared.in_messages.fetch_add(1, Relaxed);
                    return Ok(r);
                }
                Ok(None) => {}
                Err(e) => return Err(ReadErr::Bad(e.notification)),
            }
            if self.start > 0 && (self.start == self.buf.len() || self.start > 32 * 1024) {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            if self.buf.capacity() - self.buf.len() < 8192 {
                self.buf.reserve(64 * 1024);
            }
            match self.half.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return Err(ReadErr::Io),
                Ok(_) => {}
            }
        }
    }
}

async fn writer_task(
    mut w: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<WriterMsg>,
    shared: Arc<PeerShared>,
) {
    let mut batch = Vec::new();
    while let Some(m) = rx.recv().await {
        let mut close = false;
        batch.clear();
        let push = |m: WriterMsg, batch: &mut Vec<u8>| match m {
            WriterMsg::Data(d) => {
                if batch.is_empty() {
                    *batch = d;
                } else {
                    batch.extend_from_slice(&d);
                }
                false
            }
            WriterMsg::Close => true,
        };
        close |= push(m, &mut batch);
        while !close && batch.len() < 1 << 20 {
            match rx.try_recv() {
                Ok(m) => close |= push(m, &mut batch),
                Err(_) => break,
            }
        }
        count_out(&batch, &shared);
        if !batch.is_empty() && w.write_all(&batch).await.is_err() {
            return;
        }
        if close {
            let _ = w.shutdown().await;
            return;
        }
    }
}

fn count_out(buf: &[u8], shared: &PeerShared) {
    let mut rest = buf;
    while let Ok(Some(len)) = packet::frame(rest) {
        shared.out_messages.fetch_add(1, Relaxed);
        if rest[18] == msg_type::UPDATE {
            shared.out_updates.fetch_add(1, Relaxed);
        }
        rest = &rest[len..];
    }
}

fn notify(w: &Writer, n: &Notification) {
    let mut out = Vec::new();
    packet::emit_notification(n, &mut out);
    let _ = w.send(WriterMsg::Data(out));
    let _ = w.send(WriterMsg::Close);
}

/// One TCP connection from OpenSent to its end.
async fn conn_task(
    cid: u64,
    stream: TcpStream,
    p: ConnParams,
    events: mpsc::UnboundedSender<ConnEvent>,
    mut ctl: mpsc::UnboundedReceiver<ConnCtl>,
    to_speaker: mpsc::Sender<ToSpeaker>,
) {
    let (error, graceful) = run_conn(cid, stream, &p, &events, &mut ctl, &to_speaker).await;
    let _ = events.send(ConnEvent::Closed {
        cid,
        error,
        graceful,
    });
}

async fn run_conn(
    cid: u64,
    stream: TcpStream,
    p: &ConnParams,
    events: &mpsc::UnboundedSender<ConnEvent>,
    ctl: &mut mpsc::UnboundedReceiver<ConnCtl>,
    to_speaker: &mpsc::Sender<ToSpeaker>,
) -> (Option<(u8, u8)>, bool) {
    let id = p.cfg.id;
    let _ = stream.set_nodelay(true);
    let (Ok(local_addr), Ok(remote_addr)) = (stream.local_addr(), stream.peer_addr()) else {
        return (None, false);
    };
    let (rh, wh) = stream.into_split();
    let (writer, wrx) = mpsc::unbounded_channel();
    tokio::spawn(writer_task(wh, wrx, p.shared.clone()));
    let mut r = Reader {
        half: rh,
        buf: Vec::with_capacity(64 * 1024),
        start: 0,
    };
    let fail = |n: Notification| {
        notify(&writer, &n);
        (Some((n.code, n.subcode)), false)
    };
    let ours = our_open(&p.cfg, &p.speaker);
    let open_ctx = SessionCtx::default();
    let _ = writer.send(WriterMsg::Data(
        Message::Open(ours.clone()).to_vec(&open_ctx),
    ));

    // OpenSent: wait for the OPEN.
    let deadline = tokio::time::Instant::now() + OPEN_HOLD;
    let open = loop {
        let msg = tokio::select! {
            m = timeout_at(deadline, r.next(&p.shared)) => Some(m),
            c = ctl.recv() => match c {
                Some(ConnCtl::Close(n)) => return fail(n),
                None => return fail(Notification::new(code::CEASE, cease::ADMIN_SHUTDOWN, Vec::new())),
                Some(_) => None,
            },
        };
        let Some(msg) = msg else { continue };
        let range = match msg {
            Err(_) => return fail(Notification::new(code::HOLD_TIMER, 0, Vec::new())),
            Ok(Err(ReadErr::Io)) => return (None, false),
            Ok(Err(ReadErr::Bad(n))) => return fail(n),
            Ok(Ok(range)) => range,
        };
        match Message::parse(&r.buf[range], &open_ctx) {
            Ok(Message::Open(o)) => break o,
            Ok(Message::Notification(n)) => return (Some((n.code, n.subcode)), false),
            Ok(_) => return fail(Notification::new(code::FSM, 1, Vec::new())),
            Err(e) => return fail(e.notification),
        }
    };
    if let Err(n) = check_open(&open, p) {
        return fail(n);
    }
    let _ = events.send(ConnEvent::OpenReceived {
        cid,
        open: Box::new(open.clone()),
    });
    loop {
        match ctl.recv().await {
            Some(ConnCtl::Proceed) => break,
            Some(ConnCtl::Close(n)) => return fail(n),
            None => {
                return fail(Notification::new(
                    code::CEASE,
                    cease::ADMIN_SHUTDOWN,
                    Vec::new(),
                ))
            }
            Some(_) => {}
        }
    }
    // Negotiation (RFC 4271 section 4.2, RFC 5492, RFC 6793).
    let hold = p.cfg.hold_time.min(open.hold_time);
    let keepalive = if hold == 0 {
        0
    } else if p.cfg.keepalive == 0 {
        hold / 3
    } else {
        p.cfg.keepalive.min(hold / 3).max(1)
    };
    let ours_f: FamilySet = p.cfg.families.iter().copied().collect();
    let ctx = SessionCtx {
        as4: open.four_octet_as().is_some(),
        ebgp: p.cfg.remote_as != p.speaker.asn,
        local_as: p.speaker.asn,
        peer_as: p.cfg.remote_as,
        families: ours_f.intersection(open.families()),
    };
    let peer_gr = open.graceful_restart().map(|(_, time, fams)| {
        let set: FamilySet = fams
            .iter()
            .filter_map(|&(a, s, _)| Family::from_afi_safi(a, s))
            .collect();
        (time, set)
    });
    let hold_d = Duration::from_secs(hold as u64);
    let ka_d = Duration::from_secs(keepalive.max(1) as u64);
    let _ = writer.send(WriterMsg::Data(packet::keepalive().to_vec()));

    // OpenConfirm: wait for the KEEPALIVE.
    let mut deadline = tokio::time::Instant::now() + if hold == 0 { OPEN_HOLD } else { hold_d };
    let mut next_ka = tokio::time::Instant::now() + ka_d;
    loop {
        tokio::select! {
            m = timeout_at(deadline, r.next(&p.shared)) => {
                let range = match m {
                    Err(_) => return fail(Notification::new(code::HOLD_TIMER, 0, Vec::new())),
                    Ok(Err(ReadErr::Io)) => return (None, false),
                    Ok(Err(ReadErr::Bad(n))) => return fail(n),
                    Ok(Ok(range)) => range,
                };
                match Message::parse(&r.buf[range], &ctx) {
                    Ok(Message::Keepalive) => break,
                    Ok(Message::Notification(n)) => return (Some((n.code, n.subcode)), false),
                    Ok(_) => return fail(Notification::new(code::FSM, 2, Vec::new())),
                    Err(e) => return fail(e.notification),
                }
            }
            _ = sleep_until(next_ka), if keepalive > 0 => {
                let _ = writer.send(WriterMsg::Data(packet::keepalive().to_vec()));
                next_ka += ka_d;
            }
            c = ctl.recv() => match c {
                Some(ConnCtl::Close(n)) => return fail(n),
                None => return fail(Notification::new(code::CEASE, cease::ADMIN_SHUTDOWN, Vec::new())),
                _ => {}
            },
        }
    }
    let info = SessionInfo {
        gen: 0,
        ctx,
        local_addr,
        remote_addr,
        remote_id: open.bgp_id,
        hold_time: hold,
        keepalive,
        peer_gr,
    };
    let _ = events.send(ConnEvent::Confirmed {
        cid,
        info: Box::new(info),
        writer: writer.clone(),
    });
    let gen = loop {
        match ctl.recv().await {
            Some(ConnCtl::Go { gen }) => break gen,
            Some(ConnCtl::Close(n)) => return fail(n),
            None => {
                return fail(Notification::new(
                    code::CEASE,
                    cease::ADMIN_SHUTDOWN,
                    Vec::new(),
                ))
            }
            Some(_) => {}
        }
    };
    tracing::info!(peer = id, %remote_addr, hold, families = ?ctx.families, "session established");

    // Established.
    deadline = tokio::time::Instant::now() + hold_d;
    loop {
        tokio::select! {
            m = timeout_at(if hold > 0 { deadline } else { far_future() }, r.next(&p.shared)) => {
                match m {
                    Err(_) => return fail(Notification::new(code::HOLD_TIMER, 0, Vec::new())),
                    Ok(Err(ReadErr::Io)) => return (None, true),
                    Ok(Err(ReadErr::Bad(n))) => return fail(n),
                    Ok(Ok(range)) => {
                        deadline = tokio::time::Instant::now() + hold_d;
                        // Decode what is already buffered too, and hand the
                        // UPDATEs over in one batch.
                        let mut batch = Vec::new();
                        let mut next = Some(range);
                        while let Some(range) = next {
                            match established_msg(&r.buf[range], id, gen, &ctx, &p.shared, to_speaker, &writer).await {
                                Handled::Update(u) => batch.push(u),
                                Handled::Done => {}
                                Handled::End(end) => {
                                    send_batch(to_speaker, id, gen, &mut batch).await;
                                    return end;
                                }
                            }
                            next = if batch.len() < 16 { r.buffered(&p.shared) } else { None };
                        }
                        send_batch(to_speaker, id, gen, &mut batch).await;
                    }
                }
            }
            _ = sleep_until(next_ka), if keepalive > 0 => {
                let _ = writer.send(WriterMsg::Data(packet::keepalive().to_vec()));
                next_ka += ka_d;
            }
            c = ctl.recv() => match c {
                Some(ConnCtl::Close(n)) => return fail(n),
                Some(ConnCtl::Refresh) => {
                    let mut out = Vec::new();
                    for f in ctx.families.iter() {
                        let (afi, safi) = f.afi_safi();
                        Message::RouteRefresh(RouteRefresh { afi, subtype: 0, safi }).emit(&ctx, &mut out);
                    }
                    let _ = writer.send(WriterMsg::Data(out));
                }
                None => return fail(Notification::new(code::CEASE, cease::ADMIN_SHUTDOWN, Vec::new())),
                _ => {}
            },
        }
    }
}

#[allow(clippy::large_enum_variant)] // one at a time, then moved into a batch
enum Handled {
    Done,
    Update(Update),
    End((Option<(u8, u8)>, bool)),
}

async fn send_batch(
    to_speaker: &mpsc::Sender<ToSpeaker>,
    id: PeerId,
    gen: u64,
    batch: &mut Vec<Update>,
) {
    if !batch.is_empty() {
        let updates = std::mem::take(batch);
        let _ = to_speaker
            .send(ToSpeaker::Updates { id, gen, updates })
            .await;
    }
}

/// Handles one message in Established.
async fn established_msg(
    msg: &[u8],
    id: PeerId,
    gen: u64,
    ctx: &SessionCtx,
    shared: &PeerShared,
    to_speaker: &mpsc::Sender<ToSpeaker>,
    writer: &Writer,
) -> Handled {
    let fail = |n: Notification| {
        tracing::warn!(peer = id, notification = %n, "closing session");
        notify(writer, &n);
        Handled::End((Some((n.code, n.subcode)), false))
    };
    match Message::parse(msg, ctx) {
        Ok(Message::Update(u)) => {
            shared.in_updates.fetch_add(1, Relaxed);
            Handled::Update(u)
        }
        Ok(Message::Keepalive) => Handled::Done,
        Ok(Message::RouteRefresh(rr)) => {
            if let Some(family) =
                Family::from_afi_safi(rr.afi, rr.safi).filter(|f| ctx.families.contains(*f))
            {
                let _ = to_speaker
                    .send(ToSpeaker::RouteRefresh { id, gen, family })
                    .await;
            }
            Handled::Done
        }
        Ok(Message::Notification(n)) => {
            tracing::warn!(peer = id, notification = %n, message = ?n.shutdown_message(), "NOTIFICATION received");
            Handled::End((Some((n.code, n.subcode)), false))
        }
        // RFC 6608: Receive Unexpected Message in Established State.
        Ok(Message::Open(_)) => fail(Notification::new(code::FSM, 3, Vec::new())),
        Err(e) => {
            tracing::warn!(peer = id, error = %e, "malformed message");
            fail(e.notification)
        }
    }
}

/// The IP address a peer is matched by for incoming connections.
pub(crate) fn peer_key(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(a),
        a => a,
    }
}
