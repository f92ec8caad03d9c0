//! Where notifications go: the rows of the notification originator's tables
//! (RFC 3413 SNMP-TARGET-MIB snmpTargetAddrTable and snmpTargetParamsTable,
//! SNMP-NOTIFICATION-MIB snmpNotifyTable, snmpNotifyFilterProfileTable and
//! snmpNotifyFilterTable), as an operator provisions them.
//!
//! The design mirrors [`crate::security`]: [`Notify`] is one immutable value
//! that readers share and commits replace; its changes travel in the same
//! commit as the rest of a SET PDU ([`Change::Notify`]) so one PDU is one sled
//! transaction; rows live in the store's `meta` tree under the `ntf/` prefix,
//! and only rows whose StorageType persists are written.
//!
//! Keys are byte strings ordered like the SNMP index. Four of the tables are
//! indexed by one `IMPLIED` SnmpAdminString (the name, with no length
//! octet), so their key is the name itself; the filter table's key is the
//! profile name (length-prefixed) followed by the IMPLIED subtree, 4 octets
//! per sub-identifier.

use crate::config::{Change, RowState, Storage};
use crate::store::StoreError;
use imbl::OrdMap;
use serde::{Deserialize, Serialize};

/// Prefix of every row in the store's `meta` tree.
const META_PREFIX: &[u8] = b"ntf/";

/// The transport domains a target address can be in.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Domain {
    /// snmpUDPDomain (RFC 3417): 4 octets IPv4 address, 2 octets port.
    Udp,
    /// transportDomainUdpIpv4 (RFC 3419): the same 6 octets.
    UdpIpv4,
    /// transportDomainUdpIpv6 (RFC 3419): 16 octets address, 2 octets port.
    UdpIpv6,
}

impl Domain {
    /// Length of a TAddress in this domain.
    pub fn address_len(self) -> usize {
        match self {
            Domain::Udp | Domain::UdpIpv4 => 6,
            Domain::UdpIpv6 => 18,
        }
    }

    /// The socket address a TAddress of this domain names.
    pub fn socket_addr(self, a: &[u8]) -> Option<std::net::SocketAddr> {
        if a.len() != self.address_len() {
            return None;
        }
        let (ip, port) = a.split_at(a.len() - 2);
        let port = u16::from_be_bytes([port[0], port[1]]);
        let ip: std::net::IpAddr = match self {
            Domain::Udp | Domain::UdpIpv4 => <[u8; 4]>::try_from(ip).ok()?.into(),
            Domain::UdpIpv6 => <[u8; 16]>::try_from(ip).ok()?.into(),
        };
        Some(std::net::SocketAddr::new(ip, port))
    }

    /// (domain, TAddress) of a socket address.
    pub fn of_socket_addr(a: std::net::SocketAddr) -> (Domain, Vec<u8>) {
        let mut v = match a.ip() {
            std::net::IpAddr::V4(ip) => ip.octets().to_vec(),
            std::net::IpAddr::V6(ip) => ip.octets().to_vec(),
        };
        v.extend_from_slice(&a.port().to_be_bytes());
        let d = if a.is_ipv4() {
            Domain::Udp
        } else {
            Domain::UdpIpv6
        };
        (d, v)
    }
}

/// The tables of [`Notify`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum NtfTable {
    Addr = 1,
    Params = 2,
    Notify = 3,
    Profile = 4,
    Filter = 5,
}

/// snmpTargetAddrEntry, keyed by the IMPLIED snmpTargetAddrName.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AddrRow {
    /// snmpTargetAddrTDomain (no DEFVAL: `None` until set).
    pub domain: Option<Domain>,
    /// snmpTargetAddrTAddress (empty until set).
    pub address: Vec<u8>,
    /// snmpTargetAddrTimeout, hundredths of a second (DEFVAL 1500).
    pub timeout: u32,
    /// snmpTargetAddrRetryCount (DEFVAL 3).
    pub retry_count: u32,
    /// snmpTargetAddrTagList (DEFVAL "").
    pub tag_list: Vec<u8>,
    /// snmpTargetAddrParams (empty until set).
    pub params: Vec<u8>,
    pub storage: Storage,
    pub state: RowState,
}

impl AddrRow {
    pub fn new(storage: Storage) -> AddrRow {
        AddrRow {
            domain: None,
            address: Vec::new(),
            timeout: 1500,
            retry_count: 3,
            tag_list: Vec::new(),
            params: Vec::new(),
            storage,
            state: RowState::NotReady,
        }
    }

    /// Every column without a DEFVAL has a consistent value (RFC 3413: the
    /// row cannot be active before TDomain, TAddress and Params are set).
    pub fn complete(&self) -> bool {
        self.domain
            .is_some_and(|d| d.address_len() == self.address.len())
            && !self.params.is_empty()
    }

    /// The socket address the row names.
    pub fn socket_addr(&self) -> Option<std::net::SocketAddr> {
        self.domain?.socket_addr(&self.address)
    }

    /// Whether `tag` is one of the row's tags (RFC 3413 SnmpTagList: tags
    /// are separated by space, tab, CR or LF; an empty tag selects nothing).
    pub fn has_tag(&self, tag: &[u8]) -> bool {
        !tag.is_empty() && tags(&self.tag_list).any(|t| t == tag)
    }
}

/// The tags of a SnmpTagList.
pub fn tags(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    list.split(|&c| is_delimiter(c)).filter(|t| !t.is_empty())
}

/// A SnmpTagList delimiter (RFC 3413 SnmpTagValue).
pub fn is_delimiter(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// snmpTargetParamsEntry, keyed by the IMPLIED snmpTargetParamsName. No
/// column has a DEFVAL, so each is `None` until set.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ParamsRow {
    pub mp_model: Option<u32>,
    pub security_model: Option<u32>,
    pub security_name: Option<Vec<u8>>,
    pub security_level: Option<u32>,
    pub storage: Storage,
    pub state: RowState,
}

impl ParamsRow {
    pub fn new(storage: Storage) -> ParamsRow {
        ParamsRow {
            mp_model: None,
            security_model: None,
            security_name: None,
            security_level: None,
            storage,
            state: RowState::NotReady,
        }
    }

    pub fn complete(&self) -> bool {
        self.mp_model.is_some()
            && self.security_model.is_some()
            && self.security_name.is_some()
            && self.security_level.is_some()
    }
}

/// snmpNotifyEntry, keyed by the IMPLIED snmpNotifyName.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NotifyRow {
    /// snmpNotifyTag (DEFVAL "").
    pub tag: Vec<u8>,
    /// snmpNotifyType: inform(2) when true, trap(1) otherwise (DEFVAL trap).
    pub inform: bool,
    pub storage: Storage,
    pub state: RowState,
}

impl NotifyRow {
    pub fn new(storage: Storage) -> NotifyRow {
        NotifyRow {
            tag: Vec::new(),
            inform: false,
            storage,
            state: RowState::NotReady,
        }
    }
}

/// snmpNotifyFilterProfileEntry, keyed by the IMPLIED snmpTargetParamsName.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ProfileRow {
    /// snmpNotifyFilterProfileName (empty until set).
    pub profile: Vec<u8>,
    pub storage: Storage,
    pub state: RowState,
}

/// snmpNotifyFilterEntry, keyed by (snmpNotifyFilterProfileName, IMPLIED
/// snmpNotifyFilterSubtree).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct FilterRow {
    /// snmpNotifyFilterMask (DEFVAL ''H).
    pub mask: Vec<u8>,
    /// snmpNotifyFilterType: included(1) when true (DEFVAL included).
    pub included: bool,
    pub storage: Storage,
    pub state: RowState,
}

/// A row of any of the tables.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub enum NtfRow {
    Addr(AddrRow),
    Params(ParamsRow),
    Notify(NotifyRow),
    Profile(ProfileRow),
    Filter(FilterRow),
}

impl NtfRow {
    pub fn table(&self) -> NtfTable {
        match self {
            NtfRow::Addr(_) => NtfTable::Addr,
            NtfRow::Params(_) => NtfTable::Params,
            NtfRow::Notify(_) => NtfTable::Notify,
            NtfRow::Profile(_) => NtfTable::Profile,
            NtfRow::Filter(_) => NtfTable::Filter,
        }
    }
    pub fn storage(&self) -> Storage {
        match self {
            NtfRow::Addr(r) => r.storage,
            NtfRow::Params(r) => r.storage,
            NtfRow::Notify(r) => r.storage,
            NtfRow::Profile(r) => r.storage,
            NtfRow::Filter(r) => r.storage,
        }
    }
}

/// One change to [`Notify`], carried in [`Change::Notify`].
#[derive(Clone, PartialEq, Debug)]
pub enum NotifyChange {
    Put(Vec<u8>, NtfRow),
    Del(NtfTable, Vec<u8>),
    /// snmpTargetSpinLock's new value (TestAndIncr; never persisted).
    SpinLock(u32),
}

impl NotifyChange {
    /// The key of this change's row in the store's `meta` tree; `None` for
    /// changes that are not persisted at all.
    pub fn meta_key(&self) -> Option<Vec<u8>> {
        let (t, k) = match self {
            NotifyChange::Put(k, r) => (r.table(), k),
            NotifyChange::Del(t, k) => (*t, k),
            NotifyChange::SpinLock(_) => return None,
        };
        let mut m = Vec::with_capacity(META_PREFIX.len() + 1 + k.len());
        m.extend_from_slice(META_PREFIX);
        m.push(t as u8);
        m.extend_from_slice(k);
        Some(m)
    }

    /// What the store holds for [`Self::meta_key`] after this change: the row
    /// if its storage persists, nothing otherwise.
    pub fn persisted_value(&self) -> Option<Vec<u8>> {
        match self {
            NotifyChange::Put(_, r) if r.storage().persists() => {
                Some(bincode::serialize(r).expect("rows always serialize"))
            }
            _ => None,
        }
    }
}

/// The committed notification configuration.
#[derive(Clone, Default, Debug)]
pub struct Notify {
    pub addrs: OrdMap<Vec<u8>, AddrRow>,
    pub params: OrdMap<Vec<u8>, ParamsRow>,
    pub notifies: OrdMap<Vec<u8>, NotifyRow>,
    pub profiles: OrdMap<Vec<u8>, ProfileRow>,
    pub filters: OrdMap<Vec<u8>, FilterRow>,
    /// snmpTargetSpinLock.
    pub spin_lock: u32,
}

/// snmpNotifyFilterEntry key: (profile name, subtree).
pub fn filter_key(profile: &[u8], subtree: &[u32]) -> Vec<u8> {
    let mut k = filter_prefix(profile);
    for s in subtree {
        k.extend_from_slice(&s.to_be_bytes());
    }
    k
}

/// The first octets of every filter key of `profile`.
pub fn filter_prefix(profile: &[u8]) -> Vec<u8> {
    let n = profile.len().min(255);
    let mut k = Vec::with_capacity(n + 1);
    k.push(n as u8);
    k.extend_from_slice(&profile[..n]);
    k
}

/// (profile name, subtree) of a filter key.
pub fn parse_filter_key(k: &[u8]) -> Option<(&[u8], Vec<u32>)> {
    let (&n, rest) = k.split_first()?;
    if rest.len() < n as usize {
        return None;
    }
    let (name, mut rest) = rest.split_at(n as usize);
    if !rest.len().is_multiple_of(4) {
        return None;
    }
    let mut sub = Vec::with_capacity(rest.len() / 4);
    while let Some((b, r)) = rest.split_first_chunk::<4>() {
        sub.push(u32::from_be_bytes(*b));
        rest = r;
    }
    Some((name, sub))
}

impl Notify {
    /// The result of applying the notification part of committed changes;
    /// `None` when they hold none.
    pub fn apply(&self, eff: &[Change]) -> Option<Notify> {
        let mut out: Option<Notify> = None;
        for ch in eff {
            let Change::Notify(c) = ch else { continue };
            let s = out.get_or_insert_with(|| self.clone());
            s.apply_one(c);
        }
        out
    }

    /// Apply one change in place.
    pub fn apply_one(&mut self, c: &NotifyChange) {
        match c {
            NotifyChange::Put(k, NtfRow::Addr(r)) => {
                self.addrs.insert(k.clone(), r.clone());
            }
            NotifyChange::Put(k, NtfRow::Params(r)) => {
                self.params.insert(k.clone(), r.clone());
            }
            NotifyChange::Put(k, NtfRow::Notify(r)) => {
                self.notifies.insert(k.clone(), r.clone());
            }
            NotifyChange::Put(k, NtfRow::Profile(r)) => {
                self.profiles.insert(k.clone(), r.clone());
            }
            NotifyChange::Put(k, NtfRow::Filter(r)) => {
                self.filters.insert(k.clone(), r.clone());
            }
            NotifyChange::Del(NtfTable::Addr, k) => {
                self.addrs.remove(k);
            }
            NotifyChange::Del(NtfTable::Params, k) => {
                self.params.remove(k);
            }
            NotifyChange::Del(NtfTable::Notify, k) => {
                self.notifies.remove(k);
            }
            NotifyChange::Del(NtfTable::Profile, k) => {
                self.profiles.remove(k);
            }
            NotifyChange::Del(NtfTable::Filter, k) => {
                self.filters.remove(k);
            }
            NotifyChange::SpinLock(v) => self.spin_lock = *v,
        }
    }

    /// Load the persisted rows from the store's `meta` tree.
    pub fn load(db: &sled::Db) -> Result<Notify, StoreError> {
        let meta = db.open_tree("meta")?;
        let mut s = Notify::default();
        for kv in meta.scan_prefix(META_PREFIX) {
            let (k, v) = kv?;
            let key = k[META_PREFIX.len()..].get(1..).unwrap_or_default().to_vec();
            let row: NtfRow = bincode::deserialize(&v).map_err(|e| StoreError::Decode {
                tree: "meta",
                key: k.to_vec(),
                err: e.to_string(),
            })?;
            s.apply_one(&NotifyChange::Put(key, row));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_addresses() {
        let a: std::net::SocketAddr = "192.0.2.1:162".parse().unwrap();
        let (d, t) = Domain::of_socket_addr(a);
        assert_eq!(
            (d, t.as_slice()),
            (Domain::Udp, &[192, 0, 2, 1, 0, 162][..])
        );
        assert_eq!(d.socket_addr(&t), Some(a));
        let a6: std::net::SocketAddr = "[2001:db8::1]:1162".parse().unwrap();
        let (d, t) = Domain::of_socket_addr(a6);
        assert_eq!((d, t.len()), (Domain::UdpIpv6, 18));
        assert_eq!(d.socket_addr(&t), Some(a6));
        assert_eq!(Domain::Udp.socket_addr(&t), None);
    }

    #[test]
    fn tag_lists() {
        let mut r = AddrRow::new(Storage::Volatile);
        r.tag_list = b"nms  lab\tcore".to_vec();
        assert!(r.has_tag(b"lab") && r.has_tag(b"core") && r.has_tag(b"nms"));
        assert!(!r.has_tag(b"") && !r.has_tag(b"la"));
    }

    #[test]
    fn filter_keys_order_like_the_index() {
        let k = filter_key(b"p", &[1, 3, 6]);
        assert_eq!(parse_filter_key(&k), Some((&b"p"[..], vec![1, 3, 6])));
        assert!(filter_key(b"p", &[1, 3]) < filter_key(b"p", &[1, 3, 0]));
        assert!(filter_key(b"z", &[9]) < filter_key(b"aa", &[1]));
        assert!(k.starts_with(&filter_prefix(b"p")));
    }

    #[test]
    fn persists_through_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let mut nv = AddrRow::new(Storage::NonVolatile);
        nv.domain = Some(Domain::Udp);
        nv.address = vec![127, 0, 0, 1, 0, 162];
        nv.params = b"p".to_vec();
        nv.state = RowState::Active;
        let mut vol = nv.clone();
        vol.storage = Storage::Volatile;
        {
            let s = crate::store::reopen(dir.path());
            s.commit(
                1,
                vec![
                    Change::Notify(NotifyChange::Put(b"nv".to_vec(), NtfRow::Addr(nv.clone()))),
                    Change::Notify(NotifyChange::Put(b"vol".to_vec(), NtfRow::Addr(vol))),
                    Change::Notify(NotifyChange::SpinLock(4)),
                ],
            )
            .unwrap();
        }
        let s = crate::store::reopen(dir.path());
        let n = Notify::load(s.db()).unwrap();
        assert_eq!(n.addrs.len(), 1);
        assert_eq!(n.addrs.get(&b"nv".to_vec()), Some(&nv));
        assert_eq!(n.spin_lock, 0);
        s.commit(
            2,
            vec![Change::Notify(NotifyChange::Del(
                NtfTable::Addr,
                b"nv".to_vec(),
            ))],
        )
        .unwrap();
        assert!(Notify::load(s.db()).unwrap().addrs.is_empty());
    }
}
