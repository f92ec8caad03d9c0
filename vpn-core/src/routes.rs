//! Routes of a VRF as the management index names them (RFC 4382
//! mplsL3VpnVrfRteTable, modelled on RFC 4292 inetCidrRouteTable): the key
//! is (VRF, destination type, destination, prefix length, policy, next-hop
//! type, next hop), encoded so byte order is index order.

use crate::config::{RowState, RowTimes};
use crate::keys::VrfKey;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// InetAddressType values (RFC 4001).
pub const INET_UNKNOWN: u32 = 0;
pub const INET_IPV4: u32 = 1;
pub const INET_IPV6: u32 = 2;

/// The longest policy OID a key may hold (and still fit 128 sub-ids).
pub const POLICY_MAX: usize = 36;

/// Why an index cannot name a route.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RteIndexError {
    /// The index can never name a route here (unsupported type, bad length).
    Never,
    /// The destination has bits set beyond its prefix length, or the next hop
    /// is of another family (RFC 4382: inconsistentName).
    Inconsistent,
}

/// Key of a route row.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Debug)]
pub struct RteKey(Vec<u8>);

impl std::borrow::Borrow<[u8]> for RteKey {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

fn addr_bytes(a: &IpAddr) -> (u32, Vec<u8>) {
    match a {
        IpAddr::V4(v) => (INET_IPV4, v.octets().to_vec()),
        IpAddr::V6(v) => (INET_IPV6, v.octets().to_vec()),
    }
}

/// The parts of a route key, decoded.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RteIndex {
    pub vrf: VrfKey,
    pub prefix: IpNet,
    pub policy: Vec<u32>,
    pub next_hop: Option<IpAddr>,
}

impl RteKey {
    /// Build a key; the prefix must be canonical (host bits zero).
    pub fn new(vrf: &VrfKey, prefix: IpNet, policy: &[u32], next_hop: Option<IpAddr>) -> RteKey {
        let mut k = vrf.as_bytes().to_vec();
        let (t, d) = addr_bytes(&prefix.addr());
        k.extend_from_slice(&t.to_be_bytes());
        k.push(d.len() as u8);
        k.extend_from_slice(&d);
        k.extend_from_slice(&(prefix.prefix_len() as u32).to_be_bytes());
        k.push(policy.len() as u8);
        for p in policy {
            k.extend_from_slice(&p.to_be_bytes());
        }
        match next_hop {
            None => {
                k.extend_from_slice(&INET_UNKNOWN.to_be_bytes());
                k.push(0);
            }
            Some(nh) => {
                let (t, d) = addr_bytes(&nh);
                k.extend_from_slice(&t.to_be_bytes());
                k.push(d.len() as u8);
                k.extend_from_slice(&d);
            }
        }
        RteKey(k)
    }

    /// Check key bytes (as the index codec produced them) and decode them.
    pub fn parse(b: &[u8]) -> Result<(RteKey, RteIndex), RteIndexError> {
        use RteIndexError::*;
        let n = *b.first().ok_or(Never)? as usize;
        let vrf = VrfKey::from_bytes(b.get(..1 + n).ok_or(Never)?).ok_or(Never)?;
        let mut r = &b[1 + n..];
        let u32_at = |r: &mut &[u8]| -> Result<u32, RteIndexError> {
            let (x, rest) = r.split_first_chunk::<4>().ok_or(Never)?;
            *r = rest;
            Ok(u32::from_be_bytes(*x))
        };
        let octets = |r: &mut &[u8]| -> Result<Vec<u8>, RteIndexError> {
            let (&l, rest) = r.split_first().ok_or(Never)?;
            let v = rest.get(..l as usize).ok_or(Never)?.to_vec();
            *r = &rest[l as usize..];
            Ok(v)
        };
        let dtype = u32_at(&mut r)?;
        let dest = octets(&mut r)?;
        let plen = u32_at(&mut r)?;
        let (&pl, rest) = r.split_first().ok_or(Never)?;
        r = rest;
        let mut policy = Vec::with_capacity(pl as usize);
        for _ in 0..pl {
            policy.push(u32_at(&mut r)?);
        }
        if policy.len() > POLICY_MAX {
            return Err(Never);
        }
        let ntype = u32_at(&mut r)?;
        let nh = octets(&mut r)?;
        if !r.is_empty() {
            return Err(Never);
        }
        let prefix = match (dtype, dest.len()) {
            (INET_IPV4, 4) if plen <= 32 => {
                let a = Ipv4Addr::from(<[u8; 4]>::try_from(dest.as_slice()).map_err(|_| Never)?);
                IpNet::V4(Ipv4Net::new(a, plen as u8).map_err(|_| Never)?)
            }
            (INET_IPV6, 16) if plen <= 128 => {
                let a = Ipv6Addr::from(<[u8; 16]>::try_from(dest.as_slice()).map_err(|_| Never)?);
                IpNet::V6(Ipv6Net::new(a, plen as u8).map_err(|_| Never)?)
            }
            (INET_IPV4, 4) => return Err(Inconsistent),
            (INET_IPV6, 16) => return Err(Inconsistent),
            _ => return Err(Never),
        };
        // RFC 4382: Dest AND mask(PfxLen) must equal Dest.
        if prefix.trunc() != prefix {
            return Err(Inconsistent);
        }
        let next_hop = match (ntype, nh.len()) {
            (INET_UNKNOWN, 0) => None,
            (INET_IPV4, 4) => Some(IpAddr::from(
                <[u8; 4]>::try_from(nh.as_slice()).map_err(|_| Never)?,
            )),
            (INET_IPV6, 16) => Some(IpAddr::from(
                <[u8; 16]>::try_from(nh.as_slice()).map_err(|_| Never)?,
            )),
            _ => return Err(Never),
        };
        if let Some(h) = next_hop {
            if h.is_ipv4() != prefix.addr().is_ipv4() {
                return Err(Inconsistent);
            }
        }
        Ok((
            RteKey(b.to_vec()),
            RteIndex {
                vrf,
                prefix,
                policy,
                next_hop,
            },
        ))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn vrf(&self) -> VrfKey {
        let n = self.0[0] as usize;
        VrfKey::from_bytes(&self.0[..1 + n]).expect("route keys hold a valid VRF key")
    }

    /// Decoded parts (keys are checked when built).
    pub fn index(&self) -> RteIndex {
        Self::parse(&self.0)
            .expect("route keys are checked when built")
            .1
    }

    /// Bytes shared by every route of `prefix` in `vrf` (for range lookups).
    pub fn prefix_start(vrf: &VrfKey, prefix: &IpNet) -> Vec<u8> {
        let mut k = vrf.as_bytes().to_vec();
        let (t, d) = addr_bytes(&prefix.addr());
        k.extend_from_slice(&t.to_be_bytes());
        k.push(d.len() as u8);
        k.extend_from_slice(&d);
        k.extend_from_slice(&(prefix.prefix_len() as u32).to_be_bytes());
        k
    }
}

/// mplsL3VpnVrfRteInetCidrType.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum RteType {
    Other = 1,
    Reject = 2,
    Local = 3,
    Remote = 4,
    Blackhole = 5,
}

impl RteType {
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            1 => RteType::Other,
            2 => RteType::Reject,
            3 => RteType::Local,
            4 => RteType::Remote,
            5 => RteType::Blackhole,
            _ => return None,
        })
    }
}

/// A static route configured by an operator (Proto netmgmt).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RteRow {
    /// Outgoing interface, 0 = not specified.
    pub if_index: u32,
    pub rtype: RteType,
    pub next_hop_as: u32,
    /// Metric1..5; -1 = unused.
    pub metrics: [i32; 5],
    pub state: RowState,
    pub ever_active: bool,
    pub times: RowTimes,
}

impl Default for RteRow {
    fn default() -> Self {
        RteRow {
            if_index: 0,
            rtype: RteType::Other,
            next_hop_as: 0,
            metrics: [-1; 5],
            state: RowState::NotReady,
            ever_active: false,
            times: RowTimes::default(),
        }
    }
}

/// Administrative distance of static routes (the best route per prefix has
/// the lowest distance, then the lowest metric).
pub const STATIC_DISTANCE: u32 = 1;

/// Every lower bound a walk of the route table can start from, around the
/// keys given: each key, each key cut short, each key with one octet
/// raised or lowered, and a few odd ones. For tests of "next key after"
/// searches against a sorted map.
#[cfg(test)]
pub(crate) fn walk_bounds<'a>(keys: impl IntoIterator<Item = &'a [u8]>) -> Vec<Vec<u8>> {
    let mut bounds: Vec<Vec<u8>> = vec![vec![], vec![0], vec![255; 40], vec![1, b'a', 9]];
    for b in keys {
        for n in 0..=b.len() {
            bounds.push(b[..n].to_vec());
        }
        for i in 0..b.len() {
            let mut up = b.to_vec();
            up[i] = up[i].wrapping_add(1);
            bounds.push(up);
            let mut down = b.to_vec();
            down[i] = down[i].wrapping_sub(1);
            bounds.push(down);
        }
    }
    bounds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trip_and_checks() {
        let v = VrfKey::new(b"red").unwrap();
        let p: IpNet = "10.1.0.0/16".parse().unwrap();
        let nh: IpAddr = "192.0.2.1".parse().unwrap();
        let k = RteKey::new(&v, p, &[0, 0], Some(nh));
        let (_, idx) = RteKey::parse(k.as_bytes()).unwrap();
        assert_eq!(
            idx,
            RteIndex {
                vrf: v.clone(),
                prefix: p,
                policy: vec![0, 0],
                next_hop: Some(nh)
            }
        );
        assert!(k.as_bytes().starts_with(&RteKey::prefix_start(&v, &p)));
        // host bits set -> inconsistentName
        let bad = RteKey::new(&v, "10.1.0.0/16".parse().unwrap(), &[0, 0], None);
        let mut b = bad.as_bytes().to_vec();
        let pos = 1 + 3 + 4 + 1 + 2; // name, type, len, first two octets
        b[pos] = 1; // 10.1.1.0/16
        assert_eq!(RteKey::parse(&b).unwrap_err(), RteIndexError::Inconsistent);
        // mixed families -> inconsistentName
        let mixed = RteKey::new(&v, "::/0".parse().unwrap(), &[0, 0], Some(nh));
        assert_eq!(
            RteKey::parse(mixed.as_bytes()).unwrap_err(),
            RteIndexError::Inconsistent
        );
        let d6 = RteKey::new(&v, "::/0".parse().unwrap(), &[0, 0], None);
        assert_eq!(
            RteKey::parse(d6.as_bytes()).unwrap().1.prefix,
            "::/0".parse::<IpNet>().unwrap()
        );
    }
}
