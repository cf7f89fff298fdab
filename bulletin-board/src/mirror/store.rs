//! The mirror's queries (SPEC.md §10.9), over the board's schema
//! (`migrations/`) and the board's [`Store`]: a mirror keeps its copy in the
//! same tables a board does, so the board's read API serves it unchanged.
//!
//! Every query goes through a transaction from [`Store::begin`], written in
//! the SQL that SQLite and PostgreSQL both accept, like the board's own.

use std::collections::BTreeMap;

use psephos_voter::web::WebAssets;
use sqlx::{Any, Row, Transaction};

use crate::error::{BoardError, Result};
use crate::store::{NewEntry, Store};

type Tx = Transaction<'static, Any>;

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| BoardError::Internal(format!("{v} does not fit in BIGINT")))
}

fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v)
        .map_err(|_| BoardError::Internal(format!("negative value {v} in the database")))
}

/// Rows per multi-row INSERT (SQLite allows 32,766 parameters).
const INSERT_CHUNK: usize = 500;

/// `prefix ($1, …, $k), ($k+1, …), …`: numbered placeholders for `rows`
/// rows of `k` columns.
fn values_sql(prefix: &str, rows: usize, k: usize) -> String {
    let mut sql = String::from(prefix);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        let cols: Vec<String> = (0..k).map(|c| format!("${}", r * k + c + 1)).collect();
        sql.push('(');
        sql.push_str(&cols.join(", "));
        sql.push(')');
    }
    sql
}

/// Insert verified entries (with their ballots' R points) and move the
/// election's head past them, inside `tx`. The election row must exist
/// ([`Store::insert_election`] for entry 0).
pub(crate) async fn write_entries(
    tx: &mut Tx,
    election: &str,
    entries: &[NewEntry],
    points: &[(String, u64)],
    state: &str,
) -> Result<()> {
    let Some(last) = entries.last() else {
        return Ok(());
    };
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
    let updated = sqlx::query(
        "UPDATE elections SET size = $1, head = $2, state = $3 WHERE id = $4 AND size = $5",
    )
    .bind(to_i64(last.index + 1)?)
    .bind(last.leaf_hash.as_str())
    .bind(state)
    .bind(election)
    .bind(to_i64(entries.first().map_or(0, |e| e.index))?)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(BoardError::Internal(format!(
            "{election}: the stored head is not where the mirror's copy ends"
        )));
    }
    Ok(())
}

/// Store a verified checkpoint: the board's signed note and this mirror's
/// cosignature line.
pub(crate) async fn insert_checkpoint(
    store: &Store,
    election: &str,
    size: u64,
    note: &str,
    cosignature: &str,
) -> Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO checkpoints (election, size, note, cosignatures) VALUES ($1, $2, $3, $4)",
    )
    .bind(election)
    .bind(to_i64(size)?)
    .bind(note)
    .bind(cosignature)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A stored checkpoint: the log's signed note and the cosignature lines
/// kept with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredCheckpoint {
    pub size: u64,
    pub note: String,
    pub cosignatures: String,
}

fn stored_checkpoint(row: &sqlx::any::AnyRow) -> Result<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: to_u64(row.try_get(0)?)?,
        note: row.try_get(1)?,
        cosignatures: row.try_get(2)?,
    })
}

/// The latest stored checkpoint of an election.
pub(crate) async fn latest_checkpoint(
    store: &Store,
    election: &str,
) -> Result<Option<StoredCheckpoint>> {
    let mut tx = store.begin().await?;
    let row = sqlx::query(
        "SELECT size, note, cosignatures FROM checkpoints WHERE election = $1 ORDER BY size DESC LIMIT 1",
    )
    .bind(election)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    row.as_ref().map(stored_checkpoint).transpose()
}

/// Add cosignature lines to the stored checkpoint of `size`, atomically:
/// the row is locked, `merge(note, cosignatures)` says what the new
/// cosignature text is (`Ok(None)`: unchanged), and it is written.
/// `Ok(None)` if there is no such checkpoint.
pub(crate) async fn update_cosignatures<T>(
    store: &Store,
    election: &str,
    size: u64,
    merge: impl FnOnce(&StoredCheckpoint) -> Result<(Option<String>, T)>,
) -> Result<Option<T>> {
    let mut tx = store.begin().await?;
    // Takes the row's write lock (PostgreSQL) or the database's (SQLite)
    // before reading, so two mirrors posting at once cannot lose a line.
    let row = sqlx::query(
        "UPDATE checkpoints SET cosignatures = cosignatures WHERE election = $1 AND size = $2 RETURNING size, note, cosignatures",
    )
    .bind(election)
    .bind(to_i64(size)?)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored = stored_checkpoint(&row)?;
    let (text, out) = merge(&stored)?;
    if let Some(text) = text {
        sqlx::query("UPDATE checkpoints SET cosignatures = $1 WHERE election = $2 AND size = $3")
            .bind(text)
            .bind(election)
            .bind(to_i64(size)?)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Some(out))
}

/// One alarm row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AlarmRow {
    pub election: String,
    pub detected: u64,
    pub kind: String,
    pub evidence: String,
}

/// Record an alarm with its evidence (JSON).
pub(crate) async fn record_alarm(store: &Store, row: &AlarmRow) -> Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO mirror_alarms (election, detected, kind, evidence) VALUES ($1, $2, $3, $4)",
    )
    .bind(row.election.as_str())
    .bind(to_i64(row.detected)?)
    .bind(row.kind.as_str())
    .bind(row.evidence.as_str())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Every alarm, oldest first.
pub(crate) async fn alarms(store: &Store) -> Result<Vec<AlarmRow>> {
    let mut tx = store.begin().await?;
    let rows = sqlx::query(
        "SELECT election, detected, kind, evidence FROM mirror_alarms ORDER BY detected, election",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter()
        .map(|r| {
            Ok(AlarmRow {
                election: r.try_get(0)?,
                detected: to_u64(r.try_get(1)?)?,
                kind: r.try_get(2)?,
                evidence: r.try_get(3)?,
            })
        })
        .collect()
}

/// A mirror registered with a board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredMirror {
    /// Its cosignature/v1 vkey.
    pub vkey: String,
    /// Its key name.
    pub name: String,
    /// Where it serves the read API (may be empty).
    pub url: String,
}

/// Register (or re-register) a mirror on a board.
pub(crate) async fn register_mirror(
    store: &Store,
    mirror: &RegisteredMirror,
    added: u64,
) -> Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM mirrors WHERE vkey = $1")
        .bind(mirror.vkey.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO mirrors (vkey, name, url, added) VALUES ($1, $2, $3, $4)")
        .bind(mirror.vkey.as_str())
        .bind(mirror.name.as_str())
        .bind(mirror.url.as_str())
        .bind(to_i64(added)?)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The mirrors registered with a board, oldest first.
pub(crate) async fn registered_mirrors(store: &Store) -> Result<Vec<RegisteredMirror>> {
    let mut tx = store.begin().await?;
    let rows = sqlx::query("SELECT vkey, name, url FROM mirrors ORDER BY added, vkey")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    rows.iter()
        .map(|r| {
            Ok(RegisteredMirror {
                vkey: r.try_get(0)?,
                name: r.try_get(1)?,
                url: r.try_get(2)?,
            })
        })
        .collect()
}

/// The hashes (hex) of the page bundles this mirror holds (SPEC.md §10.9.5).
pub(crate) async fn bundles(store: &Store) -> Result<Vec<String>> {
    let mut tx = store.begin().await?;
    let rows = sqlx::query("SELECT DISTINCT bundle FROM bundle_files")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(Into::into))
        .collect()
}

/// Store a page bundle whose files were checked against its hash, in one
/// transaction.
pub(crate) async fn insert_bundle(store: &Store, bundle: &WebAssets) -> Result<()> {
    let hash = hex::encode(bundle.bundle_sha256());
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM bundle_files WHERE bundle = $1")
        .bind(hash.as_str())
        .execute(&mut *tx)
        .await?;
    for name in bundle.names() {
        let content = bundle
            .file(name)
            .ok_or_else(|| BoardError::Internal(format!("bundle file {name:?} vanished")))?;
        sqlx::query("INSERT INTO bundle_files (bundle, name, content) VALUES ($1, $2, $3)")
            .bind(hash.as_str())
            .bind(name)
            .bind(hex::encode(content))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A stored page bundle, rebuilt from its files (and so re-hashed).
pub(crate) async fn load_bundle(store: &Store, hash: &[u8; 32]) -> Result<Option<WebAssets>> {
    let mut tx = store.begin().await?;
    let rows = sqlx::query("SELECT name, content FROM bundle_files WHERE bundle = $1")
        .bind(hex::encode(hash))
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut files = BTreeMap::new();
    for r in &rows {
        let name: String = r.try_get(0)?;
        let content: String = r.try_get(1)?;
        let content = hex::decode(content)
            .map_err(|e| BoardError::Internal(format!("stored bundle file {name:?}: {e}")))?;
        files.insert(name, content);
    }
    let bundle = WebAssets::from_files(files)
        .map_err(|e| BoardError::Internal(format!("stored bundle: {e}")))?;
    if bundle.bundle_sha256() != *hash {
        return Err(BoardError::Internal(
            "a stored bundle's files do not give its hash".into(),
        ));
    }
    Ok(Some(bundle))
}

#[cfg(test)]
mod tests {
    use super::values_sql;

    #[test]
    fn values_sql_numbers_placeholders_row_by_row() {
        assert_eq!(
            values_sql("INSERT INTO t (a, b) VALUES ", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
    }
}
