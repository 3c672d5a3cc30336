//! The `outbox` table: writes to providers, recorded before they are sent.
//!
//! **Invariant:** a write exists here, with its idempotency key, before any
//! request for it leaves the machine; the key is stable across retries and
//! restarts, so a resend after a crash is recognised by the provider (Xero's
//! Idempotency-Key, QuickBooks' requestid) or by a re-read before sending.

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    decision_id     INTEGER REFERENCES decisions(id),
    connection_id   INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    object          TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    field           TEXT NOT NULL,
    old_value       TEXT,
    new_value       TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending','sending','sent','verified','stale','dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    response_id     TEXT,
    next_attempt_at TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX outbox_state ON outbox (state);
";
