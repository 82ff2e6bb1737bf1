//! Revocations that wait for a replica some way off. A `WAIT` holds up every later command on
//! its connection until the replica answers, so revocations confirmed over one connection go
//! one replica round trip at a time: a burst of sign-outs then outlasts the store's bound and
//! answers 503 although the replica is healthy. The test puts a replica 40 ms away each way
//! (a proxy on its replication link) and signs out a burst of sessions at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokengate_redis::RedisStore;
use tokengate_store::{Session, SessionStore};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpListener;

/// How long the replication link takes, each way.
const LATENCY: Duration = Duration::from_millis(40);

/// A redis-server of the test's own, killed when dropped, with the file a replica's sync
/// writes.
struct Server(Child, std::path::PathBuf);

impl Server {
    fn start(port: u16, extra: &[&str]) -> Self {
        let dump = format!("tokengate-latency-{port}.rdb");
        let dir = std::env::temp_dir();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dbfilename", &dump])
            .arg("--dir")
            .arg(&dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test-deps.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server on {port} listens");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self(child, dir.join(dump))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_file(&self.1);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Writes all of `chunk` to `to`.
async fn write_all(to: &OwnedWriteHalf, mut chunk: &[u8]) -> std::io::Result<()> {
    while !chunk.is_empty() {
        to.writable().await?;
        match to.try_write(chunk) {
            Ok(written) => chunk = &chunk[written..],
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Copies `from` to `to`, each chunk `LATENCY` after it was read, in order.
async fn delayed(from: OwnedReadHalf, to: OwnedWriteHalf) {
    let (chunks, mut sent) = tokio::sync::mpsc::unbounded_channel::<(_, Vec<u8>)>();
    tokio::spawn(async move {
        while let Some((due, chunk)) = sent.recv().await {
            tokio::time::sleep_until(due).await;
            if write_all(&to, &chunk).await.is_err() {
                return;
            }
        }
    });
    let mut buffer = vec![0; 64 * 1024];
    while from.readable().await.is_ok() {
        let read = match from.try_read(&mut buffer) {
            Ok(0) => return,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        };
        let due = tokio::time::Instant::now() + LATENCY;
        if chunks.send((due, buffer[..read].to_vec())).is_err() {
            return;
        }
    }
}

/// A proxy to `port` that delays both ways by `LATENCY`: its port.
async fn far_away(port: u16) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let proxy = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((near, _)) = listener.accept().await {
            let far = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                .await
                .unwrap();
            let (near_read, near_write) = near.into_split();
            let (far_read, far_write) = far.into_split();
            tokio::spawn(delayed(near_read, far_write));
            tokio::spawn(delayed(far_read, near_write));
        }
    });
    proxy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sign_outs_is_confirmed_by_a_replica_some_way_off() {
    let master_port = free_port();
    let _master = Server::start(master_port, &[]);
    let link = far_away(master_port).await;
    let replica_port = free_port();
    let _replica = Server::start(
        replica_port,
        &["--replicaof", "127.0.0.1", &link.to_string()],
    );
    let url = format!("redis://127.0.0.1:{master_port}/0");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let output = Command::new("redis-cli")
            .args(["-p", &replica_port.to_string(), "INFO", "replication"])
            .output()
            .expect("redis-cli");
        if String::from_utf8_lossy(&output.stdout).contains("master_link_status:up") {
            break;
        }
        assert!(Instant::now() < deadline, "the replica syncs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let store = RedisStore::open(&url, "latency")
        .unwrap()
        .wait_for_replicas(1, Duration::from_millis(500));
    let burst = 64;
    for n in 0..burst {
        let session = Session::new(&format!("s{n}"), &format!("u{n}"), None, "{}", 1_000, None);
        store.create(session, None).await.unwrap();
    }
    let started = Instant::now();
    let sign_outs: Vec<_> = (0..burst)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .revoke(&format!("u{n}"), &format!("s{n}"), 1_010)
                    .await
            })
        })
        .collect();
    let mut refused = Vec::new();
    for sign_out in sign_outs {
        if let Err(error) = sign_out.await.unwrap() {
            refused.push(error.to_string());
        }
    }
    // The replica confirms each in about two of its latencies; one at a time, the burst
    // would take 64 of them, past the 2.5 s a confirmation may take.
    assert!(
        refused.is_empty(),
        "{} of {burst} sign-outs refused after {:?}: {:?}",
        refused.len(),
        started.elapsed(),
        refused.first()
    );
}
