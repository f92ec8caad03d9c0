//! SET error handling (RFC 3416 4.2.5): atomic multi-varbind SETs with the
//! error-index on the first bad varbind, notWritable, community handling,
//! and the SNMPv1 error mapping of RFC 3584 section 4.4.

use l3vpnd_tests::*;

/// One bad varbind of each kind, against a daemon that has an active VRF
/// "base" with RD 65000:1.
fn bad_varbinds() -> Vec<(&'static str, [String; 3])> {
    let n32 = "n".repeat(32);
    vec![
        (
            "wrongType",
            [vrf_oid(vrf::ROW_STATUS, "g2"), "s".into(), "4".into()],
        ),
        (
            "wrongLength",
            [vrf_oid(vrf::VPN_ID, "g1"), "x".into(), "010203".into()],
        ),
        (
            "wrongValue",
            [vrf_oid(vrf::ADMIN_STATUS, "g1"), "i".into(), "9".into()],
        ),
        (
            "inconsistentValue",
            [vrf_oid(vrf::RD, "base"), "s".into(), "65000:2".into()],
        ),
        (
            "notWritable",
            [scalar_oid(scalar::CONFIGURED_VRFS), "u".into(), "5".into()],
        ),
        (
            "noCreation",
            [
                vrf_oid(vrf::ROW_STATUS, &n32),
                "i".into(),
                rs::CREATE_AND_GO.into(),
            ],
        ),
        (
            "inconsistentName",
            [vrf_oid(vrf::DESCRIPTION, "nope"), "s".into(), "x".into()],
        ),
    ]
}

/// Two good varbinds: create VRF g1, enable notifications.
fn good_varbinds() -> Vec<[String; 3]> {
    vec![
        [
            vrf_oid(vrf::ROW_STATUS, "g1"),
            "i".into(),
            rs::CREATE_AND_GO.into(),
        ],
        [
            scalar_oid(scalar::NOTIFICATION_ENABLE),
            "i".into(),
            "1".into(),
        ],
    ]
}

fn assert_nothing_changed(d: &Daemon) {
    assert!(
        !d.exists(&vrf_oid(vrf::ROW_STATUS, "g1")),
        "g1 must not exist"
    );
    assert!(
        !d.exists(&vrf_oid(vrf::ROW_STATUS, "g2")),
        "g2 must not exist"
    );
    d.expect(&scalar_oid(scalar::NOTIFICATION_ENABLE), &integer(2));
    d.expect(&vrf_oid(vrf::RD, "base"), &string("65000:1"));
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(1));
}

#[test]
fn one_bad_varbind_changes_nothing_and_is_pointed_at() {
    let d = Daemon::new();
    d.create_vrf("base", &[&vrf_oid(vrf::RD, "base"), "s", "65000:1"]);
    for (reason, bad) in bad_varbinds() {
        for pos in 1..=3usize {
            let mut vbs: Vec<[String; 3]> = good_varbinds();
            vbs.insert(pos - 1, bad.clone());
            let flat: Vec<&str> = vbs
                .iter()
                .flat_map(|v| v.iter().map(|s| s.as_str()))
                .collect();
            d.set_err(&flat, reason, pos);
            assert_nothing_changed(&d);
        }
    }
    // The good varbinds alone succeed.
    let flat: Vec<String> = good_varbinds().into_iter().flatten().collect();
    let flat: Vec<&str> = flat.iter().map(|s| s.as_str()).collect();
    d.set_ok(&flat);
    d.expect(&vrf_oid(vrf::ROW_STATUS, "g1"), &integer(1));
    d.expect(&scalar_oid(scalar::NOTIFICATION_ENABLE), &integer(1));
}

/// With two bad varbinds, the error-index names the first one.
#[test]
fn error_index_is_the_first_failing_varbind() {
    let d = Daemon::new();
    d.create_vrf("base", &[&vrf_oid(vrf::RD, "base"), "s", "65000:1"]);
    let bad = bad_varbinds();
    let (r1, b1) = &bad[2]; // wrongValue
    let (_, b2) = &bad[0]; // wrongType
    let vbs: Vec<String> = [good_varbinds()[0].clone(), b1.clone(), b2.clone()].concat();
    let flat: Vec<&str> = vbs.iter().map(|s| s.as_str()).collect();
    d.set_err(&flat, r1, 2);
    assert_nothing_changed(&d);
}

#[test]
fn read_only_objects_are_not_writable() {
    let d = Daemon::new();
    d.create_vrf("ro", &[]);
    let n = "ro";
    let cases = [
        (scalar_oid(scalar::CONFIGURED_VRFS), "u", "1"),
        (scalar_oid(scalar::ACTIVE_VRFS), "u", "1"),
        (scalar_oid(scalar::CONNECTED_INTERFACES), "u", "1"),
        (scalar_oid(scalar::MAX_POSS_RTS), "u", "1"),
        (scalar_oid(scalar::RTE_MX_THRSH_TIME), "u", "1"),
        (vrf_oid(vrf::OPER_STATUS, n), "i", "1"),
        (vrf_oid(vrf::OPER_STATUS, "missing"), "i", "1"),
        (vrf_oid(vrf::CREATION_TIME, n), "t", "1"),
        (vrf_oid(vrf::ACTIVE_INTERFACES, n), "u", "1"),
        (vrf_oid(vrf::ASSOCIATED_INTERFACES, n), "u", "1"),
        (vrf_oid(vrf::LAST_CHANGED, n), "t", "1"),
        (perf_oid(1, n), "u", "1"),
        (perf_oid(3, n), "u", "1"),
        (sec_oid(1, n), "u", "1"),
        (SYS_DESCR.to_string(), "s", "x"),
        (SYS_UPTIME.to_string(), "t", "1"),
        (SYS_OBJECT_ID.to_string(), "o", "1.3.6.1"),
        (SYS_SERVICES.to_string(), "i", "1"),
        (IF_NUMBER.to_string(), "i", "1"),
        (format!("{IF_DESCR}.1"), "s", "x"),
        (SNMP_IN_BAD_COMMUNITY_NAMES.to_string(), "u", "1"),
        // Unknown OIDs inside our subtree.
        (format!("{SCALARS}.99.0"), "i", "1"),
        (format!("{VRF_ENTRY}.16.{}", name_index(n)), "i", "1"),
        (format!("{MPLS_L3VPN}.1.9.1.0"), "i", "1"),
        (format!("{MPLS_L3VPN}.1.2.9.1.1.1.65"), "i", "1"),
    ];
    for (oid, t, v) in &cases {
        d.set_err(&[oid, t, v], "notWritable", 1);
    }
    // In a multi-varbind PDU at position 2, with nothing applied.
    d.set_err(
        &[
            &vrf_oid(vrf::ROW_STATUS, "x"),
            "i",
            rs::CREATE_AND_GO,
            &vrf_oid(vrf::OPER_STATUS, n),
            "i",
            "1",
        ],
        "notWritable",
        2,
    );
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "x")));
}

#[test]
fn read_only_community_set_is_no_access() {
    let d = Daemon::new();
    let vbs = [
        vrf_oid(vrf::ROW_STATUS, "ro"),
        "i".to_string(),
        rs::CREATE_AND_GO.to_string(),
    ];
    let vbs: Vec<&str> = vbs.iter().map(|s| s.as_str()).collect();
    let out = d.snmp("snmpset", &["-v2c", "-c", "public", "-On"], &vbs);
    check_error(&out, &vbs, "noAccess", 1);
    let out = d.snmp("snmpset", &["-v1", "-c", "public", "-On"], &vbs);
    check_error(&out, &vbs, "noSuchName", 1);
    let sc = [SYS_CONTACT, "s", "x"];
    let out = d.snmp("snmpset", &["-v2c", "-c", "public", "-On"], &sc);
    check_error(&out, &sc, "noAccess", 1);
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "ro")));
    // The rw community can read.
    let out = d.snmp("snmpget", &["-v2c", "-c", "private", "-On"], &[SYS_UPTIME]);
    assert!(out.ok(), "{}", out.describe());
}

#[test]
fn wrong_community_gets_no_answer_and_is_counted() {
    let d = Daemon::new();
    let before = d.num(SNMP_IN_BAD_COMMUNITY_NAMES);
    let out = d.snmp(
        "snmpget",
        &["-v2c", "-c", "wrong", "-On", "-t", "1"],
        &[SYS_UPTIME],
    );
    assert!(
        out.timed_out(),
        "a wrong community must get no answer:\n{}",
        out.describe()
    );
    assert!(out.stdout.is_empty());
    assert_eq!(d.num(SNMP_IN_BAD_COMMUNITY_NAMES), before + 1);
    // v1, and a SET: same.
    let out = d.snmp(
        "snmpget",
        &["-v1", "-c", "Public", "-On", "-t", "1"],
        &[SYS_UPTIME],
    );
    assert!(out.timed_out(), "{}", out.describe());
    let out = d.snmp(
        "snmpset",
        &["-v2c", "-c", "privatex", "-On", "-t", "1"],
        &[SYS_CONTACT, "s", "x"],
    );
    assert!(out.timed_out(), "{}", out.describe());
    assert_eq!(d.num(SNMP_IN_BAD_COMMUNITY_NAMES), before + 3);
    assert!(!d.val(SYS_CONTACT).contains("\"x\""));
}

#[test]
fn v1_error_mapping_rfc3584() {
    let d = Daemon::new();
    d.create_vrf("base", &[&vrf_oid(vrf::RD, "base"), "s", "65000:1"]);
    for (v2, bad) in bad_varbinds() {
        let v1 = match v2 {
            "notWritable" | "noCreation" | "inconsistentName" | "noAccess" => "noSuchName",
            "wrongType" | "wrongLength" | "wrongValue" | "inconsistentValue" | "wrongEncoding" => {
                "badValue"
            }
            _ => "genErr",
        };
        for pos in [1usize, 2] {
            let mut vbs: Vec<[String; 3]> = good_varbinds();
            vbs.insert(pos - 1, bad.clone());
            let flat: Vec<&str> = vbs
                .iter()
                .flat_map(|v| v.iter().map(|s| s.as_str()))
                .collect();
            d.set_v1_err(&flat, v1, pos);
            assert_nothing_changed(&d);
        }
    }
    // v1 GET of missing instances and objects: noSuchName with the index.
    let missing = vrf_oid(vrf::RD, "nope");
    let out = d.get_v1(&[SYS_UPTIME, &missing]);
    assert_eq!(
        out.reason().as_deref(),
        Some("noSuchName"),
        "{}",
        out.describe()
    );
    assert_eq!(
        out.failed_object(),
        Some(format!(".{missing}")),
        "{}",
        out.describe()
    );
    let out = d.get_v1(&["1.3.6.1.2.1.10.166.11.1.1.99.0"]);
    assert_eq!(
        out.reason().as_deref(),
        Some("noSuchName"),
        "{}",
        out.describe()
    );
    // v1 GETNEXT past the end of the MIB view: noSuchName.
    let out = d.snmp(
        "snmpgetnext",
        &["-v1", "-c", "public", "-On"],
        &["1.3.6.1.6.3.99.99.99"],
    );
    assert_eq!(
        out.reason().as_deref(),
        Some("noSuchName"),
        "{}",
        out.describe()
    );
    // v1 SET that succeeds.
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "v1ok"), "i", rs::DESTROY]);
    let out = d.set_v1(&[&vrf_oid(vrf::ROW_STATUS, "v1ok"), "i", rs::CREATE_AND_GO]);
    assert!(out.ok(), "{}", out.describe());
    d.expect(&vrf_oid(vrf::ROW_STATUS, "v1ok"), &integer(1));
}

/// v2c GETs of missing things: exceptions in the varbinds, not errors.
#[test]
fn v2c_get_exceptions() {
    let d = Daemon::new();
    d.create_vrf("x", &[]);
    let out = d.get(&[
        &vrf_oid(vrf::RD, "x"),
        &vrf_oid(vrf::RD, "nope"),
        "1.3.6.1.2.1.10.166.11.1.1.99.0",
        "1.3.6.1.4.1.32473.99999.1",
    ]);
    assert!(out.ok(), "{}", out.describe());
    assert_eq!(out.stdout[0], line(&vrf_oid(vrf::RD, "x"), EMPTY));
    assert_eq!(
        out.stdout[1],
        line(
            &vrf_oid(vrf::RD, "nope"),
            "No Such Instance currently exists at this OID"
        )
    );
    let v2 = out.stdout[2].split_once(" = ").unwrap().1;
    assert!(v2.starts_with("No Such"), "{}", out.describe());
    let v3 = out.stdout[3].split_once(" = ").unwrap().1;
    assert!(v3.starts_with("No Such"), "{}", out.describe());
    // A scalar without its .0 or with another instance: noSuchInstance; an
    // unknown column: noSuchObject.
    let out = d.get(&[
        "1.3.6.1.2.1.10.166.11.1.1.1",
        "1.3.6.1.2.1.10.166.11.1.1.1.1",
        &format!("{VRF_ENTRY}.16.{}", name_index("x")),
    ]);
    assert!(out.ok(), "{}", out.describe());
    assert_eq!(
        out.stdout[0],
        line(
            "1.3.6.1.2.1.10.166.11.1.1.1",
            "No Such Instance currently exists at this OID"
        )
    );
    assert_eq!(
        out.stdout[1],
        line(
            "1.3.6.1.2.1.10.166.11.1.1.1.1",
            "No Such Instance currently exists at this OID"
        )
    );
    assert!(
        out.stdout[2].ends_with("= No Such Object available on this agent at this OID"),
        "{}",
        out.describe()
    );
    // An index column is never returned.
    let idx = format!("{VRF_ENTRY}.1.{}", name_index("x"));
    let out = d.get(&[&idx]);
    assert!(out.stdout[0].contains("No Such"), "{}", out.describe());
}
