//! The transparency log's texts (SPEC.md §7.4, §10.9.4): checkpoint
//! bodies, signed notes with cosignatures, verifier keys, and
//! equivocation / invalid-entry evidence.

use arbitrary::{Arbitrary, Unstructured};
use psephos_crypto::log::evidence::{Evidence, EvidenceKind, InvalidEntry};
use psephos_crypto::log::{
    add_cosignature, open_checkpoint, sign_checkpoint, verify_cosignatures, Checkpoint,
    CheckpointError, CosignatureVerifier, Cosigner, NoteSigner, NoteVerifier,
};

use crate::{fixed_key, text};

/// The key name of the fixed log key the targets sign checkpoints with.
pub const LOG_NAME: &str = "fuzz.psephos.test";
/// The key names of the fixed cosigners.
pub const COSIGNER_NAMES: [&str; 3] = [
    "witness-a.psephos.test",
    "witness-b.psephos.test",
    "witness-c.psephos.test",
];
/// The board key of `verifier/tests/data/frozen` (its `record.vkey`), so
/// that the frozen record's checkpoint is a valid seed.
pub const FROZEN_BOARD_VKEY: &str =
    "board.psephos.test+f0f69cae+Abc82UyXS5jNe9k5xXdxk8awhEO+88JChm0/Q9Ru+3Rx";

/// The fixed log signer.
pub fn log_signer() -> NoteSigner {
    NoteSigner::new(LOG_NAME, fixed_key("log")).expect("a valid key name")
}

/// The fixed cosigners.
pub fn cosigners() -> Vec<Cosigner> {
    COSIGNER_NAMES
        .iter()
        .map(|name| Cosigner::new(name, fixed_key(name)).expect("a valid key name"))
        .collect()
}

fn cosigner_verifiers() -> Vec<CosignatureVerifier> {
    cosigners().iter().map(Cosigner::verifier).collect()
}

/// A structured checkpoint input: sign it, cosign it, check it.
#[derive(Arbitrary, Debug)]
struct SignedCheckpoint {
    origin: String,
    size: u64,
    root: [u8; 32],
    cosign: Vec<(u8, u64)>,
}

/// `checkpoint`: tlog-checkpoint bodies (SPEC.md §7.4). The first byte
/// picks the mode.
///
/// * Even: the rest is a body for [`Checkpoint::parse_body`]. A body that
///   parses is canonical ([`Checkpoint::to_body`] gives it back), and a
///   note of it signed by the fixed log key opens to the same checkpoint.
/// * Odd: the rest is a structured checkpoint (origin, size, root) and a
///   list of cosignings `(cosigner, timestamp)`. [`sign_checkpoint`]
///   signs exactly the checkpoints whose body parses back to them; each
///   cosigning succeeds unless the timestamp is above 2^63 − 1 or that
///   cosigner has signed already; and [`verify_cosignatures`] then returns
///   the checkpoint and exactly those cosignatures, in order.
pub fn checkpoint(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let signer = log_signer();
    let log = signer.verifier();
    if mode % 2 == 0 {
        let Some(t) = text(rest) else { return };
        let Ok(cp) = Checkpoint::parse_body(t) else {
            return;
        };
        assert_eq!(cp.to_body(), t, "parse_body took a non-canonical body");
        let note = sign_checkpoint(&cp, &signer).expect("a parsed checkpoint can be signed");
        let (opened, others) = open_checkpoint(&note, &log).expect("a signed note opens");
        assert_eq!(opened, cp);
        assert!(others.is_empty());
        return;
    }
    let Ok(input) = SignedCheckpoint::arbitrary_take_rest(Unstructured::new(rest)) else {
        return;
    };
    let cp = Checkpoint {
        origin: input.origin,
        size: input.size,
        root: input.root,
    };
    let parses_back = Checkpoint::parse_body(&cp.to_body()).as_ref() == Ok(&cp);
    let Ok(mut note) = sign_checkpoint(&cp, &signer) else {
        assert!(!parses_back, "refused to sign a valid checkpoint");
        return;
    };
    assert!(
        parses_back,
        "signed a checkpoint whose body does not parse back"
    );
    let (opened, others) = open_checkpoint(&note, &log).expect("a signed note opens");
    assert_eq!(opened, cp);
    assert!(others.is_empty());
    let cosigners = cosigners();
    let verifiers = cosigner_verifiers();
    let mut expected: Vec<(usize, u64)> = Vec::new();
    for (which, timestamp) in input.cosign {
        let c = usize::from(which) % cosigners.len();
        match add_cosignature(&note, &log, &cosigners[c], timestamp) {
            Ok(next) => {
                assert!(next.starts_with(&note));
                assert!(timestamp <= i64::MAX as u64);
                assert!(expected.iter().all(|(e, _)| *e != c));
                expected.push((c, timestamp));
                note = next;
            }
            Err(CheckpointError::TimestampOutOfRange(t)) => {
                assert_eq!(t, timestamp);
                assert!(timestamp > i64::MAX as u64);
            }
            Err(CheckpointError::DuplicateSignature { .. }) => {
                assert!(expected.iter().any(|(e, _)| *e == c));
            }
            Err(e) => panic!("cosigning a valid note failed: {e}"),
        }
    }
    let (opened, cosignatures) =
        verify_cosignatures(&note, &log, &verifiers).expect("the cosigned note verifies");
    assert_eq!(opened, cp);
    let got: Vec<(String, u64)> = cosignatures
        .iter()
        .map(|c| (c.name.clone(), c.timestamp))
        .collect();
    let want: Vec<(String, u64)> = expected
        .iter()
        .map(|(c, t)| (COSIGNER_NAMES[*c].to_owned(), *t))
        .collect();
    assert_eq!(got, want);
}

/// `signed_note`: any text as a signed checkpoint note (SPEC.md §7.4),
/// opened with the fixed log key and with the frozen record's board key,
/// and checked for the fixed cosigners.
///
/// * [`verify_cosignatures`] fails exactly as [`open_checkpoint`] does
///   when that fails; when it succeeds, so does `open_checkpoint`, with
///   the same checkpoint, and every cosignature returned is of a listed
///   cosigner, once, matching one of the note's other signature lines.
/// * A note with no line of a listed cosigner verifies with none.
/// * An opened note starts with its checkpoint's body and an empty line.
/// * A note the fixed log opens can be cosigned (unless that cosigner
///   has a line already or the note is full), and the result verifies
///   with the new cosignature.
pub fn signed_note(data: &[u8]) {
    let Some(note) = text(data) else { return };
    let own = log_signer().verifier();
    let frozen = NoteVerifier::from_vkey(FROZEN_BOARD_VKEY).expect("the frozen board key");
    let cosigners = cosigners();
    let verifiers = cosigner_verifiers();
    for (i, log) in [own, frozen].iter().enumerate() {
        let opened = open_checkpoint(note, log);
        let checked = verify_cosignatures(note, log, &verifiers);
        let (cp, others) = match opened {
            Err(e) => {
                assert_eq!(checked.err(), Some(e));
                continue;
            }
            Ok(o) => o,
        };
        assert!(
            note.starts_with(&format!("{}\n", cp.to_body())),
            "the opened body is not the note's"
        );
        let listed = |name: &str, key_id: [u8; 4]| {
            verifiers
                .iter()
                .any(|v| v.name() == name && v.key_id() == key_id)
        };
        match &checked {
            Ok((cp2, cosignatures)) => {
                assert_eq!(cp2, &cp);
                for (k, c) in cosignatures.iter().enumerate() {
                    assert!(listed(&c.name, c.key_id));
                    assert!(cosignatures[..k]
                        .iter()
                        .all(|d| (&d.name, d.key_id) != (&c.name, c.key_id)));
                    assert!(others.iter().any(|l| l.name == c.name
                        && l.key_id == c.key_id
                        && l.cosignature_timestamp() == Some(c.timestamp)));
                }
            }
            Err(e) => assert!(
                others.iter().any(|l| listed(&l.name, l.key_id)),
                "no listed cosigner's line, yet: {e}"
            ),
        }
        if i != 0 {
            continue;
        }
        let timestamp = (note.len() as u64) << 20;
        let c = &cosigners[note.len() % cosigners.len()];
        let has_line = others
            .iter()
            .any(|l| l.name == c.name() && l.key_id == c.key_id());
        match add_cosignature(note, log, c, timestamp) {
            Ok(next) => {
                assert!(!has_line, "cosigned twice");
                assert!(next.starts_with(note));
                let (_, more) = open_checkpoint(&next, log).expect("a cosigned note opens");
                assert_eq!(more.len(), others.len() + 1);
                let only = [c.verifier()];
                let (cp3, cosignatures) =
                    verify_cosignatures(&next, log, &only).expect("the new cosignature verifies");
                assert_eq!(cp3, cp);
                assert!(cosignatures
                    .iter()
                    .any(|s| s.name == c.name() && s.timestamp == timestamp));
            }
            Err(CheckpointError::DuplicateSignature { .. }) => assert!(has_line),
            Err(CheckpointError::TooManySignatures { .. }) => {}
            // A cosignature line of the fuzz cosigners (short names) is
            // under 256 bytes: only a note that close to the limit is refused.
            Err(CheckpointError::NoteTooLarge { max }) => assert!(note.len() + 256 > max),
            Err(e) => panic!("cosigning a note that opens failed: {e}"),
        }
    }
}

/// `vkey`: verifier keys (SPEC.md §7.4, C2SP vkeys). A first byte of 0
/// selects the structured mode.
///
/// * Text: at most one of [`NoteVerifier::from_vkey`] and
///   [`CosignatureVerifier::from_vkey`] accepts it (the signature type
///   differs); an accepted vkey is the key's `to_vkey()` up to the case of
///   the key ID's hex digits, and parses back to the same key, which
///   `new(name, key)` also builds.
/// * Structured: a key name and a seed; `new` accepts exactly the valid
///   key names (non-empty, no white space, `+` or control character), and
///   the vkey of what it builds parses back to it.
pub fn vkey(data: &[u8]) {
    if let Some((0, rest)) = data.split_first() {
        let mut u = Unstructured::new(rest);
        let (Ok(name), Ok(seed)) = (String::arbitrary(&mut u), <[u8; 32]>::arbitrary(&mut u))
        else {
            return;
        };
        let key = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        let valid = !name.is_empty()
            && !name
                .chars()
                .any(|c| c.is_whitespace() || c == '+' || c.is_control());
        let note = NoteVerifier::new(&name, key);
        let cosig = CosignatureVerifier::new(&name, key);
        assert_eq!(note.is_ok(), valid, "NoteVerifier::new({name:?})");
        assert_eq!(cosig.is_ok(), valid, "CosignatureVerifier::new({name:?})");
        if let (Ok(n), Ok(c)) = (note, cosig) {
            assert_eq!(NoteVerifier::from_vkey(&n.to_vkey()), Ok(n.clone()));
            assert_eq!(CosignatureVerifier::from_vkey(&c.to_vkey()), Ok(c.clone()));
            assert!(CosignatureVerifier::from_vkey(&n.to_vkey()).is_err());
            assert!(NoteVerifier::from_vkey(&c.to_vkey()).is_err());
        }
        return;
    }
    let Some(t) = text(data) else { return };
    let note = NoteVerifier::from_vkey(t);
    let cosig = CosignatureVerifier::from_vkey(t);
    assert!(
        !(note.is_ok() && cosig.is_ok()),
        "both types accepted {t:?}"
    );
    if let Ok(v) = &note {
        let written = v.to_vkey();
        assert_eq!(
            same_vkey_text(&written, t),
            Some(true),
            "{written:?} vs {t:?}"
        );
        assert_eq!(NoteVerifier::from_vkey(&written).as_ref(), Ok(v));
        assert_eq!(
            NoteVerifier::new(v.name(), *v.verifying_key()).as_ref(),
            Ok(v)
        );
    }
    if let Ok(v) = &cosig {
        let written = v.to_vkey();
        assert_eq!(
            same_vkey_text(&written, t),
            Some(true),
            "{written:?} vs {t:?}"
        );
        assert_eq!(CosignatureVerifier::from_vkey(&written).as_ref(), Ok(v));
        assert_eq!(
            CosignatureVerifier::new(v.name(), *v.verifying_key()).as_ref(),
            Ok(v)
        );
    }
}

/// `<name>+<id>+<key>` texts equal up to the case of `<id>`.
fn same_vkey_text(a: &str, b: &str) -> Option<bool> {
    let (an, ar) = a.split_once('+')?;
    let (ai, ak) = ar.split_once('+')?;
    let (bn, br) = b.split_once('+')?;
    let (bi, bk) = br.split_once('+')?;
    Some(an == bn && ai.eq_ignore_ascii_case(bi) && ak == bk)
}

/// `evidence`: JSON as equivocation [`Evidence`] and as an
/// [`InvalidEntry`] (SPEC.md §10.9.4).
///
/// * What parses round-trips through JSON.
/// * Evidence that verifies is never `unproven_consistency`; its two
///   checkpoints open; `same_size` ones have one size and two roots,
///   `prefix_mismatch` ones two sizes. Whether it verifies does not
///   depend on which note is `held` and which `presented`.
/// * An invalid entry whose inclusion verifies has `index < prefix_size
///   ≤` the checkpoint's size.
pub fn evidence(data: &[u8]) {
    let Some(t) = text(data) else { return };
    if let Ok(e) = serde_json::from_str::<Evidence>(t) {
        let json = serde_json::to_string(&e).expect("evidence serializes");
        assert_eq!(
            serde_json::from_str::<Evidence>(&json).ok(),
            Some(e.clone())
        );
        let verdict = e.verify();
        let mut swapped = e.clone();
        std::mem::swap(&mut swapped.held, &mut swapped.presented);
        assert_eq!(
            swapped.verify().is_ok(),
            verdict.is_ok(),
            "the verdict depends on the order of the notes: {verdict:?}"
        );
        if verdict.is_ok() {
            let (held, presented) = e.checkpoints().expect("verified evidence opens");
            assert_eq!(held.origin, presented.origin);
            match e.kind {
                EvidenceKind::SameSize => {
                    assert_eq!(held.size, presented.size);
                    assert_ne!(held.root, presented.root);
                }
                EvidenceKind::PrefixMismatch => assert_ne!(held.size, presented.size),
                EvidenceKind::UnprovenConsistency => {
                    panic!("unproven_consistency evidence verified")
                }
            }
        }
    }
    if let Ok(e) = serde_json::from_str::<InvalidEntry>(t) {
        let json = serde_json::to_string(&e).expect("an invalid entry serializes");
        assert_eq!(
            serde_json::from_str::<InvalidEntry>(&json).ok(),
            Some(e.clone())
        );
        if let Ok(cp) = e.verify_inclusion() {
            assert!(e.index < e.prefix_size);
            assert!(e.prefix_size <= cp.size);
        }
    }
}
