//! Cross-origin access and the pages' connect policy (SPEC.md §10.1,
//! §10.9.1, §13.6): the board's and a mirror's public read API answer
//! requests from any origin (preflights included), a mirror takes
//! equivocation evidence cross-origin, the admin endpoints and ballot
//! posts do not; the election's pages may connect to the origins of the
//! witnesses its manifest names, and only to their own server otherwise.

// Test support: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use psephos_board::mirror::{Mirror, MirrorConfig};
use psephos_board::testkit::{PgDatabase, SimElection, TestBoard};
use psephos_crypto::log::checkpoint::Cosigner;
use psephos_crypto::witness::Witness;
use psephos_voter::web::WebAssets;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::Method;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Run a test body on a board (with pages) on SQLite and on PostgreSQL;
/// the second argument is a database for a mirror (`None`: SQLite in its
/// data directory). PostgreSQL runs are skipped without a server unless
/// `PSEPHOS_REQUIRE_POSTGRES=1`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let board = super::board_with_pages(dir.path(), None).await;
                super::$name(&board, None).await;
                board.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(board_db) = psephos_board::testkit::PgDatabase::create().await.unwrap()
                else {
                    return;
                };
                let Some(mirror_db) = psephos_board::testkit::PgDatabase::create().await.unwrap()
                else {
                    board_db.drop_database().await;
                    return;
                };
                let dir = tempfile::tempdir().unwrap();
                let board = super::board_with_pages(dir.path(), Some(&board_db)).await;
                super::$name(&board, Some(&mirror_db)).await;
                board.finish().await;
                board_db.drop_database().await;
                mirror_db.drop_database().await;
            }
        }
    )*};
}

on_both_backends!(
    board_read_api_is_cross_origin_and_admin_and_posts_are_not,
    board_pages_may_connect_to_the_witnesses_of_their_election,
    mirror_read_api_and_evidence_post_are_cross_origin_and_its_pages_name_the_witnesses,
);

/// The page that fetches, from another origin.
const PAGE_ORIGIN: &str = "https://page.example";
/// The origins of the witnesses of [`WITNESSED`], as the policy names them.
const WITNESS_ORIGINS: &str = "https://witness-1.example:8443 http://127.0.0.1:9";
/// An election whose manifest names two witnesses.
const WITNESSED: &str = "witnessed";
/// An election whose manifest names none.
const PLAIN: &str = "plain";

/// A tiny page bundle.
fn bundle() -> WebAssets {
    let mut files = BTreeMap::new();
    files.insert("election.html".to_owned(), b"<p>election</p>".to_vec());
    files.insert("vote.html".to_owned(), b"<p>vote</p>".to_vec());
    files.insert("app.js".to_owned(), b"console.log(1)".to_vec());
    WebAssets::from_files(files).unwrap()
}

async fn board_with_pages(dir: &Path, db: Option<&PgDatabase>) -> TestBoard {
    let mut config = psephos_board::Config::new(dir);
    config.database_url = db.map(|d| d.url.clone());
    config.limits.rate_per_sec = 0.0;
    config.web = Some(bundle());
    TestBoard::start(config).await.unwrap()
}

/// A witness whose key is seeded from its name.
fn witness(name: &str, url: &str) -> Witness {
    use sha2::{Digest, Sha256};
    let mut rng = ChaCha20Rng::from_seed(Sha256::digest(name.as_bytes()).into());
    let cosigner = Cosigner::new(name, SigningKey::generate(&mut rng)).unwrap();
    Witness {
        name: name.to_owned(),
        key: cosigner.verifier().to_vkey(),
        url: url.to_owned(),
    }
}

/// Create [`WITNESSED`] and [`PLAIN`] on the board.
async fn create_elections(board: &TestBoard) {
    let client = board.client();
    let mut witnessed = SimElection::new(WITNESSED, 1, 1, 2, 1);
    witnessed.manifest.witnesses = vec![
        witness("witness-1", "https://Witness-1.example:8443/psephos/"),
        witness("witness-2", "http://127.0.0.1:9"),
        // The same origin again: named once.
        witness("witness-3", "https://witness-1.example:8443/other"),
    ];
    witnessed.manifest.witness_quorum = 1;
    witnessed.create(&client).await.unwrap();
    let mut plain = SimElection::new(PLAIN, 1, 1, 2, 1);
    plain.create(&client).await.unwrap();
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
}

/// A cross-origin request: status and headers.
async fn cross(method: Method, url: &str, body: Option<&str>) -> (u16, HeaderMap) {
    let mut req = reqwest::Client::new()
        .request(method, url)
        .header("origin", PAGE_ORIGIN);
    if let Some(body) = body {
        req = req
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned());
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.headers().clone())
}

/// A browser's preflight for `method` with a JSON body or none.
async fn preflight(url: &str, method: &str, json: bool) -> (u16, HeaderMap) {
    let mut req = reqwest::Client::new()
        .request(Method::OPTIONS, url)
        .header("origin", PAGE_ORIGIN)
        .header("access-control-request-method", method);
    if json {
        req = req.header("access-control-request-headers", "content-type");
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.headers().clone())
}

/// Answers of the public read API: any origin, and the preflight too.
async fn assert_public_reads(base: &str) {
    for path in [
        format!("/api/v1/elections/{WITNESSED}/checkpoint"),
        format!("/api/v1/elections/{WITNESSED}/proof/consistency?from=1&to=1"),
        format!("/api/v1/elections/{WITNESSED}"),
        format!("/api/v1/elections/{WITNESSED}/entries"),
        "/api/v1/elections".to_owned(),
        "/api/v1/board".to_owned(),
    ] {
        let url = format!("{base}{path}");
        let (status, h) = cross(Method::GET, &url, None).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(
            header(&h, "access-control-allow-origin").as_deref(),
            Some("*"),
            "{url}"
        );
        assert_eq!(
            header(&h, "access-control-allow-credentials"),
            None,
            "{url}"
        );
        let (status, h) = preflight(&url, "GET", false).await;
        assert!((200..300).contains(&status), "preflight {url}: {status}");
        assert_eq!(
            header(&h, "access-control-allow-origin").as_deref(),
            Some("*"),
            "preflight {url}"
        );
        let methods = header(&h, "access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains("get"), "preflight {url}: {methods}");
        assert!(!methods.contains("post"), "preflight {url}: {methods}");
    }
    // The log size of an entries page is readable by the page.
    let (_, h) = cross(
        Method::GET,
        &format!("{base}/api/v1/elections/{WITNESSED}/entries"),
        None,
    )
    .await;
    let exposed = header(&h, "access-control-expose-headers").unwrap_or_default();
    assert!(exposed.contains("x-log-size"), "{exposed}");
    // An error of a read endpoint is readable too (a witness that does not
    // follow the election says so).
    let (status, h) = cross(
        Method::GET,
        &format!("{base}/api/v1/elections/no-such-election/checkpoint"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        header(&h, "access-control-allow-origin").as_deref(),
        Some("*")
    );
}

/// No cross-origin answer, and no preflight that lets a page through.
async fn assert_not_cross_origin(url: &str, method: Method, body: Option<&str>) {
    let (_, h) = cross(method.clone(), url, body).await;
    assert_eq!(header(&h, "access-control-allow-origin"), None, "{url}");
    let (_, h) = preflight(url, method.as_str(), body.is_some()).await;
    let allowed = header(&h, "access-control-allow-origin").is_some()
        && header(&h, "access-control-allow-methods")
            .unwrap_or_default()
            .contains(&method.as_str().to_ascii_lowercase());
    assert!(!allowed, "preflight {method} {url}: {h:?}");
}

fn csp(headers: &HeaderMap) -> String {
    header(headers, "content-security-policy").unwrap_or_default()
}

/// The pages of [`WITNESSED`] name its witnesses' origins, once each; the
/// pages of [`PLAIN`] and of an unknown election, and the bundle files,
/// only `'self'`.
async fn assert_page_policies(base: &str) {
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            let resp = http.get(&url).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200, "{url}");
            (url, csp(resp.headers()))
        }
    };
    let witnessed = format!("; connect-src 'self' {WITNESS_ORIGINS}; ");
    for path in [
        format!("/elections/{WITNESSED}"),
        format!("/elections/{WITNESSED}/vote"),
    ] {
        let (url, policy) = get(path).await;
        assert!(policy.contains(&witnessed), "{url}: {policy}");
        assert!(
            policy.starts_with("default-src 'none'; "),
            "{url}: {policy}"
        );
        assert!(
            policy.ends_with("frame-ancestors 'none'"),
            "{url}: {policy}"
        );
    }
    for path in [
        format!("/elections/{PLAIN}"),
        format!("/elections/{PLAIN}/vote"),
        "/elections/no-such-election".to_owned(),
        "/elections/NOT_AN_ID/vote".to_owned(),
        "/assets/app.js".to_owned(),
        "/assets/SHA256SUMS".to_owned(),
    ] {
        let (url, policy) = get(path).await;
        assert!(policy.contains("; connect-src 'self'; "), "{url}: {policy}");
    }
}

/// SPEC.md §10.1: the board's read API answers any origin, preflights
/// included; the admin endpoints, election creation and posts do not.
async fn board_read_api_is_cross_origin_and_admin_and_posts_are_not(
    board: &TestBoard,
    _: Option<&PgDatabase>,
) {
    create_elections(board).await;
    assert_public_reads(&board.url).await;
    let url = format!("{}/api/v1/mirrors", board.url);
    let (status, h) = cross(Method::GET, &url, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    for path in ["close-commits", "finalize-keys", "open", "close"] {
        let url = format!("{}/api/v1/elections/{WITNESSED}/{path}", board.url);
        let (status, _) = cross(Method::POST, &url, Some("{}")).await;
        assert_eq!(status, 401, "{url}");
        assert_not_cross_origin(&url, Method::POST, Some("{}")).await;
    }
    let url = format!("{}/api/v1/elections", board.url);
    assert_not_cross_origin(&url, Method::POST, Some("{}")).await;
    let url = format!("{}/api/v1/elections/{WITNESSED}/posts", board.url);
    assert_not_cross_origin(&url, Method::POST, Some("{}")).await;
    let url = format!("{}/api/v1/elections/{WITNESSED}/cosignatures", board.url);
    assert_not_cross_origin(&url, Method::POST, Some("{}")).await;
}

/// SPEC.md §13.6: the board's pages of an election may connect to its
/// witnesses.
async fn board_pages_may_connect_to_the_witnesses_of_their_election(
    board: &TestBoard,
    _: Option<&PgDatabase>,
) {
    create_elections(board).await;
    assert_page_policies(&board.url).await;
    // Twice: the second answer comes from the lookup's cache.
    assert_page_policies(&board.url).await;
}

/// Serve a mirror's API on a loopback port.
async fn serve(mirror: &Mirror) -> (String, oneshot::Sender<()>, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = mirror.app();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await;
    });
    (url, tx, task)
}

/// SPEC.md §10.9.1, §13.6: a mirror's read API answers any origin, its
/// evidence endpoint takes a cross-origin JSON post (preflight included),
/// and its pages of an election it follows may connect to the election's
/// witnesses.
async fn mirror_read_api_and_evidence_post_are_cross_origin_and_its_pages_name_the_witnesses(
    board: &TestBoard,
    db: Option<&PgDatabase>,
) {
    create_elections(board).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = MirrorConfig::new(&board.url, dir.path());
    config.database_url = db.map(|d| d.url.clone());
    config.interval = Duration::from_millis(100);
    config.limits.rate_per_sec = 0.0;
    config.web = Some(bundle());
    let mut mirror = Mirror::open(config).await.unwrap();
    let report = mirror.pass().await.unwrap();
    assert_eq!(report.alarm, None);
    let (base, stop, server) = serve(&mirror).await;

    assert_public_reads(&base).await;
    let url = format!("{base}/api/v1/elections/{WITNESSED}/equivocation");
    let (status, h) = preflight(&url, "POST", true).await;
    assert!((200..300).contains(&status), "preflight: {status}");
    assert_eq!(
        header(&h, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let methods = header(&h, "access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("post"), "{methods}");
    let headers = header(&h, "access-control-allow-headers").unwrap_or_default();
    assert!(headers.contains("content-type"), "{headers}");
    // Not evidence: refused, and the page can read why.
    let (status, h) = cross(Method::POST, &url, Some("{\"not\": \"evidence\"}")).await;
    assert_eq!(status, 400);
    assert_eq!(
        header(&h, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let (status, h) = cross(Method::GET, &url, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "access-control-allow-origin").as_deref(),
        Some("*")
    );

    assert_page_policies(&base).await;

    let _ = stop.send(());
    server.await.unwrap();
    mirror.close().await;
}
