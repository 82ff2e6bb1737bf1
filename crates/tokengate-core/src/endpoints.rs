//! The three endpoints, as plain functions over parsed fields.

use serde_json::{Map, Value};

use crate::audit::{AuditEvent, AuditKind};
use crate::clock::unix_now;
use crate::credentials::{Login, Principal};
use crate::error::{Error, ErrorKind, TokenError};
use crate::exp::{parse_exp, Expiry};
use crate::form::Fields;
use crate::gate::TokenGate;
use crate::issue::{random_id, sign, TokenKind};
use crate::mac::MacKey;
use crate::request::{bearer, RequestHead};
use crate::response::Response;
use crate::store::{Presented, RefreshRequest, Refreshed, Session, StoreError, SubjectRevocation};
use crate::throttle::{address_key, counter_down};

/// Claim names tokengate sets itself; a credential checker cannot override them.
const REGISTERED: &[&str] = &[
    "iss", "sub", "aud", "iat", "exp", "nbf", "jti", "sid", "app",
];

/// The throttling counters of one sign-in, with their limits.
struct ThrottleKeys {
    login: Option<(String, u32)>,
    address: Option<(String, u32)>,
}

impl ThrottleKeys {
    fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        [&self.login, &self.address]
            .into_iter()
            .flatten()
            .map(|(key, limit)| (key.as_str(), *limit))
    }
}

/// Which sessions a sign-out ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Local,
    Global,
    Others,
}

fn store_down(error: &StoreError) -> Error {
    tracing::warn!(target: "tokengate", %error, "session store failed");
    Error::new(ErrorKind::Unavailable("session store"))
}

fn internal(error: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Internal(error.to_string()))
}

fn non_empty<'a>(fields: &'a Fields, name: &'static str) -> Result<Option<&'a str>, Error> {
    match fields.get(name) {
        Some("") => Err(Error::new(ErrorKind::InvalidField {
            field: name,
            reason: "must not be empty".to_owned(),
        })),
        other => Ok(other),
    }
}

fn required<'a>(fields: &'a Fields, name: &'static str) -> Result<&'a str, Error> {
    non_empty(fields, name)?.ok_or(Error::new(ErrorKind::MissingField(name)))
}

fn flag(fields: &Fields, name: &'static str) -> Result<bool, Error> {
    match fields.get(name).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(_) => Err(Error::new(ErrorKind::InvalidField {
            field: name,
            reason: "must be true or false".to_owned(),
        })),
    }
}

impl TokenGate {
    /// The refresh token of a `/token` or `/signout` request: field `token`, else a bearer
    /// header, else the refresh cookie; and whether it came from the cookie.
    fn refresh_token<'a, R: RequestHead + ?Sized>(
        &self,
        head: &'a R,
        fields: &'a Fields,
    ) -> Result<(&'a str, bool), Error> {
        if let Some(token) = non_empty(fields, "token")? {
            return Ok((token, false));
        }
        if let Some(token) = bearer(head, self.inner.config.accept_authentication_header) {
            return Ok((token, false));
        }
        self.inner
            .cookies
            .refresh(head)
            .map(|token| (token, true))
            .ok_or(Error::new(ErrorKind::MissingRefreshToken))
    }

    fn access_token(
        &self,
        session: &Session,
        claims: &Map<String, Value>,
        now: i64,
    ) -> Result<String, Error> {
        let config = &self.inner.config;
        let ttl = i64::try_from(config.access_ttl.as_secs())
            .unwrap_or(i64::MAX)
            .max(1);
        let mut exp = now.saturating_add(ttl);
        if let Some(end) = session.expires_at {
            exp = exp.min(end);
        }
        let mut payload: Map<String, Value> = claims
            .iter()
            .filter(|(name, _)| !REGISTERED.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        payload.insert("iss".into(), config.issuer.clone().into());
        payload.insert("sub".into(), session.subject.clone().into());
        if let Some(audience) = &config.audience {
            payload.insert("aud".into(), audience.clone().into());
        }
        payload.insert("iat".into(), now.into());
        payload.insert("exp".into(), exp.into());
        payload.insert("jti".into(), random_id().map_err(internal)?.into());
        payload.insert("sid".into(), session.id.clone().into());
        if let Some(application) = &session.application {
            payload.insert("app".into(), application.clone().into());
        }
        sign(&self.inner.keys, TokenKind::Access, &payload).map_err(internal)
    }

    /// The session's current refresh token. Its claims come from the session alone (`iat` is
    /// when it was issued, `jti` is the session's current token id), so signing it again gives
    /// the same token: concurrent refreshes within the grace all get the one current token.
    fn refresh_token_for(&self, session: &Session) -> Result<String, Error> {
        let config = &self.inner.config;
        let mut payload = Map::new();
        payload.insert("iss".into(), config.issuer.clone().into());
        payload.insert("sub".into(), session.subject.clone().into());
        if let Some(audience) = &config.audience {
            payload.insert("aud".into(), audience.clone().into());
        }
        payload.insert("iat".into(), session.rotated_at.into());
        if let Some(end) = session.expires_at {
            payload.insert("exp".into(), end.into());
        }
        payload.insert("jti".into(), session.token.clone().into());
        payload.insert("sid".into(), session.id.clone().into());
        if let Some(application) = &session.application {
            payload.insert("app".into(), application.clone().into());
        }
        sign(&self.inner.keys, TokenKind::Refresh, &payload).map_err(internal)
    }

    fn tokens_response(&self, refresh: &str, access: &str) -> Response {
        Response::json(
            201,
            &serde_json::json!({
                "refreshToken": refresh,
                "accessToken": access,
                "tokenType": "Bearer",
                "expiresIn": self.inner.config.access_ttl.as_secs(),
            }),
        )
    }

    /// The throttling counters of a sign-in: the login's (hashed, so that keys stay short
    /// whatever is sent) and the client address's, each with its limit, where they apply.
    fn throttle_keys(
        &self,
        login: &str,
        application: Option<&str>,
        client: Option<std::net::IpAddr>,
    ) -> ThrottleKeys {
        let config = &self.inner.config;
        let login = (config.throttle_per_login > 0).then(|| {
            let tag = MacKey::new(b"tokengate throttle").sign(&[
                application.unwrap_or("").as_bytes(),
                b"\0",
                login.as_bytes(),
            ]);
            let tag = base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &tag[..18],
            );
            (format!("fail:login:{tag}"), config.throttle_per_login)
        });
        let address = client
            .filter(|_| config.throttle_per_address > 0)
            .map(|client| {
                (
                    format!("fail:addr:{}", address_key(client)),
                    config.throttle_per_address,
                )
            });
        ThrottleKeys { login, address }
    }

    /// Reserves this sign-in's attempt on every counter, before the password is verified: one
    /// atomic step per counter, so a burst cannot pass a check before its failures are counted.
    /// A refusal on a later counter gives back the reservations made before it.
    async fn reserve_attempt(&self, keys: &ThrottleKeys, now: i64) -> Result<(), Error> {
        let failures = &self.inner.failures;
        let window = self.inner.config.throttle_window.as_secs();
        let mut granted: Vec<&str> = Vec::with_capacity(2);
        for (key, limit) in keys.iter() {
            let reserved = failures.reserve(key, limit, window, now).await;
            let refusal = match reserved {
                Ok(reservation) => reservation
                    .retry_after(now)
                    .map(|retry_after| Error::new(ErrorKind::TooManyAttempts { retry_after })),
                Err(error) => Some(counter_down(&error)),
            };
            if let Some(refusal) = refusal {
                for key in granted {
                    self.release_attempt(key, now).await;
                }
                return Err(refusal);
            }
            granted.push(key);
        }
        Ok(())
    }

    /// Gives back a reservation that turned out not to be a failure; best effort, as the
    /// answer no longer depends on it.
    async fn release_attempt(&self, key: &str, now: i64) {
        if let Err(error) = self.inner.failures.release(key, now).await {
            tracing::warn!(target: "tokengate", %error, "could not give back a sign-in reservation");
        }
    }

    /// A successful sign-in clears its login's count and gives back its address reservation.
    /// Best effort: the session is open by now, and a counter that is down must not turn a
    /// sign-in that took effect into an error.
    async fn attempt_succeeded(&self, keys: &ThrottleKeys, now: i64) {
        if let Some((key, _)) = &keys.login {
            if let Err(error) = self.inner.failures.clear(key).await {
                tracing::warn!(target: "tokengate", %error, "could not clear the login's failed sign-ins");
            }
        }
        if let Some((key, _)) = &keys.address {
            self.release_attempt(key, now).await;
        }
    }

    /// An attempt that could not be decided gives back every reservation.
    async fn attempt_undecided(&self, keys: &ThrottleKeys, now: i64) {
        for (key, _) in keys.iter() {
            self.release_attempt(key, now).await;
        }
    }

    /// The cookie-mode answer: the tokens in cookies, only the CSRF token in the body.
    fn cookies_response(
        &self,
        session: &str,
        refresh: &str,
        access: &str,
    ) -> Result<Response, Error> {
        let cookies = &self.inner.cookies;
        let csrf = cookies.csrf_token(session).map_err(internal)?;
        let mut response = Response::json(
            201,
            &serde_json::json!({
                "csrfToken": csrf,
                "expiresIn": self.inner.config.access_ttl.as_secs(),
            }),
        );
        for cookie in cookies.set(access, refresh, &csrf) {
            response.push("set-cookie", cookie);
        }
        Ok(response)
    }

    /// `POST {prefix}/signin`: checks the login, opens a session, answers 201 with both tokens.
    pub async fn signin<R: RequestHead + ?Sized>(
        &self,
        head: &R,
        fields: &Fields,
    ) -> Result<Response, Error> {
        let config = &self.inner.config;
        let login = required(fields, "login")?;
        let password = required(fields, "password")?;
        let application = non_empty(fields, "application")?;
        let cookie_mode = flag(fields, "cookieauth")?;
        if cookie_mode {
            // Login CSRF: another site must not sign the browser in to an account of its own.
            self.inner.cookies.check_origin(head)?;
        }
        let now = unix_now();
        let expiry = match non_empty(fields, "exp")? {
            None => Expiry::At(
                now.saturating_add(i64::try_from(config.refresh_ttl.as_secs()).unwrap_or(i64::MAX)),
            ),
            Some(exp) => parse_exp(exp, now, config.max_refresh_ttl(), config.allow_unlimited)
                .map_err(|reason| {
                    Error::new(ErrorKind::InvalidField {
                        field: "exp",
                        reason,
                    })
                })?,
        };
        let client = self.client_addr(head);
        let throttle = self.throttle_keys(login, application, client);
        if let Err(error) = self.reserve_attempt(&throttle, now).await {
            if matches!(error.kind(), ErrorKind::TooManyAttempts { .. }) {
                self.audit(
                    &AuditEvent::new(AuditKind::Throttled, client)
                        .subject(login)
                        .application(application),
                );
            }
            return Err(error);
        }
        let credentials = match application {
            Some(application) => Login::Application {
                application,
                key: login,
                secret: password,
            },
            None => Login::User { login, password },
        };
        let principal: Principal = match self.inner.credentials.verify(credentials).await {
            Ok(Some(principal)) => principal,
            Ok(None) => {
                // The reservations stand: this attempt was a failure.
                self.audit(
                    &AuditEvent::new(AuditKind::SignInFailed, client)
                        .subject(login)
                        .application(application),
                );
                return Err(Error::new(ErrorKind::InvalidCredentials));
            }
            Err(error) => {
                tracing::warn!(target: "tokengate", %error, "credential directory failed");
                self.attempt_undecided(&throttle, now).await;
                return Err(Error::new(ErrorKind::Unavailable("credential directory")));
            }
        };
        let mut session = Session::new(
            &random_id().map_err(internal)?,
            &principal.subject,
            principal.application.as_deref(),
            &Value::Object(principal.claims.clone()).to_string(),
            now,
            match expiry {
                Expiry::At(at) => Some(at),
                Expiry::Unlimited => None,
            },
        );
        session.token = random_id().map_err(internal)?;
        // Sign first: if the store then fails, nothing was written and no token escapes.
        let refresh = self.refresh_token_for(&session)?;
        let access = self.access_token(&session, &principal.claims, now)?;
        let sid = session.id.clone();
        if let Err(error) = self.inner.store.create(session).await {
            self.attempt_undecided(&throttle, now).await;
            return Err(store_down(&error));
        }
        self.attempt_succeeded(&throttle, now).await;
        self.audit(
            &AuditEvent::new(AuditKind::SignIn, client)
                .subject(&principal.subject)
                .session(&sid)
                .application(principal.application.as_deref()),
        );
        if cookie_mode {
            return self.cookies_response(&sid, &refresh, &access);
        }
        Ok(self.tokens_response(&refresh, &access))
    }

    /// `POST {prefix}/token`: trades a live refresh token for a new access token (201).
    pub async fn token<R: RequestHead + ?Sized>(
        &self,
        head: &R,
        fields: &Fields,
    ) -> Result<Response, Error> {
        let (token, by_cookie) = self.refresh_token(head, fields)?;
        let verified = self.verify_refresh(token, false)?;
        let claims = verified.claims();
        if by_cookie {
            self.inner.cookies.check(head, &claims.sid)?;
        }
        let now = unix_now();
        let config = &self.inner.config;
        let new_token = if config.rotation {
            Some(random_id().map_err(internal)?)
        } else {
            None
        };
        let request = match &new_token {
            Some(new_token) => RefreshRequest::rotate(
                &claims.sid,
                &claims.jti,
                now,
                new_token,
                i64::try_from(config.reuse_grace.as_secs()).unwrap_or(i64::MAX),
            ),
            None => RefreshRequest::keep(&claims.sid, &claims.jti, now),
        };
        let session = match self
            .inner
            .store
            .refresh(request)
            .await
            .map_err(|e| store_down(&e))?
        {
            Refreshed::Current(session) | Refreshed::Replaced(session)
                if session.subject == claims.sub =>
            {
                session
            }
            Refreshed::Reused(session) => {
                self.sessions_ended([session.id.as_str()]);
                self.audit(
                    &AuditEvent::new(AuditKind::ReuseDetected, self.client_addr(head))
                        .subject(&session.subject)
                        .session(&session.id)
                        .application(session.application.as_deref()),
                );
                return Err(Error::invalid_token(TokenError::Revoked));
            }
            _ => return Err(Error::invalid_token(TokenError::Revoked)),
        };
        let refresh = if config.rotation {
            self.refresh_token_for(&session)?
        } else {
            token.to_owned()
        };
        let extra: Map<String, Value> = serde_json::from_str(&session.claims).unwrap_or_default();
        let access = self.access_token(&session, &extra, now)?;
        self.audit(
            &AuditEvent::new(AuditKind::Refresh, self.client_addr(head))
                .subject(&session.subject)
                .session(&session.id)
                .application(session.application.as_deref()),
        );
        if by_cookie {
            return self.cookies_response(&session.id, &refresh, &access);
        }
        Ok(self.tokens_response(&refresh, &access))
    }

    /// `GET {prefix}/sessions`: the caller's live sessions (never their tokens), from the
    /// access token of the request.
    pub(crate) async fn sessions<R: RequestHead + ?Sized>(
        &self,
        head: &R,
    ) -> Result<Response, Error> {
        // The same checks as any route that needs a token: strict revocation and CSRF too.
        let verified = self.authenticate(head).await?;
        let claims = verified.claims();
        let mut sessions = self
            .inner
            .store
            .list(&claims.sub)
            .await
            .map_err(|e| store_down(&e))?;
        // The caller's own session first, then the others from the oldest.
        sessions.sort_by_key(|session| (session.id != claims.sid, session.created_at));
        let sessions: Vec<Value> = sessions
            .iter()
            .map(|session| {
                serde_json::json!({
                    "id": session.id,
                    "createdAt": session.created_at,
                    "refreshedAt": session.refreshed_at,
                    "expiresAt": session.expires_at,
                    "application": session.application,
                    "current": session.id == claims.sid,
                })
            })
            .collect();
        Ok(Response::json(
            200,
            &serde_json::json!({ "sessions": sessions }),
        ))
    }

    /// `POST {prefix}/signout`: ends the session (or all of the subject's, or all others) and
    /// answers 200. Idempotent (RFC 7009): an unknown, expired or revoked token also gets 200.
    pub async fn signout<R: RequestHead + ?Sized>(
        &self,
        head: &R,
        fields: &Fields,
    ) -> Result<Response, Error> {
        let (token, by_cookie) = self.refresh_token(head, fields)?;
        let scope = match fields.get("scope") {
            None | Some("local") => Scope::Local,
            Some("global") => Scope::Global,
            Some("others") => Scope::Others,
            Some(_) => {
                return Err(Error::new(ErrorKind::InvalidField {
                    field: "scope",
                    reason: "must be `local`, `global` or `others`".to_owned(),
                }))
            }
        };
        let mut ended = 0;
        // Only a token we signed may end a session; anything else changes nothing.
        let verified = self.verify_refresh(token, true).ok();
        if by_cookie {
            match &verified {
                Some(verified) => self.inner.cookies.check(head, &verified.claims().sid)?,
                // Nothing to end: only the cookies go, and not at another origin's request.
                None => self.inner.cookies.check_origin(head)?,
            }
        }
        if let Some(verified) = verified {
            let claims = verified.claims();
            let store = &self.inner.store;
            let now = unix_now();
            // The store decides first; only what it ended is recorded here, so a sign-out that
            // answers 503 has ended nothing, on this instance either.
            let ended_ids: Vec<String> = match scope {
                Scope::Local => {
                    let live = store
                        .revoke(&claims.sid)
                        .await
                        .map_err(|e| store_down(&e))?;
                    self.sessions_ended([claims.sid.as_str()]);
                    if live {
                        vec![claims.sid.clone()]
                    } else {
                        Vec::new()
                    }
                }
                Scope::Global | Scope::Others => {
                    // Ending every session needs a token that could still refresh: one that
                    // was signed out, rotated away or expired ends nothing.
                    let config = &self.inner.config;
                    let grace = config
                        .rotation
                        .then(|| i64::try_from(config.reuse_grace.as_secs()).unwrap_or(i64::MAX));
                    let keep = (scope == Scope::Others).then_some(claims.sid.as_str());
                    let request = SubjectRevocation::new(
                        &claims.sub,
                        keep,
                        Some(Presented::new(&claims.sid, &claims.jti, grace)),
                        now,
                    );
                    let ended = store
                        .revoke_subject(request)
                        .await
                        .map_err(|e| store_down(&e))?
                        .unwrap_or_default();
                    self.sessions_ended(ended.iter().map(String::as_str));
                    ended
                }
            };
            ended = ended_ids.len();
            self.audit(
                &AuditEvent::new(AuditKind::SignOut, self.client_addr(head))
                    .subject(&claims.sub)
                    .session(&claims.sid)
                    .application(claims.app.as_deref())
                    .ended(ended),
            );
        }
        let mut response = Response::json(
            200,
            &serde_json::json!({ "signedOut": true, "sessionsEnded": ended }),
        );
        if by_cookie {
            for cookie in self.inner.cookies.clear() {
                response.push("set-cookie", cookie);
            }
        }
        Ok(response)
    }
}
