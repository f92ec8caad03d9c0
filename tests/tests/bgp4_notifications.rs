//! BGP4-MIB notifications (RFC 4273 section 5): bgpEstablishedNotification
//! when a peer's session reaches Established, bgpBackwardTransNotification
//! when it falls back to a lower state, each with bgpPeerRemoteAddr,
//! bgpPeerLastError and bgpPeerState of the peer (index: its IPv4
//! address). Sent by the real daemon to a real snmptrapd, for a real GoBGP
//! peer in another network namespace that goes down with a Cease
//! (Administrative Shutdown) and comes back.

use l3vpnd_tests::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);
const ESTABLISHED: &str = ".1.3.6.1.2.1.15.0.1";
const BACKWARD: &str = ".1.3.6.1.2.1.15.0.2";
const PEER_ENTRY: &str = ".1.3.6.1.2.1.15.3.1";

/// bgpPeerEntry column `col` of peer 10.99.0.2.
fn col(c: u32) -> String {
    format!("{PEER_ENTRY}.{c}.10.99.0.2")
}

/// The three objects of a BGP4-MIB notification for peer 10.99.0.2.
fn objects(last_error: &str, state: u32) -> Vec<(String, String)> {
    vec![
        (col(7), "IpAddress: 10.99.0.2".to_string()),
        (col(14), format!("Hex-STRING: {last_error}")),
        (col(2), format!("INTEGER: {state}")),
    ]
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn established_and_backward_transition_reach_the_manager() {
    let mut net = Netns::new("b4n");
    let pe = net.add("pe");
    let gbns = net.add("gb");
    net.link("pe", "eth0", "10.99.0.1/30", "gb", "eth0", "10.99.0.2/30");
    let r = TrapReceiver::start_in(Some(&pe), "");
    let target = notify_target_toml("nms", r.port, "trap", "v2c", "");
    let (gb, d) = gobgp_vpnv4_peer(&pe, &gbns, &target);

    // coldStart, then the session comes up: no error seen yet.
    let got = r.wait_count(2, T);
    assert_eq!(r.oids(), vec![trap::COLD_START, ESTABLISHED], "{got:#?}");
    assert_eq!(got[1].pdu, "TRAP2");
    assert_eq!(got[1].objects(), objects("00 00", 6).as_slice());

    // GoBGP shuts the session down (NOTIFICATION Cease/Administrative
    // Shutdown, 6/2): a backward transition carrying that error, out of
    // Established into Idle (1) or Active (3).
    let (ok, _, err) = gb.try_cli(&["neighbor", "10.99.0.1", "disable"]);
    assert!(ok, "gobgp neighbor disable: {err}");
    let got = r.wait_count(3, T);
    assert_eq!(got[2].trap_oid(), Some(BACKWARD), "{got:#?}");
    let o = got[2].objects();
    assert_eq!(o.len(), 3, "{o:?}");
    assert_eq!(o[..2], objects("06 02", 0)[..2]);
    assert!(
        o[2] == (col(2), "INTEGER: 1".to_string()) || o[2] == (col(2), "INTEGER: 3".to_string()),
        "state after the Cease: {o:?}"
    );

    // Back up: Established again (bgpPeerLastError then holds whatever the
    // agent's bgpPeerLastError says).
    let (ok, _, err) = gb.try_cli(&["neighbor", "10.99.0.1", "enable"]);
    assert!(ok, "gobgp neighbor enable: {err}");
    let got = poll_until_established(&r);
    let o = got.objects();
    assert_eq!(o.len(), 3, "{o:?}");
    assert_eq!(o[0], objects("", 6)[0]);
    assert_eq!(o[2], objects("", 6)[2]);
    let last = d.val("1.3.6.1.2.1.15.3.1.14.10.99.0.2");
    assert_eq!(last.trim(), o[1].1.trim(), "bgpPeerLastError vs {o:?}");
}

/// The first bgpEstablishedNotification after the third notification.
fn poll_until_established(r: &TrapReceiver) -> Received {
    let t0 = std::time::Instant::now();
    loop {
        let all = r.received();
        if let Some(x) = all
            .iter()
            .skip(3)
            .find(|x| x.trap_oid() == Some(ESTABLISHED))
        {
            return x.clone();
        }
        assert!(
            t0.elapsed() < T,
            "no second Established notification: {all:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
