//! A valid record verifies (SPEC.md §11): every check passes, the counted
//! set and the result are the generator's.

use psephos_verifier::report::Status;
use psephos_verifier::testgen::{contest, ElectionSpec, TestRecord};
use psephos_verifier::{verify_lines, CheckId, VerifyOptions};

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
