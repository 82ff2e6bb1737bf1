//! Cookie mode in a browser: `cargo run --example cookie_web`, then open
//! <http://127.0.0.1:8080/> and sign in as `john.doe@email.org` / `#thePassword1234!`.
//!
//! The page signs in with `cookieauth=true`: the tokens live in `HttpOnly` cookies that its
//! script cannot read, and each unsafe request sends the CSRF token in `X-CSRF-Token`. Plain
//! http needs `cookie_secure = false`, which this example sets unless `TOKENGATE_COOKIE_SECURE`
//! says otherwise; never run a real deployment like that.

use std::net::{Ipv4Addr, SocketAddr};
use tokengate_demo::{cookie_web_app, demo};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::log_to_stderr();
    let config = demo::or_exit(
        tokengate::Config::figment()
            .map(cookie_web_app::cookie_web_defaults)
            .and_then(demo::demo_config_from),
    );
    let gate = demo::demo_gate(config)?;
    let app = cookie_web_app::router(gate, cookie_web_app::Notes::default());
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, demo::port()));
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!("cookie-mode web page on http://{address}/");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
