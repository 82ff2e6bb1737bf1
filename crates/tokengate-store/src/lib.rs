//! What tokengate asks of a place that keeps sessions ([`SessionStore`]) and counts sign-in
//! attempts ([`AttemptCounter`]), and the suite a store runs against itself to show that it
//! keeps those rules ([`testing`], feature `test-util`).
//!
//! Each operation is one atomic step (one round trip for a networked store), and each takes
//! the time of the call: a store never reads a clock of its own to decide, so the rules can be
//! tested with a clock the test moves. The stores tokengate ships are the memory store (in
//! `tokengate-core`), `tokengate-sqlite` and `tokengate-redis`.
//!
//! # Example
//!
//! The rotation rules, as the stores that hold whole sessions apply them:
//!
//! ```
//! use tokengate::store::{RefreshRequest, Refreshed, Session};
//!
//! let mut session = Session::new("s1", "ada", None, "{}", 1_000, Some(90_000));
//! session.token = "jti-1".to_owned();
//! let rotate = RefreshRequest::rotate("ada", "s1", "jti-1", 1_010, "jti-2", 10);
//! let (outcome, stored) = Refreshed::decide(session, &rotate);
//! assert!(matches!(outcome, Refreshed::Current(ref s) if s.token == "jti-2"));
//!
//! // The replaced token, after the grace: reuse, and the session is deleted.
//! let late = RefreshRequest::rotate("ada", "s1", "jti-1", 1_030, "jti-3", 10);
//! let (outcome, stored) = Refreshed::decide(stored.unwrap(), &late);
//! assert!(matches!(outcome, Refreshed::Reused(_)) && stored.is_none());
//! ```

mod counter;
mod error;
mod factor;
mod session;
#[cfg(feature = "test-util")]
pub mod testing;

use std::future::Future;
use std::pin::Pin;

/// The name [`AttemptCounter`] had while it counted failed sign-ins only (it spends WebSocket
/// tickets too); it will go in a later release: write `AttemptCounter`.
#[doc(hidden)]
pub use counter::AttemptCounter as FailureCounter;
pub use counter::{AttemptCounter, Reservation, Window};
pub use error::{StoreError, StoreErrorKind};
pub use factor::{Confirmation, Confirmed, CredentialUse, Factor, Registered};
pub use session::{
    evicted, Presented, RefreshRequest, Refreshed, Reissue, Session, SubjectRevocation,
};

/// A boxed future, as returned by [`SessionStore`] and [`AttemptCounter`].
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where sessions live. A session is addressed by its subject and its id, so that a store may
/// keep all of a subject's sessions together (one Redis Cluster slot).
pub trait SessionStore: Send + Sync + 'static {
    /// A short name of the kind of store, for metrics (`memory`, `sqlite`, `redis`,
    /// `postgres`); the default is `custom`.
    fn name(&self) -> &'static str {
        "custom"
    }
    /// Stores a new session (opened at `session.created_at`, the time of the call). With
    /// `max_sessions`, ends in the same atomic step the subject's least recently used live
    /// sessions that it makes too many (see [`evicted`]), and returns their ids.
    fn create(&self, session: Session, max_sessions: Option<u32>) -> StoreFuture<'_, Vec<String>>;
    /// Decides a `/token` call atomically (see [`Refreshed`], and [`Refreshed::decide`] for
    /// the rules), recording the refresh time and the rotation.
    fn refresh<'a>(&'a self, request: RefreshRequest<'a>) -> StoreFuture<'a, Refreshed>;
    /// Whether session `id` of `subject` is live at `now` (strict revocation).
    fn is_live<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool>;
    /// Ends session `id` of `subject`; `true` if it was live at `now`.
    fn revoke<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool>;
    /// Ends every live session of `request.subject` except `request.keep` (or only
    /// `request.only`: see [`SubjectRevocation::ends`]; at most `request.at_most` of them),
    /// and returns their ids; or, when the presenting token is not accepted
    /// ([`Session::accepts`]), ends nothing and returns `None`. The check and the revocation
    /// are one atomic step.
    fn revoke_subject<'a>(
        &'a self,
        request: SubjectRevocation<'a>,
    ) -> StoreFuture<'a, Option<Vec<String>>>;
    /// The sessions of `subject` live at `now`.
    fn list<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Session>>;
    /// The attempt counter kept in the same store, where it keeps one: the gate then counts
    /// sign-ins and spends tickets there, shared by every instance on the store, unless the
    /// application names another. The default is none (a store of sessions only).
    fn shared_counter(self: std::sync::Arc<Self>) -> Option<std::sync::Arc<dyn AttemptCounter>> {
        None
    }
    /// The store of second factors kept in the same place, where it keeps one: the gate then
    /// keeps factors there. The default is none.
    fn factor_store(self: std::sync::Arc<Self>) -> Option<std::sync::Arc<dyn FactorStore>> {
        None
    }
    /// Session `id` of `subject`, if live at `now`: read only, for the checks a `/token` call
    /// makes before its [`refresh`](SessionStore::refresh) commits. The default reads
    /// [`list`](SessionStore::list); a store with a keyed read does better.
    fn session<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<Session>> {
        Box::pin(async move {
            let sessions = self.list(subject, now).await?;
            Ok(sessions.into_iter().find(|session| session.id == id))
        })
    }

    /// Replaces, in one atomic step, the claims and the refresh token of session
    /// `request.id` of `request.subject` when it is live at `request.now` and
    /// `request.token` is its current token (never the one rotation replaced): the
    /// session after a second factor is proved. The new token is current, no token is kept
    /// as replaced (the one presented is spent), and the refresh and rotation times are
    /// `now`. Returns the session as stored, or `None` when nothing changed.
    ///
    /// The default cannot do it in one step, so it refuses: a store that keeps second
    /// factors implements it.
    fn reissue<'a>(&'a self, request: Reissue<'a>) -> StoreFuture<'a, Option<Session>> {
        let _ = request;
        Box::pin(async {
            Err(StoreError::misconfigured(
                "this session store cannot reissue a session (second factors need it)",
            ))
        })
    }
}

/// Where second factors and recovery codes live, beside the sessions; see [`Factor`]. Each
/// operation is one atomic step, taking the time of the call, as for [`SessionStore`].
pub trait FactorStore: Send + Sync + 'static {
    /// Adds the pending `factor` unless its subject already holds `max` live factors (active,
    /// or pending and not expired; the expired ones are dropped in the same step). `false`:
    /// too many, nothing added.
    fn add_factor(&self, factor: Factor, max: u32) -> StoreFuture<'_, bool>;
    /// The live factors of `subject` at `now` (active, and pending ones not expired), the
    /// oldest first.
    fn factors<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Factor>>;
    /// Confirms a pending factor; see [`Confirmed`] and [`Factor::accept`].
    fn confirm_factor<'a>(&'a self, request: Confirmation<'a>) -> StoreFuture<'a, Confirmed>;
    /// Accepts `step` for active factor `id` of `subject` if it is past the factor's last
    /// accepted step, recording it and `now` as its last use: of any number of calls with one
    /// step, one gets `true`.
    fn accept_step<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        step: i64,
        now: i64,
    ) -> StoreFuture<'a, bool>;
    /// Removes factor `id` of `subject` (active or pending). `None`: no such factor. Otherwise
    /// how many active factors the subject has left; with none left, its recovery codes go
    /// too, in the same step.
    fn remove_factor<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<usize>>;
    /// Replaces the recovery codes (hashed) of `subject`, if it has an active factor at `now`:
    /// `false` when it has none, and nothing is stored.
    fn replace_recovery<'a>(
        &'a self,
        subject: &'a str,
        codes: &'a [String],
        now: i64,
    ) -> StoreFuture<'a, bool>;
    /// Spends recovery code `code` (hashed) of `subject`: `true` once, for one of any number
    /// of calls with it, and only while the subject has an active factor.
    fn spend_recovery<'a>(
        &'a self,
        subject: &'a str,
        code: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool>;
    /// How many recovery codes `subject` has left.
    fn recovery_left<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize>;
    /// Adds the passkey `factor` (active, with its [`credential`](Factor::credential)) unless
    /// its subject already holds `max` live factors or a factor of any subject has its
    /// credential id; as the subject's first active factor, with the recovery codes (hashed)
    /// given. See [`Registered`].
    fn add_credential<'a>(
        &'a self,
        factor: Factor,
        max: u32,
        recovery: &'a [String],
    ) -> StoreFuture<'a, Registered>;
    /// The active factor whose credential id is `credential`, whoever holds it.
    fn credential<'a>(&'a self, credential: &'a str) -> StoreFuture<'a, Option<Factor>>;
    /// Records a passkey sign-in if [`CredentialUse::fits`] the factor as stored: of any
    /// number of calls with one counter, one gets `true` (none when the counter is not past the
    /// stored one).
    fn use_credential<'a>(&'a self, request: CredentialUse<'a>) -> StoreFuture<'a, bool>;
    /// Names factor `id` of `subject` (any live one) `name`; `false`: no such factor.
    fn rename_factor<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        name: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool>;
    /// Keeps `state` under `key` (a fresh random challenge) until `expires_at`, Unix seconds. A
    /// store may drop a challenge early to stay within its bounds: its user asks again.
    fn put_challenge<'a>(
        &'a self,
        key: &'a str,
        state: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, ()>;
    /// Takes the state under `key` if it has not expired at `now`: of any number of calls, one
    /// gets it, and it is gone after.
    fn take_challenge<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, Option<String>>;
}
