//! Concord's local store: one SQLite file per workspace.
//!
//! [`Store`] opens the database with the settings Concord relies on (WAL,
//! foreign keys on, a busy timeout, `synchronous=NORMAL`) and brings its schema
//! up to date with the forward-only migrations in [`migration`]. Each table has
//! its own module holding its part of the schema and its read/write handles:
//! [`connection`], [`bookmark`], [`raw_record`], [`canonical_record`],
//! [`link`], [`conflict`], [`decision`], [`outbox`] and [`audit`].
//!
//! **Invariant:** nothing secret is ever stored here. Connections keep a
//! reference to their keychain entry, never a token.
//!
//! ```
//! use concord_store::Store;
//! let store = Store::open_in_memory().unwrap();
//! assert_eq!(store.schema_version().unwrap(), concord_store::migration::LATEST);
//! ```

pub mod audit;
pub mod bookmark;
pub mod canonical_record;
pub mod conflict;
pub mod connection;
pub mod decision;
pub mod discrepancy;
pub mod import_source;
pub mod imported_record;
pub mod link;
pub mod match_setting;
pub mod migration;
pub mod outbox;
pub mod raw_record;
pub mod record_link;
pub mod sync_run;

use rusqlite::{Connection, ErrorCode};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What went wrong in the store, phrased for the person who has to act on it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The disk (or the database's quota) is full; SQLite rolled the write back.
    #[error("the disk holding the Concord workspace is full; free some space and try again (nothing was half-written: the last change was rolled back)")]
    DiskFull,
    /// The database was written by a newer Concord.
    #[error("this workspace was created by a newer Concord (schema {found}, this build knows up to {supported}); update Concord to open it")]
    NewerSchema { found: i64, supported: i64 },
    /// Another process holds the database for longer than the busy timeout.
    #[error("the workspace database is busy in another Concord process; close it or wait, then try again")]
    Busy,
    /// The file is not a SQLite database or is damaged.
    #[error("the workspace database is damaged or is not a Concord database ({0}); restore it from a backup or start a new workspace")]
    Corrupt(String),
    /// A row that was asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A value did not fit the store's rules (for example, a duplicate name).
    #[error("{0}")]
    Invalid(String),
    /// Any other SQLite failure.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(code, _) = &err {
            match code.code {
                ErrorCode::DiskFull => return StoreError::DiskFull,
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => return StoreError::Busy,
                ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => return StoreError::Corrupt(err.to_string()),
                _ => {}
            }
        }
        StoreError::Sqlite(err)
    }
}

/// Shorthand for store results.
pub type Result<T> = std::result::Result<T, StoreError>;

/// An open workspace database with its schema up to date.
#[derive(Debug)]
pub struct Store {
    /// Set between [`Store::begin_background_checkpoints`] and [`Store::end_background_checkpoints`]
    /// (declared first: it stops before the connection closes).
    checkpointer: Option<Checkpointer>,
    conn: Connection,
}

/// Page size of a new workspace database. 16 KiB rather than SQLite's 4 KiB:
/// a sync appends about 2.5 KB per record (payload, mapping, index entries),
/// and with four times fewer pages its commits write four times fewer log
/// frames (each two system calls) and checkpoints copy four times fewer pages:
/// 100,000 records synced about 15% faster (crates/concord-sync/benches/throughput.rs).
pub const NEW_PAGE_SIZE: u32 = 16_384;

/// SQLite's own threshold (pages in the write-ahead log) for checkpointing after a commit.
const AUTOCHECKPOINT_PAGES: u32 = 1000;

/// How long a writer waits for another writer before reporting [`StoreError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Store {
    /// Opens (creating if needed) the database file at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        Self::prepare(conn, true)
    }

    /// Opens a private in-memory database, migrated: for tests and dry runs.
    pub fn open_in_memory() -> Result<Store> {
        Self::prepare(Connection::open_in_memory()?, false)
    }

    fn prepare(conn: Connection, wal: bool) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if wal {
            // Only a new, empty file takes this (an existing database keeps its page size).
            conn.execute_batch(&format!("PRAGMA page_size = {NEW_PAGE_SIZE}"))?;
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Invalid(format!(
                    "the workspace's file system does not support SQLite's write-ahead log (journal mode stayed {mode}); move the workspace to a local disk"
                )));
            }
        }
        // A 16 MB page cache (the default is 2 MB) keeps a sync's upserts from re-reading b-tree pages.
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16000;")?;
        let mut store = Store { checkpointer: None, conn };
        migration::apply(&mut store.conn)?;
        Ok(store)
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64> {
        migration::current(&self.conn)
    }

    /// Runs SQLite's own consistency check; `Ok(())` when it answers "ok".
    pub fn integrity_check(&self) -> Result<()> {
        let answer: String = self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if answer == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt(answer))
        }
    }

    /// The underlying connection, for the table modules and for tests that
    /// must reach past the handles (for example to tamper with the audit log).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` inside one transaction: everything it writes commits together or not at all.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        if let Some(c) = &self.checkpointer {
            c.nudge();
        }
        Ok(out)
    }

    /// For a bulk write (a sync): copies the write-ahead log into the database
    /// on a thread with its own connection, woken after every
    /// [`Store::transaction`], instead of inside the commit that crosses
    /// SQLite's threshold; commits then only append to the log. Does nothing
    /// for an in-memory store. The thread stops at
    /// [`Store::end_background_checkpoints`] or when the store is dropped;
    /// until then checkpoints keep pace with commits, so the log cannot grow
    /// without bound even if the end is never called.
    pub fn begin_background_checkpoints(&mut self) -> Result<()> {
        let Some(path) = self.conn.path().filter(|p| !p.is_empty()).map(std::path::PathBuf::from) else { return Ok(()) };
        if self.checkpointer.is_none() {
            self.checkpointer = Some(Checkpointer::start(&path)?);
            self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        Ok(())
    }

    /// Ends [`Store::begin_background_checkpoints`]: the thread finishes its
    /// last checkpoint and SQLite checkpoints after commits again.
    pub fn end_background_checkpoints(&mut self) -> Result<()> {
        if let Some(c) = self.checkpointer.take() {
            drop(c);
            self.conn.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES)?;
        }
        Ok(())
    }
}

/// A thread that runs passive checkpoints (never waiting for, nor blocking,
/// the writer or readers) on its own connection whenever it is nudged.
#[derive(Debug)]
struct Checkpointer {
    shared: Arc<CheckpointSignal>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct CheckpointSignal {
    /// (a commit happened since the last checkpoint, stop after the next one)
    state: Mutex<(bool, bool)>,
    wake: Condvar,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
        let shared = Arc::new(CheckpointSignal::default());
        let signal = shared.clone();
        let thread = std::thread::Builder::new()
            .name("concord-checkpoint".into())
            .spawn(move || loop {
                let stop = {
                    let mut s = signal.state.lock().unwrap_or_else(|p| p.into_inner());
                    while !s.0 && !s.1 {
                        s = signal.wake.wait(s).unwrap_or_else(|p| p.into_inner());
                    }
                    s.0 = false;
                    s.1
                };
                // A failed checkpoint (a disk error) loses nothing: the log keeps every
                // frame, and the next checkpoint, or SQLite's own, copies it later.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                if stop {
                    break;
                }
            })
            .map_err(|e| StoreError::Invalid(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer { shared, thread: Some(thread) })
    }

    fn nudge(&self) {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner()).0 = true;
        self.shared.wake.notify_one();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner()).1 = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
