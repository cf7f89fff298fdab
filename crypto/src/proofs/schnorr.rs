//! Schnorr proof of knowledge of a discrete logarithm (SPEC.md §5.1).
//!
//! Statement: `X = x·G`, plus a caller-defined `context` (for a key-ceremony
//! coefficient: dealer `i` and coefficient index `j`, SPEC.md §8.2).
//!
//! Transcript (protocol `psephos/schnorr/v1`): fingerprint, `context`,
//! `G`, `X`, then the commitment `T`; challenge `c`.
//!
//! Proof `{T, z}` with `T = w·G`, `z = w + c·x`.
//! Verification equation: `z·G − c·X − T = 0`.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::{all_hold, generator_g, Equation};
use crate::encoding::{Point, Scalar};
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::transcript::ProofTranscript;

/// Protocol label and version.
pub const PROTOCOL: &[u8] = b"psephos/schnorr/v1";

/// A Schnorr proof in commitment form.
#[allow(non_snake_case)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchnorrProof {
    /// Commitment `T = w·G`.
    pub T: Point,
    /// Response `z = w + c·x`.
    pub z: Scalar,
}

#[allow(non_snake_case)]
fn challenge(fp: &Fingerprint, context: &[u8], X: &Point, T: &Point) -> DalekScalar {
    let mut t = ProofTranscript::new(PROTOCOL, fp);
    t.bytes(b"context", context);
    t.point(b"G", generator_g());
    t.point(b"X", X);
    t.point(b"T", T);
    t.challenge()
}

impl SchnorrProof {
    /// Prove knowledge of `x` with `X = x·G`.
    pub fn prove<R: RngCore + CryptoRng>(
        fp: &Fingerprint,
        context: &[u8],
        x: &DalekScalar,
        rng: &mut R,
    ) -> Self {
        let big_x = Point::from_point(x * RISTRETTO_BASEPOINT_TABLE);
        let mut w = DalekScalar::random(rng);
        let big_t = Point::from_point(&w * RISTRETTO_BASEPOINT_TABLE);
        let c = challenge(fp, context, &big_x, &big_t);
        let z = w + c * x;
        w.zeroize();
        SchnorrProof {
            T: big_t,
            z: Scalar(z),
        }
    }

    /// The relation a verifier checks (single or in a batch).
    #[allow(non_snake_case)]
    pub fn equations(&self, fp: &Fingerprint, context: &[u8], X: &Point) -> Vec<Equation> {
        let c = challenge(fp, context, X, &self.T);
        vec![Equation::new()
            .g(self.z.0)
            .term(-c, X)
            .term(-DalekScalar::ONE, &self.T)]
    }

    /// Verify singly.
    #[allow(non_snake_case)]
    pub fn verify(&self, fp: &Fingerprint, context: &[u8], X: &Point) -> Result<()> {
        if all_hold(&self.equations(fp, context, X)) {
            Ok(())
        } else {
            Err(Error::ProofInvalid { proof: "Schnorr" })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn honest_proof_verifies_and_binds_everything() {
        let mut rng = ChaCha20Rng::seed_from_u64(201);
        let fp = Fingerprint::from_bytes([7; 32]);
        let x = DalekScalar::random(&mut rng);
        let big_x = Point::from_point(&x * RISTRETTO_BASEPOINT_TABLE);
        let proof = SchnorrProof::prove(&fp, b"i=1,j=0", &x, &mut rng);
        proof.verify(&fp, b"i=1,j=0", &big_x).unwrap();
        assert!(proof
            .verify(&Fingerprint::from_bytes([8; 32]), b"i=1,j=0", &big_x)
            .is_err());
        assert!(proof.verify(&fp, b"i=1,j=1", &big_x).is_err());
        assert!(proof.verify(&fp, b"i=1,j=0", &(big_x + big_x)).is_err());
        let mut bad = proof;
        bad.z = Scalar(proof.z.0 + DalekScalar::ONE);
        assert!(bad.verify(&fp, b"i=1,j=0", &big_x).is_err());
        let mut bad = proof;
        bad.T = proof.T + *generator_g();
        assert!(bad.verify(&fp, b"i=1,j=0", &big_x).is_err());
    }
}
