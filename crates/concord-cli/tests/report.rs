//! `concord report` as a user runs it: the file is written with the BOM when
//! asked, the summary says what was written, and mistakes fail with a coded error.

mod support;

use support::{concord, text};

#[test]
fn report_writes_a_safe_csv_and_summarises_it() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    assert!(concord(&ws, &["init"]).status.success(), "init must succeed");
    let sheet = dir.path().join("books.csv");
    std::fs::write(&sheet, "id,kind,number,date,total,gst,status,customer,currency\nd1,invoice,=1+1,2026-03-01,-12.50,0,open,c1,AUD\nd2,invoice,INV-2,2026-03-02,110.00,10.00,paid,c2,AUD\n").unwrap();
    let out = concord(&ws, &["import-csv", "--name", "books", "--entity", "documents", sheet.to_str().unwrap()]);
    assert!(out.status.success(), "the sheet must import: {}", text(&out.stderr));

    let file = dir.path().join("unmatched.csv");
    let out = concord(&ws, &["report", "unmatched", "--out", file.to_str().unwrap(), "--bom"]);
    assert!(out.status.success(), "the report must be written: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("wrote unmatched report: 2 rows"), "the summary counts the rows: {stdout}");
    assert!(stdout.contains("AUD: 2 rows; amount 97.50"), "the summary states the total that ties out: {stdout}");
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFline,"), "--bom puts the byte-order mark before the header");
    let body = String::from_utf8(bytes).unwrap();
    assert!(body.contains(",'=1+1,") && body.contains(",-12.50,"), "the formula is guarded and the negative amount is bare: {body}");

    let out = concord(&ws, &["report", "audit", "--out", dir.path().join("audit.csv").to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "the audit report must be written: {}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints the summary as JSON");
    assert!(summary["note"].as_str().unwrap_or("").starts_with("audit chain verified"), "the JSON carries the chain's result: {summary}");
}

#[test]
fn report_mistakes_fail_with_a_code() {
    let dir = tempfile::tempdir().unwrap();
    assert!(concord(dir.path(), &["init"]).status.success(), "init must succeed");
    let out = concord(dir.path(), &["report", "ledger", "--out", "x.csv"]);
    assert!(!out.status.success(), "an unknown report must fail");
    assert!(text(&out.stderr).contains("error[invalid_input]: unknown report \"ledger\"; use one of: reconciliation"), "the error lists the kinds: {}", text(&out.stderr));
    let missing = dir.path().join("nowhere").join("r.csv");
    let out = concord(dir.path(), &["report", "audit", "--out", missing.to_str().unwrap()]);
    assert!(!out.status.success(), "a missing folder must fail");
    assert!(text(&out.stderr).contains("error[io]: the folder") && text(&out.stderr).contains("does not exist"), "the error names the folder: {}", text(&out.stderr));
}
