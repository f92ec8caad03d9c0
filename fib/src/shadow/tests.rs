use std::net::IpAddr;

use mpls::{Ilm, IlmAction};

use super::*;
use crate::{Labels, NextHop, IPV6_DEFAULT_METRIC};

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn vrf(table: u32, interfaces: &[u32]) -> VrfFib {
    VrfFib {
        name: format!("vrf{table}"),
        table,
        interfaces: interfaces.to_vec(),
    }
}

fn route(table: u32, prefix: &str, nexthop: NextHop) -> Route {
    Route {
        table,
        prefix: net(prefix),
        nexthop,
        metric: 0,
        labels: Labels::new(),
    }
}

fn via(addr: &str, ifindex: u32) -> NextHop {
    NextHop::Via {
        addr: ip(addr),
        ifindex,
    }
}

fn all_ok(results: &[Result<(), FibError>]) {
    for (i, r) in results.iter().enumerate() {
        assert!(r.is_ok(), "op {i}: {r:?}");
    }
}

#[test]
fn load_returns_exactly_what_was_applied() {
    let mut fib = ShadowFib::new();
    let labelled = Route {
        labels: [16, 1048575].into(),
        metric: 20,
        ..route(100, "10.1.0.0/24", via("192.0.2.2", 3))
    };
    let ops = vec![
        FibOp::PutVrf(vrf(100, &[3, 4])),
        FibOp::PutVrf(vrf(200, &[])),
        FibOp::PutRoute(labelled.clone()),
        FibOp::PutRoute(route(100, "2001:db8::/32", via("2001:db8::2", 0))),
        FibOp::PutRoute(route(200, "0.0.0.0/0", NextHop::Blackhole)),
        FibOp::PutRoute(route(200, "::/0", NextHop::Reject)),
        FibOp::PutIlm(Ilm {
            label: 1000,
            action: IlmAction::PopLookup { table: 100 },
        }),
        FibOp::PutIlm(Ilm {
            label: 1001,
            action: IlmAction::PopForward {
                via: ip("192.0.2.2"),
                ifindex: 3,
            },
        }),
    ];
    all_ok(&fib.apply(&ops));
    let state = fib.load().unwrap();
    assert_eq!(state.vrfs, vec![vrf(100, &[3, 4]), vrf(200, &[])]);
    assert_eq!(state.routes.len(), 4);
    assert!(
        state.routes.contains(&labelled),
        "label stack kept: {state:?}"
    );
    // The model keeps metric 0 for IPv6; only the kernel turns it into 1024.
    let v6 = state
        .routes
        .iter()
        .find(|r| r.prefix == net("2001:db8::/32"))
        .unwrap();
    assert_eq!(v6.metric, 0);
    assert_eq!(state.ilm.len(), 2);
    assert_eq!(state, fib.state());
    assert_eq!(fib.route_count(), 4);
}

#[test]
fn put_replaces_the_object_with_the_same_key() {
    let mut fib = ShadowFib::new();
    all_ok(&fib.apply(&[
        FibOp::PutVrf(vrf(100, &[3, 4])),
        FibOp::PutRoute(route(100, "10.1.0.0/24", via("192.0.2.2", 3))),
        FibOp::PutIlm(Ilm {
            label: 1000,
            action: IlmAction::PopLookup { table: 100 },
        }),
    ]));
    let replacement = Route {
        metric: 7,
        ..route(100, "10.1.0.0/24", NextHop::Blackhole)
    };
    all_ok(&fib.apply(&[
        FibOp::PutVrf(vrf(100, &[4])),
        FibOp::PutRoute(replacement.clone()),
        FibOp::PutIlm(Ilm {
            label: 1000,
            action: IlmAction::PopLookup { table: 200 },
        }),
    ]));
    let s = fib.state();
    assert_eq!(s.vrfs, vec![vrf(100, &[4])]);
    assert_eq!(s.routes, vec![replacement]);
    assert_eq!(
        s.ilm,
        vec![Ilm {
            label: 1000,
            action: IlmAction::PopLookup { table: 200 }
        }]
    );
}

#[test]
fn del_vrf_removes_the_routes_of_its_table_only() {
    let mut fib = ShadowFib::new();
    all_ok(&fib.apply(&[
        FibOp::PutVrf(vrf(100, &[3])),
        FibOp::PutVrf(vrf(200, &[4])),
        FibOp::PutRoute(route(100, "10.1.0.0/24", via("192.0.2.2", 3))),
        FibOp::PutRoute(route(100, "2001:db8::/32", NextHop::Blackhole)),
        FibOp::PutRoute(route(200, "10.1.0.0/24", NextHop::Reject)),
    ]));
    all_ok(&fib.apply(&[FibOp::DelVrf { table: 100 }]));
    let s = fib.state();
    assert_eq!(s.vrfs, vec![vrf(200, &[4])]);
    assert_eq!(s.routes, vec![route(200, "10.1.0.0/24", NextHop::Reject)]);
}

#[test]
fn deleting_what_is_absent_succeeds() {
    let mut fib = ShadowFib::new();
    all_ok(&fib.apply(&[
        FibOp::DelVrf { table: 100 },
        FibOp::DelRoute {
            table: 100,
            prefix: net("10.0.0.0/8"),
        },
        FibOp::DelIlm { label: 100 },
    ]));
    assert_eq!(fib.state(), FibState::default());
}

#[test]
fn state_is_deterministic_whatever_the_order() {
    let ops = vec![
        FibOp::PutVrf(vrf(300, &[5])),
        FibOp::PutVrf(vrf(100, &[3])),
        FibOp::PutRoute(route(300, "10.9.0.0/16", NextHop::Blackhole)),
        FibOp::PutRoute(route(100, "2001:db8::/32", NextHop::Blackhole)),
        FibOp::PutRoute(route(100, "10.1.0.0/24", NextHop::Dev { ifindex: 3 })),
        FibOp::PutRoute(route(100, "10.0.0.0/8", NextHop::Reject)),
        FibOp::PutIlm(Ilm {
            label: 2000,
            action: IlmAction::PopLookup { table: 300 },
        }),
        FibOp::PutIlm(Ilm {
            label: 20,
            action: IlmAction::PopLookup { table: 100 },
        }),
    ];
    let mut a = ShadowFib::new();
    all_ok(&a.apply(&ops));
    let mut reversed = ops.clone();
    reversed.reverse();
    let mut b = ShadowFib::new();
    all_ok(&b.apply(&reversed));
    assert_eq!(a.state(), b.state());
    assert_eq!(a.to_string(), b.to_string());
    let s = a.state();
    let tables: Vec<u32> = s.routes.iter().map(|r| r.table).collect();
    assert_eq!(tables, vec![100, 100, 100, 300]);
    // IPv4 before IPv6, shorter before longer for the same address.
    assert_eq!(s.routes[0].prefix, net("10.0.0.0/8"));
    assert_eq!(s.routes[1].prefix, net("10.1.0.0/24"));
    assert_eq!(s.routes[2].prefix, net("2001:db8::/32"));
    assert_eq!(s.ilm[0].label, 20);
    // FibState::sort gives the same order to any permutation.
    let mut shuffled = s.clone();
    shuffled.routes.reverse();
    shuffled.vrfs.reverse();
    shuffled.ilm.reverse();
    shuffled.sort();
    assert_eq!(shuffled, s);
}

#[test]
fn display_prints_one_line_per_object() {
    let mut fib = ShadowFib::new();
    all_ok(&fib.apply(&[
        FibOp::PutVrf(VrfFib {
            name: "blue".into(),
            table: 100,
            interfaces: vec![3, 4],
        }),
        FibOp::PutRoute(Route {
            metric: 10,
            labels: [16, 17].into(),
            ..route(100, "10.1.0.0/24", via("192.0.2.2", 3))
        }),
        FibOp::PutRoute(route(100, "10.2.0.0/24", NextHop::Blackhole)),
        FibOp::PutRoute(Route {
            metric: 1024,
            ..route(100, "2001:db8::/32", NextHop::Reject)
        }),
        FibOp::PutRoute(route(100, "10.3.0.0/24", NextHop::Dev { ifindex: 4 })),
        FibOp::PutRoute(route(100, "10.4.0.0/24", via("192.0.2.3", 0))),
        FibOp::PutIlm(Ilm {
            label: 1000,
            action: IlmAction::PopLookup { table: 100 },
        }),
        FibOp::PutIlm(Ilm {
            label: 1001,
            action: IlmAction::PopForward {
                via: ip("192.0.2.2"),
                ifindex: 3,
            },
        }),
    ]));
    let expected = "\
vrf blue table 100 ifindex 3 ifindex 4
10.1.0.0/24 encap mpls 16/17 via 192.0.2.2 ifindex 3 table 100 metric 10
blackhole 10.2.0.0/24 table 100
10.3.0.0/24 ifindex 4 table 100
10.4.0.0/24 via 192.0.2.3 table 100
unreachable 2001:db8::/32 table 100 metric 1024
mpls 1000 pop lookup table 100
mpls 1001 pop via 192.0.2.2 ifindex 3
";
    assert_eq!(fib.to_string(), expected);
    assert_eq!(fib.state().to_string(), expected);
}

#[test]
fn capabilities_are_all_true() {
    let fib = ShadowFib::new();
    assert_eq!(
        fib.capabilities(),
        Capabilities {
            vrf_device: true,
            mpls: true,
            ipv6: true
        }
    );
}

#[test]
fn malformed_operations_are_refused_and_change_nothing() {
    let mut fib = ShadowFib::new();
    let bad = vec![
        FibOp::PutRoute(route(100, "10.1.1.1/24", NextHop::Blackhole)),
        FibOp::PutRoute(route(254, "10.1.0.0/24", NextHop::Blackhole)),
        FibOp::PutRoute(route(0, "10.1.0.0/24", NextHop::Blackhole)),
        FibOp::PutRoute(route(100, "10.1.0.0/24", via("2001:db8::1", 0))),
        FibOp::PutRoute(route(100, "10.1.0.0/24", NextHop::Dev { ifindex: 0 })),
        FibOp::PutRoute(Route {
            labels: [1 << 20].into(),
            ..route(100, "10.1.0.0/24", NextHop::Blackhole)
        }),
        FibOp::PutVrf(vrf(255, &[])),
        FibOp::PutVrf(vrf(100, &[0])),
        FibOp::PutIlm(Ilm {
            label: 15,
            action: IlmAction::PopLookup { table: 100 },
        }),
        FibOp::DelVrf { table: 0 },
    ];
    let results = fib.apply(&bad);
    for (op, r) in bad.iter().zip(&results) {
        assert!(
            matches!(r, Err(FibError::Invalid { .. })),
            "{op:?} -> {r:?}"
        );
    }
    assert_eq!(fib.state(), FibState::default());
    // One bad operation does not stop the others.
    let results = fib.apply(&[
        FibOp::PutRoute(route(100, "10.1.1.1/24", NextHop::Blackhole)),
        FibOp::PutRoute(route(100, "10.1.1.0/24", NextHop::Blackhole)),
    ]);
    assert!(results[0].is_err() && results[1].is_ok());
    assert_eq!(fib.route_count(), 1);
}

#[test]
fn is_installed_as_allows_what_the_kernel_fills_in() {
    let want = route(100, "10.1.0.0/24", via("192.0.2.2", 0));
    let got = route(100, "10.1.0.0/24", via("192.0.2.2", 3));
    assert!(want.is_installed_as(&got));
    assert!(!got.is_installed_as(&want), "a given interface must match");
    let want6 = route(100, "2001:db8::/32", NextHop::Blackhole);
    let got6 = Route {
        metric: IPV6_DEFAULT_METRIC,
        ..want6.clone()
    };
    assert!(want6.is_installed_as(&got6));
    let want4 = route(100, "10.1.0.0/24", NextHop::Blackhole);
    let got4 = Route {
        metric: IPV6_DEFAULT_METRIC,
        ..want4.clone()
    };
    assert!(!want4.is_installed_as(&got4), "IPv4 has a metric 0");
    let labelled = Route {
        labels: [16].into(),
        ..want.clone()
    };
    assert!(!labelled.is_installed_as(&got));
}

#[test]
fn a_batch_gives_what_its_operations_give_one_by_one() {
    // Puts into one table are merged; whatever comes between them (a delete
    // of the same prefix, a refused put, a VRF removal) keeps its place.
    let mut ops = vec![FibOp::PutVrf(vrf(100, &[3]))];
    for i in 0..40u32 {
        let p = format!("10.{}.0.0/16", i % 25);
        ops.push(FibOp::PutRoute(Route {
            metric: i,
            ..route(100 + i % 2, &p, NextHop::Blackhole)
        }));
        if i % 7 == 0 {
            ops.push(FibOp::DelRoute {
                table: 100,
                prefix: net(&p),
            });
        }
        if i == 20 {
            ops.push(FibOp::DelVrf { table: 101 });
            ops.push(FibOp::PutRoute(route(100, "10.1.1.1/16", NextHop::Reject)));
        }
    }
    let mut batched = ShadowFib::new();
    let results = batched.apply(&ops);
    let mut single = ShadowFib::new();
    for (op, r) in ops.iter().zip(&results) {
        assert_eq!(&single.apply(std::slice::from_ref(op))[0], r, "{op:?}");
    }
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
    assert_eq!(batched.state(), single.state());
    assert_eq!(batched.route_count(), single.state().routes.len());
    assert_eq!(
        batched.table_route_count(100),
        single
            .state()
            .routes
            .iter()
            .filter(|r| r.table == 100)
            .count()
    );
    assert_eq!(batched.table_route_count(7), 0);
}

#[test]
fn a_label_stack_deeper_than_held_is_refused() {
    let mut fib = ShadowFib::new();
    let deep = Route {
        labels: [16, 17, 18, 19].into(),
        ..route(100, "10.1.0.0/24", NextHop::Blackhole)
    };
    let three = Route {
        labels: [16, 17, 18].into(),
        ..route(100, "10.2.0.0/24", NextHop::Blackhole)
    };
    let r = fib.apply(&[FibOp::PutRoute(deep), FibOp::PutRoute(three.clone())]);
    assert!(matches!(r[0], Err(FibError::Invalid { .. })), "{r:?}");
    assert!(r[1].is_ok());
    assert_eq!(fib.state().routes, vec![three]);
}
