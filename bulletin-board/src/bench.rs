//! The ingest benchmark (`psephos-board bench`, BENCHMARKS.md).
//!
//! An in-process board on a fresh SQLite data directory or PostgreSQL
//! database runs a real key ceremony (n = 3, t = 2, every DKG entry signed
//! by simulated trustees), gets a credential list of `ballots` voters and
//! opens. All ballots (one plurality contest) are encrypted and signed on
//! every core *before* the clock starts; then `clients` concurrent HTTP
//! clients on loopback post them, one ballot per voter, with the board's
//! full verification on. Reported: ballots per second over the whole run,
//! and the latency percentiles of single posts.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rayon::prelude::*;

use crate::testkit::{check_record, SimElection, TestBoard};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Number of ballots (and voters).
    pub ballots: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// Options of the contest.
    pub options: usize,
    /// A PostgreSQL server URL, or `None` for SQLite.
    pub postgres: Option<String>,
}

/// The figures.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Ballots posted.
    pub ballots: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// Time to encrypt all ballots (before timing).
    pub prepare: Duration,
    /// Wall time of the ingest.
    pub elapsed: Duration,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Entries in the log afterwards.
    pub log_size: u64,
    /// CPU time (user + system) of this process, board and clients
    /// together, during the ingest; `None` where `/proc` is missing.
    pub cpu: Option<Duration>,
}

/// CPU time of this process so far, from `/proc/self/stat` (Linux).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall, in clock ticks (100 per second).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = self.ballots as f64 / self.elapsed.as_secs_f64();
        write!(
            f,
            "backend {}: {} ballots, {} clients: {:.0} ballots/s ({:.1} s), p50 {:.1} ms, p99 {:.1} ms; \
             log size {}, chain and tree verified; ballots prepared in {:.1} s",
            self.backend,
            self.ballots,
            self.clients,
            rate,
            self.elapsed.as_secs_f64(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.log_size,
            self.prepare.as_secs_f64(),
        )?;
        if let Some(cpu) = self.cpu {
            let per = cpu.as_secs_f64() / self.ballots as f64;
            write!(
                f,
                "; CPU during ingest {:.1} s = {:.2} ms per ballot (board and clients), \
                 i.e. {:.0} ballots/s if both cores were free",
                cpu.as_secs_f64(),
                per * 1e3,
                2.0 / per
            )?;
        }
        Ok(())
    }
}

/// Run the benchmark.
pub async fn run(opts: BenchOptions) -> anyhow::Result<BenchReport> {
    let (board, backend) = match &opts.postgres {
        None => (TestBoard::sqlite().await?, "sqlite"),
        Some(url) => {
            std::env::set_var("PSEPHOS_TEST_POSTGRES_URL", url);
            std::env::set_var("PSEPHOS_REQUIRE_POSTGRES", "1");
            (
                TestBoard::postgres()
                    .await?
                    .context("PostgreSQL is required for this run")?,
                "postgres",
            )
        }
    };
    let client = board.client();
    let mut election = SimElection::new("bench", 3, 2, opts.options, opts.ballots);
    eprintln!("bench: key ceremony and {} credentials", opts.ballots);
    election.setup_and_open(&client).await?;

    eprintln!("bench: encrypting {} ballots on all cores", opts.ballots);
    let started = Instant::now();
    let options = opts.options;
    let bodies: Vec<Vec<u8>> = (0..opts.ballots)
        .into_par_iter()
        .map(|v| {
            let mut choice = vec![0u64; options];
            choice[v % options] = 1;
            let post = election.ballot(v, &[choice])?;
            Ok(serde_json::to_vec(&post)?)
        })
        .collect::<anyhow::Result<_>>()?;
    let prepare = started.elapsed();

    eprintln!("bench: posting with {} clients", opts.clients);
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.clients)
        .build()?;
    let url = format!("{}/api/v1/elections/bench/posts", board.url);
    let cpu_before = process_cpu();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..opts.clients {
        let (bodies, next, http, url) = (bodies.clone(), next.clone(), http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let t = Instant::now();
                let resp = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                let status = resp.status();
                let text = resp.bytes().await?;
                if status.as_u16() != 201 {
                    bail!("ballot {i}: {status}: {}", String::from_utf8_lossy(&text));
                }
                latencies.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(opts.ballots);
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = started.elapsed();
    let cpu = match (cpu_before, process_cpu()) {
        (Some(a), Some(b)) => b.checked_sub(a),
        _ => None,
    };
    latencies.sort_unstable();
    let pct = |p: f64| -> Duration {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).copied().unwrap_or_default()
    };
    let (p50, p99) = (pct(0.50), pct(0.99));

    let lines = client.entries("bench").await?;
    let checkpoint = client.checkpoint("bench").await?;
    let vkey = board.board.note_verifier().to_vkey();
    let log_size = check_record(&lines, &checkpoint, &vkey)?;
    let status = client.election_status("bench").await?;
    if status.ballots != opts.ballots as u64 {
        bail!("the board counts {} ballots", status.ballots);
    }
    board.finish().await;
    Ok(BenchReport {
        backend,
        ballots: opts.ballots,
        clients: opts.clients,
        prepare,
        elapsed,
        p50,
        p99,
        log_size,
        cpu,
    })
}
