//! The board process: configuration, keys, the election cache and the
//! tasks behind the API (SPEC.md §10).
//!
//! Each election's state ([`Election`]) lives in memory behind a
//! `tokio::sync::RwLock`, rebuilt from the database on first use. The
//! database is the truth: before a read that depends on the tree, and
//! inside every append transaction, the process compares the committed head
//! with its own and replays what other board processes appended.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use psephos_crypto::log::checkpoint::{NoteSigner, NoteVerifier};
use psephos_crypto::log::merkle::{leaf_hash, Hash};
use psephos_crypto::record::{Body, Entry, Payload};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, RwLock};

use crate::election::{BallotParams, Election, Trust};
use crate::error::{BoardError, Result};
use crate::store::Store;
use crate::{appender, verifier};

/// Name of the board's signing key file in the data directory.
pub const KEY_FILE: &str = "board.key";

/// Limits and knobs (SPEC.md §10.7).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Largest ballot body, bytes.
    pub max_ballot_bytes: usize,
    /// Most bytes in a page of entries ([`crate::api::MAX_PAGE_BYTES`]).
    pub max_page_bytes: usize,
    /// Time a request may take.
    pub request_timeout: Duration,
    /// Sustained requests per second per client address; 0 disables.
    pub rate_per_sec: f64,
    /// Burst size of the per-client bucket.
    pub rate_burst: f64,
    /// Most posts in one group commit.
    pub max_batch: usize,
    /// Time a client may take to send a request head, from its first byte
    /// (slowloris); the connection is closed after it ([`crate::server`]).
    pub header_timeout: Duration,
    /// Time a connection may stay open without a request: a keep-alive
    /// connection after its last response, or a new one that sends nothing.
    pub idle_timeout: Duration,
    /// Most open client connections; more are answered 503 and closed.
    /// Lowered to fit the open-file limit; 0: only that limit.
    pub max_connections: usize,
    /// Most open connections from one client address (IPv6: one /64);
    /// 0: no limit.
    pub max_connections_per_address: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 << 20,
            max_ballot_bytes: 256 << 10,
            max_page_bytes: crate::api::MAX_PAGE_BYTES,
            request_timeout: Duration::from_secs(30),
            rate_per_sec: 200.0,
            rate_burst: 400.0,
            max_batch: 1024,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_connections_per_address: 128,
        }
    }
}

/// How to run a board.
#[derive(Clone, Debug)]
pub struct Config {
    /// Holds the signing key and, without `database_url`, the SQLite file.
    pub data_dir: PathBuf,
    /// `postgres://…` (or `sqlite:…`); `None` for the data directory's SQLite file.
    pub database_url: Option<String>,
    /// The checkpoint origin prefix and the key name.
    pub origin: String,
    /// Limits.
    pub limits: Limits,
    /// The voting page bundle served at `/elections/{id}[/vote]` and
    /// `/assets/…` (SPEC.md §13.6); `None`: no pages.
    pub web: Option<psephos_voter::web::WebAssets>,
}

impl Config {
    /// Defaults with this data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            database_url: None,
            origin: "psephos-board".into(),
            limits: Limits::default(),
            web: None,
        }
    }
}

/// The running board: what every handler and task shares.
#[derive(Debug)]
pub struct Board {
    /// The database.
    pub store: Store,
    /// The board's Ed25519 key (entries and checkpoints).
    pub key: SigningKey,
    /// The checkpoint signer (key name = origin).
    pub signer: NoteSigner,
    /// The origin prefix.
    pub origin: String,
    /// Limits.
    pub limits: Limits,
    /// The voting page bundle, when the board serves the pages.
    pub web: Option<psephos_voter::web::WebAssets>,
    /// The same, served by hash (SPEC.md §10.1 `GET /api/v1/bundles/…`).
    pub(crate) bundle: Option<Arc<psephos_voter::web::WebAssets>>,
    admin_token_sha256: [u8; 32],
    cache: Mutex<HashMap<String, Arc<RwLock<Election>>>>,
    /// Ballot parameters of open elections, readable without the
    /// election's lock (which the appender holds across its commits).
    params: Mutex<HashMap<String, Arc<BallotParams>>>,
    loading: tokio::sync::Mutex<()>,
    pub(crate) appender: mpsc::Sender<appender::Job>,
    pub(crate) verifier: mpsc::Sender<verifier::Pending>,
    pub(crate) rate: crate::api::RateLimiter,
}

fn read_key(data_dir: &Path) -> Result<SigningKey> {
    let path = data_dir.join(KEY_FILE);
    let text = fs::read_to_string(&path).map_err(|e| {
        BoardError::Config(format!(
            "cannot read {} ({e}); run `psephos-board init` first",
            path.display()
        ))
    })?;
    let seed = psephos_crypto::encoding::decode_hex32("board key", text.trim())
        .map_err(|e| BoardError::Config(format!("{}: {e}", path.display())))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// `psephos-board init`: create the data directory, the board's signing key
/// (mode 0600) and the schema, and a fresh admin token, returned once and
/// stored only as its SHA-256 (SPEC.md §10.1).
pub async fn init(data_dir: &Path, database_url: Option<&str>) -> Result<String> {
    fs::create_dir_all(data_dir)?;
    let key_path = data_dir.join(KEY_FILE);
    let key = if key_path.exists() {
        read_key(data_dir)?
    } else {
        let key = SigningKey::generate(&mut OsRng);
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&key_path)?;
        writeln!(f, "{}", hex::encode(key.to_bytes()))?;
        f.sync_all()?;
        key
    };
    let store = Store::open(data_dir, database_url).await?;
    let public = hex::encode(key.verifying_key().to_bytes());
    match store.setting("board_public_key").await? {
        Some(existing) if existing != public => {
            return Err(BoardError::Config(
                "the database belongs to a board with another key".into(),
            ))
        }
        Some(_) => {}
        None => store.set_setting("board_public_key", &public).await?,
    }
    let mut token = [0u8; 32];
    OsRng.fill_bytes(&mut token);
    let token = hex::encode(token);
    store
        .set_setting(
            "admin_token_sha256",
            &hex::encode(Sha256::digest(token.as_bytes())),
        )
        .await?;
    store.close().await;
    Ok(token)
}

impl Board {
    /// Open the data directory and database, and start the verification
    /// stage and the appender.
    pub async fn open(config: &Config) -> Result<Arc<Board>> {
        let key = read_key(&config.data_dir)?;
        let store = Store::open(&config.data_dir, config.database_url.as_deref()).await?;
        let public = hex::encode(key.verifying_key().to_bytes());
        if store.setting("board_public_key").await?.as_deref() != Some(public.as_str()) {
            return Err(BoardError::Config(
                "the database was initialised with another board key (or not at all); run `psephos-board init`".into(),
            ));
        }
        let token_hex = store
            .setting("admin_token_sha256")
            .await?
            .ok_or_else(|| BoardError::Config("no admin token; run `psephos-board init`".into()))?;
        let admin_token_sha256 = psephos_crypto::encoding::decode_hex32("admin token", &token_hex)
            .map_err(|e| BoardError::Config(e.to_string()))?;
        let signer = NoteSigner::new(&config.origin, key.clone())
            .map_err(|e| BoardError::Config(format!("origin: {e}")))?;
        if config.origin.contains(['\n', '/']) || config.origin.is_empty() {
            return Err(BoardError::Config(
                "the origin must be non-empty, without '/' or newlines".into(),
            ));
        }
        let (append_tx, append_rx) = mpsc::channel(16_384);
        let (verify_tx, verify_rx) = mpsc::channel(16_384);
        let board = Arc::new(Board {
            store,
            key,
            signer,
            origin: config.origin.clone(),
            limits: config.limits.clone(),
            web: config.web.clone(),
            bundle: config.web.clone().map(Arc::new),
            admin_token_sha256,
            cache: Mutex::new(HashMap::new()),
            params: Mutex::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
            appender: append_tx,
            verifier: verify_tx,
            rate: crate::api::RateLimiter::new(
                config.limits.rate_per_sec,
                config.limits.rate_burst,
            ),
        });
        tokio::spawn(appender::run(Arc::downgrade(&board), append_rx));
        tokio::spawn(verifier::run(Arc::downgrade(&board), verify_rx));
        Ok(board)
    }

    /// The checkpoint verifier of this board (its vkey is public).
    pub fn note_verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    /// `<origin>/<election>`.
    pub fn origin_of(&self, election: &str) -> String {
        format!("{}/{election}", self.origin)
    }

    /// Whether `token` is the admin token (constant time).
    pub fn is_admin(&self, token: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        digest.ct_eq(&self.admin_token_sha256).into()
    }

    pub(crate) fn cached(&self, id: &str) -> Option<Arc<RwLock<Election>>> {
        self.cache.lock().ok().and_then(|c| c.get(id).cloned())
    }

    pub(crate) fn insert_cached(&self, id: &str, el: Election) -> Arc<RwLock<Election>> {
        let arc = Arc::new(RwLock::new(el));
        if let Ok(mut c) = self.cache.lock() {
            c.insert(id.to_owned(), arc.clone());
        }
        arc
    }

    /// The ballot parameters of an open election (SPEC.md §10.4): from
    /// the side cache, else from the (refreshed) state; `None` if voting
    /// is not open.
    pub(crate) async fn ballot_params(&self, id: &str) -> Result<Option<Arc<BallotParams>>> {
        // A cached copy marked closed (the close was applied to it) is
        // dropped and re-read: a copy left behind by a rebuilt election or
        // another process must not be used for proof work after the close.
        if let Ok(mut m) = self.params.lock() {
            match m.get(id).cloned() {
                Some(p) if p.is_open() => return Ok(Some(p)),
                Some(_) => {
                    m.remove(id);
                }
                None => {}
            }
        }
        let arc = self.fresh(id).await?;
        let params = {
            let el = arc.read().await;
            el.check_committed()?;
            el.ballot_params()
        };
        if let (Some(p), Ok(mut m)) = (&params, self.params.lock()) {
            m.insert(id.to_owned(), p.clone());
        }
        Ok(params)
    }

    pub(crate) fn evict(&self, id: &str) {
        if let Ok(mut c) = self.cache.lock() {
            c.remove(id);
        }
        if let Ok(mut m) = self.params.lock() {
            m.remove(id);
        }
    }

    /// The election's state, loaded from the database on first use.
    pub async fn election(&self, id: &str) -> Result<Arc<RwLock<Election>>> {
        if let Some(e) = self.cached(id) {
            return Ok(e);
        }
        let _guard = self.loading.lock().await;
        if let Some(e) = self.cached(id) {
            return Ok(e);
        }
        let el = self.replay(id).await?;
        Ok(self.insert_cached(id, el))
    }

    /// The election's state, brought up to the committed head first (other
    /// board processes may have appended).
    pub async fn fresh(&self, id: &str) -> Result<Arc<RwLock<Election>>> {
        let arc = self.election(id).await?;
        let db = self
            .store
            .head(id)
            .await?
            .ok_or_else(|| BoardError::no_election(id))?;
        if arc.read().await.size < db.size {
            let mut el = arc.write().await;
            el.check_committed()?;
            if el.size < db.size {
                let rows = self.store.page(id, el.size, db.size, None).await?;
                let rows: Vec<(String, String)> =
                    rows.into_iter().map(|(_, k, l)| (k, l)).collect();
                catch_up(&mut el, &rows)?;
            }
        }
        arc.read().await.check_committed()?;
        Ok(arc)
    }

    /// Rebuild an election from its log.
    pub(crate) async fn replay(&self, id: &str) -> Result<Election> {
        replay_from(&self.store, id).await
    }
}

/// Rebuild an election from the log in `store` (a board's or a mirror's).
pub(crate) async fn replay_from(store: &Store, id: &str) -> Result<Election> {
    let page = 5_000u64;
    let first = store.page(id, 0, 1, None).await?;
    let Some((_, _, line0)) = first.into_iter().next() else {
        return Err(BoardError::no_election(id));
    };
    let entry = Entry::from_line(&line0).map_err(corrupt)?;
    let body = entry.open().map_err(corrupt)?;
    let Payload::Manifest(manifest) = body.payload else {
        return Err(BoardError::Internal(format!(
            "{id}: entry 0 is not a manifest"
        )));
    };
    let mut el = Election::new(
        id.to_owned(),
        manifest,
        leaf_hash(line0.as_bytes()),
        body.author,
    );
    loop {
        let rows = store.page(id, el.size, el.size + page, None).await?;
        if rows.is_empty() {
            break;
        }
        let rows: Vec<(String, String)> = rows.into_iter().map(|(_, k, l)| (k, l)).collect();
        catch_up(&mut el, &rows)?;
    }
    Ok(el)
}

fn corrupt(e: psephos_crypto::record::RecordError) -> BoardError {
    BoardError::Internal(format!("stored entry does not parse: {e}"))
}

fn corrupt_json(e: &serde_json::Error) -> BoardError {
    BoardError::Internal(format!("stored entry does not parse: {e}"))
}

/// The fields of a stored ballot that replay needs: its credential and
/// ciphertexts (its proofs were checked when it was appended).
#[derive(serde::Deserialize)]
struct StoredBallot {
    author: psephos_crypto::record::AuthorKey,
    contests: Vec<StoredContest>,
}

#[derive(serde::Deserialize)]
struct StoredContest {
    ciphertexts: Vec<psephos_crypto::elgamal::Ciphertext>,
}

/// Apply entries read back from the log (`(kind, line)` in order, starting
/// at `el.size`) through the state machine with [`Trust::OwnLog`],
/// checking the chain as it goes.
pub(crate) fn catch_up(el: &mut Election, rows: &[(String, String)]) -> Result<()> {
    for (kind, line) in rows {
        let entry = Entry::from_line(line).map_err(corrupt)?;
        if entry.index != el.size || entry.prev != el.head {
            return Err(BoardError::Internal(format!(
                "{}: the stored chain is broken at entry {}",
                el.id, entry.index
            )));
        }
        let broken = |v: psephos_crypto::election::Violation| {
            BoardError::Internal(format!(
                "{}: stored entry {} breaks a rule: {v}",
                el.id, entry.index
            ))
        };
        if kind == "ballot" {
            // Fast path: a stored ballot was fully checked when it was
            // appended; replay needs only its credential and ciphertexts.
            let ballot: StoredBallot =
                serde_json::from_str(entry.body.get()).map_err(|e| corrupt_json(&e))?;
            let cts: Vec<_> = ballot
                .contests
                .into_iter()
                .flat_map(|c| c.ciphertexts)
                .collect();
            el.rules
                .ballot(entry.index, &ballot.author, &cts, |_| Ok(()))
                .map_err(broken)?;
        } else {
            let body: Body =
                serde_json::from_str(entry.body.get()).map_err(|e| corrupt_json(&e))?;
            el.rules
                .apply(entry.index, &body, entry.body.get(), Trust::OwnLog)
                .map_err(broken)?;
        }
        advance(el, leaf_hash(line.as_bytes()));
    }
    Ok(())
}

/// Move the head past a new leaf.
pub(crate) fn advance(el: &mut Election, leaf: Hash) {
    el.tree.push(leaf);
    el.size += 1;
    el.head = leaf;
}

/// Serve the board's API on `listener` until `shutdown` resolves, then
/// drain: stop accepting, finish the requests under way (every receipt
/// given is delivered). Connections are held to the board's connection
/// limits ([`crate::server`], SPEC.md §10.7).
pub async fn serve(
    board: Arc<Board>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = crate::api::app(board.clone());
    crate::server::serve_app(app, listener, &board.limits, shutdown).await?;
    Ok(())
}
