//! The metrics of our routes per (table, prefix), as last loaded and
//! applied since: the kernel keys a route by (table, prefix, metric), so a
//! put that changes the metric must remove the old one (module docs of
//! `netlink.rs`).
//!
//! A million routes at full scale, nearly all with one metric: kept per
//! table (dropping a table costs its own routes), IPv4 keys of 5 bytes,
//! one metric inline; only a prefix that holds several metrics (strays
//! found by a load) has a list, apart.

use std::collections::BTreeMap;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

#[derive(Default, Debug)]
struct Table {
    v4: BTreeMap<Ipv4Net, u32>,
    v6: BTreeMap<Ipv6Net, u32>,
    /// Metrics beyond the first, of the few prefixes that have several.
    more: BTreeMap<IpNet, Vec<u32>>,
}

impl Table {
    fn first(&self, prefix: &IpNet) -> Option<u32> {
        match prefix {
            IpNet::V4(p) => self.v4.get(p).copied(),
            IpNet::V6(p) => self.v6.get(p).copied(),
        }
    }

    fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

#[derive(Default, Debug)]
pub(crate) struct Installed {
    tables: BTreeMap<u32, Table>,
}

impl Installed {
    /// The metrics known for (table, prefix); empty when none.
    pub(crate) fn metrics(&self, table: u32, prefix: &IpNet) -> Vec<u32> {
        let Some(t) = self.tables.get(&table) else {
            return Vec::new();
        };
        let mut v: Vec<u32> = t.first(prefix).into_iter().collect();
        if !v.is_empty() {
            if let Some(more) = t.more.get(prefix) {
                v.extend_from_slice(more);
            }
        }
        v
    }

    /// (table, prefix) now has exactly `metric`.
    pub(crate) fn set(&mut self, table: u32, prefix: IpNet, metric: u32) {
        let t = self.tables.entry(table).or_default();
        match prefix {
            IpNet::V4(p) => {
                t.v4.insert(p, metric);
            }
            IpNet::V6(p) => {
                t.v6.insert(p, metric);
            }
        }
        if !t.more.is_empty() {
            t.more.remove(&prefix);
        }
    }

    /// One more metric found for (table, prefix) (a load).
    pub(crate) fn add(&mut self, table: u32, prefix: IpNet, metric: u32) {
        let t = self.tables.entry(table).or_default();
        let fresh = match prefix {
            IpNet::V4(p) => t.v4.try_insert_or_keep(p, metric),
            IpNet::V6(p) => t.v6.try_insert_or_keep(p, metric),
        };
        if !fresh {
            t.more.entry(prefix).or_default().push(metric);
        }
    }

    /// Forget (table, prefix); returns the metrics it had (None: unknown).
    pub(crate) fn remove(&mut self, table: u32, prefix: &IpNet) -> Option<Vec<u32>> {
        let t = self.tables.get_mut(&table)?;
        let first = match prefix {
            IpNet::V4(p) => t.v4.remove(p),
            IpNet::V6(p) => t.v6.remove(p),
        }?;
        let mut v = vec![first];
        if let Some(more) = t.more.remove(prefix) {
            v.extend(more);
        }
        if t.is_empty() {
            self.tables.remove(&table);
        }
        Some(v)
    }

    /// Forget everything of one table.
    pub(crate) fn remove_table(&mut self, table: u32) {
        self.tables.remove(&table);
    }
}

/// Insert unless the key is there (std's `try_insert` is unstable).
trait InsertOrKeep<K, V> {
    /// Whether the value was inserted.
    fn try_insert_or_keep(&mut self, k: K, v: V) -> bool;
}

impl<K: Ord, V> InsertOrKeep<K, V> for BTreeMap<K, V> {
    fn try_insert_or_keep(&mut self, k: K, v: V) -> bool {
        match self.entry(k) {
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(v);
                true
            }
            std::collections::btree_map::Entry::Occupied(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn keeps_every_metric_of_a_prefix() {
        let mut i = Installed::default();
        let p = net("10.1.0.0/24");
        assert!(i.metrics(100, &p).is_empty());
        assert_eq!(i.remove(100, &p), None);
        i.add(100, p, 10);
        i.add(100, p, 20);
        i.add(100, net("2001:db8::/32"), 1024);
        i.add(200, p, 5);
        assert_eq!(i.metrics(100, &p), vec![10, 20]);
        assert_eq!(i.metrics(100, &net("2001:db8::/32")), vec![1024]);
        // a put leaves one metric
        i.set(100, p, 30);
        assert_eq!(i.metrics(100, &p), vec![30]);
        i.add(100, p, 40);
        assert_eq!(i.remove(100, &p), Some(vec![30, 40]));
        assert!(i.metrics(100, &p).is_empty());
        assert_eq!(i.metrics(200, &p), vec![5]);
        i.remove_table(200);
        assert!(i.metrics(200, &p).is_empty());
        assert_eq!(i.remove(100, &net("2001:db8::/32")), Some(vec![1024]));
        assert!(i.tables.is_empty(), "no empty table is kept");
    }
}
