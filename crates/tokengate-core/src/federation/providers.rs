//! OpenID providers users sign in with. Each one is found by discovery (its endpoints and
//! keys), bounded in time and retried in the background while it is down: until it is found,
//! its sign-ins answer 503, and start-up never waits for it. The protocol is the
//! `openidconnect` crate's: the authorization URL with PKCE (S256), the code exchange, and the
//! ID token's checks (issuer, audience, `azp`, nonce, expiry, signature with the provider's
//! keys and a public-key algorithm it announces; never `none`, never HMAC).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse as _,
};
use serde_json::{Map, Value};

use super::fetch::plain_address;
use super::http::Http;
use crate::config::{ConfigError, FederationSettings, ProviderSettings};
use crate::jws::Secret;
use crate::store::FactorStore;

/// How long one discovery or token request may take, at most.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A provider's client once discovered: its endpoints, its keys and this application's
/// registration there.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What discovery found.
struct Discovered {
    client: Client,
    /// The public-key algorithms the provider signs ID tokens with.
    algorithms: Vec<CoreJwsSigningAlgorithm>,
}

/// Why a provider's answer gave no identity.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The provider is not found yet, or could not be reached: 503.
    Down,
    /// It refused, or what it answered did not verify; the text says which (never a token).
    Refused(&'static str),
}

/// The providers of one gate, and where their sign-ins keep state (the one-time states and
/// codes, in the session store's challenges).
pub(crate) struct Providers {
    list: Vec<Arc<Provider>>,
    pub(crate) states: Arc<dyn FactorStore>,
    pub(crate) return_origins: Vec<String>,
    pub(crate) state_ttl: i64,
    pub(crate) code_ttl: i64,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers")
            .field(
                "names",
                &self.list.iter().map(|p| &p.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Providers {
    /// The providers `settings` configure, over `states`; each one's secret read.
    pub(crate) fn new(
        settings: &FederationSettings,
        states: Arc<dyn FactorStore>,
    ) -> Result<Self, ConfigError> {
        let mut list = Vec::with_capacity(settings.providers.len());
        for (at, provider) in settings.providers.iter().enumerate() {
            list.push(Arc::new(Provider::new(at, provider, settings)?));
        }
        let seconds = |ttl: Duration| i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Ok(Self {
            list,
            states,
            return_origins: settings.return_origins.clone(),
            state_ttl: seconds(settings.state_ttl),
            code_ttl: seconds(settings.code_ttl),
        })
    }

    /// The provider of this name.
    pub(crate) fn named(&self, name: &str) -> Option<&Arc<Provider>> {
        self.list.iter().find(|provider| provider.name == name)
    }

    /// Starts discovering every provider, when a runtime runs: each one is retried every
    /// interval until it is found.
    pub(crate) fn prefetch(&self) {
        if tokio::runtime::Handle::try_current().is_ok() {
            for provider in &self.list {
                let provider = Arc::downgrade(provider);
                tokio::spawn(until_found(provider));
            }
        }
    }
}

/// Discovers a provider, and again every interval until it is found; ends with its gate.
async fn until_found(provider: Weak<Provider>) {
    loop {
        let interval = {
            let Some(provider) = provider.upgrade() else {
                return;
            };
            if provider.current().is_some() {
                return;
            }
            provider.discover_claimed().await;
            if provider.current().is_some() {
                return;
            }
            provider.interval
        };
        tokio::time::sleep(interval).await;
    }
}

/// One provider.
pub(crate) struct Provider {
    pub(crate) name: String,
    issuer: String,
    client_id: String,
    secret: Option<Secret>,
    redirect: RedirectUrl,
    scopes: Vec<String>,
    /// Claims copied from its ID tokens: the name here, the path there.
    claims: Vec<(String, String)>,
    trust_mfa: bool,
    mfa_acr: Vec<String>,
    http: Http,
    /// What discovery found last; sign-ins that wait for one watch it.
    discovered: tokio::sync::watch::Sender<Option<Arc<Discovered>>>,
    /// When discovery was last started: at most one per interval, however many sign-ins wait.
    tried: Mutex<Option<Instant>>,
    /// Whether a discovery is under way.
    discovering: AtomicBool,
    interval: Duration,
    wait: Duration,
}

impl Provider {
    fn new(
        at: usize,
        settings: &ProviderSettings,
        federation: &FederationSettings,
    ) -> Result<Self, ConfigError> {
        let refuse = |what: &str, value: &str, why: String| {
            ConfigError::new(&format!("providers[{at}].{what}"), value, why)
        };
        let secret = match (&settings.client_secret, &settings.client_secret_file) {
            (Some(secret), _) => Some(secret.clone()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|error| {
                    refuse(
                        "client_secret_file",
                        path,
                        format!("cannot be read: {error}"),
                    )
                })?;
                Some(Secret::new(text.trim().as_bytes().to_vec()))
            }
            (None, None) => None,
        };
        let redirect = RedirectUrl::new(settings.redirect_uri.clone())
            .map_err(|error| refuse("redirect_uri", &settings.redirect_uri, error.to_string()))?;
        let http = Http::new(TIMEOUT).map_err(|why| refuse("issuer", &settings.issuer, why))?;
        Ok(Self {
            name: settings.name.clone(),
            issuer: settings.issuer.clone(),
            client_id: settings.client_id.clone(),
            secret,
            redirect,
            scopes: settings
                .scopes
                .iter()
                .filter(|scope| *scope != "openid")
                .cloned()
                .collect(),
            claims: settings
                .claims
                .iter()
                .map(|(local, theirs)| (local.clone(), theirs.clone()))
                .collect(),
            trust_mfa: settings.trust_mfa,
            mfa_acr: settings.mfa_acr.clone(),
            http,
            discovered: tokio::sync::watch::Sender::new(None),
            tried: Mutex::new(None),
            discovering: AtomicBool::new(false),
            interval: federation.keys_interval,
            wait: federation.keys_wait,
        })
    }

    fn current(&self) -> Option<Arc<Discovered>> {
        self.discovered.borrow().clone()
    }

    /// Discovers the provider unless a discovery started within the interval (claimed under
    /// the lock: a burst starts one); `false` when it did not start one.
    async fn discover_claimed(&self) -> bool {
        let claimed = {
            let mut tried = self.tried.lock().unwrap_or_else(PoisonError::into_inner);
            if tried.is_some_and(|at| at.elapsed() < self.interval) {
                false
            } else {
                *tried = Some(Instant::now());
                true
            }
        };
        if claimed {
            self.discovering.store(true, Ordering::SeqCst);
            match self.discover().await {
                Ok(found) => {
                    self.discovered.send_replace(Some(Arc::new(found)));
                }
                Err(why) => {
                    tracing::warn!(target: "tokengate", provider = %self.name, %why, "identity provider discovery failed; retried");
                }
            }
            self.discovering.store(false, Ordering::SeqCst);
        }
        claimed
    }

    /// The provider as discovered; found now (waiting at most `wait`, the discovery going on
    /// after) when it is not yet and no discovery started within the interval.
    async fn ready(self: &Arc<Self>) -> Option<Arc<Discovered>> {
        if let Some(found) = self.current() {
            return Some(found);
        }
        let mut seen = self.discovered.subscribe();
        let provider = Arc::clone(self);
        let discovery = tokio::spawn(async move { provider.discover_claimed().await });
        let _ = tokio::time::timeout(self.wait, async {
            let claimed = discovery.await.unwrap_or(false);
            // Another request's discovery is under way: its outcome is this one's too.
            if !claimed && self.discovering.load(Ordering::SeqCst) {
                let _ = seen.wait_for(Option::is_some).await;
            }
        })
        .await;
        self.current()
    }

    /// Discovers the provider again (a key it rotated in), waiting at most `wait`.
    async fn rediscover(self: &Arc<Self>) {
        let provider = Arc::clone(self);
        let discovery = tokio::spawn(async move { provider.discover_claimed().await });
        let _ = tokio::time::timeout(self.wait, discovery).await;
    }

    async fn discover(&self) -> Result<Discovered, String> {
        let issuer = IssuerUrl::new(self.issuer.clone()).map_err(|error| error.to_string())?;
        // The crate checks that the document is the issuer's own (its `issuer`, exactly).
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|error| describe(&error))?;
        let token = metadata
            .token_endpoint()
            .ok_or("its discovery document names no token endpoint")?;
        for (what, address) in [
            (
                "authorization_endpoint",
                metadata.authorization_endpoint().as_str(),
            ),
            ("token_endpoint", token.as_str()),
            ("jwks_uri", metadata.jwks_uri().as_str()),
        ] {
            plain_address(&self.issuer, address).map_err(|why| format!("its {what} {why}"))?;
        }
        let algorithms: Vec<CoreJwsSigningAlgorithm> = metadata
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|alg| public_key(alg))
            .cloned()
            .collect();
        if algorithms.is_empty() {
            return Err("it signs ID tokens with no public-key algorithm".into());
        }
        let secret = self
            .secret
            .as_ref()
            .map(|secret| ClientSecret::new(String::from_utf8_lossy(secret.expose()).into_owned()));
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.client_id.clone()),
            secret,
        )
        .set_redirect_uri(self.redirect.clone());
        Ok(Discovered { client, algorithms })
    }

    /// Where to send the browser to sign in, with `state`, `nonce` and a fresh PKCE challenge;
    /// with the challenge's verifier. `None`: the provider is not found (503).
    pub(crate) async fn authorize(
        self: &Arc<Self>,
        state: &str,
        nonce: &str,
    ) -> Option<(String, String)> {
        let found = self.ready().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (state, nonce) = (state.to_owned(), nonce.to_owned());
        let (url, _, _) = found
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .add_scopes(self.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        Some((url.into(), verifier.into_secret()))
    }

    /// The claims of the ID token the provider gives for `code` (with the PKCE `verifier` and
    /// the `nonce` its sign-in started with), verified. A signature that does not verify sends
    /// for the provider's keys again (at most once per interval) before it is refused.
    pub(crate) async fn prove(
        self: &Arc<Self>,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>, Failure> {
        let found = self.ready().await.ok_or(Failure::Down)?;
        let request = found
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| Failure::Refused("the provider names no token endpoint"))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
        let answer = match request.request_async(&self.http).await {
            Ok(answer) => answer,
            Err(RequestTokenError::ServerResponse(_)) => {
                return Err(Failure::Refused("the provider refused the code"))
            }
            Err(RequestTokenError::Request(error)) => {
                tracing::warn!(target: "tokengate", provider = %self.name, %error, "identity provider unreachable");
                return Err(Failure::Down);
            }
            Err(_) => {
                return Err(Failure::Refused(
                    "the provider's answer is not a token answer",
                ))
            }
        };
        let token = answer
            .id_token()
            .ok_or(Failure::Refused("the provider gave no ID token"))?;
        let nonce = Nonce::new(nonce.to_owned());
        let check = |found: &Discovered| {
            let verifier = found
                .client
                .id_token_verifier()
                .set_allowed_algs(found.algorithms.clone());
            token
                .claims(&verifier, &nonce)
                .map_err(|error| {
                    (
                        matches!(error, ClaimsVerificationError::SignatureVerification(_)),
                        error,
                    )
                })
                .and_then(|_| {
                    // Verified: every claim of its payload, those the crate does not model too
                    // (`hd`, `tid`, `groups`...), read from the very bytes the signature covers.
                    payload(&token.to_string()).ok_or((
                        false,
                        ClaimsVerificationError::Other("unreadable claims".into()),
                    ))
                })
        };
        match check(&found) {
            Ok(claims) => Ok(claims),
            Err((true, _)) => {
                self.rediscover().await;
                match self.current() {
                    Some(again) if !Arc::ptr_eq(&again, &found) => {
                        check(&again).map_err(|_| Failure::Refused("the ID token did not verify"))
                    }
                    _ => Err(Failure::Refused("the ID token did not verify")),
                }
            }
            Err((false, error)) => {
                tracing::info!(target: "tokengate", provider = %self.name, %error, "ID token refused");
                Err(Failure::Refused("the ID token did not verify"))
            }
        }
    }

    /// Its issuer, exactly (an `iss` on its callback must be it: RFC 9207).
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The claims its ID token gives the access tokens, under their names here.
    pub(crate) fn mapped_claims(&self, claims: &Map<String, Value>) -> Map<String, Value> {
        let mut mapped = Map::new();
        for (local, path) in &self.claims {
            let mut value = None;
            for (at, step) in path.split('.').enumerate() {
                value = if at == 0 {
                    claims.get(step)
                } else {
                    value.and_then(|inner: &Value| inner.get(step))
                };
            }
            if let Some(value) = value {
                mapped.insert(local.clone(), value.clone());
            }
        }
        mapped
    }

    /// Whether its ID token says it proved a second factor, and it is trusted to.
    pub(crate) fn proved_mfa(&self, claims: &Map<String, Value>) -> bool {
        if !self.trust_mfa {
            return false;
        }
        let amr = claims
            .get("amr")
            .and_then(Value::as_array)
            .is_some_and(|methods| methods.iter().any(|m| m.as_str() == Some("mfa")));
        let acr = claims
            .get("acr")
            .and_then(Value::as_str)
            .is_some_and(|acr| self.mfa_acr.iter().any(|known| known == acr));
        amr || acr
    }
}

/// The claims of a compact JWS, as a JSON object.
fn payload(compact: &str) -> Option<Map<String, Value>> {
    use base64::Engine as _;
    let encoded = compact.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether an algorithm signs with a public key (never `none`, never an HMAC).
fn public_key(alg: &CoreJwsSigningAlgorithm) -> bool {
    use CoreJwsSigningAlgorithm as A;
    matches!(
        alg,
        A::RsaSsaPkcs1V15Sha256
            | A::RsaSsaPkcs1V15Sha384
            | A::RsaSsaPkcs1V15Sha512
            | A::RsaSsaPssSha256
            | A::RsaSsaPssSha384
            | A::RsaSsaPssSha512
            | A::EcdsaP256Sha256
            | A::EcdsaP384Sha384
            | A::EdDsa
    )
}

/// A discovery error, in words (with the source's own).
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
