//! Decoding speed of the codec on the ingest feed (1,000 RDs x 1,000 VPNv4
//! /24s, 250 per UPDATE): the figure behind the codec decision in
//! src/packet/mod.rs. `cargo run --release -p bgp --example codec_bench`.

use bgp::packet::nlri::Nlri;
use bgp::packet::update::encode_announce;
use bgp::packet::{frame, Message, SessionCtx};
use bgp::{Family, PathAttrs, RouteKey};
use ipnet::{IpNet, Ipv4Net};
use std::net::Ipv4Addr;
use std::time::Instant;

fn main() {
    let ctx = SessionCtx::default();
    let mut feed = Vec::new();
    for r in 0..1000u32 {
        let mut rd = [0u8; 8];
        rd[2..4].copy_from_slice(&65000u16.to_be_bytes());
        rd[4..].copy_from_slice(&r.to_be_bytes());
        let mut rt = rd;
        rt[1] = 2;
        let attrs = PathAttrs {
            next_hop: Some(Ipv4Addr::new(10, 99, 0, 2).into()),
            local_pref: Some(100),
            ext_communities: vec![rt],
            ..PathAttrs::default()
        };
        let routes: Vec<Nlri> = (0..1000u32)
            .map(|i| Nlri {
                key: RouteKey::Vpn(
                    rd,
                    IpNet::V4(
                        Ipv4Net::new(Ipv4Addr::new(10, (i >> 8) as u8, i as u8, 0), 24).unwrap(),
                    ),
                ),
                label: Some(16 + r),
            })
            .collect();
        for c in routes.chunks(250) {
            encode_announce(&ctx, Family::Vpnv4, &attrs, c, &mut feed);
        }
    }
    for round in 0..3 {
        let t = Instant::now();
        let (mut msgs, mut routes) = (0, 0);
        let mut rest = &feed[..];
        while let Ok(Some(len)) = frame(rest) {
            if let Ok(Message::Update(u)) = Message::parse(&rest[..len], &ctx) {
                routes += u.announced.len();
            }
            msgs += 1;
            rest = &rest[len..];
        }
        println!(
            "round {round}: {msgs} UPDATEs, {routes} routes, {} octets decoded in {:?}",
            feed.len(),
            t.elapsed()
        );
    }
}
