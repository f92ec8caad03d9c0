//! mplsL3VpnVrfRteTable (RFC 4382) as a read-create table of static CE
//! routes, on the shadow FIB (no root): create, modify through
//! notInService, destroy; IPv4 and IPv6 with default routes and routes that
//! differ only in next hop; the walk equals exactly the rows created; every
//! index and value error with its error-index; route limits and the
//! mplsL3VpnVrfPerfTable counters with exact numbers; persistence with the
//! VRF's StorageType across SIGTERM and kill -9; createAndWait.

use l3vpnd_tests::*;
use std::collections::BTreeSet;
use std::time::Duration;

/// ifIndex of `lo`, present in ifTable on every host.
const LO: u32 = 1;

/// One static route: the index parts and the columns written at creation.
#[derive(Clone, Debug)]
struct Rte {
    vrf: String,
    dest: &'static str,
    pfx: u32,
    nh: Option<&'static str>,
    /// Type column to write (None: leave the DEFVAL other(1)).
    typ: Option<&'static str>,
    /// IfIndex column to write (0: leave the DEFVAL 0).
    if_index: u32,
}

fn r(vrf: &str, dest: &'static str, pfx: u32, nh: Option<&'static str>) -> Rte {
    Rte {
        vrf: vrf.to_string(),
        dest,
        pfx,
        nh,
        typ: None,
        if_index: 0,
    }
}

impl Rte {
    fn typ(mut self, t: &'static str) -> Rte {
        self.typ = Some(t);
        self
    }
    fn dev(mut self, if_index: u32) -> Rte {
        self.if_index = if_index;
        self
    }
    fn oid(&self, col: u32) -> String {
        rte_oid(col, &self.vrf, self.dest, self.pfx, self.nh)
    }
    fn index(&self) -> String {
        rte_index(&self.vrf, self.dest, self.pfx, self.nh)
    }
    /// Varbinds that create the row with `status` (Type, IfIndex, then the
    /// status), as owned strings.
    fn vbs(&self, status: &str) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(t) = self.typ {
            v.extend([self.oid(rte::TYPE), "i".into(), t.into()]);
        }
        if self.if_index != 0 {
            v.extend([
                self.oid(rte::IF_INDEX),
                "i".into(),
                self.if_index.to_string(),
            ]);
        }
        v.extend([self.oid(rte::STATUS), "i".into(), status.into()]);
        v
    }
    fn status_vb(&self, status: &str) -> Vec<String> {
        vec![self.oid(rte::STATUS), "i".into(), status.into()]
    }
}

/// createAndGo of every route in one SET.
#[track_caller]
fn create(d: &Daemon, routes: &[&Rte]) {
    let mut v = Vec::new();
    for x in routes {
        v.extend(x.vbs(rs::CREATE_AND_GO));
    }
    d.set_ok(&strs(&v));
}

#[track_caller]
fn set_status(d: &Daemon, x: &Rte, status: &str) {
    d.set_ok(&strs(&x.status_vb(status)));
}

fn perf(d: &Daemon, vrf: &str) -> [i64; 4] {
    [
        d.num(&perf_oid(perf::ROUTES_ADDED, vrf)),
        d.num(&perf_oid(perf::ROUTES_DELETED, vrf)),
        d.num(&perf_oid(perf::CURR_NUM_ROUTES, vrf)),
        d.num(&perf_oid(perf::ROUTES_DROPPED, vrf)),
    ]
}

/// The full OID list that a walk of the route table must return for these
/// rows: columns 7..=18 of each, in OID order.
fn expected_oids(routes: &[Rte]) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for x in routes {
        for col in 7..=18 {
            v.push(format!(".{}", x.oid(col)));
        }
    }
    v.sort_by_key(|o| oid_arcs(o));
    v
}

fn oids(v: &[(String, String)]) -> Vec<String> {
    v.iter().map(|(o, _)| o.clone()).collect()
}

/// snmpwalk of `root`, without the GET that snmpwalk sends on `root`
/// itself when the subtree is empty ("No Such Object ...").
fn walk_rows(d: &Daemon, root: &str) -> Vec<(String, String)> {
    let me = format!(".{root}");
    d.walk(root)
        .into_iter()
        .filter(|(o, v)| !(*o == me && v.starts_with("No Such")))
        .collect()
}

fn absent(d: &Daemon, oid: &str) {
    let v = d.val(oid);
    assert!(
        v.starts_with("No Such Instance"),
        "{oid} should not exist: {v}"
    );
}

/// The route table's rows without the Age column (which moves), as lines.
fn rte_snapshot(d: &Daemon) -> Vec<String> {
    let age = format!(".{RTE_ENTRY}.{}.", rte::AGE);
    walk_rows(d, RTE_TABLE)
        .into_iter()
        .filter(|(o, _)| !o.starts_with(&age))
        .map(|(o, v)| format!("{o} = {v}"))
        .collect()
}

// ---------------------------------------------------------------------------

/// Every column of a fresh row, then the RFC 2579 rules for changing it:
/// nothing but the status while active, changes through notInService (in
/// separate PDUs or with notInService in the same PDU), destroy.
#[test]
fn routes_create_read_modify_destroy_ipv4_and_ipv6() {
    let d = Daemon::new();
    d.create_vrf("A", &[]);
    let r1 = r("A", "10.0.0.0", 8, Some("192.0.2.1")).typ(rte::REMOTE);
    let r1b = r("A", "10.0.0.0", 8, Some("192.0.2.2")).typ(rte::REMOTE);
    let def4 = r("A", "0.0.0.0", 0, Some("192.0.2.254")).typ(rte::REMOTE);
    let def6 = r("A", "::", 0, Some("2001:db8::1")).typ(rte::REMOTE);
    let v6a = r("A", "2001:db8:100::", 48, Some("2001:db8::1"));
    let v6b = r("A", "2001:db8:100::", 48, Some("2001:db8::2"));
    let local = r("A", "10.20.0.0", 16, None).typ(rte::LOCAL).dev(LO);
    let bh4 = r("A", "10.30.0.0", 16, None).typ(rte::BLACKHOLE);
    let rej4 = r("A", "10.40.0.0", 16, None).typ(rte::REJECT);
    let bh6 = r("A", "2001:db8:dead::", 48, None).typ(rte::BLACKHOLE);
    let host = r("A", "198.51.100.7", 32, None).dev(LO);
    let host6 = r("A", "2001:db8::7", 128, Some("2001:db8::1")).typ(rte::REMOTE);

    // r1 with every writable column given at creation.
    d.set_ok(&[
        &r1.oid(rte::TYPE),
        "i",
        rte::REMOTE,
        &r1.oid(rte::IF_INDEX),
        "i",
        &LO.to_string(),
        &r1.oid(rte::NEXT_HOP_AS),
        "u",
        "65001",
        &r1.oid(rte::METRIC1),
        "i",
        "5",
        &r1.oid(rte::METRIC2),
        "i",
        "0",
        &r1.oid(rte::METRIC3),
        "i",
        "-1",
        &r1.oid(rte::METRIC5),
        "i",
        "2147483647",
        &r1.oid(rte::XC_POINTER),
        "x",
        "00",
        &r1.oid(rte::STATUS),
        "i",
        rs::CREATE_AND_GO,
    ]);
    create(&d, &[&r1b, &def4, &def6]);
    create(&d, &[&v6a]);
    create(&d, &[&v6b, &local, &bh4, &rej4, &bh6, &host, &host6]);

    d.expect(&r1.oid(rte::IF_INDEX), &integer(LO as i64));
    d.expect(&r1.oid(rte::TYPE), &integer(4));
    d.expect(&r1.oid(rte::PROTO), &integer(rte::PROTO_NETMGMT));
    assert!(
        d.val(&r1.oid(rte::AGE)).starts_with("Gauge32: "),
        "Age is a Gauge32"
    );
    d.expect(&r1.oid(rte::NEXT_HOP_AS), &gauge(65001));
    d.expect(&r1.oid(rte::METRIC1), &integer(5));
    d.expect(&r1.oid(rte::METRIC2), &integer(0));
    d.expect(&r1.oid(rte::METRIC3), &integer(-1));
    d.expect(&r1.oid(rte::METRIC4), &integer(-1));
    d.expect(&r1.oid(rte::METRIC5), &integer(2147483647));
    d.expect(&r1.oid(rte::XC_POINTER), "Hex-STRING: 00");
    d.expect(&r1.oid(rte::STATUS), &integer(1));

    // DEFVALs of a row created with only its status.
    d.expect(&v6a.oid(rte::IF_INDEX), &integer(0));
    d.expect(&v6a.oid(rte::TYPE), &integer(1));
    d.expect(&v6a.oid(rte::PROTO), &integer(rte::PROTO_NETMGMT));
    d.expect(&v6a.oid(rte::NEXT_HOP_AS), &gauge(0));
    for col in rte::METRIC1..=rte::METRIC5 {
        d.expect(&v6a.oid(col), &integer(-1));
    }
    d.expect(&v6a.oid(rte::XC_POINTER), "Hex-STRING: 00");
    d.expect(&v6a.oid(rte::STATUS), &integer(1));

    for (x, t) in [
        (&r1b, 4),
        (&def4, 4),
        (&def6, 4),
        (&v6b, 1),
        (&local, 3),
        (&bh4, 5),
        (&rej4, 2),
        (&bh6, 5),
        (&host, 1),
        (&host6, 4),
    ] {
        d.expect(&x.oid(rte::TYPE), &integer(t));
        d.expect(&x.oid(rte::STATUS), &integer(1));
    }
    d.expect(&local.oid(rte::IF_INDEX), &integer(LO as i64));
    d.expect(&host.oid(rte::IF_INDEX), &integer(LO as i64));
    d.expect(&perf_oid(perf::CURR_NUM_ROUTES, "A"), &gauge(12));

    // Nothing but the status is writable while active.
    d.set_err(&[&r1.oid(rte::METRIC1), "i", "6"], "inconsistentValue", 1);
    d.set_err(
        &[
            &v6a.oid(rte::NEXT_HOP_AS),
            "u",
            "1",
            &r1.oid(rte::TYPE),
            "i",
            rte::BLACKHOLE,
        ],
        "inconsistentValue",
        1,
    );
    d.set_err(&[&r1.oid(rte::IF_INDEX), "i", "0"], "inconsistentValue", 1);
    // ... not even with active in the same PDU (the row was active).
    d.set_err(
        &[
            &r1.oid(rte::METRIC1),
            "i",
            "6",
            &r1.oid(rte::STATUS),
            "i",
            rs::ACTIVE,
        ],
        "inconsistentValue",
        1,
    );
    d.expect(&r1.oid(rte::METRIC1), &integer(5));

    // notInService, change, active: three PDUs.
    set_status(&d, &r1, rs::NOT_IN_SERVICE);
    d.expect(&r1.oid(rte::STATUS), &integer(2));
    d.expect(&perf_oid(perf::CURR_NUM_ROUTES, "A"), &gauge(11));
    d.set_ok(&[
        &r1.oid(rte::METRIC1),
        "i",
        "7",
        &r1.oid(rte::NEXT_HOP_AS),
        "u",
        "65002",
        &r1.oid(rte::TYPE),
        "i",
        rte::OTHER,
        &r1.oid(rte::IF_INDEX),
        "i",
        "0",
    ]);
    set_status(&d, &r1, rs::ACTIVE);
    d.expect(&r1.oid(rte::STATUS), &integer(1));
    d.expect(&r1.oid(rte::METRIC1), &integer(7));
    d.expect(&r1.oid(rte::NEXT_HOP_AS), &gauge(65002));
    d.expect(&r1.oid(rte::TYPE), &integer(1));
    d.expect(&r1.oid(rte::IF_INDEX), &integer(0));

    // notInService and the change in one PDU (RFC 2579 allows it).
    d.set_ok(&[
        &def6.oid(rte::STATUS),
        "i",
        rs::NOT_IN_SERVICE,
        &def6.oid(rte::METRIC2),
        "i",
        "9",
    ]);
    d.expect(&def6.oid(rte::STATUS), &integer(2));
    d.expect(&def6.oid(rte::METRIC2), &integer(9));
    set_status(&d, &def6, rs::ACTIVE);
    d.expect(&def6.oid(rte::STATUS), &integer(1));

    // Destroy: the row goes, its sibling that differs only in next hop stays.
    set_status(&d, &r1b, rs::DESTROY);
    set_status(&d, &v6b, rs::DESTROY);
    absent(&d, &r1b.oid(rte::STATUS));
    absent(&d, &v6b.oid(rte::TYPE));
    d.expect(&r1.oid(rte::STATUS), &integer(1));
    d.expect(&v6a.oid(rte::STATUS), &integer(1));
    // Destroying a row that does not exist is noError (RFC 2579).
    set_status(&d, &r1b, rs::DESTROY);
    absent(&d, &r1b.oid(rte::STATUS));
    d.expect(&perf_oid(perf::CURR_NUM_ROUTES, "A"), &gauge(10));

    // The walk holds exactly what is left.
    let left: Vec<Rte> = [
        &r1, &def4, &def6, &v6a, &local, &bh4, &rej4, &bh6, &host, &host6,
    ]
    .iter()
    .map(|x| (*x).clone())
    .collect();
    assert_eq!(oids(&walk_rows(&d, RTE_TABLE)), expected_oids(&left));

    // Destroying the VRF removes its routes.
    d.destroy_vrf("A");
    assert_eq!(walk_rows(&d, RTE_TABLE), vec![]);
    d.create_vrf("A", &[]);
    assert_eq!(
        walk_rows(&d, RTE_TABLE),
        vec![],
        "routes come back with the VRF"
    );
}

/// A walk of the route table returns exactly the rows created, over several
/// VRFs (ordered by name length, then octets), IPv4 and IPv6, default
/// routes, routes differing only in next hop, and a 31-octet VRF name with
/// IPv6 routes (instance OIDs within 128 sub-identifiers). GetNext and
/// GetBulk agree; OIDs strictly increase; index columns never appear.
#[test]
fn route_table_walk_is_exactly_the_rows_created() {
    let d = Daemon::new();
    let long = "vrf-name-of-thirty-one-octets-x".to_string();
    assert_eq!(long.len(), 31);
    for n in ["B", "AA", "A", long.as_str(), "ab"] {
        d.create_vrf(n, &[]);
    }
    let l: &str = &long;
    let routes: Vec<Rte> = vec![
        r("A", "0.0.0.0", 0, Some("192.0.2.1")),
        r("A", "10.0.0.0", 8, Some("192.0.2.1")),
        r("A", "10.0.0.0", 8, Some("192.0.2.2")),
        r("A", "10.0.0.0", 16, Some("192.0.2.1")),
        r("A", "::", 0, Some("2001:db8::1")),
        r("A", "2001:db8::", 32, Some("2001:db8::1")),
        r("A", "2001:db8::", 32, Some("fe80::1")),
        r("B", "0.0.0.0", 0, None).typ(rte::BLACKHOLE),
        r("B", "10.1.0.0", 16, None).typ(rte::LOCAL).dev(LO),
        r("AA", "203.0.113.0", 24, Some("198.51.100.1")).typ(rte::REMOTE),
        r("AA", "::", 0, None).typ(rte::REJECT),
        r(
            l,
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ff00",
            120,
            Some("2001:db8:ffff:ffff:ffff:ffff:ffff:fffe"),
        ),
        r(l, "::", 0, Some("2001:db8:ffff:ffff:ffff:ffff:ffff:fffe")),
        r(l, "0.0.0.0", 0, Some("255.255.255.255")),
        r(l, "255.255.255.255", 32, None).typ(rte::BLACKHOLE),
    ];
    // In a few PDUs, the VRFs' routes interleaved.
    for chunk in routes.chunks(4) {
        let refs: Vec<&Rte> = chunk.iter().collect();
        create(&d, &refs);
    }
    let want = expected_oids(&routes);
    let w = walk_rows(&d, RTE_TABLE);
    assert_eq!(oids(&w), want, "GetNext walk of mplsL3VpnVrfRteTable");
    assert_strictly_increasing(&w);
    for reps in [50, 7, 1] {
        assert_eq!(
            d.bulkwalk(RTE_TABLE, reps),
            w,
            "snmpbulkwalk -Cr{reps} vs snmpwalk"
        );
    }
    let longest = w.iter().map(|(o, _)| oid_arcs(o).len()).max().unwrap();
    assert!(longest <= 128, "instance OID of {longest} sub-identifiers");
    let long_v6 = &routes[11];
    assert_eq!(
        oid_arcs(&long_v6.oid(rte::STATUS)).len(),
        14 + 32 + 1 + 17 + 1 + 3 + 1 + 17,
        "31-octet name, IPv6 dest and next hop"
    );
    for (o, v) in &w {
        let col = oid_arcs(o)[13];
        assert!((7..=18).contains(&col), "index column returned: {o}");
        assert!(!v.starts_with("No Such"), "{o} = {v}");
    }
    // One column walked alone: one varbind per row, in index order.
    let status_col = format!("{RTE_ENTRY}.{}", rte::STATUS);
    let mut idx: Vec<String> = routes
        .iter()
        .map(|x| format!(".{status_col}.{}", x.index()))
        .collect();
    idx.sort_by_key(|o| oid_arcs(o));
    assert_eq!(oids(&d.walk(&status_col)), idx);
    assert_eq!(oids(&d.bulkwalk(&status_col, 3)), idx);
    for (_, v) in d.walk(&status_col) {
        assert_eq!(v, integer(1));
    }
    // Reading the long row directly.
    d.expect(&long_v6.oid(rte::STATUS), &integer(1));
    d.expect(&long_v6.oid(rte::PROTO), &integer(rte::PROTO_NETMGMT));
    // A VRF with no routes contributes nothing; another VRF's destroy takes
    // only its own rows.
    d.destroy_vrf("AA");
    let left: Vec<Rte> = routes.iter().filter(|x| x.vrf != "AA").cloned().collect();
    assert_eq!(oids(&walk_rows(&d, RTE_TABLE)), expected_oids(&left));
    assert_eq!(oids(&d.bulkwalk(RTE_TABLE, 25)), expected_oids(&left));

    // GetNext from arbitrary points: every prefix of every status-column
    // instance, each instance with its last sub-identifier raised by one,
    // and sub-identifiers beyond any octet; the answer is the first row
    // OID after the request in the order of the table's OIDs.
    let all = expected_oids(&left);
    let all_arcs: Vec<Vec<u64>> = all.iter().map(|o| oid_arcs(o)).collect();
    let mut queries: BTreeSet<Vec<u64>> = BTreeSet::new();
    for x in &left {
        let full = oid_arcs(&x.oid(rte::STATUS));
        for n in 13..full.len() {
            queries.insert(full[..n].to_vec());
        }
        let mut up = full.clone();
        *up.last_mut().unwrap() += 1;
        queries.insert(up);
        let mut big = full[..16].to_vec();
        big.push(300);
        queries.insert(big);
        let mut huge = full.clone();
        huge.push(4294967295);
        queries.insert(huge);
    }
    queries.insert(oid_arcs(&format!("{RTE_ENTRY}.6.4294967295")));
    queries.insert(oid_arcs(&format!("{RTE_ENTRY}.18.0")));
    queries.insert(oid_arcs(&format!(
        "{RTE_ENTRY}.18.1.66.1.4.10.0.0.0.8.2.0.0.1.4.192"
    )));
    let queries: Vec<Vec<u64>> = queries.into_iter().collect();
    let mut wrong = Vec::new();
    for chunk in queries.chunks(6) {
        let q: Vec<String> = chunk
            .iter()
            .map(|a| {
                a.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .collect();
        let out = d.snmp("snmpgetnext", V2_RO, &strs(&q));
        assert!(out.ok(), "{}", out.describe());
        let got = out.varbinds();
        assert_eq!(got.len(), q.len(), "{}", out.describe());
        for (a, (o, v)) in chunk.iter().zip(&got) {
            let want = all_arcs.iter().position(|x| x > a).map(|i| all[i].clone());
            let in_table = o.starts_with(&format!(".{RTE_ENTRY}."));
            let ok = match &want {
                Some(w) => o == w,
                None => !in_table,
            };
            if !ok {
                wrong.push(format!("GETNEXT {a:?}: want {want:?}, got {o} = {v}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Index and value errors, each in a multi-varbind SET after a valid row
/// creation: the error-status and error-index are the bad varbind's, and
/// nothing of the PDU is applied.
#[test]
fn route_set_errors_with_their_index() {
    let d = Daemon::new();
    d.create_vrf("A", &[]);
    let existing = r("A", "192.0.2.0", 24, Some("198.51.100.1"));
    create(&d, &[&existing]);
    let before = rte_snapshot(&d);
    let good = r("A", "10.9.0.0", 16, Some("192.0.2.1"));
    let good_vbs = good.vbs(rs::CREATE_AND_GO);
    let vrf = name_index("A");
    let raw = |col: u32, idx: &str| format!("{RTE_ENTRY}.{col}.{vrf}.{idx}");
    let cg = rs::CREATE_AND_GO;
    // (what, bad varbinds (oid, type, value), reason)
    let cases: Vec<(&str, Vec<[String; 3]>, &str)> = vec![
        (
            "IPv4 dest with host bits beyond the prefix length",
            vec![[
                r("A", "10.0.0.1", 8, Some("192.0.2.1")).oid(rte::STATUS),
                "i".into(),
                cg.into(),
            ]],
            "inconsistentName",
        ),
        (
            "IPv6 dest with host bits beyond the prefix length",
            vec![[
                r("A", "2001:db8::1", 32, Some("2001:db8::2")).oid(rte::STATUS),
                "i".into(),
                cg.into(),
            ]],
            "inconsistentName",
        ),
        (
            "default prefix length with a non-zero dest",
            vec![[
                r("A", "10.0.0.0", 0, Some("192.0.2.1")).oid(rte::STATUS),
                "i".into(),
                cg.into(),
            ]],
            "inconsistentName",
        ),
        (
            "IPv6 next hop for an IPv4 dest",
            vec![[
                r("A", "10.0.0.0", 8, Some("2001:db8::1")).oid(rte::STATUS),
                "i".into(),
                cg.into(),
            ]],
            "inconsistentName",
        ),
        (
            "IPv4 next hop for an IPv6 dest",
            vec![[
                r("A", "2001:db8::", 32, Some("192.0.2.1")).oid(rte::STATUS),
                "i".into(),
                cg.into(),
            ]],
            "inconsistentName",
        ),
        (
            "VRF that does not exist",
            vec![[
                r("nope", "10.0.0.0", 8, Some("192.0.2.1")).oid(rte::STATUS),
                "i".into(),
                cg.into(),
            ]],
            "inconsistentName",
        ),
        (
            "VRF that does not exist, IPv6",
            vec![[
                r("B", "::", 0, Some("2001:db8::1")).oid(rte::TYPE),
                "i".into(),
                "4".into(),
            ]],
            "inconsistentName",
        ),
        (
            "IPv4 prefix length 33",
            vec![[
                raw(rte::STATUS, "1.4.10.0.0.0.33.2.0.0.1.4.192.0.2.1"),
                "i".into(),
                cg.into(),
            ]],
            "inconsistentName",
        ),
        (
            "IPv6 prefix length 129",
            vec![[
                raw(
                    rte::STATUS,
                    "2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.0.129.2.0.0.0.0",
                ),
                "i".into(),
                cg.into(),
            ]],
            "inconsistentName",
        ),
        (
            "next hop type ipv6(2) of 4 octets",
            vec![[
                raw(rte::STATUS, "1.4.10.0.0.0.8.2.0.0.2.4.192.0.2.1"),
                "i".into(),
                cg.into(),
            ]],
            "noCreation",
        ),
        (
            "dest type ipv4z(3)",
            vec![[
                raw(rte::STATUS, "3.8.10.0.0.0.0.0.0.1.8.2.0.0.0.0"),
                "i".into(),
                cg.into(),
            ]],
            "noCreation",
        ),
        (
            "dest type ipv6z(4)",
            vec![[
                raw(
                    rte::STATUS,
                    "4.20.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.32.2.0.0.0.0",
                ),
                "i".into(),
                cg.into(),
            ]],
            "noCreation",
        ),
        (
            "dest type dns(16)",
            vec![[
                raw(rte::STATUS, "16.1.97.0.2.0.0.0.0"),
                "i".into(),
                cg.into(),
            ]],
            "noCreation",
        ),
        (
            "dest type unknown(0)",
            vec![[raw(rte::STATUS, "0.0.0.2.0.0.0.0"), "i".into(), cg.into()]],
            "noCreation",
        ),
        (
            "IPv4 dest of 5 octets",
            vec![[
                raw(rte::STATUS, "1.5.10.0.0.0.0.8.2.0.0.0.0"),
                "i".into(),
                cg.into(),
            ]],
            "noCreation",
        ),
        (
            "IPv6 dest of 4 octets",
            vec![[
                raw(rte::STATUS, "2.4.32.1.13.184.32.2.0.0.0.0"),
                "i".into(),
                cg.into(),
            ]],
            "noCreation",
        ),
        (
            "IPv4 next hop of 16 octets",
            vec![[
                raw(
                    rte::STATUS,
                    "1.4.10.0.0.0.8.2.0.0.1.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1",
                ),
                "i".into(),
                cg.into(),
            ]],
            "noCreation",
        ),
        (
            "next hop type unknown(0) with an address",
            vec![[
                raw(rte::STATUS, "1.4.10.0.0.0.8.2.0.0.0.4.192.0.2.1"),
                "i".into(),
                cg.into(),
            ]],
            "noCreation",
        ),
        (
            "next hop type ipv4z(3)",
            vec![[
                raw(rte::STATUS, "1.4.10.0.0.0.8.2.0.0.3.8.192.0.2.1.0.0.0.1"),
                "i".into(),
                cg.into(),
            ]],
            "noCreation",
        ),
        (
            "Metric1 -2",
            vec![
                [
                    r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::METRIC1),
                    "i".into(),
                    "-2".into(),
                ],
                [
                    r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::STATUS),
                    "i".into(),
                    cg.into(),
                ],
            ],
            "wrongValue",
        ),
        (
            "Metric4 -2147483648",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::METRIC4),
                "i".into(),
                "-2147483648".into(),
            ]],
            "wrongValue",
        ),
        (
            "XCPointer 0x01",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::XC_POINTER),
                "x".into(),
                "01".into(),
            ]],
            "inconsistentValue",
        ),
        (
            "XCPointer empty",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::XC_POINTER),
                "x".into(),
                "".into(),
            ]],
            "wrongLength",
        ),
        (
            "XCPointer of 25 octets",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::XC_POINTER),
                "x".into(),
                "00".repeat(25),
            ]],
            "wrongLength",
        ),
        (
            "IfIndex not in ifTable",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::IF_INDEX),
                "i".into(),
                "99999".into(),
            ]],
            "inconsistentName",
        ),
        (
            "Type 0",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::TYPE),
                "i".into(),
                "0".into(),
            ]],
            "wrongValue",
        ),
        (
            "Type 6",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::TYPE),
                "i".into(),
                "6".into(),
            ]],
            "wrongValue",
        ),
        (
            "Type as a string",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::TYPE),
                "s".into(),
                "4".into(),
            ]],
            "wrongType",
        ),
        (
            "Proto is read-only",
            vec![[existing.oid(rte::PROTO), "i".into(), "2".into()]],
            "notWritable",
        ),
        (
            "Age is read-only",
            vec![[existing.oid(rte::AGE), "u".into(), "5".into()]],
            "notWritable",
        ),
        (
            "Status 0",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::STATUS),
                "i".into(),
                "0".into(),
            ]],
            "wrongValue",
        ),
        (
            "Status 7",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::STATUS),
                "i".into(),
                "7".into(),
            ]],
            "wrongValue",
        ),
        (
            "Status as a Gauge32",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::STATUS),
                "u".into(),
                "4".into(),
            ]],
            "wrongType",
        ),
        (
            "createAndGo of an existing row",
            vec![[existing.oid(rte::STATUS), "i".into(), cg.into()]],
            "inconsistentValue",
        ),
        (
            "active on a row that does not exist",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::STATUS),
                "i".into(),
                rs::ACTIVE.into(),
            ]],
            "inconsistentValue",
        ),
        (
            "notInService on a row that does not exist",
            vec![[
                r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::STATUS),
                "i".into(),
                rs::NOT_IN_SERVICE.into(),
            ]],
            "inconsistentValue",
        ),
        (
            "remote(4) without a next hop",
            vec![
                [
                    r("A", "10.8.0.0", 16, None).oid(rte::TYPE),
                    "i".into(),
                    rte::REMOTE.into(),
                ],
                [
                    r("A", "10.8.0.0", 16, None).oid(rte::IF_INDEX),
                    "i".into(),
                    LO.to_string(),
                ],
                [
                    r("A", "10.8.0.0", 16, None).oid(rte::STATUS),
                    "i".into(),
                    cg.into(),
                ],
            ],
            "inconsistentValue",
        ),
        (
            "local(3) with a next hop",
            vec![
                [
                    r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::TYPE),
                    "i".into(),
                    rte::LOCAL.into(),
                ],
                [
                    r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::IF_INDEX),
                    "i".into(),
                    LO.to_string(),
                ],
                [
                    r("A", "10.8.0.0", 16, Some("192.0.2.1")).oid(rte::STATUS),
                    "i".into(),
                    cg.into(),
                ],
            ],
            "inconsistentValue",
        ),
        (
            "local(3) without an interface",
            vec![
                [
                    r("A", "10.8.0.0", 16, None).oid(rte::TYPE),
                    "i".into(),
                    rte::LOCAL.into(),
                ],
                [
                    r("A", "10.8.0.0", 16, None).oid(rte::STATUS),
                    "i".into(),
                    cg.into(),
                ],
            ],
            "inconsistentValue",
        ),
        (
            "other(1) with neither next hop nor interface",
            vec![[
                r("A", "10.8.0.0", 16, None).oid(rte::STATUS),
                "i".into(),
                cg.into(),
            ]],
            "inconsistentValue",
        ),
    ];
    let mut wrong = Vec::new();
    for (what, bad, reason) in &cases {
        // The valid row first, then the bad varbinds. The error points at
        // the bad varbind: the only one, or for a row whose columns are
        // each valid but inconsistent together, its status varbind (last).
        let mut vbs: Vec<String> = good_vbs.clone();
        for b in bad {
            vbs.extend(b.iter().cloned());
        }
        let at = good_vbs.len() / 3
            + if *reason == "inconsistentValue" {
                bad.len()
            } else {
                1
            };
        let out = d.set(&strs(&vbs));
        let want_obj = format!(".{}", vbs[(at - 1) * 3]);
        let got = (out.timed_out(), out.reason(), out.failed_object());
        if got != (false, Some(reason.to_string()), Some(want_obj.clone())) {
            wrong.push(format!(
                "{what}: want {reason} at varbind {at} ({want_obj}); got {got:?}\n  {}",
                out.describe().replace('\n', "\n  ")
            ));
        }
        let now = rte_snapshot(&d);
        if now != before {
            wrong.push(format!(
                "{what}: the failed SET changed the table: {now:#?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    // The valid row alone still goes in.
    d.set_ok(&strs(&good_vbs));
    d.expect(&good.oid(rte::STATUS), &integer(1));
}

/// mplsL3VpnVrfConfMaxRoutes: activating a route beyond it fails with
/// resourceUnavailable (createAndGo or active), nothing of the PDU is
/// applied, and RoutesDropped counts each; RoutesAdded, RoutesDeleted and
/// CurrNumRoutes follow activations, deactivations and destroys exactly.
#[test]
fn route_limit_and_perf_counters() {
    let d = Daemon::new();
    d.create_vrf("lim", &[&vrf_oid(vrf::MAX_ROUTES, "lim"), "u", "3"]);
    d.create_vrf("free", &[]);
    let nh = Some("192.0.2.1");
    let r1 = r("lim", "10.0.1.0", 24, nh);
    let r2 = r("lim", "10.0.2.0", 24, nh);
    let r3 = r("lim", "2001:db8:3::", 48, None).typ(rte::BLACKHOLE);
    let r4 = r("lim", "10.0.4.0", 24, nh);
    let r5 = r("lim", "10.0.5.0", 24, nh);
    assert_eq!(perf(&d, "lim"), [0, 0, 0, 0]);
    d.expect(
        &perf_oid(perf::DISC_TIME, "lim"),
        "Timeticks: (0) 0:00:00.00",
    );

    create(&d, &[&r1, &r2]);
    create(&d, &[&r3]);
    assert_eq!(
        perf(&d, "lim"),
        [3, 0, 3, 0],
        "added, deleted, current, dropped"
    );

    // A fourth active route: refused, counted.
    d.set_err(&strs(&r4.vbs(rs::CREATE_AND_GO)), "resourceUnavailable", 1);
    absent(&d, &r4.oid(rte::STATUS));
    assert_eq!(perf(&d, "lim"), [3, 0, 3, 1]);

    // In a PDU with a createAndWait before it: nothing of the PDU applied.
    let mut v = r5.vbs(rs::CREATE_AND_WAIT);
    v.extend(r4.vbs(rs::CREATE_AND_GO));
    d.set_err(&strs(&v), "resourceUnavailable", 2);
    absent(&d, &r4.oid(rte::STATUS));
    absent(&d, &r5.oid(rte::STATUS));
    assert_eq!(perf(&d, "lim"), [3, 0, 3, 2]);

    // A row that is not active does not count; activating it is refused.
    d.set_ok(&strs(&r5.vbs(rs::CREATE_AND_WAIT)));
    d.expect(&r5.oid(rte::STATUS), &integer(2));
    assert_eq!(perf(&d, "lim"), [3, 0, 3, 2]);
    d.set_err(&strs(&r5.status_vb(rs::ACTIVE)), "resourceUnavailable", 1);
    d.expect(&r5.oid(rte::STATUS), &integer(2));
    assert_eq!(perf(&d, "lim"), [3, 0, 3, 3]);

    // Deactivating makes room.
    set_status(&d, &r1, rs::NOT_IN_SERVICE);
    assert_eq!(perf(&d, "lim"), [3, 1, 2, 3]);
    set_status(&d, &r5, rs::ACTIVE);
    assert_eq!(perf(&d, "lim"), [4, 1, 3, 3]);
    d.set_err(&strs(&r1.status_vb(rs::ACTIVE)), "resourceUnavailable", 1);
    assert_eq!(perf(&d, "lim"), [4, 1, 3, 4]);

    // Destroying an active route counts as deleted; a notInService one
    // was already deleted.
    set_status(&d, &r2, rs::DESTROY);
    assert_eq!(perf(&d, "lim"), [4, 2, 2, 4]);
    set_status(&d, &r1, rs::DESTROY);
    assert_eq!(perf(&d, "lim"), [4, 2, 2, 4]);
    // Room for exactly one: two in one PDU is refused at the second.
    let mut v = r4.vbs(rs::CREATE_AND_GO);
    v.extend(r1.vbs(rs::CREATE_AND_GO));
    d.set_err(&strs(&v), "resourceUnavailable", 2);
    absent(&d, &r4.oid(rte::STATUS));
    assert_eq!(perf(&d, "lim"), [4, 2, 2, 5]);
    create(&d, &[&r4]);
    assert_eq!(perf(&d, "lim"), [5, 2, 3, 5]);
    // A failed SET of another kind does not count as dropped.
    d.set_err(
        &strs(&r("lim", "10.0.0.1", 8, nh).status_vb(rs::CREATE_AND_GO)),
        "inconsistentName",
        1,
    );
    assert_eq!(perf(&d, "lim"), [5, 2, 3, 5]);

    // The other VRF has no limit and its own counters.
    let many: Vec<Rte> = (0..6)
        .map(|i| {
            r(
                "free",
                [
                    "10.1.0.0", "10.2.0.0", "10.3.0.0", "10.4.0.0", "10.5.0.0", "10.6.0.0",
                ][i],
                16,
                nh,
            )
        })
        .collect();
    let refs: Vec<&Rte> = many.iter().collect();
    create(&d, &refs);
    assert_eq!(perf(&d, "free"), [6, 0, 6, 0]);
    assert_eq!(perf(&d, "lim"), [5, 2, 3, 5]);

    // A destroyed and recreated VRF starts from zero.
    d.destroy_vrf("lim");
    d.create_vrf("lim", &[]);
    assert_eq!(perf(&d, "lim"), [0, 0, 0, 0]);
    assert_eq!(perf(&d, "free"), [6, 0, 6, 0]);
}

/// Routes are kept with a nonVolatile VRF across SIGTERM and kill -9, and
/// vanish with a volatile VRF.
#[test]
fn routes_persist_with_a_non_volatile_vrf() {
    let mut d = Daemon::new();
    d.create_vrf(
        "keep",
        &[&vrf_oid(vrf::STORAGE_TYPE, "keep"), "i", st::NON_VOLATILE],
    );
    d.create_vrf("temp", &[]);
    let k1 = r("keep", "10.0.0.0", 8, Some("192.0.2.1")).typ(rte::REMOTE);
    let k2 = r("keep", "0.0.0.0", 0, Some("192.0.2.254"));
    let k3 = r("keep", "::", 0, Some("2001:db8::1"));
    let k4 = r("keep", "2001:db8:1::", 48, None).typ(rte::BLACKHOLE);
    let k5 = r("keep", "10.20.0.0", 16, None).typ(rte::LOCAL).dev(LO);
    let k6 = r("keep", "10.0.0.0", 8, Some("192.0.2.2"));
    let t1 = r("temp", "10.0.0.0", 8, Some("192.0.2.1"));
    let t2 = r("temp", "2001:db8::", 32, Some("2001:db8::1"));
    create(&d, &[&k1, &k2, &k3, &k4, &k5, &t1, &t2]);
    d.set_ok(&[
        &k1.oid(rte::STATUS),
        "i",
        rs::NOT_IN_SERVICE,
        &k1.oid(rte::METRIC1),
        "i",
        "10",
        &k1.oid(rte::NEXT_HOP_AS),
        "u",
        "64512",
    ]);
    set_status(&d, &k1, rs::ACTIVE);
    d.set_ok(&strs(&k6.vbs(rs::CREATE_AND_WAIT)));
    let all = rte_snapshot(&d);
    let keep_pfx = format!(".{RTE_ENTRY}.");
    let temp_idx = name_index("temp");
    let kept: Vec<String> = all
        .iter()
        .filter(|l| {
            let o = l.split(" = ").next().unwrap();
            let rest = o.strip_prefix(&keep_pfx).unwrap();
            let idx = rest.split_once('.').unwrap().1;
            !idx.starts_with(&format!("{temp_idx}."))
        })
        .cloned()
        .collect();
    assert_eq!(
        kept.len(),
        6 * 11,
        "six kept rows of eleven columns (no Age)"
    );

    d.restart();
    assert_eq!(rte_snapshot(&d), kept, "after SIGTERM");
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "temp")));
    d.expect(&perf_oid(perf::CURR_NUM_ROUTES, "keep"), &gauge(5));
    d.expect(&k6.oid(rte::STATUS), &integer(2));

    // Changes after the restart, then kill -9.
    let k7 = r("keep", "2001:db8:7::", 48, Some("fe80::7"));
    create(&d, &[&k7]);
    set_status(&d, &k2, rs::DESTROY);
    set_status(&d, &k6, rs::ACTIVE);
    let before_kill = rte_snapshot(&d);
    d.kill9();
    d.launch();
    assert_eq!(rte_snapshot(&d), before_kill, "after kill -9");
    d.expect(&perf_oid(perf::CURR_NUM_ROUTES, "keep"), &gauge(6));

    // Destroying the VRF removes its routes for good.
    d.destroy_vrf("keep");
    assert_eq!(walk_rows(&d, RTE_TABLE), vec![]);
    d.restart();
    assert_eq!(walk_rows(&d, RTE_TABLE), vec![]);
    d.create_vrf(
        "keep",
        &[&vrf_oid(vrf::STORAGE_TYPE, "keep"), "i", st::NON_VOLATILE],
    );
    assert_eq!(walk_rows(&d, RTE_TABLE), vec![]);
}

/// createAndWait: notInService with the DEFVALs, writable, then active;
/// a row that cannot be activated yet refuses active until it can; Age
/// counts seconds.
#[test]
fn route_create_and_wait_then_active() {
    let d = Daemon::new();
    d.create_vrf("A", &[]);
    let w = r("A", "10.0.0.0", 8, Some("192.0.2.1"));
    d.set_ok(&strs(&w.vbs(rs::CREATE_AND_WAIT)));
    d.expect(&w.oid(rte::STATUS), &integer(2));
    d.expect(&w.oid(rte::TYPE), &integer(1));
    d.expect(&w.oid(rte::METRIC1), &integer(-1));
    d.expect(&w.oid(rte::XC_POINTER), "Hex-STRING: 00");
    d.expect(&w.oid(rte::PROTO), &integer(rte::PROTO_NETMGMT));
    d.expect(&perf_oid(perf::CURR_NUM_ROUTES, "A"), &gauge(0));
    d.set_ok(&[
        &w.oid(rte::METRIC1),
        "i",
        "4",
        &w.oid(rte::TYPE),
        "i",
        rte::REMOTE,
    ]);
    d.expect(&w.oid(rte::STATUS), &integer(2));
    set_status(&d, &w, rs::ACTIVE);
    d.expect(&w.oid(rte::STATUS), &integer(1));
    d.expect(&w.oid(rte::METRIC1), &integer(4));
    d.expect(&w.oid(rte::TYPE), &integer(4));
    d.expect(&perf_oid(perf::CURR_NUM_ROUTES, "A"), &gauge(1));
    // createAndWait twice -> inconsistentValue.
    d.set_err(
        &strs(&w.status_vb(rs::CREATE_AND_WAIT)),
        "inconsistentValue",
        1,
    );

    // other(1) with no next hop and no interface: created, but active
    // is refused until an interface is given.
    let x = r("A", "10.1.0.0", 16, None);
    d.set_ok(&strs(&x.vbs(rs::CREATE_AND_WAIT)));
    let st = d.num(&x.oid(rte::STATUS));
    assert!(
        st == 2 || st == 3,
        "createAndWait gives notInService or notReady, got {st}"
    );
    d.set_err(&strs(&x.status_vb(rs::ACTIVE)), "inconsistentValue", 1);
    assert_eq!(d.num(&x.oid(rte::STATUS)), st);
    d.set_ok(&[&x.oid(rte::IF_INDEX), "i", &LO.to_string()]);
    d.expect(&x.oid(rte::STATUS), &integer(2));
    set_status(&d, &x, rs::ACTIVE);
    d.expect(&x.oid(rte::STATUS), &integer(1));

    // Age: seconds since the route was last updated.
    std::thread::sleep(Duration::from_millis(2100));
    let age = d.num(&w.oid(rte::AGE));
    assert!((2..=4).contains(&age), "Age {age} after ~2 s");
    // The walk shows both rows and no other.
    let rows: BTreeSet<String> = d
        .walk(&format!("{RTE_ENTRY}.{}", rte::STATUS))
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    assert_eq!(
        rows,
        [w.oid(rte::STATUS), x.oid(rte::STATUS)]
            .iter()
            .map(|o| format!(".{o}"))
            .collect()
    );
}
