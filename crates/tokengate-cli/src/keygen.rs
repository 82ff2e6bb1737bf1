//! `tokengate keygen`: a fresh key from the crypto backend, as configuration takes it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use tokengate_core::jws::generate_key;
use tokengate_core::{Algorithm, KeyConfig, KeyMaterial};

use crate::Failure;

/// The arguments of `keygen`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The algorithm: `hs256` (a secret for `secret` / `TOKENGATE_SECRET`), `eddsa`, `es256`
    /// or `rs256` (a PKCS#8 PEM private key for `key_file`).
    #[arg(value_enum)]
    algorithm: Kind,
    /// Writes the secret or private key to this new file (mode 0600) instead of standard
    /// output; for EdDSA, ES256 and RS256 the public JWK (what the gate publishes, and what
    /// `jwk = '...'` of another service's key list takes) then goes to standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Kind {
    Hs256,
    Eddsa,
    Es256,
    Rs256,
}

impl Kind {
    fn algorithm(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::Hs256,
            Self::Eddsa => Algorithm::EdDsa,
            Self::Es256 => Algorithm::Es256,
            Self::Rs256 => Algorithm::Rs256,
        }
    }
}

pub(crate) fn run(args: &Args) -> Result<(), Failure> {
    let algorithm = args.algorithm.algorithm();
    let material = generate_key(algorithm).map_err(Failure::bad)?;
    let mut private = match &material {
        KeyMaterial::Secret(secret) | KeyMaterial::PrivatePem(secret) => secret.expose().to_vec(),
        _ => return Err(Failure::bad("the backend made no private key")),
    };
    if !private.ends_with(b"\n") {
        private.push(b'\n');
    }
    // The key as the gate reads it: what is written is known to load.
    let jwk = KeyConfig::new(algorithm, material)
        .public_jwk()
        .map_err(Failure::bad)?;
    match &args.out {
        None => write_stdout(&private),
        Some(path) => {
            write_new_file(path, &private)?;
            match jwk {
                Some(jwk) => write_stdout(format!("{jwk}\n").as_bytes()),
                None => Ok(()),
            }
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Failure::bad(format!("cannot write to standard output: {e}")))
}

/// Writes `bytes` to `path`, which must not exist yet, readable by its owner only.
fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| Failure::bad(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::bad(format!("cannot write {}: {e}", path.display())))
}
