//! Malformed and hostile datagrams, message-size limits (tooBig, GetBulk
//! truncation), and consistency of GETs during concurrent SETs.

use l3vpnd_tests::*;
use std::net::UdpSocket;
use std::time::Duration;

/// A valid GetRequest must be answered (two tries: loopback may drop under
/// a flood when the socket buffer is full).
fn assert_answers(d: &Daemon, what: &str) {
    for attempt in 0..3 {
        let rid = 7000 + attempt;
        let pkt = ber::get_request("public", rid, &[SYS_UPTIME]);
        if let Some(resp) = d.udp_exchange(&pkt, Duration::from_secs(2)) {
            let m = ber::parse_message(&resp).expect("well-formed response");
            if m.request_id == rid {
                assert_eq!(m.pdu_tag, ber::RESPONSE);
                assert_eq!(m.error_status, 0);
                return;
            }
        }
    }
    panic!("no answer to a valid GetRequest {what}");
}

fn send_all(sock: &UdpSocket, port: u16, pkts: &[Vec<u8>]) {
    for (i, p) in pkts.iter().enumerate() {
        let _ = sock.send_to(p, ("127.0.0.1", port));
        if i % 64 == 63 {
            // Let the daemon drain its socket now and then.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Crafted nasty encodings.
fn crafted() -> Vec<Vec<u8>> {
    let valid = ber::get_request("public", 1, &[SYS_UPTIME]);
    let mut v: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x30],
        vec![0x30, 0x00],
        vec![0x30, 0x80, 0x00, 0x00], // indefinite length
        vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02], // 4 GB length
        vec![0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9], // 9 length octets
        vec![0x30, 0x88, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0x02, 0x01, 0x01],                         // not a SEQUENCE
        vec![0x1f, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00], // long-form tag
    ];
    // Deep nesting.
    let mut deep = vec![0x05, 0x00];
    for _ in 0..2000 {
        deep = ber::tlv(0x30, &deep);
        if deep.len() > 1400 {
            break;
        }
    }
    v.push(deep);
    let mut deep2 = Vec::new();
    for _ in 0..700 {
        deep2.extend([0x30, 0x80]);
    }
    v.push(deep2);
    // Huge integers / sub-identifiers / versions.
    let big_int = ber::tlv(ber::INTEGER, &[0x7f; 200]);
    v.push(ber::seq(&[
        big_int.clone(),
        ber::octets(b"public"),
        ber::tlv(ber::GET, &[]),
    ]));
    v.push(ber::seq(&[
        ber::int(1),
        ber::octets(b"public"),
        ber::tlv(
            ber::GET,
            &[big_int.clone(), ber::int(0), ber::int(0), ber::seq(&[])].concat(),
        ),
    ]));
    let huge_subid = ber::tlv(
        ber::OBJECT_ID,
        &[
            0x2b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ],
    );
    let vb = ber::seq(&[ber::seq(&[huge_subid, ber::null()])]);
    v.push(ber::seq(&[
        ber::int(1),
        ber::octets(b"public"),
        ber::tlv(
            ber::GET,
            &[ber::int(5), ber::int(0), ber::int(0), vb].concat(),
        ),
    ]));
    let empty_oid = ber::seq(&[ber::seq(&[ber::tlv(ber::OBJECT_ID, &[]), ber::null()])]);
    v.push(ber::seq(&[
        ber::int(1),
        ber::octets(b"public"),
        ber::tlv(
            ber::GET_NEXT,
            &[ber::int(6), ber::int(0), ber::int(0), empty_oid].concat(),
        ),
    ]));
    let long_oid: Vec<u8> = std::iter::once(0x2b)
        .chain(std::iter::repeat_n(0x01, 300))
        .collect();
    let vb = ber::seq(&[ber::seq(&[
        ber::tlv(ber::OBJECT_ID, &long_oid),
        ber::null(),
    ])]);
    v.push(ber::seq(&[
        ber::int(1),
        ber::octets(b"public"),
        ber::tlv(
            ber::GET_NEXT,
            &[ber::int(7), ber::int(0), ber::int(0), vb].concat(),
        ),
    ]));
    for version in [2i64, 3, -1, 1 << 40] {
        let mut m = valid.clone();
        let pos = m.iter().position(|b| *b == 0x02).unwrap();
        let repl = ber::int(version);
        m.splice(pos..pos + 3, repl);
        let body = m[2..].to_vec();
        v.push(ber::tlv(0x30, &body));
    }
    // Trailing garbage after a valid message; two messages in one datagram.
    let mut t = valid.clone();
    t.extend([0u8; 10]);
    v.push(t);
    v.push([valid.clone(), valid.clone()].concat());
    // Unknown PDU types (Response, Trap, Report, Inform, v1 Trap, 0xAF).
    for tag in [0xA2u8, 0xA4, 0xA6, 0xA7, 0xA8, 0xAF] {
        let m = ber::message(
            1,
            "public",
            tag,
            99,
            0,
            0,
            &[(SYS_UPTIME.to_string(), ber::null())],
        );
        v.push(m);
    }
    v
}

#[test]
fn malformed_packets_are_dropped_counted_and_harmless() {
    let mut d = Daemon::new();
    d.create_vrf("red", &[&vrf_oid(vrf::RD, "red"), "s", "65000:1"]);
    let errs_before = d.num(SNMP_IN_ASN_PARSE_ERRS);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut rng = Rng::new(0x5eed_1234_abcd_0001);

    // 2000 random datagrams of 0..1500 octets; every 10th starts like a
    // SEQUENCE so that the parser gets past the first octet.
    let mut pkts = Vec::new();
    for i in 0..2000 {
        let n = rng.below(1501) as usize;
        let mut p = vec![0u8; n];
        rng.fill(&mut p);
        if i % 10 == 0 && n >= 2 {
            p[0] = 0x30;
            p[1] = if n - 2 < 128 { (n - 2) as u8 } else { 0x82 };
            if p[1] == 0x82 && n >= 4 {
                p[2] = ((n - 4) >> 8) as u8;
                p[3] = (n - 4) as u8;
            }
        }
        pkts.push(p);
    }
    send_all(&sock, d.port, &pkts);
    assert_answers(&d, "after 2000 random datagrams");

    // Every prefix of a ~500-octet valid GetRequest.
    let oids: Vec<String> = (0..35).map(|_| SYS_UPTIME.to_string()).collect();
    let refs: Vec<&str> = oids.iter().map(|s| s.as_str()).collect();
    let valid_big = ber::get_request("public", 4242, &refs);
    assert!(valid_big.len() >= 500, "{}", valid_big.len());
    let truncs: Vec<Vec<u8>> = (0..500).map(|k| valid_big[..k].to_vec()).collect();
    send_all(&sock, d.port, &truncs);
    assert_answers(&d, "after 500 truncations");

    // Every single-bit flip of a small valid packet.
    let valid = ber::get_request("public", 0x0102_0304, &[SYS_UPTIME, SYS_DESCR]);
    let mut flips = Vec::new();
    for bit in 0..valid.len() * 8 {
        let mut p = valid.clone();
        p[bit / 8] ^= 1 << (bit % 8);
        flips.push(p);
    }
    send_all(&sock, d.port, &flips);
    assert_answers(&d, "after bit flips");

    send_all(&sock, d.port, &crafted());
    assert_answers(&d, "after crafted packets");

    std::thread::sleep(Duration::from_millis(200));
    assert!(d.is_running(), "l3vpnd died:\n{}", d.current_log());
    // The real tool still works and the data is intact.
    d.expect(&vrf_oid(vrf::RD, "red"), &string("65000:1"));
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(1));
    let errs_after = d.num(SNMP_IN_ASN_PARSE_ERRS);
    assert!(
        errs_after >= errs_before + 400,
        "snmpInASNParseErrs {errs_before} -> {errs_after}: truncations alone are 500 parse errors"
    );
}

#[test]
fn hostile_but_well_formed_requests() {
    let d = Daemon::new();
    // GetBulk with absurd max-repetitions and non-repeaters.
    for (nr, mr) in [
        (0i64, i32::MAX as i64),
        (i32::MAX as i64, 10),
        (i32::MAX as i64, i32::MAX as i64),
    ] {
        let pkt = ber::get_bulk("public", 31, nr, mr, &[IF_DESCR, SYS_UPTIME]);
        let resp = d
            .udp_exchange(&pkt, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("no answer to GetBulk {nr}/{mr}"));
        assert!(
            resp.len() <= 1472,
            "GetBulk {nr}/{mr} answered with {} octets",
            resp.len()
        );
        let m = ber::parse_message(&resp).unwrap();
        assert_eq!(m.error_status, 0, "GetBulk {nr}/{mr}");
        assert!(!m.varbinds.is_empty(), "GetBulk {nr}/{mr}");
    }
    // Negative fields violate the PDU's (0..max-bindings) constraints: the
    // agent may treat them as 0 (RFC 3416 4.2.3) or drop the message as a
    // parse error; either way it must not hang or crash.
    for (nr, mr) in [(-5i64, 10i64), (0, -1), (i32::MIN as i64, i32::MIN as i64)] {
        let before = d.num(SNMP_IN_ASN_PARSE_ERRS);
        let pkt = ber::get_bulk("public", 31, nr, mr, &[IF_DESCR, SYS_UPTIME]);
        match d.udp_exchange(&pkt, Duration::from_secs(2)) {
            Some(resp) => {
                assert!(resp.len() <= 1472);
                assert_eq!(
                    ber::parse_message(&resp).unwrap().error_status,
                    0,
                    "GetBulk {nr}/{mr}"
                );
            }
            None => assert_eq!(
                d.num(SNMP_IN_ASN_PARSE_ERRS),
                before + 1,
                "dropped GetBulk {nr}/{mr} not counted"
            ),
        }
    }
    // A GET with an OID of 128 sub-ids, and one of 129 or more.
    let oid128 = format!("1.3.6.1.2.1.10.166.11.1.2.2.1.13{}", ".1".repeat(128 - 14));
    let oid200 = format!("1.3.6.1.2.1.10.166.11.1.2.2.1.13{}", ".1".repeat(200 - 14));
    for o in [&oid128, &oid200] {
        let pkt = ber::get_request("public", 32, &[o]);
        let resp = d.udp_exchange(&pkt, Duration::from_secs(5));
        if let Some(resp) = resp {
            let m = ber::parse_message(&resp).unwrap();
            assert_eq!(m.pdu_tag, ber::RESPONSE);
        }
    }
    // Sub-ids at the 32-bit limit in a GetNext of our tables.
    let pkt = ber::message(
        1,
        "public",
        ber::GET_NEXT,
        33,
        0,
        0,
        &[(format!("{VRF_ENTRY}.13.4294967295.4294967295"), ber::null())],
    );
    let resp = d
        .udp_exchange(&pkt, Duration::from_secs(5))
        .expect("answer");
    assert_eq!(ber::parse_message(&resp).unwrap().error_status, 0);
    assert_answers(&d, "after hostile requests");
}

#[test]
fn get_that_does_not_fit_is_too_big() {
    let d = Daemon::new();
    let descr_len = d.val(SYS_DESCR).len();
    assert!(descr_len > 10);
    // 90 x sysDescr.0: the request is ~1.3 kB, the answer well over 1472.
    let oids: Vec<&str> = std::iter::repeat_n(SYS_DESCR, 90).collect();
    let req = ber::get_request("public", 51, &oids);
    assert!(req.len() < 1472, "request {} octets", req.len());
    let resp = d
        .udp_exchange(&req, Duration::from_secs(5))
        .expect("an answer");
    let m = ber::parse_message(&resp).expect("well-formed");
    assert_eq!(m.error_status, 1, "tooBig");
    assert_eq!(
        m.error_index, 0,
        "tooBig has error-index 0 (RFC 3416 4.2.1)"
    );
    assert!(
        m.varbinds.is_empty(),
        "tooBig has an empty variable-bindings field (RFC 3416 4.2.1)"
    );
    assert!(resp.len() <= 1472);
    // The same with snmpget.
    let out = d.get(&oids);
    assert_eq!(
        out.reason().as_deref(),
        Some("tooBig"),
        "{}",
        out.describe()
    );
    // GetNext too.
    let prev: Vec<&str> = std::iter::repeat_n("1.3.6.1.2.1.1.1", 90).collect();
    let out = d.snmp("snmpgetnext", V2_RO, &prev);
    assert_eq!(
        out.reason().as_deref(),
        Some("tooBig"),
        "{}",
        out.describe()
    );
    // v1 as well.
    let out = d.snmp("snmpget", &["-v1", "-c", "public", "-On", "-Cf"], &oids);
    assert_eq!(
        out.reason().as_deref(),
        Some("tooBig"),
        "{}",
        out.describe()
    );
    // 5 of them fit.
    let out = d.get(&oids[..5]);
    assert!(out.ok(), "{}", out.describe());
    assert_eq!(out.stdout.len(), 5);
}

#[test]
fn getbulk_returns_as_many_varbinds_as_fit() {
    let d = Daemon::new();
    // ~120 VRFs: more than 1000 objects after ifDescr.
    for batch in 0..4 {
        let mut vbs: Vec<String> = Vec::new();
        for i in 0..30 {
            vbs.push(vrf_oid(vrf::ROW_STATUS, &format!("bulk{batch}x{i:02}")));
            vbs.push("i".into());
            vbs.push(rs::CREATE_AND_GO.into());
        }
        let refs: Vec<&str> = vbs.iter().map(|s| s.as_str()).collect();
        d.set_ok(&refs);
    }
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(120));
    let req = ber::get_bulk("public", 61, 0, 1000, &[IF_DESCR]);
    let resp = d
        .udp_exchange(&req, Duration::from_secs(5))
        .expect("an answer");
    assert!(
        resp.len() <= 1472,
        "GetBulk answer of {} octets exceeds 1472",
        resp.len()
    );
    let m = ber::parse_message(&resp).expect("well-formed");
    assert_eq!(m.error_status, 0);
    let n = m.varbinds.len();
    assert!(n > 10 && n < 1000, "{n} varbinds");
    assert!(
        m.varbinds
            .iter()
            .all(|(_, t, _)| *t != ber::END_OF_MIB_VIEW),
        "not at the end of the view yet"
    );
    // As many as fit: another varbind of this size would not have fitted.
    let biggest = m
        .varbinds
        .iter()
        .map(|(o, _, v)| o.len() / 2 + v.len() + 8)
        .max()
        .unwrap();
    assert!(
        resp.len() + biggest > 1472 - 100,
        "only {} octets used with {n} varbinds",
        resp.len()
    );
    // Strictly increasing OIDs.
    let vbs: Vec<(String, String)> = m
        .varbinds
        .iter()
        .map(|(o, _, _)| (o.clone(), String::new()))
        .collect();
    assert_strictly_increasing(&vbs);
    // With snmpbulkget: no error, fewer than 1000 lines.
    let out = d.snmp(
        "snmpbulkget",
        &["-v2c", "-c", "public", "-On", "-Cn0", "-Cr1000"],
        &[IF_DESCR],
    );
    assert!(out.ok(), "{}", out.describe());
    assert!(
        out.stdout.len() < 1000 && out.stdout.len() > 10,
        "{} lines",
        out.stdout.len()
    );
    // A bulk walk of the VRF table still sees all 120 rows.
    let rows = d.bulkwalk(&format!("{VRF_ENTRY}.{}", vrf::ROW_STATUS), 1000);
    assert_eq!(rows.len(), 120);
}

/// A GET sees the state before or after a SET, never in between: VRFs are
/// created in pairs by one PDU each, and ConfiguredVrfs must always be even.
#[test]
fn gets_never_see_half_a_set() {
    let d = Daemon::new();
    let target = d.target();
    let writer = std::thread::spawn(move || {
        for i in 0..40 {
            let (p, q) = (format!("p{i:02}"), format!("q{i:02}"));
            let argv: Vec<String> = [
                "snmpset",
                "-t",
                "5",
                "-r",
                "0",
                "-v2c",
                "-c",
                "private",
                "-On",
                &target,
                &vrf_oid(vrf::ROW_STATUS, &p),
                "i",
                rs::CREATE_AND_GO,
                &vrf_oid(vrf::ROW_STATUS, &q),
                "i",
                rs::CREATE_AND_GO,
                &rt_oid(rt::ROW_STATUS, &q, 1, rt::BOTH),
                "i",
                rs::CREATE_AND_GO,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let out = run_tool(&argv);
            assert!(out.ok(), "{}", out.describe());
        }
    });
    let mut checks = 0;
    let mut rng = Rng::new(99);
    while !writer.is_finished() || checks < 20 {
        let i = rng.below(40);
        let (p, q) = (format!("p{i:02}"), format!("q{i:02}"));
        let out = d.get(&[
            &scalar_oid(scalar::CONFIGURED_VRFS),
            &vrf_oid(vrf::ROW_STATUS, &p),
            &vrf_oid(vrf::ROW_STATUS, &q),
            &rt_oid(rt::ROW_STATUS, &q, 1, rt::BOTH),
        ]);
        assert!(out.ok(), "{}", out.describe());
        let vals: Vec<String> = out.varbinds().into_iter().map(|(_, v)| v).collect();
        let n: u64 = vals[0].strip_prefix("Gauge32: ").unwrap().parse().unwrap();
        assert_eq!(n % 2, 0, "ConfiguredVrfs odd mid-SET: {n}");
        let present: Vec<bool> = vals[1..].iter().map(|v| v == "INTEGER: 1").collect();
        assert!(
            present.iter().all(|x| *x) || present.iter().all(|x| !*x),
            "half a SET visible: {vals:?}"
        );
        checks += 1;
    }
    writer.join().expect("writer");
    d.expect(&scalar_oid(scalar::CONFIGURED_VRFS), &gauge(80));
}
