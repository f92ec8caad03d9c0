//! Routing information bases: the interned attribute store, compact route
//! tables, and best path selection. The Adj-RIBs-In are the paths of each
//! table tagged with their source peer (RFC 4271 section 3.2 allows any
//! layout that behaves the same); the Adj-RIBs-Out are computed from the
//! Loc-RIB when sending, never stored.

pub(crate) mod attrs;
pub(crate) mod best;
pub(crate) mod table;

use crate::RouteKey;
use ipnet::IpNet;
use table::{Table, V4Key, V6Key, Vpn4Key, Vpn6Key};

/// One RIB (the VPN RIB or a VRF's): a table per family.
#[derive(Default)]
pub(crate) struct Rib {
    pub v4: Table<V4Key>,
    pub v6: Table<V6Key>,
    pub vpn4: Table<Vpn4Key>,
    pub vpn6: Table<Vpn6Key>,
}

/// A key resolved to the table it belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum AnyKey {
    V4(V4Key),
    V6(V6Key),
    Vpn4(Vpn4Key),
    Vpn6(Vpn6Key),
}

impl From<&RouteKey> for AnyKey {
    fn from(k: &RouteKey) -> AnyKey {
        match *k {
            RouteKey::Unicast(IpNet::V4(n)) => AnyKey::V4(V4Key::new(n)),
            RouteKey::Unicast(IpNet::V6(n)) => AnyKey::V6(V6Key::new(n)),
            RouteKey::Vpn(rd, IpNet::V4(n)) => AnyKey::Vpn4(Vpn4Key::new(rd, n)),
            RouteKey::Vpn(rd, IpNet::V6(n)) => AnyKey::Vpn6(Vpn6Key::new(rd, n)),
        }
    }
}

/// Runs `$body` with `$t` bound to the table of `$key` in `$rib` and `$k` to
/// the key.
macro_rules! with_table {
    ($rib:expr, $key:expr, |$t:ident, $k:ident| $body:expr) => {
        match $key {
            $crate::rib::AnyKey::V4($k) => {
                let $t = &mut $rib.v4;
                $body
            }
            $crate::rib::AnyKey::V6($k) => {
                let $t = &mut $rib.v6;
                $body
            }
            $crate::rib::AnyKey::Vpn4($k) => {
                let $t = &mut $rib.vpn4;
                $body
            }
            $crate::rib::AnyKey::Vpn6($k) => {
                let $t = &mut $rib.vpn6;
                $body
            }
        }
    };
}
pub(crate) use with_table;

impl Rib {
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len() + self.vpn4.len() + self.vpn6.len()
    }

    pub fn heap_bytes(&self) -> usize {
        self.v4.heap_bytes()
            + self.v6.heap_bytes()
            + self.vpn4.heap_bytes()
            + self.vpn6.heap_bytes()
    }
}
