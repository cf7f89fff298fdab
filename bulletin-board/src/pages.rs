//! The voting page and the public election page (SPEC.md §13.6), as the
//! board and its mirrors serve them: the page bundle of
//! `voter-client/build-web.sh`, loaded once at start, mounted through
//! [`psephos_voter::web::router`]. Without a bundle the page routes answer
//! 404 `no_pages` with a sentence saying how to build one, so a person who
//! opens the link learns why there is no page.

use std::path::{Path, PathBuf};

use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use psephos_voter::web::{WebAssets, VOTE_PAGE};

use crate::error::{BoardError, Result};

/// Where `voter-client/build-web.sh` writes the bundle in the source tree
/// this program was built from.
pub fn source_tree_bundle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../voter-client/web/dist")
}

/// The bundle in `dir`, or — without `dir` — the source tree's built
/// bundle if there is one (`Ok(None)` if not). A `dir` given but unusable
/// is an error: the administrator asked for pages.
pub fn load(dir: Option<&Path>) -> Result<Option<WebAssets>> {
    let (dir, required) = match dir {
        Some(d) => (d.to_path_buf(), true),
        None => (source_tree_bundle(), false),
    };
    if !required && !dir.join(VOTE_PAGE).is_file() {
        return Ok(None);
    }
    WebAssets::from_dir(&dir)
        .map(Some)
        .map_err(|e| BoardError::Config(e.to_string()))
}

/// The page routes: the bundle's, or `no_pages` answers.
pub fn router<S: Clone + Send + Sync + 'static>(web: Option<&WebAssets>) -> Router<S> {
    match web {
        Some(assets) => psephos_voter::web::router(assets.clone()),
        None => {
            let none = || async {
                BoardError::not_found(
                    "no_pages",
                    "this server has no voting page bundle: build it with voter-client/build-web.sh and start the server with --web-dir voter-client/web/dist",
                )
                .into_response()
            };
            Router::new()
                .route("/elections/{id}", get(none))
                .route("/elections/{id}/vote", get(none))
                .route("/assets/{file}", get(none))
        }
    }
}
