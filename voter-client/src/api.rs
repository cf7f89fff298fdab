//! The board's HTTP API as the client sees it (SPEC.md §10). The JSON
//! documents are the ones the board serializes, declared once in
//! `psephos_crypto::wire`; fields a board adds beyond them are ignored, so
//! a newer board does not break old clients.

pub use psephos_crypto::wire::{
    BoardInfo, ConsistencyProof, ElectionStatus, ErrorBody, InclusionProof,
};

/// The board's `201` answer to a post (SPEC.md §10.2), `wire::Receipt`;
/// named apart from [`crate::receipt::Receipt`], the file the voter keeps.
pub use psephos_crypto::wire::Receipt as BoardReceipt;

use psephos_crypto::encoding::decode_hex32;
use psephos_crypto::log::Hash;
use serde::Deserialize;

use crate::error::{Result, VoterError};

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
