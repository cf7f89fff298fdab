//! The manifest rules (SPEC.md §10.7, §11.3): what entry 0 must be.

use std::collections::HashSet;

use crate::record::{AuthorKey, Manifest};

use super::violation::{broken, Rule, Violation};

/// Most contests a manifest may have.
pub const MAX_CONTESTS: usize = 100;
/// Most trustees a manifest may have.
pub const MAX_TRUSTEES: usize = 100;
/// Longest title, in bytes.
pub const MAX_TITLE_BYTES: usize = 1_000;
/// Longest election id, in bytes.
pub const MAX_ELECTION_ID_BYTES: usize = 64;
/// Largest `max_ballots_per_credential` a manifest may name (SPEC.md
/// §10.7): even then one credential's ballots stay a bounded part of the log.
pub const MAX_BALLOTS_PER_CREDENTIAL: u64 = 100;

/// An election id is `[a-z0-9-]{1,64}` (SPEC.md §10.1).
pub fn check_election_id(id: &str) -> Result<(), Violation> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ELECTION_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        broken(
            Rule::InvalidElectionId,
            format!("election id {id:?} does not match [a-z0-9-]{{1,64}}"),
        )
    }
}

/// A valid Ed25519 key that is not of small order (SPEC.md §9.1: such a
/// key could sign anything under `verify_strict`'s refusal anyway, so it
/// can never be a real author).
pub fn is_usable_key(key: &AuthorKey) -> bool {
    key.verifying_key().is_ok_and(|k| !k.is_weak())
}

/// The manifest rules of SPEC.md §10.7: title 1–1,000 bytes; 1–100
/// contests, each valid with a distinct id; 1–100 trustees numbered `1..n`
/// in order with valid distinct keys; `1 ≤ t ≤ n`; a valid credential
/// authority key; `min_counted` ≥ 1 when given;
/// `max_ballots_per_credential` between 1 and
/// [`MAX_BALLOTS_PER_CREDENTIAL`] when given; the witnesses and their
/// quorum as §14.1 states.
pub fn check_manifest(m: &Manifest) -> Result<(), Violation> {
    let bad = |why: String| broken(Rule::InvalidManifest, why);
    if m.title.is_empty() || m.title.len() > MAX_TITLE_BYTES {
        return bad(format!("the title must be 1 to {MAX_TITLE_BYTES} bytes"));
    }
    if m.contests.is_empty() || m.contests.len() > MAX_CONTESTS {
        return bad(format!("a manifest needs 1 to {MAX_CONTESTS} contests"));
    }
    let mut ids = HashSet::new();
    for c in &m.contests {
        if let Err(e) = c.validate() {
            return bad(e.to_string());
        }
        if !ids.insert(c.id.as_str()) {
            return bad(format!("contest id {:?} appears twice", c.id));
        }
    }
    let n = m.trustees.len();
    if n == 0 || n > MAX_TRUSTEES {
        return bad(format!("a manifest needs 1 to {MAX_TRUSTEES} trustees"));
    }
    let mut keys = HashSet::new();
    for (pos, t) in m.trustees.iter().enumerate() {
        if t.index as usize != pos + 1 {
            return bad(format!(
                "trustees must be numbered 1..{n} in order; position {} has index {}",
                pos + 1,
                t.index
            ));
        }
        if !is_usable_key(&t.key) {
            return bad(format!("trustee {} has an invalid Ed25519 key", t.index));
        }
        if !keys.insert(t.key) {
            return bad(format!("trustee {} shares its key with another", t.index));
        }
    }
    if m.threshold == 0 || m.threshold as usize > n {
        return bad(format!("the threshold must be between 1 and {n}"));
    }
    if !is_usable_key(&m.credential_authority) {
        return bad("the credential authority key is not a valid Ed25519 key".into());
    }
    if m.min_counted == Some(0) {
        return bad("min_counted must be at least 1".into());
    }
    if let Some(k) = m.max_ballots_per_credential {
        if k == 0 || k > MAX_BALLOTS_PER_CREDENTIAL {
            return bad(format!(
                "max_ballots_per_credential must be between 1 and {MAX_BALLOTS_PER_CREDENTIAL}; it is {k}"
            ));
        }
    }
    crate::witness::WitnessSet::new(&m.witnesses, m.witness_quorum)?;
    Ok(())
}
