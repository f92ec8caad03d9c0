//! StorageType and durability: nonVolatile rows survive SIGTERM and kill -9,
//! volatile rows vanish, and nothing acknowledged is lost when the daemon is
//! killed in the middle of a stream of SETs.

use l3vpnd_tests::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LO: u32 = 1;

/// A nonVolatile VRF "keep" with every writable column set, a nonVolatile RT
/// and binding; a volatile RT under it; a volatile VRF "temp" with an RT;
/// writable scalars.
fn provision(d: &Daemon) {
    d.set_ok(&[
        &vrf_oid(vrf::VPN_ID, "keep"),
        "x",
        "00000A00000001",
        &vrf_oid(vrf::DESCRIPTION, "keep"),
        "s",
        "kept vrf",
        &vrf_oid(vrf::RD, "keep"),
        "s",
        "65000:1",
        &vrf_oid(vrf::MID_RTE_THRESH, "keep"),
        "u",
        "10",
        &vrf_oid(vrf::HIGH_RTE_THRESH, "keep"),
        "u",
        "20",
        &vrf_oid(vrf::MAX_ROUTES, "keep"),
        "u",
        "30",
        &vrf_oid(vrf::ADMIN_STATUS, "keep"),
        "i",
        "2",
        &vrf_oid(vrf::STORAGE_TYPE, "keep"),
        "i",
        st::NON_VOLATILE,
        &vrf_oid(vrf::ROW_STATUS, "keep"),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.set_ok(&[
        &rt_oid(rt::RT, "keep", 1, rt::BOTH),
        "s",
        "65000:100",
        &rt_oid(rt::DESCR, "keep", 1, rt::BOTH),
        "s",
        "kept rt",
        &rt_oid(rt::STORAGE_TYPE, "keep", 1, rt::BOTH),
        "i",
        st::NON_VOLATILE,
        &rt_oid(rt::ROW_STATUS, "keep", 1, rt::BOTH),
        "i",
        rs::CREATE_AND_GO,
        &rt_oid(rt::ROW_STATUS, "keep", 2, rt::IMPORT),
        "i",
        rs::CREATE_AND_GO,
        &ifconf_oid(ifconf::CLASSIFICATION, "keep", LO),
        "i",
        "3",
        &ifconf_oid(ifconf::ROUTE_DIST_PROTOCOL, "keep", LO),
        "x",
        "06",
        &ifconf_oid(ifconf::STORAGE_TYPE, "keep", LO),
        "i",
        st::NON_VOLATILE,
        &ifconf_oid(ifconf::ROW_STATUS, "keep", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.create_vrf("temp", &[&vrf_oid(vrf::RD, "temp"), "s", "65000:2"]);
    d.set_ok(&[
        &rt_oid(rt::ROW_STATUS, "temp", 1, rt::BOTH),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.set_ok(&[
        &scalar_oid(scalar::NOTIFICATION_ENABLE),
        "i",
        "1",
        &scalar_oid(scalar::ILL_LBL_RCV_THRSH),
        "u",
        "5",
    ]);
}

fn kept_columns() -> Vec<String> {
    let mut v: Vec<String> = [
        vrf::VPN_ID,
        vrf::DESCRIPTION,
        vrf::RD,
        vrf::MID_RTE_THRESH,
        vrf::HIGH_RTE_THRESH,
        vrf::MAX_ROUTES,
        vrf::ROW_STATUS,
        vrf::ADMIN_STATUS,
        vrf::STORAGE_TYPE,
    ]
    .iter()
    .map(|c| vrf_oid(*c, "keep"))
    .collect();
    for c in [rt::RT, rt::DESCR, rt::ROW_STATUS, rt::STORAGE_TYPE] {
        v.push(rt_oid(c, "keep", 1, rt::BOTH));
    }
    for c in [
        ifconf::CLASSIFICATION,
        ifconf::ROUTE_DIST_PROTOCOL,
        ifconf::STORAGE_TYPE,
        ifconf::ROW_STATUS,
    ] {
        v.push(ifconf_oid(c, "keep", LO));
    }
    v.push(scalar_oid(scalar::NOTIFICATION_ENABLE));
    v.push(scalar_oid(scalar::ILL_LBL_RCV_THRSH));
    v
}

fn snapshot(d: &Daemon) -> Vec<String> {
    let cols = kept_columns();
    let refs: Vec<&str> = cols.iter().map(|s| s.as_str()).collect();
    let out = d.get(&refs);
    assert!(out.ok(), "{}", out.describe());
    out.stdout
}

fn check_after_restart(d: &Daemon, before: &[String]) {
    assert_eq!(
        snapshot(d),
        before,
        "nonVolatile rows and scalars after restart"
    );
    for oid in [
        vrf_oid(vrf::ROW_STATUS, "temp"),
        rt_oid(rt::ROW_STATUS, "temp", 1, rt::BOTH),
        rt_oid(rt::ROW_STATUS, "keep", 2, rt::IMPORT),
        perf_oid(1, "temp"),
    ] {
        assert!(!d.exists(&oid), "volatile {oid} survived a restart");
    }
    assert!(d.exists(&perf_oid(1, "keep")));
    assert!(d.exists(&sec_oid(1, "keep")));
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(1));
    d.expect(&scalar_oid(scalar::CONNECTED_INTERFACES), &gauge(1));
    d.expect(&vrf_oid(vrf::ASSOCIATED_INTERFACES, "keep"), &gauge(1));
    // Admin down was persisted: oper down; admin up -> up (lo is up).
    d.expect(&vrf_oid(vrf::OPER_STATUS, "keep"), &integer(2));
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "keep"), "i", "1"]);
    d.expect(&vrf_oid(vrf::OPER_STATUS, "keep"), &integer(1));
    d.expect(&scalar_oid(scalar::ACTIVE_VRFS), &gauge(1));
    // The RD of the volatile VRF is free again; the kept RD is still taken.
    d.create_vrf("temp2", &[&vrf_oid(vrf::RD, "temp2"), "s", "65000:2"]);
    d.set_err(
        &[
            &vrf_oid(vrf::RD, "x"),
            "s",
            "65000:1",
            &vrf_oid(vrf::ROW_STATUS, "x"),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentValue",
        1,
    );
}

#[test]
fn nonvolatile_survives_sigterm_restart_volatile_vanishes() {
    let mut d = Daemon::new();
    provision(&d);
    let before = snapshot(&d);
    d.restart();
    check_after_restart(&d, &before);
    // And a second restart with the changes made since.
    d.restart();
    d.expect(&vrf_oid(vrf::ADMIN_STATUS, "keep"), &integer(1));
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "temp2")));
}

#[test]
fn nonvolatile_survives_kill9() {
    let mut d = Daemon::new();
    provision(&d);
    let before = snapshot(&d);
    d.kill9();
    d.launch();
    check_after_restart(&d, &before);
}

#[test]
fn storage_type_changes_and_destroys_are_durable() {
    let mut d = Daemon::new();
    d.create_vrf("up", &[]); // volatile, made nonVolatile later
    d.create_vrf(
        "down",
        &[&vrf_oid(vrf::STORAGE_TYPE, "down"), "i", st::NON_VOLATILE],
    );
    d.create_vrf(
        "gone",
        &[&vrf_oid(vrf::STORAGE_TYPE, "gone"), "i", st::NON_VOLATILE],
    );
    d.create_vrf(
        "moved",
        &[
            &vrf_oid(vrf::STORAGE_TYPE, "moved"),
            "i",
            st::NON_VOLATILE,
            &vrf_oid(vrf::RD, "moved"),
            "s",
            "65000:1",
        ],
    );
    d.set_ok(&[&vrf_oid(vrf::STORAGE_TYPE, "up"), "i", st::NON_VOLATILE]);
    d.set_ok(&[&vrf_oid(vrf::STORAGE_TYPE, "down"), "i", st::VOLATILE]);
    d.destroy_vrf("gone");
    d.set_ok(&[
        &vrf_oid(vrf::RD, "moved"),
        "s",
        "65000:9",
        &vrf_oid(vrf::ROW_STATUS, "moved"),
        "i",
        rs::NOT_IN_SERVICE,
    ]);
    d.set_ok(&[&vrf_oid(vrf::ROW_STATUS, "moved"), "i", rs::ACTIVE]);
    d.kill9();
    d.launch();
    d.expect(&vrf_oid(vrf::ROW_STATUS, "up"), &integer(1));
    d.expect(&vrf_oid(vrf::STORAGE_TYPE, "up"), &integer(3));
    assert!(
        !d.exists(&vrf_oid(vrf::ROW_STATUS, "down")),
        "volatile again: must vanish"
    );
    assert!(
        !d.exists(&vrf_oid(vrf::ROW_STATUS, "gone")),
        "destroyed: must stay destroyed"
    );
    d.expect(&vrf_oid(vrf::RD, "moved"), &string("65000:9"));
    d.expect(&vrf_oid(vrf::ROW_STATUS, "moved"), &integer(1));
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(2));
}

/// A nonVolatile RT or binding cannot outlive its volatile VRF.
#[test]
fn nonvolatile_children_of_a_volatile_vrf_vanish_with_it() {
    let mut d = Daemon::new();
    d.create_vrf("vol", &[]);
    d.set_ok(&[
        &rt_oid(rt::STORAGE_TYPE, "vol", 1, rt::BOTH),
        "i",
        st::NON_VOLATILE,
        &rt_oid(rt::ROW_STATUS, "vol", 1, rt::BOTH),
        "i",
        rs::CREATE_AND_GO,
        &ifconf_oid(ifconf::STORAGE_TYPE, "vol", LO),
        "i",
        st::NON_VOLATILE,
        &ifconf_oid(ifconf::ROW_STATUS, "vol", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.restart();
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "vol")));
    assert!(
        !d.exists(&rt_oid(rt::ROW_STATUS, "vol", 1, rt::BOTH)),
        "orphan RT row after restart"
    );
    assert!(
        !d.exists(&ifconf_oid(ifconf::ROW_STATUS, "vol", LO)),
        "orphan IfConf row after restart"
    );
    d.expect(&scalar_oid(scalar::CONNECTED_INTERFACES), &gauge(0));
    // lo is free.
    d.create_vrf("other", &[]);
    d.set_ok(&[
        &ifconf_oid(ifconf::ROW_STATUS, "other", LO),
        "i",
        rs::CREATE_AND_GO,
    ]);
}

/// Runs up to 200 sequential createAndGo+nonVolatile SETs for VRFs
/// k<base+i> from a thread, kill -9s the daemon after a random number of
/// them, and returns the indexes that were acknowledged.
fn stream_then_kill9(d: &mut Daemon, base: usize, rng: &mut Rng) -> Vec<usize> {
    // Kill after a random number of acknowledged SETs (5..195), plus a random
    // 0..3 ms so that the kill also lands inside a SET's commit.
    let kill_after = 5 + rng.below(190) as usize;
    let extra = Duration::from_micros(rng.below(3000));
    let acked: Arc<Mutex<Vec<usize>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let target = d.target();
    let writer = {
        let acked = acked.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            for i in base..base + 200 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let n = format!("k{i:03}");
                let rd = format!("65000:{}", 1000 + i);
                let argv: Vec<String> = [
                    "snmpset",
                    "-t",
                    "3",
                    "-r",
                    "0",
                    "-v2c",
                    "-c",
                    "private",
                    "-On",
                    &target,
                    &vrf_oid(vrf::RD, &n),
                    "s",
                    &rd,
                    &vrf_oid(vrf::STORAGE_TYPE, &n),
                    "i",
                    st::NON_VOLATILE,
                    &vrf_oid(vrf::ROW_STATUS, &n),
                    "i",
                    rs::CREATE_AND_GO,
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                let out = run_tool(&argv);
                if out.ok() {
                    acked.lock().unwrap().push(i);
                } else if !stop.load(Ordering::SeqCst) {
                    panic!(
                        "SET {i} failed while the daemon was up:\n{}",
                        out.describe()
                    );
                }
            }
        })
    };
    let start = std::time::Instant::now();
    while acked.lock().unwrap().len() < kill_after {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the SET stream is too slow"
        );
        assert!(!writer.is_finished(), "the writer stopped early");
        std::thread::sleep(Duration::from_micros(200));
    }
    std::thread::sleep(extra);
    // The flag first: a SET that fails from here on failed because of the kill.
    stop.store(true, Ordering::SeqCst);
    d.kill9();
    writer.join().expect("writer thread");
    let acked = acked.lock().unwrap().clone();
    eprintln!(
        "kill -9 after {kill_after} acknowledged SETs + {extra:?}: {} acknowledged",
        acked.len()
    );
    acked
}

fn present_vrfs(d: &Daemon) -> std::collections::BTreeSet<String> {
    let pfx = format!(".{VRF_ENTRY}.{}.", vrf::ROW_STATUS);
    d.walk(&format!("{VRF_ENTRY}.{}", vrf::ROW_STATUS))
        .iter()
        .map(|(o, _)| {
            let idx = o
                .strip_prefix(&pfx)
                .unwrap_or_else(|| panic!("unexpected OID {o}"));
            let arcs: Vec<u8> = idx.split('.').skip(1).map(|a| a.parse().unwrap()).collect();
            String::from_utf8(arcs).unwrap()
        })
        .collect()
}

#[test]
fn kill9_in_the_middle_of_a_stream_loses_nothing_acknowledged() {
    let mut d = Daemon::new();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("seed {seed}");
    let mut rng = Rng::new(seed);
    // Two rounds on the same data dir: the second recovers a store that was
    // itself recovered from a kill.
    let mut acked = stream_then_kill9(&mut d, 0, &mut rng);
    d.launch();
    acked.extend(stream_then_kill9(&mut d, 200, &mut rng));
    d.launch();
    let present = present_vrfs(&d);
    for i in &acked {
        let n = format!("k{i:03}");
        assert!(
            present.contains(&n),
            "acknowledged VRF {n} lost after kill -9 (seed {seed})"
        );
        d.expect(
            &vrf_oid(vrf::RD, &n),
            &string(&format!("65000:{}", 1000 + i)),
        );
        d.expect(&vrf_oid(vrf::STORAGE_TYPE, &n), &integer(3));
    }
    // Whatever survived is whole: every present VRF has its RD and is active.
    for n in &present {
        let i: usize = n[1..].parse().unwrap();
        d.expect(
            &vrf_oid(vrf::RD, n),
            &string(&format!("65000:{}", 1000 + i)),
        );
        d.expect(&vrf_oid(vrf::ROW_STATUS, n), &integer(1));
    }
    assert!(present.len() >= acked.len());
    assert!(
        present.len() <= acked.len() + 2,
        "at most the one in flight per round may be extra"
    );
    d.expect(
        &scalar_oid(scalar::CONFIGURED_VRFS),
        &gauge(present.len() as u64),
    );
}
