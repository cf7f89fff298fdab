//! `psephos-board demo` end to end (issue 8): the real binary runs a whole
//! election with 20 voters and 3 trustees (threshold 2) over loopback
//! HTTP on SQLite; the published and the verified result must equal the
//! voters' choices, recomputed here from the seed, and the verifier must
//! pass.

// Test support: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The demo's choice rule, restated from its documentation
/// (`bulletin-board/src/demo/voters.rs`): round 1 is what counts.
fn choices(seed: u64, voter: u64, round: u32) -> Vec<Vec<u64>> {
    let mut hasher = Sha256::new();
    hasher.update(b"psephos-demo/choice/v1");
    hasher.update(seed.to_le_bytes());
    hasher.update(voter.to_le_bytes());
    hasher.update(round.to_le_bytes());
    let h: [u8; 32] = hasher.finalize().into();
    let x = u16::from_le_bytes([h[0], h[1]]) % 100;
    let pick = if x < 40 {
        0
    } else if x < 70 {
        1
    } else if x < 90 {
        2
    } else {
        3
    };
    let mayor = (0..4).map(|i| u64::from(i == pick)).collect();
    let mut parks: Vec<u64> = (0..3)
        .map(|k| u64::from(h[2 + k] < [150u8, 100, 60][k]))
        .collect();
    if parks.iter().sum::<u64>() > 2 {
        parks[2] = 0;
    }
    vec![mayor, parks]
}

fn expected(seed: u64, voters: u64) -> Vec<Vec<u64>> {
    let mut total = vec![vec![0; 4], vec![0; 3]];
    for v in 0..voters {
        for (t, c) in total.iter_mut().zip(choices(seed, v, 1)) {
            for (a, b) in t.iter_mut().zip(c) {
                *a += b;
            }
        }
    }
    total
}

#[test]
fn demo_election_with_20_voters_publishes_the_voters_choices_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let record = dir.path().join("out").join("record.jsonl");
    std::fs::create_dir_all(record.parent().unwrap()).unwrap();
    let seed = 99u64;
    let output = Command::new(env!("CARGO_BIN_EXE_psephos-board"))
        .args([
            "demo",
            "--voters",
            "20",
            "--trustees",
            "3",
            "--threshold",
            "2",
        ])
        .args([
            "--seed",
            &seed.to_string(),
            "--revote-every",
            "4",
            "--audits",
            "2",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--export")
        .arg(&record)
        .arg("--summary")
        .arg(&summary)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let s: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let want = serde_json::to_value(expected(seed, 20)).unwrap();
    assert_eq!(s["expected"], want, "the demo's own expectation");
    assert_eq!(s["published"], want, "the board's published result");
    assert_eq!(s["verified"], want, "the verifier's verified result");
    assert_eq!(s["verifier_passed"], Value::Bool(true));
    // 20 voters, every 4th revotes: 25 ballots; 2 audited ballots.
    assert_eq!(s["casts"], 25);
    assert_eq!(s["audited"].as_array().map(Vec::len), Some(2));
    // The record, checkpoint and key were written where asked, and the
    // report and result table were printed.
    assert!(record.exists());
    assert!(dir.path().join("out/record.jsonl.checkpoint").exists());
    assert!(dir.path().join("out/record.jsonl.vkey").exists());
    assert!(stdout.contains("RESULT: PASS"), "{stdout}");
    assert!(stdout.contains("Ada Lovelace"), "{stdout}");
    assert!(stdout.contains("Files written:"), "{stdout}");
}
