//! Passkeys (WebAuthn Level 3), by webauthn-rs: its passkey ceremonies, which ask the
//! authenticator for user verification and check the signature, the origin, the rp id, the
//! challenge, the flags and the signature counter. This module keeps what tokengate adds: the
//! state of each ceremony under its challenge (in the factor store, so any instance answers),
//! what a passkey factor keeps sealed, and the options as a browser takes them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use webauthn_rs::prelude::{
    Credential, CredentialID, DiscoverableAuthentication, DiscoverableKey, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use crate::config::MfaSettings;

/// The relying party: webauthn-rs set up with the rp id and origins, and how long a
/// challenge may be answered.
pub(crate) struct Passkeys {
    webauthn: Webauthn,
    ttl: i64,
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// What a passkey factor keeps, sealed like a TOTP secret: the credential (public key,
/// counter, flags), the user handle it was made under, and the claims its user had then (a
/// passkey sign-in starts from them, as the directory updates them on refresh).
#[derive(Serialize, Deserialize)]
pub(crate) struct Kept {
    pub(crate) passkey: Passkey,
    pub(crate) handle: Uuid,
    #[serde(default)]
    pub(crate) claims: Map<String, Value>,
}

/// A ceremony waiting for its answer, kept under its challenge: whose (the session that asked,
/// for registration and for a second factor) and webauthn-rs's state.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Ceremony {
    /// `passkeys/register/options`: a new passkey for the session's user.
    Register {
        subject: String,
        sid: String,
        handle: Uuid,
        state: PasskeyRegistration,
    },
    /// `passkeys/signin/options`: any discoverable passkey.
    SignIn { state: DiscoverableAuthentication },
    /// `passkeys/verify/options`: one of the session's user's passkeys, as its second factor.
    Verify {
        subject: String,
        sid: String,
        state: PasskeyAuthentication,
    },
}

/// Options to answer, with the key their challenge is kept under.
pub(crate) struct Options {
    pub(crate) public_key: Value,
    pub(crate) challenge: String,
}

impl Passkeys {
    /// The relying party of `settings`, when passkeys are on; the settings were validated.
    pub(crate) fn new(settings: &MfaSettings) -> Result<Option<Self>, String> {
        let Some(rp_id) = &settings.passkey_rp_id else {
            return Ok(None);
        };
        let parse = |origin: &str| {
            Url::parse(origin).map_err(|e| format!("`passkey_origins`: {origin}: {e}"))
        };
        let mut origins = settings.passkey_origins.iter();
        let first = origins
            .next()
            .ok_or_else(|| "`passkey_origins` is empty".to_owned())?;
        let first = parse(first)?;
        let mut builder = WebauthnBuilder::new(rp_id, &first)
            .map_err(|e| format!("`passkey_origins` does not fit `passkey_rp_id`: {e}"))?
            .rp_name(rp_id)
            .timeout(settings.passkey_challenge_ttl);
        for origin in origins {
            builder = builder.append_allowed_origin(&parse(origin)?);
        }
        let webauthn = builder
            .build()
            .map_err(|e| format!("`passkey_rp_id` and `passkey_origins` are refused: {e}"))?;
        Ok(Some(Self {
            webauthn,
            ttl: i64::try_from(settings.passkey_challenge_ttl.as_secs()).unwrap_or(60),
        }))
    }

    /// How long a challenge may be answered, in seconds.
    pub(crate) fn ttl(&self) -> i64 {
        self.ttl
    }

    /// Registration options for user `login` (its name on the authenticator) under `handle`,
    /// excluding the passkeys it has: a discoverable credential preferred, user verification
    /// required.
    pub(crate) fn register(
        &self,
        handle: Uuid,
        login: &str,
        display: &str,
        exclude: Vec<CredentialID>,
    ) -> Result<(Options, PasskeyRegistration), WebauthnError> {
        let exclude = (!exclude.is_empty()).then_some(exclude);
        let (options, state) = self
            .webauthn
            .start_passkey_registration(handle, login, display, exclude)?;
        let challenge = key_of(options.public_key.challenge.as_ref());
        let mut public_key = serde_json::to_value(&options.public_key)
            .map_err(|_| WebauthnError::InvalidClientDataType)?;
        // A passkey that the authenticator can find by itself signs in without a login: asked
        // for, not required (the state does not require it either).
        if let Some(selection) = public_key
            .get_mut("authenticatorSelection")
            .and_then(Value::as_object_mut)
        {
            selection.insert("residentKey".to_owned(), Value::from("preferred"));
            selection.insert("requireResidentKey".to_owned(), Value::Bool(false));
        }
        Ok((
            Options {
                public_key,
                challenge,
            },
            state,
        ))
    }

    /// The passkey a registration answer makes, if it answers `state`.
    pub(crate) fn finish_register(
        &self,
        credential: &RegisterPublicKeyCredential,
        state: &PasskeyRegistration,
    ) -> Result<Passkey, WebauthnError> {
        self.webauthn.finish_passkey_registration(credential, state)
    }

    /// Options for a passwordless sign-in: any passkey of this relying party the
    /// authenticator holds.
    pub(crate) fn sign_in(&self) -> Result<(Options, DiscoverableAuthentication), WebauthnError> {
        let (options, state) = self.webauthn.start_discoverable_authentication()?;
        // webauthn-rs asks for conditional mediation (autofill); the page decides how it asks.
        let challenge = key_of(options.public_key.challenge.as_ref());
        let public_key = serde_json::to_value(&options.public_key)
            .map_err(|_| WebauthnError::InvalidClientDataType)?;
        Ok((
            Options {
                public_key,
                challenge,
            },
            state,
        ))
    }

    /// Checks a passwordless sign-in's assertion against `state` and the passkey it names.
    pub(crate) fn finish_sign_in(
        &self,
        assertion: &PublicKeyCredential,
        state: DiscoverableAuthentication,
        passkey: &Passkey,
    ) -> Result<webauthn_rs::prelude::AuthenticationResult, WebauthnError> {
        self.webauthn.finish_discoverable_authentication(
            assertion,
            state,
            &[DiscoverableKey::from(passkey)],
        )
    }

    /// Options for proving one of `passkeys` as a second factor.
    pub(crate) fn verify(
        &self,
        passkeys: &[Passkey],
    ) -> Result<(Options, PasskeyAuthentication), WebauthnError> {
        let (options, state) = self.webauthn.start_passkey_authentication(passkeys)?;
        let challenge = key_of(options.public_key.challenge.as_ref());
        let public_key = serde_json::to_value(&options.public_key)
            .map_err(|_| WebauthnError::InvalidClientDataType)?;
        Ok((
            Options {
                public_key,
                challenge,
            },
            state,
        ))
    }

    /// Checks a second factor's assertion against `state`.
    pub(crate) fn finish_verify(
        &self,
        assertion: &PublicKeyCredential,
        state: &PasskeyAuthentication,
    ) -> Result<webauthn_rs::prelude::AuthenticationResult, WebauthnError> {
        self.webauthn
            .finish_passkey_authentication(assertion, state)
    }
}

/// The key a challenge is kept under: its bytes in base64url, as the options carry it.
fn key_of(challenge: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, challenge)
}

/// The challenge a ceremony's answer is for, read from its client data (`challenge`, in
/// base64url); `None` when the client data is not JSON with one. Only a key to find the
/// ceremony: webauthn-rs checks the client data again against it.
pub(crate) fn challenge_in(client_data: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ClientData<'a> {
        #[serde(borrow)]
        challenge: std::borrow::Cow<'a, str>,
    }
    let data: ClientData<'_> = serde_json::from_slice(client_data).ok()?;
    let text = data.challenge.trim_end_matches('=');
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, text).ok()?;
    (!bytes.is_empty()).then(|| key_of(&bytes))
}

/// A credential id as the store keeps it: base64url.
pub(crate) fn credential_key(id: &[u8]) -> String {
    key_of(id)
}

/// What the store tracks of a passkey: its signature counter, and whether it may be synced
/// to other devices (then `swk`, a key in software; else `hwk`, RFC 8176), and whether it is.
pub(crate) struct Flags {
    pub(crate) counter: u32,
    pub(crate) backup_eligible: bool,
    pub(crate) backed_up: bool,
}

/// The flags of `passkey`.
pub(crate) fn flags(passkey: &Passkey) -> Flags {
    let credential = Credential::from(passkey.clone());
    Flags {
        counter: credential.counter,
        backup_eligible: credential.backup_eligible,
        backed_up: credential.backup_state,
    }
}

impl Flags {
    /// The `amr` value of a key with these flags.
    pub(crate) fn method(&self) -> &'static str {
        if self.backup_eligible {
            "swk"
        } else {
            "hwk"
        }
    }
}
