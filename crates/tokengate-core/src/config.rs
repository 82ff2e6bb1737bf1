//! Configuration per environment: defaults, a TOML file with profiles, `TOKENGATE_*` variables.

use std::fmt;
use std::time::Duration;

use crate::duration::{format_duration, parse_duration};
use crate::keys::Algorithm;

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

/// A secret that never shows in logs: its `Debug` prints `REDACTED`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<[u8]>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into().into_boxed_slice())
    }

    /// A fresh random secret of 32 bytes, for development servers that were given none.
    pub fn random() -> Result<Self, ConfigError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| ConfigError::new("secret", "", e.to_string()))?;
        Ok(Self::new(bytes.to_vec()))
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(REDACTED)")
    }
}

/// One key of the key list (`keys` in the TOML file).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeyConfig {
    /// Its `kid`; by default derived from the key (the RFC 7638 thumbprint for public keys).
    pub kid: Option<String>,
    /// The algorithm it signs and verifies with, and no other.
    pub algorithm: Algorithm,
    /// The key itself.
    pub material: KeyMaterial,
    /// Whether it signs new tokens (exactly one key does; a lone key always does).
    pub signing: bool,
    /// Unix time after which it no longer verifies: the end of a rotation's grace period.
    pub verify_until: Option<i64>,
}

/// What a key is made of.
#[derive(Clone)]
#[non_exhaustive]
pub enum KeyMaterial {
    /// An HS256 secret.
    Secret(Secret),
    /// A PEM private key (PKCS#8; SEC1 for EC and PKCS#1 for RSA also work).
    PrivatePem(Secret),
    /// A PEM public key (SPKI): verify only.
    PublicPem(String),
    /// A public JWK (JSON text): verify only.
    Jwk(String),
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret(REDACTED)"),
            Self::PrivatePem(_) => f.write_str("PrivatePem(REDACTED)"),
            Self::PublicPem(_) => f.write_str("PublicPem"),
            Self::Jwk(_) => f.write_str("Jwk"),
        }
    }
}

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
/// | `secret` | none | the HS256 secret, at least 32 bytes |
/// | `throttle_per_login` | `10` | failed sign-ins per login per window before 429 (`0`: no limit) |
/// | `throttle_per_address` | `100` | failed sign-ins per client address per window (`0`: no limit) |
/// | `throttle_window` | `15m` | the throttling window |
/// | `trusted_proxy_header` | none | take the client address from this header (`x-forwarded-for`), behind a trusted proxy only |
/// | `store` | `memory` | where sessions live: `memory`, `redis://host:port/db` or `sqlite://path` |
/// | `store_prefix` | `tokengate` | key prefix in a shared store (Redis) |
/// | `rotation` | `false` | `/token` returns a new refresh token and retires the old one |
/// | `reuse_grace` | `10s` | how long a retired refresh token still gets the current one |
/// | `strict_revocation` | `false` | the guard also checks that the token's session is live |
/// | `revocation_cache_ttl` | `5s` | how long a strict guard trusts its last look at a session: a sign-out on another instance is seen within it (on the same instance, at once) |
/// | `verify_cache` | `auto` | remember verified tokens until their `exp`: `auto` (on when a key is asymmetric), `true`, `false` |
/// | `verify_cache_size` | `10000` | how many verified tokens are remembered at most |
/// | `algorithm` | `HS256` | the single key's algorithm: `HS256`, `EdDSA`, `ES256` or `RS256` |
/// | `key_file` | none | the single key for EdDSA/ES256/RS256: a PKCS#8 PEM private key file |
/// | `keys` | none | a key list instead (TOML only), see below |
/// | `cookie_secure` | `true` | cookie mode: mark cookies `Secure` (`false` only for plain-http development) |
/// | `cookie_same_site` | `lax` | cookie mode: `strict`, `lax` or `none` (`none` needs `cookie_secure`) |
/// | `trusted_origins` | none | cookie mode: origins besides the server's own that may send unsafe requests |
/// | `csrf_secret` | derived from `secret` | cookie mode: the key that signs CSRF tokens, at least 32 bytes |
///
/// A wrong value stops start-up with a [`ConfigError`] naming the key and the value.
///
/// A key list rotates keys: each entry has `algorithm`, one of `secret` (HS256), `key` or
/// `key_file` (a PEM private key), `public_key` or `public_key_file` (a PEM public key, verify
/// only) or `jwk` (a public JWK, verify only); optionally `kid`, `signing = true` (exactly one
/// key signs) and `verify_until` (RFC 3339 or Unix seconds: the end of a retired key's grace).
///
/// ```toml
/// [production]
/// keys = [
///   { kid = "2026-11", algorithm = "EdDSA", key_file = "/etc/tokengate/ed25519.pem", signing = true },
///   { kid = "2026-05", algorithm = "EdDSA", public_key_file = "/etc/tokengate/old.pub.pem",
///     verify_until = "2026-12-01T00:00:00Z" },
/// ]
/// ```
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tokengate_core::Config;
///
/// let toml = r#"
///     [default]
///     access_ttl = "10m"
///     [production]
///     access_ttl = "5m"
/// "#;
/// let env = [("TOKENGATE_SECRET", "an-example-secret-of-at-least-32-bytes")];
/// let config = Config::default().with_sources(Some(toml), "production", env)?;
/// assert_eq!(config.access_ttl, Duration::from_secs(300));
/// # Ok::<(), tokengate_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
#[allow(clippy::struct_excessive_bools)] // each is a documented, independent switch
pub struct Config {
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens when the client asks for none.
    pub refresh_ttl: Duration,
    /// The longest refresh lifetime a client may ask for with `exp`; `None` means `refresh_ttl`.
    pub max_refresh_ttl: Option<Duration>,
    /// Whether `exp=unlimited` is honoured.
    pub allow_unlimited: bool,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// The `iss` claim.
    pub issuer: String,
    /// The `aud` claim, checked on every token when set.
    pub audience: Option<String>,
    /// The realm of `WWW-Authenticate` challenges.
    pub realm: String,
    /// Path prefix of the endpoints, without a trailing slash.
    pub prefix: String,
    /// Largest accepted endpoint body, in bytes.
    pub body_limit: usize,
    /// How long an endpoint waits for the whole body before it answers 408.
    pub body_timeout: Duration,
    /// Also read the bearer token from the seed's `Authentication` header.
    pub accept_authentication_header: bool,
    /// Whether guarded routes need a token.
    pub mode: GuardMode,
    /// Paths served without a token: exact, or a prefix when ending in `/*`.
    pub public_paths: Vec<String>,
    /// The HS256 secret.
    pub secret: Option<Secret>,
    /// Where sessions live: `memory`, `redis://...` or `sqlite://path`.
    pub store: String,
    /// Key prefix in a shared store.
    pub store_prefix: String,
    /// Whether `/token` rotates the refresh token.
    pub rotation: bool,
    /// How long a rotated-out refresh token still gets the current one.
    pub reuse_grace: Duration,
    /// Whether the guard checks that the token's session is still live.
    pub strict_revocation: bool,
    /// How long the strict guard trusts its last look at a session.
    pub revocation_cache_ttl: Duration,
    /// Whether verified tokens are remembered until their `exp`; `None`: when a key is
    /// asymmetric.
    pub verify_cache: Option<bool>,
    /// How many verified tokens are remembered at most.
    pub verify_cache_size: usize,
    /// Failed sign-ins per login per window before 429; 0 for no limit.
    pub throttle_per_login: u32,
    /// Failed sign-ins per client address per window before 429; 0 for no limit.
    pub throttle_per_address: u32,
    /// The throttling window.
    pub throttle_window: Duration,
    /// The header a trusted proxy puts the client address in; `None` to use the peer address.
    pub trusted_proxy_header: Option<String>,
    /// The single key's algorithm, when `keys` is empty.
    pub algorithm: Algorithm,
    /// The single key's PEM file, for EdDSA, ES256 and RS256.
    pub key_file: Option<std::path::PathBuf>,
    /// The key list; when set, `algorithm`, `key_file` and `secret` no longer make the keys.
    pub keys: Vec<KeyConfig>,
    /// Cookie mode: whether cookies are `Secure` (and use the `__Host-`/`__Secure-` names).
    pub cookie_secure: bool,
    /// Cookie mode: the cookies' `SameSite`.
    pub cookie_same_site: SameSite,
    /// Cookie mode: origins (`https://app.example.org`) besides the server's own whose unsafe
    /// requests are accepted.
    pub trusted_origins: Vec<String>,
    /// Cookie mode: the key of CSRF tokens; derived from `secret` when absent.
    pub csrf_secret: Option<Secret>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(20 * 60),
            refresh_ttl: Duration::from_secs(24 * 3600),
            max_refresh_ttl: None,
            allow_unlimited: false,
            leeway: Duration::from_secs(30),
            issuer: "tokengate".to_owned(),
            audience: None,
            realm: "tokengate".to_owned(),
            prefix: "/api/rest".to_owned(),
            body_limit: 64 * 1024,
            body_timeout: Duration::from_secs(10),
            accept_authentication_header: true,
            mode: GuardMode::Required,
            public_paths: Vec::new(),
            secret: None,
            store: "memory".to_owned(),
            store_prefix: "tokengate".to_owned(),
            rotation: false,
            reuse_grace: Duration::from_secs(10),
            strict_revocation: false,
            revocation_cache_ttl: Duration::from_secs(5),
            verify_cache: None,
            verify_cache_size: 10_000,
            throttle_per_login: 10,
            throttle_per_address: 100,
            throttle_window: Duration::from_secs(15 * 60),
            trusted_proxy_header: None,
            algorithm: Algorithm::Hs256,
            key_file: None,
            keys: Vec::new(),
            cookie_secure: true,
            cookie_same_site: SameSite::Lax,
            trusted_origins: Vec::new(),
            csrf_secret: None,
        }
    }
}

/// A value from the TOML file or from an environment variable.
enum Raw {
    Text(String),
    Toml(toml::Value),
}

impl Raw {
    fn shown(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Toml(value) => value.to_string(),
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) | Self::Toml(toml::Value::String(text)) => Some(text),
            Self::Toml(_) => None,
        }
    }
}

/// Start-up refused a configuration; the message names the key and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration `{key}` = `{value}`: {reason}")]
pub struct ConfigError {
    /// The key, as written in the TOML file.
    pub key: String,
    /// The offending value (secrets are never repeated).
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(key: &str, value: &str, reason: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

const KEYS: &[&str] = &[
    "access_ttl",
    "refresh_ttl",
    "max_refresh_ttl",
    "allow_unlimited",
    "leeway",
    "issuer",
    "audience",
    "realm",
    "prefix",
    "body_limit",
    "body_timeout",
    "accept_authentication_header",
    "mode",
    "public_paths",
    "secret",
    "cookie_secure",
    "cookie_same_site",
    "trusted_origins",
    "csrf_secret",
    "algorithm",
    "key_file",
    "store",
    "store_prefix",
    "rotation",
    "reuse_grace",
    "strict_revocation",
    "revocation_cache_ttl",
    "verify_cache",
    "verify_cache_size",
    "throttle_per_login",
    "throttle_per_address",
    "throttle_window",
    "trusted_proxy_header",
];

impl Config {
    /// Defaults, then the TOML file and profile, then `TOKENGATE_*` variables; validated.
    pub fn load() -> Result<Self, ConfigError> {
        Self::default().load_over()
    }

    /// Like [`Config::load`], but starting from these values instead of the defaults (an app
    /// sets its own defaults, the file and the environment still win).
    pub fn load_over(self) -> Result<Self, ConfigError> {
        let path = std::env::var("TOKENGATE_CONFIG").ok();
        let text = match &path {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new(
                    "TOKENGATE_CONFIG",
                    path,
                    format!("cannot read the file: {e}"),
                )
            })?),
            None => std::fs::read_to_string("tokengate.toml").ok(),
        };
        let profile = std::env::var("TOKENGATE_PROFILE").unwrap_or_else(|_| "default".to_owned());
        self.with_sources(text.as_deref(), &profile, std::env::vars())
    }

    /// Applies a TOML text (its `[default]` table, then `[profile]`) and then the
    /// `TOKENGATE_*` pairs of `env`; validates the result.
    pub fn with_sources<K, V>(
        mut self,
        toml_text: Option<&str>,
        profile: &str,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ConfigError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        if let Some(text) = toml_text {
            let table: toml::Table = text
                .parse()
                .map_err(|e: toml::de::Error| ConfigError::new("(file)", "", e.to_string()))?;
            let mut found_profile = profile == "default";
            for name in ["default", profile] {
                let Some(section) = table.get(name) else {
                    continue;
                };
                found_profile |= name == profile;
                let toml::Value::Table(section) = section else {
                    return Err(ConfigError::new(
                        name,
                        &section.to_string(),
                        "must be a table",
                    ));
                };
                for (key, value) in section {
                    self.apply(key, &Raw::Toml(value.clone()))?;
                }
            }
            if !found_profile {
                return Err(ConfigError::new(
                    "TOKENGATE_PROFILE",
                    profile,
                    "no such profile in the config file",
                ));
            }
        }
        for (name, value) in env {
            let Some(key) = name.as_ref().strip_prefix("TOKENGATE_") else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            if KEYS.contains(&key.as_str()) {
                self.apply(&key, &Raw::Text(value.as_ref().to_owned()))?;
            }
        }
        self.validate()?;
        Ok(self)
    }

    /// Sets one key from its text form, as the TOML file or a variable would.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self, ConfigError> {
        self.apply(key, &Raw::Text(value.to_owned()))?;
        Ok(self)
    }

    #[allow(clippy::too_many_lines)] // one arm per key
    fn apply(&mut self, key: &str, raw: &Raw) -> Result<(), ConfigError> {
        let bad = |reason: &str| ConfigError::new(key, &raw.shown(), reason);
        let text = || raw.text().ok_or_else(|| bad("expected a string"));
        let duration = || parse_duration(text()?).map_err(|reason| bad(&reason));
        let boolean = || match raw {
            Raw::Toml(toml::Value::Boolean(value)) => Ok(*value),
            _ => match text()?.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(bad("expected true or false")),
            },
        };
        let count = || -> Result<u32, ConfigError> {
            match raw {
                Raw::Toml(toml::Value::Integer(n)) => u32::try_from(*n).ok(),
                _ => text()?.trim().parse().ok(),
            }
            .ok_or_else(|| bad("expected a whole number from 0"))
        };
        let list = || -> Result<Vec<String>, ConfigError> {
            Ok(match raw {
                Raw::Toml(toml::Value::Array(items)) => items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad("expected a list of strings"))?,
                _ => text()?
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        };
        match key {
            "access_ttl" => self.access_ttl = duration()?,
            "refresh_ttl" => self.refresh_ttl = duration()?,
            "max_refresh_ttl" => self.max_refresh_ttl = Some(duration()?),
            "allow_unlimited" => self.allow_unlimited = boolean()?,
            "leeway" => self.leeway = duration()?,
            "body_timeout" => self.body_timeout = duration()?,
            "issuer" => text()?.clone_into(&mut self.issuer),
            "audience" => {
                let value = text()?;
                self.audience = (!value.is_empty()).then(|| value.to_owned());
            }
            "realm" => text()?.clone_into(&mut self.realm),
            "prefix" => text()?.trim_end_matches('/').clone_into(&mut self.prefix),
            "body_limit" => {
                self.body_limit = match raw {
                    Raw::Toml(toml::Value::Integer(n)) => {
                        usize::try_from(*n).map_err(|_| bad("must be positive"))?
                    }
                    _ => parse_size(text()?).map_err(|reason| bad(&reason))?,
                }
            }
            "accept_authentication_header" => self.accept_authentication_header = boolean()?,
            "mode" => {
                self.mode = match text()?.to_ascii_lowercase().as_str() {
                    "required" => GuardMode::Required,
                    "optional" => GuardMode::Optional,
                    _ => return Err(bad("expected `required` or `optional`")),
                }
            }
            "public_paths" => self.public_paths = list()?,
            "trusted_origins" => {
                self.trusted_origins = list()?
                    .into_iter()
                    .map(|origin| origin.trim_end_matches('/').to_ascii_lowercase())
                    .collect();
            }
            "cookie_secure" => self.cookie_secure = boolean()?,
            "store" => {
                let url = text()?.trim();
                if !(url == "memory"
                    || url.starts_with("redis://")
                    || url.starts_with("rediss://")
                    || url.starts_with("sqlite://"))
                {
                    return Err(bad(
                        "expected memory, redis://host:port/db or sqlite://path",
                    ));
                }
                url.clone_into(&mut self.store);
            }
            "store_prefix" => text()?.trim().clone_into(&mut self.store_prefix),
            "rotation" => self.rotation = boolean()?,
            "reuse_grace" => self.reuse_grace = duration()?,
            "strict_revocation" => self.strict_revocation = boolean()?,
            "revocation_cache_ttl" => self.revocation_cache_ttl = duration()?,
            "verify_cache" => {
                self.verify_cache = match raw.text().map(|t| t.trim().to_ascii_lowercase()) {
                    Some(auto) if auto == "auto" => None,
                    _ => Some(boolean()?),
                };
            }
            "verify_cache_size" => {
                self.verify_cache_size = usize::try_from(count()?).unwrap_or(usize::MAX).max(1);
            }
            "throttle_per_login" => self.throttle_per_login = count()?,
            "throttle_per_address" => self.throttle_per_address = count()?,
            "throttle_window" => self.throttle_window = duration()?,
            "trusted_proxy_header" => {
                let name = text()?.trim().to_ascii_lowercase();
                self.trusted_proxy_header = (!name.is_empty()).then_some(name);
            }
            "algorithm" => {
                self.algorithm = Algorithm::parse(text()?)
                    .ok_or_else(|| bad("expected HS256, EdDSA, ES256 or RS256"))?;
            }
            "key_file" => {
                let path = text()?;
                self.key_file = (!path.is_empty()).then(|| path.into());
            }
            "keys" => {
                let Raw::Toml(toml::Value::Array(items)) = raw else {
                    return Err(bad("expected a list of key tables (TOML only)"));
                };
                self.keys = items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| key_config(index, item))
                    .collect::<Result<_, _>>()?;
            }
            "cookie_same_site" => {
                self.cookie_same_site = match text()?.to_ascii_lowercase().as_str() {
                    "strict" => SameSite::Strict,
                    "lax" => SameSite::Lax,
                    "none" => SameSite::None,
                    _ => return Err(bad("expected `strict`, `lax` or `none`")),
                }
            }
            "csrf_secret" => {
                let value = raw
                    .text()
                    .ok_or_else(|| ConfigError::new(key, "(hidden)", "expected a string"))?;
                self.csrf_secret = Some(Secret::new(value.as_bytes().to_vec()));
            }
            "secret" => {
                let value = raw
                    .text()
                    .ok_or_else(|| ConfigError::new(key, "(hidden)", "expected a string"))?;
                self.secret = Some(Secret::new(value.as_bytes().to_vec()));
            }
            _ => return Err(bad("unknown key")),
        }
        Ok(())
    }

    /// The longest refresh lifetime a client may ask for.
    pub fn max_refresh_ttl(&self) -> Duration {
        self.max_refresh_ttl.unwrap_or(self.refresh_ttl)
    }

    /// Refuses an unsafe or inconsistent configuration, naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = |key: &str, value: Duration| {
            if value.is_zero() {
                Err(ConfigError::new(
                    key,
                    &format_duration(value),
                    "must be longer than zero",
                ))
            } else {
                Ok(())
            }
        };
        positive("access_ttl", self.access_ttl)?;
        positive("refresh_ttl", self.refresh_ttl)?;
        positive("throttle_window", self.throttle_window)?;
        positive("body_timeout", self.body_timeout)?;
        if self.max_refresh_ttl() < self.refresh_ttl {
            return Err(ConfigError::new(
                "max_refresh_ttl",
                &format_duration(self.max_refresh_ttl()),
                format!(
                    "is shorter than refresh_ttl ({})",
                    format_duration(self.refresh_ttl)
                ),
            ));
        }
        if self.leeway > Duration::from_secs(300) {
            return Err(ConfigError::new(
                "leeway",
                &format_duration(self.leeway),
                "is more than 5m: expired tokens would be accepted for too long",
            ));
        }
        if !self.prefix.starts_with('/') || self.prefix.contains(['?', '#', '*']) {
            return Err(ConfigError::new(
                "prefix",
                &self.prefix,
                "must be a path starting with `/`",
            ));
        }
        if self.body_limit == 0 {
            return Err(ConfigError::new(
                "body_limit",
                "0",
                "must be at least one byte",
            ));
        }
        if let Some(path) = self.public_paths.iter().find(|path| !path.starts_with('/')) {
            return Err(ConfigError::new(
                "public_paths",
                path,
                "each path must start with `/`",
            ));
        }
        if self.cookie_same_site == SameSite::None && !self.cookie_secure {
            return Err(ConfigError::new(
                "cookie_same_site",
                "none",
                "needs cookie_secure = true: browsers drop SameSite=None cookies that are not Secure",
            ));
        }
        if let Some(origin) = self
            .trusted_origins
            .iter()
            .find(|origin| !(origin.starts_with("https://") || origin.starts_with("http://")))
        {
            return Err(ConfigError::new(
                "trusted_origins",
                origin,
                "each origin must look like https://host[:port]",
            ));
        }
        if let Some(secret) = &self.csrf_secret {
            if secret.expose().len() < 32 {
                return Err(ConfigError::new(
                    "csrf_secret",
                    "(hidden)",
                    "must be at least 32 bytes",
                ));
            }
        }
        let needs_secret = self.keys.is_empty() && self.algorithm == Algorithm::Hs256;
        match &self.secret {
            None if needs_secret => Err(ConfigError::new(
                "secret",
                "",
                "is required: set TOKENGATE_SECRET to at least 32 random bytes",
            )),
            Some(secret) if secret.expose().len() < 32 => Err(ConfigError::new(
                "secret",
                "(hidden)",
                format!(
                    "is {} bytes long; HS256 needs at least 32",
                    secret.expose().len()
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// One table of the `keys` list.
#[allow(clippy::too_many_lines)] // one block per field
fn key_config(index: usize, item: &toml::Value) -> Result<KeyConfig, ConfigError> {
    let name = format!("keys[{index}]");
    let bad = |field: &str, reason: &str| {
        ConfigError::new(&format!("{name}.{field}"), "", reason.to_owned())
    };
    let toml::Value::Table(table) = item else {
        return Err(ConfigError::new(
            &name,
            &item.to_string(),
            "must be a table",
        ));
    };
    let text = |field: &str| -> Result<Option<String>, ConfigError> {
        match table.get(field) {
            None => Ok(None),
            Some(toml::Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(bad(field, "expected a string")),
        }
    };
    let read = |field: &str| -> Result<Option<Vec<u8>>, ConfigError> {
        text(field)?
            .map(|path| {
                std::fs::read(&path).map_err(|e| {
                    ConfigError::new(
                        &format!("{name}.{field}"),
                        &path,
                        format!("cannot read: {e}"),
                    )
                })
            })
            .transpose()
    };
    for field in table.keys() {
        const FIELDS: &[&str] = &[
            "kid",
            "algorithm",
            "secret",
            "key",
            "key_file",
            "public_key",
            "public_key_file",
            "jwk",
            "signing",
            "verify_until",
        ];
        if !FIELDS.contains(&field.as_str()) {
            return Err(bad(field, "unknown field"));
        }
    }
    let algorithm = text("algorithm")?
        .ok_or_else(|| bad("algorithm", "is required"))
        .and_then(|text| {
            Algorithm::parse(&text)
                .ok_or_else(|| bad("algorithm", "expected HS256, EdDSA, ES256 or RS256"))
        })?;
    let mut materials = Vec::new();
    if let Some(secret) = text("secret")? {
        materials.push(KeyMaterial::Secret(Secret::new(secret.into_bytes())));
    }
    if let Some(pem) = text("key")? {
        materials.push(KeyMaterial::PrivatePem(Secret::new(pem.into_bytes())));
    }
    if let Some(pem) = read("key_file")? {
        materials.push(KeyMaterial::PrivatePem(Secret::new(pem)));
    }
    if let Some(pem) = text("public_key")? {
        materials.push(KeyMaterial::PublicPem(pem));
    }
    if let Some(pem) = read("public_key_file")? {
        materials.push(KeyMaterial::PublicPem(
            String::from_utf8(pem).map_err(|_| bad("public_key_file", "is not PEM text"))?,
        ));
    }
    match table.get("jwk") {
        None => {}
        Some(toml::Value::String(json)) => materials.push(KeyMaterial::Jwk(json.clone())),
        Some(value @ toml::Value::Table(_)) => {
            let json = serde_json::to_string(value).map_err(|e| bad("jwk", &e.to_string()))?;
            materials.push(KeyMaterial::Jwk(json));
        }
        Some(_) => return Err(bad("jwk", "expected a JWK as a table or a JSON string")),
    }
    let material = match materials.len() {
        1 => materials.remove(0),
        0 => {
            return Err(bad(
                "key",
                "give one of secret, key, key_file, public_key, public_key_file or jwk",
            ))
        }
        _ => {
            return Err(bad(
                "key",
                "give only one of secret, key, key_file, public_key, public_key_file and jwk",
            ))
        }
    };
    let signing = match table.get("signing") {
        None => false,
        Some(toml::Value::Boolean(signing)) => *signing,
        Some(_) => return Err(bad("signing", "expected true or false")),
    };
    let verify_until = match table.get("verify_until") {
        None => None,
        Some(toml::Value::Integer(at)) => Some(*at),
        Some(toml::Value::String(text)) => Some(
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map_err(|_| bad("verify_until", "expected an RFC 3339 time or Unix seconds"))?
                .unix_timestamp(),
        ),
        Some(toml::Value::Datetime(at)) => Some(
            time::OffsetDateTime::parse(
                &at.to_string(),
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|_| bad("verify_until", "expected a time with its offset"))?
            .unix_timestamp(),
        ),
        Some(_) => {
            return Err(bad(
                "verify_until",
                "expected an RFC 3339 time or Unix seconds",
            ))
        }
    };
    Ok(KeyConfig {
        kid: text("kid")?,
        algorithm,
        material,
        signing,
        verify_until,
    })
}

fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let number: usize = number
        .parse()
        .map_err(|_| format!("expected a size such as `64KiB`, got `{text}`"))?;
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "KB" | "k" => 1024,
        "MiB" | "MB" | "M" => 1024 * 1024,
        other => return Err(format!("unknown size unit `{other}` (use B, KiB or MiB)")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: (&str, &str) = ("TOKENGATE_SECRET", "0123456789abcdef0123456789abcdef");

    fn load(
        toml: Option<&str>,
        profile: &str,
        env: &[(&str, &str)],
    ) -> Result<Config, ConfigError> {
        let mut pairs = vec![SECRET];
        pairs.extend_from_slice(env);
        Config::default().with_sources(toml, profile, pairs)
    }

    #[test]
    fn defaults_are_the_seed_lifetimes() {
        let config = load(None, "default", &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.access_ttl, Duration::from_secs(1200));
        assert_eq!(config.refresh_ttl, Duration::from_secs(86_400));
        assert_eq!(config.max_refresh_ttl(), Duration::from_secs(86_400));
        assert_eq!(config.body_limit, 65_536);
        assert_eq!(config.prefix, "/api/rest");
    }

    #[test]
    fn environment_overrides_the_profile_which_overrides_default() {
        let toml = "[default]\naccess_ttl = \"10m\"\nleeway = \"5s\"\n[staging]\naccess_ttl = \"5m\"\nleeway = \"1s\"\n";
        let config = load(Some(toml), "staging", &[("TOKENGATE_ACCESS_TTL", "2s")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.access_ttl, Duration::from_secs(2));
        assert_eq!(config.leeway, Duration::from_secs(1));
    }

    #[test]
    fn wrong_value_names_key_and_value() {
        let error = load(None, "default", &[("TOKENGATE_ACCESS_TTL", "soon")]).unwrap_err();
        assert_eq!(error.key, "access_ttl");
        assert_eq!(error.value, "soon");
        assert!(error.to_string().contains("access_ttl"));
    }

    #[test]
    fn short_secret_is_refused_without_repeating_it() {
        let error = Config::default()
            .with_sources(None, "default", [("TOKENGATE_SECRET", "short-secret")])
            .unwrap_err();
        assert_eq!(error.key, "secret");
        assert!(!error.to_string().contains("short-secret"));
    }

    #[test]
    fn unknown_toml_key_and_missing_profile_are_refused() {
        assert_eq!(
            load(Some("[default]\nacess_ttl = \"1m\"\n"), "default", &[])
                .unwrap_err()
                .key,
            "acess_ttl"
        );
        assert_eq!(
            load(Some("[default]\n"), "prod", &[]).unwrap_err().key,
            "TOKENGATE_PROFILE"
        );
    }

    #[test]
    fn max_refresh_shorter_than_refresh_is_inconsistent() {
        let error = load(None, "default", &[("TOKENGATE_MAX_REFRESH_TTL", "1h")]).unwrap_err();
        assert_eq!(error.key, "max_refresh_ttl");
    }

    #[test]
    fn sizes_lists_and_booleans_parse() {
        let config = load(
            None,
            "default",
            &[
                ("TOKENGATE_BODY_LIMIT", "1MiB"),
                ("TOKENGATE_PUBLIC_PATHS", "/health, /static/*"),
                ("TOKENGATE_ALLOW_UNLIMITED", "true"),
                ("TOKENGATE_MODE", "optional"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.body_limit, 1024 * 1024);
        assert_eq!(config.public_paths, vec!["/health", "/static/*"]);
        assert!(config.allow_unlimited);
        assert_eq!(config.mode, GuardMode::Optional);
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = Secret::new(b"super-secret-value".to_vec());
        assert_eq!(format!("{secret:?}"), "Secret(REDACTED)");
    }
}
