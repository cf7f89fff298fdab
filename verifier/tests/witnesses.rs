//! `--require-cosignatures` (SPEC.md §11.11, §14.1): the board's checkpoint
//! must cover the outcome and carry the manifest's witness quorum; the
//! report lists which witness cosigned which size.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::SigningKey;
use psephos_crypto::log::checkpoint::{add_cosignature, Cosigner};
use psephos_crypto::witness::Witness;
use psephos_verifier::report::WitnessCosigned;
use psephos_verifier::testgen::{ElectionSpec, TestRecord};
use psephos_verifier::{verify_lines, CheckId, Report};

fn cosigner(name: &str, seed: u8) -> Cosigner {
    Cosigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

fn witness(c: &Cosigner) -> Witness {
    Witness {
        name: c.name().to_owned(),
        key: c.verifier().to_vkey(),
        url: format!("https://{}", c.name()),
    }
}

/// A small election whose manifest names three witnesses, quorum 2.
fn record(witnesses: &[&Cosigner], quorum: u32) -> TestRecord {
    let mut spec = ElectionSpec::plurality(12);
    spec.election = "witnessed".into();
    spec.voters = 10;
    spec.witnesses = witnesses.iter().map(|c| witness(c)).collect();
    spec.witness_quorum = quorum;
    TestRecord::generate(&spec).unwrap()
}

fn cosign(rec: &mut TestRecord, by: &[&Cosigner]) {
    let board = rec.gen.note_signer().unwrap().verifier();
    for c in by {
        rec.gen.checkpoint =
            add_cosignature(&rec.gen.checkpoint, &board, c, 1_700_000_000).unwrap();
    }
}

fn verify(rec: &TestRecord) -> Report {
    let mut opts = rec.options().unwrap();
    opts.require_cosignatures = true;
    verify_lines(rec.lines.iter().map(String::as_str), opts)
}

fn v11_says(report: &Report, text: &str) -> bool {
    report
        .check(CheckId::V11)
        .unwrap()
        .failures
        .iter()
        .any(|f| f.message.contains(text))
}

#[test]
fn a_checkpoint_cosigned_by_the_quorum_passes_and_the_report_names_the_cosigners() {
    let (a, b, c) = (
        cosigner("wa.example", 1),
        cosigner("wb.example", 2),
        cosigner("wc.example", 3),
    );
    let mut rec = record(&[&a, &b, &c], 2);
    cosign(&mut rec, &[&a, &c]);
    let report = verify(&rec);
    assert!(report.passed, "{}", report.render_text());
    let size = rec.lines.len() as u64;
    assert_eq!(
        report.witnesses,
        vec![
            WitnessCosigned {
                name: "wa.example".into(),
                size
            },
            WitnessCosigned {
                name: "wb.example".into(),
                size: 0
            },
            WitnessCosigned {
                name: "wc.example".into(),
                size
            },
        ]
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["witnesses"][2]["size"], size);
}

#[test]
fn too_few_witness_cosignatures_fail_v11() {
    let (a, b, c) = (
        cosigner("wa.example", 1),
        cosigner("wb.example", 2),
        cosigner("wc.example", 3),
    );
    let outsider = cosigner("wx.example", 9);
    let mut rec = record(&[&a, &b, &c], 2);
    // One witness and a mirror the manifest does not name: not the quorum.
    cosign(&mut rec, &[&b, &outsider]);
    let report = verify(&rec);
    assert!(!report.passed);
    assert_eq!(
        report.failed_checks(),
        vec![CheckId::V11],
        "{}",
        report.render_text()
    );
    assert!(v11_says(
        &report,
        "1 manifest witnesses (wb.example); the quorum is 2"
    ));
    // Without the flag the same record passes: the cosignatures are extra.
    let plain = verify_lines(rec.lines.iter().map(String::as_str), rec.options().unwrap());
    assert!(plain.passed, "{}", plain.render_text());
}

#[test]
fn a_manifest_without_witnesses_cannot_satisfy_the_requirement() {
    let mut rec = record(&[], 0);
    let report = verify(&rec);
    assert!(
        v11_says(&report, "names no witness quorum"),
        "{}",
        report.render_text()
    );
    rec.gen.checkpoint.clear();
    let mut opts = rec.options().unwrap();
    opts.require_cosignatures = true;
    opts.checkpoint = None;
    let report = verify_lines(rec.lines.iter().map(String::as_str), opts);
    assert!(!report.passed);
}

#[test]
fn a_cosigned_checkpoint_that_ends_before_the_result_fails() {
    let (a, b) = (cosigner("wa.example", 1), cosigner("wb.example", 2));
    let mut rec = record(&[&a, &b], 2);
    // The board shows the witnesses a tree without its last entry (the
    // result) and cosigns that one.
    let size = rec.lines.len() as u64 - 1;
    let mut tree = psephos_crypto::log::merkle::MerkleTree::new();
    for line in &rec.lines[..size as usize] {
        tree.push(psephos_crypto::log::merkle::leaf_hash(line.as_bytes()));
    }
    rec.gen.checkpoint = rec.gen.sign_checkpoint(size, tree.root()).unwrap();
    cosign(&mut rec, &[&a, &b]);
    let report = verify(&rec);
    assert!(!report.passed);
    assert!(
        v11_says(&report, "does not cover entry"),
        "{}",
        report.render_text()
    );
}
