//! TOTP authenticators (RFC 6238) with the settings every authenticator app uses: SHA-1,
//! 30-second steps, 6 digits; a code of the step before or after is accepted too.

use totp_rs::{Algorithm, Secret as TotpSecret, TOTP};

/// The length of a secret, in bytes (160 bits, as RFC 4226 recommends).
pub(crate) const SECRET_BYTES: usize = 20;
/// Seconds per step.
const STEP: u64 = 30;

/// A fresh random secret.
pub(crate) fn new_secret() -> Option<Vec<u8>> {
    let mut secret = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut secret).ok()?;
    Some(secret)
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> TOTP {
    // Unchecked: the secret is ours (160 bits) and the labels are cleaned of `:` below.
    TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        1,
        STEP,
        secret.to_vec(),
        Some(label(issuer)),
        label(account),
    )
}

/// A label of the `otpauth` URI: a colon would split it.
fn label(text: &str) -> String {
    text.replace(':', " ")
}

/// The secret as authenticator apps take it typed in: base32, no padding.
pub(crate) fn base32(secret: &[u8]) -> String {
    TotpSecret::Raw(secret.to_vec()).to_encoded().to_string()
}

/// The `otpauth://totp/...` URI an authenticator app reads from the QR code.
pub(crate) fn uri(secret: &[u8], issuer: &str, account: &str) -> String {
    totp(secret, issuer, account).get_url()
}

/// The QR code of `uri`, as an SVG document.
pub(crate) fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
    )
}

/// The step of `code` for `secret` at `now`: the current step, the one before or the one
/// after, compared in constant time; `None` when it is none of them.
pub(crate) fn step_of(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let generator = totp(secret, "", "");
    let current = u64::try_from(now).ok()? / STEP;
    let mut found = None;
    for step in [current.saturating_sub(1), current, current + 1] {
        let expected = generator.generate(step * STEP);
        let same = expected
            .bytes()
            .zip(code.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0;
        if same && found.is_none() {
            found = i64::try_from(step).ok();
        }
    }
    found
}

/// The code of `secret` at `at` (tests, and the demos' documentation).
#[cfg(test)]
pub(crate) fn code_at(secret: &[u8], at: i64) -> String {
    totp(secret, "", "").generate(u64::try_from(at).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_6238_sha1_vector_and_the_window() {
        // RFC 6238 appendix B, SHA-1, T = 59: 94287082 (8 digits); its last 6 digits.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59), "287082");
        assert_eq!(step_of(secret, "287082", 59), Some(1));
        assert_eq!(
            step_of(secret, "287082", 59 + 30),
            Some(1),
            "the step before"
        );
        assert_eq!(
            step_of(secret, "287082", 59 - 30),
            Some(1),
            "the step after"
        );
        assert_eq!(step_of(secret, "287082", 59 + 60), None, "two steps later");
        assert_eq!(step_of(secret, "28708", 59), None);
        assert_eq!(step_of(secret, "28708x", 59), None);
        let uri = uri(secret, "https://auth.example.org", "ada:lovelace");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert_eq!(base32(secret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(qr_svg(&uri).is_some_and(|svg| svg.contains("<svg")));
    }
}
