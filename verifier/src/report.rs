//! The verification report (SPEC.md §11): one entry per check `V1`–`V11`,
//! each with its status, how many items it checked, and every failure with
//! the log index of the entry at fault and what was wrong.
//!
//! The same [`Report`] is printed for people ([`Report::render_text`]) and
//! written as JSON (`--json`, through serde).

use std::fmt::Write as _;

use psephos_crypto::election::Violation;
use serde::Serialize;

/// The most failures kept per check; the rest are only counted, so that a
/// record that is wrong everywhere cannot exhaust memory.
pub const MAX_FAILURES_KEPT: usize = 200;

/// The checks, numbered as SPEC.md §11 numbers them: the crypto core's,
/// so that every rule's check is declared once.
pub use psephos_crypto::election::Check as CheckId;

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything it checked holds.
    Pass,
    /// At least one failure.
    Fail,
    /// Not performed (e.g. no signed checkpoint was given). A skipped check
    /// fails the verification unless the caller allowed it.
    Skipped,
}

/// One thing that was wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The log index of the entry at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// What was wrong.
    pub message: String,
    /// The protocol rule broken, when the state machine named one
    /// (`psephos_crypto::election::Rule`, e.g. `TooFewQualified`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// One check's part of the report.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// `V1`…`V11`.
    pub id: CheckId,
    /// Its name.
    pub name: &'static str,
    /// Its SPEC.md section.
    pub section: &'static str,
    /// Pass, fail or skipped.
    pub status: Status,
    /// How many items it checked (see SPEC.md §11 for the unit of each).
    pub checked: u64,
    /// How many failures there were in all.
    pub failure_count: u64,
    /// The first [`MAX_FAILURES_KEPT`] failures, in the order found.
    pub failures: Vec<Failure>,
    /// Facts worth reading that are not failures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why the check was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// Collects the outcome of every check while the record streams by.
#[derive(Debug, Clone)]
pub struct Checks {
    checks: Vec<CheckReport>,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            checks: CheckId::ALL
                .iter()
                .map(|&id| CheckReport {
                    id,
                    name: id.name(),
                    section: id.section(),
                    status: Status::Pass,
                    checked: 0,
                    failure_count: 0,
                    failures: Vec::new(),
                    notes: Vec::new(),
                    skipped: None,
                })
                .collect(),
        }
    }
}

impl Checks {
    /// Count `n` more items checked by `id`.
    pub fn count(&mut self, id: CheckId, n: u64) {
        self.checks[id.index()].checked += n;
    }

    /// Record a failure of `id` at entry `index`.
    pub fn fail(&mut self, id: CheckId, index: Option<u64>, message: impl Into<String>) {
        self.push(id, index, message.into(), None);
    }

    /// Record an entry that breaks a rule of the state machine, under the
    /// check that reports the rule (SPEC.md §11).
    pub fn violation(&mut self, index: Option<u64>, what: &str, v: &Violation) {
        self.push(
            v.rule.check(),
            index,
            format!("{what}: {v}"),
            Some(format!("{:?}", v.rule)),
        );
    }

    fn push(&mut self, id: CheckId, index: Option<u64>, message: String, rule: Option<String>) {
        let c = &mut self.checks[id.index()];
        c.status = Status::Fail;
        c.failure_count += 1;
        if c.failures.len() < MAX_FAILURES_KEPT {
            c.failures.push(Failure {
                index,
                message,
                rule,
            });
        }
    }

    /// Record a fact about `id` that is not a failure.
    pub fn note(&mut self, id: CheckId, note: impl Into<String>) {
        self.checks[id.index()].notes.push(note.into());
    }

    /// Mark `id` as not performed, unless it has already failed.
    pub fn skip(&mut self, id: CheckId, why: impl Into<String>) {
        let c = &mut self.checks[id.index()];
        if c.status != Status::Fail {
            c.status = Status::Skipped;
        }
        c.skipped = Some(why.into());
    }

    /// The state of one check.
    pub fn get(&self, id: CheckId) -> &CheckReport {
        &self.checks[id.index()]
    }

    /// Every check, in order.
    pub fn into_vec(self) -> Vec<CheckReport> {
        self.checks
    }
}

/// The lifecycle stage the record reached (DESIGN.md §4–§5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// No manifest.
    Empty,
    /// The manifest is posted; the key ceremony runs.
    Ceremony,
    /// The joint key is posted.
    KeyReady,
    /// Voting is open.
    Open,
    /// Voting is closed.
    Closed,
    /// The result is posted.
    Tallied,
}

impl Stage {
    fn describe(self) -> &'static str {
        match self {
            Stage::Empty => "empty (no manifest)",
            Stage::Ceremony => "key ceremony",
            Stage::KeyReady => "joint key posted, voting not yet open",
            Stage::Open => "voting open",
            Stage::Closed => "voting closed, no result yet",
            Stage::Tallied => "tallied (result published)",
        }
    }
}

/// Counts of one contest, as published and verified.
#[derive(Clone, Debug, Serialize)]
pub struct ContestResult {
    /// The contest id.
    pub contest: String,
    /// `(option id, count)` in manifest order.
    pub counts: Vec<(String, u64)>,
}

/// Figures about the counted set (SPEC.md §11.7).
#[derive(Clone, Debug, Default, Serialize)]
pub struct CountedSummary {
    /// Ballot entries in the log.
    pub ballots: u64,
    /// Ballots that passed every check of V6.
    pub valid_ballots: u64,
    /// Valid ballots replaced by a later ballot of the same credential.
    pub superseded: u64,
    /// Credentials whose last valid ballot is counted.
    pub counted_credentials: u64,
    /// Credentials on the list.
    pub listed_credentials: u64,
    /// Sum of the weights of the counted credentials.
    pub counted_weight: u64,
}

/// The whole verification outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Format version of this JSON.
    pub format: u32,
    /// What was verified (a file path or a board URL).
    pub source: String,
    /// The election id (from the manifest).
    pub election: Option<String>,
    /// The election title (from the manifest).
    pub title: Option<String>,
    /// Entries read.
    pub entries: u64,
    /// The Merkle root over all entries, hex.
    pub root: String,
    /// The furthest lifecycle stage reached.
    pub stage: Stage,
    /// Whether every check passed (skipped checks count as passed only
    /// when allowed).
    pub passed: bool,
    /// The checks, `V1` to `V11`.
    pub checks: Vec<CheckReport>,
    /// The counted set.
    pub counted: CountedSummary,
    /// The verified result, when there is one and it verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Vec<ContestResult>>,
    /// Wall-clock seconds spent.
    pub elapsed_seconds: f64,
    /// Ballots verified per second.
    pub ballots_per_second: f64,
    /// Warnings that do not fail the verification.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// For each witness the manifest names (SPEC.md §14.1), the largest
    /// checkpoint size checked that it cosigned (0: none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<WitnessCosigned>,
}

/// A manifest witness and the largest checked checkpoint it cosigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WitnessCosigned {
    /// The witness's name.
    pub name: String,
    /// The size of the largest checkpoint it cosigned (0: none).
    pub size: u64,
}

impl Report {
    /// The checks that failed (or were skipped without permission).
    pub fn failed_checks(&self) -> Vec<CheckId> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.id)
            .collect()
    }

    /// One check.
    pub fn check(&self, id: CheckId) -> Option<&CheckReport> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// The report as people read it.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Psephos verification report");
        let _ = writeln!(out, "  source:   {}", self.source);
        if let Some(e) = &self.election {
            let title = self.title.as_deref().unwrap_or("");
            let _ = writeln!(out, "  election: {e} ({title})");
        }
        let _ = writeln!(out, "  entries:  {}   root: {}", self.entries, self.root);
        let _ = writeln!(out, "  stage:    {}", self.stage.describe());
        let _ = writeln!(out);
        for c in &self.checks {
            let status = match c.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Skipped => "SKIPPED",
            };
            let mut line = format!(
                "  {:<4}{:<24}{:<8}{} {}",
                c.id.to_string(),
                c.name,
                status,
                c.checked,
                c.id.unit()
            );
            if c.failure_count > 0 {
                let _ = write!(
                    line,
                    ", {} failure{}",
                    c.failure_count,
                    if c.failure_count == 1 { "" } else { "s" }
                );
            }
            let _ = writeln!(out, "{line}");
            if let Some(why) = &c.skipped {
                let _ = writeln!(out, "        skipped: {why}");
            }
            for f in &c.failures {
                match f.index {
                    Some(i) => {
                        let _ = writeln!(out, "        entry {i}: {}", f.message);
                    }
                    None => {
                        let _ = writeln!(out, "        {}", f.message);
                    }
                }
            }
            if (c.failures.len() as u64) < c.failure_count {
                let _ = writeln!(
                    out,
                    "        … and {} more",
                    c.failure_count - c.failures.len() as u64
                );
            }
            for n in &c.notes {
                let _ = writeln!(out, "        note: {n}");
            }
        }
        let _ = writeln!(out);
        let k = &self.counted;
        let _ = writeln!(
            out,
            "  ballots: {} in the log, {} valid, {} superseded by a revote; {} of {} credentials counted (weight {})",
            k.ballots,
            k.valid_ballots,
            k.superseded,
            k.counted_credentials,
            k.listed_credentials,
            k.counted_weight
        );
        if let Some(result) = &self.result {
            let _ = writeln!(out, "  verified result:");
            for c in result {
                let counts: Vec<String> =
                    c.counts.iter().map(|(o, n)| format!("{o} {n}")).collect();
                let _ = writeln!(out, "    {}: {}", c.contest, counts.join(", "));
            }
        }
        for w in &self.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        let _ = writeln!(
            out,
            "  time: {:.1} s ({:.0} ballots/s)",
            self.elapsed_seconds, self.ballots_per_second
        );
        let _ = writeln!(out);
        if self.passed {
            let _ = writeln!(out, "RESULT: PASS — every check holds");
        } else {
            let bad: Vec<String> = self
                .checks
                .iter()
                .filter(|c| c.status != Status::Pass)
                .map(|c| format!("{} {}", c.id, c.name))
                .collect();
            let _ = writeln!(out, "RESULT: FAIL — {}", bad.join("; "));
        }
        out
    }
}
