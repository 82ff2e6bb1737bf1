//! Sessions: each sign-in opens one; a refresh token is valid only while its session is.
//!
//! [`SessionStore`] is designed so that each operation is one atomic step (one round trip for a
//! networked store). [`MemoryStore`] is the default, for one process.
//!
//! # Example
//!
//! ```
//! use tokengate_core::store::{MemoryStore, Session, SessionStore};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let session = Session::new("s1", "ada", None, "{}", 1_000, Some(i64::MAX));
//! store.create(session).await?;
//! assert!(store.refresh("s1", 1_010).await?.is_some());
//! assert!(store.revoke("s1").await?);
//! assert!(store.refresh("s1", 1_020).await?.is_none());
//! # Ok::<(), tokengate_core::store::StoreError>(())
//! # }).unwrap();
//! ```

mod memory;

use std::future::Future;
use std::pin::Pin;

pub use memory::MemoryStore;

/// One signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
        }
    }

    /// Whether the session is still live at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// The store could not be reached or answered nonsense; endpoints answer 503.
#[derive(Debug, thiserror::Error)]
#[error("session store error: {0}")]
pub struct StoreError(pub String);

/// A boxed future, as returned by [`SessionStore`].
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where sessions live.
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new session.
    fn create(&self, session: Session) -> StoreFuture<'_, ()>;
    /// Returns the session if it is live at `now`, and records `now` as its last refresh.
    fn refresh<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, Option<Session>>;
    /// Ends one session; `true` if it was live.
    fn revoke<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;
    /// Ends every session of `subject` except `keep`; returns how many ended.
    fn revoke_subject<'a>(
        &'a self,
        subject: &'a str,
        keep: Option<&'a str>,
    ) -> StoreFuture<'a, usize>;
    /// The live sessions of `subject`.
    fn list<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, Vec<Session>>;
}
