//! The witnesses an election relies on (SPEC.md §14.1): mirrors the
//! manifest names, each with the key it cosigns checkpoints with, and the
//! number `k` of them whose cosignatures make a checkpoint one the board
//! cannot show to some and hide from others. Trustees, voters and
//! observers count a checkpoint's cosignatures with this one type.

use serde::{Deserialize, Serialize};

use crate::election::{Rule, Violation};
use crate::log::checkpoint::{
    verify_cosignatures, Checkpoint, CheckpointError, CosignatureVerifier, NoteVerifier,
};

/// Most witnesses a manifest may name.
pub const MAX_WITNESSES: usize = 32;

/// A witness as the manifest names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Witness {
    /// Its name: the key name of its cosignatures.
    pub name: String,
    /// Its cosigning key as a C2SP vkey (`cosignature/v1`, SPEC.md §7.4).
    pub key: String,
    /// Where it serves the read API (SPEC.md §10.9.1), `http://` or `https://`.
    pub url: String,
}

/// The manifest's witnesses with their keys parsed, and the quorum.
#[derive(Clone, Debug)]
pub struct WitnessSet {
    witnesses: Vec<(Witness, CosignatureVerifier)>,
    quorum: usize,
}

/// A checkpoint's cosignatures counted against the witnesses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quorum {
    /// The checkpoint (signed by the board key).
    pub checkpoint: Checkpoint,
    /// The witnesses whose valid cosignature it carries, in manifest order.
    pub cosigned_by: Vec<String>,
    /// How many are needed.
    pub needed: usize,
}

impl Quorum {
    /// At least `k` witnesses cosigned.
    pub fn is_met(&self) -> bool {
        self.cosigned_by.len() >= self.needed
    }
}

impl WitnessSet {
    /// The witness rules of SPEC.md §14.1: at most 32 witnesses with
    /// distinct names and keys, each key a cosignature vkey named as the
    /// witness, each URL `http://` or `https://`; `0 ≤ k ≤` the number of
    /// witnesses.
    pub fn new(witnesses: &[Witness], quorum: u32) -> Result<Self, Violation> {
        let bad = |why: String| Err(Violation::new(Rule::InvalidManifest, why));
        if witnesses.len() > MAX_WITNESSES {
            return bad(format!("at most {MAX_WITNESSES} witnesses"));
        }
        let quorum = quorum as usize;
        if quorum > witnesses.len() {
            return bad(format!(
                "the witness quorum is {quorum} but the manifest names {} witnesses",
                witnesses.len()
            ));
        }
        let mut out: Vec<(Witness, CosignatureVerifier)> = Vec::with_capacity(witnesses.len());
        for w in witnesses {
            let verifier = match CosignatureVerifier::from_vkey(&w.key) {
                Ok(v) => v,
                Err(e) => {
                    return bad(format!(
                        "witness {:?}: its key is not a cosignature vkey: {e}",
                        w.name
                    ))
                }
            };
            if verifier.name() != w.name {
                return bad(format!(
                    "witness {:?}: its key is named {:?}",
                    w.name,
                    verifier.name()
                ));
            }
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return bad(format!(
                    "witness {:?}: its URL must be http:// or https://",
                    w.name
                ));
            }
            if out
                .iter()
                .any(|(o, v)| o.name == w.name || v.verifying_key() == verifier.verifying_key())
            {
                return bad(format!(
                    "witness {:?} is named twice or shares a key",
                    w.name
                ));
            }
            out.push((w.clone(), verifier));
        }
        Ok(WitnessSet {
            witnesses: out,
            quorum,
        })
    }

    /// `k`.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// The witnesses, in manifest order.
    pub fn witnesses(&self) -> impl Iterator<Item = &Witness> {
        self.witnesses.iter().map(|(w, _)| w)
    }

    /// Their cosignature keys.
    pub fn verifiers(&self) -> Vec<CosignatureVerifier> {
        self.witnesses.iter().map(|(_, v)| v.clone()).collect()
    }

    /// Open `note` with the board key and count the witnesses whose
    /// cosignature on it verifies (SPEC.md §7.4, §14.1). A cosignature line
    /// by a witness that does not verify is an error: a witness never signs
    /// a bad line, so someone forged it.
    pub fn count(&self, note: &str, board: &NoteVerifier) -> Result<Quorum, CheckpointError> {
        let (checkpoint, found) = verify_cosignatures(note, board, &self.verifiers())?;
        let cosigned_by = self
            .witnesses
            .iter()
            .filter(|(_, v)| {
                found
                    .iter()
                    .any(|c| c.name == v.name() && c.key_id == v.key_id())
            })
            .map(|(w, _)| w.name.clone())
            .collect();
        Ok(Quorum {
            checkpoint,
            cosigned_by,
            needed: self.quorum,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::checkpoint::{add_cosignature, sign_checkpoint, Cosigner, NoteSigner};
    use ed25519_dalek::SigningKey;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn witness(name: &str, seed: u8) -> (Witness, Cosigner) {
        let cosigner = Cosigner::new(name, key(seed)).unwrap();
        let w = Witness {
            name: name.into(),
            key: cosigner.verifier().to_vkey(),
            url: format!("https://{name}.example"),
        };
        (w, cosigner)
    }

    #[test]
    fn the_quorum_counts_only_manifest_witnesses_with_valid_cosignatures() {
        let board = NoteSigner::new("board.example", key(1)).unwrap();
        let cp = Checkpoint {
            origin: "board.example/e1".into(),
            size: 3,
            root: [9; 32],
        };
        let (a, ca) = witness("mirror-a.example", 2);
        let (b, cb) = witness("mirror-b.example", 3);
        let (c, _) = witness("mirror-c.example", 4);
        let (_, outsider) = witness("mirror-x.example", 5);
        let set = WitnessSet::new(&[a, b, c], 2).unwrap();
        let vk = board.verifier();
        let mut note = sign_checkpoint(&cp, &board).unwrap();
        note = add_cosignature(&note, &vk, &ca, 100).unwrap();
        note = add_cosignature(&note, &vk, &outsider, 100).unwrap();
        let q = set.count(&note, &vk).unwrap();
        assert_eq!(q.cosigned_by, vec!["mirror-a.example".to_string()]);
        assert!(!q.is_met(), "an outsider's cosignature does not count");
        note = add_cosignature(&note, &vk, &cb, 101).unwrap();
        let q = set.count(&note, &vk).unwrap();
        assert_eq!(q.cosigned_by.len(), 2);
        assert!(q.is_met());
        assert_eq!(q.checkpoint, cp);
        // Another board key: the note does not open at all.
        let other = NoteSigner::new("board.example", key(6)).unwrap();
        assert!(matches!(
            set.count(&note, &other.verifier()),
            Err(CheckpointError::NoSignatureFromKey { .. })
        ));
    }

    #[test]
    fn witness_rules_refuse_what_no_one_could_count_on() {
        let (a, _) = witness("mirror-a.example", 2);
        let (b, _) = witness("mirror-b.example", 3);
        let refused = |ws: Vec<Witness>, k: u32| {
            let v = WitnessSet::new(&ws, k).unwrap_err();
            assert_eq!(v.rule, Rule::InvalidManifest, "{v}");
            v.message
        };
        assert!(refused(vec![a.clone()], 2).contains("quorum"));
        assert!(refused(vec![a.clone(), a.clone()], 1).contains("twice"));
        let mut renamed = b.clone();
        renamed.name = "someone-else".into();
        assert!(refused(vec![renamed], 1).contains("named"));
        let mut ftp = b.clone();
        ftp.url = "ftp://mirror-b.example".into();
        assert!(refused(vec![ftp], 0).contains("URL"));
        let mut garbage = b.clone();
        garbage.key = "not a vkey".into();
        assert!(refused(vec![garbage], 0).contains("vkey"));
        assert_eq!(WitnessSet::new(&[a, b], 2).unwrap().quorum(), 2);
        assert_eq!(WitnessSet::new(&[], 0).unwrap().quorum(), 0);
    }
}
