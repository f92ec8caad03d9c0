//! l3vpnd: a BGP/MPLS IP VPN provider-edge control plane managed over SNMP.

mod config;
mod snmp;

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use clap::Parser;
use mib::{AgentInfo, Mib, SnmpStats};
use snmp::responder::Responder;
use snmp::{Communities, Engine};
use std::fs::File;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use vpn_core::fibview::Backend;
use vpn_core::ifaces::IfWatcher;
use vpn_core::reconcile::{self, Hint, Reconciler};
use vpn_core::thresholds::Tracker;
use vpn_core::vpn::{vrf_route_count, Vpn};
use vpn_core::Store;

/// Rows created with createAndWait and never made active live this long
/// (RFC 2579 suggests about 5 minutes), in ticks.
const STALE_ROW_TICKS: u32 = 5 * 60 * 100;

fn main() {
    vpn_core::clock::start();
    let cli = config::Cli::parse();
    let settings = match config::Settings::from_cli(cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("l3vpnd: {e:#}");
            std::process::exit(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(settings) {
        tracing::error!("{e:#}");
        eprintln!("l3vpnd: {e:#}");
        std::process::exit(1);
    }
}

/// Take the data directory for this process; a second l3vpnd on the same
/// directory is refused.
fn lock_data_dir(dir: &std::path::Path) -> Result<File> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    let path = dir.join("l3vpnd.lock");
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "data directory {} is in use by another l3vpnd (lock {} is held); refusing to start",
            dir.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

fn sys_descr() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "l3vpnd {} - BGP/MPLS IP VPN provider edge (RFC 4364, RFC 4382), Linux {}",
        env!("CARGO_PKG_VERSION"),
        release.trim()
    )
}

fn run(settings: config::Settings) -> Result<()> {
    let _lock = lock_data_dir(&settings.data_dir)?;
    let store = Arc::new(
        Store::open(&settings.data_dir)
            .with_context(|| format!("opening store in {}", settings.data_dir.display()))?,
    );
    if let Some(space) = settings.label_space {
        let (cfg, _) = store
            .commit_checked::<std::convert::Infallible>(vpn_core::clock::ticks(), |cfg| {
                if cfg.settings.label_space == space {
                    return Ok(vec![]);
                }
                let mut s = cfg.settings.clone();
                s.label_space = space;
                Ok(vec![vpn_core::Change::PutSettings(s)])
            })?
            .unwrap_or_else(|e| match e {});
        if !cfg.label_shortage.is_empty() {
            anyhow::bail!(
                "the configured dynamic label range cannot hold the {} labels already allocated",
                cfg.labels_allocated() + cfg.label_shortage.len()
            );
        }
    }
    if let Some(b) = &settings.bgp {
        apply_bgp_file(&store, b)?;
    }
    if let Some(t) = settings.rte_mx_thrsh_time {
        // l3vpndVrfRteMxThrshTime from the configuration file.
        store
            .commit_checked::<std::convert::Infallible>(vpn_core::clock::ticks(), |cfg| {
                if cfg.settings.rte_mx_thrsh_time == t {
                    return Ok(vec![]);
                }
                let mut s = cfg.settings.clone();
                s.rte_mx_thrsh_time = t;
                Ok(vec![vpn_core::Change::PutSettings(s)])
            })?
            .unwrap_or_else(|e| match e {});
    }
    let snap = store.snapshot();
    tracing::info!(
        data_dir = %settings.data_dir.display(),
        boots = store.boots(),
        new_store = store.is_new(),
        vrfs = snap.vrfs.len(),
        route_targets = snap.rts.len(),
        interface_bindings = snap.ifconfs.len(),
        "store open"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(serve(settings, store))
}

async fn serve(settings: config::Settings, store: Arc<Store>) -> Result<()> {
    let watcher = IfWatcher::start(Duration::from_secs(5))
        .await
        .context("reading the kernel's interfaces")?;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_string();
    let stats = Arc::new(SnmpStats::default());
    // SNMPv3: engine ID, boots, USM users and VACM rows (store + config file).
    let sec = snmp::v3::bootstrap(
        &store,
        &settings.security,
        (snmp::COMMUNITY_RO.as_bytes(), snmp::COMMUNITY_RW.as_bytes()),
        settings.max_msg_size as u32,
    )?;
    {
        let sec = sec.clone();
        store.on_commit(Box::new(move |_cfg, eff| sec.committed(eff)));
    }
    // Notification targets: SNMP-TARGET-MIB / SNMP-NOTIFICATION-MIB rows
    // (store + configuration file).
    let notify_state = snmp::notify::bootstrap(&store, &settings.notify_targets)?;
    {
        let n = notify_state.clone();
        store.on_commit(Box::new(move |_cfg, eff| n.committed(eff)));
    }
    // The VRFs' BGP routes (the VPN glue writes them; the reconciler, the
    // MIB and the route-count thresholds read them).
    let bgp_routes: Arc<ArcSwap<vpn_core::vpn::BgpRoutes>> =
        Arc::new(ArcSwap::from_pointee(Default::default()));
    let mib = Arc::new(
        Mib::new(
            AgentInfo {
                sys_descr: sys_descr(),
                default_sys_name: hostname,
            },
            stats,
            settings.default_storage,
        )
        .with_security(sec.clone())
        .with_notify(notify_state.clone())
        .with_bgp_routes(bgp_routes.clone()),
    );
    let ifs: Arc<ArcSwap<_>> = watcher.view();
    // The notification originator and the events that feed it.
    let (originator, notify_task) = snmp::notify::spawn(snmp::notify::Setup {
        sec: sec.clone(),
        state: notify_state.clone(),
        users: settings.security.users.clone(),
        queue_limit: settings.notify_queue,
        window: snmp::notify::WINDOW,
    })
    .await
    .context("starting the notification originator")?;
    let events = snmp::events::Events::new(originator, store.clone(), ifs.clone());
    {
        let e = events.clone();
        store.on_commit(Box::new(move |_cfg, eff| e.committed(eff)));
        let e = events.clone();
        mib.illegal_labels
            .set_on_illegal(Box::new(move |cfg, vrf, n| e.illegal_label(cfg, vrf, n)));
    }
    let mut notify_links = watcher.subscribe();
    let notify_link_task = {
        let e = events.clone();
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match notify_links.recv().await {
                    Ok(ev) => e.link(&ev),
                    Err(RecvError::Lagged(_)) => e.resync(),
                    Err(RecvError::Closed) => return,
                }
            }
        })
    };

    // The FIB and the reconciler that drives it from committed rows.
    let backend: Box<dyn fib::Fib> = match settings.fib {
        Backend::Shadow => Box::new(fib::ShadowFib::new()),
        Backend::Netlink => {
            Box::new(fib::NetlinkFib::new().context("opening the kernel FIB (netlink)")?)
        }
    };
    let caps = backend.capabilities();
    tracing::info!(backend = ?settings.fib, vrf_device = caps.vrf_device, mpls = caps.mpls, ipv6 = caps.ipv6, "FIB");
    let peer_states: Arc<ArcSwap<vpn_core::bgpcfg::PeerStates>> =
        Arc::new(ArcSwap::from_pointee(Default::default()));
    let (hints, fib_view, reconciler) = Reconciler::spawn(
        backend,
        settings.fib,
        store.clone(),
        bgp_routes.clone(),
        Some(ifs.clone()),
    );
    {
        let hints = std::sync::Mutex::new(hints.clone());
        store.on_commit(Box::new(move |_cfg, eff| {
            let tx = hints.lock().unwrap_or_else(|p| p.into_inner());
            for h in reconcile::hints(eff) {
                let _ = tx.send(h);
            }
        }));
    }
    // Route-count thresholds: events for the notification originator.
    let tracker = Arc::new(Tracker::default());
    {
        let t = tracker.clone();
        let ev = events.clone();
        let (b, i) = (bgp_routes.clone(), ifs.clone());
        store.on_commit(Box::new(move |cfg, eff| {
            let (bgp, ifs) = (b.load(), i.load());
            let count = |v: &vpn_core::VrfKey| vrf_route_count(cfg, &bgp, Some(&ifs), v);
            ev.thresholds(cfg, &t.observe_commit(cfg, eff, uptime_secs(), &count));
        }));
        let t = tracker.clone();
        let s = store.clone();
        let ev = events.clone();
        let (b, i) = (bgp_routes.clone(), ifs.clone());
        mib.drops.set_on_drop(Box::new(move |vrf| {
            let cfg = s.snapshot();
            let n = vrf_route_count(&cfg, &b.load(), Some(&i.load()), vrf);
            ev.thresholds(&cfg, &t.observe_count(&cfg, vrf, n, true, uptime_secs()));
        }));
    }
    // Links that come or go change what the kernel holds: resync.
    let mut link_events = watcher.subscribe();
    let link_hints = hints.clone();
    let link_task = tokio::spawn(async move {
        use vpn_core::ifaces::LinkEvent;
        loop {
            match link_events.recv().await {
                Ok(LinkEvent::Added(_) | LinkEvent::Removed(_)) => {
                    let _ = link_hints.send(Hint::Resync);
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let _ = link_hints.send(Hint::Resync);
                }
                Err(_) => return,
            }
        }
    });

    // The BGP speaker and the VPN glue between it, the store and the FIB.
    let (bgp_tx, bgp_rx) = tokio::sync::mpsc::channel(4096);
    let (mut bgp_events, bgp_status) = vpn_core::bgp::spawn(bgp_rx);
    let (glue_tx, mut glue_rx) = tokio::sync::mpsc::unbounded_channel();
    let bgp_forward = tokio::spawn(async move {
        while let Some(c) = glue_rx.recv().await {
            if bgp_tx.send(c).await.is_err() {
                break;
            }
        }
    });
    let vpn = {
        let hints = std::sync::Mutex::new(hints.clone());
        let (ts, tb, ti) = (store.clone(), bgp_routes.clone(), ifs.clone());
        let (tt, tev) = (tracker.clone(), events.clone());
        Arc::new(Vpn::new(
            glue_tx,
            bgp_routes.clone(),
            peer_states.clone(),
            mib.illegal_labels.clone(),
            mib.drops.clone(),
            Box::new(move |vrf, prefixes| {
                // One hint per call: one key and one queue node per batch.
                if prefixes.is_empty() {
                    return;
                }
                {
                    let tx = hints.lock().unwrap_or_else(|p| p.into_inner());
                    let _ = tx.send(Hint::Prefixes(vrf.clone(), prefixes.to_vec()));
                }
                // The VRF's route count moved: its thresholds.
                let cfg = ts.snapshot();
                let n = vrf_route_count(&cfg, &tb.load(), Some(&ti.load()), vrf);
                tev.thresholds(&cfg, &tt.observe_count(&cfg, vrf, n, false, uptime_secs()));
            }),
        ))
    };
    {
        let v = vpn.clone();
        store.on_commit(Box::new(move |cfg, eff| v.on_commit(cfg, eff)));
    }
    // Label holds of exported routes outside the configuration (connected,
    // CE-learned, in per-prefix / per-next-hop mode): committed by a thread
    // of their own, never inside the glue's lock or a running commit.
    {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<(Vec<u8>, bool)>>();
        vpn.set_label_holder(Box::new(move |list| {
            let _ = tx.send(list);
        }));
        let s = store.clone();
        std::thread::Builder::new()
            .name("label-holds".into())
            .spawn(move || {
                while let Ok(mut list) = rx.recv() {
                    while let Ok(more) = rx.try_recv() {
                        list.extend(more);
                    }
                    let n = list.len();
                    if let Err(e) = s.commit(
                        vpn_core::clock::ticks(),
                        vec![vpn_core::Change::HoldLabels(list)],
                    ) {
                        tracing::error!(holds = n, error = %e, "committing label holds failed");
                    }
                }
            })
            .context("starting the label-hold thread")?;
    }
    // Connected routes: address and link changes re-evaluate the prefixes
    // they touch (exported, withdrawn, hinted to the reconciler).
    let _if_follower = vpn
        .follow_interfaces(store.clone(), ifs.clone(), watcher.subscribe_all())
        .context("starting the interface follower")?;
    {
        let (v, s) = (vpn.clone(), store.clone());
        let e = events.clone();
        std::thread::Builder::new()
            .name("bgp-events".into())
            .spawn(move || {
                // Events in batches: one view update per batch, not per route.
                while let Some(mut batch) = bgp_events.blocking_recv_batch() {
                    while batch.len() < 4096 {
                        match bgp_events.try_recv_batch() {
                            Some(more) => batch.extend(more),
                            None => break,
                        }
                    }
                    for ev in &batch {
                        // BGP4-MIB bgpEstablishedNotification / bgpBackwardTransNotification.
                        if let vpn_core::bgp::BgpEvent::PeerState {
                            old, new, status, ..
                        } = ev
                        {
                            if let Some(std::net::SocketAddr::V4(a)) = status.remote_addr {
                                e.bgp_peer(*a.ip(), *old as u32, *new as u32, status.last_error);
                            }
                        }
                    }
                    v.on_events(&s.snapshot(), batch);
                }
            })?;
    }
    let peer_refresh = {
        let v = vpn.clone();
        tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs(1));
            loop {
                t.tick().await;
                v.refresh_peers(bgp_status.snapshot());
            }
        })
    };

    let responder = Arc::new(Responder {
        mib,
        store: store.clone(),
        ifs,
        fib: fib_view,
        peers: peer_states.clone(),
        bgp: bgp_routes.clone(),
        max_msg_size: settings.max_msg_size,
    });
    let engine = Arc::new(Engine {
        responder,
        communities: Communities {
            read_only: settings.ro_community.clone().into_bytes(),
            read_write: settings.rw_community.clone().into_bytes(),
            enabled: settings.communities,
        },
        v3: Arc::new(snmp::v3::V3::new(sec)),
        events: Some(events.clone()),
    });
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    let mut tasks = Vec::new();
    for addr in &settings.snmp_listen {
        let sock = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("binding SNMP to udp {addr}"))?;
        tracing::info!(%addr, "serving SNMP");
        tasks.push(tokio::spawn(
            engine.clone().serve(Arc::new(sock), tx.clone()),
        ));
    }
    drop(tx);
    let committer = tokio::spawn(engine.clone().commit_loop(rx));
    // Serving: coldStart on a new store, warmStart later.
    events.started(store.is_new());
    // Only now the BGP speaker gets its configuration and peers: coldStart
    // (or warmStart) is the first notification, before any session's.
    vpn.sync_all(&store.snapshot());
    tasks.push(notify_link_task);
    tasks.push(notify_task);
    tasks.push(tokio::spawn(collect_stale_rows(store.clone())));
    tasks.push(link_task);
    tasks.push(peer_refresh);
    tasks.push(bgp_forward);

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
    }
    // Stop taking requests; a SET already handed to the committer finishes
    // (its commit is durable before its answer), then we exit.
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), committer).await;
    let _ = hints.send(Hint::Stop);
    let _ = tokio::task::spawn_blocking(move || reconciler.join()).await;
    drop(watcher);
    tracing::info!("stopped");
    Ok(())
}

/// Load `[bgp]` from the configuration file: speaker settings, and peers as
/// permanent rows (replacing permanent rows no longer in the file).
fn apply_bgp_file(store: &Store, b: &config::BgpFile) -> Result<()> {
    use vpn_core::bgpcfg::{PeerKey, PeerRow};
    use vpn_core::{Change, RowState, Storage};
    let mut rows = Vec::new();
    for p in &b.peer {
        let vrf = p.vrf.clone().unwrap_or_default();
        if !vrf.is_empty() && vpn_core::VrfKey::new(vrf.as_bytes()).is_none() {
            anyhow::bail!("bgp.peer {}: {vrf:?} is not a valid VRF name", p.address);
        }
        let mut r = PeerRow::new(Storage::Permanent);
        r.remote_as = p.remote_as;
        r.families = p.family_bits()?;
        r.remote_port = p.port.unwrap_or(179);
        r.hold_time = p.hold_time.unwrap_or(90);
        r.keepalive = p.keepalive.unwrap_or(30);
        r.md5 = p.md5_password.clone().unwrap_or_default().into_bytes();
        r.rr_client = p.route_reflector_client;
        r.state = RowState::Active;
        rows.push((PeerKey::new(vrf.as_bytes(), p.address), r));
    }
    let res = store.commit_checked::<anyhow::Error>(vpn_core::clock::ticks(), |cfg| {
        let mut ch = Vec::new();
        let mut s = cfg.settings.clone();
        s.bgp.asn = b.asn;
        s.bgp.router_id = b.router_id.octets();
        s.bgp.listen = b.listen.clone();
        if s != cfg.settings {
            ch.push(Change::PutSettings(s));
        }
        for (k, _) in cfg.peers.iter().filter(|(_, r)| r.storage == Storage::Permanent) {
            if !rows.iter().any(|(rk, _)| rk == k) {
                ch.push(Change::DelPeer(k.clone()));
            }
        }
        for (k, r) in &rows {
            if let Some(v) = k.vrf() {
                if !cfg.vrfs.contains_key(&v) {
                    tracing::warn!(peer = %k.addr(), vrf = v.name_str(), "bgp.peer skipped: its VRF does not exist (create it, then restart)");
                    continue;
                }
            }
            let same = cfg.peers.get(k).is_some_and(|o| {
                let mut o = o.clone();
                o.times = r.times;
                o.ever_active = r.ever_active;
                o == *r
            });
            if !same {
                ch.push(Change::PutPeer(k.clone(), r.clone()));
            }
        }
        Ok(ch)
    })?;
    res.map(|_| ())
}

fn uptime_secs() -> u64 {
    vpn_core::clock::start().elapsed().as_secs()
}

/// Remove rows created with createAndWait that never became active
/// (ARCHITECTURE.md: after 5 minutes).
async fn collect_stale_rows(store: Arc<Store>) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tick.tick().await;
        let s = store.clone();
        let r = tokio::task::spawn_blocking(move || {
            s.commit_checked::<std::convert::Infallible>(vpn_core::clock::ticks(), |cfg| {
                Ok(cfg.stale_rows(vpn_core::clock::ticks(), STALE_ROW_TICKS))
            })
        })
        .await;
        match r {
            Ok(Ok(Ok((_, eff)))) if !eff.is_empty() => {
                tracing::info!(removed = ?eff, "removed rows never made active within 5 minutes")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "removing stale rows failed; will retry"),
            Err(e) => tracing::error!(error = %e, "stale-row task failed"),
        }
    }
}
