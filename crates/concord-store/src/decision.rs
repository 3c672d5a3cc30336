//! The `decisions` table: the bookkeeper's choice of value for a conflict.
//!
//! A decision records who chose, when, which system won (or a typed value), and
//! the rule it came from when it was applied to many conflicts at once. A later
//! decision on the same conflict supersedes an earlier one; none is deleted, so
//! undo can walk back.

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE decisions (
    id            INTEGER PRIMARY KEY,
    conflict_id   INTEGER NOT NULL REFERENCES conflicts(id) ON DELETE CASCADE,
    winner        TEXT,
    value         TEXT,
    rule          TEXT,
    decided_by    TEXT NOT NULL,
    decided_at    TEXT NOT NULL,
    superseded_by INTEGER REFERENCES decisions(id),
    CHECK (winner IS NOT NULL OR value IS NOT NULL)
);
CREATE INDEX decisions_conflict ON decisions (conflict_id);
";
