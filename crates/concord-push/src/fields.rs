//! Which canonical field can be written where, declared as data, and how a
//! field's value is read from a record and compared.
//!
//! [`MAP`] lists, for each provider object, every canonical conflict field
//! (`personName`, `companyName`, `email`, `phone`, `billingAddress`,
//! `taxNumber`, `currency`) with the provider fields a write sets, or the
//! reason it cannot be written. The plan shows the reason instead of failing
//! silently. [`display`] reads a field from a canonical [`Party`] exactly as
//! matching shows it in a conflict, so the stale check compares like with
//! like; [`same`] compares two values in normalised form (case, spacing and
//! punctuation do not count; phones compare by digits).

use concord_core::model::{AddressKind, Party};
use concord_core::Provider;

/// Whether a field can be written to an object, and as what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writable {
    /// The provider fields a write of this canonical field sets.
    Yes(&'static [&'static str]),
    /// Why it cannot be written.
    No(&'static str),
}

/// One row of the map.
#[derive(Debug, Clone, Copy)]
pub struct FieldMap {
    pub provider: Provider,
    pub object: &'static str,
    pub field: &'static str,
    pub writable: Writable,
}

const fn yes(provider: Provider, object: &'static str, field: &'static str, to: &'static [&'static str]) -> FieldMap {
    FieldMap { provider, object, field, writable: Writable::Yes(to) }
}

const fn no(provider: Provider, object: &'static str, field: &'static str, why: &'static str) -> FieldMap {
    FieldMap { provider, object, field, writable: Writable::No(why) }
}

use Provider::{HubSpot, QuickBooks, Shopify, Xero};

/// Every (provider, object, canonical field) Concord knows how to push, or why not.
pub const MAP: &[FieldMap] = &[
    yes(HubSpot, "contacts", "personName", &["firstname", "lastname"]),
    yes(HubSpot, "contacts", "companyName", &["company"]),
    yes(HubSpot, "contacts", "email", &["email"]),
    yes(HubSpot, "contacts", "phone", &["phone"]),
    yes(HubSpot, "contacts", "billingAddress", &["address", "city", "state", "zip"]),
    no(HubSpot, "contacts", "taxNumber", "HubSpot contacts have no tax-number property; the company record holds the ABN"),
    no(HubSpot, "contacts", "currency", "HubSpot contacts have no currency"),
    no(HubSpot, "companies", "personName", "a HubSpot company has no person's name"),
    yes(HubSpot, "companies", "companyName", &["name"]),
    no(HubSpot, "companies", "email", "HubSpot companies have no e-mail property"),
    yes(HubSpot, "companies", "phone", &["phone"]),
    yes(HubSpot, "companies", "billingAddress", &["address", "city", "state", "zip"]),
    yes(HubSpot, "companies", "taxNumber", &["abn"]),
    no(HubSpot, "companies", "currency", "HubSpot companies have no currency"),
    yes(Shopify, "customers", "personName", &["firstName", "lastName"]),
    yes(Shopify, "customers", "companyName", &["addresses[0].company"]),
    yes(Shopify, "customers", "email", &["email"]),
    yes(Shopify, "customers", "phone", &["phone"]),
    yes(Shopify, "customers", "billingAddress", &["addresses[0].address1", "city", "provinceCode", "zip"]),
    no(Shopify, "customers", "taxNumber", "Shopify customers have no tax number"),
    no(Shopify, "customers", "currency", "a Shopify customer's currency follows the shop's"),
    yes(Shopify, "orders", "email", &["email"]),
    yes(Shopify, "orders", "note", &["note"]),
    yes(Xero, "contacts", "personName", &["FirstName", "LastName"]),
    yes(Xero, "contacts", "companyName", &["Name"]),
    yes(Xero, "contacts", "email", &["EmailAddress"]),
    yes(Xero, "contacts", "phone", &["Phones[DEFAULT].PhoneNumber"]),
    yes(Xero, "contacts", "billingAddress", &["Addresses[POBOX]"]),
    yes(Xero, "contacts", "taxNumber", &["TaxNumber"]),
    no(Xero, "contacts", "currency", "Xero fixes a contact's currency once it has transactions; change it in Xero"),
    yes(QuickBooks, "customers", "personName", &["GivenName", "FamilyName"]),
    yes(QuickBooks, "customers", "companyName", &["CompanyName"]),
    yes(QuickBooks, "customers", "email", &["PrimaryEmailAddr.Address"]),
    yes(QuickBooks, "customers", "phone", &["PrimaryPhone.FreeFormNumber"]),
    yes(QuickBooks, "customers", "billingAddress", &["BillAddr"]),
    yes(QuickBooks, "customers", "taxNumber", &["BusinessNumber"]),
    no(QuickBooks, "customers", "currency", "QuickBooks does not allow changing a customer's currency"),
];

/// What a write of `field` to `provider`'s `object` sets, or why it cannot be written.
pub fn writable(provider: Provider, object: &str, field: &str) -> Writable {
    MAP.iter()
        .find(|m| m.provider == provider && m.object == object && m.field == field)
        .map(|m| m.writable)
        .unwrap_or(Writable::No("Concord does not write this field to this kind of record"))
}

/// A field's value as matching shows it in a conflict (empty when missing).
pub fn display(field: &str, p: &Party) -> String {
    let t = |o: &Option<String>| o.as_deref().unwrap_or("").trim().to_string();
    match field {
        "personName" => {
            let structured = !t(&p.given_name).is_empty() || !t(&p.family_name).is_empty();
            if structured {
                format!("{} {}", t(&p.given_name), t(&p.family_name)).trim().to_string()
            } else {
                t(&p.display_name)
            }
        }
        "companyName" => p.company_name.clone().or_else(|| p.display_name.clone()).unwrap_or_default().trim().to_string(),
        "email" => p.emails.first().cloned().unwrap_or_default().trim().to_string(),
        "phone" => p.phones.first().map(|x| x.number.clone()).unwrap_or_default(),
        "billingAddress" => {
            let filled: Vec<_> = p.addresses.iter().filter(|a| !(a.lines.is_empty() && a.city.is_none() && a.postcode.is_none())).collect();
            let a = filled.iter().find(|a| a.kind == AddressKind::Billing).or(filled.first());
            a.map(|a| {
                let mut parts = a.lines.clone();
                parts.extend(a.city.clone());
                parts.extend(a.region.clone());
                parts.extend(a.postcode.clone());
                parts.into_iter().filter(|s| !s.trim().is_empty()).collect::<Vec<_>>().join(", ")
            })
            .unwrap_or_default()
        }
        "taxNumber" => t(&p.tax_number),
        "currency" => t(&p.currency).to_uppercase(),
        _ => String::new(),
    }
}

/// A value in the form two values are compared in.
pub fn normalise(field: &str, v: &str) -> String {
    match field {
        "phone" | "taxNumber" => v.chars().filter(char::is_ascii_digit).collect(),
        "email" => v.trim().to_lowercase(),
        _ => v
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Whether two values of `field` say the same thing.
pub fn same(field: &str, a: &str, b: &str) -> bool {
    normalise(field, a) == normalise(field, b)
}

/// A person's name split into given and family names (the last word is the family name).
pub fn split_name(v: &str) -> (String, String) {
    let v = v.trim();
    match v.rsplit_once(char::is_whitespace) {
        Some((given, family)) => (given.trim().to_string(), family.trim().to_string()),
        None => (String::new(), v.to_string()),
    }
}

/// An address as written: street, city, region, postcode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressParts {
    pub street: String,
    pub city: String,
    pub region: String,
    pub postcode: String,
}

const REGIONS: &[&str] = &["ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"];

/// Reads `street, city, region, postcode` (as matching shows an address) back into parts.
pub fn split_address(v: &str) -> AddressParts {
    let mut parts: Vec<String> = v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let mut out = AddressParts::default();
    if parts.last().is_some_and(|p| p.chars().all(|c| c.is_ascii_digit())) {
        out.postcode = parts.pop().unwrap_or_default();
    }
    if parts.len() > 1 && parts.last().is_some_and(|p| REGIONS.contains(&p.to_uppercase().as_str())) {
        out.region = parts.pop().unwrap_or_default();
    }
    if parts.len() > 1 {
        out.city = parts.pop().unwrap_or_default();
    }
    out.street = parts.join(", ");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_names_split_back_into_parts() {
        let a = split_address("12 Smith St, Paddington, QLD, 4064");
        assert_eq!((a.street.as_str(), a.city.as_str(), a.region.as_str(), a.postcode.as_str()), ("12 Smith St", "Paddington", "QLD", "4064"), "each part goes to its own field");
        assert_eq!(split_name("Mary Jane Watson"), ("Mary Jane".to_string(), "Watson".to_string()), "the last word is the family name");
        assert!(same("phone", "(07) 3123-4567", "07 3123 4567"), "phones compare by digits");
        assert!(!same("email", "a@x.com", "b@x.com"), "different e-mails differ");
        assert!(matches!(writable(Provider::Xero, "contacts", "currency"), Writable::No(_)), "an unwritable field says why");
    }
}
