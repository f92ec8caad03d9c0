//! Object identifiers and the roots this agent serves.

/// An object identifier as its sub-identifiers.
pub type Oid = Vec<u32>;

/// Longest OID the agent accepts or returns (RFC 2578 section 3.5).
pub const MAX_SUBIDS: usize = 128;

/// Enterprise root: RFC 5612's documentation number, until the project has its
/// own IANA number. The one constant sysObjectID and the extension MIB use.
pub const ENTERPRISE: &[u32] = &[1, 3, 6, 1, 4, 1, 32473];

/// sysObjectID of l3vpnd: enterprise.2 (products) .1 (l3vpnd).
pub fn sys_object_id() -> Oid {
    let mut o = ENTERPRISE.to_vec();
    o.extend_from_slice(&[2, 1]);
    o
}

/// Dotted text of an OID (no leading dot).
pub fn fmt(o: &[u32]) -> String {
    let mut s = String::with_capacity(o.len() * 3);
    for (i, x) in o.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        s.push_str(&x.to_string());
    }
    s
}

/// Concatenate a prefix and a suffix.
pub fn join(prefix: &[u32], suffix: &[u32]) -> Oid {
    let mut o = Vec::with_capacity(prefix.len() + suffix.len());
    o.extend_from_slice(prefix);
    o.extend_from_slice(suffix);
    o
}
