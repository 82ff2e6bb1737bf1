//! Passkeys: added once per credential id, found by it, their signature counter only moving
//! forward, renamed and removed; and the single-use challenges of their ceremonies.

use futures_util::future::join_all;

use super::unique;
use crate::{CredentialUse, Factor, FactorStore, Registered};

fn passkey(id: &str, subject: &str, credential: &str, counter: i64, t: i64) -> Factor {
    Factor::credential(id, subject, "sealed-key", credential, "laptop", counter, t)
}

fn codes(tag: &str) -> Vec<String> {
    (0..3).map(|n| format!("{tag}-code-{n}")).collect()
}

async fn add<F: FactorStore>(store: &F, factor: Factor, recovery: &[String]) -> Registered {
    store
        .add_credential(factor, 5, recovery)
        .await
        .expect("add_credential")
}

/// A credential id is held once in the whole store; the subject's first active factor brings
/// its recovery codes; the most factors allowed holds for passkeys too.
pub(super) async fn a_credential_is_added_once_in_the_store<F: FactorStore>(store: &F, t: i64) {
    let (ada, bob, cred) = (unique("ada"), unique("bob"), unique("cred"));
    let (p1, p2, p3) = (unique("p1"), unique("p2"), unique("p3"));
    assert_eq!(
        add(store, passkey(&p1, &ada, &cred, 5, t), &codes("a")).await,
        Registered::Added { recovery: true },
        "the first factor"
    );
    assert_eq!(store.recovery_left(&ada).await.expect("left"), 3);
    assert_eq!(
        add(store, passkey(&p2, &bob, &cred, 0, t), &codes("b")).await,
        Registered::Taken,
        "another subject took a credential id held already"
    );
    assert_eq!(
        add(store, passkey(&p2, &ada, &cred, 0, t), &[]).await,
        Registered::Taken,
        "its own subject added a credential id twice"
    );
    assert!(
        store.factors(&bob, t).await.expect("factors").is_empty(),
        "a refused passkey was kept"
    );
    let other = unique("cred");
    assert_eq!(
        add(store, passkey(&p3, &ada, &other, 0, t + 1), &codes("c")).await,
        Registered::Added { recovery: false },
        "a second factor"
    );
    assert_eq!(
        store.recovery_left(&ada).await.expect("left"),
        3,
        "a second factor replaced the recovery codes"
    );
    let found = store
        .credential(&cred)
        .await
        .expect("credential")
        .expect("a passkey is found by its credential id");
    assert_eq!(
        (
            found.id.as_str(),
            found.subject.as_str(),
            found.kind.as_str(),
            found.secret.as_str(),
            found.name.as_deref(),
            found.credential.as_deref(),
            found.last_step,
            found.confirmed_at,
            found.expires_at,
        ),
        (
            p1.as_str(),
            ada.as_str(),
            "passkey",
            "sealed-key",
            Some("laptop"),
            Some(cred.as_str()),
            5,
            Some(t),
            None,
        )
    );
    assert_eq!(
        store.credential(&unique("cred")).await.expect("credential"),
        None
    );
    let listed = store.factors(&ada, t + 1).await.expect("factors");
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(Factor::is_active));
    let carl = unique("carl");
    for n in 0..5 {
        let id = unique(&format!("k{n}"));
        let added = add(store, passkey(&id, &carl, &unique("cred"), 0, t), &[]).await;
        assert!(matches!(added, Registered::Added { .. }), "{added:?}");
    }
    let sixth = unique("k5");
    assert_eq!(
        add(store, passkey(&sixth, &carl, &unique("cred"), 0, t), &[]).await,
        Registered::TooMany
    );
}

/// A sign-in is recorded only with a counter past the stored one (or none kept on either
/// side), for the subject's own passkey; the new state and the time of use are stored.
pub(super) async fn a_counter_only_moves_forward<F: FactorStore>(store: &F, t: i64) {
    let (ada, bob, p1, p2) = (unique("ada"), unique("bob"), unique("p1"), unique("p2"));
    let (counted, uncounted) = (unique("cred"), unique("cred"));
    add(store, passkey(&p1, &ada, &counted, 5, t), &[]).await;
    add(store, passkey(&p2, &ada, &uncounted, 0, t), &[]).await;
    let used = |subject, id, counter, now| {
        store.use_credential(CredentialUse::new(
            subject,
            id,
            counter,
            "sealed-after",
            now,
        ))
    };
    assert!(
        !used(&bob, &p1, 9, t + 1).await.expect("use"),
        "another subject"
    );
    let unknown = unique("p");
    assert!(
        !used(&ada, &unknown, 9, t + 1).await.expect("use"),
        "no such factor"
    );
    assert!(
        !used(&ada, &p1, 5, t + 1).await.expect("use"),
        "the same counter"
    );
    assert!(
        !used(&ada, &p1, 3, t + 1).await.expect("use"),
        "a counter gone back"
    );
    assert!(
        !used(&ada, &p1, 0, t + 1).await.expect("use"),
        "a counter gone to 0"
    );
    assert!(used(&ada, &p1, 6, t + 2).await.expect("use"));
    assert!(
        !used(&ada, &p1, 6, t + 3).await.expect("use"),
        "a counter used twice"
    );
    let found = store
        .credential(&counted)
        .await
        .expect("credential")
        .expect("found");
    assert_eq!(
        (found.last_step, found.secret.as_str(), found.last_used_at),
        (6, "sealed-after", Some(t + 2))
    );
    assert!(
        used(&ada, &p2, 0, t + 2).await.expect("use"),
        "no counter kept"
    );
    assert!(
        used(&ada, &p2, 0, t + 3).await.expect("use"),
        "no counter kept, again"
    );
    assert!(
        used(&ada, &p2, 2, t + 4).await.expect("use"),
        "a counter starts"
    );
    assert!(
        !used(&ada, &p2, 0, t + 5).await.expect("use"),
        "a counter that started went back to 0"
    );
}

/// Of many sign-ins recorded at once with one counter, one is.
pub(super) async fn uses_at_once_record_one<F: FactorStore>(store: &F, t: i64) {
    let (ada, p1, cred) = (unique("ada"), unique("p1"), unique("cred"));
    add(store, passkey(&p1, &ada, &cred, 1, t), &[]).await;
    let uses = (0..8).map(|_| store.use_credential(CredentialUse::new(&ada, &p1, 2, "s", t + 1)));
    let recorded = join_all(uses)
        .await
        .into_iter()
        .map(|used| used.expect("use"))
        .filter(|used| *used)
        .count();
    assert_eq!(recorded, 1, "one counter was recorded {recorded} times");
}

/// A passkey is renamed by its own subject only, and a removed one is found no more: its
/// credential id may be registered again.
pub(super) async fn a_passkey_is_renamed_then_removed<F: FactorStore>(store: &F, t: i64) {
    let (ada, bob, p1, cred) = (unique("ada"), unique("bob"), unique("p1"), unique("cred"));
    add(store, passkey(&p1, &ada, &cred, 0, t), &codes("r")).await;
    assert!(!store
        .rename_factor(&bob, &p1, "mine", t)
        .await
        .expect("rename"));
    assert!(!store
        .rename_factor(&ada, &unique("p"), "phone", t)
        .await
        .expect("rename"));
    assert!(store
        .rename_factor(&ada, &p1, "phone", t)
        .await
        .expect("rename"));
    let listed = store.factors(&ada, t).await.expect("factors");
    assert_eq!(listed[0].name.as_deref(), Some("phone"));
    assert_eq!(
        store.remove_factor(&ada, &p1, t + 1).await.expect("remove"),
        Some(0)
    );
    assert_eq!(store.credential(&cred).await.expect("credential"), None);
    assert!(
        !store
            .use_credential(CredentialUse::new(&ada, &p1, 1, "s", t + 2))
            .await
            .expect("use"),
        "a removed passkey recorded a sign-in"
    );
    assert_eq!(store.recovery_left(&ada).await.expect("left"), 0);
    let again = unique("p2");
    assert_eq!(
        add(store, passkey(&again, &bob, &cred, 0, t + 2), &[]).await,
        Registered::Added { recovery: true },
        "a removed credential id is free again"
    );
}

/// A challenge is taken once, and not after it expires; of many takes at once, one gets it.
pub(super) async fn a_challenge_is_taken_once<F: FactorStore>(store: &F, t: i64) {
    let (c1, c2, c3) = (unique("ch"), unique("ch"), unique("ch"));
    store
        .put_challenge(&c1, "state-1", t + 60)
        .await
        .expect("put");
    store
        .put_challenge(&c2, "state-2", t + 60)
        .await
        .expect("put");
    store
        .put_challenge(&c3, "state-3", t + 10)
        .await
        .expect("put");
    assert_eq!(
        store.take_challenge(&unique("ch"), t).await.expect("take"),
        None
    );
    assert_eq!(
        store
            .take_challenge(&c1, t + 1)
            .await
            .expect("take")
            .as_deref(),
        Some("state-1")
    );
    assert_eq!(
        store.take_challenge(&c1, t + 1).await.expect("take"),
        None,
        "taken twice"
    );
    assert_eq!(
        store.take_challenge(&c3, t + 10).await.expect("take"),
        None,
        "taken at its end"
    );
    let takes = (0..8).map(|_| store.take_challenge(&c2, t + 2));
    let got = join_all(takes)
        .await
        .into_iter()
        .filter_map(|taken| taken.expect("take"))
        .count();
    assert_eq!(got, 1, "one challenge was taken {got} times at once");
}
