//! GetNext and GetBulk: identical walks, strict ordering, index encoding
//! order (length first), no index columns, edge cases, and names via the
//! shipped MIB files (snmptable).

use l3vpnd_tests::*;

/// VRFs whose order tests the length-prefixed index: A, B, AA, ab.
fn populate(d: &Daemon) {
    for n in ["B", "AA", "ab", "A"] {
        d.create_vrf(n, &[]);
    }
    d.set_ok(&[
        &vrf_oid(vrf::RD, "AA"),
        "s",
        "65000:1",
        &vrf_oid(vrf::ROW_STATUS, "AA"),
        "i",
        rs::NOT_IN_SERVICE,
    ]);
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "AA"), "i", rs::ACTIVE]);
    d.set_ok(&[
        &rt_oid(rt::RT, "B", 2, rt::IMPORT),
        "s",
        "65000:2",
        &rt_oid(rt::ROW_STATUS, "B", 2, rt::IMPORT),
        "i",
        rs::CREATE_AND_GO,
        &rt_oid(rt::ROW_STATUS, "B", 1, rt::BOTH),
        "i",
        rs::CREATE_AND_GO,
        &rt_oid(rt::ROW_STATUS, "A", 10, rt::EXPORT),
        "i",
        rs::CREATE_AND_GO,
        &ifconf_oid(ifconf::ROW_STATUS, "ab", 1),
        "i",
        rs::CREATE_AND_GO,
    ]);
}

fn oids(v: &[(String, String)]) -> Vec<String> {
    v.iter().map(|(o, _)| o.clone()).collect()
}

#[test]
fn getnext_and_getbulk_walks_of_the_l3vpn_subtree_are_identical() {
    let d = Daemon::new();
    populate(&d);
    let w = d.walk(MPLS_L3VPN);
    let b50 = d.bulkwalk(MPLS_L3VPN, 50);
    let b7 = d.bulkwalk(MPLS_L3VPN, 7);
    let b1 = d.bulkwalk(MPLS_L3VPN, 1);
    assert!(!w.is_empty());
    assert_eq!(w, b50, "snmpwalk vs snmpbulkwalk -Cr50");
    assert_eq!(w, b7, "snmpwalk vs snmpbulkwalk -Cr7");
    assert_eq!(w, b1, "snmpwalk vs snmpbulkwalk -Cr1");
    assert_strictly_increasing(&w);
    for (o, v) in &w {
        assert!(
            o.starts_with(&format!(".{MPLS_L3VPN}.")),
            "outside the subtree: {o}"
        );
        assert!(
            !v.starts_with("No Such") && !v.starts_with("No more"),
            "{o} = {v}"
        );
        // Index columns are never returned.
        for idx_col in [
            format!(".{VRF_ENTRY}.1."),
            format!(".{RT_ENTRY}.2."),
            format!(".{RT_ENTRY}.3."),
            format!(".{IFCONF_ENTRY}.1."),
        ] {
            assert!(!o.starts_with(&idx_col), "index column returned: {o}");
        }
    }
    // VRF rows ordered by name length, then octets; every column 2..15.
    let names = ["A", "B", "AA", "ab"];
    for col in 2..=15 {
        let pfx = format!(".{VRF_ENTRY}.{col}.");
        let got: Vec<String> = oids(&w)
            .into_iter()
            .filter(|o| o.starts_with(&pfx))
            .collect();
        let want: Vec<String> = names
            .iter()
            .map(|n| format!(".{}", vrf_oid(col, n)))
            .collect();
        assert_eq!(got, want, "VRF column {col}");
    }
    for col in 1..=5 {
        let pfx = format!(".{PERF_ENTRY}.{col}.");
        let got: Vec<String> = oids(&w)
            .into_iter()
            .filter(|o| o.starts_with(&pfx))
            .collect();
        let want: Vec<String> = names
            .iter()
            .map(|n| format!(".{}", perf_oid(col, n)))
            .collect();
        assert_eq!(got, want, "Perf column {col}");
    }
    for col in 1..=2 {
        let pfx = format!(".{SEC_ENTRY}.{col}.");
        let got: Vec<String> = oids(&w)
            .into_iter()
            .filter(|o| o.starts_with(&pfx))
            .collect();
        let want: Vec<String> = names
            .iter()
            .map(|n| format!(".{}", sec_oid(col, n)))
            .collect();
        assert_eq!(got, want, "Sec column {col}");
    }
    // RT rows: A.10.export, B.1.both, B.2.import; columns 4..7.
    for col in 4..=7 {
        let pfx = format!(".{RT_ENTRY}.{col}.");
        let got: Vec<String> = oids(&w)
            .into_iter()
            .filter(|o| o.starts_with(&pfx))
            .collect();
        let want = vec![
            format!(".{}", rt_oid(col, "A", 10, rt::EXPORT)),
            format!(".{}", rt_oid(col, "B", 1, rt::BOTH)),
            format!(".{}", rt_oid(col, "B", 2, rt::IMPORT)),
        ];
        assert_eq!(got, want, "RT column {col}");
    }
    for col in 2..=5 {
        let pfx = format!(".{IFCONF_ENTRY}.{col}.");
        let got: Vec<String> = oids(&w)
            .into_iter()
            .filter(|o| o.starts_with(&pfx))
            .collect();
        assert_eq!(
            got,
            vec![format!(".{}", ifconf_oid(col, "ab", 1))],
            "IfConf column {col}"
        );
    }
    // The seven scalars.
    let got: Vec<String> = oids(&w)
        .into_iter()
        .filter(|o| o.starts_with(&format!(".{SCALARS}.")))
        .collect();
    let want: Vec<String> = (1..=7).map(|n| format!(".{}", scalar_oid(n))).collect();
    assert_eq!(got, want);
    // Values seen in the walk are those of a GET.
    let rd = w
        .iter()
        .find(|(o, _)| *o == format!(".{}", vrf_oid(vrf::RD, "AA")))
        .unwrap();
    assert_eq!(rd.1, string("65000:1"));
}

#[test]
fn whole_tree_walks_agree() {
    let d = Daemon::new();
    populate(&d);
    let w = d.walk(".1");
    let b50 = d.bulkwalk(".1", 50);
    let b7 = d.bulkwalk(".1", 7);
    assert!(w.len() > 50, "the tree is too small: {} objects", w.len());
    // Counters and sysUpTime move between walks: compare the OIDs.
    assert_eq!(
        oids(&w),
        oids(&b50),
        "snmpwalk vs snmpbulkwalk -Cr50 from .1"
    );
    assert_eq!(oids(&w), oids(&b7), "snmpwalk vs snmpbulkwalk -Cr7 from .1");
    assert_strictly_increasing(&w);
    assert_strictly_increasing(&b50);
    for (o, v) in &w {
        assert!(!v.starts_with("No Such"), "{o} = {v}");
    }
    // The L3VPN part of the whole-tree walk equals the subtree walk.
    let sub: Vec<(String, String)> = w
        .iter()
        .filter(|(o, _)| o.starts_with(&format!(".{MPLS_L3VPN}.")))
        .cloned()
        .collect();
    assert_eq!(sub, d.walk(MPLS_L3VPN));
    // Groups that must be there.
    for pfx in [
        SYS_DESCR,
        SYS_UPTIME,
        IF_NUMBER,
        IF_DESCR,
        SNMP_IN_PKTS,
        IF_X_TABLE,
    ] {
        assert!(
            w.iter().any(|(o, _)| o.starts_with(&format!(".{pfx}"))),
            "{pfx} missing from the walk"
        );
    }
    // A v1 walk sees the same objects minus Counter64 ones.
    let out = d.snmp("snmpwalk", V1_RO, &[".1"]);
    assert!(out.status.success(), "{}", out.describe());
    let v1 = out.varbinds();
    assert!(
        v1.iter().all(|(_, v)| !v.starts_with("Counter64")),
        "v1 walk returned Counter64"
    );
    let v2_no64: Vec<String> = w
        .iter()
        .filter(|(_, v)| !v.starts_with("Counter64"))
        .map(|(o, _)| o.clone())
        .collect();
    assert_eq!(oids(&v1), v2_no64, "v1 walk = v2c walk without Counter64");
}

#[test]
fn getnext_edge_cases() {
    let d = Daemon::new();
    let rs_col = format!("{VRF_ENTRY}.{}", vrf::ROW_STATUS);
    // Empty VRF table: the next object after the RowStatus column is not in it.
    let out = d.snmp("snmpgetnext", V2_RO, &[&rs_col]);
    assert!(out.ok(), "{}", out.describe());
    assert!(
        !out.stdout[0].starts_with(&format!(".{rs_col}.")),
        "{}",
        out.describe()
    );
    d.create_vrf("red", &[]);
    d.create_vrf("re", &[]);
    let next = |from: &str| -> String {
        let out = d.snmp("snmpgetnext", V2_RO, &[from]);
        assert!(out.ok(), "{}", out.describe());
        out.stdout[0].split_once(" = ").unwrap().0.to_string()
    };
    let red = format!(".{}", vrf_oid(vrf::ROW_STATUS, "red"));
    let re = format!(".{}", vrf_oid(vrf::ROW_STATUS, "re"));
    assert_eq!(next(&rs_col), re);
    assert_eq!(next(&format!("{rs_col}.2")), re);
    assert_eq!(next(&format!("{rs_col}.2.114.101")), red);
    assert_eq!(next(&format!("{rs_col}.3")), red);
    assert_eq!(next(&format!("{rs_col}.3.114")), red);
    assert_eq!(next(&format!("{rs_col}.3.114.101.99.1")), red);
    // Past the last row of the column: the first row of the next column.
    let admin_re = format!(".{}", vrf_oid(vrf::ADMIN_STATUS, "re"));
    assert_eq!(next(&red[1..]), admin_re);
    assert_eq!(next(&format!("{rs_col}.3.114.101.100.0")), admin_re);
    assert_eq!(next(&format!("{rs_col}.200")), admin_re);
    assert_eq!(next(&format!("{rs_col}.4294967295.1")), admin_re);
    // From the index column (not accessible) to column 2.
    assert_eq!(
        next(&format!("{VRF_ENTRY}.1")),
        format!(".{}", vrf_oid(vrf::VPN_ID, "re"))
    );
    // From the table and the entry OIDs.
    assert_eq!(
        next("1.3.6.1.2.1.10.166.11.1.2.2"),
        format!(".{}", vrf_oid(vrf::VPN_ID, "re"))
    );
    // The end of the MIB view.
    let out = d.snmp("snmpgetnext", V2_RO, &["1.3.6.1.6.3.99.99.99"]);
    assert!(out.ok(), "{}", out.describe());
    assert!(
        out.stdout[0].contains("No more variables left in this MIB View"),
        "{}",
        out.describe()
    );
}

#[test]
fn getbulk_non_repeaters_and_repetitions() {
    let d = Daemon::new();
    populate(&d);
    let rs_col = format!("{VRF_ENTRY}.{}", vrf::ROW_STATUS);
    let out = d.snmp(
        "snmpbulkget",
        &["-v2c", "-c", "public", "-On", "-Cn1", "-Cr3"],
        &["1.3.6.1.2.1.1.1", &rs_col],
    );
    assert!(out.ok(), "{}", out.describe());
    let got = oids(&out.varbinds());
    assert_eq!(
        got,
        vec![
            format!(".{SYS_DESCR}"),
            format!(".{}", vrf_oid(vrf::ROW_STATUS, "A")),
            format!(".{}", vrf_oid(vrf::ROW_STATUS, "B")),
            format!(".{}", vrf_oid(vrf::ROW_STATUS, "AA")),
        ]
    );
    // Two repeaters interleave.
    let admin_col = format!("{VRF_ENTRY}.{}", vrf::ADMIN_STATUS);
    let out = d.snmp(
        "snmpbulkget",
        &["-v2c", "-c", "public", "-On", "-Cn0", "-Cr2"],
        &[&rs_col, &admin_col],
    );
    let got = oids(&out.varbinds());
    assert_eq!(
        got,
        vec![
            format!(".{}", vrf_oid(vrf::ROW_STATUS, "A")),
            format!(".{}", vrf_oid(vrf::ADMIN_STATUS, "A")),
            format!(".{}", vrf_oid(vrf::ROW_STATUS, "B")),
            format!(".{}", vrf_oid(vrf::ADMIN_STATUS, "B")),
        ]
    );
    // Near the end of the view: endOfMibView repeated, no error.
    let out = d.snmp(
        "snmpbulkget",
        &["-v2c", "-c", "public", "-On", "-Cn0", "-Cr3"],
        &["1.3.6.1.6.3.99.99.99"],
    );
    assert!(out.ok(), "{}", out.describe());
    assert!(
        out.stdout.iter().all(|l| l.contains("No more variables")),
        "{}",
        out.describe()
    );
}

#[test]
fn snmptable_and_names_with_the_shipped_mibs() {
    let d = Daemon::new();
    d.create_vrf(
        "red",
        &[
            &vrf_oid(vrf::RD, "red"),
            "s",
            "65000:1",
            &vrf_oid(vrf::DESCRIPTION, "red"),
            "s",
            "red vrf",
        ],
    );
    // Create by name, with enum labels ('=' takes the type from the MIB).
    let out = d.snmp_names(
        "snmpset",
        "private",
        &[],
        &[
            "MPLS-L3VPN-STD-MIB::mplsL3VpnVrfRD.\"blue\"",
            "=",
            "65000:2",
            "MPLS-L3VPN-STD-MIB::mplsL3VpnVrfConfStorageType.\"blue\"",
            "=",
            "nonVolatile",
            "MPLS-L3VPN-STD-MIB::mplsL3VpnVrfConfRowStatus.\"blue\"",
            "=",
            "createAndGo",
        ],
    );
    assert!(out.ok(), "{}", out.describe());
    d.expect(&vrf_oid(vrf::RD, "blue"), &string("65000:2"));
    d.expect(&vrf_oid(vrf::STORAGE_TYPE, "blue"), &integer(3));
    // A GET by name prints names.
    let out = d.snmp_names(
        "snmpget",
        "public",
        &[],
        &["MPLS-L3VPN-STD-MIB::mplsL3VpnVrfConfRowStatus.\"red\""],
    );
    assert!(out.ok(), "{}", out.describe());
    assert_eq!(
        out.stdout,
        vec!["MPLS-L3VPN-STD-MIB::mplsL3VpnVrfConfRowStatus.\"red\" = INTEGER: active(1)"]
    );
    let out = d.snmp_names(
        "snmpget",
        "public",
        &[],
        &["MPLS-L3VPN-STD-MIB::mplsL3VpnConfiguredVrfs.0"],
    );
    assert_eq!(
        out.stdout,
        vec!["MPLS-L3VPN-STD-MIB::mplsL3VpnConfiguredVrfs.0 = Gauge32: 2"],
        "{}",
        out.describe()
    );
    // snmptable of the VRF table.
    let out = d.snmp_names(
        "snmptable",
        "public",
        &["-Cf", ",", "-Ci"],
        &["MPLS-L3VPN-STD-MIB::mplsL3VpnVrfTable"],
    );
    assert!(out.ok(), "{}", out.describe());
    let lines = &out.stdout;
    assert_eq!(
        lines[0],
        "SNMP table: MPLS-L3VPN-STD-MIB::mplsL3VpnVrfTable",
        "{}",
        out.describe()
    );
    assert_eq!(
        lines[1],
        "index,mplsL3VpnVrfVpnId,mplsL3VpnVrfDescription,mplsL3VpnVrfRD,mplsL3VpnVrfCreationTime,\
         mplsL3VpnVrfOperStatus,mplsL3VpnVrfActiveInterfaces,mplsL3VpnVrfAssociatedInterfaces,\
         mplsL3VpnVrfConfMidRteThresh,mplsL3VpnVrfConfHighRteThresh,mplsL3VpnVrfConfMaxRoutes,\
         mplsL3VpnVrfConfLastChanged,mplsL3VpnVrfConfRowStatus,mplsL3VpnVrfConfAdminStatus,\
         mplsL3VpnVrfConfStorageType",
        "{}",
        out.describe()
    );
    assert_eq!(lines.len(), 4, "header + 2 rows:\n{}", out.describe());
    // Rows in index order: "red" (3 octets) before "blue" (4 octets).
    let row = |l: &str| -> Vec<String> { l.split(',').map(|s| s.to_string()).collect() };
    let red = row(&lines[2]);
    let blue = row(&lines[3]);
    // OCTET STRINGs without a DISPLAY-HINT print quoted; SnmpAdminString
    // (Description, "255t") does not.
    assert_eq!(red[0], "\"red\"", "{}", out.describe());
    assert_eq!(blue[0], "\"blue\"", "{}", out.describe());
    let stable = |r: &[String]| -> Vec<String> {
        // Drop the index and the two TimeStamp columns.
        r.iter()
            .enumerate()
            .filter(|(i, _)| ![0, 4, 11].contains(i))
            .map(|(_, s)| s.clone())
            .collect()
    };
    assert_eq!(
        stable(&red),
        [
            "\"\"",
            "red vrf",
            "\"65000:1\"",
            "down",
            "0",
            "0",
            "0",
            "0",
            "0",
            "active",
            "up",
            "volatile"
        ],
        "{}",
        out.describe()
    );
    assert_eq!(
        stable(&blue),
        [
            "\"\"",
            "",
            "\"65000:2\"",
            "down",
            "0",
            "0",
            "0",
            "0",
            "0",
            "active",
            "up",
            "nonVolatile"
        ],
        "{}",
        out.describe()
    );
}
