//! Signed checkpoints, mirrors and cosignatures (SPEC.md §11.11, V11).
//!
//! The board's signed checkpoint (C2SP tlog-checkpoint, SPEC.md §7.4) must
//! be signed by the board key, name the origin `<board origin>/<election>`,
//! and state a tree that the record extends: its size is at most the number
//! of entries read and its root is the Merkle root of that many entries. Each
//! mirror's checkpoint must be signed by the same key and agree with the
//! record: a tree no larger than the record's must have the record's root at
//! that size; a larger one must come with a consistency proof (from the
//! mirror) from the record's tree to it. Cosignatures by the keys given are
//! verified on every checkpoint.

use ed25519_dalek::VerifyingKey;
use psephos_crypto::log::merkle::{verify_consistency, Hash, MerkleTree};
use psephos_crypto::log::{open_checkpoint, verify_cosignatures, Checkpoint, NoteVerifier};

use psephos_crypto::witness::{Quorum, WitnessSet};

use crate::error::VerifierError;
use crate::report::{CheckId, Checks, WitnessCosigned};
use crate::VerifyOptions;

const V11: CheckId = CheckId::V11;

/// A server that holds a copy of the log (a mirror, DESIGN.md §5) and
/// answers the read API of SPEC.md §10.
pub trait Mirror: Send {
    /// How the mirror is named in the report (its URL).
    fn name(&self) -> String;
    /// The mirror's latest signed checkpoint of `election` (a signed note).
    fn checkpoint(&self, election: &str) -> Result<String, VerifierError>;
    /// The RFC 6962 consistency proof between two tree sizes.
    fn consistency(&self, election: &str, from: u64, to: u64) -> Result<Vec<Hash>, VerifierError>;
}

/// What V11 needs from the streamed record.
#[derive(Debug)]
pub(crate) struct RecordFacts<'a> {
    pub election: Option<&'a str>,
    pub manifest_author: Option<[u8; 32]>,
    pub tree: &'a MerkleTree,
    /// The last entry that carries the outcome (`voting_closed`, a partial
    /// decryption, `result`).
    pub outcome_last: Option<u64>,
    /// The manifest's witnesses (SPEC.md §14.1), when the manifest is valid.
    pub witnesses: Option<&'a WitnessSet>,
}

/// What V11 found besides failures.
#[derive(Debug, Default)]
pub(crate) struct Anchored {
    /// Warnings for the report.
    pub warnings: Vec<String>,
    /// Per manifest witness, the largest checked size it cosigned.
    pub witnesses: Vec<WitnessCosigned>,
}

/// Note the witnesses' cosignatures on one checkpoint that agrees with the
/// record: each one raises that witness's largest cosigned size.
fn witness_sizes(
    seen: &mut [WitnessCosigned],
    witnesses: Option<&WitnessSet>,
    note: &str,
    board: &NoteVerifier,
) -> Option<Quorum> {
    let q = witnesses?.count(note, board).ok()?;
    for w in seen.iter_mut() {
        if q.cosigned_by.contains(&w.name) {
            w.size = w.size.max(q.checkpoint.size);
        }
    }
    Some(q)
}

/// The key names on a note's signature lines, without verifying anything.
fn signature_key_names(note: &str) -> Vec<String> {
    let Some(split) = note.rfind("\n\n") else {
        return Vec::new();
    };
    note[split + 2..]
        .lines()
        .filter_map(|l| l.strip_prefix("\u{2014} "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_owned)
        .collect()
}

/// Open `note` with the manifest author's key under whichever key name
/// one of its signature lines uses.
fn open_with_manifest_key(note: &str, key: &[u8; 32]) -> Option<(NoteVerifier, Checkpoint)> {
    let vk = VerifyingKey::from_bytes(key).ok()?;
    signature_key_names(note).into_iter().find_map(|name| {
        let verifier = NoteVerifier::new(&name, vk).ok()?;
        let (cp, _) = open_checkpoint(note, &verifier).ok()?;
        Some((verifier, cp))
    })
}

/// Run V11.
pub(crate) fn check(
    checks: &mut Checks,
    opts: &VerifyOptions,
    facts: &RecordFacts<'_>,
) -> Anchored {
    let mut witnesses: Vec<WitnessCosigned> = facts
        .witnesses
        .map(|set| {
            set.witnesses()
                .map(|w| WitnessCosigned {
                    name: w.name.clone(),
                    size: 0,
                })
                .collect()
        })
        .unwrap_or_default();
    let warnings = check_anchors(checks, opts, facts, &mut witnesses);
    Anchored {
        warnings,
        witnesses,
    }
}

fn check_anchors(
    checks: &mut Checks,
    opts: &VerifyOptions,
    facts: &RecordFacts<'_>,
    seen: &mut [WitnessCosigned],
) -> Vec<String> {
    let mut warnings = Vec::new();
    let Some(note) = &opts.checkpoint else {
        if opts.require_cosignatures {
            checks.fail(
                V11,
                None,
                "no signed checkpoint was given, so no witness cosignature can be checked (required by --require-cosignatures)",
            );
        } else {
            checks.skip(
                V11,
                "no signed checkpoint was given (pass --checkpoint FILE with a record file; a board URL serves it)",
            );
        }
        return warnings;
    };
    let tree = facts.tree;
    let opened = match &opts.board_key {
        Some(verifier) => open_checkpoint(note, verifier)
            .map(|(cp, _)| (verifier.clone(), cp))
            .map_err(|e| {
                format!("the board's checkpoint does not verify under the board key: {e}")
            }),
        None => {
            let Some(author) = facts.manifest_author else {
                checks.fail(
                    V11,
                    None,
                    "no board key was given and the record has no manifest to take it from",
                );
                return warnings;
            };
            warnings.push(
                "the board key was not pinned (--board-key): the checkpoint was checked against the key that signed the manifest".into(),
            );
            open_with_manifest_key(note, &author).ok_or_else(|| {
                "the checkpoint is not signed by the key that signed the manifest".to_string()
            })
        }
    };
    let (verifier, cp) = match opened {
        Ok(v) => v,
        Err(e) => {
            checks.count(V11, 1);
            checks.fail(V11, None, e);
            return warnings;
        }
    };
    checks.count(V11, 1);
    if let Some(election) = facts.election {
        let suffix = format!("/{election}");
        match &opts.board_origin {
            Some(origin) if cp.origin != format!("{origin}{suffix}") => checks.fail(
                V11,
                None,
                format!(
                    "checkpoint origin {:?} is not \"{origin}{suffix}\"",
                    cp.origin
                ),
            ),
            None if !cp.origin.ends_with(&suffix) => checks.fail(
                V11,
                None,
                format!(
                    "checkpoint origin {:?} does not name election {election:?}",
                    cp.origin
                ),
            ),
            _ => {}
        }
    }
    if cp.size == 0 {
        checks.fail(
            V11,
            None,
            "the signed checkpoint has size 0: it covers no entry of the record",
        );
    }
    // SPEC.md §11.11: the entries that carry the outcome must lie inside
    // the tree the board signed, or nothing binds the board to them.
    if let Some(last) = facts.outcome_last {
        if cp.size <= last {
            let why = format!(
                "the signed checkpoint (size {}) does not cover entry {last}, the last of voting_closed, the partial decryptions and the result",
                cp.size
            );
            if opts.require_result {
                checks.fail(
                    V11,
                    Some(last),
                    format!("{why} (required by --require-result)"),
                );
            } else {
                checks.note(V11, why);
            }
        }
    }
    match tree.root_at(cp.size) {
        Err(_) => checks.fail(
            V11,
            None,
            format!(
                "the signed checkpoint covers {} entries but the record has only {}: entries are missing",
                cp.size,
                tree.len()
            ),
        ),
        Ok(root) if root != cp.root => checks.fail(
            V11,
            None,
            format!(
                "the signed checkpoint's root for {} entries is {}, the record's is {}",
                cp.size,
                hex::encode(cp.root),
                hex::encode(root)
            ),
        ),
        Ok(_) => {
            checks.note(
                V11,
                format!("board checkpoint: size {} root {} (origin {})", cp.size, hex::encode(cp.root), cp.origin),
            );
            if cp.size < tree.len() {
                checks.note(
                    V11,
                    format!("{} entries are newer than the signed checkpoint", tree.len() - cp.size),
                );
            }
        }
    }
    cosignatures(checks, opts, note, &verifier, "board checkpoint");
    let agrees = tree.root_at(cp.size).is_ok_and(|root| root == cp.root);
    let quorum = if agrees {
        witness_sizes(seen, facts.witnesses, note, &verifier)
    } else {
        None
    };
    if opts.require_cosignatures {
        require_quorum(checks, facts, &cp, quorum.as_ref());
    }

    let election = facts.election.unwrap_or_default();
    for mirror in &opts.mirrors {
        checks.count(V11, 1);
        let name = mirror.name();
        let fail =
            |checks: &mut Checks, m: String| checks.fail(V11, None, format!("mirror {name}: {m}"));
        let mnote = match mirror.checkpoint(election) {
            Ok(n) => n,
            Err(e) => {
                fail(checks, format!("cannot fetch its checkpoint: {e}"));
                continue;
            }
        };
        let mcp = match open_checkpoint(&mnote, &verifier) {
            Ok((c, _)) => c,
            Err(e) => {
                fail(
                    checks,
                    format!("its checkpoint is not signed by the board key: {e}"),
                );
                continue;
            }
        };
        if mcp.origin != cp.origin {
            fail(
                checks,
                format!(
                    "its checkpoint names origin {:?}, the board's {:?}",
                    mcp.origin, cp.origin
                ),
            );
            continue;
        }
        if mcp.size <= tree.len() {
            match tree.root_at(mcp.size) {
                Ok(root) if root == mcp.root => {
                    witness_sizes(seen, facts.witnesses, &mnote, &verifier);
                    checks.note(
                        V11,
                        format!("mirror {name}: checkpoint of size {} agrees with the record", mcp.size),
                    )
                }
                _ => fail(
                    checks,
                    format!(
                        "EQUIVOCATION: the board signed root {} for {} entries, but the record's root at that size is different",
                        hex::encode(mcp.root),
                        mcp.size
                    ),
                ),
            }
        } else {
            let proof = mirror.consistency(election, tree.len(), mcp.size);
            match proof.map_err(|e| e.to_string()).and_then(|p| {
                verify_consistency(tree.len(), mcp.size, &tree.root(), &mcp.root, &p)
                    .map_err(|e| e.to_string())
            }) {
                Ok(()) => checks.note(
                    V11,
                    format!(
                        "mirror {name}: checkpoint of size {} extends the record (consistency proof verified)",
                        mcp.size
                    ),
                ),
                Err(e) => fail(
                    checks,
                    format!(
                        "its checkpoint of size {} is not shown to extend the record's {} entries: {e}",
                        mcp.size,
                        tree.len()
                    ),
                ),
            }
        }
        cosignatures(
            checks,
            opts,
            &mnote,
            &verifier,
            &format!("mirror {name}'s checkpoint"),
        );
    }
    warnings
}

/// `--require-cosignatures` (SPEC.md §11.11, §14.1): the board's
/// checkpoint covers the outcome and carries the manifest's witness quorum.
fn require_quorum(
    checks: &mut Checks,
    facts: &RecordFacts<'_>,
    cp: &Checkpoint,
    quorum: Option<&Quorum>,
) {
    let Some(set) = facts.witnesses else {
        checks.fail(
            V11,
            None,
            "the manifest is not valid, so it names no witnesses to count (required by --require-cosignatures)",
        );
        return;
    };
    if set.quorum() == 0 {
        checks.fail(
            V11,
            None,
            "the manifest names no witness quorum: no cosignature can show that the board kept to one history (required by --require-cosignatures)",
        );
        return;
    }
    if let Some(last) = facts.outcome_last {
        if cp.size <= last {
            checks.fail(
                V11,
                Some(last),
                format!(
                    "the cosigned checkpoint (size {}) does not cover entry {last} of the outcome (required by --require-cosignatures)",
                    cp.size
                ),
            );
        }
    }
    match quorum {
        Some(q) if q.is_met() => checks.note(
            V11,
            format!(
                "board checkpoint of size {} cosigned by {} of the manifest's witnesses ({}); the quorum is {}",
                q.checkpoint.size,
                q.cosigned_by.len(),
                q.cosigned_by.join(", "),
                q.needed
            ),
        ),
        Some(q) => checks.fail(
            V11,
            None,
            format!(
                "the board's checkpoint of size {} carries valid cosignatures of {} manifest witnesses ({}); the quorum is {} (required by --require-cosignatures)",
                q.checkpoint.size,
                q.cosigned_by.len(),
                q.cosigned_by.join(", "),
                q.needed
            ),
        ),
        None => checks.fail(
            V11,
            None,
            "the board's checkpoint does not agree with the record or a witness cosignature on it does not verify (required by --require-cosignatures)",
        ),
    }
}

/// Verify the cosignatures of the keys given on one note.
fn cosignatures(
    checks: &mut Checks,
    opts: &VerifyOptions,
    note: &str,
    log: &NoteVerifier,
    what: &str,
) {
    if opts.cosigners.is_empty() {
        return;
    }
    match verify_cosignatures(note, log, &opts.cosigners) {
        Ok((_, found)) => {
            let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
            checks.note(
                V11,
                format!(
                    "{what}: {} of {} given cosigners cosigned ({})",
                    found.len(),
                    opts.cosigners.len(),
                    names.join(", ")
                ),
            );
            if found.len() < opts.min_cosignatures {
                checks.fail(
                    V11,
                    None,
                    format!(
                        "{what} has {} valid cosignatures, {} required",
                        found.len(),
                        opts.min_cosignatures
                    ),
                );
            }
        }
        Err(e) => checks.fail(
            V11,
            None,
            format!("{what}: a cosignature does not verify: {e}"),
        ),
    }
}
