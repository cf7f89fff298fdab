//! The HTTP API (SPEC.md §10.1 endpoints): `app(board) -> Router`, one
//! `router()` per resource, and the hardening layers (body limit, timeout,
//! per-client rate limit, tracing). The public read endpoints answer
//! cross-origin requests ([`public_cors`]); the admin endpoints and posts
//! do not.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use psephos_crypto::record::Post;
use psephos_crypto::wire;
use serde::Deserialize;
use tokio::sync::{oneshot, RwLock};
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::appender::{AdminAction, Job, Receipt};
use crate::board::Board;
use crate::election::{validate_manifest, Election};
use crate::error::{BoardError, Result};
use crate::store::Store;
use crate::verifier::{record_error, Pending};

type AppState = Arc<Board>;

/// What the read endpoints need: the database, and an election's state
/// brought up to the committed head. The board and its mirrors (SPEC.md
/// §10.9) both implement it, so a mirror serves exactly the board's read API.
pub trait ReadLog: Send + Sync + 'static {
    /// The database holding the log.
    fn store(&self) -> &Store;
    /// The election's state, up to the committed head.
    fn fresh(&self, id: &str) -> impl Future<Output = Result<Arc<RwLock<Election>>>> + Send;
    /// Most bytes in a page of entries (SPEC.md §10.1).
    fn max_page_bytes(&self) -> usize {
        MAX_PAGE_BYTES
    }
}

impl ReadLog for Board {
    fn store(&self) -> &Store {
        &self.store
    }

    fn fresh(&self, id: &str) -> impl Future<Output = Result<Arc<RwLock<Election>>>> + Send {
        Board::fresh(self, id)
    }

    fn max_page_bytes(&self) -> usize {
        self.limits.max_page_bytes
    }
}

/// Cross-origin access to public data (SPEC.md §10.1, §10.9.1): `GET`
/// (and `HEAD`) from any origin, without credentials, `X-Log-Size`
/// readable; preflights answered. Only the read endpoints get it: a page
/// posts ballots to its own server, and admin requests come from no page.
pub fn public_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD])
        .expose_headers([HeaderName::from_static("x-log-size")])
        .max_age(Duration::from_secs(3600))
}

/// The whole API with its layers.
pub fn app(board: Arc<Board>) -> Router {
    let limits = board.limits.clone();
    let connect = crate::pages::witness_origins(board.store.clone());
    let public = Router::new()
        .route("/api/v1/board", get(board_info))
        .merge(read_router::<Board>())
        .merge(crate::bundle::router::<Board>())
        .layer(public_cors());
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        // Before `public`: `/api/v1/elections` is in both, and the merged
        // route answers other methods (a preflight) as the later one does.
        .merge(elections_router())
        .merge(public)
        .merge(crate::mirror::board_router())
        .merge(posts_router())
        .merge(admin_router())
        .merge(crate::pages::router(board.web.as_ref(), Some(connect)))
        .fallback(|| async {
            BoardError::not_found("not_found", "no such endpoint").into_response()
        })
        .layer(middleware::from_fn_with_state(board.clone(), rate_limit))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(middleware::from_fn(crate::error::json_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(board)
}

fn elections_router() -> Router<AppState> {
    Router::new().route("/api/v1/elections", post(create_election))
}

/// The read-only endpoints (SPEC.md §10.1): elections, entries, checkpoint,
/// proofs. A board and a mirror serve the same ones (each with
/// [`public_cors`]).
pub fn read_router<S: ReadLog>() -> Router<Arc<S>> {
    Router::new()
        .route("/api/v1/elections", get(list_elections::<S>))
        .route("/api/v1/elections/{id}", get(election_status::<S>))
        .route("/api/v1/elections/{id}/entries", get(entries::<S>))
        .route("/api/v1/elections/{id}/checkpoint", get(checkpoint::<S>))
        .route(
            "/api/v1/elections/{id}/proof/inclusion",
            get(inclusion_proof::<S>),
        )
        .route(
            "/api/v1/elections/{id}/proof/consistency",
            get(consistency_proof::<S>),
        )
}

fn posts_router() -> Router<AppState> {
    Router::new().route("/api/v1/elections/{id}/posts", post(submit_post))
}

fn admin_router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/elections/{id}/close-commits", post(close_commits))
        .route("/api/v1/elections/{id}/finalize-keys", post(finalize_keys))
        .route("/api/v1/elections/{id}/open", post(open_voting))
        .route("/api/v1/elections/{id}/close", post(close_voting))
}

/// An election id: `[a-z0-9-]{1,64}` (SPEC.md §10.1).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub(crate) fn check_id(id: &str) -> Result<()> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(BoardError::bad_request(
            "invalid_id",
            "an election id is 1 to 64 characters from a-z, 0-9 and '-'",
        ))
    }
}

fn require_admin(board: &Board, headers: &HeaderMap) -> Result<()> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token {
        Some(t) if board.is_admin(t.trim()) => Ok(()),
        _ => Err(BoardError::unauthorized(
            "unauthorized",
            "this endpoint needs the administrator's bearer token",
        )),
    }
}

fn parse_json<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        BoardError::bad_request("malformed_json", format!("the {what} is not valid: {e}"))
    })
}

async fn board_info(State(board): State<AppState>) -> Json<wire::BoardInfo> {
    Json(wire::BoardInfo {
        origin: board.origin.clone(),
        key: board.note_verifier().to_vkey(),
        public_key: hex::encode(board.key.verifying_key().to_bytes()),
        mirror: None,
    })
}

async fn list_elections<S: ReadLog>(
    State(board): State<Arc<S>>,
) -> Result<Json<Vec<wire::ElectionSummary>>> {
    let rows = board.store().list_elections().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| wire::ElectionSummary {
                id: r.id,
                title: r.title,
                state: r.state,
                size: r.size,
            })
            .collect(),
    ))
}

async fn create_election(
    State(board): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    require_admin(&board, &headers)?;
    let req: wire::CreateElection = parse_json(&body, "election request")?;
    check_id(&req.id)?;
    validate_manifest(&req.id, &req.manifest)?;
    let (reply, rx) = oneshot::channel();
    send_job(
        &board,
        Job::Create {
            id: req.id.clone(),
            manifest: Box::new(req.manifest),
            reply,
        },
    )
    .await?;
    let receipt = wait(rx).await?;
    Ok((
        StatusCode::CREATED,
        Json(wire::Created {
            election: req.id,
            index: receipt.index,
            receipt,
        }),
    )
        .into_response())
}

async fn election_status<S: ReadLog>(
    State(board): State<Arc<S>>,
    Path(id): Path<String>,
) -> Result<Json<wire::ElectionStatus>> {
    check_id(&id)?;
    let arc = board.fresh(&id).await?;
    let checkpoint = board
        .store()
        .latest_checkpoint(&id)
        .await?
        .map(|(_, n)| n)
        .unwrap_or_default();
    let el = arc.read().await;
    el.check_committed()?;
    Ok(Json(el.status(checkpoint)))
}

fn query_u64(q: &HashMap<String, String>, name: &str) -> Result<Option<u64>> {
    q.get(name)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                BoardError::bad_request(
                    "invalid_query",
                    format!("{name} must be a non-negative integer"),
                )
            })
        })
        .transpose()
}

/// Entries per page at most (SPEC.md §10.1).
pub const MAX_PAGE: u64 = 10_000;

/// Bytes per page at most by default, newlines included (SPEC.md §10.1;
/// `serve --max-page-bytes`): a page ends before the entry that would take
/// it past this, but always holds at least one entry, however large. 40 readers of full pages then cost the
/// board tens of megabytes, not gigabytes (BENCHMARKS.md).
pub const MAX_PAGE_BYTES: usize = 4 << 20;

/// Entries read from the database at a time while a page streams: a page
/// is never built whole, and a slow reader holds one chunk and no
/// database connection while its socket drains.
pub const READ_CHUNK: u64 = 64;

async fn entries<S: ReadLog>(
    State(board): State<Arc<S>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response> {
    check_id(&id)?;
    let head = board
        .store()
        .head(&id)
        .await?
        .ok_or_else(|| BoardError::no_election(&id))?;
    let start = query_u64(&q, "start")?.unwrap_or(0);
    let end = query_u64(&q, "end")?.unwrap_or(head.size).min(head.size);
    if start > end {
        return Err(BoardError::bad_request(
            "invalid_range",
            format!(
                "start {start} is after end {end} (the log has {} entries)",
                head.size
            ),
        ));
    }
    let end = end.min(start.saturating_add(MAX_PAGE));
    // The first chunk is read before the status line goes out, so that a
    // database that fails at once gets a JSON error, not a cut body.
    let mut page = PageStream {
        store: board.store().clone(),
        id,
        next: start,
        end,
        max_bytes: board.max_page_bytes().max(1),
        bytes: 0,
        ready: None,
    };
    page.ready = Some(page.read().await?);
    let body = axum::body::Body::from_stream(futures_util::stream::unfold(page, PageStream::chunk));
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl"),
    );
    if let Ok(v) = HeaderValue::from_str(&head.size.to_string()) {
        h.insert("x-log-size", v);
    }
    Ok(resp)
}

/// A page of entry lines `[next, end)` being streamed, [`READ_CHUNK`]
/// entries per database read, until the byte cap (SPEC.md §10.1).
/// The lines below `end` are committed and never change (the log only
/// grows), so reading them in several queries gives one consistent page.
struct PageStream {
    store: Store,
    id: String,
    next: u64,
    end: u64,
    /// The byte cap.
    max_bytes: usize,
    /// Bytes sent so far.
    bytes: usize,
    /// Lines read and not yet sent.
    ready: Option<Vec<String>>,
}

impl PageStream {
    async fn read(&self) -> Result<Vec<String>> {
        let to = self.end.min(self.next.saturating_add(READ_CHUNK));
        if self.next >= to {
            return Ok(Vec::new());
        }
        self.store.lines(&self.id, self.next, to).await
    }

    /// The next piece of the body, or `None` at the end of the page. A
    /// database error after the status line cuts the body: the client sees
    /// a truncated chunked response, never a short page that looks whole.
    async fn chunk(mut self) -> Option<(std::io::Result<Bytes>, Self)> {
        let lines = match self.ready.take() {
            Some(lines) => lines,
            None => match self.read().await {
                Ok(lines) => lines,
                Err(e) => {
                    tracing::error!(election = %self.id, error = %e, "reading a page of entries");
                    self.end = self.next;
                    return Some((Err(std::io::Error::other(e.to_string())), self));
                }
            },
        };
        let mut out = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in &lines {
            if self.bytes > 0 && self.bytes + line.len() + 1 > self.max_bytes {
                self.end = self.next;
                break;
            }
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
            self.bytes += line.len() + 1;
            self.next += 1;
        }
        if out.is_empty() {
            // Past the end, or the database holds fewer lines than the
            // head promised (which the board never writes): the page ends.
            return None;
        }
        Some((Ok(Bytes::from(out)), self))
    }
}

async fn checkpoint<S: ReadLog>(
    State(board): State<Arc<S>>,
    Path(id): Path<String>,
) -> Result<Response> {
    check_id(&id)?;
    let (_, note) = board
        .store()
        .latest_checkpoint(&id)
        .await?
        .ok_or_else(|| BoardError::no_election(&id))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

async fn inclusion_proof<S: ReadLog>(
    State(board): State<Arc<S>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<wire::InclusionProof>> {
    check_id(&id)?;
    let arc = board.fresh(&id).await?;
    let index = match (query_u64(&q, "index")?, q.get("leaf")) {
        (Some(i), None) => i,
        (None, Some(leaf)) => {
            let leaf = leaf.to_ascii_lowercase();
            board
                .store()
                .index_of_leaf(&id, &leaf)
                .await?
                .ok_or_else(|| {
                    BoardError::not_found("entry_not_found", "no entry has this leaf hash")
                })?
        }
        _ => {
            return Err(BoardError::bad_request(
                "invalid_query",
                "give exactly one of index or leaf",
            ))
        }
    };
    let el = arc.read().await;
    el.check_committed()?;
    let size = query_u64(&q, "size")?.unwrap_or(el.size);
    if size > el.size {
        return Err(BoardError::bad_request(
            "invalid_size",
            format!("the log has {} entries, not {size}", el.size),
        ));
    }
    let proof = el
        .tree
        .inclusion_proof(index, size)
        .map_err(|e| BoardError::bad_request("invalid_index", e.to_string()))?;
    let leaf = el
        .tree
        .leaf(index)
        .ok_or_else(|| BoardError::bad_request("invalid_index", "no such entry"))?;
    Ok(Json(wire::InclusionProof {
        index,
        size,
        leaf_hash: hex::encode(leaf),
        proof: proof.iter().map(hex::encode).collect(),
    }))
}

async fn consistency_proof<S: ReadLog>(
    State(board): State<Arc<S>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<wire::ConsistencyProof>> {
    check_id(&id)?;
    let arc = board.fresh(&id).await?;
    let (Some(from), Some(to)) = (query_u64(&q, "from")?, query_u64(&q, "to")?) else {
        return Err(BoardError::bad_request(
            "invalid_query",
            "give both from and to",
        ));
    };
    let el = arc.read().await;
    el.check_committed()?;
    let proof = el
        .tree
        .consistency_proof(from, to)
        .map_err(|e| BoardError::bad_request("invalid_size", e.to_string()))?;
    Ok(Json(wire::ConsistencyProof {
        from,
        to,
        proof: proof.iter().map(hex::encode).collect(),
    }))
}

/// The fields of a body the router needs before the expensive parse.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow)]
    election: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
}

async fn submit_post(
    State(board): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    check_id(&id)?;
    let post: Post = serde_json::from_slice(&body).map_err(|e| {
        BoardError::bad_request(
            "malformed_post",
            format!("a post is {{\"body\": {{…}}, \"signature\": \"<hex>\"}}: {e}"),
        )
    })?;
    let peek: Peek<'_> = serde_json::from_str(post.body_text()).map_err(|e| {
        BoardError::bad_request(
            "malformed_body",
            format!("the body needs \"election\" and \"type\": {e}"),
        )
    })?;
    if peek.election != id {
        return Err(BoardError::bad_request(
            "wrong_election",
            format!(
                "the body names election {:?}, the URL {id:?}",
                peek.election
            ),
        ));
    }
    let receipt = if peek.kind == "ballot" {
        if post.body_text().len() > board.limits.max_ballot_bytes {
            return Err(BoardError::too_large(
                "ballot_too_large",
                format!(
                    "a ballot body may have at most {} bytes",
                    board.limits.max_ballot_bytes
                ),
            ));
        }
        submit_ballot(&board, id, post).await?
    } else {
        drop(peek);
        let opened = tokio::task::spawn_blocking(move || {
            let body = post.open();
            (post, body)
        })
        .await
        .map_err(|e| BoardError::Internal(e.to_string()))?;
        let (post, body) = opened;
        let body = body.map_err(record_error)?;
        let (reply, rx) = oneshot::channel();
        send_job(
            &board,
            Job::Post {
                election: id,
                post,
                body: Box::new(body),
                trust: crate::election::Trust::Nothing,
                reply,
            },
        )
        .await?;
        wait(rx).await?
    };
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

async fn submit_ballot(board: &Arc<Board>, id: String, post: Post) -> Result<Receipt> {
    let Some(params) = board.ballot_params(&id).await? else {
        let arc = board.election(&id).await?;
        let phase = arc.read().await.phase();
        return Err(BoardError::conflict(
            "election_not_open",
            format!(
                "ballots are accepted only while voting is open; the election is {}",
                phase.as_str()
            ),
        ));
    };
    let (reply, rx) = oneshot::channel();
    board
        .verifier
        .send(Pending {
            election: id,
            post,
            params,
            reply,
        })
        .await
        .map_err(|_| BoardError::Unavailable("the verification stage has stopped".into()))?;
    wait(rx).await
}

async fn send_job(board: &Board, job: Job) -> Result<()> {
    board
        .appender
        .send(job)
        .await
        .map_err(|_| BoardError::Unavailable("the appender has stopped".into()))
}

async fn wait(rx: oneshot::Receiver<Result<Receipt>>) -> Result<Receipt> {
    rx.await
        .map_err(|_| BoardError::Unavailable("the append was abandoned".into()))?
}

async fn admin_action(board: &Arc<Board>, id: String, action: AdminAction) -> Result<Response> {
    check_id(&id)?;
    board.fresh(&id).await?;
    let (reply, rx) = oneshot::channel();
    send_job(
        board,
        Job::Admin {
            election: id,
            action,
            reply: Some(reply),
        },
    )
    .await?;
    let receipt = wait(rx).await?;
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

async fn close_commits(
    State(board): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    require_admin(&board, &headers)?;
    admin_action(&board, id, AdminAction::CloseCommits).await
}

async fn finalize_keys(
    State(board): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    require_admin(&board, &headers)?;
    admin_action(&board, id, AdminAction::FinalizeKeys).await
}

/// The bundle hash `voting_opened` names (SPEC.md §10.1, §13.6): the one
/// asked for, else the bundle this board serves. A hash other than the
/// served bundle's is refused: every voter's page would show a mismatch.
fn bundle_to_name(board: &Board, asked: Option<&str>) -> Result<[u8; 32]> {
    let served = board.web.as_ref().map(|w| w.bundle_sha256());
    let asked = asked
        .map(|h| {
            psephos_crypto::encoding::decode_hex32("bundle_sha256", h)
                .map_err(|e| BoardError::bad_request("malformed_json", e.to_string()))
        })
        .transpose()?;
    match (asked, served) {
        (Some(a), Some(s)) if a != s => Err(BoardError::conflict(
            "bundle_mismatch",
            format!(
                "this board serves the voting page bundle {}, not {}: voters' pages would not match the record",
                hex::encode(s),
                hex::encode(a)
            ),
        )),
        (Some(a), _) => Ok(a),
        (None, Some(s)) => Ok(s),
        (None, None) => Err(BoardError::bad_request(
            "missing_bundle",
            "this board serves no voting page, so name its bundle: {\"bundle_sha256\": \"<64 hex>\"} (voter-client/build-web.sh prints it)",
        )),
    }
}

async fn open_voting(
    State(board): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    require_admin(&board, &headers)?;
    let req: wire::OpenVoting = if body.iter().all(u8::is_ascii_whitespace) {
        wire::OpenVoting::default()
    } else {
        parse_json(&body, "open request")?
    };
    let bundle = bundle_to_name(&board, req.bundle_sha256.as_deref())?;
    admin_action(&board, id, AdminAction::Open(bundle)).await
}

async fn close_voting(
    State(board): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    require_admin(&board, &headers)?;
    admin_action(&board, id, AdminAction::Close).await
}

/// A per-client token bucket (SPEC.md §10.7): `rate` requests per second
/// sustained, `burst` at once. Keyed by the peer address.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate == 0` disables the limit.
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take a token for `ip`; `false` if the bucket is empty.
    pub fn allow(&self, ip: IpAddr) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        if buckets.len() > 100_000 {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn rate_limit(State(board): State<AppState>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = ip {
        if !board.rate.allow(ip) {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                Json(psephos_crypto::wire::ErrorBody {
                    error: "rate_limited".into(),
                    message: "too many requests from this address; slow down".into(),
                }),
            )
                .into_response();
        }
    }
    next.run(req).await
}
