//! The bodies of Psephos's fuzz targets (FUZZING.md), one function per
//! target, shared by the libFuzzer binaries in `fuzz_targets/` and the
//! stable regression test `tests/corpus.rs`.
//!
//! Every function takes the raw fuzz input. None may panic on any input;
//! each also asserts properties of what it parses (round trips, canonical
//! forms, agreement between two code paths that must agree), with
//! `assert!`, so a violation is a crash like any other.
//!
//! Keys are fixed (derived from a label with SHA-256), so that the seed
//! inputs `examples/make_seeds.rs` writes keep verifying in every run:
//! a body whose `author` is [`fixed_key`]`("author")` gets a valid
//! signature from the target itself.

#![forbid(unsafe_code)]

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use psephos_crypto::record::{SignatureHex, SIGNATURE_DOMAIN};
use sha2::{Digest, Sha256};

pub mod http;
pub mod log;
pub mod record;
pub mod seeds;
pub mod voter;

pub use http::{board_http, HttpInput};
pub use log::{checkpoint, evidence, signed_note, vkey};
pub use record::{ballot_body, body, entry_line};
pub use voter::{audit_code, credential_code, receipt};

/// A target: its name (the directory under `corpus/` and `regressions/`)
/// and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("entry_line", entry_line),
    ("body", body),
    ("ballot_body", ballot_body),
    ("checkpoint", checkpoint),
    ("signed_note", signed_note),
    ("vkey", vkey),
    ("credential_code", credential_code),
    ("audit_code", audit_code),
    ("receipt", receipt),
    ("evidence", evidence),
    ("board_http", board_http),
];

/// A signing key derived from `label`: the same in every run.
pub fn fixed_key(label: &str) -> SigningKey {
    let seed: [u8; 32] = Sha256::new()
        .chain_update(b"psephos-fuzz/key\n")
        .chain_update(label.as_bytes())
        .finalize()
        .into();
    SigningKey::from_bytes(&seed)
}

/// The key whose bodies the record targets sign (SPEC.md §9.1).
pub fn author_key() -> SigningKey {
    fixed_key("author")
}

/// A post signature by `key` over `body_text` (SPEC.md §9.1).
pub fn sign_body(key: &SigningKey, body_text: &str) -> SignatureHex {
    let mut msg = Vec::with_capacity(SIGNATURE_DOMAIN.len() + body_text.len());
    msg.extend_from_slice(SIGNATURE_DOMAIN);
    msg.extend_from_slice(body_text.as_bytes());
    SignatureHex(key.sign(&msg).to_bytes())
}

/// The public half of [`fixed_key`].
pub fn fixed_public(label: &str) -> VerifyingKey {
    fixed_key(label).verifying_key()
}

/// The input as text, or `None` when it is not UTF-8 (every parser here
/// takes `&str`: what is not text never reaches them).
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
