//! Connected routes of a VRF: the prefixes of the addresses on its
//! interfaces (RFC 4364 section 4: the PE learns the routes of its attached
//! sites; the subnets of its own interfaces towards them are the first of
//! those). They are derived, never stored: a pure function of the committed
//! configuration and an interface snapshot ([`crate::ifaces::Interfaces`]),
//! so every reader (reconciler, VPN glue, route table, SET validation)
//! computes the same set from what it holds.
//!
//! A VRF has the connected prefix of an address when
//! - the VRF's row is active and its admin status up (the condition for
//!   static routes too),
//! - the interface is bound to it by an active mplsL3VpnIfConfTable row,
//!   exists and is oper up,
//! - the address gives a prefix route (not `noprefixroute`, not a failed
//!   IPv6 duplicate address detection) and is neither IPv6 link-local
//!   (fe80::/10), nor loopback, nor unspecified. Host addresses (/32,
//!   /128) are kept as host prefixes.
//!
//! The prefix is the address (the peer of a point-to-point address) masked
//! to its length. Two interfaces of a VRF with the same prefix: the lower
//! ifindex holds the route.
//!
//! Precedence (ARCHITECTURE.md is silent; decided here): a connected route
//! wins over a static row and over BGP routes of the same prefix, in the
//! VRF's FIB and in what the VRF exports, as a router's administrative
//! distances say (connected 0, static 1, eBGP 20, iBGP 200): a static row
//! cannot redirect the subnet of an interface of the VRF. In the route table
//! (mplsL3VpnVrfRteTable) a connected route is a read-only row with policy
//! {0 0} and no next hop; a static row with that same index is shown in its
//! place (the operator's row stays readable and writable), as for BGP rows.

use crate::config::{AdminStatus, Config, RowState};
use crate::ifaces::{IfAddr, Interfaces, OperState};
use crate::keys::VrfKey;
use crate::routes::RteKey;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Bound;

/// Administrative distance of connected routes.
pub const CONNECTED_DISTANCE: u32 = 0;

/// The policy of connected rows in mplsL3VpnVrfRteTable: {0 0}, like static
/// rows (RFC 4292 inetCidrRoutePolicy: no particular policy).
pub const CONNECTED_POLICY: &[u32] = &[0, 0];

/// One connected route of a VRF.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Connected {
    /// The interface the prefix is on.
    pub if_index: u32,
    /// Agent clock ticks since when the route has held: when the address
    /// appeared or the link last changed oper status, whichever is later
    /// (0: since the agent started).
    pub since: u32,
}

/// The connected prefix an address gives, if any (see the module docs).
pub fn prefix_of(a: &IfAddr) -> Option<IpNet> {
    if !a.prefix_route {
        return None;
    }
    let own = a.addr.addr();
    let usable = match own {
        IpAddr::V4(v) => !v.is_loopback() && !v.is_unspecified(),
        IpAddr::V6(v) => {
            !v.is_loopback() && !v.is_unspecified() && (v.segments()[0] & 0xffc0) != 0xfe80
        }
    };
    usable.then(|| a.prefix())
}

/// Whether a VRF's routes are in service: row active and admin up.
pub fn vrf_in_service(cfg: &Config, vrf: &VrfKey) -> bool {
    cfg.vrfs
        .get(vrf)
        .is_some_and(|r| r.state == RowState::Active && r.admin == AdminStatus::Up)
}

/// The interfaces that give `vrf` connected routes, in ifindex order, with
/// their addresses.
fn serving<'a>(
    cfg: &'a Config,
    ifs: &'a Interfaces,
    vrf: &VrfKey,
) -> impl Iterator<Item = (u32, u32, &'a [IfAddr])> + 'a {
    let on = vrf_in_service(cfg, vrf);
    cfg.ifconfs_of(vrf)
        .filter(move |(_, b)| on && b.state == RowState::Active)
        .filter_map(move |(k, _)| {
            let i = k.if_index();
            let info = ifs.get(i).filter(|x| x.oper == OperState::Up)?;
            Some((i, info.last_change, ifs.addrs(i)))
        })
}

/// Every connected route of a VRF (none when it is not in service). Costs
/// the VRF's bindings and their addresses, never its routes.
pub fn of_vrf(cfg: &Config, ifs: &Interfaces, vrf: &VrfKey) -> BTreeMap<IpNet, Connected> {
    let mut out = BTreeMap::new();
    for (if_index, link_change, addrs) in serving(cfg, ifs, vrf) {
        for a in addrs {
            if let Some(p) = prefix_of(a) {
                out.entry(p).or_insert(Connected {
                    if_index,
                    since: a.since.max(link_change),
                });
            }
        }
    }
    out
}

/// The connected route of one prefix of a VRF, if it has one.
pub fn get(cfg: &Config, ifs: &Interfaces, vrf: &VrfKey, p: &IpNet) -> Option<Connected> {
    serving(cfg, ifs, vrf).find_map(|(if_index, link_change, addrs)| {
        addrs
            .iter()
            .find(|a| prefix_of(a).as_ref() == Some(p))
            .map(|a| Connected {
                if_index,
                since: a.since.max(link_change),
            })
    })
}

/// The route-table key of a connected route.
pub fn key(vrf: &VrfKey, p: &IpNet) -> RteKey {
    RteKey::new(vrf, *p, CONNECTED_POLICY, None)
}

/// The connected route a route-table key names, if it names one.
pub fn by_key(cfg: &Config, ifs: &Interfaces, k: &[u8]) -> Option<Connected> {
    let (_, idx) = RteKey::parse(k).ok()?;
    if idx.policy != CONNECTED_POLICY || idx.next_hop.is_some() {
        return None;
    }
    get(cfg, ifs, &idx.vrf, &idx.prefix)
}

/// Connected routes of a VRF that are rows of the route table: those no
/// static row with the same index hides (mplsL3VpnVrfPerfCurrNumRoutes).
pub fn row_count(cfg: &Config, ifs: &Interfaces, vrf: &VrfKey) -> u32 {
    let n = of_vrf(cfg, ifs, vrf)
        .keys()
        .filter(|p| !cfg.routes.contains_key(key(vrf, p).as_bytes()))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The first connected route whose route-table key lies after `from` (a
/// route-table walk's lower bound), with that key. Visits the VRFs that
/// have interface bindings, from the one `from` names on; each costs its
/// bindings and their addresses. With `upto` (a key another source has
/// already found) the search stops at the VRFs whose keys all lie after it:
/// a walk over other rows looks at its own VRF only.
pub fn next_after(
    cfg: &Config,
    ifs: &Interfaces,
    from: Bound<&[u8]>,
    upto: Option<&[u8]>,
) -> Option<(RteKey, IpNet, Connected)> {
    let fb: &[u8] = match from {
        Bound::Included(b) | Bound::Excluded(b) => b,
        Bound::Unbounded => &[],
    };
    let past = |k: &RteKey| match from {
        Bound::Included(b) => k.as_bytes() >= b,
        Bound::Excluded(b) => k.as_bytes() > b,
        Bound::Unbounded => true,
    };
    // VRF keys are [length, name..], and binding keys start with them: the
    // VRF `from` names (or the first one after it) starts the search; the
    // keys of VRFs before it all lie before `from`.
    let vlen = fb.first().map_or(0, |&n| (1 + n as usize).min(fb.len()));
    let mut last: Option<VrfKey> = None;
    for (k, _) in cfg
        .ifconfs
        .range::<_, [u8]>((Bound::Included(&fb[..vlen]), Bound::Unbounded))
    {
        let vrf = k.vrf();
        if last.as_ref() == Some(&vrf) {
            continue;
        }
        if upto.is_some_and(|u| vrf.as_bytes() > u) {
            return None;
        }
        last = Some(vrf.clone());
        for (p, c) in of_vrf(cfg, ifs, &vrf) {
            let rk = key(&vrf, &p);
            if past(&rk) {
                return Some((rk, p, c));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Change, IfConfRow, Storage, VrfRow};
    use crate::ifaces::IfInfo;
    use crate::keys::IfConfKey;

    fn vrf(n: &str) -> VrfKey {
        VrfKey::new(n.as_bytes()).unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn addr(s: &str, since: u32) -> IfAddr {
        IfAddr {
            addr: net(s),
            peer: None,
            prefix_route: true,
            since,
        }
    }

    fn link(index: u32, oper: OperState, last_change: u32) -> IfInfo {
        IfInfo {
            last_change,
            ..IfInfo::fixture(index, &format!("if{index}"), oper)
        }
    }

    fn cfg_with(
        bindings: &[(&str, u32, RowState)],
        vrfs: &[(&str, RowState, AdminStatus)],
    ) -> Config {
        let mut ch = Vec::new();
        for (n, st, admin) in vrfs {
            let mut r = VrfRow::new(Storage::Volatile);
            r.state = *st;
            r.admin = *admin;
            ch.push(Change::PutVrf(vrf(n), r));
        }
        for (n, i, st) in bindings {
            let mut b = IfConfRow::new(Storage::Volatile);
            b.state = *st;
            ch.push(Change::PutIfConf(IfConfKey::new(&vrf(n), *i), b));
        }
        Config::default().apply(&ch, 1).0
    }

    #[test]
    fn prefixes_of_addresses() {
        let cases: &[(&str, Option<&str>)] = &[
            ("10.77.1.1/24", Some("10.77.1.0/24")),
            ("10.77.1.1/32", Some("10.77.1.1/32")),
            ("10.77.1.1/0", Some("0.0.0.0/0")),
            ("2001:db8:77::1/64", Some("2001:db8:77::/64")),
            ("2001:db8:77::1/128", Some("2001:db8:77::1/128")),
            ("fe80::1/64", None),
            ("febf::1/64", None),
            ("fec0::1/64", Some("fec0::/64")),
            ("127.0.0.1/8", None),
            ("::1/128", None),
            ("0.0.0.0/8", None),
        ];
        for (a, want) in cases {
            assert_eq!(prefix_of(&addr(a, 0)), want.map(net), "{a}");
        }
        let mut a = addr("10.0.0.1/30", 0);
        a.peer = Some("10.9.9.9".parse().unwrap());
        assert_eq!(prefix_of(&a), Some(net("10.9.9.8/30")));
        a.prefix_route = false;
        assert_eq!(prefix_of(&a), None);
    }

    /// Which bindings, links and VRF states give connected routes, and
    /// which interface holds a prefix two of them have.
    #[test]
    fn connected_routes_of_a_vrf() {
        use AdminStatus::*;
        use RowState::*;
        let cfg = cfg_with(
            &[
                ("red", 2, Active),
                ("red", 3, Active),
                ("red", 4, NotInService),
                ("red", 5, Active), // down
                ("red", 9, Active), // no such link
                ("blue", 6, Active),
                ("off", 7, Active),
                ("idle", 8, Active),
            ],
            &[
                ("red", Active, Up),
                ("blue", Active, Up),
                ("off", Active, Down),
                ("idle", NotInService, Up),
            ],
        );
        let ifs = Interfaces::from_list(vec![
            link(2, OperState::Up, 0),
            link(3, OperState::Up, 500),
            link(4, OperState::Up, 0),
            link(5, OperState::Down, 0),
            link(6, OperState::Up, 0),
            link(7, OperState::Up, 0),
            link(8, OperState::Up, 0),
            link(10, OperState::Up, 0), // not bound
        ])
        .with_addrs(
            2,
            vec![
                addr("10.77.1.1/24", 100),
                addr("10.77.1.2/24", 900), // secondary: same prefix
                addr("2001:db8:77::1/64", 0),
                addr("fe80::1/64", 0),
            ],
        )
        .with_addrs(3, vec![addr("10.77.1.9/24", 50), addr("10.3.0.1/16", 50)])
        .with_addrs(4, vec![addr("10.4.0.1/24", 0)])
        .with_addrs(5, vec![addr("10.5.0.1/24", 0)])
        .with_addrs(6, vec![addr("10.77.1.1/24", 0)])
        .with_addrs(7, vec![addr("10.7.0.1/24", 0)])
        .with_addrs(8, vec![addr("10.8.0.1/24", 0)])
        .with_addrs(10, vec![addr("10.10.0.1/24", 0)]);
        let red = of_vrf(&cfg, &ifs, &vrf("red"));
        let c = |if_index, since| Connected { if_index, since };
        let want: BTreeMap<IpNet, Connected> = [
            (net("10.3.0.0/16"), c(3, 500)),  // the link came up at 500
            (net("10.77.1.0/24"), c(2, 100)), // ifindex 2 before 3
            (net("2001:db8:77::/64"), c(2, 0)),
        ]
        .into_iter()
        .collect();
        assert_eq!(red, want);
        for (p, c) in &want {
            assert_eq!(get(&cfg, &ifs, &vrf("red"), p), Some(*c), "{p}");
        }
        assert_eq!(get(&cfg, &ifs, &vrf("red"), &net("10.4.0.0/24")), None);
        assert_eq!(of_vrf(&cfg, &ifs, &vrf("blue")).len(), 1);
        assert!(of_vrf(&cfg, &ifs, &vrf("off")).is_empty(), "admin down");
        assert!(
            of_vrf(&cfg, &ifs, &vrf("idle")).is_empty(),
            "row not active"
        );
        assert!(of_vrf(&cfg, &ifs, &vrf("none")).is_empty());
        assert_eq!(row_count(&cfg, &ifs, &vrf("red")), 3);
        // Keys: policy {0 0}, no next hop; by_key only for those.
        let k = key(&vrf("red"), &net("10.3.0.0/16"));
        assert_eq!(by_key(&cfg, &ifs, k.as_bytes()), Some(c(3, 500)));
        let other = RteKey::new(
            &vrf("red"),
            net("10.3.0.0/16"),
            &[0, 0],
            Some("10.3.0.9".parse().unwrap()),
        );
        assert_eq!(by_key(&cfg, &ifs, other.as_bytes()), None);
        let bgp = RteKey::new(
            &vrf("red"),
            net("10.3.0.0/16"),
            &[1, 3, 6, 1, 2, 1, 15],
            None,
        );
        assert_eq!(by_key(&cfg, &ifs, bgp.as_bytes()), None);
        assert_eq!(by_key(&cfg, &ifs, &[9, 9]), None);
    }

    /// next_after agrees with a sorted map of every connected key, from
    /// every bound a walk can give.
    #[test]
    fn walk_bounds_match_a_sorted_key_map() {
        use AdminStatus::*;
        use RowState::*;
        let cfg = cfg_with(
            &[
                ("a", 2, Active),
                ("abc", 3, Active),
                ("b", 4, Active),
                ("zz", 5, Active),
            ],
            &[
                ("a", Active, Up),
                ("abc", Active, Up),
                ("b", Active, Down),
                ("zz", Active, Up),
            ],
        );
        let ifs = Interfaces::from_list((2..=5).map(|i| link(i, OperState::Up, 0)).collect())
            .with_addrs(
                2,
                vec![
                    addr("10.0.0.1/8", 0),
                    addr("10.0.0.1/32", 0),
                    addr("2001:db8::1/64", 0),
                ],
            )
            .with_addrs(3, vec![addr("192.0.2.1/24", 0)])
            .with_addrs(4, vec![addr("10.4.0.1/24", 0)])
            .with_addrs(5, vec![addr("0.0.0.1/0", 0), addr("ffff::1/16", 0)]);
        let mut want: BTreeMap<RteKey, IpNet> = BTreeMap::new();
        for v in ["a", "abc", "b", "zz"] {
            for p in of_vrf(&cfg, &ifs, &vrf(v)).keys() {
                want.insert(key(&vrf(v), p), *p);
            }
        }
        assert_eq!(want.len(), 6);
        let bounds = crate::routes::walk_bounds(want.keys().map(|k| k.as_bytes()));
        for b in &bounds {
            for bound in [Bound::Included(&b[..]), Bound::Excluded(&b[..])] {
                let got = next_after(&cfg, &ifs, bound, None).map(|(k, p, _)| (k, p));
                let exp = want
                    .range::<[u8], _>((bound, Bound::Unbounded))
                    .next()
                    .map(|(k, p)| (k.clone(), *p));
                assert_eq!(got, exp, "bound {bound:?}");
                // A limit at or after the answer changes nothing; one before
                // it may only hide it.
                for upto in bounds.iter().take(40) {
                    let got = next_after(&cfg, &ifs, bound, Some(upto)).map(|(k, p, _)| (k, p));
                    match &exp {
                        Some((k, _)) if k.as_bytes() <= &upto[..] => {
                            assert_eq!(got, exp, "bound {bound:?} upto {upto:?}")
                        }
                        _ => assert!(got.is_none() || got == exp, "bound {bound:?} upto {upto:?}"),
                    }
                }
            }
        }
        assert_eq!(
            next_after(&cfg, &ifs, Bound::Unbounded, None).map(|(k, _, _)| k),
            want.keys().next().cloned()
        );
    }
}
