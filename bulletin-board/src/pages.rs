//! The voting page and the public election page (SPEC.md §13.6), as the
//! board and its mirrors serve them: the page bundle of
//! `voter-client/build-web.sh`, loaded once at start, mounted through
//! [`psephos_voter::web::router_with`]. Without a bundle the page routes
//! answer 404 `no_pages` with a sentence saying how to build one, so a
//! person who opens the link learns why there is no page.
//!
//! The two pages of an election may fetch its witnesses' read API
//! (SPEC.md §14.1): their Content-Security-Policy's `connect-src` names the
//! origins of the witnesses the election's manifest names
//! ([`witness_origins`]), for an election the server holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use psephos_crypto::record::{Body, Entry, Payload};
use psephos_voter::web::{witness_origin, ConnectSources, WebAssets, VOTE_PAGE};

use crate::error::{BoardError, Result};
use crate::store::Store;

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

/// The page routes: the bundle's (the pages' `connect-src` extended by
/// `connect`), or `no_pages` answers.
pub fn router<S: Clone + Send + Sync + 'static>(
    web: Option<&WebAssets>,
    connect: Option<ConnectSources>,
) -> Router<S> {
    match web {
        Some(assets) => psephos_voter::web::router_with(assets.clone(), connect),
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

/// Most elections whose witness origins one server keeps in memory.
const MAX_CACHED: usize = 4096;

/// The origins of the witnesses an election's manifest names, read from
/// entry 0 of its log in `store` (a board's or a mirror's): the lookup the
/// page routes extend `connect-src` with (SPEC.md §13.6). An invalid id or
/// an election the store does not hold gives none; so does a storage error
/// (logged: the page then reaches only its own server). A witness URL that
/// is not a plain `http(s)://host[:port]` origin is left out (logged). The
/// manifest never changes, so each election's answer is kept.
pub fn witness_origins(store: Store) -> ConnectSources {
    let cache: Arc<Mutex<HashMap<String, Arc<[String]>>>> = Arc::default();
    Arc::new(move |id: &str| {
        let store = store.clone();
        let cache = cache.clone();
        let id = id.to_owned();
        Box::pin(async move {
            if !crate::api::valid_id(&id) {
                return Vec::new();
            }
            if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&id).cloned()) {
                return hit.to_vec();
            }
            match manifest_origins(&store, &id).await {
                Ok(Some(origins)) => {
                    if let Ok(mut c) = cache.lock() {
                        if c.len() < MAX_CACHED {
                            c.insert(id, origins.clone().into());
                        }
                    }
                    origins
                }
                Ok(None) => Vec::new(),
                Err(e) => {
                    tracing::warn!(election = %id, error = %e, "cannot read the witnesses for the page's policy");
                    Vec::new()
                }
            }
        })
    })
}

/// The witness origins of `id`'s manifest; `None` if the store has no such
/// election.
async fn manifest_origins(store: &Store, id: &str) -> Result<Option<Vec<String>>> {
    let Some((_, _, line)) = store.page(id, 0, 1, None).await?.into_iter().next() else {
        return Ok(None);
    };
    let corrupt = |e: String| BoardError::Internal(format!("{id}: stored entry 0: {e}"));
    let entry = Entry::from_line(&line).map_err(|e| corrupt(e.to_string()))?;
    let body: Body = serde_json::from_str(entry.body.get()).map_err(|e| corrupt(e.to_string()))?;
    let Payload::Manifest(manifest) = body.payload else {
        return Err(corrupt("not a manifest".into()));
    };
    let mut origins: Vec<String> = Vec::new();
    for w in &manifest.witnesses {
        match witness_origin(&w.url) {
            Some(o) if !origins.contains(&o) => origins.push(o),
            Some(_) => {}
            None => tracing::warn!(
                election = %id,
                witness = %w.name,
                "the witness URL is not a plain http(s) origin: the pages may not connect to it"
            ),
        }
    }
    Ok(Some(origins))
}
