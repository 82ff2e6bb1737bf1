//! Cookie mode: the cookies, the CSRF tokens and the `Origin` check.
//!
//! Here are the cookie names and attributes (`CookieJar`), the signed double-submit CSRF
//! token bound to the session, and the origin check of unsafe cookie requests. Why each
//! attribute, and how the CSRF defence holds, is in SECURITY.md ("Cookie mode").

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::error::{Error, ErrorKind};
use super::request::RequestHead;
use crate::config::{Config, SameSite};
use crate::jws::mac::MacKey;

/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Whether a method can change state (RFC 9110 §9.2.1: the others are safe).
pub(crate) fn is_unsafe(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// The cookie names and attributes of one gate, and its CSRF key.
pub(crate) struct CookieJar {
    access: &'static str,
    refresh: &'static str,
    csrf: &'static str,
    same_site: cookie::SameSite,
    /// `Secure`: with `cookie_secure`, and always with `SameSite=None`.
    secure_flag: bool,
    refresh_path: String,
    trusted_origins: Vec<String>,
    /// The scheme the browser sees this server under: `https` with `cookie_secure` (behind a
    /// TLS-terminating proxy too), `http` without.
    scheme: &'static str,
    key: MacKey,
}

impl CookieJar {
    /// `root` is the material the CSRF key is derived from when `csrf_secret` is not set.
    pub(crate) fn new(config: &Config, root: &[u8]) -> Self {
        let secure = config.cookies.secure;
        let (access, refresh, csrf) = if secure {
            (
                "__Host-tokengate-access",
                "__Secure-tokengate-refresh",
                "__Host-tokengate-csrf",
            )
        } else {
            ("tokengate-access", "tokengate-refresh", "tokengate-csrf")
        };
        let same_site = match config.cookies.same_site {
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::None => cookie::SameSite::None,
        };
        let secure_flag = secure || config.cookies.same_site == SameSite::None;
        let key = if let Some(secret) = &config.cookies.csrf_secret {
            MacKey::new(secret.expose())
        } else {
            // A key of its own, derived from the signing key: a CSRF token is never a MAC that
            // means anything to the token verifier, nor the other way round.
            MacKey::new(&MacKey::new(root).sign(&[b"tokengate csrf key"]))
        };
        let refresh_path = if config.endpoints.prefix.is_empty() {
            "/".to_owned()
        } else {
            config.endpoints.prefix.clone()
        };
        Self {
            access,
            refresh,
            csrf,
            same_site,
            secure_flag,
            refresh_path,
            trusted_origins: config
                .cookies
                .trusted_origins
                .iter()
                .map(|origin| origin.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            scheme: if secure { "https" } else { "http" },
            key,
        }
    }

    fn cookie<'c>(
        &self,
        name: &'c str,
        value: &'c str,
        path: &'c str,
        http_only: bool,
    ) -> cookie::CookieBuilder<'c> {
        cookie::Cookie::build((name, value))
            .path(path)
            .http_only(http_only)
            .same_site(self.same_site)
            .secure(self.secure_flag)
    }

    /// The names of the access, refresh and CSRF cookies.
    #[cfg_attr(not(feature = "openapi"), allow(dead_code))]
    pub(crate) fn names(&self) -> [&'static str; 3] {
        [self.access, self.refresh, self.csrf]
    }

    /// The three `Set-Cookie` values of a cookie sign-in or refresh.
    pub(crate) fn set(&self, access: &str, refresh: &str, csrf: &str) -> [String; 3] {
        [
            self.cookie(self.access, access, "/", true).to_string(),
            self.cookie(self.refresh, refresh, &self.refresh_path, true)
                .to_string(),
            self.cookie(self.csrf, csrf, "/", false).to_string(),
        ]
    }

    /// The three `Set-Cookie` values that delete the cookies: the same attributes, `Max-Age=0`.
    pub(crate) fn clear(&self) -> [String; 3] {
        let gone = time::Duration::ZERO;
        [
            self.cookie(self.access, "", "/", true)
                .max_age(gone)
                .to_string(),
            self.cookie(self.refresh, "", &self.refresh_path, true)
                .max_age(gone)
                .to_string(),
            self.cookie(self.csrf, "", "/", false)
                .max_age(gone)
                .to_string(),
        ]
    }

    /// The name of the cookie that binds a provider sign-in to the browser that started it.
    #[cfg_attr(not(feature = "federation"), allow(dead_code))]
    fn provider_state_name(&self) -> &'static str {
        if self.secure_flag {
            "__Host-tokengate-oidc"
        } else {
            "tokengate-oidc"
        }
    }

    /// The `Set-Cookie` value binding a provider sign-in's `state` to this browser for
    /// `max_age` seconds: signed, `HttpOnly`, and `SameSite=Lax` whatever `cookie_same_site`
    /// says, since it must come back on the provider's redirect (a top-level `GET` from
    /// another site).
    #[cfg_attr(not(feature = "federation"), allow(dead_code))]
    pub(crate) fn provider_state(&self, state: &str, max_age: i64) -> String {
        let mac = URL_SAFE_NO_PAD.encode(self.key.sign(&[b"oidc state\0", state.as_bytes()]));
        let value = format!("{state}.{mac}");
        cookie::Cookie::build((self.provider_state_name(), value.as_str()))
            .path("/")
            .http_only(true)
            .same_site(cookie::SameSite::Lax)
            .secure(self.secure_flag)
            .max_age(time::Duration::seconds(max_age))
            .to_string()
    }

    /// The `Set-Cookie` value that deletes the provider sign-in's cookie.
    #[cfg_attr(not(feature = "federation"), allow(dead_code))]
    pub(crate) fn provider_state_cleared(&self) -> String {
        cookie::Cookie::build((self.provider_state_name(), ""))
            .path("/")
            .http_only(true)
            .same_site(cookie::SameSite::Lax)
            .secure(self.secure_flag)
            .max_age(time::Duration::ZERO)
            .to_string()
    }

    /// The provider sign-in state this browser holds, if its cookie is one this gate signed.
    #[cfg_attr(not(feature = "federation"), allow(dead_code))]
    pub(crate) fn provider_state_of<'a, R: RequestHead + ?Sized>(
        &self,
        head: &'a R,
    ) -> Option<&'a str> {
        let (state, mac) = head.cookie(self.provider_state_name())?.split_once('.')?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        self.key
            .verify(&[b"oidc state\0", state.as_bytes()], &mac)
            .then_some(state)
    }

    /// The access token of the access cookie.
    pub(crate) fn access<'a, R: RequestHead + ?Sized>(&self, head: &'a R) -> Option<&'a str> {
        head.cookie(self.access)
    }

    /// The refresh token of the refresh cookie.
    pub(crate) fn refresh<'a, R: RequestHead + ?Sized>(&self, head: &'a R) -> Option<&'a str> {
        head.cookie(self.refresh)
    }

    /// A fresh CSRF token bound to session `sid`.
    pub(crate) fn csrf_token(&self, sid: &str) -> Result<String, getrandom::Error> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce)?;
        let nonce = URL_SAFE_NO_PAD.encode(nonce);
        let mac = URL_SAFE_NO_PAD.encode(self.mac(sid, &nonce));
        Ok(format!("{nonce}.{mac}"))
    }

    fn mac(&self, sid: &str, nonce: &str) -> [u8; 32] {
        self.key.sign(&[sid.as_bytes(), b"\0", nonce.as_bytes()])
    }

    /// The CSRF defences of an unsafe, cookie-authenticated request of session `sid`: the
    /// `Origin` check, then a token in `X-CSRF-Token` that was made for this session.
    pub(crate) fn check<R: RequestHead + ?Sized>(&self, head: &R, sid: &str) -> Result<(), Error> {
        self.check_origin(head)?;
        let token = head
            .header(CSRF_HEADER)
            .ok_or(Error::new(ErrorKind::CsrfRejected(
                "this cookie-authenticated request needs the X-CSRF-Token header",
            )))?;
        let mismatch = || {
            Error::new(ErrorKind::CsrfRejected(
                "the X-CSRF-Token header does not belong to this session",
            ))
        };
        let token = std::str::from_utf8(token).map_err(|_| mismatch())?.trim();
        let (nonce, mac) = token.split_once('.').ok_or_else(mismatch)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| mismatch())?;
        // Constant-time comparison of the tag.
        if self
            .key
            .verify(&[sid.as_bytes(), b"\0", nonce.as_bytes()], &mac)
        {
            Ok(())
        } else {
            Err(mismatch())
        }
    }

    /// Refuses a request from a foreign origin: its `Origin`, or when there is none its
    /// `Referer`, must name this server — the same scheme (`https` with `cookie_secure`, else
    /// `http`), host and port as its `Host` — or one of `trusted_origins`. A request with
    /// neither passes: browsers send `Origin` with every cross-origin unsafe request, and other
    /// clients carry no cookies they did not get themselves.
    pub(crate) fn check_origin<R: RequestHead + ?Sized>(&self, head: &R) -> Result<(), Error> {
        let foreign = || {
            Error::new(ErrorKind::CsrfRejected(
                "requests from another origin are refused",
            ))
        };
        let origin = match (head.header("origin"), head.header("referer")) {
            (Some(origin), _) => std::str::from_utf8(origin)
                .map_err(|_| foreign())?
                .trim()
                .to_ascii_lowercase(),
            (None, Some(referer)) => {
                let referer = std::str::from_utf8(referer).map_err(|_| foreign())?.trim();
                origin_of_url(referer).ok_or_else(foreign)?
            }
            (None, None) => return Ok(()),
        };
        if self.trusted_origins.contains(&origin) {
            return Ok(());
        }
        let (scheme, authority) = origin.split_once("://").ok_or_else(foreign)?;
        let host = head
            .header("host")
            .and_then(|host| std::str::from_utf8(host).ok())
            .ok_or_else(foreign)?;
        let host = host.trim();
        // Browsers send `Secure` cookies to loopback over plain http too (a development
        // server), so there a secure-cookie server is also its own origin under `http`.
        let scheme_fits = scheme == self.scheme
            || (scheme == "http" && self.scheme == "https" && is_loopback(host));
        if scheme_fits && same_authority(authority, host, scheme) {
            Ok(())
        } else {
            Err(foreign())
        }
    }
}

/// `scheme://authority` of an absolute http(s) URL, lower case; `None` for anything else.
fn origin_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    // Credentials in a URL are no part of its origin, and no browser sends them.
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// Whether `host[:port]` names this machine: `localhost`, 127.0.0.0/8 or `[::1]`.
fn is_loopback(authority: &str) -> bool {
    let host = match authority.rfind(']') {
        Some(end) => &authority[..=end],
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether two `host[:port]` are the same, a missing port being the scheme's default.
fn same_authority(a: &str, b: &str, scheme: &str) -> bool {
    let default = if scheme == "https" { "443" } else { "80" };
    let split = |authority: &str| -> (String, String) {
        let authority = authority.to_ascii_lowercase();
        // An IPv6 literal keeps its colons inside brackets.
        let port_at = match authority.rfind(']') {
            Some(end) => authority[end..].find(':').map(|i| end + i),
            None => authority.rfind(':'),
        };
        match port_at {
            Some(i) => (authority[..i].to_owned(), authority[i + 1..].to_owned()),
            None => (authority, default.to_owned()),
        }
    };
    split(a) == split(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::find_cookie;

    struct Head(Vec<(&'static str, String)>);

    impl RequestHead for Head {
        fn method(&self) -> &'static str {
            "POST"
        }
        fn path(&self) -> &'static str {
            "/x"
        }
        fn header(&self, name: &str) -> Option<&[u8]> {
            self.0
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.as_bytes())
        }
    }

    fn jar(secure: bool) -> CookieJar {
        let mut config = Config::default().with_cookie_secure(secure);
        config.cookies.trusted_origins = vec!["https://app.example.org".to_owned()];
        CookieJar::new(&config, b"a-test-only-secret-of-32-bytes-or-more")
    }

    #[test]
    fn cookies_carry_every_attribute_and_no_lifetime() {
        let [access, refresh, csrf] = jar(true).set("A", "R", "C");
        assert_eq!(
            access,
            "__Host-tokengate-access=A; HttpOnly; SameSite=Lax; Secure; Path=/"
        );
        assert_eq!(
            refresh,
            "__Secure-tokengate-refresh=R; HttpOnly; SameSite=Lax; Secure; Path=/api/rest"
        );
        assert_eq!(
            csrf,
            "__Host-tokengate-csrf=C; SameSite=Lax; Secure; Path=/"
        );
        let [access, ..] = jar(false).set("A", "R", "C");
        assert_eq!(access, "tokengate-access=A; HttpOnly; SameSite=Lax; Path=/");
    }

    #[test]
    fn clearing_repeats_the_attributes_with_max_age_zero() {
        let jar = jar(true);
        for (set, clear) in jar.set("", "", "").iter().zip(jar.clear()) {
            assert_eq!(clear, format!("{set}; Max-Age=0"));
        }
    }

    #[test]
    fn csrf_token_is_bound_to_its_session() {
        let jar = jar(true);
        let token = jar.csrf_token("session-1").unwrap();
        let with = |token: &str| Head(vec![(CSRF_HEADER, token.to_owned())]);
        assert!(jar.check(&with(&token), "session-1").is_ok());
        assert!(jar.check(&with(&token), "session-2").is_err());
        assert!(jar.check(&Head(vec![]), "session-1").is_err());
        let (nonce, _) = token.split_once('.').unwrap();
        assert!(jar
            .check(&with(&format!("{nonce}.AAAA")), "session-1")
            .is_err());
        assert!(jar.check(&with("no-dot"), "session-1").is_err());
    }

    #[test]
    fn origin_must_be_the_host_or_trusted() {
        let jar = jar(true);
        let head = |origin: &str| {
            Head(vec![
                ("host", "api.example.org".to_owned()),
                ("origin", origin.to_owned()),
            ])
        };
        assert!(jar.check_origin(&head("https://api.example.org")).is_ok());
        assert!(jar
            .check_origin(&head("https://api.example.org:443"))
            .is_ok());
        assert!(jar.check_origin(&head("https://APP.example.org")).is_ok());
        assert!(jar.check_origin(&head("https://evil.example")).is_err());
        assert!(jar.check_origin(&head("null")).is_err());
        assert!(jar
            .check_origin(&Head(vec![("host", "a".to_owned())]))
            .is_ok());
    }

    #[test]
    fn origin_must_match_scheme_and_port_too() {
        let head = |host: &str, origin: &str| {
            Head(vec![
                ("host", host.to_owned()),
                ("origin", origin.to_owned()),
            ])
        };
        // A secure-cookie server is https to the browser: plain http is another origin.
        let secure = jar(true);
        assert!(secure
            .check_origin(&head("api.example.org", "http://api.example.org"))
            .is_err());
        assert!(secure
            .check_origin(&head("api.example.org", "https://api.example.org:8443"))
            .is_err());
        // ...except on loopback, where browsers send secure cookies over http as well.
        assert!(secure
            .check_origin(&head("127.0.0.1:8080", "http://127.0.0.1:8080"))
            .is_ok());
        assert!(secure
            .check_origin(&head("localhost:8080", "http://localhost:8080"))
            .is_ok());
        assert!(secure
            .check_origin(&head("127.0.0.1:8080", "http://127.0.0.1:9999"))
            .is_err());
        // A plain-http development server is http: https is another origin.
        let plain = jar(false);
        assert!(plain
            .check_origin(&head("127.0.0.1:8080", "http://127.0.0.1:8080"))
            .is_ok());
        assert!(plain
            .check_origin(&head("127.0.0.1:8080", "https://127.0.0.1:8080"))
            .is_err());
        assert!(plain
            .check_origin(&head("127.0.0.1:8080", "http://127.0.0.1:9090"))
            .is_err());
        assert!(plain
            .check_origin(&head("localhost", "http://localhost:80"))
            .is_ok());
        assert!(plain
            .check_origin(&head("[::1]:8080", "http://[::1]:8080"))
            .is_ok());
        assert!(plain
            .check_origin(&head("[::1]:8080", "http://[::1]:8081"))
            .is_err());
    }

    #[test]
    fn referer_is_checked_when_origin_is_absent() {
        let jar = jar(true);
        let head = |referer: &str| {
            Head(vec![
                ("host", "api.example.org".to_owned()),
                ("referer", referer.to_owned()),
            ])
        };
        assert!(jar
            .check_origin(&head("https://api.example.org/app/page?x=1"))
            .is_ok());
        assert!(jar
            .check_origin(&head("https://evil.example/attack"))
            .is_err());
        assert!(jar.check_origin(&head("http://api.example.org/")).is_err());
        assert!(jar
            .check_origin(&head("https://user@api.example.org/"))
            .is_err());
        assert!(jar.check_origin(&head("not a url")).is_err());
        // Origin wins when both are there.
        let both = Head(vec![
            ("host", "api.example.org".to_owned()),
            ("origin", "https://api.example.org".to_owned()),
            ("referer", "https://evil.example/".to_owned()),
        ]);
        assert!(jar.check_origin(&both).is_ok());
    }

    #[test]
    fn cookies_are_found_among_others() {
        assert_eq!(find_cookie(b"x=1;y=\"2\" ; z=3", "y"), Some("2"));
        assert_eq!(find_cookie(b"x=1; y=", "y"), None);
        assert_eq!(find_cookie(&[0xff, b'='], "y"), None);
    }
}
