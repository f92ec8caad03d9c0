//! The netlink FIB backend in a network namespace of its own (root): VRFs
//! configured over SNMP become kernel routing tables with `ip rule`s (or VRF
//! devices where the kernel has them) and routes with protocol 201; the
//! kernel is compared line by line with what the store asks for, after
//! changes, admin down, a clean restart and `kill -9`, with strays of ours
//! removed and foreign routes and rules left alone.

use l3vpnd_tests::*;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(8);

/// The reject default that every installed VRF table holds in each family
/// unless the operator's default route takes its place, so that traffic
/// steered into the table never falls through to the main table.
const CATCH4: &str = "unreachable default proto 201 metric 4278198272";
const CATCH6: &str = "unreachable default dev lo proto 201 metric 4278198272 pref medium";

/// Two veth pairs in the namespace: va (192.0.2.1/24, 2001:db8:1::1/64)
/// and vc (198.51.100.1/24), their peers vb and vd; all up.
const SETUP: &[&[&str]] = &[
    &[
        "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb",
    ],
    &[
        "ip", "link", "add", "vc", "type", "veth", "peer", "name", "vd",
    ],
    &["ip", "link", "set", "va", "up"],
    &["ip", "link", "set", "vb", "up"],
    &["ip", "link", "set", "vc", "up"],
    &["ip", "link", "set", "vd", "up"],
    &["ip", "addr", "add", "192.0.2.1/24", "dev", "va"],
    &[
        "ip",
        "-6",
        "addr",
        "add",
        "2001:db8:1::1/64",
        "dev",
        "va",
        "nodad",
    ],
    &["ip", "addr", "add", "198.51.100.1/24", "dev", "vc"],
];

fn netlink_daemon() -> Daemon {
    Daemon::in_netns_with(&["--fib", "netlink"], SETUP)
}

fn ifindex(d: &Daemon, dev: &str) -> u32 {
    d.ns_exec(&["cat", &format!("/sys/class/net/{dev}/ifindex")])
        .trim()
        .parse()
        .unwrap()
}

/// What the namespace's kernel can do, found out independently of l3vpnd.
struct KernelCaps {
    vrf_device: bool,
    mpls: bool,
}

fn kernel_caps(d: &Daemon) -> KernelCaps {
    let (vrf_device, _, _) = d.ns_try(&[
        "ip", "link", "add", "l3tprobe", "type", "vrf", "table", "4242",
    ]);
    if vrf_device {
        d.ns_exec(&["ip", "link", "del", "l3tprobe"]);
    }
    let (mpls, _, _) = d.ns_try(&["test", "-e", "/proc/sys/net/mpls/platform_labels"]);
    KernelCaps { vrf_device, mpls }
}

/// Lines of an `ip` command in the namespace, whitespace-normalised and
/// sorted (the kernel's order of equal-priority entries is not ours to
/// test); a table that does not exist is empty.
fn ip(d: &Daemon, args: &[&str]) -> Vec<String> {
    let mut argv = vec!["ip"];
    argv.extend_from_slice(args);
    let (ok, out, err) = d.ns_try(&argv);
    if !ok {
        assert!(
            err.contains("FIB table does not exist"),
            "{argv:?} failed: {err}"
        );
        return Vec::new();
    }
    let mut v: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// The kernel state the test compares: table `t`'s IPv4 and IPv6 routes,
/// and the IPv4 and IPv6 rules.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Kernel {
    v4: Vec<String>,
    v6: Vec<String>,
    rules4: Vec<String>,
    rules6: Vec<String>,
}

fn kernel(d: &Daemon, table: u32) -> Kernel {
    let t = table.to_string();
    Kernel {
        v4: ip(d, &["route", "show", "table", &t]),
        v6: ip(d, &["-6", "route", "show", "table", &t]),
        rules4: ip(d, &["rule", "show"]),
        rules6: ip(d, &["-6", "rule", "show"]),
    }
}

/// The rules a kernel without VRF devices should hold for these
/// (interface, table) bindings, plus its defaults, plus `extra4` (foreign
/// rules the test added).
fn rules(bound: &[(&str, u32)], extra4: &[&str]) -> (Vec<String>, Vec<String>) {
    let ours: Vec<String> = bound
        .iter()
        .map(|(dev, t)| format!("1000: from all iif {dev} lookup {t} proto 201"))
        .collect();
    let mut r4: Vec<String> = [
        "0: from all lookup local",
        "32766: from all lookup main",
        "32767: from all lookup default",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(ours.iter().cloned())
    .chain(extra4.iter().map(|s| s.to_string()))
    .collect();
    let mut r6: Vec<String> = ["0: from all lookup local", "32766: from all lookup main"]
        .iter()
        .map(|s| s.to_string())
        .chain(ours)
        .collect();
    r4.sort();
    r6.sort();
    (r4, r6)
}

/// Wait until table `table` and the rules are exactly as expected.
#[track_caller]
fn expect_kernel(d: &Daemon, caps: &KernelCaps, table: u32, want: &Kernel, what: &str) {
    let start = std::time::Instant::now();
    let mut got = kernel(d, table);
    let cmp = |g: &Kernel| {
        if caps.vrf_device {
            // Rules are not used where VRF devices exist: routes only.
            g.v4 == want.v4 && g.v6 == want.v6
        } else {
            g == want
        }
    };
    while !cmp(&got) && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(50));
        got = kernel(d, table);
    }
    if !cmp(&got) {
        panic!(
            "{what}: kernel does not match the store after {WAIT:?}\nwant: {want:#?}\ngot:  {got:#?}\nlog:\n{}",
            d.current_log()
                .lines()
                .filter(|l| !l.contains("sled"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// With VRF devices: `l3v<table>` exists, bound to the table, with exactly
/// these interfaces enslaved.
#[track_caller]
fn expect_vrf_device(d: &Daemon, table: u32, slaves: &[&str]) {
    let dev = format!("l3v{table}");
    wait_for(&format!("{dev} with {slaves:?}"), WAIT, || {
        let (ok, out, _) = d.ns_try(&["ip", "-d", "link", "show", &dev]);
        if !ok || !out.contains(&format!("vrf table {table}")) {
            return false;
        }
        let got = ip(d, &["-br", "link", "show", "master", &dev]);
        let names: Vec<String> = got
            .iter()
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .map(|n| n.split('@').next().unwrap().to_string())
            .collect();
        names == sorted(slaves)
    });
}

struct R<'a> {
    dest: &'a str,
    pfx: u32,
    nh: Option<&'a str>,
}

fn rr<'a>(dest: &'a str, pfx: u32, nh: Option<&'a str>) -> R<'a> {
    R { dest, pfx, nh }
}

impl R<'_> {
    fn oid(&self, vrf: &str, col: u32) -> String {
        rte_oid(col, vrf, self.dest, self.pfx, self.nh)
    }
}

/// Create a route with optional Type, IfIndex and Metric1.
#[track_caller]
fn add(
    d: &Daemon,
    vrf: &str,
    r: &R,
    typ: Option<&str>,
    if_index: u32,
    metric1: Option<i64>,
    status: &str,
) {
    let mut v: Vec<String> = Vec::new();
    if let Some(t) = typ {
        v.extend([r.oid(vrf, rte::TYPE), "i".into(), t.into()]);
    }
    if if_index != 0 {
        v.extend([r.oid(vrf, rte::IF_INDEX), "i".into(), if_index.to_string()]);
    }
    if let Some(m) = metric1 {
        v.extend([r.oid(vrf, rte::METRIC1), "i".into(), m.to_string()]);
    }
    v.extend([r.oid(vrf, rte::STATUS), "i".into(), status.into()]);
    d.set_ok(&strs(&v));
}

#[track_caller]
fn status(d: &Daemon, vrf: &str, r: &R, s: &str) {
    d.set_ok(&[&r.oid(vrf, rte::STATUS), "i", s]);
}

fn v4_lines(lines: &[&str]) -> Vec<String> {
    sorted(lines)
}

// ---------------------------------------------------------------------------

/// The whole life of a VRF in the kernel: bind, routes v4+v6 (best route
/// per prefix by Metric1), notInService/active/destroy of routes, admin
/// down/up, clean restart with strays and foreign state added while l3vpnd
/// is down, kill -9 with our routes and rules removed behind its back,
/// destroy.
#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn netlink_fib_follows_the_store_across_restarts() {
    let mut d = netlink_daemon();
    let caps = kernel_caps(&d);
    let va = ifindex(&d, "va");
    let vc = ifindex(&d, "vc");
    let nv = st::NON_VOLATILE;

    // The capability scalars say what the kernel has.
    d.expect(&ext::scalar_oid(ext::FIB_BACKEND), &integer(2));
    let tv = |b: bool| integer(if b { 1 } else { 2 });
    d.expect(
        &ext::scalar_oid(ext::FIB_CAP_VRF_DEVICE),
        &tv(caps.vrf_device),
    );
    d.expect(&ext::scalar_oid(ext::FIB_CAP_MPLS), &tv(caps.mpls));
    d.expect(&ext::scalar_oid(ext::FIB_CAP_IPV6), &tv(true));

    // VRF red (nonVolatile) on va; VRF blue (volatile) on vc.
    d.create_vrf(
        "red",
        &[
            &vrf_oid(vrf::RD, "red"),
            "s",
            "65000:1",
            &vrf_oid(vrf::STORAGE_TYPE, "red"),
            "i",
            nv,
        ],
    );
    d.create_vrf("blue", &[]);
    d.set_ok(&[
        &ifconf_oid(ifconf::STORAGE_TYPE, "red", va),
        "i",
        nv,
        &ifconf_oid(ifconf::ROW_STATUS, "red", va),
        "i",
        rs::CREATE_AND_GO,
        &ifconf_oid(ifconf::ROW_STATUS, "blue", vc),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.expect(&ext::vrf_oid(ext::TABLE_ID, "red"), &gauge(10000));
    d.expect(&ext::vrf_oid(ext::TABLE_ID, "blue"), &gauge(10001));

    let a = rr("10.1.0.0", 16, Some("192.0.2.2"));
    let b = rr("0.0.0.0", 0, Some("192.0.2.3"));
    let c = rr("10.2.0.0", 16, None);
    let e = rr("10.3.0.0", 16, None);
    let f = rr("10.4.0.0", 16, None);
    let g20 = rr("10.5.0.0", 16, Some("192.0.2.2"));
    let g10 = rr("10.5.0.0", 16, Some("192.0.2.3"));
    let h = rr("10.6.0.0", 16, Some("192.0.2.4"));
    let i6 = rr("2001:db8:2::", 48, Some("2001:db8:1::2"));
    let j6 = rr("::", 0, Some("2001:db8:1::3"));
    let k6 = rr("2001:db8:3::", 48, None);
    let l6 = rr("2001:db8:4::", 48, Some("2001:db8:1::2"));
    let m6 = rr("2001:db8:5::", 48, None);
    add(&d, "red", &a, Some(rte::REMOTE), 0, None, rs::CREATE_AND_GO);
    add(&d, "red", &b, Some(rte::REMOTE), 0, None, rs::CREATE_AND_GO);
    add(
        &d,
        "red",
        &c,
        Some(rte::BLACKHOLE),
        0,
        None,
        rs::CREATE_AND_GO,
    );
    add(&d, "red", &e, Some(rte::REJECT), 0, None, rs::CREATE_AND_GO);
    add(&d, "red", &f, Some(rte::LOCAL), va, None, rs::CREATE_AND_GO);
    add(&d, "red", &g20, None, 0, Some(20), rs::CREATE_AND_GO);
    add(&d, "red", &g10, None, 0, Some(10), rs::CREATE_AND_GO);
    add(&d, "red", &h, None, 0, None, rs::CREATE_AND_WAIT);
    add(
        &d,
        "red",
        &i6,
        Some(rte::REMOTE),
        0,
        None,
        rs::CREATE_AND_GO,
    );
    add(&d, "red", &j6, None, 0, None, rs::CREATE_AND_GO);
    add(
        &d,
        "red",
        &k6,
        Some(rte::BLACKHOLE),
        0,
        None,
        rs::CREATE_AND_GO,
    );
    add(&d, "red", &l6, None, va, Some(5), rs::CREATE_AND_GO);
    add(
        &d,
        "red",
        &m6,
        Some(rte::LOCAL),
        va,
        None,
        rs::CREATE_AND_GO,
    );
    let blue_r = rr("10.9.0.0", 16, Some("198.51.100.2"));
    add(&d, "blue", &blue_r, None, 0, None, rs::CREATE_AND_GO);

    let red_v4 = [
        "default via 192.0.2.3 dev va proto 201",
        "10.1.0.0/16 via 192.0.2.2 dev va proto 201",
        "blackhole 10.2.0.0/16 proto 201",
        "unreachable 10.3.0.0/16 proto 201",
        "10.4.0.0/16 dev va proto 201 scope link",
        "10.5.0.0/16 via 192.0.2.3 dev va proto 201 metric 10",
        // the connected route of va's address
        "192.0.2.0/24 dev va proto 201 scope link",
    ];
    let red_v6 = [
        "2001:db8:2::/48 via 2001:db8:1::2 dev va proto 201 metric 1024 pref medium",
        "default via 2001:db8:1::3 dev va proto 201 metric 1024 pref medium",
        "blackhole 2001:db8:3::/48 dev lo proto 201 metric 1024 pref medium",
        "2001:db8:4::/48 via 2001:db8:1::2 dev va proto 201 metric 5 pref medium",
        "2001:db8:5::/48 dev va proto 201 metric 1024 pref medium",
        "2001:db8:1::/64 dev va proto 201 metric 1024 pref medium",
    ];
    let both = [("va", 10000), ("vc", 10001)];
    let (r4, r6) = rules(&both, &[]);
    let mut want = Kernel {
        v4: v4_lines(&red_v4),
        v6: sorted(&red_v6),
        rules4: r4,
        rules6: r6,
    };
    expect_kernel(&d, &caps, 10000, &want, "red created");
    let blue_want = Kernel {
        v4: sorted(&[
            "10.9.0.0/16 via 198.51.100.2 dev vc proto 201",
            "198.51.100.0/24 dev vc proto 201 scope link",
            CATCH4,
        ]),
        v6: sorted(&[CATCH6]),
        ..want.clone()
    };
    expect_kernel(&d, &caps, 10001, &blue_want, "blue created");
    if caps.vrf_device {
        expect_vrf_device(&d, 10000, &["va"]);
        expect_vrf_device(&d, 10001, &["vc"]);
    }
    wait_for("red installed", WAIT, || {
        d.num(&ext::vrf_oid(ext::FIB_STATUS, "red")) == ext::FIB_INSTALLED
    });
    if !caps.mpls {
        let reason = d.val(&ext::vrf_oid(ext::FIB_REASON, "red"));
        assert!(
            reason.to_lowercase().contains("mpls"),
            "FibReason names what the kernel could not do: {reason}"
        );
    }

    // Route changes: the best route of 10.5/16 moves to metric 20 and back;
    // a notInService route goes in when active; a destroyed one goes.
    status(&d, "red", &g10, rs::NOT_IN_SERVICE);
    status(&d, "red", &h, rs::ACTIVE);
    status(&d, "red", &a, rs::DESTROY);
    let mut v4: Vec<&str> = red_v4
        .iter()
        .copied()
        .filter(|l| !l.starts_with("10.1.0.0/16") && !l.starts_with("10.5.0.0/16"))
        .collect();
    v4.push("10.5.0.0/16 via 192.0.2.2 dev va proto 201 metric 20");
    v4.push("10.6.0.0/16 via 192.0.2.4 dev va proto 201");
    want.v4 = sorted(&v4);
    expect_kernel(&d, &caps, 10000, &want, "route changes");
    status(&d, "red", &g10, rs::ACTIVE);
    let mut v4: Vec<&str> = v4
        .into_iter()
        .filter(|l| !l.starts_with("10.5.0.0/16"))
        .collect();
    v4.push("10.5.0.0/16 via 192.0.2.3 dev va proto 201 metric 10");
    want.v4 = sorted(&v4);
    expect_kernel(&d, &caps, 10000, &want, "best route back to metric 10");

    // Without the operator's default routes the reject defaults hold the
    // place; with them back, they go.
    status(&d, "red", &b, rs::NOT_IN_SERVICE);
    status(&d, "red", &j6, rs::DESTROY);
    let no_defaults = Kernel {
        v4: sorted(
            &v4.iter()
                .copied()
                .filter(|l| !l.starts_with("default"))
                .chain([CATCH4])
                .collect::<Vec<_>>(),
        ),
        v6: sorted(
            &red_v6
                .iter()
                .copied()
                .filter(|l| !l.starts_with("default"))
                .chain([CATCH6])
                .collect::<Vec<_>>(),
        ),
        ..want.clone()
    };
    expect_kernel(&d, &caps, 10000, &no_defaults, "operator defaults removed");
    status(&d, "red", &b, rs::ACTIVE);
    add(&d, "red", &j6, None, 0, None, rs::CREATE_AND_GO);
    expect_kernel(&d, &caps, 10000, &want, "operator defaults back");

    // One route's Metric1 changed through notInService: the kernel holds
    // it at the new metric only.
    d.set_ok(&[
        &l6.oid("red", rte::STATUS),
        "i",
        rs::NOT_IN_SERVICE,
        &l6.oid("red", rte::METRIC1),
        "i",
        "7",
    ]);
    let v6_gone: Vec<&str> = red_v6
        .iter()
        .copied()
        .filter(|l| !l.starts_with("2001:db8:4::/48"))
        .collect();
    want.v6 = sorted(&v6_gone);
    expect_kernel(&d, &caps, 10000, &want, "l6 notInService");
    status(&d, "red", &l6, rs::ACTIVE);
    let mut v6_7 = v6_gone.clone();
    v6_7.push("2001:db8:4::/48 via 2001:db8:1::2 dev va proto 201 metric 7 pref medium");
    want.v6 = sorted(&v6_7);
    expect_kernel(&d, &caps, 10000, &want, "l6 at metric 7");
    let red_v6: Vec<&str> = v6_7;

    // Admin down: routes withdrawn, table steering kept; up: back.
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "red"), "i", "2"]);
    let down = Kernel {
        v4: sorted(&[CATCH4]),
        v6: sorted(&[CATCH6]),
        ..want.clone()
    };
    expect_kernel(&d, &caps, 10000, &down, "admin down");
    wait_for("admin down: notApplicable", WAIT, || {
        d.num(&ext::vrf_oid(ext::FIB_STATUS, "red")) == ext::FIB_NOT_APPLICABLE
    });
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "red"), "i", "1"]);
    expect_kernel(&d, &caps, 10000, &want, "admin up");
    expect_kernel(&d, &caps, 10001, &blue_want, "blue untouched");

    // Clean stop. Behind l3vpnd's back: a stray of ours in its table (v4
    // and v6), one of ours removed, a duplicate of ours at another metric,
    // a foreign route in its table, a stray table and rule of ours, a
    // foreign rule.
    let st = d.stop();
    assert!(st.success(), "SIGTERM exit: {st}");
    let down_kernel = kernel(&d, 10000);
    assert_eq!(down_kernel.v4, want.v4, "a clean stop leaves the routes");
    for cmd in [
        "ip route add 10.250.0.0/16 dev va table 10000 proto 201",
        "ip -6 route add 2001:db8:250::/48 dev va table 10000 proto 201",
        "ip route del blackhole 10.2.0.0/16 table 10000",
        "ip route add 10.4.0.0/16 dev va table 10000 proto 201 metric 7",
        "ip route add 10.251.0.0/16 dev va table 10000 proto static",
        "ip route add 10.99.0.0/16 dev vd table 10077 proto 201",
        "ip rule add iif vd lookup 10077 pref 1000 proto 201",
        "ip rule add iif vd lookup 10078 pref 1001",
    ] {
        let argv: Vec<&str> = cmd.split(' ').collect();
        d.ns_exec(&argv);
    }
    d.launch();
    // blue was volatile: gone with its binding; our stray table and rule
    // gone; the foreign route and rule stay.
    let foreign_rule = "1001: from all iif vd lookup 10078";
    let (r4, r6) = rules(&[("va", 10000)], &[foreign_rule]);
    let mut v4_after = v4.clone();
    v4_after.push("10.251.0.0/16 dev va proto static scope link");
    want = Kernel {
        v4: sorted(&v4_after),
        v6: sorted(&red_v6),
        rules4: r4,
        rules6: r6,
    };
    expect_kernel(&d, &caps, 10000, &want, "after a clean restart");
    let empty = Kernel {
        v4: vec![],
        v6: vec![],
        ..want.clone()
    };
    expect_kernel(&d, &caps, 10001, &empty, "volatile blue's table");
    expect_kernel(&d, &caps, 10077, &empty, "stray table 10077");
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "blue")));
    d.expect(&ext::vrf_oid(ext::TABLE_ID, "red"), &gauge(10000));
    wait_for("red installed after restart", WAIT, || {
        d.num(&ext::vrf_oid(ext::FIB_STATUS, "red")) == ext::FIB_INSTALLED
    });

    // Changes acknowledged just before kill -9 are in the kernel after it.
    let n = rr("10.7.0.0", 16, Some("192.0.2.2"));
    add(&d, "red", &n, None, 0, None, rs::CREATE_AND_GO);
    status(&d, "red", &e, rs::DESTROY);
    d.kill9();
    // With l3vpnd dead: all our routes of the table and our rules removed.
    for fam in ["-4", "-6"] {
        d.ns_exec(&[
            "ip", fam, "route", "flush", "table", "10000", "proto", "201",
        ]);
    }
    for fam in ["-4", "-6"] {
        let (ok, _, err) = d.ns_try(&["ip", fam, "rule", "del", "iif", "va", "lookup", "10000"]);
        assert!(ok || caps.vrf_device, "ip {fam} rule del: {err}");
    }
    d.launch();
    let mut v4_k: Vec<&str> = v4_after
        .iter()
        .copied()
        .filter(|l| !l.starts_with("unreachable 10.3.0.0/16"))
        .collect();
    v4_k.push("10.7.0.0/16 via 192.0.2.2 dev va proto 201");
    want.v4 = sorted(&v4_k);
    expect_kernel(&d, &caps, 10000, &want, "after kill -9 and a flushed table");

    // kill -9 with nothing changed: no duplicates.
    d.kill9();
    d.launch();
    expect_kernel(&d, &caps, 10000, &want, "after a second kill -9");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(kernel(&d, 10000).v4, want.v4, "stable: no duplicates");
    if caps.vrf_device {
        expect_vrf_device(&d, 10000, &["va"]);
    }

    // Destroy: everything of ours goes, the foreign route stays; and stays
    // so across a restart.
    d.destroy_vrf("red");
    let (r4, r6) = rules(&[], &[foreign_rule]);
    let gone = Kernel {
        v4: sorted(&["10.251.0.0/16 dev va proto static scope link"]),
        v6: vec![],
        rules4: r4,
        rules6: r6,
    };
    expect_kernel(&d, &caps, 10000, &gone, "red destroyed");
    d.restart();
    expect_kernel(&d, &caps, 10000, &gone, "restart after destroy");
    if caps.vrf_device {
        let (ok, _, _) = d.ns_try(&["ip", "link", "show", "l3v10000"]);
        assert!(!ok, "VRF device l3v10000 left behind");
    }
}

/// Binding changes drive the rules: a second interface, removing one, a
/// notInService binding; IPv6 off at the route level; two VRFs with routes
/// for the same prefix in their own tables.
#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn netlink_bindings_and_tables_per_vrf() {
    let d = netlink_daemon();
    let caps = kernel_caps(&d);
    let va = ifindex(&d, "va");
    let vc = ifindex(&d, "vc");
    d.create_vrf("one", &[]);
    d.create_vrf("two", &[]);
    let p = rr("10.8.0.0", 16, None);
    add(
        &d,
        "one",
        &p,
        Some(rte::BLACKHOLE),
        0,
        None,
        rs::CREATE_AND_GO,
    );
    add(&d, "two", &p, Some(rte::REJECT), 0, None, rs::CREATE_AND_GO);
    let (r4, r6) = rules(&[], &[]);
    let one = Kernel {
        v4: sorted(&["blackhole 10.8.0.0/16 proto 201", CATCH4]),
        v6: sorted(&[CATCH6]),
        rules4: r4.clone(),
        rules6: r6.clone(),
    };
    let two = Kernel {
        v4: sorted(&["unreachable 10.8.0.0/16 proto 201", CATCH4]),
        ..one.clone()
    };
    expect_kernel(&d, &caps, 10000, &one, "one: no bindings yet");
    // Metric1 0 (and -1) is the kernel's metric 0 for IPv4, 1024 for IPv6.
    let q4 = rr("10.10.0.0", 16, None);
    let q6 = rr("2001:db8:9::", 48, None);
    add(
        &d,
        "one",
        &q4,
        Some(rte::BLACKHOLE),
        0,
        Some(0),
        rs::CREATE_AND_GO,
    );
    add(
        &d,
        "one",
        &q6,
        Some(rte::BLACKHOLE),
        0,
        Some(0),
        rs::CREATE_AND_GO,
    );
    let one_q = Kernel {
        v4: sorted(&[
            "blackhole 10.8.0.0/16 proto 201",
            "blackhole 10.10.0.0/16 proto 201",
            CATCH4,
        ]),
        v6: sorted(&[
            "blackhole 2001:db8:9::/48 dev lo proto 201 metric 1024 pref medium",
            CATCH6,
        ]),
        ..one.clone()
    };
    expect_kernel(&d, &caps, 10000, &one_q, "metric 0 routes");
    status(&d, "one", &q4, rs::DESTROY);
    status(&d, "one", &q6, rs::DESTROY);

    // A route the kernel refuses (its gateway is unreachable): the VRF's
    // FIB status is failed(3) with the reason, the rest of the table is
    // installed, and the retry installs it once the gateway is reachable.
    let u = rr("10.11.0.0", 16, Some("203.0.113.1"));
    add(&d, "one", &u, Some(rte::REMOTE), 0, None, rs::CREATE_AND_GO);
    wait_for("one failed", WAIT, || {
        d.num(&ext::vrf_oid(ext::FIB_STATUS, "one")) == ext::FIB_FAILED
    });
    let reason = d.val(&ext::vrf_oid(ext::FIB_REASON, "one"));
    assert!(
        reason.contains("10.11.0.0/16"),
        "FibReason names the route: {reason}"
    );
    expect_kernel(&d, &caps, 10000, &one, "the refused route is not there");
    expect_kernel(&d, &caps, 10001, &two, "the other VRF is untouched");
    d.expect(
        &ext::vrf_oid(ext::FIB_STATUS, "two"),
        &integer(ext::FIB_INSTALLED),
    );
    d.ns_exec(&["ip", "addr", "add", "203.0.113.2/24", "dev", "vb"]);
    let one_u = Kernel {
        v4: sorted(&[
            "blackhole 10.8.0.0/16 proto 201",
            "10.11.0.0/16 via 203.0.113.1 dev vb proto 201",
            CATCH4,
        ]),
        ..one.clone()
    };
    expect_kernel(&d, &caps, 10000, &one_u, "installed on retry");
    wait_for("one installed again", WAIT, || {
        d.num(&ext::vrf_oid(ext::FIB_STATUS, "one")) == ext::FIB_INSTALLED
    });
    status(&d, "one", &u, rs::DESTROY);
    expect_kernel(&d, &caps, 10000, &one, "refused route destroyed");
    expect_kernel(&d, &caps, 10001, &two, "two: no bindings yet");

    // Both interfaces to one, then vc moves to two.
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "one", va),
        "i",
        rs::CREATE_AND_GO,
        &ifconf_oid(ifconf::ROW_STATUS, "one", vc),
        "i",
        rs::CREATE_AND_GO,
    ]);
    // The connected routes of va's and vc's addresses come with them.
    const VA4: &str = "192.0.2.0/24 dev va proto 201 scope link";
    const VA6: &str = "2001:db8:1::/64 dev va proto 201 metric 1024 pref medium";
    const VC4: &str = "198.51.100.0/24 dev vc proto 201 scope link";
    let (r4, r6) = rules(&[("va", 10000), ("vc", 10000)], &[]);
    let one2 = Kernel {
        v4: sorted(&["blackhole 10.8.0.0/16 proto 201", VA4, VC4, CATCH4]),
        v6: sorted(&[VA6, CATCH6]),
        rules4: r4,
        rules6: r6,
    };
    expect_kernel(&d, &caps, 10000, &one2, "va and vc to one");
    if caps.vrf_device {
        expect_vrf_device(&d, 10000, &["va", "vc"]);
    }
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "one", vc),
        "i",
        rs::DESTROY,
        &ifconf_oid(ifconf::ROW_STATUS, "two", vc),
        "i",
        rs::CREATE_AND_GO,
    ]);
    let (r4, r6) = rules(&[("va", 10000), ("vc", 10001)], &[]);
    let one3 = Kernel {
        v4: sorted(&["blackhole 10.8.0.0/16 proto 201", VA4, CATCH4]),
        v6: sorted(&[VA6, CATCH6]),
        rules4: r4,
        rules6: r6,
    };
    expect_kernel(&d, &caps, 10000, &one3, "vc moved to two");
    if caps.vrf_device {
        expect_vrf_device(&d, 10000, &["va"]);
        expect_vrf_device(&d, 10001, &["vc"]);
    }
    // A notInService binding steers nothing.
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "one", va),
        "i",
        rs::NOT_IN_SERVICE,
    ]);
    let (r4, r6) = rules(&[("vc", 10001)], &[]);
    let one4 = Kernel {
        rules4: r4,
        rules6: r6,
        ..one.clone()
    };
    expect_kernel(&d, &caps, 10000, &one4, "va's binding notInService");
    // A VRF row notInService: its table goes, the other VRF's stays.
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "two"), "i", rs::NOT_IN_SERVICE]);
    let (r4, r6) = rules(&[], &[]);
    let none = Kernel {
        v4: vec![],
        v6: vec![],
        rules4: r4,
        rules6: r6,
    };
    expect_kernel(&d, &caps, 10001, &none, "two notInService");
    let one5 = Kernel {
        rules4: none.rules4.clone(),
        rules6: none.rules6.clone(),
        ..one.clone()
    };
    expect_kernel(&d, &caps, 10000, &one5, "one untouched");
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "two"), "i", rs::ACTIVE]);
    let (r4, r6) = rules(&[("vc", 10001)], &[]);
    let two2 = Kernel {
        v4: sorted(&["unreachable 10.8.0.0/16 proto 201", VC4, CATCH4]),
        rules4: r4,
        rules6: r6,
        ..two.clone()
    };
    expect_kernel(&d, &caps, 10001, &two2, "two active again");
    d.destroy_vrf("one");
    d.destroy_vrf("two");
    expect_kernel(&d, &caps, 10000, &none, "one destroyed");
    expect_kernel(&d, &caps, 10001, &none, "two destroyed");
}
