//! Zero-knowledge proofs (SPEC.md §5), all non-interactive through the strong
//! Fiat–Shamir transcripts of [`crate::transcript`], all carried in
//! *commitment form* (the prover's commitments, the challenges that are not
//! fixed by the transcript, and the responses), so that a verifier can turn
//! each proof into linear [`Equation`]s over the group and fold any number of
//! them into one multiscalar multiplication ([`batch`]).

pub mod batch;
pub mod bulletproof;
pub mod disjunctive;
pub mod dleq;
pub mod link;
pub mod schnorr;

use std::sync::OnceLock;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::Sha512;

use crate::encoding::Point;

pub use batch::BatchVerifier;

/// The label `H` is derived from (SPEC.md §5.4).
pub const H_LABEL: &[u8] = b"psephos/generator/H/v1";

/// `G`, the Ristretto basepoint, with its encoding.
pub fn generator_g() -> &'static Point {
    static G: OnceLock<Point> = OnceLock::new();
    G.get_or_init(|| Point::from_point(RISTRETTO_BASEPOINT_POINT))
}

/// `H = RistrettoPoint::hash_from_bytes::<Sha512>(H_LABEL)`: a generator with
/// no known discrete log relative to `G` (nobody, trustees included).
pub fn generator_h() -> &'static Point {
    static H: OnceLock<Point> = OnceLock::new();
    H.get_or_init(|| Point::from_point(RistrettoPoint::hash_from_bytes::<Sha512>(H_LABEL)))
}

/// A linear relation that holds for an honest proof:
/// `g·G + h·H + Σ sᵢ·Pᵢ = 0` (the identity).
///
/// `G` and `H` get their own coefficients because every proof uses them and a
/// batch merges their coefficients into one term each; other points are merged
/// by their encoding (equal encodings are equal points).
#[derive(Clone, Debug, Default)]
pub struct Equation {
    pub(crate) g: DalekScalar,
    pub(crate) h: DalekScalar,
    pub(crate) terms: Vec<(DalekScalar, Point)>,
}

impl Equation {
    /// An empty relation (trivially true).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `s·G`.
    pub fn g(mut self, s: DalekScalar) -> Self {
        self.g += s;
        self
    }

    /// Add `s·H`.
    pub fn h(mut self, s: DalekScalar) -> Self {
        self.h += s;
        self
    }

    /// Add `s·P`.
    pub fn term(mut self, s: DalekScalar, p: &Point) -> Self {
        self.terms.push((s, *p));
        self
    }

    /// Check this one relation directly, without random weights.
    pub fn holds(&self) -> bool {
        let scalars = [self.g, self.h]
            .into_iter()
            .chain(self.terms.iter().map(|(s, _)| *s));
        let points = [*generator_g().point(), *generator_h().point()]
            .into_iter()
            .chain(self.terms.iter().map(|(_, p)| *p.point()));
        RistrettoPoint::vartime_multiscalar_mul(scalars, points).is_identity()
    }
}

/// Check a proof's equations one by one: the single (non-batch) verifier.
pub fn all_hold(equations: &[Equation]) -> bool {
    equations.iter().all(Equation::holds)
}
