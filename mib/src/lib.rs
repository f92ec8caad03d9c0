//! The MIB object model of l3vpnd: the OID tree and its handlers, index <-> OID
//! codecs, SMI values, RowStatus/StorageType rules and SET validation.
//!
//! Modules served: SNMPv2-MIB (system and snmp groups), IF-MIB (read-only)
//! and MPLS-L3VPN-STD-MIB (RFC 4382). The MIB module files are in `mibs/`.

pub mod bgp;
pub mod error;
pub mod ext;
pub mod ifmib;
pub mod index;
pub mod l3vpn;
pub mod notify_mib;
pub mod oid;
pub mod rowstatus;
pub mod set;
pub mod snmpv3;
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
use vpn_core::fibview::{FibView, RouteDrops};
use vpn_core::ifaces::Interfaces;
use vpn_core::{Change, Config, Storage};

/// The whole object tree with the agent facts and counters it reports.
pub struct Mib {
    reg: Registry,
    pub info: AgentInfo,
    pub stats: Arc<SnmpStats>,
    /// StorageType of rows created without one (the MIB DEFVAL: volatile).
    pub default_storage: Storage,
    /// Routes refused at a VRF's maximum (mplsL3VpnVrfPerfRoutesDropped).
    pub drops: Arc<RouteDrops>,
    /// Illegal labels received per VRF (mplsL3VpnVrfSecIllegalLblVltns).
    pub illegal_labels: Arc<vpn_core::fibview::IllegalLabels>,
    /// The SNMPv3 engine's objects and tables (served when set).
    pub security: Option<Arc<snmpv3::SecState>>,
    /// The notification originator's tables and counters (served when set).
    pub notify: Option<Arc<notify_mib::NotifyState>>,
    /// The VRFs' BGP routes, so that MaxRoutes counts them when a SET
    /// activates a static route (unset: static rows only).
    pub bgp_routes: Option<Arc<arc_swap::ArcSwap<vpn_core::vpn::BgpRoutes>>>,
}

impl Mib {
    pub fn new(info: AgentInfo, stats: Arc<SnmpStats>, default_storage: Storage) -> Mib {
        let subtrees = Self::subtrees();
        Mib {
            reg: Registry::new(subtrees),
            info,
            stats,
            default_storage,
            drops: Arc::new(RouteDrops::default()),
            illegal_labels: Default::default(),
            security: None,
            notify: None,
            bgp_routes: None,
        }
    }

    fn subtrees() -> Vec<Box<dyn tree::Subtree>> {
        let mut subtrees = system::subtrees();
        subtrees.extend(ifmib::subtrees());
        subtrees.extend(l3vpn::subtrees());
        subtrees.extend(ext::subtrees());
        subtrees.extend(bgp::subtrees());
        subtrees
    }

    /// Also serve the SNMPv3 engine's objects (SNMP-FRAMEWORK-MIB snmpEngine,
    /// SNMP-MPD-MIB, SNMP-USER-BASED-SM-MIB, SNMP-VIEW-BASED-ACM-MIB) and take
    /// SETs of them ([`snmpv3`]).
    pub fn with_security(self, sec: Arc<snmpv3::SecState>) -> Mib {
        let mut subtrees = Self::subtrees();
        subtrees.extend(snmpv3::subtrees(&sec));
        if let Some(n) = &self.notify {
            subtrees.extend(notify_mib::subtrees(n));
        }
        Mib {
            reg: Registry::new(subtrees),
            security: Some(sec),
            ..self
        }
    }

    /// Also serve the notification originator's tables (SNMP-TARGET-MIB,
    /// SNMP-NOTIFICATION-MIB, L3VPND-MIB l3vpndNotifyStats) and take SETs of
    /// them ([`notify_mib`]).
    /// The VRFs' BGP routes, counted by MaxRoutes on SETs.
    pub fn with_bgp_routes(mut self, b: Arc<arc_swap::ArcSwap<vpn_core::vpn::BgpRoutes>>) -> Self {
        self.bgp_routes = Some(b);
        self
    }

    pub fn with_notify(self, n: Arc<notify_mib::NotifyState>) -> Mib {
        let mut subtrees = Self::subtrees();
        if let Some(sec) = &self.security {
            subtrees.extend(snmpv3::subtrees(sec));
        }
        subtrees.extend(notify_mib::subtrees(&n));
        Mib {
            reg: Registry::new(subtrees),
            notify: Some(n),
            ..self
        }
    }

    /// A varbind for the log: key material (KeyChange values) is not shown.
    pub fn log_varbind(oid: &[u32], v: &Value) -> String {
        if snmpv3::is_secret(oid) {
            format!("{}=(key change, not shown)", oid::fmt(oid))
        } else if oid.len() > bgp::PEER_ENTRY.len()
            && oid.starts_with(bgp::PEER_ENTRY)
            && oid[bgp::PEER_ENTRY.len()] == bgp::peer_col::MD5
        {
            // l3vpndBgpPeerMd5Password is write-only and never logged.
            format!("{}=(password, not shown)", oid::fmt(oid))
        } else {
            format!("{}={}", oid::fmt(oid), v)
        }
    }

    /// The read context for one PDU.
    pub fn view<'a>(
        &'a self,
        cfg: &'a Config,
        ifs: &'a Interfaces,
        fib: &'a FibView,
        peers: &'a vpn_core::bgpcfg::PeerStates,
        bgp: &'a vpn_core::vpn::BgpRoutes,
        now: u32,
    ) -> View<'a> {
        View {
            cfg,
            ifs,
            now,
            info: &self.info,
            stats: &self.stats,
            illegal_labels: &self.illegal_labels,
            peers,
            bgp,
            fib,
            drops: &self.drops,
        }
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
    pub fn set(
        &self,
        cfg: &Config,
        ifs: &Interfaces,
        vbs: &[(Oid, Value)],
    ) -> Result<Vec<Change>, SetError> {
        // A VRF's routes besides its static rows (BGP, connected): MaxRoutes
        // counts them all.
        let bgp = self.bgp_routes.as_ref().map(|b| b.load_full());
        let others = |v: &vpn_core::VrfKey| {
            let all = vpn_core::vpn::vrf_route_count(
                cfg,
                bgp.as_deref().unwrap_or(&Default::default()),
                Some(ifs),
                v,
            );
            all.saturating_sub(cfg.active_route_count(v))
        };
        if let Some(n) = self
            .notify
            .as_ref()
            .filter(|_| vbs.iter().any(|(o, _)| notify_mib::owns(o)))
        {
            // Notification objects go to notify_mib, the rest as below; the
            // failure of the lower varbind index wins.
            let (mine, rest): (Vec<usize>, Vec<usize>) =
                (0..vbs.len()).partition(|&i| notify_mib::owns(&vbs[i].0));
            let rest_vbs: Vec<(Oid, Value)> = rest.iter().map(|&i| vbs[i].clone()).collect();
            let a = if rest_vbs.is_empty() {
                Ok(Vec::new())
            } else {
                self.set(cfg, ifs, &rest_vbs).map_err(|e| SetError {
                    index: rest[(e.index as usize).max(1) - 1] as u32 + 1,
                    ..e
                })
            };
            let mine: Vec<(usize, &[u32], &Value)> = mine
                .iter()
                .map(|&i| (i + 1, vbs[i].0.as_slice(), &vbs[i].1))
                .collect();
            return match (a, notify_mib::build_changes(n, &mine)) {
                (Ok(mut a), Ok(b)) => {
                    a.extend(b);
                    Ok(a)
                }
                (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
                (Err(x), Err(y)) => Err(if x.index <= y.index { x } else { y }),
            };
        }
        let Some(sec) = self
            .security
            .as_ref()
            .filter(|_| vbs.iter().any(|(o, _)| snmpv3::owns(o)))
        else {
            return set::build_changes(cfg, ifs, vbs, self.default_storage, &self.drops, &others);
        };
        // SNMPv3 objects go to snmpv3, the rest to set; one list of changes,
        // and the failure of the lower varbind index wins.
        let (mine, rest): (Vec<usize>, Vec<usize>) =
            (0..vbs.len()).partition(|&i| snmpv3::owns(&vbs[i].0));
        let rest_vbs: Vec<(Oid, Value)> = rest.iter().map(|&i| vbs[i].clone()).collect();
        let a = if rest_vbs.is_empty() {
            Ok(Vec::new())
        } else {
            set::build_changes(
                cfg,
                ifs,
                &rest_vbs,
                self.default_storage,
                &self.drops,
                &others,
            )
            .map_err(|e| SetError {
                index: rest[(e.index as usize).max(1) - 1] as u32 + 1,
                ..e
            })
        };
        let mine: Vec<(usize, &[u32], &Value)> = mine
            .iter()
            .map(|&i| (i + 1, vbs[i].0.as_slice(), &vbs[i].1))
            .collect();
        let b = snmpv3::build_changes(sec, &mine);
        match (a, b) {
            (Ok(mut a), Ok(b)) => {
                a.extend(b);
                Ok(a)
            }
            (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
            (Err(x), Err(y)) => Err(if x.index <= y.index { x } else { y }),
        }
    }
}

#[cfg(test)]
mod tests;
