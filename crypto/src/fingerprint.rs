//! The election fingerprint every proof binds (SPEC.md §3.1).
//!
//! * Election fingerprint (ballots, decryption, acknowledgements):
//!   `SHA-256("psephos/fingerprint/v1" ‖ manifest_hash ‖ PK)`.
//! * Ceremony fingerprint (key-ceremony proofs, made before `PK` exists):
//!   `SHA-256("psephos/fingerprint/ceremony/v1" ‖ manifest_hash)`.
//!
//! `manifest_hash` is the 32-byte RFC 6962 leaf hash of the election's
//! manifest entry on the board (SPEC.md §7.1), `PK` the 32-byte encoding of
//! the joint public key. Both fields are fixed length, so the concatenation is
//! unambiguous.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::encoding::NonIdentityPoint;

/// A 32-byte election (or ceremony) fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint(#[serde(with = "crate::encoding::hex32")] [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a running election: manifest entry hash and joint key.
    pub fn election(manifest_hash: &[u8; 32], pk: &NonIdentityPoint) -> Self {
        let mut h = Sha256::new();
        h.update(b"psephos/fingerprint/v1");
        h.update(manifest_hash);
        h.update(pk.as_bytes());
        Fingerprint(h.finalize().into())
    }

    /// The fingerprint of a key ceremony, before the joint key exists.
    pub fn ceremony(manifest_hash: &[u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(b"psephos/fingerprint/ceremony/v1");
        h.update(manifest_hash);
        Fingerprint(h.finalize().into())
    }

    /// Wrap 32 bytes (e.g. read back from a record).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Fingerprint(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({})", hex::encode(self.0))
    }
}
