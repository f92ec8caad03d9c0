//! BGP: the speaker and peer objects of L3VPND-MIB (l3vpndBgp, read-create
//! peers) and RFC 4273 BGP4-MIB's bgpPeerTable, read-only, so NMS BGP
//! dashboards work.

use crate::index::Part;
use crate::tree::{Scalar, Subtree, Table, TableTree};
use crate::value::Value;
use crate::view::View;
use std::net::IpAddr;
use std::ops::Bound;
use vpn_core::bgpcfg::{PeerKey, PeerState};

pub const BGP: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 3];
pub const LOCAL_AS: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 3, 1];
pub const ROUTER_ID: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 3, 2];
pub const LISTEN_ADDR_TYPE: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 3, 3];
pub const LISTEN_ADDR: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 3, 4];
pub const LISTEN_PORT: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 3, 5];
pub const PEER_ENTRY: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 3, 10, 1];
pub const PEER_INDEX: &[Part] = &[
    Part::Octets {
        max: vpn_core::VRF_NAME_MAX,
    },
    Part::U32,
    Part::Octets { max: 16 },
];

/// l3vpndBgpPeerTable columns.
pub mod peer_col {
    pub const REMOTE_AS: u32 = 4;
    pub const FAMILIES: u32 = 5;
    pub const HOLD_TIME: u32 = 6;
    pub const KEEPALIVE: u32 = 7;
    pub const MD5: u32 = 8;
    pub const RR_CLIENT: u32 = 9;
    pub const ADMIN_STATUS: u32 = 10;
    pub const REMOTE_PORT: u32 = 11;
    pub const ROW_STATUS: u32 = 12;
    pub const STORAGE_TYPE: u32 = 13;
    pub const FSM_STATE: u32 = 14;
    pub const ESTABLISHED_TIME: u32 = 15;
    pub const LAST_ERROR_CODE: u32 = 16;
    pub const LAST_ERROR_SUBCODE: u32 = 17;
    pub const IN_MESSAGES: u32 = 18;
    pub const OUT_MESSAGES: u32 = 19;
    pub const RECEIVED_FIRST: u32 = 20;
    pub const ACCEPTED_FIRST: u32 = 24;
    pub const LAST: u32 = 27;
}

/// BGP4-MIB (RFC 4273).
pub const BGP4_VERSION: &[u32] = &[1, 3, 6, 1, 2, 1, 15, 1];
pub const BGP4_LOCAL_AS: &[u32] = &[1, 3, 6, 1, 2, 1, 15, 2];
pub const BGP4_PEER_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 15, 3, 1];
pub const BGP4_IDENTIFIER: &[u32] = &[1, 3, 6, 1, 2, 1, 15, 4];

/// RFC 6793 AS_TRANS: what a 2-octet field shows for a 4-octet AS.
const AS_TRANS: u32 = 23456;

pub fn subtrees() -> Vec<Box<dyn Subtree>> {
    vec![
        Box::new(Scalar {
            oid: LOCAL_AS,
            read: |v| Value::Gauge32(v.cfg.settings.bgp.asn),
        }),
        Box::new(Scalar {
            oid: ROUTER_ID,
            read: |v| Value::IpAddress(v.cfg.settings.bgp.router_id),
        }),
        Box::new(Scalar {
            oid: LISTEN_ADDR_TYPE,
            read: |v| {
                Value::Integer(match v.cfg.settings.bgp.listen.first() {
                    None => 0,
                    Some(a) if a.is_ipv4() => 1,
                    Some(_) => 2,
                })
            },
        }),
        Box::new(Scalar {
            oid: LISTEN_ADDR,
            read: |v| {
                Value::OctetString(match v.cfg.settings.bgp.listen.first().map(|a| a.ip()) {
                    None => vec![],
                    Some(IpAddr::V4(a)) => a.octets().to_vec(),
                    Some(IpAddr::V6(a)) => a.octets().to_vec(),
                })
            },
        }),
        Box::new(Scalar {
            oid: LISTEN_PORT,
            read: |v| {
                Value::Gauge32(
                    v.cfg
                        .settings
                        .bgp
                        .listen
                        .first()
                        .map_or(0, |a| a.port() as u32),
                )
            },
        }),
        Box::new(TableTree(PeerTable)),
        // BGP4-MIB: bgpVersion is a BITS-like octet string; version 4 = bit 3.
        Box::new(Scalar {
            oid: BGP4_VERSION,
            read: |_| Value::OctetString(vec![0x10]),
        }),
        Box::new(Scalar {
            oid: BGP4_LOCAL_AS,
            read: |v| {
                let a = v.cfg.settings.bgp.asn;
                Value::Integer(if a > 65535 { AS_TRANS as i32 } else { a as i32 })
            },
        }),
        Box::new(TableTree(Bgp4PeerTable)),
        Box::new(Scalar {
            oid: BGP4_IDENTIFIER,
            read: |v| Value::IpAddress(v.cfg.settings.bgp.router_id),
        }),
    ]
}

fn state<'a>(v: &'a View, k: &PeerKey) -> Option<&'a PeerState> {
    v.peers.peers.get(k)
}

struct PeerTable;

impl Table for PeerTable {
    fn entry(&self) -> &'static [u32] {
        PEER_ENTRY
    }
    fn columns(&self) -> &'static [u32] {
        &[
            4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
            27,
        ]
    }
    fn index(&self) -> &'static [Part] {
        PEER_INDEX
    }
    fn next_key(&self, v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>> {
        v.cfg
            .peers
            .range::<_, [u8]>((from, Bound::Unbounded))
            .next()
            .map(|(k, _)| k.as_bytes().to_vec())
    }
    fn cell(&self, v: &View, key: &[u8], col: u32) -> Option<Value> {
        use peer_col::*;
        let r = v.cfg.peers.get(key)?;
        let k = PeerKey::parse(key)?;
        let st = state(v, &k).cloned().unwrap_or_default();
        Some(match col {
            REMOTE_AS => Value::Gauge32(r.remote_as),
            FAMILIES => Value::OctetString(vec![r.families]),
            HOLD_TIME => Value::Gauge32(r.hold_time as u32),
            KEEPALIVE => Value::Gauge32(r.keepalive as u32),
            // Write-only: never returned.
            MD5 => Value::OctetString(Vec::new()),
            RR_CLIENT => Value::Integer(if r.rr_client { 1 } else { 2 }),
            ADMIN_STATUS => Value::Integer(if r.admin_up { 1 } else { 2 }),
            REMOTE_PORT => Value::Gauge32(r.remote_port as u32),
            ROW_STATUS => Value::Integer(r.state as i32),
            STORAGE_TYPE => Value::Integer(r.storage as i32),
            FSM_STATE => Value::Integer(st.fsm.max(1) as i32),
            ESTABLISHED_TIME => Value::Gauge32(st.established_secs),
            LAST_ERROR_CODE => Value::Gauge32(st.last_error.0 as u32),
            LAST_ERROR_SUBCODE => Value::Gauge32(st.last_error.1 as u32),
            IN_MESSAGES => Value::Counter32(st.in_messages),
            OUT_MESSAGES => Value::Counter32(st.out_messages),
            c @ RECEIVED_FIRST..=23 => Value::Gauge32(st.received[(c - RECEIVED_FIRST) as usize]),
            c @ ACCEPTED_FIRST..=LAST => Value::Gauge32(st.accepted[(c - ACCEPTED_FIRST) as usize]),
            _ => return None,
        })
    }
}

/// bgpPeerTable: IPv4 peers by address (the first in key order when CE peers
/// of several VRFs share an address, since the table is indexed by address
/// alone).
struct Bgp4PeerTable;

fn v4_peer(v: &View, addr: [u8; 4]) -> Option<PeerKey> {
    let ip = IpAddr::from(addr);
    v.cfg.peers.keys().find(|k| k.addr() == ip).cloned()
}

impl Table for Bgp4PeerTable {
    fn entry(&self) -> &'static [u32] {
        BGP4_PEER_ENTRY
    }
    fn columns(&self) -> &'static [u32] {
        &[
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
        ]
    }
    fn index(&self) -> &'static [Part] {
        &[Part::U32, Part::U32, Part::U32, Part::U32]
    }
    fn next_key(&self, v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>> {
        // Keys: the address as 4 sub-ids of 4 octets each (index codec form).
        let mut addrs: Vec<[u8; 4]> = v
            .cfg
            .peers
            .keys()
            .filter_map(|k| match k.addr() {
                IpAddr::V4(a) => Some(a.octets()),
                _ => None,
            })
            .collect();
        addrs.sort();
        addrs.dedup();
        addrs
            .into_iter()
            .map(|a| {
                a.iter()
                    .flat_map(|&o| (o as u32).to_be_bytes())
                    .collect::<Vec<u8>>()
            })
            .find(|k| match from {
                Bound::Included(b) => k.as_slice() >= b,
                Bound::Excluded(b) => k.as_slice() > b,
                Bound::Unbounded => true,
            })
    }
    fn cell(&self, v: &View, key: &[u8], col: u32) -> Option<Value> {
        if key.len() != 16 {
            return None;
        }
        let mut a = [0u8; 4];
        for (i, c) in key.chunks(4).enumerate() {
            a[i] = u8::try_from(u32::from_be_bytes(c.try_into().ok()?)).ok()?;
        }
        let k = v4_peer(v, a)?;
        let r = v.cfg.peers.get(&k)?;
        let st = state(v, &k).cloned().unwrap_or_default();
        let ip4 = |s: Option<std::net::SocketAddr>| match s.map(|s| s.ip()) {
            Some(IpAddr::V4(x)) => x.octets(),
            _ => [0; 4],
        };
        let two = |x: u32| Value::Integer(if x > 65535 { AS_TRANS as i32 } else { x as i32 });
        Some(match col {
            1 => Value::IpAddress(st.remote_router_id),
            2 => Value::Integer(st.fsm.max(1) as i32),
            3 => Value::Integer(if r.admin_up && r.state == vpn_core::RowState::Active {
                2
            } else {
                1
            }),
            4 => Value::Integer(st.negotiated_version as i32),
            5 => Value::IpAddress(ip4(st.local)),
            6 => Value::Integer(st.local.map_or(0, |s| s.port() as i32)),
            7 => Value::IpAddress(a),
            8 => Value::Integer(st.remote.map_or(r.remote_port as i32, |s| s.port() as i32)),
            9 => two(r.remote_as),
            10 => Value::Counter32(st.in_updates),
            11 => Value::Counter32(st.out_updates),
            12 => Value::Counter32(st.in_messages),
            13 => Value::Counter32(st.out_messages),
            14 => Value::OctetString(vec![st.last_error.0, st.last_error.1]),
            15 => Value::Counter32(st.established_transitions),
            16 => Value::Gauge32(st.established_secs),
            17 => Value::Integer(120),
            18 => Value::Integer(st.hold_time as i32),
            19 => Value::Integer(st.keepalive as i32),
            20 => Value::Integer(r.hold_time as i32),
            21 => Value::Integer(r.keepalive as i32),
            22 => Value::Integer(15),
            23 => Value::Integer(if r.remote_as == v.cfg.settings.bgp.asn {
                5
            } else {
                30
            }),
            24 => Value::Gauge32(st.in_update_elapsed),
            _ => return None,
        })
    }
}
