//! The keyed session reads of `/token`, batched while the database is busy.
//!
//! A read waits for one of as many slots as the pool has connections; whoever gets a slot
//! takes every read waiting then (its own, or others' too, up to [`BATCH`]) and sends them as
//! one statement. An idle store sends each read alone, as soon as it comes; under load, the
//! reads that queued while every connection was busy go together, so the database parses,
//! plans and answers one statement for many `/token` calls instead of one each.
//!
//! The statement runs on a task of its own: a caller that goes away (a client that hung up)
//! never strands the reads it took for others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::postgres::PgRow;
use tokengate_store::{Session, StoreError};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::PostgresStore;

/// The most reads one statement carries.
pub(crate) const BATCH: usize = 64;

/// What a read answers.
type Answer = Result<Option<Session>, StoreError>;

/// A read waiting to be sent: which session, live at when, and where its answer goes.
struct Waiting {
    subject: String,
    id: String,
    now: i64,
    answer: oneshot::Sender<Answer>,
}

/// The reads waiting, and the slots that send them.
pub(crate) struct Reads {
    waiting: Mutex<Vec<Waiting>>,
    slots: Arc<Semaphore>,
}

impl Reads {
    /// Reads sent through at most `slots` statements at a time.
    pub(crate) fn new(slots: usize) -> Self {
        Self {
            waiting: Mutex::new(Vec::new()),
            slots: Arc::new(Semaphore::new(slots.max(1))),
        }
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PostgresStore {
    /// Session `id` of `subject`, if live at `now`, read with whatever other reads are
    /// waiting (see the module).
    pub(crate) async fn read_session(
        &self,
        subject: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let (answer, mut answered) = oneshot::channel();
        self.reads.waiting().push(Waiting {
            subject: subject.to_owned(),
            id: id.to_owned(),
            now,
            answer,
        });
        // Every read queued is taken by whoever gets the next slot: this read's own caller,
        // or another whose statement answers it.
        let slot = tokio::select! {
            biased;
            answer = &mut answered => return settled(answer),
            slot = Arc::clone(&self.reads.slots).acquire_owned() => slot,
        };
        let batch: Vec<Waiting> = {
            let mut waiting = self.reads.waiting();
            let take = waiting.len().min(BATCH);
            waiting.drain(..take).collect()
        };
        match (batch.is_empty(), slot) {
            (false, Ok(slot)) => {
                let store = self.clone();
                tokio::spawn(async move { store.send_reads(batch, slot).await });
            }
            // Taken by another statement already; the slot goes back.
            (_, slot) => drop(slot),
        }
        settled(answered.await)
    }

    /// Sends `batch` as one statement and answers each read; the slot is held until then.
    async fn send_reads(&self, batch: Vec<Waiting>, slot: OwnedSemaphorePermit) {
        let found = self.select_sessions(&batch).await;
        drop(slot);
        match found {
            Ok(mut sessions) => {
                for read in batch {
                    let session = sessions
                        .get(&(read.id, read.subject))
                        .filter(|session| session.is_live(read.now))
                        .cloned();
                    let _ = read.answer.send(Ok(session));
                }
                sessions.clear();
            }
            Err(error) => {
                for read in batch {
                    let _ = read.answer.send(Err(error.clone()));
                }
            }
        }
    }

    /// The sessions of `batch` live at its earliest `now`, by id and subject.
    async fn select_sessions(
        &self,
        batch: &[Waiting],
    ) -> Result<HashMap<(String, String), Session>, StoreError> {
        let ids: Vec<&str> = batch.iter().map(|read| read.id.as_str()).collect();
        let subjects: Vec<&str> = batch.iter().map(|read| read.subject.as_str()).collect();
        let earliest = batch.iter().map(|read| read.now).min().unwrap_or(0);
        let rows: Vec<PgRow> = sqlx::query(&self.sql.sessions)
            .bind(&*self.ns)
            .bind(&ids)
            .bind(&subjects)
            .bind(earliest)
            .fetch_all(self.pool().await?)
            .await
            .map_err(crate::failed)?;
        rows.iter()
            .map(|row| {
                let session = crate::session(row, 0).map_err(crate::failed)?;
                Ok(((session.id.clone(), session.subject.clone()), session))
            })
            .collect()
    }
}

/// A read's answer; a statement that never answered (its task ended early) is a store that
/// cannot say.
fn settled(answer: Result<Answer, oneshot::error::RecvError>) -> Answer {
    answer.unwrap_or_else(|_| {
        Err(StoreError::unreachable(
            "postgres: the read was not answered",
        ))
    })
}
