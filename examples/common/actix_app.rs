//! The actix-web demo application, shared by the demo binary and the tests: the same routes as
//! the axum demo.

use actix_web::{web, App, HttpResponse};
use serde_json::{Map, Value};
use tokengate::actix::{Claims, Require, TokenGateTransform};
use tokengate::authz::Requirement;
use tokengate::TokenGate;

/// `GET /api/rest/me`: the caller's claims.
async fn me(claims: Claims<Map<String, Value>>) -> HttpResponse {
    HttpResponse::Ok().json(&claims.0)
}

/// Plain-text answers, as axum gives them for a `&'static str`.
fn text(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

/// A resource at `path` that answers other methods than its routes' with 405 and `Allow`, as
/// axum does (actix-web's default is 404).
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        HttpResponse::MethodNotAllowed()
            .insert_header(("allow", allow))
            .finish()
    }))
}

/// The demo app, for `HttpServer::new(move || app(gate.clone()))`.
pub(crate) fn app(
    gate: TokenGate,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .service(resource("/api/rest/me", "GET,HEAD").route(web::get().to(me)))
        .service(
            resource("/api/rest/ping", "GET,HEAD,POST")
                .route(web::get().to(|| async { text("pong") }))
                .route(web::post().to(|| async { text("pong") })),
        )
        .service(resource("/health", "GET,HEAD").route(web::get().to(|| async { text("ok") })))
        // Administrators only.
        .service(
            resource("/api/rest/admin", "GET,HEAD")
                .wrap(Require::role("admin"))
                .route(web::get().to(me)),
        )
        // Machines only: an application token with the `read` scope.
        .service(
            resource("/api/rest/machine", "GET,HEAD")
                .wrap(Require::new(
                    Requirement::application().and(Requirement::scope("read")),
                ))
                .route(web::get().to(me)),
        )
        // Administrators, or a client with the `read` scope.
        .service(
            resource("/api/rest/reports", "GET,HEAD")
                .wrap(Require::new(
                    Requirement::role("admin").or(Requirement::scope("read")),
                ))
                .route(web::get().to(me)),
        )
        // People only: no application token.
        .service(
            resource("/api/rest/account", "GET,HEAD")
                .wrap(Require::user())
                .route(web::get().to(me)),
        )
        .wrap(TokenGateTransform::new(gate))
}
