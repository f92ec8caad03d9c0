//! Path attributes (RFC 4271 section 4.3 and 5, RFC 1997, RFC 4360, RFC 4456,
//! RFC 4760, RFC 6793) with the revised error handling of RFC 7606: every
//! malformed attribute yields an [`AttrError`] saying whether the UPDATE's
//! routes are treated as withdrawn, the attribute is discarded, or the
//! session is reset.

use super::cursor::Cursor;
use super::error::{update, Error};
use super::open::AS_TRANS;
use super::SessionCtx;
use crate::{AsSegment, PathAttrs};
use std::net::{IpAddr, Ipv4Addr};

pub mod flag {
    pub const OPTIONAL: u8 = 0x80;
    pub const TRANSITIVE: u8 = 0x40;
    pub const PARTIAL: u8 = 0x20;
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// Attribute type codes.
pub mod ty {
    pub const ORIGIN: u8 = 1;
    pub const AS_PATH: u8 = 2;
    pub const NEXT_HOP: u8 = 3;
    pub const MED: u8 = 4;
    pub const LOCAL_PREF: u8 = 5;
    pub const ATOMIC_AGGREGATE: u8 = 6;
    pub const AGGREGATOR: u8 = 7;
    pub const COMMUNITIES: u8 = 8;
    pub const ORIGINATOR_ID: u8 = 9;
    pub const CLUSTER_LIST: u8 = 10;
    pub const MP_REACH_NLRI: u8 = 14;
    pub const MP_UNREACH_NLRI: u8 = 15;
    pub const EXT_COMMUNITIES: u8 = 16;
    pub const AS4_PATH: u8 = 17;
    pub const AS4_AGGREGATOR: u8 = 18;
}

const AS_SET: u8 = 1;
const AS_SEQUENCE: u8 = 2;

/// What RFC 7606 says to do with a malformed attribute.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Section 2: the UPDATE's routes are withdrawn, the session stays up.
    TreatAsWithdraw,
    /// Section 2: the attribute is ignored.
    Discard,
    /// The session is reset with the NOTIFICATION in the error.
    SessionReset,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AttrError {
    pub action: Action,
    pub type_code: u8,
    pub error: Error,
}

/// The (optional, transitive) flag bits an attribute we know must carry.
fn expected_flags(type_code: u8) -> Option<u8> {
    use flag::*;
    Some(match type_code {
        ty::ORIGIN | ty::AS_PATH | ty::NEXT_HOP | ty::LOCAL_PREF | ty::ATOMIC_AGGREGATE => {
            TRANSITIVE
        }
        ty::MED
        | ty::ORIGINATOR_ID
        | ty::CLUSTER_LIST
        | ty::MP_REACH_NLRI
        | ty::MP_UNREACH_NLRI => OPTIONAL,
        ty::AGGREGATOR
        | ty::COMMUNITIES
        | ty::EXT_COMMUNITIES
        | ty::AS4_PATH
        | ty::AS4_AGGREGATOR => OPTIONAL | TRANSITIVE,
        _ => return None,
    })
}

/// RFC 7606 section 7: the approach for a malformed attribute of each type.
fn action_for(type_code: u8) -> Action {
    match type_code {
        ty::ORIGIN
        | ty::AS_PATH
        | ty::NEXT_HOP
        | ty::MED
        | ty::LOCAL_PREF
        | ty::COMMUNITIES
        | ty::ORIGINATOR_ID
        | ty::CLUSTER_LIST
        | ty::EXT_COMMUNITIES => Action::TreatAsWithdraw,
        ty::ATOMIC_AGGREGATE | ty::AGGREGATOR | ty::AS4_PATH | ty::AS4_AGGREGATOR => {
            Action::Discard
        }
        _ => Action::SessionReset,
    }
}

/// The octets of one attribute as received (for NOTIFICATION data).
pub(crate) fn raw_attr(flags: u8, type_code: u8, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(value.len() + 4);
    v.push(flags);
    v.push(type_code);
    if flags & flag::EXTENDED_LENGTH != 0 {
        v.extend_from_slice(&(value.len() as u16).to_be_bytes());
    } else {
        v.push(value.len() as u8);
    }
    v.extend_from_slice(value);
    v
}

/// Attributes collected while parsing one UPDATE, before AS4 merging.
#[derive(Default)]
pub(crate) struct Collected {
    pub attrs: PathAttrs,
    pub seen: [u64; 4],
    pub nlri_next_hop: Option<Ipv4Addr>,
    pub as4_path: Option<Vec<AsSegment>>,
    pub as4_aggregator: Option<(u32, Ipv4Addr)>,
}

impl Collected {
    /// Records that `type_code` was seen; false if it was seen before.
    pub fn first_time(&mut self, type_code: u8) -> bool {
        let (w, b) = ((type_code >> 6) as usize, type_code & 63);
        let was = self.seen[w] & (1 << b) != 0;
        self.seen[w] |= 1 << b;
        !was
    }

    pub fn has(&self, type_code: u8) -> bool {
        let (w, b) = ((type_code >> 6) as usize, type_code & 63);
        self.seen[w] & (1 << b) != 0
    }

    /// RFC 6793 section 4.2.3: rebuild the 4-octet path from AS_PATH and
    /// AS4_PATH (sessions without the 4-octet AS capability).
    pub fn merge_as4(&mut self) {
        let as4_path = self.as4_path.take();
        let as4_aggr = self.as4_aggregator.take();
        if let Some((asn, _)) = self.attrs.aggregator {
            if asn != AS_TRANS as u32 {
                // The aggregator was a 2-octet speaker: AS4_* are ignored.
                return;
            }
            if let Some(a) = as4_aggr {
                self.attrs.aggregator = Some(a);
            }
        }
        let Some(as4) = as4_path else { return };
        let n = path_len(&self.attrs.as_path);
        let n4 = path_len(&as4);
        if n < n4 {
            return;
        }
        // Keep the leading (n - n4) ASes of AS_PATH, then AS4_PATH.
        let mut keep = n - n4;
        let mut merged = Vec::new();
        for seg in &self.attrs.as_path {
            if keep == 0 {
                break;
            }
            match seg {
                AsSegment::Sequence(v) => {
                    let take = keep.min(v.len());
                    merged.push(AsSegment::Sequence(v[..take].to_vec()));
                    keep -= take;
                }
                AsSegment::Set(v) => {
                    merged.push(AsSegment::Set(v.clone()));
                    keep -= 1;
                }
            }
        }
        merged.extend(as4);
        self.attrs.as_path = merged;
    }
}

/// AS_PATH length for best-path selection (RFC 4271 9.1.2.2: a set counts 1).
pub fn path_len(path: &[AsSegment]) -> usize {
    path.iter()
        .map(|s| match s {
            AsSegment::Sequence(v) => v.len(),
            AsSegment::Set(_) => 1,
        })
        .sum()
}

fn err(
    action: Action,
    type_code: u8,
    field: &'static str,
    subcode: u8,
    data: Vec<u8>,
) -> AttrError {
    AttrError {
        action,
        type_code,
        error: Error::update(field, subcode, data),
    }
}

fn parse_as_path(value: &[u8], four: bool) -> Option<Vec<AsSegment>> {
    let mut c = Cursor::new(value);
    let mut segs = Vec::new();
    while !c.is_empty() {
        let t = c.u8()?;
        let n = c.u8()? as usize;
        if n == 0 {
            return None;
        }
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(if four { c.u32()? } else { c.u16()? as u32 });
        }
        segs.push(match t {
            AS_SET => AsSegment::Set(v),
            AS_SEQUENCE => AsSegment::Sequence(v),
            // AS_CONFED_* (RFC 5065): we are not in a confederation.
            _ => return None,
        });
    }
    Some(segs)
}

/// Parses one attribute other than MP_REACH/MP_UNREACH into `col`.
pub(crate) fn parse_attr(
    flags: u8,
    type_code: u8,
    value: &[u8],
    ctx: &SessionCtx,
    col: &mut Collected,
) -> Result<(), AttrError> {
    let a = &mut col.attrs;
    let action = action_for(type_code);
    let raw = || raw_attr(flags, type_code, value);
    if let Some(expected) = expected_flags(type_code) {
        if flags & (flag::OPTIONAL | flag::TRANSITIVE) != expected {
            return Err(err(
                action,
                type_code,
                "attribute flags",
                update::ATTR_FLAGS,
                raw(),
            ));
        }
    }
    let len_err = |field| err(action, type_code, field, update::ATTR_LENGTH, raw());
    match type_code {
        ty::ORIGIN => {
            if value.len() != 1 {
                return Err(len_err("ORIGIN length"));
            }
            if value[0] > 2 {
                return Err(err(
                    action,
                    type_code,
                    "ORIGIN",
                    update::INVALID_ORIGIN,
                    raw(),
                ));
            }
            a.origin = value[0];
        }
        ty::AS_PATH => {
            let path = parse_as_path(value, ctx.as4).ok_or_else(|| {
                err(
                    action,
                    type_code,
                    "AS_PATH",
                    update::MALFORMED_AS_PATH,
                    Vec::new(),
                )
            })?;
            // RFC 4271 section 6.3: from an external peer, the leftmost AS
            // is the peer's.
            if ctx.ebgp {
                let first = match path.first() {
                    Some(AsSegment::Sequence(v)) => v.first().copied(),
                    _ => None,
                };
                let peer_as = if ctx.as4 || ctx.peer_as <= 0xffff {
                    ctx.peer_as
                } else {
                    AS_TRANS as u32
                };
                if first != Some(peer_as) {
                    return Err(err(
                        action,
                        type_code,
                        "AS_PATH first AS",
                        update::MALFORMED_AS_PATH,
                        Vec::new(),
                    ));
                }
            }
            a.as_path = path;
        }
        ty::NEXT_HOP => {
            let Ok(o) = <[u8; 4]>::try_from(value) else {
                return Err(len_err("NEXT_HOP length"));
            };
            let nh = Ipv4Addr::from(o);
            if nh.is_unspecified() || nh.is_broadcast() || nh.is_multicast() {
                return Err(err(
                    action,
                    type_code,
                    "NEXT_HOP",
                    update::INVALID_NEXT_HOP,
                    raw(),
                ));
            }
            col.nlri_next_hop = Some(nh);
            a.next_hop.get_or_insert(IpAddr::V4(nh));
        }
        ty::MED => {
            let Ok(o) = <[u8; 4]>::try_from(value) else {
                return Err(len_err("MULTI_EXIT_DISC length"));
            };
            a.med = Some(u32::from_be_bytes(o));
        }
        ty::LOCAL_PREF => {
            if ctx.ebgp {
                // RFC 7606 section 7.5: disregarded from external peers.
                return Err(err(
                    Action::Discard,
                    type_code,
                    "LOCAL_PREF from external peer",
                    update::OPTIONAL_ATTR,
                    Vec::new(),
                ));
            }
            let Ok(o) = <[u8; 4]>::try_from(value) else {
                return Err(len_err("LOCAL_PREF length"));
            };
            a.local_pref = Some(u32::from_be_bytes(o));
        }
        ty::ATOMIC_AGGREGATE => {
            if !value.is_empty() {
                return Err(len_err("ATOMIC_AGGREGATE length"));
            }
            a.atomic_aggregate = true;
        }
        ty::AGGREGATOR => {
            let mut c = Cursor::new(value);
            let want = if ctx.as4 { 8 } else { 6 };
            if value.len() != want {
                return Err(len_err("AGGREGATOR length"));
            }
            let asn = if ctx.as4 {
                c.u32()
            } else {
                c.u16().map(u32::from)
            };
            let id = c.array::<4>().map(Ipv4Addr::from);
            if let (Some(asn), Some(id)) = (asn, id) {
                a.aggregator = Some((asn, id));
            }
        }
        ty::COMMUNITIES => {
            if value.is_empty() || !value.len().is_multiple_of(4) {
                return Err(len_err("COMMUNITIES length"));
            }
            a.communities = value
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
        }
        ty::ORIGINATOR_ID => {
            let Ok(o) = <[u8; 4]>::try_from(value) else {
                return Err(len_err("ORIGINATOR_ID length"));
            };
            a.originator_id = Some(Ipv4Addr::from(o));
        }
        ty::CLUSTER_LIST => {
            if value.is_empty() || !value.len().is_multiple_of(4) {
                return Err(len_err("CLUSTER_LIST length"));
            }
            a.cluster_list = value
                .chunks_exact(4)
                .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                .collect();
        }
        ty::EXT_COMMUNITIES => {
            if value.is_empty() || !value.len().is_multiple_of(8) {
                return Err(len_err("EXTENDED_COMMUNITIES length"));
            }
            a.ext_communities = value
                .chunks_exact(8)
                .map(|c| {
                    let mut e = [0u8; 8];
                    e.copy_from_slice(c);
                    e
                })
                .collect();
        }
        ty::AS4_PATH => {
            if ctx.as4 {
                // RFC 6793 section 4.1: not used between NEW speakers.
                return Err(err(
                    Action::Discard,
                    type_code,
                    "AS4_PATH on a 4-octet session",
                    update::OPTIONAL_ATTR,
                    Vec::new(),
                ));
            }
            let path = parse_as_path(value, true)
                .ok_or_else(|| err(action, type_code, "AS4_PATH", update::OPTIONAL_ATTR, raw()))?;
            col.as4_path = Some(path);
        }
        ty::AS4_AGGREGATOR => {
            if ctx.as4 {
                return Err(err(
                    Action::Discard,
                    type_code,
                    "AS4_AGGREGATOR on a 4-octet session",
                    update::OPTIONAL_ATTR,
                    Vec::new(),
                ));
            }
            let mut c = Cursor::new(value);
            if value.len() != 8 {
                return Err(len_err("AS4_AGGREGATOR length"));
            }
            if let (Some(asn), Some(id)) = (c.u32(), c.array::<4>()) {
                col.as4_aggregator = Some((asn, Ipv4Addr::from(id)));
            }
        }
        _ => {
            if flags & flag::OPTIONAL == 0 {
                // RFC 4271 section 6.3: Unrecognized Well-known Attribute.
                return Err(err(
                    Action::SessionReset,
                    type_code,
                    "unrecognized well-known attribute",
                    update::UNRECOGNIZED_WELL_KNOWN,
                    raw(),
                ));
            }
            if flags & flag::TRANSITIVE != 0 {
                // Passed on with the Partial bit set (RFC 4271 section 5).
                a.unknown
                    .push((flags & !flag::EXTENDED_LENGTH, type_code, value.to_vec()));
            }
        }
    }
    Ok(())
}

fn push_attr(out: &mut Vec<u8>, flags: u8, type_code: u8, value: &[u8]) {
    if value.len() > 255 {
        out.push(flags | flag::EXTENDED_LENGTH);
        out.push(type_code);
        out.extend_from_slice(&(value.len().min(0xffff) as u16).to_be_bytes());
    } else {
        out.push(flags & !flag::EXTENDED_LENGTH);
        out.push(type_code);
        out.push(value.len() as u8);
    }
    out.extend_from_slice(value);
}

fn emit_path(path: &[AsSegment], four: bool, out: &mut Vec<u8>) {
    for seg in path {
        let (t, v) = match seg {
            AsSegment::Sequence(v) => (AS_SEQUENCE, v),
            AsSegment::Set(v) => (AS_SET, v),
        };
        // A segment holds at most 255 ASes.
        for chunk in v.chunks(255) {
            out.push(t);
            out.push(chunk.len() as u8);
            for &asn in chunk {
                if four {
                    out.extend_from_slice(&asn.to_be_bytes());
                } else {
                    let a = if asn > 0xffff { AS_TRANS } else { asn as u16 };
                    out.extend_from_slice(&a.to_be_bytes());
                }
            }
        }
    }
}

/// Encodes `attrs` in type-code order, split around MP_REACH_NLRI's place
/// (type 14): returns (attributes before it, attributes after it). With
/// `classic_next_hop`, a NEXT_HOP attribute is included (IPv4 unicast routes
/// in the NLRI field).
pub fn emit_attrs(
    attrs: &PathAttrs,
    ctx: &SessionCtx,
    classic_next_hop: Option<Ipv4Addr>,
) -> (Vec<u8>, Vec<u8>) {
    use flag::*;
    let mut before = Vec::with_capacity(64);
    let mut after = Vec::with_capacity(32);
    let mut v = Vec::with_capacity(64);
    push_attr(&mut before, TRANSITIVE, ty::ORIGIN, &[attrs.origin]);
    emit_path(&attrs.as_path, ctx.as4, &mut v);
    push_attr(&mut before, TRANSITIVE, ty::AS_PATH, &v);
    if let Some(nh) = classic_next_hop {
        push_attr(&mut before, TRANSITIVE, ty::NEXT_HOP, &nh.octets());
    }
    if let Some(med) = attrs.med {
        push_attr(&mut before, OPTIONAL, ty::MED, &med.to_be_bytes());
    }
    if let Some(lp) = attrs.local_pref {
        push_attr(&mut before, TRANSITIVE, ty::LOCAL_PREF, &lp.to_be_bytes());
    }
    if attrs.atomic_aggregate {
        push_attr(&mut before, TRANSITIVE, ty::ATOMIC_AGGREGATE, &[]);
    }
    let mut as4_aggregator = None;
    if let Some((asn, id)) = attrs.aggregator {
        v.clear();
        if ctx.as4 {
            v.extend_from_slice(&asn.to_be_bytes());
        } else {
            let a = if asn > 0xffff {
                as4_aggregator = Some((asn, id));
                AS_TRANS
            } else {
                asn as u16
            };
            v.extend_from_slice(&a.to_be_bytes());
        }
        v.extend_from_slice(&id.octets());
        push_attr(&mut before, OPTIONAL | TRANSITIVE, ty::AGGREGATOR, &v);
    }
    if !attrs.communities.is_empty() {
        v.clear();
        for c in &attrs.communities {
            v.extend_from_slice(&c.to_be_bytes());
        }
        push_attr(&mut before, OPTIONAL | TRANSITIVE, ty::COMMUNITIES, &v);
    }
    if let Some(o) = attrs.originator_id {
        push_attr(&mut before, OPTIONAL, ty::ORIGINATOR_ID, &o.octets());
    }
    if !attrs.cluster_list.is_empty() {
        v.clear();
        for c in &attrs.cluster_list {
            v.extend_from_slice(&c.octets());
        }
        push_attr(&mut before, OPTIONAL, ty::CLUSTER_LIST, &v);
    }
    let mut unknown: Vec<&(u8, u8, Vec<u8>)> = attrs.unknown.iter().collect();
    unknown.sort_by_key(|u| u.1);
    for (f, t, val) in unknown.iter().filter(|u| u.1 < ty::MP_REACH_NLRI) {
        push_attr(&mut before, f | PARTIAL, *t, val);
    }
    if !attrs.ext_communities.is_empty() {
        v.clear();
        for c in &attrs.ext_communities {
            v.extend_from_slice(c);
        }
        push_attr(&mut after, OPTIONAL | TRANSITIVE, ty::EXT_COMMUNITIES, &v);
    }
    if !ctx.as4
        && attrs.as_path.iter().any(|s| match s {
            AsSegment::Sequence(v) | AsSegment::Set(v) => v.iter().any(|a| *a > 0xffff),
        })
    {
        v.clear();
        emit_path(&attrs.as_path, true, &mut v);
        push_attr(&mut after, OPTIONAL | TRANSITIVE, ty::AS4_PATH, &v);
    }
    if let Some((asn, id)) = as4_aggregator {
        v.clear();
        v.extend_from_slice(&asn.to_be_bytes());
        v.extend_from_slice(&id.octets());
        push_attr(&mut after, OPTIONAL | TRANSITIVE, ty::AS4_AGGREGATOR, &v);
    }
    for (f, t, val) in unknown.iter().filter(|u| u.1 > ty::MP_UNREACH_NLRI) {
        if *t != ty::EXT_COMMUNITIES && *t != ty::AS4_PATH && *t != ty::AS4_AGGREGATOR {
            push_attr(&mut after, f | PARTIAL, *t, val);
        }
    }
    (before, after)
}
