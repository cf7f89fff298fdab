//! Storage (SPEC.md §10.8): one code path over sqlx's `Any` driver, with
//! SQLite (a file in the data directory, WAL) or PostgreSQL behind it.
//!
//! Every query is written once, in the SQL both backends accept, with `$N`
//! parameters in order of appearance. Appends to an election are serialised
//! by the database: the appender's transaction starts with
//! `UPDATE elections SET size = size WHERE id = $1 RETURNING size, head`,
//! which takes the election row's write lock (PostgreSQL: row lock, held to
//! commit; SQLite: the database write lock) and reads the head as it is
//! *after* any other writer's commit. The `(election, idx)` primary key of
//! `entries` is the last line of defence against two entries with one index.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::error::{BoardError, Result};

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// `DATABASE_URL=postgres://…`.
    Postgres,
}

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// One row of the `entries` table, ready to insert.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// Index in the election's log.
    pub index: u64,
    /// Leaf hash, hex.
    pub leaf_hash: String,
    /// `body.type`.
    pub kind: &'static str,
    /// `body.author`, hex.
    pub author: String,
    /// The canonical entry line.
    pub line: String,
}

/// The head of an election's chain as the database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbHead {
    /// Number of entries.
    pub size: u64,
    /// Leaf hash of the last entry, hex (zeros when empty).
    pub head: String,
}

/// A row of the election list.
#[derive(Debug, Clone)]
pub struct ElectionRow {
    /// Election id.
    pub id: String,
    /// Manifest title.
    pub title: String,
    /// Lifecycle state name.
    pub state: String,
    /// Log size.
    pub size: u64,
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| BoardError::Internal(format!("{v} does not fit in BIGINT")))
}

fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| BoardError::Internal(format!("negative size {v} in the database")))
}

/// `prefix ($1, …, $k), ($k+1, …), …` for `rows` rows of `k` columns:
/// numbered placeholders, which both backends accept.
fn values_sql(prefix: &str, rows: usize, k: usize) -> String {
    let mut sql = String::with_capacity(prefix.len() + rows * k * 6);
    sql.push_str(prefix);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..k {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * k + c + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// Rows per multi-row INSERT (SQLite allows 32,766 parameters).
const INSERT_CHUNK: usize = 500;

impl Store {
    /// Connect to `database_url` if given (PostgreSQL), else to
    /// `<data_dir>/board.sqlite3` (created if missing), and bring the
    /// schema up to date.
    pub async fn open(data_dir: &Path, database_url: Option<&str>) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend) = match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                (url.to_owned(), Backend::Postgres)
            }
            Some(url) if url.starts_with("sqlite:") => (url.to_owned(), Backend::Sqlite),
            Some(_) => {
                return Err(BoardError::Config(
                    "DATABASE_URL must start with postgres:// or sqlite:".into(),
                ))
            }
            None => {
                let file = data_dir.join("board.sqlite3");
                let path = file.to_str().ok_or_else(|| {
                    BoardError::Config("the data directory path is not UTF-8".into())
                })?;
                (format!("sqlite://{path}?mode=rwc"), Backend::Sqlite)
            }
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        if backend == Backend::Sqlite {
            // WAL (persistent in the file): readers never block the
            // appender. SQLite's default `synchronous = FULL` stays, so a
            // commit (and so a receipt) survives power loss too; sqlx sets
            // a 5 s busy timeout on every connection.
            sqlx::query("PRAGMA journal_mode = WAL")
                .fetch_all(&pool)
                .await?;
        }
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool, backend })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Close all connections (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A board-wide setting.
    pub async fn setting(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get::<String, _>(0)?),
            None => None,
        })
    }

    /// Set a board-wide setting.
    pub async fn set_setting(&self, name: &str, value: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM settings WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2)")
            .bind(name)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// All elections, oldest first.
    pub async fn list_elections(&self) -> Result<Vec<ElectionRow>> {
        let rows = sqlx::query("SELECT id, title, state, size FROM elections ORDER BY created, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ElectionRow {
                    id: r.try_get(0)?,
                    title: r.try_get(1)?,
                    state: r.try_get(2)?,
                    size: to_u64(r.try_get(3)?)?,
                })
            })
            .collect()
    }

    /// The committed head of an election, or `None` if there is no such election.
    pub async fn head(&self, election: &str) -> Result<Option<DbHead>> {
        let row = sqlx::query("SELECT size, head FROM elections WHERE id = $1")
            .bind(election)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(DbHead {
                size: to_u64(r.try_get(0)?)?,
                head: r.try_get(1)?,
            })
        })
        .transpose()
    }

    /// Entry lines `[start, end)` of an election, in order.
    pub async fn lines(&self, election: &str, start: u64, end: u64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT line FROM entries WHERE election = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(election)
        .bind(to_i64(start)?)
        .bind(to_i64(end)?)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(Into::into))
            .collect()
    }

    /// Entries `[start, end)` with their kinds and leaf hashes, read inside a
    /// transaction (catching up with another process's appends).
    pub async fn entries_in(
        tx: &mut Transaction<'static, Any>,
        election: &str,
        start: u64,
        end: u64,
    ) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT kind, line FROM entries WHERE election = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(election)
        .bind(to_i64(start)?)
        .bind(to_i64(end)?)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Entries `[start, end)` as `(index, kind, line)`, optionally only one kind.
    pub async fn page(
        &self,
        election: &str,
        start: u64,
        end: u64,
        kind: Option<&str>,
    ) -> Result<Vec<(u64, String, String)>> {
        let rows = match kind {
            None => sqlx::query(
                "SELECT idx, kind, line FROM entries WHERE election = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
            )
            .bind(election)
            .bind(to_i64(start)?)
            .bind(to_i64(end)?)
            .fetch_all(&self.pool)
            .await?,
            Some(k) => sqlx::query(
                "SELECT idx, kind, line FROM entries WHERE election = $1 AND idx >= $2 AND idx < $3 AND kind = $4 ORDER BY idx",
            )
            .bind(election)
            .bind(to_i64(start)?)
            .bind(to_i64(end)?)
            .bind(k)
            .fetch_all(&self.pool)
            .await?,
        };
        rows.iter()
            .map(|r| Ok((to_u64(r.try_get(0)?)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    /// The index of the entry with this leaf hash.
    pub async fn index_of_leaf(&self, election: &str, leaf_hex: &str) -> Result<Option<u64>> {
        let row = sqlx::query(
            "SELECT idx FROM entries WHERE election = $1 AND leaf_hash = $2 ORDER BY idx LIMIT 1",
        )
        .bind(election)
        .bind(leaf_hex)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| to_u64(r.try_get(0)?)).transpose()
    }

    /// The latest signed checkpoint with any cosignature lines appended.
    pub async fn latest_checkpoint(&self, election: &str) -> Result<Option<(u64, String)>> {
        let row = sqlx::query(
            "SELECT size, note, cosignatures FROM checkpoints WHERE election = $1 ORDER BY size DESC LIMIT 1",
        )
        .bind(election)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let note: String = r.try_get(1)?;
            let cosignatures: String = r.try_get(2)?;
            Ok((to_u64(r.try_get(0)?)?, note + &cosignatures))
        })
        .transpose()
    }

    /// Begin an append transaction.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>> {
        Ok(self.pool.begin().await?)
    }

    /// Create the election row (inside the transaction that appends entry 0).
    pub async fn insert_election(
        tx: &mut Transaction<'static, Any>,
        id: &str,
        title: &str,
        created: u64,
    ) -> Result<bool> {
        let exists = sqlx::query("SELECT id FROM elections WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        if exists.is_some() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO elections (id, title, state, size, head, created) VALUES ($1, $2, 'setup', 0, $3, $4)",
        )
        .bind(id)
        .bind(title)
        .bind(hex::encode([0u8; 32]))
        .bind(to_i64(created)?)
        .execute(&mut **tx)
        .await?;
        Ok(true)
    }

    /// Lock the election row for this transaction and read the committed head.
    pub async fn lock_head(
        tx: &mut Transaction<'static, Any>,
        election: &str,
    ) -> Result<Option<DbHead>> {
        let row =
            sqlx::query("UPDATE elections SET size = size WHERE id = $1 RETURNING size, head")
                .bind(election)
                .fetch_optional(&mut **tx)
                .await?;
        row.map(|r| {
            Ok(DbHead {
                size: to_u64(r.try_get(0)?)?,
                head: r.try_get(1)?,
            })
        })
        .transpose()
    }

    /// Insert a batch of entries, the R points of its ballots, the new head
    /// and the batch's checkpoint, inside the append transaction.
    pub async fn write_batch(
        tx: &mut Transaction<'static, Any>,
        election: &str,
        entries: &[NewEntry],
        points: &[(String, u64)],
        state: &str,
        checkpoint: (u64, &str),
    ) -> Result<()> {
        for chunk in entries.chunks(INSERT_CHUNK) {
            let sql = values_sql(
                "INSERT INTO entries (election, idx, leaf_hash, kind, author, line) VALUES ",
                chunk.len(),
                6,
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(election)
                    .bind(to_i64(e.index)?)
                    .bind(e.leaf_hash.as_str())
                    .bind(e.kind)
                    .bind(e.author.as_str())
                    .bind(e.line.as_str());
            }
            q.execute(&mut **tx).await?;
        }
        for chunk in points.chunks(INSERT_CHUNK) {
            let sql = values_sql(
                "INSERT INTO ciphertext_points (election, r_point, idx) VALUES ",
                chunk.len(),
                3,
            );
            let mut q = sqlx::query(&sql);
            for (r, idx) in chunk {
                q = q.bind(election).bind(r.as_str()).bind(to_i64(*idx)?);
            }
            q.execute(&mut **tx).await?;
        }
        let last = entries
            .last()
            .ok_or_else(|| BoardError::Internal("empty batch".into()))?;
        sqlx::query("UPDATE elections SET size = $1, head = $2, state = $3 WHERE id = $4")
            .bind(to_i64(last.index + 1)?)
            .bind(last.leaf_hash.clone())
            .bind(state)
            .bind(election)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO checkpoints (election, size, note, cosignatures) VALUES ($1, $2, $3, '')",
        )
        .bind(election)
        .bind(to_i64(checkpoint.0)?)
        .bind(checkpoint.1)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
