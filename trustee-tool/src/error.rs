//! The library's one error type. Each variant says who is at fault: the
//! person at the keyboard (passphrase, arguments, order of steps), the key
//! file on disk, the network, or the board. No variant carries secret
//! material.

use std::path::PathBuf;

use psephos_crypto::election::Violation;
use psephos_crypto::record::RecordError;
use thiserror::Error;

/// Why a trustee-tool operation failed.
#[derive(Debug, Error)]
pub enum TrusteeError {
    /// The passphrase does not open the key file.
    #[error("wrong passphrase for key file {path}")]
    WrongPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// The key file's bytes were altered or truncated: its authentication
    /// failed, so none of it is trusted.
    #[error(
        "key file {path} is damaged or has been tampered with ({why}); restore it from a backup"
    )]
    TamperedKeyFile {
        /// The key file.
        path: PathBuf,
        /// What failed.
        why: String,
    },
    /// The key file opened but is not what this command needs (another
    /// kind, another format version), or would be overwritten.
    #[error("key file {path}: {why}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Reading or writing a local file failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done ("read", "write", …).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A local input file (weights, credential codes) is malformed.
    #[error("{path}: {why}")]
    InputFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line number.
        why: String,
    },
    /// The board could not be reached or did not answer in time.
    #[error("cannot reach the board at {url}: {why}")]
    Network {
        /// The URL requested.
        url: String,
        /// The transport's reason.
        why: String,
    },
    /// The board answered with an API error (SPEC.md §10.1).
    #[error("the board refused the request (HTTP {status}, {code}): {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The error code the board gave.
        code: String,
        /// Its sentence.
        message: String,
    },
    /// The board's answer or record is not what the protocol allows: a
    /// broken chain, a bad signature, a joint key that does not follow from
    /// the record. The board (or something between it and us) is at fault.
    #[error("the board's record is not trustworthy: {0}")]
    BoardMisbehaves(String),
    /// An entry the board signed itself (`manifest`, `dkg_commits_closed`,
    /// `joint_key`, `voting_opened`, `voting_closed`, `result`) breaks a
    /// rule of the election state machine (SPEC.md §8.5, §10.3–§10.6,
    /// §11): the tool stops rather than act on a lying board. Other posts
    /// that break a rule only do not count (see `ElectionView::warnings`).
    #[error(
        "the board's record is not trustworthy: its {kind} entry {index} breaks rule {rule:?}: {violation}",
        rule = .violation.rule
    )]
    BoardEntryBroken {
        /// Entry index.
        index: u64,
        /// The entry's `type`.
        kind: &'static str,
        /// The rule broken, and how.
        violation: Violation,
    },
    /// The step cannot be taken: wrong order, not a trustee of this
    /// election, the ceremony already finished without this trustee, …
    #[error("{0}")]
    Protocol(String),
    /// `--wait` ran out of time.
    #[error("gave up after {seconds} s, still waiting for {waiting}")]
    Timeout {
        /// How long it waited.
        seconds: u64,
        /// What it was waiting for.
        waiting: String,
    },
    /// SPEC.md §14.2: the board signed two histories of this election that
    /// no append-only log can both have (a fork or a rewritten log). The
    /// proof ([`psephos_crypto::log::evidence::Evidence`]) is written to
    /// `evidence_file` and was offered to the manifest's witnesses;
    /// nothing was posted.
    #[error(
        "the board equivocates: {message}. Nothing was posted. Evidence written to {evidence_file}          ({posted}); send it to the election's observers",
        evidence_file = .evidence_file.display()
    )]
    Equivocation {
        /// Where the evidence JSON was written.
        evidence_file: PathBuf,
        /// What the two checkpoints show.
        message: String,
        /// Which witnesses accepted it, for the message.
        posted: String,
    },
    /// SPEC.md §14.2: the board serves a log (or a latest checkpoint)
    /// shorter than a checkpoint it signed earlier and this trustee keeps:
    /// a rollback, or a fork whose history is shorter. Nothing was posted.
    #[error(
        "the board rolled back: this key file holds its signed checkpoint of {held} entries, but          it now serves {served} entries (latest checkpoint {served_checkpoint}). Nothing was posted;          report this to the election's observers"
    )]
    Rollback {
        /// Size of the checkpoint the key file holds.
        held: u64,
        /// Entries served.
        served: u64,
        /// Size of the board's latest checkpoint.
        served_checkpoint: u64,
    },
    /// SPEC.md §14.2: this trustee already decrypted another tally of this
    /// election; decrypting a second one would help decrypt a single ballot.
    #[error(
        "this key file already decrypted a different tally of this election (SHA-256 {held}); the          board now asks for {served}. Refusing: two tallies of one election mean the board forked"
    )]
    TallyChanged {
        /// Hex hash held in the key file.
        held: String,
        /// Hex hash of the tally now served.
        served: String,
    },
    /// SPEC.md §10.5 rule TooFewCounted: the tally counts fewer credentials
    /// than the manifest's `min_counted`; the board would refuse every
    /// partial decryption of it, and this trustee does not decrypt it.
    #[error(
        "the tally counts {counted} credentials, fewer than the manifest's min_counted = {min}: it is never decrypted (SPEC.md §10.5)"
    )]
    TooFewCounted {
        /// Credentials counted.
        counted: u64,
        /// The manifest's minimum.
        min: u64,
    },
    /// A cryptographic value or proof was refused.
    #[error(transparent)]
    Crypto(#[from] psephos_crypto::Error),
    /// A post or entry was refused.
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl TrusteeError {
    /// Whether the board was caught lying about its log (SPEC.md §14.2):
    /// the CLI's exit status 4.
    pub fn is_board_caught(&self) -> bool {
        matches!(
            self,
            TrusteeError::Equivocation { .. }
                | TrusteeError::Rollback { .. }
                | TrusteeError::TallyChanged { .. }
        )
    }
}

/// Shorthand for this crate's results.
pub type Result<T, E = TrusteeError> = std::result::Result<T, E>;
