//! Serving the voting page and the public election page (SPEC.md §13.6).
//! The board merges [`router`] into its app:
//!
//! * `GET /elections/{id}` — the public election page (`election.html`);
//! * `GET /elections/{id}/vote` — the voting page (`vote.html`);
//! * `GET /assets/{file}` — a bundle file (`.wasm` as `application/wasm`);
//! * `GET /assets/SHA256SUMS` — the bundle's file hashes.
//!
//! The pages are static: they read the election id from their URL and call
//! the board's JSON API on the same origin. Every answer carries a
//! Content-Security-Policy that allows only same-origin scripts (and the
//! WebAssembly compilation they need) and same-origin connections.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::bundle::{bundle_sha256, file_sha256, sums_text};
use crate::error::{Result, VoterError};

/// The page of an election.
pub const ELECTION_PAGE: &str = "election.html";
/// The voting page.
pub const VOTE_PAGE: &str = "vote.html";

const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                   img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// The page bundle, loaded once from a directory (`voter-client/web/dist`).
#[derive(Debug, Clone)]
pub struct WebAssets {
    files: BTreeMap<String, Vec<u8>>,
    sums: String,
    hash: [u8; 32],
}

fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl WebAssets {
    /// Read every regular file directly in `dir` (names of letters, digits,
    /// `.`, `_`, `-`; hidden files skipped). The pages must be among them.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let io = |e: std::io::Error| {
            VoterError::input(format!(
                "cannot read the page bundle in {}: {e}",
                dir.display()
            ))
        };
        let mut files = BTreeMap::new();
        for item in std::fs::read_dir(dir).map_err(io)? {
            let item = item.map_err(io)?;
            if !item.file_type().map_err(io)?.is_file() {
                continue;
            }
            let Some(name) = item.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if plain_name(&name) && name != "SHA256SUMS" {
                files.insert(name, std::fs::read(item.path()).map_err(io)?);
            }
        }
        Self::from_files(files)
    }

    /// Build from file names and contents.
    pub fn from_files(files: BTreeMap<String, Vec<u8>>) -> Result<Self> {
        for page in [ELECTION_PAGE, VOTE_PAGE] {
            if !files.contains_key(page) {
                return Err(VoterError::input(format!(
                    "the page bundle has no {page}: build it with voter-client/build-web.sh"
                )));
            }
        }
        let digests: Vec<(String, String)> = files
            .iter()
            .map(|(n, c)| (n.clone(), file_sha256(c)))
            .collect();
        Ok(WebAssets {
            sums: sums_text(&digests),
            hash: bundle_sha256(&digests),
            files,
        })
    }

    /// The bundle hash the `voting_opened` entry names (SPEC.md §13.6).
    pub fn bundle_sha256(&self) -> [u8; 32] {
        self.hash
    }

    /// The file names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// A file's content (`SHA256SUMS` is not a file of the bundle).
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "text/plain; charset=utf-8",
    }
}

/// A bundle file (or `SHA256SUMS`) as the pages are served: its type, the
/// Content-Security-Policy, `no-cache`; 404 JSON if there is no such file.
/// The board also serves bundles by hash with it (SPEC.md §10.1).
pub fn file_response(assets: &WebAssets, name: &str) -> Response {
    serve(assets, name)
}

fn serve(assets: &WebAssets, name: &str) -> Response {
    let body = if name == "SHA256SUMS" {
        Some(assets.sums.clone().into_bytes())
    } else {
        assets.files.get(name).cloned()
    };
    let Some(body) = body else {
        let body = crate::api::ErrorBody {
            error: "not_found".into(),
            message: format!("the page bundle has no file {name:?}"),
        };
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The routes of the pages and the bundle.
pub fn router<S: Clone + Send + Sync + 'static>(assets: WebAssets) -> Router<S> {
    let assets = Arc::new(assets);
    Router::new()
        .route(
            "/elections/{id}",
            get(
                |State(a): State<Arc<WebAssets>>, UrlPath(_id): UrlPath<String>| async move {
                    serve(&a, ELECTION_PAGE)
                },
            ),
        )
        .route(
            "/elections/{id}/vote",
            get(
                |State(a): State<Arc<WebAssets>>, UrlPath(_id): UrlPath<String>| async move {
                    serve(&a, VOTE_PAGE)
                },
            ),
        )
        .route(
            "/assets/{file}",
            get(
                |State(a): State<Arc<WebAssets>>, UrlPath(file): UrlPath<String>| async move {
                    serve(&a, &file)
                },
            ),
        )
        .with_state(assets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn assets() -> WebAssets {
        let mut files = BTreeMap::new();
        files.insert(ELECTION_PAGE.to_string(), b"<p>election</p>".to_vec());
        files.insert(VOTE_PAGE.to_string(), b"<p>vote</p>".to_vec());
        files.insert("psephos_voter_bg.wasm".to_string(), b"\0asm".to_vec());
        WebAssets::from_files(files).unwrap()
    }

    async fn get(app: Router, uri: &str) -> (StatusCode, String, Vec<u8>) {
        let r = app
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = r.status();
        let ct = r
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec();
        (status, ct, body)
    }

    #[tokio::test]
    async fn pages_and_assets_are_served_with_their_types() {
        let app: Router = router(assets());
        let (s, ct, b) = get(app.clone(), "/elections/e1/vote").await;
        assert_eq!(
            (s, ct.as_str(), b.as_slice()),
            (
                StatusCode::OK,
                "text/html; charset=utf-8",
                &b"<p>vote</p>"[..]
            )
        );
        let (_, _, b) = get(app.clone(), "/elections/e1").await;
        assert_eq!(b, b"<p>election</p>");
        let (s, ct, _) = get(app.clone(), "/assets/psephos_voter_bg.wasm").await;
        assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/wasm"));
        let (s, ct, b) = get(app.clone(), "/assets/..%2FCargo.toml").await;
        assert_eq!(
            (s, ct.as_str()),
            (StatusCode::NOT_FOUND, "application/json")
        );
        let error: crate::api::ErrorBody = serde_json::from_slice(&b).unwrap();
        assert_eq!(error.error, "not_found");
    }

    #[tokio::test]
    async fn sha256sums_rederive_the_bundle_hash() {
        let a = assets();
        let (_, _, sums) = get(router(a.clone()), "/assets/SHA256SUMS").await;
        let pairs = crate::bundle::parse_sums(std::str::from_utf8(&sums).unwrap()).unwrap();
        assert_eq!(pairs.len(), 3);
        assert_eq!(bundle_sha256(&pairs), a.bundle_sha256());
    }
}
