//! Building a [`TokenGate`]: the configuration validated, the keys prepared, the store the
//! configuration names opened, once at start-up.

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::revocation_cache::RevocationCache;
use super::verify_cache::VerifyCache;
use super::{AuditHook, ClaimsFuture, ClaimsHook, ErrorHook, Inner, TokenGate};
use crate::audit::AuditEvent;
use crate::config::{Config, ConfigError};
use crate::credentials::{CheckQueue, Credentials, Principal};
use crate::http::cookies::CookieJar;
use crate::http::error::Error;
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::KeySet;
use crate::store::{FactorStore, MeasuredCounter, MeasuredStore, Opened, SessionStore};
use crate::telemetry::CacheMeters;
use crate::throttle::{AttemptCounter, MemoryCounter};

/// Builds a [`TokenGate`]; see [`TokenGate::builder`].
#[must_use]
pub struct TokenGateBuilder {
    config: Config,
    credentials: Option<Arc<dyn Credentials>>,
    store: Option<Arc<dyn SessionStore>>,
    factors: Option<Arc<dyn FactorStore>>,
    failures: Option<Arc<dyn AttemptCounter>>,
    on_error: Option<Box<ErrorHook>>,
    on_audit: Option<Box<AuditHook>>,
    on_claims: Option<Box<ClaimsHook>>,
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
    pub(super) fn new(config: Config) -> Self {
        Self {
            config,
            credentials: None,
            store: None,
            factors: None,
            failures: None,
            on_error: None,
            on_audit: None,
            on_claims: None,
        }
    }

    /// Where second factors live, when not in the session store (every store tokengate
    /// ships keeps them beside its sessions). Used only with `mfa_key`.
    pub fn factor_store(mut self, factors: impl FactorStore) -> Self {
        self.factors = Some(Arc::new(factors));
        self
    }

    /// Who may sign in (required).
    pub fn credentials(mut self, credentials: impl Credentials) -> Self {
        self.credentials = Some(Arc::new(credentials));
        self
    }

    /// Where sessions live, instead of the store `config.store` names.
    pub fn store(mut self, store: impl SessionStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Where failed sign-ins are counted for throttling, instead of the store's own counter
    /// (SQLite, Redis, PostgreSQL) or a [`MemoryCounter`]; share one between instances to
    /// throttle across them.
    pub fn attempt_counter(mut self, counter: impl AttemptCounter) -> Self {
        self.failures = Some(Arc::new(counter));
        self
    }

    /// The former name of [`TokenGateBuilder::attempt_counter`].
    #[deprecated(note = "renamed `attempt_counter`")]
    pub fn failure_counter(self, counter: impl AttemptCounter) -> Self {
        self.attempt_counter(counter)
    }

    /// Also sends every [audit event](crate::audit) to `hook` (they are always logged on
    /// target `tokengate::audit`). The hook runs on the request's task: keep it quick.
    pub fn on_audit(mut self, hook: impl Fn(&AuditEvent) + Send + Sync + 'static) -> Self {
        self.on_audit = Some(Box::new(hook));
        self
    }

    /// Adds claims computed elsewhere (a tenant, permissions from another service) to every
    /// access token: the hook runs at sign-in and at each refresh, with the principal as the
    /// credential directory gives it then, and what it answers is added over the principal's
    /// claims. An error answers the sign-in or refresh with 503.
    ///
    /// ```
    /// use tokengate::credentials::MemoryDirectory;
    /// use tokengate::{Config, TokenGate};
    ///
    /// let gate = TokenGate::builder(Config::default().with_secret("an-example-secret-of-at-least-32-bytes"))
    ///     .credentials(MemoryDirectory::new())
    ///     .claims_hook(|principal| {
    ///         let tenant = principal.subject.split('@').nth(1).unwrap_or("").to_owned();
    ///         Box::pin(async move {
    ///             let mut claims = tokengate::serde_json::Map::new();
    ///             claims.insert("tenant".into(), tenant.into());
    ///             Ok(claims)
    ///         })
    ///     })
    ///     .build()?;
    /// # drop(gate);
    /// # Ok::<(), tokengate::ConfigError>(())
    /// ```
    pub fn claims_hook(
        mut self,
        hook: impl Fn(&Principal) -> ClaimsFuture + Send + Sync + 'static,
    ) -> Self {
        self.on_claims = Some(Box::new(hook));
        self
    }

    /// Replaces every error answer: the hook gets the error, the request's head where the gate
    /// has it, and the default answer.
    ///
    /// It covers the refusals of the guard and of the endpoints, with the request's head, and
    /// those of the claims extractors (`Claims` and `Authorized`, in axum and actix-web alike)
    /// and of `Require`: they answer through the gate that guarded the request, so the hook
    /// gets them too, with `None` for the head. Only a route that no gate guards is answered
    /// without it (its extractors' 500: there is no gate, and so no hook).
    ///
    /// ```
    /// use tokengate::credentials::MemoryDirectory;
    /// use tokengate::{Config, TokenGate};
    ///
    /// let gate = TokenGate::builder(Config::default().with_secret("an-example-secret-of-at-least-32-bytes"))
    ///     .credentials(MemoryDirectory::new())
    ///     .on_error(|_error, head, mut response| {
    ///         // Echo the request id, so that a client's report can be found in the logs.
    ///         let id = head.and_then(|head| head.header("x-request-id"));
    ///         if let Some(id) = id.and_then(|id| std::str::from_utf8(id).ok()) {
    ///             let _ = response.set_header("x-request-id", id.to_owned());
    ///         }
    ///         response
    ///     })
    ///     .build()?;
    /// # drop(gate);
    /// # Ok::<(), tokengate::ConfigError>(())
    /// ```
    pub fn on_error(
        mut self,
        hook: impl Fn(&Error, Option<&dyn RequestHead>, Response) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.on_error = Some(Box::new(hook));
        self
    }

    /// Validates the configuration, prepares the keys, opens the store that `config.store`
    /// names (unless one was given) and builds the gate. A store whose feature is off is
    /// refused here, naming the feature.
    pub fn build(self) -> Result<TokenGate, ConfigError> {
        let config = self.config;
        config.validate()?;
        let credentials = self.credentials.ok_or_else(|| {
            ConfigError::new("credentials", "", "a credential checker is required")
        })?;
        let keys = KeySet::new(&config.key_list()?)?;
        let orphaned = keys.retired_without_private_part(crate::clock::unix_now());
        if !orphaned.is_empty() {
            tracing::warn!(
                target: "tokengate",
                kids = ?orphaned,
                "these keys verify without their private part: the refresh tokens and tickets                  signed under them (with the unpublished key derived from that part) no longer                  verify, and their sessions must sign in again; configure `key_file` until                  `verify_until` to keep them"
            );
        }
        // The recorder first: the counters on the request's path are looked up below.
        #[cfg(feature = "prometheus")]
        let metrics = exposition(&config)?;
        crate::telemetry::describe();
        let root = match &config.keys.secret {
            Some(secret) => secret.expose().to_vec(),
            None => keys.derivation_root(),
        };
        let cookies = CookieJar::new(&config, &root);
        let cache = config
            .guard
            .verify_cache
            .unwrap_or_else(|| keys.any_asymmetric())
            .then(|| VerifyCache::new(config.guard.verify_cache_size, CacheMeters::new()));
        let paths = super::paths::Paths::new(&config);
        if let Some(clash) = paths.clash() {
            return Err(ConfigError::new(
                "prefix",
                &config.endpoints.prefix,
                format!("the discovery path {clash} is an endpoint's path under it: move the prefix or the issuer's path"),
            ));
        }
        let clients = super::client_cache::ClientCache::new().map_err(|error| {
            ConfigError::new(
                "keys",
                "",
                format!("no randomness for the client cache: {error}"),
            )
        })?;
        let Opened {
            sessions: store,
            failures: counter,
            ..
        } = sessions(self.store, self.failures.is_some(), &config)?;
        let failures = attempt_counter(self.failures, counter, store.name());
        let factors = self.factors.or_else(|| Arc::clone(&store).factor_store());
        let store: Arc<dyn SessionStore> = Arc::new(MeasuredStore::new(store));
        let mfa = second_factors(&config, factors.clone())?;
        let issuers = other_issuers(&config)?;
        #[cfg(feature = "federation")]
        let providers = identity_providers(&config, factors)?;
        #[cfg(not(feature = "federation"))]
        identity_providers(&config)?;
        Ok(TokenGate {
            inner: Arc::new(Inner {
                keys,
                credentials,
                store,
                failures,
                checks: CheckQueue::new(
                    usize::try_from(config.throttle.hash_queue_depth).unwrap_or(usize::MAX),
                ),
                mfa,
                issuers,
                #[cfg(feature = "federation")]
                providers,
                cookies,
                revocations: RevocationCache::default(),
                cache,
                clients,
                paths,
                on_audit: self.on_audit,
                on_error: self.on_error,
                on_claims: self.on_claims,
                #[cfg(feature = "prometheus")]
                metrics,
                proxy_warned: AtomicBool::new(false),
                peerless_warned: AtomicBool::new(false),
                config,
            }),
        })
    }
}

/// The session store: the one given to the builder (and the attempt counter it keeps, if
/// any), else the one the configuration names (and its counter).
fn sessions(
    given: Option<Arc<dyn SessionStore>>,
    counter_given: bool,
    config: &Config,
) -> Result<Opened, ConfigError> {
    if let Some(store) = given {
        // A store that can count counts (SQLite, Redis, PostgreSQL): throttling and
        // ticket single use are then shared by every instance on it.
        let counter = Arc::clone(&store).shared_counter();
        if counter.is_none() && !counter_given {
            tracing::warn!(
                target: "tokengate",
                "the session store given to the builder keeps no attempt counter: sign-in \
                 throttling and WebSocket ticket single use count in this process only; \
                 give a shared one with `.attempt_counter(..)` behind a load balancer"
            );
        }
        Ok(Opened {
            sessions: store,
            failures: counter,
        })
    } else {
        let store = &config.store;
        crate::store::open_with(store).map_err(|reason| {
            let url = &config.store.url;
            ConfigError::new(
                "store",
                &crate::config::redacted_url(url),
                crate::config::redacted_in(reason.message(), url),
            )
        })
    }
}

/// The attempt counter the gate counts with, its operations timed: the one given, else the
/// store's own, else one in memory. It is named after the store that keeps it; one given
/// apart is `custom`.
fn attempt_counter(
    given: Option<Arc<dyn AttemptCounter>>,
    kept: Option<Arc<dyn AttemptCounter>>,
    store: &'static str,
) -> Arc<dyn AttemptCounter> {
    let (counter, name) = match (given, kept) {
        (Some(given), _) => (given, "custom"),
        (None, Some(kept)) => (kept, store),
        (None, None) => (
            Arc::new(MemoryCounter::new()) as Arc<dyn AttemptCounter>,
            "memory",
        ),
    };
    Arc::new(MeasuredCounter::new(counter, name))
}

/// The Prometheus exposition `metrics_path` serves, where it is set: the recorder installed
/// for the process (once, for every gate), or why it cannot be. (Without the feature, the
/// configuration's checks refuse `metrics_path`.)
#[cfg(feature = "prometheus")]
fn exposition(
    config: &Config,
) -> Result<Option<&'static metrics_exporter_prometheus::PrometheusHandle>, ConfigError> {
    let Some(path) = &config.endpoints.metrics_path else {
        return Ok(None);
    };
    crate::telemetry::prometheus::handle()
        .map(Some)
        .map_err(|why| ConfigError::new("metrics_path", path, why))
}

/// The other issuers whose access tokens `config` accepts (`[[issuers]]`), their keys
/// fetched as soon as a runtime runs.
#[cfg(feature = "federation")]
fn other_issuers(
    config: &Config,
) -> Result<Option<crate::federation::issuers::Issuers>, ConfigError> {
    use crate::federation::fetch::HttpKeys;
    use crate::federation::issuers::Issuers;
    use crate::federation::keys::{CacheBounds, FetchKeys};
    use crate::federation::verify::{ForeignKey, IssuerPolicy};

    let federation = &config.federation;
    if federation.issuers.is_empty() {
        return Ok(None);
    }
    crate::jws::install_crypto_provider()
        .map_err(|reason| ConfigError::new("issuers", "", reason.to_string()))?;
    let leeway = config.tokens.leeway.as_secs();
    let mut policies = Vec::with_capacity(federation.issuers.len());
    for (at, issuer) in federation.issuers.iter().enumerate() {
        let refuse = |what: &str, value: &str, why: String| {
            ConfigError::new(&format!("issuers[{at}].{what}"), value, why)
        };
        let algorithms = issuer
            .algorithms
            .iter()
            .map(|name| {
                name.parse::<jsonwebtoken::Algorithm>()
                    .map_err(|_| refuse("algorithms", name, "is not an algorithm".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let fetcher: Arc<dyn FetchKeys<ForeignKey>> =
            HttpKeys::new(&issuer.issuer, federation.keys_wait.max(FETCH_TIMEOUT))
                .map_err(|why| refuse("issuer", &issuer.issuer, why))?;
        let policy = IssuerPolicy {
            issuer: issuer.issuer.clone(),
            audience: issuer.audience.clone(),
            algorithms,
            roles_claim: issuer.roles_claim.clone(),
            scopes_claim: issuer.scopes_claim.clone(),
            leeway,
        };
        policies.push((policy, fetcher));
    }
    let bounds = CacheBounds {
        min_interval: federation.keys_interval,
        max_age: federation.keys_max_age,
        wait: federation.keys_wait,
    };
    let issuers = Issuers::new(policies, bounds);
    issuers.prefetch();
    Ok(Some(issuers))
}

/// How long one fetch of an issuer's discovery document or keys may take, at least (a
/// request waits `issuer_keys_wait` for it; the fetch itself goes on that long).
#[cfg(feature = "federation")]
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Without the feature, `[[issuers]]` is refused rather than ignored.
#[cfg(not(feature = "federation"))]
fn other_issuers(
    config: &Config,
) -> Result<Option<crate::federation::issuers::Issuers>, ConfigError> {
    match config.federation.issuers.first() {
        None => Ok(None),
        Some(issuer) => Err(ConfigError::new(
            "issuers[0].issuer",
            &issuer.issuer,
            "this build accepts no other issuers: enable tokengate's `federation` feature",
        )),
    }
}

/// The identity providers users sign in with (`[[providers]]`), discovered as soon as a
/// runtime runs; their sign-ins keep their states and codes among the store's challenges.
#[cfg(feature = "federation")]
fn identity_providers(
    config: &Config,
    states: Option<Arc<dyn FactorStore>>,
) -> Result<Option<crate::federation::providers::Providers>, ConfigError> {
    use crate::federation::providers::Providers;

    if config.federation.providers.is_empty() {
        return Ok(None);
    }
    let states = states.ok_or_else(|| {
        ConfigError::new(
            "providers",
            "",
            "the session store keeps no challenges, where provider sign-ins keep their state: give one with `.factor_store(..)`",
        )
    })?;
    crate::jws::install_crypto_provider()
        .map_err(|reason| ConfigError::new("providers", "", reason.to_string()))?;
    let providers = Providers::new(&config.federation, states)?;
    providers.prefetch();
    Ok(Some(providers))
}

/// Without the feature, `[[providers]]` is refused rather than ignored.
#[cfg(not(feature = "federation"))]
fn identity_providers(config: &Config) -> Result<(), ConfigError> {
    match config.federation.providers.first() {
        None => Ok(()),
        Some(provider) => Err(ConfigError::new(
            "providers[0].name",
            &provider.name,
            "this build signs in with no identity provider: enable tokengate's `federation` feature",
        )),
    }
}

/// The second factors `config` turns on, over `factors`; the relying party where passkeys are.
fn second_factors(
    config: &Config,
    factors: Option<Arc<dyn FactorStore>>,
) -> Result<Option<super::Mfa>, ConfigError> {
    #[cfg(not(feature = "passkeys"))]
    if let Some(rp_id) = &config.mfa.passkey_rp_id {
        return Err(ConfigError::new(
            "passkey_rp_id",
            rp_id,
            "this build has no passkeys: enable tokengate's `passkeys` feature",
        ));
    }
    match (&config.mfa.key, factors) {
        (None, _) => Ok(None),
        (Some(key), Some(factors)) => Ok(Some(super::Mfa {
            factors,
            sealer: crate::mfa::seal::Sealer::new(key, &config.mfa.previous_keys),
            #[cfg(feature = "passkeys")]
            passkeys: crate::mfa::passkey::Passkeys::new(&config.mfa).map_err(|reason| {
                ConfigError::new(
                    "passkey_rp_id",
                    config.mfa.passkey_rp_id.as_deref().unwrap_or(""),
                    reason,
                )
            })?,
        })),
        (Some(_), None) => Err(ConfigError::new(
            "mfa_key",
            "(hidden)",
            "the session store keeps no second factors: give one with `.factor_store(..)`",
        )),
    }
}
