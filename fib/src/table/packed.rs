//! A route's value packed for storage: next hop kind, label stack (RFC
//! 3032 labels are 20 bits: three fit with the kind and the depth in 64
//! bits), gateway of the prefix's family, ifindex and metric. 20 bytes for
//! an IPv4 route, 32 for an IPv6 one, against 44 unpacked.
//!
//! What does not pack (a gateway of the other family, a label above 20
//! bits, a cut stack) is stored unpacked by the caller.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::check::MAX_LABEL;
use crate::{Labels, NextHop, StoredRoute};

/// The gateway address type of a family.
pub(super) trait Gateway: Copy {
    const NONE: Self;
    fn from_ip(a: IpAddr) -> Option<Self>;
    fn to_ip(self) -> IpAddr;
}

impl Gateway for Ipv4Addr {
    const NONE: Ipv4Addr = Ipv4Addr::UNSPECIFIED;
    fn from_ip(a: IpAddr) -> Option<Ipv4Addr> {
        match a {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        }
    }
    fn to_ip(self) -> IpAddr {
        IpAddr::V4(self)
    }
}

impl Gateway for Ipv6Addr {
    const NONE: Ipv6Addr = Ipv6Addr::UNSPECIFIED;
    fn from_ip(a: IpAddr) -> Option<Ipv6Addr> {
        match a {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        }
    }
    fn to_ip(self) -> IpAddr {
        IpAddr::V6(self)
    }
}

const VIA: u64 = 0;
const DEV: u64 = 1;
const BLACKHOLE: u64 = 2;
const REJECT: u64 = 3;
/// Bits 0-1 the next hop kind, 2-3 the number of labels, then 20 bits per
/// label from bit 4, outermost first.
const LABEL_BITS: u32 = 20;
const FIRST_LABEL_BIT: u32 = 4;

/// A packed route value with a gateway of type `G` (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Packed<G> {
    /// Kind, depth and labels as a u64 in two halves (keeps the alignment,
    /// and so the size, at 4).
    bits: [u32; 2],
    gateway: G,
    ifindex: u32,
    metric: u32,
}

const _: () = assert!(Labels::CAPACITY == 3 && FIRST_LABEL_BIT + 3 * LABEL_BITS <= 64);

impl<G: Gateway> Packed<G> {
    /// `None` when the route does not pack (module docs).
    pub(super) fn pack(r: &StoredRoute) -> Option<Packed<G>> {
        if r.labels.is_truncated() || r.labels.iter().any(|l| *l > MAX_LABEL) {
            return None;
        }
        let (kind, gateway, ifindex) = match r.nexthop {
            NextHop::Via { addr, ifindex } => (VIA, G::from_ip(addr)?, ifindex),
            NextHop::Dev { ifindex } => (DEV, G::NONE, ifindex),
            NextHop::Blackhole => (BLACKHOLE, G::NONE, 0),
            NextHop::Reject => (REJECT, G::NONE, 0),
        };
        let mut bits = kind | (r.labels.len() as u64) << 2;
        for (i, l) in r.labels.iter().enumerate() {
            bits |= u64::from(*l) << (FIRST_LABEL_BIT + LABEL_BITS * i as u32);
        }
        Some(Packed {
            bits: [bits as u32, (bits >> 32) as u32],
            gateway,
            ifindex,
            metric: r.metric,
        })
    }

    pub(super) fn unpack(&self) -> StoredRoute {
        let bits = u64::from(self.bits[0]) | u64::from(self.bits[1]) << 32;
        let nexthop = match bits & 3 {
            VIA => NextHop::Via {
                addr: self.gateway.to_ip(),
                ifindex: self.ifindex,
            },
            DEV => NextHop::Dev {
                ifindex: self.ifindex,
            },
            BLACKHOLE => NextHop::Blackhole,
            _ => NextHop::Reject,
        };
        let depth = ((bits >> 2) & 3) as u32;
        let mask = (1u64 << LABEL_BITS) - 1;
        let labels = (0..depth)
            .map(|i| ((bits >> (FIRST_LABEL_BIT + LABEL_BITS * i)) & mask) as u32)
            .collect();
        StoredRoute {
            nexthop,
            metric: self.metric,
            labels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(nexthop: NextHop, metric: u32, labels: &[u32]) -> StoredRoute {
        StoredRoute {
            nexthop,
            metric,
            labels: labels.into(),
        }
    }

    #[test]
    fn packs_and_unpacks_every_kind() {
        assert_eq!(std::mem::size_of::<Packed<Ipv4Addr>>(), 20);
        assert_eq!(std::mem::size_of::<Packed<Ipv6Addr>>(), 32);
        let v4 = "192.0.2.1".parse().unwrap();
        let v6 = "2001:db8::1".parse().unwrap();
        let cases = [
            stored(
                NextHop::Via {
                    addr: v4,
                    ifindex: 0,
                },
                200,
                &[16],
            ),
            stored(
                NextHop::Via {
                    addr: v4,
                    ifindex: u32::MAX,
                },
                u32::MAX,
                &[MAX_LABEL, 0, 1_000_000],
            ),
            stored(NextHop::Dev { ifindex: 7 }, 0, &[]),
            stored(NextHop::Blackhole, 5, &[17, 18]),
            stored(NextHop::Reject, 4_278_198_272, &[]),
        ];
        for r in &cases {
            let p = Packed::<Ipv4Addr>::pack(r).unwrap();
            assert_eq!(&p.unpack(), r);
        }
        let r6 = stored(
            NextHop::Via {
                addr: v6,
                ifindex: 3,
            },
            1024,
            &[100],
        );
        assert_eq!(Packed::<Ipv6Addr>::pack(&r6).unwrap().unpack(), r6);
    }

    #[test]
    fn what_does_not_pack_says_so() {
        let v6 = "2001:db8::1".parse().unwrap();
        let other_family = stored(
            NextHop::Via {
                addr: v6,
                ifindex: 0,
            },
            0,
            &[],
        );
        assert!(Packed::<Ipv4Addr>::pack(&other_family).is_none());
        let wide = stored(NextHop::Blackhole, 0, &[MAX_LABEL + 1]);
        assert!(Packed::<Ipv4Addr>::pack(&wide).is_none());
        let cut = stored(NextHop::Blackhole, 0, &[16, 17, 18, 19]);
        assert!(Packed::<Ipv4Addr>::pack(&cut).is_none());
    }
}
