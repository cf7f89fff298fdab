//! The voting page bundle's hash (DESIGN.md §8, SPEC.md §13.6).
//!
//! ```text
//! bundle_sha256 = SHA-256( for each file, sorted by name (bytewise):
//!                          name ‖ "\n" ‖ hex(SHA-256(content)) ‖ "\n" )
//! ```
//!
//! The same lines, as `hex  name`, are served at `/assets/SHA256SUMS` so a
//! page (or anyone with `sha256sum -c`) can re-derive the hash.

use sha2::{Digest, Sha256};

use crate::error::{Result, VoterError};

/// SHA-256 of one file, hex.
pub fn file_sha256(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

/// The bundle hash over `(name, hex SHA-256 of the content)` pairs, in any order.
pub fn bundle_sha256(files: &[(String, String)]) -> [u8; 32] {
    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut h = Sha256::new();
    for (name, digest) in sorted {
        h.update(name.as_bytes());
        h.update(b"\n");
        h.update(digest.as_bytes());
        h.update(b"\n");
    }
    h.finalize().into()
}

/// The `SHA256SUMS` text: `hex  name\n` per file, sorted by name.
pub fn sums_text(files: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    sorted.iter().map(|(n, d)| format!("{d}  {n}\n")).collect()
}

/// Parse a `SHA256SUMS` text back into pairs.
pub fn parse_sums(text: &str) -> Result<Vec<(String, String)>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (digest, name) = l
                .split_once("  ")
                .ok_or_else(|| VoterError::board(format!("SHA256SUMS line {l:?} is malformed")))?;
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(VoterError::board(format!(
                    "SHA256SUMS line {l:?} is malformed"
                )));
            }
            Ok((name.to_string(), digest.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_hash_is_over_sorted_name_and_digest_lines() {
        let files = vec![
            ("b.js".to_string(), file_sha256(b"b")),
            ("a.wasm".to_string(), file_sha256(b"a")),
        ];
        let text = format!(
            "a.wasm\n{}\nb.js\n{}\n",
            file_sha256(b"a"),
            file_sha256(b"b")
        );
        let expected: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        assert_eq!(bundle_sha256(&files), expected);
        let sums = sums_text(&files);
        assert!(sums.starts_with(&file_sha256(b"a")));
        let mut back = parse_sums(&sums).unwrap();
        back.reverse();
        assert_eq!(bundle_sha256(&back), expected);
    }
}
