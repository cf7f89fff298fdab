//! Faults (issue 13, SPEC.md §10.8): the board recovers from a fault in
//! the middle of a ballot load, and every receipt it handed out is in the
//! log — checked entry by entry, in the record `psephos-board export`
//! writes, by the verifier (`psephos_verifier`, what `psephos-verify`
//! runs), and by the tally, which counts exactly the ballots in the log.
//!
//! 1. PostgreSQL is restarted under a running `serve` process, while an
//!    append is caught half-way in its transaction; the same process must
//!    carry on.
//! 2. One of two `serve` processes on one PostgreSQL database is killed
//!    (SIGKILL) just after a commit whose answers it never sent; its
//!    clients fail over to the other and post the same ballots again.
//! 3. The answer to a commit is lost (the connection closes after
//!    PostgreSQL committed): the process sees a failed commit of a durable
//!    batch and must carry on with the database's state.
//! 4. An append fails while the database stays down; no reader may be
//!    shown the uncommitted batch (the appender poisons the state it could
//!    not reload; a reader still holding it gets 503).
//!
//! Figures (ballots in before the fault, retries, time to the first
//! receipt after it) are printed; run with `--nocapture` to see them.
//! Ballot choices come from a fixed seed; the load is [`VOTERS`] ballots
//! from [`CLIENTS`] concurrent clients.
//!
//! THIS FILE MUST BE THE ONLY POSTGRESQL USER WHILE IT RUNS. Restarting
//! the server ends every session on it: any other test using the same
//! PostgreSQL server at that moment fails. `cargo test` runs test binaries
//! one after another, so other files are safe; within this file every test
//! takes [`PG_EXCLUSIVE`]. Do not run this binary beside other PostgreSQL
//! users (e.g. `cargo nextest`'s parallel binaries, or a second checkout's
//! tests against the same server).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use psephos_board::appender::Receipt;
use psephos_board::testkit::{
    check_receipt, check_record, Client, PgDatabase, SimElection, DEFAULT_POSTGRES_URL,
};
use psephos_crypto::log::checkpoint::{open_checkpoint, NoteVerifier};
use psephos_crypto::log::merkle::{leaf_hash, MerkleTree};
use psephos_crypto::record::{Entry, Post};
use psephos_verifier::report::Stage;
use tokio::sync::watch;

/// Held by every test of this file for its whole run: a PostgreSQL
/// restart breaks every session on the server, so no other test of this
/// binary may use it meanwhile (see the file's comment).
static PG_EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Seed of the voters' choices (printed, so that a failure can be replayed).
const SEED: u64 = 0x5e9f_0013_fa17_0001;
/// Ballots per scenario, one per voter.
const VOTERS: usize = 300;
/// The fault is injected once the board has this many ballots.
const FAULT_AT: u64 = 100;
/// Ballots from this position on are posted once the fault is armed
/// ([`Phase::Armed`]): the load is still running when it strikes.
const GATE_ARMED: usize = 150;
/// Ballots from this position on are posted only after the fault
/// ([`Phase::After`]): the board must take them afterwards.
const GATE_AFTER: usize = 225;
/// Concurrent posting clients.
const CLIENTS: usize = 16;
/// How long one ballot may go on failing before the test gives up.
const RETRY_BUDGET: Duration = Duration::from_secs(120);
/// How long PostgreSQL may take to accept connections again.
const PG_BUDGET: Duration = Duration::from_secs(60);

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Voter `v`'s option (of 3), from [`SEED`].
fn choice_of(v: usize) -> usize {
    (splitmix64(SEED ^ v as u64) % 3) as usize
}

/// One ballot per voter, voter `v` choosing [`choice_of`]`(v)`.
fn ballots(e: &SimElection) -> Vec<Post> {
    (0..VOTERS)
        .map(|v| {
            let mut c = vec![0; 3];
            c[choice_of(v)] = 1;
            e.ballot(v, &[c]).unwrap()
        })
        .collect()
}

/// A `psephos-board serve` process, killed when dropped: a failed test
/// leaves no board behind (one would hold the test's output open).
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn board_vkey(client: &Client) -> String {
    let info = client.get_json("/api/v1/board").await.unwrap().unwrap();
    info["key"].as_str().unwrap().to_owned()
}

async fn ballots_on(client: &Client, id: &str) -> Option<u64> {
    let st = client.status(id).await.ok()?;
    st["ballots"].as_u64()
}

// ---------------------------------------------------------------------
// The local PostgreSQL cluster.

/// The `pg_lsclusters` cluster serving the test server, which this
/// process may restart.
#[derive(Debug, Clone)]
struct Cluster {
    version: String,
    name: String,
    host: String,
    port: u16,
}

fn admin_url() -> String {
    std::env::var("PSEPHOS_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

fn postgres_required() -> bool {
    std::env::var("PSEPHOS_REQUIRE_POSTGRES").as_deref() == Ok("1")
}

/// The effective uid, from `/proc/self/status` (Linux).
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Find the cluster behind the test server: a local host, root, and a
/// `pg_lsclusters` line (`Ver Cluster Port Status …`) with its port.
fn find_cluster() -> Result<Cluster, String> {
    let url = admin_url();
    let parsed =
        reqwest::Url::parse(&url).map_err(|e| format!("cannot parse the URL {url}: {e}"))?;
    let host = parsed.host_str().unwrap_or("localhost").to_owned();
    let port = parsed.port().unwrap_or(5432);
    if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]" | "::1") {
        return Err(format!("the test server {url} is not on this machine"));
    }
    if effective_uid() != Some(0) {
        return Err("not running as root (pg_ctlcluster needs root or the cluster owner)".into());
    }
    let out = std::process::Command::new("pg_lsclusters")
        .arg("--no-header")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run pg_lsclusters: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pg_lsclusters failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 4 && f[2].parse::<u16>().ok() == Some(port) {
            if f[3] != "online" {
                return Err(format!("cluster {} {} is {}", f[0], f[1], f[3]));
            }
            return Ok(Cluster {
                version: f[0].to_owned(),
                name: f[1].to_owned(),
                host,
                port,
            });
        }
    }
    Err(format!(
        "pg_lsclusters lists no cluster on port {port}:\n{text}"
    ))
}

/// The cluster, or `None` (skip) when it cannot be restarted and
/// PostgreSQL is not required; a failure when it is.
fn restartable_cluster() -> Option<Cluster> {
    match find_cluster() {
        Ok(c) => Some(c),
        Err(why) if postgres_required() => {
            panic!("PSEPHOS_REQUIRE_POSTGRES=1 but the local PostgreSQL cannot be restarted: {why}")
        }
        Err(why) => {
            eprintln!(
                "\n!!!!! SKIPPED: the PostgreSQL restart test needs a local cluster it can \
                 restart: {why}. Set PSEPHOS_REQUIRE_POSTGRES=1 to fail instead. !!!!!\n"
            );
            None
        }
    }
}

impl Cluster {
    fn ctl(&self, action: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new("pg_ctlcluster");
        // As CI starts it: pg_ctl itself, not a systemd unit.
        cmd.arg("--skip-systemctl-redirect")
            .args([&self.version, &self.name, action])
            .stdin(Stdio::null());
        cmd
    }

    /// `pg_ctlcluster … restart` (fast shutdown: open transactions are
    /// rolled back, every session is ended); its output goes to a file
    /// (the server it starts must not hold a pipe of ours).
    async fn restart(&self, log: &Path) {
        let file = std::fs::File::create(log).unwrap();
        let mut cmd = tokio::process::Command::from(self.ctl("restart"));
        cmd.stdout(file.try_clone().unwrap()).stderr(file);
        let status = cmd.status().await.unwrap();
        assert!(
            status.success(),
            "pg_ctlcluster {} {} restart failed ({status}): {}",
            self.version,
            self.name,
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    fn ready(&self) -> bool {
        std::process::Command::new("pg_isready")
            .args(["-q", "-h", &self.host, "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

/// Waits until the server takes connections again (a query answers);
/// returns the time waited.
async fn wait_for_postgres(budget: Duration) -> Duration {
    sqlx::any::install_default_drivers();
    let url = admin_url();
    let start = Instant::now();
    loop {
        let attempt = async {
            let pool = sqlx::any::AnyPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(5))
                .connect(&url)
                .await?;
            sqlx::query("SELECT 1").execute(&pool).await?;
            pool.close().await;
            Ok::<(), sqlx::Error>(())
        }
        .await;
        match attempt {
            Ok(()) => return start.elapsed(),
            Err(e) => assert!(
                start.elapsed() < budget,
                "PostgreSQL at {url} is not back after {budget:?}: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Makes sure the server is up when dropped, the test passed or not: waits
/// for it, and starts the cluster if it stays down (a restart that failed
/// half-way). Blocking: it runs in `Drop`, also while unwinding.
struct PostgresBackUp(Cluster);

impl Drop for PostgresBackUp {
    fn drop(&mut self) {
        let start = Instant::now();
        let mut started = false;
        while start.elapsed() < PG_BUDGET {
            if self.0.ready() {
                return;
            }
            if !started && start.elapsed() > Duration::from_secs(10) {
                eprintln!("PostgreSQL still down: starting the cluster");
                let _ = self
                    .0
                    .ctl("start")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                started = true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!(
            "\n!!!!! PostgreSQL ({} {}) is NOT back after {PG_BUDGET:?}; start it with \
             `pg_ctlcluster {} {} start` !!!!!\n",
            self.0.version, self.0.name, self.0.version, self.0.name
        );
    }
}

// ---------------------------------------------------------------------
// The load: concurrent clients that retry what failed.

/// What the clients may take in their stride.
#[derive(Debug, Clone, Copy)]
struct Tolerate {
    /// 500 `internal` and 503 `unavailable` answers (retried on the same board).
    server_errors: bool,
    /// Connection errors (retried, on the next board of the client's list
    /// if there is one: failover).
    connection_errors: bool,
}

/// A receipt a client was given.
#[derive(Debug, Clone)]
struct Got {
    /// The ballot's position in [`Load::posts`].
    ballot: usize,
    receipt: Receipt,
    at: Instant,
    /// The URL of the board that gave it.
    board: String,
}

#[derive(Debug, Default)]
struct Outcome {
    /// Receipts handed out.
    receipts: Vec<Got>,
    /// Ballots refused 409 `ciphertext_reused` when posted again after a
    /// failed attempt: the failed attempt had in fact been committed.
    reused: Vec<usize>,
    /// Failed attempts, by error code (`connection` for a transport error).
    errors: BTreeMap<String, u64>,
    /// Ballots that needed more than one attempt.
    retried: usize,
    /// Clients that moved to their next board.
    failovers: usize,
}

/// Where the scenario is; ballots wait at their gate for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Ballots below [`GATE_ARMED`] go.
    Before,
    /// The fault is about to strike: ballots below [`GATE_AFTER`] go.
    Armed,
    /// The fault has struck: every ballot goes.
    After,
}

struct Load {
    id: String,
    posts: Vec<Post>,
    next: AtomicUsize,
    /// Which gates are open.
    phase: watch::Receiver<Phase>,
    tolerate: Tolerate,
    out: Mutex<Outcome>,
}

/// Post every ballot with [`CLIENTS`] clients, client `c` on
/// `boards[c % boards.len()]` (its fallbacks after it, in order). Each
/// ballot is retried until it has a receipt, or until a retry is refused
/// as a copy of itself (it had been committed).
fn start_load(load: &Arc<Load>, boards: &[Vec<Client>]) -> Vec<tokio::task::JoinHandle<()>> {
    (0..CLIENTS)
        .map(|c| {
            let load = load.clone();
            let targets = boards[c % boards.len()].clone();
            tokio::spawn(async move { post_ballots(&load, targets).await })
        })
        .collect()
}

async fn post_ballots(load: &Load, targets: Vec<Client>) {
    let mut t = 0;
    let mut phase = load.phase.clone();
    loop {
        let k = load.next.fetch_add(1, Ordering::SeqCst);
        if k >= load.posts.len() {
            return;
        }
        let wait_for = if k >= GATE_AFTER {
            Phase::After
        } else if k >= GATE_ARMED {
            Phase::Armed
        } else {
            Phase::Before
        };
        phase.wait_for(|p| *p >= wait_for).await.unwrap();
        let post = &load.posts[k];
        let first = Instant::now();
        let mut failed = false;
        let mut backoff = Duration::from_millis(25);
        loop {
            let code = match targets[t].post(&load.id, post).await {
                Ok(Ok(receipt)) => {
                    load.out.lock().unwrap().receipts.push(Got {
                        ballot: k,
                        receipt,
                        at: Instant::now(),
                        board: targets[t].base.clone(),
                    });
                    break;
                }
                Ok(Err(e)) if failed && e.status == 409 && e.body.error == "ciphertext_reused" => {
                    load.out.lock().unwrap().reused.push(k);
                    break;
                }
                Ok(Err(e))
                    if load.tolerate.server_errors
                        && matches!(
                            (e.status, e.body.error.as_str()),
                            (500, "internal") | (503, "unavailable")
                        ) =>
                {
                    e.body.error
                }
                Ok(Err(e)) => panic!("ballot {k} refused (attempt after a failure: {failed}): {e}"),
                Err(_) if load.tolerate.connection_errors => {
                    if t + 1 < targets.len() {
                        t += 1;
                        load.out.lock().unwrap().failovers += 1;
                        backoff = Duration::ZERO;
                    }
                    "connection".to_owned()
                }
                Err(e) => panic!("ballot {k}: {e:#}"),
            };
            {
                let mut out = load.out.lock().unwrap();
                *out.errors.entry(code).or_default() += 1;
                if !failed {
                    out.retried += 1;
                }
            }
            failed = true;
            assert!(
                first.elapsed() < RETRY_BUDGET,
                "ballot {k} still failing after {RETRY_BUDGET:?}"
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).clamp(Duration::from_millis(25), Duration::from_secs(1));
        }
    }
}

/// Wait until `client`'s board has at least [`FAULT_AT`] ballots; returns
/// the count.
async fn wait_for_ballots(client: &Client, id: &str) -> u64 {
    let start = Instant::now();
    loop {
        if let Some(n) = ballots_on(client, id).await {
            if n >= FAULT_AT {
                return n;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the load did not reach {FAULT_AT} ballots"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------
// The end of each scenario: every receipt in the log, export, verifier,
// tally.

/// Check the record against what the clients were told, close and tally,
/// export the record and verify it.
async fn check_everything(
    dir: &Path,
    database_url: &str,
    client: &Client,
    e: &SimElection,
    vkey: &str,
    load: &Load,
) {
    let (receipts, reused) = {
        let out = load.out.lock().unwrap();
        (out.receipts.clone(), out.reused.clone())
    };
    let lines = client.entries(&e.id).await.unwrap();
    let note = client.checkpoint(&e.id).await.unwrap();
    assert_eq!(
        check_record(&lines, &note, vkey).unwrap(),
        lines.len() as u64
    );
    let status = client.status(&e.id).await.unwrap();
    assert_eq!(status["size"].as_u64().unwrap(), lines.len() as u64);

    // Every receipt: the entry at its index has its leaf hash and is the
    // ballot posted, its proof leads to its checkpoint's root, and that
    // root is the root of the log's prefix of that size (no other history).
    let verifier = NoteVerifier::from_vkey(vkey).unwrap();
    let mut tree = MerkleTree::new();
    for line in &lines {
        tree.push(leaf_hash(line.as_bytes()));
    }
    for Got {
        ballot: k,
        receipt: r,
        ..
    } in &receipts
    {
        let line = &lines[r.index as usize];
        assert_eq!(
            hex::encode(leaf_hash(line.as_bytes())),
            r.leaf_hash,
            "entry {}",
            r.index
        );
        check_receipt(r, vkey).unwrap();
        let (cp, _) = open_checkpoint(&r.checkpoint, &verifier).unwrap();
        assert_eq!(tree.root_at(cp.size).unwrap(), cp.root, "receipt {k}");
        let entry = Entry::from_line(line).unwrap();
        assert_eq!(entry.body.get(), load.posts[*k].body_text(), "receipt {k}");
    }

    // The ballots in the log are exactly the ballots posted, each once:
    // those with a receipt and those whose retry found them committed.
    let by_body: HashMap<&str, usize> = load
        .posts
        .iter()
        .enumerate()
        .map(|(k, p)| (p.body_text(), k))
        .collect();
    let mut in_log = Vec::new();
    for line in &lines {
        let entry = Entry::from_line(line).unwrap();
        if let Some(&k) = by_body.get(entry.body.get()) {
            in_log.push(k);
        }
    }
    let logged: HashSet<usize> = in_log.iter().copied().collect();
    assert_eq!(in_log.len(), logged.len(), "a ballot is in the log twice");
    let receipted: HashSet<usize> = receipts.iter().map(|g| g.ballot).collect();
    let reused: HashSet<usize> = reused.iter().copied().collect();
    assert_eq!(
        receipted.len(),
        receipts.len(),
        "two receipts for one ballot"
    );
    assert!(receipted.is_disjoint(&reused));
    for k in &reused {
        assert!(
            logged.contains(k),
            "ballot {k} was refused as already on the log, but it is not there"
        );
    }
    assert_eq!(
        receipted.len() + reused.len(),
        VOTERS,
        "every ballot has a receipt or was found committed"
    );
    assert_eq!(logged.len(), VOTERS, "every ballot posted is in the log");
    assert_eq!(status["ballots"].as_u64().unwrap(), VOTERS as u64);
    let mut expected = vec![0u64; 3];
    for &k in &logged {
        expected[choice_of(k)] += 1;
    }

    // Close, tally: the result counts exactly the ballots in the log.
    client
        .admin(&e.id, "close", serde_json::json!({}))
        .await
        .unwrap()
        .unwrap();
    for l in [1, 2] {
        let p = e.partial_decryption(client, l).await.unwrap();
        client.post_ok(&e.id, &p).await.unwrap();
    }
    let st = client.status(&e.id).await.unwrap();
    assert_eq!(st["state"], "tallied");
    assert_eq!(st["result"], serde_json::json!([expected.clone()]));

    // `psephos-board export`, then the verifier over the exported file.
    let file = dir.join(format!("{}.jsonl", e.id));
    let export = std::process::Command::new(common::binary())
        .args(["export", "--election", &e.id, "--data-dir"])
        .arg(dir)
        .arg("--out")
        .arg(&file)
        .env("DATABASE_URL", database_url)
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&export.stderr)
    );
    let exported: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let all = client.entries(&e.id).await.unwrap();
    assert_eq!(exported, all, "the export is the record the board serves");
    let note = client.checkpoint(&e.id).await.unwrap();
    let opts = psephos_verifier::VerifyOptions {
        source: file.display().to_string(),
        election: Some(e.id.clone()),
        board_key: Some(psephos_verifier::parse_board_key(vkey).unwrap()),
        board_origin: Some("psephos-board".into()),
        checkpoint: Some(note),
        require_result: true,
        ..psephos_verifier::VerifyOptions::default()
    };
    let mut v = psephos_verifier::Verifier::new(opts);
    psephos_verifier::source::for_each_line_of_file(&file, |line| v.push_line(line)).unwrap();
    let report = v.finish();
    assert!(
        report.passed && report.failed_checks().is_empty(),
        "{}",
        report.render_text()
    );
    assert_eq!(report.stage, Stage::Tallied);
    assert_eq!(report.entries, exported.len() as u64);
    assert_eq!(report.counted.ballots, VOTERS as u64);
    assert_eq!(report.counted.valid_ballots, VOTERS as u64);
    assert_eq!(report.counted.counted_credentials, VOTERS as u64);
    let result = report.result.as_ref().expect("a verified result");
    let counts: Vec<u64> = result[0].counts.iter().map(|(_, n)| *n).collect();
    assert_eq!(counts, expected);
    eprintln!(
        "  record: {} entries exported and verified; result {expected:?}",
        exported.len()
    );
}

fn print_outcome(what: &str, load: &Load, at_fault: u64, recovery: Option<Duration>) {
    let out = load.out.lock().unwrap();
    eprintln!(
        "{what}: {at_fault} ballots in before the fault; {} receipts, {} found committed on \
         retry (409 ciphertext_reused); {} ballots retried, failed attempts {:?}, {} failovers{}",
        out.receipts.len(),
        out.reused.len(),
        out.retried,
        out.errors,
        out.failovers,
        recovery
            .map(|d| format!("; first receipt {d:.2?} after the fault"))
            .unwrap_or_default()
    );
}

// ---------------------------------------------------------------------
// Fault injection in the database.

/// Holds the next index of an election's log in an open transaction: an
/// uncommitted `entries` row with that index. The board's next append
/// locks the election row, applies its batch in memory, signs its
/// checkpoint, and then waits inside `Store::write_batch` (its insert of
/// that index waits for this transaction) — the fault that follows strikes
/// an append whose state was already changed in memory and not committed.
struct HeldIndex {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    pool: sqlx::AnyPool,
    index: u64,
}

async fn hold_next_index(database_url: &str, id: &str) -> HeldIndex {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(database_url)
        .await
        .unwrap();
    // While the election row is locked no append commits: the head read
    // here stays the head until the row is released.
    let mut head = pool.begin().await.unwrap();
    let row = sqlx::query("UPDATE elections SET size = size WHERE id = $1 RETURNING size")
        .bind(id)
        .fetch_one(&mut *head)
        .await
        .unwrap();
    let size: i64 = row.try_get(0).unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO entries (election, idx, leaf_hash, kind, author, line) \
         VALUES ($1, $2, 'held', 'held', 'held', 'held')",
    )
    .bind(id)
    .bind(size)
    .execute(&mut *tx)
    .await
    .unwrap();
    head.rollback().await.unwrap();
    HeldIndex {
        tx,
        pool,
        index: u64::try_from(size).unwrap(),
    }
}

/// Wait until a session of the database `database_url` waits for a lock
/// in an insert into `entries` (the board's append, behind a
/// [`HeldIndex`]).
async fn wait_for_blocked_append(database_url: &str) -> Duration {
    use sqlx::Row;
    let name = database_url.rsplit('/').next().unwrap().to_owned();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&admin_url())
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        let row = sqlx::query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname::text = $1 \
             AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO entries%'",
        )
        .bind(&name)
        .fetch_one(&pool)
        .await
        .unwrap();
        if row.try_get::<i64, _>(0).unwrap() > 0 {
            pool.close().await;
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the board's append never reached the held index"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What a [`CommitTrap`] does once it caught a commit's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sprung {
    /// Keeps the connection open and silent: the board process waits for
    /// the answer (until it is killed).
    Stall,
    /// Closes the connection: the board's commit fails with an I/O error
    /// although PostgreSQL committed.
    Close,
}

/// A relay between one board process and PostgreSQL that loses the answer
/// to a COMMIT. Once armed, the next `COMMIT` (a simple-protocol `Query`
/// message, as sqlx sends it) goes through to PostgreSQL; PostgreSQL's
/// answer — sent once the commit is durable — is dropped, and `sprung`
/// turns true. The board process has committed a batch it cannot answer.
struct CommitTrap {
    port: u16,
    armed: Arc<std::sync::atomic::AtomicBool>,
    sprung: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl CommitTrap {
    async fn start(database_url: &str, mode: Sprung) -> CommitTrap {
        use std::sync::atomic::AtomicBool;
        let url = reqwest::Url::parse(database_url).unwrap();
        let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(AtomicBool::new(false));
        let (sprung_tx, sprung) = watch::channel(false);
        let sprung_tx = Arc::new(sprung_tx);
        let task = tokio::spawn({
            let armed = armed.clone();
            async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        return;
                    };
                    let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                        continue;
                    };
                    let (armed, sprung_tx) = (armed.clone(), sprung_tx.clone());
                    tokio::spawn(relay(client, server, armed, sprung_tx, mode));
                }
            }
        });
        CommitTrap {
            port,
            armed,
            sprung,
            task,
        }
    }

    /// `database_url` through the trap (without TLS, so that the relay
    /// reads the messages).
    fn url(&self, database_url: &str) -> String {
        let mut url = reqwest::Url::parse(database_url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.port)).unwrap();
        url.set_query(Some("sslmode=disable"));
        url.to_string()
    }

    fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Wait until a commit's answer was caught.
    async fn wait(&mut self) -> Duration {
        let start = Instant::now();
        tokio::time::timeout(Duration::from_secs(120), self.sprung.wait_for(|s| *s))
            .await
            .expect("no COMMIT went through the trap")
            .unwrap();
        start.elapsed()
    }
}

impl Drop for CommitTrap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One relayed connection. Client to server: messages are framed (the
/// startup message has no type byte, every later one has) and a COMMIT
/// sent while armed marks the connection. Server to client: the first
/// bytes read after that mark are the COMMIT's answer — sqlx waits for
/// the answer to each query before it sends the next — and are dropped.
async fn relay(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    armed: Arc<std::sync::atomic::AtomicBool>,
    sprung: Arc<watch::Sender<bool>>,
    mode: Sprung,
) {
    use std::sync::atomic::AtomicBool;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Each message as it comes: no Nagle delay on the relay's small writes.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    let commit_sent = Arc::new(AtomicBool::new(false));
    let up = {
        let commit_sent = commit_sent.clone();
        async move {
            let mut buf: Vec<u8> = Vec::new();
            let mut startup = true;
            let mut chunk = [0u8; 16 * 1024];
            loop {
                let n = match client_rx.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                // Forward the complete messages, having marked a COMMIT.
                let mut out = Vec::new();
                loop {
                    let head = if startup { 4 } else { 5 };
                    if buf.len() < head {
                        break;
                    }
                    let at = head - 4;
                    let len = u32::from_be_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
                    let total = at + len;
                    if buf.len() < total {
                        break;
                    }
                    let message: Vec<u8> = buf.drain(..total).collect();
                    if !startup
                        && message[0] == b'Q'
                        && message[5..].starts_with(b"COMMIT")
                        && armed.load(Ordering::SeqCst)
                    {
                        commit_sent.store(true, Ordering::SeqCst);
                    }
                    startup = false;
                    out.extend_from_slice(&message);
                }
                if !out.is_empty() && server_tx.write_all(&out).await.is_err() {
                    return;
                }
            }
        }
    };
    let down = async move {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = match server_rx.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if commit_sent.load(Ordering::SeqCst) && !*sprung.borrow() {
                // The answer to the COMMIT: the transaction is durable.
                sprung.send_replace(true);
                match mode {
                    Sprung::Close => {
                        let _ = client_tx.shutdown().await;
                        return;
                    }
                    Sprung::Stall => {
                        // Swallow everything from now on.
                        while let Ok(n) = server_rx.read(&mut chunk).await {
                            if n == 0 {
                                return;
                            }
                        }
                        return;
                    }
                }
            }
            if client_tx.write_all(&chunk[..n]).await.is_err() {
                return;
            }
        }
    };
    // Either side ending ends the connection.
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

// ---------------------------------------------------------------------
// 1. PostgreSQL restarted in the middle of a ballot load.

/// The board runs on one PostgreSQL database under a load of [`VOTERS`]
/// ballots from [`CLIENTS`] clients. At [`FAULT_AT`] ballots an append is
/// caught half-way ([`HeldIndex`]) and PostgreSQL is restarted: every
/// session ends, the append's transaction with it, and for a few seconds
/// no connection is taken. The same `serve` process must answer the
/// caught batch with 503 (no receipt), rebuild its state from the
/// database, and take every ballot after the restart; the clients retry
/// on 500/503 and connection errors. At the end every receipt is in the
/// log, the exported record verifies, and the tally counts the ballots in
/// the log exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_during_ballot_load_loses_no_receipt() {
    let _exclusive = PG_EXCLUSIVE.lock().await;
    let Some(cluster) = restartable_cluster() else {
        return;
    };
    let _back_up = PostgresBackUp(cluster.clone());
    let Some(pg) = PgDatabase::create().await.unwrap() else {
        return;
    };
    eprintln!(
        "seed {SEED:#x}; PostgreSQL cluster {} {}",
        cluster.version, cluster.name
    );
    let dir = tempfile::tempdir().unwrap();
    let token = common::init(dir.path(), Some(&pg.url));
    let port = common::free_port();
    let mut child = Serve(common::serve(dir.path(), Some(&pg.url), port).await);
    let client = Client::new(&format!("http://127.0.0.1:{port}"), Some(token));
    let mut e = SimElection::new("pgrestart", 3, 2, 3, VOTERS);
    e.setup_and_open(&client).await.unwrap();
    let vkey = board_vkey(&client).await;

    let (phase_tx, phase_rx) = watch::channel(Phase::Before);
    let load = Arc::new(Load {
        id: e.id.clone(),
        posts: ballots(&e),
        next: AtomicUsize::new(0),
        phase: phase_rx,
        tolerate: Tolerate {
            server_errors: true,
            connection_errors: true,
        },
        out: Mutex::new(Outcome::default()),
    });
    let tasks = start_load(&load, &[vec![client.clone()]]);

    let at_fault = wait_for_ballots(&client, &e.id).await;
    let held = hold_next_index(&pg.url, &e.id).await;
    phase_tx.send(Phase::Armed).unwrap();
    let blocked_after = wait_for_blocked_append(&pg.url).await;
    let (receipts_at_fault, taken_at_fault) = (
        load.out.lock().unwrap().receipts.len(),
        load.next.load(Ordering::SeqCst).min(GATE_AFTER),
    );
    let fault = Instant::now();
    cluster.restart(&dir.path().join("pg_ctlcluster.log")).await;
    let restart_took = fault.elapsed();
    let restarted = Instant::now();
    // The holding transaction died with its session: the index was never
    // committed.
    let held_index = held.index;
    drop(held.tx);
    drop(held.pool);
    let pg_up = wait_for_postgres(PG_BUDGET).await;
    phase_tx.send(Phase::After).unwrap();
    // The same process answers again.
    while ballots_on(&client, &e.id).await.is_none() {
        assert!(
            restarted.elapsed() < RETRY_BUDGET,
            "the board does not answer after the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answers_after = fault.elapsed();
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the serve process exited"
    );
    let (first_after, early, errors, retried) = {
        let out = load.out.lock().unwrap();
        (
            out.receipts
                .iter()
                .map(|g| g.at)
                .filter(|at| *at > fault)
                .min()
                .map(|at| at - fault),
            // Ballots posted once the append was held: no receipt before
            // the fault struck (the one appender of the process waited).
            out.receipts
                .iter()
                .filter(|g| g.ballot >= GATE_ARMED && g.at <= fault)
                .map(|g| g.ballot)
                .collect::<Vec<_>>(),
            out.errors.clone(),
            out.retried,
        )
    };
    eprintln!(
        "PostgreSQL restart: at {at_fault} ballots ({receipts_at_fault} receipts, {} in flight); \
         an append held at index {held_index} after {blocked_after:.2?}; pg_ctlcluster restart \
         took {restart_took:.2?} (+{pg_up:.2?} until a query answered); the board answered \
         status {answers_after:.2?} after the fault",
        taken_at_fault.saturating_sub(receipts_at_fault)
    );
    print_outcome("PostgreSQL restart", &load, at_fault, first_after);
    assert!(
        early.is_empty(),
        "receipts while the append was held: {early:?}"
    );
    // The held batch was answered 503 and retried.
    assert!(
        errors.get("unavailable").copied().unwrap_or(0) >= 1 && retried >= 1,
        "the append caught by the restart was not answered 503 unavailable: {errors:?}"
    );
    // The state the process rebuilt knows the ballots committed before
    // the restart: one posted again is a copy.
    let before = load
        .out
        .lock()
        .unwrap()
        .receipts
        .iter()
        .filter(|g| g.at < fault)
        .map(|g| g.ballot)
        .min()
        .unwrap();
    let again = client.post(&e.id, &load.posts[before]).await.unwrap();
    let refused = again.expect_err("a ballot committed before the restart was taken again");
    assert_eq!(
        (refused.status, refused.body.error.as_str()),
        (409, "ciphertext_reused")
    );

    check_everything(dir.path(), &pg.url, &client, &e, &vkey, &load).await;
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the serve process exited"
    );
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    pg.drop_database().await;
}

// ---------------------------------------------------------------------
// 2. kill -9 of one of two board processes on one database.

/// Two `serve` processes, A and B, on one PostgreSQL database, half the
/// clients on each. At [`FAULT_AT`] ballots A is killed (SIGKILL). Its
/// clients get connection errors and post what was not acknowledged to B
/// instead: the very same ballot, so a ballot A had committed before it
/// died is refused by B with 409 `ciphertext_reused` (SPEC.md §10.4 rule
/// 6: its R points are on the log; a fresh encryption would instead be a
/// revote, counted in place of the first under rule 7's cap) — the only
/// refusal a client accepts, only after a failed attempt, and only for a
/// ballot that is in the log. B never fails. At the end every receipt is
/// in the log, the exported record verifies, and the tally counts the
/// ballots in the log exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_one_of_two_board_processes_fails_over_without_loss() {
    let _exclusive = PG_EXCLUSIVE.lock().await;
    let Some(pg) = PgDatabase::create().await.unwrap() else {
        return;
    };
    eprintln!("seed {SEED:#x}");
    let dir = tempfile::tempdir().unwrap();
    let token = common::init(dir.path(), Some(&pg.url));
    let (pa, pb) = (common::free_port(), common::free_port());
    // A reaches the database through a trap that can lose a commit's answer.
    let mut trap = CommitTrap::start(&pg.url, Sprung::Stall).await;
    let mut a = Serve(common::serve(dir.path(), Some(&trap.url(&pg.url)), pa).await);
    let mut b = Serve(common::serve(dir.path(), Some(&pg.url), pb).await);
    let ca = Client::new(&format!("http://127.0.0.1:{pa}"), Some(token.clone()));
    let cb = Client::new(&format!("http://127.0.0.1:{pb}"), Some(token));
    let mut e = SimElection::new("failover", 3, 2, 3, VOTERS);
    e.setup_and_open(&ca).await.unwrap();
    let vkey = board_vkey(&ca).await;
    assert_eq!(board_vkey(&cb).await, vkey);

    let (phase_tx, phase_rx) = watch::channel(Phase::Before);
    let load = Arc::new(Load {
        id: e.id.clone(),
        posts: ballots(&e),
        next: AtomicUsize::new(0),
        phase: phase_rx,
        // B is never down: no 5xx is expected from either board.
        tolerate: Tolerate {
            server_errors: false,
            connection_errors: true,
        },
        out: Mutex::new(Outcome::default()),
    });
    // Even clients on A (failing over to B), odd ones on B.
    let tasks = start_load(&load, &[vec![ca.clone(), cb.clone()], vec![cb.clone()]]);

    let at_fault = wait_for_ballots(&cb, &e.id).await;
    let (receipts_at_fault, taken_at_fault) = (
        load.out.lock().unwrap().receipts.len(),
        load.next.load(Ordering::SeqCst).min(GATE_AFTER),
    );
    // A's next commit is durable, and A is killed before it can answer.
    trap.arm();
    phase_tx.send(Phase::Armed).unwrap();
    let caught_after = trap.wait().await;
    a.0.kill().unwrap(); // SIGKILL
    let fault = Instant::now();
    a.0.wait().unwrap();
    phase_tx.send(Phase::After).unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let first_after = load
        .out
        .lock()
        .unwrap()
        .receipts
        .iter()
        .map(|g| g.at)
        .filter(|at| *at > fault)
        .min()
        .map(|at| at - fault);
    eprintln!(
        "kill -9: at {at_fault} ballots ({receipts_at_fault} receipts, {} in flight); A's \
         commit caught {caught_after:.2?} after arming, A killed",
        taken_at_fault.saturating_sub(receipts_at_fault)
    );
    print_outcome("kill -9 of one of two boards", &load, at_fault, first_after);
    let from_a = {
        let out = load.out.lock().unwrap();
        // Every client of A moved to B, once: each posts a gated ballot
        // after the kill.
        assert_eq!(out.failovers, CLIENTS / 2);
        assert!(
            out.errors.keys().all(|k| k == "connection"),
            "{:?}",
            out.errors
        );
        let after = out.receipts.iter().filter(|g| g.at > fault).count();
        assert!(
            after >= VOTERS - GATE_AFTER,
            "only {after} receipts after the kill"
        );
        // The batch A committed and never answered: posted again to B, its
        // ballots were refused as copies of themselves.
        assert!(
            !out.reused.is_empty(),
            "no ballot of A's last commit was posted again"
        );
        let from_a: Vec<usize> = out
            .receipts
            .iter()
            .filter(|g| g.board == ca.base && g.at < fault)
            .map(|g| g.ballot)
            .collect();
        from_a
    };
    let dead = ca.status(&e.id).await.expect_err("A is dead");
    assert!(
        dead.downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_connect),
        "A is dead, so connecting to it fails: {dead:#}"
    );
    assert!(b.0.try_wait().unwrap().is_none(), "B exited");
    // A ballot A acknowledged, posted again to B: B has A's commits.
    let copy = *from_a.first().expect("A gave no receipt before the kill");
    let refused = cb
        .post(&e.id, &load.posts[copy])
        .await
        .unwrap()
        .expect_err("B took again a ballot A had committed");
    assert_eq!(
        (refused.status, refused.body.error.as_str()),
        (409, "ciphertext_reused")
    );

    check_everything(dir.path(), &pg.url, &cb, &e, &vkey, &load).await;
    b.0.kill().unwrap();
    b.0.wait().unwrap();
    pg.drop_database().await;
}

// ---------------------------------------------------------------------
// 3. A commit whose answer is lost.

/// One `serve` process reaches PostgreSQL through a [`CommitTrap`]. At
/// [`FAULT_AT`] ballots the answer to one of its commits is lost and the
/// connection closed: the batch is durable, but the board sees its commit
/// fail. It must answer the batch with 503 (no receipt), rebuild its state
/// from the database — which holds the batch — and carry on; the clients
/// post the same ballots again and get 409 `ciphertext_reused` (SPEC.md
/// §10.4 rule 6), the only refusal accepted, only after a failed attempt,
/// and only for a ballot in the log. At the end every receipt is in the
/// log, the exported record verifies, and the tally counts the ballots in
/// the log exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_commit_answer_during_ballot_load_keeps_memory_and_log_one() {
    let _exclusive = PG_EXCLUSIVE.lock().await;
    let Some(pg) = PgDatabase::create().await.unwrap() else {
        return;
    };
    eprintln!("seed {SEED:#x}");
    let dir = tempfile::tempdir().unwrap();
    let token = common::init(dir.path(), Some(&pg.url));
    let mut trap = CommitTrap::start(&pg.url, Sprung::Close).await;
    let port = common::free_port();
    let mut child = Serve(common::serve(dir.path(), Some(&trap.url(&pg.url)), port).await);
    let client = Client::new(&format!("http://127.0.0.1:{port}"), Some(token));
    let mut e = SimElection::new("lostcommit", 3, 2, 3, VOTERS);
    e.setup_and_open(&client).await.unwrap();
    let vkey = board_vkey(&client).await;

    let (phase_tx, phase_rx) = watch::channel(Phase::Before);
    let load = Arc::new(Load {
        id: e.id.clone(),
        posts: ballots(&e),
        next: AtomicUsize::new(0),
        phase: phase_rx,
        tolerate: Tolerate {
            server_errors: true,
            connection_errors: false,
        },
        out: Mutex::new(Outcome::default()),
    });
    let tasks = start_load(&load, &[vec![client.clone()]]);
    let at_fault = wait_for_ballots(&client, &e.id).await;
    trap.arm();
    phase_tx.send(Phase::Armed).unwrap();
    let caught_after = trap.wait().await;
    let fault = Instant::now();
    phase_tx.send(Phase::After).unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let first_after = load
        .out
        .lock()
        .unwrap()
        .receipts
        .iter()
        .map(|g| g.at)
        .filter(|at| *at > fault)
        .min()
        .map(|at| at - fault);
    eprintln!("lost commit answer: caught {caught_after:.2?} after arming, at {at_fault} ballots");
    print_outcome("lost commit answer", &load, at_fault, first_after);
    {
        let out = load.out.lock().unwrap();
        assert!(
            !out.reused.is_empty(),
            "no ballot of the commit whose answer was lost was posted again"
        );
        assert_eq!(
            out.errors.keys().collect::<Vec<_>>(),
            ["unavailable"],
            "{:?}",
            out.errors
        );
        assert_eq!(out.retried, out.reused.len(), "{:?}", out.errors);
    }
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the serve process exited"
    );
    check_everything(dir.path(), &pg.url, &client, &e, &vkey, &load).await;
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    drop(trap);
    pg.drop_database().await;
}

// ---------------------------------------------------------------------
// 4. A failed append while the database stays down (a board bug).

/// When an append fails after its batch was applied in memory and the
/// database is still down when the appender rebuilds the election
/// (`appender::reload`), the state it releases holds the uncommitted
/// batch. A reader that took the election from the cache before the
/// eviction and waits for its lock (`Board::fresh`) was served that state
/// (an inclusion proof of an entry never committed, in a tree one entry
/// larger than the log); now the state is poisoned and the reader gets
/// 503 `unavailable`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_append_with_database_down_serves_no_uncommitted_entry() {
    let _exclusive = PG_EXCLUSIVE.lock().await;
    let Some(cluster) = restartable_cluster() else {
        return;
    };
    let _back_up = PostgresBackUp(cluster.clone());
    let Some(pg) = PgDatabase::create().await.unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let token = common::init(dir.path(), Some(&pg.url));
    let port = common::free_port();
    let mut child = Serve(common::serve(dir.path(), Some(&pg.url), port).await);
    let client = Client::new(&format!("http://127.0.0.1:{port}"), Some(token));
    let mut e = SimElection::new("phantom", 3, 2, 3, 21);
    e.setup_and_open(&client).await.unwrap();
    for v in 0..20 {
        e.cast(&client, v, &[vec![1, 0, 0]]).await.unwrap();
    }
    let size = client.status(&e.id).await.unwrap()["size"]
        .as_u64()
        .unwrap();

    // The next append applies ballot 20 in memory, then waits in its
    // transaction, holding the election's lock.
    let held = hold_next_index(&pg.url, &e.id).await;
    assert_eq!(held.index, size);
    let post = e.ballot(20, &[vec![0, 1, 0]]).unwrap();
    let posting = tokio::spawn({
        let (client, id) = (client.clone(), e.id.clone());
        async move { client.post(&id, &post).await.unwrap() }
    });
    wait_for_blocked_append(&pg.url).await;
    // A reader of entry `size`: it reads the committed head (`size`
    // entries), then waits for the election's lock.
    let reading = tokio::spawn({
        let client = client.clone();
        let path = format!("/api/v1/elections/{}/proof/inclusion?index={size}", e.id);
        async move { client.get_text(&path).await.unwrap() }
    });
    // Time for it to read the head (the append stays held meanwhile).
    tokio::time::sleep(Duration::from_secs(5)).await;
    // PostgreSQL stops: the append fails, and so does its reload (the
    // pool gives up after its 10 s acquire timeout).
    let stop = cluster
        .ctl("stop")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(stop.success());
    drop(held.tx);
    drop(held.pool);
    // Today the reader is answered once the appender gave up (10 s); a
    // fixed board may keep it waiting until PostgreSQL is back.
    let mut reading = reading;
    let early = tokio::time::timeout(Duration::from_secs(20), &mut reading).await;
    let start = cluster
        .ctl("start")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(start.success());
    wait_for_postgres(PG_BUDGET).await;
    let (status, body) = match early {
        Ok(answer) => answer.unwrap(),
        Err(_) => tokio::time::timeout(Duration::from_secs(120), reading)
            .await
            .expect("the reader never got an answer")
            .unwrap(),
    };
    let refused = posting
        .await
        .unwrap()
        .expect_err("the held post was committed");
    assert_eq!(
        (refused.status, refused.body.error.as_str()),
        (503, "unavailable")
    );
    let lines = client.entries(&e.id).await.unwrap();
    assert_eq!(lines.len() as u64, size, "nothing was committed");
    eprintln!("the reader of entry {size} got {status}: {body}");
    let error: serde_json::Value = serde_json::from_str(&body)
        .unwrap_or_else(|_| panic!("not a JSON error ({status}): {body}"));
    assert_eq!(
        (status, error["error"].as_str()),
        (503, Some("unavailable")),
        "the reader of entry {size}, which was never committed: {body}"
    );
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    pg.drop_database().await;
}
