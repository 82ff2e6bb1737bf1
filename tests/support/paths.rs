//! Every path decision the gate takes (endpoint, public path, guarded route, WebSocket path) is
//! taken on the path the framework routes on: each spelling of a path — percent-escaped,
//! doubled slashes, a trailing slash, dot segments — either reaches the plain path's decision
//! or fails closed (refused, or not found). actix-web routes on the path with its escapes
//! decoded, axum on the path as sent, so the two may differ spelling by spelling; the
//! exchanges here are not recorded for the alike comparison, and each is checked on its own.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::time::Duration;

use super::cookies::cookie_signin;
use super::websockets::{new_ticket, upgrade_at};
use super::{demo, start, Adapter, Body, Reply, Server};

/// `method path` sent as written on a connection of its own (no client library normalises
/// it), with `headers`; the whole answer.
async fn raw(server: &Server, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    raw_with_body(server, method, path, headers, "").await
}

/// [`raw`] with an urlencoded `body`, when not empty.
async fn raw_with_body(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if !body.is_empty() {
        let _ = write!(
            head,
            "content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n",
            body.len()
        );
    }
    head.push_str("\r\n");
    head.push_str(body);
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        stream.write_all(head.as_bytes()).expect("send");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("the client thread");
    let reply = Reply::parse_raw(&raw);
    assert_ne!(reply.status, 0, "{method} {path} got no answer");
    reply
}

/// `path` with the character at byte `at` of segment `index` percent-escaped, in lower and
/// upper case hex.
fn escaped(path: &str, index: usize, at: usize) -> [String; 2] {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let spell = |hex: &dyn Fn(u8) -> String| {
        let spelled: Vec<String> = segments
            .iter()
            .enumerate()
            .map(|(i, segment)| {
                if i != index {
                    return (*segment).to_owned();
                }
                let (head, tail) = segment.split_at(at);
                format!("{head}{}{}", hex(tail.as_bytes()[0]), &tail[1..])
            })
            .collect();
        format!("/{}", spelled.join("/"))
    };
    [
        spell(&|byte| format!("%{byte:02x}")),
        spell(&|byte| format!("%{byte:02X}")),
    ]
}

/// The spellings of `path` (`/a/b`, plain ASCII) a client may send for it.
fn spellings(path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let last = segments.len() - 1;
    let mut all = Vec::new();
    all.extend(escaped(path, 0, 0));
    all.extend(escaped(path, last, segments[last].len() - 1));
    all.push(format!("/{path}"));
    all.push(format!("{path}/"));
    all.push(format!("/.{path}"));
    all.push(format!("{path}/."));
    if last > 0 {
        let (before, after) = path.rsplit_once('/').expect("two segments");
        all.push(format!("{before}//{after}"));
        all.push(format!("{before}/./{after}"));
        all.push(format!("{before}/x/../{after}"));
        all.push(format!("{before}/%2e/{after}"));
        all.push(format!("{before}%2F{after}"));
    }
    all
}

/// A path, the headers to send it with, and the statuses that count as closed for it.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [u16]);

/// Whether `reply` to a spelling is the plain path's `plain` answer, or a closed door.
fn same_or_closed(plain: &Reply, reply: &Reply, closed: &[u16]) -> bool {
    (reply.status == plain.status && reply.body == plain.body) || closed.contains(&reply.status)
}

pub async fn every_spelling_of_a_path_reaches_the_same_decision_or_fails_closed(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let john = server.signin(&[]).await.tokens();
    let (login, password) = demo::SECOND_USER;
    let jane = server
        .post(
            "/api/rest/signin",
            Body::Form(&[("login", login), ("password", password)]),
            &[],
        )
        .await
        .tokens();
    let bearer = |access: &str| format!("Bearer {access}");
    let (john_bearer, jane_bearer) = (bearer(&john.access), bearer(&jane.access));
    // (path, headers, the statuses that count as closed for it)
    let cases: [Case<'_>; 6] = [
        // An endpoint: served, or guarded (no token: 401), or not found.
        ("/api/rest/jwks", vec![], &[401, 404]),
        // A public path: served, or guarded, or not found.
        ("/health", vec![], &[401, 404]),
        // A guarded route without a token: never served.
        ("/api/rest/me", vec![], &[401, 404]),
        // ...and with one: served, or not found.
        (
            "/api/rest/me",
            vec![("authorization", john_bearer.as_str())],
            &[404],
        ),
        // A role route with a token that lacks the role: never served.
        (
            "/api/rest/admin",
            vec![("authorization", jane_bearer.as_str())],
            &[401, 403, 404],
        ),
        // A route under the endpoints' prefix that is none of them.
        ("/api/rest/ping", vec![], &[401, 404]),
    ];
    for (path, headers, closed) in &cases {
        let plain = raw(&server, "GET", path, headers).await;
        assert!(
            plain.status < 500,
            "{path} answered {}: {}",
            plain.status,
            plain.text()
        );
        for spelled in spellings(path) {
            let reply = raw(&server, "GET", &spelled, headers).await;
            assert!(
                same_or_closed(&plain, &reply, closed),
                "GET {spelled} (for {path}, headers {headers:?}) answered {} {}, where {path} \
                 answers {} and closed is {closed:?}",
                reply.status,
                reply.text(),
                plain.status,
            );
        }
    }
    // An endpoint's spelling that reaches it acts as the endpoint: a sign-in under an escaped
    // path is a sign-in (or a closed door), never the app's.
    for spelled in spellings("/api/rest/signin") {
        let body = format!(
            "login={}&password=wrong",
            form_urlencoded::byte_serialize(demo::USER.0.as_bytes()).collect::<String>()
        );
        let reply = raw_with_body(&server, "POST", &spelled, &[], &body).await;
        assert!(
            [401, 404, 405].contains(&reply.status),
            "POST {spelled} answered {} {}",
            reply.status,
            reply.text()
        );
    }
}

/// Attack (actix-web): the access cookie alone opened a socket on `/w%73/echo` and
/// `/%77s/echo`, which actix-web routes to `/ws/echo` while the gate compared the raw path
/// with its WebSocket paths. The cookie is now never read on an upgrade, whatever the path,
/// and the path is the one the framework routes.
pub async fn the_access_cookie_never_opens_a_socket_whatever_the_path(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, browser) = cookie_signin(&server).await;
    let mut headers = browser.headers(true);
    headers.push(("origin", "https://evil.example"));
    let mut paths = vec!["/ws/echo".to_owned()];
    paths.extend(spellings("/ws/echo"));
    for path in &paths {
        let reply = upgrade_at(&server, path, "", &headers).await;
        assert!(
            [401, 403, 404].contains(&reply.status),
            "an upgrade of {path} with the access cookie answered {}",
            reply.status
        );
    }
    // A ticket opens the socket on the plain path and on any spelling the framework routes
    // there; elsewhere the door stays shut.
    let bearer = format!("Bearer {}", server.signin(&[]).await.tokens().access);
    for path in &paths {
        let ticket = new_ticket(&server, &[("authorization", &bearer)]).await;
        let reply = upgrade_at(&server, path, &format!("ticket={ticket}"), &[]).await;
        if path == "/ws/echo" {
            reply.expect(101);
        } else {
            assert!(
                [101, 401, 404].contains(&reply.status),
                "an upgrade of {path} with a ticket answered {}",
                reply.status
            );
        }
    }
    // A cookie request that is no upgrade still works where it did.
    server
        .get("/api/rest/me", &browser.headers(false))
        .await
        .expect(200);
}
