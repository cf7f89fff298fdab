//! A valid record verifies (SPEC.md §11): every check passes, the counted
//! set and the result are the generator's.

// Test helpers outside #[test] functions: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use psephos_verifier::report::Status;
use psephos_verifier::testgen::{contest, ElectionSpec, TestRecord};
use psephos_verifier::{verify_lines, CheckId};

fn small() -> ElectionSpec {
    let mut spec = ElectionSpec::plurality(40);
    spec.voters = 30;
    spec.election = "small".into();
    spec
}

#[test]
fn valid_plurality_record_passes_every_check() {
    let rec = TestRecord::generate(&small()).unwrap();
    let report = rec.verify().unwrap();
    assert!(report.passed, "{}", report.render_text());
    for c in &report.checks {
        assert_eq!(c.status, Status::Pass, "{:?}", c);
    }
    assert_eq!(report.counted.ballots, 40);
    assert_eq!(report.counted.valid_ballots, 40);
    assert_eq!(report.counted.superseded, 10);
    assert_eq!(report.counted.counted_credentials, 30);
    let result = report.result.unwrap();
    let counts: Vec<u64> = result[0].counts.iter().map(|(_, n)| *n).collect();
    assert_eq!(counts, rec.gen.counts[0]);
    assert_eq!(counts.iter().sum::<u64>(), 30);
}

/// Weighted credentials, three contests (plurality, approval, and a score
/// contest whose claims need Bulletproofs range proofs), four trustees with
/// threshold 3, a dealer disqualified by a founded complaint, and a
/// decrypting set that is not `1..=t`.
#[test]
fn weighted_multi_contest_record_with_a_disqualified_dealer_passes() {
    let spec = ElectionSpec {
        election: "rich".into(),
        origin: "board.psephos.test".into(),
        title: "Everything at once".into(),
        contests: vec![
            contest("mayor", 3, 1, 1, 1),
            contest("council", 4, 0, 3, 1),
            contest("budget", 4, 0, 40, 10),
        ],
        trustees: 4,
        threshold: 3,
        voters: 10,
        abstainers: 2,
        ballots: 13,
        weighted: true,
        bad_dealer: Some((1, 3)),
        absent_dealer: None,
        decrypting: vec![4, 2, 3],
        seed: [3; 32],
        min_counted: None,
        witnesses: Vec::new(),
        witness_quorum: 0,
    };
    let rec = TestRecord::generate(&spec).unwrap();
    let report = rec.verify().unwrap();
    assert!(report.passed, "{}", report.render_text());
    let v4 = report.check(CheckId::V4).unwrap();
    assert!(
        v4.notes.iter().any(|n| n.contains("dealer 1's share bad")),
        "{v4:?}"
    );
    assert!(v4
        .notes
        .iter()
        .any(|n| n.contains("qualified dealers [2, 3, 4]")));
    assert_eq!(report.counted.superseded, 3);
    assert_eq!(report.counted.listed_credentials, 12);
    let result = report.result.unwrap();
    for (c, expected) in result.iter().zip(&rec.gen.counts) {
        let got: Vec<u64> = c.counts.iter().map(|(_, n)| *n).collect();
        assert_eq!(&got, expected, "{}", c.contest);
    }
    // Weights 1, 2, 3: the plurality total is the counted weight.
    let mayor: u64 = result[0].counts.iter().map(|(_, n)| n).sum();
    assert_eq!(mayor, report.counted.counted_weight);
}

#[test]
fn election_without_ballots_is_not_decrypted() {
    // min_counted is at least 1 (SPEC.md §10.5): a tally of no ballot is
    // not decrypted, so the partial decryptions the generator posts anyway
    // break TooFewCounted and the record fails V9.
    let mut spec = ElectionSpec::plurality(1);
    spec.ballots = 0;
    spec.voters = 3;
    let rec = TestRecord::generate(&spec).unwrap();
    let report = rec.verify().unwrap();
    assert!(!report.passed);
    let v9 = report.check(CheckId::V9).unwrap();
    assert!(
        v9.failures
            .iter()
            .all(|f| f.rule.as_deref() == Some("TooFewCounted")),
        "{}",
        report.render_text()
    );
    assert_eq!(v9.failure_count, 2);
}

#[test]
fn chunk_size_does_not_change_the_outcome() {
    let rec = TestRecord::generate(&small()).unwrap();
    for chunk in [1, 3, 1000] {
        let mut opts = rec.options().unwrap();
        opts.chunk_size = chunk;
        let report = verify_lines(rec.lines.iter().map(String::as_str), opts);
        assert!(report.passed, "chunk {chunk}: {}", report.render_text());
        assert_eq!(report.counted.superseded, 10);
    }
}

#[test]
fn record_cut_before_the_result_passes_unless_a_result_is_required() {
    let rec = TestRecord::generate(&small()).unwrap();
    let close = rec.find("voting_closed")[0];
    let mut opts = rec.options().unwrap();
    opts.require_result = false;
    opts.checkpoint = None;
    opts.allow_unsigned = true;
    let report = verify_lines(rec.lines[..=close].iter().map(String::as_str), opts);
    assert!(report.passed, "{}", report.render_text());
    assert_eq!(report.stage, psephos_verifier::report::Stage::Closed);
    let mut opts = rec.options().unwrap();
    opts.checkpoint = None;
    opts.allow_unsigned = true;
    let report = verify_lines(rec.lines[..=close].iter().map(String::as_str), opts);
    assert_eq!(report.failed_checks(), vec![CheckId::V10]);
}

#[test]
fn generator_is_deterministic() {
    let a = TestRecord::generate(&small()).unwrap();
    let b = TestRecord::generate(&small()).unwrap();
    assert_eq!(a.lines, b.lines);
    assert_eq!(a.gen.checkpoint, b.gen.checkpoint);
}

/// SPEC.md §8.5.2, §11.4: trustee 3 of 4 never commits; the board closes
/// commits, the other three deal, and trustee 3 (not a dealer) still holds
/// a key share and decrypts.
#[test]
fn record_where_the_board_closed_commits_without_a_trustee_passes() {
    let mut spec = ElectionSpec::plurality(8);
    spec.election = "no-show".into();
    spec.voters = 6;
    spec.trustees = 4;
    spec.threshold = 2;
    spec.absent_dealer = Some(3);
    spec.decrypting = vec![3, 4];
    let rec = TestRecord::generate(&spec).unwrap();
    assert_eq!(rec.find("dkg_commit").len(), 3);
    assert_eq!(rec.find("dkg_commits_closed").len(), 1);
    let report = rec.verify().unwrap();
    assert!(report.passed, "{}", report.render_text());
    let v4 = report.check(CheckId::V4).unwrap();
    assert!(
        v4.notes
            .iter()
            .any(|n| n.contains("commits closed by the board with 3 of 4")),
        "{v4:?}"
    );
    assert!(v4
        .notes
        .iter()
        .any(|n| n.contains("qualified dealers [1, 2, 4]")));
}
