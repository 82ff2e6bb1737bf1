//! Refusing an unsafe or inconsistent configuration at start-up, naming the key.

use std::time::Duration;

use super::error::ConfigError;
use super::{Config, SameSite};
use crate::duration::format_duration;
use crate::jws::Algorithm;

/// A duration that must not be zero.
fn positive(key: &str, value: Duration) -> Result<(), ConfigError> {
    if value.is_zero() {
        Err(ConfigError::new(
            key,
            &format_duration(value),
            "must be longer than zero",
        ))
    } else {
        Ok(())
    }
}

/// The longest `reuse_grace` start-up accepts.
const MAX_REUSE_GRACE: Duration = Duration::from_secs(300);

/// The longest `revocation_cache_ttl` start-up accepts.
const MAX_REVOCATION_CACHE_TTL: Duration = Duration::from_secs(60);

impl Config {
    /// The other issuers: each once, never this gate's own, at an https address (http only on
    /// this machine), with an audience and public-key algorithms.
    /// `redis_wait_replicas` only where there are Redis replicas to wait for, and a wait that
    /// neither is nothing nor holds a sign-out longer than a client would wait for it.
    fn validate_redis_wait(&self) -> Result<(), ConfigError> {
        let store = &self.store;
        if store.wait_replicas == 0 {
            return Ok(());
        }
        if !super::REDIS_SCHEMES
            .iter()
            .any(|scheme| store.url.starts_with(scheme))
        {
            return Err(ConfigError::new(
                "redis_wait_replicas",
                &store.wait_replicas.to_string(),
                "only a Redis store (`store = \"redis...\"`) has replicas to wait for",
            ));
        }
        positive("redis_wait_timeout", store.wait_timeout)?;
        let most = Duration::from_secs(10);
        if store.wait_timeout > most {
            return Err(ConfigError::new(
                "redis_wait_timeout",
                &format_duration(store.wait_timeout),
                format!(
                    "must be at most {}: a sign-out that waits longer is worse than a 503",
                    format_duration(most)
                ),
            ));
        }
        Ok(())
    }

    fn validate_federation(&self) -> Result<(), ConfigError> {
        let federation = &self.federation;
        positive("issuer_keys_interval", federation.keys_interval)?;
        positive("issuer_keys_wait", federation.keys_wait)?;
        for (key, value, most) in [
            (
                "issuer_keys_interval",
                federation.keys_interval,
                Duration::from_secs(3600),
            ),
            (
                "issuer_keys_max_age",
                federation.keys_max_age,
                Duration::from_secs(86_400),
            ),
            (
                "issuer_keys_wait",
                federation.keys_wait,
                Duration::from_secs(30),
            ),
        ] {
            if value > most {
                return Err(ConfigError::new(
                    key,
                    &format_duration(value),
                    format!("must be at most {}", format_duration(most)),
                ));
            }
        }
        if federation.keys_max_age < federation.keys_interval {
            return Err(ConfigError::new(
                "issuer_keys_max_age",
                &format_duration(federation.keys_max_age),
                "must be at least issuer_keys_interval",
            ));
        }
        for (at, issuer) in federation.issuers.iter().enumerate() {
            let refuse = |what: &str, value: &str, why: &str| {
                ConfigError::new(&format!("issuers[{at}].{what}"), value, why)
            };
            let url = issuer.issuer.as_str();
            // No user, query or fragment; https, or http on this machine only.
            web_url(url).map_err(|why| refuse("issuer", &super::redacted_url(url), why))?;
            if *url == *self.tokens.issuer {
                return Err(refuse("issuer", url, "is this gate's own issuer"));
            }
            if federation.issuers[..at]
                .iter()
                .any(|seen| seen.issuer == issuer.issuer)
            {
                return Err(refuse("issuer", url, "is listed twice"));
            }
            if issuer.audience.is_empty() || issuer.audience.iter().any(String::is_empty) {
                return Err(refuse(
                    "audience",
                    &issuer.audience.join(","),
                    "must name at least one audience",
                ));
            }
            if issuer.algorithms.is_empty() {
                return Err(refuse("algorithms", "", "must name at least one algorithm"));
            }
            for name in &issuer.algorithms {
                let allowed = name
                    .parse::<jsonwebtoken::Algorithm>()
                    .is_ok_and(|alg| super::FOREIGN_ALGORITHMS.contains(&alg));
                if !allowed {
                    return Err(refuse(
                        "algorithms",
                        name,
                        "must be public-key algorithms: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA",
                    ));
                }
            }
            let claim_path = |path: &str| !path.is_empty() && !path.split('.').any(str::is_empty);
            if !claim_path(&issuer.scopes_claim) {
                return Err(refuse(
                    "scopes_claim",
                    &issuer.scopes_claim,
                    "must name a claim",
                ));
            }
            if let Some(roles) = &issuer.roles_claim {
                if !claim_path(roles) {
                    return Err(refuse("roles_claim", roles, "must name a claim"));
                }
            }
        }
        self.validate_providers()
    }

    /// The OpenID providers: each name once and fit for a path, an https issuer (http only on
    /// this machine), a client id, one way to the secret at most, a callback under the
    /// prefix; and the origins sign-ins may return to, and their lifetimes.
    fn validate_providers(&self) -> Result<(), ConfigError> {
        let federation = &self.federation;
        positive("oidc_state_ttl", federation.state_ttl)?;
        positive("oidc_code_ttl", federation.code_ttl)?;
        for (key, value, most) in [
            (
                "oidc_state_ttl",
                federation.state_ttl,
                Duration::from_secs(3600),
            ),
            (
                "oidc_code_ttl",
                federation.code_ttl,
                Duration::from_secs(600),
            ),
        ] {
            if value > most {
                return Err(ConfigError::new(
                    key,
                    &format_duration(value),
                    format!("must be at most {}", format_duration(most)),
                ));
            }
        }
        for origin in &federation.return_origins {
            return_origin(origin).map_err(|why| {
                ConfigError::new("oidc_return_origins", &super::redacted_url(origin), why)
            })?;
        }
        for (at, provider) in federation.providers.iter().enumerate() {
            if federation.providers[..at]
                .iter()
                .any(|seen| seen.name == provider.name)
            {
                return Err(ConfigError::new(
                    &format!("providers[{at}].name"),
                    &provider.name,
                    "is listed twice",
                ));
            }
            self.validate_provider(at, provider)?;
        }
        Ok(())
    }

    /// One provider: a name fit for a path, an https issuer (http only on this machine) that
    /// is not this gate's, a client id, one way to the secret at most, a callback under the
    /// prefix, claims it may set.
    fn validate_provider(
        &self,
        at: usize,
        provider: &super::ProviderSettings,
    ) -> Result<(), ConfigError> {
        {
            let refuse = |what: &str, value: &str, why: &str| {
                ConfigError::new(&format!("providers[{at}].{what}"), value, why)
            };
            let name = provider.name.as_str();
            let fit = !name.is_empty()
                && name.len() <= 32
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !fit {
                return Err(refuse(
                    "name",
                    name,
                    "must be 1 to 32 lower-case letters, digits, `-` or `_`",
                ));
            }
            let url = provider.issuer.as_str();
            web_url(url).map_err(|why| refuse("issuer", &super::redacted_url(url), why))?;
            if *url == *self.tokens.issuer {
                return Err(refuse("issuer", url, "is this gate's own issuer"));
            }
            if provider.client_id.is_empty() {
                return Err(refuse(
                    "client_id",
                    "",
                    "must name this application's client",
                ));
            }
            if provider.client_secret.is_some() && provider.client_secret_file.is_some() {
                return Err(refuse(
                    "client_secret_file",
                    "(hidden)",
                    "give client_secret or client_secret_file, not both",
                ));
            }
            if provider.scopes.iter().any(|scope| {
                scope.is_empty() || scope.chars().any(|c| c.is_whitespace() || c.is_control())
            }) {
                return Err(refuse(
                    "scopes",
                    &provider.scopes.join(","),
                    "a scope is one word",
                ));
            }
            let callback = format!("{}/oidc/{name}/callback", self.endpoints.prefix);
            let redirect = provider.redirect_uri.as_str();
            web_url(redirect)
                .map_err(|why| refuse("redirect_uri", &super::redacted_url(redirect), why))?;
            let path = redirect
                .split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]));
            if path != Some(callback.as_str()) {
                return Err(refuse(
                    "redirect_uri",
                    redirect,
                    &format!("its path must be {callback}, where the gate answers the callback"),
                ));
            }
            for (local, claim) in &provider.claims {
                let path = |path: &str| !path.is_empty() && !path.split('.').any(str::is_empty);
                if local.is_empty() || !path(claim) {
                    return Err(refuse(
                        &format!("claims.{local}"),
                        claim,
                        "must name a claim",
                    ));
                }
                if super::RESERVED_CLAIMS.contains(&local.as_str()) {
                    return Err(refuse(
                        &format!("claims.{local}"),
                        claim,
                        "is a claim the gate writes itself",
                    ));
                }
            }
            if !provider.trust_mfa && !provider.mfa_acr.is_empty() {
                return Err(refuse(
                    "mfa_acr",
                    &provider.mfa_acr.join(","),
                    "needs trust_mfa",
                ));
            }
        }
        Ok(())
    }

    /// The second-factor settings: keys long enough, limits above zero, paths absolute.
    fn validate_mfa(&self) -> Result<(), ConfigError> {
        let mfa = &self.mfa;
        let short = |key| ConfigError::new(key, "(hidden)", "must be at least 32 bytes");
        if mfa.key.as_ref().is_some_and(|key| key.expose().len() < 32) {
            return Err(short("mfa_key"));
        }
        if mfa.previous_keys.iter().any(|key| key.expose().len() < 32) {
            return Err(short("mfa_previous_keys"));
        }
        // `mfa_previous_keys` is a list split at commas, trimmed: a key that cannot be moved
        // there as it is would stop opening what it sealed.
        let unlistable = |key: &crate::jws::Secret| {
            let bytes = key.expose();
            bytes.contains(&b',')
                || bytes.first().is_some_and(u8::is_ascii_whitespace)
                || bytes.last().is_some_and(u8::is_ascii_whitespace)
        };
        if mfa.key.as_ref().is_some_and(unlistable) {
            return Err(ConfigError::new(
                "mfa_key",
                "(hidden)",
                "must not contain a comma or begin or end with a space (it must fit in `mfa_previous_keys` once replaced)",
            ));
        }
        if mfa.pending_ttl.is_zero() {
            return Err(ConfigError::new(
                "mfa_pending_ttl",
                "0s",
                "must be longer than zero",
            ));
        }
        for (key, value) in [
            ("mfa_max_factors", mfa.max_factors),
            ("mfa_attempts", mfa.attempts),
        ] {
            if value == 0 {
                return Err(ConfigError::new(key, "0", "must be at least one"));
            }
        }
        if let Some(path) = mfa.aal1_paths.iter().find(|path| !path.starts_with('/')) {
            return Err(ConfigError::new(
                "mfa_aal1_paths",
                path,
                "each path must start with `/`",
            ));
        }
        self.validate_passkeys()
    }

    /// Passkeys: an rp id that is a domain, with `mfa_key`, and origins on it.
    fn validate_passkeys(&self) -> Result<(), ConfigError> {
        let mfa = &self.mfa;
        let Some(rp_id) = &mfa.passkey_rp_id else {
            return Ok(());
        };
        let domain = |host: &str| {
            !host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                })
                && host.parse::<std::net::IpAddr>().is_err()
        };
        if !domain(rp_id) {
            return Err(ConfigError::new(
                "passkey_rp_id",
                rp_id,
                "must be a domain in lower case (`example.com`, `localhost`), never an address",
            ));
        }
        if mfa.key.is_none() {
            return Err(ConfigError::new(
                "passkey_rp_id",
                rp_id,
                "passkeys are second factors: set `mfa_key` too",
            ));
        }
        if mfa.passkey_origins.is_empty() {
            return Err(ConfigError::new(
                "passkey_origins",
                "",
                "name the origins of the pages that use passkeys (`https://example.com`)",
            ));
        }
        for origin in &mfa.passkey_origins {
            if let Err(reason) = passkey_origin(origin, rp_id) {
                return Err(ConfigError::new("passkey_origins", origin, reason));
            }
        }
        if mfa.passkey_challenge_ttl.is_zero()
            || mfa.passkey_challenge_ttl > Duration::from_secs(600)
        {
            return Err(ConfigError::new(
                "passkey_challenge_ttl",
                &format_duration(mfa.passkey_challenge_ttl),
                "must be longer than zero and at most 10m",
            ));
        }
        Ok(())
    }

    /// `metrics_path` is a plain path from the root, not under the endpoints' prefix, and
    /// `metrics_scope` one scope token.
    fn validate_metrics(&self) -> Result<(), ConfigError> {
        if let Some(path) = &self.endpoints.metrics_path {
            let plain = path.starts_with('/')
                && path.len() > 1
                && !path.ends_with('/')
                && !path.contains("//")
                && !path
                    .split('/')
                    .any(|segment| segment == "." || segment == "..")
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b));
            if !plain {
                return Err(ConfigError::new(
                    "metrics_path",
                    path,
                    "must be a plain path from the root, such as `/metrics` (letters, digits, `-._~`, no `.` or `..` segment, no trailing `/`)",
                ));
            }
            if path == &self.endpoints.prefix
                || path.starts_with(&format!("{}/", self.endpoints.prefix))
            {
                return Err(ConfigError::new(
                    "metrics_path",
                    path,
                    "must not be under the endpoints' prefix",
                ));
            }
            if !cfg!(feature = "prometheus") {
                return Err(ConfigError::new(
                    "metrics_path",
                    path,
                    "serving metrics needs the `prometheus` feature of tokengate",
                ));
            }
        }
        if let Some(scope) = &self.endpoints.metrics_scope {
            if scope.is_empty()
                || !scope
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
            {
                return Err(ConfigError::new(
                    "metrics_scope",
                    scope,
                    "must be one scope token (no spaces, quotes or backslashes)",
                ));
            }
        }
        Ok(())
    }

    /// Refuses an unsafe or inconsistent configuration, naming the key.
    #[allow(clippy::too_many_lines)] // one check per rule, in the order of the key table
    pub fn validate(&self) -> Result<(), ConfigError> {
        positive("access_ttl", self.tokens.access_ttl)?;
        positive("refresh_ttl", self.tokens.refresh_ttl)?;
        positive("throttle_window", self.throttle.window)?;
        positive("body_timeout", self.endpoints.body_timeout)?;
        positive("store_timeout", self.store.timeout)?;
        self.validate_redis_wait()?;
        if self.throttle.hash_queue_depth == 0 {
            return Err(ConfigError::new(
                "hash_queue_depth",
                "0",
                "must be at least one: with none, every sign-in would be refused",
            ));
        }
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
        if self.tokens.touch_interval > Duration::from_secs(3600) {
            return Err(ConfigError::new(
                "session_touch_interval",
                &format_duration(self.tokens.touch_interval),
                "must be at most 1h: it is how stale the last use of a session may be",
            ));
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
        if self.endpoints.discovery {
            web_url(&self.tokens.issuer).map_err(|why| {
                // A URL refused for its user part may hold a password: never repeated.
                ConfigError::new(
                    "issuer",
                    &shown(&self.tokens.issuer),
                    format!("must be a URL when discovery is on (verifiers fetch the discovery document under it): {why}"),
                )
            })?;
        }
        if let Some(url) = &self.endpoints.external_url {
            web_url(url).map_err(|why| ConfigError::new("external_url", &shown(url), why))?;
        }
        self.validate_metrics()?;
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
        self.validate_mfa()?;
        self.validate_federation()?;
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

/// Checks that `url` is a URL other services can be pointed to: `https://host[:port][/path]`,
/// or `http://` to a loopback host (development), with no user, query or fragment.
/// A refused issuer or external URL as an error repeats it: without any user part (a token
/// may stand there, with or without a password), query or fragment.
fn shown(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://REDACTED@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// An origin a provider sign-in may return to: `scheme://host[:port]` with nothing after it,
/// https (http only on this machine), or an app's own scheme (`com.example.app:`).
fn return_origin(origin: &str) -> Result<(), &'static str> {
    let Ok(url) = url::Url::parse(origin) else {
        return Err(
            "expected an origin: https://host[:port], or an app's scheme such as com.example.app:",
        );
    };
    match url.scheme() {
        "https" | "http" => {
            web_url(origin)?;
            if url.path() != "/" || origin.ends_with('/') || url.query().is_some() {
                return Err("an origin has no path");
            }
            Ok(())
        }
        // An app's scheme: reverse-DNS with a dot (RFC 8252 §7.1), nothing after the colon.
        scheme if scheme.contains('.') && origin == format!("{scheme}:") => Ok(()),
        _ => Err("expected an origin: https://host[:port], or an app's scheme with a dot, such as com.example.app:"),
    }
}

fn web_url(url: &str) -> Result<(), &'static str> {
    let (secure, rest) = match url.split_once("://") {
        Some(("https", rest)) => (true, rest),
        Some(("http", rest)) => (false, rest),
        _ => return Err("expected https://host[:port][/path], in lower case"),
    };
    if url.contains(['?', '#']) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a query, a fragment or white space has no place in it");
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err("no user or password has a place in it");
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    // Labels of lower-case letters, digits and inner hyphens, one dot apart, none empty (so no
    // trailing dot: a verifier compares the issuer as text).
    let label = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let literal = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .is_some_and(|inner| inner.parse::<std::net::Ipv6Addr>().is_ok());
    if !(literal || host.split('.').all(label)) {
        return Err("expected a host name in lower case, or an address in brackets for IPv6");
    }
    // Digits only, as written once: `+443` and `0443` read as 443 here and as nothing elsewhere.
    let port_ok = |port: &str| {
        port.bytes().all(|b| b.is_ascii_digit())
            && !port.starts_with('0')
            && port.parse::<u16>().is_ok_and(|port| port > 0)
    };
    if port.is_some_and(|port| !port_ok(port)) {
        return Err("the port must be a number from 1 to 65535, digits only");
    }
    // The path becomes a route of axum's and actix-web's: plain characters only, so that no
    // `{`, `*`, `%` or a segment's leading `:` reads as a pattern or an escape there, and no
    // `.`/`..` segment that clients remove before they send.
    let path = &rest[authority.len()..];
    let plain = |c: char| c.is_ascii_alphanumeric() || "/-._~!$&'()+,;=:@".contains(c);
    let segments_plain = path
        .split('/')
        .skip(1)
        .all(|segment| !matches!(segment, "." | "..") && !segment.starts_with(':'));
    if !path.chars().all(plain) || path.contains("//") || !segments_plain {
        return Err("its path may hold letters, digits and -._~!$&'()+,;=:@ only, one / apart, no segment `.`, `..` or starting with `:`");
    }
    if !secure && !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
        return Err("https is required but for localhost");
    }
    Ok(())
}

/// Whether `origin` (lower case, no trailing slash) may use passkeys of `rp_id`: `https://`
/// on the rp id or a subdomain of it, or `http://` on `localhost`, with an optional port and
/// nothing after.
fn passkey_origin(origin: &str, rp_id: &str) -> Result<(), &'static str> {
    let (scheme, rest) = origin
        .split_once("://")
        .ok_or("must be an origin, `https://host[:port]`")?;
    let host = match rest.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        Some(_) => return Err("must be an origin, `https://host[:port]`"),
        None => rest,
    };
    if host.is_empty() || host.contains(['/', '?', '#', '@']) {
        return Err("must be an origin, `https://host[:port]`, with nothing after the host");
    }
    if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
        return Err(
            "does not match `passkey_rp_id`: it must be the rp id or one of its subdomains",
        );
    }
    match scheme {
        "https" => Ok(()),
        "http" if host == "localhost" || host.ends_with(".localhost") => Ok(()),
        _ => Err("must be `https://` (`http://` only on localhost)"),
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, crate::ConfigError> {
        let mut env = vec![("TOKENGATE_SECRET", "a-test-only-secret-of-32-bytes-or-more")];
        env.extend_from_slice(pairs);
        Config::from_sources(None, "default", env)
    }

    #[test]
    fn discovery_needs_an_issuer_url_and_external_urls_are_checked() {
        let on = ("TOKENGATE_DISCOVERY", "true");
        let refused = load(&[on]).unwrap_err();
        assert_eq!(refused.key, "issuer", "{refused}");
        assert!(refused.to_string().contains("discovery"), "{refused}");
        for issuer in [
            "https://auth.example.org",
            "https://auth.example.org:8443/tenant",
            "http://localhost:3000",
            "http://127.0.0.1:8080/x",
            "http://[::1]:8080",
            "https://auth.example.org/a:b/t",
            "https://[2001:db8::1]:8443",
        ] {
            assert!(
                load(&[on, ("TOKENGATE_ISSUER", issuer)]).is_ok(),
                "{issuer}"
            );
        }
        for issuer in [
            "tokengate",
            "http://auth.example.org",
            "http://localhost.example.org",
            "https://",
            "https://user@auth.example.org",
            "https://auth.example.org/?x=1",
            "https://auth.example.org/#x",
            "https://auth.example.org/a b",
            "https://auth.example.org/{tenant}",
            "https://auth.example.org/t/*",
            "https://auth.example.org/t%2f",
            "https://auth.example.org//t",
            "https://auth.example.org/:tenant",
            "https://auth.example.org/a/../b",
            "https://auth.example.org\\evil.com",
            "https://:443",
            "https://auth.example.org:abc",
            "https://auth.example.org:99999",
            "https://auth.example.org:0",
            "https://[::1",
            "https://a\"b",
            "https://Auth.example.org",
            "https://auth.example.org\u{200b}",
            "https://аuth.example.org",
            "ftp://auth.example.org",
            "https://auth.example.org:+443",
            "https://auth.example.org:0443",
            "http://[::1]:+80",
            "https://[:]",
            "https://[.]",
            "https://[1]",
            "https://...",
            "https://-",
            "https://auth-.example.org",
            "https://auth.example.org.",
            "https://ghp_token@auth.example.org",
        ] {
            let refused = load(&[on, ("TOKENGATE_ISSUER", issuer)]).unwrap_err();
            assert_eq!(refused.key, "issuer", "{issuer}");
        }
        // Without discovery, the issuer is any text, as before.
        assert!(load(&[("TOKENGATE_ISSUER", "tokengate")]).is_ok());
        let external = load(&[("TOKENGATE_EXTERNAL_URL", "https://api.example.org/app/")]).unwrap();
        assert_eq!(
            external.endpoints.external_url.as_deref(),
            Some("https://api.example.org/app")
        );
        let refused = load(&[("TOKENGATE_EXTERNAL_URL", "api.example.org")]).unwrap_err();
        assert_eq!(refused.key, "external_url");
        for key in ["TOKENGATE_EXTERNAL_URL", "TOKENGATE_ISSUER"] {
            for url in [
                "https://ada:hunter2-secret@auth.example.org",
                "https://hunter2-token@auth.example.org/t",
                "https://auth.example.org/t?access_token=hunter2",
                "https://auth.example.org/t#hunter2",
            ] {
                let refused = load(&[on, (key, url)]).unwrap_err();
                let shown = format!("{refused} {refused:?}");
                assert!(
                    !shown.contains("hunter2"),
                    "a secret in a start-up error: {shown}"
                );
            }
        }
        // A user part is named as what is wrong.
        let refused =
            load(&[on, ("TOKENGATE_ISSUER", "https://ada:pw@auth.example.org")]).unwrap_err();
        assert!(refused.to_string().contains("no user"), "{refused}");
    }

    #[test]
    fn passkeys_need_a_domain_the_second_factor_key_and_origins_on_it() {
        let key = (
            "TOKENGATE_MFA_KEY",
            "a-test-only-mfa-key-of-32-bytes-or-more",
        );
        let rp = ("TOKENGATE_PASSKEY_RP_ID", "example.com");
        let origins = |list| ("TOKENGATE_PASSKEY_ORIGINS", list);
        let refused = |pairs: &[(&str, &str)]| load(pairs).unwrap_err().key;
        assert_eq!(
            refused(&[rp, origins("https://example.com")]),
            "passkey_rp_id"
        );
        assert_eq!(refused(&[key, rp]), "passkey_origins");
        for origin in [
            "https://evil.example",
            "https://notexample.com",
            "http://example.com",
            "https://example.com/path",
            "example.com",
            "https://example.com:x",
        ] {
            assert_eq!(
                refused(&[key, rp, origins(origin)]),
                "passkey_origins",
                "{origin}"
            );
        }
        for rp_id in ["127.0.0.1", "Example.com", "example..com", ""] {
            let rp = ("TOKENGATE_PASSKEY_RP_ID", rp_id);
            let loaded = load(&[key, rp, origins("https://example.com")]);
            if rp_id.is_empty() {
                assert!(loaded
                    .expect("none is no passkeys")
                    .mfa
                    .passkey_rp_id
                    .is_none());
            } else {
                assert_eq!(loaded.unwrap_err().key, "passkey_rp_id", "{rp_id}");
            }
        }
        let config = load(&[
            key,
            rp,
            origins("https://example.com, https://app.example.com:8443/"),
        ])
        .expect("origins on the rp id");
        assert_eq!(
            config.mfa.passkey_origins,
            ["https://example.com", "https://app.example.com:8443"]
        );
        let local = load(&[
            key,
            ("TOKENGATE_PASSKEY_RP_ID", "localhost"),
            origins("http://localhost:8080"),
        ]);
        assert!(local.is_ok(), "{local:?}");
        let long = ("TOKENGATE_PASSKEY_CHALLENGE_TTL", "11m");
        assert_eq!(
            refused(&[key, rp, origins("https://example.com"), long]),
            "passkey_challenge_ttl"
        );
    }

    #[test]
    fn the_metrics_path_is_a_plain_path_of_its_own_and_its_scope_one_token() {
        let with = |pairs: &[(&str, &str)]| {
            let mut all = vec![("TOKENGATE_SECRET", "a-test-only-secret-of-32-bytes-or-more")];
            all.extend_from_slice(pairs);
            Config::from_sources(None, "default", all)
        };
        for path in ["/metrics", "/ops/metrics", "/_m.txt"] {
            let config = with(&[("TOKENGATE_METRICS_PATH", path)]);
            assert!(config.is_ok() == cfg!(feature = "prometheus"), "{path}");
        }
        for path in [
            "metrics",
            "/",
            "/metrics/",
            "//metrics",
            "/a/../metrics",
            "/./metrics",
            "/metrics?x",
            "/met%72ics",
            "/api/rest/metrics",
            "/api/rest",
        ] {
            let refused = with(&[("TOKENGATE_METRICS_PATH", path)]).unwrap_err();
            assert_eq!(refused.key, "metrics_path", "{path}");
        }
        for scope in ["two words", "quo\"te", "back\\slash"] {
            let refused = with(&[("TOKENGATE_METRICS_SCOPE", scope)]).unwrap_err();
            assert_eq!(refused.key, "metrics_scope", "{scope}");
        }
    }
}
