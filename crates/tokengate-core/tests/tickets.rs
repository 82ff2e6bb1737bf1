//! WebSocket tickets: minted for an access token, spent once on an upgrade to a WebSocket
//! path, refused after use, after expiry, for an ended session and everywhere else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use tokengate_core::adapter::{Guarded, RequestHead, Route};
use tokengate_core::credentials::{hash_password, MemoryDirectory};
use tokengate_core::{Config, Endpoint, TokenGate};

const SECRET: &str = "a-ticket-test-secret-of-32-bytes-or-more";

/// A request: method, path, query and headers.
struct Head {
    method: &'static str,
    path: &'static str,
    query: Option<String>,
    headers: Vec<(&'static str, String)>,
}

impl Head {
    fn new(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            path,
            query: None,
            headers: Vec::new(),
        }
    }

    /// A POST with a urlencoded body.
    fn form(path: &'static str) -> Self {
        let mut head = Self::new("POST", path);
        head.headers.push((
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        ));
        head
    }

    fn bearer(mut self, token: &str) -> Self {
        self.headers
            .push(("authorization", format!("Bearer {token}")));
        self
    }

    fn upgrade(mut self) -> Self {
        self.headers.push(("upgrade", "websocket".to_owned()));
        self
    }

    fn query(mut self, query: &str) -> Self {
        self.query = Some(query.to_owned());
        self
    }
}

impl RequestHead for Head {
    fn method(&self) -> &str {
        self.method
    }
    fn path(&self) -> &str {
        self.path
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_bytes())
    }
    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
    fn peer_addr(&self) -> Option<std::net::IpAddr> {
        Some([192, 0, 2, 7].into())
    }
}

fn gate(settings: &[(&str, &str)]) -> TokenGate {
    let mut pairs = vec![
        ("TOKENGATE_SECRET".to_owned(), SECRET.to_owned()),
        ("TOKENGATE_WEBSOCKET_PATHS".to_owned(), "/ws/*".to_owned()),
    ];
    pairs.extend(settings.iter().map(|(key, value)| {
        (
            format!("TOKENGATE_{}", key.to_ascii_uppercase()),
            (*value).to_owned(),
        )
    }));
    let config = Config::from_sources(None, "default", pairs).unwrap();
    let directory = MemoryDirectory::new()
        .user("ada", &hash_password("pw").unwrap())
        .unwrap();
    TokenGate::builder(config)
        .credentials(directory)
        .build()
        .unwrap()
}

async fn serve(
    gate: &TokenGate,
    endpoint: Endpoint,
    head: &Head,
    body: &str,
) -> (u16, serde_json::Value) {
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(body.to_owned()))]);
    let response = gate.serve(endpoint, head, body).await;
    (
        response.status,
        serde_json::from_slice(&response.body).unwrap_or_default(),
    )
}

/// Signs `ada` in: (refresh, access).
async fn sign_in(gate: &TokenGate) -> (String, String) {
    let head = Head::form("/api/rest/signin");
    let (status, body) = serve(gate, Endpoint::SignIn, &head, "login=ada&password=pw").await;
    assert_eq!(status, 201, "{body}");
    (
        body["refreshToken"].as_str().unwrap().to_owned(),
        body["accessToken"].as_str().unwrap().to_owned(),
    )
}

async fn ticket(gate: &TokenGate, access: &str) -> String {
    let head = Head::new("POST", "/api/rest/ticket").bearer(access);
    let (status, body) = serve(gate, Endpoint::Ticket, &head, "").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["expiresIn"], 30);
    body["ticket"].as_str().unwrap().to_owned()
}

/// The upgrade of `/ws/echo` with `query`, routed and confirmed as an adapter would.
async fn upgrade(gate: &TokenGate, head: &Head) -> Result<Guarded, (u16, String)> {
    let refused = |response: tokengate_core::Response| {
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
        (
            response.status,
            body["error_description"].as_str().unwrap_or("").to_owned(),
        )
    };
    match gate.route(head) {
        Route::Pass(guarded) => Ok(guarded),
        Route::Refuse(response) => Err(refused(response)),
        Route::Check(pending) => gate.confirm(pending, head).await.map_err(refused),
        Route::Endpoint(endpoint) => panic!("an upgrade routed to {endpoint:?}"),
    }
}

fn with_ticket(ticket: &str) -> Head {
    Head::new("GET", "/ws/echo")
        .upgrade()
        .query(&format!("room=1&ticket={ticket}"))
}

#[tokio::test]
async fn a_ticket_opens_one_connection_with_the_claims_of_its_access_token() {
    let gate = gate(&[]);
    let (_, access) = sign_in(&gate).await;
    let ticket = ticket(&gate, &access).await;
    let guarded = upgrade(&gate, &with_ticket(&ticket)).await.unwrap();
    let claims = guarded.verified().unwrap().claims();
    assert_eq!(claims.sub, "ada");
    let access_claims = gate.verify_access(&access).unwrap();
    assert_eq!(claims.sid, access_claims.claims().sid);
    // Spent: the same ticket again is refused.
    let (status, reason) = upgrade(&gate, &with_ticket(&ticket)).await.unwrap_err();
    assert_eq!(
        (status, reason.as_str()),
        (401, "the ticket was used already")
    );
}

#[tokio::test]
async fn of_a_burst_of_upgrades_with_one_ticket_exactly_one_gets_through() {
    let gate = gate(&[]);
    let (_, access) = sign_in(&gate).await;
    let ticket = ticket(&gate, &access).await;
    let attempts = (0..32).map(|_| {
        let gate = gate.clone();
        let ticket = ticket.clone();
        tokio::spawn(async move { upgrade(&gate, &with_ticket(&ticket)).await.is_ok() })
    });
    let mut opened = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        opened += usize::from(attempt.await.unwrap());
    }
    assert_eq!(opened, 1);
}

#[tokio::test]
async fn a_ticket_is_read_only_from_an_upgrade_to_a_websocket_path() {
    let gate = gate(&[]);
    let (_, access) = sign_in(&gate).await;
    let ticket = ticket(&gate, &access).await;
    let query = format!("ticket={ticket}");
    // Another path, or no upgrade: the query is not read, and there is no token.
    for head in [
        Head::new("GET", "/api/rest/me").upgrade().query(&query),
        Head::new("GET", "/ws/echo").query(&query),
        Head::new("POST", "/ws/echo").upgrade().query(&query),
    ] {
        let (status, reason) = upgrade(&gate, &head).await.unwrap_err();
        assert_eq!(
            (status, reason.as_str()),
            (401, "an access token is required")
        );
    }
    // Nor is it ever an access token.
    let (status, reason) = upgrade(&gate, &Head::new("GET", "/api/rest/me").bearer(&ticket))
        .await
        .unwrap_err();
    assert_eq!(
        (status, reason.as_str()),
        (401, "the token is not of the expected type")
    );
    // Still unspent: it opens its one connection.
    assert!(upgrade(&gate, &with_ticket(&ticket)).await.is_ok());
}

#[tokio::test]
async fn an_access_token_in_the_query_is_refused_even_on_a_websocket_path() {
    let gate = gate(&[]);
    let (_, access) = sign_in(&gate).await;
    let (status, reason) = upgrade(&gate, &with_ticket(&access)).await.unwrap_err();
    assert_eq!(
        (status, reason.as_str()),
        (401, "the token is not of the expected type")
    );
    let head = Head::new("GET", "/ws/echo")
        .upgrade()
        .query(&format!("access_token={access}"));
    assert_eq!(upgrade(&gate, &head).await.unwrap_err().0, 401);
    // A bearer header on the upgrade is read as on any route (native clients can send one).
    let bearer = Head::new("GET", "/ws/echo").upgrade().bearer(&access);
    assert_eq!(
        upgrade(&gate, &bearer)
            .await
            .unwrap()
            .verified()
            .unwrap()
            .claims()
            .sub,
        "ada"
    );
}

#[tokio::test]
async fn the_access_cookie_never_opens_a_websocket() {
    let gate = gate(&[]);
    let (_, access) = sign_in(&gate).await;
    let mut head = Head::new("GET", "/ws/echo").upgrade();
    head.headers
        .push(("cookie", format!("__Host-tokengate-access={access}")));
    let (status, reason) = upgrade(&gate, &head).await.unwrap_err();
    assert_eq!(
        (status, reason.as_str()),
        (401, "an access token is required")
    );
    // Nor on an upgrade of any other path: the path a framework routes may differ from the
    // one the gate compares (`/w%73/echo`), so the upgrade itself is what counts.
    let mut other = Head::new("GET", "/api/rest/me");
    other.headers = head.headers.clone();
    assert!(upgrade(&gate, &other).await.is_err());
    // The same cookie on a request that is no upgrade is read.
    let mut plain = Head::new("GET", "/api/rest/me");
    plain
        .headers
        .push(("cookie", format!("__Host-tokengate-access={access}")));
    assert!(upgrade(&gate, &plain).await.is_ok());
}

#[tokio::test]
async fn a_ticket_of_an_ended_session_is_refused_at_upgrade_without_strict_revocation() {
    let gate = gate(&[]);
    assert!(!gate.config().guard.strict_revocation);
    let (refresh, access) = sign_in(&gate).await;
    let ticket = ticket(&gate, &access).await;
    let signout = Head::form("/api/rest/signout");
    let (status, _) = serve(
        &gate,
        Endpoint::SignOut,
        &signout,
        &format!("token={refresh}"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, reason) = upgrade(&gate, &with_ticket(&ticket)).await.unwrap_err();
    assert_eq!(
        (status, reason.as_str()),
        (401, "the session of this token has ended")
    );
}

#[tokio::test]
async fn an_expired_ticket_is_refused() {
    let gate = gate(&[("ticket_ttl", "1s"), ("leeway", "0s")]);
    let (_, access) = sign_in(&gate).await;
    let head = Head::new("POST", "/api/rest/ticket").bearer(&access);
    let (status, body) = serve(&gate, Endpoint::Ticket, &head, "").await;
    assert_eq!((status, &body["expiresIn"]), (201, &serde_json::json!(1)));
    let ticket = body["ticket"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let (status, reason) = upgrade(&gate, &with_ticket(&ticket)).await.unwrap_err();
    assert_eq!((status, reason.as_str()), (401, "the token has expired"));
}

#[tokio::test]
async fn the_ticket_endpoint_needs_an_access_token_and_websocket_paths() {
    let gate = gate(&[]);
    let (refresh, _) = sign_in(&gate).await;
    let head = Head::new("POST", "/api/rest/ticket");
    assert_eq!(serve(&gate, Endpoint::Ticket, &head, "").await.0, 401);
    // A refresh token is not an access token.
    let head = Head::new("POST", "/api/rest/ticket").bearer(&refresh);
    assert_eq!(serve(&gate, Endpoint::Ticket, &head, "").await.0, 401);
    let head = Head::new("GET", "/api/rest/ticket");
    assert_eq!(serve(&gate, Endpoint::Ticket, &head, "").await.0, 405);
    assert_eq!(gate.endpoint("/api/rest/ticket"), Some(Endpoint::Ticket));
    // Without WebSocket paths there is no ticket endpoint.
    let config = Config::default().with_secret(SECRET);
    let plain = TokenGate::builder(config)
        .credentials(MemoryDirectory::new())
        .build()
        .unwrap();
    assert_eq!(plain.endpoint("/api/rest/ticket"), None);
    assert!(!plain.endpoint_paths().any(|path| path.ends_with("/ticket")));
}
