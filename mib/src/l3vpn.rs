//! MPLS-L3VPN-STD-MIB (RFC 4382): the read side of every object.
//! Writes are in [`crate::set`].

use crate::index::Part;
use crate::rowstatus::RowStatus;
use crate::tree::{Scalar, Subtree, Table, TableTree};
use crate::value::Value;
use crate::view::View;
use std::ops::Bound;
use vpn_core::connected::{self, Connected};
use vpn_core::state::{node_status, vrf_status};
use vpn_core::VrfKey;

pub const MIB: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11];
pub const SCALARS: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 1];
pub const CONFIGURED_VRFS: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 1, 1];
pub const ACTIVE_VRFS: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 1, 2];
pub const CONNECTED_INTERFACES: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 1, 3];
pub const NOTIFICATION_ENABLE: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 1, 4];
pub const MAX_POSS_RTS: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 1, 5];
pub const RTE_MX_THRSH_TIME: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 1, 6];
pub const ILL_LBL_RCV_THRSH: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 1, 7];
pub const IFCONF_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 1, 1];
pub const VRF_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 2, 1];
pub const RT_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 3, 1];
pub const SEC_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 6, 1];
pub const PERF_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 3, 1, 1];
pub const RTE_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 4, 1, 1];

pub const VRF_INDEX: &[Part] = &[Part::Octets {
    max: vpn_core::VRF_NAME_MAX,
}];
pub const IFCONF_INDEX: &[Part] = &[
    Part::Octets {
        max: vpn_core::VRF_NAME_MAX,
    },
    Part::U32,
];
pub const RT_INDEX: &[Part] = &[
    Part::Octets {
        max: vpn_core::VRF_NAME_MAX,
    },
    Part::U32,
    Part::U32,
];
pub const RTE_INDEX: &[Part] = &[
    Part::Octets {
        max: vpn_core::VRF_NAME_MAX,
    },
    Part::U32,
    Part::Octets { max: 255 },
    Part::U32,
    Part::Oid { max: 128 },
    Part::U32,
    Part::Octets { max: 255 },
];

/// VRF table columns.
pub mod vrf_col {
    pub const VPN_ID: u32 = 2;
    pub const DESCRIPTION: u32 = 3;
    pub const RD: u32 = 4;
    pub const CREATION_TIME: u32 = 5;
    pub const OPER_STATUS: u32 = 6;
    pub const ACTIVE_INTERFACES: u32 = 7;
    pub const ASSOCIATED_INTERFACES: u32 = 8;
    pub const MID_THRESH: u32 = 9;
    pub const HIGH_THRESH: u32 = 10;
    pub const MAX_ROUTES: u32 = 11;
    pub const LAST_CHANGED: u32 = 12;
    pub const ROW_STATUS: u32 = 13;
    pub const ADMIN_STATUS: u32 = 14;
    pub const STORAGE_TYPE: u32 = 15;
}

/// IfConf table columns.
pub mod ifconf_col {
    pub const CLASSIFICATION: u32 = 2;
    pub const ROUTE_DIST_PROTOCOL: u32 = 3;
    pub const STORAGE_TYPE: u32 = 4;
    pub const ROW_STATUS: u32 = 5;
}

/// RT table columns.
pub mod rt_col {
    pub const RT: u32 = 4;
    pub const DESCR: u32 = 5;
    pub const ROW_STATUS: u32 = 6;
    pub const STORAGE_TYPE: u32 = 7;
}

pub fn subtrees() -> Vec<Box<dyn Subtree>> {
    vec![
        Box::new(Scalar {
            oid: CONFIGURED_VRFS,
            read: |v| Value::Gauge32(v.cfg.vrfs.len() as u32),
        }),
        Box::new(Scalar {
            oid: ACTIVE_VRFS,
            read: |v| Value::Gauge32(node_status(v.cfg, v.ifs).active_vrfs),
        }),
        Box::new(Scalar {
            oid: CONNECTED_INTERFACES,
            read: |v| Value::Gauge32(node_status(v.cfg, v.ifs).connected_interfaces),
        }),
        Box::new(Scalar {
            oid: NOTIFICATION_ENABLE,
            read: |v| {
                Value::Integer(if v.cfg.settings.notification_enable {
                    1
                } else {
                    2
                })
            },
        }),
        // 0: the device cannot determine the absolute maximum (RFC 4382).
        Box::new(Scalar {
            oid: MAX_POSS_RTS,
            read: |_| Value::Gauge32(0),
        }),
        Box::new(Scalar {
            oid: RTE_MX_THRSH_TIME,
            read: |v| Value::Gauge32(v.cfg.settings.rte_mx_thrsh_time),
        }),
        Box::new(Scalar {
            oid: ILL_LBL_RCV_THRSH,
            read: |v| Value::Gauge32(v.cfg.settings.ill_lbl_thresh),
        }),
        Box::new(TableTree(IfConfTable)),
        Box::new(TableTree(VrfTable {
            entry: VRF_ENTRY,
            columns: &[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        })),
        Box::new(TableTree(RtTable)),
        Box::new(TableTree(VrfTable {
            entry: SEC_ENTRY,
            columns: &[1, 2],
        })),
        Box::new(TableTree(VrfTable {
            entry: PERF_ENTRY,
            columns: &[1, 2, 3, 4, 5],
        })),
        Box::new(TableTree(RteTable)),
    ]
}

fn next_in<K: Ord + std::borrow::Borrow<[u8]>, V: Clone>(
    map: &imbl::OrdMap<K, V>,
    from: Bound<&[u8]>,
) -> Option<Vec<u8>> {
    map.range::<_, [u8]>((from, Bound::Unbounded))
        .next()
        .map(|(k, _)| k.borrow().to_vec())
}

fn octets(b: &[u8]) -> Value {
    Value::OctetString(b.to_vec())
}

/// The text form of an optional RD/RT ("" when unset).
fn rd_text(rd: &Option<vpn_core::RouteDistinguisher>) -> Value {
    Value::OctetString(rd.map(|r| r.to_string()).unwrap_or_default().into_bytes())
}

/// mplsL3VpnVrfTable and the two tables that AUGMENT it (Sec, Perf): the same
/// rows, different columns.
struct VrfTable {
    entry: &'static [u32],
    columns: &'static [u32],
}

impl Table for VrfTable {
    fn entry(&self) -> &'static [u32] {
        self.entry
    }
    fn columns(&self) -> &'static [u32] {
        self.columns
    }
    fn index(&self) -> &'static [Part] {
        VRF_INDEX
    }
    fn next_key(&self, v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>> {
        next_in(&v.cfg.vrfs, from)
    }
    fn cell(&self, v: &View, key: &[u8], col: u32) -> Option<Value> {
        let row = v.cfg.vrfs.get(key)?;
        if self.entry == VRF_ENTRY {
            use vrf_col::*;
            Some(match col {
                VPN_ID => octets(&row.vpn_id),
                DESCRIPTION => octets(&row.description),
                RD => rd_text(&row.rd),
                CREATION_TIME => Value::TimeTicks(row.times.created),
                OPER_STATUS | ACTIVE_INTERFACES | ASSOCIATED_INTERFACES => {
                    let st = vrf_status(v.cfg, v.ifs, &VrfKey::from_bytes(key)?)?;
                    match col {
                        OPER_STATUS => Value::Integer(if st.oper_up { 1 } else { 2 }),
                        ACTIVE_INTERFACES => Value::Gauge32(st.active_interfaces),
                        _ => Value::Gauge32(st.associated_interfaces),
                    }
                }
                MID_THRESH => Value::Gauge32(row.mid_thresh),
                HIGH_THRESH => Value::Gauge32(row.high_thresh),
                MAX_ROUTES => Value::Gauge32(row.max_routes),
                LAST_CHANGED => Value::TimeTicks(row.times.last_changed),
                ROW_STATUS => Value::Integer(RowStatus::of(row.state)),
                ADMIN_STATUS => Value::Integer(row.admin as i32),
                STORAGE_TYPE => Value::Integer(row.storage as i32),
                _ => return None,
            })
        } else if self.entry == SEC_ENTRY {
            // Counted since the agent started or the VRF was created: no
            // discontinuity since, so the discontinuity time is 0.
            let k = VrfKey::from_bytes(key)?;
            Some(match col {
                1 => Value::Counter32(v.illegal_labels.get(&k, row.times.created)),
                2 => Value::TimeTicks(0),
                _ => return None,
            })
        } else {
            // Counters count from the agent's start (or the VRF's creation):
            // no discontinuity since, so PerfDiscTime is 0.
            let k = VrfKey::from_bytes(key)?;
            // Static routes (config) and BGP routes (imported, CE-learned);
            // the current count also has the connected routes (rows of
            // the route table: those no static row hides).
            let (sa, sd) = v.cfg.route_counters(&k);
            let (ba, bd) = v.bgp.counters(&k);
            let (added, deleted) = (sa.wrapping_add(ba), sd.wrapping_add(bd));
            Some(match col {
                1 => Value::Counter32(added),
                2 => Value::Counter32(deleted),
                3 => Value::Gauge32(vpn_core::vpn::vrf_route_count(
                    v.cfg,
                    v.bgp,
                    Some(v.ifs),
                    &k,
                )),
                4 => Value::Counter32(v.drops.get(&k, row.times.created)),
                5 => Value::TimeTicks(0),
                _ => return None,
            })
        }
    }
}

struct IfConfTable;

impl Table for IfConfTable {
    fn entry(&self) -> &'static [u32] {
        IFCONF_ENTRY
    }
    fn columns(&self) -> &'static [u32] {
        &[2, 3, 4, 5]
    }
    fn index(&self) -> &'static [Part] {
        IFCONF_INDEX
    }
    fn next_key(&self, v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>> {
        next_in(&v.cfg.ifconfs, from)
    }
    fn cell(&self, v: &View, key: &[u8], col: u32) -> Option<Value> {
        let row = v.cfg.ifconfs.get(key)?;
        use ifconf_col::*;
        Some(match col {
            CLASSIFICATION => Value::Integer(row.classification as i32),
            ROUTE_DIST_PROTOCOL => Value::OctetString(vec![row.route_dist]),
            STORAGE_TYPE => Value::Integer(row.storage as i32),
            ROW_STATUS => Value::Integer(RowStatus::of(row.state)),
            _ => return None,
        })
    }
}

struct RtTable;

impl Table for RtTable {
    fn entry(&self) -> &'static [u32] {
        RT_ENTRY
    }
    fn columns(&self) -> &'static [u32] {
        &[4, 5, 6, 7]
    }
    fn index(&self) -> &'static [Part] {
        RT_INDEX
    }
    fn next_key(&self, v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>> {
        next_in(&v.cfg.rts, from)
    }
    fn cell(&self, v: &View, key: &[u8], col: u32) -> Option<Value> {
        let row = v.cfg.rts.get(key)?;
        use rt_col::*;
        Some(match col {
            RT => rd_text(&row.rt),
            DESCR => octets(&row.description),
            ROW_STATUS => Value::Integer(RowStatus::of(row.state)),
            STORAGE_TYPE => Value::Integer(row.storage as i32),
            _ => return None,
        })
    }
}

/// Route table columns.
pub mod rte_col {
    pub const IF_INDEX: u32 = 7;
    pub const TYPE: u32 = 8;
    pub const PROTO: u32 = 9;
    pub const AGE: u32 = 10;
    pub const NEXT_HOP_AS: u32 = 11;
    pub const METRIC1: u32 = 12;
    pub const METRIC5: u32 = 16;
    pub const XC_POINTER: u32 = 17;
    pub const STATUS: u32 = 18;
}

/// IANAipRouteProtocol netmgmt(3): routes configured over SNMP.
pub const PROTO_NETMGMT: i32 = 3;

/// mplsL3VpnVrfRteTable: the routes of every VRF: static rows (config),
/// and read-only rows for BGP routes and connected routes (derived from the
/// interfaces, [`vpn_core::connected`]). Where a static row and a connected
/// route have the same index (policy {0 0}, no next hop), the static row is
/// the row.
struct RteTable;

impl Table for RteTable {
    fn entry(&self) -> &'static [u32] {
        RTE_ENTRY
    }
    fn columns(&self) -> &'static [u32] {
        &[7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    }
    fn index(&self) -> &'static [Part] {
        RTE_INDEX
    }
    /// Static rows (config), BGP rows and connected rows (read-only),
    /// merged in key order.
    fn next_key(&self, v: &View, from: Bound<&[u8]>) -> Option<Vec<u8>> {
        self.next_cell(v, from, 0).map(|(k, _)| k)
    }
    fn next_cell(
        &self,
        v: &View,
        from: Bound<&[u8]>,
        col: u32,
    ) -> Option<(Vec<u8>, Option<Value>)> {
        // The first key of each source; on equal keys the earlier source
        // is the row (a static row hides a connected route's).
        let a = v
            .cfg
            .routes
            .range::<_, [u8]>((from, Bound::Unbounded))
            .next()
            .map(|(k, r)| (k.as_bytes(), Row::Static(r)));
        // Other sources' keys matter only up to the first static one.
        let b = v.bgp.next_after(from, a.map(|x| x.0));
        let b = b.as_ref().map(|(k, r)| (k.as_bytes(), Row::Bgp(r)));
        // Connected keys matter only up to the first of the others.
        let upto = [a, b].into_iter().flatten().map(|x| x.0).min();
        let c = connected::next_after(v.cfg, v.ifs, from, upto);
        let c = c
            .as_ref()
            .map(|(k, _, r)| (k.as_bytes(), Row::Connected(r)));
        let (k, row) =
            [a, b, c]
                .into_iter()
                .flatten()
                .reduce(|best, x| if x.0 < best.0 { x } else { best })?;
        Some((k.to_vec(), row.cell(v, col)))
    }
    fn cell(&self, v: &View, key: &[u8], col: u32) -> Option<Value> {
        if let Some(r) = v.cfg.routes.get(key) {
            return static_cell(v, r, col);
        }
        if let Some(r) = v.bgp.by_key(key) {
            return bgp_cell(v, r, col);
        }
        connected_cell(v, &connected::by_key(v.cfg, v.ifs, key)?, col)
    }
}

/// A row of the route table, by where it comes from.
#[derive(Clone, Copy)]
enum Row<'a> {
    Static(&'a vpn_core::routes::RteRow),
    Bgp(&'a vpn_core::vpn::BgpRoute),
    Connected(&'a Connected),
}

impl Row<'_> {
    fn cell(&self, v: &View, col: u32) -> Option<Value> {
        match self {
            Row::Static(r) => static_cell(v, r, col),
            Row::Bgp(r) => bgp_cell(v, r, col),
            Row::Connected(r) => connected_cell(v, r, col),
        }
    }
}

/// A static route as a route-table row.
fn static_cell(v: &View, r: &vpn_core::routes::RteRow, col: u32) -> Option<Value> {
    use rte_col::*;
    Some(match col {
        IF_INDEX => Value::Integer(r.if_index as i32),
        TYPE => Value::Integer(r.rtype as i32),
        PROTO => Value::Integer(PROTO_NETMGMT),
        AGE => Value::Gauge32(v.now.wrapping_sub(r.times.last_changed) / 100),
        NEXT_HOP_AS => Value::Gauge32(r.next_hop_as),
        METRIC1..=METRIC5 => Value::Integer(r.metrics[(col - METRIC1) as usize]),
        // mplsXCTable is not served: no label stack (RFC 4382 0x00).
        XC_POINTER => Value::OctetString(vec![0]),
        STATUS => Value::Integer(RowStatus::of(r.state)),
        _ => return None,
    })
}

/// IANAipRouteProtocol bgp(14).
pub const PROTO_BGP: i32 = 14;

/// A BGP-learned route as a (read-only) route-table row.
fn bgp_cell(v: &View, r: &vpn_core::vpn::BgpRoute, col: u32) -> Option<Value> {
    use rte_col::*;
    let first_as = r.attrs.as_path.iter().find_map(|s| match s {
        vpn_core::bgp::AsSegment::Sequence(a) => a.first().copied(),
        vpn_core::bgp::AsSegment::Set(_) => None,
    });
    Some(match col {
        IF_INDEX => Value::Integer(0),
        TYPE => Value::Integer(vpn_core::routes::RteType::Remote as i32),
        PROTO => Value::Integer(PROTO_BGP),
        AGE => Value::Gauge32(v.now.wrapping_sub(r.updated) / 100),
        NEXT_HOP_AS => Value::Gauge32(match r.source {
            vpn_core::vpn::Source::Ce { peer_as, .. } => peer_as,
            vpn_core::vpn::Source::Imported { .. } => first_as.unwrap_or(0),
        }),
        METRIC1 => Value::Integer(r.attrs.med.map_or(-1, |m| m.min(i32::MAX as u32) as i32)),
        13..=METRIC5 => Value::Integer(-1),
        XC_POINTER => Value::OctetString(vec![0]),
        STATUS => Value::Integer(RowStatus::of(vpn_core::RowState::Active)),
        _ => return None,
    })
}

/// IANAipRouteProtocol local(2): routes of the router's own interfaces.
pub const PROTO_LOCAL: i32 = 2;

/// A connected route as a (read-only) route-table row (RFC 4292 semantics:
/// type local(3), proto local(2), the interface, no next hop, distance 0 as
/// Metric1, the other metrics unused).
fn connected_cell(v: &View, c: &Connected, col: u32) -> Option<Value> {
    use rte_col::*;
    Some(match col {
        IF_INDEX => Value::Integer(c.if_index.min(i32::MAX as u32) as i32),
        TYPE => Value::Integer(vpn_core::routes::RteType::Local as i32),
        PROTO => Value::Integer(PROTO_LOCAL),
        AGE => Value::Gauge32(v.now.wrapping_sub(c.since) / 100),
        NEXT_HOP_AS => Value::Gauge32(0),
        METRIC1 => Value::Integer(0),
        13..=METRIC5 => Value::Integer(-1),
        XC_POINTER => Value::OctetString(vec![0]),
        STATUS => Value::Integer(RowStatus::of(vpn_core::RowState::Active)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AgentInfo, ErrorStatus, Mib, SnmpStats};
    use std::sync::Arc;
    use vpn_core::ifaces::{IfAddr, IfInfo, Interfaces, OperState};
    use vpn_core::routes::{RteKey, RteRow, RteType};
    use vpn_core::{Change, Config, IfConfKey, IfConfRow, RowState, Storage, VrfRow};

    fn mib() -> Mib {
        Mib::new(
            AgentInfo {
                sys_descr: "t".into(),
                default_sys_name: "h".into(),
            },
            Arc::new(SnmpStats::default()),
            Storage::Volatile,
        )
    }

    fn red() -> VrfKey {
        VrfKey::new(b"red").unwrap()
    }

    /// VRF red (active, up) with ifindex 7 bound, a static row for
    /// 10.77.2.0/24 and one for 10.77.9.0/24 with a connected route's index.
    fn cfg() -> Config {
        let mut v = VrfRow::new(Storage::Volatile);
        v.state = RowState::Active;
        let mut b = IfConfRow::new(Storage::Volatile);
        b.state = RowState::Active;
        let stat = |p: &str| {
            let k = RteKey::new(&red(), p.parse().unwrap(), &[0, 0], None);
            let r = RteRow {
                state: RowState::Active,
                rtype: RteType::Blackhole,
                ..RteRow::default()
            };
            Change::PutRte(k, r)
        };
        Config::default()
            .apply(
                &[
                    Change::PutVrf(red(), v),
                    Change::PutIfConf(IfConfKey::new(&red(), 7), b),
                    stat("10.77.2.0/24"),
                    stat("10.77.9.0/24"),
                ],
                1,
            )
            .0
    }

    fn ifs() -> Interfaces {
        let link = IfInfo::fixture(7, "ce0", OperState::Up);
        let addr = |s: &str, since| IfAddr {
            addr: s.parse().unwrap(),
            peer: None,
            prefix_route: true,
            since,
        };
        Interfaces::from_list(vec![link]).with_addrs(
            7,
            vec![
                addr("10.77.1.1/24", 1000),
                addr("10.77.9.1/24", 0),
                addr("2001:db8:77::1/64", 0),
                addr("fe80::1/64", 0),
            ],
        )
    }

    /// Every route-table instance of red, as "column.dest/len = value".
    fn walk(m: &Mib, cfg: &Config, ifs: &Interfaces) -> Vec<String> {
        let f = vpn_core::fibview::FibView::new(
            vpn_core::fibview::Backend::Shadow,
            vpn_core::fib::Capabilities::default(),
        );
        let (p, b) = (Default::default(), Default::default());
        let v = m.view(cfg, ifs, &f, &p, &b, 3000);
        let mut out = Vec::new();
        let mut oid = RTE_ENTRY.to_vec();
        while let Some((o, val)) = m.next(&v, &oid) {
            if !o.starts_with(RTE_ENTRY) {
                break;
            }
            let col = o[RTE_ENTRY.len()];
            let key = crate::index::oid_to_key(RTE_INDEX, &o[RTE_ENTRY.len() + 1..]).unwrap();
            let idx = RteKey::parse(&key).unwrap().1;
            assert_eq!((idx.policy.as_slice(), idx.next_hop), (&[0, 0][..], None));
            out.push(format!("{col}.{} = {val:?}", idx.prefix));
            oid = o;
        }
        out
    }

    #[test]
    fn connected_routes_are_read_only_rows() {
        let m = mib();
        let (cfg, ifs) = (cfg(), ifs());
        let rows = walk(&m, &cfg, &ifs);
        // Column 9 (Proto): local(2) for connected rows, netmgmt(3) for the
        // static ones; 10.77.9.0/24 is the static row (same index).
        let proto: Vec<&String> = rows.iter().filter(|r| r.starts_with("9.")).collect();
        assert_eq!(
            proto,
            [
                "9.10.77.1.0/24 = Integer(2)",
                "9.10.77.2.0/24 = Integer(3)",
                "9.10.77.9.0/24 = Integer(3)",
                "9.2001:db8:77::/64 = Integer(2)",
            ]
        );
        let conn: Vec<&str> = rows
            .iter()
            .filter(|r| r.contains(".10.77.1.0/24 "))
            .map(|s| s.as_str())
            .collect();
        assert_eq!(
            conn,
            [
                "7.10.77.1.0/24 = Integer(7)",
                "8.10.77.1.0/24 = Integer(3)",
                "9.10.77.1.0/24 = Integer(2)",
                "10.10.77.1.0/24 = Gauge32(20)",
                "11.10.77.1.0/24 = Gauge32(0)",
                "12.10.77.1.0/24 = Integer(0)",
                "13.10.77.1.0/24 = Integer(-1)",
                "14.10.77.1.0/24 = Integer(-1)",
                "15.10.77.1.0/24 = Integer(-1)",
                "16.10.77.1.0/24 = Integer(-1)",
                "17.10.77.1.0/24 = OctetString([0])",
                "18.10.77.1.0/24 = Integer(1)",
            ]
        );
        assert_eq!(rows.len(), 4 * 12);

        // CurrNumRoutes: 2 static rows + 2 connected rows (the third
        // connected route is the static row's index).
        let f = vpn_core::fibview::FibView::new(
            vpn_core::fibview::Backend::Shadow,
            vpn_core::fib::Capabilities::default(),
        );
        let (p, b) = (Default::default(), Default::default());
        let v = m.view(&cfg, &ifs, &f, &p, &b, 3000);
        let mut o = PERF_ENTRY.to_vec();
        o.push(3);
        crate::index::key_to_oid(VRF_INDEX, red().as_bytes(), &mut o);
        assert_eq!(
            m.get(&v, &o),
            crate::value::VarResult::Value(Value::Gauge32(4))
        );
        // A GET of a connected row; none for a link-local prefix.
        let cell = |p: &str, col: u32| {
            let mut o = RTE_ENTRY.to_vec();
            o.push(col);
            let k = RteKey::new(&red(), p.parse().unwrap(), &[0, 0], None);
            crate::index::key_to_oid(RTE_INDEX, k.as_bytes(), &mut o);
            (m.get(&v, &o), o)
        };
        assert_eq!(
            cell("2001:db8:77::/64", rte_col::IF_INDEX).0,
            crate::value::VarResult::Value(Value::Integer(7))
        );
        assert_eq!(
            cell("fe80::/64", rte_col::IF_INDEX).0,
            crate::value::VarResult::NoSuchInstance
        );

        // SET on a connected row: notWritable, as on a BGP row; the static
        // row with a connected route's index stays writable.
        let (_, status) = cell("10.77.1.0/24", rte_col::STATUS);
        let (_, metric) = cell("10.77.1.0/24", rte_col::METRIC1);
        for vbs in [
            vec![(status.clone(), Value::Integer(6))],
            vec![(status.clone(), Value::Integer(4))],
            vec![(metric.clone(), Value::Integer(5))],
        ] {
            let e = m.set(&cfg, &ifs, &vbs).unwrap_err();
            assert_eq!((e.status, e.index), (ErrorStatus::NotWritable, 1));
        }
        let e = m
            .set(
                &cfg,
                &ifs,
                &[
                    (
                        crate::oid::join(NOTIFICATION_ENABLE, &[0]),
                        Value::Integer(1),
                    ),
                    (metric, Value::Integer(5)),
                ],
            )
            .unwrap_err();
        assert_eq!((e.status, e.index), (ErrorStatus::NotWritable, 2));
        let (_, st9) = cell("10.77.9.0/24", rte_col::STATUS);
        let ch = m.set(&cfg, &ifs, &[(st9, Value::Integer(6))]).unwrap();
        let after = cfg.apply(&ch, 2).0;
        // Destroyed: the connected route is the row now.
        let rows = walk(&m, &after, &ifs);
        assert!(rows.contains(&"9.10.77.9.0/24 = Integer(2)".to_string()));
        // Link down: no connected rows.
        let mut down = ifs.clone();
        let mut l = (*down.by_index[&7]).clone();
        l.oper = OperState::Down;
        down.by_index.insert(7, Arc::new(l));
        let rows = walk(&m, &after, &down);
        assert_eq!(rows.len(), 12, "{rows:#?}");
    }
}
