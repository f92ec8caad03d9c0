//! UPDATE message (RFC 4271 section 4.3) with MP_REACH_NLRI/MP_UNREACH_NLRI
//! (RFC 4760), VPN next hops (RFC 4364 section 4.3.2, RFC 4659 section 3.2.1,
//! RFC 8950), End-of-RIB (RFC 4724 section 2) and the revised error handling
//! of RFC 7606.

use super::attrs::{self, flag, ty, Action, AttrError, Collected};
use super::cursor::Cursor;
use super::error::{update, Error};
use super::nlri::{self, Nlri};
use super::{msg_type, SessionCtx, HEADER_LEN, MAX_LEN};
use crate::{Family, PathAttrs};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A decoded UPDATE.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Update {
    /// Withdrawn Routes field and MP_UNREACH_NLRI.
    pub withdrawn: Vec<Nlri>,
    /// MP_REACH_NLRI routes; their next hop is `attrs.next_hop`.
    pub announced: Vec<Nlri>,
    /// NLRI field routes (IPv4 unicast); their next hop is `nlri_next_hop`.
    pub nlri: Vec<Nlri>,
    pub nlri_next_hop: Option<Ipv4Addr>,
    pub attrs: PathAttrs,
    /// RFC 7606 treat-as-withdraw: `announced` and `nlri` must be handled
    /// as withdrawn. The error is what RFC 4271 would have sent.
    pub treat_as_withdraw: Option<Error>,
    /// Attributes discarded under RFC 7606 (or RFC 6793), with the reason.
    pub discarded: Vec<(u8, Error)>,
    /// MP_(UN)REACH_NLRI of families not negotiated, ignored: (AFI, SAFI).
    pub ignored: Vec<(u16, u8)>,
    /// An End-of-RIB marker for this family.
    pub end_of_rib: Option<Family>,
}

fn reset(field: &'static str, subcode: u8, data: Vec<u8>) -> Error {
    Error::update(field, subcode, data)
}

fn mapped(a: Ipv6Addr) -> IpAddr {
    match a.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(a),
    }
}

fn v6(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}

/// Decodes an MP_REACH_NLRI next hop of `family` (RFC 4760 section 3,
/// RFC 4364 section 4.3.2, RFC 4659 section 3.2.1.1, RFC 8950 section 3).
/// An IPv4-mapped IPv6 address is returned as IPv4.
fn parse_next_hop(family: Family, nh: &[u8]) -> Option<(IpAddr, Option<Ipv6Addr>)> {
    let ll = |b: &[u8]| {
        let a = v6(b);
        (!a.is_unspecified()).then_some(a)
    };
    Some(match (family.is_vpn(), nh.len()) {
        (false, 4) if !family.is_ipv6() => {
            (IpAddr::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3])), None)
        }
        (false, 16) => (mapped(v6(nh)), None),
        (false, 32) => (mapped(v6(nh)), ll(&nh[16..])),
        (true, 12) if !family.is_ipv6() => (
            IpAddr::V4(Ipv4Addr::new(nh[8], nh[9], nh[10], nh[11])),
            None,
        ),
        (true, 24) => (mapped(v6(&nh[8..])), None),
        (true, 48) => (mapped(v6(&nh[8..])), ll(&nh[32..])),
        _ => return None,
    })
}

impl Update {
    /// Decodes an UPDATE body (after the header). `Err` means the session
    /// must be reset with the error's NOTIFICATION; RFC 7606 outcomes that
    /// keep the session are reported in the returned value.
    pub fn parse(body: &[u8], ctx: &SessionCtx) -> Result<Update, Error> {
        let mut up = Update::default();
        let mut c = Cursor::new(body);
        let malformed = || reset("UPDATE lengths", update::MALFORMED_ATTR_LIST, Vec::new());
        let wlen = c.u16().ok_or_else(malformed)?;
        let withdrawn = c.take(wlen as usize).ok_or_else(malformed)?;
        let alen = c.u16().ok_or_else(malformed)?;
        let attr_buf = c.take(alen as usize).ok_or_else(malformed)?;
        let nlri_buf = c.rest();
        nlri::parse_nlri(withdrawn, Family::Ipv4Unicast, &mut up.withdrawn)?;

        let mut col = Collected::default();
        let mut reach: Option<(Family, &[u8])> = None;
        let mut unreach_families = Vec::new();
        let mut a = Cursor::new(attr_buf);
        let mut twa: Option<Error> = None;
        while !a.is_empty() {
            // RFC 7606 section 4: attribute header or length overrunning the
            // attributes: treat-as-withdraw, NLRI located by Total Length.
            let Some(flags) = a.u8() else { break };
            let (Some(type_code), Some(len)) = (
                a.u8(),
                if flags & flag::EXTENDED_LENGTH != 0 {
                    a.u16()
                } else {
                    a.u8().map(u16::from)
                },
            ) else {
                twa.get_or_insert(reset(
                    "attribute header overruns attributes",
                    update::MALFORMED_ATTR_LIST,
                    Vec::new(),
                ));
                break;
            };
            let Some(value) = a.take(len as usize) else {
                if type_code == ty::MP_REACH_NLRI || type_code == ty::MP_UNREACH_NLRI {
                    return Err(reset(
                        "MP_(UN)REACH_NLRI overruns attributes",
                        update::ATTR_LENGTH,
                        Vec::new(),
                    ));
                }
                twa.get_or_insert(reset(
                    "attribute length overruns attributes",
                    update::ATTR_LENGTH,
                    Vec::new(),
                ));
                break;
            };
            let first = col.first_time(type_code);
            match type_code {
                ty::MP_REACH_NLRI | ty::MP_UNREACH_NLRI => {
                    // RFC 7606 section 3(g): more than one: session reset.
                    if !first {
                        return Err(reset(
                            "MP_(UN)REACH_NLRI repeated",
                            update::MALFORMED_ATTR_LIST,
                            Vec::new(),
                        ));
                    }
                    if flags & (flag::OPTIONAL | flag::TRANSITIVE) != flag::OPTIONAL {
                        return Err(reset(
                            "MP_(UN)REACH_NLRI flags",
                            update::ATTR_FLAGS,
                            attrs::raw_attr(flags, type_code, value),
                        ));
                    }
                    let opt_err = || {
                        reset(
                            "MP_(UN)REACH_NLRI",
                            update::OPTIONAL_ATTR,
                            attrs::raw_attr(flags, type_code, value),
                        )
                    };
                    let mut m = Cursor::new(value);
                    let afi = m.u16().ok_or_else(opt_err)?;
                    let safi = m.u8().ok_or_else(opt_err)?;
                    let family =
                        Family::from_afi_safi(afi, safi).filter(|f| ctx.families.contains(*f));
                    if type_code == ty::MP_REACH_NLRI {
                        let nhlen = m.u8().ok_or_else(opt_err)?;
                        let nh = m.take(nhlen as usize).ok_or_else(opt_err)?;
                        m.u8().ok_or_else(opt_err)?; // reserved
                        let Some(family) = family else {
                            up.ignored.push((afi, safi));
                            continue;
                        };
                        // RFC 7606 section 7.11: a bad next hop length hides
                        // the NLRI: session reset.
                        let (nh, ll) = parse_next_hop(family, nh).ok_or_else(|| {
                            reset(
                                "MP_REACH_NLRI next hop length",
                                update::OPTIONAL_ATTR,
                                attrs::raw_attr(flags, type_code, value),
                            )
                        })?;
                        col.attrs.next_hop = Some(nh);
                        col.attrs.next_hop_link_local = ll;
                        reach = Some((family, m.rest()));
                    } else {
                        let Some(family) = family else {
                            up.ignored.push((afi, safi));
                            continue;
                        };
                        nlri::parse_nlri(m.rest(), family, &mut up.withdrawn)?;
                        unreach_families.push((family, m.is_empty()));
                    }
                }
                _ => {
                    if !first {
                        // RFC 7606 section 3(g): all but the first discarded.
                        up.discarded.push((
                            type_code,
                            reset(
                                "repeated attribute",
                                update::MALFORMED_ATTR_LIST,
                                Vec::new(),
                            ),
                        ));
                        continue;
                    }
                    // RFC 7606 section 3(f) (zero length) is covered by
                    // each attribute's own length check.
                    match attrs::parse_attr(flags, type_code, value, ctx, &mut col) {
                        Ok(()) => {}
                        Err(AttrError {
                            action: Action::TreatAsWithdraw,
                            error,
                            ..
                        }) => {
                            twa.get_or_insert(error);
                        }
                        Err(AttrError {
                            action: Action::Discard,
                            error,
                            type_code,
                        }) => {
                            up.discarded.push((type_code, error));
                        }
                        Err(AttrError {
                            action: Action::SessionReset,
                            error,
                            ..
                        }) => {
                            return Err(error);
                        }
                    }
                }
            }
        }
        if let Some((family, buf)) = reach {
            nlri::parse_nlri(buf, family, &mut up.announced)?;
        }
        nlri::parse_nlri(nlri_buf, Family::Ipv4Unicast, &mut up.nlri)?;
        if !ctx.as4 {
            col.merge_as4();
        }
        // End-of-RIB (RFC 4724 section 2).
        if body.len() == 4 {
            up.end_of_rib = Some(Family::Ipv4Unicast);
        } else if let [(family, true)] = unreach_families[..] {
            if up.withdrawn.is_empty()
                && reach.is_none()
                && nlri_buf.is_empty()
                && col.seen.iter().map(|w| w.count_ones()).sum::<u32>() == 1
            {
                up.end_of_rib = Some(family);
            }
        }
        // RFC 7606 section 3(d): missing well-known mandatory attributes.
        let announces = !up.announced.is_empty() || !up.nlri.is_empty();
        if announces && twa.is_none() {
            for t in [ty::ORIGIN, ty::AS_PATH] {
                if !col.has(t) {
                    twa = Some(reset(
                        "missing well-known attribute",
                        update::MISSING_WELL_KNOWN,
                        vec![t],
                    ));
                    break;
                }
            }
            if twa.is_none() && !up.nlri.is_empty() && col.nlri_next_hop.is_none() {
                twa = Some(reset(
                    "missing well-known attribute",
                    update::MISSING_WELL_KNOWN,
                    vec![ty::NEXT_HOP],
                ));
            }
        }
        up.treat_as_withdraw = twa;
        up.nlri_next_hop = col.nlri_next_hop;
        up.attrs = col.attrs;
        Ok(up)
    }
}

/// Room for NLRI in one message given the attribute octets around them.
fn nlri_room(fixed: usize) -> usize {
    MAX_LEN.saturating_sub(HEADER_LEN + 4 + fixed)
}

fn start_message(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0xff; 16]);
    out.extend_from_slice(&[0, 0, msg_type::UPDATE]);
    start
}

fn finish_message(out: &mut [u8], start: usize) {
    let len = (out.len() - start) as u16;
    out[start + 16..start + 18].copy_from_slice(&len.to_be_bytes());
}

/// The MP_REACH_NLRI next hop field for `family` (see [`parse_next_hop`]).
fn emit_next_hop(family: Family, nh: Option<IpAddr>, ll: Option<Ipv6Addr>, out: &mut Vec<u8>) {
    let nh = nh.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let rd = [0u8; 8];
    let v6 = match nh {
        IpAddr::V4(a) if !family.is_ipv6() => {
            if family.is_vpn() {
                out.extend_from_slice(&rd);
            }
            out.extend_from_slice(&a.octets());
            return;
        }
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    };
    if family.is_vpn() {
        out.extend_from_slice(&rd);
    }
    out.extend_from_slice(&v6.octets());
    if let Some(ll) = ll {
        if family.is_vpn() {
            out.extend_from_slice(&rd);
        }
        out.extend_from_slice(&ll.octets());
    }
}

/// Appends the UPDATEs announcing `routes` (all of `family`) with `attrs`:
/// IPv4 unicast with an IPv4 next hop goes in the NLRI field with NEXT_HOP,
/// everything else in MP_REACH_NLRI. Splits at 4096 octets.
pub fn encode_announce(
    ctx: &SessionCtx,
    family: Family,
    attrs: &PathAttrs,
    routes: &[Nlri],
    out: &mut Vec<u8>,
) {
    if routes.is_empty() {
        return;
    }
    let classic = match (family, attrs.next_hop) {
        (Family::Ipv4Unicast, Some(IpAddr::V4(a))) => Some(a),
        _ => None,
    };
    let (before, after) = attrs::emit_attrs(attrs, ctx, classic);
    if classic.is_some() {
        let room = nlri_room(before.len() + after.len());
        let mut i = 0;
        while i < routes.len() {
            let start = start_message(out);
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&((before.len() + after.len()) as u16).to_be_bytes());
            out.extend_from_slice(&before);
            out.extend_from_slice(&after);
            let mut used = 0;
            while let Some(r) = routes.get(i) {
                let l = nlri::nlri_len(r);
                if used + l > room && used > 0 {
                    break;
                }
                nlri::emit_nlri(r, false, out);
                used += l;
                i += 1;
            }
            finish_message(out, start);
        }
        return;
    }
    let mut nh = Vec::with_capacity(48);
    emit_next_hop(family, attrs.next_hop, attrs.next_hop_link_local, &mut nh);
    let (afi, safi) = family.afi_safi();
    // MP_REACH_NLRI header: flags, type, 2-octet length, AFI, SAFI, NH len,
    // NH, reserved.
    let mp_fixed = 4 + 3 + 1 + nh.len() + 1;
    let room = nlri_room(before.len() + after.len() + mp_fixed);
    let mut i = 0;
    while i < routes.len() {
        let start = start_message(out);
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&before);
        let mp_start = out.len();
        out.extend_from_slice(&[
            flag::OPTIONAL | flag::EXTENDED_LENGTH,
            ty::MP_REACH_NLRI,
            0,
            0,
        ]);
        out.extend_from_slice(&afi.to_be_bytes());
        out.push(safi);
        out.push(nh.len() as u8);
        out.extend_from_slice(&nh);
        out.push(0);
        let mut used = 0;
        while let Some(r) = routes.get(i) {
            let l = nlri::nlri_len(r);
            if used + l > room && used > 0 {
                break;
            }
            nlri::emit_nlri(r, false, out);
            used += l;
            i += 1;
        }
        compact_mp(out, mp_start);
        out.extend_from_slice(&after);
        let alen = (out.len() - start - HEADER_LEN - 4) as u16;
        out[start + HEADER_LEN + 2..start + HEADER_LEN + 4].copy_from_slice(&alen.to_be_bytes());
        finish_message(out, start);
    }
}

/// Writes the length of the MP attribute starting at `mp_start`, using a
/// 1-octet length when it fits (as GoBGP does).
fn compact_mp(out: &mut Vec<u8>, mp_start: usize) {
    let vlen = out.len() - mp_start - 4;
    if vlen <= 255 {
        out[mp_start] &= !flag::EXTENDED_LENGTH;
        out[mp_start + 2] = vlen as u8;
        out.remove(mp_start + 3);
    } else {
        out[mp_start + 2..mp_start + 4].copy_from_slice(&(vlen as u16).to_be_bytes());
    }
}

/// Appends the UPDATEs withdrawing `routes` (all of `family`).
pub fn encode_withdraw(family: Family, routes: &[Nlri], out: &mut Vec<u8>) {
    if routes.is_empty() {
        return;
    }
    let mut i = 0;
    if family == Family::Ipv4Unicast {
        let room = nlri_room(0);
        while i < routes.len() {
            let start = start_message(out);
            out.extend_from_slice(&[0, 0]);
            let mut used = 0;
            while let Some(r) = routes.get(i) {
                let l = nlri::nlri_len(r);
                if used + l > room && used > 0 {
                    break;
                }
                nlri::emit_nlri(r, true, out);
                used += l;
                i += 1;
            }
            out[start + HEADER_LEN..start + HEADER_LEN + 2]
                .copy_from_slice(&(used as u16).to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            finish_message(out, start);
        }
        return;
    }
    let (afi, safi) = family.afi_safi();
    let room = nlri_room(4 + 3);
    while i < routes.len() {
        let start = start_message(out);
        out.extend_from_slice(&[0, 0, 0, 0]);
        let mp_start = out.len();
        out.extend_from_slice(&[
            flag::OPTIONAL | flag::EXTENDED_LENGTH,
            ty::MP_UNREACH_NLRI,
            0,
            0,
        ]);
        out.extend_from_slice(&afi.to_be_bytes());
        out.push(safi);
        let mut used = 0;
        while let Some(r) = routes.get(i) {
            let l = nlri::nlri_len(r);
            if used + l > room && used > 0 {
                break;
            }
            nlri::emit_nlri(r, true, out);
            used += l;
            i += 1;
        }
        compact_mp(out, mp_start);
        let alen = (out.len() - start - HEADER_LEN - 4) as u16;
        out[start + HEADER_LEN + 2..start + HEADER_LEN + 4].copy_from_slice(&alen.to_be_bytes());
        finish_message(out, start);
    }
}

/// Appends the End-of-RIB marker of `family` (RFC 4724 section 2).
pub fn encode_end_of_rib(family: Family, out: &mut Vec<u8>) {
    let start = start_message(out);
    if family == Family::Ipv4Unicast {
        out.extend_from_slice(&[0, 0, 0, 0]);
    } else {
        let (afi, safi) = family.afi_safi();
        out.extend_from_slice(&[0, 0, 0, 6, flag::OPTIONAL, ty::MP_UNREACH_NLRI, 3]);
        out.extend_from_slice(&afi.to_be_bytes());
        out.push(safi);
    }
    finish_message(out, start);
}

/// Re-encodes a decoded UPDATE (the MP_REACH routes, NLRI-field routes and
/// withdrawals it carries), for tests and tools. Announcements and
/// withdrawals of one family go in separate messages.
pub fn encode_update(ctx: &SessionCtx, up: &Update, out: &mut Vec<u8>) {
    if let Some(f) = up.end_of_rib {
        encode_end_of_rib(f, out);
        return;
    }
    let mut by_family: Vec<(Family, Vec<Nlri>)> = Vec::new();
    for n in &up.withdrawn {
        let f = n.key.family();
        match by_family.iter_mut().find(|(g, _)| *g == f) {
            Some((_, v)) => v.push(*n),
            None => by_family.push((f, vec![*n])),
        }
    }
    for (f, v) in &by_family {
        encode_withdraw(*f, v, out);
    }
    if let Some(first) = up.announced.first() {
        encode_announce(ctx, first.key.family(), &up.attrs, &up.announced, out);
    }
    if !up.nlri.is_empty() {
        let mut a = up.attrs.clone();
        a.next_hop = up.nlri_next_hop.map(IpAddr::V4);
        a.next_hop_link_local = None;
        encode_announce(ctx, Family::Ipv4Unicast, &a, &up.nlri, out);
    }
}
