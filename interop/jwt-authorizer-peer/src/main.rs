//! `jwt-authorizer-peer <issuer URL> <port>`: a service with one route, `GET /check`, guarded
//! by jwt-authorizer configured from the issuer URL alone (OpenID discovery). It answers 200
//! with the token's subject when jwt-authorizer accepts the bearer token, and jwt-authorizer's
//! own refusal (401) otherwise.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use jwt_authorizer::{
    Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Refresh, RefreshStrategy, Validation,
};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
struct Claims {
    sub: String,
}

async fn check(JwtClaims(claims): JwtClaims<Claims>) -> String {
    claims.sub
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(issuer), Some(port)) = (args.next(), args.next()) else {
        return Err("usage: jwt-authorizer-peer <issuer URL> <port>".into());
    };
    let authorizer: Authorizer<Claims> = JwtAuthorizer::from_oidc(&issuer)
        .validation(Validation::new().iss(&[issuer.as_str()]))
        // A token of a key it does not know yet makes it fetch the set again, at most every
        // five seconds (600 by default).
        .refresh(Refresh {
            strategy: RefreshStrategy::KeyNotFound,
            refresh_interval: Duration::from_secs(5),
            retry_interval: Duration::from_secs(1),
        })
        .build()
        .await?;
    let app = Router::new()
        .route("/check", get(check))
        .layer(authorizer.into_layer());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>()?)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
