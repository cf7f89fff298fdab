//! The voter's credential: an Ed25519 key made by the credential authority
//! (SPEC.md §12). Its public key is the ballot's `author` and is bound into
//! every ballot proof (SPEC.md §6.3).
//!
//! Accepted text: the credential code the credential authority prints,
//! `psephos-cred-1:XXXXX-…` (SPEC.md §12.2, checked by its 40-bit checksum,
//! read by [`psephos_crypto::credential::decode_credential`]); and, for
//! tests and scripts, the bare 32-byte Ed25519 seed as 64 hex digits.

use ed25519_dalek::SigningKey;
use psephos_crypto::credential::decode_credential;
use zeroize::Zeroizing;

use crate::error::{Result, VoterError};

/// A voter's signing credential. Its secret never leaves the device.
pub struct Credential {
    key: SigningKey,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({})", self.public_hex())
    }
}

impl Credential {
    /// Parse what the voter typed, pasted or loaded from a file.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Err(VoterError::input("Enter your voting credential first."));
        }
        let compact: Zeroizing<String> =
            Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
        if compact.len() != 64 || !compact.bytes().all(|b| b.is_ascii_hexdigit()) {
            return decode_credential(text)
                .map(Credential::from_key)
                .map_err(|_| {
                    VoterError::input(
                        "This is not a valid voting credential: check that you copied all of it, \
                     starting with “psephos-cred-1:”. A mistyped character is caught here.",
                    )
                });
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(compact.to_ascii_lowercase(), seed.as_mut())
            .map_err(|_| VoterError::input("This is not a voting credential."))?;
        Ok(Credential {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Wrap a signing key.
    pub fn from_key(key: SigningKey) -> Self {
        Credential { key }
    }

    /// The 32-byte public key: the ballot's author.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The public key in hex, as the credential list shows it.
    pub fn public_hex(&self) -> String {
        hex::encode(self.public_key())
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hex_seed_with_spaces_and_capitals_is_a_credential() {
        let seed = "00112233445566778899AABBCCDDEEFF 00112233445566778899aabbccddeeff\n";
        let c = Credential::parse(seed).unwrap();
        let key = SigningKey::from_bytes(&[
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
            0xcc, 0xdd, 0xee, 0xff,
        ]);
        assert_eq!(c.public_key(), key.verifying_key().to_bytes());
    }

    #[test]
    fn the_credential_authoritys_code_is_accepted_and_a_typo_is_caught() {
        let key = SigningKey::from_bytes(&[42; 32]);
        let code = psephos_crypto::credential::encode_credential(&key);
        let c = Credential::parse(&code).unwrap();
        assert_eq!(c.public_key(), key.verifying_key().to_bytes());
        let mut typo = code.to_string();
        let last = typo.pop().unwrap();
        typo.push(if last == '0' { '1' } else { '0' });
        assert!(Credential::parse(&typo).is_err());
    }

    #[test]
    fn wrong_credential_text_gets_a_sentence() {
        for bad in ["", "  ", "abc", &"g".repeat(64)] {
            let e = Credential::parse(bad).unwrap_err().to_string();
            assert!(e.ends_with('.'), "{e}");
        }
    }
}
