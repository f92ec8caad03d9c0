//! mplsL3VpnVrfTable (RFC 4382): creation, defaults, RowStatus state machine,
//! column mutability while active, RD/VpnId/AdminStatus/StorageType values,
//! and the Perf/Sec tables that AUGMENT it.

use l3vpnd_tests::*;

/// The example of the issue, with its exact output line.
#[test]
fn issue_example_red_with_rd_nonvolatile_create_and_go() {
    let d = Daemon::new();
    let out = d.set_ok(&[
        "1.3.6.1.2.1.10.166.11.1.2.2.1.4.3.114.101.100",
        "s",
        "65000:1",
        "1.3.6.1.2.1.10.166.11.1.2.2.1.15.3.114.101.100",
        "i",
        "3",
        "1.3.6.1.2.1.10.166.11.1.2.2.1.13.3.114.101.100",
        "i",
        "4",
    ]);
    assert_eq!(
        out,
        vec![
            ".1.3.6.1.2.1.10.166.11.1.2.2.1.4.3.114.101.100 = STRING: \"65000:1\"",
            ".1.3.6.1.2.1.10.166.11.1.2.2.1.15.3.114.101.100 = INTEGER: 3",
            ".1.3.6.1.2.1.10.166.11.1.2.2.1.13.3.114.101.100 = INTEGER: 4",
        ]
    );
    assert_eq!(
        d.line("1.3.6.1.2.1.10.166.11.1.2.2.1.4.3.114.101.100"),
        ".1.3.6.1.2.1.10.166.11.1.2.2.1.4.3.114.101.100 = STRING: \"65000:1\""
    );
    d.expect(&vrf_oid(vrf::ROW_STATUS, "red"), &integer(1));
    d.expect(&vrf_oid(vrf::STORAGE_TYPE, "red"), &integer(3));
}

#[test]
fn create_and_go_with_only_row_status_gets_defaults() {
    let d = Daemon::new();
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(0));
    d.create_vrf("red", &[]);
    let n = "red";
    d.expect(&vrf_oid(vrf::VPN_ID, n), EMPTY);
    d.expect(&vrf_oid(vrf::DESCRIPTION, n), EMPTY);
    d.expect(&vrf_oid(vrf::RD, n), EMPTY);
    assert!(d
        .val(&vrf_oid(vrf::CREATION_TIME, n))
        .starts_with("Timeticks: ("));
    d.expect(&vrf_oid(vrf::OPER_STATUS, n), &integer(2));
    d.expect(&vrf_oid(vrf::ACTIVE_INTERFACES, n), &gauge(0));
    d.expect(&vrf_oid(vrf::ASSOCIATED_INTERFACES, n), &gauge(0));
    d.expect(&vrf_oid(vrf::MID_RTE_THRESH, n), &gauge(0));
    d.expect(&vrf_oid(vrf::HIGH_RTE_THRESH, n), &gauge(0));
    d.expect(&vrf_oid(vrf::MAX_ROUTES, n), &gauge(0));
    assert!(d
        .val(&vrf_oid(vrf::LAST_CHANGED, n))
        .starts_with("Timeticks: ("));
    d.expect(&vrf_oid(vrf::ROW_STATUS, n), &integer(1));
    d.expect(&vrf_oid(vrf::ADMIN_STATUS, n), &integer(1));
    d.expect(&vrf_oid(vrf::STORAGE_TYPE, n), &integer(2));
    // Scalars are consistent with the table.
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(1));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(0));
    d.expect(&scalar_oid(scalar::CONNECTED_INTERFACES), &gauge(0));
    // No columns 1 (index) or 16.
    assert!(!d.exists(&vrf_oid(1, n)));
    assert!(!d.exists(&vrf_oid(16, n)));
}

#[test]
fn creation_time_and_last_changed_are_sysuptime_stamps() {
    let d = Daemon::new();
    d.create_vrf("t", &[]);
    let created = d.num(&vrf_oid(vrf::CREATION_TIME, "t"));
    let changed = d.num(&vrf_oid(vrf::LAST_CHANGED, "t"));
    let up = d.num(SYS_UPTIME);
    assert!(
        created <= up && changed <= up && created <= changed,
        "created {created} changed {changed} up {up}"
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "t"), "i", "2"]);
    let changed2 = d.num(&vrf_oid(vrf::LAST_CHANGED, "t"));
    assert!(
        changed2 > changed,
        "LastChanged must move on a change: {changed} -> {changed2}"
    );
    assert_eq!(
        d.num(&vrf_oid(vrf::CREATION_TIME, "t")),
        created,
        "CreationTime never changes"
    );
}

#[test]
fn perf_and_sec_rows_exist_exactly_when_the_vrf_row_exists() {
    let d = Daemon::new();
    for col in 1..=5 {
        assert!(!d.exists(&perf_oid(col, "blue")));
    }
    d.create_vrf("blue", &[]);
    let zero_ticks = "Timeticks: (0) 0:00:00.00";
    d.expect(&perf_oid(1, "blue"), &counter(0));
    d.expect(&perf_oid(2, "blue"), &counter(0));
    d.expect(&perf_oid(3, "blue"), &gauge(0));
    d.expect(&perf_oid(4, "blue"), &counter(0));
    d.expect(&perf_oid(5, "blue"), zero_ticks);
    d.expect(&sec_oid(1, "blue"), &counter(0));
    d.expect(&sec_oid(2, "blue"), zero_ticks);
    d.destroy_vrf("blue");
    for col in 1..=5 {
        assert!(!d.exists(&perf_oid(col, "blue")));
    }
    for col in 1..=2 {
        assert!(!d.exists(&sec_oid(col, "blue")));
    }
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "blue")));
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(0));
}

#[test]
fn create_and_wait_gives_not_in_service_then_active() {
    let d = Daemon::new();
    let rs_oid = vrf_oid(vrf::ROW_STATUS, "w");
    d.set_ok(&[&rs_oid, "i", rs::CREATE_AND_WAIT]);
    d.expect(&rs_oid, &integer(2));
    // Augmenting rows exist as soon as the row exists.
    assert!(d.exists(&perf_oid(3, "w")));
    // Any column may be written while notInService; the row stays notInService.
    d.set_ok(&[
        &vrf_oid(vrf::RD, "w"),
        "s",
        "65000:77",
        &vrf_oid(vrf::DESCRIPTION, "w"),
        "s",
        "waiting",
        &vrf_oid(vrf::VPN_ID, "w"),
        "x",
        "00000A00000001",
        &vrf_oid(vrf::MID_RTE_THRESH, "w"),
        "u",
        "10",
        &vrf_oid(vrf::HIGH_RTE_THRESH, "w"),
        "u",
        "20",
        &vrf_oid(vrf::MAX_ROUTES, "w"),
        "u",
        "30",
    ]);
    d.expect(&rs_oid, &integer(2));
    d.expect(&vrf_oid(vrf::DESCRIPTION, "w"), &string("waiting"));
    d.expect(
        &vrf_oid(vrf::VPN_ID, "w"),
        "Hex-STRING: 00 00 0A 00 00 00 01",
    );
    d.expect(&vrf_oid(vrf::MID_RTE_THRESH, "w"), &gauge(10));
    d.expect(&vrf_oid(vrf::HIGH_RTE_THRESH, "w"), &gauge(20));
    d.expect(&vrf_oid(vrf::MAX_ROUTES, "w"), &gauge(30));
    d.expect(&vrf_oid(vrf::OPER_STATUS, "w"), &integer(2));
    d.set_ok(&[&rs_oid, "i", rs::ACTIVE]);
    d.expect(&rs_oid, &integer(1));
    d.expect(&vrf_oid(vrf::RD, "w"), &string("65000:77"));
    // active -> notInService -> active again.
    d.set_ok(&[&rs_oid, "i", rs::NOT_IN_SERVICE]);
    d.expect(&rs_oid, &integer(2));
    d.set_ok(&[&vrf_oid(vrf::DESCRIPTION, "w"), "s", "changed"]);
    d.set_ok(&[&rs_oid, "i", rs::ACTIVE]);
    d.expect(&vrf_oid(vrf::DESCRIPTION, "w"), &string("changed"));
    // Setting active on an active row is a no-op success.
    d.set_ok(&[&rs_oid, "i", rs::ACTIVE]);
    d.expect(&rs_oid, &integer(1));
}

#[test]
fn create_and_wait_then_destroy() {
    let d = Daemon::new();
    let rs_oid = vrf_oid(vrf::ROW_STATUS, "gone");
    d.set_ok(&[&rs_oid, "i", rs::CREATE_AND_WAIT]);
    d.set_ok(&[&rs_oid, "i", rs::DESTROY]);
    assert!(!d.exists(&rs_oid));
    assert!(!d.exists(&perf_oid(1, "gone")));
}

#[test]
fn only_admin_row_and_storage_writable_while_active() {
    let d = Daemon::new();
    let n = "act";
    d.create_vrf(n, &[&vrf_oid(vrf::RD, n), "s", "65000:1"]);
    for (col, t, v) in [
        (vrf::RD, "s", "65000:2"),
        (vrf::DESCRIPTION, "s", "nope"),
        (vrf::VPN_ID, "x", "00000A00000001"),
        (vrf::MID_RTE_THRESH, "u", "1"),
        (vrf::HIGH_RTE_THRESH, "u", "2"),
        (vrf::MAX_ROUTES, "u", "3"),
    ] {
        d.set_err(&[&vrf_oid(col, n), t, v], "inconsistentValue", 1);
    }
    d.expect(&vrf_oid(vrf::RD, n), &string("65000:1"));
    d.expect(&vrf_oid(vrf::DESCRIPTION, n), EMPTY);
    // Allowed while active.
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, n), "i", "2"]);
    d.expect(&vrf_oid(vrf::ADMIN_STATUS, n), &integer(2));
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, n), "i", "1"]);
    d.set_ok(&[&vrf_oid(vrf::STORAGE_TYPE, n), "i", st::NON_VOLATILE]);
    d.expect(&vrf_oid(vrf::STORAGE_TYPE, n), &integer(3));
    d.set_ok(&[&vrf_oid(vrf::STORAGE_TYPE, n), "i", st::VOLATILE]);
    d.expect(&vrf_oid(vrf::STORAGE_TYPE, n), &integer(2));
    d.expect(&vrf_oid(vrf::ROW_STATUS, n), &integer(1));
}

#[test]
fn rd_change_with_not_in_service_in_the_same_pdu() {
    let d = Daemon::new();
    let n = "mv";
    d.create_vrf(n, &[&vrf_oid(vrf::RD, n), "s", "65000:1"]);
    // RD first, RowStatus second.
    d.set_ok(&[
        &vrf_oid(vrf::RD, n),
        "s",
        "65000:2",
        &vrf_oid(vrf::ROW_STATUS, n),
        "i",
        rs::NOT_IN_SERVICE,
    ]);
    d.expect(&vrf_oid(vrf::RD, n), &string("65000:2"));
    d.expect(&vrf_oid(vrf::ROW_STATUS, n), &integer(2));
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, n), "i", rs::ACTIVE]);
    // RowStatus first, RD second.
    d.set_ok(&[
        &vrf_oid(vrf::ROW_STATUS, n),
        "i",
        rs::NOT_IN_SERVICE,
        &vrf_oid(vrf::RD, n),
        "s",
        "65000:3",
    ]);
    d.expect(&vrf_oid(vrf::RD, n), &string("65000:3"));
    d.expect(&vrf_oid(vrf::ROW_STATUS, n), &integer(2));
    // Changing it together with RowStatus active is not allowed on an active
    // row... but this row is notInService now, so it is.
    d.set_ok(&[
        &vrf_oid(vrf::RD, n),
        "s",
        "65000:4",
        &vrf_oid(vrf::ROW_STATUS, n),
        "i",
        rs::ACTIVE,
    ]);
    d.expect(&vrf_oid(vrf::RD, n), &string("65000:4"));
    d.expect(&vrf_oid(vrf::ROW_STATUS, n), &integer(1));
    // On an active row, RD together with RowStatus active is still refused.
    d.set_err(
        &[
            &vrf_oid(vrf::RD, n),
            "s",
            "65000:5",
            &vrf_oid(vrf::ROW_STATUS, n),
            "i",
            rs::ACTIVE,
        ],
        "inconsistentValue",
        1,
    );
    d.expect(&vrf_oid(vrf::RD, n), &string("65000:4"));
}

/// Create VRF `n` with RD written as `t v`; the RD must read back as `text`.
fn rd_round_trip(d: &Daemon, n: &str, t: &str, v: &str, text: &str) {
    d.create_vrf(n, &[&vrf_oid(vrf::RD, n), t, v]);
    d.expect(&vrf_oid(vrf::RD, n), &string(text));
    d.destroy_vrf(n);
}

#[test]
fn rd_text_and_binary_forms() {
    let d = Daemon::new();
    rd_round_trip(&d, "a", "s", "65000:1", "65000:1");
    rd_round_trip(&d, "b", "s", "0:4294967295", "0:4294967295");
    rd_round_trip(&d, "c", "s", "10.0.0.1:5", "10.0.0.1:5");
    rd_round_trip(&d, "d", "s", "192.0.2.1:65535", "192.0.2.1:65535");
    rd_round_trip(&d, "e", "s", "4200000000:7", "4200000000:7");
    // The 8 octets of RFC 4364 section 4.2: type 0, 1, 2.
    rd_round_trip(&d, "f", "x", "0000FDE800000001", "65000:1");
    rd_round_trip(&d, "g", "x", "00010A0000010005", "10.0.0.1:5");
    rd_round_trip(&d, "h", "x", "0002FA56EA000007", "4200000000:7");
}

#[test]
fn rd_bad_values_are_wrong_value_and_create_nothing() {
    let d = Daemon::new();
    for (t, v) in [
        ("s", "foo"),
        ("s", "65000"),
        ("s", "65000:"),
        ("s", ":1"),
        ("s", "65000:x1"),
        ("s", "10.0.0.1:65536"),
        ("s", "10.0.0:1"),
        ("s", "4200000000:65536"),
        ("s", "4294967296:1"),
        ("s", "65000:4294967296"),
        ("x", "0003000000000001"),   // unknown RD type
        ("x", "0000FDE8000001"),     // 7 octets
        ("x", "0000FDE80000000100"), // 9 octets
    ] {
        d.set_err(
            &[
                &vrf_oid(vrf::RD, "bad"),
                t,
                v,
                &vrf_oid(vrf::ROW_STATUS, "bad"),
                "i",
                rs::CREATE_AND_GO,
            ],
            "wrongValue",
            1,
        );
        assert!(
            !d.exists(&vrf_oid(vrf::ROW_STATUS, "bad")),
            "RD {v:?} must not create the row"
        );
    }
}

#[test]
fn rd_longer_than_256_octets_is_wrong_length() {
    let d = Daemon::new();
    let long = "1".repeat(257);
    d.set_err(
        &[
            &vrf_oid(vrf::ROW_STATUS, "L"),
            "i",
            rs::CREATE_AND_GO,
            &vrf_oid(vrf::RD, "L"),
            "s",
            &long,
        ],
        "wrongLength",
        2,
    );
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "L")));
}

#[test]
fn duplicate_rd_is_inconsistent_value() {
    let d = Daemon::new();
    d.create_vrf("one", &[&vrf_oid(vrf::RD, "one"), "s", "65000:1"]);
    d.set_err(
        &[
            &vrf_oid(vrf::RD, "two"),
            "s",
            "65000:1",
            &vrf_oid(vrf::ROW_STATUS, "two"),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentValue",
        1,
    );
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "two")));
    // The same RD in binary form is the same RD.
    d.set_err(
        &[
            &vrf_oid(vrf::RD, "two"),
            "x",
            "0000FDE800000001",
            &vrf_oid(vrf::ROW_STATUS, "two"),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentValue",
        1,
    );
    // Two VRFs both created in one PDU with the same RD.
    d.set_err(
        &[
            &vrf_oid(vrf::RD, "x1"),
            "s",
            "65000:9",
            &vrf_oid(vrf::ROW_STATUS, "x1"),
            "i",
            rs::CREATE_AND_GO,
            &vrf_oid(vrf::RD, "x2"),
            "s",
            "65000:9",
            &vrf_oid(vrf::ROW_STATUS, "x2"),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentValue",
        3,
    );
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "x1")));
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "x2")));
    // Two VRFs with the default empty RD are fine.
    d.create_vrf("e1", &[]);
    d.create_vrf("e2", &[]);
    // Once "one" is gone its RD is free again.
    d.destroy_vrf("one");
    d.create_vrf("two", &[&vrf_oid(vrf::RD, "two"), "s", "65000:1"]);
}

#[test]
fn vpn_id_must_be_0_or_7_octets() {
    let d = Daemon::new();
    d.create_vrf("v7", &[&vrf_oid(vrf::VPN_ID, "v7"), "x", "01020304050607"]);
    d.expect(
        &vrf_oid(vrf::VPN_ID, "v7"),
        "Hex-STRING: 01 02 03 04 05 06 07",
    );
    d.create_vrf("v0", &[&vrf_oid(vrf::VPN_ID, "v0"), "s", ""]);
    d.expect(&vrf_oid(vrf::VPN_ID, "v0"), EMPTY);
    for hex in ["010203040506", "0102030405060708", "01"] {
        d.set_err(
            &[
                &vrf_oid(vrf::ROW_STATUS, "vx"),
                "i",
                rs::CREATE_AND_GO,
                &vrf_oid(vrf::VPN_ID, "vx"),
                "x",
                hex,
            ],
            "wrongLength",
            2,
        );
        assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "vx")));
    }
}

#[test]
fn admin_status_and_storage_type_ranges() {
    let d = Daemon::new();
    d.create_vrf("s", &[]);
    for v in ["0", "4", "-1"] {
        d.set_err(&[&vrf_oid(vrf::ADMIN_STATUS, "s"), "i", v], "wrongValue", 1);
    }
    for v in ["0", "4", "5", "6"] {
        d.set_err(&[&vrf_oid(vrf::STORAGE_TYPE, "s"), "i", v], "wrongValue", 1);
    }
    d.expect(&vrf_oid(vrf::ADMIN_STATUS, "s"), &integer(1));
    d.expect(&vrf_oid(vrf::STORAGE_TYPE, "s"), &integer(2));
    // Also at creation time.
    d.set_err(
        &[
            &vrf_oid(vrf::ROW_STATUS, "p"),
            "i",
            rs::CREATE_AND_GO,
            &vrf_oid(vrf::STORAGE_TYPE, "p"),
            "i",
            "4",
        ],
        "wrongValue",
        2,
    );
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "p")));
    // nonVolatile may go back to volatile.
    d.set_ok(&[&vrf_oid(vrf::STORAGE_TYPE, "s"), "i", st::NON_VOLATILE]);
    d.set_ok(&[&vrf_oid(vrf::STORAGE_TYPE, "s"), "i", st::VOLATILE]);
    d.expect(&vrf_oid(vrf::STORAGE_TYPE, "s"), &integer(2));
}

#[test]
fn row_status_state_machine_errors() {
    let d = Daemon::new();
    let rs_x = vrf_oid(vrf::ROW_STATUS, "x");
    let rs_missing = vrf_oid(vrf::ROW_STATUS, "missing");
    d.create_vrf("x", &[]);
    // createAndGo / createAndWait on an existing row.
    d.set_err(&[&rs_x, "i", rs::CREATE_AND_GO], "inconsistentValue", 1);
    d.set_err(&[&rs_x, "i", rs::CREATE_AND_WAIT], "inconsistentValue", 1);
    // active / notInService on a missing row.
    d.set_err(&[&rs_missing, "i", rs::ACTIVE], "inconsistentValue", 1);
    d.set_err(
        &[&rs_missing, "i", rs::NOT_IN_SERVICE],
        "inconsistentValue",
        1,
    );
    assert!(!d.exists(&rs_missing));
    // destroy on a missing row is noError.
    d.set_ok(&[&rs_missing, "i", rs::DESTROY]);
    // notReady may never be written; 0 and 7 are out of range.
    d.set_err(&[&rs_x, "i", rs::NOT_READY], "wrongValue", 1);
    d.set_err(&[&rs_missing, "i", rs::NOT_READY], "wrongValue", 1);
    d.set_err(&[&rs_x, "i", "0"], "wrongValue", 1);
    d.set_err(&[&rs_x, "i", "7"], "wrongValue", 1);
    // Wrong ASN.1 type.
    d.set_err(&[&rs_x, "s", "4"], "wrongType", 1);
    d.set_err(&[&rs_missing, "u", "4"], "wrongType", 1);
    assert!(!d.exists(&rs_missing));
    // A non-RowStatus column of a missing row with no RowStatus in the PDU.
    d.set_err(
        &[&vrf_oid(vrf::DESCRIPTION, "missing"), "s", "x"],
        "inconsistentName",
        1,
    );
    d.set_err(
        &[&vrf_oid(vrf::RD, "missing"), "s", "65000:1"],
        "inconsistentName",
        1,
    );
    assert!(!d.exists(&rs_missing));
    d.expect(&rs_x, &integer(1));
}

#[test]
fn wrong_types_on_each_writable_column() {
    let d = Daemon::new();
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "ty"), "i", rs::CREATE_AND_WAIT]);
    for (col, t, v) in [
        (vrf::VPN_ID, "i", "1"),
        (vrf::DESCRIPTION, "i", "1"),
        (vrf::RD, "u", "1"),
        (vrf::MID_RTE_THRESH, "i", "1"),
        (vrf::MID_RTE_THRESH, "s", "1"),
        (vrf::HIGH_RTE_THRESH, "t", "1"),
        (vrf::MAX_ROUTES, "s", "1"),
        (vrf::ADMIN_STATUS, "u", "1"),
        (vrf::STORAGE_TYPE, "s", "3"),
        (vrf::ROW_STATUS, "o", "1.3"),
    ] {
        d.set_err(&[&vrf_oid(col, "ty"), t, v], "wrongType", 1);
    }
}

#[test]
fn description_is_an_admin_string() {
    let d = Daemon::new();
    let long = "d".repeat(255);
    d.create_vrf("ds", &[&vrf_oid(vrf::DESCRIPTION, "ds"), "s", &long]);
    d.expect(&vrf_oid(vrf::DESCRIPTION, "ds"), &string(&long));
    let too_long = "d".repeat(256);
    d.set_err(
        &[
            &vrf_oid(vrf::ROW_STATUS, "dt"),
            "i",
            rs::CREATE_AND_GO,
            &vrf_oid(vrf::DESCRIPTION, "dt"),
            "s",
            &too_long,
        ],
        "wrongLength",
        2,
    );
}

#[test]
fn names_valid_and_invalid() {
    let d = Daemon::new();
    // 1 and 31 octets, printable punctuation.
    let n31 = "a".repeat(31);
    for n in ["A", n31.as_str(), "VRF-a_b.c:1~!"] {
        d.create_vrf(n, &[]);
        d.expect(&vrf_oid(vrf::ROW_STATUS, n), &integer(1));
    }
    // 0 octets, 32 octets, a space, a '/', a non-printable octet.
    let n32 = "b".repeat(32);
    for n in ["", n32.as_str(), "a b", "a/b", "a\tb"] {
        d.set_err(
            &[&vrf_oid(vrf::ROW_STATUS, n), "i", rs::CREATE_AND_GO],
            "noCreation",
            1,
        );
    }
    // Non-ASCII octet (sub-id 200) and a sub-id above 255.
    for idx in ["2.97.200", "2.97.256"] {
        let oid = format!("{VRF_ENTRY}.{}.{idx}", vrf::ROW_STATUS);
        d.set_err(&[&oid, "i", rs::CREATE_AND_GO], "noCreation", 1);
    }
    // Length prefix does not match the number of sub-ids.
    for idx in ["3.114.101", "3.114.101.100.1", "2", ""] {
        let oid = format!("{VRF_ENTRY}.{}.{idx}", vrf::ROW_STATUS)
            .trim_end_matches('.')
            .to_string();
        d.set_err(&[&oid, "i", rs::CREATE_AND_GO], "noCreation", 1);
        d.set_err(&[&oid, "i", rs::CREATE_AND_WAIT], "noCreation", 1);
    }
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(3));
}

#[test]
fn thresholds_and_max_routes() {
    let d = Daemon::new();
    d.create_vrf(
        "th",
        &[
            &vrf_oid(vrf::MID_RTE_THRESH, "th"),
            "u",
            "100",
            &vrf_oid(vrf::HIGH_RTE_THRESH, "th"),
            "u",
            "200",
            &vrf_oid(vrf::MAX_ROUTES, "th"),
            "u",
            "300",
        ],
    );
    d.expect(&vrf_oid(vrf::MID_RTE_THRESH, "th"), &gauge(100));
    d.expect(&vrf_oid(vrf::HIGH_RTE_THRESH, "th"), &gauge(200));
    d.expect(&vrf_oid(vrf::MAX_ROUTES, "th"), &gauge(300));
    // Mid > High when both non-zero -> inconsistentValue (ARCHITECTURE.md);
    // either threshold varbind may be the one blamed.
    let mid = vrf_oid(vrf::MID_RTE_THRESH, "th2");
    let high = vrf_oid(vrf::HIGH_RTE_THRESH, "th2");
    let out = d.set(&[
        &vrf_oid(vrf::ROW_STATUS, "th2"),
        "i",
        rs::CREATE_AND_GO,
        &mid,
        "u",
        "300",
        &high,
        "u",
        "200",
    ]);
    assert_eq!(
        out.reason().as_deref(),
        Some("inconsistentValue"),
        "{}",
        out.describe()
    );
    let failed = out.failed_object().unwrap_or_default();
    assert!(
        failed == format!(".{mid}") || failed == format!(".{high}"),
        "{}",
        out.describe()
    );
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "th2")));
    // MaxPossRts is a read-only Unsigned32.
    assert!(d
        .val(&scalar_oid(scalar::MAX_POSS_RTS))
        .starts_with("Gauge32: "));
    d.expect(&scalar_oid(scalar::RTE_MX_THRSH_TIME), &gauge(0));
}

#[test]
fn writable_scalars() {
    let d = Daemon::new();
    d.expect(&scalar_oid(scalar::NOTIFICATION_ENABLE), &integer(2));
    d.expect(&scalar_oid(scalar::ILL_LBL_RCV_THRSH), &gauge(0));
    d.set_ok(&[
        &scalar_oid(scalar::NOTIFICATION_ENABLE),
        "i",
        "1",
        &scalar_oid(scalar::ILL_LBL_RCV_THRSH),
        "u",
        "42",
    ]);
    d.expect(&scalar_oid(scalar::NOTIFICATION_ENABLE), &integer(1));
    d.expect(&scalar_oid(scalar::ILL_LBL_RCV_THRSH), &gauge(42));
    // TruthValue is 1 or 2.
    for v in ["0", "3"] {
        d.set_err(
            &[&scalar_oid(scalar::NOTIFICATION_ENABLE), "i", v],
            "wrongValue",
            1,
        );
    }
    d.set_err(
        &[&scalar_oid(scalar::NOTIFICATION_ENABLE), "u", "1"],
        "wrongType",
        1,
    );
    d.set_err(
        &[&scalar_oid(scalar::ILL_LBL_RCV_THRSH), "i", "1"],
        "wrongType",
        1,
    );
    // Scalar instance other than .0 -> notWritable / noCreation.
    let bad = format!("{SCALARS}.{}.1", scalar::NOTIFICATION_ENABLE);
    let out = d.set(&[&bad, "i", "1"]);
    let r = out.reason();
    assert!(
        r.as_deref() == Some("notWritable") || r.as_deref() == Some("noCreation"),
        "scalar .1 instance:\n{}",
        out.describe()
    );
    d.set_ok(&[&scalar_oid(scalar::NOTIFICATION_ENABLE), "i", "2"]);
    d.expect(&scalar_oid(scalar::NOTIFICATION_ENABLE), &integer(2));
}
