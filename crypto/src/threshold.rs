//! Threshold pieces: Feldman-committed polynomials, share checks,
//! verification keys, Lagrange coefficients, partial decryption and
//! combination (SPEC.md §8).
//!
//! Trustees are numbered `l = 1..n`. Dealer `i` picks `fᵢ(X) = Σⱼ aᵢⱼ·Xʲ` of
//! degree `t − 1`, publishes `Aᵢⱼ = aᵢⱼ·G` with a Schnorr proof each
//! (context [`coefficient_context`]), and gives trustee `l` the share `fᵢ(l)`,
//! which `l` checks as `fᵢ(l)·G = Σⱼ lʲ·Aᵢⱼ`. Over the qualified dealers `Q`:
//! `PK = Σᵢ Aᵢ₀`, `x_l = Σᵢ fᵢ(l)`, `X_l = Σᵢ Σⱼ lʲ·Aᵢⱼ = x_l·G`.
//!
//! Decryption of `(R, C)`: trustee `l` posts `D_l = x_l·R` with a DLEQ proof
//! (`X_l`, base `R`, context [`decryption_context`]); any `t` of them give
//! `v·G = C − Σ_l λ_l·D_l` with `λ_l = Π_{m≠l} m / (m − l)`.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::elgamal::{Ciphertext, PublicKey};
use crate::encoding::{NonIdentityPoint, Point, Scalar};
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::proofs::dleq::{DleqProof, DleqStatement};
use crate::proofs::schnorr::SchnorrProof;
use crate::proofs::{all_hold, Equation};

/// `"psephos/dkg/coefficient/v1" ‖ u32le(i) ‖ u32le(j)`: binds a coefficient
/// proof to its dealer and position.
pub fn coefficient_context(dealer: u32, j: u32) -> Vec<u8> {
    let mut out = b"psephos/dkg/coefficient/v1".to_vec();
    out.extend_from_slice(&dealer.to_le_bytes());
    out.extend_from_slice(&j.to_le_bytes());
    out
}

/// `"psephos/decrypt/v1" ‖ u32le(l) ‖ u64le(k)`: binds a partial decryption
/// to its trustee and to the position `k` of the ciphertext in the tally.
pub fn decryption_context(trustee: u32, position: u64) -> Vec<u8> {
    let mut out = b"psephos/decrypt/v1".to_vec();
    out.extend_from_slice(&trustee.to_le_bytes());
    out.extend_from_slice(&position.to_le_bytes());
    out
}

/// A dealer's secret polynomial. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Polynomial {
    coefficients: Vec<DalekScalar>,
}

impl std::fmt::Debug for Polynomial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Polynomial(degree {}, <redacted>)",
            self.coefficients.len() - 1
        )
    }
}

impl Polynomial {
    /// A random polynomial of degree `threshold − 1`.
    pub fn random<R: RngCore + CryptoRng>(threshold: u32, rng: &mut R) -> Result<Self> {
        if threshold == 0 {
            return Err(Error::Threshold("threshold must be at least 1".into()));
        }
        Ok(Polynomial {
            coefficients: (0..threshold).map(|_| DalekScalar::random(rng)).collect(),
        })
    }

    /// Rebuild from stored coefficients (a trustee's key file).
    pub fn from_coefficients(coefficients: Vec<Scalar>) -> Result<Self> {
        if coefficients.is_empty() {
            return Err(Error::Threshold("a polynomial needs a coefficient".into()));
        }
        Ok(Polynomial {
            coefficients: coefficients.into_iter().map(|s| s.0).collect(),
        })
    }

    /// The coefficients, for an encrypted key file.
    pub fn coefficients(&self) -> Vec<Scalar> {
        self.coefficients.iter().map(|c| Scalar(*c)).collect()
    }

    /// `f(l)` by Horner's rule.
    pub fn evaluate(&self, l: u32) -> Scalar {
        let x = DalekScalar::from(l);
        let mut acc = DalekScalar::ZERO;
        for a in self.coefficients.iter().rev() {
            acc = acc * x + a;
        }
        Scalar(acc)
    }

    /// Feldman commitments `A_j = a_j·G`.
    pub fn commitments(&self) -> Vec<Point> {
        self.coefficients
            .iter()
            .map(|a| Point::from_point(a * RISTRETTO_BASEPOINT_TABLE))
            .collect()
    }

    /// A Schnorr proof for every coefficient of dealer `dealer`.
    pub fn prove_coefficients<R: RngCore + CryptoRng>(
        &self,
        fp: &Fingerprint,
        dealer: u32,
        rng: &mut R,
    ) -> Vec<SchnorrProof> {
        self.coefficients
            .iter()
            .zip(0u32..)
            .map(|(a, j)| SchnorrProof::prove(fp, &coefficient_context(dealer, j), a, rng))
            .collect()
    }
}

/// The equations of a dealer's coefficient proofs; `Err` if the counts differ
/// from the threshold or a commitment is the identity.
pub fn coefficient_equations(
    fp: &Fingerprint,
    dealer: u32,
    threshold: u32,
    commitments: &[Point],
    proofs: &[SchnorrProof],
) -> Result<Vec<Equation>> {
    if commitments.len() != threshold as usize || proofs.len() != commitments.len() {
        return Err(Error::Threshold(format!(
            "dealer {dealer}: expected {threshold} commitments and proofs, got {} and {}",
            commitments.len(),
            proofs.len()
        )));
    }
    let mut eqs = Vec::with_capacity(commitments.len());
    for ((a, proof), j) in commitments.iter().zip(proofs).zip(0u32..) {
        a.non_identity("coefficient commitment")?;
        eqs.extend(proof.equations(fp, &coefficient_context(dealer, j), a));
    }
    Ok(eqs)
}

/// `Σⱼ lʲ·A_j`: what `f(l)·G` must equal.
pub fn share_commitment(commitments: &[Point], l: u32) -> RistrettoPoint {
    let x = DalekScalar::from(l);
    let mut power = DalekScalar::ONE;
    let mut scalars = Vec::with_capacity(commitments.len());
    for _ in commitments {
        scalars.push(power);
        power *= x;
    }
    RistrettoPoint::vartime_multiscalar_mul(scalars, commitments.iter().map(|a| *a.point()))
}

/// Whether a received share `f(l)` matches the dealer's commitments.
pub fn check_share(share: &Scalar, l: u32, commitments: &[Point]) -> bool {
    &share.0 * RISTRETTO_BASEPOINT_TABLE == share_commitment(commitments, l)
}

/// `X_l = Σᵢ Σⱼ lʲ·Aᵢⱼ` over the qualified dealers.
pub fn verification_key(l: u32, dealers: &[&[Point]]) -> Result<NonIdentityPoint> {
    let sum: RistrettoPoint = dealers.iter().map(|a| share_commitment(a, l)).sum();
    Point::from_point(sum).non_identity("verification key")
}

/// `PK = Σᵢ Aᵢ₀` over the qualified dealers.
pub fn joint_key(dealers: &[&[Point]]) -> Result<PublicKey> {
    let mut sum = RistrettoPoint::identity();
    for a in dealers {
        let a0 = a
            .first()
            .ok_or_else(|| Error::Threshold("a dealer without commitments".into()))?;
        sum += a0.point();
    }
    Ok(PublicKey::from_point(
        Point::from_point(sum).non_identity("joint public key")?,
    ))
}

/// `λ_l = Π_{m ∈ S, m ≠ l} m / (m − l)` for the set `S` of trustee indices.
pub fn lagrange_at_zero(indices: &[u32], l: u32) -> Result<DalekScalar> {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) || sorted.contains(&0) || !sorted.contains(&l) {
        return Err(Error::Threshold(format!(
            "indices {indices:?} must be distinct, nonzero and include {l}"
        )));
    }
    let li = DalekScalar::from(l);
    let mut num = DalekScalar::ONE;
    let mut den = DalekScalar::ONE;
    for &m in indices.iter().filter(|&&m| m != l) {
        let mi = DalekScalar::from(m);
        num *= mi;
        den *= mi - li;
    }
    Ok(num * den.invert())
}

/// A trustee's decryption share of one ciphertext.
#[allow(non_snake_case)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptionShare {
    /// `D_l = x_l·R`
    pub D: Point,
    /// `log_G X_l = log_R D_l`
    pub proof: DleqProof,
}

/// Trustee `l`'s secret share `x_l`. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyShare {
    index: u32,
    x: DalekScalar,
}

impl std::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyShare(trustee {}, <redacted>)", self.index)
    }
}

impl KeyShare {
    /// `x_l = Σᵢ fᵢ(l)` from the checked shares of the qualified dealers.
    pub fn combine_shares(index: u32, shares: &[Scalar]) -> Self {
        KeyShare {
            index,
            x: shares.iter().map(|s| s.0).sum(),
        }
    }

    /// The trustee's index `l`.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The secret scalar, for an encrypted key file only.
    pub fn to_scalar(&self) -> Scalar {
        Scalar(self.x)
    }

    /// Rebuild from a key file.
    pub fn from_scalar(index: u32, x: Scalar) -> Self {
        KeyShare { index, x: x.0 }
    }

    /// `X_l = x_l·G`.
    pub fn verification_key(&self) -> Point {
        Point::from_point(&self.x * RISTRETTO_BASEPOINT_TABLE)
    }

    /// Decrypt every ciphertext of the tally partially, with proofs.
    pub fn decrypt<R: RngCore + CryptoRng>(
        &self,
        fp: &Fingerprint,
        ciphertexts: &[Ciphertext],
        rng: &mut R,
    ) -> Vec<DecryptionShare> {
        let big_x = self.verification_key();
        ciphertexts
            .iter()
            .zip(0u64..)
            .map(|(ct, k)| {
                let d = Point::from_point(self.x * ct.R.point());
                let context = decryption_context(self.index, k);
                let st = DleqStatement {
                    context: &context,
                    X: &big_x,
                    B: &ct.R,
                    D: &d,
                };
                DecryptionShare {
                    D: d,
                    proof: DleqProof::prove(fp, &st, &self.x, rng),
                }
            })
            .collect()
    }
}

/// The equations of trustee `l`'s decryption shares of `ciphertexts`.
pub fn decryption_equations(
    fp: &Fingerprint,
    trustee: u32,
    verification_key: &Point,
    ciphertexts: &[Ciphertext],
    shares: &[DecryptionShare],
) -> Result<Vec<Equation>> {
    if ciphertexts.len() != shares.len() {
        return Err(Error::Threshold(format!(
            "trustee {trustee}: {} decryption shares for {} ciphertexts",
            shares.len(),
            ciphertexts.len()
        )));
    }
    let mut eqs = Vec::with_capacity(2 * shares.len());
    for ((ct, share), k) in ciphertexts.iter().zip(shares).zip(0u64..) {
        let context = decryption_context(trustee, k);
        let st = DleqStatement {
            context: &context,
            X: verification_key,
            B: &ct.R,
            D: &share.D,
        };
        eqs.extend(share.proof.equations(fp, &st));
    }
    Ok(eqs)
}

/// Verify trustee `l`'s decryption shares singly.
pub fn verify_decryption(
    fp: &Fingerprint,
    trustee: u32,
    verification_key: &Point,
    ciphertexts: &[Ciphertext],
    shares: &[DecryptionShare],
) -> Result<()> {
    if all_hold(&decryption_equations(
        fp,
        trustee,
        verification_key,
        ciphertexts,
        shares,
    )?) {
        Ok(())
    } else {
        Err(Error::ProofInvalid {
            proof: "partial decryption",
        })
    }
}

/// `v·G = C − Σ_l λ_l·D_l` for the trustees `(l, D_l)` given.
pub fn combine(ciphertext: &Ciphertext, shares: &[(u32, Point)]) -> Result<RistrettoPoint> {
    let indices: Vec<u32> = shares.iter().map(|(l, _)| *l).collect();
    let mut lambdas = Vec::with_capacity(shares.len());
    for (l, _) in shares {
        lambdas.push(-lagrange_at_zero(&indices, *l)?);
    }
    Ok(ciphertext.C.point()
        + RistrettoPoint::vartime_multiscalar_mul(lambdas, shares.iter().map(|(_, d)| *d.point())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlog::DlogTable;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    struct Ceremony {
        pk: PublicKey,
        shares: Vec<KeyShare>,
        vks: Vec<NonIdentityPoint>,
    }

    fn ceremony(n: u32, t: u32, rng: &mut ChaCha20Rng) -> Ceremony {
        let fp = Fingerprint::ceremony(&[2; 32]);
        let polys: Vec<Polynomial> = (0..n)
            .map(|_| Polynomial::random(t, &mut *rng).unwrap())
            .collect();
        let commitments: Vec<Vec<Point>> = polys.iter().map(Polynomial::commitments).collect();
        for (i, (p, a)) in polys.iter().zip(&commitments).enumerate() {
            let proofs = p.prove_coefficients(&fp, i as u32 + 1, &mut *rng);
            let eqs = coefficient_equations(&fp, i as u32 + 1, t, a, &proofs).unwrap();
            assert!(all_hold(&eqs));
            // A proof made for one dealer does not verify for another.
            let eqs = coefficient_equations(&fp, i as u32 + 2, t, a, &proofs).unwrap();
            assert!(!all_hold(&eqs));
        }
        let refs: Vec<&[Point]> = commitments.iter().map(Vec::as_slice).collect();
        let mut shares = Vec::new();
        let mut vks = Vec::new();
        for l in 1..=n {
            let received: Vec<Scalar> = polys.iter().map(|p| p.evaluate(l)).collect();
            for (s, a) in received.iter().zip(&commitments) {
                assert!(check_share(s, l, a));
                assert!(!check_share(s, l + 1, a));
            }
            let share = KeyShare::combine_shares(l, &received);
            let vk = verification_key(l, &refs).unwrap();
            assert_eq!(share.verification_key(), *vk.as_point());
            shares.push(share);
            vks.push(vk);
        }
        Ceremony {
            pk: joint_key(&refs).unwrap(),
            shares,
            vks,
        }
    }

    #[test]
    fn any_t_of_n_trustees_decrypt_a_tally() {
        let mut rng = ChaCha20Rng::seed_from_u64(801);
        let c = ceremony(5, 3, &mut rng);
        let fp = Fingerprint::election(&[2; 32], &c.pk.to_non_identity());
        let tally = Ciphertext::sum(&[c.pk.encrypt(4, &mut rng).0, c.pk.encrypt(9, &mut rng).0]);
        let table = DlogTable::new(100);
        for subset in [[1u32, 2, 3], [3, 4, 5], [1, 3, 5]] {
            let mut partials = Vec::new();
            for &l in &subset {
                let share = &c.shares[l as usize - 1];
                let ds = share.decrypt(&fp, &[tally], &mut rng);
                let vk = c.vks[l as usize - 1].as_point();
                verify_decryption(&fp, l, vk, &[tally], &ds).unwrap();
                assert!(verify_decryption(&fp, l + 1, vk, &[tally], &ds).is_err());
                partials.push((l, ds[0].D));
            }
            assert_eq!(
                table.solve(&combine(&tally, &partials).unwrap()).unwrap(),
                13
            );
        }
        // Two shares are not enough.
        let two: Vec<(u32, Point)> = [1u32, 2]
            .iter()
            .map(|&l| {
                (
                    l,
                    c.shares[l as usize - 1].decrypt(&fp, &[tally], &mut rng)[0].D,
                )
            })
            .collect();
        assert!(table.solve(&combine(&tally, &two).unwrap()).is_err());
    }

    #[test]
    fn forged_decryption_share_fails() {
        let mut rng = ChaCha20Rng::seed_from_u64(802);
        let c = ceremony(3, 2, &mut rng);
        let fp = Fingerprint::election(&[2; 32], &c.pk.to_non_identity());
        let tally = c.pk.encrypt(1, &mut rng).0;
        let mut ds = c.shares[0].decrypt(&fp, &[tally], &mut rng);
        ds[0].D = ds[0].D + tally.R;
        assert!(verify_decryption(&fp, 1, c.vks[0].as_point(), &[tally], &ds).is_err());
    }

    #[test]
    fn lagrange_rejects_bad_index_sets() {
        assert!(lagrange_at_zero(&[1, 1, 2], 1).is_err());
        assert!(lagrange_at_zero(&[0, 1], 1).is_err());
        assert!(lagrange_at_zero(&[2, 3], 1).is_err());
        let sum: DalekScalar = [1u32, 2, 3]
            .iter()
            .map(|&l| lagrange_at_zero(&[1, 2, 3], l).unwrap())
            .sum();
        assert_eq!(sum, DalekScalar::ONE);
    }
}
