//! Label ranges and allocation within them.

use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;

/// Largest 20-bit label.
pub const MAX_LABEL: u32 = 1_048_575;
/// Labels 0..15 are reserved (RFC 3032 section 2.1, RFC 7274).
pub const MIN_UNRESERVED: u32 = 16;

/// An inclusive range of labels.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct LabelRange {
    pub lo: u32,
    pub hi: u32,
}

impl LabelRange {
    pub fn contains(&self, l: u32) -> bool {
        (self.lo..=self.hi).contains(&l)
    }
    pub fn len(&self) -> u32 {
        if self.hi < self.lo {
            0
        } else {
            self.hi - self.lo + 1
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn as_range(&self) -> RangeInclusive<u32> {
        self.lo..=self.hi
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum LabelError {
    #[error("label range {lo}..{hi} is outside 16..1048575 or empty")]
    BadRange { lo: u32, hi: u32 },
    #[error("static range {0:?} and dynamic range {1:?} overlap")]
    Overlap(LabelRange, LabelRange),
    #[error("no free label in the dynamic range {lo}..{hi}")]
    Exhausted { lo: u32, hi: u32 },
}

/// The platform label space: a static range (not allocated dynamically) and
/// a dynamic range (allocated by [`LabelSpace::allocate`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct LabelSpace {
    pub static_range: LabelRange,
    pub dynamic: LabelRange,
}

impl Default for LabelSpace {
    /// 16..15999 static, 16000..1048575 dynamic (FRR's default split).
    fn default() -> Self {
        LabelSpace {
            static_range: LabelRange { lo: 16, hi: 15_999 },
            dynamic: LabelRange {
                lo: 16_000,
                hi: MAX_LABEL,
            },
        }
    }
}

impl LabelSpace {
    /// A checked label space.
    pub fn new(static_range: LabelRange, dynamic: LabelRange) -> Result<Self, LabelError> {
        for r in [static_range, dynamic] {
            if r.lo < MIN_UNRESERVED || r.hi > MAX_LABEL || r.hi < r.lo {
                return Err(LabelError::BadRange { lo: r.lo, hi: r.hi });
            }
        }
        if static_range.lo <= dynamic.hi && dynamic.lo <= static_range.hi {
            return Err(LabelError::Overlap(static_range, dynamic));
        }
        Ok(LabelSpace {
            static_range,
            dynamic,
        })
    }

    /// Whether `l` is a label this router may have allocated or been given
    /// (outside the reserved 0..15 and within one of the two ranges).
    pub fn is_legal(&self, l: u32) -> bool {
        self.static_range.contains(l) || self.dynamic.contains(l)
    }

    /// The lowest free dynamic label at or after `hint` (wrapping around),
    /// given the allocated labels in ascending order from `used_from(x)`
    /// (an iterator over allocated labels >= x). O(allocated labels skipped).
    pub fn allocate<I: Iterator<Item = u32>>(
        &self,
        hint: u32,
        mut used_from: impl FnMut(u32) -> I,
    ) -> Result<u32, LabelError> {
        let d = self.dynamic;
        let start = if d.contains(hint) { hint } else { d.lo };
        for (lo, hi) in [(start, d.hi), (d.lo, start.saturating_sub(1))] {
            if hi < lo || lo < d.lo {
                continue;
            }
            let mut cand = lo;
            for u in used_from(lo) {
                if u > hi || u > cand {
                    break;
                }
                if u == cand {
                    if cand == hi {
                        cand = hi + 1;
                        break;
                    }
                    cand += 1;
                }
            }
            if cand <= hi {
                return Ok(cand);
            }
        }
        Err(LabelError::Exhausted { lo: d.lo, hi: d.hi })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn alloc(space: &LabelSpace, used: &BTreeSet<u32>, hint: u32) -> Result<u32, LabelError> {
        space.allocate(hint, |x| {
            used.range(x..).copied().collect::<Vec<_>>().into_iter()
        })
    }

    #[test]
    fn ranges_are_checked() {
        let r = |lo, hi| LabelRange { lo, hi };
        assert!(LabelSpace::new(r(16, 99), r(100, 200)).is_ok());
        assert_eq!(
            LabelSpace::new(r(15, 99), r(100, 200)),
            Err(LabelError::BadRange { lo: 15, hi: 99 })
        );
        assert_eq!(
            LabelSpace::new(r(16, 99), r(100, MAX_LABEL + 1)),
            Err(LabelError::BadRange {
                lo: 100,
                hi: MAX_LABEL + 1
            })
        );
        assert!(matches!(
            LabelSpace::new(r(16, 150), r(100, 200)),
            Err(LabelError::Overlap(..))
        ));
        let s = LabelSpace::default();
        assert!(
            !s.is_legal(3) && s.is_legal(16) && s.is_legal(MAX_LABEL) && !s.is_legal(MAX_LABEL + 1)
        );
    }

    #[test]
    fn allocates_lowest_free_from_hint_and_wraps() {
        let s = LabelSpace::new(
            LabelRange { lo: 16, hi: 19 },
            LabelRange { lo: 100, hi: 104 },
        )
        .unwrap();
        let mut used = BTreeSet::new();
        assert_eq!(alloc(&s, &used, 0), Ok(100));
        used.extend([100, 101, 103]);
        assert_eq!(alloc(&s, &used, 100), Ok(102));
        assert_eq!(alloc(&s, &used, 103), Ok(104));
        used.insert(104);
        // wraps to the start of the range
        assert_eq!(alloc(&s, &used, 104), Ok(102));
        used.insert(102);
        assert_eq!(
            alloc(&s, &used, 100),
            Err(LabelError::Exhausted { lo: 100, hi: 104 })
        );
        used.remove(&100);
        assert_eq!(alloc(&s, &used, 103), Ok(100));
    }

    #[test]
    fn full_range_at_the_top_label() {
        let s = LabelSpace::new(
            LabelRange { lo: 16, hi: 17 },
            LabelRange {
                lo: MAX_LABEL - 1,
                hi: MAX_LABEL,
            },
        )
        .unwrap();
        let used: BTreeSet<u32> = [MAX_LABEL - 1, MAX_LABEL].into();
        assert_eq!(
            alloc(&s, &used, MAX_LABEL),
            Err(LabelError::Exhausted {
                lo: MAX_LABEL - 1,
                hi: MAX_LABEL
            })
        );
    }
}
