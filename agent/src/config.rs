//! Command line and configuration file. Every flag can also be set in the
//! TOML file given by `--config`; the command line wins over the file, the
//! file over the embedded defaults.

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

pub const DEFAULT_RO: &str = "public";
pub const DEFAULT_RW: &str = "private";

#[derive(Parser, Debug, Default)]
#[command(
    name = "l3vpnd",
    version,
    about = "BGP/MPLS IP VPN provider-edge control plane, managed over SNMP (RFC 4382)"
)]
pub struct Cli {
    /// TOML configuration file (keys as the long flags, with '_' for '-').
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the configuration store [default: ./l3vpnd-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// UDP address to serve SNMP on; repeatable, IPv4 or IPv6
    /// [default: 127.0.0.1:1161].
    #[arg(long = "snmp-listen", value_name = "ADDR:PORT")]
    pub snmp_listen: Vec<SocketAddr>,
    /// Read-only community [default: public, loopback only].
    #[arg(long, value_name = "STRING")]
    pub ro_community: Option<String>,
    /// Read-write community [default: private, loopback only].
    #[arg(long, value_name = "STRING")]
    pub rw_community: Option<String>,
    /// Log filter: error, warn, info, debug, trace (or a tracing directive)
    /// [default: info].
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Largest SNMP response in octets (a larger request may get as large a
    /// response) [default: 1472].
    #[arg(long, value_name = "OCTETS")]
    pub max_msg_size: Option<usize>,
    /// StorageType of rows created without one: volatile (the MIB DEFVAL) or
    /// nonVolatile [default: volatile].
    #[arg(long, value_name = "TYPE")]
    pub default_storage: Option<String>,
    /// FIB backend: shadow (in memory) or netlink (the kernel) [default: shadow].
    #[arg(long, value_name = "BACKEND")]
    pub fib: Option<String>,
    /// snmpEngineID in hex, 5..32 octets [default: generated once and kept
    /// in the store].
    #[arg(long, value_name = "HEX")]
    pub engine_id: Option<String>,
    /// Answer SNMPv3 only: no SNMPv1/v2c community access at all.
    #[arg(long)]
    pub no_communities: bool,
    /// Static label range, MIN-MAX [default: 16-15999]; applied at start
    /// (L3VPND-MIB l3vpndLabelStaticMin/Max change it at run time).
    #[arg(long, value_name = "MIN-MAX")]
    pub label_static: Option<String>,
    /// Dynamic label range, MIN-MAX [default: 16000-1048575].
    #[arg(long, value_name = "MIN-MAX")]
    pub label_dynamic: Option<String>,
}

/// `[bgp]` in the configuration file.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct BgpFile {
    pub asn: u32,
    pub router_id: std::net::Ipv4Addr,
    #[serde(default)]
    pub listen: Vec<SocketAddr>,
    #[serde(default)]
    pub peer: Vec<PeerFile>,
}

/// `[[bgp.peer]]` in the configuration file.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PeerFile {
    pub address: std::net::IpAddr,
    pub remote_as: u32,
    /// ipv4-unicast, ipv6-unicast, vpnv4, vpnv6
    pub families: Vec<String>,
    /// Present for a CE peer inside a VRF.
    pub vrf: Option<String>,
    pub port: Option<u16>,
    pub hold_time: Option<u16>,
    pub keepalive: Option<u16>,
    pub md5_password: Option<String>,
    #[serde(default)]
    pub route_reflector_client: bool,
}

impl PeerFile {
    /// The family bits (L3VPND-MIB l3vpndBgpPeerFamilies).
    pub fn family_bits(&self) -> Result<u8> {
        let mut b = 0;
        for f in &self.families {
            b |= match f.as_str() {
                "ipv4-unicast" => vpn_core::bgpcfg::FAM_IPV4_UNICAST,
                "ipv6-unicast" => vpn_core::bgpcfg::FAM_IPV6_UNICAST,
                "vpnv4" => vpn_core::bgpcfg::FAM_VPNV4,
                "vpnv6" => vpn_core::bgpcfg::FAM_VPNV6,
                other => bail!("bgp.peer {}: unknown family {other:?} (ipv4-unicast, ipv6-unicast, vpnv4, vpnv6)", self.address),
            };
        }
        if b == 0 {
            bail!("bgp.peer {}: no families", self.address);
        }
        Ok(b)
    }
}

fn parse_range(what: &str, s: &str) -> Result<mpls::LabelRange> {
    let (lo, hi) = s
        .split_once('-')
        .with_context(|| format!("{what}: expected MIN-MAX, got {s:?}"))?;
    let lo = lo
        .trim()
        .parse()
        .with_context(|| format!("{what}: bad minimum {lo:?}"))?;
    let hi = hi
        .trim()
        .parse()
        .with_context(|| format!("{what}: bad maximum {hi:?}"))?;
    Ok(mpls::LabelRange { lo, hi })
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    snmp_listen: Option<Vec<SocketAddr>>,
    ro_community: Option<String>,
    rw_community: Option<String>,
    log_level: Option<String>,
    max_msg_size: Option<usize>,
    default_storage: Option<String>,
    fib: Option<String>,
    label_static: Option<String>,
    label_dynamic: Option<String>,
    bgp: Option<BgpFile>,
    // SNMPv3 (issue 6): engine ID, community switch, USM users, VACM rows.
    engine_id: Option<String>,
    communities: Option<bool>,
    #[serde(default)]
    usm_user: Vec<crate::snmp::usm::UserConf>,
    #[serde(default)]
    vacm_group: Vec<crate::snmp::vacm::GroupConf>,
    #[serde(default)]
    vacm_access: Vec<crate::snmp::vacm::AccessConf>,
    #[serde(default)]
    vacm_view: Vec<crate::snmp::vacm::ViewConf>,
    // Notifications (issue 5): targets (permanent SNMP-TARGET-MIB rows), the
    // per-target inform queue, and the max-threshold re-issue interval.
    #[serde(default)]
    notify_target: Vec<crate::snmp::notify::NotifyTargetConf>,
    notify_queue: Option<usize>,
    rte_mx_thrsh_time: Option<u32>,
}

/// The effective settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub snmp_listen: Vec<SocketAddr>,
    pub ro_community: String,
    pub rw_community: String,
    pub log_level: String,
    pub max_msg_size: usize,
    pub default_storage: vpn_core::Storage,
    pub fib: vpn_core::fibview::Backend,
    /// Label ranges given in the configuration (None: keep what is stored).
    pub label_space: Option<mpls::LabelSpace>,
    /// BGP speaker and peers from the file (peers become permanent rows).
    pub bgp: Option<BgpFile>,
    /// SNMPv1/v2c answered (false: SNMPv3 only).
    pub communities: bool,
    pub security: crate::snmp::v3::SecurityConf,
    /// Notification targets of the file (loaded as permanent rows).
    pub notify_targets: Vec<crate::snmp::notify::NotifyTargetConf>,
    /// Informs queued per target before new ones are dropped.
    pub notify_queue: usize,
    /// l3vpndVrfRteMxThrshTime from the file, seconds (None: keep what is
    /// stored); applied at start.
    pub rte_mx_thrsh_time: Option<u32>,
}

impl Settings {
    pub fn from_cli(cli: Cli) -> Result<Settings> {
        let file = match &cli.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .with_context(|| format!("parsing {}", p.display()))?
            }
            None => FileConfig::default(),
        };
        let listen = if !cli.snmp_listen.is_empty() {
            cli.snmp_listen
        } else {
            file.snmp_listen
                .unwrap_or_else(|| vec!["127.0.0.1:1161".parse().expect("literal")])
        };
        let storage = match cli.default_storage.or(file.default_storage).as_deref() {
            None | Some("volatile") => vpn_core::Storage::Volatile,
            Some("nonVolatile") | Some("nonvolatile") => vpn_core::Storage::NonVolatile,
            Some(other) => bail!("default_storage must be volatile or nonVolatile, not {other:?}"),
        };
        let fib = match cli.fib.or(file.fib).as_deref() {
            None | Some("shadow") => vpn_core::fibview::Backend::Shadow,
            Some("netlink") => vpn_core::fibview::Backend::Netlink,
            Some(other) => bail!("fib must be shadow or netlink, not {other:?}"),
        };
        let engine_id = match cli.engine_id.or(file.engine_id) {
            None => None,
            Some(h) => match crate::snmp::usm::parse_hex(&h) {
                Some(id) if (5..=32).contains(&id.len()) && id.iter().any(|&b| b != 0) => Some(id),
                _ => bail!(
                    "engine_id must be 5..32 octets in hex (RFC 3411 SnmpEngineID), not {h:?}"
                ),
            },
        };
        for u in &file.usm_user {
            u.check().map_err(anyhow::Error::msg)?;
        }
        for g in &file.vacm_group {
            g.row().map_err(anyhow::Error::msg)?;
        }
        for a in &file.vacm_access {
            a.row().map_err(anyhow::Error::msg)?;
        }
        for v in &file.vacm_view {
            v.row().map_err(anyhow::Error::msg)?;
        }
        for t in &file.notify_target {
            t.rows().map_err(anyhow::Error::msg)?;
        }
        if let Some(d) = file
            .notify_target
            .iter()
            .enumerate()
            .find(|(i, t)| file.notify_target[..*i].iter().any(|o| o.name == t.name))
        {
            bail!("notify_target {:?} is given twice", d.1.name);
        }
        let security = crate::snmp::v3::SecurityConf {
            engine_id,
            users: file.usm_user,
            groups: file.vacm_group,
            access: file.vacm_access,
            views: file.vacm_view,
        };
        let label_space = match (
            cli.label_static.or(file.label_static),
            cli.label_dynamic.or(file.label_dynamic),
        ) {
            (None, None) => None,
            (st, dy) => {
                let d = mpls::LabelSpace::default();
                let st = st
                    .map(|x| parse_range("label_static", &x))
                    .transpose()?
                    .unwrap_or(d.static_range);
                let dy = dy
                    .map(|x| parse_range("label_dynamic", &x))
                    .transpose()?
                    .unwrap_or(d.dynamic);
                Some(
                    mpls::LabelSpace::new(st, dy)
                        .map_err(|e| anyhow::anyhow!("label ranges: {e}"))?,
                )
            }
        };
        let s = Settings {
            data_dir: cli
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("./l3vpnd-data")),
            snmp_listen: listen,
            ro_community: cli
                .ro_community
                .or(file.ro_community)
                .unwrap_or_else(|| DEFAULT_RO.into()),
            rw_community: cli
                .rw_community
                .or(file.rw_community)
                .unwrap_or_else(|| DEFAULT_RW.into()),
            log_level: cli
                .log_level
                .or(file.log_level)
                .unwrap_or_else(|| "info".into()),
            max_msg_size: cli.max_msg_size.or(file.max_msg_size).unwrap_or(1472),
            default_storage: storage,
            fib,
            communities: !cli.no_communities && file.communities.unwrap_or(true),
            security,
            label_space,
            bgp: file.bgp,
            notify_targets: file.notify_target,
            notify_queue: file
                .notify_queue
                .unwrap_or(crate::snmp::notify::QUEUE_LIMIT),
            rte_mx_thrsh_time: file.rte_mx_thrsh_time,
        };
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<()> {
        if self.snmp_listen.is_empty() {
            bail!("no --snmp-listen address");
        }
        if !(484..=65507).contains(&self.max_msg_size) {
            bail!("max_msg_size must be 484..65507 (RFC 3417 minimum .. UDP maximum)");
        }
        if self.ro_community.is_empty() || self.rw_community.is_empty() {
            bail!("communities must not be empty");
        }
        if self.ro_community == self.rw_community {
            bail!("the read-only and read-write communities must differ");
        }
        let defaults = self.ro_community == DEFAULT_RO || self.rw_community == DEFAULT_RW;
        if defaults && self.communities {
            if let Some(a) = self.snmp_listen.iter().find(|a| !a.ip().is_loopback()) {
                bail!(
                    "refusing to serve SNMP on {a} with the default community \"{}\": the defaults public/private \
                     are allowed on loopback addresses only; set --ro-community and --rw-community",
                    if self.ro_community == DEFAULT_RO { DEFAULT_RO } else { DEFAULT_RW }
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Settings> {
        let mut v = vec!["l3vpnd"];
        v.extend_from_slice(args);
        Settings::from_cli(Cli::try_parse_from(v)?)
    }

    #[test]
    fn defaults() {
        let s = parse(&[]).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("./l3vpnd-data"));
        assert_eq!(
            s.snmp_listen,
            vec!["127.0.0.1:1161".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            (s.ro_community.as_str(), s.rw_community.as_str()),
            ("public", "private")
        );
        assert_eq!(s.max_msg_size, 1472);
    }

    #[test]
    fn default_communities_only_on_loopback() {
        assert!(parse(&[
            "--snmp-listen",
            "[::1]:1161",
            "--snmp-listen",
            "127.0.0.2:161"
        ])
        .is_ok());
        let e = parse(&["--snmp-listen", "0.0.0.0:161"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("default community"), "{e}");
        assert!(parse(&[
            "--snmp-listen",
            "0.0.0.0:161",
            "--ro-community",
            "a",
            "--rw-community",
            "b"
        ])
        .is_ok());
    }

    #[test]
    fn file_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "data_dir = \"/x\"\nsnmp_listen = [\"127.0.0.1:9\"]\nlog_level = \"debug\"\n",
        )
        .unwrap();
        let s = parse(&["--config", f.to_str().unwrap(), "--log-level", "warn"]).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/x"));
        assert_eq!(
            s.snmp_listen,
            vec!["127.0.0.1:9".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(s.log_level, "warn");
        std::fs::write(&f, "bogus = 1\n").unwrap();
        assert!(parse(&["--config", f.to_str().unwrap()]).is_err());
    }
}
