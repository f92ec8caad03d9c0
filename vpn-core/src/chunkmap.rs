//! A sorted map made of shared chunks: cheap to clone (one reference per
//! chunk), dense in memory, and changed in place where not shared.
//!
//! The BGP routes of the VRFs are published as snapshots (the reconciler
//! and the SNMP agent read them while the VPN glue writes the next
//! version), a million routes at full scale. A persistent B-tree (imbl)
//! costs ~146 bytes per 56-byte route there: its nodes carry a child array
//! even as leaves and are half full when keys come in order, as they do
//! from BGP. Here the map is a vector of chunks, each a sorted vector of up
//! to [`CHUNK`] entries behind an `Arc`:
//!
//! - clone: O(chunks) reference counts (a VRF of 1,000 routes: 16);
//! - change: the chunk is copied only if a snapshot still shares it
//!   (`Arc::make_mut`), then changed in place;
//! - keys arriving in order fill chunks completely (a full chunk that gets
//!   a key past its end starts a new chunk rather than splitting), so the
//!   overhead is a few bytes per entry; a split in the middle leaves two
//!   half chunks, as a B-tree would; chunks emptied to a quarter merge with
//!   a neighbour that has room.
//!
//! Lookups are two binary searches (chunks by their last key, then within
//! the chunk).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// Entries per chunk at most.
pub const CHUNK: usize = 64;

/// One chunk: sorted, never empty inside a map. Cloned with room for a full
/// chunk (a clone is made to be changed).
struct Chunk<K, V>(Vec<(K, V)>);

impl<K: Clone, V: Clone> Clone for Chunk<K, V> {
    fn clone(&self) -> Self {
        let mut v = Vec::with_capacity(CHUNK.max(self.0.len()));
        v.extend(self.0.iter().cloned());
        Chunk(v)
    }
}

impl<K, V> Chunk<K, V> {
    fn with(k: K, v: V) -> Self {
        let mut c = Vec::with_capacity(CHUNK);
        c.push((k, v));
        Chunk(c)
    }
    fn last_key(&self) -> &K {
        &self.0[self.0.len() - 1].0
    }
}

/// A sorted map of chunks (see the module docs).
pub struct ChunkMap<K, V> {
    chunks: Vec<Arc<Chunk<K, V>>>,
    /// The last key of each chunk, side by side: the search over chunks
    /// reads this dense vector instead of one chunk (a cache miss) per step.
    lasts: Vec<K>,
    len: usize,
    /// The chunk the last search ended in: keys arrive in runs (a BGP
    /// UPDATE's prefixes, in order), so the next key is mostly in it or in
    /// the one after it, and the binary search is skipped.
    finger: AtomicUsize,
}

impl<K, V> Default for ChunkMap<K, V> {
    fn default() -> Self {
        ChunkMap {
            chunks: Vec::new(),
            lasts: Vec::new(),
            len: 0,
            finger: AtomicUsize::new(0),
        }
    }
}

impl<K: Clone, V> Clone for ChunkMap<K, V> {
    fn clone(&self) -> Self {
        ChunkMap {
            chunks: self.chunks.clone(),
            lasts: self.lasts.clone(),
            len: self.len,
            finger: AtomicUsize::new(self.finger.load(Relaxed)),
        }
    }
}

impl<K: fmt::Debug + Ord + Clone, V: fmt::Debug + Clone> fmt::Debug for ChunkMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord + Clone, V: Clone> ChunkMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first chunk whose last key is at or after `k` (chunks.len() when
    /// `k` is after every key).
    fn chunk_for(&self, k: &K) -> usize {
        let f = self.finger.load(Relaxed);
        // Chunk i holds the keys in (lasts[i-1], lasts[i]].
        let holds = |i: usize| {
            self.lasts.get(i).is_some_and(|l| k <= l) && (i == 0 || self.lasts[i - 1] < *k)
        };
        if holds(f) {
            return f;
        }
        if holds(f + 1) {
            self.finger.store(f + 1, Relaxed);
            return f + 1;
        }
        let i = self.lasts.partition_point(|l| l < k);
        self.finger.store(i, Relaxed);
        i
    }

    /// Chunk `ci` changed: its last key may have.
    fn relast(&mut self, ci: usize) {
        let l = self.chunks[ci].last_key();
        if self.lasts[ci] != *l {
            self.lasts[ci] = l.clone();
        }
    }

    fn insert_chunk(&mut self, ci: usize, c: Chunk<K, V>) {
        self.lasts.insert(ci, c.last_key().clone());
        self.chunks.insert(ci, Arc::new(c));
    }

    fn remove_chunk(&mut self, ci: usize) -> Arc<Chunk<K, V>> {
        self.lasts.remove(ci);
        self.chunks.remove(ci)
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        let c = self.chunks.get(self.chunk_for(k))?;
        let i = c.0.binary_search_by(|e| e.0.cmp(k)).ok()?;
        Some(&c.0[i].1)
    }

    pub fn contains_key(&self, k: &K) -> bool {
        self.get(k).is_some()
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        let mut ci = self.chunk_for(&k);
        if ci < self.chunks.len() {
            if let Ok(i) = self.chunks[ci].0.binary_search_by(|e| e.0.cmp(&k)) {
                let c = Arc::make_mut(&mut self.chunks[ci]);
                return Some(std::mem::replace(&mut c.0[i].1, v));
            }
        }
        self.len += 1;
        // A key between two chunks (or after the last) goes to the end of
        // the one before it while that has room: keys in order fill chunks.
        let in_gap = ci == self.chunks.len() || k < self.chunks[ci].0[0].0;
        if in_gap && ci > 0 && self.chunks[ci - 1].0.len() < CHUNK {
            ci -= 1;
        }
        if ci == self.chunks.len() {
            // After every key, and the last chunk (if any) is full.
            self.insert_chunk(ci, Chunk::with(k, v));
            return None;
        }
        let c = Arc::make_mut(&mut self.chunks[ci]);
        let i = c.0.partition_point(|e| e.0 < k);
        if c.0.len() < CHUNK {
            c.0.insert(i, (k, v));
            self.relast(ci);
            return None;
        }
        if i == c.0.len() {
            // Past the end of a full chunk: a new chunk after it.
            self.insert_chunk(ci + 1, Chunk::with(k, v));
            return None;
        }
        // Split a full chunk in two halves.
        let mut right = Vec::with_capacity(CHUNK);
        right.extend(c.0.drain(CHUNK / 2..));
        if i <= CHUNK / 2 {
            c.0.insert(i, (k, v));
        } else {
            right.insert(i - CHUNK / 2, (k, v));
        }
        self.relast(ci);
        self.insert_chunk(ci + 1, Chunk(right));
        None
    }

    /// Removes a key; returns its value.
    pub fn remove(&mut self, k: &K) -> Option<V> {
        let ci = self.chunk_for(k);
        let i = self
            .chunks
            .get(ci)?
            .0
            .binary_search_by(|e| e.0.cmp(k))
            .ok()?;
        let c = Arc::make_mut(&mut self.chunks[ci]);
        let (_, v) = c.0.remove(i);
        self.len -= 1;
        let n = c.0.len();
        if n == 0 {
            self.remove_chunk(ci);
            return Some(v);
        }
        self.relast(ci);
        if n <= CHUNK / 4 {
            // Merge into a neighbour with room (the left one first).
            let fits = |j: usize, chunks: &[Arc<Chunk<K, V>>]| {
                chunks.get(j).is_some_and(|c| c.0.len() + n <= CHUNK)
            };
            if ci > 0 && fits(ci - 1, &self.chunks) {
                let moved = self.remove_chunk(ci);
                let left = Arc::make_mut(&mut self.chunks[ci - 1]);
                left.0.extend(moved.0.iter().cloned());
                self.relast(ci - 1);
            } else if fits(ci + 1, &self.chunks) {
                let moved = self.remove_chunk(ci);
                let right = Arc::make_mut(&mut self.chunks[ci]);
                let tail = std::mem::take(&mut right.0);
                right.0.reserve(CHUNK);
                right.0.extend(moved.0.iter().cloned());
                right.0.extend(tail);
            }
        }
        Some(v)
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.chunks
            .iter()
            .flat_map(|c| c.0.iter().map(|(k, v)| (k, v)))
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Entries from the first key at or after `from`, in key order.
    pub fn range_from<'a>(&'a self, from: &K) -> impl Iterator<Item = (&'a K, &'a V)> + 'a {
        let ci = self.chunk_for(from);
        let start = self
            .chunks
            .get(ci)
            .map_or(0, |c| c.0.partition_point(|e| e.0 < *from));
        self.chunks
            .get(ci..)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .flat_map(move |(n, c)| {
                let s = if n == 0 { start } else { 0 };
                c.0[s..].iter().map(|(k, v)| (k, v))
            })
    }

    /// Heap bytes held by the chunks (allocated capacity), for statistics.
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<usize>()
            + self.lasts.capacity() * std::mem::size_of::<K>()
            + self
                .chunks
                .iter()
                .map(|c| c.0.capacity() * std::mem::size_of::<(K, V)>() + 16)
                .sum::<usize>()
    }
}

/// A [`ChunkMap`] keyed by IP prefix, IPv4 and IPv6 kept apart: an IPv4
/// key takes 5 bytes instead of an `IpNet`'s 18 (with a 32-byte value, 40
/// bytes an entry instead of 56). Iteration gives IPv4 then IPv6 prefixes,
/// which is `IpNet` order.
pub struct NetMap<V> {
    v4: ChunkMap<Ipv4Net, V>,
    v6: ChunkMap<Ipv6Net, V>,
}

impl<V> Default for NetMap<V> {
    fn default() -> Self {
        NetMap {
            v4: ChunkMap::default(),
            v6: ChunkMap::default(),
        }
    }
}

impl<V> Clone for NetMap<V> {
    fn clone(&self) -> Self {
        NetMap {
            v4: self.v4.clone(),
            v6: self.v6.clone(),
        }
    }
}

impl<V: fmt::Debug + Clone> fmt::Debug for NetMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V: Clone> NetMap<V> {
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, k: &IpNet) -> Option<&V> {
        match k {
            IpNet::V4(k) => self.v4.get(k),
            IpNet::V6(k) => self.v6.get(k),
        }
    }

    pub fn contains_key(&self, k: &IpNet) -> bool {
        self.get(k).is_some()
    }

    pub fn insert(&mut self, k: IpNet, v: V) -> Option<V> {
        match k {
            IpNet::V4(k) => self.v4.insert(k, v),
            IpNet::V6(k) => self.v6.insert(k, v),
        }
    }

    pub fn remove(&mut self, k: &IpNet) -> Option<V> {
        match k {
            IpNet::V4(k) => self.v4.remove(k),
            IpNet::V6(k) => self.v6.remove(k),
        }
    }

    /// Entries in prefix order.
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &V)> + '_ {
        let v4 = self.v4.iter().map(|(k, v)| (IpNet::V4(*k), v));
        v4.chain(self.v6.iter().map(|(k, v)| (IpNet::V6(*k), v)))
    }

    pub fn keys(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Entries from the first prefix at or after `from`, in prefix order.
    pub fn range_from<'a>(&'a self, from: &IpNet) -> Box<dyn Iterator<Item = (IpNet, &'a V)> + 'a> {
        match from {
            IpNet::V4(f) => Box::new(
                self.v4
                    .range_from(f)
                    .map(|(k, v)| (IpNet::V4(*k), v))
                    .chain(self.v6.iter().map(|(k, v)| (IpNet::V6(*k), v))),
            ),
            IpNet::V6(f) => Box::new(self.v6.range_from(f).map(|(k, v)| (IpNet::V6(*k), v))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A small deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn check(m: &ChunkMap<u32, u32>, want: &BTreeMap<u32, u32>) {
        assert_eq!(m.len(), want.len());
        assert!(m
            .iter()
            .map(|(k, v)| (*k, *v))
            .eq(want.iter().map(|(k, v)| (*k, *v))));
        for c in &m.chunks {
            assert!(!c.0.is_empty() && c.0.len() <= CHUNK);
        }
        assert!(m.lasts.iter().eq(m.chunks.iter().map(|c| c.last_key())));
    }

    /// Random inserts, replaces and removes agree with a BTreeMap, over key
    /// spaces small (many replaces) and large; snapshots taken on the way
    /// keep their content while the map changes.
    #[test]
    fn agrees_with_a_btreemap_and_snapshots_stay() {
        for (seed, space) in [(1u64, 50u64), (7, 1000), (99, 100_000)] {
            let mut r = Rng(seed);
            let mut m = ChunkMap::new();
            let mut want = BTreeMap::new();
            let mut snaps = Vec::new();
            for step in 0..20_000u32 {
                let k = (r.next() % space) as u32;
                if r.next().is_multiple_of(3) {
                    assert_eq!(m.remove(&k), want.remove(&k), "remove {k}");
                } else {
                    assert_eq!(m.insert(k, step), want.insert(k, step), "insert {k}");
                }
                if step.is_multiple_of(2000) {
                    snaps.push((m.clone(), want.clone()));
                }
                if step.is_multiple_of(97) {
                    let q = (r.next() % space) as u32;
                    assert_eq!(m.get(&q), want.get(&q));
                    assert!(m
                        .range_from(&q)
                        .take(70)
                        .map(|(k, v)| (*k, *v))
                        .eq(want.range(q..).take(70).map(|(k, v)| (*k, *v))));
                }
            }
            check(&m, &want);
            for (s, w) in &snaps {
                check(s, w);
            }
        }
    }

    /// Keys in order (ascending, or ascending runs as BGP sends them per
    /// route distinguisher) leave full chunks.
    #[test]
    fn ordered_keys_fill_chunks() {
        let mut m = ChunkMap::new();
        for k in 0..10_000u32 {
            m.insert(k, k);
        }
        assert_eq!(m.chunks.len(), 10_000usize.div_ceil(CHUNK));
        // Runs: 0, 100, 200, .. then 1, 101, 201, ..: each run ascending.
        let mut m = ChunkMap::new();
        for run in 0..100u32 {
            for k in (0..100u32).map(|i| i * 1000 + run) {
                m.insert(k, k);
            }
        }
        assert_eq!(m.len(), 10_000);
        assert!(m.chunks.len() <= 2 * 10_000usize.div_ceil(CHUNK) + 1);
        // Removing most entries merges chunks back.
        let mut m2 = ChunkMap::new();
        for k in 0..10_000u32 {
            m2.insert(k, k);
        }
        for k in 0..10_000u32 {
            if k % 8 != 0 {
                m2.remove(&k);
            }
        }
        assert_eq!(m2.len(), 1250);
        assert!(m2.chunks.len() <= 1250usize.div_ceil(CHUNK / 4));
    }

    /// NetMap agrees with a BTreeMap<IpNet, _> (order across families,
    /// range_from from either family).
    #[test]
    fn netmap_orders_ipv4_before_ipv6() {
        let mut m = NetMap::default();
        let mut want = BTreeMap::new();
        let mut r = Rng(5);
        for i in 0..3000u32 {
            let p: IpNet = if r.next().is_multiple_of(2) {
                format!("10.{}.{}.0/24", r.next() % 16, r.next() % 256)
                    .parse()
                    .unwrap()
            } else {
                format!("2001:db8:{:x}::/48", r.next() % 4096)
                    .parse()
                    .unwrap()
            };
            if r.next().is_multiple_of(4) {
                assert_eq!(m.remove(&p), want.remove(&p));
            } else {
                assert_eq!(m.insert(p, i), want.insert(p, i));
            }
        }
        assert_eq!(m.len(), want.len());
        assert!(m
            .iter()
            .map(|(k, v)| (k, *v))
            .eq(want.iter().map(|(k, v)| (*k, *v))));
        for q in [
            "0.0.0.0/0",
            "10.7.0.0/24",
            "10.15.255.0/24",
            "::/0",
            "2001:db8:800::/48",
        ] {
            let q: IpNet = q.parse().unwrap();
            assert!(m
                .range_from(&q)
                .map(|(k, v)| (k, *v))
                .eq(want.range(q..).map(|(k, v)| (*k, *v))));
        }
    }
}
