//! Sign-in with an OpenID provider: the test's provider (see [`super::federation::Idp`]: its
//! discovery, keys and token endpoint, its users signing in as the test says), the browser's
//! and the app's flows, and the attacks on them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::federation::{Idp, CLIENT_ID, CLIENT_SECRET};
use super::keys::p256;
use super::{start_with, Adapter, Body, Reply, Server};

/// The configuration of the gate's providers: `op` (and `other`, a second provider at the
/// same issuer, trusted for its second factors), returning to the app's origins.
pub fn providers_config(idp: &Idp, extra: &str) -> String {
    let provider = |name: &str, more: &str| {
        format!(
            "[[default.providers]]\nname = \"{name}\"\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\n\
             client_secret = \"{CLIENT_SECRET}\"\n\
             redirect_uri = \"http://localhost/api/rest/oidc/{name}/callback\"\n{more}\n",
            idp.issuer
        )
    };
    let interval = if extra.contains("issuer_keys_interval") {
        ""
    } else {
        "issuer_keys_interval = \"1s\"\n"
    };
    format!(
        "[default]\noidc_return_origins = [\"https://app.example.org\", \"com.example.app:\"]\n\
         {interval}issuer_keys_wait = \"2s\"\n{extra}\n{}{}",
        provider("op", "claims = { display = \"name\", domain = \"hd\" }"),
        provider("other", "trust_mfa = true")
    )
}

pub async fn start_for_providers(adapter: Adapter, idp: &Idp, extra: &str) -> Server {
    start_with(adapter, Some(&providers_config(idp, extra)), &[]).await
}

/// A `GET` as a browser sends it, redirects not followed, with these cookies.
pub async fn visit(server: &Server, path: &str, cookies: &str) -> Reply {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let mut request = client.get(server.url(path));
    if !cookies.is_empty() {
        request = request.header("cookie", cookies);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let body = response.bytes().await.expect("a body").to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// The cookies a reply sets (with a value: not those it deletes), as a `Cookie` header.
pub fn cookies_set(reply: &Reply) -> String {
    reply
        .headers_named("set-cookie")
        .iter()
        .filter_map(|cookie| cookie.split(';').next())
        .filter(|pair| {
            pair.split_once('=')
                .is_some_and(|(_, value)| !value.is_empty())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn location(reply: &Reply) -> String {
    reply
        .header("location")
        .unwrap_or_else(|| panic!("no Location: {} {}", reply.status, reply.text()))
        .to_owned()
}

/// A sign-in started at `provider` (`query`: after `?`): the browser's state cookie and where
/// it was sent.
pub async fn start_at(server: &Server, provider: &str, query: &str) -> (String, String) {
    let reply = visit(
        server,
        &format!("/api/rest/oidc/{provider}/start?{query}"),
        "",
    )
    .await;
    reply.expect(302);
    (cookies_set(&reply), location(&reply))
}

/// The callback of `provider` with `code` and `state`, from a browser holding `cookies`.
pub async fn callback(
    server: &Server,
    provider: &str,
    code: &str,
    state: &str,
    cookies: &str,
) -> Reply {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", code)
        .append_pair("state", state)
        .finish();
    visit(
        server,
        &format!("/api/rest/oidc/{provider}/callback?{query}"),
        cookies,
    )
    .await
}

/// A browser's whole sign-in as `subject` at `provider`: the callback's answer.
pub async fn browser_signs_in(server: &Server, idp: &Idp, provider: &str, subject: &str) -> Reply {
    let (cookie, to) = start_at(server, provider, "return_to=%2Fapp%3Fx%3D1").await;
    let (code, state) = idp.grant(&to, subject);
    callback(server, provider, &code, &state, &cookie).await
}

/// A PKCE verifier of an app, and its S256 challenge.
pub fn app_pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("randomness");
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// An app's sign-in as `subject` up to its one-time code; with its PKCE verifier.
pub async fn app_code(server: &Server, idp: &Idp, subject: &str) -> (String, String) {
    let (verifier, challenge) = app_pkce();
    let query = format!(
        "return_to=com.example.app%3A%2Fdone&code_challenge={challenge}&code_challenge_method=S256"
    );
    let (cookie, to) = start_at(server, "op", &query).await;
    let (code, state) = idp.grant(&to, subject);
    let back = callback(server, "op", &code, &state, &cookie).await;
    back.expect(302);
    let to = url::Url::parse(&location(&back)).expect("an app's address");
    assert_eq!(to.scheme(), "com.example.app", "{to}");
    assert!(
        !back
            .headers_named("set-cookie")
            .iter()
            .any(|c| c.contains("access")),
        "an app's sign-in set session cookies"
    );
    let code = to
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .expect("a one-time code");
    (code, verifier)
}

async fn exchange(server: &Server, code: &str, verifier: &str) -> Reply {
    server
        .post(
            "/api/rest/oidc/exchange",
            Body::Form(&[("code", code), ("code_verifier", verifier)]),
            &[],
        )
        .await
}

pub async fn a_browser_signs_in_with_an_identity_provider(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for_providers(adapter, &idp, "").await;
    let reply = visit(&server, "/api/rest/oidc/op/start?return_to=%2Fapp", "").await;
    reply.expect(302);
    let state_cookie = reply
        .headers_named("set-cookie")
        .into_iter()
        .find(|c| c.contains("tokengate-oidc="))
        .expect("the state cookie")
        .to_ascii_lowercase();
    for attribute in ["httponly", "samesite=lax", "max-age=600", "path=/"] {
        assert!(state_cookie.contains(attribute), "{state_cookie}");
    }
    let signed_in = browser_signs_in(&server, &idp, "op", "alice").await;
    signed_in.expect(302);
    assert_eq!(location(&signed_in), "/app?x=1");
    let cookies = cookies_set(&signed_in);
    assert!(cookies.contains("access"), "{cookies}");
    assert!(cookies.contains("csrf"), "{cookies}");
    assert!(
        signed_in
            .headers_named("set-cookie")
            .iter()
            .any(|c| c.contains("tokengate-oidc=;") && c.to_ascii_lowercase().contains("max-age=0")),
        "the state cookie is not cleared"
    );
    let me = server.get("/api/rest/me", &[("cookie", &cookies)]).await;
    me.expect(200);
    let claims = me.json();
    assert_eq!(claims["sub"], "op:alice", "{claims}");
    assert_eq!(claims["idp"], "op", "{claims}");
    assert_eq!(claims["roles"], json!(["user"]), "{claims}");
    assert_eq!(claims["display"], "User alice", "{claims}");
    assert_eq!(claims["acr"], "aal1", "{claims}");
    // Signing in again is the same local user.
    let again = browser_signs_in(&server, &idp, "op", "alice").await;
    again.expect(302);
    let me = server
        .get("/api/rest/me", &[("cookie", &cookies_set(&again))])
        .await;
    assert_eq!(me.json()["sub"], "op:alice");
    // A provider that asserts a second factor counts only where it is trusted to, and what
    // it says of its methods is never this gate's `amr`. Claims the ID token carries beyond
    // the standard ones are mapped too.
    idp.set_id_claims(json!({ "amr": ["pwd", "hwk", "mfa"], "hd": "corp.example" }));
    let untrusted = browser_signs_in(&server, &idp, "op", "bob").await;
    let cookies = cookies_set(&untrusted);
    let vault = server.get("/api/rest/vault", &[("cookie", &cookies)]).await;
    assert_eq!(vault.status, 401, "{}", vault.text());
    let claims = server
        .get("/api/rest/me", &[("cookie", &cookies)])
        .await
        .json();
    assert_eq!(claims["amr"], json!(["fed"]), "{claims}");
    assert_eq!(claims["acr"], "aal1", "{claims}");
    assert_eq!(claims["domain"], "corp.example", "{claims}");
    let trusted = browser_signs_in(&server, &idp, "other", "bob").await;
    let vault = server
        .get("/api/rest/vault", &[("cookie", &cookies_set(&trusted))])
        .await;
    vault.expect(200);
    assert_eq!(vault.json()["acr"], "aal2");
    assert_eq!(vault.json()["amr"], json!(["fed", "mfa"]));
    assert_eq!(vault.json()["sub"], "other:bob");
    // A key the provider rotated in is found.
    idp.set_id_claims(json!({}));
    let next = p256();
    idp.publish(vec![
        super::federation::jwk(&idp.key, &idp.kid),
        super::federation::jwk(&next, "idp-2"),
    ]);
    idp.sign_id_tokens_with(next, "idp-2");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    browser_signs_in(&server, &idp, "op", "carol")
        .await
        .expect(302);
}

pub async fn an_app_trades_its_one_time_code_once(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for_providers(adapter, &idp, "").await;
    let (code, verifier) = app_code(&server, &idp, "dave").await;
    // A wrong verifier spends the code.
    let (other, _) = app_pkce();
    exchange(&server, &code, &other)
        .await
        .expect(400)
        .error("invalid_grant");
    exchange(&server, &code, &verifier)
        .await
        .expect(400)
        .error("invalid_grant");
    let (code, verifier) = app_code(&server, &idp, "dave").await;
    let reply = exchange(&server, &code, &verifier).await;
    reply.expect(201);
    let tokens = reply.tokens();
    let me = server
        .get(
            "/api/rest/me",
            &[("authorization", &format!("Bearer {}", tokens.access))],
        )
        .await;
    me.expect(200);
    assert_eq!(me.json()["sub"], "op:dave");
    assert_eq!(me.json()["idp"], "op");
    // The session is a session: refreshed, then ended.
    let refreshed = server.refresh(&tokens.refresh).await.tokens();
    let me = server
        .get(
            "/api/rest/me",
            &[("authorization", &format!("Bearer {}", refreshed.access))],
        )
        .await;
    assert_eq!(me.json()["idp"], "op", "{}", me.text());
    exchange(&server, &code, &verifier)
        .await
        .expect(400)
        .error("invalid_grant");
    exchange(&server, "never-given", &verifier)
        .await
        .expect(400);
    // No code without a challenge of the app's own, and none to a page of this server.
    let (_, challenge) = app_pkce();
    for query in [
        format!("return_to=%2Fapp&code_challenge={challenge}&code_challenge_method=S256"),
        format!("code_challenge={challenge}&code_challenge_method=S256"),
        format!("return_to=com.example.app%3A%2Fdone&code_challenge={challenge}&code_challenge_method=plain"),
        "return_to=com.example.app%3A%2Fdone&code_challenge=short&code_challenge_method=S256".to_owned(),
        "return_to=com.example.app%3A%2Fdone&code_challenge_method=S256".to_owned(),
    ] {
        let reply = visit(&server, &format!("/api/rest/oidc/op/start?{query}"), "").await;
        reply.expect(400);
        assert!(reply.json()["error"].is_string());
    }
}

pub async fn a_callback_must_be_this_browsers_and_used_once(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for_providers(adapter, &idp, "").await;
    let (cookie, to) = start_at(&server, "op", "").await;
    let (code, state) = idp.grant(&to, "erin");
    // No state; a state without this browser's cookie; another browser's cookie; a cookie
    // this gate did not sign.
    visit(
        &server,
        &format!("/api/rest/oidc/op/callback?code={code}"),
        &cookie,
    )
    .await
    .expect(400)
    .error("invalid_state");
    callback(&server, "op", &code, &state, "")
        .await
        .expect(400)
        .error("invalid_state");
    let (theirs, _) = start_at(&server, "op", "").await;
    callback(&server, "op", &code, &state, &theirs)
        .await
        .expect(400)
        .error("invalid_state");
    let name = cookie.split('=').next().expect("a name");
    let forged = format!("{name}={state}.AAAA");
    callback(&server, "op", &code, &state, &forged)
        .await
        .expect(400)
        .error("invalid_state");
    // Its own: once.
    callback(&server, "op", &code, &state, &cookie)
        .await
        .expect(302);
    callback(&server, "op", &code, &state, &cookie)
        .await
        .expect(400)
        .error("invalid_state");
    // The provider's refusal ends the sign-in.
    let (cookie, to) = start_at(&server, "op", "").await;
    let (_, state) = idp.grant(&to, "erin");
    let refused = format!("/api/rest/oidc/op/callback?error=access_denied&state={state}");
    visit(&server, &refused, &cookie)
        .await
        .expect(401)
        .error("access_denied");
    // Mix-up: a sign-in started with one provider comes back at another's callback, or
    // names another issuer.
    let (cookie, to) = start_at(&server, "op", "").await;
    let (code, state) = idp.grant(&to, "erin");
    callback(&server, "other", &code, &state, &cookie)
        .await
        .expect(400)
        .error("invalid_state");
    let (cookie, to) = start_at(&server, "op", "").await;
    let (code, state) = idp.grant(&to, "erin");
    let mixed = format!(
        "/api/rest/oidc/op/callback?code={code}&state={state}&iss=https%3A%2F%2Fevil.example"
    );
    visit(&server, &mixed, &cookie)
        .await
        .expect(401)
        .error("access_denied");
    // Unknown providers, and paths that are not a provider's.
    for path in [
        "/api/rest/oidc/nobody/start",
        "/api/rest/oidc/OP/start",
        "/api/rest/oidc/op%2Fx/start",
    ] {
        let reply = visit(&server, path, "").await;
        assert!(
            matches!(reply.status, 401 | 404),
            "{path}: {}",
            reply.status
        );
        assert!(reply.json()["error"].is_string(), "{path}");
    }
}

pub async fn return_to_opens_no_redirect(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for_providers(adapter, &idp, "").await;
    for allowed in [
        "https%3A%2F%2Fapp.example.org%2Fhome",
        "%2Fhome",
        "com.example.app%3A%2Fx",
    ] {
        let reply = visit(
            &server,
            &format!("/api/rest/oidc/op/start?return_to={allowed}"),
            "",
        )
        .await;
        reply.expect(302);
    }
    for refused in [
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "https%3A%2F%2Fevil.example%2F",
        "https%3A%2F%2Fapp.example.org%40evil.example%2F",
        "https%3A%2F%2Fapp.example.org.evil.example%2F",
        "https%3A%2F%2Fapp.example.org%3A444%2F",
        "http%3A%2F%2Fapp.example.org%2F",
        "javascript%3Aalert(1)",
        "evil.example",
        "%2Fhome%0D%0ALocation%3A%20x",
        "%09%2F%2Fevil.example",
    ] {
        let reply = visit(
            &server,
            &format!("/api/rest/oidc/op/start?return_to={refused}"),
            "",
        )
        .await;
        reply.expect(400);
        assert!(reply.header("location").is_none(), "{refused}");
    }
    // Nothing long is kept for an unauthenticated client.
    let long = format!("%2F{}", "a".repeat(3000));
    visit(
        &server,
        &format!("/api/rest/oidc/op/start?return_to={long}"),
        "",
    )
    .await
    .expect(400);
    let huge = format!("/api/rest/oidc/op/start?pad={}", "a".repeat(9000));
    visit(&server, &huge, "").await.expect(400);
    // Twice is refused, not picked from.
    visit(
        &server,
        "/api/rest/oidc/op/start?return_to=%2Fa&return_to=https%3A%2F%2Fevil.example",
        "",
    )
    .await
    .expect(400);
}

pub async fn id_tokens_that_do_not_verify_open_no_session(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for_providers(adapter, &idp, "").await;
    let refused = |reply: Reply, what: &str| {
        assert_eq!(reply.status, 401, "{what}: {}", reply.text());
        assert_eq!(reply.json()["error"], "access_denied", "{what}");
        assert!(
            !reply
                .headers_named("set-cookie")
                .iter()
                .any(|c| c.contains("access")),
            "{what}: a session opened"
        );
    };
    let forger = p256();
    let cases: Vec<(&str, Value, Option<Value>)> = vec![
        (
            "another issuer",
            json!({ "iss": "https://evil.example" }),
            None,
        ),
        (
            "another client's token",
            json!({ "aud": "another-client" }),
            None,
        ),
        (
            "another client as its party",
            json!({ "aud": [CLIENT_ID, "another-client"], "azp": "another-client" }),
            None,
        ),
        (
            "another sign-in's nonce",
            json!({ "nonce": "replayed-nonce" }),
            None,
        ),
        ("no nonce", json!({ "nonce": null }), None),
        (
            "expired",
            json!({ "exp": 1_000_000_000, "iat": 999_999_000 }),
            None,
        ),
        (
            "unsigned",
            json!({}),
            Some(json!({ "alg": "none", "kid": idp.kid })),
        ),
        (
            "an HMAC",
            json!({}),
            Some(json!({ "alg": "HS256", "kid": idp.kid })),
        ),
    ];
    for (what, claims, header) in cases {
        idp.set_id_claims(claims);
        idp.set_id_header(header);
        refused(browser_signs_in(&server, &idp, "op", "frank").await, what);
    }
    // Signed by a key that is not the provider's, under its key id.
    idp.set_id_claims(json!({}));
    idp.set_id_header(None);
    idp.sign_id_tokens_with(forger, &idp.kid);
    refused(
        browser_signs_in(&server, &idp, "op", "frank").await,
        "a forged signature",
    );
    // A code the provider does not take.
    let (cookie, to) = start_at(&server, "op", "").await;
    let (_, state) = idp.grant(&to, "frank");
    refused(
        callback(&server, "op", "made-up", &state, &cookie).await,
        "a made-up code",
    );
}

pub async fn a_provider_down_answers_503_until_it_is_back(adapter: Adapter) {
    let idp = Idp::start().await;
    idp.set_down(true);
    let server = start_for_providers(adapter, &idp, "").await;
    let reply = visit(&server, "/api/rest/oidc/op/start", "").await;
    reply.expect(503).error("temporarily_unavailable");
    // The rest of the gate works meanwhile.
    server.get("/health", &[]).await.expect(200);
    idp.set_down(false);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    visit(&server, "/api/rest/oidc/op/start", "")
        .await
        .expect(302);
    // Down between the start and the callback: 503, and nothing opened.
    let (cookie, to) = start_at(&server, "op", "").await;
    let (code, state) = idp.grant(&to, "gail");
    idp.set_down(true);
    callback(&server, "op", &code, &state, &cookie)
        .await
        .expect(503);
}

pub async fn sign_in_starts_from_one_address_are_bounded(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for_providers(adapter, &idp, "throttle_per_address = 5").await;
    let starts = (0..12).map(|_| visit(&server, "/api/rest/oidc/op/start", ""));
    let replies = futures_util::future::join_all(starts).await;
    let started = replies.iter().filter(|r| r.status == 302).count();
    let refused = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!(started, 5, "{started} started past a limit of 5");
    assert_eq!(refused, 7);
    assert!(replies
        .iter()
        .filter(|r| r.status == 429)
        .all(|r| r.header("retry-after").is_some()));
}

/// Races on the state the store keeps (every store): of concurrent callbacks with one state,
/// one goes on; of concurrent exchanges of one code, one gets tokens.
pub async fn a_state_and_a_code_are_each_taken_once(adapter: Adapter) {
    let idp = Idp::start().await;
    let server = start_for_providers(adapter, &idp, "").await;
    let (cookie, to) = start_at(&server, "op", "").await;
    let (code, state) = idp.grant(&to, "hank");
    let callbacks = (0..6).map(|_| callback(&server, "op", &code, &state, &cookie));
    let replies = futures_util::future::join_all(callbacks).await;
    assert_eq!(replies.iter().filter(|r| r.status == 302).count(), 1);
    assert!(replies
        .iter()
        .filter(|r| r.status != 302)
        .all(|r| r.status == 400));
    let (code, verifier) = app_code(&server, &idp, "hank").await;
    let exchanges = (0..6).map(|_| exchange(&server, &code, &verifier));
    let replies = futures_util::future::join_all(exchanges).await;
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
    assert!(replies
        .iter()
        .filter(|r| r.status != 201)
        .all(|r| r.status == 400));
    // On another instance too, where the store is shared.
    if !matches!(adapter, Adapter::Axum | Adapter::Actix) {
        let store = &server.gate.config().store;
        let env = [
            ("TOKENGATE_SECRET", server.secret.as_str()),
            ("TOKENGATE_STORE", store.url.as_str()),
            ("TOKENGATE_STORE_PREFIX", store.prefix.as_str()),
            ("TOKENGATE_STORE_SCHEMA", store.schema.as_str()),
        ];
        let twin = start_with(adapter, Some(&providers_config(&idp, "")), &env).await;
        let (code, verifier) = app_code(&server, &idp, "hank").await;
        let (first, second) = tokio::join!(
            exchange(&server, &code, &verifier),
            exchange(&twin, &code, &verifier)
        );
        let mut statuses = [first.status, second.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 400]);
    }
}

pub async fn id_tokens_under_unknown_key_ids_fetch_the_keys_at_most_once_per_interval(
    adapter: Adapter,
) {
    let idp = Idp::start().await;
    let server = start_for_providers(adapter, &idp, "issuer_keys_interval = \"1h\"").await;
    browser_signs_in(&server, &idp, "op", "ivy")
        .await
        .expect(302);
    let fetched = idp.jwks_fetches();
    // ID tokens under key ids the provider never published, all at once: each sign-in is
    // refused, and the keys are fetched at most once more for all of them.
    let flood = (0..8).map(|n| {
        let (server, idp) = (&server, &idp);
        async move {
            let (cookie, to) = start_at(server, "op", "").await;
            let (code, state) = idp.grant(&to, "ivy");
            (cookie, code, state, n)
        }
    });
    let started = futures_util::future::join_all(flood).await;
    idp.sign_id_tokens_with(p256(), "never-published");
    let callbacks = started
        .iter()
        .map(|(cookie, code, state, _)| callback(&server, "op", code, state, cookie));
    for reply in futures_util::future::join_all(callbacks).await {
        reply.expect(401).error("access_denied");
    }
    assert!(
        idp.jwks_fetches() <= fetched + 1,
        "{} key fetches for a flood of unknown key ids",
        idp.jwks_fetches() - fetched
    );
}
