//! `psephos-trustee`: the command line of the trustee tool (SPEC.md §8.5,
//! §12). All logic is in the `psephos_trustee` library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use psephos_trustee::board::HttpBoard;
use psephos_trustee::credentials::{self, AuthorityKeyFile};
use psephos_trustee::keyfile::{Passphrase, WorkFactor};
use psephos_trustee::state::TrusteeKeyFile;
use psephos_trustee::steps::{self, Outcome};
use psephos_trustee::TrusteeError;
use rand_core::OsRng;

/// Exit status when a step is waiting for others (without `--wait`).
const EXIT_WAITING: u8 = 3;
/// Exit status when the board was caught lying about its log (SPEC.md
/// §14.2): equivocation (evidence written), rollback, or a second tally.
const EXIT_BOARD_CAUGHT: u8 = 4;

#[derive(Parser, Debug)]
#[command(
    name = "psephos-trustee",
    version,
    about = "Psephos trustee tool: threshold key ceremony, tally decryption and voter credentials",
    long_about = "Psephos trustee tool: threshold key ceremony, tally decryption and voter credentials.\n\n\
A trustee runs, in order: keygen (once; send the printed signing key to the administrator), \
register, round1, round2, ack, and after voting closes, decrypt. Every step reads the board's \
log, does only what is still missing, and says what it is waiting for, so it can be run again \
at any time (after a crash too). Add --wait to keep polling until the step can finish.\n\n\
Passphrases are read from PSEPHOS_PASSPHRASE if set, else from the terminal.",
    after_help = "Exit status: 0 done; 3 waiting for other trustees, the administrator, a \
board checkpoint covering voting_closed or the manifest witnesses' cosignatures (run again, or \
use --wait); 4 the board was caught lying about its log (SPEC.md §14.2): it signed two histories \
of the election (evidence written to <key file>.evidence-<election>.json and sent to the \
manifest's witnesses), rolled its log back, or asks to decrypt a tally other than the one this \
key file decrypted — nothing was posted, report it to the election's observers; 1 other error."
)]
struct Cli {
    /// scrypt work factor (log2 N) for key files written by this run;
    /// default: about one second of work on this machine.
    #[arg(long, global = true, env = "PSEPHOS_KEYFILE_WORK_FACTOR", value_parser = clap::value_parser!(u8).range(1..=30))]
    work_factor: Option<u8>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct Target {
    /// The board's base URL, e.g. https://board.example.org
    #[arg(long, env = "PSEPHOS_BOARD")]
    board: String,
    /// The election id.
    #[arg(long, env = "PSEPHOS_ELECTION")]
    election: String,
}

#[derive(Args, Debug)]
struct StepArgs {
    #[command(flatten)]
    target: Target,
    /// The trustee key file made by `keygen`.
    #[arg(long, env = "PSEPHOS_KEY")]
    key: PathBuf,
    /// Keep polling the board until the step can finish.
    #[arg(long)]
    wait: bool,
    /// With --wait: give up after this many seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    timeout: u64,
    /// With --wait: seconds between polls.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    poll: u64,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Make a trustee's signing key and share-encryption key, stored in a
    /// new passphrase-encrypted key file; prints the public signing key for
    /// the administrator's manifest.
    Keygen {
        /// Where to write the key file (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public keys of a trustee key file.
    ShowKey {
        /// The key file.
        #[arg(long, env = "PSEPHOS_KEY")]
        key: PathBuf,
    },
    /// Show the election's ceremony and voting progress, and (with --key)
    /// this trustee's stage.
    Status {
        #[command(flatten)]
        target: Target,
        /// A trustee key file, to show its stage.
        #[arg(long, env = "PSEPHOS_KEY")]
        key: Option<PathBuf>,
    },
    /// Post this trustee's share-encryption key (trustee_registration).
    Register(StepArgs),
    /// Round 1: deal a random polynomial, post the hash of the round-1
    /// message (dkg_commit), and once every trustee has committed, reveal it
    /// (dkg_commitments: Feldman commitments, proofs, encrypted shares).
    Round1(StepArgs),
    /// Round 2: decrypt and check the share every dealer sent this trustee;
    /// post a dkg_complaint with evidence for each bad one.
    Round2(StepArgs),
    /// After the administrator's finalize-keys: recompute the joint key from
    /// the log, check the board's, derive and check this trustee's key share,
    /// and post key_ack.
    Ack(StepArgs),
    /// After voting closes: recompute the encrypted tally from the log
    /// (checking every ballot's proofs) and post this trustee's partial
    /// decryption with its proofs. The key file remembers the board's
    /// largest signed checkpoint and the tally decrypted (SPEC.md §14.2):
    /// a forked, rewritten or rolled-back log, or a second tally, is
    /// refused (exit 4, evidence written beside the key file). It waits
    /// (exit 3) for a board checkpoint covering voting_closed, cosigned by
    /// the manifest's witness quorum.
    Decrypt(StepArgs),
    /// The credential authority's commands.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
}

#[derive(Subcommand, Debug)]
enum CredentialsCommand {
    /// Make the credential authority's signing key in a new key file; prints
    /// the public key for the manifest's credential_authority.
    Keygen {
        /// Where to write the key file (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Make one credential per voter, write the private codes (one per line,
    /// format psephos-cred-1:…) and post the signed public list. If --out
    /// already exists with --count codes (an interrupted run), those codes are
    /// reused.
    Generate {
        #[command(flatten)]
        target: Target,
        /// The credential authority key file.
        #[arg(long, env = "PSEPHOS_CA_KEY")]
        key: PathBuf,
        /// Number of voters.
        #[arg(long)]
        count: u64,
        /// One weight per line (an integer from 1 to 2^20), in voter order;
        /// blank lines and lines starting with # are skipped (default: 1 each).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Where to write the private codes (readable by the owner only).
        #[arg(long)]
        out: PathBuf,
    },
}

fn passphrase_for(path: &std::path::Path, confirm: bool) -> anyhow::Result<Passphrase> {
    Ok(Passphrase::from_env_or_prompt(
        &format!("Passphrase for {}: ", path.display()),
        confirm,
    )?)
}

fn run_step(
    args: &StepArgs,
    work: WorkFactor,
    step: fn(&HttpBoard, &mut TrusteeKeyFile, &str) -> psephos_trustee::Result<Outcome>,
) -> anyhow::Result<Outcome> {
    let board = HttpBoard::new(&args.target.board)?;
    let mut file = TrusteeKeyFile::open(&args.key, passphrase_for(&args.key, false)?, work)?;
    let election = args.target.election.as_str();
    if !args.wait {
        return Ok(step(&board, &mut file, election)?);
    }
    let outcome = steps::wait_for(
        Duration::from_secs(args.timeout),
        Duration::from_secs(args.poll.max(1)),
        || step(&board, &mut file, election),
        |o| {
            if let Outcome::Waiting {
                progress,
                waiting_for,
            } = o
            {
                if let Some(p) = progress {
                    eprintln!("{p}");
                }
                eprintln!("waiting for {waiting_for} …");
            }
        },
    )?;
    Ok(outcome)
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let work = WorkFactor(cli.work_factor);
    match cli.command {
        Command::Keygen { out } => {
            let pass = passphrase_for(&out, true)?;
            let file = TrusteeKeyFile::create(&out, pass, work, &mut OsRng)
                .with_context(|| format!("keygen {}", out.display()))?;
            Ok(Outcome::Done(format!(
                "wrote {}\nsigning key (send it to the administrator for the manifest): {}",
                out.display(),
                file.keys().author().to_hex()
            )))
        }
        Command::ShowKey { key } => {
            let file = TrusteeKeyFile::open(&key, passphrase_for(&key, false)?, work)?;
            Ok(Outcome::Done(format!(
                "signing key: {}\nencryption key Y: {}",
                file.keys().author().to_hex(),
                file.keys().encryption_public().as_point().to_hex()
            )))
        }
        Command::Status { target, key } => {
            let board = HttpBoard::new(&target.board)?;
            let file = match &key {
                Some(k) => Some(TrusteeKeyFile::open(k, passphrase_for(k, false)?, work)?),
                None => None,
            };
            Ok(Outcome::Done(steps::status(
                &board,
                &target.election,
                file.as_ref(),
            )?))
        }
        Command::Register(args) => run_step(&args, work, steps::register),
        Command::Round1(args) => run_step(&args, work, steps::round1),
        Command::Round2(args) => run_step(&args, work, steps::round2),
        Command::Ack(args) => run_step(&args, work, steps::ack),
        Command::Decrypt(args) => run_step(&args, work, steps::decrypt),
        Command::Credentials(CredentialsCommand::Keygen { out }) => {
            let pass = passphrase_for(&out, true)?;
            let file = AuthorityKeyFile::create(&out, &pass, work, &mut OsRng)?;
            Ok(Outcome::Done(format!(
                "wrote {}\ncredential authority key (for the manifest): {}",
                out.display(),
                file.author().to_hex()
            )))
        }
        Command::Credentials(CredentialsCommand::Generate {
            target,
            key,
            count,
            weights,
            out,
        }) => {
            let board = HttpBoard::new(&target.board)?;
            let authority = AuthorityKeyFile::open(&key, &passphrase_for(&key, false)?)?;
            let weights = weights
                .as_deref()
                .map(credentials::read_weights)
                .transpose()?;
            Ok(credentials::generate(
                &board,
                &target.election,
                &authority,
                count,
                weights,
                &out,
                &mut OsRng,
            )?)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Done(msg)) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Ok(waiting @ Outcome::Waiting { .. }) => {
            println!("{waiting}");
            println!("(run the same command again later, or add --wait)");
            ExitCode::from(EXIT_WAITING)
        }
        Err(e) => {
            let hint = match e.downcast_ref::<TrusteeError>() {
                Some(TrusteeError::WrongPassphrase { .. }) => {
                    "\nhint: check PSEPHOS_PASSPHRASE or retype the passphrase"
                }
                _ => "",
            };
            eprintln!("error: {e:#}{hint}");
            match e.downcast_ref::<TrusteeError>() {
                Some(t) if t.is_board_caught() => ExitCode::from(EXIT_BOARD_CAUGHT),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
