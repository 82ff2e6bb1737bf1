//! `tokengate config check`: the configuration loaded and the gate built exactly as at
//! start-up, and the settings in force printed with every secret redacted.

use crate::{load, Failure};

pub(crate) fn run() -> Result<(), Failure> {
    let file = std::env::var("TOKENGATE_CONFIG").ok().or_else(|| {
        std::path::Path::new("tokengate.toml")
            .is_file()
            .then(|| "tokengate.toml".to_owned())
    });
    let profile = std::env::var("TOKENGATE_PROFILE").unwrap_or_else(|_| "default".to_owned());
    let config = load::config()?;
    // The store is opened and the keys prepared, as the application's builder does: their
    // errors are start-up errors too.
    let runtime = load::runtime()?;
    let _entered = runtime.enter();
    let gate = load::gate(config)?;
    println!("configuration: ok");
    println!(
        "file: {}",
        file.as_deref()
            .unwrap_or("(none: defaults and TOKENGATE_* variables)")
    );
    println!("profile: {profile}");
    // `Debug` of the gate never shows a secret: keys, secrets and store passwords print
    // `REDACTED`.
    println!("{gate:#?}");
    Ok(())
}
