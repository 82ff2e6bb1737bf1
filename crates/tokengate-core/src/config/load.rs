//! Loading: defaults, then the `tokengate.toml` profile, then `TOKENGATE_*` variables, layered
//! by figment. A key no section knows is refused, in the file and in the environment alike.

use std::collections::BTreeSet;
use std::path::Path;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::de::{self, Deserialize, Deserializer, Visitor};

use super::error::ConfigError;
use super::sections::{
    CookieSettings, EndpointSettings, FederationSettings, GuardSettings, KeySettings, MfaSettings,
    StoreSettings, ThrottleSettings, TokenSettings,
};
use super::Config;

/// The variables that choose the file and the profile; not settings themselves.
const LOADER_VARIABLES: [&str; 2] = ["TOKENGATE_CONFIG", "TOKENGATE_PROFILE"];

/// Keys whose values are never repeated in a message.
const HIDDEN: [&str; 4] = ["secret", "csrf_secret", "mfa_key", "mfa_previous_keys"];

impl Config {
    /// Defaults, then the TOML file and profile, then `TOKENGATE_*` variables; validated.
    ///
    /// The file is the one `TOKENGATE_CONFIG` names, else `tokengate.toml` in the working
    /// directory when there is one; the profile is `TOKENGATE_PROFILE` (default `default`).
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_figment(&Self::figment()?)
    }

    /// The sources [`Config::load`] reads, before they are read: merge or join providers of
    /// your own (figment's idiom) and pass the result to [`Config::from_figment`].
    ///
    /// ```
    /// use tokengate::Config;
    ///
    /// // An application's own default, under the file and the environment.
    /// let figment = Config::figment()?
    ///     .join(("secret", "an-example-secret-of-at-least-32-bytes"))
    ///     .join(("public_paths", "/health"));
    /// let config = Config::from_figment(&figment)?;
    /// assert_eq!(config.guard.public_paths, ["/health"]);
    /// # Ok::<(), tokengate::ConfigError>(())
    /// ```
    pub fn figment() -> Result<Figment, ConfigError> {
        let profile = std::env::var("TOKENGATE_PROFILE").unwrap_or_else(|_| "default".to_owned());
        let file = match std::env::var("TOKENGATE_CONFIG") {
            Ok(path) => {
                if !Path::new(&path).is_file() {
                    return Err(ConfigError::new("TOKENGATE_CONFIG", &path, "no such file"));
                }
                Some(Toml::file_exact(path))
            }
            Err(_) => Path::new("tokengate.toml")
                .is_file()
                .then(|| Toml::file_exact("tokengate.toml")),
        };
        figment_of(file, &profile, std::env::vars())
    }

    /// A configuration from a TOML text (its `[default]` table, then `[profile]`) and then the
    /// `TOKENGATE_*` pairs of `env`, validated: what [`Config::load`] does, with the sources
    /// given (for tests, and for applications that keep their settings elsewhere).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokengate::Config;
    ///
    /// let toml = r#"
    ///     [default]
    ///     access_ttl = "10m"
    ///     [production]
    ///     access_ttl = "5m"
    /// "#;
    /// let env = [("TOKENGATE_SECRET", "an-example-secret-of-at-least-32-bytes")];
    /// let config = Config::from_sources(Some(toml), "production", env)?;
    /// assert_eq!(config.tokens.access_ttl, Duration::from_secs(300));
    ///
    /// let misspelt = [("TOKENGATE_ACESS_TTL", "1s")];
    /// let error = Config::from_sources(None, "default", misspelt).unwrap_err();
    /// assert_eq!(error.key, "TOKENGATE_ACESS_TTL");
    /// # Ok::<(), tokengate::ConfigError>(())
    /// ```
    pub fn from_sources<K, V>(
        toml_text: Option<&str>,
        profile: &str,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ConfigError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self::from_figment(&Self::sources(toml_text, profile, env)?)
    }

    /// The sources [`Config::from_sources`] reads, before they are read, for providers of
    /// your own to join (see [`Config::figment`]).
    pub fn sources<K, V>(
        toml_text: Option<&str>,
        profile: &str,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Figment, ConfigError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let pairs = env
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()));
        figment_of(toml_text.map(Toml::string), profile, pairs)
    }

    /// Reads every section from `figment`, refuses keys that no section knows, validates.
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let known = known_keys();
        let data: Dict = figment
            .extract()
            .map_err(|error| from_figment_error(figment, &error))?;
        if let Some(key) = data.keys().find(|key| !known.contains(key.as_str())) {
            let source = figment
                .find_metadata(key)
                .map_or_else(|| "the configuration".to_owned(), |m| m.name.to_string());
            // The value of an unknown key is never shown: it may be a misspelt secret.
            return Err(ConfigError::new(
                key,
                "(not shown)",
                format!(
                    "unknown key (in {source}){}",
                    suggest(key, &known).map_or_else(String::new, |candidate| format!(
                        "; did you mean `{candidate}`?"
                    ))
                ),
            ));
        }
        let section = |error| from_figment_error(figment, &error);
        let config = Self {
            tokens: figment.extract().map_err(section)?,
            guard: figment.extract().map_err(section)?,
            endpoints: figment.extract().map_err(section)?,
            cookies: figment.extract().map_err(section)?,
            throttle: figment.extract().map_err(section)?,
            store: figment.extract().map_err(section)?,
            keys: figment.extract().map_err(section)?,
            mfa: figment.extract().map_err(section)?,
            federation: figment.extract().map_err(section)?,
        };
        config.validate()?;
        Ok(config)
    }
}

/// The file's `[default]` table, then its `[profile]` table, then the variables over both.
fn figment_of(
    file: Option<figment::providers::Data<Toml>>,
    profile: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Figment, ConfigError> {
    let mut figment = Figment::new().select(profile);
    if let Some(file) = file {
        figment = figment.merge(file.nested());
        let profiles: BTreeSet<String> = figment
            .profiles()
            .map(|p| p.as_str().as_str().to_owned())
            .collect();
        if profile != "default" && !profiles.contains(profile) {
            return Err(ConfigError::new(
                "TOKENGATE_PROFILE",
                profile,
                "no such profile in the config file",
            ));
        }
    }
    Ok(figment.merge(Variables::read(env)?))
}

/// The `TOKENGATE_*` variables as settings, each kept as the text it is (a secret of digits
/// stays text); they override every profile of the file.
struct Variables(Dict);

impl Variables {
    fn read(env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let known = known_keys();
        let mut settings = Dict::new();
        for (name, value) in env {
            let Some(key) = name.strip_prefix("TOKENGATE_") else {
                continue;
            };
            if LOADER_VARIABLES.contains(&name.as_str()) {
                continue;
            }
            let key = key.to_ascii_lowercase();
            if !known.contains(key.as_str()) {
                // The value is never shown: it may be a misspelt secret.
                return Err(ConfigError::new(
                    &name,
                    "(not shown)",
                    format!(
                        "no such setting: `TOKENGATE_*` variables are read as configuration{}",
                        suggest(&key, &known).map_or_else(String::new, |candidate| format!(
                            "; did you mean `TOKENGATE_{}`?",
                            candidate.to_ascii_uppercase()
                        ))
                    ),
                ));
            }
            settings.insert(key, Value::from(value));
        }
        Ok(Self(settings))
    }
}

impl Provider for Variables {
    fn metadata(&self) -> Metadata {
        Metadata::named("TOKENGATE_* environment variables")
            .interpolater(|_, keys| format!("TOKENGATE_{}", keys.join("_").to_ascii_uppercase()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Global.collect(self.0.clone()))
    }
}

/// A figment error as a start-up error naming the key as the source spells it.
fn from_figment_error(figment: &Figment, error: &figment::Error) -> ConfigError {
    let key = error.path.join(".");
    let source = error.metadata.as_ref().map(|metadata| {
        let profile = error.profile.clone().unwrap_or_default();
        (
            metadata.interpolate(&profile, &error.path),
            metadata.name.to_string(),
        )
    });
    let value = shown(&key, figment.find_value(&key).ok().as_ref());
    let reason = scrubbed(figment, &error.kind.to_string());
    match source {
        Some((native, _)) if native.starts_with("TOKENGATE_") => {
            ConfigError::new(&key, &value, format!("{reason} (in {native})"))
        }
        Some((_, name)) => ConfigError::new(&key, &value, format!("{reason} (in {name})")),
        None => ConfigError::new(&key, &value, reason),
    }
}

/// `text` (a parser's message, which may quote a value) with every secret of the
/// configuration replaced by `REDACTED`: the secrets, every text of the key list, and the
/// store URL's password.
fn scrubbed(figment: &Figment, text: &str) -> String {
    fn texts(value: &Value, into: &mut Vec<String>) {
        match value {
            Value::String(_, text) => into.push(text.clone()),
            Value::Dict(_, dict) => dict.values().for_each(|value| texts(value, into)),
            Value::Array(_, array) => array.iter().for_each(|value| texts(value, into)),
            _ => {}
        }
    }
    let mut secrets = Vec::new();
    for key in HIDDEN.iter().copied().chain(["keys"]) {
        if let Ok(value) = figment.find_value(key) {
            texts(&value, &mut secrets);
        }
    }
    // A parse error quotes the line it stopped at, which may hold a secret: the quoted
    // source lines (`2 | secret = "..."`, and the marker under them) are left out.
    let mut text = text
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            let number = line.trim_start_matches(|c: char| c.is_ascii_digit());
            !(number.trim_start().starts_with('|'))
        })
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if let Ok(Value::String(_, url)) = figment.find_value("store") {
        text = super::redact::redacted_in(&text, &url);
    }
    // The providers' client secrets.
    if let Ok(Value::Array(_, providers)) = figment.find_value("providers") {
        for provider in &providers {
            if let Value::Dict(_, provider) = provider {
                if let Some(secret) = provider.get("client_secret") {
                    texts(secret, &mut secrets);
                }
            }
        }
    }
    // A value quoted as the wrong type may be a secret in the wrong place (a `secret = ...`
    // outside any profile is read as a profile): no quoted text is repeated.
    let text = unquoted(&text);
    secrets
        .iter()
        .filter(|secret| secret.len() >= 4)
        .fold(text, |text, secret| {
            text.replace(secret.as_str(), "REDACTED")
        })
}

/// `text` with every string a parser quoted (`string "..."`) left out.
fn unquoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("string \"") {
        out.push_str(&rest[..at]);
        out.push_str("a string (not shown)");
        let quoted = &rest[at + "string \"".len()..];
        let mut escaped = false;
        let end = quoted.char_indices().find_map(|(at, c)| {
            let closes = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            closes.then_some(at)
        });
        rest = end.map_or("", |end| &quoted[end + 1..]);
    }
    out.push_str(rest);
    out
}

/// What a message shows of a value: secrets never.
fn shown(key: &str, value: Option<&Value>) -> String {
    // Key entries carry key material: no part of them is shown.
    if HIDDEN.contains(&key) || key == "keys" || key.starts_with("keys.") {
        return "(hidden)".to_owned();
    }
    match value {
        Some(Value::String(_, text)) if key == "store" => super::redact::redacted_url(text),
        Some(Value::String(_, text)) => text.clone(),
        Some(other) => serde_json::to_string(other).unwrap_or_default(),
        None => String::new(),
    }
}

/// The known key one or two edits away from `key`, if any.
fn suggest(key: &str, known: &BTreeSet<&'static str>) -> Option<&'static str> {
    known
        .iter()
        .map(|candidate| (edits(key, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Every key some section reads: the sections' own field lists, as serde knows them.
pub(super) fn known_keys() -> BTreeSet<&'static str> {
    [
        fields::<TokenSettings>(),
        fields::<GuardSettings>(),
        fields::<EndpointSettings>(),
        fields::<CookieSettings>(),
        fields::<ThrottleSettings>(),
        fields::<StoreSettings>(),
        fields::<KeySettings>(),
        fields::<MfaSettings>(),
        fields::<FederationSettings>(),
    ]
    .into_iter()
    .flatten()
    .copied()
    .collect()
}

/// The field names a derived `Deserialize` struct asks for.
fn fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Names(&'static [&'static str]);
    #[derive(Debug)]
    struct Done;
    impl std::fmt::Display for Done {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("field names read")
        }
    }
    impl std::error::Error for Done {}
    impl de::Error for Done {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Done
        }
    }
    impl<'de> Deserializer<'de> for &mut Names {
        type Error = Done;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Done> {
            Err(Done)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Done> {
            self.0 = fields;
            Err(Done)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut names = Names(&[]);
    let _ = T::deserialize(&mut names);
    names.0
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::GuardMode;
    use crate::jws::Secret;

    const SECRET: (&str, &str) = ("TOKENGATE_SECRET", "0123456789abcdef0123456789abcdef");

    fn load(
        toml: Option<&str>,
        profile: &str,
        env: &[(&str, &str)],
    ) -> Result<Config, ConfigError> {
        let mut pairs = vec![SECRET];
        pairs.extend_from_slice(env);
        Config::from_sources(toml, profile, pairs)
    }

    #[test]
    fn defaults_are_the_seed_lifetimes() {
        let config = load(None, "default", &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.tokens.access_ttl, Duration::from_secs(1200));
        assert_eq!(config.tokens.refresh_ttl, Duration::from_secs(86_400));
        assert_eq!(config.tokens.max_refresh_ttl(), Duration::from_secs(86_400));
        assert_eq!(config.endpoints.body_limit, 65_536);
        assert_eq!(config.endpoints.prefix, "/api/rest");
    }

    #[test]
    fn environment_overrides_the_profile_which_overrides_default() {
        let toml = "[default]\naccess_ttl = \"10m\"\nleeway = \"5s\"\nissuer = \"a\"\n[staging]\naccess_ttl = \"5m\"\nleeway = \"1s\"\n";
        let config = load(Some(toml), "staging", &[("TOKENGATE_ACCESS_TTL", "2s")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.tokens.access_ttl, Duration::from_secs(2));
        assert_eq!(config.tokens.leeway, Duration::from_secs(1));
        assert_eq!(config.tokens.issuer, "a");
    }

    #[test]
    fn wrong_value_names_key_value_and_variable() {
        let error = load(None, "default", &[("TOKENGATE_ACCESS_TTL", "soon")]).unwrap_err();
        assert_eq!(error.key, "access_ttl");
        assert_eq!(error.value, "soon");
        assert!(error.reason.contains("TOKENGATE_ACCESS_TTL"), "{error}");
    }

    #[test]
    fn wrong_value_in_the_file_names_the_key() {
        let error = load(Some("[default]\nthrottle_per_login = -3\n"), "default", &[]).unwrap_err();
        assert_eq!(error.key, "throttle_per_login");
        assert!(error.reason.contains("whole number"), "{error}");
    }

    #[test]
    fn a_misspelt_variable_stops_start_up_naming_it() {
        let error = load(None, "default", &[("TOKENGATE_ACESS_TTL", "1s")]).unwrap_err();
        assert_eq!(error.key, "TOKENGATE_ACESS_TTL");
        assert!(error.reason.contains("TOKENGATE_ACCESS_TTL"), "{error}");
    }

    #[test]
    fn loader_variables_and_other_names_are_not_settings() {
        let config = load(
            None,
            "default",
            &[
                ("TOKENGATE_PROFILE", "default"),
                ("TOKENGATEWAY", "x"),
                ("PATH", "/bin"),
            ],
        );
        assert!(config.is_ok(), "{config:?}");
    }

    #[test]
    fn a_secret_of_digits_stays_text() {
        let digits = "01234567890123456789012345678901";
        let config = Config::from_sources(None, "default", [("TOKENGATE_SECRET", digits)])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.keys.secret, Some(Secret::new(digits)));
    }

    #[test]
    fn short_secret_is_refused_without_repeating_it() {
        let error = Config::from_sources(None, "default", [("TOKENGATE_SECRET", "short-secret")])
            .unwrap_err();
        assert_eq!(error.key, "secret");
        assert!(!error.to_string().contains("short-secret"));
    }

    #[test]
    fn unknown_toml_key_and_missing_profile_are_refused() {
        let error = load(Some("[default]\nacess_ttl = \"1m\"\n"), "default", &[]).unwrap_err();
        assert_eq!(error.key, "acess_ttl");
        assert!(error.reason.contains("access_ttl"), "{error}");
        assert_eq!(
            load(Some("[default]\n"), "prod", &[]).unwrap_err().key,
            "TOKENGATE_PROFILE"
        );
    }

    /// A gate of `config`, or why not.
    fn built(config: Config) -> Result<crate::TokenGate, ConfigError> {
        crate::TokenGate::builder(config)
            .credentials(crate::credentials::MemoryDirectory::new())
            .build()
    }

    /// Every start-up error path, with a secret planted where a user would put one: the
    /// secret never shows in the message, nor in `Debug` of the configuration.
    #[test]
    fn no_startup_error_shows_a_planted_secret() {
        const PLANTED: &str = "Planted-S3cret-value-of-32-bytes-or-more";
        let mut errors = vec![
            load(None, "default", &[("TOKENGATE_JWT_SECRET", PLANTED)]).unwrap_err(),
            // A file that does not parse: its error quotes the line.
            load(
                Some(&format!("[default]\nsecret = \"{PLANTED}\n")),
                "default",
                &[],
            )
            .unwrap_err(),
            load(
                Some(&format!("[default]\nsecret = {PLANTED}\n")),
                "default",
                &[],
            )
            .unwrap_err(),
            load(
                Some(&format!("[default]\njwt_secret = \"{PLANTED}\"\n")),
                "default",
                &[],
            )
            .unwrap_err(),
            load(
                None,
                "default",
                &[("TOKENGATE_STORE", &format!("mongodb://app:{PLANTED}@db/x"))],
            )
            .unwrap_err(),
        ];
        for entry in [
            format!("{{ algorithm = \"HS256\", secret = \"{PLANTED}\", bogus = 1 }}"),
            format!("{{ algorithm = \"HS256\", secret = \"{PLANTED}\", signing = \"{PLANTED}\" }}"),
            format!("{{ algorithm = \"{PLANTED}\", secret = \"{PLANTED}\" }}"),
            format!("{{ algorithm = \"EdDSA\", key = \"{PLANTED}\" }}"),
        ] {
            let toml = format!("[default]\nkeys = [{entry}]\n");
            errors.push(match load(Some(&toml), "default", &[]) {
                Err(error) => error,
                // Key material is read when the gate is built.
                Ok(config) => built(config).expect_err("a bad key entry"),
            });
        }
        #[cfg(feature = "postgres")]
        for url in [
            format!("postgres://app:{PLANTED}@127.0.0.1:notaport/x"),
            format!("postgres://app:{PLANTED}@[::1/x"),
            format!("postgres://app:SEC/{PLANTED}@127.0.0.1:notaport/x"),
            format!("postgres://app@127.0.0.1:notaport/x?password={PLANTED}"),
        ] {
            let config = load(None, "default", &[("TOKENGATE_STORE", &url)]).unwrap();
            errors.push(built(config).expect_err("a bad store URL"));
        }
        #[cfg(feature = "redis")]
        for url in [
            format!("redis+cluster://:{PLANTED}@127.0.0.1:notaport,127.0.0.1:2"),
            format!("redis://:{PLANTED}@127.0.0.1:notaport/0"),
        ] {
            let config = load(None, "default", &[("TOKENGATE_STORE", &url)]).unwrap();
            errors.push(built(config).expect_err("a bad store URL"));
        }
        for error in &errors {
            let text = format!("{error} {error:?}");
            assert!(!text.contains(PLANTED), "{text}");
            assert!(!text.contains("S3cret"), "{text}");
        }
        let config = load(
            None,
            "default",
            &[("TOKENGATE_STORE", &format!("postgres://app:{PLANTED}@db/x"))],
        )
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains(PLANTED), "{debug}");
        assert!(debug.contains("postgres://app:REDACTED@db/x"), "{debug}");
    }

    #[test]
    fn graces_and_caches_past_their_maximum_are_refused() {
        for (key, too_long, most) in [
            ("REUSE_GRACE", "6m", "5m"),
            ("REVOCATION_CACHE_TTL", "2m", "1m"),
        ] {
            let variable = format!("TOKENGATE_{key}");
            let error = load(None, "default", &[(variable.as_str(), too_long)]).unwrap_err();
            assert_eq!(error.key, key.to_ascii_lowercase());
            assert!(error.reason.contains(most), "{error}");
            assert!(load(None, "default", &[(variable.as_str(), most)]).is_ok());
        }
    }

    #[test]
    fn max_refresh_shorter_than_refresh_is_inconsistent() {
        let error = load(None, "default", &[("TOKENGATE_MAX_REFRESH_TTL", "1h")]).unwrap_err();
        assert_eq!(error.key, "max_refresh_ttl");
    }

    #[test]
    fn sizes_lists_and_booleans_parse() {
        let config = load(
            None,
            "default",
            &[
                ("TOKENGATE_BODY_LIMIT", "1MiB"),
                ("TOKENGATE_PUBLIC_PATHS", "/health, /static/*"),
                ("TOKENGATE_ALLOW_UNLIMITED", "true"),
                ("TOKENGATE_MODE", "optional"),
                ("TOKENGATE_VERIFY_CACHE", "auto"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.endpoints.body_limit, 1024 * 1024);
        assert_eq!(config.guard.public_paths, vec!["/health", "/static/*"]);
        assert!(config.tokens.allow_unlimited);
        assert_eq!(config.guard.mode, GuardMode::Optional);
        assert_eq!(config.guard.verify_cache, None);
    }

    #[test]
    fn toml_types_parse_too() {
        let toml = "[default]\nbody_limit = 2048\npublic_paths = [\"/a\"]\nrotation = true\nthrottle_window = 60\n";
        let config = load(Some(toml), "default", &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.endpoints.body_limit, 2048);
        assert_eq!(config.guard.public_paths, ["/a"]);
        assert!(config.tokens.rotation);
        assert_eq!(config.throttle.window, Duration::from_secs(60));
    }

    #[test]
    fn every_section_field_is_a_known_key() {
        let known = known_keys();
        for key in [
            "access_ttl",
            "cookie_secure",
            "throttle_per_login",
            "store",
            "keys",
            "secret",
            "discovery",
            "external_url",
            "metrics_path",
            "metrics_scope",
            "mfa_key",
            "mfa_aal1_paths",
            "passkey_rp_id",
            "passkey_origins",
            "passkey_challenge_ttl",
            "issuers",
            "issuer_keys_interval",
            "issuer_keys_max_age",
            "issuer_keys_wait",
        ] {
            assert!(known.contains(key), "{key}");
        }
        assert_eq!(known.len(), 67);
    }

    #[test]
    fn second_factors_are_configured_and_their_keys_never_shown() {
        let key = "a-second-factor-key-of-32-bytes!";
        let config = load(
            None,
            "default",
            &[
                ("TOKENGATE_MFA_KEY", key),
                ("TOKENGATE_MFA_AAL1_PATHS", "/api/rest/me,/setup/*"),
                ("TOKENGATE_MFA_ATTEMPTS", "3"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.mfa.aal1_paths, ["/api/rest/me", "/setup/*"]);
        assert_eq!((config.mfa.attempts, config.mfa.end_sessions), (3, true));
        assert!(!format!("{config:?}").contains(key));
        for (name, value) in [
            ("TOKENGATE_MFA_KEY", "short-key-planted"),
            ("TOKENGATE_MFA_PREVIOUS_KEYS", "short-key-planted"),
            ("TOKENGATE_MFA_ATTEMPTS", "0"),
            ("TOKENGATE_MFA_AAL1_PATHS", "relative"),
            (
                "TOKENGATE_MFA_KEY",
                "a-key-planted-with-a-comma,-of-32-bytes",
            ),
            (
                "TOKENGATE_MFA_KEY",
                " a-key-planted-with-a-space-of-32-bytes",
            ),
        ] {
            let error = load(None, "default", &[(name, value)])
                .map(|_| ())
                .unwrap_err();
            assert!(!error.to_string().contains("planted"), "{error}");
        }
    }

    #[test]
    fn the_session_lifecycle_is_configured_by_variables() {
        let config = load(
            None,
            "default",
            &[
                ("TOKENGATE_SESSION_IDLE", "7d"),
                ("TOKENGATE_MAX_SESSIONS", "5"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.tokens.session_idle,
            Some(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(config.tokens.max_sessions, Some(5));
        let none = load(None, "default", &[("TOKENGATE_MAX_SESSIONS", "none")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(none.tokens.max_sessions, None);
        assert_eq!(
            load(None, "default", &[]).unwrap().tokens.max_sessions,
            Some(100),
            "sessions per subject are bounded by default"
        );
        let error = load(None, "default", &[("TOKENGATE_MAX_SESSIONS", "0")]).unwrap_err();
        assert_eq!(error.key, "max_sessions");
        let error = load(None, "default", &[("TOKENGATE_MAX_SESSIONS", "-1")]).unwrap_err();
        assert_eq!(error.key, "max_sessions");
        // Shorter than an access token, every session would end between two refreshes.
        let error = load(None, "default", &[("TOKENGATE_SESSION_IDLE", "5m")]).unwrap_err();
        assert_eq!(error.key, "session_idle");
    }

    #[test]
    fn websocket_paths_and_the_ticket_lifetime_are_checked() {
        let config = load(
            None,
            "default",
            &[
                ("TOKENGATE_WEBSOCKET_PATHS", "/ws/*, /live"),
                ("TOKENGATE_TICKET_TTL", "10s"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.guard.websocket_paths, ["/ws/*", "/live"]);
        assert_eq!(config.endpoints.ticket_ttl, Duration::from_secs(10));
        let default = load(None, "default", &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(default.guard.websocket_paths.is_empty());
        assert_eq!(default.endpoints.ticket_ttl, Duration::from_secs(30));
        let error = load(None, "default", &[("TOKENGATE_WEBSOCKET_PATHS", "ws")]).unwrap_err();
        assert_eq!(error.key, "websocket_paths");
        // A ticket only bridges a sign-in page and its upgrade: minutes at most.
        for ttl in ["10m", "0s"] {
            let error = load(None, "default", &[("TOKENGATE_TICKET_TTL", ttl)]).unwrap_err();
            assert_eq!(error.key, "ticket_ttl", "{ttl}");
        }
    }

    #[test]
    fn the_postgres_store_is_tuned_by_configuration() {
        let config = load(
            None,
            "default",
            &[
                ("TOKENGATE_STORE", "postgres://postgres@127.0.0.1/app"),
                ("TOKENGATE_STORE_SCHEMA", "auth"),
                ("TOKENGATE_STORE_POOL_SIZE", "4"),
                ("TOKENGATE_STORE_TIMEOUT", "500ms"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.store.schema, "auth");
        assert_eq!(config.store.pool_size, 4);
        assert_eq!(config.store.timeout, Duration::from_millis(500));
        let error = load(None, "default", &[("TOKENGATE_STORE_POOL_SIZE", "0")]).unwrap_err();
        assert_eq!(error.key, "store_pool_size");
    }

    #[test]
    fn redis_revocations_wait_for_replicas_only_where_there_are_some() {
        let redis = [
            ("TOKENGATE_STORE", "redis+sentinel://127.0.0.1:26379/main"),
            ("TOKENGATE_REDIS_WAIT_REPLICAS", "1"),
            ("TOKENGATE_REDIS_WAIT_TIMEOUT", "250ms"),
        ];
        let config = load(None, "default", &redis).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.store.wait_replicas, 1);
        assert_eq!(config.store.wait_timeout, Duration::from_millis(250));
        // A store without replicas: the key would promise what nothing does.
        let memory = [("TOKENGATE_REDIS_WAIT_REPLICAS", "1")];
        let error = load(None, "default", &memory).unwrap_err();
        assert_eq!(error.key, "redis_wait_replicas");
        for timeout in ["0s", "11s"] {
            let mut settings = redis;
            settings[2].1 = timeout;
            let error = load(None, "default", &settings).unwrap_err();
            assert_eq!(error.key, "redis_wait_timeout", "{timeout}");
        }
    }

    #[test]
    fn the_hash_queue_depth_is_configured_and_never_zero() {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let default = load(None, "default", &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            usize::try_from(default.throttle.hash_queue_depth).ok(),
            Some(32 * cores)
        );
        let config = load(None, "default", &[("TOKENGATE_HASH_QUEUE_DEPTH", "3")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.throttle.hash_queue_depth, 3);
        let config = load(Some("[default]\nhash_queue_depth = 5\n"), "default", &[])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.throttle.hash_queue_depth, 5);
        // With no place at all, every sign-in would be refused.
        for depth in ["0", "-1", "many"] {
            let error =
                load(None, "default", &[("TOKENGATE_HASH_QUEUE_DEPTH", depth)]).unwrap_err();
            assert_eq!(error.key, "hash_queue_depth", "{depth}");
        }
    }

    #[test]
    fn a_secret_outside_every_profile_is_not_repeated() {
        let toml = "secret = \"a-misplaced-secret-of-32-bytes-or-so\"\n";
        let refused = load(Some(toml), "default", &[]).expect_err("a string where a profile goes");
        let shown = format!("{refused} {refused:?}");
        assert!(!shown.contains("a-misplaced-secret"), "{shown}");
        let toml = "[default]\n[[default.providers]]\nname = \"x\"\nissuer = 5\nclient_id = \"c\"\nclient_secret = \"provider-client-secret\"\nredirect_uri = \"x\"\n";
        let refused = load(Some(toml), "default", &[]).expect_err("an issuer that is a number");
        let shown = format!("{refused} {refused:?}");
        assert!(!shown.contains("provider-client-secret"), "{shown}");
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = Secret::new(b"super-secret-value".to_vec());
        assert_eq!(format!("{secret:?}"), "Secret(REDACTED)");
    }
}
