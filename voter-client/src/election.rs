//! What the client knows about an election before it encrypts anything,
//! and how it learns it without trusting the board's word (SPEC.md §13.1).
//!
//! The client reads the log from entry 0 up to the `joint_key` entry, checks
//! the hash chain (SPEC.md §9.2) and every signature, and checks that the
//! `joint_key` entry is included in the board's signed checkpoint
//! (SPEC.md §7.2, §7.4). Because each line carries the previous line's hash,
//! that one inclusion proof covers the manifest too. The election key `PK`
//! comes from that entry, never from the status JSON (which is only
//! compared), and the fingerprint `SHA-256("psephos/fingerprint/v1" ‖
//! manifest_hash ‖ PK)` (SPEC.md §3.1) is computed here.

use psephos_crypto::ballot::Contest;
use psephos_crypto::elgamal::PublicKey;
use psephos_crypto::log::{open_checkpoint, verify_inclusion, Checkpoint, Hash, NoteVerifier};
use psephos_crypto::record::{AuthorKey, ChainFollower, Entry, Manifest, Payload};
use psephos_crypto::Fingerprint;

use crate::api::{board_hash, board_hashes, BoardInfo, ElectionStatus, InclusionProof};
use crate::error::{Result, VoterError};

/// The board's identity as the client trusts it: origin and checkpoint key.
#[derive(Clone, Debug)]
pub struct Board {
    /// The origin (key name).
    pub origin: String,
    /// The checkpoint verifier.
    pub verifier: NoteVerifier,
    /// The same key as an entry author.
    pub author: AuthorKey,
}

impl Board {
    /// Check `/api/v1/board`: the vkey parses, names the origin, and is the
    /// same key as `public_key`.
    pub fn from_info(info: &BoardInfo) -> Result<Self> {
        let verifier = NoteVerifier::from_vkey(&info.key)?;
        if verifier.name() != info.origin {
            return Err(VoterError::board(format!(
                "the board key is named {:?}, not the board's origin {:?}",
                verifier.name(),
                info.origin
            )));
        }
        let author = AuthorKey::from_hex(&info.public_key).map_err(VoterError::board)?;
        if author.0 != verifier.verifying_key().to_bytes() {
            return Err(VoterError::board(
                "the board's public_key differs from its checkpoint key",
            ));
        }
        Ok(Board {
            origin: info.origin.clone(),
            verifier,
            author,
        })
    }

    /// The origin of an election's checkpoints: `<board origin>/<id>` (SPEC.md §7.4).
    pub fn log_origin(&self, election: &str) -> String {
        format!("{}/{}", self.origin, election)
    }

    /// Open a checkpoint of `election`'s log signed by this board.
    pub fn open_checkpoint(&self, election: &str, note: &str) -> Result<Checkpoint> {
        let (checkpoint, _) = open_checkpoint(note, &self.verifier)?;
        let expected = self.log_origin(election);
        if checkpoint.origin != expected {
            return Err(VoterError::board(format!(
                "the checkpoint is for log {:?}, not {expected:?}",
                checkpoint.origin
            )));
        }
        Ok(checkpoint)
    }
}

/// Reads log entries from 0 up to the `joint_key` entry (SPEC.md §13.1).
#[derive(Debug)]
pub struct SetupScan {
    election: String,
    board: Board,
    chain: ChainFollower,
    manifest: Option<(Manifest, Hash)>,
    joint_key: Option<(PublicKey, u64)>,
}

/// How many entries the client asks for at once while scanning.
pub const SCAN_PAGE: u64 = 32;

impl SetupScan {
    /// Start reading `election`'s log from entry 0.
    pub fn new(election: &str, board: Board) -> Self {
        SetupScan {
            election: election.to_string(),
            board,
            chain: ChainFollower::new(),
            manifest: None,
            joint_key: None,
        }
    }

    /// The index of the next entry wanted.
    pub fn next_index(&self) -> u64 {
        self.chain.next_index()
    }

    /// The manifest, once entry 0 has been read.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref().map(|(m, _)| m)
    }

    /// Whether the `joint_key` entry has been read.
    pub fn done(&self) -> bool {
        self.joint_key.is_some()
    }

    /// Take the next lines (JSON Lines, as `…/entries` returns them);
    /// returns whether the scan is done. Lines after the `joint_key` entry
    /// are ignored.
    pub fn push_lines(&mut self, jsonl: &str) -> Result<bool> {
        for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
            if self.done() {
                break;
            }
            self.push_line(line)?;
        }
        Ok(self.done())
    }

    fn push_line(&mut self, line: &str) -> Result<()> {
        let entry = Entry::from_line(line)?;
        let index = entry.index;
        let leaf = self.chain.accept(line, &entry)?;
        let body = entry.open()?;
        if body.election != self.election {
            return Err(VoterError::board(format!(
                "entry {index} belongs to election {:?}",
                body.election
            )));
        }
        match body.payload {
            Payload::Manifest(manifest) if index == 0 => {
                if body.author != self.board.author {
                    return Err(VoterError::board("the manifest is not signed by the board"));
                }
                for contest in &manifest.contests {
                    contest.validate()?;
                }
                self.manifest = Some((manifest, leaf));
            }
            _ if index == 0 => return Err(VoterError::board("entry 0 is not the manifest")),
            Payload::JointKey { public_key, .. } => {
                if body.author != self.board.author {
                    return Err(VoterError::board(
                        "the joint key entry is not signed by the board",
                    ));
                }
                self.joint_key = Some((public_key, index));
            }
            _ => {}
        }
        Ok(())
    }

    /// Finish: compare with the status, and check the `joint_key` entry is
    /// in the status's signed checkpoint with `proof`.
    pub fn finish(self, status: &ElectionStatus, proof: &InclusionProof) -> Result<Election> {
        let (Some((manifest, manifest_hash)), Some((pk, key_index))) =
            (self.manifest, self.joint_key)
        else {
            return Err(VoterError::board(
                "the election has no joint key yet: voting has not opened",
            ));
        };
        let checkpoint = self
            .board
            .open_checkpoint(&self.election, &status.checkpoint)?;
        if proof.index != key_index || proof.size != checkpoint.size {
            return Err(VoterError::board(format!(
                "asked for the inclusion of entry {key_index} in {} entries, got {} in {}",
                checkpoint.size, proof.index, proof.size
            )));
        }
        let head = self.chain.head();
        if board_hash("leaf hash", &proof.leaf_hash)? != head {
            return Err(VoterError::board("the proof is for another entry"));
        }
        verify_inclusion(
            &head,
            key_index,
            checkpoint.size,
            &board_hashes("inclusion proof", &proof.proof)?,
            &checkpoint.root,
        )?;
        if board_hash("manifest_hash", &status.manifest_hash)? != manifest_hash {
            return Err(VoterError::board("the status names another manifest"));
        }
        if let Some(text) = &status.public_key {
            if *text != pk.as_point().to_hex() {
                return Err(VoterError::board("the status names another election key"));
            }
        }
        let fingerprint = Fingerprint::election(&manifest_hash, &pk.to_non_identity());
        if let Some(text) = &status.fingerprint {
            if board_hash("fingerprint", text)? != *fingerprint.as_bytes() {
                return Err(VoterError::board("the status names another fingerprint"));
            }
        }
        let bundle_sha256 = match &status.bundle_sha256 {
            Some(h) => Some(board_hash("bundle_sha256", h)?),
            None => None,
        };
        Ok(Election {
            id: self.election,
            board: self.board,
            manifest,
            manifest_hash,
            pk,
            fingerprint,
            state: status.state.clone(),
            bundle_sha256,
        })
    }
}

/// An election the client has checked and may vote in.
#[derive(Clone, Debug)]
pub struct Election {
    /// The election id.
    pub id: String,
    /// The board.
    pub board: Board,
    /// The manifest (entry 0).
    pub manifest: Manifest,
    /// Its leaf hash.
    pub manifest_hash: Hash,
    /// The joint election key.
    pub pk: PublicKey,
    /// The election fingerprint (SPEC.md §3.1).
    pub fingerprint: Fingerprint,
    /// The state the board reported.
    pub state: String,
    /// The bundle hash the board reported (from the `voting_opened` entry).
    pub bundle_sha256: Option<Hash>,
}

impl Election {
    /// The contests, in ballot order.
    pub fn contests(&self) -> &[Contest] {
        &self.manifest.contests
    }

    /// Refuse to encrypt when the board does not accept ballots.
    pub fn require_open(&self) -> Result<()> {
        if self.state == "open" {
            Ok(())
        } else {
            Err(VoterError::Refused(format!(
                "voting in “{}” is not open (the election is {}).",
                self.manifest.title, self.state
            )))
        }
    }
}
