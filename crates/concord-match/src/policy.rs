//! The system-of-record policy: which kind of system owns which field.
//!
//! When linked records disagree, Concord suggests the value from the system
//! that owns the field and says why. The policy is data (serialisable, stored
//! in the workspace, editable in the app and the CLI) with defaults from
//! practice: the CRM owns contact intent (name, e-mail, phone), accounting owns
//! invoicing, tax and payment fields (ABN, billing address, amounts, status),
//! and the shop owns orders and purchase history. When the owner has no value
//! the most recently modified value is suggested instead, and the reason says so.

use concord_core::Provider;
use serde::{Deserialize, Serialize};

/// The part a system plays for the business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The CRM (HubSpot).
    Crm,
    /// The shop (Shopify).
    Shop,
    /// The books (Xero, QuickBooks Online).
    Accounting,
    /// An imported spreadsheet.
    Spreadsheet,
}

impl Role {
    /// The role a provider plays; an imported spreadsheet has no provider.
    pub fn of(provider: Option<Provider>) -> Role {
        match provider {
            Some(Provider::HubSpot) => Role::Crm,
            Some(Provider::Shopify) => Role::Shop,
            Some(Provider::Xero) | Some(Provider::QuickBooks) => Role::Accounting,
            None => Role::Spreadsheet,
        }
    }

    /// The stored identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Crm => "crm",
            Role::Shop => "shop",
            Role::Accounting => "accounting",
            Role::Spreadsheet => "spreadsheet",
        }
    }

    /// Parses `crm`, `shop`, `accounting` or `spreadsheet`.
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Crm, Role::Shop, Role::Accounting, Role::Spreadsheet].into_iter().find(|r| r.as_str() == s.trim().to_ascii_lowercase())
    }

    /// How a bookkeeper names it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Crm => "the CRM",
            Role::Shop => "the shop",
            Role::Accounting => "accounting",
            Role::Spreadsheet => "the spreadsheet",
        }
    }
}

/// A field Concord compares across linked records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Field {
    /// A person's given and family names.
    PersonName,
    /// An organisation's name.
    CompanyName,
    Email,
    Phone,
    /// The address invoices go to.
    BillingAddress,
    /// The ABN (or other tax number).
    TaxNumber,
    /// The customer's default currency.
    Currency,
    /// Document totals and tax.
    Amounts,
    /// Paid or not.
    PaymentStatus,
    /// Orders and what was bought.
    Orders,
}

impl Field {
    /// Every field, in the order the UI lists them.
    pub const ALL: [Field; 10] = [
        Field::PersonName,
        Field::CompanyName,
        Field::Email,
        Field::Phone,
        Field::BillingAddress,
        Field::TaxNumber,
        Field::Currency,
        Field::Amounts,
        Field::PaymentStatus,
        Field::Orders,
    ];

    /// The stored identifier (camelCase, as in the canonical model).
    pub fn as_str(self) -> &'static str {
        match self {
            Field::PersonName => "personName",
            Field::CompanyName => "companyName",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::BillingAddress => "billingAddress",
            Field::TaxNumber => "taxNumber",
            Field::Currency => "currency",
            Field::Amounts => "amounts",
            Field::PaymentStatus => "paymentStatus",
            Field::Orders => "orders",
        }
    }

    /// Parses a stored identifier (case-insensitive, `_` and `-` ignored).
    pub fn parse(s: &str) -> Option<Field> {
        let want: String = s.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_ascii_lowercase();
        Field::ALL.into_iter().find(|f| f.as_str().to_ascii_lowercase() == want)
    }
}

/// Who owns one field, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldOwner {
    pub field: Field,
    pub owner: Role,
    /// Why, in the bookkeeper's words.
    pub reason: String,
}

/// The whole policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub owners: Vec<FieldOwner>,
}

impl Default for Policy {
    fn default() -> Self {
        let own = |field, owner, reason: &str| FieldOwner { field, owner, reason: reason.to_string() };
        Policy {
            owners: vec![
                own(Field::PersonName, Role::Crm, "the CRM owns contact intent"),
                own(Field::CompanyName, Role::Accounting, "accounting owns the legal name invoices are made out to"),
                own(Field::Email, Role::Crm, "the CRM owns contact intent"),
                own(Field::Phone, Role::Crm, "the CRM owns contact intent"),
                own(Field::BillingAddress, Role::Accounting, "accounting owns invoicing details"),
                own(Field::TaxNumber, Role::Accounting, "accounting owns tax fields"),
                own(Field::Currency, Role::Accounting, "accounting owns invoicing details"),
                own(Field::Amounts, Role::Accounting, "accounting owns invoiced amounts and tax"),
                own(Field::PaymentStatus, Role::Accounting, "accounting owns payment status"),
                own(Field::Orders, Role::Shop, "the shop owns orders and purchase history"),
            ],
        }
    }
}

impl Policy {
    /// The owner of `field` (the default policy's when the field is missing).
    pub fn owner(&self, field: Field) -> FieldOwner {
        self.owners
            .iter()
            .find(|o| o.field == field)
            .cloned()
            .or_else(|| Policy::default().owners.into_iter().find(|o| o.field == field))
            .unwrap_or(FieldOwner { field, owner: Role::Accounting, reason: "no rule; accounting by default".into() })
    }

    /// Sets the owner of `field`, keeping one rule per field.
    pub fn set(&mut self, field: Field, owner: Role, reason: Option<String>) {
        let reason = reason.unwrap_or_else(|| format!("set by the bookkeeper: {} owns this field", owner.label()));
        match self.owners.iter_mut().find(|o| o.field == field) {
            Some(o) => {
                o.owner = owner;
                o.reason = reason;
            }
            None => self.owners.push(FieldOwner { field, owner, reason }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_practice() {
        let p = Policy::default();
        let cases = [
            (Field::Email, Role::Crm, "the CRM owns contact intent"),
            (Field::TaxNumber, Role::Accounting, "accounting owns tax fields"),
            (Field::BillingAddress, Role::Accounting, "accounting owns invoicing"),
            (Field::Orders, Role::Shop, "the shop owns purchase history"),
        ];
        for (field, owner, why) in cases {
            assert_eq!(p.owner(field).owner, owner, "{why}");
        }
    }

    #[test]
    fn policy_is_editable_data() {
        let mut p = Policy::default();
        p.set(Field::Phone, Role::Accounting, None);
        let json = serde_json::to_string(&p).unwrap();
        let back: Policy = serde_json::from_str(&json).unwrap();
        assert_eq!(back.owner(Field::Phone).owner, Role::Accounting, "an edited rule must survive storage");
        assert_eq!(Field::parse("billing_address"), Some(Field::BillingAddress), "CLI spellings must parse");
        assert_eq!(Role::parse("CRM"), Some(Role::Crm), "roles parse case-insensitively");
    }
}
