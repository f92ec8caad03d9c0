//! Route distinguishers (RFC 4364 section 4.2) and route targets (RFC 4360
//! section 4, RFC 5668), with the text form the management model uses:
//! `ASN:nn` (type 0, 2-octet ASN), `A.B.C.D:nn` (type 1), `ASN:nn` with a
//! 4-octet ASN (type 2; `ASNL:nn` forces type 2 for a small ASN).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;

/// An RD or RT value: administrator subfield and assigned number, by type.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Debug)]
pub enum RouteDistinguisher {
    /// Type 0: 2-octet ASN, 4-octet number.
    As2 { asn: u16, nn: u32 },
    /// Type 1: IPv4 address, 2-octet number.
    Ip { addr: [u8; 4], nn: u16 },
    /// Type 2: 4-octet ASN, 2-octet number.
    As4 { asn: u32, nn: u16 },
}

impl RouteDistinguisher {
    /// Parse the text form; `None` for anything else.
    pub fn parse_text(s: &str) -> Option<Self> {
        let (admin, nn) = s.split_once(':')?;
        let nn_ok = !nn.is_empty() && nn.len() <= 10 && nn.bytes().all(|b| b.is_ascii_digit());
        if !nn_ok {
            return None;
        }
        let nn: u64 = nn.parse().ok()?;
        if admin.contains('.') {
            let addr: Ipv4Addr = admin.parse().ok()?;
            return Some(RouteDistinguisher::Ip {
                addr: addr.octets(),
                nn: u16::try_from(nn).ok()?,
            });
        }
        let (digits, force4) = match admin.strip_suffix('L') {
            Some(d) => (d, true),
            None => (admin, false),
        };
        if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let asn: u64 = digits.parse().ok()?;
        let asn = u32::try_from(asn).ok()?;
        if !force4 && asn <= u16::MAX as u32 {
            Some(RouteDistinguisher::As2 {
                asn: asn as u16,
                nn: u32::try_from(nn).ok()?,
            })
        } else {
            Some(RouteDistinguisher::As4 {
                asn,
                nn: u16::try_from(nn).ok()?,
            })
        }
    }

    /// The 8 octets of an RD (RFC 4364 section 4.2): 2-octet type, 6-octet value.
    pub fn to_rd_bytes(&self) -> [u8; 8] {
        self.encode(0x00)
    }

    /// Parse the 8 octets of an RD.
    pub fn from_rd_bytes(b: &[u8]) -> Option<Self> {
        let b: &[u8; 8] = b.try_into().ok()?;
        match (b[0], b[1]) {
            (0, t) => Self::decode(t, b),
            _ => None,
        }
    }

    /// The 8 octets of a route-target extended community (RFC 4360 section 4,
    /// RFC 5668): type 0x00/0x01/0x02, sub-type 0x02.
    pub fn to_rt_bytes(&self) -> [u8; 8] {
        let mut b = self.encode(0);
        // encode() put the RD type in octet 1; for a community it is octet 0.
        b[0] = b[1];
        b[1] = 0x02;
        b
    }

    /// Parse the 8 octets of a route-target extended community.
    pub fn from_rt_bytes(b: &[u8]) -> Option<Self> {
        let b: &[u8; 8] = b.try_into().ok()?;
        if b[1] != 0x02 {
            return None;
        }
        Self::decode(b[0], b)
    }

    fn encode(&self, _hi: u8) -> [u8; 8] {
        let mut b = [0u8; 8];
        match *self {
            RouteDistinguisher::As2 { asn, nn } => {
                b[1] = 0;
                b[2..4].copy_from_slice(&asn.to_be_bytes());
                b[4..8].copy_from_slice(&nn.to_be_bytes());
            }
            RouteDistinguisher::Ip { addr, nn } => {
                b[1] = 1;
                b[2..6].copy_from_slice(&addr);
                b[6..8].copy_from_slice(&nn.to_be_bytes());
            }
            RouteDistinguisher::As4 { asn, nn } => {
                b[1] = 2;
                b[2..6].copy_from_slice(&asn.to_be_bytes());
                b[6..8].copy_from_slice(&nn.to_be_bytes());
            }
        }
        b
    }

    fn decode(t: u8, b: &[u8; 8]) -> Option<Self> {
        match t {
            0 => Some(RouteDistinguisher::As2 {
                asn: u16::from_be_bytes([b[2], b[3]]),
                nn: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            }),
            1 => Some(RouteDistinguisher::Ip {
                addr: [b[2], b[3], b[4], b[5]],
                nn: u16::from_be_bytes([b[6], b[7]]),
            }),
            2 => Some(RouteDistinguisher::As4 {
                asn: u32::from_be_bytes([b[2], b[3], b[4], b[5]]),
                nn: u16::from_be_bytes([b[6], b[7]]),
            }),
            _ => None,
        }
    }
}

impl fmt::Display for RouteDistinguisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RouteDistinguisher::As2 { asn, nn } => write!(f, "{asn}:{nn}"),
            RouteDistinguisher::Ip { addr, nn } => write!(f, "{}:{nn}", Ipv4Addr::from(addr)),
            RouteDistinguisher::As4 { asn, nn } if asn <= u16::MAX as u32 => {
                write!(f, "{asn}L:{nn}")
            }
            RouteDistinguisher::As4 { asn, nn } => write!(f, "{asn}:{nn}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        let cases = [
            ("65000:1", RouteDistinguisher::As2 { asn: 65000, nn: 1 }),
            (
                "0:4294967295",
                RouteDistinguisher::As2 {
                    asn: 0,
                    nn: u32::MAX,
                },
            ),
            (
                "10.0.0.1:65535",
                RouteDistinguisher::Ip {
                    addr: [10, 0, 0, 1],
                    nn: 65535,
                },
            ),
            (
                "4200000000:7",
                RouteDistinguisher::As4 {
                    asn: 4_200_000_000,
                    nn: 7,
                },
            ),
            ("100L:7", RouteDistinguisher::As4 { asn: 100, nn: 7 }),
        ];
        for (s, rd) in cases {
            assert_eq!(RouteDistinguisher::parse_text(s), Some(rd), "{s}");
            assert_eq!(rd.to_string(), s);
        }
        for bad in [
            "",
            ":",
            "65000",
            "65000:",
            ":1",
            "a:1",
            "65000:-1",
            "65000: 1",
            "+1:1",
            "1:1:1",
            "4200000000:65536",
            "10.0.0.1:65536",
            "10.0.0:1",
            "4294967296:1",
            "65000:4294967296",
            "300.0.0.1:1",
        ] {
            assert_eq!(RouteDistinguisher::parse_text(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn binary_forms() {
        let rd = RouteDistinguisher::As2 { asn: 65000, nn: 1 };
        assert_eq!(rd.to_rd_bytes(), [0, 0, 0xfd, 0xe8, 0, 0, 0, 1]);
        assert_eq!(rd.to_rt_bytes(), [0, 2, 0xfd, 0xe8, 0, 0, 0, 1]);
        let ip = RouteDistinguisher::Ip {
            addr: [192, 0, 2, 1],
            nn: 9,
        };
        assert_eq!(ip.to_rd_bytes(), [0, 1, 192, 0, 2, 1, 0, 9]);
        assert_eq!(ip.to_rt_bytes(), [1, 2, 192, 0, 2, 1, 0, 9]);
        let a4 = RouteDistinguisher::As4 {
            asn: 4_200_000_000,
            nn: 3,
        };
        for v in [rd, ip, a4] {
            assert_eq!(RouteDistinguisher::from_rd_bytes(&v.to_rd_bytes()), Some(v));
            assert_eq!(RouteDistinguisher::from_rt_bytes(&v.to_rt_bytes()), Some(v));
        }
        assert_eq!(
            RouteDistinguisher::from_rd_bytes(&[0, 3, 0, 0, 0, 0, 0, 0]),
            None
        );
        assert_eq!(
            RouteDistinguisher::from_rd_bytes(&[1, 0, 0, 0, 0, 0, 0, 0]),
            None
        );
        assert_eq!(
            RouteDistinguisher::from_rt_bytes(&[0, 3, 0, 0, 0, 0, 0, 0]),
            None
        );
        assert_eq!(RouteDistinguisher::from_rd_bytes(&[0, 0, 0]), None);
    }
}
