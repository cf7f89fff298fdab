//! Chaum–Pedersen proof of discrete-log equality (SPEC.md §5.2).
//!
//! Statement: `X = x·G` and `D = x·B` for a second base `B`, plus a
//! caller-defined `context`. Used for partial decryption (`B = R_tally`,
//! `X = X_l`, `D = D_l`, SPEC.md §8.4) and for key-ceremony complaints.
//!
//! Transcript (protocol `psephos/dleq/v1`): fingerprint, `context`, `G`, `X`,
//! `B`, `D`, then commitments `T1`, `T2`; challenge `c`.
//!
//! Proof `{T1, T2, z}` with `T1 = w·G`, `T2 = w·B`, `z = w + c·x`.
//! Verification equations: `z·G − c·X − T1 = 0` and `z·B − c·D − T2 = 0`.

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
pub const PROTOCOL: &[u8] = b"psephos/dleq/v1";

/// The public statement of a DLEQ proof.
#[allow(non_snake_case)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DleqStatement<'a> {
    /// Caller-defined binding (SPEC.md lists it per use).
    pub context: &'a [u8],
    /// `X = x·G`
    pub X: &'a Point,
    /// The second base `B`.
    pub B: &'a Point,
    /// `D = x·B`
    pub D: &'a Point,
}

/// A DLEQ proof in commitment form.
#[allow(non_snake_case)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DleqProof {
    /// `T1 = w·G`
    pub T1: Point,
    /// `T2 = w·B`
    pub T2: Point,
    /// `z = w + c·x`
    pub z: Scalar,
}

fn challenge(fp: &Fingerprint, s: &DleqStatement<'_>, t1: &Point, t2: &Point) -> DalekScalar {
    let mut t = ProofTranscript::new(PROTOCOL, fp);
    t.bytes(b"context", s.context);
    t.point(b"G", generator_g());
    t.point(b"X", s.X);
    t.point(b"B", s.B);
    t.point(b"D", s.D);
    t.point(b"T1", t1);
    t.point(b"T2", t2);
    t.challenge()
}

impl DleqProof {
    /// Prove `log_G X = log_B D = x`. The statement must be the true one
    /// (`X = x·G`, `D = x·B`); the caller computed `X` and `D` from `x`.
    pub fn prove<R: RngCore + CryptoRng>(
        fp: &Fingerprint,
        statement: &DleqStatement<'_>,
        x: &DalekScalar,
        rng: &mut R,
    ) -> Self {
        let mut w = DalekScalar::random(rng);
        let t1 = Point::from_point(&w * RISTRETTO_BASEPOINT_TABLE);
        let t2 = Point::from_point(w * statement.B.point());
        let c = challenge(fp, statement, &t1, &t2);
        let z = w + c * x;
        w.zeroize();
        DleqProof {
            T1: t1,
            T2: t2,
            z: Scalar(z),
        }
    }

    /// The two relations a verifier checks.
    pub fn equations(&self, fp: &Fingerprint, s: &DleqStatement<'_>) -> Vec<Equation> {
        let c = challenge(fp, s, &self.T1, &self.T2);
        let minus_one = -DalekScalar::ONE;
        vec![
            Equation::new()
                .g(self.z.0)
                .term(-c, s.X)
                .term(minus_one, &self.T1),
            Equation::new()
                .term(self.z.0, s.B)
                .term(-c, s.D)
                .term(minus_one, &self.T2),
        ]
    }

    /// Verify singly.
    pub fn verify(&self, fp: &Fingerprint, s: &DleqStatement<'_>) -> Result<()> {
        if all_hold(&self.equations(fp, s)) {
            Ok(())
        } else {
            Err(Error::ProofInvalid { proof: "DLEQ" })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn honest_proof_verifies_and_every_element_is_bound() {
        let mut rng = ChaCha20Rng::seed_from_u64(101);
        let fp = Fingerprint::from_bytes([1; 32]);
        let x = DalekScalar::random(&mut rng);
        let b = Point::from_point(&DalekScalar::random(&mut rng) * RISTRETTO_BASEPOINT_TABLE);
        let big_x = Point::from_point(&x * RISTRETTO_BASEPOINT_TABLE);
        let d = Point::from_point(x * b.point());
        let s = DleqStatement {
            context: b"ctx",
            X: &big_x,
            B: &b,
            D: &d,
        };
        let proof = DleqProof::prove(&fp, &s, &x, &mut rng);
        proof.verify(&fp, &s).unwrap();
        let other = big_x + b;
        for bad in [
            DleqStatement { X: &other, ..s },
            DleqStatement { B: &other, ..s },
            DleqStatement { D: &other, ..s },
            DleqStatement {
                context: b"ctx2",
                ..s
            },
        ] {
            assert!(proof.verify(&fp, &bad).is_err());
        }
        assert!(proof.verify(&Fingerprint::from_bytes([2; 32]), &s).is_err());
        let mut p = proof;
        p.T2 = p.T1;
        assert!(p.verify(&fp, &s).is_err());
    }

    #[test]
    fn proof_of_unequal_logs_fails() {
        let mut rng = ChaCha20Rng::seed_from_u64(102);
        let fp = Fingerprint::from_bytes([1; 32]);
        let x = DalekScalar::random(&mut rng);
        let b = Point::from_point(&DalekScalar::random(&mut rng) * RISTRETTO_BASEPOINT_TABLE);
        let big_x = Point::from_point(&x * RISTRETTO_BASEPOINT_TABLE);
        let d = Point::from_point((x + DalekScalar::ONE) * b.point());
        let s = DleqStatement {
            context: b"",
            X: &big_x,
            B: &b,
            D: &d,
        };
        assert!(DleqProof::prove(&fp, &s, &x, &mut rng)
            .verify(&fp, &s)
            .is_err());
    }
}
