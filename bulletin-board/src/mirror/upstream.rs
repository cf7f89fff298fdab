//! The mirror's client of the upstream board's read API (SPEC.md §10.1)
//! and of its cosignature endpoint (SPEC.md §10.9).
//!
//! The answers are the board API's documents (`psephos_crypto::wire`).
//! Everything the upstream answers is untrusted input: a failed request or
//! an answer of the wrong shape is [`BoardError::Unavailable`] (retried
//! with backoff), never a panic. What the answers *mean* (signatures,
//! proofs, rules) is checked by the follower.

use std::time::Duration;

use psephos_crypto::encoding::decode_hex32;
use psephos_crypto::log::merkle::Hash;
use psephos_crypto::wire::{ConsistencyProof, ElectionSummary, ErrorBody};
use serde::Deserialize;

use crate::api::{valid_id, MAX_PAGE};
use crate::error::{BoardError, Result};

/// How long one request to the upstream may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `GET /api/v1/board`, the board API's own document.
pub use psephos_crypto::wire::BoardInfo;

/// What the upstream said to a cosignature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted (or already there).
    Accepted,
    /// Refused for good: the board does not know this mirror's key, or
    /// refused the note (status and message).
    Refused(u16, String),
}

/// A client of one upstream board.
#[derive(Debug, Clone)]
pub struct Upstream {
    http: reqwest::Client,
    base: String,
}

fn unavailable(what: impl std::fmt::Display) -> BoardError {
    BoardError::Unavailable(format!("upstream: {what}"))
}

impl Upstream {
    /// A client for the board at `base` (`http://host:port`).
    pub fn new(base: &str) -> Result<Self> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(BoardError::Config(format!(
                "the upstream must be an http:// or https:// URL, not {base:?}"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            // Drop a pooled connection before a board's 30 s idle timeout
            // (SPEC.md §10.7) can close it under a request.
            .pool_idle_timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| BoardError::Config(format!("HTTP client: {e}")))?;
        Ok(Upstream {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// The upstream's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn election_url(&self, id: &str, rest: &str) -> Result<String> {
        if !valid_id(id) {
            return Err(unavailable(format!("invalid election id {id:?}")));
        }
        Ok(format!("{}/api/v1/elections/{id}{rest}", self.base))
    }

    async fn get(&self, url: &str) -> Result<reqwest::Response> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| unavailable(format!("GET {url}: {e}")))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            return Err(unavailable(format!(
                "GET {url}: status {status}: {}",
                text.chars().take(200).collect::<String>()
            )));
        }
        Ok(resp)
    }

    async fn get_text(&self, url: &str) -> Result<String> {
        self.get(url)
            .await?
            .text()
            .await
            .map_err(|e| unavailable(format!("GET {url}: {e}")))
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, url: &str) -> Result<T> {
        let text = self.get_text(url).await?;
        serde_json::from_str(&text).map_err(|e| unavailable(format!("GET {url}: {e}")))
    }

    /// `GET /api/v1/board`.
    pub async fn board_info(&self) -> Result<BoardInfo> {
        self.get_json(&format!("{}/api/v1/board", self.base)).await
    }

    /// The ids of the upstream's elections.
    pub async fn elections(&self) -> Result<Vec<String>> {
        let items: Vec<ElectionSummary> = self
            .get_json(&format!("{}/api/v1/elections", self.base))
            .await?;
        Ok(items.into_iter().map(|e| e.id).collect())
    }

    /// The latest checkpoint note, as served (with any cosignatures).
    pub async fn checkpoint(&self, id: &str) -> Result<String> {
        self.get_text(&self.election_url(id, "/checkpoint")?).await
    }

    /// Exactly the entry lines `[start, end)`, paging as needed.
    pub async fn entries(&self, id: &str, start: u64, end: u64) -> Result<Vec<String>> {
        let mut lines = Vec::new();
        let mut next = start;
        while next < end {
            let to = end.min(next.saturating_add(MAX_PAGE));
            let url = self.election_url(id, &format!("/entries?start={next}&end={to}"))?;
            let text = self.get_text(&url).await?;
            let before = lines.len();
            lines.extend(text.split_terminator('\n').map(str::to_owned));
            let got = (lines.len() - before) as u64;
            if got == 0 || got > to - next {
                return Err(unavailable(format!(
                    "GET {url}: {got} lines where {} were asked for",
                    to - next
                )));
            }
            next += got;
        }
        Ok(lines)
    }

    /// The consistency proof from `from` to `to` entries.
    pub async fn consistency(&self, id: &str, from: u64, to: u64) -> Result<Vec<Hash>> {
        let url = self.election_url(id, &format!("/proof/consistency?from={from}&to={to}"))?;
        let answer: ConsistencyProof = self.get_json(&url).await?;
        if answer.from != from || answer.to != to {
            return Err(unavailable(format!(
                "GET {url}: a proof from {} to {}",
                answer.from, answer.to
            )));
        }
        answer
            .proof
            .iter()
            .map(|h| decode_hex32("consistency proof hash", h))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| unavailable(format!("GET {url}: {e}")))
    }

    /// File `name` (or `SHA256SUMS`) of the page bundle `hash`
    /// (`GET /api/v1/bundles/{hash}/{name}`), at most `max` bytes.
    pub async fn bundle_file(&self, hash: &Hash, name: &str, max: usize) -> Result<Vec<u8>> {
        let url = format!("{}/api/v1/bundles/{}/{name}", self.base, hex::encode(hash));
        let mut resp = self.get(&url).await?;
        if resp.content_length().is_some_and(|n| n > max as u64) {
            return Err(unavailable(format!("GET {url}: more than {max} bytes")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| unavailable(format!("GET {url}: {e}")))?
        {
            if body.len() + chunk.len() > max {
                return Err(unavailable(format!("GET {url}: more than {max} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// `POST /api/v1/elections/{id}/cosignatures` with a cosigned note.
    pub async fn post_cosignature(&self, id: &str, note: &str) -> Result<Delivery> {
        let url = self.election_url(id, "/cosignatures")?;
        let resp = self
            .http
            .post(&url)
            .header("content-type", "text/plain; charset=utf-8")
            .body(note.to_owned())
            .send()
            .await
            .map_err(|e| unavailable(format!("POST {url}: {e}")))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(Delivery::Accepted);
        }
        let text = resp.text().await.unwrap_or_default();
        let text = match serde_json::from_str::<ErrorBody>(&text) {
            Ok(e) => format!("{} ({})", e.message, e.error),
            Err(_) => text,
        };
        let text: String = text.chars().take(300).collect();
        if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
            return Ok(Delivery::Refused(status.as_u16(), text));
        }
        Err(unavailable(format!("POST {url}: status {status}: {text}")))
    }
}
