//! Read models the desktop screens need beyond the per-operation methods: the
//! outcome of a sync or push the bookkeeper may cancel, conflicts in pages (so the
//! Review screen's first screen does not wait for 50,000 of them to cross IPC),
//! and the Reconciliation screen's month-by-month summary of sales that agree,
//! disagree or are missing a side.
//!
//! [`Workspace::reconciliation_months`] reads what the last matching run stored
//! (document links and discrepancies) and the canonical records' dates; it
//! decides nothing new, so it agrees with `concord links` and the discrepancy list.

use crate::error::Result;
use crate::matching::ConflictView;
use crate::push::PushSummary;
use crate::sync::SyncStreamResult;
use crate::workspace::Workspace;
use concord_core::model::{Payment, SalesDocument};
use concord_store::{canonical_record, conflict, discrepancy, record_link};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use ts_rs::TS;

/// What a sync the window started came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncRun {
    /// True when the bookkeeper cancelled it; pages committed before that are kept.
    pub cancelled: bool,
    /// Every stream's outcome (empty when cancelled).
    pub results: Vec<SyncStreamResult>,
}

/// What a push the window started came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PushRun {
    /// True when the bookkeeper cancelled it: writes already sent are kept and
    /// verified, the rest stay in the outbox for the next push.
    pub cancelled: bool,
    /// What the push did (`None` when cancelled).
    pub summary: Option<PushSummary>,
}

/// A slice of the conflicts in the order the Review screen groups them (by
/// entity key, then id), so its first screen arrives without the other 49,000.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConflictPage {
    /// How many conflicts there are in all (in this status).
    pub total: i32,
    /// Those from `offset`, at most `limit`.
    pub conflicts: Vec<ConflictView>,
}

/// The most conflicts one page carries.
pub const MAX_PAGE: u32 = 20_000;

/// One month of the reconciliation chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MonthSummary {
    /// `YYYY-MM`, from the sale's earliest document or payment date.
    pub month: String,
    /// Sales whose records agree in every system.
    pub matched: i32,
    /// Sales with a money or status discrepancy.
    pub mismatched: i32,
    /// Sales missing an invoice, a payment's invoice or a credit note.
    pub missing: i32,
}

/// Discrepancy kinds that mean a side is absent rather than different.
const MISSING_KINDS: &[&str] = &["missing_invoice", "payment_without_invoice", "refund_without_credit_note", "credit_note_without_refund"];

/// Active link states: the ones that join records into one sale.
const ACTIVE: &[&str] = &["auto", "confirmed", "manual"];

/// Finds the representative of `i`, halving paths as it goes.
fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Counts sales per month from their records' dates (`key`, `YYYY-MM-DD`), the active
/// document links between them, and the discrepancy kinds found per sale record key.
/// A sale's month is its earliest dated record's; undated sales are left out.
pub fn summarise_months(dates: &[(String, Option<String>)], links: &[(String, String)], problems: &[(Vec<String>, String)]) -> Vec<MonthSummary> {
    let index: HashMap<&str, usize> = dates.iter().enumerate().map(|(i, (k, _))| (k.as_str(), i)).collect();
    let mut parent: Vec<usize> = (0..dates.len()).collect();
    for (a, b) in links {
        if let (Some(&x), Some(&y)) = (index.get(a.as_str()), index.get(b.as_str())) {
            let (rx, ry) = (find(&mut parent, x), find(&mut parent, y));
            if rx != ry {
                parent[rx.max(ry)] = rx.min(ry);
            }
        }
    }
    let mut missing: HashSet<usize> = HashSet::new();
    let mut mismatched: HashSet<usize> = HashSet::new();
    for (records, kind) in problems {
        for r in records {
            if let Some(&i) = index.get(r.as_str()) {
                let root = find(&mut parent, i);
                if MISSING_KINDS.contains(&kind.as_str()) {
                    missing.insert(root);
                } else {
                    mismatched.insert(root);
                }
            }
        }
    }
    let mut month_of: HashMap<usize, String> = HashMap::new();
    for (i, (_, date)) in dates.iter().enumerate() {
        let Some(month) = date.as_deref().and_then(|d| d.get(..7)) else { continue };
        let root = find(&mut parent, i);
        let entry = month_of.entry(root).or_insert_with(|| month.to_string());
        if month < entry.as_str() {
            *entry = month.to_string();
        }
    }
    let mut months: BTreeMap<String, MonthSummary> = BTreeMap::new();
    for (root, month) in month_of {
        let m = months.entry(month.clone()).or_insert(MonthSummary { month, matched: 0, mismatched: 0, missing: 0 });
        if missing.contains(&root) {
            m.missing += 1;
        } else if mismatched.contains(&root) {
            m.mismatched += 1;
        } else {
            m.matched += 1;
        }
    }
    months.into_values().collect()
}

impl Workspace {
    /// Conflicts (optionally in one status) sorted by entity key and id, from `offset`, at most
    /// `limit` (capped at [`MAX_PAGE`]). Only the page's rows are parsed and converted (as
    /// [`Workspace::conflicts`] converts them; a test holds the two to the same output), so a
    /// page of 400 out of 50,000 reads 400 rows (SQL `LIMIT`/`OFFSET`), not 50,000 JSON parses.
    pub fn conflict_page(&self, status: Option<&str>, offset: u32, limit: u32) -> Result<ConflictPage> {
        let names = self.system_names()?;
        let (rows, total) = conflict::page(self.store().conn(), status, offset, limit.min(MAX_PAGE))?;
        let total = i32::try_from(total).unwrap_or(i32::MAX);
        let conflicts = rows
            .into_iter()
            .map(|r| crate::matching::conflict_view(r, &names))
            .collect::<Result<Vec<_>>>()?;
        let conflicts = {
            let store = self.store();
            let mut labels: HashMap<String, Option<String>> = HashMap::new();
            conflicts
                .into_iter()
                .map(|mut c| {
                    let first = c.values.first().map(|v| v.record.clone()).unwrap_or_default();
                    let label = match labels.get(&c.entity_key) {
                        Some(l) => l.clone(),
                        None => {
                            let l = party_label(store.conn(), &first)?;
                            labels.insert(c.entity_key.clone(), l.clone());
                            l
                        }
                    };
                    c.label = label;
                    Ok(c)
                })
                .collect::<Result<Vec<_>>>()?
        };
        Ok(ConflictPage { total, conflicts })
    }

    /// Sales per month: matched, mismatched and missing, oldest month first.
    pub fn reconciliation_months(&self) -> Result<Vec<MonthSummary>> {
        let store = self.store();
        let conn = store.conn();
        let mut dates = Vec::new();
        for (kind, data) in canonical_record::all(conn)? {
            match kind.as_str() {
                "sales_document" => {
                    if let Ok(d) = serde_json::from_str::<SalesDocument>(&data) {
                        dates.push((d.source.key(), d.issue_date.clone()));
                    }
                }
                "payment" => {
                    if let Ok(p) = serde_json::from_str::<Payment>(&data) {
                        dates.push((p.source.key(), p.date.clone()));
                    }
                }
                _ => {}
            }
        }
        let links: Vec<(String, String)> = record_link::list(conn, None, Some("document"))?
            .into_iter()
            .filter(|l| ACTIVE.contains(&l.state.as_str()))
            .map(|l| (l.left_key, l.right_key))
            .collect();
        let problems: Vec<(Vec<String>, String)> = discrepancy::list(conn)?
            .into_iter()
            .filter(|d| d.entity_key.starts_with("sale:"))
            .map(|d| (serde_json::from_str(&d.records).unwrap_or_default(), d.kind))
            .collect();
        Ok(summarise_months(&dates, &links, &problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::FixedClock;
    use std::sync::Arc;

    /// Two systems' values, as matching stores them.
    const CANDIDATES: &str = r#"[{"record":"1/contacts/1","connectionId":1,"provider":"hubspot","role":"crm","value":"a@example.com","lastModified":"2026-01-01T00:00:00Z"},{"record":"2/contacts/9","connectionId":2,"provider":"xero","role":"accounting","value":"b@example.com","lastModified":null}]"#;

    #[test]
    fn conflict_pages_follow_entity_key_order_and_count_them_all() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(dir.path(), Arc::new(FixedClock::at("2026-11-23T09:30:00Z").unwrap()), "test").unwrap();
        let found: Vec<concord_store::conflict::DetectedConflict> = ["party:3/contacts/c", "party:1/contacts/a", "sale:2/orders/9", "party:2/customers/b", "party:1/contacts/a"]
            .iter()
            .zip(["email", "email", "amounts", "phone", "phone"])
            .map(|(key, field)| concord_store::conflict::DetectedConflict {
                entity_kind: if key.starts_with("sale:") { "sales_document" } else { "party" }.to_string(),
                entity_key: key.to_string(),
                field: field.to_string(),
                candidates: CANDIDATES.to_string(),
                suggested_winner: Some("1/contacts/1".to_string()),
                reason: "test".to_string(),
            })
            .collect();
        concord_store::conflict::record_detected(ws.store().conn(), &found, "2026-11-23T09:30:00.000Z").unwrap();
        let page = ws.conflict_page(None, 1, 2).unwrap();
        assert_eq!(page.total, 5, "the total counts every conflict, not just the page");
        let keys: Vec<&str> = page.conflicts.iter().map(|c| c.entity_key.as_str()).collect();
        assert_eq!(keys, ["party:1/contacts/a", "party:2/customers/b"], "pages are cut from the entity-key order the Review screen groups by");
        assert!(ws.conflict_page(None, 5, 10).unwrap().conflicts.is_empty(), "a page past the end is empty, not an error");
        let mut all = ws.conflicts(None).unwrap();
        all.sort_by(|a, b| a.entity_key.cmp(&b.entity_key).then(a.id.cmp(&b.id)));
        assert_eq!(ws.conflict_page(None, 0, 10).unwrap().conflicts, all, "a page shows conflicts exactly as the conflicts list does");
    }

    #[test]
    fn conflict_pages_name_the_customer_from_its_first_system() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(dir.path(), Arc::new(FixedClock::at("2026-11-23T09:30:00Z").unwrap()), "test").unwrap();
        let now = "2026-11-23T09:30:00.000Z";
        {
            let store = ws.store();
            let conn = store.conn();
            let new = concord_store::connection::NewConnection { name: "CRM", provider: concord_core::Provider::HubSpot, base_url: None, tenant_id: None, tenant_name: None, scopes: "", keychain_account: None };
            let cid = concord_store::connection::insert(conn, &new, now).unwrap();
            assert_eq!(cid, 1, "the first connection is the one the candidates name");
            let payload = r#"{"id":"1"}"#;
            let raw = concord_store::raw_record::RawRecord { connection_id: 1, object: "contacts", external_id: "1", payload, source_updated_at: None, state: "active", merged_into: None };
            concord_store::raw_record::upsert(conn, &raw, now).unwrap();
            let data = r#"{"entity":"party","givenName":"Zoë","familyName":"Ng","emails":[]}"#;
            concord_store::canonical_record::upsert_mapped(conn, (1, "contacts", "1"), "party", data, None, now).unwrap();
            let found = concord_store::conflict::DetectedConflict {
                entity_kind: "party".into(),
                entity_key: "party:1/contacts/1".into(),
                field: "email".into(),
                candidates: CANDIDATES.into(),
                suggested_winner: None,
                reason: "test".into(),
            };
            concord_store::conflict::record_detected(conn, &[found], now).unwrap();
        }
        let page = ws.conflict_page(None, 0, 10).unwrap();
        assert_eq!(page.conflicts[0].label.as_deref(), Some("Zoë Ng"), "the Review heading names the customer, not its record key");
    }

    fn dated(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        list.iter().map(|(k, d)| (k.to_string(), d.map(str::to_string))).collect()
    }

    #[test]
    fn linked_records_count_once_in_their_earliest_month() {
        let dates = dated(&[("2/orders/1", Some("2026-10-30")), ("3/invoices/9", Some("2026-11-02")), ("2/orders/2", Some("2026-11-05"))]);
        let links = vec![("2/orders/1".to_string(), "3/invoices/9".to_string())];
        let months = summarise_months(&dates, &links, &[]);
        assert_eq!(
            months,
            vec![
                MonthSummary { month: "2026-10".into(), matched: 1, mismatched: 0, missing: 0 },
                MonthSummary { month: "2026-11".into(), matched: 1, mismatched: 0, missing: 0 },
            ],
            "an order and its invoice are one sale, dated by the order; the unlinked order is a sale of its own"
        );
    }

    #[test]
    fn missing_outranks_mismatched_and_undated_sales_are_left_out() {
        let dates = dated(&[("2/orders/1", Some("2026-11-01")), ("2/orders/2", Some("2026-11-03")), ("2/orders/3", None)]);
        let problems = vec![
            (vec!["2/orders/1".to_string()], "missing_invoice".to_string()),
            (vec!["2/orders/1".to_string()], "total_mismatch".to_string()),
            (vec!["2/orders/2".to_string()], "gst_treatment_mismatch".to_string()),
        ];
        let months = summarise_months(&dates, &[], &problems);
        assert_eq!(
            months,
            vec![MonthSummary { month: "2026-11".into(), matched: 0, mismatched: 1, missing: 1 }],
            "a sale with no invoice is missing even if it also differs; a sale with no date has no month"
        );
    }
}

/// A party's name for headings: its display name, else company, else given and family
/// names, from the canonical record `connection/object/external id`; `None` when the
/// record is not a synced one (a spreadsheet row) or holds no name.
pub(crate) fn party_label(conn: &rusqlite::Connection, record: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    let mut parts = record.splitn(3, '/');
    let (Some(cid), Some(object), Some(id)) = (parts.next().and_then(|c| c.parse::<i64>().ok()), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let name: Option<String> = conn
        .prepare_cached(
            "SELECT coalesce(nullif(trim(json_extract(data, '$.displayName')), ''), nullif(trim(json_extract(data, '$.companyName')), ''),
                    nullif(trim(coalesce(json_extract(data, '$.givenName'), '') || ' ' || coalesce(json_extract(data, '$.familyName'), '')), ''))
             FROM canonical_records WHERE connection_id = ?1 AND object = ?2 AND external_id = ?3",
        )
        .and_then(|mut st| st.query_row(rusqlite::params![cid, object, id], |r| r.get::<_, Option<String>>(0)).optional())
        .map_err(|e| crate::ApiError::new(crate::ErrorCode::Internal, format!("could not read the name of {record}: {e}")))?
        .flatten();
    Ok(name)
}
