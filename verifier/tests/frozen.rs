//! The frozen reference record (`tests/data/frozen/`, written by
//! `examples/freeze_record.rs`): a small valid election record kept as
//! files, with the parts of its verification report that must not change
//! when messages are reworded. A change to the record format (entries,
//! bodies, signatures, checkpoints, keys) or to what the verifier checks
//! and counts makes these tests fail, where the generated-in-process
//! records of `valid.rs` would silently follow along.
//!
//! The record is verified with the library and with the `psephos-verify`
//! binary, and regenerated into a temporary directory to show that the
//! files are exactly what the documented command writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

// The example's own code: the test verifies and regenerates with it.
#[allow(dead_code)]
#[path = "../examples/freeze_record.rs"]
mod freeze_record;

use freeze_record::{
    freeze, reduce, reduce_report, to_json, verify_dir, FrozenReport, CHECKPOINT, ELECTION,
    EXPECTED, FILES, ORIGIN, RECORD, REGENERATE, VKEY,
};

const BIN: &str = env!("CARGO_BIN_EXE_psephos-verify");

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/frozen")
}

fn advice() -> String {
    format!(
        "the record format or the verifier's behaviour changed. If that is intended, \
         regenerate the frozen record from the repository root with\n\n    {REGENERATE}\n\n\
         and review the diff of verifier/tests/data/frozen/ before committing it"
    )
}

fn expected() -> Result<FrozenReport> {
    let path = data_dir().join(EXPECTED);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a frozen report; {}", path.display(), advice()))
}

/// Where two JSON values differ, one line per difference.
fn differences(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => differences(&format!("{path}.{k}"), ev, av, out),
                    None => out.push(format!("{path}.{k}: expected {ev}, missing")),
                }
            }
            for (k, av) in a {
                if !e.contains_key(k) {
                    out.push(format!("{path}.{k}: unexpected {av}"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                differences(&format!("{path}[{i}]"), ev, av, out);
            }
        }
        _ if expected != actual => out.push(format!("{path}: expected {expected}, got {actual}")),
        _ => {}
    }
}

/// Fail unless `actual` (from `what`) is the frozen report; `detail` is
/// added to the failure.
fn assert_frozen(what: &str, actual: &FrozenReport, detail: &str) -> Result<()> {
    let expected = expected()?;
    if &expected == actual {
        return Ok(());
    }
    let mut diff = Vec::new();
    differences(
        "report",
        &serde_json::to_value(&expected)?,
        &serde_json::to_value(actual)?,
        &mut diff,
    );
    bail!(
        "{what} on verifier/tests/data/frozen/{RECORD} differs from {EXPECTED}:\n  {}\n\n{}{detail}",
        diff.join("\n  "),
        advice()
    )
}

#[test]
fn library_report_on_the_frozen_record_is_the_expected_one() -> Result<()> {
    let report = verify_dir(&data_dir())?;
    let reduced = reduce_report(&report)
        .with_context(|| format!("reducing the library's report; {}", advice()))?;
    let detail = format!("\n\nThe report:\n{}", report.render_text());
    assert_frozen("the library's report", &reduced, &detail)
}

#[test]
fn psephos_verify_json_report_on_the_frozen_record_is_the_expected_one() -> Result<()> {
    let dir = data_dir();
    let out = Command::new(BIN)
        .arg(dir.join(RECORD))
        .arg("--checkpoint")
        .arg(dir.join(CHECKPOINT))
        .arg("--board-key")
        .arg(dir.join(VKEY))
        .args(["--election", ELECTION, "--origin", ORIGIN])
        .args(["--require-result", "--json", "-", "--quiet"])
        .output()
        .context("running psephos-verify")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code() != Some(0) {
        bail!(
            "psephos-verify exited with {:?} on the frozen record:\n{stdout}\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr),
            advice()
        );
    }
    let json: Value = serde_json::from_str(&stdout)
        .with_context(|| format!("psephos-verify --json - printed no JSON report:\n{stdout}"))?;
    let reduced =
        reduce(json).with_context(|| format!("reducing psephos-verify's report; {}", advice()))?;
    assert_frozen("psephos-verify --json", &reduced, "")
}

/// The files are the output of the documented command: regenerating them
/// into a temporary directory gives the same bytes (well under a second
/// in a debug test build, so it always runs).
#[test]
fn frozen_files_are_what_the_documented_command_writes() -> Result<()> {
    let data = data_dir();
    let mut present: Vec<String> = std::fs::read_dir(&data)
        .with_context(|| format!("listing {}", data.display()))?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    present.sort();
    let mut wanted: Vec<String> = FILES.iter().map(|f| f.to_string()).collect();
    wanted.extend([".gitattributes".to_string(), "README.md".to_string()]);
    wanted.sort();
    if present != wanted {
        bail!(
            "{} holds {present:?}, expected {wanted:?}; {}",
            data.display(),
            advice()
        );
    }

    let tmp = std::env::temp_dir().join(format!("psephos-frozen-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    let regenerated = freeze(&tmp);
    let compared = regenerated.and_then(|frozen| {
        let mut stale = Vec::new();
        for name in FILES {
            let kept = std::fs::read(data.join(name))
                .with_context(|| format!("reading {}", data.join(name).display()))?;
            let fresh = std::fs::read(tmp.join(name))?;
            if kept != fresh {
                stale.push(name);
            }
        }
        if !stale.is_empty() {
            bail!(
                "regenerating gives other bytes for {stale:?} (regenerated report:\n{}); {}",
                to_json(&frozen)?,
                advice()
            );
        }
        Ok(())
    });
    std::fs::remove_dir_all(&tmp)?;
    compared
}
