//! The SNMP security configuration an operator provisions: USM users
//! (RFC 3414 usmUserTable) and the VACM tables (RFC 3415:
//! vacmSecurityToGroupTable, vacmAccessTable, vacmViewTreeFamilyTable).
//!
//! Like [`crate::Config`], [`Security`] is one immutable value that readers
//! share and commits replace. Its changes travel in the same commit as the
//! VPN configuration ([`Change::Security`]) so that one SET PDU is one sled
//! transaction; rows live in the store's `meta` tree under the `sec/` prefix.
//! Keys are byte strings ordered like the SNMP index (length-prefixed octet
//! strings, 4-octet big-endian integers), as in [`crate::keys`].
//!
//! Only localized keys are kept (RFC 3414 section 2.6); [`UserRow`]'s `Debug`
//! never shows them.

use crate::config::{Change, RowState, Storage};
use crate::store::StoreError;
use imbl::OrdMap;
use serde::{Deserialize, Serialize};

/// Prefix of every security row in the store's `meta` tree.
const META_PREFIX: &[u8] = b"sec/";
/// The persisted snmpEngineID (RFC 3411), once generated.
const META_ENGINE_ID: &[u8] = b"sec-engine-id";

/// Authentication protocols (RFC 3414, RFC 7860).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, PartialOrd, Ord)]
pub enum AuthProto {
    None,
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// Privacy protocols (RFC 3414 CBC-DES, RFC 3826 CFB128-AES-128, and the
/// AES-192/256 of draft-blumenthal-aes-usm-04 with its key extension, as
/// net-snmp's `-x AES-192/AES-256`; the `Reeder` ones extend keys the way
/// Cisco does).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, PartialOrd, Ord)]
pub enum PrivProto {
    None,
    Des,
    Aes128,
    Aes192,
    Aes256,
    Aes192Reeder,
    Aes256Reeder,
}

/// The tables of [`Security`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum SecTable {
    User = 1,
    Group = 2,
    Access = 3,
    View = 4,
}

/// A USM user (usmUserEntry), keyed by (usmUserEngineID, usmUserName).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub security_name: Vec<u8>,
    pub auth: AuthProto,
    /// Localized authentication key (as long as the hash output).
    pub auth_key: Vec<u8>,
    pub privp: PrivProto,
    /// Localized privacy key, as long as the cipher uses (DES: key + pre-IV).
    pub priv_key: Vec<u8>,
    /// usmUserPublic.
    pub public: Vec<u8>,
    pub storage: Storage,
    pub state: RowState,
    /// usmUserCloneFrom has been done (it takes effect once only).
    pub cloned: bool,
    /// For rows loaded from the configuration file: a digest of the file's
    /// entry, so a key rotated over SNMP survives a restart until the file
    /// entry itself changes. Empty for rows created over SNMP.
    pub origin: Vec<u8>,
}

impl UserRow {
    /// A row as createAndWait leaves it: no keys until cloned.
    pub fn new(name: &[u8], storage: Storage) -> UserRow {
        UserRow {
            security_name: name.to_vec(),
            auth: AuthProto::None,
            auth_key: Vec::new(),
            privp: PrivProto::None,
            priv_key: Vec::new(),
            public: Vec::new(),
            storage,
            state: RowState::NotReady,
            cloned: false,
            origin: Vec::new(),
        }
    }
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key material is never shown.
        f.debug_struct("UserRow")
            .field(
                "security_name",
                &String::from_utf8_lossy(&self.security_name),
            )
            .field("auth", &self.auth)
            .field("privp", &self.privp)
            .field("storage", &self.storage)
            .field("state", &self.state)
            .field("cloned", &self.cloned)
            .finish_non_exhaustive()
    }
}

/// vacmSecurityToGroupEntry, keyed by (securityModel, securityName).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GroupRow {
    pub group: Vec<u8>,
    pub storage: Storage,
    pub state: RowState,
}

/// vacmAccessEntry, keyed by (groupName, contextPrefix, securityModel,
/// securityLevel).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AccessRow {
    /// vacmAccessContextMatch: exact(1) when true, prefix(2) otherwise.
    pub exact: bool,
    pub read: Vec<u8>,
    pub write: Vec<u8>,
    pub notify: Vec<u8>,
    pub storage: Storage,
    pub state: RowState,
}

/// vacmViewTreeFamilyEntry, keyed by (viewName, subtree).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ViewRow {
    pub mask: Vec<u8>,
    /// vacmViewTreeFamilyType: included(1) when true, excluded(2) otherwise.
    pub included: bool,
    pub storage: Storage,
    pub state: RowState,
}

/// A row of any of the four tables.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub enum SecRow {
    User(UserRow),
    Group(GroupRow),
    Access(AccessRow),
    View(ViewRow),
}

impl SecRow {
    pub fn table(&self) -> SecTable {
        match self {
            SecRow::User(_) => SecTable::User,
            SecRow::Group(_) => SecTable::Group,
            SecRow::Access(_) => SecTable::Access,
            SecRow::View(_) => SecTable::View,
        }
    }
    pub fn storage(&self) -> Storage {
        match self {
            SecRow::User(r) => r.storage,
            SecRow::Group(r) => r.storage,
            SecRow::Access(r) => r.storage,
            SecRow::View(r) => r.storage,
        }
    }
}

/// One change to [`Security`], carried in [`Change::Security`].
#[derive(Clone, PartialEq, Debug)]
pub enum SecChange {
    Put(Vec<u8>, SecRow),
    Del(SecTable, Vec<u8>),
    /// usmUserSpinLock's new value (TestAndIncr; never persisted).
    SpinLock(u32),
    /// vacmViewSpinLock's new value (never persisted).
    ViewSpinLock(u32),
}

impl SecChange {
    /// The key of this change's row in the store's `meta` tree; `None` for
    /// changes that are not persisted at all.
    pub fn meta_key(&self) -> Option<Vec<u8>> {
        let (t, k) = match self {
            SecChange::Put(k, r) => (r.table(), k),
            SecChange::Del(t, k) => (*t, k),
            SecChange::SpinLock(_) | SecChange::ViewSpinLock(_) => return None,
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
            SecChange::Put(_, r) if r.storage().persists() => {
                Some(bincode::serialize(r).expect("rows always serialize"))
            }
            _ => None,
        }
    }
}

/// The committed security configuration.
#[derive(Clone, Default, Debug)]
pub struct Security {
    pub users: OrdMap<Vec<u8>, UserRow>,
    pub groups: OrdMap<Vec<u8>, GroupRow>,
    pub access: OrdMap<Vec<u8>, AccessRow>,
    pub views: OrdMap<Vec<u8>, ViewRow>,
    /// usmUserSpinLock.
    pub spin_lock: u32,
    /// vacmViewSpinLock.
    pub view_spin_lock: u32,
}

fn octets(k: &mut Vec<u8>, s: &[u8]) {
    k.push(s.len().min(255) as u8);
    k.extend_from_slice(&s[..s.len().min(255)]);
}

fn take_octets(k: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&n, rest) = k.split_first()?;
    (rest.len() >= n as usize).then(|| rest.split_at(n as usize))
}

fn take_u32(k: &[u8]) -> Option<(u32, &[u8])> {
    let (b, rest) = k.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*b), rest))
}

/// usmUserEntry key: (usmUserEngineID, usmUserName).
pub fn user_key(engine_id: &[u8], name: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(engine_id.len() + name.len() + 2);
    octets(&mut k, engine_id);
    octets(&mut k, name);
    k
}

/// (engine ID, user name) of a user key.
pub fn parse_user_key(k: &[u8]) -> Option<(&[u8], &[u8])> {
    let (e, rest) = take_octets(k)?;
    let (n, rest) = take_octets(rest)?;
    rest.is_empty().then_some((e, n))
}

/// vacmSecurityToGroupEntry key: (securityModel, securityName).
pub fn group_key(model: u32, security_name: &[u8]) -> Vec<u8> {
    let mut k = model.to_be_bytes().to_vec();
    octets(&mut k, security_name);
    k
}

/// vacmAccessEntry key: (groupName, contextPrefix, securityModel, securityLevel).
pub fn access_key(group: &[u8], prefix: &[u8], model: u32, level: u32) -> Vec<u8> {
    let mut k = Vec::new();
    octets(&mut k, group);
    octets(&mut k, prefix);
    k.extend_from_slice(&model.to_be_bytes());
    k.extend_from_slice(&level.to_be_bytes());
    k
}

/// The parts of an access key.
pub fn parse_access_key(k: &[u8]) -> Option<(&[u8], &[u8], u32, u32)> {
    let (g, rest) = take_octets(k)?;
    let (p, rest) = take_octets(rest)?;
    let (m, rest) = take_u32(rest)?;
    let (l, rest) = take_u32(rest)?;
    rest.is_empty().then_some((g, p, m, l))
}

/// The first octets of every access key of `group`.
pub fn access_prefix(group: &[u8]) -> Vec<u8> {
    let mut k = Vec::new();
    octets(&mut k, group);
    k
}

/// vacmViewTreeFamilyEntry key: (viewName, subtree).
pub fn view_key(name: &[u8], subtree: &[u32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 2 + subtree.len() * 4);
    octets(&mut k, name);
    k.push(subtree.len().min(255) as u8);
    for s in &subtree[..subtree.len().min(255)] {
        k.extend_from_slice(&s.to_be_bytes());
    }
    k
}

/// (view name, subtree) of a view key.
pub fn parse_view_key(k: &[u8]) -> Option<(&[u8], Vec<u32>)> {
    let (name, rest) = take_octets(k)?;
    let (&n, mut rest) = rest.split_first()?;
    let mut sub = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (v, r) = take_u32(rest)?;
        sub.push(v);
        rest = r;
    }
    rest.is_empty().then_some((name, sub))
}

/// The first octets of every view key of view `name`.
pub fn view_prefix(name: &[u8]) -> Vec<u8> {
    let mut k = Vec::new();
    octets(&mut k, name);
    k
}

/// The rows of `map` whose key starts with `prefix`, in key order.
pub fn with_prefix<'a, V: Clone>(
    map: &'a OrdMap<Vec<u8>, V>,
    prefix: &'a [u8],
) -> impl Iterator<Item = (&'a Vec<u8>, &'a V)> + 'a {
    map.range(prefix.to_vec()..)
        .take_while(move |(k, _)| k.starts_with(prefix))
}

impl Security {
    /// The result of applying the security part of committed changes; `None`
    /// when they hold none.
    pub fn apply(&self, eff: &[Change]) -> Option<Security> {
        let mut out: Option<Security> = None;
        for ch in eff {
            let Change::Security(c) = ch else { continue };
            let s = out.get_or_insert_with(|| self.clone());
            match c {
                SecChange::Put(k, SecRow::User(r)) => {
                    s.users.insert(k.clone(), r.clone());
                }
                SecChange::Put(k, SecRow::Group(r)) => {
                    s.groups.insert(k.clone(), r.clone());
                }
                SecChange::Put(k, SecRow::Access(r)) => {
                    s.access.insert(k.clone(), r.clone());
                }
                SecChange::Put(k, SecRow::View(r)) => {
                    s.views.insert(k.clone(), r.clone());
                }
                SecChange::Del(SecTable::User, k) => {
                    s.users.remove(k);
                }
                SecChange::Del(SecTable::Group, k) => {
                    s.groups.remove(k);
                }
                SecChange::Del(SecTable::Access, k) => {
                    s.access.remove(k);
                }
                SecChange::Del(SecTable::View, k) => {
                    s.views.remove(k);
                }
                SecChange::SpinLock(v) => s.spin_lock = *v,
                SecChange::ViewSpinLock(v) => s.view_spin_lock = *v,
            }
        }
        out
    }

    /// Load the persisted rows from the store's `meta` tree.
    pub fn load(db: &sled::Db) -> Result<Security, StoreError> {
        let meta = db.open_tree("meta")?;
        let mut s = Security::default();
        for kv in meta.scan_prefix(META_PREFIX) {
            let (k, v) = kv?;
            let key = k[META_PREFIX.len()..].get(1..).unwrap_or_default().to_vec();
            let row: SecRow = bincode::deserialize(&v).map_err(|e| StoreError::Decode {
                tree: "meta",
                key: k.to_vec(),
                err: e.to_string(),
            })?;
            match row {
                SecRow::User(r) => {
                    s.users.insert(key, r);
                }
                SecRow::Group(r) => {
                    s.groups.insert(key, r);
                }
                SecRow::Access(r) => {
                    s.access.insert(key, r);
                }
                SecRow::View(r) => {
                    s.views.insert(key, r);
                }
            }
        }
        Ok(s)
    }

    /// The persisted snmpEngineID, if one was ever stored.
    pub fn load_engine_id(db: &sled::Db) -> Result<Option<Vec<u8>>, StoreError> {
        let meta = db.open_tree("meta")?;
        Ok(meta.get(META_ENGINE_ID)?.map(|v| v.to_vec()))
    }

    /// Persist the snmpEngineID (durably).
    pub fn save_engine_id(db: &sled::Db, id: &[u8]) -> Result<(), StoreError> {
        let meta = db.open_tree("meta")?;
        meta.insert(META_ENGINE_ID, id)?;
        db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_order_like_the_index() {
        let k = user_key(b"\x80\x00\x01", b"bob");
        assert_eq!(
            parse_user_key(&k),
            Some((&b"\x80\x00\x01"[..], &b"bob"[..]))
        );
        assert!(user_key(b"e", b"zz") < user_key(b"ee", b"a"));
        let a = access_key(b"g", b"", 3, 2);
        assert_eq!(parse_access_key(&a), Some((&b"g"[..], &b""[..], 3, 2)));
        assert!(a.starts_with(&access_prefix(b"g")));
        let v = view_key(b"all", &[1, 3, 6]);
        assert_eq!(parse_view_key(&v), Some((&b"all"[..], vec![1, 3, 6])));
        assert!(view_key(b"all", &[1, 3]) < view_key(b"all", &[1, 2, 9]));
    }

    #[test]
    fn debug_hides_keys() {
        let mut u = UserRow::new(b"u", Storage::Volatile);
        u.auth_key = vec![0xde, 0xad, 0xbe, 0xef];
        let s = format!("{u:?}");
        assert!(
            !s.contains("222") && !s.contains("de") && !s.contains("auth_key"),
            "{s}"
        );
    }

    #[test]
    fn persisted_value_only_for_persistent_rows() {
        let g = |st| {
            SecChange::Put(
                group_key(3, b"u"),
                SecRow::Group(GroupRow {
                    group: b"g".to_vec(),
                    storage: st,
                    state: RowState::Active,
                }),
            )
        };
        assert!(g(Storage::Volatile).persisted_value().is_none());
        assert!(g(Storage::NonVolatile).persisted_value().is_some());
        assert!(g(Storage::Volatile)
            .meta_key()
            .unwrap()
            .starts_with(b"sec/\x02"));
        assert!(SecChange::SpinLock(3).meta_key().is_none());
    }

    #[test]
    fn persists_through_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let k = group_key(3, b"alice");
        let row = GroupRow {
            group: b"admins".to_vec(),
            storage: Storage::NonVolatile,
            state: RowState::Active,
        };
        {
            let s = crate::store::reopen(dir.path());
            s.commit(
                1,
                vec![Change::Security(SecChange::Put(
                    k.clone(),
                    SecRow::Group(row.clone()),
                ))],
            )
            .unwrap();
            Security::save_engine_id(s.db(), b"\x80\x00\x01\x02\x05abcd").unwrap();
        }
        let s = crate::store::reopen(dir.path());
        let sec = Security::load(s.db()).unwrap();
        assert_eq!(sec.groups.get(&k), Some(&row));
        assert_eq!(
            Security::load_engine_id(s.db()).unwrap().unwrap(),
            b"\x80\x00\x01\x02\x05abcd"
        );
        s.commit(
            2,
            vec![Change::Security(SecChange::Del(SecTable::Group, k.clone()))],
        )
        .unwrap();
        assert!(Security::load(s.db()).unwrap().groups.is_empty());
    }
}
