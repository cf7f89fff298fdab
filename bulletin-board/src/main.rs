//! `psephos-board`: the bulletin board's command line (SPEC.md §10).
//!
//! * `init --data-dir D` — signing key, schema, admin token (printed once);
//! * `serve --data-dir D --listen ADDR [--web-dir DIR]` — the HTTP API and
//!   the voting and election pages (SPEC.md §13.6);
//! * `export --data-dir D --election ID [--out FILE]` — the JSON Lines record;
//! * `bench` — the ingest benchmark (BENCHMARKS.md);
//! * `demo` — a whole election on loopback, every role included (`demo.rs`);
//! * `mirror --upstream URL` — follow, check, serve and cosign a board's
//!   logs (SPEC.md §10.9); exit status 3 on equivocation and 4 on an
//!   invalid entry with `--once`;
//! * `add-mirror --data-dir D --vkey VKEY` — accept a mirror's cosignatures.
//!
//! `DATABASE_URL=postgres://…` selects PostgreSQL instead of the data
//! directory's SQLite file.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use psephos_board::mirror::{self, Mirror, MirrorConfig};
use psephos_board::pages;
use psephos_board::store::Store;
use psephos_board::{Board, Config, Limits};

mod demo;

/// Psephos bulletin board: the public, append-only record of elections
/// (hash chain, RFC 6962 Merkle tree, signed checkpoints), its mirrors,
/// and a demo and benchmark of the whole system.
///
/// Storage is the SQLite file board.sqlite3 in --data-dir, or the
/// PostgreSQL database named by the environment variable
/// DATABASE_URL=postgres://user@host:port/db (the same for init, serve,
/// export, add-mirror and mirror). RUST_LOG sets the log level (default
/// info); logs go to standard error.
#[derive(Parser)]
#[command(name = "psephos-board", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Connection limits of the HTTP server (SPEC.md §10.7), for `serve` and
/// for `mirror --listen`.
#[derive(Args, Clone, Debug)]
struct ConnectionArgs {
    /// Seconds a client may take to send a request's headers, from their
    /// first byte; a slower connection (e.g. one that sends half a header and
    /// stops) is closed.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_secs: u64,
    /// Seconds a connection may stay open with no request: a keep-alive
    /// connection after its last response, or a new one that sends nothing.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_secs: u64,
    /// Most open client connections; one more is answered 503
    /// too_many_connections and closed. Lowered, with a warning, to the
    /// open-file limit less 256 (the process raises its soft limit to the
    /// hard limit at start); 0: only that limit.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_connections: usize,
    /// Most open connections from one client address (IPv6: one /64); one
    /// more is answered 503 too_many_connections and closed. Clients behind
    /// a shared NAT count as one address; 0: no limit.
    #[arg(long, value_name = "N", default_value_t = 128)]
    max_connections_per_address: usize,
}

impl ConnectionArgs {
    /// Set these limits in `limits`.
    fn apply(&self, limits: &mut Limits) {
        limits.header_timeout = Duration::from_secs(self.header_timeout_secs);
        limits.idle_timeout = Duration::from_secs(self.idle_timeout_secs);
        limits.max_connections = self.max_connections;
        limits.max_connections_per_address = self.max_connections_per_address;
    }
}

#[derive(Subcommand)]
enum Command {
    /// Create the data directory, the board's signing key, the schema and an admin token.
    ///
    /// Prints the administrator's bearer token once; only its SHA-256 is
    /// stored. Running init again keeps the key and the elections and
    /// replaces the token (the old one stops working).
    Init {
        /// Holds the signing key board.key (and the SQLite database unless DATABASE_URL is set).
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
    },
    /// Serve the board's HTTP API (SPEC.md §10) until SIGINT or SIGTERM.
    ///
    /// On a signal the board stops taking connections, finishes the
    /// requests under way (every receipt it gives is committed) and exits.
    Serve {
        /// The directory made by `psephos-board init` (key, and SQLite database unless DATABASE_URL is set).
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// Address and port to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
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
        /// Most bytes in one page of GET …/entries (the page ends before the
        /// entry that would pass it, but holds at least one); clients read
        /// on from where a page ended.
        #[arg(long, value_name = "BYTES", default_value_t = psephos_board::api::MAX_PAGE_BYTES as u64, value_parser = clap::value_parser!(u64).range(1..))]
        max_page_bytes: u64,
        /// Request timeout in seconds.
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
        /// Requests per second per client address (0: no limit).
        #[arg(long, default_value_t = 200.0)]
        rate_limit: f64,
        /// Burst of the per-client limit.
        #[arg(long, default_value_t = 400.0)]
        rate_burst: f64,
        #[command(flatten)]
        connections: ConnectionArgs,
        /// The voting page bundle (voter-client/build-web.sh writes it to
        /// voter-client/web/dist), served at /elections/ID/vote,
        /// /elections/ID and /assets/. Default: that directory of the
        /// source tree this program was built from, if it has been built.
        #[arg(long, value_name = "DIR")]
        web_dir: Option<PathBuf>,
    },
    /// Write an election's record as JSON Lines (the verifier's input).
    ///
    /// The entry lines, one per line, exactly as GET …/entries serves them.
    Export {
        /// The board's data directory (the SQLite database unless DATABASE_URL is set).
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// The election's id.
        #[arg(long, value_name = "ID")]
        election: String,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Follow a board: replicate and check its logs, serve them read-only,
    /// cosign its checkpoints, and raise the alarm on equivocation.
    ///
    /// Every entry is checked with the board's own rules and every
    /// checkpoint for consistency with the one before (SPEC.md §10.9). Exit
    /// status: 0 all well, 1 an error, 3 the board showed two histories
    /// (equivocation), 4 the board signed an entry its rules refuse. An
    /// alarm is kept in the mirror's database and stops following and
    /// cosigning for good; the evidence is served at
    /// /api/v1/elections/ID/equivocation and /api/v1/board.
    Mirror {
        /// The board's base URL (http:// or https://).
        #[arg(long, value_name = "URL")]
        upstream: String,
        /// Holds the mirror key (and the SQLite database unless DATABASE_URL is set).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// The mirror's key file (default <data-dir>/mirror.key; made on first run).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// Key name of a new mirror key (default "psephos-mirror").
        #[arg(long)]
        name: Option<String>,
        /// Pin the board's key (its vkey); by default the first run trusts the upstream's.
        #[arg(long, value_name = "VKEY")]
        board_key: Option<String>,
        /// Serve the read API here (without it the mirror only follows and cosigns).
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// One pass, then exit (status 3: equivocation, 4: invalid entry).
        #[arg(long)]
        once: bool,
        /// Seconds between passes.
        #[arg(long, default_value_t = 5)]
        interval_secs: u64,
        /// Print the mirror's cosignature vkey (making the key if needed) and exit.
        #[arg(long)]
        show_key: bool,
        /// Serve the voting and election pages from this bundle too (as
        /// `serve --web-dir`), so voters can check audit codes and compare
        /// the bundle hash here. Default: the source tree's built bundle, if any.
        #[arg(long, value_name = "DIR")]
        web_dir: Option<PathBuf>,
        #[command(flatten)]
        connections: ConnectionArgs,
    },
    /// Register a mirror, whose cosignatures the board then accepts and publishes.
    ///
    /// Running it again for the same key replaces the URL.
    AddMirror {
        /// The board's data directory (the SQLite database unless DATABASE_URL is set).
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// The mirror's cosignature vkey (`psephos-board mirror --show-key`).
        #[arg(long)]
        vkey: String,
        /// Where the mirror serves the read API (listed at /api/v1/mirrors).
        #[arg(long)]
        url: Option<String>,
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

fn log_pages(web: Option<&psephos_voter::web::WebAssets>) {
    match web {
        Some(w) => tracing::info!(
            bundle_sha256 = %hex::encode(w.bundle_sha256()),
            "serving the voting page bundle"
        ),
        None => tracing::warn!(
            "no voting page bundle (build it with voter-client/build-web.sh, then pass --web-dir): /elections/ID/vote answers 404"
        ),
    }
}

/// `psephos-board mirror`: returns the exit status (0, or an alarm's).
async fn run_mirror(
    config: MirrorConfig,
    listen: Option<SocketAddr>,
    once: bool,
) -> anyhow::Result<i32> {
    let limits = config.limits.clone();
    let mut mirror = Mirror::open(config).await?;
    tracing::info!(vkey = %mirror.vkey(), board = %mirror.board_vkey(), "mirror");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = match listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            tracing::info!(listen = %addr, "serving the mirror's read API");
            let app = mirror.app();
            let mut rx = stop_rx.clone();
            Some(tokio::spawn(async move {
                psephos_board::server::serve_app(app, listener, &limits, async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await
            }))
        }
        None => None,
    };
    let alarm = if once {
        mirror.pass().await?.alarm
    } else {
        let alarm = mirror.follow(shutdown_signal()).await;
        if alarm.is_some() && server.is_some() {
            tracing::error!("halted: serving the log and the evidence until stopped");
            shutdown_signal().await;
        }
        alarm
    };
    let _ = stop_tx.send(true);
    if let Some(server) = server {
        server.await??;
    }
    mirror.close().await;
    Ok(alarm.map_or(0, |a| a.exit_code()))
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
    // Every connection is a file descriptor: a board needs thousands.
    psephos_board::server::raise_open_file_limit();
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
            max_page_bytes,
            timeout_secs,
            rate_limit,
            rate_burst,
            connections,
            web_dir,
        } => {
            let web = pages::load(web_dir.as_deref())?;
            log_pages(web.as_ref());
            let mut limits = Limits {
                max_body_bytes,
                max_ballot_bytes,
                max_page_bytes: usize::try_from(max_page_bytes).unwrap_or(usize::MAX),
                request_timeout: Duration::from_secs(timeout_secs),
                rate_per_sec: rate_limit,
                rate_burst,
                ..Limits::default()
            };
            connections.apply(&mut limits);
            let config = Config {
                data_dir,
                database_url: database_url(),
                origin,
                limits,
                web,
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
            // Read a chunk at a time, like a page (SPEC.md §10.1): memory
            // stays bounded whatever the size of the log.
            let mut start = 0;
            while start < head.size {
                let end = (start + psephos_board::api::READ_CHUNK).min(head.size);
                for line in store.lines(&election, start, end).await? {
                    writeln!(w, "{line}")?;
                }
                start = end;
            }
            w.flush()?;
            store.close().await;
        }
        Command::Mirror {
            upstream,
            data_dir,
            key,
            name,
            board_key,
            listen,
            once,
            interval_secs,
            show_key,
            web_dir,
            connections,
        } => {
            let mut config = MirrorConfig::new(&upstream, PathBuf::new());
            config.data_dir = data_dir;
            config.database_url = database_url();
            config.key_file = key;
            config.name = name;
            config.board_key = board_key;
            config.interval = Duration::from_secs(interval_secs.max(1));
            connections.apply(&mut config.limits);
            if show_key {
                let path = match (&config.key_file, &config.data_dir) {
                    (Some(k), _) => k.clone(),
                    (None, Some(d)) => d.join(mirror::KEY_FILE),
                    (None, None) => anyhow::bail!("give --data-dir or --key"),
                };
                let cosigner = mirror::load_or_create_key(&path, config.name.as_deref())?;
                println!("{}", cosigner.verifier().to_vkey());
                return Ok(());
            }
            if listen.is_some() {
                config.web = pages::load(web_dir.as_deref())?;
                log_pages(config.web.as_ref());
            }
            let code = run_mirror(config, listen, once).await?;
            if code != 0 {
                std::process::exit(code);
            }
        }
        Command::AddMirror {
            data_dir,
            vkey,
            url,
        } => {
            let store = Store::open(&data_dir, database_url().as_deref()).await?;
            let added = mirror::add_mirror(&store, &vkey, url.as_deref()).await?;
            store.close().await;
            println!("registered mirror {} ({})", added.name, added.vkey);
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// `--help` explains every subcommand and every option.
    #[test]
    fn every_subcommand_and_option_has_help() {
        let cli = Cli::command();
        cli.clone().debug_assert();
        assert!(cli.get_about().is_some());
        for sub in cli.get_subcommands() {
            let name = sub.get_name();
            assert!(sub.get_about().is_some(), "{name} has no description");
            for arg in sub.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                assert!(arg.get_help().is_some(), "{name} --{id} has no help");
            }
        }
    }
}
