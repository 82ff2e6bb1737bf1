//! Sessions: each sign-in opens one; a refresh token is valid only while its session is.
//!
//! The contract ([`SessionStore`], [`AttemptCounter`](crate::throttle::AttemptCounter)) and its
//! suite ([`testing`], feature `test-util`) come from `tokengate-store`. [`MemoryStore`] is the
//! default, for one process; `store = "sqlite://path"`, `store = "redis://..."` and
//! `store = "postgres://..."` name the SQLite, Redis and PostgreSQL stores (features `sqlite`,
//! `redis` and `postgres`), and [`open`] is where those names are read.
//!
//! # Example
//!
//! ```
//! use tokengate::store::{MemoryStore, RefreshRequest, Refreshed, Session, SessionStore};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let mut session = Session::new("s1", "ada", None, "{}", 1_000, Some(i64::MAX));
//! session.token = "jti-1".to_owned();
//! store.create(session, None).await?;
//! let refreshed = store.refresh(RefreshRequest::keep("ada", "s1", "jti-1", 1_010)).await?;
//! assert!(matches!(refreshed, Refreshed::Current(_)));
//! assert!(store.revoke("ada", "s1", 1_015).await?);
//! let refreshed = store.refresh(RefreshRequest::keep("ada", "s1", "jti-1", 1_020)).await?;
//! assert!(matches!(refreshed, Refreshed::Gone));
//! # Ok::<(), tokengate::store::StoreError>(())
//! # }).unwrap();
//! ```

mod measured;
mod memory;
mod memory_factors;
mod open;

pub(crate) use measured::{MeasuredCounter, MeasuredStore};
pub use memory::MemoryStore;
pub use open::{open, open_with, Opened};
/// The PostgreSQL store (feature `postgres`).
#[cfg(feature = "postgres")]
pub use tokengate_postgres::PostgresStore;
/// The Redis store (feature `redis`).
#[cfg(feature = "redis")]
pub use tokengate_redis::RedisStore;
/// The SQLite store (feature `sqlite`).
#[cfg(feature = "sqlite")]
pub use tokengate_sqlite::SqliteStore;
#[cfg(feature = "test-util")]
pub use tokengate_store::testing;
pub use tokengate_store::{
    Confirmation, Confirmed, CredentialUse, Factor, FactorStore, Presented, RefreshRequest,
    Refreshed, Registered, Reissue, Session, SessionStore, StoreError, StoreErrorKind, StoreFuture,
    SubjectRevocation,
};
