//! Revocations that survive a failover.
//!
//! Redis replicates asynchronously: a sign-out that a master has applied and acknowledged is
//! undone when that master dies before a replica has it and the replica is promoted; the
//! revoked refresh token works again. With [`RedisStore::wait_for_replicas`], every
//! revocation (a sign-out of any scope, a reuse detected, `revoke_subject`, a session ended
//! by `max_sessions`) is answered as done only once `WAIT` says that enough replicas hold it;
//! otherwise the store answers an [`Unreachable`] error, which the endpoints answer with 503.
//!
//! How, in one round trip after the revocation, on the node of the subject's slot (so in a
//! cluster, the same master), over connections of their own (a `WAIT` blocks the connection it
//! is sent on, and must not hold up sign-ins and refreshes behind it; several, so that
//! revocations are not confirmed one replica round trip at a time):
//! - `confirm.lua` checks that none of the sessions just ended is live there again (a
//!   failover between the revocation and its confirmation loses the revocation: 503, and the
//!   retry ends them on the new master), then writes the subject's fence key. That write is
//!   replicated after the revocation, so the `WAIT` that follows it on the same connection
//!   covers the revocation, even when the call itself ended nothing: a sign-out tried again
//!   after a 503, on any instance, is not answered 200 before the first one's revocation is
//!   on the replicas.
//! - `WAIT replicas timeout` answers how many replicas acknowledged everything so far.
//!
//! A 503 after an under-confirmed `WAIT` does not mean nothing happened: the master has
//! ended the sessions, and may keep them ended. It means the end is not promised. The client
//! tries again; revocation is idempotent, and the sign-out of an already ended session
//! answers 200 once the replicas confirm it.
//!
//! [`RedisStore::wait_for_replicas`]: crate::RedisStore::wait_for_replicas
//! [`Unreachable`]: tokengate_store::StoreErrorKind::Unreachable

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokengate_store::StoreError;
use tokio::sync::OnceCell;

use crate::connection::{Connection, Target};
use crate::keys::Layout;
use crate::{failed, WAIT};

/// The script that checks the revocation still holds and writes the fence (see the module
/// docs). Short, so it is sent whole with `EVAL`: no `NOSCRIPT` to handle inside a pipeline.
pub(crate) const CONFIRM: &str = include_str!("scripts/confirm.lua");

/// How many connections confirmations take turns on. A `WAIT` holds up every later command
/// on its connection until the replicas answer, so on one connection a burst of revocations
/// would be confirmed one replica round trip at a time, and the last ones would outlast
/// their bound (503) with healthy replicas; on these, that many at once.
const CONNECTIONS: usize = 8;

/// How many replicas must hold a revocation before it is answered, and over which
/// connections to ask them.
#[derive(Clone)]
pub(crate) struct Confirmations {
    replicas: u32,
    timeout: Duration,
    target: Target,
    /// Each made on first use, then shared by every clone of the store.
    connections: Arc<[OnceCell<Connection>; CONNECTIONS]>,
    /// Which connection the next confirmation takes.
    turn: Arc<AtomicUsize>,
}

impl Confirmations {
    /// Confirmations by `replicas` replicas within `timeout`, on a connection of their own
    /// to `target`.
    pub(crate) fn new(target: Target, replicas: u32, timeout: Duration) -> Self {
        Self {
            replicas,
            timeout,
            target,
            connections: Arc::new(std::array::from_fn(|_| OnceCell::new())),
            turn: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// How long an answer may take: the `WAIT` itself, and the usual bound on the rest.
    fn patience(&self) -> Duration {
        self.timeout + WAIT
    }

    /// The next connection in turn, made on first use. The wait for another call's attempt
    /// to make it is bounded too: attempts that fail one after another must not add up.
    async fn connection(&self) -> Result<Connection, StoreError> {
        let turn = self.turn.fetch_add(1, Ordering::Relaxed) % CONNECTIONS;
        let made = self.connections[turn].get_or_try_init(|| self.target.connect(self.patience()));
        let connection = tokio::time::timeout(self.patience(), made)
            .await
            .map_err(|_| StoreError::unreachable("redis: no connection in time"))??;
        Ok(connection.clone())
    }

    /// `Ok` once enough replicas hold every write so far on the node of `subject`'s slot,
    /// the revocation of `ended` (sessions of `subject`, ended at `now`) among them.
    pub(crate) async fn confirm<'a>(
        &self,
        keys: &Layout,
        subject: &str,
        ended: impl IntoIterator<Item = &'a str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        let mut pipeline = redis::pipe();
        let check = pipeline
            .cmd("EVAL")
            .arg(CONFIRM)
            .arg(2)
            .arg(keys.index(subject))
            .arg(keys.fence(subject))
            .arg(now);
        for id in ended {
            check.arg(id);
        }
        let millis = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        pipeline.cmd("WAIT").arg(self.replicas).arg(millis.max(1));
        let (held, acknowledged): (i64, i64) = pipeline
            .query_async(&mut connection)
            .await
            .map_err(failed)?;
        confirmed(held == 1, acknowledged, self.replicas, self.timeout)
    }
}

/// The verdict on a confirmation: whether the revocation still `held` on the node, and how
/// many replicas `acknowledged` it of the `asked` within `timeout`.
fn confirmed(
    held: bool,
    acknowledged: i64,
    asked: u32,
    timeout: Duration,
) -> Result<(), StoreError> {
    if !held {
        return Err(StoreError::unreachable(
            "redis: a revocation was lost as the master changed; try again",
        ));
    }
    if acknowledged < i64::from(asked) {
        return Err(StoreError::unreachable(format!(
            "redis: {acknowledged} of the {asked} replicas asked for confirmed the revocation \
             within {timeout:?}: it is not promised to survive a failover; try again"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokengate_store::StoreErrorKind;

    #[test]
    fn a_revocation_is_confirmed_only_when_it_held_and_enough_replicas_have_it() {
        let timeout = Duration::from_millis(500);
        assert!(confirmed(true, 1, 1, timeout).is_ok());
        assert!(confirmed(true, 2, 1, timeout).is_ok());
        for (held, acknowledged) in [(true, 0), (false, 1), (true, -1)] {
            let error = confirmed(held, acknowledged, 1, timeout).unwrap_err();
            // Unreachable: the endpoints answer 503, and the client tries again.
            assert_eq!(error.kind(), StoreErrorKind::Unreachable, "{error}");
        }
    }
}
