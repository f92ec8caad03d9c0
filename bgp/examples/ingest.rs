//! The ingest benchmark's device under test for l3vpnd's speaker
//! (bench/bgp_ingest.sh): runs the speaker (listening on `--listen`,
//! connecting to `--peer` as iBGP in AS `--asn`), consumes its events as
//! vpn-core would, and when `--routes` routes are in the VPN Loc-RIB (a
//! `Best` event each) prints one line:
//!
//! `RESULT secs=<session up -> last route> cpu=<CPU s> rss_mib=<peak RSS>
//!  table_bytes_per_route=<VPN table octets / routes> attr_sets=<n>`
//!
//! then keeps running until killed (or `--hold` seconds).

use bgp::{BgpCommand, BgpEvent, Family, FsmState, PeerConfig, SpeakerConfig};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn proc_status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)
                .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc_sysconf_clk_tck() } as f64;
    ticks as f64 / hz
}

unsafe fn libc_sysconf_clk_tck() -> i64 {
    extern "C" {
        fn sysconf(name: i32) -> i64;
    }
    const SC_CLK_TCK: i32 = 2;
    sysconf(SC_CLK_TCK)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let listen: SocketAddr = arg(&args, "--listen", "10.99.0.1:179")
        .parse()
        .expect("--listen");
    let peer: IpAddr = arg(&args, "--peer", "10.99.0.2").parse().expect("--peer");
    let asn: u32 = arg(&args, "--asn", "65000").parse().expect("--asn");
    let routes: usize = arg(&args, "--routes", "1000000").parse().expect("--routes");
    let hold: u64 = arg(&args, "--hold", "600").parse().expect("--hold");
    let workers: usize = arg(&args, "--workers", "2").parse().expect("--workers");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let (mut events, status) = bgp::spawn(rx);
        let router_id = match listen.ip() {
            IpAddr::V4(a) => a,
            IpAddr::V6(_) => "10.99.0.1".parse().unwrap(),
        };
        tx.send(BgpCommand::SetSpeaker(SpeakerConfig { asn, router_id, listen: vec![listen] })).await.unwrap();
        tx.send(BgpCommand::PutPeer(PeerConfig {
            id: 1,
            address: peer,
            port: 179,
            remote_as: asn,
            families: vec![Family::Vpnv4],
            hold_time: 180,
            keepalive: 60,
            md5_password: None,
            route_reflector_client: false,
            admin_up: true,
            passive: false,
            rib: None,
        }))
        .await
        .unwrap();
        let mut up: Option<(Instant, f64)> = None;
        let mut best = 0usize;
        let deadline = Instant::now() + Duration::from_secs(hold);
        loop {
            let batch = match tokio::time::timeout_at(deadline.into(), events.recv_batch()).await {
                Ok(Some(b)) => b,
                Ok(None) | Err(_) => break,
            };
            for e in batch {
            match e {
                BgpEvent::PeerState { new: FsmState::Established, .. } => {
                    up = Some((Instant::now(), cpu_secs()));
                }
                BgpEvent::Best { best: Some(_), .. } => {
                    best += 1;
                    if best == routes {
                        let (t0, _) = up.unwrap_or((Instant::now(), 0.0));
                        let secs = t0.elapsed().as_secs_f64();
                        let cpu = cpu_secs();
                        // Let the stats refresh (100 ms), then read them.
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        let vpn = status.ribs().into_iter().find(|r| r.rib.is_none()).unwrap_or_default();
                        println!(
                            "RESULT secs={secs:.3} cpu={cpu:.2} rss_mib={:.1} routes={} table_bytes_per_route={:.1} attr_sets={}",
                            proc_status("VmHWM:") as f64 / 1024.0,
                            vpn.routes,
                            vpn.table_bytes as f64 / vpn.routes.max(1) as f64,
                            vpn.attr_sets,
                        );
                        use std::io::Write;
                        let _ = std::io::stdout().flush();
                    }
                }
                _ => {}
            }
            }
        }
    });
}
