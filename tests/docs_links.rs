//! The design is written down in the repository (`docs/`), and what points into it
//! resolves: no file cites a design document a clone does not have; every
//! `docs/<file>.md "Section"` reference (and every link between the docs) names a file and
//! a heading that exist; every mapping rule the core cites is defined in
//! `docs/mapping-rules.md`; every repository path the docs cite exists; and the docs'
//! service-type and time-field tables match the code row by row.

use integration_tests::tree::{files_under, workspace};
use reconciliation::domain::{RecordType, ServiceTypeName};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where code, comments, READMEs and tests live (the top-level README.md is not scanned).
const SCANNED: [&str; 5] = ["shared", "functions", "infra", "tests", "docs"];
const EXTENSIONS: [&str; 9] = ["rs", "md", "yaml", "yml", "sh", "py", "toml", "txt", "html"];

fn scanned_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in SCANNED {
        out.extend(files_under(&workspace().join(dir), &EXTENSIONS));
    }
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn relative(path: &Path) -> String {
    let root = workspace().canonicalize().unwrap_or_else(|_| workspace());
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    path.strip_prefix(&root)
        .unwrap_or(&path)
        .display()
        .to_string()
}

/// The text with comment markers stripped and lines joined by one space, so a reference
/// wrapped over two comment lines reads as one.
fn flattened(text: &str) -> String {
    text.lines()
        .map(|line| {
            let t = line.trim();
            ["//!", "///", "//", "#"]
                .iter()
                .find_map(|m| t.strip_prefix(m))
                .unwrap_or(t)
                .trim()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The headings of a Markdown file (any level), without their `#`s.
fn headings(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let rest = l.trim_start_matches('#');
            (rest.len() < l.len() && rest.starts_with(' ')).then(|| rest.trim().to_owned())
        })
        .collect()
}

/// A reference into a doc: its file name, and the quoted section right after it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DocRef {
    file: String,
    section: Option<String>,
}

/// The quoted text at the start of `rest` (after one optional space), if any.
fn quoted_section(rest: &str) -> Option<String> {
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let inner = rest.strip_prefix('"')?;
    let end = inner.find('"')?;
    Some(inner[..end].to_owned())
}

/// `docs/<file>.md` references in `text` (flattened), each with its quoted section.
fn docs_references(text: &str) -> Vec<DocRef> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("docs/") {
        let start = from + at + "docs/".len();
        from = start;
        let name: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let after = &text[start + name.len()..];
        let Some(rest) = after.strip_prefix(".md") else {
            continue;
        };
        let rest = rest.strip_prefix('`').unwrap_or(rest);
        out.push(DocRef {
            file: format!("{name}.md"),
            section: quoted_section(rest),
        });
    }
    out
}

/// Markdown link targets in `text` (flattened), each with the quoted section after the
/// link, if any.
fn markdown_links(text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("](") {
        let start = from + at + 2;
        from = start;
        let Some(end) = text[start..].find(')') else {
            break;
        };
        let target = text[start..start + end].to_owned();
        out.push((target, quoted_section(&text[start + end + 1..])));
    }
    out
}

fn docs_dir() -> PathBuf {
    workspace().join("docs")
}

/// Checks one reference to `docs/<file>` (and its section); a problem is pushed to `bad`.
fn check_doc_ref(origin: &str, r: &DocRef, bad: &mut Vec<String>) {
    let path = docs_dir().join(&r.file);
    let Ok(text) = std::fs::read_to_string(&path) else {
        bad.push(format!("{origin}: docs/{} does not exist", r.file));
        return;
    };
    if let Some(section) = &r.section {
        if !headings(&text).contains(section) {
            bad.push(format!(
                "{origin}: docs/{} has no heading \"{section}\"",
                r.file
            ));
        }
    }
}

#[test]
fn no_file_cites_a_design_document_outside_the_repository() {
    let d = "DESIGN";
    let outside = [
        format!("{d} §"),
        format!("{d}.md"),
        format!("{d}'s"),
        format!("{d} rule"),
    ];
    let files = scanned_files();
    assert!(files.len() > 100, "only {} files scanned", files.len());
    let mut bad = Vec::new();
    for path in &files {
        for (n, line) in read(path).lines().enumerate() {
            if outside.iter().any(|o| line.contains(o.as_str())) {
                bad.push(format!("{}:{}: {}", relative(path), n + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "cite docs/ instead (docs/README.md, \"How the code points here\"):\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_docs_reference_names_a_file_and_a_section_that_exist() {
    let mut bad = Vec::new();
    let mut seen = 0;
    for path in scanned_files() {
        let text = flattened(&read(&path));
        for r in docs_references(&text) {
            seen += 1;
            check_doc_ref(&relative(&path), &r, &mut bad);
        }
    }
    // Links between the docs, and from them to the rest of the repository.
    for path in scanned_files()
        .into_iter()
        .filter(|p| p.starts_with(docs_dir()))
    {
        let text = flattened(&read(&path));
        for (target, section) in markdown_links(&text) {
            if target.contains("://") {
                continue;
            }
            seen += 1;
            let file = target.split('#').next().unwrap_or_default();
            let resolved = docs_dir().join(file);
            if !resolved.exists() {
                bad.push(format!("{}: link {target} leads nowhere", relative(&path)));
            } else if section.is_some() && !file.contains('/') {
                let r = DocRef {
                    file: file.to_owned(),
                    section,
                };
                check_doc_ref(&relative(&path), &r, &mut bad);
            }
        }
    }
    assert!(
        seen > 40,
        "only {seen} references found: is the scan broken?"
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The rules `docs/mapping-rules.md` defines: its `### Rule N.` headings.
fn defined_rules() -> BTreeSet<u32> {
    read(&docs_dir().join("mapping-rules.md"))
        .lines()
        .filter_map(|l| l.strip_prefix("### Rule "))
        .filter_map(|rest| rest.split('.').next()?.parse().ok())
        .collect()
}

/// The rule numbers cited in `text` (flattened): `rule 8`, `rules 1, 5, 7`, `rules 2–4`.
fn cited_rules(text: &str) -> Vec<u32> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("rule") {
        let start = from + at;
        from = start + "rule".len();
        let word_start = lower[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let rest = lower[from..].strip_prefix('s').unwrap_or(&lower[from..]);
        let Some(rest) = rest.strip_prefix(' ').filter(|_| word_start) else {
            continue;
        };
        out.extend(number_list(rest));
    }
    out
}

/// `2–4, 6, 7 and 10` → 2, 3, 4, 6, 7, 10: numbers joined by `, `, ` and `, ` or `, and
/// ranges by `–` or `-`; stops at anything else.
fn number_list(mut rest: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut range_from: Option<u32> = None;
    loop {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(n) = digits.parse::<u32>() else {
            break;
        };
        rest = &rest[digits.len()..];
        match range_from.take() {
            Some(a) => out.extend(a..=n),
            None => out.push(n),
        }
        if let Some(r) = rest.strip_prefix('–').or_else(|| rest.strip_prefix('-')) {
            range_from = out.pop();
            rest = r;
            continue;
        }
        match [", and ", ", ", " and ", " or "]
            .iter()
            .find_map(|sep| rest.strip_prefix(sep))
        {
            Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
            _ => break,
        }
    }
    out
}

#[test]
fn every_rule_the_core_cites_is_defined_in_the_mapping_rules() {
    let defined = defined_rules();
    let mut cited = 0;
    let mut bad = Vec::new();
    for path in &files_under(&workspace().join("shared/reconciliation/src"), &["rs"]) {
        for n in cited_rules(&flattened(&read(path))) {
            cited += 1;
            if !defined.contains(&n) {
                bad.push(format!("{} cites rule {n}", relative(path)));
            }
        }
    }
    assert!(
        cited > 50,
        "only {cited} rule citations found: is the scan broken?"
    );
    assert!(
        bad.is_empty(),
        "docs/mapping-rules.md defines rules {defined:?}, but:\n{}",
        bad.join("\n")
    );
}

#[test]
fn rule_citations_are_read_with_their_lists_and_ranges() {
    assert_eq!(
        cited_rules("(rules 2–4, 6, 7, 10, 11)"),
        [2, 3, 4, 6, 7, 10, 11]
    );
    assert_eq!(
        cited_rules("Rule 1 (a customer) and rule 12 (a rename)"),
        [1, 12]
    );
    assert_eq!(cited_rules("rules 6, 8, 10: one per"), [6, 8, 10]);
    assert_eq!(
        cited_rules("the mapping rules 1–16 of"),
        (1..=16).collect::<Vec<_>>()
    );
    assert!(cited_rules("a schedule 5 overrules 3").is_empty());
}

/// Repository paths a doc cites in backticks (`shared/…`, `template.yaml`, …), outside
/// fenced code blocks; placeholders (`docs/<file>.md`) are not paths.
fn cited_paths(text: &str) -> Vec<String> {
    let roots = ["shared/", "functions/", "infra/", "tests/", "docs/"];
    let mut fenced = false;
    let prose: Vec<&str> = text
        .lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect();
    prose
        .join("\n")
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|span| span.split_whitespace().next())
        .filter(|p| {
            roots.iter().any(|r| p.starts_with(r)) || ["template.yaml", "Makefile"].contains(p)
        })
        .filter(|p| !p.contains(['<', '{', '*']))
        .map(|p| p.trim_end_matches(['.', ',', ':', ';', ')']).to_owned())
        .collect()
}

#[test]
fn every_repository_path_the_docs_cite_exists() {
    let mut seen = 0;
    let mut bad = Vec::new();
    for path in scanned_files()
        .into_iter()
        .filter(|p| p.starts_with(docs_dir()))
    {
        for cited in cited_paths(&read(&path)) {
            seen += 1;
            if !workspace().join(&cited).exists() {
                bad.push(format!("{} cites `{cited}`", relative(&path)));
            }
        }
    }
    assert!(seen > 40, "only {seen} paths found: is the scan broken?");
    assert!(
        bad.is_empty(),
        "moved or renamed? Update the docs:\n{}",
        bad.join("\n")
    );
}

/// The cells of the first table after `heading` in `doc`, header and rule rows skipped,
/// backticks removed.
fn table_after(doc: &str, heading: &str) -> Vec<Vec<String>> {
    let text = read(&docs_dir().join(doc));
    let mut lines = text.lines().skip_while(|l| l.trim() != heading);
    assert!(lines.next().is_some(), "docs/{doc} has no `{heading}`");
    lines
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            row.trim_matches('|')
                .split('|')
                .map(|cell| cell.replace('`', "").trim().to_owned())
                .collect()
        })
        .collect()
}

/// Compares a doc's table with the code's, row by row, naming the first row that differs.
fn same_rows<T: std::fmt::Debug + PartialEq>(doc: &str, from_doc: &[T], from_code: &[T]) {
    for (i, (d, c)) in from_doc.iter().zip(from_code).enumerate() {
        assert_eq!(
            d,
            c,
            "docs/{doc}, row {}: the doc (left) and the code (right) differ",
            i + 1
        );
    }
    assert_eq!(
        from_doc.len(),
        from_code.len(),
        "docs/{doc}: the doc's table and the code have different numbers of rows"
    );
}

#[test]
fn the_service_type_table_matches_the_code_row_by_row() {
    let rows = table_after("mapping-rules.md", "## Service types");
    let from_doc: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    let from_code: Vec<(String, String, String)> = ServiceTypeName::ALL
        .iter()
        .map(|t| {
            let types: Vec<&str> = t.record_types().iter().map(|r| r.filter_name()).collect();
            (
                t.as_str().to_owned(),
                t.category().as_str().to_owned(),
                types.join(", "),
            )
        })
        .collect();
    same_rows("mapping-rules.md", &from_doc, &from_code);
}

#[test]
fn the_time_field_table_matches_the_code_row_by_row() {
    let rows = table_after("telnyx.md", "### Time fields");
    let from_doc: Vec<(String, String, Vec<String>, String)> = rows
        .iter()
        .map(|r| {
            let quantity = if r[2].starts_with('—') {
                Vec::new()
            } else {
                r[2].split(" + ").map(str::to_owned).collect()
            };
            (r[0].clone(), r[1].clone(), quantity, r[3].clone())
        })
        .collect();
    let from_code: Vec<(String, String, Vec<String>, String)> = RecordType::ALL
        .iter()
        .map(|t| {
            (
                t.filter_name().to_owned(),
                t.time_field().to_owned(),
                t.quantity_fields()
                    .iter()
                    .map(|f| (*f).to_owned())
                    .collect(),
                t.cost_field().to_owned(),
            )
        })
        .collect();
    same_rows("telnyx.md", &from_doc, &from_code);
}
