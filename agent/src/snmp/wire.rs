//! SNMPv1/v2c messages on the wire (RFC 1157, RFC 1901, RFC 3416), decoded and
//! encoded with rasn-snmp and mapped to the agent's own value types.

use mib::{Value, VarResult};
use rasn::types::{Integer, ObjectIdentifier, OctetString};
use rasn_smi::v2::{ApplicationSyntax, Counter64, ObjectSyntax, SimpleSyntax};
use rasn_snmp::v2::{self, Pdu, Pdus, VarBind, VarBindValue};
use rasn_snmp::v2c::Message;
use std::borrow::Cow;

/// Message processing model of a message (msgVersion).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Version {
    V1 = 0,
    V2c = 1,
    /// SNMPv3 (RFC 3412): decoded by the v3 message processing model.
    V3 = 3,
}

/// A request PDU type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Get,
    GetNext,
    GetBulk {
        non_repeaters: u32,
        max_repetitions: u32,
    },
    Set,
}

/// A decoded request.
#[derive(Debug)]
pub struct Request {
    pub version: Version,
    pub community: Vec<u8>,
    pub kind: Kind,
    pub request_id: i32,
    pub varbinds: Vec<(Vec<u32>, Value)>,
}

/// Why a datagram is not a request we answer.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not a well-formed message (snmpInASNParseErrs).
    Asn,
    /// An SNMPv3 message: for the v3 message processing model.
    V3,
    /// A msgVersion we do not implement (snmpInBadVersions).
    BadVersion(i64),
    /// A well-formed PDU that is not a request (Response, Trap, Report...), or
    /// GetBulk in SNMPv1: dropped.
    NotARequest,
}

/// The msgVersion of a message: SEQUENCE { INTEGER version, ... }.
fn peek_version(b: &[u8]) -> Option<i64> {
    fn len(b: &[u8]) -> Option<(usize, &[u8])> {
        let (&first, rest) = b.split_first()?;
        if first < 0x80 {
            return Some((first as usize, rest));
        }
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let v = rest[..n].iter().fold(0usize, |a, &x| (a << 8) | x as usize);
        Some((v, &rest[n..]))
    }
    let (&tag, rest) = b.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (_, rest) = len(rest)?;
    let (&tag, rest) = rest.split_first()?;
    if tag != 0x02 {
        return None;
    }
    let (n, rest) = len(rest)?;
    if n == 0 || n > 8 || rest.len() < n {
        return None;
    }
    let mut v: i64 = if rest[0] & 0x80 != 0 { -1 } else { 0 };
    for &x in &rest[..n] {
        v = (v << 8) | x as i64;
    }
    Some(v)
}

pub(crate) fn value_of(v: &VarBindValue) -> Value {
    match v {
        VarBindValue::Value(ObjectSyntax::Simple(s)) => match s {
            SimpleSyntax::Integer(i) => match i32::try_from(i) {
                Ok(x) => Value::Integer(x),
                // Out of Integer32 range: keep it as a value no column accepts.
                Err(_) => Value::Opaque(Vec::new()),
            },
            SimpleSyntax::String(s) => Value::OctetString(s.to_vec()),
            SimpleSyntax::ObjectId(o) => Value::ObjectId(o.to_vec()),
        },
        VarBindValue::Value(ObjectSyntax::ApplicationWide(a)) => match a {
            ApplicationSyntax::Address(ip) => {
                Value::IpAddress(ip.0.as_ref().try_into().unwrap_or([0; 4]))
            }
            ApplicationSyntax::Counter(c) => Value::Counter32(c.0),
            ApplicationSyntax::Ticks(t) => Value::TimeTicks(t.0),
            ApplicationSyntax::Arbitrary(o) => Value::Opaque(o.as_ref().to_vec()),
            ApplicationSyntax::BigCounter(c) => Value::Counter64(c.0),
            ApplicationSyntax::Unsigned(u) => Value::Gauge32(u.0),
        },
        _ => Value::Null,
    }
}

/// Decode a datagram into a request.
pub fn decode(b: &[u8]) -> Result<Request, DecodeError> {
    let version = match peek_version(b).ok_or(DecodeError::Asn)? {
        0 => Version::V1,
        1 => Version::V2c,
        3 => return Err(DecodeError::V3),
        v => return Err(DecodeError::BadVersion(v)),
    };
    // rasn should never panic on input; if it ever does, the datagram is
    // treated as malformed rather than taking the agent down.
    let msg: Message<Pdus> = std::panic::catch_unwind(|| rasn::ber::decode::<Message<Pdus>>(b))
        .map_err(|_| DecodeError::Asn)?
        .map_err(|_| DecodeError::Asn)?;
    let (kind, pdu_id, vbs) = match msg.data {
        Pdus::GetRequest(p) => (Kind::Get, p.0.request_id, p.0.variable_bindings),
        Pdus::GetNextRequest(p) => (Kind::GetNext, p.0.request_id, p.0.variable_bindings),
        Pdus::SetRequest(p) => (Kind::Set, p.0.request_id, p.0.variable_bindings),
        Pdus::GetBulkRequest(p) if version == Version::V2c => (
            Kind::GetBulk {
                non_repeaters: p.0.non_repeaters,
                max_repetitions: p.0.max_repetitions,
            },
            p.0.request_id,
            p.0.variable_bindings,
        ),
        _ => return Err(DecodeError::NotARequest),
    };
    Ok(Request {
        version,
        community: msg.community.to_vec(),
        kind,
        request_id: pdu_id,
        varbinds: vbs
            .iter()
            .map(|vb| (vb.name.to_vec(), value_of(&vb.value)))
            .collect(),
    })
}

fn syntax(v: &Value) -> ObjectSyntax {
    use ApplicationSyntax as A;
    use SimpleSyntax as S;
    match v {
        Value::Integer(i) => ObjectSyntax::Simple(S::Integer(Integer::from(*i))),
        Value::OctetString(b) => ObjectSyntax::Simple(S::String(OctetString::from(b.clone()))),
        Value::ObjectId(o) => ObjectSyntax::Simple(S::ObjectId(oid(o))),
        Value::IpAddress(a) => {
            ObjectSyntax::ApplicationWide(A::Address(rasn_smi::v1::IpAddress((*a).into())))
        }
        Value::Counter32(c) => ObjectSyntax::ApplicationWide(A::Counter(rasn_smi::v1::Counter(*c))),
        Value::Gauge32(g) => ObjectSyntax::ApplicationWide(A::Unsigned(rasn_smi::v1::Gauge(*g))),
        Value::TimeTicks(t) => ObjectSyntax::ApplicationWide(A::Ticks(rasn_smi::v1::TimeTicks(*t))),
        Value::Opaque(b) => match opaque(b) {
            Some(o) => ObjectSyntax::ApplicationWide(A::Arbitrary(o)),
            None => ObjectSyntax::Simple(S::String(OctetString::from(b.clone()))),
        },
        Value::Counter64(c) => ObjectSyntax::ApplicationWide(A::BigCounter(Counter64(*c))),
        Value::Null => ObjectSyntax::Simple(S::Integer(Integer::from(0))),
    }
}

/// rasn-smi has no public constructor for Opaque: build it from its BER form.
fn opaque(b: &[u8]) -> Option<rasn_smi::v1::Opaque> {
    let mut tlv = vec![0x44];
    let n = b.len();
    if n < 0x80 {
        tlv.push(n as u8);
    } else {
        let be = (n as u32).to_be_bytes();
        let skip = be.iter().take_while(|&&x| x == 0).count();
        tlv.push(0x80 | (4 - skip) as u8);
        tlv.extend_from_slice(&be[skip..]);
    }
    tlv.extend_from_slice(b);
    rasn::ber::decode(&tlv).ok()
}

fn oid(o: &[u32]) -> ObjectIdentifier {
    ObjectIdentifier::new_unchecked(Cow::Owned(o.to_vec()))
}

/// A response variable binding.
pub fn varbind(name: &[u32], r: &VarResult) -> VarBind {
    let value = match r {
        VarResult::Value(Value::Null) => VarBindValue::Unspecified,
        VarResult::Value(v) => VarBindValue::Value(syntax(v)),
        VarResult::NoSuchObject => VarBindValue::NoSuchObject,
        VarResult::NoSuchInstance => VarBindValue::NoSuchInstance,
        VarResult::EndOfMibView => VarBindValue::EndOfMibView,
    };
    VarBind {
        name: oid(name),
        value,
    }
}

/// Size of one encoded variable binding.
pub fn varbind_len(vb: &VarBind) -> usize {
    rasn::ber::encode(vb)
        .map(|b| b.len())
        .unwrap_or(usize::MAX / 4)
}

/// Encode a Response-PDU (GetResponse in SNMPv1: same tag).
pub fn encode_response(
    version: Version,
    community: &[u8],
    request_id: i32,
    error_status: u32,
    error_index: u32,
    varbinds: Vec<VarBind>,
) -> Vec<u8> {
    let msg = Message {
        version: Integer::from(version as i32),
        community: OctetString::from(community.to_vec()),
        data: Pdus::Response(v2::Response(Pdu {
            request_id,
            error_status,
            error_index,
            variable_bindings: varbinds,
        })),
    };
    rasn::ber::encode(&msg).expect("responses always encode")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `snmpget -v2c -c public 127.0.0.1 1.3.6.1.2.1.1.1.0` as net-snmp sends it.
    const GET: &[u8] = &[
        0x30, 0x29, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0, 0x1c,
        0x02, 0x04, 0x12, 0x34, 0x56, 0x78, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30,
        0x0c, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00,
    ];

    #[test]
    fn decodes_get() {
        let r = decode(GET).unwrap();
        assert_eq!(r.version, Version::V2c);
        assert_eq!(r.community, b"public");
        assert_eq!(r.kind, Kind::Get);
        assert_eq!(r.request_id, 0x12345678);
        assert_eq!(
            r.varbinds,
            vec![(vec![1, 3, 6, 1, 2, 1, 1, 1, 0], Value::Null)]
        );
    }

    #[test]
    fn every_truncation_and_bit_flip_is_handled() {
        for n in 0..GET.len() {
            assert!(decode(&GET[..n]).is_err(), "prefix {n}");
        }
        for i in 0..GET.len() {
            for bit in 0..8 {
                let mut b = GET.to_vec();
                b[i] ^= 1 << bit;
                let _ = decode(&b);
            }
        }
        // a simple deterministic generator of junk
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for len in 0..600 {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = decode(&junk);
        }
    }

    #[test]
    fn versions() {
        let mut b = GET.to_vec();
        b[4] = 2;
        assert_eq!(decode(&b).unwrap_err(), DecodeError::BadVersion(2));
        b[4] = 3;
        assert_eq!(decode(&b).unwrap_err(), DecodeError::V3);
        b[4] = 0;
        assert_eq!(decode(&b).unwrap().version, Version::V1);
    }

    #[test]
    fn response_round_trip() {
        let vbs = vec![
            varbind(
                &[1, 3, 6, 1, 2, 1, 1, 3, 0],
                &VarResult::Value(Value::TimeTicks(42)),
            ),
            varbind(&[1, 3, 6, 1, 9], &VarResult::NoSuchObject),
        ];
        let b = encode_response(Version::V2c, b"public", 7, 0, 0, vbs.clone());
        let m: Message<Pdus> = rasn::ber::decode(&b).unwrap();
        match m.data {
            Pdus::Response(r) => {
                assert_eq!(r.0.request_id, 7);
                assert_eq!(r.0.variable_bindings, vbs);
            }
            _ => panic!("not a response"),
        }
    }
}
