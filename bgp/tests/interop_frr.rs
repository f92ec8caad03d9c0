//! Our speaker against FRR bgpd 8.x (`bgpd -Z`, no zebra) over a veth pair
//! between two network namespaces: iBGP VPNv4 + VPNv6 in both directions
//! with exact RD, label, route targets and next hop, and withdrawals.

mod common;

use bgp::{BgpCommand, BgpEvent, Family, Path, PathAttrs, RouteKey};
use common::*;
use std::net::IpAddr;
use std::sync::Arc;

const BGPD: &str = "/usr/lib/frr/bgpd";

struct Frr {
    // Dropped first: the daemon is stopped through its pid file, which lives
    // in `dir` (fields drop in declaration order).
    _daemon: Daemon,
    dir: tempfile::TempDir,
}

impl Frr {
    fn start(net: &NetnsPair) -> Frr {
        let dir = tempdir_for(true);
        let d = dir.path();
        let conf = d.join("bgpd.conf");
        std::fs::write(
            &conf,
            format!(
                "hostname pe2
log file {log}
route-map RT permit 10
 set extcommunity rt 65000:10
exit
router bgp 65000
 bgp router-id 10.99.0.2
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor 10.99.0.1 remote-as 65000
 neighbor 10.99.0.1 update-source 10.99.0.2
 neighbor 10.99.0.1 timers connect 2
 address-family ipv4 vpn
  neighbor 10.99.0.1 activate
  network 10.1.0.0/16 rd 65000:1 label 100 route-map RT
 exit-address-family
 address-family ipv6 vpn
  neighbor 10.99.0.1 activate
  network 2001:db8:100::/48 rd 65000:1 label 101 route-map RT
 exit-address-family
",
                log = d.join("bgpd.log").display()
            ),
        )
        .unwrap();
        let _ = std::process::Command::new("chown")
            .args(["-R", "frr:frr", d.to_str().unwrap()])
            .status();
        let pid = d.join("bgpd.pid");
        net.exec_b(&[
            BGPD,
            "-d",
            "-Z",
            "-f",
            conf.to_str().unwrap(),
            "-i",
            pid.to_str().unwrap(),
            "--vty_socket",
            d.to_str().unwrap(),
            "-u",
            "frr",
            "-g",
            "frr",
        ]);
        Frr {
            _daemon: Daemon::forking(pid),
            dir,
        }
    }

    fn vtysh(&self, cmds: &[&str]) -> String {
        let mut c = std::process::Command::new("vtysh");
        c.args(["--vty_socket", self.dir.path().to_str().unwrap()]);
        for x in cmds {
            c.args(["-c", x]);
        }
        let out = c.output().expect("vtysh");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, cmd: &str) -> serde_json::Value {
        serde_json::from_str(&self.vtysh(&[cmd])).unwrap_or(serde_json::Value::Null)
    }
}

fn local_route(rd: [u8; 8], prefix: &str, label: u32, rt: [u8; 8]) -> (RouteKey, Path) {
    let attrs = PathAttrs {
        origin: 0,
        ext_communities: vec![rt],
        ..PathAttrs::default()
    };
    (
        RouteKey::Vpn(rd, prefix.parse().unwrap()),
        Path {
            attrs: Arc::new(attrs),
            labels: bgp::Labels::one(label),
            from: None,
        },
    )
}

/// FRR's view of one VPN route: `show bgp ipv4|ipv6 vpn rd RD PREFIX json`,
/// the first path, if the route is there.
fn frr_path(frr: &Frr, afi: &str, rd: &str, prefix: &str) -> Option<serde_json::Value> {
    let v = frr.json(&format!("show bgp {afi} vpn rd {rd} {prefix} json"));
    v[rd]["paths"].as_array()?.first().cloned()
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn frr_ibgp_vpnv4_vpnv6_both_ways() {
    // scripts/test installs the peers: a missing one is a failure, not a skip.
    assert!(
        have(BGPD),
        "{} is not installed (apt-get install frr)",
        BGPD
    );
    let net = Arc::new(NetnsPair::new("fr"));
    let frr = Arc::new(Frr::start(&net));
    let a = net.a.clone();
    let frr2 = frr.clone();
    in_netns(&a, move || async move {
        let frr = frr2;
        let mut s = Speaker::start(
            65000,
            "10.99.0.1".parse().unwrap(),
            vec!["10.99.0.1:179".parse().unwrap()],
        )
        .await;
        s.send(BgpCommand::PutPeer(peer(
            1,
            "10.99.0.2".parse().unwrap(),
            65000,
            vec![Family::Vpnv4, Family::Vpnv6],
        )))
        .await;
        s.established(1, 40).await;

        // FRR -> us.
        let key = RouteKey::Vpn(rd0(65000, 1), "10.1.0.0/16".parse().unwrap());
        let e = s
            .wait_for(
                "Best 65000:1:10.1.0.0/16",
                20,
                |e| matches!(e, BgpEvent::Best { key: k, best: Some(_), .. } if *k == key),
            )
            .await;
        let BgpEvent::Best { best: Some(p), .. } = e else {
            unreachable!()
        };
        assert_eq!(p.labels, vec![100]);
        assert_eq!(p.attrs.ext_communities, vec![rt0(65000, 10)]);
        assert_eq!(
            p.attrs.next_hop,
            Some("10.99.0.2".parse::<IpAddr>().unwrap())
        );
        let key6 = RouteKey::Vpn(rd0(65000, 1), "2001:db8:100::/48".parse().unwrap());
        let e = s
            .wait_for(
                "Best VPNv6",
                20,
                |e| matches!(e, BgpEvent::Best { key: k, best: Some(_), .. } if *k == key6),
            )
            .await;
        let BgpEvent::Best { best: Some(p), .. } = e else {
            unreachable!()
        };
        assert_eq!(p.labels, vec![101]);
        // ::ffff:10.99.0.2 (24-octet next hop) is reported as IPv4.
        assert_eq!(
            p.attrs.next_hop,
            Some("10.99.0.2".parse::<IpAddr>().unwrap())
        );
        s.wait_for("End-of-RIB VPNv4", 20, |e| {
            matches!(
                e,
                BgpEvent::EndOfRib {
                    id: 1,
                    family: Family::Vpnv4
                }
            )
        })
        .await;

        // Us -> FRR.
        s.send(BgpCommand::Originate {
            rib: None,
            routes: vec![
                local_route(rd0(65000, 7), "10.77.0.0/24", 777, rt0(65000, 70)),
                local_route(rd0(65000, 7), "2001:db8:77::/48", 778, rt0(65000, 70)),
            ],
        })
        .await;
        let p = poll("10.77.0.0/24 in FRR", 20, || {
            frr_path(&frr, "ipv4", "65000:7", "10.77.0.0/24")
        });
        assert_eq!(p["remoteLabel"], 777, "{p}");
        assert_eq!(p["extendedCommunity"]["string"], "RT:65000:70", "{p}");
        assert_eq!(p["nexthops"][0]["ip"], "10.99.0.1", "{p}");
        let p = poll("2001:db8:77::/48 in FRR", 20, || {
            frr_path(&frr, "ipv6", "65000:7", "2001:db8:77::/48")
        });
        assert_eq!(p["remoteLabel"], 778, "{p}");
        // ::ffff:10.99.0.1, as FRR prints it.
        assert_eq!(p["nexthops"][0]["ip"], "::ffff:a63:1", "{p}");

        // Withdrawals both ways.
        frr.vtysh(&[
            "conf t",
            "router bgp 65000",
            "address-family ipv4 vpn",
            "no network 10.1.0.0/16 rd 65000:1 label 100",
        ]);
        s.wait_for(
            "Best None",
            20,
            |e| matches!(e, BgpEvent::Best { key: k, best: None, .. } if *k == key),
        )
        .await;
        s.send(BgpCommand::Withdraw {
            rib: None,
            keys: vec![RouteKey::Vpn(
                rd0(65000, 7),
                "10.77.0.0/24".parse().unwrap(),
            )],
        })
        .await;
        poll("10.77.0.0/24 gone from FRR", 20, || {
            frr_path(&frr, "ipv4", "65000:7", "10.77.0.0/24")
                .is_none()
                .then_some(())
        });
        s.send(BgpCommand::Shutdown).await;
    });
}
