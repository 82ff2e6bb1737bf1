//! The gate: configuration, keys, credentials and store put together, and the two things an
//! adapter asks of it — answer an endpoint, or guard a route.
//!
//! # Example
//!
//! ```
//! use tokengate_core::credentials::{hash_password, MemoryDirectory};
//! use tokengate_core::{Config, Endpoint, TokenGate};
//!
//! let config = Config::default().set("secret", "an-example-secret-of-at-least-32-bytes")?;
//! let directory = MemoryDirectory::new().user("ada", &hash_password("pw")?)?;
//! let gate = TokenGate::builder(config).credentials(directory).build()?;
//! assert_eq!(gate.endpoint("/api/rest/signin"), Some(Endpoint::SignIn));
//! assert_eq!(gate.endpoint("/api/rest/me"), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use bytes::Buf;
use futures_util::Stream;

use crate::audit::AuditEvent;
use crate::cache::VerifyCache;
use crate::clock::unix_now;
use crate::config::{Config, ConfigError, GuardMode};
use crate::cookies::{is_unsafe, CookieJar};
use crate::credentials::Credentials;
use crate::error::{Error, ErrorKind, TokenError};
use crate::extract::Guarded;
use crate::form::{body_kind, parse_kind, read_body, Fields};
use crate::issue::TokenKind;
use crate::keys::KeySet;
use crate::request::{bearer, RequestHead};
use crate::response::Response;
use crate::revocation::RevocationCache;
use crate::store::{MemoryStore, SessionStore};
use crate::throttle::{FailureCounter, MemoryCounter};
use crate::verify::{verify, Expectations, VerifiedToken};

/// One of the endpoints the gate answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST {prefix}/signin`.
    SignIn,
    /// `POST {prefix}/token`.
    Token,
    /// `POST {prefix}/signout`.
    SignOut,
    /// `GET {prefix}/jwks`: the public keys, for other services to verify access tokens.
    Jwks,
    /// `GET {prefix}/sessions`: the caller's live sessions.
    Sessions,
}

/// What an adapter does with a request, as decided by [`TokenGate::route`].
#[derive(Debug)]
pub enum Route {
    /// Answer it with [`TokenGate::serve`]: it is one of the gate's endpoints.
    Endpoint(Endpoint),
    /// Let it through to the app with this in its extensions, for the `Claims` extractors.
    Pass(Guarded),
    /// Answer it at once with this response (no token, or an invalid one).
    Refuse(Response),
    /// Strict revocation: ask [`TokenGate::confirm`] whether the token's session is still
    /// live, then pass or refuse as it says.
    Check(PendingCheck),
}

/// A valid token whose session strict revocation must still look up in the store; see
/// [`Route::Check`] and [`TokenGate::confirm`].
#[derive(Debug)]
pub struct PendingCheck {
    verified: VerifiedToken,
    /// Whether the route needs a token: if not, an ended session or a store that cannot say
    /// make the request anonymous rather than refused.
    required: bool,
}

type ErrorHook = dyn Fn(&Error, Response) -> Response + Send + Sync;
type AuditHook = dyn Fn(&AuditEvent) + Send + Sync;

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) keys: KeySet,
    pub(crate) credentials: Arc<dyn Credentials>,
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) cookies: CookieJar,
    pub(crate) failures: Arc<dyn FailureCounter>,
    pub(crate) revocations: RevocationCache,
    cache: Option<VerifyCache>,
    on_audit: Option<Box<AuditHook>>,
    paths: [String; 5],
    on_error: Option<Box<ErrorHook>>,
    /// Whether a request without the trusted proxy header was logged already.
    proxy_warned: std::sync::atomic::AtomicBool,
}

/// The sign-in service; cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct TokenGate {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for TokenGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGate")
            .field("config", &self.inner.config)
            .field("keys", &self.inner.keys)
            .finish_non_exhaustive()
    }
}

/// Builds a [`TokenGate`]; see [`TokenGate::builder`].
#[must_use]
pub struct TokenGateBuilder {
    config: Config,
    credentials: Option<Arc<dyn Credentials>>,
    store: Option<Arc<dyn SessionStore>>,
    failures: Option<Arc<dyn FailureCounter>>,
    on_error: Option<Box<ErrorHook>>,
    on_audit: Option<Box<AuditHook>>,
}

impl fmt::Debug for TokenGateBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGateBuilder")
            .field("config", &self.config)
            .field("credentials", &self.credentials.is_some())
            .field("store", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenGateBuilder {
    /// Who may sign in (required).
    pub fn credentials(mut self, credentials: impl Credentials) -> Self {
        self.credentials = Some(Arc::new(credentials));
        self
    }

    /// Where sessions live (default: a [`MemoryStore`]).
    pub fn store(mut self, store: impl SessionStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Where failed sign-ins are counted for throttling (default: a [`MemoryCounter`]); share
    /// one between instances to throttle across them.
    pub fn failure_counter(mut self, counter: impl FailureCounter) -> Self {
        self.failures = Some(Arc::new(counter));
        self
    }

    /// Also sends every [audit event](crate::audit) to `hook` (they are always logged on
    /// target `tokengate::audit`). The hook runs on the request's task: keep it quick.
    pub fn on_audit(mut self, hook: impl Fn(&AuditEvent) + Send + Sync + 'static) -> Self {
        self.on_audit = Some(Box::new(hook));
        self
    }

    /// Replaces every error answer: the hook gets the error and the default answer.
    pub fn on_error(
        mut self,
        hook: impl Fn(&Error, Response) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.on_error = Some(Box::new(hook));
        self
    }

    /// Validates the configuration, prepares the keys and builds the gate.
    pub fn build(self) -> Result<TokenGate, ConfigError> {
        self.config.validate()?;
        let credentials = self.credentials.ok_or_else(|| {
            ConfigError::new("credentials", "", "a credential checker is required")
        })?;
        let keys = KeySet::from_config(&self.config)?;
        let root = match &self.config.secret {
            Some(secret) => secret.expose().to_vec(),
            None => keys.derivation_root(),
        };
        let cookies = CookieJar::new(&self.config, &root);
        let cache = self
            .config
            .verify_cache
            .unwrap_or_else(|| keys.any_asymmetric())
            .then(|| VerifyCache::new(self.config.verify_cache_size));
        let prefix = &self.config.prefix;
        let paths = [
            format!("{prefix}/signin"),
            format!("{prefix}/token"),
            format!("{prefix}/signout"),
            format!("{prefix}/jwks"),
            format!("{prefix}/sessions"),
        ];
        let (store, counter) = match self.store {
            Some(store) => (store, None),
            None => store_from_config(&self.config)?,
        };
        let failures = self
            .failures
            .or(counter)
            .unwrap_or_else(|| Arc::new(MemoryCounter::new()));
        Ok(TokenGate {
            inner: Arc::new(Inner {
                keys,
                credentials,
                store,
                cookies,
                failures,
                on_audit: self.on_audit,
                revocations: RevocationCache::default(),
                cache,
                paths,
                on_error: self.on_error,
                proxy_warned: std::sync::atomic::AtomicBool::new(false),
                config: self.config,
            }),
        })
    }
}

/// Where sessions live, and where sign-in attempts are counted when the store counts them.
type Stores = (Arc<dyn SessionStore>, Option<Arc<dyn FailureCounter>>);

/// The store named by `config.store`, for the schemes the core knows; a SQLite store counts
/// sign-in attempts too, so that a restart does not reset them.
fn store_from_config(config: &Config) -> Result<Stores, ConfigError> {
    let url = config.store.as_str();
    if url == "memory" {
        return Ok((Arc::new(MemoryStore::new()), None));
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        #[cfg(feature = "sqlite")]
        return crate::store::SqliteStore::open(path)
            .map(|store| {
                let counter: Arc<dyn FailureCounter> = Arc::new(store.clone());
                (Arc::new(store) as Arc<dyn SessionStore>, Some(counter))
            })
            .map_err(|e| ConfigError::new("store", url, e.to_string()));
        #[cfg(not(feature = "sqlite"))]
        return Err(ConfigError::new(
            "store",
            url,
            format!("SQLite ({path}) needs the `sqlite` feature"),
        ));
    }
    Err(ConfigError::new(
        "store",
        url,
        "a Redis store is built by `tokengate::builder` with the `redis` feature, or given with `.store(...)`",
    ))
}

impl TokenGate {
    /// Starts building a gate with this configuration.
    pub fn builder(config: Config) -> TokenGateBuilder {
        TokenGateBuilder {
            config,
            credentials: None,
            store: None,
            failures: None,
            on_error: None,
            on_audit: None,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The endpoint at `path`, if it is one.
    pub fn endpoint(&self, path: &str) -> Option<Endpoint> {
        let [signin, token, signout, jwks, sessions] = &self.inner.paths;
        if !path.starts_with(self.inner.config.prefix.as_str()) {
            return None;
        }
        if path == signin {
            Some(Endpoint::SignIn)
        } else if path == token {
            Some(Endpoint::Token)
        } else if path == signout {
            Some(Endpoint::SignOut)
        } else if path == jwks {
            Some(Endpoint::Jwks)
        } else if path == sessions {
            Some(Endpoint::Sessions)
        } else {
            None
        }
    }

    fn is_public(&self, path: &str) -> bool {
        self.inner
            .config
            .public_paths
            .iter()
            .any(|public| match public.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => path == public,
            })
    }

    fn expectations(&self, now: i64, allow_expired: bool) -> Expectations<'_> {
        let config = &self.inner.config;
        Expectations {
            issuer: &config.issuer,
            audience: config.audience.as_deref(),
            leeway: i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX),
            now,
            allow_expired,
        }
    }

    /// Verifies an access token (or finds it in the verified-token cache).
    pub fn verify_access(&self, token: &str) -> Result<VerifiedToken, Error> {
        let now = unix_now();
        if let Some(cache) = &self.inner.cache {
            if let Some(verified) = cache.get(token, now) {
                return Ok(verified);
            }
        }
        let verified = verify(
            &self.inner.keys,
            token,
            TokenKind::Access,
            &self.expectations(now, false),
        )
        .map_err(Error::invalid_token)?;
        if let Some(cache) = &self.inner.cache {
            cache.put(token, &verified, now);
        }
        Ok(verified)
    }

    pub(crate) fn verify_refresh(
        &self,
        token: &str,
        allow_expired: bool,
    ) -> Result<VerifiedToken, Error> {
        verify(
            &self.inner.keys,
            token,
            TokenKind::Refresh,
            &self.expectations(unix_now(), allow_expired),
        )
        .map_err(Error::invalid_token)
    }

    /// Decides what becomes of a request: an endpoint to serve, a request to pass on, or an
    /// answer to give at once. This is all an adapter's middleware asks before acting.
    pub fn route<R: RequestHead + ?Sized>(&self, head: &R) -> Route {
        if let Some(endpoint) = self.endpoint(head.path()) {
            return Route::Endpoint(endpoint);
        }
        let required = self.requires_token(head.path());
        match self.check_token(head, required) {
            Ok(Some(verified)) if self.inner.config.strict_revocation => {
                match self.known_liveness(&verified.claims().sid) {
                    Some(true) => Route::Pass(Guarded::new(self.clone(), Some(verified))),
                    Some(false) if required => Route::Refuse(
                        self.error_response(&Error::invalid_token(TokenError::Revoked)),
                    ),
                    // Where no token is needed, an ended session is no session: anonymous.
                    Some(false) => Route::Pass(Guarded::new(self.clone(), None)),
                    None => Route::Check(PendingCheck { verified, required }),
                }
            }
            Ok(verified) => Route::Pass(Guarded::new(self.clone(), verified)),
            Err(error) => Route::Refuse(self.error_response(&error)),
        }
    }

    /// Strict revocation: whether the token's session is live, from the store, remembered for
    /// `revocation_cache_ttl`. `Err` is the answer to give where the route needs a token: 401
    /// for an ended session, 503 when the store cannot say (a strict guard does not let
    /// unknown sessions through). Where it does not, both make the request anonymous.
    pub async fn confirm(&self, pending: PendingCheck) -> Result<Guarded, Response> {
        let PendingCheck { verified, required } = pending;
        match self.session_is_live(&verified.claims().sid).await {
            Ok(true) => Ok(Guarded::new(self.clone(), Some(verified))),
            Ok(false) | Err(_) if !required => Ok(Guarded::new(self.clone(), None)),
            Ok(false) => Err(self.error_response(&Error::invalid_token(TokenError::Revoked))),
            Err(error) => Err(self.error_response(&error)),
        }
    }

    fn revocation_ttl(&self) -> i64 {
        i64::try_from(self.inner.config.revocation_cache_ttl.as_secs()).unwrap_or(i64::MAX)
    }

    /// What this instance knows of a session without asking the store.
    fn known_liveness(&self, sid: &str) -> Option<bool> {
        self.inner
            .revocations
            .get(sid, unix_now(), self.revocation_ttl())
    }

    /// Whether session `sid` is live: from this instance's memory, else from the store. A
    /// "live" read never overwrites a sign-out that this instance recorded meanwhile.
    pub(crate) async fn session_is_live(&self, sid: &str) -> Result<bool, Error> {
        if let Some(live) = self.known_liveness(sid) {
            return Ok(live);
        }
        let now = unix_now();
        let ttl = self.revocation_ttl();
        match self.inner.store.is_live(sid, now).await {
            Ok(true) => {
                if ttl > 0 {
                    self.inner.revocations.mark_live(sid, now, ttl);
                }
                Ok(true)
            }
            Ok(false) => {
                self.inner.revocations.mark_dead(sid, now, ttl);
                Ok(false)
            }
            Err(error) => {
                tracing::warn!(target: "tokengate", %error, "session store failed");
                Err(Error::new(ErrorKind::Unavailable("session store")))
            }
        }
    }

    /// Records that sessions ended in the store, for this instance's strict guard: at once,
    /// and for good.
    pub(crate) fn sessions_ended<'s>(&self, sids: impl IntoIterator<Item = &'s str>) {
        if !self.inner.config.strict_revocation {
            return;
        }
        let (now, ttl) = (unix_now(), self.revocation_ttl());
        for sid in sids {
            self.inner.revocations.mark_dead(sid, now, ttl);
        }
    }

    /// The access token of a request that needs one, checked as the guard of a route that
    /// needs a token checks it: verified, CSRF-checked when it came by cookie on an unsafe
    /// request, and with strict revocation its session live. For the endpoints that act with
    /// an access token.
    pub(crate) async fn authenticate<R: RequestHead + ?Sized>(
        &self,
        head: &R,
    ) -> Result<VerifiedToken, Error> {
        let verified = self
            .check_token(head, true)?
            .ok_or(Error::new(ErrorKind::MissingToken))?;
        if self.inner.config.strict_revocation
            && !self.session_is_live(&verified.claims().sid).await?
        {
            return Err(Error::invalid_token(TokenError::Revoked));
        }
        Ok(verified)
    }

    /// The access token of a request, and whether it came from the cookie. A bearer header
    /// wins over the cookie; only a cookie needs the CSRF defences.
    pub(crate) fn access_token_of<'a, R: RequestHead + ?Sized>(
        &self,
        head: &'a R,
    ) -> Option<(&'a str, bool)> {
        match bearer(head, self.inner.config.accept_authentication_header) {
            Some(token) => Some((token, false)),
            None => self.inner.cookies.access(head).map(|token| (token, true)),
        }
    }

    /// Whether a request to `path` needs a token: in required mode, unless the path is public.
    fn requires_token(&self, path: &str) -> bool {
        self.inner.config.mode == GuardMode::Required && !self.is_public(path)
    }

    /// Guards a request to any route that is not an endpoint. This is the token check alone:
    /// [`TokenGate::route`] adds strict revocation on top of it.
    ///
    /// `Ok(Some)` with the verified token; `Ok(None)` to let
    /// the request through without claims (public path, or optional mode); `Err` to answer with
    /// [`TokenGate::error_response`].
    pub fn guard<R: RequestHead + ?Sized>(&self, head: &R) -> Result<Option<VerifiedToken>, Error> {
        self.check_token(head, self.requires_token(head.path()))
    }

    /// The token check of a request: with `required`, a missing or invalid token is an error;
    /// without, it is no token.
    fn check_token<R: RequestHead + ?Sized>(
        &self,
        head: &R,
        required: bool,
    ) -> Result<Option<VerifiedToken>, Error> {
        let (token, by_cookie) = match self.access_token_of(head) {
            Some(found) => found,
            None if required => return Err(Error::new(ErrorKind::MissingToken)),
            None => return Ok(None),
        };
        let checked = self.verify_access(token).and_then(|verified| {
            if by_cookie && is_unsafe(head.method()) {
                self.inner.cookies.check(head, &verified.claims().sid)?;
            }
            Ok(verified)
        });
        match checked {
            Ok(verified) => Ok(Some(verified)),
            Err(error) if required => Err(error),
            Err(_) => Ok(None),
        }
    }

    /// Answers an endpoint: checks the method and content type, reads the body under the limit,
    /// parses it and runs the endpoint. Every failure becomes its error answer.
    pub async fn serve<R, S, B, E>(&self, endpoint: Endpoint, head: &R, body: S) -> Response
    where
        R: RequestHead + ?Sized,
        S: Stream<Item = Result<B, E>>,
        B: Buf,
        E: fmt::Display,
    {
        match self.serve_inner(endpoint, head, body).await {
            Ok(response) => response,
            Err(error) => self.error_response(&error),
        }
    }

    async fn serve_inner<R, S, B, E>(
        &self,
        endpoint: Endpoint,
        head: &R,
        body: S,
    ) -> Result<Response, Error>
    where
        R: RequestHead + ?Sized,
        S: Stream<Item = Result<B, E>>,
        B: Buf,
        E: fmt::Display,
    {
        let method = head.method();
        match endpoint {
            Endpoint::Jwks | Endpoint::Sessions if !matches!(method, "GET" | "HEAD") => {
                Err(Error::new(ErrorKind::MethodNotAllowed { allow: "GET" }))
            }
            Endpoint::Jwks => Ok(self.jwks()),
            Endpoint::Sessions => self.sessions(head).await,
            _ if method != "POST" => Err(Error::new(ErrorKind::MethodNotAllowed { allow: "POST" })),
            Endpoint::SignIn => self.signin(head, &self.fields(head, body).await?).await,
            Endpoint::Token => self.token(head, &self.fields(head, body).await?).await,
            Endpoint::SignOut => self.signout(head, &self.fields(head, body).await?).await,
        }
    }

    /// The fields of a POST body: content type checked, read under the limit, parsed.
    async fn fields<R, S, B, E>(&self, head: &R, body: S) -> Result<Fields, Error>
    where
        R: RequestHead + ?Sized,
        S: Stream<Item = Result<B, E>>,
        B: Buf,
        E: fmt::Display,
    {
        let content_type = match head.header("content-type") {
            None => None,
            Some(value) => Some(
                std::str::from_utf8(value)
                    .map_err(|_| Error::new(ErrorKind::UnsupportedMediaType))?,
            ),
        };
        let kind = body_kind(content_type)?;
        let config = &self.inner.config;
        // A client that never finishes its body holds no connection and no task for longer.
        let read = read_body(body, head.header("content-length"), config.body_limit);
        let body = match deadline(config.body_timeout) {
            Some(deadline) => {
                let (read, deadline) = (std::pin::pin!(read), std::pin::pin!(deadline));
                match futures_util::future::select(read, deadline).await {
                    futures_util::future::Either::Left((body, _)) => body?,
                    futures_util::future::Either::Right(_) => {
                        return Err(Error::new(ErrorKind::RequestTimeout))
                    }
                }
            }
            None => read.await?,
        };
        parse_kind(&kind, body).await
    }

    /// Logs an audit event and hands it to the app's hook.
    pub(crate) fn audit(&self, event: &AuditEvent) {
        event.log();
        if let Some(hook) = &self.inner.on_audit {
            hook(event);
        }
    }

    /// The client's address: the peer, or the last address of the trusted proxy's header.
    /// A request without that header, or with one that does not end in an address, is
    /// counted under its peer address, never under none: a proxy that fails to set the header
    /// must not switch the per-address limit off.
    pub(crate) fn client_addr<R: RequestHead + ?Sized>(
        &self,
        head: &R,
    ) -> Option<std::net::IpAddr> {
        let Some(header) = &self.inner.config.trusted_proxy_header else {
            return head.peer_addr();
        };
        let forwarded = head
            .header(header)
            .and_then(|value| std::str::from_utf8(value).ok())
            .and_then(|value| value.rsplit(',').next())
            .and_then(|last| last.trim().parse().ok());
        if forwarded.is_none() {
            // Once loudly (a proxy that does not set it is a misconfiguration), then quietly.
            if self
                .inner
                .proxy_warned
                .swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::debug!(target: "tokengate", header = %header, "trusted proxy header missing or unreadable: counting the peer address");
            } else {
                tracing::warn!(target: "tokengate", header = %header, "trusted proxy header missing or unreadable: counting the peer address (logged once)");
            }
        }
        forwarded.or_else(|| head.peer_addr())
    }

    /// The JWKS document: public keys only, cacheable for a few minutes so that verifiers
    /// see a rotation soon.
    fn jwks(&self) -> Response {
        let mut response = Response::json(200, &self.inner.keys.jwks(unix_now()));
        response.remove_header("cache-control");
        response.push("cache-control", "public, max-age=300".to_owned());
        response
    }

    /// The answer for an error: JSON body, RFC 6750 challenge, then the app's hook if any.
    /// A 5xx is logged, as it means a bug or a dependency down.
    pub fn error_response(&self, error: &Error) -> Response {
        if error.status() >= 500 {
            if let ErrorKind::Internal(detail) = error.kind() {
                tracing::error!(target: "tokengate", %detail, "internal error");
            } else {
                tracing::error!(target: "tokengate", %error, "dependency unavailable");
            }
        }
        let response = error.to_response(&self.inner.config.realm);
        match &self.inner.on_error {
            Some(hook) => hook(error, response),
            None => response,
        }
    }
}

/// A timer that fires after `duration`, when the runtime has timers (`#[tokio::main]` and
/// actix-web's runtime do; a runtime built without `enable_time` does not, and then bodies are
/// read without a deadline rather than the request panicking).
fn deadline(duration: std::time::Duration) -> Option<tokio::time::Sleep> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static NO_TIMERS: AtomicBool = AtomicBool::new(false);
    if NO_TIMERS.load(Ordering::Relaxed) {
        return None;
    }
    let sleep = std::panic::catch_unwind(|| tokio::time::sleep(duration)).ok();
    if sleep.is_none() && !NO_TIMERS.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: "tokengate",
            "the tokio runtime has no timers (`enable_time`): endpoint bodies are read without a deadline"
        );
    }
    sleep
}

/// Gates and tokens for the core's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::TokenGate;
    use crate::credentials::MemoryDirectory;
    use crate::Config;

    /// A gate on a test-only secret, with `settings` applied.
    pub(crate) fn gate(settings: &[(&str, &str)]) -> TokenGate {
        let mut config = Config::default()
            .set("secret", "a-test-only-secret-of-32-bytes-or-more")
            .expect("valid secret");
        for (key, value) in settings {
            config = config.set(key, value).expect("valid test setting");
        }
        TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .expect("valid test gate")
    }

    /// A gate whose one key is an Ed25519 key made now (PKCS#8 built around 32 random bytes, so
    /// it needs neither crypto backend to make).
    pub(crate) fn eddsa_gate() -> TokenGate {
        use base64::Engine as _;
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("random bytes");
        der.extend_from_slice(&seed);
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        );
        let config = Config {
            keys: vec![crate::KeyConfig {
                kid: None,
                algorithm: crate::Algorithm::EdDsa,
                material: crate::KeyMaterial::PrivatePem(crate::Secret::new(pem)),
                signing: true,
                verify_until: None,
            }],
            ..Config::default()
        };
        TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .expect("valid EdDSA test gate")
    }

    /// An access token of `gate` for session `sid`, expiring at `exp`.
    pub(crate) fn access_token(gate: &TokenGate, sid: &str, exp: i64) -> String {
        let payload = serde_json::json!({
            "iss": "tokengate", "sub": "ada", "iat": exp - 60, "exp": exp, "jti": "j", "sid": sid,
        });
        crate::issue::sign(&gate.inner.keys, crate::TokenKind::Access, &payload).expect("signed")
    }
}
