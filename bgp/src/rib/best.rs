//! Best path selection (RFC 4271 section 9.1.2.2, RFC 4456 section 9).

use crate::packet::attrs::path_len;
use crate::{AsSegment, PathAttrs};
use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};

/// Where a path came from, as the selection needs it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Source {
    /// Originated by this speaker.
    Local,
    Ebgp {
        router_id: Ipv4Addr,
        addr: IpAddr,
    },
    Ibgp {
        router_id: Ipv4Addr,
        addr: IpAddr,
    },
}

/// Default LOCAL_PREF when a path carries none (RFC 4271 section 5.1.5
/// leaves it to policy; 100 as in the common implementations).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

fn neighbour_as(a: &PathAttrs) -> Option<u32> {
    match a.as_path.first() {
        Some(AsSegment::Sequence(v)) => v.first().copied(),
        _ => None,
    }
}

/// Compares two paths: `Greater` when `a` is preferred. Steps:
/// 1. highest LOCAL_PREF (9.1.1; eBGP-learned paths have none: default),
/// 2. shortest AS_PATH (an AS_SET counts 1) (9.1.2.2 a),
/// 3. lowest ORIGIN (b),
/// 4. lowest MED among paths from the same neighbouring AS, a missing MED
///    counting 0 (c),
/// 5. locally originated, then eBGP over iBGP (d),
/// 6. lowest IGP cost to the next hop (e): all 0 here (no IGP),
/// 7. lowest BGP Identifier, the ORIGINATOR_ID of a reflected path
///    (f; RFC 4456 section 9),
/// 8. shortest CLUSTER_LIST (RFC 4456 section 9),
/// 9. lowest peer address (g).
pub(crate) fn compare(a: &PathAttrs, sa: Source, b: &PathAttrs, sb: Source) -> Ordering {
    let lp = |x: &PathAttrs| x.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
    lp(a)
        .cmp(&lp(b))
        .then_with(|| path_len(&b.as_path).cmp(&path_len(&a.as_path)))
        .then_with(|| b.origin.cmp(&a.origin))
        .then_with(|| {
            if neighbour_as(a) == neighbour_as(b) {
                b.med.unwrap_or(0).cmp(&a.med.unwrap_or(0))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| rank(sa).cmp(&rank(sb)))
        .then_with(|| {
            let id = |x: &PathAttrs, s: Source| match s {
                Source::Local => Ipv4Addr::UNSPECIFIED,
                Source::Ebgp { router_id, .. } | Source::Ibgp { router_id, .. } => {
                    x.originator_id.unwrap_or(router_id)
                }
            };
            id(b, sb).cmp(&id(a, sa))
        })
        .then_with(|| b.cluster_list.len().cmp(&a.cluster_list.len()))
        .then_with(|| {
            let addr = |s: Source| match s {
                Source::Local => None,
                Source::Ebgp { addr, .. } | Source::Ibgp { addr, .. } => Some(addr),
            };
            // None (local) sorts first: lowest wins.
            addr(sb).cmp(&addr(sa))
        })
}

fn rank(s: Source) -> u8 {
    match s {
        Source::Local => 2,
        Source::Ebgp { .. } => 1,
        Source::Ibgp { .. } => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ibgp(id: [u8; 4], addr: [u8; 4]) -> Source {
        Source::Ibgp {
            router_id: id.into(),
            addr: IpAddr::from(addr),
        }
    }
    fn ebgp(id: [u8; 4], addr: [u8; 4]) -> Source {
        Source::Ebgp {
            router_id: id.into(),
            addr: IpAddr::from(addr),
        }
    }
    fn path(as_path: &[u32]) -> PathAttrs {
        PathAttrs {
            as_path: vec![AsSegment::Sequence(as_path.to_vec())],
            ..PathAttrs::default()
        }
    }

    /// (name, a, source a, b, source b, expected winner "a" or "b").
    #[test]
    fn decision_table() {
        let s1 = ibgp([1, 1, 1, 1], [10, 0, 0, 1]);
        let s2 = ibgp([2, 2, 2, 2], [10, 0, 0, 2]);
        let e1 = ebgp([3, 3, 3, 3], [10, 0, 0, 3]);
        let with = |f: &dyn Fn(&mut PathAttrs)| {
            let mut p = path(&[65001]);
            f(&mut p);
            p
        };
        let rows: Vec<(&str, PathAttrs, Source, PathAttrs, Source, &str)> = vec![
            (
                "local pref",
                with(&|p| p.local_pref = Some(200)),
                s2,
                path(&[65001]),
                s1,
                "a",
            ),
            (
                "missing local pref is 100",
                with(&|p| p.local_pref = Some(99)),
                s1,
                path(&[65001]),
                s2,
                "b",
            ),
            (
                "as path length",
                path(&[65001, 65002]),
                s1,
                path(&[65003]),
                s2,
                "b",
            ),
            (
                "as set counts one",
                PathAttrs {
                    as_path: vec![AsSegment::Set(vec![1, 2, 3])],
                    ..PathAttrs::default()
                },
                s2,
                path(&[1, 2]),
                s1,
                "a",
            ),
            (
                "origin",
                with(&|p| p.origin = 1),
                s1,
                with(&|p| p.origin = 2),
                s2,
                "a",
            ),
            (
                "med same neighbour",
                with(&|p| p.med = Some(10)),
                s1,
                with(&|p| p.med = Some(5)),
                s2,
                "b",
            ),
            (
                "missing med is 0",
                with(&|p| p.med = Some(1)),
                s1,
                path(&[65001]),
                s2,
                "b",
            ),
            (
                "med ignored across neighbours",
                PathAttrs {
                    med: Some(50),
                    ..path(&[65009])
                },
                s1,
                path(&[65001]),
                s2,
                "a",
            ),
            (
                "ebgp over ibgp",
                path(&[65001]),
                s1,
                path(&[65001]),
                e1,
                "b",
            ),
            (
                "local over ebgp",
                PathAttrs {
                    as_path: vec![AsSegment::Sequence(vec![65001])],
                    ..PathAttrs::default()
                },
                Source::Local,
                path(&[65001]),
                e1,
                "a",
            ),
            ("router id", path(&[65001]), s2, path(&[65001]), s1, "b"),
            (
                "originator id replaces router id",
                with(&|p| p.originator_id = Some([0, 0, 0, 9].into())),
                s2,
                path(&[65001]),
                s1,
                "a",
            ),
            (
                "cluster list length",
                with(&|p| p.cluster_list = vec![[9, 9, 9, 9].into()]),
                s1,
                path(&[65001]),
                s1,
                "b",
            ),
            (
                "peer address",
                path(&[65001]),
                ibgp([1, 1, 1, 1], [10, 0, 0, 9]),
                path(&[65001]),
                s1,
                "b",
            ),
        ];
        for (name, a, sa, b, sb, want) in rows {
            let got = match compare(&a, sa, &b, sb) {
                Ordering::Greater => "a",
                Ordering::Less => "b",
                Ordering::Equal => "=",
            };
            assert_eq!(got, want, "{name}");
            // Antisymmetric.
            assert_eq!(
                compare(&b, sb, &a, sa),
                compare(&a, sa, &b, sb).reverse(),
                "{name}"
            );
        }
    }
}
