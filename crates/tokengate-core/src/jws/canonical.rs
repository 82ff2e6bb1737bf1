//! One valid encoding per signature (RFC 8725 §3.3): the scalar rules that keep ES256 and
//! EdDSA signatures from having a second valid form.
//!
//! - ES256: `(r, s)` and `(r, n - s)` both verify, so a token could be re-encoded into another
//!   valid string. We sign with the low `s` (at most `n / 2`) and refuse a high one.
//! - EdDSA: `S` must be below the group order `L` (RFC 8032 §5.1.7); `S + L` would otherwise
//!   verify as well. Checked here whatever the crypto backend does.

/// The order `n` of the P-256 group, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `n / 2` (rounded down), big-endian: the largest low `s`.
const P256_HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// The order `L` of the Ed25519 group, little-endian.
const ED25519_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// Whether a raw ES256 signature (`r || s`, 64 bytes) has a low `s`. Other lengths are left to
/// the verifier, which refuses them.
pub(crate) fn is_low_s_p256(signature: &[u8]) -> bool {
    match signature.get(32..64) {
        Some(s) if signature.len() == 64 => s <= &P256_HALF_N[..],
        _ => true,
    }
}

/// Replaces a high `s` of a raw ES256 signature by `n - s`.
pub(crate) fn normalise_p256_s(signature: &mut [u8]) -> Result<(), String> {
    if signature.len() != 64 {
        return Err(format!("an ES256 signature of {} bytes", signature.len()));
    }
    if is_low_s_p256(signature) {
        return Ok(());
    }
    let s = &mut signature[32..];
    let mut borrow = 0u16;
    for i in (0..32).rev() {
        let (n, x) = (u16::from(P256_N[i]), u16::from(s[i]) + borrow);
        // s < n for any signature the backend made, so the subtraction never underflows.
        let (digit, next) = if n >= x { (n - x, 0) } else { (n + 256 - x, 1) };
        s[i] = u8::try_from(digit).map_err(|e| e.to_string())?;
        borrow = next;
    }
    Ok(())
}

/// Whether a raw Ed25519 signature (`R || S`, 64 bytes) has `S < L`. Other lengths are left to
/// the verifier, which refuses them.
pub(crate) fn is_canonical_ed25519(signature: &[u8]) -> bool {
    let Some(s) = signature.get(32..64).filter(|_| signature.len() == 64) else {
        return true;
    };
    // Little-endian: compare from the most significant byte down.
    for i in (0..32).rev() {
        if s[i] != ED25519_L[i] {
            return s[i] < ED25519_L[i];
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_s_becomes_n_minus_s_and_low_s_stays() {
        let mut signature = [0u8; 64];
        signature[32..].copy_from_slice(&P256_N);
        signature[63] -= 1; // s = n - 1, high
        assert!(!is_low_s_p256(&signature));
        normalise_p256_s(&mut signature).unwrap();
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(signature[32..], one, "n - (n - 1) = 1");
        assert!(is_low_s_p256(&signature));
        let mut half = [0u8; 64];
        half[32..].copy_from_slice(&P256_HALF_N);
        assert!(is_low_s_p256(&half));
        half[63] += 1;
        assert!(!is_low_s_p256(&half));
    }

    #[test]
    fn ed25519_s_must_be_below_the_order() {
        let mut signature = [0u8; 64];
        assert!(is_canonical_ed25519(&signature));
        signature[32..].copy_from_slice(&ED25519_L);
        assert!(!is_canonical_ed25519(&signature));
        signature[32] -= 1;
        assert!(is_canonical_ed25519(&signature));
        signature[63] = 0xff;
        assert!(!is_canonical_ed25519(&signature));
    }
}
