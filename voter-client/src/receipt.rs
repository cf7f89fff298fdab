//! The receipt and its checks (DESIGN.md §1 "recorded as cast",
//! SPEC.md §13.4–§13.5).
//!
//! A receipt names the entry (index, leaf hash), the tracking code, a
//! checkpoint signed by the board and the inclusion proof of the entry in
//! that checkpoint's tree. It is checked:
//!
//! 1. when it arrives, against what the client sent ([`Receipt::accept`]):
//!    the tracking code is the one shown to the voter, the checkpoint is
//!    signed by the board for this election's log, the proof leads from the
//!    leaf to the checkpoint's root (SPEC.md §7.2), and the entry line at
//!    that index holds exactly the body text sent;
//! 2. later, against the board and mirrors ([`check_consistency`]): their
//!    latest checkpoint, signed by the same board key, extends the
//!    receipt's (SPEC.md §7.3). A same-size checkpoint with another root is
//!    proof that the board equivocated.

use psephos_crypto::ballot::{short_tracking_code, tracking_code};
use psephos_crypto::log::{
    leaf_hash, verify_consistency, verify_inclusion, Checkpoint, Hash, MerkleError,
};
use psephos_crypto::record::{Entry, Manifest};
use psephos_crypto::witness::Witness;
use serde::{Deserialize, Serialize};

use crate::api::{board_hash, board_hashes, BoardInfo, BoardReceipt, ConsistencyProof};
use crate::election::Board;
use crate::error::{Result, VoterError};

/// The receipt file's format tag.
pub const RECEIPT_FORMAT: &str = "psephos-receipt/v1";

/// A receipt as the voter saves it (SPEC.md §13.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// `psephos-receipt/v1`.
    pub format: String,
    /// The board's base URL, when known (the page uses its own origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_url: Option<String>,
    /// The board's checkpoint key (vkey) at casting time.
    pub board_key: String,
    /// The election id.
    pub election: String,
    /// The entry's index.
    pub index: u64,
    /// The entry line's leaf hash, hex.
    pub leaf_hash: String,
    /// The tracking code, hex.
    pub tracking_code: String,
    /// The short tracking code.
    pub short_code: String,
    /// The checkpoint (signed note) including the entry.
    pub checkpoint: String,
    /// Its tree size.
    pub size: u64,
    /// The inclusion proof, hex.
    pub inclusion_proof: Vec<String>,
    /// The witnesses the election's manifest names (SPEC.md §14.1), so the
    /// receipt can be re-checked against each with nothing else at hand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<Witness>,
    /// How many of them must cosign (the manifest's `witness_quorum`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub witness_quorum: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Receipt {
    /// Check the board's answer to a cast ballot and turn it into the
    /// receipt the voter keeps. `body_text` is what the client sent;
    /// `entry_line` is the line at `receipt.index` fetched from the board.
    pub fn accept(
        board: &Board,
        board_key: &str,
        election: &str,
        body_text: &str,
        answer: &BoardReceipt,
        entry_line: &str,
    ) -> Result<Receipt> {
        let ours = tracking_code(body_text.as_bytes());
        if board_hash("tracking_code", &answer.tracking_code)? != ours {
            return Err(VoterError::board(
                "the receipt's tracking code is not the one of the ballot sent",
            ));
        }
        let receipt = Receipt {
            format: RECEIPT_FORMAT.into(),
            board_url: None,
            board_key: board_key.into(),
            election: election.into(),
            index: answer.index,
            leaf_hash: answer.leaf_hash.clone(),
            tracking_code: hex::encode(ours),
            short_code: short_tracking_code(&ours),
            checkpoint: answer.checkpoint.clone(),
            size: answer.size,
            inclusion_proof: answer.inclusion_proof.clone(),
            witnesses: Vec::new(),
            witness_quorum: 0,
        };
        receipt.verify(board)?;
        let entry = Entry::from_line(entry_line)?;
        if entry.index != receipt.index || leaf_hash(entry_line.as_bytes()) != receipt.leaf()? {
            return Err(VoterError::board(
                "the entry at the receipt's index is another entry",
            ));
        }
        if entry.body.get() != body_text {
            return Err(VoterError::board(
                "the entry at the receipt's index does not hold the ballot sent",
            ));
        }
        Ok(receipt)
    }

    /// Name where the receipt can be re-checked (SPEC.md §13.4): the
    /// board's base URL the ballot was cast at, and the witnesses and
    /// quorum of the election's manifest (as the client read it from the
    /// log).
    pub fn naming(mut self, board_url: &str, manifest: &Manifest) -> Receipt {
        self.board_url = Some(board_url.trim_end_matches('/').to_owned());
        self.witnesses = manifest.witnesses.clone();
        self.witness_quorum = manifest.witness_quorum;
        self
    }

    /// The leaf hash.
    pub fn leaf(&self) -> Result<Hash> {
        board_hash("leaf_hash", &self.leaf_hash)
    }

    /// Check the receipt on its own (SPEC.md §13.4): the format, the
    /// board's signature on the checkpoint for this election's log, the
    /// sizes, and the inclusion proof. Returns the checkpoint.
    pub fn verify(&self, board: &Board) -> Result<Checkpoint> {
        if self.format != RECEIPT_FORMAT {
            return Err(VoterError::input(format!(
                "This is not a Psephos receipt (format {:?}).",
                self.format
            )));
        }
        psephos_crypto::election::check_election_id(&self.election).map_err(|v| {
            VoterError::input(format!("The receipt's election id cannot be used: {v}."))
        })?;
        let code = board_hash("tracking_code", &self.tracking_code)?;
        if short_tracking_code(&code) != self.short_code {
            return Err(VoterError::input(
                "The receipt's short code does not match its tracking code.",
            ));
        }
        let checkpoint = board.open_checkpoint(&self.election, &self.checkpoint)?;
        if checkpoint.size != self.size {
            return Err(VoterError::board(format!(
                "the receipt says {} entries, its checkpoint {}",
                self.size, checkpoint.size
            )));
        }
        verify_inclusion(
            &self.leaf()?,
            self.index,
            self.size,
            &board_hashes("inclusion proof", &self.inclusion_proof)?,
            &checkpoint.root,
        )?;
        Ok(checkpoint)
    }

    /// The board identity the receipt was made under.
    pub fn board(&self) -> Result<Board> {
        let verifier = psephos_crypto::log::NoteVerifier::from_vkey(&self.board_key)
            .map_err(|e| VoterError::input(format!("The receipt's board key is damaged: {e}.")))?;
        Board::from_info(&BoardInfo {
            origin: verifier.name().to_string(),
            key: self.board_key.clone(),
            public_key: hex::encode(verifier.verifying_key().to_bytes()),
            mirror: None,
        })
    }

    /// Read a receipt file.
    pub fn from_json(text: &str) -> Result<Receipt> {
        serde_json::from_str(text)
            .map_err(|e| VoterError::input(format!("This is not a receipt file: {e}.")))
    }

    /// The receipt as a file (pretty JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// How a server's latest checkpoint relates to the receipt's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Consistency {
    /// Its tree extends the receipt's: the ballot is still in it.
    Consistent {
        /// Its size.
        size: u64,
        /// Names on its cosignature lines (not verified: their keys are not known here).
        cosigners: Vec<String>,
    },
    /// It has not caught up with the receipt yet.
    Behind {
        /// Its size.
        size: u64,
    },
}

/// Check a server's latest checkpoint `note` (signed by the receipt's
/// board) against the receipt's: `proof` must show its tree extends the
/// receipt's (SPEC.md §7.3). `proof` is only needed when the server is ahead.
pub fn check_consistency(
    receipt: &Receipt,
    board: &Board,
    note: &str,
    proof: Option<&ConsistencyProof>,
) -> Result<Consistency> {
    let ours = board.open_checkpoint(&receipt.election, &receipt.checkpoint)?;
    let theirs = board.open_checkpoint(&receipt.election, note)?;
    let (_, others) = psephos_crypto::log::open_checkpoint(note, &board.verifier)?;
    let cosigners = others.into_iter().map(|l| l.name).collect();
    if theirs.size < ours.size {
        return Ok(Consistency::Behind { size: theirs.size });
    }
    let hashes = match proof {
        Some(p) if p.from == ours.size && p.to == theirs.size => {
            board_hashes("consistency proof", &p.proof)?
        }
        Some(p) => {
            return Err(VoterError::board(format!(
                "asked for a consistency proof from {} to {}, got {} to {}",
                ours.size, theirs.size, p.from, p.to
            )))
        }
        None if theirs.size == ours.size => Vec::new(),
        None => return Err(VoterError::board("no consistency proof was given")),
    };
    match verify_consistency(ours.size, theirs.size, &ours.root, &theirs.root, &hashes) {
        Ok(()) => Ok(Consistency::Consistent {
            size: theirs.size,
            cosigners,
        }),
        Err(MerkleError::DifferentRootsForSameSize { size }) => Err(VoterError::board(format!(
            "EQUIVOCATION: two checkpoints signed by the board for {size} entries have different roots; keep this receipt and the other checkpoint as evidence"
        ))),
        Err(e) => Err(VoterError::board(format!(
            "the log no longer extends the receipt's checkpoint ({e}); keep this receipt as evidence"
        ))),
    }
}
