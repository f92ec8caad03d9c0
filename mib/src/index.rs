//! Index <-> OID codec (RFC 2578 section 7.7).
//!
//! Row keys in vpn-core are byte strings whose byte order is the index order:
//! an INTEGER/Unsigned32 part is 4 big-endian octets, an OCTET STRING part is a
//! length octet and the octets, an OBJECT IDENTIFIER part is a length octet and
//! 4 octets per sub-identifier. This module turns instance suffixes into keys
//! (exactly, for GET and SET) and into the lower bound of the next key (for
//! GETNEXT), so "next row" is one range lookup whatever the requested suffix.

use std::ops::Bound;

/// One part of an INDEX clause.
#[derive(Clone, Copy, Debug)]
pub enum Part {
    /// An integer index object (one sub-identifier).
    U32,
    /// A non-IMPLIED OCTET STRING of at most `max` octets (length-prefixed).
    Octets { max: usize },
    /// A non-IMPLIED OBJECT IDENTIFIER of at most `max` sub-identifiers.
    Oid { max: usize },
}

/// The sub-identifiers for a key. Keys come from the store and are well formed;
/// a malformed tail is ignored.
pub fn key_to_oid(spec: &[Part], key: &[u8], out: &mut Vec<u32>) {
    let mut k = key;
    for p in spec {
        match p {
            Part::U32 => {
                let Some((b, rest)) = k.split_first_chunk::<4>() else {
                    return;
                };
                out.push(u32::from_be_bytes(*b));
                k = rest;
            }
            Part::Octets { .. } => {
                let Some((&n, rest)) = k.split_first() else {
                    return;
                };
                let n = (n as usize).min(rest.len());
                out.push(n as u32);
                out.extend(rest[..n].iter().map(|&c| c as u32));
                k = &rest[n..];
            }
            Part::Oid { .. } => {
                let Some((&n, mut rest)) = k.split_first() else {
                    return;
                };
                out.push(n as u32);
                for _ in 0..n {
                    let Some((b, r)) = rest.split_first_chunk::<4>() else {
                        return;
                    };
                    out.push(u32::from_be_bytes(*b));
                    rest = r;
                }
                k = rest;
            }
        }
    }
}

/// The key an instance suffix names exactly, or `None` if the suffix is not a
/// well-formed index of this shape (wrong length, an octet over 255, a string
/// longer than its maximum, sub-identifiers left over).
pub fn oid_to_key(spec: &[Part], sub: &[u32]) -> Option<Vec<u8>> {
    let mut key = Vec::with_capacity(sub.len() + 8);
    let mut s = sub;
    for p in spec {
        match p {
            Part::U32 => {
                let (&v, rest) = s.split_first()?;
                key.extend_from_slice(&v.to_be_bytes());
                s = rest;
            }
            Part::Octets { max } => {
                let (&n, rest) = s.split_first()?;
                let n = n as usize;
                if n > *max || n > 255 || rest.len() < n {
                    return None;
                }
                key.push(n as u8);
                for &c in &rest[..n] {
                    key.push(u8::try_from(c).ok()?);
                }
                s = &rest[n..];
            }
            Part::Oid { max } => {
                let (&n, rest) = s.split_first()?;
                let n = n as usize;
                if n > *max || n > 255 || rest.len() < n {
                    return None;
                }
                key.push(n as u8);
                for &c in &rest[..n] {
                    key.extend_from_slice(&c.to_be_bytes());
                }
                s = &rest[n..];
            }
        }
    }
    s.is_empty().then_some(key)
}

/// The bound on keys whose instance follows `sub` in OID order: every key
/// `k` with `k` inside the bound (as `(bound, Unbounded)`) has an instance
/// greater than `sub`, and no other key does. `None`: no key can follow.
pub fn next_bound(spec: &[Part], sub: &[u32]) -> Option<Bound<Vec<u8>>> {
    let mut key = Vec::with_capacity(sub.len() + 8);
    let mut s = sub;
    for p in spec {
        match p {
            Part::U32 => {
                let Some((&v, rest)) = s.split_first() else {
                    return Some(Bound::Included(key));
                };
                key.extend_from_slice(&v.to_be_bytes());
                s = rest;
            }
            Part::Octets { .. } => {
                let Some((&n, mut rest)) = s.split_first() else {
                    return Some(Bound::Included(key));
                };
                let Ok(nb) = u8::try_from(n) else {
                    return carry(key);
                };
                key.push(nb);
                for _ in 0..nb {
                    let Some((&c, r)) = rest.split_first() else {
                        return Some(Bound::Included(key));
                    };
                    let Ok(cb) = u8::try_from(c) else {
                        return carry(key);
                    };
                    key.push(cb);
                    rest = r;
                }
                s = rest;
            }
            Part::Oid { .. } => {
                let Some((&n, mut rest)) = s.split_first() else {
                    return Some(Bound::Included(key));
                };
                let Ok(nb) = u8::try_from(n) else {
                    return carry(key);
                };
                key.push(nb);
                for _ in 0..nb {
                    let Some((&c, r)) = rest.split_first() else {
                        return Some(Bound::Included(key));
                    };
                    key.extend_from_slice(&c.to_be_bytes());
                    rest = r;
                }
                s = rest;
            }
        }
    }
    // A whole key (perhaps followed by more sub-identifiers): the next key is
    // strictly after it; keys are prefix-free, so none extends it.
    Some(Bound::Excluded(key))
}

/// The smallest byte string after every string that starts with `key`.
fn carry(mut key: Vec<u8>) -> Option<Bound<Vec<u8>>> {
    while let Some(last) = key.pop() {
        if last < u8::MAX {
            key.push(last + 1);
            return Some(Bound::Included(key));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const VRF: &[Part] = &[Part::Octets { max: 31 }];
    const RT: &[Part] = &[Part::Octets { max: 31 }, Part::U32, Part::U32];
    const RTE: &[Part] = &[
        Part::Octets { max: 31 },
        Part::U32,
        Part::Octets { max: 255 },
        Part::U32,
        Part::Oid { max: 128 },
        Part::U32,
        Part::Octets { max: 255 },
    ];

    fn oid_of(spec: &[Part], k: &[u8]) -> Vec<u32> {
        let mut o = Vec::new();
        key_to_oid(spec, k, &mut o);
        o
    }

    #[test]
    fn round_trips() {
        let k = vec![3, b'r', b'e', b'd', 0, 0, 0, 7, 0, 0, 0, 3];
        assert_eq!(oid_of(RT, &k), vec![3, 114, 101, 100, 7, 3]);
        assert_eq!(oid_to_key(RT, &[3, 114, 101, 100, 7, 3]), Some(k));
        // 31-octet name, ipv6 route, policy {0 0}, ipv6 next hop
        let mut sub = vec![31];
        sub.extend(std::iter::repeat_n(120, 31));
        sub.extend([2, 16]);
        sub.extend(0..16);
        sub.extend([64, 2, 0, 0, 2, 16]);
        sub.extend(100..116);
        let key = oid_to_key(RTE, &sub).unwrap();
        assert_eq!(oid_of(RTE, &key), sub);
        assert!(13 + sub.len() <= crate::oid::MAX_SUBIDS);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(oid_to_key(VRF, &[]), None);
        assert_eq!(oid_to_key(VRF, &[3, 1, 2]), None); // short
        assert_eq!(oid_to_key(VRF, &[2, 1, 2, 3]), None); // left over
        assert_eq!(oid_to_key(VRF, &[1, 256]), None); // not an octet
        let mut long = vec![32];
        long.extend(std::iter::repeat_n(97, 32));
        assert_eq!(oid_to_key(VRF, &long), None); // over SIZE (0..31)
        assert_eq!(oid_to_key(VRF, &[0]), Some(vec![0]));
    }

    /// Brute force: for many suffixes, the bound selects exactly the keys
    /// whose OID is greater than the suffix.
    #[test]
    fn next_bound_matches_oid_order() {
        let keys: BTreeSet<Vec<u8>> = [
            &b"\x01B"[..],
            b"\x02AA",
            b"\x02A\xff",
            b"\x03red",
            b"\x00",
            b"\x02\xff\xff",
        ]
        .iter()
        .flat_map(|n| {
            [0u32, 1, 2, 255, 256, u32::MAX]
                .into_iter()
                .flat_map(move |i| {
                    [1u32, 3].into_iter().map(move |t| {
                        let mut k = n.to_vec();
                        k.extend_from_slice(&i.to_be_bytes());
                        k.extend_from_slice(&t.to_be_bytes());
                        k
                    })
                })
        })
        .collect();
        let oids: Vec<(Vec<u32>, Vec<u8>)> =
            keys.iter().map(|k| (oid_of(RT, k), k.clone())).collect();
        // byte order of keys == OID order
        let mut sorted = oids.clone();
        sorted.sort();
        assert_eq!(
            sorted.iter().map(|x| &x.1).collect::<Vec<_>>(),
            keys.iter().collect::<Vec<_>>()
        );
        let mut probes: Vec<Vec<u32>> = vec![
            vec![],
            vec![0],
            vec![1],
            vec![2, 65],
            vec![2, 65, 300],
            vec![300],
        ];
        probes.push(vec![2, 255, 255, u32::MAX, 3, 9]);
        probes.push(vec![1, 66, 256]);
        probes.push(vec![3, 114, 101, 100, 255]);
        probes.push(vec![3, 114, 101, 100, 255, 2]);
        probes.push(vec![3, 114, 101, 100, u32::MAX, 3]);
        for (o, _) in &oids {
            probes.push(o.clone());
            let mut longer = o.clone();
            longer.push(0);
            probes.push(longer);
            probes.push(o[..o.len() - 1].to_vec());
        }
        for p in probes {
            let want: Vec<&Vec<u8>> = oids
                .iter()
                .filter(|(o, _)| o > &p)
                .map(|(_, k)| k)
                .collect();
            let got: Vec<&Vec<u8>> = match next_bound(RT, &p) {
                None => vec![],
                Some(b) => keys.range((b, Bound::Unbounded)).collect(),
            };
            assert_eq!(got, want, "probe {p:?}");
        }
    }
}
