//! HTTP for mirrors (SPEC.md §10.9.1, §10.9.3).
//!
//! * [`app`]: the mirror's server — the board's read endpoints
//!   ([`crate::api::read_router`] over [`MirrorReader`]), its identity at
//!   `GET /api/v1/board`, and its evidence at
//!   `GET /api/v1/elections/{id}/equivocation`. Nothing is writable but
//!   the evidence it takes (`POST …/equivocation`). Every endpoint under
//!   `/api/v1` answers cross-origin requests, so that an election's pages
//!   on the board or another mirror can check a witness (SPEC.md §10.9.1).
//! * [`board_router`]: what a board adds for its mirrors —
//!   `POST /api/v1/elections/{id}/cosignatures` and `GET /api/v1/mirrors`
//!   (the latter cross-origin).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use psephos_crypto::log::checkpoint::{
    open_checkpoint, verify_cosignatures, CosignatureVerifier, MAX_NOTE_BYTES, MAX_SIGNATURES,
};
use psephos_crypto::log::evidence::Evidence;
use psephos_crypto::wire;
use serde_json::{json, Value};
use tokio::sync::RwLock;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use psephos_voter::web::WebAssets;

use super::store as mstore;
use crate::api::{check_id, public_cors, read_router, RateLimiter, ReadLog};
use crate::board::{catch_up, replay_from, Board, Limits};
use crate::bundle::BundleSource;
use crate::election::Election;
use crate::error::{BoardError, Result};
use crate::store::Store;

/// Who a mirror is and whom it follows (`GET /api/v1/board` on a mirror).
#[derive(Debug, Clone)]
pub struct MirrorInfo {
    /// The board's origin.
    pub board_origin: String,
    /// The board's vkey.
    pub board_vkey: String,
    /// The board's Ed25519 key, hex.
    pub board_public_key: String,
    /// The mirror's key name.
    pub name: String,
    /// The mirror's cosignature vkey.
    pub vkey: String,
    /// The upstream URL.
    pub upstream: String,
}

/// The mirror's read side: its database and a cache of election states
/// rebuilt from it, caught up with what the follower commits (as a second
/// board process would be, SPEC.md §10.8).
#[derive(Debug)]
pub struct MirrorReader {
    store: Store,
    info: MirrorInfo,
    limits: Limits,
    rate: RateLimiter,
    cache: Mutex<HashMap<String, Arc<RwLock<Election>>>>,
    loading: tokio::sync::Mutex<()>,
    /// Page bundles read back from the store, by hash.
    bundles: Mutex<HashMap<[u8; 32], Arc<WebAssets>>>,
}

impl MirrorReader {
    /// A read side over `store`.
    pub fn new(store: Store, info: MirrorInfo, limits: Limits) -> Self {
        MirrorReader {
            store,
            info,
            rate: RateLimiter::new(limits.rate_per_sec, limits.rate_burst),
            limits,
            cache: Mutex::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
            bundles: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, id: &str) -> Option<Arc<RwLock<Election>>> {
        self.cache.lock().ok().and_then(|c| c.get(id).cloned())
    }

    async fn election(&self, id: &str) -> Result<Arc<RwLock<Election>>> {
        if let Some(e) = self.cached(id) {
            return Ok(e);
        }
        let _guard = self.loading.lock().await;
        if let Some(e) = self.cached(id) {
            return Ok(e);
        }
        let arc = Arc::new(RwLock::new(replay_from(&self.store, id).await?));
        if let Ok(mut c) = self.cache.lock() {
            c.insert(id.to_owned(), arc.clone());
        }
        Ok(arc)
    }

    async fn fresh_election(&self, id: &str) -> Result<Arc<RwLock<Election>>> {
        let arc = self.election(id).await?;
        let db = self
            .store
            .head(id)
            .await?
            .ok_or_else(|| BoardError::no_election(id))?;
        if arc.read().await.size < db.size {
            let mut el = arc.write().await;
            if el.size < db.size {
                let rows = self.store.page(id, el.size, db.size, None).await?;
                let rows: Vec<(String, String)> =
                    rows.into_iter().map(|(_, k, l)| (k, l)).collect();
                catch_up(&mut el, &rows)?;
            }
        }
        Ok(arc)
    }
}

impl ReadLog for MirrorReader {
    fn store(&self) -> &Store {
        &self.store
    }

    fn fresh(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Arc<RwLock<Election>>>> + Send {
        self.fresh_election(id)
    }
}

/// The bundles the follower fetched and checked (SPEC.md §10.9.2 step 6).
impl BundleSource for MirrorReader {
    async fn bundle_by_hash(&self, hash: [u8; 32]) -> Result<Option<Arc<WebAssets>>> {
        if let Some(b) = self.bundles.lock().ok().and_then(|m| m.get(&hash).cloned()) {
            return Ok(Some(b));
        }
        let Some(bundle) = mstore::load_bundle(&self.store, &hash).await? else {
            return Ok(None);
        };
        let bundle = Arc::new(bundle);
        if let Ok(mut m) = self.bundles.lock() {
            m.insert(hash, bundle.clone());
        }
        Ok(Some(bundle))
    }
}

type MirrorState = Arc<MirrorReader>;

/// Cross-origin access to a mirror's evidence endpoint (SPEC.md §10.9.1):
/// as [`public_cors`], and `POST` with a JSON body, so that a voter's page
/// that caught the board equivocating can hand the evidence to a witness.
pub fn evidence_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600))
}

/// The mirror's API with its layers (SPEC.md §10.9.1), and the pages when
/// it has the bundle (SPEC.md §13.6), their `connect-src` naming the
/// witnesses of the elections it follows.
pub fn app(reader: Arc<MirrorReader>, web: Option<&psephos_voter::web::WebAssets>) -> Router {
    let limits = reader.limits.clone();
    let connect = crate::pages::witness_origins(reader.store.clone());
    let public = Router::new()
        .route("/api/v1/board", get(mirror_info))
        .merge(read_router::<MirrorReader>())
        .merge(crate::bundle::router::<MirrorReader>())
        .layer(public_cors());
    let evidence = Router::new()
        .route(
            "/api/v1/elections/{id}/equivocation",
            get(equivocation).post(receive_equivocation),
        )
        .layer(evidence_cors());
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(public)
        .merge(evidence)
        .merge(crate::pages::router(web, Some(connect)))
        .fallback(|| async {
            BoardError::not_found("not_found", "no such endpoint (a mirror is read-only)")
                .into_response()
        })
        .layer(middleware::from_fn_with_state(reader.clone(), rate_limit))
        .layer(DefaultBodyLimit::max(64 << 10))
        .layer(RequestBodyLimitLayer::new(64 << 10))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(middleware::from_fn(crate::error::json_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(reader)
}

async fn rate_limit(State(reader): State<MirrorState>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = ip {
        if !reader.rate.allow(ip) {
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

fn alarm_value(row: &mstore::AlarmRow) -> Value {
    json!({
        "election": row.election,
        "kind": row.kind,
        "detected": row.detected,
        "evidence": serde_json::from_str::<Value>(&row.evidence).unwrap_or(Value::Null),
    })
}

/// `GET /api/v1/board` on a mirror: the board's identity (as the board
/// serves it) and the mirror's.
async fn mirror_info(State(reader): State<MirrorState>) -> Result<Json<wire::BoardInfo>> {
    let alarms = mstore::alarms(&reader.store).await?;
    let info = &reader.info;
    Ok(Json(wire::BoardInfo {
        origin: info.board_origin.clone(),
        key: info.board_vkey.clone(),
        public_key: info.board_public_key.clone(),
        mirror: Some(wire::MirrorIdentity {
            name: info.name.clone(),
            key: info.vkey.clone(),
            upstream: info.upstream.clone(),
            halted: !alarms.is_empty(),
            alarms: alarms.iter().map(alarm_value).collect(),
        }),
    }))
}

/// `POST /api/v1/elections/{id}/equivocation`: evidence that the pinned
/// board signed two histories of this election, brought by a trustee, a
/// voter or another mirror (SPEC.md §10.9.4). Conclusive evidence is kept
/// as this mirror's own alarm: it stops following and cosigning that board
/// (the follower reads the alarm at its next pass) and serves the
/// evidence. 201 `{"recorded": true}` when it is new, 200 with `false` when
/// the mirror already holds equivocation evidence about the election.
async fn receive_equivocation(
    State(reader): State<MirrorState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    check_id(&id)?;
    let ev: Evidence = serde_json::from_slice(&body).map_err(|e| {
        BoardError::bad_request(
            "malformed_json",
            format!("the body is not equivocation evidence (SPEC.md §10.9.4): {e}"),
        )
    })?;
    if ev.election != id {
        return Err(BoardError::bad_request(
            "wrong_election",
            format!(
                "the evidence is about election {:?}, not {id:?}",
                ev.election
            ),
        ));
    }
    if ev.board_key != reader.info.board_vkey {
        return Err(BoardError::invalid(
            "invalid_evidence",
            "the evidence is about another board key than the one this mirror follows",
        ));
    }
    ev.verify()
        .map_err(|e| BoardError::invalid("invalid_evidence", e.to_string()))?;
    let (cp, _) = ev
        .checkpoints()
        .map_err(|e| BoardError::invalid("invalid_evidence", e.to_string()))?;
    if !cp.origin.ends_with(&format!("/{id}")) {
        return Err(BoardError::invalid(
            "invalid_evidence",
            format!(
                "the checkpoints are of log {:?}, not of election {id:?}",
                cp.origin
            ),
        ));
    }
    let known = mstore::alarms(&reader.store)
        .await?
        .iter()
        .any(|r| r.election == id && r.kind == super::AlarmKind::Equivocation.as_str());
    if known {
        return Ok((StatusCode::OK, Json(json!({"recorded": false}))).into_response());
    }
    let row = mstore::AlarmRow {
        election: id.clone(),
        detected: super::follow::now(),
        kind: super::AlarmKind::Equivocation.as_str().to_owned(),
        evidence: serde_json::to_string(&ev).map_err(|e| BoardError::Internal(e.to_string()))?,
    };
    mstore::record_alarm(&reader.store, &row).await?;
    tracing::error!(
        election = %id,
        "ALARM: equivocation evidence about the upstream board was posted to this mirror and verified; it stops following and cosigning"
    );
    Ok((StatusCode::CREATED, Json(json!({"recorded": true}))).into_response())
}

/// `GET /api/v1/elections/{id}/equivocation`: the equivocation evidence
/// about this election, oldest first (an empty list if there is none).
async fn equivocation(
    State(reader): State<MirrorState>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    check_id(&id)?;
    let evidence: Vec<Value> = mstore::alarms(&reader.store)
        .await?
        .iter()
        .filter(|r| r.election == id && r.kind == super::AlarmKind::Equivocation.as_str())
        .filter_map(|r| serde_json::from_str::<Value>(&r.evidence).ok())
        .collect();
    if evidence.is_empty() && reader.store.head(&id).await?.is_none() {
        return Err(BoardError::no_election(&id));
    }
    Ok(Json(Value::Array(evidence)))
}

/// Largest body of `POST …/cosignatures` (SPEC.md §10.9.3).
pub const MAX_COSIGNED_NOTE_BYTES: usize = 64 << 10;

/// The board's endpoints for mirrors (SPEC.md §10.9.3); the list of
/// mirrors is public data, readable cross-origin.
pub fn board_router() -> Router<Arc<Board>> {
    Router::new()
        .route(
            "/api/v1/elections/{id}/cosignatures",
            post(receive_cosignatures),
        )
        .merge(
            Router::new()
                .route("/api/v1/mirrors", get(list_mirrors))
                .layer(public_cors()),
        )
}

/// `GET /api/v1/mirrors`: the registered mirrors.
async fn list_mirrors(State(board): State<Arc<Board>>) -> Result<Json<Vec<wire::MirrorEntry>>> {
    let mirrors = mstore::registered_mirrors(&board.store).await?;
    Ok(Json(
        mirrors
            .into_iter()
            .map(|m| wire::MirrorEntry {
                name: m.name,
                key: m.vkey,
                url: m.url,
            })
            .collect(),
    ))
}

/// `POST /api/v1/elections/{id}/cosignatures`: a checkpoint the board
/// signed, with cosignature lines of registered mirrors; the new ones are
/// kept and served with the checkpoint.
async fn receive_cosignatures(
    State(board): State<Arc<Board>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    check_id(&id)?;
    if body.len() > MAX_COSIGNED_NOTE_BYTES {
        return Err(BoardError::too_large(
            "body_too_large",
            format!("a cosigned note has at most {MAX_COSIGNED_NOTE_BYTES} bytes"),
        ));
    }
    let note = std::str::from_utf8(&body)
        .map_err(|_| BoardError::bad_request("malformed_note", "the note is not UTF-8"))?;
    let verifier = board.note_verifier();
    let (cp, others) = open_checkpoint(note, &verifier).map_err(|e| {
        BoardError::invalid(
            "invalid_note",
            format!("not a checkpoint signed by this board: {e}"),
        )
    })?;
    if cp.origin != board.origin_of(&id) {
        return Err(BoardError::invalid(
            "wrong_origin",
            format!(
                "the checkpoint is of {:?}, not {:?}",
                cp.origin,
                board.origin_of(&id)
            ),
        ));
    }
    let mirrors: Vec<CosignatureVerifier> = mstore::registered_mirrors(&board.store)
        .await?
        .iter()
        .filter_map(|m| CosignatureVerifier::from_vkey(&m.vkey).ok())
        .collect();
    let (_, verified) = verify_cosignatures(note, &verifier, &mirrors)
        .map_err(|e| BoardError::invalid("invalid_cosignature", e.to_string()))?;
    if verified.is_empty() {
        return Err(BoardError::forbidden(
            "unknown_mirror",
            "the note has no cosignature by a mirror registered with this board (psephos-board add-mirror)",
        ));
    }
    let lines: Vec<_> = others
        .iter()
        .filter(|l| {
            verified
                .iter()
                .any(|c| c.name == l.name && c.key_id == l.key_id)
        })
        .collect();
    let merged = mstore::update_cosignatures(&board.store, &id, cp.size, |stored| {
        let (stored_cp, have) = open_checkpoint(
            &format!("{}{}", stored.note, stored.cosignatures),
            &verifier,
        )
        .map_err(|e| BoardError::Internal(format!("{id}: stored checkpoint: {e}")))?;
        if stored_cp != cp {
            tracing::error!(
                election = %id,
                size = cp.size,
                "a checkpoint signed with the board key is not the one the board stored: the key is used elsewhere"
            );
            return Err(BoardError::conflict(
                "checkpoint_mismatch",
                "this board stored another checkpoint of that size",
            ));
        }
        let mut text = stored.cosignatures.clone();
        let mut count = have.len();
        let mut added = 0usize;
        for line in &lines {
            if have
                .iter()
                .any(|h| h.name == line.name && h.key_id == line.key_id)
            {
                continue;
            }
            let line = line.to_line();
            if count + 2 > MAX_SIGNATURES
                || stored.note.len() + text.len() + line.len() > MAX_NOTE_BYTES
            {
                return Err(BoardError::conflict(
                    "too_many_cosignatures",
                    "this checkpoint carries as many cosignatures as a note may",
                ));
            }
            text.push_str(&line);
            count += 1;
            added += 1;
        }
        Ok(((added > 0).then_some(text), (added, count)))
    })
    .await?;
    let Some((added, cosignatures)) = merged else {
        return Err(BoardError::not_found(
            "unknown_checkpoint",
            format!(
                "this board has no checkpoint of size {} for {id:?}",
                cp.size
            ),
        ));
    };
    if added > 0 {
        tracing::info!(election = %id, size = cp.size, added, "cosignatures received");
    }
    Ok((
        StatusCode::OK,
        Json(wire::CosignResult {
            size: cp.size,
            added: added as u64,
            cosignatures: cosignatures as u64,
        }),
    )
        .into_response())
}
