//! Building a ballot, its tracking code, and the Benaloh audit
//! (DESIGN.md §1, SPEC.md §6.5–§6.6, §13.2–§13.3).
//!
//! [`PreparedBallot::new`] encrypts the choices, writes the body text
//! **once** (`serde_json::to_string` of the body), signs exactly that text
//! and hashes exactly that text into the tracking code. The voter then
//! either casts it ([`PreparedBallot::post_json`], the bytes sent) or audits
//! it ([`PreparedBallot::audit`], which consumes it: an audited ballot can
//! never be cast).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use psephos_crypto::ballot::{
    check_audit, encrypt_ballot, short_tracking_code, tracking_code, verify_ballot, BallotContext,
    BallotSecrets, EncryptedBallot,
};
use psephos_crypto::record::{
    open_signed, parse_body, AuthorKey, Body, Payload, Post, SignatureHex,
};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::choice::check_all;
use crate::credential::Credential;
use crate::election::Election;
use crate::error::{Result, VoterError};

/// The prefix of an audit code (SPEC.md §13.3).
pub const AUDIT_PREFIX: &str = "psephos-audit-v1:";

/// An encrypted, signed ballot whose tracking code has been shown, waiting
/// for the voter to cast or audit it.
pub struct PreparedBallot {
    election: String,
    board: Option<String>,
    body_text: String,
    signature: SignatureHex,
    tracking: [u8; 32],
    secrets: BallotSecrets,
}

impl std::fmt::Debug for PreparedBallot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreparedBallot({})", self.short_code())
    }
}

impl PreparedBallot {
    /// Check the choices (with sentences), encrypt them with every proof
    /// (SPEC.md §6.2), write and sign the body (SPEC.md §9.1).
    pub fn new<R: RngCore + CryptoRng>(
        election: &Election,
        credential: &Credential,
        choices: &[Vec<u64>],
        rng: &mut R,
    ) -> Result<Self> {
        if let Some(first) = check_all(election.contests(), choices).into_iter().next() {
            return Err(first.into());
        }
        let author = credential.public_key();
        let ctx = BallotContext {
            fingerprint: &election.fingerprint,
            pk: &election.pk,
            credential: &author,
        };
        let (ballot, secrets) = encrypt_ballot(&ctx, election.contests(), choices, rng)?;
        let body = Body {
            election: election.id.clone(),
            author: AuthorKey(author),
            payload: Payload::Ballot(ballot),
        };
        // SPEC.md §9.1: the record module writes the canonical body and
        // signs it; the client keeps those exact bytes.
        let post = Post::sign(&body, credential.signing_key())
            .map_err(|e| VoterError::input(format!("the ballot could not be written: {e}")))?;
        let body_text = post.body_text().to_owned();
        let signature = post.signature;
        Ok(PreparedBallot {
            election: election.id.clone(),
            board: None,
            tracking: tracking_code(body_text.as_bytes()),
            body_text,
            signature,
            secrets,
        })
    }

    /// Name the board in the audit code (a hint for the checking device).
    pub fn with_board_url(mut self, url: &str) -> Self {
        self.board = Some(url.to_string());
        self
    }

    /// The full tracking code (SPEC.md §6.6).
    pub fn tracking_code(&self) -> [u8; 32] {
        self.tracking
    }

    /// The short tracking code, e.g. `3F2A-9C01-77B4-E5D0`.
    pub fn short_code(&self) -> String {
        short_tracking_code(&self.tracking)
    }

    /// The exact body text signed and hashed.
    pub fn body_text(&self) -> &str {
        &self.body_text
    }

    /// The post to send: `{"body":<body text>,"signature":"<hex>"}`.
    pub fn post_json(&self) -> Result<String> {
        let post = Post {
            body: RawValue::from_string(self.body_text.clone())
                .map_err(|e| VoterError::input(format!("the ballot could not be written: {e}")))?,
            signature: self.signature,
        };
        serde_json::to_string(&post)
            .map_err(|e| VoterError::input(format!("the ballot could not be written: {e}")))
    }

    /// Spoil this ballot by revealing its secrets (Benaloh challenge). The
    /// ballot is consumed: it can no longer be cast.
    pub fn audit(self) -> Result<AuditCode> {
        let data = AuditData {
            version: 1,
            election: self.election.clone(),
            board: self.board.clone(),
            body: self.body_text.clone(),
            secrets: self.secrets.clone(),
        };
        AuditCode::encode(&data)
    }
}

/// What an audit code carries (SPEC.md §13.3).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditData {
    /// Format version: 1.
    pub version: u32,
    /// The election id.
    pub election: String,
    /// The board the ballot was made for (a hint; the checker may ask another).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board: Option<String>,
    /// The ballot body text exactly as signed and hashed.
    pub body: String,
    /// The revealed choices and randomness.
    pub secrets: BallotSecrets,
}

/// An audit code: `psephos-audit-v1:` ‖ base64url (no padding) of the
/// [`AuditData`] JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditCode(pub String);

impl AuditCode {
    fn encode(data: &AuditData) -> Result<Self> {
        let json = serde_json::to_string(data)
            .map_err(|e| VoterError::input(format!("the audit code could not be written: {e}")))?;
        Ok(AuditCode(format!(
            "{AUDIT_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(json)
        )))
    }

    /// Read an audit code (white space anywhere is ignored).
    pub fn decode(text: &str) -> Result<AuditData> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let payload = compact.strip_prefix(AUDIT_PREFIX).ok_or_else(|| {
            VoterError::input(format!(
                "This is not an audit code: it should start with “{AUDIT_PREFIX}”."
            ))
        })?;
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| {
            VoterError::input("This audit code is damaged: it is not valid base64url.")
        })?;
        let data: AuditData = serde_json::from_slice(&json)
            .map_err(|e| VoterError::input(format!("This audit code is damaged: {e}.")))?;
        if data.version != 1 {
            return Err(VoterError::input(format!(
                "This audit code has version {}; this program reads version 1.",
                data.version
            )));
        }
        Ok(data)
    }
}

/// The result of checking an audit code: what the ballot really says.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// The election id.
    pub election: String,
    /// The full tracking code, hex.
    pub tracking_code: String,
    /// The short tracking code.
    pub short_code: String,
    /// Per contest: its title and each option's label and value.
    pub contests: Vec<AuditedContest>,
}

/// One contest of an audited ballot.
#[derive(Clone, Debug, Serialize)]
pub struct AuditedContest {
    /// The contest title.
    pub title: String,
    /// `(option label, value)` in ballot order.
    pub values: Vec<(String, u64)>,
}

impl AuditReport {
    /// The report as lines a voter compares with what they chose.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Audit passed: ballot {} ({}) encrypts exactly these choices:\n",
            self.short_code, self.election
        );
        for c in &self.contests {
            let chosen: Vec<String> = c
                .values
                .iter()
                .filter(|(_, v)| *v > 0)
                .map(|(l, v)| {
                    if *v == 1 {
                        l.clone()
                    } else {
                        format!("{l}: {v}")
                    }
                })
                .collect();
            let chosen = if chosen.is_empty() {
                "(nothing)".to_string()
            } else {
                chosen.join(", ")
            };
            out.push_str(&format!("  {}: {chosen}\n", c.title));
        }
        out.push_str(&format!("Full tracking code: {}\n", self.tracking_code));
        out
    }
}

/// Check an audit code against an election the checker learned itself
/// (SPEC.md §13.3): same election; the body parses as a ballot of that
/// election; every proof holds for its author; and re-encrypting the
/// revealed values with the revealed randomness under `PK` gives exactly the
/// ballot's ciphertexts (SPEC.md §6.5).
pub fn check_audit_code(election: &Election, code: &str) -> Result<AuditReport> {
    let data = AuditCode::decode(code)?;
    if data.election != election.id {
        return Err(VoterError::input(format!(
            "This audit code is for election “{}”, not “{}”.",
            data.election, election.id
        )));
    }
    let ballot = parse_ballot_body(election, &data.body)?;
    let author = ballot.0;
    let ctx = BallotContext {
        fingerprint: &election.fingerprint,
        pk: &election.pk,
        credential: &author,
    };
    verify_ballot(&ctx, election.contests(), &ballot.1).map_err(|e| {
        VoterError::Input(format!(
            "Audit FAILED: the ballot's proofs do not hold ({e})."
        ))
    })?;
    check_audit(&election.pk, election.contests(), &ballot.1, &data.secrets)
        .map_err(|e| VoterError::Input(format!("Audit FAILED: {e}.")))?;
    let code = tracking_code(data.body.as_bytes());
    let contests = election
        .contests()
        .iter()
        .zip(&data.secrets.values)
        .map(|(c, vs)| AuditedContest {
            title: c.title.clone(),
            values: c
                .options
                .iter()
                .zip(vs)
                .map(|(o, v)| (o.label.clone(), *v))
                .collect(),
        })
        .collect();
    Ok(AuditReport {
        election: election.id.clone(),
        tracking_code: hex::encode(code),
        short_code: short_tracking_code(&code),
        contests,
    })
}

/// The audited body must be one the board would take: a ballot body in
/// canonical form (SPEC.md §9.1.1), so that its tracking code is the one
/// the cast ballot would have had.
fn parse_ballot_body(election: &Election, body_text: &str) -> Result<([u8; 32], EncryptedBallot)> {
    let body = parse_body(body_text)
        .map_err(|e| VoterError::input(format!("The audited ballot is damaged: {e}.")))?;
    if body.election != election.id {
        return Err(VoterError::input(
            "The audited ballot is for another election.",
        ));
    }
    match body.payload {
        Payload::Ballot(b) => Ok((body.author.0, b)),
        other => Err(VoterError::input(format!(
            "The audit code holds a {} entry, not a ballot.",
            other.type_name()
        ))),
    }
}

/// Check a post the client wrote: its signature verifies over the exact
/// text (a self-test before sending).
pub fn self_check(post_json: &str) -> Result<()> {
    let post: Post = serde_json::from_str(post_json)
        .map_err(|e| VoterError::input(format!("the ballot could not be read back: {e}")))?;
    open_signed(post.body_text(), &post.signature)?;
    Ok(())
}
