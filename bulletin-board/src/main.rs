//! `psephos-board`: the bulletin board's command line (SPEC.md §10).
//!
//! * `init --data-dir D` — signing key, schema, admin token (printed once);
//! * `serve --data-dir D --listen ADDR` — the HTTP API;
//! * `export --data-dir D --election ID [--out FILE]` — the JSON Lines record;
//! * `bench` — the ingest benchmark (BENCHMARKS.md);
//! * `demo` — a whole election on loopback, every role included (`demo.rs`).
//!
//! `DATABASE_URL=postgres://…` selects PostgreSQL instead of the data
//! directory's SQLite file.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use psephos_board::store::Store;
use psephos_board::{Board, Config, Limits};

mod demo;

#[derive(Parser)]
#[command(name = "psephos-board", version, about = "Psephos bulletin board")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the data directory, the board's signing key, the schema and an admin token.
    Init {
        /// Holds the signing key (and the SQLite database unless DATABASE_URL is set).
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Serve the API.
    Serve {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Checkpoint origin prefix (the origin is "<origin>/<election id>").
        #[arg(long, default_value = "psephos-board")]
        origin: String,
        /// Largest request body in bytes.
        #[arg(long, default_value_t = 16 << 20)]
        max_body_bytes: usize,
        /// Largest ballot body in bytes.
        #[arg(long, default_value_t = 256 << 10)]
        max_ballot_bytes: usize,
        /// Request timeout in seconds.
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
        /// Requests per second per client address (0: no limit).
        #[arg(long, default_value_t = 200.0)]
        rate_limit: f64,
        /// Burst of the per-client limit.
        #[arg(long, default_value_t = 400.0)]
        rate_burst: f64,
    },
    /// Write an election's record as JSON Lines.
    Export {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        election: String,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Ingest benchmark: a simulated ceremony, then N ballots over HTTP.
    Bench {
        /// Number of ballots.
        #[arg(long, default_value_t = 100_000)]
        ballots: usize,
        /// Concurrent HTTP clients.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Options of the one plurality contest.
        #[arg(long, default_value_t = 5)]
        options: usize,
        /// Run on a fresh database of this PostgreSQL server (e.g.
        /// postgres://postgres@127.0.0.1:5432/test) instead of SQLite.
        #[arg(long)]
        postgres: Option<String>,
    },
    /// A complete election on this machine over loopback HTTP: board,
    /// credential authority, trustees, voters, tally and verifier.
    Demo(demo::DemoArgs),
}

fn database_url() -> Option<String> {
    std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: draining requests");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Init { data_dir } => {
            let token = psephos_board::init(&data_dir, database_url().as_deref()).await?;
            println!("admin token (shown once, stored only as its SHA-256): {token}");
        }
        Command::Serve {
            data_dir,
            listen,
            origin,
            max_body_bytes,
            max_ballot_bytes,
            timeout_secs,
            rate_limit,
            rate_burst,
        } => {
            let config = Config {
                data_dir,
                database_url: database_url(),
                origin,
                limits: Limits {
                    max_body_bytes,
                    max_ballot_bytes,
                    request_timeout: Duration::from_secs(timeout_secs),
                    rate_per_sec: rate_limit,
                    rate_burst,
                    ..Limits::default()
                },
            };
            let board = Board::open(&config).await?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            tracing::info!(%listen, origin = %config.origin, "serving");
            psephos_board::serve(board.clone(), listener, shutdown_signal()).await?;
            board.store.close().await;
        }
        Command::Export {
            data_dir,
            election,
            out,
        } => {
            let store = Store::open(&data_dir, database_url().as_deref()).await?;
            let head = store
                .head(&election)
                .await?
                .with_context(|| format!("no election {election:?}"))?;
            let mut w: Box<dyn Write> = match &out {
                Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut start = 0;
            while start < head.size {
                let end = (start + 10_000).min(head.size);
                for line in store.lines(&election, start, end).await? {
                    writeln!(w, "{line}")?;
                }
                start = end;
            }
            w.flush()?;
            store.close().await;
        }
        Command::Bench {
            ballots,
            clients,
            options,
            postgres,
        } => {
            let report = psephos_board::bench::run(psephos_board::bench::BenchOptions {
                ballots,
                clients,
                options,
                postgres,
            })
            .await?;
            println!("{report}");
        }
        Command::Demo(args) => demo::run(args).await?,
    }
    Ok(())
}
