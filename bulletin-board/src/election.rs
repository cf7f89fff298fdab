//! One election as the board holds it: the protocol's state machine
//! ([`psephos_crypto::election`], where every rule of SPEC.md §10.3–§10.6
//! lives once) plus what only the board keeps — the log's size, head and
//! Merkle tree — and the mapping of a rule's [`Violation`] to the board's
//! HTTP error (§10.7).
//!
//! [`Election::apply`] checks everything before it changes anything, so a
//! rejected post leaves the state as it was.

use std::sync::Arc;

use psephos_crypto::election::{self as rules, Effect, Violation};
use psephos_crypto::log::merkle::{Hash, MerkleTree};
use psephos_crypto::record::{AuthorKey, Body, Manifest, Payload};
use psephos_crypto::wire;

use crate::error::{BoardError, Result};

pub use psephos_crypto::election::{BallotParams, Phase, Trust};

/// The board's error for a post that breaks a rule (SPEC.md §10.7): the
/// rule's status and code, the violation's sentence.
pub fn violation_error(v: Violation) -> BoardError {
    let (status, code) = v.rule.http();
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    BoardError::Rejected {
        status,
        code,
        message: v.to_string(),
    }
}

/// Validate a manifest and its election id as the board does on creation
/// (SPEC.md §10.7).
pub fn validate_manifest(id: &str, m: &Manifest) -> Result<()> {
    rules::check_election_id(id).map_err(violation_error)?;
    rules::check_manifest(m).map_err(violation_error)
}

/// An election's state.
#[derive(Debug)]
pub struct Election {
    /// The id.
    pub id: String,
    /// Entries so far.
    pub size: u64,
    /// Leaf hash of the last entry.
    pub head: Hash,
    /// The Merkle tree over all leaves.
    pub tree: MerkleTree,
    /// The protocol state every role replays (SPEC.md §10.3–§10.6).
    pub rules: rules::Election,
    /// Set when an append failed after applying its batch here and the
    /// state could not be reloaded from the database: it may hold entries
    /// that were never committed, so nothing may be read from it.
    poisoned: bool,
}

impl Election {
    /// The state after entry 0, signed by `board`.
    pub fn new(id: String, manifest: Manifest, manifest_hash: Hash, board: AuthorKey) -> Self {
        let mut tree = MerkleTree::new();
        tree.push(manifest_hash);
        Election {
            rules: rules::Election::from_manifest(id.clone(), manifest, manifest_hash, board),
            id,
            size: 1,
            head: manifest_hash,
            tree,
            poisoned: false,
        }
    }

    /// The state after a log's entry 0 read from elsewhere (a mirror's
    /// upstream): the manifest rules of SPEC.md §11.3, signed by `board`.
    pub fn begin(id: &str, body: &Body, manifest_hash: Hash, board: &AuthorKey) -> Result<Self> {
        if body.election != id {
            return Err(BoardError::bad_request(
                "wrong_election",
                format!("entry 0 names election {:?}, not {id:?}", body.election),
            ));
        }
        let rules =
            rules::Election::begin(body, manifest_hash, Some(board)).map_err(violation_error)?;
        let mut tree = MerkleTree::new();
        tree.push(manifest_hash);
        Ok(Election {
            rules,
            id: id.to_owned(),
            size: 1,
            head: manifest_hash,
            tree,
            poisoned: false,
        })
    }

    /// Mark this state as possibly ahead of the committed log (a failed
    /// append that could not be undone); the board has dropped it from its
    /// cache, and requests that still hold it answer 503.
    pub(crate) fn poison(&mut self) {
        self.poisoned = true;
    }

    /// `Ok` unless [`Election::poison`]ed: a reader must never serve a size,
    /// root or proof of entries that were not committed (SPEC.md §10.8).
    pub fn check_committed(&self) -> Result<()> {
        if self.poisoned {
            return Err(BoardError::Unavailable(
                "the election's state is being reloaded after a failed write; try again".into(),
            ));
        }
        Ok(())
    }

    /// The lifecycle state (SPEC.md §10.6).
    pub fn phase(&self) -> Phase {
        self.rules.phase()
    }

    /// The manifest.
    pub fn manifest(&self) -> &Arc<Manifest> {
        self.rules.manifest()
    }

    /// `t`.
    pub fn t(&self) -> u32 {
        self.rules.t()
    }

    /// What the verification stage needs, once voting is open.
    pub fn ballot_params(&self) -> Option<Arc<BallotParams>> {
        if self.phase() != Phase::Open {
            return None;
        }
        self.rules.ballot_params()
    }

    /// Check `body` as entry `size` against every rule and record it
    /// (SPEC.md §10.3–§10.5). Nothing changes when it returns `Err`.
    pub fn apply(&mut self, body: &Body, body_text: &str, trust: Trust) -> Result<Effect> {
        self.rules
            .apply(self.size, body, body_text, trust)
            .map_err(violation_error)
    }

    /// The `dkg_commits_closed` entry of `close-commits` (SPEC.md §10.3 rule 2).
    pub fn close_commits(&self) -> Result<Payload> {
        self.rules.close_commits().map_err(violation_error)
    }

    /// The `joint_key` entry of `finalize-keys` (SPEC.md §10.3 rule 5).
    pub fn finalize_keys(&self) -> Result<Payload> {
        self.rules.finalize_keys().map_err(violation_error)
    }

    /// The `voting_opened` entry (SPEC.md §10.3 rule 8).
    pub fn open_voting(&self, bundle_sha256: [u8; 32]) -> Result<Payload> {
        self.rules
            .open_voting(bundle_sha256)
            .map_err(violation_error)
    }

    /// The `voting_closed` entry (SPEC.md §10.6).
    pub fn close_voting(&self) -> Result<Payload> {
        self.rules.close_voting().map_err(violation_error)
    }

    /// The `result` entry once `t` valid partial decryptions are in
    /// (SPEC.md §10.5), else `None`.
    pub fn result_due(&self) -> Result<Option<Payload>> {
        if self.phase() != Phase::Closed {
            return Ok(None);
        }
        self.rules
            .result_due()
            .map_err(|v| BoardError::Internal(format!("the result cannot be computed: {v}")))
    }

    /// The status document of `GET /api/v1/elections/{id}` (SPEC.md §10.1),
    /// filled by the crypto core as every stand-in for the board fills it.
    pub fn status(&self, checkpoint: String) -> wire::ElectionStatus {
        wire::ElectionStatus::of(&self.rules, self.size, checkpoint)
    }
}
