//! Tidy: the project rules that matter, run as a test so breaking one fails `cargo test`.
//!
//! - Only src-tauri (package `concord-desktop`) may depend on `tauri` or a `tauri-*` crate:
//!   the other crates are shared by the CLI and tests and must build and run without a webview.
//! - Every `.rs` file under crates/, src-tauri/src and tests/ opens with a `//!` module doc
//!   that says what the file is and why, so a reader never has to guess from the code.
//! - No ignored tests: a test that cannot pass asserts today's wrong behaviour with a FIXME
//!   instead, so it keeps running and says when the behaviour changes.
//! - The matcher knows nothing of the sandbox's generator: no name, suburb, street, company
//!   word or e-mail domain from the generator's lists is a literal in concord-match's product
//!   code, and none of those lists' constants is declared there. A matcher tuned to the data it
//!   is scored on scores well and fails on a bookkeeper's data.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The one package allowed to know Tauri.
const DESKTOP_PACKAGE: &str = "concord-desktop";

/// The folders whose Rust files the text rules read, relative to the repository root.
const RUST_ROOTS: [&str; 3] = ["crates", "src-tauri/src", "tests"];

/// Folders never read: build output, installed front-end packages, hidden folders.
fn skipped_dir(name: &str) -> bool {
    name == "target" || name == "node_modules" || name.starts_with('.')
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives one level below the repository root")
        .to_path_buf()
}

/// Every `.rs` file under the rule roots, sorted so failures list in a stable order.
fn rust_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !skipped_dir(&name) {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    let root = repo_root();
    let mut files = Vec::new();
    for sub in RUST_ROOTS {
        walk(&root.join(sub), &mut files);
    }
    files.sort();
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Whether a file's first non-empty line is a `//!` module doc.
fn opens_with_module_doc(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .is_some_and(|l| l.starts_with("//!"))
}

/// The 1-based line numbers holding an ignore attribute (`#[ignore]` or `#[ignore = "..."]`).
/// The pattern is assembled at run time so this file does not match itself.
fn ignore_attribute_lines(text: &str) -> Vec<usize> {
    let pattern = ["#[", "ignore"].concat();
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim_start();
            l.starts_with(&pattern) && l[pattern.len()..].trim_start().starts_with([']', '=', '('])
        })
        .map(|(i, _)| i + 1)
        .collect()
}

/// Fails with every offender at once, so one run shows all there is to fix.
fn assert_none(rule: &str, why: &str, offenders: &[String]) {
    assert!(
        offenders.is_empty(),
        "tidy rule broken: {rule}\nwhy: {why}\noffenders:\n  {}\n",
        offenders.join("\n  ")
    );
}

#[test]
fn only_src_tauri_depends_on_tauri() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(&cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(repo_root())
        .output()
        .expect("cargo metadata must run to read the workspace's dependencies");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let packages = meta["packages"]
        .as_array()
        .expect("cargo metadata lists packages");
    assert!(
        packages.iter().any(|p| p["name"] == DESKTOP_PACKAGE),
        "the workspace has no package {DESKTOP_PACKAGE}; this rule exempts it by name, so a rename must update tidy.rs"
    );

    let mut offenders = Vec::new();
    for package in packages {
        let name = package["name"].as_str().unwrap_or("?");
        if name == DESKTOP_PACKAGE {
            continue;
        }
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            // `name` is the real package name, whatever the dependency is renamed to locally.
            let dep_name = dep["name"].as_str().unwrap_or("");
            if dep_name == "tauri" || dep_name.starts_with("tauri-") {
                let kind = dep["kind"].as_str().unwrap_or("normal");
                offenders.push(format!(
                    "package {name} ({}) has a {kind} dependency on {dep_name}",
                    relative(Path::new(package["manifest_path"].as_str().unwrap_or("?")))
                ));
            }
        }
    }
    assert_none(
        "only src-tauri (package concord-desktop) may depend on tauri or tauri-* crates",
        "Tauri and IPC stay at the edge: the core, store, API, CLI and sandbox crates are shared by the \
         CLI and the tests and must build and run without a webview or a display",
        &offenders,
    );
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let files = rust_files();
    let me = repo_root().join("tests/tidy.rs");
    assert!(
        files.contains(&me),
        "the file walk must find tidy.rs itself, or it is reading the wrong folders"
    );

    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !opens_with_module_doc(&std::fs::read_to_string(f).unwrap_or_default()))
        .map(|f| relative(f))
        .collect();
    assert_none(
        "every .rs file under crates/, src-tauri/src and tests/ starts with a `//!` module doc",
        "the first lines of a file say what it is and why it exists, so a reader (or a reviewer of a \
         later change) need not reverse-engineer its purpose from the code",
        &offenders,
    );
}

#[test]
fn no_test_is_ignored() {
    let mut offenders = Vec::new();
    for file in rust_files() {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for line in ignore_attribute_lines(&text) {
            offenders.push(format!("{}:{line}", relative(&file)));
        }
    }
    assert_none(
        "no test carries an ignore attribute",
        "an ignored test silently stops guarding anything; assert today's wrong behaviour with a FIXME \
         instead, so the test keeps running and fails loudly when the behaviour changes",
        &offenders,
    );
}

/// The rules' own readers, on hand-made inputs, so a tidy pass means the rules looked.
#[test]
fn rule_readers_recognise_what_they_look_for() {
    let docs = [
        (
            "//! A module.\nfn f() {}",
            true,
            "a doc on the first line counts",
        ),
        (
            "\n\n   //! Indented after blank lines.",
            true,
            "leading blank lines are skipped",
        ),
        (
            "// A plain comment.\n//! Too late.",
            false,
            "a plain comment first is not a module doc",
        ),
        (
            "/// An item doc.",
            false,
            "an item doc documents the next item, not the module",
        ),
        (
            "#![allow(dead_code)]\n//! Doc.",
            false,
            "the doc must come before attributes",
        ),
        ("", false, "an empty file has no doc"),
    ];
    for (text, expected, reason) in docs {
        assert_eq!(opens_with_module_doc(text), expected, "{reason}: {text:?}");
    }

    let attr = ["#[", "ignore"].concat();
    let ignores = [
        (
            format!("{attr}]\nfn t() {{}}"),
            vec![1],
            "a bare ignore attribute",
        ),
        (
            format!("fn a() {{}}\n    {attr} = \"slow\"]"),
            vec![2],
            "an ignore attribute with a reason",
        ),
        (
            "let s = \"ignore\";".to_owned(),
            vec![],
            "the word alone is no attribute",
        ),
        (
            format!("{attr}d_field]"),
            vec![],
            "a longer attribute name is not ignore",
        ),
    ];
    for (text, expected, reason) in ignores {
        assert_eq!(
            ignore_attribute_lines(&text),
            expected,
            "{reason}: {text:?}"
        );
    }
}

/// The generator's lists of names and places (crates/concord-sandbox/src/business.rs).
const GENERATOR_LISTS: [&str; 7] = ["GIVEN", "FAMILY", "NICKNAMES", "SUBURBS", "STREETS", "COMPANY_NOUNS", "EMAIL_DOMAINS"];

/// The string literals inside `const NAME: ... = &[ ... ];` of `text`, lower case; for a list
/// of tuples only each tuple's first string (a suburb, not its state code).
fn list_literals(text: &str, name: &str) -> Vec<String> {
    let Some(start) = text.find(&format!("const {name}: ")) else {
        return Vec::new();
    };
    let body = &text[start..];
    let Some(open) = body.find("= &[") else {
        return Vec::new();
    };
    let end = body[open..].find("];").map(|e| open + e).unwrap_or(body.len());
    let tuples = body[..open].contains("&[(");
    let mut out = Vec::new();
    for line in body[open + 4..end].split(['\n']) {
        let items: Vec<&str> = if tuples { line.split(')').collect() } else { vec![line] };
        for item in items {
            let quoted: Vec<&str> = item.split('"').skip(1).step_by(2).collect();
            let take = if tuples { quoted.len().min(1) } else { quoted.len() };
            out.extend(quoted[..take].iter().filter(|q| !q.is_empty()).map(|q| q.to_lowercase()));
        }
    }
    out
}

/// A file's code before its test module (`#[cfg(test)]`), where product code ends, without
/// comment lines (a doc example may name anyone).
fn product_code(text: &str) -> String {
    let code = text.find("#[cfg(test)]").map_or(text, |i| &text[..i]);
    code.lines().filter(|l| !l.trim_start().starts_with("//")).map(|l| format!("{l}\n")).collect()
}

#[test]
fn the_matcher_knows_nothing_of_the_generator() {
    let root = repo_root();
    let generator = std::fs::read_to_string(root.join("crates/concord-sandbox/src/business.rs")).expect("the sandbox's generator is readable");
    let mut banned: Vec<(String, &str)> = Vec::new();
    for list in GENERATOR_LISTS {
        let items = list_literals(&generator, list);
        assert!(!items.is_empty(), "the generator's {list} list must be found, or this rule checks nothing");
        banned.extend(items.into_iter().map(|i| (i, list)));
    }
    let mut offenders = Vec::new();
    let src = root.join("crates/concord-match/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src).expect("concord-match/src is readable").flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "rs")).collect();
    files.sort();
    for file in files.iter().filter(|f| f.file_name().is_some_and(|n| n != "tests.rs")) {
        let text = std::fs::read_to_string(file).expect("a matcher source file is readable");
        let code = product_code(&text);
        let code = code.as_str();
        for literal in code.split('"').skip(1).step_by(2) {
            let l = literal.to_lowercase();
            if let Some((_, list)) = banned.iter().find(|(b, _)| *b == l) {
                offenders.push(format!("{}: \"{literal}\" is in the generator's {list}", relative(file)));
            }
        }
        for list in GENERATOR_LISTS {
            if code.contains(&format!("const {list}:")) {
                offenders.push(format!("{}: declares {list}, the name of a generator list", relative(file)));
            }
        }
    }
    assert_none(
        "the matcher knows nothing of the sandbox's generator",
        "matching tuned to the generator scores well on the sandbox and fails on real data",
        &offenders,
    );
}

#[test]
fn generator_lists_are_read_as_written() {
    let text = "const GIVEN: &[&str] = &[\n    \"Zoe\", \"Tom\",\n];\nconst SUBURBS: &[(&str, &str, &str)] = &[\n    (\"New Farm\", \"QLD\", \"4005\"),\n];";
    assert_eq!(list_literals(text, "GIVEN"), vec!["zoe", "tom"], "every name of a plain list, lower case");
    assert_eq!(list_literals(text, "SUBURBS"), vec!["new farm"], "only a tuple's first string: the state code is a public fact");
    assert_eq!(product_code("/// \"Zoe\"\nfn a() {}\n#[cfg(test)]\nmod tests {}"), "fn a() {}\n", "comments and test modules are not product code");
}
