//! Talking to the bulletin board (SPEC.md §10.1): the [`BoardClient`]
//! trait the ceremony and decryption steps are written against, its HTTP
//! implementation [`HttpBoard`], and [`AdminClient`] for the administrator's
//! actions (used by tests and the demo; trustees never need it).
//!
//! Everything the tool decides is decided from the log itself (entries,
//! chain-checked and signature-checked), never from the board's status
//! document, which is only shown to people.

use std::time::Duration;

use psephos_crypto::record::{Manifest, Post};
use psephos_crypto::wire::{self, CreateElection, Created, OpenVoting};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrusteeError};

/// Most entries the board returns per page (SPEC.md §10.1).
pub const PAGE: u64 = 10_000;

pub use psephos_crypto::wire::{BoardInfo, ElectionStatus, Receipt};

/// One page of entry lines.
#[derive(Clone, Debug, Default)]
pub struct EntryPage {
    /// Canonical entry lines, in index order, starting at the requested index.
    pub lines: Vec<String>,
    /// The log size the board reported (`X-Log-Size`), if it did.
    pub log_size: Option<u64>,
}

/// What the trustee steps need from a board.
pub trait BoardClient {
    /// `GET /api/v1/board`.
    fn board_info(&self) -> Result<BoardInfo>;
    /// `GET /api/v1/elections/{id}`.
    fn status(&self, election: &str) -> Result<ElectionStatus>;
    /// `GET /api/v1/elections/{id}/entries?start=A&end=B` (`end` exclusive).
    fn entries(&self, election: &str, start: u64, end: u64) -> Result<EntryPage>;
    /// `POST /api/v1/elections/{id}/posts`.
    fn post(&self, election: &str, post: &Post) -> Result<Receipt>;
}

impl<B: BoardClient + ?Sized> BoardClient for &B {
    fn board_info(&self) -> Result<BoardInfo> {
        (**self).board_info()
    }
    fn status(&self, election: &str) -> Result<ElectionStatus> {
        (**self).status(election)
    }
    fn entries(&self, election: &str, start: u64, end: u64) -> Result<EntryPage> {
        (**self).entries(election, start, end)
    }
    fn post(&self, election: &str, post: &Post) -> Result<Receipt> {
        (**self).post(election, post)
    }
}

/// The board's HTTP API, with a blocking client.
///
/// Blocking calls must not be made from inside an async runtime's worker
/// thread; a program that runs a board in-process (tests, the demo) calls
/// the trustee steps from an ordinary thread.
#[derive(Clone, Debug)]
pub struct HttpBoard {
    base: String,
    http: reqwest::blocking::Client,
}

impl HttpBoard {
    /// A client for the board at `base` (e.g. `https://board.example`).
    pub fn new(base: &str) -> Result<Self> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(15))
            // Drop a pooled connection before the board's 30 s idle timeout
            // (SPEC.md §10.7) can close it under a request.
            .pool_idle_timeout(Duration::from_secs(20))
            .user_agent(concat!("psephos-trustee/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TrusteeError::Network {
                url: base.to_owned(),
                why: e.to_string(),
            })?;
        Ok(HttpBoard {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn url_of(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn send(
        &self,
        url: &str,
        req: reqwest::blocking::RequestBuilder,
    ) -> Result<reqwest::blocking::Response> {
        let resp = req.send().map_err(|e| TrusteeError::Network {
            url: url.to_owned(),
            why: e.to_string(),
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().unwrap_or_default();
        Err(match serde_json::from_str::<wire::ErrorBody>(&text) {
            Ok(body) => TrusteeError::Api {
                status: status.as_u16(),
                code: body.error,
                message: body.message,
            },
            Err(_) => TrusteeError::Api {
                status: status.as_u16(),
                code: "http".into(),
                message: text.chars().take(300).collect(),
            },
        })
    }

    fn json<T: for<'de> Deserialize<'de>>(
        &self,
        url: &str,
        req: reqwest::blocking::RequestBuilder,
    ) -> Result<T> {
        let resp = self.send(url, req)?;
        let bytes = resp.bytes().map_err(|e| TrusteeError::Network {
            url: url.to_owned(),
            why: e.to_string(),
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| TrusteeError::BoardMisbehaves(format!("{url}: unexpected answer ({e})")))
    }
}

/// Election ids are put into URL paths: refuse anything that would change
/// the path (the board's ids are plain tokens).
pub fn check_election_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(TrusteeError::Protocol(format!(
            "election id {id:?} must be 1 to 128 letters, digits, '-', '_' or '.'"
        )))
    }
}

impl BoardClient for HttpBoard {
    fn board_info(&self) -> Result<BoardInfo> {
        let url = self.url_of("/api/v1/board");
        self.json(&url, self.http.get(&url))
    }

    fn status(&self, election: &str) -> Result<ElectionStatus> {
        check_election_id(election)?;
        let url = self.url_of(&format!("/api/v1/elections/{election}"));
        self.json(&url, self.http.get(&url))
    }

    fn entries(&self, election: &str, start: u64, end: u64) -> Result<EntryPage> {
        check_election_id(election)?;
        let url = self.url_of(&format!(
            "/api/v1/elections/{election}/entries?start={start}&end={end}"
        ));
        let resp = self.send(&url, self.http.get(&url))?;
        let log_size = resp
            .headers()
            .get("x-log-size")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = resp.text().map_err(|e| TrusteeError::Network {
            url: url.clone(),
            why: e.to_string(),
        })?;
        Ok(EntryPage {
            lines: text
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            log_size,
        })
    }

    fn post(&self, election: &str, post: &Post) -> Result<Receipt> {
        check_election_id(election)?;
        let url = self.url_of(&format!("/api/v1/elections/{election}/posts"));
        let body = serde_json::to_vec(post)
            .map_err(|e| TrusteeError::Protocol(format!("cannot serialize post: {e}")))?;
        self.json(
            &url,
            self.http
                .post(&url)
                .header("content-type", "application/json")
                .body(body),
        )
    }
}

/// The administrator's side of the API (bearer token). Trustees never use
/// it; tests and the demo do.
#[derive(Clone, Debug)]
pub struct AdminClient {
    board: HttpBoard,
    token: String,
}

impl AdminClient {
    /// An administrator of the board at `base`.
    pub fn new(base: &str, token: &str) -> Result<Self> {
        Ok(AdminClient {
            board: HttpBoard::new(base)?,
            token: token.to_owned(),
        })
    }

    fn action<T: for<'de> Deserialize<'de>>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        let url = self.board.url_of(path);
        let body = serde_json::to_vec(body)
            .map_err(|e| TrusteeError::Protocol(format!("cannot serialize request: {e}")))?;
        let req = self
            .board
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body);
        self.board.json(&url, req)
    }

    /// `POST /api/v1/elections`.
    pub fn create_election(&self, id: &str, manifest: &Manifest) -> Result<Created> {
        check_election_id(id)?;
        self.action(
            "/api/v1/elections",
            &CreateElection {
                id: id.to_owned(),
                manifest: manifest.clone(),
            },
        )
    }

    /// `POST /api/v1/elections/{id}/close-commits`.
    pub fn close_commits(&self, id: &str) -> Result<Receipt> {
        check_election_id(id)?;
        self.action(
            &format!("/api/v1/elections/{id}/close-commits"),
            &serde_json::Map::new(),
        )
    }

    /// `POST /api/v1/elections/{id}/finalize-keys`.
    pub fn finalize_keys(&self, id: &str) -> Result<Receipt> {
        check_election_id(id)?;
        self.action(
            &format!("/api/v1/elections/{id}/finalize-keys"),
            &serde_json::Map::new(),
        )
    }

    /// `POST /api/v1/elections/{id}/open`, naming the voting page bundle.
    pub fn open(&self, id: &str, bundle_sha256: &[u8; 32]) -> Result<Receipt> {
        check_election_id(id)?;
        self.action(
            &format!("/api/v1/elections/{id}/open"),
            &OpenVoting {
                bundle_sha256: Some(hex::encode(bundle_sha256)),
            },
        )
    }

    /// `POST /api/v1/elections/{id}/close`.
    pub fn close(&self, id: &str) -> Result<Receipt> {
        check_election_id(id)?;
        self.action(
            &format!("/api/v1/elections/{id}/close"),
            &serde_json::Map::new(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn election_ids_that_would_change_the_url_path_are_refused() {
        check_election_id("mayor-2026_v1.0").unwrap();
        for bad in ["", "a/b", "../x", "a?b", "a b", "é"] {
            assert!(check_election_id(bad).is_err(), "{bad}");
        }
    }
}
