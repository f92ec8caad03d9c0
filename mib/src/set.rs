//! SET processing (RFC 3416 section 4.2.5): every variable binding is checked
//! before anything is applied, and the result is one list of changes for one
//! commit. Checks run in the RFC's order: notWritable, wrongType, wrongLength,
//! wrongValue, noCreation (per binding, in PDU order), then per row:
//! inconsistentName, notWritable, RowStatus transitions (RFC 2579) and
//! inconsistentValue, against the configuration as the earlier rows of the
//! same PDU leave it.

use crate::error::{ErrorStatus, SetError};
use crate::ext;
use crate::l3vpn::{self, ifconf_col, rt_col, rte_col, vrf_col};
use crate::rowstatus::{transition, Next, RowStatus};
use crate::system;
use crate::value::Value;
use vpn_core::fibview::RouteDrops;
use vpn_core::ifaces::Interfaces;
use vpn_core::routes::{RteIndexError, RteKey, RteRow, RteType};
use vpn_core::*;

use ErrorStatus::*;

/// A varbind after the per-binding checks: what it writes.
#[derive(Debug)]
enum Target {
    Setting(Setting),
    Vrf(VrfKey, VrfCol),
    IfConf(IfConfKey, IfConfCol),
    Rt(RtKey, RtCol),
    Rte(RteKey, RteCol),
    Peer(vpn_core::bgpcfg::PeerKey, PeerCol),
}

#[derive(Debug)]
enum RteCol {
    IfIndex(u32),
    Type(RteType),
    NextHopAs(u32),
    Metric(usize, i32),
    /// mplsL3VpnVrfRteXCPointer: validated to be 0x00, nothing to store.
    Xc,
    Status(RowStatus),
}

#[derive(Debug)]
enum Setting {
    SysContact(Vec<u8>),
    SysName(Vec<u8>),
    SysLocation(Vec<u8>),
    NotificationEnable(bool),
    IllLblThresh(u32),
    EnableAuthenTraps(bool),
    LabelStaticMin(u32),
    LabelStaticMax(u32),
    LabelDynamicMin(u32),
    LabelDynamicMax(u32),
    RteMxThrshTime(u32),
    BgpAs(u32),
    BgpRouterId([u8; 4]),
    BgpListenType(u32),
    BgpListenAddr(Vec<u8>),
    BgpListenPort(u32),
}

#[derive(Debug)]
enum PeerCol {
    RemoteAs(u32),
    Families(u8),
    HoldTime(u16),
    Keepalive(u16),
    Md5(Vec<u8>),
    RrClient(bool),
    Admin(bool),
    RemotePort(u16),
    Storage(Storage),
    Status(RowStatus),
}

#[derive(Debug)]
enum VrfCol {
    VpnId(Vec<u8>),
    Description(Vec<u8>),
    Rd(Option<RouteDistinguisher>),
    Mid(u32),
    High(u32),
    Max(u32),
    Admin(AdminStatus),
    Storage(Storage),
    Status(RowStatus),
    LabelMode(LabelMode),
}

#[derive(Debug)]
enum IfConfCol {
    Classification(IfClassification),
    RouteDist(u8),
    Storage(Storage),
    Status(RowStatus),
}

#[derive(Debug)]
enum RtCol {
    Rt(Option<RouteDistinguisher>),
    Descr(Vec<u8>),
    Storage(Storage),
    Status(RowStatus),
}

type Fail = ErrorStatus;

fn octets(v: &Value, max: usize) -> Result<Vec<u8>, Fail> {
    match v {
        Value::OctetString(b) if b.len() <= max => Ok(b.clone()),
        Value::OctetString(_) => Err(WrongLength),
        _ => Err(WrongType),
    }
}

fn integer(v: &Value) -> Result<i32, Fail> {
    match v {
        Value::Integer(i) => Ok(*i),
        _ => Err(WrongType),
    }
}

fn unsigned(v: &Value) -> Result<u32, Fail> {
    match v {
        Value::Gauge32(u) => Ok(*u),
        _ => Err(WrongType),
    }
}

fn truth(v: &Value) -> Result<bool, Fail> {
    match integer(v)? {
        1 => Ok(true),
        2 => Ok(false),
        _ => Err(WrongValue),
    }
}

/// StorageType a manager may write (RFC 2579: permanent and readOnly cannot be set).
fn storage(v: &Value) -> Result<Storage, Fail> {
    match integer(v)? {
        1 => Ok(Storage::Other),
        2 => Ok(Storage::Volatile),
        3 => Ok(Storage::NonVolatile),
        _ => Err(WrongValue),
    }
}

fn row_status(v: &Value) -> Result<RowStatus, Fail> {
    RowStatus::from_set(integer(v)?)
}

/// An RD or RT column: text, or the 8 raw octets (an RD, or for `rt` an RT
/// extended community); empty = unset.
fn rd_value(v: &Value, rt: bool) -> Result<Option<RouteDistinguisher>, Fail> {
    let b = octets(v, 256)?;
    if b.is_empty() {
        return Ok(None);
    }
    if let Some(r) = std::str::from_utf8(&b)
        .ok()
        .and_then(RouteDistinguisher::parse_text)
    {
        return Ok(Some(r));
    }
    // RFC 4364 section 4.3.1: a route target is an RFC 4360 extended
    // community (sub-type 0x02); an RD's octets are not one.
    let raw = if rt {
        RouteDistinguisher::from_rt_bytes(&b)
    } else {
        RouteDistinguisher::from_rd_bytes(&b)
    };
    raw.map(Some).ok_or(WrongValue)
}

/// The BITS of mplsL3VpnIfVpnRouteDistProtocol: bits 0..6 of the first octet;
/// trailing zero octets are accepted; `none` cannot be combined.
fn route_dist(v: &Value) -> Result<u8, Fail> {
    let b = octets(v, 255)?;
    let first = b.first().copied().unwrap_or(0);
    if b.iter().skip(1).any(|&x| x != 0) || first & 0x01 != 0 {
        return Err(WrongValue);
    }
    if first & vpn_core::ROUTE_DIST_NONE != 0 && first != vpn_core::ROUTE_DIST_NONE {
        return Err(WrongValue);
    }
    Ok(first)
}

fn scalar_target(oid: &[u32], v: &Value) -> Option<Result<Target, Fail>> {
    let writable: &[&[u32]] = &[
        system::SYS_CONTACT,
        system::SYS_NAME,
        system::SYS_LOCATION,
        system::SNMP_ENABLE_AUTHEN_TRAPS,
        l3vpn::NOTIFICATION_ENABLE,
        l3vpn::ILL_LBL_RCV_THRSH,
        ext::LABEL_STATIC_MIN,
        ext::LABEL_STATIC_MAX,
        ext::LABEL_DYNAMIC_MIN,
        ext::LABEL_DYNAMIC_MAX,
        ext::RTE_MX_THRSH_TIME,
        crate::bgp::LOCAL_AS,
        crate::bgp::ROUTER_ID,
        crate::bgp::LISTEN_ADDR_TYPE,
        crate::bgp::LISTEN_ADDR,
        crate::bgp::LISTEN_PORT,
    ];
    let obj = writable.iter().find(|o| oid.starts_with(o))?;
    let s = (|| {
        let s = match *obj {
            o if o == system::SYS_CONTACT => Setting::SysContact(octets(v, 255)?),
            o if o == system::SYS_NAME => Setting::SysName(octets(v, 255)?),
            o if o == system::SYS_LOCATION => Setting::SysLocation(octets(v, 255)?),
            o if o == system::SNMP_ENABLE_AUTHEN_TRAPS => Setting::EnableAuthenTraps(truth(v)?),
            o if o == l3vpn::NOTIFICATION_ENABLE => Setting::NotificationEnable(truth(v)?),
            o if o == l3vpn::ILL_LBL_RCV_THRSH => Setting::IllLblThresh(unsigned(v)?),
            o if o == ext::RTE_MX_THRSH_TIME => Setting::RteMxThrshTime(unsigned(v)?),
            o if o == crate::bgp::LOCAL_AS => Setting::BgpAs(unsigned(v)?),
            o if o == crate::bgp::ROUTER_ID => match v {
                Value::IpAddress(a) => Setting::BgpRouterId(*a),
                _ => return Err(WrongType),
            },
            o if o == crate::bgp::LISTEN_ADDR_TYPE => match integer(v)? {
                t @ 0..=2 => Setting::BgpListenType(t as u32),
                _ => return Err(WrongValue),
            },
            o if o == crate::bgp::LISTEN_ADDR => {
                let b = octets(v, 255)?;
                if ![0, 4, 16].contains(&b.len()) {
                    return Err(WrongLength);
                }
                Setting::BgpListenAddr(b)
            }
            o if o == crate::bgp::LISTEN_PORT => {
                let p = unsigned(v)?;
                if p > 65535 {
                    return Err(WrongValue);
                }
                Setting::BgpListenPort(p)
            }
            o => {
                let l = unsigned(v)?;
                if !(vpn_core::mpls::MIN_UNRESERVED..=vpn_core::mpls::MAX_LABEL).contains(&l) {
                    return Err(WrongValue);
                }
                match o {
                    o if o == ext::LABEL_STATIC_MIN => Setting::LabelStaticMin(l),
                    o if o == ext::LABEL_STATIC_MAX => Setting::LabelStaticMax(l),
                    o if o == ext::LABEL_DYNAMIC_MIN => Setting::LabelDynamicMin(l),
                    _ => Setting::LabelDynamicMax(l),
                }
            }
        };
        // A scalar has exactly one instance, .0.
        if oid.len() != obj.len() + 1 || oid[obj.len()] != 0 {
            return Err(NoCreation);
        }
        Ok(Target::Setting(s))
    })();
    Some(s)
}

/// Split `oid` under `entry` into (column, instance suffix).
fn column<'a>(entry: &[u32], oid: &'a [u32]) -> Option<(u32, &'a [u32])> {
    if oid.len() > entry.len() && oid.starts_with(entry) {
        Some((oid[entry.len()], &oid[entry.len() + 1..]))
    } else {
        None
    }
}

fn vrf_key(sub: &[u32]) -> Result<VrfKey, Fail> {
    let k = crate::index::oid_to_key(l3vpn::VRF_INDEX, sub).ok_or(NoCreation)?;
    VrfKey::from_bytes(&k).ok_or(NoCreation)
}

fn table_target(oid: &[u32], v: &Value) -> Option<Result<Target, Fail>> {
    if let Some((col, sub)) = column(l3vpn::VRF_ENTRY, oid) {
        use vrf_col::*;
        let c = (|| {
            let c = match col {
                VPN_ID => {
                    let b = octets(v, 255)?;
                    if !b.is_empty() && b.len() != 7 {
                        return Err(WrongLength);
                    }
                    VrfCol::VpnId(b)
                }
                DESCRIPTION => VrfCol::Description(octets(v, 255)?),
                RD => VrfCol::Rd(rd_value(v, false)?),
                MID_THRESH => VrfCol::Mid(unsigned(v)?),
                HIGH_THRESH => VrfCol::High(unsigned(v)?),
                MAX_ROUTES => VrfCol::Max(unsigned(v)?),
                ADMIN_STATUS => {
                    VrfCol::Admin(AdminStatus::from_u32(integer(v)? as u32).ok_or(WrongValue)?)
                }
                STORAGE_TYPE => VrfCol::Storage(storage(v)?),
                ROW_STATUS => VrfCol::Status(row_status(v)?),
                _ => return Err(NotWritable),
            };
            Ok(Target::Vrf(vrf_key(sub)?, c))
        })();
        return Some(c);
    }
    if let Some((col, sub)) = column(ext::VRF_EXT_ENTRY, oid) {
        let c = (|| {
            let c = match col {
                ext::vrf_ext_col::LABEL_MODE => {
                    VrfCol::LabelMode(LabelMode::from_u32(integer(v)? as u32).ok_or(WrongValue)?)
                }
                _ => return Err(NotWritable),
            };
            Ok(Target::Vrf(vrf_key(sub)?, c))
        })();
        return Some(c);
    }
    if let Some((col, sub)) = column(l3vpn::RTE_ENTRY, oid) {
        use rte_col::*;
        let c = (|| {
            let c = match col {
                IF_INDEX => {
                    let i = integer(v)?;
                    if i < 0 {
                        return Err(WrongValue);
                    }
                    RteCol::IfIndex(i as u32)
                }
                TYPE => RteCol::Type(RteType::from_u32(integer(v)? as u32).ok_or(WrongValue)?),
                NEXT_HOP_AS => RteCol::NextHopAs(unsigned(v)?),
                METRIC1..=METRIC5 => {
                    let m = integer(v)?;
                    if m < -1 {
                        return Err(WrongValue);
                    }
                    RteCol::Metric((col - METRIC1) as usize, m)
                }
                XC_POINTER => {
                    let b = octets(v, 24)?;
                    if b.is_empty() {
                        return Err(WrongLength);
                    }
                    // mplsXCTable is not served: only "no label stack" exists.
                    if b != [0] {
                        return Err(InconsistentValue);
                    }
                    RteCol::Xc
                }
                STATUS => RteCol::Status(row_status(v)?),
                _ => return Err(NotWritable),
            };
            let k = crate::index::oid_to_key(l3vpn::RTE_INDEX, sub).ok_or(NoCreation)?;
            let (key, idx) = RteKey::parse(&k).map_err(|e| match e {
                RteIndexError::Never => NoCreation,
                RteIndexError::Inconsistent => InconsistentName,
            })?;
            // Rows under the BGP policy are learned routes: read-only.
            if idx.policy == vpn_core::vpn::BGP_POLICY {
                return Err(NotWritable);
            }
            Ok(Target::Rte(key, c))
        })();
        return Some(c);
    }
    if let Some((col, sub)) = column(crate::bgp::PEER_ENTRY, oid) {
        use crate::bgp::peer_col::*;
        let c = (|| {
            let c = match col {
                REMOTE_AS => {
                    let a = unsigned(v)?;
                    if a == 0 {
                        return Err(WrongValue);
                    }
                    PeerCol::RemoteAs(a)
                }
                FAMILIES => {
                    let b = octets(v, 255)?;
                    let first = b.first().copied().unwrap_or(0);
                    if b.iter().skip(1).any(|&x| x != 0) || first & !vpn_core::bgpcfg::FAM_ALL != 0
                    {
                        return Err(WrongValue);
                    }
                    PeerCol::Families(first)
                }
                HOLD_TIME => match unsigned(v)? {
                    // RFC 4271: 0 or at least 3 seconds.
                    h @ (0 | 3..=65535) => PeerCol::HoldTime(h as u16),
                    _ => return Err(WrongValue),
                },
                KEEPALIVE => match unsigned(v)? {
                    k @ 0..=21845 => PeerCol::Keepalive(k as u16),
                    _ => return Err(WrongValue),
                },
                MD5 => PeerCol::Md5(octets(v, 80)?),
                RR_CLIENT => PeerCol::RrClient(truth(v)?),
                ADMIN_STATUS => match integer(v)? {
                    1 => PeerCol::Admin(true),
                    2 => PeerCol::Admin(false),
                    _ => return Err(WrongValue),
                },
                REMOTE_PORT => match unsigned(v)? {
                    p @ 1..=65535 => PeerCol::RemotePort(p as u16),
                    _ => return Err(WrongValue),
                },
                STORAGE_TYPE => PeerCol::Storage(storage(v)?),
                ROW_STATUS => PeerCol::Status(row_status(v)?),
                _ => return Err(NotWritable),
            };
            let k = crate::index::oid_to_key(crate::bgp::PEER_INDEX, sub).ok_or(NoCreation)?;
            let key = vpn_core::bgpcfg::PeerKey::parse(&k).ok_or(NoCreation)?;
            Ok(Target::Peer(key, c))
        })();
        return Some(c);
    }
    if let Some((col, sub)) = column(l3vpn::IFCONF_ENTRY, oid) {
        use ifconf_col::*;
        let c = (|| {
            let c = match col {
                CLASSIFICATION => IfConfCol::Classification(
                    IfClassification::from_u32(integer(v)? as u32).ok_or(WrongValue)?,
                ),
                ROUTE_DIST_PROTOCOL => IfConfCol::RouteDist(route_dist(v)?),
                STORAGE_TYPE => IfConfCol::Storage(storage(v)?),
                ROW_STATUS => IfConfCol::Status(row_status(v)?),
                _ => return Err(NotWritable),
            };
            let k = crate::index::oid_to_key(l3vpn::IFCONF_INDEX, sub).ok_or(NoCreation)?;
            let key = IfConfKey::from_bytes(&k).ok_or(NoCreation)?;
            // InterfaceIndex is 1..2147483647.
            if key.if_index() == 0 || key.if_index() > i32::MAX as u32 {
                return Err(NoCreation);
            }
            Ok(Target::IfConf(key, c))
        })();
        return Some(c);
    }
    if let Some((col, sub)) = column(l3vpn::RT_ENTRY, oid) {
        use rt_col::*;
        let c = (|| {
            let c = match col {
                RT => RtCol::Rt(rd_value(v, true)?),
                DESCR => RtCol::Descr(octets(v, 255)?),
                STORAGE_TYPE => RtCol::Storage(storage(v)?),
                ROW_STATUS => RtCol::Status(row_status(v)?),
                _ => return Err(NotWritable),
            };
            let k = crate::index::oid_to_key(l3vpn::RT_INDEX, sub).ok_or(NoCreation)?;
            // RTIndex is 1..4294967295; RtKey checks the type is 1..3.
            let key = RtKey::from_bytes(&k).ok_or(NoCreation)?;
            if key.index() == 0 {
                return Err(NoCreation);
            }
            Ok(Target::Rt(key, c))
        })();
        return Some(c);
    }
    None
}

/// The writes of one PDU to one row.
struct RowEdit<K, C> {
    key: K,
    /// (1-based varbind index, column write)
    cols: Vec<(usize, C)>,
}

impl<K, C> RowEdit<K, C> {
    /// Where errors about the whole row are reported: its RowStatus
    /// varbind, else its first.
    fn status_idx<T: RowKind<Col = C>>(&self) -> usize {
        self.cols
            .iter()
            .find_map(|(i, c)| T::status(c).map(|_| *i))
            .unwrap_or(self.cols[0].0)
    }

    /// Whether the PDU creates the row (createAndGo or createAndWait).
    fn creating<T: RowKind<Col = C>>(&self) -> bool {
        self.cols.iter().any(|(_, c)| {
            matches!(
                T::status(c),
                Some(RowStatus::CreateAndGo | RowStatus::CreateAndWait)
            )
        })
    }
}

fn group<K: PartialEq + Clone, C>(edits: &mut Vec<RowEdit<K, C>>, key: K, idx: usize, c: C) {
    match edits.iter_mut().find(|e| e.key == key) {
        Some(e) => e.cols.push((idx, c)),
        None => edits.push(RowEdit {
            key,
            cols: vec![(idx, c)],
        }),
    }
}

/// What a row edit needs from the table-specific code.
trait RowKind {
    type Row: Clone;
    type Col;
    fn status(c: &Self::Col) -> Option<RowStatus>;
    fn is_storage(c: &Self::Col) -> bool;
    /// Columns that may change while the row is active (INVENTORY.md 8.1).
    fn writable_when_active(c: &Self::Col) -> bool;
    fn state(r: &Self::Row) -> RowState;
    fn storage_of(r: &Self::Row) -> Storage;
    fn set_state(r: &mut Self::Row, s: RowState);
    fn apply(r: &mut Self::Row, c: &Self::Col);
}

/// RowStatus, StorageType and mutability rules shared by every table. Returns
/// the new row (or `None` when the row ends absent).
fn edit_row<T: RowKind>(
    existing: Option<&T::Row>,
    fresh: impl FnOnce() -> T::Row,
    cols: &[(usize, T::Col)],
) -> Result<Option<T::Row>, SetError> {
    edit_row_with::<T>(existing, fresh, cols, true)
}

/// [`edit_row`] for a row that may lack values without defaults (`complete`
/// false: RFC 2579 notReady).
fn edit_row_with<T: RowKind>(
    existing: Option<&T::Row>,
    fresh: impl FnOnce() -> T::Row,
    cols: &[(usize, T::Col)],
    complete: bool,
) -> Result<Option<T::Row>, SetError> {
    let status = cols
        .iter()
        .rev()
        .find_map(|(i, c)| T::status(c).map(|s| (*i, s)));
    let first = cols[0].0;
    let status_idx = status.map_or(first, |(i, _)| i);
    if let Some(row) = existing {
        let st = T::storage_of(row);
        if st == Storage::ReadOnly {
            return Err(match cols.iter().find(|(_, c)| T::status(c).is_none()) {
                Some((i, _)) => SetError::new(NotWritable, *i),
                None => SetError::new(InconsistentValue, status_idx),
            });
        }
        if st == Storage::Permanent {
            if let Some((i, _)) = cols.iter().find(|(_, c)| T::is_storage(c)) {
                return Err(SetError::new(WrongValue, *i));
            }
            if matches!(status, Some((_, RowStatus::Destroy))) {
                return Err(SetError::new(InconsistentValue, status_idx));
            }
        }
        // RFC 2579: columns not modifiable while active may change only if the
        // row was not active as the PDU arrived or the PDU sets it non-active.
        let leaves_active = matches!(
            status,
            Some((_, RowStatus::NotInService | RowStatus::Destroy))
        );
        if T::state(row) == RowState::Active && !leaves_active {
            if let Some((i, _)) = cols.iter().find(|(_, c)| !T::writable_when_active(c)) {
                return Err(SetError::new(InconsistentValue, *i));
            }
        }
    }
    let next = transition(existing.map(T::state), status.map(|(_, s)| s), complete)
        .map_err(|e| SetError::new(e, status_idx))?;
    match next {
        Next::Absent => Ok(None),
        Next::Exists(state) => {
            let mut row = existing.cloned().unwrap_or_else(fresh);
            for (_, c) in cols {
                T::apply(&mut row, c);
            }
            T::set_state(&mut row, state);
            Ok(Some(row))
        }
    }
}

struct VrfKind;
impl RowKind for VrfKind {
    type Row = VrfRow;
    type Col = VrfCol;
    fn status(c: &VrfCol) -> Option<RowStatus> {
        match c {
            VrfCol::Status(s) => Some(*s),
            _ => None,
        }
    }
    fn is_storage(c: &VrfCol) -> bool {
        matches!(c, VrfCol::Storage(_))
    }
    fn writable_when_active(c: &VrfCol) -> bool {
        matches!(
            c,
            VrfCol::Admin(_) | VrfCol::Status(_) | VrfCol::Storage(_) | VrfCol::LabelMode(_)
        )
    }
    fn state(r: &VrfRow) -> RowState {
        r.state
    }
    fn storage_of(r: &VrfRow) -> Storage {
        r.storage
    }
    fn set_state(r: &mut VrfRow, s: RowState) {
        r.state = s;
    }
    fn apply(r: &mut VrfRow, c: &VrfCol) {
        match c {
            VrfCol::VpnId(v) => r.vpn_id = v.clone(),
            VrfCol::Description(v) => r.description = v.clone(),
            VrfCol::Rd(v) => r.rd = *v,
            VrfCol::Mid(v) => r.mid_thresh = *v,
            VrfCol::High(v) => r.high_thresh = *v,
            VrfCol::Max(v) => r.max_routes = *v,
            VrfCol::Admin(v) => r.admin = *v,
            VrfCol::Storage(v) => r.storage = *v,
            VrfCol::LabelMode(v) => r.label_mode = *v,
            VrfCol::Status(_) => {}
        }
    }
}

struct IfConfKind;
impl RowKind for IfConfKind {
    type Row = IfConfRow;
    type Col = IfConfCol;
    fn status(c: &IfConfCol) -> Option<RowStatus> {
        match c {
            IfConfCol::Status(s) => Some(*s),
            _ => None,
        }
    }
    fn is_storage(c: &IfConfCol) -> bool {
        matches!(c, IfConfCol::Storage(_))
    }
    fn writable_when_active(c: &IfConfCol) -> bool {
        matches!(c, IfConfCol::Status(_) | IfConfCol::Storage(_))
    }
    fn state(r: &IfConfRow) -> RowState {
        r.state
    }
    fn storage_of(r: &IfConfRow) -> Storage {
        r.storage
    }
    fn set_state(r: &mut IfConfRow, s: RowState) {
        r.state = s;
    }
    fn apply(r: &mut IfConfRow, c: &IfConfCol) {
        match c {
            IfConfCol::Classification(v) => r.classification = *v,
            IfConfCol::RouteDist(v) => r.route_dist = *v,
            IfConfCol::Storage(v) => r.storage = *v,
            IfConfCol::Status(_) => {}
        }
    }
}

struct RtKind;
impl RowKind for RtKind {
    type Row = RtRow;
    type Col = RtCol;
    fn status(c: &RtCol) -> Option<RowStatus> {
        match c {
            RtCol::Status(s) => Some(*s),
            _ => None,
        }
    }
    fn is_storage(c: &RtCol) -> bool {
        matches!(c, RtCol::Storage(_))
    }
    fn writable_when_active(c: &RtCol) -> bool {
        matches!(c, RtCol::Status(_))
    }
    fn state(r: &RtRow) -> RowState {
        r.state
    }
    fn storage_of(r: &RtRow) -> Storage {
        r.storage
    }
    fn set_state(r: &mut RtRow, s: RowState) {
        r.state = s;
    }
    fn apply(r: &mut RtRow, c: &RtCol) {
        match c {
            RtCol::Rt(v) => r.rt = *v,
            RtCol::Descr(v) => r.description = v.clone(),
            RtCol::Storage(v) => r.storage = *v,
            RtCol::Status(_) => {}
        }
    }
}

struct RteKind;
impl RowKind for RteKind {
    type Row = RteRow;
    type Col = RteCol;
    fn status(c: &RteCol) -> Option<RowStatus> {
        match c {
            RteCol::Status(s) => Some(*s),
            _ => None,
        }
    }
    fn is_storage(_: &RteCol) -> bool {
        false
    }
    /// "A row entry cannot be modified when the status is marked as active(1)."
    fn writable_when_active(c: &RteCol) -> bool {
        matches!(c, RteCol::Status(_))
    }
    fn state(r: &RteRow) -> RowState {
        r.state
    }
    /// Routes have no StorageType column; they persist with their VRF.
    fn storage_of(_: &RteRow) -> Storage {
        Storage::Volatile
    }
    fn set_state(r: &mut RteRow, s: RowState) {
        r.state = s;
    }
    fn apply(r: &mut RteRow, c: &RteCol) {
        match c {
            RteCol::IfIndex(v) => r.if_index = *v,
            RteCol::Type(v) => r.rtype = *v,
            RteCol::NextHopAs(v) => r.next_hop_as = *v,
            RteCol::Metric(i, v) => r.metrics[*i] = *v,
            // Only 0x00 (no label stack) is accepted, and that is what every
            // row reads: nothing to store.
            RteCol::Xc => {}
            RteCol::Status(_) => {}
        }
    }
}

struct PeerKind;
impl RowKind for PeerKind {
    type Row = vpn_core::bgpcfg::PeerRow;
    type Col = PeerCol;
    fn status(c: &PeerCol) -> Option<RowStatus> {
        match c {
            PeerCol::Status(s) => Some(*s),
            _ => None,
        }
    }
    fn is_storage(c: &PeerCol) -> bool {
        matches!(c, PeerCol::Storage(_))
    }
    /// A live session's parameters change only out of service; admin status
    /// and storage any time.
    fn writable_when_active(c: &PeerCol) -> bool {
        matches!(
            c,
            PeerCol::Admin(_) | PeerCol::Status(_) | PeerCol::Storage(_)
        )
    }
    fn state(r: &Self::Row) -> RowState {
        r.state
    }
    fn storage_of(r: &Self::Row) -> Storage {
        r.storage
    }
    fn set_state(r: &mut Self::Row, s: RowState) {
        r.state = s;
    }
    fn apply(r: &mut Self::Row, c: &PeerCol) {
        match c {
            PeerCol::RemoteAs(v) => r.remote_as = *v,
            PeerCol::Families(v) => r.families = *v,
            PeerCol::HoldTime(v) => r.hold_time = *v,
            PeerCol::Keepalive(v) => r.keepalive = *v,
            PeerCol::Md5(v) => r.md5 = v.clone(),
            PeerCol::RrClient(v) => r.rr_client = *v,
            PeerCol::Admin(v) => r.admin_up = *v,
            PeerCol::RemotePort(v) => r.remote_port = *v,
            PeerCol::Storage(v) => r.storage = *v,
            PeerCol::Status(_) => {}
        }
    }
}

/// Whether an active route can forward: its type, next hop and interface
/// agree, and the interface exists.
fn route_consistent(key: &RteKey, r: &RteRow, ifs: &Interfaces) -> bool {
    let nh = key.index().next_hop;
    if r.if_index != 0 && ifs.get(r.if_index).is_none() {
        return false;
    }
    match r.rtype {
        RteType::Remote => nh.is_some(),
        RteType::Local => nh.is_none() && r.if_index != 0,
        RteType::Other => nh.is_some() || r.if_index != 0,
        RteType::Reject | RteType::Blackhole => true,
    }
}

/// Validate a SET and turn it into changes. `vbs` are the variable bindings in
/// PDU order; `default_storage` is the StorageType of rows created without one.
pub fn build_changes(
    cfg: &Config,
    ifs: &Interfaces,
    vbs: &[(Vec<u32>, Value)],
    default_storage: Storage,
    drops: &RouteDrops,
    other_routes: &dyn Fn(&VrfKey) -> u32,
) -> Result<Vec<Change>, SetError> {
    let mut settings: Vec<(usize, Setting)> = Vec::new();
    let mut vrfs: Vec<RowEdit<VrfKey, VrfCol>> = Vec::new();
    let mut ifcs: Vec<RowEdit<IfConfKey, IfConfCol>> = Vec::new();
    let mut rts: Vec<RowEdit<RtKey, RtCol>> = Vec::new();
    let mut rtes: Vec<RowEdit<RteKey, RteCol>> = Vec::new();
    let mut peers: Vec<RowEdit<vpn_core::bgpcfg::PeerKey, PeerCol>> = Vec::new();
    for (i, (oid, v)) in vbs.iter().enumerate() {
        let idx = i + 1;
        let t = scalar_target(oid, v)
            .or_else(|| table_target(oid, v))
            .unwrap_or(Err(NotWritable));
        match t.map_err(|e| SetError::new(e, idx))? {
            Target::Setting(s) => settings.push((idx, s)),
            Target::Vrf(k, c) => group(&mut vrfs, k, idx, c),
            Target::IfConf(k, c) => group(&mut ifcs, k, idx, c),
            Target::Rt(k, c) => group(&mut rts, k, idx, c),
            Target::Rte(k, c) => group(&mut rtes, k, idx, c),
            Target::Peer(k, c) => group(&mut peers, k, idx, c),
        }
    }

    let mut work = cfg.clone();
    let mut changes = Vec::new();
    // Apply one change to the working configuration; a change that needs a
    // label when none is free is refused (resourceUnavailable).
    let push = |work: &mut Config,
                changes: &mut Vec<Change>,
                ch: Change,
                at: usize|
     -> Result<(), SetError> {
        let next = work.apply(std::slice::from_ref(&ch), 0).0;
        if !next.label_shortage.is_empty() {
            return Err(SetError::new(ResourceUnavailable, at));
        }
        *work = next;
        changes.push(ch);
        Ok(())
    };

    for e in &vrfs {
        let existing = work.vrfs.get(&e.key).cloned();
        match edit_row::<VrfKind>(existing.as_ref(), || VrfRow::new(default_storage), &e.cols)? {
            None if existing.is_some() => push(
                &mut work,
                &mut changes,
                Change::DelVrf(e.key.clone()),
                e.cols[0].0,
            )?,
            None => {}
            Some(row) => {
                if let Err(err) = work.check_vrf(&e.key, &row) {
                    let blame = |want: fn(&VrfCol) -> bool| {
                        e.cols.iter().find(|(_, c)| want(c)).map(|(i, _)| *i)
                    };
                    let at = match err {
                        ConfigError::RdInUse { .. } => blame(|c| matches!(c, VrfCol::Rd(_))),
                        _ => blame(|c| {
                            matches!(c, VrfCol::Mid(_) | VrfCol::High(_) | VrfCol::Max(_))
                        }),
                    };
                    let at = at.unwrap_or_else(|| e.status_idx::<VrfKind>());
                    return Err(SetError::new(InconsistentValue, at));
                }
                let at = e.status_idx::<VrfKind>();
                push(
                    &mut work,
                    &mut changes,
                    Change::PutVrf(e.key.clone(), row),
                    at,
                )?;
            }
        }
    }
    for e in &ifcs {
        let existing = work.ifconfs.get(&e.key).cloned();
        let status_idx = e.status_idx::<IfConfKind>();
        if existing.is_none() {
            let creating = e.creating::<IfConfKind>();
            if creating {
                if !work.vrfs.contains_key(&e.key.vrf()) || ifs.get(e.key.if_index()).is_none() {
                    return Err(SetError::new(InconsistentName, status_idx));
                }
                if let Err(ConfigError::InterfaceBound { .. }) = work.check_ifconf(&e.key) {
                    return Err(SetError::new(InconsistentValue, status_idx));
                }
            }
        }
        match edit_row::<IfConfKind>(
            existing.as_ref(),
            || IfConfRow::new(default_storage),
            &e.cols,
        )? {
            None if existing.is_some() => push(
                &mut work,
                &mut changes,
                Change::DelIfConf(e.key.clone()),
                status_idx,
            )?,
            None => {}
            Some(row) => push(
                &mut work,
                &mut changes,
                Change::PutIfConf(e.key.clone(), row),
                status_idx,
            )?,
        }
    }
    for e in &rts {
        let existing = work.rts.get(&e.key).cloned();
        let status_idx = e.status_idx::<RtKind>();
        if existing.is_none() && work.check_rt(&e.key).is_err() {
            let creating = e.creating::<RtKind>();
            if creating {
                return Err(SetError::new(InconsistentName, status_idx));
            }
        }
        match edit_row::<RtKind>(existing.as_ref(), || RtRow::new(default_storage), &e.cols)? {
            None if existing.is_some() => push(
                &mut work,
                &mut changes,
                Change::DelRt(e.key.clone()),
                status_idx,
            )?,
            None => {}
            Some(row) => push(
                &mut work,
                &mut changes,
                Change::PutRt(e.key.clone(), row),
                status_idx,
            )?,
        }
    }
    for e in &rtes {
        let existing = work.routes.get(&e.key).cloned();
        // The row of a connected route (no static row has its index) is
        // read-only, like a BGP row.
        let connected = || vpn_core::connected::by_key(&work, ifs, e.key.as_bytes());
        if existing.is_none() && connected().is_some() {
            return Err(SetError::new(NotWritable, e.cols[0].0));
        }
        let status_idx = e.status_idx::<RteKind>();
        let vrf = e.key.vrf();
        if existing.is_none() && !work.vrfs.contains_key(&vrf) {
            let creating = e.creating::<RteKind>();
            if creating {
                return Err(SetError::new(InconsistentName, status_idx));
            }
        }
        let fresh = || RteRow {
            state: RowState::NotReady,
            ..RteRow::default()
        };
        match edit_row::<RteKind>(existing.as_ref(), fresh, &e.cols)? {
            None if existing.is_some() => push(
                &mut work,
                &mut changes,
                Change::DelRte(e.key.clone()),
                status_idx,
            )?,
            None => {}
            Some(row) => {
                let was_active = existing
                    .as_ref()
                    .is_some_and(|r| r.state == RowState::Active);
                if row.state == RowState::Active && !was_active {
                    if !route_consistent(&e.key, &row, ifs) {
                        return Err(SetError::new(InconsistentValue, status_idx));
                    }
                    if work.check_route_limit(&vrf, other_routes(&vrf)).is_err() {
                        // "exceeds or attempts to exceed": counted, refused.
                        let created = work.vrfs.get(&vrf).map_or(0, |r| r.times.created);
                        drops.record(&vrf, created);
                        return Err(SetError::new(ResourceUnavailable, status_idx));
                    }
                }
                push(
                    &mut work,
                    &mut changes,
                    Change::PutRte(e.key.clone(), row),
                    status_idx,
                )?;
            }
        }
    }
    for e in &peers {
        let existing = work.peers.get(&e.key).cloned();
        let status_idx = e.status_idx::<PeerKind>();
        if existing.is_none() && e.key.vrf().is_some_and(|v| !work.vrfs.contains_key(&v)) {
            let creating = e.creating::<PeerKind>();
            if creating {
                return Err(SetError::new(InconsistentName, status_idx));
            }
        }
        // A peer needs its remote AS and families before it can be active
        // (RFC 2579: createAndWait leaves it notReady until then).
        let mut probe = existing
            .clone()
            .unwrap_or_else(|| vpn_core::bgpcfg::PeerRow::new(default_storage));
        for (_, c) in &e.cols {
            PeerKind::apply(&mut probe, c);
        }
        let complete = probe.complete();
        let fresh = || vpn_core::bgpcfg::PeerRow::new(default_storage);
        match edit_row_with::<PeerKind>(existing.as_ref(), fresh, &e.cols, complete)? {
            None if existing.is_some() => push(
                &mut work,
                &mut changes,
                Change::DelPeer(e.key.clone()),
                status_idx,
            )?,
            None => {}
            Some(row) => push(
                &mut work,
                &mut changes,
                Change::PutPeer(e.key.clone(), row),
                status_idx,
            )?,
        }
    }
    if !settings.is_empty() {
        let mut s = work.settings.clone();
        let first = settings[0].0;
        let label_at = settings
            .iter()
            .find(|(_, st)| {
                matches!(
                    st,
                    Setting::LabelStaticMin(_)
                        | Setting::LabelStaticMax(_)
                        | Setting::LabelDynamicMin(_)
                        | Setting::LabelDynamicMax(_)
                )
            })
            .map(|(i, _)| *i);
        // The listen endpoint: type, address, port, each written alone or
        // together; the result must be consistent (or port 0: no listener).
        let mut listen: (Option<u32>, Option<Vec<u8>>, Option<u32>) = (None, None, None);
        let listen_at = settings
            .iter()
            .find(|(_, st)| {
                matches!(
                    st,
                    Setting::BgpListenType(_)
                        | Setting::BgpListenAddr(_)
                        | Setting::BgpListenPort(_)
                )
            })
            .map(|(i, _)| *i);
        let mut sr = s.label_space.static_range;
        let mut dr = s.label_space.dynamic;
        for (_, st) in settings {
            match st {
                Setting::SysContact(v) => s.sys_contact = v,
                Setting::SysName(v) => s.sys_name = v,
                Setting::SysLocation(v) => s.sys_location = v,
                Setting::NotificationEnable(v) => s.notification_enable = v,
                Setting::IllLblThresh(v) => s.ill_lbl_thresh = v,
                Setting::EnableAuthenTraps(v) => s.enable_authen_traps = v,
                Setting::LabelStaticMin(v) => sr.lo = v,
                Setting::LabelStaticMax(v) => sr.hi = v,
                Setting::LabelDynamicMin(v) => dr.lo = v,
                Setting::LabelDynamicMax(v) => dr.hi = v,
                Setting::RteMxThrshTime(v) => s.rte_mx_thrsh_time = v,
                Setting::BgpAs(v) => s.bgp.asn = v,
                Setting::BgpRouterId(v) => s.bgp.router_id = v,
                Setting::BgpListenType(t) => listen.0 = Some(t),
                Setting::BgpListenAddr(a) => listen.1 = Some(a),
                Setting::BgpListenPort(p) => listen.2 = Some(p),
            }
        }
        if let Some(at) = listen_at {
            let cur = s.bgp.listen.first().copied();
            let t = listen.0.unwrap_or(match cur {
                None => 0,
                Some(a) if a.is_ipv4() => 1,
                Some(_) => 2,
            });
            let a = listen.1.unwrap_or(match cur.map(|c| c.ip()) {
                None => vec![],
                Some(std::net::IpAddr::V4(x)) => x.octets().to_vec(),
                Some(std::net::IpAddr::V6(x)) => x.octets().to_vec(),
            });
            let p = listen.2.unwrap_or(cur.map_or(0, |c| c.port() as u32));
            s.bgp.listen = match (t, a.len(), p) {
                (_, _, 0) | (0, 0, _) => vec![],
                (1, 4, p) => vec![std::net::SocketAddr::new(
                    <[u8; 4]>::try_from(a.as_slice()).unwrap().into(),
                    p as u16,
                )],
                (2, 16, p) => vec![std::net::SocketAddr::new(
                    <[u8; 16]>::try_from(a.as_slice()).unwrap().into(),
                    p as u16,
                )],
                // An address and port of different families, or half given:
                // wait for the rest only if the port is not set yet.
                _ => return Err(SetError::new(InconsistentValue, at)),
            };
        }
        if let Some(at) = label_at {
            s.label_space = vpn_core::mpls::LabelSpace::new(sr, dr)
                .map_err(|_| SetError::new(InconsistentValue, at))?;
        }
        if s != work.settings {
            push(
                &mut work,
                &mut changes,
                Change::PutSettings(s),
                label_at.unwrap_or(first),
            )?;
        }
    }
    Ok(changes)
}
