//! IF-MIB (RFC 2863), read-only: ifNumber, ifTable, ifXTable, from the live
//! interface view (ifIndex = kernel ifindex).

use crate::index::Part;
use crate::tree::{Scalar, Subtree, Table, TableTree};
use crate::value::Value;
use crate::view::View;
use std::ops::Bound;
use vpn_core::ifaces::IfInfo;

pub const IF_NUMBER: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 1];
pub const IF_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1];
pub const IFX_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1];

pub fn subtrees() -> Vec<Box<dyn Subtree>> {
    vec![
        Box::new(Scalar {
            oid: IF_NUMBER,
            read: |v| Value::Integer(v.ifs.by_index.len() as i32),
        }),
        Box::new(TableTree(IfTable)),
        Box::new(TableTree(IfXTable)),
    ]
}

fn next_if(v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>> {
    // Keys are 4-byte big-endian ifindexes; turn the byte bound into a u32 one.
    let lo = match from {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(b) => match bound_u32(b) {
            (Some(x), exact) => {
                if exact {
                    Bound::Included(x)
                } else {
                    Bound::Excluded(x)
                }
            }
            (None, _) => Bound::Unbounded,
        },
        Bound::Excluded(b) => match bound_u32(b) {
            (Some(x), _) => Bound::Excluded(x),
            (None, _) => Bound::Unbounded,
        },
    };
    v.ifs
        .by_index
        .range((lo, Bound::Unbounded))
        .next()
        .map(|(i, _)| i.to_be_bytes().to_vec())
}

/// A byte bound as a u32: the value of the first 4 octets (short ones padded
/// with zeros) and whether it was exactly 4 octets. A shorter, zero-padded
/// prefix is included; a longer one (a key followed by more) is past the key.
fn bound_u32(b: &[u8]) -> (Option<u32>, bool) {
    if b.is_empty() {
        return (None, true);
    }
    let mut x = [0u8; 4];
    let n = b.len().min(4);
    x[..n].copy_from_slice(&b[..n]);
    let v = u32::from_be_bytes(x);
    match b.len() {
        4 => (Some(v), true),
        l if l < 4 => (Some(v), true),
        _ => (Some(v), false),
    }
}

/// Whether linkUp/linkDown are sent for an interface: it is bound to a VRF
/// by an active mplsL3VpnIfConfEntry.
pub fn link_traps(v: &View, if_index: u32) -> bool {
    v.cfg.if_owner(if_index).is_some_and(|vrf| {
        v.cfg
            .ifconfs
            .get(&vpn_core::IfConfKey::new(vrf, if_index))
            .is_some_and(|b| b.state == vpn_core::RowState::Active)
    })
}

fn info<'a>(v: &'a View, key: &[u8]) -> Option<&'a IfInfo> {
    v.ifs.get(u32::from_be_bytes(key.try_into().ok()?))
}

/// IANAifType for a kernel ARPHRD_* link type.
pub fn if_type(link_type: u16) -> i32 {
    match link_type {
        1 => 6,                       // ARPHRD_ETHER -> ethernetCsmacd
        772 => 24,                    // ARPHRD_LOOPBACK -> softwareLoopback
        512 => 23,                    // ARPHRD_PPP -> ppp
        768 | 776 | 778 | 823 => 131, // IPIP, SIT, IPGRE, IP6GRE -> tunnel
        769 => 131,                   // ARPHRD_TUNNEL6
        32 => 199,                    // ARPHRD_INFINIBAND -> infiniband
        _ => 1,                       // other
    }
}

fn c32(x: u64) -> Value {
    Value::Counter32(x as u32)
}

struct IfTable;

impl Table for IfTable {
    fn entry(&self) -> &'static [u32] {
        IF_ENTRY
    }
    fn columns(&self) -> &'static [u32] {
        &[
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
        ]
    }
    fn index(&self) -> &'static [Part] {
        &[Part::U32]
    }
    fn next_key(&self, v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>> {
        next_if(v, from)
    }
    fn cell(&self, v: &View, key: &[u8], col: u32) -> Option<Value> {
        let i = info(v, key)?;
        let s = &i.stats;
        Some(match col {
            1 => Value::Integer(i.index as i32),
            2 => Value::OctetString(i.name.as_bytes().to_vec()),
            3 => Value::Integer(if_type(i.link_type)),
            4 => Value::Integer(i.mtu.min(i32::MAX as u32) as i32),
            5 => Value::Gauge32(i.speed_bps.min(u32::MAX as u64) as u32),
            6 => Value::OctetString(i.mac.clone()),
            7 => Value::Integer(if i.admin_up { 1 } else { 2 }),
            8 => Value::Integer(i.oper as i32),
            9 => Value::TimeTicks(i.last_change),
            10 => c32(s.rx_bytes),
            11 => c32(s.rx_packets.saturating_sub(s.rx_multicast)),
            12 => c32(s.rx_multicast),
            13 => c32(s.rx_dropped),
            14 => c32(s.rx_errors),
            15 => c32(0),
            16 => c32(s.tx_bytes),
            17 => c32(s.tx_packets),
            18 => c32(0),
            19 => c32(s.tx_dropped),
            20 => c32(s.tx_errors),
            21 => Value::Gauge32(0),
            22 => Value::ObjectId(vec![0, 0]),
            _ => return None,
        })
    }
}

struct IfXTable;

impl Table for IfXTable {
    fn entry(&self) -> &'static [u32] {
        IFX_ENTRY
    }
    fn columns(&self) -> &'static [u32] {
        &[
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
        ]
    }
    fn index(&self) -> &'static [Part] {
        &[Part::U32]
    }
    fn next_key(&self, v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>> {
        next_if(v, from)
    }
    fn cell(&self, v: &View, key: &[u8], col: u32) -> Option<Value> {
        let i = info(v, key)?;
        let s = &i.stats;
        let ucast_in = s.rx_packets.saturating_sub(s.rx_multicast);
        Some(match col {
            1 => Value::OctetString(i.name.as_bytes().to_vec()),
            2 => c32(s.rx_multicast),
            3..=5 => c32(0),
            6 => Value::Counter64(s.rx_bytes),
            7 => Value::Counter64(ucast_in),
            8 => Value::Counter64(s.rx_multicast),
            9 => Value::Counter64(0),
            10 => Value::Counter64(s.tx_bytes),
            11 => Value::Counter64(s.tx_packets),
            12 | 13 => Value::Counter64(0),
            // ifLinkUpDownTrapEnable: linkUp/linkDown are sent for the
            // interfaces bound to a VRF by an active binding (read-only).
            14 => Value::Integer(if link_traps(v, i.index) { 1 } else { 2 }),
            15 => Value::Gauge32((i.speed_bps / 1_000_000).min(u32::MAX as u64) as u32),
            16 => Value::Integer(if i.promiscuous { 1 } else { 2 }),
            17 => Value::Integer(if i.link_type == 1 && !i.mac.is_empty() {
                1
            } else {
                2
            }),
            18 => Value::OctetString(i.alias.as_bytes().to_vec()),
            19 => Value::TimeTicks(0),
            _ => return None,
        })
    }
}
