//! Persistence of the configuration in sled.
//!
//! One tree per table; keys are the row keys of [`crate::keys`] (ordered like
//! the management index), values are bincode-encoded rows. Only rows whose
//! storage type persists are written: volatile rows live in memory only and so
//! vanish at restart. A commit is one sled transaction over every tree followed
//! by a flush, so an acknowledged change is on disk and a crash never leaves
//! part of one.

use crate::config::*;
use crate::keys::*;
use arc_swap::ArcSwap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Version of the on-disk layout; a store of another version is refused.
pub const SCHEMA_VERSION: u32 = 1;

const META_SCHEMA: &[u8] = b"schema";
const META_BOOTS: &[u8] = b"boots";
const META_SETTINGS: &[u8] = b"settings";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store: row {tree}/{key:02x?} does not decode: {err}")]
    Decode {
        tree: &'static str,
        key: Vec<u8>,
        err: String,
    },
    #[error("store: schema version {found} is not {SCHEMA_VERSION}; this l3vpnd cannot use it")]
    Schema { found: u32 },
    #[error("store: transaction aborted: {0}")]
    Aborted(String),
}

/// Called after each durable commit with the new configuration and the
/// effective changes.
pub type CommitHook = Box<dyn Fn(&Config, &[Change]) + Send>;

/// The configuration store: the current [`Config`] in memory, mirrored in sled.
pub struct Store {
    db: sled::Db,
    vrf: sled::Tree,
    rt: sled::Tree,
    ifconf: sled::Tree,
    rte: sled::Tree,
    labels: sled::Tree,
    peers: sled::Tree,
    meta: sled::Tree,
    current: ArcSwap<Config>,
    commit_lock: Mutex<()>,
    /// Called after each durable commit with its effective changes.
    on_commit: Mutex<Vec<CommitHook>>,
    boots: u32,
    new_store: bool,
}

fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    bincode::serialize(v).expect("rows always serialize")
}

fn dec<T: DeserializeOwned>(tree: &'static str, k: &[u8], v: &[u8]) -> Result<T, StoreError> {
    bincode::deserialize(v).map_err(|e| StoreError::Decode {
        tree,
        key: k.to_vec(),
        err: e.to_string(),
    })
}

impl Store {
    /// Open (or create) the store in `dir`, load every row, drop orphans and
    /// count this start in the boot counter.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        // Every commit flushes itself: no background flusher, whose thread
        // would also keep the database open for a while after a drop.
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::LowSpace)
            .flush_every_ms(None)
            .open()?;
        let vrf = db.open_tree("vrf")?;
        let rt = db.open_tree("rt")?;
        let ifconf = db.open_tree("ifconf")?;
        let rte = db.open_tree("rte")?;
        let labels = db.open_tree("labels")?;
        let peers = db.open_tree("bgp_peer")?;
        let meta = db.open_tree("meta")?;
        let new_store = meta.get(META_SCHEMA)?.is_none();
        if let Some(v) = meta.get(META_SCHEMA)? {
            let found: u32 = dec("meta", META_SCHEMA, &v)?;
            if found != SCHEMA_VERSION {
                return Err(StoreError::Schema { found });
            }
        }
        let mut vrfs = Vec::new();
        for kv in vrf.iter() {
            let (k, v) = kv?;
            let key = VrfKey::from_bytes(&k).ok_or_else(|| StoreError::Decode {
                tree: "vrf",
                key: k.to_vec(),
                err: "bad key".into(),
            })?;
            vrfs.push((key, dec::<VrfRow>("vrf", &k, &v)?));
        }
        let mut rts = Vec::new();
        for kv in rt.iter() {
            let (k, v) = kv?;
            let key = RtKey::from_bytes(&k).ok_or_else(|| StoreError::Decode {
                tree: "rt",
                key: k.to_vec(),
                err: "bad key".into(),
            })?;
            rts.push((key, dec::<RtRow>("rt", &k, &v)?));
        }
        let mut ifs = Vec::new();
        for kv in ifconf.iter() {
            let (k, v) = kv?;
            let key = IfConfKey::from_bytes(&k).ok_or_else(|| StoreError::Decode {
                tree: "ifconf",
                key: k.to_vec(),
                err: "bad key".into(),
            })?;
            ifs.push((key, dec::<IfConfRow>("ifconf", &k, &v)?));
        }
        let mut routes = Vec::new();
        for kv in rte.iter() {
            let (k, v) = kv?;
            let (key, _) = crate::routes::RteKey::parse(&k).map_err(|_| StoreError::Decode {
                tree: "rte",
                key: k.to_vec(),
                err: "bad key".into(),
            })?;
            routes.push((key, dec::<crate::routes::RteRow>("rte", &k, &v)?));
        }
        let mut lbls = Vec::new();
        for kv in labels.iter() {
            let (k, v) = kv?;
            lbls.push((k.to_vec(), dec::<u32>("labels", &k, &v)?));
        }
        let mut prs = Vec::new();
        for kv in peers.iter() {
            let (k, v) = kv?;
            let key = crate::bgpcfg::PeerKey::parse(&k).ok_or_else(|| StoreError::Decode {
                tree: "bgp_peer",
                key: k.to_vec(),
                err: "bad key".into(),
            })?;
            prs.push((key, dec::<crate::bgpcfg::PeerRow>("bgp_peer", &k, &v)?));
        }
        let settings = match meta.get(META_SETTINGS)? {
            Some(v) => dec("meta", META_SETTINGS, &v)?,
            None => Settings::default(),
        };
        let boots = match meta.get(META_BOOTS)? {
            Some(v) => dec::<u32>("meta", META_BOOTS, &v)?.saturating_add(1),
            None => 1,
        };
        let (cfg, orphans) = Config::from_rows(vrfs, rts, ifs, routes, lbls, prs, settings);
        let store = Store {
            db,
            vrf,
            rt,
            ifconf,
            rte,
            labels,
            peers,
            meta,
            current: ArcSwap::from_pointee(cfg),
            commit_lock: Mutex::new(()),
            on_commit: Mutex::new(Vec::new()),
            boots,
            new_store,
        };
        // Orphans, the schema and the boot count go out in one transaction.
        let cfg = store.current.load_full();
        let fixes: Vec<Op> = orphans
            .iter()
            .filter_map(|c| match c {
                Change::Label(o, Some(l)) if label_persists(&cfg, o) => {
                    Some(Op::put(Tree::Label, o.clone(), enc(l)))
                }
                Change::Label(o, _) => Some(Op::del(Tree::Label, o.clone())),
                Change::DelRt(k) => Some(Op::del(Tree::Rt, k.as_bytes().to_vec())),
                Change::DelIfConf(k) => Some(Op::del(Tree::IfConf, k.as_bytes().to_vec())),
                Change::DelRte(k) => Some(Op::del(Tree::Rte, k.as_bytes().to_vec())),
                Change::DelPeer(k) => Some(Op::del(Tree::Peer, k.as_bytes().to_vec())),
                _ => None,
            })
            .collect();
        store.write(
            &fixes,
            &[
                (META_SCHEMA, enc(&SCHEMA_VERSION)),
                (META_BOOTS, enc(&boots)),
            ],
        )?;
        Ok(store)
    }

    /// The configuration as of the last durable commit.
    pub fn snapshot(&self) -> Arc<Config> {
        self.current.load_full()
    }

    /// Call `hook` after every durable commit (under the commit lock, so
    /// hooks see commits in order) with the new configuration and the
    /// effective changes.
    pub fn on_commit(&self, hook: CommitHook) {
        self.on_commit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(hook);
    }

    /// The sled database, for modules that keep their own trees in it (one
    /// store, one lock, one flush).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// How many times this store has been opened, this start included.
    pub fn boots(&self) -> u32 {
        self.boots
    }

    /// True when this start created the store (nothing was on disk).
    pub fn is_new(&self) -> bool {
        self.new_store
    }

    /// Apply `changes` atomically and durably. `check` runs under the commit
    /// lock against the configuration the changes will apply to, so validation
    /// and commit see the same state; if it fails nothing is written. Returns
    /// the new configuration and the effective changes (cascades expanded).
    pub fn commit_checked<E>(
        &self,
        now: u32,
        build: impl FnOnce(&Config) -> Result<Vec<Change>, E>,
    ) -> Result<Result<(Arc<Config>, Vec<Change>), E>, StoreError> {
        let _g = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.current.load_full();
        let changes = match build(&old) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        if changes.is_empty() {
            return Ok(Ok((old, Vec::new())));
        }
        let (new, eff) = old.apply(&changes, now);
        let ops = persist_ops(&old, &new, &eff);
        let meta: Vec<(&[u8], Vec<u8>)> = if old.settings != new.settings {
            vec![(META_SETTINGS, enc(&new.settings))]
        } else {
            Vec::new()
        };
        self.write(&ops, &meta)?;
        let new = Arc::new(new);
        self.current.store(new.clone());
        for hook in self
            .on_commit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            hook(&new, &eff);
        }
        Ok(Ok((new, eff)))
    }

    /// Apply changes without a check (see [`Store::commit_checked`]).
    pub fn commit(
        &self,
        now: u32,
        changes: Vec<Change>,
    ) -> Result<(Arc<Config>, Vec<Change>), StoreError> {
        self.commit_checked::<std::convert::Infallible>(now, |_| Ok(changes))
            .map(|r| r.unwrap_or_else(|e| match e {}))
    }

    /// Write row operations and meta keys in one transaction, then flush.
    fn write(&self, ops: &[Op], meta: &[(&[u8], Vec<u8>)]) -> Result<(), StoreError> {
        if ops.is_empty() && meta.is_empty() {
            return Ok(());
        }
        let res: Result<(), TransactionError<String>> = (
            &self.vrf,
            &self.rt,
            &self.ifconf,
            &self.rte,
            &self.labels,
            &self.peers,
            &self.meta,
        )
            .transaction(|(v, r, i, rte, l, p, m)| {
                for op in ops {
                    let t: &TransactionalTree = match op.tree {
                        Tree::Vrf => v,
                        Tree::Rt => r,
                        Tree::IfConf => i,
                        Tree::Rte => rte,
                        Tree::Label => l,
                        Tree::Peer => p,
                        Tree::Meta => m,
                    };
                    match &op.value {
                        Some(val) => t.insert(op.key.as_slice(), val.as_slice())?,
                        None => t.remove(op.key.as_slice())?,
                    };
                }
                for (k, val) in meta {
                    m.insert(*k, val.as_slice())?;
                }
                Ok::<(), ConflictableTransactionError<String>>(())
            });
        match res {
            Ok(()) => {}
            Err(TransactionError::Abort(e)) => return Err(StoreError::Aborted(e)),
            Err(TransactionError::Storage(e)) => return Err(e.into()),
        }
        self.db.flush()?;
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Tree {
    Vrf,
    Rt,
    IfConf,
    Rte,
    Label,
    Peer,
    /// The meta tree: SNMP security rows ([`crate::security`]).
    Meta,
}

/// One write to one tree (`None` = remove).
struct Op {
    tree: Tree,
    key: Vec<u8>,
    value: Option<Vec<u8>>,
}

impl Op {
    fn put(tree: Tree, key: Vec<u8>, value: Vec<u8>) -> Op {
        Op {
            tree,
            key,
            value: Some(value),
        }
    }
    fn del(tree: Tree, key: Vec<u8>) -> Op {
        Op {
            tree,
            key,
            value: None,
        }
    }
}

fn vrf_persists(c: &Config, vrf: &VrfKey) -> bool {
    c.vrfs.get(vrf).is_some_and(|r| r.storage.persists())
}

fn label_persists(c: &Config, owner: &[u8]) -> bool {
    crate::config::label_owner_vrf_key(owner).is_some_and(|v| vrf_persists(c, &v))
}

/// What the disk should hold for one key of one tree in `c`.
fn on_disk(c: &Config, tree: Tree, key: &[u8]) -> Option<Vec<u8>> {
    match tree {
        Tree::Vrf => c.vrfs.get(key).filter(|r| r.storage.persists()).map(enc),
        Tree::Rt => c.rts.get(key).filter(|r| r.storage.persists()).map(enc),
        Tree::IfConf => c.ifconfs.get(key).filter(|r| r.storage.persists()).map(enc),
        // Routes have no StorageType: they persist with their VRF.
        Tree::Rte => {
            let r = c.routes.get(key)?;
            let n = *key.first()? as usize;
            let vrf = VrfKey::from_bytes(key.get(..1 + n)?)?;
            vrf_persists(c, &vrf).then(|| enc(r))
        }
        Tree::Label => c
            .labels
            .get(key)
            .filter(|_| label_persists(c, key))
            .map(enc),
        Tree::Peer => c.peers.get(key).filter(|r| r.storage.persists()).map(enc),
        Tree::Meta => None,
    }
}

/// For every row the effective changes touched, what the disk must hold now
/// (a VRF whose persistence changed touches all its routes and labels).
fn persist_ops(old: &Config, new: &Config, eff: &[Change]) -> Vec<Op> {
    let mut touched: Vec<(Tree, Vec<u8>)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut touch = |t: Tree, k: &[u8]| {
        if seen.insert((t, k.to_vec())) {
            touched.push((t, k.to_vec()));
        }
    };
    for ch in eff {
        match ch {
            Change::PutVrf(k, _) | Change::DelVrf(k) => {
                touch(Tree::Vrf, k.as_bytes());
                if vrf_persists(old, k) != vrf_persists(new, k) {
                    for (rk, _) in old.routes_of(k).chain(new.routes_of(k)) {
                        touch(Tree::Rte, rk.as_bytes());
                    }
                    for c in [old, new] {
                        for o in c.label_owners_of(k) {
                            touch(Tree::Label, o);
                        }
                    }
                }
            }
            Change::PutRt(k, _) | Change::DelRt(k) => touch(Tree::Rt, k.as_bytes()),
            Change::PutIfConf(k, _) | Change::DelIfConf(k) => touch(Tree::IfConf, k.as_bytes()),
            Change::PutRte(k, _) | Change::DelRte(k) => touch(Tree::Rte, k.as_bytes()),
            Change::Label(o, _) => touch(Tree::Label, o),
            Change::PutPeer(k, _) | Change::DelPeer(k) => touch(Tree::Peer, k.as_bytes()),
            Change::PutSettings(_) => {}
            Change::Security(_) | Change::Notify(_) | Change::HoldLabels(_) => {}
        }
    }
    let mut ops = Vec::new();
    for (t, k) in touched {
        let before = on_disk(old, t, &k);
        match on_disk(new, t, &k) {
            Some(v) if before.as_ref() != Some(&v) => ops.push(Op::put(t, k, v)),
            Some(_) => {}
            None if before.is_some() => ops.push(Op::del(t, k)),
            None => {}
        }
    }
    // SNMP security rows carry their own persistence decision.
    for ch in eff {
        if let Change::Security(c) = ch {
            if let Some(key) = c.meta_key() {
                ops.push(Op {
                    tree: Tree::Meta,
                    key,
                    value: c.persisted_value(),
                });
            }
        }
        if let Change::Notify(c) = ch {
            if let Some(key) = c.meta_key() {
                ops.push(Op {
                    tree: Tree::Meta,
                    key,
                    value: c.persisted_value(),
                });
            }
        }
    }
    ops
}

/// Opens a store, waiting while the directory's lock is still held by
/// sled's I/O threads of a store this process just dropped (they let go a
/// moment after the drop: only an in-process reopen meets this, a new
/// process does not). For tests.
#[cfg(test)]
pub(crate) fn reopen(dir: &Path) -> Store {
    let t0 = std::time::Instant::now();
    loop {
        match Store::open(dir) {
            Ok(s) => return s,
            Err(e)
                if e.to_string().contains("could not acquire lock")
                    && t0.elapsed() < std::time::Duration::from_secs(5) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            Err(e) => panic!("opening the store in {dir:?}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rd::RouteDistinguisher;

    fn vrf(n: &str) -> VrfKey {
        VrfKey::new(n.as_bytes()).unwrap()
    }

    #[test]
    fn persists_only_nonvolatile_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = reopen(dir.path());
            assert!(s.is_new());
            assert_eq!(s.boots(), 1);
            let mut nv = VrfRow::new(Storage::NonVolatile);
            nv.rd = RouteDistinguisher::parse_text("65000:1");
            nv.state = RowState::Active;
            let mut vol = VrfRow::new(Storage::Volatile);
            vol.state = RowState::Active;
            let settings = Settings {
                notification_enable: true,
                ..Settings::default()
            };
            s.commit(
                1,
                vec![
                    Change::PutVrf(vrf("red"), nv),
                    Change::PutVrf(vrf("blue"), vol),
                    Change::PutIfConf(IfConfKey::new(&vrf("red"), 1), {
                        let mut r = IfConfRow::new(Storage::NonVolatile);
                        r.state = RowState::Active;
                        r
                    }),
                    Change::PutRt(
                        RtKey::new(&vrf("blue"), 1, RtType::Both),
                        RtRow::new(Storage::NonVolatile),
                    ),
                    Change::PutSettings(settings),
                ],
            )
            .unwrap();
        }
        let s = reopen(dir.path());
        assert!(!s.is_new());
        assert_eq!(s.boots(), 2);
        let c = s.snapshot();
        assert_eq!(c.vrfs.keys().cloned().collect::<Vec<_>>(), vec![vrf("red")]);
        assert_eq!(c.ifconfs.len(), 1);
        // the RT row of the volatile VRF was an orphan and is gone
        assert!(c.rts.is_empty());
        assert!(c.settings.notification_enable);
        assert_eq!(c.if_owner(1), Some(&vrf("red")));
        drop(s);
        let s = reopen(dir.path());
        assert_eq!(s.boots(), 3);
        assert!(s.rt.is_empty());
    }

    #[test]
    fn storage_change_moves_row_on_and_off_disk() {
        let dir = tempfile::tempdir().unwrap();
        let s = reopen(dir.path());
        let k = vrf("x");
        s.commit(
            1,
            vec![Change::PutVrf(k.clone(), VrfRow::new(Storage::NonVolatile))],
        )
        .unwrap();
        assert_eq!(s.vrf.len(), 1);
        s.commit(
            2,
            vec![Change::PutVrf(k.clone(), VrfRow::new(Storage::Volatile))],
        )
        .unwrap();
        assert_eq!(s.vrf.len(), 0);
        s.commit(
            3,
            vec![Change::PutVrf(k.clone(), VrfRow::new(Storage::NonVolatile))],
        )
        .unwrap();
        s.commit(4, vec![Change::DelVrf(k)]).unwrap();
        assert_eq!(s.vrf.len(), 0);
    }

    #[test]
    fn routes_and_labels_persist_with_their_vrf() {
        use crate::routes::{RteKey, RteRow};
        let dir = tempfile::tempdir().unwrap();
        let k = vrf("r");
        let rk = RteKey::new(
            &k,
            "10.9.0.0/16".parse().unwrap(),
            &[0, 0],
            Some("192.0.2.9".parse().unwrap()),
        );
        let label;
        {
            let s = reopen(dir.path());
            let mut row = VrfRow::new(Storage::Volatile);
            row.state = RowState::Active;
            row.label_mode = LabelMode::PerPrefix;
            let rr = RteRow {
                state: RowState::Active,
                ..RteRow::default()
            };
            s.commit(
                1,
                vec![
                    Change::PutVrf(k.clone(), row.clone()),
                    Change::PutRte(rk.clone(), rr),
                ],
            )
            .unwrap();
            assert_eq!((s.rte.len(), s.labels.len()), (0, 0));
            // volatile -> nonVolatile writes the routes and labels of the VRF
            row.storage = Storage::NonVolatile;
            s.commit(2, vec![Change::PutVrf(k.clone(), row)]).unwrap();
            assert_eq!((s.rte.len(), s.labels.len()), (1, 1));
            label = s
                .snapshot()
                .label(&label_owner_prefix(&k, &"10.9.0.0/16".parse().unwrap()))
                .unwrap();
        }
        let s = reopen(dir.path());
        let c = s.snapshot();
        assert_eq!(c.active_route_count(&k), 1);
        // the same label after a restart: no relabel churn
        assert_eq!(
            c.label(&label_owner_prefix(&k, &"10.9.0.0/16".parse().unwrap())),
            Some(label)
        );
        s.commit(3, vec![Change::DelVrf(k)]).unwrap();
        assert_eq!((s.rte.len(), s.labels.len(), s.vrf.len()), (0, 0, 0));
    }

    #[test]
    fn failed_check_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = reopen(dir.path());
        let g0 = s.snapshot().generation;
        let r = s
            .commit_checked(1, |_| Err::<Vec<Change>, _>("no"))
            .unwrap();
        assert_eq!(r.unwrap_err(), "no");
        assert_eq!(s.snapshot().generation, g0);
    }
}
