//! The voter's checks against an in-memory signed log: what a lying board
//! is caught at (SPEC.md §13.1–§13.5). Runs natively and, through
//! `tests/web.rs`, in the browser.

#![cfg(not(target_arch = "wasm32"))]
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{FakeBoard, ID, N, T};
use ed25519_dalek::SigningKey;
use psephos_crypto::election::{Rule, Violation};
use psephos_crypto::elgamal::SecretKey;
use psephos_crypto::record::Payload;
use psephos_crypto::threshold::{joint_key, verification_key};
use psephos_crypto::{Fingerprint, Point};
use psephos_voter::cast::{check_audit_code, AuditCode, PreparedBallot};
use psephos_voter::credential::Credential;
use psephos_voter::election::{Board, SetupScan};
use psephos_voter::http::BoardClient;
use psephos_voter::receipt::{check_consistency, Consistency, Receipt};
use psephos_voter::VoterError;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn credential(rng: &mut ChaCha20Rng) -> Credential {
    Credential::from_key(SigningKey::generate(rng))
}

#[test]
fn election_is_learned_from_the_signed_log() {
    let board = FakeBoard::new();
    let e = board.election();
    assert_eq!(e.contests().len(), 2);
    assert_eq!(e.manifest.trustees.len(), N as usize);
    assert_eq!(e.pk, board.pk());
    assert_eq!(e.qualified, (1..=N).collect::<Vec<_>>());
    assert_eq!(
        e.fingerprint,
        Fingerprint::election(&board.manifest_hash(), &board.pk().to_non_identity())
    );
}

// ---- a lying board: entries that break the election's rules (SPEC.md §13.1) ----

/// The rule the client names when it refuses `board`'s log.
fn refusal(board: &FakeBoard) -> (u64, &'static str, Violation) {
    match board.learn() {
        Err(VoterError::Rule {
            index,
            kind,
            violation,
        }) => (index, kind, violation),
        other => panic!("the client should refuse the log with a broken rule: {other:?}"),
    }
}

/// The honest joint key's fields.
fn honest(board: &FakeBoard) -> (Vec<u32>, psephos_crypto::elgamal::PublicKey, Vec<Point>) {
    match board.honest_joint_key() {
        Payload::JointKey {
            qualified,
            public_key,
            verification_keys,
        } => (qualified, public_key, verification_keys),
        other => panic!("{other:?}"),
    }
}

/// `PK` and the verification keys over the commitments of `dealers` only.
fn key_of(board: &FakeBoard, dealers: &[u32]) -> (psephos_crypto::elgamal::PublicKey, Vec<Point>) {
    let commitments: Vec<Vec<Point>> = dealers
        .iter()
        .map(|&i| board.trustees[i as usize - 1].poly.commitments())
        .collect();
    let refs: Vec<&[Point]> = commitments.iter().map(Vec::as_slice).collect();
    let pk = joint_key(&refs).unwrap();
    let vks = (1..=N)
        .map(|l| *verification_key(l, &refs).unwrap().as_point())
        .collect();
    (pk, vks)
}

#[test]
fn a_joint_key_that_is_not_the_sum_of_the_qualified_commitments_is_refused() {
    let mut board = FakeBoard::seeded(3);
    let (qualified, _, verification_keys) = honest(&board);
    // The board swaps in a key whose secret it knows, re-chains and re-signs.
    let own = SecretKey::random(&mut ChaCha20Rng::seed_from_u64(30)).public_key();
    let key = board.key.clone();
    let index = board.rewrite_last(
        &key,
        Payload::JointKey {
            qualified,
            public_key: own,
            verification_keys,
        },
    );
    let (at, kind, violation) = refusal(&board);
    assert_eq!((at, kind), (index, "joint_key"));
    assert_eq!(violation.rule, Rule::JointKeyMismatch, "{violation}");
    let err = board.learn().unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "entry {index} (joint_key) breaks rule JointKeyMismatch"
        )) && err.contains("Σ A_i0")
            && err.contains("SPEC.md §10.3 rule 5"),
        "{err}"
    );
}

#[test]
fn a_wrong_verification_key_is_refused() {
    let mut board = FakeBoard::seeded(4);
    let (qualified, public_key, mut verification_keys) = honest(&board);
    verification_keys.swap(0, 1);
    let key = board.key.clone();
    let index = board.rewrite_last(
        &key,
        Payload::JointKey {
            qualified,
            public_key,
            verification_keys,
        },
    );
    let (at, _, violation) = refusal(&board);
    assert_eq!(at, index);
    assert_eq!(violation.rule, Rule::JointKeyMismatch);
    assert!(violation.message.contains("[1, 2]"), "{violation}");
}

#[test]
fn a_joint_key_that_leaves_out_a_qualified_dealer_is_refused() {
    // Consistent in itself: PK and X_l over dealers 1 and 2, but dealer 3
    // revealed validly and nobody complained.
    let mut board = FakeBoard::seeded(5);
    let (public_key, verification_keys) = key_of(&board, &[1, 2]);
    let key = board.key.clone();
    let index = board.rewrite_last(
        &key,
        Payload::JointKey {
            qualified: vec![1, 2],
            public_key,
            verification_keys,
        },
    );
    let (at, _, violation) = refusal(&board);
    assert_eq!(at, index);
    assert_eq!(violation.rule, Rule::QualifiedMismatch, "{violation}");
}

#[test]
fn a_joint_key_with_fewer_than_t_qualified_dealers_is_refused() {
    // Only dealer 1 reveals; the board posts a key over it alone.
    let mut board = FakeBoard::with_manifest(6, |_| {});
    board.register_all();
    let reveals = board.commit_all();
    board.reveal(&reveals[0]);
    let (public_key, verification_keys) = key_of(&board, &[1]);
    let key = board.key.clone();
    let index = board.append(
        &key,
        Payload::JointKey {
            qualified: vec![1],
            public_key,
            verification_keys,
        },
    );
    let (at, _, violation) = refusal(&board);
    assert_eq!(at, index);
    assert_eq!(violation.rule, Rule::TooFewQualified, "{violation}");
    assert!(
        violation.message.contains(&format!("the threshold is {T}")),
        "{violation}"
    );
}

#[test]
fn a_joint_key_not_signed_by_the_board_is_refused() {
    let mut board = FakeBoard::seeded(7);
    let payload = board.honest_joint_key();
    let trustee = board.trustees[0].key.clone();
    let index = board.rewrite_last(&trustee, payload);
    let (at, _, violation) = refusal(&board);
    assert_eq!(at, index);
    assert_eq!(violation.rule, Rule::BoardOnly);
}

#[test]
fn an_invalid_manifest_is_refused_at_entry_0() {
    let board = FakeBoard::with_manifest(8, |m| m.threshold = N + 1);
    let mut scan = SetupScan::new(ID, Board::from_info(&board.info).unwrap());
    match scan.push_lines(&board.jsonl()) {
        Err(VoterError::Rule {
            index: 0,
            kind: "manifest",
            violation,
        }) => {
            assert_eq!(violation.rule, Rule::InvalidManifest);
            assert!(violation.to_string().contains("§10.7"), "{violation}");
        }
        other => panic!("{other:?}"),
    }
    assert!(scan.manifest().is_none());
}

/// Serve `board`'s log over the board API (SPEC.md §10.1) on a local port,
/// as the lying board would; returns its base URL and the runtime that
/// serves it (the server stops when the runtime is dropped).
fn serve(board: &FakeBoard) -> (String, tokio::runtime::Runtime) {
    use axum::extract::Query;
    use axum::routing::get;
    use std::collections::HashMap;

    let info = serde_json::to_string(&board.info).unwrap();
    let status = serde_json::to_string(&board.status()).unwrap();
    let lines = board.lines.clone();
    let proofs: Vec<String> = (0..board.tree.len())
        .map(|i| serde_json::to_string(&board.inclusion(i)).unwrap())
        .collect();
    let app = axum::Router::new()
        .route("/api/v1/board", get(move || async move { info }))
        .route(
            &format!("/api/v1/elections/{ID}"),
            get(move || async move { status }),
        )
        .route(
            &format!("/api/v1/elections/{ID}/entries"),
            get(move |Query(q): Query<HashMap<String, usize>>| async move {
                let end = q
                    .get("end")
                    .copied()
                    .unwrap_or(lines.len())
                    .min(lines.len());
                let start = q.get("start").copied().unwrap_or(0).min(end);
                lines[start..end]
                    .iter()
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
            }),
        )
        .route(
            &format!("/api/v1/elections/{ID}/proof/inclusion"),
            get(move |Query(q): Query<HashMap<String, usize>>| async move {
                proofs[q.get("index").copied().unwrap_or(0)].clone()
            }),
        );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rt)
}

#[test]
fn a_lying_board_over_http_is_refused_by_the_library_and_the_command_line() {
    let honest_board = FakeBoard::seeded(9);
    let (url, _rt) = serve(&honest_board);
    let (election, _) = BoardClient::new(&url).unwrap().election(ID).unwrap();
    assert_eq!(election.pk, honest_board.pk());

    let mut board = FakeBoard::seeded(9);
    let (qualified, _, verification_keys) = honest(&board);
    let own = SecretKey::random(&mut ChaCha20Rng::seed_from_u64(90)).public_key();
    let key = board.key.clone();
    let index = board.rewrite_last(
        &key,
        Payload::JointKey {
            qualified,
            public_key: own,
            verification_keys,
        },
    );
    let (url, _rt) = serve(&board);
    match BoardClient::new(&url).unwrap().election(ID) {
        Err(VoterError::Rule {
            index: at,
            violation,
            ..
        }) => {
            assert_eq!(at, index);
            assert_eq!(violation.rule, Rule::JointKeyMismatch);
        }
        other => panic!("{other:?}"),
    }

    // The command line says which entry breaks which rule, and casts nothing.
    let dir = std::env::temp_dir().join(format!("psephos-lying-board-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cred = dir.join("voter.credential");
    let voter = SigningKey::generate(&mut ChaCha20Rng::seed_from_u64(91));
    std::fs::write(
        &cred,
        psephos_crypto::credential::encode_credential(&voter).as_bytes(),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_psephos-vote"))
        .args(["cast", "--board", &url, "--election", ID, "--credential"])
        .arg(&cred)
        .args(["--choose", "mayor=ana"])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "entry {index} (joint_key) breaks rule JointKeyMismatch"
        )) && err.contains("SPEC.md §10.3 rule 5"),
        "{err}"
    );
    assert!(!err.contains("Tracking code"), "{err}");
}

#[test]
fn a_status_naming_another_election_key_is_refused() {
    let board = FakeBoard::new();
    let mut status = board.status();
    status.public_key = Some(
        psephos_crypto::elgamal::SecretKey::random(&mut ChaCha20Rng::seed_from_u64(301))
            .public_key()
            .as_point()
            .to_hex(),
    );
    let mut scan = SetupScan::new(ID, Board::from_info(&board.info).unwrap());
    scan.push_lines(&board.jsonl()).unwrap();
    assert!(scan
        .finish(&status, &board.inclusion(board.joint_key_index()))
        .is_err());
}

#[test]
fn a_checkpoint_signed_by_another_key_or_for_another_log_is_refused() {
    let board = FakeBoard::new();
    let impostor = FakeBoard::seeded(2);
    let mut status = board.status();
    status.checkpoint = impostor.checkpoint();
    let mut scan = SetupScan::new(ID, Board::from_info(&board.info).unwrap());
    scan.push_lines(&board.jsonl()).unwrap();
    assert!(scan
        .finish(&status, &board.inclusion(board.joint_key_index()))
        .is_err());
    let mut scan = SetupScan::new("e2", Board::from_info(&board.info).unwrap());
    assert!(
        scan.push_lines(&board.jsonl()).is_err(),
        "entries of e1 read as e2"
    );
}

#[test]
fn a_rewritten_manifest_breaks_the_chain() {
    let board = FakeBoard::new();
    let tampered = board.jsonl().replacen("Test election", "Test elektion", 1);
    let mut scan = SetupScan::new(ID, Board::from_info(&board.info).unwrap());
    assert!(scan.push_lines(&tampered).is_err());
}

#[test]
fn audit_code_round_trip_names_the_choices_and_catches_a_swap() {
    let mut rng = ChaCha20Rng::seed_from_u64(302);
    let board = FakeBoard::new();
    let e = board.election();
    let ballot = PreparedBallot::new(
        &e,
        &credential(&mut rng),
        &[vec![0, 0, 1, 0, 0], vec![2, 0, 7]],
        &mut rng,
    );
    assert!(
        ballot.is_err(),
        "7 points for one option is over the limit of 5"
    );
    let ballot = PreparedBallot::new(
        &e,
        &credential(&mut rng),
        &[vec![0, 0, 1, 0, 0], vec![2, 0, 5]],
        &mut rng,
    )
    .unwrap();
    let short = ballot.short_code();
    let code = ballot.audit().unwrap();
    let report = check_audit_code(&e, &code.0).unwrap();
    assert_eq!(report.short_code, short);
    assert!(
        report.to_text().contains("Mayor: CY"),
        "{}",
        report.to_text()
    );

    // A device that claims another choice than the one encrypted is caught.
    let mut data = AuditCode::decode(&code.0).unwrap();
    data.secrets.values[0] = vec![1, 0, 0, 0, 0];
    let json = serde_json::to_string(&data).unwrap();
    use base64::Engine as _;
    let forged = format!(
        "psephos-audit-v1:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    );
    let err = check_audit_code(&e, &forged).unwrap_err().to_string();
    assert!(err.starts_with("Audit FAILED"), "{err}");
    assert!(check_audit_code(&e, "hello").is_err());
}

#[test]
fn receipt_is_accepted_only_for_the_ballot_sent_and_stays_consistent() {
    let mut rng = ChaCha20Rng::seed_from_u64(303);
    let mut board = FakeBoard::new();
    let e = board.election();
    let ballot = PreparedBallot::new(
        &e,
        &credential(&mut rng),
        &[vec![1, 0, 0, 0, 0], vec![0, 0, 0]],
        &mut rng,
    )
    .unwrap();
    let answer = board.receive(&ballot.post_json().unwrap());
    let line = board.lines[answer.index as usize].clone();
    let receipt = Receipt::accept(
        &e.board,
        &board.info.key,
        ID,
        ballot.body_text(),
        &answer,
        &line,
    )
    .unwrap();
    assert_eq!(receipt.tracking_code, hex::encode(ballot.tracking_code()));
    let back = Receipt::from_json(&receipt.to_json()).unwrap();
    assert_eq!(back, receipt);

    // The board answers with another entry's position: refused.
    let mut wrong = answer.clone();
    wrong.index = 1;
    assert!(Receipt::accept(
        &e.board,
        &board.info.key,
        ID,
        ballot.body_text(),
        &wrong,
        &board.lines[1]
    )
    .is_err());
    // A tracking code that is not the one shown: refused.
    let mut wrong = answer.clone();
    wrong.tracking_code = hex::encode([0u8; 32]);
    assert!(Receipt::accept(
        &e.board,
        &board.info.key,
        ID,
        ballot.body_text(),
        &wrong,
        &line
    )
    .is_err());

    // The log grows: consistent. The board forks: equivocation is named.
    let key = board.key.clone();
    board.append(&key, Payload::VotingClosed {});
    let identity = receipt.board().unwrap();
    let proof = psephos_voter::api::ConsistencyProof {
        from: receipt.size,
        to: board.tree.len(),
        proof: board
            .tree
            .consistency_proof(receipt.size, board.tree.len())
            .unwrap()
            .iter()
            .map(hex::encode)
            .collect(),
    };
    let outcome =
        check_consistency(&receipt, &identity, &board.checkpoint(), Some(&proof)).unwrap();
    let size = board.tree.len();
    assert!(
        matches!(outcome, Consistency::Consistent { size: s, .. } if s == size),
        "{outcome:?}"
    );

    let mut fork = FakeBoard {
        lines: board.lines[..answer.index as usize].to_vec(),
        tree: psephos_crypto::log::MerkleTree::new(),
        ..board
    };
    fork.tree = psephos_crypto::log::MerkleTree::from_leaves(
        fork.lines
            .iter()
            .map(|l| psephos_crypto::log::leaf_hash(l.as_bytes()))
            .collect(),
    );
    let key = fork.key.clone();
    fork.append(&key, Payload::VotingClosed {});
    let err = check_consistency(&receipt, &identity, &fork.checkpoint(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("EQUIVOCATION"), "{err}");
}
