//! Rooms stay small (STYLE.md, convention 11): no production source file over 600
//! lines, no production function over 80 lines or over 6 parameters, and no `#[allow(`
//! silencing a lint in production code, across the whole workspace. Test code (test
//! modules, files only tests declare (`#[cfg(test)] mod x;`), fakes, fixtures, contract
//! suites, benches) is not production and is not measured.

use integration_tests::source::{code_only, is_test_code, production_files, production_lines};
use integration_tests::tree::workspace;

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;
const MAX_FN_PARAMS: usize = 6;

/// The number of parameters of the function whose signature starts on `code[start]`
/// (`self` in any form not counted).
fn parameters(code: &[String], start: usize) -> usize {
    let text: String = code[start..].join("\n");
    let chars: Vec<char> = text.chars().collect();
    // The parameter list: the first `(` outside the generics after `fn`.
    let mut i = text.find("fn ").map_or(0, |at| text[..at].chars().count());
    let mut angle = 0i32;
    while let Some(&c) = chars.get(i) {
        match c {
            '<' => angle += 1,
            '>' => angle -= 1,
            '(' if angle == 0 => break,
            _ => {}
        }
        i += 1;
    }
    let mut depth = 0i32;
    let mut params = Vec::new();
    let mut current = String::new();
    let mut previous = ' ';
    for &ch in &chars[i.min(chars.len())..] {
        match ch {
            '(' | '<' | '[' | '{' => {
                depth += 1;
                if depth > 1 {
                    current.push(ch);
                }
            }
            '>' if previous == '-' => current.push(ch),
            ')' | '>' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    params.push(std::mem::take(&mut current));
                    break;
                }
                current.push(ch);
            }
            ',' if depth == 1 => params.push(std::mem::take(&mut current)),
            _ => current.push(ch),
        }
        previous = ch;
    }
    params
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .filter(|p| !p.ends_with("self") || p.contains(':'))
        .count()
}

/// `(name, first line, lines)` of every function with a body.
fn functions(code: &[String]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for (start, line) in code.iter().enumerate() {
        let Some(at) = line.find("fn ") else {
            continue;
        };
        let before = line[..at].trim();
        let keyword_ok = before.split_whitespace().all(|w| {
            ["pub", "async", "const", "unsafe", "extern"].contains(&w) || w.starts_with("pub(")
        });
        if !keyword_ok || (at > 0 && !line[..at].ends_with(' ') && !before.is_empty()) {
            continue;
        }
        let name: String = line[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        // The body: from the first `{` at this depth to its matching `}`; a `;` first
        // means a declaration without a body.
        let mut depth = 0i32;
        let mut opened = false;
        'lines: for (offset, l) in code[start..].iter().enumerate() {
            for ch in l.chars() {
                match ch {
                    ';' if !opened && depth == 0 => break 'lines,
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => {
                        depth -= 1;
                        if opened && depth == 0 {
                            out.push((name.clone(), start + 1, offset + 1));
                            break 'lines;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

#[test]
fn no_production_file_is_over_600_lines_no_function_over_80_lines_or_6_parameters_and_no_allow() {
    let files = production_files();
    assert!(
        files.len() > 50,
        "only {} production files found",
        files.len()
    );
    let mut too_big = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("source is readable");
        let lines = production_lines(&text);
        let shown = path.strip_prefix(workspace()).unwrap_or(path).display();
        if lines.len() > MAX_FILE_LINES {
            too_big.push(format!("{shown}: {} lines", lines.len()));
        }
        let code = code_only(&lines);
        for (name, line, length) in functions(&code) {
            if length > MAX_FN_LINES {
                too_big.push(format!("{shown}:{line} fn {name}: {length} lines"));
            }
            let params = parameters(&code, line - 1);
            if params > MAX_FN_PARAMS {
                too_big.push(format!("{shown}:{line} fn {name}: {params} parameters"));
            }
        }
        for (i, l) in code.iter().enumerate() {
            if l.contains("#[allow(") || l.contains("#![allow(") {
                too_big.push(format!(
                    "{shown}:{}: a lint silenced in production: {}",
                    i + 1,
                    l.trim()
                ));
            }
        }
    }
    assert!(
        too_big.is_empty(),
        "rooms past their size:\n{}",
        too_big.join("\n")
    );
}

#[test]
fn the_measure_sees_through_strings_and_counts_a_function_to_its_closing_brace() {
    let src = "fn a() {\n    let s = \"}}}{\";\n    let c = '}';\n    // }\n    x(r#\"{\"#);\n}\nfn b();\npub async fn c<'a>(x: &'a str) {\n}\n";
    let lines: Vec<&str> = src.lines().collect();
    let found = functions(&code_only(&lines));
    assert_eq!(found, vec![("a".to_owned(), 1, 6), ("c".to_owned(), 8, 2)]);
}

#[test]
fn parameters_are_counted_at_the_top_level_of_the_signature_without_self() {
    let src = "pub(crate) async fn f<'a, T: Into<(u8, u8)>>(\n    &'a self,\n    x: BTreeMap<String, (u8, u8)>,\n    y: impl Fn(u8, u8) -> u8,\n    [a, b]: [u8; 2],\n) -> (u8, u8) {\n}\nfn g() {}\n";
    let lines: Vec<&str> = src.lines().collect();
    let code = code_only(&lines);
    assert_eq!(parameters(&code, 0), 3);
    assert_eq!(parameters(&code, 7), 0);
}

#[test]
fn a_file_its_parent_declares_under_cfg_test_is_test_code() {
    let root = workspace().join("shared/reconciliation/src/sync");
    assert!(is_test_code(&root.join("billing_tests.rs")));
    assert!(is_test_code(&root.join("billing_world.rs")));
    assert!(!is_test_code(&root.join("windows.rs")));
    assert!(!is_test_code(&root.join("walk.rs")));
}
