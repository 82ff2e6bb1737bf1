//! Token lifetimes and the sign-in `exp` field.

use std::time::Duration;

use super::{claims_of, start, Adapter};

pub async fn default_lifetimes_are_20_minutes_and_24_hours(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let reply = server.signin(&[]).await;
    let tokens = reply.tokens();
    let access = claims_of(&tokens.access);
    let refresh = claims_of(&tokens.refresh);
    assert_eq!(
        access["exp"].as_i64().unwrap_or_default() - access["iat"].as_i64().unwrap_or_default(),
        1200
    );
    assert_eq!(
        refresh["exp"].as_i64().unwrap_or_default() - refresh["iat"].as_i64().unwrap_or_default(),
        86_400
    );
    assert_eq!(reply.json()["expiresIn"], 1200);
}

/// With the verified-token cache off and on: a cached token still expires at its `exp`.
pub async fn access_ttl_is_configurable_and_expiry_is_enforced(adapter: Adapter) {
    for cache in ["false", "true"] {
        expiry_is_enforced(adapter, cache).await;
    }
}

async fn expiry_is_enforced(adapter: Adapter, cache: &str) {
    let server = start(
        adapter,
        &[
            ("TOKENGATE_ACCESS_TTL", "4s"),
            ("TOKENGATE_LEEWAY", "0s"),
            ("TOKENGATE_VERIFY_CACHE", cache),
        ],
    )
    .await;
    let tokens = server.signin(&[]).await.tokens();
    let access = claims_of(&tokens.access);
    let exp = access["exp"].as_i64().unwrap_or_default();
    assert_eq!(exp - access["iat"].as_i64().unwrap_or_default(), 4);
    server.me(&tokens.access).await.expect(200);
    // Until the second after `exp`, whatever the sign-in cost.
    let left = exp + 1 - super::attacks::now();
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(left).unwrap_or(0) * 1000 + 100,
    ))
    .await;
    server
        .me(&tokens.access)
        .await
        .invalid_token()
        .says("expired");
    // The refresh token still gives a fresh one.
    let fresh = server.refresh(&tokens.refresh).await.tokens();
    server.me(&fresh.access).await.expect(200);
}

pub async fn exp_as_epoch_seconds(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let at = super::attacks::now() + 7 * 86_400;
    let tokens = server.signin(&[("exp", &at.to_string())]).await.tokens();
    assert_eq!(claims_of(&tokens.refresh)["exp"], at);
    let access = claims_of(&tokens.access);
    assert_eq!(
        access["exp"].as_i64().unwrap_or_default() - access["iat"].as_i64().unwrap_or_default(),
        1200
    );
}

pub async fn exp_as_iso_datetime(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let at = (super::attacks::now() / 60 + 2 * 24 * 60) * 60;
    let iso = time::OffsetDateTime::from_unix_timestamp(at)
        .expect("valid time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let tokens = server.signin(&[("exp", &iso)]).await.tokens();
    assert_eq!(claims_of(&tokens.refresh)["exp"], at);
}

pub async fn exp_unlimited_gives_a_refresh_token_without_exp(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[("exp", "unlimited")]).await.tokens();
    assert!(claims_of(&tokens.refresh).get("exp").is_none());
    assert!(claims_of(&tokens.access)["exp"].is_i64());
    server.refresh(&tokens.refresh).await.tokens();
    server.signout(&tokens.refresh, &[]).await.expect(200);
    server.refresh(&tokens.refresh).await.invalid_token();
}

pub async fn exp_in_the_past_is_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    server
        .signin(&[("exp", "1000")])
        .await
        .expect(400)
        .error("invalid_request")
        .says("past");
}

pub async fn exp_beyond_the_allowed_maximum_is_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let far = (super::attacks::now() + 31 * 86_400).to_string();
    server
        .signin(&[("exp", &far)])
        .await
        .expect(400)
        .says("longest lifetime");
}

pub async fn exp_unparsable_is_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    for value in ["tomorrow", "2026-13-45T99:00:00Z", "12.5", "-"] {
        server
            .signin(&[("exp", value)])
            .await
            .expect(400)
            .says("`exp`");
    }
}

pub async fn exp_unlimited_is_refused_where_not_allowed(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_ALLOW_UNLIMITED", "false")]).await;
    server
        .signin(&[("exp", "unlimited")])
        .await
        .expect(400)
        .says("unlimited");
}
