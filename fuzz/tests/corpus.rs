//! Every file of `corpus/<target>/` and `regressions/<target>/` through
//! its target's function (`psephos_fuzz::TARGETS`), without libFuzzer, so
//! that `cargo test` on stable keeps what fuzzing found:
//!
//! ```sh
//! cargo test --manifest-path fuzz/Cargo.toml --no-default-features
//! ```
//!
//! One test per target, so a failure names the target; every failing file
//! is listed before the test fails.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(kind)
        .join(target);
    let mut out: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

fn run(target: &str) {
    let (_, f) = psephos_fuzz::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a target of psephos_fuzz::TARGETS");
    let corpus = files("corpus", target);
    let regressions = files("regressions", target);
    assert!(
        !corpus.is_empty(),
        "corpus/{target}/ is empty: see FUZZING.md for how the corpora are made"
    );
    let mut failed = Vec::new();
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).expect("a corpus file is readable");
        if catch_unwind(AssertUnwindSafe(|| f(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs fail:\n{}",
        failed.len(),
        corpus.len() + regressions.len(),
        failed.join("\n")
    );
    eprintln!(
        "{target}: {} corpus and {} regression inputs pass",
        corpus.len(),
        regressions.len()
    );
}

/// Every directory under corpus/ and regressions/ is a known target.
#[test]
fn every_directory_is_a_target() {
    for kind in ["corpus", "regressions"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(kind);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                let name = entry.file_name().to_string_lossy().into_owned();
                assert!(
                    psephos_fuzz::TARGETS.iter().any(|(t, _)| *t == name),
                    "{kind}/{name} is not a target"
                );
            }
        }
    }
}

macro_rules! targets {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name));
            }
        )*

        /// The tests above cover every target.
        #[test]
        fn every_target_is_tested() {
            let tested = [$(stringify!($name)),*];
            for (t, _) in psephos_fuzz::TARGETS {
                assert!(tested.contains(t), "no test runs target {t}");
            }
        }
    };
}

targets!(
    entry_line,
    body,
    ballot_body,
    checkpoint,
    signed_note,
    vkey,
    credential_code,
    audit_code,
    receipt,
    evidence,
    board_http,
);
