//! Bulletproofs range proofs on Pedersen commitments (SPEC.md §5.5).
//!
//! A *claim* is a commitment `V = v·G + s·H` with bounds `[a, b]`. With
//! `n ∈ {8, 16, 32, 64}` the smallest bit size such that `b − a < 2ⁿ` for every
//! claim of the proof, each claim becomes two Bulletproofs values:
//!
//! * `v − a ∈ [0, 2ⁿ)`, commitment `V − a·G`;
//! * `v − a + (2ⁿ − 1 − (b − a)) ∈ [0, 2ⁿ)`, commitment `V − a·G + (2ⁿ − 1 − (b − a))·G`;
//!
//! which together say `a ≤ v ≤ b`. All values of one proof are aggregated;
//! their number is padded to a power of two with the commitment `H` (value 0,
//! blinding 1), which the verifier adds itself. The Pedersen generators are
//! `B = G`, `B_blinding = H`; the Bulletproofs generators are
//! `BulletproofGens::new(64, 64)` (at most 32 claims per proof).
//!
//! Transcript: protocol `psephos/bulletproof/v1`, fingerprint, `context`, `n`
//! (u64), `m` (number of claims, u64), each claim's `V`, `a`, `b` (u64); then
//! the `bulletproofs` crate's own `RangeProof::prove_multiple` transcript.
//! The proof is carried as its `to_bytes()` encoding in lowercase hex.

use std::sync::OnceLock;

use bulletproofs::{BulletproofGens, PedersenGens, RangeProof};
use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{generator_g, generator_h};
use crate::encoding::Point;
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::transcript::ProofTranscript;

/// Protocol label and version.
pub const PROTOCOL: &[u8] = b"psephos/bulletproof/v1";

/// The most claims one proof may aggregate.
pub const MAX_CLAIMS: usize = 32;

fn bp_gens() -> &'static BulletproofGens {
    static GENS: OnceLock<BulletproofGens> = OnceLock::new();
    GENS.get_or_init(|| BulletproofGens::new(64, 2 * MAX_CLAIMS))
}

fn pc_gens() -> PedersenGens {
    PedersenGens {
        B: *generator_g().point(),
        B_blinding: *generator_h().point(),
    }
}

/// A commitment `V` claimed to hold a value in `[min, max]`.
#[allow(non_snake_case)]
#[derive(Clone, Copy, Debug)]
pub struct Claim {
    /// `V = v·G + s·H`
    pub V: Point,
    /// `a`
    pub min: u64,
    /// `b`
    pub max: u64,
}

/// The opening of a claim, known to the prover only.
#[derive(Clone, Copy, Debug)]
pub struct Opening {
    /// `v`
    pub value: u64,
    /// `s`
    pub blinding: DalekScalar,
}

/// An aggregated Bulletproofs range proof.
#[derive(Clone)]
pub struct AggregatedRangeProof(RangeProof);

impl std::fmt::Debug for AggregatedRangeProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AggregatedRangeProof({} bytes)", self.0.to_bytes().len())
    }
}

impl PartialEq for AggregatedRangeProof {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bytes() == other.0.to_bytes()
    }
}

impl Eq for AggregatedRangeProof {}

impl Serialize for AggregatedRangeProof {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0.to_bytes()))
    }
}

impl<'de> Deserialize<'de> for AggregatedRangeProof {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = crate::encoding::decode_hex_vec("range proof", &text)
            .map_err(serde::de::Error::custom)?;
        RangeProof::from_bytes(&bytes)
            .map(AggregatedRangeProof)
            .map_err(|e| serde::de::Error::custom(format!("malformed range proof: {e}")))
    }
}

/// The bit size for a set of claims.
fn bits_for(claims: &[Claim]) -> Result<usize> {
    let widest = claims.iter().map(|c| c.max - c.min).max().unwrap_or(0);
    [8usize, 16, 32, 64]
        .into_iter()
        .find(|&n| n == 64 || widest < (1u64 << n))
        .ok_or(Error::ProofShape {
            proof: "range",
            why: "no bit size fits".into(),
        })
}

/// `2ⁿ − 1 − (b − a)`, the shift that moves `b` to the top of `[0, 2ⁿ)`.
fn shift(n: usize, claim: &Claim) -> u64 {
    let top = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
    top - (claim.max - claim.min)
}

fn check_claims(claims: &[Claim]) -> Result<()> {
    if claims.is_empty() || claims.len() > MAX_CLAIMS {
        return Err(Error::ProofShape {
            proof: "range",
            why: format!("{} claims (1 to {MAX_CLAIMS} allowed)", claims.len()),
        });
    }
    if let Some(c) = claims.iter().find(|c| c.min > c.max) {
        return Err(Error::ProofShape {
            proof: "range",
            why: format!("empty range [{}, {}]", c.min, c.max),
        });
    }
    Ok(())
}

fn transcript(fp: &Fingerprint, context: &[u8], n: usize, claims: &[Claim]) -> ProofTranscript {
    let mut t = ProofTranscript::new(PROTOCOL, fp);
    t.bytes(b"context", context);
    t.u64(b"n", n as u64);
    t.u64(b"m", claims.len() as u64);
    for c in claims {
        t.point(b"V", &c.V);
        t.u64(b"a", c.min);
        t.u64(b"b", c.max);
    }
    t
}

/// The commitments the Bulletproofs verifier sees, padding included.
fn derived_commitments(n: usize, claims: &[Claim]) -> Vec<CompressedRistretto> {
    let g = generator_g().point();
    let mut out = Vec::with_capacity(2 * claims.len());
    for c in claims {
        let low = c.V.point() - DalekScalar::from(c.min) * g;
        let high = low + DalekScalar::from(shift(n, c)) * g;
        out.push(low.compress());
        out.push(high.compress());
    }
    let padded = out.len().next_power_of_two();
    let pad = CompressedRistretto(*generator_h().as_bytes());
    out.resize(padded, pad);
    out
}

impl AggregatedRangeProof {
    /// Prove every claim; refuses (before proving) any value outside its range.
    pub fn prove<R: RngCore + CryptoRng>(
        fp: &Fingerprint,
        context: &[u8],
        claims: &[Claim],
        openings: &[Opening],
        rng: &mut R,
    ) -> Result<Self> {
        check_claims(claims)?;
        if claims.len() != openings.len() {
            return Err(Error::ProofShape {
                proof: "range",
                why: "one opening per claim is needed".into(),
            });
        }
        for (c, o) in claims.iter().zip(openings) {
            if o.value < c.min || o.value > c.max {
                return Err(Error::OutOfRange {
                    value: o.value,
                    min: c.min,
                    max: c.max,
                });
            }
        }
        let n = bits_for(claims)?;
        let mut values = Vec::with_capacity(2 * claims.len());
        let mut blindings = Vec::with_capacity(2 * claims.len());
        for (c, o) in claims.iter().zip(openings) {
            values.push(o.value - c.min);
            values.push(o.value - c.min + shift(n, c));
            blindings.push(o.blinding);
            blindings.push(o.blinding);
        }
        let padded = values.len().next_power_of_two();
        values.resize(padded, 0);
        blindings.resize(padded, DalekScalar::ONE);
        let mut t = transcript(fp, context, n, claims);
        let (proof, _) = RangeProof::prove_multiple_with_rng(
            bp_gens(),
            &pc_gens(),
            t.merlin(),
            &values,
            &blindings,
            n,
            rng,
        )
        .map_err(|e| Error::ProofShape {
            proof: "range",
            why: e.to_string(),
        })?;
        Ok(AggregatedRangeProof(proof))
    }

    /// Verify every claim.
    pub fn verify(&self, fp: &Fingerprint, context: &[u8], claims: &[Claim]) -> Result<()> {
        check_claims(claims)?;
        let n = bits_for(claims)?;
        let commitments = derived_commitments(n, claims);
        let mut t = transcript(fp, context, n, claims);
        self.0
            .verify_multiple(bp_gens(), &pc_gens(), t.merlin(), &commitments, n)
            .map_err(|_| Error::ProofInvalid { proof: "range" })
    }

    /// The proof's bytes (`RangeProof::to_bytes`).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::ristretto::RistrettoPoint;
    use curve25519_dalek::traits::MultiscalarMul;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn commit(v: u64, s: DalekScalar) -> Point {
        Point::from_point(RistrettoPoint::multiscalar_mul(
            [DalekScalar::from(v), s],
            [*generator_g().point(), *generator_h().point()],
        ))
    }

    #[test]
    fn values_at_both_ends_of_odd_ranges_verify() {
        let mut rng = ChaCha20Rng::seed_from_u64(301);
        let fp = Fingerprint::from_bytes([9; 32]);
        let cases = [
            (0u64, 0u64, 10u64),
            (10, 0, 10),
            (5, 3, 300),
            (1000, 1000, 70000),
        ];
        let mut claims = Vec::new();
        let mut openings = Vec::new();
        for (v, a, b) in cases {
            let s = DalekScalar::random(&mut rng);
            claims.push(Claim {
                V: commit(v, s),
                min: a,
                max: b,
            });
            openings.push(Opening {
                value: v,
                blinding: s,
            });
        }
        let proof = AggregatedRangeProof::prove(&fp, b"ctx", &claims, &openings, &mut rng).unwrap();
        proof.verify(&fp, b"ctx", &claims).unwrap();
        assert!(proof.verify(&fp, b"other", &claims).is_err());
        let json = serde_json::to_string(&proof).unwrap();
        let back: AggregatedRangeProof = serde_json::from_str(&json).unwrap();
        back.verify(&fp, b"ctx", &claims).unwrap();
    }

    #[test]
    fn value_above_range_is_refused_and_a_commitment_swap_fails() {
        let mut rng = ChaCha20Rng::seed_from_u64(302);
        let fp = Fingerprint::from_bytes([9; 32]);
        let s = DalekScalar::random(&mut rng);
        let claims = [Claim {
            V: commit(11, s),
            min: 0,
            max: 10,
        }];
        let openings = [Opening {
            value: 11,
            blinding: s,
        }];
        assert!(matches!(
            AggregatedRangeProof::prove(&fp, b"", &claims, &openings, &mut rng),
            Err(Error::OutOfRange { .. })
        ));
        // A proof for 10 does not verify against a commitment to 11.
        let good = [Claim {
            V: commit(10, s),
            min: 0,
            max: 10,
        }];
        let proof = AggregatedRangeProof::prove(
            &fp,
            b"",
            &good,
            &[Opening {
                value: 10,
                blinding: s,
            }],
            &mut rng,
        )
        .unwrap();
        assert!(proof.verify(&fp, b"", &claims).is_err());
    }
}
