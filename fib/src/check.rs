//! What every backend checks before it touches anything, and how an
//! operation is named in an error. Both backends reject the same operations
//! the same way, so the reconciler sees the same result from the shadow model
//! as from the kernel.

use crate::{FibError, FibOp, Labels, NextHop};

/// Largest MPLS label value (20 bits, RFC 3032 section 2.1).
pub(crate) const MAX_LABEL: u32 = (1 << 20) - 1;
/// The reason a stack deeper than [`Labels::CAPACITY`] is refused names it.
const _: () = assert!(Labels::CAPACITY == 3);
/// Labels 0-15 are reserved (RFC 3032 section 2.1); an ILM may not use them.
pub(crate) const FIRST_UNRESERVED_LABEL: u32 = 16;

/// Table ids the kernel gives a meaning of its own: 0 (unspecified, which
/// the kernel reads as main), 253 (default), 254 (main), 255 (local).
pub(crate) fn reserved_table(table: u32) -> bool {
    matches!(table, 0 | 253..=255)
}

/// The operation as it appears in an error: kind and key.
pub(crate) fn describe(op: &FibOp) -> String {
    match op {
        FibOp::PutVrf(v) => format!("PutVrf table {} ({})", v.table, v.name),
        FibOp::DelVrf { table } => format!("DelVrf table {table}"),
        FibOp::PutRoute(r) => format!("PutRoute table {} {}", r.table, r.prefix),
        FibOp::DelRoute { table, prefix } => format!("DelRoute table {table} {prefix}"),
        FibOp::PutIlm(i) => format!("PutIlm label {}", i.label),
        FibOp::DelIlm { label } => format!("DelIlm label {label}"),
    }
}

/// Rejects an operation no kernel should be sent (see [`FibError::Invalid`]).
pub(crate) fn validate(op: &FibOp) -> Result<(), FibError> {
    let invalid = |reason| {
        Err(FibError::Invalid {
            op: describe(op),
            reason,
        })
    };
    let table_ok = |table: u32| !reserved_table(table);
    match op {
        FibOp::PutVrf(v) => {
            if !table_ok(v.table) {
                return invalid("reserved table id (0, 253, 254 or 255)");
            }
            if v.interfaces.contains(&0) {
                return invalid("ifindex 0");
            }
        }
        // Deletes may name any table but 0 (which the kernel reads as main):
        // what they remove is only ever ours (our protocol), so strays of
        // ours in main or local can be cleaned up.
        FibOp::DelVrf { table } | FibOp::DelRoute { table, .. } => {
            if *table == 0 {
                return invalid("table 0 (unspecified)");
            }
            if let FibOp::DelRoute { prefix, .. } = op {
                if *prefix != prefix.trunc() {
                    return invalid("prefix has host bits set");
                }
            }
        }
        FibOp::PutRoute(r) => {
            if !table_ok(r.table) {
                return invalid("reserved table id (0, 253, 254 or 255)");
            }
            if r.prefix != r.prefix.trunc() {
                return invalid("prefix has host bits set");
            }
            if let NextHop::Via { addr, .. } = r.nexthop {
                if addr.is_ipv4() != r.prefix.addr().is_ipv4() {
                    return invalid("gateway of another address family");
                }
            }
            if let NextHop::Dev { ifindex: 0 } = r.nexthop {
                return invalid("ifindex 0");
            }
            if r.labels.iter().any(|l| *l > MAX_LABEL) {
                return invalid("label above 2^20-1");
            }
            if r.labels.is_truncated() {
                return invalid("label stack deeper than 3 labels");
            }
        }
        FibOp::PutIlm(i) => {
            if !(FIRST_UNRESERVED_LABEL..=MAX_LABEL).contains(&i.label) {
                return invalid("incoming label outside 16..=1048575");
            }
            if let mpls::IlmAction::PopLookup { table } = i.action {
                if !table_ok(table) {
                    return invalid("reserved table id (0, 253, 254 or 255)");
                }
            }
        }
        FibOp::DelIlm { label } => {
            if *label > MAX_LABEL {
                return invalid("label above 2^20-1");
            }
        }
    }
    Ok(())
}
