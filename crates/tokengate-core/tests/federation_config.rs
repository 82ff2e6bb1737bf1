//! `[[issuers]]`: other issuers' access tokens, read from the file and refused at start-up when
//! unsafe, each refusal naming the issuer's place and key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tokengate::Config;

const SECRET: (&str, &str) = ("TOKENGATE_SECRET", "a-test-secret-of-at-least-32-bytes!!");

fn load(issuers: &str) -> Result<Config, tokengate::ConfigError> {
    let toml = format!("[default]\nissuer_keys_wait = \"3s\"\n{issuers}");
    Config::from_sources(Some(&toml), "default", [SECRET])
}

#[test]
fn issuers_are_read_from_the_file_with_their_defaults() {
    let config = load(
        r#"
        [[default.issuers]]
        issuer = "https://idp.example.com/realms/main"
        audience = "api"
        roles_claim = "realm_access.roles"

        [[default.issuers]]
        issuer = "http://localhost:9000"
        audience = ["api", "other"]
        algorithms = ["ES256"]
        scopes_claim = "scp"
        "#,
    )
    .unwrap();
    let federation = &config.federation;
    assert_eq!(federation.keys_wait, Duration::from_secs(3));
    assert_eq!(federation.keys_interval, Duration::from_secs(30));
    let [first, second] = federation.issuers.as_slice() else {
        panic!("two issuers: {:?}", federation.issuers)
    };
    assert_eq!(first.audience, ["api"]);
    assert_eq!(first.algorithms, ["RS256", "ES256", "EdDSA"]);
    assert_eq!(first.roles_claim.as_deref(), Some("realm_access.roles"));
    assert_eq!(first.scopes_claim, "scope");
    assert_eq!(second.audience, ["api", "other"]);
    assert_eq!(second.scopes_claim, "scp");
}

#[test]
fn no_issuers_is_the_default() {
    assert!(load("").unwrap().federation.issuers.is_empty());
}

#[test]
fn unsafe_issuers_are_refused_naming_their_place() {
    let cases = [
        // Plain http to another machine.
        (
            r#"issuer = "http://idp.example.com"
            audience = "api""#,
            "issuers[0].issuer",
        ),
        // A user in the address: http "to localhost" that goes elsewhere, or a password.
        (
            r#"issuer = "http://localhost:x@evil.example"
            audience = "api""#,
            "issuers[0].issuer",
        ),
        (
            r#"issuer = "http://[::1]:80@evil.example"
            audience = "api""#,
            "issuers[0].issuer",
        ),
        (
            r#"issuer = "https://user:hunter2@idp.example"
            audience = "api""#,
            "issuers[0].issuer",
        ),
        // A query or a fragment.
        (
            r#"issuer = "https://idp.example?x="
            audience = "api""#,
            "issuers[0].issuer",
        ),
        (
            r#"issuer = "https://idp.example#f"
            audience = "api""#,
            "issuers[0].issuer",
        ),
        // No audience.
        (
            r#"issuer = "https://idp.example.com"
            audience = []"#,
            "issuers[0].audience",
        ),
        // A shared-secret algorithm, and one that is none.
        (
            r#"issuer = "https://idp.example.com"
            audience = "api"
            algorithms = ["HS256"]"#,
            "issuers[0].algorithms",
        ),
        (
            r#"issuer = "https://idp.example.com"
            audience = "api"
            algorithms = ["none"]"#,
            "issuers[0].algorithms",
        ),
        // A claim path with an empty step.
        (
            r#"issuer = "https://idp.example.com"
            audience = "api"
            roles_claim = "realm_access..roles""#,
            "issuers[0].roles_claim",
        ),
    ];
    for (table, key) in cases {
        let error = load(&format!("[[default.issuers]]\n{table}")).unwrap_err();
        assert_eq!(error.key, key, "{table}: {error}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}

#[test]
fn an_issuer_listed_twice_or_a_misspelt_key_is_refused() {
    let once = "[[default.issuers]]\nissuer = \"https://idp.example.com\"\naudience = \"api\"\n";
    let error = load(&format!("{once}{once}")).unwrap_err();
    assert_eq!(error.key, "issuers[1].issuer");
    let error = load(&format!("{once}audiance = \"x\"\n")).unwrap_err();
    assert!(error.to_string().contains("audiance"), "{error}");
}

#[test]
fn this_gates_own_issuer_is_not_another() {
    let toml = "[default]\nissuer = \"https://auth.example.com\"\n[[default.issuers]]\nissuer = \"https://auth.example.com\"\naudience = \"api\"\n";
    let error = Config::from_sources(Some(toml), "default", [SECRET]).unwrap_err();
    assert_eq!(error.key, "issuers[0].issuer");
    assert!(error.reason.contains("own issuer"), "{error}");
}

#[test]
fn the_key_cache_bounds_hold_together() {
    let error = Config::from_sources(
        Some("[default]\nissuer_keys_interval = \"10m\"\nissuer_keys_max_age = \"1m\"\n"),
        "default",
        [SECRET],
    )
    .unwrap_err();
    assert_eq!(error.key, "issuer_keys_max_age");
    for (key, value) in [
        ("issuer_keys_max_age", "9223372036854775807"),
        ("issuer_keys_wait", "\"52w\""),
        ("issuer_keys_interval", "\"2h\""),
    ] {
        let toml = format!("[default]\n{key} = {value}\n");
        let error = Config::from_sources(Some(&toml), "default", [SECRET]).unwrap_err();
        assert_eq!(error.key, key, "{error}");
    }
}
