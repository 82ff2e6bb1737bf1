//! Access tokens of another issuer: a small identity provider of the test (its discovery
//! document and JWKS over HTTP on this machine, its keys made at test time), the gate
//! configured to accept its tokens, and what the guard makes of them.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::keys::{p256, TestKey};
use super::mfa::sign_in;
use super::{demo, start_with, Adapter, Body, Server};

/// The audience the test issuer's tokens are for.
pub const AUDIENCE: &str = "orders-api";

/// What the identity provider serves, and how often its keys were fetched.
struct Published {
    issuer: String,
    keys: Mutex<Vec<Value>>,
    jwks_fetches: AtomicUsize,
    down: AtomicBool,
    max_age: Mutex<u64>,
    /// The codes it gave, each once, with what its sign-in was asked for.
    grants: Mutex<std::collections::HashMap<String, Grant>>,
    /// The key its ID tokens are signed with, and its id.
    signer: Mutex<(TestKey, String)>,
    /// Changes to the next ID tokens: claims over the usual ones (`null` removes one), and
    /// a header instead of the usual one.
    id_claims: Mutex<Value>,
    id_header: Mutex<Option<Value>>,
    /// How many codes were exchanged at its token endpoint.
    exchanges: AtomicUsize,
}

/// A code the provider gave: for whom, to which client, with what PKCE challenge and nonce.
#[derive(Clone)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    subject: String,
}

/// The client this provider knows, and its secret (a test fixture, made up here).
pub const CLIENT_ID: &str = "tokengate-test";
pub const CLIENT_SECRET: &str = "test-only-client-secret";

/// An identity provider of the test: its issuer URL and its signing keys.
pub struct Idp {
    pub issuer: String,
    pub key: TestKey,
    pub kid: String,
    published: Arc<Published>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    i64::try_from(secs).expect("seconds")
}

/// 16 random bytes.
fn rand_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("randomness");
    bytes
}

/// The public JWK of a P-256 key.
pub fn jwk(key: &TestKey, kid: &str) -> Value {
    // The uncompressed point: 0x04, then x and y.
    let (x, y) = key.public[1..].split_at(32);
    json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
    })
}

async fn discovery(State(published): State<Arc<Published>>) -> impl IntoResponse {
    if published.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let issuer = &published.issuer;
    axum::Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
    }))
    .into_response()
}

/// The token endpoint: a code it gave, once, for its client (HTTP Basic), with its redirect
/// URI and the PKCE verifier of its challenge; answers an ID token for the sign-in.
async fn token(
    State(published): State<Arc<Published>>,
    headers: axum::http::HeaderMap,
    body: String,
) -> impl IntoResponse {
    if published.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let refuse = |status: StatusCode, error: &str| {
        (status, axum::Json(json!({ "error": error }))).into_response()
    };
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|value| base64::engine::general_purpose::STANDARD.decode(value).ok())
        .and_then(|value| String::from_utf8(value).ok());
    let client = basic.as_deref().and_then(|pair| pair.split_once(':'));
    if client != Some((CLIENT_ID, CLIENT_SECRET)) {
        return refuse(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(grant) = published.grants.lock().expect("grants").remove(&code) else {
        return refuse(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    if URL_SAFE_NO_PAD.encode(digest.as_ref()) != grant.challenge
        || form.get("redirect_uri") != Some(&grant.redirect_uri)
        || form.get("grant_type").map(String::as_str) != Some("authorization_code")
        || grant.client_id != CLIENT_ID
    {
        return refuse(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    published.exchanges.fetch_add(1, Ordering::SeqCst);
    let mut claims = json!({
        "iss": published.issuer, "sub": grant.subject, "aud": CLIENT_ID,
        "iat": now(), "exp": now() + 300, "nonce": grant.nonce,
        "email": format!("{}@idp.example", grant.subject), "email_verified": true,
        "name": format!("User {}", grant.subject),
    });
    for (name, value) in published
        .id_claims
        .lock()
        .expect("claims")
        .as_object()
        .expect("an object")
    {
        if value.is_null() {
            claims.as_object_mut().expect("an object").remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    let (key, kid) = published.signer.lock().expect("signer").clone();
    let header = published
        .id_header
        .lock()
        .expect("header")
        .clone()
        .unwrap_or_else(|| json!({ "alg": "ES256", "typ": "JWT", "kid": kid }));
    let id_token = if header["alg"] == "none" {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    } else {
        key.sign(&header, &claims)
    };
    axum::Json(json!({
        "access_token": format!("at-{code}"), "token_type": "Bearer", "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

async fn jwks(State(published): State<Arc<Published>>) -> impl IntoResponse {
    published.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if published.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let keys = published.keys.lock().expect("keys").clone();
    let max_age = *published.max_age.lock().expect("max age");
    (
        [(header::CACHE_CONTROL, format!("public, max-age={max_age}"))],
        axum::Json(json!({ "keys": keys })),
    )
        .into_response()
}

impl Idp {
    /// A provider serving one ES256 key, listening on a free port of this machine.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("bind a free port");
        let issuer = format!("http://{}", listener.local_addr().expect("address"));
        let (key, kid) = (p256(), "idp-1".to_owned());
        let published = Arc::new(Published {
            issuer: issuer.clone(),
            keys: Mutex::new(vec![jwk(&key, &kid)]),
            jwks_fetches: AtomicUsize::new(0),
            down: AtomicBool::new(false),
            max_age: Mutex::new(300),
            grants: Mutex::default(),
            signer: Mutex::new((key.clone(), kid.clone())),
            id_claims: Mutex::new(json!({})),
            id_header: Mutex::new(None),
            exchanges: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", axum::routing::post(token))
            .with_state(Arc::clone(&published));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            issuer,
            key,
            kid,
            published,
            task,
        }
    }

    /// The `[[issuers]]` table that accepts this provider's tokens, under `[default]`.
    pub fn config(&self, extra: &str) -> String {
        format!(
            "[default]\n{extra}\n[[default.issuers]]\nissuer = \"{}\"\naudience = \"{AUDIENCE}\"\n\
             roles_claim = \"realm_access.roles\"\n",
            self.issuer
        )
    }

    /// A token of this provider with these claims over the usual ones.
    pub fn token(&self, claims: &Value) -> String {
        let mut all = json!({
            "iss": self.issuer, "aud": AUDIENCE, "sub": "svc-orders",
            "iat": now(), "exp": now() + 300, "scope": "read",
        });
        for (name, value) in claims.as_object().expect("an object") {
            all[name] = value.clone();
        }
        self.signed(
            &json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid }),
            &all,
        )
    }

    /// A JWS over any header and claims, signed with this provider's key.
    pub fn signed(&self, header: &Value, claims: &Value) -> String {
        self.key.sign(header, claims)
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.published.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Whether the provider answers 503 to everything.
    pub fn set_down(&self, down: bool) {
        self.published.down.store(down, Ordering::SeqCst);
    }

    /// The keys it publishes from now on.
    pub fn publish(&self, keys: Vec<Value>) {
        *self.published.keys.lock().expect("keys") = keys;
    }

    /// The user `subject` signs in at the provider, as the browser sent there by `location`
    /// (the gate's `302` to its authorization endpoint) asks: the code the provider then
    /// gives, and the state to send back with it.
    pub fn grant(&self, location: &str, subject: &str) -> (String, String) {
        let url = url::Url::parse(location).expect("an authorization URL");
        assert_eq!(
            url.as_str().split('?').next(),
            Some(format!("{}/authorize", self.issuer).as_str()),
            "{location}"
        );
        let query: std::collections::HashMap<String, String> =
            url.query_pairs().into_owned().collect();
        assert_eq!(query.get("response_type").map(String::as_str), Some("code"));
        assert_eq!(
            query.get("code_challenge_method").map(String::as_str),
            Some("S256")
        );
        assert!(
            query
                .get("scope")
                .is_some_and(|scope| scope.split(' ').any(|s| s == "openid")),
            "{location}"
        );
        let code = format!("code-{}", URL_SAFE_NO_PAD.encode(rand_bytes()));
        let grant = Grant {
            client_id: query.get("client_id").cloned().unwrap_or_default(),
            redirect_uri: query.get("redirect_uri").cloned().unwrap_or_default(),
            challenge: query.get("code_challenge").cloned().unwrap_or_default(),
            nonce: query.get("nonce").cloned(),
            subject: subject.to_owned(),
        };
        self.published
            .grants
            .lock()
            .expect("grants")
            .insert(code.clone(), grant);
        (code, query.get("state").cloned().unwrap_or_default())
    }

    /// Claims over the usual ones in the next ID tokens (`null` removes one).
    pub fn set_id_claims(&self, claims: Value) {
        *self.published.id_claims.lock().expect("claims") = claims;
    }

    /// The header of the next ID tokens (`alg: none` makes them unsigned); `None`: the usual.
    pub fn set_id_header(&self, header: Option<Value>) {
        *self.published.id_header.lock().expect("header") = header;
    }

    /// The key the next ID tokens are signed with, under this key id.
    pub fn sign_id_tokens_with(&self, key: TestKey, kid: &str) {
        *self.published.signer.lock().expect("signer") = (key, kid.to_owned());
    }

    /// How many codes were exchanged.
    pub fn exchanges(&self) -> usize {
        self.published.exchanges.load(Ordering::SeqCst)
    }

    /// The `max-age` of its JWKS answers from now on.
    pub fn set_max_age(&self, seconds: u64) {
        *self.published.max_age.lock().expect("max age") = seconds;
    }
}

/// The gate, configured to accept `idp`'s tokens (`extra`: more keys of `[default]`).
pub async fn start_for(adapter: Adapter, idp: &Idp, extra: &str) -> Server {
    start_with(adapter, Some(&idp.config(extra)), &[]).await
}

/// A `GET` with `token` as the bearer.
async fn get_as(server: &Server, path: &str, token: &str) -> super::Reply {
    let auth = format!("Bearer {token}");
    server.get(path, &[("authorization", &auth)]).await
}

pub async fn tokens_of_a_configured_issuer_reach_guarded_routes(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for(adapter, &idp, "").await;
    let token = idp.token(&json!({}));
    let me = get_as(&server, "/api/rest/me", &token).await;
    me.expect(200);
    let claims = me.json();
    assert_eq!(claims["iss"], idp.issuer.as_str(), "{claims}");
    assert_eq!(claims["sub"], "svc-orders", "{claims}");
    // Its `scope` is mapped to scopes: `read` opens the reports, not the administrators'
    // route, and a token of another issuer is no application login of this gate's.
    get_as(&server, "/api/rest/reports", &token)
        .await
        .expect(200);
    get_as(&server, "/api/rest/admin", &token)
        .await
        .expect(403)
        .error("insufficient_scope");
    get_as(&server, "/api/rest/machine", &token)
        .await
        .expect(403);
    // Its roles, from the claim the configuration names.
    let admin = idp.token(&json!({ "realm_access": { "roles": ["admin"] }, "scope": "" }));
    get_as(&server, "/api/rest/admin", &admin).await.expect(200);
    get_as(&server, "/api/rest/reports", &admin)
        .await
        .expect(200);
    let none = idp.token(&json!({ "scope": "write" }));
    get_as(&server, "/api/rest/reports", &none)
        .await
        .expect(403);
    // No assurance is taken from another issuer: its `acr` proves no second factor here.
    let claimed = idp.token(&json!({ "acr": "aal2", "amr": ["otp"], "auth_time": 0 }));
    // Refused as lacking it (403), not asked to step up here: it never could.
    get_as(&server, "/api/rest/vault", &claimed)
        .await
        .expect(403)
        .error("insufficient_scope")
        .says("acr:aal2");
    let auth = format!("Bearer {claimed}");
    server
        .post(
            "/api/rest/transfer",
            Body::None,
            &[("authorization", &auth)],
        )
        .await
        .expect(403)
        .says("max_age:");
    // What only this gate may say is not taken from another issuer: not an application login
    // (nor a user of this gate's), no role outside the configured claim, no factor proved.
    let claiming = idp.token(&json!({
        "app": "demo-app", "roles": ["admin"], "acr": "aal2", "amr": ["hwk"],
        "auth_time": now(), "mfa_pending": true, "scope": "read",
    }));
    let seen = get_as(&server, "/api/rest/me", &claiming).await;
    seen.expect(200);
    let seen = seen.json();
    for name in ["app", "acr", "amr", "auth_time", "mfa_pending", "roles"] {
        assert!(
            seen.get(name).is_none(),
            "`{name}` reached the handler: {seen}"
        );
    }
    assert_eq!(seen["scope"], "read", "{seen}");
    get_as(&server, "/api/rest/admin", &claiming)
        .await
        .expect(403);
    get_as(&server, "/api/rest/machine", &claiming)
        .await
        .expect(403);
    get_as(&server, "/api/rest/account", &claiming)
        .await
        .expect(403);
    // The mapped roles are what the handler sees as `roles`.
    let seen = get_as(&server, "/api/rest/me", &admin).await.json();
    assert_eq!(seen["roles"], json!(["admin"]), "{seen}");
    // The gate's own tokens keep working beside them.
    let (own, _) = sign_in(&server, demo::USER).await;
    get_as(&server, "/api/rest/me", &own.access)
        .await
        .expect(200);
}

pub async fn tokens_of_another_issuer_open_no_session_endpoint(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for(adapter, &idp, "").await;
    let token = idp.token(&json!({}));
    let auth = format!("Bearer {token}");
    for path in [
        "/api/rest/token",
        "/api/rest/ticket",
        "/api/rest/mfa/totp",
        "/api/rest/passkeys/register/options",
    ] {
        let reply = server
            .post(path, Body::None, &[("authorization", &auth)])
            .await;
        assert!(
            matches!(reply.status, 400 | 401),
            "{path} answered {}: {}",
            reply.status,
            reply.text()
        );
        assert!(reply.json()["error"].is_string());
    }
    server
        .post(
            "/api/rest/token",
            Body::Form(&[("token", token.as_str())]),
            &[],
        )
        .await
        .expect(401);
    // Sign-out answers any token it does not know as one already ended (200) and ends
    // nothing: not even where the other issuer's subject has a local user's name.
    let (local, _) = sign_in(&server, demo::USER).await;
    let namesake = idp.token(&json!({ "sub": demo::USER.0 }));
    get_as(&server, "/api/rest/me", &namesake).await.expect(200);
    for body in [
        Body::Form(&[("token", namesake.as_str()), ("scope", "global")]),
        Body::Form(&[("scope", "global")]),
    ] {
        let auth = format!("Bearer {namesake}");
        let reply = server
            .post("/api/rest/signout", body, &[("authorization", &auth)])
            .await;
        reply.expect(200);
        assert_eq!(reply.json()["sessionsEnded"], 0, "{}", reply.text());
    }
    server.refresh(&local.refresh).await.tokens();
    get_as(&server, "/api/rest/me", &local.access)
        .await
        .expect(200);
    for path in ["/api/rest/sessions", "/api/rest/mfa", "/api/rest/passkeys"] {
        get_as(&server, path, &token).await.expect(401);
    }
    // Nor is it read from the access cookie: that cookie is this gate's own.
    let cookie = format!("access_token={token}");
    server
        .get("/api/rest/me", &[("cookie", &cookie)])
        .await
        .expect(401);
}

pub async fn tokens_of_another_issuer_are_held_to_its_policy(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for(adapter, &idp, "").await;
    let refused = |token: String| {
        let server = &server;
        async move {
            let reply = get_as(server, "/api/rest/me", &token).await;
            reply.invalid_token();
            reply
        }
    };
    refused(idp.token(&json!({ "aud": "another-api" }))).await;
    refused(idp.token(&json!({ "exp": now() - 600 })))
        .await
        .says("expired");
    refused(idp.token(&json!({ "nbf": now() + 600 }))).await;
    refused(idp.token(&json!({ "sub": "" }))).await;
    // Times are integers, as in this gate's own tokens (a float would be rounded, and read
    // differently by the guard and the handler).
    let at = now();
    #[allow(clippy::cast_precision_loss)]
    let later = (at + 300) as f64 + 0.25;
    refused(idp.token(&json!({ "exp": later }))).await;
    refused(idp.token(&json!({ "iat": 1.5 }))).await;
    refused(idp.token(&json!({ "exp": u64::MAX }))).await;
    refused(idp.token(&json!({ "nbf": "0" }))).await;
    let no_exp = json!({ "iss": idp.issuer, "aud": AUDIENCE, "sub": "x" });
    let header = json!({ "alg": "ES256", "kid": idp.kid });
    refused(idp.signed(&header, &no_exp)).await;
    // Signed by another key under the provider's key id.
    let forger = p256();
    let claims = json!({ "iss": idp.issuer, "aud": AUDIENCE, "sub": "x", "exp": now() + 60 });
    refused(forger.sign(&header, &claims)).await;
    // No key id; an algorithm it does not allow; `none`; the public key as an HMAC secret.
    refused(idp.signed(&json!({ "alg": "ES256" }), &claims)).await;
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "kid": idp.kid }).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    refused(unsigned).await;
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({ "alg": "HS256", "kid": idp.kid }).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    for secret in [
        jwk(&idp.key, &idp.kid).to_string().into_bytes(),
        idp.key.public.clone(),
    ] {
        let key = jsonwebtoken::EncodingKey::from_secret(&secret).expect("an HMAC key");
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
                .expect("sign");
        refused(format!("{message}.{signature}")).await;
    }
    // The provider's key never signs for this gate: a token naming the gate's own issuer,
    // signed by the provider, is refused.
    let own = server.gate.config().tokens.issuer.clone();
    let mixed = json!({ "iss": own, "aud": AUDIENCE, "sub": "ada", "exp": now() + 60,
        "iat": now(), "jti": "j", "sid": "s" });
    refused(idp.signed(&header, &mixed)).await;
    // A token naming an issuer that is not configured is not looked up at all.
    let before = idp.jwks_fetches();
    let stranger = json!({ "iss": "https://elsewhere.example", "aud": AUDIENCE, "sub": "x",
        "exp": now() + 60 });
    refused(idp.signed(&header, &stranger)).await;
    assert_eq!(idp.jwks_fetches(), before);
}

/// A request head for [`tokengate::TokenGate::route`].
struct Head(String);

impl tokengate::adapter::RequestHead for Head {
    fn method(&self) -> &'static str {
        "GET"
    }
    fn path(&self) -> &'static str {
        "/api/rest/me"
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        (name == "authorization").then_some(self.0.as_bytes())
    }
}

pub async fn a_pending_check_of_another_issuers_token_never_shows_it(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for(adapter, &idp, "").await;
    let token = idp.token(&json!({}));
    let route = server.gate.route(&Head(format!("Bearer {token}")));
    let shown = format!("{route:?}");
    assert!(shown.contains("Foreign"), "{shown}");
    let signature = token.rsplit('.').next().expect("a signature");
    assert!(!shown.contains(signature), "the token is shown: {shown}");
}

pub async fn unknown_key_ids_fetch_the_keys_at_most_once_per_interval(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for(adapter, &idp, "issuer_keys_interval = \"1h\"").await;
    get_as(&server, "/api/rest/me", &idp.token(&json!({})))
        .await
        .expect(200);
    let fetched = idp.jwks_fetches();
    assert!(fetched >= 1);
    // A flood of tokens naming key ids it never published: the keys are fetched at most
    // once more (the interval has not passed: not at all), and each answer is a 401.
    let claims = json!({ "iss": idp.issuer, "aud": AUDIENCE, "sub": "x", "exp": now() + 60 });
    let flood = (0..40).map(|n| {
        let token = idp.signed(
            &json!({ "alg": "ES256", "kid": format!("random-{n}") }),
            &claims,
        );
        let server = &server;
        async move { get_as(server, "/api/rest/me", &token).await }
    });
    for reply in futures_util::future::join_all(flood).await {
        reply.invalid_token();
    }
    assert!(
        idp.jwks_fetches() <= fetched + 1,
        "{} fetches for a flood of unknown key ids",
        idp.jwks_fetches() - fetched
    );
    // Its known key still works.
    get_as(&server, "/api/rest/me", &idp.token(&json!({})))
        .await
        .expect(200);
}

pub async fn a_rotated_key_is_found_and_a_failing_provider_is_served_from_cache(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for(adapter, &idp, "issuer_keys_interval = \"1s\"").await;
    get_as(&server, "/api/rest/me", &idp.token(&json!({})))
        .await
        .expect(200);
    // The provider adds a key: a token naming it makes the gate fetch the keys again (once
    // the interval has passed since the last fetch).
    let next = p256();
    idp.publish(vec![jwk(&idp.key, &idp.kid), jwk(&next, "idp-2")]);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let claims = json!({ "iss": idp.issuer, "aud": AUDIENCE, "sub": "rotated",
        "exp": now() + 60 });
    let rotated = next.sign(&json!({ "alg": "ES256", "kid": "idp-2" }), &claims);
    get_as(&server, "/api/rest/me", &rotated).await.expect(200);
    // Down: the keys known are served, stale or not, and the refreshes it fails do not
    // refuse them.
    idp.set_down(true);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    get_as(&server, "/api/rest/me", &rotated).await.expect(200);
    get_as(&server, "/api/rest/me", &idp.token(&json!({})))
        .await
        .expect(200);
    // A key it never published, while it is down: refused, never a 500.
    let stray = p256().sign(&json!({ "alg": "ES256", "kid": "idp-3" }), &claims);
    let reply = get_as(&server, "/api/rest/me", &stray).await;
    assert!(matches!(reply.status, 401 | 503), "{}", reply.text());
    assert!(reply.json()["error"].is_string());
}

pub async fn a_provider_down_at_start_answers_503_until_it_is_back(adapter: Adapter) {
    let idp = Idp::start().await;
    idp.set_down(true);
    let server = start_for(
        adapter,
        &idp,
        "issuer_keys_interval = \"1s\"\nissuer_keys_wait = \"1s\"",
    )
    .await;
    let token = idp.token(&json!({}));
    get_as(&server, "/api/rest/me", &token)
        .await
        .expect(503)
        .error("temporarily_unavailable");
    // Where no token is needed, it is an anonymous request rather than an error.
    let health = get_as(&server, "/health", &token).await;
    health.expect(200);
    idp.set_down(false);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // The next request starts the fetch and waits for it (at most `issuer_keys_wait`).
    get_as(&server, "/api/rest/me", &token).await.expect(200);
}
