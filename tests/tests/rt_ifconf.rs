//! mplsL3VpnVrfRTTable and mplsL3VpnIfConfTable: creation, defaults,
//! mutability, cross-table rules, the counters they drive, and the cascade
//! when their VRF is destroyed.

use l3vpnd_tests::*;

const LO: u32 = 1;

#[test]
fn rt_create_and_go_both() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    d.set_ok(&[
        &rt_oid(rt::RT, "red", 1, rt::BOTH),
        "s",
        "65000:100",
        &rt_oid(rt::DESCR, "red", 1, rt::BOTH),
        "s",
        "rt one",
        &rt_oid(rt::ROW_STATUS, "red", 1, rt::BOTH),
        "i",
        rs::CREATE_AND_GO,
    ]);
    assert_eq!(
        d.line(&rt_oid(rt::RT, "red", 1, rt::BOTH)),
        ".1.3.6.1.2.1.10.166.11.1.2.3.1.4.3.114.101.100.1.3 = STRING: \"65000:100\""
    );
    d.expect(&rt_oid(rt::DESCR, "red", 1, rt::BOTH), &string("rt one"));
    d.expect(&rt_oid(rt::ROW_STATUS, "red", 1, rt::BOTH), &integer(1));
    d.expect(&rt_oid(rt::STORAGE_TYPE, "red", 1, rt::BOTH), &integer(2));
    // The index columns 2 and 3 are not accessible.
    assert!(!d.exists(&rt_oid(2, "red", 1, rt::BOTH)));
    assert!(!d.exists(&rt_oid(3, "red", 1, rt::BOTH)));
}

#[test]
fn rt_only_row_status_defaults() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    d.set_ok(&[
        &rt_oid(rt::ROW_STATUS, "red", 7, rt::IMPORT),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.expect(&rt_oid(rt::RT, "red", 7, rt::IMPORT), EMPTY);
    d.expect(&rt_oid(rt::DESCR, "red", 7, rt::IMPORT), EMPTY);
    d.expect(&rt_oid(rt::ROW_STATUS, "red", 7, rt::IMPORT), &integer(1));
    d.expect(&rt_oid(rt::STORAGE_TYPE, "red", 7, rt::IMPORT), &integer(2));
}

fn rt_round_trip(d: &Daemon, idx: u32, t: &str, v: &str, text: &str) {
    d.set_ok(&[
        &rt_oid(rt::RT, "red", idx, rt::EXPORT),
        t,
        v,
        &rt_oid(rt::ROW_STATUS, "red", idx, rt::EXPORT),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.expect(&rt_oid(rt::RT, "red", idx, rt::EXPORT), &string(text));
}

#[test]
fn rt_text_and_extended_community_forms() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    rt_round_trip(&d, 1, "s", "65000:100", "65000:100");
    rt_round_trip(&d, 2, "s", "10.0.0.1:5", "10.0.0.1:5");
    rt_round_trip(&d, 3, "s", "4200000000:7", "4200000000:7");
    // RFC 4360 / RFC 5668 route-target extended communities (sub-type 0x02).
    rt_round_trip(&d, 4, "x", "0002FDE800000064", "65000:100");
    rt_round_trip(&d, 5, "x", "01020A0000010005", "10.0.0.1:5");
    rt_round_trip(&d, 6, "x", "0202FA56EA000007", "4200000000:7");
    for (t, v) in [
        ("s", "foo"),
        ("s", "65000"),
        ("x", "0000FDE800000064"), // sub-type 0x00 is not a route target
        ("x", "0003FDE800000064"), // sub-type 0x03 (route origin)
        ("x", "00010A0000010005"), // sub-type 0x01: an RD of type 1, not an RT
        ("x", "0302FDE800000064"), // type 0x03
        ("x", "0002FDE8000064"),   // 7 octets
    ] {
        d.set_err(
            &[
                &rt_oid(rt::RT, "red", 9, rt::BOTH),
                t,
                v,
                &rt_oid(rt::ROW_STATUS, "red", 9, rt::BOTH),
                "i",
                rs::CREATE_AND_GO,
            ],
            "wrongValue",
            1,
        );
        assert!(!d.exists(&rt_oid(rt::ROW_STATUS, "red", 9, rt::BOTH)));
    }
    let long = "1".repeat(257);
    d.set_err(
        &[
            &rt_oid(rt::RT, "red", 9, rt::BOTH),
            "s",
            &long,
            &rt_oid(rt::ROW_STATUS, "red", 9, rt::BOTH),
            "i",
            rs::CREATE_AND_GO,
        ],
        "wrongLength",
        1,
    );
}

#[test]
fn rt_one_row_per_index_and_type() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    for (typ, v) in [
        (rt::IMPORT, "65000:1"),
        (rt::EXPORT, "65000:2"),
        (rt::BOTH, "65000:1"),
    ] {
        d.set_ok(&[
            &rt_oid(rt::RT, "red", 1, typ),
            "s",
            v,
            &rt_oid(rt::ROW_STATUS, "red", 1, typ),
            "i",
            rs::CREATE_AND_GO,
        ]);
    }
    d.set_ok(&[
        &rt_oid(rt::ROW_STATUS, "red", 2, rt::IMPORT),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.set_err(
        &[
            &rt_oid(rt::ROW_STATUS, "red", 1, rt::IMPORT),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentValue",
        1,
    );
    d.set_err(
        &[
            &rt_oid(rt::ROW_STATUS, "red", 1, rt::EXPORT),
            "i",
            rs::CREATE_AND_WAIT,
        ],
        "inconsistentValue",
        1,
    );
    let walk = d.walk(&format!("{RT_ENTRY}.{}", rt::ROW_STATUS));
    let got: Vec<String> = walk.iter().map(|(o, _)| o.clone()).collect();
    let want: Vec<String> = [(1, 1), (1, 2), (1, 3), (2, 1)]
        .iter()
        .map(|(i, t)| format!(".{}", rt_oid(rt::ROW_STATUS, "red", *i, *t)))
        .collect();
    assert_eq!(got, want);
    d.expect(&rt_oid(rt::RT, "red", 1, rt::EXPORT), &string("65000:2"));
    // Destroying one of them leaves the others.
    d.set_ok(&[
        &rt_oid(rt::ROW_STATUS, "red", 1, rt::EXPORT),
        "i",
        rs::DESTROY,
    ]);
    assert!(!d.exists(&rt_oid(rt::ROW_STATUS, "red", 1, rt::EXPORT)));
    assert!(d.exists(&rt_oid(rt::ROW_STATUS, "red", 1, rt::IMPORT)));
    assert!(d.exists(&rt_oid(rt::ROW_STATUS, "red", 1, rt::BOTH)));
}

#[test]
fn rt_nothing_but_row_status_writable_while_active() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    let (r, ds, rso, sto) = (
        rt_oid(rt::RT, "red", 1, rt::BOTH),
        rt_oid(rt::DESCR, "red", 1, rt::BOTH),
        rt_oid(rt::ROW_STATUS, "red", 1, rt::BOTH),
        rt_oid(rt::STORAGE_TYPE, "red", 1, rt::BOTH),
    );
    d.set_ok(&[&r, "s", "65000:100", &rso, "i", rs::CREATE_AND_GO]);
    d.set_err(&[&r, "s", "65000:200"], "inconsistentValue", 1);
    d.set_err(&[&ds, "s", "new"], "inconsistentValue", 1);
    d.set_err(&[&sto, "i", st::NON_VOLATILE], "inconsistentValue", 1);
    d.expect(&r, &string("65000:100"));
    d.expect(&sto, &integer(2));
    // Via notInService in the same PDU.
    d.set_ok(&[&r, "s", "65000:200", &rso, "i", rs::NOT_IN_SERVICE]);
    d.expect(&rso, &integer(2));
    d.expect(&r, &string("65000:200"));
    d.set_ok(&[&ds, "s", "new", &sto, "i", st::NON_VOLATILE]);
    d.set_ok(&[&rso, "i", rs::ACTIVE]);
    d.expect(&rso, &integer(1));
    d.expect(&ds, &string("new"));
    d.expect(&sto, &integer(3));
}

#[test]
fn rt_create_and_wait_then_active() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    let rso = rt_oid(rt::ROW_STATUS, "red", 3, rt::IMPORT);
    d.set_ok(&[&rso, "i", rs::CREATE_AND_WAIT]);
    d.expect(&rso, &integer(2));
    d.set_ok(&[&rt_oid(rt::RT, "red", 3, rt::IMPORT), "s", "65000:3"]);
    d.set_ok(&[&rso, "i", rs::ACTIVE]);
    d.expect(&rso, &integer(1));
}

#[test]
fn rt_index_and_reference_errors() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    // VRF does not exist.
    d.set_err(
        &[
            &rt_oid(rt::ROW_STATUS, "nope", 1, rt::BOTH),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentName",
        1,
    );
    // RTIndex is 1..4294967295; type is 1..3.
    d.set_err(
        &[
            &rt_oid(rt::ROW_STATUS, "red", 0, rt::BOTH),
            "i",
            rs::CREATE_AND_GO,
        ],
        "noCreation",
        1,
    );
    d.set_err(
        &[&rt_oid(rt::ROW_STATUS, "red", 1, 0), "i", rs::CREATE_AND_GO],
        "noCreation",
        1,
    );
    d.set_err(
        &[&rt_oid(rt::ROW_STATUS, "red", 1, 4), "i", rs::CREATE_AND_GO],
        "noCreation",
        1,
    );
    let short = format!("{RT_ENTRY}.{}.{}.1", rt::ROW_STATUS, name_index("red"));
    d.set_err(&[&short, "i", rs::CREATE_AND_GO], "noCreation", 1);
    let long = format!("{}.1", rt_oid(rt::ROW_STATUS, "red", 1, rt::BOTH));
    d.set_err(&[&long, "i", rs::CREATE_AND_GO], "noCreation", 1);
    // (A sub-id above 2^32-1 cannot be tested with net-snmp: it wraps it.)
    // The largest RTIndex is fine.
    d.set_ok(&[
        &rt_oid(rt::ROW_STATUS, "red", u32::MAX, rt::BOTH),
        "i",
        rs::CREATE_AND_GO,
    ]);
    // A non-RowStatus column of a missing row.
    d.set_err(
        &[&rt_oid(rt::RT, "red", 5, rt::BOTH), "s", "65000:1"],
        "inconsistentName",
        1,
    );
    // RowStatus rules.
    d.set_err(
        &[&rt_oid(rt::ROW_STATUS, "red", 5, rt::BOTH), "i", rs::ACTIVE],
        "inconsistentValue",
        1,
    );
    d.set_err(
        &[
            &rt_oid(rt::ROW_STATUS, "red", 5, rt::BOTH),
            "i",
            rs::NOT_READY,
        ],
        "wrongValue",
        1,
    );
    d.set_ok(&[
        &rt_oid(rt::ROW_STATUS, "red", 5, rt::BOTH),
        "i",
        rs::DESTROY,
    ]);
    d.set_err(
        &[&rt_oid(rt::ROW_STATUS, "red", 5, rt::BOTH), "s", "4"],
        "wrongType",
        1,
    );
    d.set_err(
        &[
            &rt_oid(rt::ROW_STATUS, "red", 5, rt::BOTH),
            "i",
            rs::CREATE_AND_GO,
            &rt_oid(rt::STORAGE_TYPE, "red", 5, rt::BOTH),
            "i",
            "5",
        ],
        "wrongValue",
        2,
    );
    assert!(!d.exists(&rt_oid(rt::ROW_STATUS, "red", 5, rt::BOTH)));
}

#[test]
fn ifconf_bind_lo_defaults_and_counters() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(2));
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "red", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    assert_eq!(
        d.line(&ifconf_oid(ifconf::ROW_STATUS, "red", LO)),
        ".1.3.6.1.2.1.10.166.11.1.2.1.1.5.3.114.101.100.1 = INTEGER: 1"
    );
    d.expect(&ifconf_oid(ifconf::CLASSIFICATION, "red", LO), &integer(2));
    d.expect(
        &ifconf_oid(ifconf::ROUTE_DIST_PROTOCOL, "red", LO),
        "Hex-STRING: 80",
    );
    d.expect(&ifconf_oid(ifconf::STORAGE_TYPE, "red", LO), &integer(2));
    assert!(
        !d.exists(&ifconf_oid(1, "red", LO)),
        "the index column is not accessible"
    );
    // lo is up: the VRF is up.
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(1));
    d.expect(&vrf_oid(vrf::ACTIVE_INTERFACES, "red"), &gauge(1));
    d.expect(&vrf_oid(vrf::ASSOCIATED_INTERFACES, "red"), &gauge(1));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(1));
    d.expect(&scalar_oid(scalar::CONNECTED_INTERFACES), &gauge(1));
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(1));
    // Admin down -> oper down.
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "red"), "i", "2"]);
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(2));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(0));
    d.expect(&vrf_oid(vrf::ASSOCIATED_INTERFACES, "red"), &gauge(1));
    // Admin up again -> up.
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "red"), "i", "1"]);
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(1));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(1));
    // notInService VRF -> oper down (ARCHITECTURE.md: up iff the row is active).
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "red"), "i", rs::NOT_IN_SERVICE]);
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(2));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(0));
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "red"), "i", rs::ACTIVE]);
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(1));
    // Unbind -> down, counters back to 0.
    d.set_ok(&[&ifconf_oid(ifconf::ROW_STATUS, "red", LO), "i", rs::DESTROY]);
    assert!(!d.exists(&ifconf_oid(ifconf::ROW_STATUS, "red", LO)));
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(2));
    d.expect(&vrf_oid(vrf::ACTIVE_INTERFACES, "red"), &gauge(0));
    d.expect(&vrf_oid(vrf::ASSOCIATED_INTERFACES, "red"), &gauge(0));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(0));
    d.expect(&scalar_oid(scalar::CONNECTED_INTERFACES), &gauge(0));
}

#[test]
fn ifconf_last_changed_moves_on_bind() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    let before = d.num(&vrf_oid(vrf::LAST_CHANGED, "red"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "red", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    let after = d.num(&vrf_oid(vrf::LAST_CHANGED, "red"));
    assert!(
        after > before,
        "VrfConfLastChanged must move when an interface is associated: {before} -> {after}"
    );
}

#[test]
fn ifconf_values_and_mutability() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    let (cl, pr, sto, rso) = (
        ifconf_oid(ifconf::CLASSIFICATION, "red", LO),
        ifconf_oid(ifconf::ROUTE_DIST_PROTOCOL, "red", LO),
        ifconf_oid(ifconf::STORAGE_TYPE, "red", LO),
        ifconf_oid(ifconf::ROW_STATUS, "red", LO),
    );
    for v in ["0", "4"] {
        d.set_err(
            &[&rso, "i", rs::CREATE_AND_GO, &cl, "i", v],
            "wrongValue",
            2,
        );
    }
    d.set_err(
        &[&rso, "i", rs::CREATE_AND_GO, &cl, "s", "1"],
        "wrongType",
        2,
    );
    d.set_err(
        &[&rso, "i", rs::CREATE_AND_GO, &pr, "i", "1"],
        "wrongType",
        2,
    );
    d.set_err(
        &[&rso, "i", rs::CREATE_AND_GO, &sto, "i", "4"],
        "wrongValue",
        2,
    );
    assert!(!d.exists(&rso));
    // {static(5), other(6)} = 0x06; carrierOfCarrier(1).
    d.set_ok(&[&cl, "i", "1", &pr, "x", "06", &rso, "i", rs::CREATE_AND_GO]);
    d.expect(&cl, &integer(1));
    d.expect(&pr, "Hex-STRING: 06");
    d.expect(&rso, &integer(1));
    // Active: only StorageType and RowStatus are writable.
    d.set_err(&[&cl, "i", "3"], "inconsistentValue", 1);
    d.set_err(&[&pr, "x", "80"], "inconsistentValue", 1);
    d.set_ok(&[&sto, "i", st::NON_VOLATILE]);
    d.expect(&sto, &integer(3));
    d.set_ok(&[&sto, "i", st::VOLATILE]);
    // With notInService in the same PDU.
    d.set_ok(&[&rso, "i", rs::NOT_IN_SERVICE, &cl, "i", "3"]);
    d.expect(&cl, &integer(3));
    d.expect(&rso, &integer(2));
    // The empty set {} is accepted as one zero octet.
    d.set_ok(&[&pr, "x", "00"]);
    let v = d.val(&pr);
    assert!(
        v == "Hex-STRING: 00" || v == EMPTY,
        "RouteDistProtocol {{}}: {v}"
    );
    d.set_ok(&[&rso, "i", rs::ACTIVE]);
    d.expect(&rso, &integer(1));
}

#[test]
fn ifconf_reference_errors() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    d.create_vrf("blue", &[]);
    // VRF missing.
    d.set_err(
        &[
            &ifconf_oid(ifconf::ROW_STATUS, "nope", LO),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentName",
        1,
    );
    // ifIndex not in ifTable.
    d.set_err(
        &[
            &ifconf_oid(ifconf::ROW_STATUS, "red", 999999),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentName",
        1,
    );
    // ifIndex 0 and a missing ifIndex sub-id can never be created.
    d.set_err(
        &[
            &ifconf_oid(ifconf::ROW_STATUS, "red", 0),
            "i",
            rs::CREATE_AND_GO,
        ],
        "noCreation",
        1,
    );
    let short = format!(
        "{IFCONF_ENTRY}.{}.{}",
        ifconf::ROW_STATUS,
        name_index("red")
    );
    d.set_err(&[&short, "i", rs::CREATE_AND_GO], "noCreation", 1);
    let big = format!(
        "{IFCONF_ENTRY}.{}.{}.2147483648",
        ifconf::ROW_STATUS,
        name_index("red")
    );
    d.set_err(&[&big, "i", rs::CREATE_AND_GO], "noCreation", 1);
    // A non-RowStatus column of a missing row.
    d.set_err(
        &[&ifconf_oid(ifconf::CLASSIFICATION, "red", LO), "i", "1"],
        "inconsistentName",
        1,
    );
    // Bind lo to red, then to blue.
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "red", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.set_err(
        &[
            &ifconf_oid(ifconf::ROW_STATUS, "blue", LO),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentValue",
        1,
    );
    d.set_err(
        &[
            &ifconf_oid(ifconf::ROW_STATUS, "blue", LO),
            "i",
            rs::CREATE_AND_WAIT,
        ],
        "inconsistentValue",
        1,
    );
    d.set_err(
        &[
            &ifconf_oid(ifconf::ROW_STATUS, "red", LO),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentValue",
        1,
    );
    assert!(!d.exists(&ifconf_oid(ifconf::ROW_STATUS, "blue", LO)));
    d.expect(&scalar_oid(scalar::CONNECTED_INTERFACES), &gauge(1));
    // Both in one PDU.
    d.set_ok(&[&ifconf_oid(ifconf::ROW_STATUS, "red", LO), "i", rs::DESTROY]);
    d.set_err(
        &[
            &ifconf_oid(ifconf::ROW_STATUS, "red", LO),
            "i",
            rs::CREATE_AND_GO,
            &ifconf_oid(ifconf::ROW_STATUS, "blue", LO),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentValue",
        2,
    );
    assert!(!d.exists(&ifconf_oid(ifconf::ROW_STATUS, "red", LO)));
    // Moving lo from red to blue in one PDU (destroy + create) is fine.
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "red", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "red", LO),
        "i",
        rs::DESTROY,
        &ifconf_oid(ifconf::ROW_STATUS, "blue", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    assert!(!d.exists(&ifconf_oid(ifconf::ROW_STATUS, "red", LO)));
    d.expect(&ifconf_oid(ifconf::ROW_STATUS, "blue", LO), &integer(1));
    d.expect(&vrf_oid(vrf::OPER_STATUS, "blue"), &integer(1));
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(2));
}

/// An interface that is not up counts as associated but not active.
#[test]
fn ifconf_down_interface_counts_as_associated_only() {
    let d = Daemon::new();
    let down: Option<u32> = d
        .walk(IF_OPER_STATUS)
        .iter()
        .find(|(_, v)| v != "INTEGER: 1")
        .map(|(o, _)| o.rsplit('.').next().unwrap().parse().unwrap());
    let Some(ifx) = down else {
        eprintln!("skipped: no interface that is not up on this machine");
        return;
    };
    d.create_vrf("red", &[]);
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "red", ifx),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(2));
    d.expect(&vrf_oid(vrf::ACTIVE_INTERFACES, "red"), &gauge(0));
    d.expect(&vrf_oid(vrf::ASSOCIATED_INTERFACES, "red"), &gauge(1));
    d.expect(&scalar_oid(scalar::CONNECTED_INTERFACES), &gauge(1));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(0));
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "red", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(1));
    d.expect(&vrf_oid(vrf::ACTIVE_INTERFACES, "red"), &gauge(1));
    d.expect(&vrf_oid(vrf::ASSOCIATED_INTERFACES, "red"), &gauge(2));
    d.expect(&scalar_oid(scalar::CONNECTED_INTERFACES), &gauge(2));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(1));
}

#[test]
fn destroying_a_vrf_cascades_in_the_same_set() {
    let d = Daemon::new();
    d.create_vrf("red", &[&vrf_oid(vrf::RD, "red"), "s", "65000:1"]);
    d.create_vrf("blue", &[]);
    d.set_ok(&[
        &rt_oid(rt::ROW_STATUS, "red", 1, rt::IMPORT),
        "i",
        rs::CREATE_AND_GO,
        &rt_oid(rt::ROW_STATUS, "red", 2, rt::BOTH),
        "i",
        rs::CREATE_AND_GO,
        &rt_oid(rt::ROW_STATUS, "blue", 1, rt::BOTH),
        "i",
        rs::CREATE_AND_GO,
        &ifconf_oid(ifconf::ROW_STATUS, "red", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.expect(&scalar_oid(scalar::CONNECTED_INTERFACES), &gauge(1));
    d.destroy_vrf("red");
    for oid in [
        vrf_oid(vrf::ROW_STATUS, "red"),
        rt_oid(rt::ROW_STATUS, "red", 1, rt::IMPORT),
        rt_oid(rt::ROW_STATUS, "red", 2, rt::BOTH),
        ifconf_oid(ifconf::ROW_STATUS, "red", LO),
        perf_oid(1, "red"),
        sec_oid(1, "red"),
    ] {
        assert!(!d.exists(&oid), "{oid} must be gone with its VRF");
    }
    let red = format!(".{}.", name_index("red"));
    let rest: Vec<_> = d
        .walk(MPLS_L3VPN)
        .into_iter()
        .filter(|(o, _)| o.contains(&red))
        .collect();
    assert!(rest.is_empty(), "rows of a destroyed VRF remain: {rest:?}");
    d.expect(&rt_oid(rt::ROW_STATUS, "blue", 1, rt::BOTH), &integer(1));
    d.expect(&scalar_oid(scalar::CONNECTED_INTERFACES), &gauge(0));
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(1));
    // lo is free again; the RD is free again.
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "blue", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.create_vrf("red", &[&vrf_oid(vrf::RD, "red"), "s", "65000:1"]);
    assert!(
        !d.exists(&rt_oid(rt::ROW_STATUS, "red", 1, rt::IMPORT)),
        "a re-created VRF starts empty"
    );
}

/// RFC 3416 4.2.5: the varbinds of one SET are applied as if simultaneously,
/// so a VRF and its RT and interface rows can be created in one PDU.
#[test]
fn vrf_rt_and_ifconf_created_in_one_pdu() {
    let d = Daemon::new();
    d.set_ok(&[
        &vrf_oid(vrf::RD, "one"),
        "s",
        "65000:1",
        &vrf_oid(vrf::ROW_STATUS, "one"),
        "i",
        rs::CREATE_AND_GO,
        &rt_oid(rt::RT, "one", 1, rt::BOTH),
        "s",
        "65000:100",
        &rt_oid(rt::ROW_STATUS, "one", 1, rt::BOTH),
        "i",
        rs::CREATE_AND_GO,
        &ifconf_oid(ifconf::ROW_STATUS, "one", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.expect(&rt_oid(rt::RT, "one", 1, rt::BOTH), &string("65000:100"));
    d.expect(&vrf_oid(vrf::OPER_STATUS, "one"), &integer(1));
    // Destroying the VRF and creating an RT for it in one PDU is refused.
    d.set_err(
        &[
            &vrf_oid(vrf::ROW_STATUS, "one"),
            "i",
            rs::DESTROY,
            &rt_oid(rt::ROW_STATUS, "one", 2, rt::BOTH),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentName",
        2,
    );
    d.expect(&vrf_oid(vrf::ROW_STATUS, "one"), &integer(1));
}

/// Poll `f` every 50 ms for up to 5 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(5) {
        if f() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("not within 5 s: {what}");
}

/// ifOperStatus is live (netlink), and the VRF's oper status, interface
/// counters and ActiveVrfs follow it. A veth pair in a namespace of its own.
#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn vrf_oper_status_follows_interface_oper_status() {
    let d = Daemon::in_netns();
    d.ns_exec(&[
        "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb",
    ]);
    let va: u32 = d
        .ns_exec(&["cat", "/sys/class/net/va/ifindex"])
        .trim()
        .parse()
        .unwrap();
    let descr = format!("{IF_DESCR}.{va}");
    let oper = format!("{IF_OPER_STATUS}.{va}");
    eventually("va appears in ifTable", || d.val(&descr) == string("va"));
    assert_eq!(d.num(IF_NUMBER), 3, "lo, va, vb");
    d.expect(&oper, &integer(2));
    d.create_vrf("red", &[]);
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "red", va),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(2));
    d.expect(&vrf_oid(vrf::ACTIVE_INTERFACES, "red"), &gauge(0));
    d.expect(&vrf_oid(vrf::ASSOCIATED_INTERFACES, "red"), &gauge(1));
    // Up.
    d.ns_exec(&["ip", "link", "set", "va", "up"]);
    d.ns_exec(&["ip", "link", "set", "vb", "up"]);
    eventually("ifOperStatus.va up", || d.val(&oper) == integer(1));
    eventually("VRF up", || {
        d.val(&vrf_oid(vrf::OPER_STATUS, "red")) == integer(1)
    });
    d.expect(&vrf_oid(vrf::ACTIVE_INTERFACES, "red"), &gauge(1));
    d.expect(&vrf_oid(vrf::ASSOCIATED_INTERFACES, "red"), &gauge(1));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(1));
    // The peer goes down: va is no longer up (lowerLayerDown or down).
    d.ns_exec(&["ip", "link", "set", "vb", "down"]);
    eventually("ifOperStatus.va not up", || d.val(&oper) != integer(1));
    eventually("VRF down", || {
        d.val(&vrf_oid(vrf::OPER_STATUS, "red")) == integer(2)
    });
    d.expect(&vrf_oid(vrf::ACTIVE_INTERFACES, "red"), &gauge(0));
    d.expect(&vrf_oid(vrf::ASSOCIATED_INTERFACES, "red"), &gauge(1));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(0));
    // A new interface shows up in ifTable and ifNumber.
    d.ns_exec(&[
        "ip", "link", "add", "vc", "type", "veth", "peer", "name", "vd",
    ]);
    eventually("ifNumber 5", || d.num(IF_NUMBER) == 5);
    let rows = d.walk("1.3.6.1.2.1.2.2.1.1");
    assert_eq!(rows.len(), 5);
}

/// A binding that is not active does not make its VRF up.
#[test]
fn not_in_service_binding_does_not_count() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    let rso = ifconf_oid(ifconf::ROW_STATUS, "red", LO);
    d.set_ok(&[&rso, "i", rs::CREATE_AND_WAIT]);
    d.expect(&rso, &integer(2));
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(2));
    d.expect(&vrf_oid(vrf::ACTIVE_INTERFACES, "red"), &gauge(0));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(0));
    d.set_ok(&[&rso, "i", rs::ACTIVE]);
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(1));
    d.expect(&vrf_oid(vrf::ACTIVE_INTERFACES, "red"), &gauge(1));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(1));
    d.set_ok(&[&rso, "i", rs::NOT_IN_SERVICE]);
    d.expect(&vrf_oid(vrf::OPER_STATUS, "red"), &integer(2));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(0));
}

#[test]
fn snmptable_of_rt_and_ifconf_tables() {
    let d = Daemon::new();
    d.create_vrf("red", &[]);
    d.set_ok(&[
        &rt_oid(rt::RT, "red", 1, rt::BOTH),
        "s",
        "65000:100",
        &rt_oid(rt::DESCR, "red", 1, rt::BOTH),
        "s",
        "first",
        &rt_oid(rt::ROW_STATUS, "red", 1, rt::BOTH),
        "i",
        rs::CREATE_AND_GO,
        &ifconf_oid(ifconf::ROW_STATUS, "red", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    let out = d.snmp_names(
        "snmptable",
        "public",
        &["-Cf", ",", "-Ci"],
        &["MPLS-L3VPN-STD-MIB::mplsL3VpnVrfRTTable"],
    );
    assert!(out.ok(), "{}", out.describe());
    assert_eq!(out.stdout.len(), 3, "{}", out.describe());
    assert_eq!(
        out.stdout[1],
        "index,mplsL3VpnVrfRT,mplsL3VpnVrfRTDescr,mplsL3VpnVrfRTRowStatus,mplsL3VpnVrfRTStorageType"
    );
    assert_eq!(
        out.stdout[2],
        "\"red\".1.both,\"65000:100\",first,active,volatile",
        "{}",
        out.describe()
    );
    let out = d.snmp_names(
        "snmptable",
        "public",
        &["-Cf", ",", "-Ci"],
        &["MPLS-L3VPN-STD-MIB::mplsL3VpnIfConfTable"],
    );
    assert!(out.ok(), "{}", out.describe());
    assert_eq!(
        out.stdout[1],
        "index,mplsL3VpnIfVpnClassification,mplsL3VpnIfVpnRouteDistProtocol,mplsL3VpnIfConfStorageType,mplsL3VpnIfConfRowStatus"
    );
    assert_eq!(
        out.stdout[2],
        "\"red\".1,enterprise,\"80 \",volatile,active",
        "{}",
        out.describe()
    );
    let out = d.snmp_names(
        "snmpget",
        "public",
        &[],
        &["MPLS-L3VPN-STD-MIB::mplsL3VpnIfVpnRouteDistProtocol.\"red\".1"],
    );
    assert_eq!(
        out.stdout,
        vec!["MPLS-L3VPN-STD-MIB::mplsL3VpnIfVpnRouteDistProtocol.\"red\".1 = BITS: 80 none(0)"],
        "{}",
        out.describe()
    );
}

/// A 31-octet name (the longest) works in every table that it indexes, and
/// walks return those instances.
#[test]
fn longest_name_in_every_table() {
    let d = Daemon::new();
    let n: String = "Z".repeat(30) + "~";
    d.create_vrf(&n, &[]);
    d.set_ok(&[
        &rt_oid(rt::ROW_STATUS, &n, u32::MAX, rt::BOTH),
        "i",
        rs::CREATE_AND_GO,
        &ifconf_oid(ifconf::ROW_STATUS, &n, LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.expect(&rt_oid(rt::ROW_STATUS, &n, u32::MAX, rt::BOTH), &integer(1));
    d.expect(&ifconf_oid(ifconf::ROW_STATUS, &n, LO), &integer(1));
    d.expect(&perf_oid(3, &n), &gauge(0));
    let w = d.bulkwalk(MPLS_L3VPN, 10);
    let idx = format!(".{}", name_index(&n));
    assert!(w.iter().filter(|(o, _)| o.contains(&idx)).count() >= 14 + 4 + 4 + 5 + 2);
    // 0x7F (DEL) is not printable.
    let oid = format!("{VRF_ENTRY}.{}.2.97.127", vrf::ROW_STATUS);
    d.set_err(&[&oid, "i", rs::CREATE_AND_GO], "noCreation", 1);
}
