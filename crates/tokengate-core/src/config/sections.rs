//! The configuration's sections, each a serde type read from the same flat keys (`access_ttl`,
//! `cookie_secure`, ...) that the TOML file and the `TOKENGATE_*` variables use.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::de;
use super::error::ConfigError;
use crate::jws::{Algorithm, KeyConfig, KeyMaterial, Secret};

/// Whether guarded routes need a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GuardMode {
    /// Every route but the public paths needs a valid access token (401 otherwise).
    #[default]
    Required,
    /// Claims are attached when a valid token comes; requests without one pass through, and
    /// the `Claims` extractor rejects them.
    Optional,
}

/// The `SameSite` attribute of the cookies set in cookie mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Sent only with requests from the site itself.
    Strict,
    /// Also sent with top-level navigations from other sites (links), never with their
    /// sub-requests or form posts.
    #[default]
    Lax,
    /// Sent everywhere; needs `Secure`.
    None,
}

impl SameSite {
    /// The attribute's value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

/// Tokens: lifetimes, claims, rotation.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[allow(clippy::struct_field_names)]
pub struct TokenSettings {
    /// Lifetime of access tokens (`access_ttl`).
    #[serde(deserialize_with = "de::duration")]
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens when the client asks for none (`refresh_ttl`).
    #[serde(deserialize_with = "de::duration")]
    pub refresh_ttl: Duration,
    /// The longest refresh lifetime a client may ask for with `exp`; `None` means
    /// `refresh_ttl` (`max_refresh_ttl`).
    #[serde(deserialize_with = "de::optional_duration")]
    pub max_refresh_ttl: Option<Duration>,
    /// Whether `exp=unlimited` is honoured (`allow_unlimited`).
    #[serde(deserialize_with = "de::switch")]
    pub allow_unlimited: bool,
    /// Clock skew tolerated on `exp` and `nbf` (`leeway`).
    #[serde(deserialize_with = "de::duration")]
    pub leeway: Duration,
    /// The `iss` claim (`issuer`).
    pub issuer: String,
    /// The `aud` claim, checked on every token when set (`audience`).
    #[serde(deserialize_with = "de::optional_text")]
    pub audience: Option<String>,
    /// Whether `/token` rotates the refresh token (`rotation`).
    #[serde(deserialize_with = "de::switch")]
    pub rotation: bool,
    /// How long a rotated-out refresh token still gets the current one (`reuse_grace`).
    #[serde(deserialize_with = "de::duration")]
    pub reuse_grace: Duration,
    /// How long a session may go unused (no `/token`) before it ends; `None`: no idle
    /// timeout, only the absolute lifetime (`session_idle`).
    #[serde(deserialize_with = "de::optional_duration")]
    pub session_idle: Option<Duration>,
    /// How often, at most, a `/token` that keeps its refresh token writes the session's last
    /// use (`session_touch_interval`, default 60 s; `0s`: every time): the resolution of
    /// `session_idle`, of the sessions list's `refreshedAt` and of which session is the least
    /// recently used when `max_sessions` ends one. Within it, a `/token` reads and
    /// writes nothing (on PostgreSQL, one read-only statement). A rotation always writes.
    #[serde(rename = "session_touch_interval", deserialize_with = "de::duration")]
    pub touch_interval: Duration,
    /// The most live sessions one subject holds: a new sign-in ends the least recently used
    /// one (`max_sessions`, default 100). `None` (`none`): no limit, a risk — one password
    /// can then make the store hold sessions without bound.
    #[serde(deserialize_with = "de::optional_count")]
    pub max_sessions: Option<u32>,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(20 * 60),
            refresh_ttl: Duration::from_secs(24 * 3600),
            max_refresh_ttl: None,
            allow_unlimited: false,
            leeway: Duration::from_secs(30),
            issuer: "tokengate".to_owned(),
            audience: None,
            rotation: false,
            reuse_grace: Duration::from_secs(10),
            session_idle: None,
            touch_interval: Duration::from_secs(60),
            max_sessions: Some(100),
        }
    }
}

impl TokenSettings {
    /// The longest refresh lifetime a client may ask for.
    pub fn max_refresh_ttl(&self) -> Duration {
        self.max_refresh_ttl.unwrap_or(self.refresh_ttl)
    }

    /// How often, in seconds, a refresh writes the session's last use: the touch interval, at
    /// most half the idle timeout (so that an idle session is told from a used one).
    pub fn touch_seconds(&self) -> i64 {
        let touch = self.touch_interval;
        let touch = self.session_idle.map_or(touch, |idle| touch.min(idle / 2));
        i64::try_from(touch.as_secs()).unwrap_or(i64::MAX)
    }

    /// The idle timeout in seconds, as the stores take it.
    pub fn idle_seconds(&self) -> Option<i64> {
        self.session_idle
            .map(|idle| i64::try_from(idle.as_secs()).unwrap_or(i64::MAX))
    }
}

/// The guard: which routes need a token, where it is read, how it is checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct GuardSettings {
    /// Whether guarded routes need a token (`mode`).
    #[serde(deserialize_with = "de::mode")]
    pub mode: GuardMode,
    /// Paths served without a token: exact, or a prefix when ending in `/*` (`public_paths`).
    #[serde(deserialize_with = "de::list")]
    pub public_paths: Vec<String>,
    /// The WebSocket paths, where an upgrade may present a connection ticket
    /// (`?ticket=...`, from `POST {prefix}/ticket`) instead of a bearer header; exact, or a
    /// prefix when ending in `/*` (`websocket_paths`). None: no ticket endpoint.
    #[serde(deserialize_with = "de::list")]
    pub websocket_paths: Vec<String>,
    /// Also read the bearer token from the seed's `Authentication` header
    /// (`accept_authentication_header`).
    #[serde(deserialize_with = "de::switch")]
    pub accept_authentication_header: bool,
    /// The realm of `WWW-Authenticate` challenges (`realm`).
    pub realm: String,
    /// Whether the guard checks that the token's session is still live (`strict_revocation`).
    #[serde(deserialize_with = "de::switch")]
    pub strict_revocation: bool,
    /// How long the strict guard trusts its last look at a session (`revocation_cache_ttl`).
    #[serde(deserialize_with = "de::duration")]
    pub revocation_cache_ttl: Duration,
    /// Whether verified tokens are remembered until their `exp`; `None`: when a key is
    /// asymmetric (`verify_cache`).
    #[serde(deserialize_with = "de::auto_switch")]
    pub verify_cache: Option<bool>,
    /// How many verified tokens are remembered at most (`verify_cache_size`).
    #[serde(deserialize_with = "de::capacity")]
    pub verify_cache_size: usize,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self {
            mode: GuardMode::Required,
            public_paths: Vec::new(),
            websocket_paths: Vec::new(),
            accept_authentication_header: true,
            realm: "tokengate".to_owned(),
            strict_revocation: false,
            revocation_cache_ttl: Duration::from_secs(5),
            verify_cache: None,
            verify_cache_size: 10_000,
        }
    }
}

/// The endpoints: where they live and what they read.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EndpointSettings {
    /// Path prefix of the endpoints, without a trailing slash (`prefix`).
    #[serde(deserialize_with = "de::prefix")]
    pub prefix: String,
    /// Largest accepted endpoint body, in bytes (`body_limit`).
    #[serde(deserialize_with = "de::size")]
    pub body_limit: usize,
    /// How long an endpoint waits for the whole body before it answers 408 (`body_timeout`).
    #[serde(deserialize_with = "de::duration")]
    pub body_timeout: Duration,
    /// The header a trusted proxy puts the client address in; `None` to use the peer address
    /// (`trusted_proxy_header`).
    #[serde(deserialize_with = "de::header_name")]
    pub trusted_proxy_header: Option<String>,
    /// How long a WebSocket connection ticket may wait for its upgrade (`ticket_ttl`).
    #[serde(deserialize_with = "de::duration")]
    pub ticket_ttl: Duration,
    /// Whether the gate answers the discovery documents, `/.well-known/openid-configuration`
    /// and `/.well-known/oauth-authorization-server` (RFC 8414), which name the issuer, the
    /// JWKS and the token endpoint for other services; the issuer must then be a URL
    /// (`discovery`).
    #[serde(deserialize_with = "de::switch")]
    pub discovery: bool,
    /// The URL clients reach this application at, as the discovery documents name the
    /// endpoints: scheme, host, port and the path a proxy mounts the application under; by
    /// default the issuer's origin. Never taken from a request's `Host` (`external_url`).
    #[serde(deserialize_with = "de::optional_url")]
    pub external_url: Option<String>,
    /// Where the gate serves its metrics in the Prometheus text format, from the root (not
    /// under the prefix); `None` serves none (`metrics_path`, feature `prometheus`).
    #[serde(deserialize_with = "de::optional_text")]
    pub metrics_path: Option<String>,
    /// A scope the caller's access token must hold to read the metrics (an application key
    /// given that scope, say); `None`: the metrics need no token (`metrics_scope`).
    #[serde(deserialize_with = "de::optional_text")]
    pub metrics_scope: Option<String>,
}

impl Default for EndpointSettings {
    fn default() -> Self {
        Self {
            prefix: "/api/rest".to_owned(),
            body_limit: 64 * 1024,
            body_timeout: Duration::from_secs(10),
            trusted_proxy_header: None,
            ticket_ttl: Duration::from_secs(30),
            discovery: false,
            external_url: None,
            metrics_path: None,
            metrics_scope: None,
        }
    }
}

/// Cookie mode (`cookieauth=true`): the cookies and the CSRF defences.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CookieSettings {
    /// Whether cookies are `Secure` (and use the `__Host-`/`__Secure-` names)
    /// (`cookie_secure`).
    #[serde(rename = "cookie_secure", deserialize_with = "de::switch")]
    pub secure: bool,
    /// The cookies' `SameSite` (`cookie_same_site`).
    #[serde(rename = "cookie_same_site", deserialize_with = "de::same_site")]
    pub same_site: SameSite,
    /// Origins (`https://app.example.org`) besides the server's own whose unsafe requests are
    /// accepted (`trusted_origins`).
    #[serde(deserialize_with = "de::origins")]
    pub trusted_origins: Vec<String>,
    /// The key of CSRF tokens; derived from `secret` when absent (`csrf_secret`).
    #[serde(deserialize_with = "de::secret")]
    pub csrf_secret: Option<Secret>,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self {
            secure: true,
            same_site: SameSite::Lax,
            trusted_origins: Vec::new(),
            csrf_secret: None,
        }
    }
}

/// Sign-in throttling.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ThrottleSettings {
    /// Failed sign-ins per login per window before 429; 0 for no limit
    /// (`throttle_per_login`).
    #[serde(rename = "throttle_per_login", deserialize_with = "de::count")]
    pub per_login: u32,
    /// Failed sign-ins per client address per window before 429; 0 for no limit
    /// (`throttle_per_address`).
    #[serde(rename = "throttle_per_address", deserialize_with = "de::count")]
    pub per_address: u32,
    /// The throttling window (`throttle_window`).
    #[serde(rename = "throttle_window", deserialize_with = "de::duration")]
    pub window: Duration,
    /// The most credential checks (sign-ins, client authentications) waiting for a hashing
    /// slot or hashing at once; the next one is answered 503 with `Retry-After` at once
    /// (`hash_queue_depth`, default 32 per core: a queue of well under two seconds of Argon2
    /// work at the minimum parameters).
    #[serde(rename = "hash_queue_depth", deserialize_with = "de::count")]
    pub hash_queue_depth: u32,
}

/// Checks queued per core by default: enough that the sign-in storm of `benches/load.sh`
/// (16 at once) is never refused on one core, few enough that the last in the queue waits
/// under two seconds (a check at the minimum parameters takes 20 to 50 ms).
const HASH_QUEUE_PER_CORE: u32 = 32;

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            per_login: 10,
            per_address: 100,
            window: Duration::from_secs(15 * 60),
            hash_queue_depth: HASH_QUEUE_PER_CORE.saturating_mul(
                std::thread::available_parallelism()
                    .ok()
                    .and_then(|cores| u32::try_from(cores.get()).ok())
                    .unwrap_or(2),
            ),
        }
    }
}

/// Where sessions live.
#[derive(Clone, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct StoreSettings {
    /// `memory`, `redis://...` or `sqlite://path` (`store`).
    #[serde(rename = "store", deserialize_with = "de::trimmed")]
    pub url: String,
    /// Key prefix in a shared store; in PostgreSQL the namespace of the rows (`store_prefix`).
    #[serde(rename = "store_prefix", deserialize_with = "de::trimmed")]
    pub prefix: String,
    /// The PostgreSQL schema of the store's tables (`store_schema`).
    #[serde(rename = "store_schema", deserialize_with = "de::trimmed")]
    pub schema: String,
    /// The most connections a PostgreSQL store opens (`store_pool_size`).
    #[serde(rename = "store_pool_size", deserialize_with = "de::count")]
    pub pool_size: u32,
    /// How long a PostgreSQL statement, or a wait for a connection, may take before the
    /// endpoint answers 503 (`store_timeout`).
    #[serde(rename = "store_timeout", deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// How many Redis replicas must hold a revocation before it is answered as done; 0 (the
    /// default) does not wait (`redis_wait_replicas`).
    #[serde(rename = "redis_wait_replicas", deserialize_with = "de::count")]
    pub wait_replicas: u32,
    /// How long a revocation waits for those replicas before it answers 503
    /// (`redis_wait_timeout`).
    #[serde(rename = "redis_wait_timeout", deserialize_with = "de::duration")]
    pub wait_timeout: Duration,
}

/// The URL's password is never shown.
impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSettings")
            .field("url", &super::redacted_url(&self.url))
            .field("prefix", &self.prefix)
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("timeout", &self.timeout)
            .field("wait_replicas", &self.wait_replicas)
            .field("wait_timeout", &self.wait_timeout)
            .finish()
    }
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            url: "memory".to_owned(),
            prefix: "tokengate".to_owned(),
            schema: "tokengate".to_owned(),
            pool_size: 10,
            timeout: Duration::from_secs(2),
            wait_replicas: 0,
            wait_timeout: Duration::from_millis(500),
        }
    }
}

/// The keys tokens are signed and verified with.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct KeySettings {
    /// The HS256 secret (`secret`).
    #[serde(deserialize_with = "de::secret")]
    pub secret: Option<Secret>,
    /// The single key's algorithm, when `keys` is empty (`algorithm`).
    #[serde(deserialize_with = "de::algorithm")]
    pub algorithm: Algorithm,
    /// The single key's PEM file, for EdDSA, ES256 and RS256 (`key_file`).
    #[serde(deserialize_with = "de::optional_path")]
    pub key_file: Option<PathBuf>,
    /// The key list; when set, `algorithm`, `key_file` and `secret` no longer make the keys
    /// (`keys`, TOML only).
    #[serde(rename = "keys", deserialize_with = "super::key_list::key_list")]
    pub list: Vec<KeyConfig>,
}

/// The single key of `algorithm` + `secret` or `key_file`, when no key list is configured.
impl KeySettings {
    /// The single key of `algorithm` + `secret` or `key_file`, when no key list is given.
    pub(super) fn single_key(&self) -> Result<KeyConfig, ConfigError> {
        let keys = self;
        let material =
            match (keys.algorithm, &keys.key_file) {
                (Algorithm::Hs256, Some(path)) => return Err(ConfigError::new(
                    "key_file",
                    &path.display().to_string(),
                    "HS256 takes `secret`; set `algorithm` to EdDSA, ES256 or RS256 for a key file",
                )),
                (Algorithm::Hs256, None) => {
                    KeyMaterial::Secret(keys.secret.clone().ok_or_else(|| {
                        ConfigError::new(
                            "secret",
                            "",
                            "is required: set TOKENGATE_SECRET to at least 32 random bytes",
                        )
                    })?)
                }
                (algorithm, None) => {
                    return Err(ConfigError::new(
                        "key_file",
                        "",
                        format!(
                            "is required for {}: a PKCS#8 PEM private key",
                            algorithm.name()
                        ),
                    ))
                }
                (_, Some(path)) => {
                    KeyMaterial::PrivatePem(Secret::new(std::fs::read(path).map_err(|e| {
                        ConfigError::new(
                            "key_file",
                            &path.display().to_string(),
                            format!("cannot read: {e}"),
                        )
                    })?))
                }
            };
        Ok(KeyConfig {
            kid: None,
            algorithm: keys.algorithm,
            material,
            signing: true,
            verify_until: None,
        })
    }
}

/// Second factors (TOTP, passkeys and recovery codes).
#[derive(Clone, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MfaSettings {
    /// The key that seals (encrypts and authenticates) second-factor secrets at rest, at least
    /// 32 bytes; none: no second factors, their endpoints are not served (`mfa_key`).
    #[serde(rename = "mfa_key", deserialize_with = "de::secret")]
    pub key: Option<Secret>,
    /// Keys that sealed secrets before `mfa_key` replaced them: still opened, never used to
    /// seal (`mfa_previous_keys`).
    #[serde(rename = "mfa_previous_keys", deserialize_with = "de::secrets")]
    pub previous_keys: Vec<Secret>,
    /// Paths a session still waiting for its second factor reaches besides the second-factor
    /// endpoints: exact, or a prefix when ending in `/*` (`mfa_aal1_paths`).
    #[serde(rename = "mfa_aal1_paths", deserialize_with = "de::list")]
    pub aal1_paths: Vec<String>,
    /// Whether confirming the first factor, removing one or spending a recovery code ends the
    /// subject's other sessions (`mfa_end_sessions`).
    #[serde(rename = "mfa_end_sessions", deserialize_with = "de::switch")]
    pub end_sessions: bool,
    /// How long an enrolled factor waits for its confirmation (`mfa_pending_ttl`).
    #[serde(rename = "mfa_pending_ttl", deserialize_with = "de::duration")]
    pub pending_ttl: Duration,
    /// The most factors (active and waiting) one subject holds (`mfa_max_factors`).
    #[serde(rename = "mfa_max_factors", deserialize_with = "de::count")]
    pub max_factors: u32,
    /// Codes tried per subject and per session in a `throttle_window` before 429
    /// (`mfa_attempts`).
    #[serde(rename = "mfa_attempts", deserialize_with = "de::count")]
    pub attempts: u32,
    /// The relying party id passkeys are bound to: the site's domain (`example.com`); none: no
    /// passkeys, their endpoints are not served (`passkey_rp_id`). Needs `mfa_key`.
    #[serde(rename = "passkey_rp_id", deserialize_with = "de::optional_text")]
    pub passkey_rp_id: Option<String>,
    /// The origins whose pages may use the passkeys, each the rp id or one of its subdomains
    /// (`https://example.com`; `http://` only for `localhost`) (`passkey_origins`).
    #[serde(rename = "passkey_origins", deserialize_with = "de::origins")]
    pub passkey_origins: Vec<String>,
    /// How long a passkey ceremony's challenge may be answered (`passkey_challenge_ttl`).
    #[serde(rename = "passkey_challenge_ttl", deserialize_with = "de::duration")]
    pub passkey_challenge_ttl: Duration,
}

impl std::fmt::Debug for MfaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaSettings")
            .field("key", &self.key)
            .field("previous_keys", &self.previous_keys.len())
            .field("aal1_paths", &self.aal1_paths)
            .field("end_sessions", &self.end_sessions)
            .field("pending_ttl", &self.pending_ttl)
            .field("max_factors", &self.max_factors)
            .field("attempts", &self.attempts)
            .field("passkey_rp_id", &self.passkey_rp_id)
            .field("passkey_origins", &self.passkey_origins)
            .field("passkey_challenge_ttl", &self.passkey_challenge_ttl)
            .finish()
    }
}

impl Default for MfaSettings {
    fn default() -> Self {
        Self {
            key: None,
            previous_keys: Vec::new(),
            aal1_paths: Vec::new(),
            end_sessions: true,
            pending_ttl: Duration::from_secs(600),
            max_factors: 5,
            attempts: 5,
            passkey_rp_id: None,
            passkey_origins: Vec::new(),
            passkey_challenge_ttl: Duration::from_secs(60),
        }
    }
}

/// Access tokens that other issuers sign (an identity provider's), accepted on guarded routes
/// beside this gate's own.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FederationSettings {
    /// The issuers, each a table of its own (`[[issuers]]`, in the file only).
    #[serde(rename = "issuers")]
    pub issuers: Vec<IssuerSettings>,
    /// At most one fetch of an issuer's keys per this interval, however many tokens name a key
    /// it lacks (`issuer_keys_interval`).
    #[serde(rename = "issuer_keys_interval", deserialize_with = "de::duration")]
    pub keys_interval: Duration,
    /// How long an issuer's keys are kept when its JWKS does not say, and at most when it says
    /// longer (`issuer_keys_max_age`).
    #[serde(rename = "issuer_keys_max_age", deserialize_with = "de::duration")]
    pub keys_max_age: Duration,
    /// How long a request waits for keys being fetched before it is answered 503
    /// (`issuer_keys_wait`); the fetch goes on.
    #[serde(rename = "issuer_keys_wait", deserialize_with = "de::duration")]
    pub keys_wait: Duration,
    /// The OpenID providers users sign in with, each a table of its own (`[[providers]]`, in
    /// the file only).
    #[serde(rename = "providers")]
    pub providers: Vec<ProviderSettings>,
    /// Where a provider sign-in may send the browser or app back to (`return_to`): origins
    /// (`https://app.example.org`, `com.example.app:` for an app's own scheme), exactly
    /// (`oidc_return_origins`). A `return_to` that is a path on this server is always allowed.
    #[serde(rename = "oidc_return_origins", deserialize_with = "de::origins")]
    pub return_origins: Vec<String>,
    /// How long a provider sign-in may take, from its start to its callback (`oidc_state_ttl`).
    #[serde(rename = "oidc_state_ttl", deserialize_with = "de::duration")]
    pub state_ttl: Duration,
    /// How long the one-time code of an app's provider sign-in waits for its exchange
    /// (`oidc_code_ttl`).
    #[serde(rename = "oidc_code_ttl", deserialize_with = "de::duration")]
    pub code_ttl: Duration,
}

impl Default for FederationSettings {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            keys_interval: Duration::from_secs(30),
            keys_max_age: Duration::from_secs(3600),
            keys_wait: Duration::from_secs(2),
            providers: Vec::new(),
            return_origins: Vec::new(),
            state_ttl: Duration::from_secs(600),
            code_ttl: Duration::from_secs(60),
        }
    }
}

/// One issuer whose access tokens the guard accepts.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IssuerSettings {
    /// Its `iss`, exactly; its keys are found from `{issuer}/.well-known/openid-configuration`.
    #[serde(deserialize_with = "de::trimmed")]
    pub issuer: String,
    /// The audiences accepted: a token's `aud` must hold one of them.
    #[serde(deserialize_with = "de::list")]
    pub audience: Vec<String>,
    /// The algorithms its tokens may be signed with (public-key ones only).
    #[serde(default = "default_issuer_algorithms", deserialize_with = "de::list")]
    pub algorithms: Vec<String>,
    /// The claim holding its roles, or a dotted path into objects (`realm_access.roles`).
    #[serde(default, deserialize_with = "de::optional_text")]
    pub roles_claim: Option<String>,
    /// The claim holding its scopes (space-delimited, or a list).
    #[serde(default = "default_scopes_claim", deserialize_with = "de::trimmed")]
    pub scopes_claim: String,
}

/// One OpenID provider users sign in with (`[[providers]]`): its sign-in starts at
/// `{prefix}/oidc/{name}/start` and comes back to `{prefix}/oidc/{name}/callback`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProviderSettings {
    /// Its name in paths and in the `idp` claim: lower-case letters, digits, `-` and `_`.
    #[serde(deserialize_with = "de::trimmed")]
    pub name: String,
    /// Its issuer, exactly; found from `{issuer}/.well-known/openid-configuration`.
    #[serde(deserialize_with = "de::trimmed")]
    pub issuer: String,
    /// This application's client id there.
    #[serde(deserialize_with = "de::trimmed")]
    pub client_id: String,
    /// This application's client secret there (or `client_secret_file`; neither for a
    /// public client, which PKCE alone protects).
    #[serde(default, deserialize_with = "de::secret")]
    pub client_secret: Option<Secret>,
    /// A file holding the client secret (its surrounding white space ignored).
    #[serde(default, deserialize_with = "de::optional_text")]
    pub client_secret_file: Option<String>,
    /// The scopes asked for; `openid` is always asked.
    #[serde(default = "default_provider_scopes", deserialize_with = "de::list")]
    pub scopes: Vec<String>,
    /// The callback's whole URL as the provider has it registered: an http(s) URL whose path
    /// is `{prefix}/oidc/{name}/callback`.
    #[serde(deserialize_with = "de::trimmed")]
    pub redirect_uri: String,
    /// Claims of its ID token copied into the access tokens: the claim's name here, and the
    /// provider's claim (or a dotted path into objects).
    #[serde(default)]
    pub claims: std::collections::BTreeMap<String, String>,
    /// Whether a second factor it asserts (`amr` with `mfa`, or an `acr` of `mfa_acr`) counts
    /// as this gate's `aal2`.
    #[serde(default)]
    pub trust_mfa: bool,
    /// The `acr` values that say it proved a second factor (with `trust_mfa`).
    #[serde(default, deserialize_with = "de::list")]
    pub mfa_acr: Vec<String>,
}

fn default_provider_scopes() -> Vec<String> {
    vec![
        "openid".to_owned(),
        "email".to_owned(),
        "profile".to_owned(),
    ]
}

fn default_issuer_algorithms() -> Vec<String> {
    vec!["RS256".to_owned(), "ES256".to_owned(), "EdDSA".to_owned()]
}

fn default_scopes_claim() -> String {
    "scope".to_owned()
}
