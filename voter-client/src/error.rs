//! The library's one error type. Every message is a sentence a voter can
//! read: the page shows it as it is, the command line prints it.

use psephos_crypto::election::Violation;
use psephos_crypto::log::{CheckpointError, MerkleError};
use psephos_crypto::record::RecordError;
use thiserror::Error;

/// Why something the voter asked for did not happen, and whose fault it is.
#[derive(Debug, Error)]
pub enum VoterError {
    /// The voter's input (credential, choices, an audit code, a receipt
    /// file) cannot be used as it is.
    #[error("{0}")]
    Input(String),
    /// The choices break a contest's rules (caught before encryption).
    #[error("{0}")]
    Choice(#[from] crate::choice::ChoiceError),
    /// The board (or a mirror) answered with something that does not check
    /// out: a bad signature, a proof that fails, a record that disagrees
    /// with itself. This is evidence, not a glitch.
    #[error("the board's answer does not check out: {0}")]
    Board(String),
    /// An entry of the board's log breaks a rule of the election
    /// (SPEC.md §8.5, §10.3, §10.7, §11.3–§11.4), as the one state machine
    /// of `psephos_crypto::election` judges it: the entry counts for no
    /// role, so the client refuses the election (SPEC.md §13.1). Like
    /// [`VoterError::Board`], this is evidence against the board.
    #[error(
        "the board's log breaks the election's rules: entry {index} ({kind}) breaks rule {rule:?}: {violation}",
        rule = .violation.rule
    )]
    Rule {
        /// The entry's index.
        index: u64,
        /// Its type (`joint_key`, `manifest`, …).
        kind: &'static str,
        /// The rule it breaks (its SPEC.md section is `violation.rule.section()`) and how.
        violation: Violation,
    },
    /// The board refused a request (its JSON error, or an HTTP status).
    #[error("the board refused: {0}")]
    Refused(String),
    /// The board could not be reached or answered garbage.
    #[error("could not talk to the board: {0}")]
    Transport(String),
    /// A cryptographic check failed (SPEC.md §6).
    #[error("{0}")]
    Crypto(#[from] psephos_crypto::Error),
}

impl VoterError {
    pub(crate) fn board(why: impl std::fmt::Display) -> Self {
        VoterError::Board(why.to_string())
    }

    pub(crate) fn input(why: impl std::fmt::Display) -> Self {
        VoterError::Input(why.to_string())
    }
}

impl From<CheckpointError> for VoterError {
    fn from(e: CheckpointError) -> Self {
        VoterError::board(format!("checkpoint: {e}"))
    }
}

impl From<MerkleError> for VoterError {
    fn from(e: MerkleError) -> Self {
        VoterError::board(format!("Merkle proof: {e}"))
    }
}

impl From<RecordError> for VoterError {
    fn from(e: RecordError) -> Self {
        VoterError::board(format!("record entry: {e}"))
    }
}

/// Shorthand.
pub type Result<T, E = VoterError> = std::result::Result<T, E>;
