//! Messages built here, serialized, parsed back by netlink-packet-route (as
//! the kernel's replies are), and read into the FIB types: the paths this
//! kernel cannot exercise (VRF devices, MPLS) are checked here.

use std::net::IpAddr;

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};

use super::*;

fn roundtrip(m: RouteNetlinkMessage) -> (RouteNetlinkMessage, Vec<u8>) {
    let mut nl = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(m));
    nl.finalize();
    let mut buf = vec![0; nl.buffer_len()];
    nl.serialize(&mut buf);
    let back = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf).unwrap();
    match back.payload {
        NetlinkPayload::InnerMessage(m) => (m, buf),
        other => panic!("{other:?}"),
    }
}

fn route_of(m: RouteNetlinkMessage) -> RouteMessage {
    match m {
        RouteNetlinkMessage::NewRoute(r) | RouteNetlinkMessage::DelRoute(r) => r,
        other => panic!("{other:?}"),
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn sample(prefix: &str, nexthop: NextHop, metric: u32, labels: &[u32]) -> Route {
    Route {
        table: 1000,
        prefix: prefix.parse().unwrap(),
        nexthop,
        metric,
        labels: labels.into(),
    }
}

#[test]
fn routes_read_back_as_written() {
    let gw: IpAddr = "192.0.2.2".parse().unwrap();
    let gw6: IpAddr = "2001:db8::2".parse().unwrap();
    let cases = vec![
        sample(
            "10.1.0.0/24",
            NextHop::Via {
                addr: gw,
                ifindex: 3,
            },
            5,
            &[],
        ),
        sample(
            "10.1.0.0/24",
            NextHop::Via {
                addr: gw,
                ifindex: 3,
            },
            0,
            &[16, 1048575],
        ),
        sample("0.0.0.0/0", NextHop::Blackhole, 0, &[]),
        sample("10.3.0.0/16", NextHop::Reject, 9, &[]),
        sample("10.4.0.0/24", NextHop::Dev { ifindex: 7 }, 0, &[]),
        sample(
            "2001:db8:1::/64",
            NextHop::Via {
                addr: gw6,
                ifindex: 0,
            },
            1024,
            &[100],
        ),
        sample("::/0", NextHop::Blackhole, 1024, &[]),
    ];
    for r in cases {
        let (m, _) = roundtrip(new_route(&r, 201, r.metric));
        let m = route_of(m);
        assert_eq!(u8::from(m.header.protocol), 201);
        assert_eq!(parse_route(&m).unwrap(), Some(r.clone()), "{r:?}");
        assert_eq!(route_key(&m), Some((r.table, r.prefix, r.metric)));
    }
}

#[test]
fn small_tables_go_in_the_header_large_ones_in_rta_table() {
    let r = sample("10.0.0.0/8", NextHop::Blackhole, 0, &[]);
    let m = route_of(roundtrip(new_route(&r, 201, 0)).0);
    assert_eq!(m.header.table, 0);
    assert_eq!(route_table(&m), 1000);
    let small = Route { table: 100, ..r };
    let m = route_of(roundtrip(new_route(&small, 201, 0)).0);
    assert_eq!(m.header.table, 100);
    assert_eq!(route_table(&m), 100);
}

#[test]
fn mpls_encap_sets_bottom_of_stack_on_the_last_label_only() {
    let gw: IpAddr = "192.0.2.2".parse().unwrap();
    let r = sample(
        "10.1.0.0/24",
        NextHop::Via {
            addr: gw,
            ifindex: 3,
        },
        0,
        &[16, 17],
    );
    let (_, bytes) = roundtrip(new_route(&r, 201, 0));
    // MPLS_IPTUNNEL_DST: 16 << 12 (no S), then 17 << 12 | S (RFC 3032 2.1).
    assert!(contains(
        &bytes,
        &[0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x11, 0x00]
    ));
    // RTA_ENCAP_TYPE (21) = LWTUNNEL_ENCAP_MPLS (1).
    assert!(contains(&bytes, &[6, 0, 21, 0, 1, 0]));
}

#[test]
fn deletes_name_table_prefix_protocol_and_metric_only() {
    let prefix: IpNet = "10.1.0.0/24".parse().unwrap();
    let m = route_of(roundtrip(del_route(1000, &prefix, 201, Some(7))).0);
    assert_eq!(m.header.kind, RouteType::Unspec);
    assert_eq!(m.header.scope, RouteScope::NoWhere);
    assert_eq!(u8::from(m.header.protocol), 201);
    assert_eq!(route_key(&m), Some((1000, prefix, 7)));
    let m = route_of(roundtrip(del_route(1000, &prefix, 201, None)).0);
    assert!(!m
        .attributes
        .iter()
        .any(|a| matches!(a, RouteAttribute::Priority(_))));
}

#[test]
fn foreign_route_types_are_not_guessed() {
    let mut m = route_of(new_route(
        &sample("10.0.0.0/8", NextHop::Blackhole, 0, &[]),
        201,
        0,
    ));
    m.header.kind = RouteType::Throw;
    assert_eq!(parse_route(&m).unwrap(), None);
    m.header.kind = RouteType::Prohibit;
    assert_eq!(parse_route(&m).unwrap().unwrap().nexthop, NextHop::Reject);
    m.header.kind = RouteType::Unicast; // no gateway, no interface
    assert_eq!(parse_route(&m).unwrap(), None);
    m.header.destination_prefix_length = 33;
    assert!(parse_route(&m).is_err());
}

#[test]
fn rules_read_back_and_foreign_ones_are_ignored() {
    let r = OurRule {
        ipv6: true,
        iifname: "ve0".into(),
        table: 1000,
        priority: 1000,
    };
    for msg in [new_rule(&r, 201), del_rule(&r, 201)] {
        let (m, _) = roundtrip(msg);
        let m = match m {
            RouteNetlinkMessage::NewRule(m) | RouteNetlinkMessage::DelRule(m) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(parse_rule(&m, 201), Some(r.clone()));
        assert_eq!(parse_rule(&m, 4), None, "another protocol's rule");
    }
}

#[test]
fn vrf_device_messages() {
    let (m, bytes) = roundtrip(new_vrf("l3v1000", 1000));
    let RouteNetlinkMessage::NewLink(l) = m else {
        panic!()
    };
    let link = parse_link(&l);
    assert_eq!(link.name, "l3v1000");
    assert_eq!(link.vrf_table, Some(1000));
    assert!(contains(&bytes, b"vrf\0"));
    let (m, _) = roundtrip(set_master(5, 9));
    let RouteNetlinkMessage::SetLink(l) = m else {
        panic!()
    };
    assert_eq!((l.header.index, parse_link(&l).master), (5, 9));
    let (m, _) = roundtrip(set_up(9, Some("blue")));
    let RouteNetlinkMessage::SetLink(l) = m else {
        panic!()
    };
    assert!(l.header.flags.contains(LinkFlags::Up));
    assert_eq!(parse_link(&l).alias.as_deref(), Some("blue"));
}

#[test]
fn ilm_messages_read_back() {
    let via: IpAddr = "192.0.2.2".parse().unwrap();
    let vrfs: HashMap<u32, u32> = [(9, 1000)].into_iter().collect();
    let cases = [
        (
            Ilm {
                label: 1000,
                action: IlmAction::PopLookup { table: 1000 },
            },
            Some(9),
        ),
        (
            Ilm {
                label: 1048575,
                action: IlmAction::PopForward { via, ifindex: 3 },
            },
            None,
        ),
    ];
    for (ilm, oif) in cases {
        let (m, bytes) = roundtrip(new_ilm(&ilm, 201, oif));
        let m = route_of(m);
        assert_eq!(m.header.address_family, AddressFamily::Mpls);
        assert_eq!(m.header.destination_prefix_length, 20);
        assert_eq!(m.header.table, RouteHeader::RT_TABLE_MAIN);
        assert_eq!(parse_ilm(&m, &vrfs), Some(ilm));
        // RTA_DST carries the label with S set.
        let entry = (ilm.label << 12) | 0x100;
        assert!(contains(&bytes, &entry.to_be_bytes()));
    }
    // Pop-and-lookup into a device that is not one of our VRFs: unknown.
    let m = route_of(new_ilm(&cases[0].0, 201, Some(4)));
    assert_eq!(parse_ilm(&m, &vrfs), None);
    let m = route_of(roundtrip(del_ilm(1000, 201)).0);
    assert_eq!(m.header.kind, RouteType::Unicast);
}

#[test]
fn a_stack_deeper_than_held_reads_as_truncated() {
    // A stray of ours with four labels (the kernel takes up to 30): read as
    // cut, so it never equals a route we want and is replaced or removed.
    let gw: IpAddr = "192.0.2.2".parse().unwrap();
    let nh = NextHop::Via {
        addr: gw,
        ifindex: 3,
    };
    let three = sample("10.1.0.0/24", nh, 0, &[16, 17, 18]);
    let mut m = route_of(new_route(&three, 201, 0));
    for a in &mut m.attributes {
        if let RouteAttribute::Encap(e) = a {
            *e = vec![RouteLwTunnelEncap::Mpls(RouteMplsIpTunnel::Destination(
                stack(&[16, 17, 18, 19]),
            ))];
        }
    }
    let m = route_of(roundtrip(RouteNetlinkMessage::NewRoute(m)).0);
    let read = parse_route(&m).unwrap().unwrap();
    assert!(read.labels.is_truncated());
    assert_eq!(read.labels.as_slice(), &[16, 17, 18]);
    assert!(!three.is_installed_as(&read));
    assert_eq!(
        read.to_string(),
        "10.1.0.0/24 encap mpls 16/17/18/... via 192.0.2.2 ifindex 3 table 1000"
    );
}
