//! Says so, in a plain `cargo test`, when the conformance suite and the store tests are not
//! built: they need every adapter and store (`--all-features`, as `scripts/test.sh` runs them).

#[cfg(not(all(
    feature = "axum",
    feature = "actix",
    feature = "redis",
    feature = "sqlite",
    feature = "postgres"
)))]
#[test]
#[ignore = "the conformance suite and the store tests were not built: they need --all-features \
            (scripts/test.sh), Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432"]
fn conformance_suite_skipped() {}
