//! The appender (SPEC.md §10.8): the one task per process that writes the
//! log, with group commit.
//!
//! It takes every job waiting in its queue (up to `max_batch`), groups them
//! by election, and for each election runs one transaction:
//!
//! 1. lock the election row and read the committed head
//!    ([`Store::lock_head`]); replay whatever other processes appended;
//! 2. check each post against the state ([`Election::apply`]) and give each
//!    accepted one the next index and `prev`;
//! 3. insert the entries, their ballots' R points, the new head and a
//!    checkpoint signed over the new tree; commit;
//! 4. only then answer each post with its receipt.
//!
//! If the transaction fails, the in-memory state is rebuilt from the
//! database and every post of the batch gets `503 unavailable`: no receipt
//! was given for anything that is not durable.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use psephos_crypto::ballot::{short_tracking_code, tracking_code};
use psephos_crypto::log::checkpoint::{sign_checkpoint, Checkpoint};
use psephos_crypto::log::merkle::leaf_hash;
use psephos_crypto::record::{AuthorKey, Body, Entry, Manifest, Payload, Post};
use tokio::sync::{mpsc, oneshot, RwLockWriteGuard};

use crate::board::{advance, catch_up, Board};
use crate::election::{Election, Phase, Trust};
use crate::error::{BoardError, Result};
use crate::store::{NewEntry, Store};

/// What a post's author gets back (SPEC.md §10.2 receipts).
pub use psephos_crypto::wire::Receipt;

/// An administrator's action; the board writes the entry.
#[derive(Debug, Clone, Copy)]
pub enum AdminAction {
    /// `dkg_commits_closed`.
    CloseCommits,
    /// `joint_key`.
    FinalizeKeys,
    /// `voting_opened` with the bundle hash.
    Open([u8; 32]),
    /// `voting_closed`.
    Close,
}

pub(crate) type Reply = oneshot::Sender<Result<Receipt>>;

/// Work for the appender.
#[derive(Debug)]
pub(crate) enum Job {
    /// A checked post from an author.
    Post {
        election: String,
        post: Post,
        body: Box<Body>,
        trust: Trust,
        reply: Reply,
    },
    /// Create an election with its manifest as entry 0.
    Create {
        id: String,
        manifest: Box<Manifest>,
        reply: Reply,
    },
    /// An administrator's action.
    Admin {
        election: String,
        action: AdminAction,
        reply: Option<Reply>,
    },
}

impl Job {
    fn election(&self) -> &str {
        match self {
            Job::Post { election, .. } | Job::Admin { election, .. } => election,
            Job::Create { id, .. } => id,
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The appender loop.
pub(crate) async fn run(board: Weak<Board>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let Some(board) = board.upgrade() else { break };
        let mut jobs = vec![first];
        while jobs.len() < board.limits.max_batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let mut creates = Vec::new();
        let mut groups: Vec<(String, Vec<Job>)> = Vec::new();
        let mut slot: HashMap<String, usize> = HashMap::new();
        for job in jobs {
            if matches!(job, Job::Create { .. }) {
                creates.push(job);
                continue;
            }
            let id = job.election().to_owned();
            let i = *slot.entry(id.clone()).or_insert_with(|| {
                groups.push((id, Vec::new()));
                groups.len() - 1
            });
            groups[i].1.push(job);
        }
        for job in creates {
            if let Job::Create {
                id,
                manifest,
                reply,
            } = job
            {
                let r = create(&board, &id, *manifest).await;
                let _ = reply.send(r);
            }
        }
        for (id, jobs) in groups {
            append_group(&board, &id, jobs).await;
        }
    }
}

fn sign_board(board: &Board, election: &str, payload: Payload) -> Result<(Post, Body)> {
    let body = Body {
        election: election.to_owned(),
        author: AuthorKey::of(&board.key),
        payload,
    };
    let post = Post::sign(&body, &board.key).map_err(|e| BoardError::Internal(e.to_string()))?;
    Ok((post, body))
}

fn entry_line(index: u64, prev: [u8; 32], post: Post) -> Result<String> {
    Entry {
        index,
        prev,
        time: now(),
        body: post.body,
        signature: post.signature,
    }
    .to_line()
    .map_err(|e| BoardError::Internal(e.to_string()))
}

async fn create(board: &Board, id: &str, manifest: Manifest) -> Result<Receipt> {
    let (post, body) = sign_board(board, id, Payload::Manifest(manifest.clone()))?;
    let text = post.body_text().to_owned();
    let line = entry_line(0, psephos_crypto::record::GENESIS_PREV, post)?;
    let leaf = leaf_hash(line.as_bytes());
    let el = Election::new(id.to_owned(), manifest, leaf, body.author);
    let note = checkpoint_note(board, &el)?;
    let mut tx = board.store.begin().await?;
    if !Store::insert_election(&mut tx, id, &el.manifest().title, now()).await? {
        return Err(BoardError::conflict(
            "election_exists",
            format!("an election {id:?} already exists"),
        ));
    }
    let entry = NewEntry {
        index: 0,
        leaf_hash: hex::encode(leaf),
        kind: "manifest",
        author: body.author.to_hex(),
        line,
    };
    Store::write_batch(&mut tx, id, &[entry], &[], "setup", (1, &note)).await?;
    tx.commit().await?;
    let receipt = receipt(&el, 0, &text, &note)?;
    board.insert_cached(id, el);
    Ok(receipt)
}

fn checkpoint_note(board: &Board, el: &Election) -> Result<String> {
    let cp = Checkpoint {
        origin: board.origin_of(&el.id),
        size: el.size,
        root: el.tree.root(),
    };
    sign_checkpoint(&cp, &board.signer).map_err(|e| BoardError::Internal(e.to_string()))
}

fn receipt(el: &Election, index: u64, body_text: &str, note: &str) -> Result<Receipt> {
    let code = tracking_code(body_text.as_bytes());
    let proof = el
        .tree
        .inclusion_proof(index, el.size)
        .map_err(|e| BoardError::Internal(e.to_string()))?;
    let leaf = el
        .tree
        .leaf(index)
        .ok_or_else(|| BoardError::Internal("missing leaf".into()))?;
    Ok(Receipt {
        index,
        leaf_hash: hex::encode(leaf),
        tracking_code: hex::encode(code),
        short_code: short_tracking_code(&code),
        checkpoint: note.to_owned(),
        inclusion_proof: proof.iter().map(hex::encode).collect(),
        size: el.size,
    })
}

fn fail_all(jobs: Vec<Job>, err: impl Fn() -> BoardError) {
    for job in jobs {
        let reply = match job {
            Job::Post { reply, .. } | Job::Create { reply, .. } => Some(reply),
            Job::Admin { reply, .. } => reply,
        };
        if let Some(r) = reply {
            let _ = r.send(Err(err()));
        }
    }
}

/// One transaction for one election's jobs.
async fn append_group(board: &Arc<Board>, id: &str, jobs: Vec<Job>) {
    if let Err(e) = append_once(board, id, jobs).await {
        tracing::error!(election = id, error = %e, "append failed");
    }
}

async fn append_once(board: &Arc<Board>, id: &str, jobs: Vec<Job>) -> Result<()> {
    let arc = match board.election(id).await {
        Ok(a) => a,
        Err(BoardError::Rejected { .. }) => {
            fail_all(jobs, || BoardError::no_election(id));
            return Ok(());
        }
        Err(e) => {
            fail_all(jobs, || {
                BoardError::Unavailable("loading the election failed".into())
            });
            return Err(e);
        }
    };
    let mut tx = match board.store.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            fail_all(jobs, || {
                BoardError::Unavailable("database unavailable".into())
            });
            return Err(e);
        }
    };
    let mut el = arc.write().await;
    let outcome = stage(board, id, &mut tx, &mut el, jobs).await;
    let (replies, pending, note) = match outcome {
        Ok(x) => x,
        Err((e, jobs_left)) => {
            drop(tx);
            reload(board, id, &mut el).await;
            fail_all(jobs_left, || {
                BoardError::Unavailable("the append failed".into())
            });
            return Err(e);
        }
    };
    let Some((entries, points, note_text)) = pending.map(|(e, p)| (e, p, note)) else {
        // Nothing accepted: nothing to write.
        drop(tx);
        for (reply, r) in replies {
            if let Some(reply) = reply {
                let _ = reply.send(match r {
                    Ok(_) => Err(BoardError::Internal("accepted without an entry".into())),
                    Err(e) => Err(e),
                });
            }
        }
        return Ok(());
    };
    let written = async {
        Store::write_batch(
            &mut tx,
            id,
            &entries,
            &points,
            el.phase().as_str(),
            (el.size, &note_text),
        )
        .await?;
        tx.commit().await?;
        Ok::<(), BoardError>(())
    }
    .await;
    if let Err(e) = written {
        reload(board, id, &mut el).await;
        for (reply, _) in replies {
            if let Some(reply) = reply {
                let _ = reply.send(Err(BoardError::Unavailable("the append failed".into())));
            }
        }
        return Err(e);
    }
    // Durable: now, and only now, hand out receipts.
    for (reply, r) in replies {
        let r = match r {
            Ok((index, text)) => receipt(&el, index, &text, &note_text),
            Err(e) => Err(e),
        };
        if let Some(reply) = reply {
            let _ = reply.send(r);
        }
    }
    Ok(())
}

async fn reload(board: &Board, id: &str, el: &mut RwLockWriteGuard<'_, Election>) {
    match board.replay(id).await {
        Ok(fresh) => **el = fresh,
        Err(e) => {
            tracing::error!(election = id, error = %e, "reloading the election failed");
            // The state may hold the failed batch: requests that already
            // hold it must not read it, and the next one replays the log.
            el.poison();
            board.evict(id);
        }
    }
}

type Outcomes = Vec<(Option<Reply>, Result<(u64, String)>)>;
type Staged = (
    Outcomes,
    Option<(Vec<NewEntry>, Vec<(String, u64)>)>,
    String,
);

/// Give an applied post the next index and `prev`, and queue its row.
fn push_entry(
    el: &mut Election,
    post: Post,
    body: &Body,
    applied: &psephos_crypto::election::Effect,
    entries: &mut Vec<NewEntry>,
    points: &mut Vec<(String, u64)>,
) -> Result<u64> {
    let index = el.size;
    let line = entry_line(index, el.head, post)?;
    let leaf = leaf_hash(line.as_bytes());
    advance(el, leaf);
    points.extend(applied.r_points.iter().map(|p| (hex::encode(p), index)));
    entries.push(NewEntry {
        index,
        leaf_hash: hex::encode(leaf),
        kind: body.payload.type_name(),
        author: body.author.to_hex(),
        line,
    });
    Ok(index)
}

/// Steps 1–2: sync with the database, apply the jobs in memory, and sign
/// the checkpoint over the result.
async fn stage(
    board: &Board,
    id: &str,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    el: &mut Election,
    jobs: Vec<Job>,
) -> std::result::Result<Staged, (BoardError, Vec<Job>)> {
    let head = match Store::lock_head(tx, id).await {
        Ok(Some(h)) => h,
        Ok(None) => {
            fail_all(jobs, || BoardError::no_election(id));
            return Ok((Vec::new(), None, String::new()));
        }
        Err(e) => return Err((e, jobs)),
    };
    if head.size != el.size || head.head != hex::encode(el.head) {
        if head.size > el.size {
            let sync = async {
                let rows = Store::entries_in(tx, id, el.size, head.size).await?;
                catch_up(el, &rows)
            }
            .await;
            if let Err(e) = sync {
                return Err((e, jobs));
            }
        }
        if head.size != el.size || head.head != hex::encode(el.head) {
            return Err((
                BoardError::Internal(format!(
                    "{id}: memory (size {}) disagrees with the database (size {})",
                    el.size, head.size
                )),
                jobs,
            ));
        }
    }
    let mut outcomes: Outcomes = Vec::with_capacity(jobs.len());
    let mut entries = Vec::new();
    let mut points = Vec::new();
    for job in jobs {
        let (post, body, trust, reply) = match job {
            Job::Post {
                post,
                body,
                trust,
                reply,
                ..
            } => (post, body, trust, Some(reply)),
            Job::Admin { action, reply, .. } => {
                let payload = match action {
                    AdminAction::CloseCommits => el.close_commits(),
                    AdminAction::FinalizeKeys => el.finalize_keys(),
                    AdminAction::Open(bundle) => el.open_voting(bundle),
                    AdminAction::Close => el.close_voting(),
                };
                match payload.and_then(|p| sign_board(board, id, p)) {
                    Ok((post, body)) => (post, Box::new(body), Trust::Nothing, reply),
                    Err(e) => {
                        outcomes.push((reply, Err(e)));
                        continue;
                    }
                }
            }
            Job::Create { reply, .. } => {
                outcomes.push((
                    Some(reply),
                    Err(BoardError::Internal("create in an append group".into())),
                ));
                continue;
            }
        };
        match el.apply(&body, post.body_text(), trust) {
            Ok(applied) => {
                let text = post.body_text().to_owned();
                match push_entry(el, post, &body, &applied, &mut entries, &mut points) {
                    Ok(index) => outcomes.push((reply, Ok((index, text)))),
                    // The state was changed by apply: the caller rebuilds it.
                    Err(e) => return Err((e, Vec::new())),
                }
            }
            Err(e) => outcomes.push((reply, Err(e))),
        }
    }
    // SPEC.md §10.5: the t-th valid partial decryption brings the result,
    // in the same transaction (its receipt implies the result is durable).
    if el.phase() == Phase::Closed
        && el.rules.result().is_none()
        && el.rules.partials().len() >= el.t() as usize
    {
        let result = el
            .result_due()
            .and_then(|p| p.ok_or_else(|| BoardError::Internal("no result due".into())))
            .and_then(|p| sign_board(board, id, p));
        let appended = result.and_then(|(post, body)| {
            let applied = el.apply(&body, post.body_text(), Trust::Nothing)?;
            push_entry(el, post, &body, &applied, &mut entries, &mut points)
        });
        if let Err(e) = appended {
            return Err((e, Vec::new()));
        }
    }
    if entries.is_empty() {
        return Ok((outcomes, None, String::new()));
    }
    let note = match checkpoint_note(board, el) {
        Ok(n) => n,
        Err(e) => return Err((e, Vec::new())),
    };
    Ok((outcomes, Some((entries, points)), note))
}
