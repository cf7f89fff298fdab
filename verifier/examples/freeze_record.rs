//! Write the frozen reference record that `verifier/tests/frozen.rs` checks:
//! a small, deterministic, valid election record and the parts of its
//! verification report that must not change when messages are reworded.
//!
//! ```text
//! cargo run -p psephos-verifier --example freeze_record -- verifier/tests/data/frozen
//! ```
//!
//! The election (seed 2026, every key and ballot drawn from it; board time
//! fixed by `testgen::START_TIME`): 3 trustees, threshold 2, dealer 1 sends
//! trustee 3 a bad share and is disqualified by a founded complaint;
//! trustees 1 and 3 decrypt; a plurality contest (3 options, vote for 1) and
//! an approval contest (4 options, any number); 10 voting credentials with
//! weights 1, 2, 3, 1, 2, 3, … (the generator weights all or none) and 2
//! listed ones that never vote; 13 ballots, so the first 3 voters revote.
//!
//! Writes into the given directory:
//!
//! - `record.jsonl`: the log, one entry per line;
//! - `record.checkpoint`: the board's signed checkpoint note over the whole log;
//! - `record.vkey`: the board's checkpoint key, C2SP vkey text;
//! - `expected-report.json`: the verifier's report on those three files,
//!   reduced to [`FrozenReport`].
//!
//! Running it twice gives byte-identical files. The test includes this file
//! as a module, so it verifies and regenerates with this very code.

use std::path::Path;

use anyhow::{bail, Context, Result};
use psephos_verifier::report::Report;
use psephos_verifier::testgen::{contest, generate, ElectionSpec};
use psephos_verifier::{parse_board_key, source, Verifier, VerifyOptions};
use serde::{Deserialize, Serialize};

/// The command that (re)writes the frozen files, from the repository root.
pub const REGENERATE: &str =
    "cargo run -p psephos-verifier --example freeze_record -- verifier/tests/data/frozen";

/// The election id.
pub const ELECTION: &str = "frozen-2026";
/// The board's origin.
pub const ORIGIN: &str = "board.psephos.test";
/// The seed every key and ballot is drawn from.
pub const SEED: u64 = 2026;

/// The log.
pub const RECORD: &str = "record.jsonl";
/// The board's signed checkpoint note.
pub const CHECKPOINT: &str = "record.checkpoint";
/// The board key.
pub const VKEY: &str = "record.vkey";
/// The reduced report.
pub const EXPECTED: &str = "expected-report.json";
/// Every file this example writes, in the order it writes them.
pub const FILES: [&str; 4] = [RECORD, CHECKPOINT, VKEY, EXPECTED];

/// The frozen election.
pub fn spec() -> ElectionSpec {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&SEED.to_le_bytes());
    ElectionSpec {
        election: ELECTION.into(),
        origin: ORIGIN.into(),
        title: "Frozen reference election".into(),
        contests: vec![contest("mayor", 3, 1, 1, 1), contest("council", 4, 0, 4, 1)],
        trustees: 3,
        threshold: 2,
        voters: 10,
        abstainers: 2,
        ballots: 13,
        weighted: true,
        bad_dealer: Some((1, 3)),
        absent_dealer: None,
        decrypting: vec![1, 3],
        seed,
        // The manifest names no min_counted: the default 10 holds, and 10
        // credentials are counted.
        min_counted: None,
        witnesses: Vec::new(),
        witness_quorum: 0,
    }
}

/// What of a report must stay the same for the frozen record: no message,
/// note or warning texts, no source path, no timings. Read from the JSON
/// report (the library's `Report` serialized, or `psephos-verify --json`);
/// fields not named here are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenReport {
    /// Format version of the JSON report.
    pub format: u32,
    /// Whether every check passed.
    pub passed: bool,
    /// Entries read.
    pub entries: u64,
    /// Merkle root, hex.
    pub root: String,
    /// The election id.
    pub election: Option<String>,
    /// The election title.
    pub title: Option<String>,
    /// The lifecycle stage reached.
    pub stage: String,
    /// Per check: id, status, counts.
    pub checks: Vec<FrozenCheck>,
    /// The counted set.
    pub counted: FrozenCounted,
    /// The verified result.
    #[serde(default)]
    pub result: Option<Vec<FrozenContest>>,
}

/// One check, without its texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenCheck {
    /// `V1`…`V11`.
    pub id: String,
    /// `pass`, `fail` or `skipped`.
    pub status: String,
    /// Items checked.
    pub checked: u64,
    /// Failures in all.
    pub failure_count: u64,
}

/// The counted-set summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenCounted {
    /// Ballot entries in the log.
    pub ballots: u64,
    /// Ballots that passed V6.
    pub valid_ballots: u64,
    /// Valid ballots replaced by a revote.
    pub superseded: u64,
    /// Credentials counted.
    pub counted_credentials: u64,
    /// Credentials listed.
    pub listed_credentials: u64,
    /// Sum of the counted weights.
    pub counted_weight: u64,
}

/// One contest of the verified result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenContest {
    /// Contest id.
    pub contest: String,
    /// `(option id, count)` in manifest order.
    pub counts: Vec<(String, u64)>,
}

/// Reduce a JSON report to what is frozen.
pub fn reduce(json: serde_json::Value) -> Result<FrozenReport> {
    serde_json::from_value(json).context("the JSON report lacks a field the frozen report keeps")
}

/// Reduce the library's report.
pub fn reduce_report(report: &Report) -> Result<FrozenReport> {
    reduce(serde_json::to_value(report)?)
}

/// The reduced report as written to `expected-report.json`.
pub fn to_json(report: &FrozenReport) -> Result<String> {
    Ok(serde_json::to_string_pretty(report)? + "\n")
}

/// Verify the record in `dir` with the library, as
/// `psephos-verify record.jsonl --checkpoint record.checkpoint
/// --board-key record.vkey --election frozen-2026
/// --origin board.psephos.test --require-result` does.
pub fn verify_dir(dir: &Path) -> Result<Report> {
    let vkey = source::read_text(&dir.join(VKEY))?;
    let opts = VerifyOptions {
        source: dir.join(RECORD).display().to_string(),
        election: Some(ELECTION.into()),
        board_key: Some(parse_board_key(&vkey)?),
        board_origin: Some(ORIGIN.into()),
        checkpoint: Some(source::read_text(&dir.join(CHECKPOINT))?),
        require_result: true,
        ..VerifyOptions::default()
    };
    let mut verifier = Verifier::new(opts);
    source::for_each_line_of_file(&dir.join(RECORD), |line| verifier.push_line(line))?;
    Ok(verifier.finish())
}

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// Generate the record into `dir` (created if missing), verify it, and
/// write the reduced report. Fails if the record does not verify.
pub fn freeze(dir: &Path) -> Result<FrozenReport> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut lines: Vec<String> = Vec::new();
    let gen = generate(&spec(), &mut lines, false)?;
    let mut record = lines.join("\n");
    record.push('\n');
    write(dir, RECORD, &record)?;
    write(dir, CHECKPOINT, &gen.checkpoint)?;
    write(dir, VKEY, &(gen.board_vkey()? + "\n"))?;
    let report = verify_dir(dir)?;
    if !report.passed {
        bail!(
            "the generated record does not verify:\n{}",
            report.render_text()
        );
    }
    let frozen = reduce_report(&report)?;
    write(dir, EXPECTED, &to_json(&frozen)?)?;
    Ok(frozen)
}

fn main() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        bail!("usage: freeze_record <out-dir>   (the test's files: {REGENERATE})");
    };
    let dir = Path::new(&dir);
    let frozen = freeze(dir)?;
    for name in FILES {
        let path = dir.join(name);
        let size = std::fs::metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        eprintln!("wrote {} ({size} bytes)", path.display());
    }
    eprintln!(
        "{} entries, root {}, counted {:?}",
        frozen.entries, frozen.root, frozen.counted
    );
    Ok(())
}
