//! `psephos-vote`: cast a ballot, check a receipt, check an audit code,
//! from the command line (SPEC.md §13).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use psephos_voter::cast::{check_audit_code, AuditCode, PreparedBallot};
use psephos_voter::choice::parse_choices;
use psephos_voter::credential::Credential;
use psephos_voter::http::BoardClient;
use psephos_voter::receipt::{check_consistency, Consistency, Receipt};
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
    /// mirror still hold a log that extends it.
    CheckReceipt {
        /// The receipt file.
        receipt: PathBuf,
        /// The board's base URL (default: the one in the receipt).
        #[arg(long)]
        board: Option<String>,
        /// A mirror's base URL; repeat for several.
        #[arg(long)]
        mirror: Vec<String>,
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
        } => check_receipt(&receipt, board, &mirror),
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
    let mut receipt = Receipt::accept(
        &election.board,
        &info.key,
        election_id,
        ballot.body_text(),
        &answer,
        line.trim_end(),
    )?;
    receipt.board_url = Some(client.base().to_string());
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

fn check_receipt(path: &PathBuf, board: Option<String>, mirrors: &[String]) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let receipt = Receipt::from_json(&text)?;
    let identity = receipt.board()?;
    receipt.verify(&identity)?;
    println!(
        "receipt: entry {} is in the board-signed checkpoint of {} entries (tracking code {})",
        receipt.index, receipt.size, receipt.short_code
    );
    let Some(board) = board.or_else(|| receipt.board_url.clone()) else {
        bail!("the receipt names no board URL: pass --board");
    };
    let mut failures = 0;
    for (role, url) in
        std::iter::once(("board", &board)).chain(mirrors.iter().map(|m| ("mirror", m)))
    {
        match check_server(&receipt, &identity, url, role == "board") {
            Ok(Consistency::Consistent { size, cosigners }) => {
                let cos = if cosigners.is_empty() {
                    String::new()
                } else {
                    format!("; cosigned by {}", cosigners.join(", "))
                };
                println!("{role} {url}: consistent — its log of {size} entries extends the receipt's{cos}");
            }
            Ok(Consistency::Behind { size }) => {
                println!(
                    "{role} {url}: behind — it has {size} entries, the receipt {}",
                    receipt.size
                );
            }
            Err(e) => {
                failures += 1;
                println!("{role} {url}: FAILED — {e}");
            }
        }
    }
    if failures > 0 {
        bail!("{failures} server(s) failed the check");
    }
    Ok(())
}

/// A mirror's checkpoints are the board's, signed with the board key (and
/// cosigned by the mirror): they are opened with the receipt's key. The
/// board itself must also still name that key.
fn check_server(
    receipt: &Receipt,
    identity: &psephos_voter::election::Board,
    url: &str,
    is_board: bool,
) -> psephos_voter::Result<Consistency> {
    let client = BoardClient::new(url)?;
    if is_board {
        let info = client.board_info()?;
        if info.key != receipt.board_key {
            return Err(psephos_voter::VoterError::Board(format!(
                "it names the board key {}, the receipt {}",
                info.key, receipt.board_key
            )));
        }
    }
    let note = client.checkpoint(&receipt.election)?;
    let latest = identity.open_checkpoint(&receipt.election, &note)?;
    let proof = if latest.size > receipt.size {
        Some(client.consistency(&receipt.election, receipt.size, latest.size)?)
    } else {
        None
    };
    check_consistency(receipt, identity, &note, proof.as_ref())
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
