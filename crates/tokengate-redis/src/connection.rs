//! One Redis, or a Redis Cluster: where the store connects, and the connection it shares.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use tokengate_store::StoreError;

use super::failed;

/// The scheme of a Redis Cluster's seed nodes: `redis+cluster://host:port,host:port,...`.
pub(crate) const CLUSTER_SCHEME: &str = "redis+cluster://";

/// Where the store's Redis is.
#[derive(Clone)]
pub(crate) enum Target {
    Single(redis::Client),
    Cluster(Box<ClusterClient>),
}

impl Target {
    /// `redis://host:port/db`, or `redis+cluster://` and the seed nodes separated by commas.
    pub(crate) fn parse(url: &str, wait: Duration) -> Result<Self, StoreError> {
        let Some(seeds) = url.strip_prefix(CLUSTER_SCHEME) else {
            return redis::Client::open(url).map(Self::Single).map_err(failed);
        };
        let nodes: Vec<String> = seeds
            .split(',')
            .map(str::trim)
            .filter(|node| !node.is_empty())
            .map(|node| format!("redis://{node}"))
            .collect();
        if nodes.is_empty() || nodes.iter().any(|node| node[8..].contains('/')) {
            return Err(StoreError::misconfigured(format!(
                "redis: `{url}`: expected {CLUSTER_SCHEME}host:port,host:port (a cluster has no databases)"
            )));
        }
        ClusterClient::builder(nodes)
            .connection_timeout(wait)
            .response_timeout(wait)
            .retries(1)
            .build()
            .map(|client| Self::Cluster(Box::new(client)))
            .map_err(failed)
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
            Self::Cluster(client) => tokio::time::timeout(wait, client.get_async_connection())
                .await
                .map_err(|_| StoreError::unreachable("redis: the cluster did not answer in time"))?
                .map(Connection::Cluster)
                .map_err(failed),
        }
    }
}

/// The shared connection, to one Redis or to a cluster (commands go to the node of their
/// first key; a subject's keys share one slot).
#[derive(Clone)]
pub(crate) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
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
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
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
        for bad in ["redis+cluster://", "redis+cluster://127.0.0.1:7000/1"] {
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
