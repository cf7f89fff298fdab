//! Sigma proof that a ciphertext and a Pedersen commitment hold the same value
//! (SPEC.md §5.4), linking a Bulletproofs range proof on `V` to `(R, C)`.
//!
//! Statement: `PK`, ciphertexts `(Rᵢ, Cᵢ)` with sum `(R, C)`, the commitment
//! `V`, and `context`. Witness `(v, r, s)` with `R = r·G`, `C = v·G + r·PK`,
//! `V = v·G + s·H`. `H` is [`super::generator_h`], never `PK`: the trustees
//! jointly know `log_G PK`, and with it a commitment could be opened to any value.
//!
//! Transcript (protocol `psephos/range-link/v1`): fingerprint, `context`,
//! `G`, `H`, `PK`, `n` (u64), each `R`, `C`, then `V`; commitments `TR`, `TC`,
//! `TV`; challenge `c`.
//!
//! Proof `{TR, TC, TV, zv, zr, zs}` with `TR = ar·G`, `TC = av·G + ar·PK`,
//! `TV = av·G + as·H`, `zv = av + c·v`, `zr = ar + c·r`, `zs = as + c·s`.
//! Verification: `zr·G − c·R − TR = 0`, `zv·G + zr·PK − c·C − TC = 0`,
//! `zv·G + zs·H − c·V − TV = 0`.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use curve25519_dalek::traits::MultiscalarMul;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::{all_hold, generator_g, generator_h, Equation};
use crate::elgamal::{Ciphertext, PublicKey};
use crate::encoding::{Point, Scalar};
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::transcript::ProofTranscript;

/// Protocol label and version.
pub const PROTOCOL: &[u8] = b"psephos/range-link/v1";

/// The public statement of a link proof.
#[allow(non_snake_case)]
#[derive(Clone, Copy, Debug)]
pub struct LinkStatement<'a> {
    /// Caller-defined binding.
    pub context: &'a [u8],
    /// The election key.
    pub pk: &'a PublicKey,
    /// Ciphertexts whose sum holds `v`.
    pub ciphertexts: &'a [Ciphertext],
    /// The Pedersen commitment `V = v·G + s·H`.
    pub V: &'a Point,
}

/// A link proof in commitment form.
#[allow(non_snake_case)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkProof {
    /// `TR = ar·G`
    pub TR: Point,
    /// `TC = av·G + ar·PK`
    pub TC: Point,
    /// `TV = av·G + as·H`
    pub TV: Point,
    /// `zv = av + c·v`
    pub zv: Scalar,
    /// `zr = ar + c·r`
    pub zr: Scalar,
    /// `zs = as + c·s`
    pub zs: Scalar,
}

fn transcript(fp: &Fingerprint, s: &LinkStatement<'_>) -> ProofTranscript {
    let mut t = ProofTranscript::new(PROTOCOL, fp);
    t.bytes(b"context", s.context);
    t.point(b"G", generator_g());
    t.point(b"H", generator_h());
    t.point(b"PK", s.pk.as_point());
    t.u64(b"n", s.ciphertexts.len() as u64);
    for ct in s.ciphertexts {
        t.point(b"R", &ct.R);
        t.point(b"C", &ct.C);
    }
    t.point(b"V", s.V);
    t
}

impl LinkProof {
    /// Prove that the ciphertext sum (randomness `r`) and `V` (blinding `s`)
    /// both hold `v`.
    pub fn prove<R: RngCore + CryptoRng>(
        fp: &Fingerprint,
        st: &LinkStatement<'_>,
        v: u64,
        r: &DalekScalar,
        s: &DalekScalar,
        rng: &mut R,
    ) -> Self {
        let mut nonces = [
            DalekScalar::random(rng),
            DalekScalar::random(rng),
            DalekScalar::random(rng),
        ];
        let [av, ar, a_s] = nonces;
        let tr = Point::from_point(&ar * RISTRETTO_BASEPOINT_TABLE);
        let tc = Point::from_point(&av * RISTRETTO_BASEPOINT_TABLE + ar * st.pk.as_point().point());
        let tv = Point::from_point(RistrettoPoint::multiscalar_mul(
            [av, a_s],
            [*generator_g().point(), *generator_h().point()],
        ));
        let mut t = transcript(fp, st);
        t.point(b"TR", &tr);
        t.point(b"TC", &tc);
        t.point(b"TV", &tv);
        let c = t.challenge();
        let proof = LinkProof {
            TR: tr,
            TC: tc,
            TV: tv,
            zv: Scalar(av + c * DalekScalar::from(v)),
            zr: Scalar(ar + c * r),
            zs: Scalar(a_s + c * s),
        };
        nonces.zeroize();
        proof
    }

    /// The three relations a verifier checks.
    pub fn equations(&self, fp: &Fingerprint, st: &LinkStatement<'_>) -> Vec<Equation> {
        let mut t = transcript(fp, st);
        t.point(b"TR", &self.TR);
        t.point(b"TC", &self.TC);
        t.point(b"TV", &self.TV);
        let c = t.challenge();
        let minus_one = -DalekScalar::ONE;
        let mut e_r = Equation::new().g(self.zr.0).term(minus_one, &self.TR);
        let mut e_c = Equation::new()
            .g(self.zv.0)
            .term(self.zr.0, st.pk.as_point())
            .term(minus_one, &self.TC);
        for ct in st.ciphertexts {
            e_r = e_r.term(-c, &ct.R);
            e_c = e_c.term(-c, &ct.C);
        }
        let e_v = Equation::new()
            .g(self.zv.0)
            .h(self.zs.0)
            .term(-c, st.V)
            .term(minus_one, &self.TV);
        vec![e_r, e_c, e_v]
    }

    /// Verify singly.
    pub fn verify(&self, fp: &Fingerprint, st: &LinkStatement<'_>) -> Result<()> {
        if all_hold(&self.equations(fp, st)) {
            Ok(())
        } else {
            Err(Error::ProofInvalid {
                proof: "range link",
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

    #[test]
    fn link_holds_only_for_the_same_value() {
        let mut rng = ChaCha20Rng::seed_from_u64(401);
        let fp = Fingerprint::from_bytes([5; 32]);
        let pk = SecretKey::random(&mut rng).public_key();
        let (ct, r) = pk.encrypt(42, &mut rng);
        let s = DalekScalar::random(&mut rng);
        let commit = |v: u64| {
            Point::from_point(RistrettoPoint::multiscalar_mul(
                [DalekScalar::from(v), s],
                [*generator_g().point(), *generator_h().point()],
            ))
        };
        let v_ok = commit(42);
        let cts = [ct];
        let st = LinkStatement {
            context: b"c",
            pk: &pk,
            ciphertexts: &cts,
            V: &v_ok,
        };
        LinkProof::prove(&fp, &st, 42, r.inner(), &s, &mut rng)
            .verify(&fp, &st)
            .unwrap();
        let v_bad = commit(43);
        let st_bad = LinkStatement { V: &v_bad, ..st };
        assert!(matches!(
            LinkProof::prove(&fp, &st_bad, 42, r.inner(), &s, &mut rng).verify(&fp, &st_bad),
            Err(crate::Error::ProofInvalid {
                proof: "range link"
            })
        ));
    }
}
