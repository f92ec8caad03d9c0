//! View-based Access Control Model (RFC 3415): isAccessAllowed, resolved
//! once per PDU into an [`Acl`] (the read and write views of the principal)
//! that the command responder asks for every name.
//!
//! Where RFC 3415 leaves a choice: a view name that is empty or names no
//! family is an empty view, so its names are "notInView" (GET noSuchObject,
//! GETNEXT/GETBULK skip, SET noAccess), which is also what net-snmp answers
//! for a read-only user's SET. No group or no access entry is
//! authorizationError for the whole PDU.

use super::responder::AccessControl;
use mib::snmpv3::{user_col, Level, MODEL_ANY, MODEL_USM, USER_INDEX, USM_USER_ENTRY};
use vpn_core::security::{
    access_key, access_prefix, group_key, parse_access_key, parse_user_key, view_key, view_prefix,
    with_prefix, AccessRow, GroupRow, Security, ViewRow,
};
use vpn_core::{RowState, Storage};

/// One vacmViewTreeFamilyEntry.
#[derive(Clone, Debug)]
struct Family {
    subtree: Vec<u32>,
    mask: Vec<u8>,
    included: bool,
}

impl Family {
    /// RFC 3415 vacmViewTreeFamilyMask: a 1 bit (or no bit) means the
    /// sub-identifier must match, a 0 bit is a wildcard.
    fn matches(&self, oid: &[u32]) -> bool {
        if oid.len() < self.subtree.len() {
            return false;
        }
        self.subtree.iter().zip(oid).enumerate().all(|(i, (s, o))| {
            let exact = self
                .mask
                .get(i / 8)
                .is_none_or(|m| m & (0x80 >> (i % 8)) != 0);
            !exact || s == o
        })
    }
}

/// A MIB view: the families of one view name.
#[derive(Clone, Debug, Default)]
pub struct MibView {
    families: Vec<Family>,
}

impl MibView {
    fn of(sec: &Security, name: &[u8]) -> MibView {
        if name.is_empty() {
            return MibView::default();
        }
        let p = view_prefix(name);
        let families = with_prefix(&sec.views, &p)
            .filter(|(_, r)| r.state == RowState::Active)
            .filter_map(|(k, r)| {
                let (_, subtree) = vpn_core::security::parse_view_key(k)?;
                Some(Family {
                    subtree,
                    mask: r.mask.clone(),
                    included: r.included,
                })
            })
            .collect();
        MibView { families }
    }

    /// RFC 3415 section 5 (vacmViewTreeFamilyTable): the matching family with
    /// the most sub-identifiers decides; among equals, the lexicographically
    /// greatest subtree.
    pub fn contains(&self, oid: &[u32]) -> bool {
        let mut best: Option<&Family> = None;
        for f in &self.families {
            if !f.matches(oid) {
                continue;
            }
            best = match best {
                Some(b) if (b.subtree.len(), &b.subtree) >= (f.subtree.len(), &f.subtree) => {
                    Some(b)
                }
                _ => Some(f),
            };
        }
        best.is_some_and(|f| f.included)
    }
}

/// Why a PDU is refused as a whole (RFC 3415 isAccessAllowed errors, named
/// as the RFC names them).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(clippy::enum_variant_names)]
pub enum Denied {
    NoSuchContext,
    NoGroupName,
    NoAccessEntry,
}

/// What one principal may read and write in the default context.
#[derive(Clone, Debug)]
pub struct Acl {
    read: MibView,
    write: MibView,
    /// The USM user name, for usmUserOwn*KeyChange (RFC 3414 section 5).
    own_user: Option<Vec<u8>>,
}

/// isAccessAllowed steps 1 to 4 (RFC 3415 section 3.2): context, group,
/// access entry, views.
pub fn resolve(
    sec: &Security,
    model: u32,
    security_name: &[u8],
    level: Level,
    context: &[u8],
) -> Result<Acl, Denied> {
    if !context.is_empty() {
        return Err(Denied::NoSuchContext);
    }
    let group = sec
        .groups
        .get(&group_key(model, security_name))
        .filter(|g| g.state == RowState::Active)
        .ok_or(Denied::NoGroupName)?;
    // RFC 3415 4 (vacmAccessTable): prefer the exact security model over
    // any, an exact context over a prefix, the longer prefix, the higher level.
    let p = access_prefix(&group.group);
    type Rank = (bool, bool, usize, u32);
    let mut best: Option<(Rank, &AccessRow)> = None;
    for (k, r) in with_prefix(&sec.access, &p) {
        let Some((g, prefix, m, l)) = parse_access_key(k) else {
            continue;
        };
        if g != group.group.as_slice() || r.state != RowState::Active {
            continue;
        }
        if m != model && m != MODEL_ANY {
            continue;
        }
        let ctx_ok = if r.exact {
            prefix == context
        } else {
            context.starts_with(prefix)
        };
        if !ctx_ok || l > level as u32 {
            continue;
        }
        let rank = (m == model, prefix == context, prefix.len(), l);
        if best.as_ref().is_none_or(|(b, _)| rank > *b) {
            best = Some((rank, r));
        }
    }
    let (_, row) = best.ok_or(Denied::NoAccessEntry)?;
    Ok(Acl {
        read: MibView::of(sec, &row.read),
        write: MibView::of(sec, &row.write),
        own_user: (model == MODEL_USM).then(|| security_name.to_vec()),
    })
}

impl AccessControl for Acl {
    fn can_read(&self, oid: &[u32]) -> bool {
        self.read.contains(oid)
    }
    fn can_write(&self, oid: &[u32]) -> bool {
        if !self.write.contains(oid) {
            return false;
        }
        // usmUserOwn{Auth,Priv}KeyChange: only the user named in the index.
        if oid.len() > USM_USER_ENTRY.len() + 1 && oid.starts_with(USM_USER_ENTRY) {
            let col = oid[USM_USER_ENTRY.len()];
            if col == user_col::OWN_AUTH_KEY_CHANGE || col == user_col::OWN_PRIV_KEY_CHANGE {
                let key = mib::index::oid_to_key(USER_INDEX, &oid[USM_USER_ENTRY.len() + 1..]);
                let name = key
                    .as_deref()
                    .and_then(parse_user_key)
                    .map(|(_, n)| n.to_vec());
                return name.is_some() && name == self.own_user;
            }
        }
        true
    }
}

// ---------------------------------------------------------------------------
// VACM rows from the configuration file, and the built-in ones
// ---------------------------------------------------------------------------

/// `[[vacm_group]]`: vacmSecurityToGroupEntry.
#[derive(serde::Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct GroupConf {
    /// usm, v1 or v2c.
    pub model: String,
    pub security_name: String,
    pub group: String,
}

/// `[[vacm_access]]`: vacmAccessEntry.
#[derive(serde::Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct AccessConf {
    pub group: String,
    #[serde(default)]
    pub context_prefix: String,
    /// any, usm, v1 or v2c [default: any].
    pub model: Option<String>,
    /// noAuthNoPriv, authNoPriv or authPriv [default: authPriv].
    pub level: Option<String>,
    /// exact or prefix [default: exact].
    #[serde(rename = "match")]
    pub context_match: Option<String>,
    #[serde(default)]
    pub read_view: String,
    #[serde(default)]
    pub write_view: String,
    #[serde(default)]
    pub notify_view: String,
}

/// `[[vacm_view]]`: vacmViewTreeFamilyEntry.
#[derive(serde::Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ViewConf {
    pub name: String,
    /// Dotted numbers, e.g. "1.3.6.1.2.1.10.166.11".
    pub subtree: String,
    /// Hex; empty = every sub-identifier must match.
    #[serde(default)]
    pub mask: String,
    /// included or excluded [default: included].
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

pub fn parse_model(s: &str) -> Option<u32> {
    Some(match s.to_ascii_lowercase().as_str() {
        "any" => MODEL_ANY,
        "v1" | "snmpv1" => mib::snmpv3::MODEL_V1,
        "v2c" | "snmpv2c" => mib::snmpv3::MODEL_V2C,
        "usm" | "v3" => MODEL_USM,
        _ => return None,
    })
}

pub fn parse_level(s: &str) -> Option<Level> {
    Some(match s.to_ascii_lowercase().as_str() {
        "noauthnopriv" | "noauth" => Level::NoAuthNoPriv,
        "authnopriv" | "auth" => Level::AuthNoPriv,
        "authpriv" | "priv" => Level::AuthPriv,
        _ => return None,
    })
}

pub fn parse_oid(s: &str) -> Option<Vec<u32>> {
    let s = s.trim().trim_start_matches('.');
    let v: Option<Vec<u32>> = s.split('.').map(|x| x.parse().ok()).collect();
    v.filter(|v| !v.is_empty() && v.len() <= 128)
}

fn name_ok(s: &str, min: usize) -> bool {
    (min..=32).contains(&s.len())
}

impl GroupConf {
    pub fn row(&self) -> Result<(Vec<u8>, GroupRow), String> {
        let m = parse_model(&self.model).filter(|&m| m != MODEL_ANY);
        let m = m.ok_or_else(|| {
            format!(
                "vacm_group {:?}: model must be usm, v1 or v2c",
                self.security_name
            )
        })?;
        if !name_ok(&self.security_name, 1) || !name_ok(&self.group, 1) {
            return Err(format!(
                "vacm_group {:?}: names must be 1..32 octets",
                self.security_name
            ));
        }
        Ok((
            group_key(m, self.security_name.as_bytes()),
            permanent_group(&self.group),
        ))
    }
}

impl AccessConf {
    pub fn row(&self) -> Result<(Vec<u8>, AccessRow), String> {
        let who = &self.group;
        let model = parse_model(self.model.as_deref().unwrap_or("any"))
            .ok_or_else(|| format!("vacm_access {who:?}: model must be any, usm, v1 or v2c"))?;
        let level = parse_level(self.level.as_deref().unwrap_or("authPriv")).ok_or_else(|| {
            format!("vacm_access {who:?}: level must be noAuthNoPriv, authNoPriv or authPriv")
        })?;
        let exact = match self.context_match.as_deref().unwrap_or("exact") {
            "exact" => true,
            "prefix" => false,
            other => {
                return Err(format!(
                    "vacm_access {who:?}: match must be exact or prefix, not {other:?}"
                ))
            }
        };
        let names = [
            &self.context_prefix,
            &self.read_view,
            &self.write_view,
            &self.notify_view,
        ];
        if !name_ok(who, 1) || names.iter().any(|n| !name_ok(n, 0)) {
            return Err(format!(
                "vacm_access {who:?}: names must be at most 32 octets"
            ));
        }
        let row = AccessRow {
            exact,
            read: self.read_view.clone().into_bytes(),
            write: self.write_view.clone().into_bytes(),
            notify: self.notify_view.clone().into_bytes(),
            storage: Storage::Permanent,
            state: RowState::Active,
        };
        Ok((
            access_key(
                who.as_bytes(),
                self.context_prefix.as_bytes(),
                model,
                level as u32,
            ),
            row,
        ))
    }
}

impl ViewConf {
    pub fn row(&self) -> Result<(Vec<u8>, ViewRow), String> {
        let who = &self.name;
        let sub = parse_oid(&self.subtree)
            .ok_or_else(|| format!("vacm_view {who:?}: bad subtree {:?}", self.subtree))?;
        let mask = if self.mask.is_empty() {
            Vec::new()
        } else {
            super::usm::parse_hex(&self.mask)
                .filter(|m| m.len() <= 16)
                .ok_or_else(|| format!("vacm_view {who:?}: bad mask"))?
        };
        let included = match self.kind.as_deref().unwrap_or("included") {
            "included" => true,
            "excluded" => false,
            other => {
                return Err(format!(
                    "vacm_view {who:?}: type must be included or excluded, not {other:?}"
                ))
            }
        };
        if !name_ok(who, 1) {
            return Err(format!("vacm_view {who:?}: the name must be 1..32 octets"));
        }
        Ok((
            view_key(who.as_bytes(), &sub),
            ViewRow {
                mask,
                included,
                storage: Storage::Permanent,
                state: RowState::Active,
            },
        ))
    }
}

fn permanent_group(g: &str) -> GroupRow {
    GroupRow {
        group: g.as_bytes().to_vec(),
        storage: Storage::Permanent,
        state: RowState::Active,
    }
}

/// Rows with their keys.
pub type Rows<R> = Vec<(Vec<u8>, R)>;

/// The rows every agent starts with unless the configuration file has its
/// own for the same index (RFC 3584 section 5's mapping of communities):
/// both communities in groups of their own name for v1 and v2c; the
/// read-only one reads view "all", the read-write one also writes it; view
/// "all" is the whole tree (1).
pub fn builtin_rows(ro: &[u8], rw: &[u8]) -> (Rows<GroupRow>, Rows<AccessRow>, Rows<ViewRow>) {
    let mut groups = Vec::new();
    for name in [ro, rw] {
        for m in [mib::snmpv3::MODEL_V1, mib::snmpv3::MODEL_V2C] {
            groups.push((
                group_key(m, name),
                GroupRow {
                    group: name.to_vec(),
                    storage: Storage::Permanent,
                    state: RowState::Active,
                },
            ));
        }
    }
    let acc = |write: &[u8]| AccessRow {
        exact: true,
        read: b"all".to_vec(),
        write: write.to_vec(),
        notify: b"all".to_vec(),
        storage: Storage::Permanent,
        state: RowState::Active,
    };
    let access = vec![
        (
            access_key(ro, b"", MODEL_ANY, Level::NoAuthNoPriv as u32),
            acc(b""),
        ),
        (
            access_key(rw, b"", MODEL_ANY, Level::NoAuthNoPriv as u32),
            acc(b"all"),
        ),
    ];
    let views = vec![(
        view_key(b"all", &[1]),
        ViewRow {
            mask: Vec::new(),
            included: true,
            storage: Storage::Permanent,
            state: RowState::Active,
        },
    )];
    (groups, access, views)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vpn_core::security::*;
    use vpn_core::Storage;

    fn sec() -> Security {
        let mut s = Security::default();
        let active = RowState::Active;
        s.groups.insert(
            group_key(3, b"ro"),
            GroupRow {
                group: b"g".to_vec(),
                storage: Storage::Permanent,
                state: active,
            },
        );
        let acc = |read: &str, write: &str| AccessRow {
            exact: true,
            read: read.into(),
            write: write.into(),
            notify: vec![],
            storage: Storage::Permanent,
            state: active,
        };
        s.access.insert(access_key(b"g", b"", 0, 1), acc("all", ""));
        s.access
            .insert(access_key(b"g", b"", 3, 2), acc("vpn", "vpn"));
        let view = |mask: &[u8], included| ViewRow {
            mask: mask.to_vec(),
            included,
            storage: Storage::Permanent,
            state: active,
        };
        s.views.insert(view_key(b"all", &[1]), view(b"", true));
        s.views.insert(
            view_key(b"vpn", &[1, 3, 6, 1, 2, 1, 10, 166, 11]),
            view(b"", true),
        );
        s.views.insert(
            view_key(b"vpn", &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 3]),
            view(b"", false),
        );
        // ifEntry.*.7 with a wildcard column: 1.3.6.1.2.1.2.2.1.x.7
        s.views.insert(
            view_key(b"vpn", &[1, 3, 6, 1, 2, 1, 2, 2, 1, 0, 7]),
            view(&[0xff, 0xa0], true),
        );
        s
    }

    #[test]
    fn best_access_entry_and_views() {
        let s = sec();
        // noAuthNoPriv only matches the level-1 "any" row: read all, write nothing.
        let a = resolve(&s, 3, b"ro", Level::NoAuthNoPriv, b"").unwrap();
        assert!(a.can_read(&[1, 3, 6, 1, 2, 1, 1, 1, 0]));
        assert!(!a.can_write(&[1, 3, 6, 1, 2, 1, 1, 1, 0]));
        // authPriv prefers the model-3 row: only the VPN MIB, minus the RT table.
        let a = resolve(&s, 3, b"ro", Level::AuthPriv, b"").unwrap();
        assert!(!a.can_read(&[1, 3, 6, 1, 2, 1, 1, 1, 0]));
        assert!(a.can_read(&[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 2, 1, 3, 1, 97]));
        assert!(!a.can_read(&[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 3, 1, 4, 1, 97, 1, 1]));
        assert!(a.can_write(&[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 1, 4, 0]));
        // the mask makes sub-identifier 10 a wildcard
        assert!(a.can_read(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 7]));
        assert!(a.can_read(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 7]));
        assert!(!a.can_read(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 6]));
        assert_eq!(
            resolve(&s, 3, b"nobody", Level::AuthPriv, b"").unwrap_err(),
            Denied::NoGroupName
        );
        assert_eq!(
            resolve(&s, 3, b"ro", Level::AuthPriv, b"x").unwrap_err(),
            Denied::NoSuchContext
        );
        assert_eq!(
            resolve(&s, 2, b"ro", Level::AuthPriv, b"").unwrap_err(),
            Denied::NoGroupName
        );
    }

    #[test]
    fn own_key_change_only_for_oneself() {
        let mut s = sec();
        s.access.insert(
            access_key(b"g", b"", 3, 3),
            AccessRow {
                exact: true,
                read: b"all".to_vec(),
                write: b"all".to_vec(),
                notify: vec![],
                storage: Storage::Permanent,
                state: RowState::Active,
            },
        );
        let a = resolve(&s, 3, b"ro", Level::AuthPriv, b"").unwrap();
        let oid = |col: u32, name: &[u8]| {
            let mut o = USM_USER_ENTRY.to_vec();
            o.push(col);
            mib::index::key_to_oid(USER_INDEX, &user_key(b"\x80\x00\x00\x00\x01", name), &mut o);
            o
        };
        assert!(a.can_write(&oid(user_col::OWN_AUTH_KEY_CHANGE, b"ro")));
        assert!(!a.can_write(&oid(user_col::OWN_AUTH_KEY_CHANGE, b"other")));
        assert!(a.can_write(&oid(user_col::AUTH_KEY_CHANGE, b"other")));
    }
}
