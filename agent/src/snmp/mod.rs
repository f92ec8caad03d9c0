//! The SNMP engine, structured after RFC 3411: a dispatcher per transport
//! address, message processing (v1/v2c, [`wire`]), the community-based
//! security model (RFC 3584: community -> access), and the command responder
//! ([`responder`]). SETs go to one committer task, so they are serialized and
//! each is answered only once durable; reads are answered on the spot from an
//! immutable snapshot and never wait for a write.

pub mod responder;
pub mod wire;

use mib::SnmpStats;
use responder::{Access, Community, Responder};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use wire::{DecodeError, Kind, Request};

/// Community strings (RFC 3584's snmpCommunityTable, reduced to two entries).
pub struct Communities {
    pub read_only: Vec<u8>,
    pub read_write: Vec<u8>,
}

impl Communities {
    fn access(&self, c: &[u8]) -> Option<Access> {
        if c == self.read_write.as_slice() {
            Some(Access::ReadWrite)
        } else if c == self.read_only.as_slice() {
            Some(Access::ReadOnly)
        } else {
            None
        }
    }
}

/// A SET waiting for the committer.
pub struct SetJob {
    req: Request,
    req_len: usize,
    access: Access,
    src: SocketAddr,
    sock: Arc<UdpSocket>,
}

pub struct Engine {
    pub responder: Arc<Responder>,
    pub communities: Communities,
}

impl Engine {
    fn stats(&self) -> &SnmpStats {
        &self.responder.mib.stats
    }

    /// Receive loop of one transport address.
    pub async fn serve(self: Arc<Self>, sock: Arc<UdpSocket>, sets: mpsc::Sender<SetJob>) {
        let mut buf = vec![0u8; 65536];
        loop {
            let (n, src) = match sock.recv_from(&mut buf).await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "recv_from");
                    continue;
                }
            };
            SnmpStats::inc(&self.stats().in_pkts);
            let req = match wire::decode(&buf[..n]) {
                Ok(r) => r,
                Err(DecodeError::Asn) => {
                    SnmpStats::inc(&self.stats().in_asn_parse_errs);
                    tracing::debug!(%src, len = n, "malformed message dropped");
                    continue;
                }
                Err(DecodeError::V3) => {
                    // No SNMPv3 message processing yet: an unknown model.
                    SnmpStats::inc(&self.stats().in_bad_versions);
                    tracing::debug!(%src, "SNMPv3 message dropped: v3 not supported yet");
                    continue;
                }
                Err(DecodeError::BadVersion(v)) => {
                    SnmpStats::inc(&self.stats().in_bad_versions);
                    tracing::debug!(%src, version = v, "unsupported version dropped");
                    continue;
                }
                Err(DecodeError::NotARequest) => {
                    tracing::debug!(%src, "non-request PDU dropped");
                    continue;
                }
            };
            let Some(access) = self.communities.access(&req.community) else {
                SnmpStats::inc(&self.stats().in_bad_community_names);
                tracing::info!(%src, "unknown community: no response");
                continue;
            };
            if req.kind == Kind::Set {
                let job = SetJob { req, req_len: n, access, src, sock: sock.clone() };
                if sets.send(job).await.is_err() {
                    return; // shutting down
                }
                continue;
            }
            let env = Community { req: &req, max_size: self.responder.limit(n) };
            if let Some(resp) = self.responder.read(&req, &env, &access) {
                if let Err(e) = sock.send_to(&resp, src).await {
                    tracing::debug!(%src, error = %e, "send_to");
                }
            }
        }
    }

    /// The committer: one SET at a time, in arrival order.
    pub async fn commit_loop(self: Arc<Self>, mut jobs: mpsc::Receiver<SetJob>) {
        while let Some(job) = jobs.recv().await {
            let r = self.responder.clone();
            let SetJob { req, req_len, access, src, sock } = job;
            let resp = tokio::task::spawn_blocking(move || {
                let env = Community { req: &req, max_size: r.limit(req_len) };
                r.set(&req, &env, &access, src)
            })
            .await;
            match resp {
                Ok(Some(b)) => {
                    if let Err(e) = sock.send_to(&b, src).await {
                        tracing::debug!(%src, error = %e, "send_to");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "SET task failed"),
            }
        }
    }
}
