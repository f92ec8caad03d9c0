//! The netlink backend against the real kernel, each test in a network
//! namespace of its own.
//!
//! How: the test body runs on a fresh thread that calls
//! unshare(CLONE_NEWNET), so the thread (and only it) lives in a new, empty
//! namespace. The backend opens its socket on that thread, and the `ip`
//! commands the test runs are spawned from it, so they inherit the same
//! namespace (a child gets the namespaces of the thread that forked it).
//! Nothing is named or mounted, and the namespace with its veths vanishes
//! when the thread ends, whether the test passed or not.
//!
//! Root only: without root the tests are reported as ignored.

use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use fib::{
    Capabilities, Fib, FibError, FibOp, Labels, NetlinkConfig, NetlinkFib, NextHop, Route, VrfFib,
};
use ipnet::IpNet;
use mpls::{Ilm, IlmAction};

/// Runs `body` in a new network namespace with `lo` up.
fn in_netns<F: FnOnce() + Send + 'static>(body: F) {
    let t = std::thread::spawn(move || {
        // SAFETY: unshare has no memory effects; it moves this thread into a
        // new network namespace.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "unshare(CLONE_NEWNET): {}",
            io::Error::last_os_error()
        );
        ip("link set lo up");
        body();
    });
    if let Err(panic) = t.join() {
        std::panic::resume_unwind(panic);
    }
}

/// Runs `ip ARGS` (split on spaces), asserts success, returns stdout.
fn ip(args: &str) -> String {
    let out = Command::new("ip")
        .args(args.split_whitespace())
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "ip {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Lines of `ip ARGS`, each trimmed (iproute2 ends IPv4 route lines with a
/// space).
fn lines(args: &str) -> Vec<String> {
    ip(args)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn ifindex(name: &str) -> u32 {
    let out = ip(&format!("-o link show dev {name}"));
    out.split(':').next().unwrap().trim().parse().unwrap()
}

/// ve0 (192.0.2.1/24, 2001:db8::1/64) and ve1 (198.51.100.1/24), both up;
/// returns their ifindexes.
fn veths() -> (u32, u32) {
    ip("link add ve0 type veth peer name ve1");
    ip("link set ve0 up");
    ip("link set ve1 up");
    ip("addr add 192.0.2.1/24 dev ve0");
    ip("addr add 198.51.100.1/24 dev ve1");
    ip("-6 addr add 2001:db8::1/64 dev ve0 nodad");
    (ifindex("ve0"), ifindex("ve1"))
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn addr(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn route(table: u32, prefix: &str, nexthop: NextHop, metric: u32) -> Route {
    Route {
        table,
        prefix: net(prefix),
        nexthop,
        metric,
        labels: Labels::new(),
    }
}

fn via(a: &str, ifindex: u32) -> NextHop {
    NextHop::Via {
        addr: addr(a),
        ifindex,
    }
}

/// A VRF as load() reports it (interfaces ascending).
fn vrf(table: u32, interfaces: &[u32]) -> VrfFib {
    let mut interfaces = interfaces.to_vec();
    interfaces.sort_unstable();
    VrfFib {
        name: format!("l3v{table}"),
        table,
        interfaces,
    }
}

fn all_ok(results: &[Result<(), FibError>]) {
    for (i, r) in results.iter().enumerate() {
        assert!(r.is_ok(), "op {i}: {r:?}");
    }
}

fn open() -> NetlinkFib {
    NetlinkFib::new().expect("open the netlink backend")
}

/// Whether the kernel accepts a VRF device (the ground truth for the probe).
fn kernel_has_vrf_devices() -> bool {
    let ok = Command::new("ip")
        .args(["link", "add", "l3vtruth", "type", "vrf", "table", "4000"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        ip("link del l3vtruth");
    }
    ok
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn capabilities_are_what_the_kernel_has() {
    in_netns(|| {
        let fib = open();
        let caps = fib.capabilities();
        eprintln!("capabilities here: {caps:?}");
        assert_eq!(caps.mpls, Path::new("/proc/sys/net/mpls").exists());
        assert_eq!(caps.ipv6, Path::new("/proc/sys/net/ipv6").exists());
        assert_eq!(caps.vrf_device, kernel_has_vrf_devices());
        // The probe leaves nothing behind.
        assert!(!ip("link show").contains("l3vcap"));
        // Detected again by a second instance, identically.
        assert_eq!(open().capabilities(), caps);
    });
}

/// ARCHITECTURE.md, "Kernel facts on these machines": no VRF devices, no
/// MPLS, IPv6. Fails loudly if this machine changes, so the figures in the
/// docs get revisited.
#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn capabilities_on_these_machines() {
    in_netns(|| {
        assert_eq!(
            open().capabilities(),
            Capabilities {
                vrf_device: false,
                mpls: false,
                ipv6: true
            }
        );
    });
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn put_vrf_installs_exactly_one_rule_per_interface_and_family() {
    in_netns(|| {
        let (ve0, ve1) = veths();
        let mut fib = open();
        if fib.capabilities().vrf_device {
            eprintln!("kernel has VRF devices: the rule variant does not apply");
            return;
        }
        all_ok(&fib.apply(&[FibOp::PutVrf(vrf(100, &[ve0, ve1]))]));
        let v4 = lines("rule show");
        let v6 = lines("-6 rule show");
        // Ours, sorted (rules of one priority list in insertion order).
        let ours = |family: &[String]| -> Vec<String> {
            let mut v: Vec<String> = family
                .iter()
                .filter(|l| l.contains("proto 201"))
                .cloned()
                .collect();
            v.sort();
            v
        };
        let expected = vec![
            "1000:\tfrom all iif ve0 lookup 100 proto 201".to_string(),
            "1000:\tfrom all iif ve1 lookup 100 proto 201".to_string(),
        ];
        assert_eq!(ours(&v4), expected);
        assert_eq!(ours(&v6), expected);
        // The same put again: no duplicates.
        all_ok(&fib.apply(&[FibOp::PutVrf(vrf(100, &[ve0, ve1]))]));
        assert_eq!(ours(&lines("rule show")), expected);
        // ve1 leaves the VRF.
        all_ok(&fib.apply(&[FibOp::PutVrf(vrf(100, &[ve0]))]));
        assert_eq!(ours(&lines("rule show")), expected[..1]);
        assert_eq!(ours(&lines("-6 rule show")), expected[..1]);
        // The other rules are the kernel's defaults, untouched.
        assert_eq!(
            lines("rule show"),
            vec![
                "0:\tfrom all lookup local",
                "1000:\tfrom all iif ve0 lookup 100 proto 201",
                "32766:\tfrom all lookup main",
                "32767:\tfrom all lookup default",
            ]
        );
        // A configured priority.
        let mut other = NetlinkFib::with_config(NetlinkConfig {
            protocol: 201,
            rule_priority: 500,
        })
        .unwrap();
        all_ok(&other.apply(&[FibOp::PutVrf(vrf(100, &[ve0]))]));
        assert_eq!(
            ours(&lines("rule show")),
            vec!["500:\tfrom all iif ve0 lookup 100 proto 201"]
        );
        // An unknown interface: the operation fails, nothing changes.
        let r = fib.apply(&[FibOp::PutVrf(vrf(100, &[ve0, 9999]))]);
        assert!(
            matches!(&r[0], Err(FibError::Kernel { errno, .. }) if *errno == libc::ENODEV),
            "{r:?}"
        );
        assert_eq!(ours(&lines("rule show")).len(), 1);
    });
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn put_route_installs_exactly_the_route() {
    in_netns(|| {
        let (ve0, ve1) = veths();
        let mut fib = open();
        all_ok(&fib.apply(&[
            FibOp::PutVrf(vrf(100, &[ve1])),
            FibOp::PutRoute(route(100, "10.1.0.0/24", via("192.0.2.2", ve0), 5)),
            FibOp::PutRoute(route(100, "10.2.0.0/24", NextHop::Blackhole, 0)),
            FibOp::PutRoute(route(100, "10.3.0.0/24", NextHop::Reject, 0)),
            FibOp::PutRoute(route(100, "10.4.0.0/24", NextHop::Dev { ifindex: ve0 }, 0)),
            FibOp::PutRoute(route(100, "0.0.0.0/0", via("192.0.2.254", 0), 100)),
            FibOp::PutRoute(route(100, "2001:db8:1::/64", via("2001:db8::2", ve0), 0)),
            FibOp::PutRoute(route(100, "2001:db8:2::/64", NextHop::Blackhole, 0)),
            FibOp::PutRoute(route(100, "2001:db8:3::/64", NextHop::Reject, 7)),
        ]));
        assert_eq!(
            lines("route show table 100"),
            vec![
                "default via 192.0.2.254 dev ve0 proto 201 metric 100",
                "10.1.0.0/24 via 192.0.2.2 dev ve0 proto 201 metric 5",
                "blackhole 10.2.0.0/24 proto 201",
                "unreachable 10.3.0.0/24 proto 201",
                "10.4.0.0/24 dev ve0 proto 201 scope link",
            ]
        );
        assert_eq!(
            lines("-6 route show table 100"),
            vec![
                "2001:db8:1::/64 via 2001:db8::2 dev ve0 proto 201 metric 1024 pref medium",
                "blackhole 2001:db8:2::/64 dev lo proto 201 metric 1024 pref medium",
                "unreachable 2001:db8:3::/64 dev lo proto 201 metric 7 pref medium",
            ]
        );
        // Nothing leaked into main.
        assert!(!ip("route show table main").contains("proto 201"));
    });
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn put_route_replaces_including_a_metric_change() {
    in_netns(|| {
        let (ve0, _) = veths();
        let mut fib = open();
        all_ok(&fib.apply(&[
            FibOp::PutRoute(route(100, "10.1.0.0/24", via("192.0.2.2", ve0), 5)),
            FibOp::PutRoute(route(100, "2001:db8:1::/64", via("2001:db8::2", ve0), 0)),
        ]));
        // Another next hop, same metric.
        all_ok(&fib.apply(&[FibOp::PutRoute(route(
            100,
            "10.1.0.0/24",
            via("192.0.2.3", ve0),
            5,
        ))]));
        assert_eq!(
            lines("route show table 100"),
            vec!["10.1.0.0/24 via 192.0.2.3 dev ve0 proto 201 metric 5"]
        );
        // Another type and metric: still one route for the prefix.
        all_ok(&fib.apply(&[
            FibOp::PutRoute(route(100, "10.1.0.0/24", NextHop::Blackhole, 9)),
            FibOp::PutRoute(route(100, "2001:db8:1::/64", via("2001:db8::3", ve0), 10)),
        ]));
        assert_eq!(
            lines("route show table 100"),
            vec!["blackhole 10.1.0.0/24 proto 201 metric 9"]
        );
        assert_eq!(
            lines("-6 route show table 100"),
            vec!["2001:db8:1::/64 via 2001:db8::3 dev ve0 proto 201 metric 10 pref medium"]
        );
        // Metric 0 again on IPv6 (the kernel's 1024): one route.
        all_ok(&fib.apply(&[FibOp::PutRoute(route(
            100,
            "2001:db8:1::/64",
            via("2001:db8::2", ve0),
            0,
        ))]));
        assert_eq!(
            lines("-6 route show table 100"),
            vec!["2001:db8:1::/64 via 2001:db8::2 dev ve0 proto 201 metric 1024 pref medium"]
        );
        // A fresh instance (as after a restart) learns the metrics from load.
        let mut again = open();
        again.load().unwrap();
        all_ok(&again.apply(&[FibOp::PutRoute(route(
            100,
            "10.1.0.0/24",
            NextHop::Reject,
            3,
        ))]));
        assert_eq!(
            lines("route show table 100"),
            vec!["unreachable 10.1.0.0/24 proto 201 metric 3"]
        );
    });
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn del_route_removes_ours_only() {
    in_netns(|| {
        let (ve0, _) = veths();
        ip("route add 10.1.0.0/24 via 192.0.2.9 table 100 proto static metric 50");
        let mut fib = open();
        all_ok(&fib.apply(&[
            FibOp::PutRoute(route(100, "10.1.0.0/24", via("192.0.2.2", ve0), 5)),
            FibOp::PutRoute(route(100, "2001:db8:1::/64", NextHop::Blackhole, 0)),
        ]));
        all_ok(&fib.apply(&[
            FibOp::DelRoute {
                table: 100,
                prefix: net("10.1.0.0/24"),
            },
            FibOp::DelRoute {
                table: 100,
                prefix: net("2001:db8:1::/64"),
            },
            // Absent: fine (level-triggered callers repeat themselves).
            FibOp::DelRoute {
                table: 100,
                prefix: net("10.99.0.0/16"),
            },
            FibOp::DelVrf { table: 4242 },
        ]));
        assert_eq!(
            lines("route show table 100"),
            vec!["10.1.0.0/24 via 192.0.2.9 dev ve0 proto static metric 50"]
        );
        assert!(lines("-6 route show table 100").is_empty());
        // Without a cached metric (fresh instance), a delete still finds
        // ours and leaves the static route.
        let mut fresh = open();
        all_ok(&fib.apply(&[FibOp::PutRoute(route(
            100,
            "10.1.0.0/24",
            NextHop::Blackhole,
            7,
        ))]));
        all_ok(&fresh.apply(&[FibOp::DelRoute {
            table: 100,
            prefix: net("10.1.0.0/24"),
        }]));
        assert_eq!(
            lines("route show table 100"),
            vec!["10.1.0.0/24 via 192.0.2.9 dev ve0 proto static metric 50"]
        );
    });
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn del_vrf_removes_everything_of_ours_in_the_table() {
    in_netns(|| {
        let (ve0, ve1) = veths();
        ip("route add 10.50.0.0/16 via 192.0.2.9 table 100 proto static");
        let mut fib = open();
        all_ok(&fib.apply(&[
            FibOp::PutVrf(vrf(100, &[ve0, ve1])),
            FibOp::PutVrf(vrf(200, &[])),
            FibOp::PutRoute(route(100, "10.1.0.0/24", via("192.0.2.2", ve0), 5)),
            FibOp::PutRoute(route(100, "10.2.0.0/24", NextHop::Blackhole, 0)),
            FibOp::PutRoute(route(100, "2001:db8:1::/64", NextHop::Reject, 0)),
            FibOp::PutRoute(route(200, "10.1.0.0/24", NextHop::Blackhole, 0)),
        ]));
        // A stray of ours in the table, added behind our back.
        ip("route add 10.3.0.0/24 via 192.0.2.3 table 100 proto 201 metric 77");
        all_ok(&fib.apply(&[FibOp::DelVrf { table: 100 }]));
        assert_eq!(
            lines("route show table 100"),
            vec!["10.50.0.0/16 via 192.0.2.9 dev ve0 proto static"]
        );
        assert!(lines("-6 route show table 100").is_empty());
        assert!(!ip("rule show").contains("proto 201"));
        assert!(!ip("-6 rule show").contains("proto 201"));
        assert_eq!(
            lines("route show table 200"),
            vec!["blackhole 10.1.0.0/24 proto 201"]
        );
        let state = fib.load().unwrap();
        assert_eq!(state.vrfs, vec![vrf(200, &[])]);
        assert_eq!(
            state.routes,
            vec![route(200, "10.1.0.0/24", NextHop::Blackhole, 0)]
        );
    });
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn load_finds_exactly_ours() {
    in_netns(|| {
        let (ve0, ve1) = veths();
        // Others' routes and rules, in our table and elsewhere.
        ip("route add 10.50.0.0/16 via 192.0.2.9 table 100 proto static");
        ip("route add 10.60.0.0/16 via 192.0.2.9 table 300 proto 202");
        ip("rule add iif ve1 lookup 300 pref 1000 proto static");
        let mut fib = open();
        let ours = vec![
            route(100, "10.1.0.0/24", via("192.0.2.2", ve0), 5),
            route(100, "10.2.0.0/24", NextHop::Blackhole, 0),
            route(100, "10.3.0.0/24", NextHop::Reject, 0),
            route(100, "10.4.0.0/24", NextHop::Dev { ifindex: ve0 }, 0),
            route(100, "2001:db8:1::/64", via("2001:db8::2", ve0), 1024),
            route(100, "2001:db8:2::/64", NextHop::Blackhole, 0),
            route(1000, "10.1.0.0/24", via("192.0.2.2", 0), 0),
        ];
        let mut ops = vec![
            FibOp::PutVrf(vrf(100, &[ve0, ve1])),
            FibOp::PutVrf(vrf(1000, &[])),
        ];
        ops.extend(ours.iter().cloned().map(FibOp::PutRoute));
        all_ok(&fib.apply(&ops));
        // A stray of ours, added behind our back.
        ip("route add 10.9.0.0/24 via 192.0.2.7 table 100 proto 201");

        let state = open().load().unwrap();
        assert_eq!(state.vrfs, vec![vrf(100, &[ve0, ve1]), vrf(1000, &[])]);
        let mut expected = ours.clone();
        expected.push(route(100, "10.9.0.0/24", via("192.0.2.7", ve0), 0));
        assert_eq!(state.routes.len(), expected.len(), "{:#?}", state.routes);
        for want in &expected {
            assert!(
                state.routes.iter().any(|got| want.is_installed_as(got)),
                "missing {want:?} in {:#?}",
                state.routes
            );
        }
        // What the kernel fills in, exactly.
        assert!(state
            .routes
            .contains(&route(100, "2001:db8:2::/64", NextHop::Blackhole, 1024)));
        assert!(state
            .routes
            .contains(&route(1000, "10.1.0.0/24", via("192.0.2.2", ve0), 0)));
        assert!(state.ilm.is_empty());
        // Deterministic and sorted.
        let mut sorted = state.clone();
        sorted.sort();
        assert_eq!(sorted, state);
        assert_eq!(open().load().unwrap(), state);

        // A backend with another protocol number sees only its own.
        let mut other = NetlinkFib::with_config(NetlinkConfig {
            protocol: 202,
            rule_priority: 1000,
        })
        .unwrap();
        let theirs = other.load().unwrap();
        assert_eq!(
            theirs.routes,
            vec![route(300, "10.60.0.0/16", via("192.0.2.9", ve0), 0)]
        );
        assert_eq!(theirs.vrfs, vec![vrf(300, &[])]);
        // A partial binding (the IPv6 rule gone) reads as unbound.
        ip("-6 rule del iif ve1 lookup 100 pref 1000 proto 201");
        assert_eq!(open().load().unwrap().vrfs[0], vrf(100, &[ve0]));
        all_ok(&fib.apply(&[FibOp::PutVrf(vrf(100, &[ve0, ve1]))]));
        assert_eq!(open().load().unwrap().vrfs[0], vrf(100, &[ve0, ve1]));
    });
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn labels_are_never_dropped_silently() {
    in_netns(|| {
        let (ve0, _) = veths();
        let mut fib = open();
        let labelled = Route {
            labels: [100].into(),
            ..route(100, "10.1.0.0/24", via("192.0.2.2", ve0), 0)
        };
        let ops = vec![
            FibOp::PutRoute(labelled),
            FibOp::PutIlm(Ilm {
                label: 1000,
                action: IlmAction::PopLookup { table: 100 },
            }),
            FibOp::PutIlm(Ilm {
                label: 1001,
                action: IlmAction::PopForward {
                    via: addr("192.0.2.2"),
                    ifindex: ve0,
                },
            }),
            FibOp::DelIlm { label: 1000 },
            FibOp::PutRoute(route(100, "10.2.0.0/24", NextHop::Blackhole, 0)),
        ];
        let results = fib.apply(&ops);
        if fib.capabilities().mpls {
            eprintln!("kernel has MPLS: results {results:?}");
            return;
        }
        assert_eq!(results[0], Err(FibError::Unsupported("mpls encap")));
        for r in &results[1..4] {
            assert_eq!(*r, Err(FibError::Unsupported("mpls")));
        }
        assert_eq!(results[4], Ok(()), "the others still apply");
        assert_eq!(
            lines("route show table 100"),
            vec!["blackhole 10.2.0.0/24 proto 201"]
        );
    });
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn each_failure_lands_on_its_own_operation_in_a_large_batch() {
    in_netns(|| {
        let (ve0, _) = veths();
        let mut fib = open();
        let mut ops = Vec::new();
        for i in 0..20_000u32 {
            let prefix = format!("10.{}.{}.0/24", i / 256, i % 256);
            // Every 1000th route goes via a gateway that is not on any
            // link: the kernel refuses it (ENETUNREACH).
            let nh = if i % 1000 == 999 {
                via("203.0.113.1", ve0)
            } else {
                via("192.0.2.2", ve0)
            };
            ops.push(FibOp::PutRoute(route(1000 + i % 7, &prefix, nh, 0)));
        }
        let results = fib.apply(&ops);
        for (i, r) in results.iter().enumerate() {
            if i % 1000 == 999 {
                match r {
                    Err(FibError::Kernel { op, errno, msg }) => {
                        assert_eq!(*errno, libc::ENETUNREACH, "{op}: {msg}");
                        assert!(op.starts_with("PutRoute table"), "{op}");
                    }
                    other => panic!("op {i}: {other:?}"),
                }
            } else {
                assert_eq!(*r, Ok(()), "op {i}");
            }
        }
        let state = fib.load().unwrap();
        assert_eq!(state.routes.len(), 20_000 - 20);
        assert_eq!(state.vrfs.len(), 7);
    });
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn malformed_operations_are_refused_before_the_kernel() {
    in_netns(|| {
        let _ = veths();
        let mut fib = open();
        let results = fib.apply(&[
            FibOp::PutRoute(route(100, "10.1.1.1/24", NextHop::Blackhole, 0)),
            FibOp::PutRoute(route(254, "10.1.0.0/24", NextHop::Blackhole, 0)),
            FibOp::PutRoute(route(100, "2001:db8::1/32", NextHop::Blackhole, 0)),
        ]);
        for r in results {
            assert!(matches!(r, Err(FibError::Invalid { .. })), "{r:?}");
        }
        assert!(!ip("route show table all").contains("10.1."));
        assert!(!ip("-6 route show table all").contains("2001:db8::/32"));
    });
}
