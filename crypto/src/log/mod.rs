//! The bulletin board's transparency log (SPEC.md §7): every accepted entry
//! is a leaf of an RFC 6962 Merkle tree, and the board signs checkpoints of
//! that tree that mirrors cosign.
//!
//! | module | SPEC.md |
//! |---|---|
//! | [`merkle`] — leaf and node hashing, the tree, inclusion and consistency proofs | §7.1 Merkle tree, §7.2 inclusion, §7.3 consistency |
//! | [`checkpoint`] — C2SP checkpoints, signed notes (Ed25519), mirror cosignatures | §7.4 checkpoints |
//! | [`evidence`] — proof that the board signed two histories, or an entry its rules refuse | §10.9.4 |
//!
//! A voter's receipt is checked with [`verify_inclusion`] against a
//! checkpoint opened with [`open_checkpoint`]; a mirror checks each new
//! checkpoint with [`verify_consistency`] against the last one it cosigned
//! before it calls [`add_cosignature`].

pub mod checkpoint;
pub mod evidence;
pub mod merkle;

pub use checkpoint::{
    add_cosignature, open_checkpoint, sign_checkpoint, verify_cosignatures, Checkpoint,
    CheckpointError, Cosignature, CosignatureVerifier, Cosigner, KeyId, NoteSigner, NoteVerifier,
    SignatureLine,
};
pub use merkle::{
    empty_root, implied_old_root, leaf_hash, node_hash, root, verify_consistency, verify_inclusion,
    Hash, MerkleError, MerkleTree,
};
