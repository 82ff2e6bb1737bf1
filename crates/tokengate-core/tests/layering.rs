//! The core's modules depend one way: each uses only the modules before it in `ORDER`, so
//! there is no cycle and a newcomer reads them in that order. Read from the sources.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The top-level modules, from the leaves up.
const ORDER: &[&str] = &[
    "clock",
    "duration",
    "ttl_map",
    "telemetry",
    "jws",
    "config",
    "mfa",
    "http",
    "audit",
    "credentials",
    "store",
    "federation",
    "throttle",
    "authz",
    "gate",
    "endpoints",
    "openapi",
    "adapter",
];

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`None` for `lib.rs`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (name != "lib").then(|| name.to_owned())
}

/// The top-level modules a file's code (not its tests or comments) names as `crate::x`.
fn uses(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut found = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn every_module_uses_only_the_modules_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let rank = |name: &str| ORDER.iter().position(|m| *m == name);
    let mut checked = 0;
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let own = rank(&module).unwrap_or_else(|| panic!("module `{module}` is not in ORDER"));
        for used in uses(&std::fs::read_to_string(file).unwrap()) {
            let Some(theirs) = rank(&used) else {
                continue; // an item re-exported at the root, such as `crate::Config`
            };
            assert!(
                theirs <= own,
                "{} (module `{module}`) uses `crate::{used}`, which comes after it",
                file.display()
            );
        }
        checked += 1;
    }
    assert!(checked > 40, "only {checked} files read");
}

#[test]
fn the_order_names_every_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    let ordered: BTreeSet<String> = ORDER.iter().map(|m| (*m).to_owned()).collect();
    assert_eq!(modules, ordered);
}
