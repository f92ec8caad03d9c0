//! Our speaker against GoBGP (gobgpd 3.x) over a veth pair between two
//! network namespaces: iBGP VPNv4 + VPNv6, routes in both directions with
//! exact RD, label, route targets and next hop, withdrawals, route refresh.

mod common;

use bgp::{BgpCommand, BgpEvent, Family, Path, PathAttrs, RouteKey};
use common::*;
use std::net::IpAddr;
use std::sync::Arc;

const GOBGPD: &str = "/usr/bin/gobgpd";

fn gobgp_conf(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("gobgpd.toml");
    std::fs::write(
        &p,
        r#"[global.config]
  as = 65000
  router-id = "10.99.0.2"
  local-address-list = ["10.99.0.2"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.99.0.1"
    peer-as = 65000
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv6-unicast"
"#,
    )
    .unwrap();
    p
}

fn gobgp(net: &NetnsPair, args: &str) -> String {
    let mut argv = vec!["gobgp", "-u", "127.0.0.1", "-p", "50051"];
    argv.extend(args.split_whitespace());
    net.exec_b(&argv)
}

/// The route `rd:prefix` in `gobgp global rib -a FAMILY -j`, if present.
fn gobgp_route(net: &NetnsPair, family: &str, key: &str) -> Option<serde_json::Value> {
    let out = gobgp(net, &format!("global rib -a {family} -j"));
    let v: serde_json::Value = serde_json::from_str(out.trim()).ok()?;
    v.get(key)?.as_array()?.first().cloned()
}

fn attr(route: &serde_json::Value, t: u64) -> Option<&serde_json::Value> {
    route["attrs"].as_array()?.iter().find(|a| a["type"] == t)
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

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn gobgp_ibgp_vpnv4_vpnv6_both_ways() {
    // scripts/test installs the peers: a missing one is a failure, not a skip.
    assert!(
        have(GOBGPD),
        "{} is not installed (apt-get install gobgpd)",
        GOBGPD
    );
    let net = NetnsPair::new("gb");
    let dir = tempdir_for(false);
    let conf = gobgp_conf(dir.path());
    let _gobgpd = Daemon::spawn(
        &net.b,
        &[
            GOBGPD,
            "-f",
            conf.to_str().unwrap(),
            "--api-hosts",
            "127.0.0.1:50051",
            "--pprof-disable",
        ],
        &dir.path().join("gobgpd.log"),
    );
    let a = net.a.clone();
    let net = Arc::new(net);
    let n2 = net.clone();
    in_netns(&a, move || async move {
        let net = n2;
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
        let st = s.status.get(1).unwrap();
        assert_eq!(
            st.remote_router_id,
            "10.99.0.2".parse::<std::net::Ipv4Addr>().unwrap()
        );
        assert_eq!(st.negotiated_hold_time, 90);

        // GoBGP -> us: VPNv4.
        gobgp(
            &net,
            "global rib add -a vpnv4 10.0.0.0/24 label 10 rd 100:100 rt 100:200 nexthop 10.99.0.2",
        );
        let key = RouteKey::Vpn(rd0(100, 100), "10.0.0.0/24".parse().unwrap());
        let e = s
            .wait_for(
                "Best 100:100:10.0.0.0/24",
                20,
                |e| matches!(e, BgpEvent::Best { key: k, best: Some(_), .. } if *k == key),
            )
            .await;
        let BgpEvent::Best {
            rib, best: Some(p), ..
        } = e
        else {
            unreachable!()
        };
        assert_eq!(rib, None);
        assert_eq!(p.labels, vec![10]);
        assert_eq!(p.attrs.ext_communities, vec![rt0(100, 200)]);
        assert_eq!(
            p.attrs.next_hop,
            Some("10.99.0.2".parse::<IpAddr>().unwrap())
        );
        assert_eq!(p.from, Some(1));

        // GoBGP -> us: VPNv6 with an IPv6 next hop.
        gobgp(&net, "global rib add -a vpnv6 2001:db8:1::/48 label 20 rd 100:100 rt 100:200 nexthop 2001:db8:99::2");
        let key6 = RouteKey::Vpn(rd0(100, 100), "2001:db8:1::/48".parse().unwrap());
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
        assert_eq!(p.labels, vec![20]);
        assert_eq!(
            p.attrs.next_hop,
            Some("2001:db8:99::2".parse::<IpAddr>().unwrap())
        );

        // Us -> GoBGP: VPNv4 and VPNv6, next hop self.
        s.send(BgpCommand::Originate {
            rib: None,
            routes: vec![
                local_route(rd0(65000, 7), "10.77.0.0/24", 777, rt0(65000, 70)),
                local_route(rd0(65000, 7), "2001:db8:77::/48", 778, rt0(65000, 70)),
            ],
        })
        .await;
        let r = poll("10.77.0.0/24 in gobgp", 20, || {
            gobgp_route(&net, "vpnv4", "65000:7:10.77.0.0/24")
        });
        assert_eq!(r["nlri"]["labels"], serde_json::json!([777]));
        assert_eq!(
            r["nlri"]["rd"],
            serde_json::json!({"type": 0, "admin": 65000, "assigned": 7})
        );
        assert_eq!(attr(&r, 14).unwrap()["nexthop"], "10.99.0.1");
        assert_eq!(attr(&r, 16).unwrap()["value"][0]["value"], "65000:70");
        assert_eq!(
            attr(&r, 5).map(|a| a["value"].clone()),
            Some(serde_json::json!(100))
        );
        let r = poll("2001:db8:77::/48 in gobgp", 20, || {
            gobgp_route(&net, "vpnv6", "65000:7:2001:db8:77::/48")
        });
        assert_eq!(r["nlri"]["labels"], serde_json::json!([778]));
        // ::ffff:10.99.0.1 on the wire (24 octets); GoBGP shows it as IPv4.
        assert_eq!(attr(&r, 14).unwrap()["nexthop"], "10.99.0.1");

        // Route refresh: GoBGP sends its Adj-RIB-Out again.
        let before = s.status.get(1).unwrap().in_updates;
        s.send(BgpCommand::Refresh(1)).await;
        poll("UPDATEs after ROUTE-REFRESH", 20, || {
            (s.status.get(1).unwrap().in_updates > before).then_some(())
        });

        // Withdrawals both ways.
        gobgp(
            &net,
            "global rib del -a vpnv4 10.0.0.0/24 label 10 rd 100:100 rt 100:200 nexthop 10.99.0.2",
        );
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
        poll("10.77.0.0/24 gone from gobgp", 20, || {
            gobgp_route(&net, "vpnv4", "65000:7:10.77.0.0/24")
                .is_none()
                .then_some(())
        });
        assert!(gobgp_route(&net, "vpnv6", "65000:7:2001:db8:77::/48").is_some());
        let st = s.status.get(1).unwrap();
        let acc = |f| {
            st.prefixes_accepted
                .iter()
                .find(|(g, _)| *g == f)
                .unwrap()
                .1
        };
        assert_eq!((acc(Family::Vpnv4), acc(Family::Vpnv6)), (0, 1));
        s.send(BgpCommand::Shutdown).await;
    });
}

/// GoBGP as a CE (eBGP, IPv4 unicast) of VRF "red": the VRF RIB's routes go
/// to it with our AS prepended and next hop self; its routes land in the
/// VRF RIB.
#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn gobgp_ce_ebgp_in_vrf() {
    // scripts/test installs the peers: a missing one is a failure, not a skip.
    assert!(
        have(GOBGPD),
        "{} is not installed (apt-get install gobgpd)",
        GOBGPD
    );
    let net = Arc::new(NetnsPair::new("gc"));
    let dir = tempdir_for(false);
    let conf = dir.path().join("gobgpd.toml");
    std::fs::write(
        &conf,
        r#"[global.config]
  as = 65010
  router-id = "10.99.0.2"
  local-address-list = ["10.99.0.2"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.99.0.1"
    peer-as = 65000
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
"#,
    )
    .unwrap();
    let _gobgpd = Daemon::spawn(
        &net.b,
        &[
            GOBGPD,
            "-f",
            conf.to_str().unwrap(),
            "--api-hosts",
            "127.0.0.1:50051",
            "--pprof-disable",
        ],
        &dir.path().join("gobgpd.log"),
    );
    let a = net.a.clone();
    let n2 = net.clone();
    in_netns(&a, move || async move {
        let net = n2;
        let mut s = Speaker::start(
            65000,
            "10.99.0.1".parse().unwrap(),
            vec!["10.99.0.1:179".parse().unwrap()],
        )
        .await;
        let mut ce = peer(
            7,
            "10.99.0.2".parse().unwrap(),
            65010,
            vec![Family::Ipv4Unicast],
        );
        ce.rib = Some("red".into());
        s.send(BgpCommand::PutPeer(ce)).await;
        s.established(7, 40).await;
        // A route of VRF red (as vpn-core imports it from a remote PE).
        let imported = Path {
            attrs: Arc::new(PathAttrs {
                next_hop: Some("192.0.2.9".parse().unwrap()),
                ..PathAttrs::default()
            }),
            labels: bgp::Labels::new(),
            from: None,
        };
        s.send(BgpCommand::Originate {
            rib: Some("red".into()),
            routes: vec![(
                RouteKey::Unicast("192.168.50.0/24".parse().unwrap()),
                imported,
            )],
        })
        .await;
        let r = poll("192.168.50.0/24 at the CE", 20, || {
            let out = gobgp(&net, "global rib -a ipv4 -j");
            let v: serde_json::Value = serde_json::from_str(out.trim()).ok()?;
            v.get("192.168.50.0/24")?.as_array()?.first().cloned()
        });
        assert_eq!(attr(&r, 3).unwrap()["nexthop"], "10.99.0.1", "{r}");
        assert_eq!(
            attr(&r, 2).unwrap()["as_paths"][0]["asns"],
            serde_json::json!([65000]),
            "{r}"
        );
        // CE -> VRF RIB.
        gobgp(
            &net,
            "global rib add -a ipv4 172.30.0.0/16 nexthop 10.99.0.2",
        );
        let key = RouteKey::Unicast("172.30.0.0/16".parse().unwrap());
        let e = s
            .wait_for(
                "CE route in red",
                20,
                |e| matches!(e, BgpEvent::Best { key: k, best: Some(_), .. } if *k == key),
            )
            .await;
        let BgpEvent::Best {
            rib, best: Some(p), ..
        } = e
        else {
            unreachable!()
        };
        assert_eq!(rib.as_deref(), Some("red"));
        assert_eq!(
            p.attrs.next_hop,
            Some("10.99.0.2".parse::<IpAddr>().unwrap())
        );
        assert_eq!(p.attrs.as_path, vec![bgp::AsSegment::Sequence(vec![65010])]);
        assert_eq!(p.attrs.local_pref, None);
        s.send(BgpCommand::Shutdown).await;
    });
}
