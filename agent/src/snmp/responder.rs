//! Command responder (RFC 3413 section 3.2): Get, GetNext, GetBulk and Set
//! against the MIB, with the RFC 3416 size rules and the RFC 3584 mapping of
//! results for SNMPv1.

use super::wire::{self, Kind, Request, Version};
use arc_swap::ArcSwap;
use mib::{ErrorStatus, Mib, SetError, SnmpStats, Value, VarResult};
use rasn_snmp::v2::VarBind;
use std::sync::Arc;
use vpn_core::ifaces::Interfaces;
use vpn_core::Store;

/// How a response goes back: the message processing model and security
/// model of the request wrap the PDU (community for v1/v2c; USM for v3).
pub trait Envelope {
    /// SNMPv1 responses follow RFC 3584's mapping.
    fn is_v1(&self) -> bool;
    /// The whole message for a Response-PDU.
    fn encode(&self, error_status: u32, error_index: u32, varbinds: Vec<VarBind>) -> Vec<u8>;
    /// The largest message the response may be.
    fn max_size(&self) -> usize;
}

/// What the principal of a request may see and change (RFC 3415 views; for
/// communities, RFC 3584's mapping).
pub trait AccessControl {
    fn can_read(&self, oid: &[u32]) -> bool;
    fn can_write(&self, oid: &[u32]) -> bool;
}

/// The community-based envelope of v1/v2c.
pub struct Community<'a> {
    pub req: &'a Request,
    pub max_size: usize,
}

impl Envelope for Community<'_> {
    fn is_v1(&self) -> bool {
        self.req.version == Version::V1
    }
    fn encode(&self, error_status: u32, error_index: u32, varbinds: Vec<VarBind>) -> Vec<u8> {
        wire::encode_response(
            self.req.version,
            &self.req.community,
            self.req.request_id,
            error_status,
            error_index,
            varbinds,
        )
    }
    fn max_size(&self) -> usize {
        self.max_size
    }
}

/// What a community allows: everything readable, and writes only for the
/// read-write community.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

impl AccessControl for Access {
    fn can_read(&self, _oid: &[u32]) -> bool {
        true
    }
    fn can_write(&self, _oid: &[u32]) -> bool {
        *self == Access::ReadWrite
    }
}

pub struct Responder {
    pub mib: Arc<Mib>,
    pub store: Arc<Store>,
    pub ifs: Arc<ArcSwap<Interfaces>>,
    pub fib: Arc<ArcSwap<vpn_core::fibview::FibView>>,
    pub peers: Arc<ArcSwap<vpn_core::bgpcfg::PeerStates>>,
    pub bgp: Arc<ArcSwap<vpn_core::vpn::BgpRoutes>>,
    /// Largest response we send (the request's own size is always allowed).
    pub max_msg_size: usize,
}

/// Work bound for one GetBulk: varbinds examined at most.
const BULK_MAX_VARBINDS: usize = 10_000;

impl Responder {
    fn stats(&self) -> &SnmpStats {
        &self.mib.stats
    }

    /// The response size limit for a request of `req_len` octets: the
    /// configured maximum, or the request's own size if larger.
    pub fn limit(&self, req_len: usize) -> usize {
        self.max_msg_size.max(req_len).min(65507)
    }

    /// Encode a response, or the tooBig alternative if it does not fit, or
    /// nothing if even that does not fit (snmpSilentDrops).
    fn finish(
        &self,
        env: &dyn Envelope,
        status: u32,
        index: u32,
        vbs: Vec<VarBind>,
    ) -> Option<Vec<u8>> {
        let b = env.encode(status, index, vbs);
        if b.len() <= env.max_size() {
            return Some(b);
        }
        let b = env.encode(ErrorStatus::TooBig as u32, 0, vec![]);
        if b.len() <= env.max_size() {
            Some(b)
        } else {
            SnmpStats::inc(&self.stats().silent_drops);
            None
        }
    }

    /// The request's own variable bindings, for error responses.
    fn echo(req: &Request) -> Vec<VarBind> {
        req.varbinds
            .iter()
            .map(|(n, v)| wire::varbind(n, &VarResult::Value(v.clone())))
            .collect()
    }

    fn error(
        &self,
        req: &Request,
        env: &dyn Envelope,
        status: ErrorStatus,
        index: u32,
    ) -> Option<Vec<u8>> {
        let status = if env.is_v1() { status.to_v1() } else { status };
        self.finish(env, status as u32, index, Self::echo(req))
    }

    /// Get, GetNext or GetBulk, against one consistent snapshot.
    pub fn read(
        &self,
        req: &Request,
        env: &dyn Envelope,
        acl: &dyn AccessControl,
    ) -> Option<Vec<u8>> {
        let cfg = self.store.snapshot();
        let ifs = self.ifs.load_full();
        let fib = self.fib.load_full();
        let peers = self.peers.load_full();
        let bgp = self.bgp.load_full();
        let view = self
            .mib
            .view(&cfg, &ifs, &fib, &peers, &bgp, vpn_core::clock::ticks());
        let v1 = env.is_v1();
        let next = |oid: &[u32]| -> Option<(Vec<u32>, Value)> {
            let mut at = oid.to_vec();
            loop {
                let (o, val) = self.mib.next(&view, &at)?;
                // RFC 3584 4.2.2.1: SNMPv1 cannot carry Counter64; RFC 3415:
                // instances outside the read view are skipped.
                if (v1 && matches!(val, Value::Counter64(_))) || !acl.can_read(&o) {
                    at = o;
                    continue;
                }
                return Some((o, val));
            }
        };
        match req.kind {
            Kind::Get => {
                let mut out = Vec::with_capacity(req.varbinds.len());
                for (i, (oid, _)) in req.varbinds.iter().enumerate() {
                    let r = if acl.can_read(oid) {
                        self.mib.get(&view, oid)
                    } else {
                        VarResult::NoSuchObject
                    };
                    let bad = match &r {
                        VarResult::Value(Value::Counter64(_)) => v1,
                        VarResult::Value(_) => false,
                        _ => v1,
                    };
                    if bad {
                        return self.error(req, env, ErrorStatus::NoSuchName, i as u32 + 1);
                    }
                    out.push(wire::varbind(oid, &r));
                }
                self.finish(env, 0, 0, out)
            }
            Kind::GetNext => {
                let mut out = Vec::with_capacity(req.varbinds.len());
                for (i, (oid, _)) in req.varbinds.iter().enumerate() {
                    match next(oid) {
                        Some((o, val)) => out.push(wire::varbind(&o, &VarResult::Value(val))),
                        None if v1 => {
                            return self.error(req, env, ErrorStatus::NoSuchName, i as u32 + 1)
                        }
                        None => out.push(wire::varbind(oid, &VarResult::EndOfMibView)),
                    }
                }
                self.finish(env, 0, 0, out)
            }
            Kind::GetBulk {
                non_repeaters,
                max_repetitions,
            } => self.bulk(
                req,
                env,
                non_repeaters as usize,
                max_repetitions as usize,
                &next,
            ),
            Kind::Set => None,
        }
    }

    /// RFC 3416 section 4.2.3: as many variable bindings as fit.
    fn bulk(
        &self,
        req: &Request,
        env: &dyn Envelope,
        non_repeaters: usize,
        max_repetitions: usize,
        next: &dyn Fn(&[u32]) -> Option<(Vec<u32>, Value)>,
    ) -> Option<Vec<u8>> {
        let limit = env.max_size();
        let empty = env.encode(0, 0, vec![]).len();
        // Lengths of the three enclosing SEQUENCEs may each grow by up to 3 octets.
        let budget = limit.saturating_sub(empty + 9);
        let n = non_repeaters.min(req.varbinds.len());
        let mut out: Vec<VarBind> = Vec::new();
        let mut used = 0usize;
        let mut push = |vb: VarBind, out: &mut Vec<VarBind>| -> bool {
            let l = wire::varbind_len(&vb);
            if used + l > budget {
                return false;
            }
            used += l;
            out.push(vb);
            true
        };
        for (oid, _) in &req.varbinds[..n] {
            let vb = match next(oid) {
                Some((o, val)) => wire::varbind(&o, &VarResult::Value(val)),
                None => wire::varbind(oid, &VarResult::EndOfMibView),
            };
            if !push(vb, &mut out) {
                return self.finish(env, 0, 0, out);
            }
        }
        // One cursor per repeater: the last name returned and whether it has
        // reached the end of the MIB view (then it repeats endOfMibView, so
        // every repetition keeps the R positions managers index by).
        let mut cursors: Vec<(Vec<u32>, bool)> = req.varbinds[n..]
            .iter()
            .map(|(o, _)| (o.clone(), false))
            .collect();
        'rounds: for _ in 0..max_repetitions {
            if cursors.is_empty() || out.len() >= BULK_MAX_VARBINDS || cursors.iter().all(|c| c.1) {
                break;
            }
            for (oid, ended) in cursors.iter_mut() {
                let vb = if *ended {
                    wire::varbind(oid, &VarResult::EndOfMibView)
                } else {
                    match next(oid) {
                        Some((o, val)) => {
                            let vb = wire::varbind(&o, &VarResult::Value(val));
                            *oid = o;
                            vb
                        }
                        None => {
                            *ended = true;
                            wire::varbind(oid, &VarResult::EndOfMibView)
                        }
                    }
                };
                if !push(vb, &mut out) {
                    break 'rounds;
                }
            }
        }
        self.finish(env, 0, 0, out)
    }

    /// A SET: validated and committed as one transaction; the reply is built
    /// only after the commit is durable.
    pub fn set(
        &self,
        req: &Request,
        env: &dyn Envelope,
        acl: &dyn AccessControl,
        src: std::net::SocketAddr,
    ) -> Option<Vec<u8>> {
        let shown: Vec<String> = req
            .varbinds
            .iter()
            .map(|(o, v)| Mib::log_varbind(o, v))
            .collect();
        // RFC 3416 4.2.5 step 1: a name outside the write view is noAccess.
        if let Some(i) = req.varbinds.iter().position(|(o, _)| !acl.can_write(o)) {
            if req.version != Version::V3 {
                SnmpStats::inc(&self.stats().in_bad_community_uses);
            }
            tracing::warn!(%src, varbinds = ?shown, outcome = "noAccess", index = i + 1, "SET refused: not in the write view");
            return self.error(req, env, ErrorStatus::NoAccess, i as u32 + 1);
        }
        let ifs = self.ifs.load_full();
        let res = self.store.commit_checked(vpn_core::clock::ticks(), |cfg| {
            self.mib.set(cfg, &ifs, &req.varbinds)
        });
        match res {
            Ok(Ok((cfg, eff))) => {
                tracing::info!(%src, varbinds = ?shown, outcome = "noError", changes = eff.len(), generation = cfg.generation, "SET");
                self.finish(env, 0, 0, Self::echo(req))
            }
            Ok(Err(SetError { status, index })) => {
                tracing::info!(%src, varbinds = ?shown, outcome = ?status, index, "SET rejected");
                self.error(req, env, status, index)
            }
            Err(e) => {
                tracing::error!(%src, varbinds = ?shown, error = %e, "SET commit failed");
                self.error(req, env, ErrorStatus::CommitFailed, 1)
            }
        }
    }
}
