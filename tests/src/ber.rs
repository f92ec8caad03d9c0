//! A minimal BER encoder/decoder for SNMP messages, for tests that need to put
//! exact bytes on the wire (malformed packets, message sizes) or look at a
//! response's raw size. Independent of the daemon's own codec on purpose.

pub const GET: u8 = 0xA0;
pub const GET_NEXT: u8 = 0xA1;
pub const RESPONSE: u8 = 0xA2;
pub const SET: u8 = 0xA3;
pub const GET_BULK: u8 = 0xA5;

pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OBJECT_ID: u8 = 0x06;
pub const SEQUENCE: u8 = 0x30;
pub const NO_SUCH_OBJECT: u8 = 0x80;
pub const NO_SUCH_INSTANCE: u8 = 0x81;
pub const END_OF_MIB_VIEW: u8 = 0x82;

/// Definite-form length octets.
pub fn len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes: Vec<u8> = n
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(len(content.len()));
    out.extend_from_slice(content);
    out
}

pub fn int(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    tlv(INTEGER, &bytes[start..])
}

pub fn octets(b: &[u8]) -> Vec<u8> {
    tlv(OCTET_STRING, b)
}

pub fn null() -> Vec<u8> {
    vec![NULL, 0]
}

/// Encode a dotted OID ("1.3.6.1..." with or without a leading dot).
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted
        .trim_start_matches('.')
        .split('.')
        .map(|s| s.parse().expect("numeric OID"))
        .collect();
    assert!(arcs.len() >= 2, "OID needs two arcs");
    let mut content = Vec::new();
    let mut push = |mut v: u64| {
        let mut tmp = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        tmp.reverse();
        content.extend(tmp);
    };
    push(arcs[0] * 40 + arcs[1]);
    for a in &arcs[2..] {
        push(*a);
    }
    tlv(OBJECT_ID, &content)
}

pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(SEQUENCE, &parts.concat())
}

/// A whole SNMPv1/v2c message. `version`: 0 = v1, 1 = v2c. For GetBulk,
/// `f1`/`f2` are non-repeaters / max-repetitions, else error-status / index.
pub fn message(
    version: i64,
    community: &str,
    pdu_tag: u8,
    request_id: i64,
    f1: i64,
    f2: i64,
    varbinds: &[(String, Vec<u8>)],
) -> Vec<u8> {
    let vbs: Vec<Vec<u8>> = varbinds
        .iter()
        .map(|(o, v)| seq(&[oid(o), v.clone()]))
        .collect();
    let pdu = tlv(
        pdu_tag,
        &[int(request_id), int(f1), int(f2), seq(&vbs)].concat(),
    );
    seq(&[int(version), octets(community.as_bytes()), pdu])
}

/// A v2c GetRequest for `oids`.
pub fn get_request(community: &str, request_id: i64, oids: &[&str]) -> Vec<u8> {
    let vbs: Vec<(String, Vec<u8>)> = oids.iter().map(|o| (o.to_string(), null())).collect();
    message(1, community, GET, request_id, 0, 0, &vbs)
}

/// A v2c GetBulkRequest.
pub fn get_bulk(
    community: &str,
    request_id: i64,
    non_rep: i64,
    max_rep: i64,
    oids: &[&str],
) -> Vec<u8> {
    let vbs: Vec<(String, Vec<u8>)> = oids.iter().map(|o| (o.to_string(), null())).collect();
    message(1, community, GET_BULK, request_id, non_rep, max_rep, &vbs)
}

/// Split one TLV off the front: (tag, content, rest).
pub fn read_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)? as usize;
    let (n, hdr) = if first < 0x80 {
        (first, 2)
    } else {
        let k = first & 0x7f;
        if k == 0 || k > 4 {
            return None;
        }
        let mut n = 0usize;
        for i in 0..k {
            n = (n << 8) | *b.get(2 + i)? as usize;
        }
        (n, 2 + k)
    };
    if b.len() < hdr + n {
        return None;
    }
    Some((tag, &b[hdr..hdr + n], &b[hdr + n..]))
}

pub fn decode_int(c: &[u8]) -> i64 {
    let mut v: i64 = if c.first().is_some_and(|b| b & 0x80 != 0) {
        -1
    } else {
        0
    };
    for b in c {
        v = (v << 8) | *b as i64;
    }
    v
}

pub fn decode_oid(c: &[u8]) -> String {
    let mut arcs = Vec::new();
    let mut v: u64 = 0;
    for b in c {
        v = (v << 7) | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            arcs.push(v);
            v = 0;
        }
    }
    let mut out = String::new();
    if let Some(first) = arcs.first() {
        let (a, b) = if *first < 80 {
            (first / 40, first % 40)
        } else {
            (2, first - 80)
        };
        out = format!(".{a}.{b}");
        for a in &arcs[1..] {
            out.push_str(&format!(".{a}"));
        }
    }
    out
}

#[derive(Debug, Clone)]
pub struct Message {
    pub version: i64,
    pub community: Vec<u8>,
    pub pdu_tag: u8,
    pub request_id: i64,
    pub error_status: i64,
    pub error_index: i64,
    /// (OID with a leading dot, value tag, value content)
    pub varbinds: Vec<(String, u8, Vec<u8>)>,
}

/// Parse an SNMPv1/v2c message; `None` if it is not well formed.
pub fn parse_message(b: &[u8]) -> Option<Message> {
    let (tag, body, rest) = read_tlv(b)?;
    if tag != SEQUENCE || !rest.is_empty() {
        return None;
    }
    let (t, v, body) = read_tlv(body)?;
    if t != INTEGER {
        return None;
    }
    let version = decode_int(v);
    let (t, community, body) = read_tlv(body)?;
    if t != OCTET_STRING {
        return None;
    }
    let (pdu_tag, pdu, _) = read_tlv(body)?;
    let (_, rid, pdu) = read_tlv(pdu)?;
    let (_, es, pdu) = read_tlv(pdu)?;
    let (_, ei, pdu) = read_tlv(pdu)?;
    let (t, mut vbl, _) = read_tlv(pdu)?;
    if t != SEQUENCE {
        return None;
    }
    let mut varbinds = Vec::new();
    while !vbl.is_empty() {
        let (t, vb, rest) = read_tlv(vbl)?;
        if t != SEQUENCE {
            return None;
        }
        let (t, o, vb) = read_tlv(vb)?;
        if t != OBJECT_ID {
            return None;
        }
        let (vt, vv, _) = read_tlv(vb)?;
        varbinds.push((decode_oid(o), vt, vv.to_vec()));
        vbl = rest;
    }
    Some(Message {
        version,
        community: community.to_vec(),
        pdu_tag,
        request_id: decode_int(rid),
        error_status: decode_int(es),
        error_index: decode_int(ei),
        varbinds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let m = get_request(
            "public",
            0x1234,
            &["1.3.6.1.2.1.1.3.0", "1.3.6.1.4.1.32473.200.1"],
        );
        let p = parse_message(&m).unwrap();
        assert_eq!(p.version, 1);
        assert_eq!(p.community, b"public");
        assert_eq!(p.request_id, 0x1234);
        assert_eq!(p.varbinds[0].0, ".1.3.6.1.2.1.1.3.0");
        assert_eq!(p.varbinds[1].0, ".1.3.6.1.4.1.32473.200.1");
        assert_eq!(int(-1), vec![2, 1, 0xff]);
        assert_eq!(int(128), vec![2, 2, 0, 128]);
        assert_eq!(len(300), vec![0x82, 1, 44]);
    }
}
