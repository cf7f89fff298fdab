//! The printable form of a voter's private credential (SPEC.md §12.2).
//!
//! A credential is an Ed25519 key; its private part is the 32-byte seed `s`
//! (RFC 8032). The credential authority hands it to the voter as a code:
//!
//! ```text
//! psephos-cred-1:XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX
//! ```
//!
//! * `c = SHA-256("psephos/credential/v1" ‖ s)[0..5]`, a 40-bit checksum;
//! * the 37 bytes `s ‖ c` (296 bits) are written most significant bit first
//!   in Crockford base32 (`0123456789ABCDEFGHJKMNPQRSTVWXYZ`, 5 bits per
//!   character), padded with four zero bits to 60 characters;
//! * the 60 characters are written in 12 groups of 5 joined by `-`, after the
//!   prefix `psephos-cred-1:`.
//!
//! Decoding is forgiving where that cannot change the meaning: the prefix is
//! optional and case-insensitive, letters may be in either case, spaces and
//! `-` anywhere are ignored, and `O` reads as `0`, `I` and `L` as `1`
//! (Crockford's rule). Anything else — a wrong length, another character,
//! nonzero padding bits, a checksum that does not match — is refused, so a
//! mistyped code is caught (a random typo passes with probability 2⁻⁴⁰)
//! instead of yielding some other, ineligible key.

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// What every code starts with; the `1` is the format version.
pub const CREDENTIAL_PREFIX: &str = "psephos-cred-1:";

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const SEED_BYTES: usize = 32;
const CHECK_BYTES: usize = 5;
const RAW_BYTES: usize = SEED_BYTES + CHECK_BYTES;
/// Characters of the base32 part: ⌈296 / 5⌉.
pub const CODE_CHARS: usize = (RAW_BYTES * 8).div_ceil(5);
const GROUP: usize = 5;

fn checksum(seed: &[u8; 32]) -> [u8; CHECK_BYTES] {
    let mut h = Sha256::new();
    h.update(b"psephos/credential/v1");
    h.update(seed);
    let digest = h.finalize();
    let mut out = [0u8; CHECK_BYTES];
    out.copy_from_slice(&digest[..CHECK_BYTES]);
    out
}

fn bad(why: impl Into<String>) -> Error {
    Error::Encoding {
        what: "credential",
        why: why.into(),
    }
}

/// The code of a credential (SPEC.md §12.2). The text is secret: it is
/// wiped from memory when dropped.
pub fn encode_credential(key: &SigningKey) -> Zeroizing<String> {
    let mut raw = Zeroizing::new([0u8; RAW_BYTES]);
    let seed = Zeroizing::new(key.to_bytes());
    raw[..SEED_BYTES].copy_from_slice(seed.as_ref());
    raw[SEED_BYTES..].copy_from_slice(&checksum(&seed));
    let mut out = Zeroizing::new(String::with_capacity(
        CREDENTIAL_PREFIX.len() + CODE_CHARS + CODE_CHARS / GROUP,
    ));
    out.push_str(CREDENTIAL_PREFIX);
    for i in 0..CODE_CHARS {
        if i > 0 && i % GROUP == 0 {
            out.push('-');
        }
        // Bits 5i .. 5i+5 of the raw bytes, most significant first; the
        // bits past the end are the zero padding.
        let mut v = 0usize;
        for b in 5 * i..5 * i + 5 {
            let bit = raw
                .get(b / 8)
                .map_or(0, |byte| usize::from((byte >> (7 - b % 8)) & 1));
            v = (v << 1) | bit;
        }
        out.push(char::from(ALPHABET[v]));
    }
    out
}

fn digit(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .map(|p| p as u8)
}

/// Read a credential code back into the voter's signing key (SPEC.md §12.2).
pub fn decode_credential(text: &str) -> Result<SigningKey> {
    let text = text.trim();
    let body = match text.get(..CREDENTIAL_PREFIX.len()) {
        Some(p) if p.eq_ignore_ascii_case(CREDENTIAL_PREFIX) => &text[CREDENTIAL_PREFIX.len()..],
        _ if text.to_ascii_lowercase().starts_with("psephos-cred-") => {
            return Err(bad("unknown credential format version"))
        }
        _ => text,
    };
    let mut digits = Zeroizing::new(Vec::with_capacity(CODE_CHARS));
    for (position, c) in body
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .enumerate()
    {
        let d = digit(c).ok_or_else(|| {
            bad(format!(
                "character {} of the code ({c:?}) is not one of 0-9, A-Z without U",
                position + 1
            ))
        })?;
        digits.push(d);
    }
    if digits.len() != CODE_CHARS {
        return Err(bad(format!(
            "expected {CODE_CHARS} code characters, found {}",
            digits.len()
        )));
    }
    let mut raw = Zeroizing::new([0u8; RAW_BYTES]);
    for (i, d) in digits.iter().enumerate() {
        for k in 0..5 {
            let b = 5 * i + k;
            let bit = (d >> (4 - k)) & 1;
            match raw.get_mut(b / 8) {
                Some(byte) => *byte |= bit << (7 - b % 8),
                None if bit != 0 => return Err(bad("the last character is not a valid ending")),
                None => {}
            }
        }
    }
    let mut seed = Zeroizing::new([0u8; SEED_BYTES]);
    seed.copy_from_slice(&raw[..SEED_BYTES]);
    if raw[SEED_BYTES..] != checksum(&seed) {
        return Err(bad(
            "the checksum does not match: a character is mistyped or missing",
        ));
    }
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn credential_code_round_trips_and_has_the_documented_shape() {
        let mut rng = ChaCha20Rng::seed_from_u64(701);
        let key = SigningKey::generate(&mut rng);
        let code = encode_credential(&key);
        assert!(code.starts_with(CREDENTIAL_PREFIX));
        let groups: Vec<&str> = code[CREDENTIAL_PREFIX.len()..].split('-').collect();
        assert_eq!(groups.len(), 12);
        assert!(groups.iter().all(|g| g.len() == 5));
        assert_eq!(decode_credential(&code).unwrap().to_bytes(), key.to_bytes());
    }

    #[test]
    fn credential_code_known_answer_for_the_zero_seed() {
        // SPEC.md §12.2 vector: seed = 32 zero bytes.
        let key = SigningKey::from_bytes(&[0u8; 32]);
        let code = encode_credential(&key);
        let c = checksum(&[0u8; 32]);
        let tail: String = code[CREDENTIAL_PREFIX.len()..].replace('-', "");
        // 32 zero bytes are 256 zero bits: 51 '0' digits, then the digit
        // holding the last bit of the seed and the checksum's first 4 bits.
        assert!(tail.starts_with(&"0".repeat(51)));
        assert_eq!(
            tail.as_bytes()[51],
            ALPHABET[usize::from(c[0] >> 4)],
            "{tail}"
        );
        assert_eq!(
            *code,
            "psephos-cred-1:00000-00000-00000-00000-00000-00000-00000-00000-00000-00000-0BHGM-BCZ7G"
        );
        assert_eq!(decode_credential(&code).unwrap().to_bytes(), [0u8; 32]);
    }

    #[test]
    fn credential_code_is_forgiving_about_case_spacing_and_lookalikes() {
        let mut rng = ChaCha20Rng::seed_from_u64(702);
        let key = SigningKey::generate(&mut rng);
        let code = encode_credential(&key);
        let inner = code[CREDENTIAL_PREFIX.len()..]
            .to_lowercase()
            .replace('-', " ")
            .replace('0', "o")
            .replace('1', "l");
        let sloppy = format!("  PSEPHOS-CRED-1:{inner}\n");
        assert_eq!(
            decode_credential(&sloppy).unwrap().to_bytes(),
            key.to_bytes()
        );
        let bare = &code[CREDENTIAL_PREFIX.len()..];
        assert_eq!(decode_credential(bare).unwrap().to_bytes(), key.to_bytes());
    }

    #[test]
    fn mistyped_credential_code_is_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(703);
        let key = SigningKey::generate(&mut rng);
        let code = encode_credential(&key);
        // Change every code character in turn to another valid digit.
        let start = CREDENTIAL_PREFIX.len();
        for (i, c) in code.char_indices().skip(start) {
            if c == '-' {
                continue;
            }
            let other = if c == 'Z' { 'Y' } else { 'Z' };
            let mut typo = code.to_string();
            typo.replace_range(i..i + 1, &other.to_string());
            assert!(decode_credential(&typo).is_err(), "typo at {i} accepted");
        }
        // A missing character, an extra one, a character outside the alphabet,
        // and an unknown version.
        assert!(decode_credential(&code[..code.len() - 1]).is_err());
        assert!(decode_credential(&format!("{}0", &*code)).is_err());
        let inner = code[start..].replacen('-', "U", 1);
        assert!(decode_credential(&format!("{CREDENTIAL_PREFIX}{inner}")).is_err());
        assert!(decode_credential(&code.replace("cred-1:", "cred-2:")).is_err());
        assert!(decode_credential("").is_err());
    }
}
