//! L3VPND-MIB (mibs/L3VPND-MIB.txt): what RFC 4382 lacks. Label ranges, FIB
//! backend and capabilities, the writable max-threshold re-issue time, and a
//! per-VRF extension (AUGMENTS mplsL3VpnVrfEntry): label mode, label, kernel
//! table, FIB status and the number of routes its FIB table holds.

use crate::index::Part;
use crate::tree::{Scalar, Subtree, Table, TableTree};
use crate::value::Value;
use crate::view::View;
use std::ops::Bound;
use vpn_core::config::label_owner_vrf;
use vpn_core::VrfKey;

/// l3vpndMIB = enterprises.32473.1
pub const EXT: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1];
pub const LABEL_STATIC_MIN: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 1];
pub const LABEL_STATIC_MAX: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 2];
pub const LABEL_DYNAMIC_MIN: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 3];
pub const LABEL_DYNAMIC_MAX: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 4];
pub const FIB_BACKEND: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 5];
pub const FIB_CAP_VRF_DEVICE: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 6];
pub const FIB_CAP_MPLS: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 7];
pub const FIB_CAP_IPV6: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 8];
pub const RTE_MX_THRSH_TIME: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 9];
pub const LABELS_ALLOCATED: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 10];
pub const VRF_EXT_ENTRY: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 2, 1];

/// l3vpndVrfTable columns.
pub mod vrf_ext_col {
    pub const LABEL_MODE: u32 = 1;
    pub const LABEL: u32 = 2;
    pub const TABLE_ID: u32 = 3;
    pub const FIB_STATUS: u32 = 4;
    pub const FIB_REASON: u32 = 5;
    pub const FIB_LAST_CHANGE: u32 = 6;
    /// l3vpndVrfFibRoutes: routes in the VRF's FIB table as applied by the
    /// reconciler (catch-all defaults included).
    pub const FIB_ROUTES: u32 = 7;
}

fn truth(b: bool) -> Value {
    Value::Integer(if b { 1 } else { 2 })
}

pub fn subtrees() -> Vec<Box<dyn Subtree>> {
    vec![
        Box::new(Scalar {
            oid: LABEL_STATIC_MIN,
            read: |v| Value::Gauge32(v.cfg.settings.label_space.static_range.lo),
        }),
        Box::new(Scalar {
            oid: LABEL_STATIC_MAX,
            read: |v| Value::Gauge32(v.cfg.settings.label_space.static_range.hi),
        }),
        Box::new(Scalar {
            oid: LABEL_DYNAMIC_MIN,
            read: |v| Value::Gauge32(v.cfg.settings.label_space.dynamic.lo),
        }),
        Box::new(Scalar {
            oid: LABEL_DYNAMIC_MAX,
            read: |v| Value::Gauge32(v.cfg.settings.label_space.dynamic.hi),
        }),
        Box::new(Scalar {
            oid: FIB_BACKEND,
            read: |v| Value::Integer(v.fib.backend as i32),
        }),
        Box::new(Scalar {
            oid: FIB_CAP_VRF_DEVICE,
            read: |v| truth(v.fib.caps.vrf_device),
        }),
        Box::new(Scalar {
            oid: FIB_CAP_MPLS,
            read: |v| truth(v.fib.caps.mpls),
        }),
        Box::new(Scalar {
            oid: FIB_CAP_IPV6,
            read: |v| truth(v.fib.caps.ipv6),
        }),
        Box::new(Scalar {
            oid: RTE_MX_THRSH_TIME,
            read: |v| Value::Gauge32(v.cfg.settings.rte_mx_thrsh_time),
        }),
        Box::new(Scalar {
            oid: LABELS_ALLOCATED,
            read: |v| Value::Gauge32(v.cfg.labels_allocated() as u32),
        }),
        Box::new(TableTree(VrfExtTable)),
    ]
}

struct VrfExtTable;

impl Table for VrfExtTable {
    fn entry(&self) -> &'static [u32] {
        VRF_EXT_ENTRY
    }
    fn columns(&self) -> &'static [u32] {
        &[1, 2, 3, 4, 5, 6, 7]
    }
    fn index(&self) -> &'static [Part] {
        crate::l3vpn::VRF_INDEX
    }
    fn next_key(&self, v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>> {
        v.cfg
            .vrfs
            .range::<_, [u8]>((from, Bound::Unbounded))
            .next()
            .map(|(k, _)| k.as_bytes().to_vec())
    }
    fn cell(&self, v: &View, key: &[u8], col: u32) -> Option<Value> {
        use vrf_ext_col::*;
        let row = v.cfg.vrfs.get(key)?;
        let k = VrfKey::from_bytes(key)?;
        Some(match col {
            LABEL_MODE => Value::Integer(row.label_mode as i32),
            LABEL => Value::Gauge32(v.cfg.label(&label_owner_vrf(&k)).unwrap_or(0)),
            TABLE_ID => Value::Gauge32(row.table_id),
            FIB_STATUS => Value::Integer(v.fib.vrf(&k).status as i32),
            FIB_REASON => Value::OctetString(v.fib.vrf(&k).reason.into_bytes()),
            FIB_LAST_CHANGE => Value::TimeTicks(v.fib.vrf(&k).last_change),
            FIB_ROUTES => Value::Gauge32(v.fib.vrf(&k).routes),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AgentInfo, Mib, SnmpStats, VarResult};
    use std::sync::Arc;
    use vpn_core::config::{Change, Config, RowState, Storage, VrfRow};
    use vpn_core::fibview::{Backend, FibStatus, FibView, VrfFibState};

    #[test]
    fn fib_routes_column_serves_the_published_count() {
        let m = Mib::new(
            AgentInfo {
                sys_descr: "t".into(),
                default_sys_name: "h".into(),
            },
            Arc::new(SnmpStats::default()),
            Storage::Volatile,
        );
        let (red, blue) = (VrfKey::new(b"red").unwrap(), VrfKey::new(b"blue").unwrap());
        let mut row = VrfRow::new(Storage::Volatile);
        row.state = RowState::Active;
        let (cfg, _) = Config::default().apply(
            &[
                Change::PutVrf(red.clone(), row.clone()),
                Change::PutVrf(blue, row),
            ],
            1,
        );
        let mut fib = FibView::new(Backend::Shadow, Default::default());
        fib.vrfs.insert(
            red,
            VrfFibState {
                status: FibStatus::Installed,
                reason: String::new(),
                last_change: 5,
                routes: 1_000_002,
            },
        );
        let (i, p, b) = (Default::default(), Default::default(), Default::default());
        let v = m.view(&cfg, &i, &fib, &p, &b, 10);
        let oid = |col: u32, name: &str| {
            let mut o = VRF_EXT_ENTRY.to_vec();
            o.push(col);
            o.push(name.len() as u32);
            o.extend(name.bytes().map(u32::from));
            o
        };
        use vrf_ext_col::*;
        assert_eq!(
            m.get(&v, &oid(FIB_ROUTES, "red")),
            VarResult::Value(Value::Gauge32(1_000_002))
        );
        // a VRF the reconciler has published nothing for yet
        assert_eq!(
            m.get(&v, &oid(FIB_ROUTES, "blue")),
            VarResult::Value(Value::Gauge32(0))
        );
        assert_eq!(
            m.get(&v, &oid(FIB_ROUTES, "green")),
            VarResult::NoSuchInstance
        );
        assert_eq!(
            m.get(&v, &oid(FIB_ROUTES + 1, "red")),
            VarResult::NoSuchObject
        );
    }
}
