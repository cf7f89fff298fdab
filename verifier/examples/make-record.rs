//! Write a valid election record for the verifier's benchmark and demos
//! (no board needed: every role is played in process by
//! `psephos_verifier::testgen`).
//!
//! ```text
//! cargo run --release -p psephos-verifier --example make-record -- --ballots 100000 --out /tmp/record.jsonl
//! ```
//!
//! Writes the record (JSON Lines), the board's signed checkpoint next to it
//! (`/tmp/record.checkpoint`) and the board key as C2SP vkey text
//! (`/tmp/record.vkey`), then prints the command that verifies them.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use psephos_verifier::testgen::{contest, generate, ElectionSpec, FileSink};

/// Generate a valid Psephos election record.
#[derive(Debug, Parser)]
struct Args {
    /// Ballots cast in all (including revotes).
    #[arg(long, default_value_t = 100_000)]
    ballots: usize,
    /// Credentials that vote (default: 95% of the ballots, so 5% are revotes).
    #[arg(long)]
    voters: Option<usize>,
    /// Options of the one contest (vote for 1).
    #[arg(long, default_value_t = 5)]
    options: usize,
    /// Trustees.
    #[arg(long, default_value_t = 3)]
    trustees: u32,
    /// Threshold.
    #[arg(long, default_value_t = 2)]
    threshold: u32,
    /// Weighted credentials (weights 1, 2, 3, …).
    #[arg(long)]
    weighted: bool,
    /// A seed byte (records with the same arguments and seed are identical).
    #[arg(long, default_value_t = 7)]
    seed: u8,
    /// Where to write the record.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut spec = ElectionSpec::plurality(args.ballots);
    if let Some(v) = args.voters {
        spec.voters = v.max(1);
    }
    spec.contests = vec![contest("mayor", args.options, 1, 1, 1)];
    spec.trustees = args.trustees;
    spec.threshold = args.threshold;
    spec.weighted = args.weighted;
    spec.seed = [args.seed; 32];
    let started = Instant::now();
    let mut sink = FileSink::create(&args.out)?;
    let gen = generate(&spec, &mut sink, false)?;
    sink.finish()?;
    let checkpoint = args.out.with_extension("checkpoint");
    let vkey = args.out.with_extension("vkey");
    std::fs::write(&checkpoint, &gen.checkpoint)
        .with_context(|| format!("writing {}", checkpoint.display()))?;
    std::fs::write(&vkey, gen.board_vkey()? + "\n")
        .with_context(|| format!("writing {}", vkey.display()))?;
    eprintln!(
        "wrote {} entries ({} ballots) to {} in {:.1} s; counts {:?}",
        gen.entries,
        args.ballots,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        gen.counts
    );
    println!(
        "psephos-verify {} --checkpoint {} --board-key {} --election {} --require-result",
        args.out.display(),
        checkpoint.display(),
        vkey.display(),
        spec.election
    );
    Ok(())
}
