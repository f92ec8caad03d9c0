//! The MPLS label manager as L3VPND-MIB shows it (shadow FIB, no root):
//! per-VRF labels from the dynamic range, label modes (per VRF, per prefix,
//! per next hop) and l3vpndLabelsAllocated, persistence with nonVolatile
//! VRFs, exhaustion -> resourceUnavailable on the SET that needs a label,
//! and the label range scalars.

use l3vpnd_tests::*;

fn label(d: &Daemon, vrf: &str) -> i64 {
    d.num(&ext::vrf_oid(ext::LABEL, vrf))
}

fn allocated(d: &Daemon) -> i64 {
    d.num(&ext::scalar_oid(ext::LABELS_ALLOCATED))
}

fn set_mode(d: &Daemon, vrf: &str, mode: &str) {
    d.set_ok(&[&ext::vrf_oid(ext::LABEL_MODE, vrf), "i", mode]);
}

fn route(d: &Daemon, vrf: &str, dest: &str, pfx: u32, nh: Option<&str>, status: &str) {
    d.set_ok(&[&rte_oid(rte::STATUS, vrf, dest, pfx, nh), "i", status]);
}

fn range(d: &Daemon) -> [i64; 4] {
    [
        d.num(&ext::scalar_oid(ext::LABEL_STATIC_MIN)),
        d.num(&ext::scalar_oid(ext::LABEL_STATIC_MAX)),
        d.num(&ext::scalar_oid(ext::LABEL_DYNAMIC_MIN)),
        d.num(&ext::scalar_oid(ext::LABEL_DYNAMIC_MAX)),
    ]
}

/// Fresh store: labels from the bottom of the dynamic range in creation
/// order, only for active VRFs; table ids from 10000 at row creation;
/// FIB status; release on destroy without reuse of a label still held.
#[test]
fn per_vrf_labels_tables_and_fib_status() {
    let d = Daemon::new();
    assert_eq!(allocated(&d), 0);
    d.create_vrf("A", &[]);
    d.create_vrf("B", &[]);
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "C"), "i", rs::CREATE_AND_WAIT]);
    d.expect(&ext::vrf_oid(ext::LABEL_MODE, "A"), &integer(1));
    assert_eq!(label(&d, "A"), 16000);
    assert_eq!(label(&d, "B"), 16001);
    assert_eq!(label(&d, "C"), 0, "a VRF that is not active holds no label");
    assert_eq!(allocated(&d), 2);
    d.expect(&ext::vrf_oid(ext::TABLE_ID, "A"), &gauge(10000));
    d.expect(&ext::vrf_oid(ext::TABLE_ID, "B"), &gauge(10001));
    d.expect(&ext::vrf_oid(ext::TABLE_ID, "C"), &gauge(10002));
    wait_for("A installed", std::time::Duration::from_secs(5), || {
        d.num(&ext::vrf_oid(ext::FIB_STATUS, "A")) == ext::FIB_INSTALLED
    });
    d.expect(&ext::vrf_oid(ext::FIB_REASON, "A"), EMPTY);
    d.expect(
        &ext::vrf_oid(ext::FIB_STATUS, "C"),
        &integer(ext::FIB_NOT_APPLICABLE),
    );
    d.expect(&ext::scalar_oid(ext::FIB_BACKEND), &integer(1));

    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "C"), "i", rs::ACTIVE]);
    assert_eq!(label(&d, "C"), 16002);
    assert_eq!(allocated(&d), 3);
    // notInService keeps the VRF's label (no relabel churn while a row is
    // taken out of service to be changed).
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "B"), "i", rs::NOT_IN_SERVICE]);
    assert_eq!(label(&d, "B"), 16001);
    assert_eq!(allocated(&d), 3);
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "B"), "i", rs::ACTIVE]);
    let b = label(&d, "B");
    assert_eq!(b, 16001);
    assert_eq!(allocated(&d), 3);
    // Destroy releases.
    d.destroy_vrf("A");
    assert_eq!(allocated(&d), 2);
    assert!(!d.exists(&ext::vrf_oid(ext::LABEL, "A")));
    d.create_vrf("D", &[]);
    let dl = label(&d, "D");
    assert!(
        (16000..=1048575).contains(&dl) && dl != b && dl != 16002,
        "D's label {dl} collides with B {b} or C 16002"
    );
    assert_eq!(allocated(&d), 3);
    // Every label in the table differs.
    let labels: Vec<i64> = ["B", "C", "D"].iter().map(|v| label(&d, v)).collect();
    let set: std::collections::BTreeSet<i64> = labels.iter().copied().collect();
    assert_eq!(set.len(), 3, "{labels:?}");
}

/// perPrefix gives each prefix with an active route a label, perNextHop each
/// next hop; the VRF label is 0 in those modes; l3vpndLabelsAllocated counts
/// every label; mode changes at creation and later release and reallocate.
#[test]
fn label_modes_and_labels_allocated() {
    let d = Daemon::new();
    d.create_vrf("A", &[]);
    assert_eq!(label(&d, "A"), 16000);
    let nh1 = Some("192.0.2.1");
    let nh2 = Some("192.0.2.2");
    let nh6 = Some("2001:db8::1");
    route(&d, "A", "10.1.0.0", 16, nh1, rs::CREATE_AND_GO);
    route(&d, "A", "10.1.0.0", 16, nh2, rs::CREATE_AND_GO);
    route(&d, "A", "10.2.0.0", 16, nh1, rs::CREATE_AND_GO);
    route(&d, "A", "10.3.0.0", 16, nh2, rs::CREATE_AND_GO);
    route(&d, "A", "2001:db8:1::", 48, nh6, rs::CREATE_AND_GO);
    route(&d, "A", "10.4.0.0", 16, nh1, rs::CREATE_AND_WAIT);
    assert_eq!(allocated(&d), 1, "perVrf: one label whatever the routes");

    // perPrefix: 10.1/16, 10.2/16, 10.3/16, 2001:db8:1::/48 (not 10.4/16,
    // whose only route is not active).
    set_mode(&d, "A", ext::PER_PREFIX);
    d.expect(&ext::vrf_oid(ext::LABEL_MODE, "A"), &integer(2));
    assert_eq!(label(&d, "A"), 0);
    assert_eq!(allocated(&d), 4);
    route(&d, "A", "10.4.0.0", 16, nh1, rs::ACTIVE);
    assert_eq!(allocated(&d), 5);
    // A second route to a prefix that has a label adds none; removing one of
    // two keeps it; removing the last releases it.
    route(&d, "A", "10.2.0.0", 16, nh2, rs::CREATE_AND_GO);
    assert_eq!(allocated(&d), 5);
    route(&d, "A", "10.2.0.0", 16, nh2, rs::DESTROY);
    assert_eq!(allocated(&d), 5);
    route(&d, "A", "10.4.0.0", 16, nh1, rs::NOT_IN_SERVICE);
    assert_eq!(allocated(&d), 4);
    route(&d, "A", "10.4.0.0", 16, nh1, rs::DESTROY);
    assert_eq!(allocated(&d), 4);

    // perNextHop: 192.0.2.1, 192.0.2.2, 2001:db8::1.
    set_mode(&d, "A", ext::PER_NEXT_HOP);
    d.expect(&ext::vrf_oid(ext::LABEL_MODE, "A"), &integer(3));
    assert_eq!(label(&d, "A"), 0);
    assert_eq!(allocated(&d), 3);
    route(
        &d,
        "A",
        "10.9.0.0",
        16,
        Some("192.0.2.9"),
        rs::CREATE_AND_GO,
    );
    assert_eq!(allocated(&d), 4);
    route(
        &d,
        "A",
        "10.8.0.0",
        16,
        Some("192.0.2.9"),
        rs::CREATE_AND_GO,
    );
    assert_eq!(allocated(&d), 4);
    route(&d, "A", "10.9.0.0", 16, Some("192.0.2.9"), rs::DESTROY);
    assert_eq!(allocated(&d), 4);
    route(&d, "A", "10.8.0.0", 16, Some("192.0.2.9"), rs::DESTROY);
    assert_eq!(allocated(&d), 3);

    // A second VRF created in perPrefix mode in the creating SET: no VRF
    // label.
    d.create_vrf(
        "P",
        &[&ext::vrf_oid(ext::LABEL_MODE, "P"), "i", ext::PER_PREFIX],
    );
    d.expect(&ext::vrf_oid(ext::LABEL_MODE, "P"), &integer(2));
    assert_eq!(label(&d, "P"), 0);
    assert_eq!(allocated(&d), 3);
    route(&d, "P", "0.0.0.0", 0, nh1, rs::CREATE_AND_GO);
    route(&d, "P", "::", 0, nh6, rs::CREATE_AND_GO);
    assert_eq!(allocated(&d), 5);

    // Back to perVrf: one label for A again.
    set_mode(&d, "A", ext::PER_VRF);
    let a = label(&d, "A");
    assert!((16000..=1048575).contains(&a), "A's label {a}");
    assert_eq!(allocated(&d), 3, "A's VRF label and P's two prefixes");
    // The mode is writable whatever the row's status.
    // P has been active before, so back in perVrf mode it holds a VRF label
    // even while notInService.
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "P"), "i", rs::NOT_IN_SERVICE]);
    set_mode(&d, "P", ext::PER_VRF);
    let p = label(&d, "P");
    assert_ne!(p, 0, "notInService keeps a label once active");
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "P"), "i", rs::ACTIVE]);
    assert_eq!(label(&d, "P"), p);
    assert_eq!(allocated(&d), 2);

    // Values outside the enumeration; a VRF that does not exist; read-only
    // columns.
    d.set_err(
        &[&ext::vrf_oid(ext::LABEL_MODE, "A"), "i", "0"],
        "wrongValue",
        1,
    );
    d.set_err(
        &[
            &ext::vrf_oid(ext::LABEL_MODE, "P"),
            "i",
            "2",
            &ext::vrf_oid(ext::LABEL_MODE, "A"),
            "i",
            "4",
        ],
        "wrongValue",
        2,
    );
    d.set_err(
        &[&ext::vrf_oid(ext::LABEL_MODE, "none"), "i", "2"],
        "inconsistentName",
        1,
    );
    d.expect(&ext::vrf_oid(ext::LABEL_MODE, "P"), &integer(1));
    for col in [
        ext::LABEL,
        ext::TABLE_ID,
        ext::FIB_STATUS,
        ext::FIB_REASON,
        ext::FIB_LAST_CHANGE,
    ] {
        let (t, v) = match col {
            ext::FIB_STATUS => ("i", "2"),
            ext::FIB_REASON => ("s", "x"),
            ext::FIB_LAST_CHANGE => ("t", "5"),
            _ => ("u", "5"),
        };
        d.set_err(&[&ext::vrf_oid(col, "A"), t, v], "notWritable", 1);
    }
    // Destroying the VRFs releases everything.
    d.destroy_vrf("A");
    d.destroy_vrf("P");
    assert_eq!(allocated(&d), 0);
}

/// Labels, modes and the range scalars are kept across SIGTERM and kill -9
/// with nonVolatile VRFs; a volatile VRF's label is released.
#[test]
fn labels_persist_across_restart() {
    let mut d = Daemon::new();
    let nv = ["i", st::NON_VOLATILE];
    let x_st = vrf_oid(vrf::STORAGE_TYPE, "X");
    let y_st = vrf_oid(vrf::STORAGE_TYPE, "Y");
    d.create_vrf("X", &[&x_st, nv[0], nv[1]]);
    d.create_vrf("Z", &[]); // volatile
    d.create_vrf(
        "Y",
        &[
            &y_st,
            nv[0],
            nv[1],
            &ext::vrf_oid(ext::LABEL_MODE, "Y"),
            "i",
            ext::PER_PREFIX,
        ],
    );
    route(
        &d,
        "Y",
        "10.1.0.0",
        16,
        Some("192.0.2.1"),
        rs::CREATE_AND_GO,
    );
    route(
        &d,
        "Y",
        "10.2.0.0",
        16,
        Some("192.0.2.1"),
        rs::CREATE_AND_GO,
    );
    d.create_vrf("W", &[&vrf_oid(vrf::STORAGE_TYPE, "W"), nv[0], nv[1]]);
    assert_eq!(label(&d, "X"), 16000);
    assert_eq!(label(&d, "Z"), 16001);
    assert_eq!(label(&d, "Y"), 0);
    let w = label(&d, "W");
    assert_eq!(w, 16004, "after X, Z and Y's two prefixes");
    assert_eq!(allocated(&d), 5);
    let tables: Vec<i64> = ["X", "Y", "W"]
        .iter()
        .map(|v| d.num(&ext::vrf_oid(ext::TABLE_ID, v)))
        .collect();
    assert_eq!(tables, [10000, 10002, 10003]);
    // The static range moved up, the dynamic range with it (one PDU).
    d.set_ok(&[
        &ext::scalar_oid(ext::LABEL_STATIC_MAX),
        "u",
        "15000",
        &ext::scalar_oid(ext::LABEL_DYNAMIC_MIN),
        "u",
        "15500",
    ]);
    assert_eq!(range(&d), [16, 15000, 15500, 1048575]);

    d.restart();
    assert_eq!(label(&d, "X"), 16000, "same label after SIGTERM");
    assert_eq!(label(&d, "W"), w);
    assert_eq!(label(&d, "Y"), 0);
    d.expect(&ext::vrf_oid(ext::LABEL_MODE, "Y"), &integer(2));
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "Z")));
    assert_eq!(allocated(&d), 4, "X, W and Y's two prefixes; Z is gone");
    assert_eq!(range(&d), [16, 15000, 15500, 1048575]);
    let tables2: Vec<i64> = ["X", "Y", "W"]
        .iter()
        .map(|v| d.num(&ext::vrf_oid(ext::TABLE_ID, v)))
        .collect();
    assert_eq!(tables2, tables, "table ids kept");

    // A new VRF gets a label no kept VRF holds.
    d.create_vrf("N", &[&vrf_oid(vrf::STORAGE_TYPE, "N"), nv[0], nv[1]]);
    let n = label(&d, "N");
    assert!(n >= 15500 && n != 16000 && n != w, "N's label {n}");
    assert_eq!(allocated(&d), 5);
    route(
        &d,
        "Y",
        "10.3.0.0",
        16,
        Some("192.0.2.1"),
        rs::CREATE_AND_GO,
    );
    assert_eq!(allocated(&d), 6);

    d.kill9();
    d.launch();
    assert_eq!(label(&d, "X"), 16000, "same label after kill -9");
    assert_eq!(label(&d, "W"), w);
    assert_eq!(label(&d, "N"), n);
    assert_eq!(allocated(&d), 6);
    assert_eq!(range(&d), [16, 15000, 15500, 1048575]);
    // Released labels stay released after a restart.
    d.destroy_vrf("X");
    d.restart();
    assert_eq!(allocated(&d), 5);
    assert!(!d.exists(&ext::vrf_oid(ext::LABEL, "X")));
}

/// A dynamic range with no free label: the SET that needs one fails with
/// resourceUnavailable (createAndGo of a VRF, active, a route in perPrefix
/// mode, a mode change) and changes nothing; moving the range relabels.
#[test]
fn label_exhaustion_is_resource_unavailable() {
    let d = Daemon::new();
    d.create_vrf("A", &[]);
    assert_eq!(label(&d, "A"), 16000);
    // Moving the range replaces the labels outside it.
    d.set_ok(&[
        &ext::scalar_oid(ext::LABEL_DYNAMIC_MIN),
        "u",
        "20000",
        &ext::scalar_oid(ext::LABEL_DYNAMIC_MAX),
        "u",
        "20000",
    ]);
    assert_eq!(range(&d), [16, 15999, 20000, 20000]);
    assert_eq!(label(&d, "A"), 20000);
    assert_eq!(allocated(&d), 1);

    // A second active VRF: no label left.
    d.set_err(
        &[
            &vrf_oid(vrf::RD, "B"),
            "s",
            "65000:2",
            &vrf_oid(vrf::ROW_STATUS, "B"),
            "i",
            rs::CREATE_AND_GO,
        ],
        "resourceUnavailable",
        2,
    );
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "B")));
    // createAndWait needs no label; active does.
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "B"), "i", rs::CREATE_AND_WAIT]);
    d.set_err(
        &[&vrf_oid(vrf::ROW_STATUS, "B"), "i", rs::ACTIVE],
        "resourceUnavailable",
        1,
    );
    d.expect(&vrf_oid(vrf::ROW_STATUS, "B"), &integer(2));
    assert_eq!(label(&d, "B"), 0);
    // A VRF in perPrefix mode needs no VRF label, but its first route does.
    d.create_vrf(
        "P",
        &[&ext::vrf_oid(ext::LABEL_MODE, "P"), "i", ext::PER_PREFIX],
    );
    let p1 = rte_oid(rte::STATUS, "P", "10.1.0.0", 16, Some("192.0.2.1"));
    d.set_err(&[&p1, "i", rs::CREATE_AND_GO], "resourceUnavailable", 1);
    assert!(!d.exists(&p1));
    d.set_ok(&[&p1, "i", rs::CREATE_AND_WAIT]);
    // The range shrunk below what is in use is refused.
    d.set_ok(&[&ext::scalar_oid(ext::LABEL_DYNAMIC_MAX), "u", "20001"]);
    d.set_ok(&[&p1, "i", rs::ACTIVE]);
    assert_eq!(allocated(&d), 2);
    d.set_err(
        &[&ext::scalar_oid(ext::LABEL_DYNAMIC_MAX), "u", "20000"],
        "resourceUnavailable",
        1,
    );
    assert_eq!(range(&d), [16, 15999, 20000, 20001]);
    // A mode change that needs more labels than the range has.
    let p2 = rte_oid(rte::STATUS, "A", "10.2.0.0", 16, Some("192.0.2.1"));
    let p3 = rte_oid(rte::STATUS, "A", "10.3.0.0", 16, Some("192.0.2.1"));
    d.set_ok(&[&p2, "i", rs::CREATE_AND_GO, &p3, "i", rs::CREATE_AND_GO]);
    d.set_err(
        &[&ext::vrf_oid(ext::LABEL_MODE, "A"), "i", ext::PER_PREFIX],
        "resourceUnavailable",
        1,
    );
    d.expect(&ext::vrf_oid(ext::LABEL_MODE, "A"), &integer(1));
    assert_eq!(label(&d, "A"), 20000);
    assert_eq!(allocated(&d), 2);

    // Free one: B can be activated.
    d.destroy_vrf("P");
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "B"), "i", rs::ACTIVE]);
    assert_eq!(label(&d, "B"), 20001);
    assert_eq!(allocated(&d), 2);
    // Widening the range: a third VRF fits again.
    d.set_ok(&[&ext::scalar_oid(ext::LABEL_DYNAMIC_MAX), "u", "1048575"]);
    d.create_vrf("C", &[]);
    let c = label(&d, "C");
    assert!((20002..=1048575).contains(&c), "C's label {c}");
    assert_eq!(allocated(&d), 3);
}

/// The range scalars: defaults, wrongValue outside 16..1048575, wrongType,
/// inconsistentValue for overlapping or inverted ranges judged on the values
/// the whole PDU leaves; the read-only scalars; RteMxThrshTime mirrored to
/// RFC 4382's read-only mplsL3VpnVrfConfRteMxThrshTime.
#[test]
fn label_range_scalars_validation() {
    let mut d = Daemon::new();
    assert_eq!(range(&d), [16, 15999, 16000, 1048575]);
    d.expect(&ext::scalar_oid(ext::FIB_BACKEND), &integer(1));
    d.expect(&ext::scalar_oid(ext::RTE_MX_THRSH_TIME), &gauge(0));
    d.expect(&ext::scalar_oid(ext::LABELS_ALLOCATED), &gauge(0));
    let smin = ext::scalar_oid(ext::LABEL_STATIC_MIN);
    let smax = ext::scalar_oid(ext::LABEL_STATIC_MAX);
    let dmin = ext::scalar_oid(ext::LABEL_DYNAMIC_MIN);
    let dmax = ext::scalar_oid(ext::LABEL_DYNAMIC_MAX);

    for (o, v) in [
        (&smin, "15"),
        (&smin, "0"),
        (&smax, "1048576"),
        (&dmin, "4294967295"),
        (&dmax, "1048576"),
        (&dmax, "3"),
    ] {
        d.set_err(&[o, "u", v], "wrongValue", 1);
    }
    d.set_err(&[&dmin, "i", "20000"], "wrongType", 1);
    d.set_err(&[&smax, "s", "20000"], "wrongType", 1);
    // Overlap (static max reaches the dynamic min), inverted ranges.
    d.set_err(&[&smax, "u", "16000"], "inconsistentValue", 1);
    d.set_err(&[&dmin, "u", "15999"], "inconsistentValue", 1);
    d.set_err(&[&smin, "u", "16000"], "inconsistentValue", 1);
    d.set_err(&[&dmax, "u", "15000"], "inconsistentValue", 1);
    // The whole PDU is judged: which of its range varbinds the error
    // index names is the agent's choice.
    for vbs in [
        [smin.as_str(), "u", "100", smax.as_str(), "u", "99"],
        [dmin.as_str(), "u", "100000", smax.as_str(), "u", "100000"],
        [dmax.as_str(), "u", "20000", dmin.as_str(), "u", "30000"],
    ] {
        let out = d.set(&vbs);
        assert_eq!(
            out.reason().as_deref(),
            Some("inconsistentValue"),
            "{}",
            out.describe()
        );
        let failed = out.failed_object().unwrap_or_default();
        assert!(
            failed == format!(".{}", vbs[0]) || failed == format!(".{}", vbs[3]),
            "error-index names a varbind of the PDU:\n{}",
            out.describe()
        );
    }
    assert_eq!(range(&d), [16, 15999, 16000, 1048575], "nothing changed");
    // Moving both ranges in one PDU is fine, in either order.
    d.set_ok(&[&smax, "u", "99999", &dmin, "u", "100000"]);
    assert_eq!(range(&d), [16, 99999, 100000, 1048575]);
    d.set_ok(&[&dmin, "u", "16000", &smax, "u", "15999"]);
    assert_eq!(range(&d), [16, 15999, 16000, 1048575]);
    // Single-label ranges and the extremes.
    d.set_ok(&[
        &smin, "u", "16", &smax, "u", "16", &dmin, "u", "17", &dmax, "u", "1048575",
    ]);
    assert_eq!(range(&d), [16, 16, 17, 1048575]);
    // The dynamic range below the static one.
    d.set_ok(&[
        &dmin, "u", "16", &dmax, "u", "999", &smin, "u", "1000", &smax, "u", "1048575",
    ]);
    assert_eq!(range(&d), [1000, 1048575, 16, 999]);
    d.create_vrf("A", &[]);
    assert_eq!(label(&d, "A"), 16);

    // Read-only scalars.
    for (n, t, v) in [
        (ext::FIB_BACKEND, "i", "2"),
        (ext::FIB_CAP_VRF_DEVICE, "i", "1"),
        (ext::FIB_CAP_MPLS, "i", "1"),
        (ext::FIB_CAP_IPV6, "i", "1"),
        (ext::LABELS_ALLOCATED, "u", "0"),
    ] {
        d.set_err(&[&ext::scalar_oid(n), t, v], "notWritable", 1);
    }
    // RteMxThrshTime is writable here, read-only in RFC 4382, and the same.
    let rfc = scalar_oid(scalar::RTE_MX_THRSH_TIME);
    d.set_ok(&[&ext::scalar_oid(ext::RTE_MX_THRSH_TIME), "u", "60"]);
    d.expect(&ext::scalar_oid(ext::RTE_MX_THRSH_TIME), &gauge(60));
    d.expect(&rfc, &gauge(60));
    d.set_err(&[&rfc, "u", "30"], "notWritable", 1);

    d.restart();
    assert_eq!(range(&d), [1000, 1048575, 16, 999], "ranges kept");
    d.expect(&ext::scalar_oid(ext::RTE_MX_THRSH_TIME), &gauge(60));
    d.expect(&rfc, &gauge(60));
}
