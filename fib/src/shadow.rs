//! The shadow backend: an exact in-memory model of what l3vpnd asked the FIB
//! to hold. No kernel is involved: it stores VRFs by table, routes by
//! (table, prefix), ILM entries by label, and keeps label stacks that a
//! kernel without MPLS could not hold. [`Fib::load`] returns exactly what was
//! applied; [`ShadowFib::state`] and the `Display` impl make it inspectable
//! (one line per object, see `display.rs`).
//!
//! Semantics match the netlink backend where both can express them: a put
//! replaces the object with the same key, deleting an absent object succeeds
//! (the reconciler is level-triggered), `DelVrf` removes the VRF and every
//! route of its table, and malformed operations are refused the same way
//! (`check.rs`).

use std::collections::BTreeMap;
use std::fmt;

use ipnet::IpNet;
use mpls::Ilm;

use crate::check::validate;
use crate::display::fmt_ilm;
use crate::{Capabilities, Fib, FibError, FibOp, FibState, Route, VrfFib};

/// In-memory FIB (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct ShadowFib {
    vrfs: BTreeMap<u32, VrfFib>,
    routes: BTreeMap<(u32, IpNet), Route>,
    ilm: BTreeMap<u32, Ilm>,
}

impl ShadowFib {
    pub fn new() -> ShadowFib {
        ShadowFib::default()
    }

    /// Everything held, in canonical order (VRFs by table, routes by
    /// (table, prefix), ILM by label): the same value for the same content,
    /// whatever the order of the operations that built it.
    pub fn state(&self) -> FibState {
        FibState {
            vrfs: self.vrfs.values().cloned().collect(),
            routes: self.routes.values().cloned().collect(),
            ilm: self.ilm.values().copied().collect(),
        }
    }

    /// Number of routes held (all tables).
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }

    fn apply_one(&mut self, op: &FibOp) -> Result<(), FibError> {
        validate(op)?;
        match op {
            FibOp::PutVrf(v) => {
                self.vrfs.insert(v.table, v.clone());
            }
            FibOp::DelVrf { table } => {
                self.vrfs.remove(table);
                self.routes.retain(|(t, _), _| t != table);
            }
            FibOp::PutRoute(r) => {
                self.routes.insert((r.table, r.prefix), r.clone());
            }
            FibOp::DelRoute { table, prefix } => {
                self.routes.remove(&(*table, *prefix));
            }
            FibOp::PutIlm(i) => {
                self.ilm.insert(i.label, *i);
            }
            FibOp::DelIlm { label } => {
                self.ilm.remove(label);
            }
        }
        Ok(())
    }
}

impl Fib for ShadowFib {
    /// All true: the shadow is a model, it can hold everything the types can
    /// say (VRF devices, MPLS label stacks and ILM, IPv6). It detects nothing
    /// and says nothing about the host.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            vrf_device: true,
            mpls: true,
            ipv6: true,
        }
    }

    fn load(&mut self) -> Result<FibState, FibError> {
        Ok(self.state())
    }

    fn apply(&mut self, ops: &[FibOp]) -> Vec<Result<(), FibError>> {
        ops.iter().map(|op| self.apply_one(op)).collect()
    }
}

impl fmt::Display for ShadowFib {
    /// One line per VRF, route and ILM entry (see `display.rs`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for v in self.vrfs.values() {
            writeln!(f, "{v}")?;
        }
        for r in self.routes.values() {
            writeln!(f, "{r}")?;
        }
        for i in self.ilm.values() {
            fmt_ilm(i, f)?;
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
