//! `psephos-board demo`: a complete election on one machine, over real HTTP
//! on loopback (issue 8).
//!
//! Every role runs the project's own code: the board is this crate, served
//! on a loopback port over the embedded SQLite default (or `DATABASE_URL`);
//! the administrator and the trustees use `psephos_trustee` (its
//! [`AdminClient`], [`steps`] and [`credentials`]), the voters use
//! `psephos_voter` (learning the election, encrypting, auditing, casting,
//! checking receipts), and the observer uses `psephos_verifier` on the
//! exported record. The steps, in order:
//!
//! 1. the board (`init`, then serving);
//! 2. key files for `n` trustees and the credential authority;
//! 3. the administrator creates the election;
//! 4. the key ceremony (register, commit/reveal, share checks, finalize, acks);
//! 5. the credential authority issues `N` credentials;
//! 6. voting opens; a few voters audit a ballot first, everyone casts, some revote;
//! 7. voting closes; `t` trustees decrypt; the board publishes the result;
//! 8. the record is exported and verified.
//!
//! The voters' choices are a function of `--seed` (see [`voters`]), so the
//! result is known in advance and checked.

mod voters;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use psephos_crypto::record::{Manifest, TrusteeInfo, DEFAULT_MIN_COUNTED};
use psephos_trustee::board::{AdminClient, BoardClient as _, HttpBoard, PAGE};
use psephos_trustee::credentials::{self, AuthorityKeyFile};
use psephos_trustee::keyfile::{Passphrase, WorkFactor};
use psephos_trustee::state::TrusteeKeyFile;
use psephos_trustee::steps::{self, Outcome};
use psephos_verifier::{parse_board_key, source, Verifier, VerifyOptions};
use psephos_voter::credential::Credential;
use psephos_voter::http::BoardClient as VoterClient;
use rand_core::OsRng;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use psephos_board::{Board, Config};
use voters::{CastJob, CastStats, Voters};

/// The key files' passphrase work factor (scrypt `log2 N`): low, because
/// the demo's key files are throwaway. Real trustees keep the default.
const DEMO_WORK: WorkFactor = WorkFactor(Some(10));

/// Credentials of the second, open election (`--keep-serving`).
const OPEN_ELECTION_VOTERS: u64 = 5;

/// `psephos-board demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Number of voters (one credential each).
    #[arg(long, default_value_t = 1000)]
    pub voters: usize,
    /// Number of trustees.
    #[arg(long, default_value_t = 3)]
    pub trustees: u32,
    /// Trustees needed to decrypt (the first THRESHOLD of them do).
    #[arg(long, default_value_t = 2)]
    pub threshold: u32,
    /// Directory for the board's key and SQLite database, the key files,
    /// the credentials and the record (created if missing; kept). Default:
    /// a new psephos-demo-* directory in the system's temporary directory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Write the election record (JSON Lines, the verifier's input) to
    /// FILE, with FILE.checkpoint and FILE.vkey beside it. Default:
    /// record.jsonl in the data directory.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// After the tally, keep the board running with a second election that
    /// is open, and print its URLs and a few credentials (Ctrl-C stops).
    #[arg(long)]
    pub keep_serving: bool,
    /// The voting page bundle the board serves (voter-client/build-web.sh
    /// writes it). Default: voter-client/web/dist of the source tree this
    /// program was built from, if it has been built.
    #[arg(long, value_name = "DIR")]
    pub web_dir: Option<PathBuf>,
    /// Address the board listens on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Seed of the voters' choices (the expected result follows from it).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Every K-th voter casts twice; the second ballot counts (0: nobody).
    #[arg(long, value_name = "K", default_value_t = 10)]
    pub revote_every: usize,
    /// How many voters audit a ballot (Benaloh challenge) before casting.
    #[arg(long, default_value_t = 3)]
    pub audits: usize,
    /// Concurrent HTTP clients posting ballots.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Ballots encrypted (in parallel) per round before they are posted.
    #[arg(long, default_value_t = 2048)]
    pub chunk: usize,
    /// Measure: print the whole-system benchmark table (client encryption
    /// rate, board ingest rate and latency, ceremony, decryption, verifier
    /// rate and peak memory; the verifier binary psephos-verify, if built
    /// beside this one, is also run under /usr/bin/time -v).
    #[arg(long)]
    pub bench: bool,
    /// Write a JSON summary (result, expected result, verifier verdict,
    /// timings) to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
}

/// The board serving in this process.
struct Served {
    url: String,
    admin_token: String,
    board: Arc<Board>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

async fn start_board(config: &Config, listen: SocketAddr) -> Result<Served> {
    let admin_token = psephos_board::init(&config.data_dir, config.database_url.as_deref())
        .await
        .context("psephos-board init")?;
    let board = Board::open(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = oneshot::channel::<()>();
    let b = board.clone();
    let task = tokio::spawn(async move {
        let result = psephos_board::serve(b, listener, async {
            let _ = rx.await;
        })
        .await;
        if let Err(e) = result {
            eprintln!("the board stopped: {e}");
        }
    });
    Ok(Served {
        url,
        admin_token,
        board,
        shutdown: Some(tx),
        task,
    })
}

/// Step headings and indented details on standard output.
struct Out {
    start: Instant,
    step: u32,
    /// Show the process's peak memory at each step (`--bench`).
    memory: bool,
}

impl Out {
    fn step(&mut self, what: &str) {
        self.step += 1;
        let memory = match (self.memory, peak_rss_mib()) {
            (true, Some(mib)) => format!("  (peak RSS so far {mib:.0} MiB)"),
            _ => String::new(),
        };
        println!(
            "\n[{:>6.1}s] {}. {what}{memory}",
            self.start.elapsed().as_secs_f64(),
            self.step
        );
    }

    fn say(&self, text: &str) {
        for line in text.lines() {
            println!("          {line}");
        }
    }
}

/// Timings of one run (the benchmark's figures).
#[derive(Debug, Default)]
struct Timings {
    ceremony: Duration,
    credentials: Duration,
    casting: CastStats,
    decryption: Duration,
    export: Duration,
    verify: Duration,
    verify_ballots_per_s: f64,
    total: Duration,
}

/// What the election published and what the verifier made of it.
#[derive(Debug)]
struct Finished {
    election: String,
    published: Vec<Vec<u64>>,
    expected: Vec<Vec<u64>>,
    verified: Option<Vec<Vec<u64>>>,
    verifier_passed: bool,
    casts: usize,
    revoters: usize,
    audits: Vec<String>,
    record: PathBuf,
    checkpoint: PathBuf,
    vkey: PathBuf,
    origin: String,
    files: Vec<(PathBuf, &'static str)>,
    timings: Timings,
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Run the demo (the `demo` subcommand).
pub async fn run(args: DemoArgs) -> Result<()> {
    if args.voters == 0 {
        bail!("--voters must be at least 1");
    }
    if args.trustees == 0 || args.threshold == 0 || args.threshold > args.trustees {
        bail!(
            "--threshold must be between 1 and --trustees (got {} of {})",
            args.threshold,
            args.trustees
        );
    }
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!(
            "psephos-demo-{}-{}",
            unix_seconds(),
            std::process::id()
        )),
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let mut out = Out {
        start: Instant::now(),
        step: 0,
        memory: args.bench,
    };
    println!(
        "Psephos demo: one election, {} voters, {} trustees (threshold {}), over HTTP on loopback",
        args.voters, args.trustees, args.threshold
    );

    out.step("Board: init and serve");
    let mut config = Config::new(&data_dir);
    config.database_url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
    // Every demo voter comes from 127.0.0.1: no per-address rate or
    // connection limit.
    config.limits.rate_per_sec = 0.0;
    config.limits.max_connections_per_address = 0;
    config.web = psephos_board::pages::load(args.web_dir.as_deref())?;
    let mut served = start_board(&config, args.listen).await?;
    out.say(&format!("data directory: {}", data_dir.display()));
    out.say(&format!(
        "database: {}",
        match &config.database_url {
            Some(_) => "DATABASE_URL (PostgreSQL or the given SQLite URL)".to_owned(),
            None => format!("SQLite, {}", data_dir.join("board.sqlite3").display()),
        }
    ));
    out.say(&format!("board: {}  (API under /api/v1)", served.url));
    match &config.web {
        Some(w) => out.say(&format!(
            "voting page bundle: SHA-256 {} (named in each election's voting_opened entry)",
            hex::encode(w.bundle_sha256())
        )),
        None => out.say(&format!(
            "no voting page bundle in {} (bash voter-client/build-web.sh builds it): the board serves no web pages; the voters use the library",
            psephos_board::pages::source_tree_bundle().display()
        )),
    }
    out.say(&format!(
        "board checkpoint key: {}",
        served.board.note_verifier().to_vkey()
    ));

    let ctx = DemoContext {
        bundle: config.web.as_ref().map(|w| w.bundle_sha256()),
        url: served.url.clone(),
        admin_token: served.admin_token.clone(),
        data_dir: data_dir.clone(),
        args: args.clone(),
    };
    let (ctx, mut out, outcome) = tokio::task::spawn_blocking(move || {
        let r = ctx.election(&mut out);
        (ctx, out, r)
    })
    .await
    .context("the demo thread")?;
    let outcome = outcome?;
    print_files(&outcome);
    if let Some(path) = &args.summary {
        write_summary(path, &outcome)?;
        println!("  {}  (JSON summary)", path.display());
    }
    if args.bench {
        print_bench(&args, &outcome);
    }
    let ok = outcome.verifier_passed
        && outcome.published == outcome.expected
        && outcome.verified.as_ref() == Some(&outcome.expected);
    if !ok {
        bail!("the demo election did not check out (see above)");
    }
    println!(
        "\nDone in {:.1} s: the published result is the voters' choices and the verifier passes.",
        outcome.timings.total.as_secs_f64()
    );

    if args.keep_serving {
        let tallied = outcome.election.clone();
        tokio::task::spawn_blocking(move || ctx.open_election(&mut out, &tallied))
            .await
            .context("the demo thread")??;
        println!(
            "\nThe board keeps serving at {}; Ctrl-C stops it.",
            served.url
        );
        let _ = tokio::signal::ctrl_c().await;
    }
    if let Some(tx) = served.shutdown.take() {
        let _ = tx.send(());
    }
    let _ = (&mut served.task).await;
    served.board.store.close().await;
    Ok(())
}

/// What the blocking roles share.
struct DemoContext {
    /// The hash of the page bundle the board serves, if any.
    bundle: Option<[u8; 32]>,
    url: String,
    admin_token: String,
    data_dir: PathBuf,
    args: DemoArgs,
}

/// Run `step` for every trustee until all are done (waiting ones are
/// retried after the others acted).
fn all_trustees(
    out: &Out,
    files: &mut [TrusteeKeyFile],
    what: &str,
    mut step: impl FnMut(&mut TrusteeKeyFile) -> psephos_trustee::Result<Outcome>,
) -> Result<()> {
    let mut done = vec![false; files.len()];
    for _pass in 0..4 {
        for (i, f) in files.iter_mut().enumerate() {
            if done[i] {
                continue;
            }
            let o = step(f).with_context(|| format!("{what}: trustee {}", i + 1))?;
            if o.is_done() {
                done[i] = true;
                out.say(&o.to_string());
            }
        }
        if done.iter().all(|d| *d) {
            return Ok(());
        }
    }
    bail!("{what}: some trustees are still waiting")
}

impl DemoContext {
    fn trustee_files(&self) -> Result<Vec<TrusteeKeyFile>> {
        let dir = self.data_dir.join("trustees");
        std::fs::create_dir_all(&dir)?;
        (1..=self.args.trustees)
            .map(|l| {
                let path = dir.join(format!("trustee-{l}.key"));
                let pass = Passphrase::new(format!("demo trustee {l}"));
                let file = if path.exists() {
                    TrusteeKeyFile::open(&path, pass, DEMO_WORK)
                } else {
                    TrusteeKeyFile::create(&path, pass, DEMO_WORK, &mut OsRng)
                };
                file.with_context(|| format!("{}", path.display()))
            })
            .collect()
    }

    fn authority(&self, name: &str) -> Result<AuthorityKeyFile> {
        let path = self.data_dir.join(name);
        let pass = Passphrase::new("demo credential authority");
        let file = if path.exists() {
            AuthorityKeyFile::open(&path, &pass)
        } else {
            AuthorityKeyFile::create(&path, &pass, DEMO_WORK, &mut OsRng)
        };
        file.with_context(|| format!("{}", path.display()))
    }

    fn manifest(&self, title: &str, files: &[TrusteeKeyFile], ca: &AuthorityKeyFile) -> Manifest {
        Manifest {
            title: title.to_owned(),
            contests: voters::contests(),
            trustees: files
                .iter()
                .zip(1u32..)
                .map(|(f, l)| TrusteeInfo {
                    index: l,
                    name: format!("Trustee {l}"),
                    key: f.keys().author(),
                })
                .collect(),
            threshold: self.args.threshold,
            credential_authority: ca.author(),
            witnesses: Vec::new(),
            witness_quorum: 0,
            // A demo of a handful of voters still decrypts (SPEC.md §10.5
            // would otherwise refuse a tally of fewer than 10).
            min_counted: Some((self.args.voters as u64).clamp(1, DEFAULT_MIN_COUNTED)),
            // Each demo voter casts at most twice: the default cap holds.
            max_ballots_per_credential: None,
        }
    }

    /// Create an election, run its ceremony, issue `count` credentials
    /// (codes to `codes`) and open it. Returns the ceremony and credential
    /// times.
    #[allow(clippy::too_many_arguments)]
    fn setup(
        &self,
        out: &mut Out,
        board: &HttpBoard,
        admin: &AdminClient,
        files: &mut [TrusteeKeyFile],
        ca: &AuthorityKeyFile,
        id: &str,
        title: &str,
        count: u64,
        codes: &Path,
    ) -> Result<(Duration, Duration)> {
        out.step(&format!("Administrator: create election {id:?}"));
        let manifest = self.manifest(title, files, ca);
        admin.create_election(id, &manifest)?;
        for c in &manifest.contests {
            let labels: Vec<&str> = c.options.iter().map(|o| o.label.as_str()).collect();
            out.say(&format!(
                "contest {:?}: {} — choose {} to {}",
                c.id,
                labels.join(", "),
                c.min_selections,
                c.max_selections
            ));
        }

        out.step(&format!(
            "Trustees: key ceremony ({} trustees, threshold {})",
            self.args.trustees, self.args.threshold
        ));
        let t0 = Instant::now();
        for f in files.iter_mut() {
            out.say(&steps::register(board, f, id)?.to_string());
        }
        all_trustees(out, files, "round 1", |f| steps::round1(board, f, id))?;
        all_trustees(out, files, "round 2", |f| steps::round2(board, f, id))?;
        admin.finalize_keys(id)?;
        out.say("administrator: finalize-keys (the board posts the joint key)");
        all_trustees(out, files, "ack", |f| steps::ack(board, f, id))?;
        let ceremony = t0.elapsed();
        out.say(&format!("ceremony done in {:.2} s", ceremony.as_secs_f64()));

        out.step(&format!("Credential authority: {count} credentials"));
        let t1 = Instant::now();
        let o = credentials::generate(board, id, ca, count, None, codes, &mut OsRng)?;
        let creds = t1.elapsed();
        out.say(&o.to_string());

        out.step("Administrator: open voting");
        // The served bundle's hash; without pages, the hash of a fixed
        // label (the log must name some bundle).
        let bundle: [u8; 32] = self
            .bundle
            .unwrap_or_else(|| Sha256::digest(b"psephos-demo: no page bundle").into());
        admin.open(id, &bundle)?;
        out.say("voting is open");
        Ok((ceremony, creds))
    }

    fn read_credentials(&self, codes: &Path) -> Result<Vec<Credential>> {
        let text = std::fs::read_to_string(codes)
            .with_context(|| format!("reading {}", codes.display()))?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                Credential::parse(l).with_context(|| format!("credential line {}", i + 1))
            })
            .collect()
    }

    /// The whole election.
    fn election(&self, out: &mut Out) -> Result<Finished> {
        let total = Instant::now();
        let args = &self.args;
        let id = format!("demo-{}", unix_seconds());
        let board = HttpBoard::new(&self.url)?;
        let admin = AdminClient::new(&self.url, &self.admin_token)?;

        out.step("Key files: trustees and credential authority");
        let mut files = self.trustee_files()?;
        let ca = self.authority("authority.key")?;
        out.say(&format!(
            "{} trustee key files in {} (age-encrypted, passphrase \"demo trustee <l>\")",
            files.len(),
            self.data_dir.join("trustees").display()
        ));
        let codes = self.data_dir.join(format!("{id}-credentials.txt"));
        let (ceremony, creds) = self.setup(
            out,
            &board,
            &admin,
            &mut files,
            &ca,
            &id,
            "Psephos demo election",
            args.voters as u64,
            &codes,
        )?;

        out.step(&format!(
            "Voters: {} cast through the voter client",
            args.voters
        ));
        let credentials = self.read_credentials(&codes)?;
        let client = VoterClient::new(&self.url)?;
        let (election, info) = client.election(&id)?;
        election.require_open()?;
        out.say(&format!(
            "each voter's client learned the election from the signed log: fingerprint {}",
            hex::encode(election.fingerprint.as_bytes())
        ));
        let voters = Voters {
            client,
            election,
            info,
            credentials: &credentials,
            clients: args.clients,
            chunk: args.chunk,
        };
        let mut audits = Vec::new();
        for v in 0..args.audits.min(args.voters) {
            let short = voters.audit(v, &voters::choices(args.seed, v as u64, 1))?;
            out.say(&format!(
                "voter {v} audited ballot {short} on a second device: it holds the intended choices; it is spoiled and a fresh one is cast"
            ));
            audits.push(short);
        }
        let revoters: Vec<usize> = (0..args.voters)
            .filter(|v| voters::revotes(*v, args.revote_every))
            .collect();
        let first: Vec<CastJob> = (0..args.voters)
            .map(|v| CastJob {
                voter: v,
                choices: voters::choices(
                    args.seed,
                    v as u64,
                    if voters::revotes(v, args.revote_every) {
                        0
                    } else {
                        1
                    },
                ),
            })
            .collect();
        let second: Vec<CastJob> = revoters
            .iter()
            .map(|&v| CastJob {
                voter: v,
                choices: voters::choices(args.seed, v as u64, 1),
            })
            .collect();
        let casts = first.len() + second.len();
        let bar = progress_bar(casts as u64);
        let mut stats = CastStats::default();
        voters.cast_all(&first, &bar, &mut stats)?;
        voters.cast_all(&second, &bar, &mut stats)?;
        bar.finish_and_clear();
        out.say(&format!(
            "{casts} ballots cast ({} voters, {} of them revoted); every receipt's tracking code matches; receipts checked in full (signed checkpoint, inclusion proof, entry bytes): {}",
            args.voters,
            revoters.len(),
            stats.receipts_checked
        ));
        out.say(&format!(
            "client encryption {:.0} ballots/s; board ingest {:.0} ballots/s, latency p50 {:.1} ms, p99 {:.1} ms",
            per_second(stats.encrypted, stats.encrypt_time),
            per_second(stats.posted, stats.post_time),
            stats.percentile_ms(50.0),
            stats.percentile_ms(99.0)
        ));

        out.step("Administrator: close voting");
        admin.close(&id)?;
        out.say("voting is closed");

        out.step(&format!(
            "Trustees 1 to {}: decrypt the tally",
            args.threshold
        ));
        let t0 = Instant::now();
        for f in files.iter_mut().take(args.threshold as usize) {
            let o = steps::decrypt(&board, f, &id)?;
            if !o.is_done() {
                bail!("decryption: {o}");
            }
            out.say(&o.to_string());
        }
        let published = wait_for_result(&board, &id)?;
        let decryption = t0.elapsed();
        print_result(
            out,
            &published,
            &voters::expected_counts(args.seed, args.voters),
        );

        out.step("Observer: export the record and verify it");
        let record = match &args.export {
            Some(p) => p.clone(),
            None => self.data_dir.join(format!("{id}.jsonl")),
        };
        let t1 = Instant::now();
        let entries = export(&board, &id, &record)?;
        let export_time = t1.elapsed();
        let checkpoint_path = with_suffix(&record, "checkpoint");
        let vkey_path = with_suffix(&record, "vkey");
        let note = voters.client.checkpoint(&id)?;
        std::fs::write(&checkpoint_path, &note)?;
        std::fs::write(&vkey_path, format!("{}\n", voters.info.key))?;
        out.say(&format!(
            "{entries} entries written to {}",
            record.display()
        ));
        let t2 = Instant::now();
        let report = verify_file(&record, &id, &voters.info.key, &voters.info.origin, &note)?;
        let verify = t2.elapsed();
        println!();
        print!("{}", report.render_text());
        let verified = report.result.as_ref().map(|cs| {
            cs.iter()
                .map(|c| c.counts.iter().map(|(_, n)| *n).collect())
                .collect()
        });
        out.say(&format!(
            "again from a shell: psephos-verify {} --checkpoint {} --board-key {} --origin {} --require-result",
            record.display(),
            checkpoint_path.display(),
            vkey_path.display(),
            voters.info.origin
        ));

        let mut written: Vec<(PathBuf, &'static str)> = vec![
            (self.data_dir.join("board.key"), "the board's signing key"),
            (self.data_dir.join("trustees"), "the trustees' key files"),
            (
                self.data_dir.join("authority.key"),
                "the credential authority's key file",
            ),
            (codes.clone(), "the voters' credential codes"),
            (record.clone(), "the election record (JSON Lines)"),
            (checkpoint_path.clone(), "the board's signed checkpoint"),
            (vkey_path.clone(), "the board's checkpoint key"),
        ];
        if std::env::var("DATABASE_URL").map_or(true, |u| u.is_empty()) {
            written.insert(
                1,
                (self.data_dir.join("board.sqlite3"), "the board's database"),
            );
        }
        Ok(Finished {
            election: id,
            published,
            expected: voters::expected_counts(args.seed, args.voters),
            verified,
            verifier_passed: report.passed,
            casts,
            revoters: revoters.len(),
            audits,
            record,
            checkpoint: checkpoint_path,
            vkey: vkey_path,
            origin: voters.info.origin.clone(),
            files: written,
            timings: Timings {
                ceremony,
                credentials: creds,
                casting: stats,
                decryption,
                export: export_time,
                verify,
                verify_ballots_per_s: report.ballots_per_second,
                total: total.elapsed(),
            },
        })
    }

    /// `--keep-serving`: a second election, open, with a few credentials.
    fn open_election(&self, out: &mut Out, tallied: &str) -> Result<()> {
        let id = format!("demo-open-{}", unix_seconds());
        let board = HttpBoard::new(&self.url)?;
        let admin = AdminClient::new(&self.url, &self.admin_token)?;
        let mut files = self.trustee_files()?;
        let ca = self.authority("authority.key")?;
        let codes = self.data_dir.join(format!("{id}-credentials.txt"));
        self.setup(
            out,
            &board,
            &admin,
            &mut files,
            &ca,
            &id,
            "Psephos demo election (open)",
            OPEN_ELECTION_VOTERS,
            &codes,
        )?;
        let text = std::fs::read_to_string(&codes)?;
        if self.bundle.is_some() {
            println!(
                "\nThe tallied election's public page (results, checkpoint, tracking-code search):"
            );
            println!("  {}/elections/{tallied}", self.url);
        }
        println!("\nA second election is open: {id}");
        if self.bundle.is_some() {
            println!("  voting page:    {}/elections/{id}/vote", self.url);
            println!("  election page:  {}/elections/{id}", self.url);
        } else {
            println!(
                "  (no voting page: build it with `bash voter-client/build-web.sh` and run the demo again; until then vote with the command line below)"
            );
        }
        println!("  status:         {}/api/v1/elections/{id}", self.url);
        println!(
            "  log:            {}/api/v1/elections/{id}/entries",
            self.url
        );
        println!(
            "  checkpoint:     {}/api/v1/elections/{id}/checkpoint",
            self.url
        );
        println!("  credentials (one per voter; all in {}):", codes.display());
        let dir = self.data_dir.join(format!("{id}-voters"));
        std::fs::create_dir_all(&dir)?;
        let mut first_file = None;
        for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let file = dir.join(format!("voter-{}.credential", i + 1));
            std::fs::write(&file, format!("{line}\n"))?;
            println!("    {line}   ({})", file.display());
            first_file.get_or_insert(file);
        }
        println!("  vote from a shell:");
        println!(
            "    psephos-vote cast --board {} --election {id} --credential {} --choose mayor=grace --choose parks=trees,lakes",
            self.url,
            first_file.unwrap_or_default().display()
        );
        println!("    (psephos-vote cast --help shows the choice syntax)");
        Ok(())
    }
}

fn per_second(n: usize, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 {
        n as f64 / s
    } else {
        0.0
    }
}

fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template(
        "          [{elapsed_precise}] {wide_bar} {pos}/{len} ballots ({per_sec}, {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}

/// The result the board published (it posts it once `t` partial
/// decryptions are in).
fn wait_for_result(board: &HttpBoard, id: &str) -> Result<Vec<Vec<u64>>> {
    for _ in 0..100 {
        let status = board.status(id)?;
        if let Some(r) = status.result {
            return Ok(r);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the board published no result")
}

fn print_result(out: &Out, published: &[Vec<u64>], expected: &[Vec<u64>]) {
    out.say("");
    out.say("RESULT (published by the board)");
    for (i, c) in voters::contests().iter().enumerate() {
        out.say(&c.title);
        let counts = published.get(i).cloned().unwrap_or_default();
        let max = counts.iter().copied().max().unwrap_or(0).max(1);
        for (k, o) in c.options.iter().enumerate() {
            let n = counts.get(k).copied().unwrap_or(0);
            let want = expected.get(i).and_then(|e| e.get(k)).copied().unwrap_or(0);
            let bar = "#".repeat(((n * 30) / max) as usize);
            out.say(&format!(
                "  {:<18} {:>7}  {:<30}  {}",
                o.label,
                n,
                bar,
                if n == want {
                    "= the voters' choices".to_owned()
                } else {
                    format!("MISMATCH: the voters chose {want}")
                }
            ));
        }
    }
}

/// Write the log as the board serves it (what `psephos-board export` writes).
fn export(board: &HttpBoard, id: &str, path: &Path) -> Result<u64> {
    use std::io::Write;
    let size = board.status(id)?.size;
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let mut start = 0;
    while start < size {
        let end = (start + PAGE).min(size);
        let page = board.entries(id, start, end)?;
        if page.lines.is_empty() {
            bail!("the board served no entries at {start}");
        }
        for line in &page.lines {
            writeln!(w, "{line}")?;
        }
        start += page.lines.len() as u64;
    }
    w.flush()?;
    Ok(start)
}

fn verify_file(
    record: &Path,
    id: &str,
    vkey: &str,
    origin: &str,
    checkpoint: &str,
) -> Result<psephos_verifier::Report> {
    let opts = VerifyOptions {
        source: record.display().to_string(),
        election: Some(id.to_owned()),
        board_key: Some(parse_board_key(vkey)?),
        board_origin: Some(origin.to_owned()),
        checkpoint: Some(checkpoint.to_owned()),
        require_result: true,
        ..VerifyOptions::default()
    };
    let mut verifier = Verifier::new(opts);
    source::for_each_line_of_file(record, |line| verifier.push_line(line))?;
    Ok(verifier.finish())
}

fn print_files(o: &Finished) {
    println!("\nFiles written:");
    for (path, what) in &o.files {
        println!("  {}  ({what})", path.display());
    }
}

fn write_summary(path: &Path, o: &Finished) -> Result<()> {
    let t = &o.timings;
    let doc = json!({
        "election": o.election,
        "casts": o.casts,
        "revoters": o.revoters,
        "audited": o.audits,
        "published": o.published,
        "expected": o.expected,
        "verified": o.verified,
        "verifier_passed": o.verifier_passed,
        "record": o.record,
        "checkpoint": o.checkpoint,
        "vkey": o.vkey,
        "origin": o.origin,
        "seconds": {
            "ceremony": t.ceremony.as_secs_f64(),
            "credentials": t.credentials.as_secs_f64(),
            "encrypt": t.casting.encrypt_time.as_secs_f64(),
            "post": t.casting.post_time.as_secs_f64(),
            "decryption": t.decryption.as_secs_f64(),
            "export": t.export.as_secs_f64(),
            "verify": t.verify.as_secs_f64(),
            "total": t.total.as_secs_f64(),
        },
    });
    std::fs::write(path, serde_json::to_vec_pretty(&doc)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// `VmHWM` of this process, in MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Run the `psephos-verify` binary beside this one under `/usr/bin/time -v`:
/// its rate (ballots/s) and peak memory (MiB).
fn verifier_binary(o: &Finished) -> Result<(f64, f64, f64)> {
    let exe = std::env::current_exe()?;
    let verify = exe
        .parent()
        .map(|d| d.join("psephos-verify"))
        .filter(|p| p.exists())
        .ok_or_else(|| anyhow!("psephos-verify is not built beside {}", exe.display()))?;
    let json_path = with_suffix(&o.record, "report.json");
    let output = std::process::Command::new("/usr/bin/time")
        .arg("-v")
        .arg(&verify)
        .arg(&o.record)
        .args([
            "--election",
            &o.election,
            "--origin",
            &o.origin,
            "--require-result",
            "--quiet",
        ])
        .arg("--checkpoint")
        .arg(&o.checkpoint)
        .arg("--board-key")
        .arg(&o.vkey)
        .arg("--json")
        .arg(&json_path)
        .output()
        .context("running /usr/bin/time -v psephos-verify")?;
    if !output.status.success() {
        bail!(
            "psephos-verify failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let kb: f64 = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow!("no peak memory in /usr/bin/time's output"))?;
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json_path)?)?;
    let rate = report["ballots_per_second"].as_f64().unwrap_or(0.0);
    let secs = report["elapsed_seconds"].as_f64().unwrap_or(0.0);
    Ok((rate, secs, kb / 1024.0))
}

fn print_bench(args: &DemoArgs, o: &Finished) {
    let t = &o.timings;
    let c = &t.casting;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("\nWhole-system benchmark ({cores} cores; board, clients and verifier share them)");
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| voters / ballots cast (incl. revotes) | {} / {} |",
        args.voters, o.casts
    );
    println!(
        "| client encryption (rayon, all cores) | {:.0} ballots/s ({} ballots in {:.1} s) |",
        per_second(c.encrypted, c.encrypt_time),
        c.encrypted,
        c.encrypt_time.as_secs_f64()
    );
    println!(
        "| board ingest over HTTP ({} clients, with receipts) | {:.0} ballots/s ({:.1} s) |",
        args.clients,
        per_second(c.posted, c.post_time),
        c.post_time.as_secs_f64()
    );
    println!(
        "| post latency p50 / p99 | {:.1} ms / {:.1} ms |",
        c.percentile_ms(50.0),
        c.percentile_ms(99.0)
    );
    println!(
        "| key ceremony ({} trustees, t = {}) | {:.2} s |",
        args.trustees,
        args.threshold,
        t.ceremony.as_secs_f64()
    );
    println!(
        "| credentials ({}) | {:.2} s |",
        args.voters,
        t.credentials.as_secs_f64()
    );
    println!(
        "| tally decryption ({} trustees recompute the tally and decrypt; result) | {:.2} s |",
        args.threshold,
        t.decryption.as_secs_f64()
    );
    println!("| export of the record | {:.2} s |", t.export.as_secs_f64());
    println!(
        "| verifier, in-process library | {:.0} ballots/s ({:.1} s) |",
        t.verify_ballots_per_s,
        t.verify.as_secs_f64()
    );
    match verifier_binary(o) {
        Ok((rate, secs, mib)) => println!(
            "| verifier binary psephos-verify (/usr/bin/time -v) | {rate:.0} ballots/s ({secs:.1} s), peak RSS {mib:.0} MiB |"
        ),
        Err(e) => println!("| verifier binary | not measured: {e} |"),
    }
    if let Some(mib) = peak_rss_mib() {
        println!(
            "| peak RSS of the whole demo process (board + clients + verifier) | {mib:.0} MiB |"
        );
    }
    println!("| total | {:.1} s |", t.total.as_secs_f64());
}
