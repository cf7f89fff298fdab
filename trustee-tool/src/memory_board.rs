//! An in-memory stand-in for the bulletin board, for unit tests of the
//! trustee steps without a server. It keeps real entry lines (hash chain,
//! signatures) and the ceremony's ordering rules (SPEC.md §10.3), and it
//! computes `joint_key` with this crate's own [`expected_joint`]. It does
//! *not* check ballot proofs, so tests can put invalid ballots on it; the
//! real board refuses them.

use std::collections::BTreeMap;
use std::sync::Mutex;

use ed25519_dalek::SigningKey;
use psephos_crypto::log::merkle::leaf_hash;
use psephos_crypto::record::{AuthorKey, Body, Entry, Manifest, Payload, Post, GENESIS_PREV};
use rand_core::OsRng;

use crate::board::{BoardClient, BoardInfo, ElectionStatus, EntryPage, Receipt};
use crate::ceremony::expected_joint;
use crate::error::{Result, TrusteeError};
use crate::view::{ElectionView, ViewBuilder};

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

fn view_of(id: &str, lines: &[String]) -> Result<ElectionView> {
    let mut b = ViewBuilder::new(id, None);
    for line in lines {
        b.push(line)?;
    }
    b.finish()
}

impl MemoryBoard {
    /// An empty board with a fresh key.
    pub fn new() -> Self {
        MemoryBoard {
            key: SigningKey::generate(&mut OsRng),
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

    fn append(log: &mut Vec<String>, post: Post) -> Result<u64> {
        let index = log.len() as u64;
        let prev = log.last().map_or(GENESIS_PREV, |l| leaf_hash(l.as_bytes()));
        let entry = Entry {
            index,
            prev,
            time: 1_700_000_000 + index,
            body: post.body,
            signature: post.signature,
        };
        log.push(entry.to_line()?);
        Ok(index)
    }

    fn board_post(&self, id: &str, payload: Payload) -> Result<Post> {
        let body = Body {
            election: id.to_owned(),
            author: AuthorKey::of(&self.key),
            payload,
        };
        Ok(Post::sign(&body, &self.key)?)
    }

    /// Create an election: entry 0 is its manifest.
    pub fn create_election(&self, id: &str, manifest: &Manifest) -> Result<()> {
        let post = self.board_post(id, Payload::Manifest(manifest.clone()))?;
        let mut logs = self
            .logs
            .lock()
            .map_err(|_| api(500, "internal", "lock poisoned"))?;
        if logs.contains_key(id) {
            return Err(api(409, "exists", "election exists"));
        }
        let mut log = Vec::new();
        Self::append(&mut log, post)?;
        logs.insert(id.to_owned(), log);
        Ok(())
    }

    /// `close-commits`: cut round-1 commits off (SPEC.md §10.3 rule 2).
    pub fn close_commits(&self, id: &str) -> Result<()> {
        let post = self.board_post(id, Payload::DkgCommitsClosed {})?;
        self.with_log(id, |log| {
            let view = view_of(id, log)?;
            let n = view.n() as usize;
            if view.joint.is_some()
                || view.commits_closed.is_some()
                || view.registrations.len() != n
                || view.commits.len() == n
            {
                return Err(api(
                    409,
                    "wrong_state",
                    "round 1 is not waiting for commits",
                ));
            }
            if view.commits.len() < view.t() as usize {
                return Err(api(409, "ceremony_incomplete", "fewer than t commits"));
            }
            Self::append(log, post).map(|_| ())
        })
    }

    /// `finalize-keys`: post the joint key that follows from the log.
    pub fn finalize_keys(&self, id: &str) -> Result<()> {
        let post = {
            let lines = self.with_log(id, |log| Ok(log.clone()))?;
            let view = view_of(id, &lines)?;
            if view.joint.is_some() || view.registrations.len() != view.n() as usize {
                return Err(api(409, "wrong_state", "not in the key ceremony"));
            }
            let j = expected_joint(&view)
                .map_err(|e| api(409, "ceremony_incomplete", e.to_string()))?;
            self.board_post(
                id,
                Payload::JointKey {
                    qualified: j.qualified,
                    public_key: j.public_key,
                    verification_keys: j.verification_keys,
                },
            )?
        };
        self.with_log(id, |log| Self::append(log, post).map(|_| ()))
    }

    /// `open`.
    pub fn open(&self, id: &str) -> Result<()> {
        let post = self.board_post(
            id,
            Payload::VotingOpened {
                bundle_sha256: [7; 32],
            },
        )?;
        self.with_log(id, |log| {
            let view = view_of(id, log)?;
            if view.acks.len() < view.t() as usize || view.credentials.is_none() {
                return Err(api(409, "wrong_state", "not ready"));
            }
            Self::append(log, post).map(|_| ())
        })
    }

    /// `close`.
    pub fn close(&self, id: &str) -> Result<()> {
        let post = self.board_post(id, Payload::VotingClosed {})?;
        self.with_log(id, |log| Self::append(log, post).map(|_| ()))
    }

    /// Append `post` without checking any rule: stages a board that breaks
    /// them, to test that the tool does not take the board's word.
    pub fn append_unchecked(&self, id: &str, post: Post) -> Result<u64> {
        self.with_log(id, |log| Self::append(log, post))
    }

    /// The raw lines (for tests).
    pub fn lines(&self, id: &str) -> Result<Vec<String>> {
        self.with_log(id, |log| Ok(log.clone()))
    }
}

impl BoardClient for MemoryBoard {
    fn board_info(&self) -> Result<BoardInfo> {
        Ok(BoardInfo {
            origin: "memory".into(),
            key: String::new(),
            public_key: AuthorKey::of(&self.key).to_hex(),
        })
    }

    fn status(&self, election: &str) -> Result<ElectionStatus> {
        self.with_log(election, |log| {
            let view = view_of(election, log)?;
            let state = match (&view.joint, view.opened, view.closed) {
                (_, _, Some(_)) => "closed",
                (_, Some(_), None) => "open",
                (Some(_), None, None) => "ready",
                (None, _, _) if view.registrations.is_empty() => "setup",
                _ => "key_ceremony",
            };
            Ok(ElectionStatus {
                id: election.to_owned(),
                state: state.into(),
                size: log.len() as u64,
                ..ElectionStatus::default()
            })
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
        if body.election != election {
            return Err(api(400, "wrong_election", "body is for another election"));
        }
        if matches!(
            body.payload,
            Payload::Manifest(_)
                | Payload::DkgCommitsClosed {}
                | Payload::JointKey { .. }
                | Payload::VotingOpened { .. }
                | Payload::VotingClosed {}
                | Payload::Result { .. }
        ) {
            return Err(api(403, "board_only", "written by the board itself"));
        }
        let copy: Post = serde_json::from_str(
            &serde_json::to_string(post).map_err(|e| api(400, "malformed", e.to_string()))?,
        )
        .map_err(|e| api(400, "malformed", e.to_string()))?;
        self.with_log(election, |log| {
            let view = view_of(election, log)?;
            let n = view.n() as usize;
            match &body.payload {
                Payload::DkgCommit { .. } if view.registrations.len() != n => {
                    return Err(api(
                        409,
                        "wrong_state",
                        "dkg_commit needs all registrations",
                    ))
                }
                Payload::DkgCommitments { .. }
                    if view.commits.len() != n && view.commits_closed.is_none() =>
                {
                    return Err(api(409, "wrong_state", "reveal needs all commits"))
                }
                _ => {}
            }
            let before = view.warnings.len();
            let mut tentative = log.clone();
            let index = Self::append(&mut tentative, copy)?;
            let after = view_of(election, &tentative)?;
            if let Some(w) = after.warnings.get(before) {
                return Err(api(409, "refused", w.clone()));
            }
            *log = tentative;
            Ok(Receipt {
                index,
                size: log.len() as u64,
                ..Receipt::default()
            })
        })
    }
}
