//! `routes`: the SNMP client of bench/bigwalk.sh (big route-table walk).
//!
//! One binary, several modes, all strictly sequential (one request in flight)
//! over one UDP socket to a loopback agent, every loop bounded:
//!
//! * `vrfs`: create `--vrfs` VRFs named `<prefix>1..`, one SET PDU each
//!   (mplsL3VpnVrfRD "<rd-asn>:<i>", StorageType volatile(2) by default so
//!   nothing touches the disk, RowStatus createAndGo(4)).
//! * `load`: create `--per-vrf` static routes in each of those VRFs through
//!   mplsL3VpnVrfRteTable, `--batch` routes per SET PDU (one varbind per
//!   route: RouteStatus createAndGo, plus RouteType remote(4) with
//!   `--with-type`). Route `i` (0-based) of a VRF is
//!   10.0.0.0 + i * 2^(32 - plen) / `--plen` via 192.0.2.(1 + vrf % 250).
//!   Every SET must come back noError. Prints routes/s and SET latency.
//! * `count`: sum mplsL3VpnVrfPerfCurrNumRoutes over the `--vrfs` VRFs
//!   (GET, `--per-get` VRFs per PDU); `--expect N` makes a mismatch an error.
//! * `rtt`: `--count` sequential GETNEXTs of `--oid` (default the route
//!   entry 1.3.6.1.2.1.10.166.11.1.4.1); prints the first one alone (cold)
//!   and p50/p99/max of all, in microseconds, measured in this process.
//! * `bulkwalk`: GETBULK walk (non-repeaters 0, `--max-rep` 50) of the
//!   subtree `--oid`, in this process: varbinds, PDUs, wall time; checks
//!   that names strictly increase. Shows what the agent does without the
//!   cost of net-snmp's client printing every varbind.
//!
//! A request waits `--timeout-ms` (5000) for its Response and is resent up to
//! `--retries` (2) times with the same request-id; retries are counted.
//! Every mode ends with one machine-readable line starting with `RESULT `.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use l3vpnd_bench::*;
use rasn::types::ObjectIdentifier;
use rasn_snmp::v2::{Pdu, SetRequest, VarBind, VarBindValue};

/// mplsL3VpnVrfEntry (RFC 4382).
const COL_VRF_RD: u32 = 4;
const COL_VRF_ROW_STATUS: u32 = 13;
const COL_VRF_STORAGE_TYPE: u32 = 15;
/// mplsL3VpnVrfRteEntry.
const RTE_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 4, 1, 1];
const COL_RTE_TYPE: u32 = 8;
const COL_RTE_STATUS: u32 = 18;
/// mplsL3VpnVrfPerfCurrNumRoutes.<vrf>
const PERF_CURR_ROUTES: &[u32] = &[1, 3, 6, 1, 2, 1, 10, 166, 11, 1, 3, 1, 1, 3];
const CREATE_AND_GO: i32 = 4;
const RTE_TYPE_REMOTE: i32 = 4;
const INET_IPV4: u32 = 1;
/// Hard bounds, so that no option makes a loop unbounded.
const MAX_ROUTES_TOTAL: u64 = 20_000_000;
const MAX_VRFS: u64 = 100_000;
const MAX_COUNT: u64 = 10_000_000;
const MAX_WALK_PDUS: u64 = 10_000_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Vrfs,
    Load,
    Count,
    Rtt,
    BulkWalk,
}

#[derive(Debug, Clone)]
struct Opts {
    mode: Mode,
    target: String,
    community: String,
    vrfs: u64,
    prefix: String,
    rd_asn: u32,
    storage: i32,
    per_vrf: u64,
    batch: usize,
    plen: u8,
    with_type: bool,
    per_get: usize,
    expect: Option<u64>,
    count: u64,
    oid: String,
    max_rep: u32,
    timeout_ms: u64,
    retries: u32,
    quiet: bool,
}

const USAGE: &str = "\
usage: routes --mode vrfs|load|count|rtt|bulkwalk [--target ADDR:PORT] [--community C]
              [--vrfs N] [--prefix NAME] [--rd-asn ASN] [--storage 2|3] [--per-vrf N] [--batch N]
              [--plen L] [--with-type] [--per-get N] [--expect N] [--count N]
              [--oid OID] [--max-rep N] [--timeout-ms MS] [--retries N] [--quiet]
  defaults: --target 127.0.0.1:161 --community private (public for count/rtt/bulkwalk)
            --vrfs 100 --prefix vrf --rd-asn 65000 --storage 2 (volatile) --per-vrf 10000 --batch 40
            --plen 32 --per-get 50 --count 1000 --oid 1.3.6.1.2.1.10.166.11.1.4.1
            --max-rep 50 --timeout-ms 5000 --retries 2";

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        mode: Mode::Load,
        target: "127.0.0.1:161".into(),
        community: String::new(),
        vrfs: 100,
        prefix: "vrf".into(),
        rd_asn: 65000,
        storage: 2,
        per_vrf: 10_000,
        batch: 40,
        plen: 32,
        with_type: false,
        per_get: 50,
        expect: None,
        count: 1000,
        oid: "1.3.6.1.2.1.10.166.11.1.4.1".into(),
        max_rep: 50,
        timeout_ms: 5000,
        retries: 2,
        quiet: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--mode" => {
                o.mode = match val("--mode")?.as_str() {
                    "vrfs" => Mode::Vrfs,
                    "load" => Mode::Load,
                    "count" => Mode::Count,
                    "rtt" => Mode::Rtt,
                    "bulkwalk" => Mode::BulkWalk,
                    m => return Err(format!("unknown mode {m}")),
                }
            }
            "--target" => o.target = val("--target")?,
            "--community" => o.community = val("--community")?,
            "--vrfs" => o.vrfs = num(&val("--vrfs")?)?,
            "--prefix" => o.prefix = val("--prefix")?,
            "--rd-asn" => o.rd_asn = num(&val("--rd-asn")?)?,
            "--storage" => o.storage = num(&val("--storage")?)?,
            "--per-vrf" => o.per_vrf = num(&val("--per-vrf")?)?,
            "--batch" => o.batch = num(&val("--batch")?)?,
            "--plen" => o.plen = num(&val("--plen")?)?,
            "--with-type" => o.with_type = true,
            "--per-get" => o.per_get = num(&val("--per-get")?)?,
            "--expect" => o.expect = Some(num(&val("--expect")?)?),
            "--count" => o.count = num(&val("--count")?)?,
            "--oid" => o.oid = val("--oid")?,
            "--max-rep" => o.max_rep = num(&val("--max-rep")?)?,
            "--timeout-ms" => o.timeout_ms = num(&val("--timeout-ms")?)?,
            "--retries" => o.retries = num(&val("--retries")?)?,
            "--quiet" | "-q" => o.quiet = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.community.is_empty() {
        o.community = match o.mode {
            Mode::Vrfs | Mode::Load => "private".into(),
            _ => "public".into(),
        };
    }
    if o.timeout_ms == 0 {
        return Err("--timeout-ms must be > 0".into());
    }
    if o.vrfs == 0 || o.vrfs > MAX_VRFS {
        return Err(format!("--vrfs must be 1..{MAX_VRFS}"));
    }
    if o.prefix.len() + o.vrfs.to_string().len() > 31 {
        return Err("VRF names must be 1..31 octets".into());
    }
    if !(2..=3).contains(&o.storage) {
        return Err("--storage must be 2 (volatile) or 3 (nonVolatile)".into());
    }
    if o.vrfs.saturating_mul(o.per_vrf) > MAX_ROUTES_TOTAL {
        return Err(format!("at most {MAX_ROUTES_TOTAL} routes in all"));
    }
    if !(8..=32).contains(&o.plen) {
        return Err("--plen must be 8..32".into());
    }
    // route i = 10.0.0.0 + i << (32 - plen) must stay below 224.0.0.0
    let room = u64::from(0xE000_0000u32 - 0x0A00_0000) >> (32 - u32::from(o.plen));
    if o.per_vrf > room {
        return Err(format!(
            "--per-vrf {} does not fit above 10.0.0.0 with /{} (at most {room})",
            o.per_vrf, o.plen
        ));
    }
    if o.batch == 0 || o.batch > 1000 || o.per_get == 0 || o.per_get > 1000 {
        return Err("--batch and --per-get must be 1..1000".into());
    }
    if o.count == 0 || o.count > MAX_COUNT {
        return Err(format!("--count must be 1..{MAX_COUNT}"));
    }
    if o.max_rep == 0 || o.max_rep > 10_000 {
        return Err("--max-rep must be 1..10000".into());
    }
    Ok(o)
}

fn parse_arcs(s: &str) -> Result<Vec<u32>, String> {
    let arcs: Result<Vec<u32>, _> = s
        .trim_start_matches('.')
        .split('.')
        .map(str::parse)
        .collect();
    let arcs = arcs.map_err(|_| format!("bad OID {s}"))?;
    if arcs.len() < 2 {
        return Err(format!("bad OID {s}"));
    }
    Ok(arcs)
}

fn vrf_name(prefix: &str, i: u64) -> String {
    format!("{prefix}{i}")
}

/// Destination of route `i` of a VRF.
fn route_dest(i: u64, plen: u8) -> [u8; 4] {
    let a = 0x0A00_0000u32 + ((i as u32) << (32 - u32::from(plen)));
    a.to_be_bytes()
}

/// Next hop of the routes of VRF number `v` (1-based).
fn route_next_hop(v: u64) -> [u8; 4] {
    [192, 0, 2, 1 + (v % 250) as u8]
}

/// mplsL3VpnVrfRteEntry column `col` of the IPv4 route (vrf, dest/plen,
/// policy {0 0}, next hop).
fn rte_oid(col: u32, vrf: &[u8], dest: [u8; 4], plen: u8, nh: [u8; 4]) -> ObjectIdentifier {
    let mut arcs = Vec::with_capacity(RTE_ENTRY.len() + 48);
    arcs.extend_from_slice(RTE_ENTRY);
    arcs.push(col);
    push_name(&mut arcs, vrf);
    arcs.push(INET_IPV4);
    arcs.push(4);
    arcs.extend(dest.iter().map(|&b| u32::from(b)));
    arcs.push(u32::from(plen));
    arcs.extend_from_slice(&[2, 0, 0]);
    arcs.push(INET_IPV4);
    arcs.push(4);
    arcs.extend(nh.iter().map(|&b| u32::from(b)));
    oid(arcs)
}

/// Unsigned value of an INTEGER / Counter32 / Gauge32 / TimeTicks varbind.
fn uint_value(v: &VarBindValue) -> Option<u64> {
    let VarBindValue::Value(s) = v else {
        return None;
    };
    let b = rasn::ber::encode(s).ok()?;
    let (&tag, rest) = b.split_first()?;
    if !matches!(tag, 0x02 | 0x41 | 0x42 | 0x43) {
        return None;
    }
    let (&len, c) = rest.split_first()?;
    if len >= 0x80 || c.len() != len as usize || c.len() > 9 {
        return None;
    }
    if tag == 0x02 && c.first().is_some_and(|&x| x & 0x80 != 0) {
        return None;
    }
    Some(c.iter().fold(0u64, |x, &b| (x << 8) | u64::from(b)))
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
            return Err(format!("{} = {:?}", v.name, v.value));
        }
    }
    Ok(())
}

fn mode_vrfs(o: &Opts) -> Result<(), String> {
    let mut c = client(o)?;
    let t0 = Instant::now();
    for i in 1..=o.vrfs {
        let name = vrf_name(&o.prefix, i);
        let n = name.as_bytes();
        let p = c.set(vec![
            vb(vrf_oid(COL_VRF_RD, n), octets(&format!("{}:{i}", o.rd_asn))),
            vb(vrf_oid(COL_VRF_STORAGE_TYPE, n), int(o.storage)),
            vb(vrf_oid(COL_VRF_ROW_STATUS, n), int(CREATE_AND_GO)),
        ])?;
        check_ok(&p).map_err(|e| format!("creating VRF {name}: {e}"))?;
    }
    let el = t0.elapsed().as_secs_f64();
    println!(
        "vrfs: {} VRFs ({}1..{}{}) in {el:.3} s, storage {}",
        o.vrfs,
        o.prefix,
        o.prefix,
        o.vrfs,
        if o.storage == 2 {
            "volatile"
        } else {
            "nonVolatile"
        }
    );
    println!(
        "RESULT mode=vrfs vrfs={} secs={el:.6} retries={}",
        o.vrfs, c.retries_used
    );
    Ok(())
}

fn mode_load(o: &Opts) -> Result<(), String> {
    let mut c = client(o)?;
    let total = o.vrfs * o.per_vrf;
    let mut lat: Vec<u64> = Vec::with_capacity((total as usize).div_ceil(o.batch));
    let mut vbs: Vec<VarBind> = Vec::with_capacity(o.batch * 2);
    let mut done = 0u64;
    let mut bytes = 0usize;
    let t0 = Instant::now();
    let mut last_report = t0;
    let mut last_done = 0u64;
    let send = |c: &mut Client, vbs: &mut Vec<VarBind>, lat: &mut Vec<u64>| {
        let n = vbs.len();
        let first = vbs.first().map(|v| v.name.to_string()).unwrap_or_default();
        let t = Instant::now();
        let p = c.set(std::mem::take(vbs))?;
        lat.push(t.elapsed().as_nanos() as u64);
        check_ok(&p).map_err(|e| format!("SET of {n} varbinds from {first}: {e}"))?;
        if p.variable_bindings.len() != n {
            return Err(format!(
                "SET of {n} varbinds answered with {} varbinds",
                p.variable_bindings.len()
            ));
        }
        Ok::<(), String>(())
    };
    for v in 1..=o.vrfs {
        let name = vrf_name(&o.prefix, v);
        let nb = name.as_bytes();
        let nh = route_next_hop(v);
        for i in 0..o.per_vrf {
            let dest = route_dest(i, o.plen);
            if o.with_type {
                vbs.push(vb(
                    rte_oid(COL_RTE_TYPE, nb, dest, o.plen, nh),
                    int(RTE_TYPE_REMOTE),
                ));
            }
            vbs.push(vb(
                rte_oid(COL_RTE_STATUS, nb, dest, o.plen, nh),
                int(CREATE_AND_GO),
            ));
            done += 1;
            if done.is_multiple_of(o.batch as u64) || i + 1 == o.per_vrf {
                if bytes == 0 {
                    bytes = encode(&c.community, SetRequest(pdu(1, vbs.clone()))).len();
                }
                send(&mut c, &mut vbs, &mut lat)?;
                if !o.quiet && last_report.elapsed() >= Duration::from_secs(10) {
                    eprintln!(
                        "  load: {done}/{total} routes, {:.1} s, last 10 s: {:.0} routes/s",
                        t0.elapsed().as_secs_f64(),
                        (done - last_done) as f64 / last_report.elapsed().as_secs_f64()
                    );
                    last_report = Instant::now();
                    last_done = done;
                }
            }
        }
    }
    let el = t0.elapsed().as_secs_f64();
    lat.sort_unstable();
    let rate = total as f64 / el;
    println!(
        "load: {total} routes ({} VRFs x {}, /{}), {} per SET ({} SETs, first SET {bytes} octets) \
         in {el:.3} s = {rate:.0} routes/s; SET latency p50 {:.0} us, p99 {:.0} us, max {:.0} us; \
         retries {}",
        o.vrfs,
        o.per_vrf,
        o.plen,
        o.batch,
        lat.len(),
        pct_us(&lat, 50.0),
        pct_us(&lat, 99.0),
        pct_us(&lat, 100.0),
        c.retries_used
    );
    println!(
        "RESULT mode=load routes={total} sets={} secs={el:.6} rate={rate:.1} p50_us={:.1} \
         p99_us={:.1} max_us={:.1} retries={}",
        lat.len(),
        pct_us(&lat, 50.0),
        pct_us(&lat, 99.0),
        pct_us(&lat, 100.0),
        c.retries_used
    );
    Ok(())
}

fn mode_count(o: &Opts) -> Result<(), String> {
    let mut c = client(o)?;
    let mut sum = 0u64;
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    let mut v = 1u64;
    while v <= o.vrfs {
        let end = (v + o.per_get as u64 - 1).min(o.vrfs);
        let names: Vec<ObjectIdentifier> = (v..=end)
            .map(|i| {
                let mut arcs = PERF_CURR_ROUTES.to_vec();
                push_name(&mut arcs, vrf_name(&o.prefix, i).as_bytes());
                oid(arcs)
            })
            .collect();
        let p = c.get(names)?;
        check_ok(&p).map_err(|e| format!("GET mplsL3VpnVrfPerfCurrNumRoutes: {e}"))?;
        for x in &p.variable_bindings {
            let n = uint_value(&x.value)
                .ok_or_else(|| format!("{} = {:?}: not a number", x.name, x.value))?;
            sum += n;
            lo = lo.min(n);
            hi = hi.max(n);
        }
        v = end + 1;
    }
    println!(
        "count: mplsL3VpnVrfPerfCurrNumRoutes summed over {} VRFs = {sum} (per VRF min {lo}, max {hi})",
        o.vrfs
    );
    println!(
        "RESULT mode=count vrfs={} routes={sum} min={lo} max={hi}",
        o.vrfs
    );
    if let Some(e) = o.expect {
        if e != sum {
            return Err(format!("expected {e} routes, the agent counts {sum}"));
        }
    }
    Ok(())
}

fn mode_rtt(o: &Opts) -> Result<(), String> {
    let name = oid(parse_arcs(&o.oid)?);
    let mut c = client(o)?;
    let mut lat = Vec::with_capacity(o.count as usize);
    let mut first_answer = String::new();
    for k in 0..o.count {
        let id = c.take_id();
        let msg = c.getnext_msg(id, &name);
        let t = Instant::now();
        let p = c
            .exchange_once(id, &msg)
            .map_err(|e| format!("GETNEXT #{k}: {e}"))?;
        lat.push(t.elapsed().as_nanos() as u64);
        check_ok(&p).map_err(|e| format!("GETNEXT #{k}: {e}"))?;
        let got = p
            .variable_bindings
            .first()
            .map(|v| v.name.to_string())
            .unwrap_or_default();
        if k == 0 {
            first_answer = got;
        } else if got != first_answer {
            return Err(format!(
                "GETNEXT #{k} answered {got}, the first answered {first_answer}"
            ));
        }
    }
    let cold = lat[0];
    lat.sort_unstable();
    let us = |ns: u64| ns as f64 / 1000.0;
    println!(
        "rtt: {} GETNEXTs of {} -> {first_answer}: first {:.1} us; p50 {:.1} us, p99 {:.1} us, \
         min {:.1} us, max {:.1} us",
        o.count,
        o.oid,
        us(cold),
        pct_us(&lat, 50.0),
        pct_us(&lat, 99.0),
        us(lat[0]),
        pct_us(&lat, 100.0)
    );
    println!(
        "RESULT mode=rtt count={} first_us={:.1} p50_us={:.1} p99_us={:.1} min_us={:.1} max_us={:.1}",
        o.count,
        us(cold),
        pct_us(&lat, 50.0),
        pct_us(&lat, 99.0),
        us(lat[0]),
        pct_us(&lat, 100.0)
    );
    Ok(())
}

fn mode_bulkwalk(o: &Opts) -> Result<(), String> {
    let root = parse_arcs(&o.oid)?;
    let mut c = client(o)?;
    let mut at = oid(root.clone());
    let mut last: Option<Vec<u32>> = None;
    let (mut varbinds, mut pdus) = (0u64, 0u64);
    let t0 = Instant::now();
    'walk: while pdus < MAX_WALK_PDUS {
        let p = c.getbulk(&at, o.max_rep)?;
        pdus += 1;
        if p.error_status != 0 {
            return Err(format!(
                "GETBULK #{pdus}: error-status {}",
                error_name(p.error_status)
            ));
        }
        if p.variable_bindings.is_empty() {
            return Err(format!("GETBULK #{pdus}: empty response"));
        }
        for x in &p.variable_bindings {
            let arcs: &[u32] = &x.name;
            if matches!(x.value, VarBindValue::EndOfMibView) || !arcs.starts_with(&root) {
                break 'walk;
            }
            if let Some(l) = &last {
                if arcs <= l.as_slice() {
                    return Err(format!("OID not increasing: {} after {:?}", x.name, l));
                }
            }
            varbinds += 1;
            last = Some(arcs.to_vec());
        }
        at = p.variable_bindings.last().expect("non-empty").name.clone();
    }
    let el = t0.elapsed().as_secs_f64();
    println!(
        "bulkwalk: {} -> {varbinds} varbinds in {pdus} GETBULKs (max-rep {}; {:.1} per PDU) \
         in {el:.3} s = {:.0} varbinds/s; retries {}",
        o.oid,
        o.max_rep,
        varbinds as f64 / pdus as f64,
        varbinds as f64 / el,
        c.retries_used
    );
    println!(
        "RESULT mode=bulkwalk varbinds={varbinds} pdus={pdus} secs={el:.6} rate={:.1} retries={}",
        varbinds as f64 / el,
        c.retries_used
    );
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
                eprintln!("routes: {e}");
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
        Mode::Vrfs => mode_vrfs(&o),
        Mode::Load => mode_load(&o),
        Mode::Count => mode_count(&o),
        Mode::Rtt => mode_rtt(&o),
        Mode::BulkWalk => mode_bulkwalk(&o),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("routes: {e}");
            println!("RESULT mode=error");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rasn_snmp::v2::ObjectSyntax;

    #[test]
    fn route_oid_matches_the_rfc_index() {
        let o = rte_oid(COL_RTE_STATUS, b"red", [10, 0, 1, 0], 24, [192, 0, 2, 1]);
        assert_eq!(
            o.to_string(),
            "1.3.6.1.2.1.10.166.11.1.4.1.1.18.3.114.101.100.1.4.10.0.1.0.24.2.0.0.1.4.192.0.2.1"
        );
    }

    #[test]
    fn destinations_are_canonical_and_distinct() {
        assert_eq!(route_dest(0, 32), [10, 0, 0, 0]);
        assert_eq!(route_dest(257, 32), [10, 0, 1, 1]);
        assert_eq!(route_dest(1, 24), [10, 0, 1, 0]);
        assert_eq!(route_dest(65536, 24), [11, 0, 0, 0]);
    }

    #[test]
    fn reads_unsigned_values() {
        let g: ObjectSyntax =
            rasn::ber::decode(&[0x42, 0x05, 0x00, 0xb2, 0xd0, 0x5e, 0x00]).unwrap();
        assert_eq!(uint_value(&VarBindValue::Value(g)), Some(3_000_000_000));
        assert_eq!(uint_value(&int(10000)), Some(10000));
        assert_eq!(uint_value(&int(-1)), None);
    }
}
