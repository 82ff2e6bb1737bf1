//! The endpoints as axum routes, for apps that guard with `route_layer`.

use axum::http::StatusCode;
use axum::routing::any;
use axum::Router;
use tokengate_core::TokenGate;

use crate::TokenGateLayer;

/// The gate's endpoints (`signin`, `token`, `signout`, `jwks`, `sessions`, `sessions/{id}` under the configured
/// prefix, whole paths) as routes of their own, to merge into the top router of an app whose
/// [`TokenGateLayer`] sees only some requests: applied with `Router::route_layer` (a route
/// layer sees only the routes the app has) or inside `Router::nest` (a nested router sees only
/// its routes, unless it has a fallback of its own). Without them the endpoints would answer
/// 404 there. With `.layer(...)` on the top router (the usual way) they are not needed.
///
/// ```
/// use axum::{routing::get, Router};
/// use tokengate::axum::{endpoints, TokenGateLayer};
/// use tokengate::credentials::MemoryDirectory;
/// use tokengate::{Config, TokenGate};
///
/// let config = Config::default().with_secret("an-example-secret-of-at-least-32-bytes");
/// let gate = TokenGate::builder(config).credentials(MemoryDirectory::new()).build()?;
/// let app: Router = Router::new()
///     .route("/api/rest/me", get(|| async { "me" }))
///     .route_layer(TokenGateLayer::new(gate.clone()))
///     .merge(endpoints(gate));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// With `discovery` on, the two discovery documents, whose paths are from the root, are among
/// the routes; inside `Router::nest` they would be under the nest's path, so merge this router
/// at the top.
pub fn endpoints<S: Clone + Send + Sync + 'static>(gate: TokenGate) -> Router<S> {
    // Route templates as axum writes them (`/api/rest/sessions/{id}`).
    let paths: Vec<String> = gate.endpoint_routes().map(|(_, path)| path).collect();
    let layer = TokenGateLayer::new(gate);
    paths.iter().fold(Router::new(), |router, path| {
        // The gate answers its endpoints itself; the handler is never reached.
        router.route(
            path,
            any(|| async { StatusCode::NOT_FOUND }).layer(layer.clone()),
        )
    })
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use axum::Router;
    use http_body_util::BodyExt;
    use tokengate_core::credentials::{hash_password, MemoryDirectory};
    use tokengate_core::{Config, TokenGate};
    use tower::ServiceExt;

    use super::endpoints;
    use crate::{Claims, TokenGateLayer};

    fn gate() -> TokenGate {
        let users = MemoryDirectory::new()
            .user("ada", &hash_password("pw").expect("hash"))
            .expect("user");
        TokenGate::builder(Config::default().with_secret("a-test-only-secret-of-32-bytes-or-more"))
            .credentials(users)
            .build()
            .expect("gate")
    }

    async fn me(claims: Claims) -> String {
        claims.sub.clone()
    }

    /// Signs in through `app`, then calls `me_path` with the token and without: the statuses.
    async fn statuses(app: Router, me_path: &str) -> (u16, u16, u16) {
        let signin = http::Request::post("/api/rest/signin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from("login=ada&password=pw"))
            .expect("request");
        let response = app.clone().oneshot(signin).await.expect("infallible");
        let signed = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let tokens: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let access = tokens["accessToken"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let with = http::Request::get(me_path)
            .header("authorization", format!("Bearer {access}"))
            .body(axum::body::Body::empty())
            .expect("request");
        let without = http::Request::get(me_path)
            .body(axum::body::Body::empty())
            .expect("request");
        let with = app
            .clone()
            .oneshot(with)
            .await
            .expect("infallible")
            .status()
            .as_u16();
        let without = app
            .oneshot(without)
            .await
            .expect("infallible")
            .status()
            .as_u16();
        (signed, with, without)
    }

    #[tokio::test]
    async fn the_usual_wirings_answer_the_endpoints() {
        let gate = gate();
        // `.layer` on the app's router.
        let top = Router::new()
            .route("/api/rest/me", get(me))
            .layer(TokenGateLayer::new(gate.clone()));
        assert_eq!(statuses(top, "/api/rest/me").await, (201, 200, 401));
        // Merged routers, then the layer.
        let merged = Router::new()
            .merge(Router::new().route("/api/rest/me", get(me)))
            .merge(Router::new().route("/other", get(|| async { "other" })))
            .layer(TokenGateLayer::new(gate.clone()));
        assert_eq!(statuses(merged, "/api/rest/me").await, (201, 200, 401));
        // The layer inside a nested router: the guard sees whole paths (`OriginalUri`), and
        // the endpoints, which are no route of the nested router, are merged at the top.
        let nested = Router::new()
            .nest(
                "/api",
                Router::new()
                    .route("/rest/me", get(me))
                    .layer(TokenGateLayer::new(gate.clone())),
            )
            .merge(endpoints(gate.clone()));
        assert_eq!(statuses(nested, "/api/rest/me").await, (201, 200, 401));
        // Nested at the endpoints' own prefix, the same way.
        let at_prefix = Router::new()
            .nest(
                "/api/rest",
                Router::new()
                    .route("/me", get(me))
                    .layer(TokenGateLayer::new(gate.clone())),
            )
            .merge(endpoints(gate.clone()));
        assert_eq!(statuses(at_prefix, "/api/rest/me").await, (201, 200, 401));
        // Or a nested router with a fallback of its own: then every path under the prefix
        // reaches its layer, the endpoints included.
        let with_fallback = Router::new().nest(
            "/api",
            Router::new()
                .route("/rest/me", get(me))
                .fallback(|| async { http::StatusCode::NOT_FOUND })
                .layer(TokenGateLayer::new(gate.clone())),
        );
        assert_eq!(
            statuses(with_fallback, "/api/rest/me").await,
            (201, 200, 401)
        );
        // `route_layer`, with the endpoints merged as routes.
        let routed = Router::new()
            .route("/api/rest/me", get(me))
            .route_layer(TokenGateLayer::new(gate.clone()))
            .merge(endpoints(gate));
        assert_eq!(statuses(routed, "/api/rest/me").await, (201, 200, 401));
    }

    #[tokio::test]
    async fn the_endpoints_router_answers_discovery_from_the_root() {
        let mut config = Config::default().with_secret("a-test-only-secret-of-32-bytes-or-more");
        config.endpoints.discovery = true;
        config.tokens.issuer = "https://auth.example.org/tenant".to_owned();
        let gate = TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .expect("gate");
        let app: Router = Router::new()
            .route("/v2/me", get(me))
            .route_layer(TokenGateLayer::new(gate.clone()))
            .merge(endpoints(gate));
        for path in [
            "/tenant/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server/tenant",
        ] {
            let request = http::Request::get(path)
                .body(axum::body::Body::empty())
                .expect("request");
            let response = app.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status().as_u16(), 200, "{path}");
            let body = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            let document: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            assert_eq!(
                document["issuer"], "https://auth.example.org/tenant",
                "{path}"
            );
        }
    }
}
