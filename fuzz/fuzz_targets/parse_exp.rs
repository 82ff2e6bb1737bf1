//! The `exp` parser on arbitrary text: never panics, and never gives a time in the past or
//! beyond the maximum.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokengate_core::fuzz::{parse_exp, Expiry};

const NOW: i64 = 1_800_000_000;
const MAX: u64 = 30 * 24 * 3600;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(Expiry::At(at)) = parse_exp(text, NOW, Duration::from_secs(MAX), true) {
            assert!(at > NOW && at <= NOW + i64::try_from(MAX).unwrap_or(i64::MAX));
        }
    }
});
