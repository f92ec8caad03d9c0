//! The routes of one routing table, keyed by prefix, compactly: what the
//! shadow backend holds and what the reconciler remembers having applied,
//! a million routes each at full scale.
//!
//! - The key (table, prefix) is not repeated in the value: a [`RouteTable`]
//!   is per table and maps a prefix to a [`StoredRoute`].
//! - IPv4 and IPv6 prefixes are kept apart, so an IPv4 key is 5 bytes, not
//!   the 18 of an `IpNet`. Iteration gives IPv4 then IPv6, which is the
//!   order of `IpNet`.
//! - [`RouteTable::insert_batch`] merges many routes at once into densely
//!   packed B-tree nodes (a route at a time into a B-tree fills its nodes
//!   about half when the keys come in order, as they do).

use std::collections::BTreeMap;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::{Labels, NextHop, Route};

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
    v4: BTreeMap<Ipv4Net, StoredRoute>,
    v6: BTreeMap<Ipv6Net, StoredRoute>,
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
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    pub fn get(&self, prefix: &IpNet) -> Option<&StoredRoute> {
        match prefix {
            IpNet::V4(p) => self.v4.get(p),
            IpNet::V6(p) => self.v6.get(p),
        }
    }

    pub fn contains(&self, prefix: &IpNet) -> bool {
        self.get(prefix).is_some()
    }

    /// Add or replace the route of `prefix`; returns the one replaced.
    pub fn insert(&mut self, prefix: IpNet, route: StoredRoute) -> Option<StoredRoute> {
        match prefix {
            IpNet::V4(p) => self.v4.insert(p, route),
            IpNet::V6(p) => self.v6.insert(p, route),
        }
    }

    /// Add or replace many routes (a later route of the same prefix wins),
    /// packing the nodes densely when the batch is large (module docs).
    pub fn insert_batch(&mut self, routes: impl IntoIterator<Item = (IpNet, StoredRoute)>) {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (p, r) in routes {
            match p {
                IpNet::V4(p) => v4.push((p, r)),
                IpNet::V6(p) => v6.push((p, r)),
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
        match prefix {
            IpNet::V4(p) => self.v4.remove(p),
            IpNet::V6(p) => self.v6.remove(p),
        }
    }

    /// The routes in prefix order (IPv4, then IPv6).
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &StoredRoute)> + '_ {
        let v4 = self.v4.iter().map(|(p, r)| (IpNet::V4(*p), r));
        let v6 = self.v6.iter().map(|(p, r)| (IpNet::V6(*p), r));
        v4.chain(v6)
    }

    /// The prefixes in order.
    pub fn prefixes(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.iter().map(|(p, _)| p)
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
        assert_eq!(t.get(&net("::/0")), Some(&stored(0)));
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
}
