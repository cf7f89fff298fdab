//! Known-answer tests: every file in `tests/vectors/` written by
//! `examples/gen_vectors.rs` is parsed and re-checked. Valid vectors must
//! verify, singly and in a batch, and every deterministic output
//! (encryptions, commitments, shares, Lagrange coefficients, partial
//! decryptions, fingerprints) must be recomputed byte for byte; invalid
//! vectors must fail, singly and in a batch. Vectors written by an earlier
//! release must keep passing: never regenerate the files to make this test
//! pass (see `tests/vectors/README.md`).

// Test code: a failed expectation should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../examples/gen_vectors.rs"]
mod generator;

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use curve25519_dalek::scalar::Scalar as DalekScalar;
use serde::de::DeserializeOwned;
use serde::Serialize;

use generator::{
    pedersen, to_json, BallotVector, DisjunctiveVector, DleqVector, RangeVector, SchnorrVector,
    ThresholdVector, Vector, VectorFile, GENERATOR, SEED,
};
use psephos_crypto::ballot::{check_audit, prepare_ballot, verify_ballot, BallotContext};
use psephos_crypto::elgamal::PublicKey;
use psephos_crypto::encoding::{Point, Scalar};
use psephos_crypto::proofs::bulletproof::Claim;
use psephos_crypto::proofs::disjunctive::RangeStatement;
use psephos_crypto::proofs::dleq::DleqStatement;
use psephos_crypto::proofs::link::LinkStatement;
use psephos_crypto::proofs::{all_hold, generator_g, BatchVerifier, Equation};
use psephos_crypto::threshold::{
    check_share, coefficient_equations, combine, decryption_equations, joint_key, lagrange_at_zero,
    verification_key, verify_decryption, Polynomial,
};
use psephos_crypto::{Error, Fingerprint};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn read(name: &str) -> String {
    let path = vectors_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parse a file, check its header and that it is in canonical form (parsing
/// and serializing again gives back the same text, so the typed model holds
/// every byte of it).
fn load<V: Vector + Serialize + DeserializeOwned>(name: &str) -> VectorFile<V> {
    let text = read(name);
    let file: VectorFile<V> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
    assert_eq!(file.generator, GENERATOR, "{name}: generator command");
    assert_eq!(file.seed, hex::encode(SEED), "{name}: seed");
    assert!(!file.description.is_empty(), "{name}: description");
    assert_eq!(to_json(&file), text, "{name} is not in canonical form");
    let mut names = HashSet::new();
    for v in &file.vectors {
        assert!(
            names.insert(v.name().to_string()),
            "{name}: duplicate {}",
            v.name()
        );
        assert_eq!(
            v.tamper().is_some(),
            !v.valid(),
            "{}: exactly the invalid vectors say how they were tampered with",
            v.name()
        );
    }
    assert!(
        file.vectors.iter().any(|v| v.valid()),
        "{name}: no valid vector"
    );
    assert!(
        file.vectors.iter().any(|v| !v.valid()),
        "{name}: no invalid vector"
    );
    file
}

/// Collects each vector's single-verification outcome and what the batch
/// path flags.
struct Checker {
    file: &'static str,
    failures: Vec<String>,
    batch: BatchVerifier<String>,
    /// Invalid vectors that went through the batch path.
    expected_flags: BTreeSet<String>,
    /// Vectors flagged outside the batch (ballots' Bulletproofs).
    flagged_apart: BTreeSet<String>,
}

impl Checker {
    fn new(file: &'static str) -> Self {
        Checker {
            file,
            failures: Vec::new(),
            batch: BatchVerifier::new(),
            expected_flags: BTreeSet::new(),
            flagged_apart: BTreeSet::new(),
        }
    }

    /// Record whether the vector verified singly.
    fn outcome(&mut self, v: &impl Vector, verified: bool) {
        if verified != v.valid() {
            self.failures.push(format!(
                "{}: expected {}, got {}",
                v.name(),
                if v.valid() { "valid" } else { "invalid" },
                if verified { "valid" } else { "invalid" }
            ));
        }
    }

    /// A deterministic recomputation that must hold.
    fn recompute(&mut self, v: &impl Vector, what: &str, holds: bool) {
        if !holds {
            self.failures
                .push(format!("{}: recomputed {what} differs", v.name()));
        }
    }

    /// Add the vector's equations to the batch. Equations that cannot even
    /// be formed (wrong shape, challenges that do not add up) stand in as an
    /// unsatisfiable relation, as a verifier would count them.
    fn batch(&mut self, v: &impl Vector, equations: Result<Vec<Equation>, Error>) {
        let equations = equations.unwrap_or_else(|_| vec![Equation::new().g(DalekScalar::ONE)]);
        self.batch.push(v.name().to_string(), equations);
        if !v.valid() {
            self.expected_flags.insert(v.name().to_string());
        }
    }

    /// A check of the batch path that is not a linear relation.
    fn flag_apart(&mut self, v: &impl Vector, failed: bool) {
        if failed {
            self.flagged_apart.insert(v.name().to_string());
        }
    }

    fn finish(self) {
        let Checker {
            file,
            mut failures,
            batch,
            expected_flags,
            flagged_apart,
        } = self;
        if !batch.is_empty() {
            let mut flagged: BTreeSet<String> = match batch.verify() {
                Ok(()) => BTreeSet::new(),
                Err(tags) => tags.into_iter().collect(),
            };
            flagged.extend(flagged_apart);
            if flagged != expected_flags {
                failures.push(format!(
                    "the batch path flagged {flagged:?}, expected {expected_flags:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "{file}:\n{}", failures.join("\n"));
    }
}

fn mul_g(s: &Scalar) -> Point {
    Point::from_point(generator_g().point() * s.inner())
}

fn encryptions_match(
    pk: &PublicKey,
    ciphertexts: &[psephos_crypto::elgamal::Ciphertext],
    plaintexts: &[generator::Plaintext],
) -> bool {
    ciphertexts.len() == plaintexts.len()
        && ciphertexts
            .iter()
            .zip(plaintexts)
            .all(|(ct, p)| pk.encrypt_with(p.value, &p.r) == *ct)
}

#[test]
fn schnorr_vectors_verify_exactly_when_valid() {
    let file: VectorFile<SchnorrVector> = load("schnorr.json");
    let mut c = Checker::new("schnorr.json");
    for v in &file.vectors {
        if let Some(x) = &v.x {
            c.recompute(v, "X = x·G", mul_g(x) == v.X);
        }
        c.outcome(v, v.proof.verify(&v.fingerprint, &v.context, &v.X).is_ok());
        c.batch(v, Ok(v.proof.equations(&v.fingerprint, &v.context, &v.X)));
    }
    c.finish();
}

#[test]
fn dleq_vectors_verify_exactly_when_valid() {
    let file: VectorFile<DleqVector> = load("dleq.json");
    let mut c = Checker::new("dleq.json");
    for v in &file.vectors {
        if let Some(x) = &v.x {
            c.recompute(v, "X = x·G", mul_g(x) == v.X);
            c.recompute(
                v,
                "D = x·B",
                Point::from_point(x.inner() * v.B.point()) == v.D,
            );
        }
        let st = DleqStatement {
            context: &v.context,
            X: &v.X,
            B: &v.B,
            D: &v.D,
        };
        c.outcome(v, v.proof.verify(&v.fingerprint, &st).is_ok());
        c.batch(v, Ok(v.proof.equations(&v.fingerprint, &st)));
    }
    c.finish();
}

#[test]
fn encryption_and_disjunctive_vectors_verify_exactly_when_valid() {
    let file: VectorFile<DisjunctiveVector> = load("disjunctive.json");
    let mut c = Checker::new("disjunctive.json");
    for v in &file.vectors {
        if let Some(pts) = &v.plaintexts {
            c.recompute(
                v,
                "ElGamal encryptions",
                encryptions_match(&v.pk, &v.ciphertexts, pts),
            );
            let sum: u64 = pts.iter().map(|p| p.value).sum();
            c.recompute(
                v,
                "range membership of the plaintext sum",
                (v.min..=v.max).contains(&sum) == v.valid,
            );
        }
        let st = RangeStatement {
            context: &v.context,
            pk: &v.pk,
            ciphertexts: &v.ciphertexts,
            min: v.min,
            max: v.max,
        };
        c.outcome(v, v.proof.verify(&v.fingerprint, &st).is_ok());
        c.batch(v, v.proof.equations(&v.fingerprint, &st));
    }
    c.finish();
}

#[test]
fn range_and_link_vectors_verify_exactly_when_valid() {
    let file: VectorFile<RangeVector> = load("range.json");
    let mut c = Checker::new("range.json");
    for vector in &file.vectors {
        match vector {
            RangeVector::Bulletproof(v) => {
                if let Some(openings) = &v.openings {
                    let all = openings.len() == v.claims.len()
                        && v.claims
                            .iter()
                            .zip(openings)
                            .all(|(cl, o)| pedersen(o.value, o.blinding.inner()) == cl.V);
                    c.recompute(v, "V = v·G + s·H", all);
                }
                let claims: Vec<Claim> = v
                    .claims
                    .iter()
                    .map(|cl| Claim {
                        V: cl.V,
                        min: cl.min,
                        max: cl.max,
                    })
                    .collect();
                c.outcome(
                    vector,
                    v.proof.verify(&v.fingerprint, &v.context, &claims).is_ok(),
                );
            }
            RangeVector::Link(v) => {
                if let Some(pts) = &v.plaintexts {
                    c.recompute(
                        v,
                        "ElGamal encryptions",
                        encryptions_match(&v.pk, &v.ciphertexts, pts),
                    );
                    if let Some(s) = &v.blinding {
                        let total = pts.iter().map(|p| p.value).sum();
                        c.recompute(v, "V = v·G + s·H", pedersen(total, s.inner()) == v.V);
                    }
                }
                let st = LinkStatement {
                    context: &v.context,
                    pk: &v.pk,
                    ciphertexts: &v.ciphertexts,
                    V: &v.V,
                };
                c.outcome(vector, v.proof.verify(&v.fingerprint, &st).is_ok());
                c.batch(vector, Ok(v.proof.equations(&v.fingerprint, &st)));
            }
        }
    }
    c.finish();
}

#[test]
fn ballot_vectors_verify_exactly_when_valid() {
    let file: VectorFile<BallotVector> = load("ballot.json");
    let mut c = Checker::new("ballot.json");
    for v in &file.vectors {
        if v.valid {
            c.recompute(
                v,
                "election fingerprint",
                Fingerprint::election(&v.manifest_hash, &v.pk.to_non_identity()) == v.fingerprint,
            );
        }
        if let Some(secrets) = &v.secrets {
            c.recompute(
                v,
                "Benaloh audit (re-encryption)",
                check_audit(&v.pk, &v.contests, &v.ballot, secrets).is_ok(),
            );
        }
        let ctx = BallotContext {
            fingerprint: &v.fingerprint,
            pk: &v.pk,
            credential: &v.credential,
        };
        c.outcome(v, verify_ballot(&ctx, &v.contests, &v.ballot).is_ok());
        // The batch path: sigma equations in the batch, range proofs apart.
        match prepare_ballot(&ctx, &v.contests, &v.ballot) {
            Ok(prepared) => {
                let range_failed = prepared
                    .range_proofs
                    .iter()
                    .any(|rp| rp.verify(&v.fingerprint).is_err());
                c.flag_apart(v, range_failed);
                c.batch(v, Ok(prepared.equations));
            }
            Err(e) => c.batch(v, Err(e)),
        }
    }
    c.finish();
}

#[test]
fn threshold_vectors_recompute_and_verify_exactly_when_valid() {
    let file: VectorFile<ThresholdVector> = load("threshold.json");
    let mut c = Checker::new("threshold.json");
    for vector in &file.vectors {
        match vector {
            ThresholdVector::Ceremony(v) => {
                c.recompute(
                    v,
                    "ceremony fingerprint",
                    Fingerprint::ceremony(&v.manifest_hash) == v.fingerprint,
                );
                let mut ok = v.dealers.len() == v.n as usize;
                for d in &v.dealers {
                    let poly = Polynomial::from_coefficients(d.coefficients.clone()).unwrap();
                    c.recompute(
                        v,
                        "Feldman commitments",
                        poly.commitments() == d.commitments,
                    );
                    let shares: Vec<Scalar> = (1..=v.n).map(|l| poly.evaluate(l)).collect();
                    c.recompute(v, "shares f(l)", shares == d.shares);
                    ok &= (1..=v.n)
                        .zip(&d.shares)
                        .all(|(l, s)| check_share(s, l, &d.commitments));
                    ok &= coefficient_equations(
                        &v.fingerprint,
                        d.dealer,
                        v.t,
                        &d.commitments,
                        &d.proofs,
                    )
                    .is_ok_and(|eqs| all_hold(&eqs));
                }
                let refs: Vec<&[Point]> =
                    v.dealers.iter().map(|d| d.commitments.as_slice()).collect();
                c.recompute(v, "joint key", joint_key(&refs).ok() == Some(v.pk));
                for (l, ks) in (1..=v.n).zip(&v.key_shares) {
                    let x = v.dealers.iter().fold(DalekScalar::ZERO, |acc, d| {
                        acc + d.shares[l as usize - 1].inner()
                    });
                    c.recompute(v, "key share x_l", ks.trustee == l && *ks.x.inner() == x);
                    c.recompute(v, "X_l = x_l·G", mul_g(&ks.x) == ks.X);
                    c.recompute(
                        v,
                        "verification key from commitments",
                        verification_key(l, &refs).ok().map(|k| *k.as_point()) == Some(ks.X),
                    );
                }
                c.outcome(vector, ok);
            }
            ThresholdVector::Lagrange(v) => {
                let computed: Result<Vec<Scalar>, Error> = v
                    .indices
                    .iter()
                    .map(|&l| lagrange_at_zero(&v.indices, l).map(Scalar::from_dalek))
                    .collect();
                if v.valid {
                    c.recompute(
                        v,
                        "Lagrange coefficients",
                        computed.as_ref().ok() == Some(&v.coefficients),
                    );
                    let sum = v
                        .coefficients
                        .iter()
                        .fold(DalekScalar::ZERO, |acc, l| acc + l.inner());
                    c.recompute(v, "Σ λ_l = 1", sum == DalekScalar::ONE);
                }
                c.outcome(vector, computed.is_ok());
            }
            ThresholdVector::CoefficientProofs(v) => {
                let eqs = coefficient_equations(
                    &v.fingerprint,
                    v.dealer,
                    v.threshold,
                    &v.commitments,
                    &v.proofs,
                );
                c.outcome(vector, eqs.as_ref().is_ok_and(|e| all_hold(e)));
                c.batch(vector, eqs);
            }
            ThresholdVector::Share(v) => {
                c.outcome(vector, check_share(&v.share, v.trustee, &v.commitments));
            }
            ThresholdVector::Decryption(v) => {
                if let Some(pts) = &v.plaintexts {
                    c.recompute(
                        v,
                        "ElGamal encryptions",
                        encryptions_match(&v.pk, &v.ciphertexts, pts),
                    );
                    c.recompute(
                        v,
                        "plaintexts are the decrypted values",
                        pts.iter().map(|p| p.value).collect::<Vec<_>>() == v.values,
                    );
                }
                let indices: Vec<u32> = v.trustees.iter().map(|t| t.trustee).collect();
                let mut ok = true;
                let mut eqs = Vec::new();
                for t in &v.trustees {
                    if let Some(x) = &t.x {
                        c.recompute(v, "X_l = x_l·G", mul_g(x) == t.X);
                        let ds: Vec<Point> = v
                            .ciphertexts
                            .iter()
                            .map(|ct| Point::from_point(x.inner() * ct.R.point()))
                            .collect();
                        let recorded: Vec<Point> = t.shares.iter().map(|s| s.D).collect();
                        c.recompute(v, "D_l = x_l·R", ds == recorded);
                    }
                    if v.valid {
                        c.recompute(
                            v,
                            "λ_l",
                            lagrange_at_zero(&indices, t.trustee)
                                .ok()
                                .map(Scalar::from_dalek)
                                == Some(t.lambda),
                        );
                    }
                    ok &= verify_decryption(
                        &v.fingerprint,
                        t.trustee,
                        &t.X,
                        &v.ciphertexts,
                        &t.shares,
                    )
                    .is_ok();
                    match decryption_equations(
                        &v.fingerprint,
                        t.trustee,
                        &t.X,
                        &v.ciphertexts,
                        &t.shares,
                    ) {
                        Ok(e) => eqs.extend(e),
                        Err(_) => eqs.push(Equation::new().g(DalekScalar::ONE)),
                    }
                }
                if v.valid {
                    for (k, ct) in v.ciphertexts.iter().enumerate() {
                        let partials: Vec<(u32, Point)> = v
                            .trustees
                            .iter()
                            .map(|t| (t.trustee, t.shares[k].D))
                            .collect();
                        let combined = combine(ct, &partials).map(Point::from_point);
                        c.recompute(
                            v,
                            "combined plaintext",
                            combined.ok() == Some(mul_g(&Scalar::from(v.values[k]))),
                        );
                    }
                }
                c.outcome(vector, ok);
                c.batch(vector, Ok(eqs));
            }
        }
    }
    c.finish();
}

#[test]
fn vector_files_are_exactly_what_the_documented_generator_writes() {
    for (name, expected) in generator::generate() {
        let recorded = read(name);
        assert!(
            recorded == expected,
            "tests/vectors/{name} is not what `{GENERATOR}` writes today. The recorded \
             vectors stay the reference (the other known-answer tests say whether they \
             still verify); see tests/vectors/README.md before regenerating anything."
        );
    }
}
