//! The actix-web extractor for the verified claims.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::{ready, Ready};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokengate_core::adapter::{extract, Guarded};
use tokengate_core::authz::Policy;

use crate::head::to_actix;

/// The claims of the request's access token, as verified by the
/// [`TokenGateTransform`](crate::TokenGateTransform).
///
/// `Claims<T>` also reads the custom claims as `T`. As `Option<Claims<T>>` it gives `None`
/// when the request came without a valid token (optional mode, public paths), and when the
/// custom claims do not fit `T` (actix-web's `Option` turns every refusal into `None`; the
/// axum extractor answers the same).
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

/// A tokengate answer (an `on_error` hook's, an extractor's) as an actix-web response.
pub fn into_response(response: tokengate_core::Response) -> HttpResponse {
    to_actix(response)
}

impl fmt::Debug for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClaimsRejection")
            .field(&self.0.status)
            .finish()
    }
}

impl fmt::Display for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "claims refused with status {}", self.0.status)
    }
}

impl ResponseError for ClaimsRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        to_actix(self.0.clone())
    }
}

impl<T: DeserializeOwned> FromRequest for Claims<T> {
    type Error = ClaimsRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let extensions = request.extensions();
        ready(
            extract::required(extensions.get::<Guarded>())
                .map(Claims)
                .map_err(ClaimsRejection),
        )
    }
}

/// The claims of a request whose token meets the [`Policy`] `P`, for a single handler (the
/// extractor form of [`Require`](crate::Require)): 401 without a valid token, 403
/// `insufficient_scope` when the token does not meet `P`'s requirement.
///
/// ```
/// use actix_web::HttpResponse;
/// use tokengate::actix::Authorized;
/// use tokengate::authz::{Policy, Requirement};
///
/// struct Admin;
/// impl Policy for Admin {
///     fn requirement() -> Requirement {
///         Requirement::role("admin")
///     }
/// }
///
/// async fn dashboard(admin: Authorized<Admin>) -> HttpResponse {
///     HttpResponse::Ok().body(format!("hello, {}", admin.sub))
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

impl<P: Policy, T: DeserializeOwned> FromRequest for Authorized<P, T> {
    type Error = ClaimsRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let extensions = request.extensions();
        ready(
            extract::authorized(extensions.get::<Guarded>(), &P::requirement())
                .map(|claims| Authorized {
                    claims,
                    policy: PhantomData,
                })
                .map_err(ClaimsRejection),
        )
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{test, web, App, HttpResponse};
    use tokengate_core::credentials::{hash_password, MemoryDirectory};
    use tokengate_core::{Config, TokenGate};

    use super::Claims;
    use crate::TokenGateTransform;

    fn gate() -> TokenGate {
        let config = Config::default()
            .with_secret("a-test-only-secret-of-32-bytes-or-more")
            .with_public_paths(["/open"]);
        TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .expect("valid test config")
    }

    async fn who(claims: Option<Claims>) -> HttpResponse {
        HttpResponse::Ok().body(claims.map_or_else(|| "anonymous".to_owned(), |c| c.0.sub))
    }

    async fn strict(claims: Claims) -> HttpResponse {
        HttpResponse::Ok().body(claims.0.sub)
    }

    #[actix_web::test]
    async fn custom_claims_that_do_not_fit_are_a_401_not_a_500() {
        #[derive(serde::Deserialize)]
        struct Tenant {
            #[allow(dead_code)]
            tenant: u64,
        }
        async fn tenant(_claims: Claims<Tenant>) -> HttpResponse {
            HttpResponse::Ok().finish()
        }
        let config = Config::default().with_secret("a-test-only-secret-of-32-bytes-or-more");
        let users = MemoryDirectory::new()
            .user("ada", &hash_password("pw").expect("hash"))
            .expect("user");
        let gate = TokenGate::builder(config)
            .credentials(users)
            .build()
            .expect("valid test config");
        let app = test::init_service(
            App::new()
                .route("/tenant", web::get().to(tenant))
                .wrap(TokenGateTransform::new(gate)),
        )
        .await;
        let signin = test::TestRequest::post()
            .uri("/api/rest/signin")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload("login=ada&password=pw")
            .to_request();
        let tokens: serde_json::Value = test::call_and_read_body_json(&app, signin).await;
        let access = tokens["accessToken"].as_str().unwrap_or_default();
        let request = test::TestRequest::get()
            .uri("/tenant")
            .insert_header(("authorization", format!("Bearer {access}")))
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), 401);
        let body = test::read_body(response).await;
        assert!(String::from_utf8_lossy(&body).contains("invalid_token"));
    }

    #[actix_web::test]
    async fn optional_claims_are_none_on_a_public_path() {
        let app = test::init_service(
            App::new()
                .route("/open", web::get().to(who))
                .wrap(TokenGateTransform::new(gate())),
        )
        .await;
        let request = test::TestRequest::get().uri("/open").to_request();
        assert_eq!(test::call_and_read_body(&app, request).await, "anonymous");
    }

    #[actix_web::test]
    async fn claims_without_the_transform_are_a_server_error_in_json() {
        let app = test::init_service(App::new().route("/me", web::get().to(strict))).await;
        let request = test::TestRequest::get().uri("/me").to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), 500);
        let body = test::read_body(response).await;
        assert!(String::from_utf8_lossy(&body).contains("\"error\""));
    }

    #[actix_web::test]
    async fn required_claims_on_a_public_path_answer_401() {
        let app = test::init_service(
            App::new()
                .route("/open", web::get().to(strict))
                .wrap(TokenGateTransform::new(gate())),
        )
        .await;
        let request = test::TestRequest::get().uri("/open").to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), 401);
        let challenge = response.headers().get("www-authenticate");
        assert_eq!(
            challenge.and_then(|v| v.to_str().ok()),
            Some("Bearer realm=\"tokengate\"")
        );
    }

    #[actix_web::test]
    async fn an_error_hook_adding_a_mixed_case_header_never_kills_the_worker() {
        let config = Config::default().with_secret("a-test-only-secret-of-32-bytes-or-more");
        let gate = TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .on_error(|_, _, mut response| {
                // A name in any case is kept in lower case; a bad one is refused, not panicked.
                let _ = response.append_header("X-Request-Id", "42");
                assert!(response.append_header("Bad Name", "x").is_err());
                response
            })
            .build()
            .expect("valid test config");
        let app = test::init_service(
            App::new()
                .route("/strict", web::get().to(strict))
                .wrap(TokenGateTransform::new(gate)),
        )
        .await;
        for _ in 0..2 {
            let request = test::TestRequest::get().uri("/strict").to_request();
            let response = test::call_service(&app, request).await;
            assert_eq!(response.status().as_u16(), 401);
            assert_eq!(
                response
                    .headers()
                    .get("x-request-id")
                    .map(actix_web::http::header::HeaderValue::as_bytes),
                Some(&b"42"[..])
            );
        }
    }

    #[actix_web::test]
    async fn a_rejection_says_its_status_and_code_and_claims_serialize() {
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
