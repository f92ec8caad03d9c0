//! Imported VPN routes under a VRF's route limits and label checks (RFC
//! 4382 as issue 4 applies it to BGP): the real daemon in a network
//! namespace, a GoBGP PE announcing VPNv4 routes whose RT VRF red imports,
//! a real snmptrapd.
//!
//! - mplsL3VpnVrfConfMidRteThresh / HighRteThresh / MaxRoutes count every
//!   route of the VRF (here the imported ones): MidThreshExceeded above
//!   Mid, MaxThreshExceeded on reaching High = MaxRoutes, a route beyond
//!   MaxRoutes refused and counted in mplsL3VpnVrfPerfRoutesDropped,
//!   MaxThreshCleared once the count falls below High;
//! - a refused route still offered by the peer comes in when routes leave;
//! - labels outside the configured label ranges (here reserved ones)
//!   count in mplsL3VpnVrfSecIllegalLblVltns, and crossing
//!   mplsL3VpnIllLblRcvThrsh sends mplsL3VpnNumVrfSecIllglLblThrshExcd.

use l3vpnd_tests::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);
const RED: &str = "red";

fn count(d: &Daemon) -> i64 {
    d.num(&perf_oid(perf::CURR_NUM_ROUTES, RED))
}

#[track_caller]
fn wait_count(d: &Daemon, n: i64) {
    poll(&format!("{n} routes in red"), T, || {
        let c = count(d);
        if c == n {
            Ok(())
        } else {
            Err(format!("{c} routes"))
        }
    });
}

/// The MPLS-L3VPN-STD-MIB notifications received so far (not coldStart,
/// not the BGP4-MIB ones of the session).
fn traps(r: &TrapReceiver) -> Vec<String> {
    r.oids()
        .into_iter()
        .filter(|o| o.starts_with(".1.3.6.1.2.1.10.166.11.0."))
        .collect()
}

#[track_caller]
fn wait_traps(r: &TrapReceiver, want: &[&str]) {
    poll("notifications", T, || {
        let got = traps(r);
        if got == want {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    });
}

fn announce(gb: &GoBgp, prefix: &str, label: u32) {
    gb.cli(&format!(
        "global rib add -a vpnv4 {prefix} label {label} rd 65000:1 rt 65000:100 nexthop 10.99.0.2"
    ));
}

fn withdraw(gb: &GoBgp, prefix: &str, label: u32) {
    gb.cli(&format!(
        "global rib del -a vpnv4 {prefix} label {label} rd 65000:1 rt 65000:100 nexthop 10.99.0.2"
    ));
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn imported_routes_meet_thresholds_limits_and_label_checks() {
    let mut net = Netns::new("blim");
    let pe = net.add("pe");
    let gbns = net.add("gb");
    net.link("pe", "eth0", "10.99.0.1/30", "gb", "eth0", "10.99.0.2/30");
    let r = TrapReceiver::start_in(Some(&pe), "");
    let target = notify_target_toml("nms", r.port, "trap", "v2c", "");
    let (gb, d) = gobgp_vpnv4_peer(&pe, &gbns, &target);
    d.set_ok(&[
        &scalar_oid(scalar::NOTIFICATION_ENABLE),
        "i",
        "1",
        &scalar_oid(scalar::ILL_LBL_RCV_THRSH),
        "u",
        "1",
    ]);
    // VRF red: Mid 2, High = MaxRoutes = 3, importing RT 65000:100.
    d.create_vrf(
        RED,
        &[
            &vrf_oid(vrf::RD, RED),
            "s",
            "65001:1",
            &vrf_oid(vrf::MID_RTE_THRESH, RED),
            "u",
            "2",
            &vrf_oid(vrf::HIGH_RTE_THRESH, RED),
            "u",
            "3",
            &vrf_oid(vrf::MAX_ROUTES, RED),
            "u",
            "3",
        ],
    );
    d.set_ok(&[
        &rt_oid(rt::RT, RED, 1, rt::IMPORT),
        "s",
        "65000:100",
        &rt_oid(rt::ROW_STATUS, RED, 1, rt::IMPORT),
        "i",
        rs::CREATE_AND_GO,
    ]);
    poll("session up", T, || {
        let s = d.num("1.3.6.1.2.1.15.3.1.2.10.99.0.2");
        if s == 6 {
            Ok(())
        } else {
            Err(format!("bgpPeerState {s}"))
        }
    });

    // Two routes with reserved labels (illegal here): counted; the second
    // crosses the threshold (1).
    announce(&gb, "10.1.1.0/24", 5);
    wait_count(&d, 1);
    announce(&gb, "10.1.2.0/24", 6);
    wait_count(&d, 2);
    d.expect(&sec_oid(1, RED), &counter(2));
    wait_traps(&r, &[trap::ILL_LBL]);
    let all = r.received();
    let ill = all
        .iter()
        .find(|x| x.trap_oid() == Some(trap::ILL_LBL))
        .unwrap();
    assert_eq!(
        ill.objects(),
        &[(format!(".{}", sec_oid(1, RED)), "Counter32: 2".to_string())]
    );

    // A third: above Mid, and at High = MaxRoutes.
    announce(&gb, "10.1.3.0/24", 1000);
    wait_count(&d, 3);
    wait_traps(&r, &[trap::ILL_LBL, trap::MID_EXCEEDED, trap::MAX_EXCEEDED]);
    d.expect(&perf_oid(perf::ROUTES_DROPPED, RED), &counter(0));

    // A fourth: refused at the maximum, counted; no new notification (the
    // exceeded state holds until the count falls below High).
    announce(&gb, "10.1.4.0/24", 1001);
    poll("the fourth route dropped", T, || {
        let n = d.num(&perf_oid(perf::ROUTES_DROPPED, RED));
        if n == 1 {
            Ok(())
        } else {
            Err(format!("RoutesDropped {n}"))
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(&d), 3);
    assert_eq!(
        traps(&r),
        vec![trap::ILL_LBL, trap::MID_EXCEEDED, trap::MAX_EXCEEDED]
    );

    // One route leaves: the refused one, still offered, takes its place
    // (the count never falls below High: nothing is cleared).
    withdraw(&gb, "10.1.1.0/24", 5);
    poll("10.1.4.0/24 imported once there is room", T, || {
        let row = bgp_rte_oid(9, RED, "10.1.4.0", 24, Some("10.99.0.2"));
        if d.exists(&row) && count(&d) == 3 {
            Ok(())
        } else {
            Err(format!("{} routes, {row} missing", count(&d)))
        }
    });
    assert!(!d.exists(&bgp_rte_oid(9, RED, "10.1.1.0", 24, Some("10.99.0.2"))));
    // Another leaves: 2 < High, cleared.
    withdraw(&gb, "10.1.2.0/24", 6);
    wait_count(&d, 2);
    wait_traps(
        &r,
        &[
            trap::ILL_LBL,
            trap::MID_EXCEEDED,
            trap::MAX_EXCEEDED,
            trap::MAX_CLEARED,
        ],
    );
    d.expect(&perf_oid(perf::ROUTES_DROPPED, RED), &counter(1));
    d.expect(&sec_oid(1, RED), &counter(2));
}
