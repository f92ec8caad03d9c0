//! Emits `cfg(has_root)` when built as uid 0, so that the interop tests that
//! need network namespaces run in CI (root) and are reported as ignored
//! elsewhere.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(has_root)");
    println!("cargo:rerun-if-changed=build.rs");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().next().map(|uid| uid == "0"))
        .unwrap_or(false);
    if root {
        println!("cargo:rustc-cfg=has_root");
    }
}
