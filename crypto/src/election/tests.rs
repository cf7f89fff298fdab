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
