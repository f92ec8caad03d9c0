//! The notification originator (RFC 3413 section 3.3).
//!
//! Event sources hand a [`Notification`] (the NOTIFICATION-TYPE's OID and
//! its OBJECTS varbinds) to an [`Originator`]: a bounded channel and
//! `try_send`, so a source never waits (a full channel is a counted drop).
//! One task then, per notification:
//!
//! 1. selects the targets: every active snmpNotifyEntry's tag against every
//!    active snmpTargetAddrEntry's tag list (a target selected by several
//!    entries gets one message; inform wins over trap);
//! 2. takes the target's active snmpTargetParamsEntry and drops the
//!    notification for it when the params' filter profile
//!    (snmpNotifyFilterProfileTable / snmpNotifyFilterTable, RFC 3413
//!    section 6) excludes the notification OID or any object, or when VACM
//!    (RFC 3415) denies the params' principal the notify view. When the
//!    principal is in no VACM group, no VACM check is made (as net-snmp does
//!    for its trap sinks): v1/v2c targets work with a plain community;
//! 3. builds the message for the params' model: SNMPv1 Trap-PDU (RFC 3584
//!    section 3.2 translation), SNMPv2c SNMPv2-Trap or InformRequest (the
//!    community is the params' securityName; there is no
//!    snmpCommunityTable), or SNMPv3 with USM. A v3 trap is sent with this
//!    engine as the authoritative one (keys of usmUserTable's row for our
//!    snmpEngineID); a v3 inform first discovers the receiver's engine ID,
//!    boots and time (RFC 3414 section 4) and uses keys localized to it:
//!    a usmUserTable row for (that engine ID, user), or, for users of the
//!    configuration file given by password, the password's key (Ku, kept in
//!    memory only) localized on the fly.
//!
//! Traps go out at once. Informs queue per target (bounded: a full queue is
//! a counted drop), at most [`WINDOW`] awaiting their Response per target;
//! each is retransmitted after snmpTargetAddrTimeout up to
//! snmpTargetAddrRetryCount times with the same request-id, and is done
//! when a Response with its request-id comes from the target's address
//! (acked) or the retries are spent (lost). A target row that goes away or
//! stops being active takes its queued informs with it (dropped). What
//! happens is counted in L3VPND-MIB l3vpndNotifyStats, in total and per
//! target.

use super::usm::{self, UserConf};
use super::wire;
use mib::notify_mib::{self, Counters, NotifyState, MP_V1, MP_V2C, MP_V3};
use mib::snmpv3::{Level, SecState, MODEL_ANY, MODEL_USM};
use mib::{Oid, Value, VarResult};
use rasn::types::{Integer, ObjectIdentifier, OctetString};
use rasn_snmp::v2::{self, Pdu, Pdus, VarBind};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant};
use vpn_core::notify_cfg::{
    filter_prefix, parse_filter_key, AddrRow, Domain, Notify, NotifyChange, NotifyRow, NtfRow,
    NtfTable, ParamsRow,
};
use vpn_core::security::{
    access_prefix, group_key, parse_access_key, user_key, view_prefix, with_prefix, AuthProto,
    PrivProto, Security,
};
use vpn_core::{Change, RowState, Storage};

/// sysUpTime.0 and snmpTrapOID.0 (RFC 3416 section 4.2.6).
pub const SYS_UP_TIME_0: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
pub const SNMP_TRAP_OID_0: &[u32] = &[1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0];
/// snmpTraps (RFC 3418): the standard notifications coldStart(1) ...
/// authenticationFailure(5); linkDown/linkUp are IF-MIB's .3/.4 under it.
pub const SNMP_TRAPS: &[u32] = &[1, 3, 6, 1, 6, 3, 1, 1, 5];
/// snmpTrapEnterprise.0 (RFC 3418).
const SNMP_TRAP_ENTERPRISE_0: &[u32] = &[1, 3, 6, 1, 6, 3, 1, 1, 4, 3, 0];

/// Informs awaiting a Response per target.
pub const WINDOW: usize = 64;
/// Informs queued per target (waiting and awaiting a Response) before new
/// ones are dropped.
pub const QUEUE_LIMIT: usize = 10_000;
/// Notifications handed to the originator and not yet taken.
pub const CHANNEL: usize = 16_384;

/// One notification: what an event source hands over.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// The NOTIFICATION-TYPE (the value of snmpTrapOID.0).
    pub trap_oid: Oid,
    /// The OBJECTS, in order, with their instance suffixes.
    pub objects: Vec<(Oid, Value)>,
    /// sysUpTime when it happened.
    pub uptime: u32,
}

impl Notification {
    pub fn new(trap_oid: &[u32], objects: Vec<(Oid, Value)>) -> Notification {
        Notification {
            trap_oid: trap_oid.to_vec(),
            objects,
            uptime: vpn_core::clock::ticks(),
        }
    }

    /// The SNMPv2 varbind list: sysUpTime.0, snmpTrapOID.0, the objects.
    pub fn varbinds(&self) -> Vec<VarBind> {
        let mut v = Vec::with_capacity(self.objects.len() + 2);
        v.push(wire::varbind(
            SYS_UP_TIME_0,
            &VarResult::Value(Value::TimeTicks(self.uptime)),
        ));
        v.push(wire::varbind(
            SNMP_TRAP_OID_0,
            &VarResult::Value(Value::ObjectId(self.trap_oid.clone())),
        ));
        for (o, val) in &self.objects {
            v.push(wire::varbind(o, &VarResult::Value(val.clone())));
        }
        v
    }
}

/// What event sources hold: hand a notification over, never wait.
#[derive(Clone)]
pub struct Originator {
    tx: mpsc::Sender<Notification>,
    state: Arc<NotifyState>,
}

impl Originator {
    pub fn send(&self, n: Notification) {
        if let Err(e) = self.tx.try_send(n) {
            self.state.stats.bump_total(|c| &c.dropped);
            // At most one warning a second.
            static LAST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let now = vpn_core::clock::start().elapsed().as_secs() + 1;
            if LAST.swap(now, std::sync::atomic::Ordering::Relaxed) != now {
                tracing::warn!(error = %e, "notification dropped: the originator is behind");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Configuration-file targets
// ---------------------------------------------------------------------------

/// A `[[notify_target]]` entry of the configuration file: one
/// snmpTargetAddrEntry, one snmpTargetParamsEntry and one snmpNotifyEntry,
/// all named `name`, all permanent. The target's tag list holds its name
/// (and `tags`); the notify entry selects the name.
#[derive(serde::Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct NotifyTargetConf {
    pub name: String,
    /// "ADDR:PORT", "[IPv6]:PORT" or just the address (port 162).
    pub address: String,
    /// trap (default) or inform.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// v1, v2c (default) or v3.
    pub version: Option<String>,
    /// v1/v2c: the community [default: public].
    pub community: Option<String>,
    /// v3: the USM user.
    pub user: Option<String>,
    /// v3: noAuthNoPriv, authNoPriv or authPriv [default: authPriv].
    pub level: Option<String>,
    /// snmpTargetAddrTimeout, hundredths of a second [default: 1500].
    pub timeout: Option<u32>,
    /// snmpTargetAddrRetryCount [default: 3].
    pub retries: Option<u32>,
    /// More tags for snmpTargetAddrTagList.
    #[serde(default)]
    pub tags: Vec<String>,
}

fn parse_addr(s: &str) -> Option<SocketAddr> {
    s.parse()
        .ok()
        .or_else(|| format!("{s}:162").parse().ok())
        .or_else(|| format!("[{s}]:162").parse().ok())
}

impl NotifyTargetConf {
    /// The three rows (addr, params, notify), or why the entry is wrong.
    pub fn rows(&self) -> Result<(AddrRow, ParamsRow, NotifyRow), String> {
        let who = &self.name;
        if self.name.is_empty() || self.name.len() > 32 {
            return Err(format!(
                "notify_target {who:?}: the name must be 1..32 octets"
            ));
        }
        let bad_tag = |t: &str| {
            t.is_empty() || t.len() > 255 || t.bytes().any(vpn_core::notify_cfg::is_delimiter)
        };
        if bad_tag(&self.name) {
            return Err(format!(
                "notify_target {who:?}: the name is used as a tag: no spaces"
            ));
        }
        if let Some(t) = self.tags.iter().find(|t| bad_tag(t)) {
            return Err(format!("notify_target {who:?}: bad tag {t:?}"));
        }
        let sa = parse_addr(&self.address)
            .ok_or_else(|| format!("notify_target {who:?}: bad address {:?}", self.address))?;
        let inform = match self.kind.as_deref().unwrap_or("trap") {
            "trap" => false,
            "inform" => true,
            k => {
                return Err(format!(
                    "notify_target {who:?}: type must be trap or inform, not {k:?}"
                ))
            }
        };
        let (mp, model, name, level) = match self.version.as_deref().unwrap_or("v2c") {
            v @ ("v1" | "v2c") => {
                if self.user.is_some() || self.level.is_some() {
                    return Err(format!("notify_target {who:?}: user and level are for v3"));
                }
                let c = self.community.clone().unwrap_or_else(|| "public".into());
                if v == "v1" {
                    (MP_V1, 1, c, 1)
                } else {
                    (MP_V2C, 2, c, 1)
                }
            }
            "v3" => {
                if self.community.is_some() {
                    return Err(format!("notify_target {who:?}: community is for v1/v2c"));
                }
                let u = self
                    .user
                    .clone()
                    .ok_or_else(|| format!("notify_target {who:?}: v3 needs a user"))?;
                let l = match self.level.as_deref().unwrap_or("authPriv") {
                    "noAuthNoPriv" => 1,
                    "authNoPriv" => 2,
                    "authPriv" => 3,
                    l => return Err(format!("notify_target {who:?}: bad level {l:?}")),
                };
                (MP_V3, MODEL_USM, u, l)
            }
            v => {
                return Err(format!(
                    "notify_target {who:?}: version must be v1, v2c or v3, not {v:?}"
                ))
            }
        };
        if name.len() > 255 {
            return Err(format!("notify_target {who:?}: community/user too long"));
        }
        let retries = self.retries.unwrap_or(3);
        if retries > 255 {
            return Err(format!("notify_target {who:?}: retries must be 0..255"));
        }
        let timeout = self.timeout.unwrap_or(1500);
        if timeout > i32::MAX as u32 {
            return Err(format!("notify_target {who:?}: timeout too large"));
        }
        let (domain, address) = Domain::of_socket_addr(sa);
        let mut tag_list = self.name.clone();
        for t in &self.tags {
            tag_list.push(' ');
            tag_list.push_str(t);
        }
        let addr = AddrRow {
            domain: Some(domain),
            address,
            timeout,
            retry_count: retries,
            tag_list: tag_list.into_bytes(),
            params: self.name.clone().into_bytes(),
            storage: Storage::Permanent,
            state: RowState::Active,
        };
        let params = ParamsRow {
            mp_model: Some(mp),
            security_model: Some(model),
            security_name: Some(name.into_bytes()),
            security_level: Some(level),
            storage: Storage::Permanent,
            state: RowState::Active,
        };
        let notify = NotifyRow {
            tag: self.name.clone().into_bytes(),
            inform,
            storage: Storage::Permanent,
            state: RowState::Active,
        };
        Ok((addr, params, notify))
    }
}

/// The notification tables at start: the stored rows, with the
/// configuration file's targets as permanent rows over them (the file wins
/// at every start). A stored permanent row the file no longer has is
/// removed.
pub fn bootstrap(
    store: &vpn_core::Store,
    conf: &[NotifyTargetConf],
) -> anyhow::Result<Arc<NotifyState>> {
    let mut t = Notify::load(store.db())?;
    let mut file: Vec<NotifyChange> = Vec::new();
    for c in conf {
        let (a, p, n) = c.rows().map_err(anyhow::Error::msg)?;
        let k = c.name.clone().into_bytes();
        file.push(NotifyChange::Put(k.clone(), NtfRow::Addr(a)));
        file.push(NotifyChange::Put(k.clone(), NtfRow::Params(p)));
        file.push(NotifyChange::Put(k, NtfRow::Notify(n)));
    }
    let in_file = |t: NtfTable, k: &[u8]| {
        file.iter()
            .any(|c| matches!(c, NotifyChange::Put(fk, r) if r.table() == t && fk == k))
    };
    let mut stale = Vec::new();
    let perm = Storage::Permanent;
    for (k, r) in t.addrs.iter() {
        if r.storage == perm && !in_file(NtfTable::Addr, k) {
            stale.push(NotifyChange::Del(NtfTable::Addr, k.clone()));
        }
    }
    for (k, r) in t.params.iter() {
        if r.storage == perm && !in_file(NtfTable::Params, k) {
            stale.push(NotifyChange::Del(NtfTable::Params, k.clone()));
        }
    }
    for (k, r) in t.notifies.iter() {
        if r.storage == perm && !in_file(NtfTable::Notify, k) {
            stale.push(NotifyChange::Del(NtfTable::Notify, k.clone()));
        }
    }
    for c in stale.iter().chain(file.iter()) {
        t.apply_one(c);
    }
    if !stale.is_empty() {
        store.commit(
            vpn_core::clock::ticks(),
            stale.into_iter().map(Change::Notify).collect(),
        )?;
    }
    tracing::info!(
        targets = t.addrs.len(),
        params = t.params.len(),
        notify = t.notifies.len(),
        from_file = conf.len(),
        "notification targets"
    );
    Ok(Arc::new(NotifyState::new(t)))
}

// ---------------------------------------------------------------------------
// Target selection, filters and VACM
// ---------------------------------------------------------------------------

/// The targets a notification goes to: (target name, inform), RFC 3413
/// section 3.3 step 1 (tags), one entry per target, inform winning.
pub fn select_targets(t: &Notify) -> Vec<(Vec<u8>, bool)> {
    let mut out: BTreeMap<Vec<u8>, bool> = BTreeMap::new();
    for n in t.notifies.values() {
        if n.state != RowState::Active || n.tag.is_empty() {
            continue;
        }
        for (name, a) in t.addrs.iter() {
            if a.state == RowState::Active && a.has_tag(&n.tag) {
                *out.entry(name.clone()).or_insert(false) |= n.inform;
            }
        }
    }
    out.into_iter().collect()
}

/// A view or filter family: subtree, mask (RFC 3413 / RFC 3415 semantics:
/// a 1 bit, or no bit, means the sub-identifier must match), included.
struct Family {
    subtree: Vec<u32>,
    mask: Vec<u8>,
    included: bool,
}

impl Family {
    fn matches(&self, oid: &[u32]) -> bool {
        oid.len() >= self.subtree.len()
            && self.subtree.iter().zip(oid).enumerate().all(|(i, (s, o))| {
                let exact = self
                    .mask
                    .get(i / 8)
                    .is_none_or(|m| m & (0x80 >> (i % 8)) != 0);
                !exact || s == o
            })
    }
}

/// Whether `oid` is in a set of families: the matching family with the most
/// sub-identifiers decides (among equals, the lexicographically greatest);
/// none matching: not in it.
fn families_contain(fams: &[Family], oid: &[u32]) -> bool {
    let mut best: Option<&Family> = None;
    for f in fams.iter().filter(|f| f.matches(oid)) {
        best = match best {
            Some(b) if (b.subtree.len(), &b.subtree) >= (f.subtree.len(), &f.subtree) => Some(b),
            _ => Some(f),
        };
    }
    best.is_some_and(|f| f.included)
}

/// RFC 3413 section 6: with a filter profile for the params, the
/// notification OID and every object must be in the filter.
pub fn filter_passes(t: &Notify, params_name: &[u8], n: &Notification) -> bool {
    let Some(p) = t
        .profiles
        .get(params_name)
        .filter(|p| p.state == RowState::Active)
    else {
        return true;
    };
    let pfx = filter_prefix(&p.profile);
    let fams: Vec<Family> = t
        .filters
        .range(pfx.clone()..)
        .take_while(|(k, _)| k.starts_with(&pfx))
        .filter(|(_, r)| r.state == RowState::Active)
        .filter_map(|(k, r)| {
            let (name, subtree) = parse_filter_key(k)?;
            (name == p.profile.as_slice()).then(|| Family {
                subtree,
                mask: r.mask.clone(),
                included: r.included,
            })
        })
        .collect();
    families_contain(&fams, &n.trap_oid)
        && n.objects.iter().all(|(o, _)| families_contain(&fams, o))
}

/// RFC 3413 section 3.3 / RFC 3415 isAccessAllowed with the notify view for
/// the params' principal, context "". `None`: the principal is in no group
/// (no check is made; see the module documentation).
pub fn vacm_allows(
    sec: &Security,
    model: u32,
    name: &[u8],
    level: u32,
    n: &Notification,
) -> Option<bool> {
    let group = sec
        .groups
        .get(&group_key(model, name))
        .filter(|g| g.state == RowState::Active)?;
    let p = access_prefix(&group.group);
    type Rank = (bool, bool, usize, u32);
    let mut best: Option<(Rank, &[u8])> = None;
    for (k, r) in with_prefix(&sec.access, &p) {
        let Some((g, prefix, m, l)) = parse_access_key(k) else {
            continue;
        };
        if g != group.group.as_slice() || r.state != RowState::Active {
            continue;
        }
        // The context is "": only an empty context prefix matches it,
        // exactly or as a prefix.
        if (m != model && m != MODEL_ANY) || l > level || !prefix.is_empty() {
            continue;
        }
        let rank = (m == model, r.exact, 0, l);
        if best.as_ref().is_none_or(|(b, _)| rank > *b) {
            best = Some((rank, r.notify.as_slice()));
        }
    }
    let Some((_, view)) = best else {
        return Some(false);
    };
    if view.is_empty() {
        return Some(false);
    }
    let vp = view_prefix(view);
    let fams: Vec<Family> = with_prefix(&sec.views, &vp)
        .filter(|(_, r)| r.state == RowState::Active)
        .filter_map(|(k, r)| {
            let (vn, subtree) = vpn_core::security::parse_view_key(k)?;
            (vn == view).then(|| Family {
                subtree,
                mask: r.mask.clone(),
                included: r.included,
            })
        })
        .collect();
    Some(
        families_contain(&fams, &n.trap_oid)
            && n.objects.iter().all(|(o, _)| families_contain(&fams, o)),
    )
}

// ---------------------------------------------------------------------------
// SNMPv1 (RFC 3584 section 3.2)
// ---------------------------------------------------------------------------

/// (enterprise, generic-trap, specific-trap) of a notification.
pub fn v1_fields(trap_oid: &[u32], objects: &[(Oid, Value)]) -> (Oid, i32, i32) {
    if trap_oid.len() == SNMP_TRAPS.len() + 1 && trap_oid.starts_with(SNMP_TRAPS) {
        let g = trap_oid[SNMP_TRAPS.len()];
        if (1..=6).contains(&g) {
            let ent = objects
                .iter()
                .find(|(o, _)| o.as_slice() == SNMP_TRAP_ENTERPRISE_0)
                .and_then(|(_, v)| match v {
                    Value::ObjectId(o) => Some(o.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| SNMP_TRAPS.to_vec());
            return (ent, g as i32 - 1, 0);
        }
    }
    let n = trap_oid.len();
    let specific = trap_oid.last().copied().unwrap_or(0) as i32;
    let ent = if n >= 2 && trap_oid[n - 2] == 0 {
        trap_oid[..n - 2].to_vec()
    } else {
        trap_oid[..n.saturating_sub(1)].to_vec()
    };
    (ent, 6, specific)
}

fn v1_value(v: &Value) -> Option<rasn_smi::v1::ObjectSyntax> {
    use rasn_smi::v1::{ApplicationSyntax as A, ObjectSyntax as O, SimpleSyntax as S};
    Some(match v {
        Value::Integer(i) => O::Simple(S::Number(Integer::from(*i))),
        Value::OctetString(b) => O::Simple(S::String(OctetString::from(b.clone()))),
        Value::ObjectId(o) => O::Simple(S::Object(oid(o))),
        Value::IpAddress(a) => O::ApplicationWide(A::Address(
            rasn_smi::v1::NetworkAddress::Internet(rasn_smi::v1::IpAddress((*a).into())),
        )),
        Value::Counter32(c) => O::ApplicationWide(A::Counter(rasn_smi::v1::Counter(*c))),
        Value::Gauge32(g) => O::ApplicationWide(A::Gauge(rasn_smi::v1::Gauge(*g))),
        Value::TimeTicks(t) => O::ApplicationWide(A::Ticks(rasn_smi::v1::TimeTicks(*t))),
        // RFC 3584 3.2 (1): Counter64 cannot be carried; nothing else is
        // ever an object of a notification.
        Value::Counter64(_) | Value::Opaque(_) | Value::Null => return None,
    })
}

/// An SNMPv1 Trap message.
pub fn encode_v1_trap(community: &[u8], agent: Ipv4Addr, n: &Notification) -> Vec<u8> {
    use rasn_snmp::v1;
    let (enterprise, generic, specific) = v1_fields(&n.trap_oid, &n.objects);
    let vbs = n
        .objects
        .iter()
        .filter(|(o, _)| o.as_slice() != SNMP_TRAP_ENTERPRISE_0)
        .filter_map(|(o, v)| {
            Some(v1::VarBind {
                name: oid(o),
                value: v1_value(v)?,
            })
        })
        .collect();
    let msg = v1::Message {
        version: Integer::from(0),
        community: OctetString::from(community.to_vec()),
        data: v1::Pdus::Trap(v1::Trap {
            enterprise: oid(&enterprise),
            agent_addr: rasn_smi::v1::NetworkAddress::Internet(rasn_smi::v1::IpAddress(
                agent.octets().into(),
            )),
            generic_trap: Integer::from(generic),
            specific_trap: Integer::from(specific),
            time_stamp: rasn_smi::v1::TimeTicks(n.uptime),
            variable_bindings: vbs,
        }),
    };
    rasn::ber::encode(&msg).expect("traps always encode")
}

fn oid(o: &[u32]) -> ObjectIdentifier {
    ObjectIdentifier::new_unchecked(Cow::Owned(o.to_vec()))
}

/// An SNMPv2c message around a PDU.
fn encode_v2c(community: &[u8], pdu: Pdus) -> Vec<u8> {
    let msg = rasn_snmp::v2c::Message {
        version: Integer::from(1),
        community: OctetString::from(community.to_vec()),
        data: pdu,
    };
    rasn::ber::encode(&msg).expect("notifications always encode")
}

fn pdu(request_id: i32, vbs: Vec<VarBind>) -> Pdu {
    Pdu {
        request_id,
        error_status: 0,
        error_index: 0,
        variable_bindings: vbs,
    }
}

// ---------------------------------------------------------------------------
// SNMPv3 messages (RFC 3412 section 6, RFC 3414 sections 2.4 and 3.1)
// ---------------------------------------------------------------------------

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
    let mut i = 0;
    while i < 7 && be[i] == 0 && be[i + 1] & 0x80 == 0 {
        i += 1;
    }
    tlv_bytes(0x02, &be[i..])
}

/// The security of one outgoing v3 message.
#[derive(Clone)]
pub struct Keys {
    pub user: Vec<u8>,
    pub level: Level,
    pub auth: AuthProto,
    pub auth_key: Vec<u8>,
    pub privp: PrivProto,
    pub priv_key: Vec<u8>,
}

/// The parameters of one outgoing v3 message.
pub struct V3Out<'a> {
    pub msg_id: u32,
    pub max_size: u32,
    pub reportable: bool,
    /// msgAuthoritativeEngineID / Boots / Time.
    pub engine_id: &'a [u8],
    pub boots: u32,
    pub time: u32,
    /// contextEngineID of the scopedPDU (the originator's snmpEngineID).
    pub context_engine_id: &'a [u8],
    pub salt: u64,
}

/// A whole SNMPv3 message (the MAC covers the message with the MAC zeroed).
pub fn encode_v3(o: &V3Out, k: &Keys, pdu: &Pdus) -> Vec<u8> {
    let pdu = rasn::ber::encode(pdu).expect("PDUs always encode");
    let mut scoped_body = tlv_bytes(0x04, o.context_engine_id);
    scoped_body.extend(tlv_bytes(0x04, b""));
    scoped_body.extend(pdu);
    let scoped = tlv_bytes(0x30, &scoped_body);
    let (data, priv_params) = if k.level == Level::AuthPriv {
        match usm::encrypt(k.privp, &k.priv_key, o.boots, o.time, o.salt, &scoped) {
            Some((c, p)) => (tlv_bytes(0x04, &c), p),
            None => (scoped, Vec::new()),
        }
    } else {
        (scoped, Vec::new())
    };
    let mac_len = if k.level >= Level::AuthNoPriv {
        usm::mac_len(k.auth)
    } else {
        0
    };
    let mut pre_auth = tlv_bytes(0x04, o.engine_id);
    pre_auth.extend(int_bytes(o.boots));
    pre_auth.extend(int_bytes(o.time));
    pre_auth.extend(tlv_bytes(0x04, &k.user));
    let auth_tlv = tlv_bytes(0x04, &vec![0u8; mac_len]);
    let priv_tlv = tlv_bytes(0x04, &priv_params);
    let usm_len = pre_auth.len() + auth_tlv.len() + priv_tlv.len();
    let usm_seq = header(0x30, usm_len);
    let usm_oct = header(0x04, usm_seq.len() + usm_len);
    let mut flags = match k.level {
        Level::NoAuthNoPriv => 0,
        Level::AuthNoPriv => 1,
        Level::AuthPriv => 3,
    };
    if o.reportable {
        flags |= 4;
    }
    let mut global = int_bytes(o.msg_id);
    global.extend(int_bytes(o.max_size));
    global.extend(tlv_bytes(0x04, &[flags]));
    global.extend(int_bytes(MODEL_USM));
    let global = tlv_bytes(0x30, &global);
    let version = int_bytes(3);
    let body = version.len() + global.len() + usm_oct.len() + usm_seq.len() + usm_len + data.len();
    let mut msg = header(0x30, body);
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
        let mac = usm::hmac(k.auth, &k.auth_key, &msg);
        msg[mac_at..mac_at + mac_len].copy_from_slice(&mac);
    }
    msg
}

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

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    end: usize,
}

impl Cursor<'_> {
    fn next(&mut self, want: u8) -> Option<(usize, usize)> {
        let (tag, s, e) = tlv(&self.b[..self.end], self.pos)?;
        if tag != want {
            return None;
        }
        self.pos = e;
        Some((s, e))
    }
    fn uint(&mut self) -> Option<u32> {
        let (s, e) = self.next(0x02)?;
        let b = &self.b[s..e];
        if b.is_empty() || b.len() > 5 || b[0] & 0x80 != 0 {
            return None;
        }
        let v = b.iter().fold(0u64, |a, &x| (a << 8) | x as u64);
        u32::try_from(v).ok()
    }
    fn octets(&mut self) -> Option<(usize, usize)> {
        self.next(0x04)
    }
}

/// An incoming SNMPv3 message (a Response or Report to what we sent).
pub struct V3In<'a> {
    pub msg_id: u32,
    pub flags: u8,
    pub engine_id: &'a [u8],
    pub boots: u32,
    pub time: u32,
    /// Content range of msgAuthenticationParameters.
    pub auth: (usize, usize),
    pub privp: &'a [u8],
    /// msgData: (encrypted, content range).
    pub data: (bool, usize, usize),
}

pub fn parse_v3(b: &[u8]) -> Option<V3In<'_>> {
    let (tag, s, e) = tlv(b, 0)?;
    if tag != 0x30 {
        return None;
    }
    let mut c = Cursor { b, pos: s, end: e };
    if c.uint()? != 3 {
        return None;
    }
    let (gs, ge) = c.next(0x30)?;
    let mut g = Cursor {
        b,
        pos: gs,
        end: ge,
    };
    let msg_id = g.uint()?;
    let _max = g.uint()?;
    let (fs, fe) = g.octets()?;
    if fe - fs != 1 || g.uint()? != MODEL_USM {
        return None;
    }
    let flags = b[fs];
    let (ps, pe) = c.octets()?;
    let data = match tlv(&b[..e], c.pos)? {
        (0x30, _, de) => (false, c.pos, de),
        (0x04, ds, de) => (true, ds, de),
        _ => return None,
    };
    let (us, ue) = Cursor {
        b,
        pos: ps,
        end: pe,
    }
    .next(0x30)?;
    let mut u = Cursor {
        b,
        pos: us,
        end: ue,
    };
    let (es, ee) = u.octets()?;
    let boots = u.uint()?;
    let time = u.uint()?;
    u.octets()?; // msgUserName
    let auth = u.octets()?;
    let (vs, ve) = u.octets()?;
    Some(V3In {
        msg_id,
        flags,
        engine_id: &b[es..ee],
        boots,
        time,
        auth,
        privp: &b[vs..ve],
        data,
    })
}

/// The PDU of an incoming v3 message, authenticated and decrypted with `k`
/// when its flags say so; `None` if it does not check out.
pub fn open_v3(b: &[u8], m: &V3In, k: Option<&Keys>) -> Option<Pdus> {
    let authed = m.flags & 1 != 0;
    if authed {
        let k = k?;
        let (s, e) = m.auth;
        if k.auth == AuthProto::None || e - s != usm::mac_len(k.auth) {
            return None;
        }
        let mut copy = b.to_vec();
        copy[s..e].fill(0);
        if !usm::mac_eq(&usm::hmac(k.auth, &k.auth_key, &copy), &b[s..e]) {
            return None;
        }
    }
    let plain: Vec<u8>;
    let scoped: &[u8] = match (m.flags & 2 != 0, m.data) {
        (true, (true, s, e)) => {
            let k = k?;
            plain = usm::decrypt(k.privp, &k.priv_key, m.boots, m.time, m.privp, &b[s..e])?;
            &plain
        }
        (false, (false, s, e)) => &b[s..e],
        _ => return None,
    };
    let (tag, s, e) = tlv(scoped, 0)?;
    if tag != 0x30 {
        return None;
    }
    let mut c = Cursor {
        b: scoped,
        pos: s,
        end: e,
    };
    c.octets()?;
    c.octets()?;
    let (_, _, pe) = tlv(&scoped[..e], c.pos)?;
    std::panic::catch_unwind(|| rasn::ber::decode::<Pdus>(&scoped[c.pos..pe]))
        .ok()?
        .ok()
}

/// usmStats counters a Report carries (RFC 3414).
const USM_STATS: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 1];

fn report_counter(p: &Pdu) -> Option<u32> {
    let vb = p.variable_bindings.first()?;
    let o: &[u32] = &vb.name;
    (o.len() == USM_STATS.len() + 2 && o.starts_with(USM_STATS)).then(|| o[USM_STATS.len()])
}

// ---------------------------------------------------------------------------
// The originator task
// ---------------------------------------------------------------------------

/// How the originator is set up.
pub struct Setup {
    pub sec: Arc<SecState>,
    pub state: Arc<NotifyState>,
    /// Users of the configuration file: those given by password can be
    /// localized to a receiver's engine ID for informs.
    pub users: Vec<UserConf>,
    pub queue_limit: usize,
    pub window: usize,
}

/// Start the originator (binds its sockets: an ephemeral UDP port on
/// 0.0.0.0, and on [::] when the host has IPv6).
pub async fn spawn(setup: Setup) -> std::io::Result<(Originator, tokio::task::JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel(CHANNEL);
    let sock4 = Arc::new(UdpSocket::bind("0.0.0.0:0").await?);
    let sock6 = UdpSocket::bind("[::]:0").await.ok().map(Arc::new);
    let (in_tx, in_rx) = mpsc::channel::<(Vec<u8>, SocketAddr)>(4096);
    let mut readers = Vec::new();
    for s in [Some(sock4.clone()), sock6.clone()].into_iter().flatten() {
        let in_tx = in_tx.clone();
        readers.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            loop {
                match s.recv_from(&mut buf).await {
                    Ok((n, from)) => {
                        if in_tx.send((buf[..n].to_vec(), from)).await.is_err() {
                            return;
                        }
                    }
                    // ICMP errors of earlier sends and the like.
                    Err(e) => tracing::debug!(error = %e, "notification socket"),
                }
            }
        }));
    }
    let orig = Originator {
        tx,
        state: setup.state.clone(),
    };
    let mut seed = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut seed);
    }
    let seed = u64::from_ne_bytes(seed);
    let runner = Runner {
        kus: HashMap::new(),
        users: setup
            .users
            .iter()
            .map(|u| (u.name.clone().into_bytes(), u.clone()))
            .collect(),
        sec: setup.sec,
        state: setup.state,
        queue_limit: setup.queue_limit.max(1),
        window: setup.window.max(1),
        sock4,
        sock6,
        next_id: (seed as u32) & 0x3fff_ffff,
        next_msg_id: ((seed >> 32) as u32) & 0x3fff_ffff,
        salt: seed,
        targets: HashMap::new(),
        flights: HashMap::new(),
        msg_ids: HashMap::new(),
        timers: BTreeMap::new(),
        timer_seq: 0,
        engines: HashMap::new(),
        discovery: HashMap::new(),
        local_v4: HashMap::new(),
    };
    let task = tokio::spawn(async move {
        runner.run(rx, in_rx).await;
        for r in readers {
            r.abort();
        }
    });
    Ok((orig, task))
}

/// An inform to deliver.
struct Job {
    id: i32,
    target: Vec<u8>,
    n: Arc<Notification>,
    /// Transmissions so far.
    tries: u32,
}

#[derive(Default)]
struct TargetQ {
    queue: VecDeque<Job>,
    inflight: usize,
}

/// An inform awaiting its Response.
struct Flight {
    job: Job,
    to: SocketAddr,
    /// v3: the keys it was sent with (to check the answer).
    keys: Option<Keys>,
    timer: (Instant, u64),
}

/// What a v3 msgID was sent for.
#[derive(Clone, Copy)]
enum MsgRef {
    Inform(i32),
    Discovery(SocketAddr),
}

#[derive(Clone, Copy)]
enum TimerRef {
    Inform(i32),
    Discovery(SocketAddr),
}

/// A receiver's engine (RFC 3414 section 2.3), learned by discovery.
struct Remote {
    engine_id: Vec<u8>,
    boots: u32,
    time: u32,
    at: Instant,
}

impl Remote {
    fn time_now(&self) -> u32 {
        self.time
            .saturating_add(self.at.elapsed().as_secs().min(i32::MAX as u64) as u32)
    }
}

struct Discovery {
    msg_id: u32,
    tries: u32,
    timer: (Instant, u64),
    /// The target whose timeout and retries it follows.
    target: Vec<u8>,
}

/// Password-derived keys (Ku) of a configuration-file user.
struct UserKu {
    auth: AuthProto,
    auth_ku: Vec<u8>,
    privp: PrivProto,
    priv_ku: Vec<u8>,
}

struct Runner {
    sec: Arc<SecState>,
    state: Arc<NotifyState>,
    users: HashMap<Vec<u8>, UserConf>,
    kus: HashMap<Vec<u8>, Option<UserKu>>,
    queue_limit: usize,
    window: usize,
    sock4: Arc<UdpSocket>,
    sock6: Option<Arc<UdpSocket>>,
    next_id: u32,
    next_msg_id: u32,
    salt: u64,
    targets: HashMap<Vec<u8>, TargetQ>,
    flights: HashMap<i32, Flight>,
    msg_ids: HashMap<u32, MsgRef>,
    timers: BTreeMap<(Instant, u64), TimerRef>,
    timer_seq: u64,
    engines: HashMap<SocketAddr, Remote>,
    discovery: HashMap<SocketAddr, Discovery>,
    local_v4: HashMap<SocketAddr, Ipv4Addr>,
}

/// What a target resolves to right now.
struct Resolved {
    to: SocketAddr,
    timeout: Duration,
    retries: u32,
    mp: u32,
    name: Vec<u8>,
    level: u32,
}

fn timeout_of(cs: u32) -> Duration {
    Duration::from_millis(cs.max(1) as u64 * 10)
}

fn level_of(l: u32) -> Level {
    match l {
        3 => Level::AuthPriv,
        2 => Level::AuthNoPriv,
        _ => Level::NoAuthNoPriv,
    }
}

impl Runner {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Notification>,
        mut incoming: mpsc::Receiver<(Vec<u8>, SocketAddr)>,
    ) {
        loop {
            let next = self.timers.keys().next().map(|k| k.0);
            tokio::select! {
                n = rx.recv() => match n {
                    Some(n) => self.notify(n).await,
                    None => return,
                },
                Some((b, from)) = incoming.recv() => self.incoming(&b, from).await,
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                    self.fire_timers().await;
                }
            }
        }
    }

    fn id(&mut self) -> i32 {
        self.next_id = (self.next_id + 1) & 0x7fff_ffff;
        self.next_id as i32
    }

    fn msg_id(&mut self) -> u32 {
        self.next_msg_id = (self.next_msg_id + 1) & 0x7fff_ffff;
        self.next_msg_id
    }

    fn timer(&mut self, at: Instant, r: TimerRef) -> (Instant, u64) {
        self.timer_seq += 1;
        let k = (at, self.timer_seq);
        self.timers.insert(k, r);
        k
    }

    fn stats(&self) -> &mib::notify_mib::NotifyStats {
        &self.state.stats
    }

    fn bump(&self, target: &[u8], which: fn(&Counters) -> &AtomicU32) {
        self.state.stats.bump(target, which);
    }

    fn update_pending(&self, target: &[u8]) {
        let n = self
            .targets
            .get(target)
            .map_or(0, |q| q.queue.len() + q.inflight);
        self.stats().set_pending(target, n as u32);
    }

    /// The target's address row and params row, if both are active and usable.
    fn resolve(&self, t: &Notify, target: &[u8]) -> Option<Resolved> {
        let a = t
            .addrs
            .get(target)
            .filter(|a| a.state == RowState::Active)?;
        let to = a.socket_addr()?;
        let p = t
            .params
            .get(&a.params)
            .filter(|p| p.state == RowState::Active)?;
        let (mp, model, level) = (p.mp_model?, p.security_model?, p.security_level?);
        if !notify_mib::usable_params(mp, model, level) {
            return None;
        }
        Some(Resolved {
            to,
            timeout: timeout_of(a.timeout),
            retries: a.retry_count,
            mp,
            name: p.security_name.clone()?,
            level,
        })
    }

    async fn send_to(&self, b: &[u8], to: SocketAddr) -> bool {
        let sock = if to.is_ipv4() {
            Some(&self.sock4)
        } else {
            self.sock6.as_ref()
        };
        let Some(s) = sock else { return false };
        match s.send_to(b, to).await {
            Ok(_) => true,
            Err(e) => {
                tracing::debug!(%to, error = %e, "sending a notification");
                false
            }
        }
    }

    /// The local IPv4 address toward `to` (a v1 Trap's agent-addr).
    fn agent_addr(&mut self, to: SocketAddr) -> Ipv4Addr {
        if let Some(a) = self.local_v4.get(&to) {
            return *a;
        }
        let a = std::net::UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| s.connect(to).and_then(|_| s.local_addr()))
            .ok()
            .and_then(|l| match l.ip() {
                IpAddr::V4(v) => Some(v),
                _ => None,
            })
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        self.local_v4.insert(to, a);
        a
    }

    /// One new notification: select targets, filter, send or queue.
    async fn notify(&mut self, n: Notification) {
        let t = self.state.snapshot();
        self.prune(&t);
        let sec = self.sec.snapshot();
        let n = Arc::new(n);
        for (target, inform) in select_targets(&t) {
            let Some(r) = self.resolve(&t, &target) else {
                tracing::debug!(target = %String::from_utf8_lossy(&target), "notification not sent: no usable params");
                self.bump(&target, |c| &c.dropped);
                continue;
            };
            let a = t.addrs.get(&target).expect("resolved");
            if !filter_passes(&t, &a.params, &n) {
                continue;
            }
            let p = t.params.get(&a.params).expect("resolved");
            let model = p.security_model.unwrap_or(0);
            if vacm_allows(&sec, model, &r.name, r.level, &n) == Some(false) {
                tracing::debug!(target = %String::from_utf8_lossy(&target), "notification not in the notify view");
                continue;
            }
            if inform && r.mp != MP_V1 {
                let q = self.targets.entry(target.clone()).or_default();
                if q.queue.len() + q.inflight >= self.queue_limit {
                    self.bump(&target, |c| &c.dropped);
                    tracing::warn!(target = %String::from_utf8_lossy(&target), "inform dropped: the target's queue is full");
                    continue;
                }
                let id = self.id();
                self.targets
                    .get_mut(&target)
                    .expect("just made")
                    .queue
                    .push_back(Job {
                        id,
                        target: target.clone(),
                        n: n.clone(),
                        tries: 0,
                    });
                self.pump(&target).await;
                self.update_pending(&target);
            } else {
                self.send_trap(&target, &r, &n).await;
            }
        }
    }

    /// Informs queued for targets that no longer exist (or are not active)
    /// are dropped; informs awaiting a Response end at their timer.
    fn prune(&mut self, t: &Notify) {
        let gone: Vec<Vec<u8>> = self
            .targets
            .iter()
            .filter(|(name, q)| {
                !q.queue.is_empty()
                    && !t
                        .addrs
                        .get(*name)
                        .is_some_and(|a| a.state == RowState::Active)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            let n = self
                .targets
                .get_mut(&name)
                .map_or(0, |q| std::mem::take(&mut q.queue).len());
            for _ in 0..n {
                self.bump(&name, |c| &c.dropped);
            }
            self.update_pending(&name);
        }
        self.targets
            .retain(|_, q| !q.queue.is_empty() || q.inflight > 0);
    }

    async fn send_trap(&mut self, target: &[u8], r: &Resolved, n: &Notification) {
        let b = match r.mp {
            MP_V1 => {
                let agent = self.agent_addr(r.to);
                Some(encode_v1_trap(&r.name, agent, n))
            }
            MP_V2C => {
                let id = self.id();
                Some(encode_v2c(
                    &r.name,
                    Pdus::Trap(v2::Trap(pdu(id, n.varbinds()))),
                ))
            }
            _ => {
                // SNMPv3 trap: this engine is authoritative.
                let level = level_of(r.level);
                match self.local_keys(&r.name, level) {
                    Some(k) => {
                        let id = self.id();
                        let msg_id = self.msg_id();
                        self.salt = self.salt.wrapping_add(1);
                        let o = V3Out {
                            msg_id,
                            max_size: self.sec.max_msg_size,
                            reportable: false,
                            engine_id: &self.sec.engine_id,
                            boots: self.sec.boots,
                            time: self.sec.engine_time(),
                            context_engine_id: &self.sec.engine_id,
                            salt: self.salt,
                        };
                        Some(encode_v3(
                            &o,
                            &k,
                            &Pdus::Trap(v2::Trap(pdu(id, n.varbinds()))),
                        ))
                    }
                    None => None,
                }
            }
        };
        match b {
            Some(b) if self.send_to(&b, r.to).await => self.bump(target, |c| &c.traps),
            _ => self.bump(target, |c| &c.dropped),
        }
    }

    /// Keys of user `name` for this engine (usmUserTable).
    fn local_keys(&self, name: &[u8], level: Level) -> Option<Keys> {
        let sec = self.sec.snapshot();
        let u = sec
            .users
            .get(&user_key(&self.sec.engine_id, name))
            .filter(|u| u.state == RowState::Active);
        self.keys_of(
            name,
            level,
            u.map(|u| (u.auth, u.auth_key.clone(), u.privp, u.priv_key.clone())),
        )
    }

    fn keys_of(
        &self,
        name: &[u8],
        level: Level,
        u: Option<(AuthProto, Vec<u8>, PrivProto, Vec<u8>)>,
    ) -> Option<Keys> {
        let (auth, auth_key, privp, priv_key) = match u {
            Some(x) => x,
            None if level == Level::NoAuthNoPriv => {
                (AuthProto::None, Vec::new(), PrivProto::None, Vec::new())
            }
            None => {
                tracing::warn!(user = %String::from_utf8_lossy(name), "no keys for a v3 notification");
                return None;
            }
        };
        let ok = match level {
            Level::NoAuthNoPriv => true,
            Level::AuthNoPriv => auth != AuthProto::None && !auth_key.is_empty(),
            Level::AuthPriv => {
                auth != AuthProto::None && privp != PrivProto::None && !priv_key.is_empty()
            }
        };
        if !ok {
            tracing::warn!(user = %String::from_utf8_lossy(name), ?level, "the user does not support the target's security level");
            return None;
        }
        Some(Keys {
            user: name.to_vec(),
            level,
            auth,
            auth_key,
            privp,
            priv_key,
        })
    }

    /// Keys of user `name` for a receiver's engine: its usmUserTable row, or
    /// the configuration file's password localized to it.
    fn remote_keys(&mut self, engine_id: &[u8], name: &[u8], level: Level) -> Option<Keys> {
        let sec = self.sec.snapshot();
        if let Some(u) = sec
            .users
            .get(&user_key(engine_id, name))
            .filter(|u| u.state == RowState::Active)
        {
            let u = (u.auth, u.auth_key.clone(), u.privp, u.priv_key.clone());
            return self.keys_of(name, level, Some(u));
        }
        if !self.kus.contains_key(name) {
            let ku = self.users.get(name).and_then(|c| {
                let auth = usm::parse_auth(c.auth.as_deref().unwrap_or("none"))?;
                let privp = usm::parse_priv(c.privacy.as_deref().unwrap_or("none"))?;
                let auth_ku = usm::password_to_key(auth, c.auth_password.as_deref()?.as_bytes());
                let priv_ku = c
                    .priv_password
                    .as_deref()
                    .map(|p| usm::password_to_key(auth, p.as_bytes()))
                    .unwrap_or_default();
                Some(UserKu {
                    auth,
                    auth_ku,
                    privp,
                    priv_ku,
                })
            });
            self.kus.insert(name.to_vec(), ku);
        }
        let u = self.kus.get(name).and_then(|k| k.as_ref()).map(|k| {
            let auth_key = usm::localize(k.auth, &k.auth_ku, engine_id);
            let priv_key = if k.privp == PrivProto::None || k.priv_ku.is_empty() {
                Vec::new()
            } else {
                usm::extend_priv_key(
                    k.auth,
                    k.privp,
                    usm::localize(k.auth, &k.priv_ku, engine_id),
                    engine_id,
                )
            };
            (k.auth, auth_key, k.privp, priv_key)
        });
        self.keys_of(name, level, u)
    }

    /// Send queued informs of `target` while its window has room.
    async fn pump(&mut self, target: &[u8]) {
        loop {
            let Some(q) = self.targets.get_mut(target) else {
                return;
            };
            if q.inflight >= self.window || q.queue.is_empty() {
                return;
            }
            let job = q.queue.pop_front().expect("not empty");
            match self.transmit(job).await {
                Ok(()) => {}
                Err(Some(job)) => {
                    // Waiting for engine discovery: keep its place.
                    if let Some(q) = self.targets.get_mut(target) {
                        q.queue.push_front(job);
                    }
                    return;
                }
                Err(None) => {}
            }
        }
    }

    /// Send (or resend) one inform. `Err(Some(job))`: not now (the
    /// receiver's engine is being discovered); `Err(None)`: given up
    /// (counted).
    async fn transmit(&mut self, mut job: Job) -> Result<(), Option<Job>> {
        let t = self.state.snapshot();
        let Some(r) = self.resolve(&t, &job.target) else {
            self.bump(&job.target, |c| &c.dropped);
            return Err(None);
        };
        let (bytes, keys) = if r.mp == MP_V3 {
            let Some(remote) = self.engines.get(&r.to) else {
                self.discover(r.to, &job.target, &r).await;
                return Err(Some(job));
            };
            let (eid, boots, time) = (remote.engine_id.clone(), remote.boots, remote.time_now());
            let Some(k) = self.remote_keys(&eid, &r.name, level_of(r.level)) else {
                self.bump(&job.target, |c| &c.dropped);
                return Err(None);
            };
            let msg_id = self.msg_id();
            self.salt = self.salt.wrapping_add(1);
            let o = V3Out {
                msg_id,
                max_size: self.sec.max_msg_size,
                reportable: true,
                engine_id: &eid,
                boots,
                time,
                context_engine_id: &self.sec.engine_id,
                salt: self.salt,
            };
            let b = encode_v3(
                &o,
                &k,
                &Pdus::InformRequest(v2::InformRequest(pdu(job.id, job.n.varbinds()))),
            );
            self.msg_ids.insert(msg_id, MsgRef::Inform(job.id));
            (b, Some(k))
        } else {
            let b = encode_v2c(
                &r.name,
                Pdus::InformRequest(v2::InformRequest(pdu(job.id, job.n.varbinds()))),
            );
            (b, None)
        };
        let first = job.tries == 0;
        job.tries += 1;
        let sent = self.send_to(&bytes, r.to).await;
        if first {
            self.bump(&job.target, |c| &c.informs);
        } else {
            self.bump(&job.target, |c| &c.retried);
        }
        if !sent {
            tracing::debug!(to = %r.to, "inform not sent; will retry");
        }
        let id = job.id;
        let timer = self.timer(Instant::now() + r.timeout, TimerRef::Inform(id));
        let target = job.target.clone();
        self.flights.insert(
            id,
            Flight {
                job,
                to: r.to,
                keys,
                timer,
            },
        );
        if let Some(q) = self.targets.get_mut(&target) {
            q.inflight += 1;
        }
        Ok(())
    }

    /// Start engine discovery toward `to` (RFC 3414 section 4), unless one runs.
    async fn discover(&mut self, to: SocketAddr, target: &[u8], r: &Resolved) {
        if self.discovery.contains_key(&to) {
            return;
        }
        let msg_id = self.msg_id();
        let timer = self.timer(Instant::now() + r.timeout, TimerRef::Discovery(to));
        self.discovery.insert(
            to,
            Discovery {
                msg_id,
                tries: 1,
                timer,
                target: target.to_vec(),
            },
        );
        self.send_probe(to, msg_id).await;
    }

    async fn send_probe(&mut self, to: SocketAddr, msg_id: u32) {
        self.msg_ids.insert(msg_id, MsgRef::Discovery(to));
        let id = self.id();
        let k = Keys {
            user: Vec::new(),
            level: Level::NoAuthNoPriv,
            auth: AuthProto::None,
            auth_key: Vec::new(),
            privp: PrivProto::None,
            priv_key: Vec::new(),
        };
        let o = V3Out {
            msg_id,
            max_size: self.sec.max_msg_size,
            reportable: true,
            engine_id: b"",
            boots: 0,
            time: 0,
            context_engine_id: b"",
            salt: 0,
        };
        let b = encode_v3(
            &o,
            &k,
            &Pdus::GetRequest(v2::GetRequest(pdu(id, Vec::new()))),
        );
        self.send_to(&b, to).await;
    }

    /// A flight is over (acked, lost or dropped).
    fn land(&mut self, id: i32) -> Option<Flight> {
        let f = self.flights.remove(&id)?;
        self.timers.remove(&f.timer);
        self.msg_ids
            .retain(|_, r| !matches!(r, MsgRef::Inform(i) if *i == id));
        if let Some(q) = self.targets.get_mut(&f.job.target) {
            q.inflight = q.inflight.saturating_sub(1);
        }
        Some(f)
    }

    async fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some((&k, &r)) = self.timers.iter().next() {
            if k.0 > now {
                break;
            }
            self.timers.remove(&k);
            match r {
                TimerRef::Inform(id) => self.inform_timeout(id).await,
                TimerRef::Discovery(to) => self.discovery_timeout(to).await,
            }
        }
    }

    async fn inform_timeout(&mut self, id: i32) {
        let Some(f) = self.land(id) else { return };
        let target = f.job.target.clone();
        let t = self.state.snapshot();
        let retries = self.resolve(&t, &target).map(|r| r.retries);
        match retries {
            Some(n) if f.job.tries <= n => {
                let _ = self.transmit(f.job).await.map_err(|j| {
                    if let Some(j) = j {
                        self.targets
                            .entry(target.clone())
                            .or_default()
                            .queue
                            .push_front(j);
                    }
                });
            }
            Some(_) => {
                self.bump(&target, |c| &c.lost);
                tracing::info!(target = %String::from_utf8_lossy(&target), request_id = id, "inform lost: no response after its retries");
            }
            None => self.bump(&target, |c| &c.dropped),
        }
        self.pump(&target).await;
        self.update_pending(&target);
    }

    async fn discovery_timeout(&mut self, to: SocketAddr) {
        let Some(d) = self.discovery.remove(&to) else {
            return;
        };
        self.msg_ids.remove(&d.msg_id);
        let t = self.state.snapshot();
        match self.resolve(&t, &d.target) {
            Some(r) if d.tries <= r.retries => {
                let msg_id = self.msg_id();
                let timer = self.timer(Instant::now() + r.timeout, TimerRef::Discovery(to));
                self.discovery.insert(
                    to,
                    Discovery {
                        msg_id,
                        tries: d.tries + 1,
                        timer,
                        target: d.target,
                    },
                );
                self.send_probe(to, msg_id).await;
            }
            _ => {
                // The receiver never answered: every inform waiting for it
                // is lost.
                tracing::info!(%to, "SNMPv3 engine discovery failed");
                let waiting: Vec<Vec<u8>> = self.targets.keys().cloned().collect();
                for name in waiting {
                    if self.resolve(&t, &name).map(|r| r.to) != Some(to) {
                        continue;
                    }
                    let jobs: Vec<Job> = self
                        .targets
                        .get_mut(&name)
                        .map(|q| q.queue.drain(..).collect())
                        .unwrap_or_default();
                    for _ in jobs {
                        self.bump(&name, |c| &c.lost);
                    }
                    self.update_pending(&name);
                }
            }
        }
    }

    /// Targets whose address is `to`.
    fn targets_at(&self, to: SocketAddr) -> Vec<Vec<u8>> {
        let t = self.state.snapshot();
        self.targets
            .keys()
            .filter(|n| t.addrs.get(*n).and_then(|a| a.socket_addr()) == Some(to))
            .cloned()
            .collect()
    }

    async fn incoming(&mut self, b: &[u8], from: SocketAddr) {
        // SEQUENCE { INTEGER msgVersion, ... }: 3 is v3; 0/1 community-based.
        let version = tlv(b, 0)
            .filter(|t| t.0 == 0x30)
            .and_then(|(_, s, _)| tlv(b, s))
            .filter(|t| t.0 == 0x02 && t.2 == t.1 + 1)
            .map(|(_, s, _)| b[s]);
        match version {
            Some(3) => self.incoming_v3(b, from).await,
            _ => {
                let Ok(Ok(m)) = std::panic::catch_unwind(|| {
                    rasn::ber::decode::<rasn_snmp::v2c::Message<Pdus>>(b)
                }) else {
                    return;
                };
                if let Pdus::Response(p) = m.data {
                    let id = p.0.request_id;
                    let ok = self
                        .flights
                        .get(&id)
                        .is_some_and(|f| f.to == from && f.keys.is_none());
                    if ok {
                        self.acked(id).await;
                    }
                }
            }
        }
    }

    async fn acked(&mut self, id: i32) {
        if let Some(f) = self.land(id) {
            let target = f.job.target;
            self.bump(&target, |c| &c.acked);
            self.pump(&target).await;
            self.update_pending(&target);
        }
    }

    async fn incoming_v3(&mut self, b: &[u8], from: SocketAddr) {
        let Some(m) = parse_v3(b) else { return };
        match self.msg_ids.get(&m.msg_id).copied() {
            Some(MsgRef::Discovery(to)) if to == from => {
                // The Report of a discovery probe (unauthenticated).
                if m.engine_id.is_empty() || m.engine_id.len() > 32 {
                    return;
                }
                if let Some(d) = self.discovery.remove(&to) {
                    self.timers.remove(&d.timer);
                }
                self.msg_ids.remove(&m.msg_id);
                tracing::debug!(%to, engine_id = %hex(m.engine_id), boots = m.boots, time = m.time, "SNMPv3 engine discovered");
                self.engines.insert(
                    to,
                    Remote {
                        engine_id: m.engine_id.to_vec(),
                        boots: m.boots,
                        time: m.time,
                        at: Instant::now(),
                    },
                );
                for t in self.targets_at(to) {
                    self.pump(&t).await;
                    self.update_pending(&t);
                }
            }
            Some(MsgRef::Inform(id)) => {
                let Some(f) = self.flights.get(&id) else {
                    return;
                };
                if f.to != from {
                    return;
                }
                let keys = f.keys.clone();
                let Some(p) = open_v3(b, &m, keys.as_ref()) else {
                    tracing::debug!(%from, msg_id = m.msg_id, flags = m.flags, "SNMPv3 answer to an inform does not authenticate or decode");
                    return;
                };
                match p {
                    Pdus::Response(r) if r.0.request_id == id => self.acked(id).await,
                    Pdus::Report(r) => self.report(id, from, &m, &r.0, m.flags & 1 != 0).await,
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// A Report to an inform (RFC 3414 section 3.2 errors).
    async fn report(&mut self, id: i32, from: SocketAddr, m: &V3In<'_>, p: &Pdu, authentic: bool) {
        let Some(f) = self.land(id) else { return };
        let target = f.job.target.clone();
        // A report answers one transmission: sending again is one of the
        // inform's retries.
        let t = self.state.snapshot();
        let retries = self.resolve(&t, &target).map_or(0, |r| r.retries);
        let counter = report_counter(p);
        if matches!(counter, Some(2 | 4)) && f.job.tries > retries {
            self.bump(&target, |c| &c.lost);
            self.pump(&target).await;
            self.update_pending(&target);
            return;
        }
        match counter {
            // usmStatsNotInTimeWindows: resynchronize, send again.
            Some(2)
                if authentic
                    || f.keys
                        .as_ref()
                        .is_some_and(|k| k.level == Level::NoAuthNoPriv) =>
            {
                self.engines.insert(
                    from,
                    Remote {
                        engine_id: m.engine_id.to_vec(),
                        boots: m.boots,
                        time: m.time,
                        at: Instant::now(),
                    },
                );
                let _ = self.transmit(f.job).await.map_err(|j| {
                    if let Some(j) = j {
                        self.targets
                            .entry(target.clone())
                            .or_default()
                            .queue
                            .push_front(j);
                    }
                });
            }
            // usmStatsUnknownEngineIDs: the receiver's engine changed.
            Some(4) => {
                self.engines.remove(&from);
                self.targets
                    .entry(target.clone())
                    .or_default()
                    .queue
                    .push_front(f.job);
            }
            other => {
                tracing::warn!(target = %String::from_utf8_lossy(&target), counter = ?other, "inform refused by the receiver's USM");
                self.bump(&target, |c| &c.dropped);
            }
        }
        self.pump(&target).await;
        self.update_pending(&target);
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An originator whose notifications land in a channel (unit tests).
#[cfg(test)]
pub fn test_originator(state: Arc<NotifyState>) -> (Originator, mpsc::Receiver<Notification>) {
    let (tx, rx) = mpsc::channel(1024);
    (Originator { tx, state }, rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vpn_core::notify_cfg::filter_key;
    use vpn_core::notify_cfg::FilterRow;
    use vpn_core::notify_cfg::ProfileRow;

    const VRF_UP: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 0, 1];

    fn note() -> Notification {
        Notification {
            trap_oid: VRF_UP.to_vec(),
            objects: vec![
                (
                    vec![1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 1, 1, 5, 1, 97, 1],
                    Value::Integer(1),
                ),
                (
                    vec![1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 2, 1, 6, 1, 97],
                    Value::Integer(1),
                ),
            ],
            uptime: 42,
        }
    }

    #[test]
    fn v1_translation() {
        assert_eq!(
            v1_fields(VRF_UP, &[]),
            (vec![1, 3, 6, 1, 2, 1, 10, 166, 11], 6, 1)
        );
        assert_eq!(
            v1_fields(&[1, 3, 6, 1, 6, 3, 1, 1, 5, 1], &[]),
            (SNMP_TRAPS.to_vec(), 0, 0)
        );
        assert_eq!(
            v1_fields(&[1, 3, 6, 1, 6, 3, 1, 1, 5, 4], &[]),
            (SNMP_TRAPS.to_vec(), 3, 0)
        );
        assert_eq!(
            v1_fields(&[1, 3, 6, 1, 4, 1, 9, 7], &[]),
            (vec![1, 3, 6, 1, 4, 1, 9], 6, 7)
        );
        let b = encode_v1_trap(b"public", Ipv4Addr::LOCALHOST, &note());
        let m: rasn_snmp::v1::Message<rasn_snmp::v1::Pdus> = rasn::ber::decode(&b).unwrap();
        let rasn_snmp::v1::Pdus::Trap(t) = m.data else {
            panic!("not a trap")
        };
        assert_eq!(t.generic_trap, Integer::from(6));
        assert_eq!(t.specific_trap, Integer::from(1));
        assert_eq!(t.time_stamp.0, 42);
        assert_eq!(t.variable_bindings.len(), 2);
    }

    #[test]
    fn v2_varbinds_start_with_uptime_and_trap_oid() {
        let v = note().varbinds();
        assert_eq!(v.len(), 4);
        assert_eq!(&v[0].name[..], SYS_UP_TIME_0);
        assert_eq!(&v[1].name[..], SNMP_TRAP_OID_0);
    }

    fn table() -> Notify {
        let mut t = Notify::default();
        let mut a = AddrRow::new(Storage::Volatile);
        a.domain = Some(Domain::Udp);
        a.address = vec![127, 0, 0, 1, 0, 162];
        a.params = b"p".to_vec();
        a.tag_list = b"nms lab".to_vec();
        a.state = RowState::Active;
        t.addrs.insert(b"a".to_vec(), a.clone());
        a.tag_list = b"other".to_vec();
        t.addrs.insert(b"b".to_vec(), a.clone());
        a.tag_list = b"lab".to_vec();
        a.state = RowState::NotInService;
        t.addrs.insert(b"c".to_vec(), a);
        let n = |tag: &str, inform| NotifyRow {
            tag: tag.as_bytes().to_vec(),
            inform,
            storage: Storage::Volatile,
            state: RowState::Active,
        };
        t.notifies.insert(b"n1".to_vec(), n("nms", false));
        t.notifies.insert(b"n2".to_vec(), n("lab", true));
        t
    }

    #[test]
    fn tags_select_targets_once_inform_winning() {
        assert_eq!(select_targets(&table()), vec![(b"a".to_vec(), true)]);
    }

    #[test]
    fn filters() {
        let mut t = table();
        assert!(filter_passes(&t, b"p", &note()));
        t.profiles.insert(
            b"p".to_vec(),
            ProfileRow {
                profile: b"f".to_vec(),
                storage: Storage::Volatile,
                state: RowState::Active,
            },
        );
        // A profile without filters lets nothing through.
        assert!(!filter_passes(&t, b"p", &note()));
        let f = |inc| FilterRow {
            mask: vec![],
            included: inc,
            storage: Storage::Volatile,
            state: RowState::Active,
        };
        t.filters
            .insert(filter_key(b"f", &[1, 3, 6, 1, 2, 1, 10, 166, 11]), f(true));
        assert!(filter_passes(&t, b"p", &note()));
        // Excluding the VRF table's oper status column excludes the varbind.
        t.filters.insert(
            filter_key(b"f", &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 2, 1, 6]),
            f(false),
        );
        assert!(!filter_passes(&t, b"p", &note()));
    }

    #[test]
    fn file_targets() {
        let c = NotifyTargetConf {
            name: "nms".into(),
            address: "127.0.0.1:9162".into(),
            kind: Some("inform".into()),
            version: None,
            community: None,
            user: None,
            level: None,
            timeout: Some(100),
            retries: Some(5),
            tags: vec!["core".into()],
        };
        let (a, p, n) = c.rows().unwrap();
        assert!(a.complete() && a.has_tag(b"nms") && a.has_tag(b"core"));
        assert_eq!((a.timeout, a.retry_count), (100, 5));
        assert_eq!(p.security_name.as_deref(), Some(&b"public"[..]));
        assert!(n.inform && n.tag == b"nms");
        let mut bad = c.clone();
        bad.version = Some("v3".into());
        assert!(bad.rows().is_err(), "v3 without a user");
        bad.user = Some("u".into());
        assert!(bad.rows().is_ok());
        bad.address = "nowhere".into();
        assert!(bad.rows().is_err());
        let mut six = c.clone();
        six.address = "::1".into();
        assert_eq!(
            six.rows().unwrap().0.socket_addr(),
            Some("[::1]:162".parse().unwrap())
        );
    }

    #[test]
    fn v3_messages_round_trip() {
        let eid = b"\x80\x00\x1f\x88\x80remote".to_vec();
        let k = Keys {
            user: b"u".to_vec(),
            level: Level::AuthPriv,
            auth: AuthProto::Sha1,
            auth_key: usm::auth_key(AuthProto::Sha1, b"authpass123", &eid),
            privp: PrivProto::Aes128,
            priv_key: usm::priv_key(AuthProto::Sha1, PrivProto::Aes128, b"privpass123", &eid),
        };
        let o = V3Out {
            msg_id: 77,
            max_size: 1472,
            reportable: true,
            engine_id: &eid,
            boots: 3,
            time: 1000,
            context_engine_id: b"\x80\x00\x7e\xd9\x05local",
            salt: 9,
        };
        let b = encode_v3(
            &o,
            &k,
            &Pdus::Response(v2::Response(pdu(5, note().varbinds()))),
        );
        let m = parse_v3(&b).unwrap();
        assert_eq!((m.msg_id, m.boots, m.time, m.flags), (77, 3, 1000, 7));
        assert_eq!(m.engine_id, eid.as_slice());
        match open_v3(&b, &m, Some(&k)) {
            Some(Pdus::Response(r)) => assert_eq!(r.0.request_id, 5),
            _ => panic!("did not open"),
        }
        // A wrong key does not authenticate.
        let mut wrong = k.clone();
        wrong.auth_key[0] ^= 1;
        assert!(open_v3(&b, &m, Some(&wrong)).is_none());
    }
}
