//! Sign-outs that survive a Redis failover, on a Redis Cluster (three masters with a replica
//! each) and on a master and replica watched by three sentinels, all redis-server processes
//! of this test's own.
//!
//! The scenario, the same on both: three gate instances share the Redis. One session signs
//! out while the replicas are healthy; then the replica of the session's master is held
//! behind (stopped, its link closed) while a second session signs out; then the master is
//! killed, the replica released and promoted. Every sign-out that answered 200 must still
//! hold on another instance. With `redis_wait_replicas = 1` the held-behind sign-out answers
//! 503 (nothing is claimed that is not done), a retry answers 503 while the new master has no
//! replica, and 200 once it has one again. With the wait off (the control case, proving the
//! scenario can fail) the held-behind sign-out answers 200 and the failover undoes it.
//!
//! Each run also prints how long each instance took, from the promotion, to answer a sign-in
//! again (`cargo test --test failover -- --nocapture`; the figures are in BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod support;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{start, test_secret, Adapter, Server, Tokens};

/// How long any one step of a failover may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(40);

/// A free port whose cluster bus port (port + 10000) is free too.
fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if port < 55_000 && TcpListener::bind((Ipv4Addr::LOCALHOST, port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// Polls `done` every 100 ms until it holds, failing the test after [`DEADLINE`].
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `redis-cli -p port args...`, its output.
fn cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli (scripts/test-deps.sh installs it)");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The `field:value` lines of an `INFO` section, `field`'s value.
fn info(port: u16, section: &str, field: &str) -> Option<String> {
    field_of(&cli(port, &["INFO", section]), field)
}

/// `field`'s value in `field:value` lines.
fn field_of(lines: &str, field: &str) -> Option<String> {
    lines
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|value| value.trim().to_owned())
}

/// One redis-server (or sentinel) process, started again on the same port at will.
struct Process {
    port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl Process {
    fn start(port: u16, args: Vec<String>) -> Self {
        let mut process = Self {
            port,
            args,
            child: None,
        };
        process.run();
        process
    }

    fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test-deps.sh installs it)");
        self.child = Some(child);
        let port = self.port;
        wait_until("redis-server listens", || {
            TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
        });
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("a running process");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal}");
    }

    /// Stops the process where it is: it answers nothing, reads nothing, until resumed.
    fn pause(&self) {
        self.signal("-STOP");
    }

    fn resume(&self) {
        self.signal("-CONT");
    }

    /// Kills the process at once, as a crash would: nothing it has not sent is sent.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.child.is_some() {
            // A paused process does not die of SIGTERM; SIGKILL ends it either way.
            self.kill();
        }
    }
}

/// A directory of the test's own, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tokengate-{name}-{}", test_secret()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The arguments of a plain redis-server on `port`, keeping nothing on disk.
fn server_args(port: u16, dir: &Path) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--maxmemory-policy",
        "noeviction",
        "--dir",
        &dir.display().to_string(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Where the failover happens: the master of the demo user's sessions and its replica.
trait Deployment {
    /// The store URL of the gate instances.
    fn url(&self) -> String;
    /// The master that holds the demo user's sessions, and its replica.
    fn pair(&mut self) -> (&mut Process, &mut Process);
    /// Waits until the (released) replica is the master, promoted as this deployment does.
    fn promote(&mut self);
    /// Brings the killed master back, as a replica of the one promoted, and waits until it
    /// is in sync.
    fn rejoin(&mut self);
}

/// Three masters with one replica each, clustered.
struct Cluster {
    nodes: Vec<Process>,
    /// Indexes into `nodes`: the master of the demo user's slot, and its replica.
    master: usize,
    replica: usize,
    _dir: Scratch,
}

impl Cluster {
    fn start() -> Self {
        let dir = Scratch::new("failover-cluster");
        let nodes: Vec<Process> = (0..6)
            .map(|_| {
                let port = free_port();
                let mut args = server_args(port, dir.path());
                args.extend(
                    [
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        &dir.path()
                            .join(format!("nodes-{port}.conf"))
                            .display()
                            .to_string(),
                        "--cluster-node-timeout",
                        "2000",
                    ]
                    .map(str::to_owned),
                );
                Process::start(port, args)
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stdout)
        );
        for node in &nodes {
            wait_until("the cluster is ok on every node", || {
                field_of(&cli(node.port, &["CLUSTER", "INFO"]), "cluster_state").as_deref()
                    == Some("ok")
            });
        }
        let mut cluster = Self {
            nodes,
            master: 0,
            replica: 0,
            _dir: dir,
        };
        let (master, replica) = cluster.owners_of_the_demo_user();
        cluster.master = master;
        cluster.replica = replica;
        let port = cluster.nodes[replica].port;
        wait_until("the replica is in sync", || {
            info(port, "replication", "master_link_status").as_deref() == Some("up")
        });
        cluster
    }

    /// The master of the demo user's slot and its replica, as `CLUSTER NODES` says.
    fn owners_of_the_demo_user(&self) -> (usize, usize) {
        let any = self.nodes[0].port;
        let slot: u16 = cli(
            any,
            &[
                "CLUSTER",
                "KEYSLOT",
                &format!("{{{}}}", support::demo::USER.0),
            ],
        )
        .parse()
        .expect("a slot");
        let mut master_id = None;
        let mut lines = Vec::new();
        wait_until("every node knows its role", || {
            let listing = cli(any, &["CLUSTER", "NODES"]);
            lines = listing.lines().map(str::to_owned).collect();
            lines.len() == 6 && lines.iter().filter(|line| line.contains("slave")).count() == 3
        });
        for line in &lines {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let owns = fields[8..].iter().any(|range| {
                let (low, high) = range.split_once('-').unwrap_or((range, range));
                matches!((low.parse::<u16>(), high.parse::<u16>()), (Ok(low), Ok(high)) if (low..=high).contains(&slot))
            });
            if fields[2].contains("master") && owns {
                master_id = Some(fields[0].to_owned());
            }
        }
        let master_id = master_id.expect("a master owns the slot");
        let index_of = |id: &str, role_field: usize| {
            let line = lines
                .iter()
                .find(|line| line.split_whitespace().nth(role_field) == Some(id))
                .expect("the node");
            let port: u16 = line
                .split_whitespace()
                .nth(1)
                .unwrap()
                .split(['@', ':'])
                .nth(1)
                .unwrap()
                .parse()
                .unwrap();
            self.nodes
                .iter()
                .position(|node| node.port == port)
                .unwrap()
        };
        (index_of(&master_id, 0), index_of(&master_id, 3))
    }
}

impl Deployment for Cluster {
    fn url(&self) -> String {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        format!("redis+cluster://{}", nodes.join(","))
    }

    fn pair(&mut self) -> (&mut Process, &mut Process) {
        let (master, replica) = (self.master, self.replica);
        let [master, replica] = self
            .nodes
            .get_disjoint_mut([master, replica])
            .expect("two nodes");
        (master, replica)
    }

    fn promote(&mut self) {
        let port = self.nodes[self.replica].port;
        // The master is dead: the replica takes its slots without the others' vote.
        wait_until("the replica takes over", || {
            cli(port, &["CLUSTER", "FAILOVER", "TAKEOVER"]) == "OK"
        });
        wait_until("the replica is the master", || {
            info(port, "replication", "role").as_deref() == Some("master")
        });
    }

    fn rejoin(&mut self) {
        // Its node file makes it a replica of the one that took its slots.
        self.nodes[self.master].run();
        std::mem::swap(&mut self.master, &mut self.replica);
        let port = self.nodes[self.replica].port;
        wait_until("the old master is a replica in sync", || {
            info(port, "replication", "master_link_status").as_deref() == Some("up")
        });
    }
}

/// A master and its replica, watched by three sentinels.
struct Watched {
    master: Process,
    replica: Process,
    sentinels: Vec<Process>,
    dir: Scratch,
}

/// The name the sentinels know the master by.
const MASTER_NAME: &str = "tokengate";

impl Watched {
    fn start() -> Self {
        let dir = Scratch::new("failover-sentinel");
        let master_port = free_port();
        let master = Process::start(master_port, server_args(master_port, dir.path()));
        let replica_port = free_port();
        let mut args = server_args(replica_port, dir.path());
        args.extend(["--replicaof", "127.0.0.1", &master_port.to_string()].map(str::to_owned));
        let replica = Process::start(replica_port, args);
        wait_until("the replica is in sync", || {
            info(replica_port, "replication", "master_link_status").as_deref() == Some("up")
        });
        let sentinels = (0..3)
            .map(|_| {
                let port = free_port();
                let config = dir.path().join(format!("sentinel-{port}.conf"));
                std::fs::write(
                    &config,
                    format!(
                        "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                         sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
                         sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                         sentinel failover-timeout {MASTER_NAME} 2000\n",
                        dir = dir.path().display()
                    ),
                )
                .expect("a sentinel config");
                Process::start(
                    port,
                    vec![config.display().to_string(), "--sentinel".to_owned()],
                )
            })
            .collect::<Vec<_>>();
        for sentinel in &sentinels {
            wait_until("each sentinel knows the others and the replica", || {
                let state = cli(sentinel.port, &["SENTINEL", "MASTER", MASTER_NAME]);
                let value = |field: &str| {
                    let mut lines = state.lines();
                    lines.find(|line| *line == field)?;
                    lines.next().map(str::to_owned)
                };
                value("num-other-sentinels").as_deref() == Some("2")
                    && value("num-slaves").as_deref() == Some("1")
            });
        }
        Self {
            master,
            replica,
            sentinels,
            dir,
        }
    }

    /// The port of the master `sentinel` names now.
    fn named_master(sentinel: &Process) -> Option<u16> {
        cli(
            sentinel.port,
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
        )
        .lines()
        .nth(1)
        .and_then(|port| port.parse().ok())
    }
}

impl Deployment for Watched {
    fn url(&self) -> String {
        let nodes: Vec<String> = self
            .sentinels
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", nodes.join(","))
    }

    fn pair(&mut self) -> (&mut Process, &mut Process) {
        (&mut self.master, &mut self.replica)
    }

    fn promote(&mut self) {
        let port = self.replica.port;
        for sentinel in &self.sentinels {
            wait_until("the sentinels name the replica", || {
                Self::named_master(sentinel) == Some(port)
            });
        }
        wait_until("the replica is the master", || {
            info(port, "replication", "role").as_deref() == Some("master")
        });
    }

    fn rejoin(&mut self) {
        // Back as a replica of the new master, as an operator brings a node back.
        let new_master = self.replica.port;
        let port = self.master.port;
        let mut args = server_args(port, self.dir.path());
        args.extend(["--replicaof", "127.0.0.1", &new_master.to_string()].map(str::to_owned));
        self.master.args = args;
        self.master.run();
        std::mem::swap(&mut self.master, &mut self.replica);
        wait_until("the old master is a replica in sync", || {
            info(port, "replication", "master_link_status").as_deref() == Some("up")
        });
    }
}

/// Three gate instances on `url` (axum, actix, axum), sharing a secret and the store.
async fn instances(url: &str, wait_replicas: &str) -> Vec<Server> {
    let secret = test_secret();
    let env = [
        ("TOKENGATE_SECRET", secret.as_str()),
        ("TOKENGATE_STORE", url),
        ("TOKENGATE_STORE_PREFIX", "failover"),
        ("TOKENGATE_REDIS_WAIT_REPLICAS", wait_replicas),
        ("TOKENGATE_REDIS_WAIT_TIMEOUT", "500ms"),
    ];
    let mut servers = Vec::new();
    for adapter in [Adapter::Axum, Adapter::Actix, Adapter::Axum] {
        servers.push(start(adapter, &env).await);
    }
    servers
}

/// Signs in on `server`, trying again while the store is not there yet: the tokens, and how
/// many tries answered 503 first.
async fn sign_in(server: &Server) -> (Tokens, usize) {
    let deadline = Instant::now() + DEADLINE;
    let mut refused = 0;
    loop {
        let reply = server.signin(&[]).await;
        if reply.status == 201 {
            return (reply.tokens(), refused);
        }
        refused += 1;
        reply.expect(503);
        assert!(Instant::now() < deadline, "no sign-in: {}", reply.text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The scenario of the module docs on `deployment`: with the wait on, every sign-out that
/// answered 200 holds after the failover; off, the held-behind sign-out answered 200 and the
/// failover undid it.
async fn sign_outs_across_a_failover(mut deployment: impl Deployment, wait: bool) {
    let gates = instances(&deployment.url(), if wait { "1" } else { "0" }).await;
    let (healthy, _) = sign_in(&gates[0]).await;
    let (held, _) = sign_in(&gates[0]).await;
    gates[1].signout(&healthy.refresh, &[]).await.expect(200);

    // The replica is held behind: stopped, and its link closed by the master.
    let (master, replica) = deployment.pair();
    replica.pause();
    let master_port = master.port;
    cli(master_port, &["CLIENT", "KILL", "TYPE", "replica"]);
    wait_until("the master has no replica", || {
        info(master_port, "replication", "connected_slaves").as_deref() == Some("0")
    });
    let signed_out = gates[0].signout(&held.refresh, &[]).await;
    if wait {
        // Nothing is claimed that is not done.
        signed_out.expect(503).error("temporarily_unavailable");
    } else {
        signed_out.expect(200);
    }

    // The master dies; the replica, released, is promoted.
    let (master, replica) = deployment.pair();
    master.kill();
    replica.resume();
    deployment.promote();
    let promoted = Instant::now();
    for (n, gate) in gates.iter().enumerate() {
        let (_, refused) = sign_in(gate).await;
        eprintln!(
            "failover recovery: instance {n} signs in again {:.2} s after the promotion, \
             {refused} sign-in(s) refused first",
            promoted.elapsed().as_secs_f64()
        );
    }

    // The sign-out that answered 200 with healthy replicas holds, on another instance.
    gates[2].refresh(&healthy.refresh).await.invalid_token();
    if !wait {
        // The control case: the failover undid a sign-out that answered 200.
        gates[2].refresh(&held.refresh).await.tokens();
        return;
    }
    // The new master has no replica yet: a retry is refused, not answered 200.
    gates[1]
        .signout(&held.refresh, &[])
        .await
        .expect(503)
        .error("temporarily_unavailable");
    deployment.rejoin();
    gates[1].signout(&held.refresh, &[]).await.expect(200);
    gates[2].refresh(&held.refresh).await.invalid_token();

    // And that 200 survives the next failover too.
    deployment.pair().0.kill();
    deployment.promote();
    for gate in &gates {
        sign_in(gate).await;
    }
    gates[2].refresh(&held.refresh).await.invalid_token();
    gates[0].refresh(&healthy.refresh).await.invalid_token();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_sign_out_that_answered_200_survives_the_failover() {
    sign_outs_across_a_failover(Cluster::start(), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_wait_a_cluster_failover_undoes_a_sign_out() {
    sign_outs_across_a_failover(Cluster::start(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_sign_out_that_answered_200_survives_the_failover() {
    sign_outs_across_a_failover(Watched::start(), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_wait_a_sentinel_failover_undoes_a_sign_out() {
    sign_outs_across_a_failover(Watched::start(), false).await;
}
