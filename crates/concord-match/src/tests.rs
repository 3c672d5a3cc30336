//! Whole-plan tests: small hand-built businesses, one check per behaviour.
//!
//! Each case builds canonical records as a sync would, runs [`plan`] and
//! checks one outcome (a link, a conflict, a discrepancy), with the reason in
//! the assertion.

use super::*;
use concord_core::model::*;
use concord_core::Provider;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn person(conn: i64, provider: Provider, id: &str, given: &str, family: &str, email: &str, phone: &str) -> Party {
    Party {
        source: Source { last_modified: Some("2026-01-01T00:00:00.000Z".into()), ..Source::new(conn, provider, "contacts", id) },
        given_name: Some(given.into()),
        family_name: Some(family.into()),
        emails: vec![email.into()],
        phones: vec![Phone { label: None, number: phone.into() }],
        addresses: vec![Address { lines: vec!["12 Latrobe Tce".into()], city: Some("Paddington".into()), postcode: Some("4064".into()), ..Default::default() }],
        ..Default::default()
    }
}

fn doc(conn: i64, provider: Provider, kind: DocumentKind, id: &str, customer: &str, total: &str, tax: &str) -> SalesDocument {
    SalesDocument {
        source: Source::new(conn, provider, if kind == DocumentKind::Order { "orders" } else { "invoices" }, id),
        kind,
        number: Some(id.to_string()),
        customer_ref: Some(customer.into()),
        issue_date: Some("2026-03-01".into()),
        lines: vec![DocumentLine { item_code: Some("SKU-1".into()), quantity: dec("1"), unit_amount: dec(total), line_amount: dec(total), ..Default::default() }],
        subtotal: dec(total) - dec(tax),
        tax: dec(tax),
        total: dec(total),
        amount_due: Some(Decimal::ZERO),
        status: DocumentStatus::Paid,
        currency: Some("AUD".into()),
        tax_treatment: TaxTreatment::Inclusive,
        ..Default::default()
    }
}

fn pay(conn: i64, id: &str, invoice: &str, amount: &str) -> Payment {
    Payment {
        source: Source::new(conn, Provider::Xero, "payments", id),
        amount: dec(amount),
        date: Some("2026-03-02".into()),
        allocations: vec![Allocation { document_ref: invoice.into(), amount: dec(amount), ..Default::default() }],
        ..Default::default()
    }
}

fn business() -> Records {
    Records {
        parties: vec![
            person(1, Provider::HubSpot, "h1", "Zoe", "Ng", "zoe.ng@gmail.com", "0412 345 678"),
            person(2, Provider::Shopify, "s1", "Zoe", "Ng", "Zoe.Ng@Gmail.com ", "+61412345678"),
            person(3, Provider::Xero, "x1", "Zoe", "Ng", "zoe.ng@gmail.com", "0412345678"),
        ],
        documents: vec![doc(2, Provider::Shopify, DocumentKind::Order, "1001", "s1", "110.00", "10.00"), doc(3, Provider::Xero, DocumentKind::Invoice, "INV-1", "x1", "110.00", "10.00")],
        payments: vec![pay(3, "p1", "INV-1", "110.00")],
    }
}

fn run(r: &Records, decisions: &[LinkDecision]) -> Plan {
    plan(r, decisions, &Policy::default(), &Config { threads: 1, ..Config::default() })
}

#[test]
fn a_clean_business_links_without_complaint() {
    let p = run(&business(), &[]);
    assert_eq!(p.parties.len(), 1, "three systems' Zoe Ng are one customer");
    assert_eq!(p.parties[0].records.len(), 3, "all three records join: {:?}", p.links);
    assert_eq!(p.sales.len(), 1, "order, invoice and payment are one sale: {:?}", p.links);
    assert!(p.conflicts.is_empty(), "cosmetic differences are not conflicts: {:?}", p.conflicts);
    assert!(p.discrepancies.is_empty(), "nothing is wrong: {:?}", p.discrepancies);
}

#[test]
fn discrepancies_are_classified() {
    type Edit = fn(&mut Records);
    let cases: Vec<(Edit, DiscrepancyKind, &str)> = vec![
        (
            |r| {
                r.documents[1].customer_ref = None;
                r.documents[1].issue_date = Some("2025-01-01".into());
                r.documents[1].lines[0].item_code = Some("OTHER".into());
            },
            DiscrepancyKind::MissingInvoice,
            "an order with no invoice (the books' only invoice is for another sale)",
        ),
        (|r| r.documents[1].total = dec("110.01"), DiscrepancyKind::RoundingDifference, "one cent within the tolerance"),
        (|r| r.documents[1].total = dec("110.50"), DiscrepancyKind::TotalMismatch, "fifty cents beyond the tolerance"),
        (
            |r| {
                r.documents[1].tax_treatment = TaxTreatment::Exclusive;
                r.documents[1].total = dec("121.00");
            },
            DiscrepancyKind::GstTreatmentMismatch,
            "inclusive prices typed as exclusive",
        ),
        (|r| r.documents[1].tax = dec("0"), DiscrepancyKind::GstCalculationMismatch, "same total, different GST"),
        (|r| r.documents[1].currency = Some("NZD".into()), DiscrepancyKind::CurrencyMismatch, "different currencies"),
        (
            |r| {
                r.payments[0].amount = dec("50");
                r.payments[0].allocations[0].amount = dec("50");
                r.documents[1].amount_due = Some(dec("60"));
                r.documents[1].status = DocumentStatus::PartiallyPaid;
            },
            DiscrepancyKind::StatusMismatch,
            "paid in the shop, part paid in the books",
        ),
        (|r| r.payments.push(pay(3, "p2", "INV-1", "110.00")), DiscrepancyKind::DuplicatePayment, "an invoice paid twice"),
        (|r| r.payments[0].allocations.clear(), DiscrepancyKind::PaymentWithoutInvoice, "a payment allocated nowhere"),
        (
            |r| {
                let mut again = r.documents[1].clone();
                again.source.external_id = "INV-2".into();
                again.number = Some("INV-2".into());
                again.reference = Some("Shopify #1001".into());
                r.documents[1].reference = Some("Shopify #1001".into());
                r.documents.push(again);
            },
            DiscrepancyKind::DuplicateInvoice,
            "an order invoiced twice",
        ),
        (
            |r| {
                r.payments.push(Payment {
                    source: Source::new(2, Provider::Shopify, "refunds", "r1"),
                    direction: PaymentDirection::Refunded,
                    amount: dec("20"),
                    allocations: vec![Allocation { document_ref: "1001".into(), amount: dec("20"), ..Default::default() }],
                    ..Default::default()
                })
            },
            DiscrepancyKind::RefundWithoutCreditNote,
            "a shop refund with no credit note",
        ),
    ];
    for (edit, kind, why) in cases {
        let mut r = business();
        edit(&mut r);
        let p = run(&r, &[]);
        let kinds: Vec<DiscrepancyKind> = p.discrepancies.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, vec![kind], "{why}: {:#?}", p.discrepancies);
    }
}

#[test]
fn refunds_net_against_credit_notes() {
    let mut r = business();
    r.payments.push(Payment {
        source: Source::new(2, Provider::Shopify, "refunds", "r1"),
        direction: PaymentDirection::Refunded,
        amount: dec("20"),
        allocations: vec![Allocation { document_ref: "1001".into(), amount: dec("20"), ..Default::default() }],
        ..Default::default()
    });
    let mut cn = doc(3, Provider::Xero, DocumentKind::CreditNote, "CN-1", "x1", "20.00", "1.82");
    cn.credits_ref = Some("INV-1".into());
    r.documents.push(cn);
    let p = run(&r, &[]);
    assert!(p.discrepancies.is_empty(), "a refund matched by an equal credit note is not a discrepancy: {:#?}", p.discrepancies);
}

#[test]
fn conflicts_carry_every_value_and_the_owner() {
    let mut r = business();
    r.parties[2].emails = vec!["accounts@ng.com.au".into()];
    r.parties[0].emails = vec!["zoe.new@gmail.com".into()];
    r.parties[2].given_name = Some("Ng".into());
    r.parties[2].family_name = Some("Zoe".into());
    let p = run(&r, &[]);
    let email = p.conflicts.iter().find(|c| c.field == Field::Email).expect("three different e-mails are a conflict");
    assert_eq!(email.candidates.len(), 3, "every system's value is listed");
    assert_eq!(email.suggested_winner.as_deref(), Some("1/contacts/h1"), "the CRM owns e-mail by default");
    assert!(email.reason.contains("CRM"), "the reason names the owner: {}", email.reason);
    let name = p.conflicts.iter().find(|c| c.field == Field::PersonName).expect("swapped given and family names are a conflict");
    assert!(name.reason.contains("swapped"), "the reason says what is odd: {}", name.reason);
}

#[test]
fn decisions_survive_replanning() {
    let r = business();
    let first = run(&r, &[]);
    let link = first.links.iter().find(|l| l.entity == EntityKind::Party && l.left.starts_with("1/")).unwrap().clone();
    let reject = LinkDecision { left: link.left.to_string(), right: link.right.to_string(), state: LinkState::Rejected };
    let again = run(&r, std::slice::from_ref(&reject));
    let l = again.links.iter().find(|l| l.left == link.left && l.right == link.right).unwrap();
    assert_eq!(l.state, LinkState::Rejected, "a rejected link stays rejected when the plan is recomputed");
    assert!(
        !again.parties.iter().any(|c| c.records.contains(&link.left) && c.records.contains(&link.right)),
        "rejected records must not be joined through a third system either"
    );
    let manual = LinkDecision { left: "1/contacts/h1".into(), right: "9/contacts/zz".into(), state: LinkState::Manual };
    let mut r2 = r.clone();
    r2.parties.push(person(9, Provider::QuickBooks, "zz", "Totally", "Different", "t@d.com", "0299999999"));
    let p = run(&r2, &[manual]);
    assert!(p.parties.iter().any(|c| c.records.iter().any(|k| &**k == "9/contacts/zz")), "a manual link joins records the scorer would not");
}

fn shop_refund(id: &str, order: &str, amount: &str) -> Payment {
    Payment {
        source: Source::new(2, Provider::Shopify, "refunds", id),
        direction: PaymentDirection::Refunded,
        amount: dec(amount),
        date: Some("2026-03-05".into()),
        allocations: vec![Allocation { document_ref: order.into(), document_object: Some("orders".into()), amount: dec(amount) }],
        ..Default::default()
    }
}

#[test]
fn an_invoice_net_of_the_refund_accounts_for_it() {
    // The shop refunded 10 of 110; the books invoiced the 100 kept, with no credit note.
    let mut r = business();
    r.payments.push(shop_refund("r1", "1001", "10.00"));
    r.documents[1].total = dec("100.00");
    r.documents[1].tax = dec("9.09");
    r.documents[1].reference = Some("Shopify #1001".into());
    r.payments[0].amount = dec("100.00");
    r.payments[0].allocations[0].amount = dec("100.00");
    let p = run(&r, &[]);
    assert!(p.discrepancies.is_empty(), "an invoice for the order less its refund agrees with the shop: {:#?}", p.discrepancies);
}

#[test]
fn a_partial_refund_with_its_credit_note_leaves_the_invoice_settled() {
    // Paid 110 in full, 30 refunded in the shop and credited in the books.
    let mut r = business();
    r.payments.push(shop_refund("r1", "1001", "30.00"));
    let mut cn = doc(3, Provider::Xero, DocumentKind::CreditNote, "CN-1", "x1", "30.00", "2.73");
    cn.credits_ref = Some("INV-1".into());
    r.documents.push(cn);
    r.documents[1].status = DocumentStatus::Open;
    r.documents[1].amount_due = None;
    r.payments[0].amount = dec("80.00");
    r.payments[0].allocations[0].amount = dec("80.00");
    let p = run(&r, &[]);
    assert!(p.discrepancies.is_empty(), "80 paid plus a 30 credit settles a 110 invoice, so no status, underpayment or credit complaint: {:#?}", p.discrepancies);
    r.documents.pop();
    let p = run(&r, &[]);
    let kinds: Vec<DiscrepancyKind> = p.discrepancies.iter().map(|d| d.kind).collect();
    assert!(kinds.contains(&DiscrepancyKind::RefundWithoutCreditNote), "without the credit note the refund is unaccounted for in the books: {kinds:?}");
}

#[test]
fn gst_per_line_against_per_document_is_named() {
    // Three exclusive lines of 3.33: per line 0.33 x 3 = 0.99 GST; per document 10% of 9.99 = 1.00.
    let line = || DocumentLine { item_code: Some("SKU-1".into()), quantity: dec("1"), unit_amount: dec("3.33"), line_amount: dec("3.33"), ..Default::default() };
    let mut r = business();
    for (d, tax) in r.documents.iter_mut().zip(["0.99", "1.00"]) {
        d.lines = vec![line(), line(), line()];
        d.tax_treatment = TaxTreatment::Exclusive;
        d.tax = dec(tax);
        d.subtotal = dec("9.99");
        d.total = dec("9.99") + dec(tax);
    }
    r.documents[1].reference = Some("Shopify #1001".into());
    r.payments[0].amount = dec("10.99");
    r.payments[0].allocations[0].amount = dec("10.99");
    let p = run(&r, &[]);
    let kinds: Vec<DiscrepancyKind> = p.discrepancies.iter().map(|d| d.kind).collect();
    assert_eq!(kinds, vec![DiscrepancyKind::GstCalculationMismatch], "a cent explained by GST rounding is named as such, not as a rounding or total difference: {:#?}", p.discrepancies);
    assert!(p.discrepancies[0].summary.contains("per line") && p.discrepancies[0].summary.contains("per document"), "the summary says which way each rounds: {}", p.discrepancies[0].summary);
    assert_eq!(p.discrepancies[0].date.as_deref(), Some("2026-03-01"), "the sale's date is carried for charts by month");
}

#[test]
fn a_same_system_pair_with_other_phone_and_address_is_only_suggested() {
    // Two Xero contacts sharing a name and a family e-mail, with their own phones and addresses.
    let mut r = business();
    let mut other = person(3, Provider::Xero, "x2", "Zoe", "Ng", "zoe.ng@gmail.com", "0498 765 432");
    other.addresses[0].lines = vec!["77 Boundary Street".into()];
    r.parties.push(other);
    let p = run(&r, &[]);
    assert!(!p.discrepancies.iter().any(|d| d.kind == DiscrepancyKind::DuplicateParty), "differing phone and street in one system is not a sure duplicate: {:#?}", p.discrepancies);
    let l = p.links.iter().find(|l| &*l.left == "3/contacts/x1" && &*l.right == "3/contacts/x2").expect("the pair is still proposed for review");
    assert_eq!(l.state, LinkState::Suggested, "the bookkeeper decides: {:?}", l.evidence);
    // A guest-checkout twin (other e-mail, same name and street) is still reported.
    let mut r = business();
    let mut guest = person(2, Provider::Shopify, "s2", "Zoe", "Ng", "zoeng7@outlook.com", "");
    guest.phones.clear();
    r.parties.push(guest);
    let p = run(&r, &[]);
    assert!(p.discrepancies.iter().any(|d| d.kind == DiscrepancyKind::DuplicateParty), "a second shop account at the same address is a duplicate: {:#?}", p.links);
}

#[test]
fn a_household_sharing_contact_details_is_only_suggested() {
    // Tom Ng shares Zoe's e-mail, phone and address in the shop: a family account, not Zoe with a typo.
    let mut r = business();
    r.parties.push(person(2, Provider::Shopify, "s2", "Tom", "Ng", "zoe.ng@gmail.com", "0412 345 678"));
    let p = run(&r, &[]);
    for l in p.links.iter().filter(|l| l.left.ends_with("/s2") || l.right.ends_with("/s2")) {
        assert_ne!(l.state, LinkState::Auto, "two given names on one e-mail and phone are for the bookkeeper to join: {} {:?}", l.left, l.evidence);
    }
    assert!(p.parties.iter().all(|c| !c.records.iter().any(|k| k.ends_with("/s2"))), "Tom joins no customer on his own: {:?}", p.parties);
}

#[test]
fn evidence_names_each_fields_weight() {
    let p = run(&business(), &[]);
    let l = p.links.iter().find(|l| l.entity == EntityKind::Party).expect("Zoe's records link");
    let weights: Vec<crate::fs::Weight> = l.evidence.iter().filter_map(|e| crate::fs::Weight::parse(e)).collect();
    let fields: Vec<crate::fs::Comparison> = weights.iter().map(|w| w.comparison).collect();
    for c in [crate::fs::Comparison::Email, crate::fs::Comparison::GivenName, crate::fs::Comparison::Postcode] {
        assert!(fields.contains(&c), "every compared field carries its weight: {c:?} missing from {:?}", l.evidence);
    }
    assert!(weights.iter().all(|w| w.bits > 0.0), "every field agrees here, so every weight counts for the link: {:?}", l.evidence);
    assert!(l.evidence_text().contains("same email (×"), "the evidence reads as words with the Bayes factor: {}", l.evidence_text());
}
