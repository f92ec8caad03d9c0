//! A scripted raw peer sends malformed UPDATEs; the speaker must answer as
//! RFC 7606 / RFC 4271 say (treat-as-withdraw, attribute discard, or the
//! exact NOTIFICATION) and the other session must not notice. Loopback only,
//! no root needed.

mod common;

use bgp::packet::open::{Capability, Open};
use bgp::packet::{self, Message, SessionCtx};
use bgp::{BgpCommand, BgpEvent, Family, FsmState, RouteKey};
use common::*;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

struct RawPeer {
    s: TcpStream,
    buf: Vec<u8>,
}

impl RawPeer {
    async fn connect(from: &str, to: SocketAddr) -> RawPeer {
        let sock = TcpSocket::new_v4().unwrap();
        sock.bind(format!("{from}:0").parse().unwrap()).unwrap();
        let s = sock.connect(to).await.expect("connect to speaker");
        RawPeer { s, buf: Vec::new() }
    }

    async fn send(&mut self, m: &[u8]) {
        self.s.write_all(m).await.unwrap();
    }

    /// The next message, or None when the speaker closed the connection.
    async fn recv(&mut self) -> Option<Message> {
        loop {
            if let Ok(Some(len)) = packet::frame(&self.buf) {
                let m = Message::parse(&self.buf[..len], &SessionCtx::default())
                    .expect("speaker sent garbage");
                self.buf.drain(..len);
                return Some(m);
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(10), self.s.read(&mut chunk))
                .await
                .ok()?
                .ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn notification(&mut self) -> (u8, u8, Vec<u8>) {
        loop {
            match self.recv().await {
                Some(Message::Notification(n)) => return (n.code, n.subcode, n.data),
                Some(_) => continue,
                None => panic!("closed without NOTIFICATION"),
            }
        }
    }

    /// OPEN exchange up to Established.
    async fn establish(from: &str, to: SocketAddr, id: [u8; 4]) -> RawPeer {
        let mut p = RawPeer::connect(from, to).await;
        let open = Open {
            version: 4,
            my_as: 65001,
            hold_time: 90,
            bgp_id: id.into(),
            capabilities: vec![
                Capability::Multiprotocol { afi: 1, safi: 128 },
                Capability::FourOctetAs(65001),
            ],
            one_param: false,
        };
        p.send(&Message::Open(open).to_vec(&SessionCtx::default()))
            .await;
        assert!(matches!(p.recv().await, Some(Message::Open(_))));
        assert!(matches!(p.recv().await, Some(Message::Keepalive)));
        p.send(&packet::keepalive()).await;
        p
    }
}

fn msg(t: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(t);
    m.extend_from_slice(body);
    m
}

/// An UPDATE with `attrs` (MP_REACH_NLRI included by the caller).
fn update(attrs: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0];
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend_from_slice(attrs);
    msg(2, &b)
}

/// MP_REACH_NLRI for VPNv4 10.9.0.0/24 RD 0:65001:1 label 42, next hop
/// 127.0.0.9, with next hop length `nhlen` (12 is right).
fn mp_reach(nhlen: u8) -> Vec<u8> {
    let mut v = vec![0, 1, 128, nhlen];
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&[127, 0, 0, 9]);
    v.push(0);
    v.extend_from_slice(&[112, 0, 0x02, 0xa1, 0, 0, 0xfd, 0xe9, 0, 0, 0, 1, 10, 9, 0]);
    let mut a = vec![0x80, 14, v.len() as u8];
    a.extend_from_slice(&v);
    a
}

const ORIGIN_IGP: [u8; 4] = [0x40, 1, 1, 0];
const ORIGIN_BAD: [u8; 4] = [0x40, 1, 1, 7];
const AS_PATH: [u8; 9] = [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9];

fn key() -> RouteKey {
    RouteKey::Vpn(rd0(65001, 1), "10.9.0.0/24".parse().unwrap())
}

#[test]
fn malformed_updates_rfc7606() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut s = Speaker::start(65000, "127.0.0.1".parse().unwrap(), vec![addr]).await;
        for (id, a) in [(1, "127.0.0.2"), (2, "127.0.0.3")] {
            let mut p = peer(id, a.parse::<IpAddr>().unwrap(), 65001, vec![Family::Vpnv4]);
            p.passive = true;
            s.send(BgpCommand::PutPeer(p)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut a = RawPeer::establish("127.0.0.2", addr, [2, 2, 2, 2]).await;
        s.established(1, 10).await;
        let mut b = RawPeer::establish("127.0.0.3", addr, [3, 3, 3, 3]).await;
        s.established(2, 10).await;

        // B announces a route that must survive everything A does.
        b.send(&update(&[&ORIGIN_IGP[..], &[0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9], &mp_reach(12)].concat())).await;
        s.wait_for("B's route", 10, |e| matches!(e, BgpEvent::Best { best: Some(p), .. } if p.from == Some(2))).await;

        // A: a good route, then the same with an undefined ORIGIN:
        // treat-as-withdraw (RFC 7606 section 7.1), session stays up.
        a.send(&update(&[&ORIGIN_IGP[..], &AS_PATH, &mp_reach(12)].concat())).await;
        accepted_becomes(&s, 1, 1, "A's route").await;
        a.send(&update(&[&ORIGIN_BAD[..], &AS_PATH, &mp_reach(12)].concat())).await;
        accepted_becomes(&s, 1, 0, "A's route treated as withdrawn").await;
        a.send(&packet::keepalive()).await;
        assert_eq!(s.status.get(1).unwrap().state, FsmState::Established);
        assert_eq!(s.status.get(1).unwrap().prefixes_accepted.iter().find(|(f, _)| *f == Family::Vpnv4).unwrap().1, 0);

        // Attribute discard: ATOMIC_AGGREGATE with a length (section 7.6);
        // the route is accepted.
        a.send(&update(&[&ORIGIN_IGP[..], &AS_PATH, &[0x40, 6, 1, 0], &mp_reach(12)].concat())).await;
        accepted_becomes(&s, 1, 1, "accepted despite a bad ATOMIC_AGGREGATE").await;

        // Unknown AFI/SAFI in MP_REACH_NLRI: ignored, session up.
        let mut odd = vec![0x80, 14, 9, 0, 25, 70, 4, 1, 1, 1, 1, 0];
        odd.extend_from_slice(&[]);
        a.send(&update(&[&ORIGIN_IGP[..], &AS_PATH, &odd].concat())).await;
        a.send(&packet::keepalive()).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(s.status.get(1).unwrap().state, FsmState::Established);

        // MP_REACH_NLRI next hop length 5 for VPNv4: session reset with
        // UPDATE Message Error / Optional Attribute Error (3/9), the data
        // being the attribute.
        let bad = mp_reach(5);
        a.send(&update(&[&ORIGIN_IGP[..], &AS_PATH, &bad].concat())).await;
        let (c, sc, data) = a.notification().await;
        assert_eq!((c, sc), (3, 9));
        assert_eq!(data, bad);
        assert!(a.recv().await.is_none(), "closed after the NOTIFICATION");
        // A's paths go (B's becomes best again), then A's state changes.
        s.wait_for("A's route withdrawn", 10, |e| matches!(e, BgpEvent::Best { key: k, best: Some(p), .. } if *k == key() && p.from == Some(2))).await;
        s.wait_for("A down", 10, |e| matches!(e, BgpEvent::PeerState { id: 1, old: FsmState::Established, .. })).await;
        assert_eq!(s.status.get(1).unwrap().last_error, (3, 9));

        // A again: a header with a bad length (1/2, data = the length).
        let mut a = RawPeer::establish("127.0.0.2", addr, [2, 2, 2, 2]).await;
        s.established(1, 10).await;
        let mut m = packet::keepalive().to_vec();
        m[17] = 18;
        a.send(&m).await;
        assert_eq!(a.notification().await, (1, 2, vec![0, 18]));

        // A again: withdrawn routes length beyond the message (3/1).
        let mut a = RawPeer::establish("127.0.0.2", addr, [2, 2, 2, 2]).await;
        s.established(1, 10).await;
        a.send(&msg(2, &[0, 50, 0, 0])).await;
        assert_eq!(a.notification().await, (3, 1, vec![]));

        // A again: an unrecognized well-known attribute (3/2, data = it).
        let mut a = RawPeer::establish("127.0.0.2", addr, [2, 2, 2, 2]).await;
        s.established(1, 10).await;
        a.send(&update(&[&ORIGIN_IGP[..], &AS_PATH, &[0x40, 99, 1, 5], &mp_reach(12)].concat())).await;
        assert_eq!(a.notification().await, (3, 2, vec![0x40, 99, 1, 5]));

        // A wrong peer AS in OPEN: 2/2 with the 2-octet AS as data.
        let mut c = RawPeer::connect("127.0.0.2", addr).await;
        let open = Open { version: 4, my_as: 65099, hold_time: 90, bgp_id: [2, 2, 2, 2].into(), capabilities: vec![], one_param: false };
        c.send(&Message::Open(open).to_vec(&SessionCtx::default())).await;
        assert_eq!(c.notification().await, (2, 2, vec![0xfe, 0x4b]));

        // Through all this, B stayed up and its route stayed best.
        assert_eq!(s.status.get(2).unwrap().state, FsmState::Established);
        assert_eq!(s.status.get(2).unwrap().established_transitions, 1);
        b.send(&packet::keepalive()).await;
        s.send(BgpCommand::Shutdown).await;
        // Cease on shutdown.
        assert_eq!(b.notification().await.0, 6);
    });
}

/// Waits (bounded) until peer `id` has `n` VPNv4 paths in its Adj-RIB-In.
async fn accepted_becomes(s: &Speaker, id: u32, n: u32, what: &str) {
    let accepted = || {
        s.status.get(id).and_then(|st| {
            st.prefixes_accepted
                .iter()
                .find(|(f, _)| *f == Family::Vpnv4)
                .map(|(_, c)| *c)
        })
    };
    for _ in 0..100 {
        if accepted() == Some(n) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{what}: peer {id} has {:?} VPNv4 paths, expected {n}",
        accepted()
    );
}
