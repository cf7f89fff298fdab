//! `psephos-board demo` end to end (issue 8): the real binary runs a whole
//! election with 20 voters and 3 trustees (threshold 2) over loopback
//! HTTP on SQLite; the published and the verified result must equal the
//! voters' choices, recomputed here from the seed, and the verifier must
//! pass. With `--keep-serving`, the board stays up serving the voting page
//! of its bundle for a second, open election whose printed credentials vote.

// Test support: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use psephos_voter::cast::PreparedBallot;
use psephos_voter::credential::Credential;
use psephos_voter::http::BoardClient;
use psephos_voter::receipt::Receipt;
use psephos_voter::web::WebAssets;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

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

/// Kills the demo (it serves until Ctrl-C) when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first word after `prefix` on a line of `lines`.
fn after<'a>(lines: &'a [String], prefix: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.trim_start().strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{}", lines.join("\n")))
}

#[test]
fn keep_serving_leaves_an_open_election_whose_voting_page_and_printed_credentials_work() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(web.join("vote.html"), "<title>Vote</title>").unwrap();
    std::fs::write(web.join("election.html"), "<title>Election</title>").unwrap();
    std::fs::write(web.join("vote.js"), "// the page").unwrap();
    let bundle = hex::encode(WebAssets::from_dir(&web).unwrap().bundle_sha256());
    let mut child = Command::new(env!("CARGO_BIN_EXE_psephos-board"))
        .args(["demo", "--voters", "4", "--audits", "1", "--keep-serving"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--web-dir")
        .arg(&web)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    while !lines.iter().any(|l: &String| l.contains("keeps serving")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => panic!("the demo did not reach keep-serving:\n{}", lines.join("\n")),
        }
    }

    // The voting page is the bundle's, and the open election names its hash.
    let vote = after(&lines, "voting page:");
    let (base, path) = vote.split_at(vote.find("/elections/").unwrap());
    let id = path
        .trim_start_matches("/elections/")
        .trim_end_matches("/vote");
    let client = BoardClient::new(base).unwrap();
    assert_eq!(client.get_text(path).unwrap(), "<title>Vote</title>");
    let election_page = after(&lines, "election page:");
    assert_eq!(election_page, format!("{base}/elections/{id}"));
    let tallied_page = lines
        .iter()
        .skip_while(|l| !l.contains("tallied election's public page"))
        .nth(1)
        .unwrap();
    assert!(
        tallied_page
            .trim()
            .starts_with(&format!("{base}/elections/demo-")),
        "{tallied_page}"
    );
    let status = client.status(id).unwrap();
    assert_eq!(status.state, "open");
    assert_eq!(status.bundle_sha256.as_deref(), Some(bundle.as_str()));

    // A printed credential votes, and the receipt checks out.
    let code = lines
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("psephos-cred-1:"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    let credential = Credential::parse(code).unwrap();
    let (election, info) = client.election(id).unwrap();
    let ballot = PreparedBallot::new(
        &election,
        &credential,
        &[vec![0, 0, 1, 0], vec![0, 1, 1]],
        &mut ChaCha20Rng::seed_from_u64(8001),
    )
    .unwrap();
    let answer = client.post_ballot(id, ballot.post_json().unwrap()).unwrap();
    let line = client.entries(id, answer.index, answer.index + 1).unwrap();
    Receipt::accept(
        &election.board,
        &info.key,
        id,
        ballot.body_text(),
        &answer,
        line.trim_end(),
    )
    .unwrap();
}

/// `DATABASE_URL=postgres://…`: the same demo on PostgreSQL (skipped
/// without a server unless `PSEPHOS_REQUIRE_POSTGRES=1`); no SQLite file
/// is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_on_postgresql_when_database_url_is_set() {
    let Some(pg) = psephos_board::testkit::PgDatabase::create().await.unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let seed = 7u64;
    let output = Command::new(env!("CARGO_BIN_EXE_psephos-board"))
        .args(["demo", "--voters", "6", "--audits", "1", "--seed", "7"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--summary")
        .arg(&summary)
        .env("DATABASE_URL", &pg.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    pg.drop_database().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("database: DATABASE_URL"), "{stdout}");
    assert!(!dir.path().join("data/board.sqlite3").exists());
    let s: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let want = serde_json::to_value(expected(seed, 6)).unwrap();
    assert_eq!(s["published"], want);
    assert_eq!(s["verified"], want);
    assert_eq!(s["verifier_passed"], Value::Bool(true));
}
