//! SNMPv3 message processing (RFC 3412 section 7.2) with the User-based
//! Security Model's incoming and outgoing processing (RFC 3414 sections 3.1
//! and 3.2), for a command responder that is the authoritative engine.
//!
//! ```text
//! SNMPv3Message ::= SEQUENCE { msgVersion INTEGER (3),
//!     msgGlobalData SEQUENCE { msgID, msgMaxSize, msgFlags OCTET STRING (1),
//!                              msgSecurityModel },
//!     msgSecurityParameters OCTET STRING  -- UsmSecurityParameters
//!     msgData CHOICE { plaintext ScopedPDU, encryptedPDU OCTET STRING } }
//! ```
//!
//! The outer layers are read and written here (the MAC covers the message's
//! own bytes, so positions matter); the PDU inside goes through rasn-snmp.

use super::responder::Envelope;
use super::usm;
use super::vacm::{self, Acl, Denied};
use super::wire::{self, Kind, Request, Version};
use mib::snmpv3::{self as m, Level, SecState, V3Stats, MODEL_USM};
use mib::ErrorStatus;
use rasn::types::ObjectIdentifier;
use rasn_smi::v2::{ApplicationSyntax, ObjectSyntax};
use rasn_snmp::v2::{self, Pdu, Pdus, VarBind, VarBindValue};
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use vpn_core::security::{user_key, AuthProto, PrivProto, UserRow};
use vpn_core::RowState;

/// RFC 3414 section 3.2 step 7: the time window, in seconds.
const TIME_WINDOW: i64 = 150;
/// snmpEngineBoots latches here (RFC 3414 section 2.2.2).
const BOOTS_MAX: u32 = i32::MAX as u32;

const FLAG_AUTH: u8 = 1;
const FLAG_PRIV: u8 = 2;
const FLAG_REPORTABLE: u8 = 4;

// ---------------------------------------------------------------------------
// BER, just enough for the message wrapper
// ---------------------------------------------------------------------------

/// One TLV at `pos` of `b`: (tag, content start, content end). Lengths are
/// checked against the buffer, so the returned range can be sliced.
fn tlv(b: &[u8], pos: usize) -> Option<(u8, usize, usize)> {
    let tag = *b.get(pos)?;
    let first = *b.get(pos + 1)?;
    let (len, start) = if first < 0x80 {
        (first as usize, pos + 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = b.get(pos + 2..pos + 2 + n)?;
        (
            bytes.iter().fold(0usize, |a, &x| (a << 8) | x as usize),
            pos + 2 + n,
        )
    };
    let end = start.checked_add(len)?;
    (end <= b.len()).then_some((tag, start, end))
}

fn int_of(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
    for &x in b {
        v = (v << 8) | x as i64;
    }
    Some(v)
}

/// A cursor over the TLVs inside one constructed value.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    fn new(b: &'a [u8], start: usize, end: usize) -> Self {
        Cursor { b, pos: start, end }
    }
    fn next(&mut self, want: u8) -> Option<(usize, usize)> {
        let (tag, s, e) = tlv(&self.b[..self.end], self.pos)?;
        if tag != want {
            return None;
        }
        self.pos = e;
        Some((s, e))
    }
    fn int(&mut self) -> Option<i64> {
        let (s, e) = self.next(0x02)?;
        int_of(&self.b[s..e])
    }
    /// A value in 0..=2147483647.
    fn int31(&mut self) -> Option<u32> {
        self.int()
            .filter(|v| (0..=i32::MAX as i64).contains(v))
            .map(|v| v as u32)
    }
    fn octets(&mut self) -> Option<(usize, usize)> {
        self.next(0x04)
    }
}

fn push_len(out: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let be = (n as u32).to_be_bytes();
        let skip = be.iter().take_while(|&&x| x == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
}

fn header(tag: u8, len: usize) -> Vec<u8> {
    let mut h = vec![tag];
    push_len(&mut h, len);
    h
}

fn tlv_bytes(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = header(tag, content.len());
    v.extend_from_slice(content);
    v
}

fn int_bytes(v: u32) -> Vec<u8> {
    let be = (v as u64).to_be_bytes();
    // minimal two's complement of a non-negative value
    let mut i = 0;
    while i < 7 && be[i] == 0 && be[i + 1] & 0x80 == 0 {
        i += 1;
    }
    tlv_bytes(0x02, &be[i..])
}

// ---------------------------------------------------------------------------
// The parsed message
// ---------------------------------------------------------------------------

/// msgData: a plaintext ScopedPDU (its whole TLV) or the encrypted octets.
enum Data {
    Plain(usize, usize),
    Encrypted(usize, usize),
}

struct Msg<'a> {
    msg_id: u32,
    max_size: u32,
    flags: u8,
    model: u32,
    engine_id: &'a [u8],
    boots: u32,
    time: u32,
    user: &'a [u8],
    /// Position of msgAuthenticationParameters' content in `b`.
    auth: (usize, usize),
    privp: &'a [u8],
    data: Data,
}

/// Parse the header and the USM parameters; `None` is an ASN.1 parse error.
fn parse(b: &[u8]) -> Option<Msg<'_>> {
    let (tag, s, e) = tlv(b, 0)?;
    if tag != 0x30 {
        return None;
    }
    let mut c = Cursor::new(b, s, e);
    if c.int()? != 3 {
        return None;
    }
    let (gs, ge) = c.next(0x30)?;
    let mut g = Cursor::new(b, gs, ge);
    let msg_id = g.int31()?;
    let max_size = g.int31()?;
    let (fs, fe) = g.octets()?;
    if fe - fs != 1 || max_size < 484 {
        return None;
    }
    let flags = b[fs];
    let model = g.int31()?;
    let (ps, pe) = c.octets()?;
    let data = match tlv(&b[..e], c.pos)? {
        (0x30, _, de) => Data::Plain(c.pos, de),
        (0x04, ds, de) => Data::Encrypted(ds, de),
        _ => return None,
    };
    // UsmSecurityParameters (RFC 3414 section 2.4).
    let (us, ue) = Cursor::new(b, ps, pe).next(0x30)?;
    let mut u = Cursor::new(b, us, ue);
    let (es, ee) = u.octets()?;
    let boots = u.int31()?;
    let time = u.int31()?;
    let (ns, ne) = u.octets()?;
    let auth = u.octets()?;
    let (vs, ve) = u.octets()?;
    if ee - es > 32 || ne - ns > 32 {
        return None;
    }
    Some(Msg {
        msg_id,
        max_size,
        flags,
        model,
        engine_id: &b[es..ee],
        boots,
        time,
        user: &b[ns..ne],
        auth,
        privp: &b[vs..ve],
        data,
    })
}

/// A ScopedPDU: (contextEngineID, contextName, PDU TLV); trailing octets
/// (DES padding) are ignored.
fn parse_scoped(b: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (tag, s, e) = tlv(b, 0)?;
    if tag != 0x30 {
        return None;
    }
    let mut c = Cursor::new(b, s, e);
    let (es, ee) = c.octets()?;
    let (ns, ne) = c.octets()?;
    let (_, _, pe) = tlv(&b[..e], c.pos)?;
    Some((&b[es..ee], &b[ns..ne], &b[c.pos..pe]))
}

/// The request-id of a PDU TLV, without decoding the varbinds.
fn peek_request_id(pdu: &[u8]) -> Option<i32> {
    let (_, s, e) = tlv(pdu, 0)?;
    let mut c = Cursor::new(pdu, s, e);
    c.int().and_then(|v| i32::try_from(v).ok())
}

// ---------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------

/// The v3 message processing model and USM of this engine.
pub struct V3 {
    pub sec: Arc<SecState>,
    /// Local salt counter (RFC 3414 8.1.1.1, RFC 3826 3.1.2.1).
    salt: AtomicU64,
}

/// The security a response is sent with.
#[derive(Clone)]
struct Principal {
    user: Vec<u8>,
    auth: AuthProto,
    auth_key: Vec<u8>,
    privp: PrivProto,
    priv_key: Vec<u8>,
    level: Level,
}

impl Principal {
    fn none(user: &[u8]) -> Principal {
        Principal {
            user: user.to_vec(),
            auth: AuthProto::None,
            auth_key: Vec::new(),
            privp: PrivProto::None,
            priv_key: Vec::new(),
            level: Level::NoAuthNoPriv,
        }
    }
}

/// What to do with a datagram.
pub enum Outcome {
    Drop,
    /// A Report (or an authorizationError response) to send back.
    Reply(Vec<u8>),
    /// An authentic request for the command responder.
    Request(Box<V3Request>),
}

pub struct V3Request {
    pub req: Request,
    pub env: V3Envelope,
    pub acl: Acl,
}

/// Response envelope of one v3 request.
pub struct V3Envelope {
    v3: Arc<V3>,
    who: Principal,
    msg_id: u32,
    request_id: i32,
    context_name: Vec<u8>,
    max_size: usize,
}

impl Envelope for V3Envelope {
    fn is_v1(&self) -> bool {
        false
    }
    fn encode(&self, error_status: u32, error_index: u32, varbinds: Vec<VarBind>) -> Vec<u8> {
        let pdu = Pdus::Response(v2::Response(Pdu {
            request_id: self.request_id,
            error_status,
            error_index,
            variable_bindings: varbinds,
        }));
        self.v3
            .message(&self.who, self.msg_id, &self.context_name, &pdu, false)
    }
    fn max_size(&self) -> usize {
        // Room for encryption: DES padding and longer length fields of the
        // two layers the responder's budget does not see.
        self.max_size.saturating_sub(16)
    }
}

fn oid(o: &[u32]) -> ObjectIdentifier {
    ObjectIdentifier::new_unchecked(Cow::Owned(o.to_vec()))
}

impl V3 {
    pub fn new(sec: Arc<SecState>) -> V3 {
        let mut seed = [0u8; 8];
        if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
            let _ = std::io::Read::read_exact(&mut f, &mut seed);
        }
        let seed = u64::from_ne_bytes(seed)
            ^ std::time::SystemTime::now()
                .elapsed()
                .map_or(0, |d| d.as_nanos() as u64);
        V3 {
            sec,
            salt: AtomicU64::new(seed),
        }
    }

    fn stats(&self) -> &V3Stats {
        &self.sec.stats
    }

    /// A whole outgoing message (RFC 3412 7.1, RFC 3414 3.1).
    fn message(
        &self,
        who: &Principal,
        msg_id: u32,
        context_name: &[u8],
        pdu: &Pdus,
        reportable: bool,
    ) -> Vec<u8> {
        let pdu = rasn::ber::encode(pdu).expect("PDUs always encode");
        let mut scoped_body = tlv_bytes(0x04, &self.sec.engine_id);
        scoped_body.extend(tlv_bytes(0x04, context_name));
        scoped_body.extend(pdu);
        let scoped = tlv_bytes(0x30, &scoped_body);
        let boots = self.sec.boots;
        let time = self.sec.engine_time();
        let (data, priv_params) = if who.level == Level::AuthPriv {
            let salt = self.salt.fetch_add(1, Ordering::Relaxed);
            match usm::encrypt(who.privp, &who.priv_key, boots, time, salt, &scoped) {
                Some((c, p)) => (tlv_bytes(0x04, &c), p),
                None => (scoped, Vec::new()),
            }
        } else {
            (scoped, Vec::new())
        };
        let mac_len = if who.level >= Level::AuthNoPriv {
            usm::mac_len(who.auth)
        } else {
            0
        };
        let mut pre_auth = tlv_bytes(0x04, &self.sec.engine_id);
        pre_auth.extend(int_bytes(boots));
        pre_auth.extend(int_bytes(time));
        pre_auth.extend(tlv_bytes(0x04, &who.user));
        let auth_tlv = tlv_bytes(0x04, &vec![0u8; mac_len]);
        let priv_tlv = tlv_bytes(0x04, &priv_params);
        let usm_len = pre_auth.len() + auth_tlv.len() + priv_tlv.len();
        let usm_seq = header(0x30, usm_len);
        let usm_oct = header(0x04, usm_seq.len() + usm_len);
        let mut flags = match who.level {
            Level::NoAuthNoPriv => 0,
            Level::AuthNoPriv => FLAG_AUTH,
            Level::AuthPriv => FLAG_AUTH | FLAG_PRIV,
        };
        if reportable {
            flags |= FLAG_REPORTABLE;
        }
        let mut global = int_bytes(msg_id);
        global.extend(int_bytes(self.sec.max_msg_size));
        global.extend(tlv_bytes(0x04, &[flags]));
        global.extend(int_bytes(MODEL_USM));
        let global = tlv_bytes(0x30, &global);
        let version = int_bytes(3);
        let body =
            version.len() + global.len() + usm_oct.len() + usm_seq.len() + usm_len + data.len();
        let outer = header(0x30, body);
        let mut msg = Vec::with_capacity(outer.len() + body);
        msg.extend(outer);
        msg.extend(version);
        msg.extend(global);
        msg.extend(usm_oct);
        msg.extend(usm_seq);
        msg.extend(pre_auth);
        let mac_at = msg.len() + 2;
        msg.extend(auth_tlv);
        msg.extend(priv_tlv);
        msg.extend(data);
        if mac_len > 0 {
            let mac = usm::hmac(who.auth, &who.auth_key, &msg);
            msg[mac_at..mac_at + mac_len].copy_from_slice(&mac);
        }
        msg
    }

    /// A Report-PDU carrying one counter (RFC 3412 7.1.3.c, RFC 3414 3.2).
    fn report(
        &self,
        m: &Msg,
        who: &Principal,
        request_id: i32,
        counter: &[u32],
        value: u32,
    ) -> Outcome {
        if m.flags & FLAG_REPORTABLE == 0 {
            return Outcome::Drop;
        }
        let vb = VarBind {
            name: oid(&mib::oid::join(counter, &[0])),
            value: VarBindValue::Value(ObjectSyntax::ApplicationWide(ApplicationSyntax::Counter(
                rasn_smi::v1::Counter(value),
            ))),
        };
        let pdu = Pdus::Report(v2::Report(Pdu {
            request_id,
            error_status: 0,
            error_index: 0,
            variable_bindings: vec![vb],
        }));
        Outcome::Reply(self.message(who, m.msg_id, b"", &pdu, false))
    }

    /// Incoming processing of one SNMPv3 datagram. `limit` is the largest
    /// response this transport allows.
    pub fn process(
        self: &Arc<Self>,
        b: &[u8],
        limit: usize,
        asn_errors: &std::sync::atomic::AtomicU32,
    ) -> Outcome {
        let Some(m) = parse(b) else {
            mib::SnmpStats::inc(asn_errors);
            return Outcome::Drop;
        };
        if m.model != MODEL_USM {
            V3Stats::bump(&self.stats().unknown_security_models);
            return Outcome::Drop;
        }
        let level = match m.flags & (FLAG_AUTH | FLAG_PRIV) {
            0 => Level::NoAuthNoPriv,
            FLAG_AUTH => Level::AuthNoPriv,
            3 => Level::AuthPriv,
            _ => {
                // privacy without authentication (RFC 3412 7.2 step 5)
                V3Stats::bump(&self.stats().invalid_msgs);
                return Outcome::Drop;
            }
        };
        let plain_request_id = match m.data {
            Data::Plain(s, e) => parse_scoped(&b[s..e])
                .and_then(|(_, _, p)| peek_request_id(p))
                .unwrap_or(0),
            Data::Encrypted(..) => 0,
        };
        let anon = Principal::none(m.user);
        // RFC 3414 3.2 step 3: an engine ID not ours (discovery sends none).
        if m.engine_id != self.sec.engine_id.as_slice() {
            let n = V3Stats::bump(&self.stats().unknown_engine_ids);
            return self.report(&m, &anon, plain_request_id, m::USM_UNKNOWN_ENGINE_IDS, n);
        }
        // step 4: the user.
        let tables = self.sec.snapshot();
        let user: Option<&UserRow> = tables
            .users
            .get(&user_key(&self.sec.engine_id, m.user))
            .filter(|u| u.state == RowState::Active);
        let Some(user) = user else {
            let n = V3Stats::bump(&self.stats().unknown_user_names);
            tracing::info!(user = %String::from_utf8_lossy(m.user), "SNMPv3: unknown user name");
            return self.report(&m, &anon, plain_request_id, m::USM_UNKNOWN_USER_NAMES, n);
        };
        // step 5: the level must be one the user supports.
        let supported = match level {
            Level::NoAuthNoPriv => true,
            Level::AuthNoPriv => user.auth != AuthProto::None,
            Level::AuthPriv => user.auth != AuthProto::None && user.privp != PrivProto::None,
        };
        if !supported {
            let n = V3Stats::bump(&self.stats().unsupported_sec_levels);
            return self.report(
                &m,
                &anon,
                plain_request_id,
                m::USM_UNSUPPORTED_SEC_LEVELS,
                n,
            );
        }
        let who = Principal {
            user: m.user.to_vec(),
            auth: user.auth,
            auth_key: user.auth_key.clone(),
            privp: user.privp,
            priv_key: user.priv_key.clone(),
            level,
        };
        if level >= Level::AuthNoPriv {
            // step 6: the MAC over the whole message with the MAC zeroed.
            let (s, e) = m.auth;
            let ok = e - s == usm::mac_len(user.auth) && {
                let mut copy = b.to_vec();
                copy[s..e].fill(0);
                usm::mac_eq(&usm::hmac(user.auth, &user.auth_key, &copy), &b[s..e])
            };
            if !ok {
                let n = V3Stats::bump(&self.stats().wrong_digests);
                tracing::info!(user = %String::from_utf8_lossy(m.user), "SNMPv3: wrong digest");
                return self.report(&m, &anon, plain_request_id, m::USM_WRONG_DIGESTS, n);
            }
            // step 7: timeliness; the report is authenticated.
            let now = self.sec.engine_time() as i64;
            let late = self.sec.boots >= BOOTS_MAX
                || m.boots != self.sec.boots
                || (m.time as i64 - now).abs() > TIME_WINDOW;
            if late {
                let n = V3Stats::bump(&self.stats().not_in_time_windows);
                let mut w = who.clone();
                w.level = Level::AuthNoPriv;
                return self.report(&m, &w, plain_request_id, m::USM_NOT_IN_TIME_WINDOWS, n);
            }
        }
        // step 8: decryption.
        let plain: Vec<u8>;
        let scoped: &[u8] = match (level, &m.data) {
            (Level::AuthPriv, Data::Encrypted(s, e)) => {
                match usm::decrypt(
                    user.privp,
                    &user.priv_key,
                    m.boots,
                    m.time,
                    m.privp,
                    &b[*s..*e],
                ) {
                    Some(p) if parse_scoped(&p).is_some() => {
                        plain = p;
                        &plain
                    }
                    _ => {
                        let n = V3Stats::bump(&self.stats().decryption_errors);
                        tracing::info!(user = %String::from_utf8_lossy(m.user), "SNMPv3: decryption error");
                        return self.report(&m, &anon, 0, m::USM_DECRYPTION_ERRORS, n);
                    }
                }
            }
            (Level::AuthPriv, Data::Plain(..)) | (_, Data::Encrypted(..)) => {
                mib::SnmpStats::inc(asn_errors);
                return Outcome::Drop;
            }
            (_, Data::Plain(s, e)) => &b[*s..*e],
        };
        let Some((ctx_engine, ctx_name, pdu)) = parse_scoped(scoped) else {
            mib::SnmpStats::inc(asn_errors);
            return Outcome::Drop;
        };
        let request_id = peek_request_id(pdu).unwrap_or(0);
        // RFC 3413 3.2: a PDU for another engine has no handler here (no proxy).
        if !ctx_engine.is_empty() && ctx_engine != self.sec.engine_id.as_slice() {
            let n = V3Stats::bump(&self.stats().unknown_pdu_handlers);
            return self.report(&m, &who, request_id, m::UNKNOWN_PDU_HANDLERS, n);
        }
        let Some(req) = decode_pdu(pdu) else {
            mib::SnmpStats::inc(asn_errors);
            return Outcome::Drop;
        };
        let Some(req) = req else {
            // A Response, Report or notification: nothing to answer.
            return Outcome::Drop;
        };
        let env = V3Envelope {
            v3: self.clone(),
            who: who.clone(),
            msg_id: m.msg_id,
            request_id: req.request_id,
            context_name: ctx_name.to_vec(),
            max_size: limit.min(m.max_size as usize),
        };
        match vacm::resolve(&tables, MODEL_USM, &user.security_name, level, ctx_name) {
            Ok(acl) => Outcome::Request(Box::new(V3Request { req, env, acl })),
            Err(Denied::NoSuchContext) => {
                let n = V3Stats::bump(&self.stats().unknown_contexts);
                self.report(&m, &who, request_id, m::UNKNOWN_CONTEXTS, n)
            }
            Err(why) => {
                tracing::info!(user = %String::from_utf8_lossy(m.user), ?why, "SNMPv3: access denied");
                Outcome::Reply(denied(&req, &env))
            }
        }
    }
}

/// authorizationError for a whole PDU (RFC 3413 3.2 step 5, RFC 3415).
pub fn denied(req: &Request, env: &dyn Envelope) -> Vec<u8> {
    let vbs = req
        .varbinds
        .iter()
        .map(|(n, v)| wire::varbind(n, &mib::VarResult::Value(v.clone())))
        .collect();
    if env.is_v1() {
        env.encode(ErrorStatus::NoSuchName as u32, 1, vbs)
    } else {
        env.encode(ErrorStatus::AuthorizationError as u32, 0, vbs)
    }
}

/// A request PDU; `Some(None)` for PDUs a command responder ignores.
fn decode_pdu(pdu: &[u8]) -> Option<Option<Request>> {
    let p: Pdus = std::panic::catch_unwind(|| rasn::ber::decode::<Pdus>(pdu))
        .ok()?
        .ok()?;
    let (kind, id, vbs) = match p {
        Pdus::GetRequest(p) => (Kind::Get, p.0.request_id, p.0.variable_bindings),
        Pdus::GetNextRequest(p) => (Kind::GetNext, p.0.request_id, p.0.variable_bindings),
        Pdus::SetRequest(p) => (Kind::Set, p.0.request_id, p.0.variable_bindings),
        Pdus::GetBulkRequest(p) => (
            Kind::GetBulk {
                non_repeaters: p.0.non_repeaters,
                max_repetitions: p.0.max_repetitions,
            },
            p.0.request_id,
            p.0.variable_bindings,
        ),
        _ => return Some(None),
    };
    Some(Some(Request {
        version: Version::V3,
        community: Vec::new(),
        kind,
        request_id: id,
        varbinds: vbs
            .iter()
            .map(|vb| (vb.name.to_vec(), wire::value_of(&vb.value)))
            .collect(),
    }))
}

// ---------------------------------------------------------------------------
// Start-up: engine ID, boots, and the security tables
// ---------------------------------------------------------------------------

/// What the configuration says about SNMPv3 security.
#[derive(Debug, Clone, Default)]
pub struct SecurityConf {
    /// snmpEngineID from the configuration (else generated once and kept).
    pub engine_id: Option<Vec<u8>>,
    pub users: Vec<usm::UserConf>,
    pub groups: Vec<vacm::GroupConf>,
    pub access: Vec<vacm::AccessConf>,
    pub views: Vec<vacm::ViewConf>,
}

/// A new snmpEngineID in RFC 3411 format under the enterprise number:
/// 0x80 | enterprise (4 octets), format 5 (octets), 8 random octets.
fn new_engine_id() -> Vec<u8> {
    let ent = *mib::oid::ENTERPRISE.last().expect("enterprise number");
    let mut id = (0x8000_0000u32 | ent).to_be_bytes().to_vec();
    id.push(5);
    let mut r = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut r);
    }
    if r == [0; 8] {
        r = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64))
        .to_be_bytes();
    }
    id.extend_from_slice(&r);
    id
}

/// Build the engine's security state: the engine ID (configured, stored, or
/// new and stored), snmpEngineBoots (the store's boot count), the stored
/// rows, and the configuration file's rows as permanent rows over them. A
/// stored permanent row (a file row whose keys were changed over SNMP) is
/// kept while the file still says the same about it, and removed when the
/// file no longer has it.
pub fn bootstrap(
    store: &vpn_core::Store,
    conf: &SecurityConf,
    communities: (&[u8], &[u8]),
    max_msg_size: u32,
) -> anyhow::Result<Arc<SecState>> {
    use vpn_core::security::{group_key, SecChange, SecRow, SecTable, Security};
    use vpn_core::{Change, Storage};
    let stored_id = Security::load_engine_id(store.db())?;
    let engine_id = match (&conf.engine_id, stored_id) {
        (Some(c), Some(s)) if *c != s => {
            tracing::warn!("snmpEngineID set in the configuration differs from the stored one: keys of users created over SNMP no longer match");
            c.clone()
        }
        (Some(c), _) => c.clone(),
        (None, Some(s)) => s,
        (None, None) => {
            let id = new_engine_id();
            Security::save_engine_id(store.db(), &id)?;
            id
        }
    };
    let mut t = Security::load(store.db())?;
    let mut stale = Vec::new();
    // Rows of the file (and the built-in ones) win over what is stored.
    let mut users = std::collections::BTreeMap::new();
    let mut groups = std::collections::BTreeMap::new();
    let mut access = std::collections::BTreeMap::new();
    let mut views = std::collections::BTreeMap::new();
    for u in &conf.users {
        let row = u.row(&engine_id);
        if let Some(g) = &u.group {
            groups.insert(
                group_key(MODEL_USM, u.name.as_bytes()),
                vpn_core::security::GroupRow {
                    group: g.clone().into_bytes(),
                    storage: Storage::Permanent,
                    state: RowState::Active,
                },
            );
        }
        users.insert(user_key(&engine_id, u.name.as_bytes()), row);
    }
    for g in &conf.groups {
        let (k, r) = g.row().map_err(anyhow::Error::msg)?;
        groups.insert(k, r);
    }
    for a in &conf.access {
        let (k, r) = a.row().map_err(anyhow::Error::msg)?;
        access.insert(k, r);
    }
    for v in &conf.views {
        let (k, r) = v.row().map_err(anyhow::Error::msg)?;
        views.insert(k, r);
    }
    let (bg, ba, bv) = vacm::builtin_rows(communities.0, communities.1);
    for (k, r) in bg {
        groups.entry(k).or_insert(r);
    }
    for (k, r) in ba {
        access.entry(k).or_insert(r);
    }
    let all_configured = conf.views.iter().any(|v| v.name == "all");
    for (k, r) in bv {
        if !all_configured {
            views.entry(k).or_insert(r);
        }
    }
    // A stored permanent row the file no longer has goes.
    for (k, r) in t.users.iter() {
        if r.storage == Storage::Permanent && !users.contains_key(k) {
            stale.push(Change::Security(SecChange::Del(SecTable::User, k.clone())));
        }
    }
    for (k, r) in t.groups.iter() {
        if r.storage == Storage::Permanent && !groups.contains_key(k) {
            stale.push(Change::Security(SecChange::Del(SecTable::Group, k.clone())));
        }
    }
    for (k, r) in t.access.iter() {
        if r.storage == Storage::Permanent && !access.contains_key(k) {
            stale.push(Change::Security(SecChange::Del(
                SecTable::Access,
                k.clone(),
            )));
        }
    }
    for (k, r) in t.views.iter() {
        if r.storage == Storage::Permanent && !views.contains_key(k) {
            stale.push(Change::Security(SecChange::Del(SecTable::View, k.clone())));
        }
    }
    if let Some(n) = t.apply(&stale) {
        t = n;
    }
    let mut put = Vec::new();
    for (k, r) in users {
        match t.users.get(&k) {
            // Same file entry: keep the stored keys (rotated with KeyChange).
            Some(old) if old.storage == Storage::Permanent && old.origin == r.origin => {}
            Some(old) if old.storage == Storage::Permanent => {
                // The file changed: its keys win, and the stored ones go.
                stale.push(Change::Security(SecChange::Del(SecTable::User, k.clone())));
                put.push(SecChange::Put(k, SecRow::User(r)));
            }
            _ => put.push(SecChange::Put(k, SecRow::User(r))),
        }
    }
    for (k, r) in groups {
        put.push(SecChange::Put(k, SecRow::Group(r)));
    }
    for (k, r) in access {
        put.push(SecChange::Put(k, SecRow::Access(r)));
    }
    for (k, r) in views {
        put.push(SecChange::Put(k, SecRow::View(r)));
    }
    let put: Vec<Change> = put.into_iter().map(Change::Security).collect();
    if let Some(n) = t.apply(&put) {
        t = n;
    }
    if !stale.is_empty() {
        store.commit(vpn_core::clock::ticks(), stale)?;
    }
    tracing::info!(
        engine_id = %engine_id.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        boots = store.boots(),
        users = t.users.len(),
        groups = t.groups.len(),
        access = t.access.len(),
        views = t.views.len(),
        "SNMPv3 engine"
    );
    Ok(Arc::new(SecState::new(
        engine_id,
        store.boots(),
        max_msg_size,
        t,
        usm::key_change,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vpn_core::security::Security;
    use vpn_core::Storage;

    fn engine() -> Arc<V3> {
        let eid = b"\x80\x00\x7e\xd9\x05abcdefgh".to_vec();
        let mut t = Security::default();
        let mut u = UserRow::new(b"u", Storage::Permanent);
        u.auth = AuthProto::Sha256;
        u.auth_key = usm::auth_key(AuthProto::Sha256, b"authpass123", &eid);
        u.privp = PrivProto::Aes128;
        u.priv_key = usm::priv_key(AuthProto::Sha256, PrivProto::Aes128, b"privpass123", &eid);
        u.cloned = true;
        u.state = RowState::Active;
        t.users.insert(user_key(&eid, b"u"), u);
        let (g, a, v) = vacm::builtin_rows(b"u", b"w");
        for (k, mut r) in g {
            r.group = b"u".to_vec();
            t.groups.insert(k, r);
        }
        t.groups.insert(
            vpn_core::security::group_key(MODEL_USM, b"u"),
            vpn_core::security::GroupRow {
                group: b"u".to_vec(),
                storage: Storage::Permanent,
                state: RowState::Active,
            },
        );
        t.access.extend(a);
        t.views.extend(v);
        Arc::new(V3::new(Arc::new(SecState::new(
            eid,
            7,
            1472,
            t,
            usm::key_change,
        ))))
    }

    #[test]
    fn own_messages_parse_and_authenticate() {
        let v3 = engine();
        let t = v3.sec.snapshot();
        let u = t.users.values().next().unwrap();
        let who = Principal {
            user: b"u".to_vec(),
            auth: u.auth,
            auth_key: u.auth_key.clone(),
            privp: u.privp,
            priv_key: u.priv_key.clone(),
            level: Level::AuthPriv,
        };
        // A GetRequest built the way responses are built parses back.
        let pdu = Pdus::GetRequest(v2::GetRequest(Pdu {
            request_id: 99,
            error_status: 0,
            error_index: 0,
            variable_bindings: vec![VarBind {
                name: oid(&[1, 3, 6, 1, 2, 1, 1, 5, 0]),
                value: VarBindValue::Unspecified,
            }],
        }));
        let msg = v3.message(&who, 1234, b"", &pdu, true);
        let n = std::sync::atomic::AtomicU32::new(0);
        match v3.process(&msg, 1472, &n) {
            Outcome::Request(r) => {
                assert_eq!(r.req.request_id, 99);
                assert_eq!(r.req.kind, Kind::Get);
                assert_eq!(r.env.msg_id, 1234);
            }
            _ => panic!("not accepted"),
        }
        // One flipped bit anywhere in the MAC'd message: wrong digest (or a
        // parse error), never accepted.
        for i in (0..msg.len()).step_by(3) {
            let mut bad = msg.clone();
            bad[i] ^= 0x10;
            assert!(
                !matches!(v3.process(&bad, 1472, &n), Outcome::Request(_)),
                "byte {i}"
            );
        }
        assert!(V3Stats::read(&v3.sec.stats.wrong_digests) > 0);
        // Truncations never panic.
        for l in 0..msg.len() {
            let _ = v3.process(&msg[..l], 1472, &n);
        }
    }

    #[test]
    fn discovery_gets_a_report_with_the_engine_id() {
        let v3 = engine();
        let who = Principal::none(b"");
        let pdu = Pdus::GetRequest(v2::GetRequest(Pdu {
            request_id: 5,
            error_status: 0,
            error_index: 0,
            variable_bindings: vec![],
        }));
        // Our own encoder with another engine's ID (empty).
        let other = Arc::new(V3::new(Arc::new(SecState::new(
            Vec::new(),
            0,
            1472,
            Security::default(),
            usm::key_change,
        ))));
        let msg = other.message(&who, 77, b"", &pdu, true);
        let n = std::sync::atomic::AtomicU32::new(0);
        let Outcome::Reply(r) = v3.process(&msg, 1472, &n) else {
            panic!("no report")
        };
        let m = parse(&r).unwrap();
        assert_eq!(m.engine_id, v3.sec.engine_id.as_slice());
        assert_eq!((m.msg_id, m.boots, m.flags), (77, 7, 0));
        assert_eq!(V3Stats::read(&v3.sec.stats.unknown_engine_ids), 1);
    }
}
