//! Cookie mode in a real browser: headless Chromium, driven over WebDriver (Debian's
//! `chromium-driver`), against the `cookie_web` example's app on 127.0.0.1; and a page that
//! opens the demo's WebSocket echo with tickets.
//!
//! It needs `chromedriver` and `chromium` on the PATH (`scripts/test-deps.sh` installs them);
//! `CHROMEDRIVER` names another driver binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use serde_json::{json, Value};

use cookie_web_app::Notes;
use tokengate_demo::{axum_app, cookie_web_app, demo};

/// A chromedriver process, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn chromedriver() -> Driver {
    let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
    let port = free_port();
    let child = Command::new(&program)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start `{program}` ({e}): run scripts/test-deps.sh to install chromium-driver")
        });
    let driver = Driver { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    driver
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
            ]
        }),
    );
    // The driver's port may accept connections before it answers them (a reset was seen on
    // a loaded machine): a session is asked for again until the deadline.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await;
        match attempt {
            Ok(client) => return client,
            Err(error) if Instant::now() < deadline => {
                eprintln!("no WebDriver session yet ({error}); asking again");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(error) => panic!("a WebDriver session with headless Chromium: {error:?}"),
        }
    }
}

/// Serves `app` on a free port of 127.0.0.1; gives its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    format!("http://{address}")
}

/// The cookie_web app with a secret made for this test.
async fn cookie_web(notes: Notes) -> String {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("random");
    let secret = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret);
    let sources = tokengate::Config::sources(None, "default", [("TOKENGATE_SECRET", secret)])
        .expect("sources");
    let config =
        demo::demo_config_from(cookie_web_app::cookie_web_defaults(sources)).expect("config");
    let gate = demo::demo_gate(config).expect("gate");
    serve(cookie_web_app::router(gate, notes)).await
}

/// A page on another origin whose form posts a note to the app as soon as it loads.
async fn attacker(target: &str) -> String {
    let page = format!(
        r#"<!doctype html><form id="f" method="POST" action="{target}/api/rest/notes">
        <input name="text" value="pwned"></form>
        <script>document.getElementById("f").submit()</script>"#
    );
    serve(Router::new().route("/", get(move || async move { Html(page) }))).await
}

async fn js(client: &Client, script: &str) -> Value {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("script `{script}` failed: {e}"))
}

/// Waits until `script` returns true in the page.
async fn wait_for(client: &Client, script: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // A navigation in progress makes scripts fail; that is a "not yet".
        if let Ok(Value::Bool(true)) = client.execute(script, vec![]).await {
            return;
        }
        if Instant::now() > deadline {
            let source = client.source().await.unwrap_or_default();
            panic!("timed out waiting for `{script}`; page:\n{source}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const SIGNED_IN: &str = "return !document.getElementById('profile').hidden \
     && document.getElementById('subject').textContent === 'john.doe@email.org'";
const SIGNED_OUT: &str = "return !document.getElementById('signin').hidden \
     && document.getElementById('profile').hidden";

async fn click(client: &Client, id: &str) {
    let element = client.find(Locator::Id(id)).await;
    element
        .unwrap_or_else(|e| panic!("no #{id}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click #{id}: {e}"));
}

async fn type_into(client: &Client, id: &str, text: &str) {
    let element = client.find(Locator::Id(id)).await;
    element
        .unwrap_or_else(|e| panic!("no #{id}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("cannot type into #{id}: {e}"));
}

async fn token_cookies(client: &Client) -> Vec<(String, bool)> {
    client
        .get_all_cookies()
        .await
        .expect("cookies")
        .iter()
        .filter(|c| c.name().contains("tokengate"))
        .map(|c| (c.name().to_owned(), c.http_only().unwrap_or(false)))
        .collect()
}

async fn steps(client: &Client, app: &str, attacker: &str, notes: &Notes) {
    // Sign in through the page's form.
    client
        .goto(&format!("{app}/"))
        .await
        .expect("open the page");
    wait_for(client, SIGNED_OUT).await;
    type_into(client, "login", demo::USER.0).await;
    type_into(client, "password", demo::USER.1).await;
    click(client, "signin-button").await;
    wait_for(client, SIGNED_IN).await;

    // Scripts see the CSRF cookie, never a token.
    let visible = js(client, "return document.cookie").await;
    let visible = visible.as_str().unwrap_or_default();
    assert!(visible.contains("tokengate-csrf="), "{visible}");
    assert!(
        !visible.contains("eyJ"),
        "a token is readable by scripts: {visible}"
    );
    assert!(!visible.contains("tokengate-access"), "{visible}");
    assert!(!visible.contains("tokengate-refresh"), "{visible}");
    let cookies = token_cookies(client).await;
    assert!(
        cookies.contains(&("tokengate-access".to_owned(), true)),
        "no HttpOnly access cookie in {cookies:?}"
    );

    // A reload keeps the user signed in.
    client.refresh().await.expect("reload");
    wait_for(client, SIGNED_IN).await;

    // The page's guarded POST, with its CSRF header, works.
    type_into(client, "note", "hello").await;
    click(client, "add-note").await;
    wait_for(
        client,
        "return document.getElementById('notes').textContent.includes('hello')",
    )
    .await;
    assert_eq!(notes.of(demo::USER.0), ["hello"]);

    // Another origin's form reaches the app with the cookies, and is refused.
    client
        .goto(&format!("{attacker}/"))
        .await
        .expect("attacker");
    wait_for(
        client,
        "return document.body !== null && document.body.textContent.includes('csrf_rejected')",
    )
    .await;
    assert_eq!(
        notes.of(demo::USER.0),
        ["hello"],
        "the forged post was performed"
    );
    client.goto(&format!("{app}/")).await.expect("back");
    wait_for(client, SIGNED_IN).await;
    let listed = js(
        client,
        "return document.getElementById('notes').textContent",
    )
    .await;
    assert!(!listed.as_str().unwrap_or_default().contains("pwned"));

    // Refresh renews the access token through the refresh cookie.
    click(client, "refresh").await;
    wait_for(
        client,
        "return document.getElementById('status').textContent === 'access token renewed'",
    )
    .await;

    // Sign-out clears the cookies; after a reload the profile is gone.
    click(client, "signout").await;
    wait_for(client, SIGNED_OUT).await;
    assert_eq!(token_cookies(client).await, []);
    client.refresh().await.expect("reload");
    wait_for(client, SIGNED_OUT).await;
    assert_eq!(
        js(
            client,
            "return document.getElementById('subject').textContent"
        )
        .await,
        "",
        "the reloaded page still shows a profile"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_mode_in_a_real_browser() {
    let notes = Notes::default();
    let app = cookie_web(notes.clone()).await;
    let attacker = attacker(&app).await;
    let driver = chromedriver();
    let client = browser(&driver).await;
    let outcome = AssertUnwindSafe(steps(&client, &app, &attacker, &notes))
        .catch_unwind()
        .await;
    let _ = client.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A page of the app's own origin that signs in in cookie mode, asks for tickets and opens
/// the echo socket with them: fresh, replayed, and after the ticket's expiry. It writes what
/// happened, as JSON, into `#log`.
const WEBSOCKET_PAGE: &str = r##"<!doctype html><pre id="log"></pre><script>
const out = {};
async function ticket(csrf) {
  const answer = await fetch("/api/rest/ticket", { method: "POST", headers: { "x-csrf-token": csrf } });
  out.ticketStatus = answer.status;
  return answer.json();
}
function open(ticket) {
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://${location.host}/ws/echo?ticket=${ticket}`);
    let opened = false;
    socket.onopen = () => { opened = true; socket.send("hello from the page"); };
    socket.onmessage = (event) => { resolve({ opened, echo: event.data }); socket.close(); };
    socket.onclose = () => resolve({ opened, echo: null });
  });
}
async function run() {
  const form = new FormData();
  form.append("login", "john.doe@email.org");
  form.append("password", "#thePassword1234!");
  form.append("cookieauth", "true");
  const signin = await fetch("/api/rest/signin", { method: "POST", body: form });
  const csrf = (await signin.json()).csrfToken;
  const first = await ticket(csrf);
  out.expiresIn = first.expiresIn;
  out.fresh = await open(first.ticket);
  out.replayed = await open(first.ticket);
  const second = await ticket(csrf);
  await new Promise((done) => setTimeout(done, (second.expiresIn + 1.5) * 1000));
  out.expired = await open(second.ticket);
}
run().catch((error) => { out.error = String(error); })
  .finally(() => { document.getElementById("log").textContent = JSON.stringify(out); });
</script>"##;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_opens_a_websocket_with_a_ticket_once() {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("random");
    let secret = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret);
    let sources = tokengate::Config::sources(
        None,
        "default",
        [
            ("TOKENGATE_SECRET", secret.as_str()),
            ("TOKENGATE_COOKIE_SECURE", "false"),
            ("TOKENGATE_TICKET_TTL", "2s"),
            ("TOKENGATE_LEEWAY", "0s"),
        ],
    )
    .expect("sources");
    let mut config = demo::demo_config_from(sources).expect("config");
    config.guard.public_paths.push("/ws-page".to_owned());
    let gate = demo::demo_gate(config).expect("gate");
    let page = Router::new().route("/ws-page", get(|| async { Html(WEBSOCKET_PAGE) }));
    let app = serve(axum_app::router_with(gate, page)).await;
    let driver = chromedriver();
    let client = browser(&driver).await;
    let outcome = AssertUnwindSafe(async {
        client
            .goto(&format!("{app}/ws-page"))
            .await
            .expect("the page");
        wait_for(
            &client,
            "return document.getElementById('log').textContent !== ''",
        )
        .await;
        let log = js(&client, "return document.getElementById('log').textContent").await;
        let log: Value = serde_json::from_str(log.as_str().unwrap_or("")).expect("JSON log");
        assert_eq!(log["ticketStatus"], 201, "{log}");
        assert_eq!(log["expiresIn"], 2, "{log}");
        assert_eq!(
            log["fresh"],
            json!({ "opened": true, "echo": "hello from the page" }),
            "{log}"
        );
        assert_eq!(
            log["replayed"],
            json!({ "opened": false, "echo": null }),
            "{log}"
        );
        assert_eq!(
            log["expired"],
            json!({ "opened": false, "echo": null }),
            "{log}"
        );
    })
    .catch_unwind()
    .await;
    let _ = client.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The WebDriver WebAuthn extension's `Add Virtual Authenticator`: a platform authenticator
/// with resident keys that verifies its user, as a phone or a laptop's would.
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl fantoccini::wd::WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/authenticator",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let authenticator = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
        });
        (http::Method::POST, Some(authenticator.to_string()))
    }
}

/// A demo gate whose passkeys belong to `http://localhost:{port}`, with a secret made here.
fn passkey_gate(port: u16) -> tokengate::TokenGate {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("random");
    let secret = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret);
    let origin = format!("http://localhost:{port}");
    let sources = tokengate::Config::sources(
        None,
        "default",
        [
            ("TOKENGATE_SECRET", secret.as_str()),
            ("TOKENGATE_PASSKEY_ORIGINS", origin.as_str()),
        ],
    )
    .expect("sources");
    demo::demo_gate(demo::demo_config_from(sources).expect("config")).expect("gate")
}

/// The axum demo on a free port; its port.
async fn axum_demo() -> u16 {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let app = axum_app::router(passkey_gate(port));
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    port
}

/// The actix-web demo on a free port, on a system of its own; its port.
fn actix_demo() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("address").port();
    let gate = passkey_gate(port);
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server =
                actix_web::HttpServer::new(move || tokengate_demo::actix_app::app(gate.clone()))
                    .workers(1)
                    .disable_signals()
                    .listen(listener)
                    .expect("actix listens")
                    .run();
            let _ = server.await;
        });
    });
    port
}

/// Clicks `#id` on the passkey page and waits for its status line to say `expected`.
async fn press(client: &Client, id: &str, expected: &str) {
    js(
        client,
        "document.getElementById('status').textContent = ''; return true",
    )
    .await;
    click(client, id).await;
    wait_for(
        client,
        "return document.getElementById('status').textContent !== ''",
    )
    .await;
    let status = js(
        client,
        "return document.getElementById('status').textContent",
    )
    .await;
    assert_eq!(status, expected, "after #{id}");
}

/// The passkey page of a demo at `http://localhost:{port}`: a password sign-in, a passkey
/// made by the virtual authenticator, a sign-out and a sign-in with the passkey alone at
/// `aal2`, then the passkey removed and refused.
async fn passkey_steps(client: &Client, port: u16) {
    client
        .goto(&format!("http://localhost:{port}/passkeys"))
        .await
        .expect("open the page");
    wait_for(client, "return document.getElementById('create') !== null").await;
    client
        .issue_cmd(AddVirtualAuthenticator)
        .await
        .expect("a virtual authenticator");
    type_into(client, "login", demo::USER.0).await;
    type_into(client, "password", demo::USER.1).await;
    press(client, "signin-button", "signed in").await;
    press(
        client,
        "vault",
        "vault refused: 401 insufficient_user_authentication",
    )
    .await;
    press(client, "create", "passkey created").await;
    press(client, "signout", "signed out").await;
    press(client, "vault", "vault refused: 401 missing_token").await;
    press(client, "passkey-signin", "signed in with a passkey").await;
    press(client, "vault", &format!("vault open for {}", demo::USER.0)).await;
    // A password sign-in now waits for the passkey, and the passkey proves it.
    press(client, "signout", "signed out").await;
    press(
        client,
        "signin-button",
        "signed in, second factor needed: passkey, recovery",
    )
    .await;
    press(client, "passkey-verify", "second factor proved").await;
    press(client, "vault", &format!("vault open for {}", demo::USER.0)).await;
    press(client, "remove", "removed 1 passkey(s)").await;
    press(client, "signout", "signed out").await;
    // The authenticator still holds the credential; the server no longer takes it.
    press(
        client,
        "passkey-signin",
        "passkey refused: 401 invalid_credentials",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_in_a_real_browser_on_both_demos() {
    let driver = chromedriver();
    for (demo, port) in [("axum", axum_demo().await), ("actix", actix_demo())] {
        let client = browser(&driver).await;
        let outcome = AssertUnwindSafe(passkey_steps(&client, port))
            .catch_unwind()
            .await;
        let _ = client.close().await;
        if let Err(panic) = outcome {
            eprintln!("the {demo} demo failed the passkey steps");
            std::panic::resume_unwind(panic);
        }
    }
}
