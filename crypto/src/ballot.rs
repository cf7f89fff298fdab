//! Ballots: encrypting a voter's choices with every proof they need, and
//! checking them (SPEC.md §6).
//!
//! A contest has options, `min_selections ≤ max_selections` and a per-option
//! maximum `max_per_option` (1 for plurality and approval, more for score or
//! cumulative voting). A voter gives each option a value in
//! `[0, max_per_option]` whose sum lies in `[min_selections, max_selections]`.
//!
//! For each contest the ballot holds one ciphertext per option and a proof per
//! *claim*: each option's value lies in `[0, max_per_option]`, and the sum of
//! all option ciphertexts lies in `[min_selections, max_selections]`. A claim
//! over a range of at most [`CDS_MAX_VALUES`] values gets a disjunctive proof
//! (§5.3); a wider one a Pedersen commitment `V`, a link proof (§5.4) and a
//! place in the contest's one aggregated Bulletproofs proof (§5.5).
//!
//! Every proof's `context` (SPEC.md §6.3) binds the voter's credential public
//! key, the contest id and the claim, so a proof copied into another voter's
//! ballot, another contest or another option does not verify.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use curve25519_dalek::traits::MultiscalarMul;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::elgamal::{Ciphertext, PublicKey};
use crate::encoding::{Point, Scalar};
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::proofs::bulletproof::{AggregatedRangeProof, Claim, Opening, MAX_CLAIMS};
use crate::proofs::disjunctive::{DisjunctiveProof, RangeStatement};
use crate::proofs::link::{LinkProof, LinkStatement};
use crate::proofs::{all_hold, generator_g, generator_h, Equation};

/// Claims over at most this many values use a disjunctive proof.
pub const CDS_MAX_VALUES: u64 = 8;
/// The most options a contest may have.
pub const MAX_OPTIONS: usize = 64;
/// The largest `max_per_option` (keeps every tally within a 2⁴⁸ dlog search).
pub const MAX_PER_OPTION_LIMIT: u64 = 1 << 20;

/// Claim tag of the contest total (SPEC.md §6.3).
pub const TOTAL_TAG: u64 = u64::MAX;
/// Claim tag of the contest's aggregated range proof (SPEC.md §6.3).
pub const RANGE_PROOF_TAG: u64 = u64::MAX - 1;

/// One choice in a contest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContestOption {
    /// Stable identifier.
    pub id: String,
    /// What the voter sees.
    pub label: String,
}

/// A contest as the manifest defines it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contest {
    /// Stable identifier, unique in the manifest.
    pub id: String,
    /// What the voter sees.
    pub title: String,
    /// The options, in ballot order.
    pub options: Vec<ContestOption>,
    /// Least total a ballot may give.
    pub min_selections: u64,
    /// Most total a ballot may give.
    pub max_selections: u64,
    /// Most one option may receive.
    pub max_per_option: u64,
}

/// How a claim over `[a, b]` is proved.
fn uses_cds(min: u64, max: u64) -> bool {
    // An empty range (min > max) maps to the disjunctive proof, whose shape
    // check refuses it: no arithmetic on manifest numbers may panic.
    max.saturating_sub(min) < CDS_MAX_VALUES
}

impl Contest {
    /// Refuse definitions nobody could vote on or verify.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::Contest(format!("contest {:?}: {why}", self.id)));
        if self.id.is_empty() || self.id.len() > 128 {
            return bad("id must be 1 to 128 bytes".into());
        }
        if self.options.is_empty() || self.options.len() > MAX_OPTIONS {
            return bad(format!("must have 1 to {MAX_OPTIONS} options"));
        }
        let mut ids: Vec<&str> = self.options.iter().map(|o| o.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) || ids.iter().any(|i| i.is_empty()) {
            return bad("option ids must be non-empty and unique".into());
        }
        if self.max_per_option == 0 || self.max_per_option > MAX_PER_OPTION_LIMIT {
            return bad(format!(
                "max_per_option must be 1 to {MAX_PER_OPTION_LIMIT}"
            ));
        }
        let most = self.max_per_option * self.options.len() as u64;
        if self.min_selections > self.max_selections || self.max_selections > most {
            return bad(format!(
                "need min_selections ≤ max_selections ≤ {most} (options × max_per_option)"
            ));
        }
        let claims = self.range_proof_claims();
        if claims > MAX_CLAIMS {
            return bad(format!(
                "needs {claims} range-proof claims, at most {MAX_CLAIMS} fit in one proof"
            ));
        }
        Ok(())
    }

    fn option_uses_cds(&self) -> bool {
        uses_cds(0, self.max_per_option)
    }

    fn total_uses_cds(&self) -> bool {
        uses_cds(self.min_selections, self.max_selections)
    }

    fn range_proof_claims(&self) -> usize {
        let options = if self.option_uses_cds() {
            0
        } else {
            self.options.len()
        };
        options + usize::from(!self.total_uses_cds())
    }

    /// Check a voter's values before anything is encrypted.
    pub fn check_choice(&self, values: &[u64]) -> Result<()> {
        if values.len() != self.options.len() {
            return Err(Error::Ballot(format!(
                "contest {:?} has {} options, {} values given",
                self.id,
                self.options.len(),
                values.len()
            )));
        }
        if let Some((i, v)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| **v > self.max_per_option)
        {
            return Err(Error::Ballot(format!(
                "option {:?} of contest {:?} may receive at most {}, not {v}",
                self.options[i].id, self.id, self.max_per_option
            )));
        }
        let total: u64 = values.iter().sum();
        if total < self.min_selections || total > self.max_selections {
            return Err(Error::Ballot(format!(
                "contest {:?} needs between {} and {} selections, got {total}",
                self.id, self.min_selections, self.max_selections
            )));
        }
        Ok(())
    }
}

/// Who proves, for what election (SPEC.md §6.3).
#[derive(Clone, Copy, Debug)]
pub struct BallotContext<'a> {
    /// The election fingerprint.
    pub fingerprint: &'a Fingerprint,
    /// The joint election key.
    pub pk: &'a PublicKey,
    /// The voter's Ed25519 credential public key (32 bytes).
    pub credential: &'a [u8; 32],
}

/// `"psephos/ballot/v1" ‖ credential ‖ u64le(len(contest id)) ‖ contest id ‖ u64le(tag)`.
pub fn claim_context(credential: &[u8; 32], contest_id: &str, tag: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(17 + 32 + 8 + contest_id.len() + 8);
    out.extend_from_slice(b"psephos/ballot/v1");
    out.extend_from_slice(credential);
    out.extend_from_slice(&(contest_id.len() as u64).to_le_bytes());
    out.extend_from_slice(contest_id.as_bytes());
    out.extend_from_slice(&tag.to_le_bytes());
    out
}

/// The proof of one claim.
#[allow(non_snake_case)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ClaimProof {
    /// A disjunctive proof over the whole range.
    Disjunctive(DisjunctiveProof),
    /// A Pedersen commitment, covered by the contest's range proof, and its link.
    Linked {
        /// `V = v·G + s·H`
        V: Point,
        /// `(R, C)` and `V` hold the same value.
        link: Box<LinkProof>,
    },
}

/// One contest of an encrypted ballot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptedContest {
    /// The contest id.
    pub contest: String,
    /// One ciphertext per option, in manifest order.
    pub ciphertexts: Vec<Ciphertext>,
    /// One proof per option: its value is in `[0, max_per_option]`.
    pub option_proofs: Vec<ClaimProof>,
    /// The sum lies in `[min_selections, max_selections]`.
    pub total_proof: ClaimProof,
    /// The aggregated range proof over every `Linked` claim, in order
    /// (options first, then the total); absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_proof: Option<AggregatedRangeProof>,
}

/// An encrypted ballot: one entry per manifest contest, in manifest order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptedBallot {
    /// The contests.
    pub contests: Vec<EncryptedContest>,
}

/// What the voter's device keeps to audit a ballot: the choices and the
/// encryption randomness. Revealing it spoils the ballot (Benaloh challenge).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct BallotSecrets {
    /// Per contest, per option: the value.
    pub values: Vec<Vec<u64>>,
    /// Per contest, per option: the randomness `r`.
    pub randomness: Vec<Vec<Scalar>>,
}

impl std::fmt::Debug for BallotSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BallotSecrets(<redacted>)")
    }
}

fn pedersen(v: u64, s: &DalekScalar) -> Point {
    Point::from_point(RistrettoPoint::multiscalar_mul(
        [DalekScalar::from(v), *s],
        [*generator_g().point(), *generator_h().point()],
    ))
}

struct ClaimWitness<'a> {
    ciphertexts: &'a [Ciphertext],
    min: u64,
    max: u64,
    value: u64,
    r: DalekScalar,
    tag: u64,
}

fn prove_claim<R: RngCore + CryptoRng>(
    ctx: &BallotContext<'_>,
    contest_id: &str,
    w: &ClaimWitness<'_>,
    bp: &mut (Vec<Claim>, Vec<Opening>),
    rng: &mut R,
) -> Result<ClaimProof> {
    let context = claim_context(ctx.credential, contest_id, w.tag);
    if uses_cds(w.min, w.max) {
        let st = RangeStatement {
            context: &context,
            pk: ctx.pk,
            ciphertexts: w.ciphertexts,
            min: w.min,
            max: w.max,
        };
        return DisjunctiveProof::prove(ctx.fingerprint, &st, w.value, &w.r, rng)
            .map(ClaimProof::Disjunctive);
    }
    let s = DalekScalar::random(rng);
    let v_commit = pedersen(w.value, &s);
    let st = LinkStatement {
        context: &context,
        pk: ctx.pk,
        ciphertexts: w.ciphertexts,
        V: &v_commit,
    };
    let link = LinkProof::prove(ctx.fingerprint, &st, w.value, &w.r, &s, rng);
    bp.0.push(Claim {
        V: v_commit,
        min: w.min,
        max: w.max,
    });
    bp.1.push(Opening {
        value: w.value,
        blinding: s,
    });
    Ok(ClaimProof::Linked {
        V: v_commit,
        link: Box::new(link),
    })
}

/// Encrypt one contest with fresh randomness.
pub fn encrypt_contest<R: RngCore + CryptoRng>(
    ctx: &BallotContext<'_>,
    contest: &Contest,
    values: &[u64],
    rng: &mut R,
) -> Result<(EncryptedContest, Vec<Scalar>)> {
    contest.validate()?;
    contest.check_choice(values)?;
    let randomness: Vec<Scalar> = values
        .iter()
        .map(|_| Scalar(DalekScalar::random(rng)))
        .collect();
    let ciphertexts: Vec<Ciphertext> = values
        .iter()
        .zip(&randomness)
        .map(|(v, r)| ctx.pk.encrypt_with(*v, r))
        .collect();
    let mut bp = (Vec::new(), Vec::new());
    let mut option_proofs = Vec::with_capacity(values.len());
    for (i, (v, r)) in values.iter().zip(&randomness).enumerate() {
        let w = ClaimWitness {
            ciphertexts: std::slice::from_ref(&ciphertexts[i]),
            min: 0,
            max: contest.max_per_option,
            value: *v,
            r: r.0,
            tag: i as u64,
        };
        option_proofs.push(prove_claim(ctx, &contest.id, &w, &mut bp, rng)?);
    }
    let total = ClaimWitness {
        ciphertexts: &ciphertexts,
        min: contest.min_selections,
        max: contest.max_selections,
        value: values.iter().sum(),
        r: randomness.iter().map(|r| r.0).sum(),
        tag: TOTAL_TAG,
    };
    let total_proof = prove_claim(ctx, &contest.id, &total, &mut bp, rng)?;
    let range_proof = if bp.0.is_empty() {
        None
    } else {
        let context = claim_context(ctx.credential, &contest.id, RANGE_PROOF_TAG);
        Some(AggregatedRangeProof::prove(
            ctx.fingerprint,
            &context,
            &bp.0,
            &bp.1,
            rng,
        )?)
    };
    let enc = EncryptedContest {
        contest: contest.id.clone(),
        ciphertexts,
        option_proofs,
        total_proof,
        range_proof,
    };
    Ok((enc, randomness))
}

/// Encrypt a whole ballot: `choices[i]` are the values for `contests[i]`.
pub fn encrypt_ballot<R: RngCore + CryptoRng>(
    ctx: &BallotContext<'_>,
    contests: &[Contest],
    choices: &[Vec<u64>],
    rng: &mut R,
) -> Result<(EncryptedBallot, BallotSecrets)> {
    if contests.len() != choices.len() {
        return Err(Error::Ballot(format!(
            "the manifest has {} contests, {} choices given",
            contests.len(),
            choices.len()
        )));
    }
    let mut out = Vec::with_capacity(contests.len());
    let mut randomness = Vec::with_capacity(contests.len());
    for (contest, values) in contests.iter().zip(choices) {
        let (enc, r) = encrypt_contest(ctx, contest, values, rng)?;
        out.push(enc);
        randomness.push(r);
    }
    Ok((
        EncryptedBallot { contests: out },
        BallotSecrets {
            values: choices.to_vec(),
            randomness,
        },
    ))
}

/// A pending Bulletproofs check (not a linear equation, so not batchable
/// with the sigma proofs).
#[derive(Debug)]
pub struct PendingRangeProof<'a> {
    context: Vec<u8>,
    claims: Vec<Claim>,
    proof: &'a AggregatedRangeProof,
}

impl PendingRangeProof<'_> {
    /// Run the Bulletproofs verifier.
    pub fn verify(&self, fp: &Fingerprint) -> Result<()> {
        self.proof.verify(fp, &self.context, &self.claims)
    }
}

/// A ballot turned into what a verifier must check: linear equations (for a
/// batch) and range proofs.
#[derive(Debug, Default)]
pub struct PreparedBallot<'a> {
    /// Every sigma-proof relation of the ballot.
    pub equations: Vec<Equation>,
    /// Every aggregated range proof of the ballot.
    pub range_proofs: Vec<PendingRangeProof<'a>>,
}

fn claim_equations<'a>(
    ctx: &BallotContext<'_>,
    contest_id: &str,
    claim: (&[Ciphertext], u64, u64, u64),
    proof: &'a ClaimProof,
    out: &mut PreparedBallot<'a>,
    bp_claims: &mut Vec<Claim>,
) -> Result<()> {
    let (ciphertexts, min, max, tag) = claim;
    let context = claim_context(ctx.credential, contest_id, tag);
    match (uses_cds(min, max), proof) {
        (true, ClaimProof::Disjunctive(p)) => {
            let st = RangeStatement {
                context: &context,
                pk: ctx.pk,
                ciphertexts,
                min,
                max,
            };
            out.equations.extend(p.equations(ctx.fingerprint, &st)?);
        }
        (false, ClaimProof::Linked { V, link }) => {
            let st = LinkStatement {
                context: &context,
                pk: ctx.pk,
                ciphertexts,
                V,
            };
            out.equations.extend(link.equations(ctx.fingerprint, &st));
            bp_claims.push(Claim { V: *V, min, max });
        }
        (cds, _) => {
            return Err(Error::Ballot(format!(
                "contest {contest_id:?}: claim {tag} must use a {} proof",
                if cds { "disjunctive" } else { "linked range" }
            )))
        }
    }
    Ok(())
}

/// Check a ballot's shape against the manifest and turn its proofs into
/// equations and pending range proofs (SPEC.md §6.4). No group operation is
/// spent on a ballot of the wrong shape.
pub fn prepare_ballot<'a>(
    ctx: &BallotContext<'_>,
    contests: &[Contest],
    ballot: &'a EncryptedBallot,
) -> Result<PreparedBallot<'a>> {
    if ballot.contests.len() != contests.len() {
        return Err(Error::Ballot(format!(
            "the manifest has {} contests, the ballot {}",
            contests.len(),
            ballot.contests.len()
        )));
    }
    let mut out = PreparedBallot::default();
    for (contest, enc) in contests.iter().zip(&ballot.contests) {
        if enc.contest != contest.id {
            return Err(Error::Ballot(format!(
                "expected contest {:?}, found {:?}",
                contest.id, enc.contest
            )));
        }
        let n = contest.options.len();
        if enc.ciphertexts.len() != n || enc.option_proofs.len() != n {
            return Err(Error::Ballot(format!(
                "contest {:?} has {n} options; the ballot has {} ciphertexts and {} proofs",
                contest.id,
                enc.ciphertexts.len(),
                enc.option_proofs.len()
            )));
        }
        if enc.ciphertexts.iter().any(|ct| ct.R.is_identity()) {
            // r = 0 would publish the vote in the clear (a receipt for a vote buyer).
            return Err(Error::Ballot(format!(
                "contest {:?}: a ciphertext with R = identity is not encrypted",
                contest.id
            )));
        }
        let mut bp_claims = Vec::new();
        for (i, (ct, proof)) in enc.ciphertexts.iter().zip(&enc.option_proofs).enumerate() {
            let claim = (
                std::slice::from_ref(ct),
                0,
                contest.max_per_option,
                i as u64,
            );
            claim_equations(ctx, &contest.id, claim, proof, &mut out, &mut bp_claims)?;
        }
        let total = (
            enc.ciphertexts.as_slice(),
            contest.min_selections,
            contest.max_selections,
            TOTAL_TAG,
        );
        claim_equations(
            ctx,
            &contest.id,
            total,
            &enc.total_proof,
            &mut out,
            &mut bp_claims,
        )?;
        match (&enc.range_proof, bp_claims.is_empty()) {
            (None, true) => {}
            (Some(proof), false) => out.range_proofs.push(PendingRangeProof {
                context: claim_context(ctx.credential, &contest.id, RANGE_PROOF_TAG),
                claims: bp_claims,
                proof,
            }),
            (Some(_), true) => {
                return Err(Error::Ballot(format!(
                    "contest {:?} carries a range proof it does not need",
                    contest.id
                )))
            }
            (None, false) => {
                return Err(Error::Ballot(format!(
                    "contest {:?} lacks its range proof",
                    contest.id
                )))
            }
        }
    }
    Ok(out)
}

/// Verify a ballot singly (every equation checked on its own).
pub fn verify_ballot(
    ctx: &BallotContext<'_>,
    contests: &[Contest],
    ballot: &EncryptedBallot,
) -> Result<()> {
    let prepared = prepare_ballot(ctx, contests, ballot)?;
    if !all_hold(&prepared.equations) {
        return Err(Error::ProofInvalid { proof: "ballot" });
    }
    for rp in &prepared.range_proofs {
        rp.verify(ctx.fingerprint)?;
    }
    Ok(())
}

/// Benaloh audit (SPEC.md §6.5): re-encrypt the revealed choices with the
/// revealed randomness and compare with the ballot's ciphertexts.
pub fn check_audit(
    pk: &PublicKey,
    contests: &[Contest],
    ballot: &EncryptedBallot,
    secrets: &BallotSecrets,
) -> Result<()> {
    if secrets.values.len() != contests.len()
        || secrets.randomness.len() != contests.len()
        || ballot.contests.len() != contests.len()
    {
        return Err(Error::Ballot(
            "audit data does not match the manifest".into(),
        ));
    }
    for (i, contest) in contests.iter().enumerate() {
        let values = &secrets.values[i];
        contest.check_choice(values)?;
        let rs = &secrets.randomness[i];
        let cts = &ballot.contests[i].ciphertexts;
        if rs.len() != values.len() || cts.len() != values.len() {
            return Err(Error::Ballot(format!(
                "audit data for contest {:?} has the wrong length",
                contest.id
            )));
        }
        for (j, ((v, r), ct)) in values.iter().zip(rs).zip(cts).enumerate() {
            if pk.encrypt_with(*v, r) != *ct {
                return Err(Error::Ballot(format!(
                    "contest {:?}, option {:?}: the ciphertext does not encrypt the revealed choice",
                    contest.id, contest.options[j].id
                )));
            }
        }
    }
    Ok(())
}

/// The tracking code of a ballot (SPEC.md §6.6): `SHA-256("psephos/tracking/v1" ‖ bytes)`
/// over the exact bytes the client sends.
pub fn tracking_code(ballot_bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"psephos/tracking/v1");
    h.update(ballot_bytes);
    h.finalize().into()
}

/// The short form people read aloud: the first 8 bytes as 16 uppercase hex
/// digits in groups of four, e.g. `3F2A-9C01-77B4-E5D0`.
pub fn short_tracking_code(code: &[u8; 32]) -> String {
    let digits = hex::encode_upper(&code[..8]);
    digits
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elgamal::SecretKey;
    use crate::proofs::BatchVerifier;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    pub(crate) fn contest(n: usize, min: u64, max: u64, per: u64) -> Contest {
        Contest {
            id: "mayor".into(),
            title: "Mayor".into(),
            options: (0..n)
                .map(|i| ContestOption {
                    id: format!("o{i}"),
                    label: format!("Option {i}"),
                })
                .collect(),
            min_selections: min,
            max_selections: max,
            max_per_option: per,
        }
    }

    fn setup(rng: &mut ChaCha20Rng) -> (Fingerprint, PublicKey, [u8; 32]) {
        let pk = SecretKey::random(rng).public_key();
        (
            Fingerprint::election(&[1; 32], &pk.to_non_identity()),
            pk,
            [4; 32],
        )
    }

    #[test]
    fn plurality_ballot_verifies_singly_and_in_a_batch() {
        let mut rng = ChaCha20Rng::seed_from_u64(1101);
        let (fp, pk, cred) = setup(&mut rng);
        let ctx = BallotContext {
            fingerprint: &fp,
            pk: &pk,
            credential: &cred,
        };
        let contests = [contest(5, 1, 1, 1)];
        let (ballot, secrets) =
            encrypt_ballot(&ctx, &contests, &[vec![0, 0, 1, 0, 0]], &mut rng).unwrap();
        verify_ballot(&ctx, &contests, &ballot).unwrap();
        check_audit(&pk, &contests, &ballot, &secrets).unwrap();
        let mut batch = BatchVerifier::new();
        batch.push(
            0,
            prepare_ballot(&ctx, &contests, &ballot).unwrap().equations,
        );
        batch.verify().unwrap();
        let json = serde_json::to_string(&ballot).unwrap();
        let back: EncryptedBallot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ballot);
    }

    #[test]
    fn score_ballot_uses_range_proofs_and_verifies() {
        let mut rng = ChaCha20Rng::seed_from_u64(1102);
        let (fp, pk, cred) = setup(&mut rng);
        let ctx = BallotContext {
            fingerprint: &fp,
            pk: &pk,
            credential: &cred,
        };
        let contests = [contest(4, 0, 40, 10), contest(3, 0, 2, 1)];
        let (ballot, _) = encrypt_ballot(
            &ctx,
            &contests,
            &[vec![10, 0, 7, 3], vec![1, 0, 1]],
            &mut rng,
        )
        .unwrap();
        assert!(ballot.contests[0].range_proof.is_some());
        assert!(ballot.contests[1].range_proof.is_none());
        verify_ballot(&ctx, &contests, &ballot).unwrap();
    }

    #[test]
    fn invalid_choices_are_refused_before_encryption() {
        let mut rng = ChaCha20Rng::seed_from_u64(1103);
        let (fp, pk, cred) = setup(&mut rng);
        let ctx = BallotContext {
            fingerprint: &fp,
            pk: &pk,
            credential: &cred,
        };
        let c = contest(3, 1, 1, 1);
        for bad in [vec![1, 1, 0], vec![0, 0, 0], vec![2, 0, 0], vec![1, 0]] {
            assert!(
                matches!(
                    encrypt_contest(&ctx, &c, &bad, &mut rng),
                    Err(crate::Error::Ballot(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ballot_proved_for_one_credential_fails_for_another() {
        let mut rng = ChaCha20Rng::seed_from_u64(1104);
        let (fp, pk, cred) = setup(&mut rng);
        let ctx = BallotContext {
            fingerprint: &fp,
            pk: &pk,
            credential: &cred,
        };
        let contests = [contest(3, 1, 1, 1)];
        let (ballot, _) = encrypt_ballot(&ctx, &contests, &[vec![1, 0, 0]], &mut rng).unwrap();
        let thief = [5u8; 32];
        let other = BallotContext {
            credential: &thief,
            ..ctx
        };
        assert!(verify_ballot(&other, &contests, &ballot).is_err());
    }

    #[test]
    fn audit_detects_a_ciphertext_for_another_choice() {
        let mut rng = ChaCha20Rng::seed_from_u64(1105);
        let (fp, pk, cred) = setup(&mut rng);
        let ctx = BallotContext {
            fingerprint: &fp,
            pk: &pk,
            credential: &cred,
        };
        let contests = [contest(3, 1, 1, 1)];
        let (ballot, mut secrets) =
            encrypt_ballot(&ctx, &contests, &[vec![1, 0, 0]], &mut rng).unwrap();
        secrets.values[0] = vec![0, 1, 0];
        assert!(check_audit(&pk, &contests, &ballot, &secrets).is_err());
    }

    #[test]
    fn contest_definitions_are_validated() {
        assert!(contest(0, 0, 0, 1).validate().is_err());
        assert!(contest(3, 2, 1, 1).validate().is_err());
        assert!(contest(3, 0, 4, 1).validate().is_err());
        assert!(contest(3, 0, 3, 0).validate().is_err());
        assert!(contest(40, 0, 400, 10).validate().is_err());
        contest(3, 0, 3, 1).validate().unwrap();
    }

    #[test]
    fn manifest_with_min_above_max_is_an_error_not_a_panic() {
        let mut rng = ChaCha20Rng::seed_from_u64(1106);
        let (fp, pk, cred) = setup(&mut rng);
        let ctx = BallotContext {
            fingerprint: &fp,
            pk: &pk,
            credential: &cred,
        };
        let (ballot, _) =
            encrypt_ballot(&ctx, &[contest(1, 0, 1, 1)], &[vec![1]], &mut rng).unwrap();
        assert!(prepare_ballot(&ctx, &[contest(1, 2, 1, 1)], &ballot).is_err());
    }

    #[test]
    fn ciphertext_with_zero_randomness_is_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(1107);
        let (fp, pk, cred) = setup(&mut rng);
        let ctx = BallotContext {
            fingerprint: &fp,
            pk: &pk,
            credential: &cred,
        };
        let contests = [contest(2, 1, 1, 1)];
        let (mut ballot, _) = encrypt_ballot(&ctx, &contests, &[vec![1, 0]], &mut rng).unwrap();
        ballot.contests[0].ciphertexts[0] = pk.encrypt_with(1, &Scalar::from(0u64));
        assert!(matches!(
            prepare_ballot(&ctx, &contests, &ballot),
            Err(Error::Ballot(_))
        ));
    }

    #[test]
    fn short_tracking_code_has_four_groups() {
        let code = tracking_code(b"ballot");
        let short = short_tracking_code(&code);
        assert_eq!(short.len(), 19);
        assert_eq!(short.split('-').count(), 4);
    }
}
