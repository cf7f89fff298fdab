//! The `psephos-verify` command (SPEC.md §11): a record file with its
//! checkpoint and board key, a board URL paged over HTTP, mirrors, the
//! JSON report and the exit status.
//!
//! The boards here are a few lines of HTTP/1.1 on 127.0.0.1 serving a
//! generated record through the read API (SPEC.md §10), pages of at most
//! 7 entries so that paging is exercised.

// Test helpers outside #[test] functions: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use psephos_crypto::log::merkle::{leaf_hash, MerkleTree};
use psephos_crypto::wire;
use psephos_verifier::testgen::{ElectionSpec, TestRecord};

const BIN: &str = env!("CARGO_BIN_EXE_psephos-verify");

fn record() -> TestRecord {
    static REC: OnceLock<TestRecord> = OnceLock::new();
    REC.get_or_init(|| {
        let mut spec = ElectionSpec::plurality(12);
        spec.voters = 10;
        spec.election = "cli-test".into();
        TestRecord::generate(&spec).unwrap()
    })
    .clone()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("psephos-verifier-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_record(rec: &TestRecord, dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    let path = dir.join("record.jsonl");
    std::fs::write(&path, rec.lines.join("\n") + "\n").unwrap();
    let cp = dir.join("record.checkpoint");
    std::fs::write(&cp, &rec.gen.checkpoint).unwrap();
    let key = dir.join("record.vkey");
    std::fs::write(&key, rec.gen.board_vkey().unwrap()).unwrap();
    (path, cp, key)
}

#[test]
fn valid_record_file_exits_zero_and_writes_a_json_report() {
    let rec = record();
    let dir = temp_dir("valid");
    let (path, cp, key) = write_record(&rec, &dir);
    let json = dir.join("report.json");
    let out = Command::new(BIN)
        .arg(&path)
        .arg("--checkpoint")
        .arg(&cp)
        .arg("--board-key")
        .arg(&key)
        .arg("--json")
        .arg(&json)
        .arg("--require-result")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("RESULT: PASS"));
    assert!(stdout.contains("V6  ballots"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["checks"].as_array().unwrap().len(), 11);
    assert_eq!(report["checks"][5]["id"], "V6");
    assert_eq!(report["checks"][5]["checked"], 12);
    assert_eq!(report["entries"], rec.lines.len());
}

#[test]
fn tampered_record_file_exits_one_naming_the_check_and_entry() {
    let mut rec = record();
    let at = rec.find("result")[0];
    let mut body = rec.body(at).unwrap();
    if let psephos_crypto::record::Payload::Result { counts, .. } = &mut body.payload {
        counts[0][1] += 5;
    }
    let board = rec.gen.board.clone();
    rec.set_body(at, &body, &board).unwrap();
    rec.rechain().unwrap();
    let dir = temp_dir("tampered");
    let (path, cp, key) = write_record(&rec, &dir);
    let out = Command::new(BIN)
        .arg(&path)
        .args(["--checkpoint", cp.to_str().unwrap()])
        .args(["--board-key", key.to_str().unwrap()])
        .args(["--json", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], false);
    let v10 = &report["checks"][9];
    assert_eq!(v10["id"], "V10");
    assert_eq!(v10["status"], "fail");
    assert_eq!(v10["failures"][0]["index"], at);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(&format!("entry {at}:")), "{text}");
    assert!(text.contains("RESULT: FAIL — V10"), "{text}");
}

#[test]
fn record_without_checkpoint_fails_unless_allowed() {
    let rec = record();
    let dir = temp_dir("unsigned");
    let (path, _, _) = write_record(&rec, &dir);
    let out = Command::new(BIN).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("SKIPPED"));
    let out = Command::new(BIN)
        .arg(&path)
        .arg("--allow-unsigned")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn unreadable_input_exits_two() {
    let out = Command::new(BIN)
        .arg("/nonexistent/record.jsonl")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN)
        .args(["x.jsonl", "--board-key", "not a key"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A read-only board (or mirror) serving `lines` and signing checkpoints
/// of `tree` with the record's board key.
struct FakeBoard {
    rec: TestRecord,
    lines: Vec<String>,
    announced: usize,
    note: String,
    tree: MerkleTree,
}

impl FakeBoard {
    fn answer(&self, target: &str) -> (u16, String, String) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let param = |name: &str| -> Option<u64> {
            query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == name)
                .and_then(|(_, v)| v.parse().ok())
        };
        let e = format!("/api/v1/elections/{}", self.rec.gen.spec.election);
        match path {
            "/api/v1/board" => (
                200,
                String::new(),
                serde_json::to_string(&wire::BoardInfo {
                    origin: self.rec.gen.spec.origin.clone(),
                    key: self.rec.gen.board_vkey().unwrap(),
                    public_key: hex::encode(self.rec.gen.board.verifying_key().to_bytes()),
                    mirror: None,
                })
                .unwrap(),
            ),
            "/api/v1/elections" => (
                200,
                String::new(),
                serde_json::to_string(&[wire::ElectionSummary {
                    id: self.rec.gen.spec.election.clone(),
                    title: self.rec.gen.spec.title.clone(),
                    state: "tallied".into(),
                    size: self.announced as u64,
                }])
                .unwrap(),
            ),
            p if p == format!("{e}/checkpoint") => (200, String::new(), self.note.clone()),
            p if p == format!("{e}/entries") => {
                let start = param("start").unwrap_or(0) as usize;
                let end = (param("end").unwrap_or(u64::MAX) as usize)
                    .min(start + 7)
                    .min(self.lines.len());
                let mut body = String::new();
                for l in &self.lines[start.min(end)..end] {
                    body.push_str(l);
                    body.push('\n');
                }
                (200, format!("X-Log-Size: {}\r\n", self.announced), body)
            }
            p if p == format!("{e}/proof/consistency") => {
                let (from, to) = (param("from").unwrap(), param("to").unwrap());
                let proof: Vec<String> = self
                    .tree
                    .consistency_proof(from, to)
                    .unwrap()
                    .iter()
                    .map(hex::encode)
                    .collect();
                (
                    200,
                    String::new(),
                    serde_json::to_string(&wire::ConsistencyProof { from, to, proof }).unwrap(),
                )
            }
            _ => (
                404,
                String::new(),
                serde_json::to_string(&wire::ErrorBody {
                    error: "not_found".into(),
                    message: format!("No route {path}."),
                })
                .unwrap(),
            ),
        }
    }

    /// Serve on a free loopback port until the test process ends.
    fn serve(self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let board = Arc::new(self);
        std::thread::spawn(move || {
            for stream in listener.incoming().take(1000) {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) <= 2 {
                        break;
                    }
                }
                let target = request.split(' ').nth(1).unwrap_or("/").to_string();
                let (status, headers, body) = board.answer(&target);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
                    body.len()
                );
            }
        });
        url
    }
}

fn board_for(rec: &TestRecord, extra: &[[u8; 32]], fork_at: Option<usize>) -> FakeBoard {
    let mut leaves: Vec<[u8; 32]> = rec.lines.iter().map(|l| leaf_hash(l.as_bytes())).collect();
    if let Some(i) = fork_at {
        leaves[i] = [0xEE; 32];
    }
    leaves.extend_from_slice(extra);
    let tree = MerkleTree::from_leaves(leaves);
    FakeBoard {
        rec: rec.clone(),
        lines: rec.lines.clone(),
        announced: rec.lines.len(),
        note: rec.gen.sign_checkpoint(tree.len(), tree.root()).unwrap(),
        tree,
    }
}

#[test]
fn board_url_is_paged_and_verified_with_a_consistent_mirror() {
    let rec = record();
    let board = board_for(&rec, &[], None).serve();
    let mirror = board_for(&rec, &[[1; 32], [2; 32]], None).serve();
    let out = Command::new(BIN)
        .arg(&board)
        .args(["--mirror", &mirror, "--require-result"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("consistency proof verified"), "{stdout}");
    assert!(
        stdout.contains(&format!("entries:  {}", rec.lines.len())),
        "{stdout}"
    );
    assert!(stdout.contains("taken from the board itself"), "{stdout}");
}

#[test]
fn board_url_with_an_equivocating_mirror_fails_v11() {
    let rec = record();
    let board = board_for(&rec, &[], None).serve();
    let mirror = board_for(&rec, &[], Some(3)).serve();
    let pinned = rec.gen.board_vkey().unwrap();
    let out = Command::new(BIN)
        .arg(&board)
        .args(["--election", "cli-test", "--board-key", &pinned])
        .args(["--mirror", &mirror, "--json", "-", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let v11 = &report["checks"][10];
    assert_eq!(v11["status"], "fail");
    assert!(v11["failures"][0]["message"]
        .as_str()
        .unwrap()
        .contains("EQUIVOCATION"));
}

#[test]
fn board_serving_another_key_than_the_pinned_one_is_refused() {
    let rec = record();
    let board = board_for(&rec, &[], None).serve();
    let mut other = rec.gen.clone();
    other.spec.origin = "impostor.test".into();
    let out = Command::new(BIN)
        .arg(&board)
        .args(["--board-key", &other.board_vkey().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pins"));
}

#[test]
fn board_that_serves_fewer_entries_than_it_announces_fails_v1() {
    let rec = record();
    let mut board = board_for(&rec, &[], None);
    board.lines.truncate(rec.lines.len() - 3);
    let url = board.serve();
    let out = Command::new(BIN)
        .arg(&url)
        .args(["--json", "-", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let v1 = &report["checks"][0];
    assert_eq!(v1["status"], "fail");
    assert!(v1["failures"][0]["message"]
        .as_str()
        .unwrap()
        .contains("X-Log-Size announced"));
}
