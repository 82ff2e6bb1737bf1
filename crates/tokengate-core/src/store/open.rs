//! The store a configuration names: the one place where `store = "..."` is read.

use std::sync::Arc;

use super::{MemoryStore, SessionStore};
use crate::config::{StoreSettings, REDIS_SCHEMES, STORE_SCHEMES};
use tokengate_store::{AttemptCounter, StoreError};

/// The store named by a `store` setting, and the failure counter that goes with it when the
/// store counts sign-in attempts too (SQLite and Redis do, so that a restart or another
/// instance does not reset them).
#[derive(Clone)]
#[non_exhaustive]
pub struct Opened {
    /// Where sessions live.
    pub sessions: Arc<dyn SessionStore>,
    /// Where failed sign-ins are counted, when the store does it.
    pub failures: Option<Arc<dyn AttemptCounter>>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("failures", &self.failures.is_some())
            .finish_non_exhaustive()
    }
}

/// Opens the store `url` names — `memory`, `sqlite://path` (feature `sqlite`) or
/// `redis://host:port/db` / `rediss://...` / `redis+cluster://host:port,host:port,...` /
/// `redis+sentinel://host:port,host:port,.../<master name>` (feature `redis`; keys under
/// `prefix`) or `postgres://...` (feature `postgres`). `Err`
/// says what is wrong, or which feature to enable: [`Misconfigured`] for a URL no store
/// takes, the store's own error otherwise.
///
/// [`Misconfigured`]: tokengate_store::StoreErrorKind::Misconfigured
pub fn open(url: &str, prefix: &str) -> Result<Opened, StoreError> {
    let settings = StoreSettings {
        url: url.to_owned(),
        prefix: prefix.to_owned(),
        ..StoreSettings::default()
    };
    open_with(&settings)
}

/// The store `settings` name, with its other settings (the PostgreSQL schema, pool size and
/// statement timeout; the replicas a Redis revocation waits for).
pub fn open_with(settings: &StoreSettings) -> Result<Opened, StoreError> {
    let (url, prefix) = (settings.url.as_str(), settings.prefix.as_str());
    let url = url.trim();
    if url == "memory" {
        return Ok(Opened {
            sessions: Arc::new(MemoryStore::new()),
            failures: None,
        });
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        return sqlite(path);
    }
    if REDIS_SCHEMES.iter().any(|scheme| url.starts_with(scheme)) {
        return redis(url, prefix, settings);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return postgres(settings);
    }
    Err(StoreError::misconfigured(format!(
        "expected {STORE_SCHEMES}"
    )))
}

#[cfg(feature = "sqlite")]
fn sqlite(path: &str) -> Result<Opened, StoreError> {
    let store = tokengate_sqlite::SqliteStore::open(path)?;
    Ok(Opened {
        failures: Some(Arc::new(store.clone())),
        sessions: Arc::new(store),
    })
}

#[cfg(not(feature = "sqlite"))]
fn sqlite(_: &str) -> Result<Opened, StoreError> {
    Err(StoreError::misconfigured(
        "a SQLite store needs the `sqlite` feature of tokengate",
    ))
}

#[cfg(feature = "redis")]
fn redis(url: &str, prefix: &str, settings: &StoreSettings) -> Result<Opened, StoreError> {
    let store = tokengate_redis::RedisStore::open(url, prefix)?
        .wait_for_replicas(settings.wait_replicas, settings.wait_timeout);
    Ok(Opened {
        failures: Some(Arc::new(store.clone())),
        sessions: Arc::new(store),
    })
}

#[cfg(not(feature = "redis"))]
fn redis(_: &str, _: &str, _: &StoreSettings) -> Result<Opened, StoreError> {
    Err(StoreError::misconfigured(
        "a Redis store needs the `redis` feature of tokengate",
    ))
}

#[cfg(feature = "postgres")]
fn postgres(settings: &StoreSettings) -> Result<Opened, StoreError> {
    let store = tokengate_postgres::PostgresStore::open_tuned(
        settings.url.trim(),
        &settings.schema,
        &settings.prefix,
        settings.pool_size,
        settings.timeout,
    )?;
    Ok(Opened {
        failures: Some(Arc::new(store.clone())),
        sessions: Arc::new(store),
    })
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: &StoreSettings) -> Result<Opened, StoreError> {
    Err(StoreError::misconfigured(
        "a PostgreSQL store needs the `postgres` feature of tokengate",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokengate_store::StoreErrorKind;

    #[test]
    fn memory_is_a_store_without_a_counter_of_its_own() {
        let opened = open("memory", "tokengate").unwrap();
        assert!(opened.failures.is_none());
    }

    #[test]
    fn an_unknown_scheme_lists_the_known_ones() {
        let error = open("mongodb://db", "tokengate").unwrap_err();
        assert!(error.message().contains("sqlite://"), "{error}");
        assert_eq!(error.kind(), StoreErrorKind::Misconfigured);
    }

    #[cfg(not(feature = "redis"))]
    #[test]
    fn redis_without_its_feature_names_the_feature() {
        let error = open("redis://127.0.0.1/0", "tokengate").unwrap_err();
        assert!(error.message().contains("`redis` feature"), "{error}");
        assert_eq!(error.kind(), StoreErrorKind::Misconfigured);
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_counts_attempts_too() {
        let path = std::env::temp_dir().join(format!("tokengate-open-{}.db", std::process::id()));
        let opened = open(&format!("sqlite://{}", path.display()), "tokengate").unwrap();
        assert!(opened.failures.is_some());
        drop(opened);
        let _ = std::fs::remove_file(path);
    }
}
