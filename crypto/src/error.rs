//! The crate's error type. Every variant says what was wrong with the input;
//! none of them carries secret material.

use thiserror::Error;

/// Why a value was refused or a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// Hex text that is not exactly the expected length or alphabet.
    #[error("malformed encoding of {what}: {why}")]
    Encoding { what: &'static str, why: String },
    /// A 32-byte string that is not the canonical encoding of a Ristretto point.
    #[error("{what} is not a canonical Ristretto255 point encoding")]
    NonCanonicalPoint { what: &'static str },
    /// The identity element where it is not allowed (keys, generators).
    #[error("{what} must not be the identity element")]
    IdentityPoint { what: &'static str },
    /// A 32-byte string that is not a reduced scalar (≥ ℓ).
    #[error("{what} is not a canonical scalar (must be < the group order)")]
    NonCanonicalScalar { what: &'static str },
    /// A proof whose equations do not hold.
    #[error("{proof} proof does not verify")]
    ProofInvalid { proof: &'static str },
    /// A proof with the wrong number of parts for its statement.
    #[error("{proof} proof has the wrong shape: {why}")]
    ProofShape { proof: &'static str, why: String },
    /// A value outside the range a prover was asked to prove.
    #[error("value {value} is outside the range [{min}, {max}]")]
    OutOfRange { value: u64, min: u64, max: u64 },
    /// A ballot or contest that does not match its manifest.
    #[error("invalid ballot: {0}")]
    Ballot(String),
    /// A contest definition that cannot be voted on.
    #[error("invalid contest definition: {0}")]
    Contest(String),
    /// A discrete logarithm beyond the search bound.
    #[error("decrypted value is not in [0, {bound}]")]
    DlogNotFound { bound: u64 },
    /// Threshold-scheme input that does not fit (duplicate index, too few shares...).
    #[error("threshold: {0}")]
    Threshold(String),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
