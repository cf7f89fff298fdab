//! Where a record comes from: a JSON Lines file (what `psephos-board export`
//! writes) or a board's read API (SPEC.md §10), paged.
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/v1/board` | `wire::BoardInfo`: `{"origin", "key": <C2SP vkey>, "public_key": <hex>}` |
//! | `GET /api/v1/elections` | `[wire::ElectionSummary]` (used only when `--election` is absent) |
//! | `GET /api/v1/elections/{id}/entries?start=A&end=B` | JSON Lines, at most 10,000 per page; header `X-Log-Size` |
//! | `GET /api/v1/elections/{id}/checkpoint` | the signed checkpoint note |
//! | `GET /api/v1/elections/{id}/proof/consistency?from=M&to=N` | `wire::ConsistencyProof`: `{"from", "to", "proof": [hex]}` |
//!
//! The JSON documents are the board's own (`psephos_crypto::wire`); an
//! error answer's `wire::ErrorBody` message is shown.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use psephos_crypto::log::merkle::Hash;
use psephos_crypto::wire::{ConsistencyProof, ElectionSummary, ErrorBody};
use reqwest::blocking::Client;
use reqwest::Url;
use serde::Deserialize;

use crate::anchors::Mirror;
use crate::error::VerifierError;

/// The most entries a board returns per page.
pub const PAGE: u64 = 10_000;

/// Call `f(line, bytes)` for every line of `reader`, without its line
/// break; `bytes` is the line's length with its break (for progress). A
/// line that is not UTF-8 is passed lossily, so that V1 reports it.
pub fn for_each_line<R: BufRead>(
    mut reader: R,
    what: &str,
    mut f: impl FnMut(&str, u64),
) -> Result<(), VerifierError> {
    let mut buf = Vec::with_capacity(8 * 1024);
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| VerifierError::Io {
                path: what.to_string(),
                source,
            })?;
        if n == 0 {
            return Ok(());
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        match std::str::from_utf8(&buf) {
            Ok(line) => f(line, n as u64),
            Err(_) => f(&String::from_utf8_lossy(&buf), n as u64),
        }
    }
}

/// Call `f` for every line of a file (`-` reads standard input).
pub fn for_each_line_of_file(path: &Path, mut f: impl FnMut(&str)) -> Result<(), VerifierError> {
    for_each_line_of_path(path, |line, _| f(line))
}

/// Like [`for_each_line_of_file`], also passing each line's size in bytes.
pub fn for_each_line_of_path(path: &Path, f: impl FnMut(&str, u64)) -> Result<(), VerifierError> {
    let what = path.display().to_string();
    if what == "-" {
        return for_each_line(std::io::stdin().lock(), "standard input", f);
    }
    let file = File::open(path).map_err(|source| VerifierError::Io {
        path: what.clone(),
        source,
    })?;
    for_each_line(BufReader::with_capacity(1 << 20, file), &what, f)
}

/// Read a small text file (a checkpoint, a key).
pub fn read_text(path: &Path) -> Result<String, VerifierError> {
    std::fs::read_to_string(path).map_err(|source| VerifierError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// What `GET /api/v1/board` says about the board (or mirror): the board
/// API's own document, `psephos_crypto::wire::BoardInfo`. Checkpoints are
/// of `<origin>/<election>`.
pub use psephos_crypto::wire::BoardInfo;

/// A client of a board's (or a mirror's) read API.
#[derive(Debug, Clone)]
pub struct BoardClient {
    base: Url,
    client: Client,
}

impl BoardClient {
    /// A client for the board at `base` (e.g. `https://board.example`).
    pub fn new(base: &str) -> Result<Self, VerifierError> {
        let base = Url::parse(base).map_err(|e| VerifierError::Http {
            url: base.to_string(),
            why: format!("not a URL: {e}"),
        })?;
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(900))
            // Drop a pooled connection before the board's 30 s idle timeout
            // (SPEC.md §10.7) can close it under a request.
            .pool_idle_timeout(Duration::from_secs(20))
            .user_agent(concat!("psephos-verify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| VerifierError::Http {
                url: base.to_string(),
                why: e.to_string(),
            })?;
        Ok(BoardClient { base, client })
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Url, VerifierError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| VerifierError::Http {
                url: self.base.to_string(),
                why: "this URL cannot have a path".into(),
            })?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    fn get(&self, url: &Url) -> Result<reqwest::blocking::Response, VerifierError> {
        let http = |why: String| VerifierError::Http {
            url: url.to_string(),
            why,
        };
        let resp = self
            .client
            .get(url.clone())
            .send()
            .map_err(|e| http(e.to_string()))?;
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().unwrap_or_default();
            let text: String = match serde_json::from_str::<ErrorBody>(&text) {
                Ok(e) => format!("{} ({})", e.message, e.error),
                Err(_) => text,
            };
            let text: String = text.chars().take(300).collect();
            return Err(http(format!("HTTP {status}: {text}")));
        }
        Ok(resp)
    }

    fn get_text(&self, url: &Url, what: &'static str) -> Result<String, VerifierError> {
        self.get(url)?
            .text()
            .map_err(|e| VerifierError::BadResponse {
                url: url.to_string(),
                what,
                why: e.to_string(),
            })
    }

    fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: &Url,
        what: &'static str,
    ) -> Result<T, VerifierError> {
        let text = self.get_text(url, what)?;
        serde_json::from_str(&text).map_err(|e| VerifierError::BadResponse {
            url: url.to_string(),
            what,
            why: e.to_string(),
        })
    }

    /// `GET /api/v1/board`.
    pub fn board_info(&self) -> Result<BoardInfo, VerifierError> {
        let url = self.url(&["api", "v1", "board"], &[])?;
        self.get_json(&url, "board description")
    }

    /// `GET /api/v1/elections`: the election ids.
    pub fn elections(&self) -> Result<Vec<String>, VerifierError> {
        let url = self.url(&["api", "v1", "elections"], &[])?;
        let list: Vec<ElectionSummary> = self.get_json(&url, "election list")?;
        Ok(list.into_iter().map(|e| e.id).collect())
    }

    /// `GET …/checkpoint`: the signed note (plain text, or JSON with a
    /// `checkpoint` or `note` field).
    pub fn checkpoint_note(&self, election: &str) -> Result<String, VerifierError> {
        let url = self.url(&["api", "v1", "elections", election, "checkpoint"], &[])?;
        let text = self.get_text(&url, "checkpoint")?;
        if text.trim_start().starts_with('{') {
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| VerifierError::BadResponse {
                    url: url.to_string(),
                    what: "checkpoint",
                    why: e.to_string(),
                })?;
            return v
                .get("checkpoint")
                .or_else(|| v.get("note"))
                .and_then(|n| n.as_str())
                .map(str::to_owned)
                .ok_or_else(|| VerifierError::BadResponse {
                    url: url.to_string(),
                    what: "checkpoint",
                    why: "JSON without a checkpoint or note field".into(),
                });
        }
        Ok(text)
    }

    /// `GET …/proof/consistency?from=M&to=N`.
    pub fn consistency_proof(
        &self,
        election: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<Hash>, VerifierError> {
        let url = self.url(
            &["api", "v1", "elections", election, "proof", "consistency"],
            &[("from", from.to_string()), ("to", to.to_string())],
        )?;
        let bad = |why: String| VerifierError::BadResponse {
            url: url.to_string(),
            what: "consistency proof",
            why,
        };
        let answer: ConsistencyProof = self.get_json(&url, "consistency proof")?;
        if answer.from != from || answer.to != to {
            return Err(bad(format!(
                "proof is for sizes {} → {}, asked {from} → {to}",
                answer.from, answer.to
            )));
        }
        answer
            .proof
            .iter()
            .map(|h| {
                psephos_crypto::encoding::decode_hex32("proof hash", h)
                    .map_err(|e| bad(e.to_string()))
            })
            .collect()
    }

    /// Page through `…/entries`, calling `f(line, log_size)` for every line
    /// in order. Stops at the log size the first page announces (entries
    /// appended while downloading are left for the next run). Returns the
    /// number of lines read and the announced size; a board that announces
    /// more entries than it serves is an error.
    pub fn for_each_entry(
        &self,
        election: &str,
        mut f: impl FnMut(&str, Option<u64>),
    ) -> Result<u64, VerifierError> {
        let mut start = 0u64;
        let mut size: Option<u64> = None;
        loop {
            let end = size.map_or(start + PAGE, |s| s.min(start + PAGE));
            let url = self.url(
                &["api", "v1", "elections", election, "entries"],
                &[("start", start.to_string()), ("end", end.to_string())],
            )?;
            let resp = self.get(&url)?;
            if size.is_none() {
                size = resp
                    .headers()
                    .get("x-log-size")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok());
            }
            let mut n = 0u64;
            let reader = BufReader::with_capacity(1 << 20, resp.take(u64::MAX));
            for_each_line(reader, url.as_str(), |line, _| {
                if size.is_some_and(|s| start + n >= s) {
                    return;
                }
                n += 1;
                f(line, size);
            })?;
            start += n;
            match size {
                Some(s) if n == 0 && start < s => {
                    return Err(VerifierError::BadResponse {
                        url: url.to_string(),
                        what: "entries page",
                        why: format!(
                            "X-Log-Size announced {s} entries, but the log ends after {start}"
                        ),
                    })
                }
                Some(s) if start >= s || n == 0 => return Ok(start),
                // Pages may end early (a byte cap, SPEC.md §10.1): only an
                // empty one ends a log whose size was not announced.
                None if n == 0 => return Ok(start),
                _ => {}
            }
        }
    }
}

impl Mirror for BoardClient {
    fn name(&self) -> String {
        self.base.to_string()
    }

    fn checkpoint(&self, election: &str) -> Result<String, VerifierError> {
        self.checkpoint_note(election)
    }

    fn consistency(&self, election: &str, from: u64, to: u64) -> Result<Vec<Hash>, VerifierError> {
        self.consistency_proof(election, from, to)
    }
}
