//! Strict revocation: whether a session is still live, from this instance's memory when it
//! knows, else from the store; and what this instance learns when sessions end.

use super::TokenGate;
use crate::clock::unix_now;
use crate::http::error::{Error, ErrorKind};
use crate::store::{Session, SubjectRevocation};

/// The most sessions one store call of a sign-out of all ends.
pub(crate) const SIGN_OUT_BATCH: usize = 500;

impl TokenGate {
    fn revocation_ttl(&self) -> i64 {
        i64::try_from(self.config().guard.revocation_cache_ttl.as_secs()).unwrap_or(i64::MAX)
    }

    /// What this instance knows of a session without asking the store.
    pub(super) fn known_liveness(&self, sid: &str) -> Option<bool> {
        self.inner
            .revocations
            .get(sid, unix_now(), self.revocation_ttl())
    }

    /// Whether session `sid` of `subject` is live: from this instance's memory, else from the
    /// store. A "live" read never overwrites a sign-out that this instance recorded meanwhile.
    pub(crate) async fn session_is_live(&self, subject: &str, sid: &str) -> Result<bool, Error> {
        if let Some(live) = self.known_liveness(sid) {
            return Ok(live);
        }
        let now = unix_now();
        let ttl = self.revocation_ttl();
        match self.store().is_live(subject, sid, now).await {
            Ok(true) => {
                if ttl > 0 {
                    self.inner.revocations.mark_live(sid, now, ttl);
                }
                Ok(true)
            }
            Ok(false) => {
                self.inner.revocations.mark_dead(sid, now, ttl);
                Ok(false)
            }
            Err(error) => {
                tracing::warn!(target: "tokengate", %error, kind = error.kind().as_str(), "session store failed");
                Err(Error::new(ErrorKind::Unavailable("session store")))
            }
        }
    }

    /// Whether session `sid` of `subject` is live, asked of the store unless this instance saw
    /// it end: for introspection, whose callers have no revocation cache of their own to wait
    /// out.
    pub(crate) async fn session_is_live_now(
        &self,
        subject: &str,
        sid: &str,
    ) -> Result<bool, Error> {
        if self.known_liveness(sid) == Some(false) {
            return Ok(false);
        }
        let now = unix_now();
        match self.store().is_live(subject, sid, now).await {
            Ok(live) => {
                if !live {
                    self.inner
                        .revocations
                        .mark_dead(sid, now, self.revocation_ttl());
                }
                Ok(live)
            }
            Err(error) => {
                tracing::warn!(target: "tokengate", %error, kind = error.kind().as_str(), "session store failed");
                Err(Error::new(ErrorKind::Unavailable("session store")))
            }
        }
    }

    /// Ends every session of `subject` — after a password change, an account closed — and
    /// says how many live ones ended. Their refresh tokens stop at once; their access tokens
    /// stop at once on this instance's strict guard, within `revocation_cache_ttl` on the
    /// others, and at their `exp` without strict revocation.
    pub async fn revoke_subject(&self, subject: &str) -> Result<usize, Error> {
        let request = SubjectRevocation::new(subject, None, None, unix_now());
        let ended = self
            .end_sessions_of(request)
            .await
            .map_err(|error| {
                tracing::warn!(target: "tokengate", %error, kind = error.kind().as_str(), "session store failed");
                Error::new(ErrorKind::Unavailable("session store"))
            })?
            .unwrap_or_default();
        Ok(ended)
    }

    /// Ends the sessions `request` names, [`SIGN_OUT_BATCH`] at most per store call, until a
    /// call ends fewer: a subject with no session limit may hold any number of sessions, and
    /// ending them all must not be one unbounded step of the store (one Redis script, one
    /// statement holding every row). The first call checks the presenting token, in the same
    /// step as what it ends; a request that asks with one keeps its session (`request.keep`)
    /// and ends it last. What each call ended is recorded at once; how many ended in all, or
    /// `None` when the presenting token was refused. An error may come after some calls ended
    /// sessions: asking again ends the rest.
    pub(crate) async fn end_sessions_of(
        &self,
        mut request: SubjectRevocation<'_>,
    ) -> Result<Option<usize>, crate::store::StoreError> {
        let mut ended = 0;
        loop {
            let Some(batch) = self
                .store()
                .revoke_subject(request.at_most(SIGN_OUT_BATCH))
                .await?
            else {
                // Only the first call checks a token: refused there, nothing ended.
                return Ok(None);
            };
            self.sessions_ended(batch.iter().map(String::as_str));
            ended += batch.len();
            if batch.len() < SIGN_OUT_BATCH || request.only.is_some() {
                return Ok(Some(ended));
            }
            // The token was accepted when the sign-out began: what it asked for is carried
            // out to the end, whatever becomes of its session meanwhile (another sign-out, a
            // reuse of its token), or the answer would say done while sessions still live.
            request.by = None;
        }
    }

    /// The live sessions of `subject`, oldest first: those the store keeps until their end,
    /// less those unused for longer than `session_idle` (they end at their next `/token`).
    /// For an operator's view of a subject, and for `GET {prefix}/sessions`.
    pub async fn list_sessions(&self, subject: &str) -> Result<Vec<Session>, Error> {
        let now = unix_now();
        let mut sessions = self.store().list(subject, now).await.map_err(|error| {
            tracing::warn!(target: "tokengate", %error, kind = error.kind().as_str(), "session store failed");
            Error::new(ErrorKind::Unavailable("session store"))
        })?;
        let idle = self.config().tokens.idle_seconds();
        sessions.retain(|session| !session.is_idle(idle, now));
        sessions.sort_by_key(|session| session.created_at);
        Ok(sessions)
    }

    /// Ends session `sid` of `subject`; `true` if it was live.
    pub async fn revoke_session(&self, subject: &str, sid: &str) -> Result<bool, Error> {
        let live = self
            .store()
            .revoke(subject, sid, unix_now())
            .await
            .map_err(|error| {
                tracing::warn!(target: "tokengate", %error, kind = error.kind().as_str(), "session store failed");
                Error::new(ErrorKind::Unavailable("session store"))
            })?;
        self.sessions_ended([sid]);
        Ok(live)
    }

    /// Records that sessions ended in the store, for this instance's strict guard: at once,
    /// and for good.
    pub(crate) fn sessions_ended<'s>(&self, sids: impl IntoIterator<Item = &'s str>) {
        if !self.config().guard.strict_revocation {
            return;
        }
        let (now, ttl) = (unix_now(), self.revocation_ttl());
        for sid in sids {
            self.inner.revocations.mark_dead(sid, now, ttl);
        }
    }
}
