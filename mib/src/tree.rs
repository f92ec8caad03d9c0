//! The registration tree: disjoint subtrees, each served by a handler, sorted
//! by OID so GET is a binary search and GETNEXT visits subtrees in order.

use crate::index::{self, Part};
use crate::oid::{Oid, MAX_SUBIDS};
use crate::value::{Value, VarResult};
use crate::view::View;
use std::ops::Bound;

/// Something that serves every instance under one OID prefix.
pub trait Subtree: Send + Sync {
    /// The registered prefix; no other subtree's prefix starts with it.
    fn prefix(&self) -> &[u32];
    /// The value of instance `oid` (which starts with `prefix`).
    fn get(&self, v: &View, oid: &[u32]) -> VarResult;
    /// The first instance in this subtree strictly after `oid` (which is
    /// either under `prefix` or before it), with its value.
    fn next(&self, v: &View, oid: &[u32]) -> Option<(Oid, Value)>;
}

/// A scalar object: one instance, `.0`.
pub struct Scalar {
    pub oid: &'static [u32],
    pub read: fn(&View) -> Value,
}

impl Subtree for Scalar {
    fn prefix(&self) -> &[u32] {
        self.oid
    }
    fn get(&self, v: &View, oid: &[u32]) -> VarResult {
        scalar_get(self.oid, oid, || (self.read)(v))
    }
    fn next(&self, v: &View, oid: &[u32]) -> Option<(Oid, Value)> {
        scalar_next(self.oid, oid, || (self.read)(v))
    }
}

/// A scalar read from some state the subtree holds (rather than from the
/// PDU's [`View`]): the SNMPv3 engine's and the notification originator's.
pub struct StateScalar<S: Send + Sync> {
    pub oid: &'static [u32],
    pub state: std::sync::Arc<S>,
    pub read: fn(&S) -> Value,
}

impl<S: Send + Sync> Subtree for StateScalar<S> {
    fn prefix(&self) -> &[u32] {
        self.oid
    }
    fn get(&self, _v: &View, oid: &[u32]) -> VarResult {
        scalar_get(self.oid, oid, || (self.read)(&self.state))
    }
    fn next(&self, _v: &View, oid: &[u32]) -> Option<(Oid, Value)> {
        scalar_next(self.oid, oid, || (self.read)(&self.state))
    }
}

/// GET of a scalar: its one instance is `.0`.
fn scalar_get(obj: &[u32], oid: &[u32], read: impl FnOnce() -> Value) -> VarResult {
    if oid.len() == obj.len() + 1 && oid[obj.len()] == 0 {
        VarResult::Value(read())
    } else {
        VarResult::NoSuchInstance
    }
}

/// GETNEXT of a scalar: `.0` if it follows `oid`.
fn scalar_next(obj: &[u32], oid: &[u32], read: impl FnOnce() -> Value) -> Option<(Oid, Value)> {
    let inst = crate::oid::join(obj, &[0]);
    (oid < inst.as_slice()).then(|| (inst, read()))
}

/// A conceptual table whose rows are keyed by byte strings ordered like its
/// INDEX (see [`crate::index`]).
pub trait Table: Send + Sync {
    /// The entry OID (table.1).
    fn entry(&self) -> &'static [u32];
    /// Readable columns, ascending (index columns that are not-accessible are
    /// never here).
    fn columns(&self) -> &'static [u32];
    /// The INDEX shape.
    fn index(&self) -> &'static [Part];
    /// The first row key inside `from` (an open or closed lower bound).
    fn next_key(&self, v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>>;
    /// A cell; `None` when the row does not exist (or has no such column).
    fn cell(&self, v: &View, key: &[u8], col: u32) -> Option<Value>;
    /// The first row inside `from` and its cell in `col` (tables whose rows
    /// come from one map override this to find both in one lookup).
    fn next_cell(
        &self,
        v: &View,
        from: Bound<&[u8]>,
        col: u32,
    ) -> Option<(Vec<u8>, Option<Value>)> {
        let key = self.next_key(v, from)?;
        let val = self.cell(v, &key, col);
        Some((key, val))
    }
}

/// Serves a [`Table`] as a subtree: column by column, rows in key order.
pub struct TableTree<T: Table>(pub T);

impl<T: Table> Subtree for TableTree<T> {
    fn prefix(&self) -> &[u32] {
        let e = self.0.entry();
        &e[..e.len() - 1]
    }

    fn get(&self, v: &View, oid: &[u32]) -> VarResult {
        let entry = self.0.entry();
        if oid.len() <= entry.len() || !oid.starts_with(entry) {
            return VarResult::NoSuchObject;
        }
        let col = oid[entry.len()];
        if !self.0.columns().contains(&col) {
            return VarResult::NoSuchObject;
        }
        let Some(key) = index::oid_to_key(self.0.index(), &oid[entry.len() + 1..]) else {
            return VarResult::NoSuchInstance;
        };
        match self.0.cell(v, &key, col) {
            Some(val) => VarResult::Value(val),
            None => VarResult::NoSuchInstance,
        }
    }

    fn next(&self, v: &View, oid: &[u32]) -> Option<(Oid, Value)> {
        let entry = self.0.entry();
        let cols = self.0.columns();
        // Where to start: which column, and after which instance suffix.
        let (mut ci, mut bound): (usize, Option<Bound<Vec<u8>>>) =
            if oid.len() > entry.len() && oid.starts_with(entry) {
                let col = oid[entry.len()];
                match cols.iter().position(|&c| c >= col) {
                    None => return None,
                    Some(i) if cols[i] == col => (
                        i,
                        index::next_bound(self.0.index(), &oid[entry.len() + 1..]),
                    ),
                    Some(i) => (i, Some(Bound::Unbounded)),
                }
            } else if oid <= entry {
                (0, Some(Bound::Unbounded))
            } else {
                return None;
            };
        loop {
            let col = *cols.get(ci)?;
            let mut b = bound.take();
            while let Some(from) = b {
                let Some((key, val)) = self.0.next_cell(v, as_ref(&from), col) else {
                    break;
                };
                if let Some(val) = val {
                    let mut o = Vec::with_capacity(entry.len() + 1 + key.len());
                    o.extend_from_slice(entry);
                    o.push(col);
                    index::key_to_oid(self.0.index(), &key, &mut o);
                    if o.len() <= MAX_SUBIDS {
                        return Some((o, val));
                    }
                }
                b = Some(Bound::Excluded(key));
            }
            ci += 1;
            bound = Some(Bound::Unbounded);
        }
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// All subtrees, sorted.
pub struct Registry {
    subtrees: Vec<Box<dyn Subtree>>,
}

impl Registry {
    pub fn new(mut subtrees: Vec<Box<dyn Subtree>>) -> Registry {
        subtrees.sort_by(|a, b| a.prefix().cmp(b.prefix()));
        for w in subtrees.windows(2) {
            assert!(
                !w[1].prefix().starts_with(w[0].prefix()),
                "overlapping subtrees {:?}",
                w[0].prefix()
            );
        }
        Registry { subtrees }
    }

    /// Index of the first subtree that contains `oid` or comes after it.
    fn first_at_or_after(&self, oid: &[u32]) -> usize {
        self.subtrees
            .partition_point(|s| s.prefix() < oid && !oid.starts_with(s.prefix()))
    }

    pub fn get(&self, v: &View, oid: &[u32]) -> VarResult {
        let i = self.first_at_or_after(oid);
        match self.subtrees.get(i) {
            Some(s) if oid.starts_with(s.prefix()) => s.get(v, oid),
            _ => VarResult::NoSuchObject,
        }
    }

    /// The first instance after `oid` in the whole tree; `None` = endOfMibView.
    pub fn next(&self, v: &View, oid: &[u32]) -> Option<(Oid, Value)> {
        let i = self.first_at_or_after(oid);
        self.subtrees[i..].iter().find_map(|s| s.next(v, oid))
    }

    /// Whether any registered object lies at or under `oid`, or `oid` lies under one.
    pub fn knows(&self, oid: &[u32]) -> bool {
        let i = self.first_at_or_after(oid);
        self.subtrees
            .get(i)
            .is_some_and(|s| oid.starts_with(s.prefix()) || s.prefix().starts_with(oid))
    }
}
