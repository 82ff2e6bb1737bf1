//! The attack suite, and the asymmetric keys it attacks: every way a token or a body has been
//! used to get past a JWT library, each answered with a clear 4xx JSON error, never a 500.
//!
//! Where each attack of the list lives (some are in `scenarios.rs`):
//! - `alg` none/None/NONE/empty: [`alg_none_in_every_spelling_is_refused`]
//! - HS256 signed with the public key: [`hs256_signed_with_the_public_key_is_refused`]
//! - an algorithm outside the key's: [`algorithms_outside_the_keys_are_refused`]
//! - embedded `jwk`, `jku`, `x5u`, `x5c`: [`embedded_keys_are_never_followed`]
//! - `kid` traversal, SQL-ish, unknown, 5 KB: [`kid_injection_is_refused`]
//! - unknown `crit`: [`crit_headers_are_refused`]
//! - `exp`/`nbf` types, `nbf` in the future: [`time_claims_must_be_integers_and_current`]
//! - wrong `iss`/`aud`: [`wrong_issuer_or_audience_is_refused`]
//! - refresh as access and the reverse: `scenarios::refresh_token_is_not_an_access_token`,
//!   `scenarios::access_token_is_not_a_refresh_token`
//! - a retired key after its grace: [`token_of_a_retired_key_is_refused_after_its_grace`]
//! - base64 padding, `+`, `/`, spaces; 2, 4, 5 segments; header not an object; invalid UTF-8:
//!   [`token_shapes_are_refused`]
//! - a 60 KB `Authorization` header: [`huge_authorization_header_is_a_clean_4xx`]
//! - 5000-deep JSON, multipart without boundary or truncated: `scenarios::malformed_bodies_are_400`
//! - duplicate JSON and multipart fields: `scenarios::duplicate_fields_are_400`
//! - 10 MB body refused before it is read: [`big_body_is_refused_before_it_is_read`]
//! - token in the query string: `scenarios::token_in_query_string_is_ignored`
//! - a burst of wrong passwords sent at once, to pass the throttle's check before any failure
//!   is counted: [`a_burst_of_wrong_passwords_verifies_at_most_the_limit`]
//! - the same burst from one address with rotating logins:
//!   [`a_burst_from_one_address_verifies_at_most_its_limit`]
//! - an old refresh token (signed out, rotated away, expired) used to sign the user out
//!   everywhere: [`a_dead_refresh_token_cannot_sign_everyone_out`]
//! - a signed-out access token listing the sessions:
//!   [`sessions_needs_a_live_session_under_strict_revocation`]
//! - dropping the trusted proxy header to switch the per-address limit off:
//!   [`a_missing_proxy_header_falls_back_to_the_peer_address`]
//! - a second valid encoding of a signature (ES256 `n - s`, EdDSA `S + L`):
//!   [`signatures_have_one_valid_encoding`]
//! - a cookie request from the same host under another scheme or port, or with a foreign
//!   `Referer` and no `Origin`: [`cookie_origin_is_checked_by_scheme_host_port_and_referer`]
//! - a body that never completes, to hold a connection and a task:
//!   [`a_body_that_never_completes_gets_408`]
//! - content sniffing of an answer: [`every_answer_forbids_sniffing`]
//! - a WebSocket upgrade with the access cookie and a foreign `Origin` on `/w%73/echo`,
//!   `/%77s/echo`, `//ws/echo`...:
//!   `paths::the_access_cookie_never_opens_a_socket_whatever_the_path`
//! - the address limit of wrong sign-ins, then a flood of random logins from the same
//!   address, to fill the counter and lock every user out:
//!   [`a_flood_from_one_address_locks_no_one_else_out`]
//! - a client's own `X-Forwarded-For` line before the trusted proxy's:
//!   [`a_forwarded_line_of_the_client_does_not_choose_its_address`]
//! - a WebSocket ticket used after its `expiresIn`, within the access token's leeway:
//!   `websockets::a_ticket_is_refused_once_its_expires_in_has_passed`
//! - a NUL or a newline in a field (`session=%00`), or in a session id of the path:
//!   [`control_characters_in_fields_are_400_before_any_store`]
//! - escaped, doubled-slash, trailing-slash and dot-segment spellings of endpoints, public
//!   paths, guarded and role routes:
//!   `paths::every_spelling_of_a_path_reaches_the_same_decision_or_fails_closed`
//! - another case, a trailing space or a decomposed accent of a login, for ten more attempts
//!   where the directory compares case-insensitively:
//!   [`spellings_of_one_login_share_its_attempts`]
//! - an oversized body, so the early 413 is lost to a reset while the client still sends:
//!   `bodies::an_early_413_always_reaches_the_client`
//! - a ticket asked for one socket path used on another:
//!   `websockets::a_ticket_opens_only_the_path_it_was_asked_for`
//! - tickets asked and spent in a loop by one user, to fill the counter sign-ins share:
//!   `websockets::tickets_asked_in_a_loop_are_held_to_a_limit`
//! - a ticket `path` the documented pattern refuses (`/ws/x/*`, `/ws/a:b`, `/ws/.x`):
//!   `websockets::a_ticket_opens_only_the_path_it_was_asked_for`, and in the core
//!   `endpoints::ticket::tests::the_documented_pattern_is_the_rule`
//! - one account's success clearing the failures tried against another that shares its
//!   counter key: core `throttle::tests::a_success_gives_back_only_its_own_reservation`
//! - a burst of sign-ins, so a weak row's queueing comes out of its padding; a stalled check
//!   inflating every wait; weak rows' times all at one mean: core
//!   `credentials::password::tests` (`queueing_does_not_shorten_the_wait`,
//!   `a_stalled_check_moves_the_wait_a_little`, `the_wait_is_drawn_from_the_recent_checks`)
//! - the first sign-in after a start, an unknown login, quicker than any row; rows without
//!   `v=19`: core `postgres_directory::the_stored_parameters_set_the_cost_of_every_sign_in`
//! - a locked users table, to hang sign-ins: core
//!   `postgres_directory::a_locked_table_is_an_error_not_a_hang`
//! - an application key spelled in another case, for sessions and tickets of its own: core
//!   `postgres_directory::a_key_signs_in_as_its_row_spells_it`
//! - format characters, `İ`, katakana and small kana in a login, for attempts of their own:
//!   core `credentials::login::tests::what_case_insensitive_collations_merge_shares_one_form`
//! - NUL, DEL and C1 controls, an invisible character before a space, voiced kana without a
//!   hiragana form, the Small Kana Extension, a mark below between `i` and its dot: the same
//!   core test
//! - a burst on weaker rows, which gave their hashing slot back before waiting; strongest
//!   checks that did not wait; a row whose salt Argon2 refuses, the quickest answer; an early
//!   failure shortening the waits: core `credentials::password::tests`
//!   (`the_slot_is_held_until_the_wait_ends`,
//!   `the_strongest_checks_wait_for_a_drawn_duration_too`,
//!   `a_hash_with_an_unusable_salt_is_refused`, `a_quick_check_moves_the_wait_a_little`)
//! - stored parameters read without the pool's set-up (`search_path`), under
//!   `standard_conforming_strings = off`, fields out of PHC's usual order: core
//!   `postgres_directory::the_stored_parameters_are_read_as_the_pool_is_set_up`
//! - an attempt that outlives its window giving its reservation back to the next one: the
//!   counter contract, `a_release_never_reaches_the_next_window`, on every store
//! - a ticket `path` under a prefix with a dot segment (`/.well-known/ws/*`), or empty under
//!   `/*`: core `endpoints::ticket::tests::the_documented_pattern_is_the_rule_for_odd_prefixes`
//! - a million sessions opened with no session limit, then a sign-out of all as one store
//!   step: the store contract, `a_sign_out_of_all_ends_at_most_what_it_is_asked`, on every
//!   store, and core `revocation::a_sign_out_of_all_is_made_of_bounded_calls`
//! - the caller's own session signed out between two batches of its sign-out of all, for a
//!   200 with sessions live: core
//!   `revocation::a_sign_out_of_all_ends_everything_when_its_own_session_ends_midway`
//! - single sign-outs racing a sign-out of all on Redis, for a short batch read as done: the
//!   store contract, `batches_end_everything_while_single_sessions_end`, on every store
//! - a flood of sign-ins while the users table is locked, each leaving a backend waiting on
//!   the lock: core `postgres_directory::a_sign_in_given_up_on_leaves_no_backend_behind`
//! - a client that goes away while its sign-in's look-up waits on a lock, so the connection
//!   goes back to the pool inside the look-up's read-only transaction: core
//!   `postgres_directory::a_sign_in_dropped_midway_leaves_no_transaction_in_the_pool`
//! - unknown logins a little slower than wrong passwords on weaker rows: core
//!   `credentials::password::tests::a_weaker_check_waits_for_the_longer_of_two_draws`
//! - characters an ICU level-2 directory ignores (Arabic tatweel, repeated at will) or takes
//!   for others (digits of every script, circled letters), for attempts of their own: core
//!   `credentials::login::tests::what_an_icu_directory_takes_for_one_login_shares_one_key`,
//!   against every code point under PostgreSQL's ICU
//! - a 1024-byte login of nothing but combining marks, for a collation that costs its square
//!   on every attempt: core `credentials::login::tests::what_is_collated_has_no_long_run_of_marks`

use std::io::{Read as _, Write as _};
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};

use super::keys::{self, TestKey};
use super::{claims_of, demo, header_of, sign_hs256, start, start_with, Adapter, Body, Server};

pub fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
    )
    .expect("fits")
}

/// A server whose single key is `key`, set through the environment shortcut.
async fn asymmetric(adapter: Adapter, key: &TestKey) -> Server {
    let algorithm = format!("{:?}", key.algorithm);
    let file = key.file();
    let file = file.to_str().expect("utf-8 path").to_owned();
    start(
        adapter,
        &[
            ("TOKENGATE_ALGORITHM", algorithm.as_str()),
            ("TOKENGATE_KEY_FILE", file.as_str()),
        ],
    )
    .await
}

/// A JWS over raw header and payload texts, HS256 with `secret`.
pub fn sign_raw(secret: &[u8], header: &str, payload: &str) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let key = jsonwebtoken::EncodingKey::from_secret(secret).expect("hmac key");
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
            .expect("sign");
    format!("{message}.{signature}")
}

async fn jwks(server: &Server) -> Value {
    let reply = server.get("/api/rest/jwks", &[]).await;
    reply.expect(200);
    reply.json()
}

// ---- asymmetric keys, published ----

async fn published_keys_verify_our_tokens(adapter: Adapter, key: &TestKey, alg: &str) {
    let server = asymmetric(adapter, key).await;
    let tokens = server.signin(&[]).await.tokens();
    let header = header_of(&tokens.access);
    assert_eq!(header["alg"], alg);
    let kid = header["kid"].as_str().expect("a kid").to_owned();
    server.me(&tokens.access).await.expect(200);
    server.refresh(&tokens.refresh).await.tokens();

    let document = jwks(&server).await;
    let published = document["keys"].as_array().expect("keys");
    assert_eq!(published.len(), 1, "{document}");
    let jwk = &published[0];
    assert_eq!(jwk["kid"], kid.as_str());
    assert_eq!(jwk["alg"], alg);
    assert_eq!(jwk["use"], "sig");
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(
            jwk.get(private).is_none(),
            "private `{private}` published: {jwk}"
        );
    }
    // Another JOSE library verifies our access token with the published key alone.
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).expect("a JWK");
    let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("usable JWK");
    let mut validation = jsonwebtoken::Validation::new(key.algorithm);
    validation.set_issuer(&["tokengate"]);
    let data = jsonwebtoken::decode::<Value>(&tokens.access, &decoding, &validation)
        .expect("jsonwebtoken verifies the token with our JWKS");
    assert_eq!(data.claims["sub"], demo::USER.0);

    let reply = server
        .post("/api/rest/jwks", Body::Json(json!({})), &[])
        .await;
    reply.expect(405).error("method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET"));
}

pub async fn eddsa_tokens_verify_with_the_published_jwks(adapter: Adapter) {
    published_keys_verify_our_tokens(adapter, &keys::ed25519(), "EdDSA").await;
}

pub async fn es256_tokens_verify_with_the_published_jwks(adapter: Adapter) {
    published_keys_verify_our_tokens(adapter, &keys::p256(), "ES256").await;
}

pub async fn rs256_tokens_verify_with_the_published_jwks(adapter: Adapter) {
    published_keys_verify_our_tokens(adapter, &keys::rsa(), "RS256").await;
}

/// Verifiers cache the set: `public, max-age` (never past a retired key's `verify_until`) and
/// an `ETag` that `If-None-Match` turns into a 304 without a body.
pub async fn the_published_keys_are_cached_with_an_etag(adapter: Adapter) {
    let server = asymmetric(adapter, &keys::ed25519()).await;
    let first = server.get("/api/rest/jwks", &[]).await;
    first.expect(200);
    assert_eq!(
        first.header("cache-control"),
        Some("public, max-age=300, must-revalidate")
    );
    let tag = first.header("etag").expect("an ETag").to_owned();
    let held = [
        tag.clone(),
        format!("W/{tag}"),
        format!("\"other\", {tag}"),
        "*".to_owned(),
    ];
    for held in held {
        let again = server
            .get("/api/rest/jwks", &[("if-none-match", &held)])
            .await;
        again.expect(304);
        assert!(again.body.is_empty(), "a 304 with a body");
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        assert_eq!(
            again.header("cache-control"),
            Some("public, max-age=300, must-revalidate")
        );
    }
    for stale in ["\"other\"", tag.trim_matches('"'), ""] {
        let fresh = server
            .get("/api/rest/jwks", &[("if-none-match", stale)])
            .await;
        fresh.expect(200);
        assert_eq!(fresh.json(), first.json());
    }

    // A retired key is published until its `verify_until`, and no cache keeps it longer.
    let (signing, retired) = (keys::ed25519(), keys::ed25519());
    let until = now() + 120;
    let toml = format!(
        "[default]\nkeys = [\n  {{ kid = \"new\", algorithm = \"EdDSA\", key = '''{}''', signing = true }},\n  \
         {{ kid = \"old\", algorithm = \"EdDSA\", key = '''{}''', verify_until = {until} }},\n]",
        signing.pem, retired.pem
    );
    let server = start_with(adapter, Some(&toml), &[]).await;
    let reply = server.get("/api/rest/jwks", &[]).await;
    reply.expect(200);
    let kids: Vec<Value> = reply.json()["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kid"].clone())
        .collect();
    assert_eq!(kids, [json!("new"), json!("old")]);
    let max_age: i64 = reply
        .header("cache-control")
        .and_then(|value| value.strip_prefix("public, max-age="))
        .and_then(|rest| rest.strip_suffix(", must-revalidate"))
        .and_then(|age| age.parse().ok())
        .expect("public, max-age=N");
    assert!(
        (115..=121).contains(&max_age),
        "max-age {max_age} for a key retired in 120 s"
    );
}

/// Discovery: both documents name the configured URLs whatever `Host`, `X-Forwarded-Host` or
/// `Forwarded` the request claims; only the exact paths are the documents; off by default.
pub async fn discovery_names_the_configured_urls_only(adapter: Adapter) {
    let off = start(adapter, &[]).await;
    off.get("/.well-known/openid-configuration", &[])
        .await
        .expect(401);

    let key = keys::ed25519();
    let file = key.file();
    let file = file.to_str().expect("utf-8 path").to_owned();
    let server = start(
        adapter,
        &[
            ("TOKENGATE_DISCOVERY", "true"),
            ("TOKENGATE_ISSUER", "https://auth.example.test/tenant"),
            ("TOKENGATE_EXTERNAL_URL", "https://api.example.test"),
            ("TOKENGATE_ALGORITHM", "EdDSA"),
            ("TOKENGATE_KEY_FILE", file.as_str()),
        ],
    )
    .await;
    let forged: [&[(&str, &str)]; 4] = [
        &[],
        &[("host", "evil.example")],
        &[
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "http"),
        ],
        &[("forwarded", "host=evil.example;proto=http")],
    ];
    for path in [
        "/tenant/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/tenant",
    ] {
        for headers in forged {
            let reply = server.get(path, headers).await;
            reply.expect(200);
            assert_eq!(
                reply.header("cache-control"),
                Some("public, max-age=300, must-revalidate")
            );
            let document = reply.json();
            assert_eq!(document["issuer"], "https://auth.example.test/tenant");
            assert_eq!(
                document["jwks_uri"],
                "https://api.example.test/api/rest/jwks"
            );
            assert_eq!(
                document["token_endpoint"],
                "https://api.example.test/api/rest/token"
            );
            assert_eq!(
                document["introspection_endpoint"],
                "https://api.example.test/api/rest/introspect"
            );
            assert_eq!(
                document["revocation_endpoint"],
                "https://api.example.test/api/rest/revoke"
            );
            assert_eq!(
                document["id_token_signing_alg_values_supported"],
                json!(["EdDSA"])
            );
            assert!(!document.to_string().contains("evil"), "{document}");
        }
        let reply = server.post(path, Body::Json(json!({})), &[]).await;
        reply.expect(405).error("method_not_allowed");
        assert_eq!(reply.header("allow"), Some("GET"));
    }
    // Near misses are not the documents: guarded routes, refused without a token. (A
    // percent-encoded unreserved letter is the path actix-web routes, decoded, on both the
    // gate's side and the router's: there it is the document, as any endpoint is.)
    for path in [
        "/.well-known/openid-configuration",
        "/tenant/.well-known/openid-configuration/",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/tenant/",
        "/.well-known/oauth-authorization-server/TENANT",
    ] {
        let reply = server.get(path, &[]).await;
        assert_eq!(reply.status, 401, "{path}");
    }
    // The tokens name the issuer the document names.
    let tokens = server.signin(&[]).await.tokens();
    assert_eq!(
        claims_of(&tokens.access)["iss"],
        "https://auth.example.test/tenant"
    );
    server.me(&tokens.access).await.expect(200);
}

pub async fn hs256_keys_are_never_published(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    assert_eq!(jwks(&server).await, json!({"keys": []}));
}

// ---- the attacks ----

pub async fn alg_none_in_every_spelling_is_refused(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let kid = header_of(&tokens.access)["kid"].clone();
    for alg in ["none", "None", "NONE", "nOnE", ""] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
        let signed = server.forge(&header, &claims);
        let unsigned = format!("{}.", signed.rsplit_once('.').expect("dots").0);
        server.me(&signed).await.invalid_token();
        server.me(&unsigned).await.invalid_token();
        let header = json!({"alg": alg, "typ": "at+jwt"});
        let unsigned = format!(
            "{}.",
            server
                .forge(&header, &claims)
                .rsplit_once('.')
                .expect("dots")
                .0
        );
        server.me(&unsigned).await.invalid_token();
    }
}

pub async fn hs256_signed_with_the_public_key_is_refused(adapter: Adapter) {
    for key in [keys::ed25519(), keys::rsa()] {
        let server = asymmetric(adapter, &key).await;
        let tokens = server.signin(&[]).await.tokens();
        let claims = claims_of(&tokens.access);
        let kid = header_of(&tokens.access)["kid"].clone();
        let document = jwks(&server).await;
        let jwk = document["keys"][0].clone();
        let mut secrets: Vec<Vec<u8>> = vec![key.public.clone(), jwk.to_string().into_bytes()];
        for component in ["x", "n"] {
            if let Some(value) = jwk[component].as_str() {
                secrets.push(URL_SAFE_NO_PAD.decode(value).expect("base64url"));
                secrets.push(value.as_bytes().to_vec());
            }
        }
        for secret in &secrets {
            for alg in ["HS256", "HS384", "HS512"] {
                let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
                server
                    .me(&sign_hs256(secret, &header, &claims))
                    .await
                    .invalid_token();
            }
        }
        // Sanity: the real key's signature passes.
        let header = json!({"alg": format!("{:?}", key.algorithm), "typ": "at+jwt", "kid": kid});
        server.me(&key.sign(&header, &claims)).await.expect(200);
    }
}

pub async fn algorithms_outside_the_keys_are_refused(adapter: Adapter) {
    let key = keys::ed25519();
    let server = asymmetric(adapter, &key).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let kid = header_of(&tokens.access)["kid"].clone();
    // Signed by the right key, labelled with another algorithm.
    for alg in [
        "ES256", "RS256", "PS256", "HS256", "eddsa", "Ed25519", "EdDSA ",
    ] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
        server.me(&key.sign(&header, &claims)).await.invalid_token();
    }
    // Another key of the same algorithm is not ours.
    let stranger = keys::ed25519();
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid});
    server
        .me(&stranger.sign(&header, &claims))
        .await
        .invalid_token();
    // An HS256 server refuses every asymmetric label.
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let kid = header_of(&tokens.access)["kid"].clone();
    for alg in ["EdDSA", "ES256", "RS256"] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
        server
            .me(&server.forge(&header, &claims))
            .await
            .invalid_token();
    }
}

pub async fn embedded_keys_are_never_followed(adapter: Adapter) {
    let key = keys::ed25519();
    let server = asymmetric(adapter, &key).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let kid = header_of(&tokens.access)["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    let attacker = keys::ed25519();
    let attacker_jwk = json!({
        "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(&attacker.public),
    });
    let headers = [
        json!({"alg": "EdDSA", "typ": "at+jwt", "jwk": attacker_jwk}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "jwk": attacker_jwk}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "jku": "http://127.0.0.1:9/jwks.json"}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "jku": "http://127.0.0.1:9/jwks.json"}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "x5u": "http://127.0.0.1:9/cert.pem"}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "x5c": [STANDARD.encode(&attacker.public)]}),
    ];
    for header in &headers {
        server
            .me(&attacker.sign(header, &claims))
            .await
            .invalid_token();
    }
}

pub async fn kid_injection_is_refused(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let long = "k".repeat(5 * 1024);
    let kids = [
        json!("../../../../etc/passwd"),
        json!("/dev/null"),
        json!("' OR '1'='1"),
        json!("x'; DROP TABLE keys; --"),
        json!("unknown-kid"),
        json!(long),
        json!(""),
        json!(7),
        json!(null),
        json!(["a"]),
    ];
    for kid in &kids {
        let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": kid});
        server
            .me(&server.forge(&header, &claims))
            .await
            .invalid_token();
    }
}

pub async fn crit_headers_are_refused(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let kid = header_of(&tokens.access)["kid"].clone();
    for crit in [json!(["x-custom"]), json!([]), json!("exp"), json!(null)] {
        let header =
            json!({"alg": "HS256", "typ": "at+jwt", "kid": kid, "crit": crit, "x-custom": 1});
        server
            .me(&server.forge(&header, &claims))
            .await
            .invalid_token();
    }
}

pub async fn time_claims_must_be_integers_and_current(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_LEEWAY", "0s")]).await;
    let tokens = server.signin(&[]).await.tokens();
    let kid = header_of(&tokens.access)["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    let header = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#);
    let claims = claims_of(&tokens.access);
    let (iat, exp) = (now(), now() + 600);
    let rest = format!(
        r#""iss":"tokengate","sub":{},"jti":"j","sid":{}"#,
        claims["sub"], claims["sid"]
    );
    let good = format!(r#"{{{rest},"iat":{iat},"exp":{exp}}}"#);
    server
        .me(&sign_raw(server.secret.as_bytes(), &header, &good))
        .await
        .expect(200);
    let bad = [
        format!(r#"{{{rest},"iat":{iat},"exp":"{exp}"}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp}.5}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":1e400}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":1e10}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":-1}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":null}}"#),
        format!(r#"{{{rest},"iat":{iat}}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp},"nbf":"{iat}"}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp},"nbf":{iat}.0}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp},"nbf":1e400}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp},"nbf":-5}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp},"nbf":null}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp},"nbf":{}}}"#, iat + 3600),
        format!(r#"{{{rest},"iat":"{iat}","exp":{exp}}}"#),
        format!(r#"{{{rest},"exp":{exp}}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{},"exp":{exp}}}"#, iat - 10),
    ];
    for payload in &bad {
        let reply = server
            .me(&sign_raw(server.secret.as_bytes(), &header, payload))
            .await;
        assert_eq!(reply.status, 401, "accepted: {payload}");
        reply.invalid_token();
    }
}

pub async fn wrong_issuer_or_audience_is_refused(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_AUDIENCE", "orders-api")]).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    assert_eq!(claims["aud"], "orders-api");
    server.me(&tokens.access).await.expect(200);
    let kid = header_of(&tokens.access)["kid"].clone();
    let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": kid});
    let mut forged = Vec::new();
    for (name, value) in [
        ("aud", json!("billing-api")),
        ("aud", json!(["billing-api"])),
        ("aud", Value::Null),
        ("iss", json!("someone-else")),
        ("iss", json!(["tokengate"])),
    ] {
        let mut claims = claims.clone();
        claims[name] = value;
        forged.push(claims);
    }
    let mut without = claims.clone();
    without.as_object_mut().expect("object").remove("aud");
    forged.push(without);
    for claims in &forged {
        server
            .me(&server.forge(&header, claims))
            .await
            .invalid_token();
    }
}

/// Also with the verified-token cache on: an entry never outlives its key's grace.
pub async fn token_of_a_retired_key_is_refused_after_its_grace(adapter: Adapter) {
    let secret = |n: u8| format!("a-test-only-rotation-secret-number-{n}-of-32-bytes");
    let ending_at = now() + 2;
    let toml = format!(
        r#"[default]
        keys = [
            {{ kid = "current", algorithm = "HS256", secret = "{}", signing = true }},
            {{ kid = "in-grace", algorithm = "HS256", secret = "{}", verify_until = {} }},
            {{ kid = "retired", algorithm = "HS256", secret = "{}", verify_until = {} }},
            {{ kid = "ending", algorithm = "HS256", secret = "{}", verify_until = {} }},
        ]"#,
        secret(1),
        secret(2),
        now() + 3600,
        secret(3),
        now() - 60,
        secret(4),
        ending_at,
    );
    let mut servers = Vec::new();
    for cache in ["false", "true"] {
        let server = start_with(adapter, Some(&toml), &[("TOKENGATE_VERIFY_CACHE", cache)]).await;
        let tokens = server.signin(&[]).await.tokens();
        assert_eq!(header_of(&tokens.access)["kid"], "current");
        let claims = claims_of(&tokens.access);
        let token = |n: u8, kid: &str| {
            sign_hs256(
                secret(n).as_bytes(),
                &json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}),
                &claims,
            )
        };
        for _ in 0..2 {
            server.me(&token(1, "current")).await.expect(200);
            server.me(&token(2, "in-grace")).await.expect(200);
            server.me(&token(3, "retired")).await.invalid_token();
            // A kid does not lend its key to another's signature.
            server.me(&token(3, "current")).await.invalid_token();
            server.me(&token(1, "in-grace")).await.invalid_token();
        }
        // Verified (and, with the cache, remembered) while its key still verifies...
        let ending = token(4, "ending");
        server.me(&ending).await.expect(200);
        servers.push((server, ending));
    }
    // ...and refused once the key's grace is over, cache or not.
    let left = u64::try_from(ending_at + 1 - now()).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(left * 1000 + 100)).await;
    for (server, ending) in &servers {
        server.me(ending).await.invalid_token();
    }
}

pub async fn token_shapes_are_refused(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let [h, p, s]: [&str; 3] = tokens
        .access
        .split('.')
        .collect::<Vec<_>>()
        .try_into()
        .expect("three parts");
    let kid = header_of(&tokens.access)["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    let claims = claims_of(&tokens.access).to_string();
    let resign = |header: &[u8], payload: &[u8]| {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let key = jsonwebtoken::EncodingKey::from_secret(server.secret.as_bytes()).expect("key");
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
                .expect("sign");
        format!("{message}.{signature}")
    };
    let cases = vec![
        // base64 with padding, the standard alphabet, spaces
        format!("{h}=.{p}.{s}"),
        format!("{h}.{p}==.{s}"),
        format!("{h}.{p}.{s}="),
        format!("{h}.{p}.+{}", &s[1..]),
        format!("{h}.{p}.{}/", &s[..s.len() - 1]),
        format!("+{}.{p}.{s}", &h[1..]),
        format!("{h}.{}/.{s}", &p[..p.len() - 1]),
        format!("{h}.{p}.{}+/", &s[..s.len() - 2]),
        format!("{h} .{p}.{s}"),
        format!("{h}.{} {}.{s}", &p[..4], &p[4..]),
        // 1, 2, 4 and 5 segments
        h.to_owned(),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}."),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}.{h}.{p}"),
        // headers that are not an object, invalid UTF-8
        resign(b"\"HS256\"", claims.as_bytes()),
        resign(b"42", claims.as_bytes()),
        resign(b"null", claims.as_bytes()),
        resign(b"[\"HS256\"]", claims.as_bytes()),
        resign(
            b"{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"\xff\xfe\"}",
            claims.as_bytes(),
        ),
        resign(
            format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#).as_bytes(),
            b"\xff\xfe{}",
        ),
        resign(
            format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#).as_bytes(),
            b"[1,2]",
        ),
        // empty parts
        format!("..{s}"),
        format!("{h}..{s}"),
        format!("{h}.{p}."),
    ];
    for token in &cases {
        let reply = server.me(token).await;
        assert_eq!(reply.status, 401, "accepted: {token}");
        reply.invalid_token();
    }
    // Sanity: the same resigning makes a token the server takes.
    let header = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#);
    server
        .me(&resign(header.as_bytes(), claims.as_bytes()))
        .await
        .expect(200);
    // Bytes that are not UTF-8 in the header itself count as no bearer token.
    let reply = server
        .send(
            reqwest::Client::new()
                .get(server.url("/api/rest/me"))
                .header(
                    "authorization",
                    reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe.x.y")
                        .expect("obs-text"),
                ),
        )
        .await;
    reply.expect(401).error("missing_token");
}

pub async fn huge_authorization_header_is_a_clean_4xx(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    // Past the longest token we read, yet within what both servers take: our own answer.
    let auth = format!("Bearer {}", "a".repeat(9 * 1024));
    server
        .get("/api/rest/me", &[("authorization", auth.as_str())])
        .await
        .invalid_token()
        .says("well-formed");
    // Beyond what a server takes in a header: its own clean 4xx, never a 5xx.
    for size in [60 * 1024] {
        let auth = format!("Bearer {}", "a".repeat(size));
        let reply = server
            .get("/api/rest/me", &[("authorization", auth.as_str())])
            .await;
        assert!(
            (400..500).contains(&reply.status),
            "{size} bytes: status {}",
            reply.status
        );
        if reply.status == 401 {
            reply.invalid_token();
        }
    }
}

/// Sends only the head of a 10 MB upload and reads the answer: the server must refuse it
/// from `Content-Length` alone, without waiting for a body that never comes.
pub async fn big_body_is_refused_before_it_is_read(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (reply, _) = raw_exchange(
        &server,
        "POST /api/rest/signin (head only)",
        "Content-Length: 10485760\r\n\r\nlogin=a",
    )
    .await;
    assert_eq!(reply.status, 413, "{}", reply.text());
    reply.expect(413).error("payload_too_large");
}

/// Sends a sign-in head (its `Content-Type` given, `rest` after it) on a raw socket and
/// never anything more, and reads the answer: the reply, and how long it took.
async fn raw_exchange(server: &Server, label: &str, rest: &str) -> (super::Reply, Duration) {
    let address = server.base.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST /api/rest/signin HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n{rest}"
    );
    let (answer, waited) = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        stream.write_all(head.as_bytes()).expect("send the head");
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") || !answer.ends_with(b"}") {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
                Err(e) => panic!("no answer while the rest of the body is missing: {e}"),
            }
        }
        (
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        )
    })
    .await
    .expect("the client thread");
    let reply = super::Reply::parse_raw(&answer);
    super::record("POST", label, &reply);
    (reply, waited)
}

// ---- throttling ----

pub async fn failed_signins_end_in_429_with_retry_after(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let attempt = |login: &'static str, password: &'static str| {
        let server = &server;
        async move {
            server
                .post(
                    "/api/rest/signin",
                    Body::Multipart(&[("login", login), ("password", password)]),
                    &[],
                )
                .await
        }
    };
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(attempt(demo::USER.0, "wrong password").await.status);
    }
    assert_eq!(&statuses[..10], [401; 10]);
    assert_eq!(&statuses[10..], [429; 20]);
    let reply = attempt(demo::USER.0, demo::USER.1).await;
    reply.expect(429).error("too_many_attempts");
    let retry: u64 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry), "{retry}");
    // An unknown login is throttled at the same count: the answer tells nothing.
    for i in 0..11 {
        let reply = attempt("nobody@example.org", "whatever").await;
        assert_eq!(reply.status, if i < 10 { 401 } else { 429 });
    }
}

pub async fn failed_signins_are_throttled_per_address(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_THROTTLE_PER_ADDRESS", "5")]).await;
    let logins = [
        "a@example.org",
        "b@example.org",
        "c@example.org",
        "d@example.org",
        "e@example.org",
        "f@example.org",
    ];
    for (i, login) in logins.iter().enumerate() {
        let reply = server
            .post(
                "/api/rest/signin",
                Body::Form(&[("login", login), ("password", "x")]),
                &[],
            )
            .await;
        assert_eq!(reply.status, if i < 5 { 401 } else { 429 }, "attempt {i}");
    }
    server.signin(&[]).await.expect(429);
}

// ---- holes found by an outside attack ----

/// Sends `count` sign-ins at once, each with its own body, and gives their answers.
async fn burst(server: &Server, bodies: Vec<Vec<(String, String)>>) -> Vec<super::Reply> {
    let requests = bodies.iter().map(|fields| {
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        async move {
            server
                .post("/api/rest/signin", Body::Form(&fields), &[])
                .await
        }
    });
    super::parallel(futures_util::future::join_all(requests)).await
}

fn fields(login: &str, password: &str) -> Vec<(String, String)> {
    vec![
        ("login".to_owned(), login.to_owned()),
        ("password".to_owned(), password.to_owned()),
    ]
}

/// Counts the statuses of `replies`; every 429 must carry a `Retry-After` within the window.
fn tally(replies: &[super::Reply]) -> std::collections::BTreeMap<u16, usize> {
    let mut tally = std::collections::BTreeMap::new();
    for reply in replies {
        *tally.entry(reply.status).or_insert(0) += 1;
        if reply.status == 429 {
            reply.expect(429).error("too_many_attempts");
            let retry: u64 = reply
                .header("retry-after")
                .expect("Retry-After")
                .parse()
                .expect("seconds");
            assert!((1..=900).contains(&retry), "{retry}");
        }
    }
    tally
}

/// Attack: 40 wrong passwords for one login sent at once, so that all pass the throttle's
/// check before any failure is counted (all 40 were verified, limit 10). Each attempt is now
/// reserved before its password is verified: exactly 10 are verified, 30 get 429, and the
/// right password after the burst gets 429 too.
pub async fn a_burst_of_wrong_passwords_verifies_at_most_the_limit(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let bodies = (0..40)
        .map(|i| fields(demo::USER.0, &format!("wrong {i}")))
        .collect();
    let replies = burst(&server, bodies).await;
    let counts = tally(&replies);
    assert_eq!(counts.get(&401), Some(&10), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&30), "{counts:?}");
    server
        .signin(&[])
        .await
        .expect(429)
        .error("too_many_attempts");
    // An unknown login is held to the same count, so the answer tells nothing.
    let bodies = (0..40)
        .map(|i| fields("nobody@example.org", &format!("x{i}")))
        .collect();
    let counts = tally(&burst(&server, bodies).await);
    assert_eq!(counts.get(&401), Some(&10), "{counts:?}");
}

/// Attack: the burst from one address, each attempt with another login so that no login's
/// count fills: the address's limit (5 here) holds under concurrency as well.
pub async fn a_burst_from_one_address_verifies_at_most_its_limit(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_THROTTLE_PER_ADDRESS", "5")]).await;
    let bodies = (0..20)
        .map(|i| fields(&format!("user{i}@example.org"), "x"))
        .collect();
    let counts = tally(&burst(&server, bodies).await);
    assert_eq!(counts.get(&401), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&15), "{counts:?}");
}

/// Attack: a storm of sign-ins, more than the hashing threads can check. With a hash queue of
/// one, the sign-ins beyond the one being checked are answered at once with 503, `Retry-After`
/// and a JSON error, for a known login as for an unknown one; none is a 500, and the storm
/// over, the user signs in.
pub async fn a_storm_beyond_the_hash_queue_is_answered_503_with_retry_after(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_HASH_QUEUE_DEPTH", "1")]).await;
    // Of each login, fewer failures than the per-login limit: no 429 comes in the way.
    let bodies = (0..24)
        .map(|i| match i % 3 {
            0 => fields(demo::USER.0, demo::USER.1),
            1 => fields(demo::USER.0, &format!("wrong {i}")),
            _ => fields("nobody@example.org", "x"),
        })
        .collect();
    let replies = burst(&server, bodies).await;
    for reply in replies.iter().filter(|reply| reply.status == 503) {
        reply.expect(503).error("temporarily_unavailable");
        let retry: u64 = reply
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&retry), "{retry}");
    }
    let counts = tally(&replies);
    assert!(
        counts.keys().all(|status| [201, 401, 503].contains(status)),
        "{counts:?}"
    );
    assert!(
        counts.get(&503).is_some_and(|&refused| refused > 0),
        "{counts:?}"
    );
    assert!(
        counts.get(&503).is_some_and(|&refused| refused < 24),
        "{counts:?}"
    );
    server.signin(&[]).await.expect(201);
}

/// Attack: any refresh token the user ever had — signed out, rotated away, expired — sent
/// with `scope=global` or `scope=others` to end every live session of the user, as often as
/// wanted. Such a token now ends nothing (200, `sessionsEnded: 0`); a live current token, or
/// one rotated away within the grace, still ends them all.
pub async fn a_dead_refresh_token_cannot_sign_everyone_out(adapter: Adapter) {
    let server = start(
        adapter,
        &[
            ("TOKENGATE_ROTATION", "true"),
            ("TOKENGATE_REUSE_GRACE", "1s"),
        ],
    )
    .await;
    let victim = server.signin(&[]).await.tokens();
    // A signed-out token.
    let old = server.signin(&[]).await.tokens();
    server.signout(&old.refresh, &[]).await.expect(200);
    // A token rotated away, past the grace.
    let rotated = server.signin(&[]).await.tokens();
    let current = server.refresh(&rotated.refresh).await.tokens();
    // An expired one (its session ends in 2 s).
    let soon = (now() + 2).to_string();
    let expiring = server.signin(&[("exp", soon.as_str())]).await.tokens();
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    for dead in [&old.refresh, &rotated.refresh, &expiring.refresh] {
        for scope in ["global", "others"] {
            let reply = server.signout(dead, &[("scope", scope)]).await;
            reply.expect(200);
            assert_eq!(
                reply.json()["sessionsEnded"],
                0,
                "{scope}: {}",
                reply.text()
            );
        }
    }
    // Nothing ended: the victim's session and the rotated one's current token still work.
    let victim = server.refresh(&victim.refresh).await.tokens();
    let current = server.refresh(&current.refresh).await.tokens();
    // A live current token ends the others...
    let reply = server
        .signout(&current.refresh, &[("scope", "others")])
        .await;
    reply.expect(200);
    assert_eq!(reply.json()["sessionsEnded"], 1, "{}", reply.text());
    server.refresh(&victim.refresh).await.invalid_token();
    // ...and a token replaced within the grace acts as /token would accept it.
    let fresh = server.signin(&[]).await.tokens();
    let next = server.refresh(&current.refresh).await.tokens();
    let reply = server
        .signout(&current.refresh, &[("scope", "global")])
        .await;
    assert_eq!(reply.json()["sessionsEnded"], 2, "{}", reply.text());
    server.refresh(&next.refresh).await.invalid_token();
    server.refresh(&fresh.refresh).await.invalid_token();
}

/// Attack: after sign-out, the session's access token still listed the user's sessions (the
/// endpoint skipped strict revocation while `/me` answered 401).
pub async fn sessions_needs_a_live_session_under_strict_revocation(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_STRICT_REVOCATION", "true")]).await;
    let tokens = server.signin(&[]).await.tokens();
    let auth = format!("Bearer {}", tokens.access);
    server
        .get("/api/rest/sessions", &[("authorization", &auth)])
        .await
        .expect(200);
    server.signout(&tokens.refresh, &[]).await.expect(200);
    server.me(&tokens.access).await.invalid_token();
    server
        .get("/api/rest/sessions", &[("authorization", &auth)])
        .await
        .invalid_token()
        .says("session");
}

/// Attack: with `trusted_proxy_header` set, leaving the header out (or sending garbage)
/// switched the per-address limit off. The peer address now counts instead.
pub async fn a_missing_proxy_header_falls_back_to_the_peer_address(adapter: Adapter) {
    let server = start(
        adapter,
        &[
            ("TOKENGATE_TRUSTED_PROXY_HEADER", "x-forwarded-for"),
            ("TOKENGATE_THROTTLE_PER_ADDRESS", "3"),
        ],
    )
    .await;
    let mut statuses = Vec::new();
    for (i, forwarded) in ["", "garbage", "", "not, an, address", ""]
        .iter()
        .enumerate()
    {
        let login = format!("user{i}@example.org");
        let headers: Vec<(&str, &str)> = if forwarded.is_empty() {
            vec![]
        } else {
            vec![("x-forwarded-for", forwarded)]
        };
        let reply = server
            .post(
                "/api/rest/signin",
                Body::Form(&[("login", &login), ("password", "x")]),
                &headers,
            )
            .await;
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // A well-formed header still names the client: another address has its own count.
    let reply = server
        .post(
            "/api/rest/signin",
            Body::Form(&[("login", "user9@example.org"), ("password", "x")]),
            &[("x-forwarded-for", "198.51.100.7")],
        )
        .await;
    reply.expect(401);
}

/// `a - b` for 32-byte big-endian numbers with `a >= b`.
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut digit = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(digit < 0);
        if digit < 0 {
            digit += 256;
        }
        out[i] = u8::try_from(digit).expect("a byte");
    }
    out
}

/// `a + b` for 32-byte little-endian numbers (no overflow for the values used here).
fn add_le(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = u8::try_from(sum & 0xff).expect("a byte");
        carry = sum >> 8;
    }
    out
}

const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
const ED25519_L_LE: &str = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `token` with its signature replaced by `signature`.
fn resigned(token: &str, signature: &[u8]) -> String {
    let (signed, _) = token.rsplit_once('.').expect("three parts");
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Attack: re-encoding a valid signature into a second valid token string. ES256 accepted
/// `(r, n - s)` beside `(r, s)` (RFC 8725 asks for a single valid encoding); EdDSA must refuse
/// `S + L`. We now sign with low `s` only and refuse high `s` and non-canonical `S`.
pub async fn signatures_have_one_valid_encoding(adapter: Adapter) {
    let n = hex(P256_N);
    let half: Vec<u8> = {
        // n / 2, big-endian.
        let mut out = vec![0u8; 32];
        let mut carry = 0u8;
        for (i, byte) in n.iter().enumerate() {
            out[i] = (byte >> 1) | (carry << 7);
            carry = byte & 1;
        }
        out
    };
    let server = asymmetric(adapter, &keys::p256()).await;
    let mut issued = Vec::new();
    let first = server.signin(&[]).await.tokens();
    // Refresh tokens are signed with the unpublished HS256 key: one encoding by construction.
    assert_eq!(header_of(&first.refresh)["alg"], "HS256");
    issued.push(first.access.clone());
    for _ in 0..8 {
        issued.push(server.refresh(&first.refresh).await.tokens().access);
    }
    for token in &issued {
        let signature = URL_SAFE_NO_PAD
            .decode(token.rsplit('.').next().expect("a signature"))
            .expect("base64url");
        assert_eq!(signature.len(), 64);
        assert!(signature[32..] <= half[..], "a high-s signature was issued");
        // The twin with n - s is a valid ECDSA signature of the same claims, and refused.
        let mut twin = signature[..32].to_vec();
        twin.extend(sub_be(&n, &signature[32..]));
        let forged = resigned(token, &twin);
        assert_ne!(&forged, token);
        server.me(&forged).await.invalid_token();
    }
    server.me(&first.access).await.expect(200);

    let server = asymmetric(adapter, &keys::ed25519()).await;
    let tokens = server.signin(&[]).await.tokens();
    let signature = URL_SAFE_NO_PAD
        .decode(tokens.access.rsplit('.').next().expect("a signature"))
        .expect("base64url");
    let mut twin = signature[..32].to_vec();
    twin.extend(add_le(&signature[32..], &hex(ED25519_L_LE)));
    server
        .me(&resigned(&tokens.access, &twin))
        .await
        .invalid_token();
    server.me(&tokens.access).await.expect(200);
}

/// Attack: the cookie-mode `Origin` check compared only the host, so `https://host` passed for
/// a plain-http server (and another port too), and with no `Origin` a foreign `Referer` was
/// not looked at. Scheme, host and port now count, and `Referer` stands in for `Origin`.
pub async fn cookie_origin_is_checked_by_scheme_host_port_and_referer(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_COOKIE_SECURE", "false")]).await;
    let reply = server.signin(&[("cookieauth", "true")]).await;
    reply.expect(201);
    let browser = super::cookies::Browser::of(&reply);
    let own = server.base.clone();
    let host = own.trim_start_matches("http://").to_owned();
    let other_port = {
        let (name, port) = host.rsplit_once(':').expect("a port");
        let port: u16 = port.parse().expect("a port number");
        format!("http://{name}:{}", port.wrapping_add(1))
    };
    let https = format!("https://{host}");
    let own_page = format!("{own}/app/page");
    let cases: [(&str, &str, u16); 6] = [
        ("origin", own.as_str(), 200),
        ("origin", https.as_str(), 403),
        ("origin", other_port.as_str(), 403),
        ("referer", own_page.as_str(), 200),
        ("referer", "http://evil.example/attack", 403),
        ("referer", "https://evil.example/", 403),
    ];
    for (header, value, status) in cases {
        let mut headers = browser.headers(true);
        headers.push((header, value));
        let reply = server.post("/api/rest/ping", Body::None, &headers).await;
        assert_eq!(reply.status, status, "{header}: {value}: {}", reply.text());
        if status == 403 {
            reply.expect(403).error("csrf_rejected").says("origin");
        }
    }
}

/// Attack: a body that never completes held a connection and a task open (over 6 s seen).
/// Reading an endpoint's body has a deadline (`body_timeout`), then 408 with the JSON error.
pub async fn a_body_that_never_completes_gets_408(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_BODY_TIMEOUT", "1s")]).await;
    let (reply, waited) = raw_exchange(
        &server,
        "POST /api/rest/signin (body never completes)",
        "Content-Length: 100\r\n\r\nlogin=a",
    )
    .await;
    reply.expect(408).error("request_timeout");
    assert!(
        waited < Duration::from_secs(10),
        "answered after {waited:?}"
    );
}

/// Attack surface: an answer a browser might sniff into something else. Every answer the gate
/// writes says `nosniff`, and every one but the public JWKS says `no-store`.
pub async fn every_answer_forbids_sniffing(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let signin = server.signin(&[]).await;
    let tokens = signin.tokens();
    let replies = [
        signin,
        server.refresh(&tokens.refresh).await,
        server.get("/api/rest/me", &[]).await,
        server.me("not.a.token").await,
        server.get("/api/rest/signin", &[]).await,
        server
            .post(
                "/api/rest/signin",
                Body::Raw("text/plain", b"x".to_vec()),
                &[],
            )
            .await,
        server.signout(&tokens.refresh, &[]).await,
        server.get("/api/rest/jwks", &[]).await,
    ];
    for reply in &replies {
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{}: {:?}",
            reply.status,
            reply.headers
        );
    }
    for reply in &replies[..replies.len() - 1] {
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "{}",
            reply.status
        );
    }
}

/// Attack: from one address, the address limit of wrong sign-ins, then a flood of sign-ins
/// with random logins, each refused by the address limit. Each refusal left an empty login
/// window behind (the login was reserved first) until the counter was full, and then every
/// user, from any address, got 429. A refused attempt now leaves nothing: after the flood the
/// right password from another address signs in, on every store.
pub async fn a_flood_from_one_address_locks_no_one_else_out(adapter: Adapter) {
    let server = start(
        adapter,
        &[
            ("TOKENGATE_TRUSTED_PROXY_HEADER", "x-forwarded-for"),
            ("TOKENGATE_THROTTLE_PER_ADDRESS", "5"),
        ],
    )
    .await;
    let attacker = [("x-forwarded-for", "203.0.113.9")];
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..120 {
        let login = format!("random{i}@example.org");
        let reply = server
            .post(
                "/api/rest/signin",
                Body::Form(&[("login", &login), ("password", "x")]),
                &attacker,
            )
            .await;
        *statuses.entry(reply.status).or_insert(0) += 1;
    }
    assert_eq!(
        statuses,
        std::collections::BTreeMap::from([(401, 5), (429, 115)])
    );
    let (login, password) = super::demo::USER;
    let fields = [("login", login), ("password", password)];
    server
        .post("/api/rest/signin", Body::Form(&fields), &attacker)
        .await
        .expect(429);
    server
        .post(
            "/api/rest/signin",
            Body::Form(&fields),
            &[("x-forwarded-for", "198.51.100.7")],
        )
        .await
        .expect(201);
    // What the flood left in the store: the address window and a window per login it tried
    // before its limit, not one per refused attempt.
    if let Some(entries) = server.counter_entries() {
        assert!(entries <= 10, "{entries} windows left after the flood");
    }
}

/// Attack: a client sends its own `X-Forwarded-For: 6.6.6.6` and the trusted proxy appends
/// its line `10.0.0.7`: only the first line was read, so the client chose the address it was
/// counted under. The last line (what the proxy appended) counts now.
pub async fn a_forwarded_line_of_the_client_does_not_choose_its_address(adapter: Adapter) {
    let server = start(
        adapter,
        &[
            ("TOKENGATE_TRUSTED_PROXY_HEADER", "x-forwarded-for"),
            ("TOKENGATE_THROTTLE_PER_ADDRESS", "3"),
        ],
    )
    .await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let login = format!("user{i}@example.org");
        let spoofed = format!("6.6.6.{i}");
        let reply = server
            .post(
                "/api/rest/signin",
                Body::Form(&[("login", &login), ("password", "x")]),
                &[
                    ("x-forwarded-for", spoofed.as_str()),
                    ("x-forwarded-for", "192.0.2.7"),
                ],
            )
            .await;
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
}

/// An endpoint, the fields sent to it, and the field its answer names.
type FieldCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

/// Attack: a NUL byte in a field reached PostgreSQL (`/signout` with `session=%00`: 503 and
/// an encoding error in the log). A control character in any field but the password is now a
/// 400 naming the field, before any store or directory call, on every store; and a session id
/// with one in the path is no session (404).
pub async fn control_characters_in_fields_are_400_before_any_store(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let cases: [FieldCase<'_>; 4] = [
        (
            "/api/rest/signout",
            vec![("token", tokens.refresh.as_str()), ("session", "\0")],
            "session",
        ),
        (
            "/api/rest/signout",
            vec![("token", tokens.refresh.as_str()), ("scope", "local\0")],
            "scope",
        ),
        (
            "/api/rest/signin",
            vec![("login", "john.doe@email.org\0"), ("password", "x")],
            "login",
        ),
        (
            "/api/rest/signin",
            vec![
                ("login", "demo-key"),
                ("password", "demo-secret"),
                ("application", "demo\napp"),
            ],
            "application",
        ),
    ];
    for (path, fields, field) in &cases {
        server
            .post(path, Body::Form(fields), &[])
            .await
            .expect(400)
            .error("invalid_request")
            .says(&format!(
                "the field `{field}` must not contain control characters"
            ));
    }
    let bearer = format!("Bearer {}", tokens.access);
    server
        .delete("/api/rest/sessions/%00", &[("authorization", &bearer)])
        .await
        .expect(404);
    // Nothing was ended or counted: the session still refreshes.
    server.refresh(&tokens.refresh).await.expect(201);
}

/// Attack: with a `citext` login column (or a case-insensitive collation), `JOHN.doe@…`,
/// `John.Doe@…`, `john.doe@…` with a decomposed accent, a trailing space, a soft hyphen or in
/// fullwidth letters each had ten attempts of their own, as the throttle keyed on the bytes
/// sent. The throttle now keys on
/// the normalised login: every spelling shares the one window.
pub async fn spellings_of_one_login_share_its_attempts(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (login, password) = demo::USER;
    let upper = login.to_uppercase();
    let title = format!("John.Doe{}", &login["john.doe".len()..]);
    let spaced = format!("  {login} ");
    // What an ICU case-insensitive collation ignores or folds: a soft hyphen, a zero-width
    // joiner, fullwidth letters.
    let hidden = format!("jo\u{ad}hn\u{200d}{}", &login["john".len()..]);
    let wide = format!("\u{ff2a}\u{ff2f}\u{ff28}\u{ff2e}{}", &login["john".len()..]);
    let spellings = [login, &upper, &title, &spaced, &hidden, &wide];
    for i in 0..10 {
        let spelling = spellings[i % spellings.len()];
        server
            .post(
                "/api/rest/signin",
                Body::Form(&[("login", spelling), ("password", "wrong")]),
                &[],
            )
            .await
            .expect(401);
    }
    for spelling in spellings {
        server
            .post(
                "/api/rest/signin",
                Body::Form(&[("login", spelling), ("password", password)]),
                &[],
            )
            .await
            .expect(429)
            .error("too_many_attempts");
    }
    // A login longer than any directory holds is refused before it is normalised.
    server
        .post(
            "/api/rest/signin",
            Body::Form(&[("login", &"a".repeat(1025)), ("password", "x")]),
            &[],
        )
        .await
        .expect(400)
        .error("invalid_request");
    // Composed and decomposed accents are one login too.
    for (i, spelling) in ["jos\u{e9}@example.org", "Jose\u{301}@example.org"]
        .iter()
        .cycle()
        .take(11)
        .enumerate()
    {
        let reply = server
            .post(
                "/api/rest/signin",
                Body::Form(&[("login", spelling), ("password", "x")]),
                &[],
            )
            .await;
        assert_eq!(reply.status, if i < 10 { 401 } else { 429 }, "attempt {i}");
    }
}
