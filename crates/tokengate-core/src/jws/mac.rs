//! HMAC-SHA256 with a prepared key, from the crypto backend chosen by feature: `aws_lc_rs`
//! (the default) or `rust_crypto`. A build with neither does not compile. A build with both
//! (what `--all-features` makes) uses aws-lc-rs throughout, chosen here at compile time and
//! installed as jsonwebtoken's provider when the gate is built, so it never panics at run time.

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
compile_error!(
    "tokengate-core: enable a crypto backend: feature `aws_lc_rs` (default) or `rust_crypto`"
);

/// An HMAC-SHA256 key, prepared once.
#[derive(Clone)]
pub(crate) struct MacKey {
    #[cfg(feature = "aws_lc_rs")]
    key: aws_lc_rs::hmac::Key,
    #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
    key: hmac::Hmac<sha2::Sha256>,
}

impl MacKey {
    #[cfg(feature = "aws_lc_rs")]
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self {
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret),
        }
    }

    #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
    pub(crate) fn new(secret: &[u8]) -> Self {
        use hmac::Mac as _;
        Self {
            // HMAC takes keys of any length; this cannot fail.
            key: hmac::Hmac::new_from_slice(secret).unwrap_or_else(|_| unreachable!()),
        }
    }

    /// The tag of the concatenated `parts`.
    pub(crate) fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut tag = [0u8; 32];
        #[cfg(feature = "aws_lc_rs")]
        {
            let mut context = aws_lc_rs::hmac::Context::with_key(&self.key);
            for part in parts {
                context.update(part);
            }
            tag.copy_from_slice(context.sign().as_ref());
        }
        #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
        {
            use hmac::Mac as _;
            let mut mac = self.key.clone();
            for part in parts {
                mac.update(part);
            }
            tag.copy_from_slice(&mac.finalize().into_bytes());
        }
        tag
    }

    /// Whether `tag` is the tag of the concatenated `parts`, compared in constant time.
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        #[cfg(feature = "aws_lc_rs")]
        {
            let expected = self.sign(parts);
            aws_lc_rs::constant_time::verify_slices_are_equal(&expected, tag).is_ok()
        }
        #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
        {
            use hmac::Mac as _;
            let mut mac = self.key.clone();
            for part in parts {
                mac.update(part);
            }
            mac.verify_slice(tag).is_ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MacKey;

    #[test]
    fn rfc_4231_case_2() {
        let key = MacKey::new(b"Jefe");
        let tag = key.sign(&[b"what do ya want ", b"for nothing?"]);
        let hex = tag.iter().fold(String::new(), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        });
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(key.verify(&[b"what do ya want for nothing?"], &tag));
        assert!(!key.verify(&[b"what do ya want for nothing!"], &tag));
        assert!(!key.verify(&[b"what do ya want for nothing?"], &tag[..31]));
    }
}
