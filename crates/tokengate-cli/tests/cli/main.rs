//! The `tokengate` binary, run end to end: what it writes loads in the core, what it reads
//! comes from a real gate and a real store, and no secret shows in what it prints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config_check;
mod hash_password;
mod inspect;
mod keygen;
mod sessions;

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use tokengate_core::adapter::RequestHead;
use tokengate_core::credentials::{hash_password, MemoryDirectory};
use tokengate_core::{serde_json, Config, Endpoint, TokenGate};

/// The user the gates of these tests know.
pub(crate) const LOGIN: &str = "ada@example.org";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
/// A secret for the configurations of these tests; never in the command's output.
pub(crate) const SECRET: &str = "cli-test-secret-that-is-long-enough-0123456789";

/// What one run of the command gave.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Everything it printed.
    pub(crate) fn printed(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Asserts the exit status, showing the output otherwise.
    pub(crate) fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit status; printed:\n{}", self.printed());
        self
    }
}

/// A directory of its own for one test, removed after it.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "tokengate-cli-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to `name` in the directory; its path.
    pub(crate) fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `tokengate args...` in `dir`, with `stdin` as its input, `env` as its only
/// `TOKENGATE_*` variables.
pub(crate) fn tokengate(dir: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokengate"));
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars() {
        if name.starts_with("TOKENGATE_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    let mut child = command.spawn().expect("the tokengate binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The configuration `toml` (its `[default]` table, which the header may leave implicit) as
/// the application reads it.
pub(crate) fn config(toml: &str) -> Config {
    let toml = if toml.contains("[default]") {
        toml.to_owned()
    } else {
        format!("[default]\n{toml}")
    };
    Config::from_sources(Some(&toml), "default", Vec::<(&str, &str)>::new()).unwrap()
}

/// The runtime of the tests' gates: the stores' connections live on it between calls.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        // What a gate logs (a store that fails) shows with a failing test.
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// A gate of `toml` that knows [`LOGIN`].
pub(crate) fn gate(toml: &str) -> TokenGate {
    let users = MemoryDirectory::new()
        .user(LOGIN, &hash_password(PASSWORD).unwrap())
        .unwrap();
    let _entered = runtime().enter();
    TokenGate::builder(config(toml))
        .credentials(users)
        .build()
        .unwrap()
}

/// A sign-in request, from 127.0.0.1 with a user agent.
struct SignIn<'a> {
    user_agent: &'a str,
}

impl RequestHead for SignIn<'_> {
    fn method(&self) -> &'static str {
        "POST"
    }
    fn path(&self) -> &'static str {
        "/api/rest/signin"
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        match name {
            "content-type" => Some(b"application/x-www-form-urlencoded"),
            "user-agent" => Some(self.user_agent.as_bytes()),
            _ => None,
        }
    }
    fn peer_addr(&self) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }
}

/// Signs [`LOGIN`] in at `gate` from a client with `user_agent`: (refresh, access) tokens.
pub(crate) fn sign_in(gate: &TokenGate, user_agent: &str) -> (String, String) {
    let body = form_urlencoded_body(&[("login", LOGIN), ("password", PASSWORD)]);
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(body))]);
    let response = runtime().block_on(gate.serve(Endpoint::SignIn, &SignIn { user_agent }, stream));
    assert_eq!(
        response.status,
        201,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let tokens: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    (
        tokens["refreshToken"].as_str().unwrap().to_owned(),
        tokens["accessToken"].as_str().unwrap().to_owned(),
    )
}

fn form_urlencoded_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{name}={}", value.replace(' ', "+")))
        .collect::<Vec<_>>()
        .join("&")
}

/// The claims of a token, unverified.
pub(crate) fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
