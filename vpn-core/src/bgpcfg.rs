//! BGP configuration rows: the speaker (local AS, router id, listen address)
//! and its peers, PE-PE (no VRF) or CE peers inside a VRF.

use crate::config::{RowState, RowTimes, Storage};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// Speaker-wide settings (0 AS = BGP off).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct BgpSettings {
    pub asn: u32,
    pub router_id: [u8; 4],
    pub listen: Vec<SocketAddr>,
}

/// Address families of a peer (bits of L3VPND-MIB l3vpndBgpPeerFamilies,
/// bit 0 the most significant bit of the first octet).
pub const FAM_IPV4_UNICAST: u8 = 0x80;
pub const FAM_IPV6_UNICAST: u8 = 0x40;
pub const FAM_VPNV4: u8 = 0x20;
pub const FAM_VPNV6: u8 = 0x10;
pub const FAM_ALL: u8 = 0xf0;

/// Key of a peer: VRF name (empty for a PE-PE peer), then the address as an
/// InetAddressType and length-prefixed octets.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Debug)]
pub struct PeerKey(Vec<u8>);

impl std::borrow::Borrow<[u8]> for PeerKey {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl PeerKey {
    /// `vrf`: empty, or a valid VRF name (checked by the caller with VrfKey).
    pub fn new(vrf: &[u8], addr: IpAddr) -> PeerKey {
        let mut k = vec![vrf.len() as u8];
        k.extend_from_slice(vrf);
        match addr {
            IpAddr::V4(a) => {
                k.extend_from_slice(&1u32.to_be_bytes());
                k.push(4);
                k.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                k.extend_from_slice(&2u32.to_be_bytes());
                k.push(16);
                k.extend_from_slice(&a.octets());
            }
        }
        PeerKey(k)
    }

    /// Check key bytes (from the index codec): VRF empty or valid, address
    /// type 1 with 4 octets or 2 with 16.
    pub fn parse(b: &[u8]) -> Option<PeerKey> {
        let n = *b.first()? as usize;
        let vrf = b.get(1..1 + n)?;
        if !vrf.is_empty() {
            crate::VrfKey::new(vrf)?;
        }
        let r = &b[1 + n..];
        let (t, r) = r.split_first_chunk::<4>()?;
        let (&l, a) = r.split_first()?;
        match (u32::from_be_bytes(*t), l, a.len()) {
            (1, 4, 4) | (2, 16, 16) => Some(PeerKey(b.to_vec())),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The VRF (None for a PE-PE peer).
    pub fn vrf(&self) -> Option<crate::VrfKey> {
        let n = self.0[0] as usize;
        if n == 0 {
            None
        } else {
            crate::VrfKey::from_bytes(&self.0[..1 + n])
        }
    }

    pub fn addr(&self) -> IpAddr {
        let n = self.0[0] as usize;
        let a = &self.0[1 + n + 5..];
        match a.len() {
            4 => IpAddr::from(<[u8; 4]>::try_from(a).expect("checked")),
            _ => IpAddr::from(<[u8; 16]>::try_from(a).expect("checked")),
        }
    }
}

/// A configured peer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRow {
    pub remote_as: u32,
    /// FAM_* bits.
    pub families: u8,
    pub hold_time: u16,
    pub keepalive: u16,
    /// TCP MD5 password (RFC 2385); never returned by a read, never logged.
    pub md5: Vec<u8>,
    pub rr_client: bool,
    pub admin_up: bool,
    pub remote_port: u16,
    pub state: RowState,
    pub storage: Storage,
    pub ever_active: bool,
    pub times: RowTimes,
}

impl std::fmt::Debug for PeerRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerRow")
            .field("remote_as", &self.remote_as)
            .field("families", &self.families)
            .field("hold_time", &self.hold_time)
            .field("keepalive", &self.keepalive)
            .field("md5", &if self.md5.is_empty() { "" } else { "(set)" })
            .field("rr_client", &self.rr_client)
            .field("admin_up", &self.admin_up)
            .field("remote_port", &self.remote_port)
            .field("state", &self.state)
            .field("storage", &self.storage)
            .finish()
    }
}

impl PeerRow {
    pub fn new(storage: Storage) -> PeerRow {
        PeerRow {
            remote_as: 0,
            families: 0,
            hold_time: 90,
            keepalive: 30,
            md5: Vec::new(),
            rr_client: false,
            admin_up: true,
            remote_port: 179,
            state: RowState::NotReady,
            storage,
            ever_active: false,
            times: RowTimes::default(),
        }
    }

    /// Whether the row has what a session needs (a remote AS and at least one
    /// family).
    pub fn complete(&self) -> bool {
        self.remote_as != 0 && self.families != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k = PeerKey::new(b"", "10.99.0.2".parse().unwrap());
        assert_eq!(k.vrf(), None);
        assert_eq!(k.addr(), "10.99.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(PeerKey::parse(k.as_bytes()), Some(k));
        let k6 = PeerKey::new(b"red", "2001:db8::1".parse().unwrap());
        assert_eq!(k6.vrf(), crate::VrfKey::new(b"red"));
        assert_eq!(PeerKey::parse(k6.as_bytes()), Some(k6.clone()));
        let mut bad = k6.as_bytes().to_vec();
        bad.pop();
        assert_eq!(PeerKey::parse(&bad), None);
        assert_eq!(
            PeerKey::parse(&PeerKey::new(b"a b", "10.0.0.1".parse().unwrap()).0),
            None
        );
    }
}

/// Live state of one peer, as management reads it (filled from the speaker).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct PeerState {
    /// RFC 4271 FSM state, BGP4-MIB values (1 idle .. 6 established).
    pub fsm: u32,
    pub established_secs: u32,
    pub last_error: (u8, u8),
    pub in_updates: u32,
    pub out_updates: u32,
    pub in_messages: u32,
    pub out_messages: u32,
    pub established_transitions: u32,
    pub hold_time: u16,
    pub keepalive: u16,
    pub remote_router_id: [u8; 4],
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    pub negotiated_version: u8,
    /// Received / accepted prefixes: ipv4 unicast, ipv6 unicast, vpnv4, vpnv6.
    pub received: [u32; 4],
    pub accepted: [u32; 4],
    /// Seconds since the last UPDATE was received (0: none yet).
    pub in_update_elapsed: u32,
}

/// Live state of every configured peer.
#[derive(Clone, Debug, Default)]
pub struct PeerStates {
    pub peers: imbl::OrdMap<PeerKey, PeerState>,
}
