//! What is stored, listed and live.

use super::{create, ids, session, unique};
use crate::{Presented, RefreshRequest, Refreshed, SessionStore, SubjectRevocation};

/// Created sessions are live, listed under their subject only, as they were stored.
pub(super) async fn created_sessions_are_live_and_listed_as_stored<S: SessionStore>(
    store: &S,
    t: i64,
) {
    let (ada, bob) = (unique("ada"), unique("bob"));
    let (a1, a2, b1) = (unique("a1"), unique("a2"), unique("b1"));
    create(store, session(&a1, &ada, "t1", t, Some(t + 3_600))).await;
    create(store, session(&a2, &ada, "u1", t, None)).await;
    create(store, session(&b1, &bob, "v1", t, Some(t + 3_600))).await;
    assert!(
        store.is_live(&ada, &a1, t).await.expect("is_live"),
        "a created session is live"
    );
    let listed = store.list(&ada, t).await.expect("list");
    assert_eq!(ids(&listed), [a1.clone(), a2.clone()].into(), "list");
    let unlimited = listed.iter().find(|s| s.id == a2).expect("listed");
    assert_eq!(
        unlimited.expires_at, None,
        "an unlimited session keeps no end"
    );
    assert_eq!(unlimited.application.as_deref(), Some("app"));
    assert_eq!(unlimited.claims, r#"{"roles":["user"]}"#);
    for (subject, id) in [(&ada, &a1), (&ada, &a2), (&bob, &b1)] {
        store.revoke(subject, id, t).await.expect("revoke");
    }
}

/// The client that signed in is kept, read back as it was stored, and kept by a refresh.
pub(super) async fn the_client_that_signed_in_is_kept<S: SessionStore>(store: &S, t: i64) {
    let erin = unique("erin");
    let (w1, w2) = (unique("w1"), unique("w2"));
    let hour = Some(t + 3_600);
    let agent = "Mozilla/5.0 (X11; Linux x86_64) \u{e9}t\u{e9}";
    let with_client =
        session(&w1, &erin, "k1", t, hour).with_client(Some(agent), Some("192.0.2.7"));
    create(store, with_client).await;
    create(store, session(&w2, &erin, "k2", t, hour)).await;
    let listed = store.list(&erin, t).await.expect("list");
    let kept = listed.iter().find(|s| s.id == w1).expect("listed");
    assert_eq!(
        (kept.user_agent.as_deref(), kept.address.as_deref()),
        (Some(agent), Some("192.0.2.7")),
        "the client of a session"
    );
    let bare = listed.iter().find(|s| s.id == w2).expect("listed");
    assert_eq!(
        (bare.user_agent.as_deref(), bare.address.as_deref()),
        (None, None)
    );
    let refreshed = store
        .refresh(RefreshRequest::keep(&erin, &w1, "k1", t + 1))
        .await
        .expect("refresh");
    assert!(
        matches!(&refreshed, Refreshed::Current(s) if s.user_agent.as_deref() == Some(agent) && s.address.as_deref() == Some("192.0.2.7")),
        "a refresh lost the client: {refreshed:?}"
    );
    let _ = store
        .revoke_subject(SubjectRevocation::new(&erin, None, None, t + 1))
        .await;
}

/// A session past its end is not live, not listed, not refreshed, and its token signs its
/// subject out nowhere.
pub(super) async fn a_session_past_its_end_is_gone<S: SessionStore>(store: &S, t: i64) {
    let carol = unique("carol");
    let (e1, e2) = (unique("e1"), unique("e2"));
    create(store, session(&e1, &carol, "x1", t - 60, Some(t - 1))).await;
    create(store, session(&e2, &carol, "y1", t, Some(t + 3_600))).await;
    assert!(
        !store.is_live(&carol, &e1, t).await.expect("is_live"),
        "an expired session is live"
    );
    assert_eq!(
        ids(&store.list(&carol, t).await.expect("list")),
        [e2.clone()].into()
    );
    let expired = store
        .refresh(RefreshRequest::keep(&carol, &e1, "x1", t))
        .await
        .expect("refresh");
    assert_eq!(expired, Refreshed::Gone);
    let stale = Presented::new(&e1, "x1", None);
    let revocation = SubjectRevocation::new(&carol, None, Some(stale), t);
    assert_eq!(
        store
            .revoke_subject(revocation)
            .await
            .expect("revoke_subject"),
        None
    );
    assert!(
        store.is_live(&carol, &e2, t).await.expect("is_live"),
        "an expired session's token ended a live one"
    );
    store.revoke(&carol, &e2, t).await.expect("revoke");
}

/// The clock moves past a session's end: from then on it is not live, not listed, not
/// refreshed, not revoked, and its current token cannot sign its subject out.
pub(super) async fn a_session_is_gone_once_the_clock_passes_its_end<S: SessionStore>(
    store: &S,
    t: i64,
) {
    let carol = unique("carol");
    let f1 = unique("f1");
    create(store, session(&f1, &carol, "f-1", t, Some(t + 100))).await;
    let refreshed = store
        .refresh(RefreshRequest::keep(&carol, &f1, "f-1", t + 99))
        .await
        .expect("refresh");
    assert!(matches!(refreshed, Refreshed::Current(_)), "{refreshed:?}");
    assert!(store.is_live(&carol, &f1, t + 99).await.expect("is_live"));
    assert!(
        !store.is_live(&carol, &f1, t + 100).await.expect("is_live"),
        "a session is live at its end"
    );
    assert!(!ids(&store.list(&carol, t + 101).await.expect("list")).contains(&f1));
    let ended = store
        .refresh(RefreshRequest::keep(&carol, &f1, "f-1", t + 101))
        .await
        .expect("refresh");
    assert_eq!(ended, Refreshed::Gone, "a session refreshed past its end");
    let stale = Presented::new(&f1, "f-1", None);
    let revocation = SubjectRevocation::new(&carol, None, Some(stale), t + 101);
    assert_eq!(
        store
            .revoke_subject(revocation)
            .await
            .expect("revoke_subject"),
        None,
        "an ended session signed its subject out"
    );
    assert!(
        !store.revoke(&carol, &f1, t + 101).await.expect("revoke"),
        "an ended session was revoked as live"
    );
}

/// A refresh naming another subject finds nothing, and changes nothing.
pub(super) async fn a_refresh_naming_another_subject_finds_nothing<S: SessionStore>(
    store: &S,
    t: i64,
) {
    let (carol, bob) = (unique("carol"), unique("bob"));
    let e2 = unique("e2");
    create(store, session(&e2, &carol, "y1", t, Some(t + 3_600))).await;
    let foreign = store
        .refresh(RefreshRequest::keep(&bob, &e2, "y1", t))
        .await
        .expect("refresh");
    assert_eq!(
        foreign,
        Refreshed::Gone,
        "a session answered for another subject"
    );
    assert!(store.is_live(&carol, &e2, t).await.expect("is_live"));
    store.revoke(&carol, &e2, t).await.expect("revoke");
}

/// A session is read by its id for its subject alone, while it is live, as stored.
pub(super) async fn a_session_is_read_by_id_for_its_subject_while_live<S: SessionStore>(
    store: &S,
    t: i64,
) {
    let (dana, eve) = (unique("dana"), unique("eve"));
    let (e3, e4) = (unique("e3"), unique("e4"));
    create(store, session(&e3, &dana, "z1", t, Some(t + 100))).await;
    create(store, session(&e4, &dana, "z2", t, Some(t + 3_600))).await;
    let read = store.session(&dana, &e3, t + 1).await.expect("session");
    let read = read.expect("a live session is read");
    assert_eq!((read.id.as_str(), read.token.as_str()), (e3.as_str(), "z1"));
    assert_eq!((read.subject.as_str(), read.created_at), (dana.as_str(), t));
    assert!(
        store
            .session(&eve, &e3, t + 1)
            .await
            .expect("session")
            .is_none(),
        "a session was read for another subject"
    );
    assert!(
        store
            .session(&dana, &e3, t + 100)
            .await
            .expect("session")
            .is_none(),
        "a session was read past its end"
    );
    assert!(store
        .session(&dana, &unique("e5"), t)
        .await
        .expect("session")
        .is_none());
    store.revoke(&dana, &e4, t).await.expect("revoke");
    assert!(store
        .session(&dana, &e4, t)
        .await
        .expect("session")
        .is_none());
}
