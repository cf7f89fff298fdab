//! The voter's checks against an in-memory signed log: what a lying board
//! is caught at (SPEC.md §13.1–§13.5). Runs natively and, through
//! `tests/web.rs`, in the browser.

#![cfg(not(target_arch = "wasm32"))]
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{FakeBoard, ID};
use psephos_crypto::record::Payload;
use psephos_voter::cast::{check_audit_code, AuditCode, PreparedBallot};
use psephos_voter::credential::Credential;
use psephos_voter::election::{Board, SetupScan};
use psephos_voter::receipt::{check_consistency, Consistency, Receipt};
use rand_core::OsRng;

fn credential() -> Credential {
    Credential::from_key(ed25519_dalek::SigningKey::generate(&mut OsRng))
}

#[test]
fn election_is_learned_from_the_signed_log() {
    let board = FakeBoard::new();
    let e = board.election();
    assert_eq!(e.contests().len(), 2);
    assert_eq!(e.pk, board.secret.public_key());
}

#[test]
fn a_status_naming_another_election_key_is_refused() {
    let board = FakeBoard::new();
    let mut status = board.status();
    status.public_key = Some(
        psephos_crypto::elgamal::SecretKey::random(&mut OsRng)
            .public_key()
            .as_point()
            .to_hex(),
    );
    let mut scan = SetupScan::new(ID, Board::from_info(&board.info).unwrap());
    scan.push_lines(&board.jsonl()).unwrap();
    assert!(scan.finish(&status, &board.inclusion(1)).is_err());
}

#[test]
fn a_checkpoint_signed_by_another_key_or_for_another_log_is_refused() {
    let board = FakeBoard::new();
    let impostor = FakeBoard::new();
    let mut status = board.status();
    status.checkpoint = impostor.checkpoint();
    let mut scan = SetupScan::new(ID, Board::from_info(&board.info).unwrap());
    scan.push_lines(&board.jsonl()).unwrap();
    assert!(scan.finish(&status, &board.inclusion(1)).is_err());
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
    let board = FakeBoard::new();
    let e = board.election();
    let ballot = PreparedBallot::new(
        &e,
        &credential(),
        &[vec![0, 0, 1, 0, 0], vec![2, 0, 7]],
        &mut OsRng,
    );
    assert!(
        ballot.is_err(),
        "7 points for one option is over the limit of 5"
    );
    let ballot = PreparedBallot::new(
        &e,
        &credential(),
        &[vec![0, 0, 1, 0, 0], vec![2, 0, 5]],
        &mut OsRng,
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
    let mut board = FakeBoard::new();
    let e = board.election();
    let ballot = PreparedBallot::new(
        &e,
        &credential(),
        &[vec![1, 0, 0, 0, 0], vec![0, 0, 0]],
        &mut OsRng,
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
    assert!(
        matches!(outcome, Consistency::Consistent { size: 4, .. }),
        "{outcome:?}"
    );

    let mut fork = FakeBoard {
        lines: board.lines[..2].to_vec(),
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
