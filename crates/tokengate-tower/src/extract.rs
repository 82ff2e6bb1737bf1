//! The axum extractor for the verified claims.

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;
use tokengate_core::adapter::{extract, Guarded};
use tokengate_core::authz::Policy;

use crate::body::ResponseBody;
use crate::head::to_http;

/// The claims of the request's access token, as verified by the [`TokenGateLayer`](crate::TokenGateLayer).
///
/// `Claims<T>` also reads the custom claims as `T`. As `Option<Claims<T>>` it gives `None`
/// when the request came without a valid token (optional mode, public paths), and when the
/// custom claims do not fit `T`, as the actix-web extractor does; it refuses (500) only when
/// no gate is in front of the route.
#[derive(Debug, Clone)]
pub struct Claims<T = ()>(pub tokengate_core::Claims<T>);

impl<T> Deref for Claims<T> {
    type Target = tokengate_core::Claims<T>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T> DerefMut for Claims<T> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Why [`Claims`] could not be extracted; answered like every other tokengate error.
#[derive(Debug)]
pub struct ClaimsRejection(tokengate_core::Response);

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        to_http(self.0, ResponseBody::<axum::body::Body>::full).map(axum::body::Body::new)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        extract::required(parts.extensions.get::<Guarded>())
            .map(Claims)
            .map_err(ClaimsRejection)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequestParts<S> for Claims<T> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        extract::optional(parts.extensions.get::<Guarded>())
            .map(|claims| claims.map(Claims))
            .map_err(ClaimsRejection)
    }
}

/// The claims of a request whose token meets the [`Policy`] `P`, for a single handler (the
/// extractor form of [`Require`](crate::Require)): 401 without a valid token, 403
/// `insufficient_scope` when the token does not meet `P`'s requirement.
///
/// ```
/// use tokengate_core::authz::{Policy, Requirement};
/// use tokengate_tower::Authorized;
///
/// struct Admin;
/// impl Policy for Admin {
///     fn requirement() -> Requirement {
///         Requirement::role("admin")
///     }
/// }
///
/// async fn dashboard(admin: Authorized<Admin>) -> String {
///     format!("hello, {}", admin.sub)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authorized<P, T = ()> {
    claims: tokengate_core::Claims<T>,
    policy: PhantomData<fn() -> P>,
}

impl<P, T> Authorized<P, T> {
    /// The claims.
    pub fn into_inner(self) -> tokengate_core::Claims<T> {
        self.claims
    }
}

impl<P, T> Deref for Authorized<P, T> {
    type Target = tokengate_core::Claims<T>;

    fn deref(&self) -> &Self::Target {
        &self.claims
    }
}

impl<S: Send + Sync, P: Policy, T: DeserializeOwned> FromRequestParts<S> for Authorized<P, T> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        extract::authorized(parts.extensions.get::<Guarded>(), &P::requirement())
            .map(|claims| Authorized {
                claims,
                policy: PhantomData,
            })
            .map_err(ClaimsRejection)
    }
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use axum::Router;
    use http_body_util::BodyExt;
    use tokengate_core::credentials::{hash_password, MemoryDirectory};
    use tokengate_core::{Config, TokenGate};
    use tower::ServiceExt;

    use super::Claims;
    use crate::TokenGateLayer;

    #[derive(serde::Deserialize)]
    struct Tenant {
        #[allow(dead_code)]
        tenant: u64,
    }

    async fn call(app: &Router, request: http::Request<axum::body::Body>) -> (u16, String) {
        let response = app.clone().oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn custom_claims_that_do_not_fit_are_a_401_not_a_500() {
        let config = Config::default().with_secret("a-test-only-secret-of-32-bytes-or-more");
        let users = MemoryDirectory::new()
            .user("ada", &hash_password("pw").expect("hash"))
            .expect("user");
        let gate = TokenGate::builder(config)
            .credentials(users)
            .build()
            .expect("valid test config");
        let app = Router::new()
            .route("/tenant", get(|_claims: Claims<Tenant>| async { "ok" }))
            .route(
                "/maybe",
                get(|claims: Option<Claims<Tenant>>| async move {
                    if claims.is_some() {
                        "tenant"
                    } else {
                        "none"
                    }
                }),
            )
            .layer(TokenGateLayer::new(gate));
        let signin = http::Request::post("/api/rest/signin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from("login=ada&password=pw"))
            .expect("request");
        let (status, body) = call(&app, signin).await;
        assert_eq!(status, 201, "{body}");
        let tokens: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        let access = tokens["accessToken"].as_str().unwrap_or_default();
        let request = http::Request::get("/tenant")
            .header("authorization", format!("Bearer {access}"))
            .body(axum::body::Body::empty())
            .expect("request");
        let (status, body) = call(&app, request).await;
        assert_eq!(status, 401, "{body}");
        assert!(body.contains("invalid_token"), "{body}");
        // As an option, claims that do not fit are none, as on actix-web.
        let request = http::Request::get("/maybe")
            .header("authorization", format!("Bearer {access}"))
            .body(axum::body::Body::empty())
            .expect("request");
        assert_eq!(call(&app, request).await, (200, "none".to_owned()));
    }
}
