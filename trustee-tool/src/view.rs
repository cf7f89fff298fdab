//! The election as this tool reads it from the board's log (SPEC.md §8.5,
//! §9): every line parsed in canonical form and chained to the one before
//! (§9.2), every body canonical and its signature checked (§9.1, §9.1.1),
//! entry 0 the manifest signed by the board's key, and then every entry
//! replayed through the one election state machine,
//! [`psephos_crypto::election::Election`], that the board, mirrors, voters
//! and the verifier replay too. This tool keeps no rule of its own.
//!
//! The board is an adversary here (§8.5: "a post that does not count is
//! evidence against the board"). An entry that breaks a rule does not
//! count: it is noted in [`ElectionView::warnings`] with its index, the
//! rule and the SPEC.md section, and reading goes on. An entry the board
//! signed itself (`manifest`, `dkg_commits_closed`, `joint_key`,
//! `voting_opened`, `voting_closed`, `result`) that breaks a rule stops
//! the tool with [`TrusteeError::BoardEntryBroken`]: the trustee would
//! otherwise act on a lying board (for example a `joint_key` with fewer
//! than `t` qualified dealers, §8.5.4).
//!
//! Ballots are not kept: each page's ballots have their proofs verified
//! on every core in a batch (§5.6, §10.4 rule 5), and are then applied in
//! log order with [`Election::ballot`]; the state machine keeps, per
//! credential, only the ciphertexts of its counted ballot.

use std::collections::BTreeMap;
use std::fmt;

use psephos_crypto::ballot::EncryptedBallot;
use psephos_crypto::election::{
    BallotParams, Ceremony, Election, JointKey, Phase, Trust, Violation,
};
use psephos_crypto::elgamal::Ciphertext;
use psephos_crypto::log::merkle::{leaf_hash, Hash};
use psephos_crypto::record::{self, AuthorKey, Body, ChainFollower, Entry, Manifest, Payload};
use psephos_crypto::Fingerprint;
use sha2::{Digest, Sha256};

use crate::board::{BoardClient, PAGE};
use crate::error::{Result, TrusteeError};

/// An entry that does not count because it breaks a rule of SPEC.md: an
/// honest board would have refused it (§8.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Entry index.
    pub index: u64,
    /// Its `type`.
    pub kind: &'static str,
    /// The rule it breaks, and how.
    pub violation: Violation,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "entry {} ({}) does not count, it breaks rule {:?}: {}",
            self.index, self.kind, self.violation.rule, self.violation
        )
    }
}

/// The `credential_list` entry that counts (SPEC.md §10.3 rule 7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialListEntry {
    /// Entry index.
    pub index: u64,
    /// SHA-256 of its body text: the canonical form of the body (§9.1.1),
    /// so the credential authority recognises its own list by it.
    pub body_sha256: [u8; 32],
    /// Number of credentials.
    pub count: usize,
}

/// How much of the log a step reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Up to and including `voting_opened`: the key ceremony and the
    /// credential list, everything a ceremony step decides from
    /// (SPEC.md §8.5.1–§8.5.4, §12.1). No ballot is read.
    Ceremony,
    /// The whole log, every ballot's proofs verified (SPEC.md §8.5.5).
    Everything,
}

/// What the log says, up to the entry read last.
#[derive(Debug)]
pub struct ElectionView {
    /// The election state: every entry that counts, applied in order.
    state: Election,
    /// Entries read.
    pub size: u64,
    /// Leaf hash of the last entry read.
    pub head: Hash,
    /// Leaf hashes of every entry read, in order (SPEC.md §7.1): the tree
    /// this tool checks the board's checkpoints against (§14.2).
    pub leaves: Vec<Hash>,
    /// Per dealer, its first `dkg_commitments` post (signed with its own
    /// key) that does not count, and why.
    pub rejected_reveals: BTreeMap<u32, Skipped>,
    /// The credential list that counts.
    pub credential_list: Option<CredentialListEntry>,
    /// Entries that do not count, in log order.
    pub warnings: Vec<Skipped>,
}

impl ElectionView {
    /// The election state machine's state after the entries read.
    pub fn election(&self) -> &Election {
        &self.state
    }

    /// The election id.
    pub fn id(&self) -> &str {
        self.state.id()
    }

    /// Entry 0.
    pub fn manifest(&self) -> &Manifest {
        self.state.manifest()
    }

    /// Leaf hash of entry 0 (SPEC.md §3.1).
    pub fn manifest_hash(&self) -> &Hash {
        self.state.manifest_hash()
    }

    /// The key ceremony so far: only posts that count.
    pub fn ceremony(&self) -> &Ceremony {
        self.state.ceremony()
    }

    /// The joint key entry, once one counts (SPEC.md §8.5.4: it equals
    /// `Q`, `PK` and every `X_m` recomputed from the log).
    pub fn joint(&self) -> Option<&JointKey> {
        self.state.joint()
    }

    /// `n`.
    pub fn n(&self) -> u32 {
        self.state.n()
    }

    /// `t`.
    pub fn t(&self) -> u32 {
        self.state.t()
    }

    /// The ceremony fingerprint (SPEC.md §3.1).
    pub fn ceremony_fp(&self) -> &Fingerprint {
        self.state.ceremony_fingerprint()
    }

    /// The election fingerprint, once the joint key counts.
    pub fn election_fp(&self) -> Option<Fingerprint> {
        self.joint().map(|j| j.fingerprint)
    }

    /// The trustee index whose manifest key is `key`.
    pub fn trustee_index(&self, key: &AuthorKey) -> Option<u32> {
        self.manifest()
            .trustees
            .iter()
            .find(|t| t.key == *key)
            .map(|t| t.index)
    }

    /// The dealers whose reveal round 1 waits for: every trustee, or once
    /// commits are closed, those that committed (SPEC.md §8.5.2).
    pub fn round1_dealers(&self) -> Vec<u32> {
        let c = self.ceremony();
        match c.commits_closed {
            Some(_) => c.commits.keys().copied().collect(),
            None => (1..=self.n()).collect(),
        }
    }

    /// Trustees `1..=n` not in `have`.
    pub fn missing<V>(&self, have: &BTreeMap<u32, V>) -> Vec<u32> {
        (1..=self.n()).filter(|l| !have.contains_key(l)).collect()
    }

    /// Entries of type `kind` that do not count.
    pub fn skipped<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Skipped> + 'a {
        self.warnings.iter().filter(move |w| w.kind == kind)
    }

    /// Apply one opened non-ballot entry with every check (SPEC.md §8.5:
    /// `Trust::Nothing`, the board is not trusted).
    fn apply(&mut self, index: u64, body: &Body, text: &str) -> Result<()> {
        match self.state.apply(index, body, text, Trust::Nothing) {
            Ok(_) => {
                if let Payload::CredentialList { credentials } = &body.payload {
                    self.credential_list = Some(CredentialListEntry {
                        index,
                        body_sha256: Sha256::digest(text.as_bytes()).into(),
                        count: credentials.len(),
                    });
                }
                Ok(())
            }
            Err(violation) => self.refuse(index, body, violation),
        }
    }

    /// An entry broke a rule: fatal for the board's own entries, a warning
    /// otherwise.
    fn refuse(&mut self, index: u64, body: &Body, violation: Violation) -> Result<()> {
        let kind = body.payload.type_name();
        if is_board_type(&body.payload) && body.author == *self.state.board_key() {
            return Err(TrusteeError::BoardEntryBroken {
                index,
                kind,
                violation,
            });
        }
        let skipped = Skipped {
            index,
            kind,
            violation,
        };
        if let Payload::DkgCommitments { trustee, .. } = &body.payload {
            let own_key = self
                .manifest()
                .trustees
                .iter()
                .any(|t| t.index == *trustee && t.key == body.author);
            if own_key {
                self.rejected_reveals
                    .entry(*trustee)
                    .or_insert_with(|| skipped.clone());
            }
        }
        self.warnings.push(skipped);
        Ok(())
    }
}

/// The types only the board writes (SPEC.md §9.3, §10.2).
fn is_board_type(p: &Payload) -> bool {
    matches!(
        p,
        Payload::Manifest(_)
            | Payload::DkgCommitsClosed {}
            | Payload::JointKey { .. }
            | Payload::VotingOpened { .. }
            | Payload::VotingClosed {}
            | Payload::Result { .. }
    )
}

/// A line opened off the log's order: parsed, canonical, signature checked.
#[derive(Debug)]
pub enum Opened {
    /// A ballot, by the fast path (`record::open_ballot`).
    Ballot(record::OpenedBallot),
    /// Any other body (boxed: a page holds one `Opened` per line, mostly
    /// ballots).
    Other(Box<Body>),
}

/// A ballot waiting for its proofs to be verified with its page's.
#[derive(Debug)]
struct PendingBallot {
    index: u64,
    ballot: record::OpenedBallot,
}

/// Reads a log line by line into an [`ElectionView`].
#[derive(Debug)]
pub struct ViewBuilder {
    election: String,
    board_key: Option<AuthorKey>,
    reading: Reading,
    chain: ChainFollower,
    view: Option<ElectionView>,
    pending: Vec<PendingBallot>,
    threads: usize,
}

impl ViewBuilder {
    /// Start reading election `election`; if `board_key` is given, entry 0
    /// must be signed with it.
    pub fn new(election: &str, board_key: Option<AuthorKey>, reading: Reading) -> Self {
        ViewBuilder {
            election: election.to_owned(),
            board_key,
            reading,
            chain: ChainFollower::new(),
            view: None,
            pending: Vec::new(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// Whether the reading asked for is complete before the end of the
    /// log (a [`Reading::Ceremony`] past `voting_opened`).
    pub fn is_done(&self) -> bool {
        self.reading == Reading::Ceremony
            && self
                .view
                .as_ref()
                .is_some_and(|v| v.state.opened_at().is_some())
    }

    /// Read the next line.
    pub fn push(&mut self, line: &str) -> Result<()> {
        let opened = open_line(line)?;
        self.push_opened(line, opened)?;
        self.flush()
    }

    /// Read a page of lines: opened on every core, then chained and
    /// applied in order, the page's ballots verified in one parallel batch.
    pub fn push_page(&mut self, lines: &[String]) -> Result<()> {
        for (line, opened) in lines.iter().zip(open_lines(lines)) {
            if self.is_done() {
                break;
            }
            self.push_opened(line, opened?)?;
        }
        self.flush()
    }

    /// Read the next line, already opened by [`open_line`]. A ballot waits
    /// in `pending` until the next other entry or [`ViewBuilder::flush`].
    fn push_opened(&mut self, line: &str, (entry, opened): (Entry, Opened)) -> Result<()> {
        if self.is_done() {
            return Ok(());
        }
        let leaf = self
            .chain
            .accept(line, &entry)
            .map_err(|e| TrusteeError::BoardMisbehaves(e.to_string()))?;
        let index = entry.index;
        let Some(view) = self.view.as_mut() else {
            return self.begin(leaf, opened);
        };
        view.size = index + 1;
        view.head = leaf;
        view.leaves.push(leaf);
        match opened {
            Opened::Ballot(ballot) if ballot.election == view.state.id() => {
                self.pending.push(PendingBallot { index, ballot });
                Ok(())
            }
            Opened::Ballot(b) => {
                // Another election's ballot: the state machine names the rule.
                self.flush()?;
                let body = Body {
                    election: b.election,
                    author: b.author,
                    payload: Payload::Ballot(b.ballot),
                };
                self.apply(index, &body, entry.body.get())
            }
            Opened::Other(body) => {
                self.flush()?;
                self.apply(index, &body, entry.body.get())
            }
        }
    }

    fn apply(&mut self, index: u64, body: &Body, text: &str) -> Result<()> {
        match self.view.as_mut() {
            Some(view) => view.apply(index, body, text),
            None => Err(TrusteeError::Protocol("no manifest read".into())),
        }
    }

    /// Entry 0 (SPEC.md §11.3): the manifest of this election, signed by
    /// the board's key.
    fn begin(&mut self, leaf: Hash, opened: Opened) -> Result<()> {
        let body = match opened {
            Opened::Other(body) => *body,
            Opened::Ballot(b) => Body {
                election: b.election,
                author: b.author,
                payload: Payload::Ballot(b.ballot),
            },
        };
        if body.election != self.election {
            return Err(TrusteeError::BoardMisbehaves(format!(
                "entry 0 is for election {:?}, not {:?}",
                body.election, self.election
            )));
        }
        let state = Election::begin(&body, leaf, self.board_key.as_ref()).map_err(|violation| {
            TrusteeError::BoardEntryBroken {
                index: 0,
                kind: body.payload.type_name(),
                violation,
            }
        })?;
        self.view = Some(ElectionView {
            state,
            size: 1,
            head: leaf,
            leaves: vec![leaf],
            rejected_reveals: BTreeMap::new(),
            credential_list: None,
            warnings: Vec::new(),
        });
        Ok(())
    }

    /// Verify the pending ballots' proofs (on every core, in batches) and
    /// apply them in log order (SPEC.md §10.4, §11.7).
    pub fn flush(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let Some(view) = self.view.as_mut() else {
            return Ok(());
        };
        if pending.is_empty() {
            return Ok(());
        }
        // Proofs are worth verifying only for ballots that can count: in
        // the voting window, by a listed credential. The state machine
        // refuses the others before it asks for the proofs' verdict.
        let params = match view.state.phase() {
            Phase::Open => view.state.ballot_params(),
            _ => None,
        };
        let verdicts = match &params {
            Some(params) => verify_in_parallel(params, &pending, self.threads)?,
            None => vec![None; pending.len()],
        };
        for (p, verdict) in pending.into_iter().zip(verdicts) {
            let cts: Vec<Ciphertext> = p
                .ballot
                .ballot
                .contests
                .iter()
                .flat_map(|c| c.ciphertexts.iter().copied())
                .collect();
            let author = p.ballot.author;
            let ballot = &p.ballot.ballot;
            let applied = view
                .state
                .ballot(p.index, &author, &cts, |params| match verdict {
                    Some(v) => v,
                    None => params.verify(&author, ballot),
                });
            if let Err(violation) = applied {
                view.warnings.push(Skipped {
                    index: p.index,
                    kind: "ballot",
                    violation,
                });
            }
        }
        Ok(())
    }

    /// The view so far (`None` before entry 0). Ballots still pending are
    /// not in it until [`ViewBuilder::flush`].
    pub fn view(&self) -> Option<&ElectionView> {
        self.view.as_ref()
    }

    /// The view, once at least the manifest was read.
    pub fn finish(mut self) -> Result<ElectionView> {
        self.flush()?;
        self.view.ok_or_else(|| {
            TrusteeError::Protocol(format!(
                "election {:?} has no entries: has the administrator created it?",
                self.election
            ))
        })
    }
}

/// Each pending ballot's verdict on its proofs, `None` for one that cannot
/// count anyway (not on the credential list).
fn verify_in_parallel(
    params: &BallotParams,
    pending: &[PendingBallot],
    threads: usize,
) -> Result<Vec<Option<std::result::Result<(), Violation>>>> {
    let chunk = pending.len().div_ceil(threads.max(1)).max(1);
    let verify_chunk = |c: &[PendingBallot]| {
        let eligible: Vec<(&AuthorKey, &EncryptedBallot)> = c
            .iter()
            .filter(|p| params.eligible(&p.ballot.author).is_ok())
            .map(|p| (&p.ballot.author, &p.ballot.ballot))
            .collect();
        let mut verdicts = params.verify_batch(&eligible).into_iter();
        c.iter()
            .map(|p| {
                if params.eligible(&p.ballot.author).is_ok() {
                    verdicts.next()
                } else {
                    None
                }
            })
            .collect::<Vec<_>>()
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = pending
            .chunks(chunk)
            .map(|c| s.spawn(move || verify_chunk(c)))
            .collect();
        let mut out = Vec::with_capacity(pending.len());
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                Err(_) => {
                    return Err(TrusteeError::Protocol(
                        "a thread verifying ballots failed".into(),
                    ))
                }
            }
        }
        Ok(out)
    })
}

/// Read the log of `election` as far as `reading` asks.
pub fn fetch_view<B: BoardClient>(
    board: &B,
    election: &str,
    reading: Reading,
) -> Result<ElectionView> {
    let info = board.board_info()?;
    let board_key = AuthorKey::from_hex(&info.public_key)
        .map_err(|e| TrusteeError::BoardMisbehaves(format!("board key: {e}")))?;
    let mut builder = ViewBuilder::new(election, Some(board_key), reading);
    let mut start = 0u64;
    loop {
        let page = board.entries(election, start, start + PAGE)?;
        if page.lines.is_empty() {
            break;
        }
        builder.push_page(&page.lines)?;
        start += page.lines.len() as u64;
        if builder.is_done() || page.log_size.is_some_and(|size| start >= size) {
            break;
        }
    }
    builder.finish()
}

/// Read the log up to `voting_opened` ([`Reading::Ceremony`]).
pub fn fetch_ceremony_view<B: BoardClient>(board: &B, election: &str) -> Result<ElectionView> {
    fetch_view(board, election, Reading::Ceremony)
}

/// Parse a line in canonical form, and its body in canonical form with its
/// signature checked (SPEC.md §9.1, §9.1.1, §9.2): the per-line work that
/// does not depend on the lines before it.
pub fn open_line(line: &str) -> Result<(Entry, Opened)> {
    let misbehaves = TrusteeError::BoardMisbehaves;
    let entry = Entry::from_line(line).map_err(|e| misbehaves(e.to_string()))?;
    let text = entry.body.get();
    // A canonical ballot body carries `"type":"ballot"` at the top level;
    // `open_ballot` refuses anything else as `open_signed` would.
    let opened = if text.contains(r#""type":"ballot""#) {
        record::open_ballot(text, &entry.signature, None).map(Opened::Ballot)
    } else {
        entry.open().map(|b| Opened::Other(Box::new(b)))
    };
    let opened = opened.map_err(|e| misbehaves(format!("entry {}: {e}", entry.index)))?;
    Ok((entry, opened))
}

/// [`open_line`] for a page of lines on every core, results in line order.
/// Signature checks and ballot parsing (point decoding) are most of the
/// cost of reading a log; the chain and the rules still run in order.
fn open_lines(lines: &[String]) -> Vec<Result<(Entry, Opened)>> {
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

/// The leaf hash of a line (for callers that keep receipts).
pub fn line_hash(line: &str) -> Hash {
    leaf_hash(line.as_bytes())
}
