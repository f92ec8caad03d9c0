//! What the benchmark clients share: a sequential SNMPv2c client over one UDP
//! socket to a loopback agent (one request in flight, resent with the same
//! request-id on timeout), and the value and OID helpers they build PDUs
//! with.

use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use rasn::types::{Integer, ObjectIdentifier, OctetString};
use rasn_snmp::v2::{
    BulkPdu, GetBulkRequest, GetNextRequest, GetRequest, ObjectSyntax, Pdu, Pdus, SetRequest,
    VarBind, VarBindValue,
};
use rasn_snmp::v2c::Message;

/// mplsL3VpnVrfEntry (RFC 4382).
pub const VRF_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 2, 1];

/// Nearest-rank percentile of sorted `v` (ns), in microseconds.
pub fn pct_us(v: &[u64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1] as f64 / 1000.0
}

pub fn num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}

pub fn oid(arcs: Vec<u32>) -> ObjectIdentifier {
    ObjectIdentifier::new_unchecked(arcs.into())
}

/// Appends an index part holding `name` (length, then its octets).
pub fn push_name(arcs: &mut Vec<u32>, name: &[u8]) {
    arcs.push(name.len() as u32);
    arcs.extend(name.iter().map(|&b| u32::from(b)));
}

/// Column `col` of the VRF row named `name`.
pub fn vrf_oid(col: u32, name: &[u8]) -> ObjectIdentifier {
    let mut arcs = VRF_ENTRY.to_vec();
    arcs.push(col);
    push_name(&mut arcs, name);
    oid(arcs)
}

pub fn vb(name: ObjectIdentifier, value: VarBindValue) -> VarBind {
    VarBind { name, value }
}

pub fn octets(s: &str) -> VarBindValue {
    VarBindValue::Value(ObjectSyntax::from(OctetString::from(s.as_bytes().to_vec())))
}

pub fn int(i: i32) -> VarBindValue {
    VarBindValue::Value(ObjectSyntax::from(i))
}

pub fn pdu(request_id: i32, variable_bindings: Vec<VarBind>) -> Pdu {
    Pdu {
        request_id,
        error_status: 0,
        error_index: 0,
        variable_bindings,
    }
}

pub fn encode<T: rasn::Encode>(community: &str, data: T) -> Vec<u8> {
    let m = Message {
        version: Integer::from(1),
        community: OctetString::from(community.as_bytes().to_vec()),
        data,
    };
    rasn::ber::encode(&m).expect("BER encode")
}

/// Decodes a v2c message and returns its Response PDU, if that is what it is.
pub fn decode_response(buf: &[u8]) -> Option<Pdu> {
    match rasn::ber::decode::<Message<Pdus>>(buf) {
        Ok(m) => match m.data {
            Pdus::Response(r) => Some(r.0),
            _ => None,
        },
        Err(_) => None,
    }
}

/// The name of an SNMP error-status (RFC 3416).
pub fn error_name(status: u32) -> &'static str {
    const NAMES: [&str; 19] = [
        "noError",
        "tooBig",
        "noSuchName",
        "badValue",
        "readOnly",
        "genErr",
        "noAccess",
        "wrongType",
        "wrongLength",
        "wrongEncoding",
        "wrongValue",
        "noCreation",
        "inconsistentValue",
        "resourceUnavailable",
        "commitFailed",
        "undoFailed",
        "authorizationError",
        "notWritable",
        "inconsistentName",
    ];
    NAMES.get(status as usize).copied().unwrap_or("unknown")
}

/// Why a request got no Response.
#[derive(Debug)]
pub enum TxError {
    /// No Response after all attempts.
    Timeout {
        attempts: u32,
    },
    Io(std::io::Error),
}

impl std::fmt::Display for TxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TxError::Timeout { attempts } => write!(f, "no response after {attempts} attempts"),
            TxError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<TxError> for String {
    fn from(e: TxError) -> String {
        e.to_string()
    }
}

/// The client (see the module docs).
pub struct Client {
    sock: UdpSocket,
    pub community: String,
    timeout: Duration,
    retries: u32,
    next_id: i32,
    /// Requests sent again after a timeout.
    pub retries_used: u64,
    buf: Vec<u8>,
}

impl Client {
    /// A client of the agent at `target`, which must be a loopback address.
    pub fn new(
        target: &str,
        community: &str,
        timeout: Duration,
        retries: u32,
    ) -> Result<Self, String> {
        let addr: SocketAddr = target
            .to_socket_addrs()
            .map_err(|e| format!("bad --target {target}: {e}"))?
            .next()
            .ok_or_else(|| format!("bad --target {target}"))?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "--target {addr}: only loopback targets are allowed"
            ));
        }
        let bind = if addr.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        };
        let sock = UdpSocket::bind(bind).map_err(|e| format!("bind: {e}"))?;
        sock.connect(addr).map_err(|e| format!("connect: {e}"))?;
        // Request ids start at a pid-derived value so two runs do not look alike.
        let seed = (std::process::id() as i32).wrapping_mul(7919) & 0x3fff_ffff;
        Ok(Client {
            sock,
            community: community.to_string(),
            timeout,
            retries,
            next_id: seed.max(1),
            retries_used: 0,
            buf: vec![0u8; 65536],
        })
    }

    /// The request id the next request will carry.
    pub fn peek_id(&self) -> i32 {
        self.next_id
    }

    /// The socket, for a caller that runs its own exchange.
    pub fn socket(&self) -> &UdpSocket {
        &self.sock
    }

    /// Encoded GET of `name` with request id `id`.
    pub fn get_msg(&self, id: i32, name: &ObjectIdentifier) -> Vec<u8> {
        let vbs = vec![vb(name.clone(), VarBindValue::Unspecified)];
        encode(&self.community, GetRequest(pdu(id, vbs)))
    }

    pub fn take_id(&mut self) -> i32 {
        let id = self.next_id;
        self.next_id = if self.next_id == i32::MAX {
            1
        } else {
            self.next_id + 1
        };
        id
    }

    /// Sends `msg` (carrying `id`) and waits for the Response with that id;
    /// resends the same bytes on timeout, up to `retries` times.
    pub fn transact(&mut self, id: i32, msg: &[u8]) -> Result<Pdu, TxError> {
        let attempts = self.retries + 1;
        for attempt in 0..attempts {
            if attempt > 0 {
                self.retries_used += 1;
            }
            if let Err(e) = self.sock.send(msg) {
                if e.kind() == ErrorKind::ConnectionRefused {
                    // ICMP port unreachable from an earlier datagram; wait out
                    // this attempt's window and retry.
                    std::thread::sleep(self.timeout.min(Duration::from_millis(100)));
                    continue;
                }
                return Err(TxError::Io(e));
            }
            let deadline = Instant::now() + self.timeout;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                self.sock
                    .set_read_timeout(Some(deadline - now))
                    .map_err(TxError::Io)?;
                match self.sock.recv(&mut self.buf) {
                    Ok(n) => {
                        if let Some(p) = decode_response(&self.buf[..n]) {
                            if p.request_id == id {
                                return Ok(p);
                            }
                        }
                        // Stale answer to an earlier attempt, or garbage: keep waiting.
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        break
                    }
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                        // Nobody listening (yet): let this attempt's window pass.
                        std::thread::sleep(
                            deadline
                                .saturating_duration_since(Instant::now())
                                .min(Duration::from_millis(100)),
                        );
                        break;
                    }
                    Err(e) => return Err(TxError::Io(e)),
                }
            }
        }
        Err(TxError::Timeout { attempts })
    }

    /// One attempt, no resend: sends `msg` and waits up to the timeout for
    /// the Response with `id` (a lost datagram is an error, not a retry that
    /// would skew a latency figure).
    pub fn exchange_once(&mut self, id: i32, msg: &[u8]) -> Result<Pdu, String> {
        let t = Instant::now();
        self.sock.send(msg).map_err(|e| format!("send: {e}"))?;
        self.sock
            .set_read_timeout(Some(self.timeout))
            .map_err(|e| e.to_string())?;
        loop {
            let n = self
                .sock
                .recv(&mut self.buf)
                .map_err(|e| format!("no answer within the timeout: {e}"))?;
            if let Some(p) = decode_response(&self.buf[..n]) {
                if p.request_id == id {
                    return Ok(p);
                }
            }
            if t.elapsed() > self.timeout {
                return Err("no matching answer".into());
            }
        }
    }

    pub fn set(&mut self, vbs: Vec<VarBind>) -> Result<Pdu, TxError> {
        let id = self.take_id();
        let msg = encode(&self.community, SetRequest(pdu(id, vbs)));
        self.transact(id, &msg)
    }

    pub fn get(&mut self, names: Vec<ObjectIdentifier>) -> Result<Pdu, TxError> {
        let id = self.take_id();
        let vbs = names
            .into_iter()
            .map(|n| vb(n, VarBindValue::Unspecified))
            .collect();
        let msg = encode(&self.community, GetRequest(pdu(id, vbs)));
        self.transact(id, &msg)
    }

    /// Encoded GETNEXT of `name` with request id `id` (prepared ahead so a
    /// timed part is send + receive + decode only).
    pub fn getnext_msg(&self, id: i32, name: &ObjectIdentifier) -> Vec<u8> {
        let vbs = vec![vb(name.clone(), VarBindValue::Unspecified)];
        encode(&self.community, GetNextRequest(pdu(id, vbs)))
    }

    pub fn getbulk(&mut self, name: &ObjectIdentifier, max_rep: u32) -> Result<Pdu, TxError> {
        let id = self.take_id();
        let b = BulkPdu {
            request_id: id,
            non_repeaters: 0,
            max_repetitions: max_rep,
            variable_bindings: vec![vb(name.clone(), VarBindValue::Unspecified)],
        };
        let msg = encode(&self.community, GetBulkRequest(b));
        self.transact(id, &msg)
    }
}
