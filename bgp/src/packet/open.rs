//! OPEN message (RFC 4271 section 4.2) and capabilities (RFC 5492):
//! multiprotocol (RFC 4760), route refresh (RFC 2918), 4-octet AS (RFC 6793),
//! graceful restart (RFC 4724), extended next hop (RFC 8950); extended
//! optional parameters length (RFC 9072) on receipt.

use super::cursor::Cursor;
use super::error::{code, open, Error};
use super::nlri::FamilySet;
use crate::Family;
use std::net::Ipv4Addr;

/// AS_TRANS (RFC 6793 section 9).
pub const AS_TRANS: u16 = 23456;

const OPT_PARAM_CAPABILITIES: u8 = 2;

pub mod cap {
    pub const MULTIPROTOCOL: u8 = 1;
    pub const ROUTE_REFRESH: u8 = 2;
    pub const EXTENDED_NEXT_HOP: u8 = 5;
    pub const GRACEFUL_RESTART: u8 = 64;
    pub const FOUR_OCTET_AS: u8 = 65;
}

/// The graceful restart capability's content: restart flags, restart time,
/// and (AFI, SAFI, flags) per family.
pub type GracefulRestartCap<'a> = (u8, u16, &'a [(u16, u8, u8)]);

/// One capability (RFC 5492 section 4).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Capability {
    /// RFC 4760 section 8.
    Multiprotocol {
        afi: u16,
        safi: u8,
    },
    /// RFC 2918.
    RouteRefresh,
    /// RFC 6793.
    FourOctetAs(u32),
    /// RFC 4724 section 3: restart flags (the top 4 bits of the 16-bit field:
    /// 0x8 = Restart State, 0x4 = Notification (RFC 8538)), restart time in
    /// seconds, and per family (AFI, SAFI, flags: 0x80 = forwarding preserved).
    GracefulRestart {
        flags: u8,
        time: u16,
        families: Vec<(u16, u8, u8)>,
    },
    /// RFC 8950: (NLRI AFI, NLRI SAFI, next hop AFI).
    ExtendedNextHop(Vec<(u16, u16, u16)>),
    Unknown {
        code: u8,
        value: Vec<u8>,
    },
}

/// An OPEN message.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Open {
    pub version: u8,
    /// My Autonomous System: the 2-octet field (AS_TRANS when the AS needs 4).
    pub my_as: u16,
    pub hold_time: u16,
    pub bgp_id: Ipv4Addr,
    pub capabilities: Vec<Capability>,
    /// Encoding detail: all capabilities in one Optional Parameter (as GoBGP
    /// sends them) rather than one parameter each (as FRR does). Both are
    /// valid (RFC 5492 section 4); kept so that decoded OPENs re-encode to
    /// the same octets.
    pub one_param: bool,
}

fn malformed(field: &'static str) -> Error {
    Error::new(field, code::OPEN, 0, Vec::new())
}

impl Open {
    /// Parses the body of an OPEN (after the 19-octet header). Checks what
    /// needs no session context: version, hold time 1 or 2, BGP Identifier 0,
    /// and the optional parameters' syntax.
    pub fn parse(body: &[u8]) -> Result<Open, Error> {
        let mut c = Cursor::new(body);
        let version = c.u8().ok_or_else(|| malformed("OPEN"))?;
        if version != 4 {
            // RFC 4271 section 6.2: data = the largest supported version.
            return Err(Error::new(
                "OPEN version",
                code::OPEN,
                open::UNSUPPORTED_VERSION,
                vec![0, 4],
            ));
        }
        let my_as = c.u16().ok_or_else(|| malformed("OPEN"))?;
        let hold_time = c.u16().ok_or_else(|| malformed("OPEN"))?;
        let bgp_id = Ipv4Addr::from(c.array::<4>().ok_or_else(|| malformed("OPEN"))?);
        let opt_len = c.u8().ok_or_else(|| malformed("OPEN"))?;
        if hold_time == 1 || hold_time == 2 {
            return Err(Error::new(
                "OPEN hold time",
                code::OPEN,
                open::UNACCEPTABLE_HOLD_TIME,
                Vec::new(),
            ));
        }
        if bgp_id.is_unspecified() {
            return Err(Error::new(
                "OPEN BGP identifier",
                code::OPEN,
                open::BAD_BGP_ID,
                Vec::new(),
            ));
        }
        // RFC 9072: a Non-Ext OP Len of 255 followed by a Non-Ext OP Type of
        // 255 announces 2-octet parameter lengths.
        let extended = opt_len == 255 && c.rest().first() == Some(&255);
        let params = if extended {
            c.u8();
            let len = c
                .u16()
                .ok_or_else(|| malformed("OPEN optional parameters length"))?;
            c.take(len as usize)
                .ok_or_else(|| malformed("OPEN optional parameters length"))?
        } else {
            c.take(opt_len as usize)
                .ok_or_else(|| malformed("OPEN optional parameters length"))?
        };
        if !c.is_empty() {
            return Err(malformed("OPEN optional parameters length"));
        }
        let mut capabilities = Vec::new();
        let mut nparams = 0;
        let mut p = Cursor::new(params);
        while !p.is_empty() {
            nparams += 1;
            let ptype = p.u8().ok_or_else(|| malformed("OPEN optional parameter"))?;
            let plen = if extended {
                p.u16()
            } else {
                p.u8().map(u16::from)
            }
            .ok_or_else(|| malformed("OPEN optional parameter"))?;
            let value = p
                .take(plen as usize)
                .ok_or_else(|| malformed("OPEN optional parameter"))?;
            if ptype != OPT_PARAM_CAPABILITIES {
                return Err(Error::new(
                    "OPEN optional parameter type",
                    code::OPEN,
                    open::UNSUPPORTED_OPT_PARAM,
                    Vec::new(),
                ));
            }
            parse_capabilities(value, &mut capabilities)?;
        }
        let one_param = nparams == 1 && capabilities.len() > 1;
        Ok(Open {
            version,
            my_as,
            hold_time,
            bgp_id,
            capabilities,
            one_param,
        })
    }

    /// Appends the OPEN body.
    pub fn emit_body(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        let mut caps = Vec::new();
        let mut start = 0;
        for (i, c) in self.capabilities.iter().enumerate() {
            if i == 0 || !self.one_param {
                start = caps.len();
                caps.extend_from_slice(&[OPT_PARAM_CAPABILITIES, 0]);
            }
            c.emit(&mut caps);
            let plen = caps.len() - start - 2;
            caps[start + 1] = plen.min(255) as u8;
        }
        out.push(caps.len().min(255) as u8);
        out.extend_from_slice(&caps);
    }

    /// The speaker's AS: the 4-octet AS capability if present (RFC 6793
    /// section 4.1), else My Autonomous System.
    pub fn asn(&self) -> u32 {
        self.four_octet_as().unwrap_or(self.my_as as u32)
    }

    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs(a) => Some(*a),
            _ => None,
        })
    }

    /// Families of the multiprotocol capabilities. Without any, IPv4 unicast
    /// (RFC 4760 section 8).
    pub fn families(&self) -> FamilySet {
        let mut any = false;
        let mut set = FamilySet::EMPTY;
        for c in &self.capabilities {
            if let Capability::Multiprotocol { afi, safi } = c {
                any = true;
                if let Some(f) = Family::from_afi_safi(*afi, *safi) {
                    set.insert(f);
                }
            }
        }
        if !any {
            set.insert(Family::Ipv4Unicast);
        }
        set
    }

    pub fn route_refresh(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::RouteRefresh))
    }

    pub fn graceful_restart(&self) -> Option<GracefulRestartCap<'_>> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart {
                flags,
                time,
                families,
            } => Some((*flags, *time, families.as_slice())),
            _ => None,
        })
    }

    /// Whether the speaker accepts IPv6 next hops for `family` (RFC 8950).
    pub fn extended_next_hop(&self, family: Family) -> bool {
        let (afi, safi) = family.afi_safi();
        self.capabilities.iter().any(|c| match c {
            Capability::ExtendedNextHop(v) => v
                .iter()
                .any(|&(a, s, nh)| a == afi && s == safi as u16 && nh == 2),
            _ => false,
        })
    }
}

fn parse_capabilities(buf: &[u8], out: &mut Vec<Capability>) -> Result<(), Error> {
    let mut c = Cursor::new(buf);
    while !c.is_empty() {
        let code = c.u8().ok_or_else(|| malformed("capability"))?;
        let len = c.u8().ok_or_else(|| malformed("capability"))?;
        let value = c
            .take(len as usize)
            .ok_or_else(|| malformed("capability length"))?;
        let mut v = Cursor::new(value);
        let capability = match code {
            cap::MULTIPROTOCOL => {
                if len != 4 {
                    return Err(malformed("multiprotocol capability length"));
                }
                let afi = v
                    .u16()
                    .ok_or_else(|| malformed("multiprotocol capability"))?;
                v.u8();
                let safi = v
                    .u8()
                    .ok_or_else(|| malformed("multiprotocol capability"))?;
                Capability::Multiprotocol { afi, safi }
            }
            cap::ROUTE_REFRESH => Capability::RouteRefresh,
            cap::FOUR_OCTET_AS => {
                if len != 4 {
                    return Err(malformed("4-octet AS capability length"));
                }
                Capability::FourOctetAs(v.u32().ok_or_else(|| malformed("4-octet AS"))?)
            }
            cap::GRACEFUL_RESTART => {
                if len < 2 || (len - 2) % 4 != 0 {
                    return Err(malformed("graceful restart capability length"));
                }
                let word = v.u16().ok_or_else(|| malformed("graceful restart"))?;
                let mut families = Vec::new();
                while let (Some(afi), Some(safi), Some(flags)) = (v.u16(), v.u8(), v.u8()) {
                    families.push((afi, safi, flags));
                }
                Capability::GracefulRestart {
                    flags: (word >> 12) as u8,
                    time: word & 0x0fff,
                    families,
                }
            }
            cap::EXTENDED_NEXT_HOP => {
                if len % 6 != 0 {
                    return Err(malformed("extended next hop capability length"));
                }
                let mut v6 = Vec::new();
                while let (Some(a), Some(s), Some(nh)) = (v.u16(), v.u16(), v.u16()) {
                    v6.push((a, s, nh));
                }
                Capability::ExtendedNextHop(v6)
            }
            _ => Capability::Unknown {
                code,
                value: value.to_vec(),
            },
        };
        out.push(capability);
    }
    Ok(())
}

impl Capability {
    fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        match self {
            Capability::Multiprotocol { afi, safi } => {
                out.extend_from_slice(&[cap::MULTIPROTOCOL, 4]);
                out.extend_from_slice(&afi.to_be_bytes());
                out.extend_from_slice(&[0, *safi]);
            }
            Capability::RouteRefresh => out.extend_from_slice(&[cap::ROUTE_REFRESH, 0]),
            Capability::FourOctetAs(a) => {
                out.extend_from_slice(&[cap::FOUR_OCTET_AS, 4]);
                out.extend_from_slice(&a.to_be_bytes());
            }
            Capability::GracefulRestart {
                flags,
                time,
                families,
            } => {
                out.extend_from_slice(&[cap::GRACEFUL_RESTART, 0]);
                let word = ((*flags as u16) << 12) | (time & 0x0fff);
                out.extend_from_slice(&word.to_be_bytes());
                for (afi, safi, f) in families {
                    out.extend_from_slice(&afi.to_be_bytes());
                    out.extend_from_slice(&[*safi, *f]);
                }
            }
            Capability::ExtendedNextHop(v) => {
                out.extend_from_slice(&[cap::EXTENDED_NEXT_HOP, 0]);
                for (a, s, nh) in v {
                    out.extend_from_slice(&a.to_be_bytes());
                    out.extend_from_slice(&s.to_be_bytes());
                    out.extend_from_slice(&nh.to_be_bytes());
                }
            }
            Capability::Unknown { code, value } => {
                out.extend_from_slice(&[*code, 0]);
                out.extend_from_slice(value);
            }
        }
        let len = out.len() - start - 2;
        out[start + 1] = len.min(255) as u8;
    }
}
