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
pub use session::{evicted, Presented, RefreshRequest, Refreshed, Session, SubjectRevocation};

/// A boxed future, as returned by [`SessionStore`] and [`AttemptCounter`].
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where sessions live. A session is addressed by its subject and its id, so that a store may
/// keep all of a subject's sessions together (one Redis Cluster slot).
pub trait SessionStore: Send + Sync + 'static {
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
}
