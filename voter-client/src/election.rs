//! What the client knows about an election before it encrypts anything,
//! and how it learns it without trusting the board's word (SPEC.md §13.1).
//!
//! The client reads the log from entry 0 up to the `joint_key` entry, checks
//! the hash chain (SPEC.md §9.2), every signature and canonical body form
//! (SPEC.md §9.1, §9.1.1), and replays every entry through the election
//! state machine of [`psephos_crypto::election`] — the same rules the
//! board, mirrors, trustees and verifier apply, with nothing trusted
//! ([`Trust::Nothing`]): the manifest rules (SPEC.md §10.7, §11.3), and the
//! key ceremony (SPEC.md §8.5, §10.3 rules 1–5, §11.4), including every
//! dealer's coefficient proofs and a joint key that must be `Σ A_i0` over
//! the qualified dealers with the recomputed verification keys. An entry
//! that breaks a rule makes the client refuse the election with
//! [`VoterError::Rule`], naming the entry and the rule.
//!
//! It then checks that the `joint_key` entry is included in the board's
//! signed checkpoint (SPEC.md §7.2, §7.4). Because each line carries the
//! previous line's hash, that one inclusion proof covers the manifest too.
//! The manifest, the election key `PK` and the fingerprint (SPEC.md §3.1)
//! are the state machine's; the status JSON is only compared with them.

use psephos_crypto::ballot::Contest;
use psephos_crypto::election::{Election as Rules, Trust, Violation};
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

/// Reads log entries from 0 up to the `joint_key` entry and replays them
/// through the election's state machine (SPEC.md §13.1).
#[derive(Debug)]
pub struct SetupScan {
    election: String,
    board: Board,
    chain: ChainFollower,
    /// The election as its log defines it so far, from entry 0 on.
    rules: Option<Rules>,
    /// Index of the `joint_key` entry, once applied.
    joint_key_at: Option<u64>,
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
            rules: None,
            joint_key_at: None,
        }
    }

    /// The index of the next entry wanted.
    pub fn next_index(&self) -> u64 {
        self.chain.next_index()
    }

    /// The manifest, once entry 0 has been read (and found valid:
    /// SPEC.md §10.7, §11.3).
    pub fn manifest(&self) -> Option<&Manifest> {
        self.rules.as_ref().map(|r| r.manifest().as_ref())
    }

    /// The election's state after the entries read so far.
    pub fn rules(&self) -> Option<&Rules> {
        self.rules.as_ref()
    }

    /// Whether the `joint_key` entry has been read.
    pub fn done(&self) -> bool {
        self.joint_key_at.is_some()
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

    /// One line: the chain (SPEC.md §9.2), the signature and canonical
    /// body (§9.1, §9.1.1), then the election's rules. Entry 0 must be a
    /// valid manifest of the election asked for, signed by the board
    /// (§11.3); every later entry must be one the rules accept
    /// ([`Rules::apply`] with [`Trust::Nothing`]).
    fn push_line(&mut self, line: &str) -> Result<()> {
        let entry = Entry::from_line(line)?;
        let index = entry.index;
        let leaf = self.chain.accept(line, &entry)?;
        let body = entry.open()?;
        let refused = |violation: Violation| VoterError::Rule {
            index,
            kind: body.payload.type_name(),
            violation,
        };
        match &mut self.rules {
            None => {
                if body.election != self.election {
                    return Err(VoterError::board(format!(
                        "entry 0 belongs to election {:?}, not {:?}",
                        body.election, self.election
                    )));
                }
                let rules = Rules::begin(&body, leaf, Some(&self.board.author)).map_err(refused)?;
                self.rules = Some(rules);
            }
            Some(rules) => {
                rules
                    .apply(index, &body, entry.body.get(), Trust::Nothing)
                    .map_err(refused)?;
                if matches!(body.payload, Payload::JointKey { .. }) {
                    self.joint_key_at = Some(index);
                }
            }
        }
        Ok(())
    }

    /// Finish: compare with the status, and check the `joint_key` entry is
    /// in the status's signed checkpoint with `proof`.
    pub fn finish(self, status: &ElectionStatus, proof: &InclusionProof) -> Result<Election> {
        let (Some(rules), Some(key_index)) = (self.rules, self.joint_key_at) else {
            return Err(VoterError::board(
                "the election has no joint key yet: voting has not opened",
            ));
        };
        let Some(joint) = rules.joint() else {
            return Err(VoterError::board("the joint key entry did not take effect"));
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
        let manifest_hash = *rules.manifest_hash();
        if board_hash("manifest_hash", &status.manifest_hash)? != manifest_hash {
            return Err(VoterError::board("the status names another manifest"));
        }
        let pk = joint.pk;
        if let Some(text) = &status.public_key {
            if *text != pk.as_point().to_hex() {
                return Err(VoterError::board("the status names another election key"));
            }
        }
        let fingerprint = joint.fingerprint;
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
            manifest: Manifest::clone(rules.manifest()),
            manifest_hash,
            pk,
            fingerprint,
            qualified: joint.qualified.clone(),
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
    /// The joint election key, as the key ceremony's rules recomputed it
    /// (SPEC.md §8.5.4, §10.3 rule 5).
    pub pk: PublicKey,
    /// The election fingerprint (SPEC.md §3.1), from the state machine.
    pub fingerprint: Fingerprint,
    /// The qualified dealers whose commitments `PK` sums (SPEC.md §8.5.4).
    pub qualified: Vec<u32>,
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
