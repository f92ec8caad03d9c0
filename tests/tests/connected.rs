//! Connected routes end to end (issue 4, export of "each VRF route (static,
//! connected, CE-learned)"): l3vpnd with the netlink FIB in a namespace of
//! its own, a GoBGP PE peer (iBGP, VPNv4 and VPNv6) in another, a CE
//! namespace behind the veth `ce0` that VRF red is bound to over SNMP.
//! The subnets of ce0's addresses must appear, exactly, as read-only rows
//! of mplsL3VpnVrfRteTable (snmpwalk), as `dev ce0` routes in the VRF's
//! kernel table (`ip route show table N`), and as VPN routes at GoBGP (RD,
//! the VRF's label, the export RT, next hop self, ORIGIN incomplete); and
//! go from all three when the address is deleted or the link loses its
//! carrier or is set down, and come back when the link does.

use l3vpnd_tests::*;
use std::time::Duration;

/// The longest wait for anything here (sessions come up in 1-5 s).
const T: Duration = Duration::from_secs(20);
const RED: &str = "red";

const PE_TOML: &str = "[bgp]\nasn = 65000\nrouter_id = \"10.99.0.1\"\n\
    listen = [\"10.99.0.1:179\"]\n\
    [[bgp.peer]]\naddress = \"10.99.0.2\"\nremote_as = 65000\nfamilies = [\"vpnv4\", \"vpnv6\"]\n";

const GOBGP_TOML: &str = "[global.config]\n  as = 65000\n  router-id = \"10.99.0.2\"\n\
    \x20 local-address-list = [\"10.99.0.2\"]\n\
    [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"10.99.0.1\"\n    peer-as = 65000\n\
    \x20 [neighbors.timers.config]\n    connect-retry = 1\n    idle-hold-time-after-reset = 1\n\
    \x20 [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"l3vpn-ipv4-unicast\"\n\
    \x20 [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"l3vpn-ipv6-unicast\"\n";

/// The catch-all defaults every installed VRF table holds.
const CATCH4: &str = "unreachable default proto 201 metric 4278198272";
const CATCH6: &str = "unreachable default dev lo proto 201 metric 4278198272 pref medium";

/// l3vpndVrfFibRoutes (L3VPND-MIB l3vpndVrfTable column 7).
const FIB_ROUTES: u32 = 7;

/// The rows of `vrf` in mplsL3VpnVrfRteTable, every column, as
/// "column.dest/len = value" in walk order; the Age column (10) is checked
/// to be a small Gauge32 and shown as "Gauge32: age".
fn rows(d: &Daemon, vrf: &str) -> Vec<String> {
    let root = RTE_ENTRY;
    let prefix = format!(".{root}.");
    d.walk(root)
        .into_iter()
        .filter_map(|(o, v)| {
            let rest = o.strip_prefix(&prefix)?;
            let (col, idx) = rest.split_once('.')?;
            let (dest, pfx) = parse_index(idx, vrf)?;
            let v = if col == "10" {
                let age: u64 = v.strip_prefix("Gauge32: ")?.parse().ok()?;
                assert!(age < 120, "Age {age} s");
                "Gauge32: age".to_string()
            } else {
                v
            };
            Some(format!("{col}.{dest}/{pfx} = {v}"))
        })
        .collect()
}

/// (destination, prefix length) of a route index of `vrf` with policy
/// {0 0} and no next hop; None for other VRFs and other indexes.
fn parse_index(idx: &str, vrf: &str) -> Option<(String, u32)> {
    let rest = idx.strip_prefix(&format!("{}.", name_index(vrf)))?;
    let arcs: Vec<u32> = rest
        .split('.')
        .map(|a| a.parse().ok())
        .collect::<Option<_>>()?;
    let (t, n) = (arcs[0], arcs[1] as usize);
    let dest: std::net::IpAddr = match (t, n) {
        (1, 4) => {
            std::net::Ipv4Addr::new(arcs[2] as u8, arcs[3] as u8, arcs[4] as u8, arcs[5] as u8)
                .into()
        }
        (2, 16) => {
            let b: Vec<u8> = arcs[2..18].iter().map(|a| *a as u8).collect();
            std::net::Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?).into()
        }
        _ => return None,
    };
    let tail = &arcs[2 + n..];
    // prefix length, policy {0 0}, next hop unknown(0) of length 0
    assert_eq!(&tail[1..], &[2, 0, 0, 0, 0], "index {idx}");
    Some((dest.to_string(), tail[0]))
}

/// The exact columns of a connected route's row on ifindex `ifx`.
fn connected_row(ifx: u32) -> Vec<(u32, String)> {
    vec![
        (rte::IF_INDEX, integer(ifx as i64)),
        (rte::TYPE, integer(3)),  // local(3)
        (rte::PROTO, integer(2)), // local(2)
        (rte::AGE, "Gauge32: age".into()),
        (rte::NEXT_HOP_AS, gauge(0)),
        (rte::METRIC1, integer(0)),
        (rte::METRIC2, integer(-1)),
        (rte::METRIC3, integer(-1)),
        (rte::METRIC4, integer(-1)),
        (rte::METRIC5, integer(-1)),
        (rte::XC_POINTER, "Hex-STRING: 00".into()),
        (rte::STATUS, integer(1)), // active(1)
    ]
}

/// What `rows` should show for these connected routes (in index order:
/// IPv4 before IPv6), column by column as a walk goes.
fn expected_rows(routes: &[(&str, u32)], ifx: u32) -> Vec<String> {
    let mut out = Vec::new();
    for col in rte::IF_INDEX..=rte::STATUS {
        for (dest, pfx) in routes {
            for (c, v) in connected_row(ifx) {
                if c == col {
                    out.push(format!("{col}.{dest}/{pfx} = {v}"));
                }
            }
        }
    }
    out
}

/// Sorted, whitespace-normalised lines of an `ip` command in namespace `ns`.
fn ip(net: &Netns, args: &[&str]) -> Vec<String> {
    let mut argv = vec!["ip"];
    argv.extend_from_slice(args);
    let (ok, out, err) = net.try_exec("pe", &argv);
    if !ok {
        assert!(err.contains("FIB table does not exist"), "{argv:?}: {err}");
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

/// The VRF's kernel table: (IPv4 lines, IPv6 lines).
fn kernel(net: &Netns, table: i64) -> (Vec<String>, Vec<String>) {
    let t = table.to_string();
    (
        ip(net, &["route", "show", "table", &t]),
        ip(net, &["-6", "route", "show", "table", &t]),
    )
}

/// A VPN route l3vpnd sent as GoBGP shows it: RD 65000:1, exactly `label`,
/// RT 65000:100 only, next hop 10.99.0.1 (self), LOCAL_PREF 100, empty
/// AS_PATH, ORIGIN incomplete(2).
fn check_vpn(p: &Json, label: i64) -> Result<(), String> {
    let ctx = format!("GoBGP path {p}");
    let want = |what: &str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(format!("{what}; {ctx}"))
        }
    };
    want(
        "label",
        p.path("nlri/labels") == Some(&Json::Arr(vec![Json::Num(label as f64)])),
    )?;
    want(
        "RD 65000:1",
        p.path("nlri/rd/type").and_then(Json::as_i64) == Some(0)
            && p.path("nlri/rd/admin").and_then(Json::as_i64) == Some(65000)
            && p.path("nlri/rd/assigned").and_then(Json::as_i64) == Some(1),
    )?;
    want("RT 65000:100", gobgp_rts(p) == ["65000:100"])?;
    let nh = gobgp_next_hop(p).unwrap_or_default();
    want(
        "next hop self",
        nh == "10.99.0.1" || nh == "::ffff:10.99.0.1",
    )?;
    let attr = |t| {
        gobgp_attr(p, t)
            .and_then(|a| a.get("value"))
            .and_then(Json::as_i64)
    };
    want("LOCAL_PREF 100", attr(5) == Some(100))?;
    want("ORIGIN incomplete", attr(1) == Some(2))?;
    want("empty AS_PATH", gobgp_as_path(p).is_empty())
}

fn gobgp_lacks(gb: &GoBgp, family: &str, key: &str) -> Result<(), String> {
    match gb.route(family, key) {
        None => Ok(()),
        Some(p) => Err(format!("{key} still in GoBGP {family}: {p}")),
    }
}

fn gobgp_route(gb: &GoBgp, family: &str, key: &str, label: i64) -> Result<(), String> {
    let p = gb
        .route(family, key)
        .ok_or_else(|| format!("{key} not in GoBGP {family}: {}", gb.rib(family)))?;
    check_vpn(&p, label)
}

const V4: &str = "65000:1:10.77.1.0/24";
const V6: &str = "65000:1:2001:db8:77::/64";

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn connected_routes_exported_installed_and_withdrawn() {
    assert!(
        std::path::Path::new(GOBGPD).exists(),
        "{GOBGPD} is not installed (scripts/test installs gobgpd)"
    );
    let mut net = Netns::new("l3c");
    let pe = net.add("pe");
    let gbns = net.add("gb");
    net.add("ce");
    net.link("pe", "eth0", "10.99.0.1/30", "gb", "eth0", "10.99.0.2/30");
    // ce0 has its IPv4 address before l3vpnd starts (the initial dump);
    // the IPv6 one comes later (a notification).
    net.link("pe", "ce0", "10.77.1.1/24", "ce", "eth0", "10.77.1.2/24");
    let gb = GoBgp::start(&gbns, GOBGP_TOML);
    let d = Daemon::in_existing_netns(&pe, PE_TOML, &["--fib", "netlink"]);
    poll("GoBGP session established", T, || {
        if gb.established("10.99.0.1") {
            Ok(())
        } else {
            Err(gb.neighbor("10.99.0.1"))
        }
    });
    let ce0: u32 = net
        .exec("pe", &["cat", "/sys/class/net/ce0/ifindex"])
        .trim()
        .parse()
        .unwrap();

    // VRF red: RD 65000:1, export RT 65000:100, ce0 bound; one SET.
    d.set_ok(&[
        &vrf_oid(vrf::RD, RED),
        "s",
        "65000:1",
        &vrf_oid(vrf::ROW_STATUS, RED),
        "i",
        rs::CREATE_AND_GO,
        &rt_oid(rt::RT, RED, 1, rt::EXPORT),
        "s",
        "65000:100",
        &rt_oid(rt::ROW_STATUS, RED, 1, rt::EXPORT),
        "i",
        rs::CREATE_AND_GO,
        &ifconf_oid(ifconf::ROW_STATUS, RED, ce0),
        "i",
        rs::CREATE_AND_GO,
    ]);
    let label = d.num(&ext::vrf_oid(ext::LABEL, RED));
    assert!(label >= 16, "VRF label {label}");
    let table = d.num(&ext::vrf_oid(ext::TABLE_ID, RED));
    net.exec(
        "pe",
        &[
            "ip",
            "-6",
            "addr",
            "add",
            "2001:db8:77::1/64",
            "dev",
            "ce0",
            "nodad",
        ],
    );

    // The route table: exactly the two connected rows (the link-local
    // fe80:: address of ce0 gives none).
    let both = expected_rows(&[("10.77.1.0", 24), ("2001:db8:77::", 64)], ce0);
    poll("connected rows", T, || {
        let got = rows(&d, RED);
        if got == both {
            Ok(())
        } else {
            Err(format!("{got:#?}"))
        }
    });
    d.expect(&perf_oid(perf::CURR_NUM_ROUTES, RED), &gauge(2));

    // The kernel: `dev ce0` routes in the VRF's table (IPv6 metric 0 is
    // the kernel's 1024), besides the catch-alls.
    let want_kernel = (
        sorted(&["10.77.1.0/24 dev ce0 proto 201 scope link", CATCH4]),
        sorted(&[
            "2001:db8:77::/64 dev ce0 proto 201 metric 1024 pref medium",
            CATCH6,
        ]),
    );
    poll("kernel table", T, || {
        let got = kernel(&net, table);
        if got == want_kernel {
            Ok(())
        } else {
            Err(format!("{got:#?}"))
        }
    });
    d.expect(&ext::vrf_oid(FIB_ROUTES, RED), &gauge(4));

    // GoBGP: both VPN routes.
    poll("10.77.1.0/24 at GoBGP", T, || {
        gobgp_route(&gb, "vpnv4", V4, label)
    });
    poll("2001:db8:77::/64 at GoBGP", T, || {
        gobgp_route(&gb, "vpnv6", V6, label)
    });

    // A connected row is read-only: notWritable, as a BGP row.
    let st = rte_oid(rte::STATUS, RED, "10.77.1.0", 24, None);
    d.set_err(&[&st, "i", rs::DESTROY], "notWritable", 1);
    d.set_err(
        &[&rte_oid(rte::METRIC1, RED, "10.77.1.0", 24, None), "i", "5"],
        "notWritable",
        1,
    );

    // The IPv4 address goes: withdrawn at GoBGP, row and kernel route gone;
    // the IPv6 route stays.
    net.exec("pe", &["ip", "addr", "del", "10.77.1.1/24", "dev", "ce0"]);
    poll("10.77.1.0/24 withdrawn at GoBGP", T, || {
        gobgp_lacks(&gb, "vpnv4", V4)
    });
    let v6_only = expected_rows(&[("2001:db8:77::", 64)], ce0);
    poll("IPv4 row gone", T, || {
        let got = rows(&d, RED);
        if got == v6_only {
            Ok(())
        } else {
            Err(format!("{got:#?}"))
        }
    });
    poll("IPv4 kernel route gone", T, || {
        let got = kernel(&net, table);
        if got.0 == [CATCH4] && got.1 == want_kernel.1 {
            Ok(())
        } else {
            Err(format!("{got:#?}"))
        }
    });
    gobgp_route(&gb, "vpnv6", V6, label).unwrap();
    d.expect(&perf_oid(perf::CURR_NUM_ROUTES, RED), &gauge(1));

    // Back, then the link loses its carrier (the CE end goes down; ce0
    // stays admin up and keeps its addresses): both withdrawn.
    net.exec("pe", &["ip", "addr", "add", "10.77.1.1/24", "dev", "ce0"]);
    poll("10.77.1.0/24 back at GoBGP", T, || {
        gobgp_route(&gb, "vpnv4", V4, label)
    });
    net.exec("ce", &["ip", "link", "set", "eth0", "down"]);
    poll("withdrawn at GoBGP on carrier loss", T, || {
        gobgp_lacks(&gb, "vpnv4", V4)?;
        gobgp_lacks(&gb, "vpnv6", V6)
    });
    poll("no rows while the link is down", T, || {
        let got = rows(&d, RED);
        if got.is_empty() {
            Ok(())
        } else {
            Err(format!("{got:#?}"))
        }
    });
    poll("kernel routes gone", T, || {
        let got = kernel(&net, table);
        if got == (vec![CATCH4.to_string()], vec![CATCH6.to_string()]) {
            Ok(())
        } else {
            Err(format!("{got:#?}"))
        }
    });
    d.expect(&perf_oid(perf::CURR_NUM_ROUTES, RED), &gauge(0));
    let addrs = net.exec("pe", &["ip", "-br", "addr", "show", "dev", "ce0"]);
    assert!(
        addrs.contains("10.77.1.1/24") && addrs.contains("2001:db8:77::1/64"),
        "ce0 kept its addresses: {addrs}"
    );

    // Carrier back: announced again, the same rows and kernel routes.
    net.exec("ce", &["ip", "link", "set", "eth0", "up"]);
    poll("announced again", T, || {
        gobgp_route(&gb, "vpnv4", V4, label)?;
        gobgp_route(&gb, "vpnv6", V6, label)
    });
    poll("rows again", T, || {
        let got = rows(&d, RED);
        if got == both {
            Ok(())
        } else {
            Err(format!("{got:#?}"))
        }
    });
    poll("kernel routes again", T, || {
        let got = kernel(&net, table);
        if got == want_kernel {
            Ok(())
        } else {
            Err(format!("{got:#?}"))
        }
    });

    // Per-prefix mode: each connected prefix holds a label of its own (no
    // route row asks for one), exported with it; the VRF label goes.
    d.set_ok(&[&ext::vrf_oid(ext::LABEL_MODE, RED), "i", ext::PER_PREFIX]);
    let gb_label = |family: &str, key: &str| -> Result<i64, String> {
        let p = gb
            .route(family, key)
            .ok_or_else(|| format!("{key} not in GoBGP {family}"))?;
        match p.path("nlri/labels") {
            Some(Json::Arr(v)) if v.len() == 1 => v[0].as_i64().ok_or(format!("{p}")),
            _ => Err(format!("labels of {p}")),
        }
    };
    poll("per-prefix labels at GoBGP", T, || {
        let (l4, l6) = (gb_label("vpnv4", V4)?, gb_label("vpnv6", V6)?);
        if l4 == label || l6 == label || l4 == l6 || l4 < 16 || l6 < 16 {
            return Err(format!("labels {l4} / {l6}, VRF label was {label}"));
        }
        check_vpn(&gb.route("vpnv4", V4).unwrap(), l4)?;
        check_vpn(&gb.route("vpnv6", V6).unwrap(), l6)
    });
    d.expect(&ext::vrf_oid(ext::LABEL, RED), &gauge(0));
    d.expect(&ext::scalar_oid(ext::LABELS_ALLOCATED), &gauge(2));
    // Back to per-VRF: the VRF's label again, the per-prefix ones released.
    d.set_ok(&[&ext::vrf_oid(ext::LABEL_MODE, RED), "i", ext::PER_VRF]);
    let label = d.num(&ext::vrf_oid(ext::LABEL, RED));
    poll("the VRF label again at GoBGP", T, || {
        gobgp_route(&gb, "vpnv4", V4, label)?;
        gobgp_route(&gb, "vpnv6", V6, label)
    });
    poll("per-prefix labels released", T, || {
        let n = d.num(&ext::scalar_oid(ext::LABELS_ALLOCATED));
        if n == 1 {
            Ok(())
        } else {
            Err(format!("l3vpndLabelsAllocated {n}"))
        }
    });

    // ce0 set down (admin): withdrawn.
    net.exec("pe", &["ip", "link", "set", "ce0", "down"]);
    poll("withdrawn at GoBGP on admin down", T, || {
        gobgp_lacks(&gb, "vpnv4", V4)?;
        gobgp_lacks(&gb, "vpnv6", V6)
    });
    poll("no rows after admin down", T, || {
        let got = rows(&d, RED);
        if got.is_empty() {
            Ok(())
        } else {
            Err(format!("{got:#?}"))
        }
    });
    drop(d);
    drop(gb);
}
