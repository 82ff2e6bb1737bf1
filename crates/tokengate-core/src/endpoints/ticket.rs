//! `POST {prefix}/ticket`: a connection ticket for a WebSocket, where a browser cannot send an
//! `Authorization` header with the upgrade.
//!
//! The ticket is a token of its own type (`typ: ticket+jwt`, so it is never taken for an access
//! token, nor one for it) carrying only what a socket route needs of the access token that
//! asked for it (its issuer, audience, subject, session, application, `roles` and `scope`; no
//! other claim travels in a URL), a new `jti`, and an `exp` of `ticket_ttl` from now (no later
//! than the access token's). With the optional field `path`, the ticket opens only sockets at
//! that path or under it (`/ws/chat` opens `/ws/chat` and `/ws/chat/room`, not `/ws/admin`).
//! The guard reads it only from the query of an upgrade to one of the `websocket_paths`, spends
//! its `jti` in the shared attempt counter in one atomic step (a second upgrade with it is
//! refused, on any instance that shares the counter), and checks that its session is live.

use serde_json::{Map, Value};

use super::fields::non_empty;
use super::internal;
use crate::clock::unix_now;
use crate::gate::TokenGate;
use crate::http::error::{Error, ErrorKind};
use crate::http::form::Fields;
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::{random_id, sign, TokenKind};

/// Answers `POST {prefix}/ticket`: 201 with the ticket and its seconds left.
pub(super) async fn ticket<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Response, Error> {
    let path = non_empty(fields, "path")?
        .map(|path| socket_path(gate, path))
        .transpose()?;
    let verified = gate.authenticate(head).await?;
    let now = unix_now();
    let ttl = i64::try_from(gate.config().endpoints.ticket_ttl.as_secs()).unwrap_or(30);
    let claims = verified.claims();
    asked_within_limit(gate, claims.app.as_deref(), &claims.sub, ttl, now).await?;
    let exp = verified
        .claims()
        .exp
        .map_or(now + ttl, |access| access.min(now + ttl));
    let access: Map<String, Value> =
        serde_json::from_slice(verified.payload()).map_err(internal)?;
    let mut payload: Map<String, Value> = access
        .into_iter()
        .filter(|(name, _)| CARRIED.contains(&name.as_str()))
        .collect();
    if let Some(path) = path {
        payload.insert(PATH_CLAIM.to_owned(), path.into());
    }
    payload.insert("iat".to_owned(), now.into());
    payload.insert("exp".to_owned(), exp.into());
    payload.insert("jti".to_owned(), random_id().map_err(internal)?.into());
    let ticket = sign(gate.keys(), TokenKind::Ticket, &payload).map_err(internal)?;
    Ok(Response::json(
        201,
        &serde_json::json!({ "ticket": ticket, "expiresIn": (exp - now).max(1) }),
    ))
}

/// The most tickets one subject is given in one `ticket_ttl`: each spent ticket is a window of
/// the shared counter until it would have expired, so the subject's windows stay bounded and
/// one user opening sockets in a loop cannot fill the counter sign-ins share.
const TICKETS_PER_TTL: u32 = 100;

/// Counts a ticket asked by `subject` (a user's, or an `application`'s key: a user and a key
/// spelled alike are two subjects); 429 with `Retry-After` past [`TICKETS_PER_TTL`].
async fn asked_within_limit(
    gate: &TokenGate,
    application: Option<&str>,
    subject: &str,
    ttl: i64,
    now: i64,
) -> Result<(), Error> {
    use crate::throttle::Reservation;
    let kind: &[u8] = if application.is_some() {
        b"key"
    } else {
        b"user"
    };
    let tag = crate::jws::mac::MacKey::new(b"tokengate tickets").sign(&[
        kind,
        b"\0",
        application.unwrap_or("").as_bytes(),
        b"\0",
        subject.as_bytes(),
    ]);
    let key = format!(
        "tickets:{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &tag[..18]
        )
    );
    let window = u64::try_from(ttl).unwrap_or(30).max(1);
    match gate
        .failures()
        .reserve(&key, TICKETS_PER_TTL, window, now)
        .await
    {
        Ok(Reservation::Granted(_)) => Ok(()),
        Ok(refused @ Reservation::Refused(_)) => Err(Error::new(ErrorKind::TooManyAttempts {
            retry_after: refused.retry_after(now).unwrap_or(1),
        })),
        Err(error) => {
            tracing::warn!(target: "tokengate", %error, "attempt counter failed: no WebSocket ticket can be given");
            Err(Error::new(ErrorKind::Unavailable("attempt counter")))
        }
    }
}

/// The claims of the access token a ticket carries: what the guard and a socket route's
/// requirements read.
const CARRIED: [&str; 10] = [
    "iss",
    "aud",
    "sub",
    "sid",
    "app",
    "roles",
    "scope",
    "amr",
    "acr",
    "auth_time",
];

/// The claim of the path a ticket is bound to.
const PATH_CLAIM: &str = "wsp";

/// `path` when a ticket may be bound to it: one of the exact `websocket_paths`, or a plain
/// absolute path under one of their prefixes (segments of unreserved characters, none starting
/// with a dot, an empty one only at the end). The OpenAPI pattern of `path` says the same.
fn socket_path(gate: &TokenGate, path: &str) -> Result<String, Error> {
    let listed = &gate.config().guard.websocket_paths;
    if listed
        .iter()
        .any(|exact| !exact.ends_with('*') && exact == path)
    {
        return Ok(path.to_owned());
    }
    let covered = listed
        .iter()
        .filter_map(|listed| listed.strip_suffix('*'))
        .any(|prefix| under(prefix, path));
    if !covered {
        return Err(Error::new(ErrorKind::InvalidField {
            field: "path",
            reason: "must be one of the WebSocket paths, or a plain path under one that ends \
                     with `*`: segments of letters, digits, `-`, `.`, `_` and `~`, none starting \
                     with a dot, no empty one but the last"
                .to_owned(),
        }));
    }
    Ok(path.to_owned())
}

/// Whether `path` is a plain path under the listed `prefix` (the part before its `*`, as the
/// operator wrote it): with a prefix ending in `/` (`/ws/`), the prefix without it, or what
/// follows as plain segments; with another (`/live`), what follows as the rest of the last
/// segment, then plain segments.
fn under(prefix: &str, path: &str) -> bool {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~');
    // Plain segments, the last of which (only) may be empty: a trailing `/`.
    let segments = |rest: &str| {
        let count = rest.split('/').count();
        rest.split('/')
            .enumerate()
            .all(|(at, segment)| match segment.chars().next() {
                None => at + 1 == count,
                Some(first) => first != '.' && segment.chars().all(unreserved),
            })
    };
    if let Some(base) = prefix.strip_suffix('/') {
        if !base.is_empty() && path == base {
            return true;
        }
        return path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || segments(rest));
    }
    path.strip_prefix(prefix)
        .is_some_and(|rest| match rest.split_once('/') {
            None => rest.chars().all(unreserved),
            Some((first, more)) => first.chars().all(unreserved) && segments(more),
        })
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "openapi")]
    use proptest::prelude::*;

    use super::socket_path;
    use crate::credentials::MemoryDirectory;
    use crate::gate::TokenGate;
    #[cfg(feature = "openapi")]
    use crate::openapi::socket_paths;
    use crate::Config;

    const LISTED: [&str; 3] = ["/ws/*", "/live*", "/chat/room"];

    /// Prefixes of the odd kinds: everything, one under a dot segment, one ending in a dot.
    const ODD: [&str; 3] = ["/*", "/.well-known/ws/*", "/v1.*"];

    fn gate() -> TokenGate {
        gate_over(&LISTED)
    }

    fn gate_over(listed: &[&str]) -> TokenGate {
        let config = Config::default()
            .with_secret("a-test-only-secret-of-32-bytes-or-more")
            .with_websocket_paths(listed.iter().copied());
        TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[cfg(feature = "openapi")]
    proptest! {
        /// The pattern the OpenAPI document gives `path` is the rule `/ticket` applies: a
        /// client generated from the document never sends a path the server refuses, nor one
        /// it accepts against the document.
        #[test]
        fn the_documented_pattern_is_the_rule(
            path in "/(ws|live|chat|room)?[a-z0-9._~*:%/-]{0,8}(/[.a-z]{0,3})?"
        ) {
            let gate = gate();
            let pattern = regex::Regex::new(&socket_paths(&LISTED.map(String::from)))
                .unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(
                socket_path(&gate, &path).is_ok(),
                pattern.is_match(&path),
                "{}", path
            );
        }

        /// Found in review: with a prefix under a dot segment the rule refused what the
        /// pattern allowed, and with `/*` the pattern allowed an empty path.
        #[test]
        fn the_documented_pattern_is_the_rule_for_odd_prefixes(
            path in "(/(\\.well-known|v1|ws)?)?[a-z0-9._~*:%/-]{0,8}(/[.a-z]{0,3})?"
        ) {
            let gate = gate_over(&ODD);
            let pattern = regex::Regex::new(&socket_paths(&ODD.map(String::from)))
                .unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(
                socket_path(&gate, &path).is_ok(),
                pattern.is_match(&path),
                "{}", path
            );
        }
    }

    #[test]
    fn plain_paths_under_a_prefix_or_listed_exactly_bind() {
        let gate = gate();
        for good in [
            "/ws/",
            "/ws",
            "/ws/a/b/",
            "/ws/a.b~c",
            "/live",
            "/lively/x",
            "/chat/room",
        ] {
            assert!(socket_path(&gate, good).is_ok(), "{good}");
        }
        for bad in [
            "/ws/*",
            "/ws//a",
            "/ws/.a",
            "/ws/a:b",
            "/ws/%61",
            "/chat/room/",
            "ws/a",
        ] {
            assert!(socket_path(&gate, bad).is_err(), "{bad}");
        }
        let odd = gate_over(&ODD);
        for good in [
            "/",
            "/a/b",
            "/.well-known/ws/x",
            "/v1.2/x",
            "/.well-known/ws",
        ] {
            assert!(socket_path(&odd, good).is_ok(), "{good}");
        }
        for bad in ["", "/.x", "/.well-known/ws/.x", "//"] {
            assert!(socket_path(&odd, bad).is_err(), "{bad}");
        }
    }
}
