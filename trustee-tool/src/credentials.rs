//! The credential authority (SPEC.md §12): one Ed25519 credential per
//! voter, made offline; the private codes go to a file the authority
//! distributes, only the public keys (with weights) go to the board, in one
//! `credential_list` post signed with the authority's key named in the
//! manifest.
//!
//! Files:
//! * the authority's key file: an age key file (see [`crate::keyfile`]) of
//!   kind `credential_authority` holding its Ed25519 seed;
//! * the codes file: one code per line (SPEC.md §12.2, see
//!   [`psephos_crypto::credential`]), line `k` for the `k`-th entry of the
//!   list, written atomically, readable by its owner only;
//! * the weights file (optional): one integer from 1 to 2^20 per line, line `k`
//!   for the `k`-th credential; blank lines and lines starting with `#`
//!   are skipped.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use psephos_crypto::credential::{decode_credential, encode_credential};
use psephos_crypto::election::voting::check_credential_list;
use psephos_crypto::election::Trust;
use psephos_crypto::record::{AuthorKey, Body, CredentialEntry, Payload, Post};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::board::BoardClient;
use crate::error::{Result, TrusteeError};
use crate::keyfile::{self, Passphrase, Secret32, WorkFactor, FORMAT};
use crate::steps::Outcome;
use crate::view::fetch_ceremony_view;

/// The `kind` of a credential authority key file.
pub const AUTHORITY_KIND: &str = "credential_authority";

/// Most credentials one list may hold.
pub const MAX_CREDENTIALS: u64 = 10_000_000;

/// The largest weight of a credential (SPEC.md §10.3 rule 7, §12.1).
pub use psephos_crypto::election::voting::MAX_WEIGHT;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorityFile {
    format: String,
    kind: String,
    signing_key: Secret32,
}

/// The credential authority's key, opened.
pub struct AuthorityKeyFile {
    path: PathBuf,
    key: SigningKey,
}

impl std::fmt::Debug for AuthorityKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AuthorityKeyFile({}, {})",
            self.path.display(),
            self.author().to_hex()
        )
    }
}

impl AuthorityKeyFile {
    /// `credentials keygen`: a fresh key in a new key file.
    pub fn create<R: RngCore + CryptoRng>(
        path: &Path,
        passphrase: &Passphrase,
        work: WorkFactor,
        rng: &mut R,
    ) -> Result<Self> {
        let key = SigningKey::generate(rng);
        let plain = keyfile::to_plaintext(&AuthorityFile {
            format: FORMAT.into(),
            kind: AUTHORITY_KIND.into(),
            signing_key: Secret32(key.to_bytes()),
        })?;
        keyfile::write_plaintext(path, passphrase, work, &plain, true)?;
        Ok(AuthorityKeyFile {
            path: path.to_owned(),
            key,
        })
    }

    /// Open an existing key file.
    pub fn open(path: &Path, passphrase: &Passphrase) -> Result<Self> {
        let plain = keyfile::read_plaintext(path, passphrase)?;
        let file: AuthorityFile = keyfile::parse(path, &plain, AUTHORITY_KIND)?;
        Ok(AuthorityKeyFile {
            path: path.to_owned(),
            key: SigningKey::from_bytes(&file.signing_key.0),
        })
    }

    /// The public key, for the manifest's `credential_authority`.
    pub fn author(&self) -> AuthorKey {
        AuthorKey::of(&self.key)
    }
}

/// Read a weights file (see the module documentation).
pub fn read_weights(path: &Path) -> Result<Vec<u64>> {
    let text = std::fs::read_to_string(path).map_err(|source| TrusteeError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.parse::<u64>() {
            Ok(w) if (1..=MAX_WEIGHT).contains(&w) => out.push(w),
            _ => {
                return Err(TrusteeError::InputFile {
                    path: path.to_owned(),
                    why: format!(
                        "line {}: {line:?} is not a weight (an integer from 1 to {MAX_WEIGHT})",
                        n + 1
                    ),
                })
            }
        }
    }
    Ok(out)
}

/// Read a codes file back into signing keys.
pub fn read_codes(path: &Path) -> Result<Vec<SigningKey>> {
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| TrusteeError::Io {
                action: "read",
                path: path.to_owned(),
                source,
            })?,
        );
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            decode_credential(line).map_err(|e| TrusteeError::InputFile {
                path: path.to_owned(),
                why: format!("line {}: {e}", n + 1),
            })?,
        );
    }
    Ok(out)
}

/// `credentials generate`: make `count` credentials (or reuse the codes
/// already in `out`, after a crash), write the codes file, and post the
/// signed list (SPEC.md §12.1). Idempotent: if the same list is already on
/// the board, nothing is posted.
pub fn generate<B: BoardClient, R: RngCore + CryptoRng>(
    board: &B,
    election: &str,
    authority: &AuthorityKeyFile,
    count: u64,
    weights: Option<Vec<u64>>,
    out: &Path,
    rng: &mut R,
) -> Result<Outcome> {
    if count == 0 || count > MAX_CREDENTIALS {
        return Err(TrusteeError::Protocol(format!(
            "--count must be 1 to {MAX_CREDENTIALS}"
        )));
    }
    let view = fetch_ceremony_view(board, election)?;
    let authority_key = view.manifest().credential_authority;
    if authority_key != authority.author() {
        return Err(TrusteeError::Protocol(format!(
            "this key ({}) is not the credential authority of election {election:?} ({})",
            authority.author().to_hex(),
            authority_key.to_hex()
        )));
    }
    let weights = match weights {
        None => vec![1; count as usize],
        Some(w) if w.len() as u64 == count => w,
        Some(w) => {
            return Err(TrusteeError::Protocol(format!(
                "the weights file has {} weights for {count} credentials",
                w.len()
            )))
        }
    };
    let keys = if out.exists() {
        let keys = read_codes(out)?;
        if keys.len() as u64 != count {
            return Err(TrusteeError::Protocol(format!(
                "{} already holds {} codes, not {count}; move it away to make new credentials",
                out.display(),
                keys.len()
            )));
        }
        Some(keys)
    } else {
        if view.credential_list.is_some() {
            return Err(TrusteeError::Protocol(
                "a credential list is already on the board".into(),
            ));
        }
        None
    };
    let fresh = keys.is_none();
    let keys = keys.unwrap_or_else(|| {
        (0..count)
            .map(|_| SigningKey::generate(rng))
            .collect::<Vec<_>>()
    });
    let credentials: Vec<CredentialEntry> = keys
        .iter()
        .zip(&weights)
        .map(|(k, w)| CredentialEntry {
            key: AuthorKey::of(k),
            weight: *w,
        })
        .collect();
    // The state machine's rule for the list (SPEC.md §10.3 rule 7), checked
    // before any code is written: a list the board would refuse must not
    // leave a codes file behind. Every key is a signing key's, so valid:
    // the keys need no check of their own.
    check_credential_list(&credentials, Trust::ProofsChecked).map_err(|v| {
        TrusteeError::Protocol(format!("the board would refuse this credential list: {v}"))
    })?;
    if fresh {
        let mut text = Zeroizing::new(String::with_capacity(keys.len() * 90));
        for k in &keys {
            text.push_str(&encode_credential(k));
            text.push('\n');
        }
        keyfile::write_atomically(out, text.as_bytes(), true, true)?;
    }
    let body = Body {
        election: election.to_owned(),
        author: authority.author(),
        payload: Payload::CredentialList { credentials },
    };
    if let Some(posted) = &view.credential_list {
        // A body has one canonical text (SPEC.md §9.1.1): the same list is
        // the same bytes.
        let ours: [u8; 32] = Sha256::digest(serde_json::to_string(&body).map_err(|e| {
            TrusteeError::Protocol(format!("cannot serialize the credential list: {e}"))
        })?)
        .into();
        if posted.body_sha256 == ours {
            return Ok(Outcome::Done(format!(
                "the list of these {count} credentials is already on the board"
            )));
        }
        return Err(TrusteeError::Protocol(format!(
            "another credential list is already on the board; {} does not match it",
            out.display()
        )));
    }
    if view.election().opened_at().is_some() {
        return Err(TrusteeError::Protocol(
            "voting has opened: the credential list can no longer be posted".into(),
        ));
    }
    let receipt = board.post(election, &Post::sign(&body, &authority.key)?)?;
    Ok(Outcome::Done(format!(
        "posted the list of {count} credentials (entry {}); the private codes are in {} — \
         hand each voter their line, then destroy the file",
        receipt.index,
        out.display()
    )))
}
