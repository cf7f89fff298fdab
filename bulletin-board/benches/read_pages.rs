//! The read benchmark (issue 13, BENCHMARKS.md "Reading the log"): a
//! `psephos-board serve` process on a finished demo election of N voters,
//! and R concurrent readers each downloading the whole log in full pages
//! (`GET …/entries?start=S&end=S+10000`, reading on from where each page
//! ended, SPEC.md §10.1). Reported: the board process's resident memory
//! before the readers, its peak while they read (sampled, and `VmHWM`),
//! and the bytes served.
//!
//! `cargo bench -p psephos-board --bench read_pages` (defaults: 10,000
//! voters, 40 readers, 3 downloads each); `-- --voters N --readers R
//! --rounds K` to change them.

// A benchmark binary: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_psephos-board");
/// Entries a reader asks for per request: the count cap of a page.
const ASK: u64 = 10_000;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

/// A field of `/proc/PID/status`, in MiB.
fn status_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A finished demo election of `voters` voters in `dir`; its id.
fn demo(dir: &Path, voters: u64) -> String {
    let summary = dir.join("summary.json");
    let status = Command::new(BINARY)
        .args([
            "demo",
            "--voters",
            &voters.to_string(),
            "--revote-every",
            "0",
        ])
        .arg("--data-dir")
        .arg(dir)
        .arg("--summary")
        .arg(&summary)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the demo failed");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    doc["election"].as_str().unwrap().to_owned()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Download the whole log once; entries and bytes read.
async fn download(http: &reqwest::Client, base: &str) -> (u64, u64) {
    let (mut start, mut bytes) = (0u64, 0u64);
    loop {
        let mut resp = http
            .get(format!("{base}/entries?start={start}&end={}", start + ASK))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let size: u64 = resp.headers()["x-log-size"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let mut lines = 0u64;
        while let Some(chunk) = resp.chunk().await.unwrap() {
            lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            bytes += chunk.len() as u64;
        }
        start += lines;
        if lines == 0 || start >= size {
            return (start, bytes);
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo test --benches` lists benchmarks; nothing to list here.
        return;
    }
    let voters = arg("--voters", 10_000);
    let readers = arg("--readers", 40);
    let rounds = arg("--rounds", 3);
    let dir = tempfile::tempdir().unwrap();
    let made = Instant::now();
    let id = demo(dir.path(), voters);
    eprintln!(
        "demo election {id:?} of {voters} voters in {:.1?}",
        made.elapsed()
    );

    let port = free_port();
    let server = Server(
        Command::new(BINARY)
            .args(["serve", "--rate-limit", "0", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap(),
    );
    let pid = server.0.id();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let root = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while http.get(format!("{root}/healthz")).send().await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "the board did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let base = format!("{root}/api/v1/elections/{id}");
        // One download first: the board has opened the election and the
        // database pages are cached, as on a board that has been serving.
        let (entries, log_bytes) = download(&http, &base).await;
        let idle = status_mib(pid, "VmRSS:");

        let peak = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, done) = (peak.clone(), done.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    let kib = (status_mib(pid, "VmRSS:") * 1024.0) as u64;
                    peak.fetch_max(kib, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..readers)
            .map(|_| {
                let (http, base) = (http.clone(), base.clone());
                tokio::spawn(async move {
                    let mut served = 0;
                    for _ in 0..rounds {
                        let (n, bytes) = download(&http, &base).await;
                        assert_eq!(n, entries);
                        served += bytes;
                    }
                    served
                })
            })
            .collect();
        let mut served = 0u64;
        for t in tasks {
            served += t.await.unwrap();
        }
        let elapsed = t0.elapsed();
        done.store(true, Ordering::Relaxed);
        sampler.await.unwrap();
        let sampled = peak.load(Ordering::Relaxed) as f64 / 1024.0;
        let hwm = status_mib(pid, "VmHWM:");
        println!(
            "read_pages: log {entries} entries ({:.1} MB); {readers} readers x {rounds} downloads in {elapsed:.1?} ({:.0} MB/s served)",
            log_bytes as f64 / 1e6,
            served as f64 / 1e6 / elapsed.as_secs_f64()
        );
        println!(
            "read_pages: board RSS {idle:.0} MiB before the readers, peak {sampled:.0} MiB while they read (sampled every 20 ms), VmHWM {hwm:.0} MiB over the process's life"
        );
    });
    drop(server);
}
