//! The WebAssembly bindings the pages call (wasm32 only). The page's
//! script does the `fetch`es and the DOM; everything that parses, checks,
//! encrypts or signs is here, in the same Rust as the command line.
//! Structured results cross as JSON text.

use psephos_crypto::ballot::{
    encrypt_ballot, short_tracking_code, tracking_code, BallotContext, Contest, ContestOption,
};
use psephos_crypto::elgamal::SecretKey;
use psephos_crypto::log::open_checkpoint;
use psephos_crypto::record::Entry;
use psephos_crypto::Fingerprint;
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::api::{
    parse, BoardInfo, BoardReceipt, ConsistencyProof, ElectionStatus, InclusionProof,
};
use crate::cast::{check_audit_code, PreparedBallot};
use crate::choice::{check_all, is_selection, rules_text};
use crate::credential::Credential;
use crate::election::{Board, Election, SetupScan};
use crate::receipt::Receipt;
use crate::recheck::{judge, proofs_to_ask, Sighting};

fn js(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn to_json<T: Serialize>(v: &T) -> Result<String, JsError> {
    serde_json::to_string(v).map_err(js)
}

/// Reads an election's log from entry 0 to its joint key (SPEC.md §13.1).
#[derive(Debug)]
#[wasm_bindgen]
pub struct ElectionLoader {
    scan: Option<SetupScan>,
    board_key: String,
}

#[wasm_bindgen]
impl ElectionLoader {
    /// Start with the answer of `/api/v1/board`.
    #[wasm_bindgen(constructor)]
    pub fn new(election: &str, board_json: &str) -> Result<ElectionLoader, JsError> {
        let info: BoardInfo = parse("the board description", board_json).map_err(js)?;
        let board = Board::from_info(&info).map_err(js)?;
        Ok(ElectionLoader {
            scan: Some(SetupScan::new(election, board)),
            board_key: info.key,
        })
    }

    /// The next entry index wanted.
    pub fn next_index(&self) -> f64 {
        self.scan.as_ref().map_or(0.0, |s| s.next_index() as f64)
    }

    /// Whether the joint key has been read.
    pub fn done(&self) -> bool {
        self.scan.as_ref().is_some_and(SetupScan::done)
    }

    /// Take entry lines (JSON Lines).
    pub fn push_entries(&mut self, jsonl: &str) -> Result<bool, JsError> {
        let scan = self
            .scan
            .as_mut()
            .ok_or_else(|| js("the loader is finished"))?;
        scan.push_lines(jsonl).map_err(js)
    }

    /// Finish with the status and the inclusion proof of the joint key entry.
    pub fn finish(
        &mut self,
        status_json: &str,
        proof_json: &str,
    ) -> Result<VoterElection, JsError> {
        let scan = self
            .scan
            .take()
            .ok_or_else(|| js("the loader is finished"))?;
        let status: ElectionStatus = parse("the election status", status_json).map_err(js)?;
        let proof: InclusionProof = parse("the inclusion proof", proof_json).map_err(js)?;
        Ok(VoterElection {
            election: scan.finish(&status, &proof).map_err(js)?,
            board_key: self.board_key.clone(),
        })
    }
}

/// A checked election.
#[derive(Debug)]
#[wasm_bindgen]
pub struct VoterElection {
    election: Election,
    board_key: String,
}

#[derive(Serialize)]
struct ContestView<'a> {
    id: &'a str,
    title: &'a str,
    rules: String,
    selection: bool,
    min_selections: u64,
    max_selections: u64,
    max_per_option: u64,
    options: &'a [ContestOption],
}

#[derive(Serialize)]
struct ElectionView<'a> {
    id: &'a str,
    title: &'a str,
    state: &'a str,
    fingerprint: String,
    public_key: String,
    bundle_sha256: Option<String>,
    trustees: Vec<&'a str>,
    threshold: u32,
    contests: Vec<ContestView<'a>>,
}

#[derive(Deserialize)]
struct Choices(Vec<Vec<u64>>);

#[wasm_bindgen]
impl VoterElection {
    /// Title, state, fingerprint, trustees and contests with their rules in words.
    pub fn info_json(&self) -> Result<String, JsError> {
        let e = &self.election;
        to_json(&ElectionView {
            id: &e.id,
            title: &e.manifest.title,
            state: &e.state,
            fingerprint: hex::encode(e.fingerprint.as_bytes()),
            public_key: e.pk.as_point().to_hex(),
            bundle_sha256: e.bundle_sha256.map(hex::encode),
            trustees: e
                .manifest
                .trustees
                .iter()
                .map(|t| t.name.as_str())
                .collect(),
            threshold: e.manifest.threshold,
            contests: e
                .contests()
                .iter()
                .map(|c: &Contest| ContestView {
                    id: &c.id,
                    title: &c.title,
                    rules: rules_text(c),
                    selection: is_selection(c),
                    min_selections: c.min_selections,
                    max_selections: c.max_selections,
                    max_per_option: c.max_per_option,
                    options: &c.options,
                })
                .collect(),
        })
    }

    /// Every rule the choices break, as `[{"contest", "message"}]` (empty when fine).
    pub fn check_choices(&self, choices_json: &str) -> Result<String, JsError> {
        let choices: Choices = serde_json::from_str(choices_json).map_err(js)?;
        #[derive(Serialize)]
        struct Problem {
            contest: Option<String>,
            message: String,
        }
        let problems: Vec<Problem> = check_all(self.election.contests(), &choices.0)
            .into_iter()
            .map(|e| Problem {
                contest: e.contest,
                message: e.message,
            })
            .collect();
        to_json(&problems)
    }

    /// Encrypt, prove and sign (SPEC.md §13.2). Refuses while voting is not open.
    pub fn encrypt(&self, credential: &str, choices_json: &str) -> Result<VoterBallot, JsError> {
        self.election.require_open().map_err(js)?;
        let credential = Credential::parse(credential).map_err(js)?;
        let choices: Choices = serde_json::from_str(choices_json).map_err(js)?;
        let ballot =
            PreparedBallot::new(&self.election, &credential, &choices.0, &mut OsRng).map_err(js)?;
        Ok(VoterBallot {
            body: ballot.body_text().to_string(),
            code: hex::encode(ballot.tracking_code()),
            short: ballot.short_code(),
            inner: Some(ballot),
        })
    }

    /// Check an audit code (SPEC.md §13.3); JSON report with a `text` field.
    pub fn check_audit_code(&self, code: &str) -> Result<String, JsError> {
        let report = check_audit_code(&self.election, code).map_err(js)?;
        let mut value = serde_json::to_value(&report).map_err(js)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("text".into(), report.to_text().into());
        }
        to_json(&value)
    }

    /// Check the board's answer to a cast ballot and the entry line at its
    /// index (SPEC.md §13.4); the receipt file (JSON) on success, naming
    /// `board_url` (the page's origin) and the manifest's witnesses.
    pub fn accept_receipt(
        &self,
        ballot: &VoterBallot,
        answer_json: &str,
        entry_line: &str,
        board_url: &str,
    ) -> Result<String, JsError> {
        let answer: BoardReceipt = parse("the receipt", answer_json).map_err(js)?;
        let receipt = Receipt::accept(
            &self.election.board,
            &self.board_key,
            &self.election.id,
            &ballot.body,
            &answer,
            entry_line.trim_end(),
        )
        .map_err(js)?
        .naming(board_url, &self.election.manifest);
        Ok(receipt.to_json())
    }
}

/// An encrypted, signed ballot waiting for Cast or Audit.
#[derive(Debug)]
#[wasm_bindgen]
pub struct VoterBallot {
    inner: Option<PreparedBallot>,
    body: String,
    code: String,
    short: String,
}

#[wasm_bindgen]
impl VoterBallot {
    /// The full tracking code, hex.
    pub fn tracking_code(&self) -> String {
        self.code.clone()
    }

    /// The short tracking code.
    pub fn short_code(&self) -> String {
        self.short.clone()
    }

    /// The post to send (refused once audited).
    pub fn post_json(&self) -> Result<String, JsError> {
        let ballot = self
            .inner
            .as_ref()
            .ok_or_else(|| js("this ballot was audited and can no longer be cast"))?;
        ballot.post_json().map_err(js)
    }

    /// Audit: reveal the secrets as an audit code. The ballot can no longer be cast.
    pub fn audit(&mut self) -> Result<String, JsError> {
        let ballot = self
            .inner
            .take()
            .ok_or_else(|| js("this ballot was already audited"))?;
        Ok(ballot.audit().map_err(js)?.0)
    }
}

/// Re-checking a receipt, step 1 (SPEC.md §13.5): `sightings_json` is
/// `[{"server","url","note"|"error"}]`, the board's and each witness's
/// latest checkpoint; the answer `[{"url","from","to"}]` lists the
/// consistency proofs to fetch.
#[wasm_bindgen]
pub fn receipt_proofs_to_ask(receipt_json: &str, sightings_json: &str) -> Result<String, JsError> {
    let receipt = Receipt::from_json(receipt_json).map_err(js)?;
    let sightings: Vec<Sighting> = parse("the sightings", sightings_json).map_err(js)?;
    let board = receipt.board().map_err(js)?;
    to_json(&proofs_to_ask(&receipt, &board, &sightings).map_err(js)?)
}

/// Re-checking a receipt, step 2: `proofs_json` holds the proofs fetched
/// (`[{"from","to","proof"}]`); the report (verdict, per server, quorum,
/// evidence to post to every witness, summary) as JSON.
#[wasm_bindgen]
pub fn judge_receipt(
    receipt_json: &str,
    sightings_json: &str,
    proofs_json: &str,
    now_seconds: f64,
) -> Result<String, JsError> {
    let receipt = Receipt::from_json(receipt_json).map_err(js)?;
    let sightings: Vec<Sighting> = parse("the sightings", sightings_json).map_err(js)?;
    let proofs: Vec<ConsistencyProof> = parse("the proofs", proofs_json).map_err(js)?;
    let board = receipt.board().map_err(js)?;
    let detected = if now_seconds.is_finite() && now_seconds > 0.0 {
        now_seconds as u64
    } else {
        0
    };
    to_json(&judge(&receipt, &board, &sightings, &proofs, detected).map_err(js)?)
}

/// The public key (hex) of a credential, or a sentence saying what is wrong.
#[wasm_bindgen]
pub fn credential_public_key(text: &str) -> Result<String, JsError> {
    Ok(Credential::parse(text).map_err(js)?.public_hex())
}

/// Open a checkpoint signed by the board: `{"origin","size","root","cosigners":[names]}`.
#[wasm_bindgen]
pub fn checkpoint_summary(board_json: &str, election: &str, note: &str) -> Result<String, JsError> {
    let info: BoardInfo = parse("the board description", board_json).map_err(js)?;
    let board = Board::from_info(&info).map_err(js)?;
    let checkpoint = board.open_checkpoint(election, note).map_err(js)?;
    let (_, others) = open_checkpoint(note, &board.verifier).map_err(js)?;
    to_json(&serde_json::json!({
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": hex::encode(checkpoint.root),
        "cosigners": others.iter().map(|l| l.name.clone()).collect::<Vec<_>>(),
    }))
}

/// The ballots among entry lines: `[{"index","code","short"}]`.
#[wasm_bindgen]
pub fn ballot_codes(jsonl: &str) -> Result<String, JsError> {
    #[derive(Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
    }
    let mut out = Vec::new();
    for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
        let entry = Entry::from_line(line).map_err(js)?;
        let kind: Kind = serde_json::from_str(entry.body.get()).map_err(js)?;
        if kind.kind == "ballot" {
            let code = tracking_code(entry.body.get().as_bytes());
            out.push(serde_json::json!({
                "index": entry.index,
                "code": hex::encode(code),
                "short": short_tracking_code(&code),
            }));
        }
    }
    to_json(&out)
}

/// SHA-256, hex (for the page's bundle self-check).
#[wasm_bindgen]
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::bundle::file_sha256(bytes)
}

/// The bundle hash from a `SHA256SUMS` text (SPEC.md §13.6).
#[wasm_bindgen]
pub fn bundle_hash(sums: &str) -> Result<String, JsError> {
    let pairs = crate::bundle::parse_sums(sums).map_err(js)?;
    Ok(hex::encode(crate::bundle::bundle_sha256(&pairs)))
}

/// Milliseconds per encrypt + prove of a ballot with one contest of five
/// options, vote for one, over `rounds` rounds (BENCHMARKS.md).
#[wasm_bindgen]
pub fn bench_encrypt(rounds: u32) -> Result<f64, JsError> {
    let pk = SecretKey::random(&mut OsRng).public_key();
    let fingerprint = Fingerprint::election(&[7; 32], &pk.to_non_identity());
    let credential = [9u8; 32];
    let ctx = BallotContext {
        fingerprint: &fingerprint,
        pk: &pk,
        credential: &credential,
    };
    let contest = Contest {
        id: "c".into(),
        title: "C".into(),
        options: (0..5)
            .map(|i| ContestOption {
                id: format!("o{i}"),
                label: format!("O{i}"),
            })
            .collect(),
        min_selections: 1,
        max_selections: 1,
        max_per_option: 1,
    };
    let contests = [contest];
    let choices = [vec![0, 0, 1, 0, 0]];
    let rounds = rounds.max(1);
    let start = js_sys::Date::now();
    for _ in 0..rounds {
        encrypt_ballot(&ctx, &contests, &choices, &mut OsRng).map_err(js)?;
    }
    Ok((js_sys::Date::now() - start) / f64::from(rounds))
}

/// The manifest (entry 0, checked: canonical line, signature by the board,
/// this election, the manifest rules of SPEC.md §10.7 and §11.3):
/// `{"title","trustees":[names],"threshold","contests":[{"id","title","options"}]}`.
#[wasm_bindgen]
pub fn manifest_summary(board_json: &str, election: &str, line: &str) -> Result<String, JsError> {
    let info: BoardInfo = parse("the board description", board_json).map_err(js)?;
    let board = Board::from_info(&info).map_err(js)?;
    let mut scan = SetupScan::new(election, board);
    scan.push_lines(line).map_err(js)?;
    let manifest = scan
        .manifest()
        .ok_or_else(|| js("entry 0 is not the manifest"))?;
    to_json(&serde_json::json!({
        "title": manifest.title,
        "trustees": manifest.trustees.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
        "threshold": manifest.threshold,
        "contests": manifest.contests.iter().map(|c| serde_json::json!({
            "id": c.id, "title": c.title, "options": c.options,
        })).collect::<Vec<_>>(),
    }))
}

/// When the election reached each state, from entry lines (any windows of
/// the log): `[{"state","index","time"}]` in log order.
#[wasm_bindgen]
pub fn timeline(jsonl: &str, threshold: u32) -> Result<String, JsError> {
    let mut t = crate::timeline::Timeline::new(threshold);
    t.push_lines(jsonl).map_err(js)?;
    to_json(&t.milestones())
}
