//! The key list (`keys` in the TOML file), as written, read into key configurations.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::jws::{Algorithm, KeyConfig, KeyMaterial, Secret};

/// One table of the `keys` list, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    kid: Option<String>,
    algorithm: String,
    secret: Option<String>,
    key: Option<String>,
    key_file: Option<String>,
    public_key: Option<String>,
    public_key_file: Option<String>,
    jwk: Option<Jwk>,
    #[serde(default)]
    signing: bool,
    verify_until: Option<Instant>,
}

/// A JWK, as a table or as JSON text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Jwk {
    Text(String),
    Table(serde_json::Map<String, serde_json::Value>),
}

/// RFC 3339 text or Unix seconds.
#[derive(Deserialize)]
#[serde(untagged)]
enum Instant {
    Seconds(i64),
    Text(String),
}

pub(super) fn key_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<KeyConfig>, D::Error> {
    let entries = Vec::<Entry>::deserialize(deserializer)?;
    entries
        .into_iter()
        .map(|entry| entry.into_key().map_err(D::Error::custom))
        .collect()
}

impl Entry {
    fn into_key(self) -> Result<KeyConfig, String> {
        let algorithm = Algorithm::parse(&self.algorithm)
            .ok_or("`algorithm`: expected HS256, EdDSA, ES256 or RS256")?;
        let read = |field: &str, path: &str| {
            std::fs::read(path).map_err(|e| format!("`{field}` {path}: cannot read: {e}"))
        };
        let mut materials = Vec::new();
        if let Some(secret) = self.secret {
            materials.push(KeyMaterial::Secret(Secret::new(secret.into_bytes())));
        }
        if let Some(pem) = self.key {
            materials.push(KeyMaterial::PrivatePem(Secret::new(pem.into_bytes())));
        }
        if let Some(path) = &self.key_file {
            materials.push(KeyMaterial::PrivatePem(Secret::new(read(
                "key_file", path,
            )?)));
        }
        if let Some(pem) = self.public_key {
            materials.push(KeyMaterial::PublicPem(pem));
        }
        if let Some(path) = &self.public_key_file {
            let pem = String::from_utf8(read("public_key_file", path)?)
                .map_err(|_| "`public_key_file` is not PEM text")?;
            materials.push(KeyMaterial::PublicPem(pem));
        }
        match self.jwk {
            None => {}
            Some(Jwk::Text(json)) => materials.push(KeyMaterial::Jwk(json)),
            Some(Jwk::Table(table)) => materials.push(KeyMaterial::Jwk(
                serde_json::Value::Object(table).to_string(),
            )),
        }
        let material = match materials.len() {
            1 => materials.remove(0),
            0 => {
                return Err(
                    "give one of secret, key, key_file, public_key, public_key_file or jwk".into(),
                )
            }
            _ => {
                return Err(
                    "give only one of secret, key, key_file, public_key, public_key_file and jwk"
                        .into(),
                )
            }
        };
        let verify_until = match self.verify_until {
            None => None,
            Some(Instant::Seconds(at)) => Some(at),
            Some(Instant::Text(text)) => Some(
                time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| "`verify_until`: expected an RFC 3339 time or Unix seconds")?
                    .unix_timestamp(),
            ),
        };
        Ok(KeyConfig {
            kid: self.kid,
            algorithm,
            material,
            signing: self.signing,
            verify_until,
        })
    }
}
