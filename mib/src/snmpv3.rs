//! The SNMPv3 engine's own objects:
//! - SNMP-FRAMEWORK-MIB (RFC 3411) snmpEngine group;
//! - SNMP-MPD-MIB (RFC 3412) snmpMPDStats;
//! - SNMP-TARGET-MIB's snmpUnavailableContexts / snmpUnknownContexts counters
//!   (RFC 3413), which the command responder counts;
//! - SNMP-USER-BASED-SM-MIB (RFC 3414) usmStats, usmUserSpinLock and
//!   usmUserTable (read-create, clone-from, KeyChange; RFC 7860's SHA-2 and
//!   RFC 3826's AES protocol identifiers);
//! - SNMP-VIEW-BASED-ACM-MIB (RFC 3415) vacmContextTable (one context, ""),
//!   vacmSecurityToGroupTable, vacmAccessTable, vacmViewSpinLock and
//!   vacmViewTreeFamilyTable, read-create.
//!
//! The tables read [`SecState::tables`], swapped after each commit that
//! changes them ([`SecState::committed`]). SETs become
//! [`vpn_core::Change::Security`] changes committed with the rest of the PDU.
//! Key material is never returned: every KeyChange column reads as the empty
//! string (RFC 3414 section 5).

use crate::error::{ErrorStatus, SetError};
use crate::index::{self, Part};
use crate::oid::Oid;
use crate::rowstatus::{first_where, group_by, last_status, Edit, Next, RowRules, RowStatus};
use crate::tree::{Subtree, Table, TableTree};
use crate::value::Value;
use crate::view::View;
use arc_swap::ArcSwap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;
use vpn_core::security::*;
use vpn_core::{Change, RowState, Storage};

use ErrorStatus::*;

pub const SNMP_MODULES: &[u32] = &[1, 3, 6, 1, 6, 3];
pub const SNMP_ENGINE: &[u32] = &[1, 3, 6, 1, 6, 3, 10, 2, 1];
pub const ENGINE_ID: &[u32] = &[1, 3, 6, 1, 6, 3, 10, 2, 1, 1];
pub const ENGINE_BOOTS: &[u32] = &[1, 3, 6, 1, 6, 3, 10, 2, 1, 2];
pub const ENGINE_TIME: &[u32] = &[1, 3, 6, 1, 6, 3, 10, 2, 1, 3];
pub const ENGINE_MAX_MSG: &[u32] = &[1, 3, 6, 1, 6, 3, 10, 2, 1, 4];
pub const MPD_STATS: &[u32] = &[1, 3, 6, 1, 6, 3, 11, 2, 1];
pub const UNKNOWN_SECURITY_MODELS: &[u32] = &[1, 3, 6, 1, 6, 3, 11, 2, 1, 1];
pub const INVALID_MSGS: &[u32] = &[1, 3, 6, 1, 6, 3, 11, 2, 1, 2];
pub const UNKNOWN_PDU_HANDLERS: &[u32] = &[1, 3, 6, 1, 6, 3, 11, 2, 1, 3];
pub const UNAVAILABLE_CONTEXTS: &[u32] = &[1, 3, 6, 1, 6, 3, 12, 1, 4];
pub const UNKNOWN_CONTEXTS: &[u32] = &[1, 3, 6, 1, 6, 3, 12, 1, 5];
pub const USM_MIB: &[u32] = &[1, 3, 6, 1, 6, 3, 15];
pub const USM_STATS: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 1];
pub const USM_UNSUPPORTED_SEC_LEVELS: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 1, 1];
pub const USM_NOT_IN_TIME_WINDOWS: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 1, 2];
pub const USM_UNKNOWN_USER_NAMES: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 1, 3];
pub const USM_UNKNOWN_ENGINE_IDS: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 1, 4];
pub const USM_WRONG_DIGESTS: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 1, 5];
pub const USM_DECRYPTION_ERRORS: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 1, 6];
pub const USM_USER_SPIN_LOCK: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 2, 1];
pub const USM_USER_ENTRY: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 2, 2, 1];
pub const VACM_MIB: &[u32] = &[1, 3, 6, 1, 6, 3, 16];
pub const VACM_CONTEXT_ENTRY: &[u32] = &[1, 3, 6, 1, 6, 3, 16, 1, 1, 1];
pub const VACM_GROUP_ENTRY: &[u32] = &[1, 3, 6, 1, 6, 3, 16, 1, 2, 1];
pub const VACM_ACCESS_ENTRY: &[u32] = &[1, 3, 6, 1, 6, 3, 16, 1, 4, 1];
pub const VACM_VIEW_SPIN_LOCK: &[u32] = &[1, 3, 6, 1, 6, 3, 16, 1, 5, 1];
pub const VACM_VIEW_ENTRY: &[u32] = &[1, 3, 6, 1, 6, 3, 16, 1, 5, 2, 1];

pub const USER_INDEX: &[Part] = &[Part::Octets { max: 32 }, Part::Octets { max: 32 }];
pub const GROUP_INDEX: &[Part] = &[Part::U32, Part::Octets { max: 32 }];
pub const ACCESS_INDEX: &[Part] = &[
    Part::Octets { max: 32 },
    Part::Octets { max: 32 },
    Part::U32,
    Part::U32,
];
pub const VIEW_INDEX: &[Part] = &[Part::Octets { max: 32 }, Part::Oid { max: 128 }];
const CONTEXT_INDEX: &[Part] = &[Part::Octets { max: 32 }];

/// usmUserEntry columns.
pub mod user_col {
    pub const SECURITY_NAME: u32 = 3;
    pub const CLONE_FROM: u32 = 4;
    pub const AUTH_PROTOCOL: u32 = 5;
    pub const AUTH_KEY_CHANGE: u32 = 6;
    pub const OWN_AUTH_KEY_CHANGE: u32 = 7;
    pub const PRIV_PROTOCOL: u32 = 8;
    pub const PRIV_KEY_CHANGE: u32 = 9;
    pub const OWN_PRIV_KEY_CHANGE: u32 = 10;
    pub const PUBLIC: u32 = 11;
    pub const STORAGE_TYPE: u32 = 12;
    pub const STATUS: u32 = 13;
}

/// Security models (RFC 3411 SnmpSecurityModel).
pub const MODEL_ANY: u32 = 0;
pub const MODEL_V1: u32 = 1;
pub const MODEL_V2C: u32 = 2;
pub const MODEL_USM: u32 = 3;

/// Security levels (RFC 3411 SnmpSecurityLevel).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    NoAuthNoPriv = 1,
    AuthNoPriv = 2,
    AuthPriv = 3,
}

const AUTH_BASE: &[u32] = &[1, 3, 6, 1, 6, 3, 10, 1, 1];
const PRIV_BASE: &[u32] = &[1, 3, 6, 1, 6, 3, 10, 1, 2];
/// draft-blumenthal-aes-usm-04 (net-snmp's AES-192/AES-256).
const AES192_BLUMENTHAL: &[u32] = &[1, 3, 6, 1, 4, 1, 14832, 1, 3];
const AES256_BLUMENTHAL: &[u32] = &[1, 3, 6, 1, 4, 1, 14832, 1, 4];
/// Cisco's (Reeder key extension).
const AES192_REEDER: &[u32] = &[1, 3, 6, 1, 4, 1, 9, 12, 6, 1, 1];
const AES256_REEDER: &[u32] = &[1, 3, 6, 1, 4, 1, 9, 12, 6, 1, 2];

/// The AutonomousType identifying an authentication protocol.
pub fn auth_oid(a: AuthProto) -> Oid {
    let n = match a {
        AuthProto::None => 1,
        AuthProto::Md5 => 2,
        AuthProto::Sha1 => 3,
        AuthProto::Sha224 => 4,
        AuthProto::Sha256 => 5,
        AuthProto::Sha384 => 6,
        AuthProto::Sha512 => 7,
    };
    crate::oid::join(AUTH_BASE, &[n])
}

pub fn auth_of(o: &[u32]) -> Option<AuthProto> {
    if o.len() != AUTH_BASE.len() + 1 || !o.starts_with(AUTH_BASE) {
        return None;
    }
    Some(match o[AUTH_BASE.len()] {
        1 => AuthProto::None,
        2 => AuthProto::Md5,
        3 => AuthProto::Sha1,
        4 => AuthProto::Sha224,
        5 => AuthProto::Sha256,
        6 => AuthProto::Sha384,
        7 => AuthProto::Sha512,
        _ => return None,
    })
}

/// The AutonomousType identifying a privacy protocol.
pub fn priv_oid(p: PrivProto) -> Oid {
    match p {
        PrivProto::None => crate::oid::join(PRIV_BASE, &[1]),
        PrivProto::Des => crate::oid::join(PRIV_BASE, &[2]),
        PrivProto::Aes128 => crate::oid::join(PRIV_BASE, &[4]),
        PrivProto::Aes192 => AES192_BLUMENTHAL.to_vec(),
        PrivProto::Aes256 => AES256_BLUMENTHAL.to_vec(),
        PrivProto::Aes192Reeder => AES192_REEDER.to_vec(),
        PrivProto::Aes256Reeder => AES256_REEDER.to_vec(),
    }
}

pub fn priv_of(o: &[u32]) -> Option<PrivProto> {
    [
        PrivProto::None,
        PrivProto::Des,
        PrivProto::Aes128,
        PrivProto::Aes192,
        PrivProto::Aes256,
        PrivProto::Aes192Reeder,
        PrivProto::Aes256Reeder,
    ]
    .into_iter()
    .find(|p| priv_oid(*p) == o)
}

/// The counters of message processing, USM and the command responder.
#[derive(Default, Debug)]
pub struct V3Stats {
    pub unknown_security_models: AtomicU32,
    pub invalid_msgs: AtomicU32,
    pub unknown_pdu_handlers: AtomicU32,
    pub unavailable_contexts: AtomicU32,
    pub unknown_contexts: AtomicU32,
    pub unsupported_sec_levels: AtomicU32,
    pub not_in_time_windows: AtomicU32,
    pub unknown_user_names: AtomicU32,
    pub unknown_engine_ids: AtomicU32,
    pub wrong_digests: AtomicU32,
    pub decryption_errors: AtomicU32,
}

impl V3Stats {
    /// Count one and return the new value (Report PDUs carry it).
    pub fn bump(c: &AtomicU32) -> u32 {
        c.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
    }
    pub fn read(c: &AtomicU32) -> u32 {
        c.load(Ordering::Relaxed)
    }
}

/// KeyChange (RFC 3414 section 5): (hash protocol, old key, value) -> new key.
pub type KeyChangeFn = fn(AuthProto, &[u8], &[u8]) -> Option<Vec<u8>>;

/// The local SNMP engine and its security tables.
pub struct SecState {
    /// snmpEngineID (RFC 3411).
    pub engine_id: Vec<u8>,
    /// snmpEngineBoots: persisted, counted at every start.
    pub boots: u32,
    /// snmpEngineTime counts from here.
    pub start: Instant,
    /// snmpEngineMaxMessageSize.
    pub max_msg_size: u32,
    pub tables: ArcSwap<Security>,
    pub stats: V3Stats,
    pub key_change: KeyChangeFn,
}

impl SecState {
    pub fn new(
        engine_id: Vec<u8>,
        boots: u32,
        max_msg_size: u32,
        tables: Security,
        key_change: KeyChangeFn,
    ) -> SecState {
        SecState {
            engine_id,
            boots: boots.min(i32::MAX as u32),
            start: Instant::now(),
            max_msg_size,
            tables: ArcSwap::from_pointee(tables),
            stats: V3Stats::default(),
            key_change,
        }
    }

    /// snmpEngineTime: seconds since this start (RFC 3414 2.2.2 caps it).
    pub fn engine_time(&self) -> u32 {
        self.start.elapsed().as_secs().min(i32::MAX as u64) as u32
    }

    pub fn snapshot(&self) -> Arc<Security> {
        self.tables.load_full()
    }

    /// Take the security part of committed changes into the served tables.
    pub fn committed(&self, eff: &[Change]) {
        if let Some(s) = self.tables.load().apply(eff) {
            self.tables.store(Arc::new(s));
        }
    }
}

/// Whether a SET of `oid` is for this module (rather than [`crate::set`]).
pub fn owns(oid: &[u32]) -> bool {
    [
        SNMP_ENGINE,
        MPD_STATS,
        UNAVAILABLE_CONTEXTS,
        UNKNOWN_CONTEXTS,
        USM_MIB,
        VACM_MIB,
    ]
    .iter()
    .any(|p| oid.starts_with(p))
}

/// Whether a varbind's value is key material that must not be logged.
pub fn is_secret(oid: &[u32]) -> bool {
    use user_col::*;
    oid.len() > USM_USER_ENTRY.len()
        && oid.starts_with(USM_USER_ENTRY)
        && matches!(
            oid[USM_USER_ENTRY.len()],
            AUTH_KEY_CHANGE | OWN_AUTH_KEY_CHANGE | PRIV_KEY_CHANGE | OWN_PRIV_KEY_CHANGE
        )
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

fn counter(
    sec: &Arc<SecState>,
    oid: &'static [u32],
    read: fn(&SecState) -> Value,
) -> Box<dyn Subtree> {
    Box::new(crate::tree::StateScalar {
        oid,
        state: sec.clone(),
        read,
    })
}

/// Every subtree this module serves.
pub fn subtrees(sec: &Arc<SecState>) -> Vec<Box<dyn Subtree>> {
    vec![
        counter(sec, ENGINE_ID, |s| Value::OctetString(s.engine_id.clone())),
        counter(sec, ENGINE_BOOTS, |s| Value::Integer(s.boots as i32)),
        counter(sec, ENGINE_TIME, |s| Value::Integer(s.engine_time() as i32)),
        counter(sec, ENGINE_MAX_MSG, |s| {
            Value::Integer(s.max_msg_size as i32)
        }),
        counter(sec, UNKNOWN_SECURITY_MODELS, |s| {
            Value::Counter32(V3Stats::read(&s.stats.unknown_security_models))
        }),
        counter(sec, INVALID_MSGS, |s| {
            Value::Counter32(V3Stats::read(&s.stats.invalid_msgs))
        }),
        counter(sec, UNKNOWN_PDU_HANDLERS, |s| {
            Value::Counter32(V3Stats::read(&s.stats.unknown_pdu_handlers))
        }),
        counter(sec, UNAVAILABLE_CONTEXTS, |s| {
            Value::Counter32(V3Stats::read(&s.stats.unavailable_contexts))
        }),
        counter(sec, UNKNOWN_CONTEXTS, |s| {
            Value::Counter32(V3Stats::read(&s.stats.unknown_contexts))
        }),
        counter(sec, USM_UNSUPPORTED_SEC_LEVELS, |s| {
            Value::Counter32(V3Stats::read(&s.stats.unsupported_sec_levels))
        }),
        counter(sec, USM_NOT_IN_TIME_WINDOWS, |s| {
            Value::Counter32(V3Stats::read(&s.stats.not_in_time_windows))
        }),
        counter(sec, USM_UNKNOWN_USER_NAMES, |s| {
            Value::Counter32(V3Stats::read(&s.stats.unknown_user_names))
        }),
        counter(sec, USM_UNKNOWN_ENGINE_IDS, |s| {
            Value::Counter32(V3Stats::read(&s.stats.unknown_engine_ids))
        }),
        counter(sec, USM_WRONG_DIGESTS, |s| {
            Value::Counter32(V3Stats::read(&s.stats.wrong_digests))
        }),
        counter(sec, USM_DECRYPTION_ERRORS, |s| {
            Value::Counter32(V3Stats::read(&s.stats.decryption_errors))
        }),
        counter(sec, USM_USER_SPIN_LOCK, |s| {
            Value::Integer(s.tables.load().spin_lock as i32)
        }),
        counter(sec, VACM_VIEW_SPIN_LOCK, |s| {
            Value::Integer(s.tables.load().view_spin_lock as i32)
        }),
        Box::new(TableTree(SecTableView {
            sec: sec.clone(),
            which: Which::User,
        })),
        Box::new(TableTree(SecTableView {
            sec: sec.clone(),
            which: Which::Context,
        })),
        Box::new(TableTree(SecTableView {
            sec: sec.clone(),
            which: Which::Group,
        })),
        Box::new(TableTree(SecTableView {
            sec: sec.clone(),
            which: Which::Access,
        })),
        Box::new(TableTree(SecTableView {
            sec: sec.clone(),
            which: Which::View,
        })),
    ]
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    User,
    Context,
    Group,
    Access,
    View,
}

struct SecTableView {
    sec: Arc<SecState>,
    which: Which,
}

fn next_in<V: Clone>(map: &imbl::OrdMap<Vec<u8>, V>, from: Bound<&[u8]>) -> Option<Vec<u8>> {
    map.range::<_, [u8]>((from, Bound::Unbounded))
        .next()
        .map(|(k, _)| k.clone())
}

fn storage_val(s: Storage) -> Value {
    Value::Integer(s as i32)
}

fn status_val(s: RowState) -> Value {
    Value::Integer(RowStatus::of(s))
}

impl Table for SecTableView {
    fn entry(&self) -> &'static [u32] {
        match self.which {
            Which::User => USM_USER_ENTRY,
            Which::Context => VACM_CONTEXT_ENTRY,
            Which::Group => VACM_GROUP_ENTRY,
            Which::Access => VACM_ACCESS_ENTRY,
            Which::View => VACM_VIEW_ENTRY,
        }
    }
    fn columns(&self) -> &'static [u32] {
        match self.which {
            Which::User => &[3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
            Which::Context => &[1],
            Which::Group => &[3, 4, 5],
            Which::Access => &[4, 5, 6, 7, 8, 9],
            Which::View => &[3, 4, 5, 6],
        }
    }
    fn index(&self) -> &'static [Part] {
        match self.which {
            Which::User => USER_INDEX,
            Which::Context => CONTEXT_INDEX,
            Which::Group => GROUP_INDEX,
            Which::Access => ACCESS_INDEX,
            Which::View => VIEW_INDEX,
        }
    }
    fn next_key(&self, _v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>> {
        let t = self.sec.tables.load();
        match self.which {
            Which::User => next_in(&t.users, from),
            Which::Group => next_in(&t.groups, from),
            Which::Access => next_in(&t.access, from),
            Which::View => next_in(&t.views, from),
            // The one context: "" (key: a zero length octet).
            Which::Context => {
                let k: &[u8] = &[0];
                let ok = match from {
                    Bound::Unbounded => true,
                    Bound::Included(b) => k >= b,
                    Bound::Excluded(b) => k > b,
                };
                ok.then(|| k.to_vec())
            }
        }
    }
    fn cell(&self, _v: &View, key: &[u8], col: u32) -> Option<Value> {
        let t = self.sec.tables.load();
        let os = |b: &[u8]| Value::OctetString(b.to_vec());
        match self.which {
            Which::User => {
                let r = t.users.get(key)?;
                use user_col::*;
                Some(match col {
                    SECURITY_NAME => os(&r.security_name),
                    // RowPointer: zeroDotZero when read (RFC 3414).
                    CLONE_FROM => Value::ObjectId(vec![0, 0]),
                    AUTH_PROTOCOL => Value::ObjectId(auth_oid(r.auth)),
                    AUTH_KEY_CHANGE | OWN_AUTH_KEY_CHANGE | PRIV_KEY_CHANGE
                    | OWN_PRIV_KEY_CHANGE => os(b""),
                    PRIV_PROTOCOL => Value::ObjectId(priv_oid(r.privp)),
                    PUBLIC => os(&r.public),
                    STORAGE_TYPE => storage_val(r.storage),
                    STATUS => status_val(r.state),
                    _ => return None,
                })
            }
            Which::Context => (key == [0] && col == 1).then(|| os(b"")),
            Which::Group => {
                let r = t.groups.get(key)?;
                Some(match col {
                    3 => os(&r.group),
                    4 => storage_val(r.storage),
                    5 => status_val(r.state),
                    _ => return None,
                })
            }
            Which::Access => {
                let r = t.access.get(key)?;
                Some(match col {
                    4 => Value::Integer(if r.exact { 1 } else { 2 }),
                    5 => os(&r.read),
                    6 => os(&r.write),
                    7 => os(&r.notify),
                    8 => storage_val(r.storage),
                    9 => status_val(r.state),
                    _ => return None,
                })
            }
            Which::View => {
                let r = t.views.get(key)?;
                Some(match col {
                    3 => os(&r.mask),
                    4 => Value::Integer(if r.included { 1 } else { 2 }),
                    5 => storage_val(r.storage),
                    6 => status_val(r.state),
                    _ => return None,
                })
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Writes (RFC 3416 4.2.5; the row rules of RFC 3414 section 5 and RFC 3415)
// ---------------------------------------------------------------------------

#[derive(Debug)]
enum UserCol {
    CloneFrom(Vec<u8>),
    Auth(AuthProto),
    AuthKc(Vec<u8>),
    Priv(PrivProto),
    PrivKc(Vec<u8>),
    Public(Vec<u8>),
    Storage(Storage),
    Status(RowStatus),
}

#[derive(Debug)]
enum GroupCol {
    Name(Vec<u8>),
    Storage(Storage),
    Status(RowStatus),
}

#[derive(Debug)]
enum AccessCol {
    Match(bool),
    Read(Vec<u8>),
    Write(Vec<u8>),
    Notify(Vec<u8>),
    Storage(Storage),
    Status(RowStatus),
}

#[derive(Debug)]
enum ViewCol {
    Mask(Vec<u8>),
    Type(bool),
    Storage(Storage),
    Status(RowStatus),
}

enum Target {
    UserSpin(u32),
    ViewSpin(u32),
    User(Vec<u8>, UserCol),
    Group(Vec<u8>, GroupCol),
    Access(Vec<u8>, AccessCol),
    View(Vec<u8>, ViewCol),
}

fn octets(v: &Value, min: usize, max: usize) -> Result<Vec<u8>, ErrorStatus> {
    match v {
        Value::OctetString(b) if (min..=max).contains(&b.len()) => Ok(b.clone()),
        Value::OctetString(_) => Err(WrongLength),
        _ => Err(WrongType),
    }
}

fn integer(v: &Value) -> Result<i32, ErrorStatus> {
    match v {
        Value::Integer(i) => Ok(*i),
        _ => Err(WrongType),
    }
}

fn oid_value(v: &Value) -> Result<&[u32], ErrorStatus> {
    match v {
        Value::ObjectId(o) => Ok(o),
        _ => Err(WrongType),
    }
}

fn storage(v: &Value) -> Result<Storage, ErrorStatus> {
    match integer(v)? {
        1 => Ok(Storage::Other),
        2 => Ok(Storage::Volatile),
        3 => Ok(Storage::NonVolatile),
        _ => Err(WrongValue),
    }
}

fn two_way(v: &Value) -> Result<bool, ErrorStatus> {
    match integer(v)? {
        1 => Ok(true),
        2 => Ok(false),
        _ => Err(WrongValue),
    }
}

fn status(v: &Value) -> Result<RowStatus, ErrorStatus> {
    RowStatus::from_set(integer(v)?)
}

fn split<'a>(entry: &[u32], oid: &'a [u32]) -> Option<(u32, &'a [u32])> {
    (oid.len() > entry.len() && oid.starts_with(entry))
        .then(|| (oid[entry.len()], &oid[entry.len() + 1..]))
}

fn scalar_instance(obj: &[u32], oid: &[u32]) -> bool {
    oid.len() == obj.len() + 1 && oid[obj.len()] == 0
}

fn spin(v: &Value) -> Result<u32, ErrorStatus> {
    let i = integer(v)?;
    u32::try_from(i).map_err(|_| WrongValue)
}

/// The per-binding checks: what a varbind writes.
fn target(oid: &[u32], v: &Value) -> Result<Target, ErrorStatus> {
    if oid.starts_with(USM_USER_SPIN_LOCK) {
        let s = spin(v)?;
        return if scalar_instance(USM_USER_SPIN_LOCK, oid) {
            Ok(Target::UserSpin(s))
        } else {
            Err(NoCreation)
        };
    }
    if oid.starts_with(VACM_VIEW_SPIN_LOCK) {
        let s = spin(v)?;
        return if scalar_instance(VACM_VIEW_SPIN_LOCK, oid) {
            Ok(Target::ViewSpin(s))
        } else {
            Err(NoCreation)
        };
    }
    if let Some((col, sub)) = split(USM_USER_ENTRY, oid) {
        use user_col::*;
        let c = match col {
            CLONE_FROM => {
                let o = oid_value(v)?;
                let (_, s) = split(USM_USER_ENTRY, o).ok_or(WrongValue)?;
                UserCol::CloneFrom(index::oid_to_key(USER_INDEX, s).ok_or(WrongValue)?)
            }
            AUTH_PROTOCOL => UserCol::Auth(auth_of(oid_value(v)?).ok_or(WrongValue)?),
            AUTH_KEY_CHANGE | OWN_AUTH_KEY_CHANGE => UserCol::AuthKc(octets(v, 0, 256)?),
            PRIV_PROTOCOL => UserCol::Priv(priv_of(oid_value(v)?).ok_or(WrongValue)?),
            PRIV_KEY_CHANGE | OWN_PRIV_KEY_CHANGE => UserCol::PrivKc(octets(v, 0, 256)?),
            PUBLIC => UserCol::Public(octets(v, 0, 32)?),
            STORAGE_TYPE => UserCol::Storage(storage(v)?),
            STATUS => UserCol::Status(status(v)?),
            _ => return Err(NotWritable),
        };
        let key = index::oid_to_key(USER_INDEX, sub).ok_or(NoCreation)?;
        let (e, n) = parse_user_key(&key).ok_or(NoCreation)?;
        // SnmpEngineID is 5..32 octets; usmUserName 1..32.
        if e.len() < 5 || n.is_empty() {
            return Err(NoCreation);
        }
        return Ok(Target::User(key, c));
    }
    if let Some((col, sub)) = split(VACM_GROUP_ENTRY, oid) {
        let c = match col {
            3 => GroupCol::Name(octets(v, 1, 32)?),
            4 => GroupCol::Storage(storage(v)?),
            5 => GroupCol::Status(status(v)?),
            _ => return Err(NotWritable),
        };
        let key = index::oid_to_key(GROUP_INDEX, sub).ok_or(NoCreation)?;
        let model = u32::from_be_bytes(key[..4].try_into().map_err(|_| NoCreation)?);
        if model == 0 || model > i32::MAX as u32 || key.len() < 6 {
            return Err(NoCreation);
        }
        return Ok(Target::Group(key, c));
    }
    if let Some((col, sub)) = split(VACM_ACCESS_ENTRY, oid) {
        let c = match col {
            4 => AccessCol::Match(two_way(v)?),
            5 => AccessCol::Read(octets(v, 0, 32)?),
            6 => AccessCol::Write(octets(v, 0, 32)?),
            7 => AccessCol::Notify(octets(v, 0, 32)?),
            8 => AccessCol::Storage(storage(v)?),
            9 => AccessCol::Status(status(v)?),
            _ => return Err(NotWritable),
        };
        let key = index::oid_to_key(ACCESS_INDEX, sub).ok_or(NoCreation)?;
        let (g, _, model, level) = parse_access_key(&key).ok_or(NoCreation)?;
        if g.is_empty() || model > i32::MAX as u32 || !(1..=3).contains(&level) {
            return Err(NoCreation);
        }
        return Ok(Target::Access(key, c));
    }
    if let Some((col, sub)) = split(VACM_VIEW_ENTRY, oid) {
        let c = match col {
            3 => ViewCol::Mask(octets(v, 0, 16)?),
            4 => ViewCol::Type(two_way(v)?),
            5 => ViewCol::Storage(storage(v)?),
            6 => ViewCol::Status(status(v)?),
            _ => return Err(NotWritable),
        };
        let key = index::oid_to_key(VIEW_INDEX, sub).ok_or(NoCreation)?;
        let (name, _) = parse_view_key(&key).ok_or(NoCreation)?;
        if name.is_empty() {
            return Err(NoCreation);
        }
        return Ok(Target::View(key, c));
    }
    Err(NotWritable)
}

/// The shared read-create rules ([`RowRules`]); no column of these tables
/// is frozen while active.
fn row_rules(
    existing: Option<(Storage, RowState)>,
    status: Option<(usize, RowStatus)>,
    storage_col: Option<usize>,
    first: usize,
    complete: bool,
) -> Result<Next, SetError> {
    RowRules {
        existing,
        status,
        storage_col,
        frozen_col: None,
        first,
        complete,
    }
    .next()
}

/// Validate the security part of a SET. `vbs` are (original 1-based index,
/// name, value). Returns the changes to commit, against `work` (the tables as
/// the commit will find them).
pub fn build_changes(
    sec: &SecState,
    vbs: &[(usize, &[u32], &Value)],
) -> Result<Vec<Change>, SetError> {
    let mut users: Vec<Edit<UserCol>> = Vec::new();
    let mut groups: Vec<Edit<GroupCol>> = Vec::new();
    let mut access: Vec<Edit<AccessCol>> = Vec::new();
    let mut views: Vec<Edit<ViewCol>> = Vec::new();
    let mut spins: Vec<(usize, bool, u32)> = Vec::new();
    for &(idx, oid, v) in vbs {
        match target(oid, v).map_err(|e| SetError::new(e, idx))? {
            Target::UserSpin(s) => spins.push((idx, true, s)),
            Target::ViewSpin(s) => spins.push((idx, false, s)),
            Target::User(k, c) => group_by(&mut users, k, idx, c),
            Target::Group(k, c) => group_by(&mut groups, k, idx, c),
            Target::Access(k, c) => group_by(&mut access, k, idx, c),
            Target::View(k, c) => group_by(&mut views, k, idx, c),
        }
    }
    let mut work: Security = (*sec.snapshot()).clone();
    let mut out: Vec<SecChange> = Vec::new();
    let push = |work: &mut Security, out: &mut Vec<SecChange>, c: SecChange| {
        if let Some(w) = work.apply(&[Change::Security(c.clone())]) {
            *work = w;
        }
        out.push(c);
    };

    // TestAndIncr (RFC 2579): the value must be the current one.
    for (idx, user, v) in spins {
        let cur = if user {
            work.spin_lock
        } else {
            work.view_spin_lock
        };
        if v != cur {
            return Err(SetError::new(InconsistentValue, idx));
        }
        let next = if cur >= i32::MAX as u32 { 0 } else { cur + 1 };
        push(
            &mut work,
            &mut out,
            if user {
                SecChange::SpinLock(next)
            } else {
                SecChange::ViewSpinLock(next)
            },
        );
    }

    for e in &users {
        let existing = work.users.get(&e.key).cloned();
        let first = e.cols[0].0;
        let st = last_status(&e.cols, |c| {
            if let UserCol::Status(s) = c {
                Some(*s)
            } else {
                None
            }
        });
        let storage_col = first_where(&e.cols, |c| matches!(c, UserCol::Storage(_)));
        let (_, name) = parse_user_key(&e.key).ok_or(SetError::new(NoCreation, first))?;
        let mut row = existing
            .clone()
            .unwrap_or_else(|| UserRow::new(name, Storage::NonVolatile));
        let was_new = existing.is_none();
        // 1. usmUserCloneFrom: once only; the source must exist and be active.
        for (i, c) in &e.cols {
            if let UserCol::CloneFrom(src) = c {
                if row.cloned {
                    continue;
                }
                let from = work.users.get(src).filter(|r| r.state == RowState::Active);
                let Some(from) = from else {
                    return Err(SetError::new(InconsistentName, *i));
                };
                row.auth = from.auth;
                row.auth_key = from.auth_key.clone();
                row.privp = from.privp;
                row.priv_key = from.priv_key.clone();
                row.cloned = true;
            }
        }
        // 2. protocols: an existing or cloned row may only go to "none"
        //    (priv first, so both can go in one PDU); the same value is a no-op.
        for (i, c) in &e.cols {
            if let UserCol::Priv(p) = c {
                if *p == row.privp {
                    continue;
                }
                if (!was_new || row.cloned) && *p != PrivProto::None {
                    return Err(SetError::new(InconsistentValue, *i));
                }
                row.privp = *p;
                if *p == PrivProto::None {
                    row.priv_key.clear();
                }
            }
        }
        for (i, c) in &e.cols {
            if let UserCol::Auth(a) = c {
                if *a == row.auth {
                    continue;
                }
                if (!was_new || row.cloned)
                    && (*a != AuthProto::None || row.privp != PrivProto::None)
                {
                    return Err(SetError::new(InconsistentValue, *i));
                }
                if *a == AuthProto::None && row.privp != PrivProto::None {
                    return Err(SetError::new(InconsistentValue, *i));
                }
                row.auth = *a;
                if *a == AuthProto::None {
                    row.auth_key.clear();
                }
            }
        }
        // 3. KeyChange (RFC 3414 section 5), with the auth protocol's hash.
        for (i, c) in &e.cols {
            match c {
                UserCol::AuthKc(v) => {
                    if row.auth == AuthProto::None || row.auth_key.is_empty() {
                        return Err(SetError::new(InconsistentValue, *i));
                    }
                    row.auth_key = (sec.key_change)(row.auth, &row.auth_key, v)
                        .ok_or(SetError::new(WrongLength, *i))?;
                }
                UserCol::PrivKc(v) => {
                    if row.privp == PrivProto::None || row.priv_key.is_empty() {
                        return Err(SetError::new(InconsistentValue, *i));
                    }
                    row.priv_key = (sec.key_change)(row.auth, &row.priv_key, v)
                        .ok_or(SetError::new(WrongLength, *i))?;
                }
                UserCol::Public(p) => row.public = p.clone(),
                UserCol::Storage(s) => row.storage = *s,
                _ => {}
            }
        }
        match row_rules(
            existing.as_ref().map(|r| (r.storage, r.state)),
            st,
            storage_col,
            first,
            row.cloned,
        )? {
            Next::Absent if existing.is_some() => push(
                &mut work,
                &mut out,
                SecChange::Del(SecTable::User, e.key.clone()),
            ),
            Next::Absent => {}
            Next::Exists(s) => {
                row.state = s;
                push(
                    &mut work,
                    &mut out,
                    SecChange::Put(e.key.clone(), SecRow::User(row)),
                );
            }
        }
    }

    for e in &groups {
        let existing = work.groups.get(&e.key).cloned();
        let st = last_status(&e.cols, |c| {
            if let GroupCol::Status(s) = c {
                Some(*s)
            } else {
                None
            }
        });
        let storage_col = first_where(&e.cols, |c| matches!(c, GroupCol::Storage(_)));
        let mut row = existing.clone().unwrap_or(GroupRow {
            group: Vec::new(),
            storage: Storage::NonVolatile,
            state: RowState::NotReady,
        });
        for (_, c) in &e.cols {
            match c {
                GroupCol::Name(n) => row.group = n.clone(),
                GroupCol::Storage(s) => row.storage = *s,
                GroupCol::Status(_) => {}
            }
        }
        let complete = !row.group.is_empty();
        match row_rules(
            existing.as_ref().map(|r| (r.storage, r.state)),
            st,
            storage_col,
            e.cols[0].0,
            complete,
        )? {
            Next::Absent if existing.is_some() => push(
                &mut work,
                &mut out,
                SecChange::Del(SecTable::Group, e.key.clone()),
            ),
            Next::Absent => {}
            Next::Exists(s) => {
                row.state = s;
                push(
                    &mut work,
                    &mut out,
                    SecChange::Put(e.key.clone(), SecRow::Group(row)),
                );
            }
        }
    }

    for e in &access {
        let existing = work.access.get(&e.key).cloned();
        let st = last_status(&e.cols, |c| {
            if let AccessCol::Status(s) = c {
                Some(*s)
            } else {
                None
            }
        });
        let storage_col = first_where(&e.cols, |c| matches!(c, AccessCol::Storage(_)));
        let mut row = existing.clone().unwrap_or(AccessRow {
            exact: true,
            read: Vec::new(),
            write: Vec::new(),
            notify: Vec::new(),
            storage: Storage::NonVolatile,
            state: RowState::NotReady,
        });
        for (_, c) in &e.cols {
            match c {
                AccessCol::Match(m) => row.exact = *m,
                AccessCol::Read(v) => row.read = v.clone(),
                AccessCol::Write(v) => row.write = v.clone(),
                AccessCol::Notify(v) => row.notify = v.clone(),
                AccessCol::Storage(s) => row.storage = *s,
                AccessCol::Status(_) => {}
            }
        }
        match row_rules(
            existing.as_ref().map(|r| (r.storage, r.state)),
            st,
            storage_col,
            e.cols[0].0,
            true,
        )? {
            Next::Absent if existing.is_some() => push(
                &mut work,
                &mut out,
                SecChange::Del(SecTable::Access, e.key.clone()),
            ),
            Next::Absent => {}
            Next::Exists(s) => {
                row.state = s;
                push(
                    &mut work,
                    &mut out,
                    SecChange::Put(e.key.clone(), SecRow::Access(row)),
                );
            }
        }
    }

    for e in &views {
        let existing = work.views.get(&e.key).cloned();
        let st = last_status(&e.cols, |c| {
            if let ViewCol::Status(s) = c {
                Some(*s)
            } else {
                None
            }
        });
        let storage_col = first_where(&e.cols, |c| matches!(c, ViewCol::Storage(_)));
        let mut row = existing.clone().unwrap_or(ViewRow {
            mask: Vec::new(),
            included: true,
            storage: Storage::NonVolatile,
            state: RowState::NotReady,
        });
        for (_, c) in &e.cols {
            match c {
                ViewCol::Mask(m) => row.mask = m.clone(),
                ViewCol::Type(t) => row.included = *t,
                ViewCol::Storage(s) => row.storage = *s,
                ViewCol::Status(_) => {}
            }
        }
        match row_rules(
            existing.as_ref().map(|r| (r.storage, r.state)),
            st,
            storage_col,
            e.cols[0].0,
            true,
        )? {
            Next::Absent if existing.is_some() => push(
                &mut work,
                &mut out,
                SecChange::Del(SecTable::View, e.key.clone()),
            ),
            Next::Absent => {}
            Next::Exists(s) => {
                row.state = s;
                push(
                    &mut work,
                    &mut out,
                    SecChange::Put(e.key.clone(), SecRow::View(row)),
                );
            }
        }
    }
    Ok(out.into_iter().map(Change::Security).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> SecState {
        fn kc(_: AuthProto, old: &[u8], v: &[u8]) -> Option<Vec<u8>> {
            (v.len() == 2 * old.len()).then(|| v[old.len()..].to_vec())
        }
        let mut t = Security::default();
        let mut u = UserRow::new(b"admin", Storage::Permanent);
        u.auth = AuthProto::Sha256;
        u.auth_key = vec![1; 32];
        u.privp = PrivProto::Aes128;
        u.priv_key = vec![2; 16];
        u.cloned = true;
        u.state = RowState::Active;
        t.users
            .insert(user_key(b"\x80\x00\x7e\xd9\x05abcd", b"admin"), u);
        SecState::new(b"\x80\x00\x7e\xd9\x05abcd".to_vec(), 3, 1472, t, kc)
    }

    fn user_oid(col: u32, name: &str) -> Oid {
        let mut o = USM_USER_ENTRY.to_vec();
        o.push(col);
        index::key_to_oid(
            USER_INDEX,
            &user_key(b"\x80\x00\x7e\xd9\x05abcd", name.as_bytes()),
            &mut o,
        );
        o
    }

    fn set(s: &SecState, vbs: &[(Oid, Value)]) -> Result<Vec<Change>, SetError> {
        let v: Vec<(usize, &[u32], &Value)> = vbs
            .iter()
            .enumerate()
            .map(|(i, (o, v))| (i + 1, o.as_slice(), v))
            .collect();
        build_changes(s, &v)
    }

    #[test]
    fn clone_then_keychange() {
        let s = state();
        // createAndGo without a clone: the row is not complete.
        let e = set(&s, &[(user_oid(13, "bob"), Value::Integer(4))]).unwrap_err();
        assert_eq!(e, SetError::new(InconsistentValue, 1));
        let from = Value::ObjectId(user_oid(3, "admin"));
        let ch = set(
            &s,
            &[
                (user_oid(13, "bob"), Value::Integer(4)),
                (user_oid(4, "bob"), from.clone()),
            ],
        )
        .unwrap();
        s.committed(&ch);
        let bob = s
            .snapshot()
            .users
            .get(&user_key(b"\x80\x00\x7e\xd9\x05abcd", b"bob"))
            .cloned()
            .unwrap();
        assert_eq!(
            (bob.auth, bob.privp, bob.state, bob.storage),
            (
                AuthProto::Sha256,
                PrivProto::Aes128,
                RowState::Active,
                Storage::NonVolatile
            )
        );
        assert_eq!(bob.auth_key, vec![1; 32]);
        // KeyChange: wrong length, then right.
        let e = set(&s, &[(user_oid(6, "bob"), Value::OctetString(vec![9; 10]))]).unwrap_err();
        assert_eq!(e.status, WrongLength);
        let mut v = vec![0; 32];
        v.extend(vec![7; 32]);
        let ch = set(&s, &[(user_oid(6, "bob"), Value::OctetString(v))]).unwrap();
        s.committed(&ch);
        assert_eq!(
            s.snapshot()
                .users
                .get(&user_key(b"\x80\x00\x7e\xd9\x05abcd", b"bob"))
                .unwrap()
                .auth_key,
            vec![7; 32]
        );
        // Protocols of a cloned row may only go to none.
        let e = set(
            &s,
            &[(
                user_oid(5, "bob"),
                Value::ObjectId(auth_oid(AuthProto::Md5)),
            )],
        )
        .unwrap_err();
        assert_eq!(e.status, InconsistentValue);
        let e = set(
            &s,
            &[(
                user_oid(5, "bob"),
                Value::ObjectId(auth_oid(AuthProto::None)),
            )],
        )
        .unwrap_err();
        assert_eq!(e.status, InconsistentValue, "priv is still AES");
        assert!(set(
            &s,
            &[
                (
                    user_oid(5, "bob"),
                    Value::ObjectId(auth_oid(AuthProto::None))
                ),
                (
                    user_oid(8, "bob"),
                    Value::ObjectId(priv_oid(PrivProto::None))
                )
            ]
        )
        .is_ok());
        // A permanent row cannot be destroyed.
        let e = set(&s, &[(user_oid(13, "admin"), Value::Integer(6))]).unwrap_err();
        assert_eq!(e.status, InconsistentValue);
        // Clone from a missing row.
        let e = set(
            &s,
            &[
                (user_oid(13, "eve"), Value::Integer(5)),
                (user_oid(4, "eve"), Value::ObjectId(user_oid(3, "zed"))),
            ],
        )
        .unwrap_err();
        assert_eq!(e, SetError::new(InconsistentName, 2));
    }

    #[test]
    fn spin_lock_test_and_incr() {
        let s = state();
        let o = crate::oid::join(USM_USER_SPIN_LOCK, &[0]);
        assert_eq!(
            set(&s, &[(o.clone(), Value::Integer(5))])
                .unwrap_err()
                .status,
            InconsistentValue
        );
        let ch = set(&s, &[(o.clone(), Value::Integer(0))]).unwrap();
        s.committed(&ch);
        assert_eq!(s.snapshot().spin_lock, 1);
    }

    #[test]
    fn vacm_rows() {
        let s = state();
        let mut g = VACM_GROUP_ENTRY.to_vec();
        g.push(5);
        index::key_to_oid(GROUP_INDEX, &group_key(3, b"bob"), &mut g);
        // createAndGo needs the group name.
        assert_eq!(
            set(&s, &[(g.clone(), Value::Integer(4))])
                .unwrap_err()
                .status,
            InconsistentValue
        );
        let mut n = g.clone();
        *n.get_mut(VACM_GROUP_ENTRY.len()).unwrap() = 3;
        let ch = set(
            &s,
            &[
                (n.clone(), Value::OctetString(b"ro".to_vec())),
                (g.clone(), Value::Integer(4)),
            ],
        )
        .unwrap();
        s.committed(&ch);
        assert_eq!(
            s.snapshot()
                .groups
                .get(&group_key(3, b"bob"))
                .unwrap()
                .group,
            b"ro"
        );
        assert_eq!(
            set(&s, &[(n, Value::OctetString(vec![]))])
                .unwrap_err()
                .status,
            WrongLength
        );
        let mut a = VACM_ACCESS_ENTRY.to_vec();
        a.push(9);
        index::key_to_oid(ACCESS_INDEX, &access_key(b"ro", b"", 3, 4), &mut a);
        assert_eq!(
            set(&s, &[(a, Value::Integer(4))]).unwrap_err().status,
            NoCreation,
            "level 4"
        );
        let mut v = VACM_VIEW_ENTRY.to_vec();
        v.push(6);
        index::key_to_oid(
            VIEW_INDEX,
            &view_key(b"vpn", &[1, 3, 6, 1, 2, 1, 10, 166, 11]),
            &mut v,
        );
        let ch = set(&s, &[(v, Value::Integer(4))]).unwrap();
        s.committed(&ch);
        assert!(s.snapshot().views.values().next().unwrap().included);
    }

    #[test]
    fn protocol_oids() {
        for a in [
            AuthProto::None,
            AuthProto::Md5,
            AuthProto::Sha1,
            AuthProto::Sha224,
            AuthProto::Sha256,
            AuthProto::Sha384,
            AuthProto::Sha512,
        ] {
            assert_eq!(auth_of(&auth_oid(a)), Some(a));
        }
        for p in [
            PrivProto::None,
            PrivProto::Des,
            PrivProto::Aes128,
            PrivProto::Aes192,
            PrivProto::Aes256,
        ] {
            assert_eq!(priv_of(&priv_oid(p)), Some(p));
        }
        assert!(
            is_secret(&user_oid(6, "x"))
                && is_secret(&user_oid(10, "x"))
                && !is_secret(&user_oid(3, "x"))
        );
    }
}
