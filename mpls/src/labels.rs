//! The MPLS label stack a route pushes or a BGP path carries (RFC 3032
//! section 2.1, RFC 8277), held inline: a VPN route has one label (RFC 4364
//! section 4.3.2), so a heap allocation per route would cost more than the
//! labels themselves.
//!
//! A [`Labels`] holds up to [`Labels::CAPACITY`] labels, outermost first.
//! Built from a deeper stack it keeps the first ones and remembers that it
//! was cut ([`Labels::is_truncated`]); the FIB backends refuse to install
//! such a stack (fib's `check.rs`), so a label is never dropped silently.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// An MPLS label stack of up to [`Labels::CAPACITY`] labels (see the module
/// docs). Values are kept as given (a value above 20 bits is the backend's
/// to refuse). `Display` joins the labels with `/` (`16/17`, empty for
/// none); `Debug` lists them like a slice (`[16, 17]`).
#[derive(Clone, Copy, Default)]
pub struct Labels {
    /// How many labels were given (saturating); the first
    /// `min(len, CAPACITY)` are in `stack`, the rest of `stack` is zero.
    len: u8,
    stack: [u32; Labels::CAPACITY],
}

impl Labels {
    /// Labels held inline: the VPN label plus two transport labels.
    pub const CAPACITY: usize = 3;

    /// No labels.
    pub const fn new() -> Labels {
        Labels {
            len: 0,
            stack: [0; Labels::CAPACITY],
        }
    }

    /// A stack of one label.
    pub const fn one(label: u32) -> Labels {
        let mut stack = [0; Labels::CAPACITY];
        stack[0] = label;
        Labels { len: 1, stack }
    }

    /// The labels held, outermost first.
    pub fn as_slice(&self) -> &[u32] {
        let n = usize::from(self.len).min(Labels::CAPACITY);
        &self.stack[..n]
    }

    pub fn iter(&self) -> std::slice::Iter<'_, u32> {
        self.as_slice().iter()
    }

    /// Number of labels held.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether it was built from a stack deeper than [`Labels::CAPACITY`]
    /// (only the first labels are held).
    pub fn is_truncated(&self) -> bool {
        usize::from(self.len) > Labels::CAPACITY
    }

    fn push(&mut self, label: u32) {
        if let Some(slot) = self.stack.get_mut(usize::from(self.len)) {
            *slot = label;
        }
        self.len = self.len.saturating_add(1);
    }
}

impl FromIterator<u32> for Labels {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Labels {
        let mut l = Labels::new();
        for label in iter {
            l.push(label);
        }
        l
    }
}

impl From<&[u32]> for Labels {
    fn from(labels: &[u32]) -> Labels {
        match labels.len() {
            0 => Labels::new(),
            1 => Labels::one(labels[0]),
            _ => labels.iter().copied().collect(),
        }
    }
}

impl<const N: usize> From<[u32; N]> for Labels {
    fn from(labels: [u32; N]) -> Labels {
        labels.into_iter().collect()
    }
}

/// Reads like a slice (`first`, `iter`, `is_empty`, ...).
impl std::ops::Deref for Labels {
    type Target = [u32];
    fn deref(&self) -> &[u32] {
        self.as_slice()
    }
}

impl PartialEq<Vec<u32>> for Labels {
    fn eq(&self, other: &Vec<u32>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl AsRef<[u32]> for Labels {
    fn as_ref(&self) -> &[u32] {
        self.as_slice()
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a u32;
    type IntoIter = std::slice::Iter<'a, u32>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Labels) -> bool {
        self.len == other.len && self.as_slice() == other.as_slice()
    }
}

impl Eq for Labels {}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.len.hash(state);
        self.as_slice().hash(state);
    }
}

impl Ord for Labels {
    /// Like the label slices (a truncated stack after the same labels
    /// uncut).
    fn cmp(&self, other: &Labels) -> Ordering {
        self.as_slice()
            .cmp(other.as_slice())
            .then(self.len.cmp(&other.len))
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Labels) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Labels {
    /// `16/17`; a truncated stack ends in `/...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            write!(f, "{l}")?;
        }
        if self.is_truncated() {
            f.write_str("/...")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Labels {
    /// `[16, 17]`; a truncated stack `[16, 17, 18, ..]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        l.entries(self.iter());
        if self.is_truncated() {
            l.finish_non_exhaustive()
        } else {
            l.finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_a_stack_inline_and_prints_it_like_a_vec() {
        assert!(std::mem::size_of::<Labels>() <= 16);
        let l = Labels::from([16, 1_048_575]);
        assert_eq!(l.as_slice(), &[16, 1_048_575]);
        assert_eq!(l.len(), 2);
        assert!(!l.is_truncated());
        assert_eq!(l.to_string(), "16/1048575");
        assert_eq!(format!("{l:?}"), format!("{:?}", vec![16u32, 1_048_575]));
        assert_eq!(Labels::new().to_string(), "");
        assert_eq!(format!("{:?}", Labels::new()), "[]");
        assert!(Labels::new().is_empty() && Labels::default().is_empty());
        assert_eq!(Labels::one(7), Labels::from(&[7u32][..]));
        assert_eq!(Labels::one(7), [7u32].into_iter().collect::<Labels>());
    }

    #[test]
    fn a_deeper_stack_is_cut_and_says_so() {
        let l = Labels::from([1, 2, 3, 4, 5]);
        assert!(l.is_truncated());
        assert_eq!(l.as_slice(), &[1, 2, 3]);
        assert_ne!(l, Labels::from([1, 2, 3]));
        assert!(Labels::from([1, 2, 3]) < l);
        assert_eq!(l.to_string(), "1/2/3/...");
        assert_eq!(format!("{l:?}"), "[1, 2, 3, ..]");
        // any depth, no panic
        let deep: Labels = (0..1000).collect();
        assert!(deep.is_truncated() && deep.len() == Labels::CAPACITY);
    }

    #[test]
    fn orders_like_the_slices() {
        let mut v = [
            Labels::from([2]),
            Labels::new(),
            Labels::from([1, 5]),
            Labels::from([1]),
        ];
        v.sort();
        let s: Vec<&[u32]> = v.iter().map(Labels::as_slice).collect();
        assert_eq!(s, vec![&[][..], &[1], &[1, 5], &[2]]);
    }
}
