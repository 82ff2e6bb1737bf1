//! The gate: configuration, keys, credentials and stores put together once ([`builder`]),
//! and what every request asks of them — is it an endpoint, does it pass the guard
//! ([`guard`], verified tokens remembered in [`verify_cache`]), is its session still live
//! ([`session_liveness`], live sessions remembered in [`revocation_cache`]).
//!
//! The state is private to this module; the endpoints and the guard read it through the
//! accessors below. [`TokenGate`]'s methods live with what they do:
//!
//! | file | methods |
//! |---|---|
//! | `gate/mod.rs` | the accessors, error answers (`error_response`), the client's address |
//! | `gate/builder.rs` | [`TokenGate::builder`] and [`TokenGateBuilder`] |
//! | `gate/paths.rs` | the endpoint table: [`TokenGate::endpoint`], `endpoint_paths`, `endpoint_routes` |
//! | `gate/guard.rs` | [`TokenGate::route`], [`TokenGate::confirm`], `verify_access` |
//! | `gate/session_liveness.rs` | strict revocation, [`TokenGate::revoke_subject`], `revoke_session`, `list_sessions` |
//! | `endpoints/mod.rs` | [`TokenGate::serve`]: each endpoint in a file of its own |
//! | `openapi/mod.rs` | `openapi`, `describe` (feature `openapi`) |
//!
//! # Example
//!
//! ```
//! use tokengate::credentials::{hash_password, MemoryDirectory};
//! use tokengate::{Config, Endpoint, TokenGate};
//!
//! let config = Config::default().with_secret("an-example-secret-of-at-least-32-bytes");
//! let directory = MemoryDirectory::new().user("ada", &hash_password("pw")?)?;
//! let gate = TokenGate::builder(config).credentials(directory).build()?;
//! assert_eq!(gate.endpoint("/api/rest/signin"), Some(Endpoint::SignIn));
//! assert_eq!(gate.endpoint("/api/rest/me"), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod builder;
mod client_cache;
mod guard;
mod paths;
mod revocation_cache;
mod session_liveness;
mod verify_cache;

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use builder::TokenGateBuilder;
pub(crate) use guard::second_factor;
pub use guard::{Guarded, PendingCheck, Route};
pub use paths::{Endpoint, EndpointRoute, ENDPOINTS};

use crate::audit::AuditEvent;
use crate::config::Config;
use crate::credentials::{
    CheckQueue, Credentials, CredentialsError, Principal, RETRY_AFTER_SECONDS,
};
use crate::http::cookies::CookieJar;
use crate::http::error::{Error, ErrorKind};
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::KeySet;
use crate::store::{FactorStore, SessionStore};
use crate::throttle::AttemptCounter;
use revocation_cache::RevocationCache;
use verify_cache::VerifyCache;

type ErrorHook = dyn Fn(&Error, Option<&dyn RequestHead>, Response) -> Response + Send + Sync;
type AuditHook = dyn Fn(&AuditEvent) + Send + Sync;
type ClaimsHook = dyn Fn(&Principal) -> ClaimsFuture + Send + Sync;

/// The future of a claims hook ([`TokenGateBuilder::claims_hook`]): claims to add to the
/// principal's, or the error that makes the sign-in or refresh answer 503.
pub type ClaimsFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<serde_json::Map<String, serde_json::Value>, CredentialsError>,
            > + Send,
    >,
>;

/// Second factors, where `mfa_key` turns them on.
pub(crate) struct Mfa {
    pub(crate) factors: Arc<dyn FactorStore>,
    pub(crate) sealer: crate::mfa::seal::Sealer,
    /// The relying party, where `passkey_rp_id` turns passkeys on.
    #[cfg(feature = "passkeys")]
    pub(crate) passkeys: Option<crate::mfa::passkey::Passkeys>,
}

struct Inner {
    config: Config,
    keys: KeySet,
    credentials: Arc<dyn Credentials>,
    store: Arc<dyn SessionStore>,
    failures: Arc<dyn AttemptCounter>,
    /// The credential checks under way, at most `hash_queue_depth`.
    checks: CheckQueue,
    mfa: Option<Mfa>,
    /// The other issuers whose access tokens the guard accepts (`[[issuers]]`).
    issuers: Option<crate::federation::issuers::Issuers>,
    /// The identity providers users sign in with.
    #[cfg(feature = "federation")]
    providers: Option<crate::federation::providers::Providers>,
    cookies: CookieJar,
    revocations: RevocationCache,
    cache: Option<VerifyCache>,
    clients: client_cache::ClientCache,
    paths: paths::Paths,
    on_audit: Option<Box<AuditHook>>,
    on_error: Option<Box<ErrorHook>>,
    on_claims: Option<Box<ClaimsHook>>,
    /// The Prometheus exposition, where `metrics_path` is set.
    #[cfg(feature = "prometheus")]
    metrics: Option<&'static metrics_exporter_prometheus::PrometheusHandle>,
    /// Whether a request without the trusted proxy header was logged already.
    proxy_warned: AtomicBool,
    /// Whether a request without a peer address was logged already.
    peerless_warned: AtomicBool,
}

/// The sign-in service; cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct TokenGate {
    inner: Arc<Inner>,
}

impl fmt::Debug for TokenGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGate")
            .field("config", &self.inner.config)
            .field("keys", &self.inner.keys)
            .finish_non_exhaustive()
    }
}

impl TokenGate {
    /// Starts building a gate with this configuration.
    pub fn builder(config: Config) -> TokenGateBuilder {
        TokenGateBuilder::new(config)
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub(crate) fn keys(&self) -> &KeySet {
        &self.inner.keys
    }

    pub(crate) fn credentials(&self) -> &dyn Credentials {
        &*self.inner.credentials
    }

    pub(crate) fn store(&self) -> &dyn SessionStore {
        &*self.inner.store
    }

    /// Second factors, where `mfa_key` turns them on.
    pub(crate) fn mfa(&self) -> Option<&Mfa> {
        self.inner.mfa.as_ref()
    }

    pub(crate) fn issuers(&self) -> Option<&crate::federation::issuers::Issuers> {
        self.inner.issuers.as_ref()
    }

    /// The identity providers users sign in with, where there are some.
    #[cfg(feature = "federation")]
    pub(crate) fn providers(&self) -> Option<&crate::federation::providers::Providers> {
        self.inner.providers.as_ref()
    }

    /// The Prometheus exposition, where `metrics_path` is set.
    #[cfg(feature = "prometheus")]
    pub(crate) fn exposition(&self) -> Option<&metrics_exporter_prometheus::PrometheusHandle> {
        self.inner.metrics
    }

    pub(crate) fn failures(&self) -> &dyn AttemptCounter {
        &*self.inner.failures
    }

    /// Runs `check`, which asks the credential directory to verify a password or a secret,
    /// as one of at most `hash_queue_depth` checks under way; when that many are, answers
    /// 503 with `Retry-After` at once. The place is taken before `check` is called, so the
    /// refusal is decided before the login is looked up and says nothing about it; it is held
    /// until the check ends, or its request goes away.
    pub(crate) async fn queued_check<F: std::future::Future>(
        &self,
        check: impl FnOnce() -> F,
    ) -> Result<F::Output, Error> {
        let Some(_place) = self.inner.checks.enter() else {
            return Err(Error::new(ErrorKind::Busy {
                retry_after: RETRY_AFTER_SECONDS,
            }));
        };
        Ok(check().await)
    }

    pub(crate) fn clients(&self) -> &client_cache::ClientCache {
        &self.inner.clients
    }

    pub(crate) fn cookies(&self) -> &CookieJar {
        &self.inner.cookies
    }

    /// The claims of `principal`'s access tokens: its own, with what the claims hook adds
    /// (the hook's win). A failing hook is a dependency down: 503.
    pub(crate) async fn claims_of(
        &self,
        principal: &Principal,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        let mut claims = principal.claims.clone();
        if let Some(hook) = &self.inner.on_claims {
            let added = hook(principal).await.map_err(|error| {
                tracing::warn!(target: "tokengate", %error, "claims hook failed");
                Error::new(ErrorKind::Unavailable("claims hook"))
            })?;
            claims.extend(added);
        }
        Ok(claims)
    }

    /// Logs an audit event and hands it to the app's hook.
    pub(crate) fn audit(&self, event: &AuditEvent) {
        event.log();
        if let Some(hook) = &self.inner.on_audit {
            hook(event);
        }
    }

    /// The client's address: the peer, or the last address of the trusted proxy's header (of
    /// its last line, where it comes on several).
    /// A request without that header, or with one that does not end in an address, is
    /// counted under its peer address, never under none: a proxy that fails to set the header
    /// must not switch the per-address limit off.
    pub(crate) fn client_addr<R: RequestHead + ?Sized>(&self, head: &R) -> Option<IpAddr> {
        let Some(header) = &self.inner.config.endpoints.trusted_proxy_header else {
            let peer = head.peer_addr();
            if peer.is_none()
                && self.inner.config.throttle.per_address > 0
                && !self.inner.peerless_warned.swap(true, Ordering::Relaxed)
            {
                // An axum app served without `ConnectInfo` gives no peer address: the limit
                // per address cannot apply, and nothing else would say so.
                tracing::warn!(
                    target: "tokengate",
                    "a request came without its peer address, so sign-ins are not throttled per address: \
                     serve axum with `into_make_service_with_connect_info::<SocketAddr>()` (logged once)"
                );
            }
            return peer;
        };
        // The last line: a client's own lines come first, the trusted proxy appends its own.
        let forwarded = head
            .last_header(header)
            .and_then(|value| std::str::from_utf8(value).ok())
            .and_then(|value| value.rsplit(',').next())
            .and_then(|last| last.trim().parse().ok());
        if forwarded.is_none() {
            // Once loudly (a proxy that does not set it is a misconfiguration), then quietly.
            if self.inner.proxy_warned.swap(true, Ordering::Relaxed) {
                tracing::debug!(target: "tokengate", header = %header, "trusted proxy header missing or unreadable: counting the peer address");
            } else {
                tracing::warn!(target: "tokengate", header = %header, "trusted proxy header missing or unreadable: counting the peer address (logged once)");
            }
        }
        forwarded.or_else(|| head.peer_addr())
    }

    /// The answer for an error: JSON body, RFC 6750 challenge, then the app's hook if any.
    /// A 5xx is logged, as it means a bug or a dependency down. Where the request is at hand,
    /// [`TokenGate::error_response_to`] hands it to the hook too.
    pub fn error_response(&self, error: &Error) -> Response {
        self.answer(error, None)
    }

    /// [`TokenGate::error_response`] for a request: the app's hook gets its head (method, path,
    /// headers), to echo a request id for example.
    pub fn error_response_to<R: RequestHead + ?Sized>(&self, error: &Error, head: &R) -> Response {
        self.answer(error, Some(&HeadOf(head)))
    }

    fn answer(&self, error: &Error, head: Option<&dyn RequestHead>) -> Response {
        if error.status() >= 500 {
            if let ErrorKind::Internal(detail) = error.kind() {
                tracing::error!(target: "tokengate", %detail, "internal error");
            } else if let ErrorKind::Busy { .. } = error.kind() {
                // Nothing is down: the load is shed, as configured, and counted in
                // `tokengate_password_hash_rejected_total`. A storm must not flood the log.
                tracing::debug!(target: "tokengate", "hash queue full: sign-in refused");
            } else {
                tracing::error!(target: "tokengate", %error, "dependency unavailable");
            }
        }
        let response = error.to_response(&self.inner.config.guard.realm);
        match &self.inner.on_error {
            Some(hook) => hook(error, head, response),
            None => response,
        }
    }
}

/// Any request head, as a sized value: for the error hook's `&dyn RequestHead`.
struct HeadOf<'a, R: ?Sized>(&'a R);

impl<R: RequestHead + ?Sized> RequestHead for HeadOf<'_, R> {
    fn method(&self) -> &str {
        self.0.method()
    }
    fn path(&self) -> &str {
        self.0.path()
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0.header(name)
    }
    fn last_header(&self, name: &str) -> Option<&[u8]> {
        self.0.last_header(name)
    }
    fn cookie(&self, name: &str) -> Option<&str> {
        self.0.cookie(name)
    }
    fn peer_addr(&self) -> Option<IpAddr> {
        self.0.peer_addr()
    }
    fn query(&self) -> Option<&str> {
        self.0.query()
    }
}

/// Gates and tokens for the core's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::TokenGate;
    use crate::credentials::MemoryDirectory;
    use crate::jws::{Algorithm, KeyConfig, KeyMaterial, Secret, TokenKind};
    use crate::Config;

    const SECRET: &str = "a-test-only-secret-of-32-bytes-or-more";

    /// A gate on a test-only secret, with `settings` applied as `TOKENGATE_*` variables would.
    pub(crate) fn gate(settings: &[(&str, &str)]) -> TokenGate {
        let mut pairs = vec![("TOKENGATE_SECRET".to_owned(), SECRET.to_owned())];
        pairs.extend(settings.iter().map(|(key, value)| {
            (
                format!("TOKENGATE_{}", key.to_ascii_uppercase()),
                (*value).to_owned(),
            )
        }));
        let config = Config::from_sources(None, "default", pairs).expect("valid test settings");
        TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .expect("valid test gate")
    }

    /// A gate whose one key is an Ed25519 key made now.
    pub(crate) fn eddsa_gate() -> TokenGate {
        let config = Config::default().with_keys(vec![KeyConfig::new(
            Algorithm::EdDsa,
            KeyMaterial::PrivatePem(Secret::new(eddsa_pem())),
        )]);
        TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .expect("valid EdDSA test gate")
    }

    /// An Ed25519 private key made now, as PKCS#8 PEM (built around 32 random bytes, so it
    /// needs neither crypto backend to make).
    pub(crate) fn eddsa_pem() -> String {
        use base64::Engine as _;
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("random bytes");
        der.extend_from_slice(&seed);
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    }

    /// `payload` signed as an access token of `gate`.
    pub(crate) fn sign(gate: &TokenGate, payload: &serde_json::Value) -> String {
        crate::jws::sign(gate.keys(), TokenKind::Access, payload).expect("signed")
    }

    /// An access token of `gate` for session `sid`, expiring at `exp`.
    pub(crate) fn access_token(gate: &TokenGate, sid: &str, exp: i64) -> String {
        let payload = serde_json::json!({
            "iss": "tokengate", "sub": "ada", "iat": exp - 60, "exp": exp, "jti": "j", "sid": sid,
        });
        crate::jws::sign(gate.keys(), TokenKind::Access, &payload).expect("signed")
    }
}
