//! What the kernel of the calling thread's network namespace can do, found
//! by asking it, never assumed (ARCHITECTURE.md, "Kernel facts"):
//!
//! - VRF devices: create a throwaway VRF link `l3vcap<tid>` with
//!   NLM_F_CREATE|NLM_F_EXCL and delete it. EOPNOTSUPP (no `vrf` link kind,
//!   module absent) and its relatives mean no. A side effect where the
//!   answer is yes: the kernel adds its `l3mdev-table` rules (priority 1000)
//!   on the first VRF device of a namespace and keeps them; any use of VRF
//!   devices needs them anyway.
//! - MPLS: a non-dump RTM_GETROUTE for family AF_MPLS. Without the
//!   mpls_router module the kernel has no handler for the family and says
//!   EOPNOTSUPP; with it, the route or ENOENT. /proc/sys/net/mpls (present
//!   exactly when the module is) is logged beside it, and a disagreement is
//!   a warning.
//! - IPv6: /proc/sys/net/ipv6 or /proc/thread-self/net/if_inet6 exists
//!   (both absent when the kernel runs with ipv6.disable=1 or without IPv6).
//!
//! Every path under /proc/sys/net and /proc/thread-self/net shows the
//! namespace of the calling thread, like the socket.

use std::path::Path;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use tracing::{info, warn};

use crate::netlink::msg;
use crate::netlink::sock::{Conn, Failure};
use crate::Capabilities;

/// Table id of the throwaway VRF device (any non-zero id; chosen far from
/// the ids l3vpnd allocates).
const PROBE_TABLE: u32 = u32::MAX - 16;

/// errnos meaning "this kernel has no such thing".
const ABSENT: &[i32] = &[
    libc::EOPNOTSUPP,
    libc::EAFNOSUPPORT,
    libc::EPROTONOSUPPORT,
    libc::ENOENT,
    libc::ENODEV,
];

pub(crate) fn detect(conn: &mut Conn) -> Capabilities {
    let caps = Capabilities {
        vrf_device: probe_vrf(conn),
        mpls: probe_mpls(conn),
        ipv6: probe_ipv6(),
    };
    info!(
        vrf_device = caps.vrf_device,
        mpls = caps.mpls,
        ipv6 = caps.ipv6,
        "kernel FIB capabilities: VRF devices {}, MPLS {}, IPv6 {}{}",
        yes_no(caps.vrf_device),
        yes_no(caps.mpls),
        yes_no(caps.ipv6),
        if caps.vrf_device {
            ""
        } else {
            " (VRFs are routing tables selected by `ip rule iif`)"
        }
    );
    caps
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn thread_id() -> u32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as u32 }
}

fn probe_vrf(conn: &mut Conn) -> bool {
    let name = format!("l3vcap{}", thread_id());
    let created = conn.request(msg::new_vrf(&name, PROBE_TABLE), NLM_F_CREATE | NLM_F_EXCL);
    let answer = match &created {
        Ok(_) => true,
        Err(Failure::Kernel { errno, .. }) if *errno == libc::EEXIST => true, // a leftover
        Err(Failure::Kernel { errno, .. }) if ABSENT.contains(errno) => false,
        Err(other) => {
            warn!(error = ?other, "VRF device probe failed; taking VRF devices as absent");
            false
        }
    };
    if answer {
        remove_probe_link(conn, &name);
    }
    answer
}

fn remove_probe_link(conn: &mut Conn, name: &str) {
    let index = conn
        .request(msg::get_link_by_name(name), 0)
        .ok()
        .and_then(|replies| {
            replies.iter().find_map(|r| match r {
                netlink_packet_route::RouteNetlinkMessage::NewLink(l) => Some(l.header.index),
                _ => None,
            })
        });
    match index {
        Some(i) => {
            if let Err(e) = conn.request(msg::del_link(i), 0) {
                warn!(link = name, error = ?e, "could not delete the VRF probe link");
            }
        }
        None => warn!(link = name, "VRF probe link created but not found again"),
    }
}

fn probe_mpls(conn: &mut Conn) -> bool {
    let proc_says = Path::new("/proc/sys/net/mpls").exists();
    let netlink_says = match conn.request(msg::probe_mpls(), 0) {
        Ok(_) => true,
        Err(Failure::Kernel { errno, .. }) => {
            !matches!(errno, libc::EOPNOTSUPP | libc::EAFNOSUPPORT)
        }
        Err(other) => {
            warn!(error = ?other, "MPLS probe failed; taking MPLS as absent");
            false
        }
    };
    if proc_says != netlink_says {
        warn!(
            proc_sys_net_mpls = proc_says,
            af_mpls_route_handler = netlink_says,
            "MPLS probes disagree; trusting the netlink answer"
        );
    }
    netlink_says
}

fn probe_ipv6() -> bool {
    Path::new("/proc/sys/net/ipv6").exists() || Path::new("/proc/thread-self/net/if_inet6").exists()
}
