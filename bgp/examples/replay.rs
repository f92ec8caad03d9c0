//! BGP feed replayer for the ingest benchmark (bench/bgp_ingest.sh).
//!
//! Pre-encodes `--rds` x `--per-rd` VPNv4 /24 routes (RD 65000:r and route
//! target 65000:r per r, label 16 + r, `--per-update` routes per UPDATE),
//! then listens on `--listen`, accepts one connection, does the OPEN
//! exchange as an iBGP peer (AS `--asn`, id `--id`), and writes the whole
//! feed followed by End-of-RIB. Prints `ESTABLISHED <unix ns>` when the
//! session is up and `SENT <unix ns>` when the feed is written; then keeps
//! the session alive (KEEPALIVEs) until the peer closes or `--hold` seconds.
//!
//! Optional churn phase (`--churn N`, N > 0): the withdrawals of the feed's
//! first N routes (MP_UNREACH_NLRI, `--per-update` per UPDATE, cut at the
//! same RD boundaries as the feed) and their re-announcement (byte for byte
//! the feed's UPDATEs for those routes: same attributes and labels) are
//! pre-encoded too (`CHURN routes=.. withdraw_bytes=.. announce_bytes=..`).
//! After the feed, the replayer waits for a trigger, prints
//! `WITHDRAWING <unix ns>`, writes the withdrawals, prints `WITHDRAWN <unix
//! ns>`; waits for the second trigger, then likewise `ANNOUNCING` /
//! `ANNOUNCED`. A trigger is the file `<--churn-trigger>.withdraw` (resp.
//! `.announce`) appearing, or, without `--churn-trigger`, `--churn-after-secs`
//! seconds (default 10) after the previous phase was written. Waits are
//! bounded by `--hold`; KEEPALIVEs continue throughout.
//!
//! Usage: replay --listen 10.99.0.2:179 [--asn 65000] [--id 10.99.0.2]
//!        [--rds 1000] [--per-rd 1000] [--per-update 250] [--hold 900]
//!        [--churn N [--churn-trigger PATH | --churn-after-secs S]]

use bgp::packet::nlri::Nlri;
use bgp::packet::open::{Capability, Open};
use bgp::packet::update::{encode_announce, encode_end_of_rib, encode_withdraw};
use bgp::packet::{self, Message, SessionCtx};
use bgp::{Family, PathAttrs, RouteKey};
use ipnet::{IpNet, Ipv4Net};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

/// The feed: every UPDATE, then End-of-RIB.
pub fn feed(rds: u32, per_rd: u32, per_update: usize, next_hop: Ipv4Addr) -> Vec<u8> {
    let mut out = updates(rds, per_rd, per_update, next_hop, u64::MAX, false);
    encode_end_of_rib(Family::Vpnv4, &mut out);
    out
}

/// The UPDATEs announcing (or, with `withdraw`, withdrawing) the feed's
/// first `limit` routes, in feed order: RD 65000:r for r in 0..`rds`, each
/// with `per_rd` /24s, `per_update` routes per UPDATE (never across RDs).
pub fn updates(
    rds: u32,
    per_rd: u32,
    per_update: usize,
    next_hop: Ipv4Addr,
    limit: u64,
    withdraw: bool,
) -> Vec<u8> {
    let ctx = SessionCtx::default();
    let total = (rds as u64 * per_rd as u64).min(limit);
    let mut out = Vec::with_capacity(total as usize * 16);
    let mut left = total;
    for r in 0..rds {
        if left == 0 {
            break;
        }
        let mut rd = [0u8; 8];
        rd[2..4].copy_from_slice(&65000u16.to_be_bytes());
        rd[4..].copy_from_slice(&r.to_be_bytes());
        let mut rt = rd;
        rt[1] = 2;
        let attrs = PathAttrs {
            origin: 0,
            next_hop: Some(next_hop.into()),
            local_pref: Some(100),
            ext_communities: vec![rt],
            ..PathAttrs::default()
        };
        let n = (per_rd as u64).min(left) as u32;
        left -= n as u64;
        let routes: Vec<Nlri> = (0..n)
            .map(|i| {
                let addr = Ipv4Addr::new(10, (i >> 8) as u8, (i & 0xff) as u8, 0);
                let net = Ipv4Net::new(addr, 24).unwrap_or_default();
                Nlri {
                    key: RouteKey::Vpn(rd, IpNet::V4(net)),
                    // A withdrawal carries the compatibility label 0x800000.
                    label: if withdraw { None } else { Some(16 + r) },
                }
            })
            .collect();
        for chunk in routes.chunks(per_update) {
            if withdraw {
                encode_withdraw(Family::Vpnv4, chunk, &mut out);
            } else {
                encode_announce(&ctx, Family::Vpnv4, &attrs, chunk, &mut out);
            }
        }
    }
    out
}

fn read_msg(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Message> {
    loop {
        if let Ok(Some(len)) = packet::frame(buf) {
            let m = Message::parse(&buf[..len], &SessionCtx::default()).ok();
            buf.drain(..len);
            return m;
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let listen = arg(&args, "--listen", "10.99.0.2:179");
    let asn: u32 = arg(&args, "--asn", "65000").parse().expect("--asn");
    let id: Ipv4Addr = arg(&args, "--id", "10.99.0.2").parse().expect("--id");
    let rds: u32 = arg(&args, "--rds", "1000").parse().expect("--rds");
    let per_rd: u32 = arg(&args, "--per-rd", "1000").parse().expect("--per-rd");
    let per_update: usize = arg(&args, "--per-update", "250")
        .parse()
        .expect("--per-update");
    let hold: u64 = arg(&args, "--hold", "900").parse().expect("--hold");
    let next_hop: Ipv4Addr = arg(&args, "--next-hop", &id.to_string())
        .parse()
        .expect("--next-hop");

    let churn: u64 = arg(&args, "--churn", "0").parse().expect("--churn");
    let trigger = args
        .iter()
        .position(|a| a == "--churn-trigger")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let churn_after: f64 = arg(&args, "--churn-after-secs", "10")
        .parse()
        .expect("--churn-after-secs");

    let t = Instant::now();
    let data = feed(rds, per_rd, per_update, next_hop);
    let churn_data = (churn > 0).then(|| {
        let w = updates(rds, per_rd, per_update, next_hop, churn, true);
        let a = updates(rds, per_rd, per_update, next_hop, churn, false);
        println!(
            "CHURN routes={} withdraw_bytes={} announce_bytes={}",
            churn.min(rds as u64 * per_rd as u64),
            w.len(),
            a.len()
        );
        (w, a)
    });
    println!(
        "READY routes={} bytes={} encode_ms={}",
        rds as u64 * per_rd as u64,
        data.len(),
        t.elapsed().as_millis()
    );
    let l = TcpListener::bind(&listen).expect("listen");
    let (mut s, peer) = l.accept().expect("accept");
    let _ = s.set_nodelay(true);
    eprintln!("connection from {peer}");
    let open = Open {
        version: 4,
        my_as: if asn > 0xffff { 23456 } else { asn as u16 },
        hold_time: 180,
        bgp_id: id,
        capabilities: vec![
            Capability::Multiprotocol { afi: 1, safi: 128 },
            Capability::RouteRefresh,
            Capability::FourOctetAs(asn),
        ],
        one_param: false,
    };
    s.write_all(&Message::Open(open).to_vec(&SessionCtx::default()))
        .expect("send OPEN");
    let mut buf = Vec::new();
    match read_msg(&mut s, &mut buf) {
        Some(Message::Open(_)) => {}
        other => panic!("expected OPEN, got {other:?}"),
    }
    s.write_all(&packet::keepalive()).expect("send KEEPALIVE");
    loop {
        match read_msg(&mut s, &mut buf) {
            Some(Message::Keepalive) => break,
            Some(Message::Notification(n)) => panic!("peer sent {n}"),
            Some(_) => {}
            None => panic!("peer closed"),
        }
    }
    println!("ESTABLISHED {}", now_ns());
    let _ = std::io::stdout().flush();
    // Drain what the peer sends while we write.
    let mut r = s.try_clone().expect("clone");
    std::thread::spawn(move || {
        let mut b = vec![0u8; 65536];
        while let Ok(n) = r.read(&mut b) {
            if n == 0 {
                break;
            }
        }
        // The peer closed the session: done.
        std::process::exit(0);
    });
    s.write_all(&data).expect("send feed");
    println!("SENT {}", now_ns());
    let _ = std::io::stdout().flush();
    let end = Instant::now() + Duration::from_secs(hold);
    let mut ka = Keepalive {
        s,
        next: Instant::now() + KEEPALIVE,
    };
    if let Some((withdraw, announce)) = churn_data {
        for (name, data, start, done) in [
            ("withdraw", withdraw, "WITHDRAWING", "WITHDRAWN"),
            ("announce", announce, "ANNOUNCING", "ANNOUNCED"),
        ] {
            let go = match &trigger {
                Some(p) => {
                    let mut f = p.clone().into_os_string();
                    f.push(format!(".{name}"));
                    Trigger::File(f.into())
                }
                None => Trigger::At(Instant::now() + Duration::from_secs_f64(churn_after)),
            };
            if !ka.wait_for(&go, end) {
                eprintln!("churn: no {name} trigger before --hold ran out");
                return;
            }
            println!("{start} {}", now_ns());
            let _ = std::io::stdout().flush();
            if ka.s.write_all(&data).is_err() {
                eprintln!("churn: the session broke while sending the {name} phase");
                return;
            }
            ka.next = Instant::now() + KEEPALIVE;
            println!("{done} {}", now_ns());
            let _ = std::io::stdout().flush();
        }
    }
    let never = Trigger::At(end);
    ka.wait_for(&never, end);
}

/// Interval between KEEPALIVEs (the hold time we offer is 180 s).
const KEEPALIVE: Duration = Duration::from_secs(20);

enum Trigger {
    /// The file appears.
    File(PathBuf),
    /// The instant passes.
    At(Instant),
}

struct Keepalive {
    s: TcpStream,
    next: Instant,
}

impl Keepalive {
    /// Sends KEEPALIVEs until `t` fires (true), `end` passes or the session
    /// breaks (false). Polls every 20 ms.
    fn wait_for(&mut self, t: &Trigger, end: Instant) -> bool {
        loop {
            let fired = match t {
                Trigger::File(p) => p.exists(),
                Trigger::At(i) => Instant::now() >= *i,
            };
            if fired {
                return true;
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            if now >= self.next {
                if self.s.write_all(&packet::keepalive()).is_err() {
                    return false;
                }
                self.next = now + KEEPALIVE;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
