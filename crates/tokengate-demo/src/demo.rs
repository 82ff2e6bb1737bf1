//! What both demo servers share: the seed's user and application key, and the config defaults
//! of the demo profile.

use std::sync::OnceLock;

use tokengate::credentials::{hash_password, MemoryDirectory};
use tokengate::figment::Figment;
use tokengate::{Config, ConfigError, Secret, TokenGate};

/// The seed's user.
pub const USER: (&str, &str) = ("john.doe@email.org", "#thePassword1234!");
/// A second user, with role `user` only.
pub const SECOND_USER: (&str, &str) = ("jane.roe@email.org", "#thePassword5678!");
/// The demo application key: (application, key, secret).
pub const APPLICATION: (&str, &str, &str) = ("demo-app", "demo-key", "demo-secret");

/// The passkey page both demos serve at `/passkeys` (public): password and passkey sign-in in
/// cookie mode, creating, proving and removing passkeys, and a route that needs `aal2`.
pub const PASSKEY_PAGE: &str = include_str!("passkey_web.html");

/// Demo defaults: long-lived and unlimited tokens allowed, `/health` and the passkey page
/// public, WebSockets under `/ws/`, the metrics at `/metrics`; under whatever the file and
/// the environment say.
pub fn demo_defaults(figment: Figment) -> Figment {
    figment
        .join(("max_refresh_ttl", "30d"))
        .join(("allow_unlimited", "true"))
        .join(("public_paths", "/health,/passkeys"))
        .join(("websocket_paths", "/ws/*"))
        .join(("metrics_path", "/metrics"))
}

/// The demo config: the defaults, then the tokengate.toml profile and the TOKENGATE_*
/// environment. A configuration that is refused ends the process with its message.
pub fn demo_config() -> Config {
    or_exit(Config::figment().and_then(demo_config_from))
}

/// The configuration, or the process ends (status 2) with the refusal's message on stderr.
pub fn or_exit(config: Result<Config, ConfigError>) -> Config {
    config.unwrap_or_else(|error| {
        eprintln!("error: {error}");
        std::process::exit(2)
    })
}

/// The demo config from these sources. Without a secret in them, a random one is made, so
/// tokens do not survive a restart.
pub fn demo_config_from(figment: Figment) -> Result<Config, ConfigError> {
    let mut figment = demo_defaults(figment);
    if !["secret", "keys", "key_file"]
        .iter()
        .any(|key| figment.contains(key))
    {
        tracing::warn!("TOKENGATE_SECRET is not set: using a random secret for this run only");
        figment = figment.join(("secret", hex(&Secret::random()?)));
    }
    if !figment.contains("mfa_key") {
        tracing::warn!(
            "TOKENGATE_MFA_KEY is not set: second-factor secrets are sealed with a key made for \
             this run only"
        );
        figment = figment.join(("mfa_key", hex(&Secret::random()?)));
    }
    // Passkeys for pages served from this demo at http://localhost:$PORT (browsers allow them
    // on `localhost` without TLS; never on an IP address such as 127.0.0.1).
    if !figment.contains("passkey_rp_id") {
        figment = figment.join(("passkey_rp_id", "localhost"));
        if !figment.contains("passkey_origins") {
            figment = figment.join(("passkey_origins", format!("http://localhost:{}", port())));
        }
    }
    Config::from_figment(&figment)
}

/// A random secret as text: its bytes in hex.
fn hex(secret: &Secret) -> String {
    let mut text = String::with_capacity(64);
    for byte in secret.expose() {
        text.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        text.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    text
}

/// The demo's users and application key. Clones share it: a test changes a running demo's
/// directory through one.
pub fn demo_directory() -> Result<MemoryDirectory, Box<dyn std::error::Error + Send + Sync>> {
    // Hashing takes a while; a process hashes the demo passwords once.
    static HASHES: OnceLock<[String; 3]> = OnceLock::new();
    let [john, jane, app] = if let Some(hashes) = HASHES.get() {
        hashes
    } else {
        let hashes = [
            hash_password(USER.1)?,
            hash_password(SECOND_USER.1)?,
            hash_password(APPLICATION.2)?,
        ];
        HASHES.get_or_init(|| hashes)
    };
    let claims = |name: &str, roles: &[&str]| {
        let mut claims = serde_json::Map::new();
        claims.insert("name".into(), name.into());
        claims.insert("roles".into(), serde_json::json!(roles));
        claims
    };
    let mut machine = serde_json::Map::new();
    machine.insert("scope".into(), "read".into());
    Ok(MemoryDirectory::new()
        .user_with_claims(USER.0, john, claims("John Doe", &["user", "admin"]))?
        .user_with_claims(SECOND_USER.0, jane, claims("Jane Roe", &["user"]))?
        .application_with_claims(APPLICATION.0, APPLICATION.1, app, machine)?
        // Whoever an identity provider of `[[providers]]` proves: `<provider>:<sub>`, made at
        // their first sign-in.
        .create_federated_users(["user"]))
}

/// The demo gate over `config`.
pub fn demo_gate(config: Config) -> Result<TokenGate, Box<dyn std::error::Error + Send + Sync>> {
    demo_gate_with(config, demo_directory()?)
}

/// The demo gate over `config` and `directory`.
pub fn demo_gate_with(
    config: Config,
    directory: MemoryDirectory,
) -> Result<TokenGate, Box<dyn std::error::Error + Send + Sync>> {
    Ok(TokenGate::builder(config).credentials(directory).build()?)
}

/// The port to listen on: `$PORT`, default 8080.
pub fn port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080)
}

/// Logs to stderr, at `info` unless `RUST_LOG` says otherwise.
pub fn log_to_stderr() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
}
