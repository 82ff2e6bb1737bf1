//! Sessions and the decisions taken on them.

/// One signed-in session. Every store builds it from what it keeps, so it has no hidden
/// fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session id (`sid` claim).
    pub id: String,
    /// The subject that signed in.
    pub subject: String,
    /// The application, for application-key logins.
    pub application: Option<String>,
    /// The extra claims of the principal, as a JSON object text, put into every access token.
    pub claims: String,
    /// When the session was opened, Unix seconds.
    pub created_at: i64,
    /// When an access token was last issued from it, Unix seconds.
    pub refreshed_at: i64,
    /// When it ends, Unix seconds; `None` for an unlimited session (until signed out).
    pub expires_at: Option<i64>,
    /// The `jti` of its current refresh token.
    pub token: String,
    /// The `jti` of the refresh token that rotation replaced last, if any.
    pub previous: Option<String>,
    /// When the current refresh token was issued (its `iat`), Unix seconds.
    pub rotated_at: i64,
    /// The `User-Agent` of the client that signed in, cut to [`Session::AGENT_LIMIT`] bytes.
    pub user_agent: Option<String>,
    /// The address of the client that signed in.
    pub address: Option<String>,
}

impl Session {
    /// A new session opened at `now`.
    pub fn new(
        id: &str,
        subject: &str,
        application: Option<&str>,
        claims: &str,
        now: i64,
        expires_at: Option<i64>,
    ) -> Self {
        Self {
            id: id.to_owned(),
            subject: subject.to_owned(),
            application: application.map(str::to_owned),
            claims: claims.to_owned(),
            created_at: now,
            refreshed_at: now,
            expires_at,
            token: String::new(),
            previous: None,
            rotated_at: now,
            user_agent: None,
            address: None,
        }
    }

    /// The longest user agent a session keeps, in bytes: a client does not choose how much
    /// the store holds for it.
    pub const AGENT_LIMIT: usize = 256;

    /// The session, with the client that opened it: its user agent (cut to
    /// [`Session::AGENT_LIMIT`] bytes, at a character boundary) and its address.
    #[must_use]
    pub fn with_client(mut self, user_agent: Option<&str>, address: Option<&str>) -> Self {
        self.user_agent = user_agent.map(|agent| {
            let mut end = agent.len().min(Self::AGENT_LIMIT);
            while !agent.is_char_boundary(end) {
                end -= 1;
            }
            agent[..end].to_owned()
        });
        self.address = address.map(str::to_owned);
        self
    }

    /// Whether the session, last used at `refreshed_at`, has been idle for longer than
    /// `idle` seconds at `now`.
    pub fn is_idle(&self, idle: Option<i64>, now: i64) -> bool {
        idle.is_some_and(|idle| now.saturating_sub(self.refreshed_at) > idle)
    }

    /// Whether the session is still live at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }

    /// Whether `presented` may act for this session at `now`, as `/token` would accept it:
    /// the session is live, belongs to `subject`, and the token is its current one, or (with
    /// rotation) the one it replaced, within the grace.
    pub fn accepts(&self, subject: &str, presented: &Presented<'_>, now: i64) -> bool {
        if !self.is_live(now) || self.subject != subject || self.id != presented.id {
            return false;
        }
        if self.token == presented.token {
            return true;
        }
        presented.grace.is_some_and(|grace| {
            self.previous.as_deref() == Some(presented.token)
                && now.saturating_sub(self.rotated_at) <= grace
        })
    }
}

/// The refresh token that asks for a sign-out of several sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Presented<'a> {
    /// Its session (`sid`).
    pub id: &'a str,
    /// Its `jti`.
    pub token: &'a str,
    /// With rotation, how long a replaced token still counts (`reuse_grace`); `None` without.
    pub grace: Option<i64>,
}

impl<'a> Presented<'a> {
    /// The token `token` of session `id`; `grace` as in [`Presented::grace`].
    pub fn new(id: &'a str, token: &'a str, grace: Option<i64>) -> Self {
        Self { id, token, grace }
    }
}

/// A sign-out of every session of a subject, or of all but one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubjectRevocation<'a> {
    /// Whose sessions end.
    pub subject: &'a str,
    /// The session that stays (`scope=others`).
    pub keep: Option<&'a str>,
    /// The refresh token that asks, when a client asks: then nothing ends unless
    /// [`Session::accepts`] it, decided in the same atomic step as the revocation.
    pub by: Option<Presented<'a>>,
    /// The time of the call.
    pub now: i64,
    /// Only this session of the subject ends (the sign-out of one session by id), if any.
    pub only: Option<&'a str>,
    /// At most this many sessions end in this call (any of those it names that are live);
    /// fewer only when no more of them are live. A sign-out of every session of a subject
    /// with no session limit is made of such calls, so none is one unbounded step.
    pub at_most: Option<usize>,
}

impl<'a> SubjectRevocation<'a> {
    /// Every session of `subject` but `keep`, asked for by the holder of `by`.
    pub fn new(
        subject: &'a str,
        keep: Option<&'a str>,
        by: Option<Presented<'a>>,
        now: i64,
    ) -> Self {
        Self {
            subject,
            keep,
            by,
            now,
            only: None,
            at_most: None,
        }
    }

    /// The same check, ending only session `id` (if it is the subject's and live).
    #[must_use]
    pub fn only(mut self, id: &'a str) -> Self {
        self.only = Some(id);
        self
    }

    /// The same revocation, ending at most `count` of the sessions it names in this call.
    #[must_use]
    pub fn at_most(mut self, count: usize) -> Self {
        self.at_most = Some(count);
        self
    }

    /// Whether session `id` of the subject is among those this revocation ends.
    pub fn ends(&self, id: &str) -> bool {
        self.keep != Some(id) && self.only.is_none_or(|only| only == id)
    }
}

/// A `/token` call, as the store sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshRequest<'a> {
    /// The subject the refresh token was issued to (`sub`).
    pub subject: &'a str,
    /// The session id (`sid`).
    pub id: &'a str,
    /// The `jti` of the presented refresh token.
    pub token: &'a str,
    /// The time of the call.
    pub now: i64,
    /// With rotation: the `jti` the current token is replaced by.
    pub rotate_to: Option<&'a str>,
    /// With rotation: how long, in seconds, the replaced token still gets the current one.
    pub grace: i64,
    /// The idle timeout: a session not used for longer than this many seconds ends instead
    /// of refreshing (`None`: no idle timeout).
    pub idle: Option<i64>,
    /// The session's last use is written at most once per this many seconds: a refresh that
    /// keeps the token, less than this long after the last use written, writes nothing (`0`:
    /// each refresh writes). A rotation always writes.
    pub touch: i64,
}

impl<'a> RefreshRequest<'a> {
    /// A refresh that keeps the refresh token (rotation off).
    pub fn keep(subject: &'a str, id: &'a str, token: &'a str, now: i64) -> Self {
        Self {
            subject,
            id,
            token,
            now,
            rotate_to: None,
            grace: 0,
            idle: None,
            touch: 0,
        }
    }

    /// A refresh that replaces the token by `new_token`, with `grace` seconds for the old one.
    pub fn rotate(
        subject: &'a str,
        id: &'a str,
        token: &'a str,
        now: i64,
        new_token: &'a str,
        grace: i64,
    ) -> Self {
        Self {
            subject,
            id,
            token,
            now,
            rotate_to: Some(new_token),
            grace,
            idle: None,
            touch: 0,
        }
    }

    /// The same refresh, with an idle timeout of `idle` seconds (see [`RefreshRequest::idle`]).
    #[must_use]
    pub fn idle(mut self, idle: Option<i64>) -> Self {
        self.idle = idle;
        self
    }

    /// The same refresh, writing the session's last use only when `seconds` have passed since
    /// it was last written (see [`RefreshRequest::touch`]).
    #[must_use]
    pub fn touch(mut self, seconds: i64) -> Self {
        self.touch = seconds;
        self
    }
}

/// A session's claims and refresh token replaced at once; see
/// [`SessionStore::reissue`](crate::SessionStore::reissue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reissue<'a> {
    /// The subject of the presented refresh token (`sub`).
    pub subject: &'a str,
    /// The session (`sid`).
    pub id: &'a str,
    /// The `jti` of the presented refresh token: only the session's current one is accepted.
    pub token: &'a str,
    /// The `jti` of the refresh token that replaces it.
    pub new_token: &'a str,
    /// The session's claims from now on, as a JSON object text.
    pub claims: &'a str,
    /// The time of the call.
    pub now: i64,
}

impl<'a> Reissue<'a> {
    /// Replaces token `token` of session `id` of `subject` by `new_token`, and the session's
    /// claims by `claims`, at `now`.
    pub fn new(
        subject: &'a str,
        id: &'a str,
        token: &'a str,
        new_token: &'a str,
        claims: &'a str,
        now: i64,
    ) -> Self {
        Self {
            subject,
            id,
            token,
            new_token,
            claims,
            now,
        }
    }

    /// The session as it must be stored after this, when `session` (as stored) accepts it.
    pub fn apply(&self, session: &Session) -> Option<Session> {
        if !session.is_live(self.now) || session.subject != self.subject || session.id != self.id {
            return None;
        }
        if session.token != self.token {
            return None;
        }
        let mut session = session.clone();
        self.new_token.clone_into(&mut session.token);
        self.claims.clone_into(&mut session.claims);
        session.previous = None;
        session.refreshed_at = self.now;
        session.rotated_at = self.now;
        Some(session)
    }
}

/// What a refresh found; each store decides it in one atomic step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refreshed {
    /// The token is the session's current one: the session, refreshed (and rotated if asked).
    Current(Session),
    /// The token was replaced by rotation within the grace window: the session as it is, so
    /// the caller gets its current token (concurrent refreshes do not fork the session).
    Replaced(Session),
    /// A replaced token came back after the grace window: the session has been ended.
    Reused(Session),
    /// No such live session, or the token is not its current one; or the session was idle
    /// for longer than the request's idle timeout, and has been ended.
    Gone,
}

impl Refreshed {
    /// The decision of a store holding `session` (live at `request.now`) for `request`, and
    /// the session as it must be stored afterwards (`None`: delete it). Shared by the stores
    /// that keep whole sessions in memory or in SQL.
    pub fn decide(mut session: Session, request: &RefreshRequest<'_>) -> (Self, Option<Session>) {
        if let Some(unchanged) = Self::unchanged(&session, request) {
            return (unchanged, Some(session));
        }
        if session.subject != request.subject {
            return (Self::Gone, Some(session));
        }
        if session.is_idle(request.idle, request.now) {
            return (Self::Gone, None);
        }
        if session.token == request.token {
            session.refreshed_at = request.now;
            if let Some(new) = request.rotate_to {
                session.previous = Some(std::mem::replace(&mut session.token, new.to_owned()));
                session.rotated_at = request.now;
            }
            return (Self::Current(session.clone()), Some(session));
        }
        if request.rotate_to.is_none() {
            return (Self::Gone, Some(session));
        }
        if session.previous.as_deref() == Some(request.token)
            && request.now.saturating_sub(session.rotated_at) <= request.grace
        {
            return (Self::Replaced(session.clone()), Some(session));
        }
        // A token of this session that rotation already replaced: stolen, or replayed.
        (Self::Reused(session), None)
    }
}

impl Refreshed {
    /// The answer to a refresh that changes nothing, when `request` is one: the session's
    /// current token, no rotation, not idle, and its last use written less than
    /// [`RefreshRequest::touch`] seconds ago. A store answers it without writing.
    pub fn unchanged(session: &Session, request: &RefreshRequest<'_>) -> Option<Self> {
        (request.rotate_to.is_none()
            && session.subject == request.subject
            && session.token == request.token
            && request.now.saturating_sub(session.refreshed_at) < request.touch
            && !session.is_idle(request.idle, request.now))
        .then(|| Self::Current(session.clone()))
    }
}

/// The sessions a new session of the same subject makes too many, when a subject may hold
/// `max` live sessions: the least recently used first (the oldest refresh, then the oldest
/// sign-in, then the smallest id), so that with the new one `max` remain. `others` are the
/// subject's live sessions besides the new one.
pub fn evicted(others: &[Session], max: u32) -> Vec<&Session> {
    let keep = usize::try_from(max).unwrap_or(usize::MAX).saturating_sub(1);
    if others.len() <= keep {
        return Vec::new();
    }
    let mut by_use: Vec<&Session> = others.iter().collect();
    by_use.sort_by(|a, b| {
        (a.refreshed_at, a.created_at, &a.id).cmp(&(b.refreshed_at, b.created_at, &b.id))
    });
    by_use.truncate(others.len() - keep);
    by_use
}
