//! Issue 5: the notification originator, with net-snmp's snmptrapd as the
//! receiver. Every test asserts the exact notification OIDs and varbinds
//! (after sysUpTime.0 and snmpTrapOID.0 for SNMPv2/v3; the RFC 3584
//! translation for SNMPv1).

use l3vpnd_tests::*;
use std::time::Duration;

const W: Duration = Duration::from_secs(10);

fn vrf_idx(name: &str) -> String {
    name_index(name)
}

/// `.oid = value` pairs as snmptrapd prints them (numeric, leading dot).
fn vb(oid: &str, value: &str) -> (String, String) {
    (
        format!(".{}", oid.trim_start_matches('.')),
        value.to_string(),
    )
}

fn ifconf_rs(vrf: &str, if_index: u32) -> String {
    ifconf_oid(ifconf::ROW_STATUS, vrf, if_index)
}

fn oper(vrf: &str) -> String {
    vrf_oid(vrf::OPER_STATUS, vrf)
}

/// Wait until `r` holds `n` notifications, then check nothing more comes
/// for a moment.
#[track_caller]
fn exactly(r: &TrapReceiver, n: usize) -> Vec<Received> {
    let got = r.wait_count(n, W);
    std::thread::sleep(Duration::from_millis(400));
    let again = r.received();
    assert_eq!(
        again.len(),
        n,
        "more notifications than expected: {again:#?}"
    );
    got
}

fn enable_notifications(d: &Daemon) {
    d.set_ok(&[&scalar_oid(scalar::NOTIFICATION_ENABLE), "i", "1"]);
}

#[test]
fn cold_start_then_warm_start_after_restart() {
    let r = TrapReceiver::start("");
    let mut d = Daemon::with_config(&notify_target_toml("nms", r.port, "trap", "v2c", ""), &[]);
    let got = exactly(&r, 1);
    assert_eq!(got[0].pdu, "TRAP2");
    assert_eq!(got[0].security, "TRAP2, SNMP v2c, community public");
    assert_eq!(got[0].varbinds.len(), 2, "{got:?}");
    assert_eq!(got[0].varbinds[0].0, trap::SYS_UP_TIME_0);
    assert!(got[0].varbinds[0].1.starts_with("Timeticks: "));
    assert_eq!(got[0].trap_oid(), Some(trap::COLD_START));
    d.restart();
    exactly(&r, 2);
    assert_eq!(r.oids(), vec![trap::COLD_START, trap::WARM_START]);
    d.restart();
    exactly(&r, 3);
    assert_eq!(r.oids()[2], trap::WARM_START);
    // The file's target is served as permanent rows.
    let i = implied("nms");
    d.expect(&format!("{TARGET_ADDR_ENTRY}.8.{i}"), &integer(4));
    d.expect(&format!("{TARGET_ADDR_ENTRY}.9.{i}"), &integer(1));
    d.expect(&format!("{NOTIFY_ENTRY}.3.{i}"), &integer(1));
    assert_eq!(d.notify_stat(1), 1, "traps sent since this start");
}

#[test]
fn vrf_up_and_down_carry_the_interface_and_the_oper_status() {
    let r = TrapReceiver::start("");
    let d = Daemon::with_config(&notify_target_toml("nms", r.port, "trap", "v2c", ""), &[]);
    exactly(&r, 1); // coldStart
                    // mplsL3VpnNotificationEnable is false by default: nothing for VRFs.
    d.expect(&scalar_oid(scalar::NOTIFICATION_ENABLE), &integer(2));
    d.create_vrf("quiet", &[]);
    d.set_ok(&[&ifconf_rs("quiet", 1), "i", rs::CREATE_AND_GO]);
    d.expect(&oper("quiet"), &integer(1));
    d.destroy_vrf("quiet");
    exactly(&r, 1);
    // ifLinkUpDownTrapEnable: disabled(2) for an unbound interface.
    d.expect("1.3.6.1.2.1.31.1.1.1.14.1", &integer(2));

    enable_notifications(&d);
    d.create_vrf("red", &[]);
    exactly(&r, 1); // a VRF with no interface is down: no notification
    d.set_ok(&[&ifconf_rs("red", 1), "i", rs::CREATE_AND_GO]);
    d.expect("1.3.6.1.2.1.31.1.1.1.14.1", &integer(1));
    let got = exactly(&r, 2);
    assert_eq!(got[1].trap_oid(), Some(trap::VRF_UP));
    assert_eq!(
        got[1].objects(),
        &[
            vb(&ifconf_rs("red", 1), "INTEGER: 1"),
            vb(&oper("red"), "INTEGER: 1"),
        ]
    );
    assert_eq!(
        got[1].varbinds[2].0,
        format!(".1.3.6.1.2.1.10.166.11.1.2.1.1.5.{}.1", vrf_idx("red"))
    );
    // Admin down: VrfDown naming the VRF's (lowest) up interface.
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "red"), "i", "2"]);
    let got = exactly(&r, 3);
    assert_eq!(got[2].trap_oid(), Some(trap::VRF_DOWN));
    assert_eq!(
        got[2].objects(),
        &[
            vb(&ifconf_rs("red", 1), "INTEGER: 1"),
            vb(&oper("red"), "INTEGER: 2"),
        ]
    );
    // Admin up again, then the binding taken out of service (its new
    // RowStatus), then active again, then the VRF destroyed (the destroyed
    // binding's last state, active).
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "red"), "i", "1"]);
    d.set_ok(&[&ifconf_rs("red", 1), "i", rs::NOT_IN_SERVICE]);
    d.set_ok(&[&ifconf_rs("red", 1), "i", rs::ACTIVE]);
    d.destroy_vrf("red");
    let got = exactly(&r, 7);
    #[allow(clippy::type_complexity)]
    let tail: Vec<(Option<&str>, Vec<(String, String)>)> = got[3..]
        .iter()
        .map(|g| (g.trap_oid(), g.objects().to_vec()))
        .collect();
    assert_eq!(
        tail,
        vec![
            (
                Some(trap::VRF_UP),
                vec![
                    vb(&ifconf_rs("red", 1), "INTEGER: 1"),
                    vb(&oper("red"), "INTEGER: 1")
                ]
            ),
            (
                Some(trap::VRF_DOWN),
                vec![
                    vb(&ifconf_rs("red", 1), "INTEGER: 2"),
                    vb(&oper("red"), "INTEGER: 2")
                ]
            ),
            (
                Some(trap::VRF_UP),
                vec![
                    vb(&ifconf_rs("red", 1), "INTEGER: 1"),
                    vb(&oper("red"), "INTEGER: 1")
                ]
            ),
            (
                Some(trap::VRF_DOWN),
                vec![
                    vb(&ifconf_rs("red", 1), "INTEGER: 1"),
                    vb(&oper("red"), "INTEGER: 2")
                ]
            ),
        ]
    );
    // sysUpTime of each notification is the time it happened: never
    // decreasing.
    let ticks: Vec<i64> = got
        .iter()
        .map(|g| {
            let v = &g.varbinds[0].1;
            v.trim_start_matches("Timeticks: (")
                .split(')')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(ticks.windows(2).all(|w| w[0] <= w[1]), "{ticks:?}");
}

/// Add (createAndGo) or destroy route `n` (10.0.0.n/32 via 192.0.2.1) of `vrf`.
fn route(d: &Daemon, vrf: &str, n: u32, status: &str) -> Out {
    d.set(&[
        &rte_oid(
            rte::STATUS,
            vrf,
            &format!("10.0.{}.{}", n / 256, n % 256),
            32,
            Some("192.0.2.1"),
        ),
        "i",
        status,
    ])
}

/// The threshold notifications received, as "mid@N" / "max@N" / "clr@N",
/// checking each one's varbinds.
fn thresholds(r: &TrapReceiver, vrf: &str, mid: u32, high: u32) -> Vec<String> {
    r.received()
        .iter()
        .filter_map(|g| {
            let (name, col, limit) = match g.trap_oid()? {
                trap::MID_EXCEEDED => ("mid", vrf::MID_RTE_THRESH, mid),
                trap::MAX_EXCEEDED => ("max", vrf::HIGH_RTE_THRESH, high),
                trap::MAX_CLEARED => ("clr", vrf::HIGH_RTE_THRESH, high),
                _ => return None,
            };
            let o = g.objects();
            assert_eq!(o.len(), 2, "{g:?}");
            if o[0].0 != format!(".{}", perf_oid(perf::CURR_NUM_ROUTES, vrf)) {
                return None; // another VRF's
            }
            assert_eq!(o[1], vb(&vrf_oid(col, vrf), &gauge(limit as u64)));
            let n = o[0].1.trim_start_matches("Gauge32: ").to_string();
            Some(format!("{name}@{n}"))
        })
        .collect()
}

#[test]
fn thresholds_with_t0_latch_and_clear_every_cycle() {
    let r = TrapReceiver::start("");
    let d = Daemon::with_config(&notify_target_toml("nms", r.port, "trap", "v2c", ""), &[]);
    enable_notifications(&d);
    d.create_vrf(
        "t",
        &[
            &vrf_oid(vrf::MID_RTE_THRESH, "t"),
            "u",
            "2",
            &vrf_oid(vrf::HIGH_RTE_THRESH, "t"),
            "u",
            "4",
            &vrf_oid(vrf::MAX_ROUTES, "t"),
            "u",
            "5",
        ],
    );
    let add = |n| assert!(route(&d, "t", n, rs::CREATE_AND_GO).ok());
    let del = |n| assert!(route(&d, "t", n, rs::DESTROY).ok());
    for n in 1..=5 {
        add(n); // 3 > mid; 4 == high (not max): nothing; 5 > high
    }
    // The 6th is refused at MaxRoutes: an attempt to exceed, already latched.
    let out = route(&d, "t", 6, rs::CREATE_AND_GO);
    assert_eq!(
        out.reason().as_deref(),
        Some("resourceUnavailable"),
        "{}",
        out.describe()
    );
    del(5); // 4: not below high
    del(4); // 3: cleared
    del(3); // 2: equal to mid, mid not re-armed
    add(3); // 3: mid still latched: nothing
    del(3);
    del(2); // 1: below mid, re-armed
    add(2);
    add(3); // mid again
    add(4);
    add(5); // max again
    let want = ["mid@3", "max@5", "clr@3", "mid@3", "max@5"];
    r.wait_count(1 + want.len(), W);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(thresholds(&r, "t", 2, 4), want);

    // High equal to MaxRoutes: reaching it is enough, and a refused add
    // while latched sends nothing more (T = 0).
    d.create_vrf(
        "e",
        &[
            &vrf_oid(vrf::HIGH_RTE_THRESH, "e"),
            "u",
            "3",
            &vrf_oid(vrf::MAX_ROUTES, "e"),
            "u",
            "3",
        ],
    );
    for n in 1..=3 {
        assert!(route(&d, "e", n, rs::CREATE_AND_GO).ok());
    }
    assert!(!route(&d, "e", 4, rs::CREATE_AND_GO).ok());
    assert!(route(&d, "e", 3, rs::DESTROY).ok());
    r.wait_count(1 + want.len() + 2, W);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(thresholds(&r, "e", 0, 3), ["max@3", "clr@2"]);
    // Threshold notifications are not sent while disabled; their latches
    // still track (re-enabling sends nothing stale).
    d.set_ok(&[&scalar_oid(scalar::NOTIFICATION_ENABLE), "i", "2"]);
    assert!(route(&d, "e", 3, rs::CREATE_AND_GO).ok());
    enable_notifications(&d);
    assert!(route(&d, "e", 3, rs::DESTROY).ok()); // clears the latch set while disabled
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(thresholds(&r, "e", 0, 3), ["max@3", "clr@2", "clr@2"]);
}

#[test]
fn thresholds_with_t_rate_limit_the_max_notifications() {
    let r = TrapReceiver::start("");
    let d = Daemon::with_config(&notify_target_toml("nms", r.port, "trap", "v2c", ""), &[]);
    enable_notifications(&d);
    // l3vpndVrfRteMxThrshTime (writable twin of the read-only RFC object).
    d.set_ok(&["1.3.6.1.4.1.32473.1.1.1.9.0", "u", "3"]);
    d.expect(&scalar_oid(scalar::RTE_MX_THRSH_TIME), &gauge(3));
    d.create_vrf("w", &[&vrf_oid(vrf::HIGH_RTE_THRESH, "w"), "u", "2"]);
    let add = |n| assert!(route(&d, "w", n, rs::CREATE_AND_GO).ok());
    let del = |n| assert!(route(&d, "w", n, rs::DESTROY).ok());
    let t0 = std::time::Instant::now();
    add(1);
    add(2);
    add(3); // exceeded: sent, window of 3 s opens
    del(3);
    del(2); // cleared: the first clear of the window, sent
    add(2);
    add(3); // exceeded again within the window: suppressed
    del(3);
    del(2); // cleared again within the window: suppressed
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "the window steps took too long"
    );
    std::thread::sleep(Duration::from_secs(4));
    add(2);
    add(3); // window over: sent
    std::thread::sleep(Duration::from_secs(4));
    add(4); // still over, routes keep coming, T passed: re-issued
    add(5); // too soon: nothing
    del(5);
    del(4);
    del(3);
    del(2); // cleared: sent
    let want = ["max@3", "clr@1", "max@3", "max@4", "clr@1"];
    r.wait_count(1 + want.len(), W);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(thresholds(&r, "w", 0, 2), want);
}

#[test]
fn informs_survive_a_receiver_outage_and_arrive_once() {
    let mut r = TrapReceiver::start("");
    let d = Daemon::with_config(
        &notify_target_toml(
            "nms",
            r.port,
            "inform",
            "v2c",
            "timeout = 50\nretries = 30\n",
        ),
        &[],
    );
    let got = exactly(&r, 1);
    assert_eq!(got[0].pdu, "INFORM");
    assert_eq!(got[0].security, "INFORM, SNMP v2c, community public");
    assert_eq!(got[0].trap_oid(), Some(trap::COLD_START));
    wait_for("coldStart acknowledged", W, || d.notify_stat(3) == 1);
    enable_notifications(&d);
    d.create_vrf(
        "red",
        &[&vrf_oid(vrf::STORAGE_TYPE, "red"), "i", st::NON_VOLATILE],
    );
    d.set_ok(&[&ifconf_rs("red", 1), "i", rs::CREATE_AND_GO]);
    exactly(&r, 2);
    wait_for("VrfUp acknowledged", W, || d.notify_stat(3) == 2);

    // The receiver goes away; three informs are sent meanwhile.
    r.stop();
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "red"), "i", "2"]);
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "red"), "i", "1"]);
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "red"), "i", "2"]);
    let i = implied("nms");
    wait_for("informs retried while the receiver is away", W, || {
        d.notify_stat(4) >= 3
    });
    assert_eq!(
        d.num(&format!("{NOTIFY_STATS}.7.1.7.{i}")),
        3,
        "3 informs pending"
    );
    std::thread::sleep(Duration::from_secs(1));
    r.launch();
    let got = r.wait_count(5, W);
    wait_for("every inform acknowledged", W, || d.notify_stat(3) == 5);
    // Acknowledged ones are never sent again.
    let retried = d.notify_stat(4);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(r.received().len(), 5, "{:#?}", r.received());
    assert_eq!(d.notify_stat(4), retried);
    let oids: Vec<Option<&str>> = got[2..].iter().map(|g| g.trap_oid()).collect();
    assert_eq!(
        oids,
        [
            Some(trap::VRF_DOWN),
            Some(trap::VRF_UP),
            Some(trap::VRF_DOWN)
        ]
    );
    assert!(got[2..].iter().all(|g| g.pdu == "INFORM"));
    assert_eq!(
        (
            d.notify_stat(2),
            d.notify_stat(3),
            d.notify_stat(5),
            d.notify_stat(6)
        ),
        (5, 5, 0, 0),
        "sent, acked, lost, dropped"
    );
    d.expect(&format!("{NOTIFY_STATS}.7.1.7.{i}"), &gauge(0));
    d.expect(&format!("{NOTIFY_STATS}.7.1.3.{i}"), &counter(5));
}

#[test]
fn informs_not_acknowledged_are_lost_after_their_retries() {
    let mut r = TrapReceiver::start("");
    let port = r.port;
    r.stop();
    let d = Daemon::with_config(
        &notify_target_toml("gone", port, "inform", "v2c", "timeout = 10\nretries = 2\n"),
        &[],
    );
    // coldStart: sent once, retried twice, then lost.
    wait_for("coldStart lost", W, || d.notify_stat(5) == 1);
    assert_eq!(
        (d.notify_stat(2), d.notify_stat(4), d.notify_stat(3)),
        (1, 2, 0)
    );
    let i = implied("gone");
    d.expect(&format!("{NOTIFY_STATS}.7.1.5.{i}"), &counter(1));
    d.expect(&format!("{NOTIFY_STATS}.7.1.7.{i}"), &gauge(0));
}

#[test]
fn targets_created_changed_destroyed_over_snmp_live_and_across_restart() {
    let r1 = TrapReceiver::start("");
    let r2 = TrapReceiver::start("");
    let mut d = Daemon::new();
    // Nothing configured: the target table is empty.
    let rows = d.walk("1.3.6.1.6.3.12.1.2");
    assert!(
        !rows
            .iter()
            .any(|(o, _)| o.starts_with(".1.3.6.1.6.3.12.1.2.1.")),
        "{rows:?}"
    );
    d.add_target("t1", r1.port, false, st::NON_VOLATILE);
    let i = implied("t1");
    d.expect(
        &format!("{TARGET_ADDR_ENTRY}.2.{i}"),
        &format!("OID: .{SNMP_UDP_DOMAIN}"),
    );
    d.expect(
        &format!("{TARGET_ADDR_ENTRY}.3.{i}"),
        &format!(
            "Hex-STRING: 7F 00 00 01 {:02X} {:02X}",
            r1.port >> 8,
            r1.port & 0xff
        ),
    );
    d.expect(&format!("{TARGET_ADDR_ENTRY}.4.{i}"), &integer(100));
    d.expect(&format!("{TARGET_PARAMS_ENTRY}.4.{i}"), &string("public"));
    d.expect(&format!("{NOTIFY_ENTRY}.2.{i}"), &string("t1"));
    // authenticationFailure is gated by snmpEnableAuthenTraps.
    let bad = |d: &Daemon| {
        let out = d.snmp(
            "snmpget",
            &["-v2c", "-c", "wrong", "-t", "0.2"],
            &[SYS_UPTIME],
        );
        assert!(out.timed_out());
    };
    bad(&d);
    std::thread::sleep(Duration::from_millis(300));
    assert!(r1.received().is_empty());
    d.set_ok(&[SNMP_ENABLE_AUTHEN_TRAPS, "i", "1"]);
    bad(&d);
    let got = exactly(&r1, 1);
    assert_eq!(got[0].pdu, "TRAP2");
    assert_eq!(got[0].trap_oid(), Some(trap::AUTH_FAILURE));
    assert!(got[0].objects().is_empty());

    // snmpNotifyType -> inform, live.
    d.set_ok(&[&format!("{NOTIFY_ENTRY}.3.{i}"), "i", "2"]);
    bad(&d);
    let got = exactly(&r1, 2);
    assert_eq!(got[1].pdu, "INFORM");
    wait_for("acked", W, || d.notify_stat(3) == 1);

    // TAddress cannot change while active; with notInService in the same
    // SET it can, then active again: the next notification goes to r2.
    let ta = format!("{TARGET_ADDR_ENTRY}.3.{i}");
    let rs_oid = format!("{TARGET_ADDR_ENTRY}.9.{i}");
    let new_addr = format!("7f000001{:04x}", r2.port);
    d.set_err(&[&ta, "x", &new_addr], "inconsistentValue", 1);
    d.set_ok(&[&ta, "x", &new_addr, &rs_oid, "i", rs::NOT_IN_SERVICE]);
    bad(&d); // not in service: nothing sent
    std::thread::sleep(Duration::from_millis(300));
    d.set_ok(&[&rs_oid, "i", rs::ACTIVE]);
    bad(&d);
    let got2 = exactly(&r2, 1);
    assert_eq!(got2[0].trap_oid(), Some(trap::AUTH_FAILURE));
    assert_eq!(r1.received().len(), 2);

    // A volatile target to r1 as well.
    d.add_target("t2", r1.port, false, st::VOLATILE);
    bad(&d);
    exactly(&r1, 3);
    exactly(&r2, 2);

    // Restart: the nonVolatile target survives (warmStart at r2), the
    // volatile one is gone (nothing more at r1).
    d.restart();
    let got2 = exactly(&r2, 3);
    assert_eq!(got2[2].trap_oid(), Some(trap::WARM_START));
    assert_eq!(r1.received().len(), 3);
    d.expect(&format!("{TARGET_ADDR_ENTRY}.9.{i}"), &integer(1));
    assert!(!d.exists(&format!("{TARGET_ADDR_ENTRY}.9.{}", implied("t2"))));

    // A filter profile for t1's params that only lets snmpTraps through:
    // VRF notifications are filtered out, authenticationFailure is not.
    let prof = format!("{NOTIFY_PROFILE_ENTRY}.1.{i}");
    let prof_rs = format!("{NOTIFY_PROFILE_ENTRY}.3.{i}");
    d.set_ok(&[&prof, "s", "traps", &prof_rs, "i", rs::CREATE_AND_GO]);
    let filt = format!(
        "{NOTIFY_FILTER_ENTRY}.5.{}.1.3.6.1.6.3.1.1.5",
        name_index("traps")
    );
    d.set_ok(&[&filt, "i", rs::CREATE_AND_GO]);
    enable_notifications(&d);
    d.create_vrf("f", &[]);
    d.set_ok(&[&ifconf_rs("f", 1), "i", rs::CREATE_AND_GO]);
    bad(&d);
    let got2 = exactly(&r2, 4);
    assert_eq!(got2[3].trap_oid(), Some(trap::AUTH_FAILURE));
    // Without the profile the VRF notifications go through again.
    d.set_ok(&[&prof_rs, "i", rs::DESTROY]);
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "f"), "i", "2"]);
    let got2 = exactly(&r2, 5);
    assert_eq!(got2[4].trap_oid(), Some(trap::VRF_DOWN));

    // Destroyed: nothing more.
    d.set_ok(&[&rs_oid, "i", rs::DESTROY]);
    bad(&d);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(r2.received().len(), 5);
    assert!(!d.exists(&format!("{NOTIFY_STATS}.7.1.1.{i}")));
}

#[test]
fn target_table_errors() {
    let d = Daemon::new();
    let i = implied("x");
    let a = |c: u32| format!("{TARGET_ADDR_ENTRY}.{c}.{i}");
    let p = |c: u32| format!("{TARGET_PARAMS_ENTRY}.{c}.{i}");
    // createAndGo without TAddress / Params: inconsistentValue at RowStatus.
    d.set_err(
        &[&a(2), "o", SNMP_UDP_DOMAIN, &a(9), "i", rs::CREATE_AND_GO],
        "inconsistentValue",
        2,
    );
    // Unknown domain, bad retry count, tag list with a leading space.
    d.set_err(
        &[&a(2), "o", "1.3.6.1.6.1.4", &a(9), "i", rs::CREATE_AND_WAIT],
        "wrongValue",
        1,
    );
    d.set_err(
        &[&a(5), "i", "256", &a(9), "i", rs::CREATE_AND_WAIT],
        "wrongValue",
        1,
    );
    d.set_err(
        &[&a(6), "s", " x", &a(9), "i", rs::CREATE_AND_WAIT],
        "wrongValue",
        1,
    );
    // An IPv6 domain needs 18 octets.
    d.set_err(
        &[
            &a(2),
            "o",
            UDP_IPV6_DOMAIN,
            &a(3),
            "x",
            "7f0000010a0a",
            &a(7),
            "s",
            "x",
            &a(9),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentValue",
        4,
    );
    d.set_ok(&[
        &a(2),
        "o",
        UDP_IPV6_DOMAIN,
        &a(3),
        "x",
        "000000000000000000000000000000010a0a",
        &a(7),
        "s",
        "x",
        &a(9),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.expect(&a(2), &format!("OID: .{UDP_IPV6_DOMAIN}"));
    // StorageType permanent cannot be set.
    d.set_err(&[&a(8), "i", "4"], "wrongValue", 1);
    // Params: v2c needs noAuthNoPriv.
    d.set_err(
        &[
            &p(2),
            "i",
            "1",
            &p(3),
            "i",
            "2",
            &p(4),
            "s",
            "public",
            &p(5),
            "i",
            "2",
            &p(7),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentValue",
        5,
    );
    // createAndWait leaves it notReady until complete.
    d.set_ok(&[&p(7), "i", rs::CREATE_AND_WAIT]);
    d.expect(&p(7), &integer(3));
    d.expect(&p(6), &integer(3)); // DEFVAL nonVolatile
                                  // The target spin lock is TestAndIncr.
    d.set_err(&["1.3.6.1.6.3.12.1.1.0", "i", "7"], "inconsistentValue", 1);
    d.set_ok(&["1.3.6.1.6.3.12.1.1.0", "i", "0"]);
    d.expect("1.3.6.1.6.3.12.1.1.0", &integer(1));
    // Statistics are read-only.
    d.set_err(
        &[&format!("{NOTIFY_STATS}.1.0"), "u", "1"],
        "notWritable",
        1,
    );
}

#[test]
fn snmpv1_traps_are_translated_per_rfc3584() {
    let r = TrapReceiver::start("");
    let d = Daemon::with_config(&notify_target_toml("v1", r.port, "trap", "v1", ""), &[]);
    let got = exactly(&r, 1);
    assert_eq!(got[0].pdu, "TRAP");
    assert_eq!(got[0].security, "TRAP, SNMP v1, community public");
    // coldStart: generic-trap 0, specific 0, enterprise snmpTraps.
    assert_eq!(
        (got[0].enterprise.as_str(), got[0].generic, got[0].specific),
        (".1.3.6.1.6.3.1.1.5", 0, 0)
    );
    assert!(got[0].varbinds.is_empty());
    enable_notifications(&d);
    d.create_vrf("red", &[]);
    d.set_ok(&[&ifconf_rs("red", 1), "i", rs::CREATE_AND_GO]);
    let got = exactly(&r, 2);
    // mplsL3VpnVrfUp: enterprise mplsL3VpnMIB, generic 6, specific 1; the
    // varbinds are the OBJECTS only.
    assert_eq!(
        (got[1].enterprise.as_str(), got[1].generic, got[1].specific),
        (".1.3.6.1.2.1.10.166.11", 6, 1)
    );
    assert_eq!(
        got[1].varbinds,
        vec![
            vb(&ifconf_rs("red", 1), "INTEGER: 1"),
            vb(&oper("red"), "INTEGER: 1")
        ]
    );
    // authenticationFailure: generic 4.
    d.set_ok(&[SNMP_ENABLE_AUTHEN_TRAPS, "i", "1"]);
    let out = d.snmp(
        "snmpget",
        &["-v1", "-c", "nope", "-t", "0.2"],
        &[SYS_UPTIME],
    );
    assert!(out.timed_out());
    let got = exactly(&r, 3);
    assert_eq!((got[2].generic, got[2].specific), (4, 0));
}

const ENGINE: &str = "80007ed905746573746e6f74";

fn v3_config(port: u16) -> String {
    format!(
        "engine_id = \"{ENGINE}\"\n\
         [[usm_user]]\nname = \"nmsuser\"\nauth = \"SHA-256\"\nauth_password = \"authpass123\"\n\
         priv = \"AES\"\npriv_password = \"privpass123\"\n\
         {}{}",
        notify_target_toml(
            "v3trap",
            port,
            "trap",
            "v3",
            "user = \"nmsuser\"\nlevel = \"authPriv\""
        ),
        notify_target_toml(
            "v3inform",
            port,
            "inform",
            "v3",
            "user = \"nmsuser\"\nlevel = \"authPriv\"\ntimeout = 50\nretries = 20"
        ),
    )
}

#[test]
fn snmpv3_traps_and_informs_through_usm() {
    // snmptrapd knows the user twice: for our engine ID (traps: we are the
    // authoritative engine) and for its own (informs: it is).
    let conf = format!(
        "createUser -e 0x{ENGINE} nmsuser SHA-256 authpass123 AES privpass123\n\
         createUser nmsuser SHA-256 authpass123 AES privpass123\n"
    );
    let mut r = TrapReceiver::start(&conf);
    let d = Daemon::with_config(&v3_config(r.port), &[]);
    let got = exactly(&r, 2);
    let mut kinds: Vec<(&str, Option<&str>)> = got
        .iter()
        .map(|g| (g.security.as_str(), g.trap_oid()))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            (
                "INFORM, SNMP v3, user nmsuser, context ",
                Some(trap::COLD_START)
            ),
            (
                "TRAP2, SNMP v3, user nmsuser, context ",
                Some(trap::COLD_START)
            ),
        ]
    );
    wait_for("the v3 inform acknowledged", W, || d.notify_stat(3) == 1);
    // The receiver restarts (its snmpEngineBoots grows): the next inform is
    // resynchronized and still arrives exactly once.
    r.stop();
    r.launch();
    enable_notifications(&d);
    d.create_vrf("red", &[]);
    d.set_ok(&[&ifconf_rs("red", 1), "i", rs::CREATE_AND_GO]);
    let got = exactly(&r, 4);
    for g in &got[2..] {
        assert_eq!(g.trap_oid(), Some(trap::VRF_UP));
        assert_eq!(
            g.objects(),
            &[
                vb(&ifconf_rs("red", 1), "INTEGER: 1"),
                vb(&oper("red"), "INTEGER: 1")
            ]
        );
    }
    wait_for("both informs acknowledged", W, || d.notify_stat(3) == 2);
    assert_eq!((d.notify_stat(5), d.notify_stat(6)), (0, 0));
}

/// linkUp/linkDown and VrfUp/VrfDown from a real interface: a veth pair in
/// a network namespace, the daemon and snmptrapd inside it.
#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn veth_down_and_up_send_link_and_vrf_notifications() {
    let d = Daemon::in_netns_with(
        &[],
        &[
            &[
                "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb",
            ],
            &["ip", "link", "set", "va", "up"],
            &["ip", "link", "set", "vb", "up"],
        ],
    );
    let r = TrapReceiver::start_in(d.netns.as_deref(), "");
    let va: u32 = d
        .ns_exec(&["cat", "/sys/class/net/va/ifindex"])
        .trim()
        .parse()
        .unwrap();
    d.add_target("nms", r.port, false, st::VOLATILE);
    enable_notifications(&d);
    d.create_vrf("cust", &[]);
    d.set_ok(&[&ifconf_rs("cust", va), "i", rs::CREATE_AND_GO]);
    wait_for("va up and the VRF up", W, || {
        d.val(&oper("cust")) == integer(1)
    });
    let got = exactly(&r, 1);
    assert_eq!(got[0].trap_oid(), Some(trap::VRF_UP));
    d.expect(&format!("1.3.6.1.2.1.31.1.1.1.14.{va}"), &integer(1));

    d.ns_exec(&["ip", "link", "set", "va", "down"]);
    let got = exactly(&r, 3);
    let ifo = |col: u32| format!("1.3.6.1.2.1.2.2.1.{col}.{va}");
    assert_eq!(got[1].trap_oid(), Some(trap::LINK_DOWN));
    assert_eq!(
        got[1].objects(),
        &[
            vb(&ifo(1), &format!("INTEGER: {va}")),
            vb(&ifo(7), "INTEGER: 2"),
            vb(&ifo(8), "INTEGER: 2"),
        ]
    );
    assert_eq!(got[2].trap_oid(), Some(trap::VRF_DOWN));
    assert_eq!(
        got[2].objects(),
        &[
            vb(&ifconf_rs("cust", va), "INTEGER: 1"),
            vb(&oper("cust"), "INTEGER: 2")
        ]
    );

    d.ns_exec(&["ip", "link", "set", "va", "up"]);
    let got = exactly(&r, 5);
    assert_eq!(got[3].trap_oid(), Some(trap::LINK_UP));
    assert_eq!(
        got[3].objects(),
        &[
            vb(&ifo(1), &format!("INTEGER: {va}")),
            vb(&ifo(7), "INTEGER: 1"),
            vb(&ifo(8), "INTEGER: 1"),
        ]
    );
    assert_eq!(got[4].trap_oid(), Some(trap::VRF_UP));
    assert_eq!(
        got[4].objects(),
        &[
            vb(&ifconf_rs("cust", va), "INTEGER: 1"),
            vb(&oper("cust"), "INTEGER: 1")
        ]
    );
    // The unbound peer vb changed state too (lowerLayerDown and back):
    // nothing was sent for it.
    let vb_index: u32 = d
        .ns_exec(&["cat", "/sys/class/net/vb/ifindex"])
        .trim()
        .parse()
        .unwrap();
    d.expect(&format!("1.3.6.1.2.1.31.1.1.1.14.{vb_index}"), &integer(2));
}

#[test]
fn inform_queue_is_bounded_and_drops_are_counted() {
    let mut r = TrapReceiver::start("");
    let port = r.port;
    r.stop();
    let d = Daemon::with_config(
        &format!(
            "notify_queue = 3\n{}",
            notify_target_toml(
                "slow",
                port,
                "inform",
                "v2c",
                "timeout = 3000\nretries = 1\n"
            )
        ),
        &[],
    );
    wait_for("coldStart sent", W, || d.notify_stat(2) == 1);
    d.set_ok(&[SNMP_ENABLE_AUTHEN_TRAPS, "i", "1"]);
    for _ in 0..5 {
        let out = d.snmp(
            "snmpget",
            &["-v2c", "-c", "wrong", "-t", "0.1"],
            &[SYS_UPTIME],
        );
        assert!(out.timed_out());
    }
    let i = implied("slow");
    // coldStart and two authenticationFailures wait; three are dropped.
    wait_for("three dropped", W, || d.notify_stat(6) == 3);
    d.expect(&format!("{NOTIFY_STATS}.7.1.7.{i}"), &gauge(3));
    d.expect(&format!("{NOTIFY_STATS}.7.1.6.{i}"), &counter(3));
    // The originator still answers: a GET right away.
    d.expect(&format!("{TARGET_ADDR_ENTRY}.9.{i}"), &integer(1));
}

#[test]
fn ipv6_targets_rfc3419_domain() {
    let Some(r) = TrapReceiver::start_v6("") else {
        eprintln!("skipped: no IPv6 loopback");
        return;
    };
    let d = Daemon::new();
    let i = implied("six");
    let a = |c: u32| format!("{TARGET_ADDR_ENTRY}.{c}.{i}");
    let p = |c: u32| format!("{TARGET_PARAMS_ENTRY}.{c}.{i}");
    let n = |c: u32| format!("{NOTIFY_ENTRY}.{c}.{i}");
    let addr = format!("000000000000000000000000000000{:02x}{:04x}", 1, r.port);
    let vbs: Vec<String> = [
        [p(2), "i".into(), "1".into()],
        [p(3), "i".into(), "2".into()],
        [p(4), "s".into(), "public".into()],
        [p(5), "i".into(), "1".into()],
        [p(7), "i".into(), rs::CREATE_AND_GO.into()],
        [a(2), "o".into(), UDP_IPV6_DOMAIN.into()],
        [a(3), "x".into(), addr],
        [a(6), "s".into(), "six".into()],
        [a(7), "s".into(), "six".into()],
        [a(9), "i".into(), rs::CREATE_AND_GO.into()],
        [n(2), "s".into(), "six".into()],
        [n(5), "i".into(), rs::CREATE_AND_GO.into()],
    ]
    .concat();
    d.set_ok(&strs(&vbs));
    d.set_ok(&[SNMP_ENABLE_AUTHEN_TRAPS, "i", "1"]);
    let out = d.snmp(
        "snmpget",
        &["-v2c", "-c", "wrong", "-t", "0.2"],
        &[SYS_UPTIME],
    );
    assert!(out.timed_out());
    let got = exactly(&r, 1);
    assert_eq!(got[0].trap_oid(), Some(trap::AUTH_FAILURE));
}

#[test]
fn usm_wrong_digest_is_an_authentication_failure() {
    let conf = format!("createUser -e 0x{ENGINE} nmsuser SHA-256 authpass123 AES privpass123\n");
    let r = TrapReceiver::start(&conf);
    let toml = format!(
        "engine_id = \"{ENGINE}\"\n\
         [[usm_user]]\nname = \"nmsuser\"\nauth = \"SHA-256\"\nauth_password = \"authpass123\"\n\
         priv = \"AES\"\npriv_password = \"privpass123\"\n\
         {}",
        notify_target_toml(
            "v3trap",
            r.port,
            "trap",
            "v3",
            "user = \"nmsuser\"\nlevel = \"authNoPriv\""
        ),
    );
    let d = Daemon::with_config(&toml, &[]);
    exactly(&r, 1); // coldStart
    d.set_ok(&[SNMP_ENABLE_AUTHEN_TRAPS, "i", "1"]);
    let out = d.snmp(
        "snmpget",
        &[
            "-v3",
            "-u",
            "nmsuser",
            "-l",
            "authNoPriv",
            "-a",
            "SHA-256",
            "-A",
            "wrongpassword",
            "-t",
            "0.5",
        ],
        &[SYS_UPTIME],
    );
    assert!(!out.ok(), "{}", out.describe());
    let got = exactly(&r, 2);
    assert_eq!(got[1].security, "TRAP2, SNMP v3, user nmsuser, context ");
    assert_eq!(got[1].trap_oid(), Some(trap::AUTH_FAILURE));
}
