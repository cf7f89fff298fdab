//! RFC 6962 Merkle tree over the bulletin board's entries: hashing, proof
//! generation and proof verification (SPEC.md §7.1 Merkle tree, §7.2
//! inclusion, §7.3 consistency).
//!
//! This is the tree of RFC 6962 §2.1 with SHA-256, in the notation of its
//! successor RFC 9162 §2.1. Everything here works on *leaf hashes*: the
//! board hashes the exact bytes of each accepted entry once, with
//! [`leaf_hash`], and the tree never sees the entry again.
//!
//! # Hashing (SPEC.md §7.1 Merkle tree; RFC 9162 §2.1.1)
//!
//! For a list of `n` entries `D[n] = {d(0), …, d(n-1)}`:
//!
//! ```text
//! leaf_hash(d)    = SHA-256(0x00 || d)
//! node_hash(l, r) = SHA-256(0x01 || l || r)
//!
//! MTH({})         = SHA-256()                      (empty_root)
//! MTH({d(0)})     = leaf_hash(d(0))
//! MTH(D[n])       = node_hash(MTH(D[0:k]), MTH(D[k:n]))
//!                   where k is the largest power of two smaller than n
//! ```
//!
//! The one-byte prefixes keep a leaf from ever being read as an interior node
//! (second-preimage resistance). [`root`] is this definition, written as it
//! reads; [`MerkleTree`] computes the same value incrementally.
//!
//! # The tree ([`MerkleTree`])
//!
//! The tree keeps, for every level `h`, the hashes of all *complete* subtrees
//! of `2^h` leaves, left to right: `levels[0]` are the leaf hashes,
//! `levels[h][i] = MTH(D[i·2^h : (i+1)·2^h])`. The last entry of each level
//! whose length is odd is the compact range ("frontier") of the tree.
//! Appending a leaf adds it to `levels[0]` and hashes upwards while a level
//! becomes even: amortised O(1), worst case O(log n). Any subtree that RFC
//! 9162's recursions ask for is the fold of at most `log2 n` stored complete
//! subtrees, so the root at any size is O(log n) hashes and an inclusion or
//! consistency proof O(log² n) hashes at worst, whatever the size (the board
//! serves proofs for millions of entries). Memory: about two hashes per leaf.
//!
//! # Inclusion proofs (SPEC.md §7.2 inclusion; RFC 9162 §2.1.3)
//!
//! The audit path for leaf `m` in `D[n]` (RFC 9162 §2.1.3.1), `0 <= m < n`:
//!
//! ```text
//! PATH(0, {d(0)}) = {}
//! PATH(m, D[n])   = PATH(m, D[0:k]) : MTH(D[k:n])      if m < k
//! PATH(m, D[n])   = PATH(m - k, D[k:n]) : MTH(D[0:k])  if m >= k
//! ```
//!
//! [`verify_inclusion`] is the algorithm of RFC 9162 §2.1.3.2, step by step,
//! after two checks that turn the RFC's "fail" into a precise
//! [`MerkleError`]: `index < size` (step 1) and the proof's length, which is
//! determined by `(index, size)`.
//!
//! # Consistency proofs (SPEC.md §7.3 consistency; RFC 9162 §2.1.4)
//!
//! The proof that `D[n]` extends `D[m]`, `0 < m < n` (RFC 9162 §2.1.4.1):
//!
//! ```text
//! PROOF(m, D[n])              = SUBPROOF(m, D[n], true)
//! SUBPROOF(m, D[m], true)     = {}
//! SUBPROOF(m, D[m], false)    = {MTH(D[m])}
//! SUBPROOF(m, D[n], b)        = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])          if m <= k
//! SUBPROOF(m, D[n], b)        = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  if m > k
//! ```
//!
//! [`verify_consistency`] is the algorithm of RFC 9162 §2.1.4.2, step by
//! step, for `0 < old_size < new_size`. The RFC leaves the other cases to the
//! caller; here they are:
//!
//! | case | proof | accepted when |
//! |---|---|---|
//! | `old_size > new_size` | — | never ([`MerkleError::OldSizeExceedsNew`]) |
//! | `old_size == new_size` | empty | the two roots are equal; otherwise the pair is evidence of equivocation ([`MerkleError::DifferentRootsForSameSize`]) |
//! | `old_size == 0` | empty | `old_root` is [`empty_root`] (every tree extends the empty tree) |
//!
//! [`MerkleTree::consistency_proof`] returns the empty proof for the last two
//! cases, so that the generator and the verifier agree everywhere.
//!
//! A proof binds a tree *head*, the pair (size, root): a proof checked
//! against a root must be checked with the size that root was signed with
//! (the checkpoint of SPEC.md §7.4), never with a size taken from elsewhere.

use std::fmt;

use sha2::{Digest, Sha256};
use thiserror::Error;

/// A SHA-256 output: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Domain-separation prefix of leaf hashes (RFC 6962 §2.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of interior node hashes (RFC 6962 §2.1).
const NODE_PREFIX: u8 = 0x01;

/// Why a proof was refused or could not be produced.
///
/// Generation errors ([`IndexOutOfRange`](Self::IndexOutOfRange),
/// [`SizeBeyondTree`](Self::SizeBeyondTree),
/// [`OldSizeExceedsNew`](Self::OldSizeExceedsNew)) are the caller's; every
/// verification error means the prover (the log) sent a proof that does not
/// prove the statement.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MerkleError {
    /// A leaf index at or beyond the tree size (SPEC.md §7.2 inclusion).
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size it was asked in.
        size: u64,
    },
    /// A tree size larger than the number of leaves this tree holds.
    #[error("tree size {requested} is larger than the {available} leaves held")]
    SizeBeyondTree {
        /// The size asked for.
        requested: u64,
        /// The number of leaves in the tree.
        available: u64,
    },
    /// A consistency check from a larger tree to a smaller one (SPEC.md §7.3
    /// consistency): logs only grow.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeExceedsNew {
        /// The size of the earlier tree head.
        old_size: u64,
        /// The size of the later tree head.
        new_size: u64,
    },
    /// A proof with more or fewer hashes than its statement requires.
    #[error("proof has {got} hashes where {expected} are required")]
    WrongProofLength {
        /// The number of hashes the statement requires.
        expected: usize,
        /// The number of hashes the proof has.
        got: usize,
    },
    /// An inclusion proof that leads to another root (SPEC.md §7.2 inclusion).
    #[error("inclusion proof does not lead to the given root")]
    RootMismatch,
    /// A consistency proof that does not rebuild the old root (SPEC.md §7.3
    /// consistency).
    #[error("consistency proof does not rebuild the old root")]
    OldRootMismatch,
    /// A consistency proof that does not rebuild the new root (SPEC.md §7.3
    /// consistency).
    #[error("consistency proof does not rebuild the new root")]
    NewRootMismatch,
    /// Two tree heads of the same size with different roots: the log showed
    /// two different histories (SPEC.md §7.3 consistency).
    #[error("two tree heads of size {size} have different roots")]
    DifferentRootsForSameSize {
        /// The size both tree heads claim.
        size: u64,
    },
}

/// `SHA-256(0x00 || data)`: the hash of one log entry (SPEC.md §7.1 Merkle
/// tree).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node (SPEC.md
/// §7.1 Merkle tree).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// `SHA-256()`: the root of the empty tree (SPEC.md §7.1 Merkle tree).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `MTH(D[n])` over the given leaf hashes, by the recursive definition of
/// RFC 9162 §2.1.1 (SPEC.md §7.1 Merkle tree).
///
/// O(n) hashes; [`MerkleTree`] gives the same value in O(log n) once built.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(split_point(leaves.len()));
            node_hash(&root(left), &root(right))
        }
    }
}

/// The largest power of two strictly smaller than `n`, for `n >= 2`: the `k`
/// of every RFC 9162 recursion.
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The number of bits needed to write `x` (0 for 0).
fn bit_len(x: u64) -> usize {
    (u64::BITS - x.leading_zeros()) as usize
}

/// The length of the audit path for leaf `index` in a tree of `size`
/// leaves, `index < size`: one hash per level below the point where the
/// paths to `index` and to the last leaf part, plus one per complete left
/// subtree above it.
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = bit_len(index ^ (size - 1));
    // inner can be 64, a shift that `>>` refuses: nothing is left above it.
    let above = u32::try_from(inner)
        .ok()
        .and_then(|shift| index.checked_shr(shift))
        .unwrap_or(0);
    let border = above.count_ones() as usize;
    inner + border
}

/// The length of the consistency proof from `old_size` to `new_size`,
/// `0 < old_size < new_size`: the audit path of the old tree's last complete
/// subtree, plus that subtree's own hash unless it is the whole old tree.
fn consistency_proof_len(old_size: u64, new_size: u64) -> usize {
    let level = old_size.trailing_zeros();
    let index = (old_size - 1) >> level;
    let seed = usize::from(index != 0);
    seed + inclusion_proof_len(index, ((new_size - 1) >> level) + 1)
}

/// Verifies that `leaf` is the leaf hash at `index` in the tree of `size`
/// leaves whose root is `root`, by the algorithm of RFC 9162 §2.1.3.2
/// (SPEC.md §7.2 inclusion).
///
/// # Errors
///
/// [`MerkleError::IndexOutOfRange`] if `index >= size` (this covers
/// `size == 0`), [`MerkleError::WrongProofLength`] if the proof does not have
/// exactly the length `(index, size)` requires, and
/// [`MerkleError::RootMismatch`] if it leads to another root.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    // 1. If leaf_index is greater than or equal to tree_size, fail.
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    let wrong_length = MerkleError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    // 2. Set fn to leaf_index and sn to tree_size - 1.
    let mut f_n = index;
    let mut s_n = size - 1;
    // 3. Set r to hash.
    let mut r = *leaf;
    // 4. For each value p in the inclusion_path array:
    for p in proof {
        // a. If sn is 0, then stop the iteration and fail the proof
        //    verification.
        if s_n == 0 {
            return Err(wrong_length);
        }
        // b. If LSB(fn) is set, or if fn is equal to sn, then:
        if f_n & 1 == 1 || f_n == s_n {
            // i. Set r to HASH(0x01 || p || r).
            r = node_hash(p, &r);
            // ii. If LSB(fn) is not set, then right-shift both fn and sn
            //     equally until either LSB(fn) is set or fn is 0.
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            // Otherwise: i. Set r to HASH(0x01 || r || p).
            r = node_hash(&r, p);
        }
        // c. Finally, right-shift both fn and sn one time.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5. Compare sn to 0. Compare r against the root_hash. If sn is equal to
    //    0 and r and the root_hash are equal, then the log has proven the
    //    inclusion of hash. Otherwise, fail the proof verification.
    if s_n != 0 {
        return Err(wrong_length);
    }
    if r != *root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `new_size` leaves with root `new_root` extends
/// the tree of `old_size` leaves with root `old_root`, by the algorithm of
/// RFC 9162 §2.1.4.2 (SPEC.md §7.3 consistency). See the module
/// documentation for `old_size == 0` and `old_size == new_size`.
///
/// # Errors
///
/// [`MerkleError::OldSizeExceedsNew`], [`MerkleError::WrongProofLength`]
/// (including a non-empty proof where none is due and an empty one where one
/// is), [`MerkleError::DifferentRootsForSameSize`],
/// [`MerkleError::OldRootMismatch`] and [`MerkleError::NewRootMismatch`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::OldSizeExceedsNew { old_size, new_size });
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(MerkleError::WrongProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        if old_size == 0 && *old_root != empty_root() {
            return Err(MerkleError::OldRootMismatch);
        }
        if old_size == new_size && old_root != new_root {
            return Err(MerkleError::DifferentRootsForSameSize { size: old_size });
        }
        return Ok(());
    }

    // From here on 0 < first < second, as RFC 9162 §2.1.4.2 requires.
    let (f_r, s_r) = consistency_roots(old_size, new_size, old_root, proof)?;
    // 7. Verify that the fr calculated is equal to the first_hash supplied,
    //    that the sr calculated is equal to the second_hash supplied.
    if f_r != *old_root {
        return Err(MerkleError::OldRootMismatch);
    }
    if s_r != *new_root {
        return Err(MerkleError::NewRootMismatch);
    }
    Ok(())
}

/// The root of the first `old_size` leaves that a consistency proof
/// (SPEC.md §7.3) implies, when the proof leads to `new_root`: what the
/// log that made the proof held at `old_size`. `None` when the proof does
/// not lead to `new_root`, the sizes need no proof, or `old_size` is a
/// power of two (RFC 9162 then leaves the old root out of the proof: it
/// cannot be read from it). A light client that holds another root of
/// `old_size` signed by the same key has proof of two histories
/// ([`crate::log::evidence`]).
pub fn implied_old_root(
    old_size: u64,
    new_size: u64,
    new_root: &Hash,
    proof: &[Hash],
) -> Option<Hash> {
    if old_size == 0 || old_size >= new_size || old_size.is_power_of_two() {
        return None;
    }
    // Not a power of two: the first proof hash starts both roots, the
    // `old_root` argument is never read.
    let unused = [0u8; 32];
    let (f_r, s_r) = consistency_roots(old_size, new_size, &unused, proof).ok()?;
    (s_r == *new_root).then_some(f_r)
}

/// Steps 1–6 of RFC 9162 §2.1.4.2 for `0 < old_size < new_size`: the old
/// and new roots the proof rebuilds (`old_root` is read only when
/// `old_size` is a power of two).
fn consistency_roots(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    proof: &[Hash],
) -> Result<(Hash, Hash), MerkleError> {
    let expected = consistency_proof_len(old_size, new_size);
    let wrong_length = MerkleError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    // 1. If consistency_path is an empty array, stop and fail the proof
    //    verification.
    if proof.is_empty() || proof.len() != expected {
        return Err(wrong_length);
    }
    // 2. If first is an exact power of 2, then prepend first_hash to the
    //    consistency_path array.
    let prepended = old_size.is_power_of_two().then_some(old_root);
    let mut path = prepended.into_iter().chain(proof);
    // 3. Set fn to first - 1 and sn to second - 1.
    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    // 4. If LSB(fn) is set, then right-shift both fn and sn equally until
    //    LSB(fn) is not set.
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5. Set both fr and sr to the first value in the consistency_path array.
    let Some(first) = path.next() else {
        return Err(wrong_length);
    };
    let mut f_r = *first;
    let mut s_r = *first;
    // 6. For each subsequent value c in the consistency_path array:
    for c in path {
        // a. If sn is 0, then stop the iteration and fail the proof
        //    verification.
        if s_n == 0 {
            return Err(wrong_length);
        }
        // b. If LSB(fn) is set, or if fn is equal to sn, then:
        if f_n & 1 == 1 || f_n == s_n {
            // i. Set fr to HASH(0x01 || c || fr).
            f_r = node_hash(c, &f_r);
            // ii. Set sr to HASH(0x01 || c || sr).
            s_r = node_hash(c, &s_r);
            // iii. If LSB(fn) is not set, then right-shift both fn and sn
            //      equally until either LSB(fn) is set or fn is 0.
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            // Otherwise: i. Set sr to HASH(0x01 || sr || c).
            s_r = node_hash(&s_r, c);
        }
        // c. Finally, right-shift both fn and sn one time.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 7 (part). sn must be 0.
    if s_n != 0 {
        return Err(wrong_length);
    }
    Ok((f_r, s_r))
}

/// An append-only RFC 6962 Merkle tree that keeps every complete subtree's
/// hash, so that roots and proofs at any size are cheap (SPEC.md §7.1
/// Merkle tree). See the module documentation for the layout.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MerkleTree {
    /// `levels[h][i]` is the root of the complete subtree over leaves
    /// `[i·2^h, (i+1)·2^h)`; `levels[0]` are the leaf hashes. Invariant:
    /// `levels[h + 1].len() == levels[h].len() / 2`, and no level is empty.
    levels: Vec<Vec<Hash>>,
}

impl fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerkleTree")
            .field("len", &self.len())
            .field("root", &hex::encode(self.root()))
            .finish()
    }
}

impl MerkleTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tree over the given leaf hashes, built level by level in O(n).
    pub fn from_leaves(leaves: Vec<Hash>) -> Self {
        let mut levels = Vec::new();
        let mut level = leaves;
        while !level.is_empty() {
            let next: Vec<Hash> = level
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(level);
            level = next;
        }
        Self { levels }
    }

    /// Appends a leaf hash and returns its index. Amortised O(1) hashes,
    /// O(log n) at worst.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        let index = self.len();
        let mut hash = leaf;
        let mut height = 0;
        loop {
            if height == self.levels.len() {
                self.levels.push(Vec::new());
            }
            let level = &mut self.levels[height];
            level.push(hash);
            let n = level.len();
            if n % 2 == 1 {
                break;
            }
            // This level just completed a pair: their parent is complete too.
            hash = node_hash(&level[n - 2], &level[n - 1]);
            height += 1;
        }
        index
    }

    /// The number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, Vec::len) as u64
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaf hash at `index`, if there is one.
    pub fn leaf(&self, index: u64) -> Option<&Hash> {
        let index = usize::try_from(index).ok()?;
        self.levels.first()?.get(index)
    }

    /// The root of the whole tree, `MTH(D[n])`. O(log n).
    pub fn root(&self) -> Hash {
        self.subtree_root(0, self.levels.first().map_or(0, Vec::len))
    }

    /// The root the tree had when it held `size` leaves, `MTH(D[0:size])`
    /// (SPEC.md §7.1 Merkle tree). O(log n).
    ///
    /// # Errors
    ///
    /// [`MerkleError::SizeBeyondTree`] if `size > self.len()`.
    pub fn root_at(&self, size: u64) -> Result<Hash, MerkleError> {
        let size = self.checked_size(size)?;
        Ok(self.subtree_root(0, size))
    }

    /// The audit path `PATH(index, D[0:size])` of RFC 9162 §2.1.3.1, leaf
    /// side first (SPEC.md §7.2 inclusion).
    ///
    /// # Errors
    ///
    /// [`MerkleError::SizeBeyondTree`] if `size > self.len()`,
    /// [`MerkleError::IndexOutOfRange`] if `index >= size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, MerkleError> {
        let n = self.checked_size(size)?;
        if index >= size {
            return Err(MerkleError::IndexOutOfRange { index, size });
        }
        // index < size <= self.len(), which is a usize.
        let m = index as usize;
        // The recursion narrows [start, end) to the subtree holding leaf m and
        // records the sibling subtree at each step, root side first.
        let (mut start, mut end) = (0, n);
        let mut path = Vec::with_capacity(inclusion_proof_len(index, size));
        while end - start > 1 {
            let k = split_point(end - start);
            if m < start + k {
                path.push(self.subtree_root(start + k, end));
                end = start + k;
            } else {
                path.push(self.subtree_root(start, start + k));
                start += k;
            }
        }
        path.reverse();
        Ok(path)
    }

    /// The consistency proof `PROOF(old_size, D[0:new_size])` of RFC 9162
    /// §2.1.4.1 (SPEC.md §7.3 consistency); empty when `old_size` is 0 or
    /// equal to `new_size`.
    ///
    /// # Errors
    ///
    /// [`MerkleError::SizeBeyondTree`] if `new_size > self.len()`,
    /// [`MerkleError::OldSizeExceedsNew`] if `old_size > new_size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, MerkleError> {
        let n = self.checked_size(new_size)?;
        if old_size > new_size {
            return Err(MerkleError::OldSizeExceedsNew { old_size, new_size });
        }
        if old_size == 0 || old_size == new_size {
            return Ok(Vec::new());
        }
        // old_size < new_size <= self.len(), which is a usize.
        let mut m = old_size as usize;
        // SUBPROOF(m, D[start:end], b), unrolled; hashes are recorded root
        // side first and reversed at the end.
        let (mut start, mut end) = (0, n);
        let mut b = true;
        let mut proof = Vec::with_capacity(consistency_proof_len(old_size, new_size));
        loop {
            let len = end - start;
            if m == len {
                if !b {
                    proof.push(self.subtree_root(start, end));
                }
                break;
            }
            let k = split_point(len);
            if m <= k {
                proof.push(self.subtree_root(start + k, end));
                end = start + k;
            } else {
                proof.push(self.subtree_root(start, start + k));
                start += k;
                m -= k;
                b = false;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    /// `size` as an index into `levels[0]`, if the tree holds that many
    /// leaves.
    fn checked_size(&self, size: u64) -> Result<usize, MerkleError> {
        let available = self.len();
        match usize::try_from(size) {
            Ok(n) if size <= available => Ok(n),
            _ => Err(MerkleError::SizeBeyondTree {
                requested: size,
                available,
            }),
        }
    }

    /// `MTH(D[start:end])` for a range that RFC 9162's recursions produce:
    /// `end <= self.len()` and `start` a multiple of the smallest power of
    /// two `>= end - start`. Such a range is a run of complete subtrees,
    /// one per set bit of `end - start`, largest first; they are folded right
    /// to left. O(log n).
    fn subtree_root(&self, start: usize, end: usize) -> Hash {
        let n = end - start;
        let mut acc: Option<Hash> = None;
        let mut bits = n;
        let mut height = 0;
        while bits != 0 {
            if bits & 1 == 1 {
                // The complete subtree of 2^height leaves for this bit starts
                // after those of all higher bits of n; by the alignment of
                // `start` it is stored at levels[height][offset >> height].
                let higher_bits = n & !((1usize << height << 1).wrapping_sub(1));
                let offset = start + higher_bits;
                let hash = self.levels[height][offset >> height];
                acc = Some(match acc {
                    None => hash,
                    Some(right) => node_hash(&hash, &right),
                });
            }
            bits >>= 1;
            height += 1;
        }
        acc.unwrap_or_else(empty_root)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Leaf hashes of distinct, deterministic entries.
    fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// PATH(m, D[n]) exactly as RFC 9162 §2.1.3.1 defines it, on slices.
    fn spec_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        if d.len() <= 1 {
            return Vec::new();
        }
        let k = split_point(d.len());
        let (left, right) = d.split_at(k);
        if m < k {
            let mut p = spec_path(m, left);
            p.push(root(right));
            p
        } else {
            let mut p = spec_path(m - k, right);
            p.push(root(left));
            p
        }
    }

    /// SUBPROOF(m, D[n], b) exactly as RFC 9162 §2.1.4.1 defines it.
    fn spec_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        if m == d.len() {
            return if b { Vec::new() } else { vec![root(d)] };
        }
        let k = split_point(d.len());
        let (left, right) = d.split_at(k);
        if m <= k {
            let mut p = spec_subproof(m, left, b);
            p.push(root(right));
            p
        } else {
            let mut p = spec_subproof(m - k, right, false);
            p.push(root(left));
            p
        }
    }

    fn hex32(s: &str) -> Hash {
        let mut h = [0u8; 32];
        hex::decode_to_slice(s, &mut h).unwrap();
        h
    }

    // SPEC.md §7.1 Merkle tree: the hashing.

    #[test]
    fn empty_root_is_sha256_of_the_empty_string() {
        assert_eq!(
            empty_root(),
            hex32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(root(&[]), empty_root());
        assert_eq!(MerkleTree::new().root(), empty_root());
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut concatenated = Vec::new();
        concatenated.extend_from_slice(&a);
        concatenated.extend_from_slice(&b);
        assert_ne!(node_hash(&a, &b), leaf_hash(&concatenated));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
        assert_ne!(leaf_hash(b""), empty_root());
    }

    #[test]
    fn single_leaf_tree_root_is_the_leaf_hash() {
        let l = leaf_hash(b"entry");
        assert_eq!(root(&[l]), l);
        assert_eq!(MerkleTree::from_leaves(vec![l]).root(), l);
    }

    #[test]
    fn tree_over_many_leaves_matches_the_recursive_definition_at_every_size() {
        let ls = leaves(1100);
        let mut tree = MerkleTree::new();
        for (i, l) in ls.iter().enumerate() {
            assert_eq!(tree.push(*l), i as u64);
        }
        assert_eq!(tree, MerkleTree::from_leaves(ls.clone()));
        for size in [
            0, 1, 2, 3, 255, 256, 257, 511, 512, 1000, 1023, 1024, 1025, 1100,
        ] {
            assert_eq!(
                tree.root_at(size as u64).unwrap(),
                root(&ls[..size]),
                "size {size}"
            );
        }
        assert_eq!(tree.root(), root(&ls));
        assert_eq!(tree.leaf(7), Some(&ls[7]));
        assert_eq!(tree.leaf(1100), None);
        assert_eq!(tree.leaf(u64::MAX), None);
    }

    #[test]
    fn root_at_beyond_the_tree_is_an_error() {
        let tree = MerkleTree::from_leaves(leaves(5));
        assert_eq!(
            tree.root_at(6),
            Err(MerkleError::SizeBeyondTree {
                requested: 6,
                available: 5
            })
        );
        assert!(tree.root_at(u64::MAX).is_err());
    }

    // SPEC.md §7.2 inclusion: generation and verification edge cases.

    #[test]
    fn inclusion_proof_generation_rejects_bad_index_and_size() {
        let tree = MerkleTree::from_leaves(leaves(8));
        assert_eq!(
            tree.inclusion_proof(8, 8),
            Err(MerkleError::IndexOutOfRange { index: 8, size: 8 })
        );
        assert_eq!(
            tree.inclusion_proof(0, 0),
            Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert!(matches!(
            tree.inclusion_proof(0, 9),
            Err(MerkleError::SizeBeyondTree { .. })
        ));
        assert!(matches!(
            tree.inclusion_proof(u64::MAX, u64::MAX),
            Err(MerkleError::SizeBeyondTree { .. })
        ));
    }

    #[test]
    fn inclusion_in_a_one_leaf_tree_has_an_empty_proof() {
        let l = leaf_hash(b"only");
        let tree = MerkleTree::from_leaves(vec![l]);
        assert_eq!(tree.inclusion_proof(0, 1).unwrap(), Vec::<Hash>::new());
        assert_eq!(verify_inclusion(&l, 0, 1, &[], &l), Ok(()));
        assert_eq!(
            verify_inclusion(&l, 0, 1, &[], &empty_root()),
            Err(MerkleError::RootMismatch)
        );
    }

    #[test]
    fn inclusion_verification_rejects_index_at_or_beyond_size() {
        let some = leaf_hash(b"x");
        for (index, size) in [(0, 0), (1, 0), (1, 1), (2, 1), (u64::MAX, u64::MAX)] {
            assert_eq!(
                verify_inclusion(&some, index, size, &[], &some),
                Err(MerkleError::IndexOutOfRange { index, size })
            );
        }
    }

    #[test]
    fn inclusion_verification_rejects_wrong_proof_length_without_hashing() {
        let ls = leaves(5);
        let tree = MerkleTree::from_leaves(ls.clone());
        let proof = tree.inclusion_proof(1, 5).unwrap();
        let r = tree.root();
        let mut longer = proof.clone();
        longer.push(r);
        assert_eq!(
            verify_inclusion(&ls[1], 1, 5, &longer, &r),
            Err(MerkleError::WrongProofLength {
                expected: 3,
                got: 4
            })
        );
        assert_eq!(
            verify_inclusion(&ls[1], 1, 5, &proof[..2], &r),
            Err(MerkleError::WrongProofLength {
                expected: 3,
                got: 2
            })
        );
    }

    #[test]
    fn inclusion_verification_of_huge_sizes_does_not_overflow() {
        let some = leaf_hash(b"x");
        let proof = vec![some; 64];
        assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX), 63);
        assert_eq!(
            verify_inclusion(&some, u64::MAX - 1, u64::MAX, &proof[..63], &some),
            Err(MerkleError::RootMismatch)
        );
        assert_eq!(inclusion_proof_len(0, u64::MAX), 64);
        assert_eq!(
            verify_inclusion(&some, 0, u64::MAX, &proof, &some),
            Err(MerkleError::RootMismatch)
        );
        assert_eq!(inclusion_proof_len(1 << 63, u64::MAX), 64);
        assert_eq!(
            verify_inclusion(&some, 0, u64::MAX, &proof[..3], &some),
            Err(MerkleError::WrongProofLength {
                expected: 64,
                got: 3
            })
        );
    }

    // SPEC.md §7.3 consistency: generation and verification edge cases.

    #[test]
    fn consistency_proof_generation_rejects_shrinking_and_oversized_trees() {
        let tree = MerkleTree::from_leaves(leaves(8));
        assert_eq!(
            tree.consistency_proof(6, 3),
            Err(MerkleError::OldSizeExceedsNew {
                old_size: 6,
                new_size: 3
            })
        );
        assert!(matches!(
            tree.consistency_proof(3, 9),
            Err(MerkleError::SizeBeyondTree { .. })
        ));
        assert_eq!(tree.consistency_proof(0, 8).unwrap(), Vec::<Hash>::new());
        assert_eq!(tree.consistency_proof(5, 5).unwrap(), Vec::<Hash>::new());
    }

    #[test]
    fn consistency_between_equal_sizes_needs_equal_roots_and_an_empty_proof() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        assert_eq!(verify_consistency(1, 1, &a, &a, &[]), Ok(()));
        assert_eq!(
            verify_consistency(0, 0, &empty_root(), &empty_root(), &[]),
            Ok(())
        );
        assert_eq!(
            verify_consistency(1, 1, &a, &b, &[]),
            Err(MerkleError::DifferentRootsForSameSize { size: 1 })
        );
        assert_eq!(
            verify_consistency(1, 1, &a, &a, &[a]),
            Err(MerkleError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
        assert_eq!(
            verify_consistency(0, 0, &empty_root(), &empty_root(), &[a]),
            Err(MerkleError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
    }

    #[test]
    fn consistency_from_the_empty_tree_needs_the_empty_root_and_an_empty_proof() {
        let a = leaf_hash(b"a");
        assert_eq!(verify_consistency(0, 1, &empty_root(), &a, &[]), Ok(()));
        assert_eq!(
            verify_consistency(0, 1, &a, &a, &[]),
            Err(MerkleError::OldRootMismatch)
        );
        assert_eq!(
            verify_consistency(0, 1, &empty_root(), &a, &[a]),
            Err(MerkleError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
    }

    #[test]
    fn consistency_backwards_in_time_is_rejected() {
        let a = leaf_hash(b"a");
        assert_eq!(
            verify_consistency(1, 0, &a, &empty_root(), &[]),
            Err(MerkleError::OldSizeExceedsNew {
                old_size: 1,
                new_size: 0
            })
        );
        assert_eq!(
            verify_consistency(2, 1, &a, &a, &[a]),
            Err(MerkleError::OldSizeExceedsNew {
                old_size: 2,
                new_size: 1
            })
        );
    }

    #[test]
    fn consistency_between_different_sizes_needs_a_proof() {
        let a = leaf_hash(b"a");
        assert_eq!(
            verify_consistency(1, 2, &a, &a, &[]),
            Err(MerkleError::WrongProofLength {
                expected: 1,
                got: 0
            })
        );
    }

    #[test]
    fn consistency_verification_of_huge_sizes_does_not_overflow() {
        let a = leaf_hash(b"a");
        let proof = vec![a; 70];
        for (old, new) in [
            (1, u64::MAX),
            (u64::MAX - 1, u64::MAX),
            (3, u64::MAX),
            (1 << 63, u64::MAX),
        ] {
            let expected = consistency_proof_len(old, new);
            assert_eq!(
                verify_consistency(old, new, &a, &a, &proof),
                Err(MerkleError::WrongProofLength { expected, got: 70 })
            );
            assert!(verify_consistency(old, new, &a, &a, &proof[..expected]).is_err());
        }
    }

    #[test]
    fn every_proof_in_trees_up_to_300_leaves_verifies() {
        // Exhaustive: every (index, size) and every (old, new) with
        // new <= 300 (SPEC.md §7.2 inclusion, §7.3 consistency).
        const N: usize = 300;
        let ls = leaves(N);
        let tree = MerkleTree::from_leaves(ls.clone());
        let roots: Vec<Hash> = (0..=N as u64).map(|s| tree.root_at(s).unwrap()).collect();
        for size in 1..=N as u64 {
            for index in 0..size {
                let proof = tree.inclusion_proof(index, size).unwrap();
                assert_eq!(proof.len(), inclusion_proof_len(index, size));
                let got = verify_inclusion(
                    &ls[index as usize],
                    index,
                    size,
                    &proof,
                    &roots[size as usize],
                );
                assert_eq!(got, Ok(()), "inclusion {index} in {size}");
            }
            for old in 0..=size {
                let proof = tree.consistency_proof(old, size).unwrap();
                if 0 < old && old < size {
                    assert_eq!(proof.len(), consistency_proof_len(old, size));
                }
                let got = verify_consistency(
                    old,
                    size,
                    &roots[old as usize],
                    &roots[size as usize],
                    &proof,
                );
                assert_eq!(got, Ok(()), "consistency {old} -> {size}");
            }
        }
    }

    /// A bigger tree, a few sizes, so that `proptest` cases stay cheap.
    fn tree_and_leaves(n: usize) -> (MerkleTree, Vec<Hash>) {
        let ls = leaves(n);
        (MerkleTree::from_leaves(ls.clone()), ls)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn incremental_tree_agrees_with_root_of_leaves(n in 0usize..=300) {
            let ls = leaves(n);
            let mut tree = MerkleTree::new();
            for m in 0..=n {
                prop_assert_eq!(tree.root(), root(&ls[..m]));
                if m < n {
                    tree.push(ls[m]);
                }
            }
            let built = MerkleTree::from_leaves(ls.clone());
            prop_assert_eq!(&tree, &built);
            for m in 0..=n {
                prop_assert_eq!(built.root_at(m as u64).unwrap(), root(&ls[..m]));
            }
        }

        #[test]
        fn inclusion_proofs_are_the_rfc_audit_paths_and_verify(n in 1usize..=300) {
            let (tree, ls) = tree_and_leaves(n);
            let r = tree.root();
            for m in 0..n {
                let proof = tree.inclusion_proof(m as u64, n as u64).unwrap();
                prop_assert_eq!(&proof, &spec_path(m, &ls));
                prop_assert_eq!(verify_inclusion(&ls[m], m as u64, n as u64, &proof, &r), Ok(()));
            }
        }

        #[test]
        fn consistency_proofs_are_the_rfc_proofs_and_verify(n in 1usize..=300) {
            let (tree, ls) = tree_and_leaves(n);
            let r = tree.root();
            for m in 1..n {
                let proof = tree.consistency_proof(m as u64, n as u64).unwrap();
                prop_assert_eq!(&proof, &spec_subproof(m, &ls, true));
                let old = root(&ls[..m]);
                prop_assert_eq!(verify_consistency(m as u64, n as u64, &old, &r, &proof), Ok(()));
            }
        }

        #[test]
        fn a_consistency_proof_implies_the_old_root_unless_its_size_is_a_power_of_two(n in 2usize..=200) {
            let (tree, ls) = tree_and_leaves(n);
            let r = tree.root();
            for m in 1..n {
                let proof = tree.consistency_proof(m as u64, n as u64).unwrap();
                let implied = implied_old_root(m as u64, n as u64, &r, &proof);
                if m.is_power_of_two() {
                    prop_assert_eq!(implied, None);
                } else {
                    prop_assert_eq!(implied, Some(root(&ls[..m])));
                    // Another new root: the proof implies nothing.
                    prop_assert_eq!(implied_old_root(m as u64, n as u64, &ls[0], &proof), None);
                }
            }
        }

        #[test]
        fn tampered_inclusion_proof_is_rejected(
            n in 2usize..=300,
            index_seed in any::<usize>(),
            element_seed in any::<usize>(),
            byte in 0usize..32,
            bit in 0u8..8,
        ) {
            let (tree, ls) = tree_and_leaves(n);
            let index = index_seed % n;
            let mut proof = tree.inclusion_proof(index as u64, n as u64).unwrap();
            prop_assume!(!proof.is_empty());
            let element = element_seed % proof.len();
            proof[element][byte] ^= 1 << bit;
            prop_assert_eq!(
                verify_inclusion(&ls[index], index as u64, n as u64, &proof, &tree.root()),
                Err(MerkleError::RootMismatch)
            );
        }

        #[test]
        fn inclusion_proof_fails_for_another_index_leaf_root_or_tree_head(
            n in 2usize..=300,
            index_seed in any::<usize>(),
            other_seed in any::<usize>(),
            other_size_seed in any::<usize>(),
        ) {
            let (tree, ls) = tree_and_leaves(600);
            let size = n as u64;
            let index = index_seed % n;
            let proof = tree.inclusion_proof(index as u64, size).unwrap();
            let r = tree.root_at(size).unwrap();
            // Another index in the same tree, for the same leaf.
            let other = (index + 1 + other_seed % (n - 1)) % n;
            prop_assert!(verify_inclusion(&ls[index], other as u64, size, &proof, &r).is_err());
            // Another leaf at the same index.
            prop_assert!(verify_inclusion(&ls[other], index as u64, size, &proof, &r).is_err());
            // Another root.
            let mut wrong_root = r;
            wrong_root[other_seed % 32] ^= 1;
            prop_assert!(verify_inclusion(&ls[index], index as u64, size, &proof, &wrong_root).is_err());
            // Another tree head (size and its own root).
            let other_size = index as u64 + 1 + other_size_seed as u64 % (600 - index as u64);
            prop_assume!(other_size != size);
            let other_root = tree.root_at(other_size).unwrap();
            prop_assert!(verify_inclusion(&ls[index], index as u64, other_size, &proof, &other_root).is_err());
            // The size halved or doubled with the original root: a different
            // proof shape, so a different length.
            prop_assert!(verify_inclusion(&ls[index], index as u64, size * 2, &proof, &r).is_err());
            prop_assert!(verify_inclusion(&ls[index], index as u64, size / 2, &proof, &r).is_err());
        }

        #[test]
        fn tampered_consistency_proof_is_rejected(
            n in 2usize..=300,
            old_seed in any::<usize>(),
            element_seed in any::<usize>(),
            byte in 0usize..32,
            bit in 0u8..8,
        ) {
            let (tree, _) = tree_and_leaves(n);
            let old = 1 + old_seed % (n - 1);
            let (old_root, new_root) = (tree.root_at(old as u64).unwrap(), tree.root());
            let mut proof = tree.consistency_proof(old as u64, n as u64).unwrap();
            let element = element_seed % proof.len();
            proof[element][byte] ^= 1 << bit;
            prop_assert!(verify_consistency(old as u64, n as u64, &old_root, &new_root, &proof).is_err());
        }

        #[test]
        fn consistency_proof_fails_for_other_tree_heads(
            n in 3usize..=300,
            old_seed in any::<usize>(),
            other_seed in any::<usize>(),
            byte in 0usize..32,
        ) {
            let (tree, _) = tree_and_leaves(600);
            let new = n as u64;
            let old = 1 + (old_seed as u64) % (new - 1);
            let (old_root, new_root) = (tree.root_at(old).unwrap(), tree.root_at(new).unwrap());
            let proof = tree.consistency_proof(old, new).unwrap();
            // Other roots.
            let mut bad = old_root;
            bad[byte] ^= 1;
            prop_assert!(verify_consistency(old, new, &bad, &new_root, &proof).is_err());
            let mut bad = new_root;
            bad[byte] ^= 1;
            prop_assert!(verify_consistency(old, new, &old_root, &bad, &proof).is_err());
            prop_assert!(verify_consistency(old, new, &new_root, &old_root, &proof).is_err());
            // Another old tree head (size with its own root).
            let other_old = 1 + (other_seed as u64) % (new - 1);
            if other_old != old {
                let other_root = tree.root_at(other_old).unwrap();
                prop_assert!(verify_consistency(other_old, new, &other_root, &new_root, &proof).is_err());
            }
            // Another new tree head (size with its own root).
            let other_new = old + 1 + (other_seed as u64) % (599 - old);
            if other_new != new {
                let other_root = tree.root_at(other_new).unwrap();
                prop_assert!(verify_consistency(old, other_new, &old_root, &other_root, &proof).is_err());
            }
            // Dropped, repeated or empty proofs.
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &[]).is_err());
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof[1..]).is_err());
            let mut longer = proof.clone();
            longer.push(proof[proof.len() - 1]);
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &longer).is_err());
        }
    }
}
