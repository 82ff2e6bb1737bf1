//! The axum extractor for the verified claims.

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Serialize;
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

impl<T: Serialize> Serialize for Claims<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Why [`Claims`] (or [`Authorized`]) could not be extracted; answered like every other
/// tokengate error.
#[derive(Debug)]
pub struct ClaimsRejection(tokengate_core::Response);

impl ClaimsRejection {
    /// The status it answers with: 401, 403, or 500 when no gate is in front of the route.
    pub fn status(&self) -> u16 {
        self.0.status
    }

    /// The error code of its JSON body (`missing_token`, `invalid_token`,
    /// `insufficient_scope`, `server_error`).
    pub fn code(&self) -> Option<String> {
        self.0.error_code()
    }

    /// The whole answer, to change before it is sent.
    pub fn into_inner(self) -> tokengate_core::Response {
        self.0
    }
}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        into_response(self.0)
    }
}

/// A tokengate answer (an `on_error` hook's, an extractor's) as an axum response.
pub fn into_response(response: tokengate_core::Response) -> Response {
    to_http(response, ResponseBody::<axum::body::Body>::full).map(axum::body::Body::new)
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
/// use tokengate::authz::{Policy, Requirement};
/// use tokengate::axum::Authorized;
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

    #[test]
    fn a_rejection_says_its_status_and_code_and_claims_serialize() {
        let rejection = super::ClaimsRejection(
            tokengate_core::adapter::extract::required::<()>(None).expect_err("no gate"),
        );
        assert_eq!(rejection.status(), 500);
        assert_eq!(rejection.code().as_deref(), Some("server_error"));
        let claims: tokengate_core::Claims = tokengate_core::Claims::from_payload(
            br#"{"iss":"i","sub":"ada","iat":1,"jti":"j","sid":"s"}"#,
        )
        .expect("claims");
        let json = tokengate_core::serde_json::to_value(Claims(claims)).expect("serializes");
        assert_eq!(json["sub"], "ada");
    }
}
