//! Recovery codes: ten at a time, each 80 random bits written as four groups of four
//! characters, kept only as keyed hashes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::jws::mac::MacKey;

/// How many codes a set holds.
pub(crate) const COUNT: usize = 10;
/// The characters of a code: 32 of them (5 bits each), no `0`/`o` or `1`/`l` to misread.
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// A fresh set of codes, as shown to the user once.
pub(crate) fn generate() -> Option<Vec<String>> {
    (0..COUNT).map(|_| one()).collect()
}

fn one() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    let mut code = String::with_capacity(19);
    for (index, byte) in bytes.iter().enumerate() {
        if index > 0 && index % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[usize::from(byte % 32)]));
    }
    Some(code)
}

/// Whether `text` has the shape of a recovery code (as typed: any case, dashes or spaces).
pub(crate) fn looks_like(text: &str) -> bool {
    normalized(text).len() == 16
}

fn normalized(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// What the store keeps of `code` of `subject`: a hash keyed by the subject, so that one
/// user's hashes say nothing of another's.
pub(crate) fn hash(subject: &str, code: &str) -> String {
    let mac = MacKey::new(subject.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.sign(&[b"tokengate recovery code", normalized(code).as_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_hash_as_typed() {
        let codes = generate().unwrap();
        assert_eq!(codes.len(), COUNT);
        assert!(codes
            .iter()
            .all(|code| code.len() == 19 && looks_like(code)));
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), COUNT);
        let code = &codes[0];
        let typed = code.replace('-', " ").to_uppercase();
        assert_eq!(hash("ada", code), hash("ada", &typed));
        assert_ne!(hash("ada", code), hash("bob", code));
        assert!(!looks_like("123456"));
    }
}
