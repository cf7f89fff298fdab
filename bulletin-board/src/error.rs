//! The board's one error type (SPEC.md §10.7 errors).
//!
//! [`BoardError::Rejected`] is the client's fault and is sent as it is:
//! `{"error": "<code>", "message": "<sentence>"}` with a 4xx status.
//! Everything else is the board's own trouble (storage, I/O, a stopped task):
//! it is logged in full and the client only learns that the request failed.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use thiserror::Error;

/// Why the board could not do what was asked.
#[derive(Debug, Error)]
pub enum BoardError {
    /// The request broke a rule; the code names the rule (SPEC.md §10.7).
    #[error("{code}: {message}")]
    Rejected {
        /// HTTP status (4xx).
        status: StatusCode,
        /// Stable machine-readable code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// The database failed; never shown to clients.
    #[error("storage error: {0}")]
    Storage(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A file of the data directory could not be read or written.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The board's configuration or data directory is unusable.
    #[error("configuration error: {0}")]
    Config(String),
    /// A task the request needs has stopped (shutdown), or the log in the
    /// database is not what this process expects; the client may retry.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A broken invariant of the board itself (a bug): logged, 500.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Shorthand.
pub type Result<T, E = BoardError> = std::result::Result<T, E>;

use psephos_crypto::wire::ErrorBody;

impl BoardError {
    fn rejected(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        BoardError::Rejected {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request is not well-formed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::rejected(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: authentication failed (admin token or post signature).
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::rejected(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403: the author may not post this.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::rejected(StatusCode::FORBIDDEN, code, message)
    }

    /// 404: no such election or entry.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::rejected(StatusCode::NOT_FOUND, code, message)
    }

    /// 409: the election is not in a state that allows this.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::rejected(StatusCode::CONFLICT, code, message)
    }

    /// 413: a body or ballot above its size limit.
    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::rejected(StatusCode::PAYLOAD_TOO_LARGE, code, message)
    }

    /// 422: well-formed JSON whose content is invalid (a proof, a manifest).
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::rejected(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 404 for an unknown election.
    pub fn no_election(id: &str) -> Self {
        Self::not_found("unknown_election", format!("there is no election {id:?}"))
    }

    /// The machine-readable code (for logs and tests).
    pub fn code(&self) -> &'static str {
        match self {
            BoardError::Rejected { code, .. } => code,
            BoardError::Unavailable(_) => "unavailable",
            e if e.is_transient() => "unavailable",
            _ => "internal",
        }
    }

    /// A database that cannot be reached (restarting, down, every pooled
    /// connection busy): the same request may succeed in a moment, so the
    /// client is told 503 `unavailable`, not that the board is broken.
    fn is_transient(&self) -> bool {
        match self {
            BoardError::Storage(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed,
            ) => true,
            // PostgreSQL's classes 08 (connection exception) and 57
            // (operator intervention: a shutdown or restart).
            BoardError::Storage(sqlx::Error::Database(e)) => e
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57")),
            _ => false,
        }
    }
}

impl IntoResponse for BoardError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            BoardError::Rejected {
                status,
                code,
                message,
            } => (*status, *code, message.as_str()),
            other if other.is_transient() => {
                tracing::warn!(error = %other, "request failed: the database is unreachable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the board cannot take this request right now; try again",
                )
            }
            BoardError::Unavailable(why) => {
                tracing::warn!(%why, "request failed: unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the board cannot take this request right now; try again",
                )
            }
            other => {
                tracing::error!(error = %other, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the board could not complete the request; try again later",
                )
            }
        };
        (
            status,
            Json(ErrorBody {
                error: code.to_owned(),
                message: message.to_owned(),
            }),
        )
            .into_response()
    }
}

/// Errors that axum or tower-http produce themselves (405, 408, 413,
/// rejections of a path or query that does not parse) come with a plain
/// text body or none; SPEC.md §10.1 promises every error as
/// `{"error", "message"}`. This layer rewrites those, and only those (a
/// JSON body is already ours).
pub async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (code, message): (&str, String) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            format!("this endpoint does not take {method}"),
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "request_timeout",
            "the request took longer than the board allows; try again".into(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body_too_large",
            "the request body is larger than the board accepts".into(),
        ),
        StatusCode::NOT_FOUND => ("not_found", "no such resource".into()),
        s if s.is_server_error() => (
            "internal",
            "the board could not complete the request; try again later".into(),
        ),
        _ => {
            // An extractor's rejection (a path or query that does not
            // parse): its text names what did not parse
            // (never anything of the database).
            let text = match axum::body::to_bytes(response.into_body(), 4096).await {
                Ok(b) => String::from_utf8_lossy(&b).chars().take(300).collect(),
                Err(_) => String::new(),
            };
            let message = if text.is_empty() {
                "the request is malformed".to_owned()
            } else {
                format!("the request is malformed: {text}")
            };
            return (
                status,
                Json(ErrorBody {
                    error: "malformed_request".into(),
                    message,
                }),
            )
                .into_response();
        }
    };
    let mut out = (
        status,
        Json(ErrorBody {
            error: code.to_owned(),
            message,
        }),
    )
        .into_response();
    // Keep headers such as Allow (405) and Retry-After.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}
