//! Per-route requirements: a Transform for the scopes and resources that need more than a
//! valid token.

use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::HttpMessage as _;
use futures_util::future::{ready, Ready};
use tokengate_core::adapter::{extract, Guarded};
use tokengate_core::authz::Requirement;

use crate::future::ResponseFuture;
use crate::head::{to_actix, Head};

/// Applies a [`Requirement`] to what it wraps (`Scope::wrap`, `Resource::wrap`), inside a
/// [`TokenGateTransform`](crate::TokenGateTransform). A request without a valid token gets
/// 401, one whose token does not meet the requirement 403 `insufficient_scope`.
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use tokengate::actix::Require;
///
/// let app = App::new().service(
///     web::scope("/api/rest/admin")
///         .wrap(Require::role("admin"))
///         .route("", web::get().to(|| async { HttpResponse::Ok().body("hello, admin") })),
/// );
/// # drop(app);
/// ```
#[derive(Debug, Clone)]
pub struct Require {
    requirement: Arc<Requirement>,
}

tokengate_core::require_constructors!(Require);

impl<S, B> Transform<S, ServiceRequest> for Require
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequireMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireMiddleware {
            service: Rc::new(service),
            requirement: Arc::clone(&self.requirement),
        }))
    }
}

/// The middleware made by [`Require`].
#[derive(Debug)]
pub struct RequireMiddleware<S> {
    service: Rc<S>,
    requirement: Arc<Requirement>,
}

impl<S, B> Service<ServiceRequest> for RequireMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let decided = extract::authorize(
            request.extensions().get::<Guarded>(),
            &self.requirement,
            &Head(request.request()),
        );
        match decided {
            Ok(()) => ResponseFuture::inner(self.service.call(request)),
            Err(response) => ResponseFuture::ready(request.into_response(to_actix(response))),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{test, web, App, HttpResponse};
    use tokengate_core::credentials::{hash_password, MemoryDirectory};
    use tokengate_core::{Config, TokenGate};

    use crate::{Claims, TokenGateTransform};

    fn gate() -> TokenGate {
        let users = MemoryDirectory::new()
            .user("ada", &hash_password("pw").expect("hash"))
            .expect("user");
        TokenGate::builder(Config::default().with_secret("a-test-only-secret-of-32-bytes-or-more"))
            .credentials(users)
            .build()
            .expect("gate")
    }

    async fn me(claims: Claims) -> HttpResponse {
        HttpResponse::Ok().body(claims.sub.clone())
    }

    /// Signs in, then calls `path` with the token and without: the three statuses.
    macro_rules! statuses {
        ($app:expr, $path:expr) => {{
            let app = test::init_service($app).await;
            let signin = test::TestRequest::post()
                .uri("/api/rest/signin")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload("login=ada&password=pw")
                .to_request();
            let response = test::call_service(&app, signin).await;
            let signed = response.status().as_u16();
            let tokens: serde_json::Value =
                serde_json::from_slice(&test::read_body(response).await).unwrap_or_default();
            let access = tokens["accessToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let with = test::TestRequest::get()
                .uri($path)
                .insert_header(("authorization", format!("Bearer {access}")))
                .to_request();
            let with = test::call_service(&app, with).await.status().as_u16();
            let without = test::TestRequest::get().uri($path).to_request();
            let without = test::call_service(&app, without).await.status().as_u16();
            (signed, with, without)
        }};
    }

    #[actix_web::test]
    async fn the_usual_wirings_answer_the_endpoints() {
        let gate = gate();
        // `App::wrap`.
        let app = App::new()
            .route("/api/rest/me", web::get().to(me))
            .wrap(TokenGateTransform::new(gate.clone()));
        assert_eq!(statuses!(app, "/api/rest/me"), (201, 200, 401));
        // `Scope::wrap` on the endpoints' prefix: the scope answers every path under it.
        let app = App::new().service(
            web::scope("/api/rest")
                .route("/me", web::get().to(me))
                .wrap(TokenGateTransform::new(gate.clone())),
        );
        assert_eq!(statuses!(app, "/api/rest/me"), (201, 200, 401));
        // Several scopes, each wrapped with the same gate.
        let app = App::new()
            .service(
                web::scope("/api/rest")
                    .route("/me", web::get().to(me))
                    .wrap(TokenGateTransform::new(gate.clone())),
            )
            .service(
                web::scope("/v2")
                    .route("/me", web::get().to(me))
                    .wrap(TokenGateTransform::new(gate.clone())),
            );
        assert_eq!(statuses!(app, "/v2/me"), (201, 200, 401));
        // Only other scopes wrapped: the endpoints as a service of their own.
        let app = App::new().service(crate::endpoints(gate.clone())).service(
            web::scope("/v2")
                .route("/me", web::get().to(me))
                .wrap(TokenGateTransform::new(gate.clone())),
        );
        assert_eq!(statuses!(app, "/v2/me"), (201, 200, 401));
        // A scope wrapped with the gate under a shorter prefix than the endpoints'.
        let app = App::new().service(
            web::scope("/api")
                .route("/rest/me", web::get().to(me))
                .wrap(TokenGateTransform::new(gate)),
        );
        assert_eq!(statuses!(app, "/api/rest/me"), (201, 200, 401));
    }

    #[actix_web::test]
    async fn the_endpoints_service_answers_discovery_from_the_root() {
        let mut config = Config::default().with_secret("a-test-only-secret-of-32-bytes-or-more");
        config.endpoints.discovery = true;
        config.tokens.issuer = "https://auth.example.org/tenant".to_owned();
        let gate = TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .expect("gate");
        let app = test::init_service(
            App::new().service(crate::endpoints(gate.clone())).service(
                web::scope("/v2")
                    .route("/me", web::get().to(me))
                    .wrap(TokenGateTransform::new(gate)),
            ),
        )
        .await;
        for path in [
            "/tenant/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server/tenant",
        ] {
            let response =
                test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
            assert_eq!(response.status().as_u16(), 200, "{path}");
            let document: serde_json::Value =
                serde_json::from_slice(&test::read_body(response).await).unwrap_or_default();
            assert_eq!(
                document["issuer"], "https://auth.example.org/tenant",
                "{path}"
            );
        }
        let other = test::TestRequest::get()
            .uri("/.well-known/openid-configuration")
            .to_request();
        assert_eq!(test::call_service(&app, other).await.status().as_u16(), 404);
    }
}
