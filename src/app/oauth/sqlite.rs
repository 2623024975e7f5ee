//! [`SqliteStore`]: installations and OAuth states in a SQLite file (feature `sqlite`), safe
//! for several processes on one host.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::installation::unix_now;
use super::store::{
    installation_store_via_ops, new_state, Done, Entry, Key, OAuthStateStore, Op, StoreError,
    DEFAULT_STATE_EXPIRY,
};

/// The schema this version writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

/// How long a write waits for another process's write to finish before failing.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS slack_workspaces (
    enterprise_id TEXT NOT NULL,
    team_id       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    data          TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (enterprise_id, team_id)
);
CREATE TABLE IF NOT EXISTS slack_oauth_states (
    state     TEXT PRIMARY KEY,
    issued_at INTEGER NOT NULL
);
";

/// Installations and OAuth states in a SQLite file — the embedded store to pick for a real
/// deployment on one host (feature `sqlite`; SQLite is compiled in, no system library needed).
/// Implements [`InstallationStore`](super::InstallationStore) and [`OAuthStateStore`].
///
/// **Several processes** may open the same file: it runs in WAL mode, every change is one
/// `BEGIN IMMEDIATE` transaction (read, change, write), and a writer waits up to 5 s
/// ([`busy_timeout`](SqliteStore::busy_timeout)) for another. So the compare-and-swap of
/// [`save_rotated`](super::InstallationStore::save_rotated) holds across processes: of two
/// processes that refresh one workspace at once, one save wins and the other re-reads.
///
/// **Schema** (version 1 in `PRAGMA user_version`; a file written by a newer version is
/// refused rather than misread): `slack_workspaces(enterprise_id, team_id, version, data,
/// updated_at)`, one row per workspace, `data` the JSON of its latest installation and of each
/// installing user's; `slack_oauth_states(state, issued_at)`. The file holds tokens: keep it
/// readable by the app's user only. Many hosts need a server database: implement
/// [`InstallationStore`](super::InstallationStore) over it (see the README).
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    state_expiry: u64,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn db_error(what: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::with_source(format!("sqlite: {what}"), e)
}

impl SqliteStore {
    /// Opens (or creates) the store at `path`: WAL mode, a 5 s busy timeout, the schema
    /// created or checked.
    ///
    /// Fails when the file cannot be opened, is not a SQLite database, or holds a newer
    /// schema.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let mut conn = Connection::open(&path).map_err(db_error("cannot open the file"))?;
        conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)
            .map_err(db_error("cannot set the busy timeout"))?;
        // Answers the mode it is in ("wal"; "memory" for an in-memory database).
        let _mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .map_err(db_error("cannot turn WAL on"))?;
        conn.execute_batch("PRAGMA synchronous=NORMAL")
            .map_err(db_error("cannot set synchronous"))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_error("cannot begin"))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(db_error("cannot read the schema version"))?;
        match version {
            0 => {
                tx.execute_batch(SCHEMA)
                    .map_err(db_error("cannot create the tables"))?;
                tx.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION}"))
                    .map_err(db_error("cannot write the schema version"))?;
            }
            SCHEMA_VERSION => {}
            newer => {
                return Err(StoreError::new(format!(
                    "sqlite: {} has schema version {newer}; this version of slack-rtm reads {SCHEMA_VERSION}",
                    path.display()
                )))
            }
        }
        tx.commit().map_err(db_error("cannot commit the schema"))?;
        Ok(SqliteStore {
            path,
            conn: Mutex::new(conn),
            state_expiry: DEFAULT_STATE_EXPIRY,
        })
    }

    /// How long a write waits for another process's write. Defaults to 5 s.
    pub fn busy_timeout(self, timeout: Duration) -> Result<SqliteStore, StoreError> {
        self.lock()
            .busy_timeout(timeout)
            .map_err(db_error("cannot set the busy timeout"))?;
        Ok(self)
    }

    /// How long an issued OAuth state stays valid, in seconds. Defaults to 600.
    #[must_use]
    pub fn state_expiry(mut self, seconds: u64) -> Self {
        self.state_expiry = seconds;
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A connection stays usable after a panic: an open transaction rolls back on drop.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn op(&self, key: Key, op: Op<'_>) -> Result<Done, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_error("cannot begin"))?;
        let mut entry = read_entry(&tx, &key)?;
        let (done, changed) = op.apply(&mut entry);
        if changed {
            match &entry {
                None => {
                    tx.execute(
                        "DELETE FROM slack_workspaces WHERE enterprise_id = ?1 AND team_id = ?2",
                        params![key.0, key.1],
                    )
                    .map_err(db_error("cannot delete"))?;
                }
                Some(entry) => {
                    let data = serde_json::to_string(entry)
                        .map_err(|e| StoreError::with_source("cannot encode", e))?;
                    tx.execute(
                        "INSERT INTO slack_workspaces (enterprise_id, team_id, version, data, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (enterprise_id, team_id) DO UPDATE SET
                           version = excluded.version, data = excluded.data,
                           updated_at = excluded.updated_at",
                        params![key.0, key.1, entry.version as i64, data, unix_now() as i64],
                    )
                    .map_err(db_error("cannot write"))?;
                }
            }
        }
        tx.commit().map_err(db_error("cannot commit"))?;
        Ok(done)
    }

    fn entry(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        read_entry(&self.lock(), key)
    }
}

fn read_entry(conn: &Connection, key: &Key) -> Result<Option<Entry>, StoreError> {
    let data: Option<String> = conn
        .query_row(
            "SELECT data FROM slack_workspaces WHERE enterprise_id = ?1 AND team_id = ?2",
            params![key.0, key.1],
            |row| row.get(0),
        )
        .optional()
        .map_err(db_error("cannot read"))?;
    data.map(|d| {
        serde_json::from_str(&d)
            .map_err(|e| StoreError::with_source("sqlite: a workspace row does not decode", e))
    })
    .transpose()
}

installation_store_via_ops!(SqliteStore);

impl OAuthStateStore for SqliteStore {
    fn issue(&self) -> Result<String, StoreError> {
        let now = unix_now() as i64;
        let state = new_state();
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_error("cannot begin"))?;
        tx.execute(
            "DELETE FROM slack_oauth_states WHERE issued_at <= ?1",
            params![now - self.state_expiry as i64],
        )
        .map_err(db_error("cannot purge states"))?;
        tx.execute(
            "INSERT INTO slack_oauth_states (state, issued_at) VALUES (?1, ?2)",
            params![state, now],
        )
        .map_err(db_error("cannot save the state"))?;
        tx.commit().map_err(db_error("cannot commit"))?;
        Ok(state)
    }

    fn consume(&self, state: &str) -> Result<bool, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_error("cannot begin"))?;
        let issued: Option<i64> = tx
            .query_row(
                "SELECT issued_at FROM slack_oauth_states WHERE state = ?1",
                params![state],
                |row| row.get(0),
            )
            .optional()
            .map_err(db_error("cannot read the state"))?;
        if issued.is_some() {
            tx.execute(
                "DELETE FROM slack_oauth_states WHERE state = ?1",
                params![state],
            )
            .map_err(db_error("cannot delete the state"))?;
        }
        tx.commit().map_err(db_error("cannot commit"))?;
        let now = unix_now() as i64;
        Ok(issued.is_some_and(|at| now - at < self.state_expiry as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_refused_and_the_journal_is_wal() {
        let dir = std::env::temp_dir().join(format!("slack-rtm-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sqlite");
        let store = SqliteStore::open(&path).unwrap();
        let mode: String = store
            .lock()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let version: i64 = store
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        store
            .lock()
            .execute_batch("PRAGMA user_version=99")
            .unwrap();
        drop(store);
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(err.to_string().contains("schema version 99"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
