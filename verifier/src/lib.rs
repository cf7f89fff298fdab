//! # psephos-verifier
//!
//! The standalone verifier of a Psephos election record (SPEC.md §11,
//! DESIGN.md §7): it replays one election's log line by line and checks
//!
//! | check | SPEC.md | what |
//! |---|---|---|
//! | V1 | §11.1 | hash chain and RFC 6962 Merkle tree over every line |
//! | V2 | §11.2 | every entry's author signature |
//! | V3 | §11.3 | the manifest (entry 0, by the board key) and the election id of every entry |
//! | V4 | §11.4 | the key ceremony: registrations, commit-then-reveal, coefficient proofs, shares, complaints, qualified set, joint key, verification keys, acknowledgements |
//! | V5 | §11.5 | the credential list |
//! | V6 | §11.6 | every ballot: credential, proofs, copies, voting window; the window's own entries |
//! | V7 | §11.7 | the counted set: the last valid ballot per credential, with its weight |
//! | V8 | §11.8 | the published encrypted tally against the recomputed one |
//! | V9 | §11.9 | every partial decryption against the trustee's verification key |
//! | V10 | §11.10 | the combination of the partial decryptions and the published counts |
//! | V11 | §11.11 | the board's signed checkpoint, mirrors' checkpoints, cosignatures |
//!
//! It depends on `psephos-crypto` and on nothing of the board, so an
//! observer builds it alone. It streams: memory grows with the number of
//! credentials (and 32 bytes per ballot ciphertext for copy detection), not
//! with the ballots kept. Ballot proofs are verified in batches on all
//! cores.
//!
//! ```no_run
//! use psephos_verifier::{source, Verifier, VerifyOptions};
//! # fn main() -> Result<(), psephos_verifier::VerifierError> {
//! let mut verifier = Verifier::new(VerifyOptions::default());
//! source::for_each_line_of_file("record.jsonl".as_ref(), |line| verifier.push_line(line))?;
//! let report = verifier.finish();
//! println!("{}", report.render_text());
//! # Ok(()) }
//! ```

pub mod anchors;
mod ballots;
pub mod engine;
pub mod error;
pub mod report;
pub mod source;
pub mod testgen;

use psephos_crypto::log::{CosignatureVerifier, NoteVerifier};

pub use anchors::Mirror;
pub use engine::Verifier;
pub use error::VerifierError;
pub use report::{CheckId, Report, Status};

/// Ballots per chunk handed to the parallel verifier.
pub const DEFAULT_CHUNK: usize = 1024;

/// How to verify, and the trust anchors to verify against.
pub struct VerifyOptions {
    /// What is verified, for the report (a path or a URL).
    pub source: String,
    /// The election the record must be (`--election`).
    pub election: Option<String>,
    /// The board's checkpoint key; the manifest must be signed by its
    /// Ed25519 key. Without it, V11 takes the manifest's author as the
    /// board key and says so.
    pub board_key: Option<NoteVerifier>,
    /// The board's origin (the checkpoint origin is `<origin>/<election>`).
    pub board_origin: Option<String>,
    /// The board's signed checkpoint note.
    pub checkpoint: Option<String>,
    /// Mirror keys whose cosignatures are verified.
    pub cosigners: Vec<CosignatureVerifier>,
    /// How many of them must have cosigned each checkpoint.
    pub min_cosignatures: usize,
    /// Mirrors whose checkpoints must agree with the record.
    pub mirrors: Vec<Box<dyn Mirror>>,
    /// Fail when the record has no result (a finished election).
    pub require_result: bool,
    /// Fail V11 unless the board's checkpoint covers the outcome and
    /// carries cosignatures of the manifest's witness quorum (§14.1).
    pub require_cosignatures: bool,
    /// Pass even though V11 was skipped (no signed checkpoint).
    pub allow_unsigned: bool,
    /// Ballots per chunk of parallel verification.
    pub chunk_size: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            source: String::from("(stream)"),
            election: None,
            board_key: None,
            board_origin: None,
            checkpoint: None,
            cosigners: Vec::new(),
            min_cosignatures: 0,
            mirrors: Vec::new(),
            require_result: false,
            require_cosignatures: false,
            allow_unsigned: false,
            chunk_size: DEFAULT_CHUNK,
        }
    }
}

impl std::fmt::Debug for VerifyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("source", &self.source)
            .field("election", &self.election)
            .field(
                "board_key",
                &self.board_key.as_ref().map(NoteVerifier::to_vkey),
            )
            .field("board_origin", &self.board_origin)
            .field("checkpoint", &self.checkpoint.is_some())
            .field("cosigners", &self.cosigners.len())
            .field(
                "mirrors",
                &self.mirrors.iter().map(|m| m.name()).collect::<Vec<_>>(),
            )
            .field("require_result", &self.require_result)
            .field("require_cosignatures", &self.require_cosignatures)
            .field("allow_unsigned", &self.allow_unsigned)
            .finish()
    }
}

/// Verify a record held in memory (tests, the demo): every line, then V11.
pub fn verify_lines<'a, I>(lines: I, opts: VerifyOptions) -> Report
where
    I: IntoIterator<Item = &'a str>,
{
    let mut v = Verifier::new(opts);
    for line in lines {
        v.push_line(line);
    }
    v.finish()
}

/// Parse a board key given as C2SP vkey text (`name+keyid+base64`).
pub fn parse_board_key(text: &str) -> Result<NoteVerifier, VerifierError> {
    NoteVerifier::from_vkey(text.trim()).map_err(|e| VerifierError::BoardKey(e.to_string()))
}
