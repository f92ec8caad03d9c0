//! The snmp group counters (RFC 3418), shared by the engine and the MIB.

use std::sync::atomic::{AtomicU32, Ordering};

#[derive(Default, Debug)]
pub struct SnmpStats {
    pub in_pkts: AtomicU32,
    pub out_pkts: AtomicU32,
    pub in_bad_versions: AtomicU32,
    pub in_bad_community_names: AtomicU32,
    pub in_bad_community_uses: AtomicU32,
    pub in_asn_parse_errs: AtomicU32,
    pub silent_drops: AtomicU32,
    pub proxy_drops: AtomicU32,
}

impl SnmpStats {
    pub fn inc(c: &AtomicU32) {
        c.fetch_add(1, Ordering::Relaxed);
    }
    pub fn read(c: &AtomicU32) -> u32 {
        c.load(Ordering::Relaxed)
    }
}
