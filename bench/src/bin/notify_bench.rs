//! `notify_bench`: the SNMP client of bench/notify.sh.
//!
//! Against an l3vpnd whose configuration sends informs to a receiver:
//!
//! 1. creates `--vrfs` VRFs (`nb1`, `nb2`, ...) with
//!    mplsL3VpnVrfConfMidRteThresh 1 and ...HighRteThresh 2, one SET each,
//!    and sets mplsL3VpnNotificationEnable true(1);
//! 2. measures the GET latency of an idle agent (`--gets` sequential GETs
//!    of mplsL3VpnConfiguredVrfs.0);
//! 3. the burst: adds 3 static routes to every VRF, `--per-pdu` VRFs per SET
//!    PDU (3 route rows each), as fast as the agent answers: every VRF
//!    crosses Mid (at 2 routes) and High (at 3) in one commit, so the agent
//!    originates 2 x `--vrfs` informs; meanwhile a second manager (another
//!    socket, another thread) GETs mplsL3VpnConfiguredVrfs.0 in a loop and
//!    a third polls l3vpndNotifyInformsAcked.0 every 10 ms;
//! 4. reports the time from the first route SET until the acked counter
//!    reaches the number of informs expected, and the other manager's GET
//!    latency during that time (p50/p99/max).
//!
//! Ends with one `RESULT key=value ...` line.

use std::net::UdpSocket;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rasn::types::{Integer, ObjectIdentifier, OctetString};
use rasn_snmp::v2::{GetRequest, ObjectSyntax, Pdu, Pdus, SetRequest, VarBind, VarBindValue};
use rasn_snmp::v2c::Message;

const VRF_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 2, 1];
const RTE_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 4, 1, 1];
const NOTIFICATION_ENABLE: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 1, 4, 0];
const CONFIGURED_VRFS: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 1, 1, 0];
/// l3vpndNotifyInformsAcked.0 / l3vpndNotifyInformsSent.0 / ...Lost / Dropped.
const ACKED: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4, 3, 0];
const SENT: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4, 2, 0];
const RETRIED: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4, 4, 0];
const LOST: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4, 5, 0];
const DROPPED: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1, 4, 6, 0];

struct Opts {
    target: String,
    vrfs: u32,
    per_pdu: u32,
    gets: u32,
    max_wait_s: u64,
}

fn oid(o: &[u32]) -> ObjectIdentifier {
    ObjectIdentifier::new_unchecked(std::borrow::Cow::Owned(o.to_vec()))
}

/// A value from its BER TLV (rasn-smi is not a dependency of this crate).
fn tlv(tag: u8, v: u32) -> VarBindValue {
    let be = (v as u64).to_be_bytes();
    let mut i = 0;
    while i < 7 && be[i] == 0 && be[i + 1] & 0x80 == 0 {
        i += 1;
    }
    let mut b = vec![tag, (8 - i) as u8];
    b.extend_from_slice(&be[i..]);
    VarBindValue::Value(rasn::ber::decode::<ObjectSyntax>(&b).expect("a valid TLV"))
}

fn int(i: i32) -> VarBindValue {
    tlv(0x02, i as u32)
}

fn unsigned(u: u32) -> VarBindValue {
    tlv(0x42, u)
}

fn vb(name: Vec<u32>, value: VarBindValue) -> VarBind {
    VarBind {
        name: oid(&name),
        value,
    }
}

fn name_index(name: &str) -> Vec<u32> {
    let mut v = vec![name.len() as u32];
    v.extend(name.bytes().map(|b| b as u32));
    v
}

fn col(entry: &[u32], c: u32, idx: &[u32]) -> Vec<u32> {
    let mut o = entry.to_vec();
    o.push(c);
    o.extend_from_slice(idx);
    o
}

/// Route n of a VRF: 10.0.0.n/32 via 192.0.2.1, policy {0 0}.
fn route_index(vrf: &str, n: u32) -> Vec<u32> {
    let mut v = name_index(vrf);
    v.extend([1, 4, 10, 0, 0, n, 32, 2, 0, 0, 1, 4, 192, 0, 2, 1]);
    v
}

struct Client {
    sock: UdpSocket,
    id: i32,
}

impl Client {
    fn new(target: &str) -> Result<Client, String> {
        let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        sock.connect(target).map_err(|e| format!("{target}: {e}"))?;
        sock.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        Ok(Client { sock, id: 1 })
    }

    fn request(&mut self, community: &str, pdu: Pdus) -> Result<Pdu, String> {
        let m = Message {
            version: Integer::from(1),
            community: OctetString::from(community.as_bytes().to_vec()),
            data: pdu,
        };
        let b = rasn::ber::encode(&m).map_err(|e| e.to_string())?;
        self.sock.send(&b).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 65536];
        loop {
            let n = self
                .sock
                .recv(&mut buf)
                .map_err(|e| format!("no response: {e}"))?;
            if let Ok(m) = rasn::ber::decode::<Message<Pdus>>(&buf[..n]) {
                if let Pdus::Response(r) = m.data {
                    if r.0.request_id == self.id {
                        return Ok(r.0);
                    }
                }
            }
        }
    }

    fn next_id(&mut self) -> i32 {
        self.id = self.id.wrapping_add(1) & 0x7fff_ffff;
        self.id
    }

    fn set(&mut self, vbs: Vec<VarBind>) -> Result<(), String> {
        let id = self.next_id();
        let p = self.request(
            "private",
            Pdus::SetRequest(SetRequest(Pdu {
                request_id: id,
                error_status: 0,
                error_index: 0,
                variable_bindings: vbs,
            })),
        )?;
        if p.error_status != 0 {
            return Err(format!(
                "SET failed: error-status {} at {}",
                p.error_status, p.error_index
            ));
        }
        Ok(())
    }

    fn get(&mut self, o: &[u32]) -> Result<u64, String> {
        let id = self.next_id();
        let p = self.request(
            "public",
            Pdus::GetRequest(GetRequest(Pdu {
                request_id: id,
                error_status: 0,
                error_index: 0,
                variable_bindings: vec![vb(o.to_vec(), VarBindValue::Unspecified)],
            })),
        )?;
        let v = p.variable_bindings.first().ok_or("empty response")?;
        // INTEGER, Counter32 or Gauge32: the content octets of the TLV.
        let VarBindValue::Value(val) = &v.value else {
            return Err(format!("unexpected value {:?}", v.value));
        };
        let b = rasn::ber::encode(val).map_err(|e| e.to_string())?;
        if b.len() < 2 || !matches!(b[0], 0x02 | 0x41 | 0x42) {
            return Err(format!("unexpected value {val:?}"));
        }
        Ok(b[2..].iter().fold(0u64, |a, &x| (a << 8) | x as u64))
    }
}

fn pct(v: &mut [u64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i] as f64 / 1000.0
}

fn run(o: &Opts) -> Result<(), String> {
    let mut c = Client::new(&o.target)?;
    // Ready?
    let t = Instant::now();
    while c.get(CONFIGURED_VRFS).is_err() {
        if t.elapsed() > Duration::from_secs(10) {
            return Err("the agent does not answer".into());
        }
    }
    // Whatever was sent before (coldStart) is acknowledged first.
    let t = Instant::now();
    while c.get(SENT)? == 0 || c.get(ACKED)? < c.get(SENT)? {
        if t.elapsed() > Duration::from_secs(10) {
            return Err("earlier informs (coldStart) are not acknowledged".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let base_acked = c.get(ACKED)?;
    let base_sent = c.get(SENT)?;
    // 1. VRFs with Mid 1 / High 2.
    let t = Instant::now();
    for i in 1..=o.vrfs {
        let idx = name_index(&format!("nb{i}"));
        c.set(vec![
            vb(col(VRF_ENTRY, 9, &idx), unsigned(1)),
            vb(col(VRF_ENTRY, 10, &idx), unsigned(2)),
            vb(col(VRF_ENTRY, 13, &idx), int(4)),
        ])?;
    }
    c.set(vec![vb(NOTIFICATION_ENABLE.to_vec(), int(1))])?;
    eprintln!(
        "setup: {} VRFs in {:.2} s",
        o.vrfs,
        t.elapsed().as_secs_f64()
    );
    // 2. Idle GET latency.
    let mut idle = Vec::with_capacity(o.gets as usize);
    for _ in 0..o.gets {
        let t = Instant::now();
        c.get(CONFIGURED_VRFS)?;
        idle.push(t.elapsed().as_micros() as u64);
    }
    // 3. The burst, with another manager's GETs and the acked poller.
    let expect = 2 * o.vrfs as u64;
    let stop = Arc::new(AtomicBool::new(false));
    let getter = {
        let stop = stop.clone();
        let target = o.target.clone();
        std::thread::spawn(move || -> Result<Vec<u64>, String> {
            let mut g = Client::new(&target)?;
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                g.get(CONFIGURED_VRFS)?;
                lat.push(t.elapsed().as_micros() as u64);
            }
            Ok(lat)
        })
    };
    let t0 = Instant::now();
    let poller = {
        let target = o.target.clone();
        let max = Duration::from_secs(o.max_wait_s);
        std::thread::spawn(move || -> Result<(Duration, u64), String> {
            let mut p = Client::new(&target)?;
            loop {
                let n = p.get(ACKED)?.saturating_sub(base_acked);
                if n >= expect {
                    return Ok((t0.elapsed(), n));
                }
                if t0.elapsed() > max {
                    return Err(format!(
                        "only {n} of {expect} informs acknowledged in {max:?}"
                    ));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let mut i = 1;
    while i <= o.vrfs {
        let mut vbs = Vec::new();
        for v in i..(i + o.per_pdu).min(o.vrfs + 1) {
            let name = format!("nb{v}");
            for n in 1..=3 {
                vbs.push(vb(col(RTE_ENTRY, 18, &route_index(&name, n)), int(4)));
            }
        }
        c.set(vbs)?;
        i += o.per_pdu;
    }
    let sets_done = t0.elapsed();
    let res = poller.join().map_err(|_| "poller panicked")?;
    stop.store(true, Ordering::Relaxed);
    let mut during = getter.join().map_err(|_| "getter panicked")??;
    let (acked_at, acked) = res?;
    let sent = c.get(SENT)? - base_sent;
    let retried = c.get(RETRIED)?;
    let lost = c.get(LOST)?;
    let dropped = c.get(DROPPED)?;
    println!(
        "RESULT vrfs={} informs={} acked={} route_sets_s={:.3} all_acked_s={:.3} \
         informs_per_s={:.0} sent={} retried={} lost={} dropped={} \
         idle_get_p50_ms={:.3} idle_get_p99_ms={:.3} \
         get_p50_ms={:.3} get_p99_ms={:.3} get_max_ms={:.3} gets_during={}",
        o.vrfs,
        expect,
        acked,
        sets_done.as_secs_f64(),
        acked_at.as_secs_f64(),
        expect as f64 / acked_at.as_secs_f64(),
        sent,
        retried,
        lost,
        dropped,
        pct(&mut idle, 0.5),
        pct(&mut idle, 0.99),
        pct(&mut during, 0.5),
        pct(&mut during, 0.99),
        pct(&mut during, 1.0),
        during.len(),
    );
    Ok(())
}

fn main() -> ExitCode {
    let mut o = Opts {
        target: "127.0.0.1:161".into(),
        vrfs: 1000,
        per_pdu: 10,
        gets: 2000,
        max_wait_s: 120,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_default();
        match a.as_str() {
            "--target" => o.target = val(),
            "--vrfs" => o.vrfs = val().parse().unwrap_or(1000),
            "--per-pdu" => o.per_pdu = val().parse().unwrap_or(10).max(1),
            "--gets" => o.gets = val().parse().unwrap_or(2000),
            "--max-wait-s" => o.max_wait_s = val().parse().unwrap_or(120),
            _ => {
                eprintln!(
                    "usage: notify_bench [--target ADDR:PORT] [--vrfs N] [--per-pdu N] \
                     [--gets N] [--max-wait-s S]"
                );
                return ExitCode::from(2);
            }
        }
    }
    match run(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("notify_bench: {e}");
            ExitCode::FAILURE
        }
    }
}
