//! SNMPv2-MIB (RFC 3418): the system group, sysORTable and the snmp group.

use crate::index::Part;
use crate::stats::SnmpStats;
use crate::tree::{Scalar, Subtree, Table, TableTree};
use crate::value::Value;
use crate::view::View;
use std::ops::Bound;

pub const SYSTEM: &[u32] = &[1, 3, 6, 1, 2, 1, 1];
pub const SYS_DESCR: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 1];
pub const SYS_OBJECT_ID: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 2];
pub const SYS_UP_TIME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3];
pub const SYS_CONTACT: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 4];
pub const SYS_NAME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 5];
pub const SYS_LOCATION: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 6];
pub const SYS_SERVICES: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 7];
pub const SYS_OR_LAST_CHANGE: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 8];
pub const SYS_OR_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 9, 1];
pub const SNMP_ENABLE_AUTHEN_TRAPS: &[u32] = &[1, 3, 6, 1, 2, 1, 11, 30];

/// Modules this agent implements, for sysORTable: (OID, description).
pub const MODULES: &[(&[u32], &str)] = &[
    (
        &[1, 3, 6, 1, 6, 3, 1],
        "SNMPv2-MIB: the MIB module for SNMP entities (RFC 3418)",
    ),
    (
        &[1, 3, 6, 1, 2, 1, 31],
        "IF-MIB: the interfaces MIB (RFC 2863), read-only",
    ),
    (
        &[1, 3, 6, 1, 2, 1, 10, 166, 11],
        "MPLS-L3VPN-STD-MIB: BGP/MPLS IP VPNs (RFC 4382), full compliance",
    ),
    (
        &[1, 3, 6, 1, 6, 3, 12],
        "SNMP-TARGET-MIB: notification targets and their parameters (RFC 3413)",
    ),
    (
        &[1, 3, 6, 1, 6, 3, 13],
        "SNMP-NOTIFICATION-MIB: notifications, tags and filters (RFC 3413)",
    ),
];

fn octets(b: &[u8]) -> Value {
    Value::OctetString(b.to_vec())
}

pub fn subtrees() -> Vec<Box<dyn Subtree>> {
    vec![
        Box::new(Scalar {
            oid: SYS_DESCR,
            read: |v| octets(v.info.sys_descr.as_bytes()),
        }),
        Box::new(Scalar {
            oid: SYS_OBJECT_ID,
            read: |_| Value::ObjectId(crate::oid::sys_object_id()),
        }),
        Box::new(Scalar {
            oid: SYS_UP_TIME,
            read: |v| Value::TimeTicks(v.now),
        }),
        Box::new(Scalar {
            oid: SYS_CONTACT,
            read: |v| octets(&v.cfg.settings.sys_contact),
        }),
        Box::new(Scalar {
            oid: SYS_NAME,
            read: |v| {
                let n = &v.cfg.settings.sys_name;
                if n.is_empty() {
                    octets(v.info.default_sys_name.as_bytes())
                } else {
                    octets(n)
                }
            },
        }),
        Box::new(Scalar {
            oid: SYS_LOCATION,
            read: |v| octets(&v.cfg.settings.sys_location),
        }),
        // A router: layer 3 (internet) = 2^(3-1).
        Box::new(Scalar {
            oid: SYS_SERVICES,
            read: |_| Value::Integer(4),
        }),
        Box::new(Scalar {
            oid: SYS_OR_LAST_CHANGE,
            read: |_| Value::TimeTicks(0),
        }),
        Box::new(TableTree(SysOrTable)),
        Box::new(Scalar {
            oid: &[1, 3, 6, 1, 2, 1, 11, 1],
            read: |v| Value::Counter32(SnmpStats::read(&v.stats.in_pkts)),
        }),
        Box::new(Scalar {
            oid: &[1, 3, 6, 1, 2, 1, 11, 3],
            read: |v| Value::Counter32(SnmpStats::read(&v.stats.in_bad_versions)),
        }),
        Box::new(Scalar {
            oid: &[1, 3, 6, 1, 2, 1, 11, 4],
            read: |v| Value::Counter32(SnmpStats::read(&v.stats.in_bad_community_names)),
        }),
        Box::new(Scalar {
            oid: &[1, 3, 6, 1, 2, 1, 11, 5],
            read: |v| Value::Counter32(SnmpStats::read(&v.stats.in_bad_community_uses)),
        }),
        Box::new(Scalar {
            oid: &[1, 3, 6, 1, 2, 1, 11, 6],
            read: |v| Value::Counter32(SnmpStats::read(&v.stats.in_asn_parse_errs)),
        }),
        Box::new(Scalar {
            oid: SNMP_ENABLE_AUTHEN_TRAPS,
            read: |v| {
                Value::Integer(if v.cfg.settings.enable_authen_traps {
                    1
                } else {
                    2
                })
            },
        }),
        Box::new(Scalar {
            oid: &[1, 3, 6, 1, 2, 1, 11, 31],
            read: |v| Value::Counter32(SnmpStats::read(&v.stats.silent_drops)),
        }),
        Box::new(Scalar {
            oid: &[1, 3, 6, 1, 2, 1, 11, 32],
            read: |v| Value::Counter32(SnmpStats::read(&v.stats.proxy_drops)),
        }),
    ]
}

/// sysORTable: one row per module in [`MODULES`], sysORIndex from 1.
struct SysOrTable;

impl Table for SysOrTable {
    fn entry(&self) -> &'static [u32] {
        SYS_OR_ENTRY
    }
    fn columns(&self) -> &'static [u32] {
        &[2, 3, 4]
    }
    fn index(&self) -> &'static [Part] {
        &[Part::U32]
    }
    fn next_key(&self, _v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>> {
        (1..=MODULES.len() as u32)
            .map(|i| i.to_be_bytes().to_vec())
            .find(|k| match from {
                Bound::Included(b) => k.as_slice() >= b,
                Bound::Excluded(b) => k.as_slice() > b,
                Bound::Unbounded => true,
            })
    }
    fn cell(&self, _v: &View, key: &[u8], col: u32) -> Option<Value> {
        let i = u32::from_be_bytes(key.try_into().ok()?) as usize;
        let (oid, descr) = MODULES.get(i.checked_sub(1)?)?;
        Some(match col {
            2 => Value::ObjectId(oid.to_vec()),
            3 => octets(descr.as_bytes()),
            4 => Value::TimeTicks(0),
            _ => return None,
        })
    }
}
