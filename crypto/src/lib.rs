//! # psephos-crypto
//!
//! The one cryptographic core every Psephos program shares: the voter's
//! browser (through WASM), the bulletin board, the trustee tool and the
//! standalone verifier. It implements SPEC.md §2–§7:
//!
//! | module | SPEC.md |
//! |---|---|
//! | [`encoding`] — points, scalars, hex strings | §2 |
//! | [`transcript`], [`fingerprint`] — strong Fiat–Shamir | §3 |
//! | [`elgamal`], [`dlog`] — exponential ElGamal, bounded discrete log | §4 |
//! | [`proofs`] — Schnorr, DLEQ, disjunctive, range link, Bulletproofs, batch | §5 |
//! | [`ballot`] — contests, ballot encryption and verification | §6 |
//! | [`share_encryption`] — key-ceremony shares and complaints | §8.3 |
//! | [`threshold`] — Feldman polynomials, shares, partial decryption | §8 |
//! | [`log`] — RFC 6962 Merkle tree, checkpoints | §7 |
//! | [`record`] — signed posts, log entries, the hash chain | §9 |
//! | [`election`] — the election state machine every role replays | §8.5, §10.3–§10.6, §11 |
//! | [`credential`] — the printable voter credential code | §12.2 |
//! | [`wire`] — the board API's JSON documents | §10.1 |
//! | [`witness`] — the manifest's witnesses and cosignature quorums | §14.1 |
//!
//! Parsing is the only way to obtain a typed value from bytes: a [`Point`]
//! or [`Scalar`] that exists is canonical.

pub mod ballot;
pub mod credential;
pub mod dlog;
pub mod election;
pub mod elgamal;
pub mod encoding;
pub mod error;
pub mod fingerprint;
pub mod log;
pub mod proofs;
pub mod record;
pub mod share_encryption;
pub mod threshold;
pub mod transcript;
pub mod wire;
pub mod witness;

pub use encoding::{Point, Scalar};
pub use error::{Error, Result};
pub use fingerprint::Fingerprint;
