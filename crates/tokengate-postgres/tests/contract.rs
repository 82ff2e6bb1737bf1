//! The PostgreSQL store keeps the store contract: the rules its statements repeat are held to
//! the same suite as the Rust ones, on a real server.

#![allow(clippy::unwrap_used)]

use tokengate_postgres::PostgresStore;
use tokengate_store::testing;

/// The PostgreSQL the tests use: `TEST_POSTGRES_URL`, or database `test` on 127.0.0.1:5432.
fn postgres_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_store_and_counter_contracts() {
    let prefix = format!("contract-{}", std::process::id());
    let store = PostgresStore::open(&postgres_url(), "tokengate_test", &prefix).unwrap();
    testing::session_store_contract(&store).await;
    testing::attempt_counter_contract(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_factor_contract() {
    let prefix = format!("factors-{}", std::process::id());
    let store = PostgresStore::open(&postgres_url(), "tokengate_test", &prefix).unwrap();
    testing::factor_store_contract(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_is_down_is_an_error_not_a_wait() {
    let store =
        PostgresStore::open("postgres://postgres@127.0.0.1:1/test", "tokengate", "x").unwrap();
    let started = std::time::Instant::now();
    let answer = tokengate_store::SessionStore::is_live(&store, "ada", "s", 0).await;
    assert!(answer.is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_whether_the_database_is_down_or_the_settings_are_wrong() {
    use tokengate_store::{SessionStore, StoreErrorKind};
    let down = PostgresStore::open("postgres://postgres@127.0.0.1:1/test", "tokengate", "x");
    let error = down.unwrap().is_live("ada", "s", 0).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Unreachable, "{error}");
    assert!(error.is_transient());

    let error = PostgresStore::open(&postgres_url(), "Not-A-Schema", "x").unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Misconfigured, "{error}");

    let error = PostgresStore::open(
        "postgres://postgres@127.0.0.1:5432/test?sslmode=nonsense",
        "tokengate",
        "x",
    )
    .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Misconfigured, "{error}");

    let url = postgres_url();
    let (server, _) = url.split('?').next().unwrap().rsplit_once('/').unwrap();
    let missing = format!("{server}/tokengate_missing_{}", std::process::id());
    let store = PostgresStore::open(&missing, "tokengate", "x").unwrap();
    let error = store.is_live("ada", "s", 0).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Misconfigured, "{error}");
    assert!(!error.is_transient());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_of_the_first_schema_are_migrated_in_place() {
    use tokengate_store::{Session, SessionStore};
    let schema = format!("tokengate_v1_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let now = 1_900_000_000_i64;
    // The schema as version 1 made it, with one session in it.
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.schema_version (version integer NOT NULL);
         INSERT INTO {schema}.schema_version VALUES (1);
         CREATE TABLE {schema}.sessions (
             ns text NOT NULL, id text NOT NULL, subject text NOT NULL, application text,
             claims text NOT NULL, created_at bigint NOT NULL, refreshed_at bigint NOT NULL,
             expires_at bigint, token text NOT NULL, previous text, rotated_at bigint NOT NULL,
             PRIMARY KEY (ns, id));
         CREATE TABLE {schema}.attempts (
             ns text NOT NULL, key text NOT NULL, count bigint NOT NULL, ends_at bigint NOT NULL,
             PRIMARY KEY (ns, key));
         INSERT INTO {schema}.sessions VALUES
             ('app', 'old', 'ada', NULL, '{{}}', {now}, {now}, NULL, 't', NULL, {now});"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let store = PostgresStore::open(&postgres_url(), &schema, "app").unwrap();
    let listed = store.list("ada", now).await.unwrap();
    assert_eq!(listed.len(), 1, "a session was lost by the migration");
    let new = Session::new("new", "ada", None, "{}", now, None)
        .with_client(Some("curl/8"), Some("127.0.0.1"));
    assert!(store.create(new, Some(1)).await.unwrap() == vec!["old".to_owned()]);
    let listed = store.list("ada", now).await.unwrap();
    assert_eq!(listed[0].user_agent.as_deref(), Some("curl/8"));
    let version: i32 = sqlx::query_scalar(&format!("SELECT version FROM {schema}.schema_version"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(version, 4);
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_of_version_2_gains_the_factor_tables() {
    use tokengate_store::{Confirmation, Confirmed, Factor, FactorStore, SessionStore};
    let schema = format!("tokengate_v2_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let now = 1_900_000_000_i64;
    // The tables as version 2 made them, with one session in them.
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.schema_version (version integer NOT NULL);
         INSERT INTO {schema}.schema_version VALUES (2);
         CREATE TABLE {schema}.sessions (
             ns text NOT NULL, id text NOT NULL, subject text NOT NULL, application text,
             claims text NOT NULL, created_at bigint NOT NULL, refreshed_at bigint NOT NULL,
             expires_at bigint, token text NOT NULL, previous text, rotated_at bigint NOT NULL,
             user_agent text, address text,
             PRIMARY KEY (ns, id));
         CREATE TABLE {schema}.attempts (
             ns text NOT NULL, key text NOT NULL, count bigint NOT NULL, ends_at bigint NOT NULL,
             PRIMARY KEY (ns, key));
         INSERT INTO {schema}.sessions VALUES
             ('app', 's1', 'ada', NULL, '{{}}', {now}, {now}, NULL, 't1', NULL, {now}, NULL,
              NULL);"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let store = PostgresStore::open(&postgres_url(), &schema, "app").unwrap();
    let factor = Factor::pending("f1", "ada", "totp", "sealed", now, now + 600);
    assert!(store.add_factor(factor, 3).await.unwrap());
    let codes = ["c1".to_owned(), "c2".to_owned()];
    let confirmed = store
        .confirm_factor(Confirmation::new("ada", "f1", 1, now + 1, &codes))
        .await
        .unwrap();
    assert_eq!(confirmed, Confirmed::Activated { recovery: true });
    assert_eq!(store.recovery_left("ada").await.unwrap(), 2);
    let reissued = tokengate_store::Reissue::new("ada", "s1", "t1", "t2", "{}", now + 2);
    let session = store.reissue(reissued).await.unwrap();
    assert_eq!(
        session.map(|s| s.token),
        Some("t2".to_owned()),
        "the session of version 2 was lost"
    );
    let version: i32 = sqlx::query_scalar(&format!("SELECT version FROM {schema}.schema_version"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(version, 4);
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_of_version_3_keeps_its_factors_and_takes_passkeys() {
    use tokengate_store::{Factor, FactorStore, Registered};
    let schema = format!("tokengate_v3_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let now = 1_900_000_000_i64;
    // The factor tables as version 3 made them, with one active factor and its code, and the
    // signature its `add_factor` had.
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.schema_version (version integer NOT NULL);
         INSERT INTO {schema}.schema_version VALUES (3);
         CREATE TABLE {schema}.sessions (
             ns text NOT NULL, id text NOT NULL, subject text NOT NULL, application text,
             claims text NOT NULL, created_at bigint NOT NULL, refreshed_at bigint NOT NULL,
             expires_at bigint, token text NOT NULL, previous text, rotated_at bigint NOT NULL,
             user_agent text, address text,
             PRIMARY KEY (ns, id));
         CREATE TABLE {schema}.attempts (
             ns text NOT NULL, key text NOT NULL, count bigint NOT NULL, ends_at bigint NOT NULL,
             PRIMARY KEY (ns, key));
         CREATE TABLE {schema}.factors (
             ns text NOT NULL, subject text NOT NULL, id text NOT NULL, kind text NOT NULL,
             secret text NOT NULL, created_at bigint NOT NULL, confirmed_at bigint,
             expires_at bigint, last_step bigint NOT NULL, last_used_at bigint,
             PRIMARY KEY (ns, subject, id));
         CREATE TABLE {schema}.recovery_codes (
             ns text NOT NULL, subject text NOT NULL, code text NOT NULL,
             PRIMARY KEY (ns, subject, code));
         CREATE FUNCTION {schema}.add_factor(
             p_ns text, p_id text, p_subject text, p_kind text, p_secret text, p_now bigint,
             p_confirmed_at bigint, p_expires_at bigint, p_last_step bigint,
             p_last_used_at bigint, p_max bigint)
         RETURNS boolean LANGUAGE sql AS $fn$ SELECT false $fn$;
         INSERT INTO {schema}.factors VALUES
             ('app', 'ada', 'f1', 'totp', 'sealed', {now}, {now}, NULL, 7, {now});
         INSERT INTO {schema}.recovery_codes VALUES ('app', 'ada', 'c1');"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let store = PostgresStore::open(&postgres_url(), &schema, "app").unwrap();
    let listed = store.factors("ada", now).await.unwrap();
    assert_eq!(listed.len(), 1, "a factor was lost by the migration");
    assert_eq!((listed[0].last_step, listed[0].name.as_deref()), (7, None));
    assert_eq!(listed[0].credential, None);
    assert!(store
        .rename_factor("ada", "f1", "phone", now)
        .await
        .unwrap());
    let passkey = Factor::credential("p1", "ada", "key", "cred-1", "laptop", 0, now);
    let added = store.add_credential(passkey, 5, &[]).await.unwrap();
    assert_eq!(added, Registered::Added { recovery: false });
    assert_eq!(store.recovery_left("ada").await.unwrap(), 1);
    let again = Factor::credential("p2", "bob", "key", "cred-1", "phone", 0, now);
    let added = store.add_credential(again, 5, &[]).await.unwrap();
    assert_eq!(added, Registered::Taken);
    let found = store.credential("cred-1").await.unwrap().unwrap();
    assert_eq!((found.id.as_str(), found.subject.as_str()), ("p1", "ada"));
    // An instance still at version 3 adds factors as it did.
    let added: bool = sqlx::query_scalar(&format!(
        "SELECT {schema}.add_factor('app', 'f2', 'bob', 'totp', 's', {now}, NULL, {}, 0, NULL, 3)",
        now + 600
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(added, "the function of version 3 is gone");
    assert_eq!(store.factors("bob", now).await.unwrap().len(), 1);
    let version: i32 = sqlx::query_scalar(&format!("SELECT version FROM {schema}.schema_version"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(version, 4);
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subjects_racing_for_one_credential_id_get_it_once() {
    use tokengate_store::{Factor, FactorStore, Registered};
    let prefix = format!("race-{}", std::process::id());
    let store = PostgresStore::open(&postgres_url(), "tokengate_test", &prefix).unwrap();
    let now = 1_900_000_000_i64;
    let adds: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            let factor = Factor::credential("p", &format!("s{n}"), "key", "cred", "laptop", 0, now);
            tokio::spawn(async move { store.add_credential(factor, 5, &[]).await })
        })
        .collect();
    let mut added = Vec::new();
    for add in adds {
        added.push(add.await.unwrap().unwrap());
    }
    let won = added
        .iter()
        .filter(|added| matches!(added, Registered::Added { .. }))
        .count();
    assert_eq!(won, 1, "{added:?}");
    assert!(added
        .iter()
        .all(|added| matches!(added, Registered::Added { .. } | Registered::Taken)));
    let holder = store.credential("cred").await.unwrap().unwrap();
    assert_eq!(
        store
            .remove_factor(&holder.subject, "p", now)
            .await
            .unwrap(),
        Some(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_challenges_leave_nothing_behind() {
    use tokengate_store::FactorStore;
    let schema = format!("tokengate_challenges_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap())
        .unwrap();
    let store = PostgresStore::open(&postgres_url(), &schema, "app").unwrap();
    for n in 0..100 {
        store
            .put_challenge(&format!("c{n}"), "state", now - 1)
            .await
            .unwrap();
    }
    store
        .put_challenge("live", "state", now + 60)
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {schema}.challenges"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    assert_eq!(
        store.take_challenge("live", now).await.unwrap().as_deref(),
        Some("state")
    );
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}
