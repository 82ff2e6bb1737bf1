//! The conformance harness: real servers over TCP, one per scenario, for each adapter.

#![allow(dead_code, unreachable_pub, clippy::missing_panics_doc)]

pub use tokengate_demo::demo;
use tokengate_demo::{actix_app, axum_app};

pub mod attacks;
pub mod authz;
pub mod bodies;
pub mod cookies;
pub mod credentials;
pub mod federation;
pub mod guard;
pub mod interop;
pub mod keys;
pub mod lifecycle;
pub mod lifetimes;
pub mod mfa;
pub mod mfa_attacks;
pub mod passkey_attacks;
pub mod passkeys;
pub mod paths;
pub mod providers;
pub mod scenarios;
pub mod seed_flow;
pub mod sessions;
pub mod webauthn;
pub mod websockets;
pub mod wiring;

/// Every answer an endpoint gives in the conformance suite is one its OpenAPI description
/// documents: checked on each exchange, as it happens.
#[cfg(feature = "openapi")]
mod documented {
    use std::sync::OnceLock;

    use serde_json::Value;
    use tokengate::credentials::MemoryDirectory;
    use tokengate::{Config, TokenGate};

    /// The description of a gate at the default prefix.
    fn document() -> &'static Value {
        static DOCUMENT: OnceLock<Value> = OnceLock::new();
        DOCUMENT.get_or_init(|| {
            let sources = Config::sources(
                None,
                "default",
                [
                    ("TOKENGATE_SECRET", "a-test-only-secret-of-32-bytes-or-more"),
                    (
                        "TOKENGATE_MFA_KEY",
                        "a-test-only-mfa-key-of-32-bytes-or-more",
                    ),
                    ("TOKENGATE_PASSKEY_RP_ID", "localhost"),
                    ("TOKENGATE_PASSKEY_ORIGINS", "http://localhost:8080"),
                ],
            )
            .expect("sources");
            let config = Config::from_figment(&sources).expect("config");
            TokenGate::builder(config)
                .credentials(MemoryDirectory::new())
                .build()
                .map(|gate| gate.openapi_json())
                .expect("a gate")
        })
    }

    /// Panics when `status` for `method` `path` (with its query) is not what the description
    /// says an endpoint answers: a documented status for a documented method, 405 for another.
    pub(super) fn check(method: &str, path: &str, status: u16) {
        let path = path.split('?').next().unwrap_or_default();
        let paths = &document()["paths"];
        let item = match paths.get(path) {
            Some(item) => item,
            None => match (
                path.strip_prefix("/api/rest/sessions/"),
                path.strip_prefix("/api/rest/mfa/"),
            ) {
                (Some(id), _) if !id.is_empty() && !id.contains('/') => {
                    &paths["/api/rest/sessions/{id}"]
                }
                _ if path
                    .strip_prefix("/api/rest/passkeys/")
                    .is_some_and(|id| !id.is_empty() && !id.contains('/')) =>
                {
                    &paths["/api/rest/passkeys/{id}"]
                }
                (_, Some(id)) if !id.is_empty() && !id.contains('/') => {
                    &paths["/api/rest/mfa/{id}"]
                }
                (_, Some(rest)) if rest.ends_with("/confirm") => {
                    &paths["/api/rest/mfa/{id}/confirm"]
                }
                _ => return,
            },
        };
        let method = if method == "HEAD" {
            "get"
        } else {
            &method.to_ascii_lowercase()
        };
        match item.get(method) {
            Some(operation) => assert!(
                operation["responses"].get(status.to_string()).is_some(),
                "{method} {path} answered {status}, which its OpenAPI description does not document"
            ),
            None => assert_eq!(
                status, 405,
                "{method} {path}, a method the description does not list, answered {status}"
            ),
        }
    }
}

use std::fmt::Write as _;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

/// Which adapter serves the scenario, over which session store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    Axum,
    Actix,
    AxumSqlite,
    ActixSqlite,
    AxumRedis,
    ActixRedis,
    AxumPostgres,
    ActixPostgres,
    AxumRedisCluster,
    ActixRedisCluster,
}

impl Adapter {
    fn is_actix(self) -> bool {
        matches!(
            self,
            Self::Actix
                | Self::ActixSqlite
                | Self::ActixRedis
                | Self::ActixPostgres
                | Self::ActixRedisCluster
        )
    }

    /// The `TOKENGATE_STORE` (and prefix) of a fresh, empty store for one server.
    fn store_env(self) -> Vec<(String, String)> {
        let unique = test_secret();
        match self {
            Self::Axum | Self::Actix => vec![],
            Self::AxumSqlite | Self::ActixSqlite => {
                let path = std::env::temp_dir().join(format!("tokengate-test-{unique}.db"));
                vec![(
                    "TOKENGATE_STORE".into(),
                    format!("sqlite://{}", path.display()),
                )]
            }
            Self::AxumRedis | Self::ActixRedis => vec![
                ("TOKENGATE_STORE".into(), redis_url()),
                (
                    "TOKENGATE_STORE_PREFIX".into(),
                    format!("tokengate-test-{unique}"),
                ),
            ],
            Self::AxumRedisCluster | Self::ActixRedisCluster => vec![
                ("TOKENGATE_STORE".into(), redis_cluster_url()),
                (
                    "TOKENGATE_STORE_PREFIX".into(),
                    format!("tokengate-test-{unique}"),
                ),
            ],
            Self::AxumPostgres | Self::ActixPostgres => vec![
                ("TOKENGATE_STORE".into(), postgres_url()),
                ("TOKENGATE_STORE_SCHEMA".into(), "tokengate_test".into()),
                (
                    "TOKENGATE_STORE_PREFIX".into(),
                    format!("tokengate-test-{unique}"),
                ),
            ],
        }
    }
}

/// The Redis Cluster the tests use: `TEST_REDIS_CLUSTER_URL`, which `scripts/test.sh` sets
/// after starting three local masters.
pub fn redis_cluster_url() -> String {
    std::env::var("TEST_REDIS_CLUSTER_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_REDIS_CLUSTER_URL is not set: run scripts/test.sh, which starts a local \
             Redis Cluster, or set it to redis+cluster://host:port,..."
        )
    })
}

/// The PostgreSQL the tests use: `TEST_POSTGRES_URL`, or database `test` on 127.0.0.1:5432.
pub fn postgres_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The Redis the tests use: `TEST_REDIS_URL`, or database 15 on 127.0.0.1:6379.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/15".into())
}

/// A random HS256 secret for one test server: generated at test time, never stored.
pub fn test_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A running demo server and a client for it.
pub struct Server {
    pub base: String,
    pub secret: String,
    /// The gate the server runs, for the application-side calls (`revoke_subject`).
    pub gate: tokengate::TokenGate,
    /// The server's credential directory, shared: changes show at the next refresh.
    pub directory: tokengate::credentials::MemoryDirectory,
    client: reqwest::Client,
    running: Running,
}

/// How to stop a server: each adapter runs on its own runtime.
enum Running {
    Tokio(tokio::task::JoinHandle<()>),
    Actix(actix_web::dev::ServerHandle),
}

impl Drop for Server {
    fn drop(&mut self) {
        match &self.running {
            Running::Tokio(task) => task.abort(),
            // The stop command is sent at once; its thread ends when the server has stopped.
            Running::Actix(handle) => drop(handle.stop(false)),
        }
    }
}

/// Starts the demo app of `adapter` with the demo defaults and then `env` (TOKENGATE_* pairs),
/// on a free port of 127.0.0.1.
pub async fn start(adapter: Adapter, env: &[(&str, &str)]) -> Server {
    start_with(adapter, None, env).await
}

/// [`start`] with a TOML config file's text too (its `[default]` table).
fn actix_server(gate: tokengate::TokenGate, listener: std::net::TcpListener) -> Running {
    actix_serve(listener, move || actix_app::app(gate.clone()))
}

/// Serves the app `make` makes on its own actix-web system.
fn actix_serve<F, T, B>(listener: std::net::TcpListener, make: F) -> Running
where
    F: Fn() -> actix_web::App<T> + Send + Clone + 'static,
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: actix_web::body::MessageBody + 'static,
{
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(make)
                .workers(1)
                .disable_signals()
                .listen(listener)
                .expect("actix listens")
                .run();
            let _ = handle_tx.send(server.handle());
            let _ = server.await;
        });
    });
    Running::Actix(handle_rx.recv().expect("the actix server starts"))
}

pub async fn start_with(adapter: Adapter, toml: Option<&str>, env: &[(&str, &str)]) -> Server {
    start_wired(adapter, toml, env, None).await
}

/// [`start_with`], with the gate wired into the app in one of the ways of [`wiring`] instead
/// of the demo's own.
pub async fn start_wired(
    adapter: Adapter,
    toml: Option<&str>,
    env: &[(&str, &str)],
    wired: Option<usize>,
) -> Server {
    let mut pairs: Vec<(String, String)> = vec![("TOKENGATE_SECRET".into(), test_secret())];
    pairs.extend(adapter.store_env());
    pairs.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    // The last value of a key wins, as in the environment.
    let secret = pairs
        .iter()
        .rev()
        .find(|(key, _)| key == "TOKENGATE_SECRET")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let sources = tokengate::Config::sources(toml, "default", pairs).expect("valid test sources");
    let config = demo::demo_config_from(sources).expect("valid test config");
    let directory = demo::demo_directory().expect("demo directory");
    let gate = demo::demo_gate_with(config, directory.clone()).expect("demo gate");
    let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .expect("bind a free port");
    let address = listener.local_addr().expect("local address");
    let running = if adapter.is_actix() {
        match wired {
            Some(way) => wiring::actix(way, gate.clone(), listener),
            None => actix_server(gate.clone(), listener),
        }
    } else {
        listener.set_nonblocking(true).expect("non-blocking socket");
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        let app = match wired {
            Some(way) => wiring::axum(way, gate.clone()),
            None => axum_app::router(gate.clone()),
        };
        Running::Tokio(tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        }))
    };
    Server {
        base: format!("http://{address}"),
        secret,
        gate,
        directory,
        client: reqwest::Client::new(),
        running,
    }
}

impl Server {
    /// A second instance of the same app on the same keys and the same store, as the next
    /// node behind a load balancer would be; `None` where the store is this process's memory.
    pub async fn twin(&self, adapter: Adapter) -> Option<Server> {
        if matches!(adapter, Adapter::Axum | Adapter::Actix) {
            return None;
        }
        let store = &self.gate.config().store;
        let env = [
            ("TOKENGATE_SECRET", self.secret.as_str()),
            ("TOKENGATE_STORE", store.url.as_str()),
            ("TOKENGATE_STORE_PREFIX", store.prefix.as_str()),
            ("TOKENGATE_STORE_SCHEMA", store.schema.as_str()),
        ];
        Some(start(adapter, &env).await)
    }

    /// How many throttling windows the server's store holds, counted in the store itself
    /// (SQLite, Redis, PostgreSQL); `None` where it is not counted from outside (memory: its
    /// bound is the counter's own unit test; a cluster: its keys spread over the masters).
    pub fn counter_entries(&self) -> Option<usize> {
        let store = &self.gate.config().store;
        let url = store.url.as_str();
        let count = |program: &str, args: &[&str]| {
            let output = std::process::Command::new(program)
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("{program}: {e}"));
            assert!(output.status.success(), "{program}: {output:?}");
            String::from_utf8_lossy(&output.stdout).to_string()
        };
        if let Some(path) = url.strip_prefix("sqlite://") {
            let connection = rusqlite::Connection::open(path).expect("the SQLite file");
            let n: i64 = connection
                .query_row("SELECT count(*) FROM tokengate_attempts", [], |row| {
                    row.get(0)
                })
                .expect("a count");
            return usize::try_from(n).ok();
        }
        if url.starts_with("redis://") {
            let pattern = format!("{}:throttle:*", store.prefix);
            let keys = count("redis-cli", &["-u", url, "--scan", "--pattern", &pattern]);
            return Some(keys.lines().filter(|line| !line.is_empty()).count());
        }
        if url.starts_with("postgres://") {
            let sql = format!(
                "SELECT count(*) FROM {}.attempts WHERE ns = '{}'",
                store.schema,
                store.prefix.replace('\'', "''")
            );
            return count("psql", &[url, "-Atc", &sql]).trim().parse().ok();
        }
        None
    }
}

tokio::task_local! {
    static RECORDING: Arc<Mutex<Vec<String>>>;
}

/// Runs `scenario`, and gives every exchange it had with any server, in the order they were
/// made, normalised so that two adapters' answers compare equal when they say the same:
/// status, every header but those that carry no meaning (`date`, framing), every
/// `Set-Cookie`, and the body with times and random ids replaced by their kind and every JWT
/// replaced by its decoded header and claims, normalised the same way.
pub async fn recorded(scenario: impl Future<Output = ()>) -> Vec<String> {
    let recording = Arc::new(Mutex::new(Vec::new()));
    RECORDING.scope(recording.clone(), scenario).await;
    let lines = recording.lock().expect("recording").clone();
    lines
}

/// Runs requests sent at once: their answers are recorded as one group, sorted, since they
/// arrive in any order. Everything else is compared in the order it was sent.
pub async fn parallel<T>(requests: impl Future<Output = T>) -> T {
    let group = Arc::new(Mutex::new(Vec::new()));
    let recording = RECORDING.try_with(Arc::clone).ok();
    let result = match &recording {
        Some(_) => RECORDING.scope(group.clone(), requests).await,
        None => requests.await,
    };
    if let Some(recording) = recording {
        let mut lines = group.lock().expect("group").clone();
        lines.sort();
        recording.lock().expect("recording").extend(lines);
    }
    result
}

/// Asserts that two adapters answered a scenario alike, exchange by exchange.
#[track_caller]
pub fn assert_alike(axum: &[String], actix: &[String]) {
    assert!(!axum.is_empty(), "the scenario sent no request");
    let differences: Vec<String> = axum
        .iter()
        .zip(actix)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("axum:  {a}\nactix: {b}"))
        .collect();
    assert!(
        differences.is_empty() && axum.len() == actix.len(),
        "the adapters answered differently ({} vs {} exchanges):\n{}",
        axum.len(),
        actix.len(),
        differences.join("\n")
    );
}

/// Headers that say nothing about the answer itself: when, and how it was framed.
const UNCOMPARED: [&str; 5] = [
    "date",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
];

/// Records an exchange made without [`Server::send`] (a raw socket).
pub fn record(method: &str, path: &str, reply: &Reply) {
    let _ = RECORDING.try_with(|recording| {
        let mut line = format!(
            "{method} {} -> {}",
            mask_session_id(&mask_tokens(path)),
            reply.status
        );
        let mut headers: Vec<(&str, String)> = reply
            .headers
            .iter()
            .filter(|(name, _)| !UNCOMPARED.contains(&name.as_str()))
            .map(|(name, value)| {
                let value = if name == "set-cookie" {
                    let cookie = SetCookie::parse(value);
                    let value = match cookie.value.as_str() {
                        "" => String::new(),
                        value if is_jwt(value) => describe_jwt(value),
                        _ => "<value>".to_owned(),
                    };
                    format!("{}={value}; {}", cookie.name, cookie.attributes.join("; "))
                } else if name == "retry-after" && value.parse::<u32>().is_ok_and(|n| n > 0) {
                    // A time left, which the scenarios check; it moves by the second.
                    "<seconds>".to_owned()
                } else if name == "etag" && value.len() == 24 && value.starts_with('"') {
                    // A digest of keys each server makes for itself; the scenarios compare
                    // it within one server.
                    "\"<entity tag>\"".to_owned()
                } else if name == "cache-control"
                    && value.starts_with("public, max-age=")
                    && value != "public, max-age=300, must-revalidate"
                {
                    // Until a retired key leaves the set: it moves by the second.
                    "public, max-age=<seconds>, must-revalidate".to_owned()
                } else {
                    value.clone()
                };
                (name.as_str(), value)
            })
            .collect();
        // Each framework orders headers its own way; the values of one name keep their order.
        headers.sort_by(|a, b| a.0.cmp(b.0));
        for (name, value) in headers {
            let _ = write!(line, " | {name}: {value}");
        }
        let body = match serde_json::from_slice::<Value>(&reply.body) {
            Ok(json) => normalise(json).to_string(),
            Err(_) => String::from_utf8_lossy(&reply.body).into_owned(),
        };
        let _ = write!(line, " | {body}");
        recording.lock().expect("recording").push(line);
    });
}

fn is_jwt(text: &str) -> bool {
    text.starts_with("eyJ") && text.split('.').count() == 3
}

/// A JWT as its decoded header and claims, normalised, so two adapters' tokens compare by
/// what they say.
fn describe_jwt(token: &str) -> String {
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .map_or(Value::Null, normalise)
    };
    let mut parts = token.split('.');
    let header = decode(parts.next().unwrap_or_default());
    let claims = decode(parts.next().unwrap_or_default());
    format!("<jwt {header} {claims}>")
}

/// A `/sessions/{id}` or `/mfa/{id}` path with the id (random per run) replaced by `<id>`.
fn mask_session_id(path: &str) -> String {
    if let Some((before, _)) = path.split_once("/sessions/") {
        return format!("{before}/sessions/<id>");
    }
    if let Some((before, rest)) = path.split_once("/passkeys/") {
        if !rest.contains('/') && !matches!(rest, "register" | "signin") {
            return format!("{before}/passkeys/<id>");
        }
    }
    match path.split_once("/mfa/") {
        Some((_, "totp" | "verify" | "recovery")) | None => path.to_owned(),
        Some((before, rest)) => match rest.split_once('/') {
            Some((_, after)) => format!("{before}/mfa/<id>/{after}"),
            None => format!("{before}/mfa/<id>"),
        },
    }
}

/// `text` with every token in a query string replaced by `<jwt>`.
fn mask_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut part = String::new();
    for c in text.chars().chain(std::iter::once('&')) {
        if matches!(c, '?' | '&' | '=') {
            out.push_str(if is_jwt(&part) { "<jwt>" } else { &part });
            part.clear();
            out.push(c);
        } else {
            part.push(c);
        }
    }
    out.pop();
    out
}

fn normalise(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = match key.as_str() {
                        "iat" | "exp" | "nbf" | "jti" | "sid" | "csrfToken" | "kid" | "x" | "y"
                        | "n" | "id" | "createdAt" | "refreshedAt" | "expiresAt" | "lastUsedAt"
                        | "auth_time" | "confirmedAt" | "secret" | "otpauthUri" | "qrSvg"
                        | "challenge" => Value::String(kind_of(&value)),
                        // Random codes: how many, and that each is text.
                        "recoveryCodes" => Value::Array(
                            value
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|code| Value::String(kind_of(code)))
                                .collect(),
                        ),
                        _ => normalise(value),
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        Value::String(text) if is_jwt(&text) => Value::String(describe_jwt(&text)),
        other => other,
    }
}

fn kind_of(value: &Value) -> String {
    match value {
        Value::Number(_) => "<number>".into(),
        Value::String(_) => "<string>".into(),
        other => other.to_string(),
    }
}

/// What a server answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A reply read off a raw socket: status line, headers, body.
    pub fn parse_raw(raw: &str) -> Self {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Self {
            status,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a header, in order.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The `Set-Cookie` header that sets cookie `name`.
    #[track_caller]
    pub fn set_cookie(&self, name: &str) -> SetCookie {
        self.headers_named("set-cookie")
            .into_iter()
            .map(SetCookie::parse)
            .find(|cookie| cookie.name == name)
            .unwrap_or_else(|| panic!("no Set-Cookie for `{name}` in {:?}", self.headers))
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status, and that every non-2xx answer is a JSON error object.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        if status >= 400 {
            assert_eq!(self.header("content-type"), Some("application/json"));
            let body = self.json();
            assert!(body["error"].is_string(), "no `error` in {body}");
            assert!(
                body["error_description"].is_string(),
                "no `error_description` in {body}"
            );
        }
        self
    }

    /// Asserts the JSON `error` code.
    #[track_caller]
    pub fn error(&self, code: &str) -> &Self {
        assert_eq!(self.json()["error"], code, "body: {}", self.text());
        self
    }

    /// Asserts that the error description mentions `text`.
    #[track_caller]
    pub fn says(&self, text: &str) -> &Self {
        let description = self.json()["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            description.contains(text),
            "`{description}` does not mention `{text}`"
        );
        self
    }

    /// Asserts the `WWW-Authenticate` header exactly.
    #[track_caller]
    pub fn challenge(&self, expected: Option<&str>) -> &Self {
        assert_eq!(self.header("www-authenticate"), expected);
        self
    }

    /// Asserts that `WWW-Authenticate` carries `error="invalid_token"`.
    #[track_caller]
    pub fn invalid_token(&self) -> &Self {
        self.expect(401).error("invalid_token");
        let challenge = self.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer realm=\"tokengate\", error=\"invalid_token\""),
            "challenge: {challenge}"
        );
        self
    }

    /// The two tokens of a sign-in or token answer.
    #[track_caller]
    pub fn tokens(&self) -> Tokens {
        self.expect(201);
        let body = self.json();
        let get = |name: &str| {
            body[name]
                .as_str()
                .unwrap_or_else(|| panic!("no `{name}` in {body}"))
                .to_owned()
        };
        Tokens {
            refresh: get("refreshToken"),
            access: get("accessToken"),
        }
    }
}

/// One `Set-Cookie` header, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    pub raw: String,
    pub name: String,
    pub value: String,
    /// The attributes as written, without the name=value pair.
    pub attributes: Vec<String>,
}

impl SetCookie {
    pub fn parse(raw: &str) -> Self {
        let mut parts = raw.split(';').map(str::trim);
        let (name, value) = parts
            .next()
            .and_then(|pair| pair.split_once('='))
            .expect("name=value");
        Self {
            raw: raw.to_owned(),
            name: name.to_owned(),
            value: value.to_owned(),
            attributes: parts.map(str::to_owned).collect(),
        }
    }

    pub fn has(&self, attribute: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attribute))
    }

    /// The value of an attribute such as `Path`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find_map(|a| {
            let (key, value) = a.split_once('=')?;
            key.eq_ignore_ascii_case(name).then_some(value)
        })
    }

    /// The attributes but `Max-Age`, to compare a deletion with what it deletes.
    pub fn lasting_attributes(&self) -> Vec<String> {
        self.attributes
            .iter()
            .filter(|a| !a.to_ascii_lowercase().starts_with("max-age"))
            .cloned()
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Tokens {
    pub refresh: String,
    pub access: String,
}

/// The decoded claims of a token (no verification: the tests look inside our own tokens).
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a payload segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// The decoded header of a token.
pub fn header_of(token: &str) -> Value {
    let header = token.split('.').next().expect("a header segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON")
}

/// A request body in one of the accepted forms, or raw.
pub enum Body<'a> {
    None,
    Multipart(&'a [(&'a str, &'a str)]),
    Form(&'a [(&'a str, &'a str)]),
    Json(Value),
    Raw(&'a str, Vec<u8>),
    /// Chunked, with no Content-Length.
    Chunked(&'a str, Vec<u8>),
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let mut request = request.build().expect("a valid request");
        let method = request.method().to_string();
        let path = match request.url().query() {
            Some(query) => format!("{}?{query}", request.url().path()),
            None => request.url().path().to_owned(),
        };
        // A server that refuses an oversized body before reading it may close the connection
        // while the client is still writing, and the answer is lost on the way: send again.
        let oversized = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .is_some_and(|bytes| bytes.len() > 32 * 1024);
        let mut attempts = if oversized { 5 } else { 1 };
        let response = loop {
            let retry = request.try_clone();
            match self.client.execute(request).await {
                Ok(response) => break response,
                Err(error) => {
                    attempts -= 1;
                    match retry {
                        Some(again) if attempts > 0 => request = again,
                        _ => panic!("the server does not answer: {error}"),
                    }
                }
            }
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.bytes().await.expect("a body").to_vec();
        let reply = Reply {
            status,
            headers,
            body,
        };
        record(&method, &path, &reply);
        #[cfg(feature = "openapi")]
        documented::check(&method, &path, reply.status);
        reply
    }

    pub async fn post(&self, path: &str, body: Body<'_>, headers: &[(&str, &str)]) -> Reply {
        self.request("POST", path, body, headers).await
    }

    /// A request of any method, with a body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Body<'_>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.client.request(method, self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request = match body {
            Body::None => request,
            Body::Multipart(fields) => {
                let mut form = reqwest::multipart::Form::new();
                for (name, value) in fields {
                    form = form.text((*name).to_owned(), (*value).to_owned());
                }
                request.multipart(form)
            }
            Body::Form(fields) => request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    fields
                        .iter()
                        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                        .collect::<Vec<_>>()
                        .join("&"),
                ),
            Body::Json(value) => request.json(&value),
            Body::Raw(content_type, bytes) => {
                request.header("content-type", content_type).body(bytes)
            }
            Body::Chunked(content_type, bytes) => {
                let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                    bytes.chunks(8192).map(|c| Ok(c.to_vec())).collect();
                request
                    .header("content-type", content_type)
                    .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                        chunks,
                    )))
            }
        };
        self.send(request).await
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    pub async fn delete(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.delete(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// Signs in the seed's user with the seed's multipart form, plus `extra` fields.
    pub async fn signin(&self, extra: &[(&str, &str)]) -> Reply {
        let mut fields = vec![("login", demo::USER.0), ("password", demo::USER.1)];
        fields.extend_from_slice(extra);
        self.post("/api/rest/signin?=", Body::Multipart(&fields), &[])
            .await
    }

    pub async fn me(&self, access: &str) -> Reply {
        self.get(
            "/api/rest/me",
            &[("authorization", &format!("Bearer {access}"))],
        )
        .await
    }

    pub async fn refresh(&self, refresh: &str) -> Reply {
        self.post(
            "/api/rest/token",
            Body::Multipart(&[("token", refresh)]),
            &[],
        )
        .await
    }

    pub async fn signout(&self, refresh: &str, extra: &[(&str, &str)]) -> Reply {
        let mut fields = vec![("token", refresh)];
        fields.extend_from_slice(extra);
        self.post("/api/rest/signout", Body::Multipart(&fields), &[])
            .await
    }

    /// Signs a token with this server's secret, with any header and claims.
    pub fn forge(&self, header: &Value, claims: &Value) -> String {
        sign_hs256(self.secret.as_bytes(), header, claims)
    }
}

/// An HS256 JWS over arbitrary header and claims JSON, signed with jsonwebtoken's primitives.
pub fn sign_hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = jsonwebtoken::EncodingKey::from_secret(secret).expect("hmac key");
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
            .expect("sign");
    format!("{message}.{signature}")
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
