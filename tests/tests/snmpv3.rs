//! SNMPv3 (issue 6): USM (RFC 3414, RFC 3826, RFC 7860) and VACM (RFC 3415)
//! against the real l3vpnd with net-snmp's snmpget, snmpbulkwalk, snmpset
//! and snmpusm.

use l3vpnd_tests::*;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const AUTHS: &[&str] = &["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"];
const PRIVS: &[&str] = &["none", "DES", "AES", "AES-192", "AES-256"];
const AUTH_PW: &str = "authpass123";
const PRIV_PW: &str = "privpass123";

const ENGINE_ID: &str = "1.3.6.1.6.3.10.2.1.1.0";
const ENGINE_BOOTS: &str = "1.3.6.1.6.3.10.2.1.2.0";
const USM_NOT_IN_TIME_WINDOWS: &str = "1.3.6.1.6.3.15.1.1.2.0";
const USM_UNKNOWN_USER_NAMES: &str = "1.3.6.1.6.3.15.1.1.3.0";
const USM_UNKNOWN_ENGINE_IDS: &str = "1.3.6.1.6.3.15.1.1.4.0";
const USM_WRONG_DIGESTS: &str = "1.3.6.1.6.3.15.1.1.5.0";
const USM_DECRYPTION_ERRORS: &str = "1.3.6.1.6.3.15.1.1.6.0";
const USM_UNSUPPORTED_SEC_LEVELS: &str = "1.3.6.1.6.3.15.1.1.1.0";
const USM_USER_ENTRY: &str = "1.3.6.1.6.3.15.1.2.2.1";
const VACM_GROUP_ENTRY: &str = "1.3.6.1.6.3.16.1.2.1";
const VACM_ACCESS_ENTRY: &str = "1.3.6.1.6.3.16.1.4.1";
const VACM_VIEW_ENTRY: &str = "1.3.6.1.6.3.16.1.5.2.1";

fn user_name(auth: &str, privp: &str) -> String {
    format!("{auth}-{privp}").to_lowercase()
}

/// A user of the test configuration: name, auth, priv.
struct V3User {
    name: String,
    auth: String,
    privp: String,
    auth_pw: String,
    priv_pw: String,
}

impl V3User {
    fn new(name: &str, auth: &str, privp: &str) -> V3User {
        V3User {
            name: name.into(),
            auth: auth.into(),
            privp: privp.into(),
            auth_pw: AUTH_PW.into(),
            priv_pw: PRIV_PW.into(),
        }
    }

    /// net-snmp options for this user at the highest level it supports.
    fn opts(&self) -> Vec<String> {
        let mut o: Vec<String> = vec!["-v3".into(), "-On".into(), "-u".into(), self.name.clone()];
        o.extend([
            "-a".into(),
            self.auth.clone(),
            "-A".into(),
            self.auth_pw.clone(),
        ]);
        if self.privp == "none" {
            o.extend(["-l".into(), "authNoPriv".into()]);
        } else {
            o.extend([
                "-l".into(),
                "authPriv".into(),
                "-x".into(),
                self.privp.clone(),
                "-X".into(),
                self.priv_pw.clone(),
            ]);
        }
        o
    }
}

/// TOML of one `[[usm_user]]`.
fn user_toml(name: &str, auth: &str, privp: &str, group: &str) -> String {
    let mut s = format!(
        "[[usm_user]]\nname = \"{name}\"\nauth = \"{auth}\"\nauth_password = \"{AUTH_PW}\"\n"
    );
    if privp != "none" {
        s.push_str(&format!(
            "priv = \"{privp}\"\npriv_password = \"{PRIV_PW}\"\n"
        ));
    }
    s.push_str(&format!("group = \"{group}\"\n\n"));
    s
}

/// Users of every combination (group "admin", read-write everything at
/// authNoPriv and above) plus the VACM test principals.
fn test_config() -> String {
    let mut s = String::new();
    for a in AUTHS {
        for p in PRIVS {
            s.push_str(&user_toml(&user_name(a, p), a, p, "admin"));
        }
    }
    s.push_str(&user_toml("reader", "SHA-256", "AES", "readers"));
    s.push_str(&user_toml("vpnonly", "SHA-256", "AES", "vpn"));
    s.push_str(&user_toml("noif", "SHA-512", "AES-256", "noif"));
    s.push_str(&user_toml("orphan", "SHA", "AES", "nogroup-access"));
    s.push_str(
        r#"
[[vacm_access]]
group = "admin"
level = "authNoPriv"
read_view = "all"
write_view = "all"

[[vacm_access]]
group = "readers"
read_view = "all"

[[vacm_access]]
group = "vpn"
read_view = "vpn"
write_view = "vpn"

[[vacm_access]]
group = "noif"
read_view = "noif"
write_view = "noif"

[[vacm_view]]
name = "vpn"
subtree = "1.3.6.1.2.1.10.166.11"

[[vacm_view]]
name = "noif"
subtree = "1"

[[vacm_view]]
name = "noif"
subtree = "1.3.6.1.2.1.2"
type = "excluded"
"#,
    );
    s
}

/// A daemon with `config` as its configuration file (kept in its base dir).
fn daemon_with(config: &str, extra: &[&str]) -> (Daemon, tempfile::TempDir) {
    let cfgdir = tempfile::Builder::new()
        .prefix("l3vpnd-v3cfg-")
        .tempdir()
        .unwrap();
    let path = cfgdir.path().join("l3vpnd.toml");
    std::fs::write(&path, config).unwrap();
    let p = path.to_str().unwrap().to_string();
    let mut args: Vec<&str> = vec!["--config", &p];
    args.extend_from_slice(extra);
    (Daemon::with_args(&args), cfgdir)
}

fn v3(d: &Daemon, tool: &str, u: &V3User, tail: &[&str]) -> Out {
    let o = u.opts();
    let opts: Vec<&str> = o.iter().map(|s| s.as_str()).collect();
    d.snmp(tool, &opts, tail)
}

/// A counter's value read with v2c.
fn count(d: &Daemon, oid: &str) -> i64 {
    d.num(oid)
}

fn admin() -> V3User {
    V3User::new("sha-256-aes", "SHA-256", "AES")
}

#[test]
fn every_auth_and_priv_protocol_gets_walks_and_sets() {
    let (d, _cfg) = daemon_with(&test_config(), &[]);
    for a in AUTHS {
        for p in PRIVS {
            let u = V3User::new(&user_name(a, p), a, p);
            let out = v3(&d, "snmpget", &u, &[SYS_NAME, SYS_UPTIME]);
            assert!(
                out.ok() && out.stdout.len() == 2,
                "{a}/{p} get:\n{}",
                out.describe()
            );
            let out = v3(&d, "snmpbulkwalk", &u, &["1.3.6.1.2.1.1"]);
            assert!(out.ok(), "{a}/{p} bulkwalk:\n{}", out.describe());
            let vbs = out.varbinds();
            assert!(
                vbs.len() >= 8,
                "{a}/{p} bulkwalk too short:\n{}",
                out.describe()
            );
            assert!(
                vbs.iter().all(|(o, _)| o.starts_with(".1.3.6.1.2.1.1.")),
                "{vbs:?}"
            );
            assert_strictly_increasing(&vbs);
            let contact = format!("noc-{}", u.name);
            let out = v3(&d, "snmpset", &u, &[SYS_CONTACT, "s", &contact]);
            assert!(out.ok(), "{a}/{p} set:\n{}", out.describe());
            d.expect(SYS_CONTACT, &string(&contact));
        }
    }
}

#[test]
fn failures_answer_the_right_report_and_count() {
    let (d, _cfg) = daemon_with(&test_config(), &[]);
    d.set_ok(&[SYS_CONTACT, "s", "before"]);

    // Wrong authentication password: usmStatsWrongDigests, nothing changes.
    let before = count(&d, USM_WRONG_DIGESTS);
    let mut u = admin();
    u.auth_pw = "wrongpass123".into();
    let out = v3(&d, "snmpset", &u, &[SYS_CONTACT, "s", "after"]);
    assert!(
        out.stderr.contains("Authentication failure"),
        "{}",
        out.describe()
    );
    assert_eq!(count(&d, USM_WRONG_DIGESTS), before + 1);
    d.expect(SYS_CONTACT, &string("before"));

    // Wrong privacy password (AES and DES): usmStatsDecryptionErrors.
    for (name, auth, privp) in [
        ("sha-256-aes", "SHA-256", "AES"),
        ("md5-des", "MD5", "DES"),
        ("sha-aes-256", "SHA", "AES-256"),
    ] {
        let before = count(&d, USM_DECRYPTION_ERRORS);
        let mut u = V3User::new(name, auth, privp);
        u.priv_pw = "wrongpriv123".into();
        let out = v3(&d, "snmpset", &u, &[SYS_CONTACT, "s", "after"]);
        assert!(
            out.stderr.contains("Decryption error"),
            "{name}: {}",
            out.describe()
        );
        assert_eq!(count(&d, USM_DECRYPTION_ERRORS), before + 1, "{name}");
    }
    d.expect(SYS_CONTACT, &string("before"));

    // Unknown user: usmStatsUnknownUserNames.
    let before = count(&d, USM_UNKNOWN_USER_NAMES);
    let out = v3(
        &d,
        "snmpget",
        &V3User::new("mallory", "SHA-256", "AES"),
        &[SYS_NAME],
    );
    assert!(
        out.stderr.contains("Unknown user name"),
        "{}",
        out.describe()
    );
    assert_eq!(count(&d, USM_UNKNOWN_USER_NAMES), before + 1);

    // A level the user does not support: usmStatsUnsupportedSecLevels.
    let before = count(&d, USM_UNSUPPORTED_SEC_LEVELS);
    let mut u = V3User::new("sha-256-none", "SHA-256", "AES");
    u.privp = "AES".into();
    let out = v3(&d, "snmpget", &u, &[SYS_NAME]);
    assert!(
        out.stderr.contains("Unsupported security level"),
        "{}",
        out.describe()
    );
    assert_eq!(count(&d, USM_UNSUPPORTED_SEC_LEVELS), before + 1);

    // Every fresh manager discovers the engine: usmStatsUnknownEngineIDs.
    let before = count(&d, USM_UNKNOWN_ENGINE_IDS);
    assert!(v3(&d, "snmpget", &admin(), &[SYS_NAME]).ok());
    assert!(count(&d, USM_UNKNOWN_ENGINE_IDS) > before);

    // Stale boots/time: a usmStatsNotInTimeWindows report, after which
    // net-snmp takes the engine's boots and time from it and retries.
    let eid = engine_id_hex(&d);
    for stale in ["0,0", "1,100000", "7,5"] {
        let before = count(&d, USM_NOT_IN_TIME_WINDOWS);
        let mut o = admin().opts();
        o.extend(["-e".into(), eid.clone(), "-Z".into(), stale.into()]);
        let opts: Vec<&str> = o.iter().map(|s| s.as_str()).collect();
        let out = d.snmp("snmpget", &opts, &[SYS_NAME]);
        assert!(out.ok(), "{stale}: {}", out.describe());
        assert_eq!(count(&d, USM_NOT_IN_TIME_WINDOWS), before + 1, "{stale}");
    }
    // No report answered with key material, and no password in the log.
    let log = d.logs();
    assert!(
        !log.contains(AUTH_PW) && !log.contains(PRIV_PW),
        "a password is in the log"
    );
}

fn engine_id_hex(d: &Daemon) -> String {
    let v = d.val(ENGINE_ID);
    let hex: String = v
        .trim_start_matches("Hex-STRING: ")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(
        hex.len() >= 10 && hex.starts_with("80007ED9"),
        "snmpEngineID {v}"
    );
    format!("0x{hex}")
}

#[test]
fn vacm_views_and_write_access() {
    let (d, _cfg) = daemon_with(&test_config(), &[]);
    d.create_vrf("red", &[&vrf_oid(vrf::RD, "red"), "s", "65000:1"]);

    // Read-only: reads, but a SET is noAccess and changes nothing.
    let reader = V3User::new("reader", "SHA-256", "AES");
    assert!(v3(&d, "snmpget", &reader, &[SYS_NAME]).ok());
    let vbs = [SYS_CONTACT, "s", "x"];
    let out = v3(&d, "snmpset", &reader, &vbs);
    check_error(&out, &vbs, "noAccess", 1);

    // The VPN-MIB-only user walks exactly that subtree, whatever the root.
    let vpn = V3User::new("vpnonly", "SHA-256", "AES");
    let mine = v3(&d, "snmpbulkwalk", &vpn, &["1"]);
    assert!(mine.ok(), "{}", mine.describe());
    let mine: Vec<String> = mine.varbinds().into_iter().map(|(o, _)| o).collect();
    let all: Vec<String> = d
        .bulkwalk(MPLS_L3VPN, 20)
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    assert!(!mine.is_empty());
    assert_eq!(mine, all, "the view is exactly MPLS-L3VPN-STD-MIB");
    let out = v3(&d, "snmpget", &vpn, &[SYS_NAME, &vrf_oid(vrf::RD, "red")]);
    assert_eq!(
        out.varbinds()[0].1,
        "No Such Object available on this agent at this OID",
        "{}",
        out.describe()
    );
    assert_eq!(out.varbinds()[1].1, string("65000:1"));
    // ... and may write in it, but nowhere else.
    let vbs = [&vrf_oid(vrf::ADMIN_STATUS, "red") as &str, "i", "2"];
    let out = v3(&d, "snmpset", &vpn, &vbs);
    assert!(out.ok(), "{}", out.describe());
    d.expect(&vrf_oid(vrf::ADMIN_STATUS, "red"), &integer(2));
    let vbs = [SYS_CONTACT, "s", "x"];
    check_error(&v3(&d, "snmpset", &vpn, &vbs), &vbs, "noAccess", 1);

    // A view that excludes the interfaces group: hidden from get, getnext
    // and getbulk.
    let noif = V3User::new("noif", "SHA-512", "AES-256");
    let out = v3(&d, "snmpget", &noif, &[IF_NUMBER, SYS_NAME]);
    let vbs = out.varbinds();
    assert_eq!(
        vbs[0].1,
        "No Such Object available on this agent at this OID",
        "{}",
        out.describe()
    );
    assert!(vbs[1].1.starts_with("STRING:"));
    let out = v3(&d, "snmpgetnext", &noif, &["1.3.6.1.2.1.1.9.1.4.99"]);
    let next = &out.varbinds()[0].0;
    assert!(
        !next.starts_with(".1.3.6.1.2.1.2."),
        "getnext did not skip ifTable: {next}"
    );
    assert!(oid_arcs(next) > oid_arcs("1.3.6.1.2.1.2"), "{next}");
    let out = v3(&d, "snmpbulkwalk", &noif, &["1.3.6.1.2.1"]);
    assert!(out.ok());
    let vbs = out.varbinds();
    assert!(vbs.iter().any(|(o, _)| o.starts_with(".1.3.6.1.2.1.1.")));
    assert!(vbs
        .iter()
        .any(|(o, _)| o.starts_with(".1.3.6.1.2.1.10.166.11.")));
    assert!(
        !vbs.iter().any(|(o, _)| o.starts_with(".1.3.6.1.2.1.2.")),
        "bulkwalk shows ifTable"
    );
    let o = noif.opts();
    let mut opts: Vec<&str> = o.iter().map(|s| s.as_str()).collect();
    opts.push("-Cr5");
    let out = d.snmp("snmpbulkget", &opts, &["1.3.6.1.2.1.1.9.1.4"]);
    assert!(out.ok() && out.varbinds().len() == 5, "{}", out.describe());
    assert!(
        !out.varbinds()
            .iter()
            .any(|(o, _)| o.starts_with(".1.3.6.1.2.1.2.")),
        "{}",
        out.describe()
    );

    // A user in a group without an access entry: authorizationError.
    let out = v3(
        &d,
        "snmpget",
        &V3User::new("orphan", "SHA", "AES"),
        &[SYS_NAME],
    );
    assert_eq!(
        out.reason().as_deref(),
        Some("authorizationError"),
        "{}",
        out.describe()
    );
}

#[test]
fn key_material_is_never_read() {
    let (d, _cfg) = daemon_with(&test_config(), &[]);
    let out = v3(&d, "snmpbulkwalk", &admin(), &[USM_USER_ENTRY]);
    assert!(out.ok());
    let vbs = out.varbinds();
    assert!(vbs.len() > 30 * 11, "{} varbinds", vbs.len());
    for (o, v) in &vbs {
        let col: u32 = o
            .trim_start_matches(&format!(".{USM_USER_ENTRY}."))
            .split('.')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        if [6, 7, 9, 10].contains(&col) {
            assert_eq!(v, EMPTY, "{o}");
        }
    }
    // The SHA-512/AES-256 user's protocols: RFC 7860 and the AES-256 of
    // draft-blumenthal-aes-usm (net-snmp's).
    let sha512: Vec<&(String, String)> = vbs
        .iter()
        .filter(|(o, _)| {
            o.starts_with(&format!(".{USM_USER_ENTRY}.5."))
                && o.ends_with(&name_tail("sha-512-aes-256"))
        })
        .collect();
    assert_eq!(sha512[0].1, "OID: .1.3.6.1.6.3.10.1.1.7");
    let privp: Vec<&(String, String)> = vbs
        .iter()
        .filter(|(o, _)| {
            o.starts_with(&format!(".{USM_USER_ENTRY}.8."))
                && o.ends_with(&name_tail("sha-512-aes-256"))
        })
        .collect();
    assert_eq!(privp[0].1, "OID: .1.3.6.1.4.1.14832.1.4");
}

fn name_tail(n: &str) -> String {
    format!(".{}", name_index(n))
}

/// snmpusm as `u`: `flags` before the agent, the command after it.
fn usm_as(d: &Daemon, u: &V3User, flags: &[&str], cmd: &[&str]) -> Out {
    let o = u.opts();
    let mut opts: Vec<&str> = o
        .iter()
        .map(|s| s.as_str())
        .filter(|s| *s != "-On")
        .collect();
    opts.extend_from_slice(flags);
    d.snmp("snmpusm", &opts, cmd)
}

/// snmpusm with the admin user.
fn usm(d: &Daemon, flags: &[&str], cmd: &[&str]) -> Out {
    usm_as(d, &admin(), flags, cmd)
}

/// Put `user` in `group` over SNMP (vacmSecurityToGroupTable, createAndGo).
fn add_to_group(d: &Daemon, user: &str, group: &str) {
    let idx = format!("3.{}", name_index(user));
    let name = format!("{VACM_GROUP_ENTRY}.3.{idx}");
    let status = format!("{VACM_GROUP_ENTRY}.5.{idx}");
    let out = v3(
        &d,
        "snmpset",
        &admin(),
        &[&name, "s", group, &status, "i", rs::CREATE_AND_GO],
    );
    assert!(out.ok(), "{}", out.describe());
}

#[test]
fn users_cloned_and_rekeyed_over_snmp_survive_restarts() {
    let (mut d, _cfg) = daemon_with(&test_config(), &[]);
    let boots = d.num(ENGINE_BOOTS);
    let eid = engine_id_hex(&d);

    // usmUserTable clone-from (snmpusm create), then a group for it.
    let out = usm(&d, &["-Cw"], &["create", "bob", "sha-256-aes"]);
    assert!(out.ok(), "{}", out.describe());
    let out = usm(&d, &[], &["activate", "bob"]);
    assert!(out.ok(), "{}", out.describe());
    add_to_group(&d, "bob", "admin");
    let mut bob = V3User::new("bob", "SHA-256", "AES");
    assert!(v3(&d, "snmpget", &bob, &[SYS_NAME]).ok());

    // KeyChange of both keys (RFC 3414 section 5).
    let out = usm(&d, &["-Ca"], &["passwd", AUTH_PW, "bobauth-new", "bob"]);
    assert!(out.ok(), "{}", out.describe());
    let out = usm(&d, &["-Cx"], &["passwd", PRIV_PW, "bobpriv-new", "bob"]);
    assert!(out.ok(), "{}", out.describe());
    let out = v3(&d, "snmpget", &bob, &[SYS_NAME]);
    assert!(
        out.stderr.contains("Authentication failure"),
        "old keys still work:\n{}",
        out.describe()
    );
    bob.auth_pw = "bobauth-new".into();
    bob.priv_pw = "bobpriv-new".into();
    assert!(v3(&d, "snmpget", &bob, &[SYS_NAME]).ok());

    // The user rotates the key of a configured user with its own key change.
    let mut md5 = V3User::new("md5-des", "MD5", "DES");
    let out = usm_as(&d, &md5, &["-Ca"], &["passwd", AUTH_PW, "md5-newpass"]);
    assert!(out.ok(), "{}", out.describe());
    md5.auth_pw = "md5-newpass".into();
    assert!(v3(&d, "snmpget", &md5, &[SYS_NAME]).ok());

    // Restart: boots counts up, the engine ID stays, and the new keys hold.
    d.restart();
    assert_eq!(d.num(ENGINE_BOOTS), boots + 1);
    assert_eq!(engine_id_hex(&d), eid);
    assert!(
        v3(&d, "snmpget", &bob, &[SYS_NAME]).ok(),
        "bob after restart"
    );
    assert!(
        v3(&d, "snmpget", &md5, &[SYS_NAME]).ok(),
        "rotated config user after restart"
    );
    d.restart();
    assert_eq!(d.num(ENGINE_BOOTS), boots + 2);

    // Destroy bob.
    let out = usm(&d, &[], &["delete", "bob"]);
    assert!(out.ok(), "{}", out.describe());
    let out = v3(&d, "snmpget", &bob, &[SYS_NAME]);
    assert!(
        out.stderr.contains("Unknown user name"),
        "{}",
        out.describe()
    );
}

#[test]
fn vacm_tables_are_read_create_and_persist() {
    let (mut d, _cfg) = daemon_with(&test_config(), &[]);
    let a = admin();
    // Limit the read-only community to the VPN MIB: view "vpn2" and the
    // community's access entry (model any, noAuthNoPriv).
    let view = format!("{}.9.1.3.6.1.2.1.10.166.11", name_index("vpn2"));
    let view_status = format!("{VACM_VIEW_ENTRY}.6.{view}");
    let out = v3(&d, "snmpset", &a, &[&view_status, "i", rs::CREATE_AND_GO]);
    assert!(out.ok(), "{}", out.describe());
    let acc = format!("{}.0.0.1", name_index("community-ro"));
    let read = format!("{VACM_ACCESS_ENTRY}.5.{acc}");
    let out = v3(&d, "snmpset", &a, &[&read, "s", "vpn2"]);
    assert!(out.ok(), "{}", out.describe());
    assert!(
        !d.exists(SYS_NAME) || d.val(SYS_NAME).starts_with("No Such"),
        "sysName still readable"
    );
    let walk = d.bulkwalk("1", 30);
    assert!(
        walk.iter()
            .all(|(o, _)| o.starts_with(&format!(".{MPLS_L3VPN}."))),
        "{walk:?}"
    );
    // A new group, access entry and view, all created over SNMP.
    let out = usm(&d, &[], &["create", "carol", "sha-256-aes"]);
    assert!(out.ok(), "{}", out.describe());
    add_to_group(&d, "carol", "sysonly");
    let acc = format!("{}.0.3.3", name_index("sysonly"));
    let out = v3(
        &d,
        "snmpset",
        &a,
        &[
            &format!("{VACM_ACCESS_ENTRY}.5.{acc}"),
            "s",
            "sys",
            &format!("{VACM_ACCESS_ENTRY}.9.{acc}"),
            "i",
            rs::CREATE_AND_GO,
        ],
    );
    assert!(out.ok(), "{}", out.describe());
    let view = format!("{}.7.1.3.6.1.2.1.1", name_index("sys"));
    let out = v3(
        &d,
        "snmpset",
        &a,
        &[
            &format!("{VACM_VIEW_ENTRY}.6.{view}"),
            "i",
            rs::CREATE_AND_GO,
        ],
    );
    assert!(out.ok(), "{}", out.describe());
    let carol = V3User::new("carol", "SHA-256", "AES");
    let check = |d: &Daemon| {
        let out = v3(d, "snmpbulkwalk", &carol, &["1"]);
        assert!(out.ok(), "{}", out.describe());
        let vbs = out.varbinds();
        assert!(
            !vbs.is_empty() && vbs.iter().all(|(o, _)| o.starts_with(".1.3.6.1.2.1.1.")),
            "{vbs:?}"
        );
    };
    check(&d);
    // nonVolatile (the MIB DEFVAL) rows survive a restart; the permanent
    // community rows come back as the configuration says.
    d.restart();
    check(&d);
    assert!(
        d.val(SYS_NAME).starts_with("STRING:"),
        "the community's read view is back to all"
    );
}

#[test]
fn communities_can_be_turned_off() {
    let cfgdir = tempfile::tempdir().unwrap();
    let cfg = cfgdir.path().join("c.toml");
    std::fs::write(&cfg, test_config()).unwrap();
    let port = free_udp_port();
    let target = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(cfgdir.path().join("log")).unwrap();
    let mut child = Command::new(daemon_bin())
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--no-communities",
            "--snmp-listen",
            &target,
        ])
        .arg("--data-dir")
        .arg(cfgdir.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    struct Kill<'a>(&'a mut std::process::Child, PathBuf);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
            if std::thread::panicking() {
                eprintln!("{}", read_file(&self.1));
            }
        }
    }
    let _k = Kill(&mut child, cfgdir.path().join("log"));
    let a = admin();
    let mut argv: Vec<String> = vec![
        "snmpget".into(),
        "-t".into(),
        "1".into(),
        "-r".into(),
        "0".into(),
    ];
    argv.extend(a.opts());
    argv.extend([target.clone(), SYS_NAME.into()]);
    let start = Instant::now();
    loop {
        let out = run_tool(&argv);
        if out.ok() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no v3 answer: {}",
            out.describe()
        );
    }
    let v2 = run_tool(
        &[
            "snmpget", "-t", "1", "-r", "0", "-v2c", "-c", "public", &target, SYS_NAME,
        ]
        .map(String::from),
    );
    assert!(
        v2.timed_out(),
        "a community was answered: {}",
        v2.describe()
    );
}
