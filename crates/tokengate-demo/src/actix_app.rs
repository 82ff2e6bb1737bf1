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

/// `GET /ws/echo`: a WebSocket that echoes every text message, opened with a ticket from
/// `POST /api/rest/ticket` (`?ticket=...`) or a bearer header; the handler gets the claims as
/// any other.
async fn echo(
    claims: Claims,
    request: actix_web::HttpRequest,
    body: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let (response, mut session, mut messages) = actix_ws::handle(&request, body)?;
    let subject = claims.0.sub;
    actix_web::rt::spawn(async move {
        tracing::info!(%subject, "echo socket opened");
        while let Some(Ok(message)) = messages.recv().await {
            let sent = match message {
                actix_ws::Message::Text(text) => session.text(text).await,
                actix_ws::Message::Ping(bytes) => session.pong(&bytes).await,
                actix_ws::Message::Close(_) => break,
                _ => continue,
            };
            if sent.is_err() {
                return;
            }
        }
        let _ = session.close(None).await;
    });
    Ok(response)
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
pub fn app(
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
        .service(
            resource("/passkeys", "GET,HEAD").route(web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(crate::demo::PASSKEY_PAGE)
            })),
        )
        .service(resource("/ws/echo", "GET").route(web::get().to(echo)))
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
        // A second factor proved on the session.
        .service(
            resource("/api/rest/vault", "GET,HEAD")
                .wrap(Require::mfa())
                .route(web::get().to(me)),
        )
        // A factor proved within the last five minutes.
        .service(
            resource("/api/rest/transfer", "POST")
                .wrap(Require::recent_auth(crate::axum_app::TRANSFER_MAX_AGE))
                .route(web::post().to(me)),
        )
        .wrap(TokenGateTransform::new(gate))
}
