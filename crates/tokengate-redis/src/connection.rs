//! One Redis, a Redis Cluster, or a master that Sentinel watches: where the store connects,
//! and the connection it shares.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use tokengate_store::StoreError;

use super::failed;
use crate::sentinel::{Followed, Sentinels, SENTINEL_SCHEME};

/// The scheme of a Redis Cluster's seed nodes: `redis+cluster://host:port,host:port,...`.
pub(crate) const CLUSTER_SCHEME: &str = "redis+cluster://";

/// Where the store's Redis is.
#[derive(Clone)]
pub(crate) enum Target {
    Single(redis::Client),
    /// The seed nodes, as `redis://` URLs.
    Cluster(Vec<String>),
    Sentinel(Sentinels),
}

impl Target {
    /// `redis://host:port/db`, or `redis+cluster://` and the seed nodes separated by commas,
    /// or `redis+sentinel://` and the sentinels separated by commas, then `/` and the name of
    /// the master they watch.
    pub(crate) fn parse(url: &str, wait: Duration) -> Result<Self, StoreError> {
        if url.starts_with(SENTINEL_SCHEME) {
            return Sentinels::parse(url).map(Self::Sentinel);
        }
        let Some(seeds) = url.strip_prefix(CLUSTER_SCHEME) else {
            return redis::Client::open(url).map(Self::Single).map_err(failed);
        };
        let nodes = node_urls(seeds);
        if nodes.is_empty() || nodes.iter().any(|node| node[8..].contains('/')) {
            return Err(StoreError::misconfigured(format!(
                "redis: `{url}`: expected {CLUSTER_SCHEME}host:port,host:port (a cluster has no databases)"
            )));
        }
        // Built once here for its checks of the URLs; `connect` builds the one it uses.
        cluster_client(&nodes, wait).map_err(failed)?;
        Ok(Self::Cluster(nodes))
    }

    /// A connection that reconnects by itself; made without a round trip for one Redis, with
    /// the cluster's slot map for a cluster.
    pub(crate) async fn connect(&self, wait: Duration) -> Result<Connection, StoreError> {
        match self {
            Self::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(wait))
                    .set_response_timeout(Some(wait))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(200));
                ConnectionManager::new_lazy_with_config(client.clone(), config)
                    .map(Connection::Single)
                    .map_err(failed)
            }
            Self::Cluster(nodes) => {
                let client = cluster_client(nodes, wait).map_err(failed)?;
                tokio::time::timeout(wait, client.get_async_connection())
                    .await
                    .map_err(|_| {
                        StoreError::unreachable("redis: the cluster did not answer in time")
                    })?
                    .map(Connection::Cluster)
                    .map_err(failed)
            }
            Self::Sentinel(sentinels) => Ok(Connection::Sentinel(sentinels.follow(wait))),
        }
    }
}

/// How many times the cluster client sends a command again, and how long it waits before
/// each (milliseconds, at least and at most). After a failover, the first command to the dead
/// master fails, the client reconnects and reads the slot map again, and a later try reaches
/// the promoted replica: with a single retry that first command answered 503 on every
/// instance; with these it succeeds. The response timeout bounds them all together.
const CLUSTER_RETRIES: u32 = 4;
const CLUSTER_RETRY_WAIT: (u64, u64) = (20, 250);

/// A client of the cluster whose seed nodes are `nodes`, each command (with its retries)
/// bounded by `wait`.
/// The `redis://` URL of each `host:port` of a comma-separated list (a cluster's seeds, the
/// sentinels), empty entries left out.
pub(crate) fn node_urls(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|node| !node.is_empty())
        .map(|node| format!("redis://{node}"))
        .collect()
}

fn cluster_client(nodes: &[String], wait: Duration) -> redis::RedisResult<ClusterClient> {
    ClusterClient::builder(nodes.to_vec())
        .connection_timeout(wait)
        .response_timeout(wait)
        .retries(CLUSTER_RETRIES)
        .min_retry_wait(CLUSTER_RETRY_WAIT.0)
        .max_retry_wait(CLUSTER_RETRY_WAIT.1)
        .build()
}

/// The shared connection, to one Redis or to a cluster (commands go to the node of their
/// first key; a subject's keys share one slot).
#[derive(Clone)]
pub(crate) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(Followed),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
            Self::Sentinel(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Sentinel(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
            Self::Sentinel(connection) => connection.get_db(),
        }
    }
}

/// Whether Redis may evict keys under `policy` (`maxmemory-policy`). Every key of the store
/// matters: a session index evicted makes a sign-out of all miss sessions, a throttling
/// counter evicted hands an attacker fresh attempts; and most of them carry an expiry, so the
/// `volatile-*` policies may evict them too. Only `noeviction` keeps them all.
pub(crate) fn evicts(policy: &str) -> bool {
    !policy.eq_ignore_ascii_case("noeviction")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_name_their_seed_nodes() {
        let wait = Duration::from_secs(1);
        let url = "redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002";
        assert!(matches!(Target::parse(url, wait), Ok(Target::Cluster(_))));
        assert!(matches!(
            Target::parse("redis://127.0.0.1:6379/2", wait),
            Ok(Target::Single(_))
        ));
        assert!(matches!(
            Target::parse("redis+sentinel://127.0.0.1:26379/mymaster", wait),
            Ok(Target::Sentinel(_))
        ));
        for bad in [
            "redis+cluster://",
            "redis+cluster://127.0.0.1:7000/1",
            "redis+sentinel://127.0.0.1:26379",
        ] {
            assert!(Target::parse(bad, wait).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_noeviction_keeps_every_key() {
        assert!(!evicts("noeviction"));
        for policy in [
            "allkeys-lru",
            "volatile-lru",
            "volatile-ttl",
            "allkeys-random",
        ] {
            assert!(evicts(policy), "{policy}");
        }
    }
}
