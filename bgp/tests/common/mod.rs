//! Test helpers: network namespace pairs, daemons run inside them, running
//! our speaker inside a namespace, and waiting for events.
#![allow(dead_code)]

use bgp::{BgpCommand, BgpEvent, Family, PeerConfig, SpeakerConfig, StatusHandle};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub fn have(bin: &str) -> bool {
    Path::new(bin).exists()
}

/// Two namespaces joined by a veth pair: `a` 10.99.0.1/30, `b` 10.99.0.2/30
/// (and 2001:db8:99::1/64, ::2). Deleted on drop.
pub struct NetnsPair {
    pub a: String,
    pub b: String,
}

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("ip");
    assert!(st.success(), "ip {args:?} failed");
}

impl NetnsPair {
    pub fn new(tag: &str) -> NetnsPair {
        let n = std::process::id() % 100000;
        let a = format!("{tag}{n}a");
        let b = format!("{tag}{n}b");
        let _ = Command::new("ip").args(["netns", "del", &a]).status();
        let _ = Command::new("ip").args(["netns", "del", &b]).status();
        ip(&["netns", "add", &a]);
        ip(&["netns", "add", &b]);
        let (va, vb) = (format!("v{a}"), format!("v{b}"));
        ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb]);
        ip(&["link", "set", &va, "netns", &a]);
        ip(&["link", "set", &vb, "netns", &b]);
        ip(&["-n", &a, "addr", "add", "10.99.0.1/30", "dev", &va]);
        ip(&["-n", &b, "addr", "add", "10.99.0.2/30", "dev", &vb]);
        ip(&[
            "-n",
            &a,
            "addr",
            "add",
            "2001:db8:99::1/64",
            "dev",
            &va,
            "nodad",
        ]);
        ip(&[
            "-n",
            &b,
            "addr",
            "add",
            "2001:db8:99::2/64",
            "dev",
            &vb,
            "nodad",
        ]);
        for (ns, v) in [(&a, &va), (&b, &vb)] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "link", "set", v, "up"]);
        }
        NetnsPair { a, b }
    }

    /// Runs `argv` in namespace b, returns stdout (panics on failure).
    pub fn exec_b(&self, argv: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.b])
            .args(argv)
            .output()
            .expect("ip netns exec");
        assert!(
            out.status.success(),
            "{argv:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.a]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).status();
    }
}

/// A child process killed (by its pid) on drop.
pub struct Daemon {
    pub child: Option<Child>,
    pub pidfile: Option<PathBuf>,
}

impl Daemon {
    pub fn spawn(ns: &str, argv: &[&str], log: &Path) -> Daemon {
        let f = std::fs::File::create(log).expect("log");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(argv)
            .stdout(f.try_clone().expect("log"))
            .stderr(f)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn daemon");
        Daemon {
            child: Some(child),
            pidfile: None,
        }
    }

    /// A daemon that forks itself and writes its pid to `pidfile`.
    pub fn forking(pidfile: PathBuf) -> Daemon {
        Daemon {
            child: None,
            pidfile: Some(pidfile),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(p) = &self.pidfile {
            if let Ok(s) = std::fs::read_to_string(p) {
                if let Ok(pid) = s.trim().parse::<i32>() {
                    // SAFETY: kill(2) with a pid read from the daemon's own
                    // pid file; no memory is involved.
                    unsafe {
                        libc_kill(pid);
                    }
                }
            }
        }
    }
}

unsafe fn libc_kill(pid: i32) {
    extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    kill(pid, 15);
}

/// Runs `f` on a fresh tokio runtime whose threads live in namespace `ns`.
pub fn in_netns<F, Fut, T>(ns: &str, f: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
    T: Send + 'static,
{
    let ns = ns.to_string();
    std::thread::spawn(move || {
        let file = std::fs::File::open(format!("/run/netns/{ns}")).expect("netns file");
        use std::os::fd::AsRawFd;
        extern "C" {
            fn setns(fd: i32, nstype: i32) -> i32;
        }
        const CLONE_NEWNET: i32 = 0x4000_0000;
        // SAFETY: setns(2) on an open namespace file; affects this thread
        // (and the runtime threads it creates) only.
        let rc = unsafe { setns(file.as_raw_fd(), CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(f())
    })
    .join()
    .expect("test thread")
}

pub struct Speaker {
    pub tx: mpsc::Sender<BgpCommand>,
    pub events: bgp::Events,
    pub status: StatusHandle,
    pub seen: Vec<BgpEvent>,
}

impl Speaker {
    pub async fn start(asn: u32, router_id: Ipv4Addr, listen: Vec<SocketAddr>) -> Speaker {
        let (tx, rx) = mpsc::channel(64);
        let (events, status) = bgp::spawn(rx);
        tx.send(BgpCommand::SetSpeaker(SpeakerConfig {
            asn,
            router_id,
            listen,
        }))
        .await
        .unwrap();
        Speaker {
            tx,
            events,
            status,
            seen: Vec::new(),
        }
    }

    pub async fn send(&self, c: BgpCommand) {
        self.tx.send(c).await.expect("speaker gone");
    }

    /// Waits (bounded) for an event matching `pred`; returns it.
    pub async fn wait_for(
        &mut self,
        what: &str,
        secs: u64,
        mut pred: impl FnMut(&BgpEvent) -> bool,
    ) -> BgpEvent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) => {
                    let hit = pred(&e);
                    self.seen.push(e.clone());
                    if hit {
                        return e;
                    }
                }
                Ok(None) => panic!("speaker stopped while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}; status {:?}",
                    self.status.snapshot()
                ),
            }
        }
    }

    pub async fn established(&mut self, id: u32, secs: u64) {
        self.wait_for("Established", secs, |e| {
            matches!(e, BgpEvent::PeerState { id: i, new: bgp::FsmState::Established, .. } if *i == id)
        })
        .await;
    }
}

pub fn peer(id: u32, address: IpAddr, remote_as: u32, families: Vec<Family>) -> PeerConfig {
    PeerConfig {
        id,
        address,
        port: 179,
        remote_as,
        families,
        hold_time: 90,
        keepalive: 30,
        md5_password: None,
        route_reflector_client: false,
        admin_up: true,
        passive: false,
        rib: None,
    }
}

/// Polls `f` every 200 ms until it returns Some, for at most `secs`.
pub fn poll<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn rd0(asn: u16, n: u32) -> [u8; 8] {
    let mut r = [0u8; 8];
    r[2..4].copy_from_slice(&asn.to_be_bytes());
    r[4..].copy_from_slice(&n.to_be_bytes());
    r
}

/// Route target extended community AS:n (RFC 4360 type 0x00 sub-type 0x02).
pub fn rt0(asn: u16, n: u32) -> [u8; 8] {
    let mut r = rd0(asn, n);
    r[1] = 2;
    r
}

pub fn tempdir_for(user_owned_by_frr: bool) -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("bgp-it-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    if user_owned_by_frr {
        let _ = Command::new("chown")
            .args(["frr:frr", d.path().to_str().unwrap()])
            .status();
    }
    d
}
