//! The PostgreSQL credential directory over tables shaped as an application has them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use tokengate_core::credentials::{
    hash_password, ApplicationsTable, Credentials, Current, IdentitiesTable, Login,
    PostgresDirectory, Principal, UsersTable,
};

/// The PostgreSQL the tests use: `TEST_POSTGRES_URL`, or database `test` on 127.0.0.1:5432.
fn postgres_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema `{name}_{pid}` with a users table holding `ada` (password `pw`), and a pool to
/// administer it.
async fn with_ada(name: &str) -> (String, sqlx::PgPool) {
    let schema = format!("{name}_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.users (login text PRIMARY KEY, password_hash text);
         INSERT INTO {schema}.users VALUES ('ada', '{}');",
        hash_password("pw").unwrap()
    ))
    .execute(&admin)
    .await
    .unwrap();
    (schema, admin)
}

/// A transaction holding the users table of `schema` locked (a migration, a long `ALTER`),
/// until it is rolled back.
async fn locked(admin: &sqlx::PgPool, schema: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut locker = admin.begin().await.unwrap();
    sqlx::raw_sql(&format!(
        "LOCK TABLE {schema}.users IN ACCESS EXCLUSIVE MODE"
    ))
    .execute(&mut *locker)
    .await
    .unwrap();
    locker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one story, from sign-in to a deleted row
async fn users_and_keys_come_from_the_applications_tables() {
    let schema = format!("tokengate_directory_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let (ada, key) = (
        hash_password("ada-pw").unwrap(),
        hash_password("key-secret").unwrap(),
    );
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.accounts (
             id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, pw text NOT NULL,
             roles text[] NOT NULL DEFAULT '{{}}', profile jsonb, locked boolean);
         CREATE TABLE {schema}.api_keys (
             key text PRIMARY KEY, app text NOT NULL, secret text NOT NULL, scopes jsonb);
         INSERT INTO {schema}.accounts (email, pw, roles, profile)
             VALUES ('ada@example.org', '{ada}', '{{user,admin}}', '{{\"name\": \"Ada\"}}'),
                    ('bob@example.org', '{ada}', '{{user}}', NULL);
         INSERT INTO {schema}.api_keys VALUES ('k-1', 'reports', '{key}', '[\"read\"]');"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let users = UsersTable::new(&format!("{schema}.accounts"))
        .login("email")
        .password("pw")
        .subject("id")
        .roles("roles")
        .claims("profile")
        .disabled("locked");
    let keys = ApplicationsTable::new(&format!("{schema}.api_keys"))
        .scopes("scopes")
        .disabled("no_such_column");
    // A column that does not exist is an error when it is used, not a wrong answer.
    let broken = PostgresDirectory::new(pool.clone(), &users)
        .unwrap()
        .with_applications(&users, &keys)
        .unwrap();
    let login = Login::Application {
        application: "reports",
        key: "k-1",
        secret: "key-secret",
    };
    assert!(broken.verify(login).await.is_err());
    let mut keys = ApplicationsTable::new(&format!("{schema}.api_keys")).scopes("scopes");
    keys.application = "app".to_owned();
    keys.secret = "secret".to_owned();
    let directory = PostgresDirectory::new(pool.clone(), &users)
        .unwrap()
        .with_applications(&users, &keys)
        .unwrap();

    // The right password: the row's id is the subject, its roles and profile the claims.
    let right = Login::User {
        login: "ada@example.org",
        password: "ada-pw",
    };
    let principal = directory.verify(right).await.unwrap().expect("signed in");
    assert_eq!(principal.subject, "1");
    assert_eq!(
        serde_json::Value::Object(principal.claims.clone()),
        json!({"name": "Ada", "roles": ["user", "admin"]})
    );
    // Wrong password, unknown login: the same `None`.
    for (login, password) in [("ada@example.org", "nope"), ("eve@example.org", "ada-pw")] {
        let wrong = Login::User { login, password };
        assert_eq!(directory.verify(wrong).await.unwrap(), None, "{login}");
    }
    // An application key: its scopes in `scope`; another application's name is refused.
    let app = directory
        .verify(login)
        .await
        .unwrap()
        .expect("key accepted");
    assert_eq!(
        (app.subject.as_str(), app.application.as_deref()),
        ("k-1", Some("reports"))
    );
    assert_eq!(app.claims["scope"], "read");
    let other = Login::Application {
        application: "billing",
        key: "k-1",
        secret: "key-secret",
    };
    assert_eq!(directory.verify(other).await.unwrap(), None);

    // At `/token`: unchanged, then changed roles, then locked, then deleted.
    assert_eq!(
        directory.refresh(&principal).await.unwrap(),
        Current::Unchanged
    );
    let run = |sql: String| {
        let pool = pool.clone();
        async move { sqlx::raw_sql(&sql).execute(&pool).await.unwrap() }
    };
    run(format!(
        "UPDATE {schema}.accounts SET roles = '{{user}}' WHERE id = 1"
    ))
    .await;
    let Current::Changed(claims) = directory.refresh(&principal).await.unwrap() else {
        panic!("a removed role went unseen");
    };
    assert_eq!(claims["roles"], json!(["user"]));
    run(format!(
        "UPDATE {schema}.accounts SET locked = true WHERE id = 1"
    ))
    .await;
    assert_eq!(directory.refresh(&principal).await.unwrap(), Current::Gone);
    assert_eq!(
        directory.verify(right).await.unwrap(),
        None,
        "a locked user signed in"
    );
    run(format!("DELETE FROM {schema}.accounts WHERE id = 1")).await;
    assert_eq!(directory.refresh(&principal).await.unwrap(), Current::Gone);
    assert_eq!(directory.refresh(&app).await.unwrap(), Current::Unchanged);
    run(format!("DELETE FROM {schema}.api_keys")).await;
    assert_eq!(directory.refresh(&app).await.unwrap(), Current::Gone);
    let stranger = Principal {
        subject: "2".to_owned(),
        application: Some("reports".to_owned()),
        ..Principal::default()
    };
    assert_eq!(directory.refresh(&stranger).await.unwrap(), Current::Gone);

    run(format!("DROP SCHEMA {schema} CASCADE")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_is_down_is_an_error() {
    let directory = PostgresDirectory::connect_lazy(
        "postgres://postgres@127.0.0.1:1/test",
        &UsersTable::default(),
    )
    .unwrap();
    let login = Login::User {
        login: "ada",
        password: "pw",
    };
    assert!(directory.verify(login).await.is_err());
}

/// A PHC string of `password` as another library writes it.
fn foreign(password: &str, algorithm: argon2::Algorithm, m: u32, t: u32, p: u32) -> String {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let params = argon2::Params::new(m, t, p, None).unwrap();
    let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
    argon2::Argon2::new(algorithm, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

/// Attack: a row hashed with argon2i at m=1 MiB signed in, whatever the policy says. A hash
/// outside the policy (not Argon2id, weaker, or beyond the maximum) never signs in; a row with
/// another library's stronger Argon2id defaults does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_outside_the_hash_policy_never_sign_in() {
    let schema = format!("tokengate_policy_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let weak = foreign("pw", argon2::Algorithm::Argon2i, 1_024, 2, 1);
    let python = foreign("pw", argon2::Algorithm::Argon2id, 65_536, 3, 4);
    let huge =
        "$argon2id$v=19$m=1048576,t=2,p=1$c2l4dGVlbiBieXRlIHNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.users (login text PRIMARY KEY, password_hash text);
         INSERT INTO {schema}.users VALUES
             ('weak', '{weak}'), ('python', '{python}'), ('huge', '{huge}'),
             ('plain', 'pw'), ('empty', NULL);"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let directory =
        PostgresDirectory::new(pool.clone(), &UsersTable::new(&format!("{schema}.users"))).unwrap();
    for login in ["weak", "huge", "plain", "empty", "nobody"] {
        let found = directory
            .verify(Login::User {
                login,
                password: "pw",
            })
            .await
            .unwrap();
        assert_eq!(found, None, "{login}");
    }
    let python = directory
        .verify(Login::User {
            login: "python",
            password: "pw",
        })
        .await
        .unwrap();
    assert_eq!(python.map(|p| p.subject).as_deref(), Some("python"));
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}

/// Attack: with a case-insensitive key column, `K-1` and `k-1` find the same row, and each
/// spelling signed in as its own subject: its own `max_sessions`, its own ticket limit. The
/// subject is now the key as its row spells it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_signs_in_as_its_row_spells_it() {
    let schema = format!("tokengate_keycase_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let secret = hash_password("key-secret").unwrap();
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE COLLATION {schema}.ci (provider = icu, locale = 'und-u-ks-level2',
             deterministic = false);
         CREATE TABLE {schema}.users (login text PRIMARY KEY, password_hash text);
         CREATE TABLE {schema}.application_keys (
             key text COLLATE {schema}.ci PRIMARY KEY, application text NOT NULL,
             secret_hash text NOT NULL);
         INSERT INTO {schema}.application_keys VALUES ('Key-1', 'reports', '{secret}');"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let users = UsersTable::new(&format!("{schema}.users"));
    let directory = PostgresDirectory::new(pool.clone(), &users)
        .unwrap()
        .with_applications(
            &users,
            &ApplicationsTable::new(&format!("{schema}.application_keys")),
        )
        .unwrap();
    for spelling in ["Key-1", "KEY-1", "key-1"] {
        let principal = directory
            .verify(Login::Application {
                application: "reports",
                key: spelling,
                secret: "key-secret",
            })
            .await
            .unwrap()
            .expect("the key signs in");
        assert_eq!(principal.subject, "Key-1", "{spelling}");
        assert_eq!(
            directory.refresh(&principal).await.unwrap(),
            Current::Unchanged
        );
    }
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}

/// Found in review: the stored parameters were read only from rows written with `v=19` (PHC
/// leaves the version out where it is the default), from an arbitrary 64 of them, and by a
/// scan each first sign-in waited for. They are now read in the background, every Argon2id
/// row counts, and the costliest within the maximum sets every sign-in's cost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_parameters_set_the_cost_of_every_sign_in() {
    let schema = format!("tokengate_prime_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let python = foreign("pw", argon2::Algorithm::Argon2id, 65_536, 3, 4).replace("$v=19$", "$");
    assert!(python.starts_with("$argon2id$m=65536,t=3,p=4$"), "{python}");
    let huge =
        "$argon2id$v=19$m=1048576,t=2,p=1$c2l4dGVlbiBieXRlIHNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
    let default = hash_password("pw").unwrap();
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.users (login text PRIMARY KEY, password_hash text);
         INSERT INTO {schema}.users
             SELECT 'user' || n, '{default}' FROM generate_series(1, 100) AS n;
         INSERT INTO {schema}.users VALUES ('python', '{python}'), ('huge', '{huge}');"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let directory =
        PostgresDirectory::new(pool.clone(), &UsersTable::new(&format!("{schema}.users"))).unwrap();
    let unknown = Login::User {
        login: "nobody",
        password: "pw",
    };
    // Found from outside: the first sign-in after a start, an unknown login, ran at the
    // minimum parameters while the rows were still being read, a third of a row's time. The
    // reading starts with the directory, and the first sign-in waits for it.
    assert_eq!(directory.verify(unknown).await.unwrap(), None);
    assert_eq!(directory.password_verifier().parameters(), (65_536, 3, 4));
    let signed_in = directory
        .verify(Login::User {
            login: "python",
            password: "pw",
        })
        .await
        .unwrap();
    assert_eq!(signed_in.map(|p| p.subject).as_deref(), Some("python"));
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}

/// Found from outside: with the users table locked (a migration, a long `ALTER`), sign-ins
/// and refreshes waited for as long as the lock lasted, on a pool with no statement timeout.
/// A directory statement now has 2 s, then the sign-in answers 503; the connection it held is
/// closed, and the directory answers again once the lock goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_table_is_an_error_not_a_hang() {
    let schema = format!("tokengate_locked_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let hash = hash_password("pw").unwrap();
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.users (login text PRIMARY KEY, password_hash text);
         INSERT INTO {schema}.users VALUES ('ada', '{hash}');"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let directory =
        PostgresDirectory::new(pool.clone(), &UsersTable::new(&format!("{schema}.users"))).unwrap();
    let ada = Login::User {
        login: "ada",
        password: "pw",
    };
    assert!(directory.verify(ada).await.unwrap().is_some());
    let mut locker = pool.begin().await.unwrap();
    sqlx::raw_sql(&format!(
        "LOCK TABLE {schema}.users IN ACCESS EXCLUSIVE MODE"
    ))
    .execute(&mut *locker)
    .await
    .unwrap();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(20), directory.verify(ada))
        .await
        .expect("the sign-in hung on the lock");
    assert!(answer.is_err(), "{answer:?}");
    locker.rollback().await.unwrap();
    assert!(directory.verify(ada).await.unwrap().is_some());
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}

/// Found in review: the stored parameters were read on a connection of the directory's own,
/// without the pool's set-up (a `search_path`, what a pooler needs), by a pattern that
/// needed `standard_conforming_strings` and the fields in PHC's usual order. They are now
/// read on a pooled connection, and each row's fields are checked as a hash would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_parameters_are_read_as_the_pool_is_set_up() {
    use sqlx::Executor as _;
    let schema = format!("tokengate_setup_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let reordered = foreign("pw", argon2::Algorithm::Argon2id, 65_536, 3, 4)
        .replace("m=65536,t=3,p=4", "t=3,m=65536,p=4");
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.users (login text PRIMARY KEY, password_hash text);
         INSERT INTO {schema}.users VALUES ('ada', '{}'), ('reordered', '{reordered}');",
        hash_password("pw").unwrap()
    ))
    .execute(&admin)
    .await
    .unwrap();
    let set_up = schema.clone();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .after_connect(move |connection, _| {
            let set_up =
                format!("SET search_path = {set_up}; SET standard_conforming_strings = off");
            Box::pin(async move {
                connection.execute(sqlx::raw_sql(&set_up)).await?;
                Ok(())
            })
        })
        .connect(&postgres_url())
        .await
        .unwrap();
    let directory = PostgresDirectory::new(pool, &UsersTable::new("users")).unwrap();
    let unknown = Login::User {
        login: "nobody",
        password: "pw",
    };
    assert_eq!(directory.verify(unknown).await.unwrap(), None);
    assert_eq!(directory.password_verifier().parameters(), (65_536, 3, 4));
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}

/// Found in review: a statement that ran out of time was cut off on the client side only: its
/// backend stayed, waiting on the lock, outside the pool's bound, one per sign-in, until the
/// database ran out of connections. The bound now holds on the server, and nothing is left;
/// and look-ups hold at most half of the application's pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_given_up_on_leaves_no_backend_behind() {
    let (schema, admin) = with_ada("tokengate_orphans").await;
    // The application's pool, with no statement timeout of its own.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&postgres_url())
        .await
        .unwrap();
    let directory =
        PostgresDirectory::new(pool.clone(), &UsersTable::new(&format!("{schema}.users"))).unwrap();
    let ada = Login::User {
        login: "ada",
        password: "pw",
    };
    assert!(directory.verify(ada).await.unwrap().is_some());
    let locker = locked(&admin, &schema).await;
    let attempts = (0..2).map(|_| {
        let directory = directory.clone();
        tokio::spawn(async move {
            for _ in 0..2 {
                assert!(directory.verify(ada).await.is_err());
            }
        })
    });
    let attempts: Vec<_> = attempts.collect();
    // Look-ups hold at most half the pool: the application still gets a connection.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let spare = tokio::time::timeout(std::time::Duration::from_secs(1), pool.acquire()).await;
    assert!(
        spare.is_ok_and(|got| got.is_ok()),
        "the sign-ins held the whole pool"
    );
    for attempt in futures_util::future::join_all(attempts).await {
        attempt.unwrap();
    }
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
    )
    .bind(format!("%{schema}%"))
    .fetch_one(&admin)
    .await
    .unwrap();
    locker.rollback().await.unwrap();
    assert_eq!(waiting, 0, "backends left waiting on the lock");
    assert!(directory.verify(ada).await.unwrap().is_some());
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}

/// Found in review: a sign-in whose future was dropped midway (the client gone while the
/// look-up waited on a lock) gave its connection back to the pool inside the look-up's
/// read-only transaction, and the application's next statement ran in it. Such a connection
/// is closed instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_dropped_midway_leaves_no_transaction_in_the_pool() {
    let (schema, admin) = with_ada("tokengate_dropped").await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&postgres_url())
        .await
        .unwrap();
    let directory =
        PostgresDirectory::new(pool.clone(), &UsersTable::new(&format!("{schema}.users"))).unwrap();
    let ada = Login::User {
        login: "ada",
        password: "pw",
    };
    assert!(directory.verify(ada).await.unwrap().is_some());
    let locker = locked(&admin, &schema).await;
    let signing_in = {
        let directory = directory.clone();
        tokio::spawn(async move { directory.verify(ada).await.map(|found| found.is_some()) })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    signing_in.abort();
    let _ = signing_in.await;
    locker.rollback().await.unwrap();
    // The application's next statement runs outside any transaction of the directory's.
    let read_only: String = sqlx::query_scalar("SHOW transaction_read_only")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(read_only, "off");
    assert!(directory.verify(ada).await.unwrap().is_some());
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_sign_in_as_the_users_they_are_linked_to() {
    let (schema, admin) = with_ada("tokengate_identities").await;
    let users = UsersTable::new(&format!("{schema}.users"));
    let table = IdentitiesTable::new(&format!("{schema}.identities"));
    let strict = PostgresDirectory::new(admin.clone(), &users)
        .unwrap()
        .with_identities(&table)
        .unwrap();
    let claims = |email: &str, verified: serde_json::Value| {
        let mut claims = serde_json::Map::new();
        claims.insert("email".into(), email.into());
        claims.insert("email_verified".into(), verified);
        claims
    };
    // Not linked, and links by email not allowed: refused.
    let verified = claims("ada", json!(true));
    assert_eq!(
        strict.federated("idp", "sub-1", &verified).await.unwrap(),
        None
    );
    // A link the application made signs in, as the users table has the user now.
    assert!(strict.link_identity("idp", "sub-1", "ada").await.unwrap());
    assert!(!strict
        .link_identity("idp", "sub-1", "mallory")
        .await
        .unwrap());
    let signed = strict.federated("idp", "sub-1", &verified).await.unwrap();
    assert_eq!(signed.map(|p| p.subject).as_deref(), Some("ada"));
    // Another provider's identity of the same subject is another identity.
    assert_eq!(
        strict.federated("other", "sub-1", &verified).await.unwrap(),
        None
    );
    // Linking by a verified email, where allowed; never by an unverified one.
    let linking = PostgresDirectory::new(admin.clone(), &users)
        .unwrap()
        .with_identities(&table.clone().link_verified_emails())
        .unwrap();
    for unverified in [json!(false), json!("true"), serde_json::Value::Null] {
        let claimed = claims("ada", unverified);
        assert_eq!(
            linking.federated("idp", "sub-2", &claimed).await.unwrap(),
            None
        );
    }
    assert_eq!(
        linking
            .federated("idp", "sub-3", &claims("nobody", json!(true)))
            .await
            .unwrap(),
        None
    );
    let linked = linking.federated("idp", "sub-2", &verified).await.unwrap();
    assert_eq!(linked.map(|p| p.subject).as_deref(), Some("ada"));
    // The link stays: the strict directory (no email links) now knows `sub-2` too.
    let signed = strict
        .federated("idp", "sub-2", &claims("x", json!(false)))
        .await
        .unwrap();
    assert_eq!(signed.map(|p| p.subject).as_deref(), Some("ada"));
    // A user removed no longer signs in through their identities; an unlinked one neither.
    assert!(strict.unlink_identity("idp", "sub-2").await.unwrap());
    assert_eq!(
        strict
            .federated("idp", "sub-2", &claims("x", json!(false)))
            .await
            .unwrap(),
        None
    );
    sqlx::raw_sql(&format!("DELETE FROM {schema}.users WHERE login = 'ada'"))
        .execute(&admin)
        .await
        .unwrap();
    assert_eq!(
        strict.federated("idp", "sub-1", &verified).await.unwrap(),
        None
    );
    // Without an identities table, every identity is refused.
    let none = PostgresDirectory::new(admin.clone(), &users).unwrap();
    assert_eq!(
        none.federated("idp", "sub-1", &verified).await.unwrap(),
        None
    );
}
