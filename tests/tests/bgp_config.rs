//! BGP configuration of l3vpnd without a live peer (issue 4): the `[bgp]`
//! section of the configuration file (peers as permanent rows of
//! L3VPND-MIB l3vpndBgpPeerTable and BGP4-MIB bgpPeerTable, errors that
//! stop the daemon, CE peers whose VRF does not exist) and the SNMP rules
//! of l3vpndBgpPeerTable (ranges, required columns, RowStatus). Each daemon
//! runs in a network namespace of its own, so port 179 is free.

use l3vpnd_tests::bgp::scalar_oid;
use l3vpnd_tests::bgp::*;
use l3vpnd_tests::*;
use std::process::Command;
use std::time::Duration;

fn netns_daemon(net: &mut Netns, toml: &str) -> Daemon {
    let ns = net.add("pe");
    net.exec("pe", &["ip", "addr", "add", "192.0.2.1/32", "dev", "lo"]);
    Daemon::in_existing_netns(&ns, toml, &[])
}

const FILE: &str = r#"
[bgp]
asn = 4200000001
router_id = "192.0.2.1"
listen = ["192.0.2.1:179"]

[[bgp.peer]]
address = "192.0.2.2"
remote_as = 65001
families = ["vpnv4"]
port = 1179
hold_time = 30
keepalive = 10
md5_password = "File-s3cret"
route_reflector_client = true

[[bgp.peer]]
address = "2001:db8::2"
remote_as = 4200000002
families = ["vpnv6", "vpnv4"]
"#;

fn get_hex(d: &Daemon, oid: &str) -> String {
    let out = d.snmp("snmpget", &["-v2c", "-c", "public", "-On", "-Ox"], &[oid]);
    assert!(out.ok(), "{}", out.describe());
    out.stdout[0]
        .split_once(" = ")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn config_file_peers_are_permanent_rows() {
    let mut net = Netns::new("b4c");
    let d = netns_daemon(&mut net, FILE);
    let p = |c| peer_oid(c, "", "192.0.2.2");
    let q = |c| peer_oid(c, "", "2001:db8::2");

    d.expect(&scalar_oid(LOCAL_AS), &gauge(4200000001));
    d.expect(&scalar_oid(ROUTER_ID), "IpAddress: 192.0.2.1");
    d.expect(&scalar_oid(LISTEN_ADDRESS_TYPE), &integer(1));
    assert_eq!(
        get_hex(&d, &scalar_oid(LISTEN_ADDRESS)),
        "Hex-STRING: C0 00 02 01"
    );
    d.expect(&scalar_oid(LISTEN_PORT), &gauge(179));

    d.expect(&p(REMOTE_AS), &gauge(65001));
    assert_eq!(get_hex(&d, &p(FAMILIES)), "Hex-STRING: 20");
    d.expect(&p(HOLD_TIME), &gauge(30));
    d.expect(&p(KEEPALIVE), &gauge(10));
    d.expect(&p(MD5_PASSWORD), EMPTY);
    d.expect(&p(RR_CLIENT), &integer(1));
    d.expect(&p(ADMIN_STATUS), &integer(1));
    d.expect(&p(REMOTE_PORT), &gauge(1179));
    d.expect(&p(ROW_STATUS), &integer(1));
    d.expect(&p(STORAGE_TYPE), &integer(4));
    assert_ne!(d.num(&p(FSM_STATE)), ESTABLISHED);
    d.expect(&p(ESTABLISHED_TIME), &gauge(0));

    d.expect(&q(REMOTE_AS), &gauge(4200000002));
    assert_eq!(get_hex(&d, &q(FAMILIES)), "Hex-STRING: 30");
    d.expect(&q(HOLD_TIME), &gauge(90));
    d.expect(&q(KEEPALIVE), &gauge(30));
    d.expect(&q(RR_CLIENT), &integer(2));
    d.expect(&q(REMOTE_PORT), &gauge(179));
    d.expect(&q(STORAGE_TYPE), &integer(4));

    // BGP4-MIB (RFC 4273) holds IPv4 peers only; its INTEGER (0..65535)
    // AS objects show AS_TRANS (23456, RFC 6793) for 4-octet numbers.
    d.expect(BGP4_LOCAL_AS, &integer(23456));
    d.expect(BGP4_IDENTIFIER, "IpAddress: 192.0.2.1");
    d.expect(&bgp4_peer_oid(7, "192.0.2.2"), "IpAddress: 192.0.2.2");
    d.expect(&bgp4_peer_oid(9, "192.0.2.2"), &integer(65001));
    d.expect(&bgp4_peer_oid(8, "192.0.2.2"), &integer(1179));
    d.expect(&bgp4_peer_oid(20, "192.0.2.2"), &integer(30));
    d.expect(&bgp4_peer_oid(21, "192.0.2.2"), &integer(10));
    let rows = d.walk(&format!("{BGP4_PEER_ENTRY}.7"));
    assert_eq!(rows.len(), 1, "only the IPv4 peer: {rows:?}");

    // A permanent row cannot be destroyed (RFC 2579 StorageType).
    let out = d.set(&[&p(ROW_STATUS), "i", rs::DESTROY]);
    assert!(
        !out.ok() && !out.timed_out(),
        "destroy of a permanent row:\n{}",
        out.describe()
    );
    d.expect(&p(ROW_STATUS), &integer(1));
    // It can be shut down, though.
    d.set_ok(&[&p(ADMIN_STATUS), "i", "2"]);
    d.expect(&p(ADMIN_STATUS), &integer(2));

    assert!(
        !d.logs().contains("File-s3cret"),
        "the MD5 password is in the log"
    );
}

#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn config_file_ce_peer_of_a_missing_vrf_is_skipped() {
    let mut net = Netns::new("b4v");
    let d = netns_daemon(
        &mut net,
        "[bgp]\nasn = 65000\nrouter_id = \"192.0.2.1\"\nlisten = [\"192.0.2.1:179\"]\n\
         [[bgp.peer]]\naddress = \"192.0.2.9\"\nremote_as = 65009\nfamilies = [\"ipv4-unicast\"]\nvrf = \"blue\"\n",
    );
    assert!(!d.exists(&peer_oid(ROW_STATUS, "blue", "192.0.2.9")));
    let log = d.current_log();
    assert!(
        log.contains("bgp.peer skipped") && log.contains("blue"),
        "no warning about the skipped peer:\n{log}"
    );
}

/// A bad `[bgp]` section stops the daemon with a message naming the fault.
#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn config_file_errors_stop_the_daemon() {
    let cases = [
        ("families = [\"l2vpn\"]", "unknown family"),
        ("families = []", "no families"),
        ("families = [\"vpnv4\"]\nttl = 3", "ttl"),
    ];
    for (peer_line, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("l3vpnd.toml");
        std::fs::write(
            &conf,
            format!(
                "[bgp]\nasn = 65000\nrouter_id = \"192.0.2.1\"\n[[bgp.peer]]\naddress = \"192.0.2.2\"\nremote_as = 65000\n{peer_line}\n"
            ),
        )
        .unwrap();
        let mut child = Command::new(daemon_bin())
            .arg("--config")
            .arg(&conf)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--snmp-listen", &format!("127.0.0.1:{}", free_udp_port())])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break Some(st);
            }
            if start.elapsed() > Duration::from_secs(5) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let st = status.unwrap_or_else(|| panic!("{peer_line:?}: l3vpnd kept running:\n{text}"));
        assert!(!st.success(), "{peer_line:?}: exit {st}");
        assert!(
            text.contains(want),
            "{peer_line:?}: no {want:?} in:\n{text}"
        );
    }
}

/// l3vpndBgpPeerTable over SNMP: ranges, required columns, the VRF and
/// address type of the index, what may change while active.
#[test]
#[cfg_attr(not(has_root), ignore = "skipped: needs root")]
fn snmp_peer_rows_follow_the_mib() {
    let mut net = Netns::new("b4s");
    let d = netns_daemon(&mut net, "");
    let p = |c| peer_oid(c, "", "192.0.2.2");

    // Hold Time 1 and 2 are not allowed (0 | 3..65535).
    d.set_err(
        &[
            &p(HOLD_TIME),
            "u",
            "2",
            &p(ROW_STATUS),
            "i",
            rs::CREATE_AND_WAIT,
        ],
        "wrongValue",
        1,
    );
    // Keepalive at most 21845.
    d.set_err(
        &[
            &p(KEEPALIVE),
            "u",
            "21846",
            &p(ROW_STATUS),
            "i",
            rs::CREATE_AND_WAIT,
        ],
        "wrongValue",
        1,
    );
    // A VRF that does not exist: inconsistentName.
    let blue = peer_oid(ROW_STATUS, "blue", "192.0.2.9");
    d.set_err(&[&blue, "i", rs::CREATE_AND_WAIT], "inconsistentName", 1);
    // Address type ipv4z(3): noCreation.
    let z = format!("{PEER_ENTRY}.{ROW_STATUS}.0.3.8.192.0.2.2.0.0.0.1");
    d.set_err(&[&z, "i", rs::CREATE_AND_WAIT], "noCreation", 1);
    // createAndGo without RemoteAs cannot become active: inconsistentValue.
    d.set_err(
        &[
            &p(FAMILIES),
            "x",
            "20",
            &p(ROW_STATUS),
            "i",
            rs::CREATE_AND_GO,
        ],
        "inconsistentValue",
        2,
    );
    assert!(!d.exists(&p(ROW_STATUS)));

    // createAndWait: notReady until RemoteAs and Families are set.
    d.set_ok(&[&p(ROW_STATUS), "i", rs::CREATE_AND_WAIT]);
    d.expect(&p(ROW_STATUS), &integer(3));
    d.expect(&p(HOLD_TIME), &gauge(90));
    d.expect(&p(KEEPALIVE), &gauge(30));
    d.expect(&p(ADMIN_STATUS), &integer(1));
    d.expect(&p(REMOTE_PORT), &gauge(179));
    d.expect(&p(RR_CLIENT), &integer(2));
    d.expect(&p(STORAGE_TYPE), &integer(2));
    d.set_ok(&[&p(REMOTE_AS), "u", "65000"]);
    d.expect(&p(ROW_STATUS), &integer(3));
    d.set_ok(&[&p(FAMILIES), "x", "30", &p(MD5_PASSWORD), "s", "pw"]);
    d.expect(&p(ROW_STATUS), &integer(2));
    d.expect(&p(MD5_PASSWORD), EMPTY);
    d.set_ok(&[&p(ROW_STATUS), "i", rs::ACTIVE]);
    d.expect(&p(ROW_STATUS), &integer(1));
    // While active only AdminStatus, RowStatus and StorageType change.
    d.set_err(&[&p(REMOTE_AS), "u", "65001"], "inconsistentValue", 1);
    d.set_ok(&[&p(ADMIN_STATUS), "i", "2"]);
    d.set_ok(&[&p(ROW_STATUS), "i", rs::NOT_IN_SERVICE]);
    d.set_ok(&[&p(REMOTE_AS), "u", "65001"]);
    d.set_ok(&[&p(ROW_STATUS), "i", rs::ACTIVE]);
    d.expect(&p(REMOTE_AS), &gauge(65001));
    d.expect(&bgp4_peer_oid(9, "192.0.2.2"), &integer(65001));
    d.set_ok(&[&p(ROW_STATUS), "i", rs::DESTROY]);
    assert!(!d.exists(&p(ROW_STATUS)));
}
