//! The voting page bundle by hash (SPEC.md §10.1, §10.9.1, §13.6,
//! DESIGN.md §8): `GET /api/v1/bundles/{sha256}/{file}` serves a file (or
//! `SHA256SUMS`) of the bundle whose `bundle_sha256` is `{sha256}` — on a
//! board the bundle it serves its pages from, on a mirror every bundle a
//! followed log names in `voting_opened`, fetched from the upstream and
//! checked against that hash. Anyone can fetch the files from the board
//! and from mirrors and check that they are the ones the log names.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use psephos_voter::web::WebAssets;

use crate::error::{BoardError, Result};

/// The name of the file list (`hex  name` lines); not itself a bundle file.
pub const SUMS: &str = "SHA256SUMS";
/// Most files in a bundle a mirror keeps.
pub const MAX_FILES: usize = 256;
/// Largest bundle file a mirror keeps, bytes.
pub const MAX_FILE_BYTES: usize = 16 << 20;
/// Largest bundle a mirror keeps, bytes (all files).
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;

/// A bundle file name: letters, digits, `.`, `_`, `-`, not starting with
/// `.` — the bare names of one directory (SPEC.md §13.6).
pub fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Where a server finds a bundle by its hash.
pub trait BundleSource: Send + Sync + 'static {
    /// The bundle whose `bundle_sha256` is `hash`, if this server holds it.
    fn bundle_by_hash(
        &self,
        hash: [u8; 32],
    ) -> impl Future<Output = Result<Option<Arc<WebAssets>>>> + Send;
}

/// A held bundle's file (or `SHA256SUMS`) as the pages are served.
pub fn serve_file(bundle: &WebAssets, name: &str) -> Option<Response> {
    (name == SUMS || bundle.file(name).is_some())
        .then(|| psephos_voter::web::file_response(bundle, name))
}

/// `GET /api/v1/bundles/{sha256}/{file}`.
pub fn router<S: BundleSource>() -> Router<Arc<S>> {
    Router::new().route("/api/v1/bundles/{hash}/{file}", get(by_hash::<S>))
}

async fn by_hash<S: BundleSource>(
    State(source): State<Arc<S>>,
    Path((hash, file)): Path<(String, String)>,
) -> Result<Response> {
    let digest = psephos_crypto::encoding::decode_hex32("bundle hash", &hash).map_err(|_| {
        BoardError::bad_request(
            "invalid_bundle",
            "a bundle is named by its SHA-256: 64 hex digits",
        )
    })?;
    let bundle = source.bundle_by_hash(digest).await?;
    bundle
        .as_deref()
        .and_then(|b| serve_file(b, &file))
        .ok_or_else(|| {
            BoardError::not_found(
                "unknown_bundle",
                format!("this server holds no file {file:?} of the bundle {hash}"),
            )
        })
}

impl BundleSource for crate::board::Board {
    async fn bundle_by_hash(&self, hash: [u8; 32]) -> Result<Option<Arc<WebAssets>>> {
        Ok(self.bundle.clone().filter(|b| b.bundle_sha256() == hash))
    }
}
