//! Public mirrors (SPEC.md §10.9, DESIGN.md §5): `psephos-board mirror
//! --upstream URL` replicates a board's logs, checks them as the board
//! does, serves them read-only with the board's own read API, cosigns every
//! checkpoint it has verified, and keeps signed evidence when the board
//! shows two histories.
//!
//! | module | what | SPEC.md |
//! |---|---|---|
//! | [`follow`] — following, checking and cosigning | §10.9.2, §10.9.3 |
//! | [`evidence`] — equivocation and invalid-entry evidence | §10.9.4 |
//! | [`api`] — the mirror's server; the board's cosignature endpoint | §10.9.1, §10.9.3 |
//! | [`upstream`] — the client of the upstream board | §10.1 |
//! | `store` — the mirror's and the board's extra queries | §10.9.5 |
//!
//! A mirror's database has the board's schema: entries, elections and
//! checkpoints are written as the board writes them (checkpoints with the
//! mirror's own cosignature), so [`crate::api::read_router`] serves them.
//! Its own key is `<data-dir>/mirror.key`, made on first run.

pub mod api;
pub mod evidence;
pub mod follow;
mod store;
pub mod upstream;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use psephos_crypto::log::checkpoint::{CosignatureVerifier, Cosigner, NoteVerifier};
use rand_core::OsRng;

pub use api::{board_router, MirrorReader};
pub use evidence::{Evidence, EvidenceKind, Inconclusive, InvalidEntry, PrefixProof};
pub use follow::check_entry;
pub use store::RegisteredMirror;
pub use upstream::Upstream;

use crate::board::Limits;
use crate::error::{BoardError, Result};
use crate::store::Store;
use follow::{BoardIdentity, Follower};

/// Name of the mirror's key file in its data directory.
pub const KEY_FILE: &str = "mirror.key";
/// The key name a new mirror key gets unless `--name` says otherwise.
pub const DEFAULT_NAME: &str = "psephos-mirror";
/// Setting holding the pinned board key (vkey) in the mirror's database.
const BOARD_KEY_SETTING: &str = "mirror_board_key";

/// What a mirror found wrong with its upstream (SPEC.md §10.9.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlarmKind {
    /// Two signed checkpoints that no append-only log can both have.
    Equivocation,
    /// A signed tree holding an entry the board's rules refuse.
    InvalidEntry,
}

impl AlarmKind {
    /// The name in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmKind::Equivocation => "equivocation",
            AlarmKind::InvalidEntry => "invalid_entry",
        }
    }

    /// The kind of a stored name (anything unknown counts as equivocation:
    /// an alarm is never ignored).
    pub fn from_name(name: &str) -> Self {
        match name {
            "invalid_entry" => AlarmKind::InvalidEntry,
            _ => AlarmKind::Equivocation,
        }
    }

    /// The exit status of `psephos-board mirror --once` (SPEC.md §10.9.1):
    /// 3 for equivocation, 4 for an invalid entry.
    pub fn exit_code(self) -> i32 {
        match self {
            AlarmKind::Equivocation => 3,
            AlarmKind::InvalidEntry => 4,
        }
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Entries checked and stored.
    pub appended: u64,
    /// Checkpoints verified and cosigned.
    pub cosigned: u64,
    /// The alarm raised (or standing from an earlier run).
    pub alarm: Option<AlarmKind>,
}

/// How to run a mirror.
#[derive(Clone, Debug)]
pub struct MirrorConfig {
    /// The board followed: `http://host:port`.
    pub upstream: String,
    /// Holds the key file and, without `database_url`, the SQLite file.
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` (or `sqlite:…`) instead of the data directory's file.
    pub database_url: Option<String>,
    /// The mirror's key file (default `<data_dir>/mirror.key`).
    pub key_file: Option<PathBuf>,
    /// The key name of a key made on first run (default
    /// [`DEFAULT_NAME`]); if given, it must match an existing key's.
    pub name: Option<String>,
    /// The board's vkey, pinned; without it the first run trusts the
    /// upstream's `GET /api/v1/board` and pins that.
    pub board_key: Option<String>,
    /// Time between passes when all is well.
    pub interval: Duration,
    /// Longest wait between passes after failures (doubling backoff).
    pub max_backoff: Duration,
    /// Limits of the served API (body size, timeout, rate).
    pub limits: Limits,
    /// The voting page bundle, served beside the read API (SPEC.md §13.6)
    /// so that voters can check an audit code and compare the bundle hash
    /// on the mirror; `None`: no pages.
    pub web: Option<psephos_voter::web::WebAssets>,
}

impl MirrorConfig {
    /// Defaults for following `upstream` into `data_dir`.
    pub fn new(upstream: &str, data_dir: impl Into<PathBuf>) -> Self {
        MirrorConfig {
            upstream: upstream.to_owned(),
            data_dir: Some(data_dir.into()),
            database_url: None,
            key_file: None,
            name: None,
            board_key: None,
            interval: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            limits: Limits::default(),
            web: None,
        }
    }

    fn key_path(&self) -> Result<PathBuf> {
        match (&self.key_file, &self.data_dir) {
            (Some(k), _) => Ok(k.clone()),
            (None, Some(d)) => Ok(d.join(KEY_FILE)),
            (None, None) => Err(BoardError::Config(
                "a mirror needs --data-dir or --key for its cosigning key".into(),
            )),
        }
    }
}

/// Read the mirror's key file (`<name>\n<64 hex seed>\n`), or make one.
pub fn load_or_create_key(path: &Path, name: Option<&str>) -> Result<Cosigner> {
    let config = |why: String| BoardError::Config(format!("{}: {why}", path.display()));
    if path.exists() {
        let text = fs::read_to_string(path)?;
        let mut lines = text.lines();
        let (Some(stored), Some(seed)) = (lines.next(), lines.next()) else {
            return Err(config(
                "a mirror key file is a key name line and a hex seed line".into(),
            ));
        };
        if let Some(name) = name {
            if name != stored {
                return Err(config(format!(
                    "the key is named {stored:?}, not {name:?} (the name is part of the key's identity)"
                )));
            }
        }
        let seed = psephos_crypto::encoding::decode_hex32("mirror key", seed.trim())
            .map_err(|e| config(e.to_string()))?;
        return Cosigner::new(stored, SigningKey::from_bytes(&seed))
            .map_err(|e| config(e.to_string()));
    }
    let name = name.unwrap_or(DEFAULT_NAME);
    let key = SigningKey::generate(&mut OsRng);
    let cosigner = Cosigner::new(name, key.clone()).map_err(|e| config(e.to_string()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    writeln!(f, "{name}\n{}", hex::encode(key.to_bytes()))?;
    f.sync_all()?;
    tracing::info!(vkey = %cosigner.verifier().to_vkey(), path = %path.display(), "made a new mirror key");
    Ok(cosigner)
}

/// A mirror: the follower and the read side over one database.
#[derive(Debug)]
pub struct Mirror {
    follower: Follower,
    reader: Arc<MirrorReader>,
    config: MirrorConfig,
}

impl Mirror {
    /// Open the mirror's store and key, pin the board's key (from the
    /// configuration, the store, or on first run the upstream), and resume
    /// from the store.
    pub async fn open(config: MirrorConfig) -> Result<Mirror> {
        let cosigner = load_or_create_key(&config.key_path()?, config.name.as_deref())?;
        if let Some(dir) = &config.data_dir {
            fs::create_dir_all(dir)?;
        }
        let data_dir = config
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        let store = Store::open(&data_dir, config.database_url.as_deref()).await?;
        if store.setting("board_public_key").await?.is_some() {
            return Err(BoardError::Config(
                "this database belongs to a board, not a mirror".into(),
            ));
        }
        let upstream = Upstream::new(&config.upstream)?;
        let pinned = store.setting(BOARD_KEY_SETTING).await?;
        let vkey = match (&config.board_key, pinned) {
            (Some(given), Some(pinned)) => {
                if normalise(given)? != normalise(&pinned)? {
                    return Err(BoardError::Config(format!(
                        "this mirror follows the board {pinned}, not {given}"
                    )));
                }
                pinned
            }
            (Some(given), None) => given.clone(),
            (None, Some(pinned)) => pinned,
            (None, None) => {
                let info = upstream.board_info().await?;
                let verifier = NoteVerifier::from_vkey(&info.key).map_err(|e| {
                    BoardError::Unavailable(format!("upstream: the board's key: {e}"))
                })?;
                if hex::encode(verifier.verifying_key().to_bytes()) != info.public_key {
                    return Err(BoardError::Unavailable(
                        "upstream: the board's vkey and public key differ".into(),
                    ));
                }
                tracing::warn!(board = %info.key, "pinning the board key the upstream presents (pass --board-key to pin it yourself)");
                info.key
            }
        };
        let verifier = NoteVerifier::from_vkey(&vkey)
            .map_err(|e| BoardError::Config(format!("board key {vkey:?}: {e}")))?;
        store
            .set_setting(BOARD_KEY_SETTING, &verifier.to_vkey())
            .await?;
        store
            .set_setting("mirror_upstream", upstream.base())
            .await?;
        let board = BoardIdentity::new(verifier);
        let reader = Arc::new(MirrorReader::new(
            store.clone(),
            api::MirrorInfo {
                board_origin: board.verifier.name().to_owned(),
                board_vkey: board.vkey(),
                board_public_key: hex::encode(board.author.0),
                name: cosigner.name().to_owned(),
                vkey: cosigner.verifier().to_vkey(),
                upstream: upstream.base().to_owned(),
            },
            config.limits.clone(),
        ));
        let follower = Follower::load(upstream, store, board, cosigner).await?;
        Ok(Mirror {
            follower,
            reader,
            config,
        })
    }

    /// The mirror's cosignature verifier key (give it to the board's
    /// administrator: `psephos-board add-mirror --vkey …`).
    pub fn vkey(&self) -> String {
        self.follower.cosigner.verifier().to_vkey()
    }

    /// The mirror's cosignature verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        self.follower.cosigner.verifier()
    }

    /// The pinned board key.
    pub fn board_vkey(&self) -> String {
        self.follower.board.vkey()
    }

    /// The standing alarm, if any.
    pub fn alarm(&self) -> Option<AlarmKind> {
        self.follower.alarm
    }

    /// The mirror's database.
    pub fn store(&self) -> &Store {
        &self.follower.store
    }

    /// The read side (for serving).
    pub fn reader(&self) -> Arc<MirrorReader> {
        self.reader.clone()
    }

    /// The mirror's HTTP API (SPEC.md §10.9.1).
    pub fn app(&self) -> axum::Router {
        api::app(self.reader.clone(), self.config.web.as_ref())
    }

    /// One pass over every election of the upstream (`--once`).
    pub async fn pass(&mut self) -> Result<PassReport> {
        self.follower.pass().await
    }

    /// Follow until `shutdown` resolves or an alarm is raised: a pass every
    /// `interval`, doubling the wait after each failed pass up to
    /// `max_backoff`. Returns the alarm, if any.
    pub async fn follow(
        &mut self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Option<AlarmKind> {
        tokio::pin!(shutdown);
        let mut backoff = self.config.interval;
        loop {
            let wait = match self.follower.pass().await {
                Ok(report) => {
                    if let Some(kind) = report.alarm {
                        return Some(kind);
                    }
                    if report.appended > 0 || report.cosigned > 0 {
                        tracing::info!(
                            appended = report.appended,
                            cosigned = report.cosigned,
                            "pass done"
                        );
                    }
                    backoff = self.config.interval;
                    self.config.interval
                }
                Err(e) => {
                    let wait = backoff;
                    tracing::warn!(error = %e, retry_in = ?wait, "pass failed");
                    backoff = (backoff * 2).min(self.config.max_backoff);
                    wait
                }
            };
            tokio::select! {
                _ = &mut shutdown => return None,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Close the database.
    pub async fn close(self) {
        self.follower.store.close().await;
    }
}

fn normalise(vkey: &str) -> Result<String> {
    NoteVerifier::from_vkey(vkey)
        .map(|v| v.to_vkey())
        .map_err(|e| BoardError::Config(format!("board key {vkey:?}: {e}")))
}

/// `psephos-board add-mirror`: register a mirror's cosignature key with a
/// board, whose cosignatures it then accepts and publishes (SPEC.md
/// §10.9.3).
pub async fn add_mirror(store: &Store, vkey: &str, url: Option<&str>) -> Result<RegisteredMirror> {
    let verifier = CosignatureVerifier::from_vkey(vkey)
        .map_err(|e| BoardError::Config(format!("mirror key {vkey:?}: {e}")))?;
    let mirror = RegisteredMirror {
        vkey: verifier.to_vkey(),
        name: verifier.name().to_owned(),
        url: url.unwrap_or_default().to_owned(),
    };
    store::register_mirror(store, &mirror, follow::now()).await?;
    Ok(mirror)
}

/// The mirrors registered with a board.
pub async fn registered_mirrors(store: &Store) -> Result<Vec<RegisteredMirror>> {
    store::registered_mirrors(store).await
}
