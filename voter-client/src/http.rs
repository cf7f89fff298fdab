//! The board's API over HTTP, for the command line (native only). The page
//! does the same requests with the browser's `fetch`.

use psephos_crypto::log::evidence::Evidence;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::api::{
    BoardInfo, BoardReceipt, ConsistencyProof, ElectionStatus, ErrorBody, InclusionProof,
};
use crate::election::{Board, Election, SetupScan, SCAN_PAGE};
use crate::error::{Result, VoterError};

/// A client for one board (or mirror) base URL.
#[derive(Debug, Clone)]
pub struct BoardClient {
    base: String,
    http: reqwest::blocking::Client,
}

fn transport(e: reqwest::Error) -> VoterError {
    VoterError::Transport(e.to_string())
}

impl BoardClient {
    /// A client for `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Result<Self> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            // Drop a pooled connection before the board's 30 s idle timeout
            // (SPEC.md §10.7) can close it under a request.
            .pool_idle_timeout(Duration::from_secs(20))
            .build()
            .map_err(transport)?;
        Ok(BoardClient {
            base: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn check(response: reqwest::blocking::Response) -> Result<String> {
        let status = response.status();
        let text = response.text().map_err(transport)?;
        if status.is_success() {
            return Ok(text);
        }
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(e) => Err(VoterError::Refused(format!("{} ({})", e.message, e.error))),
            Err(_) => Err(VoterError::Refused(format!("HTTP {status}"))),
        }
    }

    /// `GET path`, as text.
    pub fn get_text(&self, path: &str) -> Result<String> {
        Self::check(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .map_err(transport)?,
        )
    }

    /// `GET path`, as JSON.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        crate::api::parse(path, &self.get_text(path)?)
    }

    /// `GET /api/v1/board`.
    pub fn board_info(&self) -> Result<BoardInfo> {
        self.get_json("/api/v1/board")
    }

    /// `GET /api/v1/elections/{id}`.
    pub fn status(&self, election: &str) -> Result<ElectionStatus> {
        self.get_json(&format!("/api/v1/elections/{election}"))
    }

    /// Entry lines `start..end`.
    pub fn entries(&self, election: &str, start: u64, end: u64) -> Result<String> {
        self.get_text(&format!(
            "/api/v1/elections/{election}/entries?start={start}&end={end}"
        ))
    }

    /// The latest checkpoint.
    pub fn checkpoint(&self, election: &str) -> Result<String> {
        self.get_text(&format!("/api/v1/elections/{election}/checkpoint"))
    }

    /// An inclusion proof.
    pub fn inclusion(&self, election: &str, index: u64, size: u64) -> Result<InclusionProof> {
        self.get_json(&format!(
            "/api/v1/elections/{election}/proof/inclusion?index={index}&size={size}"
        ))
    }

    /// A consistency proof.
    pub fn consistency(&self, election: &str, from: u64, to: u64) -> Result<ConsistencyProof> {
        self.get_json(&format!(
            "/api/v1/elections/{election}/proof/consistency?from={from}&to={to}"
        ))
    }

    /// Post a ballot; the board's receipt.
    pub fn post_ballot(&self, election: &str, post_json: String) -> Result<BoardReceipt> {
        let response = self
            .http
            .post(format!("{}/api/v1/elections/{election}/posts", self.base))
            .header("content-type", "application/json")
            .body(post_json)
            .send()
            .map_err(transport)?;
        crate::api::parse("the receipt", &Self::check(response)?)
    }

    /// Offer equivocation evidence to a witness (SPEC.md §10.9.4).
    pub fn post_evidence(&self, election: &str, evidence: &Evidence) -> Result<()> {
        let body = serde_json::to_string(evidence)
            .map_err(|e| VoterError::Transport(format!("cannot serialize the evidence: {e}")))?;
        let response = self
            .http
            .post(format!(
                "{}/api/v1/elections/{election}/equivocation",
                self.base
            ))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .map_err(transport)?;
        Self::check(response).map(|_| ())
    }

    /// Learn and check an election (SPEC.md §13.1).
    pub fn election(&self, election: &str) -> Result<(Election, BoardInfo)> {
        let info = self.board_info()?;
        let board = Board::from_info(&info)?;
        let status = self.status(election)?;
        let mut scan = SetupScan::new(election, board);
        while !scan.done() {
            let start = scan.next_index();
            if start >= status.size {
                break;
            }
            let end = (start + SCAN_PAGE).min(status.size);
            let lines = self.entries(election, start, end)?;
            scan.push_lines(&lines)?;
            if scan.next_index() == start {
                return Err(VoterError::board("the board sent no entries"));
            }
        }
        let size = checkpoint_size(&status.checkpoint)?;
        let proof = if scan.done() {
            self.inclusion(election, scan.next_index() - 1, size)?
        } else {
            InclusionProof {
                index: 0,
                size: 0,
                leaf_hash: String::new(),
                proof: vec![],
            }
        };
        Ok((scan.finish(&status, &proof)?, info))
    }
}

/// The size line of a checkpoint note, unverified (to ask for a proof
/// against it; the proof is checked against the verified checkpoint).
pub fn checkpoint_size(note: &str) -> Result<u64> {
    note.lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| VoterError::board("the checkpoint has no size line"))
}
