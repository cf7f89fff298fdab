//! What anyone keeps when the board misbehaves (SPEC.md §10.9.4): proof
//! of equivocation, and the entry the board should have refused.
//!
//! # Equivocation ([`Evidence`])
//!
//! Two checkpoints signed by the board key, `held` (one the mirror had
//! verified and stored) and `presented` (what the upstream showed next),
//! that cannot both be states of one append-only log:
//!
//! | `kind` | conclusive when |
//! |---|---|
//! | `same_size` | both have the same size and different roots (SPEC.md §7.3) |
//! | `prefix_mismatch` | sizes differ, and `proof` is a consistency proof (SPEC.md §7.3) from `(proof.old_size, proof.old_root)` to the larger checkpoint, with `old_size` the smaller checkpoint's size and `old_root` ≠ its root: the larger tree's prefix is not the smaller tree |
//! | `unproven_consistency` | never by itself: the board's own consistency proof from `held` to `presented` failed, and the mirror could not rebuild the larger tree from the board's entries to say why; `proof` is the board's proof as served, `old_root` the held root |
//!
//! [`Evidence::verify`] checks the first two with nothing but the board's
//! vkey: anyone can confirm that the board signed two histories.
//!
//! # Invalid entry ([`InvalidEntry`])
//!
//! An entry that the board's own rules (SPEC.md §10.2–§10.6) refuse, in a
//! tree the board signed: the checkpoint, the line, its index and an
//! inclusion proof (SPEC.md §7.2). Confirming that the entry is invalid
//! needs the log before it (the rules depend on the state).

use crate::encoding::decode_hex32;
use crate::log::checkpoint::{open_checkpoint, Checkpoint, NoteVerifier};
use crate::log::merkle::{implied_old_root, verify_consistency, verify_inclusion, Hash};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why evidence does not prove what it claims.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("inconclusive evidence: {0}")]
pub struct Inconclusive(pub String);

fn inconclusive(why: impl Into<String>) -> Inconclusive {
    Inconclusive(why.into())
}

/// The kinds of equivocation evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// Two checkpoints of one size with different roots.
    SameSize,
    /// A consistency proof shows the larger tree's prefix differs from the
    /// smaller checkpoint.
    PrefixMismatch,
    /// The board's consistency proof failed; no proof of the contrary.
    UnprovenConsistency,
}

/// A consistency proof (SPEC.md §7.3) with the old root it proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixProof {
    /// The smaller tree size.
    pub old_size: u64,
    /// The root the proof gives the larger tree at `old_size`, hex.
    pub old_root: String,
    /// The larger tree size.
    pub new_size: u64,
    /// The proof's hashes, hex.
    pub hashes: Vec<String>,
}

impl PrefixProof {
    /// The proof from `(old_size, old_root)` to `new_size`.
    pub fn new(old_size: u64, old_root: &Hash, new_size: u64, hashes: &[Hash]) -> Self {
        PrefixProof {
            old_size,
            old_root: hex::encode(old_root),
            new_size,
            hashes: hashes.iter().map(hex::encode).collect(),
        }
    }
}

/// Proof that the board signed two inconsistent checkpoints (served at
/// `GET /api/v1/elections/{id}/equivocation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The election.
    pub election: String,
    /// The board's note verifier key (vkey) both notes must verify under.
    pub board_key: String,
    /// What the notes show.
    pub kind: EvidenceKind,
    /// When the mirror found it (Unix seconds).
    pub detected: u64,
    /// The signed checkpoint the mirror held.
    pub held: String,
    /// The signed checkpoint the upstream presented.
    pub presented: String,
    /// The consistency proof, for `prefix_mismatch` and
    /// `unproven_consistency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<PrefixProof>,
    /// A sentence for people.
    pub message: String,
}

fn decode_hashes(hashes: &[String]) -> Result<Vec<Hash>, Inconclusive> {
    hashes
        .iter()
        .map(|h| decode_hex32("proof hash", h).map_err(|e| inconclusive(e.to_string())))
        .collect()
}

impl Evidence {
    /// Open both notes with the board key: the two checkpoints.
    ///
    /// # Errors
    ///
    /// [`Inconclusive`] if the key or either note does not verify, or they
    /// name different logs.
    pub fn checkpoints(&self) -> Result<(Checkpoint, Checkpoint), Inconclusive> {
        let board = NoteVerifier::from_vkey(&self.board_key)
            .map_err(|e| inconclusive(format!("board key: {e}")))?;
        let (held, _) = open_checkpoint(&self.held, &board)
            .map_err(|e| inconclusive(format!("held checkpoint: {e}")))?;
        let (presented, _) = open_checkpoint(&self.presented, &board)
            .map_err(|e| inconclusive(format!("presented checkpoint: {e}")))?;
        if held.origin != presented.origin {
            return Err(inconclusive(format!(
                "the checkpoints are of two logs ({:?} and {:?})",
                held.origin, presented.origin
            )));
        }
        if !held.origin.ends_with(&format!("/{}", self.election)) {
            return Err(inconclusive(format!(
                "the checkpoints are not of election {:?}",
                self.election
            )));
        }
        Ok((held, presented))
    }

    /// Check that this proves equivocation (SPEC.md §10.9.4): two
    /// checkpoints validly signed by `board_key` of one log that no single
    /// append-only log can have.
    ///
    /// # Errors
    ///
    /// [`Inconclusive`] with the reason, including for every
    /// `unproven_consistency`.
    pub fn verify(&self) -> Result<(), Inconclusive> {
        let (held, presented) = self.checkpoints()?;
        match self.kind {
            EvidenceKind::SameSize => {
                if held.size != presented.size {
                    return Err(inconclusive("the checkpoints have different sizes"));
                }
                if held.root == presented.root {
                    return Err(inconclusive("the checkpoints are the same tree"));
                }
                Ok(())
            }
            EvidenceKind::PrefixMismatch => {
                let (small, large) = if held.size < presented.size {
                    (&held, &presented)
                } else {
                    (&presented, &held)
                };
                if small.size == large.size {
                    return Err(inconclusive("the checkpoints have the same size"));
                }
                let proof = self
                    .proof
                    .as_ref()
                    .ok_or_else(|| inconclusive("no consistency proof"))?;
                if proof.old_size != small.size || proof.new_size != large.size {
                    return Err(inconclusive(
                        "the proof is not between the two checkpoints' sizes",
                    ));
                }
                let old_root = decode_hex32("old root", &proof.old_root)
                    .map_err(|e| inconclusive(e.to_string()))?;
                if old_root == small.root {
                    return Err(inconclusive(
                        "the proof's old root is the smaller checkpoint's root",
                    ));
                }
                let hashes = decode_hashes(&proof.hashes)?;
                verify_consistency(small.size, large.size, &old_root, &large.root, &hashes)
                    .map_err(|e| inconclusive(format!("the consistency proof fails: {e}")))
            }
            EvidenceKind::UnprovenConsistency => Err(inconclusive(
                "the board failed to prove consistency, which alone proves no equivocation",
            )),
        }
    }
}

impl Evidence {
    /// Evidence from two notes of `election`'s log signed by `board_key`,
    /// for a role that holds no copy of the log (a voter, SPEC.md §13.5,
    /// §14.2): `same_size` when they have one size and two roots;
    /// `prefix_mismatch` when `proof`, a consistency proof from the
    /// smaller size to the larger checkpoint as the larger one's server
    /// gave it, leads to the larger root and implies another root at the
    /// smaller size ([`implied_old_root`]). `None` when the notes are not
    /// proven to be two histories (including when the smaller size is a
    /// power of two, whose root a proof leaves out).
    pub fn between(
        election: &str,
        board_key: &str,
        held: &str,
        presented: &str,
        proof: Option<&[Hash]>,
        detected: u64,
        message: String,
    ) -> Option<Evidence> {
        let mut evidence = Evidence {
            election: election.to_owned(),
            board_key: board_key.to_owned(),
            kind: EvidenceKind::SameSize,
            detected,
            held: held.to_owned(),
            presented: presented.to_owned(),
            proof: None,
            message,
        };
        let (a, b) = evidence.checkpoints().ok()?;
        if a.size != b.size {
            let (small, large) = if a.size < b.size { (a, b) } else { (b, a) };
            let hashes = proof?;
            let old = implied_old_root(small.size, large.size, &large.root, hashes)?;
            evidence.kind = EvidenceKind::PrefixMismatch;
            evidence.proof = Some(PrefixProof::new(small.size, &old, large.size, hashes));
        }
        evidence.verify().ok()?;
        Some(evidence)
    }
}

/// An entry the board logged that its own rules refuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvalidEntry {
    /// The election.
    pub election: String,
    /// The board's note verifier key (vkey).
    pub board_key: String,
    /// When the mirror found it (Unix seconds).
    pub detected: u64,
    /// A board-signed checkpoint whose tree holds the entry.
    pub checkpoint: String,
    /// The entry's index.
    pub index: u64,
    /// The entry line.
    pub line: String,
    /// The size of the tree prefix the mirror had checked when it met the
    /// entry (at most the checkpoint's size).
    pub prefix_size: u64,
    /// That prefix's root, hex.
    pub prefix_root: String,
    /// The inclusion proof (SPEC.md §7.2) of the line in the prefix, hex.
    pub inclusion_proof: Vec<String>,
    /// The consistency proof (SPEC.md §7.3) from the prefix to the
    /// checkpoint, hex (empty when the prefix is the checkpoint's tree).
    pub consistency_proof: Vec<String>,
    /// The rule it breaks (the board's error code).
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl InvalidEntry {
    /// Check the signed part: the checkpoint verifies under the board key
    /// and its tree holds `line` at `index` (inclusion in the prefix, and
    /// the prefix's consistency with the checkpoint). Whether the entry
    /// breaks a rule depends on the log before it.
    ///
    /// # Errors
    ///
    /// [`Inconclusive`] with the reason.
    pub fn verify_inclusion(&self) -> Result<Checkpoint, Inconclusive> {
        let board = NoteVerifier::from_vkey(&self.board_key)
            .map_err(|e| inconclusive(format!("board key: {e}")))?;
        let (cp, _) = open_checkpoint(&self.checkpoint, &board)
            .map_err(|e| inconclusive(format!("checkpoint: {e}")))?;
        let prefix_root = decode_hex32("prefix root", &self.prefix_root)
            .map_err(|e| inconclusive(e.to_string()))?;
        let leaf = crate::log::merkle::leaf_hash(self.line.as_bytes());
        let path = decode_hashes(&self.inclusion_proof)?;
        verify_inclusion(&leaf, self.index, self.prefix_size, &path, &prefix_root)
            .map_err(|e| inconclusive(format!("the inclusion proof fails: {e}")))?;
        let proof = decode_hashes(&self.consistency_proof)?;
        verify_consistency(self.prefix_size, cp.size, &prefix_root, &cp.root, &proof)
            .map_err(|e| inconclusive(format!("the consistency proof fails: {e}")))?;
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::log::checkpoint::{sign_checkpoint, NoteSigner};
    use crate::log::merkle::{leaf_hash, MerkleTree};

    fn tree(n: u64, fork_at: Option<u64>) -> MerkleTree {
        MerkleTree::from_leaves(
            (0..n)
                .map(|i| {
                    let tag = if fork_at.is_some_and(|f| i >= f) {
                        1u8
                    } else {
                        0
                    };
                    leaf_hash(&[tag, i as u8])
                })
                .collect(),
        )
    }

    fn note(signer: &NoteSigner, t: &MerkleTree, size: u64) -> String {
        let cp = Checkpoint {
            origin: "board.example/e1".into(),
            size,
            root: t.root_at(size).unwrap(),
        };
        sign_checkpoint(&cp, signer).unwrap()
    }

    /// A light client with two notes and the larger server's proof gets
    /// conclusive evidence of a fork, and none for one history.
    #[test]
    fn between_builds_conclusive_evidence_only_for_two_histories() {
        let signer = NoteSigner::new("board.example", SigningKey::from_bytes(&[7; 32])).unwrap();
        let vkey = signer.verifier().to_vkey();
        let honest = tree(12, None);
        let forked = tree(9, Some(5));
        let ev = |a: &str, b: &str, proof: Option<&[Hash]>| {
            Evidence::between("e1", &vkey, a, b, proof, 0, "test".into())
        };
        // Same size, two roots.
        let same = ev(&note(&signer, &honest, 9), &note(&signer, &forked, 9), None).unwrap();
        assert_eq!(same.kind, EvidenceKind::SameSize);
        // Fork of size 6 (not a power of two) against the honest 12 with
        // the honest server's proof.
        let proof = honest.consistency_proof(6, 12).unwrap();
        let fork6 = note(&signer, &forked, 6);
        let prefix = ev(&fork6, &note(&signer, &honest, 12), Some(&proof)).unwrap();
        assert_eq!(prefix.kind, EvidenceKind::PrefixMismatch);
        assert_eq!(prefix.verify(), Ok(()));
        // One history: no evidence.
        let ours6 = note(&signer, &honest, 6);
        assert_eq!(ev(&ours6, &note(&signer, &honest, 12), Some(&proof)), None);
        // Size 8, a power of two: the proof leaves the old root out.
        let proof8 = honest.consistency_proof(8, 12).unwrap();
        let fork8 = note(&signer, &forked, 8);
        assert_eq!(ev(&fork8, &note(&signer, &honest, 12), Some(&proof8)), None);
        // No proof for different sizes: nothing proven.
        assert_eq!(ev(&fork6, &note(&signer, &honest, 12), None), None);
    }
}
