#![cfg(not(target_arch = "wasm32"))]

//! `recheck::proofs_to_ask` and `recheck::judge` without a network
//! (SPEC.md §13.5, §14.1, §10.9.4): a receipt and the checkpoints the
//! board and the witnesses showed, made in memory with a board key, Merkle
//! trees of made-up entries (an honest history and forks of it) and
//! witness cosignatures. The proofs are answered as the server that
//! showed the largest checkpoint would, from its own tree. Every key is
//! fixed: the same run every time.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;
use psephos_crypto::ballot::{short_tracking_code, tracking_code};
use psephos_crypto::log::checkpoint::{add_cosignature, open_checkpoint, Cosigner, NoteSigner};
use psephos_crypto::log::evidence::EvidenceKind;
use psephos_crypto::log::{leaf_hash, sign_checkpoint, Checkpoint, MerkleTree};
use psephos_crypto::witness::Witness;
use psephos_voter::api::ConsistencyProof;
use psephos_voter::receipt::{Receipt, RECEIPT_FORMAT};
use psephos_voter::recheck::{judge, proofs_to_ask, Outcome, ReceiptCheck, Sighting, Verdict};

const ORIGIN: &str = "board.test";
const ID: &str = "e1";
const BOARD_URL: &str = "https://board.test";
/// When evidence is found (Unix seconds).
const DETECTED: u64 = 1_700_000_500;

fn board_signer() -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[7; 32])).unwrap()
}

/// `n` entries; from `fork_at` on, other entries than the honest ones.
fn tree(n: u64, fork_at: Option<u64>) -> MerkleTree {
    MerkleTree::from_leaves(
        (0..n)
            .map(|i| {
                let branch = if fork_at.is_some_and(|f| i >= f) {
                    "fork"
                } else {
                    "honest"
                };
                leaf_hash(format!("entry {i} of the {branch} history").as_bytes())
            })
            .collect(),
    )
}

/// The board's signed note of `t`'s first `size` entries.
fn note(t: &MerkleTree, size: u64) -> String {
    let cp = Checkpoint {
        origin: format!("{ORIGIN}/{ID}"),
        size,
        root: t.root_at(size).unwrap(),
    };
    sign_checkpoint(&cp, &board_signer()).unwrap()
}

/// A witness of the manifest and its cosigning key.
fn witness(name: &str, seed: u8) -> (Witness, Cosigner) {
    let cosigner = Cosigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap();
    let w = Witness {
        name: name.into(),
        key: cosigner.verifier().to_vkey(),
        url: format!("https://{name}.test"),
    };
    (w, cosigner)
}

fn cosign(note: &str, by: &Cosigner, time: u64) -> String {
    add_cosignature(note, &board_signer().verifier(), by, time).unwrap()
}

/// Three witnesses; the receipts below name them with quorum `k`.
struct Witnesses {
    a: (Witness, Cosigner),
    b: (Witness, Cosigner),
    c: (Witness, Cosigner),
}

fn witnesses() -> Witnesses {
    Witnesses {
        a: witness("witness-a", 21),
        b: witness("witness-b", 22),
        c: witness("witness-c", 23),
    }
}

impl Witnesses {
    fn list(&self) -> Vec<Witness> {
        vec![self.a.0.clone(), self.b.0.clone(), self.c.0.clone()]
    }
}

/// The receipt of entry `index` in `t`'s checkpoint of `size` entries,
/// naming the board and `witnesses` with quorum `k`.
fn receipt(t: &MerkleTree, index: u64, size: u64, witnesses: &[Witness], k: u32) -> Receipt {
    let code = tracking_code(format!("ballot at {index}").as_bytes());
    let r = Receipt {
        format: RECEIPT_FORMAT.into(),
        board_url: Some(BOARD_URL.into()),
        board_key: board_signer().verifier().to_vkey(),
        election: ID.into(),
        index,
        leaf_hash: hex::encode(t.leaf(index).unwrap()),
        tracking_code: hex::encode(code),
        short_code: short_tracking_code(&code),
        checkpoint: note(t, size),
        size,
        inclusion_proof: t
            .inclusion_proof(index, size)
            .unwrap()
            .iter()
            .map(hex::encode)
            .collect(),
        witnesses: witnesses.to_vec(),
        witness_quorum: k,
    };
    r.verify(&r.board().unwrap()).unwrap();
    r
}

fn sighting(server: &str, url: &str, note: &str) -> Sighting {
    Sighting {
        server: server.into(),
        url: url.into(),
        note: Some(note.into()),
        error: None,
    }
}

fn board_sighting(note: &str) -> Sighting {
    sighting("board", BOARD_URL, note)
}

fn witness_sighting(w: &Witness, note: &str) -> Sighting {
    sighting(&w.name, &w.url, note)
}

fn unreachable(w: &Witness) -> Sighting {
    Sighting {
        server: w.name.clone(),
        url: w.url.clone(),
        note: None,
        error: Some("connection refused".into()),
    }
}

/// Every proof [`proofs_to_ask`] asks for, answered from the tree of the
/// server asked (`trees`: URL → its log).
fn answer(
    receipt: &Receipt,
    sightings: &[Sighting],
    trees: &BTreeMap<&str, &MerkleTree>,
) -> Vec<ConsistencyProof> {
    let board = receipt.board().unwrap();
    proofs_to_ask(receipt, &board, sightings)
        .unwrap()
        .iter()
        .map(|ask| {
            let t = trees
                .get(ask.url.as_str())
                .unwrap_or_else(|| panic!("a proof asked of {}", ask.url));
            ConsistencyProof {
                from: ask.from,
                to: ask.to,
                proof: t
                    .consistency_proof(ask.from, ask.to)
                    .unwrap()
                    .iter()
                    .map(hex::encode)
                    .collect(),
            }
        })
        .collect()
}

fn check(receipt: &Receipt, sightings: &[Sighting], proofs: &[ConsistencyProof]) -> ReceiptCheck {
    judge(
        receipt,
        &receipt.board().unwrap(),
        sightings,
        proofs,
        DETECTED,
    )
    .unwrap()
}

/// Each server's outcome, in sighting order.
fn outcomes(report: &ReceiptCheck) -> Vec<(String, Outcome)> {
    report
        .servers
        .iter()
        .map(|s| (s.server.clone(), s.outcome.clone()))
        .collect()
}

/// One history of 13 entries; the ballot is entry 9 in the board's
/// checkpoint of 10. The board now shows 12 entries carrying the
/// cosignatures of witnesses a and b it received, witness a its own
/// checkpoint of 13 and witness b its own of 12: every server holds the
/// ballot, the quorum of 2 is met on the checkpoint of 12.
#[test]
fn one_history_cosigned_by_the_quorum_is_witnessed() {
    let w = witnesses();
    let honest = tree(13, None);
    let r = receipt(&honest, 9, 10, &w.list(), 2);
    let board12 = cosign(&cosign(&note(&honest, 12), &w.a.1, 1000), &w.b.1, 1001);
    let a13 = cosign(&note(&honest, 13), &w.a.1, 1002);
    let b12 = cosign(&note(&honest, 12), &w.b.1, 1001);
    let sightings = vec![
        board_sighting(&board12),
        witness_sighting(&w.a.0, &a13),
        witness_sighting(&w.b.0, &b12),
        witness_sighting(&w.c.0, &note(&honest, 11)),
    ];
    // The largest checkpoint is witness a's: every smaller size is asked
    // of it, once each.
    let board = r.board().unwrap();
    let asks = proofs_to_ask(&r, &board, &sightings).unwrap();
    let mut asked: Vec<(String, u64, u64)> =
        asks.iter().map(|a| (a.url.clone(), a.from, a.to)).collect();
    asked.sort();
    let a_url = w.a.0.url.clone();
    assert_eq!(
        asked,
        vec![
            (a_url.clone(), 10, 13),
            (a_url.clone(), 11, 13),
            (a_url.clone(), 12, 13)
        ]
    );
    let trees = BTreeMap::from([(w.a.0.url.as_str(), &honest)]);
    let report = check(&r, &sightings, &answer(&r, &sightings, &trees));
    assert_eq!(report.verdict, Verdict::Witnessed, "{}", report.summary);
    assert_eq!(report.quorum.needed, 2);
    assert_eq!(report.quorum.cosigned_by, vec!["witness-a", "witness-b"]);
    assert_eq!(report.quorum.size, 12);
    assert!(report.evidence.is_none());
    assert_eq!(
        outcomes(&report),
        vec![
            ("board".to_string(), Outcome::Holds { size: 12 }),
            ("witness-a".to_string(), Outcome::Holds { size: 13 }),
            ("witness-b".to_string(), Outcome::Holds { size: 12 }),
            ("witness-c".to_string(), Outcome::Holds { size: 11 }),
        ]
    );
    assert!(
        report.summary.contains("witness-a, witness-b"),
        "{}",
        report.summary
    );
}

/// A board that relays no cosignature cannot keep the quorum from being
/// counted: the witnesses' own copies of one checkpoint, each with its
/// own line, count together (SPEC.md §14.1: the lines are on the
/// checkpoint, whichever note carries them).
#[test]
fn cosignatures_on_copies_of_one_checkpoint_count_together() {
    let w = witnesses();
    let honest = tree(13, None);
    let r = receipt(&honest, 9, 10, &w.list(), 2);
    let a12 = cosign(&note(&honest, 12), &w.a.1, 1000);
    let b12 = cosign(&note(&honest, 12), &w.b.1, 1001);
    let sightings = vec![
        board_sighting(&note(&honest, 12)),
        witness_sighting(&w.a.0, &a12),
        witness_sighting(&w.b.0, &b12),
        unreachable(&w.c.0),
    ];
    let trees = BTreeMap::from([(BOARD_URL, &honest)]);
    let report = check(&r, &sightings, &answer(&r, &sightings, &trees));
    assert_eq!(report.verdict, Verdict::Witnessed, "{}", report.summary);
    assert_eq!(report.quorum.cosigned_by, vec!["witness-a", "witness-b"]);
    assert_eq!(report.quorum.size, 12);
}

/// Fewer cosignatures than the quorum on any one checkpoint: one history,
/// but the voter is told to check again later. Cosignatures of one
/// witness on two sizes count once; cosignatures of a key the manifest
/// does not name do not count.
#[test]
fn a_quorum_not_met_yet_is_waiting() {
    let w = witnesses();
    let honest = tree(13, None);
    let r = receipt(&honest, 9, 10, &w.list(), 2);
    let (_, outsider) = witness("outsider", 29);
    let board12 = cosign(&cosign(&note(&honest, 12), &w.a.1, 1000), &outsider, 1000);
    let a13 = cosign(&note(&honest, 13), &w.a.1, 1002);
    let sightings = vec![
        board_sighting(&board12),
        witness_sighting(&w.a.0, &a13),
        witness_sighting(&w.b.0, &note(&honest, 11)),
        unreachable(&w.c.0),
    ];
    let trees = BTreeMap::from([(w.a.0.url.as_str(), &honest)]);
    let report = check(&r, &sightings, &answer(&r, &sightings, &trees));
    assert_eq!(report.verdict, Verdict::Waiting, "{}", report.summary);
    assert_eq!(report.quorum.needed, 2);
    assert_eq!(report.quorum.cosigned_by, vec!["witness-a"]);
    assert!(report.evidence.is_none());
    assert!(report.summary.contains("1 of the 2"), "{}", report.summary);
}

/// A witness that has not reached the receipt's checkpoint yet is behind
/// (consistent so far, proven by the largest server), which is no
/// failure; one that cannot be asked is unreachable. Neither keeps a
/// quorum the others meet from being met.
#[test]
fn behind_and_unreachable_witnesses_do_not_fail_a_quorum_the_others_meet() {
    let w = witnesses();
    let honest = tree(13, None);
    let r = receipt(&honest, 9, 10, &w.list(), 1);
    let board11 = cosign(&note(&honest, 11), &w.a.1, 1000);
    let b6 = cosign(&note(&honest, 6), &w.b.1, 990);
    let sightings = vec![
        board_sighting(&board11),
        witness_sighting(&w.a.0, &cosign(&note(&honest, 11), &w.a.1, 1000)),
        witness_sighting(&w.b.0, &b6),
        unreachable(&w.c.0),
    ];
    let trees = BTreeMap::from([(BOARD_URL, &honest)]);
    let report = check(&r, &sightings, &answer(&r, &sightings, &trees));
    assert_eq!(report.verdict, Verdict::Witnessed, "{}", report.summary);
    assert_eq!(report.quorum.cosigned_by, vec!["witness-a"]);
    assert_eq!(
        outcomes(&report),
        vec![
            ("board".to_string(), Outcome::Holds { size: 11 }),
            ("witness-a".to_string(), Outcome::Holds { size: 11 }),
            ("witness-b".to_string(), Outcome::Behind { size: 6 }),
            (
                "witness-c".to_string(),
                Outcome::Unreachable {
                    why: "connection refused".into()
                }
            ),
        ]
    );
    // A cosignature on a checkpoint that does not hold the ballot yet
    // does not count: with witness a unreachable too, b's is not enough.
    let sightings = vec![
        board_sighting(&note(&honest, 11)),
        unreachable(&w.a.0),
        witness_sighting(&w.b.0, &b6),
        unreachable(&w.c.0),
    ];
    let report = check(&r, &sightings, &answer(&r, &sightings, &trees));
    assert_eq!(report.verdict, Verdict::Waiting, "{}", report.summary);
    assert!(report.quorum.cosigned_by.is_empty());
    // The receipt itself may be the largest checkpoint: the smaller ones
    // are proven against it by the board the receipt names.
    let sightings = vec![
        board_sighting(&note(&honest, 10)),
        witness_sighting(&w.a.0, &cosign(&note(&honest, 10), &w.a.1, 1000)),
        witness_sighting(&w.b.0, &b6),
        unreachable(&w.c.0),
    ];
    let asks = proofs_to_ask(&r, &r.board().unwrap(), &sightings).unwrap();
    assert_eq!(asks.len(), 1);
    assert_eq!(
        (asks[0].url.as_str(), asks[0].from, asks[0].to),
        (BOARD_URL, 6, 10)
    );
    let report = check(&r, &sightings, &answer(&r, &sightings, &trees));
    assert_eq!(report.verdict, Verdict::Witnessed, "{}", report.summary);
    assert_eq!(report.servers[2].outcome, Outcome::Behind { size: 6 });
}

/// Two board-signed checkpoints of 12 entries with different roots: a
/// fork, with `same_size` evidence anyone verifies with the board key.
/// Nothing is counted on a forked history.
#[test]
fn same_size_different_roots_is_a_fork_with_same_size_evidence() {
    let w = witnesses();
    let honest = tree(12, None);
    let forked = tree(12, Some(11));
    let r = receipt(&honest, 9, 10, &w.list(), 1);
    let board12 = note(&honest, 12);
    let forked12 = cosign(&note(&forked, 12), &w.a.1, 1000);
    let sightings = vec![
        board_sighting(&board12),
        witness_sighting(&w.a.0, &forked12),
        unreachable(&w.b.0),
        unreachable(&w.c.0),
    ];
    let trees = BTreeMap::from([(BOARD_URL, &honest)]);
    let report = check(&r, &sightings, &answer(&r, &sightings, &trees));
    assert_eq!(report.verdict, Verdict::Fork, "{}", report.summary);
    let evidence = report.evidence.clone().unwrap();
    assert_eq!(evidence.kind, EvidenceKind::SameSize);
    assert_eq!(evidence.verify(), Ok(()));
    assert_eq!(evidence.election, ID);
    assert_eq!(evidence.board_key, r.board_key);
    assert_eq!(evidence.detected, DETECTED);
    assert_eq!(
        (evidence.held.as_str(), evidence.presented.as_str()),
        (forked12.as_str(), board12.as_str())
    );
    assert!(evidence.proof.is_none());
    assert!(matches!(
        report.servers[0].outcome,
        Outcome::Holds { size: 12 }
    ));
    assert!(
        matches!(report.servers[1].outcome, Outcome::Fork { .. }),
        "{:?}",
        report.servers[1]
    );
    assert!(report.quorum.cosigned_by.is_empty());
    assert!(report.summary.starts_with("FORK"), "{}", report.summary);
}

/// The voter was served a fork of 10 entries (split from entry 6 on) and
/// holds its receipt; an honest witness shows 13 entries and its proof
/// from 10 implies another root at 10: `prefix_mismatch` evidence. With a
/// forked size that is a power of two the proof leaves that root out:
/// no evidence, the witness "could not prove" (SPEC.md §13.5 step 3).
#[test]
fn a_larger_honest_witness_catches_a_smaller_forked_board_with_prefix_evidence() {
    let w = witnesses();
    let honest = tree(13, None);
    let forked = tree(10, Some(6));
    let r = receipt(&forked, 7, 10, &w.list(), 1);
    let a13 = cosign(&note(&honest, 13), &w.a.1, 1000);
    let sightings = vec![
        board_sighting(&note(&forked, 10)),
        witness_sighting(&w.a.0, &a13),
        unreachable(&w.b.0),
        unreachable(&w.c.0),
    ];
    let trees = BTreeMap::from([(w.a.0.url.as_str(), &honest)]);
    let proofs = answer(&r, &sightings, &trees);
    assert_eq!(proofs.len(), 1, "one size to prove: 10");
    let report = check(&r, &sightings, &proofs);
    assert_eq!(report.verdict, Verdict::Fork, "{}", report.summary);
    let evidence = report.evidence.clone().unwrap();
    assert_eq!(evidence.kind, EvidenceKind::PrefixMismatch);
    assert_eq!(evidence.verify(), Ok(()));
    assert_eq!(evidence.held, r.checkpoint);
    assert_eq!(evidence.presented, a13);
    let proof = evidence.proof.as_ref().unwrap();
    assert_eq!((proof.old_size, proof.new_size), (10, 13));
    assert_eq!(proof.old_root, hex::encode(honest.root_at(10).unwrap()));
    assert!(matches!(report.servers[0].outcome, Outcome::Fork { .. }));
    assert!(report.quorum.cosigned_by.is_empty());

    // The same at 8 entries, a power of two: not proven, so failed.
    let forked8 = tree(8, Some(6));
    let r8 = receipt(&forked8, 7, 8, &w.list(), 1);
    let sightings = vec![
        board_sighting(&note(&forked8, 8)),
        witness_sighting(&w.a.0, &a13),
        unreachable(&w.b.0),
        unreachable(&w.c.0),
    ];
    let report = check(&r8, &sightings, &answer(&r8, &sightings, &trees));
    assert_eq!(report.verdict, Verdict::Failed, "{}", report.summary);
    assert!(report.evidence.is_none());
    match &report.servers[0].outcome {
        Outcome::Failed { why } => assert!(why.contains("could not prove"), "{why}"),
        other => panic!("{other:?}"),
    }
}

/// A proof that is missing, not hex, or of other hashes proves nothing:
/// the check fails, and it is not called a fork (no evidence).
#[test]
fn a_missing_or_garbage_proof_fails_without_calling_a_fork() {
    let w = witnesses();
    let honest = tree(13, None);
    let r = receipt(&honest, 9, 10, &w.list(), 1);
    let a13 = cosign(&note(&honest, 13), &w.a.1, 1000);
    let sightings = vec![
        board_sighting(&note(&honest, 12)),
        witness_sighting(&w.a.0, &a13),
        unreachable(&w.b.0),
        unreachable(&w.c.0),
    ];
    let trees = BTreeMap::from([(w.a.0.url.as_str(), &honest)]);
    let good = answer(&r, &sightings, &trees);
    assert_eq!(check(&r, &sightings, &good).verdict, Verdict::Witnessed);

    let not_hex: Vec<ConsistencyProof> = good
        .iter()
        .map(|p| ConsistencyProof {
            proof: vec!["not hex".into()],
            ..p.clone()
        })
        .collect();
    let other_hashes: Vec<ConsistencyProof> = good
        .iter()
        .map(|p| ConsistencyProof {
            proof: p
                .proof
                .iter()
                .enumerate()
                .map(|(i, _)| hex::encode(leaf_hash(format!("junk {i}").as_bytes())))
                .collect(),
            ..p.clone()
        })
        .collect();
    let wrong_sizes: Vec<ConsistencyProof> = good
        .iter()
        .map(|p| ConsistencyProof {
            from: p.from + 100,
            ..p.clone()
        })
        .collect();
    for (what, proofs) in [
        ("missing", Vec::new()),
        ("only one of two", good[..1].to_vec()),
        ("not hex", not_hex),
        ("other hashes", other_hashes),
        ("for other sizes", wrong_sizes),
    ] {
        let report = check(&r, &sightings, &proofs);
        assert_eq!(
            report.verdict,
            Verdict::Failed,
            "{what}: {}",
            report.summary
        );
        assert!(report.evidence.is_none(), "{what}");
        assert!(
            report
                .servers
                .iter()
                .all(|s| !matches!(s.outcome, Outcome::Fork { .. })),
            "{what}: {:?}",
            report.servers
        );
        assert!(
            report
                .servers
                .iter()
                .any(|s| matches!(s.outcome, Outcome::Failed { .. })),
            "{what}: {:?}",
            report.servers
        );
    }
}

/// A cosignature line under a witness's name and key ID that does not
/// verify was forged (a witness never signs a bad line): the note's
/// cosignatures are not counted (`WitnessSet::count` refuses the note),
/// so the quorum is not met on its strength.
#[test]
fn a_forged_cosignature_line_is_not_counted() {
    let w = witnesses();
    let honest = tree(12, None);
    let r = receipt(&honest, 9, 10, &w.list(), 1);
    let genuine = cosign(&note(&honest, 12), &w.a.1, 1000);
    let forged = {
        let (_, lines) = open_checkpoint(&genuine, &board_signer().verifier()).unwrap();
        let mut line = lines[0].clone();
        line.signature[20] ^= 1;
        format!("{}{}", note(&honest, 12), line.to_line())
    };
    let sightings = vec![
        board_sighting(&forged),
        unreachable(&w.a.0),
        unreachable(&w.b.0),
        unreachable(&w.c.0),
    ];
    let trees = BTreeMap::from([(BOARD_URL, &honest)]);
    let report = check(&r, &sightings, &answer(&r, &sightings, &trees));
    assert_eq!(report.verdict, Verdict::Waiting, "{}", report.summary);
    assert!(report.quorum.cosigned_by.is_empty());
    assert_eq!(report.servers[0].outcome, Outcome::Holds { size: 12 });
    // The genuine line counts.
    let sightings = vec![
        board_sighting(&genuine),
        unreachable(&w.a.0),
        unreachable(&w.b.0),
        unreachable(&w.c.0),
    ];
    let report = check(&r, &sightings, &answer(&r, &sightings, &trees));
    assert_eq!(report.verdict, Verdict::Witnessed, "{}", report.summary);
    assert_eq!(report.quorum.cosigned_by, vec!["witness-a"]);
}

/// Answers that do not open under the board key for this election's log
/// fail their server; the receipt's history is then not confirmed.
#[test]
fn checkpoints_of_another_key_or_log_fail_their_server() {
    let w = witnesses();
    let honest = tree(12, None);
    let r = receipt(&honest, 9, 10, &w.list(), 1);
    let other_key = {
        let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[8; 32])).unwrap();
        let cp = Checkpoint {
            origin: format!("{ORIGIN}/{ID}"),
            size: 12,
            root: honest.root(),
        };
        sign_checkpoint(&cp, &signer).unwrap()
    };
    let other_log = {
        let cp = Checkpoint {
            origin: format!("{ORIGIN}/e2"),
            size: 12,
            root: honest.root(),
        };
        sign_checkpoint(&cp, &board_signer()).unwrap()
    };
    for bad in [other_key, other_log, "garbage".to_string()] {
        let sightings = vec![
            board_sighting(&bad),
            witness_sighting(&w.a.0, &cosign(&note(&honest, 12), &w.a.1, 1000)),
            unreachable(&w.b.0),
            unreachable(&w.c.0),
        ];
        let trees = BTreeMap::from([(w.a.0.url.as_str(), &honest)]);
        let report = check(&r, &sightings, &answer(&r, &sightings, &trees));
        assert_eq!(report.verdict, Verdict::Failed, "{}", report.summary);
        assert!(report.evidence.is_none());
        assert!(
            matches!(report.servers[0].outcome, Outcome::Failed { .. }),
            "{:?}",
            report.servers[0]
        );
        assert_eq!(report.servers[1].outcome, Outcome::Holds { size: 12 });
    }
}

/// Without a witness quorum (an old receipt, or a manifest without
/// witnesses) a board whose log holds the ballot is enough; a board that
/// cannot be asked confirms nothing: wait, do not say "witnessed".
#[test]
fn without_a_quorum_the_board_must_still_show_the_ballot() {
    let honest = tree(12, None);
    let r = receipt(&honest, 9, 10, &[], 0);
    let sightings = vec![board_sighting(&note(&honest, 12))];
    let trees = BTreeMap::from([(BOARD_URL, &honest)]);
    let report = check(&r, &sightings, &answer(&r, &sightings, &trees));
    assert_eq!(report.verdict, Verdict::Witnessed, "{}", report.summary);
    assert_eq!(report.quorum.needed, 0);

    let down = vec![Sighting {
        server: "board".into(),
        url: BOARD_URL.into(),
        note: None,
        error: Some("connection refused".into()),
    }];
    let report = check(&r, &down, &[]);
    assert_eq!(report.verdict, Verdict::Waiting, "{}", report.summary);
    assert!(matches!(
        report.servers[0].outcome,
        Outcome::Unreachable { .. }
    ));
}
