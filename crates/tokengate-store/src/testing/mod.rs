//! The contract every [`SessionStore`] and [`AttemptCounter`] must keep, as a suite a store
//! runs against itself (feature `test-util`).
//!
//! The suite drives time itself: every operation gets the time of the call from it, starting
//! at the wall clock (so that a server expiring keys at a session's end keeps them while the
//! suite runs) and moved on by hand — past a grace period, past a session's end, past a
//! throttling window — without waiting.
//!
//! The same rules live in Rust ([`Refreshed::decide`], [`Session::accepts`], the memory
//! counter), in SQL and in Lua; this suite holds each store to them, one named rule at a time:
//! [`sessions`] (what is stored, listed and live), [`rotation`] (refresh, rotation, the grace,
//! reuse), [`revocation`] (sign-out of one session, of a subject, with and without a
//! presenting token), [`limits`] (idle timeout, the most sessions a subject holds) and
//! [`counter`] (the attempt counter). A broken rule panics with the rule's name. Every rule
//! makes its own ids, random, so the suite can run on a shared server.
//!
//! [`Refreshed::decide`]: crate::Refreshed::decide
//! [`sessions`]: self#sessions
//! [`rotation`]: self#rotation
//! [`revocation`]: self#revocation
//! [`limits`]: self#limits
//! [`counter`]: self#counter
//!
//! # Example
//!
//! ```
//! use tokengate::store::{testing, MemoryStore};
//! use tokengate::throttle::MemoryCounter;
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! testing::session_store_contract(&MemoryStore::new()).await;
//! testing::attempt_counter_contract(&MemoryCounter::new()).await;
//! # });
//! ```
//!
//! # Sessions
//! Created sessions are live and listed as stored; a session past its end, or once the clock
//! passes it, is neither live, listed, refreshed nor revoked; the client that signed in is kept.
//!
//! # Rotation
//! The current token refreshes; with rotation it is replaced, handed out again within the
//! grace, and its reuse after the grace ends the session; concurrent refreshes never fork one.
//!
//! # Revocation
//! One session ends once; a subject's sign-out is accepted only from a live presenter, ends
//! only what it is asked, and batches end everything while single sign-outs race them.
//!
//! # Limits
//! The idle timeout, and at most `max` live sessions per subject, evicting the least recently
//! used in the same step, under a burst too.
//!
//! # Counter
//! Reservations up to the limit, release and clear, windows that end, bursts.
//!
//! # Factors
//! [`factor_store_contract`]: a session reissued once, for its current token only; pending
//! factors that expire, at most `max` per subject under a burst; confirmation once; each step
//! accepted once per factor (one of calls at once); recovery codes spent once; removal.
//! Passkeys: a credential id held once in the whole store, found by it; a signature counter
//! that only moves forward (one of uses at once); renaming and removal; ceremony challenges
//! taken once, not after their end (one of takes at once).

// A test suite: a broken rule is a panic with the rule's name, as in any test.
#![allow(clippy::expect_used)]

/// Runs each named rule against the store in order, under its module-qualified name.
macro_rules! rules {
    ($store:expr, $t:expr; $($module:ident::$rule:ident),+ $(,)?) => {
        $(
            rule(
                concat!(stringify!($module), "::", stringify!($rule)),
                $module::$rule($store, $t),
            )
            .await;
        )+
    };
}

mod counter;
mod factors;
mod limits;
mod passkeys;
mod revocation;
mod rotation;
mod sessions;

use std::collections::BTreeSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;

use crate::{AttemptCounter, FactorStore, Session, SessionStore};

/// Runs every [`SessionStore`] rule against `store`, in order.
///
/// # Panics
///
/// On the first rule the store breaks, or on a store error, naming the rule and what was
/// expected.
pub async fn session_store_contract<S: SessionStore>(store: &S) {
    let t = start();
    rules!(store, t;
        sessions::created_sessions_are_live_and_listed_as_stored,
        sessions::the_client_that_signed_in_is_kept,
        sessions::a_session_past_its_end_is_gone,
        sessions::a_session_is_gone_once_the_clock_passes_its_end,
        sessions::a_refresh_naming_another_subject_finds_nothing,
        sessions::a_session_is_read_by_id_for_its_subject_while_live,
        rotation::without_rotation_only_the_current_token_refreshes,
        rotation::a_rotated_token_is_replaced_then_reused,
        rotation::concurrent_refreshes_never_fork_a_session,
        revocation::a_replaced_token_signs_out_only_within_the_grace,
        revocation::without_rotation_a_replaced_token_signs_out_nothing,
        revocation::another_subjects_token_signs_out_nothing,
        revocation::a_current_token_signs_its_subject_out_once,
        revocation::a_session_is_revoked_once,
        revocation::without_a_presenter_every_live_session_ends,
        revocation::one_session_ends_by_id_for_a_live_presenter,
        revocation::a_sign_out_of_all_ends_at_most_what_it_is_asked,
        revocation::batches_end_everything_while_single_sessions_end,
        limits::an_idle_session_ends_at_its_next_refresh,
        limits::the_last_use_is_written_once_per_touch_interval,
        limits::a_new_session_past_the_limit_ends_the_least_recently_used,
        limits::sign_ins_at_once_never_pass_the_limit,
        limits::sign_ins_within_one_tick_keep_the_newest,
    );
}

/// Runs every [`FactorStore`] rule against `store`, in order, and the [`SessionStore`] rules
/// a store of second factors keeps besides ([`SessionStore::reissue`]).
///
/// # Panics
///
/// On the first rule the store breaks, or on a store error, naming the rule and what was
/// expected.
pub async fn factor_store_contract<S: SessionStore + FactorStore>(store: &S) {
    let t = start();
    rules!(store, t;
        factors::a_session_is_reissued_only_for_its_current_token,
        factors::reissues_at_once_reissue_once,
        factors::a_pending_factor_lives_until_its_end,
        factors::a_subject_holds_at_most_max_factors,
        factors::confirming_activates_once,
        factors::a_step_is_accepted_once,
        factors::recovery_codes_are_spent_once,
        factors::a_factor_is_removed_once,
        passkeys::a_credential_is_added_once_in_the_store,
        passkeys::a_counter_only_moves_forward,
        passkeys::uses_at_once_record_one,
        passkeys::a_passkey_is_renamed_then_removed,
        passkeys::a_challenge_is_taken_once,
    );
}

/// The former name of [`attempt_counter_contract`].
#[deprecated(note = "renamed `attempt_counter_contract`")]
pub async fn failure_counter_contract<C: AttemptCounter>(counter: &C) {
    attempt_counter_contract(counter).await;
}

/// Runs every [`AttemptCounter`] rule against `counter`, in order.
///
/// # Panics
///
/// On the first rule the counter breaks, or on a counter error, naming the rule and what was
/// expected.
pub async fn attempt_counter_contract<C: AttemptCounter>(counter: &C) {
    let t = start();
    rules!(counter, t;
        counter::the_limit_is_granted_then_refused,
        counter::a_release_gives_one_back_and_a_clear_all,
        counter::keys_count_apart,
        counter::a_burst_is_granted_exactly_the_limit,
        counter::attempts_count_from_one_when_a_window_ends,
        counter::windows_back_at_zero_are_deleted,
        counter::a_release_never_reaches_the_next_window,
    );
}

/// Runs one rule; a rule that breaks panics again with its name before what it expected.
async fn rule(name: &str, check: impl Future<Output = ()>) {
    if let Err(broken) = AssertUnwindSafe(check).catch_unwind().await {
        let expected = broken
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| broken.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        panic!("store contract rule `{name}` broken: {expected}");
    }
}

/// Where the suite's clock starts.
fn start() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A name no other run uses.
fn unique(what: &str) -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("random bytes");
    let tag = u128::from_le_bytes({
        let mut wide = [0u8; 16];
        wide[..12].copy_from_slice(&bytes);
        wide
    });
    format!("{what}-{tag:x}")
}

/// A session of `subject` opened at `at`, ending at `end`, whose current token is `token`.
fn session(id: &str, subject: &str, token: &str, at: i64, end: Option<i64>) -> Session {
    let mut session = Session::new(id, subject, Some("app"), r#"{"roles":["user"]}"#, at, end);
    token.clone_into(&mut session.token);
    session
}

/// Creates `session` with no limit on the subject's sessions.
async fn create<S: SessionStore>(store: &S, session: Session) {
    store.create(session, None).await.expect("create");
}

fn ids(sessions: &[Session]) -> BTreeSet<String> {
    sessions.iter().map(|s| s.id.clone()).collect()
}

/// Lets the other side of a `join` run.
async fn tokio_yield() {
    let mut yielded = false;
    std::future::poll_fn(|context| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            context.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}
