//! The MIB object model of l3vpnd: the OID tree and its handlers, index <-> OID
//! codecs, SMI values, RowStatus/StorageType rules and SET validation.
//!
//! Modules served: SNMPv2-MIB (system and snmp groups), IF-MIB (read-only)
//! and MPLS-L3VPN-STD-MIB (RFC 4382). The MIB module files are in `mibs/`.

pub mod error;
pub mod ifmib;
pub mod index;
pub mod l3vpn;
pub mod oid;
pub mod rowstatus;
pub mod set;
pub mod stats;
pub mod system;
pub mod tree;
pub mod value;
pub mod view;

pub use error::{ErrorStatus, SetError};
pub use oid::Oid;
pub use stats::SnmpStats;
pub use value::{Value, VarResult};
pub use view::{AgentInfo, View};

use std::sync::Arc;
use tree::Registry;
use vpn_core::ifaces::Interfaces;
use vpn_core::{Change, Config, Storage};

/// The whole object tree with the agent facts and counters it reports.
pub struct Mib {
    reg: Registry,
    pub info: AgentInfo,
    pub stats: Arc<SnmpStats>,
    /// StorageType of rows created without one (the MIB DEFVAL: volatile).
    pub default_storage: Storage,
}

impl Mib {
    pub fn new(info: AgentInfo, stats: Arc<SnmpStats>, default_storage: Storage) -> Mib {
        let mut subtrees = system::subtrees();
        subtrees.extend(ifmib::subtrees());
        subtrees.extend(l3vpn::subtrees());
        Mib { reg: Registry::new(subtrees), info, stats, default_storage }
    }

    /// The read context for one PDU.
    pub fn view<'a>(&'a self, cfg: &'a Config, ifs: &'a Interfaces, now: u32) -> View<'a> {
        View { cfg, ifs, now, info: &self.info, stats: &self.stats }
    }

    /// GET of one name.
    pub fn get(&self, v: &View, oid: &[u32]) -> VarResult {
        self.reg.get(v, oid)
    }

    /// GETNEXT of one name; `None` is endOfMibView.
    pub fn next(&self, v: &View, oid: &[u32]) -> Option<(Oid, Value)> {
        self.reg.next(v, oid)
    }

    /// Validate a SET against `cfg` and return the changes it makes.
    pub fn set(&self, cfg: &Config, ifs: &Interfaces, vbs: &[(Oid, Value)]) -> Result<Vec<Change>, SetError> {
        set::build_changes(cfg, ifs, vbs, self.default_storage)
    }
}

#[cfg(test)]
mod tests;
