//! NLRI encodings: IPv4/IPv6 prefixes (RFC 4271 section 4.3, RFC 4760
//! section 5) and labelled VPN-IPv4/VPN-IPv6 prefixes (RFC 4364 section 4.3.4,
//! RFC 4659 section 3.2, RFC 8277 section 2.2: one label, no Multiple Labels
//! capability).

use super::cursor::Cursor;
use super::error::{update, Error};
use crate::{Family, Rd, RouteKey};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{Ipv4Addr, Ipv6Addr};

pub const AFI_IPV4: u16 = 1;
pub const AFI_IPV6: u16 = 2;
pub const SAFI_UNICAST: u8 = 1;
pub const SAFI_MPLS_VPN: u8 = 128;

/// Bits of a label field (RFC 8277 section 2.2: 20-bit label, 3 TC bits,
/// bottom-of-stack bit).
const LABEL_BITS: u8 = 24;
const RD_BITS: u8 = 64;
/// The label value sent in withdrawals (RFC 8277 section 2.4).
pub const WITHDRAW_LABEL_FIELD: [u8; 3] = [0x80, 0x00, 0x00];
/// The 20-bit value decoded from [`WITHDRAW_LABEL_FIELD`].
pub const WITHDRAW_LABEL: u32 = 0x80000;

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Ipv4Unicast,
        Family::Ipv6Unicast,
        Family::Vpnv4,
        Family::Vpnv6,
    ];

    /// RFC 4760 AFI and SAFI of the family.
    pub fn afi_safi(self) -> (u16, u8) {
        match self {
            Family::Ipv4Unicast => (AFI_IPV4, SAFI_UNICAST),
            Family::Ipv6Unicast => (AFI_IPV6, SAFI_UNICAST),
            Family::Vpnv4 => (AFI_IPV4, SAFI_MPLS_VPN),
            Family::Vpnv6 => (AFI_IPV6, SAFI_MPLS_VPN),
        }
    }

    pub fn from_afi_safi(afi: u16, safi: u8) -> Option<Family> {
        match (afi, safi) {
            (AFI_IPV4, SAFI_UNICAST) => Some(Family::Ipv4Unicast),
            (AFI_IPV6, SAFI_UNICAST) => Some(Family::Ipv6Unicast),
            (AFI_IPV4, SAFI_MPLS_VPN) => Some(Family::Vpnv4),
            (AFI_IPV6, SAFI_MPLS_VPN) => Some(Family::Vpnv6),
            _ => None,
        }
    }

    pub fn is_vpn(self) -> bool {
        matches!(self, Family::Vpnv4 | Family::Vpnv6)
    }

    pub fn is_ipv6(self) -> bool {
        matches!(self, Family::Ipv6Unicast | Family::Vpnv6)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl RouteKey {
    /// The address family a key belongs to.
    pub fn family(&self) -> Family {
        match self {
            RouteKey::Unicast(IpNet::V4(_)) => Family::Ipv4Unicast,
            RouteKey::Unicast(IpNet::V6(_)) => Family::Ipv6Unicast,
            RouteKey::Vpn(_, IpNet::V4(_)) => Family::Vpnv4,
            RouteKey::Vpn(_, IpNet::V6(_)) => Family::Vpnv6,
        }
    }

    pub fn prefix(&self) -> IpNet {
        match self {
            RouteKey::Unicast(p) | RouteKey::Vpn(_, p) => *p,
        }
    }
}

/// A set of families (negotiated, configured).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct FamilySet(u8);

impl FamilySet {
    pub const EMPTY: FamilySet = FamilySet(0);

    pub fn contains(self, f: Family) -> bool {
        self.0 & f.bit() != 0
    }

    pub fn insert(&mut self, f: Family) {
        self.0 |= f.bit();
    }

    pub fn intersection(self, other: FamilySet) -> FamilySet {
        FamilySet(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Family> {
        Family::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Family> for FamilySet {
    fn from_iter<I: IntoIterator<Item = Family>>(iter: I) -> Self {
        let mut s = FamilySet::EMPTY;
        for f in iter {
            s.insert(f);
        }
        s
    }
}

/// One route of an UPDATE: its key and, for labelled families, the label
/// (20-bit value, RFC 8277).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Nlri {
    pub key: RouteKey,
    pub label: Option<u32>,
}

fn invalid(field: &'static str) -> Error {
    Error::update(field, update::INVALID_NETWORK, Vec::new())
}

fn v4_prefix(bytes: &[u8], len: u8) -> Option<Ipv4Net> {
    let mut a = [0u8; 4];
    a.get_mut(..bytes.len())?.copy_from_slice(bytes);
    Ipv4Net::new(Ipv4Addr::from(a), len).ok().map(|n| n.trunc())
}

fn v6_prefix(bytes: &[u8], len: u8) -> Option<Ipv6Net> {
    let mut a = [0u8; 16];
    a.get_mut(..bytes.len())?.copy_from_slice(bytes);
    Ipv6Net::new(Ipv6Addr::from(a), len).ok().map(|n| n.trunc())
}

/// Parses a run of NLRI of `family` (the NLRI or Withdrawn Routes field, or
/// the NLRI part of MP_(UN)REACH_NLRI) and appends them to `out`. Any syntax
/// error is an Invalid Network Field (RFC 7606 section 5.3: session reset).
pub fn parse_nlri(buf: &[u8], family: Family, out: &mut Vec<Nlri>) -> Result<(), Error> {
    let mut c = Cursor::new(buf);
    let max_bits: u8 = if family.is_ipv6() { 128 } else { 32 };
    while let Some(bits) = c.u8() {
        let nlri = if family.is_vpn() {
            // RFC 8277 section 2.2: length counts label + RD + prefix bits.
            let prefix_bits = bits
                .checked_sub(LABEL_BITS + RD_BITS)
                .filter(|b| *b <= max_bits)
                .ok_or_else(|| invalid("VPN NLRI length"))?;
            let bytes = c
                .take(bits.div_ceil(8) as usize)
                .ok_or_else(|| invalid("VPN NLRI"))?;
            let (label, rest) = bytes.split_at(3);
            let (rd, addr) = rest.split_at(8);
            let label = u32::from_be_bytes([0, label[0], label[1], label[2]]) >> 4;
            let mut rdv: Rd = [0; 8];
            rdv.copy_from_slice(rd);
            let prefix = if family.is_ipv6() {
                IpNet::V6(v6_prefix(addr, prefix_bits).ok_or_else(|| invalid("VPN NLRI"))?)
            } else {
                IpNet::V4(v4_prefix(addr, prefix_bits).ok_or_else(|| invalid("VPN NLRI"))?)
            };
            Nlri {
                key: RouteKey::Vpn(rdv, prefix),
                label: Some(label),
            }
        } else {
            if bits > max_bits {
                return Err(invalid("prefix length"));
            }
            let bytes = c
                .take(bits.div_ceil(8) as usize)
                .ok_or_else(|| invalid("prefix"))?;
            let prefix = if family.is_ipv6() {
                IpNet::V6(v6_prefix(bytes, bits).ok_or_else(|| invalid("prefix"))?)
            } else {
                IpNet::V4(v4_prefix(bytes, bits).ok_or_else(|| invalid("prefix"))?)
            };
            Nlri {
                key: RouteKey::Unicast(prefix),
                label: None,
            }
        };
        out.push(nlri);
    }
    Ok(())
}

/// Octets `nlri` takes on the wire.
pub fn nlri_len(nlri: &Nlri) -> usize {
    let p = nlri.key.prefix();
    let extra = if matches!(nlri.key, RouteKey::Vpn(..)) {
        11
    } else {
        0
    };
    1 + extra + (p.prefix_len() as usize).div_ceil(8)
}

/// Appends `nlri` in its wire form; a withdrawal of a VPN route carries the
/// compatibility label 0x800000 (RFC 8277 section 2.4).
pub fn emit_nlri(nlri: &Nlri, withdraw: bool, out: &mut Vec<u8>) {
    let p = nlri.key.prefix();
    let plen = p.prefix_len();
    let nbytes = (plen as usize).div_ceil(8);
    if let RouteKey::Vpn(rd, _) = &nlri.key {
        out.push(plen + LABEL_BITS + RD_BITS);
        match nlri.label {
            // A withdrawal without a label, or with the compatibility value
            // decoded from one.
            None | Some(WITHDRAW_LABEL) if withdraw => out.extend_from_slice(&WITHDRAW_LABEL_FIELD),
            label => {
                let l = ((label.unwrap_or(0) & 0xf_ffff) << 4) | 1;
                out.extend_from_slice(&l.to_be_bytes()[1..]);
            }
        }
        out.extend_from_slice(rd);
    } else {
        out.push(plen);
    }
    match p {
        IpNet::V4(n) => out.extend_from_slice(&n.addr().octets()[..nbytes]),
        IpNet::V6(n) => out.extend_from_slice(&n.addr().octets()[..nbytes]),
    }
}
