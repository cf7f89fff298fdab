//! One election's state as its log defines it, and the rules an entry must
//! satisfy to be appended (SPEC.md §10.3 key ceremony, §10.4 voting,
//! §10.5 tally, §10.6 states).
//!
//! [`Election`] is rebuilt from the log by [`Election::apply`] in
//! [`Check::Replay`] mode, and grown by the same function in
//! [`Check::Full`] mode when a post arrives: one code path decides what the
//! log means. `apply` checks everything before it changes anything, so a
//! rejected post leaves the state as it was.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use psephos_crypto::ballot::{verify_ballot, BallotContext, Contest};
use psephos_crypto::dlog::DlogTable;
use psephos_crypto::elgamal::{Ciphertext, CiphertextSum, PublicKey};
use psephos_crypto::log::merkle::{Hash, MerkleTree};
use psephos_crypto::proofs::{all_hold, dleq::DleqProof};
use psephos_crypto::record::{AuthorKey, Body, EncryptedShare, Manifest, Payload};
use psephos_crypto::share_encryption::{dealer_is_bad, Complaint};
use psephos_crypto::threshold::{
    coefficient_equations, combine, joint_key, verification_key, verify_decryption, DecryptionShare,
};
use psephos_crypto::{Fingerprint, Point};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::{BoardError, Result};

/// The lifecycle (SPEC.md §10.6). Every transition is an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// The manifest is posted; no trustee has registered.
    Setup,
    /// From the first `trustee_registration` until `t` trustees acknowledged the joint key.
    KeyCeremony,
    /// `joint_key` and at least `t` matching `key_ack`s are on the board.
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

/// How much of a post [`Election::apply`] checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// A new post: every rule, every proof.
    Full,
    /// A new ballot whose signature and proofs the verification stage has
    /// already checked: only the rules that depend on the log's state.
    PreVerified,
    /// An entry read back from the log: it was checked when appended.
    Replay,
}

/// A dealer's revealed round-1 message.
#[derive(Clone, Debug)]
pub struct Reveal {
    /// `A_ij`.
    pub commitments: Vec<Point>,
    /// Encrypted shares, one per other trustee.
    pub shares: Vec<EncryptedShare>,
}

/// A complaint on the board.
#[derive(Clone, Debug)]
pub struct ComplaintRecord {
    /// Complaining trustee `l`.
    pub trustee: u32,
    /// Accused dealer `i`.
    pub dealer: u32,
    /// Revealed `K`.
    pub shared_key: Point,
    /// DLEQ proof of `K`.
    pub proof: DleqProof,
}

/// The joint key entry's content.
#[derive(Clone, Debug)]
pub struct JointKey {
    /// Qualified dealers.
    pub qualified: Vec<u32>,
    /// `PK`.
    pub pk: PublicKey,
    /// `X_l`, `l = 1..n`.
    pub verification_keys: Vec<Point>,
    /// `Fingerprint::election(manifest_hash, PK)`.
    pub fingerprint: Fingerprint,
}

/// What the verification stage needs to check a ballot without the
/// election's lock: fixed from `voting_opened` on.
#[derive(Debug)]
pub struct BallotParams {
    /// The manifest's contests.
    pub contests: Vec<Contest>,
    /// The joint key.
    pub pk: PublicKey,
    /// The election fingerprint.
    pub fingerprint: Fingerprint,
    /// Eligible credentials and their weights.
    pub credentials: Arc<HashMap<[u8; 32], u64>>,
}

/// What an accepted post adds besides its entry.
#[derive(Debug, Default)]
pub struct Applied {
    /// R points of a ballot's ciphertexts (SPEC.md §10.4 rule 6).
    pub points: Vec<[u8; 32]>,
}

/// An election's state.
#[derive(Debug)]
pub struct Election {
    /// The id.
    pub id: String,
    /// The manifest (entry 0).
    pub manifest: Arc<Manifest>,
    /// Leaf hash of entry 0.
    pub manifest_hash: Hash,
    /// `Fingerprint::ceremony(manifest_hash)`.
    pub ceremony_fp: Fingerprint,
    /// Entries so far.
    pub size: u64,
    /// Leaf hash of the last entry.
    pub head: Hash,
    /// The Merkle tree over all leaves.
    pub tree: MerkleTree,
    /// Lifecycle state.
    pub phase: Phase,
    /// `l ↦ Y_l`.
    pub registrations: BTreeMap<u32, Point>,
    /// `i ↦` committed hash.
    pub commits: BTreeMap<u32, [u8; 32]>,
    /// The administrator closed round-1 commits (`dkg_commits_closed`,
    /// SPEC.md §10.3 rule 2).
    pub commits_closed: bool,
    /// `i ↦` revealed round-1 message.
    pub revealed: BTreeMap<u32, Reveal>,
    /// Complaints with valid evidence, in log order.
    pub complaints: Vec<ComplaintRecord>,
    /// The joint key, once posted.
    pub joint: Option<JointKey>,
    /// Trustees that acknowledged `PK`.
    pub acks: BTreeSet<u32>,
    /// The credential list, once posted.
    pub credentials: Option<Arc<HashMap<[u8; 32], u64>>>,
    /// The bundle hash of `voting_opened`.
    pub bundle: Option<[u8; 32]>,
    /// Ballots on the board.
    pub ballots: u64,
    /// Credential ↦ index of its last ballot.
    pub last_ballot: HashMap<[u8; 32], u64>,
    /// R points already used.
    pub used_points: HashSet<[u8; 32]>,
    /// The encrypted tally, from `voting_closed` on.
    pub tally: Option<Arc<Vec<Ciphertext>>>,
    /// Valid partial decryptions in log order.
    pub partials: Vec<(u32, Vec<DecryptionShare>)>,
    /// The published counts.
    pub result: Option<Vec<Vec<u64>>>,
    /// Cached for the verification stage once open.
    params: Option<Arc<BallotParams>>,
}

/// The fields of a ballot body that replay and the tally read.
#[derive(Debug, Deserialize)]
pub struct LiteBallot {
    /// The credential.
    pub author: AuthorKey,
    /// Per contest, its ciphertexts.
    pub contests: Vec<LiteContest>,
}

/// A contest's ciphertexts.
#[derive(Debug, Deserialize)]
pub struct LiteContest {
    /// In manifest order.
    pub ciphertexts: Vec<Ciphertext>,
}

fn trustee_key(manifest: &Manifest, l: u32) -> Option<&AuthorKey> {
    manifest
        .trustees
        .iter()
        .find(|t| t.index == l)
        .map(|t| &t.key)
}

fn wrong_state(what: &str, phase: Phase) -> BoardError {
    BoardError::conflict(
        "wrong_state",
        format!(
            "{what} is not allowed while the election is {}",
            phase.as_str()
        ),
    )
}

fn duplicate(what: String) -> BoardError {
    BoardError::conflict("duplicate", what)
}

/// Validate a manifest as the board does on creation (SPEC.md §10.2).
pub fn validate_manifest(m: &Manifest) -> Result<()> {
    let bad = |why: String| Err(BoardError::invalid("invalid_manifest", why));
    if m.title.is_empty() || m.title.len() > 1_000 {
        return bad("title must be 1 to 1,000 bytes".into());
    }
    if m.contests.is_empty() || m.contests.len() > 100 {
        return bad("a manifest needs 1 to 100 contests".into());
    }
    let mut ids = HashSet::new();
    for c in &m.contests {
        if let Err(e) = c.validate() {
            return bad(e.to_string());
        }
        if !ids.insert(c.id.as_str()) {
            return bad(format!("contest id {:?} appears twice", c.id));
        }
    }
    let n = m.trustees.len();
    if n == 0 || n > 100 {
        return bad("a manifest needs 1 to 100 trustees".into());
    }
    let mut keys = HashSet::new();
    for (pos, t) in m.trustees.iter().enumerate() {
        if t.index as usize != pos + 1 {
            return bad(format!(
                "trustees must be numbered 1..{n} in order; position {} has index {}",
                pos + 1,
                t.index
            ));
        }
        if t.key.verifying_key().is_err() {
            return bad(format!("trustee {} has an invalid Ed25519 key", t.index));
        }
        if !keys.insert(t.key) {
            return bad(format!("trustee {} shares its key with another", t.index));
        }
    }
    if m.threshold == 0 || m.threshold as usize > n {
        return bad(format!("threshold must be between 1 and {n}"));
    }
    if m.credential_authority.verifying_key().is_err() {
        return bad("the credential authority key is not a valid Ed25519 key".into());
    }
    Ok(())
}

impl Election {
    /// The state after entry 0.
    pub fn new(id: String, manifest: Manifest, manifest_hash: Hash) -> Self {
        let mut tree = MerkleTree::new();
        tree.push(manifest_hash);
        Election {
            id,
            manifest: Arc::new(manifest),
            manifest_hash,
            ceremony_fp: Fingerprint::ceremony(&manifest_hash),
            size: 1,
            head: manifest_hash,
            tree,
            phase: Phase::Setup,
            registrations: BTreeMap::new(),
            commits: BTreeMap::new(),
            commits_closed: false,
            revealed: BTreeMap::new(),
            complaints: Vec::new(),
            joint: None,
            acks: BTreeSet::new(),
            credentials: None,
            bundle: None,
            ballots: 0,
            last_ballot: HashMap::new(),
            used_points: HashSet::new(),
            tally: None,
            partials: Vec::new(),
            result: None,
            params: None,
        }
    }

    /// `n`.
    pub fn n(&self) -> u32 {
        self.manifest.trustees.len() as u32
    }

    /// `t`.
    pub fn t(&self) -> u32 {
        self.manifest.threshold
    }

    /// What the verification stage needs, once voting is open.
    pub fn ballot_params(&mut self) -> Option<Arc<BallotParams>> {
        if self.phase != Phase::Open {
            return None;
        }
        if self.params.is_none() {
            let joint = self.joint.as_ref()?;
            self.params = Some(Arc::new(BallotParams {
                contests: self.manifest.contests.clone(),
                pk: joint.pk,
                fingerprint: joint.fingerprint,
                credentials: self.credentials.clone()?,
            }));
        }
        self.params.clone()
    }

    fn require_trustee(&self, body: &Body, l: u32, check: Check) -> Result<()> {
        if check == Check::Replay {
            return Ok(());
        }
        match trustee_key(&self.manifest, l) {
            None => Err(BoardError::invalid(
                "unknown_trustee",
                format!("the manifest has no trustee {l}"),
            )),
            Some(k) if *k != body.author => Err(BoardError::forbidden(
                "wrong_author",
                format!("this post must be signed with trustee {l}'s key"),
            )),
            Some(_) => Ok(()),
        }
    }

    fn in_ceremony(&self, what: &str) -> Result<()> {
        if self.phase > Phase::KeyCeremony || self.joint.is_some() {
            return Err(BoardError::conflict(
                "wrong_state",
                format!(
                    "{what} is not allowed once the joint key is posted (the election is {})",
                    self.phase.as_str()
                ),
            ));
        }
        Ok(())
    }

    /// Check `body` against the rules and the state, then record it
    /// (SPEC.md §10.3–§10.5). Nothing changes when it returns `Err`.
    pub fn apply(&mut self, body: &Body, body_text: &str, check: Check) -> Result<Applied> {
        let full = check == Check::Full;
        let n = self.n();
        match &body.payload {
            Payload::Manifest(_) => Err(BoardError::conflict(
                "wrong_state",
                "the manifest is entry 0 and only entry 0",
            )),
            Payload::TrusteeRegistration {
                trustee,
                encryption_key,
            } => {
                if self.phase > Phase::KeyCeremony {
                    return Err(wrong_state("trustee registration", self.phase));
                }
                self.require_trustee(body, *trustee, check)?;
                if self.registrations.contains_key(trustee) {
                    return Err(duplicate(format!(
                        "trustee {trustee} is already registered"
                    )));
                }
                if full && encryption_key.is_identity() {
                    return Err(BoardError::invalid(
                        "invalid_key",
                        "the encryption key must not be the identity",
                    ));
                }
                self.registrations.insert(*trustee, *encryption_key);
                self.phase = Phase::KeyCeremony;
                Ok(Applied::default())
            }
            Payload::DkgCommit { trustee, hash } => {
                self.in_ceremony("dkg_commit")?;
                self.require_trustee(body, *trustee, check)?;
                if self.registrations.len() != n as usize {
                    return Err(BoardError::conflict(
                        "wrong_state",
                        format!(
                            "dkg_commit needs all {n} trustees registered; {} are",
                            self.registrations.len()
                        ),
                    ));
                }
                if self.commits_closed {
                    return Err(BoardError::conflict(
                        "wrong_state",
                        "the administrator has closed round-1 commits; the trustees that committed reveal without this one",
                    ));
                }
                if self.commits.contains_key(trustee) {
                    return Err(duplicate(format!(
                        "trustee {trustee} has already committed"
                    )));
                }
                self.commits.insert(*trustee, *hash);
                Ok(Applied::default())
            }
            Payload::DkgCommitsClosed {} => {
                if check != Check::Replay {
                    return Err(board_only("dkg_commits_closed"));
                }
                self.commits_closed = true;
                Ok(Applied::default())
            }
            Payload::DkgCommitments {
                trustee,
                commitments,
                proofs,
                shares,
            } => {
                self.in_ceremony("dkg_commitments")?;
                self.require_trustee(body, *trustee, check)?;
                if self.commits.len() != n as usize && !self.commits_closed {
                    return Err(BoardError::conflict(
                        "wrong_state",
                        format!(
                            "dkg_commitments may be revealed only once all {n} dkg_commit posts are on the board (or the administrator has closed commits); {} are",
                            self.commits.len()
                        ),
                    ));
                }
                if !self.commits.contains_key(trustee) {
                    return Err(BoardError::conflict(
                        "wrong_state",
                        format!(
                            "trustee {trustee} did not commit before round-1 commits were closed"
                        ),
                    ));
                }
                if self.revealed.contains_key(trustee) {
                    return Err(duplicate(format!("trustee {trustee} has already revealed")));
                }
                if full {
                    let digest: [u8; 32] = Sha256::digest(body_text.as_bytes()).into();
                    if self.commits.get(trustee) != Some(&digest) {
                        return Err(BoardError::invalid(
                            "commitment_mismatch",
                            "SHA-256 of this body is not the hash the trustee committed to",
                        ));
                    }
                    let eqs = coefficient_equations(
                        &self.ceremony_fp,
                        *trustee,
                        self.t(),
                        commitments,
                        proofs,
                    )
                    .map_err(|e| BoardError::invalid("invalid_proof", e.to_string()))?;
                    if !all_hold(&eqs) {
                        return Err(BoardError::invalid(
                            "invalid_proof",
                            "a coefficient proof does not verify",
                        ));
                    }
                    let mut to: Vec<u32> = shares.iter().map(|s| s.to).collect();
                    to.sort_unstable();
                    let expected: Vec<u32> = (1..=n).filter(|l| l != trustee).collect();
                    if to != expected {
                        return Err(BoardError::invalid(
                            "invalid_shares",
                            format!("expected exactly one share for each of trustees {expected:?}"),
                        ));
                    }
                    if shares.iter().any(|s| s.ephemeral.is_identity()) {
                        return Err(BoardError::invalid(
                            "invalid_shares",
                            "an ephemeral key is the identity",
                        ));
                    }
                }
                self.revealed.insert(
                    *trustee,
                    Reveal {
                        commitments: commitments.clone(),
                        shares: shares.clone(),
                    },
                );
                Ok(Applied::default())
            }
            Payload::DkgComplaint {
                trustee,
                dealer,
                shared_key,
                proof,
            } => {
                self.in_ceremony("dkg_complaint")?;
                self.require_trustee(body, *trustee, check)?;
                if self
                    .complaints
                    .iter()
                    .any(|c| c.trustee == *trustee && c.dealer == *dealer)
                {
                    return Err(duplicate(format!(
                        "trustee {trustee} has already complained about dealer {dealer}"
                    )));
                }
                if full {
                    let complaint = Complaint {
                        shared_key: *shared_key,
                        proof: *proof,
                    };
                    self.judge(*trustee, *dealer, &complaint)?;
                }
                self.complaints.push(ComplaintRecord {
                    trustee: *trustee,
                    dealer: *dealer,
                    shared_key: *shared_key,
                    proof: *proof,
                });
                Ok(Applied::default())
            }
            Payload::JointKey {
                qualified,
                public_key,
                verification_keys,
            } => {
                if check != Check::Replay {
                    return Err(board_only("joint_key"));
                }
                self.joint = Some(JointKey {
                    qualified: qualified.clone(),
                    pk: *public_key,
                    verification_keys: verification_keys.clone(),
                    fingerprint: Fingerprint::election(
                        &self.manifest_hash,
                        &public_key.to_non_identity(),
                    ),
                });
                Ok(Applied::default())
            }
            Payload::KeyAck {
                trustee,
                public_key,
            } => {
                let Some(joint) = &self.joint else {
                    return Err(BoardError::conflict(
                        "wrong_state",
                        "key_ack needs the joint_key entry first",
                    ));
                };
                if self.phase > Phase::Ready {
                    return Err(wrong_state("key_ack", self.phase));
                }
                self.require_trustee(body, *trustee, check)?;
                if full && *public_key != joint.pk {
                    return Err(BoardError::invalid(
                        "key_mismatch",
                        "the acknowledged key is not the joint key on the board",
                    ));
                }
                if self.acks.contains(trustee) {
                    return Err(duplicate(format!(
                        "trustee {trustee} has already acknowledged the key"
                    )));
                }
                self.acks.insert(*trustee);
                if self.acks.len() >= self.t() as usize {
                    self.phase = Phase::Ready;
                }
                Ok(Applied::default())
            }
            Payload::CredentialList { credentials } => {
                if self.phase >= Phase::Open {
                    return Err(wrong_state("credential_list", self.phase));
                }
                if check != Check::Replay && body.author != self.manifest.credential_authority {
                    return Err(BoardError::forbidden(
                        "wrong_author",
                        "the credential list must be signed by the manifest's credential authority",
                    ));
                }
                if self.credentials.is_some() {
                    return Err(duplicate("the credential list is already posted".into()));
                }
                let mut map = HashMap::with_capacity(credentials.len());
                for c in credentials {
                    if full && (c.weight == 0 || c.weight > 1 << 20) {
                        return Err(BoardError::invalid(
                            "invalid_credentials",
                            "every weight must be between 1 and 2^20",
                        ));
                    }
                    if full && c.key.verifying_key().is_err() {
                        return Err(BoardError::invalid(
                            "invalid_credentials",
                            format!("{} is not a valid Ed25519 key", c.key.to_hex()),
                        ));
                    }
                    if map.insert(c.key.0, c.weight).is_some() {
                        return Err(BoardError::invalid(
                            "invalid_credentials",
                            format!("credential {} appears twice", c.key.to_hex()),
                        ));
                    }
                }
                if full && map.is_empty() {
                    return Err(BoardError::invalid(
                        "invalid_credentials",
                        "the credential list is empty",
                    ));
                }
                self.credentials = Some(Arc::new(map));
                Ok(Applied::default())
            }
            Payload::VotingOpened { bundle_sha256 } => {
                if check != Check::Replay {
                    return Err(board_only("voting_opened"));
                }
                self.bundle = Some(*bundle_sha256);
                self.phase = Phase::Open;
                Ok(Applied::default())
            }
            Payload::Ballot(ballot) => {
                if self.phase != Phase::Open {
                    return Err(BoardError::conflict(
                        "election_not_open",
                        format!(
                            "ballots are accepted only while voting is open; the election is {}",
                            self.phase.as_str()
                        ),
                    ));
                }
                let cred = body.author.0;
                if check != Check::Replay {
                    let eligible = self
                        .credentials
                        .as_ref()
                        .is_some_and(|c| c.contains_key(&cred));
                    if !eligible {
                        return Err(not_eligible());
                    }
                }
                let points: Vec<[u8; 32]> = ballot
                    .contests
                    .iter()
                    .flat_map(|c| c.ciphertexts.iter().map(|ct| *ct.R.as_bytes()))
                    .collect();
                if check != Check::Replay {
                    check_points_unused(&points, &self.used_points)?;
                }
                if full {
                    let params = self
                        .ballot_params()
                        .ok_or_else(|| BoardError::Internal("open without params".into()))?;
                    verify_ballot_with(&params, &cred, ballot)?;
                }
                self.record_ballot(cred, &points);
                Ok(Applied { points })
            }
            Payload::VotingClosed {} => {
                if check != Check::Replay {
                    return Err(board_only("voting_closed"));
                }
                self.phase = Phase::Closed;
                Ok(Applied::default())
            }
            Payload::PartialDecryption { trustee, shares } => {
                if self.phase != Phase::Closed {
                    return Err(wrong_state("partial_decryption", self.phase));
                }
                self.require_trustee(body, *trustee, check)?;
                if self.partials.iter().any(|(l, _)| l == trustee) {
                    return Err(duplicate(format!(
                        "trustee {trustee} has already posted its partial decryption"
                    )));
                }
                if full {
                    let (Some(joint), Some(tally)) = (&self.joint, &self.tally) else {
                        return Err(BoardError::Unavailable("the tally is not ready".into()));
                    };
                    let vk = joint
                        .verification_keys
                        .get((*trustee as usize).wrapping_sub(1))
                        .ok_or_else(|| BoardError::Internal("missing verification key".into()))?;
                    verify_decryption(&joint.fingerprint, *trustee, vk, tally, shares).map_err(
                        |e| {
                            BoardError::invalid("invalid_proof", format!("partial decryption: {e}"))
                        },
                    )?;
                }
                self.partials.push((*trustee, shares.clone()));
                Ok(Applied::default())
            }
            Payload::Result { counts, .. } => {
                if check != Check::Replay {
                    return Err(board_only("result"));
                }
                self.result = Some(counts.clone());
                self.phase = Phase::Tallied;
                Ok(Applied::default())
            }
        }
    }

    /// Record a ballot (also used by replay's fast path).
    pub fn record_ballot(&mut self, credential: [u8; 32], points: &[[u8; 32]]) {
        self.used_points.extend(points.iter().copied());
        self.last_ballot.insert(credential, self.size);
        self.ballots += 1;
    }

    /// Judge a complaint's evidence: `Err` if it is invalid.
    fn judge(&self, trustee: u32, dealer: u32, complaint: &Complaint) -> Result<bool> {
        if trustee == dealer {
            return Err(BoardError::invalid(
                "invalid_complaint",
                "a trustee cannot complain about itself",
            ));
        }
        let Some(reveal) = self.revealed.get(&dealer) else {
            return Err(BoardError::conflict(
                "wrong_state",
                format!("dealer {dealer} has not revealed its commitments"),
            ));
        };
        let (Some(share), Some(y)) = (
            reveal.shares.iter().find(|s| s.to == trustee),
            self.registrations.get(&trustee),
        ) else {
            return Err(BoardError::invalid(
                "invalid_complaint",
                format!("dealer {dealer} has no share for trustee {trustee}"),
            ));
        };
        dealer_is_bad(
            &self.ceremony_fp,
            dealer,
            trustee,
            y,
            &share.ephemeral,
            &share.ciphertext,
            &reveal.commitments,
            complaint,
        )
        .map_err(|e| BoardError::invalid("invalid_proof", format!("complaint evidence: {e}")))
    }

    /// The `dkg_commits_closed` entry the board appends at `close-commits`
    /// (SPEC.md §10.3 rule 2), or why not: a trustee that never commits
    /// would otherwise stop the ceremony, since no reveal is accepted
    /// before every commit. The dealers are fixed before any reveal, so the
    /// cut-off lets no one choose a polynomial after seeing another's.
    pub fn close_commits(&self) -> Result<Payload> {
        if self.phase != Phase::KeyCeremony || self.joint.is_some() || self.commits_closed {
            return Err(BoardError::conflict(
                "wrong_state",
                format!(
                    "close-commits needs round 1 in progress and not yet closed; the election is {}{}",
                    self.phase.as_str(),
                    if self.commits_closed { ", commits already closed" } else { "" }
                ),
            ));
        }
        let n = self.n() as usize;
        if self.registrations.len() != n {
            return Err(BoardError::conflict(
                "wrong_state",
                format!(
                    "round 1 has not started: {} of {n} trustees have registered",
                    self.registrations.len()
                ),
            ));
        }
        if self.commits.len() == n {
            return Err(BoardError::conflict(
                "wrong_state",
                "every trustee has committed: there is nothing to close",
            ));
        }
        if self.commits.len() < self.t() as usize {
            return Err(BoardError::conflict(
                "ceremony_incomplete",
                format!(
                    "only {} of {n} trustees have committed; the threshold is {}, so the ceremony could not produce a key",
                    self.commits.len(),
                    self.t()
                ),
            ));
        }
        Ok(Payload::DkgCommitsClosed {})
    }

    /// The joint key entry the board appends at `finalize-keys`
    /// (SPEC.md §10.3 step 5), or why not yet.
    pub fn finalize_keys(&self) -> Result<Payload> {
        if self.phase != Phase::KeyCeremony || self.joint.is_some() {
            return Err(BoardError::conflict(
                "wrong_state",
                format!(
                    "finalize-keys needs the key ceremony in progress without a joint key; the election is {}",
                    self.phase.as_str()
                ),
            ));
        }
        let n = self.n();
        if self.registrations.len() != n as usize {
            return Err(BoardError::conflict(
                "ceremony_incomplete",
                format!(
                    "{} of {n} trustees have registered",
                    self.registrations.len()
                ),
            ));
        }
        let mut bad = BTreeSet::new();
        for c in &self.complaints {
            let evidence = Complaint {
                shared_key: c.shared_key,
                proof: c.proof,
            };
            if self.judge(c.trustee, c.dealer, &evidence)? {
                bad.insert(c.dealer);
            }
        }
        let qualified: Vec<u32> = self
            .revealed
            .keys()
            .copied()
            .filter(|i| !bad.contains(i))
            .collect();
        if qualified.len() < self.t() as usize {
            return Err(BoardError::conflict(
                "ceremony_incomplete",
                format!(
                    "only {} qualified dealers ({qualified:?}); the threshold is {}",
                    qualified.len(),
                    self.t()
                ),
            ));
        }
        let dealers: Vec<&[Point]> = qualified
            .iter()
            .filter_map(|i| self.revealed.get(i).map(|r| r.commitments.as_slice()))
            .collect();
        let pk = joint_key(&dealers)
            .map_err(|e| BoardError::invalid("invalid_ceremony", e.to_string()))?;
        let mut vks = Vec::with_capacity(n as usize);
        for l in 1..=n {
            vks.push(
                *verification_key(l, &dealers)
                    .map_err(|e| BoardError::invalid("invalid_ceremony", e.to_string()))?
                    .as_point(),
            );
        }
        Ok(Payload::JointKey {
            qualified,
            public_key: pk,
            verification_keys: vks,
        })
    }

    /// The `voting_opened` entry (SPEC.md §10.6), or why not yet.
    pub fn open_voting(&self, bundle_sha256: [u8; 32]) -> Result<Payload> {
        if self.phase != Phase::Ready {
            return Err(BoardError::conflict(
                "wrong_state",
                format!(
                    "voting can open only when the election is ready (joint key and {} acknowledgements); it is {}",
                    self.t(),
                    self.phase.as_str()
                ),
            ));
        }
        if self.credentials.is_none() {
            return Err(BoardError::conflict(
                "wrong_state",
                "voting cannot open before the credential list is posted",
            ));
        }
        Ok(Payload::VotingOpened { bundle_sha256 })
    }

    /// The `voting_closed` entry, or why not.
    pub fn close_voting(&self) -> Result<Payload> {
        if self.phase != Phase::Open {
            return Err(wrong_state("closing", self.phase));
        }
        Ok(Payload::VotingClosed {})
    }

    /// The bound of the discrete logarithm per contest:
    /// `Σ weights of counted credentials × max_per_option`.
    fn dlog_bound(&self) -> u64 {
        let weights: u64 = match &self.credentials {
            Some(c) => self
                .last_ballot
                .keys()
                .map(|k| c.get(k).copied().unwrap_or(0))
                .sum(),
            None => 0,
        };
        let per = self
            .manifest
            .contests
            .iter()
            .map(|c| c.max_per_option)
            .max()
            .unwrap_or(1);
        weights.saturating_mul(per)
    }

    /// The `result` entry once `t` valid partial decryptions are in
    /// (SPEC.md §10.5), else `None`.
    pub fn result_due(&self) -> Result<Option<Payload>> {
        if self.phase != Phase::Closed || self.partials.len() < self.t() as usize {
            return Ok(None);
        }
        let Some(tally) = &self.tally else {
            return Ok(None);
        };
        let chosen: Vec<&(u32, Vec<DecryptionShare>)> =
            self.partials.iter().take(self.t() as usize).collect();
        // Capped so that a absurd weights cannot make the board allocate
        // without bound (2^40: a table of 2^20 points); a count beyond it
        // is reported as an error, not a wrong result.
        let table = DlogTable::new(self.dlog_bound().min(1 << 40));
        let mut flat = Vec::with_capacity(tally.len());
        for (k, ct) in tally.iter().enumerate() {
            let shares: Vec<(u32, Point)> = chosen
                .iter()
                .map(|(l, s)| s.get(k).map(|d| (*l, d.D)))
                .collect::<Option<_>>()
                .ok_or_else(|| BoardError::Internal("short partial decryption".into()))?;
            let point = combine(ct, &shares).map_err(|e| BoardError::Internal(e.to_string()))?;
            flat.push(
                table
                    .solve(&point)
                    .map_err(|e| BoardError::Internal(format!("tally position {k}: {e}")))?,
            );
        }
        let mut counts = Vec::new();
        let mut it = flat.into_iter();
        for c in &self.manifest.contests {
            counts.push(it.by_ref().take(c.options.len()).collect());
        }
        Ok(Some(Payload::Result {
            tally: tally.as_ref().clone(),
            trustees: chosen.iter().map(|(l, _)| *l).collect(),
            counts,
        }))
    }

    /// Add a ballot's ciphertexts to a running tally if it is the counted
    /// one of its credential (SPEC.md §10.5).
    pub fn tally_ballot(&self, sums: &mut [CiphertextSum], index: u64, ballot: &LiteBallot) {
        if self.last_ballot.get(&ballot.author.0) != Some(&index) {
            return;
        }
        let weight = self
            .credentials
            .as_ref()
            .and_then(|c| c.get(&ballot.author.0).copied())
            .unwrap_or(0);
        let cts = ballot.contests.iter().flat_map(|c| c.ciphertexts.iter());
        for (sum, ct) in sums.iter_mut().zip(cts) {
            sum.add(ct, weight);
        }
    }

    /// Number of tally positions: contests then options.
    pub fn tally_len(&self) -> usize {
        self.manifest.contests.iter().map(|c| c.options.len()).sum()
    }

    /// The status document of `GET /api/v1/elections/{id}` (SPEC.md §10.1).
    pub fn status(&self, checkpoint: &str, manifest_value: serde_json::Value) -> serde_json::Value {
        let waiting_for = self.waiting_for();
        json!({
            "id": self.id,
            "title": self.manifest.title,
            "state": self.phase.as_str(),
            "size": self.size,
            "manifest_hash": hex::encode(self.manifest_hash),
            "manifest": manifest_value,
            "public_key": self.joint.as_ref().map(|j| j.pk.as_point().to_hex()),
            "fingerprint": self.joint.as_ref().map(|j| hex::encode(j.fingerprint.as_bytes())),
            "verification_keys": self.joint.as_ref().map(|j| j.verification_keys.iter().map(Point::to_hex).collect::<Vec<_>>()),
            "qualified": self.joint.as_ref().map(|j| j.qualified.clone()),
            "trustees": self.manifest.trustees.iter().map(|t| json!({"index": t.index, "name": t.name, "key": t.key.to_hex()})).collect::<Vec<_>>(),
            "threshold": self.t(),
            "registered": self.registrations.keys().collect::<Vec<_>>(),
            "committed": self.commits.keys().collect::<Vec<_>>(),
            "commits_closed": self.commits_closed,
            "revealed": self.revealed.keys().collect::<Vec<_>>(),
            "complaints": self.complaints.iter().map(|c| json!({"trustee": c.trustee, "dealer": c.dealer})).collect::<Vec<_>>(),
            "acks": self.acks.iter().collect::<Vec<_>>(),
            "credentials": self.credentials.as_ref().map(|c| c.len()),
            "bundle_sha256": self.bundle.map(hex::encode),
            "ballots": self.ballots,
            "counted": self.last_ballot.len(),
            "tally": self.tally.as_ref().map(|t| t.as_ref().clone()),
            "decrypted": self.partials.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            "result": self.result,
            "waiting_for": waiting_for,
            "checkpoint": checkpoint,
        })
    }

    /// A sentence saying what the ceremony waits for next.
    fn waiting_for(&self) -> String {
        let n = self.n() as usize;
        let missing =
            |have: Vec<u32>| -> Vec<u32> { (1..=self.n()).filter(|l| !have.contains(l)).collect() };
        match self.phase {
            Phase::Setup => format!("trustee registrations (0 of {n})"),
            Phase::KeyCeremony if self.registrations.len() < n => format!(
                "trustee registrations from {:?}",
                missing(self.registrations.keys().copied().collect())
            ),
            Phase::KeyCeremony
                if self.joint.is_none() && !self.commits_closed && self.commits.len() < n =>
            {
                format!(
                    "dkg_commit from {:?} (or the administrator's close-commits to go on without them)",
                    missing(self.commits.keys().copied().collect())
                )
            }
            Phase::KeyCeremony
                if self.joint.is_none() && self.revealed.len() < self.commits.len() =>
            {
                format!(
                    "dkg_commitments from {:?} (or finalize-keys to disqualify them)",
                    self.commits
                        .keys()
                        .filter(|i| !self.revealed.contains_key(i))
                        .collect::<Vec<_>>()
                )
            }
            Phase::KeyCeremony if self.joint.is_none() => {
                "complaints, then the administrator's finalize-keys".into()
            }
            Phase::KeyCeremony => format!(
                "key_ack from {} more trustee(s)",
                (self.t() as usize).saturating_sub(self.acks.len())
            ),
            Phase::Ready if self.credentials.is_none() => {
                "the credential list, then the administrator's open".into()
            }
            Phase::Ready => "the administrator's open".into(),
            Phase::Open => "ballots, then the administrator's close".into(),
            Phase::Closed => format!(
                "partial decryptions ({} of {} valid)",
                self.partials.len(),
                self.t()
            ),
            Phase::Tallied => "nothing: the result is published".into(),
        }
    }
}

fn board_only(kind: &str) -> BoardError {
    BoardError::forbidden(
        "board_only",
        format!("{kind} entries are written by the board itself"),
    )
}

/// The rejection for a credential that is not on the list.
pub fn not_eligible() -> BoardError {
    BoardError::forbidden(
        "not_eligible",
        "the ballot's credential is not on the published credential list",
    )
}

/// Refuse a ballot whose ciphertexts repeat each other or an earlier
/// ballot's (SPEC.md §10.4 rule 6).
pub fn check_points_unused(points: &[[u8; 32]], used: &HashSet<[u8; 32]>) -> Result<()> {
    let mut seen = HashSet::with_capacity(points.len());
    for p in points {
        if used.contains(p) || !seen.insert(*p) {
            return Err(BoardError::conflict(
                "ciphertext_reused",
                "a ciphertext of this ballot already appears on the board (copied or replayed ballot)",
            ));
        }
    }
    Ok(())
}

/// Verify one ballot singly (the slow path; the verification stage batches).
pub fn verify_ballot_with(
    params: &BallotParams,
    credential: &[u8; 32],
    ballot: &psephos_crypto::ballot::EncryptedBallot,
) -> Result<()> {
    let ctx = BallotContext {
        fingerprint: &params.fingerprint,
        pk: &params.pk,
        credential,
    };
    verify_ballot(&ctx, &params.contests, ballot).map_err(ballot_error)
}

/// Map a crypto error about a ballot to its rejection.
pub fn ballot_error(e: psephos_crypto::Error) -> BoardError {
    match e {
        psephos_crypto::Error::ProofInvalid { .. } => {
            BoardError::invalid("invalid_proof", format!("ballot: {e}"))
        }
        other => BoardError::invalid("ballot_malformed", other.to_string()),
    }
}
