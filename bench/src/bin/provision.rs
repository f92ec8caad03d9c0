//! `provision`: the SNMP client of the l3vpnd benchmarks (bench/provision.sh).
//!
//! One binary, several modes, all strictly sequential (one request in flight)
//! over one UDP socket, every loop bounded in count and time:
//!
//! * `provision` (default): create `--count` VRFs, one SET PDU each
//!   (mplsL3VpnVrfRD = "65000:<i>", StorageType nonVolatile(3),
//!   RowStatus createAndGo(4)); every SET must come back with error-status 0.
//!   Prints VRFs/s and SET latency percentiles.
//! * `vrf-import`: create `--count` VRFs `<prefix><i>` for i from `--start`,
//!   each with one SET PDU of four varbinds: mplsL3VpnVrfRD = "<rd-asn>:<r>",
//!   RowStatus createAndGo, and one mplsL3VpnVrfRTTable row (RTIndex 1,
//!   type import(1)) with mplsL3VpnVrfRT = "<rt-asn>:<r>" and RowStatus
//!   createAndGo, where r = `--first-rt` + (i - `--start`) (default: r = i).
//!   StorageType is the agent's default (volatile unless configured).
//!   Used by bench/bgp_ingest.sh (l3vpnd-full) to give every route target of
//!   the feed its importing VRF.
//! * `get-loop`: `--count` sequential GETs of `--oid` (round-trip baseline).
//! * `set-loop`: `--count` sequential SETs of `--oid` to the string `--value`
//!   (used to verify the client against net-snmp snmpd, e.g. sysContact.0).
//! * `wait-ready`: poll GET `--oid` every `--poll-ms` until its value equals
//!   `--expect`; report milliseconds since `--since-ns` (wall clock, ns since
//!   the Unix epoch, e.g. `date +%s%N` taken just before the daemon was
//!   spawned) or since this process started.
//! * `get`: one GET of `--oid`, prints the value.
//! * `free-port`: print a currently free UDP port on 127.0.0.1.
//!
//! A request waits `--timeout-ms` (2000) for its Response and is resent up to
//! `--retries` (3) times with the same request-id; retries are counted.
//! Every mode ends with one machine-readable line starting with `RESULT `.

use std::io::ErrorKind;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use l3vpnd_bench::*;
use rasn::types::ObjectIdentifier;
use rasn_snmp::v2::{ObjectSyntax, Pdu, VarBind, VarBindValue};

/// mplsL3VpnVrfEntry (RFC 4382).
const COL_VRF_RD: u32 = 4;
const COL_VRF_ROW_STATUS: u32 = 13;
const COL_VRF_STORAGE_TYPE: u32 = 15;
/// mplsL3VpnVrfRTEntry (RFC 4382), index VrfName, RTIndex, RTType.
const RT_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 2, 3, 1];
const COL_RT_RT: u32 = 4;
const COL_RT_ROW_STATUS: u32 = 6;
/// mplsL3VpnVrfRTType import(1).
const RT_TYPE_IMPORT: u32 = 1;
const NON_VOLATILE: i32 = 3;
const CREATE_AND_GO: i32 = 4;
/// mplsL3VpnConfiguredVrfs.0
const CONFIGURED_VRFS: &str = "1.3.6.1.2.1.10.166.11.1.1.1.0";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Provision,
    VrfImport,
    GetLoop,
    SetLoop,
    WaitReady,
    Get,
    FreePort,
}

#[derive(Debug, Clone)]
struct Opts {
    mode: Mode,
    target: String,
    community: String,
    count: u64,
    start: u64,
    prefix: String,
    rd_asn: u32,
    rt_asn: u32,
    first_rt: Option<u64>,
    oid: Option<String>,
    value: String,
    expect: Option<String>,
    since_ns: Option<u128>,
    timeout_ms: u64,
    retries: u32,
    poll_ms: u64,
    max_wait_ms: u64,
    quiet: bool,
}

const USAGE: &str = "\
usage: provision [--mode provision|vrf-import|get-loop|set-loop|wait-ready|get|free-port]
                 [--target ADDR:PORT] [--community C] [--count N] [--start I]
                 [--prefix NAME] [--rd-asn ASN] [--rt-asn ASN] [--first-rt R]
                 [--oid OID] [--value STRING]
                 [--expect VALUE] [--since-ns EPOCH_NS] [--timeout-ms MS]
                 [--retries N] [--poll-ms MS] [--max-wait-ms MS] [--quiet]
  shortcuts: --wait-ready  (= --mode wait-ready), --get-loop, --set-loop
  defaults: --target 127.0.0.1:161 --community private --count 10000 --start 1
            --prefix vrf --rd-asn 65000 --rt-asn 65000 --first-rt (= --start)
            --timeout-ms 2000 --retries 3
            --poll-ms 10 --max-wait-ms 60000
            --oid 1.3.6.1.2.1.1.3.0 (get-loop), mplsL3VpnConfiguredVrfs.0 (wait-ready, get)";

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        mode: Mode::Provision,
        target: "127.0.0.1:161".into(),
        community: "private".into(),
        count: 10_000,
        start: 1,
        prefix: "vrf".into(),
        rd_asn: 65000,
        rt_asn: 65000,
        first_rt: None,
        oid: None,
        value: "l3vpnd-bench".into(),
        expect: None,
        since_ns: None,
        timeout_ms: 2000,
        retries: 3,
        poll_ms: 10,
        max_wait_ms: 60_000,
        quiet: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--mode" => {
                o.mode = match val("--mode")?.as_str() {
                    "provision" => Mode::Provision,
                    "vrf-import" => Mode::VrfImport,
                    "get-loop" => Mode::GetLoop,
                    "set-loop" => Mode::SetLoop,
                    "wait-ready" => Mode::WaitReady,
                    "get" => Mode::Get,
                    "free-port" => Mode::FreePort,
                    m => return Err(format!("unknown mode {m}")),
                }
            }
            "--wait-ready" => o.mode = Mode::WaitReady,
            "--get-loop" => o.mode = Mode::GetLoop,
            "--set-loop" => o.mode = Mode::SetLoop,
            "--target" => o.target = val("--target")?,
            "--community" => o.community = val("--community")?,
            "--count" => o.count = num(&val("--count")?)?,
            "--start" => o.start = num(&val("--start")?)?,
            "--prefix" => o.prefix = val("--prefix")?,
            "--rd-asn" => o.rd_asn = num(&val("--rd-asn")?)?,
            "--rt-asn" => o.rt_asn = num(&val("--rt-asn")?)?,
            "--first-rt" => o.first_rt = Some(num(&val("--first-rt")?)?),
            "--oid" => o.oid = Some(val("--oid")?),
            "--value" => o.value = val("--value")?,
            "--expect" => o.expect = Some(val("--expect")?),
            "--since-ns" => o.since_ns = Some(num(&val("--since-ns")?)?),
            "--timeout-ms" => o.timeout_ms = num(&val("--timeout-ms")?)?,
            "--retries" => o.retries = num(&val("--retries")?)?,
            "--poll-ms" => o.poll_ms = num(&val("--poll-ms")?)?,
            "--max-wait-ms" => o.max_wait_ms = num(&val("--max-wait-ms")?)?,
            "--quiet" | "-q" => o.quiet = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.timeout_ms == 0 || o.poll_ms == 0 {
        return Err("--timeout-ms and --poll-ms must be > 0".into());
    }
    Ok(o)
}

fn parse_oid(s: &str) -> Result<ObjectIdentifier, String> {
    let arcs: Result<Vec<u32>, _> = s
        .trim_start_matches('.')
        .split('.')
        .map(str::parse)
        .collect();
    let arcs = arcs.map_err(|_| format!("bad OID {s}"))?;
    ObjectIdentifier::new(arcs).ok_or_else(|| format!("bad OID {s}"))
}

/// The three varbinds that create VRF `name` with RD `rd`.
fn vrf_create_varbinds(name: &str, rd: &str) -> Vec<VarBind> {
    let n = name.as_bytes();
    vec![
        vb(vrf_oid(COL_VRF_RD, n), octets(rd)),
        vb(vrf_oid(COL_VRF_STORAGE_TYPE, n), int(NON_VOLATILE)),
        vb(vrf_oid(COL_VRF_ROW_STATUS, n), int(CREATE_AND_GO)),
    ]
}

/// The OID of column `col` of the RT row (`name`, `index`, `rt_type`).
fn rt_oid(col: u32, name: &[u8], index: u32, rt_type: u32) -> ObjectIdentifier {
    let mut arcs = RT_ENTRY.to_vec();
    arcs.push(col);
    arcs.push(name.len() as u32);
    arcs.extend(name.iter().map(|&b| u32::from(b)));
    arcs.push(index);
    arcs.push(rt_type);
    ObjectIdentifier::new_unchecked(arcs.into())
}

/// The four varbinds that create VRF `name` with RD `rd` and one import
/// route target `rt` (RTIndex 1), all active, in one PDU.
fn vrf_import_varbinds(name: &str, rd: &str, rt: &str) -> Vec<VarBind> {
    let n = name.as_bytes();
    vec![
        vb(vrf_oid(COL_VRF_RD, n), octets(rd)),
        vb(vrf_oid(COL_VRF_ROW_STATUS, n), int(CREATE_AND_GO)),
        vb(rt_oid(COL_RT_RT, n, 1, RT_TYPE_IMPORT), octets(rt)),
        vb(
            rt_oid(COL_RT_ROW_STATUS, n, 1, RT_TYPE_IMPORT),
            int(CREATE_AND_GO),
        ),
    ]
}

/// Content octets of the BER encoding of an SMI value: (tag, content).
fn ber_tlv(v: &ObjectSyntax) -> Option<(u8, Vec<u8>)> {
    let b = rasn::ber::encode(v).ok()?;
    let tag = *b.first()?;
    let l0 = *b.get(1)? as usize;
    let (len, off) = if l0 < 0x80 {
        (l0, 2)
    } else {
        let n = l0 & 0x7f;
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    Some((tag, b.get(off..off + len)?.to_vec()))
}

/// Renders a varbind value like net-snmp's `-Oqv` would, roughly.
fn render(v: &VarBindValue) -> String {
    match v {
        VarBindValue::Unspecified => "NULL".into(),
        VarBindValue::NoSuchObject => "noSuchObject".into(),
        VarBindValue::NoSuchInstance => "noSuchInstance".into(),
        VarBindValue::EndOfMibView => "endOfMibView".into(),
        VarBindValue::Value(s) => match ber_tlv(s) {
            // INTEGER (signed)
            Some((0x02, c)) => {
                let mut x: i128 = if c.first().is_some_and(|&b| b & 0x80 != 0) {
                    -1
                } else {
                    0
                };
                for b in c {
                    x = (x << 8) | i128::from(b);
                }
                x.to_string()
            }
            // Counter32, Gauge32, TimeTicks, Counter64 (unsigned)
            Some((0x41..=0x43 | 0x46, c)) => c
                .iter()
                .fold(0u128, |x, &b| (x << 8) | u128::from(b))
                .to_string(),
            Some((0x04, c)) => String::from_utf8_lossy(&c).into_owned(),
            _ => format!("{s:?}"),
        },
    }
}

/// Checks a Response to a request that must succeed; Err describes the failure.
fn check_ok(p: &Pdu) -> Result<(), String> {
    if p.error_status != 0 {
        let vb = p
            .variable_bindings
            .get((p.error_index as usize).wrapping_sub(1))
            .map(|v| v.name.to_string())
            .unwrap_or_else(|| "-".into());
        return Err(format!(
            "error-status {}({}) error-index {} (varbind {})",
            error_name(p.error_status),
            p.error_status,
            p.error_index,
            vb
        ));
    }
    for v in &p.variable_bindings {
        if matches!(
            v.value,
            VarBindValue::NoSuchObject | VarBindValue::NoSuchInstance | VarBindValue::EndOfMibView
        ) {
            return Err(format!("{} = {}", v.name, render(&v.value)));
        }
    }
    Ok(())
}

/// Runs `count` sequential requests built by `make(i)`; returns sorted
/// latencies (ns) and the elapsed wall time.
fn run_loop<F>(
    c: &mut Client,
    o: &Opts,
    what: &str,
    mut make: F,
) -> Result<(Vec<u64>, Duration), String>
where
    F: FnMut(&mut Client, u64) -> Result<Pdu, TxError>,
{
    let mut lat = Vec::with_capacity(o.count as usize);
    let t0 = Instant::now();
    let mut seg_start = t0;
    for k in 0..o.count {
        let i = o.start + k;
        let t = Instant::now();
        let p = make(c, i).map_err(|e| format!("{what} #{i}: {e}"))?;
        lat.push(t.elapsed().as_nanos() as u64);
        check_ok(&p).map_err(|e| format!("{what} #{i}: {e}"))?;
        if !o.quiet && (k + 1) % 2000 == 0 {
            // progress with the rate and median latency of the last 2000
            let mut seg = lat[(k + 1 - 2000) as usize..].to_vec();
            seg.sort_unstable();
            eprintln!(
                "  {what}: {} done, {:.1} s; last 2000: {:.0}/s, p50 {:.0} us, p99 {:.0} us",
                k + 1,
                t0.elapsed().as_secs_f64(),
                2000.0 / seg_start.elapsed().as_secs_f64(),
                pct_us(&seg, 50.0),
                pct_us(&seg, 99.0)
            );
            seg_start = Instant::now();
        }
    }
    let el = t0.elapsed();
    lat.sort_unstable();
    Ok((lat, el))
}

fn report_loop(mode: &str, unit: &str, c: &Client, o: &Opts, lat: &[u64], el: Duration) {
    let rate = o.count as f64 / el.as_secs_f64();
    println!(
        "{mode}: {} {unit} in {:.3} s = {:.0} {unit}/s; latency p50 {:.0} us, p99 {:.0} us, max {:.0} us; retries {}",
        o.count,
        el.as_secs_f64(),
        rate,
        pct_us(lat, 50.0),
        pct_us(lat, 99.0),
        pct_us(lat, 100.0),
        c.retries_used
    );
    println!(
        "RESULT mode={mode} count={} secs={:.6} rate={:.1} p50_us={:.1} p99_us={:.1} max_us={:.1} retries={}",
        o.count,
        el.as_secs_f64(),
        rate,
        pct_us(lat, 50.0),
        pct_us(lat, 99.0),
        pct_us(lat, 100.0),
        c.retries_used
    );
}

fn provision(o: &Opts) -> Result<(), String> {
    let mut c = client(o)?;
    let last = o.start + o.count.saturating_sub(1);
    if o.prefix.len() + last.to_string().len() > 31 {
        return Err("VRF names must be 1..31 octets".into());
    }
    let (prefix, asn) = (o.prefix.clone(), o.rd_asn);
    let (lat, el) = run_loop(&mut c, o, "SET", |c, i| {
        let name = format!("{prefix}{i}");
        let rd = format!("{asn}:{i}");
        c.set(vrf_create_varbinds(&name, &rd))
    })?;
    report_loop("provision", "VRFs", &c, o, &lat, el);
    Ok(())
}

fn vrf_import(o: &Opts) -> Result<(), String> {
    let mut c = client(o)?;
    let last = o.start + o.count.saturating_sub(1);
    if o.prefix.len() + last.to_string().len() > 31 {
        return Err("VRF names must be 1..31 octets".into());
    }
    let first_rt = o.first_rt.unwrap_or(o.start);
    if first_rt + o.count.saturating_sub(1) > u64::from(u32::MAX) {
        return Err("route target numbers must fit in 32 bits".into());
    }
    let (prefix, start, rd_asn, rt_asn) = (o.prefix.clone(), o.start, o.rd_asn, o.rt_asn);
    let (lat, el) = run_loop(&mut c, o, "SET", |c, i| {
        let r = first_rt + (i - start);
        let name = format!("{prefix}{i}");
        c.set(vrf_import_varbinds(
            &name,
            &format!("{rd_asn}:{r}"),
            &format!("{rt_asn}:{r}"),
        ))
    })?;
    report_loop("vrf-import", "VRFs", &c, o, &lat, el);
    Ok(())
}

fn get_loop(o: &Opts) -> Result<(), String> {
    let oid = parse_oid(o.oid.as_deref().unwrap_or("1.3.6.1.2.1.1.3.0"))?;
    let mut c = client(o)?;
    let (lat, el) = run_loop(&mut c, o, "GET", |c, _| c.get(vec![oid.clone()]))?;
    report_loop("get-loop", "GETs", &c, o, &lat, el);
    Ok(())
}

fn set_loop(o: &Opts) -> Result<(), String> {
    let oid = parse_oid(o.oid.as_deref().ok_or("set-loop needs --oid")?)?;
    let mut c = client(o)?;
    let value = o.value.clone();
    let (lat, el) = run_loop(&mut c, o, "SET", |c, _| {
        c.set(vec![vb(oid.clone(), octets(&value))])
    })?;
    report_loop("set-loop", "SETs", &c, o, &lat, el);
    Ok(())
}

fn get_once(o: &Opts) -> Result<(), String> {
    let oid = parse_oid(o.oid.as_deref().unwrap_or(CONFIGURED_VRFS))?;
    let mut c = client(o)?;
    let p = c
        .get(vec![oid.clone()])
        .map_err(|e| format!("GET {oid}: {e}"))?;
    if p.error_status != 0 {
        return Err(format!(
            "GET {oid}: error-status {}",
            error_name(p.error_status)
        ));
    }
    let v = p
        .variable_bindings
        .first()
        .map(|v| render(&v.value))
        .unwrap_or_default();
    println!("{v}");
    println!("RESULT mode=get oid={oid} value={v}");
    Ok(())
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Polls GET `oid` every `poll_ms` until the value equals `expect`.
fn wait_ready(o: &Opts) -> Result<(), String> {
    let oid = parse_oid(o.oid.as_deref().unwrap_or(CONFIGURED_VRFS))?;
    let expect = o.expect.clone().ok_or("wait-ready needs --expect VALUE")?;
    let since = o.since_ns.unwrap_or_else(now_ns);
    let c = client(o)?;
    let poll = Duration::from_millis(o.poll_ms);
    let limit = Instant::now() + Duration::from_millis(o.max_wait_ms);
    let ms_since = |t: u128| t.saturating_sub(since) as f64 / 1e6;
    let first_id = c.peek_id();
    let mut id = first_id;
    let mut buf = vec![0u8; 65536];
    let mut polls = 0u64;
    let mut first_answer: Option<(f64, String)> = None;
    let mut last_value = String::from("(no answer)");
    while Instant::now() < limit {
        polls += 1;
        let msg = c.get_msg(id, &oid);
        let sent = Instant::now();
        // A refused send (nobody listening yet) skips the wait below.
        let mut waiting = !matches!(c.socket().send(&msg), Err(ref e) if e.kind() == ErrorKind::ConnectionRefused);
        let window_end = sent + poll;
        // Wait for an answer until this poll's window closes; answers to
        // earlier polls (late) count too, they are just as fresh a proof.
        while waiting {
            let now = Instant::now();
            if now >= window_end {
                waiting = false;
                continue;
            }
            c.socket()
                .set_read_timeout(Some(window_end - now))
                .map_err(|e| e.to_string())?;
            match c.socket().recv(&mut buf) {
                Ok(n) => {
                    let Some(p) = decode_response(&buf[..n]) else {
                        continue;
                    };
                    if p.request_id < first_id || p.request_id > id {
                        continue;
                    }
                    let t = now_ns();
                    let v = if p.error_status != 0 {
                        format!("error-status {}", error_name(p.error_status))
                    } else {
                        p.variable_bindings
                            .first()
                            .map(|v| render(&v.value))
                            .unwrap_or_default()
                    };
                    if first_answer.is_none() {
                        first_answer = Some((ms_since(t), v.clone()));
                    }
                    if v == expect {
                        let (fa_ms, fa_v) = first_answer.clone().unwrap_or_default();
                        println!(
                            "ready: {oid} = {v} after {:.1} ms (first answer after {fa_ms:.1} ms: {fa_v}); {polls} polls",
                            ms_since(t)
                        );
                        println!(
                            "RESULT mode=wait-ready ready_ms={:.3} first_answer_ms={fa_ms:.3} polls={polls}",
                            ms_since(t)
                        );
                        return Ok(());
                    }
                    last_value = v;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => break,
                Err(e) => return Err(format!("recv: {e}")),
            }
        }
        let rest = window_end.saturating_duration_since(Instant::now());
        std::thread::sleep(rest);
        id = if id == i32::MAX { 1 } else { id + 1 };
    }
    Err(format!(
        "not ready after {} ms ({polls} polls): {oid} last = {last_value}, expected {expect}",
        o.max_wait_ms
    ))
}

fn free_port() -> Result<(), String> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = s.local_addr().map_err(|e| e.to_string())?.port();
    println!("{port}");
    Ok(())
}

/// The client the options name.
fn client(o: &Opts) -> Result<Client, String> {
    Client::new(
        &o.target,
        &o.community,
        Duration::from_millis(o.timeout_ms),
        o.retries,
    )
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("provision: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let r = match o.mode {
        Mode::Provision => provision(&o),
        Mode::VrfImport => vrf_import(&o),
        Mode::GetLoop => get_loop(&o),
        Mode::SetLoop => set_loop(&o),
        Mode::WaitReady => wait_ready(&o),
        Mode::Get => get_once(&o),
        Mode::FreePort => free_port(),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("provision: {e}");
            println!("RESULT mode=error");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rasn_snmp::v2::{Pdus, SetRequest};
    use rasn_snmp::v2c::Message;

    #[test]
    fn vrf_oid_has_length_prefixed_name() {
        let o = vrf_oid(COL_VRF_RD, b"red");
        assert_eq!(
            o.to_string(),
            "1.3.6.1.2.1.10.166.11.1.2.2.1.4.3.114.101.100"
        );
    }

    #[test]
    fn set_round_trips() {
        let bytes = encode(
            "private",
            SetRequest(pdu(42, vrf_create_varbinds("red", "65000:1"))),
        );
        let m: Message<Pdus> = rasn::ber::decode(&bytes).unwrap();
        assert_eq!(m.community.as_ref(), b"private");
        let Pdus::SetRequest(SetRequest(p)) = m.data else {
            panic!("not a SET")
        };
        assert_eq!(p.request_id, 42);
        assert_eq!(p.variable_bindings.len(), 3);
        assert_eq!(render(&p.variable_bindings[0].value), "65000:1");
        assert_eq!(render(&p.variable_bindings[1].value), "3");
        assert_eq!(render(&p.variable_bindings[2].value), "4");
    }

    #[test]
    fn vrf_import_pdu() {
        let vbs = vrf_import_varbinds("v1", "65001:0", "65000:0");
        let names: Vec<String> = vbs.iter().map(|v| v.name.to_string()).collect();
        assert_eq!(
            names,
            [
                "1.3.6.1.2.1.10.166.11.1.2.2.1.4.2.118.49",
                "1.3.6.1.2.1.10.166.11.1.2.2.1.13.2.118.49",
                "1.3.6.1.2.1.10.166.11.1.2.3.1.4.2.118.49.1.1",
                "1.3.6.1.2.1.10.166.11.1.2.3.1.6.2.118.49.1.1",
            ]
        );
        assert_eq!(render(&vbs[0].value), "65001:0");
        assert_eq!(render(&vbs[1].value), "4");
        assert_eq!(render(&vbs[2].value), "65000:0");
        assert_eq!(render(&vbs[3].value), "4");
    }

    #[test]
    fn renders_application_types() {
        // TimeTicks 10000 and Gauge32 3000000000, as BER.
        let t: ObjectSyntax = rasn::ber::decode(&[0x43, 0x02, 0x27, 0x10]).unwrap();
        assert_eq!(render(&VarBindValue::Value(t)), "10000");
        let g: ObjectSyntax =
            rasn::ber::decode(&[0x42, 0x05, 0x00, 0xb2, 0xd0, 0x5e, 0x00]).unwrap();
        assert_eq!(render(&VarBindValue::Value(g)), "3000000000");
        assert_eq!(render(&int(-5)), "-5");
    }

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(pct_us(&v, 50.0), 50.0);
        assert_eq!(pct_us(&v, 99.0), 99.0);
        assert_eq!(pct_us(&v, 100.0), 100.0);
    }
}
