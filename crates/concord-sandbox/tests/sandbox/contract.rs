//! Contract tests: what the sandbox serves agrees with the providers'
//! published specifications in ../shared/providers (Xero's OpenAPI schemas
//! and examples, Shopify's GraphQL introspection schema and REST examples,
//! QuickBooks' XSDs). They skip, saying so, when ../shared is absent.

use crate::support::*;
use concord_sandbox::Provider;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// ../shared beside the workspace, or CONCORD_SHARED_DIR.
fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("CONCORD_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if dir.join("providers").is_dir() {
        Some(dir)
    } else {
        println!("SKIPPED: provider specs not found at {} (set CONCORD_SHARED_DIR); contract not checked", dir.display());
        None
    }
}

pub async fn xero_access(sb: &concord_sandbox::SandboxHandle) -> String {
    let creds = sb.credentials(Provider::Xero);
    let (verifier, challenge) = pkce();
    let redirect = "http://127.0.0.1:1/cb";
    let q = authorize(&creds.authorize_url, &[("client_id", &creds.client_id), ("redirect_uri", redirect), ("scope", "accounting.contacts"), ("code_challenge", &challenge), ("code_challenge_method", "S256")]).await;
    let code = pair(&q, "code").unwrap().to_string();
    let t = probe(client().post(&creds.token_url).form(&[("grant_type", "authorization_code"), ("client_id", &creds.client_id), ("code", &code), ("redirect_uri", redirect), ("code_verifier", &verifier)])).await.json();
    t["access_token"].as_str().unwrap().to_string()
}

pub async fn qbo_access(sb: &concord_sandbox::SandboxHandle) -> String {
    let creds = sb.credentials(Provider::QuickBooks);
    let redirect = "http://127.0.0.1:1/cb";
    let q = authorize(&creds.authorize_url, &[("client_id", &creds.client_id), ("response_type", "code"), ("redirect_uri", redirect)]).await;
    let code = pair(&q, "code").unwrap().to_string();
    let t = probe(client().post(&creds.token_url).basic_auth(&creds.client_id, creds.client_secret.as_ref()).form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", redirect)])).await.json();
    t["access_token"].as_str().unwrap().to_string()
}

/// Checks `v` against an OpenAPI schema; unknown properties are errors.
fn check_schema(spec: &Value, schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap();
        return check_schema(spec, &spec["components"]["schemas"][name], v, path, errors);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check_schema(spec, s, v, path, errors);
        }
        return;
    }
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or(if schema.get("properties").is_some() { "object" } else { "" });
    let ok = match (ty, v) {
        ("string", Value::String(_)) | ("boolean", Value::Bool(_)) | ("array", Value::Array(_)) | ("object", Value::Object(_)) => true,
        ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
        ("", _) | (_, Value::Null) => true,
        _ => false,
    };
    if !ok {
        errors.push(format!("{path}: expected {ty}, served {v}"));
        return;
    }
    if let (Some(e), Value::String(s)) = (schema.get("enum").and_then(Value::as_array), v) {
        if !e.iter().any(|x| x == s) {
            errors.push(format!("{path}: {s:?} is not one of the enum values"));
        }
    }
    match v {
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, x) in items.iter().enumerate() {
                    check_schema(spec, item, x, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, x) in m {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => check_schema(spec, s, x, &format!("{path}.{k}"), errors),
                    None => errors.push(format!("{path}.{k}: not in the schema")),
                }
            }
        }
        _ => {}
    }
}

fn yaml_to_json(y: serde_yaml::Value) -> Value {
    match y {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => serde_json::to_value(&n).unwrap_or(Value::Null),
        serde_yaml::Value::String(s) => Value::String(s),
        serde_yaml::Value::Sequence(s) => Value::Array(s.into_iter().map(yaml_to_json).collect()),
        serde_yaml::Value::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (match k { serde_yaml::Value::String(s) => s, other => serde_yaml::to_string(&other).unwrap_or_default().trim().to_string() }, yaml_to_json(v)))
                .collect(),
        ),
        serde_yaml::Value::Tagged(t) => yaml_to_json(t.value),
    }
}

#[tokio::test]
async fn xero_responses_match_the_openapi_spec() {
    let Some(dir) = shared() else { return };
    let text = std::fs::read_to_string(dir.join("providers/xero/xero_accounting.yaml")).expect("the Xero spec is readable");
    let spec = yaml_to_json(serde_yaml::from_str(&text).expect("the Xero spec is YAML"));
    let sb = start(120, false).await;
    let token = xero_access(&sb).await;
    let c = client();
    for (collection, schema) in [("Contacts", "Contacts"), ("Invoices", "Invoices"), ("Payments", "Payments"), ("CreditNotes", "CreditNotes")] {
        let body = probe(c.get(format!("{}/api.xro/2.0/{collection}", sb.base_url(Provider::Xero))).bearer_auth(&token).header("xero-tenant-id", sb.xero_tenant_id()).query(&[("page", "1"), ("pageSize", "50")])).await.json();
        let example = &spec["paths"][format!("/{collection}")]["get"]["responses"]["200"]["content"]["application/json"]["example"];
        assert!(example.is_object(), "the spec has an example for GET /{collection}");
        let mut envelope = body.as_object().unwrap().clone();
        for k in example.as_object().unwrap().keys() {
            if spec["components"]["schemas"][schema]["properties"].get(k).is_none() {
                assert!(envelope.remove(k).is_some() || k == "Warnings", "{collection}: the example's envelope key {k} is served too");
            }
        }
        let mut errors = Vec::new();
        check_schema(&spec, &json!({"$ref": format!("#/components/schemas/{schema}")}), &Value::Object(envelope), collection, &mut errors);
        assert!(errors.is_empty(), "{collection} must validate against the spec: {errors:#?}");
        let item = &body[collection][0];
        let example_item = &example[collection][0];
        for (k, v) in example_item.as_object().unwrap() {
            if let (Some(ex), Some(ours)) = (v.as_str(), item.get(k).and_then(Value::as_str)) {
                if ex.starts_with("/Date(") {
                    assert!(ours.starts_with("/Date(") && ours.ends_with(")/"), "{collection}.{k} uses Xero's /Date()/ form like the example");
                }
            }
        }
    }
    sb.shutdown().await;
}

fn type_ref(t: &Value) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_ref(&t["ofType"])),
        Some("LIST") => format!("[{}]", type_ref(&t["ofType"])),
        _ => t["name"].as_str().unwrap_or("").to_string(),
    }
}

#[test]
fn shopify_fields_exist_in_the_graphql_schema() {
    let Some(dir) = shared() else { return };
    let f = std::fs::File::open(dir.join("providers/shopify/admin_schema_2025-01.json.gz")).expect("the Shopify schema is readable");
    let schema: Value = serde_json::from_reader(flate2::read::GzDecoder::new(f)).expect("the schema is gzipped JSON");
    let s = &schema["data"]["__schema"];
    assert_eq!(s["queryType"]["name"], "QueryRoot", "the query root is QueryRoot");
    assert_eq!(s["mutationType"]["name"], "Mutation", "the mutation root is Mutation");
    let mut types: HashMap<&str, HashMap<String, String>> = HashMap::new();
    for t in s["types"].as_array().unwrap() {
        let fields = t["fields"].as_array().map(|fs| fs.iter().map(|f| (f["name"].as_str().unwrap().to_string(), type_ref(&f["type"]))).collect()).unwrap_or_default();
        types.insert(t["name"].as_str().unwrap(), fields);
    }
    let mut errors = Vec::new();
    for (owner, field, ty) in concord_sandbox::shopify::FIELDS {
        match types.get(owner).and_then(|f| f.get(*field)) {
            None => errors.push(format!("{owner}.{field} does not exist in 2025-01")),
            Some(real) if real != ty => errors.push(format!("{owner}.{field} is {real} in 2025-01, the sandbox says {ty}")),
            _ => {}
        }
    }
    assert!(errors.is_empty(), "every Shopify field served must exist with the same type: {errors:#?}");
}

#[test]
fn shopify_vocabulary_agrees_with_rest_examples() {
    let Some(dir) = shared() else { return };
    let read = |name: &str| -> HashSet<String> {
        let v: Value = serde_json::from_slice(&std::fs::read(dir.join("providers/shopify/rest-2024-07-examples").join(name)).unwrap()).unwrap();
        let mut keys = HashSet::new();
        for e in v.as_array().unwrap() {
            for (_, body) in e["body"].as_object().into_iter().flatten() {
                let items: Vec<Value> = match body { Value::Array(a) => a.clone(), o => vec![o.clone()] };
                for it in items {
                    keys.extend(it.as_object().into_iter().flatten().map(|(k, _)| k.clone()));
                }
            }
        }
        keys
    };
    let customer = read("customer.examples.json");
    let order = read("order.examples.json");
    let cases: &[(&HashSet<String>, &str, &str)] = &[
        (&customer, "firstName", "first_name"), (&customer, "lastName", "last_name"), (&customer, "email", "email"),
        (&customer, "phone", "phone"), (&customer, "taxExempt", "tax_exempt"), (&customer, "updatedAt", "updated_at"),
        (&customer, "defaultAddress", "default_address"), (&customer, "addresses", "addresses"), (&customer, "tags", "tags"),
        (&customer, "note", "note"), (&customer, "state", "state"), (&customer, "verifiedEmail", "verified_email"),
        (&order, "name", "name"), (&order, "email", "email"), (&order, "createdAt", "created_at"), (&order, "updatedAt", "updated_at"),
        (&order, "taxesIncluded", "taxes_included"), (&order, "subtotalPriceSet", "subtotal_price_set"), (&order, "totalTaxSet", "total_tax_set"),
        (&order, "totalPriceSet", "total_price_set"), (&order, "totalOutstandingSet", "total_outstanding"),
        (&order, "displayFinancialStatus", "financial_status"), (&order, "displayFulfillmentStatus", "fulfillment_status"),
        (&order, "billingAddress", "billing_address"), (&order, "shippingAddress", "shipping_address"), (&order, "customer", "customer"),
        (&order, "lineItems", "line_items"), (&order, "taxLines", "tax_lines"), (&order, "refunds", "refunds"), (&order, "currencyCode", "currency"),
    ];
    for (keys, graphql, rest) in cases {
        assert!(keys.contains(*rest), "the sandbox's {graphql} corresponds to REST {rest}, which the 2024-07 examples must use");
    }
}

/// One XSD complex type: base, element name -> (type, repeated), attributes, simple content.
type ComplexType = (Option<String>, HashMap<String, (String, bool)>, HashSet<String>, bool);

/// The XSD complex types by name.
struct Xsd {
    types: HashMap<String, ComplexType>,
}

impl Xsd {
    fn load(dir: &std::path::Path) -> Xsd {
        let mut types = HashMap::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("xsd") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let doc = roxmltree::Document::parse(&text).expect("the XSD parses");
            for ct in doc.descendants().filter(|n| n.has_tag_name("complexType") && n.attribute("name").is_some()) {
                let base = ct.descendants().find(|n| n.has_tag_name("extension")).and_then(|n| n.attribute("base")).map(|b| b.rsplit(':').next().unwrap().to_string());
                let simple = ct.descendants().any(|n| n.has_tag_name("simpleContent"));
                let elements = ct
                    .descendants()
                    .filter(|n| n.has_tag_name("element") && n.attribute("name").is_some())
                    .map(|n| {
                        let ty = n.attribute("type").unwrap_or("").rsplit(':').next().unwrap().to_string();
                        let many = n.attribute("maxOccurs").is_some_and(|m| m != "1");
                        (n.attribute("name").unwrap().to_string(), (ty, many))
                    })
                    .collect();
                let attrs = ct.descendants().filter(|n| n.has_tag_name("attribute")).filter_map(|n| n.attribute("name").map(str::to_string)).collect();
                types.insert(ct.attribute("name").unwrap().to_string(), (base, elements, attrs, simple));
            }
        }
        Xsd { types }
    }

    fn element(&self, ty: &str, name: &str) -> Option<(String, bool)> {
        let (base, elements, _, _) = self.types.get(ty)?;
        elements.get(name).cloned().or_else(|| base.as_ref().and_then(|b| self.element(b, name)))
    }

    fn attribute(&self, ty: &str, name: &str) -> bool {
        match self.types.get(ty) {
            Some((base, _, attrs, simple)) => attrs.contains(name) || (*simple && name == "value") || base.as_ref().is_some_and(|b| self.attribute(b, name)),
            None => false,
        }
    }

    fn check(&self, ty: &str, v: &Value, path: &str, errors: &mut Vec<String>) {
        let Value::Object(m) = v else { return };
        for (k, x) in m {
            if self.attribute(ty, k) {
                continue;
            }
            match self.element(ty, k) {
                None => errors.push(format!("{path}.{k}: {ty} has no such element")),
                Some((child, many)) => {
                    if x.is_array() != many && !x.is_null() {
                        errors.push(format!("{path}.{k}: repeated={many} in the XSD, served {}", if x.is_array() { "an array" } else { "a single value" }));
                    }
                    let items = if let Value::Array(a) = x { a.clone() } else { vec![x.clone()] };
                    for it in items {
                        if it.is_object() {
                            if self.types.contains_key(&child) {
                                self.check(&child, &it, &format!("{path}.{k}"), errors);
                            } else {
                                errors.push(format!("{path}.{k}: {child} is simple in the XSD, served an object"));
                            }
                        }
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn quickbooks_entities_agree_with_the_xsds() {
    let Some(dir) = shared() else { return };
    let xsd = Xsd::load(&dir.join("providers/quickbooks"));
    assert!(xsd.types.contains_key("Customer") && xsd.types.contains_key("Invoice"), "the XSDs define Customer and Invoice");
    let sb = start(120, false).await;
    let token = qbo_access(&sb).await;
    let api = format!("{}/v3/company/{}/query", sb.base_url(Provider::QuickBooks), sb.quickbooks_realm_id());
    let c = client();
    for entity in ["Customer", "Invoice", "Payment", "CreditMemo"] {
        let q = format!("SELECT * FROM {entity} MAXRESULTS 30");
        let body = probe(c.get(&api).bearer_auth(&token).query(&[("query", q.as_str())])).await.json();
        let items = body["QueryResponse"][entity].as_array().unwrap_or_else(|| panic!("{entity} records are served: {body}")).clone();
        let mut errors = Vec::new();
        for (i, it) in items.iter().enumerate() {
            xsd.check(entity, it, &format!("{entity}[{i}]"), &mut errors);
        }
        assert!(errors.is_empty(), "{entity} must agree with the XSD: {errors:#?}");
    }
    sb.shutdown().await;
}
