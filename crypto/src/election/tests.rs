//! Unit tests of the state machine live in `crypto/tests/election_rules.rs`
//! (they need a whole ceremony); this module checks the tables.

use super::violation::{Check, Rule};

#[test]
fn every_rule_has_a_section_a_check_and_a_board_code() {
    for rule in Rule::ALL {
        assert!(rule.section().starts_with('§'), "{rule:?}");
        assert!(
            rule.check() >= Check::V3 && rule.check() <= Check::V10,
            "{rule:?}"
        );
        let (status, code) = rule.http();
        assert!((400..500).contains(&status), "{rule:?}");
        assert!(!code.is_empty());
    }
}

/// The row of SPEC.md §11.14 for `rule`.
fn spec_row(rule: Rule) -> String {
    let (status, code) = rule.http();
    format!(
        "| `{rule:?}` | {} | {status} `{code}` | {} |",
        rule.section(),
        rule.check()
    )
}

#[test]
fn spec_lists_every_rule_with_its_section_code_and_check() {
    let spec = include_str!("../../../SPEC.md");
    let missing: Vec<String> = Rule::ALL
        .iter()
        .map(|r| spec_row(*r))
        .filter(|row| !spec.contains(row.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "SPEC.md §11.14 lacks these rows (or states them otherwise):\n{}",
        missing.join("\n")
    );
    let listed = spec.matches("\n| `").count();
    assert!(listed >= Rule::ALL.len());
}
