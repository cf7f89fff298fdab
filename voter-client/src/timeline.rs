//! The public page's timeline: when the election reached each state
//! (SPEC.md §10.6), from the `time` of the entries that moved it
//! (SPEC.md §9.2). The page reads the first and the last entries of the
//! log; states whose entry is not among them are shown without a time.
//!
//! This is a display over windows of the log, not a check: it does not
//! replay the rules (the board, mirrors and verifier do, with
//! `psephos_crypto::election`), it only dates the entries that move the
//! [`Phase`], whose names it takes from there.

use std::collections::BTreeSet;

use psephos_crypto::election::Phase;
use psephos_crypto::record::Entry;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A state and the entry that reached it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Milestone {
    /// The state reached (SPEC.md §10.6).
    pub state: &'static str,
    /// The entry that reached it.
    pub index: u64,
    /// Its board time, Unix seconds.
    pub time: u64,
}

/// Milestones found in the entry lines read so far.
#[derive(Debug)]
pub struct Timeline {
    threshold: u32,
    acks: u32,
    seen: BTreeSet<u64>,
    found: Vec<Milestone>,
}

#[derive(Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: String,
}

impl Timeline {
    /// For an election whose threshold is `threshold` (`ready` is the
    /// `threshold`-th `key_ack`).
    pub fn new(threshold: u32) -> Self {
        Timeline {
            threshold: threshold.max(1),
            acks: 0,
            seen: BTreeSet::new(),
            found: Vec::new(),
        }
    }

    /// Take entry lines (JSON Lines, any windows of the log in order; a
    /// line seen before is skipped).
    pub fn push_lines(&mut self, jsonl: &str) -> Result<()> {
        for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
            let entry = Entry::from_line(line)?;
            if !self.seen.insert(entry.index) {
                continue;
            }
            let kind: Kind = serde_json::from_str(entry.body.get())
                .map_err(|e| crate::VoterError::board(format!("entry {}: {e}", entry.index)))?;
            let phase = match kind.kind.as_str() {
                "manifest" => Some(Phase::Setup),
                "trustee_registration" => Some(Phase::KeyCeremony),
                "key_ack" => {
                    self.acks += 1;
                    (self.acks == self.threshold).then_some(Phase::Ready)
                }
                "voting_opened" => Some(Phase::Open),
                "voting_closed" => Some(Phase::Closed),
                "result" => Some(Phase::Tallied),
                _ => None,
            };
            let state = phase.map(Phase::as_str);
            if let Some(state) = state {
                if !self.found.iter().any(|m| m.state == state) {
                    self.found.push(Milestone {
                        state,
                        index: entry.index,
                        time: entry.time,
                    });
                }
            }
        }
        Ok(())
    }

    /// The milestones found, in log order.
    pub fn milestones(&self) -> Vec<Milestone> {
        let mut out = self.found.clone();
        out.sort_by_key(|m| m.index);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use psephos_crypto::record::SignatureHex;
    use serde_json::value::RawValue;

    fn line(index: u64, kind: &str) -> String {
        Entry {
            index,
            prev: [0; 32],
            time: 1_700_000_000 + 60 * index,
            body: RawValue::from_string(format!(r#"{{"type":"{kind}"}}"#)).unwrap(),
            signature: SignatureHex([0; 64]),
        }
        .to_line()
        .unwrap()
    }

    #[test]
    fn each_state_is_dated_by_the_entry_that_reached_it() {
        let kinds = [
            "manifest",
            "trustee_registration",
            "trustee_registration",
            "joint_key",
            "key_ack",
            "key_ack",
            "key_ack",
            "voting_opened",
            "ballot",
            "voting_closed",
            "partial_decryption",
            "partial_decryption",
            "result",
        ];
        let lines: Vec<String> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| line(i as u64, k))
            .collect();
        let mut t = Timeline::new(2);
        // Two windows, overlapping and out of order: each entry counts once.
        t.push_lines(&lines[9..].join("\n")).unwrap();
        t.push_lines(&lines[..10].join("\n")).unwrap();
        let got: Vec<(&str, u64)> = t.milestones().iter().map(|m| (m.state, m.index)).collect();
        assert_eq!(
            got,
            [
                ("setup", 0),
                ("key_ceremony", 1),
                ("ready", 5),
                ("open", 7),
                ("closed", 9),
                ("tallied", 12)
            ]
        );
        assert_eq!(t.milestones()[3].time, 1_700_000_000 + 7 * 60);
    }

    #[test]
    fn a_line_that_is_not_an_entry_is_refused() {
        assert!(Timeline::new(1).push_lines("{\"index\":0}").is_err());
    }
}
