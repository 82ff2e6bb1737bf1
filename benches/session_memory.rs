//! Bytes per live session in the memory store: the growth of resident memory while creating
//! 100 000 sessions like the demo's (22-character ids, an e-mail subject, two extra claims),
//! divided by their number; allocator overhead included. `cargo bench --bench session_memory`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokengate::store::{MemoryStore, Session, SessionStore};

/// Resident memory of this process, in bytes (Linux `/proc/self/statm`, 4 KiB pages).
fn resident() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

fn main() {
    const SESSIONS: usize = 100_000;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let now = 1_800_000_000;
    let claims = r#"{"name":"John Doe","roles":["user"]}"#;
    // Ids as tokengate makes them: 16 bytes in base64url (22 characters).
    let encode = |n: u128| base64::Engine::encode(&URL_SAFE_NO_PAD, n.to_le_bytes());
    let ids: Vec<String> = (0..SESSIONS as u128).map(|i| encode(i * 7919)).collect();
    let store = MemoryStore::new();
    let before = resident();
    for (i, id) in ids.iter().enumerate() {
        let subject = format!("user{:05}@example.org", i % 20_000);
        let mut session = Session::new(id, &subject, None, claims, now, Some(now + 86_400));
        session.token = encode(i as u128 * 104_729 + 1);
        runtime.block_on(store.create(session, None)).unwrap();
    }
    let after = resident();
    let per_session = after.saturating_sub(before) / SESSIONS;
    println!(
        "memory store: {SESSIONS} live sessions ({} subjects), {per_session} bytes per session",
        SESSIONS.min(20_000)
    );
    assert_eq!(store.len(), SESSIONS);
}
