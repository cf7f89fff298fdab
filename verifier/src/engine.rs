//! The streaming verifier: entries go in one line at a time, in log order;
//! a [`Report`] comes out (SPEC.md §11).
//!
//! Every line is hashed into the chain and the Merkle tree (V1) on the
//! caller's thread. Ballots are queued for parallel batch verification
//! (`ballots` module); every other entry first waits for the ballots
//! before it, so that the rules see the log in order, then its form and
//! signature are checked (V2) and it is applied to the election's state
//! machine ([`psephos_crypto::election`]), whose violations are the
//! failures of V3–V10. The signed checkpoint and mirrors (V11) are checked
//! by [`Verifier::finish`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use ed25519_dalek::VerifyingKey;
use psephos_crypto::election::{self, Election, Phase, Trust};
use psephos_crypto::log::merkle::{leaf_hash, MerkleTree};
use psephos_crypto::record::{AuthorKey, Body, ChainFollower, Entry, Payload};
use psephos_crypto::witness::WitnessSet;
use rayon::prelude::*;
use serde::Deserialize;

use crate::anchors::{self, RecordFacts};
use crate::ballots::{BallotCtx, BallotPipeline, PendingBallot};
use crate::report::{CheckId, Checks, ContestResult, CountedSummary, Report, Stage, Status};
use crate::VerifyOptions;

use CheckId::{V1, V10, V2, V3, V4, V5, V6, V7, V8, V9};

/// The fields every body has, read without parsing the payload.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: String,
}

/// The streaming verifier. Feed it every line with [`push_line`], then call
/// [`finish`].
///
/// [`push_line`]: Verifier::push_line
/// [`finish`]: Verifier::finish
pub struct Verifier {
    opts: VerifyOptions,
    started: Instant,
    checks: Checks,
    position: u64,
    chain: ChainFollower,
    tree: MerkleTree,
    election: Option<Election>,
    manifest_author: Option<[u8; 32]>,
    missing_manifest_reported: bool,
    /// Listed credential keys, decompressed once for the ballot workers.
    keys: Arc<HashMap<[u8; 32], VerifyingKey>>,
    summary: CountedSummary,
    /// The last entry that carries the outcome (`voting_closed`, a partial
    /// decryption, `result`): a signed checkpoint must cover it (§11.11).
    outcome_last: Option<u64>,
    complaints: (u32, u32),
    pipeline: BallotPipeline,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("entries", &self.position)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for one election's record.
    pub fn new(opts: VerifyOptions) -> Self {
        let chunk = opts.chunk_size;
        Verifier {
            opts,
            started: Instant::now(),
            checks: Checks::default(),
            position: 0,
            chain: ChainFollower::new(),
            tree: MerkleTree::new(),
            election: None,
            manifest_author: None,
            missing_manifest_reported: false,
            keys: Arc::new(HashMap::new()),
            summary: CountedSummary::default(),
            outcome_last: None,
            complaints: (0, 0),
            pipeline: BallotPipeline::new(
                chunk,
                BallotCtx {
                    election: String::new(),
                    params: None,
                    keys: Arc::new(HashMap::new()),
                },
            ),
        }
    }

    /// Entries read so far.
    pub fn entries(&self) -> u64 {
        self.position
    }

    /// The input broke off: what was read is verified, and V1 fails.
    pub fn input_failed(&mut self, why: &str) {
        self.checks.fail(
            V1,
            Some(self.position),
            format!("the record could not be read beyond this point: {why}"),
        );
    }

    /// Check one line of the record (without its newline). Never fails:
    /// whatever is wrong becomes a failure in the report.
    pub fn push_line(&mut self, line: &str) {
        let index = self.position;
        self.position += 1;
        self.checks.count(V1, 1);
        let entry = match Entry::from_line(line) {
            Ok(e) => e,
            Err(e) => {
                self.checks
                    .fail(V1, Some(index), format!("not an entry line: {e}"));
                self.resync(index, line);
                return;
            }
        };
        match self.chain.accept(line, &entry) {
            Ok(leaf) => {
                self.tree.push(leaf);
            }
            Err(e) => {
                let why = match e {
                    psephos_crypto::record::RecordError::Chain { why, .. } => why,
                    other => other.to_string(),
                };
                self.checks
                    .fail(V1, Some(index), format!("hash chain broken: {why}"));
                self.resync(index, line);
            }
        }
        let head: Head = match serde_json::from_str(entry.body.get()) {
            Ok(h) => h,
            Err(e) => {
                self.checks.count(V2, 1);
                self.checks
                    .fail(V2, Some(index), format!("malformed body: {e}"));
                return;
            }
        };
        if index > 0 && self.election.is_none() {
            self.checks.count(V2, 1);
            if !self.missing_manifest_reported {
                self.missing_manifest_reported = true;
                self.checks.fail(
                    V3,
                    Some(index),
                    "without a valid manifest at entry 0 no later entry can be checked",
                );
            }
            return;
        }
        if head.kind == "ballot" && index > 0 {
            let Entry {
                body, signature, ..
            } = entry;
            let ballot = PendingBallot {
                index,
                body: body.into(),
                signature,
            };
            if let Some(el) = self.election.as_mut() {
                self.pipeline
                    .push(ballot, el, &mut self.summary, &mut self.checks);
            }
            return;
        }
        self.flush();
        self.checks.count(V2, 1);
        let body = match entry.open() {
            Ok(b) => b,
            Err(e) => {
                self.checks
                    .fail(V2, Some(index), format!("{}: {e}", head.kind));
                return;
            }
        };
        if index == 0 {
            self.manifest_entry(body);
            return;
        }
        self.entry(index, entry.body.get(), body);
    }

    fn flush(&mut self) {
        if let Some(el) = self.election.as_mut() {
            self.pipeline.flush(el, &mut self.summary, &mut self.checks);
        }
    }

    /// After a broken link, go on from this line so that one bad entry is
    /// reported once, not at every later entry.
    fn resync(&mut self, index: u64, line: &str) {
        let leaf = leaf_hash(line.as_bytes());
        self.tree.push(leaf);
        self.chain = ChainFollower::resume(index + 1, leaf);
    }

    fn manifest_entry(&mut self, body: Body) {
        self.checks.count(V3, 1);
        self.manifest_author = Some(body.author.0);
        if let Some(e) = &self.opts.election {
            if *e != body.election {
                self.checks.fail(
                    V3,
                    Some(0),
                    format!("the record is election {:?}, not {e:?}", body.election),
                );
            }
        }
        let Some(manifest_hash) = self.tree.leaf(0).copied() else {
            return;
        };
        let board = self
            .opts
            .board_key
            .as_ref()
            .map(|k| AuthorKey(k.verifying_key().to_bytes()));
        match Election::begin(&body, manifest_hash, board.as_ref()) {
            Ok(el) => self.election = Some(el),
            Err(v) => {
                self.checks.violation(Some(0), "manifest", &v);
                // A manifest with a fault is still the record's manifest:
                // the rest is checked against it, so that every other
                // fault is reported too — with the pinned board key when
                // there is one, so an impostor's manifest does not make
                // the impostor the board.
                if let Payload::Manifest(m) = body.payload {
                    self.election = Some(Election::from_manifest(
                        body.election,
                        m,
                        manifest_hash,
                        board.unwrap_or(body.author),
                    ));
                } else {
                    self.missing_manifest_reported = true;
                }
            }
        }
        self.refresh_ballot_ctx();
    }

    fn refresh_ballot_ctx(&mut self) {
        let Some(el) = &self.election else { return };
        self.pipeline.set_ctx(BallotCtx {
            election: el.id().to_owned(),
            params: el.ballot_params(),
            keys: Arc::clone(&self.keys),
        });
    }

    fn entry(&mut self, index: u64, body_text: &str, body: Body) {
        let Some(el) = self.election.as_mut() else {
            return;
        };
        let checks = &mut self.checks;
        let kind = body.payload.type_name();
        let mut trust = Trust::Nothing;
        match &body.payload {
            Payload::Manifest(_) => checks.count(V3, 1),
            Payload::TrusteeRegistration { .. }
            | Payload::DkgCommit { .. }
            | Payload::DkgCommitsClosed {}
            | Payload::DkgCommitments { .. }
            | Payload::DkgComplaint { .. }
            | Payload::JointKey { .. }
            | Payload::KeyAck { .. } => checks.count(V4, 1),
            Payload::CredentialList { credentials } => {
                checks.count(V5, credentials.len() as u64);
                // Decompressing a key costs microseconds: a million-voter
                // list is decoded on every core, once, for the state
                // machine's key rule and the ballot workers' signatures.
                let keys: Vec<Option<VerifyingKey>> = credentials
                    .par_iter()
                    .map(|c| {
                        election::is_usable_key(&c.key)
                            .then(|| c.key.verifying_key().ok())
                            .flatten()
                    })
                    .collect();
                if keys.iter().all(Option::is_some) {
                    trust = Trust::ProofsChecked;
                    if el.credentials().is_none() {
                        self.keys = Arc::new(
                            credentials
                                .iter()
                                .zip(keys)
                                .filter_map(|(c, k)| k.map(|k| (c.key.0, k)))
                                .collect(),
                        );
                    }
                }
            }
            Payload::VotingOpened { .. } | Payload::Ballot(_) => {}
            Payload::VotingClosed {} => self.outcome_last = Some(index),
            Payload::PartialDecryption { .. } => {
                checks.count(V9, 1);
                self.outcome_last = Some(index);
            }
            Payload::Result { tally, counts, .. } => {
                checks.count(V8, tally.len() as u64);
                checks.count(V10, counts.iter().map(|c| c.len() as u64).sum());
                self.outcome_last = Some(index);
            }
        }
        match el.apply(index, &body, body_text, trust) {
            Ok(effect) => match &body.payload {
                Payload::DkgCommitsClosed {} => checks.note(
                    V4,
                    format!(
                        "entry {index}: round-1 commits closed by the board with {} of {} trustees committed",
                        el.ceremony().commits.len(),
                        el.n()
                    ),
                ),
                Payload::DkgComplaint { trustee, dealer, .. } => {
                    if effect.complaint_founded == Some(true) {
                        self.complaints.0 += 1;
                        checks.note(V4, format!("entry {index}: trustee {trustee} proved dealer {dealer}'s share bad; the dealer is disqualified"));
                    } else {
                        self.complaints.1 += 1;
                        checks.note(V4, format!("entry {index}: trustee {trustee}'s complaint about dealer {dealer} is unfounded (the share is good)"));
                    }
                }
                Payload::JointKey { qualified, public_key, .. } => checks.note(
                    V4,
                    format!(
                        "joint key {} from qualified dealers {qualified:?}",
                        public_key.as_point().to_hex()
                    ),
                ),
                Payload::CredentialList { credentials } => {
                    let total: u128 = credentials.iter().map(|c| u128::from(c.weight)).sum();
                    checks.note(
                        V5,
                        format!("{} credentials, total weight {total}", credentials.len()),
                    );
                }
                Payload::VotingOpened { bundle_sha256 } => checks.note(
                    V6,
                    format!(
                        "voting opened at entry {index}; voting page bundle SHA-256 {}",
                        hex::encode(bundle_sha256)
                    ),
                ),
                Payload::VotingClosed {} => {
                    checks.note(V6, format!("voting closed at entry {index}"))
                }
                _ => {}
            },
            Err(v) => {
                checks.violation(Some(index), kind, &v);
                // SPEC.md §11: a board lifecycle entry takes effect even
                // when a precondition fails, so one fault is reported once.
                el.force(index, &body);
            }
        }
        if matches!(
            body.payload,
            Payload::JointKey { .. }
                | Payload::CredentialList { .. }
                | Payload::VotingOpened { .. }
        ) {
            self.refresh_ballot_ctx();
        }
    }

    fn stage(&self) -> Stage {
        let Some(el) = &self.election else {
            return Stage::Empty;
        };
        match el.phase() {
            Phase::Tallied => Stage::Tallied,
            Phase::Closed => Stage::Closed,
            Phase::Open => Stage::Open,
            _ if el.joint().is_some() => Stage::KeyReady,
            _ => Stage::Ceremony,
        }
    }

    fn verified_result(&self) -> Option<Vec<ContestResult>> {
        let el = self.election.as_ref()?;
        let published = el.published().filter(|p| p.verified)?;
        Some(
            el.manifest()
                .contests
                .iter()
                .zip(&published.counts)
                .map(|(contest, c)| ContestResult {
                    contest: contest.id.clone(),
                    counts: contest
                        .options
                        .iter()
                        .zip(c)
                        .map(|(o, n)| (o.id.clone(), *n))
                        .collect(),
                })
                .collect(),
        )
    }

    /// Verify what is still queued, run V11, and produce the report.
    pub fn finish(mut self) -> Report {
        self.flush();
        if self.position == 0 {
            self.checks.fail(V1, None, "the record is empty");
        }
        let mut summary = self.summary.clone();
        if let Some(el) = &self.election {
            let votes = el.votes();
            summary.valid_ballots = votes.ballots();
            summary.superseded = votes.superseded();
            summary.counted_credentials = votes.counted_credentials();
            summary.counted_weight = votes.counted_weight();
            summary.listed_credentials = el.credentials().map_or(0, |c| c.len() as u64);
            if el.opened_at().is_some() && el.closed_at().is_none() {
                self.checks
                    .note(V7, "voting is still open: the counted set is not final");
            }
        }
        self.checks.count(V7, summary.counted_credentials);
        let has_result = self.election.as_ref().is_some_and(|e| e.result().is_some());
        if !has_result {
            if self.opts.require_result {
                self.checks.fail(
                    V10,
                    None,
                    "the record has no result (required by --require-result)",
                );
            } else {
                self.checks
                    .note(V10, "the record has no result yet: nothing to combine");
            }
        }
        let election = self.election.as_ref().map(|m| m.id().to_owned());
        let witnesses = self.election.as_ref().and_then(|el| {
            let m = el.manifest();
            WitnessSet::new(&m.witnesses, m.witness_quorum).ok()
        });
        let facts = RecordFacts {
            election: election.as_deref(),
            manifest_author: self.manifest_author,
            tree: &self.tree,
            outcome_last: self.outcome_last,
            witnesses: witnesses.as_ref(),
        };
        let anchored = anchors::check(&mut self.checks, &self.opts, &facts);
        let mut warnings = anchored.warnings;
        let (founded, unfounded) = self.complaints;
        if founded + unfounded > 0 {
            self.checks.note(
                V4,
                format!("{founded} founded and {unfounded} unfounded complaints"),
            );
        }
        let stage = self.stage();
        let result = self.verified_result();
        let title = self.election.as_ref().map(|m| m.manifest().title.clone());
        let checks = self.checks.into_vec();
        let allow_skip = self.opts.allow_unsigned;
        let passed = checks.iter().all(|c| match c.status {
            Status::Pass => true,
            Status::Skipped => allow_skip,
            Status::Fail => false,
        });
        if allow_skip && checks.iter().any(|c| c.status == Status::Skipped) {
            warnings.push("checks were skipped and allowed by --allow-unsigned: nothing shows that this record is the one the board signed".into());
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        Report {
            format: 1,
            source: self.opts.source.clone(),
            election,
            title,
            entries: self.position,
            root: hex::encode(self.tree.root()),
            stage,
            passed,
            checks,
            ballots_per_second: if elapsed > 0.0 {
                summary.ballots as f64 / elapsed
            } else {
                0.0
            },
            counted: summary,
            result,
            elapsed_seconds: elapsed,
            warnings,
            witnesses: anchored.witnesses,
        }
    }
}
