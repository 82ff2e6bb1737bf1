//! Cookie mode: the cookies, CSRF, the origin check, refresh and sign-out by cookie.

use super::{claims_of, demo, header_of, start, Adapter, Body, Reply, SetCookie};

const ACCESS_COOKIE: &str = "__Host-tokengate-access";
const REFRESH_COOKIE: &str = "__Secure-tokengate-refresh";
const CSRF_COOKIE: &str = "__Host-tokengate-csrf";

/// What a browser holds after a cookie sign-in: the `Cookie` header it would send, and the
/// CSRF token the page got.
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

impl Browser {
    pub fn of(reply: &Reply) -> Self {
        let pairs: Vec<String> = reply
            .headers_named("set-cookie")
            .into_iter()
            .map(SetCookie::parse)
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        Self {
            cookie: pairs.join("; "),
            csrf: reply.json()["csrfToken"]
                .as_str()
                .expect("csrfToken")
                .to_owned(),
        }
    }

    /// Headers of a request authenticated by cookie, with or without the CSRF header.
    pub fn headers(&self, with_csrf: bool) -> Vec<(&str, &str)> {
        let mut headers = vec![("cookie", self.cookie.as_str())];
        if with_csrf {
            headers.push(("x-csrf-token", self.csrf.as_str()));
        }
        headers
    }
}

pub async fn cookie_signin(server: &super::Server) -> (Reply, Browser) {
    let reply = server.signin(&[("cookieauth", "true")]).await;
    reply.expect(201);
    let browser = Browser::of(&reply);
    (reply, browser)
}

pub async fn cookie_signin_sets_secure_session_cookies_and_no_tokens_in_the_body(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (reply, _) = cookie_signin(&server).await;
    let body = reply.json();
    assert!(body.get("accessToken").is_none(), "{body}");
    assert!(body.get("refreshToken").is_none(), "{body}");
    assert!(body["csrfToken"].is_string());
    assert_eq!(reply.headers_named("set-cookie").len(), 3);
    let access = reply.set_cookie(ACCESS_COOKIE);
    let refresh = reply.set_cookie(REFRESH_COOKIE);
    let csrf = reply.set_cookie(CSRF_COOKIE);
    assert_eq!(claims_of(&access.value)["sub"], demo::USER.0);
    assert_eq!(header_of(&access.value)["typ"], "at+jwt");
    assert_eq!(header_of(&refresh.value)["typ"], "rt+jwt");
    assert_eq!(csrf.value, body["csrfToken"]);
    for cookie in [&access, &refresh] {
        assert!(cookie.has("HttpOnly"), "{}", cookie.raw);
    }
    assert!(!csrf.has("HttpOnly"), "scripts must read the CSRF cookie");
    for cookie in [&access, &refresh, &csrf] {
        assert!(cookie.has("Secure"), "{}", cookie.raw);
        assert_eq!(cookie.attribute("SameSite"), Some("Lax"), "{}", cookie.raw);
        assert!(cookie.attribute("Max-Age").is_none(), "{}", cookie.raw);
        assert!(cookie.attribute("Expires").is_none(), "{}", cookie.raw);
        assert!(cookie.attribute("Domain").is_none(), "{}", cookie.raw);
    }
    assert_eq!(access.attribute("Path"), Some("/"));
    assert_eq!(csrf.attribute("Path"), Some("/"));
    assert_eq!(refresh.attribute("Path"), Some("/api/rest"));
}

pub async fn cookie_attributes_follow_the_config(adapter: Adapter) {
    let server = start(
        adapter,
        &[
            ("TOKENGATE_COOKIE_SECURE", "false"),
            ("TOKENGATE_COOKIE_SAME_SITE", "strict"),
        ],
    )
    .await;
    let (reply, _) = cookie_signin(&server).await;
    let access = reply.set_cookie("tokengate-access");
    assert!(!access.has("Secure"), "{}", access.raw);
    assert_eq!(access.attribute("SameSite"), Some("Strict"));
    reply.set_cookie("tokengate-refresh");
    reply.set_cookie("tokengate-csrf");
}

pub async fn cookie_authenticates_safe_requests_without_csrf(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, browser) = cookie_signin(&server).await;
    let reply = server.get("/api/rest/me", &browser.headers(false)).await;
    reply.expect(200);
    assert_eq!(reply.json()["sub"], demo::USER.0);
    // The access cookie alone, without the others, is enough for a GET.
    let access = browser
        .cookie
        .split("; ")
        .find(|pair| pair.starts_with(&format!("{ACCESS_COOKIE}=")))
        .expect("the access cookie")
        .to_owned();
    let reply = server.get("/api/rest/ping", &[("cookie", &access)]).await;
    assert_eq!((reply.status, reply.text().as_str()), (200, "pong"));
    // And the others without it are no authentication at all.
    let others: Vec<&str> = browser
        .cookie
        .split("; ")
        .filter(|pair| !pair.starts_with(&format!("{ACCESS_COOKIE}=")))
        .collect();
    let others = others.join("; ");
    server
        .get("/api/rest/ping", &[("cookie", &others)])
        .await
        .expect(401)
        .error("missing_token");
}

pub async fn cookie_unsafe_request_without_csrf_is_403(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, browser) = cookie_signin(&server).await;
    let reply = server
        .post("/api/rest/ping", Body::None, &browser.headers(false))
        .await;
    reply
        .expect(403)
        .error("csrf_rejected")
        .says("X-CSRF-Token");
    assert_eq!(reply.header("www-authenticate"), None);
    let reply = server
        .post("/api/rest/ping", Body::None, &browser.headers(true))
        .await;
    assert_eq!((reply.status, reply.text().as_str()), (200, "pong"));
}

pub async fn csrf_token_of_another_session_is_403(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, mine) = cookie_signin(&server).await;
    let (_, other) = cookie_signin(&server).await;
    let crossed = [
        ("cookie", mine.cookie.as_str()),
        ("x-csrf-token", other.csrf.as_str()),
    ];
    server
        .post("/api/rest/ping", Body::None, &crossed)
        .await
        .expect(403)
        .error("csrf_rejected");
    let garbage = [
        ("cookie", mine.cookie.as_str()),
        ("x-csrf-token", "abc.def"),
    ];
    server
        .post("/api/rest/ping", Body::None, &garbage)
        .await
        .expect(403)
        .error("csrf_rejected");
}

pub async fn cookie_request_from_a_foreign_origin_is_403(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, browser) = cookie_signin(&server).await;
    let mut headers = browser.headers(true);
    headers.push(("origin", "http://evil.example"));
    server
        .post("/api/rest/ping", Body::None, &headers)
        .await
        .expect(403)
        .error("csrf_rejected")
        .says("origin");
    // Its own origin passes.
    let own = server.base.clone();
    let mut headers = browser.headers(true);
    headers.push(("origin", own.as_str()));
    let reply = server.post("/api/rest/ping", Body::None, &headers).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    // A cookie sign-in from another origin is refused too (login CSRF).
    let fields = [
        ("login", demo::USER.0),
        ("password", demo::USER.1),
        ("cookieauth", "true"),
    ];
    let reply = server
        .post(
            "/api/rest/signin",
            Body::Multipart(&fields),
            &[("origin", "http://evil.example")],
        )
        .await;
    reply.expect(403).error("csrf_rejected");
    assert!(reply.headers_named("set-cookie").is_empty());
}

pub async fn bearer_wins_over_cookies_and_needs_no_csrf(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let auth = format!("Bearer {}", tokens.access);
    let stale = format!("{ACCESS_COOKIE}=not-a-token");
    let headers = [("authorization", auth.as_str()), ("cookie", stale.as_str())];
    let reply = server.post("/api/rest/ping", Body::None, &headers).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    // Without the bearer, the bad cookie is what counts.
    server
        .get("/api/rest/me", &[("cookie", stale.as_str())])
        .await
        .invalid_token();
}

pub async fn cookie_refresh_with_csrf_renews_the_cookies(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (first, browser) = cookie_signin(&server).await;
    server
        .post("/api/rest/token", Body::None, &browser.headers(false))
        .await
        .expect(403)
        .error("csrf_rejected");
    let reply = server
        .post("/api/rest/token", Body::None, &browser.headers(true))
        .await;
    reply.expect(201);
    let body = reply.json();
    assert!(body.get("accessToken").is_none(), "{body}");
    for name in [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE] {
        assert_eq!(
            reply.set_cookie(name).attributes,
            first.set_cookie(name).attributes,
            "{name} renewed with other attributes"
        );
    }
    let renewed = reply.set_cookie(ACCESS_COOKIE).value;
    assert_ne!(renewed, first.set_cookie(ACCESS_COOKIE).value);
    assert_eq!(
        reply.set_cookie(REFRESH_COOKIE).value,
        first.set_cookie(REFRESH_COOKIE).value
    );
    let renewed_browser = Browser::of(&reply);
    server
        .post("/api/rest/ping", Body::None, &renewed_browser.headers(true))
        .await
        .expect(200);
}

pub async fn cookie_signout_clears_the_cookies_and_the_cookie_is_refused_after(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (first, browser) = cookie_signin(&server).await;
    server
        .post("/api/rest/signout", Body::None, &browser.headers(false))
        .await
        .expect(403)
        .error("csrf_rejected");
    let reply = server
        .post("/api/rest/signout", Body::None, &browser.headers(true))
        .await;
    reply.expect(200);
    assert_eq!(reply.json()["sessionsEnded"], 1);
    let check_cleared = |reply: &Reply| {
        assert_eq!(reply.headers_named("set-cookie").len(), 3);
        for name in [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE] {
            let cleared = reply.set_cookie(name);
            assert_eq!(cleared.value, "");
            assert_eq!(cleared.attribute("Max-Age"), Some("0"));
            assert_eq!(
                cleared.lasting_attributes(),
                first.set_cookie(name).attributes,
                "{name} deleted with other attributes than it was set with"
            );
        }
    };
    check_cleared(&reply);
    // The signed-out refresh cookie no longer renews anything.
    server
        .post("/api/rest/token", Body::None, &browser.headers(true))
        .await
        .invalid_token();
    // Signing out again, with the session gone, still answers 200 and clears the cookies.
    let again = server
        .post("/api/rest/signout", Body::None, &browser.headers(true))
        .await;
    again.expect(200);
    assert_eq!(again.json()["sessionsEnded"], 0);
    check_cleared(&again);
}
