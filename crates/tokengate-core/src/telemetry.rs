//! What the gate counts and times, through the [`metrics`] facade: an application that exports
//! metrics already (its own recorder, installed before the gate is built) gets these with its
//! own, and `metrics_path` serves them in the Prometheus text format where it has none
//! (feature `prometheus`).
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `tokengate_signins_total` | counter | `method`, `outcome` | sign-ins: `method` is `password` (a login and password, or an application key), `passkey` or `provider`; `outcome` is `success`, `wrong_credentials`, `throttled`, `store_down` (a store or directory did not answer), `busy` (the password-hashing queue was full), `refused` (any other 4xx) or `error` |
//! | `tokengate_refreshes_total` | counter | `outcome` | `/token` calls: `success`, `refused` (an unknown, ended or reused refresh token...), `store_down` or `error` |
//! | `tokengate_refresh_reuse_total` | counter | | retired refresh tokens used again (their sessions were ended) |
//! | `tokengate_signouts_total` | counter | `scope` | sign-outs by a verified token: `local`, `global`, `others`, `session` (one by its id: `/signout` with `session=` or `DELETE {prefix}/sessions/{id}`) or `revoke` (`{prefix}/revoke`) |
//! | `tokengate_guard_refusals_total` | counter | `reason` | requests the guard refused: `missing_token`, `malformed`, `bad_header`, `wrong_type`, `bad_signature`, `bad_claims`, `expired`, `not_yet_valid`, `wrong_issuer`, `revoked`, `ticket_used`, `ticket_other_path`, `insufficient_scope`, `insufficient_user_authentication`, `csrf_rejected`, `unavailable` or `other` |
//! | `tokengate_verify_cache_total` | counter | `result` | lookups of the verified-token cache: `hit` or `miss` |
//! | `tokengate_store_operation_seconds` | histogram | `store`, `operation` | session store and attempt counter operations: `store` is `memory`, `sqlite`, `redis`, `postgres` or `custom`; `operation` the store method (`create`, `refresh`, `session`, `revoke`, `reserve`...) |
//! | `tokengate_store_errors_total` | counter | `store`, `operation` | the operations that failed |
//! | `tokengate_password_hash_queue_depth` | gauge | | sign-ins waiting for a hashing thread or hashing |
//! | `tokengate_password_hash_wait_seconds` | histogram | | how long a sign-in waited for a hashing thread |
//! | `tokengate_password_hash_rejected_total` | counter | | sign-ins refused because the hashing queue was full |
//!
//! No label holds a login, a subject, a session, an address or a token: every label value is
//! one of the fixed words above, so no request can add a series.
//!
//! The counters and histograms on a request's path are looked up once, when the gate is
//! built: a recorder installed after that does not see them. Install yours first.

/// Sign-ins, by `method` and `outcome`.
pub const SIGNINS: &str = "tokengate_signins_total";
/// `/token` calls, by `outcome`.
pub const REFRESHES: &str = "tokengate_refreshes_total";
/// Retired refresh tokens used again.
pub const REFRESH_REUSE: &str = "tokengate_refresh_reuse_total";
/// Sign-outs, by `scope`.
pub const SIGNOUTS: &str = "tokengate_signouts_total";
/// Refusals of the guard, by `reason`.
pub const GUARD_REFUSALS: &str = "tokengate_guard_refusals_total";
/// Lookups of the verified-token cache, by `result`.
pub const VERIFY_CACHE: &str = "tokengate_verify_cache_total";
/// How long store operations took, by `store` and `operation`.
pub const STORE_SECONDS: &str = "tokengate_store_operation_seconds";
/// Store operations that failed, by `store` and `operation`.
pub const STORE_ERRORS: &str = "tokengate_store_errors_total";

/// Gives the metrics their descriptions and units in the recorder installed now.
pub(crate) fn describe() {
    use metrics::{describe_counter, describe_histogram, Unit};
    describe_counter!(SIGNINS, Unit::Count, "Sign-ins, by method and outcome.");
    describe_counter!(
        REFRESHES,
        Unit::Count,
        "Refresh-token exchanges (/token), by outcome."
    );
    describe_counter!(
        REFRESH_REUSE,
        Unit::Count,
        "Retired refresh tokens used again; their sessions were ended."
    );
    describe_counter!(
        SIGNOUTS,
        Unit::Count,
        "Sign-outs by a verified token, by scope."
    );
    describe_counter!(
        GUARD_REFUSALS,
        Unit::Count,
        "Requests the guard refused, by reason."
    );
    describe_counter!(
        VERIFY_CACHE,
        Unit::Count,
        "Lookups of the verified-token cache, by result."
    );
    describe_histogram!(
        STORE_SECONDS,
        Unit::Seconds,
        "Session store and attempt counter operations, by store and operation."
    );
    describe_counter!(
        STORE_ERRORS,
        Unit::Count,
        "Session store and attempt counter operations that failed, by store and operation."
    );
}

/// A counter of `name` with one label, looked up now.
pub(crate) fn counter(name: &'static str, label: &'static str, value: &'static str) {
    metrics::counter!(name, label => value).increment(1);
}

/// The two counters of the verified-token cache, looked up once.
#[derive(Clone)]
pub(crate) struct CacheMeters {
    pub(crate) hits: metrics::Counter,
    pub(crate) misses: metrics::Counter,
}

impl CacheMeters {
    pub(crate) fn new() -> Self {
        Self {
            hits: metrics::counter!(VERIFY_CACHE, "result" => "hit"),
            misses: metrics::counter!(VERIFY_CACHE, "result" => "miss"),
        }
    }
}

/// The Prometheus exposition `metrics_path` serves.
#[cfg(feature = "prometheus")]
pub(crate) mod prometheus {
    use std::sync::OnceLock;
    use std::time::Duration;

    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

    /// The buckets of every `_seconds` histogram: from half a millisecond (a store on this
    /// host) to seconds (a password hash under load, a store timing out).
    const BUCKETS: &[f64] = &[
        0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ];

    /// How often the histograms' samples are folded into their buckets between scrapes, so
    /// that an unscraped process does not keep them all.
    const UPKEEP: Duration = Duration::from_secs(5);

    /// The recorder installed for `metrics_path`, shared by every gate of the process, or why
    /// it could not be installed.
    pub(crate) fn handle() -> Result<&'static PrometheusHandle, String> {
        static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
        HANDLE.get_or_init(install).as_ref().map_err(Clone::clone)
    }

    fn install() -> Result<PrometheusHandle, String> {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), BUCKETS)
            .map_err(|error| error.to_string())?
            .build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).map_err(|_| {
            "the application installed a metrics recorder of its own: export the gate's \
             metrics with it, and leave `metrics_path` unset"
                .to_owned()
        })?;
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("tokengate-metrics".to_owned())
            .spawn(move || loop {
                std::thread::sleep(UPKEEP);
                upkeep.run_upkeep();
            })
            .map_err(|error| format!("no thread for the metrics' upkeep: {error}"))?;
        Ok(handle)
    }
}
