//! The README says what the code does: its table of defaults is `Config::default()`.

#![allow(clippy::expect_used)]

use tokengate::Config;

const README: &str = include_str!("../README.md");
const SECRET: &str = "an-example-secret-of-at-least-32-bytes";

/// The rows of the table after `<!-- readme-check: defaults -->`: (variable, default).
fn defaults_table() -> Vec<(String, String)> {
    let marker = "<!-- readme-check: defaults -->";
    let at = README
        .find(marker)
        .expect("the README marks its table of defaults");
    README[at + marker.len()..]
        .lines()
        .skip_while(|line| line.trim().is_empty())
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let unquote = |cell: &str| cell.trim_matches('`').to_owned();
            (unquote(cells[1]), unquote(cells[2]))
        })
        .collect()
}

/// The configuration with only the secret set, and with `variable=value` as well.
fn loaded(extra: Option<(&str, &str)>) -> Result<Config, tokengate::ConfigError> {
    let mut env = vec![("TOKENGATE_SECRET", SECRET)];
    env.extend(extra);
    Config::from_sources(None, "default", env)
}

/// The settings the README's table must list (it may list more).
const LISTED: [&str; 17] = [
    "TOKENGATE_SECRET",
    "TOKENGATE_ACCESS_TTL",
    "TOKENGATE_REFRESH_TTL",
    "TOKENGATE_MAX_REFRESH_TTL",
    "TOKENGATE_ALLOW_UNLIMITED",
    "TOKENGATE_LEEWAY",
    "TOKENGATE_ISSUER",
    "TOKENGATE_PREFIX",
    "TOKENGATE_MODE",
    "TOKENGATE_PUBLIC_PATHS",
    "TOKENGATE_STORE",
    "TOKENGATE_THROTTLE_PER_LOGIN",
    "TOKENGATE_THROTTLE_PER_ADDRESS",
    "TOKENGATE_THROTTLE_WINDOW",
    "TOKENGATE_ROTATION",
    "TOKENGATE_MAX_SESSIONS",
    "TOKENGATE_STRICT_REVOCATION",
];

#[test]
fn the_readme_defaults_are_the_configs_defaults() {
    let rows = defaults_table();
    for variable in LISTED {
        assert!(
            rows.iter().any(|(listed, _)| listed == variable),
            "the README's table of defaults lost {variable} (or a blank line cut it): {rows:?}"
        );
    }
    let default = Config::default().with_secret(SECRET);
    let plain = format!("{:?}", loaded(None).expect("the secret alone loads"));
    assert_eq!(
        format!("{default:?}"),
        plain,
        "Config::load with nothing set is not Config::default()"
    );
    let nothing = Config::default();
    for (variable, value) in rows {
        assert!(
            variable.starts_with("TOKENGATE_")
                && !["TOKENGATE_CONFIG", "TOKENGATE_PROFILE"].contains(&variable.as_str()),
            "not a setting: {variable}"
        );
        // Secrets print as REDACTED: no literal default may stand for one.
        assert!(
            value == "none" || !(variable.ends_with("SECRET") || variable.ends_with("KEY")),
            "the README gives {variable} a default value"
        );
        if value == "none" {
            let none = match variable.as_str() {
                "TOKENGATE_SECRET" => nothing.keys.secret.is_none(),
                "TOKENGATE_MAX_REFRESH_TTL" => nothing.tokens.max_refresh_ttl.is_none(),
                "TOKENGATE_PUBLIC_PATHS" => nothing.guard.public_paths.is_empty(),
                "TOKENGATE_AUDIENCE" => nothing.tokens.audience.is_none(),
                "TOKENGATE_SESSION_IDLE" => nothing.tokens.session_idle.is_none(),
                "TOKENGATE_MFA_KEY" => nothing.mfa.key.is_none(),
                "TOKENGATE_MFA_AAL1_PATHS" => nothing.mfa.aal1_paths.is_empty(),
                "TOKENGATE_PASSKEY_RP_ID" => nothing.mfa.passkey_rp_id.is_none(),
                "TOKENGATE_PASSKEY_ORIGINS" => nothing.mfa.passkey_origins.is_empty(),
                other => panic!("the README says {other} has no default: add its check here"),
            };
            assert!(
                none,
                "the README says {variable} has no default; it has one"
            );
            continue;
        }
        let set = loaded(Some((&variable, &value)))
            .unwrap_or_else(|error| panic!("{variable}={value} from the README: {error}"));
        assert_eq!(
            format!("{set:?}"),
            plain,
            "the README's default {variable}={value} is not the default"
        );
    }
}

#[test]
fn a_changed_default_is_seen() {
    // The comparison above can fail: a value other than the default changes the configuration.
    let plain = format!("{:?}", loaded(None).expect("loads"));
    let changed = loaded(Some(("TOKENGATE_ACCESS_TTL", "21m"))).expect("loads");
    assert_ne!(format!("{changed:?}"), plain);
}
