//! Partial decryptions and the result (SPEC.md §8.4, §10.5, §11.8–§11.10).

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar as DalekScalar;

use crate::dlog::DlogTable;
use crate::elgamal::Ciphertext;
use crate::record::{AuthorKey, Payload};
use crate::threshold::{combine, verify_decryption, DecryptionShare};
use crate::Point;

use super::violation::{broken, Rule, Violation};
use super::{Effect, Election, Phase, Trust};

/// The board searches a discrete logarithm up to this bound at most: a
/// baby-step table of 2^20 points (SPEC.md §10.5).
pub const BOARD_DLOG_CAP: u64 = 1 << 40;

/// The result entry as posted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// Trustees whose partial decryptions were combined.
    pub trustees: Vec<u32>,
    /// Counts per contest per option.
    pub counts: Vec<Vec<u64>>,
    /// Every check of the result held.
    pub verified: bool,
}

impl Election {
    /// `partial_decryption` (SPEC.md §8.5.5, §10.5, §11.9).
    pub(super) fn partial_decryption(
        &mut self,
        author: &AuthorKey,
        l: u32,
        shares: &[DecryptionShare],
        trust: Trust,
    ) -> Result<Effect, Violation> {
        if self.phase != Phase::Closed {
            return broken(
                Rule::PartialNotAllowed,
                format!(
                    "partial decryptions are accepted only after voting closed and before the result; the election is {}",
                    self.phase.as_str()
                ),
            );
        }
        self.trustee_authored(author, l)?;
        self.check_min_counted()?;
        if self.partials.iter().any(|(k, _)| *k == l) {
            return broken(
                Rule::DuplicatePartial,
                format!("trustee {l} has already posted its partial decryption"),
            );
        }
        let (Some(joint), Some(tally)) = (&self.ceremony.joint, &self.tally) else {
            return broken(Rule::PartialNotAllowed, "there is no tally to decrypt");
        };
        if shares.len() != tally.len() {
            return broken(
                Rule::InvalidPartial,
                format!(
                    "{} decryption shares for {} tally positions",
                    shares.len(),
                    tally.len()
                ),
            );
        }
        if trust != Trust::OwnLog {
            let vk = joint
                .verification_keys
                .get((l as usize).wrapping_sub(1))
                .ok_or_else(|| {
                    Violation::new(Rule::InvalidPartial, format!("no verification key X_{l}"))
                })?;
            verify_decryption(&joint.fingerprint, l, vk, tally, shares).map_err(|e| {
                Violation::new(
                    Rule::InvalidPartial,
                    format!("trustee {l}'s decryption proofs do not verify against X_{l} and the tally: {e}"),
                )
            })?;
        }
        self.partials
            .push((l, shares.iter().map(|s| s.D).collect()));
        Ok(Effect::default())
    }

    /// The tally counts at least the manifest's `min_counted` credentials
    /// (SPEC.md §10.5, rule `TooFewCounted`): a smaller one is never
    /// decrypted, since it could reveal how a few voters voted. The board
    /// refuses partial decryptions by it and a trustee checks it before
    /// decrypting.
    pub fn check_min_counted(&self) -> Result<(), Violation> {
        let counted = self.votes.counted_credentials();
        let min = self.manifest.min_counted();
        if counted < min {
            return broken(
                Rule::TooFewCounted,
                format!(
                    "the tally counts {counted} credentials, fewer than the manifest's min_counted {min}: decrypting it could reveal how they voted"
                ),
            );
        }
        Ok(())
    }

    /// The bound of §8.4 for each contest: `W · max_per_option`, `W` the
    /// total weight of the counted credentials.
    pub fn count_bounds(&self) -> Vec<u128> {
        let w = u128::from(self.votes.counted_weight());
        self.manifest
            .contests
            .iter()
            .map(|c| w * u128::from(c.max_per_option))
            .collect()
    }

    /// The contest of every tally position.
    fn position_contests(&self) -> Vec<usize> {
        self.manifest
            .contests
            .iter()
            .enumerate()
            .flat_map(|(c, contest)| std::iter::repeat_n(c, contest.options.len()))
            .collect()
    }

    /// `C − Σ λ_l D_l` of position `k` over the first `t` valid partial
    /// decryptions in log order (SPEC.md §8.4, §10.5).
    fn combined(&self, tally: &[Ciphertext]) -> Result<(Vec<u32>, Vec<RistrettoPoint>), Violation> {
        let t = self.t() as usize;
        if self.partials.len() < t {
            return broken(
                Rule::ResultNotAllowed,
                format!(
                    "{} valid partial decryptions; the threshold is {t}",
                    self.partials.len()
                ),
            );
        }
        let chosen = &self.partials[..t];
        let mut points = Vec::with_capacity(tally.len());
        for (k, ct) in tally.iter().enumerate() {
            let shares: Vec<(u32, Point)> = chosen
                .iter()
                .filter_map(|(l, d)| d.get(k).map(|p| (*l, *p)))
                .collect();
            let point = combine(ct, &shares)
                .map_err(|e| Violation::new(Rule::ResultTrustees, e.to_string()))?;
            points.push(point);
        }
        Ok((chosen.iter().map(|(l, _)| *l).collect(), points))
    }

    fn result_state(&self) -> Result<&std::sync::Arc<Vec<Ciphertext>>, Violation> {
        if self.phase != Phase::Closed {
            return broken(
                Rule::ResultNotAllowed,
                format!(
                    "a result needs voting closed and no result yet; the election is {}",
                    self.phase.as_str()
                ),
            );
        }
        self.tally
            .as_ref()
            .ok_or_else(|| Violation::new(Rule::ResultNotAllowed, "there is no tally"))
    }

    /// The `result` entry once `t` valid partial decryptions are on the
    /// log (SPEC.md §10.5): the first `t` in log order combined, each
    /// position solved up to the bound of §8.4 (at most
    /// [`BOARD_DLOG_CAP`]). `Ok(None)` while fewer than `t` are in.
    pub fn result_due(&self) -> Result<Option<Payload>, Violation> {
        let tally = self.result_state()?;
        if self.partials.len() < self.t() as usize {
            return Ok(None);
        }
        let (trustees, points) = self.combined(tally)?;
        let bounds = self.count_bounds();
        let largest = bounds.iter().copied().max().unwrap_or(0);
        let table = DlogTable::new(
            u64::try_from(largest)
                .unwrap_or(u64::MAX)
                .min(BOARD_DLOG_CAP),
        );
        let contests = self.position_contests();
        let mut flat = Vec::with_capacity(points.len());
        for (k, point) in points.iter().enumerate() {
            let value = table.solve(point).map_err(|e| {
                Violation::new(Rule::CountOutOfBound, format!("tally position {k}: {e}"))
            })?;
            if u128::from(value) > bounds[contests[k]] {
                return broken(
                    Rule::CountOutOfBound,
                    format!(
                        "tally position {k} decrypts to {value}, above the bound {}",
                        bounds[contests[k]]
                    ),
                );
            }
            flat.push(value);
        }
        let mut it = flat.into_iter();
        let counts = self
            .manifest
            .contests
            .iter()
            .map(|c| it.by_ref().take(c.options.len()).collect())
            .collect();
        Ok(Some(Payload::Result {
            tally: tally.as_ref().clone(),
            trustees,
            counts,
        }))
    }

    /// `result`: the board's entry must carry the tally of the counted set
    /// (V8), the first `t` valid partial decryptions (V10.1) and counts
    /// that are the discrete logarithms of their combination within the
    /// bound of §8.4 (V10.2–3).
    pub(super) fn result_entry(
        &mut self,
        author: &AuthorKey,
        posted_tally: &[Ciphertext],
        trustees: &[u32],
        counts: &[Vec<u64>],
    ) -> Result<Effect, Violation> {
        self.board_authored(author, "result")?;
        let tally = self.result_state()?.clone();
        if posted_tally != tally.as_slice() {
            let which: Vec<usize> = (0..tally.len().max(posted_tally.len()))
                .filter(|&k| posted_tally.get(k) != tally.get(k))
                .collect();
            return broken(
                Rule::TallyMismatch,
                format!(
                    "tally positions {which:?} are not the weighted sum of the counted ballots"
                ),
            );
        }
        let (first, points) = self.combined(&tally)?;
        if trustees != first.as_slice() {
            return broken(
                Rule::ResultTrustees,
                format!("the result combines trustees {trustees:?}; the first {} valid partial decryptions are {first:?}", self.t()),
            );
        }
        let shape_ok = counts.len() == self.manifest.contests.len()
            && counts
                .iter()
                .zip(&self.manifest.contests)
                .all(|(c, contest)| c.len() == contest.options.len());
        if !shape_ok {
            return broken(
                Rule::ResultShape,
                "the counts do not have one number per option of every contest",
            );
        }
        let bounds = self.count_bounds();
        let contests = self.position_contests();
        for (k, (&count, point)) in counts.iter().flatten().zip(&points).enumerate() {
            let bound = bounds[contests[k]];
            if u128::from(count) > bound {
                return broken(
                    Rule::CountOutOfBound,
                    format!("position {k}: count {count} exceeds the bound {bound}"),
                );
            }
            if &DalekScalar::from(count) * RISTRETTO_BASEPOINT_TABLE != *point {
                return broken(
                    Rule::CountMismatch,
                    format!("position {k}: the published count {count} is not what the partial decryptions give"),
                );
            }
        }
        self.result = Some(Published {
            trustees: trustees.to_vec(),
            counts: counts.to_vec(),
            verified: true,
        });
        self.phase = Phase::Tallied;
        Ok(Effect::default())
    }
}
