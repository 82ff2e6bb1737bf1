//! A Redis master that Sentinel watches: found through the sentinels at the first command,
//! and found again after a command fails in a way that says the master may have moved (the
//! connection refused or dropped, a timeout, a write refused by a master that became a
//! replica). So a promotion is followed without a restart: the commands of the failover's
//! own seconds fail (503); once the sentinels name the new master, the next command reaches
//! it (sent again there when it first met the old one).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{
    Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, ServerErrorKind, Value,
};
use tokengate_store::StoreError;

/// The scheme of a Sentinel-watched master: `redis+sentinel://host:port,host:port/<name>`.
pub(crate) const SENTINEL_SCHEME: &str = "redis+sentinel://";

/// The sentinels to ask, and the name of the master they watch.
#[derive(Clone)]
pub(crate) struct Sentinels {
    client: Arc<tokio::sync::Mutex<SentinelClient>>,
}

impl Sentinels {
    /// `redis+sentinel://[user:password@]host:port,host:port,.../<master name>`: the sentinels
    /// (without credentials of their own), then the name of the master they watch. The
    /// credentials, if any, are the master's (and its replicas').
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        let malformed = || {
            StoreError::misconfigured(format!(
                "redis: `{url}`: expected {SENTINEL_SCHEME}host:port,host:port,.../<master name>"
            ))
        };
        let rest = url.strip_prefix(SENTINEL_SCHEME).ok_or_else(malformed)?;
        let (nodes, name) = rest.rsplit_once('/').ok_or_else(malformed)?;
        let (credentials, nodes) = match nodes.rsplit_once('@') {
            Some((credentials, nodes)) => (Some(credentials), nodes),
            None => (None, nodes),
        };
        let sentinels = crate::connection::node_urls(nodes);
        if sentinels.is_empty() || name.is_empty() || name.contains(['?', '#']) {
            return Err(malformed());
        }
        let mut master = SentinelNodeConnectionInfo::default();
        if let Some(credentials) = credentials {
            // The URL parser of redis reads (and percent-decodes) the credentials.
            let probe = format!("redis://{credentials}@localhost");
            let info = redis::IntoConnectionInfo::into_connection_info(probe.as_str())
                .map_err(|_| malformed())?;
            master = master.set_redis_connection_info(info.redis_settings().clone());
        }
        SentinelClient::build(
            sentinels,
            name.to_owned(),
            Some(master),
            SentinelServerType::Master,
        )
        .map(|client| Self {
            client: Arc::new(tokio::sync::Mutex::new(client)),
        })
        .map_err(super::failed)
    }

    /// A connection to the master that follows it (made without a round trip).
    pub(crate) fn follow(&self, wait: Duration) -> Followed {
        Followed {
            sentinels: self.clone(),
            current: Arc::new(Mutex::new(None)),
            wait,
        }
    }
}

/// The connection to the master of the moment, with the number of its finding: a failure
/// forgets it only if no newer one has been found since.
#[derive(Clone)]
struct Found {
    generation: u64,
    connection: ConnectionManager,
}

/// A connection to a Sentinel-watched master, cheap to clone, found again when it moves.
#[derive(Clone)]
pub(crate) struct Followed {
    sentinels: Sentinels,
    current: Arc<Mutex<Option<Found>>>,
    wait: Duration,
}

impl Followed {
    /// The connection to the master, found through the sentinels when none is known. The
    /// bound covers the wait for another call's lookup too: with sentinels that do not
    /// answer, calls that arrive together fail within it, not one lookup after another.
    async fn master(&self) -> RedisResult<Found> {
        if let Some(found) = self.known() {
            return Ok(found);
        }
        tokio::time::timeout(self.wait, self.find())
            .await
            .map_err(|_| {
                RedisError::from((ErrorKind::Io, "the sentinels did not name a master in time"))
            })?
    }

    /// Asks the sentinels for the master, one lookup at a time: a call that waited for
    /// another's lookup takes what it found.
    async fn find(&self) -> RedisResult<Found> {
        let mut sentinels = self.sentinels.client.lock().await;
        if let Some(found) = self.known() {
            return Ok(found);
        }
        // Confirmed a master by its `ROLE`.
        let client = sentinels.async_get_client().await?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.wait))
            .set_response_timeout(Some(self.wait))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let generation = current.as_ref().map_or(0, |found| found.generation) + 1;
        let found = Found {
            generation,
            connection,
        };
        *current = Some(found.clone());
        Ok(found)
    }

    fn known(&self) -> Option<Found> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets the master found as `generation` when `answer` says it may no longer be the
    /// master, so that the next command asks the sentinels again; says whether it did.
    fn forget_if_moved<T>(&self, generation: u64, answer: &RedisResult<T>) -> bool {
        let Err(error) = answer else { return false };
        if !may_have_moved(error) {
            return false;
        }
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current
            .as_ref()
            .is_some_and(|found| found.generation == generation)
        {
            *current = None;
        }
        true
    }
}

/// Whether `error` may mean that the master is elsewhere now: it is unreachable, or it is a
/// replica (a demoted master refuses writes), or it waits for its own master.
fn may_have_moved(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
        || matches!(
            error.kind(),
            ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
        )
}

/// How many times a command is sent: once, and once more to the master found again when the
/// first answer says the master may have moved, so that the first command after a failover
/// reaches the new master rather than answering 503. (The cluster client retries the same
/// way; every script of the store is safe to run again.)
const TRIES: usize = 2;

impl ConnectionLike for Followed {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut tries = 1;
            loop {
                let mut found = self.master().await?;
                let answer = found.connection.req_packed_command(cmd).await;
                if !self.forget_if_moved(found.generation, &answer) || tries == TRIES {
                    return answer;
                }
                tries += 1;
            }
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut tries = 1;
            loop {
                let mut found = self.master().await?;
                let answer = found
                    .connection
                    .req_packed_commands(pipeline, offset, count)
                    .await;
                if !self.forget_if_moved(found.generation, &answer) || tries == TRIES {
                    return answer;
                }
                tries += 1;
            }
        })
    }

    fn get_db(&self) -> i64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_urls_name_the_sentinels_then_the_master() {
        for good in [
            "redis+sentinel://127.0.0.1:26379/mymaster",
            "redis+sentinel://127.0.0.1:26379,127.0.0.1:26380, 127.0.0.1:26381/mymaster",
            "redis+sentinel://:s3cret@127.0.0.1:26379,127.0.0.1:26380/mymaster",
        ] {
            assert!(Sentinels::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "redis+sentinel://",
            "redis+sentinel://127.0.0.1:26379",
            "redis+sentinel://127.0.0.1:26379/",
            "redis+sentinel:///mymaster",
            "redis+sentinel://127.0.0.1:26379/mymaster?db=1",
        ] {
            assert!(Sentinels::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_failures_that_may_mean_a_new_master_forget_the_old_one() {
        let io = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(may_have_moved(&io));
        let wrong_type = RedisError::from((ErrorKind::UnexpectedReturnType, "not a number"));
        assert!(!may_have_moved(&wrong_type));
    }
}
