//! The in-memory session store, compact: a live session costs about 200 bytes.
//!
//! Ids and token ids (22 base64url characters for the ones tokengate makes) are kept as their
//! 16 bytes; the subject, its claims and the application are shared between the sessions that
//! have the same; expired sessions are swept out as sessions are added, so memory stays bounded
//! by the live ones without an expiry index.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use tokengate_store::{
    Confirmation, Confirmed, CredentialUse, Factor, FactorStore, RefreshRequest, Refreshed,
    Registered, Reissue, Session, SessionStore, StoreError, StoreFuture, SubjectRevocation,
};

use super::memory_factors::MemoryFactors;

use crate::clock::unix_now;

/// An id: 16 bytes when it is 22 base64url characters (every id tokengate makes), else text.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Id {
    Packed([u8; 16]),
    Text(Box<str>),
}

impl Id {
    fn new(text: &str) -> Self {
        let mut bytes = [0u8; 16];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut bytes) {
            // Only when encoding back gives the very same text (canonical base64url).
            Ok(16) if text.len() == 22 && URL_SAFE_NO_PAD.encode(bytes) == text => {
                Self::Packed(bytes)
            }
            _ => Self::Text(text.into()),
        }
    }

    fn text(&self) -> String {
        match self {
            Self::Packed(bytes) => URL_SAFE_NO_PAD.encode(bytes),
            Self::Text(text) => text.to_string(),
        }
    }
}

/// Who a session belongs to, shared by the sessions with the same subject, claims and
/// application.
#[derive(PartialEq, Eq)]
struct Who {
    subject: Arc<str>,
    claims: Box<str>,
    application: Option<Arc<str>>,
}

/// No expiry, in [`Entry::expires_at`].
const NEVER: i64 = i64::MAX;

/// One session, as kept: 56 bytes besides its id (the token that rotation replaced last is
/// kept apart, in [`State::previous`], as most sessions never rotate).
struct Entry {
    who: Arc<Who>,
    token: Id,
    created_at: i64,
    /// `NEVER` for an unlimited session.
    expires_at: i64,
    /// Seconds after `created_at`.
    refreshed: u32,
    /// Seconds after `created_at`.
    rotated: u32,
    /// The client that signed in, when known.
    client: Option<Box<Client>>,
}

/// The user agent and address a session was opened from.
struct Client {
    user_agent: Option<Box<str>>,
    address: Option<Box<str>>,
}

/// Seconds from `from` to `to`, as kept (a session is not refreshed 136 years after it began).
fn offset(from: i64, to: i64) -> u32 {
    u32::try_from(to.saturating_sub(from).max(0)).unwrap_or(u32::MAX)
}

impl Entry {
    fn is_live(&self, now: i64) -> bool {
        self.expires_at > now
    }

    fn session(&self, id: &Id, previous: Option<&Id>) -> Session {
        Session {
            id: id.text(),
            subject: self.who.subject.to_string(),
            application: self.who.application.as_deref().map(str::to_owned),
            claims: self.who.claims.to_string(),
            created_at: self.created_at,
            refreshed_at: self.created_at + i64::from(self.refreshed),
            expires_at: (self.expires_at != NEVER).then_some(self.expires_at),
            token: self.token.text(),
            previous: previous.map(Id::text),
            rotated_at: self.created_at + i64::from(self.rotated),
            user_agent: self
                .client
                .as_ref()
                .and_then(|client| client.user_agent.as_deref().map(str::to_owned)),
            address: self
                .client
                .as_ref()
                .and_then(|client| client.address.as_deref().map(str::to_owned)),
        }
    }
}

/// The sessions of one subject, and whom its latest session belongs to.
struct Subject {
    ids: HashSet<Id>,
    who: Arc<Who>,
}

#[derive(Default)]
struct State {
    sessions: HashMap<Id, Entry>,
    subjects: HashMap<Arc<str>, Subject>,
    applications: HashSet<Arc<str>>,
    /// Session id → the token id that rotation replaced last.
    previous: HashMap<Id, Id>,
    /// Sessions added since the last sweep of expired ones.
    added: usize,
}

impl State {
    fn session(&self, id: &Id, now: i64) -> Option<Session> {
        self.sessions
            .get(id)
            .filter(|entry| entry.is_live(now))
            .map(|entry| entry.session(id, self.previous.get(id)))
    }

    fn remove(&mut self, id: &Id) -> Option<Entry> {
        let entry = self.sessions.remove(id)?;
        self.previous.remove(id);
        if let Some(subject) = self.subjects.get_mut(&entry.who.subject) {
            subject.ids.remove(id);
            if subject.ids.is_empty() {
                self.subjects.remove(&entry.who.subject);
            }
        }
        Some(entry)
    }

    /// The shared [`Who`] of a session, made anew only when its subject's latest differs.
    fn who(&mut self, session: &Session) -> Arc<Who> {
        if let Some(subject) = self.subjects.get(session.subject.as_str()) {
            let who = &subject.who;
            if *who.claims == *session.claims
                && who.application.as_deref() == session.application.as_deref()
            {
                return Arc::clone(who);
            }
        }
        let subject: Arc<str> = match self.subjects.get_key_value(session.subject.as_str()) {
            Some((key, _)) => Arc::clone(key),
            None => session.subject.as_str().into(),
        };
        let application = session.application.as_deref().map(|name| {
            if let Some(known) = self.applications.get(name) {
                return Arc::clone(known);
            }
            let name: Arc<str> = name.into();
            self.applications.insert(Arc::clone(&name));
            name
        });
        Arc::new(Who {
            subject,
            claims: session.claims.as_str().into(),
            application,
        })
    }

    fn insert(&mut self, session: &Session) {
        let id = Id::new(&session.id);
        self.remove(&id);
        let who = self.who(session);
        let subject = self
            .subjects
            .entry(Arc::clone(&who.subject))
            .or_insert_with(|| Subject {
                ids: HashSet::new(),
                who: Arc::clone(&who),
            });
        subject.who = Arc::clone(&who);
        subject.ids.insert(id.clone());
        if let Some(previous) = session.previous.as_deref() {
            self.previous.insert(id.clone(), Id::new(previous));
        }
        self.sessions.insert(
            id,
            Entry {
                who,
                token: Id::new(&session.token),
                created_at: session.created_at,
                expires_at: session.expires_at.unwrap_or(NEVER),
                refreshed: offset(session.created_at, session.refreshed_at),
                rotated: offset(session.created_at, session.rotated_at),
                client: (session.user_agent.is_some() || session.address.is_some()).then(|| {
                    Box::new(Client {
                        user_agent: session.user_agent.as_deref().map(Box::from),
                        address: session.address.as_deref().map(Box::from),
                    })
                }),
            },
        );
    }

    /// The subject's least recently used live sessions that a new one makes too many, when
    /// it may hold `max`: removed, their ids returned.
    fn evict(&mut self, subject: &str, new: &Id, max: u32, now: i64) -> Vec<String> {
        let others: Vec<Session> = self
            .subjects
            .get(subject)
            .into_iter()
            .flat_map(|found| found.ids.iter())
            .filter(|id| *id != new)
            .filter_map(|id| self.session(id, now))
            .collect();
        let evicted: Vec<String> = tokengate_store::evicted(&others, max)
            .into_iter()
            .map(|session| session.id.clone())
            .collect();
        for id in &evicted {
            self.remove(&Id::new(id));
        }
        evicted
    }

    /// Drops the expired sessions once as many have been added as are held: amortised O(1)
    /// per session added, and memory stays within twice the live sessions.
    fn sweep(&mut self, now: i64) {
        self.added += 1;
        if self.added < self.sessions.len().max(64) {
            return;
        }
        self.added = 0;
        let expired: Vec<Id> = self
            .sessions
            .iter()
            .filter(|(_, entry)| !entry.is_live(now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            self.remove(id);
        }
    }
}

/// Sessions in this process's memory; expired sessions are swept out as time passes.
///
/// Sessions do not survive a restart and are not shared between instances.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    factors: MemoryFactors,
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
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many live sessions are held.
    pub fn len(&self) -> usize {
        let now = unix_now();
        self.state()
            .sessions
            .values()
            .filter(|entry| entry.is_live(now))
            .count()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SessionStore for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn create(&self, session: Session, max_sessions: Option<u32>) -> StoreFuture<'_, Vec<String>> {
        let mut state = self.state();
        let now = session.created_at;
        state.sweep(now);
        state.insert(&session);
        let evicted = match max_sessions {
            Some(max) => state.evict(&session.subject, &Id::new(&session.id), max, now),
            None => Vec::new(),
        };
        Box::pin(std::future::ready(Ok(evicted)))
    }

    fn refresh<'a>(&'a self, request: RefreshRequest<'a>) -> StoreFuture<'a, Refreshed> {
        let mut state = self.state();
        let id = Id::new(request.id);
        let Some(session) = state.session(&id, request.now) else {
            return Box::pin(std::future::ready(Ok(Refreshed::Gone)));
        };
        let (outcome, keep) = Refreshed::decide(session, &request);
        match keep {
            Some(session) => state.insert(&session),
            None => {
                state.remove(&id);
            }
        }
        Box::pin(std::future::ready(Ok(outcome)))
    }

    fn is_live<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        let live = self
            .state()
            .sessions
            .get(&Id::new(id))
            .is_some_and(|entry| entry.is_live(now) && &*entry.who.subject == subject);
        Box::pin(std::future::ready(Ok(live)))
    }

    fn revoke<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        let mut state = self.state();
        let id = Id::new(id);
        let owned = state
            .sessions
            .get(&id)
            .is_some_and(|entry| &*entry.who.subject == subject);
        let removed = owned && state.remove(&id).is_some_and(|entry| entry.is_live(now));
        Box::pin(std::future::ready(Ok(removed)))
    }

    fn revoke_subject<'a>(
        &'a self,
        request: SubjectRevocation<'a>,
    ) -> StoreFuture<'a, Option<Vec<String>>> {
        let mut state = self.state();
        let now = request.now;
        if let Some(by) = &request.by {
            let accepted = state
                .session(&Id::new(by.id), now)
                .is_some_and(|session| session.accepts(request.subject, by, now));
            if !accepted {
                return Box::pin(std::future::ready(Ok(None)));
            }
        }
        let ids: Vec<Id> = state
            .subjects
            .get(request.subject)
            .map(|found| {
                found
                    .ids
                    .iter()
                    .filter(|id| request.ends(&id.text()))
                    .filter(|id| request.at_most.is_none() || state.session(id, now).is_some())
                    .take(request.at_most.unwrap_or(usize::MAX))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let ended = ids
            .iter()
            .filter(|id| state.remove(id).is_some_and(|entry| entry.is_live(now)))
            .map(Id::text)
            .collect();
        Box::pin(std::future::ready(Ok(Some(ended))))
    }

    fn session<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<Session>> {
        let found = self
            .state()
            .session(&Id::new(id), now)
            .filter(|session| session.subject == subject);
        Box::pin(std::future::ready(Ok(found)))
    }

    fn list<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Session>> {
        let state = self.state();
        let mut sessions: Vec<Session> = state
            .subjects
            .get(subject)
            .into_iter()
            .flat_map(|found| found.ids.iter())
            .filter_map(|id| state.session(id, now))
            .collect();
        sessions.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Box::pin(std::future::ready(Ok::<_, StoreError>(sessions)))
    }

    fn factor_store(self: Arc<Self>) -> Option<Arc<dyn FactorStore>> {
        Some(self)
    }

    fn reissue<'a>(&'a self, request: Reissue<'a>) -> StoreFuture<'a, Option<Session>> {
        let mut state = self.state();
        let id = Id::new(request.id);
        let reissued = state
            .session(&id, request.now)
            .and_then(|session| request.apply(&session));
        if let Some(session) = &reissued {
            state.previous.remove(&id);
            state.insert(session);
        }
        Box::pin(std::future::ready(Ok(reissued)))
    }
}

/// Second factors, kept apart from the sessions (a lock of their own).
impl FactorStore for MemoryStore {
    fn add_factor(&self, factor: Factor, max: u32) -> StoreFuture<'_, bool> {
        self.factors.add_factor(factor, max)
    }

    fn factors<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Factor>> {
        self.factors.factors(subject, now)
    }

    fn confirm_factor<'a>(&'a self, request: Confirmation<'a>) -> StoreFuture<'a, Confirmed> {
        self.factors.confirm_factor(request)
    }

    fn accept_step<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        step: i64,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        self.factors.accept_step(subject, id, step, now)
    }

    fn remove_factor<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<usize>> {
        self.factors.remove_factor(subject, id, now)
    }

    fn replace_recovery<'a>(
        &'a self,
        subject: &'a str,
        codes: &'a [String],
        now: i64,
    ) -> StoreFuture<'a, bool> {
        self.factors.replace_recovery(subject, codes, now)
    }

    fn spend_recovery<'a>(
        &'a self,
        subject: &'a str,
        code: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        self.factors.spend_recovery(subject, code, now)
    }

    fn recovery_left<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        self.factors.recovery_left(subject)
    }

    fn add_credential<'a>(
        &'a self,
        factor: Factor,
        max: u32,
        recovery: &'a [String],
    ) -> StoreFuture<'a, Registered> {
        self.factors.add_credential(factor, max, recovery)
    }

    fn credential<'a>(&'a self, credential: &'a str) -> StoreFuture<'a, Option<Factor>> {
        self.factors.credential(credential)
    }

    fn use_credential<'a>(&'a self, request: CredentialUse<'a>) -> StoreFuture<'a, bool> {
        self.factors.use_credential(request)
    }

    fn rename_factor<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        name: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        self.factors.rename_factor(subject, id, name, now)
    }

    fn put_challenge<'a>(
        &'a self,
        key: &'a str,
        state: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, ()> {
        self.factors.put_challenge(key, state, expires_at)
    }

    fn take_challenge<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, Option<String>> {
        self.factors.take_challenge(key, now)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Runs a store operation to its end, on a runtime of its own.
    pub(in crate::store) fn block<T>(future: StoreFuture<'_, T>) -> T {
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
        block(store.create(
            Session::new("old", "ada", None, "{}", now - 10, Some(now - 1)),
            None,
        ));
        block(store.create(
            Session::new("new", "ada", None, "{}", now, Some(now + 60)),
            None,
        ));
        block(store.create(Session::new("forever", "ada", None, "{}", now, None), None));
        assert_eq!(store.len(), 2);
        assert_eq!(
            block(store.refresh(RefreshRequest::keep("ada", "old", "", now))),
            Refreshed::Gone
        );
        // Adding sessions sweeps the expired ones out.
        for i in 0..100 {
            block(store.create(
                Session::new(&format!("n{i}"), "bob", None, "{}", now, Some(now + 60)),
                None,
            ));
        }
        let state = store.state();
        assert!(!state.sessions.contains_key(&Id::new("old")));
        assert_eq!(state.subjects.get("ada").map(|s| s.ids.len()), Some(2));
        drop(state);
        // Sessions of one subject share whom they belong to.
        let state = store.state();
        let entries: Vec<&Entry> = ["new", "forever"]
            .iter()
            .filter_map(|id| state.sessions.get(&Id::new(id)))
            .collect();
        assert!(Arc::ptr_eq(&entries[0].who, &entries[1].who));
    }

    #[test]
    fn revoke_subject_keeps_the_named_session() {
        let store = MemoryStore::new();
        let now = unix_now();
        for id in ["a", "b", "c"] {
            block(store.create(Session::new(id, "ada", None, "{}", now, None), None));
        }
        block(store.create(Session::new("d", "bob", None, "{}", now, None), None));
        let ended =
            block(store.revoke_subject(SubjectRevocation::new("ada", Some("b"), None, now)));
        assert_eq!(ended.map(|ids| ids.len()), Some(2));
        let left: Vec<_> = block(store.list("ada", now))
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(left, ["b"]);
        assert_eq!(block(store.list("bob", now)).len(), 1);
    }

    #[test]
    fn ids_round_trip_packed_or_not() {
        for text in [
            "AAAAAAAAAAAAAAAAAAAAAA",
            "q3-_Zz09az-_Q1w2e3r4tA",
            "short",
            "s1",
            "AAAAAAAAAAAAAAAAAAAAAB",
        ] {
            assert_eq!(Id::new(text).text(), text);
        }
        assert!(matches!(Id::new("q3-_Zz09az-_Q1w2e3r4tA"), Id::Packed(_)));
        // Non-canonical base64 (spare bits set) is kept as text, so it stays distinct.
        assert!(matches!(Id::new("AAAAAAAAAAAAAAAAAAAAAB"), Id::Text(_)));
    }

    #[test]
    fn refresh_stamps_the_time() {
        let store = MemoryStore::new();
        let now = unix_now();
        block(store.create(Session::new("s", "ada", None, "{}", now, None), None));
        let Refreshed::Current(session) =
            block(store.refresh(RefreshRequest::keep("ada", "s", "", now + 5)))
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
        block(store.create(session, None));
        let rotate = |token, new, at| RefreshRequest::rotate("ada", "s", token, at, new, 10);
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

    #[test]
    fn a_client_that_never_signs_out_leaves_little_behind() {
        let store = MemoryStore::new();
        let now = unix_now();
        // A sign-in every two seconds, each session ending one second after it opened.
        for i in 0..1_000 {
            let at = now - 3_000 + 2 * i;
            block(store.create(
                Session::new(&format!("s{i}"), "machine", None, "{}", at, Some(at + 1)),
                None,
            ));
        }
        block(store.create(
            Session::new("live", "machine", None, "{}", now, Some(now + 60)),
            None,
        ));
        let state = store.state();
        let held = state.subjects.get("machine").map_or(0, |s| s.ids.len());
        // Expired sessions are swept as sessions are added: never more than the sweep period.
        assert!(held <= 65, "{held} ids held for one live session");
        assert!(state.sessions.len() <= 65, "{}", state.sessions.len());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_the_store_contract() {
        tokengate_store::testing::session_store_contract(&MemoryStore::new()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_the_factor_store_contract() {
        tokengate_store::testing::factor_store_contract(&MemoryStore::new()).await;
    }
}
