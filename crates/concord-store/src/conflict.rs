//! The `conflicts` table: a field on which linked records disagree.
//!
//! `entity_key` names the linked customer or document, `field` the canonical
//! field, and `candidates` holds every system's value with its last-modified
//! time. The suggested winner and the reason come from the system-of-record
//! policy; the bookkeeper's choice is a row in `decisions`.

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE conflicts (
    id               INTEGER PRIMARY KEY,
    entity_kind      TEXT NOT NULL CHECK (entity_kind IN ('party','sales_document','payment')),
    entity_key       TEXT NOT NULL,
    field            TEXT NOT NULL,
    candidates       TEXT NOT NULL CHECK (json_valid(candidates)),
    suggested_winner TEXT,
    reason           TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open','decided','pushed','changed_since_decided','resolved')),
    detected_at      TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (entity_key, field)
);
CREATE INDEX conflicts_status ON conflicts (status);
";
