//! Unit tests of reads and SET validation against an in-memory configuration.

use super::*;
use crate::ErrorStatus::*;
use std::sync::Arc;
use vpn_core::ifaces::{IfInfo, Interfaces, OperState};

const V: &[u32] = l3vpn::VRF_ENTRY;

fn mib() -> Mib {
    Mib::new(
        AgentInfo {
            sys_descr: "l3vpnd test".into(),
            default_sys_name: "host".into(),
        },
        Arc::new(SnmpStats::default()),
        Storage::Volatile,
    )
}

fn ifs() -> Interfaces {
    let mk = |index: u32, name: &str, up: bool| {
        Arc::new(IfInfo {
            mac: vec![0; 6],
            admin_up: up,
            ..IfInfo::fixture(
                index,
                name,
                if up { OperState::Up } else { OperState::Down },
            )
        })
    };
    let mut i = Interfaces::default();
    i.by_index.insert(1, mk(1, "lo", true));
    i.by_index.insert(2, mk(2, "eth0", true));
    i.by_index.insert(3, mk(3, "eth1", false));
    i
}

fn name(n: &str) -> Vec<u32> {
    let mut o = vec![n.len() as u32];
    o.extend(n.bytes().map(u32::from));
    o
}

fn col(entry: &[u32], c: u32, idx: &[u32]) -> Vec<u32> {
    let mut o = entry.to_vec();
    o.push(c);
    o.extend_from_slice(idx);
    o
}

fn s(x: &str) -> Value {
    Value::OctetString(x.as_bytes().to_vec())
}

fn apply(cfg: &Config, m: &Mib, vbs: &[(Oid, Value)]) -> Result<Config, SetError> {
    let ch = m.set(cfg, &ifs(), vbs)?;
    Ok(cfg.apply(&ch, 1).0)
}

fn fibv() -> vpn_core::fibview::FibView {
    vpn_core::fibview::FibView::new(
        vpn_core::fibview::Backend::Shadow,
        vpn_core::fib::Capabilities::default(),
    )
}

fn get(cfg: &Config, m: &Mib, oid: &[u32]) -> VarResult {
    let i = ifs();
    let f = fibv();
    let p = Default::default();
    let b = Default::default();
    let v = m.view(cfg, &i, &f, &p, &b, 10);
    m.get(&v, oid)
}

fn create_vrf(cfg: &Config, m: &Mib, n: &str, rd: &str) -> Config {
    apply(
        cfg,
        m,
        &[
            (col(V, 4, &name(n)), s(rd)),
            (col(V, 13, &name(n)), Value::Integer(4)),
        ],
    )
    .unwrap()
}

#[test]
fn create_and_go_defaults() {
    let m = mib();
    let c = create_vrf(&Config::default(), &m, "red", "65000:1");
    let red = name("red");
    assert_eq!(
        get(&c, &m, &col(V, 4, &red)),
        VarResult::Value(s("65000:1"))
    );
    assert_eq!(
        get(&c, &m, &col(V, 13, &red)),
        VarResult::Value(Value::Integer(1))
    );
    assert_eq!(
        get(&c, &m, &col(V, 14, &red)),
        VarResult::Value(Value::Integer(1))
    );
    assert_eq!(
        get(&c, &m, &col(V, 15, &red)),
        VarResult::Value(Value::Integer(2))
    );
    assert_eq!(
        get(&c, &m, &col(V, 6, &red)),
        VarResult::Value(Value::Integer(2))
    );
    assert_eq!(get(&c, &m, &col(V, 2, &red)), VarResult::Value(s("")));
    assert_eq!(get(&c, &m, &col(V, 1, &red)), VarResult::NoSuchObject);
    assert_eq!(
        get(&c, &m, &col(V, 4, &name("blue"))),
        VarResult::NoSuchInstance
    );
}

#[test]
fn set_errors_and_indexes() {
    let m = mib();
    let c = create_vrf(&Config::default(), &m, "red", "65000:1");
    let red = name("red");
    let blue = name("blue");
    let cases: Vec<(Vec<(Oid, Value)>, ErrorStatus, u32)> = vec![
        // read-only column and object
        (vec![(col(V, 6, &red), Value::Integer(1))], NotWritable, 1),
        (
            vec![(
                l3vpn::CONFIGURED_VRFS.iter().copied().chain([0]).collect(),
                Value::Gauge32(1),
            )],
            NotWritable,
            1,
        ),
        (
            vec![(vec![1, 3, 6, 1, 9, 9], Value::Integer(1))],
            NotWritable,
            1,
        ),
        // types, lengths, values
        (vec![(col(V, 13, &blue), s("x"))], WrongType, 1),
        (vec![(col(V, 9, &blue), Value::Integer(1))], WrongType, 1),
        (vec![(col(V, 2, &blue), s("abc"))], WrongLength, 1),
        (
            vec![(col(V, 4, &blue), Value::OctetString(vec![b'1'; 257]))],
            WrongLength,
            1,
        ),
        (vec![(col(V, 4, &blue), s("nonsense"))], WrongValue, 1),
        (vec![(col(V, 14, &blue), Value::Integer(4))], WrongValue, 1),
        (vec![(col(V, 15, &blue), Value::Integer(4))], WrongValue, 1),
        (vec![(col(V, 13, &blue), Value::Integer(3))], WrongValue, 1),
        (vec![(col(V, 13, &blue), Value::Integer(7))], WrongValue, 1),
        // bad index
        (
            vec![(col(V, 13, &name("a b")), Value::Integer(4))],
            NoCreation,
            1,
        ),
        (vec![(col(V, 13, &[0]), Value::Integer(4))], NoCreation, 1),
        (
            vec![(col(V, 13, &[3, 97, 98]), Value::Integer(4))],
            NoCreation,
            1,
        ),
        (
            vec![(col(V, 13, &name(&"x".repeat(32))), Value::Integer(4))],
            NoCreation,
            1,
        ),
        // RowStatus transitions
        (
            vec![(col(V, 13, &red), Value::Integer(4))],
            InconsistentValue,
            1,
        ),
        (
            vec![(col(V, 13, &red), Value::Integer(5))],
            InconsistentValue,
            1,
        ),
        (
            vec![(col(V, 13, &blue), Value::Integer(1))],
            InconsistentValue,
            1,
        ),
        (
            vec![(col(V, 13, &blue), Value::Integer(2))],
            InconsistentValue,
            1,
        ),
        (vec![(col(V, 3, &blue), s("d"))], InconsistentName, 1),
        // not modifiable while active
        (vec![(col(V, 4, &red), s("65000:2"))], InconsistentValue, 1),
        // duplicate RD, blamed on the RD varbind
        (
            vec![
                (col(V, 13, &blue), Value::Integer(4)),
                (col(V, 4, &blue), s("65000:1")),
            ],
            InconsistentValue,
            2,
        ),
        // thresholds out of order
        (
            vec![
                (col(V, 9, &blue), Value::Gauge32(10)),
                (col(V, 10, &blue), Value::Gauge32(5)),
                (col(V, 13, &blue), Value::Integer(4)),
            ],
            InconsistentValue,
            1,
        ),
        // the failing varbind's position is reported
        (
            vec![
                (col(V, 13, &blue), Value::Integer(4)),
                (col(V, 3, &blue), s("ok")),
                (col(V, 14, &blue), Value::Integer(9)),
            ],
            WrongValue,
            3,
        ),
        // interface bindings
        (
            vec![(
                col(l3vpn::IFCONF_ENTRY, 5, &[&blue[..], &[1]].concat()),
                Value::Integer(4),
            )],
            InconsistentName,
            1,
        ),
        (
            vec![(
                col(l3vpn::IFCONF_ENTRY, 5, &[&red[..], &[99]].concat()),
                Value::Integer(4),
            )],
            InconsistentName,
            1,
        ),
        (
            vec![(
                col(l3vpn::IFCONF_ENTRY, 5, &[&red[..], &[0]].concat()),
                Value::Integer(4),
            )],
            NoCreation,
            1,
        ),
        (
            vec![(
                col(l3vpn::RT_ENTRY, 6, &[&red[..], &[1, 4]].concat()),
                Value::Integer(4),
            )],
            NoCreation,
            1,
        ),
        (
            vec![(
                col(l3vpn::RT_ENTRY, 6, &[&red[..], &[0, 3]].concat()),
                Value::Integer(4),
            )],
            NoCreation,
            1,
        ),
        (
            vec![(
                col(l3vpn::RT_ENTRY, 6, &[&blue[..], &[1, 3]].concat()),
                Value::Integer(4),
            )],
            InconsistentName,
            1,
        ),
        (
            vec![(
                col(l3vpn::RT_ENTRY, 4, &[&red[..], &[1, 3]].concat()),
                s("1:2:3"),
            )],
            WrongValue,
            1,
        ),
        // scalars
        (
            vec![(vec![1, 3, 6, 1, 2, 1, 1, 4, 1], s("x"))],
            NoCreation,
            1,
        ),
        (
            vec![(vec![1, 3, 6, 1, 2, 1, 1, 4, 0], Value::Integer(1))],
            WrongType,
            1,
        ),
        (
            vec![(
                l3vpn::NOTIFICATION_ENABLE
                    .iter()
                    .copied()
                    .chain([0])
                    .collect(),
                Value::Integer(3),
            )],
            WrongValue,
            1,
        ),
    ];
    for (vbs, status, index) in cases {
        let got = m.set(&c, &ifs(), &vbs);
        assert_eq!(got, Err(SetError { status, index }), "{vbs:?}");
    }
}

#[test]
fn active_row_changes_with_not_in_service_in_same_pdu() {
    let m = mib();
    let c = create_vrf(&Config::default(), &m, "red", "65000:1");
    let red = name("red");
    let c = apply(
        &c,
        &m,
        &[
            (col(V, 4, &red), s("65000:2")),
            (col(V, 13, &red), Value::Integer(2)),
        ],
    )
    .unwrap();
    assert_eq!(
        get(&c, &m, &col(V, 4, &red)),
        VarResult::Value(s("65000:2"))
    );
    assert_eq!(
        get(&c, &m, &col(V, 13, &red)),
        VarResult::Value(Value::Integer(2))
    );
    // raw RD octets are accepted and read back as text
    let c = apply(
        &c,
        &m,
        &[(
            col(V, 4, &red),
            Value::OctetString(vec![0, 0, 0xfd, 0xe8, 0, 0, 0, 9]),
        )],
    )
    .unwrap();
    assert_eq!(
        get(&c, &m, &col(V, 4, &red)),
        VarResult::Value(s("65000:9"))
    );
    let c = apply(&c, &m, &[(col(V, 13, &red), Value::Integer(1))]).unwrap();
    assert_eq!(
        get(&c, &m, &col(V, 13, &red)),
        VarResult::Value(Value::Integer(1))
    );
}

#[test]
fn bindings_status_and_cascade() {
    let m = mib();
    let c = create_vrf(&Config::default(), &m, "red", "65000:1");
    let red = name("red");
    let b2: Vec<u32> = [&red[..], &[2]].concat();
    let b3: Vec<u32> = [&red[..], &[3]].concat();
    let c = apply(
        &c,
        &m,
        &[
            (col(l3vpn::IFCONF_ENTRY, 5, &b2), Value::Integer(4)),
            (col(l3vpn::IFCONF_ENTRY, 5, &b3), Value::Integer(4)),
            (
                col(l3vpn::RT_ENTRY, 4, &[&red[..], &[1, 3]].concat()),
                s("65000:100"),
            ),
            (
                col(l3vpn::RT_ENTRY, 6, &[&red[..], &[1, 3]].concat()),
                Value::Integer(4),
            ),
        ],
    )
    .unwrap();
    assert_eq!(
        get(&c, &m, &col(V, 6, &red)),
        VarResult::Value(Value::Integer(1))
    );
    assert_eq!(
        get(&c, &m, &col(V, 7, &red)),
        VarResult::Value(Value::Gauge32(1))
    );
    assert_eq!(
        get(&c, &m, &col(V, 8, &red)),
        VarResult::Value(Value::Gauge32(2))
    );
    assert_eq!(
        get(&c, &m, &[l3vpn::ACTIVE_VRFS, &[0]].concat()),
        VarResult::Value(Value::Gauge32(1))
    );
    assert_eq!(
        get(&c, &m, &col(l3vpn::IFCONF_ENTRY, 3, &b2)),
        VarResult::Value(Value::OctetString(vec![0x80]))
    );
    // an interface can be bound to one VRF only
    let c2 = create_vrf(&c, &m, "blue", "65000:2");
    let err = m.set(
        &c2,
        &ifs(),
        &[(
            col(l3vpn::IFCONF_ENTRY, 5, &[&name("blue")[..], &[2]].concat()),
            Value::Integer(4),
        )],
    );
    assert_eq!(
        err,
        Err(SetError {
            status: InconsistentValue,
            index: 1
        })
    );
    // admin down takes the VRF down
    let c3 = apply(&c, &m, &[(col(V, 14, &red), Value::Integer(2))]).unwrap();
    assert_eq!(
        get(&c3, &m, &col(V, 6, &red)),
        VarResult::Value(Value::Integer(2))
    );
    // destroy cascades
    let c4 = apply(&c, &m, &[(col(V, 13, &red), Value::Integer(6))]).unwrap();
    assert!(c4.vrfs.is_empty() && c4.ifconfs.is_empty() && c4.rts.is_empty());
}

#[test]
fn walk_order_and_getnext_equivalence() {
    let m = mib();
    let mut c = Config::default();
    for (i, n) in ["AA", "B", "red", "C"].iter().enumerate() {
        c = create_vrf(&c, &m, n, &format!("1:{i}"));
    }
    let i = ifs();
    let f = fibv();
    let p = Default::default();
    let b = Default::default();
    let v = m.view(&c, &i, &f, &p, &b, 1);
    let mut oid = vec![1, 3, 6, 1, 2, 1, 10, 166, 11];
    let mut rd_rows = Vec::new();
    let mut last = oid.clone();
    while let Some((o, val)) = m.next(&v, &oid) {
        assert!(o > last, "{o:?} after {last:?}");
        if !o.starts_with(l3vpn::MIB) {
            break;
        }
        if o.starts_with(&col(V, 4, &[])) {
            rd_rows.push((o[V.len() + 1..].to_vec(), val));
        }
        last = o.clone();
        oid = o;
    }
    let names: Vec<Vec<u32>> = rd_rows.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(names, vec![name("B"), name("C"), name("AA"), name("red")]);
    // GETNEXT from odd places lands on the right row
    let n = m.next(&v, &col(V, 4, &[1, 66, 300])).unwrap().0;
    assert_eq!(n, col(V, 4, &name("C")));
    let n = m.next(&v, &col(V, 4, &[200])).unwrap().0;
    assert_eq!(n, col(V, 5, &name("B")));
}
