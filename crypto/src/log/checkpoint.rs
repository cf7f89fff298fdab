//! Checkpoints: the board's signed tree heads and the cosignatures of its
//! mirrors (SPEC.md §7.4 checkpoints).
//!
//! A checkpoint states "after `size` entries, the Merkle tree of SPEC.md §7.1
//! has root `root`". The board signs one after each batch of appends; a
//! mirror that has checked it (entries, hash chain, consistency with the last
//! checkpoint it saw, SPEC.md §7.3) adds its cosignature. The formats are
//! three C2SP specifications, followed as written except where the last
//! section says otherwise:
//! [c2sp.org/tlog-checkpoint](https://c2sp.org/tlog-checkpoint) for the body,
//! [c2sp.org/signed-note](https://c2sp.org/signed-note) for the signed
//! envelope, with Ed25519, and
//! [c2sp.org/tlog-cosignature](https://c2sp.org/tlog-cosignature) for the
//! Ed25519 `cosignature/v1` of mirrors.
//!
//! # Body (tlog-checkpoint)
//!
//! ```text
//! <origin>\n                 non-empty; the log's identity, e.g. "board.example/2026-mayor"
//! <size>\n                   ASCII decimal, no leading zeroes ("0" for the empty tree)
//! <base64(root)>\n           standard base64 (RFC 4648 §4) with padding of the 32-byte root
//! ```
//!
//! # Signed note (signed-note)
//!
//! The body, an empty line, then one or more signature lines:
//!
//! ```text
//! <body>\n
//! — <key name> <base64(key ID || signature)>\n        ("—" is U+2014 EM DASH)
//! ```
//!
//! ```text
//! key ID = SHA-256(key name || 0x0A || signature type || 32-byte Ed25519 public key)[:4]
//! ```
//!
//! The log signs with signature type `0x01`: the signature is Ed25519
//! (RFC 8032) over the body bytes, newline included. A note is valid UTF-8
//! without control characters other than newline; key names are non-empty,
//! without Unicode white space and without `+`.
//!
//! # Cosignatures (tlog-cosignature, Ed25519 `cosignature/v1`)
//!
//! A mirror signs with signature type `0x04` (so its key ID is computed with
//! `0x04`). Its signature line carries a 72-byte `timestamped_signature`:
//!
//! ```text
//! signature = u64 timestamp, big-endian || Ed25519 signature over
//!             "cosignature/v1\n" || "time " || decimal(timestamp) || "\n" || body
//! ```
//!
//! where `timestamp` is the POSIX time of cosigning, at most 2^63 - 1. It
//! states that, at that time, this is the largest tree head the mirror has
//! seen of the log named by the origin, and that it is consistent with all
//! earlier ones.
//!
//! # Verifier keys
//!
//! A public key is written as a *vkey*, the text form of
//! `golang.org/x/mod/sumdb/note` that tlog-cosignature refers to:
//!
//! ```text
//! <key name>+<key ID as 8 hex digits>+<base64(signature type || 32-byte public key)>
//! ```
//!
//! Parsing recomputes the key ID and refuses a vkey whose ID does not match.
//!
//! # Choices and deviations
//!
//! - **No extension lines.** tlog-checkpoint allows optional lines after the
//!   root and does not recommend them; Psephos never writes them, and
//!   [`Checkpoint::parse_body`] refuses a body that has any
//!   ([`CheckpointError::ExtensionLines`]), so that a cosigned or verified
//!   checkpoint is exactly its three lines.
//! - **Origin.** Non-empty and free of control characters (the MUSTs). The
//!   SHOULD (a schema-less URL without spaces or `+`) is not enforced. The
//!   log's key name SHOULD equal the origin; that is not checked here either:
//!   callers compare [`Checkpoint::origin`] with the origin they expect.
//! - **Strict base64.** Padding is required and the unused bits of the last
//!   character must be zero, so every byte string has exactly one accepted
//!   encoding. (Go's decoder accepts non-zero unused bits; no honest signer
//!   produces them.)
//! - **Strict Ed25519.** Signatures are checked with `verify_strict`
//!   (canonical `S`, no small-order `R` or key), and small-order public keys
//!   are refused when a verifier is built.
//! - **Bounds.** At most [`MAX_SIGNATURES`] signature lines (signed-note
//!   requires accepting at least 16) and [`MAX_NOTE_BYTES`] bytes per note.
//! - **Failures are fatal.** A line whose key name and key ID match a key
//!   being checked must verify, or the whole note is refused (signed-note:
//!   "clients SHOULD reject the whole note"). Lines of other keys are ignored
//!   and handed back to the caller.

use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::merkle::Hash;

/// Signature type byte of a log's Ed25519 note signature (signed-note).
pub const SIGNATURE_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of an Ed25519 `cosignature/v1` (tlog-cosignature).
pub const SIGNATURE_TYPE_COSIGNATURE_V1: u8 = 0x04;
/// The most signature lines a note may carry.
pub const MAX_SIGNATURES: usize = 100;
/// The largest note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// The largest cosignature timestamp tlog-cosignature allows, 2^63 - 1.
const MAX_COSIGNATURE_TIMESTAMP: u64 = i64::MAX as u64;
/// The header line of the message a `cosignature/v1` signs.
const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";
/// What every signature line starts with: U+2014 EM DASH, then a space.
const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";
/// An Ed25519 signature's length.
const ED25519_SIGNATURE_LEN: usize = 64;
/// A `timestamped_signature`'s length: u64 timestamp and Ed25519 signature.
const COSIGNATURE_V1_LEN: usize = 8 + ED25519_SIGNATURE_LEN;

/// The 4-byte key ID that, with the key name, names a key in a note.
pub type KeyId = [u8; 4];

/// Why a checkpoint, note or key was refused.
///
/// [`InvalidOrigin`](Self::InvalidOrigin),
/// [`InvalidKeyName`](Self::InvalidKeyName),
/// [`DuplicateSignature`](Self::DuplicateSignature) and
/// [`TimestampOutOfRange`](Self::TimestampOutOfRange) from a signing call are
/// the caller's; everything else is about the text received.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// A note body that is not a tlog-checkpoint body.
    #[error("malformed checkpoint body: {0}")]
    MalformedBody(&'static str),
    /// A checkpoint body with extension lines, which Psephos refuses.
    #[error("checkpoint body has extension lines, which Psephos does not accept")]
    ExtensionLines,
    /// An empty origin, or one with a control character.
    #[error("invalid checkpoint origin: {0}")]
    InvalidOrigin(&'static str),
    /// A key name that is empty or has white space, `+` or a control
    /// character.
    #[error(
        "invalid key name {0:?}: it must be non-empty, without spaces, '+' or control characters"
    )]
    InvalidKeyName(String),
    /// Text that is not a signed note.
    #[error("malformed signed note: {0}")]
    MalformedNote(&'static str),
    /// A note with more signature lines than [`MAX_SIGNATURES`].
    #[error("signed note has more than {max} signatures")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A cosignature that would take the note past [`MAX_NOTE_BYTES`],
    /// after which no reader would open it.
    #[error("cosigning would make the note larger than {max} bytes")]
    NoteTooLarge {
        /// The limit.
        max: usize,
    },
    /// Text that is not a vkey.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// A vkey of another signature type than the one asked for.
    #[error("verifier key has signature type {got:#04x}, expected {expected:#04x}")]
    WrongSignatureType {
        /// The type asked for.
        expected: u8,
        /// The type the vkey has.
        got: u8,
    },
    /// A vkey whose key ID is not the one its name and key give.
    #[error("verifier key ID {} does not match its name and key (which give {})", hex::encode(.declared), hex::encode(.computed))]
    KeyIdMismatch {
        /// The key ID written in the vkey.
        declared: KeyId,
        /// The key ID of its name and key.
        computed: KeyId,
    },
    /// A small-order Ed25519 public key, for which signatures prove nothing.
    #[error("public key is a small-order Ed25519 point")]
    WeakPublicKey,
    /// A note without any signature line from the key it must be signed by.
    #[error("note has no signature by {name}+{}", hex::encode(.key_id))]
    NoSignatureFromKey {
        /// The key name looked for.
        name: String,
        /// The key ID looked for.
        key_id: KeyId,
    },
    /// A signature line from a known key that does not verify.
    #[error("signature by {name}+{} does not verify", hex::encode(.key_id))]
    InvalidSignature {
        /// The key name of the line.
        name: String,
        /// The key ID of the line.
        key_id: KeyId,
    },
    /// A second cosignature by a key that has already cosigned the note.
    #[error("note already has a signature by {name}+{}", hex::encode(.key_id))]
    DuplicateSignature {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: KeyId,
    },
    /// A cosignature timestamp above 2^63 - 1 (tlog-cosignature).
    #[error("cosignature timestamp {0} is above 2^63 - 1")]
    TimestampOutOfRange(u64),
}

/// A log's tree head: the tlog-checkpoint body (SPEC.md §7.4 checkpoints).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The log's identity: non-empty, without control characters.
    pub origin: String,
    /// The number of entries in the tree.
    pub size: u64,
    /// The RFC 6962 root of the tree of `size` entries (SPEC.md §7.1).
    pub root: Hash,
}

impl Checkpoint {
    /// The note body: `"<origin>\n<size>\n<base64(root)>\n"`.
    pub fn to_body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            base64_encode(&self.root)
        )
    }

    /// Parses a note body, strictly: exactly three lines, each newline
    /// terminated; a non-empty origin without control characters; a size in
    /// decimal without leading zeroes; a root in padded standard base64 of
    /// exactly 32 bytes (SPEC.md §7.4 checkpoints).
    ///
    /// # Errors
    ///
    /// [`CheckpointError::MalformedBody`], [`CheckpointError::InvalidOrigin`],
    /// [`CheckpointError::ExtensionLines`].
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let text = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::MalformedBody(
                "it does not end in a newline",
            ))?;
        let mut lines = text.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::MalformedBody(
                "it has fewer than three lines",
            ));
        };
        if lines.next().is_some() {
            return Err(CheckpointError::ExtensionLines);
        }
        check_origin(origin)?;
        Ok(Self {
            origin: origin.to_owned(),
            size: parse_tree_size(size)?,
            root: parse_root(root)?,
        })
    }
}

/// The origin line's rules: non-empty, no control character (which also
/// keeps it on one line).
fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() {
        return Err(CheckpointError::InvalidOrigin("it is empty"));
    }
    if origin.chars().any(|c| c < ' ') {
        return Err(CheckpointError::InvalidOrigin(
            "it contains a control character",
        ));
    }
    Ok(())
}

/// The size line: ASCII decimal digits, no leading zero unless it is `0`.
fn parse_tree_size(line: &str) -> Result<u64, CheckpointError> {
    if line.is_empty() || !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CheckpointError::MalformedBody(
            "the tree size is not a decimal number",
        ));
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(CheckpointError::MalformedBody(
            "the tree size has a leading zero",
        ));
    }
    line.parse()
        .map_err(|_| CheckpointError::MalformedBody("the tree size does not fit in 64 bits"))
}

/// The root line: padded standard base64 of 32 bytes.
fn parse_root(line: &str) -> Result<Hash, CheckpointError> {
    let bytes = base64_decode(line).ok_or(CheckpointError::MalformedBody(
        "the root hash is not standard base64",
    ))?;
    bytes
        .try_into()
        .map_err(|_| CheckpointError::MalformedBody("the root hash is not 32 bytes"))
}

/// A key name's rules: non-empty, no white space, no `+`, no control
/// character.
fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(CheckpointError::InvalidKeyName(name.to_owned()));
    }
    Ok(())
}

/// `SHA-256(name || 0x0A || signature type || public key)[:4]`.
fn compute_key_id(name: &str, signature_type: u8, key: &VerifyingKey) -> KeyId {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', signature_type])
        .chain_update(key.as_bytes())
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// One signature line of a note: `— <name> <base64(key_id || signature)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLine {
    /// The key name.
    pub name: String,
    /// The key ID.
    pub key_id: KeyId,
    /// The signature bytes after the key ID (64 for a log's Ed25519
    /// signature, 72 for a `cosignature/v1`).
    pub signature: Vec<u8>,
}

impl SignatureLine {
    /// The line as it appears in a note, newline included.
    pub fn to_line(&self) -> String {
        let mut blob = Vec::with_capacity(self.key_id.len() + self.signature.len());
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.name,
            base64_encode(&blob)
        )
    }

    /// The timestamp of a `cosignature/v1`, read without verifying anything:
    /// `None` if the signature is not 72 bytes long.
    pub fn cosignature_timestamp(&self) -> Option<u64> {
        if self.signature.len() != COSIGNATURE_V1_LEN {
            return None;
        }
        let (timestamp, _) = self.signature.split_first_chunk::<8>()?;
        Some(u64::from_be_bytes(*timestamp))
    }

    /// Parses one line, without its newline.
    fn parse(line: &str) -> Result<Self, CheckpointError> {
        let rest =
            line.strip_prefix(SIGNATURE_LINE_PREFIX)
                .ok_or(CheckpointError::MalformedNote(
                    "a signature line does not start with an em dash and a space",
                ))?;
        let (name, encoded) = rest.split_once(' ').ok_or(CheckpointError::MalformedNote(
            "a signature line has no signature",
        ))?;
        check_key_name(name).map_err(|_| {
            CheckpointError::MalformedNote("a signature line has an invalid key name")
        })?;
        let blob = base64_decode(encoded).ok_or(CheckpointError::MalformedNote(
            "a signature is not standard base64",
        ))?;
        match blob.split_first_chunk::<4>() {
            Some((key_id, signature)) if !signature.is_empty() => Ok(Self {
                name: name.to_owned(),
                key_id: *key_id,
                signature: signature.to_vec(),
            }),
            _ => Err(CheckpointError::MalformedNote(
                "a signature is shorter than a key ID and one byte",
            )),
        }
    }

    fn is_from(&self, key: &PublicKey) -> bool {
        self.name == key.name && self.key_id == key.key_id
    }
}

/// A verified `cosignature/v1`: who cosigned, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    /// The cosigner's key name.
    pub name: String,
    /// The cosigner's key ID.
    pub key_id: KeyId,
    /// The POSIX time of cosigning.
    pub timestamp: u64,
}

/// A named Ed25519 public key with its key ID for one signature type.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PublicKey {
    name: String,
    key: VerifyingKey,
    key_id: KeyId,
}

impl PublicKey {
    fn new(name: &str, key: VerifyingKey, signature_type: u8) -> Result<Self, CheckpointError> {
        check_key_name(name)?;
        if key.is_weak() {
            return Err(CheckpointError::WeakPublicKey);
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: compute_key_id(name, signature_type, &key),
            key,
        })
    }

    fn from_vkey(vkey: &str, signature_type: u8) -> Result<Self, CheckpointError> {
        let shape = CheckpointError::MalformedVerifierKey("expected <name>+<key ID>+<base64 key>");
        let (name, rest) = vkey.split_once('+').ok_or(shape.clone())?;
        // The base64 key may itself contain '+': split at the first two only.
        let (id_hex, material) = rest.split_once('+').ok_or(shape)?;
        check_key_name(name)?;
        let mut declared = [0u8; 4];
        if id_hex.len() != 8 || hex::decode_to_slice(id_hex, &mut declared).is_err() {
            return Err(CheckpointError::MalformedVerifierKey(
                "the key ID is not 8 hex digits",
            ));
        }
        let material = base64_decode(material).ok_or(CheckpointError::MalformedVerifierKey(
            "the key is not standard base64",
        ))?;
        let (&got, key_bytes) = material
            .split_first()
            .ok_or(CheckpointError::MalformedVerifierKey("the key is empty"))?;
        if got != signature_type {
            return Err(CheckpointError::WrongSignatureType {
                expected: signature_type,
                got,
            });
        }
        let key_bytes: &[u8; 32] = key_bytes.try_into().map_err(|_| {
            CheckpointError::MalformedVerifierKey("the Ed25519 key is not 32 bytes")
        })?;
        let key = VerifyingKey::from_bytes(key_bytes).map_err(|_| {
            CheckpointError::MalformedVerifierKey("the key is not an Ed25519 point")
        })?;
        let parsed = Self::new(name, key, signature_type)?;
        if parsed.key_id != declared {
            return Err(CheckpointError::KeyIdMismatch {
                declared,
                computed: parsed.key_id,
            });
        }
        Ok(parsed)
    }

    fn to_vkey(&self, signature_type: u8) -> String {
        let mut material = Vec::with_capacity(33);
        material.push(signature_type);
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            base64_encode(&material)
        )
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CheckpointError> {
        let invalid = || CheckpointError::InvalidSignature {
            name: self.name.clone(),
            key_id: self.key_id,
        };
        let signature = Signature::from_slice(signature).map_err(|_| invalid())?;
        self.key
            .verify_strict(message, &signature)
            .map_err(|_| invalid())
    }
}

/// A named Ed25519 signing key with its key ID for one signature type.
#[derive(Clone)]
struct SecretKey {
    name: String,
    key: SigningKey,
    key_id: KeyId,
}

impl SecretKey {
    fn new(name: &str, key: SigningKey, signature_type: u8) -> Result<Self, CheckpointError> {
        let public = PublicKey::new(name, key.verifying_key(), signature_type)?;
        Ok(Self {
            name: public.name,
            key_id: public.key_id,
            key,
        })
    }

    fn public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
            key_id: self.key_id,
        }
    }

    fn sign_line(&self, message: &[u8], prefix: &[u8]) -> SignatureLine {
        let signature = self.key.sign(message);
        let mut bytes = Vec::with_capacity(prefix.len() + ED25519_SIGNATURE_LEN);
        bytes.extend_from_slice(prefix);
        bytes.extend_from_slice(&signature.to_bytes());
        SignatureLine {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: bytes,
        }
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("name", &self.name)
            .field("key_id", &hex::encode(self.key_id))
            .finish_non_exhaustive()
    }
}

/// The log's signing key for checkpoints (signature type `0x01`).
#[derive(Debug, Clone)]
pub struct NoteSigner(SecretKey);

impl NoteSigner {
    /// A signer under `name`, normally the log's origin.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::InvalidKeyName`].
    pub fn new(name: &str, key: SigningKey) -> Result<Self, CheckpointError> {
        SecretKey::new(name, key, SIGNATURE_TYPE_ED25519).map(Self)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.0.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier(self.0.public())
    }
}

/// A log's public key for checkpoints (signature type `0x01`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier(PublicKey);

impl NoteVerifier {
    /// A verifier for `key` under `name`.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::InvalidKeyName`], [`CheckpointError::WeakPublicKey`].
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, CheckpointError> {
        PublicKey::new(name, key, SIGNATURE_TYPE_ED25519).map(Self)
    }

    /// Parses a vkey of signature type `0x01`.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::MalformedVerifierKey`],
    /// [`CheckpointError::InvalidKeyName`],
    /// [`CheckpointError::WrongSignatureType`],
    /// [`CheckpointError::KeyIdMismatch`], [`CheckpointError::WeakPublicKey`].
    pub fn from_vkey(vkey: &str) -> Result<Self, CheckpointError> {
        PublicKey::from_vkey(vkey, SIGNATURE_TYPE_ED25519).map(Self)
    }

    /// The vkey text.
    pub fn to_vkey(&self) -> String {
        self.0.to_vkey(SIGNATURE_TYPE_ED25519)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.0.key_id
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0.key
    }
}

/// A mirror's signing key for `cosignature/v1` (signature type `0x04`).
///
/// tlog-cosignature: one key per cosigner, since the signed message does not
/// name the cosigner.
#[derive(Debug, Clone)]
pub struct Cosigner(SecretKey);

impl Cosigner {
    /// A cosigner under `name`, normally the mirror's own URL.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::InvalidKeyName`].
    pub fn new(name: &str, key: SigningKey) -> Result<Self, CheckpointError> {
        SecretKey::new(name, key, SIGNATURE_TYPE_COSIGNATURE_V1).map(Self)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.0.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier(self.0.public())
    }
}

/// A mirror's public key for `cosignature/v1` (signature type `0x04`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier(PublicKey);

impl CosignatureVerifier {
    /// A verifier for `key` under `name`.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::InvalidKeyName`], [`CheckpointError::WeakPublicKey`].
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, CheckpointError> {
        PublicKey::new(name, key, SIGNATURE_TYPE_COSIGNATURE_V1).map(Self)
    }

    /// Parses a vkey of signature type `0x04`.
    ///
    /// # Errors
    ///
    /// As [`NoteVerifier::from_vkey`].
    pub fn from_vkey(vkey: &str) -> Result<Self, CheckpointError> {
        PublicKey::from_vkey(vkey, SIGNATURE_TYPE_COSIGNATURE_V1).map(Self)
    }

    /// The vkey text.
    pub fn to_vkey(&self) -> String {
        self.0.to_vkey(SIGNATURE_TYPE_COSIGNATURE_V1)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.0.key_id
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0.key
    }
}

/// Signs a checkpoint: its body, an empty line and the log's signature line
/// (SPEC.md §7.4 checkpoints).
///
/// # Errors
///
/// [`CheckpointError::InvalidOrigin`]: a checkpoint whose body would not
/// parse back is never signed.
pub fn sign_checkpoint(
    checkpoint: &Checkpoint,
    signer: &NoteSigner,
) -> Result<String, CheckpointError> {
    check_origin(&checkpoint.origin)?;
    let body = checkpoint.to_body();
    let line = signer.0.sign_line(body.as_bytes(), &[]);
    Ok(format!("{body}\n{}", line.to_line()))
}

/// Opens a signed checkpoint: verifies the signature of `log` and parses
/// the body (SPEC.md §7.4 checkpoints). Returns the checkpoint and the
/// signature lines of other keys, unverified, in note order (the
/// cosignatures, for [`verify_cosignatures`]).
///
/// # Errors
///
/// [`CheckpointError::MalformedNote`], [`CheckpointError::TooManySignatures`],
/// [`CheckpointError::NoSignatureFromKey`],
/// [`CheckpointError::InvalidSignature`], then the errors of
/// [`Checkpoint::parse_body`].
pub fn open_checkpoint(
    note: &str,
    log: &NoteVerifier,
) -> Result<(Checkpoint, Vec<SignatureLine>), CheckpointError> {
    let opened = open_note(note, &log.0)?;
    let checkpoint = Checkpoint::parse_body(opened.body)?;
    Ok((checkpoint, opened.others))
}

/// Adds a mirror's `cosignature/v1` at POSIX time `timestamp` to a signed
/// checkpoint (SPEC.md §7.4 checkpoints). The log's signature is verified
/// first, so that nothing unverified is ever cosigned; checking consistency
/// with earlier checkpoints (SPEC.md §7.3) is the caller's part.
///
/// # Errors
///
/// [`CheckpointError::TimestampOutOfRange`],
/// [`CheckpointError::DuplicateSignature`] if this cosigner has already
/// signed, [`CheckpointError::TooManySignatures`],
/// [`CheckpointError::NoteTooLarge`] if the cosigned note would pass
/// [`MAX_NOTE_BYTES`], and the errors of [`open_checkpoint`].
pub fn add_cosignature(
    note: &str,
    log: &NoteVerifier,
    cosigner: &Cosigner,
    timestamp: u64,
) -> Result<String, CheckpointError> {
    if timestamp > MAX_COSIGNATURE_TIMESTAMP {
        return Err(CheckpointError::TimestampOutOfRange(timestamp));
    }
    let opened = open_note(note, &log.0)?;
    Checkpoint::parse_body(opened.body)?;
    if opened
        .others
        .iter()
        .any(|line| line.is_from(&cosigner.0.public()))
    {
        return Err(CheckpointError::DuplicateSignature {
            name: cosigner.0.name.clone(),
            key_id: cosigner.0.key_id,
        });
    }
    if opened.line_count >= MAX_SIGNATURES {
        return Err(CheckpointError::TooManySignatures {
            max: MAX_SIGNATURES,
        });
    }
    let message = cosignature_v1_message(opened.body, timestamp);
    let line = cosigner
        .0
        .sign_line(message.as_bytes(), &timestamp.to_be_bytes())
        .to_line();
    // Every reader refuses a note over the limit (SPEC.md §7.4), so a
    // cosignature must not produce one (found by the signed_note fuzz
    // target: a note just under the limit opened, its cosigned copy not).
    if note.len() + line.len() > MAX_NOTE_BYTES {
        return Err(CheckpointError::NoteTooLarge {
            max: MAX_NOTE_BYTES,
        });
    }
    Ok(format!("{note}{line}"))
}

/// Opens a signed checkpoint with the log's key and verifies the
/// cosignatures of the given mirrors (SPEC.md §7.4 checkpoints). Returns the
/// checkpoint and one [`Cosignature`] per listed mirror that cosigned, in
/// note order; lines of unlisted keys are ignored. Whether enough mirrors
/// cosigned is the caller's policy.
///
/// # Errors
///
/// The errors of [`open_checkpoint`]; [`CheckpointError::InvalidSignature`]
/// if a line of a listed mirror does not verify, and
/// [`CheckpointError::TimestampOutOfRange`] if its timestamp is above
/// 2^63 - 1.
pub fn verify_cosignatures(
    note: &str,
    log: &NoteVerifier,
    cosigners: &[CosignatureVerifier],
) -> Result<(Checkpoint, Vec<Cosignature>), CheckpointError> {
    let opened = open_note(note, &log.0)?;
    let checkpoint = Checkpoint::parse_body(opened.body)?;
    let mut verified: Vec<Cosignature> = Vec::new();
    for line in &opened.others {
        let Some(cosigner) = cosigners.iter().find(|c| line.is_from(&c.0)) else {
            continue;
        };
        let timestamp = verify_cosignature_v1(line, opened.body, &cosigner.0)?;
        if !verified
            .iter()
            .any(|c| c.name == line.name && c.key_id == line.key_id)
        {
            verified.push(Cosignature {
                name: line.name.clone(),
                key_id: line.key_id,
                timestamp,
            });
        }
    }
    Ok((checkpoint, verified))
}

/// `"cosignature/v1\ntime <timestamp>\n" || body`: what a `cosignature/v1`
/// signs.
fn cosignature_v1_message(body: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_V1_HEADER}time {timestamp}\n{body}")
}

/// Verifies one `cosignature/v1` line of `key` over `body`; returns its
/// timestamp.
fn verify_cosignature_v1(
    line: &SignatureLine,
    body: &str,
    key: &PublicKey,
) -> Result<u64, CheckpointError> {
    let Some(timestamp) = line.cosignature_timestamp() else {
        return Err(CheckpointError::InvalidSignature {
            name: line.name.clone(),
            key_id: line.key_id,
        });
    };
    if timestamp > MAX_COSIGNATURE_TIMESTAMP {
        return Err(CheckpointError::TimestampOutOfRange(timestamp));
    }
    let message = cosignature_v1_message(body, timestamp);
    key.verify(message.as_bytes(), &line.signature[8..])?;
    Ok(timestamp)
}

/// A note split into its body and signature lines.
#[derive(Debug)]
struct Note<'a> {
    body: &'a str,
    signatures: Vec<SignatureLine>,
}

/// Parses a signed note: size and character checks, the split at the last
/// empty line, and every signature line.
fn parse_note(note: &str) -> Result<Note<'_>, CheckpointError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(CheckpointError::MalformedNote("it is larger than 64 KiB"));
    }
    if note.chars().any(|c| c < ' ' && c != '\n') {
        return Err(CheckpointError::MalformedNote(
            "it contains a control character",
        ));
    }
    let split = note.rfind("\n\n").ok_or(CheckpointError::MalformedNote(
        "there is no empty line before the signatures",
    ))?;
    // `split` is the index of an ASCII newline, so both slices are on char
    // boundaries.
    let (body, block) = (&note[..=split], &note[split + 2..]);
    if block.is_empty() {
        return Err(CheckpointError::MalformedNote("it has no signature lines"));
    }
    let block = block
        .strip_suffix('\n')
        .ok_or(CheckpointError::MalformedNote(
            "the last signature line does not end in a newline",
        ))?;
    let lines: Vec<&str> = block.split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(CheckpointError::TooManySignatures {
            max: MAX_SIGNATURES,
        });
    }
    let signatures = lines
        .into_iter()
        .map(SignatureLine::parse)
        .collect::<Result<_, _>>()?;
    Ok(Note { body, signatures })
}

/// A note whose signature by one key has been verified.
#[derive(Debug)]
struct OpenedNote<'a> {
    body: &'a str,
    /// The lines of every other key, in note order.
    others: Vec<SignatureLine>,
    /// The number of signature lines in the note.
    line_count: usize,
}

/// Parses a note and verifies every line of `key`, of which there must be
/// at least one.
fn open_note<'a>(note: &'a str, key: &PublicKey) -> Result<OpenedNote<'a>, CheckpointError> {
    let Note { body, signatures } = parse_note(note)?;
    let line_count = signatures.len();
    let mut verified = false;
    let mut others = Vec::new();
    for line in signatures {
        if line.is_from(key) {
            key.verify(body.as_bytes(), &line.signature)?;
            verified = true;
        } else {
            others.push(line);
        }
    }
    if !verified {
        return Err(CheckpointError::NoSignatureFromKey {
            name: key.name.clone(),
            key_id: key.key_id,
        });
    }
    Ok(OpenedNote {
        body,
        others,
        line_count,
    })
}

/// The standard base64 alphabet of RFC 4648 §4.
const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4).
fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let mut group = [0u8; 3];
        group[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let sextet = (n >> (18 - 6 * i)) & 0x3f;
                out.push(char::from(BASE64_ALPHABET[sextet as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The value of one base64 character, if it is in the alphabet.
fn base64_value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes standard base64 with padding (RFC 4648 §4), strictly: the length
/// is a multiple of 4, `=` appears only as one or two final characters, and
/// the bits that padding leaves unused are zero (RFC 4648 §3.5), so that
/// every byte string has one accepted encoding.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let quads = text.as_bytes().chunks_exact(4);
    if !quads.remainder().is_empty() {
        return None;
    }
    let groups = quads.len();
    let mut out = Vec::with_capacity(groups * 3);
    for (g, quad) in quads.enumerate() {
        let padding = match quad {
            [_, _, b'=', b'='] if g + 1 == groups => 2,
            [_, _, _, b'='] if g + 1 == groups => 1,
            _ => 0,
        };
        let mut n = 0u32;
        for &c in &quad[..4 - padding] {
            n = n << 6 | base64_value(c)?;
        }
        n <<= 6 * padding;
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        if decoded[3 - padding..].iter().any(|&b| b != 0) {
            return None;
        }
        out.extend_from_slice(&decoded[..3 - padding]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    // Published vectors of the Go implementation of signed notes,
    // golang.org/x/mod/sumdb/note, file sumdb/note/note_test.go of
    // github.com/golang/mod at 02c991387e35f9e4c0a9b7ce137717055f8d716d.
    const GO_PETER_VKEY: &str =
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    /// `PRIVATE+KEY+PeterNeumann+c74f20a3+` then base64(0x01 || Ed25519 seed).
    const GO_PETER_SKEY_MATERIAL: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const GO_TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const GO_PETER_SIG: &str =
        "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const GO_ENOCH_SIG: &str =
        "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    // Published vectors of github.com/transparency-dev/formats, file
    // note/note_cosigv1_test.go at 091ce41666c09683aa9350785e572be27f0c026d.
    const FORMATS_COSIG_VKEY: &str =
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";
    const FORMATS_ED25519_VKEY: &str = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6";
    const FORMATS_COSIG_BLOB: &str =
        "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==";
    const FORMATS_NOTE_SIG_BLOB: &str =
        "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=";

    // The example of c2sp.org/tlog-cosignature, file tlog-cosignature.md of
    // github.com/C2SP/C2SP at 01194db11950a0ae2b2b2401afa0a4063a822458.
    const C2SP_EXAMPLE_BODY: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    const C2SP_EXAMPLE_SIGS: &str = "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
        — witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

    fn go_peter_signer() -> NoteSigner {
        let material = base64_decode(GO_PETER_SKEY_MATERIAL).unwrap();
        assert_eq!(material[0], SIGNATURE_TYPE_ED25519);
        let seed: [u8; 32] = material[1..].try_into().unwrap();
        NoteSigner::new("PeterNeumann", SigningKey::from_bytes(&seed)).unwrap()
    }

    fn log_signer() -> NoteSigner {
        NoteSigner::new("board.example/election-1", SigningKey::from_bytes(&[7; 32])).unwrap()
    }

    fn mirror(n: u8) -> Cosigner {
        Cosigner::new(
            &format!("mirror{n}.example"),
            SigningKey::from_bytes(&[100 + n; 32]),
        )
        .unwrap()
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "board.example/election-1".into(),
            size: 1234,
            root: super::super::merkle::leaf_hash(b"root"),
        }
    }

    // Base64 (RFC 4648 §4, §10).

    #[test]
    fn base64_matches_the_rfc_4648_test_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64_encode(plain.as_bytes()), encoded);
            assert_eq!(base64_decode(encoded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn base64_rejects_bad_length_alphabet_padding_and_unused_bits() {
        for bad in [
            "Zg", "Zg=", "Zm9vY", "Z===", "====", "Zg==Zg==", "Zm=v", "Zm9v\n", "Zm9-", "Zm9_",
            " Zm9", "Zh==", "Zm9=", "Zm8=====",
        ] {
            assert_eq!(base64_decode(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn base64_round_trips(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let encoded = base64_encode(&data);
            prop_assert_eq!(encoded.len(), data.len().div_ceil(3) * 4);
            prop_assert_eq!(base64_decode(&encoded), Some(data));
        }

        #[test]
        fn base64_decoding_never_panics_and_is_canonical(text in "[A-Za-z0-9+/=]{0,16}") {
            if let Some(decoded) = base64_decode(&text) {
                prop_assert_eq!(base64_encode(&decoded), text);
            }
        }

        #[test]
        fn parsing_arbitrary_notes_never_panics(text in "\\PC{0,300}") {
            let verifier = log_signer().verifier();
            let _ = open_checkpoint(&text, &verifier);
            let _ = Checkpoint::parse_body(&text);
            let _ = NoteVerifier::from_vkey(&text);
        }
    }

    // Checkpoint body (SPEC.md §7.4 checkpoints; tlog-checkpoint).

    #[test]
    fn checkpoint_body_round_trips() {
        let cp = checkpoint();
        let body = cp.to_body();
        assert_eq!(Checkpoint::parse_body(&body).unwrap(), cp);
        let empty = Checkpoint {
            origin: "o".into(),
            size: 0,
            root: super::super::merkle::empty_root(),
        };
        assert_eq!(
            empty.to_body(),
            "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        );
        assert_eq!(Checkpoint::parse_body(&empty.to_body()).unwrap(), empty);
    }

    #[test]
    fn c2sp_example_checkpoint_body_parses_and_prints_back_identically() {
        let cp = Checkpoint::parse_body(C2SP_EXAMPLE_BODY).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20_852_163);
        assert_eq!(cp.to_body(), C2SP_EXAMPLE_BODY);
    }

    #[test]
    fn malformed_checkpoint_bodies_are_rejected() {
        let root = base64_encode(&[1; 32]);
        let cases = [
            format!("o\n1\n{root}"),
            format!("o\n1\n{root}\n\n"),
            "o\n1\n".to_string(),
            format!("\n1\n{root}\n"),
            format!("o\r\n1\n{root}\n"),
            format!("o\t\n1\n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n1a\n{root}\n"),
            format!("o\n 1\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("o\n1\n{}\n", base64_encode(&[1; 31])),
            format!("o\n1\n{}\n", base64_encode(&[1; 33])),
            format!("o\n1\n{}\n", root.trim_end_matches('=')),
            "o\n1\nnot base64!\n".to_string(),
        ];
        for body in cases {
            assert!(Checkpoint::parse_body(&body).is_err(), "{body:?}");
        }
        assert_eq!(
            Checkpoint::parse_body(&format!("o\n1\n{root}\next\n")),
            Err(CheckpointError::ExtensionLines)
        );
        assert_eq!(
            Checkpoint::parse_body(&format!("o\n18446744073709551615\n{root}\n")).map(|c| c.size),
            Ok(u64::MAX)
        );
    }

    // Signed notes (signed-note): published Go vectors.

    #[test]
    fn go_reference_signer_reproduces_the_published_note_byte_for_byte() {
        let signer = go_peter_signer();
        assert_eq!(signer.verifier().to_vkey(), GO_PETER_VKEY);
        let line = signer.0.sign_line(GO_TEXT.as_bytes(), &[]);
        assert_eq!(line.to_line(), GO_PETER_SIG);
    }

    #[test]
    fn go_reference_note_opens_and_reports_the_other_signature() {
        let peter = NoteVerifier::from_vkey(GO_PETER_VKEY).unwrap();
        let enoch = NoteVerifier::from_vkey(GO_ENOCH_VKEY).unwrap();
        assert_eq!(peter.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(enoch.to_vkey(), GO_ENOCH_VKEY);
        let note = format!("{GO_TEXT}\n{GO_PETER_SIG}{GO_ENOCH_SIG}");
        let opened = open_note(&note, &peter.0).unwrap();
        assert_eq!(opened.body, GO_TEXT);
        assert_eq!(opened.others.len(), 1);
        assert_eq!(opened.others[0].name, "EnochRoot");
        assert_eq!(opened.others[0].key_id, [0xaf, 0x0c, 0xfe, 0x78]);
        assert_eq!(
            open_note(&note, &enoch.0).unwrap().others[0].name,
            "PeterNeumann"
        );
        let tampered = note.replace("cryptography", "cryptographY");
        assert!(matches!(
            open_note(&tampered, &peter.0),
            Err(CheckpointError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn go_reference_malformed_notes_are_rejected() {
        let peter = NoteVerifier::from_vkey(GO_PETER_VKEY).unwrap();
        let bad = [
            GO_TEXT.to_string(),
            format!("{GO_TEXT}\n"),
            format!("{GO_TEXT}\n{}", &GO_PETER_SIG[..GO_PETER_SIG.len() - 1]),
            format!("\x01{GO_TEXT}\n{GO_PETER_SIG}"),
            format!(
                "{GO_TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
            ),
            format!("{GO_TEXT}\n{GO_PETER_SIG}Unexpected line.\n"),
        ];
        for note in bad {
            assert!(
                matches!(
                    open_note(&note, &peter.0),
                    Err(CheckpointError::MalformedNote(_))
                ),
                "{note:?}"
            );
        }
        let too_many = format!("{GO_TEXT}\n{}", GO_PETER_SIG.repeat(101));
        assert_eq!(
            open_note(&too_many, &peter.0).map(|_| ()),
            Err(CheckpointError::TooManySignatures { max: 100 })
        );
        let (head, tail) = GO_PETER_SIG.split_at(60);
        let corrupted = format!("{GO_TEXT}\n{head}ABCD{tail}");
        assert!(matches!(
            open_note(&corrupted, &peter.0),
            Err(CheckpointError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn go_reference_mangled_vkeys_are_rejected() {
        assert!(NoteVerifier::from_vkey(GO_PETER_VKEY).is_ok());
        let b = GO_PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if (i, j) != (0, b.len()) {
                    let s = std::str::from_utf8(&b[i..j]).unwrap();
                    assert!(NoteVerifier::from_vkey(s).is_err(), "{s:?}");
                }
            }
        }
        let mut m = b.to_vec();
        for i in 0..m.len() {
            m[i] += 1;
            if let Ok(s) = std::str::from_utf8(&m) {
                assert!(NoteVerifier::from_vkey(s).is_err(), "{s:?}");
            }
            m[i] -= 1;
        }
        // Go's two extra cases: a 40-byte key and an unknown algorithm, each
        // with a key ID computed to match.
        assert!(NoteVerifier::from_vkey(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err());
        assert!(matches!(
            NoteVerifier::from_vkey(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(CheckpointError::WrongSignatureType { expected: 1, .. })
        ));
    }

    #[test]
    fn transparency_dev_vkeys_parse_with_their_own_signature_type_only() {
        let cosig = CosignatureVerifier::from_vkey(FORMATS_COSIG_VKEY).unwrap();
        assert_eq!(cosig.to_vkey(), FORMATS_COSIG_VKEY);
        assert_eq!(cosig.name(), "remora.n621.de");
        assert_eq!(
            NoteVerifier::from_vkey(FORMATS_COSIG_VKEY),
            Err(CheckpointError::WrongSignatureType {
                expected: SIGNATURE_TYPE_ED25519,
                got: SIGNATURE_TYPE_COSIGNATURE_V1
            })
        );
        let ed = NoteVerifier::from_vkey(FORMATS_ED25519_VKEY).unwrap();
        assert_eq!(ed.to_vkey(), FORMATS_ED25519_VKEY);
        assert!(matches!(
            CosignatureVerifier::from_vkey(FORMATS_ED25519_VKEY),
            Err(CheckpointError::WrongSignatureType { .. })
        ));
    }

    #[test]
    fn vkey_with_uppercase_key_id_is_accepted_and_printed_lowercase() {
        let upper = GO_PETER_VKEY.replace("c74f20a3", "C74F20A3");
        assert_eq!(
            NoteVerifier::from_vkey(&upper).unwrap().to_vkey(),
            GO_PETER_VKEY
        );
    }

    #[test]
    fn vkey_with_wrong_key_id_is_rejected() {
        let wrong = GO_PETER_VKEY.replace("c74f20a3", "c74f20a4");
        assert_eq!(
            NoteVerifier::from_vkey(&wrong),
            Err(CheckpointError::KeyIdMismatch {
                declared: [0xc7, 0x4f, 0x20, 0xa4],
                computed: [0xc7, 0x4f, 0x20, 0xa3]
            })
        );
    }

    #[test]
    fn small_order_public_keys_are_refused() {
        // The identity point, encoded: y = 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let key = VerifyingKey::from_bytes(&identity).unwrap();
        assert_eq!(
            NoteVerifier::new("x", key),
            Err(CheckpointError::WeakPublicKey)
        );
        let mut material = vec![SIGNATURE_TYPE_ED25519];
        material.extend_from_slice(&identity);
        let id = compute_key_id("x", SIGNATURE_TYPE_ED25519, &key);
        let vkey = format!("x+{}+{}", hex::encode(id), base64_encode(&material));
        assert_eq!(
            NoteVerifier::from_vkey(&vkey),
            Err(CheckpointError::WeakPublicKey)
        );
    }

    #[test]
    fn invalid_key_names_are_refused() {
        for name in ["", "a b", "a+b", "a\u{a0}b", "a\nb", "a\u{7f}b"] {
            assert!(
                matches!(
                    NoteSigner::new(name, SigningKey::from_bytes(&[1; 32])),
                    Err(CheckpointError::InvalidKeyName(_))
                ),
                "{name:?}"
            );
        }
    }

    #[test]
    fn signer_debug_output_does_not_show_the_secret_key() {
        let signer = log_signer();
        let shown = format!("{signer:?}");
        assert!(shown.contains("board.example/election-1"));
        assert!(!shown.contains(&hex::encode([7u8; 32])));
    }

    // Signed checkpoints (SPEC.md §7.4 checkpoints).

    #[test]
    fn signed_checkpoint_round_trips() {
        let signer = log_signer();
        let note = sign_checkpoint(&checkpoint(), &signer).unwrap();
        assert!(note.starts_with(&format!(
            "{}\n\u{2014} board.example/election-1 ",
            checkpoint().to_body()
        )));
        let (cp, others) = open_checkpoint(&note, &signer.verifier()).unwrap();
        assert_eq!(cp, checkpoint());
        assert!(others.is_empty());
        // The key ID is SHA-256(name || 0x0A || 0x01 || public key)[:4].
        let mut preimage = b"board.example/election-1\n\x01".to_vec();
        preimage.extend_from_slice(signer.verifier().verifying_key().as_bytes());
        assert_eq!(signer.key_id(), Sha256::digest(&preimage)[..4]);
    }

    #[test]
    fn signing_a_checkpoint_with_an_invalid_origin_is_refused() {
        let mut cp = checkpoint();
        cp.origin = "two\nlines".into();
        assert!(matches!(
            sign_checkpoint(&cp, &log_signer()),
            Err(CheckpointError::InvalidOrigin(_))
        ));
        cp.origin = String::new();
        assert!(matches!(
            sign_checkpoint(&cp, &log_signer()),
            Err(CheckpointError::InvalidOrigin(_))
        ));
    }

    #[test]
    fn checkpoint_with_tampered_body_is_rejected() {
        let signer = log_signer();
        let note = sign_checkpoint(&checkpoint(), &signer).unwrap();
        let tampered = note.replacen("\n1234\n", "\n1235\n", 1);
        assert_ne!(tampered, note);
        assert!(matches!(
            open_checkpoint(&tampered, &signer.verifier()),
            Err(CheckpointError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn checkpoint_signed_by_another_key_is_rejected() {
        let note = sign_checkpoint(&checkpoint(), &log_signer()).unwrap();
        // Same name, other key: another key ID, so no signature by it.
        let other =
            NoteSigner::new("board.example/election-1", SigningKey::from_bytes(&[8; 32])).unwrap();
        assert!(matches!(
            open_checkpoint(&note, &other.verifier()),
            Err(CheckpointError::NoSignatureFromKey { .. })
        ));
        // Another key's signature under this key's name and ID.
        let forged = sign_checkpoint(&checkpoint(), &other).unwrap();
        let (_, line) = forged.split_once("\n\n").unwrap();
        let mut parsed = SignatureLine::parse(line.trim_end_matches('\n')).unwrap();
        parsed.key_id = log_signer().key_id();
        let forged = format!("{}\n{}", checkpoint().to_body(), parsed.to_line());
        assert!(matches!(
            open_checkpoint(&forged, &log_signer().verifier()),
            Err(CheckpointError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn checkpoint_with_wrong_key_id_or_name_is_rejected() {
        let signer = log_signer();
        let note = sign_checkpoint(&checkpoint(), &signer).unwrap();
        let (body, line) = note.split_once("\n\n").unwrap();
        let mut parsed = SignatureLine::parse(line.trim_end_matches('\n')).unwrap();
        parsed.key_id[0] ^= 1;
        let wrong_id = format!("{body}\n\n{}", parsed.to_line());
        assert!(matches!(
            open_checkpoint(&wrong_id, &signer.verifier()),
            Err(CheckpointError::NoSignatureFromKey { .. })
        ));
        let wrong_name = note.replace(
            "\u{2014} board.example/election-1 ",
            "\u{2014} board.example/election-2 ",
        );
        assert!(matches!(
            open_checkpoint(&wrong_name, &signer.verifier()),
            Err(CheckpointError::NoSignatureFromKey { .. })
        ));
    }

    #[test]
    fn checkpoint_with_malformed_signature_lines_is_rejected() {
        let signer = log_signer();
        let note = sign_checkpoint(&checkpoint(), &signer).unwrap();
        let body = checkpoint().to_body();
        let (_, line) = note.split_once("\n\n").unwrap();
        let blob = line.rsplit_once(' ').unwrap().1.trim_end_matches('\n');
        let cases = [
            format!("{body}\n{}", line.replacen('\u{2014}', "-", 1)),
            format!("{body}\n{}", line.replacen("\u{2014} ", "\u{2014}", 1)),
            format!("{body}\n\u{2014} board.example/election-1\n"),
            format!("{body}\n\u{2014} board.example/election-1 {blob}"),
            format!(
                "{body}\n\u{2014} board.example/election-1 {}\n",
                blob.trim_end_matches('=')
            ),
            format!("{body}\n\u{2014} board.example/election-1 AAAAAA==\n"),
            format!("{body}\n\u{2014} board+example {blob}\n"),
            format!("{body}\n\u{2014}  {blob}\n"),
            format!("{body}\n{line}\n"),
            format!("{body}{line}"),
            format!("{body}\n"),
            format!("{body}\n{line}garbage\n"),
            note.replace('\n', "\r\n"),
            format!("{note}{}", "x".repeat(MAX_NOTE_BYTES)),
        ];
        for bad in cases {
            assert!(
                open_checkpoint(&bad, &signer.verifier()).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn signed_note_with_a_non_checkpoint_body_is_rejected_after_its_signature_verifies() {
        let signer = log_signer();
        let body = "board.example/election-1\n1\nAAAA\n";
        let note = format!(
            "{body}\n{}",
            signer.0.sign_line(body.as_bytes(), &[]).to_line()
        );
        assert!(matches!(
            open_checkpoint(&note, &signer.verifier()),
            Err(CheckpointError::MalformedBody(_))
        ));
    }

    // Cosignatures (SPEC.md §7.4 checkpoints; tlog-cosignature).

    #[test]
    fn cosignature_round_trips() {
        let log = log_signer();
        let note = sign_checkpoint(&checkpoint(), &log).unwrap();
        let note = add_cosignature(&note, &log.verifier(), &mirror(1), 1_700_000_000).unwrap();
        let note = add_cosignature(&note, &log.verifier(), &mirror(2), 1_700_000_001).unwrap();
        let verifiers = [mirror(1).verifier(), mirror(2).verifier()];
        let (cp, cosignatures) = verify_cosignatures(&note, &log.verifier(), &verifiers).unwrap();
        assert_eq!(cp, checkpoint());
        assert_eq!(
            cosignatures,
            vec![
                Cosignature {
                    name: "mirror1.example".into(),
                    key_id: mirror(1).key_id(),
                    timestamp: 1_700_000_000
                },
                Cosignature {
                    name: "mirror2.example".into(),
                    key_id: mirror(2).key_id(),
                    timestamp: 1_700_000_001
                },
            ]
        );
        // The log's own view still opens, and hands back both cosignatures.
        let (_, others) = open_checkpoint(&note, &log.verifier()).unwrap();
        assert_eq!(others.len(), 2);
        assert_eq!(others[0].cosignature_timestamp(), Some(1_700_000_000));
    }

    #[test]
    fn cosignature_signs_the_tlog_cosignature_v1_message_under_a_0x04_key_id() {
        let log = log_signer();
        let cosigner = mirror(1);
        let note = sign_checkpoint(&checkpoint(), &log).unwrap();
        let note = add_cosignature(&note, &log.verifier(), &cosigner, 1_679_315_147).unwrap();
        let (_, others) = open_checkpoint(&note, &log.verifier()).unwrap();
        let line = &others[0];
        let mut preimage = b"mirror1.example\n\x04".to_vec();
        preimage.extend_from_slice(cosigner.verifier().verifying_key().as_bytes());
        assert_eq!(line.key_id, Sha256::digest(&preimage)[..4]);
        assert_eq!(line.signature.len(), 72);
        assert_eq!(line.signature[..8], 1_679_315_147u64.to_be_bytes());
        let message = format!(
            "cosignature/v1\ntime 1679315147\n{}",
            checkpoint().to_body()
        );
        let signature = Signature::from_slice(&line.signature[8..]).unwrap();
        assert!(cosigner
            .verifier()
            .verifying_key()
            .verify_strict(message.as_bytes(), &signature)
            .is_ok());
    }

    #[test]
    fn cosignature_with_tampered_timestamp_is_rejected() {
        let log = log_signer();
        let note = sign_checkpoint(&checkpoint(), &log).unwrap();
        let cosigned = add_cosignature(&note, &log.verifier(), &mirror(1), 1_700_000_000).unwrap();
        let (_, others) = open_checkpoint(&cosigned, &log.verifier()).unwrap();
        let mut line = others[0].clone();
        line.signature[7] ^= 1;
        let tampered = format!("{note}{}", line.to_line());
        assert!(matches!(
            verify_cosignatures(&tampered, &log.verifier(), &[mirror(1).verifier()]),
            Err(CheckpointError::InvalidSignature { .. })
        ));
        line.signature[..8].copy_from_slice(&u64::MAX.to_be_bytes());
        let far_future = format!("{note}{}", line.to_line());
        assert_eq!(
            verify_cosignatures(&far_future, &log.verifier(), &[mirror(1).verifier()]).map(|_| ()),
            Err(CheckpointError::TimestampOutOfRange(u64::MAX))
        );
    }

    #[test]
    fn cosignature_over_another_checkpoint_is_rejected() {
        let log = log_signer();
        let note = sign_checkpoint(&checkpoint(), &log).unwrap();
        let cosigned = add_cosignature(&note, &log.verifier(), &mirror(1), 5).unwrap();
        let cosignature_line = cosigned.strip_prefix(&note).unwrap();
        let mut other = checkpoint();
        other.size += 1;
        let other_note = sign_checkpoint(&other, &log).unwrap();
        let moved = format!("{other_note}{cosignature_line}");
        assert!(matches!(
            verify_cosignatures(&moved, &log.verifier(), &[mirror(1).verifier()]),
            Err(CheckpointError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn cosignatures_of_unlisted_mirrors_are_ignored() {
        let log = log_signer();
        let note = sign_checkpoint(&checkpoint(), &log).unwrap();
        let note = add_cosignature(&note, &log.verifier(), &mirror(1), 5).unwrap();
        let (_, cosignatures) =
            verify_cosignatures(&note, &log.verifier(), &[mirror(2).verifier()]).unwrap();
        assert!(cosignatures.is_empty());
    }

    #[test]
    fn cosigning_refuses_unverified_notes_duplicates_and_out_of_range_timestamps() {
        let log = log_signer();
        let note = sign_checkpoint(&checkpoint(), &log).unwrap();
        let stranger =
            NoteSigner::new("board.example/election-1", SigningKey::from_bytes(&[9; 32])).unwrap();
        assert!(matches!(
            add_cosignature(&note, &stranger.verifier(), &mirror(1), 5),
            Err(CheckpointError::NoSignatureFromKey { .. })
        ));
        let cosigned = add_cosignature(&note, &log.verifier(), &mirror(1), 5).unwrap();
        assert!(matches!(
            add_cosignature(&cosigned, &log.verifier(), &mirror(1), 6),
            Err(CheckpointError::DuplicateSignature { .. })
        ));
        assert_eq!(
            add_cosignature(&note, &log.verifier(), &mirror(1), 1 << 63),
            Err(CheckpointError::TimestampOutOfRange(1 << 63))
        );
        assert!(add_cosignature(&note, &log.verifier(), &mirror(1), (1 << 63) - 1).is_ok());
    }

    #[test]
    fn cosigning_never_makes_a_note_that_cannot_be_opened() {
        // A note just under the limit opens; its cosigned copy would not,
        // so cosigning refuses (the signed_note fuzz target found this).
        let log = log_signer();
        let note_of = |origin_len: usize| {
            let cp = Checkpoint {
                origin: "o".repeat(origin_len),
                ..checkpoint()
            };
            sign_checkpoint(&cp, &log).unwrap()
        };
        let overhead = note_of(1000).len() - 1000;
        let near = note_of(MAX_NOTE_BYTES - overhead - 50);
        assert_eq!(near.len(), MAX_NOTE_BYTES - 50);
        assert!(open_checkpoint(&near, &log.verifier()).is_ok());
        assert_eq!(
            add_cosignature(&near, &log.verifier(), &mirror(1), 5),
            Err(CheckpointError::NoteTooLarge {
                max: MAX_NOTE_BYTES
            })
        );
        // With room for the line, the cosigned note is exactly at most the
        // limit and opens.
        let line = add_cosignature(&note_of(10), &log.verifier(), &mirror(1), 5)
            .unwrap()
            .len()
            - note_of(10).len();
        let fits = note_of(MAX_NOTE_BYTES - overhead - line);
        let cosigned = add_cosignature(&fits, &log.verifier(), &mirror(1), 5).unwrap();
        assert_eq!(cosigned.len(), MAX_NOTE_BYTES);
        assert!(verify_cosignatures(&cosigned, &log.verifier(), &[mirror(1).verifier()]).is_ok());
    }

    #[test]
    fn a_note_signature_is_not_a_cosignature() {
        // The same key as a log signer and as a cosigner has two key IDs.
        let key = SigningKey::from_bytes(&[42; 32]);
        let as_log = NoteSigner::new("mirror1.example", key.clone()).unwrap();
        let as_mirror = Cosigner::new("mirror1.example", key).unwrap();
        assert_ne!(as_log.key_id(), as_mirror.key_id());
    }

    #[test]
    fn c2sp_example_cosignature_line_parses_with_its_timestamp() {
        let text = format!("{C2SP_EXAMPLE_BODY}\n{C2SP_EXAMPLE_SIGS}");
        let note = parse_note(&text).unwrap();
        assert_eq!(note.body, C2SP_EXAMPLE_BODY);
        assert_eq!(note.signatures.len(), 2);
        assert_eq!(note.signatures[0].signature.len(), 64);
        assert_eq!(note.signatures[0].cosignature_timestamp(), None);
        assert_eq!(note.signatures[1].name, "witness.example.com/w1");
        assert_eq!(
            note.signatures[1].cosignature_timestamp(),
            Some(1_679_315_147)
        );
    }

    #[test]
    fn transparency_dev_cosignature_blob_has_the_published_timestamp() {
        let line = SignatureLine::parse(&format!("\u{2014} w {FORMATS_COSIG_BLOB}")).unwrap();
        assert_eq!(line.cosignature_timestamp(), Some(1_727_964_367));
        let line = SignatureLine::parse(&format!("\u{2014} w {FORMATS_NOTE_SIG_BLOB}")).unwrap();
        assert_eq!(line.cosignature_timestamp(), None);
    }
}
