//! Integration-test harness for l3vpnd: starts the built daemon on a free
//! UDP port with a temporary data directory and drives it with the real
//! net-snmp command-line tools (snmpget, snmpset, snmpwalk, snmpbulkwalk,
//! snmptable, ...), plus raw UDP for tests that need exact bytes.
//!
//! Conventions: numeric OIDs (`-On`) everywhere except in tests that check
//! names (those pass `-M +<workspace>/mib/mibs -m ALL`); `-r 0` always (a
//! retried SET would be a second SET); no MIB is loaded otherwise (`MIBS=`),
//! so the output format does not depend on the machine's MIB files.

pub mod ber;

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// OIDs
// ---------------------------------------------------------------------------

pub const MPLS_L3VPN: &str = "1.3.6.1.2.1.10.166.11";
pub const SCALARS: &str = "1.3.6.1.2.1.10.166.11.1.1";
pub const IFCONF_ENTRY: &str = "1.3.6.1.2.1.10.166.11.1.2.1.1";
pub const VRF_ENTRY: &str = "1.3.6.1.2.1.10.166.11.1.2.2.1";
pub const RT_ENTRY: &str = "1.3.6.1.2.1.10.166.11.1.2.3.1";
pub const SEC_ENTRY: &str = "1.3.6.1.2.1.10.166.11.1.2.6.1";
pub const PERF_ENTRY: &str = "1.3.6.1.2.1.10.166.11.1.3.1.1";

pub const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";
pub const SYS_OBJECT_ID: &str = "1.3.6.1.2.1.1.2.0";
pub const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";
pub const SYS_CONTACT: &str = "1.3.6.1.2.1.1.4.0";
pub const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
pub const SYS_LOCATION: &str = "1.3.6.1.2.1.1.6.0";
pub const SYS_SERVICES: &str = "1.3.6.1.2.1.1.7.0";
pub const SYS_OR_TABLE: &str = "1.3.6.1.2.1.1.9";
pub const IF_NUMBER: &str = "1.3.6.1.2.1.2.1.0";
pub const IF_TABLE: &str = "1.3.6.1.2.1.2.2";
pub const IF_DESCR: &str = "1.3.6.1.2.1.2.2.1.2";
pub const IF_OPER_STATUS: &str = "1.3.6.1.2.1.2.2.1.8";
pub const IF_X_TABLE: &str = "1.3.6.1.2.1.31.1.1";
pub const SNMP_IN_PKTS: &str = "1.3.6.1.2.1.11.1.0";
pub const SNMP_IN_BAD_COMMUNITY_NAMES: &str = "1.3.6.1.2.1.11.4.0";
pub const SNMP_IN_ASN_PARSE_ERRS: &str = "1.3.6.1.2.1.11.6.0";

/// Columns of mplsL3VpnVrfEntry.
pub mod vrf {
    pub const VPN_ID: u32 = 2;
    pub const DESCRIPTION: u32 = 3;
    pub const RD: u32 = 4;
    pub const CREATION_TIME: u32 = 5;
    pub const OPER_STATUS: u32 = 6;
    pub const ACTIVE_INTERFACES: u32 = 7;
    pub const ASSOCIATED_INTERFACES: u32 = 8;
    pub const MID_RTE_THRESH: u32 = 9;
    pub const HIGH_RTE_THRESH: u32 = 10;
    pub const MAX_ROUTES: u32 = 11;
    pub const LAST_CHANGED: u32 = 12;
    pub const ROW_STATUS: u32 = 13;
    pub const ADMIN_STATUS: u32 = 14;
    pub const STORAGE_TYPE: u32 = 15;
}

/// Columns of mplsL3VpnVrfRTEntry.
pub mod rt {
    pub const RT: u32 = 4;
    pub const DESCR: u32 = 5;
    pub const ROW_STATUS: u32 = 6;
    pub const STORAGE_TYPE: u32 = 7;
    pub const IMPORT: u32 = 1;
    pub const EXPORT: u32 = 2;
    pub const BOTH: u32 = 3;
}

/// Columns of mplsL3VpnIfConfEntry.
pub mod ifconf {
    pub const CLASSIFICATION: u32 = 2;
    pub const ROUTE_DIST_PROTOCOL: u32 = 3;
    pub const STORAGE_TYPE: u32 = 4;
    pub const ROW_STATUS: u32 = 5;
}

/// Scalars under mplsL3VpnScalars.
pub mod scalar {
    pub const CONFIGURED_VRFS: u32 = 1;
    pub const ACTIVE_VRFS: u32 = 2;
    pub const CONNECTED_INTERFACES: u32 = 3;
    pub const NOTIFICATION_ENABLE: u32 = 4;
    pub const MAX_POSS_RTS: u32 = 5;
    pub const RTE_MX_THRSH_TIME: u32 = 6;
    pub const ILL_LBL_RCV_THRSH: u32 = 7;
}

/// RowStatus values (RFC 2579).
pub mod rs {
    pub const ACTIVE: &str = "1";
    pub const NOT_IN_SERVICE: &str = "2";
    pub const NOT_READY: &str = "3";
    pub const CREATE_AND_GO: &str = "4";
    pub const CREATE_AND_WAIT: &str = "5";
    pub const DESTROY: &str = "6";
}

/// StorageType values (RFC 2579).
pub mod st {
    pub const VOLATILE: &str = "2";
    pub const NON_VOLATILE: &str = "3";
}

/// `name` as a non-IMPLIED OCTET STRING index: length, then one sub-id per octet.
pub fn name_index(name: &str) -> String {
    let mut s = name.len().to_string();
    for b in name.bytes() {
        s.push('.');
        s.push_str(&b.to_string());
    }
    s
}

pub fn vrf_oid(col: u32, name: &str) -> String {
    format!("{VRF_ENTRY}.{col}.{}", name_index(name))
}

pub fn rt_oid(col: u32, name: &str, index: u32, typ: u32) -> String {
    format!("{RT_ENTRY}.{col}.{}.{index}.{typ}", name_index(name))
}

pub fn ifconf_oid(col: u32, name: &str, if_index: u32) -> String {
    format!("{IFCONF_ENTRY}.{col}.{}.{if_index}", name_index(name))
}

pub fn perf_oid(col: u32, name: &str) -> String {
    format!("{PERF_ENTRY}.{col}.{}", name_index(name))
}

pub fn sec_oid(col: u32, name: &str) -> String {
    format!("{SEC_ENTRY}.{col}.{}", name_index(name))
}

pub fn scalar_oid(n: u32) -> String {
    format!("{SCALARS}.{n}.0")
}

/// Value renderings of net-snmp with no MIB loaded.
pub fn string(v: &str) -> String {
    format!("STRING: \"{v}\"")
}
pub fn integer(v: i64) -> String {
    format!("INTEGER: {v}")
}
pub fn gauge(v: u64) -> String {
    format!("Gauge32: {v}")
}
pub fn counter(v: u64) -> String {
    format!("Counter32: {v}")
}
/// A zero-length OCTET STRING prints as `""` with no type.
pub const EMPTY: &str = "\"\"";

/// The full output line for `oid` with `value`.
pub fn line(oid: &str, value: &str) -> String {
    format!(".{} = {value}", oid.trim_start_matches('.'))
}

/// OID dotted-string to numbers, for ordering.
pub fn oid_arcs(oid: &str) -> Vec<u64> {
    oid.trim_start_matches('.')
        .split('.')
        .map(|a| {
            a.parse()
                .unwrap_or_else(|_| panic!("not a numeric OID: {oid}"))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Locations
// ---------------------------------------------------------------------------

pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn mib_dir() -> PathBuf {
    workspace_dir().join("mib").join("mibs")
}

/// The daemon binary: $L3VPND_BIN, else <workspace>/target/debug/l3vpnd.
pub fn daemon_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("L3VPND_BIN") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "L3VPND_BIN={} does not exist", p.display());
        return p;
    }
    let mut candidates = vec![workspace_dir().join("target/debug/l3vpnd")];
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.insert(0, PathBuf::from(t).join("debug/l3vpnd"));
    }
    for c in &candidates {
        if c.is_file() {
            return c.clone();
        }
    }
    panic!(
        "l3vpnd binary not found at {}: build it first: cargo build -p agent (or set L3VPND_BIN)",
        candidates.last().unwrap().display()
    );
}

// ---------------------------------------------------------------------------
// Running the net-snmp tools
// ---------------------------------------------------------------------------

/// Output of one tool run.
#[derive(Debug, Clone)]
pub struct Out {
    pub argv: Vec<String>,
    pub status: ExitStatus,
    /// stdout lines, trimmed, empty lines dropped, continuation lines (a
    /// value that net-snmp wrapped) joined to their first line.
    pub stdout: Vec<String>,
    pub stderr: String,
}

impl Out {
    /// The tool exited 0 and reported no error.
    pub fn ok(&self) -> bool {
        self.status.success() && !self.stderr.contains("Error in packet") && !self.timed_out()
    }

    pub fn timed_out(&self) -> bool {
        self.stderr.contains("Timeout: No Response")
    }

    /// The error-status name net-snmp printed, e.g. "wrongValue" or, for v1,
    /// "noSuchName" / "badValue" / "genErr" / "tooBig".
    pub fn reason(&self) -> Option<String> {
        let r = self
            .stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Reason:"))?
            .trim();
        let word = if let Some(inner) = r.strip_prefix('(') {
            inner.split(')').next().unwrap_or("")
        } else {
            r.split_whitespace().next().unwrap_or("")
        };
        Some(word.to_string())
    }

    /// The OID net-snmp names as "Failed object" (the varbind at error-index).
    pub fn failed_object(&self) -> Option<String> {
        self.stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Failed object:"))
            .map(|s| s.trim().to_string())
    }

    /// (oid, value) pairs of `-On` output, in order; the lines that mark the
    /// end of a walk ("No more variables", "End of MIB") are dropped.
    pub fn varbinds(&self) -> Vec<(String, String)> {
        self.stdout
            .iter()
            .filter(|l| {
                !l.contains("No more variables left in this MIB View") && *l != "End of MIB"
            })
            .map(|l| {
                let (o, v) = l.split_once(" = ").unwrap_or((l.as_str(), ""));
                (o.to_string(), v.to_string())
            })
            .collect()
    }

    pub fn describe(&self) -> String {
        format!(
            "command: {}\nexit: {}\nstdout:\n{}\nstderr:\n{}",
            self.argv.join(" "),
            self.status,
            self.stdout.join("\n"),
            self.stderr
        )
    }
}

fn missing_tool(tool: &str) -> ! {
    panic!(
        "`{tool}` is not on PATH: the integration tests need the net-snmp command-line tools \
         from the Debian package `snmp` (as root: apt-get install -y snmp)"
    );
}

/// Run a tool with exactly these arguments (argv[0] is the tool).
pub fn run_tool(argv: &[String]) -> Out {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env("MIBS", "")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing_tool(&argv[0]),
        Err(e) => panic!("cannot run {}: {e}", argv[0]),
    };
    let mut stdout: Vec<String> = Vec::new();
    for raw in String::from_utf8_lossy(&out.stdout).lines() {
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        // With -On every varbind line starts with '.'; a line that does not
        // is the continuation of a wrapped value (long Hex-STRINGs).
        let continuation = !l.starts_with('.')
            && !stdout.is_empty()
            && stdout.last().is_some_and(|p| p.starts_with('.'))
            && !l.contains(" = ")
            && l != "End of MIB";
        if continuation {
            let last = stdout.last_mut().unwrap();
            last.push(' ');
            last.push_str(l);
        } else {
            stdout.push(l.to_string());
        }
    }
    Out {
        argv: argv.to_vec(),
        status: out.status,
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Options for a v2c read with the read-only community.
pub const V2_RO: &[&str] = &["-v2c", "-c", "public", "-On"];
/// Options for a v2c write with the read-write community.
pub const V2_RW: &[&str] = &["-v2c", "-c", "private", "-On"];
pub const V1_RO: &[&str] = &["-v1", "-c", "public", "-On"];
pub const V1_RW: &[&str] = &["-v1", "-c", "private", "-On"];

// ---------------------------------------------------------------------------
// The daemon
// ---------------------------------------------------------------------------

/// A running (or stopped) l3vpnd with its own temp dir, data dir and port.
pub struct Daemon {
    pub port: u16,
    /// Second listen address on [::1], when started with `with_ipv6`.
    pub port6: Option<u16>,
    pub base: PathBuf,
    pub data_dir: PathBuf,
    pub extra_args: Vec<String>,
    child: Option<Child>,
    launches: u32,
    want_ipv6: bool,
    /// Network namespace the daemon and the tools run in (root only).
    pub netns: Option<String>,
    _tmp: Option<tempfile::TempDir>,
}

/// Pick a free UDP port on 127.0.0.1 (bind port 0, read it, drop).
pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    s.local_addr().unwrap().port()
}

pub fn free_udp6_port() -> Option<u16> {
    let s = UdpSocket::bind("[::1]:0").ok()?;
    Some(s.local_addr().unwrap().port())
}

pub fn ipv6_loopback_available() -> bool {
    UdpSocket::bind("[::1]:0").is_ok()
}

impl Default for Daemon {
    fn default() -> Self {
        Daemon::new()
    }
}

impl Daemon {
    /// Start a daemon in a fresh temp dir.
    pub fn new() -> Daemon {
        Self::with_args(&[])
    }

    /// Start a daemon in a fresh temp dir with extra command-line arguments.
    pub fn with_args(extra: &[&str]) -> Daemon {
        let tmp = tempfile::Builder::new()
            .prefix("l3vpnd-test-")
            .tempdir()
            .expect("tempdir");
        let mut d = Daemon::prepare(tmp.path(), extra);
        d._tmp = Some(tmp);
        d.launch();
        d
    }

    /// Start with a second listen address on [::1].
    pub fn with_ipv6() -> Daemon {
        let tmp = tempfile::Builder::new()
            .prefix("l3vpnd-test-")
            .tempdir()
            .expect("tempdir");
        let mut d = Daemon::prepare(tmp.path(), &[]);
        d.want_ipv6 = true;
        d._tmp = Some(tmp);
        d.launch();
        d
    }

    /// Start a daemon in a new network namespace of its own (needs root):
    /// the namespace has only `lo` (set up), the daemon and every tool run
    /// inside it (`ip netns exec`), and it is deleted on drop.
    pub fn in_netns() -> Daemon {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "l3t-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let st = Command::new("ip").args(["netns", "add", &name]).status();
        assert!(
            st.is_ok_and(|s| s.success()),
            "ip netns add {name} failed (root? iproute2?)"
        );
        let tmp = tempfile::Builder::new()
            .prefix("l3vpnd-test-")
            .tempdir()
            .expect("tempdir");
        let mut d = Daemon::prepare(tmp.path(), &[]);
        d._tmp = Some(tmp);
        d.netns = Some(name);
        d.ns_exec(&["ip", "link", "set", "lo", "up"]);
        d.launch();
        d
    }

    /// Run a command in the daemon's network namespace (or on the host);
    /// asserts success and returns stdout.
    pub fn ns_exec(&self, argv: &[&str]) -> String {
        let mut full: Vec<&str> = Vec::new();
        if let Some(ns) = &self.netns {
            full.extend(["ip", "netns", "exec", ns.as_str()]);
        }
        full.extend_from_slice(argv);
        let out = Command::new(full[0])
            .args(&full[1..])
            .output()
            .unwrap_or_else(|e| panic!("{full:?}: {e}"));
        assert!(
            out.status.success(),
            "{full:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Start a daemon whose data dir is `<dir>/data` and logs are in `dir`.
    pub fn start(dir: &Path) -> Daemon {
        let mut d = Daemon::prepare(dir, &[]);
        d.launch();
        d
    }

    fn prepare(base: &Path, extra: &[&str]) -> Daemon {
        Daemon {
            port: 0,
            port6: None,
            base: base.to_path_buf(),
            data_dir: base.join("data"),
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
            launches: 0,
            want_ipv6: false,
            netns: None,
            _tmp: None,
        }
    }

    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("daemon not running").id()
    }

    fn log_path(&self, n: u32) -> PathBuf {
        self.base.join(format!("l3vpnd-{n}.log"))
    }

    /// All logs of all launches so far.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for n in 1..=self.launches {
            if let Ok(t) = std::fs::read_to_string(self.log_path(n)) {
                s.push_str(&format!("----- launch {n} -----\n{t}"));
            }
        }
        s
    }

    /// The log of the current (last) launch.
    pub fn current_log(&self) -> String {
        std::fs::read_to_string(self.log_path(self.launches)).unwrap_or_default()
    }

    fn tail(text: &str, n: usize) -> String {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Start (again) on the same data dir, on a new free port; waits until
    /// `snmpget sysUpTime.0` answers.
    pub fn launch(&mut self) {
        assert!(self.child.is_none(), "daemon already running");
        let bin = daemon_bin();
        for attempt in 0..4 {
            self.launches += 1;
            self.port = free_udp_port();
            self.port6 = if self.want_ipv6 {
                free_udp6_port()
            } else {
                None
            };
            let log = File::create(self.log_path(self.launches)).expect("create log");
            let mut cmd = match &self.netns {
                Some(ns) => {
                    let mut c = Command::new("ip");
                    c.args(["netns", "exec", ns.as_str()]).arg(&bin);
                    c
                }
                None => Command::new(&bin),
            };
            cmd.arg("--data-dir")
                .arg(&self.data_dir)
                .arg("--snmp-listen")
                .arg(self.target());
            if let Some(p6) = self.port6 {
                cmd.arg("--snmp-listen").arg(format!("[::1]:{p6}"));
            }
            cmd.args([
                "--ro-community",
                "public",
                "--rw-community",
                "private",
                "--log-level",
                "debug",
            ])
            .args(&self.extra_args)
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", bin.display()));
            self.child = Some(child);
            match self.wait_ready(Duration::from_secs(10)) {
                Ok(()) => {
                    // Confirm with the real tool.
                    let out = self.get(&[SYS_UPTIME]);
                    if !out.ok() {
                        panic!(
                            "l3vpnd answers raw probes but snmpget failed:\n{}\nlog:\n{}",
                            out.describe(),
                            Self::tail(&self.current_log(), 80)
                        );
                    }
                    return;
                }
                Err(why) => {
                    let log = self.current_log();
                    if let Some(mut c) = self.child.take() {
                        let _ = c.kill();
                        let _ = c.wait();
                    }
                    let port_race =
                        log.contains("Address already in use") || log.contains("os error 98");
                    if port_race && attempt < 3 {
                        continue;
                    }
                    panic!(
                        "l3vpnd did not come up on {} ({why}); log {}:\n{}",
                        self.target(),
                        self.log_path(self.launches).display(),
                        Self::tail(&log, 120)
                    );
                }
            }
        }
    }

    fn wait_ready(&mut self, max: Duration) -> Result<(), String> {
        let start = Instant::now();
        if self.netns.is_some() {
            // The test process is outside the namespace: poll with snmpget.
            while start.elapsed() < max {
                if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                    return Err(format!("exited with {st}"));
                }
                let out = self.snmp(
                    "snmpget",
                    &["-v2c", "-c", "public", "-On", "-t", "0.1"],
                    &[SYS_UPTIME],
                );
                if out.ok() {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            return Err(format!("no answer to snmpget within {max:?}"));
        }
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let probe = ber::get_request("public", 424242, &[SYS_UPTIME]);
        let mut buf = vec![0u8; 65536];
        while start.elapsed() < max {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                return Err(format!("exited with {st}"));
            }
            let _ = sock.send_to(&probe, ("127.0.0.1", self.port));
            let deadline = Instant::now() + Duration::from_millis(20);
            while Instant::now() < deadline {
                match sock.recv_from(&mut buf) {
                    Ok((n, _)) => {
                        if ber::parse_message(&buf[..n]).is_some_and(|m| m.request_id == 424242) {
                            return Ok(());
                        }
                    }
                    Err(_) => break,
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(format!("no answer to a GetRequest within {max:?}"))
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().unwrap().is_none(),
            None => false,
        }
    }

    /// SIGTERM and wait (10 s at most, then SIGKILL and panic).
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("daemon not running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let start = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st;
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "l3vpnd did not exit within 10 s of SIGTERM; log:\n{}",
                    Self::tail(&self.current_log(), 80)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL and wait.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("daemon not running");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// stop() then launch() on the same data dir. Asserts a clean exit.
    pub fn restart(&mut self) {
        let st = self.stop();
        assert!(
            st.success(),
            "l3vpnd exited with {st} on SIGTERM; log:\n{}",
            Self::tail(&self.current_log(), 80)
        );
        self.launch();
    }

    // ----- tools ------------------------------------------------------------

    /// `tool -t 5 -r 0 <opts> <this daemon> <tail>`.
    pub fn snmp(&self, tool: &str, opts: &[&str], tail: &[&str]) -> Out {
        self.snmp_to(&self.target(), tool, opts, tail)
    }

    /// Like `snmp` with an explicit agent address (e.g. `udp6:[::1]:PORT`).
    pub fn snmp_to(&self, agent: &str, tool: &str, opts: &[&str], tail: &[&str]) -> Out {
        let mut argv: Vec<String> = Vec::new();
        if let Some(ns) = &self.netns {
            argv.extend(["ip".into(), "netns".into(), "exec".into(), ns.clone()]);
        }
        argv.push(tool.into());
        if !opts.contains(&"-t") {
            argv.extend(["-t".into(), "5".into()]);
        }
        argv.extend(["-r".into(), "0".into()]);
        argv.extend(opts.iter().map(|s| s.to_string()));
        argv.push(agent.to_string());
        argv.extend(tail.iter().map(|s| s.to_string()));
        run_tool(&argv)
    }

    /// `tool` with names: `-M +<workspace>/mib/mibs -m ALL`, v2c, `community`.
    pub fn snmp_names(&self, tool: &str, community: &str, extra: &[&str], tail: &[&str]) -> Out {
        let mibs = format!("+{}", mib_dir().display());
        let mut opts: Vec<&str> = vec!["-v2c", "-c", community, "-M", &mibs, "-m", "ALL"];
        opts.extend_from_slice(extra);
        self.snmp(tool, &opts, tail)
    }

    pub fn get(&self, oids: &[&str]) -> Out {
        self.snmp("snmpget", V2_RO, oids)
    }

    pub fn get_v1(&self, oids: &[&str]) -> Out {
        // -Cf: do not retry without the failing varbind.
        self.snmp("snmpget", &["-v1", "-c", "public", "-On", "-Cf"], oids)
    }

    /// GET of one OID; returns the whole output line.
    pub fn line(&self, oid: &str) -> String {
        let out = self.get(&[oid]);
        assert!(out.ok(), "snmpget {oid} failed:\n{}", out.describe());
        assert_eq!(
            out.stdout.len(),
            1,
            "one line expected:\n{}",
            out.describe()
        );
        out.stdout[0].clone()
    }

    /// GET of one OID; returns the value part ("STRING: \"x\"", "INTEGER: 1").
    pub fn val(&self, oid: &str) -> String {
        let l = self.line(oid);
        let pfx = format!(".{} = ", oid.trim_start_matches('.'));
        match l.strip_prefix(&pfx) {
            Some(v) => v.to_string(),
            None => panic!("unexpected line for {oid}: {l}"),
        }
    }

    /// Assert the exact line `.<oid> = <value>`.
    #[track_caller]
    pub fn expect(&self, oid: &str, value: &str) {
        assert_eq!(self.line(oid), line(oid, value), "GET {oid}");
    }

    /// Whether GET of `oid` returns a value (not noSuchObject/noSuchInstance).
    pub fn exists(&self, oid: &str) -> bool {
        let v = self.val(oid);
        !(v.starts_with("No Such Instance") || v.starts_with("No Such Object"))
    }

    /// Integer in the value (after the type), e.g. Counter32: 5 -> 5.
    pub fn num(&self, oid: &str) -> i64 {
        let v = self.val(oid);
        let rest = v.split_once(": ").map(|(_, r)| r.trim()).unwrap_or("");
        let n = match rest.strip_prefix('(') {
            Some(r) => r.split(')').next().unwrap_or(""),
            None => rest.split_whitespace().next().unwrap_or(""),
        };
        n.parse()
            .unwrap_or_else(|_| panic!("not a number at {oid}: {v}"))
    }

    /// SET with v2c/private; `vbs` is a flat list of oid, type, value triples.
    pub fn set(&self, vbs: &[&str]) -> Out {
        assert_eq!(vbs.len() % 3, 0, "varbinds come in triples");
        self.snmp("snmpset", V2_RW, vbs)
    }

    pub fn set_v1(&self, vbs: &[&str]) -> Out {
        assert_eq!(vbs.len() % 3, 0, "varbinds come in triples");
        self.snmp("snmpset", V1_RW, vbs)
    }

    /// SET that must succeed; returns the echoed lines.
    #[track_caller]
    pub fn set_ok(&self, vbs: &[&str]) -> Vec<String> {
        let out = self.set(vbs);
        assert!(out.ok(), "SET should succeed:\n{}", out.describe());
        assert_eq!(
            out.stdout.len(),
            vbs.len() / 3,
            "one echoed varbind per varbind:\n{}",
            out.describe()
        );
        out.stdout
    }

    /// SET that must fail with `reason` at 1-based varbind `index`.
    #[track_caller]
    pub fn set_err(&self, vbs: &[&str], reason: &str, index: usize) {
        let out = self.set(vbs);
        check_error(&out, vbs, reason, index);
    }

    #[track_caller]
    pub fn set_v1_err(&self, vbs: &[&str], reason: &str, index: usize) {
        let out = self.set_v1(vbs);
        check_error(&out, vbs, reason, index);
    }

    pub fn walk(&self, root: &str) -> Vec<(String, String)> {
        let out = self.snmp("snmpwalk", V2_RO, &[root]);
        assert!(
            out.status.success() && !out.timed_out(),
            "snmpwalk failed:\n{}",
            out.describe()
        );
        out.varbinds()
    }

    pub fn bulkwalk(&self, root: &str, reps: u32) -> Vec<(String, String)> {
        let cr = format!("-Cr{reps}");
        let out = self.snmp(
            "snmpbulkwalk",
            &["-v2c", "-c", "public", "-On", &cr],
            &[root],
        );
        assert!(
            out.status.success() && !out.timed_out(),
            "snmpbulkwalk failed:\n{}",
            out.describe()
        );
        out.varbinds()
    }

    /// createAndGo of VRF `name` with extra varbinds (RowStatus goes last).
    #[track_caller]
    pub fn create_vrf(&self, name: &str, extra: &[&str]) {
        let rs_oid = vrf_oid(vrf::ROW_STATUS, name);
        let mut vbs: Vec<&str> = extra.to_vec();
        vbs.extend([rs_oid.as_str(), "i", rs::CREATE_AND_GO]);
        self.set_ok(&vbs);
    }

    #[track_caller]
    pub fn destroy_vrf(&self, name: &str) {
        self.set_ok(&[&vrf_oid(vrf::ROW_STATUS, name), "i", rs::DESTROY]);
    }

    // ----- raw UDP ----------------------------------------------------------

    /// Send one datagram and wait for one answer.
    pub fn udp_exchange(&self, pkt: &[u8], timeout: Duration) -> Option<Vec<u8>> {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(timeout)).unwrap();
        sock.send_to(pkt, ("127.0.0.1", self.port)).ok()?;
        let mut buf = vec![0u8; 65536];
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => Some(buf[..n].to_vec()),
            Err(_) => None,
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("===== l3vpnd log tail ({}) =====", self.base.display());
            eprintln!("{}", Self::tail(&self.logs(), 60));
        }
        if let Some(ns) = self.netns.take() {
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        }
    }
}

/// Assert an snmpset failure: error-status `reason` at 1-based varbind `index`
/// of the flat triples `vbs`.
#[track_caller]
pub fn check_error(out: &Out, vbs: &[&str], reason: &str, index: usize) {
    assert!(
        !out.ok(),
        "SET should fail with {reason} at {index}:\n{}",
        out.describe()
    );
    assert!(
        !out.timed_out(),
        "no response (expected {reason}):\n{}",
        out.describe()
    );
    assert_eq!(
        out.reason().as_deref(),
        Some(reason),
        "error-status:\n{}",
        out.describe()
    );
    let want = format!(".{}", vbs[(index - 1) * 3].trim_start_matches('.'));
    assert_eq!(
        out.failed_object(),
        Some(want),
        "error-index should be {index}:\n{}",
        out.describe()
    );
}

/// Assert that a list of OIDs is strictly increasing.
#[track_caller]
pub fn assert_strictly_increasing(vbs: &[(String, String)]) {
    for w in vbs.windows(2) {
        assert!(
            oid_arcs(&w[0].0) < oid_arcs(&w[1].0),
            "OIDs not strictly increasing: {} then {}",
            w[0].0,
            w[1].0
        );
    }
}

/// xorshift64* for reproducible "random" data without a crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next_u64() as u8;
        }
    }
}

/// Read a whole file, for logs.
pub fn read_file(p: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = OpenOptions::new().read(true).open(p) {
        let _ = f.read_to_string(&mut s);
    }
    s
}

// ===========================================================================
// Issue 3 helpers (appended): mplsL3VpnVrfRteTable, mplsL3VpnVrfPerfTable
// columns, L3VPND-MIB objects, polling, and a network namespace prepared
// before the daemon starts (for `--fib netlink`).
// ===========================================================================

pub const RTE_TABLE: &str = "1.3.6.1.2.1.10.166.11.1.4.1";
pub const RTE_ENTRY: &str = "1.3.6.1.2.1.10.166.11.1.4.1.1";
pub const L3VPND_MIB: &str = "1.3.6.1.4.1.32473.1";
pub const L3VPND_SCALARS: &str = "1.3.6.1.4.1.32473.1.1.1";
pub const L3VPND_VRF_ENTRY: &str = "1.3.6.1.4.1.32473.1.1.2.1";

/// Columns of mplsL3VpnVrfRteEntry (1..6 are the not-accessible index).
pub mod rte {
    pub const IF_INDEX: u32 = 7;
    pub const TYPE: u32 = 8;
    pub const PROTO: u32 = 9;
    pub const AGE: u32 = 10;
    pub const NEXT_HOP_AS: u32 = 11;
    pub const METRIC1: u32 = 12;
    pub const METRIC2: u32 = 13;
    pub const METRIC3: u32 = 14;
    pub const METRIC4: u32 = 15;
    pub const METRIC5: u32 = 16;
    pub const XC_POINTER: u32 = 17;
    pub const STATUS: u32 = 18;
    /// mplsL3VpnVrfRteInetCidrType values.
    pub const OTHER: &str = "1";
    pub const REJECT: &str = "2";
    pub const LOCAL: &str = "3";
    pub const REMOTE: &str = "4";
    pub const BLACKHOLE: &str = "5";
    /// IANAipRouteProtocol netmgmt(3): rows created over SNMP.
    pub const PROTO_NETMGMT: i64 = 3;
}

/// Columns of mplsL3VpnVrfPerfEntry.
pub mod perf {
    pub const ROUTES_ADDED: u32 = 1;
    pub const ROUTES_DELETED: u32 = 2;
    pub const CURR_NUM_ROUTES: u32 = 3;
    pub const ROUTES_DROPPED: u32 = 4;
    pub const DISC_TIME: u32 = 5;
}

/// L3VPND-MIB: scalars (`ext::scalar_oid`) and l3vpndVrfEntry columns.
pub mod ext {
    pub const LABEL_STATIC_MIN: u32 = 1;
    pub const LABEL_STATIC_MAX: u32 = 2;
    pub const LABEL_DYNAMIC_MIN: u32 = 3;
    pub const LABEL_DYNAMIC_MAX: u32 = 4;
    pub const FIB_BACKEND: u32 = 5;
    pub const FIB_CAP_VRF_DEVICE: u32 = 6;
    pub const FIB_CAP_MPLS: u32 = 7;
    pub const FIB_CAP_IPV6: u32 = 8;
    pub const RTE_MX_THRSH_TIME: u32 = 9;
    pub const LABELS_ALLOCATED: u32 = 10;

    pub const LABEL_MODE: u32 = 1;
    pub const LABEL: u32 = 2;
    pub const TABLE_ID: u32 = 3;
    pub const FIB_STATUS: u32 = 4;
    pub const FIB_REASON: u32 = 5;
    pub const FIB_LAST_CHANGE: u32 = 6;
    pub const FIB_ROUTES: u32 = 7;

    pub const PER_VRF: &str = "1";
    pub const PER_PREFIX: &str = "2";
    pub const PER_NEXT_HOP: &str = "3";

    pub const FIB_PENDING: i64 = 1;
    pub const FIB_INSTALLED: i64 = 2;
    pub const FIB_FAILED: i64 = 3;
    pub const FIB_NOT_APPLICABLE: i64 = 4;

    pub fn scalar_oid(n: u32) -> String {
        format!("{}.{n}.0", super::L3VPND_SCALARS)
    }

    pub fn vrf_oid(col: u32, name: &str) -> String {
        format!(
            "{}.{col}.{}",
            super::L3VPND_VRF_ENTRY,
            super::name_index(name)
        )
    }
}

/// An IP address as an InetAddressType value and a length-prefixed
/// InetAddress index: "10.0.0.0" -> (1, "4.10.0.0.0").
pub fn inet_index(addr: &str) -> (u32, String) {
    let ip: std::net::IpAddr = addr
        .parse()
        .unwrap_or_else(|_| panic!("not an IP address: {addr}"));
    let (t, octets) = match ip {
        std::net::IpAddr::V4(a) => (1, a.octets().to_vec()),
        std::net::IpAddr::V6(a) => (2, a.octets().to_vec()),
    };
    let mut s = octets.len().to_string();
    for o in octets {
        s.push('.');
        s.push_str(&o.to_string());
    }
    (t, s)
}

/// The mplsL3VpnVrfRteTable index of a route with policy {0 0}: VRF name,
/// dest type, dest, prefix length, policy, next-hop type, next hop
/// (`None`: unknown(0) and zero-length).
pub fn rte_index(vrf: &str, dest: &str, pfx: u32, nh: Option<&str>) -> String {
    let (dt, d) = inet_index(dest);
    let (nt, n) = match nh {
        Some(a) => inet_index(a),
        None => (0, "0".to_string()),
    };
    format!("{}.{dt}.{d}.{pfx}.2.0.0.{nt}.{n}", name_index(vrf))
}

pub fn rte_oid(col: u32, vrf: &str, dest: &str, pfx: u32, nh: Option<&str>) -> String {
    format!("{RTE_ENTRY}.{col}.{}", rte_index(vrf, dest, pfx, nh))
}

/// Poll `f` every 50 ms until it holds; panic with `what` after `max`.
#[track_caller]
pub fn wait_for(what: &str, max: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    loop {
        if f() {
            return;
        }
        if start.elapsed() > max {
            panic!("not within {max:?}: {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Daemon {
    /// Like `in_netns`, but runs `setup` (commands, each run inside the
    /// namespace with `ip netns exec`) before the daemon starts, and starts
    /// it with `extra` arguments (e.g. `--fib netlink`). Needs root.
    pub fn in_netns_with(extra: &[&str], setup: &[&[&str]]) -> Daemon {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "l3n-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let st = Command::new("ip").args(["netns", "add", &name]).status();
        assert!(
            st.is_ok_and(|s| s.success()),
            "ip netns add {name} failed (root? iproute2?)"
        );
        let tmp = tempfile::Builder::new()
            .prefix("l3vpnd-test-")
            .tempdir()
            .expect("tempdir");
        let mut d = Daemon::prepare(tmp.path(), extra);
        d._tmp = Some(tmp);
        d.netns = Some(name);
        d.ns_exec(&["ip", "link", "set", "lo", "up"]);
        for cmd in setup {
            d.ns_exec(cmd);
        }
        d.launch();
        d
    }

    /// Run a command in the daemon's namespace (or on the host) without
    /// asserting success: (success, stdout, stderr).
    pub fn ns_try(&self, argv: &[&str]) -> (bool, String, String) {
        let mut full: Vec<&str> = Vec::new();
        if let Some(ns) = &self.netns {
            full.extend(["ip", "netns", "exec", ns.as_str()]);
        }
        full.extend_from_slice(argv);
        let out = Command::new(full[0])
            .args(&full[1..])
            .output()
            .unwrap_or_else(|e| panic!("{full:?}: {e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Borrow owned varbind strings for `set` / `set_ok` / `set_err`.
pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(|s| s.as_str()).collect()
}

// ===========================================================================
// Issue 5 helpers (appended): snmptrapd as the notification receiver, the
// notification OIDs, and SNMP-TARGET-MIB / SNMP-NOTIFICATION-MIB rows.
// ===========================================================================

/// snmpTrapOID values (numeric, with the leading dot snmptrapd prints).
pub mod trap {
    pub const COLD_START: &str = ".1.3.6.1.6.3.1.1.5.1";
    pub const WARM_START: &str = ".1.3.6.1.6.3.1.1.5.2";
    pub const LINK_DOWN: &str = ".1.3.6.1.6.3.1.1.5.3";
    pub const LINK_UP: &str = ".1.3.6.1.6.3.1.1.5.4";
    pub const AUTH_FAILURE: &str = ".1.3.6.1.6.3.1.1.5.5";
    pub const VRF_UP: &str = ".1.3.6.1.2.1.10.166.11.0.1";
    pub const VRF_DOWN: &str = ".1.3.6.1.2.1.10.166.11.0.2";
    pub const MID_EXCEEDED: &str = ".1.3.6.1.2.1.10.166.11.0.3";
    pub const MAX_EXCEEDED: &str = ".1.3.6.1.2.1.10.166.11.0.4";
    pub const ILL_LBL: &str = ".1.3.6.1.2.1.10.166.11.0.5";
    pub const MAX_CLEARED: &str = ".1.3.6.1.2.1.10.166.11.0.6";
    pub const SYS_UP_TIME_0: &str = ".1.3.6.1.2.1.1.3.0";
    pub const SNMP_TRAP_OID_0: &str = ".1.3.6.1.6.3.1.1.4.1.0";
}

pub const TARGET_ADDR_ENTRY: &str = "1.3.6.1.6.3.12.1.2.1";
pub const TARGET_PARAMS_ENTRY: &str = "1.3.6.1.6.3.12.1.3.1";
pub const NOTIFY_ENTRY: &str = "1.3.6.1.6.3.13.1.1.1";
pub const NOTIFY_PROFILE_ENTRY: &str = "1.3.6.1.6.3.13.1.2.1";
pub const NOTIFY_FILTER_ENTRY: &str = "1.3.6.1.6.3.13.1.3.1";
pub const SNMP_ENABLE_AUTHEN_TRAPS: &str = "1.3.6.1.2.1.11.30.0";
pub const SNMP_UDP_DOMAIN: &str = "1.3.6.1.6.1.1";
pub const UDP_IPV6_DOMAIN: &str = "1.3.6.1.2.1.100.1.2";
/// L3VPND-MIB l3vpndNotifyStats scalars (`.N.0`) and per-target table.
pub const NOTIFY_STATS: &str = "1.3.6.1.4.1.32473.1.1.4";

/// An IMPLIED SnmpAdminString index: one sub-identifier per octet.
pub fn implied(name: &str) -> String {
    name.bytes()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

/// One notification as snmptrapd logged it.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    /// "TRAP" (SNMPv1), "TRAP2" or "INFORM".
    pub pdu: String,
    /// snmptrapd's %P: "TRAP2, SNMP v2c, community public", ...
    pub security: String,
    /// SNMPv1 only: enterprise, generic-trap, specific-trap.
    pub enterprise: String,
    pub generic: i64,
    pub specific: i64,
    /// (oid, value) in order.
    pub varbinds: Vec<(String, String)>,
}

impl Received {
    /// snmpTrapOID.0 of an SNMPv2 notification.
    pub fn trap_oid(&self) -> Option<&str> {
        self.varbinds
            .iter()
            .find(|(o, _)| o == trap::SNMP_TRAP_OID_0)
            .map(|(_, v)| v.trim_start_matches("OID: "))
    }
    /// The varbinds after sysUpTime.0 and snmpTrapOID.0 (SNMPv2), or all of
    /// them (SNMPv1).
    pub fn objects(&self) -> &[(String, String)] {
        if self.pdu == "TRAP" {
            &self.varbinds
        } else {
            &self.varbinds[2.min(self.varbinds.len())..]
        }
    }
}

/// snmptrapd on 127.0.0.1 (or inside a network namespace), logging every
/// notification to a file in a parseable format; authorization off;
/// `extra_conf` lines (createUser ...) in its configuration.
pub struct TrapReceiver {
    pub port: u16,
    pub dir: tempfile::TempDir,
    netns: Option<String>,
    extra_conf: String,
    child: Option<Child>,
    runs: u32,
    /// Listening on [::1] rather than 127.0.0.1.
    pub v6: bool,
}

/// The snmptrapd output format: one line per notification.
const TRAPD_FORMAT: &str = "NOTIFY %P|%N|%w|%q|%v\n";

impl TrapReceiver {
    pub fn start(extra_conf: &str) -> TrapReceiver {
        Self::start_in(None, extra_conf)
    }

    pub fn start_in(netns: Option<&str>, extra_conf: &str) -> TrapReceiver {
        let dir = tempfile::Builder::new()
            .prefix("l3vpnd-trapd-")
            .tempdir()
            .expect("tempdir");
        let mut r = TrapReceiver {
            port: 0,
            dir,
            netns: netns.map(str::to_string),
            extra_conf: extra_conf.to_string(),
            child: None,
            runs: 0,
            v6: false,
        };
        r.port = free_udp_port();
        r.launch();
        r
    }

    /// snmptrapd on [::1] (None when the host has no IPv6 loopback).
    pub fn start_v6(extra_conf: &str) -> Option<TrapReceiver> {
        let dir = tempfile::Builder::new()
            .prefix("l3vpnd-trapd-")
            .tempdir()
            .expect("tempdir");
        let mut r = TrapReceiver {
            port: free_udp6_port()?,
            dir,
            netns: None,
            extra_conf: extra_conf.to_string(),
            child: None,
            runs: 0,
            v6: true,
        };
        r.launch();
        Some(r)
    }

    fn listen_addr(&self) -> String {
        if self.v6 {
            format!("udp6:[::1]:{}", self.port)
        } else {
            format!("udp:127.0.0.1:{}", self.port)
        }
    }

    fn new_port(&self) -> u16 {
        if self.v6 {
            free_udp6_port().unwrap_or(0)
        } else {
            free_udp_port()
        }
    }

    fn log_path(&self, run: u32) -> PathBuf {
        self.dir.path().join(format!("trapd-{run}.log"))
    }

    /// Start snmptrapd (again) on the same port; waits until it listens.
    pub fn launch(&mut self) {
        assert!(self.child.is_none(), "snmptrapd already running");
        for _ in 0..3 {
            self.runs += 1;
            let conf = self.dir.path().join("snmptrapd.conf");
            std::fs::write(
                &conf,
                format!("disableAuthorization yes\n{}\n", self.extra_conf),
            )
            .unwrap();
            let persist = self.dir.path().join("persist");
            std::fs::create_dir_all(&persist).unwrap();
            let log = File::create(self.log_path(self.runs)).unwrap();
            let mut cmd = match &self.netns {
                Some(ns) => {
                    let mut c = Command::new("ip");
                    c.args(["netns", "exec", ns.as_str(), "snmptrapd"]);
                    c
                }
                None => Command::new("snmptrapd"),
            };
            cmd.args(["-f", "-Lo", "-n", "-C", "-On", "-c"])
                .arg(&conf)
                .args(["-F", TRAPD_FORMAT])
                .arg(self.listen_addr())
                .env("MIBS", "")
                .env("SNMP_PERSISTENT_DIR", &persist)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            let child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing_tool("snmptrapd"),
                Err(e) => panic!("cannot run snmptrapd: {e}"),
            };
            self.child = Some(child);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                let text = read_file(&self.log_path(self.runs));
                if text.contains("NET-SNMP version") {
                    return;
                }
                if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                    if text.contains("bind") || text.contains("Address already in use") {
                        break;
                    }
                    panic!("snmptrapd exited with {st}:\n{text}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            self.stop();
            self.port = self.new_port();
        }
        panic!("snmptrapd did not start");
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every notification logged so far (all runs), in order.
    pub fn received(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for run in 1..=self.runs {
            for l in read_file(&self.log_path(run)).lines() {
                let Some(rest) = l.strip_prefix("NOTIFY ") else {
                    continue;
                };
                let f: Vec<&str> = rest.splitn(5, '|').collect();
                if f.len() < 5 {
                    continue;
                }
                let num = |s: &str| s.trim().trim_start_matches('.').parse().unwrap_or(-1);
                let varbinds = f[4]
                    .split('\t')
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| {
                        let (o, val) = v.split_once(" = ").unwrap_or((v, ""));
                        (o.trim().to_string(), val.trim().to_string())
                    })
                    .collect();
                out.push(Received {
                    pdu: f[0].split(',').next().unwrap_or("").trim().to_string(),
                    security: f[0].to_string(),
                    enterprise: f[1].to_string(),
                    generic: num(f[2]),
                    specific: num(f[3]),
                    varbinds,
                });
            }
        }
        out
    }

    /// The snmpTrapOID of every SNMPv2 notification received, in order.
    pub fn oids(&self) -> Vec<String> {
        self.received()
            .iter()
            .filter_map(|r| r.trap_oid().map(str::to_string))
            .collect()
    }

    /// Wait until at least `n` notifications have been received.
    #[track_caller]
    pub fn wait_count(&self, n: usize, max: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let r = self.received();
            if r.len() >= n {
                return r;
            }
            if start.elapsed() > max {
                panic!(
                    "snmptrapd got {} notifications, expected {n} within {max:?}: {:#?}",
                    r.len(),
                    r
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The logs of every run, for failure messages.
    pub fn logs(&self) -> String {
        (1..=self.runs)
            .map(|r| read_file(&self.log_path(r)))
            .collect::<Vec<_>>()
            .join("----- restart -----\n")
    }
}

impl Drop for TrapReceiver {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "===== snmptrapd log ({}) =====\n{}",
                self.dir.path().display(),
                self.logs()
            );
        }
    }
}

/// A TOML `[[notify_target]]` entry for the configuration file.
pub fn notify_target_toml(name: &str, port: u16, kind: &str, version: &str, extra: &str) -> String {
    format!(
        "[[notify_target]]\nname = \"{name}\"\naddress = \"127.0.0.1:{port}\"\ntype = \"{kind}\"\nversion = \"{version}\"\n{extra}\n"
    )
}

impl Daemon {
    /// Start a daemon with a configuration file holding `toml`.
    pub fn with_config(toml: &str, extra: &[&str]) -> Daemon {
        let tmp = tempfile::Builder::new()
            .prefix("l3vpnd-test-")
            .tempdir()
            .expect("tempdir");
        let conf = tmp.path().join("l3vpnd.toml");
        std::fs::write(&conf, toml).unwrap();
        let mut args = vec!["--config".to_string(), conf.display().to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut d = Daemon::prepare(tmp.path(), &[]);
        d.extra_args = args;
        d._tmp = Some(tmp);
        d.launch();
        d
    }

    /// Create (createAndGo) an snmpTargetParamsEntry, an
    /// snmpTargetAddrEntry to 127.0.0.1:`port` tagged `name`, and an
    /// snmpNotifyEntry selecting it, all named `name`: SNMPv2c with
    /// community `public`, `inform` or trap, with `storage`.
    #[track_caller]
    pub fn add_target(&self, name: &str, port: u16, inform: bool, storage: &str) {
        let i = implied(name);
        let p = |c: u32| format!("{TARGET_PARAMS_ENTRY}.{c}.{i}");
        let a = |c: u32| format!("{TARGET_ADDR_ENTRY}.{c}.{i}");
        let n = |c: u32| format!("{NOTIFY_ENTRY}.{c}.{i}");
        let addr = format!("7f000001{port:04x}");
        let vbs = [
            p(2),
            "i".into(),
            "1".into(),
            p(3),
            "i".into(),
            "2".into(),
            p(4),
            "s".into(),
            "public".into(),
            p(5),
            "i".into(),
            "1".into(),
            p(6),
            "i".into(),
            storage.into(),
            p(7),
            "i".into(),
            "4".into(),
            a(2),
            "o".into(),
            SNMP_UDP_DOMAIN.into(),
            a(3),
            "x".into(),
            addr,
            a(6),
            "s".into(),
            name.into(),
            a(7),
            "s".into(),
            name.into(),
            a(8),
            "i".into(),
            storage.into(),
            a(4),
            "i".into(),
            "100".into(),
            a(5),
            "i".into(),
            "3".into(),
            a(9),
            "i".into(),
            "4".into(),
            n(2),
            "s".into(),
            name.into(),
            n(3),
            "i".into(),
            if inform { "2".into() } else { "1".into() },
            n(4),
            "i".into(),
            storage.into(),
            n(5),
            "i".into(),
            "4".into(),
        ];
        self.set_ok(&strs(&vbs));
    }

    /// l3vpndNotifyStats scalar `n` (1 traps, 2 informs, 3 acked, 4 retried,
    /// 5 lost, 6 dropped).
    pub fn notify_stat(&self, n: u32) -> i64 {
        self.num(&format!("{NOTIFY_STATS}.{n}.0"))
    }
}

// ===========================================================================
// Issue 4 helpers (appended): BGP objects of L3VPND-MIB and BGP4-MIB, a set
// of network namespaces joined by veth pairs, l3vpnd started in one of them
// with a configuration file, the peers (GoBGP, FRR bgpd) as guarded
// processes, and a small JSON reader for their CLIs' output.
// ===========================================================================

/// L3VPND-MIB l3vpndBgp: speaker scalars (`bgp::scalar_oid`) and the peer
/// table (`bgp::peer_oid`); BGP4-MIB objects.
pub mod bgp {
    pub const SPEAKER: &str = "1.3.6.1.4.1.32473.1.1.3";
    pub const PEER_ENTRY: &str = "1.3.6.1.4.1.32473.1.1.3.10.1";
    pub const BGP4_LOCAL_AS: &str = "1.3.6.1.2.1.15.2.0";
    pub const BGP4_IDENTIFIER: &str = "1.3.6.1.2.1.15.4.0";
    pub const BGP4_PEER_ENTRY: &str = "1.3.6.1.2.1.15.3.1";

    pub const LOCAL_AS: u32 = 1;
    pub const ROUTER_ID: u32 = 2;
    pub const LISTEN_ADDRESS_TYPE: u32 = 3;
    pub const LISTEN_ADDRESS: u32 = 4;
    pub const LISTEN_PORT: u32 = 5;

    pub const REMOTE_AS: u32 = 4;
    pub const FAMILIES: u32 = 5;
    pub const HOLD_TIME: u32 = 6;
    pub const KEEPALIVE: u32 = 7;
    pub const MD5_PASSWORD: u32 = 8;
    pub const RR_CLIENT: u32 = 9;
    pub const ADMIN_STATUS: u32 = 10;
    pub const REMOTE_PORT: u32 = 11;
    pub const ROW_STATUS: u32 = 12;
    pub const STORAGE_TYPE: u32 = 13;
    pub const FSM_STATE: u32 = 14;
    pub const ESTABLISHED_TIME: u32 = 15;
    pub const LAST_ERROR_CODE: u32 = 16;
    pub const LAST_ERROR_SUBCODE: u32 = 17;
    pub const IN_MESSAGES: u32 = 18;
    pub const OUT_MESSAGES: u32 = 19;
    pub const RCVD_IPV4_UNICAST: u32 = 20;
    pub const RCVD_IPV6_UNICAST: u32 = 21;
    pub const RCVD_VPNV4: u32 = 22;
    pub const RCVD_VPNV6: u32 = 23;
    pub const ACC_IPV4_UNICAST: u32 = 24;
    pub const ACC_IPV6_UNICAST: u32 = 25;
    pub const ACC_VPNV4: u32 = 26;
    pub const ACC_VPNV6: u32 = 27;

    /// l3vpndBgpPeerFamilies bits as one octet for `snmpset ... x`.
    pub const FAM_IPV4_UNICAST: u8 = 0x80;
    pub const FAM_IPV6_UNICAST: u8 = 0x40;
    pub const FAM_VPNV4: u8 = 0x20;
    pub const FAM_VPNV6: u8 = 0x10;

    /// FSM states (l3vpndBgpPeerFsmState, bgpPeerState).
    pub const IDLE: i64 = 1;
    pub const ESTABLISHED: i64 = 6;

    /// IANAipRouteProtocol bgp(14) and the route-table policy of BGP routes.
    pub const PROTO_BGP: i64 = 14;
    pub const POLICY_BGP: &str = "7.1.3.6.1.2.1.15";

    pub fn scalar_oid(n: u32) -> String {
        format!("{SPEAKER}.{n}.0")
    }

    /// The l3vpndBgpPeerTable index: VRF name ("" for a PE peer), address
    /// type, length-prefixed address.
    pub fn peer_index(vrf: &str, addr: &str) -> String {
        let (t, a) = super::inet_index(addr);
        format!("{}.{t}.{a}", super::name_index(vrf))
    }

    pub fn peer_oid(col: u32, vrf: &str, addr: &str) -> String {
        format!("{PEER_ENTRY}.{col}.{}", peer_index(vrf, addr))
    }

    /// bgpPeerTable column `col` of IPv4 peer `addr`.
    pub fn bgp4_peer_oid(col: u32, addr: &str) -> String {
        format!("{BGP4_PEER_ENTRY}.{col}.{addr}")
    }
}

/// The mplsL3VpnVrfRteTable index of a route learned by BGP: policy
/// {1.3.6.1.2.1.15} (bgp), next hop `nh` (`None`: unknown, zero-length).
pub fn bgp_rte_index(vrf: &str, dest: &str, pfx: u32, nh: Option<&str>) -> String {
    let (dt, d) = inet_index(dest);
    let (nt, n) = match nh {
        Some(a) => inet_index(a),
        None => (0, "0".to_string()),
    };
    format!(
        "{}.{dt}.{d}.{pfx}.{}.{nt}.{n}",
        name_index(vrf),
        bgp::POLICY_BGP
    )
}

pub fn bgp_rte_oid(col: u32, vrf: &str, dest: &str, pfx: u32, nh: Option<&str>) -> String {
    format!("{RTE_ENTRY}.{col}.{}", bgp_rte_index(vrf, dest, pfx, nh))
}

/// Poll `f` every 100 ms until it gives `Ok`; after `max`, panic with
/// `what` and the last `Err` (what was seen instead).
#[track_caller]
pub fn poll<T>(what: &str, max: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) => {
                if start.elapsed() > max {
                    panic!("not within {max:?}: {what}\nlast seen:\n{last}");
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ----- network namespaces ---------------------------------------------------

/// Named network namespaces (`<prefix>-<pid>-<n>-<tag>`) joined by veth
/// pairs; every namespace is deleted on drop (after the processes in them
/// have been stopped by their own guards, declared later).
pub struct Netns {
    prefix: String,
    names: Vec<String>,
}

/// Run `argv`; (success, stdout, stderr).
pub fn run_cmd(argv: &[&str]) -> (bool, String, String) {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run `argv`, assert success, return stdout.
#[track_caller]
pub fn run_ok(argv: &[&str]) -> String {
    let (ok, out, err) = run_cmd(argv);
    assert!(ok, "{argv:?} failed:\n{out}{err}");
    out
}

impl Netns {
    pub fn new(prefix: &str) -> Netns {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        Netns {
            prefix: format!(
                "{prefix}-{}-{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            ),
            names: Vec::new(),
        }
    }

    /// The full name of namespace `tag`.
    pub fn name(&self, tag: &str) -> String {
        format!("{}-{tag}", self.prefix)
    }

    /// Create namespace `tag` with `lo` up; returns its full name.
    pub fn add(&mut self, tag: &str) -> String {
        let name = self.name(tag);
        let _ = run_cmd(&["ip", "netns", "del", &name]);
        run_ok(&["ip", "netns", "add", &name]);
        self.names.push(name.clone());
        run_ok(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        // No duplicate address detection: addresses (link-local ones too)
        // are usable at once.
        run_ok(&[
            "ip",
            "netns",
            "exec",
            &name,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
        ]);
        name
    }

    /// A veth pair between namespaces `a` and `b` (tags), interface names
    /// `ia`/`ib`, addresses (with prefix length) `aa`/`ab`, both up.
    pub fn link(&self, a: &str, ia: &str, aa: &str, b: &str, ib: &str, ab: &str) {
        let (na, nb) = (self.name(a), self.name(b));
        run_ok(&[
            "ip", "-n", &na, "link", "add", ia, "type", "veth", "peer", "name", ib, "netns", &nb,
        ]);
        for (n, i, addr) in [(&na, ia, aa), (&nb, ib, ab)] {
            let mut argv = vec!["ip", "-n", n.as_str(), "addr", "add", addr, "dev", i];
            if addr.contains(':') {
                argv.push("nodad");
            }
            run_ok(&argv);
            run_ok(&["ip", "-n", n, "link", "set", i, "up"]);
        }
    }

    /// Run `argv` in namespace `tag`; (success, stdout, stderr).
    pub fn try_exec(&self, tag: &str, argv: &[&str]) -> (bool, String, String) {
        let name = self.name(tag);
        let mut full = vec!["ip", "netns", "exec", name.as_str()];
        full.extend_from_slice(argv);
        run_cmd(&full)
    }

    /// Run `argv` in namespace `tag`, assert success, return stdout.
    #[track_caller]
    pub fn exec(&self, tag: &str, argv: &[&str]) -> String {
        let (ok, out, err) = self.try_exec(tag, argv);
        assert!(ok, "in {tag}: {argv:?} failed:\n{out}{err}");
        out
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for n in self.names.drain(..).rev() {
            let _ = run_cmd(&["ip", "netns", "del", &n]);
        }
    }
}

impl Daemon {
    /// Start l3vpnd in the existing namespace `ns` (full name; deleted when
    /// the daemon is dropped) with a configuration file holding `toml` and
    /// `extra` arguments.
    pub fn in_existing_netns(ns: &str, toml: &str, extra: &[&str]) -> Daemon {
        let tmp = tempfile::Builder::new()
            .prefix("l3vpnd-test-")
            .tempdir()
            .expect("tempdir");
        let mut args: Vec<String> = Vec::new();
        if !toml.is_empty() {
            let conf = tmp.path().join("l3vpnd.toml");
            std::fs::write(&conf, toml).unwrap();
            args.extend(["--config".to_string(), conf.display().to_string()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut d = Daemon::prepare(tmp.path(), &[]);
        d.extra_args = args;
        d._tmp = Some(tmp);
        d.netns = Some(ns.to_string());
        d.launch();
        d
    }
}

// ----- processes ------------------------------------------------------------

/// A process started by a test (directly, or a daemon that forks and
/// writes a pid file): killed by its own pid on drop; its log is printed
/// when the test is failing.
pub struct Proc {
    pub what: String,
    child: Option<Child>,
    pidfile: Option<PathBuf>,
    pub log: PathBuf,
}

impl Proc {
    /// Spawn `argv` in namespace `ns` (full name), stdout and stderr to `log`.
    pub fn spawn(what: &str, ns: &str, argv: &[&str], log: &Path) -> Proc {
        let f = File::create(log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {argv:?}: {e}"));
        Proc {
            what: what.to_string(),
            child: Some(child),
            pidfile: None,
            log: log.to_path_buf(),
        }
    }

    /// A daemon that forked itself; `pidfile` names it.
    pub fn forked(what: &str, pidfile: &Path, log: &Path) -> Proc {
        Proc {
            what: what.to_string(),
            child: None,
            pidfile: Some(pidfile.to_path_buf()),
            log: log.to_path_buf(),
        }
    }

    fn pid_from_file(&self) -> Option<i32> {
        let p = self.pidfile.as_ref()?;
        read_file(p).trim().parse().ok()
    }

    /// SIGTERM (then SIGKILL after 5 s) and wait until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let start = Instant::now();
            while c.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(5) {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if let Some(pid) = self.pid_from_file() {
            let alive = |pid: i32| Path::new(&format!("/proc/{pid}")).exists();
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let start = Instant::now();
            while alive(pid) {
                if start.elapsed() > Duration::from_secs(5) {
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if let Some(p) = &self.pidfile {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            let text = read_file(&self.log);
            let lines: Vec<&str> = text.lines().collect();
            eprintln!(
                "===== {} log tail ({}) =====\n{}",
                self.what,
                self.log.display(),
                lines[lines.len().saturating_sub(40)..].join("\n")
            );
        }
    }
}

// ----- GoBGP ------------------------------------------------------------------

pub const GOBGPD: &str = "/usr/bin/gobgpd";

/// l3vpnd in namespace `pe` (10.99.0.1, AS 65000, listening on port 179)
/// with one VPNv4 iBGP peer: GoBGP in namespace `gb` (10.99.0.2), fast
/// reconnects. The veth pair between them is the caller's (`Netns::link`);
/// `extra_toml` is appended to l3vpnd's configuration file. A missing
/// gobgpd fails (scripts/test installs it).
pub fn gobgp_vpnv4_peer(pe: &str, gb: &str, extra_toml: &str) -> (GoBgp, Daemon) {
    assert!(
        std::path::Path::new(GOBGPD).exists(),
        "{GOBGPD} is not installed (scripts/test installs it)"
    );
    let toml = format!(
        "[bgp]\nasn = 65000\nrouter_id = \"10.99.0.1\"\nlisten = [\"10.99.0.1:179\"]\n\
         [[bgp.peer]]\naddress = \"10.99.0.2\"\nremote_as = 65000\nfamilies = [\"vpnv4\"]\n{extra_toml}"
    );
    let gobgp = GoBgp::start(
        gb,
        "[global.config]\n  as = 65000\n  router-id = \"10.99.0.2\"\n  local-address-list = [\"10.99.0.2\"]\n\
         [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"10.99.0.1\"\n    peer-as = 65000\n\
         \x20 [neighbors.timers.config]\n    connect-retry = 1\n    idle-hold-time-after-reset = 1\n\
         \x20 [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"l3vpn-ipv4-unicast\"\n",
    );
    let d = Daemon::in_existing_netns(pe, &toml, &[]);
    (gobgp, d)
}
pub const FRR_BGPD: &str = "/usr/lib/frr/bgpd";

/// gobgpd in a namespace, with its gRPC API on 127.0.0.1:50051 there.
pub struct GoBgp {
    pub ns: String,
    pub dir: tempfile::TempDir,
    pub proc: Option<Proc>,
    runs: u32,
}

impl GoBgp {
    /// Start gobgpd in namespace `ns` (full name) with configuration `toml`;
    /// waits until its API answers.
    pub fn start(ns: &str, toml: &str) -> GoBgp {
        let dir = tempfile::Builder::new()
            .prefix("l3vpnd-gobgp-")
            .tempdir()
            .expect("tempdir");
        std::fs::write(dir.path().join("gobgpd.toml"), toml).unwrap();
        let mut g = GoBgp {
            ns: ns.to_string(),
            dir,
            proc: None,
            runs: 0,
        };
        g.launch();
        g
    }

    /// Start (again) with the same configuration.
    pub fn launch(&mut self) {
        assert!(self.proc.is_none(), "gobgpd already running");
        self.runs += 1;
        let conf = self.dir.path().join("gobgpd.toml");
        let log = self.dir.path().join(format!("gobgpd-{}.log", self.runs));
        self.proc = Some(Proc::spawn(
            "gobgpd",
            &self.ns,
            &[
                GOBGPD,
                "-f",
                conf.to_str().unwrap(),
                "--api-hosts",
                "127.0.0.1:50051",
                "--pprof-disable",
            ],
            &log,
        ));
        poll("gobgpd API up", Duration::from_secs(10), || {
            let (ok, out, err) = self.try_cli(&["global"]);
            if ok {
                Ok(())
            } else {
                Err(format!("{out}{err}"))
            }
        });
    }

    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.stop();
        }
    }

    pub fn try_cli(&self, args: &[&str]) -> (bool, String, String) {
        let mut argv = vec![
            "ip",
            "netns",
            "exec",
            &self.ns,
            "gobgp",
            "-u",
            "127.0.0.1",
            "-p",
            "50051",
        ];
        argv.extend_from_slice(args);
        run_cmd(&argv)
    }

    /// `gobgp ARGS` (whitespace-split), asserting success.
    #[track_caller]
    pub fn cli(&self, args: &str) -> String {
        let argv: Vec<&str> = args.split_whitespace().collect();
        let (ok, out, err) = self.try_cli(&argv);
        assert!(ok, "gobgp {args} failed:\n{out}{err}");
        out
    }

    /// `gobgp global rib -a FAMILY -j` as JSON (an object keyed by prefix).
    pub fn rib(&self, family: &str) -> Json {
        let (ok, out, err) = self.try_cli(&["global", "rib", "-a", family, "-j"]);
        if !ok {
            return Json::Null;
        }
        Json::parse(out.trim()).unwrap_or_else(|e| panic!("gobgp JSON: {e}:\n{out}{err}"))
    }

    /// The best path of `key` ("RD:prefix" for VPN families, "prefix" for
    /// unicast) in the global RIB.
    pub fn route(&self, family: &str, key: &str) -> Option<Json> {
        let rib = self.rib(family);
        let paths = rib.get(key)?.as_array()?;
        paths
            .iter()
            .find(|p| p.get("best").and_then(Json::as_bool) == Some(true))
            .or(paths.first())
            .cloned()
    }

    /// Whether the session with `addr` is ESTABLISHED.
    pub fn established(&self, addr: &str) -> bool {
        let (ok, out, _) = self.try_cli(&["neighbor", addr]);
        ok && out.contains("BGP state = ESTABLISHED")
    }

    /// The `gobgp neighbor ADDR` text, for messages.
    pub fn neighbor(&self, addr: &str) -> String {
        let (_, out, err) = self.try_cli(&["neighbor", addr]);
        format!("{out}{err}")
    }
}

/// One path attribute of a GoBGP JSON path, by type code.
pub fn gobgp_attr(path: &Json, t: i64) -> Option<&Json> {
    path.get("attrs")?
        .as_array()?
        .iter()
        .find(|a| a.get("type").and_then(Json::as_i64) == Some(t))
}

/// The route targets of a GoBGP JSON path ("AS:n" strings).
pub fn gobgp_rts(path: &Json) -> Vec<String> {
    gobgp_attr(path, 16)
        .and_then(|a| a.get("value"))
        .and_then(Json::as_array)
        .map(|v| {
            v.iter()
                .filter(|c| c.get("subtype").and_then(Json::as_i64) == Some(2))
                .filter_map(|c| c.get("value").and_then(Json::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The AS numbers of a GoBGP JSON path's AS_PATH, in order.
pub fn gobgp_as_path(path: &Json) -> Vec<i64> {
    let mut v = Vec::new();
    if let Some(segs) = gobgp_attr(path, 2)
        .and_then(|a| a.get("as_paths"))
        .and_then(Json::as_array)
    {
        for s in segs {
            if let Some(asns) = s.get("asns").and_then(Json::as_array) {
                v.extend(asns.iter().filter_map(Json::as_i64));
            }
        }
    }
    v
}

/// The next hop of a GoBGP JSON path (MP_REACH's, else NEXT_HOP's).
pub fn gobgp_next_hop(path: &Json) -> Option<String> {
    gobgp_attr(path, 14)
        .or_else(|| gobgp_attr(path, 3))
        .and_then(|a| a.get("nexthop"))
        .and_then(Json::as_str)
        .map(str::to_string)
}

// ----- FRR bgpd ---------------------------------------------------------------

/// FRR bgpd (`-Z`, without zebra) in a namespace, as user frr, with its
/// own run directory (vty socket, pid file, log).
pub struct Frr {
    pub ns: String,
    pub dir: tempfile::TempDir,
    pub proc: Option<Proc>,
    /// zebra, when started with it (bgpd then knows the interfaces: it
    /// sends link-local next hops to peers on a shared link).
    pub zebra: Option<Proc>,
}

impl Frr {
    /// Start bgpd with `conf` (the text `RUNDIR` in it is replaced by the
    /// run directory); waits until vtysh answers.
    pub fn start(ns: &str, conf: &str) -> Frr {
        Self::start_opts(ns, conf, false)
    }

    /// Like `start`, with zebra (`with_zebra`) in the same namespace.
    pub fn start_opts(ns: &str, conf: &str, with_zebra: bool) -> Frr {
        let dir = tempfile::Builder::new()
            .prefix("l3vpnd-frr-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let d = dir.path().to_str().unwrap().to_string();
        std::fs::write(dir.path().join("bgpd.conf"), conf.replace("RUNDIR", &d)).unwrap();
        run_ok(&["chown", "-R", "frr:frr", &d]);
        run_ok(&["chmod", "0755", &d]);
        let mut f = Frr {
            ns: ns.to_string(),
            dir,
            proc: None,
            zebra: None,
        };
        if with_zebra {
            f.start_zebra();
        }
        f.launch();
        f
    }

    fn start_zebra(&mut self) {
        let d = self.dir.path().to_str().unwrap().to_string();
        let conf = format!("{d}/zebra.conf");
        std::fs::write(&conf, format!("hostname zebra\nlog file {d}/zebra.log\n")).unwrap();
        run_ok(&["chown", "frr:frr", &conf]);
        let pid = format!("{d}/zebra.pid");
        let api = format!("{d}/zserv.api");
        let out = run_cmd(&[
            "ip",
            "netns",
            "exec",
            &self.ns,
            "/usr/lib/frr/zebra",
            "-d",
            "-f",
            &conf,
            "-i",
            &pid,
            "--vty_socket",
            &d,
            "-z",
            &api,
            "-u",
            "frr",
            "-g",
            "frr",
        ]);
        self.zebra = Some(Proc::forked(
            "FRR zebra",
            Path::new(&pid),
            &self.dir.path().join("zebra.log"),
        ));
        assert!(out.0, "zebra failed to start:\n{}{}", out.1, out.2);
        poll("zebra's zserv socket", Duration::from_secs(10), || {
            if Path::new(&api).exists() && Path::new(&pid).exists() {
                Ok(())
            } else {
                Err(read_file(&self.dir.path().join("zebra.log")))
            }
        });
    }

    pub fn launch(&mut self) {
        assert!(self.proc.is_none(), "bgpd already running");
        let d = self.dir.path().to_str().unwrap().to_string();
        let pid = format!("{d}/bgpd.pid");
        let conf = format!("{d}/bgpd.conf");
        let log = self.dir.path().join("bgpd.log");
        let api = format!("{d}/zserv.api");
        let mut argv = vec!["ip", "netns", "exec", &self.ns, FRR_BGPD, "-d"];
        if self.zebra.is_some() {
            argv.extend(["-z", &api]);
        } else {
            argv.push("-Z");
        }
        argv.extend([
            "-f",
            &conf,
            "-i",
            &pid,
            "--vty_socket",
            &d,
            "-u",
            "frr",
            "-g",
            "frr",
        ]);
        let out = run_cmd(&argv);
        self.proc = Some(Proc::forked("FRR bgpd", Path::new(&pid), &log));
        assert!(out.0, "bgpd failed to start:\n{}{}", out.1, out.2);
        poll("FRR bgpd vty up", Duration::from_secs(10), || {
            let (ok, out, err) = self.try_vtysh(&["show bgp summary json"]);
            if ok && out.trim_start().starts_with('{') && Path::new(&pid).exists() {
                Ok(())
            } else {
                Err(format!("{out}{err}"))
            }
        });
    }

    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.stop();
        }
    }

    pub fn try_vtysh(&self, cmds: &[&str]) -> (bool, String, String) {
        let d = self.dir.path().to_str().unwrap();
        let mut argv = vec!["vtysh", "--vty_socket", d];
        for c in cmds {
            argv.extend(["-c", c]);
        }
        run_cmd(&argv)
    }

    /// vtysh with one `-c` per command; returns stdout.
    pub fn vtysh(&self, cmds: &[&str]) -> String {
        let (_, out, err) = self.try_vtysh(cmds);
        format!("{out}{err}")
    }

    /// Configuration commands (after `configure terminal`).
    #[track_caller]
    pub fn configure(&self, cmds: &[&str]) {
        let mut all = vec!["configure terminal"];
        all.extend_from_slice(cmds);
        let (ok, out, err) = self.try_vtysh(&all);
        assert!(
            ok && !out.contains("% ") && !err.contains("% "),
            "vtysh {all:?} failed:\n{out}{err}"
        );
    }

    /// A `show ... json` command's output, parsed (Null if it is not JSON).
    pub fn json(&self, cmd: &str) -> Json {
        let (_, out, _) = self.try_vtysh(&[cmd]);
        Json::parse(out.trim()).unwrap_or(Json::Null)
    }

    /// The best path of VPN route `rd` `prefix` (`afi` "ipv4" or "ipv6"):
    /// `show bgp AFI vpn rd RD PREFIX json`.
    pub fn vpn_path(&self, afi: &str, rd: &str, prefix: &str) -> Option<Json> {
        let v = self.json(&format!("show bgp {afi} vpn rd {rd} {prefix} json"));
        let paths = v.get(rd)?.get("paths")?.as_array()?;
        paths
            .iter()
            .find(|p| {
                p.get("bestpath")
                    .and_then(|b| b.get("overall"))
                    .and_then(Json::as_bool)
                    == Some(true)
            })
            .or(paths.first())
            .cloned()
    }

    /// `bgpState` of neighbor `addr` ("Established", "Idle", ...).
    pub fn neighbor_state(&self, addr: &str) -> String {
        let v = self.json(&format!("show bgp neighbors {addr} json"));
        v.get(addr)
            .and_then(|n| n.get("bgpState"))
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        self.stop();
        if let Some(mut z) = self.zebra.take() {
            z.stop();
        }
    }
}

// ----- JSON -------------------------------------------------------------------

/// A JSON value (enough for the peers' CLI output).
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(s: &str) -> Result<Json, String> {
        let b = s.as_bytes();
        let mut i = 0;
        let v = json_value(b, &mut i)?;
        json_ws(b, &mut i);
        if i != b.len() {
            return Err(format!("trailing text at {i}"));
        }
        Ok(v)
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn at(&self, i: usize) -> Option<&Json> {
        self.as_array()?.get(i)
    }

    /// Follow a path of keys and array indexes ("paths/0/nexthops").
    pub fn path(&self, p: &str) -> Option<&Json> {
        let mut v = self;
        for part in p.split('/').filter(|s| !s.is_empty()) {
            v = match part.parse::<usize>() {
                Ok(n) if matches!(v, Json::Arr(_)) => v.at(n)?,
                _ => v.get(part)?,
            };
        }
        Some(v)
    }

    pub fn as_array(&self) -> Option<&Vec<Json>> {
        match self {
            Json::Arr(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Vec<(String, Json)>> {
        match self {
            Json::Obj(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Num(n) if n.fract() == 0.0 => Some(*n as i64),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn keys(&self) -> Vec<String> {
        self.as_object()
            .map(|m| m.iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default()
    }
}

impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Json::Null => write!(f, "null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Num(n) => write!(f, "{n}"),
            Json::Str(s) => write!(f, "{s:?}"),
            Json::Arr(a) => {
                write!(f, "[")?;
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Json::Obj(m) => {
                write!(f, "{{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    write!(f, "{k:?}:{v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

fn json_ws(b: &[u8], i: &mut usize) {
    while *i < b.len() && b[*i].is_ascii_whitespace() {
        *i += 1;
    }
}

fn json_value(b: &[u8], i: &mut usize) -> Result<Json, String> {
    json_ws(b, i);
    let c = *b.get(*i).ok_or("unexpected end")?;
    match c {
        b'{' => {
            *i += 1;
            let mut m = Vec::new();
            json_ws(b, i);
            if b.get(*i) == Some(&b'}') {
                *i += 1;
                return Ok(Json::Obj(m));
            }
            loop {
                json_ws(b, i);
                let k = match json_value(b, i)? {
                    Json::Str(s) => s,
                    other => return Err(format!("object key {other} at {i}")),
                };
                json_ws(b, i);
                if b.get(*i) != Some(&b':') {
                    return Err(format!("':' expected at {i}"));
                }
                *i += 1;
                let v = json_value(b, i)?;
                m.push((k, v));
                json_ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b'}') => {
                        *i += 1;
                        return Ok(Json::Obj(m));
                    }
                    _ => return Err(format!("',' or '}}' expected at {i}")),
                }
            }
        }
        b'[' => {
            *i += 1;
            let mut a = Vec::new();
            json_ws(b, i);
            if b.get(*i) == Some(&b']') {
                *i += 1;
                return Ok(Json::Arr(a));
            }
            loop {
                a.push(json_value(b, i)?);
                json_ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b']') => {
                        *i += 1;
                        return Ok(Json::Arr(a));
                    }
                    _ => return Err(format!("',' or ']' expected at {i}")),
                }
            }
        }
        b'"' => {
            *i += 1;
            let mut s: Vec<u8> = Vec::new();
            loop {
                let c = *b.get(*i).ok_or("unterminated string")?;
                *i += 1;
                match c {
                    b'"' => break,
                    b'\\' => {
                        let e = *b.get(*i).ok_or("bad escape")?;
                        *i += 1;
                        match e {
                            b'n' => s.push(b'\n'),
                            b't' => s.push(b'\t'),
                            b'r' => s.push(b'\r'),
                            b'b' => s.push(8),
                            b'f' => s.push(12),
                            b'u' => {
                                let h = std::str::from_utf8(b.get(*i..*i + 4).ok_or("bad \\u")?)
                                    .map_err(|e| e.to_string())?;
                                let cp = u32::from_str_radix(h, 16).map_err(|e| e.to_string())?;
                                *i += 4;
                                let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                                let mut buf = [0u8; 4];
                                s.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            }
                            other => s.push(other),
                        }
                    }
                    other => s.push(other),
                }
            }
            Ok(Json::Str(String::from_utf8_lossy(&s).into_owned()))
        }
        b't' if b[*i..].starts_with(b"true") => {
            *i += 4;
            Ok(Json::Bool(true))
        }
        b'f' if b[*i..].starts_with(b"false") => {
            *i += 5;
            Ok(Json::Bool(false))
        }
        b'n' if b[*i..].starts_with(b"null") => {
            *i += 4;
            Ok(Json::Null)
        }
        b'-' | b'0'..=b'9' => {
            let st = *i;
            while *i < b.len() && matches!(b[*i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                *i += 1;
            }
            let t = std::str::from_utf8(&b[st..*i]).unwrap();
            t.parse()
                .map(Json::Num)
                .map_err(|_| format!("bad number {t:?}"))
        }
        other => Err(format!("unexpected {:?} at {i}", other as char)),
    }
}
