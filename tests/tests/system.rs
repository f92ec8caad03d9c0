//! SNMPv2-MIB system and snmp groups, IF-MIB, and the command line
//! (listen addresses, community defaults, data-dir lock, SIGTERM).

use l3vpnd_tests::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn system_group() {
    let d = Daemon::new();
    let descr = d.val(SYS_DESCR);
    assert!(
        descr.starts_with("STRING: \"l3vpnd"),
        "sysDescr.0 = {descr}"
    );
    let oid = d.val(SYS_OBJECT_ID);
    assert!(
        oid.starts_with("OID: .1.3.6.1.4.1.32473."),
        "sysObjectID.0 = {oid}"
    );
    assert!(d.val(SYS_UPTIME).starts_with("Timeticks: ("));
    let services = d.val(SYS_SERVICES);
    let n: i64 = services
        .strip_prefix("INTEGER: ")
        .unwrap_or_else(|| panic!("sysServices.0 = {services}"))
        .parse()
        .unwrap();
    assert!((0..=127).contains(&n), "sysServices.0 = {n}");
    assert!(
        n & 4 != 0,
        "a router offers layer-3 services: sysServices.0 = {n}"
    );
    assert!(
        d.val("1.3.6.1.2.1.1.8.0").starts_with("Timeticks: ("),
        "sysORLastChange.0"
    );
    // sysUpTime moves.
    let t1 = d.num(SYS_UPTIME);
    std::thread::sleep(Duration::from_millis(300));
    let t2 = d.num(SYS_UPTIME);
    assert!(t2 > t1, "sysUpTime {t1} -> {t2}");
}

#[test]
fn sys_or_table_lists_the_modules_served() {
    let d = Daemon::new();
    let rows = d.walk(SYS_OR_TABLE);
    assert!(!rows.is_empty(), "sysORTable is empty");
    let ids: Vec<&String> = rows
        .iter()
        .filter(|(o, _)| o.starts_with(&format!(".{SYS_OR_TABLE}.1.2.")))
        .map(|(_, v)| v)
        .collect();
    assert!(!ids.is_empty(), "no sysORID: {rows:?}");
    assert!(
        ids.iter()
            .any(|v| v.starts_with("OID: .1.3.6.1.2.1.10.166.11")),
        "sysORTable does not list MPLS-L3VPN-STD-MIB: {ids:?}"
    );
    for col in [3, 4] {
        assert!(
            rows.iter()
                .any(|(o, _)| o.starts_with(&format!(".{SYS_OR_TABLE}.1.{col}."))),
            "sysORTable column {col} missing"
        );
    }
}

#[test]
fn contact_name_location_are_writable_and_persisted() {
    let mut d = Daemon::new();
    d.set_ok(&[
        SYS_CONTACT,
        "s",
        "noc@example.net",
        SYS_NAME,
        "s",
        "pe1.example.net",
        SYS_LOCATION,
        "s",
        "rack 4",
    ]);
    d.expect(SYS_CONTACT, &string("noc@example.net"));
    d.expect(SYS_NAME, &string("pe1.example.net"));
    d.expect(SYS_LOCATION, &string("rack 4"));
    let long = "x".repeat(256);
    d.set_err(&[SYS_NAME, "s", &long], "wrongLength", 1);
    d.set_err(&[SYS_NAME, "i", "1"], "wrongType", 1);
    d.set_err(
        &[SYS_CONTACT, "s", "ok", SYS_LOCATION, "i", "1"],
        "wrongType",
        2,
    );
    d.expect(SYS_CONTACT, &string("noc@example.net"));
    d.restart();
    d.expect(SYS_CONTACT, &string("noc@example.net"));
    d.expect(SYS_NAME, &string("pe1.example.net"));
    d.expect(SYS_LOCATION, &string("rack 4"));
    d.set_ok(&[SYS_LOCATION, "s", ""]);
    d.expect(SYS_LOCATION, EMPTY);
    d.kill9();
    d.launch();
    d.expect(SYS_LOCATION, EMPTY);
}

#[test]
fn if_mib() {
    let d = Daemon::new();
    let rows = d.walk("1.3.6.1.2.1.2.2.1.1");
    let n = d.num(IF_NUMBER);
    assert_eq!(n as usize, rows.len(), "ifNumber.0 = rows in ifTable");
    assert_eq!(d.val(IF_NUMBER), integer(n));
    d.expect(&format!("{IF_DESCR}.1"), &string("lo"));
    d.expect(&format!("{IF_OPER_STATUS}.1"), &integer(1));
    d.expect("1.3.6.1.2.1.2.2.1.1.1", &integer(1));
    // ifIndex is the kernel ifindex, ifDescr the kernel name.
    let mut kernel: Vec<(u32, String)> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            let idx = std::fs::read_to_string(e.path().join("ifindex"))
                .ok()?
                .trim()
                .parse()
                .ok()?;
            Some((idx, name))
        })
        .collect();
    kernel.sort();
    let descr = d.walk(IF_DESCR);
    let got: Vec<(u32, String)> = descr
        .iter()
        .map(|(o, v)| {
            let idx = o.rsplit('.').next().unwrap().parse().unwrap();
            let name = v
                .strip_prefix("STRING: \"")
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(v)
                .to_string();
            (idx, name)
        })
        .collect();
    assert_eq!(got, kernel, "ifTable vs /sys/class/net");
    // ifXTable: ifName.1 = "lo"; HC counters are Counter64.
    d.expect("1.3.6.1.2.1.31.1.1.1.1.1", &string("lo"));
    assert!(d.val("1.3.6.1.2.1.31.1.1.1.6.1").starts_with("Counter64: "));
    // A v1 GET of a Counter64 object: noSuchName.
    let out = d.get_v1(&["1.3.6.1.2.1.31.1.1.1.6.1"]);
    assert_eq!(
        out.reason().as_deref(),
        Some("noSuchName"),
        "{}",
        out.describe()
    );
    // Read-only.
    d.set_err(&[&format!("{IF_DESCR}.1"), "s", "x"], "notWritable", 1);
}

#[test]
fn snmp_group_counters() {
    let d = Daemon::new();
    let a = d.num(SNMP_IN_PKTS);
    for _ in 0..3 {
        d.line(SYS_UPTIME);
    }
    let b = d.num(SNMP_IN_PKTS);
    assert!(b >= a + 4, "snmpInPkts {a} -> {b}");
    for oid in [SNMP_IN_BAD_COMMUNITY_NAMES, SNMP_IN_ASN_PARSE_ERRS] {
        assert!(d.val(oid).starts_with("Counter32: "), "{oid}");
    }
    // snmpEnableAuthenTraps.0 is an INTEGER (TruthValue).
    let v = d.val("1.3.6.1.2.1.11.30.0");
    assert!(
        v == integer(1) || v == integer(2),
        "snmpEnableAuthenTraps.0 = {v}"
    );
}

#[test]
fn sigterm_exits_cleanly() {
    let mut d = Daemon::new();
    d.create_vrf("x", &[]);
    let st = d.stop();
    assert!(st.success(), "exit status on SIGTERM: {st}");
}

fn spawn_raw(args: &[String], log: &std::path::Path) -> std::process::Child {
    let f = std::fs::File::create(log).unwrap();
    Command::new(daemon_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap()
}

fn wait_exit(c: &mut std::process::Child, max: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < max {
        if let Some(st) = c.try_wait().unwrap() {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = c.kill();
    let _ = c.wait();
    None
}

#[test]
fn second_instance_on_the_same_data_dir_refuses_to_start() {
    let d = Daemon::new();
    d.create_vrf(
        "x",
        &[&vrf_oid(vrf::STORAGE_TYPE, "x"), "i", st::NON_VOLATILE],
    );
    let port = free_udp_port();
    let log = d.base.join("second.log");
    let args: Vec<String> = vec![
        "--data-dir".into(),
        d.data_dir.display().to_string(),
        "--snmp-listen".into(),
        format!("127.0.0.1:{port}"),
    ];
    let mut c = spawn_raw(&args, &log);
    let st = wait_exit(&mut c, Duration::from_secs(10));
    let text = read_file(&log);
    let st = st.unwrap_or_else(|| panic!("the second instance kept running; log:\n{text}"));
    assert!(
        !st.success(),
        "the second instance must exit non-zero; log:\n{text}"
    );
    let lower = text.to_lowercase();
    assert!(
        lower.contains("locked") || lower.contains("in use"),
        "message should say the data dir is locked / in use:\n{text}"
    );
    // The first is unaffected.
    d.expect(&vrf_oid(vrf::ROW_STATUS, "x"), &integer(1));
}

#[test]
fn default_communities_refused_on_a_non_loopback_address() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let log = tmp.path().join("l.log");
    let args: Vec<String> = vec![
        "--data-dir".into(),
        tmp.path().join("data").display().to_string(),
        "--snmp-listen".into(),
        format!("0.0.0.0:{port}"),
    ];
    let mut c = spawn_raw(&args, &log);
    let st = wait_exit(&mut c, Duration::from_secs(10));
    let text = read_file(&log);
    let st = st.unwrap_or_else(|| {
        panic!("l3vpnd started on 0.0.0.0 with the default communities; log:\n{text}")
    });
    assert!(!st.success(), "must exit non-zero; log:\n{text}");
    assert!(
        text.to_lowercase().contains("communit"),
        "message should mention the community:\n{text}"
    );
}

#[test]
fn non_default_communities_on_a_non_loopback_address() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let log = tmp.path().join("l.log");
    let args: Vec<String> = vec![
        "--data-dir".into(),
        tmp.path().join("data").display().to_string(),
        "--snmp-listen".into(),
        format!("0.0.0.0:{port}"),
        "--ro-community".into(),
        "s3cret-ro".into(),
        "--rw-community".into(),
        "s3cret-rw".into(),
    ];
    let mut c = spawn_raw(&args, &log);
    let target = format!("127.0.0.1:{port}");
    let start = Instant::now();
    let mut answered = None;
    while start.elapsed() < Duration::from_secs(10) {
        if let Some(st) = c.try_wait().unwrap() {
            panic!("exited with {st}; log:\n{}", read_file(&log));
        }
        let out = run_tool(&[
            "snmpget".into(),
            "-v2c".into(),
            "-c".into(),
            "s3cret-ro".into(),
            "-On".into(),
            "-t".into(),
            "0.2".into(),
            "-r".into(),
            "0".into(),
            target.clone(),
            SYS_UPTIME.into(),
        ]);
        if out.ok() {
            answered = Some(out);
            break;
        }
    }
    assert!(
        answered.is_some(),
        "no answer with the configured community; log:\n{}",
        read_file(&log)
    );
    let out = run_tool(&[
        "snmpget".into(),
        "-v2c".into(),
        "-c".into(),
        "public".into(),
        "-On".into(),
        "-t".into(),
        "1".into(),
        "-r".into(),
        "0".into(),
        target.clone(),
        SYS_UPTIME.into(),
    ]);
    assert!(
        out.timed_out(),
        "public must not be accepted:\n{}",
        out.describe()
    );
    let out = run_tool(&[
        "snmpset".into(),
        "-v2c".into(),
        "-c".into(),
        "s3cret-rw".into(),
        "-On".into(),
        "-t".into(),
        "5".into(),
        "-r".into(),
        "0".into(),
        target,
        SYS_CONTACT.into(),
        "s".into(),
        "x".into(),
    ]);
    assert!(out.ok(), "{}", out.describe());
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(c.id().to_string())
        .status();
    let st = wait_exit(&mut c, Duration::from_secs(10));
    assert!(st.is_some_and(|s| s.success()), "SIGTERM: {st:?}");
}

#[test]
fn listens_on_ipv4_and_ipv6() {
    if !ipv6_loopback_available() {
        eprintln!("skipped: no IPv6 loopback");
        return;
    }
    let d = Daemon::with_ipv6();
    let p6 = d.port6.expect("IPv6 port");
    let out = d.snmp_to(&format!("udp6:[::1]:{p6}"), "snmpget", V2_RO, &[SYS_UPTIME]);
    assert!(out.ok(), "{}", out.describe());
    let out = d.snmp_to(
        &format!("udp6:[::1]:{p6}"),
        "snmpset",
        V2_RW,
        &[&vrf_oid(vrf::ROW_STATUS, "v6"), "i", rs::CREATE_AND_GO],
    );
    assert!(out.ok(), "{}", out.describe());
    d.expect(&vrf_oid(vrf::ROW_STATUS, "v6"), &integer(1));
}

#[test]
fn default_storage_option_applies_to_rows_created_without_one() {
    let mut d = Daemon::with_args(&["--default-storage", "nonVolatile"]);
    d.create_vrf("red", &[]);
    d.set_ok(&[
        &rt_oid(rt::ROW_STATUS, "red", 1, rt::BOTH),
        "i",
        rs::CREATE_AND_GO,
        &ifconf_oid(ifconf::ROW_STATUS, "red", 1),
        "i",
        rs::CREATE_AND_GO,
    ]);
    d.create_vrf(
        "vol",
        &[&vrf_oid(vrf::STORAGE_TYPE, "vol"), "i", st::VOLATILE],
    );
    d.expect(&vrf_oid(vrf::STORAGE_TYPE, "red"), &integer(3));
    d.expect(&rt_oid(rt::STORAGE_TYPE, "red", 1, rt::BOTH), &integer(3));
    d.expect(&ifconf_oid(ifconf::STORAGE_TYPE, "red", 1), &integer(3));
    d.expect(&vrf_oid(vrf::STORAGE_TYPE, "vol"), &integer(2));
    d.restart();
    d.expect(&vrf_oid(vrf::ROW_STATUS, "red"), &integer(1));
    d.expect(&rt_oid(rt::ROW_STATUS, "red", 1, rt::BOTH), &integer(1));
    d.expect(&ifconf_oid(ifconf::ROW_STATUS, "red", 1), &integer(1));
    assert!(!d.exists(&vrf_oid(vrf::ROW_STATUS, "vol")));
}

#[test]
fn config_file_and_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let cfg = tmp.path().join("l3vpnd.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\nsnmp_listen = [\"127.0.0.1:{port}\"]\nro_community = \"file-ro\"\n\
             rw_community = \"file-rw\"\nlog_level = \"debug\"\n",
            tmp.path().join("data").display()
        ),
    )
    .unwrap();
    // The command line wins over the file for the read-only community.
    let args: Vec<String> = vec![
        "--config".into(),
        cfg.display().to_string(),
        "--ro-community".into(),
        "cli-ro".into(),
    ];
    let log = tmp.path().join("l.log");
    let mut c = spawn_raw(&args, &log);
    let target = format!("127.0.0.1:{port}");
    let get = |community: &str, t: &str| {
        run_tool(&[
            "snmpget".into(),
            "-v2c".into(),
            "-c".into(),
            community.into(),
            "-On".into(),
            "-t".into(),
            t.into(),
            "-r".into(),
            "0".into(),
            target.clone(),
            SYS_UPTIME.into(),
        ])
    };
    let start = Instant::now();
    while !get("cli-ro", "0.2").ok() {
        if let Some(st) = c.try_wait().unwrap() {
            panic!("exited with {st}; log:\n{}", read_file(&log));
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no answer; log:\n{}",
            read_file(&log)
        );
    }
    assert!(
        get("file-ro", "1").timed_out(),
        "the file's ro community was overridden"
    );
    assert!(tmp.path().join("data").is_dir(), "data_dir from the file");
    let out = run_tool(&[
        "snmpset".into(),
        "-v2c".into(),
        "-c".into(),
        "file-rw".into(),
        "-On".into(),
        "-t".into(),
        "5".into(),
        "-r".into(),
        "0".into(),
        target.clone(),
        SYS_NAME.into(),
        "s".into(),
        "cfg".into(),
    ]);
    assert!(out.ok(), "{}", out.describe());
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(c.id().to_string())
        .status();
    assert!(wait_exit(&mut c, Duration::from_secs(10)).is_some_and(|s| s.success()));
    // An unknown key is refused.
    std::fs::write(&cfg, "no_such_key = 1\n").unwrap();
    let mut c = spawn_raw(&["--config".into(), cfg.display().to_string()], &log);
    let st = wait_exit(&mut c, Duration::from_secs(10));
    assert!(
        st.is_some_and(|s| !s.success()),
        "unknown config key accepted; log:\n{}",
        read_file(&log)
    );
}

#[test]
fn every_set_is_logged_with_source_varbinds_and_outcome() {
    let d = Daemon::new();
    d.create_vrf("logged", &[]);
    d.set_err(
        &[&vrf_oid(vrf::ADMIN_STATUS, "logged"), "i", "9"],
        "wrongValue",
        1,
    );
    std::thread::sleep(Duration::from_millis(100));
    let log = d.current_log();
    let ok = vrf_oid(vrf::ROW_STATUS, "logged");
    let bad = vrf_oid(vrf::ADMIN_STATUS, "logged");
    let ok_line = log.lines().find(|l| l.contains("SET") && l.contains(&ok));
    let bad_line = log.lines().find(|l| l.contains("SET") && l.contains(&bad));
    let ok_line = ok_line.unwrap_or_else(|| panic!("no log line for the SET of {ok}:\n{log}"));
    let bad_line = bad_line.unwrap_or_else(|| panic!("no log line for the SET of {bad}:\n{log}"));
    for l in [ok_line, bad_line] {
        assert!(l.contains("127.0.0.1:"), "source address missing: {l}");
    }
    assert!(
        bad_line.to_lowercase().contains("wrongvalue"),
        "outcome missing: {bad_line}"
    );
}

#[test]
fn max_msg_size_option_and_large_requests() {
    // A SET of ~2.3 kB is answered in full: its response is the same size as
    // the request, and the response may be as large as the request.
    let d = Daemon::new();
    let mut vbs: Vec<String> = Vec::new();
    for i in 0..60 {
        vbs.push(vrf_oid(vrf::ROW_STATUS, &format!("large-request-{i:02}")));
        vbs.push("i".into());
        vbs.push(rs::CREATE_AND_GO.into());
    }
    let refs: Vec<&str> = vbs.iter().map(|s| s.as_str()).collect();
    d.set_ok(&refs);
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(60));
    drop(d);
    // With --max-msg-size 4000, ~3.5 kB of sysDescr.0 fits; by default not.
    let d = Daemon::with_args(&["--max-msg-size", "4000"]);
    let per_varbind = d.val(SYS_DESCR).len() + 16;
    let n = 3500 / per_varbind;
    assert!(n * per_varbind > 1600, "sysDescr too short for this test");
    let oids: Vec<&str> = std::iter::repeat_n(SYS_DESCR, n).collect();
    let out = d.get(&oids);
    assert!(out.ok(), "{}", out.describe());
    assert_eq!(out.stdout.len(), n);
    let d = Daemon::new();
    let out = d.get(&oids);
    assert_eq!(
        out.reason().as_deref(),
        Some("tooBig"),
        "{}",
        out.describe()
    );
}
