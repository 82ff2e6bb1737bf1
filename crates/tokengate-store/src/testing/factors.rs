//! Second factors, recovery codes, and the reissue of a session once one is proved.

use futures_util::future::join_all;

use super::{create, session, unique};
use crate::{
    Confirmation, Confirmed, Factor, FactorStore, RefreshRequest, Refreshed, Reissue, SessionStore,
};

fn pending(id: &str, subject: &str, t: i64) -> Factor {
    Factor::pending(id, subject, "totp", "sealed-secret", t, t + 600)
}

fn codes(tag: &str) -> Vec<String> {
    (0..3).map(|n| format!("{tag}-code-{n}")).collect()
}

/// Adds and confirms factor `id` of `subject` at `t` with step 1 and recovery codes `codes`.
async fn active<F: FactorStore>(store: &F, id: &str, subject: &str, t: i64, codes: &[String]) {
    assert!(store
        .add_factor(pending(id, subject, t), 10)
        .await
        .expect("add"));
    let confirmed = store
        .confirm_factor(Confirmation::new(subject, id, 1, t, codes))
        .await
        .expect("confirm");
    assert!(
        matches!(confirmed, Confirmed::Activated { .. }),
        "a pending factor was not confirmed: {confirmed:?}"
    );
}

/// Only the session's current token reissues it; the new claims and token are stored, and the
/// spent token refreshes nothing after.
pub(super) async fn a_session_is_reissued_only_for_its_current_token<S: SessionStore>(
    store: &S,
    t: i64,
) {
    let (ada, a1) = (unique("ada"), unique("a1"));
    create(store, session(&a1, &ada, "t1", t, Some(t + 3_600))).await;
    let rotated = store
        .refresh(RefreshRequest::rotate(&ada, &a1, "t1", t + 1, "t2", 30))
        .await
        .expect("rotate");
    assert!(matches!(rotated, Refreshed::Current(_)), "{rotated:?}");
    let claims = r#"{"acr":"aal2"}"#;
    let replaced = Reissue::new(&ada, &a1, "t1", "t3", claims, t + 2);
    assert_eq!(
        store.reissue(replaced).await.expect("reissue"),
        None,
        "a token rotation replaced reissued the session"
    );
    let other = unique("bob");
    let foreign = Reissue::new(&other, &a1, "t2", "t3", claims, t + 2);
    assert_eq!(
        store.reissue(foreign).await.expect("reissue"),
        None,
        "another subject"
    );
    let done = store
        .reissue(Reissue::new(&ada, &a1, "t2", "t3", claims, t + 3))
        .await
        .expect("reissue")
        .expect("the current token did not reissue the session");
    assert_eq!(
        (
            done.token.as_str(),
            done.previous.as_deref(),
            done.claims.as_str()
        ),
        ("t3", None, claims)
    );
    assert_eq!((done.refreshed_at, done.rotated_at), (t + 3, t + 3));
    let stored = store
        .session(&ada, &a1, t + 4)
        .await
        .expect("session")
        .expect("a reissued session is live");
    assert_eq!(
        (stored.token.as_str(), stored.claims.as_str()),
        ("t3", claims)
    );
    let again = Reissue::new(&ada, &a1, "t2", "t4", "{}", t + 4);
    assert_eq!(
        store.reissue(again).await.expect("reissue"),
        None,
        "spent token"
    );
    let spent = store
        .refresh(RefreshRequest::keep(&ada, &a1, "t2", t + 5))
        .await
        .expect("refresh");
    assert_eq!(
        spent,
        Refreshed::Gone,
        "the spent token refreshed the session"
    );
    let late = Reissue::new(&ada, &a1, "t3", "t5", "{}", t + 3_600);
    assert_eq!(
        store.reissue(late).await.expect("reissue"),
        None,
        "an ended session"
    );
    store.revoke(&ada, &a1, t + 5).await.expect("revoke");
}

/// Of reissues racing with one token, one wins.
pub(super) async fn reissues_at_once_reissue_once<S: SessionStore>(store: &S, t: i64) {
    let (ada, a1) = (unique("ada"), unique("a1"));
    create(store, session(&a1, &ada, "t1", t, Some(t + 3_600))).await;
    let news: Vec<String> = (0..8).map(|n| format!("n{n}")).collect();
    let results = join_all(
        news.iter()
            .map(|new| store.reissue(Reissue::new(&ada, &a1, "t1", new, "{}", t + 1))),
    )
    .await;
    let won = results
        .into_iter()
        .filter_map(|result| result.expect("reissue"))
        .count();
    assert_eq!(won, 1, "one token reissued the session {won} times");
    store.revoke(&ada, &a1, t + 2).await.expect("revoke");
}

/// A pending factor is listed until its end, then neither listed nor confirmed.
pub(super) async fn a_pending_factor_lives_until_its_end<F: FactorStore>(store: &F, t: i64) {
    let (ada, f1) = (unique("ada"), unique("f1"));
    let factor = pending(&f1, &ada, t);
    assert!(store.add_factor(factor.clone(), 10).await.expect("add"));
    let listed = store.factors(&ada, t + 1).await.expect("factors");
    assert_eq!(listed, vec![factor], "a pending factor is listed as stored");
    assert!(
        store
            .factors(&ada, t + 600)
            .await
            .expect("factors")
            .is_empty(),
        "a pending factor at its end is still listed"
    );
    let late = store
        .confirm_factor(Confirmation::new(&ada, &f1, 1, t + 600, &[]))
        .await
        .expect("confirm");
    assert_eq!(late, Confirmed::Gone, "an expired factor was confirmed");
}

/// A subject holds at most `max` live factors, under a burst too; expired ones make room.
pub(super) async fn a_subject_holds_at_most_max_factors<F: FactorStore>(store: &F, t: i64) {
    let ada = unique("ada");
    let adds = join_all((0..10).map(|n| {
        let ada = &ada;
        async move {
            let factor = Factor::pending(&format!("{ada}-f{n}"), ada, "totp", "s", t, t + 60);
            store.add_factor(factor, 3).await.expect("add")
        }
    }))
    .await;
    let added = adds.into_iter().filter(|added| *added).count();
    assert_eq!(
        added, 3,
        "a burst of adds stored {added} factors, the limit is 3"
    );
    assert_eq!(store.factors(&ada, t + 1).await.expect("factors").len(), 3);
    let later = Factor::pending(&unique("late"), &ada, "totp", "s", t + 60, t + 120);
    assert!(
        store.add_factor(later, 3).await.expect("add"),
        "expired factors still counted against the limit"
    );
    let listed = store.factors(&ada, t + 61).await.expect("factors");
    assert_eq!(listed.len(), 1, "expired factors listed: {listed:?}");
}

/// Confirming activates once, only the subject's own pending factor, and stores the
/// recovery codes for the first active factor only.
pub(super) async fn confirming_activates_once<F: FactorStore>(store: &F, t: i64) {
    let (ada, bob, f1, f2) = (unique("ada"), unique("bob"), unique("f1"), unique("f2"));
    assert!(store
        .add_factor(pending(&f1, &ada, t), 10)
        .await
        .expect("add"));
    let first = codes("first");
    let foreign = store
        .confirm_factor(Confirmation::new(&bob, &f1, 5, t + 1, &first))
        .await
        .expect("confirm");
    assert_eq!(
        foreign,
        Confirmed::Gone,
        "another subject confirmed the factor"
    );
    let done = store
        .confirm_factor(Confirmation::new(&ada, &f1, 5, t + 1, &first))
        .await
        .expect("confirm");
    assert_eq!(done, Confirmed::Activated { recovery: true });
    let again = store
        .confirm_factor(Confirmation::new(&ada, &f1, 6, t + 2, &first))
        .await
        .expect("confirm");
    assert_eq!(
        again,
        Confirmed::Gone,
        "an active factor was confirmed again"
    );
    let listed = store.factors(&ada, t + 2).await.expect("factors");
    let factor = listed.first().expect("the active factor is listed");
    assert_eq!(
        (factor.confirmed_at, factor.expires_at, factor.last_step),
        (Some(t + 1), None, 5),
        "an active factor as stored"
    );
    assert!(
        !store
            .accept_step(&ada, &f1, 5, t + 3)
            .await
            .expect("accept"),
        "the step that confirmed a factor was accepted again"
    );
    assert!(store
        .add_factor(pending(&f2, &ada, t + 3), 10)
        .await
        .expect("add"));
    let second = codes("second");
    let done = store
        .confirm_factor(Confirmation::new(&ada, &f2, 1, t + 4, &second))
        .await
        .expect("confirm");
    assert_eq!(
        done,
        Confirmed::Activated { recovery: false },
        "a second factor"
    );
    assert!(
        store
            .spend_recovery(&ada, &first[0], t + 5)
            .await
            .expect("spend"),
        "the first factor's codes were replaced by a second factor's"
    );
    assert!(!store
        .spend_recovery(&ada, &second[0], t + 5)
        .await
        .expect("spend"));
}

/// A step is accepted once per factor, only past the last one, only for an active factor of
/// the subject; of calls at once with one step, one wins.
pub(super) async fn a_step_is_accepted_once<F: FactorStore>(store: &F, t: i64) {
    let (ada, bob, f1, f2) = (unique("ada"), unique("bob"), unique("f1"), unique("f2"));
    active(store, &f1, &ada, t, &[]).await;
    assert!(store
        .accept_step(&ada, &f1, 10, t + 1)
        .await
        .expect("accept"));
    assert!(
        !store
            .accept_step(&ada, &f1, 10, t + 1)
            .await
            .expect("accept"),
        "replayed step"
    );
    assert!(
        !store
            .accept_step(&ada, &f1, 9, t + 1)
            .await
            .expect("accept"),
        "an older step"
    );
    assert!(
        !store
            .accept_step(&bob, &f1, 11, t + 1)
            .await
            .expect("accept"),
        "another subject"
    );
    assert!(store
        .add_factor(pending(&f2, &ada, t), 10)
        .await
        .expect("add"));
    assert!(
        !store
            .accept_step(&ada, &f2, 11, t + 1)
            .await
            .expect("accept"),
        "a pending factor accepted a step as a second factor"
    );
    let listed = store.factors(&ada, t + 2).await.expect("factors");
    let used = listed
        .iter()
        .find(|factor| factor.id == f1)
        .expect("listed");
    assert_eq!((used.last_step, used.last_used_at), (10, Some(t + 1)));
    let racing = join_all((0..8).map(|_| store.accept_step(&ada, &f1, 11, t + 2))).await;
    let won = racing
        .into_iter()
        .filter(|r| *r.as_ref().expect("accept"))
        .count();
    assert_eq!(won, 1, "one step was accepted {won} times at once");
}

/// A recovery code is spent once (of calls at once, one wins), only while a factor is
/// active; replacing needs an active factor; removing the last factor drops them.
pub(super) async fn recovery_codes_are_spent_once<F: FactorStore>(store: &F, t: i64) {
    let (ada, f1) = (unique("ada"), unique("f1"));
    let first = codes("r");
    assert!(
        !store
            .replace_recovery(&ada, &first, t)
            .await
            .expect("replace"),
        "recovery codes stored for a subject without a factor"
    );
    active(store, &f1, &ada, t, &first).await;
    assert_eq!(store.recovery_left(&ada).await.expect("left"), 3);
    let racing = join_all((0..8).map(|_| store.spend_recovery(&ada, &first[0], t + 1))).await;
    let won = racing
        .into_iter()
        .filter(|r| *r.as_ref().expect("spend"))
        .count();
    assert_eq!(won, 1, "one recovery code was spent {won} times");
    assert_eq!(store.recovery_left(&ada).await.expect("left"), 2);
    assert!(!store
        .spend_recovery(&ada, "unknown", t + 1)
        .await
        .expect("spend"));
    let fresh = codes("fresh");
    assert!(store
        .replace_recovery(&ada, &fresh, t + 2)
        .await
        .expect("replace"));
    assert!(
        !store
            .spend_recovery(&ada, &first[1], t + 3)
            .await
            .expect("spend"),
        "a replaced code was spent"
    );
    assert_eq!(store.recovery_left(&ada).await.expect("left"), 3);
    assert_eq!(
        store.remove_factor(&ada, &f1, t + 4).await.expect("remove"),
        Some(0)
    );
    assert_eq!(
        store.recovery_left(&ada).await.expect("left"),
        0,
        "codes outlived the factor"
    );
    assert!(
        !store
            .spend_recovery(&ada, &fresh[0], t + 5)
            .await
            .expect("spend"),
        "a code was spent with no factor"
    );
}

/// Removal: only the subject's own factor, once, saying how many active ones are left.
pub(super) async fn a_factor_is_removed_once<F: FactorStore>(store: &F, t: i64) {
    let (ada, bob, f1, f2) = (unique("ada"), unique("bob"), unique("f1"), unique("f2"));
    active(store, &f1, &ada, t, &codes("x")).await;
    active(store, &f2, &ada, t, &[]).await;
    assert_eq!(
        store.remove_factor(&bob, &f1, t + 1).await.expect("remove"),
        None
    );
    assert_eq!(
        store.remove_factor(&ada, &f1, t + 1).await.expect("remove"),
        Some(1)
    );
    assert_eq!(
        store.remove_factor(&ada, &f1, t + 1).await.expect("remove"),
        None
    );
    assert_eq!(
        store.recovery_left(&ada).await.expect("left"),
        3,
        "one factor is left"
    );
    assert!(
        !store
            .accept_step(&ada, &f1, 50, t + 2)
            .await
            .expect("accept"),
        "a removed factor accepted a step"
    );
    let listed = store.factors(&ada, t + 2).await.expect("factors");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        store.remove_factor(&ada, &f2, t + 3).await.expect("remove"),
        Some(0)
    );
}
