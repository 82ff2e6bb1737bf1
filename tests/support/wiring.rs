//! The usual ways of wiring the gate into an app, each served over TCP: the endpoints answer
//! in every one, and the guard guards (the same five on each framework, so that the two
//! adapters' exchanges compare alike).

use actix_web::{web, App, HttpResponse};
use axum::routing::get;
use axum::Router;
use tokengate::actix::TokenGateTransform;
use tokengate::axum::TokenGateLayer;
use tokengate::TokenGate;

use super::{actix_serve, start_wired, Adapter, Running};

/// How many wirings each framework has here.
pub const WAYS: usize = 5;

async fn axum_me(claims: tokengate::axum::Claims) -> String {
    claims.sub.clone()
}

async fn actix_me(claims: tokengate::actix::Claims) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(claims.sub.clone())
}

/// The axum app of wiring `way`, with `GET /api/rest/me` guarded.
pub(super) fn axum(way: usize, gate: TokenGate) -> Router {
    let me = || Router::new().route("/api/rest/me", get(axum_me));
    match way {
        // `.layer` on the top router.
        0 => me().layer(TokenGateLayer::new(gate)),
        // Merged routers, then the layer.
        1 => Router::new()
            .merge(me())
            .merge(Router::new().route("/other", get(|| async { "other" })))
            .layer(TokenGateLayer::new(gate)),
        // `route_layer`, with the endpoints merged as routes.
        2 => me()
            .route_layer(TokenGateLayer::new(gate.clone()))
            .merge(tokengate::axum::endpoints(gate)),
        // The layer inside `nest`, the endpoints merged at the top.
        3 => Router::new()
            .nest(
                "/api",
                Router::new()
                    .route("/rest/me", get(axum_me))
                    .layer(TokenGateLayer::new(gate.clone())),
            )
            .merge(tokengate::axum::endpoints(gate)),
        // The layer inside `nest` at the endpoints' prefix, with a fallback of its own.
        _ => Router::new().nest(
            "/api/rest",
            Router::new()
                .route("/me", get(axum_me))
                .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
                .layer(TokenGateLayer::new(gate)),
        ),
    }
}

/// The actix-web app of wiring `way`, served, with `GET /api/rest/me` guarded.
pub(super) fn actix(way: usize, gate: TokenGate, listener: std::net::TcpListener) -> Running {
    match way {
        // `App::wrap`.
        0 => actix_serve(listener, move || {
            App::new()
                .route("/api/rest/me", web::get().to(actix_me))
                .wrap(TokenGateTransform::new(gate.clone()))
        }),
        // `Scope::wrap` at the endpoints' prefix.
        1 => actix_serve(listener, move || {
            App::new().service(
                web::scope("/api/rest")
                    .route("/me", web::get().to(actix_me))
                    .wrap(TokenGateTransform::new(gate.clone())),
            )
        }),
        // Several scopes, one gate.
        2 => actix_serve(listener, move || {
            App::new()
                .service(
                    web::scope("/v2")
                        .route("/me", web::get().to(actix_me))
                        .wrap(TokenGateTransform::new(gate.clone())),
                )
                .service(
                    web::scope("/api/rest")
                        .route("/me", web::get().to(actix_me))
                        .wrap(TokenGateTransform::new(gate.clone())),
                )
        }),
        // A scope under a shorter prefix than the endpoints'.
        3 => actix_serve(listener, move || {
            App::new().service(
                web::scope("/api")
                    .route("/rest/me", web::get().to(actix_me))
                    .wrap(TokenGateTransform::new(gate.clone())),
            )
        }),
        // Only the route's own resource wrapped: the endpoints as a service of their own.
        _ => actix_serve(listener, move || {
            App::new()
                .service(
                    web::resource("/api/rest/me")
                        .wrap(TokenGateTransform::new(gate.clone()))
                        .route(web::get().to(actix_me)),
                )
                .service(tokengate::actix::endpoints(gate.clone()))
        }),
    }
}

pub async fn endpoints_answer_in_every_usual_wiring(adapter: Adapter) {
    for way in 0..WAYS {
        let server = start_wired(adapter, None, &[], Some(way)).await;
        let tokens = server.signin(&[]).await.tokens();
        let me = server.me(&tokens.access).await;
        me.expect(200);
        assert_eq!(me.text(), super::demo::USER.0, "wiring {way}");
        server.get("/api/rest/me", &[]).await.expect(401);
        server.refresh(&tokens.refresh).await.expect(201);
        server.get("/api/rest/jwks", &[]).await.expect(200);
    }
}
