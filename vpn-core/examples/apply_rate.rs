use vpn_core::*;
fn main() {
    let mut c = Config::default();
    let t = std::time::Instant::now();
    for i in 0..10000 {
        let k = VrfKey::new(format!("v{i}").as_bytes()).unwrap();
        let mut r = VrfRow::new(Storage::NonVolatile);
        r.rd = RouteDistinguisher::parse_text(&format!("65000:{i}"));
        r.state = RowState::Active;
        c = c.apply(&[Change::PutVrf(k, r)], 1).0;
        if (i + 1) % 2000 == 0 {
            println!("{} applies: {:?}", i + 1, t.elapsed());
        }
    }
}
