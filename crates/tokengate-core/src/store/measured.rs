//! A session store and an attempt counter as the gate uses them: every operation timed, and
//! counted when it fails, by store and operation ([`crate::telemetry`]). The store's own
//! methods are all forwarded, its keyed read and reissue included.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokengate_store::{
    AttemptCounter, FactorStore, RefreshRequest, Refreshed, Reissue, Reservation, Session,
    SessionStore, StoreError, StoreFuture, SubjectRevocation,
};

use crate::telemetry::{STORE_ERRORS, STORE_SECONDS};

/// The operations timed, each with its label.
#[derive(Debug, Clone, Copy)]
enum Operation {
    Create,
    Refresh,
    IsLive,
    Revoke,
    RevokeSubject,
    List,
    Session,
    Reissue,
    Reserve,
    Release,
    Clear,
}

impl Operation {
    const ALL: [Self; 11] = [
        Self::Create,
        Self::Refresh,
        Self::IsLive,
        Self::Revoke,
        Self::RevokeSubject,
        Self::List,
        Self::Session,
        Self::Reissue,
        Self::Reserve,
        Self::Release,
        Self::Clear,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Refresh => "refresh",
            Self::IsLive => "is_live",
            Self::Revoke => "revoke",
            Self::RevokeSubject => "revoke_subject",
            Self::List => "list",
            Self::Session => "session",
            Self::Reissue => "reissue",
            Self::Reserve => "reserve",
            Self::Release => "release",
            Self::Clear => "clear",
        }
    }
}

/// The histogram and the error counter of one operation of one store.
struct Meter {
    seconds: metrics::Histogram,
    errors: metrics::Counter,
}

/// Every operation's meter for one store, looked up once.
struct Meters([Meter; Operation::ALL.len()]);

impl Meters {
    fn new(store: &'static str) -> Self {
        Self(Operation::ALL.map(|operation| Meter {
            seconds: metrics::histogram!(STORE_SECONDS, "store" => store, "operation" => operation.label()),
            errors: metrics::counter!(STORE_ERRORS, "store" => store, "operation" => operation.label()),
        }))
    }

    /// `work`, timed and counted as `operation`.
    fn time<'a, T: 'a>(
        &'a self,
        operation: Operation,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'a,
    ) -> StoreFuture<'a, T> {
        let meter = &self.0[operation as usize];
        Box::pin(async move {
            let started = Instant::now();
            let result = work.await;
            meter.seconds.record(started.elapsed().as_secs_f64());
            if result.is_err() {
                meter.errors.increment(1);
            }
            result
        })
    }
}

/// A session store whose operations are timed.
pub(crate) struct MeasuredStore {
    inner: Arc<dyn SessionStore>,
    meters: Meters,
}

impl MeasuredStore {
    pub(crate) fn new(inner: Arc<dyn SessionStore>) -> Self {
        let meters = Meters::new(inner.name());
        Self { inner, meters }
    }
}

impl SessionStore for MeasuredStore {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn create(&self, session: Session, max_sessions: Option<u32>) -> StoreFuture<'_, Vec<String>> {
        self.meters
            .time(Operation::Create, self.inner.create(session, max_sessions))
    }

    fn refresh<'a>(&'a self, request: RefreshRequest<'a>) -> StoreFuture<'a, Refreshed> {
        self.meters
            .time(Operation::Refresh, self.inner.refresh(request))
    }

    fn is_live<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        self.meters
            .time(Operation::IsLive, self.inner.is_live(subject, id, now))
    }

    fn revoke<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        self.meters
            .time(Operation::Revoke, self.inner.revoke(subject, id, now))
    }

    fn revoke_subject<'a>(
        &'a self,
        request: SubjectRevocation<'a>,
    ) -> StoreFuture<'a, Option<Vec<String>>> {
        self.meters
            .time(Operation::RevokeSubject, self.inner.revoke_subject(request))
    }

    fn list<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Session>> {
        self.meters
            .time(Operation::List, self.inner.list(subject, now))
    }

    fn shared_counter(self: Arc<Self>) -> Option<Arc<dyn AttemptCounter>> {
        Arc::clone(&self.inner).shared_counter()
    }

    fn factor_store(self: Arc<Self>) -> Option<Arc<dyn FactorStore>> {
        Arc::clone(&self.inner).factor_store()
    }

    fn session<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<Session>> {
        self.meters
            .time(Operation::Session, self.inner.session(subject, id, now))
    }

    fn reissue<'a>(&'a self, request: Reissue<'a>) -> StoreFuture<'a, Option<Session>> {
        self.meters
            .time(Operation::Reissue, self.inner.reissue(request))
    }
}

/// An attempt counter whose operations are timed, under the name of the store that keeps it.
pub(crate) struct MeasuredCounter {
    inner: Arc<dyn AttemptCounter>,
    meters: Meters,
}

impl MeasuredCounter {
    pub(crate) fn new(inner: Arc<dyn AttemptCounter>, store: &'static str) -> Self {
        Self {
            inner,
            meters: Meters::new(store),
        }
    }
}

impl AttemptCounter for MeasuredCounter {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        limit: u32,
        window: u64,
        now: i64,
    ) -> StoreFuture<'a, Reservation> {
        self.meters.time(
            Operation::Reserve,
            self.inner.reserve(key, limit, window, now),
        )
    }

    fn release<'a>(&'a self, key: &'a str, ends_at: i64) -> StoreFuture<'a, ()> {
        self.meters
            .time(Operation::Release, self.inner.release(key, ends_at))
    }

    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.meters.time(Operation::Clear, self.inner.clear(key))
    }
}
