//! Generates the known-answer vector files in `crypto/tests/vectors/`:
//!
//! ```text
//! cargo run -p psephos-crypto --release --example gen_vectors -- crypto/tests/vectors
//! ```
//!
//! Every file is made with its own `ChaCha20Rng::from_seed([42; 32])`, so the
//! files are independent of one another and byte-for-byte reproducible. The
//! format, and the rule that vectors made by an earlier release must keep
//! verifying, are in `crypto/tests/vectors/README.md`. The generation logic is
//! in [`generate`], which `crypto/tests/known_answers.rs` also runs (through
//! `#[path]`) to check that the committed files are exactly what this command
//! writes.

// A generator run by developers, never by production code: any failure is a
// bug in the generator and should stop it loudly, so unwrap/expect/panic are
// fine here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use curve25519_dalek::traits::MultiscalarMul;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

use psephos_crypto::ballot::{
    claim_context, encrypt_ballot, BallotContext, BallotSecrets, ClaimProof, Contest,
    ContestOption, EncryptedBallot, RANGE_PROOF_TAG, TOTAL_TAG,
};
use psephos_crypto::elgamal::{Ciphertext, PublicKey, SecretKey};
use psephos_crypto::encoding::{hex32, hex_bytes, Point, Scalar};
use psephos_crypto::proofs::bulletproof::{AggregatedRangeProof, Claim, Opening};
use psephos_crypto::proofs::disjunctive::{DisjunctiveProof, RangeStatement};
use psephos_crypto::proofs::dleq::{DleqProof, DleqStatement};
use psephos_crypto::proofs::link::{LinkProof, LinkStatement};
use psephos_crypto::proofs::schnorr::SchnorrProof;
use psephos_crypto::proofs::{generator_g, generator_h};
use psephos_crypto::threshold::{
    coefficient_context, decryption_context, joint_key, lagrange_at_zero, verification_key,
    DecryptionShare, KeyShare, Polynomial,
};
use psephos_crypto::Fingerprint;

/// The seed of every file's RNG.
pub const SEED: [u8; 32] = [42; 32];

/// The documented command that writes the files (recorded in each file).
pub const GENERATOR: &str =
    "cargo run -p psephos-crypto --release --example gen_vectors -- crypto/tests/vectors";

// ---------------------------------------------------------------------------
// File format
// ---------------------------------------------------------------------------

/// One vector file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile<V> {
    /// What the file covers.
    pub description: String,
    /// The command that produced it ([`GENERATOR`]).
    pub generator: String,
    /// Hex of [`SEED`].
    pub seed: String,
    /// The vectors, valid ones first, then the tampered ones.
    pub vectors: Vec<V>,
}

/// The fields every vector has, whatever its kind.
pub trait Vector: Clone {
    /// Unique name within the file.
    fn name(&self) -> &str;
    /// Whether it must verify.
    fn valid(&self) -> bool;
    /// What was changed, for a negative vector.
    fn tamper(&self) -> Option<&str>;
    /// Turn a copy of a valid vector into a negative one: name it, mark it
    /// invalid and drop the witness (which no longer matches).
    fn mark_invalid(&mut self, name: String, tamper: &str);
}

macro_rules! impl_vector {
    ($t:ty $(, $witness:ident)*) => {
        impl Vector for $t {
            fn name(&self) -> &str {
                &self.name
            }
            fn valid(&self) -> bool {
                self.valid
            }
            fn tamper(&self) -> Option<&str> {
                self.tamper.as_deref()
            }
            fn mark_invalid(&mut self, name: String, tamper: &str) {
                self.name = name;
                self.valid = false;
                self.tamper = Some(tamper.to_string());
                $(self.$witness = None;)*
            }
        }
    };
}

/// `Vector` for an enum whose every variant holds a vector.
macro_rules! delegate_vector {
    ($t:ident { $($variant:ident),* }) => {
        impl Vector for $t {
            fn name(&self) -> &str {
                match self { $($t::$variant(v) => v.name(),)* }
            }
            fn valid(&self) -> bool {
                match self { $($t::$variant(v) => v.valid(),)* }
            }
            fn tamper(&self) -> Option<&str> {
                match self { $($t::$variant(v) => v.tamper(),)* }
            }
            fn mark_invalid(&mut self, name: String, tamper: &str) {
                match self { $($t::$variant(v) => v.mark_invalid(name, tamper),)* }
            }
        }
    };
}

/// A value and the ElGamal randomness it was encrypted with:
/// `Enc(value; r) = (r·G, value·G + r·PK)`, checkable byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plaintext {
    /// `v`
    pub value: u64,
    /// `r`
    pub r: Scalar,
}

/// Schnorr proof of knowledge of `x` with `X = x·G` (SPEC.md §5.1).
#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchnorrVector {
    pub name: String,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<String>,
    pub fingerprint: Fingerprint,
    #[serde(with = "hex_bytes")]
    pub context: Vec<u8>,
    /// The witness (valid vectors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<Scalar>,
    pub X: Point,
    pub proof: SchnorrProof,
}
impl_vector!(SchnorrVector, x);

/// DLEQ proof `log_G X = log_B D` (SPEC.md §5.2).
#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DleqVector {
    pub name: String,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<String>,
    pub fingerprint: Fingerprint,
    #[serde(with = "hex_bytes")]
    pub context: Vec<u8>,
    /// The witness (valid vectors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<Scalar>,
    pub X: Point,
    pub B: Point,
    pub D: Point,
    pub proof: DleqProof,
}
impl_vector!(DleqVector, x);

/// Disjunctive proof that the sum of `ciphertexts` encrypts a value in
/// `[min, max]` (SPEC.md §5.3), with the encryptions' plaintexts and
/// randomness where they are known.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisjunctiveVector {
    pub name: String,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<String>,
    pub fingerprint: Fingerprint,
    #[serde(with = "hex_bytes")]
    pub context: Vec<u8>,
    pub pk: PublicKey,
    pub min: u64,
    pub max: u64,
    pub ciphertexts: Vec<Ciphertext>,
    /// `ciphertexts[i] = Enc(plaintexts[i].value; plaintexts[i].r)`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintexts: Option<Vec<Plaintext>>,
    pub proof: DisjunctiveProof,
}
impl_vector!(DisjunctiveVector, plaintexts);

/// A Bulletproofs claim: `V` holds a value in `[min, max]`.
#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimVector {
    pub V: Point,
    pub min: u64,
    pub max: u64,
}

/// The opening of a claim: `V = value·G + blinding·H`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningVector {
    pub value: u64,
    pub blinding: Scalar,
}

/// Aggregated Bulletproofs range proof (SPEC.md §5.5).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulletproofVector {
    pub name: String,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<String>,
    pub fingerprint: Fingerprint,
    #[serde(with = "hex_bytes")]
    pub context: Vec<u8>,
    pub claims: Vec<ClaimVector>,
    /// One opening per claim, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openings: Option<Vec<OpeningVector>>,
    pub proof: AggregatedRangeProof,
}
impl_vector!(BulletproofVector, openings);

/// Link proof: the ciphertext sum and `V` hold the same value (SPEC.md §5.4).
#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkVector {
    pub name: String,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<String>,
    pub fingerprint: Fingerprint,
    #[serde(with = "hex_bytes")]
    pub context: Vec<u8>,
    pub pk: PublicKey,
    pub ciphertexts: Vec<Ciphertext>,
    /// `ciphertexts[i] = Enc(plaintexts[i].value; plaintexts[i].r)`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintexts: Option<Vec<Plaintext>>,
    pub V: Point,
    /// `V = (Σ plaintexts.value)·G + blinding·H`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blinding: Option<Scalar>,
    pub proof: LinkProof,
}

impl Vector for LinkVector {
    fn name(&self) -> &str {
        &self.name
    }
    fn valid(&self) -> bool {
        self.valid
    }
    fn tamper(&self) -> Option<&str> {
        self.tamper.as_deref()
    }
    fn mark_invalid(&mut self, name: String, tamper: &str) {
        self.name = name;
        self.valid = false;
        self.tamper = Some(tamper.to_string());
        self.plaintexts = None;
        self.blinding = None;
    }
}

/// `range.json` holds both halves of a wide-range claim.
// A few dozen values of test data: their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RangeVector {
    Bulletproof(BulletproofVector),
    Link(LinkVector),
}

delegate_vector!(RangeVector { Bulletproof, Link });

/// A whole encrypted ballot (SPEC.md §6).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BallotVector {
    pub name: String,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<String>,
    /// `fingerprint = Fingerprint::election(manifest_hash, pk)` for valid vectors.
    #[serde(with = "hex32")]
    pub manifest_hash: [u8; 32],
    pub pk: PublicKey,
    pub fingerprint: Fingerprint,
    /// The voter's credential public key.
    #[serde(with = "hex32")]
    pub credential: [u8; 32],
    pub contests: Vec<Contest>,
    /// Choices and encryption randomness (a Benaloh audit re-encrypts them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<BallotSecrets>,
    pub ballot: EncryptedBallot,
}
impl_vector!(BallotVector, secrets);

/// A dealer of a key ceremony: polynomial, Feldman commitments, coefficient
/// proofs and the share `f(l)` of every trustee `l = 1..n`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DealerVector {
    pub dealer: u32,
    pub coefficients: Vec<Scalar>,
    pub commitments: Vec<Point>,
    pub proofs: Vec<SchnorrProof>,
    /// `shares[l - 1] = f(l)`.
    pub shares: Vec<Scalar>,
}

/// A trustee's combined key share and verification key.
#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyShareVector {
    pub trustee: u32,
    pub x: Scalar,
    pub X: Point,
}

/// A whole ceremony, every step deterministic from the coefficients.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeremonyVector {
    pub name: String,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<String>,
    #[serde(with = "hex32")]
    pub manifest_hash: [u8; 32],
    /// `Fingerprint::ceremony(manifest_hash)`.
    pub fingerprint: Fingerprint,
    pub n: u32,
    pub t: u32,
    pub dealers: Vec<DealerVector>,
    pub key_shares: Vec<KeyShareVector>,
    pub pk: PublicKey,
}
impl_vector!(CeremonyVector);

/// Lagrange coefficients at zero for a set of trustees; an invalid vector
/// is an index set that must be refused.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LagrangeVector {
    pub name: String,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<String>,
    pub indices: Vec<u32>,
    /// `coefficients[i] = λ_{indices[i]}` (empty for an invalid vector).
    pub coefficients: Vec<Scalar>,
}
impl_vector!(LagrangeVector);

/// One dealer's coefficient commitments and their proofs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoefficientProofsVector {
    pub name: String,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<String>,
    pub fingerprint: Fingerprint,
    pub dealer: u32,
    pub threshold: u32,
    pub commitments: Vec<Point>,
    pub proofs: Vec<SchnorrProof>,
}
impl_vector!(CoefficientProofsVector);

/// A share `f(trustee)` checked against a dealer's commitments.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareVector {
    pub name: String,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<String>,
    pub trustee: u32,
    pub commitments: Vec<Point>,
    pub share: Scalar,
}
impl_vector!(ShareVector);

/// One trustee's partial decryption of every ciphertext.
#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrusteeDecryption {
    pub trustee: u32,
    /// The key share, when known: `X = x·G`, `D_k = x·R_k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<Scalar>,
    pub X: Point,
    /// `lambda` of this trustee within the set of trustees of the vector.
    pub lambda: Scalar,
    pub shares: Vec<DecryptionShare>,
}

/// Partial decryptions by a set of trustees and the values they combine to:
/// `values[k]·G = C_k − Σ λ_l·D_lk`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptionVector {
    pub name: String,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<String>,
    pub fingerprint: Fingerprint,
    pub pk: PublicKey,
    pub ciphertexts: Vec<Ciphertext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintexts: Option<Vec<Plaintext>>,
    pub trustees: Vec<TrusteeDecryption>,
    pub values: Vec<u64>,
}

impl Vector for DecryptionVector {
    fn name(&self) -> &str {
        &self.name
    }
    fn valid(&self) -> bool {
        self.valid
    }
    fn tamper(&self) -> Option<&str> {
        self.tamper.as_deref()
    }
    fn mark_invalid(&mut self, name: String, tamper: &str) {
        self.name = name;
        self.valid = false;
        self.tamper = Some(tamper.to_string());
        self.plaintexts = None;
        for t in &mut self.trustees {
            t.x = None;
        }
    }
}

/// `threshold.json` holds every step of SPEC.md §8.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ThresholdVector {
    Ceremony(CeremonyVector),
    Lagrange(LagrangeVector),
    CoefficientProofs(CoefficientProofsVector),
    Share(ShareVector),
    Decryption(DecryptionVector),
}

delegate_vector!(ThresholdVector {
    Ceremony,
    Lagrange,
    CoefficientProofs,
    Share,
    Decryption
});

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A fresh RNG for one file.
pub fn rng() -> ChaCha20Rng {
    ChaCha20Rng::from_seed(SEED)
}

/// The pretty JSON text of a file, with a final newline.
pub fn to_json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("vectors serialize");
    text.push('\n');
    text
}

fn file<V>(description: &str, vectors: Vec<V>) -> VectorFile<V> {
    VectorFile {
        description: description.to_string(),
        generator: GENERATOR.to_string(),
        seed: hex::encode(SEED),
        vectors,
    }
}

/// A copy of `base`, marked invalid and edited by `edit`.
fn negative<V: Vector>(base: &V, name: &str, tamper: &str, edit: impl FnOnce(&mut V)) -> V {
    let mut v = base.clone();
    v.mark_invalid(name.to_string(), tamper);
    edit(&mut v);
    v
}

fn random32(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut out = [0u8; 32];
    rng.fill_bytes(&mut out);
    out
}

fn random_bytes(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    rng.fill_bytes(&mut out);
    out
}

/// `P + G`.
pub fn plus_g(p: &Point) -> Point {
    *p + *generator_g()
}

/// `s + 1`.
pub fn plus_one(s: &Scalar) -> Scalar {
    Scalar::from_dalek(s.inner() + DalekScalar::ONE)
}

/// `s − 1`.
pub fn minus_one(s: &Scalar) -> Scalar {
    Scalar::from_dalek(s.inner() - DalekScalar::ONE)
}

/// The fingerprint with its first bit flipped.
pub fn flip_fingerprint(fp: &Fingerprint) -> Fingerprint {
    let mut bytes = *fp.as_bytes();
    bytes[0] ^= 1;
    Fingerprint::from_bytes(bytes)
}

/// The context with its last byte's low bit flipped (or one byte appended
/// if it is empty).
pub fn flip_context(context: &[u8]) -> Vec<u8> {
    let mut out = context.to_vec();
    match out.last_mut() {
        Some(b) => *b ^= 1,
        None => out.push(0),
    }
    out
}

fn mul_g(x: &DalekScalar) -> Point {
    Point::from_point(generator_g().point() * x)
}

/// `v·G + s·H`.
pub fn pedersen(v: u64, s: &DalekScalar) -> Point {
    Point::from_point(RistrettoPoint::multiscalar_mul(
        [DalekScalar::from(v), *s],
        [*generator_g().point(), *generator_h().point()],
    ))
}

/// Change one 32-byte element of a range proof's `to_bytes` encoding: a
/// point gets `+ G`, a scalar `+ 1`.
pub fn tamper_range_proof(proof: &AggregatedRangeProof, offset: usize) -> AggregatedRangeProof {
    let mut bytes = proof.to_bytes();
    let element: [u8; 32] = bytes[offset..offset + 32].try_into().expect("32 bytes");
    let changed = if range_proof_element_is_scalar(bytes.len(), offset) {
        plus_one(&Scalar::from_bytes("scalar", element).expect("canonical scalar")).to_bytes()
    } else {
        *plus_g(&Point::from_bytes("point", element).expect("canonical point")).as_bytes()
    };
    bytes[offset..offset + 32].copy_from_slice(&changed);
    serde_json::from_value(serde_json::Value::String(hex::encode(bytes))).expect("still parses")
}

/// Layout of `RangeProof::to_bytes`: points `A, S, T1, T2`, scalars `t_x,
/// t_x_blinding, e_blinding`, then the inner-product proof's `L, R` points
/// in pairs and its scalars `a, b`.
pub fn range_proof_element_is_scalar(len: usize, offset: usize) -> bool {
    (128..224).contains(&offset) || offset + 64 >= len
}

fn contest(id: &str, n: usize, min: u64, max: u64, per: u64) -> Contest {
    Contest {
        id: id.to_string(),
        title: format!("Contest {id}"),
        options: (0..n)
            .map(|i| ContestOption {
                id: format!("{id}-o{i}"),
                label: format!("Option {i}"),
            })
            .collect(),
        min_selections: min,
        max_selections: max,
        max_per_option: per,
    }
}

/// An election key and fingerprint from the RNG.
fn election(rng: &mut ChaCha20Rng) -> ([u8; 32], PublicKey, Fingerprint) {
    let manifest_hash = random32(rng);
    let pk = SecretKey::random(rng).public_key();
    let fp = Fingerprint::election(&manifest_hash, &pk.to_non_identity());
    (manifest_hash, pk, fp)
}

fn encrypt_all(
    pk: &PublicKey,
    values: &[u64],
    rng: &mut ChaCha20Rng,
) -> (Vec<Ciphertext>, Vec<Plaintext>, DalekScalar) {
    let mut cts = Vec::new();
    let mut pts = Vec::new();
    let mut total = DalekScalar::ZERO;
    for &value in values {
        let (ct, r) = pk.encrypt(value, rng);
        total += r.inner();
        cts.push(ct);
        pts.push(Plaintext { value, r });
    }
    (cts, pts, total)
}

// ---------------------------------------------------------------------------
// schnorr.json
// ---------------------------------------------------------------------------

#[allow(non_snake_case)]
fn schnorr_file() -> VectorFile<SchnorrVector> {
    let mut rng = rng();
    let fp = Fingerprint::ceremony(&random32(&mut rng));
    let cases = [
        ("empty-context", Vec::new()),
        ("dkg-coefficient-dealer-1-j-0", coefficient_context(1, 0)),
        ("random-48-byte-context", random_bytes(&mut rng, 48)),
    ];
    let mut vectors = Vec::new();
    for (label, context) in cases {
        let x = DalekScalar::random(&mut rng);
        let proof = SchnorrProof::prove(&fp, &context, &x, &mut rng);
        vectors.push(SchnorrVector {
            name: format!("schnorr/valid/{label}"),
            valid: true,
            tamper: None,
            fingerprint: fp,
            context,
            x: Some(Scalar::from_dalek(x)),
            X: mul_g(&x),
            proof,
        });
    }
    let base = vectors[1].clone();
    let other_proof = vectors[2].proof;
    let n = |s: &str| format!("schnorr/invalid/{s}");
    vectors.extend([
        negative(&base, &n("commitment-T-plus-G"), "proof.T := T + G", |v| {
            v.proof.T = plus_g(&v.proof.T)
        }),
        negative(&base, &n("response-z-plus-1"), "proof.z := z + 1", |v| {
            v.proof.z = plus_one(&v.proof.z)
        }),
        negative(&base, &n("response-z-minus-1"), "proof.z := z - 1", |v| {
            v.proof.z = minus_one(&v.proof.z)
        }),
        negative(&base, &n("statement-X-plus-G"), "X := X + G", |v| {
            v.X = plus_g(&v.X)
        }),
        negative(
            &base,
            &n("wrong-context-other-coefficient"),
            "context := coefficient_context(1, 1) (proof made for j = 0)",
            |v| v.context = coefficient_context(1, 1),
        ),
        negative(
            &base,
            &n("wrong-context-other-dealer"),
            "context := coefficient_context(2, 0) (proof made for dealer 1)",
            |v| v.context = coefficient_context(2, 0),
        ),
        negative(
            &base,
            &n("wrong-fingerprint"),
            "fingerprint: first bit flipped",
            |v| v.fingerprint = flip_fingerprint(&v.fingerprint),
        ),
        negative(
            &base,
            &n("proof-of-another-statement"),
            "proof := the proof of schnorr/valid/random-48-byte-context",
            |v| v.proof = other_proof,
        ),
    ]);
    file(
        "Schnorr proofs of knowledge of a discrete logarithm (SPEC.md §5.1): X = x·G, \
         transcript psephos/schnorr/v1 over fingerprint, context, G, X, T. \
         Made with rand_chacha::ChaCha20Rng::from_seed(seed).",
        vectors,
    )
}

// ---------------------------------------------------------------------------
// dleq.json
// ---------------------------------------------------------------------------

#[allow(non_snake_case)]
fn dleq_file() -> VectorFile<DleqVector> {
    let mut rng = rng();
    let (_, pk, fp) = election(&mut rng);
    let mut vectors = Vec::new();
    // A random second base.
    let b = mul_g(&DalekScalar::random(&mut rng));
    // A partial decryption: B is a ciphertext's R.
    let (ct, _) = pk.encrypt(5, &mut rng);
    let cases = [
        ("random-base", random_bytes(&mut rng, 16), b),
        (
            "partial-decryption-trustee-2-position-0",
            decryption_context(2, 0),
            ct.R,
        ),
    ];
    for (label, context, b) in cases {
        let x = DalekScalar::random(&mut rng);
        let X = mul_g(&x);
        let D = Point::from_point(x * b.point());
        let st = DleqStatement {
            context: &context,
            X: &X,
            B: &b,
            D: &D,
        };
        let proof = DleqProof::prove(&fp, &st, &x, &mut rng);
        vectors.push(DleqVector {
            name: format!("dleq/valid/{label}"),
            valid: true,
            tamper: None,
            fingerprint: fp,
            context,
            x: Some(Scalar::from_dalek(x)),
            X,
            B: b,
            D,
            proof,
        });
    }
    // A prover who lies: D = (x + 1)·B, proved with x.
    let lie = {
        let x = DalekScalar::random(&mut rng);
        let X = mul_g(&x);
        let D = Point::from_point((x + DalekScalar::ONE) * b.point());
        let context = b"lie".to_vec();
        let st = DleqStatement {
            context: &context,
            X: &X,
            B: &b,
            D: &D,
        };
        let proof = DleqProof::prove(&fp, &st, &x, &mut rng);
        DleqVector {
            name: "dleq/invalid/unequal-logs".into(),
            valid: false,
            tamper: Some("D = (x + 1)·B, proved by the honest prover with x".into()),
            fingerprint: fp,
            context,
            x: None,
            X,
            B: b,
            D,
            proof,
        }
    };
    let base = vectors[1].clone();
    let n = |s: &str| format!("dleq/invalid/{s}");
    vectors.extend([
        negative(
            &base,
            &n("commitment-T1-plus-G"),
            "proof.T1 := T1 + G",
            |v| v.proof.T1 = plus_g(&v.proof.T1),
        ),
        negative(
            &base,
            &n("commitment-T2-plus-G"),
            "proof.T2 := T2 + G",
            |v| v.proof.T2 = plus_g(&v.proof.T2),
        ),
        negative(
            &base,
            &n("commitments-swapped"),
            "proof.T1 and proof.T2 swapped",
            |v| std::mem::swap(&mut v.proof.T1, &mut v.proof.T2),
        ),
        negative(&base, &n("response-z-plus-1"), "proof.z := z + 1", |v| {
            v.proof.z = plus_one(&v.proof.z)
        }),
        negative(&base, &n("statement-X-plus-G"), "X := X + G", |v| {
            v.X = plus_g(&v.X)
        }),
        negative(&base, &n("statement-B-plus-G"), "B := B + G", |v| {
            v.B = plus_g(&v.B)
        }),
        negative(&base, &n("statement-D-plus-G"), "D := D + G", |v| {
            v.D = plus_g(&v.D)
        }),
        negative(
            &base,
            &n("wrong-context-other-trustee"),
            "context := decryption_context(3, 0) (proof made for trustee 2)",
            |v| v.context = decryption_context(3, 0),
        ),
        negative(
            &base,
            &n("wrong-context-other-position"),
            "context := decryption_context(2, 1) (proof made for position 0)",
            |v| v.context = decryption_context(2, 1),
        ),
        negative(
            &base,
            &n("wrong-fingerprint"),
            "fingerprint: first bit flipped",
            |v| v.fingerprint = flip_fingerprint(&v.fingerprint),
        ),
        lie,
    ]);
    file(
        "Chaum-Pedersen proofs of discrete-log equality (SPEC.md §5.2): X = x·G, D = x·B, \
         transcript psephos/dleq/v1 over fingerprint, context, G, X, B, D, T1, T2. \
         Made with rand_chacha::ChaCha20Rng::from_seed(seed).",
        vectors,
    )
}

// ---------------------------------------------------------------------------
// disjunctive.json
// ---------------------------------------------------------------------------

struct DisjunctiveCase {
    label: &'static str,
    values: Vec<u64>,
    fixed_r: Option<u64>,
    min: u64,
    max: u64,
}

fn disjunctive_vector(
    rng: &mut ChaCha20Rng,
    fp: &Fingerprint,
    pk: &PublicKey,
    context: Vec<u8>,
    case: &DisjunctiveCase,
    claimed: u64,
) -> DisjunctiveVector {
    let (cts, pts, r) = match case.fixed_r {
        Some(r) => {
            let r = Scalar::from(r);
            let ct = pk.encrypt_with(case.values[0], &r);
            let pt = Plaintext {
                value: case.values[0],
                r,
            };
            (vec![ct], vec![pt], *r.inner())
        }
        None => encrypt_all(pk, &case.values, rng),
    };
    let st = RangeStatement {
        context: &context,
        pk,
        ciphertexts: &cts,
        min: case.min,
        max: case.max,
    };
    let proof = DisjunctiveProof::prove(fp, &st, claimed, &r, rng).expect("claimed in range");
    DisjunctiveVector {
        name: format!("disjunctive/valid/{}", case.label),
        valid: true,
        tamper: None,
        fingerprint: *fp,
        context,
        pk: *pk,
        min: case.min,
        max: case.max,
        ciphertexts: cts,
        plaintexts: Some(pts),
        proof,
    }
}

fn disjunctive_file() -> VectorFile<DisjunctiveVector> {
    let mut rng = rng();
    let (_, pk, fp) = election(&mut rng);
    let credential = random32(&mut rng);
    let case = |label, values: Vec<u64>, min, max| DisjunctiveCase {
        label,
        values,
        fixed_r: None,
        min,
        max,
    };
    let cases = [
        case("value-0-in-0..1", vec![0], 0, 1),
        case("value-1-in-0..1", vec![1], 0, 1),
        case("value-3-in-2..5", vec![3], 2, 5),
        case("sum-of-1-0-1-in-2..2", vec![1, 0, 1], 2, 2),
        case("value-7-in-0..7", vec![7], 0, 7),
        case("sum-of-4-options-in-1..3", vec![0, 1, 1, 0], 1, 3),
        DisjunctiveCase {
            label: "value-u64-max-in-top-range-r-1",
            values: vec![u64::MAX],
            fixed_r: Some(1),
            min: u64::MAX - 3,
            max: u64::MAX,
        },
    ];
    let mut vectors = Vec::new();
    for (tag, c) in (0u64..).zip(&cases) {
        let context = claim_context(&credential, "contest", tag);
        let claimed = c.values.iter().sum();
        vectors.push(disjunctive_vector(&mut rng, &fp, &pk, context, c, claimed));
    }
    // Provers who lie: the ciphertext holds a value outside the range, the
    // proof claims one inside (the plaintexts are kept: they are true).
    let lies = [
        ("value-2-in-0..1-claimed-1", vec![2], 0, 1, 1),
        ("value-2-in-0..1-claimed-0", vec![2], 0, 1, 0),
        ("value-8-in-0..7-claimed-7", vec![8], 0, 7, 7),
        ("value-1-in-2..5-claimed-2", vec![1], 2, 5, 2),
        ("sum-of-1-1-in-0..1-claimed-1", vec![1, 1], 0, 1, 1),
    ];
    for (label, values, min, max, claimed) in lies {
        let c = case(label, values, min, max);
        let mut v = disjunctive_vector(&mut rng, &fp, &pk, b"lie".to_vec(), &c, claimed);
        v.name = format!("disjunctive/invalid/{label}");
        v.valid = false;
        v.tamper = Some(format!(
            "the ciphertexts hold {}, outside [{min}, {max}]; the prover claimed {claimed}",
            c.values.iter().sum::<u64>()
        ));
        vectors.push(v);
    }
    let base = vectors[2].clone();
    let sum = vectors[5].clone();
    let n = |s: &str| format!("disjunctive/invalid/{s}");
    vectors.extend([
        negative(
            &base,
            &n("branch-0-commitment-A-plus-G"),
            "branch 0: A := A + G",
            |v| v.proof.branches[0].A = plus_g(&v.proof.branches[0].A),
        ),
        negative(
            &base,
            &n("branch-1-commitment-B-plus-G"),
            "branch 1: B := B + G",
            |v| v.proof.branches[1].B = plus_g(&v.proof.branches[1].B),
        ),
        negative(
            &base,
            &n("branch-2-challenge-c-plus-1"),
            "branch 2: c := c + 1",
            |v| v.proof.branches[2].c = plus_one(&v.proof.branches[2].c),
        ),
        negative(
            &base,
            &n("branch-3-response-z-plus-1"),
            "branch 3: z := z + 1",
            |v| v.proof.branches[3].z = plus_one(&v.proof.branches[3].z),
        ),
        negative(
            &base,
            &n("challenges-rebalanced"),
            "branch 0: c := c + 1, branch 1: c := c - 1 (the sum still matches)",
            |v| {
                v.proof.branches[0].c = plus_one(&v.proof.branches[0].c);
                v.proof.branches[1].c = minus_one(&v.proof.branches[1].c);
            },
        ),
        negative(
            &base,
            &n("branches-0-1-swapped"),
            "branches 0 and 1 swapped",
            |v| v.proof.branches.swap(0, 1),
        ),
        negative(
            &base,
            &n("branches-1-2-swapped"),
            "branches 1 and 2 swapped (2 = 1 + 1 = true value - min)",
            |v| v.proof.branches.swap(1, 2),
        ),
        negative(
            &base,
            &n("last-branch-dropped"),
            "the branch for k = max removed",
            |v| {
                v.proof.branches.pop();
            },
        ),
        negative(
            &base,
            &n("ciphertext-R-plus-G"),
            "ciphertext 0: R := R + G",
            |v| v.ciphertexts[0].R = plus_g(&v.ciphertexts[0].R),
        ),
        negative(
            &base,
            &n("ciphertext-C-plus-G"),
            "ciphertext 0: C := C + G",
            |v| v.ciphertexts[0].C = plus_g(&v.ciphertexts[0].C),
        ),
        negative(&base, &n("public-key-plus-G"), "pk := PK + G", |v| {
            v.pk = PublicKey::from_point(
                plus_g(v.pk.as_point())
                    .non_identity("pk")
                    .expect("not the identity"),
            )
        }),
        negative(
            &base,
            &n("range-shifted"),
            "[min, max] := [min + 1, max + 1]",
            |v| {
                v.min += 1;
                v.max += 1;
            },
        ),
        negative(
            &base,
            &n("wrong-context"),
            "context: last bit flipped",
            |v| v.context = flip_context(&v.context),
        ),
        negative(
            &base,
            &n("wrong-context-other-credential"),
            "context := claim_context(other credential, \"contest\", 2)",
            |v| v.context = claim_context(&[7; 32], "contest", 2),
        ),
        negative(
            &base,
            &n("wrong-fingerprint"),
            "fingerprint: first bit flipped",
            |v| v.fingerprint = flip_fingerprint(&v.fingerprint),
        ),
        negative(
            &sum,
            &n("ciphertext-dropped-from-sum"),
            "the last ciphertext of the sum removed",
            |v| {
                v.ciphertexts.pop();
            },
        ),
        negative(
            &sum,
            &n("ciphertexts-of-sum-reordered"),
            "ciphertexts 0 and 1 of the sum swapped",
            |v| v.ciphertexts.swap(0, 1),
        ),
    ]);
    file(
        "Exponential ElGamal encryptions Enc(v; r) = (r·G, v·G + r·PK) with their plaintexts and \
         randomness, and disjunctive Chaum-Pedersen proofs that the sum of the ciphertexts holds \
         a value in [min, max] (SPEC.md §4, §5.3), transcript psephos/range-cds/v1. \
         Made with rand_chacha::ChaCha20Rng::from_seed(seed).",
        vectors,
    )
}

// ---------------------------------------------------------------------------
// range.json
// ---------------------------------------------------------------------------

fn bulletproof_vector(
    rng: &mut ChaCha20Rng,
    fp: &Fingerprint,
    label: &str,
    context: Vec<u8>,
    claims: &[(u64, u64, u64)],
) -> BulletproofVector {
    let mut cv = Vec::new();
    let mut ov = Vec::new();
    let mut cs = Vec::new();
    let mut os = Vec::new();
    for &(value, min, max) in claims {
        let s = DalekScalar::random(rng);
        let v = pedersen(value, &s);
        cv.push(ClaimVector { V: v, min, max });
        ov.push(OpeningVector {
            value,
            blinding: Scalar::from_dalek(s),
        });
        cs.push(Claim { V: v, min, max });
        os.push(Opening { value, blinding: s });
    }
    let proof = AggregatedRangeProof::prove(fp, &context, &cs, &os, rng).expect("in range");
    BulletproofVector {
        name: format!("range/valid/{label}"),
        valid: true,
        tamper: None,
        fingerprint: *fp,
        context,
        claims: cv,
        openings: Some(ov),
        proof,
    }
}

/// A proof for a commitment that holds a value outside its claim: the
/// prover is handed the real commitment in the claim but an in-range
/// opening (the recorded opening is the true one).
fn bulletproof_lie(
    rng: &mut ChaCha20Rng,
    fp: &Fingerprint,
    label: &str,
    true_value: u64,
    claimed: u64,
    min: u64,
    max: u64,
) -> BulletproofVector {
    let s = DalekScalar::random(rng);
    let v = pedersen(true_value, &s);
    let context = b"lie".to_vec();
    let proof = AggregatedRangeProof::prove(
        fp,
        &context,
        &[Claim { V: v, min, max }],
        &[Opening {
            value: claimed,
            blinding: s,
        }],
        rng,
    )
    .expect("claimed value in range");
    BulletproofVector {
        name: format!("range/invalid/{label}"),
        valid: false,
        tamper: Some(format!(
            "V holds {true_value}, outside [{min}, {max}]; \
             the prover was given the opening {claimed}"
        )),
        fingerprint: *fp,
        context,
        claims: vec![ClaimVector { V: v, min, max }],
        openings: Some(vec![OpeningVector {
            value: true_value,
            blinding: Scalar::from_dalek(s),
        }]),
        proof,
    }
}

#[allow(non_snake_case)]
fn link_vector(
    rng: &mut ChaCha20Rng,
    fp: &Fingerprint,
    pk: &PublicKey,
    label: &str,
    context: Vec<u8>,
    values: &[u64],
) -> LinkVector {
    let (cts, pts, r) = encrypt_all(pk, values, rng);
    let total: u64 = values.iter().sum();
    let s = DalekScalar::random(rng);
    let V = pedersen(total, &s);
    let st = LinkStatement {
        context: &context,
        pk,
        ciphertexts: &cts,
        V: &V,
    };
    let proof = LinkProof::prove(fp, &st, total, &r, &s, rng);
    LinkVector {
        name: format!("link/valid/{label}"),
        valid: true,
        tamper: None,
        fingerprint: *fp,
        context,
        pk: *pk,
        ciphertexts: cts,
        plaintexts: Some(pts),
        V,
        blinding: Some(Scalar::from_dalek(s)),
        proof,
    }
}

#[allow(non_snake_case)]
fn range_file() -> VectorFile<RangeVector> {
    let mut rng = rng();
    let (_, pk, fp) = election(&mut rng);
    let credential = random32(&mut rng);
    let three_context = random_bytes(&mut rng, 24);
    let mut bp = vec![
        bulletproof_vector(
            &mut rng,
            &fp,
            "value-0-in-0..10",
            b"".to_vec(),
            &[(0, 0, 10)],
        ),
        bulletproof_vector(
            &mut rng,
            &fp,
            "value-10-in-0..10",
            b"".to_vec(),
            &[(10, 0, 10)],
        ),
        bulletproof_vector(
            &mut rng,
            &fp,
            "three-claims-32-bit-padded",
            three_context,
            &[(5, 3, 300), (1000, 1000, 70000), (255, 0, 255)],
        ),
        bulletproof_vector(
            &mut rng,
            &fp,
            "full-64-bit-range-and-single-point",
            b"wide".to_vec(),
            &[(u64::MAX, 0, u64::MAX), (7, 7, 7)],
        ),
        bulletproof_vector(
            &mut rng,
            &fp,
            "score-ballot-4-options-and-total",
            claim_context(&credential, "score", RANGE_PROOF_TAG),
            &[(10, 0, 10), (0, 0, 10), (7, 0, 10), (3, 0, 10), (20, 0, 40)],
        ),
    ];
    let lies = [
        bulletproof_lie(
            &mut rng,
            &fp,
            "value-11-in-0..10-opened-as-10",
            11,
            10,
            0,
            10,
        ),
        bulletproof_lie(&mut rng, &fp, "value-4-in-5..300-opened-as-5", 4, 5, 5, 300),
        bulletproof_lie(
            &mut rng,
            &fp,
            "value-256-in-0..255-opened-as-255",
            256,
            255,
            0,
            255,
        ),
    ];
    let base = bp[2].clone();
    let len = base.proof.to_bytes().len();
    let n = |s: &str| format!("range/invalid/{s}");
    let mut bad = Vec::new();
    for (offset, label, what) in [
        (0, "commitment-A-plus-G", "A := A + G"),
        (32, "commitment-S-plus-G", "S := S + G"),
        (64, "commitment-T1-plus-G", "T1 := T1 + G"),
        (96, "commitment-T2-plus-G", "T2 := T2 + G"),
        (128, "response-t_x-plus-1", "t_x := t_x + 1"),
        (
            160,
            "response-t_x_blinding-plus-1",
            "t_x_blinding := t_x_blinding + 1",
        ),
        (
            192,
            "response-e_blinding-plus-1",
            "e_blinding := e_blinding + 1",
        ),
        (
            224,
            "inner-product-L0-plus-G",
            "inner-product L_0 := L_0 + G",
        ),
        (
            256,
            "inner-product-R0-plus-G",
            "inner-product R_0 := R_0 + G",
        ),
        (
            len - 64,
            "inner-product-a-plus-1",
            "inner-product a := a + 1",
        ),
        (
            len - 32,
            "inner-product-b-plus-1",
            "inner-product b := b + 1",
        ),
    ] {
        bad.push(negative(
            &base,
            &n(label),
            &format!("proof bytes: {what}"),
            |v| v.proof = tamper_range_proof(&v.proof, offset),
        ));
    }
    bad.extend([
        negative(&base, &n("claim-0-V-plus-G"), "claim 0: V := V + G", |v| {
            v.claims[0].V = plus_g(&v.claims[0].V)
        }),
        negative(
            &base,
            &n("claim-1-min-minus-1"),
            "claim 1: min := min - 1",
            |v| v.claims[1].min -= 1,
        ),
        negative(
            &base,
            &n("claim-2-max-plus-1"),
            "claim 2: max := max + 1 (still 32 bits)",
            |v| v.claims[2].max += 1,
        ),
        negative(
            &base,
            &n("claims-0-1-swapped"),
            "claims 0 and 1 swapped",
            |v| v.claims.swap(0, 1),
        ),
        negative(&base, &n("claim-dropped"), "the last claim removed", |v| {
            v.claims.pop();
        }),
        negative(
            &base,
            &n("wrong-context"),
            "context: last bit flipped",
            |v| v.context = flip_context(&v.context),
        ),
        negative(
            &base,
            &n("wrong-fingerprint"),
            "fingerprint: first bit flipped",
            |v| v.fingerprint = flip_fingerprint(&v.fingerprint),
        ),
    ]);
    bp.extend(lies);
    bp.extend(bad);

    let mut link = vec![
        link_vector(&mut rng, &fp, &pk, "value-42", b"link".to_vec(), &[42]),
        link_vector(
            &mut rng,
            &fp,
            &pk,
            "sum-of-three-2^40-plus-3",
            claim_context(&credential, "score", TOTAL_TAG),
            &[1 << 40, 1, 2],
        ),
        link_vector(&mut rng, &fp, &pk, "value-0", Vec::new(), &[0]),
    ];
    // A prover who lies: V commits to 43, the ciphertext holds 42.
    let lie = {
        let (cts, _, r) = encrypt_all(&pk, &[42], &mut rng);
        let s = DalekScalar::random(&mut rng);
        let V = pedersen(43, &s);
        let context = b"lie".to_vec();
        let st = LinkStatement {
            context: &context,
            pk: &pk,
            ciphertexts: &cts,
            V: &V,
        };
        let proof = LinkProof::prove(&fp, &st, 42, &r, &s, &mut rng);
        LinkVector {
            name: "link/invalid/commitment-to-another-value".into(),
            valid: false,
            tamper: Some("the ciphertext holds 42, V commits to 43; proved with v = 42".into()),
            fingerprint: fp,
            context,
            pk,
            ciphertexts: cts,
            plaintexts: None,
            V,
            blinding: None,
            proof,
        }
    };
    let base = link[0].clone();
    let multi = link[1].clone();
    let n = |s: &str| format!("link/invalid/{s}");
    link.extend([
        negative(
            &base,
            &n("commitment-TR-plus-G"),
            "proof.TR := TR + G",
            |v| v.proof.TR = plus_g(&v.proof.TR),
        ),
        negative(
            &base,
            &n("commitment-TC-plus-G"),
            "proof.TC := TC + G",
            |v| v.proof.TC = plus_g(&v.proof.TC),
        ),
        negative(
            &base,
            &n("commitment-TV-plus-G"),
            "proof.TV := TV + G",
            |v| v.proof.TV = plus_g(&v.proof.TV),
        ),
        negative(&base, &n("response-zv-plus-1"), "proof.zv := zv + 1", |v| {
            v.proof.zv = plus_one(&v.proof.zv)
        }),
        negative(&base, &n("response-zr-plus-1"), "proof.zr := zr + 1", |v| {
            v.proof.zr = plus_one(&v.proof.zr)
        }),
        negative(&base, &n("response-zs-plus-1"), "proof.zs := zs + 1", |v| {
            v.proof.zs = plus_one(&v.proof.zs)
        }),
        negative(
            &base,
            &n("ciphertext-R-plus-G"),
            "ciphertext 0: R := R + G",
            |v| v.ciphertexts[0].R = plus_g(&v.ciphertexts[0].R),
        ),
        negative(
            &base,
            &n("ciphertext-C-plus-G"),
            "ciphertext 0: C := C + G",
            |v| v.ciphertexts[0].C = plus_g(&v.ciphertexts[0].C),
        ),
        negative(&base, &n("statement-V-plus-G"), "V := V + G", |v| {
            v.V = plus_g(&v.V)
        }),
        negative(&base, &n("statement-V-plus-H"), "V := V + H", |v| {
            v.V = v.V + *generator_h()
        }),
        negative(&base, &n("public-key-plus-G"), "pk := PK + G", |v| {
            v.pk = PublicKey::from_point(
                plus_g(v.pk.as_point())
                    .non_identity("pk")
                    .expect("not the identity"),
            )
        }),
        negative(
            &base,
            &n("wrong-context"),
            "context: last bit flipped",
            |v| v.context = flip_context(&v.context),
        ),
        negative(
            &base,
            &n("wrong-fingerprint"),
            "fingerprint: first bit flipped",
            |v| v.fingerprint = flip_fingerprint(&v.fingerprint),
        ),
        negative(
            &multi,
            &n("ciphertext-dropped-from-sum"),
            "the last ciphertext of the sum removed",
            |v| {
                v.ciphertexts.pop();
            },
        ),
        lie,
    ]);
    let vectors = bp
        .into_iter()
        .map(RangeVector::Bulletproof)
        .chain(link.into_iter().map(RangeVector::Link))
        .collect();
    file(
        "Wide-range claims (SPEC.md §5.4, §5.5): aggregated Bulletproofs range proofs over \
         Pedersen commitments V = v·G + s·H (kind \"bulletproof\", transcript \
         psephos/bulletproof/v1, proof = RangeProof::to_bytes in hex) and the sigma proofs \
         linking a ciphertext sum to V (kind \"link\", transcript psephos/range-link/v1). \
         Made with rand_chacha::ChaCha20Rng::from_seed(seed).",
        vectors,
    )
}

// ---------------------------------------------------------------------------
// ballot.json
// ---------------------------------------------------------------------------

fn ballot_vector(
    rng: &mut ChaCha20Rng,
    election: &([u8; 32], PublicKey, Fingerprint),
    credential: [u8; 32],
    label: &str,
    contests: Vec<Contest>,
    choices: &[Vec<u64>],
) -> BallotVector {
    let (manifest_hash, pk, fp) = election;
    let ctx = BallotContext {
        fingerprint: fp,
        pk,
        credential: &credential,
    };
    let (ballot, secrets) = encrypt_ballot(&ctx, &contests, choices, rng).expect("valid choice");
    BallotVector {
        name: format!("ballot/valid/{label}"),
        valid: true,
        tamper: None,
        manifest_hash: *manifest_hash,
        pk: *pk,
        fingerprint: *fp,
        credential,
        contests,
        secrets: Some(secrets),
        ballot,
    }
}

fn linked(proof: &mut ClaimProof) -> (&mut Point, &mut LinkProof) {
    match proof {
        ClaimProof::Linked { V: v, link } => (v, &mut **link),
        ClaimProof::Disjunctive(_) => panic!("expected a linked claim"),
    }
}

fn disjunctive(proof: &mut ClaimProof) -> &mut DisjunctiveProof {
    match proof {
        ClaimProof::Disjunctive(p) => p,
        ClaimProof::Linked { .. } => panic!("expected a disjunctive claim"),
    }
}

fn ballot_file() -> VectorFile<BallotVector> {
    let mut rng = rng();
    let el = election(&mut rng);
    let alice = random32(&mut rng);
    let bob = random32(&mut rng);
    let mut vectors = vec![
        ballot_vector(
            &mut rng,
            &el,
            alice,
            "plurality-1-of-3",
            vec![contest("mayor", 3, 1, 1, 1)],
            &[vec![0, 1, 0]],
        ),
        ballot_vector(
            &mut rng,
            &el,
            alice,
            "approval-0..4-of-4-and-plurality",
            vec![contest("council", 4, 0, 4, 1), contest("mayor", 3, 1, 1, 1)],
            &[vec![1, 0, 1, 1], vec![1, 0, 0]],
        ),
        ballot_vector(
            &mut rng,
            &el,
            alice,
            "score-0..10-4-options",
            vec![contest("score", 4, 0, 40, 10)],
            &[vec![10, 0, 7, 3]],
        ),
        ballot_vector(
            &mut rng,
            &el,
            bob,
            "cumulative-0..10-over-5-options-max-2",
            vec![contest("cumulative", 5, 0, 10, 2)],
            &[vec![2, 0, 1, 2, 0]],
        ),
        ballot_vector(
            &mut rng,
            &el,
            bob,
            "budget-exactly-5-over-3-options-max-10",
            vec![contest("budget", 3, 5, 5, 10)],
            &[vec![3, 0, 2]],
        ),
        ballot_vector(
            &mut rng,
            &el,
            bob,
            "abstain-0..1-of-2",
            vec![contest("referendum", 2, 0, 1, 1)],
            &[vec![0, 0]],
        ),
    ];
    // Another ballot by the same voter, to copy parts from.
    let donor = ballot_vector(
        &mut rng,
        &el,
        alice,
        "donor",
        vec![contest("mayor", 3, 1, 1, 1)],
        &[vec![1, 0, 0]],
    );
    let plurality = vectors[0].clone();
    let score = vectors[2].clone();
    let budget = vectors[4].clone();
    let n = |s: &str| format!("ballot/invalid/{s}");
    vectors.extend([
        negative(
            &plurality,
            &n("other-credential"),
            "credential := another voter's key",
            |v| v.credential = bob,
        ),
        negative(
            &plurality,
            &n("other-contest-id"),
            "contest id \"mayor\" renamed \"mayor2\" in the manifest and the ballot",
            |v| {
                v.contests[0].id = "mayor2".into();
                v.ballot.contests[0].contest = "mayor2".into();
            },
        ),
        negative(
            &plurality,
            &n("options-0-1-swapped"),
            "ciphertexts and option proofs 0 and 1 swapped",
            |v| {
                v.ballot.contests[0].ciphertexts.swap(0, 1);
                v.ballot.contests[0].option_proofs.swap(0, 1);
            },
        ),
        negative(
            &plurality,
            &n("ciphertext-1-C-plus-G"),
            "ciphertext 1: C := C + G",
            |v| {
                v.ballot.contests[0].ciphertexts[1].C =
                    plus_g(&v.ballot.contests[0].ciphertexts[1].C)
            },
        ),
        negative(
            &plurality,
            &n("ciphertext-2-R-plus-G"),
            "ciphertext 2: R := R + G",
            |v| {
                v.ballot.contests[0].ciphertexts[2].R =
                    plus_g(&v.ballot.contests[0].ciphertexts[2].R)
            },
        ),
        negative(
            &plurality,
            &n("option-1-response-z-plus-1"),
            "option proof 1, branch 0: z := z + 1",
            |v| {
                let p = disjunctive(&mut v.ballot.contests[0].option_proofs[1]);
                p.branches[0].z = plus_one(&p.branches[0].z);
            },
        ),
        negative(
            &plurality,
            &n("total-commitment-A-plus-G"),
            "total proof, branch 0: A := A + G",
            |v| {
                let p = disjunctive(&mut v.ballot.contests[0].total_proof);
                p.branches[0].A = plus_g(&p.branches[0].A);
            },
        ),
        negative(
            &plurality,
            &n("wrong-fingerprint"),
            "fingerprint: first bit flipped",
            |v| v.fingerprint = flip_fingerprint(&v.fingerprint),
        ),
        negative(
            &plurality,
            &n("option-proof-copied-from-another-ballot"),
            "option proof 0 replaced by option proof 0 of another ballot of the same voter",
            |v| {
                v.ballot.contests[0].option_proofs[0] =
                    donor.ballot.contests[0].option_proofs[0].clone()
            },
        ),
        negative(
            &plurality,
            &n("ciphertexts-from-another-ballot"),
            "ciphertexts replaced by those of another ballot of the same voter",
            |v| v.ballot.contests[0].ciphertexts = donor.ballot.contests[0].ciphertexts.clone(),
        ),
        negative(
            &plurality,
            &n("max-selections-raised"),
            "manifest: max_selections := 2 (the total proof was made for [1, 1])",
            |v| v.contests[0].max_selections = 2,
        ),
        negative(
            &score,
            &n("range-proof-t_x-plus-1"),
            "range proof bytes: t_x := t_x + 1",
            |v| {
                let p = v.ballot.contests[0]
                    .range_proof
                    .as_ref()
                    .expect("range proof");
                v.ballot.contests[0].range_proof = Some(tamper_range_proof(p, 128));
            },
        ),
        negative(
            &score,
            &n("range-proof-missing"),
            "range proof removed",
            |v| v.ballot.contests[0].range_proof = None,
        ),
        negative(
            &score,
            &n("option-2-link-zs-plus-1"),
            "option proof 2 (linked): zs := zs + 1",
            |v| {
                let (_, link) = linked(&mut v.ballot.contests[0].option_proofs[2]);
                link.zs = plus_one(&link.zs);
            },
        ),
        negative(
            &score,
            &n("option-0-commitment-V-plus-G"),
            "option proof 0 (linked): V := V + G",
            |v| {
                let (big_v, _) = linked(&mut v.ballot.contests[0].option_proofs[0]);
                *big_v = plus_g(big_v);
            },
        ),
        negative(
            &score,
            &n("total-commitment-V-plus-G"),
            "total proof (linked): V := V + G",
            |v| {
                let (big_v, _) = linked(&mut v.ballot.contests[0].total_proof);
                *big_v = plus_g(big_v);
            },
        ),
        negative(
            &score,
            &n("score-other-credential"),
            "credential := another voter's key",
            |v| v.credential = bob,
        ),
        negative(
            &budget,
            &n("budget-options-1-2-swapped"),
            "ciphertexts and option proofs 1 and 2 swapped",
            |v| {
                v.ballot.contests[0].ciphertexts.swap(1, 2);
                v.ballot.contests[0].option_proofs.swap(1, 2);
            },
        ),
    ]);
    file(
        "Encrypted ballots (SPEC.md §6): manifest contests, election key and fingerprint \
         (Fingerprint::election(manifest_hash, pk)), the voter's credential key, the choices and \
         encryption randomness (a Benaloh audit re-encrypts them byte for byte) and the \
         ballot as serde serializes it. Made with rand_chacha::ChaCha20Rng::from_seed(seed).",
        vectors,
    )
}

// ---------------------------------------------------------------------------
// threshold.json
// ---------------------------------------------------------------------------

#[allow(non_snake_case)]
fn threshold_file() -> VectorFile<ThresholdVector> {
    let mut rng = rng();
    let (n, t) = (3u32, 2u32);
    let manifest_hash = random32(&mut rng);
    let ceremony_fp = Fingerprint::ceremony(&manifest_hash);
    let polys: Vec<Polynomial> = (0..n)
        .map(|_| Polynomial::random(t, &mut rng).expect("t >= 1"))
        .collect();
    let mut dealers = Vec::new();
    for (i, p) in (1u32..).zip(&polys) {
        dealers.push(DealerVector {
            dealer: i,
            coefficients: p.coefficients(),
            commitments: p.commitments(),
            proofs: p.prove_coefficients(&ceremony_fp, i, &mut rng),
            shares: (1..=n).map(|l| p.evaluate(l)).collect(),
        });
    }
    let refs: Vec<&[Point]> = dealers.iter().map(|d| d.commitments.as_slice()).collect();
    let pk = joint_key(&refs).expect("joint key");
    let mut key_shares = Vec::new();
    for l in 1..=n {
        let shares: Vec<Scalar> = dealers.iter().map(|d| d.shares[l as usize - 1]).collect();
        let ks = KeyShare::combine_shares(l, &shares);
        let X = verification_key(l, &refs).expect("verification key");
        assert_eq!(ks.verification_key(), *X.as_point());
        key_shares.push(KeyShareVector {
            trustee: l,
            x: ks.to_scalar(),
            X: *X.as_point(),
        });
    }
    let ceremony = CeremonyVector {
        name: "threshold/valid/ceremony-3-of-2".into(),
        valid: true,
        tamper: None,
        manifest_hash,
        fingerprint: ceremony_fp,
        n,
        t,
        dealers: dealers.clone(),
        key_shares: key_shares.clone(),
        pk,
    };

    let mut vectors = vec![ThresholdVector::Ceremony(ceremony)];

    // Coefficient proofs of dealer 1.
    let coeff = CoefficientProofsVector {
        name: "threshold/valid/coefficient-proofs-dealer-1".into(),
        valid: true,
        tamper: None,
        fingerprint: ceremony_fp,
        dealer: 1,
        threshold: t,
        commitments: dealers[0].commitments.clone(),
        proofs: dealers[0].proofs.clone(),
    };
    let election_fp = Fingerprint::election(&manifest_hash, &pk.to_non_identity());
    let n_ = |s: &str| format!("threshold/invalid/{s}");
    let coeff_bad = [
        negative(
            &coeff,
            &n_("coefficient-proofs-as-dealer-2"),
            "dealer := 2 (proofs made for dealer 1)",
            |v| v.dealer = 2,
        ),
        negative(
            &coeff,
            &n_("coefficient-proofs-swapped"),
            "proofs 0 and 1 swapped",
            |v| v.proofs.swap(0, 1),
        ),
        negative(
            &coeff,
            &n_("coefficient-commitments-and-proofs-swapped"),
            "commitments and proofs 0 and 1 swapped together (positions are bound)",
            |v| {
                v.proofs.swap(0, 1);
                v.commitments.swap(0, 1);
            },
        ),
        negative(
            &coeff,
            &n_("coefficient-proof-1-z-plus-1"),
            "proof 1: z := z + 1",
            |v| v.proofs[1].z = plus_one(&v.proofs[1].z),
        ),
        negative(
            &coeff,
            &n_("coefficient-proof-0-T-plus-G"),
            "proof 0: T := T + G",
            |v| v.proofs[0].T = plus_g(&v.proofs[0].T),
        ),
        negative(
            &coeff,
            &n_("coefficient-commitment-0-plus-G"),
            "commitment 0 := A_0 + G",
            |v| v.commitments[0] = plus_g(&v.commitments[0]),
        ),
        negative(
            &coeff,
            &n_("coefficient-proofs-election-fingerprint"),
            "fingerprint := the election fingerprint (proofs made under the ceremony fingerprint)",
            |v| v.fingerprint = election_fp,
        ),
        negative(
            &coeff,
            &n_("coefficient-commitment-identity"),
            "commitment 1 := identity (refused)",
            |v| v.commitments[1] = Point::identity(),
        ),
    ];
    vectors.push(ThresholdVector::CoefficientProofs(coeff));

    // Shares of dealer 2.
    let share = ShareVector {
        name: "threshold/valid/share-dealer-2-trustee-3".into(),
        valid: true,
        tamper: None,
        trustee: 3,
        commitments: dealers[1].commitments.clone(),
        share: dealers[1].shares[2],
    };
    let share_bad = [
        negative(&share, &n_("share-plus-1"), "share := f(3) + 1", |v| {
            v.share = plus_one(&v.share)
        }),
        negative(
            &share,
            &n_("share-for-another-trustee"),
            "trustee := 2 (share is f(3))",
            |v| v.trustee = 2,
        ),
        negative(
            &share,
            &n_("share-against-another-dealer"),
            "commitments := dealer 3's",
            |v| v.commitments = dealers[2].commitments.clone(),
        ),
    ];
    vectors.push(ThresholdVector::Share(share));

    // Lagrange coefficients.
    for indices in [
        vec![1u32, 2],
        vec![1, 3],
        vec![3, 2],
        vec![1, 2, 3],
        vec![2, 4, 5],
        vec![1, 2, 3, 4, 5],
    ] {
        let coefficients = indices
            .iter()
            .map(|&l| Scalar::from_dalek(lagrange_at_zero(&indices, l).expect("valid set")))
            .collect();
        let label = indices
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join("-");
        vectors.push(ThresholdVector::Lagrange(LagrangeVector {
            name: format!("threshold/valid/lagrange-{label}"),
            valid: true,
            tamper: None,
            indices,
            coefficients,
        }));
    }
    for (label, indices) in [
        ("duplicate-index", vec![1u32, 1, 2]),
        ("zero-index", vec![0, 1]),
    ] {
        vectors.push(ThresholdVector::Lagrange(LagrangeVector {
            name: format!("threshold/invalid/lagrange-{label}"),
            valid: false,
            tamper: Some(format!("index set {indices:?} must be refused")),
            indices,
            coefficients: Vec::new(),
        }));
    }

    // Decryption of two ciphertexts (a tally of two options).
    let values = [3u64, 0];
    let (cts, pts, _) = encrypt_all(&pk, &values, &mut rng);
    let mut decryptions = Vec::new();
    for subset in [[1u32, 3], [3, 2]] {
        let mut trustees = Vec::new();
        for &l in &subset {
            let ks = &key_shares[l as usize - 1];
            let share = KeyShare::from_scalar(l, ks.x);
            trustees.push(TrusteeDecryption {
                trustee: l,
                x: Some(ks.x),
                X: ks.X,
                lambda: Scalar::from_dalek(lagrange_at_zero(&subset, l).expect("valid set")),
                shares: share.decrypt(&election_fp, &cts, &mut rng),
            });
        }
        decryptions.push(DecryptionVector {
            name: format!("threshold/valid/decryption-by-{}-{}", subset[0], subset[1]),
            valid: true,
            tamper: None,
            fingerprint: election_fp,
            pk,
            ciphertexts: cts.clone(),
            plaintexts: Some(pts.clone()),
            trustees,
            values: values.to_vec(),
        });
    }
    let base = decryptions[0].clone();
    let dec_bad = [
        negative(
            &base,
            &n_("decryption-D-plus-R"),
            "trustee 1, ciphertext 0: D := D + R",
            |v| {
                let s = &mut v.trustees[0].shares[0];
                s.D = s.D + v.ciphertexts[0].R;
            },
        ),
        negative(
            &base,
            &n_("decryption-D-plus-G"),
            "trustee 3, ciphertext 1: D := D + G",
            |v| {
                let s = &mut v.trustees[1].shares[1];
                s.D = plus_g(&s.D);
            },
        ),
        negative(
            &base,
            &n_("decryption-proof-z-plus-1"),
            "trustee 1, ciphertext 1: proof.z := z + 1",
            |v| {
                let s = &mut v.trustees[0].shares[1];
                s.proof.z = plus_one(&s.proof.z);
            },
        ),
        negative(
            &base,
            &n_("decryption-proof-T1-plus-G"),
            "trustee 3, ciphertext 0: proof.T1 := T1 + G",
            |v| {
                let s = &mut v.trustees[1].shares[0];
                s.proof.T1 = plus_g(&s.proof.T1);
            },
        ),
        negative(
            &base,
            &n_("decryption-proof-T2-plus-G"),
            "trustee 3, ciphertext 0: proof.T2 := T2 + G",
            |v| {
                let s = &mut v.trustees[1].shares[0];
                s.proof.T2 = plus_g(&s.proof.T2);
            },
        ),
        negative(
            &base,
            &n_("decryption-shares-of-ciphertexts-swapped"),
            "trustee 1: shares of ciphertexts 0 and 1 swapped",
            |v| v.trustees[0].shares.swap(0, 1),
        ),
        negative(
            &base,
            &n_("decryption-trustee-relabelled"),
            "trustee 1's shares presented as trustee 2's (with X_1)",
            |v| {
                v.trustees[0].trustee = 2;
            },
        ),
        negative(
            &base,
            &n_("decryption-verification-key-plus-G"),
            "trustee 1: X := X + G",
            |v| v.trustees[0].X = plus_g(&v.trustees[0].X),
        ),
        negative(
            &base,
            &n_("decryption-wrong-fingerprint"),
            "fingerprint: first bit flipped",
            |v| v.fingerprint = flip_fingerprint(&v.fingerprint),
        ),
    ];
    vectors.extend(decryptions.into_iter().map(ThresholdVector::Decryption));
    vectors.extend(
        coeff_bad
            .into_iter()
            .map(ThresholdVector::CoefficientProofs),
    );
    vectors.extend(share_bad.into_iter().map(ThresholdVector::Share));
    vectors.extend(dec_bad.into_iter().map(ThresholdVector::Decryption));
    file(
        "Threshold decryption (SPEC.md §8): a 2-of-3 Feldman ceremony (coefficients -> \
         commitments, Schnorr proofs, shares f(l), key shares x_l, verification keys X_l, joint \
         key), Lagrange coefficients at zero, and partial decryptions D = x_l·R with DLEQ proofs \
         that combine to the plaintexts. Made with rand_chacha::ChaCha20Rng::from_seed(seed).",
        vectors,
    )
}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/// Every vector file: `(file name, contents)`.
pub fn generate() -> Vec<(&'static str, String)> {
    vec![
        ("schnorr.json", to_json(&schnorr_file())),
        ("dleq.json", to_json(&dleq_file())),
        ("disjunctive.json", to_json(&disjunctive_file())),
        ("range.json", to_json(&range_file())),
        ("ballot.json", to_json(&ballot_file())),
        ("threshold.json", to_json(&threshold_file())),
    ]
}

#[allow(dead_code)] // `known_answers.rs` includes this file as a module.
fn main() {
    // Relative to the workspace root, where `cargo run` is usually started.
    const DEFAULT_DIR: &str = "crypto/tests/vectors";
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| DEFAULT_DIR.to_string()),
    );
    std::fs::create_dir_all(&dir).expect("create the output directory");
    for (name, text) in generate() {
        let path = dir.join(name);
        std::fs::write(&path, &text).expect("write a vector file");
        println!("wrote {} ({} bytes)", path.display(), text.len());
    }
}
