//! The conformance suite: every scenario of `support/scenarios.rs`, against every adapter, over
//! real TCP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

/// Lists every scenario once; `$callback` receives the list.
macro_rules! with_scenarios {
    ($callback:ident!($($args:tt)*)) => {
        $callback!($($args)* [
            seed_signin_multipart_gives_both_tokens,
            signin_accepts_urlencoded,
            signin_accepts_json,
            token_by_field_keeps_the_refresh_token_and_issues_a_new_access_token,
            token_by_authorization_bearer,
            token_by_authentication_bearer,
            authentication_header_can_be_switched_off,
            signout_answers_200_and_revokes_the_refresh_token,
            signout_by_bearer,
            signout_is_idempotent,
            signout_of_an_access_token_revokes_nothing,
            signout_without_token_is_400,
            token_without_token_is_400,
            signout_global_ends_every_session_of_the_subject,
            signout_others_keeps_the_current_session,
            signout_with_unknown_scope_is_400,
            guarded_route_accepts_authorization_bearer,
            guarded_route_accepts_the_seed_authentication_header,
            bearer_scheme_is_case_insensitive,
            guarded_route_without_token_is_401_with_challenge,
            other_authorization_schemes_count_as_no_token,
            token_in_query_string_is_ignored,
            public_path_needs_no_token,
            optional_mode_lets_anonymous_requests_through,
            refresh_token_is_not_an_access_token,
            access_token_is_not_a_refresh_token,
            access_token_outlives_signout_until_its_exp,
            malformed_tokens_are_401_invalid_token,
            forged_headers_are_refused,
            forged_claims_are_refused,
            tokens_of_another_issuer_are_refused,
            default_lifetimes_are_20_minutes_and_24_hours,
            access_ttl_is_configurable_and_expiry_is_enforced,
            exp_as_epoch_seconds,
            exp_as_iso_datetime,
            exp_unlimited_gives_a_refresh_token_without_exp,
            exp_in_the_past_is_400,
            exp_beyond_the_allowed_maximum_is_400,
            exp_unparsable_is_400,
            exp_unlimited_is_refused_where_not_allowed,
            application_login_carries_the_application,
            every_bad_credential_gets_the_same_answer,
            missing_fields_are_named,
            duplicate_fields_are_400,
            other_content_types_are_415,
            body_over_the_limit_is_413,
            body_limit_is_configurable,
            malformed_bodies_are_400,
            endpoints_only_accept_post,
            our_tokens_verify_with_an_outside_jose_library,
            unknown_routes_are_guarded_then_not_found,
            cookie_signin_sets_secure_session_cookies_and_no_tokens_in_the_body,
            cookie_attributes_follow_the_config,
            cookie_authenticates_safe_requests_without_csrf,
            cookie_unsafe_request_without_csrf_is_403,
            csrf_token_of_another_session_is_403,
            cookie_request_from_a_foreign_origin_is_403,
            bearer_wins_over_cookies_and_needs_no_csrf,
            cookie_refresh_with_csrf_renews_the_cookies,
            cookie_signout_clears_the_cookies_and_the_cookie_is_refused_after,
            eddsa_tokens_verify_with_the_published_jwks,
            es256_tokens_verify_with_the_published_jwks,
            rs256_tokens_verify_with_the_published_jwks,
            hs256_keys_are_never_published,
            the_published_keys_are_cached_with_an_etag,
            discovery_names_the_configured_urls_only,
            alg_none_in_every_spelling_is_refused,
            hs256_signed_with_the_public_key_is_refused,
            algorithms_outside_the_keys_are_refused,
            embedded_keys_are_never_followed,
            kid_injection_is_refused,
            crit_headers_are_refused,
            time_claims_must_be_integers_and_current,
            wrong_issuer_or_audience_is_refused,
            token_of_a_retired_key_is_refused_after_its_grace,
            token_shapes_are_refused,
            huge_authorization_header_is_a_clean_4xx,
            big_body_is_refused_before_it_is_read,
            failed_signins_end_in_429_with_retry_after,
            failed_signins_are_throttled_per_address,
            rotation_issues_a_new_refresh_token_and_detects_reuse,
            rotation_grace_gives_the_current_token,
            parallel_refreshes_never_fork_a_session,
            sessions_lists_the_callers_sessions_without_tokens,
            strict_revocation_ends_access_tokens_at_signout,
            a_burst_of_wrong_passwords_verifies_at_most_the_limit,
            a_burst_from_one_address_verifies_at_most_its_limit,
            a_dead_refresh_token_cannot_sign_everyone_out,
            sessions_needs_a_live_session_under_strict_revocation,
            a_missing_proxy_header_falls_back_to_the_peer_address,
            signatures_have_one_valid_encoding,
            cookie_origin_is_checked_by_scheme_host_port_and_referer,
            a_body_that_never_completes_gets_408,
            every_answer_forbids_sniffing,
            a_role_route_admits_its_role_and_refuses_others_with_403,
            an_application_route_admits_its_scoped_application_only,
            a_requirement_needs_a_token_even_where_the_guard_does_not,
            a_role_removed_shows_at_the_next_refresh,
            a_removed_user_cannot_refresh,
            revoke_subject_ends_every_session_of_the_subject,
            any_of_a_role_or_a_scope_admits_either,
            a_user_route_refuses_application_tokens,
            endpoints_answer_in_every_usual_wiring,
            sessions_record_their_client_and_last_use,
            an_idle_session_ends_at_its_next_refresh,
            a_new_signin_past_the_limit_ends_the_least_recently_used_session,
            one_session_ends_by_id_and_only_for_its_owner,
            a_ticket_opens_the_echo_socket_once,
            a_burst_of_upgrades_with_one_ticket_opens_one_socket,
            a_ticket_of_an_ended_session_opens_nothing,
            the_access_cookie_never_opens_a_socket,
            every_spelling_of_a_path_reaches_the_same_decision_or_fails_closed,
            the_access_cookie_never_opens_a_socket_whatever_the_path,
            a_flood_from_one_address_locks_no_one_else_out,
            control_characters_in_fields_are_400_before_any_store,
            a_ticket_is_refused_once_its_expires_in_has_passed,
            a_forwarded_line_of_the_client_does_not_choose_its_address,
            spellings_of_one_login_share_its_attempts,
            an_early_413_always_reaches_the_client,
            a_ticket_opens_only_the_path_it_was_asked_for,
            tickets_asked_in_a_loop_are_held_to_a_limit,
            introspection_tells_a_live_access_token_from_anything_else,
            introspection_needs_an_application,
            another_application_sees_the_claims_of_any_token,
            guessing_a_client_secret_is_throttled,
            a_burst_of_right_client_credentials_is_answered,
            introspection_and_revocation_refuse_bad_bodies,
            revocation_ends_the_session_of_either_token,
            revocation_by_a_public_client_or_of_an_expired_token,
            a_refresh_token_of_the_published_key_is_replaced,
            a_factor_is_enrolled_then_confirmed_by_its_first_code,
            a_user_with_a_factor_signs_in_at_aal1_and_reaches_only_the_mfa_endpoints,
            verifying_raises_the_session_to_aal2_and_token_keeps_it,
            a_step_is_accepted_once_and_never_an_older_one,
            step_up_refusals_name_what_is_missing_as_rfc_9470_says,
            a_burst_of_wrong_codes_verifies_at_most_the_limit,
            a_recovery_code_is_spent_once_and_ends_the_other_sessions,
            codes_and_factors_of_another_user_prove_nothing,
            removing_a_factor_needs_aal2_and_ends_every_other_session,
            assurance_forged_under_another_key_is_refused,
            a_pending_session_reaches_the_aal1_paths_and_ends_with_its_subject,
            a_session_opened_before_the_first_factor_ends_when_it_is_confirmed,
            a_waiting_session_ends_only_itself_and_is_no_one_elses_access_token,
            a_passkey_is_registered_then_signs_in_without_a_password,
            a_passkey_signs_in_with_cookies,
            a_passkey_is_the_second_factor_of_a_password_sign_in,
            passkeys_are_renamed_and_removed_at_aal2,
            a_passkey_assertion_counts_once_for_its_challenge_and_origin,
            a_counter_gone_back_ends_the_passkey,
            a_passkey_proves_nothing_for_another_user_or_session,
            registering_a_passkey_needs_the_session_that_asked,
            registering_a_passkey_by_cookie_needs_the_csrf_header,
            ceremonies_asked_for_from_one_address_are_bounded,
            a_cloned_passkey_ends_every_session_of_its_user,
            duplicate_fields_beside_a_credential_are_400,
            malformed_assertions_for_live_challenges_are_4xx,
            ended_sessions_and_foreign_handles_prove_nothing,
            options_asked_with_a_body_still_answer,
            malformed_attestations_for_live_challenges_are_4xx,
            application_tokens_get_no_passkey,
            a_cookie_session_needs_the_csrf_header_for_every_passkey_change,
        ]);
    };
}

/// The scenarios whose requests race: which one wins, and so what the losers are told and
/// what follows, differs from run to run, so they hold on each adapter but are not compared
/// exchange by exchange.
macro_rules! with_races {
    ($callback:ident!($($args:tt)*)) => {
        $callback!($($args)* [
            two_password_sessions_racing_to_register_add_one_passkey,
            one_challenge_answered_at_once_counts_once,
            one_credential_id_claimed_by_two_users_at_once_goes_to_one,
        ]);
    };
}

/// The scenarios with an identity provider of their own: its address (a free port, another
/// each run) is in what the server answers, so they hold on each adapter but are not compared
/// exchange by exchange. Other issuers' tokens touch no store: the memory store runs them.
macro_rules! with_issuers {
    ($callback:ident!($($args:tt)*)) => {
        $callback!($($args)* [
            tokens_of_a_configured_issuer_reach_guarded_routes,
            tokens_of_another_issuer_open_no_session_endpoint,
            tokens_of_another_issuer_are_held_to_its_policy,
            unknown_key_ids_fetch_the_keys_at_most_once_per_interval,
            a_rotated_key_is_found_and_a_failing_provider_is_served_from_cache,
            a_provider_down_at_start_answers_503_until_it_is_back,
            a_pending_check_of_another_issuers_token_never_shows_it,
        ]);
    };
}

/// Load shed by the hash queue: which sign-ins are refused depends on when each arrives, so
/// they hold on each adapter but are not compared exchange by exchange (memory store: the
/// queue is the gate's, whatever the store).
macro_rules! with_load {
    ($callback:ident!($($args:tt)*)) => {
        $callback!($($args)* [a_storm_beyond_the_hash_queue_is_answered_503_with_retry_after]);
    };
}

/// Sign-in with identity providers, on both adapters (memory store).
macro_rules! with_providers {
    ($callback:ident!($($args:tt)*)) => {
        $callback!($($args)* [
            a_browser_signs_in_with_an_identity_provider,
            an_app_trades_its_one_time_code_once,
            a_callback_must_be_this_browsers_and_used_once,
            return_to_opens_no_redirect,
            id_tokens_that_do_not_verify_open_no_session,
            a_provider_down_answers_503_until_it_is_back,
            sign_in_starts_from_one_address_are_bounded,
            id_tokens_under_unknown_key_ids_fetch_the_keys_at_most_once_per_interval,
            a_state_and_a_code_are_each_taken_once,
        ]);
    };
}

/// What a provider sign-in keeps in the store, on every store.
macro_rules! with_provider_races {
    ($callback:ident!($($args:tt)*)) => {
        $callback!($($args)* [a_state_and_a_code_are_each_taken_once]);
    };
}

/// One test per scenario for one adapter.
macro_rules! adapter_tests {
    ($module:ident, $adapter:ident, [$($name:ident),* $(,)?]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::support::scenarios::$name(crate::support::Adapter::$adapter).await;
                }
            )*
        }
    };
}

/// One test per scenario that runs it on both adapters and holds them to the same answers,
/// exchange by exchange, in order.
macro_rules! alike_tests {
    ($module:ident, $axum:ident, $actix:ident, [$($name:ident),* $(,)?]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    use crate::support::{recorded, scenarios, Adapter};
                    let axum = recorded(scenarios::$name(Adapter::$axum)).await;
                    let actix = recorded(scenarios::$name(Adapter::$actix)).await;
                    crate::support::assert_alike(&axum, &actix);
                }
            )*
        }
    };
}

with_scenarios!(adapter_tests!(axum, Axum,));
with_scenarios!(adapter_tests!(actix, Actix,));
with_scenarios!(adapter_tests!(axum_sqlite, AxumSqlite,));
with_scenarios!(adapter_tests!(actix_sqlite, ActixSqlite,));
with_scenarios!(adapter_tests!(axum_redis, AxumRedis,));
with_scenarios!(adapter_tests!(actix_redis, ActixRedis,));
with_scenarios!(adapter_tests!(axum_postgres, AxumPostgres,));
with_scenarios!(adapter_tests!(actix_postgres, ActixPostgres,));
with_scenarios!(adapter_tests!(axum_redis_cluster, AxumRedisCluster,));
with_scenarios!(adapter_tests!(actix_redis_cluster, ActixRedisCluster,));
with_issuers!(adapter_tests!(axum_issuers, Axum,));
with_issuers!(adapter_tests!(actix_issuers, Actix,));
with_load!(adapter_tests!(axum_load, Axum,));
with_load!(adapter_tests!(actix_load, Actix,));
with_providers!(adapter_tests!(axum_providers, Axum,));
with_providers!(adapter_tests!(actix_providers, Actix,));
with_provider_races!(adapter_tests!(axum_sqlite_providers, AxumSqlite,));
with_provider_races!(adapter_tests!(actix_sqlite_providers, ActixSqlite,));
with_provider_races!(adapter_tests!(axum_redis_providers, AxumRedis,));
with_provider_races!(adapter_tests!(actix_redis_providers, ActixRedis,));
with_provider_races!(adapter_tests!(axum_postgres_providers, AxumPostgres,));
with_provider_races!(adapter_tests!(actix_postgres_providers, ActixPostgres,));
with_provider_races!(adapter_tests!(
    axum_redis_cluster_providers,
    AxumRedisCluster,
));
with_provider_races!(adapter_tests!(
    actix_redis_cluster_providers,
    ActixRedisCluster,
));
with_races!(adapter_tests!(axum_races, Axum,));
with_races!(adapter_tests!(actix_races, Actix,));
with_races!(adapter_tests!(axum_sqlite_races, AxumSqlite,));
with_races!(adapter_tests!(actix_sqlite_races, ActixSqlite,));
with_races!(adapter_tests!(axum_redis_races, AxumRedis,));
with_races!(adapter_tests!(actix_redis_races, ActixRedis,));
with_races!(adapter_tests!(axum_postgres_races, AxumPostgres,));
with_races!(adapter_tests!(actix_postgres_races, ActixPostgres,));
with_races!(adapter_tests!(axum_redis_cluster_races, AxumRedisCluster,));
with_races!(adapter_tests!(actix_redis_cluster_races, ActixRedisCluster,));
with_scenarios!(alike_tests!(alike, Axum, Actix,));
with_scenarios!(alike_tests!(alike_redis, AxumRedis, ActixRedis,));
with_scenarios!(alike_tests!(alike_postgres, AxumPostgres, ActixPostgres,));
