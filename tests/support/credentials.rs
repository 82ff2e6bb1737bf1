//! Application keys and credentials: one answer for every bad credential, named fields.

use super::{claims_of, demo, start, Adapter, Body, Reply};

pub async fn application_login_carries_the_application(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (app, key, secret) = demo::APPLICATION;
    let fields = [("login", key), ("password", secret), ("application", app)];
    let tokens = server
        .post("/api/rest/signin", Body::Multipart(&fields), &[])
        .await
        .tokens();
    let me = server.me(&tokens.access).await;
    me.expect(200);
    assert_eq!(me.json()["sub"], key);
    assert_eq!(me.json()["app"], app);
    assert_eq!(claims_of(&tokens.refresh)["app"], app);
    let renewed = server.refresh(&tokens.refresh).await.tokens();
    assert_eq!(claims_of(&renewed.access)["app"], app);
}

pub async fn every_bad_credential_gets_the_same_answer(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (app, key, secret) = demo::APPLICATION;
    let attempts: [&[(&str, &str)]; 6] = [
        &[("login", "nobody@email.org"), ("password", demo::USER.1)],
        &[("login", demo::USER.0), ("password", "wrong")],
        &[
            ("login", key),
            ("password", secret),
            ("application", "other-app"),
        ],
        &[("login", key), ("password", "wrong"), ("application", app)],
        &[
            ("login", "unknown-key"),
            ("password", secret),
            ("application", app),
        ],
        &[("login", key), ("password", secret)],
    ];
    let mut replies: Vec<Reply> = Vec::new();
    for fields in attempts {
        replies.push(
            server
                .post("/api/rest/signin", Body::Multipart(fields), &[])
                .await,
        );
    }
    let first = &replies[0];
    first.expect(401).error("invalid_credentials");
    for reply in &replies {
        assert_eq!(reply.status, first.status);
        assert_eq!(reply.body, first.body);
        assert_eq!(
            reply.header("www-authenticate"),
            first.header("www-authenticate")
        );
        assert_eq!(reply.header("content-type"), first.header("content-type"));
    }
}

pub async fn missing_fields_are_named(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let only_login = [("login", demo::USER.0)];
    server
        .post("/api/rest/signin", Body::Multipart(&only_login), &[])
        .await
        .expect(400)
        .says("`password`");
    let only_password = [("password", demo::USER.1)];
    server
        .post("/api/rest/signin", Body::Multipart(&only_password), &[])
        .await
        .expect(400)
        .says("`login`");
    let empty = [("login", ""), ("password", demo::USER.1)];
    server
        .post("/api/rest/signin", Body::Multipart(&empty), &[])
        .await
        .expect(400)
        .says("`login`");
    server
        .post("/api/rest/signin", Body::None, &[])
        .await
        .expect(400)
        .says("`login`");
}

pub async fn duplicate_fields_are_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let fields = [
        ("login", demo::USER.0),
        ("login", "other"),
        ("password", demo::USER.1),
    ];
    server
        .post("/api/rest/signin", Body::Multipart(&fields), &[])
        .await
        .expect(400)
        .says("more than once");
    server
        .post("/api/rest/signin", Body::Form(&fields), &[])
        .await
        .expect(400)
        .says("more than once");
    let json = format!(
        r#"{{"login":"{}","login":"x","password":"p"}}"#,
        demo::USER.0
    );
    server
        .post(
            "/api/rest/signin",
            Body::Raw("application/json", json.into_bytes()),
            &[],
        )
        .await
        .expect(400)
        .says("more than once");
}
