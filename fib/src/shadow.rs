//! The shadow backend: an exact in-memory model of what l3vpnd asked the FIB
//! to hold. No kernel is involved: it stores VRFs by table, routes by
//! (table, prefix), ILM entries by label, and keeps label stacks that a
//! kernel without MPLS could not hold. Routes are kept per table
//! ([`RouteTable`]: the key is not repeated in the value, removing a table
//! costs its own routes only). [`Fib::load`] returns exactly what was
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
use crate::{Capabilities, Fib, FibError, FibOp, FibState, Route, RouteTable, StoredRoute, VrfFib};

/// In-memory FIB (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct ShadowFib {
    vrfs: BTreeMap<u32, VrfFib>,
    /// Routes by table; no empty table is kept.
    routes: BTreeMap<u32, RouteTable>,
    /// Routes held, all tables.
    route_count: usize,
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
            routes: self.routes().collect(),
            ilm: self.ilm.values().copied().collect(),
        }
    }

    /// The routes held, by (table, prefix).
    fn routes(&self) -> impl Iterator<Item = Route> + '_ {
        self.routes.iter().flat_map(|(t, rt)| rt.routes(*t))
    }

    /// Number of routes held (all tables).
    pub fn route_count(&self) -> usize {
        self.route_count
    }

    /// Number of routes held in one table.
    pub fn table_route_count(&self, table: u32) -> usize {
        self.routes.get(&table).map_or(0, RouteTable::len)
    }

    /// Apply operations; a run of puts into one table is merged at once
    /// ([`RouteTable::insert_batch`]), with the same result as one by one.
    fn apply_all(&mut self, ops: &[FibOp]) -> Vec<Result<(), FibError>> {
        let mut results = Vec::with_capacity(ops.len());
        let mut run: Vec<(IpNet, StoredRoute)> = Vec::new();
        let mut run_table = 0;
        for op in ops {
            let res = validate(op);
            match (op, &res) {
                (FibOp::PutRoute(r), Ok(())) => {
                    if r.table != run_table {
                        self.put_routes(run_table, &mut run);
                        run_table = r.table;
                    }
                    run.push((r.prefix, StoredRoute::from(r)));
                }
                (_, Ok(())) => {
                    self.put_routes(run_table, &mut run);
                    self.apply_one(op);
                }
                (_, Err(_)) => {}
            }
            results.push(res);
        }
        self.put_routes(run_table, &mut run);
        results
    }

    fn put_routes(&mut self, table: u32, run: &mut Vec<(IpNet, StoredRoute)>) {
        if run.is_empty() {
            return;
        }
        let rt = self.routes.entry(table).or_default();
        let before = rt.len();
        if run.len() == 1 {
            let (p, r) = run.remove(0);
            rt.insert(p, r);
        } else {
            rt.insert_batch(run.drain(..));
        }
        self.route_count += rt.len() - before;
    }

    /// One validated operation other than a route put.
    fn apply_one(&mut self, op: &FibOp) {
        match op {
            FibOp::PutVrf(v) => {
                self.vrfs.insert(v.table, v.clone());
            }
            FibOp::DelVrf { table } => {
                self.vrfs.remove(table);
                if let Some(rt) = self.routes.remove(table) {
                    self.route_count -= rt.len();
                }
            }
            FibOp::PutRoute(r) => {
                let mut run = vec![(r.prefix, StoredRoute::from(r))];
                self.put_routes(r.table, &mut run);
            }
            FibOp::DelRoute { table, prefix } => {
                if let Some(rt) = self.routes.get_mut(table) {
                    if rt.remove(prefix).is_some() {
                        self.route_count -= 1;
                    }
                    if rt.is_empty() {
                        self.routes.remove(table);
                    }
                }
            }
            FibOp::PutIlm(i) => {
                self.ilm.insert(i.label, *i);
            }
            FibOp::DelIlm { label } => {
                self.ilm.remove(label);
            }
        }
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
        self.apply_all(ops)
    }

    fn held_routes(&self) -> Option<&BTreeMap<u32, RouteTable>> {
        Some(&self.routes)
    }
}

impl fmt::Display for ShadowFib {
    /// One line per VRF, route and ILM entry (see `display.rs`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for v in self.vrfs.values() {
            writeln!(f, "{v}")?;
        }
        for r in self.routes() {
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
