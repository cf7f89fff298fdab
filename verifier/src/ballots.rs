//! Ballots verified in parallel batches, then applied to the election's
//! state machine in log order (SPEC.md §11.6–§11.8).
//!
//! The reader hands every `ballot` entry to a [`BallotPipeline`] as raw
//! text. Full chunks are verified on the rayon pool while the reader goes
//! on: each sub-chunk opens its bodies ([`open_ballot`]: canonical form
//! and credential signature) and verifies their proofs as one batch
//! ([`BallotParams::verify_batch`]: one multiscalar multiplication, whose
//! bisection names the bad ballots, and the Bulletproofs range proofs). The
//! outcomes are then applied *in log order* on the reader's thread through
//! [`Election::ballot`], which holds every rule that depends on the log:
//! the voting window, the credential on the list, copied ciphertexts and
//! the counted set with its running tally.
//!
//! Memory: at most [`MAX_IN_FLIGHT`] chunks of ballot text; the state
//! machine keeps, per credential, the compressed ciphertexts of its counted
//! ballot and, per ballot `R` point, 32 bytes and an index.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc;
use std::sync::Arc;

use ed25519_dalek::VerifyingKey;
use psephos_crypto::election::{BallotParams, Election, Rule, Violation};
use psephos_crypto::elgamal::Ciphertext;
use psephos_crypto::record::{open_ballot, AuthorKey, SignatureHex};
use rayon::prelude::*;

use crate::report::{CheckId, Checks, CountedSummary};

/// Ballots per sub-chunk verified as one batch on one core.
pub const SUB_CHUNK: usize = 256;
/// Chunks being verified while the reader goes on.
pub const MAX_IN_FLIGHT: usize = 2;

/// What every ballot of a chunk is verified against.
#[derive(Debug)]
pub(crate) struct BallotCtx {
    /// The manifest's election id.
    pub election: String,
    /// Contests, joint key, fingerprint and credentials, once there are.
    pub params: Option<Arc<BallotParams>>,
    /// Listed credential keys, decompressed once when the list was read.
    pub keys: Arc<HashMap<[u8; 32], VerifyingKey>>,
}

/// A ballot entry as read, not yet verified.
#[derive(Debug)]
pub(crate) struct PendingBallot {
    pub index: u64,
    pub body: Box<str>,
    pub signature: SignatureHex,
}

/// What the parallel part found out about one ballot.
#[derive(Debug)]
struct Outcome {
    index: u64,
    /// Set when the body does not open: form or signature (V2).
    signature_error: Option<String>,
    /// The credential, when the signature verified.
    author: AuthorKey,
    /// The body names another election (V3).
    wrong_election: Option<String>,
    /// The verdict on shape and proofs (SPEC.md §10.4 rule 5).
    proofs: Result<(), Violation>,
    /// Every ciphertext, contests then options.
    ciphertexts: Vec<Ciphertext>,
}

/// Verify one sub-chunk: open, one batch for every sigma proof, then the
/// range proofs.
fn verify_sub_chunk(ctx: &BallotCtx, items: &[PendingBallot]) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(items.len());
    let mut ballots = Vec::with_capacity(items.len());
    for item in items {
        let mut out = Outcome {
            index: item.index,
            signature_error: None,
            author: AuthorKey([0; 32]),
            wrong_election: None,
            proofs: Ok(()),
            ciphertexts: Vec::new(),
        };
        // The author is read before the signature is checked only to pick
        // an already decompressed key; `open_ballot` checks it is the key
        // the body names.
        let known = author_hint(&item.body).and_then(|a| ctx.keys.get(&a));
        match open_ballot(&item.body, &item.signature, known) {
            Err(e) => out.signature_error = Some(e.to_string()),
            Ok(opened) => {
                out.author = opened.author;
                if opened.election != ctx.election {
                    out.wrong_election = Some(opened.election);
                }
                out.ciphertexts = opened
                    .ballot
                    .contests
                    .iter()
                    .flat_map(|c| c.ciphertexts.iter().copied())
                    .collect();
                ballots.push((outcomes.len(), opened.ballot));
            }
        }
        outcomes.push(out);
    }
    let Some(params) = &ctx.params else {
        // No joint key or credential list yet: the state machine refuses
        // these ballots before it asks for the proofs' verdict.
        for (k, _) in &ballots {
            outcomes[*k].proofs = Err(Violation::new(
                Rule::InvalidBallotProof,
                "no joint key was posted before this ballot",
            ));
        }
        return outcomes;
    };
    let authors: Vec<AuthorKey> = ballots.iter().map(|(k, _)| outcomes[*k].author).collect();
    let items: Vec<(&AuthorKey, &psephos_crypto::ballot::EncryptedBallot)> = authors
        .iter()
        .zip(&ballots)
        .map(|(a, (_, b))| (a, b))
        .collect();
    for ((k, _), verdict) in ballots.iter().zip(params.verify_batch(&items)) {
        outcomes[*k].proofs = verdict;
    }
    outcomes
}

/// The `author` of a ballot body, read cheaply: its place is fixed by the
/// canonical form (SPEC.md §9.1.1), `{"election":"…","author":"<64 hex>"`.
fn author_hint(body: &str) -> Option<[u8; 32]> {
    let at = body.find(r#","author":""#)? + r#","author":""#.len();
    let hex = body.get(at..at + 64)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex, &mut out).ok()?;
    Some(out)
}

fn verify_chunk(ctx: &BallotCtx, items: &[PendingBallot]) -> Vec<Outcome> {
    let parts: Vec<Vec<Outcome>> = items
        .par_chunks(SUB_CHUNK)
        .map(|sub| verify_sub_chunk(ctx, sub))
        .collect();
    parts.into_iter().flatten().collect()
}

/// Apply one verified ballot to the state machine, in log order.
fn apply(election: &mut Election, summary: &mut CountedSummary, checks: &mut Checks, o: Outcome) {
    checks.count(CheckId::V2, 1);
    summary.ballots += 1;
    if let Some(e) = o.signature_error {
        checks.fail(CheckId::V2, Some(o.index), format!("ballot: {e}"));
        return;
    }
    checks.count(CheckId::V6, 1);
    if let Some(other) = o.wrong_election {
        // SPEC.md §11.3: an entry naming another election is ignored.
        let v = Violation::new(
            Rule::WrongElection,
            format!(
                "the ballot names election {other:?}, not {:?}; it is ignored",
                election.id()
            ),
        );
        checks.violation(Some(o.index), "ballot", &v);
        return;
    }
    let proofs = o.proofs;
    match election.ballot(o.index, &o.author, &o.ciphertexts, |_| proofs) {
        Ok(_) => {}
        Err(v) => checks.violation(Some(o.index), "ballot", &v),
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
    pub fn push(
        &mut self,
        ballot: PendingBallot,
        election: &mut Election,
        summary: &mut CountedSummary,
        checks: &mut Checks,
    ) {
        self.filling.push(ballot);
        if self.filling.len() >= self.chunk_size {
            self.submit();
            while self.in_flight.len() > MAX_IN_FLIGHT {
                self.apply_oldest(election, summary, checks);
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

    fn apply_oldest(
        &mut self,
        election: &mut Election,
        summary: &mut CountedSummary,
        checks: &mut Checks,
    ) {
        let Some(rx) = self.in_flight.pop_front() else {
            return;
        };
        match rx.recv() {
            Ok(outcomes) => {
                for o in outcomes {
                    apply(election, summary, checks, o);
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
    pub fn flush(
        &mut self,
        election: &mut Election,
        summary: &mut CountedSummary,
        checks: &mut Checks,
    ) {
        self.submit();
        while !self.in_flight.is_empty() {
            self.apply_oldest(election, summary, checks);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::author_hint;

    #[test]
    fn author_hint_reads_the_canonical_place_only() {
        let key = "ab".repeat(32);
        let body = format!(r#"{{"election":"e","author":"{key}","type":"ballot","contests":[]}}"#);
        assert_eq!(author_hint(&body), Some([0xab; 32]));
        assert_eq!(author_hint(r#"{"election":"e"}"#), None);
    }
}
