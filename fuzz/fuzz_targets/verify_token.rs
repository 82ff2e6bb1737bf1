//! Token verification on arbitrary input: never panics, and accepts nothing it did not sign.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tokengate_core::credentials::MemoryDirectory;
use tokengate_core::{Config, TokenGate};

fn gate() -> &'static TokenGate {
    static GATE: OnceLock<TokenGate> = OnceLock::new();
    GATE.get_or_init(|| {
        let config = Config::default()
            .set("secret", "a-fuzzing-only-secret-of-32-bytes-or-more")
            .expect("valid secret");
        TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .expect("valid gate")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        // The fuzzer cannot forge an HMAC: anything accepted would be a bug.
        assert!(gate().verify_access(token).is_err());
    }
});
