//! Configuration per environment: defaults, a TOML file with profiles, `TOKENGATE_*` variables
//! ([`load`](Config::load)), in typed sections ([`sections`](self)), validated at start-up.

mod de;
mod error;
mod key_list;
mod load;
mod redact;
mod sections;
mod validate;

use std::time::Duration;

pub use error::ConfigError;
pub(crate) use redact::{redacted_in, redacted_url};
pub use sections::{
    CookieSettings, EndpointSettings, FederationSettings, GuardMode, GuardSettings, IssuerSettings,
    KeySettings, MfaSettings, ProviderSettings, SameSite, StoreSettings, ThrottleSettings,
    TokenSettings,
};

use crate::jws::{Algorithm, KeyConfig, Secret};

/// The whole configuration, per environment.
///
/// [`Config::load`] starts from the defaults, then reads the TOML file named by
/// `TOKENGATE_CONFIG` (or `tokengate.toml` in the working directory, when it exists), taking the
/// `[default]` table and then the table of the profile named by `TOKENGATE_PROFILE`, and last
/// the `TOKENGATE_<KEY>` environment variables (`TOKENGATE_ACCESS_TTL=2s`). Each key, in the file
/// and as a variable:
///
/// | key | default | meaning |
/// |---|---|---|
/// | `access_ttl` | `20m` | lifetime of access tokens |
/// | `refresh_ttl` | `24h` | lifetime of refresh tokens when the client asks for none |
/// | `max_refresh_ttl` | = `refresh_ttl` | the longest lifetime a client may ask for with `exp` |
/// | `allow_unlimited` | `false` | whether `exp=unlimited` is honoured |
/// | `leeway` | `30s` | clock skew tolerated on `exp` and `nbf` |
/// | `issuer` | `tokengate` | the `iss` claim |
/// | `audience` | none | the `aud` claim, checked when set |
/// | `realm` | `tokengate` | the realm of `WWW-Authenticate` challenges |
/// | `prefix` | `/api/rest` | where the endpoints live |
/// | `body_timeout` | `10s` | how long an endpoint waits for its whole body; then 408 |
/// | `body_limit` | `64KiB` | largest accepted endpoint body (`KiB`/`MiB` or bytes) |
/// | `accept_authentication_header` | `true` | also read `Authentication: Bearer` (the seed's wording) |
/// | `mode` | `required` | `required` or `optional`: whether guarded routes need a token |
/// | `public_paths` | none | paths served without a token (`/health`, or a prefix `/static/*`) |
/// | `websocket_paths` | none | WebSocket paths whose upgrade may carry `?ticket=` from `POST {prefix}/ticket` (exact, or a prefix `/ws/*`) |
/// | `ticket_ttl` | `30s` | how long a WebSocket ticket may wait for its upgrade (at most `5m`) |
/// | `discovery` | `false` | answer `{issuer path}/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server{issuer path}`; `issuer` must then be an https URL (http for localhost), lower case, with a plain path |
/// | `external_url` | the issuer's origin | where clients reach this application (scheme, host, port, mount path), for the URLs discovery names; never the request's `Host` |
/// | `metrics_path` | none | serve the gate's metrics in the Prometheus text format at this path from the root, `/metrics` say (feature `prometheus`; see [`telemetry`](crate::telemetry)); reached without a token unless `metrics_scope` is set |
/// | `metrics_scope` | none | a scope the access token of a request to `metrics_path` must hold (answered as a guarded route: 401 without a valid token, 403 without the scope) |
/// | `secret` | none | the HS256 secret, at least 32 bytes |
/// | `throttle_per_login` | `10` | failed sign-ins per login per window before 429 (`0`: no limit) |
/// | `throttle_per_address` | `100` | failed sign-ins per client address per window (`0`: no limit) |
/// | `throttle_window` | `15m` | the throttling window |
/// | `hash_queue_depth` | 32 per core | the most sign-ins (and client authentications) waiting for a hashing slot or hashing at once; the next is answered 503 with `Retry-After` before its login is looked up |
/// | `trusted_proxy_header` | none | take the client address from this header (`x-forwarded-for`), behind a trusted proxy only |
/// | `store` | `memory` | where sessions live: `memory`, `redis://host:port/db`, `redis+cluster://host:port,host:port,...`, `redis+sentinel://host:port,host:port,.../<master name>` (the sentinels, then the name of the master they watch; followed when they promote a replica), `sqlite://path` or `postgres://user@host:port/db` |
/// | `store_prefix` | `tokengate` | key prefix in a shared store (Redis), the rows' namespace in PostgreSQL |
/// | `store_schema` | `tokengate` | the PostgreSQL schema of the store's tables, created on first use |
/// | `store_pool_size` | `10` | the most connections a PostgreSQL store opens |
/// | `store_timeout` | `2s` | how long a PostgreSQL statement or a wait for a connection may take (then 503) |
/// | `redis_wait_replicas` | `0` | Redis: a revocation (sign-out, reuse detected, `revoke_subject`, a session ended by `max_sessions`) answers only once this many replicas hold it (`WAIT`), else 503, so that a failover cannot undo a sign-out that answered 200; `0`: no wait (a Redis without replicas) |
/// | `redis_wait_timeout` | `500ms` | Redis: how long a revocation waits for `redis_wait_replicas` (at most `10s`) |
/// | `rotation` | `false` | `/token` returns a new refresh token and retires the old one |
/// | `reuse_grace` | `10s` | how long a retired refresh token still gets the current one (at most `5m`: a longer grace would hide reuse) |
/// | `session_idle` | none | a session unused (no `/token`) for longer ends at its next `/token`; longer than `access_ttl` |
/// | `session_touch_interval` | `60s` | a `/token` that keeps its refresh token writes the last use at most this often (at most half of `session_idle`; `0s`: always): the resolution of `session_idle`, of `refreshedAt` and of the least recently used session `max_sessions` ends |
/// | `max_sessions` | `100` | the most live sessions per subject: a new sign-in ends the least recently used one; `none` for no limit (a risk: one password can then fill the store) |
/// | `strict_revocation` | `false` | the guard also checks that the token's session is live |
/// | `revocation_cache_ttl` | `5s` | how long a strict guard trusts its last look at a session: a sign-out on another instance is seen within it (on the same instance, at once); at most `1m` |
/// | `verify_cache` | `auto` | remember verified tokens until their `exp`: `auto` (on when a key is asymmetric), `true`, `false` |
/// | `verify_cache_size` | `10000` | how many verified tokens are remembered at most |
/// | `algorithm` | `HS256` | the single key's algorithm: `HS256`, `EdDSA`, `ES256` or `RS256` |
/// | `key_file` | none | the single key for EdDSA/ES256/RS256: a PKCS#8 PEM private key file |
/// | `keys` | none | a key list instead (TOML only), see below |
/// | `cookie_secure` | `true` | cookie mode: mark cookies `Secure` (`false` only for plain-http development) |
/// | `cookie_same_site` | `lax` | cookie mode: `strict`, `lax` or `none` (`none` needs `cookie_secure`) |
/// | `trusted_origins` | none | cookie mode: origins besides the server's own that may send unsafe requests |
/// | `csrf_secret` | derived from `secret` | cookie mode: the key that signs CSRF tokens, at least 32 bytes |
/// | `mfa_key` | none | seals second-factor secrets at rest, at least 32 bytes; none: no second factors (their endpoints are not served) |
/// | `mfa_previous_keys` | none | keys that sealed secrets before `mfa_key`: still opened, never used to seal |
/// | `mfa_aal1_paths` | none | paths a session still waiting for its second factor reaches (exact, or a prefix `/x/*`), besides `{prefix}/mfa...`, `/token` and `/signout` |
/// | `mfa_end_sessions` | `true` | confirming the first factor, removing one or spending a recovery code ends the subject's other sessions |
/// | `mfa_pending_ttl` | `10m` | how long an enrolled factor waits for its confirming code |
/// | `mfa_max_factors` | `5` | the most factors (active and waiting) per subject |
/// | `mfa_attempts` | `5` | codes tried per subject and per session in a `throttle_window` before 429 |
/// | `issuers` | none | other issuers whose access tokens guarded routes accept: `[[issuers]]` tables in the file (feature `federation`; see [`IssuerSettings`]) |
/// | `issuer_keys_interval` | `30s` | at most one fetch of an issuer's keys per interval, however many tokens name a key it lacks (at most `1h`) |
/// | `issuer_keys_max_age` | `1h` | how long an issuer's keys are kept when its JWKS does not say, and at most (at most `1d`) |
/// | `issuer_keys_wait` | `2s` | how long a request waits for keys being fetched before a 503 (at most `30s`) |
/// | `providers` | none | OpenID providers users sign in with: `[[providers]]` tables in the file (feature `federation`; see [`ProviderSettings`]) |
/// | `oidc_return_origins` | none | the origins a provider sign-in may return to (`return_to`), besides paths on this server: `https://app.example.org`, or an app's scheme `com.example.app:` |
/// | `oidc_state_ttl` | `10m` | how long a provider sign-in may take from its start to its callback (at most `1h`) |
/// | `oidc_code_ttl` | `60s` | how long an app's one-time code waits for `POST {prefix}/oidc/exchange` (at most `10m`) |
///
/// The keys are flat in the file and the environment; in code they are grouped in sections
/// ([`TokenSettings`], [`GuardSettings`], [`EndpointSettings`], [`CookieSettings`],
/// [`ThrottleSettings`], [`StoreSettings`], [`KeySettings`], [`MfaSettings`],
/// [`FederationSettings`]), each field documented with its key.
///
/// A wrong value stops start-up with a [`ConfigError`] naming the key and the value; so does a
/// key that no section knows, in the file as in the environment (`TOKENGATE_ACESS_TTL` is
/// refused, naming the variable, not ignored).
///
/// A key list rotates keys: each entry has `algorithm`, one of `secret` (HS256), `key` or
/// `key_file` (a PEM private key), `public_key` or `public_key_file` (a PEM public key, verify
/// only) or `jwk` (a public JWK, verify only); optionally `kid`, `signing = true` (exactly one
/// key signs) and `verify_until` (RFC 3339 or Unix seconds: the end of a retired key's grace).
///
/// A retired key keeps its private part (`key_file`) for as long as its refresh tokens should
/// work: they are signed with an unpublished key derived from it. With its public part only,
/// it verifies its access tokens, and start-up warns that its sessions must sign in again.
///
/// ```toml
/// [production]
/// keys = [
///   { kid = "2026-11", algorithm = "EdDSA", key_file = "/etc/tokengate/ed25519.pem", signing = true },
///   { kid = "2026-05", algorithm = "EdDSA", key_file = "/etc/tokengate/old.pem",
///     verify_until = "2026-12-01T00:00:00Z" },
/// ]
/// ```
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tokengate::Config;
///
/// let toml = r#"
///     [default]
///     access_ttl = "10m"
///     [production]
///     access_ttl = "5m"
/// "#;
/// let env = [("TOKENGATE_SECRET", "an-example-secret-of-at-least-32-bytes")];
/// let config = Config::from_sources(Some(toml), "production", env)?;
/// assert_eq!(config.tokens.access_ttl, Duration::from_secs(300));
///
/// // In code: typed setters.
/// let config = Config::default()
///     .with_secret("an-example-secret-of-at-least-32-bytes")
///     .with_access_ttl(Duration::from_secs(300))
///     .with_rotation(true);
/// assert!(config.tokens.rotation);
/// # Ok::<(), tokengate::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Config {
    /// Tokens: lifetimes, claims, rotation.
    pub tokens: TokenSettings,
    /// The guard: which routes need a token and how it is checked.
    pub guard: GuardSettings,
    /// The endpoints: where they live and what they read.
    pub endpoints: EndpointSettings,
    /// Cookie mode and its CSRF defences.
    pub cookies: CookieSettings,
    /// Sign-in throttling.
    pub throttle: ThrottleSettings,
    /// Where sessions live.
    pub store: StoreSettings,
    /// The signing and verifying keys.
    pub keys: KeySettings,
    /// Second factors.
    pub mfa: MfaSettings,
    /// Access tokens of other issuers.
    pub federation: FederationSettings,
}

/// The algorithms another issuer's tokens may be signed with: public-key ones only.
pub(crate) const FOREIGN_ALGORITHMS: [jsonwebtoken::Algorithm; 9] = [
    jsonwebtoken::Algorithm::RS256,
    jsonwebtoken::Algorithm::RS384,
    jsonwebtoken::Algorithm::RS512,
    jsonwebtoken::Algorithm::PS256,
    jsonwebtoken::Algorithm::PS384,
    jsonwebtoken::Algorithm::PS512,
    jsonwebtoken::Algorithm::ES256,
    jsonwebtoken::Algorithm::ES384,
    jsonwebtoken::Algorithm::EdDSA,
];

/// The claims the gate writes itself: a provider's claim mapping never sets them.
pub(crate) const RESERVED_CLAIMS: [&str; 15] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "sid",
    "app",
    "amr",
    "acr",
    "auth_time",
    "mfa_pending",
    "idp",
    "typ",
];

/// The schemes a `store` setting may use, for messages.
pub(crate) const STORE_SCHEMES: &str =
    "memory, sqlite://path, redis://host:port/db, rediss://..., redis+cluster://host:port,host:port,..., redis+sentinel://host:port,host:port,.../<master name> or postgres://user@host:port/db";

/// The schemes of the Redis store.
pub(crate) const REDIS_SCHEMES: [&str; 4] = [
    "redis://",
    "rediss://",
    "redis+cluster://",
    "redis+sentinel://",
];

/// Whether `url` names a store some build can open (whether this build can is the builder's
/// question, answered with the feature to enable).
fn store_url_is_known(url: &str) -> bool {
    url == "memory"
        || ["sqlite://", "postgres://", "postgresql://"]
            .iter()
            .chain(&REDIS_SCHEMES)
            .any(|scheme| url.starts_with(scheme))
}

impl Config {
    /// The HS256 secret (at least 32 bytes).
    #[must_use]
    pub fn with_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.keys.secret = Some(Secret::new(secret));
        self
    }

    /// A key list instead of the single key (see the table above).
    #[must_use]
    pub fn with_keys(mut self, keys: Vec<KeyConfig>) -> Self {
        self.keys.list = keys;
        self
    }

    /// The lifetime of access tokens.
    #[must_use]
    pub fn with_access_ttl(mut self, ttl: Duration) -> Self {
        self.tokens.access_ttl = ttl;
        self
    }

    /// The lifetime of refresh tokens when the client asks for none.
    #[must_use]
    pub fn with_refresh_ttl(mut self, ttl: Duration) -> Self {
        self.tokens.refresh_ttl = ttl;
        self
    }

    /// Whether `/token` rotates the refresh token.
    #[must_use]
    pub fn with_rotation(mut self, rotation: bool) -> Self {
        self.tokens.rotation = rotation;
        self
    }

    /// Ends a session unused (no `/token`) for longer than `idle` at its next `/token`
    /// (`session_idle`).
    #[must_use]
    pub fn with_session_idle(mut self, idle: Duration) -> Self {
        self.tokens.session_idle = Some(idle);
        self
    }

    /// Keeps at most `max` live sessions per subject: a new sign-in ends the least recently
    /// used one (`max_sessions`).
    #[must_use]
    pub fn with_max_sessions(mut self, max: u32) -> Self {
        self.tokens.max_sessions = Some(max);
        self
    }

    /// Whether guarded routes need a token.
    #[must_use]
    pub fn with_mode(mut self, mode: GuardMode) -> Self {
        self.guard.mode = mode;
        self
    }

    /// The WebSocket paths, where an upgrade may present a ticket from `POST {prefix}/ticket`:
    /// exact, or a prefix when ending in `/*`.
    #[must_use]
    pub fn with_websocket_paths<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.guard.websocket_paths = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Paths served without a token: exact, or a prefix when ending in `/*`.
    #[must_use]
    pub fn with_public_paths<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.guard.public_paths = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Whether the guard checks that each token's session is still live.
    #[must_use]
    pub fn with_strict_revocation(mut self, strict: bool) -> Self {
        self.guard.strict_revocation = strict;
        self
    }

    /// Where the endpoints live (`/api/rest` by default).
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        prefix
            .trim_end_matches('/')
            .clone_into(&mut self.endpoints.prefix);
        self
    }

    /// Where sessions live: `memory`, `sqlite://path`, `redis://host:port/db`,
    /// `redis+cluster://host:port,host:port,...`, `redis+sentinel://host:port,.../<master
    /// name>` or `postgres://user@host:port/db`.
    #[must_use]
    pub fn with_store(mut self, url: &str) -> Self {
        url.trim().clone_into(&mut self.store.url);
        self
    }

    /// Makes Redis revocations wait for `replicas` replicas, at most `timeout`
    /// (`redis_wait_replicas`, `redis_wait_timeout`).
    #[must_use]
    pub fn with_redis_wait(mut self, replicas: u32, timeout: Duration) -> Self {
        self.store.wait_replicas = replicas;
        self.store.wait_timeout = timeout;
        self
    }

    /// Whether cookie mode marks its cookies `Secure` (`false` only for plain-http
    /// development).
    #[must_use]
    pub fn with_cookie_secure(mut self, secure: bool) -> Self {
        self.cookies.secure = secure;
        self
    }

    /// Failed sign-ins allowed per login and per client address in each window (0: no limit).
    #[must_use]
    pub fn with_throttle(mut self, per_login: u32, per_address: u32) -> Self {
        self.throttle.per_login = per_login;
        self.throttle.per_address = per_address;
        self
    }

    /// The most credential checks waiting for a hashing slot or hashing at once, beyond which
    /// a sign-in is answered 503 with `Retry-After` (`hash_queue_depth`; at least 1).
    #[must_use]
    pub fn with_hash_queue_depth(mut self, depth: u32) -> Self {
        self.throttle.hash_queue_depth = depth;
        self
    }

    /// The keys to prepare: the key list, or the single key of `algorithm` + `secret` or
    /// `key_file`.
    pub(crate) fn key_list(&self) -> Result<Vec<KeyConfig>, ConfigError> {
        if let Some(unused) = self.unused_secret() {
            tracing::warn!(target: "tokengate", "both `secret` and {unused} are set: tokens are signed with {unused}, the secret signs none (it still keys the CSRF tokens unless `csrf_secret` is set)");
        }
        let keys = if self.keys.list.is_empty() {
            vec![self.keys.single_key()?]
        } else {
            self.keys.list.clone()
        };
        if self.endpoints.discovery && keys.iter().all(|key| key.algorithm == Algorithm::Hs256) {
            tracing::warn!(target: "tokengate", "discovery is on, but every key is HS256: the JWKS it points to is empty, and no other service can verify the tokens; use EdDSA, ES256 or RS256 keys");
        }
        Ok(keys)
    }

    /// What signs tokens in place of a `secret` that is also set: `None` when the secret signs,
    /// or when there is none. (HS256 with a `key_file` is refused by [`KeySettings`] itself.)
    fn unused_secret(&self) -> Option<&'static str> {
        self.keys.secret.as_ref()?;
        if !self.keys.list.is_empty() {
            Some("`keys`")
        } else if self.keys.key_file.is_some() && self.keys.algorithm != Algorithm::Hs256 {
            Some("`key_file`")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_that_signs_nothing_is_named_at_start_up() {
        let secret = Config::default().with_secret("an-example-secret-of-at-least-32-bytes");
        assert_eq!(secret.unused_secret(), None);
        let mut with_file = secret.clone();
        with_file.keys.key_file = Some("/etc/tokengate/ed25519.pem".into());
        // HS256 with a key file is an error of its own at start-up, not this warning.
        assert_eq!(with_file.unused_secret(), None);
        with_file.keys.algorithm = Algorithm::EdDsa;
        assert_eq!(with_file.unused_secret(), Some("`key_file`"));
        let mut with_list = secret.clone();
        with_list.keys.list = secret.key_list().unwrap();
        assert_eq!(with_list.unused_secret(), Some("`keys`"));
        let mut file_alone = with_file;
        file_alone.keys.secret = None;
        assert_eq!(file_alone.unused_secret(), None);
    }
}
