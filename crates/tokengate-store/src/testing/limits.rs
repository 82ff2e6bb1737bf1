//! The idle timeout and the most sessions a subject holds.

use std::collections::BTreeSet;

use super::{create, ids, session, unique};
use crate::{RefreshRequest, Refreshed, SessionStore, SubjectRevocation};

/// Used within the idle timeout, a session refreshes (and the clock restarts); unused for
/// longer, it ends at that refresh, whatever its token.
pub(super) async fn an_idle_session_ends_at_its_next_refresh<S: SessionStore>(store: &S, t: i64) {
    let erin = unique("erin");
    let (w1, w2) = (unique("w1"), unique("w2"));
    let hour = Some(t + 3_600);
    create(store, session(&w1, &erin, "k1", t, hour)).await;
    create(store, session(&w2, &erin, "k2", t, hour)).await;
    let used = store
        .refresh(RefreshRequest::keep(&erin, &w1, "k1", t + 1))
        .await
        .expect("refresh");
    assert!(matches!(used, Refreshed::Current(_)), "{used:?}");
    let idle = |token, at| RefreshRequest::keep(&erin, &w1, token, at).idle(Some(100));
    let within = store.refresh(idle("k1", t + 100)).await.expect("refresh");
    assert!(
        matches!(within, Refreshed::Current(ref s) if s.refreshed_at == t + 100),
        "{within:?}"
    );
    let still = store.refresh(idle("k1", t + 200)).await.expect("refresh");
    assert!(
        matches!(still, Refreshed::Current(_)),
        "idle measured from the last use: {still:?}"
    );
    let idle_out = store.refresh(idle("k1", t + 301)).await.expect("refresh");
    assert_eq!(idle_out, Refreshed::Gone, "an idle session refreshed");
    assert!(
        !store.is_live(&erin, &w1, t + 301).await.expect("is_live"),
        "an idle session outlived its refresh"
    );
    let rotated_idle = store
        .refresh(RefreshRequest::rotate(&erin, &w2, "k2", t + 500, "k3", 10).idle(Some(100)))
        .await
        .expect("refresh");
    assert_eq!(rotated_idle, Refreshed::Gone, "an idle session rotated");
    assert!(store.list(&erin, t + 500).await.expect("list").is_empty());
}

/// Without rotation, the last use is written at most once per touch interval: a refresh
/// within it answers the session as stored; one after it writes; an idle timeout still
/// counts from the last use written; a rotation always writes.
pub(super) async fn the_last_use_is_written_once_per_touch_interval<S: SessionStore>(
    store: &S,
    t: i64,
) {
    let gina = unique("gina");
    let (v1, v2) = (unique("v1"), unique("v2"));
    let hour = Some(t + 3_600);
    create(store, session(&v1, &gina, "k1", t, hour)).await;
    create(store, session(&v2, &gina, "k2", t, hour)).await;
    let keep = |at| RefreshRequest::keep(&gina, &v1, "k1", at).touch(60);
    let stamp = |refreshed: Refreshed| match refreshed {
        Refreshed::Current(session) => session.refreshed_at,
        other => panic!("not refreshed: {other:?}"),
    };
    assert_eq!(
        stamp(store.refresh(keep(t + 30)).await.expect("refresh")),
        t,
        "within"
    );
    assert_eq!(
        stamp(store.refresh(keep(t + 59)).await.expect("refresh")),
        t,
        "within"
    );
    assert_eq!(
        stamp(store.refresh(keep(t + 60)).await.expect("refresh")),
        t + 60,
        "after"
    );
    assert_eq!(
        stamp(store.refresh(keep(t + 100)).await.expect("refresh")),
        t + 60
    );
    let listed = store.list(&gina, t + 100).await.expect("list");
    let v1_listed = listed.iter().find(|s| s.id == v1).expect("listed");
    assert_eq!(
        v1_listed.refreshed_at,
        t + 60,
        "the list shows the last use written"
    );
    // A wrong token is refused within the interval as after it.
    let wrong = RefreshRequest::keep(&gina, &v1, "k9", t + 101).touch(60);
    assert_eq!(
        store.refresh(wrong).await.expect("refresh"),
        Refreshed::Gone
    );
    // Idle from the last use written: within the interval but past the idle timeout, it ends.
    let idle = RefreshRequest::keep(&gina, &v1, "k1", t + 60 + 51)
        .idle(Some(50))
        .touch(60);
    assert_eq!(store.refresh(idle).await.expect("refresh"), Refreshed::Gone);
    assert!(!store.is_live(&gina, &v1, t + 112).await.expect("is_live"));
    // A rotation writes whatever the interval.
    let rotated = store
        .refresh(RefreshRequest::rotate(&gina, &v2, "k2", t + 5, "k3", 10).touch(60))
        .await
        .expect("refresh");
    assert!(
        matches!(rotated, Refreshed::Current(ref s) if s.refreshed_at == t + 5 && s.token == "k3"),
        "{rotated:?}"
    );
}

/// At most `max` live sessions: a new one ends the least recently used, in the same step;
/// a lower limit ends as many as it takes.
pub(super) async fn a_new_session_past_the_limit_ends_the_least_recently_used<S: SessionStore>(
    store: &S,
    t: i64,
) {
    let frank = unique("frank");
    let hour = Some(t + 3_600);
    let m: Vec<String> = (0..4).map(|i| unique(&format!("m{i}"))).collect();
    for (i, id) in m.iter().take(3).enumerate() {
        let at = t + i64::try_from(i).unwrap_or(0);
        let evicted = store
            .create(session(id, &frank, "n", at, hour), Some(3))
            .await
            .expect("create");
        assert!(evicted.is_empty(), "evicted below the limit: {evicted:?}");
    }
    // The first is used again: the second becomes the least recently used.
    store
        .refresh(RefreshRequest::keep(&frank, &m[0], "n", t + 10))
        .await
        .expect("refresh");
    let evicted = store
        .create(session(&m[3], &frank, "n", t + 11, hour), Some(3))
        .await
        .expect("create");
    assert_eq!(evicted, vec![m[1].clone()], "not the least recently used");
    assert_eq!(
        ids(&store.list(&frank, t + 11).await.expect("list")),
        [m[0].clone(), m[2].clone(), m[3].clone()].into()
    );
    assert!(!store.is_live(&frank, &m[1], t + 11).await.expect("is_live"));
    let n0 = unique("n0");
    let evicted = store
        .create(session(&n0, &frank, "n", t + 12, hour), Some(1))
        .await
        .expect("create");
    assert_eq!(evicted.len(), 3, "{evicted:?}");
    assert_eq!(
        ids(&store.list(&frank, t + 12).await.expect("list")),
        [n0.clone()].into()
    );
    store.revoke(&frank, &n0, t + 12).await.expect("revoke");
}

/// Sign-ins at once never leave more than the limit, and each ended session is reported once.
pub(super) async fn sign_ins_at_once_never_pass_the_limit<S: SessionStore>(store: &S, t: i64) {
    let gina = unique("gina");
    let hour = Some(t + 3_600);
    let burst: Vec<String> = (0..12).map(|i| unique(&format!("g{i}"))).collect();
    let created = futures_util::future::join_all(
        burst
            .iter()
            .map(|id| store.create(session(id, &gina, "g", t, hour), Some(3))),
    )
    .await;
    let evicted: usize = created.into_iter().map(|c| c.expect("create").len()).sum();
    assert_eq!(
        store.list(&gina, t).await.expect("list").len(),
        3,
        "a burst of sign-ins passed the limit"
    );
    assert_eq!(evicted, 9, "each ended session is reported once");
    let _ = store
        .revoke_subject(SubjectRevocation::new(&gina, None, None, t))
        .await;
}

/// Six sign-ins of one subject within one clock second, with `max_sessions` 2: the two
/// newest stay. Times tie, so the least recently used is decided by the id, compared in byte
/// order (the gate's session ids begin with the time they were made).
pub(super) async fn sign_ins_within_one_tick_keep_the_newest<S: SessionStore>(store: &S, t: i64) {
    let subject = unique("tick");
    let base = unique("0");
    let hour = Some(t + 3_600);
    let id = |n: u32| format!("{base}-{n:04}");
    for n in 1..=6 {
        store
            .create(session(&id(n), &subject, "k", t, hour), Some(2))
            .await
            .expect("create");
    }
    let live = ids(&store.list(&subject, t).await.expect("list"));
    assert_eq!(
        live,
        BTreeSet::from([id(5), id(6)]),
        "sign-ins within one second evicted other than the least recently used"
    );
    let _ = store
        .revoke_subject(SubjectRevocation::new(&subject, None, None, t))
        .await;
}
