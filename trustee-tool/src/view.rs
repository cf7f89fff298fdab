//! The election as this tool reads it from the board's log (SPEC.md §9,
//! §8.5): every line is parsed in canonical form, chained to the one before
//! (§9.2), and its signature checked (§9.1); the manifest must be entry 0,
//! signed by the board's key. Posts by the wrong author or out of order are
//! not counted (and noted in [`ElectionView::warnings`]): an honest board
//! refuses them, so seeing one means the board misbehaves.
//!
//! Ballots are not kept in the view: [`fetch_view`] hands each page's
//! ballots to a callback, so reading a million-ballot log takes memory for
//! one page at a time (the tally keeps one entry per credential).

use std::collections::{btree_map, BTreeMap, HashSet};

use psephos_crypto::ballot::EncryptedBallot;
use psephos_crypto::elgamal::{Ciphertext, PublicKey};
use psephos_crypto::encoding::{NonIdentityPoint, Point};
use psephos_crypto::log::merkle::{leaf_hash, Hash};
use psephos_crypto::proofs::all_hold;
use psephos_crypto::proofs::dleq::DleqProof;
use psephos_crypto::record::{
    AuthorKey, Body, ChainFollower, CredentialEntry, EncryptedShare, Entry, Manifest, Payload,
};
use psephos_crypto::threshold::{coefficient_equations, DecryptionShare};
use psephos_crypto::Fingerprint;
use sha2::{Digest, Sha256};

use crate::board::{BoardClient, PAGE};
use crate::error::{Result, TrusteeError};

/// A dealer's revealed round-1 message that passed every public check
/// (SPEC.md §8.5.2).
#[derive(Clone, Debug)]
pub struct Reveal {
    /// Entry index.
    pub index: u64,
    /// `A_i0..A_i(t-1)`.
    pub commitments: Vec<Point>,
    /// One encrypted share per other trustee.
    pub shares: Vec<EncryptedShare>,
}

/// A `dkg_complaint` entry.
#[derive(Clone, Debug)]
pub struct ComplaintRecord {
    /// Entry index.
    pub index: u64,
    /// Complaining trustee `l`.
    pub trustee: u32,
    /// Accused dealer `i`.
    pub dealer: u32,
    /// Revealed `K = y_l·E`.
    pub shared_key: Point,
    /// `log_G Y_l = log_E K`.
    pub proof: DleqProof,
}

/// The board's `joint_key` entry.
#[derive(Clone, Debug)]
pub struct JointKeyEntry {
    /// Entry index.
    pub index: u64,
    /// Qualified dealers, as the board lists them.
    pub qualified: Vec<u32>,
    /// `PK`.
    pub public_key: PublicKey,
    /// `X_1..X_n`.
    pub verification_keys: Vec<Point>,
}

/// The board's `result` entry.
#[derive(Clone, Debug)]
pub struct ResultEntry {
    /// The tally the board combined.
    pub tally: Vec<Ciphertext>,
    /// The trustees whose shares it used.
    pub trustees: Vec<u32>,
    /// Counts per contest per option.
    pub counts: Vec<Vec<u64>>,
}

/// A ballot entry inside the voting window by a listed credential.
#[derive(Debug)]
pub struct BallotItem {
    /// Entry index.
    pub index: u64,
    /// The credential that signed it.
    pub author: AuthorKey,
    /// The ballot.
    pub ballot: EncryptedBallot,
}

/// What the log says, up to the entry read last.
#[derive(Debug)]
pub struct ElectionView {
    /// Election id.
    pub election: String,
    /// Entry 0.
    pub manifest: Manifest,
    /// Leaf hash of entry 0 (SPEC.md §3.1).
    pub manifest_hash: Hash,
    /// Author of entry 0: the board.
    pub board_key: AuthorKey,
    /// Entries read.
    pub size: u64,
    /// Leaf hash of the last entry read.
    pub head: Hash,
    /// `Y_l` per registered trustee.
    pub registrations: BTreeMap<u32, NonIdentityPoint>,
    /// Committed hash per trustee, with its entry index.
    pub commits: BTreeMap<u32, (u64, [u8; 32])>,
    /// Index of the board's `dkg_commits_closed`, if the administrator cut
    /// round-1 commits off (SPEC.md §8.5.2).
    pub commits_closed: Option<u64>,
    /// Valid reveals per dealer.
    pub reveals: BTreeMap<u32, Reveal>,
    /// Reveals that failed a public check, with the reason.
    pub rejected_reveals: BTreeMap<u32, String>,
    /// Complaints posted before the joint key.
    pub complaints: Vec<ComplaintRecord>,
    /// The joint key entry, once posted.
    pub joint: Option<JointKeyEntry>,
    /// Acknowledged key per trustee.
    pub acks: BTreeMap<u32, PublicKey>,
    /// The credential list, once posted.
    pub credentials: Option<Vec<CredentialEntry>>,
    /// The listed credential keys, for the eligibility check of each ballot
    /// (a scan of the list per ballot would make reading the log quadratic).
    listed: HashSet<AuthorKey>,
    /// Index of `voting_opened`.
    pub opened: Option<u64>,
    /// Index of `voting_closed`.
    pub closed: Option<u64>,
    /// Ballot entries in the voting window by listed credentials.
    pub ballots: u64,
    /// Partial decryptions per trustee.
    pub partials: BTreeMap<u32, Vec<DecryptionShare>>,
    /// The result, once posted.
    pub result: Option<ResultEntry>,
    /// Entries not counted, and why.
    pub warnings: Vec<String>,
}

impl ElectionView {
    /// `n`.
    pub fn n(&self) -> u32 {
        self.manifest.trustees.len() as u32
    }

    /// `t`.
    pub fn t(&self) -> u32 {
        self.manifest.threshold
    }

    /// The ceremony fingerprint (SPEC.md §3.1).
    pub fn ceremony_fp(&self) -> Fingerprint {
        Fingerprint::ceremony(&self.manifest_hash)
    }

    /// The election fingerprint, once the joint key is posted.
    pub fn election_fp(&self) -> Option<Fingerprint> {
        self.joint
            .as_ref()
            .map(|j| Fingerprint::election(&self.manifest_hash, &j.public_key.to_non_identity()))
    }

    /// The trustee index whose manifest key is `key`.
    pub fn trustee_index(&self, key: &AuthorKey) -> Option<u32> {
        self.manifest
            .trustees
            .iter()
            .find(|t| t.key == *key)
            .map(|t| t.index)
    }

    /// The dealers whose reveal round 1 waits for: every trustee, or once
    /// commits are closed, those that committed (SPEC.md §8.5.2).
    pub fn round1_dealers(&self) -> Vec<u32> {
        match self.commits_closed {
            Some(_) => self.commits.keys().copied().collect(),
            None => (1..=self.n()).collect(),
        }
    }

    /// Trustees `1..=n` not in `have`.
    pub fn missing<V>(&self, have: &BTreeMap<u32, V>) -> Vec<u32> {
        (1..=self.n()).filter(|l| !have.contains_key(l)).collect()
    }

    fn warn(&mut self, index: u64, why: impl std::fmt::Display) {
        self.warnings.push(format!("entry {index}: {why}"));
    }

    fn is_trustee(&self, author: &AuthorKey, l: u32) -> bool {
        self.manifest
            .trustees
            .iter()
            .any(|t| t.index == l && t.key == *author)
    }

    fn check_reveal(&self, trustee: u32, text: &str, payload: &Payload) -> Result<(), String> {
        let Payload::DkgCommitments {
            commitments,
            proofs,
            shares,
            ..
        } = payload
        else {
            return Err("not a dkg_commitments body".into());
        };
        // Commit-then-reveal (SPEC.md §8.5.2): a reveal counts only once
        // every trustee's commit is on the log, or no dealer could be sure
        // the others chose their polynomials blind. An honest board refuses
        // an early reveal; this tool does not take the board's word for it.
        let missing = self.missing(&self.commits);
        if !missing.is_empty() && self.commits_closed.is_none() {
            return Err(format!(
                "revealed before every trustee committed (missing {})",
                crate::ceremony::list(&missing)
            ));
        }
        let Some((_, hash)) = self.commits.get(&trustee) else {
            return Err("revealed without a dkg_commit".into());
        };
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        if digest != *hash {
            return Err("SHA-256 of the body is not the committed hash".into());
        }
        let eqs =
            coefficient_equations(&self.ceremony_fp(), trustee, self.t(), commitments, proofs)
                .map_err(|e| e.to_string())?;
        if !all_hold(&eqs) {
            return Err("a coefficient proof does not verify".into());
        }
        let mut to: Vec<u32> = shares.iter().map(|s| s.to).collect();
        to.sort_unstable();
        let expected: Vec<u32> = (1..=self.n()).filter(|l| *l != trustee).collect();
        if to != expected {
            return Err(format!("expected one share for each of {expected:?}"));
        }
        if shares.iter().any(|s| s.ephemeral.is_identity()) {
            return Err("an ephemeral key is the identity".into());
        }
        Ok(())
    }

    /// Apply one opened entry (after entry 0). Returns a ballot for the
    /// caller when it is one that may count.
    fn apply(&mut self, index: u64, text: &str, body: Body) -> Option<BallotItem> {
        if body.election != self.election {
            self.warn(index, "belongs to another election");
            return None;
        }
        let author = body.author;
        let by_board = author == self.board_key;
        let in_ceremony = self.joint.is_none();
        match body.payload {
            Payload::Manifest(_) => self.warn(index, "a second manifest"),
            Payload::TrusteeRegistration {
                trustee,
                encryption_key,
            } => {
                if !self.is_trustee(&author, trustee) {
                    self.warn(index, format!("registration for {trustee} by another key"));
                } else {
                    match (
                        self.registrations.entry(trustee),
                        encryption_key.non_identity("encryption key"),
                    ) {
                        (btree_map::Entry::Vacant(slot), Ok(y)) => {
                            slot.insert(y);
                        }
                        (btree_map::Entry::Vacant(_), Err(e)) => self.warn(index, e),
                        (btree_map::Entry::Occupied(_), _) => {
                            self.warn(index, format!("second registration of trustee {trustee}"))
                        }
                    }
                }
            }
            Payload::DkgCommit { trustee, hash } => {
                if !self.is_trustee(&author, trustee) {
                    self.warn(index, format!("dkg_commit for {trustee} by another key"));
                } else if !in_ceremony
                    || self.registrations.len() != self.n() as usize
                    || self.commits_closed.is_some()
                    || !self.reveals.is_empty()
                    || self.commits.contains_key(&trustee)
                {
                    self.warn(
                        index,
                        format!("dkg_commit of trustee {trustee} out of order"),
                    );
                } else {
                    self.commits.insert(trustee, (index, hash));
                }
            }
            Payload::DkgCommitsClosed {} => {
                let n = self.n() as usize;
                if !by_board
                    || !in_ceremony
                    || self.commits_closed.is_some()
                    || self.registrations.len() != n
                    || self.commits.len() < self.t() as usize
                    || self.commits.len() == n
                    || !self.reveals.is_empty()
                {
                    self.warn(
                        index,
                        "dkg_commits_closed not by the board, repeated, or against the rules of SPEC.md §10.3",
                    );
                } else {
                    self.commits_closed = Some(index);
                }
            }
            ref p @ Payload::DkgCommitments { trustee, .. } => {
                if !self.is_trustee(&author, trustee) {
                    self.warn(
                        index,
                        format!("dkg_commitments for {trustee} by another key"),
                    );
                } else if !in_ceremony
                    || self.reveals.contains_key(&trustee)
                    || self.rejected_reveals.contains_key(&trustee)
                {
                    self.warn(index, format!("dkg_commitments of {trustee} out of order"));
                } else {
                    match self.check_reveal(trustee, text, p) {
                        Ok(()) => {
                            if let Payload::DkgCommitments {
                                commitments,
                                shares,
                                ..
                            } = body.payload
                            {
                                self.reveals.insert(
                                    trustee,
                                    Reveal {
                                        index,
                                        commitments,
                                        shares,
                                    },
                                );
                            }
                        }
                        Err(why) => {
                            self.warn(index, format!("dealer {trustee}: {why}"));
                            self.rejected_reveals.insert(trustee, why);
                        }
                    }
                }
            }
            Payload::DkgComplaint {
                trustee,
                dealer,
                shared_key,
                proof,
            } => {
                if !self.is_trustee(&author, trustee) {
                    self.warn(
                        index,
                        format!("complaint by {trustee} signed by another key"),
                    );
                } else if !in_ceremony {
                    self.warn(index, "complaint after the joint key");
                } else {
                    self.complaints.push(ComplaintRecord {
                        index,
                        trustee,
                        dealer,
                        shared_key,
                        proof,
                    });
                }
            }
            Payload::JointKey {
                qualified,
                public_key,
                verification_keys,
            } => {
                if !by_board || !in_ceremony {
                    self.warn(index, "joint_key not by the board, or a second one");
                } else {
                    self.joint = Some(JointKeyEntry {
                        index,
                        qualified,
                        public_key,
                        verification_keys,
                    });
                }
            }
            Payload::KeyAck {
                trustee,
                public_key,
            } => {
                if !self.is_trustee(&author, trustee) || in_ceremony {
                    self.warn(
                        index,
                        format!("key_ack of {trustee} by another key or early"),
                    );
                } else {
                    self.acks.entry(trustee).or_insert(public_key);
                }
            }
            Payload::CredentialList { credentials } => {
                if author != self.manifest.credential_authority
                    || self.credentials.is_some()
                    || self.opened.is_some()
                {
                    self.warn(index, "credential_list by another key, repeated, or late");
                } else {
                    self.listed = credentials.iter().map(|c| c.key).collect();
                    self.credentials = Some(credentials);
                }
            }
            Payload::VotingOpened { .. } => {
                if by_board && self.opened.is_none() && !in_ceremony {
                    self.opened = Some(index);
                } else {
                    self.warn(index, "voting_opened not by the board, early or repeated");
                }
            }
            Payload::VotingClosed {} => {
                if by_board && self.opened.is_some() && self.closed.is_none() {
                    self.closed = Some(index);
                } else {
                    self.warn(index, "voting_closed not by the board, early or repeated");
                }
            }
            Payload::Ballot(ballot) => {
                let listed = self.listed.contains(&author);
                if self.opened.is_none() || self.closed.is_some() || !listed {
                    self.warn(
                        index,
                        "ballot outside the voting window or by an unlisted key",
                    );
                } else {
                    self.ballots += 1;
                    return Some(BallotItem {
                        index,
                        author,
                        ballot,
                    });
                }
            }
            Payload::PartialDecryption { trustee, shares } => {
                if !self.is_trustee(&author, trustee) || self.closed.is_none() {
                    self.warn(
                        index,
                        format!("partial_decryption of {trustee} by another key or early"),
                    );
                } else {
                    self.partials.entry(trustee).or_insert(shares);
                }
            }
            Payload::Result {
                tally,
                trustees,
                counts,
            } => {
                if by_board {
                    self.result = Some(ResultEntry {
                        tally,
                        trustees,
                        counts,
                    });
                } else {
                    self.warn(index, "result not by the board");
                }
            }
        }
        None
    }
}

/// Reads a log line by line into an [`ElectionView`].
#[derive(Debug)]
pub struct ViewBuilder {
    election: String,
    board_key: Option<AuthorKey>,
    chain: ChainFollower,
    view: Option<ElectionView>,
}

impl ViewBuilder {
    /// Start reading election `election`; if `board_key` is given, entry 0
    /// must be signed with it.
    pub fn new(election: &str, board_key: Option<AuthorKey>) -> Self {
        ViewBuilder {
            election: election.to_owned(),
            board_key,
            chain: ChainFollower::new(),
            view: None,
        }
    }

    /// Read the next line.
    pub fn push(&mut self, line: &str) -> Result<Option<BallotItem>> {
        let opened = open_line(line)?;
        self.push_opened(line, opened)
    }

    /// Read the next line, already parsed and its signature checked by
    /// [`open_line`] (which may run ahead on other threads).
    fn push_opened(
        &mut self,
        line: &str,
        (entry, body): (Entry, Body),
    ) -> Result<Option<BallotItem>> {
        let misbehaves = TrusteeError::BoardMisbehaves;
        let leaf = self
            .chain
            .accept(line, &entry)
            .map_err(|e| misbehaves(e.to_string()))?;
        let text = entry.body.get();
        match &mut self.view {
            None => {
                let Payload::Manifest(manifest) = body.payload else {
                    return Err(misbehaves("entry 0 is not the manifest".into()));
                };
                if let Some(k) = self.board_key {
                    if body.author != k {
                        return Err(misbehaves(
                            "the manifest is not signed with the board's key".into(),
                        ));
                    }
                }
                if body.election != self.election {
                    return Err(misbehaves(format!(
                        "the manifest is for election {:?}",
                        body.election
                    )));
                }
                let indices: Vec<u32> = manifest.trustees.iter().map(|t| t.index).collect();
                let expected: Vec<u32> = (1..=indices.len() as u32).collect();
                if indices != expected
                    || manifest.threshold == 0
                    || manifest.threshold > indices.len() as u32
                {
                    return Err(misbehaves(
                        "the manifest's trustees are not 1..n or its threshold is not in 1..=n"
                            .into(),
                    ));
                }
                self.view = Some(ElectionView {
                    election: self.election.clone(),
                    manifest,
                    manifest_hash: leaf,
                    board_key: body.author,
                    size: 1,
                    head: leaf,
                    registrations: BTreeMap::new(),
                    commits: BTreeMap::new(),
                    commits_closed: None,
                    reveals: BTreeMap::new(),
                    rejected_reveals: BTreeMap::new(),
                    complaints: Vec::new(),
                    joint: None,
                    acks: BTreeMap::new(),
                    credentials: None,
                    listed: HashSet::new(),
                    opened: None,
                    closed: None,
                    ballots: 0,
                    partials: BTreeMap::new(),
                    result: None,
                    warnings: Vec::new(),
                });
                Ok(None)
            }
            Some(view) => {
                view.size = entry.index + 1;
                view.head = leaf;
                Ok(view.apply(entry.index, text, body))
            }
        }
    }

    /// The view so far (`None` before entry 0).
    pub fn view(&self) -> Option<&ElectionView> {
        self.view.as_ref()
    }

    /// The view, once at least the manifest was read.
    pub fn finish(self) -> Result<ElectionView> {
        self.view.ok_or_else(|| {
            TrusteeError::Protocol(format!(
                "election {:?} has no entries: has the administrator created it?",
                self.election
            ))
        })
    }
}

/// Read the whole log of `election`. Each page's ballots are handed to
/// `on_ballots` with the view as it stands after that page.
pub fn fetch_view<B: BoardClient>(
    board: &B,
    election: &str,
    mut on_ballots: impl FnMut(&ElectionView, Vec<BallotItem>) -> Result<()>,
) -> Result<ElectionView> {
    let info = board.board_info()?;
    let board_key = AuthorKey::from_hex(&info.public_key)
        .map_err(|e| TrusteeError::BoardMisbehaves(format!("board key: {e}")))?;
    let mut builder = ViewBuilder::new(election, Some(board_key));
    let mut start = 0u64;
    loop {
        let page = board.entries(election, start, start + PAGE)?;
        if page.lines.is_empty() {
            break;
        }
        let mut ballots = Vec::new();
        for (line, opened) in page.lines.iter().zip(open_lines(&page.lines)) {
            if let Some(b) = builder.push_opened(line, opened?)? {
                ballots.push(b);
            }
        }
        start += page.lines.len() as u64;
        if let Some(view) = builder.view() {
            if !ballots.is_empty() {
                on_ballots(view, ballots)?;
            }
        }
        if page.log_size.is_some_and(|size| start >= size) {
            break;
        }
    }
    builder.finish()
}

/// Parse a line in canonical form and check its signature (SPEC.md §9.1,
/// §9.2): the per-line work that does not depend on the lines before it.
fn open_line(line: &str) -> Result<(Entry, Body)> {
    let misbehaves = TrusteeError::BoardMisbehaves;
    let entry = Entry::from_line(line).map_err(|e| misbehaves(e.to_string()))?;
    let body = entry
        .open()
        .map_err(|e| misbehaves(format!("entry {}: {e}", entry.index)))?;
    Ok((entry, body))
}

/// [`open_line`] for a page of lines on every core, results in line order.
/// Signature checks and ballot parsing (point decoding) are most of the
/// cost of reading a log; the chain and the rules still run in order.
fn open_lines(lines: &[String]) -> Vec<Result<(Entry, Body)>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = lines.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(|l| open_line(l)).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(lines.len());
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                Err(_) => out.push(Err(TrusteeError::Protocol(
                    "a thread reading the log failed".into(),
                ))),
            }
        }
        out
    })
}

/// Read the log, ignoring ballots (the key ceremony).
pub fn fetch_ceremony_view<B: BoardClient>(board: &B, election: &str) -> Result<ElectionView> {
    fetch_view(board, election, |_, _| Ok(()))
}

/// The leaf hash of a line (for callers that keep receipts).
pub fn line_hash(line: &str) -> Hash {
    leaf_hash(line.as_bytes())
}
