//! What both demo servers share: the seed's user and application key, and the config defaults
//! of the demo profile.

use std::sync::OnceLock;

use tokengate::credentials::{hash_password, MemoryDirectory};
use tokengate::{Config, ConfigError, Secret, TokenGate};

/// The seed's user.
pub(crate) const USER: (&str, &str) = ("john.doe@email.org", "#thePassword1234!");
/// The demo application key: (application, key, secret).
pub(crate) const APPLICATION: (&str, &str, &str) = ("demo-app", "demo-key", "demo-secret");

/// Demo defaults: long-lived and unlimited tokens allowed, `/health` public.
pub(crate) fn demo_defaults() -> Result<Config, ConfigError> {
    Config::default()
        .set("max_refresh_ttl", "30d")?
        .set("allow_unlimited", "true")?
        .set("public_paths", "/health")
}

/// The demo config: the defaults, then the TOKENGATE_* environment. Without a secret in the
/// environment, a random one is made, so tokens do not survive a restart.
#[allow(dead_code)]
pub(crate) fn demo_config() -> Result<Config, ConfigError> {
    demo_config_over(demo_defaults()?)
}

/// [`demo_config`] over other defaults.
pub(crate) fn demo_config_over(mut defaults: Config) -> Result<Config, ConfigError> {
    if std::env::var_os("TOKENGATE_SECRET").is_none() {
        tracing::warn!("TOKENGATE_SECRET is not set: using a random secret for this run only");
        defaults.secret = Some(Secret::random()?);
    }
    defaults.load_over()
}

fn directory() -> Result<MemoryDirectory, Box<dyn std::error::Error + Send + Sync>> {
    // Hashing takes a while; a process hashes the demo passwords once.
    static HASHES: OnceLock<(String, String)> = OnceLock::new();
    let (user_hash, app_hash) = if let Some(hashes) = HASHES.get() {
        hashes
    } else {
        let hashes = (hash_password(USER.1)?, hash_password(APPLICATION.2)?);
        HASHES.get_or_init(|| hashes)
    };
    let mut claims = serde_json::Map::new();
    claims.insert("name".into(), "John Doe".into());
    claims.insert("roles".into(), serde_json::json!(["user"]));
    Ok(MemoryDirectory::new()
        .user_with_claims(USER.0, user_hash, claims)?
        .application(APPLICATION.0, APPLICATION.1, app_hash)?)
}

/// The demo gate over `config`.
pub(crate) fn demo_gate(
    config: Config,
) -> Result<TokenGate, Box<dyn std::error::Error + Send + Sync>> {
    Ok(tokengate::builder(config)?
        .credentials(directory()?)
        .build()?)
}

/// The port to listen on: `$PORT`, default 8080.
#[allow(dead_code)]
pub(crate) fn port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080)
}

/// Logs to stderr, at `info` unless `RUST_LOG` says otherwise.
#[allow(dead_code)]
pub(crate) fn log_to_stderr() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
}
