//! Document reconciliation: what does not add up between the shop and the books.
//!
//! Each linked sale (an order, its invoices in each set of books, their
//! payments, credit notes and refunds) is checked for: an order with no
//! invoice, a payment or refund with nothing to pay, totals that differ (a
//! few cents within the rounding tolerance is a rounding difference; more is a
//! mismatch, unless GST explains it: inclusive prices typed as exclusive, or
//! GST computed per line against per document), tax that differs under equal
//! totals, different currencies, paid in one system and not the other, an
//! invoice paid twice or over- or under-paid, an order invoiced twice, and
//! refunds against credit notes. Amounts are compared net of credit notes and
//! refunds wherever payment status is concerned. All money is `Decimal`.

use crate::document::{DocFeatures, NodeKind};
use concord_core::model::{DocumentStatus, Payment, SalesDocument, TaxTreatment};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What does not add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyKind {
    /// A shop order with no invoice in a set of books.
    MissingInvoice,
    /// A payment not allocated to any known invoice.
    PaymentWithoutInvoice,
    /// Totals differ by more than the rounding tolerance, unexplained by GST.
    TotalMismatch,
    /// Totals differ by no more than the rounding tolerance.
    RoundingDifference,
    /// One system treats prices as GST-inclusive, the other as exclusive.
    GstTreatmentMismatch,
    /// GST differs: computed per line against per document, or different tax on equal totals.
    GstCalculationMismatch,
    /// The documents are in different currencies.
    CurrencyMismatch,
    /// Paid in one system, not (fully) paid in the other.
    StatusMismatch,
    /// Payments fall short of the invoice, net of credits.
    Underpaid,
    /// Two equal payments on one invoice.
    DuplicatePayment,
    /// Payments exceed the invoice, net of credits.
    Overpaid,
    /// One order invoiced more than once in the same books.
    DuplicateInvoice,
    /// A shop refund with no credit note in the books.
    RefundWithoutCreditNote,
    /// A credit note against an order that was never refunded.
    CreditNoteWithoutRefund,
    /// Refunds and credit notes disagree on the amount.
    CreditMismatch,
    /// The same customer twice in one system.
    DuplicateParty,
    /// A tax number that fails the ABN checksum.
    InvalidTaxNumber,
}

impl DiscrepancyKind {
    /// The stored identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscrepancyKind::MissingInvoice => "missing_invoice",
            DiscrepancyKind::PaymentWithoutInvoice => "payment_without_invoice",
            DiscrepancyKind::TotalMismatch => "total_mismatch",
            DiscrepancyKind::RoundingDifference => "rounding_difference",
            DiscrepancyKind::GstTreatmentMismatch => "gst_treatment_mismatch",
            DiscrepancyKind::GstCalculationMismatch => "gst_calculation_mismatch",
            DiscrepancyKind::CurrencyMismatch => "currency_mismatch",
            DiscrepancyKind::StatusMismatch => "status_mismatch",
            DiscrepancyKind::Underpaid => "underpaid",
            DiscrepancyKind::DuplicatePayment => "duplicate_payment",
            DiscrepancyKind::Overpaid => "overpaid",
            DiscrepancyKind::DuplicateInvoice => "duplicate_invoice",
            DiscrepancyKind::RefundWithoutCreditNote => "refund_without_credit_note",
            DiscrepancyKind::CreditNoteWithoutRefund => "credit_note_without_refund",
            DiscrepancyKind::CreditMismatch => "credit_mismatch",
            DiscrepancyKind::DuplicateParty => "duplicate_party",
            DiscrepancyKind::InvalidTaxNumber => "invalid_tax_number",
        }
    }

    /// How urgent it is.
    pub fn severity(self) -> Severity {
        use DiscrepancyKind::*;
        match self {
            RoundingDifference | Underpaid => Severity::Info,
            GstCalculationMismatch | StatusMismatch | Overpaid | CreditNoteWithoutRefund | CreditMismatch | PaymentWithoutInvoice
            | DuplicateParty | InvalidTaxNumber => Severity::Warning,
            MissingInvoice | TotalMismatch | GstTreatmentMismatch | CurrencyMismatch | DuplicatePayment | DuplicateInvoice
            | RefundWithoutCreditNote => Severity::Error,
        }
    }
}

/// How urgent a discrepancy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// One discrepancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discrepancy {
    pub kind: DiscrepancyKind,
    pub severity: Severity,
    /// The linked sale or customer: `sale:`/`party:` and its smallest record key.
    pub entity_key: String,
    /// Keys of the records involved.
    pub records: Vec<String>,
    /// What is wrong, in a sentence.
    pub summary: String,
    /// The amount at stake (a difference, an unpaid or overpaid amount), if any.
    pub amount: Option<Decimal>,
    /// When the sale happened (`YYYY-MM-DD`: the order's date, else the
    /// invoice's, else the payment's), for charts by month; `None` for customers.
    #[serde(default)]
    pub date: Option<String>,
    /// The sale's currency (upper case), when its documents state one.
    #[serde(default)]
    pub currency: Option<String>,
}

/// Reconciliation settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tolerance {
    pub rounding: Decimal,
}

/// The records of one linked sale, with lookups into the caller's lists.
pub(crate) struct Sale<'a> {
    pub entity_key: String,
    pub members: &'a [u32],
    pub nodes: &'a [DocFeatures<'a>],
    pub documents: &'a [SalesDocument],
    pub payments: &'a [Payment],
    /// Systems that hold invoices at all (the books).
    pub books: &'a BTreeSet<i64>,
    pub names: &'a dyn Fn(i64) -> String,
}

impl Sale<'_> {
    fn doc(&self, i: u32) -> Option<&SalesDocument> {
        self.documents.get(i as usize)
    }
    fn payment(&self, i: u32) -> Option<&Payment> {
        (i as usize).checked_sub(self.documents.len()).and_then(|p| self.payments.get(p))
    }
    fn key(&self, i: u32) -> String {
        match self.doc(i) {
            Some(d) => d.source.key(),
            None => self.payment(i).map(|p| p.source.key()).unwrap_or_default(),
        }
    }
    /// The sale's date (order first, then invoice, credit note, payment) and currency.
    fn date_and_currency(&self) -> (Option<String>, Option<String>) {
        let rank = |i: u32| match self.nodes[i as usize].node {
            NodeKind::Order => 0,
            NodeKind::Invoice => 1,
            NodeKind::CreditNote => 2,
            NodeKind::Payment => 3,
            NodeKind::Refund => 4,
        };
        let mut order: Vec<u32> = self.members.to_vec();
        order.sort_by_key(|&i| (rank(i), i));
        let date_of = |i: u32| match self.doc(i) {
            Some(d) => d.issue_date.as_deref(),
            None => self.payment(i).and_then(|p| p.date.as_deref()),
        };
        let currency_of = |i: u32| match self.doc(i) {
            Some(d) => d.currency.as_deref(),
            None => self.payment(i).and_then(|p| p.currency.as_deref()),
        };
        let date = order.iter().find_map(|&i| date_of(i).and_then(|d| d.get(..10)).filter(|d| crate::document::day_of(Some(d)).is_some())).map(str::to_string);
        let currency = order.iter().find_map(|&i| currency_of(i).map(str::trim).filter(|c| !c.is_empty())).map(str::to_uppercase);
        (date, currency)
    }

    fn of(&self, kind: NodeKind) -> Vec<u32> {
        self.members.iter().copied().filter(|&i| self.nodes[i as usize].node == kind).collect()
    }
    fn label(&self, i: u32) -> String {
        let system = (self.names)(self.nodes[i as usize].system);
        match self.doc(i) {
            Some(d) => {
                let what = match d.kind {
                    concord_core::model::DocumentKind::Order => "order",
                    concord_core::model::DocumentKind::Invoice => "invoice",
                    concord_core::model::DocumentKind::CreditNote => "credit note",
                };
                format!("{system} {what} {}", d.number.as_deref().unwrap_or(&d.source.external_id))
            }
            None => format!("{system} payment {}", self.payment(i).map(|p| p.source.external_id.as_str()).unwrap_or("")),
        }
    }
}

fn live(d: &SalesDocument) -> bool {
    !matches!(d.status, DocumentStatus::Void | DocumentStatus::Draft)
}

/// Payments allocated to document `inv` (by its external id) from the sale's payments.
fn paid_to(sale: &Sale<'_>, inv: u32, payments: &[u32]) -> (Decimal, Vec<(u32, Decimal)>) {
    let d = match sale.doc(inv) {
        Some(d) => d,
        None => return (Decimal::ZERO, Vec::new()),
    };
    let mut each = Vec::new();
    for &p in payments {
        if let Some(pay) = sale.payment(p) {
            if pay.source.connection_id != d.source.connection_id {
                continue;
            }
            let amt: Decimal = pay
                .allocations
                .iter()
                .filter(|a| a.document_ref == d.source.external_id && a.document_object.as_deref().is_none_or(|o| o == d.source.object))
                .map(|a| a.amount)
                .sum();
            if !amt.is_zero() {
                each.push((p, amt));
            }
        }
    }
    (each.iter().map(|(_, a)| *a).sum(), each)
}

fn settled(d: &SalesDocument, paid_and_credited: Option<Decimal>, tol: Decimal) -> bool {
    if matches!(d.status, DocumentStatus::Paid | DocumentStatus::Refunded) {
        return true;
    }
    if d.total > Decimal::ZERO && d.amount_due.is_some_and(|due| due.abs() < tol) {
        return true;
    }
    paid_and_credited.is_some_and(|p| d.total > Decimal::ZERO && p >= d.total - tol)
}

/// Every discrepancy of one linked sale (or of a lone document or payment).
pub(crate) fn sale_discrepancies(sale: &Sale<'_>, tol: Tolerance, out: &mut Vec<crate::reconcile::Discrepancy>) {
    let t = tol.rounding;
    let (date, currency) = sale.date_and_currency();
    let mut push = |kind: DiscrepancyKind, records: Vec<u32>, summary: String, amount: Option<Decimal>| {
        let mut keys: Vec<String> = records.iter().map(|&r| sale.key(r)).collect();
        keys.sort();
        keys.dedup();
        out.push(Discrepancy {
            kind,
            severity: kind.severity(),
            entity_key: sale.entity_key.clone(),
            records: keys,
            summary,
            amount,
            date: date.clone(),
            currency: currency.clone(),
        });
    };
    let orders: Vec<u32> = sale.of(NodeKind::Order).into_iter().filter(|&i| sale.doc(i).is_some_and(live)).collect();
    let invoices: Vec<u32> = sale.of(NodeKind::Invoice).into_iter().filter(|&i| sale.doc(i).is_some_and(live)).collect();
    let credits: Vec<u32> = sale.of(NodeKind::CreditNote).into_iter().filter(|&i| sale.doc(i).is_some_and(live)).collect();
    let payments = sale.of(NodeKind::Payment);
    let refunds = sale.of(NodeKind::Refund);
    let order_systems: BTreeSet<i64> = orders.iter().map(|&o| sale.nodes[o as usize].system).collect();
    // Payments with nothing to pay.
    if orders.is_empty() && invoices.is_empty() {
        for &p in payments.iter().chain(&refunds) {
            let amount = sale.payment(p).map(|x| x.amount);
            push(DiscrepancyKind::PaymentWithoutInvoice, vec![p], format!("{} is not allocated to any known invoice or order", sale.label(p)), amount);
        }
    }
    // Orders with no invoice.
    for &o in &orders {
        let invoiced: BTreeSet<i64> = invoices.iter().map(|&i| sale.nodes[i as usize].system).collect();
        let missing: Vec<String> = sale.books.iter().filter(|s| !invoiced.contains(s)).map(|s| (sale.names)(*s)).collect();
        if !missing.is_empty() {
            let d = sale.doc(o).map(|d| d.total);
            push(DiscrepancyKind::MissingInvoice, vec![o], format!("{} has no invoice in {}", sale.label(o), missing.join(", ")), d);
        }
    }
    // An order invoiced twice in the same books.
    if !orders.is_empty() {
        for s in sale.books {
            let twice: Vec<u32> = invoices.iter().copied().filter(|&i| sale.nodes[i as usize].system == *s).collect();
            if twice.len() > 1 {
                let mut recs = twice.clone();
                recs.extend(&orders);
                push(DiscrepancyKind::DuplicateInvoice, recs, format!("{} is invoiced {} times in {}", sale.label(orders[0]), twice.len(), (sale.names)(*s)), None);
            }
        }
    }
    // Credits: shop-side credit documents count as refunds.
    let shop_credits: Vec<u32> = credits.iter().copied().filter(|&c| order_systems.contains(&sale.nodes[c as usize].system)).collect();
    let refunded: Decimal = refunds.iter().filter_map(|&r| sale.payment(r)).map(|p| p.amount).sum::<Decimal>()
        + shop_credits.iter().filter_map(|&c| sale.doc(c)).map(|d| d.total).sum::<Decimal>();
    let credited_in = |s: i64| -> (Decimal, Vec<u32>) {
        let cs: Vec<u32> = credits.iter().copied().filter(|&c| sale.nodes[c as usize].system == s && !order_systems.contains(&s)).collect();
        (cs.iter().filter_map(|&c| sale.doc(c)).map(|d| d.total).sum(), cs)
    };
    let mut status_flagged: BTreeSet<u32> = BTreeSet::new();
    // Books that invoiced the order net of its refunds (rather than in full with a credit note).
    let mut netted: BTreeSet<i64> = BTreeSet::new();
    // Orders against invoices.
    for &o in &orders {
        let od = match sale.doc(o) {
            Some(d) => d,
            None => continue,
        };
        for &i in &invoices {
            let id = match sale.doc(i) {
                Some(d) => d,
                None => continue,
            };
            let recs = vec![o, i];
            if let (Some(a), Some(b)) = (&od.currency, &id.currency) {
                if !a.eq_ignore_ascii_case(b) {
                    push(DiscrepancyKind::CurrencyMismatch, recs, format!("{} is in {a}, {} in {b}", sale.label(o), sale.label(i)), None);
                    continue;
                }
            }
            let (credited, _) = credited_in(id.source.connection_id);
            if refunded > Decimal::ZERO && credited.is_zero() && (id.total - (od.total - refunded)).abs() <= t && (id.total - od.total).abs() > t {
                // The invoice is the order less what the shop refunded: the refund is accounted for.
                netted.insert(id.source.connection_id);
            } else {
                compare_totals(sale, o, i, od, id, t, &mut push);
            }
            let (paid, _) = paid_to(sale, i, &payments);
            let inv_settled = settled(id, Some(paid + credited), t);
            let ord_settled = settled(od, None, t);
            if ord_settled != inv_settled {
                status_flagged.insert(i);
                let due = id.amount_due.unwrap_or(id.total - paid - credited);
                let summary = if ord_settled {
                    format!("{} is paid in the shop but {} still has {due} due", sale.label(o), sale.label(i))
                } else {
                    format!("{} is unpaid in the shop but {} is paid", sale.label(o), sale.label(i))
                };
                push(DiscrepancyKind::StatusMismatch, recs, summary, Some(due));
            }
        }
    }
    // The same invoice in two sets of books.
    for (n, &a) in invoices.iter().enumerate() {
        for &b in &invoices[n + 1..] {
            let (Some(ad), Some(bd)) = (sale.doc(a), sale.doc(b)) else { continue };
            if ad.source.connection_id != bd.source.connection_id {
                compare_totals(sale, a, b, ad, bd, t, &mut push);
            }
        }
    }
    // Payments against each invoice, net of credit notes.
    for &i in &invoices {
        let Some(id) = sale.doc(i) else { continue };
        let (paid, each) = paid_to(sale, i, &payments);
        let (credited, cs) = credited_in(id.source.connection_id);
        // A credit note may have been refunded in cash, so only the gross
        // total caps what may be paid; credits only lower what is still owed.
        let owed = id.total - credited;
        let mut recs: Vec<u32> = vec![i];
        recs.extend(each.iter().map(|(p, _)| *p));
        recs.extend(&cs);
        if paid > id.total + t {
            let owed = id.total;
            let twice = each.iter().enumerate().any(|(n, (_, a))| each[n + 1..].iter().any(|(_, b)| a == b));
            let kind = if twice && each.len() >= 2 { DiscrepancyKind::DuplicatePayment } else { DiscrepancyKind::Overpaid };
            let what = if kind == DiscrepancyKind::DuplicatePayment { "is paid twice" } else { "is overpaid" };
            push(kind, recs, format!("{} {what}: {paid} received against {owed} owed", sale.label(i)), Some(paid - owed));
        } else if paid > Decimal::ZERO && paid < owed - t && !status_flagged.contains(&i) && !settled(id, None, t) {
            push(DiscrepancyKind::Underpaid, recs, format!("{} is part paid: {paid} of {owed}", sale.label(i)), Some(owed - paid));
        }
    }
    // Refunds against credit notes, per set of books.
    if !orders.is_empty() {
        let mut without: Vec<String> = Vec::new();
        let mut recs: Vec<u32> = refunds.clone();
        recs.extend(&shop_credits);
        recs.extend(&orders);
        for s in sale.books {
            if !invoices.iter().any(|&i| sale.nodes[i as usize].system == *s) || netted.contains(s) {
                continue;
            }
            let (credited, cs) = credited_in(*s);
            if refunded > Decimal::ZERO && credited.is_zero() {
                without.push((sale.names)(*s));
            } else if refunded.is_zero() && credited > Decimal::ZERO {
                let mut r = cs.clone();
                r.extend(&orders);
                push(DiscrepancyKind::CreditNoteWithoutRefund, r, format!("{} credits {credited} but the shop shows no refund", (sale.names)(*s)), Some(credited));
            } else if (refunded - credited).abs() > t {
                let mut r = recs.clone();
                r.extend(&cs);
                push(DiscrepancyKind::CreditMismatch, r, format!("the shop refunded {refunded} but {} credits {credited}", (sale.names)(*s)), Some(refunded - credited));
            }
        }
        if !without.is_empty() {
            push(
                DiscrepancyKind::RefundWithoutCreditNote,
                recs,
                format!("{} refunded {refunded} with no credit note in {}", sale.label(orders[0]), without.join(", ")),
                Some(refunded),
            );
        }
    }
}

fn compare_totals(
    sale: &Sale<'_>,
    a: u32,
    b: u32,
    ad: &SalesDocument,
    bd: &SalesDocument,
    t: Decimal,
    push: &mut impl FnMut(DiscrepancyKind, Vec<u32>, String, Option<Decimal>),
) {
    let diff = bd.total - ad.total;
    let recs = vec![a, b];
    let (la, lb) = (sale.label(a), sale.label(b));
    if diff.is_zero() {
        if let Some(summary) = per_line_against_per_document(ad, bd, &la, &lb) {
            push(DiscrepancyKind::GstCalculationMismatch, recs, summary, Some(bd.tax - ad.tax));
            return;
        }
        if (bd.tax - ad.tax).abs() > t {
            push(DiscrepancyKind::GstCalculationMismatch, recs, format!("{la} and {lb} total the same but GST is {} against {}", ad.tax, bd.tax), Some(bd.tax - ad.tax));
        }
        return;
    }
    let taxed = |x: TaxTreatment| x != TaxTreatment::NoTax;
    if ad.tax_treatment != bd.tax_treatment && taxed(ad.tax_treatment) && taxed(bd.tax_treatment) {
        let word = |x: TaxTreatment| if x == TaxTreatment::Inclusive { "GST-inclusive" } else { "GST-exclusive" };
        push(
            DiscrepancyKind::GstTreatmentMismatch,
            recs,
            format!("{la} is {} ({}) but {lb} is {} ({}): a difference of {diff}", word(ad.tax_treatment), ad.total, word(bd.tax_treatment), bd.total),
            Some(diff),
        );
        return;
    }
    if let Some(summary) = per_line_against_per_document(ad, bd, &la, &lb) {
        if diff.is_zero() || (bd.tax - ad.tax) == diff {
            push(DiscrepancyKind::GstCalculationMismatch, recs, summary, Some(bd.tax - ad.tax));
            return;
        }
    }
    let same_lines = !ad.lines.is_empty()
        && ad.lines.len() == bd.lines.len()
        && ad.lines.iter().zip(&bd.lines).all(|(x, y)| x.line_amount == y.line_amount && x.quantity == y.quantity);
    if same_lines && (bd.tax - ad.tax) == diff {
        push(
            DiscrepancyKind::GstCalculationMismatch,
            recs,
            format!("{la} and {lb} have the same lines but GST of {} against {} (per line against per document)", ad.tax, bd.tax),
            Some(diff),
        );
    } else if diff.abs() <= t {
        push(DiscrepancyKind::RoundingDifference, recs, format!("{la} totals {} and {lb} {}: a rounding difference of {diff}", ad.total, bd.total), Some(diff));
    } else {
        push(DiscrepancyKind::TotalMismatch, recs, format!("{la} totals {} but {lb} totals {}: a difference of {diff}", ad.total, bd.total), Some(diff));
    }
}

/// The GST rate a document implies (tax over the amount before tax), snapped
/// to the Australian and New Zealand rates when it is within rounding of them.
fn implied_rate(d: &SalesDocument) -> Option<Decimal> {
    let base = d.total - d.tax;
    if base <= Decimal::ZERO || d.tax <= Decimal::ZERO {
        return None;
    }
    let rate = d.tax / base;
    [Decimal::new(10, 2), Decimal::new(15, 2)].into_iter().find(|r| (rate - r).abs() <= Decimal::new(5, 3)).or(Some(rate.round_dp(4)))
}

/// GST on a document's lines two ways: each line's tax rounded to the cent and
/// added up, and the tax on the lines' sum rounded once. `None` without lines.
fn gst_two_ways(d: &SalesDocument, rate: Decimal) -> Option<(Decimal, Decimal)> {
    if d.lines.is_empty() {
        return None;
    }
    let share = |amount: Decimal| match d.tax_treatment {
        TaxTreatment::Inclusive => amount * rate / (Decimal::ONE + rate),
        TaxTreatment::Exclusive => amount * rate,
        TaxTreatment::NoTax => Decimal::ZERO,
    };
    let per_line: Decimal = d.lines.iter().map(|l| l.tax_amount.unwrap_or_else(|| share(l.line_amount).round_dp(2))).sum();
    let per_document = share(d.lines.iter().map(|l| l.line_amount).sum()).round_dp(2);
    Some((per_line, per_document))
}

/// When two documents' GST differs only because one rounds per line and the
/// other per document, says so; computed from whichever document has lines.
fn per_line_against_per_document(a: &SalesDocument, b: &SalesDocument, la: &str, lb: &str) -> Option<String> {
    if a.tax == b.tax || a.tax_treatment != b.tax_treatment {
        return None;
    }
    let rate = implied_rate(a).or_else(|| implied_rate(b))?;
    let (per_line, per_document) = gst_two_ways(a, rate).or_else(|| gst_two_ways(b, rate))?;
    if per_line == per_document {
        return None;
    }
    let way = |tax: Decimal| if tax == per_line { Some("per line") } else if tax == per_document { Some("per document") } else { None };
    match (way(a.tax), way(b.tax)) {
        (Some(x), Some(y)) if x != y => Some(format!("{la} rounds GST {x} ({}) but {lb} rounds it {y} ({}): the same lines, {} apart", a.tax, b.tax, (b.tax - a.tax).abs())),
        _ => None,
    }
}
