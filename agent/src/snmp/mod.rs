//! The SNMP engine, structured after RFC 3411: a dispatcher per transport
//! address, message processing (v1/v2c, [`wire`]; v3, [`v3`]), the security
//! models (RFC 3584: community -> security name; RFC 3414 USM, [`usm`]),
//! access control (RFC 3415 VACM, [`vacm`], for communities and users alike)
//! and the command responder ([`responder`]). SETs go to one committer task,
//! so they are serialized and each is answered only once durable; reads are
//! answered on the spot from an immutable snapshot and never wait for a write.

pub mod events;
pub mod notify;
pub mod responder;
pub mod usm;
pub mod v3;
pub mod vacm;
pub mod wire;

use mib::snmpv3::{Level, MODEL_V1, MODEL_V2C};
use mib::SnmpStats;
use responder::{Access, AccessControl, Community, Envelope, Responder};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use wire::{DecodeError, Kind, Request, Version};

/// The security names communities map to (RFC 3584 snmpCommunitySecurityName);
/// VACM decides what they may do (by default: read everything, and write
/// everything for the read-write community).
pub const COMMUNITY_RO: &str = "community-ro";
pub const COMMUNITY_RW: &str = "community-rw";

/// Community strings (RFC 3584's snmpCommunityTable, reduced to two entries).
pub struct Communities {
    pub read_only: Vec<u8>,
    pub read_write: Vec<u8>,
    /// false: SNMPv1/v2c messages are not answered at all.
    pub enabled: bool,
}

impl Communities {
    fn access(&self, c: &[u8]) -> Option<Access> {
        if !self.enabled {
            None
        } else if c == self.read_write.as_slice() {
            Some(Access::ReadWrite)
        } else if c == self.read_only.as_slice() {
            Some(Access::ReadOnly)
        } else {
            None
        }
    }
}

/// The response envelope of a v1/v2c SET, owned so it can wait for the
/// committer.
struct CommunityReply {
    version: Version,
    community: Vec<u8>,
    request_id: i32,
    max_size: usize,
}

impl Envelope for CommunityReply {
    fn is_v1(&self) -> bool {
        self.version == Version::V1
    }
    fn encode(
        &self,
        error_status: u32,
        error_index: u32,
        varbinds: Vec<rasn_snmp::v2::VarBind>,
    ) -> Vec<u8> {
        wire::encode_response(
            self.version,
            &self.community,
            self.request_id,
            error_status,
            error_index,
            varbinds,
        )
    }
    fn max_size(&self) -> usize {
        self.max_size
    }
}

/// A SET waiting for the committer, with how to answer it and what its
/// principal may write.
pub struct SetJob {
    req: Request,
    env: Box<dyn Envelope + Send>,
    acl: Box<dyn AccessControl + Send>,
    src: SocketAddr,
    sock: Arc<UdpSocket>,
}

pub struct Engine {
    pub responder: Arc<Responder>,
    pub communities: Communities,
    pub v3: Arc<v3::V3>,
    /// Where authentication failures go (authenticationFailure).
    pub events: Option<Arc<events::Events>>,
}

impl Engine {
    fn stats(&self) -> &SnmpStats {
        &self.responder.mib.stats
    }

    /// A message that failed authentication: a bad community, or a USM
    /// wrong digest (RFC 3418 authenticationFailure).
    fn auth_failure(&self) {
        if let Some(e) = &self.events {
            e.auth_failure();
        }
    }

    /// VACM for a community (RFC 3584 section 5.2: the community's security
    /// name, securityModel v1 or v2c, noAuthNoPriv).
    fn community_acl(&self, access: Access, version: Version) -> Result<vacm::Acl, vacm::Denied> {
        let name = match access {
            Access::ReadOnly => COMMUNITY_RO,
            Access::ReadWrite => COMMUNITY_RW,
        };
        let model = if version == Version::V1 {
            MODEL_V1
        } else {
            MODEL_V2C
        };
        vacm::resolve(
            &self.v3.sec.snapshot(),
            model,
            name.as_bytes(),
            Level::NoAuthNoPriv,
            b"",
        )
    }

    async fn send(sock: &UdpSocket, b: &[u8], src: SocketAddr) {
        if let Err(e) = sock.send_to(b, src).await {
            tracing::debug!(%src, error = %e, "send_to");
        }
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
                    let limit = self.responder.limit(n);
                    let digests = mib::snmpv3::V3Stats::read(&self.v3.sec.stats.wrong_digests);
                    let outcome =
                        self.v3
                            .process(&buf[..n], limit, &self.stats().in_asn_parse_errs);
                    if mib::snmpv3::V3Stats::read(&self.v3.sec.stats.wrong_digests) != digests {
                        self.auth_failure();
                    }
                    match outcome {
                        v3::Outcome::Drop => {}
                        v3::Outcome::Reply(b) => Self::send(&sock, &b, src).await,
                        v3::Outcome::Request(r) => {
                            let v3::V3Request { req, env, acl } = *r;
                            if req.kind == Kind::Set {
                                let job = SetJob {
                                    req,
                                    env: Box::new(env),
                                    acl: Box::new(acl),
                                    src,
                                    sock: sock.clone(),
                                };
                                if sets.send(job).await.is_err() {
                                    return; // shutting down
                                }
                            } else if let Some(resp) = self.guarded_read(&req, &env, &acl, src) {
                                Self::send(&sock, &resp, src).await;
                            }
                        }
                    }
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
                if self.communities.enabled {
                    self.auth_failure();
                }
                continue;
            };
            let max_size = self.responder.limit(n);
            let acl = match self.community_acl(access, req.version) {
                Ok(a) => a,
                Err(why) => {
                    SnmpStats::inc(&self.stats().in_bad_community_uses);
                    tracing::info!(%src, ?why, "community not allowed by VACM");
                    let env = Community {
                        req: &req,
                        max_size,
                    };
                    Self::send(&sock, &v3::denied(&req, &env), src).await;
                    continue;
                }
            };
            if req.kind == Kind::Set {
                let env = CommunityReply {
                    version: req.version,
                    community: req.community.clone(),
                    request_id: req.request_id,
                    max_size,
                };
                let job = SetJob {
                    req,
                    env: Box::new(env),
                    acl: Box::new(acl),
                    src,
                    sock: sock.clone(),
                };
                if sets.send(job).await.is_err() {
                    return; // shutting down
                }
                continue;
            }
            let env = Community {
                req: &req,
                max_size,
            };
            if let Some(resp) = self.guarded_read(&req, &env, &acl, src) {
                Self::send(&sock, &resp, src).await;
            }
        }
    }

    /// A read, with a bug in any handler contained: the request is dropped
    /// (and logged), the receive loop and every other request go on.
    fn guarded_read(
        &self,
        req: &wire::Request,
        env: &dyn responder::Envelope,
        acl: &dyn responder::AccessControl,
        src: SocketAddr,
    ) -> Option<Vec<u8>> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.responder.read(req, env, acl)
        })) {
            Ok(r) => r,
            Err(_) => {
                SnmpStats::inc(&self.stats().silent_drops);
                tracing::error!(%src, "internal error answering a read; request dropped");
                None
            }
        }
    }

    /// The committer: one SET at a time, in arrival order.
    pub async fn commit_loop(self: Arc<Self>, mut jobs: mpsc::Receiver<SetJob>) {
        while let Some(job) = jobs.recv().await {
            let r = self.responder.clone();
            let SetJob {
                req,
                env,
                acl,
                src,
                sock,
            } = job;
            let resp = tokio::task::spawn_blocking(move || r.set(&req, &*env, &*acl, src)).await;
            match resp {
                Ok(Some(b)) => Self::send(&sock, &b, src).await,
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "SET task failed"),
            }
        }
    }
}
