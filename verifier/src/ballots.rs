//! Ballots (SPEC.md §11.6), the counted set (§11.7) and the running tally
//! (§11.8), verified in parallel batches.
//!
//! The reader hands every `ballot` entry to a [`BallotPipeline`] as raw
//! text. Full chunks are verified on the rayon pool while the reader goes
//! on: each sub-chunk parses its bodies, checks the credential signatures,
//! turns every proof into equations ([`prepare_ballot`]), folds them into
//! one [`BatchVerifier`] (bisection names the bad ballots), and checks the
//! Bulletproofs range proofs. The outcomes are then applied *in log order*
//! on the reader's thread: voting window, credential on the list, copied
//! ciphertexts, and the counted set (last valid ballot per credential).
//!
//! Memory: at most [`MAX_IN_FLIGHT`] chunks of ballot text, plus per
//! credential the weight and the compressed ciphertexts of its last counted
//! ballot, plus every ballot's `R` points (32 bytes each, with the index of
//! the entry that first used it) for copy detection.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc;
use std::sync::Arc;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar as DalekScalar;
use curve25519_dalek::traits::Identity;
use ed25519_dalek::{Signature, VerifyingKey};
use psephos_crypto::ballot::{
    prepare_ballot, BallotContext, Contest, EncryptedBallot, EncryptedContest,
};
use psephos_crypto::elgamal::{Ciphertext, PublicKey};
use psephos_crypto::encoding::Point;
use psephos_crypto::proofs::BatchVerifier;
use psephos_crypto::record::{
    open_signed, AuthorKey, Payload, RecordError, SignatureHex, SIGNATURE_DOMAIN,
};
use psephos_crypto::Fingerprint;
use rayon::prelude::*;
use serde::Deserialize;

use crate::report::{CheckId, Checks, CountedSummary};

/// Ballots per sub-chunk verified as one batch on one core.
pub const SUB_CHUNK: usize = 256;
/// Chunks being verified while the reader goes on.
pub const MAX_IN_FLIGHT: usize = 2;

/// Where a ballot stands relative to the voting window when it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Window {
    /// Before `voting_opened`.
    BeforeOpen,
    /// Between `voting_opened` and `voting_closed`.
    Open,
    /// After `voting_closed`.
    AfterClose,
}

/// What every ballot of a chunk is verified against.
#[derive(Debug)]
pub(crate) struct BallotCtx {
    /// The manifest's election id.
    pub election: String,
    /// The election fingerprint and joint key, once the joint key is posted.
    pub key: Option<(Fingerprint, PublicKey)>,
    /// The manifest's contests.
    pub contests: Vec<Contest>,
    /// Every listed credential.
    pub credentials: Arc<HashMap<[u8; 32], Listed>>,
}

/// A credential on the list, as the workers need it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listed {
    /// Its weight.
    pub weight: u64,
    /// The key, decompressed once when the list was read.
    pub key: Option<VerifyingKey>,
}

/// A ballot entry as read, not yet verified.
#[derive(Debug)]
pub(crate) struct PendingBallot {
    pub index: u64,
    pub body: Box<str>,
    pub signature: SignatureHex,
    pub window: Window,
}

/// What the parallel part found out about one ballot.
#[derive(Debug)]
struct Outcome {
    index: u64,
    window: Window,
    /// Set when the body does not parse or the signature does not verify (V2).
    signature_error: Option<String>,
    /// The credential, when the signature verified.
    author: [u8; 32],
    /// The body names another election (V3).
    wrong_election: Option<String>,
    /// Shape or proof failures (V6).
    proof_error: Option<String>,
    /// `R₀, C₀, R₁, C₁, …` over all contests, compressed.
    ciphertexts: Box<[[u8; 32]]>,
    /// `weight · (R, C)` per tally position, when the proofs hold and the
    /// credential is listed.
    contribution: Option<Vec<(RistrettoPoint, RistrettoPoint)>>,
}

impl Outcome {
    fn new(p: &PendingBallot) -> Self {
        Outcome {
            index: p.index,
            window: p.window,
            signature_error: None,
            author: [0; 32],
            wrong_election: None,
            proof_error: None,
            ciphertexts: Box::new([]),
            contribution: None,
        }
    }
}

/// A ballot body, parsed without the generic [`Body`](psephos_crypto::record::Body)'s `flatten`, which
/// buffers the whole payload before parsing it again. It accepts a subset
/// of what [`Body`](psephos_crypto::record::Body) accepts (unknown fields are refused, as the ballot
/// payload refuses them); anything it refuses goes through [`open_signed`],
/// so both paths accept exactly what the board accepts (SPEC.md §9.1).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BallotBody {
    election: String,
    author: AuthorKey,
    #[serde(rename = "type")]
    _kind: BallotTag,
    contests: Vec<EncryptedContest>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum BallotTag {
    Ballot,
}

/// Parse a ballot body and check its signature, as [`open_signed`] does.
fn open_ballot(
    ctx: &BallotCtx,
    body: &str,
    signature: &SignatureHex,
) -> Result<(String, AuthorKey, Result<EncryptedBallot, String>), String> {
    if let Ok(fast) = serde_json::from_str::<BallotBody>(body) {
        if body.contains(['\n', '\r']) {
            return Err(RecordError::Multiline.to_string());
        }
        let key = match ctx.credentials.get(&fast.author.0).and_then(|l| l.key) {
            Some(key) => key,
            None => fast.author.verifying_key().map_err(|e| e.to_string())?,
        };
        let mut message = Vec::with_capacity(SIGNATURE_DOMAIN.len() + body.len());
        message.extend_from_slice(SIGNATURE_DOMAIN);
        message.extend_from_slice(body.as_bytes());
        key.verify_strict(&message, &Signature::from_bytes(&signature.0))
            .map_err(|_| RecordError::BadSignature.to_string())?;
        let ballot = EncryptedBallot {
            contests: fast.contests,
        };
        return Ok((fast.election, fast.author, Ok(ballot)));
    }
    let body = open_signed(body, signature).map_err(|e| e.to_string())?;
    let payload = match body.payload {
        Payload::Ballot(ballot) => Ok(ballot),
        other => Err(format!(
            "entry is a {} body, not a ballot",
            other.type_name()
        )),
    };
    Ok((body.election, body.author, payload))
}

/// Verify one sub-chunk: parse, signatures, one batch for every sigma
/// proof, then the range proofs.
fn verify_sub_chunk(ctx: &BallotCtx, items: &[PendingBallot]) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = items.iter().map(Outcome::new).collect();
    let mut ballots = Vec::with_capacity(items.len());
    for (k, item) in items.iter().enumerate() {
        let out = &mut outcomes[k];
        match open_ballot(ctx, &item.body, &item.signature) {
            Err(e) => out.signature_error = Some(e),
            Ok((election, author, payload)) => {
                out.author = author.0;
                if election != ctx.election {
                    out.wrong_election = Some(election);
                }
                match payload {
                    Ok(ballot) => {
                        let mut cts = Vec::new();
                        for c in &ballot.contests {
                            for ct in &c.ciphertexts {
                                cts.push(*ct.R.as_bytes());
                                cts.push(*ct.C.as_bytes());
                            }
                        }
                        out.ciphertexts = cts.into_boxed_slice();
                        ballots.push((k, ballot));
                    }
                    Err(e) => out.proof_error = Some(e),
                }
            }
        }
    }
    let Some((fp, pk)) = &ctx.key else {
        for (k, _) in &ballots {
            outcomes[*k].proof_error = Some(
                "no joint key was posted before this ballot, so its proofs cannot hold".into(),
            );
        }
        return outcomes;
    };
    let mut batch: BatchVerifier<usize> = BatchVerifier::new();
    let mut range_proofs = Vec::new();
    for (k, ballot) in &ballots {
        let credential = outcomes[*k].author;
        let bctx = BallotContext {
            fingerprint: fp,
            pk,
            credential: &credential,
        };
        match prepare_ballot(&bctx, &ctx.contests, ballot) {
            Ok(prepared) => {
                batch.push(*k, prepared.equations);
                for rp in prepared.range_proofs {
                    range_proofs.push((*k, rp));
                }
            }
            Err(e) => outcomes[*k].proof_error = Some(e.to_string()),
        }
    }
    if let Err(bad) = batch.verify() {
        for k in bad {
            outcomes[k].proof_error = Some("its proofs do not verify".into());
        }
    }
    for (k, rp) in &range_proofs {
        if outcomes[*k].proof_error.is_none() {
            if let Err(e) = rp.verify(fp) {
                outcomes[*k].proof_error = Some(format!("its range proof does not verify: {e}"));
            }
        }
    }
    for (k, ballot) in &ballots {
        let out = &mut outcomes[*k];
        if out.proof_error.is_some() {
            continue;
        }
        let Some(weight) = ctx.credentials.get(&out.author).map(|l| l.weight) else {
            continue;
        };
        let cts = ballot.contests.iter().flat_map(|c| c.ciphertexts.iter());
        out.contribution = Some(cts.map(|ct| weighted(ct, weight)).collect());
    }
    outcomes
}

fn weighted(ct: &Ciphertext, weight: u64) -> (RistrettoPoint, RistrettoPoint) {
    if weight == 1 {
        (*ct.R.point(), *ct.C.point())
    } else {
        let w = DalekScalar::from(weight);
        (w * ct.R.point(), w * ct.C.point())
    }
}

fn verify_chunk(ctx: &BallotCtx, items: &[PendingBallot]) -> Vec<Outcome> {
    let parts: Vec<Vec<Outcome>> = items
        .par_chunks(SUB_CHUNK)
        .map(|sub| verify_sub_chunk(ctx, sub))
        .collect();
    parts.into_iter().flatten().collect()
}

/// A credential on the list.
#[derive(Debug)]
struct CredentialState {
    weight: u64,
    /// Compressed `R, C` of the last counted ballot.
    last: Option<Box<[[u8; 32]]>>,
}

/// The counted set and the running tally (SPEC.md §11.7, §11.8).
#[derive(Debug)]
pub(crate) struct CountedSet {
    credentials: HashMap<[u8; 32], CredentialState>,
    /// Every ballot's `R` points → the entry that first used it.
    seen_r: HashMap<[u8; 32], u64>,
    /// `Σ weight · (R, C)` per tally position.
    sums: Vec<(RistrettoPoint, RistrettoPoint)>,
    /// Figures for the report.
    pub summary: CountedSummary,
}

impl CountedSet {
    /// A counted set for a ballot of `positions` ciphertexts.
    pub fn new(positions: usize) -> Self {
        CountedSet {
            credentials: HashMap::new(),
            seen_r: HashMap::new(),
            sums: vec![(RistrettoPoint::identity(), RistrettoPoint::identity()); positions],
            summary: CountedSummary::default(),
        }
    }

    /// Register the listed credentials (first occurrence of a key wins).
    pub fn set_credentials(&mut self, list: impl Iterator<Item = ([u8; 32], u64)>) {
        for (key, weight) in list {
            self.credentials
                .entry(key)
                .or_insert(CredentialState { weight, last: None });
        }
        self.summary.listed_credentials = self.credentials.len() as u64;
    }

    /// The tally ciphertexts, contests then options.
    pub fn tally(&self) -> Vec<Ciphertext> {
        self.sums
            .iter()
            .map(|(r, c)| Ciphertext {
                R: Point::from_point(*r),
                C: Point::from_point(*c),
            })
            .collect()
    }

    fn apply(&mut self, checks: &mut Checks, o: Outcome) {
        checks.count(CheckId::V2, 1);
        self.summary.ballots += 1;
        if let Some(e) = o.signature_error {
            checks.fail(CheckId::V2, Some(o.index), format!("ballot: {e}"));
            return;
        }
        checks.count(CheckId::V6, 1);
        let mut valid = true;
        if let Some(other) = o.wrong_election {
            checks.fail(
                CheckId::V3,
                Some(o.index),
                format!("ballot names election {other:?}, not this one"),
            );
            valid = false;
        }
        match o.window {
            Window::Open => {}
            Window::BeforeOpen => {
                checks.fail(
                    CheckId::V6,
                    Some(o.index),
                    "ballot cast before voting opened",
                );
                valid = false;
            }
            Window::AfterClose => {
                checks.fail(
                    CheckId::V6,
                    Some(o.index),
                    "ballot cast after voting closed",
                );
                valid = false;
            }
        }
        let listed = self.credentials.contains_key(&o.author);
        if !listed {
            checks.fail(
                CheckId::V6,
                Some(o.index),
                format!(
                    "credential {} is not on the credential list",
                    hex::encode(o.author)
                ),
            );
            valid = false;
        }
        if let Some(e) = o.proof_error {
            checks.fail(CheckId::V6, Some(o.index), format!("ballot: {e}"));
            valid = false;
        }
        // Copies: any R already used by an earlier ballot, then remember
        // this ballot's R points (whatever its validity: the board refuses
        // copies of every ballot it holds).
        let mut copied = None;
        for r in o.ciphertexts.iter().step_by(2) {
            if let Some(&first) = self.seen_r.get(r) {
                copied = Some(first);
                break;
            }
        }
        if let Some(first) = copied {
            checks.fail(
                CheckId::V6,
                Some(o.index),
                format!("ballot copies a ciphertext of the ballot at entry {first}"),
            );
            valid = false;
        }
        for r in o.ciphertexts.iter().step_by(2) {
            self.seen_r.entry(*r).or_insert(o.index);
        }
        if !valid {
            return;
        }
        let Some(contribution) = o.contribution else {
            return;
        };
        if contribution.len() != self.sums.len() {
            return;
        }
        let Some(state) = self.credentials.get_mut(&o.author) else {
            return;
        };
        self.summary.valid_ballots += 1;
        if let Some(old) = state.last.take() {
            // A revote: take the replaced ballot out of the tally.
            self.summary.superseded += 1;
            let w = DalekScalar::from(state.weight);
            for (sum, pair) in self.sums.iter_mut().zip(old.chunks_exact(2)) {
                let (Some(r), Some(c)) = (
                    CompressedRistretto(pair[0]).decompress(),
                    CompressedRistretto(pair[1]).decompress(),
                ) else {
                    // Stored only after it parsed as a point: unreachable.
                    continue;
                };
                if state.weight == 1 {
                    sum.0 -= r;
                    sum.1 -= c;
                } else {
                    sum.0 -= w * r;
                    sum.1 -= w * c;
                }
            }
        } else {
            self.summary.counted_credentials += 1;
            self.summary.counted_weight = self.summary.counted_weight.saturating_add(state.weight);
        }
        for (sum, (r, c)) in self.sums.iter_mut().zip(contribution) {
            sum.0 += r;
            sum.1 += c;
        }
        state.last = Some(o.ciphertexts);
    }
}

/// Ballots read but not yet applied, and the verification running on them.
#[derive(Debug)]
pub(crate) struct BallotPipeline {
    chunk_size: usize,
    filling: Vec<PendingBallot>,
    in_flight: VecDeque<mpsc::Receiver<Vec<Outcome>>>,
    ctx: Arc<BallotCtx>,
}

impl BallotPipeline {
    /// A pipeline that verifies `chunk_size` ballots at a time.
    pub fn new(chunk_size: usize, ctx: BallotCtx) -> Self {
        BallotPipeline {
            chunk_size: chunk_size.max(1),
            filling: Vec::new(),
            in_flight: VecDeque::new(),
            ctx: Arc::new(ctx),
        }
    }

    /// Replace what ballots are verified against. Call only after
    /// [`flush`](Self::flush): ballots already read keep their context.
    pub fn set_ctx(&mut self, ctx: BallotCtx) {
        self.ctx = Arc::new(ctx);
    }

    /// Queue a ballot; verifies a chunk in the background when one is full
    /// and applies finished chunks in order.
    pub fn push(&mut self, ballot: PendingBallot, counted: &mut CountedSet, checks: &mut Checks) {
        self.filling.push(ballot);
        if self.filling.len() >= self.chunk_size {
            self.submit();
            while self.in_flight.len() > MAX_IN_FLIGHT {
                self.apply_oldest(counted, checks);
            }
        }
    }

    fn submit(&mut self) {
        if self.filling.is_empty() {
            return;
        }
        let items = std::mem::replace(&mut self.filling, Vec::with_capacity(self.chunk_size));
        let ctx = Arc::clone(&self.ctx);
        let (tx, rx) = mpsc::sync_channel(1);
        rayon::spawn(move || {
            let outcomes = verify_chunk(&ctx, &items);
            // The receiver is gone only if the verifier was dropped midway.
            let _ = tx.send(outcomes);
        });
        self.in_flight.push_back(rx);
    }

    fn apply_oldest(&mut self, counted: &mut CountedSet, checks: &mut Checks) {
        let Some(rx) = self.in_flight.pop_front() else {
            return;
        };
        match rx.recv() {
            Ok(outcomes) => {
                for o in outcomes {
                    counted.apply(checks, o);
                }
            }
            Err(_) => checks.fail(
                CheckId::V6,
                None,
                "internal error: a verification worker stopped without an answer",
            ),
        }
    }

    /// Verify and apply every ballot read so far.
    pub fn flush(&mut self, counted: &mut CountedSet, checks: &mut Checks) {
        self.submit();
        while !self.in_flight.is_empty() {
            self.apply_oldest(counted, checks);
        }
    }
}
