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
//! WebAssembly compilation they need) and same-origin connections; the two
//! pages may also connect to the election's witnesses, the mirrors its
//! manifest names, when the server says who they are ([`ConnectSources`],
//! [`router_with`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
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

/// The `connect-src` directive of [`CSP`], which a page's answer extends.
const CONNECT_SELF: &str = "connect-src 'self'";

/// The origins an election's pages may connect to besides their own
/// (SPEC.md §13.6): the future the server's lookup returns.
pub type ConnectFuture = Pin<Box<dyn Future<Output = Vec<String>> + Send>>;

/// The server's lookup of the origins an election's pages may connect to
/// besides their own — on a board and on a mirror, those of the witnesses
/// the election's manifest names ([`witness_origin`]); none for an election
/// the server does not know. Called with the `{id}` of the page's URL, as
/// it came (the lookup checks it). Whatever it returns, only serialized
/// origins ([`is_origin`]) reach the header.
pub type ConnectSources = Arc<dyn Fn(&str) -> ConnectFuture + Send + Sync>;

/// Most extra origins one page's policy names.
pub const MAX_CONNECT_ORIGINS: usize = 64;

/// A host name as a CSP host-source may name it: dot-separated labels of
/// ASCII letters, digits and `-` (no wildcard, no IP-literal brackets, no
/// percent-encoding).
fn plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The origin `scheme://host[:port]` of a witness URL (SPEC.md §14.1), as
/// a page's `connect-src` names it: scheme and host lowercased, a port only
/// when it is not the scheme's default, path, query and fragment dropped.
/// `None` for anything else than an `http://` or `https://` URL whose host
/// is a plain name or IPv4 address (letters, digits, `-`, `.`) and whose
/// port, if any, is 1–65535: user information, IPv6 literals,
/// percent-encoded or non-ASCII hosts and wildcards are refused, so that
/// nothing but an origin ever enters the header.
pub fn witness_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if !plain_host(host) {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) => {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: u32 = p.parse().ok()?;
            if n == 0 || n > 65_535 {
                return None;
            }
            (n != default_port).then_some(n)
        }
    };
    let host = host.to_ascii_lowercase();
    Some(match port {
        Some(n) => format!("{scheme}://{host}:{n}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Whether `origin` is an origin exactly as [`witness_origin`] writes it.
pub fn is_origin(origin: &str) -> bool {
    witness_origin(origin).as_deref() == Some(origin)
}

/// The page policy with `extra` origins added to `connect-src` (those that
/// are not serialized origins are left out, and so are repeats beyond
/// [`MAX_CONNECT_ORIGINS`]).
pub fn page_csp(extra: &[String]) -> String {
    let mut origins: Vec<&str> = Vec::new();
    for o in extra {
        if origins.len() < MAX_CONNECT_ORIGINS && is_origin(o) && !origins.contains(&o.as_str()) {
            origins.push(o);
        }
    }
    if origins.is_empty() {
        return CSP.to_owned();
    }
    CSP.replacen(
        CONNECT_SELF,
        &format!("{CONNECT_SELF} {}", origins.join(" ")),
        1,
    )
}

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

/// What the page routes share.
struct Pages {
    assets: WebAssets,
    connect: Option<ConnectSources>,
}

/// A page, its policy naming the origins the lookup gives for `id`.
async fn page(pages: &Pages, id: &str, name: &str) -> Response {
    let mut response = serve(&pages.assets, name);
    if response.status() != StatusCode::OK {
        return response;
    }
    if let Some(connect) = &pages.connect {
        let origins = connect(id).await;
        if !origins.is_empty() {
            if let Ok(value) = HeaderValue::from_str(&page_csp(&origins)) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, value);
            }
        }
    }
    response
}

/// The routes of the pages and the bundle, every answer with the static
/// policy.
pub fn router<S: Clone + Send + Sync + 'static>(assets: WebAssets) -> Router<S> {
    router_with(assets, None)
}

/// The routes of the pages and the bundle; the two pages' `connect-src`
/// also names the origins `connect` gives for their election (the bundle
/// files keep the static policy).
pub fn router_with<S: Clone + Send + Sync + 'static>(
    assets: WebAssets,
    connect: Option<ConnectSources>,
) -> Router<S> {
    let pages = Arc::new(Pages { assets, connect });
    Router::new()
        .route(
            "/elections/{id}",
            get(
                |State(p): State<Arc<Pages>>, UrlPath(id): UrlPath<String>| async move {
                    page(&p, &id, ELECTION_PAGE).await
                },
            ),
        )
        .route(
            "/elections/{id}/vote",
            get(
                |State(p): State<Arc<Pages>>, UrlPath(id): UrlPath<String>| async move {
                    page(&p, &id, VOTE_PAGE).await
                },
            ),
        )
        .route(
            "/assets/{file}",
            get(
                |State(p): State<Arc<Pages>>, UrlPath(file): UrlPath<String>| async move {
                    serve(&p.assets, &file)
                },
            ),
        )
        .with_state(pages)
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

    fn csp(r: &Response) -> String {
        r.headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn witness_origins_are_plain_origins_or_refused() {
        for (url, origin) in [
            ("https://mirror.example.org", "https://mirror.example.org"),
            (
                "https://Mirror.Example.ORG:8443/some/path?q#f",
                "https://mirror.example.org:8443",
            ),
            ("HTTP://127.0.0.1:9/", "http://127.0.0.1:9"),
            ("http://witness-1.test:80/x", "http://witness-1.test"),
            ("https://w.test:443", "https://w.test"),
            ("https://w.test:80", "https://w.test:80"),
        ] {
            assert_eq!(witness_origin(url).as_deref(), Some(origin), "{url}");
            assert!(is_origin(origin), "{origin}");
        }
        for url in [
            "ftp://w.test",
            "javascript://w.test",
            "https://",
            "https://user@w.test",
            "https://user:pw@w.test",
            "https://w.test:",
            "https://w.test:0",
            "https://w.test:65536",
            "https://w.test:+80",
            "https://w.test:80:80",
            "https://[::1]:8080",
            "https://*.w.test",
            "https://w.test; script-src *",
            "https://w.test 'unsafe-inline'",
            "https://w.test\r\nx-evil: 1",
            "https://w%2etest",
            "https://wé.test",
            "https://w..test",
            "https://w.test.",
            "https://w_x.test",
            "https://w.test\\@evil.test",
            "w.test",
        ] {
            assert_eq!(witness_origin(url), None, "{url:?}");
        }
        assert!(!is_origin("https://w.test/"));
        assert!(!is_origin("https://W.test"));
        assert!(!is_origin("https://w.test:443"));
    }

    #[test]
    fn the_page_policy_adds_only_origins_to_connect_src() {
        assert_eq!(page_csp(&[]), CSP);
        let with = page_csp(&[
            "https://a.test".into(),
            "https://a.test".into(),
            "http://b.test:8080".into(),
            "https://c.test; script-src *".into(),
            "https://d.test/".into(),
        ]);
        assert_eq!(
            with,
            CSP.replace(
                "connect-src 'self';",
                "connect-src 'self' https://a.test http://b.test:8080;"
            )
        );
        assert_eq!(with.matches("script-src").count(), 1);
    }

    #[tokio::test]
    async fn pages_name_the_origins_of_their_election_and_assets_do_not() {
        let connect: ConnectSources = Arc::new(|id: &str| {
            let id = id.to_owned();
            Box::pin(async move {
                if id == "e1" {
                    vec!["https://w1.test".into(), "bad origin".into()]
                } else {
                    Vec::new()
                }
            })
        });
        let app: Router = router_with(assets(), Some(connect));
        let call = |uri: &str| {
            let app = app.clone();
            let req = Request::get(uri).body(Body::empty()).unwrap();
            async move { app.oneshot(req).await.unwrap() }
        };
        for uri in ["/elections/e1", "/elections/e1/vote"] {
            let r = call(uri).await;
            assert_eq!(r.status(), StatusCode::OK);
            assert!(
                csp(&r).contains("; connect-src 'self' https://w1.test; "),
                "{uri}: {}",
                csp(&r)
            );
        }
        for uri in [
            "/elections/e2",
            "/elections/e2/vote",
            "/assets/psephos_voter_bg.wasm",
            "/assets/SHA256SUMS",
        ] {
            let r = call(uri).await;
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(csp(&r), CSP, "{uri}");
        }
        let r: Response = router(assets())
            .oneshot(Request::get("/elections/e1").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(csp(&r), CSP);
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
