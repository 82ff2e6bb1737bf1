//! The applications that authenticated lately as OAuth clients (introspection, revocation):
//! a resource server that introspects each request it serves would otherwise pay a full
//! password hash for each one.
//!
//! Only successes are kept, for [`CLIENT_TTL`] seconds, each under an HMAC of the client id
//! and secret with a key drawn at random per gate: the secret itself is never held, and only
//! the very same id and secret hit. Bounded in the core's one map ([`TtlMap`]); a full map
//! drops what it must, which only costs a verification. An application removed from the
//! directory stops authenticating here within [`CLIENT_TTL`] seconds.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::credentials::Principal;
use crate::jws::mac::MacKey;
use crate::ttl_map::{Change, Held, TtlMap, WhenFull};

/// How long a verified client is remembered, in seconds.
pub(crate) const CLIENT_TTL: i64 = 60;

/// How many verified clients are remembered at most.
const CAPACITY: usize = 1_024;

struct Cached {
    principal: Principal,
    until: i64,
}

impl Held for Cached {
    const WHEN_FULL: WhenFull = WhenFull::StartOver;

    fn expired(&self, now: i64) -> bool {
        now >= self.until
    }

    fn evictable(&self) -> bool {
        true
    }
}

/// How many verifications may run at once, each for credentials of its own stripe.
const STRIPES: usize = 64;

pub(crate) struct ClientCache {
    key: MacKey,
    map: TtlMap<Cached>,
    /// One verification at a time per stripe of slots: the requests of a resource server
    /// that arrive together before its credentials are remembered wait for the first one's
    /// verification instead of each reserving an attempt (and the later ones being refused).
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl ClientCache {
    pub(crate) fn new() -> Result<Self, getrandom::Error> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)?;
        Ok(Self {
            key: MacKey::new(&secret),
            map: TtlMap::new(CAPACITY),
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
        })
    }

    fn slot(&self, id: &str, secret: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.key.sign(&[id.as_bytes(), b"\0", secret.as_bytes()]))
    }

    /// Waits for the verifications of `id` and `secret` (and of whatever shares their stripe)
    /// that are under way; the guard holds the stripe until dropped.
    pub(crate) async fn verifying(
        &self,
        id: &str,
        secret: &str,
    ) -> tokio::sync::MutexGuard<'_, ()> {
        let tag = self
            .key
            .sign(&[b"stripe", id.as_bytes(), b"\0", secret.as_bytes()]);
        self.stripes[usize::from(tag[0]) % STRIPES].lock().await
    }

    /// The principal `id` and `secret` authenticated as, if they did within the last
    /// [`CLIENT_TTL`] seconds.
    pub(crate) fn get(&self, id: &str, secret: &str, now: i64) -> Option<Principal> {
        self.map
            .read(&self.slot(id, secret), |cached| {
                (now < cached.until).then(|| cached.principal.clone())
            })
            .flatten()
    }

    /// Remembers that `id` and `secret` authenticate as `principal`.
    pub(crate) fn put(&self, id: &str, secret: &str, principal: &Principal, now: i64) {
        let cached = Cached {
            principal: principal.clone(),
            until: now.saturating_add(CLIENT_TTL),
        };
        // Never refused: every entry may be evicted.
        let _ = self
            .map
            .update(&self.slot(id, secret), now, |_| Change::Set(cached, ()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(subject: &str) -> Principal {
        Principal {
            subject: subject.to_owned(),
            application: Some("app".to_owned()),
            claims: serde_json::Map::new(),
        }
    }

    #[test]
    fn only_the_same_id_and_secret_hit_and_only_for_a_while() {
        let cache = ClientCache::new().unwrap();
        cache.put("key", "secret", &principal("key"), 1_000);
        assert_eq!(cache.get("key", "secret", 1_000), Some(principal("key")));
        assert_eq!(cache.get("key", "secret!", 1_000), None);
        assert_eq!(cache.get("key\0", "secret", 1_000), None);
        // The separator keeps `ke`+`y\0secret` apart from `key`+`secret`.
        assert_eq!(cache.get("ke", "y\0secret", 1_000), None);
        assert_eq!(
            cache.get("key", "secret", 1_000 + CLIENT_TTL - 1),
            Some(principal("key"))
        );
        assert_eq!(cache.get("key", "secret", 1_000 + CLIENT_TTL), None);
    }

    #[test]
    fn two_gates_do_not_share_slots() {
        let (one, two) = (ClientCache::new().unwrap(), ClientCache::new().unwrap());
        assert_ne!(one.slot("key", "secret"), two.slot("key", "secret"));
    }
}
