//! Refresh, rotation, the grace and reuse.

use std::collections::BTreeSet;

use super::{create, session, unique};
use crate::{RefreshRequest, Refreshed, SessionStore};

/// Without rotation the current token refreshes and stamps the time; another token finds
/// nothing and ends nothing.
pub(super) async fn without_rotation_only_the_current_token_refreshes<S: SessionStore>(
    store: &S,
    t: i64,
) {
    let (ada, a1) = (unique("ada"), unique("a1"));
    create(store, session(&a1, &ada, "t1", t, Some(t + 3_600))).await;
    let keep = store
        .refresh(RefreshRequest::keep(&ada, &a1, "t1", t + 5))
        .await
        .expect("refresh");
    let Refreshed::Current(current) = keep else {
        panic!("the current token did not refresh: {keep:?}");
    };
    assert_eq!(
        (current.token.as_str(), current.refreshed_at),
        ("t1", t + 5)
    );
    let other = store
        .refresh(RefreshRequest::keep(&ada, &a1, "t0", t + 6))
        .await
        .expect("refresh");
    assert_eq!(
        other,
        Refreshed::Gone,
        "a token that is not the current one"
    );
    assert!(
        store.is_live(&ada, &a1, t + 6).await.expect("is_live"),
        "a wrong token ends nothing"
    );
    store.revoke(&ada, &a1, t + 6).await.expect("revoke");
}

/// Rotation: current → replaced within the grace (the current token handed out again,
/// nothing rotated) → reused after it (the session ends) → the current token is gone too.
pub(super) async fn a_rotated_token_is_replaced_then_reused<S: SessionStore>(store: &S, t: i64) {
    let (ada, a1) = (unique("ada"), unique("a1"));
    create(store, session(&a1, &ada, "t1", t, Some(t + 3_600))).await;
    let rotate = |token, new, at| RefreshRequest::rotate(&ada, &a1, token, at, new, 10);
    let first = store
        .refresh(rotate("t1", "t2", t + 10))
        .await
        .expect("rotate");
    assert!(
        matches!(&first, Refreshed::Current(s) if s.token == "t2" && s.previous.as_deref() == Some("t1") && s.rotated_at == t + 10),
        "rotation: {first:?}"
    );
    let grace = store
        .refresh(rotate("t1", "t3", t + 20))
        .await
        .expect("rotate");
    assert!(
        matches!(&grace, Refreshed::Replaced(s) if s.token == "t2"),
        "grace: {grace:?}"
    );
    let reused = store
        .refresh(rotate("t1", "t4", t + 21))
        .await
        .expect("rotate");
    assert!(
        matches!(&reused, Refreshed::Reused(s) if s.id == a1),
        "reuse: {reused:?}"
    );
    assert!(
        !store.is_live(&ada, &a1, t + 21).await.expect("is_live"),
        "reuse ended nothing"
    );
    let after = store
        .refresh(rotate("t2", "t5", t + 22))
        .await
        .expect("rotate");
    assert_eq!(
        after,
        Refreshed::Gone,
        "the current token outlived its ended session"
    );
}

/// Concurrent refreshes with rotation never fork a session: one rotates, the others get
/// the token it rotated to.
pub(super) async fn concurrent_refreshes_never_fork_a_session<S: SessionStore>(store: &S, t: i64) {
    let (c1, dave) = (unique("c1"), unique("dave"));
    create(store, session(&c1, &dave, "z1", t, Some(t + 3_600))).await;
    let news: Vec<String> = (0..20).map(|i| format!("z2-{i}")).collect();
    let outcomes = futures_util::future::join_all(
        news.iter()
            .map(|new| store.refresh(RefreshRequest::rotate(&dave, &c1, "z1", t + 50, new, 10))),
    )
    .await;
    let mut rotated = 0;
    let mut handed_out = BTreeSet::new();
    for outcome in outcomes {
        match outcome.expect("refresh") {
            Refreshed::Current(s) => {
                rotated += 1;
                handed_out.insert(s.token);
            }
            Refreshed::Replaced(s) => {
                handed_out.insert(s.token);
            }
            other => panic!("a concurrent refresh got {other:?}"),
        }
    }
    assert_eq!(rotated, 1, "the session was rotated more than once");
    assert_eq!(
        handed_out.len(),
        1,
        "refreshes forked the session: {handed_out:?}"
    );
    assert!(store.revoke(&dave, &c1, t + 60).await.expect("revoke"));
}
