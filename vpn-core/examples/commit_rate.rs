//! Rough rate of durable single-row commits (one sled transaction + flush each).
use vpn_core::*;
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3000);
    let t = std::time::Instant::now();
    for i in 0..n {
        let k = VrfKey::new(format!("v{i}").as_bytes()).unwrap();
        let mut r = VrfRow::new(Storage::NonVolatile);
        r.rd = RouteDistinguisher::parse_text(&format!("65000:{i}"));
        r.state = RowState::Active;
        s.commit(1, vec![Change::PutVrf(k, r)]).unwrap();
        if (i + 1) % 2000 == 0 {
            println!("{} commits: {:?}", i + 1, t.elapsed());
        }
    }
    let e = t.elapsed();
    println!(
        "{n} commits in {:?}: {:.0}/s",
        e,
        n as f64 / e.as_secs_f64()
    );
    drop(s);
    let t = std::time::Instant::now();
    let s = Store::open(dir.path()).unwrap();
    println!(
        "reopen with {} VRFs: {:?}",
        s.snapshot().vrfs.len(),
        t.elapsed()
    );
}
