//! `tokengate sessions list|end|end-all` against the stores an application shares with it:
//! SQLite in a temporary directory, and the Redis and PostgreSQL of the tests (`TEST_REDIS_URL`,
//! `TEST_POSTGRES_URL`, or their defaults on 127.0.0.1, as the workspace's store tests use).

use crate::{claims_of, gate, sign_in, tokengate, TempDir, LOGIN, SECRET};

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/15".into())
}

fn postgres_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A namespace of its own in a shared store, for one run of one test.
fn prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("cli_{name}_{}_{nanos}", std::process::id())
}

#[test]
fn sessions_in_sqlite_are_listed_and_ended() {
    let dir = TempDir::new();
    let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
    scenario(&dir, &url, "cli");
}

#[test]
fn sessions_in_redis_are_listed_and_ended() {
    let dir = TempDir::new();
    scenario(&dir, &redis_url(), &prefix("redis"));
}

#[test]
fn sessions_in_postgres_are_listed_and_ended() {
    let dir = TempDir::new();
    scenario(&dir, &postgres_url(), &prefix("postgres"));
}

/// Two sessions of [`LOGIN`], listed with their clients and without their tokens; one ended
/// by id, then the other by `end-all`, while another subject's session stays.
fn scenario(dir: &TempDir, store: &str, store_prefix: &str) {
    let toml = format!(
        "[default]\nsecret = \"{SECRET}\"\nstore = \"{store}\"\nstore_prefix = \"{store_prefix}\"\n"
    );
    dir.file("tokengate.toml", &toml);
    let gate = gate(&toml);
    let (refresh_one, access_one) = sign_in(&gate, "Agent-One/1.0");
    let (refresh_two, access_two) = sign_in(&gate, "Agent-Two/2.0 \u{1b}[2J");
    let one = claims_of(&access_one)["sid"].as_str().unwrap().to_owned();
    let two = claims_of(&access_two)["sid"].as_str().unwrap().to_owned();
    let run_in = |args: &[&str]| tokengate(dir.path(), args, "", &[]);

    let run = run_in(&["sessions", "list", LOGIN]);
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[0].starts_with("ID\tCREATED\tLAST USED\tCLIENT\tUSER AGENT"));
    let line_of = |sid: &str| {
        *lines
            .iter()
            .find(|line| line.starts_with(&format!("{sid}\t")))
            .unwrap_or_else(|| panic!("no line for {sid}: {}", run.stdout))
    };
    assert!(
        line_of(&one).ends_with("\t127.0.0.1\tAgent-One/1.0"),
        "{}",
        run.stdout
    );
    // A client's control characters do not reach the terminal.
    assert!(
        line_of(&two).ends_with("\t127.0.0.1\tAgent-Two/2.0 ?[2J"),
        "{}",
        run.stdout
    );
    for token in [&refresh_one, &access_one, &refresh_two, &access_two] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!run.printed().contains(signature));
    }
    assert!(!run.printed().contains(SECRET));

    let run = run_in(&["sessions", "list", LOGIN, "--json"]);
    run.expect_code(0);
    let listed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 2);
    let first = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|session| session["id"] == one.as_str())
        .unwrap();
    assert_eq!(first["userAgent"], "Agent-One/1.0");
    assert_eq!(first["address"], "127.0.0.1");

    let run = run_in(&["sessions", "end", LOGIN, &one]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(&format!("ended session {one}")),
        "{}",
        run.stdout
    );
    let run = run_in(&["sessions", "end", LOGIN, &one]);
    run.expect_code(1);
    assert!(run.stderr.contains("no live session"), "{}", run.stderr);
    let run = run_in(&["sessions", "list", LOGIN]);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
    assert!(!run.stdout.contains(&one));

    // Another subject's session is no business of `end-all`.
    let runtime = crate::runtime();
    let other = {
        let _entered = runtime.enter();
        tokengate_core::store::open_with(&crate::config(&toml).store).unwrap()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = i64::try_from(now).unwrap();
    let mut session = tokengate_core::store::Session::new(
        "other-session",
        "bob@example.org",
        None,
        "{}",
        now,
        Some(now + 3600),
    );
    "bob-jti".clone_into(&mut session.token);
    runtime
        .block_on(other.sessions.create(session, None))
        .unwrap();

    let run = run_in(&["sessions", "end-all", LOGIN]);
    run.expect_code(0);
    assert!(run.stdout.contains("ended 1 session(s)"), "{}", run.stdout);
    let run = run_in(&["sessions", "list", LOGIN]);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    let run = run_in(&["sessions", "list", "bob@example.org"]);
    assert!(run.stdout.contains("other-session"), "{}", run.stdout);
    // The application's gate sees them ended too.
    assert!(runtime
        .block_on(gate.list_sessions(LOGIN))
        .unwrap()
        .is_empty());
}

#[test]
fn a_memory_store_is_out_of_reach_and_said_so() {
    let dir = TempDir::new();
    let run = tokengate(
        dir.path(),
        &["sessions", "list", LOGIN],
        "",
        &[("TOKENGATE_SECRET", SECRET)],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("`memory`"), "{}", run.stderr);
}

#[test]
fn a_store_that_cannot_open_is_a_start_up_error() {
    let dir = TempDir::new();
    let run = tokengate(
        dir.path(),
        &["sessions", "end-all", LOGIN],
        "",
        &[
            ("TOKENGATE_SECRET", SECRET),
            ("TOKENGATE_STORE", "sqlite:///nonexistent-dir/x/sessions.db"),
        ],
    );
    run.expect_code(2);
    assert!(
        run.stderr.contains("invalid configuration `store`"),
        "{}",
        run.stderr
    );
}
