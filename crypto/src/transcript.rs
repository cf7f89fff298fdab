//! Strong Fiat–Shamir transcripts (SPEC.md §3).
//!
//! Every proof's Merlin transcript is built in this order, and a proof whose
//! transcript skips a step cannot be made with this type:
//!
//! 1. `Transcript::new(b"psephos")`;
//! 2. `append_message(b"protocol", <protocol label and version>)`,
//!    e.g. `b"psephos/dleq/v1"`;
//! 3. `append_message(b"fingerprint", <32-byte election fingerprint>)`;
//! 4. the whole statement, each element under its SPEC label;
//! 5. the prover's commitments;
//! 6. `challenge_bytes(b"challenge", 64 bytes)`, reduced mod ℓ
//!    (`Scalar::from_bytes_mod_order_wide`).
//!
//! Points are appended as their 32-byte canonical encodings, scalars as 32
//! bytes little-endian, integers as 8 bytes little-endian, strings as their
//! UTF-8 bytes.

use curve25519_dalek::scalar::Scalar as DalekScalar;
use merlin::Transcript;

use crate::encoding::{Point, Scalar};
use crate::fingerprint::Fingerprint;

/// A Merlin transcript that has already bound the protocol label and the
/// election fingerprint.
pub struct ProofTranscript(Transcript);

impl std::fmt::Debug for ProofTranscript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProofTranscript")
    }
}

impl ProofTranscript {
    /// Steps 1–3: application label, protocol label, fingerprint.
    pub fn new(protocol: &'static [u8], fingerprint: &Fingerprint) -> Self {
        let mut t = Transcript::new(b"psephos");
        t.append_message(b"protocol", protocol);
        t.append_message(b"fingerprint", fingerprint.as_bytes());
        ProofTranscript(t)
    }

    /// Append a point's canonical encoding.
    pub fn point(&mut self, label: &'static [u8], p: &Point) {
        self.0.append_message(label, p.as_bytes());
    }

    /// Append raw bytes (hashes, credential keys).
    pub fn bytes(&mut self, label: &'static [u8], b: &[u8]) {
        self.0.append_message(label, b);
    }

    /// Append an integer as 8 bytes little-endian.
    pub fn u64(&mut self, label: &'static [u8], v: u64) {
        self.0.append_message(label, &v.to_le_bytes());
    }

    /// Append a scalar's canonical encoding.
    pub fn scalar(&mut self, label: &'static [u8], s: &Scalar) {
        self.0.append_message(label, &s.to_bytes());
    }

    /// Step 6: the challenge scalar.
    pub fn challenge(&mut self) -> DalekScalar {
        let mut wide = [0u8; 64];
        self.0.challenge_bytes(b"challenge", &mut wide);
        DalekScalar::from_bytes_mod_order_wide(&wide)
    }

    /// The underlying Merlin transcript, for the Bulletproofs crate which
    /// continues it with its own domain separator (SPEC.md §5.5).
    pub fn merlin(&mut self) -> &mut Transcript {
        &mut self.0
    }
}
