//! `psephos-verify`: re-check a whole Psephos election record (SPEC.md §11).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use psephos_crypto::log::CosignatureVerifier;
use psephos_verifier::source::{self, BoardClient};
use psephos_verifier::{parse_board_key, Mirror, Verifier, VerifyOptions};

/// Re-check a whole Psephos election record: hash chain and Merkle tree,
/// every signature, the manifest, the key ceremony, the credential list,
/// every ballot, the counted set, the tally, every partial decryption, the
/// result, and the board's signed checkpoint against any mirrors.
///
/// Prints a report with checks V1–V11 (numbered as in SPEC.md §11), each
/// with pass/fail, counts, and the log index of every failing entry.
/// Exit status: 0 when every check passes, 1 when one fails (or a check was
/// skipped without --allow-unsigned), 2 when the record could not be read.
#[derive(Debug, Parser)]
#[command(name = "psephos-verify", version, after_help = EXAMPLES)]
struct Args {
    /// The record: a JSON Lines file as written by `psephos-board export`
    /// (`-` for standard input), or a board's URL (https://…), whose log is
    /// paged from /api/v1/elections/{id}/entries.
    record: String,

    /// The election id. Required with a board URL that hosts several
    /// elections; with a file, the record must be this election.
    #[arg(long, value_name = "ID")]
    election: Option<String>,

    /// Write the report as JSON to this file (`-` for standard output; the
    /// text report then goes to standard error).
    #[arg(long, value_name = "REPORT")]
    json: Option<PathBuf>,

    /// A mirror's URL: its signed checkpoint must agree with the record
    /// (same root at the same size, or a verified consistency proof).
    /// Repeatable.
    #[arg(long, value_name = "URL")]
    mirror: Vec<String>,

    /// The board's signed checkpoint note (with a record file; a board URL
    /// serves it). Without one, check V11 is skipped, which fails the
    /// verification unless --allow-unsigned is given.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,

    /// The board's checkpoint key, as C2SP vkey text
    /// (`name+keyid+base64`) or a file holding it. Pins the key: the
    /// manifest and every checkpoint must be signed by it. Without it, a
    /// file's checkpoint is checked against the manifest's signer, and a
    /// board URL's against the key the board serves.
    #[arg(long, value_name = "VKEY_OR_FILE")]
    board_key: Option<String>,

    /// The board's origin (checkpoints must name `<origin>/<election>`).
    /// A board URL serves it.
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,

    /// A mirror's cosigning key (C2SP vkey text or a file); its
    /// cosignatures on the checkpoints are verified. Repeatable.
    #[arg(long, value_name = "VKEY_OR_FILE")]
    cosigner: Vec<String>,

    /// How many of the --cosigner keys must have cosigned each checkpoint.
    #[arg(long, value_name = "N", default_value_t = 0)]
    min_cosignatures: usize,

    /// Fail when the record has no result (use on a finished election).
    #[arg(long)]
    require_result: bool,

    /// Fail unless the board's signed checkpoint covers the outcome
    /// (voting_closed, the partial decryptions, the result) and carries
    /// valid cosignatures of at least the quorum of witnesses the manifest
    /// names (SPEC.md §11.11, §14.1): proof that the board showed this one
    /// history to them. The JSON report lists which witness cosigned which
    /// size.
    #[arg(long)]
    require_cosignatures: bool,

    /// Pass even without a signed checkpoint (V11 skipped). Nothing then
    /// shows that the record is the one the board published.
    #[arg(long)]
    allow_unsigned: bool,

    /// Do not print the text report (the exit status still tells).
    #[arg(long, short)]
    quiet: bool,

    /// Ballots per chunk of parallel batch verification.
    #[arg(long, value_name = "N", default_value_t = psephos_verifier::DEFAULT_CHUNK, hide = true)]
    chunk: usize,
}

const EXAMPLES: &str = "\
Examples:
  psephos-verify record.jsonl --checkpoint record.checkpoint --board-key record.vkey
  psephos-verify https://board.example --election mayor-2026 --mirror https://mirror.example
  psephos-verify record.jsonl --allow-unsigned --json report.json";

/// Text that is either the value itself or the name of a file holding it.
fn text_or_file(value: &str) -> Result<String> {
    let path = Path::new(value);
    if path.is_file() {
        Ok(std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .trim()
            .to_string())
    } else {
        Ok(value.trim().to_string())
    }
}

fn bar_style(bytes: bool) -> Option<ProgressStyle> {
    let template = if bytes {
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta})"
    } else {
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} entries ({eta})"
    };
    ProgressStyle::with_template(template).ok()
}

/// A progress bar on standard error, hidden when it is not a terminal.
fn progress_bar(len: Option<u64>, bytes: bool) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    } else if let (Some(_), Some(style)) = (len, bar_style(bytes)) {
        bar.set_style(style);
    }
    bar
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn run(args: Args) -> Result<bool> {
    let mut opts = VerifyOptions {
        source: args.record.clone(),
        election: args.election.clone(),
        require_result: args.require_result,
        require_cosignatures: args.require_cosignatures,
        allow_unsigned: args.allow_unsigned,
        chunk_size: args.chunk.max(1),
        min_cosignatures: args.min_cosignatures,
        board_origin: args.origin.clone(),
        ..VerifyOptions::default()
    };
    if let Some(k) = &args.board_key {
        opts.board_key = Some(parse_board_key(&text_or_file(k)?)?);
    }
    for c in &args.cosigner {
        let text = text_or_file(c)?;
        opts.cosigners.push(
            CosignatureVerifier::from_vkey(&text)
                .map_err(|e| anyhow::anyhow!("invalid --cosigner key {text:?}: {e}"))?,
        );
    }
    for m in &args.mirror {
        if !is_url(m) {
            bail!("--mirror takes a URL (http:// or https://), not {m:?}");
        }
        opts.mirrors
            .push(Box::new(BoardClient::new(m)?) as Box<dyn Mirror>);
    }
    let mut warnings = Vec::new();

    let report = if is_url(&args.record) {
        let board = BoardClient::new(&args.record)?;
        let election = match &args.election {
            Some(e) => e.clone(),
            None => {
                let list = board.elections().context("listing the board's elections")?;
                match list.as_slice() {
                    [only] => only.clone(),
                    [] => bail!("the board lists no election"),
                    many => bail!(
                        "the board hosts several elections; pick one with --election ({})",
                        many.join(", ")
                    ),
                }
            }
        };
        opts.election = Some(election.clone());
        if args.checkpoint.is_some() {
            warnings.push(
                "--checkpoint is ignored with a board URL: the board's own checkpoint is checked"
                    .to_string(),
            );
        }
        match board.board_info() {
            Ok(info) => {
                let served = parse_board_key(&info.key)
                    .context("the board serves an invalid key at /api/v1/board")?;
                if let Some(pinned) = &opts.board_key {
                    if pinned != &served {
                        bail!(
                            "the board serves key {} but --board-key pins {}",
                            served.to_vkey(),
                            pinned.to_vkey()
                        );
                    }
                } else {
                    warnings.push(format!(
                        "the board key was taken from the board itself ({}); pin it with --board-key to rule out an impostor",
                        served.to_vkey()
                    ));
                    opts.board_key = Some(served);
                }
                opts.board_origin.get_or_insert(info.origin);
            }
            Err(e) => warnings.push(format!("could not fetch the board's key: {e}")),
        }
        // The checkpoint first: the entries fetched after it cover it.
        match board.checkpoint_note(&election) {
            Ok(note) => opts.checkpoint = Some(note),
            Err(e) => warnings.push(format!("could not fetch the board's checkpoint: {e}")),
        }
        let mut verifier = Verifier::new(opts);
        let bar = progress_bar(None, false);
        let mut sized = false;
        let read = board.for_each_entry(&election, |line, size| {
            if !sized {
                if let (Some(s), Some(style)) = (size, bar_style(false)) {
                    bar.set_length(s);
                    bar.set_style(style);
                }
                sized = true;
            }
            verifier.push_line(line);
            bar.inc(1);
        });
        bar.finish_and_clear();
        if let Err(e) = read {
            verifier.input_failed(&e.to_string());
        }
        verifier.finish()
    } else {
        if let Some(path) = &args.checkpoint {
            opts.checkpoint = Some(source::read_text(path)?);
        }
        let path = Path::new(&args.record);
        let size = std::fs::metadata(path).ok().map(|m| m.len());
        if args.record != "-" && size.is_none() {
            bail!("cannot read {}", path.display());
        }
        let mut verifier = Verifier::new(opts);
        let bar = progress_bar(size, true);
        let mut pending = 0u64;
        let read = source::for_each_line_of_path(path, |line, bytes| {
            verifier.push_line(line);
            pending += bytes;
            if pending > 1 << 20 {
                bar.inc(pending);
                pending = 0;
            }
        });
        bar.finish_and_clear();
        if let Err(e) = read {
            verifier.input_failed(&e.to_string());
        }
        verifier.finish()
    };

    let mut report = report;
    report.warnings.splice(0..0, warnings);
    let text = report.render_text();
    let json_to_stdout = args.json.as_deref() == Some(Path::new("-"));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        if json_to_stdout {
            println!("{json}");
        } else {
            std::fs::write(path, json + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    if !args.quiet {
        if json_to_stdout {
            eprint!("{text}");
        } else {
            print!("{text}");
            std::io::stdout().flush()?;
        }
    }
    Ok(report.passed)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("psephos-verify: {e:#}");
            ExitCode::from(2)
        }
    }
}
