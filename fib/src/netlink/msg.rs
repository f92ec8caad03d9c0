//! rtnetlink messages of the netlink backend: what it sends (routes, rules,
//! VRF links, MPLS routes, dump requests) and what it reads back into the
//! FIB types. Pure functions, no I/O: unit-tested by emitting and parsing.
//!
//! References: rtnetlink(7); include/uapi/linux/rtnetlink.h (rtmsg, RTA_*),
//! fib_rules.h (FRA_*), if_link.h (IFLA_VRF_TABLE), lwtunnel.h and
//! mpls_iptunnel.h (LWTUNNEL_ENCAP_MPLS, MPLS_IPTUNNEL_DST), mpls.h (label
//! entry, RFC 3032 section 2.1).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use mpls::{Ilm, IlmAction};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVrf, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    MplsLabel, RouteAddress, RouteAttribute, RouteHeader, RouteLwEnCapType, RouteLwTunnelEncap,
    RouteMessage, RouteMplsIpTunnel, RouteProtocol, RouteScope, RouteType, RouteVia,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::{Labels, NextHop, Route};

/// rtm_table of a request for table `t`: the id itself when it fits in the
/// byte, else RT_TABLE_UNSPEC with the id in RTA_TABLE (what iproute2 does).
fn header_table(t: u32) -> u8 {
    u8::try_from(t).unwrap_or(RouteHeader::RT_TABLE_UNSPEC)
}

pub(crate) fn family(prefix: &IpNet) -> AddressFamily {
    match prefix {
        IpNet::V4(_) => AddressFamily::Inet,
        IpNet::V6(_) => AddressFamily::Inet6,
    }
}

/// A label stack entry as the kernel wants it in RTA_DST and
/// MPLS_IPTUNNEL_DST: TC and TTL zero, S set on the last entry only.
fn stack(labels: &[u32]) -> Vec<MplsLabel> {
    let last = labels.len().saturating_sub(1);
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| MplsLabel {
            label: *l,
            traffic_class: 0,
            bottom_of_stack: i == last,
            ttl: 0,
        })
        .collect()
}

/// RTM_NEWROUTE for `r` (sent with NLM_F_CREATE|NLM_F_REPLACE). `metric` is
/// the effective one (IPv6 0 -> 1024 is the caller's business).
pub(crate) fn new_route(r: &Route, protocol: u8, metric: u32) -> RouteNetlinkMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = family(&r.prefix);
    m.header.destination_prefix_length = r.prefix.prefix_len();
    m.header.table = header_table(r.table);
    m.header.protocol = RouteProtocol::from(protocol);
    m.header.scope = RouteScope::Universe;
    m.header.kind = match r.nexthop {
        NextHop::Via { .. } | NextHop::Dev { .. } => RouteType::Unicast,
        NextHop::Blackhole => RouteType::BlackHole,
        NextHop::Reject => RouteType::Unreachable,
    };
    let a = &mut m.attributes;
    a.push(RouteAttribute::Table(r.table));
    if r.prefix.prefix_len() > 0 {
        a.push(RouteAttribute::Destination(r.prefix.addr().into()));
    }
    match r.nexthop {
        NextHop::Via { addr, ifindex } => {
            a.push(RouteAttribute::Gateway(addr.into()));
            if ifindex != 0 {
                a.push(RouteAttribute::Oif(ifindex));
            }
        }
        NextHop::Dev { ifindex } => {
            // A directly connected route: link scope, like `ip route add
            // P dev D`.
            m.header.scope = RouteScope::Link;
            a.push(RouteAttribute::Oif(ifindex));
        }
        NextHop::Blackhole | NextHop::Reject => {}
    }
    if metric != 0 {
        a.push(RouteAttribute::Priority(metric));
    }
    if !r.labels.is_empty() {
        a.push(RouteAttribute::EncapType(RouteLwEnCapType::Mpls));
        a.push(RouteAttribute::Encap(vec![RouteLwTunnelEncap::Mpls(
            RouteMplsIpTunnel::Destination(stack(r.labels.as_slice())),
        )]));
    }
    RouteNetlinkMessage::NewRoute(m)
}

/// RTM_DELROUTE of our route for (table, prefix), of one metric or (None)
/// the first of ours the kernel finds. Type unspecified and scope nowhere:
/// match any (fib_table_delete, ip6_route_del); the protocol restricts the
/// match to ours.
pub(crate) fn del_route(
    table: u32,
    prefix: &IpNet,
    protocol: u8,
    metric: Option<u32>,
) -> RouteNetlinkMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = family(prefix);
    m.header.destination_prefix_length = prefix.prefix_len();
    m.header.table = header_table(table);
    m.header.protocol = RouteProtocol::from(protocol);
    m.header.scope = RouteScope::NoWhere;
    m.header.kind = RouteType::Unspec;
    m.attributes.push(RouteAttribute::Table(table));
    if prefix.prefix_len() > 0 {
        m.attributes
            .push(RouteAttribute::Destination(prefix.addr().into()));
    }
    if let Some(p) = metric {
        m.attributes.push(RouteAttribute::Priority(p));
    }
    RouteNetlinkMessage::DelRoute(m)
}

/// RTM_GETROUTE dump of one family's routes with our protocol, optionally
/// of one table. With NETLINK_GET_STRICT_CHK the kernel filters on these
/// (ip_valid_fib_dump_req); the parser filters again.
pub(crate) fn dump_routes(
    family: AddressFamily,
    protocol: u8,
    table: Option<u32>,
) -> RouteNetlinkMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = family;
    m.header.protocol = RouteProtocol::from(protocol);
    if let Some(t) = table {
        m.header.table = header_table(t);
        m.attributes.push(RouteAttribute::Table(t));
    }
    RouteNetlinkMessage::GetRoute(m)
}

/// rtm_protocol of a route message payload (struct rtmsg byte 5), read
/// before parsing so foreign routes cost nothing.
pub(crate) fn payload_protocol(payload: &[u8]) -> Option<u8> {
    payload.get(5).copied()
}

/// rtm_family of a route message payload (byte 0).
pub(crate) fn payload_family(payload: &[u8]) -> Option<u8> {
    payload.first().copied()
}

/// The table of a parsed route message (RTA_TABLE, else rtm_table).
pub(crate) fn route_table(m: &RouteMessage) -> u32 {
    m.attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(m.header.table as u32)
}

fn ip_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    }
}

fn ip_of_via(v: &RouteVia) -> Option<IpAddr> {
    match v {
        RouteVia::Inet(a) => Some(IpAddr::V4(*a)),
        RouteVia::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

/// A route of ours as a [`Route`]. `Ok(None)` for what the types cannot say
/// (a route type other than unicast, blackhole, unreachable or prohibit; a
/// unicast route without gateway or interface). Unreachable and prohibit
/// both read as [`NextHop::Reject`]; of a multipath route the first hop is
/// read (we install neither prohibit nor multipath; strays may have them).
pub(crate) fn parse_route(m: &RouteMessage) -> Result<Option<Route>, String> {
    let h = &m.header;
    let unspecified = match h.address_family {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return Ok(None),
    };
    let mut dst = None;
    let mut gateway = None;
    let mut oif = 0;
    let mut metric = 0;
    let mut labels = Labels::new();
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => dst = ip_of(d),
            RouteAttribute::Gateway(g) => gateway = ip_of(g),
            RouteAttribute::Via(v) => gateway = ip_of_via(v),
            RouteAttribute::Oif(i) => oif = *i,
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Encap(encaps) => {
                for e in encaps {
                    if let RouteLwTunnelEncap::Mpls(RouteMplsIpTunnel::Destination(s)) = e {
                        labels = s.iter().map(|l| l.label).collect();
                    }
                }
            }
            RouteAttribute::MultiPath(hops) => {
                if let Some(first) = hops.first() {
                    oif = first.interface_index;
                    for a in &first.attributes {
                        match a {
                            RouteAttribute::Gateway(g) => gateway = ip_of(g),
                            RouteAttribute::Via(v) => gateway = ip_of_via(v),
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let addr = dst.unwrap_or(unspecified);
    let prefix = IpNet::new(addr, h.destination_prefix_length)
        .map_err(|_| format!("prefix length {} for {addr}", h.destination_prefix_length))?;
    let nexthop = match h.kind {
        RouteType::BlackHole => NextHop::Blackhole,
        RouteType::Unreachable | RouteType::Prohibit => NextHop::Reject,
        RouteType::Unicast => match (gateway, oif) {
            (Some(addr), ifindex) => NextHop::Via { addr, ifindex },
            (None, ifindex) if ifindex != 0 => NextHop::Dev { ifindex },
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(Route {
        table: route_table(m),
        prefix,
        nexthop,
        metric,
        labels,
    }))
}

/// (table, prefix, metric) of a route message, whatever its type: enough
/// to delete it.
pub(crate) fn route_key(m: &RouteMessage) -> Option<(u32, IpNet, u32)> {
    let unspecified = match m.header.address_family {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let mut dst = unspecified;
    let mut metric = 0;
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => dst = ip_of(d)?,
            RouteAttribute::Priority(p) => metric = *p,
            _ => {}
        }
    }
    let prefix = IpNet::new(dst, m.header.destination_prefix_length).ok()?;
    Some((route_table(m), prefix, metric))
}

/// One `ip rule` of ours: `iif <iifname> lookup <table>` at `priority`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OurRule {
    pub ipv6: bool,
    pub iifname: String,
    pub table: u32,
    pub priority: u32,
}

fn rule_msg(r: &OurRule, protocol: u8) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.header.family = if r.ipv6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    m.header.table = header_table(r.table);
    m.header.action = RuleAction::ToTable;
    m.attributes.push(RuleAttribute::Iifname(r.iifname.clone()));
    m.attributes.push(RuleAttribute::Table(r.table));
    m.attributes.push(RuleAttribute::Priority(r.priority));
    m.attributes
        .push(RuleAttribute::Protocol(RouteProtocol::from(protocol)));
    m
}

/// RTM_NEWRULE (sent with NLM_F_CREATE|NLM_F_EXCL: without EXCL the kernel
/// adds a duplicate).
pub(crate) fn new_rule(r: &OurRule, protocol: u8) -> RouteNetlinkMessage {
    RouteNetlinkMessage::NewRule(rule_msg(r, protocol))
}

/// RTM_DELRULE matching every field of ours (fib_nl_delrule matches the
/// attributes given).
pub(crate) fn del_rule(r: &OurRule, protocol: u8) -> RouteNetlinkMessage {
    RouteNetlinkMessage::DelRule(rule_msg(r, protocol))
}

pub(crate) fn dump_rules(family: AddressFamily) -> RouteNetlinkMessage {
    let mut m = RuleMessage::default();
    m.header.family = family;
    RouteNetlinkMessage::GetRule(m)
}

/// A rule with our protocol, `iif X lookup T` (anything else of ours: None).
pub(crate) fn parse_rule(m: &RuleMessage, protocol: u8) -> Option<OurRule> {
    let ipv6 = match m.header.family {
        AddressFamily::Inet => false,
        AddressFamily::Inet6 => true,
        _ => return None,
    };
    if m.header.action != RuleAction::ToTable {
        return None;
    }
    let mut proto = None;
    let mut iifname = None;
    let mut table = m.header.table as u32;
    let mut priority = 0;
    for a in &m.attributes {
        match a {
            RuleAttribute::Protocol(p) => proto = Some(u8::from(*p)),
            RuleAttribute::Iifname(n) => iifname = Some(n.clone()),
            RuleAttribute::Table(t) => table = *t,
            RuleAttribute::Priority(p) => priority = *p,
            _ => {}
        }
    }
    if proto != Some(protocol) {
        return None;
    }
    Some(OurRule {
        ipv6,
        iifname: iifname?,
        table,
        priority,
    })
}

/// What the backend needs of a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub index: u32,
    pub name: String,
    /// IFLA_MASTER (0: none).
    pub master: u32,
    /// IFLA_VRF_TABLE when the link is a VRF device.
    pub vrf_table: Option<u32>,
    pub alias: Option<String>,
}

pub(crate) fn dump_links() -> RouteNetlinkMessage {
    RouteNetlinkMessage::GetLink(LinkMessage::default())
}

pub(crate) fn get_link_by_name(name: &str) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    RouteNetlinkMessage::GetLink(m)
}

pub(crate) fn parse_link(m: &LinkMessage) -> Link {
    let mut link = Link {
        index: m.header.index,
        name: String::new(),
        master: 0,
        vrf_table: None,
        alias: None,
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Controller(c) => link.master = *c,
            LinkAttribute::IfAlias(s) => link.alias = Some(s.clone()),
            LinkAttribute::LinkInfo(infos) => {
                let is_vrf = infos
                    .iter()
                    .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Vrf)));
                for i in infos {
                    if let LinkInfo::Data(InfoData::Vrf(v)) = i {
                        for x in v {
                            if let InfoVrf::TableId(t) = x {
                                link.vrf_table = Some(*t);
                            }
                        }
                    }
                }
                if is_vrf && link.vrf_table.is_none() {
                    link.vrf_table = Some(0);
                }
            }
            _ => {}
        }
    }
    link
}

/// RTM_NEWLINK of a VRF device (sent with NLM_F_CREATE|NLM_F_EXCL).
pub(crate) fn new_vrf(name: &str, table: u32) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Vrf),
        LinkInfo::Data(InfoData::Vrf(vec![InfoVrf::TableId(table)])),
    ]));
    RouteNetlinkMessage::NewLink(m)
}

pub(crate) fn del_link(index: u32) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    RouteNetlinkMessage::DelLink(m)
}

/// RTM_SETLINK: set the device up.
pub(crate) fn set_up(index: u32, alias: Option<&str>) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    if let Some(a) = alias {
        m.attributes.push(LinkAttribute::IfAlias(a.to_string()));
    }
    RouteNetlinkMessage::SetLink(m)
}

/// RTM_SETLINK: enslave `index` to `master` (0: release).
pub(crate) fn set_master(index: u32, master: u32) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.attributes.push(LinkAttribute::Controller(master));
    RouteNetlinkMessage::SetLink(m)
}

fn mpls_header(m: &mut RouteMessage, protocol: u8) {
    // mpls_rtm_to_fib_config wants: family AF_MPLS, dst_len 20, table main,
    // type unicast, scope universe.
    m.header.address_family = AddressFamily::Mpls;
    m.header.destination_prefix_length = 20;
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::from(protocol);
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unicast;
}

/// RTM_NEWROUTE AF_MPLS for an ILM entry (NLM_F_CREATE|NLM_F_REPLACE).
/// Pop-and-lookup sends the packet, label popped, to the VRF device
/// `vrf_oif` (no RTA_VIA: the kernel transmits on the device, whose xmit
/// looks the packet up in the VRF table). Pop-and-forward pops and sends
/// to the next hop (RTA_VIA, RTA_OIF when known).
pub(crate) fn new_ilm(ilm: &Ilm, protocol: u8, vrf_oif: Option<u32>) -> RouteNetlinkMessage {
    let mut m = RouteMessage::default();
    mpls_header(&mut m, protocol);
    m.attributes
        .push(RouteAttribute::Destination(RouteAddress::Mpls(
            stack(&[ilm.label])[0],
        )));
    match ilm.action {
        IlmAction::PopLookup { .. } => {
            if let Some(oif) = vrf_oif {
                m.attributes.push(RouteAttribute::Oif(oif));
            }
        }
        IlmAction::PopForward { via, ifindex } => {
            m.attributes.push(RouteAttribute::Via(match via {
                IpAddr::V4(a) => RouteVia::Inet(a),
                IpAddr::V6(a) => RouteVia::Inet6(a),
            }));
            if ifindex != 0 {
                m.attributes.push(RouteAttribute::Oif(ifindex));
            }
        }
    }
    RouteNetlinkMessage::NewRoute(m)
}

pub(crate) fn del_ilm(label: u32, protocol: u8) -> RouteNetlinkMessage {
    let mut m = RouteMessage::default();
    mpls_header(&mut m, protocol);
    m.attributes
        .push(RouteAttribute::Destination(RouteAddress::Mpls(
            stack(&[label])[0],
        )));
    RouteNetlinkMessage::DelRoute(m)
}

/// A request the kernel answers with EOPNOTSUPP when it has no AF_MPLS
/// (no RTM_GETROUTE handler for the family), and otherwise with the route
/// or ENOENT: the capability probe.
pub(crate) fn probe_mpls() -> RouteNetlinkMessage {
    let mut m = RouteMessage::default();
    mpls_header(&mut m, 0);
    m.header.protocol = RouteProtocol::Unspec;
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unspec;
    m.header.table = 0;
    m.attributes
        .push(RouteAttribute::Destination(RouteAddress::Mpls(
            stack(&[16])[0],
        )));
    RouteNetlinkMessage::GetRoute(m)
}

/// An AF_MPLS route of ours as an ILM entry; `vrf_tables` maps our VRF
/// devices' ifindex to their table. None for what the ILM model cannot say.
pub(crate) fn parse_ilm(m: &RouteMessage, vrf_tables: &HashMap<u32, u32>) -> Option<Ilm> {
    let mut label = None;
    let mut via = None;
    let mut oif = 0;
    let mut swaps = false;
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(RouteAddress::Mpls(l)) => label = Some(l.label),
            RouteAttribute::Via(v) => via = ip_of_via(v),
            RouteAttribute::Gateway(g) => via = ip_of(g),
            RouteAttribute::Oif(i) => oif = *i,
            RouteAttribute::NewDestination(s) => swaps = !s.is_empty(),
            _ => {}
        }
    }
    let label = label?;
    if swaps {
        return None;
    }
    let action = match via {
        Some(via) => IlmAction::PopForward { via, ifindex: oif },
        None => IlmAction::PopLookup {
            table: *vrf_tables.get(&oif)?,
        },
    };
    Some(Ilm { label, action })
}

/// The dump request for AF_MPLS routes of ours.
pub(crate) fn dump_ilm(protocol: u8) -> RouteNetlinkMessage {
    dump_routes(AddressFamily::Mpls, protocol, None)
}

#[cfg(test)]
mod tests;
