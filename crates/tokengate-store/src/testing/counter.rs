//! The attempt counter: reservations up to the limit, release and clear, windows, bursts.

use super::unique;
use crate::{AttemptCounter, Reservation};

/// Reserves `limit` attempts of `key` at `t` in a 900 s window, each granted in turn.
async fn reach_the_limit<C: AttemptCounter>(counter: &C, key: &str, limit: u32, t: i64) {
    for count in 1..=limit {
        let granted = counter.reserve(key, limit, 900, t).await.expect("reserve");
        assert!(
            matches!(granted, Reservation::Granted(w) if w.count == count),
            "attempt {count}: {granted:?}"
        );
    }
}

/// The limit is granted, counted one by one, then refused uncounted until the window ends.
pub(super) async fn the_limit_is_granted_then_refused<C: AttemptCounter>(counter: &C, t: i64) {
    let key = unique("login");
    reach_the_limit(counter, &key, 3, t).await;
    let refused = counter.reserve(&key, 3, 900, t).await.expect("reserve");
    let Reservation::Refused(window) = refused else {
        panic!("the limit was passed: {refused:?}");
    };
    assert_eq!(window.count, 3);
    assert!((t + 1..=t + 900).contains(&window.ends_at), "{window:?}");
    assert!(refused
        .retry_after(t)
        .is_some_and(|s| (1..=900).contains(&s)));
    counter.clear(&key).await.expect("clear");
}

/// A release gives exactly one attempt back; a clear, all of them.
pub(super) async fn a_release_gives_one_back_and_a_clear_all<C: AttemptCounter>(
    counter: &C,
    t: i64,
) {
    let key = unique("login");
    reach_the_limit(counter, &key, 3, t).await;
    let refused = counter.reserve(&key, 3, 900, t).await.expect("reserve");
    let Reservation::Refused(window) = refused else {
        panic!("the limit was passed: {refused:?}");
    };
    counter
        .release(&key, window.ends_at)
        .await
        .expect("release");
    assert!(matches!(
        counter.reserve(&key, 3, 900, t).await.expect("reserve"),
        Reservation::Granted(_)
    ));
    assert!(matches!(
        counter.reserve(&key, 3, 900, t).await.expect("reserve"),
        Reservation::Refused(_)
    ));
    counter.clear(&key).await.expect("clear");
    let fresh = counter.reserve(&key, 3, 900, t).await.expect("reserve");
    assert!(
        matches!(fresh, Reservation::Granted(w) if w.count == 1),
        "{fresh:?}"
    );
    counter.clear(&key).await.expect("clear");
}

/// Keys count apart: one at its limit leaves another untouched.
pub(super) async fn keys_count_apart<C: AttemptCounter>(counter: &C, t: i64) {
    let (key, other) = (unique("login"), unique("address"));
    reach_the_limit(counter, &key, 3, t).await;
    let apart = counter.reserve(&other, 3, 900, t).await.expect("reserve");
    assert!(
        matches!(apart, Reservation::Granted(w) if w.count == 1),
        "{apart:?}"
    );
    counter.clear(&key).await.expect("clear");
    counter.clear(&other).await.expect("clear");
}

/// A burst of reservations at once: exactly the limit is granted.
pub(super) async fn a_burst_is_granted_exactly_the_limit<C: AttemptCounter>(counter: &C, t: i64) {
    let burst = unique("burst");
    let outcomes =
        futures_util::future::join_all((0..40).map(|_| counter.reserve(&burst, 10, 900, t))).await;
    let granted = outcomes
        .into_iter()
        .map(|outcome| outcome.expect("reserve"))
        .filter(|outcome| matches!(outcome, Reservation::Granted(_)))
        .count();
    assert_eq!(granted, 10, "a burst passed the limit");
    counter.clear(&burst).await.expect("clear");
}

/// A window ends: attempts count from one again. (A minute, not a second: a store that
/// expires keys at the window's end, in real time, must not drop it while the suite runs.)
pub(super) async fn attempts_count_from_one_when_a_window_ends<C: AttemptCounter>(
    counter: &C,
    t: i64,
) {
    let short = unique("short");
    counter.reserve(&short, 1, 60, t).await.expect("reserve");
    assert!(matches!(
        counter.reserve(&short, 1, 60, t).await.expect("reserve"),
        Reservation::Refused(_)
    ));
    let again = counter
        .reserve(&short, 1, 60, t + 61)
        .await
        .expect("reserve");
    assert!(
        matches!(again, Reservation::Granted(w) if w.count == 1),
        "{again:?}"
    );
    counter.clear(&short).await.expect("clear");
}

/// A window given back to zero is gone: the next attempt opens a window of its own (so a
/// counter keeps no state for attempts that were given back).
pub(super) async fn windows_back_at_zero_are_deleted<C: AttemptCounter>(counter: &C, t: i64) {
    let given = unique("given");
    let first = counter.reserve(&given, 3, 900, t).await.expect("reserve");
    counter
        .release(&given, first.window().ends_at)
        .await
        .expect("release");
    let next = counter
        .reserve(&given, 3, 900, t + 10)
        .await
        .expect("reserve");
    assert!(
        matches!(next, Reservation::Granted(w) if w.count == 1 && w.ends_at == t + 910),
        "a window back at zero was kept: {first:?} then {next:?}"
    );
    counter
        .release(&given, next.window().ends_at)
        .await
        .expect("release");
    // Given back twice: never below zero, and nothing to give back from.
    counter
        .release(&given, next.window().ends_at)
        .await
        .expect("release");
    let after = counter
        .reserve(&given, 3, 900, t + 11)
        .await
        .expect("reserve");
    assert!(
        matches!(after, Reservation::Granted(w) if w.count == 1),
        "{after:?}"
    );
    // Of two attempts, one given back leaves one counted.
    counter
        .reserve(&given, 3, 900, t + 11)
        .await
        .expect("reserve");
    counter
        .release(&given, after.window().ends_at)
        .await
        .expect("release");
    let kept = counter
        .reserve(&given, 3, 900, t + 12)
        .await
        .expect("reserve");
    assert!(
        matches!(kept, Reservation::Granted(w) if w.count == 2 && w.ends_at == t + 911),
        "{kept:?}"
    );
    counter.clear(&given).await.expect("clear");
}

/// Found in review: an attempt whose window ended while its password was checked gave its
/// reservation back to the window opened after it, one that held other attempts' failures.
pub(super) async fn a_release_never_reaches_the_next_window<C: AttemptCounter>(
    counter: &C,
    t: i64,
) {
    let key = unique("outlived");
    let first = counter.reserve(&key, 3, 60, t).await.expect("reserve");
    let next = counter.reserve(&key, 3, 60, t + 61).await.expect("reserve");
    assert_ne!(first.window().ends_at, next.window().ends_at);
    counter
        .release(&key, first.window().ends_at)
        .await
        .expect("release");
    let after = counter.reserve(&key, 3, 60, t + 61).await.expect("reserve");
    assert!(
        matches!(after, Reservation::Granted(w) if w.count == 2),
        "a release gave back an attempt of the next window: {after:?}"
    );
    counter.clear(&key).await.expect("clear");
}
