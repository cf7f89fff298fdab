//! Batch verification (SPEC.md §5.6).
//!
//! Every proof contributes linear relations `Eₖ: gₖ·G + hₖ·H + Σ sₖᵢ·Pₖᵢ = 0`.
//! The batch draws an independent random 128-bit weight `zₖ` per relation
//! and checks the single relation `Σₖ zₖ·Eₖ = 0` with one variable-time
//! multiscalar multiplication, after merging the coefficients of equal points
//! (G, H, the election key, a ciphertext used by several proofs). If some `Eₖ`
//! does not hold, the combination holds with probability at most 2⁻¹²⁸.
//!
//! When the combined check fails, [`BatchVerifier::verify`] bisects: each half
//! of the failing set is re-checked with fresh weights until the failing items
//! are isolated, so a caller learns exactly which proofs are bad.

use std::collections::HashMap;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, OsRng, RngCore, SeedableRng};

use super::{generator_g, generator_h, Equation};

/// Collects tagged groups of equations (one group per proof, or per ballot)
/// and verifies them together.
#[derive(Debug)]
pub struct BatchVerifier<T> {
    items: Vec<(T, Vec<Equation>)>,
}

impl<T> Default for BatchVerifier<T> {
    fn default() -> Self {
        BatchVerifier { items: Vec::new() }
    }
}

impl<T: Clone> BatchVerifier<T> {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one item: all equations that must hold for `tag` to be valid.
    pub fn push(&mut self, tag: T, equations: Vec<Equation>) {
        self.items.push((tag, equations));
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Verify with weights from the operating system's randomness.
    /// `Err` lists the tags of every item whose equations do not all hold.
    pub fn verify(self) -> Result<(), Vec<T>> {
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        self.verify_with_rng(&mut ChaCha20Rng::from_seed(seed))
    }

    /// Verify with weights from `rng` (tests pin it; production uses [`verify`]).
    ///
    /// [`verify`]: BatchVerifier::verify
    pub fn verify_with_rng<R: RngCore + CryptoRng>(self, rng: &mut R) -> Result<(), Vec<T>> {
        let refs: Vec<&(T, Vec<Equation>)> = self.items.iter().collect();
        if combined_holds(&refs, rng) {
            return Ok(());
        }
        let mut bad = Vec::new();
        bisect(&refs, rng, &mut bad);
        Err(bad)
    }
}

fn bisect<T: Clone, R: RngCore + CryptoRng>(
    items: &[&(T, Vec<Equation>)],
    rng: &mut R,
    bad: &mut Vec<T>,
) {
    // The caller has established that `items` fails as a whole.
    if items.len() == 1 {
        bad.push(items[0].0.clone());
        return;
    }
    let (left, right) = items.split_at(items.len() / 2);
    let left_ok = combined_holds(left, rng);
    if !left_ok {
        bisect(left, rng, bad);
    }
    // If the left half holds, the failure must be on the right: skip its check.
    if left_ok || !combined_holds(right, rng) {
        bisect(right, rng, bad);
    }
}

fn random_weight<R: RngCore + CryptoRng>(rng: &mut R) -> DalekScalar {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes[..16]);
    DalekScalar::from_bytes_mod_order(bytes)
}

fn combined_holds<T, R: RngCore + CryptoRng>(items: &[&(T, Vec<Equation>)], rng: &mut R) -> bool {
    let mut g = DalekScalar::ZERO;
    let mut h = DalekScalar::ZERO;
    let mut index: HashMap<[u8; 32], usize> = HashMap::new();
    let mut scalars: Vec<DalekScalar> = Vec::new();
    let mut points: Vec<RistrettoPoint> = Vec::new();
    // Terms with coefficient −1 (a prover's commitment) enter as `z·(−P)`:
    // `z` has 128 bits where `−z mod ℓ` has 253, and the multiscalar
    // multiplication skips the zero digits (same sum, about half the work
    // for those points).
    let minus_one = -DalekScalar::ONE;
    let mut short_scalars: Vec<DalekScalar> = Vec::new();
    let mut short_points: Vec<RistrettoPoint> = Vec::new();
    for (_, equations) in items {
        for eq in equations {
            let z = random_weight(rng);
            g += z * eq.g;
            h += z * eq.h;
            for (s, p) in &eq.terms {
                if *s == minus_one {
                    short_scalars.push(z);
                    short_points.push(-p.point());
                    continue;
                }
                let weighted = z * s;
                match index.get(p.as_bytes()) {
                    Some(&i) => scalars[i] += weighted,
                    None => {
                        index.insert(*p.as_bytes(), scalars.len());
                        scalars.push(weighted);
                        points.push(*p.point());
                    }
                }
            }
        }
    }
    scalars.push(g);
    points.push(*generator_g().point());
    scalars.push(h);
    points.push(*generator_h().point());
    scalars.extend(short_scalars);
    points.extend(short_points);
    RistrettoPoint::vartime_multiscalar_mul(scalars, points).is_identity()
}
