//! Row keys. Each key is a byte string whose byte order equals the order of the
//! management index it stands for:
//! - a VRF name is `[len, octets..]`, so shorter names sort first;
//! - 32-bit index parts are 4 big-endian octets.
//!
//! Length-prefixed parts make every key prefix-free, so no key is a prefix of
//! another and a range lookup after a key finds the next row.

use serde::{Deserialize, Serialize};

/// Longest VRF name (MplsL3VpnName is SIZE (0..31)).
pub const VRF_NAME_MAX: usize = 31;

/// A VRF name checked for use as a key: 1..31 printable ASCII octets without
/// '/' or spaces (ARCHITECTURE.md, "Decisions").
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VrfKey(Vec<u8>);

impl VrfKey {
    /// Validate a name; `None` when it is not usable as a VRF name.
    pub fn new(name: &[u8]) -> Option<Self> {
        if name.is_empty() || name.len() > VRF_NAME_MAX {
            return None;
        }
        if !name
            .iter()
            .all(|&c| (0x21..=0x7e).contains(&c) && c != b'/')
        {
            return None;
        }
        let mut k = Vec::with_capacity(name.len() + 1);
        k.push(name.len() as u8);
        k.extend_from_slice(name);
        Some(VrfKey(k))
    }
    /// Rebuild from key bytes (`[len, octets..]`); `None` when malformed.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let (&len, rest) = b.split_first()?;
        if rest.len() != len as usize {
            return None;
        }
        VrfKey::new(rest)
    }
    pub fn name(&self) -> &[u8] {
        &self.0[1..]
    }
    pub fn name_str(&self) -> &str {
        // Validated printable ASCII.
        std::str::from_utf8(self.name()).unwrap_or("")
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for VrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.name_str())
    }
}

/// Key of an interface binding: VRF name then ifIndex.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Debug)]
pub struct IfConfKey(Vec<u8>);

impl IfConfKey {
    pub fn new(vrf: &VrfKey, if_index: u32) -> Self {
        let mut k = vrf.as_bytes().to_vec();
        k.extend_from_slice(&if_index.to_be_bytes());
        IfConfKey(k)
    }
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let n = *b.first()? as usize;
        if b.len() != 1 + n + 4 {
            return None;
        }
        VrfKey::from_bytes(&b[..1 + n])?;
        Some(IfConfKey(b.to_vec()))
    }
    pub fn vrf(&self) -> VrfKey {
        let n = self.0[0] as usize;
        VrfKey(self.0[..1 + n].to_vec())
    }
    pub fn if_index(&self) -> u32 {
        let n = self.0.len();
        u32::from_be_bytes([self.0[n - 4], self.0[n - 3], self.0[n - 2], self.0[n - 1]])
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Key of a route-target row: VRF name, RT index, RT type.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Debug)]
pub struct RtKey(Vec<u8>);

impl RtKey {
    pub fn new(vrf: &VrfKey, index: u32, rt_type: RtType) -> Self {
        let mut k = vrf.as_bytes().to_vec();
        k.extend_from_slice(&index.to_be_bytes());
        k.extend_from_slice(&(rt_type as u32).to_be_bytes());
        RtKey(k)
    }
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let n = *b.first()? as usize;
        if b.len() != 1 + n + 8 {
            return None;
        }
        VrfKey::from_bytes(&b[..1 + n])?;
        let t = u32::from_be_bytes([b[n + 5], b[n + 6], b[n + 7], b[n + 8]]);
        RtType::from_u32(t)?;
        Some(RtKey(b.to_vec()))
    }
    pub fn vrf(&self) -> VrfKey {
        let n = self.0[0] as usize;
        VrfKey(self.0[..1 + n].to_vec())
    }
    pub fn index(&self) -> u32 {
        let n = self.0[0] as usize;
        u32::from_be_bytes([self.0[n + 1], self.0[n + 2], self.0[n + 3], self.0[n + 4]])
    }
    pub fn rt_type(&self) -> RtType {
        let n = self.0[0] as usize;
        let t = u32::from_be_bytes([self.0[n + 5], self.0[n + 6], self.0[n + 7], self.0[n + 8]]);
        RtType::from_u32(t).unwrap_or(RtType::Both)
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// How a route target is used (MplsL3VpnRtType).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Debug)]
pub enum RtType {
    Import = 1,
    Export = 2,
    Both = 3,
}

impl RtType {
    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            1 => Some(RtType::Import),
            2 => Some(RtType::Export),
            3 => Some(RtType::Both),
            _ => None,
        }
    }
}

macro_rules! borrow_bytes {
    ($($t:ty),*) => {$(
        // Ord of these keys is the byte order of the inner Vec, so borrowing as
        // a byte slice keeps map lookups consistent.
        impl std::borrow::Borrow<[u8]> for $t {
            fn borrow(&self) -> &[u8] {
                &self.0
            }
        }
    )*};
}
borrow_bytes!(VrfKey, IfConfKey, RtKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrf_names() {
        assert!(VrfKey::new(b"").is_none());
        assert!(VrfKey::new(b"a b").is_none());
        assert!(VrfKey::new(b"a/b").is_none());
        assert!(VrfKey::new(&[b'x'; 32]).is_none());
        assert!(VrfKey::new(&[b'x'; 31]).is_some());
        // shorter names sort first, like the SNMP index
        assert!(VrfKey::new(b"B").unwrap() < VrfKey::new(b"AA").unwrap());
    }

    #[test]
    fn key_round_trips() {
        let v = VrfKey::new(b"red").unwrap();
        let i = IfConfKey::new(&v, 0x0102_0304);
        assert_eq!(i.vrf(), v);
        assert_eq!(i.if_index(), 0x0102_0304);
        assert_eq!(IfConfKey::from_bytes(i.as_bytes()), Some(i));
        let r = RtKey::new(&v, 7, RtType::Export);
        assert_eq!((r.vrf(), r.index(), r.rt_type()), (v, 7, RtType::Export));
        assert_eq!(RtKey::from_bytes(r.as_bytes()), Some(r));
    }
}
