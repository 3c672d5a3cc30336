//! Durability of the store on a real file: migrations, re-opening, and SIGKILL
//! in the middle of a write transaction.
//!
//! The crash test re-runs this test binary as a child process (selected by an
//! environment variable) that writes audit entries in transactions and reports
//! each commit on stdout; the parent kills it with SIGKILL at a random moment,
//! then checks that SQLite's integrity check passes, that every commit the
//! child reported is present, and that the audit chain still verifies.

use concord_store::{audit, migration, Store, StoreError};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "CONCORD_STORE_CRASH_CHILD_DB";

#[test]
fn migrations_apply_on_memory_and_file_and_are_idempotent() {
    let mem = Store::open_in_memory().unwrap();
    assert_eq!(mem.schema_version().unwrap(), migration::LATEST, "a new in-memory store must be fully migrated");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("concord.db");
    {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), migration::LATEST, "a new file store must be fully migrated");
        let mode: String = store.conn().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal", "file stores must use the write-ahead log so readers never block the writer");
        let fk: i64 = store.conn().query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1, "foreign keys must be enforced");
        audit::append(store.conn(), &audit::NewEntry { actor: "t", action: "a", subject: "s", detail: &serde_json::json!({}) }, "t0").unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(audit::count(store.conn()).unwrap(), 1, "re-opening must keep data and not re-run migrations");
}

#[test]
fn new_databases_get_large_pages_and_existing_ones_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("new.db");
    let page: u32 = Store::open(&fresh).unwrap().conn().query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    assert_eq!(page, concord_store::NEW_PAGE_SIZE, "a new workspace must be created with the larger page size the sync is tuned for");
    let old = dir.path().join("old.db");
    {
        let c = rusqlite::Connection::open(&old).unwrap();
        c.execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
    }
    let store = Store::open(&old).unwrap();
    let page: u32 = store.conn().query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    assert_eq!(page, 4096, "an existing database keeps its page size (changing it would need a full rewrite)");
    let kept: i64 = store.conn().query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(kept, 1, "and its data");
    store.integrity_check().expect("opening an older database must leave it consistent");
}

#[test]
fn a_database_from_a_newer_concord_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("concord.db");
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path).unwrap().execute_batch(&format!("PRAGMA user_version = {}", migration::LATEST + 1)).unwrap();
    match Store::open(&path) {
        Err(StoreError::NewerSchema { found, supported }) => {
            assert_eq!((found, supported), (migration::LATEST + 1, migration::LATEST), "the error must name both versions");
        }
        other => panic!("a newer schema must be refused, not downgraded or guessed at: {other:?}"),
    }
}

#[test]
fn a_file_that_is_not_a_database_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("concord.db");
    std::fs::write(&path, b"this is a spreadsheet, not a database, and it is long enough to have a header").unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "a foreign file must be reported as damaged/not Concord's: {err:?}");
    assert!(err.to_string().contains("backup"), "the message must say what to do: {err}");
}

/// The child half of the crash test; does nothing unless the parent selected it.
#[test]
fn crash_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let mut store = Store::open(std::path::Path::new(&path)).unwrap();
    let detail = serde_json::json!({ "padding": "x".repeat(200) });
    let mut committed = 0u64;
    loop {
        store
            .transaction(|tx| {
                for _ in 0..200 {
                    audit::append(tx, &audit::NewEntry { actor: "child", action: "crash.write", subject: "row", detail: &detail }, "t")?;
                }
                Ok(())
            })
            .unwrap();
        committed += 200;
        println!("committed {committed}");
    }
}

#[test]
fn sigkill_during_writes_loses_no_committed_row() {
    let me = std::env::current_exe().unwrap();
    for trial in 0..8u64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("concord.db");
        drop(Store::open(&path).unwrap());
        let mut child = Command::new(&me)
            .args(["--exact", "crash_child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let it commit a few batches, then kill it a pseudo-random time into the next ones.
        let wanted = 2 + trial % 3;
        let mut last_reported = 0u64;
        while let Some(Ok(line)) = lines.next() {
            if let Some(n) = line.strip_prefix("committed ") {
                last_reported = n.parse().unwrap();
                if last_reported >= wanted * 200 {
                    break;
                }
            }
        }
        let started = Instant::now();
        std::thread::sleep(Duration::from_micros(1_000 + (trial * 7_919) % 20_000));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        // Anything the child printed before dying was committed before it printed.
        for line in lines.map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("committed ") {
                last_reported = n.parse().unwrap();
            }
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the child must be killed promptly");
        assert!(last_reported > 0, "trial {trial}: the child must have committed something before the kill");

        let store = Store::open(&path).unwrap();
        store.integrity_check().unwrap_or_else(|e| panic!("trial {trial}: integrity_check must pass after SIGKILL: {e}"));
        let rows = audit::count(store.conn()).unwrap() as u64;
        assert!(rows >= last_reported, "trial {trial}: {rows} rows on disk but {last_reported} were reported committed: a committed row was lost");
        assert_eq!(rows % 200, 0, "trial {trial}: transactions must be all-or-nothing, found {rows} rows (not a multiple of the 200-row batch)");
        let v = audit::verify(store.conn()).unwrap();
        assert_eq!(v.fault, None, "trial {trial}: the audit chain must still verify after a crash");
    }
}
