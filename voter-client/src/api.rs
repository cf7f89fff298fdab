//! The board's HTTP API as the client sees it (SPEC.md §10): the JSON
//! shapes of its answers. Fields the client does not use are ignored, so a
//! board that adds fields does not break old clients.

use psephos_crypto::encoding::decode_hex32;
use psephos_crypto::log::Hash;
use serde::{Deserialize, Serialize};

use crate::error::{Result, VoterError};

/// `GET /api/v1/board`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BoardInfo {
    /// The board's origin (its checkpoint key name).
    pub origin: String,
    /// The board's checkpoint key as a C2SP vkey.
    pub key: String,
    /// The same Ed25519 key, hex: the author of the board's own entries.
    pub public_key: String,
}

/// `GET /api/v1/elections/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ElectionStatus {
    /// The election id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// `setup`, `key_ceremony`, `ready`, `open`, `closed` or `tallied`.
    pub state: String,
    /// Entries in the log.
    pub size: u64,
    /// Leaf hash of the manifest entry, hex.
    pub manifest_hash: String,
    /// The joint key `PK`, hex, once the ceremony is over.
    pub public_key: Option<String>,
    /// The election fingerprint, hex, once `PK` exists.
    pub fingerprint: Option<String>,
    /// The latest signed checkpoint.
    pub checkpoint: String,
    /// The voting page bundle's SHA-256, once voting opened.
    #[serde(default)]
    pub bundle_sha256: Option<String>,
    /// The counts per contest per option, once tallied.
    #[serde(default)]
    pub result: Option<Vec<Vec<u64>>>,
}

/// `201` answer to a ballot post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardReceipt {
    /// The entry's index.
    pub index: u64,
    /// The entry line's leaf hash, hex.
    pub leaf_hash: String,
    /// The tracking code, hex (SPEC.md §6.6).
    pub tracking_code: String,
    /// Its short form.
    pub short_code: String,
    /// A signed checkpoint that includes the entry.
    pub checkpoint: String,
    /// The inclusion proof of the entry in that checkpoint's tree, hex.
    pub inclusion_proof: Vec<String>,
    /// The checkpoint's tree size.
    pub size: u64,
}

/// `GET …/proof/inclusion`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
    /// The leaf hash, hex.
    pub leaf_hash: String,
    /// The audit path, hex.
    pub proof: Vec<String>,
}

/// `GET …/proof/consistency`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// Old tree size.
    pub from: u64,
    /// New tree size.
    pub to: u64,
    /// The proof, hex.
    pub proof: Vec<String>,
}

/// A `4xx` answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApiError {
    /// A machine-readable code.
    pub error: String,
    /// A sentence.
    pub message: String,
}

/// Parse a hex hash the board sent.
pub fn board_hash(what: &'static str, text: &str) -> Result<Hash> {
    decode_hex32(what, text).map_err(|e| VoterError::board(format!("{what}: {e}")))
}

/// Parse a list of hex hashes the board sent.
pub fn board_hashes(what: &'static str, texts: &[String]) -> Result<Vec<Hash>> {
    texts.iter().map(|t| board_hash(what, t)).collect()
}

/// Parse JSON the board sent.
pub fn parse<T: for<'de> Deserialize<'de>>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| VoterError::board(format!("{what} is not what the API defines: {e}")))
}
