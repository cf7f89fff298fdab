#![allow(clippy::panic, missing_docs)]
//! Micro-benchmarks of the crypto core (figures in BENCHMARKS.md).
//!
//! `cargo bench -p psephos-crypto --bench crypto`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, SeedableRng};

use psephos_crypto::ballot::{
    encrypt_ballot, prepare_ballot, verify_ballot, BallotContext, Contest, ContestOption,
    EncryptedBallot,
};
use psephos_crypto::dlog::DlogTable;
use psephos_crypto::elgamal::SecretKey;
use psephos_crypto::encoding::Point;
use psephos_crypto::proofs::bulletproof::{AggregatedRangeProof, Claim, Opening};
use psephos_crypto::proofs::dleq::{DleqProof, DleqStatement};
use psephos_crypto::proofs::{generator_g, generator_h, BatchVerifier};
use psephos_crypto::Fingerprint;

fn plurality(n: usize) -> Contest {
    Contest {
        id: "c".into(),
        title: "Contest".into(),
        options: (0..n)
            .map(|i| ContestOption {
                id: format!("o{i}"),
                label: format!("Option {i}"),
            })
            .collect(),
        min_selections: 1,
        max_selections: 1,
        max_per_option: 1,
    }
}

fn ballots(c: &mut Criterion) {
    let sk = SecretKey::random(&mut OsRng);
    let pk = sk.public_key();
    let fp = Fingerprint::election(&[1; 32], &pk.to_non_identity());
    let cred = [7u8; 32];
    let ctx = BallotContext {
        fingerprint: &fp,
        pk: &pk,
        credential: &cred,
    };
    let contests = [plurality(5)];
    let choice = [vec![0, 0, 1, 0, 0]];
    c.bench_function("ballot/encrypt+prove 5 options vote-for-1", |b| {
        b.iter(|| encrypt_ballot(&ctx, &contests, &choice, &mut OsRng))
    });
    let (ballot, _) =
        encrypt_ballot(&ctx, &contests, &choice, &mut OsRng).unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("ballot/verify singly 5 options vote-for-1", |b| {
        b.iter(|| verify_ballot(&ctx, &contests, &ballot))
    });

    // Per-contest cost inside a batch of 10,000 (one core).
    const N: usize = 10_000;
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let many: Vec<_> = (0..N)
        .map(|i| {
            let mut choice = vec![0u64; 5];
            choice[i % 5] = 1;
            encrypt_ballot(&ctx, &contests, &[choice], &mut rng)
                .unwrap_or_else(|e| panic!("{e}"))
                .0
        })
        .collect();
    let mut group = c.benchmark_group("ballot/batch");
    group.sample_size(10);
    group.bench_function("verify 10,000 contests (divide by 10,000)", |b| {
        b.iter(|| {
            let mut batch = BatchVerifier::new();
            for (i, ballot) in many.iter().enumerate() {
                let prepared =
                    prepare_ballot(&ctx, &contests, ballot).unwrap_or_else(|e| panic!("{e}"));
                batch.push(i, prepared.equations);
            }
            batch.verify()
        })
    });
    let texts: Vec<String> = many
        .iter()
        .map(|b| serde_json::to_string(b).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    group.bench_function(
        "parse JSON + verify 10,000 contests (divide by 10,000)",
        |b| {
            b.iter(|| {
                let parsed: Vec<EncryptedBallot> = texts
                    .iter()
                    .map(|t| serde_json::from_str(t).unwrap_or_else(|e| panic!("{e}")))
                    .collect();
                let mut batch = BatchVerifier::new();
                for (i, ballot) in parsed.iter().enumerate() {
                    let prepared =
                        prepare_ballot(&ctx, &contests, ballot).unwrap_or_else(|e| panic!("{e}"));
                    batch.push(i, prepared.equations);
                }
                batch.verify()
            })
        },
    );
    group.finish();
}

fn sigma(c: &mut Criterion) {
    let fp = Fingerprint::from_bytes([2; 32]);
    let x = DalekScalar::random(&mut OsRng);
    let big_x = Point::from_point(&x * RISTRETTO_BASEPOINT_TABLE);
    let base = Point::from_point(&DalekScalar::random(&mut OsRng) * RISTRETTO_BASEPOINT_TABLE);
    let d = Point::from_point(x * base.point());
    let st = DleqStatement {
        context: b"bench",
        X: &big_x,
        B: &base,
        D: &d,
    };
    c.bench_function("dleq/prove", |b| {
        b.iter(|| DleqProof::prove(&fp, &st, &x, &mut OsRng))
    });
    let proof = DleqProof::prove(&fp, &st, &x, &mut OsRng);
    c.bench_function("dleq/verify", |b| b.iter(|| proof.verify(&fp, &st)));
}

fn range(c: &mut Criterion) {
    let fp = Fingerprint::from_bytes([2; 32]);
    let s = DalekScalar::random(&mut OsRng);
    let v = 7u64;
    let commitment =
        Point::from_point(DalekScalar::from(v) * generator_g().point() + s * generator_h().point());
    let claims = [Claim {
        V: commitment,
        min: 0,
        max: 10,
    }];
    let openings = [Opening {
        value: v,
        blinding: s,
    }];
    c.bench_function("range/prove one claim [0,10] (2x8-bit aggregated)", |b| {
        b.iter(|| AggregatedRangeProof::prove(&fp, b"", &claims, &openings, &mut OsRng))
    });
    let proof = AggregatedRangeProof::prove(&fp, b"", &claims, &openings, &mut OsRng)
        .unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("range/verify one claim [0,10]", |b| {
        b.iter(|| proof.verify(&fp, b"", &claims))
    });
}

fn dlog(c: &mut Criterion) {
    let mut group = c.benchmark_group("dlog");
    group.sample_size(10);
    group.bench_function("build table for 10^7", |b| {
        b.iter_batched(
            || (),
            |_| DlogTable::new(10_000_000),
            BatchSize::PerIteration,
        )
    });
    let table = DlogTable::new(10_000_000);
    let target = DalekScalar::from(9_876_543u64) * generator_g().point();
    group.bench_function("solve near 10^7", |b| b.iter(|| table.solve(&target)));
    group.finish();
}

criterion_group!(benches, ballots, sigma, range, dlog);
criterion_main!(benches);
