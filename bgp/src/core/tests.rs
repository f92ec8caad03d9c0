//! Core tests without I/O: route reflection (RFC 4456), next-hop-self,
//! eBGP export rules, VRF RIBs for CE peers, best path between peers, loop
//! detection, graceful restart helper (RFC 4724), route refresh.

use super::*;
use crate::packet::{frame, Message};
use crate::PathAttrs;
use ipnet::IpNet;

const ME: Ipv4Addr = Ipv4Addr::new(1, 1, 1, 1);

fn speaker() -> Core {
    Core::new(SpeakerConfig {
        asn: 65000,
        router_id: ME,
        listen: Vec::new(),
    })
}

fn cfg(id: PeerId, addr: &str, remote_as: u32, client: bool, rib: Option<&str>) -> PeerConfig {
    PeerConfig {
        id,
        address: addr.parse().unwrap(),
        port: 179,
        remote_as,
        families: Family::ALL.to_vec(),
        hold_time: 90,
        keepalive: 30,
        md5_password: None,
        route_reflector_client: client,
        admin_up: true,
        passive: false,
        rib: rib.map(str::to_string),
    }
}

/// Adds a peer and brings its session up (local address 10.0.0.1 or
/// 10.0.1.1 for eBGP), then drops the initial dump.
fn up(core: &mut Core, c: PeerConfig, remote_id: [u8; 4], gr: Option<FamilySet>) {
    let id = c.id;
    let ebgp = c.remote_as != 65000;
    let remote_as = c.remote_as;
    let remote = SocketAddr::new(c.address, 179);
    core.put_peer(c, Arc::new(PeerShared::new(id, remote_as)));
    let info = SessionInfo {
        gen: 1,
        ctx: SessionCtx {
            as4: true,
            ebgp,
            local_as: 65000,
            peer_as: remote_as,
            families: Family::ALL.into_iter().collect(),
        },
        local_addr: SocketAddr::new(
            if ebgp { "10.0.1.1" } else { "10.0.0.1" }.parse().unwrap(),
            40000,
        ),
        remote_addr: remote,
        remote_id: remote_id.into(),
        hold_time: 90,
        keepalive: 30,
        peer_gr: gr.map(|f| (120, f)),
    };
    core.peer_up(id, info);
    core.flush(id);
}

fn rd(n: u32) -> [u8; 8] {
    let mut r = [0, 0, 0xfd, 0xe8, 0, 0, 0, 0];
    r[4..].copy_from_slice(&n.to_be_bytes());
    r
}

fn vpn_key(n: u32, p: &str) -> RouteKey {
    RouteKey::Vpn(rd(n), p.parse().unwrap())
}

fn attrs(as_path: &[u32], nh: &str) -> PathAttrs {
    PathAttrs {
        as_path: if as_path.is_empty() {
            vec![]
        } else {
            vec![AsSegment::Sequence(as_path.to_vec())]
        },
        next_hop: Some(nh.parse().unwrap()),
        ..PathAttrs::default()
    }
}

fn announce(core: &mut Core, id: PeerId, key: RouteKey, label: Option<u32>, a: PathAttrs) {
    let up = Update {
        announced: vec![Nlri { key, label }],
        attrs: a,
        ..Update::default()
    };
    core.apply_update(id, 1, up);
}

/// What `id` was sent since the last flush: (announced routes with their
/// attributes, withdrawn keys, End-of-RIBs).
#[allow(clippy::type_complexity)]
fn sent(core: &mut Core, id: PeerId) -> (Vec<(Nlri, PathAttrs)>, Vec<RouteKey>, Vec<Family>) {
    let mut ann = Vec::new();
    let mut wd = Vec::new();
    let mut eor = Vec::new();
    let Some((_, bytes)) = core.flush(id) else {
        return (ann, wd, eor);
    };
    let ctx = SessionCtx::default();
    let mut rest = &bytes[..];
    while let Ok(Some(len)) = frame(rest) {
        let Ok(Message::Update(u)) = Message::parse(&rest[..len], &ctx) else {
            panic!("not an UPDATE")
        };
        if let Some(f) = u.end_of_rib {
            eor.push(f);
        }
        wd.extend(u.withdrawn.iter().map(|n| n.key));
        for n in u.announced.iter() {
            ann.push((*n, u.attrs.clone()));
        }
        for n in u.nlri.iter() {
            let mut a = u.attrs.clone();
            a.next_hop = u.nlri_next_hop.map(IpAddr::V4);
            ann.push((*n, a));
        }
        rest = &rest[len..];
    }
    (ann, wd, eor)
}

fn bests(core: &mut Core) -> Vec<(Option<String>, RouteKey, Option<Path>)> {
    core.events
        .drain(..)
        .filter_map(|e| match e {
            BgpEvent::Best { rib, key, best, .. } => Some((rib, key, best)),
            _ => None,
        })
        .collect()
}

#[test]
fn reflection_next_hop_self_and_ebgp_export() {
    let mut c = speaker();
    up(
        &mut c,
        cfg(1, "10.0.0.2", 65000, false, None),
        [2, 2, 2, 2],
        None,
    );
    up(
        &mut c,
        cfg(2, "10.0.0.3", 65000, false, None),
        [3, 3, 3, 3],
        None,
    );
    up(
        &mut c,
        cfg(3, "10.0.0.4", 65000, true, None),
        [4, 4, 4, 4],
        None,
    );
    up(
        &mut c,
        cfg(4, "10.0.1.2", 65001, false, None),
        [5, 5, 5, 5],
        None,
    );

    // From non-client A: to the client and to eBGP, not to non-client B.
    let k1 = vpn_key(1, "10.1.0.0/16");
    announce(
        &mut c,
        1,
        k1,
        Some(100),
        PathAttrs {
            local_pref: Some(150),
            med: Some(7),
            ..attrs(&[], "10.0.0.2")
        },
    );
    let b = bests(&mut c);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].2.as_ref().unwrap().labels, vec![100]);
    assert_eq!(b[0].2.as_ref().unwrap().from, Some(1));
    assert!(sent(&mut c, 1).0.is_empty(), "never back to its source");
    assert!(
        sent(&mut c, 2).0.is_empty(),
        "non-client to non-client: not reflected"
    );
    let (ann, _, _) = sent(&mut c, 3);
    assert_eq!(ann.len(), 1);
    let (n, a) = &ann[0];
    assert_eq!((n.key, n.label), (k1, Some(100)));
    assert_eq!(
        a.next_hop,
        Some("10.0.0.2".parse().unwrap()),
        "reflected: next hop kept"
    );
    assert_eq!(a.originator_id, Some(Ipv4Addr::new(2, 2, 2, 2)));
    assert_eq!(a.cluster_list, vec![ME]);
    assert_eq!((a.local_pref, a.med), (Some(150), Some(7)));
    let (ann, _, _) = sent(&mut c, 4);
    let (_, a) = &ann[0];
    assert_eq!(a.as_path, vec![AsSegment::Sequence(vec![65000])]);
    assert_eq!(
        a.next_hop,
        Some("10.0.1.1".parse().unwrap()),
        "next hop self to eBGP"
    );
    assert_eq!(
        (a.local_pref, a.originator_id, a.cluster_list.len()),
        (None, None, 0)
    );
    assert_eq!(
        a.med,
        Some(7),
        "an internal MED may go to a neighbouring AS"
    );

    // From the client: reflected to A and B with its ORIGINATOR_ID.
    let k2 = vpn_key(2, "10.2.0.0/16");
    announce(&mut c, 3, k2, Some(200), attrs(&[], "10.0.0.4"));
    for peer in [1, 2] {
        let (ann, _, _) = sent(&mut c, peer);
        assert_eq!(ann.len(), 1, "peer {peer}");
        assert_eq!(ann[0].1.originator_id, Some(Ipv4Addr::new(4, 4, 4, 4)));
    }
    assert!(sent(&mut c, 3).0.is_empty());

    // From eBGP: next hop self and LOCAL_PREF 100 to internal peers, MED
    // dropped towards other ASes (none here), AS_PATH kept.
    let k3 = vpn_key(3, "10.3.0.0/16");
    announce(
        &mut c,
        4,
        k3,
        Some(300),
        PathAttrs {
            med: Some(9),
            ..attrs(&[65001], "10.0.1.2")
        },
    );
    let (ann, _, _) = sent(&mut c, 1);
    let a = &ann[0].1;
    assert_eq!(a.next_hop, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(a.local_pref, Some(100));
    assert_eq!(a.as_path, vec![AsSegment::Sequence(vec![65001])]);
    assert_eq!(sent(&mut c, 2).0.len(), 1);
    let to4 = sent(&mut c, 4).0;
    assert!(to4.iter().any(|(n, _)| n.key == k2), "iBGP-learned to eBGP");
    assert!(
        !to4.iter().any(|(n, _)| n.key == k3),
        "not back to the eBGP peer it came from"
    );

    // Local route: next hop self (None), label from the path.
    let k4 = vpn_key(4, "2001:db8:4::/48");
    let local = Path {
        attrs: Arc::new(PathAttrs {
            ext_communities: vec![[0, 2, 0xfd, 0xe8, 0, 0, 0, 4]],
            ..PathAttrs::default()
        }),
        labels: crate::Labels::one(400),
        from: None,
    };
    bests(&mut c);
    c.originate(&None, vec![(k4, local)]);
    assert!(
        bests(&mut c).is_empty(),
        "local-only changes are not reported"
    );
    let (ann, _, _) = sent(&mut c, 2);
    assert_eq!((ann[0].0.key, ann[0].0.label), (k4, Some(400)));
    assert_eq!(ann[0].1.next_hop, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(
        ann[0].1.ext_communities,
        vec![[0, 2, 0xfd, 0xe8, 0, 0, 0, 4]]
    );
    c.withdraw(&None, vec![k4]);
    let (_, wd, _) = sent(&mut c, 2);
    assert_eq!(wd, vec![k4]);

    for p in [1, 3, 4] {
        sent(&mut c, p);
    }
    // A goes down: its route is withdrawn everywhere it went.
    c.peer_down(1, 1, false);
    let b = bests(&mut c);
    assert_eq!(b, vec![(None, k1, None)]);
    assert_eq!(sent(&mut c, 3).1, vec![k1]);
    assert_eq!(sent(&mut c, 4).1, vec![k1]);
}

#[test]
fn vrf_rib_for_ce_peers() {
    let mut c = speaker();
    up(
        &mut c,
        cfg(1, "10.0.0.2", 65000, false, None),
        [2, 2, 2, 2],
        None,
    );
    up(
        &mut c,
        cfg(5, "172.16.0.2", 65010, false, Some("red")),
        [9, 9, 9, 9],
        None,
    );
    up(
        &mut c,
        cfg(6, "172.17.0.2", 65020, false, Some("blue")),
        [8, 8, 8, 8],
        None,
    );
    let p: IpNet = "192.168.1.0/24".parse().unwrap();
    let imported = Path {
        attrs: Arc::new(attrs(&[], "10.0.0.9")),
        labels: crate::Labels::new(),
        from: None,
    };
    c.originate(&Some("red".into()), vec![(RouteKey::Unicast(p), imported)]);
    let (ann, _, _) = sent(&mut c, 5);
    assert_eq!(ann.len(), 1);
    assert_eq!(ann[0].0.key, RouteKey::Unicast(p));
    assert_eq!(ann[0].1.as_path, vec![AsSegment::Sequence(vec![65000])]);
    assert_eq!(
        ann[0].1.next_hop,
        Some("10.0.1.1".parse().unwrap()),
        "next hop self to the CE"
    );
    assert!(
        sent(&mut c, 1).0.is_empty(),
        "the PE peer sees the VPN RIB only"
    );
    assert!(sent(&mut c, 6).0.is_empty(), "other VRF's CE sees nothing");
    // CE -> VRF RIB.
    let q: IpNet = "172.30.0.0/16".parse().unwrap();
    announce(
        &mut c,
        5,
        RouteKey::Unicast(q),
        None,
        attrs(&[65010], "172.16.0.2"),
    );
    let b = bests(&mut c);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].0.as_deref(), Some("red"));
    assert_eq!(b[0].1, RouteKey::Unicast(q));
    assert_eq!(b[0].2.as_ref().unwrap().labels, Vec::<u32>::new());
    assert_eq!(c.adj_rib_in(5).len(), 1);
    assert!(c.adj_rib_in(6).is_empty());
}

#[test]
fn best_path_between_peers_and_fallback() {
    let mut c = speaker();
    up(
        &mut c,
        cfg(1, "10.0.0.2", 65000, false, None),
        [2, 2, 2, 2],
        None,
    );
    up(
        &mut c,
        cfg(2, "10.0.0.3", 65000, false, None),
        [3, 3, 3, 3],
        None,
    );
    let k = vpn_key(1, "10.9.0.0/24");
    announce(&mut c, 2, k, Some(20), attrs(&[], "10.0.0.3"));
    announce(&mut c, 1, k, Some(10), attrs(&[], "10.0.0.2"));
    // Lower router id wins: peer 1.
    let b = bests(&mut c);
    assert_eq!(b.last().unwrap().2.as_ref().unwrap().from, Some(1));
    // Peer 2 raises LOCAL_PREF: it wins.
    announce(
        &mut c,
        2,
        k,
        Some(21),
        PathAttrs {
            local_pref: Some(200),
            ..attrs(&[], "10.0.0.3")
        },
    );
    let b = bests(&mut c);
    assert_eq!(b.last().unwrap().2.as_ref().unwrap().labels, vec![21]);
    assert_eq!(c.paths(&None, &k).len(), 2);
    // Peer 2 withdraws: back to peer 1.
    c.apply_update(
        2,
        1,
        Update {
            withdrawn: vec![Nlri {
                key: k,
                label: None,
            }],
            ..Update::default()
        },
    );
    let b = bests(&mut c);
    assert_eq!(b.last().unwrap().2.as_ref().unwrap().from, Some(1));
    // A stale session generation is ignored.
    c.apply_update(
        1,
        7,
        Update {
            withdrawn: vec![Nlri {
                key: k,
                label: None,
            }],
            ..Update::default()
        },
    );
    assert!(bests(&mut c).is_empty());
    // Attribute sets are shared and freed.
    assert_eq!(c.attrs.len(), 1);
}

#[test]
fn loop_detection_and_treat_as_withdraw() {
    let mut c = speaker();
    up(
        &mut c,
        cfg(1, "10.0.0.2", 65000, false, None),
        [2, 2, 2, 2],
        None,
    );
    up(
        &mut c,
        cfg(4, "10.0.1.2", 65001, false, None),
        [5, 5, 5, 5],
        None,
    );
    let k = vpn_key(1, "10.9.0.0/24");
    announce(&mut c, 4, k, Some(1), attrs(&[65001, 65000], "10.0.1.2"));
    assert!(bests(&mut c).is_empty(), "our AS in the path");
    announce(
        &mut c,
        1,
        k,
        Some(1),
        PathAttrs {
            originator_id: Some(ME),
            ..attrs(&[], "10.0.0.2")
        },
    );
    assert!(bests(&mut c).is_empty(), "our router id as ORIGINATOR_ID");
    announce(
        &mut c,
        1,
        k,
        Some(1),
        PathAttrs {
            cluster_list: vec![ME],
            ..attrs(&[], "10.0.0.2")
        },
    );
    assert!(bests(&mut c).is_empty(), "our cluster id in CLUSTER_LIST");
    announce(&mut c, 1, k, Some(1), attrs(&[], "10.0.0.2"));
    assert_eq!(bests(&mut c).len(), 1);
    let taw = Update {
        announced: vec![Nlri {
            key: k,
            label: Some(1),
        }],
        treat_as_withdraw: Some(crate::packet::Error::new("ORIGIN", 3, 6, vec![])),
        ..Update::default()
    };
    c.apply_update(1, 1, taw);
    assert_eq!(bests(&mut c), vec![(None, k, None)]);
}

#[test]
fn graceful_restart_helper() {
    let mut c = speaker();
    let gr: FamilySet = [Family::Vpnv4].into_iter().collect();
    up(
        &mut c,
        cfg(1, "10.0.0.2", 65000, false, None),
        [2, 2, 2, 2],
        Some(gr),
    );
    let (k1, k2) = (vpn_key(1, "10.1.0.0/24"), vpn_key(1, "10.2.0.0/24"));
    announce(&mut c, 1, k1, Some(1), attrs(&[], "10.0.0.2"));
    announce(&mut c, 1, k2, Some(2), attrs(&[], "10.0.0.2"));
    bests(&mut c);
    // TCP failure: routes kept (stale), nothing reported.
    c.peer_down(1, 1, true);
    assert!(bests(&mut c).is_empty());
    assert_eq!(c.adj_rib_in(1).len(), 2);
    // Back: re-announces k1 only, then End-of-RIB: k2 goes.
    let info = SessionInfo {
        gen: 2,
        ctx: SessionCtx {
            local_as: 65000,
            peer_as: 65000,
            ..SessionCtx::default()
        },
        local_addr: "10.0.0.1:179".parse().unwrap(),
        remote_addr: "10.0.0.2:40000".parse().unwrap(),
        remote_id: Ipv4Addr::new(2, 2, 2, 2),
        hold_time: 90,
        keepalive: 30,
        peer_gr: Some((120, gr)),
    };
    c.peer_up(1, info);
    let up1 = Update {
        announced: vec![Nlri {
            key: k1,
            label: Some(1),
        }],
        attrs: attrs(&[], "10.0.0.2"),
        ..Update::default()
    };
    c.apply_update(1, 2, up1);
    assert!(bests(&mut c).is_empty(), "same path again: no change");
    c.apply_update(
        1,
        2,
        Update {
            end_of_rib: Some(Family::Vpnv4),
            ..Update::default()
        },
    );
    assert_eq!(bests(&mut c), vec![(None, k2, None)]);
    assert!(c.events.is_empty());
    // Down again and the restart time runs out: everything goes.
    c.peer_down(1, 2, true);
    c.restart_expired(1);
    assert_eq!(bests(&mut c), vec![(None, k1, None)]);
}

#[test]
fn session_start_dump_and_route_refresh() {
    let mut c = speaker();
    let k = vpn_key(1, "10.1.0.0/24");
    let local = Path {
        attrs: Arc::new(PathAttrs::default()),
        labels: crate::Labels::one(16),
        from: None,
    };
    c.originate(&None, vec![(k, local)]);
    c.put_peer(
        cfg(1, "10.0.0.2", 65000, false, None),
        Arc::new(PeerShared::new(1, 65000)),
    );
    let info = SessionInfo {
        gen: 1,
        ctx: SessionCtx {
            local_as: 65000,
            peer_as: 65000,
            families: [Family::Vpnv4, Family::Vpnv6].into_iter().collect(),
            ..SessionCtx::default()
        },
        local_addr: "10.0.0.1:179".parse().unwrap(),
        remote_addr: "10.0.0.2:40000".parse().unwrap(),
        remote_id: Ipv4Addr::new(2, 2, 2, 2),
        hold_time: 90,
        keepalive: 30,
        peer_gr: None,
    };
    c.peer_up(1, info);
    let (ann, _, eor) = sent(&mut c, 1);
    assert_eq!(ann.len(), 1);
    assert_eq!(eor, vec![Family::Vpnv4, Family::Vpnv6]);
    assert!(c.flush(1).is_none());
    c.refresh_out(1, Family::Vpnv4);
    let (ann, _, eor) = sent(&mut c, 1);
    assert_eq!((ann.len(), eor), (1, vec![Family::Vpnv4]));
}

/// Each Best event names the previous learned best's attributes, so a
/// consumer can undo what it derived from it; a local previous best is not
/// named (it was never reported as learned).
#[test]
fn best_events_carry_the_previous_learned_attributes() {
    let mut core = speaker();
    up(
        &mut core,
        cfg(1, "10.0.0.2", 65000, false, None),
        [2, 2, 2, 2],
        None,
    );
    let key = vpn_key(1, "10.1.0.0/16");
    let olds = |core: &mut Core| -> Vec<(Option<Ipv4Addr>, Option<Option<IpAddr>>)> {
        core.events
            .drain(..)
            .filter_map(|e| match e {
                BgpEvent::Best { best, old, .. } => Some((
                    best.and_then(|b| match b.attrs.next_hop {
                        Some(IpAddr::V4(a)) => Some(a),
                        _ => None,
                    }),
                    old.map(|o| o.next_hop),
                )),
                _ => None,
            })
            .collect()
    };
    announce(&mut core, 1, key, Some(16), attrs(&[], "192.0.2.1"));
    assert_eq!(
        olds(&mut core),
        vec![(Some("192.0.2.1".parse().unwrap()), None)]
    );
    announce(&mut core, 1, key, Some(16), attrs(&[], "192.0.2.2"));
    assert_eq!(
        olds(&mut core),
        vec![(
            Some("192.0.2.2".parse().unwrap()),
            Some(Some("192.0.2.1".parse().unwrap()))
        )]
    );
    // A local path wins (no AS path, local): reported with the old learned one.
    let local = Path {
        attrs: Arc::new(PathAttrs {
            local_pref: Some(200),
            ..attrs(&[], "192.0.2.9")
        }),
        labels: crate::Labels::one(17),
        from: None,
    };
    core.originate(&None, vec![(key, local)]);
    assert_eq!(
        olds(&mut core),
        vec![(
            Some("192.0.2.9".parse().unwrap()),
            Some(Some("192.0.2.2".parse().unwrap()))
        )]
    );
    // The local path goes: the learned one is best again, old not named.
    core.withdraw(&None, vec![key]);
    assert_eq!(
        olds(&mut core),
        vec![(Some("192.0.2.2".parse().unwrap()), None)]
    );
    // The peer withdraws: no best, old named.
    let up = Update {
        withdrawn: vec![Nlri { key, label: None }],
        ..Update::default()
    };
    core.apply_update(1, 1, up);
    assert_eq!(
        olds(&mut core),
        vec![(None, Some(Some("192.0.2.2".parse().unwrap())))]
    );
}
