//! The agent clock: hundredths of a second since this process started
//! (what sysUpTime and every TimeStamp column count in).

use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Instant> = OnceLock::new();

/// Fix the start of the clock (idempotent). Call once early in `main`.
pub fn start() -> Instant {
    *START.get_or_init(Instant::now)
}

/// Hundredths of a second since [`start`], wrapping like a TimeTicks value.
pub fn ticks() -> u32 {
    let cs = start().elapsed().as_millis() / 10;
    (cs % (u32::MAX as u128 + 1)) as u32
}
