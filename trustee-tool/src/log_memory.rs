//! What a trustee remembers of a board's log across runs, and how it
//! checks every log it is served against it (SPEC.md §8.5.6, §14.2).
//!
//! The key file keeps, per election, the largest board-signed checkpoint
//! note this trustee checked against the entries it read, and the SHA-256
//! of the tally it decrypted ([`tally_hash`]). Before `decrypt` acts, the
//! log it is served must extend the kept checkpoint: the tree of the
//! entries read has the kept root at the kept size. Otherwise the board
//! signed two histories (a fork, a rewritten log): the tool builds
//! [`Evidence`] (SPEC.md §10.9.4), writes it beside the key file, offers
//! it to every manifest witness, and stops with
//! [`TrusteeError::Equivocation`] without posting. A log (or latest
//! checkpoint) shorter than the kept checkpoint is a rollback
//! ([`TrusteeError::Rollback`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use psephos_crypto::elgamal::Ciphertext;
use psephos_crypto::log::checkpoint::{open_checkpoint, Checkpoint, NoteVerifier};
use psephos_crypto::log::evidence::{Evidence, EvidenceKind, PrefixProof};
use psephos_crypto::log::merkle::MerkleTree;
use psephos_crypto::witness::WitnessSet;
use sha2::{Digest, Sha256};

use crate::board::{check_election_id, BoardClient};
use crate::error::{Result, TrusteeError};
use crate::state::TrusteeKeyFile;
use crate::view::{fetch_view, ElectionView, Reading};

/// A log read whole and checked against the board's latest signed
/// checkpoint and the key file's memory (SPEC.md §14.2).
#[derive(Debug)]
pub struct CheckedLog {
    /// The election as read.
    pub view: ElectionView,
    /// The Merkle tree of the entries read (SPEC.md §7.1).
    pub tree: MerkleTree,
    /// The board's latest signed checkpoint note, as served.
    pub note: String,
    /// It, opened.
    pub checkpoint: Checkpoint,
    /// The board's note key.
    pub board: NoteVerifier,
    /// The board's note key as a vkey (for evidence).
    pub board_vkey: String,
}

/// SHA-256 of a tally (SPEC.md §14.2): over the concatenated canonical
/// 32-byte encodings `R ‖ C` of its ciphertexts in tally order (contest by
/// contest, option by option, as in `voting_closed`'s tally), no prefix.
pub fn tally_hash(ciphertexts: &[Ciphertext]) -> String {
    let mut h = Sha256::new();
    for ct in ciphertexts {
        h.update(ct.R.as_bytes());
        h.update(ct.C.as_bytes());
    }
    hex::encode(h.finalize())
}

/// `<keyfile>.evidence-<election>.json` (SPEC.md §14.2).
pub fn evidence_path(key_file: &Path, election: &str) -> PathBuf {
    let mut s = key_file.as_os_str().to_owned();
    s.push(format!(".evidence-{election}.json"));
    PathBuf::from(s)
}

fn misbehaves(why: impl Into<String>) -> TrusteeError {
    TrusteeError::BoardMisbehaves(why.into())
}

/// Open `note` with the board's key and check it names `election`'s log.
pub fn open_note(note: &str, board: &NoteVerifier, election: &str) -> Result<Checkpoint> {
    let (cp, _) = open_checkpoint(note, board)
        .map_err(|e| misbehaves(format!("checkpoint not signed by the board's key: {e}")))?;
    if !cp.origin.ends_with(&format!("/{election}")) {
        return Err(misbehaves(format!(
            "checkpoint of log {:?}, not of election {election:?}",
            cp.origin
        )));
    }
    Ok(cp)
}

/// Whether `cp` is a checkpoint of the log whose tree is `tree`:
/// `Some(true)` yes, `Some(false)` another history, `None` the checkpoint
/// is larger than the entries read.
pub fn matches(tree: &MerkleTree, cp: &Checkpoint) -> Option<bool> {
    if cp.size > tree.len() {
        return None;
    }
    tree.root_at(cp.size).ok().map(|root| root == cp.root)
}

/// Read the whole log of `election` (SPEC.md §8.5.5) with the board's
/// latest signed checkpoint, check one against the other and both against
/// what `file` remembers (SPEC.md §14.2); then remember the checkpoint if
/// it is larger.
pub fn fetch_checked<B: BoardClient>(
    board: &B,
    file: &mut TrusteeKeyFile,
    election: &str,
) -> Result<CheckedLog> {
    let info = board.board_info()?;
    let verifier = NoteVerifier::from_vkey(&info.key)
        .map_err(|e| misbehaves(format!("the board's note key: {e}")))?;
    // The checkpoint first, then the entries: an append-only log served
    // after its checkpoint holds it.
    let note = board.status(election)?.checkpoint;
    let checkpoint = open_note(&note, &verifier, election)?;
    let view = fetch_view(board, election, Reading::Everything)?;
    let tree = MerkleTree::from_leaves(view.leaves.clone());
    match matches(&tree, &checkpoint) {
        Some(true) => {}
        Some(false) => {
            return Err(misbehaves(format!(
                "the board's latest checkpoint (size {}) is not the tree of the entries it serves",
                checkpoint.size
            )))
        }
        None => {
            return Err(misbehaves(format!(
                "the board's latest checkpoint covers {} entries but it serves {}",
                checkpoint.size,
                tree.len()
            )))
        }
    }
    let log = CheckedLog {
        view,
        tree,
        note,
        checkpoint,
        board: verifier,
        board_vkey: info.key,
    };
    if let Some(held) = file.checkpoint(election).map(str::to_owned) {
        let held_cp = open_note(&held, &log.board, election)?;
        check_extends(&log, file.path(), election, &held, &held_cp)?;
        if log.checkpoint.size > held_cp.size {
            file.remember_checkpoint(election, &log.note)?;
        }
    } else if file.stage(election)?.is_some() {
        file.remember_checkpoint(election, &log.note)?;
    }
    Ok(log)
}

/// Check that the served log extends the checkpoint `held` (SPEC.md
/// §14.2); on equivocation write and offer the evidence and fail.
pub fn check_extends(
    log: &CheckedLog,
    key_file: &Path,
    election: &str,
    held: &str,
    held_cp: &Checkpoint,
) -> Result<()> {
    if held_cp.size > log.checkpoint.size || held_cp.size > log.tree.len() {
        return Err(TrusteeError::Rollback {
            held: held_cp.size,
            served: log.tree.len(),
            served_checkpoint: log.checkpoint.size,
        });
    }
    if matches(&log.tree, held_cp) == Some(true) {
        return Ok(());
    }
    let evidence = equivocation(log, election, held, held_cp)?;
    Err(report(&evidence, key_file, log, election))
}

/// Evidence that `held` and the served checkpoint are two histories
/// (SPEC.md §10.9.4): `same_size`, or `prefix_mismatch` with a consistency
/// proof from the tool's own tree of the served log. `held` is no larger
/// than the served checkpoint, and its root differs from the served tree's
/// at its size.
pub fn equivocation(
    log: &CheckedLog,
    election: &str,
    held: &str,
    held_cp: &Checkpoint,
) -> Result<Evidence> {
    let internal = |e: psephos_crypto::log::merkle::MerkleError| {
        TrusteeError::Protocol(format!("consistency proof: {e}"))
    };
    let (kind, proof) = if held_cp.size == log.checkpoint.size {
        (EvidenceKind::SameSize, None)
    } else {
        let old_root = log.tree.root_at(held_cp.size).map_err(internal)?;
        let hashes = log
            .tree
            .consistency_proof(held_cp.size, log.checkpoint.size)
            .map_err(internal)?;
        (
            EvidenceKind::PrefixMismatch,
            Some(PrefixProof::new(
                held_cp.size,
                &old_root,
                log.checkpoint.size,
                &hashes,
            )),
        )
    };
    let evidence = Evidence {
        election: election.to_owned(),
        board_key: log.board_vkey.clone(),
        kind,
        detected: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        held: held.to_owned(),
        presented: log.note.clone(),
        proof,
        message: format!(
            "a trustee held the board's checkpoint of size {} and was served a log whose tree \
             at that size has another root (latest checkpoint size {})",
            held_cp.size, log.checkpoint.size
        ),
    };
    evidence
        .verify()
        .map_err(|e| TrusteeError::Protocol(format!("could not build evidence: {e}")))?;
    Ok(evidence)
}

/// Write `evidence` beside the key file, offer it to every manifest
/// witness (best effort), and give the error to stop with.
pub fn report(
    evidence: &Evidence,
    key_file: &Path,
    log: &CheckedLog,
    election: &str,
) -> TrusteeError {
    let path = evidence_path(key_file, election);
    let json = match serde_json::to_vec_pretty(evidence) {
        Ok(j) => j,
        Err(e) => return TrusteeError::Protocol(format!("cannot serialize evidence: {e}")),
    };
    if let Err(source) = std::fs::write(&path, json) {
        return TrusteeError::Io {
            action: "write evidence to",
            path,
            source,
        };
    }
    let posted = post_to_witnesses(evidence, &log.view, election);
    TrusteeError::Equivocation {
        evidence_file: path,
        message: evidence.message.clone(),
        posted,
    }
}

fn http() -> Option<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(20))
        .build()
        .ok()
}

/// `POST {url}/api/v1/elections/{id}/equivocation` to every manifest
/// witness (SPEC.md §10.9.4, §14.2); says which accepted it.
fn post_to_witnesses(evidence: &Evidence, view: &ElectionView, election: &str) -> String {
    let witnesses = &view.manifest().witnesses;
    if witnesses.is_empty() || check_election_id(election).is_err() {
        return "the manifest names no witness to send it to".into();
    }
    let Some(client) = http() else {
        return "could not start an HTTP client to send it to the witnesses".into();
    };
    let mut out = Vec::new();
    for w in witnesses {
        let url = format!(
            "{}/api/v1/elections/{election}/equivocation",
            w.url.trim_end_matches('/')
        );
        let res = client.post(&url).json(evidence).send();
        out.push(match res {
            Ok(r) if r.status().is_success() => format!("witness {} accepted it", w.name),
            Ok(r) => format!("witness {} answered HTTP {}", w.name, r.status().as_u16()),
            Err(_) => format!("witness {} unreachable", w.name),
        });
    }
    out.join("; ")
}

/// GET `{url}/api/v1/elections/{id}/checkpoint` of a witness (SPEC.md
/// §10.9.1): its latest checkpoint note, or `None`.
fn witness_checkpoint(url: &str, election: &str) -> Option<String> {
    check_election_id(election).ok()?;
    let url = format!(
        "{}/api/v1/elections/{election}/checkpoint",
        url.trim_end_matches('/')
    );
    let r = http()?.get(url).send().ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.text().ok()
}

/// Whether the log is witnessed up to `min_size` (SPEC.md §14.1, §14.2):
/// `Ok(None)` when the manifest's quorum `k` is 0 or a board-signed
/// checkpoint of this log of more than `min_size - 1` entries carries valid
/// cosignatures of at least `k` manifest witnesses — the board's latest,
/// or one a witness serves, consistent with the served log; otherwise
/// `Ok(Some(what it waits for))`. A witness serving a checkpoint of another
/// history is equivocation (evidence written, error).
pub fn witnessed(
    log: &CheckedLog,
    key_file: &Path,
    election: &str,
    min_size: u64,
) -> Result<Option<String>> {
    let manifest = log.view.manifest();
    if manifest.witness_quorum == 0 {
        return Ok(None);
    }
    let set = WitnessSet::new(&manifest.witnesses, manifest.witness_quorum)
        .map_err(|v| misbehaves(format!("the manifest's witnesses: {v}")))?;
    let count = |note: &str| set.count(note, &log.board).ok();
    // Each witness serves the board's note with its own cosignature (the
    // board shows only the mirrors registered with it). Every note counted
    // is a checkpoint of the served log (checked against its tree) of at
    // least `min_size` entries, and a witness that cosigned a larger one
    // vouched for its prefix too: the cosigners of all of them add up.
    let mut cosigners: Vec<String> = Vec::new();
    let mut best: Vec<String> = Vec::new();
    let mut add = |size: u64, names: Vec<String>, best: &mut Vec<String>| {
        if size < min_size {
            return;
        }
        for n in names {
            if !cosigners.contains(&n) {
                cosigners.push(n);
            }
        }
        *best = set
            .witnesses()
            .map(|w| w.name.clone())
            .filter(|n| cosigners.contains(n))
            .collect();
    };
    if let Some(q) = count(&log.note) {
        add(q.checkpoint.size, q.cosigned_by, &mut best);
    }
    if best.len() >= set.quorum() {
        return Ok(None);
    }
    for w in set.witnesses() {
        let Some(note) = witness_checkpoint(&w.url, election) else {
            continue;
        };
        let Ok(cp) = open_note(&note, &log.board, election) else {
            continue;
        };
        match matches(&log.tree, &cp) {
            Some(false) if cp.size <= log.checkpoint.size => {
                let evidence = equivocation(log, election, &note, &cp)?;
                return Err(report(&evidence, key_file, log, election));
            }
            Some(true) if cp.size >= min_size => {
                if let Some(q) = count(&note) {
                    add(q.checkpoint.size, q.cosigned_by, &mut best);
                }
            }
            _ => {}
        }
        if best.len() >= set.quorum() {
            return Ok(None);
        }
    }
    let missing: Vec<&str> = set
        .witnesses()
        .map(|w| w.name.as_str())
        .filter(|n| !best.iter().any(|b| b == n))
        .collect();
    Ok(Some(format!(
        "cosignatures of {} of the manifest's witnesses on a checkpoint of at least {min_size} \
         entries (cosigned: {}; not yet: {})",
        set.quorum(),
        if best.is_empty() {
            "none".to_owned()
        } else {
            best.join(", ")
        },
        missing.join(", ")
    )))
}
