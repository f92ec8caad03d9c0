//! Emits `cfg(has_root)` when the crate is built by uid 0, so the tests that
//! need network namespaces run under root (CI) and are reported as ignored,
//! with the reason, otherwise.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(has_root)");
    println!("cargo:rerun-if-changed=build.rs");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    // "Uid:\t<real>\t<effective>\t<saved>\t<fs>": the effective uid decides.
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1));
    if effective == Some("0") {
        println!("cargo:rustc-cfg=has_root");
    }
}
