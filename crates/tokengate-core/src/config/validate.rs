//! Refusing an unsafe or inconsistent configuration at start-up, naming the key.

use std::time::Duration;

use super::error::ConfigError;
use super::{Config, SameSite};
use crate::duration::format_duration;
use crate::jws::Algorithm;

/// The longest `reuse_grace` start-up accepts.
const MAX_REUSE_GRACE: Duration = Duration::from_secs(300);

/// The longest `revocation_cache_ttl` start-up accepts.
const MAX_REVOCATION_CACHE_TTL: Duration = Duration::from_secs(60);

impl Config {
    /// Refuses an unsafe or inconsistent configuration, naming the key.
    #[allow(clippy::too_many_lines)] // one check per rule, in the order of the key table
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
        positive("access_ttl", self.tokens.access_ttl)?;
        positive("refresh_ttl", self.tokens.refresh_ttl)?;
        positive("throttle_window", self.throttle.window)?;
        positive("body_timeout", self.endpoints.body_timeout)?;
        positive("store_timeout", self.store.timeout)?;
        if self.store.pool_size == 0 {
            return Err(ConfigError::new(
                "store_pool_size",
                "0",
                "must be at least one connection",
            ));
        }
        if let Some(idle) = self.tokens.session_idle {
            if idle <= self.tokens.access_ttl {
                return Err(ConfigError::new(
                    "session_idle",
                    &format_duration(idle),
                    format!(
                        "must be longer than access_ttl ({}): a client refreshes once its access token ends",
                        format_duration(self.tokens.access_ttl)
                    ),
                ));
            }
        }
        if self.tokens.max_sessions == Some(0) {
            return Err(ConfigError::new(
                "max_sessions",
                "0",
                "must be at least one session (or `none` for no limit)",
            ));
        }
        if self.tokens.max_refresh_ttl() < self.tokens.refresh_ttl {
            return Err(ConfigError::new(
                "max_refresh_ttl",
                &format_duration(self.tokens.max_refresh_ttl()),
                format!(
                    "is shorter than refresh_ttl ({})",
                    format_duration(self.tokens.refresh_ttl)
                ),
            ));
        }
        if self.tokens.leeway > Duration::from_secs(300) {
            return Err(ConfigError::new(
                "leeway",
                &format_duration(self.tokens.leeway),
                "is more than 5m: expired tokens would be accepted for too long",
            ));
        }
        // A long grace quietly turns reuse detection off (a stolen token refreshed within it
        // passes as a concurrent refresh); a long cache makes strict revocation lax.
        for (key, value, most, why) in [
            (
                "reuse_grace",
                self.tokens.reuse_grace,
                MAX_REUSE_GRACE,
                "a replaced refresh token would pass as current for too long, and reuse go unseen",
            ),
            (
                "revocation_cache_ttl",
                self.guard.revocation_cache_ttl,
                MAX_REVOCATION_CACHE_TTL,
                "a strict guard would trust an ended session for too long",
            ),
        ] {
            if value > most {
                return Err(ConfigError::new(
                    key,
                    &format_duration(value),
                    format!("is more than {}: {why}", format_duration(most)),
                ));
            }
        }
        if !self.endpoints.prefix.starts_with('/')
            || self.endpoints.prefix.contains(['?', '#', '*'])
        {
            return Err(ConfigError::new(
                "prefix",
                &self.endpoints.prefix,
                "must be a path starting with `/`",
            ));
        }
        if self.endpoints.body_limit == 0 {
            return Err(ConfigError::new(
                "body_limit",
                "0",
                "must be at least one byte",
            ));
        }
        for (key, paths) in [
            ("public_paths", &self.guard.public_paths),
            ("websocket_paths", &self.guard.websocket_paths),
        ] {
            if let Some(path) = paths.iter().find(|path| !path.starts_with('/')) {
                return Err(ConfigError::new(key, path, "each path must start with `/`"));
            }
        }
        let ticket_ttl = self.endpoints.ticket_ttl.as_secs();
        if !(1..=300).contains(&ticket_ttl) {
            return Err(ConfigError::new(
                "ticket_ttl",
                &format!("{ticket_ttl}s"),
                "must be between 1s and 5m: a ticket only bridges a sign-in and its upgrade",
            ));
        }
        if self.cookies.same_site == SameSite::None && !self.cookies.secure {
            return Err(ConfigError::new(
                "cookie_same_site",
                "none",
                "needs cookie_secure = true: browsers drop SameSite=None cookies that are not Secure",
            ));
        }
        if let Some(origin) = self
            .cookies
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
        if let Some(secret) = &self.cookies.csrf_secret {
            if secret.expose().len() < 32 {
                return Err(ConfigError::new(
                    "csrf_secret",
                    "(hidden)",
                    "must be at least 32 bytes",
                ));
            }
        }
        if !super::store_url_is_known(&self.store.url) {
            return Err(ConfigError::new(
                "store",
                &super::redact::redacted_url(&self.store.url),
                format!("expected {}", super::STORE_SCHEMES),
            ));
        }
        let needs_secret = self.keys.list.is_empty() && self.keys.algorithm == Algorithm::Hs256;
        match &self.keys.secret {
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
