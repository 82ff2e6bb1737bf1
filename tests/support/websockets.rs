//! WebSocket tickets over real connections: a ticket from `POST /api/rest/ticket` opens the
//! demo's echo socket once, on every store's shared counter; replays, ended sessions and the
//! access cookie open nothing.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::time::Duration;

use super::cookies::cookie_signin;
use super::{start, Adapter, Body, Reply, Server, Tokens};

/// The upgrade of `/ws/echo?{query}` on a connection of its own. On a 101, one text frame is
/// sent and its echo checked, and the answer is recorded as its status alone (each framework
/// writes its own upgrade headers); a refusal is recorded whole.
async fn upgrade(server: &Server, query: &str, headers: &[(&str, &str)]) -> Reply {
    let reply = upgrade_at(server, "/ws/echo", query, headers).await;
    super::record("GET", &format!("/ws/echo?{query}"), &reply);
    reply
}

/// [`upgrade`] of `path` as spelled, not recorded: each framework routes its own spellings.
pub(super) async fn upgrade_at(
    server: &Server,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut head = format!(
        "GET {path}?{query} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n"
    );
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        stream.write_all(head.as_bytes()).expect("send the upgrade");
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        let header_end = loop {
            if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => panic!("the upgrade got no answer"),
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        };
        let text = String::from_utf8_lossy(&answer[..header_end]).into_owned();
        if text.starts_with("HTTP/1.1 101") {
            // A masked text frame, and its echo unmasked.
            let payload = b"hello over a ticket";
            let mask = [7u8, 1, 9, 4];
            let mut frame = vec![0x81, 0x80 | u8::try_from(payload.len()).expect("short")];
            frame.extend_from_slice(&mask);
            frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
            stream.write_all(&frame).expect("send a frame");
            let mut echo = answer[header_end..].to_vec();
            while echo.len() < 2 + payload.len() {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => echo.extend_from_slice(&buffer[..n]),
                }
            }
            assert_eq!(echo.get(..2), Some(&[0x81, 19][..]), "an echo frame");
            assert_eq!(&echo[2..], payload, "the echo");
            return "HTTP/1.1 101 Switching Protocols\r\n\r\n".to_owned();
        }
        let length = text
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        while answer.len() < header_end + length {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("the client thread");
    Reply::parse_raw(&raw)
}

/// A ticket for `access`: 201 with 30 seconds to use it.
pub(super) async fn new_ticket(server: &Server, headers: &[(&str, &str)]) -> String {
    let reply = server.post("/api/rest/ticket", Body::None, headers).await;
    reply.expect(201);
    let body = reply.json();
    assert_eq!(body["expiresIn"], 30, "{body}");
    body["ticket"].as_str().expect("a ticket").to_owned()
}

pub async fn a_ticket_opens_the_echo_socket_once(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let bearer = format!("Bearer {}", tokens.access);
    let ticket = new_ticket(&server, &[("authorization", &bearer)]).await;
    upgrade(&server, &format!("ticket={ticket}"), &[])
        .await
        .expect(101);
    upgrade(&server, &format!("ticket={ticket}"), &[])
        .await
        .invalid_token()
        .says("the ticket was used already");
    // No ticket, an access token in its place, or the ticket as a bearer elsewhere: nothing.
    upgrade(&server, "", &[])
        .await
        .expect(401)
        .error("missing_token");
    upgrade(&server, &format!("ticket={}", tokens.access), &[])
        .await
        .invalid_token();
    let fresh = new_ticket(&server, &[("authorization", &bearer)]).await;
    server
        .get(
            "/api/rest/me",
            &[("authorization", &format!("Bearer {fresh}"))],
        )
        .await
        .invalid_token();
    // A native client may send its bearer header on the upgrade instead.
    upgrade(&server, "", &[("authorization", &bearer)])
        .await
        .expect(101);
    server
        .post("/api/rest/ticket", Body::None, &[])
        .await
        .expect(401)
        .error("missing_token");
}

/// A signed-in session and a ticket of its access token.
async fn signed_in_ticket(server: &Server) -> (Tokens, String) {
    let tokens = server.signin(&[]).await.tokens();
    let bearer = format!("Bearer {}", tokens.access);
    let ticket = new_ticket(server, &[("authorization", &bearer)]).await;
    (tokens, ticket)
}

pub async fn a_burst_of_upgrades_with_one_ticket_opens_one_socket(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, ticket) = signed_in_ticket(&server).await;
    let query = format!("ticket={ticket}");
    let replies = super::parallel(futures_util::future::join_all(
        (0..16).map(|_| upgrade(&server, &query, &[])),
    ))
    .await;
    let opened = replies.iter().filter(|reply| reply.status == 101).count();
    assert_eq!(opened, 1, "sockets opened by one ticket");
    for reply in replies.iter().filter(|reply| reply.status != 101) {
        reply.invalid_token().says("the ticket was used already");
    }
}

pub async fn a_ticket_of_an_ended_session_opens_nothing(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (tokens, ticket) = signed_in_ticket(&server).await;
    server.signout(&tokens.refresh, &[]).await.expect(200);
    upgrade(&server, &format!("ticket={ticket}"), &[])
        .await
        .invalid_token()
        .says("the session of this token has ended");
}

pub async fn the_access_cookie_never_opens_a_socket(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, browser) = cookie_signin(&server).await;
    // Any page can open a socket to us, and the browser would send the cookie with it.
    upgrade(&server, "", &browser.headers(true))
        .await
        .expect(401)
        .error("missing_token");
    // A ticket asked for by cookie, with the CSRF header, opens it.
    server
        .post("/api/rest/ticket", Body::None, &browser.headers(false))
        .await
        .expect(403)
        .error("csrf_rejected");
    let ticket = new_ticket(&server, &browser.headers(true)).await;
    upgrade(
        &server,
        &format!("ticket={ticket}"),
        &browser.headers(false),
    )
    .await
    .expect(101);
}

/// Attack: with `ticket_ttl=1s`, a ticket still opened a socket seconds after its
/// `expiresIn` (the access token's leeway was applied to it). A ticket now ends at its
/// `expiresIn`.
pub async fn a_ticket_is_refused_once_its_expires_in_has_passed(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_TICKET_TTL", "1s")]).await;
    let tokens = server.signin(&[]).await.tokens();
    let bearer = format!("Bearer {}", tokens.access);
    let reply = server
        .post(
            "/api/rest/ticket",
            Body::None,
            &[("authorization", &bearer)],
        )
        .await;
    reply.expect(201);
    assert_eq!(reply.json()["expiresIn"], 1);
    let ticket = reply.json()["ticket"]
        .as_str()
        .expect("a ticket")
        .to_owned();
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    upgrade(&server, &format!("ticket={ticket}"), &[])
        .await
        .invalid_token()
        .says("expired");
}

/// The ticket of a 201 from `/ticket`.
fn ticket_in(reply: &Reply) -> String {
    reply.expect(201);
    reply.json()["ticket"]
        .as_str()
        .expect("a ticket")
        .to_owned()
}

/// A ticket may be bound to the socket path it is asked for (field `path`), and carries only
/// what a socket route needs of the access token: the token's `name` claim stays out of the
/// URL, its `roles` travel. A ticket bound to one path opens nothing elsewhere, and a path no
/// WebSocket path covers, or spelled with escapes or dot segments, is a 400.
pub async fn a_ticket_opens_only_the_path_it_was_asked_for(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let bearer = format!("Bearer {}", tokens.access);
    let auth = [("authorization", bearer.as_str())];
    let asked = |path: &'static str| {
        let server = &server;
        async move {
            server
                .post("/api/rest/ticket", Body::Form(&[("path", path)]), &auth)
                .await
        }
    };
    let ticket = ticket_in(&asked("/ws/echo").await);
    let claims = super::claims_of(&ticket);
    assert_eq!(claims["wsp"], "/ws/echo", "{claims}");
    assert_eq!(claims["roles"], super::claims_of(&tokens.access)["roles"]);
    assert!(super::claims_of(&tokens.access).get("name").is_some());
    let carried = [
        "iss",
        "aud",
        "sub",
        "sid",
        "app",
        "roles",
        "scope",
        "iat",
        "exp",
        "jti",
        "wsp",
        "amr",
        "acr",
        "auth_time",
    ];
    let keys: Vec<&String> = claims.as_object().expect("an object").keys().collect();
    assert!(
        keys.iter().all(|key| carried.contains(&key.as_str())),
        "{keys:?}"
    );
    upgrade(&server, &format!("ticket={ticket}"), &[])
        .await
        .expect(101);

    let elsewhere = ticket_in(&asked("/ws/other").await);
    upgrade(&server, &format!("ticket={elsewhere}"), &[])
        .await
        .invalid_token()
        .says("the ticket was asked for another WebSocket path");
    // The prefix itself binds everything under it.
    let under = ticket_in(&asked("/ws/").await);
    upgrade(&server, &format!("ticket={under}"), &[])
        .await
        .expect(101);
    for bad in [
        "/api/rest/me",
        "ws/echo",
        "/ws/../api/rest/me",
        "/ws/%65cho",
        "/ws//echo",
        "/ws/echo/*",
        "/ws/.hidden",
        "/ws/e\u{e9}cho",
        "/ws/a:b",
    ] {
        asked(bad).await.expect(400).error("invalid_request");
    }
}

/// Attack: one signed-in user asked and spent tickets in a loop; each spent ticket is a window
/// of the counter sign-ins share until it would expire, and 100 000 of them filled the memory
/// counter, so every sign-in got 429. A subject now gets at most 100 tickets per `ticket_ttl`.
pub async fn tickets_asked_in_a_loop_are_held_to_a_limit(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let bearer = format!("Bearer {}", tokens.access);
    for i in 0..100 {
        let reply = server
            .post(
                "/api/rest/ticket",
                Body::None,
                &[("authorization", &bearer)],
            )
            .await;
        assert_eq!(reply.status, 201, "ticket {i}");
    }
    let reply = server
        .post(
            "/api/rest/ticket",
            Body::None,
            &[("authorization", &bearer)],
        )
        .await;
    reply.expect(429).error("too_many_attempts");
    let retry: u64 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=30).contains(&retry), "{retry}");
    // Another user is not held to it, and signs in.
    server
        .post(
            "/api/rest/signin",
            Body::Form(&[
                ("login", super::demo::SECOND_USER.0),
                ("password", super::demo::SECOND_USER.1),
            ]),
            &[],
        )
        .await
        .expect(201);
}
