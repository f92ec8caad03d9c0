//! l3vpndVrfFibRoutes (L3VPND-MIB): the number of routes a VRF's FIB table
//! holds as the reconciler applied them, catch-all defaults included, on
//! the shadow FIB (no root), with exact values: a fresh VRF, static routes
//! (several rows of one prefix are one FIB route, a default route of the
//! VRF takes the catch-all's place), admin down and up, a second VRF, and
//! the row gone with its VRF.

use l3vpnd_tests::*;
use std::time::Duration;

/// l3vpndVrfEntry column 7.

const T: Duration = Duration::from_secs(10);

fn fib_routes(d: &Daemon, vrf: &str) -> i64 {
    d.num(&ext::vrf_oid(ext::FIB_ROUTES, vrf))
}

#[track_caller]
fn wait_routes(d: &Daemon, vrf: &str, n: i64) {
    wait_for(&format!("l3vpndVrfFibRoutes.{vrf} = {n}"), T, || {
        fib_routes(d, vrf) == n
    });
    // exactly, as a Gauge32
    d.expect(&ext::vrf_oid(ext::FIB_ROUTES, vrf), &gauge(n as u64));
}

#[track_caller]
fn create_route(d: &Daemon, vrf: &str, dest: &str, pfx: u32, nh: Option<&str>, typ: &str) {
    d.set_ok(&[
        &rte_oid(rte::TYPE, vrf, dest, pfx, nh),
        "i",
        typ,
        &rte_oid(rte::STATUS, vrf, dest, pfx, nh),
        "i",
        rs::CREATE_AND_GO,
    ]);
}

#[test]
fn fib_routes_counts_what_the_vrf_table_holds() {
    let d = Daemon::new();
    d.create_vrf("A", &[]);
    wait_for("A installed", T, || {
        d.num(&ext::vrf_oid(ext::FIB_STATUS, "A")) == ext::FIB_INSTALLED
    });
    // a fresh VRF's table holds the IPv4 and IPv6 catch-all defaults
    wait_routes(&d, "A", 2);
    let since = d.num(&ext::vrf_oid(ext::FIB_LAST_CHANGE, "A"));

    // two rows of one prefix are one FIB route (the best)
    create_route(&d, "A", "10.0.0.0", 8, Some("192.0.2.1"), rte::REMOTE);
    create_route(&d, "A", "10.0.0.0", 8, Some("192.0.2.2"), rte::REMOTE);
    create_route(
        &d,
        "A",
        "2001:db8:100::",
        48,
        Some("2001:db8::1"),
        rte::REMOTE,
    );
    create_route(&d, "A", "10.30.0.0", 16, None, rte::BLACKHOLE);
    wait_routes(&d, "A", 5);
    // the VRF's own default route takes the IPv4 catch-all's place
    create_route(&d, "A", "0.0.0.0", 0, Some("192.0.2.254"), rte::REMOTE);
    std::thread::sleep(Duration::from_millis(300));
    wait_routes(&d, "A", 5);
    // a count change is no status change
    assert_eq!(
        d.num(&ext::vrf_oid(ext::FIB_LAST_CHANGE, "A")),
        since,
        "l3vpndVrfFibLastChange moved with the route count"
    );

    // a second VRF has its own count
    d.create_vrf("B", &[]);
    wait_routes(&d, "B", 2);
    assert_eq!(fib_routes(&d, "A"), 5);

    // admin down: the table is kept with its catch-all defaults only
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "A"), "i", "2"]);
    wait_routes(&d, "A", 2);
    d.expect(
        &ext::vrf_oid(ext::FIB_STATUS, "A"),
        &integer(ext::FIB_NOT_APPLICABLE),
    );
    d.set_ok(&[&vrf_oid(vrf::ADMIN_STATUS, "A"), "i", "1"]);
    wait_routes(&d, "A", 5);

    // destroying a route
    d.set_ok(&[
        &rte_oid(rte::STATUS, "A", "10.30.0.0", 16, None),
        "i",
        rs::DESTROY,
    ]);
    wait_routes(&d, "A", 4);

    // the row goes with its VRF
    d.destroy_vrf("A");
    wait_for("A's extension row gone", T, || {
        d.val(&ext::vrf_oid(ext::FIB_ROUTES, "A"))
            .starts_with("No Such Instance")
    });
    wait_routes(&d, "B", 2);
}
