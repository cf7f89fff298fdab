//! `psephos-vote`: cast a ballot, check a receipt, check an audit code,
//! from the command line (SPEC.md §13).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use psephos_crypto::log::evidence::Evidence;
use psephos_voter::cast::{check_audit_code, AuditCode, PreparedBallot};
use psephos_voter::choice::parse_choices;
use psephos_voter::credential::Credential;
use psephos_voter::http::BoardClient;
use psephos_voter::receipt::Receipt;
use psephos_voter::recheck::{judge, proofs_to_ask, Outcome, Sighting, Verdict};
use rand_core::OsRng;

/// The Psephos voter's command line.
///
/// Encrypts on this machine: the choices never leave it. Every answer of
/// the board is checked against its signed checkpoints.
#[derive(Parser, Debug)]
#[command(name = "psephos-vote", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Encrypt, sign and cast a ballot; prints the checked receipt (JSON).
    ///
    /// Example: psephos-vote cast --board http://127.0.0.1:8080 --election mayor-2026
    ///   --credential my.credential --choose mayor=alice --choose budget=parks:5,roads:3
    Cast {
        /// The board's base URL.
        #[arg(long)]
        board: String,
        /// The election id.
        #[arg(long)]
        election: String,
        /// File holding your credential: the psephos-cred-1:… code the
        /// credential authority gave you (or its 64-hex-digit seed).
        #[arg(long)]
        credential: PathBuf,
        /// CONTEST=OPTION[,OPTION…] to select options, CONTEST=OPTION:POINTS[,…] to give points;
        /// once per contest.
        #[arg(long = "choose", value_name = "CONTEST=CHOICES")]
        choose: Vec<String>,
        /// Audit instead of casting: print an audit code and cast nothing.
        #[arg(long)]
        audit: bool,
        /// Also write the receipt to this file.
        #[arg(long)]
        receipt: Option<PathBuf>,
    },
    /// Check a receipt: its inclusion proof, then that the board and every
    /// witness the election names show one history that holds the ballot,
    /// and whether the witness quorum has cosigned it.
    ///
    /// Needs nothing but the receipt file: it names the board and the
    /// witnesses. Exit status: 0 the ballot is in the one history and
    /// cosigned by the quorum; 3 it is, but the quorum has not cosigned yet
    /// (try again later); 4 the board signed two histories (a fork): the
    /// evidence is written to --evidence and sent to every witness; 1 any
    /// other failure.
    CheckReceipt {
        /// The receipt file (as the voting page or `cast --receipt` saved it).
        receipt: PathBuf,
        /// The board's base URL (default: the one in the receipt).
        #[arg(long)]
        board: Option<String>,
        /// Another mirror to compare with (repeatable); its cosignatures
        /// count only if the manifest names it as a witness.
        #[arg(long)]
        mirror: Vec<String>,
        /// Where to write fork evidence (default: the receipt's path with
        /// `.evidence.json` appended).
        #[arg(long)]
        evidence: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check an audit code: re-encrypt the revealed choices with the
    /// revealed randomness and compare with the ballot.
    AuditCheck {
        /// The audit code, or a file holding it.
        audit: String,
        /// The board or mirror to learn the election from (default: the one in the code).
        #[arg(long)]
        board: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Cast {
            board,
            election,
            credential,
            choose,
            audit,
            receipt,
        } => cast(&board, &election, &credential, &choose, audit, receipt),
        Command::CheckReceipt {
            receipt,
            board,
            mirror,
            evidence,
            json,
        } => {
            let code = check_receipt(&receipt, board, &mirror, evidence, json)?;
            if code != 0 {
                std::process::exit(code);
            }
            Ok(())
        }
        Command::AuditCheck { audit, board } => audit_check(&audit, board),
    }
}

fn cast(
    url: &str,
    election_id: &str,
    credential: &PathBuf,
    choose: &[String],
    audit: bool,
    receipt_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(credential)
        .with_context(|| format!("cannot read the credential file {}", credential.display()))?;
    let credential = Credential::parse(&text)?;
    let client = BoardClient::new(url)?;
    let (election, info) = client.election(election_id)?;
    let choices = parse_choices(election.contests(), choose)?;
    election.require_open()?;
    let ballot =
        PreparedBallot::new(&election, &credential, &choices, &mut OsRng)?.with_board_url(url);
    eprintln!(
        "Tracking code: {}  ({})",
        ballot.short_code(),
        hex::encode(ballot.tracking_code())
    );
    if audit {
        let code = ballot.audit()?;
        eprintln!(
            "Audited: this ballot is spoiled and was not cast. Check it on another device with"
        );
        eprintln!("  psephos-vote audit-check <code>");
        println!("{}", code.0);
        return Ok(());
    }
    let answer = client.post_ballot(election_id, ballot.post_json()?)?;
    let line = client.entries(election_id, answer.index, answer.index + 1)?;
    let receipt = Receipt::accept(
        &election.board,
        &info.key,
        election_id,
        ballot.body_text(),
        &answer,
        line.trim_end(),
    )?;
    let receipt = receipt.naming(client.base(), &election.manifest);
    let json = receipt.to_json();
    if let Some(path) = receipt_file {
        std::fs::write(&path, format!("{json}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!(
        "Your ballot is in the public record: entry {} of {}, tracking code {}.",
        receipt.index, receipt.size, receipt.short_code
    );
    println!("{json}");
    Ok(())
}

fn check_receipt(
    path: &PathBuf,
    board: Option<String>,
    mirrors: &[String],
    evidence_file: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<i32> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut receipt = Receipt::from_json(&text)?;
    let identity = receipt.board()?;
    receipt.verify(&identity)?;
    eprintln!(
        "receipt: entry {} is in the board-signed checkpoint of {} entries (tracking code {})",
        receipt.index, receipt.size, receipt.short_code
    );
    if let Some(url) = board {
        receipt.board_url = Some(url);
    }
    let Some(board_url) = receipt.board_url.clone() else {
        bail!("the receipt names no board URL: pass --board URL");
    };
    let mut sightings = vec![sight_board(&receipt, &board_url)];
    // The receipt's witnesses, then the other mirrors given.
    let witness_urls: Vec<(String, String)> = receipt
        .witnesses
        .iter()
        .map(|w| (w.name.clone(), w.url.clone()))
        .chain(mirrors.iter().map(|m| ("mirror".to_owned(), m.clone())))
        .collect();
    let witnesses = receipt.witnesses.len();
    for (name, url) in &witness_urls {
        sightings.push(sight(&receipt.election, name, url));
    }
    let asks = proofs_to_ask(&receipt, &identity, &sightings)?;
    let proofs: Vec<_> = asks
        .iter()
        .filter_map(|a| {
            BoardClient::new(&a.url)
                .and_then(|c| c.consistency(&receipt.election, a.from, a.to))
                .ok()
        })
        .collect();
    let report = judge(&receipt, &identity, &sightings, &proofs, now())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for s in &report.servers {
            println!("{} {}: {}", s.server, s.url, outcome_text(&s.outcome));
        }
        println!("{}", report.summary);
    }
    Ok(match (&report.evidence, report.verdict) {
        (Some(evidence), _) => {
            let file = evidence_file.unwrap_or_else(|| {
                let mut p = path.as_os_str().to_owned();
                p.push(".evidence.json");
                PathBuf::from(p)
            });
            std::fs::write(&file, serde_json::to_vec_pretty(evidence)?)
                .with_context(|| format!("cannot write the evidence to {}", file.display()))?;
            eprintln!("evidence written to {}", file.display());
            for (name, url) in &witness_urls[..witnesses] {
                eprintln!(
                    "witness {name}: {}",
                    post_evidence(url, &receipt.election, evidence)
                );
            }
            4
        }
        (None, Verdict::Witnessed) => 0,
        (None, Verdict::Waiting) => 3,
        (None, _) => 1,
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Holds { size } => format!("its log of {size} entries holds the ballot"),
        Outcome::Behind { size } => {
            format!("behind — it has {size} entries, not yet the receipt's")
        }
        Outcome::Unreachable { why } => format!("unreachable — {why}"),
        Outcome::Failed { why } => format!("FAILED — {why}"),
        Outcome::Fork { why } => format!("FORK — {why}"),
    }
}

/// The board's latest checkpoint, if it still names the receipt's key
/// (a board under another key is refused: `note` empty, `error` why).
fn sight_board(receipt: &Receipt, url: &str) -> Sighting {
    let key = BoardClient::new(url).and_then(|c| c.board_info());
    match key {
        Ok(info) if info.key != receipt.board_key => Sighting {
            server: "board".into(),
            url: url.to_owned(),
            note: Some(String::new()),
            error: Some(format!(
                "it names the board key {}, the receipt {}",
                info.key, receipt.board_key
            )),
        },
        _ => sight(&receipt.election, "board", url),
    }
}

fn sight(election: &str, server: &str, url: &str) -> Sighting {
    let got = BoardClient::new(url).and_then(|c| c.checkpoint(election));
    let (note, error) = match got {
        Ok(note) => (Some(note), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Sighting {
        server: server.to_owned(),
        url: url.to_owned(),
        note,
        error,
    }
}

/// `POST {witness}/api/v1/elections/{id}/equivocation` (SPEC.md §10.9.4).
fn post_evidence(url: &str, election: &str, evidence: &Evidence) -> String {
    match BoardClient::new(url).and_then(|c| c.post_evidence(election, evidence)) {
        Ok(()) => "accepted the evidence".into(),
        Err(e) => format!("did not take the evidence: {e}"),
    }
}

fn audit_check(audit: &str, board: Option<String>) -> anyhow::Result<()> {
    let code = match std::fs::read_to_string(audit) {
        Ok(text) => text,
        Err(_) => audit.to_string(),
    };
    let data = AuditCode::decode(&code)?;
    let Some(url) = board.or(data.board) else {
        bail!("the audit code names no board: pass --board URL (any mirror works)");
    };
    let (election, _) = BoardClient::new(&url)?.election(&data.election)?;
    let report = check_audit_code(&election, &code)?;
    print!("{}", report.to_text());
    Ok(())
}
