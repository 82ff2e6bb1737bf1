//! The guard: what becomes of a request that is not an endpoint, and the checks of an access
//! token wherever one is presented.

use super::TokenGate;
use crate::clock::unix_now;
use crate::config::GuardMode;
use crate::federation::issuers::ForeignRefusal;
use crate::http::cookies::is_unsafe;
use crate::http::error::{Error, ErrorKind};
use crate::http::request::{bearer, RequestHead};
use crate::http::response::{shaped_for, Response};
use crate::jws::{verify, Expectations, TokenError, TokenKind, VerifiedToken};
use crate::telemetry::GUARD_REFUSALS;
use crate::throttle::Reservation;

use super::Endpoint;

/// Why the guard refused, as the metrics say it: one of a few fixed words.
fn refusal_reason(error: &Error) -> &'static str {
    match error.kind() {
        ErrorKind::MissingToken => "missing_token",
        ErrorKind::InvalidToken(reason) => match reason {
            TokenError::Malformed => "malformed",
            TokenError::BadHeader => "bad_header",
            TokenError::WrongType => "wrong_type",
            TokenError::BadSignature => "bad_signature",
            TokenError::BadClaims => "bad_claims",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::WrongAudienceOrIssuer => "wrong_issuer",
            TokenError::Revoked => "revoked",
            TokenError::Used => "ticket_used",
            TokenError::OtherPath => "ticket_other_path",
        },
        ErrorKind::InsufficientScope(_) => "insufficient_scope",
        ErrorKind::InsufficientUserAuthentication { .. } => "insufficient_user_authentication",
        ErrorKind::CsrfRejected(_) => "csrf_rejected",
        ErrorKind::Unavailable(_) => "unavailable",
        _ => "other",
    }
}

/// What an adapter does with a request, as decided by [`TokenGate::route`].
#[derive(Debug)]
pub enum Route {
    /// Answer it with [`TokenGate::serve`]: it is one of the gate's endpoints.
    Endpoint(Endpoint),
    /// Let it through to the app with this in its extensions, for the `Claims` extractors.
    Pass(Guarded),
    /// Answer it at once with this response (no token, or an invalid one).
    Refuse(Response),
    /// Ask [`TokenGate::confirm`], then pass or refuse as it says: whether the token's
    /// session is still live (strict revocation), whether a WebSocket ticket is still unused,
    /// or whether a token of another issuer holds (its keys may have to be fetched).
    Check(PendingCheck),
}

/// A valid token whose session strict revocation must still look up in the store, a
/// WebSocket ticket still to be spent, or a token of another issuer still to be checked with
/// its keys; see [`Route::Check`] and [`TokenGate::confirm`].
#[derive(Debug)]
pub struct PendingCheck {
    pending: Pending,
    /// Whether the route needs a token: if not, an ended session or a store that cannot say
    /// make the request anonymous rather than refused.
    required: bool,
}

enum Pending {
    /// A token of this gate's, whose session must be live.
    Session(VerifiedToken),
    /// A WebSocket ticket, to spend before its session is looked up.
    Ticket(VerifiedToken),
    /// A token naming one of the other issuers: checked with that issuer's keys alone.
    Foreign(Box<str>),
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Session(verified) => f.debug_tuple("Session").field(verified).finish(),
            Self::Ticket(verified) => f.debug_tuple("Ticket").field(verified).finish(),
            // A bearer token: never shown.
            Self::Foreign(_) => f.write_str("Foreign(<token>)"),
        }
    }
}

/// What the guard leaves in the extensions of a request it lets through. Cloning it is two
/// reference counts.
#[derive(Debug, Clone)]
pub struct Guarded {
    gate: TokenGate,
    verified: Option<VerifiedToken>,
}

impl Guarded {
    pub(crate) fn new(gate: TokenGate, verified: Option<VerifiedToken>) -> Self {
        Self { gate, verified }
    }

    /// The verified access token, when the request carried a valid one.
    pub fn verified(&self) -> Option<&VerifiedToken> {
        self.verified.as_ref()
    }

    /// The gate that let the request through.
    pub fn gate(&self) -> &TokenGate {
        &self.gate
    }
}

impl TokenGate {
    /// Decides what becomes of a request: an endpoint to serve, a request to pass on, or an
    /// answer to give at once. This is all an adapter's middleware asks before acting.
    pub fn route<R: RequestHead + ?Sized>(&self, head: &R) -> Route {
        if let Some(endpoint) = self.endpoint(head.path()) {
            return Route::Endpoint(endpoint);
        }
        let required = self.requires_token(head.path());
        // One test of an empty list where no WebSocket path is configured.
        if !self.config().guard.websocket_paths.is_empty() && self.is_websocket(head.path()) {
            return self.route_websocket(head, required);
        }
        let checked = self.check_token(head, required, true);
        if !matches!(checked, Ok(Some(_))) {
            if let Some(pending) = self.foreign(head, required) {
                return Route::Check(pending);
            }
        }
        self.pass(checked, required, head)
    }

    /// A token that is not this gate's but names one of the other issuers: it is checked
    /// with that issuer's keys in [`TokenGate::confirm`]. Only a bearer header is read: the
    /// access cookie is this gate's own.
    fn foreign<R: RequestHead + ?Sized>(&self, head: &R, required: bool) -> Option<PendingCheck> {
        let issuers = self.issuers()?;
        let token = bearer(head, self.config().guard.accept_authentication_header)?;
        issuers.names(token).then(|| PendingCheck {
            pending: Pending::Foreign(token.into()),
            required,
        })
    }

    /// What becomes of a request whose token was checked: passed (after strict revocation,
    /// where it applies) or refused.
    fn pass<R: RequestHead + ?Sized>(
        &self,
        checked: Result<Option<VerifiedToken>, Error>,
        required: bool,
        head: &R,
    ) -> Route {
        match checked {
            // A session still waiting for its second factor reaches only what accepts `aal1`.
            Ok(Some(verified))
                if verified.mfa_pending()
                    && !matches_any(&self.config().mfa.aal1_paths, head.path()) =>
            {
                if required {
                    Route::Refuse(self.refusal(&Error::new(second_factor()), head))
                } else {
                    Route::Pass(Guarded::new(self.clone(), None))
                }
            }
            Ok(Some(verified)) if self.config().guard.strict_revocation => {
                match self.known_liveness(&verified.claims().sid) {
                    Some(true) => Route::Pass(Guarded::new(self.clone(), Some(verified))),
                    Some(false) if required => Route::Refuse(
                        self.refusal(&Error::invalid_token(TokenError::Revoked), head),
                    ),
                    // Where no token is needed, an ended session is no session: anonymous.
                    Some(false) => Route::Pass(Guarded::new(self.clone(), None)),
                    None => Route::Check(PendingCheck {
                        pending: Pending::Session(verified),
                        required,
                    }),
                }
            }
            Ok(verified) => Route::Pass(Guarded::new(self.clone(), verified)),
            Err(error) => Route::Refuse(self.refusal(&error, head)),
        }
    }

    /// The answer to a refused request, shaped for it: the gate's error response (with the
    /// app's hook), as gRPC status headers for a gRPC call. Every refusal of the guard, of
    /// [`TokenGate::confirm`] and of a requirement goes through here, so no adapter shapes.
    pub(crate) fn refusal<R: RequestHead + ?Sized>(&self, error: &Error, head: &R) -> Response {
        crate::telemetry::counter(GUARD_REFUSALS, "reason", refusal_reason(error));
        shaped_for(self.error_response_to(error, head), head)
    }

    /// A request to a WebSocket path. An upgrade with `?ticket=` is let in by its ticket alone,
    /// once its use is recorded and its session found live ([`TokenGate::confirm`]). Without a
    /// ticket, a bearer header is checked as on any route, but never the access cookie: a page
    /// of any other site can open a socket to this one, and the browser would send it the
    /// cookie (cross-site WebSocket hijacking).
    fn route_websocket<R: RequestHead + ?Sized>(&self, head: &R, required: bool) -> Route {
        let Some(ticket) = ticket_of(head) else {
            let checked = self.check_token(head, required, false);
            if !matches!(checked, Ok(Some(_))) {
                if let Some(pending) = self.foreign(head, required) {
                    return Route::Check(pending);
                }
            }
            return self.pass(checked, required, head);
        };
        let now = unix_now();
        // A ticket ends at its `expiresIn`: no leeway (it was issued a moment ago, by a clock
        // of ours, and lives seconds).
        let tokens = &self.config().tokens;
        let expect = Expectations::new(&tokens.issuer, tokens.audience.as_deref(), 0, now, false);
        let verified = verify(self.keys(), ticket, TokenKind::Ticket, &expect)
            .and_then(|verified| bound_here(verified, head.path()));
        match verified {
            Ok(verified) => Route::Check(PendingCheck {
                pending: Pending::Ticket(verified),
                required,
            }),
            Err(_) if !required => Route::Pass(Guarded::new(self.clone(), None)),
            Err(error) => Route::Refuse(self.refusal(&Error::invalid_token(error), head)),
        }
    }

    /// Whether `path` is one of the WebSocket paths.
    fn is_websocket(&self, path: &str) -> bool {
        matches_any(&self.config().guard.websocket_paths, path)
    }

    /// Strict revocation: whether the token's session is live, from the store, remembered for
    /// `revocation_cache_ttl`. `Err` is the answer to give where the route needs a token: 401
    /// for an ended session, 503 when the store cannot say (a strict guard does not let
    /// unknown sessions through). Where it does not, both make the request anonymous.
    ///
    /// A WebSocket ticket is spent here first, in one atomic step of the shared attempt
    /// counter: of any number of upgrades with one ticket, on any instance sharing the counter,
    /// one gets through; the others are refused (401, `the ticket was used already`).
    ///
    /// A token of another issuer is checked with that issuer's keys, fetched if need be (a
    /// request waits for them at most `issuer_keys_wait`, then is answered 503); it has no
    /// session here, so strict revocation does not apply to it.
    pub async fn confirm<R: RequestHead + ?Sized>(
        &self,
        pending: PendingCheck,
        head: &R,
    ) -> Result<Guarded, Response> {
        let PendingCheck { pending, required } = pending;
        let (verified, ticket) = match pending {
            Pending::Session(verified) => (verified, false),
            Pending::Ticket(verified) => (verified, true),
            Pending::Foreign(token) => return self.confirm_foreign(&token, required, head).await,
        };
        let claims = verified.claims();
        let live = if ticket {
            match self.spend_ticket(&verified).await {
                Ok(()) => self.session_is_live(&claims.sub, &claims.sid).await,
                Err(error) => Err(error),
            }
        } else {
            self.session_is_live(&claims.sub, &claims.sid).await
        };
        match live {
            Ok(true) => Ok(Guarded::new(self.clone(), Some(verified))),
            Ok(false) | Err(_) if !required => Ok(Guarded::new(self.clone(), None)),
            Ok(false) => Err(self.refusal(&Error::invalid_token(TokenError::Revoked), head)),
            Err(error) => Err(self.refusal(&error, head)),
        }
    }

    /// A token of another issuer: checked with that issuer's keys and policy.
    async fn confirm_foreign<R: RequestHead + ?Sized>(
        &self,
        token: &str,
        required: bool,
        head: &R,
    ) -> Result<Guarded, Response> {
        let checked = match self.issuers() {
            Some(issuers) => issuers.verify(token).await,
            None => None,
        };
        let refused = match checked {
            Some(Ok(foreign)) => {
                let leeway = i64::try_from(self.config().tokens.leeway.as_secs()).unwrap_or(0);
                return Ok(Guarded::new(
                    self.clone(),
                    Some(foreign.into_verified(leeway)),
                ));
            }
            Some(Err(ForeignRefusal::Unavailable)) => {
                Error::new(ErrorKind::Unavailable("key set of the issuer"))
            }
            Some(Err(ForeignRefusal::Invalid(why))) => {
                tracing::debug!(target: "tokengate", reason = %why, "a token of another issuer was refused");
                Error::invalid_token(why.token_error())
            }
            None => Error::invalid_token(TokenError::WrongAudienceOrIssuer),
        };
        if required {
            Err(self.refusal(&refused, head))
        } else {
            Ok(Guarded::new(self.clone(), None))
        }
    }

    /// Records the one use of a ticket: its `jti`, counted once in a window as long as the
    /// ticket can live. A ticket counted already is refused.
    async fn spend_ticket(&self, verified: &VerifiedToken) -> Result<(), Error> {
        let now = unix_now();
        let claims = verified.claims();
        let window = u64::try_from(verified.valid_until().saturating_sub(now))
            .unwrap_or(0)
            .saturating_add(1);
        let key = format!("ticket:{}", claims.jti);
        match self.failures().reserve(&key, 1, window, now).await {
            Ok(Reservation::Granted(_)) => Ok(()),
            Ok(Reservation::Refused(_)) => Err(Error::invalid_token(TokenError::Used)),
            Err(error) => {
                tracing::warn!(target: "tokengate", %error, "attempt counter failed: a WebSocket ticket cannot be spent");
                Err(Error::new(ErrorKind::Unavailable("attempt counter")))
            }
        }
    }

    /// Verifies an access token (or finds it in the verified-token cache).
    ///
    /// The access token of a session still waiting for its second factor is refused here
    /// (401 `insufficient_user_authentication`): it opens only the gate's second-factor
    /// endpoints and the `mfa_aal1_paths`, which the guard itself decides.
    pub fn verify_access(&self, token: &str) -> Result<VerifiedToken, Error> {
        let verified = self.verify_any_access(token)?;
        if verified.mfa_pending() {
            return Err(Error::new(second_factor()));
        }
        Ok(verified)
    }

    /// Verifies an access token, or the token of a session still waiting for its second
    /// factor (tried only when the first fails: our own access tokens pay nothing for it),
    /// or finds it in the verified-token cache.
    pub(crate) fn verify_any_access(&self, token: &str) -> Result<VerifiedToken, Error> {
        let now = unix_now();
        let cache = self.inner.cache.as_ref();
        if let Some(verified) = cache.and_then(|cache| cache.get(token, now)) {
            return Ok(verified);
        }
        let verified = self
            .verify_kinds(token, &self.expectations(now, false))
            .map_err(Error::invalid_token)?;
        if let Some(cache) = cache {
            cache.put(token, &verified, now);
        }
        Ok(verified)
    }

    /// An access token, else a waiting session's: the first kind's error when neither.
    fn verify_kinds(
        &self,
        token: &str,
        expect: &Expectations<'_>,
    ) -> Result<VerifiedToken, TokenError> {
        verify(self.keys(), token, TokenKind::Access, expect).or_else(|error| {
            if self.mfa().is_none() {
                return Err(error);
            }
            verify(self.keys(), token, TokenKind::PendingAccess, expect).map_err(|_| error)
        })
    }

    /// Verifies an access token (a waiting session's too) as a revocation does: its `exp`
    /// may have passed (its session may not have). Never cached.
    pub(crate) fn verify_access_even_expired(&self, token: &str) -> Result<VerifiedToken, Error> {
        self.verify_kinds(token, &self.expectations(unix_now(), true))
            .map_err(Error::invalid_token)
    }

    /// Verifies a refresh token; `allow_expired` for a sign-out, which may end what is over.
    pub(crate) fn verify_refresh(
        &self,
        token: &str,
        allow_expired: bool,
    ) -> Result<VerifiedToken, Error> {
        verify(
            self.keys(),
            token,
            TokenKind::Refresh,
            &self.expectations(unix_now(), allow_expired),
        )
        .map_err(Error::invalid_token)
    }

    /// The access token of a request that needs one, checked as the guard of a route that
    /// needs a token checks it: verified, CSRF-checked when it came by cookie on an unsafe
    /// request, and with strict revocation its session live. For the endpoints that act with
    /// an access token.
    pub(crate) async fn authenticate<R: RequestHead + ?Sized>(
        &self,
        head: &R,
    ) -> Result<VerifiedToken, Error> {
        let verified = self.authenticate_at_aal1(head).await?;
        if verified.mfa_pending() {
            return Err(Error::new(second_factor()));
        }
        Ok(verified)
    }

    /// [`authenticate`](Self::authenticate), for the second-factor endpoints: a session still
    /// waiting for its second factor is accepted.
    pub(crate) async fn authenticate_at_aal1<R: RequestHead + ?Sized>(
        &self,
        head: &R,
    ) -> Result<VerifiedToken, Error> {
        let verified = self
            .check_token(head, true, true)?
            .ok_or(Error::new(ErrorKind::MissingToken))?;
        let claims = verified.claims();
        if self.config().guard.strict_revocation
            && !self.session_is_live(&claims.sub, &claims.sid).await?
        {
            return Err(Error::invalid_token(TokenError::Revoked));
        }
        Ok(verified)
    }

    fn expectations(&self, now: i64, allow_expired: bool) -> Expectations<'_> {
        let tokens = &self.config().tokens;
        Expectations::new(
            &tokens.issuer,
            tokens.audience.as_deref(),
            i64::try_from(tokens.leeway.as_secs()).unwrap_or(i64::MAX),
            now,
            allow_expired,
        )
    }

    /// The access token a request presents, and whether it came in the cookie (read only
    /// with `cookie`). A bearer header wins over the cookie; only a cookie needs the CSRF
    /// defences.
    ///
    /// The cookie is never read on a WebSocket upgrade, whatever its path: a page of any other
    /// site can open a socket to this one and the browser would send the cookie with it
    /// (cross-site WebSocket hijacking). An upgrade is authenticated by a ticket or a bearer
    /// header alone. A request with a bearer header never looks at the upgrade header.
    fn presented_access<'a, R: RequestHead + ?Sized>(
        &self,
        head: &'a R,
        cookie: bool,
    ) -> Option<(&'a str, bool)> {
        match bearer(head, self.config().guard.accept_authentication_header) {
            Some(token) => Some((token, false)),
            None if cookie && !is_upgrade(head) => {
                self.cookies().access(head).map(|token| (token, true))
            }
            None => None,
        }
    }

    /// Whether a request to `path` needs a token: in required mode, unless the path is public.
    fn requires_token(&self, path: &str) -> bool {
        let guard = &self.config().guard;
        guard.mode == GuardMode::Required && !matches_any(&guard.public_paths, path)
    }

    /// The token check of a request: with `required`, a missing or invalid token is an error;
    /// without, it is no token. The access cookie is read only with `cookie`.
    fn check_token<R: RequestHead + ?Sized>(
        &self,
        head: &R,
        required: bool,
        cookie: bool,
    ) -> Result<Option<VerifiedToken>, Error> {
        let (token, by_cookie) = match self.presented_access(head, cookie) {
            Some(found) => found,
            None if required => return Err(Error::new(ErrorKind::MissingToken)),
            None => return Ok(None),
        };
        let checked = self.verify_any_access(token).and_then(|verified| {
            if by_cookie && is_unsafe(head.method()) {
                self.cookies().check(head, &verified.claims().sid)?;
            }
            Ok(verified)
        });
        match checked {
            Ok(verified) => Ok(Some(verified)),
            Err(error) if required => Err(error),
            Err(_) => Ok(None),
        }
    }
}

/// The refusal of a session that has not proved its second factor yet.
pub(crate) fn second_factor() -> ErrorKind {
    ErrorKind::InsufficientUserAuthentication {
        aal2: true,
        max_age: None,
    }
}

/// Whether `path` is one of `paths`: exact, or under a prefix ending in `*`.
fn matches_any(paths: &[String], path: &str) -> bool {
    paths.iter().any(|listed| match listed.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => path == listed,
    })
}

/// `verified`, a ticket, when the socket at `path` (as routed) is one it may open: any, or
/// the one it was asked for and those under it.
fn bound_here(verified: VerifiedToken, path: &str) -> Result<VerifiedToken, TokenError> {
    #[derive(serde::Deserialize)]
    struct Bound {
        wsp: Option<String>,
    }
    let bound: Bound =
        serde_json::from_slice(verified.payload()).map_err(|_| TokenError::OtherPath)?;
    match bound.wsp {
        Some(bound) if !ticket_opens(&bound, path) => Err(TokenError::OtherPath),
        _ => Ok(verified),
    }
}

/// Whether a ticket bound to `bound` opens a socket at `path` (the path as routed): the path
/// itself, or one under it.
fn ticket_opens(bound: &str, path: &str) -> bool {
    match bound.strip_suffix('/') {
        Some(_) => path.starts_with(bound),
        None => {
            path == bound
                || path
                    .strip_prefix(bound)
                    .is_some_and(|rest| rest.starts_with('/'))
        }
    }
}

/// Whether the request may be a WebSocket upgrade: any request whose `Upgrade` header names
/// `websocket` (whatever the method: a framework may upgrade whatever it routes), or an HTTP/2
/// extended `CONNECT` (RFC 8441). Broad on purpose: it only ever takes the cookie away.
fn is_upgrade<R: RequestHead + ?Sized>(head: &R) -> bool {
    head.method() == "CONNECT"
        || head.header("upgrade").is_some_and(|value| {
            value
                .split(|byte| *byte == b',')
                .filter_map(|protocol| protocol.trim_ascii().split(|byte| *byte == b'/').next())
                .any(|name| name.eq_ignore_ascii_case(b"websocket"))
        })
}

/// The `ticket` of a WebSocket upgrade's query: an HTTP/1.1 `GET` with `Upgrade: websocket`,
/// or an HTTP/2 extended `CONNECT`. Any other request's query is not read.
fn ticket_of<R: RequestHead + ?Sized>(head: &R) -> Option<&str> {
    if !matches!(head.method(), "GET" | "CONNECT") || !is_upgrade(head) {
        return None;
    }
    // A ticket is base64url and dots: nothing in it is percent-encoded.
    head.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("ticket="))
        .filter(|ticket| !ticket.is_empty())
}

#[cfg(test)]
mod tests {
    use super::ticket_opens;

    #[test]
    fn a_bound_ticket_opens_its_path_and_what_is_under_it() {
        assert!(ticket_opens("/ws/chat", "/ws/chat"));
        assert!(ticket_opens("/ws/chat", "/ws/chat/room"));
        assert!(!ticket_opens("/ws/chat", "/ws/chatroom"));
        assert!(!ticket_opens("/ws/chat", "/ws/admin"));
        assert!(ticket_opens("/ws/", "/ws/admin"));
        assert!(!ticket_opens("/ws/", "/ws"));
    }
}
