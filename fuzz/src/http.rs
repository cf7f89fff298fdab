//! `board_http`: the board's whole HTTP app (`psephos_board::api::app`),
//! in process, with requests decoded from the fuzz input.
//!
//! The board runs once per process on a fresh SQLite data directory, with
//! a small page bundle, no rate limit and three elections made by the
//! board's testkit: `fz-open` (voting open, one ballot cast), `fz-setup`
//! (just created: the key ceremony can be driven) and `fz-done` (tallied).
//! Their trustees, credential authority and voters have fixed keys, so
//! that a seed input signed "as voter 1" means the same in every run.
//! Requests go to the router with `tower::ServiceExt::oneshot`: no socket.
//!
//! The admin token is added when the input asks for it, except on a path
//! that names one of the three fixed elections (so that the fuzzer cannot
//! close them and lose the paths behind them); elections it creates
//! itself it may drive as it likes.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use axum::body::Body as HttpBody;
use axum::http::{header, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use axum::Router;
use ed25519_dalek::SigningKey;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use psephos_board::testkit::{SimElection, TestBoard};
use psephos_board::{Board, Config};
use psephos_crypto::log::{open_checkpoint, verify_inclusion};
use psephos_crypto::record::{AuthorKey, Entry};
use psephos_crypto::wire::{ErrorBody, Receipt};
use psephos_voter::web::WebAssets;
use tower::ServiceExt as _;

use crate::{fixed_key, sign_body};

/// The fixed elections, by the input's election selector.
pub const ELECTIONS: [&str; 4] = ["fz-open", "fz-setup", "fz-done", "fz-none"];
/// Voters of each fixed election (`http/voter-<i>`); selector values past
/// them sign with keys that are not on the credential list.
pub const VOTERS: usize = 4;

/// Methods by the input's method selector (past the end: the custom field).
pub const METHODS: [&str; 9] = [
    "GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT",
];

/// Routes by the input's route selector (past the end: the raw path
/// field). `{id}` is the election, `{x}` the path field, `{bundle}` the
/// board's page bundle hash.
pub const ROUTES: [&str; 22] = [
    "/healthz",
    "/api/v1/board",
    "/api/v1/elections",
    "/api/v1/elections/{id}",
    "/api/v1/elections/{id}/entries",
    "/api/v1/elections/{id}/checkpoint",
    "/api/v1/elections/{id}/proof/inclusion",
    "/api/v1/elections/{id}/proof/consistency",
    "/api/v1/elections/{id}/posts",
    "/api/v1/elections/{id}/close-commits",
    "/api/v1/elections/{id}/finalize-keys",
    "/api/v1/elections/{id}/open",
    "/api/v1/elections/{id}/close",
    "/api/v1/elections/{id}/cosignatures",
    "/api/v1/elections/{id}/equivocation",
    "/api/v1/mirrors",
    "/api/v1/bundles/{bundle}/{x}",
    "/api/v1/bundles/{x}",
    "/elections/{id}",
    "/elections/{id}/vote",
    "/assets/{x}",
    "/{x}",
];

/// Route indices the response checks look at.
const ROUTE_ENTRIES: u8 = 4;
const ROUTE_CHECKPOINT: u8 = 5;
const ROUTE_POSTS: u8 = 8;
const ROUTE_ADMIN_FIRST: u8 = 9;
const ROUTE_ADMIN_LAST: u8 = 12;

/// What the body field is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// The bytes as they are.
    Raw,
    /// A post: `{"body":<field>,"signature":<by the signer>}`.
    Signed,
    /// A fresh ballot of the signer (a voter) for `fz-open`: the field's
    /// first three bytes pick the values, the next two a byte of the body
    /// text and the next one what to XOR it with (0: none) before signing.
    Ballot,
}

/// One request, decoded from the fuzz input by [`HttpInput::from_bytes`]
/// (which is also its [`Arbitrary`] implementation); [`HttpInput::to_bytes`]
/// writes it back, for seeds.
///
/// The byte layout, kept simple so that seeds can be written and
/// libFuzzer's mutations stay meaningful:
///
/// ```text
/// [method] [route] [election] [flags] [signer]  field 0xFF field 0xFF field 0xFF field 0xFF body
/// ```
///
/// `flags`: bit 0 the admin token, bits 4–7 the [`BodyKind`]. The fields:
/// a custom method or election id (when a selector is past its list), the
/// raw path or the route's `{x}`, the query, the headers (`name: value`
/// lines), and the body (the rest of the input, 0xFF bytes included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpInput {
    pub method: u8,
    pub route: u8,
    pub election: u8,
    pub admin: bool,
    pub body_kind: BodyKind,
    pub signer: u8,
    pub custom: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpInput {
    /// Decode any bytes (short inputs read as zeros).
    pub fn from_bytes(data: &[u8]) -> HttpInput {
        let head = |i: usize| data.get(i).copied().unwrap_or(0);
        let rest = data.get(5..).unwrap_or_default();
        let mut fields = rest.splitn(5, |b| *b == 0xFF);
        let mut field = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
        let custom = field();
        let path = field();
        let query = field();
        let headers = field()
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim_start().to_owned()))
            .collect();
        let body = rest
            .splitn(5, |b| *b == 0xFF)
            .nth(4)
            .unwrap_or_default()
            .to_vec();
        HttpInput {
            method: head(0),
            route: head(1),
            election: head(2),
            admin: head(3) & 1 == 1,
            body_kind: match head(3) >> 4 {
                1 => BodyKind::Signed,
                2 => BodyKind::Ballot,
                _ => BodyKind::Raw,
            },
            signer: head(4),
            custom,
            path,
            query,
            headers,
            body,
        }
    }

    /// The bytes [`HttpInput::from_bytes`] reads back as this input
    /// (string fields must not contain 0xFF, which UTF-8 never does, and
    /// header lines no `\n`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let kind = match self.body_kind {
            BodyKind::Raw => 0u8,
            BodyKind::Signed => 1,
            BodyKind::Ballot => 2,
        };
        let mut out = vec![
            self.method,
            self.route,
            self.election,
            u8::from(self.admin) | (kind << 4),
            self.signer,
        ];
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        for f in [&self.custom, &self.path, &self.query, &headers.join("\n")] {
            out.extend_from_slice(f.as_bytes());
            out.push(0xFF);
        }
        out.extend_from_slice(&self.body);
        out
    }

    /// A GET of `route` for `election` with nothing else.
    pub fn get(route: u8, election: u8) -> HttpInput {
        HttpInput {
            method: 0,
            route,
            election,
            admin: false,
            body_kind: BodyKind::Raw,
            signer: 0,
            custom: String::new(),
            path: String::new(),
            query: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

impl<'a> Arbitrary<'a> for HttpInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = u.arbitrary_len::<u8>()?;
        Ok(HttpInput::from_bytes(u.bytes(len)?))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(HttpInput::from_bytes(u.take_rest()))
    }
}

/// The board and its elections, set up once per process.
pub struct Fixture {
    rt: tokio::runtime::Runtime,
    app: Router,
    /// The running board.
    pub board: Arc<Board>,
    admin_token: String,
    /// The elections, as [`ELECTIONS`] names them (the last does not exist).
    pub sims: Vec<SimElection>,
    _test_board: TestBoard,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture").finish_non_exhaustive()
    }
}

/// Signers by the input's signer selector: the voters, two keys not on
/// any list, the trustees, the credential authority, the board.
fn signer_key(fx: &Fixture, selector: u8) -> SigningKey {
    match usize::from(selector) % (VOTERS + 2 + 3 + 2) {
        v if v < VOTERS + 2 => fixed_key(&format!("http/voter-{v}")),
        t if t < VOTERS + 5 => fixed_key(&format!("http/trustee-{}", t - VOTERS - 1)),
        a if a == VOTERS + 5 => fixed_key("http/authority"),
        _ => fx.board.key.clone(),
    }
}

/// An election of the testkit with this crate's fixed keys.
pub(crate) fn sim(id: &str) -> SimElection {
    let mut e = SimElection::new(id, 3, 2, 3, VOTERS);
    for (tr, info) in e.trustees.iter_mut().zip(e.manifest.trustees.iter_mut()) {
        tr.key = fixed_key(&format!("http/trustee-{}", tr.index));
        info.key = AuthorKey::of(&tr.key);
    }
    e.authority = fixed_key("http/authority");
    e.manifest.credential_authority = AuthorKey::of(&e.authority);
    e.voters = (0..VOTERS)
        .map(|v| fixed_key(&format!("http/voter-{v}")))
        .collect();
    e
}

fn setup() -> anyhow::Result<Fixture> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::Builder::new()
        .prefix("psephos-fuzz-board-")
        .tempdir()?;
    let mut config = Config::new(dir.path());
    config.limits.rate_per_sec = 0.0;
    config.limits.request_timeout = Duration::from_secs(10);
    let files: BTreeMap<String, Vec<u8>> = [
        ("election.html", "<!doctype html><title>election</title>"),
        ("vote.html", "<!doctype html><title>vote</title>"),
        ("app.js", "console.log('fuzz');"),
        ("style.css", "body{}"),
    ]
    .into_iter()
    .map(|(n, c)| (n.to_owned(), c.as_bytes().to_vec()))
    .collect();
    config.web = Some(WebAssets::from_files(files)?);
    let (test_board, sims) = rt.block_on(async {
        let tb = TestBoard::start(config).await?;
        let client = tb.client();
        let mut open = sim(ELECTIONS[0]);
        open.setup_and_open(&client).await?;
        open.cast(&client, 0, &[vec![1, 0, 0]]).await?;
        let mut created = sim(ELECTIONS[1]);
        created.create(&client).await?;
        let mut done = sim(ELECTIONS[2]);
        done.setup_and_open(&client).await?;
        done.cast(&client, 0, &[vec![0, 1, 0]]).await?;
        done.close_and_tally(&client, &[1, 2]).await?;
        anyhow::Ok((tb, vec![open, created, done]))
    })?;
    let board = test_board.board.clone();
    Ok(Fixture {
        app: psephos_board::api::app(board.clone()),
        admin_token: test_board.admin_token.clone(),
        board,
        rt,
        sims,
        _test_board: test_board,
        _dir: dir,
    })
}

impl Fixture {
    /// `GET path` through the app: the body of a 200 answer.
    pub fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let request = Request::get(path).body(HttpBody::empty())?;
        let app = self.app.clone();
        self.rt.block_on(async move {
            let response = app.oneshot(request).await?;
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
            anyhow::ensure!(status == StatusCode::OK, "GET {path}: {status}");
            Ok(String::from_utf8(bytes.to_vec())?)
        })
    }
}

/// The fixture of this process.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| match setup() {
        Ok(f) => f,
        Err(e) => panic!("the board fixture could not be set up: {e:#}"),
    })
}

/// What must be percent-encoded in a path or query built from fuzz text
/// (everything else, `/`, `?`, `&`, `=` and `%` included, is left for the
/// router to make sense of).
const URI_UNSAFE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'[')
    .add(b']');

fn election_id(input: &HttpInput) -> String {
    match ELECTIONS.get(usize::from(input.election)) {
        Some(id) => (*id).to_owned(),
        None => input.custom.clone(),
    }
}

/// The body to send.
fn request_body(fx: &Fixture, input: &HttpInput) -> Vec<u8> {
    match input.body_kind {
        BodyKind::Raw => input.body.clone(),
        BodyKind::Signed => {
            let text = String::from_utf8_lossy(&input.body);
            let signature = sign_body(&signer_key(fx, input.signer), &text);
            format!(
                "{{\"body\":{text},\"signature\":\"{}\"}}",
                hex::encode(signature.0)
            )
            .into_bytes()
        }
        BodyKind::Ballot => {
            let b = |i: usize| input.body.get(i).copied().unwrap_or(0);
            let open = &fx.sims[0];
            let contest = &open.manifest.contests[0];
            let mut values: Vec<u64> = (0..contest.options.len())
                .map(|i| u64::from(b(i)) % (contest.max_per_option + 1))
                .collect();
            if contest.check_choice(&values).is_err() {
                values = vec![0; contest.options.len()];
                values[usize::from(b(0)) % contest.options.len()] = 1;
            }
            let key = signer_key(fx, input.signer);
            let Ok(post) = open.ballot_with(&key, &[values]) else {
                return input.body.clone();
            };
            let mut text = post.body_text().as_bytes().to_vec();
            let at = usize::from(u16::from_le_bytes([b(3), b(4)])) % text.len().max(1);
            if let Some(byte) = text.get_mut(at) {
                *byte ^= b(5);
            }
            let text = String::from_utf8_lossy(&text);
            let signature = sign_body(&key, &text);
            format!(
                "{{\"body\":{text},\"signature\":\"{}\"}}",
                hex::encode(signature.0)
            )
            .into_bytes()
        }
    }
}

/// `board_http`: one request, decoded from the input ([`HttpInput`]), to
/// the board's router, in process.
///
/// * Nothing panics and the request completes (within 30 s).
/// * The status is never 5xx, except 503.
/// * Every 4xx/5xx answer (but to HEAD, which has no body) is JSON
///   `{"error": <code>, "message": <sentence>}` (SPEC.md §10.1,
///   `wire::ErrorBody`), both non-empty.
/// * 2xx answers are checked where that is cheap: a fixed election's
///   checkpoint opens under the board key for `<origin>/<id>`; its entry
///   lines are canonical and consecutive; the receipt of a post (or of an
///   admin action) has a checkpoint signed by the board for that election
///   in which the entry is included.
pub fn board_http(data: &[u8]) {
    let input = HttpInput::from_bytes(data);
    let fx = fixture();
    let Some(request) = build_request(fx, &input) else {
        return;
    };
    let method = request.method().clone();
    let uri = request.uri().clone();
    let app = fx.app.clone();
    let (status, headers, bytes) = fx.rt.block_on(async move {
        let response = tokio::time::timeout(Duration::from_secs(30), app.oneshot(request))
            .await
            .expect("the request did not complete in 30 s")
            .unwrap_or_else(|never| match never {});
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the response body could not be read");
        (status, headers, bytes)
    });
    let shown = || {
        String::from_utf8_lossy(&bytes)
            .chars()
            .take(500)
            .collect::<String>()
    };
    if std::env::var_os("PSEPHOS_FUZZ_DEBUG").is_some() {
        eprintln!(
            "{method} {uri} -> {status} {}",
            shown().chars().take(160).collect::<String>()
        );
    }
    assert!(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "{method} answered {status}: {}",
        shown()
    );
    if (status.is_client_error() || status.is_server_error()) && method != Method::HEAD {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "{status} with content type {content_type:?}: {}",
            shown()
        );
        let error: ErrorBody = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{status} body is not an ErrorBody ({e}): {}", shown()));
        assert!(!error.error.is_empty() && !error.message.is_empty());
    }
    if status.is_success() && input.election < 3 {
        let id = ELECTIONS[usize::from(input.election)];
        check_success(fx, &input, id, &method, &bytes);
    }
}

/// The checks of a 2xx answer on a fixed election's route.
fn check_success(fx: &Fixture, input: &HttpInput, id: &str, method: &Method, bytes: &[u8]) {
    let verifier = fx.board.note_verifier();
    let origin = fx.board.origin_of(id);
    match (input.route, method.as_str()) {
        (ROUTE_CHECKPOINT, "GET") => {
            let note = std::str::from_utf8(bytes).expect("a checkpoint is text");
            let (cp, _) = open_checkpoint(note, &verifier).expect("the board's checkpoint opens");
            assert_eq!(cp.origin, origin);
        }
        (ROUTE_ENTRIES, "GET") => {
            let text = std::str::from_utf8(bytes).expect("entries are text");
            let mut next = None;
            for line in text.lines() {
                let entry = Entry::from_line(line).expect("the board's entry lines are canonical");
                if let Some(n) = next {
                    assert_eq!(entry.index, n, "entries out of order");
                }
                next = Some(entry.index + 1);
            }
        }
        (ROUTE_POSTS | ROUTE_ADMIN_FIRST..=ROUTE_ADMIN_LAST, "POST") => {
            let receipt: Receipt =
                serde_json::from_slice(bytes).expect("a post's 200 is a receipt");
            let (cp, _) = open_checkpoint(&receipt.checkpoint, &verifier)
                .expect("the receipt's checkpoint opens");
            assert_eq!(cp.origin, origin);
            assert_eq!(cp.size, receipt.size);
            let hash = |h: &str| {
                psephos_crypto::encoding::decode_hex32("hash", h).expect("a receipt hash is hex")
            };
            let proof: Vec<[u8; 32]> = receipt.inclusion_proof.iter().map(|h| hash(h)).collect();
            verify_inclusion(
                &hash(&receipt.leaf_hash),
                receipt.index,
                receipt.size,
                &proof,
                &cp.root,
            )
            .expect("the receipt's entry is in its checkpoint");
        }
        _ => {}
    }
}

fn build_request(fx: &Fixture, input: &HttpInput) -> Option<Request<HttpBody>> {
    let method = match METHODS.get(usize::from(input.method)) {
        Some(m) => Method::from_bytes(m.as_bytes()).ok()?,
        None => Method::from_bytes(input.custom.as_bytes()).ok()?,
    };
    let id = election_id(input);
    let bundle = fx
        .board
        .web
        .as_ref()
        .map(|w| hex::encode(w.bundle_sha256()))
        .unwrap_or_default();
    let path = match ROUTES.get(usize::from(input.route)) {
        Some(template) => template
            .replace("{id}", &id)
            .replace("{bundle}", &bundle)
            .replace("{x}", &input.path),
        None if input.path.starts_with('/') => input.path.clone(),
        None => format!("/{}", input.path),
    };
    let mut uri = utf8_percent_encode(&path, URI_UNSAFE).to_string();
    if !input.query.is_empty() {
        uri.push('?');
        uri.extend(utf8_percent_encode(&input.query, URI_UNSAFE));
    }
    let uri: Uri = uri.parse().ok()?;
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in &input.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        let value = HeaderValue::from_str(value).ok()?;
        request = request.header(name, value);
    }
    let decoded = percent_decode_str(&path).decode_utf8_lossy();
    if input.admin && !ELECTIONS[..3].iter().any(|e| decoded.contains(e)) {
        request = request.header(header::AUTHORIZATION, format!("Bearer {}", fx.admin_token));
    }
    request.body(HttpBody::from(request_body(fx, input))).ok()
}
