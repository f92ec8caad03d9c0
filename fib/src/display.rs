//! Text form of a FIB: one line per object, in the spirit of `ip route`
//! (`l3vpnd fib` prints it). Interfaces are shown by ifindex, since the FIB
//! knows nothing else of them.
//!
//! ```text
//! vrf blue table 100 ifindex 3 ifindex 4
//! 10.1.0.0/24 encap mpls 16/17 via 192.0.2.2 ifindex 3 table 100 metric 10
//! blackhole 10.2.0.0/24 table 100
//! unreachable 2001:db8::/32 table 100 metric 1024
//! mpls 1000 pop lookup table 100
//! mpls 1001 pop via 192.0.2.2 ifindex 3
//! ```

use std::fmt;

use mpls::{Ilm, IlmAction};

use crate::{FibState, NextHop, Route, VrfFib};

impl fmt::Display for VrfFib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vrf {} table {}", self.name, self.table)?;
        for i in &self.interfaces {
            write!(f, " ifindex {i}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.nexthop {
            NextHop::Blackhole => write!(f, "blackhole {}", self.prefix)?,
            NextHop::Reject => write!(f, "unreachable {}", self.prefix)?,
            NextHop::Via { .. } | NextHop::Dev { .. } => write!(f, "{}", self.prefix)?,
        }
        if !self.labels.is_empty() {
            write!(f, " encap mpls {}", self.labels)?;
        }
        match &self.nexthop {
            NextHop::Via { addr, ifindex: 0 } => write!(f, " via {addr}")?,
            NextHop::Via { addr, ifindex } => write!(f, " via {addr} ifindex {ifindex}")?,
            NextHop::Dev { ifindex } => write!(f, " ifindex {ifindex}")?,
            NextHop::Blackhole | NextHop::Reject => {}
        }
        write!(f, " table {}", self.table)?;
        if self.metric != 0 {
            write!(f, " metric {}", self.metric)?;
        }
        Ok(())
    }
}

/// One ILM entry as a line (`Ilm` lives in mpls/, so this is a function).
pub(crate) fn fmt_ilm(ilm: &Ilm, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match ilm.action {
        IlmAction::PopLookup { table } => write!(f, "mpls {} pop lookup table {table}", ilm.label),
        IlmAction::PopForward { via, ifindex: 0 } => write!(f, "mpls {} pop via {via}", ilm.label),
        IlmAction::PopForward { via, ifindex } => {
            write!(f, "mpls {} pop via {via} ifindex {ifindex}", ilm.label)
        }
    }
}

impl fmt::Display for FibState {
    /// VRFs, then routes, then ILM entries, one per line, each line ended by
    /// a newline; in the order of the vectors (backends sort them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for v in &self.vrfs {
            writeln!(f, "{v}")?;
        }
        for r in &self.routes {
            writeln!(f, "{r}")?;
        }
        for i in &self.ilm {
            fmt_ilm(i, f)?;
            writeln!(f)?;
        }
        Ok(())
    }
}
