//! The notification originator's MIB objects:
//! - SNMP-TARGET-MIB (RFC 3413): snmpTargetSpinLock, snmpTargetAddrTable and
//!   snmpTargetParamsTable, read-create;
//! - SNMP-NOTIFICATION-MIB (RFC 3413): snmpNotifyTable,
//!   snmpNotifyFilterProfileTable and snmpNotifyFilterTable, read-create;
//! - L3VPND-MIB l3vpndNotifyStats: what the originator sent, had
//!   acknowledged, retried, lost and dropped, in total and per target
//!   (l3vpndNotifyTargetTable AUGMENTS snmpTargetAddrEntry).
//!
//! The tables read [`NotifyState::tables`], swapped after each commit that
//! changes them ([`NotifyState::committed`]). SETs become
//! [`vpn_core::Change::Notify`] changes committed with the rest of the PDU
//! (the design of [`crate::snmpv3`]).
//!
//! Four of the tables are indexed by an `IMPLIED` SnmpAdminString, which
//! [`crate::index`] does not encode; the index codec for them is here.
//!
//! Decisions the RFC leaves open:
//! - Transport domains: snmpUDPDomain and transportDomainUdpIpv4 (6-octet
//!   TAddress), transportDomainUdpIpv6 (18 octets, RFC 3419); another domain
//!   is wrongValue. A TAddress whose length does not fit the domain keeps the
//!   row notReady, and activating it is inconsistentValue.
//! - snmpTargetParams: MPModel/SecurityModel must be SNMPv1/SNMPv1 (0/1),
//!   SNMPv2c/SNMPv2c (1/2) or SNMPv3/USM (3/3), and v1/v2c only with
//!   noAuthNoPriv; anything else cannot be activated (inconsistentValue).
//! - A row left active or notInService must stay complete: a SET that would
//!   leave it incomplete is inconsistentValue.
//! - Columns a RowStatus description says may not change while active
//!   (TDomain, TAddress; the four params columns) may change in a SET that
//!   also takes the row out of service.

use crate::error::{ErrorStatus, SetError};
use crate::oid::Oid;
use crate::rowstatus::{first_where, group_by, last_status, Edit, Next, RowRules, RowStatus};
use crate::tree::Subtree;
use crate::value::{Value, VarResult};
use crate::view::View;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use vpn_core::notify_cfg::*;
use vpn_core::{Change, RowState, Storage};

use ErrorStatus::*;

pub const TARGET_MIB: &[u32] = &[1, 3, 6, 1, 6, 3, 12];
pub const TARGET_SPIN_LOCK: &[u32] = &[1, 3, 6, 1, 6, 3, 12, 1, 1];
pub const TARGET_ADDR_TABLE: &[u32] = &[1, 3, 6, 1, 6, 3, 12, 1, 2];
pub const TARGET_ADDR_ENTRY: &[u32] = &[1, 3, 6, 1, 6, 3, 12, 1, 2, 1];
pub const TARGET_PARAMS_TABLE: &[u32] = &[1, 3, 6, 1, 6, 3, 12, 1, 3];
pub const TARGET_PARAMS_ENTRY: &[u32] = &[1, 3, 6, 1, 6, 3, 12, 1, 3, 1];
pub const NOTIFICATION_MIB: &[u32] = &[1, 3, 6, 1, 6, 3, 13];
pub const NOTIFY_ENTRY: &[u32] = &[1, 3, 6, 1, 6, 3, 13, 1, 1, 1];
pub const PROFILE_ENTRY: &[u32] = &[1, 3, 6, 1, 6, 3, 13, 1, 2, 1];
pub const FILTER_ENTRY: &[u32] = &[1, 3, 6, 1, 6, 3, 13, 1, 3, 1];

/// snmpUDPDomain (RFC 3417).
pub const SNMP_UDP_DOMAIN: &[u32] = &[1, 3, 6, 1, 6, 1, 1];
/// transportDomainUdpIpv4 / transportDomainUdpIpv6 (RFC 3419).
pub const UDP_IPV4_DOMAIN: &[u32] = &[1, 3, 6, 1, 2, 1, 100, 1, 1];
pub const UDP_IPV6_DOMAIN: &[u32] = &[1, 3, 6, 1, 2, 1, 100, 1, 2];

/// L3VPND-MIB l3vpndNotifyStats = l3vpndObjects.4.
pub const STATS: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4];
pub const STATS_TRAPS: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4, 1];
pub const STATS_INFORMS: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4, 2];
pub const STATS_ACKED: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4, 3];
pub const STATS_RETRIED: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4, 4];
pub const STATS_LOST: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4, 5];
pub const STATS_DROPPED: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4, 6];
pub const STATS_TARGET_ENTRY: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4, 7, 1];

/// Message processing models (RFC 3411 SnmpMessageProcessingModel).
pub const MP_V1: u32 = 0;
pub const MP_V2C: u32 = 1;
pub const MP_V3: u32 = 3;

/// snmpTargetAddrEntry columns.
pub mod addr_col {
    pub const TDOMAIN: u32 = 2;
    pub const TADDRESS: u32 = 3;
    pub const TIMEOUT: u32 = 4;
    pub const RETRY_COUNT: u32 = 5;
    pub const TAG_LIST: u32 = 6;
    pub const PARAMS: u32 = 7;
    pub const STORAGE_TYPE: u32 = 8;
    pub const ROW_STATUS: u32 = 9;
}

/// snmpTargetParamsEntry columns.
pub mod params_col {
    pub const MP_MODEL: u32 = 2;
    pub const SECURITY_MODEL: u32 = 3;
    pub const SECURITY_NAME: u32 = 4;
    pub const SECURITY_LEVEL: u32 = 5;
    pub const STORAGE_TYPE: u32 = 6;
    pub const ROW_STATUS: u32 = 7;
}

/// The OID of a transport domain.
pub fn domain_oid(d: Domain) -> &'static [u32] {
    match d {
        Domain::Udp => SNMP_UDP_DOMAIN,
        Domain::UdpIpv4 => UDP_IPV4_DOMAIN,
        Domain::UdpIpv6 => UDP_IPV6_DOMAIN,
    }
}

pub fn domain_of(o: &[u32]) -> Option<Domain> {
    [Domain::Udp, Domain::UdpIpv4, Domain::UdpIpv6]
        .into_iter()
        .find(|d| domain_oid(*d) == o)
}

/// Whether (mpModel, securityModel, securityLevel) is one this agent can
/// send with.
pub fn usable_params(mp: u32, model: u32, level: u32) -> bool {
    match (mp, model) {
        (MP_V1, 1) | (MP_V2C, 2) => level == 1,
        (MP_V3, 3) => (1..=3).contains(&level),
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------

/// What the originator did, in total or for one target.
#[derive(Default, Debug)]
pub struct Counters {
    pub traps: AtomicU32,
    pub informs: AtomicU32,
    pub acked: AtomicU32,
    pub retried: AtomicU32,
    pub lost: AtomicU32,
    pub dropped: AtomicU32,
    /// Informs queued or awaiting their Response (a gauge).
    pub pending: AtomicU32,
    /// sysUpTime when these counters started (per target: when its row was
    /// created or the agent started).
    pub since: AtomicU32,
}

fn read(c: &AtomicU32) -> u32 {
    c.load(Ordering::Relaxed)
}

/// The originator's counters: the totals and one set per target name.
#[derive(Default, Debug)]
pub struct NotifyStats {
    pub total: Counters,
    targets: Mutex<HashMap<Vec<u8>, Arc<Counters>>>,
}

impl NotifyStats {
    /// The counters of target `name` (created at 0 if new).
    pub fn target(&self, name: &[u8]) -> Arc<Counters> {
        let mut m = self.targets.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(name.to_vec())
            .or_insert_with(|| {
                let c = Counters::default();
                c.since.store(vpn_core::clock::ticks(), Ordering::Relaxed);
                Arc::new(c)
            })
            .clone()
    }

    pub fn get(&self, name: &[u8]) -> Option<Arc<Counters>> {
        let m = self.targets.lock().unwrap_or_else(|p| p.into_inner());
        m.get(name).cloned()
    }

    fn forget(&self, name: &[u8]) {
        let mut m = self.targets.lock().unwrap_or_else(|p| p.into_inner());
        m.remove(name);
    }

    /// Count one event for `target` (and in the totals).
    pub fn bump(&self, target: &[u8], which: fn(&Counters) -> &AtomicU32) {
        which(&self.total).fetch_add(1, Ordering::Relaxed);
        which(&self.target(target)).fetch_add(1, Ordering::Relaxed);
    }

    /// Count one event that concerns no target (in the totals only).
    pub fn bump_total(&self, which: fn(&Counters) -> &AtomicU32) {
        which(&self.total).fetch_add(1, Ordering::Relaxed);
    }

    /// Set the pending gauge of `target`, keeping the total consistent.
    pub fn set_pending(&self, target: &[u8], n: u32) {
        let old = self.target(target).pending.swap(n, Ordering::Relaxed);
        if n >= old {
            self.total.pending.fetch_add(n - old, Ordering::Relaxed);
        } else {
            self.total.pending.fetch_sub(old - n, Ordering::Relaxed);
        }
    }
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

/// The committed tables and the originator's counters.
pub struct NotifyState {
    pub tables: ArcSwap<Notify>,
    pub stats: NotifyStats,
}

impl NotifyState {
    pub fn new(tables: Notify) -> NotifyState {
        NotifyState {
            tables: ArcSwap::from_pointee(tables),
            stats: NotifyStats::default(),
        }
    }

    pub fn snapshot(&self) -> Arc<Notify> {
        self.tables.load_full()
    }

    /// Take the notification part of committed changes into the served
    /// tables; a target row created or destroyed restarts its counters.
    pub fn committed(&self, eff: &[Change]) {
        let old = self.tables.load_full();
        if let Some(s) = old.apply(eff) {
            for ch in eff {
                match ch {
                    Change::Notify(NotifyChange::Del(NtfTable::Addr, k)) => self.stats.forget(k),
                    Change::Notify(NotifyChange::Put(k, NtfRow::Addr(_)))
                        if !old.addrs.contains_key(k) =>
                    {
                        self.stats.forget(k);
                        let _ = self.stats.target(k);
                    }
                    _ => {}
                }
            }
            self.tables.store(Arc::new(s));
        }
    }
}

/// Whether a SET of `oid` is for this module.
pub fn owns(oid: &[u32]) -> bool {
    [
        TARGET_SPIN_LOCK,
        TARGET_ADDR_TABLE,
        TARGET_PARAMS_TABLE,
        NOTIFICATION_MIB,
        STATS,
    ]
    .iter()
    .any(|p| oid.starts_with(p))
}

// ---------------------------------------------------------------------------
// Index codec: IMPLIED names, and (name, IMPLIED subtree)
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Idx {
    /// One IMPLIED SnmpAdminString (SIZE 1..32): the key is the octets.
    Name,
    /// (SnmpAdminString (SIZE 1..32), IMPLIED OBJECT IDENTIFIER).
    Filter,
}

/// The smallest byte string greater than every string starting with `p`.
fn successor(p: &[u8]) -> Option<Vec<u8>> {
    let mut v = p.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xff {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}

impl Idx {
    fn to_oid(self, key: &[u8], out: &mut Vec<u32>) {
        match self {
            Idx::Name => out.extend(key.iter().map(|&b| b as u32)),
            Idx::Filter => {
                if let Some((name, sub)) = parse_filter_key(key) {
                    out.push(name.len() as u32);
                    out.extend(name.iter().map(|&b| b as u32));
                    out.extend(sub);
                }
            }
        }
    }

    fn to_key(self, sub: &[u32]) -> Option<Vec<u8>> {
        let octets =
            |s: &[u32]| -> Option<Vec<u8>> { s.iter().map(|&c| u8::try_from(c).ok()).collect() };
        match self {
            Idx::Name => {
                if sub.is_empty() || sub.len() > 32 {
                    return None;
                }
                octets(sub)
            }
            Idx::Filter => {
                let (&n, rest) = sub.split_first()?;
                let n = n as usize;
                if n == 0 || n > 32 || rest.len() < n {
                    return None;
                }
                let name = octets(&rest[..n])?;
                Some(filter_key(&name, &rest[n..]))
            }
        }
    }

    /// The bound on keys whose instance follows `sub` (see
    /// [`crate::index::next_bound`]); `None`: no key can follow.
    fn next_bound(self, sub: &[u32]) -> Option<Bound<Vec<u8>>> {
        let mut key = Vec::new();
        let mut s = sub;
        if self == Idx::Filter {
            let Some((&n, rest)) = s.split_first() else {
                return Some(Bound::Unbounded);
            };
            if n > 255 {
                return None;
            }
            key.push(n as u8);
            s = rest;
            for i in 0..n as usize {
                let Some(&c) = s.get(i) else {
                    return Some(Bound::Included(key));
                };
                if c > 255 {
                    return successor(&key).map(Bound::Included);
                }
                key.push(c as u8);
            }
            s = &s[n as usize..];
            for &c in s {
                key.extend_from_slice(&c.to_be_bytes());
            }
            return Some(Bound::Excluded(key));
        }
        for &c in s {
            if c > 255 {
                return successor(&key).map(Bound::Included);
            }
            key.push(c as u8);
        }
        if key.is_empty() {
            Some(Bound::Unbounded)
        } else {
            Some(Bound::Excluded(key))
        }
    }
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Addr,
    Params,
    Notify,
    Profile,
    Filter,
    Stats,
}

struct NTable {
    st: Arc<NotifyState>,
    which: Which,
}

fn next_in<V: Clone>(map: &imbl::OrdMap<Vec<u8>, V>, from: &Bound<Vec<u8>>) -> Option<Vec<u8>> {
    let b: Bound<&[u8]> = match from {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    };
    map.range::<_, [u8]>((b, Bound::Unbounded))
        .next()
        .map(|(k, _)| k.clone())
}

fn storage_val(s: Storage) -> Value {
    Value::Integer(s as i32)
}

fn status_val(s: RowState) -> Value {
    Value::Integer(RowStatus::of(s))
}

fn os(b: &[u8]) -> Value {
    Value::OctetString(b.to_vec())
}

impl NTable {
    fn entry(&self) -> &'static [u32] {
        match self.which {
            Which::Addr => TARGET_ADDR_ENTRY,
            Which::Params => TARGET_PARAMS_ENTRY,
            Which::Notify => NOTIFY_ENTRY,
            Which::Profile => PROFILE_ENTRY,
            Which::Filter => FILTER_ENTRY,
            Which::Stats => STATS_TARGET_ENTRY,
        }
    }
    fn columns(&self) -> &'static [u32] {
        match self.which {
            Which::Addr => &[2, 3, 4, 5, 6, 7, 8, 9],
            Which::Params => &[2, 3, 4, 5, 6, 7],
            Which::Notify => &[2, 3, 4, 5],
            Which::Profile => &[1, 2, 3],
            Which::Filter => &[2, 3, 4, 5],
            Which::Stats => &[1, 2, 3, 4, 5, 6, 7, 8],
        }
    }
    fn idx(&self) -> Idx {
        if self.which == Which::Filter {
            Idx::Filter
        } else {
            Idx::Name
        }
    }
    fn next_key(&self, t: &Notify, from: &Bound<Vec<u8>>) -> Option<Vec<u8>> {
        match self.which {
            Which::Addr | Which::Stats => next_in(&t.addrs, from),
            Which::Params => next_in(&t.params, from),
            Which::Notify => next_in(&t.notifies, from),
            Which::Profile => next_in(&t.profiles, from),
            Which::Filter => next_in(&t.filters, from),
        }
    }
    fn cell(&self, t: &Notify, key: &[u8], col: u32) -> Option<Value> {
        match self.which {
            Which::Addr => {
                let r = t.addrs.get(key)?;
                use addr_col::*;
                Some(match col {
                    TDOMAIN => Value::ObjectId(domain_oid(r.domain?).to_vec()),
                    TADDRESS if r.address.is_empty() => return None,
                    TADDRESS => os(&r.address),
                    TIMEOUT => Value::Integer(r.timeout.min(i32::MAX as u32) as i32),
                    RETRY_COUNT => Value::Integer(r.retry_count as i32),
                    TAG_LIST => os(&r.tag_list),
                    PARAMS if r.params.is_empty() => return None,
                    PARAMS => os(&r.params),
                    STORAGE_TYPE => storage_val(r.storage),
                    ROW_STATUS => status_val(r.state),
                    _ => return None,
                })
            }
            Which::Params => {
                let r = t.params.get(key)?;
                use params_col::*;
                Some(match col {
                    MP_MODEL => Value::Integer(r.mp_model? as i32),
                    SECURITY_MODEL => Value::Integer(r.security_model? as i32),
                    SECURITY_NAME => os(r.security_name.as_ref()?),
                    SECURITY_LEVEL => Value::Integer(r.security_level? as i32),
                    STORAGE_TYPE => storage_val(r.storage),
                    ROW_STATUS => status_val(r.state),
                    _ => return None,
                })
            }
            Which::Notify => {
                let r = t.notifies.get(key)?;
                Some(match col {
                    2 => os(&r.tag),
                    3 => Value::Integer(if r.inform { 2 } else { 1 }),
                    4 => storage_val(r.storage),
                    5 => status_val(r.state),
                    _ => return None,
                })
            }
            Which::Profile => {
                let r = t.profiles.get(key)?;
                Some(match col {
                    1 if r.profile.is_empty() => return None,
                    1 => os(&r.profile),
                    2 => storage_val(r.storage),
                    3 => status_val(r.state),
                    _ => return None,
                })
            }
            Which::Filter => {
                let r = t.filters.get(key)?;
                Some(match col {
                    2 => os(&r.mask),
                    3 => Value::Integer(if r.included { 1 } else { 2 }),
                    4 => storage_val(r.storage),
                    5 => status_val(r.state),
                    _ => return None,
                })
            }
            Which::Stats => {
                t.addrs.get(key)?;
                let c = self.st.stats.get(key);
                let v = |f: fn(&Counters) -> &AtomicU32| c.as_deref().map_or(0, |c| read(f(c)));
                Some(match col {
                    1 => Value::Counter32(v(|c| &c.traps)),
                    2 => Value::Counter32(v(|c| &c.informs)),
                    3 => Value::Counter32(v(|c| &c.acked)),
                    4 => Value::Counter32(v(|c| &c.retried)),
                    5 => Value::Counter32(v(|c| &c.lost)),
                    6 => Value::Counter32(v(|c| &c.dropped)),
                    7 => Value::Gauge32(v(|c| &c.pending)),
                    8 => Value::TimeTicks(v(|c| &c.since)),
                    _ => return None,
                })
            }
        }
    }
}

impl Subtree for NTable {
    fn prefix(&self) -> &[u32] {
        let e = self.entry();
        &e[..e.len() - 1]
    }
    fn get(&self, _v: &View, oid: &[u32]) -> VarResult {
        self.get_oid(oid)
    }
    fn next(&self, _v: &View, oid: &[u32]) -> Option<(Oid, Value)> {
        self.next_oid(oid)
    }
}

impl NTable {
    fn get_oid(&self, oid: &[u32]) -> VarResult {
        let entry = self.entry();
        if oid.len() <= entry.len() || !oid.starts_with(entry) {
            return VarResult::NoSuchObject;
        }
        let col = oid[entry.len()];
        if !self.columns().contains(&col) {
            return VarResult::NoSuchObject;
        }
        let Some(key) = self.idx().to_key(&oid[entry.len() + 1..]) else {
            return VarResult::NoSuchInstance;
        };
        let t = self.st.tables.load();
        match self.cell(&t, &key, col) {
            Some(v) => VarResult::Value(v),
            None => VarResult::NoSuchInstance,
        }
    }

    fn next_oid(&self, oid: &[u32]) -> Option<(Oid, Value)> {
        let entry = self.entry();
        let cols = self.columns();
        let (mut ci, mut bound): (usize, Option<Bound<Vec<u8>>>) = if oid.len() > entry.len()
            && oid.starts_with(entry)
        {
            let col = oid[entry.len()];
            match cols.iter().position(|&c| c >= col) {
                None => return None,
                Some(i) if cols[i] == col => (i, self.idx().next_bound(&oid[entry.len() + 1..])),
                Some(i) => (i, Some(Bound::Unbounded)),
            }
        } else if oid <= entry {
            (0, Some(Bound::Unbounded))
        } else {
            return None;
        };
        let t = self.st.tables.load();
        loop {
            let col = *cols.get(ci)?;
            let mut b = bound.take();
            while let Some(from) = b {
                let Some(key) = self.next_key(&t, &from) else {
                    break;
                };
                if let Some(val) = self.cell(&t, &key, col) {
                    let mut o = Vec::with_capacity(entry.len() + 1 + key.len());
                    o.extend_from_slice(entry);
                    o.push(col);
                    self.idx().to_oid(&key, &mut o);
                    if o.len() <= crate::oid::MAX_SUBIDS {
                        return Some((o, val));
                    }
                }
                b = Some(Bound::Excluded(key));
            }
            ci += 1;
            bound = Some(Bound::Unbounded);
        }
    }
}

/// Every subtree this module serves.
pub fn subtrees(st: &Arc<NotifyState>) -> Vec<Box<dyn Subtree>> {
    let scalar = |oid: &'static [u32], read: fn(&NotifyState) -> Value| -> Box<dyn Subtree> {
        Box::new(crate::tree::StateScalar {
            oid,
            state: st.clone(),
            read,
        })
    };
    let table = |which| -> Box<dyn Subtree> {
        Box::new(NTable {
            st: st.clone(),
            which,
        })
    };
    vec![
        scalar(TARGET_SPIN_LOCK, |s| {
            Value::Integer(s.tables.load().spin_lock as i32)
        }),
        table(Which::Addr),
        table(Which::Params),
        table(Which::Notify),
        table(Which::Profile),
        table(Which::Filter),
        scalar(STATS_TRAPS, |s| {
            Value::Counter32(read(&s.stats.total.traps))
        }),
        scalar(STATS_INFORMS, |s| {
            Value::Counter32(read(&s.stats.total.informs))
        }),
        scalar(STATS_ACKED, |s| {
            Value::Counter32(read(&s.stats.total.acked))
        }),
        scalar(STATS_RETRIED, |s| {
            Value::Counter32(read(&s.stats.total.retried))
        }),
        scalar(STATS_LOST, |s| Value::Counter32(read(&s.stats.total.lost))),
        scalar(STATS_DROPPED, |s| {
            Value::Counter32(read(&s.stats.total.dropped))
        }),
        table(Which::Stats),
    ]
}

// ---------------------------------------------------------------------------
// Writes (RFC 3416 4.2.5 with the row rules of RFC 2579 and RFC 3413)
// ---------------------------------------------------------------------------

#[derive(Debug)]
enum AddrCol {
    Domain(Domain),
    Address(Vec<u8>),
    Timeout(u32),
    Retry(u32),
    Tags(Vec<u8>),
    Params(Vec<u8>),
    Storage(Storage),
    Status(RowStatus),
}

#[derive(Debug)]
enum ParamsCol {
    Mp(u32),
    Model(u32),
    Name(Vec<u8>),
    Level(u32),
    Storage(Storage),
    Status(RowStatus),
}

#[derive(Debug)]
enum NotifyCol {
    Tag(Vec<u8>),
    Inform(bool),
    Storage(Storage),
    Status(RowStatus),
}

#[derive(Debug)]
enum ProfileCol {
    Name(Vec<u8>),
    Storage(Storage),
    Status(RowStatus),
}

#[derive(Debug)]
enum FilterCol {
    Mask(Vec<u8>),
    Included(bool),
    Storage(Storage),
    Status(RowStatus),
}

enum Target {
    Spin(u32),
    Addr(Vec<u8>, AddrCol),
    Params(Vec<u8>, ParamsCol),
    Notify(Vec<u8>, NotifyCol),
    Profile(Vec<u8>, ProfileCol),
    Filter(Vec<u8>, FilterCol),
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

fn in_range(v: &Value, lo: i32, hi: i32) -> Result<u32, ErrorStatus> {
    let i = integer(v)?;
    if (lo..=hi).contains(&i) {
        Ok(i as u32)
    } else {
        Err(WrongValue)
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

fn status(v: &Value) -> Result<RowStatus, ErrorStatus> {
    RowStatus::from_set(integer(v)?)
}

fn two_way(v: &Value) -> Result<bool, ErrorStatus> {
    Ok(in_range(v, 1, 2)? == 1)
}

/// SnmpTagValue: no delimiter.
fn tag(v: &Value) -> Result<Vec<u8>, ErrorStatus> {
    let t = octets(v, 0, 255)?;
    if t.iter().any(|&c| is_delimiter(c)) {
        return Err(WrongValue);
    }
    Ok(t)
}

/// SnmpTagList: tags separated by single delimiters, none leading or trailing.
fn tag_list(v: &Value) -> Result<Vec<u8>, ErrorStatus> {
    let t = octets(v, 0, 255)?;
    let bad = t.first().is_some_and(|&c| is_delimiter(c))
        || t.last().is_some_and(|&c| is_delimiter(c))
        || t.windows(2)
            .any(|w| is_delimiter(w[0]) && is_delimiter(w[1]));
    if bad {
        return Err(WrongValue);
    }
    Ok(t)
}

fn split<'a>(entry: &[u32], oid: &'a [u32]) -> Option<(u32, &'a [u32])> {
    (oid.len() > entry.len() && oid.starts_with(entry))
        .then(|| (oid[entry.len()], &oid[entry.len() + 1..]))
}

/// The per-binding checks: what a varbind writes.
fn target(oid: &[u32], v: &Value) -> Result<Target, ErrorStatus> {
    if oid.starts_with(TARGET_SPIN_LOCK) {
        let s = in_range(v, 0, i32::MAX)?;
        return if oid.len() == TARGET_SPIN_LOCK.len() + 1 && oid[oid.len() - 1] == 0 {
            Ok(Target::Spin(s))
        } else {
            Err(NoCreation)
        };
    }
    let name_key = |sub: &[u32]| Idx::Name.to_key(sub).ok_or(NoCreation);
    if let Some((col, sub)) = split(TARGET_ADDR_ENTRY, oid) {
        use addr_col::*;
        let c = match col {
            TDOMAIN => match v {
                Value::ObjectId(o) => AddrCol::Domain(domain_of(o).ok_or(WrongValue)?),
                _ => return Err(WrongType),
            },
            TADDRESS => AddrCol::Address(octets(v, 1, 255)?),
            TIMEOUT => AddrCol::Timeout(in_range(v, 0, i32::MAX)?),
            RETRY_COUNT => AddrCol::Retry(in_range(v, 0, 255)?),
            TAG_LIST => AddrCol::Tags(tag_list(v)?),
            PARAMS => AddrCol::Params(octets(v, 1, 32)?),
            STORAGE_TYPE => AddrCol::Storage(storage(v)?),
            ROW_STATUS => AddrCol::Status(status(v)?),
            _ => return Err(NotWritable),
        };
        return Ok(Target::Addr(name_key(sub)?, c));
    }
    if let Some((col, sub)) = split(TARGET_PARAMS_ENTRY, oid) {
        use params_col::*;
        let c = match col {
            MP_MODEL => ParamsCol::Mp(in_range(v, 0, i32::MAX)?),
            SECURITY_MODEL => ParamsCol::Model(in_range(v, 1, i32::MAX)?),
            SECURITY_NAME => ParamsCol::Name(octets(v, 0, 255)?),
            SECURITY_LEVEL => ParamsCol::Level(in_range(v, 1, 3)?),
            STORAGE_TYPE => ParamsCol::Storage(storage(v)?),
            ROW_STATUS => ParamsCol::Status(status(v)?),
            _ => return Err(NotWritable),
        };
        return Ok(Target::Params(name_key(sub)?, c));
    }
    if let Some((col, sub)) = split(NOTIFY_ENTRY, oid) {
        let c = match col {
            2 => NotifyCol::Tag(tag(v)?),
            3 => NotifyCol::Inform(in_range(v, 1, 2)? == 2),
            4 => NotifyCol::Storage(storage(v)?),
            5 => NotifyCol::Status(status(v)?),
            _ => return Err(NotWritable),
        };
        return Ok(Target::Notify(name_key(sub)?, c));
    }
    if let Some((col, sub)) = split(PROFILE_ENTRY, oid) {
        let c = match col {
            1 => ProfileCol::Name(octets(v, 1, 32)?),
            2 => ProfileCol::Storage(storage(v)?),
            3 => ProfileCol::Status(status(v)?),
            _ => return Err(NotWritable),
        };
        return Ok(Target::Profile(name_key(sub)?, c));
    }
    if let Some((col, sub)) = split(FILTER_ENTRY, oid) {
        let c = match col {
            2 => FilterCol::Mask(octets(v, 0, 16)?),
            3 => FilterCol::Included(two_way(v)?),
            4 => FilterCol::Storage(storage(v)?),
            5 => FilterCol::Status(status(v)?),
            _ => return Err(NotWritable),
        };
        let key = Idx::Filter.to_key(sub).ok_or(NoCreation)?;
        return Ok(Target::Filter(key, c));
    }
    Err(NotWritable)
}

/// Validate the notification part of a SET. `vbs` are (original 1-based
/// index, name, value). Returns the changes to commit.
pub fn build_changes(
    st: &NotifyState,
    vbs: &[(usize, &[u32], &Value)],
) -> Result<Vec<Change>, SetError> {
    let mut addrs: Vec<Edit<AddrCol>> = Vec::new();
    let mut params: Vec<Edit<ParamsCol>> = Vec::new();
    let mut notifies: Vec<Edit<NotifyCol>> = Vec::new();
    let mut profiles: Vec<Edit<ProfileCol>> = Vec::new();
    let mut filters: Vec<Edit<FilterCol>> = Vec::new();
    let mut spins: Vec<(usize, u32)> = Vec::new();
    for &(idx, oid, v) in vbs {
        match target(oid, v).map_err(|e| SetError::new(e, idx))? {
            Target::Spin(s) => spins.push((idx, s)),
            Target::Addr(k, c) => group_by(&mut addrs, k, idx, c),
            Target::Params(k, c) => group_by(&mut params, k, idx, c),
            Target::Notify(k, c) => group_by(&mut notifies, k, idx, c),
            Target::Profile(k, c) => group_by(&mut profiles, k, idx, c),
            Target::Filter(k, c) => group_by(&mut filters, k, idx, c),
        }
    }
    let mut work: Notify = (*st.snapshot()).clone();
    let mut out: Vec<NotifyChange> = Vec::new();
    let push = |work: &mut Notify, out: &mut Vec<NotifyChange>, c: NotifyChange| {
        work.apply_one(&c);
        out.push(c);
    };
    let put_or_del = |work: &mut Notify,
                      out: &mut Vec<NotifyChange>,
                      t: NtfTable,
                      key: &[u8],
                      existed: bool,
                      next: Next,
                      row: Box<dyn FnOnce(RowState) -> NtfRow>| {
        match next {
            Next::Absent if existed => push(work, out, NotifyChange::Del(t, key.to_vec())),
            Next::Absent => {}
            Next::Exists(s) => push(work, out, NotifyChange::Put(key.to_vec(), row(s))),
        }
    };

    // TestAndIncr (RFC 2579): the value must be the current one.
    for (idx, v) in spins {
        if v != work.spin_lock {
            return Err(SetError::new(InconsistentValue, idx));
        }
        let next = if work.spin_lock >= i32::MAX as u32 {
            0
        } else {
            work.spin_lock + 1
        };
        push(&mut work, &mut out, NotifyChange::SpinLock(next));
    }

    for e in &addrs {
        let existing = work.addrs.get(&e.key).cloned();
        let mut row = existing
            .clone()
            .unwrap_or_else(|| AddrRow::new(Storage::NonVolatile));
        for (_, c) in &e.cols {
            match c {
                AddrCol::Domain(d) => row.domain = Some(*d),
                AddrCol::Address(a) => row.address = a.clone(),
                AddrCol::Timeout(t) => row.timeout = *t,
                AddrCol::Retry(r) => row.retry_count = *r,
                AddrCol::Tags(t) => row.tag_list = t.clone(),
                AddrCol::Params(p) => row.params = p.clone(),
                AddrCol::Storage(s) => row.storage = *s,
                AddrCol::Status(_) => {}
            }
        }
        let old = existing.as_ref();
        let frozen = first_where(&e.cols, |c| match c {
            AddrCol::Domain(d) => old.is_some_and(|o| o.domain != Some(*d)),
            AddrCol::Address(a) => old.is_some_and(|o| o.address != *a),
            _ => false,
        });
        let next = RowRules {
            existing: old.map(|r| (r.storage, r.state)),
            status: last_status(&e.cols, |c| match c {
                AddrCol::Status(s) => Some(*s),
                _ => None,
            }),
            storage_col: first_where(&e.cols, |c| matches!(c, AddrCol::Storage(_))),
            frozen_col: frozen,
            first: e.cols[0].0,
            complete: row.complete(),
        }
        .next()?;
        put_or_del(
            &mut work,
            &mut out,
            NtfTable::Addr,
            &e.key,
            existing.is_some(),
            next,
            Box::new(move |s| {
                row.state = s;
                NtfRow::Addr(row)
            }),
        );
    }

    for e in &params {
        let existing = work.params.get(&e.key).cloned();
        let mut row = existing
            .clone()
            .unwrap_or_else(|| ParamsRow::new(Storage::NonVolatile));
        for (_, c) in &e.cols {
            match c {
                ParamsCol::Mp(v) => row.mp_model = Some(*v),
                ParamsCol::Model(v) => row.security_model = Some(*v),
                ParamsCol::Name(v) => row.security_name = Some(v.clone()),
                ParamsCol::Level(v) => row.security_level = Some(*v),
                ParamsCol::Storage(s) => row.storage = *s,
                ParamsCol::Status(_) => {}
            }
        }
        let old = existing.as_ref();
        let frozen = first_where(&e.cols, |c| match c {
            ParamsCol::Mp(v) => old.is_some_and(|o| o.mp_model != Some(*v)),
            ParamsCol::Model(v) => old.is_some_and(|o| o.security_model != Some(*v)),
            ParamsCol::Name(v) => old.is_some_and(|o| o.security_name.as_ref() != Some(v)),
            ParamsCol::Level(v) => old.is_some_and(|o| o.security_level != Some(*v)),
            _ => false,
        });
        let complete = row.complete()
            && usable_params(
                row.mp_model.unwrap_or(u32::MAX),
                row.security_model.unwrap_or(0),
                row.security_level.unwrap_or(0),
            );
        let next = RowRules {
            existing: old.map(|r| (r.storage, r.state)),
            status: last_status(&e.cols, |c| match c {
                ParamsCol::Status(s) => Some(*s),
                _ => None,
            }),
            storage_col: first_where(&e.cols, |c| matches!(c, ParamsCol::Storage(_))),
            frozen_col: frozen,
            first: e.cols[0].0,
            complete,
        }
        .next()?;
        put_or_del(
            &mut work,
            &mut out,
            NtfTable::Params,
            &e.key,
            existing.is_some(),
            next,
            Box::new(move |s| {
                row.state = s;
                NtfRow::Params(row)
            }),
        );
    }

    for e in &notifies {
        let existing = work.notifies.get(&e.key).cloned();
        let mut row = existing
            .clone()
            .unwrap_or_else(|| NotifyRow::new(Storage::NonVolatile));
        for (_, c) in &e.cols {
            match c {
                NotifyCol::Tag(t) => row.tag = t.clone(),
                NotifyCol::Inform(i) => row.inform = *i,
                NotifyCol::Storage(s) => row.storage = *s,
                NotifyCol::Status(_) => {}
            }
        }
        let next = RowRules {
            existing: existing.as_ref().map(|r| (r.storage, r.state)),
            status: last_status(&e.cols, |c| match c {
                NotifyCol::Status(s) => Some(*s),
                _ => None,
            }),
            storage_col: first_where(&e.cols, |c| matches!(c, NotifyCol::Storage(_))),
            frozen_col: None,
            first: e.cols[0].0,
            complete: true,
        }
        .next()?;
        put_or_del(
            &mut work,
            &mut out,
            NtfTable::Notify,
            &e.key,
            existing.is_some(),
            next,
            Box::new(move |s| {
                row.state = s;
                NtfRow::Notify(row)
            }),
        );
    }

    for e in &profiles {
        let existing = work.profiles.get(&e.key).cloned();
        let mut row = existing.clone().unwrap_or(ProfileRow {
            profile: Vec::new(),
            storage: Storage::NonVolatile,
            state: RowState::NotReady,
        });
        for (_, c) in &e.cols {
            match c {
                ProfileCol::Name(n) => row.profile = n.clone(),
                ProfileCol::Storage(s) => row.storage = *s,
                ProfileCol::Status(_) => {}
            }
        }
        let next = RowRules {
            existing: existing.as_ref().map(|r| (r.storage, r.state)),
            status: last_status(&e.cols, |c| match c {
                ProfileCol::Status(s) => Some(*s),
                _ => None,
            }),
            storage_col: first_where(&e.cols, |c| matches!(c, ProfileCol::Storage(_))),
            frozen_col: None,
            first: e.cols[0].0,
            complete: !row.profile.is_empty(),
        }
        .next()?;
        put_or_del(
            &mut work,
            &mut out,
            NtfTable::Profile,
            &e.key,
            existing.is_some(),
            next,
            Box::new(move |s| {
                row.state = s;
                NtfRow::Profile(row)
            }),
        );
    }

    for e in &filters {
        let existing = work.filters.get(&e.key).cloned();
        let mut row = existing.clone().unwrap_or(FilterRow {
            mask: Vec::new(),
            included: true,
            storage: Storage::NonVolatile,
            state: RowState::NotReady,
        });
        for (_, c) in &e.cols {
            match c {
                FilterCol::Mask(m) => row.mask = m.clone(),
                FilterCol::Included(i) => row.included = *i,
                FilterCol::Storage(s) => row.storage = *s,
                FilterCol::Status(_) => {}
            }
        }
        let next = RowRules {
            existing: existing.as_ref().map(|r| (r.storage, r.state)),
            status: last_status(&e.cols, |c| match c {
                FilterCol::Status(s) => Some(*s),
                _ => None,
            }),
            storage_col: first_where(&e.cols, |c| matches!(c, FilterCol::Storage(_))),
            frozen_col: None,
            first: e.cols[0].0,
            complete: true,
        }
        .next()?;
        put_or_del(
            &mut work,
            &mut out,
            NtfTable::Filter,
            &e.key,
            existing.is_some(),
            next,
            Box::new(move |s| {
                row.state = s;
                NtfRow::Filter(row)
            }),
        );
    }
    Ok(out.into_iter().map(Change::Notify).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_oid(entry: &[u32], col: u32, name: &str) -> Oid {
        let mut o = entry.to_vec();
        o.push(col);
        o.extend(name.bytes().map(|b| b as u32));
        o
    }

    fn set(s: &NotifyState, vbs: &[(Oid, Value)]) -> Result<Vec<Change>, SetError> {
        let v: Vec<(usize, &[u32], &Value)> = vbs
            .iter()
            .enumerate()
            .map(|(i, (o, v))| (i + 1, o.as_slice(), v))
            .collect();
        let ch = build_changes(s, &v)?;
        s.committed(&ch);
        Ok(ch)
    }

    fn addr_vbs(name: &str, port: u16) -> Vec<(Oid, Value)> {
        use addr_col::*;
        let mut a = vec![127, 0, 0, 1];
        a.extend_from_slice(&port.to_be_bytes());
        vec![
            (
                name_oid(TARGET_ADDR_ENTRY, TDOMAIN, name),
                Value::ObjectId(SNMP_UDP_DOMAIN.to_vec()),
            ),
            (
                name_oid(TARGET_ADDR_ENTRY, TADDRESS, name),
                Value::OctetString(a),
            ),
            (
                name_oid(TARGET_ADDR_ENTRY, PARAMS, name),
                Value::OctetString(b"p".to_vec()),
            ),
            (
                name_oid(TARGET_ADDR_ENTRY, TAG_LIST, name),
                Value::OctetString(b"nms lab".to_vec()),
            ),
            (
                name_oid(TARGET_ADDR_ENTRY, ROW_STATUS, name),
                Value::Integer(4),
            ),
        ]
    }

    #[test]
    fn addr_rows() {
        let s = NotifyState::new(Notify::default());
        // createAndGo without TAddress: incomplete.
        let mut vbs = addr_vbs("t1", 162);
        vbs.remove(1);
        let e = set(&s, &vbs).unwrap_err();
        assert_eq!(e, SetError::new(InconsistentValue, 4));
        set(&s, &addr_vbs("t1", 162)).unwrap();
        let t = s.snapshot();
        let r = t.addrs.get(b"t1".as_slice()).unwrap();
        assert_eq!(r.state, RowState::Active);
        assert_eq!(r.storage, Storage::NonVolatile);
        assert_eq!(r.timeout, 1500);
        assert_eq!(r.socket_addr(), Some("127.0.0.1:162".parse().unwrap()));
        // TAddress is frozen while active...
        let ta = name_oid(TARGET_ADDR_ENTRY, addr_col::TADDRESS, "t1");
        let e = set(
            &s,
            &[(ta.clone(), Value::OctetString(vec![127, 0, 0, 1, 0, 9]))],
        )
        .unwrap_err();
        assert_eq!(e, SetError::new(InconsistentValue, 1));
        // ...unless the same SET takes the row out of service.
        let rs = name_oid(TARGET_ADDR_ENTRY, addr_col::ROW_STATUS, "t1");
        set(
            &s,
            &[
                (ta.clone(), Value::OctetString(vec![127, 0, 0, 1, 0, 9])),
                (rs.clone(), Value::Integer(2)),
            ],
        )
        .unwrap();
        // An IPv6 domain with a 6-octet address cannot be activated.
        let td = name_oid(TARGET_ADDR_ENTRY, addr_col::TDOMAIN, "t1");
        let e = set(
            &s,
            &[(td.clone(), Value::ObjectId(UDP_IPV6_DOMAIN.to_vec()))],
        )
        .unwrap_err();
        assert_eq!(e.status, InconsistentValue);
        let mut a6 = vec![0; 15];
        a6.extend([1, 0, 162]);
        set(
            &s,
            &[
                (td, Value::ObjectId(UDP_IPV6_DOMAIN.to_vec())),
                (ta, Value::OctetString(a6)),
                (rs.clone(), Value::Integer(1)),
            ],
        )
        .unwrap();
        assert_eq!(
            s.snapshot()
                .addrs
                .get(b"t1".as_slice())
                .unwrap()
                .socket_addr(),
            Some("[::1]:162".parse().unwrap())
        );
        // Bad values per column.
        let bad = [
            (
                addr_col::TDOMAIN,
                Value::ObjectId(vec![1, 3, 6, 1, 6, 1, 4]),
                WrongValue,
            ),
            (addr_col::TIMEOUT, Value::Integer(-1), WrongValue),
            (addr_col::RETRY_COUNT, Value::Integer(256), WrongValue),
            (
                addr_col::TAG_LIST,
                Value::OctetString(b" a".to_vec()),
                WrongValue,
            ),
            (
                addr_col::TAG_LIST,
                Value::OctetString(b"a  b".to_vec()),
                WrongValue,
            ),
            (addr_col::PARAMS, Value::OctetString(vec![]), WrongLength),
            (addr_col::STORAGE_TYPE, Value::Integer(4), WrongValue),
            (addr_col::TADDRESS, Value::Integer(4), WrongType),
        ];
        for (col, v, want) in bad {
            let e = set(&s, &[(name_oid(TARGET_ADDR_ENTRY, col, "t1"), v)]).unwrap_err();
            assert_eq!(e.status, want, "column {col}");
        }
        // A name longer than 32 octets: noCreation.
        let long = "x".repeat(33);
        let e = set(
            &s,
            &[(name_oid(TARGET_ADDR_ENTRY, 9, &long), Value::Integer(5))],
        )
        .unwrap_err();
        assert_eq!(e.status, NoCreation);
        // Destroy.
        set(&s, &[(rs, Value::Integer(6))]).unwrap();
        assert!(s.snapshot().addrs.is_empty());
    }

    #[test]
    fn params_rows_need_a_usable_combination() {
        use params_col::*;
        let s = NotifyState::new(Notify::default());
        let o = |c| name_oid(TARGET_PARAMS_ENTRY, c, "p");
        let vbs = |mp: i32, model: i32, level: i32| {
            vec![
                (o(MP_MODEL), Value::Integer(mp)),
                (o(SECURITY_MODEL), Value::Integer(model)),
                (o(SECURITY_NAME), Value::OctetString(b"public".to_vec())),
                (o(SECURITY_LEVEL), Value::Integer(level)),
                (o(ROW_STATUS), Value::Integer(4)),
            ]
        };
        assert_eq!(
            set(&s, &vbs(1, 2, 2)).unwrap_err().status,
            InconsistentValue
        );
        assert_eq!(
            set(&s, &vbs(3, 2, 1)).unwrap_err().status,
            InconsistentValue
        );
        assert_eq!(set(&s, &vbs(1, 0, 1)).unwrap_err().status, WrongValue);
        assert_eq!(set(&s, &vbs(1, 2, 4)).unwrap_err().status, WrongValue);
        set(&s, &vbs(1, 2, 1)).unwrap();
        // Frozen while active.
        let e = set(&s, &[(o(SECURITY_NAME), Value::OctetString(b"x".to_vec()))]).unwrap_err();
        assert_eq!(e, SetError::new(InconsistentValue, 1));
        // The same value is not a change.
        set(
            &s,
            &[(o(SECURITY_NAME), Value::OctetString(b"public".to_vec()))],
        )
        .unwrap();
    }

    #[test]
    fn notify_and_filter_rows() {
        let s = NotifyState::new(Notify::default());
        let n = |c| name_oid(NOTIFY_ENTRY, c, "n");
        set(
            &s,
            &[
                (n(2), Value::OctetString(b"nms".to_vec())),
                (n(3), Value::Integer(2)),
                (n(5), Value::Integer(4)),
            ],
        )
        .unwrap();
        let r = s.snapshot().notifies.get(b"n".as_slice()).cloned().unwrap();
        assert!(r.inform && r.tag == b"nms" && r.state == RowState::Active);
        assert_eq!(
            set(&s, &[(n(2), Value::OctetString(b"a b".to_vec()))])
                .unwrap_err()
                .status,
            WrongValue
        );
        assert_eq!(
            set(&s, &[(n(3), Value::Integer(3))]).unwrap_err().status,
            WrongValue
        );
        // Profile: needs its name.
        let p = |c| name_oid(PROFILE_ENTRY, c, "p");
        assert_eq!(
            set(&s, &[(p(3), Value::Integer(4))]).unwrap_err().status,
            InconsistentValue
        );
        set(
            &s,
            &[
                (p(1), Value::OctetString(b"prof".to_vec())),
                (p(3), Value::Integer(4)),
            ],
        )
        .unwrap();
        // Filter row: (profile, IMPLIED subtree).
        let mut f = FILTER_ENTRY.to_vec();
        f.push(5);
        f.extend([4, 112, 114, 111, 102, 1, 3, 6, 1, 2, 1, 10, 166, 11]);
        set(&s, &[(f.clone(), Value::Integer(4))]).unwrap();
        let k = filter_key(b"prof", &[1, 3, 6, 1, 2, 1, 10, 166, 11]);
        assert!(s.snapshot().filters.get(&k).unwrap().included);
        // Read back through the table: GETNEXT from the table finds it.
        let ft = NTable {
            st: Arc::new(s),
            which: Which::Filter,
        };
        let (o, val) = ft.next_oid(FILTER_ENTRY).unwrap();
        let mut want = FILTER_ENTRY.to_vec();
        want.push(2);
        want.extend([4, 112, 114, 111, 102, 1, 3, 6, 1, 2, 1, 10, 166, 11]);
        assert_eq!((o, val), (want, Value::OctetString(vec![])));
        let mut status = f.clone();
        status[FILTER_ENTRY.len()] = 5;
        assert_eq!(ft.get_oid(&status), VarResult::Value(Value::Integer(1)));
    }

    #[test]
    fn implied_index_order() {
        let i = Idx::Name;
        assert_eq!(i.to_key(&[97, 98]), Some(b"ab".to_vec()));
        assert_eq!(i.to_key(&[97, 256]), None);
        assert_eq!(i.next_bound(&[97]), Some(Bound::Excluded(b"a".to_vec())));
        assert_eq!(
            i.next_bound(&[97, 300]),
            Some(Bound::Included(b"b".to_vec()))
        );
        assert_eq!(i.next_bound(&[300]), None);
        assert_eq!(i.next_bound(&[]), Some(Bound::Unbounded));
        let mut o = Vec::new();
        i.to_oid(b"ab", &mut o);
        assert_eq!(o, vec![97, 98]);
    }

    #[test]
    fn spin_lock() {
        let s = NotifyState::new(Notify::default());
        let o = crate::oid::join(TARGET_SPIN_LOCK, &[0]);
        assert_eq!(
            set(&s, &[(o.clone(), Value::Integer(3))])
                .unwrap_err()
                .status,
            InconsistentValue
        );
        set(&s, &[(o, Value::Integer(0))]).unwrap();
        assert_eq!(s.snapshot().spin_lock, 1);
    }
}
