//! The published RFC 6962 known-answer data (tests/vectors/rfc6962.json; its
//! `origin` field names the repository, files and commits) checked against
//! SPEC.md §7.1 Merkle tree, §7.2 inclusion and §7.3 consistency.
//!
//! Every value in the file is data copied from the reference test suites;
//! nothing in it was computed by this crate. The negative probes are those of
//! transparency-dev/merkle's `proof/verify_test.go` (`corruptInclusionProof`,
//! `corruptConsistencyProof`), adapted to fixed-size hashes.

// clippy.toml's allow-unwrap-in-tests covers `#[test]` functions but not the
// helpers of an integration test crate, which is test code all the same.
#![allow(clippy::unwrap_used)]

use psephos_crypto::log::merkle::{
    empty_root, leaf_hash, root, verify_consistency, verify_inclusion, Hash, MerkleTree,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    origin: Origin,
    leaf_inputs: Vec<String>,
    empty_root: String,
    roots: Vec<String>,
    node_hashes: Vec<Vec<String>>,
    leaf_hashes: Vec<LeafHashVector>,
    inclusion_proofs: Vec<InclusionVector>,
    consistency_proofs: Vec<ConsistencyVector>,
    probe_hashes: ProbeHashes,
}

#[derive(Deserialize)]
struct Origin {
    repository: String,
    files: Vec<OriginFile>,
}

#[derive(Deserialize)]
struct OriginFile {
    path: String,
    commit: String,
}

#[derive(Deserialize)]
struct LeafHashVector {
    data: String,
    leaf_hash: String,
}

#[derive(Deserialize)]
struct InclusionVector {
    /// 1-based, as published.
    leaf: u64,
    tree_size: u64,
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct ConsistencyVector {
    size1: u64,
    size2: u64,
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct ProbeHashes {
    sha256_some_hash: String,
    sha256_empty_tree_hash: String,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("vectors/rfc6962.json")).unwrap()
}

fn h(s: &str) -> Hash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).unwrap();
    out
}

fn hashes(v: &[String]) -> Vec<Hash> {
    v.iter().map(|s| h(s)).collect()
}

fn leaf_hashes(v: &Vectors) -> Vec<Hash> {
    v.leaf_inputs
        .iter()
        .map(|d| leaf_hash(&hex::decode(d).unwrap()))
        .collect()
}

fn tree(v: &Vectors) -> MerkleTree {
    let mut tree = MerkleTree::new();
    for l in leaf_hashes(v) {
        tree.push(l);
    }
    tree
}

#[test]
fn vector_file_states_its_origin() {
    let v = vectors();
    assert_eq!(
        v.origin.repository,
        "https://github.com/transparency-dev/merkle"
    );
    assert!(!v.origin.files.is_empty());
    for f in &v.origin.files {
        assert!(!f.path.is_empty());
        assert_eq!(f.commit.len(), 40, "{}", f.path);
        assert!(f.commit.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}

// SPEC.md §7.1 Merkle tree.

#[test]
fn published_leaf_hashes_and_empty_root_match() {
    let v = vectors();
    assert_eq!(empty_root(), h(&v.empty_root));
    assert_eq!(root(&[]), h(&v.empty_root));
    for lh in &v.leaf_hashes {
        assert_eq!(leaf_hash(&hex::decode(&lh.data).unwrap()), h(&lh.leaf_hash));
    }
}

#[test]
fn published_roots_match_at_every_size() {
    let v = vectors();
    let leaves = leaf_hashes(&v);
    let tree = tree(&v);
    assert_eq!(v.roots.len(), leaves.len() + 1);
    for (size, expected) in v.roots.iter().enumerate() {
        let expected = h(expected);
        assert_eq!(root(&leaves[..size]), expected, "root({size})");
        assert_eq!(
            tree.root_at(size as u64).unwrap(),
            expected,
            "root_at({size})"
        );
        let grown = MerkleTree::from_leaves(leaves[..size].to_vec());
        assert_eq!(grown.root(), expected, "from_leaves({size})");
    }
}

#[test]
fn published_complete_subtree_hashes_match() {
    let v = vectors();
    let leaves = leaf_hashes(&v);
    for (level, nodes) in v.node_hashes.iter().enumerate() {
        for (i, expected) in nodes.iter().enumerate() {
            let span = 1 << level;
            assert_eq!(
                root(&leaves[i * span..(i + 1) * span]),
                h(expected),
                "level {level} node {i}"
            );
        }
    }
}

// SPEC.md §7.2 inclusion.

#[test]
fn published_inclusion_proofs_are_generated_and_verify() {
    let v = vectors();
    let leaves = leaf_hashes(&v);
    let tree = tree(&v);
    for vector in &v.inclusion_proofs {
        let index = vector.leaf - 1;
        let proof = hashes(&vector.proof);
        let r = h(&v.roots[vector.tree_size as usize]);
        assert_eq!(
            tree.inclusion_proof(index, vector.tree_size).unwrap(),
            proof,
            "PATH({index}, {})",
            vector.tree_size
        );
        assert_eq!(
            verify_inclusion(&leaves[index as usize], index, vector.tree_size, &proof, &r),
            Ok(())
        );
    }
}

#[test]
fn corrupted_published_inclusion_proofs_are_rejected() {
    let v = vectors();
    let leaves = leaf_hashes(&v);
    let some = h(&v.probe_hashes.sha256_some_hash);
    let empty = h(&v.probe_hashes.sha256_empty_tree_hash);
    for vector in &v.inclusion_proofs {
        let (index, size) = (vector.leaf - 1, vector.tree_size);
        let leaf = leaves[index as usize];
        let proof = hashes(&vector.proof);
        let r = h(&v.roots[size as usize]);
        let check = |index: u64, size: u64, leaf: &Hash, proof: &[Hash], r: &Hash, what: &str| {
            assert!(
                verify_inclusion(leaf, index, size, proof, r).is_err(),
                "inclusion {index}/{size} verified with {what}"
            );
        };
        if index > 0 {
            check(index - 1, size, &leaf, &proof, &r, "index - 1");
        }
        check(index + 1, size, &leaf, &proof, &r, "index + 1");
        check(index ^ 2, size, &leaf, &proof, &r, "index ^ 2");
        check(index, size * 2, &leaf, &proof, &r, "size * 2");
        check(index, size / 2, &leaf, &proof, &r, "size / 2");
        check(
            index,
            size,
            &leaf_hash(b"WrongLeaf"),
            &proof,
            &r,
            "wrong leaf",
        );
        check(index, size, &leaf, &proof, &empty, "empty root");
        check(index, size, &leaf, &proof, &some, "random root");
        let with = |front: bool, extra: Hash| {
            let mut p = proof.clone();
            if front {
                p.insert(0, extra);
            } else {
                p.push(extra);
            }
            p
        };
        check(
            index,
            size,
            &leaf,
            &with(false, [0; 32]),
            &r,
            "trailing garbage",
        );
        check(index, size, &leaf, &with(false, r), &r, "trailing root");
        check(
            index,
            size,
            &leaf,
            &with(true, [0; 32]),
            &r,
            "preceding garbage",
        );
        check(index, size, &leaf, &with(true, r), &r, "preceding root");
        for i in 0..proof.len() {
            let mut wrong = proof.clone();
            wrong[i][0] ^= 8;
            check(index, size, &leaf, &wrong, &r, "a flipped bit");
            wrong[i] = empty;
            check(index, size, &leaf, &wrong, &r, "an element replaced");
        }
        if !proof.is_empty() {
            check(
                index,
                size,
                &leaf,
                &proof[..proof.len() - 1],
                &r,
                "a removed element",
            );
        }
        if proof.len() > 1 {
            let mut inserted = vec![proof[0], some];
            inserted.extend_from_slice(&proof[1..]);
            check(index, size, &leaf, &inserted, &r, "an inserted element");
        }
    }
}

#[test]
fn inclusion_probes_without_a_leaf_are_rejected() {
    // verify_test.go's TestVerifyInclusion probes (index, size) with an
    // empty proof.
    let v = vectors();
    let some = h(&v.probe_hashes.sha256_some_hash);
    let empty = h(&v.probe_hashes.sha256_empty_tree_hash);
    for (index, size) in [(0, 0), (0, 1), (1, 0), (2, 1)] {
        assert!(verify_inclusion(&some, index, size, &[], &empty).is_err());
    }
}

// SPEC.md §7.3 consistency.

#[test]
fn published_consistency_proofs_are_generated_and_verify() {
    let v = vectors();
    let tree = tree(&v);
    for vector in &v.consistency_proofs {
        let proof = hashes(&vector.proof);
        let (r1, r2) = (
            h(&v.roots[vector.size1 as usize]),
            h(&v.roots[vector.size2 as usize]),
        );
        assert_eq!(
            tree.consistency_proof(vector.size1, vector.size2).unwrap(),
            proof,
            "PROOF({}, {})",
            vector.size1,
            vector.size2
        );
        assert_eq!(
            verify_consistency(vector.size1, vector.size2, &r1, &r2, &proof),
            Ok(())
        );
    }
}

#[test]
fn corrupted_published_consistency_proofs_are_rejected() {
    let v = vectors();
    let empty = h(&v.probe_hashes.sha256_empty_tree_hash);
    let wrong_root = leaf_hash(b"WrongRoot");
    for vector in v.consistency_proofs.iter().filter(|c| !c.proof.is_empty()) {
        let (s1, s2) = (vector.size1, vector.size2);
        let proof = hashes(&vector.proof);
        let (r1, r2) = (h(&v.roots[s1 as usize]), h(&v.roots[s2 as usize]));
        let check = |s1: u64, s2: u64, r1: &Hash, r2: &Hash, proof: &[Hash], what: &str| {
            assert!(
                verify_consistency(s1, s2, r1, r2, proof).is_err(),
                "consistency {s1} -> {s2} verified with {what}"
            );
        };
        check(s1 - 1, s2, &r1, &r2, &proof, "size1 - 1");
        check(s1 + 1, s2, &r1, &r2, &proof, "size1 + 1");
        check(s1 ^ 2, s2, &r1, &r2, &proof, "size1 ^ 2");
        check(s1, s2 * 2, &r1, &r2, &proof, "size2 * 2");
        check(s1, s2 / 2, &r1, &r2, &proof, "size2 / 2");
        check(s1, s2, &wrong_root, &r2, &proof, "wrong root1");
        check(s1, s2, &r1, &wrong_root, &proof, "wrong root2");
        check(s1, s2, &r2, &r1, &proof, "swapped roots");
        check(s1, s2, &r1, &r2, &[], "an empty proof");
        let with = |front: bool, extra: Hash| {
            let mut p = proof.clone();
            if front {
                p.insert(0, extra);
            } else {
                p.push(extra);
            }
            p
        };
        check(s1, s2, &r1, &r2, &with(false, [0; 32]), "trailing garbage");
        check(s1, s2, &r1, &r2, &with(false, r1), "trailing root1");
        check(s1, s2, &r1, &r2, &with(false, r2), "trailing root2");
        check(s1, s2, &r1, &r2, &with(true, [0; 32]), "preceding garbage");
        check(s1, s2, &r1, &r2, &with(true, r1), "preceding root1");
        check(s1, s2, &r1, &r2, &with(true, r2), "preceding root2");
        check(
            s1,
            s2,
            &r1,
            &r2,
            &with(true, proof[0]),
            "preceding proof[0]",
        );
        check(
            s1,
            s2,
            &r1,
            &r2,
            &proof[..proof.len() - 1],
            "a truncated proof",
        );
        for i in 0..proof.len() {
            let mut wrong = proof.clone();
            wrong[i][0] ^= 16;
            check(s1, s2, &r1, &r2, &wrong, "a flipped bit");
            wrong[i] = empty;
            check(s1, s2, &r1, &r2, &wrong, "an element replaced");
        }
    }
}

#[test]
fn consistency_edge_cases_follow_the_reference_table() {
    // verify_test.go's TestVerifyConsistency table, with its "don't care"
    // roots replaced by fixed-size hashes: sizes 0 and equal sizes need an
    // empty proof (and, here, the empty root for size 0); time travel and a
    // missing proof fail.
    let v = vectors();
    let empty = h(&v.probe_hashes.sha256_empty_tree_hash);
    let (a, b) = (leaf_hash(b"don't care 1"), leaf_hash(b"don't care 2"));
    assert!(verify_consistency(0, 0, &empty, &empty, &[]).is_ok());
    assert!(verify_consistency(0, 1, &empty, &a, &[]).is_ok());
    assert!(verify_consistency(1, 1, &b, &b, &[]).is_ok());
    assert!(verify_consistency(1, 1, &a, &b, &[]).is_err());
    assert!(verify_consistency(1, 0, &a, &b, &[]).is_err());
    assert!(verify_consistency(2, 1, &a, &b, &[]).is_err());
    assert!(verify_consistency(1, 2, &a, &b, &[]).is_err());
    assert!(verify_consistency(0, 0, &empty, &b, &[]).is_err());
    assert!(verify_consistency(1, 1, &empty, &b, &[]).is_err());
    assert!(verify_consistency(0, 0, &empty, &empty, &[empty]).is_err());
    assert!(verify_consistency(0, 1, &empty, &empty, &[empty]).is_err());
    assert!(verify_consistency(1, 1, &empty, &empty, &[empty]).is_err());
}
