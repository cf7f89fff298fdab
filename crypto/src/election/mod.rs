//! The election as its log defines it: one state machine that every role
//! replays the log through, entry by entry (SPEC.md §8.5, §10.3–§10.6,
//! §11). The board checks a new post with it before appending, a mirror
//! follows the board with it, a trustee reads the log with it before
//! deciding what to post, the voter client learns the election with it,
//! and the verifier's V3–V10 are its violations.
//!
//! Each rule is one small function (in [`ceremony`], [`voting`],
//! [`tally`] and [`manifest`]) returning a typed [`Violation`] that names
//! its [`Rule`]. [`Election::apply`] checks everything before it changes
//! anything, so an entry that breaks a rule leaves the state as it was:
//! the board refuses it, and to every other role it does not count.
//!
//! How much is checked is the caller's [`Trust`]: proofs may have been
//! batch-verified already (the board's and the verifier's parallel
//! stages), or the log may be the board's own, checked when appended.

pub mod ceremony;
pub mod manifest;
pub mod tally;
pub mod violation;
pub mod voting;

use std::sync::Arc;

use crate::log::merkle::Hash;
use crate::record::{AuthorKey, Body, Manifest, Payload};
use crate::Fingerprint;

pub use ceremony::{Ceremony, ComplaintRecord, JointKey, Reveal};
pub use manifest::{check_election_id, check_manifest, is_usable_key};
pub use violation::{Check, Rule, Violation};
pub use voting::{BallotParams, Votes};

use violation::broken;

/// The lifecycle (SPEC.md §10.6). Every transition is an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// The manifest is posted; no trustee has registered.
    Setup,
    /// From the first `trustee_registration` until `t` trustees acknowledged the joint key.
    KeyCeremony,
    /// `joint_key` and at least `t` matching `key_ack`s are on the log.
    Ready,
    /// After `voting_opened`.
    Open,
    /// After `voting_closed`.
    Closed,
    /// After `result`.
    Tallied,
}

impl Phase {
    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::KeyCeremony => "key_ceremony",
            Phase::Ready => "ready",
            Phase::Open => "open",
            Phase::Closed => "closed",
            Phase::Tallied => "tallied",
        }
    }
}

/// How much of an entry [`Election::apply`] checks itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Every rule and every proof: a new post, or a log from a board
    /// nobody trusts.
    Nothing,
    /// Every rule, but the caller has verified the expensive cryptography
    /// of this entry itself (a ballot's proofs in a batch, a credential
    /// list's keys on every core) and refuses the entry when it fails.
    ProofsChecked,
    /// The board's own stored log, fully checked when it was appended:
    /// proofs are not verified again.
    OwnLog,
}

/// What an applied entry changed, besides the state.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Effect {
    /// A ballot's `R` points (SPEC.md §10.4 rule 6).
    pub r_points: Vec<[u8; 32]>,
    /// A ballot replaced this earlier ballot of its credential.
    pub superseded: Option<u64>,
    /// A complaint: whether it proved the dealer bad.
    pub complaint_founded: Option<bool>,
}

/// One election's state, grown entry by entry.
#[derive(Debug)]
pub struct Election {
    id: String,
    manifest: Arc<Manifest>,
    manifest_hash: Hash,
    board: AuthorKey,
    ceremony_fp: Fingerprint,
    size: u64,
    phase: Phase,
    ceremony: Ceremony,
    credentials: Option<Arc<std::collections::HashMap<[u8; 32], u64>>>,
    bundle: Option<[u8; 32]>,
    opened_at: Option<u64>,
    closed_at: Option<u64>,
    votes: Votes,
    tally: Option<Arc<Vec<crate::elgamal::Ciphertext>>>,
    partials: Vec<(u32, Vec<crate::Point>)>,
    result: Option<tally::Published>,
    /// Fixed when voting opens; shared with the threads that verify ballots.
    params: Option<Arc<BallotParams>>,
}

impl Election {
    /// The state after entry 0, the manifest (SPEC.md §11.3): the body must
    /// be a valid manifest of a valid election id. `board`, when known
    /// independently, must be the manifest's author; otherwise the author
    /// is taken as the board key.
    pub fn begin(
        body: &Body,
        manifest_hash: Hash,
        board: Option<&AuthorKey>,
    ) -> Result<Self, Violation> {
        let Payload::Manifest(manifest) = &body.payload else {
            return broken(
                Rule::ManifestAuthor,
                format!(
                    "entry 0 is a {}, not the manifest",
                    body.payload.type_name()
                ),
            );
        };
        if let Some(board) = board {
            if *board != body.author {
                return broken(
                    Rule::ManifestAuthor,
                    format!(
                        "the manifest is signed by {}, not by the board key {}",
                        body.author.to_hex(),
                        board.to_hex()
                    ),
                );
            }
        }
        check_election_id(&body.election)?;
        check_manifest(manifest)?;
        Ok(Self::from_manifest(
            body.election.clone(),
            manifest.clone(),
            manifest_hash,
            body.author,
        ))
    }

    /// The state after entry 0 without checking the manifest: for a board
    /// replaying its own log, or a verifier that reported the manifest's
    /// faults and goes on checking the rest.
    pub fn from_manifest(
        id: String,
        manifest: Manifest,
        manifest_hash: Hash,
        board: AuthorKey,
    ) -> Self {
        let positions = manifest.contests.iter().map(|c| c.options.len()).sum();
        Election {
            id,
            manifest: Arc::new(manifest),
            manifest_hash,
            board,
            ceremony_fp: Fingerprint::ceremony(&manifest_hash),
            size: 1,
            phase: Phase::Setup,
            ceremony: Ceremony::default(),
            credentials: None,
            bundle: None,
            opened_at: None,
            closed_at: None,
            votes: Votes::new(positions),
            tally: None,
            partials: Vec::new(),
            result: None,
            params: None,
        }
    }

    /// Check entry `index` (the next one) against every rule and the state,
    /// then record it. Nothing changes when it returns `Err`. The body's
    /// signature must have been checked (`record::open_signed`).
    pub fn apply(
        &mut self,
        index: u64,
        body: &Body,
        body_text: &str,
        trust: Trust,
    ) -> Result<Effect, Violation> {
        if body.election != self.id {
            return broken(
                Rule::WrongElection,
                format!(
                    "the body names election {:?}, the log is {:?}",
                    body.election, self.id
                ),
            );
        }
        let author = &body.author;
        let effect = match &body.payload {
            Payload::Manifest(_) => {
                return broken(
                    Rule::SecondManifest,
                    "the manifest is entry 0 and only entry 0",
                )
            }
            Payload::TrusteeRegistration {
                trustee,
                encryption_key,
            } => self.register(author, *trustee, encryption_key)?,
            Payload::DkgCommit { trustee, hash } => self.commit(index, author, *trustee, hash)?,
            Payload::DkgCommitsClosed {} => self.close_commits_entry(index, author)?,
            Payload::DkgCommitments {
                trustee,
                commitments,
                proofs,
                shares,
            } => self.reveal(
                author,
                *trustee,
                body_text,
                commitments,
                proofs,
                shares,
                trust,
            )?,
            Payload::DkgComplaint {
                trustee,
                dealer,
                shared_key,
                proof,
            } => self.complain(author, *trustee, *dealer, shared_key, proof)?,
            Payload::JointKey {
                qualified,
                public_key,
                verification_keys,
            } => self.joint_key_entry(author, qualified, public_key, verification_keys)?,
            Payload::KeyAck {
                trustee,
                public_key,
            } => self.acknowledge(author, *trustee, public_key)?,
            Payload::CredentialList { credentials } => {
                self.credential_list(author, credentials, trust)?
            }
            Payload::VotingOpened { bundle_sha256 } => {
                self.voting_opened(index, author, bundle_sha256)?
            }
            Payload::Ballot(ballot) => {
                let cts: Vec<crate::elgamal::Ciphertext> = ballot
                    .contests
                    .iter()
                    .flat_map(|c| c.ciphertexts.iter().copied())
                    .collect();
                self.ballot(index, author, &cts, |params| match trust {
                    Trust::Nothing => params.verify(author, ballot),
                    Trust::ProofsChecked | Trust::OwnLog => Ok(()),
                })?
            }
            Payload::VotingClosed {} => self.voting_closed(index, author)?,
            Payload::PartialDecryption { trustee, shares } => {
                self.partial_decryption(author, *trustee, shares, trust)?
            }
            Payload::Result {
                tally,
                trustees,
                counts,
            } => self.result_entry(author, tally, trustees, counts)?,
        };
        self.size = index + 1;
        Ok(effect)
    }

    /// A board lifecycle entry whose preconditions failed still takes
    /// effect for a verifier (SPEC.md §11: one fault is reported once, and
    /// later entries are judged as if the transition happened). Entries
    /// not signed by the board key, and other types, change nothing.
    pub fn force(&mut self, index: u64, body: &Body) {
        if body.author != self.board || body.election != self.id {
            return;
        }
        match &body.payload {
            Payload::DkgCommitsClosed {} => {
                self.ceremony.commits_closed.get_or_insert(index);
            }
            Payload::JointKey {
                qualified,
                public_key,
                verification_keys,
            } => self.force_joint_key(qualified, public_key, verification_keys),
            Payload::VotingOpened { bundle_sha256 } => {
                if self.opened_at.is_none() {
                    self.opened_at = Some(index);
                    self.bundle = Some(*bundle_sha256);
                    self.phase = self.phase.max(Phase::Open);
                    self.params = self.make_ballot_params().map(Arc::new);
                }
            }
            Payload::VotingClosed {} => self.freeze_tally(index),
            Payload::Result {
                trustees, counts, ..
            } => {
                if self.result.is_none() {
                    self.result = Some(tally::Published {
                        trustees: trustees.clone(),
                        counts: counts.clone(),
                        verified: false,
                    });
                }
                self.phase = Phase::Tallied;
            }
            _ => return,
        }
        self.size = self.size.max(index + 1);
    }

    /// The election id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The manifest (entry 0).
    pub fn manifest(&self) -> &Arc<Manifest> {
        &self.manifest
    }

    /// Leaf hash of entry 0.
    pub fn manifest_hash(&self) -> &Hash {
        &self.manifest_hash
    }

    /// The key that signs the board's entries (entry 0's author).
    pub fn board_key(&self) -> &AuthorKey {
        &self.board
    }

    /// `Fingerprint::ceremony(manifest_hash)` (SPEC.md §3.1).
    pub fn ceremony_fingerprint(&self) -> &Fingerprint {
        &self.ceremony_fp
    }

    /// Entries applied so far (the index the next entry has).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The lifecycle state.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// `n`.
    pub fn n(&self) -> u32 {
        self.manifest.trustees.len() as u32
    }

    /// `t`.
    pub fn t(&self) -> u32 {
        self.manifest.threshold
    }

    /// The key ceremony so far.
    pub fn ceremony(&self) -> &Ceremony {
        &self.ceremony
    }

    /// The joint key, once posted.
    pub fn joint(&self) -> Option<&JointKey> {
        self.ceremony.joint.as_ref()
    }

    /// The credential list (key ↦ weight), once posted.
    pub fn credentials(&self) -> Option<&Arc<std::collections::HashMap<[u8; 32], u64>>> {
        self.credentials.as_ref()
    }

    /// The voting page bundle hash of `voting_opened`.
    pub fn bundle(&self) -> Option<[u8; 32]> {
        self.bundle
    }

    /// Index of `voting_opened`.
    pub fn opened_at(&self) -> Option<u64> {
        self.opened_at
    }

    /// Index of `voting_closed`.
    pub fn closed_at(&self) -> Option<u64> {
        self.closed_at
    }

    /// Ballots, the counted set and the running tally.
    pub fn votes(&self) -> &Votes {
        &self.votes
    }

    /// The encrypted tally, fixed at `voting_closed` (SPEC.md §10.5).
    pub fn tally(&self) -> Option<&Arc<Vec<crate::elgamal::Ciphertext>>> {
        self.tally.as_ref()
    }

    /// Valid partial decryptions `(l, [D_l…])`, in log order.
    pub fn partials(&self) -> &[(u32, Vec<crate::Point>)] {
        &self.partials
    }

    /// The published result's counts, once posted.
    pub fn result(&self) -> Option<&Vec<Vec<u64>>> {
        self.result.as_ref().map(|r| &r.counts)
    }

    /// The result's trustees and whether every check of it held.
    pub fn published(&self) -> Option<&tally::Published> {
        self.result.as_ref()
    }

    /// Number of tally positions: contests, then options.
    pub fn positions(&self) -> usize {
        self.votes.positions()
    }

    /// The board entry must be signed by the board key (SPEC.md §10.2).
    fn board_authored(&self, author: &AuthorKey, kind: &str) -> Result<(), Violation> {
        if *author == self.board {
            Ok(())
        } else {
            broken(
                Rule::BoardOnly,
                format!(
                    "{kind} entries are written by the board, and this one is signed by {}",
                    author.to_hex()
                ),
            )
        }
    }

    /// A trustee post must be signed by the manifest key of the trustee it
    /// names (SPEC.md §10.3).
    fn trustee_authored(&self, author: &AuthorKey, l: u32) -> Result<(), Violation> {
        match self.manifest.trustees.iter().find(|t| t.index == l) {
            None => broken(
                Rule::UnknownTrustee,
                format!("the manifest has no trustee {l}"),
            ),
            Some(t) if t.key != *author => broken(
                Rule::WrongAuthor,
                format!("this post must be signed with trustee {l}'s key"),
            ),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
