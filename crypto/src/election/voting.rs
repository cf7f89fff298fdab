//! Credentials, the voting window, ballots and the counted set
//! (SPEC.md §10.3 rules 7–8, §10.4, §10.6, §11.5–§11.7).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::ballot::{verify_ballot, BallotContext, Contest, EncryptedBallot};
use crate::elgamal::{Ciphertext, CiphertextSum, PublicKey};
use crate::record::{AuthorKey, CredentialEntry, Payload};
use crate::{Fingerprint, Point};

use super::manifest::is_usable_key;
use super::violation::{broken, Rule, Violation};
use super::{Effect, Election, Phase, Trust};

/// Largest credential weight (SPEC.md §12.1).
pub const MAX_WEIGHT: u64 = 1 << 20;

/// What a ballot's proofs are checked against, fixed from `voting_opened`
/// on: shared with the threads that verify ballots in parallel (and with
/// whatever cache a caller keeps them in). When voting closes the state
/// machine marks them closed, so that a holder of a stale copy refuses a
/// ballot as outside the window (SPEC.md §10.4 rule 1) before it does any
/// other work on it.
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
    /// Set once `voting_closed` is applied.
    closed: AtomicBool,
}

impl BallotParams {
    /// Whether voting is still open (no `voting_closed` applied to the
    /// state these parameters came from).
    pub fn is_open(&self) -> bool {
        !self.closed.load(Ordering::Acquire)
    }

    /// The voting window (SPEC.md §10.4 rule 1), as far as these parameters
    /// know it: refused once voting has closed.
    pub fn check_open(&self) -> Result<(), Violation> {
        if self.is_open() {
            Ok(())
        } else {
            broken(
                Rule::ElectionNotOpen,
                "ballots are accepted only while voting is open; voting has closed",
            )
        }
    }

    /// Voting closed: every holder of these parameters now refuses ballots.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// The author's weight, if voting is open (SPEC.md §10.4 rule 1) and it
    /// is on the credential list (rule 4): a caller that checks eligibility
    /// before the proofs checks the window first, in the rules' order.
    pub fn eligible(&self, author: &AuthorKey) -> Result<u64, Violation> {
        self.check_open()?;
        self.credentials.get(&author.0).copied().ok_or_else(|| {
            Violation::new(
                Rule::NotEligible,
                format!(
                    "credential {} is not on the published credential list",
                    author.to_hex()
                ),
            )
        })
    }

    /// Verify one ballot's shape and proofs singly, with the author's key
    /// as credential (SPEC.md §10.4 rule 5) — unless voting has closed
    /// (rule 1, checked first: no proof is verified then).
    pub fn verify(&self, author: &AuthorKey, ballot: &EncryptedBallot) -> Result<(), Violation> {
        self.check_open()?;
        let ctx = BallotContext {
            fingerprint: &self.fingerprint,
            pk: &self.pk,
            credential: &author.0,
        };
        verify_ballot(&ctx, &self.contests, ballot).map_err(ballot_violation)
    }

    /// [`verify`](BallotParams::verify) for many ballots at once, one
    /// verdict per ballot in order (SPEC.md §10.4 rule 5): shapes and range
    /// proofs singly, the sigma proofs of all ballots in one batch whose
    /// failures are isolated by bisection (§5.6). A caller that verifies
    /// on several threads hands each a slice and feeds the verdicts, in
    /// log order, to [`Election::ballot`]. Once voting has closed every
    /// verdict is [`Rule::ElectionNotOpen`] and no proof is verified.
    pub fn verify_batch(
        &self,
        ballots: &[(&AuthorKey, &EncryptedBallot)],
    ) -> Vec<Result<(), Violation>> {
        if let Err(v) = self.check_open() {
            return vec![Err(v); ballots.len()];
        }
        let mut verdicts: Vec<Result<(), Violation>> = vec![Ok(()); ballots.len()];
        let mut batch = crate::proofs::BatchVerifier::new();
        for (k, (author, ballot)) in ballots.iter().enumerate() {
            let ctx = BallotContext {
                fingerprint: &self.fingerprint,
                pk: &self.pk,
                credential: &author.0,
            };
            let prepared =
                crate::ballot::prepare_ballot(&ctx, &self.contests, ballot).and_then(|p| {
                    p.range_proofs
                        .iter()
                        .try_for_each(|rp| rp.verify(&self.fingerprint))
                        .map(|()| p.equations)
                });
            match prepared {
                Ok(equations) => batch.push(k, equations),
                Err(e) => verdicts[k] = Err(ballot_violation(e)),
            }
        }
        if let Err(bad) = batch.verify() {
            for k in bad {
                verdicts[k] = Err(ballot_violation(crate::Error::ProofInvalid {
                    proof: "ballot",
                }));
            }
        }
        verdicts
    }
}

/// A crypto error about a ballot as its violation: a proof that fails is
/// [`Rule::InvalidBallotProof`], anything else about its shape
/// [`Rule::BallotMalformed`].
pub fn ballot_violation(e: crate::Error) -> Violation {
    match e {
        crate::Error::ProofInvalid { .. } => {
            Violation::new(Rule::InvalidBallotProof, format!("ballot: {e}"))
        }
        other => Violation::new(Rule::BallotMalformed, other.to_string()),
    }
}

/// A credential's counted ballot.
#[derive(Debug, Clone)]
struct Counted {
    /// Entry index.
    index: u64,
    /// Valid ballots of the credential so far, this one included
    /// (SPEC.md §10.4 rule 7).
    cast: u64,
    /// `R, C` of every position, compressed.
    ciphertexts: Box<[[u8; 32]]>,
}

/// Ballots, the counted set (last valid ballot per credential) and the
/// running tally (SPEC.md §10.5, §11.7, §11.8).
#[derive(Debug)]
pub struct Votes {
    counted: HashMap<[u8; 32], Counted>,
    /// Every ballot's `R` ↦ the entry that used it.
    used_r: HashMap<[u8; 32], u64>,
    sums: Vec<CiphertextSum>,
    ballots: u64,
    superseded: u64,
    counted_weight: u64,
}

impl Votes {
    pub(super) fn new(positions: usize) -> Self {
        Votes {
            counted: HashMap::new(),
            used_r: HashMap::new(),
            sums: vec![CiphertextSum::default(); positions],
            ballots: 0,
            superseded: 0,
            counted_weight: 0,
        }
    }

    /// Tally positions: contests, then options.
    pub fn positions(&self) -> usize {
        self.sums.len()
    }

    /// Ballot entries applied.
    pub fn ballots(&self) -> u64 {
        self.ballots
    }

    /// Ballots replaced by a later ballot of their credential.
    pub fn superseded(&self) -> u64 {
        self.superseded
    }

    /// Credentials that have a counted ballot.
    pub fn counted_credentials(&self) -> u64 {
        self.counted.len() as u64
    }

    /// `W`: the total weight of the counted credentials.
    pub fn counted_weight(&self) -> u64 {
        self.counted_weight
    }

    /// Index of a credential's counted ballot.
    pub fn counted_ballot(&self, credential: &[u8; 32]) -> Option<u64> {
        self.counted.get(credential).map(|c| c.index)
    }

    /// Valid ballots of a credential so far: its counted one and those it
    /// superseded (SPEC.md §10.4 rule 7).
    pub fn ballots_of(&self, credential: &[u8; 32]) -> u64 {
        self.counted.get(credential).map_or(0, |c| c.cast)
    }

    /// The entry that first used this `R`.
    pub fn r_used_by(&self, r: &[u8; 32]) -> Option<u64> {
        self.used_r.get(r).copied()
    }

    /// `Σ weight · ct` over the counted ballots so far.
    pub fn running_tally(&self) -> Vec<Ciphertext> {
        self.sums.iter().map(CiphertextSum::finish).collect()
    }
}

impl Election {
    /// `credential_list` (SPEC.md §10.3 rule 7, §11.5, §12.1).
    pub(super) fn credential_list(
        &mut self,
        author: &AuthorKey,
        credentials: &[CredentialEntry],
        trust: Trust,
    ) -> Result<Effect, Violation> {
        if *author != self.manifest.credential_authority {
            return broken(
                Rule::CredentialListAuthor,
                "the credential list must be signed by the manifest's credential authority",
            );
        }
        if self.credentials.is_some() {
            return broken(
                Rule::DuplicateCredentialList,
                "the credential list is already posted",
            );
        }
        if self.phase >= Phase::Open {
            return broken(
                Rule::CredentialListLate,
                format!(
                    "the credential list must come before voting opens; the election is {}",
                    self.phase.as_str()
                ),
            );
        }
        let map = check_credential_list(credentials, trust)?;
        self.credentials = Some(Arc::new(map));
        Ok(Effect::default())
    }

    /// What `open` appends, or why not (SPEC.md §10.3 rule 8).
    pub fn open_voting(&self, bundle_sha256: [u8; 32]) -> Result<Payload, Violation> {
        if self.phase != Phase::Ready {
            return broken(
                Rule::OpenNotAllowed,
                format!(
                    "voting can open only when the election is ready (joint key and {} acknowledgements); it is {}",
                    self.t(),
                    self.phase.as_str()
                ),
            );
        }
        if self.credentials.is_none() {
            return broken(
                Rule::OpenNotAllowed,
                "voting cannot open before the credential list is posted",
            );
        }
        Ok(Payload::VotingOpened { bundle_sha256 })
    }

    pub(super) fn voting_opened(
        &mut self,
        index: u64,
        author: &AuthorKey,
        bundle: &[u8; 32],
    ) -> Result<Effect, Violation> {
        self.board_authored(author, "voting_opened")?;
        self.open_voting(*bundle)?;
        self.opened_at = Some(index);
        self.bundle = Some(*bundle);
        self.phase = Phase::Open;
        self.params = self.make_ballot_params().map(Arc::new);
        Ok(Effect::default())
    }

    /// What `close` appends, or why not (SPEC.md §10.6).
    pub fn close_voting(&self) -> Result<Payload, Violation> {
        if self.phase != Phase::Open {
            return broken(
                Rule::CloseNotAllowed,
                format!(
                    "closing needs voting open; the election is {}",
                    self.phase.as_str()
                ),
            );
        }
        Ok(Payload::VotingClosed {})
    }

    pub(super) fn voting_closed(
        &mut self,
        index: u64,
        author: &AuthorKey,
    ) -> Result<Effect, Violation> {
        self.board_authored(author, "voting_closed")?;
        self.close_voting()?;
        self.freeze_tally(index);
        Ok(Effect::default())
    }

    /// Voting closes: the tally is fixed (SPEC.md §10.5, §11.8), and the
    /// ballot parameters are marked closed and dropped, so that no copy of
    /// them lets a late ballot's proofs be verified (§10.4 rule 1).
    pub(super) fn freeze_tally(&mut self, index: u64) {
        if self.closed_at.is_none() {
            self.closed_at = Some(index);
            self.tally = Some(Arc::new(self.votes.running_tally()));
        }
        self.phase = self.phase.max(Phase::Closed);
        if let Some(params) = self.params.take() {
            params.close();
        }
    }

    /// What ballots are checked against, fixed when voting opened (`None`
    /// before, after voting closed, or without a joint key and credential
    /// list).
    pub fn ballot_params(&self) -> Option<Arc<BallotParams>> {
        self.params.clone()
    }

    pub(super) fn make_ballot_params(&self) -> Option<BallotParams> {
        let joint = self.ceremony.joint.as_ref()?;
        Some(BallotParams {
            contests: self.manifest.contests.clone(),
            pk: joint.pk,
            fingerprint: joint.fingerprint,
            credentials: self.credentials.clone()?,
            closed: AtomicBool::new(false),
        })
    }

    /// A ballot (SPEC.md §10.4), with its ciphertexts flattened (contests,
    /// then options). The rules in the order of §10.4: the window (1) —
    /// before anything else, so a ballot after the close is never
    /// proof-checked — the author on the list (4), then `proofs` — the
    /// caller's verdict on the ballot's shape and proofs (5) — then no
    /// reused `R` (6), then the credential's ballot cap (7). Then the
    /// ballot becomes its credential's counted one.
    pub fn ballot(
        &mut self,
        index: u64,
        author: &AuthorKey,
        ciphertexts: &[Ciphertext],
        proofs: impl FnOnce(&BallotParams) -> Result<(), Violation>,
    ) -> Result<Effect, Violation> {
        if self.phase != Phase::Open {
            return broken(
                Rule::ElectionNotOpen,
                format!(
                    "ballots are accepted only while voting is open; the election is {}",
                    self.phase.as_str()
                ),
            );
        }
        let params = self.ballot_params().ok_or_else(|| {
            Violation::new(
                Rule::NotEligible,
                "there is no credential list or joint key",
            )
        })?;
        let weight = params.eligible(author)?;
        proofs(&params)?;
        if ciphertexts.len() != self.votes.positions() {
            return broken(
                Rule::BallotMalformed,
                format!(
                    "{} ciphertexts; the manifest has {} options",
                    ciphertexts.len(),
                    self.votes.positions()
                ),
            );
        }
        let r_points = check_points_unused(ciphertexts, &self.votes.used_r)?;
        let cap = self.manifest.max_ballots_per_credential();
        let cast = self.votes.ballots_of(&author.0);
        if cast >= cap {
            return broken(
                Rule::TooManyBallots,
                format!(
                    "credential {} already has {cast} ballots on the log; the manifest's max_ballots_per_credential is {cap}",
                    author.to_hex()
                ),
            );
        }
        self.size = self.size.max(index + 1);
        Ok(self.count(index, author, weight, ciphertexts, r_points))
    }

    fn count(
        &mut self,
        index: u64,
        author: &AuthorKey,
        weight: u64,
        ciphertexts: &[Ciphertext],
        r_points: Vec<[u8; 32]>,
    ) -> Effect {
        let votes = &mut self.votes;
        for r in &r_points {
            votes.used_r.insert(*r, index);
        }
        votes.ballots += 1;
        let compressed: Box<[[u8; 32]]> = ciphertexts
            .iter()
            .flat_map(|ct| [*ct.R.as_bytes(), *ct.C.as_bytes()])
            .collect();
        let cast = votes.counted.get(&author.0).map_or(0, |c| c.cast) + 1;
        let previous = votes.counted.insert(
            author.0,
            Counted {
                index,
                cast,
                ciphertexts: compressed,
            },
        );
        let superseded = match previous {
            Some(old) => {
                votes.superseded += 1;
                for (sum, pair) in votes.sums.iter_mut().zip(old.ciphertexts.chunks_exact(2)) {
                    // Stored only after it parsed as points: decoding succeeds.
                    if let (Ok(r), Ok(c)) = (
                        Point::from_bytes("R", pair[0]),
                        Point::from_bytes("C", pair[1]),
                    ) {
                        sum.sub(&Ciphertext { R: r, C: c }, weight);
                    }
                }
                Some(old.index)
            }
            None => {
                votes.counted_weight = votes.counted_weight.saturating_add(weight);
                None
            }
        };
        for (sum, ct) in votes.sums.iter_mut().zip(ciphertexts) {
            sum.add(ct, weight);
        }
        Effect {
            r_points,
            superseded,
            complaint_founded: None,
        }
    }
}

/// The credential list's content (SPEC.md §10.3 rule 7): non-empty,
/// distinct valid keys, weights in `[1, 2^20]`. Keys are checked for
/// validity unless the caller did it ([`Trust::ProofsChecked`], with
/// [`is_usable_key`] on every core) or the log is the board's own.
pub fn check_credential_list(
    credentials: &[CredentialEntry],
    trust: Trust,
) -> Result<HashMap<[u8; 32], u64>, Violation> {
    let bad = |why: String| broken(Rule::InvalidCredentials, why);
    if credentials.is_empty() {
        return bad("the credential list is empty".into());
    }
    let mut map = HashMap::with_capacity(credentials.len());
    for (k, c) in credentials.iter().enumerate() {
        if c.weight == 0 || c.weight > MAX_WEIGHT {
            return bad(format!(
                "credential #{k} has weight {}; every weight must be between 1 and 2^20",
                c.weight
            ));
        }
        if trust == Trust::Nothing && !is_usable_key(&c.key) {
            return bad(format!(
                "credential #{k} ({}) is not a valid Ed25519 public key of large order",
                c.key.to_hex()
            ));
        }
        if map.insert(c.key.0, c.weight).is_some() {
            return bad(format!(
                "credential #{k} ({}) is listed twice",
                c.key.to_hex()
            ));
        }
    }
    Ok(map)
}

/// No ciphertext's `R` repeats another of the ballot or an earlier
/// ballot's (SPEC.md §10.4 rule 6); returns the ballot's `R` points.
pub fn check_points_unused(
    ciphertexts: &[Ciphertext],
    used: &HashMap<[u8; 32], u64>,
) -> Result<Vec<[u8; 32]>, Violation> {
    let mut points: Vec<[u8; 32]> = Vec::with_capacity(ciphertexts.len());
    for ct in ciphertexts {
        let r = *ct.R.as_bytes();
        if let Some(first) = used.get(&r) {
            return broken(
                Rule::CiphertextReused,
                format!("a ciphertext of this ballot copies one of the ballot at entry {first} (copied or replayed ballot)"),
            );
        }
        if points.contains(&r) {
            return broken(
                Rule::CiphertextReused,
                "two ciphertexts of this ballot share their R point",
            );
        }
        points.push(r);
    }
    Ok(points)
}
