//! Proof serving at election scale (SPEC.md §7.2 inclusion, §7.3
//! consistency): a tree of 1,000,000 entries is built once, outside the
//! timed loops; each iteration generates a proof and verifies it.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use psephos_crypto::log::merkle::{
    leaf_hash, verify_consistency, verify_inclusion, Hash, MerkleTree,
};

const LEAVES: u64 = 1_000_000;

fn build_tree() -> MerkleTree {
    MerkleTree::from_leaves((0..LEAVES).map(|i| leaf_hash(&i.to_be_bytes())).collect())
}

/// A cheap deterministic walk over `0..bound` (a 64-bit LCG), so that
/// successive iterations touch different paths.
fn next(state: &mut u64, bound: u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*state >> 33) % bound
}

fn merkle(c: &mut Criterion) {
    let tree = build_tree();
    let root = tree.root();
    let old_size = LEAVES / 2;
    let old_root = tree.root_at(old_size).unwrap_or_default();
    let leaves: Vec<Hash> = (0..LEAVES).filter_map(|i| tree.leaf(i).copied()).collect();

    let mut group = c.benchmark_group("merkle_1m");
    let mut state = 1;
    group.bench_function("inclusion_proof_generate_and_verify", |b| {
        b.iter(|| {
            let index = next(&mut state, LEAVES);
            let verified = tree.inclusion_proof(index, LEAVES).and_then(|proof| {
                verify_inclusion(&leaves[index as usize], index, LEAVES, &proof, &root)
            });
            black_box(verified.is_ok())
        })
    });
    group.bench_function("consistency_proof_500k_to_1m_generate_and_verify", |b| {
        b.iter(|| {
            let verified = tree
                .consistency_proof(black_box(old_size), LEAVES)
                .and_then(|proof| verify_consistency(old_size, LEAVES, &old_root, &root, &proof));
            black_box(verified.is_ok())
        })
    });
    group.bench_function("consistency_proof_random_to_1m_generate", |b| {
        b.iter(|| {
            let old = 1 + next(&mut state, LEAVES - 1);
            let verified = tree
                .consistency_proof(old, LEAVES)
                .map(|proof| black_box(proof.len()));
            black_box(verified.is_ok())
        })
    });
    group.bench_function("root_at_random_size", |b| {
        b.iter(|| black_box(tree.root_at(1 + next(&mut state, LEAVES))))
    });
    group.finish();
}

criterion_group!(benches, merkle);
criterion_main!(benches);
