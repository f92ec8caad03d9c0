//! A compact route table: one 24-octet entry per VPN-IPv4 key holding the
//! key and its best path, in a dense vector indexed by a hash table of
//! (position, hash) pairs (9 octets per bucket). The other paths of a key,
//! when it has more than one, live in a side map. About 44 octets per
//! VPN-IPv4 route at a million routes, with the attributes shared (see
//! `AttrStore`).

use crate::{Rd, RouteKey};
use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt::Debug;
use std::hash::{BuildHasher, Hash};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The key types the tables store, smaller than `RouteKey`.
pub(crate) trait TableKey: Copy + Eq + Hash + Debug {
    fn to_route(self) -> RouteKey;
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct V4Key {
    addr: [u8; 4],
    len: u8,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct V6Key {
    addr: [u8; 16],
    len: u8,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Vpn4Key {
    rd: Rd,
    addr: [u8; 4],
    len: u8,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Vpn6Key {
    rd: Rd,
    addr: [u8; 16],
    len: u8,
}

impl V4Key {
    pub fn new(n: Ipv4Net) -> Self {
        V4Key {
            addr: n.addr().octets(),
            len: n.prefix_len(),
        }
    }
}
impl V6Key {
    pub fn new(n: Ipv6Net) -> Self {
        V6Key {
            addr: n.addr().octets(),
            len: n.prefix_len(),
        }
    }
}
impl Vpn4Key {
    pub fn new(rd: Rd, n: Ipv4Net) -> Self {
        Vpn4Key {
            rd,
            addr: n.addr().octets(),
            len: n.prefix_len(),
        }
    }
}
impl Vpn6Key {
    pub fn new(rd: Rd, n: Ipv6Net) -> Self {
        Vpn6Key {
            rd,
            addr: n.addr().octets(),
            len: n.prefix_len(),
        }
    }
}

fn v4net(addr: [u8; 4], len: u8) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(addr), len.min(32)).unwrap_or_default()
}
fn v6net(addr: [u8; 16], len: u8) -> Ipv6Net {
    Ipv6Net::new(Ipv6Addr::from(addr), len.min(128)).unwrap_or_default()
}

impl TableKey for V4Key {
    fn to_route(self) -> RouteKey {
        RouteKey::Unicast(IpNet::V4(v4net(self.addr, self.len)))
    }
}
impl TableKey for V6Key {
    fn to_route(self) -> RouteKey {
        RouteKey::Unicast(IpNet::V6(v6net(self.addr, self.len)))
    }
}
impl TableKey for Vpn4Key {
    fn to_route(self) -> RouteKey {
        RouteKey::Vpn(self.rd, IpNet::V4(v4net(self.addr, self.len)))
    }
}
impl TableKey for Vpn6Key {
    fn to_route(self) -> RouteKey {
        RouteKey::Vpn(self.rd, IpNet::V6(v6net(self.addr, self.len)))
    }
}

/// Flag bits kept in the top of `PathRef::label` (labels are 20 bits).
pub(crate) const STALE: u32 = 1 << 31;
pub(crate) const NO_LABEL: u32 = 1 << 30;
const MULTI: u32 = 1 << 29;
const LABEL_MASK: u32 = 0x000f_ffff;

/// One path: its interned attributes, its label (and flags), its source
/// (0 = originated locally, else the peer's slot).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct PathRef {
    pub attr: u32,
    pub label: u32,
    pub src: u16,
}

impl PathRef {
    pub fn new(attr: u32, label: Option<u32>, src: u16) -> Self {
        let label = match label {
            Some(l) => l & LABEL_MASK,
            None => NO_LABEL,
        };
        PathRef { attr, label, src }
    }

    pub fn label(&self) -> Option<u32> {
        (self.label & NO_LABEL == 0).then_some(self.label & LABEL_MASK)
    }

    pub fn is_stale(&self) -> bool {
        self.label & STALE != 0
    }

    /// The same path, ignoring the bookkeeping flags.
    pub fn same(&self, other: &PathRef) -> bool {
        self.attr == other.attr
            && self.src == other.src
            && (self.label & !(STALE | MULTI)) == (other.label & !(STALE | MULTI))
    }
}

struct Entry<K> {
    attr: u32,
    label: u32,
    src: u16,
    key: K,
}

impl<K> Entry<K> {
    fn path(&self) -> PathRef {
        PathRef {
            attr: self.attr,
            label: self.label & !MULTI,
            src: self.src,
        }
    }
    fn set(&mut self, p: PathRef, multi: bool) {
        self.attr = p.attr;
        self.label = (p.label & !MULTI) | if multi { MULTI } else { 0 };
        self.src = p.src;
    }
    fn multi(&self) -> bool {
        self.label & MULTI != 0
    }
}

/// What a change did to a key: its best path before and after, and the path
/// of the same source that was replaced or removed (its attribute reference
/// is the caller's to release).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Change {
    pub old_best: Option<PathRef>,
    pub new_best: Option<PathRef>,
    pub removed: Option<PathRef>,
}

impl Change {
    pub fn best_changed(&self) -> bool {
        match (&self.old_best, &self.new_best) {
            (None, None) => false,
            (Some(a), Some(b)) => !a.same(b),
            _ => true,
        }
    }
}

/// An index bucket: the entry's position and the high half of its hash, so
/// that growing the index never touches the entries (a cache miss each).
#[derive(Clone, Copy)]
struct Slot {
    pos: u32,
    hash: u32,
}

fn full_hash(s: &Slot) -> u64 {
    // hashbrown takes the bucket from the low bits and the tag from the top
    // 7: give it the stored 32 bits in both places.
    (s.hash as u64) << 32 | s.hash as u64
}

pub(crate) struct Table<K> {
    entries: Vec<Entry<K>>,
    index: HashTable<Slot>,
    hasher: DefaultHashBuilder,
    /// The non-best paths of keys with more than one path.
    others: HashMap<K, Vec<PathRef>>,
}

impl<K: TableKey> Default for Table<K> {
    fn default() -> Self {
        Table {
            entries: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            others: HashMap::new(),
        }
    }
}

impl<K: TableKey> Table<K> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Octets held by the table's own structures (not the attributes).
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry<K>>()
            + self.index.capacity() * (std::mem::size_of::<Slot>() + 1)
            + self.others.capacity() * (std::mem::size_of::<(K, Vec<PathRef>)>() + 1)
            + self
                .others
                .values()
                .map(|v| v.capacity() * 12)
                .sum::<usize>()
    }

    fn hash(&self, key: &K) -> (u64, u32) {
        let h = (self.hasher.hash_one(key) >> 32) as u32;
        ((h as u64) << 32 | h as u64, h)
    }

    fn find(&self, key: &K) -> Option<usize> {
        let (h, h32) = self.hash(key);
        let entries = &self.entries;
        self.index
            .find(h, |s| s.hash == h32 && entries[s.pos as usize].key == *key)
            .map(|s| s.pos as usize)
    }

    pub fn best(&self, key: &K) -> Option<PathRef> {
        self.find(key).map(|i| self.entries[i].path())
    }

    /// All paths of `key`, best first.
    #[cfg_attr(not(test), allow(dead_code))] // no query command yet
    pub fn paths(&self, key: &K) -> Vec<PathRef> {
        let Some(i) = self.find(key) else {
            return Vec::new();
        };
        let e = &self.entries[i];
        let mut v = vec![e.path()];
        if e.multi() {
            v.extend(self.others.get(key).into_iter().flatten().copied());
        }
        v
    }

    pub fn iter(&self) -> impl Iterator<Item = (K, PathRef)> + '_ {
        self.entries.iter().map(|e| (e.key, e.path()))
    }

    /// Sets the path of `p.src` for `key`, replacing that source's previous
    /// one. `better(a, b)` says whether a is preferred to b.
    pub fn upsert(
        &mut self,
        key: K,
        p: PathRef,
        better: impl Fn(&PathRef, &PathRef) -> bool,
    ) -> Change {
        let Some(i) = self.find(&key) else {
            let pos = self.entries.len() as u32;
            let mut e = Entry {
                attr: 0,
                label: 0,
                src: 0,
                key,
            };
            e.set(p, false);
            self.entries.push(e);
            let (h, h32) = self.hash(&key);
            self.index
                .insert_unique(h, Slot { pos, hash: h32 }, full_hash);
            return Change {
                old_best: None,
                new_best: Some(p),
                removed: None,
            };
        };
        let e = &mut self.entries[i];
        let old = e.path();
        if !e.multi() && e.src == p.src {
            e.set(p, false);
            return Change {
                old_best: Some(old),
                new_best: Some(p),
                removed: Some(old),
            };
        }
        let mut all = if e.multi() {
            self.others.remove(&key).unwrap_or_default()
        } else {
            Vec::new()
        };
        all.push(old);
        let removed = all
            .iter()
            .position(|q| q.src == p.src)
            .map(|j| all.swap_remove(j));
        all.push(p);
        let new = self.settle(i, key, all, &better);
        Change {
            old_best: Some(old),
            new_best: new,
            removed,
        }
    }

    /// Removes the path of `src` for `key`.
    pub fn remove(
        &mut self,
        key: &K,
        src: u16,
        better: impl Fn(&PathRef, &PathRef) -> bool,
    ) -> Change {
        let Some(i) = self.find(key) else {
            return Change::default();
        };
        let e = &self.entries[i];
        let old = e.path();
        if !e.multi() {
            if e.src != src {
                return Change {
                    old_best: Some(old),
                    new_best: Some(old),
                    removed: None,
                };
            }
            self.delete(i);
            return Change {
                old_best: Some(old),
                new_best: None,
                removed: Some(old),
            };
        }
        let mut all = self.others.remove(key).unwrap_or_default();
        all.push(old);
        let removed = all
            .iter()
            .position(|q| q.src == src)
            .map(|j| all.swap_remove(j));
        let new = self.settle(i, *key, all, &better);
        Change {
            old_best: Some(old),
            new_best: new,
            removed,
        }
    }

    /// Stores `all` (non-empty) as the paths of the entry at `i`: the best in
    /// the entry, the others aside. Returns the best.
    fn settle(
        &mut self,
        i: usize,
        key: K,
        mut all: Vec<PathRef>,
        better: &impl Fn(&PathRef, &PathRef) -> bool,
    ) -> Option<PathRef> {
        if all.is_empty() {
            self.delete(i);
            return None;
        }
        let mut b = 0;
        for j in 1..all.len() {
            if better(&all[j], &all[b]) {
                b = j;
            }
        }
        let best = all.swap_remove(b);
        let multi = !all.is_empty();
        self.entries[i].set(best, multi);
        if multi {
            self.others.insert(key, all);
        }
        Some(best)
    }

    /// Re-runs the selection for `key` (after a source's attributes, such as
    /// its router id, changed).
    pub fn reselect(&mut self, key: &K, better: impl Fn(&PathRef, &PathRef) -> bool) -> Change {
        let Some(i) = self.find(key) else {
            return Change::default();
        };
        let e = &self.entries[i];
        let old = e.path();
        if !e.multi() {
            return Change {
                old_best: Some(old),
                new_best: Some(old),
                removed: None,
            };
        }
        let mut all = self.others.remove(key).unwrap_or_default();
        all.push(old);
        let new = self.settle(i, *key, all, &better);
        Change {
            old_best: Some(old),
            new_best: new,
            removed: None,
        }
    }

    fn delete(&mut self, i: usize) {
        let (h, _) = self.hash(&self.entries[i].key);
        if let Ok(slot) = self.index.find_entry(h, |s| s.pos as usize == i) {
            slot.remove();
        }
        let last = self.entries.len() - 1;
        if i != last {
            let (hk, _) = self.hash(&self.entries[last].key);
            if let Some(slot) = self.index.find_mut(hk, |s| s.pos as usize == last) {
                slot.pos = i as u32;
            }
        }
        self.entries.swap_remove(i);
    }

    /// Keys that have a path from `src` (optionally only stale ones).
    pub fn keys_of(&self, src: u16, stale_only: bool) -> Vec<K> {
        let hit = |p: &PathRef| p.src == src && (!stale_only || p.is_stale());
        self.entries
            .iter()
            .filter(|e| {
                hit(&e.path())
                    || (e.multi() && self.others.get(&e.key).is_some_and(|v| v.iter().any(hit)))
            })
            .map(|e| e.key)
            .collect()
    }

    /// Marks every path from `src` stale (RFC 4724 section 4.2); returns
    /// how many.
    pub fn mark_stale(&mut self, src: u16) -> usize {
        let mut n = 0;
        for e in &mut self.entries {
            if e.src == src {
                e.label |= STALE;
                n += 1;
            }
        }
        for v in self.others.values_mut() {
            for p in v.iter_mut().filter(|p| p.src == src) {
                p.label |= STALE;
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> Vpn4Key {
        Vpn4Key::new(
            [0, 0, 0, 1, 0, 0, 0, (i % 7) as u8],
            Ipv4Net::new(Ipv4Addr::from(i << 8), 24).unwrap(),
        )
    }

    #[test]
    fn entry_is_24_octets() {
        assert_eq!(std::mem::size_of::<Entry<Vpn4Key>>(), 24);
    }

    #[test]
    fn insert_replace_remove_keep_index_consistent() {
        let mut t = Table::<Vpn4Key>::default();
        let lower_src = |a: &PathRef, b: &PathRef| a.src < b.src;
        for i in 0..1000 {
            let c = t.upsert(key(i), PathRef::new(i, Some(16), 1), lower_src);
            assert_eq!(c.old_best, None);
        }
        // A second source on even keys: better (lower src).
        for i in (0..1000).step_by(2) {
            let c = t.upsert(key(i), PathRef::new(7, Some(17), 0), lower_src);
            assert!(c.best_changed() && c.removed.is_none());
        }
        assert_eq!(t.len(), 1000);
        assert_eq!(t.paths(&key(4)).len(), 2);
        assert_eq!(t.keys_of(0, false).len(), 500);
        // Remove source 1 everywhere: odd keys vanish, even keep src 0.
        for k in t.keys_of(1, false) {
            let c = t.remove(&k, 1, lower_src);
            assert!(c.removed.is_some());
        }
        assert_eq!(t.len(), 500);
        for i in 0..1000 {
            let b = t.best(&key(i));
            assert_eq!(b.map(|p| p.src), (i % 2 == 0).then_some(0), "key {i}");
        }
        assert_eq!(t.mark_stale(0), 500);
        assert_eq!(t.keys_of(0, true).len(), 500);
        assert_eq!(
            key(3).to_route(),
            RouteKey::Vpn([0, 0, 0, 1, 0, 0, 0, 3], "0.0.3.0/24".parse().unwrap())
        );
    }
}
