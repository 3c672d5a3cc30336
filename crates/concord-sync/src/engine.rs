//! The sync loop: streams read page by page, each page committed with its bookmark and audit row.
//!
//! For every stream of every connection (streams and connections run
//! concurrently, sharing one limiter per connection), the engine:
//!
//! 1. reads the bookmark (the newest last-modified time already stored) and
//!    asks for records modified at or after it, oldest first;
//! 2. stores each page in one SQLite transaction: the raw payloads (upserted
//!    by connection, object and external id, never letting an older version
//!    replace a newer one), their mapped form, the new bookmark (the page's
//!    newest time) and the page's audit row, so a crash at any moment leaves a
//!    bookmark that never claims more than the store holds;
//! 3. re-bases the next query on that bookmark while the provider's own signal
//!    says more pages follow, so records modified during the traversal move to
//!    the end instead of shifting offsets, an expired cursor costs one re-read
//!    from the bookmark, and no query pages towards a result cap;
//! 4. runs the stream's sweep (HubSpot's archived list, QuickBooks' CDC) for
//!    the records the incremental query leaves out;
//! 5. repeats 1-4 until a round changes nothing, so edits made during the
//!    traversal are caught in the same sync.
//!
//! Step 1-3 run as a pipeline: a reading task fetches each page, reads its
//! records' update times (all that the next request depends on) and asks for
//! the next page while the page's records are mapped on a blocking thread and
//! the page before commits; the WAL is checkpointed on a thread of its own
//! meanwhile. A record whose nested list the page cut short (Shopify order
//! line items) is completed by the provider's follow-up query before it is
//! mapped, and refunds read inside an order are stored beside it.
//!
//! A failed stream records its error and leaves the other streams running; a
//! refused token marks the connection as needing re-authorisation.

use crate::error::SyncError;
use crate::limiter::Limiter;
use crate::mapping::{map_record, DriftFinding, DriftKind, DriftTally};
use crate::progress::{Phase, Progress, ProgressSink};
use crate::providers::{quickbooks, spec_for};
use crate::requester::{Call, Page, Requester, RetryPolicy};
use crate::spec::{lookup, text_at, Position, ProviderSpec, Signal, StateRule, StreamSpec, Sweep, Tenant};
use concord_core::{timestamp, Clock, Credentials, Provider};
use concord_store::connection::ConnectionState;
use concord_store::raw_record::{RawRecord, Upsert};
use concord_store::{audit, bookmark, canonical_record, connection, raw_record, sync_run, Store};
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A connection to sync, with the credentials to do it.
pub struct Target {
    pub connection_id: i64,
    pub name: String,
    pub provider: Provider,
    /// The provider's API base URL (the sandbox's, in tests).
    pub base_url: String,
    /// Xero tenant id, QuickBooks realm id or Shopify shop.
    pub tenant_id: Option<String>,
    pub credentials: Arc<dyn Credentials>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("name", &self.name).field("provider", &self.provider).field("base_url", &self.base_url).finish()
    }
}

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Pace calls by the providers' quotas (off only for benchmarks against a sandbox without limits).
    pub rate_limits: bool,
    /// Provider seconds per real second (a time-scaled sandbox); 1 against real providers.
    pub time_scale: f64,
    /// Records per page instead of each provider's default (capped by the stream's cost limit).
    pub page_size: Option<usize>,
    /// Only these streams (store object names); all when `None`.
    pub streams: Option<Vec<String>>,
    pub retry: RetryPolicy,
    /// At most this many incremental-and-sweep rounds per stream and sync.
    pub max_rounds: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { rate_limits: true, time_scale: 1.0, page_size: None, streams: None, retry: RetryPolicy::default(), max_rounds: 5 }
    }
}

/// How one stream's sync went.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamReport {
    pub connection: String,
    pub provider: Provider,
    pub stream: String,
    pub ok: bool,
    pub needs_reauth: bool,
    /// Records received (duplicates and re-reads included).
    pub records: u64,
    /// Records inserted or changed in the store.
    pub changed: u64,
    pub pages: u64,
    pub rate_limit_waits: u64,
    pub error: Option<String>,
    pub drift: Vec<DriftFinding>,
}

struct Prepared {
    /// The store object (the stream's, or `refunds` for refunds read inside Shopify orders).
    object: &'static str,
    /// The canonical kind (`canonical_records.kind`).
    kind: &'static str,
    id: String,
    updated: Option<String>,
    state: &'static str,
    merged_into: Option<String>,
    tombstone: bool,
    payload: String,
    /// The payload's content hash, computed while preparing (outside the write lock).
    hash: String,
    mapped: Option<String>,
}

/// Normalises a provider time to RFC 3339 UTC with milliseconds: accepts
/// RFC 3339 with any offset, Xero's `/Date(ms+0000)/` and epoch milliseconds.
pub fn normalize_time(text: &str) -> Option<String> {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        let digits: String = inner.chars().enumerate().take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-')).map(|(_, c)| c).collect();
        return digits.parse::<i64>().ok().and_then(chrono::DateTime::from_timestamp_millis).map(timestamp::format);
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(timestamp::format(d.with_timezone(&chrono::Utc)));
    }
    if let Ok(ms) = t.parse::<i64>() {
        return chrono::DateTime::from_timestamp_millis(ms).map(timestamp::format);
    }
    None
}

fn state_of(rule: &StateRule, rec: &Value) -> (&'static str, Option<String>) {
    let is_in = |rule: Option<(&str, &[&str])>| rule.is_some_and(|(path, values)| text_at(rec, path).is_some_and(|v| values.iter().any(|x| x.eq_ignore_ascii_case(&v))));
    if is_in(rule.deleted_values) {
        return ("deleted", None);
    }
    if let Some(merged) = rule.merged_into.and_then(|p| text_at(rec, p)).filter(|m| !m.is_empty() && !m.starts_with("00000000-")) {
        return ("merged", Some(merged));
    }
    let archived = rule.archived_flag.is_some_and(|p| lookup(rec, p).and_then(Value::as_bool) == Some(true))
        || rule.active_flag.is_some_and(|p| lookup(rec, p).and_then(Value::as_bool) == Some(false))
        || is_in(rule.archived_values);
    (if archived { "archived" } else { "active" }, None)
}

/// Maps a page's records for storing: ids, update times, lifecycle states,
/// payload text and canonical JSON. Pure CPU work on an owned page, so the
/// engine runs it on a blocking thread while it commits another page.
fn prepare(connection_id: i64, provider: Provider, stream: &'static StreamSpec, records: Records<'_>, sweep: Option<Sweep>) -> (Vec<Prepared>, Option<String>, DriftTally) {
    let mut drift = DriftTally::default();
    let (list, mut raw_list) = match records {
        Records::Parsed(list) => (list, None),
        Records::Raw(raw) => (&[][..], Some(raw.into_iter())),
    };
    let mut out = Vec::with_capacity(list.len() + raw_list.as_ref().map_or(0, ExactSizeIterator::len));
    let mut newest: Option<String> = None;
    let mut list = list.iter();
    loop {
        let parsed: Value;
        // A raw record is parsed here, once, for mapping; its payload is its own text.
        let (rec, raw): (&Value, Option<Box<RawValue>>) = match raw_list.as_mut() {
            Some(raws) => match raws.next() {
                Some(raw) => {
                    parsed = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
                    (&parsed, Some(raw))
                }
                None => break,
            },
            None => match list.next() {
                Some(rec) => (rec, None),
                None => break,
            },
        };
        let Some(id) = text_at(rec, stream.id_at) else {
            drift.note(DriftKind::Vanished, "id", &format!("{} is missing, so the record cannot be stored", stream.id_at), "(no id)");
            continue;
        };
        let updated = text_at(rec, stream.updated_at).and_then(|u| normalize_time(&u));
        if let Some(u) = &updated {
            if newest.as_ref().is_none_or(|n| u > n) {
                newest = Some(u.clone());
            }
        }
        let (state, merged_into) = state_of(&stream.state, rec);
        let tombstone = sweep == Some(Sweep::ChangeDataCapture) && state == "deleted";
        // The drift report comes from the flat map; the store keeps the canonical model built from it (crate::canonical).
        let source = concord_core::model::Source { connection_id, provider: Some(provider), object: stream.name.into(), external_id: id.clone(), last_modified: updated.clone() };
        let mapped = (!tombstone).then(|| crate::canonical::stored_json(provider, stream, source, rec, map_record(stream, rec, &id, &mut drift)));
        if !tombstone {
            for child in crate::canonical::children(provider, stream, connection_id, rec, &id, updated.as_deref()) {
                out.push(Prepared { object: child.object, kind: child.kind, id: child.id, updated: child.updated, state: "active", merged_into: None, tombstone: false, hash: raw_record::content_hash(&child.payload), payload: child.payload, mapped: Some(child.mapped) });
            }
        }
        // serde_json::to_string writes straight into a buffer (same text as Display, without the formatter).
        let payload = match raw {
            Some(raw) => String::from(Box::<str>::from(raw)),
            None => serde_json::to_string(rec).unwrap_or_default(),
        };
        out.push(Prepared { object: stream.name, kind: stream.kind.as_str(), id, updated, state, merged_into, tombstone, hash: raw_record::content_hash(&payload), payload, mapped });
    }
    (out, newest, drift)
}

/// A page's records: parsed in its body, or each its own text ([`crate::requester::Page::records`]).
enum Records<'a> {
    Parsed(&'a [Value]),
    Raw(Vec<Box<RawValue>>),
}


/// [`prepare`] over the records at `records_at` of an owned page; gives the
/// page back when the caller still reads from it (`keep`), else frees it here
/// (on the preparing thread: freeing a page's tree of values costs about as
/// much as building it).
fn prepare_page(connection_id: i64, provider: Provider, stream: &'static StreamSpec, page: Page, records_at: &'static str, sweep: Option<Sweep>, keep: bool) -> (Option<Value>, Vec<Prepared>, Option<String>, DriftTally) {
    let Page { body, records } = page;
    let (page, newest, drift) = match (records, lookup(&body, records_at)) {
        (Some(raw), _) => prepare(connection_id, provider, stream, Records::Raw(raw), sweep),
        (None, Some(Value::Array(a))) => prepare(connection_id, provider, stream, Records::Parsed(a), sweep),
        _ => (Vec::new(), None, DriftTally::default()),
    };
    (keep.then_some(body), page, newest, drift)
}

/// [`prepare_page`] on a blocking thread.
async fn prepare_owned(connection_id: i64, provider: Provider, stream: &'static StreamSpec, page: Page, records_at: &'static str, sweep: Option<Sweep>, keep: bool) -> (Option<Value>, Vec<Prepared>, Option<String>, DriftTally) {
    match tokio::task::spawn_blocking(move || prepare_page(connection_id, provider, stream, page, records_at, sweep, keep)).await {
        Ok(done) => done,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

struct Conn<'a> {
    store: &'a Mutex<Store>,
    clock: &'a dyn Clock,
    target: &'a Target,
    spec: &'static ProviderSpec,
    fetcher: Arc<Fetcher>,
    options: &'a Options,
    progress: &'a ProgressSink<'a>,
}

/// What fetching a page needs, owned: the engine fetches, completes and
/// prepares the next page as a task of its own while it commits the page
/// before it, so the two overlap.
struct Fetcher {
    requester: Requester,
    spec: &'static ProviderSpec,
    tenant: Tenant,
    connection_id: i64,
    provider: Provider,
}

/// A page's records ready to commit.
struct Ready {
    page: Vec<Prepared>,
    drift: DriftTally,
}

/// What the reading task hands the committing loop, in page order.
enum Produced {
    /// A page: its calls (the page's, then its follow-ups), the bookmark it
    /// moves to, what the provider says is left, the provider's clock, and its
    /// records being prepared on a blocking thread.
    Page { calls: Vec<Call>, bookmark: Option<String>, remaining: Option<u64>, provider_now: Option<String>, ready: tokio::task::JoinHandle<Ready> },
    /// A failed call (with the calls before it on the same page); `last` when
    /// the traversal stops there, else it restarts from the bookmark (an
    /// expired cursor).
    Failed { calls: Vec<Call>, error: SyncError, last: bool },
}

/// Pages read ahead of the commits at most.
const READ_AHEAD: usize = 2;

impl Fetcher {
    /// Reads a stream's pages from `pos` on, ahead of the commits: each page is
    /// fetched, completed, scanned for its newest update time (which is where
    /// the next page starts) and handed over with its records being prepared,
    /// while the next is fetched. Stops at the provider's last page, at an
    /// error it cannot restart from, or when the committing side goes away.
    async fn read(self: Arc<Self>, stream: &'static StreamSpec, mut pos: Position, n: usize, out: tokio::sync::mpsc::Sender<Produced>) {
        let mut restarts = 0;
        loop {
            let mut calls = Vec::new();
            let fetched = self.fetch(stream, &pos, n, &mut calls).await;
            let (page, signal, remaining, provider_now) = match fetched {
                Ok(f) => f,
                Err(error) => {
                    let restart = matches!(error, SyncError::CursorExpired { .. }) && restarts < 10;
                    if out.send(Produced::Failed { calls, error, last: !restart }).await.is_err() || !restart {
                        return;
                    }
                    // From the bookmark of the last page handed over (the committing side stores it first).
                    restarts += 1;
                    pos = Position { since: pos.since.clone(), ..Default::default() };
                    continue;
                }
            };
            let newest = page_times(stream, &page).into_iter().flatten().filter_map(|t| normalize_time(&t)).max();
            let bookmark = match (&newest, &pos.since) {
                (Some(nw), Some(s)) if nw <= s => None,
                (Some(nw), _) => Some(nw.clone()),
                (None, _) => None,
            };
            // The next position depends only on this page: re-based on its newest
            // time when that moved, else the next page under the same bound.
            let next = match signal {
                Signal::Done => None,
                Signal::More(cursor) => Some(match &bookmark {
                    Some(b) => Position { since: Some(b.clone()), page: 0, cursor: None },
                    None => Position { since: pos.since.clone(), page: pos.page + 1, cursor },
                }),
            };
            let (connection_id, provider) = (self.connection_id, self.provider);
            let ready = tokio::task::spawn_blocking(move || {
                let (_, page, _, drift) = prepare_page(connection_id, provider, stream, page, stream.records_at, None, false);
                Ready { page, drift }
            });
            if out.send(Produced::Page { calls, bookmark, remaining, provider_now, ready }).await.is_err() {
                return;
            }
            match next {
                Some(p) => pos = p,
                None => return,
            }
        }
    }

    /// Fetches the page at `pos` and reads the rest of whatever it cut short;
    /// returns it with the provider's signal, what is left and its clock.
    async fn fetch(&self, stream: &'static StreamSpec, pos: &Position, n: usize, calls: &mut Vec<Call>) -> Result<(Page, Signal, Option<u64>, Option<String>), SyncError> {
        // Records are kept as their own text (parsed once each, stored as sent)
        // unless a follow-up query may have to complete them in the body.
        let split = (self.spec.follow_up.is_none() && !stream.records_at.contains('[')).then_some(stream.records_at);
        let req = (self.spec.request)(&self.tenant, stream, pos, n)?;
        let (result, call) = self.requester.fetch_page(&req, split).await;
        calls.push(call);
        let Page { mut body, records } = result?;
        let provider_now = self.spec.clock_at.and_then(|p| text_at(&body, p)).and_then(|s| normalize_time(&s));
        let count = match lookup(&body, stream.records_at) {
            Some(Value::Array(a)) => a.len(),
            _ => 0,
        };
        let signal = (self.spec.signal)(stream, &body, pos, n, count);
        self.complete(stream, &mut body, calls).await?;
        let remaining = self.spec.total_at.and_then(|p| lookup(&body, p)).and_then(Value::as_u64).map(|total| total.saturating_sub(count as u64));
        Ok((Page { body, records }, signal, remaining, provider_now))
    }

    /// Reads the rest of every nested list a page served only in part (the
    /// provider's [`crate::spec::FollowUp`]) into its record, so a record is
    /// stored whole or not at all; each call is added to `calls`.
    async fn complete(&self, stream: &StreamSpec, body: &mut Value, calls: &mut Vec<Call>) -> Result<(), SyncError> {
        let Some(follow) = self.spec.follow_up else { return Ok(()) };
        let pointer = format!("/{}", stream.records_at.replace('.', "/"));
        let Some(Value::Array(records)) = body.pointer_mut(&pointer) else { return Ok(()) };
        for record in records.iter_mut() {
            // Each answer must advance the list (splice refuses one that does not); the cap only guards against a provider looping.
            for _ in 0..1000 {
                let Some(req) = (follow.request)(&self.tenant, stream, record) else { break };
                let (result, call) = self.requester.fetch(&req).await;
                calls.push(call);
                let answer = result?;
                (follow.splice)(record, &answer).map_err(|message| SyncError::Rejected { provider: self.spec.provider.display_name(), status: 200, what: req.path.clone(), message })?;
            }
        }
        Ok(())
    }
}

/// The update time of each record of a page (as text), read without mapping:
/// from the record's own text when the page kept it, else from the parsed body.
fn page_times(stream: &StreamSpec, page: &Page) -> Vec<Option<String>> {
    match (&page.records, lookup(&page.body, stream.records_at)) {
        (Some(raw), _) => raw.iter().map(|r| crate::spec::raw_text_at(r.get(), stream.updated_at)).collect(),
        (None, Some(Value::Array(list))) => list.iter().map(|r| text_at(r, stream.updated_at)).collect(),
        _ => Vec::new(),
    }
}

/// The reading task of one pass; dropping it (a cancelled or failed sync) stops it.
struct Reader(tokio::task::JoinHandle<()>);

impl Drop for Reader {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Default)]
struct Tally {
    records: u64,
    changed: u64,
    pages: u64,
    waits: u64,
    wait_ms: u64,
    drift: DriftTally,
    started: Option<Instant>,
}

impl Conn<'_> {
    fn now(&self) -> String {
        timestamp::format(self.clock.now())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn page_size(&self, stream: &StreamSpec) -> usize {
        self.options.page_size.unwrap_or(self.spec.page_size).min(stream.max_page).max(1)
    }

    fn emit(&self, stream: &StreamSpec, phase: Phase, t: &Tally, remaining: Option<u64>, error: Option<String>) {
        let elapsed = t.started.map(|s| s.elapsed().as_secs_f64()).unwrap_or(0.0);
        let eta = remaining.filter(|_| t.records > 0 && elapsed > 0.0).map(|r| r as f64 / (t.records as f64 / elapsed));
        (self.progress)(Progress {
            connection: self.target.name.clone(),
            provider: self.target.provider,
            stream: stream.name.to_string(),
            phase,
            records: t.records,
            pages: t.pages,
            rate_limit_waits: t.waits,
            rate_limit_wait_ms: t.wait_ms,
            remaining_estimate: remaining,
            eta_seconds: eta,
            error,
        });
    }

    /// Stores a page, its bookmark and its audit row in one transaction; returns how many records changed.
    fn commit(&self, stream: &StreamSpec, page: &[Prepared], new_bookmark: Option<&str>, calls: &[Call]) -> Result<u64, SyncError> {
        let now = self.now();
        let cid = self.target.connection_id;
        let mut store = self.lock();
        let changed = store.transaction(|tx| {
            let mut changed = 0;
            for r in page {
                let raw = RawRecord {
                    connection_id: cid,
                    object: r.object,
                    external_id: &r.id,
                    payload: &r.payload,
                    source_updated_at: r.updated.as_deref(),
                    state: r.state,
                    merged_into: r.merged_into.as_deref(),
                };
                let outcome = if r.tombstone { raw_record::mark_deleted(tx, &raw, &now)? } else { raw_record::upsert_newer_hashed(tx, &raw, &r.hash, &now)? };
                if outcome != Upsert::Unchanged {
                    // Refunds read inside an order are stored, not counted as the stream's records.
                    changed += u64::from(r.object == stream.name);
                    if let Some(m) = &r.mapped {
                        let key = (cid, r.object, r.id.as_str());
                        if outcome == Upsert::Inserted {
                            // A raw row new in this transaction has no mapping yet (the mapping's foreign key cascades).
                            canonical_record::insert_mapped(tx, key, r.kind, m, r.updated.as_deref(), &now)?;
                        } else {
                            canonical_record::upsert_mapped(tx, key, r.kind, m, r.updated.as_deref(), &now)?;
                        }
                    }
                }
            }
            if let Some(b) = new_bookmark {
                bookmark::put(tx, cid, stream.name, b, &now)?;
            }
            for c in calls {
                let detail = c.detail(stream.name);
                audit::append(tx, &audit::NewEntry { actor: "sync", action: "api.call", subject: &self.target.name, detail: &detail }, &now)?;
            }
            Ok(changed)
        })?;
        Ok(changed)
    }

    fn audit_failed(&self, stream: &StreamSpec, call: &Call, error: &SyncError) {
        self.audit_calls(stream, std::slice::from_ref(call), error);
    }

    /// Audits `calls` of a page that failed: the last one with `error`.
    fn audit_calls(&self, stream: &StreamSpec, calls: &[Call], error: &SyncError) {
        let now = self.now();
        let mut store = self.lock();
        let _ = store.transaction(|tx| {
            for (i, call) in calls.iter().enumerate() {
                let mut detail = call.detail(stream.name);
                if i + 1 == calls.len() {
                    detail["error"] = Value::String(error.to_string());
                }
                audit::append(tx, &audit::NewEntry { actor: "sync", action: "api.call", subject: &self.target.name, detail: &detail }, &now)?;
            }
            Ok(())
        });
    }

    fn count_call(&self, t: &mut Tally, call: &Call) {
        t.waits += u64::from(call.throttled) + u64::from(call.waited_ms > 0);
        t.wait_ms += call.waited_ms;
    }

    fn bookmark(&self, stream: &StreamSpec) -> Result<Option<String>, SyncError> {
        Ok(bookmark::get(self.lock().conn(), self.target.connection_id, stream.name)?)
    }

    /// One incremental pass from the bookmark; returns the provider's clock if it reported one.
    ///
    /// A task of its own reads the pages ([`Fetcher::read`]) up to
    /// [`READ_AHEAD`] pages ahead, each page's records prepared on a blocking
    /// thread; this loop commits them in page order, each with its bookmark
    /// and its calls' audit rows, so a crash never leaves a bookmark ahead of
    /// the records it covers.
    async fn incremental(&self, stream: &'static StreamSpec, t: &mut Tally) -> Result<Option<String>, SyncError> {
        let n = self.page_size(stream);
        let start = Position { since: self.bookmark(stream)?, ..Default::default() };
        let (tx, mut rx) = tokio::sync::mpsc::channel(READ_AHEAD);
        let mut reader = Reader(tokio::spawn(self.fetcher.clone().read(stream, start, n, tx)));
        let mut provider_now = None;
        while let Some(item) = rx.recv().await {
            let (calls, bookmark, remaining, ready) = match item {
                Produced::Failed { calls, error, last } => {
                    for c in &calls {
                        self.count_call(t, c);
                    }
                    self.audit_calls(stream, &calls, &error);
                    if last {
                        return Err(error);
                    }
                    continue;
                }
                Produced::Page { calls, bookmark, remaining, provider_now: now, ready } => {
                    provider_now = now.or(provider_now);
                    (calls, bookmark, remaining, ready)
                }
            };
            for c in &calls {
                self.count_call(t, c);
            }
            let ready = match ready.await {
                Ok(r) => r,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => return Err(SyncError::Cancelled),
            };
            t.drift.merge(ready.drift);
            let changed = match self.commit(stream, &ready.page, bookmark.as_deref(), &calls) {
                Ok(c) => c,
                Err(e) => {
                    // Pages already read are not stored; their calls are audited with the reason.
                    rx.close();
                    while let Some(item) = rx.recv().await {
                        let (Produced::Page { calls, .. } | Produced::Failed { calls, .. }) = item;
                        self.audit_calls(stream, &calls, &e);
                    }
                    return Err(e);
                }
            };
            t.changed += changed;
            t.records += ready.page.iter().filter(|r| r.object == stream.name).count() as u64;
            t.pages += 1;
            self.emit(stream, Phase::Page, t, remaining, None);
        }
        // The reader hung up: after its last page, or because it panicked (which must not pass for the end).
        match (&mut reader.0).await {
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            _ => Ok(provider_now),
        }
    }

    /// The stream's sweep for what the incremental query leaves out.
    async fn sweep(&self, stream: &'static StreamSpec, kind: Sweep, since: Option<String>, t: &mut Tally) -> Result<(), SyncError> {
        let Some(request) = self.spec.sweep_request else { return Ok(()) };
        let n = self.page_size(stream);
        let mut pos = Position { since, ..Default::default() };
        let start = pos.clone();
        let mut restarts = 0;
        loop {
            let req = request(&self.fetcher.tenant, stream, &pos, n)?;
            let (result, call) = self.fetcher.requester.fetch(&req).await;
            self.count_call(t, &call);
            let body = match result {
                Ok(b) => b,
                Err(e @ SyncError::CursorExpired { .. }) if restarts < 10 => {
                    self.audit_failed(stream, &call, &e);
                    restarts += 1;
                    pos = start.clone();
                    continue;
                }
                Err(e) => {
                    self.audit_failed(stream, &call, &e);
                    return Err(e);
                }
            };
            let count = match lookup(&body, stream.sweep_records_at) {
                Some(Value::Array(a)) => a.len(),
                _ => 0,
            };
            let (body, page, newest, drift) = prepare_owned(self.target.connection_id, self.target.provider, stream, Page { body, records: None }, stream.sweep_records_at, Some(kind), true).await;
            let body = body.unwrap_or(Value::Null);
            t.drift.merge(drift);
            t.changed += self.commit(stream, &page, None, std::slice::from_ref(&call))?;
            t.records += page.iter().filter(|r| r.object == stream.name).count() as u64;
            t.pages += 1;
            self.emit(stream, Phase::Page, t, None, None);
            let next = match kind {
                Sweep::Archived => match (self.spec.signal)(stream, &body, &pos, n, count) {
                    Signal::Done => None,
                    Signal::More(cursor) => Some(Position { since: None, page: pos.page + 1, cursor }),
                },
                // CDC answers at most CDC_MAX objects, oldest first: a full answer means more may follow.
                Sweep::ChangeDataCapture => match newest {
                    Some(nw) if count >= quickbooks::CDC_MAX && pos.since.as_ref().is_none_or(|s| &nw > s) => {
                        Some(Position { since: Some(nw), ..Default::default() })
                    }
                    _ => None,
                },
            };
            match next {
                Some(p) => pos = p,
                None => return Ok(()),
            }
        }
    }

    async fn run_stream(&self, stream: &'static StreamSpec) -> StreamReport {
        let mut t = Tally { started: Some(Instant::now()), ..Default::default() };
        let run_id = {
            let now = self.now();
            sync_run::start(self.lock().conn(), self.target.connection_id, stream.name, &now)
        };
        self.emit(stream, Phase::Started, &t, None, None);
        let result = self.run_rounds(stream, &mut t).await;
        let drift = t.drift.report(stream.name);
        let drift_json = serde_json::to_string(&drift).unwrap_or_else(|_| "[]".into());
        let (status, error, reauth) = match &result {
            Ok(()) => ("ok", None, false),
            Err(SyncError::NeedsReauth(m)) => ("needs_reauth", Some(m.clone()), true),
            Err(e) => ("failed", Some(e.to_string()), false),
        };
        if let Ok(id) = run_id {
            let now = self.now();
            let _ = sync_run::finish(self.lock().conn(), id, status, t.changed as i64, t.pages as i64, error.as_deref(), &drift_json, &now);
        }
        let phase = if result.is_ok() { Phase::Finished } else { Phase::Failed };
        self.emit(stream, phase, &t, Some(0), error.clone());
        StreamReport {
            connection: self.target.name.clone(),
            provider: self.target.provider,
            stream: stream.name.to_string(),
            ok: result.is_ok(),
            needs_reauth: reauth,
            records: t.records,
            changed: t.changed,
            pages: t.pages,
            rate_limit_waits: t.waits,
            error,
            drift,
        }
    }

    async fn run_rounds(&self, stream: &'static StreamSpec, t: &mut Tally) -> Result<(), SyncError> {
        let start_bookmark = self.bookmark(stream)?;
        for _ in 0..self.options.max_rounds.max(1) {
            let before = t.changed;
            let provider_now = self.incremental(stream, t).await?;
            match stream.sweep {
                Some(Sweep::Archived) => self.sweep(stream, Sweep::Archived, None, t).await?,
                Some(Sweep::ChangeDataCapture) => {
                    if let Some(now) = provider_now.as_deref().and_then(|n| chrono::DateTime::parse_from_rfc3339(n).ok()) {
                        // CDC reaches 30 days back; older deletions cannot be learned from the provider at all.
                        let floor = timestamp::format((now - chrono::Duration::days(29)).with_timezone(&chrono::Utc));
                        let since = match &start_bookmark {
                            Some(b) if *b > floor => b.clone(),
                            _ => floor,
                        };
                        self.sweep(stream, Sweep::ChangeDataCapture, Some(since), t).await?;
                    }
                }
                None => {}
            }
            if t.changed == before {
                break;
            }
        }
        Ok(())
    }
}

/// While a sync runs, the store's checkpoints run on a thread of their own
/// ([`Store::begin_background_checkpoints`]); they move back when the sync
/// ends, however it ends.
struct OffThreadCheckpoints<'a>(&'a Mutex<Store>);

impl<'a> OffThreadCheckpoints<'a> {
    fn begin(store: &'a Mutex<Store>) -> Self {
        // Without the thread (a second connection could not be opened) SQLite checkpoints as usual.
        let _ = store.lock().unwrap_or_else(|p| p.into_inner()).begin_background_checkpoints();
        OffThreadCheckpoints(store)
    }
}

impl Drop for OffThreadCheckpoints<'_> {
    fn drop(&mut self) {
        let _ = self.0.lock().unwrap_or_else(|p| p.into_inner()).end_background_checkpoints();
    }
}

/// Syncs `targets` into `store`; every stream's outcome is reported, failed or not.
pub async fn sync(store: &Mutex<Store>, clock: Arc<dyn Clock>, targets: &[Target], options: &Options, progress: &ProgressSink<'_>) -> Vec<StreamReport> {
    let _checkpoints = OffThreadCheckpoints::begin(store);
    let client = reqwest::Client::builder().gzip(true).pool_max_idle_per_host(16).build().unwrap_or_default();
    let conns: Vec<Conn<'_>> = targets
        .iter()
        .map(|target| {
            let spec = spec_for(target.provider);
            let limiter = Arc::new(Limiter::new(spec.quota, options.rate_limits, options.time_scale));
            Conn {
                store,
                clock: clock.as_ref(),
                target,
                spec,
                fetcher: Arc::new(Fetcher {
                    requester: Requester::new(client.clone(), spec, &target.base_url, target.credentials.clone(), limiter, options.retry),
                    spec,
                    tenant: Tenant { id: target.tenant_id.clone() },
                    connection_id: target.connection_id,
                    provider: target.provider,
                }),
                options,
                progress,
            }
        })
        .collect();
    let runs = conns.iter().map(|c| async move {
        let streams = c.spec.streams.iter().filter(|s| options.streams.as_ref().is_none_or(|only| only.iter().any(|o| o == s.name)));
        let reports = futures_util::future::join_all(streams.map(|s| c.run_stream(s))).await;
        let now = c.now();
        let store = c.lock();
        if reports.iter().any(|r| r.needs_reauth) {
            let _ = connection::set_status(store.conn(), c.target.connection_id, ConnectionState::NeedsReauth, &now);
        } else if !reports.is_empty() && reports.iter().all(|r| r.ok) {
            let _ = connection::set_last_sync(store.conn(), c.target.connection_id, &now);
        }
        reports
    });
    futures_util::future::join_all(runs).await.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn provider_times_normalise_to_utc_milliseconds() {
        let cases = [
            ("/Date(1551399323399+0000)/", Some("2019-03-01T00:15:23.399Z")),
            ("2024-01-01T10:00:00.000+10:00", Some("2024-01-01T00:00:00.000Z")),
            ("2024-01-01T00:00:00Z", Some("2024-01-01T00:00:00.000Z")),
            ("1704067200000", Some("2024-01-01T00:00:00.000Z")),
            ("yesterday", None),
        ];
        for (text, want) in cases {
            assert_eq!(normalize_time(text).as_deref(), want, "{text} must normalise so that text order is time order");
        }
    }

    #[test]
    fn lifecycle_states_are_read_from_the_declarations() {
        use crate::providers::{hubspot, quickbooks, xero};
        let cases = [
            (&hubspot::STREAMS[0].state, json!({"archived": true}), "archived", None),
            (&xero::STREAMS[0].state, json!({"ContactStatus": "ARCHIVED"}), "archived", None),
            (&xero::STREAMS[0].state, json!({"ContactStatus": "ACTIVE", "MergedToContactID": "abc"}), "merged", Some("abc")),
            (&xero::STREAMS[1].state, json!({"Status": "DELETED"}), "deleted", None),
            (&quickbooks::STREAMS[0].state, json!({"Active": false}), "archived", None),
            (&quickbooks::STREAMS[1].state, json!({"status": "Deleted"}), "deleted", None),
            (&quickbooks::STREAMS[1].state, json!({"TotalAmt": 1}), "active", None),
        ];
        for (rule, rec, want, merged) in cases {
            let (state, into) = state_of(rule, &rec);
            assert_eq!(state, want, "state of {rec} must be recorded, never dropped");
            assert_eq!(into.as_deref(), merged, "merge target of {rec}");
        }
    }
}
