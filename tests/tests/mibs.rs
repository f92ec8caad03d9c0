//! The MIB modules we ship: `mib/check-mibs.sh` runs `smilint -l 4` on our
//! own modules (L3VPND-MIB, L3VPND-CAPABILITY-MIB), checks that net-snmp
//! loads them, and checks every OID the code serves against its name.

use std::process::Command;

#[test]
fn shipped_mib_modules_lint_clean_and_match_the_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("bash")
        .arg("mib/check-mibs.sh")
        .current_dir(&root)
        .output()
        .expect("running mib/check-mibs.sh (needs bash, smilint, snmptranslate)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "mib/check-mibs.sh failed:\n{text}");
    assert!(text.contains("check-mibs: all checks passed"), "{text}");
}
