//! The in-memory session store.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use super::{RefreshRequest, Refreshed, Session, SessionStore, StoreError, StoreFuture};
use crate::clock::unix_now;

#[derive(Default)]
struct State {
    sessions: HashMap<String, Session>,
    by_subject: HashMap<String, HashSet<String>>,
    /// (expires_at, id) of every session that expires, soonest first.
    expiry: BTreeSet<(i64, String)>,
}

impl State {
    fn remove(&mut self, id: &str) -> Option<Session> {
        let session = self.sessions.remove(id)?;
        if let Some(ids) = self.by_subject.get_mut(&session.subject) {
            ids.remove(id);
            if ids.is_empty() {
                self.by_subject.remove(&session.subject);
            }
        }
        if let Some(at) = session.expires_at {
            self.expiry.remove(&(at, session.id.clone()));
        }
        Some(session)
    }

    /// Drops every session that has expired: memory stays bounded by the live sessions.
    fn evict(&mut self, now: i64) {
        while let Some((at, id)) = self.expiry.first().cloned() {
            if at > now {
                break;
            }
            self.remove(&id);
        }
    }
}

/// Sessions in this process's memory; expired sessions are evicted as time passes.
///
/// Sessions do not survive a restart and are not shared between instances.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("sessions", &self.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than losing every session, so a poisoned lock is taken over.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.evict(unix_now());
        state
    }

    /// How many live sessions are held.
    pub fn len(&self) -> usize {
        self.state().sessions.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SessionStore for MemoryStore {
    fn create(&self, session: Session) -> StoreFuture<'_, ()> {
        let mut state = self.state();
        state.remove(&session.id);
        if let Some(at) = session.expires_at {
            state.expiry.insert((at, session.id.clone()));
        }
        state
            .by_subject
            .entry(session.subject.clone())
            .or_default()
            .insert(session.id.clone());
        state.sessions.insert(session.id.clone(), session);
        Box::pin(std::future::ready(Ok(())))
    }

    fn refresh<'a>(&'a self, request: RefreshRequest<'a>) -> StoreFuture<'a, Refreshed> {
        let mut state = self.state();
        let Some(session) = state
            .sessions
            .get(request.id)
            .filter(|s| s.is_live(request.now))
            .cloned()
        else {
            return Box::pin(std::future::ready(Ok(Refreshed::Gone)));
        };
        let (outcome, keep) = Refreshed::decide(session, &request);
        match keep {
            Some(session) => {
                state.sessions.insert(session.id.clone(), session);
            }
            None => {
                state.remove(request.id);
            }
        }
        Box::pin(std::future::ready(Ok(outcome)))
    }

    fn is_live<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        let live = self
            .state()
            .sessions
            .get(id)
            .is_some_and(|s| s.is_live(now));
        Box::pin(std::future::ready(Ok(live)))
    }

    fn revoke<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        let removed = self.state().remove(id).is_some();
        Box::pin(std::future::ready(Ok(removed)))
    }

    fn revoke_subject<'a>(
        &'a self,
        subject: &'a str,
        keep: Option<&'a str>,
    ) -> StoreFuture<'a, usize> {
        let mut state = self.state();
        let ids: Vec<String> = state
            .by_subject
            .get(subject)
            .map(|ids| {
                ids.iter()
                    .filter(|id| Some(id.as_str()) != keep)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let count = ids.iter().filter(|id| state.remove(id).is_some()).count();
        Box::pin(std::future::ready(Ok(count)))
    }

    fn list<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, Vec<Session>> {
        let state = self.state();
        let mut sessions: Vec<Session> = state
            .by_subject
            .get(subject)
            .into_iter()
            .flatten()
            .filter_map(|id| state.sessions.get(id).cloned())
            .collect();
        sessions.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Box::pin(std::future::ready(Ok::<_, StoreError>(sessions)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<T>(future: StoreFuture<'_, T>) -> T {
        let runtime = tokio::runtime::Builder::new_current_thread().build();
        match runtime.map(|rt| rt.block_on(future)) {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => panic!("{e}"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn expired_sessions_are_evicted() {
        let store = MemoryStore::new();
        let now = unix_now();
        block(store.create(Session::new(
            "old",
            "ada",
            None,
            "{}",
            now - 10,
            Some(now - 1),
        )));
        block(store.create(Session::new("new", "ada", None, "{}", now, Some(now + 60))));
        block(store.create(Session::new("forever", "ada", None, "{}", now, None)));
        assert_eq!(store.len(), 2);
        assert_eq!(
            block(store.refresh(RefreshRequest::keep("old", "", now))),
            Refreshed::Gone
        );
        let state = store.state();
        assert_eq!(state.expiry.len(), 1);
        assert_eq!(state.by_subject.get("ada").map(HashSet::len), Some(2));
    }

    #[test]
    fn revoke_subject_keeps_the_named_session() {
        let store = MemoryStore::new();
        let now = unix_now();
        for id in ["a", "b", "c"] {
            block(store.create(Session::new(id, "ada", None, "{}", now, None)));
        }
        block(store.create(Session::new("d", "bob", None, "{}", now, None)));
        assert_eq!(block(store.revoke_subject("ada", Some("b"))), 2);
        let left: Vec<_> = block(store.list("ada")).into_iter().map(|s| s.id).collect();
        assert_eq!(left, ["b"]);
        assert_eq!(block(store.list("bob")).len(), 1);
    }

    #[test]
    fn refresh_stamps_the_time() {
        let store = MemoryStore::new();
        let now = unix_now();
        block(store.create(Session::new("s", "ada", None, "{}", now, None)));
        let Refreshed::Current(session) =
            block(store.refresh(RefreshRequest::keep("s", "", now + 5)))
        else {
            panic!("not refreshed");
        };
        assert_eq!(session.refreshed_at, now + 5);
    }

    #[test]
    fn rotation_replaces_then_detects_reuse() {
        let store = MemoryStore::new();
        let now = unix_now();
        let mut session = Session::new("s", "ada", None, "{}", now, None);
        session.token = "t1".to_owned();
        block(store.create(session));
        let rotate = |token, new, at| RefreshRequest::rotate("s", token, at, new, 10);
        assert!(
            matches!(block(store.refresh(rotate("t1", "t2", now))), Refreshed::Current(s) if s.token == "t2")
        );
        // Within the grace, the old token gets the current one and rotates nothing.
        assert!(
            matches!(block(store.refresh(rotate("t1", "t3", now + 5))), Refreshed::Replaced(s) if s.token == "t2")
        );
        // After it, the old token ends the session.
        assert!(matches!(
            block(store.refresh(rotate("t1", "t4", now + 11))),
            Refreshed::Reused(_)
        ));
        assert_eq!(
            block(store.refresh(rotate("t2", "t5", now + 12))),
            Refreshed::Gone
        );
    }
}
