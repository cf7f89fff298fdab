//! Disjunctive Chaum–Pedersen (CDS) proof that a ciphertext encrypts a value
//! in a small range `[a, b]` (SPEC.md §5.3).
//!
//! Statement: the election key `PK`, a list of ciphertexts `(Rᵢ, Cᵢ)` whose
//! sum `(R, C)` is the ciphertext in question (one ciphertext for an option;
//! all option ciphertexts of a contest for its total), the bounds `a ≤ b`,
//! and a caller-defined `context` (SPEC.md §6.3 fixes it for ballots).
//!
//! For each `k ∈ [a, b]` the proof carries a branch `{A_k, B_k, c_k, z_k}`.
//! Honest proof for the true value `v` with randomness `r`: for `k ≠ v`,
//! random `c_k, z_k` and `A_k = z_k·G − c_k·R`, `B_k = z_k·PK − c_k·(C − k·G)`;
//! for `k = v`, `A_v = w·G`, `B_v = w·PK`, `c_v = c − Σ_{k≠v} c_k`,
//! `z_v = w + c_v·r`. (The prover computes every branch with the same
//! operations, the real one with `c_v = 0`, `z_v = w` first, so its timing
//! does not depend on `v`; it uses `A_k = (z_k − c_k·r)·G` and
//! `B_k = (z_k − c_k·r)·PK − c_k·(v − k)·G`, equal to the above for honest input.)
//!
//! Transcript (protocol `psephos/range-cds/v1`): fingerprint, `context`, `G`,
//! `PK`, `n` (number of ciphertexts, u64), each `R`, `C` in order, `a`, `b`
//! (u64), then every branch's `A`, `B` in order of `k`; challenge `c`.
//!
//! Verification: `Σ_k c_k = c` and, for every `k`,
//! `z_k·G − c_k·R − A_k = 0` and `z_k·PK − c_k·C + (c_k·k)·G − B_k = 0`.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

use super::{all_hold, generator_g, Equation};
use crate::elgamal::{Ciphertext, PublicKey};
use crate::encoding::{Point, Scalar};
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::transcript::ProofTranscript;

/// Protocol label and version.
pub const PROTOCOL: &[u8] = b"psephos/range-cds/v1";

/// The most branches a disjunctive proof may have; larger ranges use
/// Bulletproofs (SPEC.md §6.2).
pub const MAX_BRANCHES: u64 = 64;

/// The public statement of a disjunctive proof.
#[derive(Clone, Copy, Debug)]
pub struct RangeStatement<'a> {
    /// Caller-defined binding (SPEC.md §6.3 for ballots).
    pub context: &'a [u8],
    /// The election key.
    pub pk: &'a PublicKey,
    /// Ciphertexts whose sum is claimed to encrypt a value in `[min, max]`.
    pub ciphertexts: &'a [Ciphertext],
    /// Lower bound `a`.
    pub min: u64,
    /// Upper bound `b`.
    pub max: u64,
}

/// One branch `k` of a disjunctive proof.
#[allow(non_snake_case)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// `A_k`
    pub A: Point,
    /// `B_k`
    pub B: Point,
    /// `c_k`
    pub c: Scalar,
    /// `z_k`
    pub z: Scalar,
}

/// A disjunctive proof: one branch per value in `[a, b]`, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DisjunctiveProof {
    /// Branches for `k = a, a+1, …, b`.
    pub branches: Vec<Branch>,
}

fn statement_transcript(fp: &Fingerprint, s: &RangeStatement<'_>) -> ProofTranscript {
    let mut t = ProofTranscript::new(PROTOCOL, fp);
    t.bytes(b"context", s.context);
    t.point(b"G", generator_g());
    t.point(b"PK", s.pk.as_point());
    t.u64(b"n", s.ciphertexts.len() as u64);
    for ct in s.ciphertexts {
        t.point(b"R", &ct.R);
        t.point(b"C", &ct.C);
    }
    t.u64(b"a", s.min);
    t.u64(b"b", s.max);
    t
}

fn check_bounds(s: &RangeStatement<'_>) -> Result<u64> {
    if s.min > s.max || s.max - s.min >= MAX_BRANCHES {
        return Err(Error::ProofShape {
            proof: "disjunctive",
            why: format!("range [{}, {}] is not a small range", s.min, s.max),
        });
    }
    if s.ciphertexts.is_empty() {
        return Err(Error::ProofShape {
            proof: "disjunctive",
            why: "no ciphertext".into(),
        });
    }
    Ok(s.max - s.min + 1)
}

impl DisjunctiveProof {
    /// Prove that the sum of `s.ciphertexts`, made with total randomness `r`,
    /// encrypts `v ∈ [a, b]`. A value outside the range is refused.
    pub fn prove<R: RngCore + CryptoRng>(
        fp: &Fingerprint,
        s: &RangeStatement<'_>,
        v: u64,
        r: &DalekScalar,
        rng: &mut R,
    ) -> Result<Self> {
        let count = check_bounds(s)?;
        if v < s.min || v > s.max {
            return Err(Error::OutOfRange {
                value: v,
                min: s.min,
                max: s.max,
            });
        }
        let pk = *s.pk.as_point().point();
        let mut w = DalekScalar::random(rng);
        let mut cs = Vec::with_capacity(count as usize);
        let mut zs = Vec::with_capacity(count as usize);
        let mut commitments: Vec<(RistrettoPoint, RistrettoPoint)> =
            Vec::with_capacity(count as usize);
        let v_scalar = DalekScalar::from(v);
        for k in s.min..=s.max {
            let real = k.ct_eq(&v);
            let c_k = DalekScalar::conditional_select(
                &DalekScalar::random(rng),
                &DalekScalar::ZERO,
                real,
            );
            let z_k = DalekScalar::conditional_select(&DalekScalar::random(rng), &w, real);
            // The prover knows R = r·G and C − k·G = (v − k)·G + r·PK, so with
            // u = z − c·r: A = u·G and B = u·PK − c·(v − k)·G. Two fixed-base
            // and one variable-base multiplication instead of four.
            let u = z_k - c_k * r;
            let a_k = &u * RISTRETTO_BASEPOINT_TABLE;
            let b_k =
                u * pk - &(c_k * (v_scalar - DalekScalar::from(k))) * RISTRETTO_BASEPOINT_TABLE;
            commitments.push((a_k, b_k));
            cs.push(c_k);
            zs.push(z_k);
        }
        let mut t = statement_transcript(fp, s);
        let points: Vec<(Point, Point)> = commitments
            .into_iter()
            .map(|(a, b)| (Point::from_point(a), Point::from_point(b)))
            .collect();
        for (a, b) in &points {
            t.point(b"A", a);
            t.point(b"B", b);
        }
        let c = t.challenge();
        let others: DalekScalar = cs.iter().sum();
        let c_v = c - others;
        for (k, (c_k, z_k)) in (s.min..=s.max).zip(cs.iter_mut().zip(zs.iter_mut())) {
            let real = k.ct_eq(&v);
            c_k.conditional_assign(&c_v, real);
            z_k.conditional_assign(&(w + c_v * r), real);
        }
        w.zeroize();
        let branches = points
            .into_iter()
            .zip(cs.into_iter().zip(zs))
            .map(|((a, b), (c, z))| Branch {
                A: a,
                B: b,
                c: Scalar(c),
                z: Scalar(z),
            })
            .collect();
        Ok(DisjunctiveProof { branches })
    }

    /// The relations a verifier checks; `Err` for a wrong shape or a
    /// challenge split that does not add up (no group operation needed).
    pub fn equations(&self, fp: &Fingerprint, s: &RangeStatement<'_>) -> Result<Vec<Equation>> {
        let count = check_bounds(s)?;
        if self.branches.len() as u64 != count {
            return Err(Error::ProofShape {
                proof: "disjunctive",
                why: format!("expected {count} branches, got {}", self.branches.len()),
            });
        }
        let mut t = statement_transcript(fp, s);
        for br in &self.branches {
            t.point(b"A", &br.A);
            t.point(b"B", &br.B);
        }
        let c = t.challenge();
        let sum: DalekScalar = self.branches.iter().map(|b| b.c.0).sum();
        if sum != c {
            return Err(Error::ProofInvalid {
                proof: "disjunctive (challenges do not sum to the transcript challenge)",
            });
        }
        let minus_one = -DalekScalar::ONE;
        let mut eqs = Vec::with_capacity(self.branches.len() * 2);
        for (k, br) in (s.min..=s.max).zip(&self.branches) {
            let (c_k, z_k) = (br.c.0, br.z.0);
            let mut e1 = Equation::new().g(z_k).term(minus_one, &br.A);
            let mut e2 = Equation::new()
                .g(c_k * DalekScalar::from(k))
                .term(z_k, s.pk.as_point())
                .term(minus_one, &br.B);
            for ct in s.ciphertexts {
                e1 = e1.term(-c_k, &ct.R);
                e2 = e2.term(-c_k, &ct.C);
            }
            eqs.push(e1);
            eqs.push(e2);
        }
        Ok(eqs)
    }

    /// Verify singly.
    pub fn verify(&self, fp: &Fingerprint, s: &RangeStatement<'_>) -> Result<()> {
        if all_hold(&self.equations(fp, s)?) {
            Ok(())
        } else {
            Err(Error::ProofInvalid {
                proof: "disjunctive",
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elgamal::SecretKey;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn setup(rng: &mut ChaCha20Rng) -> (Fingerprint, PublicKey) {
        (
            Fingerprint::from_bytes([3; 32]),
            SecretKey::random(rng).public_key(),
        )
    }

    #[test]
    fn every_value_in_range_proves_and_verifies() {
        let mut rng = ChaCha20Rng::seed_from_u64(501);
        let (fp, pk) = setup(&mut rng);
        for v in 2..=5u64 {
            let (ct, r) = pk.encrypt(v, &mut rng);
            let cts = [ct];
            let s = RangeStatement {
                context: b"x",
                pk: &pk,
                ciphertexts: &cts,
                min: 2,
                max: 5,
            };
            let proof = DisjunctiveProof::prove(&fp, &s, v, r.inner(), &mut rng).unwrap();
            proof.verify(&fp, &s).unwrap();
            let other = RangeStatement { context: b"y", ..s };
            assert!(proof.verify(&fp, &other).is_err());
        }
    }

    #[test]
    fn value_out_of_range_is_refused_and_a_forced_proof_fails() {
        let mut rng = ChaCha20Rng::seed_from_u64(502);
        let (fp, pk) = setup(&mut rng);
        let (ct, r) = pk.encrypt(2, &mut rng);
        let cts = [ct];
        let s = RangeStatement {
            context: b"",
            pk: &pk,
            ciphertexts: &cts,
            min: 0,
            max: 1,
        };
        assert!(matches!(
            DisjunctiveProof::prove(&fp, &s, 2, r.inner(), &mut rng),
            Err(Error::OutOfRange { .. })
        ));
        // Lie about the value: claim 1 while the ciphertext holds 2.
        let forged = DisjunctiveProof::prove(&fp, &s, 1, r.inner(), &mut rng).unwrap();
        assert!(forged.verify(&fp, &s).is_err());
    }

    #[test]
    fn sum_of_ciphertexts_is_proved() {
        let mut rng = ChaCha20Rng::seed_from_u64(503);
        let (fp, pk) = setup(&mut rng);
        let (a, ra) = pk.encrypt(1, &mut rng);
        let (b, rb) = pk.encrypt(0, &mut rng);
        let (c, rc) = pk.encrypt(1, &mut rng);
        let cts = [a, b, c];
        let r = ra.inner() + rb.inner() + rc.inner();
        let s = RangeStatement {
            context: b"",
            pk: &pk,
            ciphertexts: &cts,
            min: 2,
            max: 2,
        };
        let proof = DisjunctiveProof::prove(&fp, &s, 2, &r, &mut rng).unwrap();
        proof.verify(&fp, &s).unwrap();
        let wrong = RangeStatement {
            ciphertexts: &cts[..2],
            ..s
        };
        assert!(proof.verify(&fp, &wrong).is_err());
    }

    #[test]
    fn wrong_branch_count_is_a_shape_error() {
        let mut rng = ChaCha20Rng::seed_from_u64(504);
        let (fp, pk) = setup(&mut rng);
        let (ct, r) = pk.encrypt(0, &mut rng);
        let cts = [ct];
        let s = RangeStatement {
            context: b"",
            pk: &pk,
            ciphertexts: &cts,
            min: 0,
            max: 1,
        };
        let mut proof = DisjunctiveProof::prove(&fp, &s, 0, r.inner(), &mut rng).unwrap();
        proof.branches.pop();
        assert!(matches!(
            proof.verify(&fp, &s),
            Err(Error::ProofShape { .. })
        ));
    }
}
