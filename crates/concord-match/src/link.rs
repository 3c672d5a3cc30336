//! Links: the claim that two records stand for the same customer or sale, with
//! how the claim was reached and how sure it is.
//!
//! A link names its two records by their [`concord_core::model::Source::key`],
//! carries a [`Method`] (the strongest evidence behind it), a score between 0
//! and 1, and the evidence in words the bookkeeper can check ("same ABN; name
//! similarity 0.93; same postcode"). Its [`LinkState`] says whether Concord made
//! it on its own (`auto`), only proposes it (`suggested`), or the bookkeeper
//! decided (`confirmed`, `rejected`, `manual`). Decisions are inputs to the next
//! plan, which is how they survive later syncs.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One piece of evidence, in words: most are fixed phrases, so they cost no allocation.
pub type Evidence = Cow<'static, str>;

/// A record key ([`concord_core::model::Source::key`]), built once per record
/// and shared by every link and cluster that names the record.
pub type Key = std::sync::Arc<str>;

/// Serde for [`Key`] as a plain string (serde's `rc` feature is not enabled workspace-wide).
pub mod key_serde {
    use super::Key;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(k: &Key, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        Ok(Key::from(String::deserialize(d)?))
    }
    /// The same for a list of keys.
    pub mod vec {
        use super::Key;
        use serde::{Deserialize, Deserializer, Serializer};
        pub fn serialize<S: Serializer>(k: &[Key], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(k.iter().map(|k| &**k))
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Key>, D::Error> {
            Ok(Vec::<String>::deserialize(d)?.into_iter().map(Key::from).collect())
        }
    }
}

/// What a link joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// Customers (people and organisations).
    Party,
    /// Orders, invoices, credit notes, and the payments and refunds against them.
    Document,
}

impl EntityKind {
    /// `party` or `document`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Party => "party",
            EntityKind::Document => "document",
        }
    }
}

/// The strongest evidence behind a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// One record stores the other's id (written by an earlier push or by the provider).
    CrossReference,
    /// A contact and the organisation it belongs to, in the same system.
    Association,
    /// The same valid ABN.
    TaxNumber,
    /// The same normalised e-mail address.
    Email,
    /// The same phone number in E.164.
    Phone,
    /// A score over names, addresses and other fields.
    Probabilistic,
    /// A document's reference names the other's number (`Shopify #1001`).
    Reference,
    /// A payment allocated to the document.
    Allocation,
    /// A credit note or refund against the document.
    Credit,
    /// The bookkeeper linked the two records by hand.
    Manual,
}

impl Method {
    /// The stored identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::CrossReference => "cross_reference",
            Method::Association => "association",
            Method::TaxNumber => "tax_number",
            Method::Email => "email",
            Method::Phone => "phone",
            Method::Probabilistic => "probabilistic",
            Method::Reference => "reference",
            Method::Allocation => "allocation",
            Method::Credit => "credit",
            Method::Manual => "manual",
        }
    }

    /// Parses a stored identifier.
    pub fn parse(s: &str) -> Option<Method> {
        ALL_METHODS.iter().copied().find(|m| m.as_str() == s)
    }
}

const ALL_METHODS: [Method; 10] = [
    Method::CrossReference,
    Method::Association,
    Method::TaxNumber,
    Method::Email,
    Method::Phone,
    Method::Probabilistic,
    Method::Reference,
    Method::Allocation,
    Method::Credit,
    Method::Manual,
];

/// Who stands behind a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Concord linked the records: the score reached the auto-link threshold.
    Auto,
    /// Concord proposes the link for review; it is not used until confirmed.
    Suggested,
    /// The bookkeeper confirmed a link Concord made or proposed.
    Confirmed,
    /// The bookkeeper said the records are not the same (or unlinked them).
    Rejected,
    /// The bookkeeper linked records Concord had not linked.
    Manual,
}

impl LinkState {
    /// The stored identifier (matches the store's `links.state` values).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Auto => "auto",
            LinkState::Suggested => "suggested",
            LinkState::Confirmed => "confirmed",
            LinkState::Rejected => "rejected",
            LinkState::Manual => "manual",
        }
    }

    /// Parses a stored identifier.
    pub fn parse(s: &str) -> Option<LinkState> {
        [LinkState::Auto, LinkState::Suggested, LinkState::Confirmed, LinkState::Rejected, LinkState::Manual]
            .into_iter()
            .find(|m| m.as_str() == s)
    }

    /// Whether the link joins its records into one customer or sale.
    pub fn is_active(self) -> bool {
        matches!(self, LinkState::Auto | LinkState::Confirmed | LinkState::Manual)
    }

    /// Whether the bookkeeper made this state (it must survive recomputation).
    pub fn is_decision(self) -> bool {
        matches!(self, LinkState::Confirmed | LinkState::Rejected | LinkState::Manual)
    }
}

/// One link between two records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub entity: EntityKind,
    /// The smaller of the two record keys.
    #[serde(with = "key_serde")]
    pub left: Key,
    /// The larger of the two record keys.
    #[serde(with = "key_serde")]
    pub right: Key,
    pub method: Method,
    /// 0.0 to 1.0.
    pub score: f64,
    /// Each piece of evidence as a short phrase.
    pub evidence: Vec<Evidence>,
    pub state: LinkState,
    /// True when both records are in the same system: a duplicate (or, for
    /// [`Method::Association`], a contact and its organisation).
    pub same_system: bool,
}

impl Link {
    /// The evidence as one line: `same ABN; name similarity 0.93; same postcode`.
    pub fn evidence_text(&self) -> String {
        self.evidence.iter().map(|e| crate::fs::describe(e).0).collect::<Vec<_>>().join("; ")
    }
}

/// Which way a piece of evidence points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceSign {
    /// The records agree here (`same email`, `reference names the order number`).
    For,
    /// The records disagree here (`different phone`, `totals differ by 0.02`).
    Against,
    /// A graded comparison or a note (`name similarity 0.93`, `held back: ...`).
    Neutral,
}

impl EvidenceSign {
    /// `for`, `against` or `neutral`.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceSign::For => "for",
            EvidenceSign::Against => "against",
            EvidenceSign::Neutral => "neutral",
        }
    }

    /// Reads the sign of one of the matcher's evidence phrases. Every phrase
    /// the matcher writes starts with a word that says which way it points.
    pub fn of(evidence: &str) -> EvidenceSign {
        // A model weight points the way its sign says; a weak one (under a bit) is neutral.
        if let Some(w) = crate::fs::Weight::parse(evidence) {
            return if w.bits >= 1.0 {
                EvidenceSign::For
            } else if w.bits <= -1.0 {
                EvidenceSign::Against
            } else {
                EvidenceSign::Neutral
            };
        }
        const FOR: &[&str] = &[
            "same ", "stored cross-reference", "reference names", "payment allocated", "refund of", "credit note against", "linked by the bookkeeper",
            "contact belongs", "both documents", "street similarity",
        ];
        const AGAINST: &[&str] = &["different ", "totals differ", "held back"];
        let e = evidence.trim_start();
        if FOR.iter().any(|p| e.starts_with(p)) {
            EvidenceSign::For
        } else if AGAINST.iter().any(|p| e.starts_with(p)) {
            EvidenceSign::Against
        } else {
            EvidenceSign::Neutral
        }
    }
}

/// A bookkeeper's decision about a pair of records, as the planner receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkDecision {
    pub left: String,
    pub right: String,
    /// `Confirmed`, `Rejected` or `Manual`.
    pub state: LinkState,
}

/// Orders a pair of keys as links store them.
pub fn ordered<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// A graded phrase (`dates 3 days apart`) from a
/// table built once, so the hundreds of thousands of links that share a
/// phrase share its text instead of each allocating it.
pub(crate) fn phrase(kind: Phrase, value: f64) -> Evidence {
    use std::sync::OnceLock;
    static TABLES: [OnceLock<Vec<String>>; 1] = [OnceLock::new()];
    let (slot, size) = match kind {
        Phrase::DaysApart => (0, 367),
    };
    let text = |i: usize| match kind {
        Phrase::DaysApart => format!("dates {i} days apart"),
    };
    let index = value.round();
    if !(0.0..size as f64).contains(&index) {
        return text(index.max(0.0) as usize).into();
    }
    let table = TABLES[slot].get_or_init(|| (0..size).map(text).collect());
    Evidence::Borrowed(table[index as usize].as_str())
}

/// The graded phrases [`phrase`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phrase {
    DaysApart,
}

/// Turns a weight of evidence (log2 odds, before the prior) into a 0..1 score.
pub(crate) fn logistic(weight: f64, offset: f64) -> f64 {
    1.0 / (1.0 + (-(weight - offset)).exp2())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip() {
        for m in ALL_METHODS {
            assert_eq!(Method::parse(m.as_str()), Some(m), "a stored method must parse back");
        }
        for s in [LinkState::Auto, LinkState::Suggested, LinkState::Confirmed, LinkState::Rejected, LinkState::Manual] {
            assert_eq!(LinkState::parse(s.as_str()), Some(s), "a stored state must parse back");
        }
        assert!(!LinkState::Rejected.is_active(), "a rejected link must never join records");
        assert!(LinkState::Confirmed.is_decision(), "a confirmation is the bookkeeper's and must survive syncs");
    }

    #[test]
    fn phrases_read_as_written() {
        assert_eq!(phrase(Phrase::DaysApart, 3.0), "dates 3 days apart", "day gaps are whole days");
        assert_eq!(phrase(Phrase::DaysApart, 900.0), "dates 900 days apart", "gaps beyond the table are still written");
    }

    #[test]
    fn evidence_signs() {
        assert_eq!(EvidenceSign::of("same email"), EvidenceSign::For, "agreement counts for the link");
        assert_eq!(EvidenceSign::of("different phone"), EvidenceSign::Against, "disagreement counts against");
        assert_eq!(EvidenceSign::of("totals differ by 0.02"), EvidenceSign::Against, "a money difference counts against");
        assert_eq!(EvidenceSign::of("name similarity 0.93"), EvidenceSign::Neutral, "a graded score is shown as is");
    }

    #[test]
    fn logistic_is_monotone() {
        assert!(logistic(20.0, 10.0) > 0.99, "strong evidence must score near 1");
        assert!(logistic(0.0, 10.0) < 0.01, "no evidence must score near 0");
        assert_eq!(logistic(10.0, 10.0), 0.5, "evidence equal to the prior is a coin toss");
    }
}
