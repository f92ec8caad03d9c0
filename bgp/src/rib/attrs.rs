//! Interned path attributes: every distinct `PathAttrs` is stored once, with
//! a reference count held in the store (paths refer to it by a u32), so a
//! million routes sharing 1,000 attribute sets hold 1,000 `Arc`s and no
//! per-route atomic traffic.

use crate::PathAttrs;
use hashbrown::HashMap;
use std::sync::Arc;

#[derive(Default)]
pub(crate) struct AttrStore {
    slots: Vec<(Option<Arc<PathAttrs>>, u32)>,
    map: HashMap<Arc<PathAttrs>, u32>,
    free: Vec<u32>,
}

impl AttrStore {
    /// The id of `attrs`, with `refs` references added.
    pub fn intern(&mut self, attrs: &Arc<PathAttrs>, refs: u32) -> u32 {
        if let Some(&id) = self.map.get(&**attrs) {
            self.slots[id as usize].1 += refs;
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = (Some(attrs.clone()), refs);
                id
            }
            None => {
                self.slots.push((Some(attrs.clone()), refs));
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(attrs.clone(), id);
        id
    }

    /// Like `intern`, from an owned value (allocates an `Arc` only if new).
    pub fn intern_owned(&mut self, attrs: PathAttrs, refs: u32) -> u32 {
        if let Some(&id) = self.map.get(&attrs) {
            self.slots[id as usize].1 += refs;
            return id;
        }
        self.intern(&Arc::new(attrs), refs)
    }

    pub fn add_ref(&mut self, id: u32, n: u32) {
        if let Some(s) = self.slots.get_mut(id as usize) {
            s.1 += n;
        }
    }

    pub fn release(&mut self, id: u32) {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        slot.1 = slot.1.saturating_sub(1);
        if slot.1 == 0 {
            if let Some(a) = slot.0.take() {
                self.map.remove(&*a);
                self.free.push(id);
            }
        }
    }

    /// Drops an id obtained with zero uses left (after `intern(.., 0)`).
    pub fn release_if_unused(&mut self, id: u32) {
        if self.slots.get(id as usize).is_some_and(|s| s.1 == 0) {
            self.add_ref(id, 1);
            self.release(id);
        }
    }

    pub fn get(&self, id: u32) -> &Arc<PathAttrs> {
        static EMPTY: std::sync::OnceLock<Arc<PathAttrs>> = std::sync::OnceLock::new();
        match self.slots.get(id as usize).and_then(|s| s.0.as_ref()) {
            Some(a) => a,
            None => EMPTY.get_or_init(|| Arc::new(PathAttrs::default())),
        }
    }

    /// Distinct attribute sets held.
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_frees() {
        let mut s = AttrStore::default();
        let a = PathAttrs {
            med: Some(1),
            ..PathAttrs::default()
        };
        let id = s.intern_owned(a.clone(), 2);
        assert_eq!(s.intern_owned(a.clone(), 1), id);
        assert_eq!(s.len(), 1);
        s.release(id);
        s.release(id);
        assert_eq!(s.len(), 1);
        s.release(id);
        assert_eq!(s.len(), 0);
        let b = PathAttrs {
            med: Some(2),
            ..PathAttrs::default()
        };
        assert_eq!(s.intern_owned(b, 1), id, "slot reused");
    }
}
