//! Installs N routes across T VRF tables through `NetlinkFib::apply` in the
//! calling network namespace and prints how long it took; the Rust half of
//! bench/fib_install.sh (which runs it inside a namespace of its own).
//!
//! usage: fib_install [--routes N] [--tables T] [--table-base B]
//!                    [--gateway A] [--dev NAME] [--load]
//! Routes: table B+t (t < T) gets N/T routes 10.{j/256}.{j%256}.0/24
//! (j < N/T) via A dev NAME, in the order bench/fib_install.sh writes the
//! same routes for `ip -batch`.
//! Prints `RESULT routes=.. failed=.. apply_s=.. total_s=..` and exits 1 if
//! any route failed. With `--load`, then also reads everything back with a
//! fresh backend's `load()` (what a restart does), checks it holds the N
//! routes, and adds `load_s=..` and `delvrf_s=..` (removing all T tables
//! with DelVrf).

use std::net::IpAddr;
use std::time::Instant;

use fib::{Fib, FibOp, Labels, NetlinkFib, NextHop, Route};
use ipnet::IpNet;

fn ifindex(name: &str) -> u32 {
    let c = std::ffi::CString::new(name).expect("interface name");
    // SAFETY: `c` is a valid NUL-terminated string for the call's duration.
    unsafe { libc::if_nametoindex(c.as_ptr()) }
}

fn main() {
    let start = Instant::now();
    let mut routes = 100_000u32;
    let mut tables = 100u32;
    let mut base = 1000u32;
    let mut gateway: IpAddr = "192.0.2.2".parse().unwrap();
    let mut dev = "ve0".to_string();
    let mut load = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--load" {
            load = true;
            continue;
        }
        let v = args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--routes" => routes = v.parse().expect("--routes N"),
            "--tables" => tables = v.parse().expect("--tables T"),
            "--table-base" => base = v.parse().expect("--table-base B"),
            "--gateway" => gateway = v.parse().expect("--gateway ADDR"),
            "--dev" => dev = v,
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        tables > 0 && routes.is_multiple_of(tables),
        "routes must be a multiple of tables"
    );
    let per_table = routes / tables;
    assert!(per_table <= 65536, "at most 65536 routes per table");
    let oif = ifindex(&dev);
    assert!(oif != 0, "no interface {dev}");

    let mut fib = NetlinkFib::new().expect("netlink backend");
    let mut ops = Vec::with_capacity(routes as usize);
    for t in 0..tables {
        for j in 0..per_table {
            let prefix =
                IpNet::new(format!("10.{}.{}.0", j / 256, j % 256).parse().unwrap(), 24).unwrap();
            ops.push(FibOp::PutRoute(Route {
                table: base + t,
                prefix,
                nexthop: NextHop::Via {
                    addr: gateway,
                    ifindex: oif,
                },
                metric: 0,
                labels: Labels::new(),
            }));
        }
    }
    let t0 = Instant::now();
    let results = fib.apply(&ops);
    let apply = t0.elapsed();
    let failed: Vec<_> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .collect();
    for (i, r) in failed.iter().take(5) {
        eprintln!("op {i}: {r:?}");
    }
    let total = start.elapsed();
    let mut extra = String::new();
    if load {
        let t0 = Instant::now();
        let mut fresh = NetlinkFib::new().expect("netlink backend");
        let state = fresh.load().expect("load");
        let load_s = t0.elapsed().as_secs_f64();
        assert_eq!(
            state.routes.len(),
            routes as usize - failed.len(),
            "load() count"
        );
        let t0 = Instant::now();
        let dels: Vec<FibOp> = (0..tables)
            .map(|t| FibOp::DelVrf { table: base + t })
            .collect();
        let bad = fresh.apply(&dels).iter().filter(|r| r.is_err()).count();
        assert_eq!(bad, 0, "DelVrf failures");
        let delvrf_s = t0.elapsed().as_secs_f64();
        assert!(
            fresh.load().expect("load").routes.is_empty(),
            "DelVrf left routes"
        );
        extra = format!(" load_s={load_s:.3} delvrf_s={delvrf_s:.3}");
    }
    println!(
        "RESULT routes={routes} failed={} apply_s={:.3} total_s={:.3}{extra}",
        failed.len(),
        apply.as_secs_f64(),
        total.as_secs_f64()
    );
    if !failed.is_empty() {
        std::process::exit(1);
    }
}
