//! Session behaviour between two of our speakers on loopback (no root):
//! collision detection when both connect at once (RFC 4271 section 6.8),
//! TCP MD5 (RFC 2385) matching and mismatching, the hold timer, and admin
//! shutdown.

mod common;

use bgp::{BgpCommand, BgpEvent, Family, FsmState, Path, PathAttrs, RouteKey};
use common::*;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Two speakers, A on 127.0.0.1 and B on 127.0.0.2, each configured to
/// connect to the other (passive false on both): they collide.
async fn pair(md5_a: Option<&str>, md5_b: Option<&str>) -> (Speaker, Speaker) {
    let (pa, pb) = (port(), port());
    let a_addr: SocketAddr = format!("127.0.0.1:{pa}").parse().unwrap();
    let b_addr: SocketAddr = format!("127.0.0.2:{pb}").parse().unwrap();
    let a = Speaker::start(65000, "10.0.0.1".parse().unwrap(), vec![a_addr]).await;
    let b = Speaker::start(65000, "10.0.0.2".parse().unwrap(), vec![b_addr]).await;
    let mut to_b = peer(1, b_addr.ip(), 65000, vec![Family::Vpnv4]);
    to_b.port = pb;
    to_b.md5_password = md5_a.map(str::to_string);
    let mut to_a = peer(1, a_addr.ip(), 65000, vec![Family::Vpnv4]);
    to_a.port = pa;
    to_a.md5_password = md5_b.map(str::to_string);
    a.send(BgpCommand::PutPeer(to_b)).await;
    b.send(BgpCommand::PutPeer(to_a)).await;
    (a, b)
}

#[test]
fn collision_leaves_one_session() {
    rt().block_on(async {
        let (a, mut b) = pair(None, None).await;
        // Both sides connect at once; collision resolution keeps one
        // connection. (When one side's connection reaches Established
        // before its twin's OPEN arrives, both may close and retry once,
        // as in other implementations: RFC 4271 section 6.8 leaves that
        // race open.)
        // Settled: both Established on the same TCP connection, and still
        // so 2 s later (a retry after a double close can take a few
        // seconds on a loaded machine: up to 30 s are allowed).
        let settled = || {
            let (Some(sa), Some(sb)) = (a.status.get(1), b.status.get(1)) else {
                return false;
            };
            sa.state == FsmState::Established
                && sb.state == FsmState::Established
                && sa.local_addr == sb.remote_addr
                && sa.remote_addr == sb.local_addr
        };
        for _ in 0..300 {
            if settled() {
                tokio::time::sleep(Duration::from_secs(2)).await;
                if settled() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for s in [&a, &b] {
            let st = s.status.get(1).unwrap();
            assert_eq!(st.state, FsmState::Established, "{st:?}");
            assert!((1..=2).contains(&st.established_transitions), "{st:?}");
        }
        let (sa, sb) = (a.status.get(1).unwrap(), b.status.get(1).unwrap());
        assert_eq!(sa.local_addr, sb.remote_addr, "one TCP connection");
        assert_eq!(sa.remote_addr, sb.local_addr, "one TCP connection");
        // The surviving session carries routes.
        let key = RouteKey::Vpn(rd0(65000, 1), "10.1.0.0/24".parse().unwrap());
        let path = Path {
            attrs: Arc::new(PathAttrs::default()),
            labels: bgp::Labels::one(99),
            from: None,
        };
        a.send(BgpCommand::Originate {
            rib: None,
            routes: vec![(key, path)],
        })
        .await;
        let e = b
            .wait_for("route over the session", 10, |e| {
                matches!(e, BgpEvent::Best { best: Some(_), .. })
            })
            .await;
        let BgpEvent::Best { best: Some(p), .. } = e else {
            unreachable!()
        };
        assert_eq!(p.labels, vec![99]);
        assert_eq!(p.attrs.next_hop, Some("127.0.0.1".parse().unwrap()));
        // Admin down on A: B hears Cease/Administrative Shutdown and drops
        // the route.
        let mut down = peer(1, "127.0.0.2".parse().unwrap(), 65000, vec![Family::Vpnv4]);
        down.port = 1;
        down.admin_up = false;
        a.send(BgpCommand::PutPeer(down)).await;
        b.wait_for("route gone", 10, |e| {
            matches!(e, BgpEvent::Best { best: None, .. })
        })
        .await;
        let st = b.status.get(1).unwrap();
        assert_eq!(st.last_error, (6, 2));
        for _ in 0..50 {
            if a.status.get(1).unwrap().state == FsmState::Idle {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(a.status.get(1).unwrap().state, FsmState::Idle);
    });
}

#[test]
fn md5_match_and_mismatch() {
    rt().block_on(async {
        let (mut a, mut b) = pair(Some("s3cret"), Some("s3cret")).await;
        a.established(1, 20).await;
        b.established(1, 20).await;
        a.send(BgpCommand::Shutdown).await;
        b.send(BgpCommand::Shutdown).await;
        let (a, b) = pair(Some("s3cret"), Some("other")).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        for s in [&a, &b] {
            let st = s.status.get(1).unwrap();
            assert_ne!(st.state, FsmState::Established);
            assert_eq!(st.established_transitions, 0);
        }
        let (a2, _b2) = pair(Some("s3cret"), None).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(a2.status.get(1).unwrap().established_transitions, 0);
    });
}

#[test]
fn hold_timer_expires() {
    use bgp::packet::open::{Capability, Open};
    use bgp::packet::{self, Message, SessionCtx};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    rt().block_on(async {
        let p = port();
        let addr: SocketAddr = format!("127.0.0.1:{p}").parse().unwrap();
        let mut s = Speaker::start(65000, "10.0.0.1".parse().unwrap(), vec![addr]).await;
        let mut cfg = peer(1, "127.0.0.4".parse().unwrap(), 65001, vec![Family::Vpnv4]);
        cfg.passive = true;
        cfg.hold_time = 3;
        cfg.keepalive = 1;
        s.send(BgpCommand::PutPeer(cfg)).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.4:0".parse().unwrap()).unwrap();
        let mut c = sock.connect(addr).await.unwrap();
        let open = Open {
            version: 4,
            my_as: 65001,
            hold_time: 3,
            bgp_id: [4, 4, 4, 4].into(),
            capabilities: vec![Capability::Multiprotocol { afi: 1, safi: 128 }],
            one_param: false,
        };
        c.write_all(&Message::Open(open).to_vec(&SessionCtx::default()))
            .await
            .unwrap();
        c.write_all(&packet::keepalive()).await.unwrap();
        s.established(1, 10).await;
        let t = std::time::Instant::now();
        // Say nothing more: the speaker's keepalives come every second and
        // after 3 s a Hold Timer Expired NOTIFICATION.
        let mut buf = Vec::new();
        let mut keepalives = 0;
        let notification = loop {
            let mut chunk = [0u8; 1024];
            let n = tokio::time::timeout(Duration::from_secs(10), c.read(&mut chunk))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "closed without NOTIFICATION");
            buf.extend_from_slice(&chunk[..n]);
            let mut found = None;
            while let Ok(Some(len)) = packet::frame(&buf) {
                match Message::parse(&buf[..len], &SessionCtx::default()).unwrap() {
                    Message::Keepalive => keepalives += 1,
                    Message::Notification(n) => found = Some(n),
                    _ => {}
                }
                buf.drain(..len);
            }
            if let Some(n) = found {
                break n;
            }
        };
        assert_eq!((notification.code, notification.subcode), (4, 0));
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_millis(2500) && waited < Duration::from_secs(6),
            "{waited:?}"
        );
        assert!(keepalives >= 2, "{keepalives} keepalives");
        assert_eq!(s.status.get(1).unwrap().last_error, (4, 0));
    });
}
