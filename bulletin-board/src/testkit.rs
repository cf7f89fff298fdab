//! A whole election driven over the board's HTTP API, for tests of the
//! board and of the programs that read its record (verifier, trustee tool,
//! demo).
//!
//! * [`TestBoard`] runs a board in-process on a loopback port, on a fresh
//!   SQLite data directory or a fresh PostgreSQL database
//!   ([`TestBoard::postgres`]; skipped when no server answers, unless
//!   `PSEPHOS_REQUIRE_POSTGRES=1`); [`TestBoard::fork`] serves a copy of
//!   its history under the same key as a second board.
//! * [`Client`] speaks the API (SPEC.md §10.1).
//! * [`SimElection`] plays every other role with the crypto crate's
//!   primitives: trustees (registration, commit–reveal DKG with encrypted
//!   shares, acknowledgements, partial decryptions), the credential
//!   authority and the voters. Its randomness is seeded from the election
//!   id, so a test's election is the same on every run.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use psephos_board::testkit::{SimElection, TestBoard};
//! let board = TestBoard::sqlite().await?;
//! let client = board.client();
//! let mut e = SimElection::new("mayor-2026", 3, 2, 1, 10);
//! e.setup_and_open(&client).await?;
//! for v in 0..10 {
//!     e.cast(&client, v, &[vec![1, 0, 0]]).await?;
//! }
//! e.close_and_tally(&client, &[1, 2]).await?;
//! board.finish().await;
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::{anyhow, bail, Context};
use ed25519_dalek::SigningKey;
use psephos_crypto::ballot::{encrypt_ballot, BallotContext, Contest, ContestOption};
use psephos_crypto::elgamal::{Ciphertext, PublicKey, SecretKey};
use psephos_crypto::record::{
    AuthorKey, Body, CredentialEntry, EncryptedShare, Manifest, Payload, Post, TrusteeInfo,
};
use psephos_crypto::share_encryption::{decrypt_share, encrypt_share};
use psephos_crypto::threshold::{KeyShare, Polynomial};
use psephos_crypto::wire::{CreateElection, Created, ElectionStatus, ErrorBody, OpenVoting};
use psephos_crypto::{Fingerprint, Point};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, OsRng, RngCore, SeedableRng};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::appender::Receipt;
use crate::board::{init, Board, Config};
use crate::store::{Backend, Store};

/// The PostgreSQL server the tests use unless `PSEPHOS_TEST_POSTGRES_URL`
/// says otherwise (its database is only used to create fresh ones).
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh PostgreSQL database, dropped by [`PgDatabase::drop_database`].
#[derive(Debug)]
pub struct PgDatabase {
    admin_url: String,
    name: String,
    /// The URL of the fresh database.
    pub url: String,
}

impl PgDatabase {
    /// Create `psephos_test_<random>` on the test server. `Ok(None)` when
    /// no server answers and `PSEPHOS_REQUIRE_POSTGRES` is not `1`.
    pub async fn create() -> anyhow::Result<Option<PgDatabase>> {
        let admin_url = std::env::var("PSEPHOS_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let required = std::env::var("PSEPHOS_REQUIRE_POSTGRES").as_deref() == Ok("1");
        sqlx::any::install_default_drivers();
        let pool = match sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(&admin_url)
            .await
        {
            Ok(p) => p,
            Err(e) if !required => {
                eprintln!(
                    "skipped: no PostgreSQL at {admin_url} ({e}); set PSEPHOS_REQUIRE_POSTGRES=1 to fail instead"
                );
                return Ok(None);
            }
            Err(e) => return Err(e).context(format!("PostgreSQL at {admin_url} is required")),
        };
        // Unseeded on purpose: it names a database, it is not test data.
        let name = format!("psephos_test_{:016x}", OsRng.next_u64());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await?;
        pool.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .ok_or_else(|| anyhow!("bad PostgreSQL URL"))?;
        Ok(Some(PgDatabase {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        }))
    }

    /// Drop the database.
    pub async fn drop_database(&self) {
        if let Ok(pool) = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&self.admin_url)
            .await
        {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&pool)
            .await;
            pool.close().await;
        }
    }
}

/// A board running in this process on `127.0.0.1:<random port>`.
#[derive(Debug)]
pub struct TestBoard {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The administrator's token.
    pub admin_token: String,
    /// The board (for direct inspection).
    pub board: Arc<Board>,
    /// The configuration it was started with.
    pub config: Config,
    dir: Option<tempfile::TempDir>,
    pg: Option<PgDatabase>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// The page byte cap of [`TestBoard::sqlite`] and [`TestBoard::postgres`]
/// (SPEC.md §10.1): a few ballots a page, so every client the tests run
/// against them — trustee tool, voter CLI and page, verifier, mirror —
/// reads pages that end before the range it asked for.
pub const TEST_PAGE_BYTES: usize = 16 << 10;

impl TestBoard {
    /// A board on a fresh SQLite data directory.
    pub async fn sqlite() -> anyhow::Result<TestBoard> {
        let dir = tempfile::tempdir()?;
        let mut config = Config::new(dir.path());
        config.limits.rate_per_sec = 0.0;
        config.limits.max_connections_per_address = 0;
        config.limits.max_page_bytes = TEST_PAGE_BYTES;
        Self::start_with(config, Some(dir), None).await
    }

    /// A board on a fresh PostgreSQL database; `None` if skipped.
    pub async fn postgres() -> anyhow::Result<Option<TestBoard>> {
        let Some(pg) = PgDatabase::create().await? else {
            return Ok(None);
        };
        let dir = tempfile::tempdir()?;
        let mut config = Config::new(dir.path());
        config.database_url = Some(pg.url.clone());
        config.limits.rate_per_sec = 0.0;
        config.limits.max_connections_per_address = 0;
        config.limits.max_page_bytes = TEST_PAGE_BYTES;
        Ok(Some(Self::start_with(config, Some(dir), Some(pg)).await?))
    }

    /// Initialise (if needed) and start a board with this configuration
    /// (the caller keeps the data directory).
    pub async fn start(config: Config) -> anyhow::Result<TestBoard> {
        Self::start_with(config, None, None).await
    }

    async fn start_with(
        config: Config,
        dir: Option<tempfile::TempDir>,
        pg: Option<PgDatabase>,
    ) -> anyhow::Result<TestBoard> {
        // Logs of the board under test, when RUST_LOG asks for them.
        if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        let admin_token = init(&config.data_dir, config.database_url.as_deref()).await?;
        let board = Board::open(&config).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = oneshot::channel::<()>();
        let b = board.clone();
        let task = tokio::spawn(async move {
            let _ = crate::board::serve(b, listener, async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(TestBoard {
            url,
            admin_token,
            board,
            config,
            dir,
            pg,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// A client with the admin token.
    pub fn client(&self) -> Client {
        Client::new(&self.url, Some(self.admin_token.clone()))
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.config.data_dir.clone()
    }

    /// Stop serving (the database stays).
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// A second board holding this board's signing key and history: a
    /// copy of its database served as another board, the attack of
    /// SPEC.md §14.2 ("fork / equivocation"). This board keeps running; its
    /// rows are copied in one read transaction (a consistent snapshot), into
    /// a fresh SQLite data directory or a fresh PostgreSQL database on the
    /// same server, beside a copy of `board.key`. The fork has its own admin
    /// token; from here on the two logs grow apart.
    pub async fn fork(&self) -> anyhow::Result<TestBoard> {
        let dir = tempfile::tempdir()?;
        std::fs::copy(
            self.config.data_dir.join(crate::board::KEY_FILE),
            dir.path().join(crate::board::KEY_FILE),
        )
        .context("copy the board key")?;
        let mut config = self.config.clone();
        config.data_dir = dir.path().to_owned();
        let pg = match self.board.store.backend() {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                PgDatabase::create()
                    .await?
                    .ok_or_else(|| anyhow!("no PostgreSQL server for the fork"))?,
            ),
        };
        config.database_url = pg.as_ref().map(|pg| pg.url.clone());
        // The schema, then the rows.
        let copied = async {
            Store::open(&config.data_dir, config.database_url.as_deref())
                .await?
                .close()
                .await;
            copy_rows(&database_url(&self.config)?, &database_url(&config)?).await
        }
        .await;
        if let Err(e) = copied {
            if let Some(pg) = &pg {
                pg.drop_database().await;
            }
            return Err(e);
        }
        Self::start_with(config, Some(dir), pg).await
    }

    /// Stop, and drop the PostgreSQL database and the data directory.
    pub async fn finish(mut self) {
        self.stop().await;
        self.board.store.close().await;
        if let Some(pg) = self.pg.take() {
            pg.drop_database().await;
        }
        drop(self.dir.take());
    }
}

/// The URL of the database a board with `config` uses.
fn database_url(config: &Config) -> anyhow::Result<String> {
    if let Some(url) = &config.database_url {
        return Ok(url.clone());
    }
    let file = config.data_dir.join("board.sqlite3");
    let path = file
        .to_str()
        .ok_or_else(|| anyhow!("the data directory path is not UTF-8"))?;
    Ok(format!("sqlite://{path}"))
}

/// The tables [`TestBoard::fork`] copies, with their columns; `true` marks
/// a BIGINT column (the schema has only TEXT and BIGINT, see
/// `migrations/`). `settings` is left out: the fork's `init` writes the
/// same board key and its own admin token.
const FORKED_TABLES: &[(&str, &[(&str, bool)])] = &[
    (
        "elections",
        &[
            ("id", false),
            ("title", false),
            ("state", false),
            ("size", true),
            ("head", false),
            ("created", true),
        ],
    ),
    (
        "entries",
        &[
            ("election", false),
            ("idx", true),
            ("leaf_hash", false),
            ("kind", false),
            ("author", false),
            ("line", false),
        ],
    ),
    (
        "checkpoints",
        &[
            ("election", false),
            ("size", true),
            ("note", false),
            ("cosignatures", false),
        ],
    ),
    (
        "ciphertext_points",
        &[("election", false), ("r_point", false), ("idx", true)],
    ),
    (
        "mirrors",
        &[
            ("vkey", false),
            ("name", false),
            ("url", false),
            ("added", true),
        ],
    ),
    (
        "mirror_alarms",
        &[
            ("election", false),
            ("detected", true),
            ("kind", false),
            ("evidence", false),
        ],
    ),
    (
        "bundle_files",
        &[("bundle", false), ("name", false), ("content", false)],
    ),
];

/// Copy every row of [`FORKED_TABLES`] from the database at `from` (read
/// in one repeatable-read transaction, while its board may run) into the
/// empty schema at `to` (one transaction).
async fn copy_rows(from: &str, to: &str) -> anyhow::Result<()> {
    use sqlx::any::AnyPoolOptions;
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let src = AnyPoolOptions::new()
        .max_connections(1)
        .connect(from)
        .await?;
    let dst = AnyPoolOptions::new().max_connections(1).connect(to).await?;
    let mut read = src.begin().await?;
    if !from.starts_with("sqlite:") {
        // PostgreSQL: one snapshot for every table (SQLite's read
        // transaction has one already).
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *read)
            .await?;
    }
    let mut write = dst.begin().await?;
    for (table, columns) in FORKED_TABLES {
        let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
        let rows = sqlx::query(&format!("SELECT {} FROM {table}", names.join(", ")))
            .fetch_all(&mut *read)
            .await?;
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            placeholders.join(", ")
        );
        for row in &rows {
            let mut q = sqlx::query(&insert);
            for (i, (_, bigint)) in columns.iter().enumerate() {
                q = if *bigint {
                    q.bind(row.try_get::<i64, _>(i)?)
                } else {
                    q.bind(row.try_get::<String, _>(i)?)
                };
            }
            q.execute(&mut *write)
                .await
                .with_context(|| format!("copy a row of {table}"))?;
        }
    }
    write.commit().await?;
    read.rollback().await?;
    src.close().await;
    dst.close().await;
    Ok(())
}

/// An API error as the board sent it: the HTTP status and the error
/// document (`wire::ErrorBody`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The answer's body.
    pub body: ErrorBody,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status, self.body.error, self.body.message
        )
    }
}

impl std::error::Error for ApiError {}

/// A client of the board's API.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    /// Base URL.
    pub base: String,
    admin: Option<String>,
}

impl Client {
    /// A client for `base`, with the admin token if given.
    pub fn new(base: &str, admin: Option<String>) -> Self {
        Client {
            // Pooled connections are dropped before the board's 30 s idle
            // timeout (SPEC.md §10.7) can close one under a request; the
            // builder fails only without a TLS backend, which reqwest has.
            http: reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(20))
                .build()
                .unwrap_or_default(),
            base: base.trim_end_matches('/').to_owned(),
            admin,
        }
    }

    async fn decode<T: for<'de> Deserialize<'de>>(
        resp: reqwest::Response,
    ) -> anyhow::Result<Result<T, ApiError>> {
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        if (200..300).contains(&status) {
            return Ok(Ok(serde_json::from_slice(&bytes)
                .with_context(|| String::from_utf8_lossy(&bytes).into_owned())?));
        }
        let body: ErrorBody = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "status {status} without a JSON error: {}",
                String::from_utf8_lossy(&bytes)
            )
        })?;
        Ok(Err(ApiError { status, body }))
    }

    /// POST raw bytes to a path; the JSON answer or the API error.
    pub async fn post_raw<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        body: Vec<u8>,
        admin: bool,
    ) -> anyhow::Result<Result<T, ApiError>> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        if admin {
            if let Some(t) = &self.admin {
                req = req.bearer_auth(t);
            }
        }
        Self::decode(req.send().await?).await
    }

    /// GET a JSON document.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<Result<Value, ApiError>> {
        Self::decode(self.http.get(format!("{}{path}", self.base)).send().await?).await
    }

    /// GET text (entries, checkpoint) with the response's status.
    pub async fn get_text(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await?))
    }

    /// `POST /api/v1/elections/{id}/posts`.
    pub async fn post(
        &self,
        election: &str,
        post: &Post,
    ) -> anyhow::Result<Result<Receipt, ApiError>> {
        self.post_raw(
            &format!("/api/v1/elections/{election}/posts"),
            serde_json::to_vec(post)?,
            false,
        )
        .await
    }

    /// Post and require success.
    pub async fn post_ok(&self, election: &str, post: &Post) -> anyhow::Result<Receipt> {
        self.post(election, post).await?.map_err(Into::into)
    }

    /// `POST /api/v1/elections` (admin).
    pub async fn create_election(
        &self,
        id: &str,
        manifest: &Manifest,
    ) -> anyhow::Result<Result<Created, ApiError>> {
        let request = CreateElection {
            id: id.to_owned(),
            manifest: manifest.clone(),
        };
        self.post_raw("/api/v1/elections", serde_json::to_vec(&request)?, true)
            .await
    }

    /// An admin action: `close-commits`, `finalize-keys`, `open` (with an
    /// [`OpenVoting`] body) or `close`.
    pub async fn admin(
        &self,
        election: &str,
        action: &str,
        body: impl serde::Serialize,
    ) -> anyhow::Result<Result<Receipt, ApiError>> {
        self.post_raw(
            &format!("/api/v1/elections/{election}/{action}"),
            serde_json::to_vec(&body)?,
            true,
        )
        .await
    }

    /// `GET /api/v1/elections/{id}`.
    pub async fn election_status(&self, election: &str) -> anyhow::Result<ElectionStatus> {
        let resp = self
            .http
            .get(format!("{}/api/v1/elections/{election}", self.base))
            .send()
            .await?;
        Self::decode(resp).await?.map_err(Into::into)
    }

    /// [`Client::election_status`] as JSON, for tests that look fields up
    /// by name. It is parsed as `wire::ElectionStatus` first, so a field
    /// the declared document does not have reads as `null`.
    pub async fn status(&self, election: &str) -> anyhow::Result<Value> {
        Ok(serde_json::to_value(self.election_status(election).await?)?)
    }

    /// The whole log as entry lines.
    pub async fn entries(&self, election: &str) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        loop {
            let (status, text) = self
                .get_text(&format!(
                    "/api/v1/elections/{election}/entries?start={}",
                    out.len()
                ))
                .await?;
            if status != 200 {
                bail!("entries: status {status}: {text}");
            }
            let before = out.len();
            out.extend(text.lines().map(str::to_owned));
            if out.len() == before {
                return Ok(out);
            }
        }
    }

    /// The latest checkpoint note.
    pub async fn checkpoint(&self, election: &str) -> anyhow::Result<String> {
        let (status, text) = self
            .get_text(&format!("/api/v1/elections/{election}/checkpoint"))
            .await?;
        if status != 200 {
            bail!("checkpoint: status {status}: {text}");
        }
        Ok(text)
    }
}

/// A simulated trustee.
#[derive(Debug)]
pub struct Trustee {
    /// `l`.
    pub index: u32,
    /// Ed25519 key of its posts.
    pub key: SigningKey,
    /// Share-encryption key `y_l`.
    pub enc: SecretKey,
    /// Its dealing polynomial.
    pub poly: Polynomial,
    /// `x_l`, after the ceremony.
    pub share: Option<KeyShare>,
}

impl Trustee {
    fn new<R: RngCore + CryptoRng>(index: u32, t: u32, rng: &mut R) -> anyhow::Result<Self> {
        Ok(Trustee {
            index,
            key: SigningKey::generate(rng),
            enc: SecretKey::random(rng),
            poly: Polynomial::random(t, rng)?,
            share: None,
        })
    }
}

/// Sign a body for `election` with `key`.
pub fn sign(election: &str, key: &SigningKey, payload: Payload) -> anyhow::Result<Post> {
    let body = Body {
        election: election.to_owned(),
        author: AuthorKey::of(key),
        payload,
    };
    Ok(Post::sign(&body, key)?)
}

/// A contest with `options` options, choose exactly one.
pub fn plurality_contest(id: &str, options: usize) -> Contest {
    Contest {
        id: id.into(),
        title: format!("Contest {id}"),
        options: (0..options)
            .map(|i| ContestOption {
                id: format!("o{i}"),
                label: format!("Option {i}"),
            })
            .collect(),
        min_selections: 1,
        max_selections: 1,
        max_per_option: 1,
    }
}

/// Everyone but the board, for one election.
#[derive(Debug)]
pub struct SimElection {
    /// Election id.
    pub id: String,
    /// The manifest.
    pub manifest: Manifest,
    /// Leaf hash of entry 0, once created.
    pub manifest_hash: [u8; 32],
    /// Trustees `1..=n`.
    pub trustees: Vec<Trustee>,
    /// The credential authority's key.
    pub authority: SigningKey,
    /// Voters' credentials.
    pub voters: Vec<SigningKey>,
    /// The joint key, once finalized.
    pub pk: Option<PublicKey>,
    /// The rest of the randomness (shares, proofs, ballots): the generator
    /// the keys were drawn from, drawn on in call order.
    rng: Mutex<ChaCha20Rng>,
}

impl SimElection {
    /// `n` trustees, threshold `t`, one plurality contest with `options`
    /// options, `voters` voters of weight 1. Keys, shares, proofs and
    /// ballots come from a generator seeded with SHA-256 of `id`: the same
    /// calls give the same election on every run.
    pub fn new(id: &str, n: u32, t: u32, options: usize, voters: usize) -> Self {
        Self::with_contests(id, n, t, vec![plurality_contest("c1", options)], voters)
    }

    /// Like [`SimElection::new`] with any contests.
    pub fn with_contests(id: &str, n: u32, t: u32, contests: Vec<Contest>, voters: usize) -> Self {
        let mut rng = ChaCha20Rng::from_seed(Sha256::digest(id.as_bytes()).into());
        let trustees: Vec<Trustee> = (1..=n)
            .filter_map(|l| Trustee::new(l, t, &mut rng).ok())
            .collect();
        let authority = SigningKey::generate(&mut rng);
        let manifest = Manifest {
            title: format!("Election {id}"),
            contests,
            trustees: trustees
                .iter()
                .map(|tr| TrusteeInfo {
                    index: tr.index,
                    name: format!("Trustee {}", tr.index),
                    key: AuthorKey::of(&tr.key),
                })
                .collect(),
            threshold: t,
            credential_authority: AuthorKey::of(&authority),
            witnesses: Vec::new(),
            witness_quorum: 0,
            // Test elections decrypt a handful of ballots.
            min_counted: Some(1),
            max_ballots_per_credential: None,
        };
        SimElection {
            id: id.to_owned(),
            manifest,
            manifest_hash: [0; 32],
            trustees,
            authority,
            voters: (0..voters)
                .map(|_| SigningKey::generate(&mut rng))
                .collect(),
            pk: None,
            rng: Mutex::new(rng),
        }
    }

    /// The election's seeded generator.
    fn rng(&self) -> MutexGuard<'_, ChaCha20Rng> {
        self.rng.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The ceremony fingerprint.
    pub fn ceremony_fp(&self) -> Fingerprint {
        Fingerprint::ceremony(&self.manifest_hash)
    }

    /// The election fingerprint (after finalize).
    pub fn fingerprint(&self) -> anyhow::Result<Fingerprint> {
        let pk = self.pk.ok_or_else(|| anyhow!("no joint key yet"))?;
        Ok(Fingerprint::election(
            &self.manifest_hash,
            &pk.to_non_identity(),
        ))
    }

    /// Create the election on the board.
    pub async fn create(&mut self, client: &Client) -> anyhow::Result<()> {
        client
            .create_election(&self.id, &self.manifest)
            .await?
            .map_err(anyhow::Error::from)?;
        let status = client.election_status(&self.id).await?;
        self.manifest_hash =
            psephos_crypto::encoding::decode_hex32("manifest hash", &status.manifest_hash)?;
        Ok(())
    }

    /// Trustee `l`'s registration post.
    pub fn registration(&self, l: u32) -> anyhow::Result<Post> {
        let tr = self.trustee(l)?;
        sign(
            &self.id,
            &tr.key,
            Payload::TrusteeRegistration {
                trustee: l,
                encryption_key: *tr.enc.public_key().as_point(),
            },
        )
    }

    /// Trustee `l`.
    pub fn trustee(&self, l: u32) -> anyhow::Result<&Trustee> {
        self.trustees
            .get(l as usize - 1)
            .ok_or_else(|| anyhow!("no trustee {l}"))
    }

    /// Trustee `l`'s round-1 body (its `dkg_commitments`), as posted.
    pub fn reveal_body(&self, l: u32) -> anyhow::Result<Body> {
        let tr = self.trustee(l)?;
        let fp = self.ceremony_fp();
        let mut rng = self.rng();
        let mut shares = Vec::new();
        for other in &self.trustees {
            if other.index == l {
                continue;
            }
            let y = other.enc.public_key().to_non_identity();
            let (ephemeral, ciphertext) = encrypt_share(
                &fp,
                l,
                other.index,
                &y,
                &tr.poly.evaluate(other.index),
                &mut *rng,
            )?;
            shares.push(EncryptedShare {
                to: other.index,
                ephemeral,
                ciphertext,
            });
        }
        Ok(Body {
            election: self.id.clone(),
            author: AuthorKey::of(&tr.key),
            payload: Payload::DkgCommitments {
                trustee: l,
                commitments: tr.poly.commitments(),
                proofs: tr.poly.prove_coefficients(&fp, l, &mut *rng),
                shares,
            },
        })
    }

    /// The commit post for a reveal body.
    pub fn commit_for(&self, l: u32, reveal: &Body) -> anyhow::Result<Post> {
        let text = serde_json::to_string(reveal)?;
        sign(
            &self.id,
            &self.trustee(l)?.key,
            Payload::DkgCommit {
                trustee: l,
                hash: Sha256::digest(text.as_bytes()).into(),
            },
        )
    }

    /// Run the key ceremony up to `joint_key` and the acknowledgements.
    pub async fn ceremony(&mut self, client: &Client) -> anyhow::Result<()> {
        let n = self.trustees.len() as u32;
        for l in 1..=n {
            client.post_ok(&self.id, &self.registration(l)?).await?;
        }
        let mut reveals = Vec::new();
        for l in 1..=n {
            let body = self.reveal_body(l)?;
            client
                .post_ok(&self.id, &self.commit_for(l, &body)?)
                .await?;
            reveals.push(body);
        }
        for (l, body) in (1..=n).zip(&reveals) {
            let post = Post::sign(body, &self.trustee(l)?.key)?;
            client.post_ok(&self.id, &post).await?;
        }
        let r = client
            .admin(&self.id, "finalize-keys", json!({}))
            .await?
            .map_err(anyhow::Error::from)?;
        let _ = r;
        let status = client.election_status(&self.id).await?;
        let pk = status
            .public_key
            .ok_or_else(|| anyhow!("no public key after finalize"))?;
        self.pk = Some(PublicKey::from_hex(&pk)?);
        let qualified = status
            .qualified
            .ok_or_else(|| anyhow!("no qualified dealers after finalize"))?;
        self.derive_shares(&reveals, &qualified)?;
        for l in 1..=n {
            let tr = self.trustee(l)?;
            let pk = self.pk.ok_or_else(|| anyhow!("no pk"))?;
            let ack = sign(
                &self.id,
                &tr.key,
                Payload::KeyAck {
                    trustee: l,
                    public_key: pk,
                },
            )?;
            client.post_ok(&self.id, &ack).await?;
        }
        Ok(())
    }

    /// Each trustee decrypts and checks its shares from the qualified
    /// dealers and combines `x_l`.
    fn derive_shares(&mut self, reveals: &[Body], qualified: &[u32]) -> anyhow::Result<()> {
        let fp = self.ceremony_fp();
        let n = self.trustees.len();
        for li in 0..n {
            let l = self.trustees[li].index;
            let mut received = Vec::new();
            for body in reveals {
                let Payload::DkgCommitments {
                    trustee: dealer,
                    commitments,
                    shares,
                    ..
                } = &body.payload
                else {
                    continue;
                };
                if !qualified.contains(dealer) {
                    continue;
                }
                let share = if *dealer == l {
                    self.trustees[li].poly.evaluate(l)
                } else {
                    let s = shares
                        .iter()
                        .find(|s| s.to == l)
                        .ok_or_else(|| anyhow!("no share for {l}"))?;
                    decrypt_share(
                        &fp,
                        *dealer,
                        l,
                        &self.trustees[li].enc,
                        &s.ephemeral,
                        &s.ciphertext,
                    )?
                };
                if !psephos_crypto::threshold::check_share(&share, l, commitments) {
                    bail!("dealer {dealer} gave trustee {l} a bad share");
                }
                received.push(share);
            }
            self.trustees[li].share = Some(KeyShare::combine_shares(l, &received));
        }
        Ok(())
    }

    /// The credential list post.
    pub fn credential_list(&self) -> anyhow::Result<Post> {
        sign(
            &self.id,
            &self.authority,
            Payload::CredentialList {
                credentials: self
                    .voters
                    .iter()
                    .map(|k| CredentialEntry {
                        key: AuthorKey::of(k),
                        weight: 1,
                    })
                    .collect(),
            },
        )
    }

    /// Create, run the ceremony, post the credentials and open.
    pub async fn setup_and_open(&mut self, client: &Client) -> anyhow::Result<()> {
        self.create(client).await?;
        self.ceremony(client).await?;
        client.post_ok(&self.id, &self.credential_list()?).await?;
        self.open(client).await?;
        Ok(())
    }

    /// Open voting. A board that serves the voting pages names its own
    /// bundle (SPEC.md §10.1 `open` without a hash); one that serves none
    /// is given a fixed test hash.
    pub async fn open(&self, client: &Client) -> anyhow::Result<Receipt> {
        match client
            .admin(&self.id, "open", OpenVoting::default())
            .await?
        {
            Ok(receipt) => Ok(receipt),
            Err(e) if e.body.error == "missing_bundle" => Ok(client
                .admin(
                    &self.id,
                    "open",
                    OpenVoting {
                        bundle_sha256: Some(hex::encode([7u8; 32])),
                    },
                )
                .await??),
            Err(e) => Err(e.into()),
        }
    }

    /// Voter `v`'s ballot for `choices` (per contest, per option).
    pub fn ballot(&self, v: usize, choices: &[Vec<u64>]) -> anyhow::Result<Post> {
        let voter = self.voters.get(v).ok_or_else(|| anyhow!("no voter {v}"))?;
        self.ballot_with(voter, choices)
    }

    /// A ballot signed by any credential key.
    pub fn ballot_with(&self, voter: &SigningKey, choices: &[Vec<u64>]) -> anyhow::Result<Post> {
        let pk = self.pk.ok_or_else(|| anyhow!("no joint key"))?;
        let fp = self.fingerprint()?;
        let credential = voter.verifying_key().to_bytes();
        let ctx = BallotContext {
            fingerprint: &fp,
            pk: &pk,
            credential: &credential,
        };
        let (ballot, _) = encrypt_ballot(&ctx, &self.manifest.contests, choices, &mut *self.rng())?;
        sign(&self.id, voter, Payload::Ballot(ballot))
    }

    /// Cast voter `v`'s ballot.
    pub async fn cast(
        &self,
        client: &Client,
        v: usize,
        choices: &[Vec<u64>],
    ) -> anyhow::Result<Receipt> {
        client.post_ok(&self.id, &self.ballot(v, choices)?).await
    }

    /// Trustee `l`'s partial decryption of the board's tally.
    pub async fn partial_decryption(&self, client: &Client, l: u32) -> anyhow::Result<Post> {
        let tally: Vec<Ciphertext> = client
            .election_status(&self.id)
            .await?
            .tally
            .context("the board has no tally yet")?;
        let tr = self.trustee(l)?;
        let share = tr
            .share
            .as_ref()
            .ok_or_else(|| anyhow!("trustee {l} has no key share"))?;
        let fp = self.fingerprint()?;
        let shares = share.decrypt(&fp, &tally, &mut *self.rng());
        sign(
            &self.id,
            &tr.key,
            Payload::PartialDecryption { trustee: l, shares },
        )
    }

    /// Close, post the given trustees' partial decryptions, and return the
    /// published counts.
    pub async fn close_and_tally(
        &self,
        client: &Client,
        trustees: &[u32],
    ) -> anyhow::Result<Vec<Vec<u64>>> {
        client
            .admin(&self.id, "close", json!({}))
            .await?
            .map_err(anyhow::Error::from)?;
        for &l in trustees {
            let post = self.partial_decryption(client, l).await?;
            client.post_ok(&self.id, &post).await?;
        }
        client
            .election_status(&self.id)
            .await?
            .result
            .context("no result on the board")
    }
}

/// Check a whole record as an observer would: every line canonical, the
/// hash chain unbroken, every body's signature valid, and the Merkle root
/// equal to the latest checkpoint's (signed by `board_vkey`). Returns the
/// number of entries.
pub fn check_record(lines: &[String], checkpoint: &str, board_vkey: &str) -> anyhow::Result<u64> {
    use psephos_crypto::log::checkpoint::{open_checkpoint, NoteVerifier};
    use psephos_crypto::log::merkle::MerkleTree;
    use psephos_crypto::record::{ChainFollower, Entry};
    let mut chain = ChainFollower::new();
    let mut tree = MerkleTree::new();
    for line in lines {
        let entry = Entry::from_line(line)?;
        entry.open()?;
        tree.push(chain.accept(line, &entry)?);
    }
    let verifier = NoteVerifier::from_vkey(board_vkey)?;
    let (cp, _) = open_checkpoint(checkpoint, &verifier)?;
    if cp.size > tree.len() {
        bail!(
            "checkpoint size {} beyond the {} entries",
            cp.size,
            tree.len()
        );
    }
    if tree.root_at(cp.size)? != cp.root {
        bail!("checkpoint root does not match the entries");
    }
    Ok(tree.len())
}

/// Check a receipt against a record: the inclusion proof leads from its
/// leaf to its checkpoint's root, and the entry at its index has that leaf.
pub fn check_receipt(receipt: &Receipt, board_vkey: &str) -> anyhow::Result<()> {
    use psephos_crypto::log::checkpoint::{open_checkpoint, NoteVerifier};
    use psephos_crypto::log::merkle::verify_inclusion;
    let verifier = NoteVerifier::from_vkey(board_vkey)?;
    let (cp, _) = open_checkpoint(&receipt.checkpoint, &verifier)?;
    let leaf = psephos_crypto::encoding::decode_hex32("leaf", &receipt.leaf_hash)?;
    let proof = receipt
        .inclusion_proof
        .iter()
        .map(|h| psephos_crypto::encoding::decode_hex32("proof", h))
        .collect::<Result<Vec<_>, _>>()?;
    verify_inclusion(&leaf, receipt.index, cp.size, &proof, &cp.root)?;
    Ok(())
}

/// Point helper for tests: a non-identity point, another one at each call.
/// Seeded: the `k`-th call in a process gives the same point on every run.
pub fn random_point() -> Point {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut rng = ChaCha20Rng::seed_from_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    *SecretKey::random(&mut rng).public_key().as_point()
}
