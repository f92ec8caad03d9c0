//! The routes of one routing table, keyed by prefix, compactly: what the
//! shadow backend holds and what the reconciler remembers having applied,
//! a million routes each at full scale.
//!
//! - The key (table, prefix) is not repeated in the value: a [`RouteTable`]
//!   is per table and maps a prefix to a [`StoredRoute`].
//! - IPv4 and IPv6 prefixes are kept apart, so an IPv4 key is 5 bytes, not
//!   the 18 of an `IpNet`. Iteration gives IPv4 then IPv6, which is the
//!   order of `IpNet`.
//! - The value is packed (`packed.rs`: 20 bytes for an IPv4 route, not the
//!   44 of a [`StoredRoute`]); the rare route that does not pack is kept
//!   as it is, apart.
//! - [`RouteTable::insert_batch`] merges many routes at once into densely
//!   packed B-tree nodes (a route at a time into a B-tree fills its nodes
//!   about half when the keys come in order, as they do).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::{Labels, NextHop, Route};

mod packed;

use packed::Packed;

/// A route without its key (table, prefix).
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct StoredRoute {
    pub nexthop: NextHop,
    pub metric: u32,
    pub labels: Labels,
}

impl StoredRoute {
    /// The route of `table` for `prefix`.
    pub fn route(&self, table: u32, prefix: IpNet) -> Route {
        Route {
            table,
            prefix,
            nexthop: self.nexthop.clone(),
            metric: self.metric,
            labels: self.labels,
        }
    }
}

impl From<&Route> for StoredRoute {
    fn from(r: &Route) -> StoredRoute {
        StoredRoute {
            nexthop: r.nexthop.clone(),
            metric: r.metric,
            labels: r.labels,
        }
    }
}

impl From<Route> for StoredRoute {
    fn from(r: Route) -> StoredRoute {
        StoredRoute {
            nexthop: r.nexthop,
            metric: r.metric,
            labels: r.labels,
        }
    }
}

/// The routes of one table by prefix (see the module docs).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct RouteTable {
    v4: BTreeMap<Ipv4Net, Packed<Ipv4Addr>>,
    v6: BTreeMap<Ipv6Net, Packed<Ipv6Addr>>,
    /// Routes that do not pack (`packed.rs`); a prefix is here or in its
    /// family's map, never in both. Normally empty.
    other: BTreeMap<IpNet, StoredRoute>,
}

/// A batch is merged into a map by rebuilding it (O(map + batch), dense
/// nodes) when it is at least 1/MERGE_RATIO of the map, else inserted route
/// by route (O(batch log map)): merging costs at most MERGE_RATIO + 1 moves
/// per route of the batch.
const MERGE_RATIO: usize = 8;

fn merge<K: Ord, V>(map: &mut BTreeMap<K, V>, mut batch: BTreeMap<K, V>) {
    if batch.len().saturating_mul(MERGE_RATIO) >= map.len() {
        // Later values win, as with insert.
        map.append(&mut batch);
    } else {
        map.extend(batch);
    }
}

impl RouteTable {
    pub fn new() -> RouteTable {
        RouteTable::default()
    }

    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len() + self.other.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, prefix: &IpNet) -> Option<StoredRoute> {
        let packed = match prefix {
            IpNet::V4(p) => self.v4.get(p).map(Packed::unpack),
            IpNet::V6(p) => self.v6.get(p).map(Packed::unpack),
        };
        match packed {
            None if !self.other.is_empty() => self.other.get(prefix).cloned(),
            p => p,
        }
    }

    pub fn contains(&self, prefix: &IpNet) -> bool {
        let packed = match prefix {
            IpNet::V4(p) => self.v4.contains_key(p),
            IpNet::V6(p) => self.v6.contains_key(p),
        };
        packed || self.other.contains_key(prefix)
    }

    /// Add or replace the route of `prefix`; returns the one replaced.
    pub fn insert(&mut self, prefix: IpNet, route: StoredRoute) -> Option<StoredRoute> {
        let (old, packed) = match prefix {
            IpNet::V4(p) => match Packed::pack(&route) {
                Some(v) => (self.v4.insert(p, v).map(|o| o.unpack()), true),
                None => (self.v4.remove(&p).map(|o| o.unpack()), false),
            },
            IpNet::V6(p) => match Packed::pack(&route) {
                Some(v) => (self.v6.insert(p, v).map(|o| o.unpack()), true),
                None => (self.v6.remove(&p).map(|o| o.unpack()), false),
            },
        };
        let other_old = if !packed {
            self.other.insert(prefix, route)
        } else if self.other.is_empty() {
            None
        } else {
            self.other.remove(&prefix)
        };
        old.or(other_old)
    }

    /// Add or replace many routes (a later route of the same prefix wins),
    /// packing the nodes densely when the batch is large (module docs).
    pub fn insert_batch(&mut self, routes: impl IntoIterator<Item = (IpNet, StoredRoute)>) {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut routes = routes.into_iter();
        for (p, r) in routes.by_ref() {
            match p {
                IpNet::V4(n) => match Packed::pack(&r) {
                    Some(v) => v4.push((n, v)),
                    None => {
                        // Rare: this route and the rest one by one, after
                        // those before it.
                        self.insert_packed(v4, v6);
                        self.insert(p, r);
                        for (p, r) in routes {
                            self.insert(p, r);
                        }
                        return;
                    }
                },
                IpNet::V6(n) => match Packed::pack(&r) {
                    Some(v) => v6.push((n, v)),
                    None => {
                        self.insert_packed(v4, v6);
                        self.insert(p, r);
                        for (p, r) in routes {
                            self.insert(p, r);
                        }
                        return;
                    }
                },
            }
        }
        self.insert_packed(v4, v6);
    }

    fn insert_packed(
        &mut self,
        v4: Vec<(Ipv4Net, Packed<Ipv4Addr>)>,
        v6: Vec<(Ipv6Net, Packed<Ipv6Addr>)>,
    ) {
        if !self.other.is_empty() {
            for (p, _) in &v4 {
                self.other.remove(&IpNet::V4(*p));
            }
            for (p, _) in &v6 {
                self.other.remove(&IpNet::V6(*p));
            }
        }
        // from_iter sorts stably and keeps the last value of a key.
        if !v4.is_empty() {
            merge(&mut self.v4, v4.into_iter().collect());
        }
        if !v6.is_empty() {
            merge(&mut self.v6, v6.into_iter().collect());
        }
    }

    pub fn remove(&mut self, prefix: &IpNet) -> Option<StoredRoute> {
        let packed = match prefix {
            IpNet::V4(p) => self.v4.remove(p).map(|o| o.unpack()),
            IpNet::V6(p) => self.v6.remove(p).map(|o| o.unpack()),
        };
        match packed {
            None if !self.other.is_empty() => self.other.remove(prefix),
            p => p,
        }
    }

    /// The routes in prefix order (IPv4, then IPv6).
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, StoredRoute)> + '_ {
        let v4 = self.v4.iter().map(|(p, r)| (IpNet::V4(*p), r.unpack()));
        let v6 = self.v6.iter().map(|(p, r)| (IpNet::V6(*p), r.unpack()));
        let mut packed = v4.chain(v6).peekable();
        let mut other = self.other.iter().map(|(p, r)| (*p, r.clone())).peekable();
        // Merge by prefix (the two hold different prefixes).
        std::iter::from_fn(move || match (packed.peek(), other.peek()) {
            (Some((a, _)), Some((b, _))) if b < a => other.next(),
            (Some(_), _) => packed.next(),
            (None, _) => other.next(),
        })
    }

    /// The prefixes in order.
    pub fn prefixes(&self) -> impl Iterator<Item = IpNet> + '_ {
        let v4 = self.v4.keys().map(|p| IpNet::V4(*p));
        let v6 = self.v6.keys().map(|p| IpNet::V6(*p));
        let mut packed = v4.chain(v6).peekable();
        let mut other = self.other.keys().copied().peekable();
        std::iter::from_fn(move || match (packed.peek(), other.peek()) {
            (Some(a), Some(b)) if b < a => other.next(),
            (Some(_), _) => packed.next(),
            (None, _) => other.next(),
        })
    }

    /// The routes as [`Route`]s of `table`, in prefix order.
    pub fn routes(&self, table: u32) -> impl Iterator<Item = Route> + '_ {
        self.iter().map(move |(p, r)| r.route(table, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(metric: u32) -> StoredRoute {
        StoredRoute {
            nexthop: NextHop::Blackhole,
            metric,
            labels: Labels::new(),
        }
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn keeps_ipnet_order_across_families() {
        let mut t = RouteTable::new();
        for (i, p) in [
            "::/0",
            "10.2.0.0/16",
            "2001:db8::/32",
            "0.0.0.0/0",
            "10.1.0.0/16",
        ]
        .iter()
        .enumerate()
        {
            assert!(t.insert(net(p), stored(i as u32)).is_none());
        }
        let mut want: Vec<IpNet> = t.prefixes().collect();
        want.sort();
        assert_eq!(t.prefixes().collect::<Vec<_>>(), want);
        assert_eq!(t.len(), 5);
        assert_eq!(t.get(&net("::/0")), Some(stored(0)));
        assert_eq!(t.remove(&net("::/0")), Some(stored(0)));
        assert!(!t.contains(&net("::/0")));
        assert_eq!(t.len(), 4);
        let r = t.routes(7).next().unwrap();
        assert_eq!((r.table, r.prefix, r.metric), (7, net("0.0.0.0/0"), 3));
    }

    #[test]
    fn a_batch_is_the_same_as_inserts_in_order() {
        let mut one = RouteTable::new();
        let mut batched = RouteTable::new();
        // small batches into a big table (inserted one by one), big ones
        // (merged), duplicates within a batch (the last wins)
        let mut n = 0u32;
        for size in [1usize, 300, 2, 40, 1000, 1, 0, 5] {
            let batch: Vec<(IpNet, StoredRoute)> = (0..size)
                .map(|i| {
                    n += 1;
                    let p = if i % 3 == 0 {
                        IpNet::V6(Ipv6Net::new((u128::from(n % 500) << 64).into(), 64).unwrap())
                    } else {
                        IpNet::V4(Ipv4Net::new((n % 700 * 256).into(), 24).unwrap())
                    };
                    (p, stored(n))
                })
                .collect();
            for (p, r) in &batch {
                one.insert(*p, r.clone());
            }
            batched.insert_batch(batch);
            assert_eq!(one, batched);
        }
        assert!(one.len() > 1000);
    }

    #[test]
    fn routes_that_do_not_pack_are_kept_in_order_with_the_others() {
        let v6gw = NextHop::Via {
            addr: "2001:db8::1".parse().unwrap(),
            ifindex: 0,
        };
        let odd = |labels: &[u32]| StoredRoute {
            nexthop: v6gw.clone(),
            metric: 1,
            labels: labels.into(),
        };
        let wide = StoredRoute {
            labels: [1 << 20].into(),
            ..stored(2)
        };
        let mut t = RouteTable::new();
        let mut want: BTreeMap<IpNet, StoredRoute> = BTreeMap::new();
        let mut put = |t: &mut RouteTable, p: &str, r: StoredRoute| {
            assert_eq!(t.insert(net(p), r.clone()), want.insert(net(p), r));
            assert_eq!(t.len(), want.len());
            let all: Vec<(IpNet, StoredRoute)> = t.iter().collect();
            let exp: Vec<(IpNet, StoredRoute)> =
                want.iter().map(|(p, r)| (*p, r.clone())).collect();
            assert_eq!(all, exp);
            assert_eq!(
                t.prefixes().collect::<Vec<_>>(),
                want.keys().copied().collect::<Vec<_>>()
            );
        };
        put(&mut t, "10.2.0.0/16", stored(1));
        put(&mut t, "10.1.0.0/16", odd(&[]));
        put(&mut t, "10.3.0.0/16", wide.clone());
        put(&mut t, "0.0.0.0/0", stored(3));
        put(&mut t, "2001:db8::/32", odd(&[16, 17, 18, 19]));
        put(&mut t, "::/0", stored(4));
        // packed <-> apart, both ways
        put(&mut t, "10.1.0.0/16", stored(5));
        put(&mut t, "10.2.0.0/16", wide);
        assert_eq!(
            t.get(&net("10.2.0.0/16")).unwrap().labels.as_slice(),
            &[1 << 20]
        );
        assert!(t.contains(&net("2001:db8::/32")) && t.contains(&net("10.1.0.0/16")));
        assert_eq!(t.remove(&net("10.2.0.0/16")).map(|r| r.metric), Some(2));
        assert_eq!(t.remove(&net("10.1.0.0/16")).map(|r| r.metric), Some(5));
        assert_eq!(t.remove(&net("10.1.0.0/16")), None);
        assert_eq!(t.len(), 4);
        // a batch with a route that does not pack in the middle
        let batch = vec![
            (net("10.5.0.0/16"), stored(6)),
            (net("10.3.0.0/16"), stored(7)),
            (net("10.6.0.0/16"), odd(&[])),
            (net("10.5.0.0/16"), odd(&[20])),
            (net("10.7.0.0/16"), stored(8)),
        ];
        let mut one = t.clone();
        for (p, r) in &batch {
            one.insert(*p, r.clone());
        }
        t.insert_batch(batch);
        assert_eq!(t, one);
        assert_eq!(t.get(&net("10.5.0.0/16")), Some(odd(&[20])));
        assert_eq!(t.get(&net("10.3.0.0/16")), Some(stored(7)));
    }
}
