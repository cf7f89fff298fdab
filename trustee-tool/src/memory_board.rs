//! An in-memory stand-in for the bulletin board, for unit tests of the
//! trustee steps without a server. It keeps real entry lines (hash chain,
//! signatures) and checks every post, and writes every board entry, with
//! the same election state machine the real board uses
//! ([`psephos_crypto::election::Election`], SPEC.md §10.2–§10.6): a post
//! that breaks a rule is refused with the rule's status and error code
//! (§10.7), and the `result` is appended with the `t`-th valid partial
//! decryption (§10.5).
//!
//! It answers with the board's own documents ([`psephos_crypto::wire`]):
//! the status document is filled by the same builder the board uses, and a
//! receipt is complete (SPEC.md §10.2) — tracking code, and a checkpoint
//! signed with the board's key (note key name [`ORIGIN`], checkpoint origin
//! `memory/<id>`, §10.1) over the whole log, with the entry's inclusion
//! proof in it. There are no groups: every append is checkpointed at once.
//!
//! [`MemoryBoard::append_unchecked`] appends a post without any check, and
//! [`MemoryBoard::with_key`] lets a test hold the board's key: together they
//! stage a board that breaks the rules, to test that the tool does not take
//! the board's word. Entries that break a rule do not count for this board
//! either, exactly as for every role that replays the log.

use std::collections::BTreeMap;
use std::sync::Mutex;

use ed25519_dalek::SigningKey;
use psephos_crypto::ballot::{short_tracking_code, tracking_code};
use psephos_crypto::election::{Election, Trust, Violation};
use psephos_crypto::log::checkpoint::{sign_checkpoint, Checkpoint, NoteSigner};
use psephos_crypto::log::merkle::{leaf_hash, MerkleTree};
use psephos_crypto::record::{AuthorKey, Body, Entry, Manifest, Payload, Post, GENESIS_PREV};
use psephos_crypto::wire::Created;
use sha2::{Digest, Sha256};

use crate::board::{BoardClient, BoardInfo, ElectionStatus, EntryPage, Receipt};
use crate::error::{Result, TrusteeError};

/// The memory board's origin: its note key name, and the prefix of its
/// checkpoint origins (SPEC.md §10.1).
pub const ORIGIN: &str = "memory";

/// A board in memory.
#[derive(Debug)]
pub struct MemoryBoard {
    key: SigningKey,
    logs: Mutex<BTreeMap<String, Vec<String>>>,
}

impl Default for MemoryBoard {
    fn default() -> Self {
        Self::new()
    }
}

fn api(status: u16, code: &str, message: impl Into<String>) -> TrusteeError {
    TrusteeError::Api {
        status,
        code: code.into(),
        message: message.into(),
    }
}

/// A post refused for breaking a rule, as the board answers (SPEC.md §10.7).
fn refused(v: &Violation) -> TrusteeError {
    let (status, code) = v.rule.http();
    api(status, code, v.to_string())
}

fn corrupt(e: impl std::fmt::Display) -> TrusteeError {
    api(500, "internal", format!("the stored log is corrupt: {e}"))
}

/// The election state after `lines`. Entries that break a rule (put there by
/// [`MemoryBoard::append_unchecked`]) do not count, and neither do entries
/// whose body does not open.
fn replay(lines: &[String]) -> Result<Election> {
    let Some((first, rest)) = lines.split_first() else {
        return Err(corrupt("no manifest"));
    };
    let entry = Entry::from_line(first).map_err(corrupt)?;
    let body = entry.open().map_err(corrupt)?;
    let mut state = Election::begin(&body, leaf_hash(first.as_bytes()), None).map_err(corrupt)?;
    for line in rest {
        let entry = Entry::from_line(line).map_err(corrupt)?;
        if let Ok(body) = entry.open() {
            // A violation leaves the state as it was: the entry does not count.
            let _ = state.apply(entry.index, &body, entry.body.get(), Trust::Nothing);
        }
    }
    Ok(state)
}

impl MemoryBoard {
    /// An empty board with a fixed test key (SHA-256 of a fixed string,
    /// the same on every run: tests use seeded randomness).
    pub fn new() -> Self {
        let seed: [u8; 32] = Sha256::digest(b"psephos memory board key").into();
        Self::with_key(SigningKey::from_bytes(&seed))
    }

    /// An empty board signing with `key` (a test that holds it can sign
    /// entries "by the board" and stage a board that lies).
    pub fn with_key(key: SigningKey) -> Self {
        MemoryBoard {
            key,
            logs: Mutex::new(BTreeMap::new()),
        }
    }

    fn with_log<T>(&self, id: &str, f: impl FnOnce(&mut Vec<String>) -> Result<T>) -> Result<T> {
        let mut logs = self
            .logs
            .lock()
            .map_err(|_| api(500, "internal", "lock poisoned"))?;
        let log = logs
            .get_mut(id)
            .ok_or_else(|| api(404, "not_found", format!("no election {id}")))?;
        f(log)
    }

    /// The line of `post` as entry `log.len()`.
    fn line(log: &[String], post: &Post) -> Result<String> {
        let index = log.len() as u64;
        let prev = log.last().map_or(GENESIS_PREV, |l| leaf_hash(l.as_bytes()));
        let entry = Entry {
            index,
            prev,
            time: 1_700_000_000 + index,
            body: post.body.clone(),
            signature: post.signature,
        };
        Ok(entry.to_line()?)
    }

    fn append(log: &mut Vec<String>, post: &Post) -> Result<u64> {
        let line = Self::line(log, post)?;
        log.push(line);
        Ok(log.len() as u64 - 1)
    }

    /// The checkpoint signer: the board's key under [`ORIGIN`].
    fn signer(&self) -> Result<NoteSigner> {
        NoteSigner::new(ORIGIN, self.key.clone()).map_err(|e| api(500, "internal", e.to_string()))
    }

    /// A signed checkpoint over the whole of `log`, and its tree.
    fn checkpoint(&self, id: &str, log: &[String]) -> Result<(MerkleTree, String)> {
        let tree = MerkleTree::from_leaves(log.iter().map(|l| leaf_hash(l.as_bytes())).collect());
        let checkpoint = Checkpoint {
            origin: format!("{ORIGIN}/{id}"),
            size: tree.len(),
            root: tree.root(),
        };
        let note = sign_checkpoint(&checkpoint, &self.signer()?)
            .map_err(|e| api(500, "internal", e.to_string()))?;
        Ok((tree, note))
    }

    /// The receipt of entry `index` (SPEC.md §10.2), against a checkpoint
    /// over the whole of `log`.
    fn receipt_in(&self, id: &str, log: &[String], index: u64) -> Result<Receipt> {
        let line = usize::try_from(index)
            .ok()
            .and_then(|i| log.get(i))
            .ok_or_else(|| api(400, "invalid_index", format!("no entry {index}")))?;
        let entry = Entry::from_line(line).map_err(corrupt)?;
        let code = tracking_code(entry.body.get().as_bytes());
        let (tree, checkpoint) = self.checkpoint(id, log)?;
        let proof = tree
            .inclusion_proof(index, tree.len())
            .map_err(|e| api(500, "internal", e.to_string()))?;
        Ok(Receipt {
            index,
            leaf_hash: hex::encode(leaf_hash(line.as_bytes())),
            tracking_code: hex::encode(code),
            short_code: short_tracking_code(&code),
            checkpoint,
            inclusion_proof: proof.iter().map(hex::encode).collect(),
            size: tree.len(),
        })
    }

    /// The receipt of entry `index` as of now (for a test's stand-in
    /// client that posts with [`append_unchecked`]).
    ///
    /// [`append_unchecked`]: MemoryBoard::append_unchecked
    pub fn receipt(&self, id: &str, index: u64) -> Result<Receipt> {
        self.with_log(id, |log| self.receipt_in(id, log, index))
    }

    fn board_post(&self, id: &str, payload: Payload) -> Result<(Post, Body)> {
        let body = Body {
            election: id.to_owned(),
            author: AuthorKey::of(&self.key),
            payload,
        };
        Ok((Post::sign(&body, &self.key)?, body))
    }

    /// Create an election: entry 0 is its manifest, which must be valid
    /// (SPEC.md §10.7).
    pub fn create_election(&self, id: &str, manifest: &Manifest) -> Result<Created> {
        let (post, body) = self.board_post(id, Payload::Manifest(manifest.clone()))?;
        let mut logs = self
            .logs
            .lock()
            .map_err(|_| api(500, "internal", "lock poisoned"))?;
        if logs.contains_key(id) {
            return Err(api(409, "exists", "election exists"));
        }
        let mut log = Vec::new();
        let line = Self::line(&log, &post)?;
        let board = AuthorKey::of(&self.key);
        Election::begin(&body, leaf_hash(line.as_bytes()), Some(&board))
            .map_err(|v| refused(&v))?;
        log.push(line);
        let receipt = self.receipt_in(id, &log, 0)?;
        logs.insert(id.to_owned(), log);
        Ok(Created {
            election: id.to_owned(),
            index: 0,
            receipt,
        })
    }

    /// An administrator's action: the board entry `make` gives from the
    /// state (or the rule that forbids it), checked and appended.
    fn admin(
        &self,
        id: &str,
        make: impl FnOnce(&Election) -> std::result::Result<Payload, Violation>,
    ) -> Result<Receipt> {
        self.with_log(id, |log| {
            let mut state = replay(log)?;
            let payload = make(&state).map_err(|v| refused(&v))?;
            let (post, body) = self.board_post(id, payload)?;
            state
                .apply(log.len() as u64, &body, post.body_text(), Trust::Nothing)
                .map_err(|v| refused(&v))?;
            let index = Self::append(log, &post)?;
            self.receipt_in(id, log, index)
        })
    }

    /// `close-commits`: cut round-1 commits off (SPEC.md §10.3 rule 2).
    pub fn close_commits(&self, id: &str) -> Result<Receipt> {
        self.admin(id, Election::close_commits)
    }

    /// `finalize-keys`: post the joint key that follows from the log
    /// (SPEC.md §10.3 rule 5).
    pub fn finalize_keys(&self, id: &str) -> Result<Receipt> {
        self.admin(id, Election::finalize_keys)
    }

    /// `open` (SPEC.md §10.3 rule 8), with a fixed bundle hash.
    pub fn open(&self, id: &str) -> Result<Receipt> {
        self.admin(id, |e| e.open_voting([7; 32]))
    }

    /// `close` (SPEC.md §10.6).
    pub fn close(&self, id: &str) -> Result<Receipt> {
        self.admin(id, Election::close_voting)
    }

    /// Append `post` without checking any rule: stages a board that breaks
    /// them, to test that the tool does not take the board's word.
    pub fn append_unchecked(&self, id: &str, post: Post) -> Result<u64> {
        self.with_log(id, |log| Self::append(log, &post))
    }

    /// Sign `payload` with the board's key, for [`append_unchecked`].
    ///
    /// [`append_unchecked`]: MemoryBoard::append_unchecked
    pub fn sign_as_board(&self, id: &str, payload: Payload) -> Result<Post> {
        Ok(self.board_post(id, payload)?.0)
    }

    /// The raw lines (for tests).
    pub fn lines(&self, id: &str) -> Result<Vec<String>> {
        self.with_log(id, |log| Ok(log.clone()))
    }
}

impl BoardClient for MemoryBoard {
    fn board_info(&self) -> Result<BoardInfo> {
        Ok(BoardInfo {
            origin: ORIGIN.into(),
            key: self.signer()?.verifier().to_vkey(),
            public_key: AuthorKey::of(&self.key).to_hex(),
            mirror: None,
        })
    }

    fn status(&self, election: &str) -> Result<ElectionStatus> {
        self.with_log(election, |log| {
            let state = replay(log)?;
            let (_, checkpoint) = self.checkpoint(election, log)?;
            Ok(ElectionStatus::of(&state, log.len() as u64, checkpoint))
        })
    }

    fn entries(&self, election: &str, start: u64, end: u64) -> Result<EntryPage> {
        self.with_log(election, |log| {
            let len = log.len() as u64;
            let (a, b) = (start.min(len) as usize, end.min(len) as usize);
            Ok(EntryPage {
                lines: log.get(a..b).map(<[String]>::to_vec).unwrap_or_default(),
                log_size: Some(len),
            })
        })
    }

    fn post(&self, election: &str, post: &Post) -> Result<Receipt> {
        let body = post
            .open()
            .map_err(|e| api(400, "invalid_signature", e.to_string()))?;
        self.with_log(election, |log| {
            let mut state = replay(log)?;
            let index = log.len() as u64;
            state
                .apply(index, &body, post.body_text(), Trust::Nothing)
                .map_err(|v| refused(&v))?;
            // SPEC.md §10.5: the result goes on the log with the t-th
            // valid partial decryption, or neither does.
            let mut result = None;
            if matches!(body.payload, Payload::PartialDecryption { .. }) {
                let due = state.result_due().map_err(|v| {
                    api(
                        500,
                        "internal",
                        format!("the result cannot be computed: {v}"),
                    )
                })?;
                if let Some(payload) = due {
                    let (post, body) = self.board_post(election, payload)?;
                    state
                        .apply(index + 1, &body, post.body_text(), Trust::Nothing)
                        .map_err(|v| api(500, "internal", v.to_string()))?;
                    result = Some(post);
                }
            }
            Self::append(log, post)?;
            if let Some(result) = result {
                if let Err(e) = Self::append(log, &result) {
                    log.pop();
                    return Err(e);
                }
            }
            // The receipt's checkpoint covers the result too, as the
            // board's covers its whole group (SPEC.md §10.2).
            self.receipt_in(election, log, index)
        })
    }
}
