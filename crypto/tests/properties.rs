//! Property tests of the proofs (SPEC.md §5), ballots (§6), threshold
//! decryption (§8) and encodings (§2):
//!
//! 1. every honest proof verifies;
//! 2. changing any single element of a proof or its statement makes it fail,
//!    singly and on the batch path;
//! 3. no proof verifies for a value outside its range, and the provers
//!    refuse such values;
//! 4. a ballot is bound to its credential, contest and option order;
//! 5. batch and single verification agree on any mix of good and bad proofs;
//! 6. encodings are canonical and round-trip byte for byte.
//!
//! Proof randomness comes from a `ChaCha20Rng` seeded by proptest, so a
//! failing case replays exactly.

// Test code: a failed expectation should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fmt::Debug;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use curve25519_dalek::traits::MultiscalarMul;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use psephos_crypto::ballot::{
    claim_context, encrypt_ballot, encrypt_contest, prepare_ballot, verify_ballot, BallotContext,
    ClaimProof, Contest, ContestOption, EncryptedBallot, EncryptedContest, RANGE_PROOF_TAG,
    TOTAL_TAG,
};
use psephos_crypto::elgamal::{Ciphertext, PublicKey, SecretKey};
use psephos_crypto::encoding::{Point, Scalar};
use psephos_crypto::proofs::bulletproof::{AggregatedRangeProof, Claim, Opening};
use psephos_crypto::proofs::disjunctive::{DisjunctiveProof, RangeStatement};
use psephos_crypto::proofs::dleq::{DleqProof, DleqStatement};
use psephos_crypto::proofs::link::{LinkProof, LinkStatement};
use psephos_crypto::proofs::schnorr::SchnorrProof;
use psephos_crypto::proofs::{all_hold, generator_g, generator_h, BatchVerifier, Equation};
use psephos_crypto::threshold::{
    check_share, coefficient_equations, combine, decryption_equations, joint_key, verification_key,
    verify_decryption, DecryptionShare, KeyShare, Polynomial,
};
use psephos_crypto::{Error, Fingerprint};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Proofs are slow: few cases. Failures are not persisted to a regressions
/// file (the seed is printed instead).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn rng(seed: [u8; 32]) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(seed)
}

fn random32(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut out = [0u8; 32];
    rng.fill_bytes(&mut out);
    out
}

fn election(rng: &mut ChaCha20Rng) -> (PublicKey, Fingerprint) {
    let pk = SecretKey::random(rng).public_key();
    let fp = Fingerprint::election(&random32(rng), &pk.to_non_identity());
    (pk, fp)
}

fn mul_g(x: &DalekScalar) -> Point {
    Point::from_point(generator_g().point() * x)
}

fn plus_g(p: &Point) -> Point {
    *p + *generator_g()
}

fn plus_one(s: &Scalar) -> Scalar {
    Scalar::from_dalek(s.inner() + DalekScalar::ONE)
}

fn pk_plus_g(pk: &PublicKey) -> PublicKey {
    PublicKey::from_point(plus_g(pk.as_point()).non_identity("pk").unwrap())
}

fn flip_fp(fp: &Fingerprint) -> Fingerprint {
    let mut b = *fp.as_bytes();
    b[31] ^= 0x80;
    Fingerprint::from_bytes(b)
}

/// Two changes of a context: a bit flipped (or a byte added to an empty
/// one) and a byte appended.
fn context_mutants(context: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut flipped = context.to_vec();
    match flipped.first_mut() {
        Some(b) => *b ^= 1,
        None => flipped.push(0),
    }
    let mut longer = context.to_vec();
    longer.push(0);
    vec![
        ("context bit flipped".into(), flipped),
        ("context extended".into(), longer),
    ]
}

/// `v·G + s·H`.
fn pedersen(v: u64, s: &DalekScalar) -> Point {
    Point::from_point(RistrettoPoint::multiscalar_mul(
        [DalekScalar::from(v), *s],
        [*generator_g().point(), *generator_h().point()],
    ))
}

/// Encrypt `values`, returning the ciphertexts and the total randomness.
fn encrypt_all(
    pk: &PublicKey,
    values: &[u64],
    rng: &mut ChaCha20Rng,
) -> (Vec<Ciphertext>, DalekScalar) {
    let mut total = DalekScalar::ZERO;
    let cts = values
        .iter()
        .map(|&v| {
            let (ct, r) = pk.encrypt(v, rng);
            total += r.inner();
            ct
        })
        .collect();
    (cts, total)
}

/// Split `v` into `parts` non-negative summands.
fn split(v: u64, parts: usize, rng: &mut ChaCha20Rng) -> Vec<u64> {
    let mut out = Vec::with_capacity(parts);
    let mut rest = v;
    for _ in 1..parts {
        let x = match rest.checked_add(1) {
            Some(bound) => rng.next_u64() % bound,
            None => rng.next_u64(),
        };
        out.push(x);
        rest -= x;
    }
    out.push(rest);
    out
}

// --- single-element mutation through the JSON form -------------------------

/// Layout of `RangeProof::to_bytes`: points `A, S, T1, T2`, scalars `t_x,
/// t_x_blinding, e_blinding`, the inner-product `L, R` points, scalars `a, b`.
fn range_proof_element_is_scalar(len: usize, offset: usize) -> bool {
    (128..224).contains(&offset) || offset + 64 >= len
}

/// A range proof's hex with one 32-byte element changed (point + G, scalar + 1).
fn tamper_range_proof_hex(text: &str, offset: usize) -> String {
    let mut bytes = hex::decode(text).unwrap();
    let element: [u8; 32] = bytes[offset..offset + 32].try_into().unwrap();
    let changed = if range_proof_element_is_scalar(bytes.len(), offset) {
        plus_one(&Scalar::from_bytes("s", element).unwrap()).to_bytes()
    } else {
        *plus_g(&Point::from_bytes("p", element).unwrap()).as_bytes()
    };
    bytes[offset..offset + 32].copy_from_slice(&changed);
    hex::encode(bytes)
}

#[derive(Clone, Copy, Debug)]
enum Leaf {
    Point,
    Scalar,
    RangeProof(usize),
}

/// Every element of a serialized proof: a 64-hex-digit field whose name
/// starts with an uppercase letter is a point (`T`, `A`, `R`, `V`, `TR`...),
/// one with a lowercase name a scalar (`z`, `c`, `zv`...); a range proof
/// (field `range_proof`, or the whole value) is split into its 32-byte
/// elements.
fn collect_leaves(v: &Value, path: String, key: Option<&str>, out: &mut Vec<(String, Leaf)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                collect_leaves(x, format!("{path}/{k}"), Some(k), out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                collect_leaves(x, format!("{path}/{i}"), key, out);
            }
        }
        Value::String(s) => match key {
            None | Some("range_proof") if s.len() > 64 => {
                for offset in (0..s.len() / 2).step_by(32) {
                    out.push((path.clone(), Leaf::RangeProof(offset)));
                }
            }
            Some(k) if s.len() == 64 => {
                let leaf = if k.starts_with(|c: char| c.is_ascii_uppercase()) {
                    Leaf::Point
                } else {
                    Leaf::Scalar
                };
                out.push((path, leaf));
            }
            _ => {}
        },
        _ => {}
    }
}

/// Every single-element change of `value`'s serialized form.
fn json_mutants<T: Serialize + DeserializeOwned>(value: &T) -> Vec<(String, T)> {
    let root = serde_json::to_value(value).unwrap();
    let mut leaves = Vec::new();
    collect_leaves(&root, String::new(), None, &mut leaves);
    leaves
        .into_iter()
        .map(|(path, leaf)| {
            let mut v = root.clone();
            let slot = v.pointer_mut(&path).unwrap();
            let text = slot.as_str().unwrap().to_string();
            let changed = match leaf {
                Leaf::Point => plus_g(&Point::from_hex("p", &text).unwrap()).to_hex(),
                Leaf::Scalar => plus_one(&Scalar::from_hex("s", &text).unwrap()).to_hex(),
                Leaf::RangeProof(offset) => tamper_range_proof_hex(&text, offset),
            };
            *slot = Value::String(changed);
            let what = format!("{path} {leaf:?}");
            let parsed = serde_json::from_value(v)
                .unwrap_or_else(|e| panic!("mutant {what} does not parse: {e}"));
            (what, parsed)
        })
        .collect()
}

/// Check that the mutation walker found every element of a proof.
fn counted<T>(mutants: Vec<(String, T)>, expected: usize, what: &str) -> Vec<(String, T)> {
    assert_eq!(mutants.len(), expected, "mutants: {what}");
    mutants
}

/// The number of points and scalars in a ballot, counted from its type.
fn ballot_elements(ballot: &EncryptedBallot) -> usize {
    let claim = |p: &ClaimProof| match p {
        ClaimProof::Disjunctive(d) => 4 * d.branches.len(),
        ClaimProof::Linked { .. } => 1 + 6,
    };
    ballot
        .contests
        .iter()
        .map(|c| {
            2 * c.ciphertexts.len()
                + c.option_proofs.iter().map(claim).sum::<usize>()
                + claim(&c.total_proof)
                + c.range_proof
                    .as_ref()
                    .map_or(0, |p| p.to_bytes().len() / 32)
        })
        .sum()
}

// --- proof cases ------------------------------------------------------------

/// A statement with its proof, checked singly and on the batch path, and
/// every single-element change of it.
trait ProofCase: Clone + Debug {
    /// Single verification.
    fn verify(&self) -> bool;
    /// The batch path: the linear relations for a [`BatchVerifier`] (`Err`
    /// if they cannot even be formed) and whether a check that is not a
    /// linear relation (a Bulletproofs proof) failed.
    fn batch_path(&self) -> (Result<Vec<Equation>, Error>, bool);
    /// Every single-element change: commitments, challenges, responses,
    /// statement points, fingerprint, context.
    fn mutants(&self) -> Vec<(String, Self)>;
}

/// Push an item to a batch; relations that cannot be formed stand in as an
/// unsatisfiable one, as a verifier would count them.
fn push<T: Clone>(batch: &mut BatchVerifier<T>, tag: T, eqs: Result<Vec<Equation>, Error>) {
    let eqs = eqs.unwrap_or_else(|_| vec![Equation::new().g(DalekScalar::ONE)]);
    batch.push(tag, eqs);
}

/// What the batch path flags among `items` (tagged by position).
fn batch_flags<C: ProofCase>(items: &[&C]) -> BTreeSet<usize> {
    let mut batch = BatchVerifier::new();
    let mut flagged = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let (eqs, apart_failed) = item.batch_path();
        if apart_failed {
            flagged.insert(i);
        }
        push(&mut batch, i, eqs);
    }
    if let Err(tags) = batch.verify() {
        let n = tags.len();
        let tags: BTreeSet<usize> = tags.into_iter().collect();
        assert_eq!(n, tags.len(), "the batch reported a tag twice");
        flagged.extend(tags);
    }
    flagged
}

/// The honest case verifies; every mutant fails singly; in one batch with
/// the honest case, exactly the mutants are flagged.
fn check_every_mutant_fails<C: ProofCase>(case: &C) -> Result<(), TestCaseError> {
    prop_assert!(case.verify(), "the honest proof does not verify: {case:?}");
    let mutants = case.mutants();
    prop_assert!(!mutants.is_empty());
    for (what, m) in &mutants {
        prop_assert!(!m.verify(), "still verifies after: {what}");
    }
    let mut items = vec![case];
    items.extend(mutants.iter().map(|(_, m)| m));
    let flagged = batch_flags(&items);
    let expected: BTreeSet<usize> = (1..items.len()).collect();
    prop_assert_eq!(flagged, expected);
    Ok(())
}

#[allow(non_snake_case)]
#[derive(Clone, Debug)]
struct SchnorrCase {
    fp: Fingerprint,
    context: Vec<u8>,
    X: Point,
    proof: SchnorrProof,
}

impl SchnorrCase {
    fn new(rng: &mut ChaCha20Rng, fp: Fingerprint, context: Vec<u8>) -> Self {
        let x = DalekScalar::random(rng);
        let proof = SchnorrProof::prove(&fp, &context, &x, rng);
        SchnorrCase {
            fp,
            context,
            X: mul_g(&x),
            proof,
        }
    }
}

impl ProofCase for SchnorrCase {
    fn verify(&self) -> bool {
        self.proof.verify(&self.fp, &self.context, &self.X).is_ok()
    }
    fn batch_path(&self) -> (Result<Vec<Equation>, Error>, bool) {
        (
            Ok(self.proof.equations(&self.fp, &self.context, &self.X)),
            false,
        )
    }
    fn mutants(&self) -> Vec<(String, Self)> {
        let mut out: Vec<(String, Self)> = counted(json_mutants(&self.proof), 2, "T, z")
            .into_iter()
            .map(|(w, proof)| {
                (
                    w,
                    SchnorrCase {
                        proof,
                        ..self.clone()
                    },
                )
            })
            .collect();
        out.push((
            "X + G".into(),
            SchnorrCase {
                X: plus_g(&self.X),
                ..self.clone()
            },
        ));
        out.push((
            "fingerprint".into(),
            SchnorrCase {
                fp: flip_fp(&self.fp),
                ..self.clone()
            },
        ));
        for (w, context) in context_mutants(&self.context) {
            out.push((
                w,
                SchnorrCase {
                    context,
                    ..self.clone()
                },
            ));
        }
        out
    }
}

#[allow(non_snake_case)]
#[derive(Clone, Debug)]
struct DleqCase {
    fp: Fingerprint,
    context: Vec<u8>,
    X: Point,
    B: Point,
    D: Point,
    proof: DleqProof,
}

impl DleqCase {
    #[allow(non_snake_case)]
    fn new(rng: &mut ChaCha20Rng, fp: Fingerprint, context: Vec<u8>) -> Self {
        let x = DalekScalar::random(rng);
        let B = mul_g(&DalekScalar::random(rng));
        let X = mul_g(&x);
        let D = Point::from_point(x * B.point());
        let st = DleqStatement {
            context: &context,
            X: &X,
            B: &B,
            D: &D,
        };
        let proof = DleqProof::prove(&fp, &st, &x, rng);
        DleqCase {
            fp,
            context,
            X,
            B,
            D,
            proof,
        }
    }
    fn statement(&self) -> DleqStatement<'_> {
        DleqStatement {
            context: &self.context,
            X: &self.X,
            B: &self.B,
            D: &self.D,
        }
    }
}

impl ProofCase for DleqCase {
    fn verify(&self) -> bool {
        self.proof.verify(&self.fp, &self.statement()).is_ok()
    }
    fn batch_path(&self) -> (Result<Vec<Equation>, Error>, bool) {
        (Ok(self.proof.equations(&self.fp, &self.statement())), false)
    }
    fn mutants(&self) -> Vec<(String, Self)> {
        let mut out: Vec<(String, Self)> = counted(json_mutants(&self.proof), 3, "T1, T2, z")
            .into_iter()
            .map(|(w, proof)| {
                (
                    w,
                    DleqCase {
                        proof,
                        ..self.clone()
                    },
                )
            })
            .collect();
        let s = self.clone();
        out.push((
            "X + G".into(),
            DleqCase {
                X: plus_g(&s.X),
                ..s.clone()
            },
        ));
        out.push((
            "B + G".into(),
            DleqCase {
                B: plus_g(&s.B),
                ..s.clone()
            },
        ));
        out.push((
            "D + G".into(),
            DleqCase {
                D: plus_g(&s.D),
                ..s.clone()
            },
        ));
        out.push((
            "fingerprint".into(),
            DleqCase {
                fp: flip_fp(&s.fp),
                ..s.clone()
            },
        ));
        for (w, context) in context_mutants(&s.context) {
            out.push((
                w,
                DleqCase {
                    context,
                    ..s.clone()
                },
            ));
        }
        out
    }
}

#[derive(Clone, Debug)]
struct DisjunctiveCase {
    fp: Fingerprint,
    context: Vec<u8>,
    pk: PublicKey,
    cts: Vec<Ciphertext>,
    min: u64,
    max: u64,
    proof: DisjunctiveProof,
}

impl DisjunctiveCase {
    /// An honest proof that the sum of `parts` ciphertexts lies in `[min, max]`.
    fn new(
        rng: &mut ChaCha20Rng,
        fp: Fingerprint,
        pk: PublicKey,
        context: Vec<u8>,
        (min, max, v): (u64, u64, u64),
        parts: usize,
    ) -> Self {
        let values = split(v, parts, rng);
        let (cts, r) = encrypt_all(&pk, &values, rng);
        let st = RangeStatement {
            context: &context,
            pk: &pk,
            ciphertexts: &cts,
            min,
            max,
        };
        let proof = DisjunctiveProof::prove(&fp, &st, v, &r, rng).unwrap();
        DisjunctiveCase {
            fp,
            context,
            pk,
            cts,
            min,
            max,
            proof,
        }
    }
    fn statement(&self) -> RangeStatement<'_> {
        RangeStatement {
            context: &self.context,
            pk: &self.pk,
            ciphertexts: &self.cts,
            min: self.min,
            max: self.max,
        }
    }
}

impl ProofCase for DisjunctiveCase {
    fn verify(&self) -> bool {
        self.proof.verify(&self.fp, &self.statement()).is_ok()
    }
    fn batch_path(&self) -> (Result<Vec<Equation>, Error>, bool) {
        (self.proof.equations(&self.fp, &self.statement()), false)
    }
    fn mutants(&self) -> Vec<(String, Self)> {
        let s = self.clone();
        let mut out: Vec<(String, Self)> = counted(
            json_mutants(&s.proof),
            4 * s.proof.branches.len(),
            "A, B, c, z per branch",
        )
        .into_iter()
        .map(|(w, proof)| (w, DisjunctiveCase { proof, ..s.clone() }))
        .collect();
        for i in 0..s.cts.len() {
            let mut m = s.clone();
            m.cts[i].R = plus_g(&m.cts[i].R);
            out.push((format!("ciphertext {i}: R + G"), m));
            let mut m = s.clone();
            m.cts[i].C = plus_g(&m.cts[i].C);
            out.push((format!("ciphertext {i}: C + G"), m));
        }
        if s.cts.len() > 1 {
            let mut m = s.clone();
            m.cts.pop();
            out.push(("a ciphertext dropped from the sum".into(), m));
        }
        if s.proof.branches.len() > 1 {
            let mut m = s.clone();
            m.proof.branches.swap(0, 1);
            out.push(("branches 0 and 1 swapped".into(), m));
            // Move challenge weight between two branches: the sum still matches.
            let mut m = s.clone();
            m.proof.branches[0].c = plus_one(&m.proof.branches[0].c);
            m.proof.branches[1].c =
                Scalar::from_dalek(m.proof.branches[1].c.inner() - DalekScalar::ONE);
            out.push(("challenges rebalanced".into(), m));
        }
        if s.max < u64::MAX {
            out.push((
                "range shifted up".into(),
                DisjunctiveCase {
                    min: s.min + 1,
                    max: s.max + 1,
                    ..s.clone()
                },
            ));
        }
        if s.min > 0 {
            out.push((
                "range shifted down".into(),
                DisjunctiveCase {
                    min: s.min - 1,
                    max: s.max - 1,
                    ..s.clone()
                },
            ));
        }
        out.push((
            "PK + G".into(),
            DisjunctiveCase {
                pk: pk_plus_g(&s.pk),
                ..s.clone()
            },
        ));
        out.push((
            "fingerprint".into(),
            DisjunctiveCase {
                fp: flip_fp(&s.fp),
                ..s.clone()
            },
        ));
        for (w, context) in context_mutants(&s.context) {
            out.push((
                w,
                DisjunctiveCase {
                    context,
                    ..s.clone()
                },
            ));
        }
        out
    }
}

#[allow(non_snake_case)]
#[derive(Clone, Debug)]
struct LinkCase {
    fp: Fingerprint,
    context: Vec<u8>,
    pk: PublicKey,
    cts: Vec<Ciphertext>,
    V: Point,
    proof: LinkProof,
}

impl LinkCase {
    #[allow(non_snake_case)]
    fn new(
        rng: &mut ChaCha20Rng,
        fp: Fingerprint,
        pk: PublicKey,
        context: Vec<u8>,
        v: u64,
        parts: usize,
    ) -> Self {
        let values = split(v, parts, rng);
        let (cts, r) = encrypt_all(&pk, &values, rng);
        let s = DalekScalar::random(rng);
        let V = pedersen(v, &s);
        let st = LinkStatement {
            context: &context,
            pk: &pk,
            ciphertexts: &cts,
            V: &V,
        };
        let proof = LinkProof::prove(&fp, &st, v, &r, &s, rng);
        LinkCase {
            fp,
            context,
            pk,
            cts,
            V,
            proof,
        }
    }
    fn statement(&self) -> LinkStatement<'_> {
        LinkStatement {
            context: &self.context,
            pk: &self.pk,
            ciphertexts: &self.cts,
            V: &self.V,
        }
    }
}

impl ProofCase for LinkCase {
    fn verify(&self) -> bool {
        self.proof.verify(&self.fp, &self.statement()).is_ok()
    }
    fn batch_path(&self) -> (Result<Vec<Equation>, Error>, bool) {
        (Ok(self.proof.equations(&self.fp, &self.statement())), false)
    }
    fn mutants(&self) -> Vec<(String, Self)> {
        let s = self.clone();
        let mut out: Vec<(String, Self)> =
            counted(json_mutants(&s.proof), 6, "TR, TC, TV, zv, zr, zs")
                .into_iter()
                .map(|(w, proof)| (w, LinkCase { proof, ..s.clone() }))
                .collect();
        for i in 0..s.cts.len() {
            let mut m = s.clone();
            m.cts[i].R = plus_g(&m.cts[i].R);
            out.push((format!("ciphertext {i}: R + G"), m));
            let mut m = s.clone();
            m.cts[i].C = plus_g(&m.cts[i].C);
            out.push((format!("ciphertext {i}: C + G"), m));
        }
        out.push((
            "V + G".into(),
            LinkCase {
                V: plus_g(&s.V),
                ..s.clone()
            },
        ));
        out.push((
            "V + H".into(),
            LinkCase {
                V: s.V + *generator_h(),
                ..s.clone()
            },
        ));
        out.push((
            "PK + G".into(),
            LinkCase {
                pk: pk_plus_g(&s.pk),
                ..s.clone()
            },
        ));
        out.push((
            "fingerprint".into(),
            LinkCase {
                fp: flip_fp(&s.fp),
                ..s.clone()
            },
        ));
        for (w, context) in context_mutants(&s.context) {
            out.push((
                w,
                LinkCase {
                    context,
                    ..s.clone()
                },
            ));
        }
        out
    }
}

#[derive(Clone, Debug)]
struct RangeCase {
    fp: Fingerprint,
    context: Vec<u8>,
    claims: Vec<Claim>,
    proof: AggregatedRangeProof,
}

impl RangeCase {
    /// An honest proof for claims `(min, max, v)`.
    fn new(
        rng: &mut ChaCha20Rng,
        fp: Fingerprint,
        context: Vec<u8>,
        claims: &[(u64, u64, u64)],
    ) -> Self {
        let mut cs = Vec::new();
        let mut os = Vec::new();
        for &(min, max, value) in claims {
            let s = DalekScalar::random(rng);
            cs.push(Claim {
                V: pedersen(value, &s),
                min,
                max,
            });
            os.push(Opening { value, blinding: s });
        }
        let proof = AggregatedRangeProof::prove(&fp, &context, &cs, &os, rng).unwrap();
        RangeCase {
            fp,
            context,
            claims: cs,
            proof,
        }
    }
}

impl ProofCase for RangeCase {
    fn verify(&self) -> bool {
        self.proof
            .verify(&self.fp, &self.context, &self.claims)
            .is_ok()
    }
    fn batch_path(&self) -> (Result<Vec<Equation>, Error>, bool) {
        (Ok(Vec::new()), !self.verify())
    }
    fn mutants(&self) -> Vec<(String, Self)> {
        let s = self.clone();
        let mut out: Vec<(String, Self)> = counted(
            json_mutants(&s.proof),
            s.proof.to_bytes().len() / 32,
            "every 32-byte element",
        )
        .into_iter()
        .map(|(w, proof)| (w, RangeCase { proof, ..s.clone() }))
        .collect();
        for i in 0..s.claims.len() {
            let mut m = s.clone();
            m.claims[i].V = plus_g(&m.claims[i].V);
            out.push((format!("claim {i}: V + G"), m));
            if s.claims[i].max < u64::MAX {
                let mut m = s.clone();
                m.claims[i].max += 1;
                out.push((format!("claim {i}: max + 1"), m));
            }
            if s.claims[i].min > 0 {
                let mut m = s.clone();
                m.claims[i].min -= 1;
                out.push((format!("claim {i}: min - 1"), m));
            }
            if s.claims[i].min < s.claims[i].max {
                let mut m = s.clone();
                m.claims[i].min += 1;
                out.push((format!("claim {i}: min + 1"), m));
            }
        }
        if s.claims.len() > 1 {
            let mut m = s.clone();
            m.claims.swap(0, 1);
            out.push(("claims 0 and 1 swapped".into(), m));
            let mut m = s.clone();
            m.claims.pop();
            out.push(("last claim dropped".into(), m));
        }
        out.push((
            "fingerprint".into(),
            RangeCase {
                fp: flip_fp(&s.fp),
                ..s.clone()
            },
        ));
        for (w, context) in context_mutants(&s.context) {
            out.push((
                w,
                RangeCase {
                    context,
                    ..s.clone()
                },
            ));
        }
        out
    }
}

#[derive(Clone, Debug)]
struct BallotCase {
    fp: Fingerprint,
    pk: PublicKey,
    credential: [u8; 32],
    contests: Vec<Contest>,
    ballot: EncryptedBallot,
}

impl BallotCase {
    fn new(
        rng: &mut ChaCha20Rng,
        fp: Fingerprint,
        pk: PublicKey,
        contests: Vec<Contest>,
        choices: &[Vec<u64>],
    ) -> Self {
        let credential = random32(rng);
        let ctx = BallotContext {
            fingerprint: &fp,
            pk: &pk,
            credential: &credential,
        };
        let (ballot, _) = encrypt_ballot(&ctx, &contests, choices, rng).unwrap();
        BallotCase {
            fp,
            pk,
            credential,
            contests,
            ballot,
        }
    }
    fn ctx(&self) -> BallotContext<'_> {
        BallotContext {
            fingerprint: &self.fp,
            pk: &self.pk,
            credential: &self.credential,
        }
    }
}

impl ProofCase for BallotCase {
    fn verify(&self) -> bool {
        verify_ballot(&self.ctx(), &self.contests, &self.ballot).is_ok()
    }
    fn batch_path(&self) -> (Result<Vec<Equation>, Error>, bool) {
        match prepare_ballot(&self.ctx(), &self.contests, &self.ballot) {
            Ok(p) => {
                let range_failed = p.range_proofs.iter().any(|rp| rp.verify(&self.fp).is_err());
                (Ok(p.equations), range_failed)
            }
            Err(e) => (Err(e), false),
        }
    }
    fn mutants(&self) -> Vec<(String, Self)> {
        let s = self.clone();
        let mut out: Vec<(String, Self)> = counted(
            json_mutants(&s.ballot),
            ballot_elements(&s.ballot),
            "every point and scalar",
        )
        .into_iter()
        .map(|(w, ballot)| {
            (
                w,
                BallotCase {
                    ballot,
                    ..s.clone()
                },
            )
        })
        .collect();
        let mut other = s.credential;
        other[0] ^= 1;
        out.push((
            "credential".into(),
            BallotCase {
                credential: other,
                ..s.clone()
            },
        ));
        out.push((
            "fingerprint".into(),
            BallotCase {
                fp: flip_fp(&s.fp),
                ..s.clone()
            },
        ));
        out.push((
            "PK + G".into(),
            BallotCase {
                pk: pk_plus_g(&s.pk),
                ..s.clone()
            },
        ));
        for (i, enc) in s.ballot.contests.iter().enumerate() {
            let mut m = s.clone();
            let renamed = format!("{}x", enc.contest);
            m.contests[i].id.clone_from(&renamed);
            m.ballot.contests[i].contest = renamed;
            out.push((format!("contest {i} renamed"), m));
            if enc.ciphertexts.len() > 1 {
                let mut m = s.clone();
                m.ballot.contests[i].ciphertexts.swap(0, 1);
                m.ballot.contests[i].option_proofs.swap(0, 1);
                out.push((format!("contest {i}: options 0 and 1 swapped"), m));
            }
            if enc.range_proof.is_some() {
                let mut m = s.clone();
                m.ballot.contests[i].range_proof = None;
                out.push((format!("contest {i}: range proof removed"), m));
            }
        }
        out
    }
}

#[allow(non_snake_case)]
#[derive(Clone, Debug)]
struct DecryptionCase {
    fp: Fingerprint,
    trustee: u32,
    X: Point,
    cts: Vec<Ciphertext>,
    shares: Vec<DecryptionShare>,
}

impl ProofCase for DecryptionCase {
    fn verify(&self) -> bool {
        verify_decryption(&self.fp, self.trustee, &self.X, &self.cts, &self.shares).is_ok()
    }
    fn batch_path(&self) -> (Result<Vec<Equation>, Error>, bool) {
        (
            decryption_equations(&self.fp, self.trustee, &self.X, &self.cts, &self.shares),
            false,
        )
    }
    fn mutants(&self) -> Vec<(String, Self)> {
        let s = self.clone();
        let mut out: Vec<(String, Self)> = counted(
            json_mutants(&s.shares),
            4 * s.shares.len(),
            "D, T1, T2, z per share",
        )
        .into_iter()
        .map(|(w, shares)| {
            (
                w,
                DecryptionCase {
                    shares,
                    ..s.clone()
                },
            )
        })
        .collect();
        // C is not part of a partial decryption's statement (D = x·R).
        for i in 0..s.cts.len() {
            let mut m = s.clone();
            m.cts[i].R = plus_g(&m.cts[i].R);
            out.push((format!("ciphertext {i}: R + G"), m));
        }
        if s.cts.len() > 1 {
            let mut m = s.clone();
            m.shares.swap(0, 1);
            out.push(("shares of ciphertexts 0 and 1 swapped".into(), m));
        }
        out.push((
            "X + G".into(),
            DecryptionCase {
                X: plus_g(&s.X),
                ..s.clone()
            },
        ));
        out.push((
            "trustee index + 1".into(),
            DecryptionCase {
                trustee: s.trustee + 1,
                ..s.clone()
            },
        ));
        out.push((
            "fingerprint".into(),
            DecryptionCase {
                fp: flip_fp(&s.fp),
                ..s.clone()
            },
        ));
        out
    }
}

// --- strategies ---------------------------------------------------------------

fn seed() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

fn fingerprint() -> impl Strategy<Value = Fingerprint> {
    any::<[u8; 32]>().prop_map(Fingerprint::from_bytes)
}

fn context() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..40)
}

/// `[min, max]` with `max − min < 8` and `v` in it; `min` is small or
/// anywhere in `u64`.
fn small_range() -> impl Strategy<Value = (u64, u64, u64)> {
    (prop_oneof![0u64..100, any::<u64>()], 0u64..8, any::<u64>()).prop_map(|(min, width, pick)| {
        let min = min.min(u64::MAX - width);
        (min, min + width, min + pick % (width + 1))
    })
}

/// A range claim `(min, max, v)` of any width (so every bit size occurs).
fn wide_claim() -> impl Strategy<Value = (u64, u64, u64)> {
    (
        prop_oneof![0u64..1000, any::<u64>()],
        prop_oneof![0u64..300, 0u64..70_000, any::<u64>()],
        any::<u64>(),
    )
        .prop_map(|(min, width, pick)| {
            let min = min.min(u64::MAX - width);
            let v = match width.checked_add(1) {
                Some(w) => min + pick % w,
                None => pick,
            };
            (min, min + width, v)
        })
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

/// Spread `total` over `n` options, at most `per` each.
fn distribute(total: u64, n: usize, per: u64, seed: u64) -> Vec<u64> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut values = vec![0u64; n];
    let mut rest = total;
    while rest > 0 {
        let i = (rng.next_u64() % n as u64) as usize;
        if values[i] < per {
            values[i] += 1;
            rest -= 1;
        }
    }
    values
}

/// A random valid contest (1–6 options, `max_per_option` 1–12, valid
/// `min ≤ max ≤ options × max_per_option`) and a random valid choice. The
/// id is set by the caller.
fn contest_and_choice() -> impl Strategy<Value = (Contest, Vec<u64>)> {
    (
        1usize..=6,
        1u64..=12,
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(n, per, a, b, c, fill)| {
            let most = per * n as u64;
            let max = a % (most + 1);
            let min = b % (max + 1);
            let total = min + c % (max - min + 1);
            (
                contest("c", n, min, max, per),
                distribute(total, n, per, fill),
            )
        })
}

/// 1–2 contests with distinct ids.
/// Contests and a choice for each.
type Manifest = (Vec<Contest>, Vec<Vec<u64>>);

fn manifest() -> impl Strategy<Value = Manifest> {
    proptest::collection::vec(contest_and_choice(), 1..=2).prop_map(|items| {
        items
            .into_iter()
            .enumerate()
            .map(|(i, (mut c, v))| {
                c.id = format!("contest-{i}");
                for (j, o) in c.options.iter_mut().enumerate() {
                    o.id = format!("contest-{i}-o{j}");
                }
                (c, v)
            })
            .unzip()
    })
}

/// A small contest where every claim gets a disjunctive proof (no range proof).
fn small_manifest() -> impl Strategy<Value = Manifest> {
    (1usize..=4, any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(n, a, b, fill)| {
        let max = a % (n as u64 + 1);
        let total = b % (max + 1);
        (
            vec![contest("small", n, 0, max, 1)],
            vec![distribute(total, n, 1, fill)],
        )
    })
}

// ---------------------------------------------------------------------------
// 1 & 2: honest proofs verify; any single change is caught
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn schnorr_honest_proof_verifies_and_every_single_change_fails(
        seed in seed(), fp in fingerprint(), ctx in context(),
    ) {
        let case = SchnorrCase::new(&mut rng(seed), fp, ctx);
        check_every_mutant_fails(&case)?;
    }

    #[test]
    fn dleq_honest_proof_verifies_and_every_single_change_fails(
        seed in seed(), fp in fingerprint(), ctx in context(),
    ) {
        let case = DleqCase::new(&mut rng(seed), fp, ctx);
        check_every_mutant_fails(&case)?;
    }

    #[test]
    fn disjunctive_honest_proof_verifies_and_every_single_change_fails(
        seed in seed(), ctx in context(), range in small_range(), parts in 1usize..=3,
    ) {
        let mut rng = rng(seed);
        let (pk, fp) = election(&mut rng);
        let case = DisjunctiveCase::new(&mut rng, fp, pk, ctx, range, parts);
        prop_assert_eq!(case.proof.branches.len() as u64, range.1 - range.0 + 1);
        check_every_mutant_fails(&case)?;
    }

    #[test]
    fn link_honest_proof_verifies_and_every_single_change_fails(
        seed in seed(), ctx in context(), v in prop_oneof![0u64..100, any::<u64>()],
        parts in 1usize..=3,
    ) {
        let mut rng = rng(seed);
        let (pk, fp) = election(&mut rng);
        let case = LinkCase::new(&mut rng, fp, pk, ctx, v, parts);
        check_every_mutant_fails(&case)?;
    }

    #[test]
    fn threshold_decryption_shares_verify_and_every_single_change_fails(
        seed in seed(), values in proptest::collection::vec(0u64..1000, 1..=3),
    ) {
        let mut rng = rng(seed);
        let fp = Fingerprint::from_bytes(random32(&mut rng));
        let share = KeyShare::from_scalar(2, Scalar::from_dalek(DalekScalar::random(&mut rng)));
        let pk = SecretKey::random(&mut rng).public_key();
        let (cts, _) = encrypt_all(&pk, &values, &mut rng);
        let case = DecryptionCase {
            fp,
            trustee: 2,
            X: share.verification_key(),
            shares: share.decrypt(&fp, &cts, &mut rng),
            cts,
        };
        check_every_mutant_fails(&case)?;
    }
}

// Every mutant of a range proof or ballot runs the Bulletproofs verifier
// twice (singly and on the batch path): the slowest tests, so fewer cases.
proptest! {
    #![proptest_config(config(12))]

    #[test]
    fn aggregated_range_proof_verifies_and_every_single_change_fails(
        seed in seed(), fp in fingerprint(), ctx in context(),
        claims in proptest::collection::vec(wide_claim(), 1..=4),
    ) {
        let case = RangeCase::new(&mut rng(seed), fp, ctx, &claims);
        check_every_mutant_fails(&case)?;
    }

    #[test]
    fn ballot_for_a_random_contest_verifies_and_every_single_change_fails(
        seed in seed(), (contests, choices) in manifest(),
    ) {
        let mut rng = rng(seed);
        let (pk, fp) = election(&mut rng);
        let case = BallotCase::new(&mut rng, fp, pk, contests, &choices);
        check_every_mutant_fails(&case)?;
    }

}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn any_t_of_n_trustees_decrypt_and_fewer_do_not(
        seed in seed(),
        (n, t, order) in (1u32..=5)
            .prop_flat_map(|n| (Just(n), 1..=n))
            .prop_flat_map(|(n, t)| {
                let order: Vec<u32> = (1..=n).collect();
                (Just(n), Just(t), Just(order).prop_shuffle())
            }),
        values in proptest::collection::vec(0u64..1000, 1..=3),
    ) {
        let mut rng = rng(seed);
        let manifest_hash = random32(&mut rng);
        let ceremony_fp = Fingerprint::ceremony(&manifest_hash);
        let polys: Vec<Polynomial> =
            (0..n).map(|_| Polynomial::random(t, &mut rng).unwrap()).collect();
        let commitments: Vec<Vec<Point>> = polys.iter().map(Polynomial::commitments).collect();
        for (i, (p, a)) in (1u32..).zip(polys.iter().zip(&commitments)) {
            let proofs = p.prove_coefficients(&ceremony_fp, i, &mut rng);
            let eqs = coefficient_equations(&ceremony_fp, i, t, a, &proofs).unwrap();
            prop_assert!(all_hold(&eqs), "coefficient proofs of dealer {}", i);
        }
        let refs: Vec<&[Point]> = commitments.iter().map(Vec::as_slice).collect();
        let pk = joint_key(&refs).unwrap();
        let fp = Fingerprint::election(&manifest_hash, &pk.to_non_identity());
        let mut key_shares = Vec::new();
        for l in 1..=n {
            let received: Vec<Scalar> = polys.iter().map(|p| p.evaluate(l)).collect();
            for (s, a) in received.iter().zip(&commitments) {
                prop_assert!(check_share(s, l, a));
            }
            let ks = KeyShare::combine_shares(l, &received);
            prop_assert_eq!(ks.verification_key(), *verification_key(l, &refs).unwrap().as_point());
            key_shares.push(ks);
        }
        let (cts, _) = encrypt_all(&pk, &values, &mut rng);
        let subset = &order[..t as usize];
        let mut partials: Vec<Vec<(u32, Point)>> = vec![Vec::new(); cts.len()];
        for &l in subset {
            let ks = &key_shares[l as usize - 1];
            let shares = ks.decrypt(&fp, &cts, &mut rng);
            prop_assert!(verify_decryption(&fp, l, &ks.verification_key(), &cts, &shares).is_ok());
            for (k, s) in shares.iter().enumerate() {
                partials[k].push((l, s.D));
            }
        }
        for (k, ct) in cts.iter().enumerate() {
            let expected = *mul_g(&DalekScalar::from(values[k])).point();
            prop_assert_eq!(combine(ct, &partials[k]).unwrap(), expected);
            if t > 1 {
                // t − 1 shares say nothing about the plaintext.
                let fewer = &partials[k][..t as usize - 1];
                prop_assert_ne!(combine(ct, fewer).unwrap(), expected);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 3: nothing verifies for a value outside its range
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn disjunctive_proof_for_an_out_of_range_value_is_refused_or_fails(
        seed in seed(), ctx in context(), min in 0u64..1000, width in 0u64..8,
        distance in 1u64..1000, below in any::<bool>(), pick in any::<u64>(),
    ) {
        let max = min + width;
        let below = below && min > 0;
        let v = if below { min - 1 - (distance - 1) % min } else { max + distance };
        let mut rng = rng(seed);
        let (pk, fp) = election(&mut rng);
        let (ct, r) = pk.encrypt(v, &mut rng);
        let cts = [ct];
        let st = RangeStatement { context: &ctx, pk: &pk, ciphertexts: &cts, min, max };
        let refused = DisjunctiveProof::prove(&fp, &st, v, r.inner(), &mut rng);
        prop_assert_eq!(refused, Err(Error::OutOfRange { value: v, min, max }));
        // A prover that lies about the value (claims one inside the range).
        let claimed = min + pick % (width + 1);
        let forged = DisjunctiveProof::prove(&fp, &st, claimed, r.inner(), &mut rng).unwrap();
        prop_assert!(forged.verify(&fp, &st).is_err());
        let cts = cts.to_vec();
        let case = DisjunctiveCase { fp, context: ctx, pk, cts, min, max, proof: forged };
        prop_assert_eq!(batch_flags(&[&case]), BTreeSet::from([0]));
    }

    #[test]
    fn link_proof_between_different_values_fails(
        seed in seed(), ctx in context(), v in any::<u64>(), delta in 1u64..1000,
    ) {
        let mut rng = rng(seed);
        let (pk, fp) = election(&mut rng);
        let (ct, r) = pk.encrypt(v, &mut rng);
        let cts = [ct];
        let s = DalekScalar::random(&mut rng);
        let other = pedersen(v.wrapping_add(delta), &s);
        let st = LinkStatement { context: &ctx, pk: &pk, ciphertexts: &cts, V: &other };
        let forged = LinkProof::prove(&fp, &st, v, r.inner(), &s, &mut rng);
        prop_assert!(forged.verify(&fp, &st).is_err());
        let forged2 = LinkProof::prove(&fp, &st, v.wrapping_add(delta), r.inner(), &s, &mut rng);
        prop_assert!(forged2.verify(&fp, &st).is_err());
    }
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn range_proof_for_an_out_of_range_commitment_is_refused_or_fails(
        seed in seed(), ctx in context(),
        honest in proptest::collection::vec(wide_claim(), 0..=3),
        min in prop_oneof![0u64..1000, 0u64..(u64::MAX / 2)],
        width in prop_oneof![0u64..300, 0u64..(u64::MAX / 4)],
        distance in prop_oneof![1u64..10, 1u64..(u64::MAX / 4)],
        below in any::<bool>(), position in any::<prop::sample::Index>(), pick in any::<u64>(),
    ) {
        let max = min + width;
        let below = below && min > 0;
        let v = if below { min - 1 - (distance - 1) % min } else { max + distance };
        let mut rng = rng(seed);
        let fp = Fingerprint::from_bytes(random32(&mut rng));
        let mut claims = Vec::new();
        let mut openings = Vec::new();
        for (a, b, value) in honest {
            let s = DalekScalar::random(&mut rng);
            claims.push(Claim { V: pedersen(value, &s), min: a, max: b });
            openings.push(Opening { value, blinding: s });
        }
        let s = DalekScalar::random(&mut rng);
        let at = position.index(claims.len() + 1);
        claims.insert(at, Claim { V: pedersen(v, &s), min, max });
        openings.insert(at, Opening { value: v, blinding: s });
        let refused = AggregatedRangeProof::prove(&fp, &ctx, &claims, &openings, &mut rng);
        prop_assert_eq!(refused.err(), Some(Error::OutOfRange { value: v, min, max }));
        // Lie: hand the prover an in-range opening for the out-of-range commitment.
        openings[at].value = min + pick % (width + 1);
        let forged = AggregatedRangeProof::prove(&fp, &ctx, &claims, &openings, &mut rng).unwrap();
        prop_assert!(forged.verify(&fp, &ctx, &claims).is_err());
    }

    #[test]
    fn ballot_with_an_out_of_range_option_is_refused_or_fails(
        seed in seed(), n in 2usize..=5, per in 1u64..=12, option in any::<prop::sample::Index>(),
        excess in 1u64..4,
    ) {
        let mut rng = rng(seed);
        let (pk, fp) = election(&mut rng);
        let credential = random32(&mut rng);
        let ctx = BallotContext { fingerprint: &fp, pk: &pk, credential: &credential };
        let c = contest("forged", n, 0, per * n as u64, per);
        // Keep the total in range: only option i lies.
        let excess = excess.min(per);
        let i = option.index(n);
        let mut values = vec![0u64; n];
        values[i] = per + excess;
        // The client refuses the choice...
        prop_assert!(encrypt_contest(&ctx, &c, &values, &mut rng).is_err());
        // ...and a ballot assembled by hand with the same public pieces
        // verifies when honest but not when option i lies about its value.
        let mut honest_values = values.clone();
        honest_values[i] = per;
        let honest = hand_made_contest(&ctx, &c, &honest_values, &honest_values, &mut rng);
        let honest_ballot = EncryptedBallot { contests: vec![honest] };
        prop_assert!(verify_ballot(&ctx, std::slice::from_ref(&c), &honest_ballot).is_ok());
        let forged = hand_made_contest(&ctx, &c, &values, &honest_values, &mut rng);
        let ballot = EncryptedBallot { contests: vec![forged] };
        prop_assert!(verify_ballot(&ctx, &[c], &ballot).is_err());
    }
}

/// Build a contest the way `ballot::encrypt_contest` does (SPEC.md §6), but
/// from public pieces only, encrypting `values` and proving `claimed` (a
/// lying prover when they differ). The total is proved honestly.
fn hand_made_contest(
    ctx: &BallotContext<'_>,
    contest: &Contest,
    values: &[u64],
    claimed: &[u64],
    rng: &mut ChaCha20Rng,
) -> EncryptedContest {
    let mut cts = Vec::new();
    let mut rs = Vec::new();
    for &v in values {
        let (ct, r) = ctx.pk.encrypt(v, rng);
        cts.push(ct);
        rs.push(*r.inner());
    }
    let mut bp_claims = Vec::new();
    let mut bp_openings = Vec::new();
    let mut prove = |cts: &[Ciphertext],
                     (min, max): (u64, u64),
                     v: u64,
                     claim: u64,
                     r: DalekScalar,
                     tag: u64| {
        let context = claim_context(ctx.credential, &contest.id, tag);
        if max - min < 8 {
            let st = RangeStatement {
                context: &context,
                pk: ctx.pk,
                ciphertexts: cts,
                min,
                max,
            };
            ClaimProof::Disjunctive(
                DisjunctiveProof::prove(ctx.fingerprint, &st, claim, &r, rng).unwrap(),
            )
        } else {
            // V holds the true value and the link is honest; the range
            // proof gets the claimed value as its opening.
            let s = DalekScalar::random(rng);
            let big_v = pedersen(v, &s);
            let st = LinkStatement {
                context: &context,
                pk: ctx.pk,
                ciphertexts: cts,
                V: &big_v,
            };
            let link = LinkProof::prove(ctx.fingerprint, &st, v, &r, &s, rng);
            bp_claims.push(Claim { V: big_v, min, max });
            bp_openings.push(Opening {
                value: claim,
                blinding: s,
            });
            ClaimProof::Linked {
                V: big_v,
                link: Box::new(link),
            }
        }
    };
    let range = (0, contest.max_per_option);
    let option_proofs: Vec<ClaimProof> = (0..values.len())
        .map(|i| prove(&cts[i..=i], range, values[i], claimed[i], rs[i], i as u64))
        .collect();
    let total: u64 = values.iter().sum();
    let r_total = rs.iter().sum();
    let total_proof = prove(
        &cts,
        (contest.min_selections, contest.max_selections),
        total,
        total,
        r_total,
        TOTAL_TAG,
    );
    let range_proof = if bp_claims.is_empty() {
        None
    } else {
        let context = claim_context(ctx.credential, &contest.id, RANGE_PROOF_TAG);
        Some(
            AggregatedRangeProof::prove(ctx.fingerprint, &context, &bp_claims, &bp_openings, rng)
                .unwrap(),
        )
    };
    EncryptedContest {
        contest: contest.id.clone(),
        ciphertexts: cts,
        option_proofs,
        total_proof,
        range_proof,
    }
}

// ---------------------------------------------------------------------------
// 4: a ballot is bound to its credential, contest and option order
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn ballot_made_for_one_credential_fails_for_another_contest_id_or_option_order(
        seed in seed(), (contests, choices) in manifest(), other in any::<[u8; 32]>(),
        pick in any::<prop::sample::Index>(),
    ) {
        let mut rng = rng(seed);
        let (pk, fp) = election(&mut rng);
        let case = BallotCase::new(&mut rng, fp, pk, contests, &choices);
        prop_assert!(case.verify());
        prop_assume!(other != case.credential);
        let thief = BallotCase { credential: other, ..case.clone() };
        prop_assert!(!thief.verify(), "verifies for another credential");
        // Every claim of the ballot is bound: copying one contest into
        // another voter's ballot does not verify either.
        for i in 0..case.contests.len() {
            let ctx = thief.ctx();
            let single = EncryptedBallot { contests: vec![case.ballot.contests[i].clone()] };
            prop_assert!(verify_ballot(&ctx, &case.contests[i..=i], &single).is_err());
        }
        let i = pick.index(case.contests.len());
        let mut renamed = case.clone();
        renamed.contests[i].id.push('!');
        renamed.ballot.contests[i].contest.push('!');
        prop_assert!(!renamed.verify(), "verifies under another contest id");
        let n = case.contests[i].options.len();
        if n > 1 {
            let (a, b) = (pick.index(n), (pick.index(n) + 1) % n);
            let mut swapped = case.clone();
            swapped.ballot.contests[i].ciphertexts.swap(a, b);
            swapped.ballot.contests[i].option_proofs.swap(a, b);
            prop_assert!(!swapped.verify(), "verifies with options {} and {} swapped", a, b);
            // Swapping only the ciphertexts (each proof stays in place) fails too.
            let mut swapped = case.clone();
            swapped.ballot.contests[i].ciphertexts.swap(a, b);
            prop_assert!(!swapped.verify(), "verifies with ciphertexts {} and {} swapped", a, b);
        }
        if case.contests.len() > 1 {
            let mut reordered = case.clone();
            reordered.ballot.contests.swap(0, 1);
            prop_assert!(!reordered.verify(), "verifies with contests reordered");
        }
    }
}

// ---------------------------------------------------------------------------
// 5: batch and single verification agree
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum AnyCase {
    Schnorr(SchnorrCase),
    Dleq(DleqCase),
    Disjunctive(DisjunctiveCase),
    Link(LinkCase),
    Ballot(Box<BallotCase>),
}

impl AnyCase {
    fn verify(&self) -> bool {
        match self {
            AnyCase::Schnorr(c) => c.verify(),
            AnyCase::Dleq(c) => c.verify(),
            AnyCase::Disjunctive(c) => c.verify(),
            AnyCase::Link(c) => c.verify(),
            AnyCase::Ballot(c) => c.verify(),
        }
    }
    fn equations(&self) -> Result<Vec<Equation>, Error> {
        let (eqs, apart_failed) = match self {
            AnyCase::Schnorr(c) => c.batch_path(),
            AnyCase::Dleq(c) => c.batch_path(),
            AnyCase::Disjunctive(c) => c.batch_path(),
            AnyCase::Link(c) => c.batch_path(),
            AnyCase::Ballot(c) => c.batch_path(),
        };
        assert!(!apart_failed, "only sigma proofs in this mix");
        eqs
    }
    /// A random single-element change of the case.
    fn tamper(&self, pick: prop::sample::Index) -> AnyCase {
        fn one<C: ProofCase>(c: &C, pick: prop::sample::Index) -> C {
            let mut m = c.mutants();
            m.swap_remove(pick.index(m.len())).1
        }
        match self {
            AnyCase::Schnorr(c) => AnyCase::Schnorr(one(c, pick)),
            AnyCase::Dleq(c) => AnyCase::Dleq(one(c, pick)),
            AnyCase::Disjunctive(c) => AnyCase::Disjunctive(one(c, pick)),
            AnyCase::Link(c) => AnyCase::Link(one(c, pick)),
            AnyCase::Ballot(c) => AnyCase::Ballot(Box::new(one(c.as_ref(), pick))),
        }
    }
}

/// One item of a mix: kind, tampered or not, which change, and the inputs
/// of a ballot and of a small range.
type MixItem = (u8, bool, prop::sample::Index, Manifest, (u64, u64, u64));

fn any_item() -> impl Strategy<Value = MixItem> {
    (
        0u8..5,
        any::<bool>(),
        any::<prop::sample::Index>(),
        small_manifest(),
        small_range(),
    )
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn batch_and_single_verification_agree_on_any_mix_of_good_and_bad_proofs(
        seed in seed(), items in proptest::collection::vec(any_item(), 1..=24),
    ) {
        let mut rng = rng(seed);
        let (pk, fp) = election(&mut rng);
        let mut batch = BatchVerifier::new();
        let mut tampered = BTreeSet::new();
        let mut single_failed = BTreeSet::new();
        for (tag, (kind, bad, pick, (contests, choices), range)) in items.into_iter().enumerate() {
            let ctx = format!("item {tag}").into_bytes();
            let honest = match kind {
                0 => AnyCase::Schnorr(SchnorrCase::new(&mut rng, fp, ctx)),
                1 => AnyCase::Dleq(DleqCase::new(&mut rng, fp, ctx)),
                2 => AnyCase::Disjunctive(DisjunctiveCase::new(
                    &mut rng, fp, pk, ctx, range, 1 + tag % 2,
                )),
                3 => AnyCase::Link(LinkCase::new(&mut rng, fp, pk, ctx, range.2, 1 + tag % 2)),
                _ => AnyCase::Ballot(Box::new(BallotCase::new(
                    &mut rng, fp, pk, contests, &choices,
                ))),
            };
            let item = if bad {
                tampered.insert(tag);
                honest.tamper(pick)
            } else {
                honest
            };
            if !item.verify() {
                single_failed.insert(tag);
            }
            push(&mut batch, tag, item.equations());
        }
        prop_assert_eq!(&single_failed, &tampered);
        match batch.verify() {
            Ok(()) => prop_assert!(tampered.is_empty(), "batch accepted {:?}", tampered),
            Err(tags) => {
                let n = tags.len();
                let flagged: BTreeSet<usize> = tags.into_iter().collect();
                prop_assert_eq!(n, flagged.len(), "a tag reported twice");
                prop_assert_eq!(flagged, tampered);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 6: encodings
// ---------------------------------------------------------------------------

/// ℓ = 2²⁵² + 27742317777372353535851937790883648493, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `a < b` for little-endian 256-bit integers.
fn le_less(a: &[u8; 32], b: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
    }
    false
}

/// `a + k` (little-endian, wrapping at 2²⁵⁶; never wraps for `a = ℓ`).
fn le_add(a: &[u8; 32], k: u64) -> [u8; 32] {
    let mut out = *a;
    let mut carry = u128::from(k);
    for byte in out.iter_mut() {
        let s = u128::from(*byte) + (carry & 0xff);
        *byte = s as u8;
        carry = (carry >> 8) + (s >> 8);
    }
    out
}

/// Scalars near and above ℓ, and uniformly random ones.
fn scalar_bytes() -> impl Strategy<Value = [u8; 32]> {
    prop_oneof![
        any::<[u8; 32]>(),
        any::<u64>().prop_map(|k| le_add(&ELL, k)),
        (0u64..1000).prop_map(|k| le_add(&ELL, k)),
        any::<[u8; 32]>().prop_map(|mut b| {
            b[31] &= 0x1f;
            b
        }),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn random_32_bytes_either_fail_to_parse_as_a_point_or_round_trip(bytes in any::<[u8; 32]>()) {
        check_point_bytes(bytes)?;
    }

    #[test]
    fn a_point_encoding_with_one_bit_flipped_fails_or_round_trips(
        x in any::<[u8; 32]>(), bit in 0usize..256,
    ) {
        let mut bytes = *mul_g(&DalekScalar::from_bytes_mod_order(x)).as_bytes();
        check_point_bytes(bytes)?;
        bytes[bit / 8] ^= 1 << (bit % 8);
        check_point_bytes(bytes)?;
    }

    #[test]
    fn scalars_at_or_above_the_group_order_are_refused(bytes in scalar_bytes()) {
        let canonical = le_less(&bytes, &ELL);
        let parsed = Scalar::from_bytes("s", bytes);
        prop_assert_eq!(parsed.is_ok(), canonical, "{}", hex::encode(bytes));
        let from_hex = Scalar::from_hex("s", &hex::encode(bytes));
        prop_assert_eq!(from_hex.is_ok(), canonical);
        let from_json = serde_json::from_str::<Scalar>(&format!("\"{}\"", hex::encode(bytes)));
        prop_assert_eq!(from_json.is_ok(), canonical);
        if let Ok(s) = parsed {
            prop_assert_eq!(s.to_bytes(), bytes);
            let quoted = format!("\"{}\"", hex::encode(bytes));
            prop_assert_eq!(serde_json::to_string(&s).unwrap(), quoted);
        } else {
            prop_assert_eq!(parsed, Err(Error::NonCanonicalScalar { what: "s" }));
        }
    }
}

fn check_point_bytes(bytes: [u8; 32]) -> Result<(), TestCaseError> {
    let text = hex::encode(bytes);
    let quoted = format!("\"{text}\"");
    match Point::from_bytes("p", bytes) {
        Err(e) => {
            prop_assert_eq!(e, Error::NonCanonicalPoint { what: "p" });
            prop_assert!(Point::from_hex("p", &text).is_err());
            prop_assert!(serde_json::from_str::<Point>(&quoted).is_err());
        }
        Ok(p) => {
            prop_assert_eq!(p.as_bytes(), &bytes);
            // Re-encoding the group element gives the same bytes.
            prop_assert_eq!(*Point::from_point(*p.point()).as_bytes(), bytes);
            prop_assert_eq!(p.to_hex(), text.clone());
            let json = serde_json::to_string(&p).unwrap();
            prop_assert_eq!(&json, &quoted);
            let back: Point = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.as_bytes(), &bytes);
            if text.bytes().any(|b| b.is_ascii_alphabetic()) {
                prop_assert!(Point::from_hex("p", &text.to_uppercase()).is_err());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn ballot_json_round_trip_is_byte_identical(
        seed in seed(), (contests, choices) in manifest(),
    ) {
        let mut rng = rng(seed);
        let (pk, fp) = election(&mut rng);
        let case = BallotCase::new(&mut rng, fp, pk, contests, &choices);
        let json = serde_json::to_string(&case.ballot).unwrap();
        let parsed: EncryptedBallot = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&parsed, &case.ballot);
        prop_assert_eq!(serde_json::to_string(&parsed).unwrap(), json.clone());
        // The pretty form parses to the same ballot too.
        let pretty = serde_json::to_string_pretty(&case.ballot).unwrap();
        let parsed: EncryptedBallot = serde_json::from_str(&pretty).unwrap();
        prop_assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
        // And the parsed ballot still verifies.
        let reparsed = BallotCase { ballot: parsed, ..case };
        prop_assert!(reparsed.verify());
    }
}
