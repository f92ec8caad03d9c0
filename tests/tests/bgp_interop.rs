//! End-to-end BGP/MPLS IP VPN interop (issue 4): l3vpnd in a network
//! namespace of its own, configured over SNMP (MPLS-L3VPN-STD-MIB VRFs,
//! route targets and static routes; L3VPND-MIB BGP speaker and peers) or
//! by its configuration file, against real peers in other namespaces
//! joined by veth pairs: GoBGP and FRR bgpd as PE peers (iBGP and eBGP,
//! VPNv4 and VPNv6), FRR as a route reflector between two l3vpnd PEs with
//! GoBGP CEs in VRF red. Every value is checked twice: in the peer's own
//! CLI (`gobgp global rib -j`, `vtysh -c 'show bgp ... json'`) and in
//! l3vpnd's MIB (route table rows, peer state and counters); where it
//! matters, on the wire too (dumpcap/tshark, when installed).
//!
//! Deviations that do not stop a scenario are collected (`Findings`) and
//! listed together when the test fails, so one run reports all of them.

use l3vpnd_tests::bgp::scalar_oid;
use l3vpnd_tests::bgp::*;
use l3vpnd_tests::*;
use std::net::IpAddr;
use std::time::Duration;

/// The longest wait for anything BGP does here (sessions come up in 1-5 s).
const T: Duration = Duration::from_secs(20);
const RED: &str = "red";
const VPN: &[&str] = &["l3vpn-ipv4-unicast", "l3vpn-ipv6-unicast"];

/// Whether a peer daemon is installed. scripts/test installs them, so a
/// missing one fails the test (a skip would count as a pass).
fn have(bin: &str) -> bool {
    assert!(
        std::path::Path::new(bin).exists(),
        "{bin} is not installed (scripts/test installs gobgpd and frr)"
    );
    true
}

// ----- configuration texts ---------------------------------------------------

/// An l3vpnd configuration file: speaker `asn`/`rid`, listening on each of
/// `listen` (port 179), PE peers (address, remote AS, families).
fn pe_toml(asn: u32, rid: &str, listen: &[&str], peers: &[(&str, u32, &str)]) -> String {
    let listen: Vec<String> = listen
        .iter()
        .map(|a| match a.parse::<IpAddr>().unwrap() {
            IpAddr::V4(_) => format!("\"{a}:179\""),
            IpAddr::V6(_) => format!("\"[{a}]:179\""),
        })
        .collect();
    let mut s = format!(
        "[bgp]\nasn = {asn}\nrouter_id = \"{rid}\"\nlisten = [{}]\n",
        listen.join(", ")
    );
    for (addr, ras, fams) in peers {
        s.push_str(&format!(
            "[[bgp.peer]]\naddress = \"{addr}\"\nremote_as = {ras}\nfamilies = [{fams}]\n"
        ));
    }
    s
}

const V4V6: &str = "\"vpnv4\", \"vpnv6\"";

/// A gobgpd configuration: one neighbor per (address, AS, afi-safis), fast
/// reconnects; `extra` goes into every `[neighbors.config]`.
fn gobgp_toml(
    asn: u32,
    rid: &str,
    local: &str,
    peers: &[(&str, u32, &[&str])],
    extra: &str,
) -> String {
    let mut s = format!(
        "[global.config]\n  as = {asn}\n  router-id = \"{rid}\"\n  local-address-list = [\"{local}\"]\n"
    );
    for (addr, ras, fams) in peers {
        s.push_str(&format!(
            "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{addr}\"\n    peer-as = {ras}\n{extra}\n  [neighbors.timers.config]\n    connect-retry = 1\n    idle-hold-time-after-reset = 1\n"
        ));
        for f in fams.iter() {
            s.push_str(&format!(
                "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{f}\"\n"
            ));
        }
    }
    s
}

/// FRR bgpd as a PE: `asn`, router id, one neighbor (l3vpnd at `peer`, AS
/// `peer_as`), VPN routes originated with RT 65000:100 (`network` lines
/// under each address family, already complete).
fn frr_pe_conf(asn: u32, rid: &str, peer: &str, peer_as: u32, v4: &[&str], v6: &[&str]) -> String {
    let mut s = format!(
        "hostname frr-pe\nlog file RUNDIR/bgpd.log\n\
         route-map RT permit 10\n set extcommunity rt 65000:100\nexit\n\
         router bgp {asn}\n bgp router-id {rid}\n no bgp default ipv4-unicast\n\
         no bgp ebgp-requires-policy\n no bgp network import-check\n\
         neighbor {peer} remote-as {peer_as}\n neighbor {peer} timers connect 1\n"
    );
    for (afi, nets) in [("ipv4", v4), ("ipv6", v6)] {
        s.push_str(&format!(
            " address-family {afi} vpn\n  neighbor {peer} activate\n"
        ));
        for n in nets.iter() {
            s.push_str(&format!("  {n}\n"));
        }
        s.push_str(" exit-address-family\n");
    }
    s
}

// ----- l3vpnd over SNMP ------------------------------------------------------

/// The varbinds of a blackhole static route `dest/pfx` in `vrf`
/// (createAndGo).
fn static_route(vrf: &str, dest: &str, pfx: u32) -> Vec<String> {
    vec![
        rte_oid(rte::TYPE, vrf, dest, pfx, None),
        "i".into(),
        rte::BLACKHOLE.into(),
        rte_oid(rte::STATUS, vrf, dest, pfx, None),
        "i".into(),
        rs::CREATE_AND_GO.into(),
    ]
}

fn destroy_static(d: &Daemon, vrf: &str, dest: &str, pfx: u32) {
    d.set_ok(&[
        &rte_oid(rte::STATUS, vrf, dest, pfx, None),
        "i",
        rs::DESTROY,
    ]);
}

fn rt_row(vrf: &str, index: u32, typ: u32, rt_value: &str) -> Vec<String> {
    vec![
        rt_oid(rt::RT, vrf, index, typ),
        "s".into(),
        rt_value.into(),
        rt_oid(rt::ROW_STATUS, vrf, index, typ),
        "i".into(),
        rs::CREATE_AND_GO.into(),
    ]
}

/// VRF `vrf` with route distinguisher `rd`, RT rows (index, type, value)
/// and blackhole static routes, in one SET; returns the VRF's label.
fn create_vrf_with(
    d: &Daemon,
    vrf: &str,
    rd: &str,
    rts: &[(u32, u32, &str)],
    statics: &[(&str, u32)],
) -> i64 {
    let mut vbs: Vec<String> = vec![
        vrf_oid(vrf::RD, vrf),
        "s".into(),
        rd.into(),
        vrf_oid(vrf::ROW_STATUS, vrf),
        "i".into(),
        rs::CREATE_AND_GO.into(),
    ];
    for (i, t, v) in rts {
        vbs.extend(rt_row(vrf, *i, *t, v));
    }
    for (dest, pfx) in statics {
        vbs.extend(static_route(vrf, dest, *pfx));
    }
    d.set_ok(&strs(&vbs));
    let label = d.num(&ext::vrf_oid(ext::LABEL, vrf));
    assert!(label >= 16, "VRF {vrf} has no label: {label}");
    label
}

/// A GET rendered as "-Ox" (hex for every octet string).
fn get_hex(d: &Daemon, oid: &str) -> String {
    let out = d.snmp("snmpget", &["-v2c", "-c", "public", "-On", "-Ox"], &[oid]);
    assert!(out.ok(), "{}", out.describe());
    out.stdout[0]
        .split_once(" = ")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

fn fsm(d: &Daemon, vrf: &str, addr: &str) -> i64 {
    d.num(&peer_oid(FSM_STATE, vrf, addr))
}

fn peer_num(d: &Daemon, vrf: &str, addr: &str, col: u32) -> i64 {
    d.num(&peer_oid(col, vrf, addr))
}

#[track_caller]
fn wait_established(d: &Daemon, vrf: &str, addr: &str) {
    poll(
        &format!("l3vpnd peer {vrf:?} {addr} established(6)"),
        T,
        || {
            let s = fsm(d, vrf, addr);
            if s == ESTABLISHED {
                Ok(())
            } else {
                Err(format!(
                    "FsmState {s}, last error {}/{}",
                    peer_num(d, vrf, addr, LAST_ERROR_CODE),
                    peer_num(d, vrf, addr, LAST_ERROR_SUBCODE)
                ))
            }
        },
    );
}

/// The rows of `vrf`'s route table, as "index-suffix = proto" lines.
fn vrf_routes(d: &Daemon, vrf: &str) -> Vec<String> {
    let root = format!("{RTE_ENTRY}.{}.{}", rte::PROTO, name_index(vrf));
    d.walk(&root)
        .into_iter()
        .map(|(o, v)| {
            format!(
                "{} = {v}",
                o.trim_start_matches('.').trim_start_matches(&root)
            )
        })
        .collect()
}

/// The route-table index part "type.len.addr.pfx." of destination `dest/pfx`.
fn dest_part(dest: &str, pfx: u32) -> String {
    let (t, a) = inet_index(dest);
    format!(".{t}.{a}.{pfx}.")
}

/// The BGP route `dest/pfx` via `nh` is in `vrf`'s route table: a
/// read-only row with proto bgp(14), type remote(4), status active(1).
fn bgp_route(d: &Daemon, vrf: &str, dest: &str, pfx: u32, nh: &str) -> Result<(), String> {
    let proto = d.val(&bgp_rte_oid(rte::PROTO, vrf, dest, pfx, Some(nh)));
    if proto != integer(PROTO_BGP) {
        return Err(format!(
            "{dest}/{pfx} via {nh}: proto {proto}; VRF {vrf} rows:\n{}",
            vrf_routes(d, vrf).join("\n")
        ));
    }
    d.expect(
        &bgp_rte_oid(rte::TYPE, vrf, dest, pfx, Some(nh)),
        &integer(rte::REMOTE.parse().unwrap()),
    );
    d.expect(
        &bgp_rte_oid(rte::STATUS, vrf, dest, pfx, Some(nh)),
        &integer(1),
    );
    Ok(())
}

/// The BGP rows (proto bgp(14)) for destination `dest/pfx` in `vrf`, any
/// next hop; Err if there is none.
fn bgp_dest(d: &Daemon, vrf: &str, dest: &str, pfx: u32) -> Result<Vec<String>, String> {
    let rows = vrf_routes(d, vrf);
    let part = dest_part(dest, pfx);
    let hits: Vec<String> = rows
        .iter()
        .filter(|r| r.starts_with(&part) && r.ends_with(&integer(PROTO_BGP)))
        .cloned()
        .collect();
    if hits.is_empty() {
        Err(format!(
            "no BGP row for {dest}/{pfx} in {vrf}:\n{}",
            rows.join("\n")
        ))
    } else {
        Ok(hits)
    }
}

/// No row at all for destination `dest/pfx` in `vrf`.
fn no_route(d: &Daemon, vrf: &str, dest: &str, pfx: u32) -> Result<(), String> {
    let rows = vrf_routes(d, vrf);
    let part = dest_part(dest, pfx);
    if rows.iter().any(|r| r.starts_with(&part)) {
        Err(format!(
            "{dest}/{pfx} still in VRF {vrf}:\n{}",
            rows.join("\n")
        ))
    } else {
        Ok(())
    }
}

fn curr_routes(d: &Daemon, vrf: &str) -> i64 {
    d.num(&perf_oid(perf::CURR_NUM_ROUTES, vrf))
}

/// Checks that need not stop a test: each deviation is printed at once and
/// collected, and `finish` fails the test listing all of them, so that one
/// run reports every deviation of a scenario.
struct Findings(Vec<String>);

impl Findings {
    fn new() -> Findings {
        Findings(Vec::new())
    }

    fn check(&mut self, what: &str, r: Result<(), String>) {
        if let Err(e) = r {
            eprintln!("DEVIATION: {what}: {e}");
            self.0.push(format!("{what}: {e}"));
        }
    }

    fn eq<V: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: V, want: V) {
        let r = if got == want {
            Ok(())
        } else {
            Err(format!("got {got:?}, want {want:?}"))
        };
        self.check(what, r);
    }

    /// GET `oid` is exactly `value`.
    fn expect(&mut self, d: &Daemon, oid: &str, value: &str) {
        let got = d.val(oid);
        self.eq(&format!("GET {oid}"), got.as_str(), value);
    }

    /// Poll like `poll`, but a timeout is a finding, not a panic.
    fn within<V>(
        &mut self,
        what: &str,
        max: Duration,
        mut f: impl FnMut() -> Result<V, String>,
    ) -> Option<V> {
        let start = std::time::Instant::now();
        loop {
            match f() {
                Ok(v) => return Some(v),
                Err(e) if start.elapsed() > max => {
                    self.check(&format!("{what} (within {max:?})"), Err(e));
                    return None;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} deviation(s):\n- {}",
            self.0.len(),
            self.0.join("\n- ")
        );
    }
}

/// The peer's counters `cols` reach `want` (they are refreshed every second).
fn counters(d: &Daemon, vrf: &str, addr: &str, cols: &[u32], want: &[i64]) -> Result<(), String> {
    let got: Vec<i64> = cols.iter().map(|c| peer_num(d, vrf, addr, *c)).collect();
    if got == want {
        Ok(())
    } else {
        Err(format!("columns {cols:?}: {got:?}, want {want:?}"))
    }
}

// ----- what the peers show ---------------------------------------------------

/// GoBGP's best path for `key` in `family`, or Err with the whole RIB.
fn gobgp_has(gb: &GoBgp, family: &str, key: &str) -> Result<Json, String> {
    gb.route(family, key)
        .ok_or_else(|| format!("{key} not in GoBGP {family} RIB: {}", gb.rib(family)))
}

fn gobgp_lacks(gb: &GoBgp, family: &str, key: &str) -> Result<(), String> {
    match gb.route(family, key) {
        None => Ok(()),
        Some(p) => Err(format!("{key} still in GoBGP {family}: {p}")),
    }
}

/// A VPN route sent by l3vpnd as GoBGP shows it: RD type 0 `rd_as:rd_n`,
/// exactly `label`, exactly the route targets `rts`, next hop `nh` (an
/// IPv4-mapped next hop shows as IPv4), LOCAL_PREF 100, empty AS_PATH,
/// ORIGIN incomplete (a static route).
#[track_caller]
fn check_gobgp_vpn(p: &Json, rd: (i64, i64), label: i64, rts: &[&str], nh: &str) {
    let ctx = format!("GoBGP path {p}");
    assert_eq!(
        p.path("nlri/labels"),
        Some(&Json::Arr(vec![Json::Num(label as f64)])),
        "label; {ctx}"
    );
    assert_eq!(
        p.path("nlri/rd/type").and_then(Json::as_i64),
        Some(0),
        "RD type; {ctx}"
    );
    assert_eq!(
        p.path("nlri/rd/admin").and_then(Json::as_i64),
        Some(rd.0),
        "RD admin; {ctx}"
    );
    assert_eq!(
        p.path("nlri/rd/assigned").and_then(Json::as_i64),
        Some(rd.1),
        "RD number; {ctx}"
    );
    assert_eq!(gobgp_rts(p), rts, "route targets; {ctx}");
    let got = gobgp_next_hop(p).unwrap_or_default();
    let mapped = format!("::ffff:{nh}");
    assert!(
        got == nh || got == mapped,
        "next hop {got}, want {nh}; {ctx}"
    );
    assert_eq!(
        gobgp_attr(p, 5)
            .and_then(|a| a.get("value"))
            .and_then(Json::as_i64),
        Some(100),
        "LOCAL_PREF; {ctx}"
    );
    assert_eq!(gobgp_as_path(p), Vec::<i64>::new(), "AS_PATH; {ctx}");
    assert_eq!(
        gobgp_attr(p, 1)
            .and_then(|a| a.get("value"))
            .and_then(Json::as_i64),
        Some(2),
        "ORIGIN incomplete; {ctx}"
    );
}

fn frr_has(frr: &Frr, afi: &str, rd: &str, prefix: &str) -> Result<Json, String> {
    frr.vpn_path(afi, rd, prefix).ok_or_else(|| {
        format!(
            "{rd}:{prefix} not in FRR:\n{}",
            frr.vtysh(&[&format!("show bgp {afi} vpn")])
        )
    })
}

fn frr_lacks(frr: &Frr, afi: &str, rd: &str, prefix: &str) -> Result<(), String> {
    match frr.vpn_path(afi, rd, prefix) {
        None => Ok(()),
        Some(p) => Err(format!("{rd}:{prefix} still in FRR: {p}")),
    }
}

fn frr_next_hop(p: &Json) -> String {
    p.path("nexthops/0/ip")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string()
}

/// FRR's view of a VPN route from l3vpnd: label, RT, next hop, path type.
#[track_caller]
fn check_frr_vpn(p: &Json, label: i64, rt_str: &str, nh: &str, aspath: &str, peer_type: &str) {
    let ctx = format!("FRR path {p}");
    assert_eq!(
        p.get("remoteLabel").and_then(Json::as_i64),
        Some(label),
        "label; {ctx}"
    );
    assert_eq!(
        p.path("extendedCommunity/string").and_then(Json::as_str),
        Some(rt_str),
        "RT; {ctx}"
    );
    let got: IpAddr = frr_next_hop(p)
        .parse()
        .unwrap_or_else(|_| panic!("next hop; {ctx}"));
    assert_eq!(got, nh.parse::<IpAddr>().unwrap(), "next hop; {ctx}");
    assert_eq!(
        p.path("aspath/string").and_then(Json::as_str),
        Some(aspath),
        "AS path; {ctx}"
    );
    assert_eq!(
        p.path("peer/type").and_then(Json::as_str),
        Some(peer_type),
        "peer type; {ctx}"
    );
    assert_eq!(
        p.get("origin").and_then(Json::as_str),
        Some("incomplete"),
        "origin; {ctx}"
    );
    assert_eq!(
        p.path("valid").and_then(Json::as_bool),
        Some(true),
        "valid; {ctx}"
    );
}

/// dumpcap on one interface of a namespace (BGP only), when Wireshark's
/// tools are installed; read back with tshark.
struct Capture {
    proc: Proc,
    file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Capture {
    fn start(ns: &str, dev: &str) -> Option<Capture> {
        if !std::path::Path::new("/usr/bin/dumpcap").exists()
            || !std::path::Path::new("/usr/bin/tshark").exists()
        {
            eprintln!("note: dumpcap/tshark not installed: the wire check is skipped");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bgp.pcapng");
        let proc = Proc::spawn(
            "dumpcap",
            ns,
            &[
                "dumpcap",
                "-q",
                "-i",
                dev,
                "-f",
                "tcp port 179",
                "-w",
                file.to_str().unwrap(),
            ],
            &dir.path().join("dumpcap.log"),
        );
        let log = dir.path().join("dumpcap.log");
        poll("dumpcap capturing", Duration::from_secs(10), || {
            let text = read_file(&log);
            if text.contains("Capturing on") {
                Ok(())
            } else {
                Err(text)
            }
        });
        Some(Capture {
            proc,
            file,
            _dir: dir,
        })
    }

    /// Stop capturing; `tshark -r FILE ARGS` output lines.
    fn stop_and_read(&mut self, args: &[&str]) -> Vec<String> {
        self.proc.stop();
        let mut argv = vec!["tshark", "-r", self.file.to_str().unwrap()];
        argv.extend_from_slice(args);
        let (ok, out, err) = run_cmd(&argv);
        assert!(ok, "tshark: {err}");
        out.lines().map(str::to_string).collect()
    }
}

// =============================================================================
// 1. GoBGP, iBGP, VPNv4 + VPNv6
// =============================================================================

/// pe (l3vpnd, 10.99.0.1) <-> gb (GoBGP, 10.99.0.2), iBGP AS 65000, peer
/// from the configuration file.
fn gobgp_pair(net: &mut Netns) -> (GoBgp, Daemon) {
    let pe = net.add("pe");
    let gbns = net.add("gb");
    net.link("pe", "eth0", "10.99.0.1/30", "gb", "eth0", "10.99.0.2/30");
    net.exec(
        "pe",
        &[
            "ip",
            "-6",
            "addr",
            "add",
            "2001:db8:99::1/64",
            "dev",
            "eth0",
        ],
    );
    net.exec(
        "gb",
        &[
            "ip",
            "-6",
            "addr",
            "add",
            "2001:db8:99::2/64",
            "dev",
            "eth0",
        ],
    );
    let gb = GoBgp::start(
        &gbns,
        &gobgp_toml(
            65000,
            "10.99.0.2",
            "10.99.0.2",
            &[("10.99.0.1", 65000, VPN)],
            "",
        ),
    );
    let d = Daemon::in_existing_netns(
        &pe,
        &pe_toml(
            65000,
            "10.99.0.1",
            &["10.99.0.1"],
            &[("10.99.0.2", 65000, V4V6)],
        ),
        &[],
    );
    (gb, d)
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn gobgp_ibgp_vpnv4_vpnv6_both_ways_refresh_restart_rt_change() {
    if !have(GOBGPD) {
        return;
    }
    let mut f = Findings::new();
    let mut net = Netns::new("b4g");
    let (mut gb, d) = gobgp_pair(&mut net);
    wait_established(&d, "", "10.99.0.2");
    poll("GoBGP established", T, || {
        if gb.established("10.99.0.1") {
            Ok(())
        } else {
            Err(gb.neighbor("10.99.0.1"))
        }
    });

    // The configuration-file peer as the MIBs show it.
    f.expect(&d, &scalar_oid(LOCAL_AS), &gauge(65000));
    f.expect(&d, &scalar_oid(ROUTER_ID), "IpAddress: 10.99.0.1");
    f.expect(&d, &scalar_oid(LISTEN_ADDRESS_TYPE), &integer(1));
    f.expect(&d, &scalar_oid(LISTEN_PORT), &gauge(179));
    f.eq(
        "ListenAddress",
        get_hex(&d, &scalar_oid(LISTEN_ADDRESS)).as_str(),
        "Hex-STRING: 0A 63 00 01",
    );
    f.expect(&d, &peer_oid(REMOTE_AS, "", "10.99.0.2"), &gauge(65000));
    f.eq(
        "Families",
        get_hex(&d, &peer_oid(FAMILIES, "", "10.99.0.2")).as_str(),
        "Hex-STRING: 30",
    );
    f.expect(&d, &peer_oid(ROW_STATUS, "", "10.99.0.2"), &integer(1));
    f.expect(&d, &peer_oid(STORAGE_TYPE, "", "10.99.0.2"), &integer(4));
    f.expect(&d, &peer_oid(ADMIN_STATUS, "", "10.99.0.2"), &integer(1));
    f.expect(&d, &peer_oid(MD5_PASSWORD, "", "10.99.0.2"), EMPTY);
    f.expect(&d, BGP4_LOCAL_AS, &integer(65000));
    f.expect(&d, BGP4_IDENTIFIER, "IpAddress: 10.99.0.1");
    f.expect(&d, &bgp4_peer_oid(2, "10.99.0.2"), &integer(ESTABLISHED));
    f.expect(&d, &bgp4_peer_oid(7, "10.99.0.2"), "IpAddress: 10.99.0.2");
    f.expect(&d, &bgp4_peer_oid(9, "10.99.0.2"), &integer(65000));

    // A route GoBGP sends with an RT that no VRF imports (yet).
    gb.cli(
        "global rib add -a vpnv4 10.3.0.0/24 label 11 rd 65000:3 rt 65000:200 nexthop 10.99.0.2",
    );

    // l3vpnd -> GoBGP: VRF red, RD 65000:1, RT 65000:100 both ways, one
    // IPv4 and one IPv6 static route.
    let label = create_vrf_with(
        &d,
        RED,
        "65000:1",
        &[(1, rt::BOTH, "65000:100")],
        &[("10.1.0.0", 16), ("2001:db8:1::", 48)],
    );
    let p = poll("65000:1:10.1.0.0/16 in GoBGP", T, || {
        gobgp_has(&gb, "vpnv4", "65000:1:10.1.0.0/16")
    });
    check_gobgp_vpn(&p, (65000, 1), label, &["65000:100"], "10.99.0.1");
    let p = poll("65000:1:2001:db8:1::/48 in GoBGP", T, || {
        gobgp_has(&gb, "vpnv6", "65000:1:2001:db8:1::/48")
    });
    check_gobgp_vpn(&p, (65000, 1), label, &["65000:100"], "10.99.0.1");
    let added0 = d.num(&perf_oid(perf::ROUTES_ADDED, RED));
    let deleted0 = d.num(&perf_oid(perf::ROUTES_DELETED, RED));

    // GoBGP -> l3vpnd: VPNv4 and VPNv6 (global IPv6 next hop) into red.
    gb.cli(
        "global rib add -a vpnv4 10.2.0.0/24 label 10 rd 65000:2 rt 65000:100 nexthop 10.99.0.2",
    );
    gb.cli("global rib add -a vpnv6 2001:db8:2::/48 label 20 rd 65000:2 rt 65000:100 nexthop 2001:db8:99::2");
    poll("10.2.0.0/24 in red", T, || {
        bgp_route(&d, RED, "10.2.0.0", 24, "10.99.0.2")
    });
    poll("2001:db8:2::/48 in red", T, || {
        bgp_route(&d, RED, "2001:db8:2::", 48, "2001:db8:99::2")
    });
    no_route(&d, RED, "10.3.0.0", 24).unwrap();
    assert_eq!(curr_routes(&d, RED), 4, "{:#?}", vrf_routes(&d, RED));
    // RFC 4382 mplsL3VpnVrfPerfRoutesAdded: routes added to the VRF, the
    // imported ones too.
    f.eq(
        "PerfRoutesAdded after 2 imports",
        d.num(&perf_oid(perf::ROUTES_ADDED, RED)),
        added0 + 2,
    );
    let fams = [
        RCVD_VPNV4,
        RCVD_VPNV6,
        ACC_VPNV4,
        ACC_VPNV6,
        RCVD_IPV4_UNICAST,
        RCVD_IPV6_UNICAST,
    ];
    // The route with RT 65000:200 is received and accepted too (it is
    // kept for a later import-RT change).
    f.within("Rcvd/Acc per family", Duration::from_secs(3), || {
        counters(&d, "", "10.99.0.2", &fams, &[2, 1, 2, 1, 0, 0])
    });
    // A BGP row is read-only.
    let rs_oid = bgp_rte_oid(rte::STATUS, RED, "10.2.0.0", 24, Some("10.99.0.2"));
    let out = d.set(&[&rs_oid, "i", rs::DESTROY]);
    f.check(
        "destroying a BGP row fails",
        if !out.ok() && !out.timed_out() {
            Ok(())
        } else {
            Err(out.describe())
        },
    );
    bgp_route(&d, RED, "10.2.0.0", 24, "10.99.0.2").unwrap();

    // Route refresh. softresetout: GoBGP sends its Adj-RIB-Out again; the
    // duplicates change nothing. softresetin: GoBGP re-applies its policy.
    let in0 = peer_num(&d, "", "10.99.0.2", IN_MESSAGES);
    gb.cli("neighbor 10.99.0.1 softresetout -a vpnv4");
    gb.cli("neighbor 10.99.0.1 softresetout -a vpnv6");
    poll("UPDATEs after softresetout", T, || {
        let n = peer_num(&d, "", "10.99.0.2", IN_MESSAGES);
        if n >= in0 + 2 {
            Ok(())
        } else {
            Err(format!("InMessages {in0} -> {n}"))
        }
    });
    gb.cli("neighbor 10.99.0.1 softresetin -a vpnv4");
    std::thread::sleep(Duration::from_millis(1500));
    bgp_route(&d, RED, "10.2.0.0", 24, "10.99.0.2").unwrap();
    bgp_route(&d, RED, "2001:db8:2::", 48, "2001:db8:99::2").unwrap();
    f.check(
        "counters after route refresh",
        counters(&d, "", "10.99.0.2", &fams, &[2, 1, 2, 1, 0, 0]),
    );
    assert_eq!(curr_routes(&d, RED), 4);
    let p = gobgp_has(&gb, "vpnv4", "65000:1:10.1.0.0/16").unwrap();
    check_gobgp_vpn(&p, (65000, 1), label, &["65000:100"], "10.99.0.1");
    d.expect(&peer_oid(FSM_STATE, "", "10.99.0.2"), &integer(ESTABLISHED));

    // GoBGP restarts: the session drops (GoBGP offers no graceful restart,
    // so its routes leave the VRF), comes back, routes are learned again.
    gb.stop();
    poll("FsmState leaves established", T, || {
        let s = fsm(&d, "", "10.99.0.2");
        if s != ESTABLISHED {
            Ok(())
        } else {
            Err(format!("FsmState {s}"))
        }
    });
    poll("GoBGP's routes leave red", T, || {
        no_route(&d, RED, "10.2.0.0", 24)?;
        no_route(&d, RED, "2001:db8:2::", 48)
    });
    assert_eq!(curr_routes(&d, RED), 2);
    f.eq(
        "PerfRoutesDeleted after the session drop",
        d.num(&perf_oid(perf::ROUTES_DELETED, RED)),
        deleted0 + 2,
    );
    f.within(
        "nothing received while down",
        Duration::from_secs(3),
        || counters(&d, "", "10.99.0.2", &fams, &[0, 0, 0, 0, 0, 0]),
    );
    gb.launch();
    wait_established(&d, "", "10.99.0.2");
    f.expect(&d, &bgp4_peer_oid(2, "10.99.0.2"), &integer(ESTABLISHED));
    let p = poll("10.1.0.0/16 re-learned by GoBGP", T, || {
        gobgp_has(&gb, "vpnv4", "65000:1:10.1.0.0/16")
    });
    check_gobgp_vpn(&p, (65000, 1), label, &["65000:100"], "10.99.0.1");
    let p = poll("2001:db8:1::/48 re-learned by GoBGP", T, || {
        gobgp_has(&gb, "vpnv6", "65000:1:2001:db8:1::/48")
    });
    check_gobgp_vpn(&p, (65000, 1), label, &["65000:100"], "10.99.0.1");
    gb.cli(
        "global rib add -a vpnv4 10.2.0.0/24 label 10 rd 65000:2 rt 65000:100 nexthop 10.99.0.2",
    );
    gb.cli("global rib add -a vpnv6 2001:db8:2::/48 label 20 rd 65000:2 rt 65000:100 nexthop 2001:db8:99::2");
    gb.cli(
        "global rib add -a vpnv4 10.3.0.0/24 label 11 rd 65000:3 rt 65000:200 nexthop 10.99.0.2",
    );
    poll("10.2.0.0/24 back in red", T, || {
        bgp_route(&d, RED, "10.2.0.0", 24, "10.99.0.2")
    });
    poll("2001:db8:2::/48 back in red", T, || {
        bgp_route(&d, RED, "2001:db8:2::", 48, "2001:db8:99::2")
    });

    // Withdrawals, both ways.
    gb.cli(
        "global rib del -a vpnv4 10.2.0.0/24 label 10 rd 65000:2 rt 65000:100 nexthop 10.99.0.2",
    );
    poll("10.2.0.0/24 withdrawn", T, || {
        no_route(&d, RED, "10.2.0.0", 24)
    });
    gb.cli("global rib del -a vpnv6 2001:db8:2::/48 label 20 rd 65000:2 rt 65000:100 nexthop 2001:db8:99::2");
    poll("2001:db8:2::/48 withdrawn", T, || {
        no_route(&d, RED, "2001:db8:2::", 48)
    });
    assert_eq!(curr_routes(&d, RED), 2);
    f.within(
        "Rcvd/Acc after the withdrawals",
        Duration::from_secs(3),
        || counters(&d, "", "10.99.0.2", &fams, &[1, 0, 1, 0, 0, 0]),
    );
    destroy_static(&d, RED, "10.1.0.0", 16);
    poll("65000:1:10.1.0.0/16 withdrawn from GoBGP", T, || {
        gobgp_lacks(&gb, "vpnv4", "65000:1:10.1.0.0/16")
    });
    destroy_static(&d, RED, "2001:db8:1::", 48);
    poll("65000:1:2001:db8:1::/48 withdrawn from GoBGP", T, || {
        gobgp_lacks(&gb, "vpnv6", "65000:1:2001:db8:1::/48")
    });

    // An RT change moves routes: red imports 65000:200 instead of
    // 65000:100 (the both(3) row goes), and exports 65000:300.
    d.set_ok(&strs(&static_route(RED, "10.1.0.0", 16)));
    gb.cli(
        "global rib add -a vpnv4 10.2.0.0/24 label 10 rd 65000:2 rt 65000:100 nexthop 10.99.0.2",
    );
    poll("10.2.0.0/24 in red", T, || {
        bgp_route(&d, RED, "10.2.0.0", 24, "10.99.0.2")
    });
    let p = poll("10.1.0.0/16 again in GoBGP", T, || {
        gobgp_has(&gb, "vpnv4", "65000:1:10.1.0.0/16")
    });
    check_gobgp_vpn(&p, (65000, 1), label, &["65000:100"], "10.99.0.1");
    let mut vbs = vec![
        rt_oid(rt::ROW_STATUS, RED, 1, rt::BOTH),
        "i".into(),
        rs::DESTROY.into(),
    ];
    vbs.extend(rt_row(RED, 2, rt::IMPORT, "65000:200"));
    vbs.extend(rt_row(RED, 3, rt::EXPORT, "65000:300"));
    d.set_ok(&strs(&vbs));
    poll("10.3.0.0/24 (RT 65000:200) enters red", T, || {
        bgp_route(&d, RED, "10.3.0.0", 24, "10.99.0.2")
    });
    poll("10.2.0.0/24 (RT 65000:100) leaves red", T, || {
        no_route(&d, RED, "10.2.0.0", 24)
    });
    poll("10.1.0.0/16 exported with RT 65000:300 only", T, || {
        let p = gobgp_has(&gb, "vpnv4", "65000:1:10.1.0.0/16")?;
        if gobgp_rts(&p) == ["65000:300"] {
            Ok(())
        } else {
            Err(format!("{p}"))
        }
    });
    let p = gobgp_has(&gb, "vpnv4", "65000:1:10.1.0.0/16").unwrap();
    check_gobgp_vpn(&p, (65000, 1), label, &["65000:300"], "10.99.0.1");
    assert_eq!(curr_routes(&d, RED), 2, "{:#?}", vrf_routes(&d, RED));
    f.finish();
}

/// RFC 4659 section 3.2.1.1: a PE reachable over IPv4 advertises VPN-IPv6
/// routes with the IPv4-mapped IPv6 address of its IPv4 address as next
/// hop (FRR and l3vpnd itself do so). Such a route must be usable: a row
/// with that next hop and a FIB that holds it.
#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn gobgp_vpnv6_route_with_ipv4_mapped_next_hop() {
    if !have(GOBGPD) {
        return;
    }
    let mut net = Netns::new("b4m");
    let (gb, d) = gobgp_pair(&mut net);
    wait_established(&d, "", "10.99.0.2");
    create_vrf_with(&d, RED, "65000:1", &[(1, rt::BOTH, "65000:100")], &[]);
    gb.cli("global rib add -a vpnv6 2001:db8:3::/48 label 21 rd 65000:2 rt 65000:100 nexthop ::ffff:10.99.0.2");
    poll(
        "2001:db8:3::/48 in red via 10.99.0.2 or ::ffff:10.99.0.2",
        T,
        || {
            bgp_route(&d, RED, "2001:db8:3::", 48, "10.99.0.2")
                .or_else(|_| bgp_route(&d, RED, "2001:db8:3::", 48, "::ffff:10.99.0.2"))
        },
    );
    poll(
        "l3vpndVrfFibStatus installed(2)",
        Duration::from_secs(5),
        || {
            let s = d.num(&ext::vrf_oid(ext::FIB_STATUS, RED));
            if s == ext::FIB_INSTALLED {
                Ok(())
            } else {
                Err(format!(
                    "status {s}: {}",
                    d.val(&ext::vrf_oid(ext::FIB_REASON, RED))
                ))
            }
        },
    );
}

// =============================================================================
// 2. FRR bgpd, iBGP and eBGP
// =============================================================================

/// pe (l3vpnd 10.99.0.1) <-> frr (FRR bgpd 10.99.0.2).
fn frr_pair(
    net: &mut Netns,
    frr_as: u32,
    v4: &[&str],
    v6: &[&str],
    extra: &[&str],
) -> (Frr, Daemon) {
    let pe = net.add("pe");
    let frns = net.add("frr");
    net.link("pe", "eth0", "10.99.0.1/30", "frr", "eth0", "10.99.0.2/30");
    let frr = Frr::start(
        &frns,
        &frr_pe_conf(frr_as, "10.99.0.2", "10.99.0.1", 65000, v4, v6),
    );
    let d = Daemon::in_existing_netns(
        &pe,
        &pe_toml(
            65000,
            "10.99.0.1",
            &["10.99.0.1"],
            &[("10.99.0.2", frr_as, V4V6)],
        ),
        extra,
    );
    (frr, d)
}

#[track_caller]
fn wait_frr_established(frr: &Frr, addr: &str) {
    poll(&format!("FRR session with {addr} Established"), T, || {
        let s = frr.neighbor_state(addr);
        if s == "Established" {
            Ok(())
        } else {
            Err(format!("bgpState {s:?}"))
        }
    });
}

fn frr_stat(frr: &Frr, addr: &str, key: &str) -> i64 {
    let v = frr.json(&format!("show bgp neighbors {addr} json"));
    v.get(addr)
        .and_then(|n| n.get("messageStats"))
        .and_then(|m| m.get(key))
        .and_then(Json::as_i64)
        .unwrap_or_else(|| panic!("no messageStats/{key} in {v}"))
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn frr_ibgp_vpnv4_vpnv6_both_ways_route_refresh_withdraw() {
    if !have(FRR_BGPD) {
        return;
    }
    let mut f = Findings::new();
    let mut net = Netns::new("b4f");
    let (frr, d) = frr_pair(
        &mut net,
        65000,
        &["network 10.5.0.0/24 rd 65000:5 label 105 route-map RT"],
        &["network 2001:db8:5::/48 rd 65000:5 label 106 route-map RT"],
        &[],
    );
    wait_established(&d, "", "10.99.0.2");
    wait_frr_established(&frr, "10.99.0.1");
    let label = create_vrf_with(
        &d,
        RED,
        "65000:1",
        &[(1, rt::BOTH, "65000:100")],
        &[("10.1.0.0", 16), ("2001:db8:1::", 48)],
    );

    // l3vpnd -> FRR.
    let p = poll("65000:1:10.1.0.0/16 in FRR", T, || {
        frr_has(&frr, "ipv4", "65000:1", "10.1.0.0/16")
    });
    check_frr_vpn(&p, label, "RT:65000:100", "10.99.0.1", "Local", "internal");
    assert_eq!(p.get("locPrf").and_then(Json::as_i64), Some(100), "{p}");
    let p = poll("65000:1:2001:db8:1::/48 in FRR", T, || {
        frr_has(&frr, "ipv6", "65000:1", "2001:db8:1::/48")
    });
    check_frr_vpn(
        &p,
        label,
        "RT:65000:100",
        "::ffff:10.99.0.1",
        "Local",
        "internal",
    );

    // FRR -> l3vpnd (VPNv4).
    poll("10.5.0.0/24 in red", T, || {
        bgp_route(&d, RED, "10.5.0.0", 24, "10.99.0.2")
    });
    f.within("Rcvd/AccVpnv4 1", Duration::from_secs(3), || {
        counters(&d, "", "10.99.0.2", &[RCVD_VPNV4, ACC_VPNV4], &[1, 1])
    });

    // ROUTE-REFRESH (RFC 2918) from FRR: l3vpnd sends its routes again.
    let rr0 = frr_stat(&frr, "10.99.0.1", "routeRefreshSent");
    let out0 = peer_num(&d, "", "10.99.0.2", OUT_MESSAGES);
    let upd0 = frr_stat(&frr, "10.99.0.1", "updatesRecv");
    let (ok, o, e) = frr.try_vtysh(&["clear bgp ipv4 vpn 10.99.0.1 soft in"]);
    assert!(ok, "{o}{e}");
    poll("l3vpnd answers the ROUTE-REFRESH with UPDATEs", T, || {
        let rr = frr_stat(&frr, "10.99.0.1", "routeRefreshSent");
        let upd = frr_stat(&frr, "10.99.0.1", "updatesRecv");
        let out = peer_num(&d, "", "10.99.0.2", OUT_MESSAGES);
        if rr > rr0 && upd > upd0 && out > out0 {
            Ok(())
        } else {
            Err(format!(
                "FRR refresh sent {rr0}->{rr}, FRR updates received {upd0}->{upd}, l3vpnd OutMessages {out0}->{out}"
            ))
        }
    });
    let p = frr_has(&frr, "ipv4", "65000:1", "10.1.0.0/16").unwrap();
    check_frr_vpn(&p, label, "RT:65000:100", "10.99.0.1", "Local", "internal");
    wait_frr_established(&frr, "10.99.0.1");
    d.expect(&peer_oid(FSM_STATE, "", "10.99.0.2"), &integer(ESTABLISHED));

    // Withdrawals both ways.
    frr.configure(&[
        "router bgp 65000",
        "address-family ipv4 vpn",
        "no network 10.5.0.0/24 rd 65000:5 label 105",
    ]);
    poll("10.5.0.0/24 withdrawn by FRR", T, || {
        no_route(&d, RED, "10.5.0.0", 24)
    });
    destroy_static(&d, RED, "10.1.0.0", 16);
    poll("65000:1:10.1.0.0/16 withdrawn from FRR", T, || {
        frr_lacks(&frr, "ipv4", "65000:1", "10.1.0.0/16")
    });
    destroy_static(&d, RED, "2001:db8:1::", 48);
    poll("65000:1:2001:db8:1::/48 withdrawn from FRR", T, || {
        frr_lacks(&frr, "ipv6", "65000:1", "2001:db8:1::/48")
    });

    // FRR -> l3vpnd (VPNv6 over the IPv4 session: next hop ::ffff:10.99.0.2).
    poll(
        "2001:db8:5::/48 in red via 10.99.0.2 (or ::ffff:10.99.0.2)",
        T,
        || {
            bgp_route(&d, RED, "2001:db8:5::", 48, "10.99.0.2")
                .or_else(|_| bgp_route(&d, RED, "2001:db8:5::", 48, "::ffff:10.99.0.2"))
        },
    );
    f.within("Rcvd/AccVpnv6 1", Duration::from_secs(3), || {
        counters(&d, "", "10.99.0.2", &[RCVD_VPNV6, ACC_VPNV6], &[1, 1])
    });
    f.finish();
}

/// VPNv6 over an IPv6 session: FRR sends a 48-octet next hop (RD + global
/// plus RD + link-local, RFC 4659 section 3.2.1.2 / RFC 2545); l3vpnd uses the
/// global address. l3vpnd's routes reach FRR with l3vpnd's IPv6 address.
#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn frr_ibgp_vpnv6_over_ipv6_session() {
    if !have(FRR_BGPD) {
        return;
    }
    let mut f = Findings::new();
    let mut net = Netns::new("b4s");
    let pe = net.add("pe");
    let frns = net.add("frr");
    net.link(
        "pe",
        "eth0",
        "2001:db8:99::1/64",
        "frr",
        "eth0",
        "2001:db8:99::2/64",
    );
    // The BGP messages on the link, to see FRR's next hop on the wire.
    let cap = Capture::start(&pe, "eth0");
    let frr = Frr::start_opts(
        &frns,
        &frr_pe_conf(
            65000,
            "10.99.0.2",
            "2001:db8:99::1",
            65000,
            &[],
            &["network 2001:db8:5::/48 rd 65000:5 label 106 route-map RT"],
        ),
        true,
    );
    let d = Daemon::in_existing_netns(
        &pe,
        &pe_toml(
            65000,
            "10.99.0.1",
            &["2001:db8:99::1"],
            &[("2001:db8:99::2", 65000, "\"vpnv6\"")],
        ),
        &[],
    );
    wait_established(&d, "", "2001:db8:99::2");
    wait_frr_established(&frr, "2001:db8:99::1");
    // bgpd learns the interfaces (and so its link-local address) from zebra
    // asynchronously; UPDATEs of a session that came up before that carry
    // no link-local next hop. One hard reset once it knows them.
    poll("FRR knows its link-local address", T, || {
        let v = frr.json("show bgp neighbors 2001:db8:99::1 json");
        match v.path("2001:db8:99::1/nexthopLocal").and_then(Json::as_str) {
            Some(ll) if ll.starts_with("fe80:") => Ok(()),
            _ => Err(format!("{v}")),
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let conns = || {
        frr.json("show bgp neighbors 2001:db8:99::1 json")
            .path("2001:db8:99::1/connectionsEstablished")
            .and_then(Json::as_i64)
            .unwrap_or(0)
    };
    let before = conns();
    frr.vtysh(&["clear bgp 2001:db8:99::1"]);
    poll("a new session after the reset", T, || match conns() {
        n if n > before => Ok(()),
        n => Err(format!("connectionsEstablished {before} -> {n}")),
    });
    wait_established(&d, "", "2001:db8:99::2");
    wait_frr_established(&frr, "2001:db8:99::1");
    let label = create_vrf_with(
        &d,
        RED,
        "65000:1",
        &[(1, rt::BOTH, "65000:100")],
        &[("2001:db8:1::", 48)],
    );
    let p = poll("65000:1:2001:db8:1::/48 in FRR", T, || {
        frr_has(&frr, "ipv6", "65000:1", "2001:db8:1::/48")
    });
    check_frr_vpn(
        &p,
        label,
        "RT:65000:100",
        "2001:db8:99::1",
        "Local",
        "internal",
    );
    poll("2001:db8:5::/48 in red via 2001:db8:99::2", T, || {
        bgp_route(&d, RED, "2001:db8:5::", 48, "2001:db8:99::2")
    });
    // FRR did send global + link-local (a 48-octet VPN-IPv6 next hop).
    if let Some(mut cap) = cap {
        // dumpcap writes what it has read when it stops; let it read.
        std::thread::sleep(Duration::from_millis(1500));
        let lines = cap.stop_and_read(&[
            "-Y",
            "bgp.update.path_attribute.mp_reach_nlri",
            "-T",
            "fields",
            "-e",
            "ipv6.src",
            "-e",
            "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6",
            "-e",
            "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local",
        ]);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("2001:db8:99::2\t2001:db8:99::2\tfe80:")),
            "no UPDATE from FRR with global and link-local next hop: {lines:?}"
        );
    }
    f.within("Rcvd/AccVpnv6 1", Duration::from_secs(3), || {
        counters(&d, "", "2001:db8:99::2", &[RCVD_VPNV6, ACC_VPNV6], &[1, 1])
    });
    f.finish();
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn frr_ebgp_vpnv4_both_ways() {
    if !have(FRR_BGPD) {
        return;
    }
    let mut f = Findings::new();
    let mut net = Netns::new("b4e");
    let (frr, d) = frr_pair(
        &mut net,
        65001,
        &["network 10.5.0.0/24 rd 65001:5 label 105 route-map RT"],
        &[],
        &[],
    );
    wait_established(&d, "", "10.99.0.2");
    wait_frr_established(&frr, "10.99.0.1");
    d.expect(&bgp4_peer_oid(9, "10.99.0.2"), &integer(65001));
    let label = create_vrf_with(
        &d,
        RED,
        "65000:1",
        &[(1, rt::BOTH, "65000:100")],
        &[("10.1.0.0", 16)],
    );

    // l3vpnd -> FRR: AS_PATH 65000, next hop self.
    let p = poll("65000:1:10.1.0.0/16 in FRR", T, || {
        frr_has(&frr, "ipv4", "65000:1", "10.1.0.0/16")
    });
    check_frr_vpn(&p, label, "RT:65000:100", "10.99.0.1", "65000", "external");

    // FRR -> l3vpnd.
    poll("10.5.0.0/24 in red", T, || {
        bgp_route(&d, RED, "10.5.0.0", 24, "10.99.0.2")
    });
    // RFC 4382 mplsL3VpnVrfRteInetCidrNextHopAS: the next hop's AS.
    f.expect(
        &d,
        &bgp_rte_oid(rte::NEXT_HOP_AS, RED, "10.5.0.0", 24, Some("10.99.0.2")),
        &gauge(65001),
    );
    f.within("Rcvd/AccVpnv4 1", Duration::from_secs(3), || {
        counters(&d, "", "10.99.0.2", &[RCVD_VPNV4, ACC_VPNV4], &[1, 1])
    });

    // Withdrawals both ways.
    frr.configure(&[
        "router bgp 65001",
        "address-family ipv4 vpn",
        "no network 10.5.0.0/24 rd 65001:5 label 105",
    ]);
    poll("10.5.0.0/24 withdrawn", T, || {
        no_route(&d, RED, "10.5.0.0", 24)
    });
    destroy_static(&d, RED, "10.1.0.0", 16);
    poll("65000:1:10.1.0.0/16 withdrawn from FRR", T, || {
        frr_lacks(&frr, "ipv4", "65000:1", "10.1.0.0/16")
    });
    wait_frr_established(&frr, "10.99.0.1");
    f.finish();
}

// =============================================================================
// 3. Two l3vpnd PEs, an FRR route reflector, GoBGP CEs in VRF red
// =============================================================================

/// Create the CE peer `addr` (AS `ras`, IPv4 unicast) in VRF red over SNMP.
fn add_ce_peer(d: &Daemon, addr: &str, ras: u32) {
    d.set_ok(&[
        &peer_oid(REMOTE_AS, RED, addr),
        "u",
        &ras.to_string(),
        &peer_oid(FAMILIES, RED, addr),
        "x",
        "80",
        &peer_oid(ROW_STATUS, RED, addr),
        "i",
        rs::CREATE_AND_GO,
    ]);
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn three_pes_route_reflector_ce_to_ce() {
    if !have(FRR_BGPD) || !have(GOBGPD) {
        return;
    }
    // ce1 -- pe1 (l3vpnd) -- rr (FRR) -- pe2 (l3vpnd) -- ce2
    let mut net = Netns::new("b4r");
    let pe1 = net.add("pe1");
    let pe2 = net.add("pe2");
    let rrns = net.add("rr");
    let ce1ns = net.add("ce1");
    let ce2ns = net.add("ce2");
    net.link("pe1", "core", "10.99.1.1/30", "rr", "e1", "10.99.1.2/30");
    net.link("pe2", "core", "10.99.2.1/30", "rr", "e2", "10.99.2.2/30");
    net.link("pe1", "ce", "172.16.1.1/30", "ce1", "eth0", "172.16.1.2/30");
    net.link("pe2", "ce", "172.16.2.1/30", "ce2", "eth0", "172.16.2.2/30");
    net.exec("rr", &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    net.exec(
        "pe1",
        &["ip", "route", "add", "10.99.2.0/30", "via", "10.99.1.2"],
    );
    net.exec(
        "pe2",
        &["ip", "route", "add", "10.99.1.0/30", "via", "10.99.2.2"],
    );

    let rr = Frr::start(
        &rrns,
        "hostname rr\nlog file RUNDIR/bgpd.log\n\
         router bgp 65000\n bgp router-id 10.99.9.9\n bgp cluster-id 10.99.9.9\n\
         no bgp default ipv4-unicast\n\
         neighbor 10.99.1.1 remote-as 65000\n neighbor 10.99.1.1 timers connect 1\n\
         neighbor 10.99.2.1 remote-as 65000\n neighbor 10.99.2.1 timers connect 1\n\
         address-family ipv4 vpn\n\
         neighbor 10.99.1.1 activate\n  neighbor 10.99.1.1 route-reflector-client\n\
         neighbor 10.99.2.1 activate\n  neighbor 10.99.2.1 route-reflector-client\n\
         exit-address-family\n",
    );
    let ce1 = GoBgp::start(
        &ce1ns,
        &gobgp_toml(
            65101,
            "172.16.1.2",
            "172.16.1.2",
            &[("172.16.1.1", 65000, &["ipv4-unicast"])],
            "",
        ),
    );
    let ce2 = GoBgp::start(
        &ce2ns,
        &gobgp_toml(
            65102,
            "172.16.2.2",
            "172.16.2.2",
            &[("172.16.2.1", 65000, &["ipv4-unicast"])],
            "",
        ),
    );
    let d1 = Daemon::in_existing_netns(
        &pe1,
        &pe_toml(
            65000,
            "10.99.1.1",
            &["10.99.1.1", "172.16.1.1"],
            &[("10.99.1.2", 65000, "\"vpnv4\"")],
        ),
        &[],
    );
    let d2 = Daemon::in_existing_netns(
        &pe2,
        &pe_toml(
            65000,
            "10.99.2.1",
            &["10.99.2.1", "172.16.2.1"],
            &[("10.99.2.2", 65000, "\"vpnv4\"")],
        ),
        &[],
    );
    let mut f = Findings::new();
    let label1 = create_vrf_with(&d1, RED, "65000:1", &[(1, rt::BOTH, "65000:100")], &[]);
    create_vrf_with(&d2, RED, "65000:2", &[(1, rt::BOTH, "65000:100")], &[]);
    add_ce_peer(&d1, "172.16.1.2", 65101);
    add_ce_peer(&d2, "172.16.2.2", 65102);
    wait_established(&d1, "", "10.99.1.2");
    wait_established(&d2, "", "10.99.2.2");
    // Both sides open connections; l3vpnd's own must work too (the CEs
    // retry every second, so anything over ~3 s means it did not).
    for (d, ce) in [(&d1, "172.16.1.2"), (&d2, "172.16.2.2")] {
        f.within(
            &format!("CE session {ce} up quickly"),
            Duration::from_secs(4),
            || match fsm(d, RED, ce) {
                ESTABLISHED => Ok(()),
                s => Err(format!("FsmState {s}")),
            },
        );
        wait_established(d, RED, ce);
    }
    wait_frr_established(&rr, "10.99.1.1");
    wait_frr_established(&rr, "10.99.2.1");

    // CE1 announces 192.168.50.0/24 to PE1, CE2 192.168.60.0/24 to PE2.
    ce1.cli("global rib add -a ipv4 192.168.50.0/24 origin igp nexthop 172.16.1.2");
    ce2.cli("global rib add -a ipv4 192.168.60.0/24 nexthop 172.16.2.2");
    // PE1's VRF red: a BGP route from the CE, next hop the CE.
    let rows = poll("192.168.50.0/24 in PE1 red (proto bgp)", T, || {
        bgp_dest(&d1, RED, "192.168.50.0", 24)
    });
    f.check(
        "PE1 red: 192.168.50.0/24 via the CE 172.16.1.2",
        bgp_route(&d1, RED, "192.168.50.0", 24, "172.16.1.2")
            .map_err(|_| format!("rows: {rows:?}")),
    );
    f.within(
        "PE1 CE peer Rcvd/AccIpv4Unicast",
        Duration::from_secs(3),
        || {
            counters(
                &d1,
                RED,
                "172.16.1.2",
                &[RCVD_IPV4_UNICAST, ACC_IPV4_UNICAST],
                &[1, 1],
            )
        },
    );
    // The route reflector: a VPN route with PE1's RD, label, RT, next hop.
    let p = poll("65000:1:192.168.50.0/24 at the RR", T, || {
        frr_has(&rr, "ipv4", "65000:1", "192.168.50.0/24")
    });
    f.eq(
        "RR: label",
        p.get("remoteLabel").and_then(Json::as_i64),
        Some(label1),
    );
    f.eq(
        "RR: RT",
        p.path("extendedCommunity/string").and_then(Json::as_str),
        Some("RT:65000:100"),
    );
    f.eq("RR: next hop", frr_next_hop(&p).as_str(), "10.99.1.1");
    f.eq(
        "RR: AS path",
        p.path("aspath/string").and_then(Json::as_str),
        Some("65101"),
    );
    f.eq(
        "RR: origin",
        p.get("origin").and_then(Json::as_str),
        Some("IGP"),
    );
    // PE2's VRF red: imported, next hop PE1.
    poll("192.168.50.0/24 in PE2 red via PE1", T, || {
        bgp_route(&d2, RED, "192.168.50.0", 24, "10.99.1.1")
    });
    f.within(
        "PE2 Rcvd/AccVpnv4 from the RR",
        Duration::from_secs(3),
        || counters(&d2, "", "10.99.2.2", &[RCVD_VPNV4, ACC_VPNV4], &[1, 1]),
    );
    // CE2: an eBGP route from PE2, AS_PATH 65000 65101, next hop PE2, no
    // LOCAL_PREF (RFC 4271 5.1.5), ORIGIN as CE1 set it.
    let p = poll("192.168.50.0/24 at CE2", T, || {
        gobgp_has(&ce2, "ipv4", "192.168.50.0/24")
    });
    f.eq(
        "CE2: next hop",
        gobgp_next_hop(&p).as_deref(),
        Some("172.16.2.1"),
    );
    f.eq("CE2: AS_PATH", gobgp_as_path(&p), vec![65000, 65101]);
    f.eq(
        "CE2: no LOCAL_PREF from eBGP",
        gobgp_attr(&p, 5).map(|a| a.to_string()),
        None,
    );
    f.eq(
        "CE2: ORIGIN IGP",
        gobgp_attr(&p, 1)
            .and_then(|a| a.get("value"))
            .and_then(Json::as_i64),
        Some(0),
    );
    // And the other way.
    poll("192.168.60.0/24 in PE1 red via PE2", T, || {
        bgp_route(&d1, RED, "192.168.60.0", 24, "10.99.2.1")
    });
    let p = poll("192.168.60.0/24 at CE1", T, || {
        gobgp_has(&ce1, "ipv4", "192.168.60.0/24")
    });
    f.eq(
        "CE1: next hop",
        gobgp_next_hop(&p).as_deref(),
        Some("172.16.1.1"),
    );
    f.eq("CE1: AS_PATH", gobgp_as_path(&p), vec![65000, 65102]);

    // CE1 withdraws: gone everywhere.
    ce1.cli("global rib del -a ipv4 192.168.50.0/24 origin igp nexthop 172.16.1.2");
    poll("CE1 no longer has 192.168.50.0/24", T, || {
        gobgp_lacks(&ce1, "ipv4", "192.168.50.0/24")
    });
    poll("192.168.50.0/24 leaves PE1", T, || {
        no_route(&d1, RED, "192.168.50.0", 24)
    });
    poll("192.168.50.0/24 leaves the RR", T, || {
        frr_lacks(&rr, "ipv4", "65000:1", "192.168.50.0/24")
    });
    poll("192.168.50.0/24 leaves PE2", T, || {
        no_route(&d2, RED, "192.168.50.0", 24)
    });
    poll("192.168.50.0/24 leaves CE2", T, || {
        gobgp_lacks(&ce2, "ipv4", "192.168.50.0/24")
    });
    f.finish();
}

// =============================================================================
// 4. Peers configured over SNMP (no configuration file)
// =============================================================================

/// Speaker AS 65000, router id and listener 10.99.0.1:179, over SNMP.
fn snmp_speaker(d: &Daemon) {
    d.set_ok(&[
        &scalar_oid(LOCAL_AS),
        "u",
        "65000",
        &scalar_oid(ROUTER_ID),
        "a",
        "10.99.0.1",
        &scalar_oid(LISTEN_ADDRESS_TYPE),
        "i",
        "1",
        &scalar_oid(LISTEN_ADDRESS),
        "x",
        "0A630001",
        &scalar_oid(LISTEN_PORT),
        "u",
        "179",
    ]);
}

fn gobgp_state(gb: &GoBgp, d: &Daemon, up: bool) -> Result<(), String> {
    let g = gb.established("10.99.0.1");
    let s = fsm(d, "", "10.99.0.2");
    if g == up && (s == ESTABLISHED) == up {
        Ok(())
    } else {
        Err(format!(
            "GoBGP established {g}, l3vpnd FsmState {s}\n{}",
            gb.neighbor("10.99.0.1")
        ))
    }
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn snmp_created_peer_admin_down_up_destroy() {
    if !have(GOBGPD) {
        return;
    }
    let mut net = Netns::new("b4p");
    let pe = net.add("pe");
    let gbns = net.add("gb");
    net.link("pe", "eth0", "10.99.0.1/30", "gb", "eth0", "10.99.0.2/30");
    let gb = GoBgp::start(
        &gbns,
        &gobgp_toml(
            65000,
            "10.99.0.2",
            "10.99.0.2",
            &[("10.99.0.1", 65000, VPN)],
            "",
        ),
    );
    let d = Daemon::in_existing_netns(&pe, "", &[]);
    d.expect(&scalar_oid(LOCAL_AS), &gauge(0));
    snmp_speaker(&d);
    let p = |c| peer_oid(c, "", "10.99.0.2");
    d.set_ok(&[
        &p(REMOTE_AS),
        "u",
        "65000",
        &p(FAMILIES),
        "x",
        "30",
        &p(HOLD_TIME),
        "u",
        "9",
        &p(KEEPALIVE),
        "u",
        "3",
        &p(ROW_STATUS),
        "i",
        rs::CREATE_AND_GO,
    ]);
    poll("session up within 5 s", Duration::from_secs(5), || {
        gobgp_state(&gb, &d, true)
    });
    d.expect(&p(ROW_STATUS), &integer(1));
    d.expect(&p(ADMIN_STATUS), &integer(1));
    d.expect(&p(MD5_PASSWORD), EMPTY);
    assert_eq!(get_hex(&d, &p(FAMILIES)), "Hex-STRING: 30");
    // BGP4-MIB: state, negotiated and configured hold time / keepalive.
    d.expect(&bgp4_peer_oid(2, "10.99.0.2"), &integer(ESTABLISHED));
    d.expect(&bgp4_peer_oid(18, "10.99.0.2"), &integer(9));
    d.expect(&bgp4_peer_oid(19, "10.99.0.2"), &integer(3));
    d.expect(&bgp4_peer_oid(20, "10.99.0.2"), &integer(9));
    d.expect(&bgp4_peer_oid(21, "10.99.0.2"), &integer(3));
    let n = gb.neighbor("10.99.0.1");
    assert!(
        n.contains("Hold time is 9, keepalive interval is 3 seconds"),
        "{n}"
    );

    // Admin down: Cease / Administrative Shutdown (RFC 4486), and it stays down.
    d.set_ok(&[&p(ADMIN_STATUS), "i", "2"]);
    poll("session down after AdminStatus down", T, || {
        gobgp_state(&gb, &d, false)
    });
    d.expect(&p(LAST_ERROR_CODE), &gauge(6));
    d.expect(&p(LAST_ERROR_SUBCODE), &gauge(2));
    d.expect(&p(ESTABLISHED_TIME), &gauge(0));
    std::thread::sleep(Duration::from_secs(3));
    gobgp_state(&gb, &d, false).expect("stays down while AdminStatus is down");
    d.expect(&p(ADMIN_STATUS), &integer(2));
    // Admin up again.
    d.set_ok(&[&p(ADMIN_STATUS), "i", "1"]);
    poll("session up after AdminStatus up", T, || {
        gobgp_state(&gb, &d, true)
    });
    // Destroy: the session goes, the row goes.
    d.set_ok(&[&p(ROW_STATUS), "i", rs::DESTROY]);
    poll("session down after destroy", T, || {
        if gb.established("10.99.0.1") {
            Err(gb.neighbor("10.99.0.1"))
        } else {
            Ok(())
        }
    });
    assert!(!d.exists(&p(FSM_STATE)), "row still there");
    let rows = d.walk(&format!("{}.2", BGP4_PEER_ENTRY));
    assert!(
        rows.iter().all(|(_, v)| v.starts_with("No Such")),
        "bgpPeerTable still has the peer: {rows:?}"
    );
}

/// TCP MD5 (RFC 2385) against GoBGP's `auth-password`: without the
/// password no session; with it (changed through notInService) the
/// session comes up; the password reads back empty and is never logged.
#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn snmp_created_peer_md5_password() {
    if !have(GOBGPD) {
        return;
    }
    let mut net = Netns::new("b4k");
    let pe = net.add("pe");
    let gbns = net.add("gb");
    net.link("pe", "eth0", "10.99.0.1/30", "gb", "eth0", "10.99.0.2/30");
    let gb = GoBgp::start(
        &gbns,
        &gobgp_toml(
            65000,
            "10.99.0.2",
            "10.99.0.2",
            &[("10.99.0.1", 65000, VPN)],
            "    auth-password = \"Kw8-s3cret\"",
        ),
    );
    let d = Daemon::in_existing_netns(&pe, "", &[]);
    snmp_speaker(&d);
    let p = |c| peer_oid(c, "", "10.99.0.2");
    d.set_ok(&[
        &p(REMOTE_AS),
        "u",
        "65000",
        &p(FAMILIES),
        "x",
        "20",
        &p(ROW_STATUS),
        "i",
        rs::CREATE_AND_GO,
    ]);
    std::thread::sleep(Duration::from_secs(4));
    gobgp_state(&gb, &d, false).expect("no session without the MD5 password");
    d.set_ok(&[
        &p(ROW_STATUS),
        "i",
        rs::NOT_IN_SERVICE,
        &p(MD5_PASSWORD),
        "s",
        "Kw8-s3cret",
    ]);
    d.set_ok(&[&p(ROW_STATUS), "i", rs::ACTIVE]);
    poll("session up with the MD5 password", T, || {
        gobgp_state(&gb, &d, true)
    });
    d.expect(&p(MD5_PASSWORD), EMPTY);
    assert!(
        !d.logs().contains("Kw8-s3cret"),
        "the MD5 password is in l3vpnd's log"
    );
}
