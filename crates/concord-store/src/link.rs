//! The `links` table: which canonical records are the same customer or document.
//!
//! A link carries how it was made (`method`: a stored cross-reference, an
//! e-mail, an ABN, a probabilistic score), the score and the evidence shown to
//! the bookkeeper, and its `state`. Confirmed and rejected links are decisions
//! of the bookkeeper and survive later syncs; automatic ones may be recomputed.

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE links (
    id          INTEGER PRIMARY KEY,
    left_id     INTEGER NOT NULL REFERENCES canonical_records(id) ON DELETE CASCADE,
    right_id    INTEGER NOT NULL REFERENCES canonical_records(id) ON DELETE CASCADE,
    method      TEXT NOT NULL,
    score       TEXT NOT NULL,
    evidence    TEXT NOT NULL CHECK (json_valid(evidence)),
    state       TEXT NOT NULL CHECK (state IN ('auto','suggested','confirmed','rejected','manual')),
    decided_by  TEXT,
    decided_at  TEXT,
    created_at  TEXT NOT NULL,
    CHECK (left_id < right_id),
    UNIQUE (left_id, right_id)
);
CREATE INDEX links_right ON links (right_id);
";
