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

use crate::head::to_actix;
use crate::middleware::ResponseFuture;

/// Applies a [`Requirement`] to what it wraps (`Scope::wrap`, `Resource::wrap`), inside a
/// [`TokenGateTransform`](crate::TokenGateTransform). A request without a valid token gets
/// 401, one whose token does not meet the requirement 403 `insufficient_scope`.
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use tokengate_actix::Require;
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

impl Require {
    /// Requires `requirement`.
    pub fn new(requirement: Requirement) -> Self {
        Self {
            requirement: Arc::new(requirement),
        }
    }

    /// Requires role `role` ([`Requirement::role`]).
    pub fn role(role: &str) -> Self {
        Self::new(Requirement::role(role))
    }

    /// Requires scope `scope` ([`Requirement::scope`]).
    pub fn scope(scope: &str) -> Self {
        Self::new(Requirement::scope(scope))
    }

    /// Requires a user token ([`Requirement::user`]).
    pub fn user() -> Self {
        Self::new(Requirement::user())
    }

    /// Requires an application token ([`Requirement::application`]).
    pub fn application() -> Self {
        Self::new(Requirement::application())
    }
}

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
        let decided = extract::authorize(request.extensions().get::<Guarded>(), &self.requirement);
        match decided {
            Ok(()) => ResponseFuture::inner(self.service.call(request)),
            Err(response) => ResponseFuture::ready(request.into_response(to_actix(response))),
        }
    }
}
