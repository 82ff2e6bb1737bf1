//! Issuing signed tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;

use super::key_set::KeySet;
use super::kind::TokenKind;

/// Signs `claims` (a JSON object) as a compact JWS with the signing key.
pub(crate) fn sign<C: Serialize + ?Sized>(
    keys: &KeySet,
    kind: TokenKind,
    claims: &C,
) -> Result<String, String> {
    let key = keys.signer(kind);
    let header = key.header(kind);
    let payload = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
    let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 400);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&signature);
    Ok(token)
}

/// A session id: the time it was made, in nanoseconds, as 16 hex digits (strictly increasing
/// in this process), then [`random_id`]. Ids then sort by creation in byte order, as every
/// store compares them, so that the least recently used session is decided exactly among
/// sessions opened and last used within the same second (the stores' times are seconds).
pub(crate) fn session_id() -> Result<String, getrandom::Error> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
        });
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last.saturating_add(1)))
        })
        .unwrap_or(now);
    let stamp = now.max(previous.saturating_add(1));
    Ok(format!("{stamp:016x}{}", random_id()?))
}

/// A random identifier of 128 bits, base64url: session ids and `jti`.
pub(crate) fn random_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_sort_by_creation() {
        let ids: Vec<String> = (0..1_000).map(|_| session_id().unwrap()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| id.len() == 38
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')));
    }
}
