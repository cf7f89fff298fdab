//! Re-checking a receipt against the board and the election's witnesses
//! (SPEC.md §13.5, §14.1, §14.2): is the ballot still in the one history
//! everybody is shown, and has a quorum of witnesses cosigned it?
//!
//! The check needs no copy of the log, so the page (which does the
//! fetching itself) and the command line share it in two pure steps:
//!
//! 1. [`proofs_to_ask`]: from the receipt and each server's latest
//!    checkpoint (a [`Sighting`]), the consistency proofs needed — from
//!    every smaller size to the largest checkpoint, asked of the server
//!    that showed it;
//! 2. [`judge`]: every checkpoint must be a prefix of the largest one.
//!    A checkpoint of the same size with another root, or one the largest
//!    server's own proof shows is not its prefix, is a fork: the board
//!    signed two histories, and [`Evidence::between`] makes the evidence
//!    witnesses accept (SPEC.md §10.9.4). Then the manifest witnesses'
//!    cosignatures are counted ([`WitnessSet::count`]) on the checkpoints
//!    that hold the ballot.

use psephos_crypto::log::evidence::Evidence;
use psephos_crypto::log::{verify_consistency, Checkpoint};
use psephos_crypto::witness::WitnessSet;
use serde::{Deserialize, Serialize};

use crate::api::{board_hashes, ConsistencyProof};
use crate::election::Board;
use crate::error::{Result, VoterError};
use crate::receipt::Receipt;

/// What one server showed: its latest checkpoint note, or why there is
/// none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sighting {
    /// `board`, or the witness's name.
    pub server: String,
    /// Its base URL.
    pub url: String,
    /// `GET …/checkpoint`'s answer.
    #[serde(default)]
    pub note: Option<String>,
    /// Why there is no usable note: without `note`, why the server could
    /// not be asked; with one (which then does not open), why its answer
    /// was refused.
    #[serde(default)]
    pub error: Option<String>,
}

/// A consistency proof to fetch: `GET {url}/api/v1/elections/{id}/proof/consistency?from=…&to=…`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofAsk {
    /// The server that showed the largest checkpoint.
    pub url: String,
    /// The smaller size.
    pub from: u64,
    /// The largest checkpoint's size.
    pub to: u64,
}

/// How one server's checkpoint relates to the receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Its log holds the receipt's ballot, in the one history seen.
    Holds {
        /// Its checkpoint's size.
        size: u64,
    },
    /// It has not caught up with the receipt yet (consistent so far).
    Behind {
        /// Its checkpoint's size.
        size: u64,
    },
    /// It could not be asked.
    Unreachable {
        /// Why.
        why: String,
    },
    /// Its answer does not check out.
    Failed {
        /// Why.
        why: String,
    },
    /// Its checkpoint and another one, both signed by the board, are two
    /// histories.
    Fork {
        /// What the two are.
        why: String,
    },
}

/// One server's line of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerReport {
    /// `board` or the witness's name.
    pub server: String,
    /// Its URL.
    pub url: String,
    /// What it showed.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The receipt check's conclusion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The ballot is in the one history seen, cosigned by the quorum.
    Witnessed,
    /// The ballot is in the one history seen; the quorum has not cosigned
    /// it yet (or no server could be asked).
    Waiting,
    /// A server's answer does not check out (no proof of a fork).
    Failed,
    /// The board signed two histories: [`ReceiptCheck::evidence`] proves it.
    Fork,
}

/// The cosignatures counted (SPEC.md §14.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuorumReport {
    /// `k`.
    pub needed: usize,
    /// The witnesses whose valid cosignature is on a checkpoint holding the ballot.
    pub cosigned_by: Vec<String>,
    /// That checkpoint's size (0 if none).
    pub size: u64,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptCheck {
    /// The conclusion.
    pub verdict: Verdict,
    /// Per server.
    pub servers: Vec<ServerReport>,
    /// The cosignature count.
    pub quorum: QuorumReport,
    /// Proof that the board signed two histories, to keep and to post to
    /// every witness.
    pub evidence: Option<Evidence>,
    /// One sentence for the voter.
    pub summary: String,
}

/// A checkpoint with where it came from (`None`: the receipt's).
struct Seen<'a> {
    from: Option<usize>,
    url: &'a str,
    note: &'a str,
    cp: Checkpoint,
}

/// The receipt's checkpoint and every sighting's that opens under the
/// board key, and the index of the largest (the first of that size).
fn seen<'a>(
    receipt: &'a Receipt,
    board: &Board,
    sightings: &'a [Sighting],
) -> Result<(Vec<Seen<'a>>, usize)> {
    let ours = receipt.verify(board)?;
    let home = receipt.board_url.as_deref().unwrap_or_default();
    let mut all = vec![Seen {
        from: None,
        url: home,
        note: &receipt.checkpoint,
        cp: ours,
    }];
    for (i, s) in sightings.iter().enumerate() {
        if let Some(note) = &s.note {
            if let Ok(cp) = board.open_checkpoint(&receipt.election, note) {
                all.push(Seen {
                    from: Some(i),
                    url: &s.url,
                    note,
                    cp,
                });
            }
        }
    }
    let mut largest = 0;
    for (i, s) in all.iter().enumerate() {
        if s.cp.size > all[largest].cp.size {
            largest = i;
        }
    }
    Ok((all, largest))
}

/// Step 1: the consistency proofs [`judge`] needs, from every smaller size
/// to the largest checkpoint seen, asked of the server that showed it.
pub fn proofs_to_ask(
    receipt: &Receipt,
    board: &Board,
    sightings: &[Sighting],
) -> Result<Vec<ProofAsk>> {
    let (all, largest) = seen(receipt, board, sightings)?;
    let top = &all[largest];
    let mut asks: Vec<ProofAsk> = Vec::new();
    for s in &all {
        if s.cp.size < top.cp.size && s.cp.size > 0 && !asks.iter().any(|a| a.from == s.cp.size) {
            asks.push(ProofAsk {
                url: top.url.to_owned(),
                from: s.cp.size,
                to: top.cp.size,
            });
        }
    }
    Ok(asks)
}

/// Step 2: judge the sightings with the proofs fetched for
/// [`proofs_to_ask`]'s asks (missing ones count as not given). `detected`
/// is the time (Unix seconds) written into evidence.
pub fn judge(
    receipt: &Receipt,
    board: &Board,
    sightings: &[Sighting],
    proofs: &[ConsistencyProof],
    detected: u64,
) -> Result<ReceiptCheck> {
    let witnesses = WitnessSet::new(&receipt.witnesses, receipt.witness_quorum).map_err(|v| {
        VoterError::input(format!("The receipt's witness list cannot be used: {v}."))
    })?;
    let (all, largest) = seen(receipt, board, sightings)?;
    let top = &all[largest];
    let mut evidence = None;
    // Per checkpoint seen: Ok(()) a prefix of the largest, Err(outcome).
    let mut verdicts: Vec<std::result::Result<(), Outcome>> = Vec::with_capacity(all.len());
    for s in &all {
        verdicts.push(prefix_of_top(
            receipt,
            s,
            top,
            proofs,
            detected,
            &mut evidence,
        ));
    }
    let receipt_holds = verdicts[0].is_ok();
    let mut servers = Vec::with_capacity(sightings.len());
    for (i, sighting) in sightings.iter().enumerate() {
        let outcome = match all.iter().position(|s| s.from == Some(i)) {
            Some(at) => match &verdicts[at] {
                Ok(()) if !receipt_holds => Outcome::Failed {
                    why: "the receipt's checkpoint is not in the history it shows".into(),
                },
                Ok(()) if all[at].cp.size >= all[0].cp.size => Outcome::Holds {
                    size: all[at].cp.size,
                },
                Ok(()) => Outcome::Behind {
                    size: all[at].cp.size,
                },
                Err(o) => o.clone(),
            },
            None => match (&sighting.note, &sighting.error) {
                (Some(note), error) => Outcome::Failed {
                    why: match (error, board.open_checkpoint(&receipt.election, note)) {
                        (Some(why), _) => why.clone(),
                        (None, Err(e)) => format!("its checkpoint does not check out: {e}"),
                        (None, Ok(_)) => "its checkpoint does not check out".into(),
                    },
                },
                (None, Some(why)) => Outcome::Unreachable { why: why.clone() },
                (None, None) => Outcome::Unreachable {
                    why: "not asked".into(),
                },
            },
        };
        servers.push(ServerReport {
            server: sighting.server.clone(),
            url: sighting.url.clone(),
            outcome,
        });
    }
    let mut quorum = QuorumReport {
        needed: witnesses.quorum(),
        cosigned_by: Vec::new(),
        size: 0,
    };
    if evidence.is_none() && receipt_holds {
        // Cosignatures count together whichever server's copy of a note
        // carries them: a witness serves the board's note with its own
        // line only (SPEC.md §10.9.1), and the board need not relay any.
        // Every checkpoint here is a prefix of the largest and holds the
        // ballot, and a witness that cosigned a larger tree vouched for its
        // prefixes: the cosigners of all of them add up. `size` is the
        // smallest such checkpoint a counted cosignature is on.
        let mut names: Vec<String> = Vec::new();
        for (s, v) in all.iter().zip(&verdicts) {
            if v.is_err() || s.cp.size < all[0].cp.size {
                continue;
            }
            if let Ok(q) = witnesses.count(s.note, &board.verifier) {
                if !q.cosigned_by.is_empty() && (quorum.size == 0 || s.cp.size < quorum.size) {
                    quorum.size = s.cp.size;
                }
                names.extend(q.cosigned_by);
            }
        }
        // Once each, in manifest order.
        quorum.cosigned_by = witnesses
            .witnesses()
            .filter(|w| names.contains(&w.name))
            .map(|w| w.name.clone())
            .collect();
    }
    let held = servers
        .iter()
        .any(|s| matches!(s.outcome, Outcome::Holds { .. }));
    let failed = !receipt_holds
        || servers
            .iter()
            .any(|s| matches!(s.outcome, Outcome::Failed { .. } | Outcome::Fork { .. }));
    let (verdict, summary) = if let Some(e) = &evidence {
        (
            Verdict::Fork,
            format!(
                "FORK: the board signed two histories of this election ({}). Keep the evidence; it is being sent to every witness.",
                e.message
            ),
        )
    } else if failed {
        (
            Verdict::Failed,
            "A server's answer does not check out (see each line); keep this receipt.".into(),
        )
    } else if quorum.cosigned_by.len() >= quorum.needed && quorum.needed > 0 {
        (
            Verdict::Witnessed,
            format!(
                "Your ballot is in the one public history, cosigned by {} of the {} witnesses needed ({}).",
                quorum.cosigned_by.len(),
                quorum.needed,
                quorum.cosigned_by.join(", ")
            ),
        )
    } else if quorum.needed == 0 && held {
        (
            Verdict::Witnessed,
            "Your ballot is in the public history; this election names no witness quorum.".into(),
        )
    } else if quorum.needed == 0 {
        (
            Verdict::Waiting,
            "No server showed a log that holds your ballot yet (see each line): check again later."
                .into(),
        )
    } else {
        (
            Verdict::Waiting,
            format!(
                "Your ballot is in the public history; {} of the {} witness cosignatures needed are there so far (witnesses cosign within minutes: check again later).",
                quorum.cosigned_by.len(),
                quorum.needed
            ),
        )
    };
    Ok(ReceiptCheck {
        verdict,
        servers,
        quorum,
        evidence,
        summary,
    })
}

/// Whether `s` is a prefix of the largest checkpoint `top`; on a fork,
/// set `evidence` (the first found).
fn prefix_of_top(
    receipt: &Receipt,
    s: &Seen<'_>,
    top: &Seen<'_>,
    proofs: &[ConsistencyProof],
    detected: u64,
    evidence: &mut Option<Evidence>,
) -> std::result::Result<(), Outcome> {
    let fork = |proof: Option<&[psephos_crypto::log::Hash]>, evidence: &mut Option<Evidence>| {
        let message = format!(
            "the board's checkpoint of {} entries (from {}) and its checkpoint of {} entries (from {}) are two histories",
            s.cp.size,
            name(s.url),
            top.cp.size,
            name(top.url)
        );
        Evidence::between(
            &receipt.election,
            &receipt.board_key,
            s.note,
            top.note,
            proof,
            detected,
            message.clone(),
        )
        .map(|e| {
            evidence.get_or_insert(e);
            Outcome::Fork { why: message }
        })
    };
    if s.cp.size == top.cp.size {
        if s.cp.root == top.cp.root {
            return Ok(());
        }
        return Err(fork(None, evidence).unwrap_or_else(|| Outcome::Failed {
            why: "two checkpoints of one size differ".into(),
        }));
    }
    if s.cp.size == 0 {
        return Ok(());
    }
    let Some(proof) = proofs
        .iter()
        .find(|p| p.from == s.cp.size && p.to == top.cp.size)
    else {
        return Err(Outcome::Failed {
            why: format!(
                "{} gave no proof that its log of {} entries extends this checkpoint of {}",
                name(top.url),
                top.cp.size,
                s.cp.size
            ),
        });
    };
    let hashes = board_hashes("consistency proof", &proof.proof)
        .map_err(|e| Outcome::Failed { why: e.to_string() })?;
    match verify_consistency(s.cp.size, top.cp.size, &s.cp.root, &top.cp.root, &hashes) {
        Ok(()) => Ok(()),
        Err(e) => Err(
            fork(Some(&hashes), evidence).unwrap_or_else(|| Outcome::Failed {
                why: format!(
                "{} could not prove that its log of {} entries extends this checkpoint of {} ({e})",
                name(top.url),
                top.cp.size,
                s.cp.size
            ),
            }),
        ),
    }
}

fn name(url: &str) -> &str {
    if url.is_empty() {
        "the receipt"
    } else {
        url
    }
}
