//! A blocking NETLINK_ROUTE socket for the netlink backend: batched
//! requests with one acknowledgement each, dumps, and single requests.
//!
//! ```text
//!   Batch::push ── serialize, seq n, n+1, ... ──► one buffer
//!   Conn::flush ── one sendmsg(2) of the buffer ─► kernel runs every message
//!                                                  in order, queues one ack
//!                                                  (NLMSG_ERROR) per message
//!               ◄─ recvmmsg(2), 64 acks a call ── ack seq -> Batch entry -> op
//! ```
//!
//! The kernel handles a request buffer synchronously inside sendmsg(2), and
//! goes on after a failed message, so every message gets its own ack and
//! all of them are queued when sendmsg returns. An ack that does not fit in
//! the receive buffer is dropped (and the socket reports ENOBUFS), so a
//! batch holds at most as many messages as the receive buffer has room for
//! acks ([`Conn::max_batch`]).

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP,
    NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};

/// Bytes of requests in one sendmsg: below the default socket send buffer
/// (net.core.wmem_default, 212992), which bounds one netlink message train.
const MAX_BATCH_BYTES: usize = 128 * 1024;
/// Bounds of messages in one batch, whatever the receive buffer.
const MAX_BATCH_MSGS: usize = 2048;
const MIN_BATCH_MSGS: usize = 32;
/// Receive-buffer bytes one queued ack costs (skb truesize of a 36-byte ack
/// is about 768 bytes; rounded up).
const ACK_TRUESIZE: usize = 1024;
/// Receive buffer asked for (SO_RCVBUFFORCE as root, else SO_RCVBUF, which
/// net.core.rmem_max caps).
const WANT_RCVBUF: usize = 8 << 20;
/// Acks received by one recvmmsg(2) call, and the room for each.
const ACK_VLEN: usize = 64;
const ACK_SLOT: usize = 2048;
/// Room for one dump datagram (the kernel builds them up to 32 KiB).
const DUMP_BUF: usize = 64 * 1024;
/// A reply that takes longer than this is reported as lost.
const RECV_TIMEOUT: Duration = Duration::from_secs(30);
/// An interrupted dump (NLM_F_DUMP_INTR: the table changed during it) is
/// retried this many times before load fails.
const DUMP_TRIES: usize = 5;

/// NLM_F_CAPPED / NLM_F_ACK_TLVS (flags of an NLMSG_ERROR message).
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
/// NLMSGERR_ATTR_MSG: the extended-ack text.
const NLMSGERR_ATTR_MSG: u16 = 1;

const NLMSG_HDRLEN: usize = 16;

/// Why a request failed: the kernel said no, or the exchange itself broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The kernel's answer: errno (positive) and its text, with the extended
    /// ack message when the kernel gave one.
    Kernel { errno: i32, msg: String },
    /// Sending, receiving or parsing failed; the outcome is unknown.
    Io(String),
}

impl Failure {
    fn kernel(errno: i32, ext: Option<String>) -> Failure {
        let text = io::Error::from_raw_os_error(errno).to_string();
        let msg = match ext {
            Some(e) if !e.is_empty() => format!("{text}: {e}"),
            _ => text,
        };
        Failure::Kernel { errno, msg }
    }

    fn io(what: &str, e: io::Error) -> Failure {
        Failure::Io(format!("{what}: {e}"))
    }
}

/// The socket, its sequence counter and its buffers.
pub(crate) struct Conn {
    sock: Socket,
    seq: u32,
    max_batch: usize,
    strict: bool,
    acks: Vec<u8>,
    dump: Vec<u8>,
}

/// One message of a batch: which operation it serves and which errnos mean
/// "already so" for it (ESRCH for a delete, EEXIST for an exclusive add).
struct Entry {
    /// Sequence number minus the batch's first: increasing along the batch
    /// (other requests may take numbers in between).
    offset: u32,
    op: usize,
    tolerate: &'static [i32],
}

/// Requests waiting to be sent in one sendmsg.
#[derive(Default)]
pub(crate) struct Batch {
    buf: Vec<u8>,
    entries: Vec<Entry>,
    first_seq: u32,
}

impl Batch {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends one request (flags besides REQUEST|ACK: CREATE, REPLACE, ...)
    /// serving operation `op`.
    pub(crate) fn push(
        &mut self,
        conn: &mut Conn,
        op: usize,
        msg: RouteNetlinkMessage,
        flags: u16,
        tolerate: &'static [i32],
    ) {
        let seq = conn.next_seq();
        if self.entries.is_empty() {
            self.first_seq = seq;
        }
        serialize(&mut self.buf, msg, NLM_F_REQUEST | NLM_F_ACK | flags, seq);
        let offset = seq.wrapping_sub(self.first_seq);
        self.entries.push(Entry {
            offset,
            op,
            tolerate,
        });
    }

    /// Whether the batch should be sent before anything else is added.
    pub(crate) fn is_full(&self, conn: &Conn) -> bool {
        self.entries.len() >= conn.max_batch || self.buf.len() >= MAX_BATCH_BYTES
    }
}

fn serialize(buf: &mut Vec<u8>, msg: RouteNetlinkMessage, flags: u16, seq: u32) {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut nl = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
    nl.finalize();
    let len = nl.buffer_len();
    let start = buf.len();
    buf.resize(start + align4(len), 0);
    nl.serialize(&mut buf[start..start + len]);
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// The netlink messages of one datagram: (type, flags, seq, whole message).
/// Stops at the first malformed header; never reads past `b`.
fn messages(b: &[u8]) -> impl Iterator<Item = (u16, u16, u32, &[u8])> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        let len = u32_at(b, off)? as usize;
        if len < NLMSG_HDRLEN || off + len > b.len() {
            return None;
        }
        let msg = &b[off..off + len];
        let kind = u16_at(msg, 4)?;
        let flags = u16_at(msg, 6)?;
        let seq = u32_at(msg, 8)?;
        off += align4(len);
        Some((kind, flags, seq, msg))
    })
}

/// An NLMSG_ERROR message: (errno as a positive number, 0 for an ack;
/// extended-ack text). Reads only what is there: a truncated ack still
/// yields its code.
fn parse_error(msg: &[u8], flags: u16) -> Option<(i32, Option<String>)> {
    let code = u32_at(msg, NLMSG_HDRLEN)? as i32;
    let mut ext = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        // nlmsgerr = error code + the request's header (+ its payload
        // unless capped); the TLVs follow.
        let orig_len = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            u32_at(msg, NLMSG_HDRLEN + 4)? as usize
        };
        let mut off = NLMSG_HDRLEN + 4 + align4(orig_len);
        while let (Some(len), Some(kind)) = (u16_at(msg, off), u16_at(msg, off + 2)) {
            let len = len as usize;
            if len < 4 || off + len > msg.len() {
                break;
            }
            if kind & 0x3fff == NLMSGERR_ATTR_MSG {
                let text = &msg[off + 4..off + len];
                let text = text.split(|c| *c == 0).next().unwrap_or_default();
                ext = Some(String::from_utf8_lossy(text).into_owned());
            }
            off += align4(len);
        }
    }
    Some((code.checked_neg().unwrap_or(i32::MAX), ext))
}

fn set_int_opt(fd: i32, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` outlives the call and its size is passed with it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn get_int_opt(fd: i32, level: i32, name: i32) -> io::Result<i32> {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes of the sizes given.
    let rc =
        unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut i32).cast(), &mut len) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(value)
    }
}

impl Conn {
    /// Opens a NETLINK_ROUTE socket in the network namespace of the calling
    /// thread.
    pub(crate) fn open() -> io::Result<Conn> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        // Best effort: error texts, short error acks, kernel-side dump
        // filters. Without them everything still works (filters are also
        // applied here).
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        let strict = sock.set_netlink_get_strict_chk(true).is_ok();
        let fd = sock.as_raw_fd();
        let want = WANT_RCVBUF as i32;
        if set_int_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, want).is_err() {
            let _ = set_int_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, want);
        }
        let rcvbuf = get_int_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF)?.max(0) as usize;
        let max_batch = (rcvbuf / ACK_TRUESIZE).clamp(MIN_BATCH_MSGS, MAX_BATCH_MSGS);
        let tv = libc::timeval {
            tv_sec: RECV_TIMEOUT.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        // SAFETY: `tv` outlives the call and its size is passed with it.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Conn {
            sock,
            seq: 0,
            max_batch,
            strict,
            acks: vec![0; ACK_VLEN * ACK_SLOT],
            dump: vec![0; DUMP_BUF],
        })
    }

    /// Messages in one batch (bounded by the receive buffer, see module
    /// docs).
    pub(crate) fn max_batch(&self) -> usize {
        self.max_batch
    }

    /// Whether the kernel filters dumps by the request's header
    /// (NETLINK_GET_STRICT_CHK accepted).
    pub(crate) fn strict(&self) -> bool {
        self.strict
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends the batch and reads one ack per message. Returns the failed
    /// messages as (operation index, failure); tolerated errnos are not
    /// failures. The batch is empty afterwards.
    pub(crate) fn flush(&mut self, batch: &mut Batch) -> Vec<(usize, Failure)> {
        let entries = std::mem::take(&mut batch.entries);
        let buf = std::mem::take(&mut batch.buf);
        let first = batch.first_seq;
        if entries.is_empty() {
            return Vec::new();
        }
        let mut failures = Vec::new();
        if let Err(e) = self.sock.send(&buf, 0) {
            let f = Failure::io("sendmsg", e);
            return entries.iter().map(|e| (e.op, f.clone())).collect();
        }
        let mut seen = vec![false; entries.len()];
        let mut left = entries.len();
        let mut lost: Option<Failure> = None;
        while left > 0 {
            let lens = match self.recv_many(lost.is_some()) {
                Ok(l) => l,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) && lost.is_none() => {
                    // Some acks did not fit in the receive buffer. Those that
                    // did are still queued: read them, then report the rest
                    // lost. Later batches are smaller.
                    self.max_batch = (self.max_batch / 2).max(MIN_BATCH_MSGS);
                    lost = Some(Failure::io(
                        "acknowledgement lost (receive buffer overrun); state unknown",
                        e,
                    ));
                    continue;
                }
                Err(e) => {
                    let f = match (&lost, e.kind()) {
                        (Some(f), io::ErrorKind::WouldBlock) => f.clone(),
                        _ => Failure::io("waiting for acknowledgements", e),
                    };
                    for (i, entry) in entries.iter().enumerate() {
                        if !seen[i] {
                            failures.push((entry.op, f.clone()));
                        }
                    }
                    return failures;
                }
            };
            for (slot, len) in lens.into_iter().enumerate() {
                let start = slot * ACK_SLOT;
                let datagram = &self.acks[start..start + len.min(ACK_SLOT)];
                let mut handle = |kind: u16, flags: u16, seq: u32, msg: &[u8]| {
                    if kind != NLMSG_ERROR {
                        return;
                    }
                    let offset = seq.wrapping_sub(first);
                    let Ok(idx) = entries.binary_search_by_key(&offset, |e| e.offset) else {
                        return; // not ours (a late ack of an earlier batch)
                    };
                    if seen[idx] {
                        return;
                    }
                    seen[idx] = true;
                    left -= 1;
                    match parse_error(msg, flags) {
                        None => {
                            failures.push((entries[idx].op, Failure::Io("malformed ack".into())))
                        }
                        Some((errno, ext)) => {
                            if errno != 0 && !entries[idx].tolerate.contains(&errno) {
                                failures.push((entries[idx].op, Failure::kernel(errno, ext)));
                            }
                        }
                    }
                };
                if len > ACK_SLOT {
                    // Truncated: one message whose stated length exceeds
                    // what we hold; its header and error code are there.
                    if let (Some(kind), Some(flags), Some(seq)) = (
                        u16_at(datagram, 4),
                        u16_at(datagram, 6),
                        u32_at(datagram, 8),
                    ) {
                        handle(kind, flags & !NLM_F_ACK_TLVS, seq, datagram);
                    }
                } else {
                    for (kind, flags, seq, msg) in messages(datagram) {
                        handle(kind, flags, seq, msg);
                    }
                }
            }
        }
        failures
    }

    /// One recvmmsg(2): waits for the first datagram (unless `nonblocking`),
    /// takes what else is queued (up to ACK_VLEN). Returns each datagram's full length (which
    /// may exceed ACK_SLOT when truncated).
    fn recv_many(&mut self, nonblocking: bool) -> io::Result<Vec<usize>> {
        let fd = self.sock.as_raw_fd();
        let base = self.acks.as_mut_ptr();
        let mut iov: Vec<libc::iovec> = (0..ACK_VLEN)
            .map(|i| libc::iovec {
                // SAFETY: i * ACK_SLOT < acks.len() = ACK_VLEN * ACK_SLOT.
                iov_base: unsafe { base.add(i * ACK_SLOT) }.cast(),
                iov_len: ACK_SLOT,
            })
            .collect();
        // SAFETY: mmsghdr is plain data; all-zero is a valid value.
        let mut hdrs: Vec<libc::mmsghdr> = (0..ACK_VLEN)
            .map(|_| unsafe { std::mem::zeroed() })
            .collect();
        for (h, v) in hdrs.iter_mut().zip(iov.iter_mut()) {
            h.msg_hdr.msg_iov = v;
            h.msg_hdr.msg_iovlen = 1;
        }
        loop {
            // SAFETY: every header points at one iovec of ACK_SLOT bytes
            // inside self.acks, all of which outlive the call; the kernel
            // writes at most ACK_VLEN headers.
            let n = unsafe {
                libc::recvmmsg(
                    fd,
                    hdrs.as_mut_ptr(),
                    ACK_VLEN as libc::c_uint,
                    if nonblocking {
                        libc::MSG_DONTWAIT | libc::MSG_TRUNC
                    } else {
                        libc::MSG_WAITFORONE | libc::MSG_TRUNC
                    },
                    std::ptr::null_mut(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let n = (n as usize).min(ACK_VLEN);
            return Ok(hdrs[..n].iter().map(|h| h.msg_len as usize).collect());
        }
    }

    /// One recv(2) into the dump buffer; the datagram's full length.
    fn recv_dump(&mut self) -> io::Result<usize> {
        loop {
            // SAFETY: the buffer is valid for writes of its length.
            let n = unsafe {
                libc::recv(
                    self.sock.as_raw_fd(),
                    self.dump.as_mut_ptr().cast(),
                    self.dump.len(),
                    libc::MSG_TRUNC,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            return Ok(n as usize);
        }
    }

    /// Dumps with `request` (NLM_F_DUMP) and returns the replies that `keep`
    /// accepts, parsed. `keep` sees each reply's message type and payload
    /// before parsing, so foreign objects are skipped cheaply and a reply we
    /// cannot parse fails the dump only when it is one we want. An
    /// interrupted dump is retried.
    pub(crate) fn dump(
        &mut self,
        request: RouteNetlinkMessage,
        keep: impl Fn(u16, &[u8]) -> bool,
    ) -> Result<Vec<RouteNetlinkMessage>, Failure> {
        'attempt: for _ in 0..DUMP_TRIES {
            let seq = self.next_seq();
            let mut buf = Vec::new();
            serialize(&mut buf, request.clone(), NLM_F_REQUEST | NLM_F_DUMP, seq);
            self.sock
                .send(&buf, 0)
                .map_err(|e| Failure::io("sendmsg", e))?;
            let mut out = Vec::new();
            let mut interrupted = false;
            // A failure met mid-dump is returned once the dump is drained:
            // the kernel refuses a new dump (EBUSY) while one is running.
            let mut failed: Option<Failure> = None;
            loop {
                let len = self
                    .recv_dump()
                    .map_err(|e| Failure::io("reading a dump", e))?;
                if len > self.dump.len() {
                    failed.get_or_insert(Failure::Io(format!(
                        "dump datagram of {len} bytes exceeds the {} byte buffer",
                        self.dump.len()
                    )));
                    continue;
                }
                for (kind, flags, mseq, msg) in messages(&self.dump[..len]) {
                    if mseq != seq {
                        continue;
                    }
                    interrupted |= flags & NLM_F_DUMP_INTR != 0;
                    match kind {
                        NLMSG_DONE => {
                            if let Some(f) = failed {
                                return Err(f);
                            }
                            if interrupted {
                                continue 'attempt;
                            }
                            // The dump's own status (0, or minus an errno;
                            // ENOENT: the filtered table does not exist).
                            let code = u32_at(msg, NLMSG_HDRLEN).map_or(0, |c| c as i32);
                            let errno = code.checked_neg().unwrap_or(i32::MAX);
                            if errno > 0 && errno != libc::ENOENT {
                                return Err(Failure::kernel(errno, None));
                            }
                            return Ok(out);
                        }
                        NLMSG_ERROR => {
                            let (errno, ext) = parse_error(msg, flags)
                                .ok_or_else(|| Failure::Io("malformed error".into()))?;
                            return Err(Failure::kernel(errno, ext));
                        }
                        _ => {}
                    }
                    if failed.is_some() || !keep(kind, &msg[NLMSG_HDRLEN..]) {
                        continue;
                    }
                    match parse(msg) {
                        Ok(m) => out.push(m),
                        Err(f) => failed = Some(f),
                    }
                }
            }
        }
        Err(Failure::Io(format!(
            "dump interrupted {DUMP_TRIES} times in a row (the kernel tables kept changing)"
        )))
    }

    /// Sends one request with NLM_F_ACK and returns its replies (a GET's
    /// answer), or the kernel's error.
    pub(crate) fn request(
        &mut self,
        request: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, Failure> {
        let seq = self.next_seq();
        let mut buf = Vec::new();
        serialize(&mut buf, request, NLM_F_REQUEST | NLM_F_ACK | flags, seq);
        self.sock
            .send(&buf, 0)
            .map_err(|e| Failure::io("sendmsg", e))?;
        let mut out = Vec::new();
        loop {
            let len = self
                .recv_dump()
                .map_err(|e| Failure::io("waiting for a reply", e))?;
            let datagram = &self.dump[..len.min(self.dump.len())];
            for (kind, flags, mseq, msg) in messages(datagram) {
                if mseq != seq {
                    continue;
                }
                if kind == NLMSG_ERROR {
                    let (errno, ext) = parse_error(msg, flags)
                        .ok_or_else(|| Failure::Io("malformed ack".into()))?;
                    if errno == 0 {
                        return Ok(out);
                    }
                    return Err(Failure::kernel(errno, ext));
                }
                out.push(parse(msg)?);
            }
        }
    }
}

fn parse(msg: &[u8]) -> Result<RouteNetlinkMessage, Failure> {
    let nl = NetlinkMessage::<RouteNetlinkMessage>::deserialize(msg)
        .map_err(|e| Failure::Io(format!("cannot parse a kernel message: {e}")))?;
    match nl.payload {
        NetlinkPayload::InnerMessage(m) => Ok(m),
        other => Err(Failure::Io(format!("unexpected netlink payload {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_capped_ack_with_message() {
        // nlmsghdr (len 56, NLMSG_ERROR, CAPPED|ACK_TLVS, seq 7), error -3,
        // the request's header, then NLMSGERR_ATTR_MSG "no route\0".
        let mut m = Vec::new();
        m.extend_from_slice(&52u32.to_ne_bytes());
        m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m.extend_from_slice(&(NLM_F_CAPPED | NLM_F_ACK_TLVS).to_ne_bytes());
        m.extend_from_slice(&7u32.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&(-3i32).to_ne_bytes());
        m.extend_from_slice(&[0u8; 16]);
        m.extend_from_slice(&13u16.to_ne_bytes());
        m.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        m.extend_from_slice(b"no route\0\0\0\0");
        assert_eq!(m.len(), 52);
        let all: Vec<_> = messages(&m).collect();
        assert_eq!(all.len(), 1);
        let (kind, flags, seq, msg) = all[0];
        assert_eq!((kind, seq), (NLMSG_ERROR, 7));
        assert_eq!(parse_error(msg, flags), Some((3, Some("no route".into()))));
        match Failure::kernel(3, Some("no route".into())) {
            Failure::Kernel { errno, msg } => {
                assert_eq!(errno, 3);
                assert!(msg.ends_with(": no route"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn never_reads_past_a_short_or_lying_buffer() {
        assert_eq!(messages(&[]).count(), 0);
        assert_eq!(messages(&[1, 2, 3]).count(), 0);
        // Claims 200 bytes, has 20.
        let mut m = vec![0u8; 20];
        m[..4].copy_from_slice(&200u32.to_ne_bytes());
        assert_eq!(messages(&m).count(), 0);
        // Claims fewer than a header.
        m[..4].copy_from_slice(&4u32.to_ne_bytes());
        assert_eq!(messages(&m).count(), 0);
        // An error message too short for its code.
        let mut e = vec![0u8; 16];
        e[..4].copy_from_slice(&16u32.to_ne_bytes());
        assert_eq!(parse_error(&e, NLM_F_ACK_TLVS), None);
        // TLVs claiming more than there is.
        let mut t = vec![0u8; 40];
        t[36..38].copy_from_slice(&100u16.to_ne_bytes());
        assert_eq!(
            parse_error(&t, NLM_F_CAPPED | NLM_F_ACK_TLVS),
            Some((0, None))
        );
    }
}
