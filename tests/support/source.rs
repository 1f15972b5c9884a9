//! The workspace's production Rust source, for the tests that read it (room sizes,
//! the module graph): which files are production, each file's lines without its inline
//! test module, and its code with strings and comments blanked. Test code (test
//! modules, files only tests declare (`#[cfg(test)] mod x;`), fakes, fixtures, contract
//! suites) is not production.

use crate::tree::{files_under, workspace};
use std::path::{Path, PathBuf};

/// Test code, by path: whole files that only tests (or the `test-util` feature) use —
/// by where they live, or because their parent module declares them under
/// `#[cfg(test)]`.
pub fn is_test_code(path: &Path) -> bool {
    let s = path.to_string_lossy();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    s.contains("/fakes/")
        || s.contains("/contract/")
        || ["tests.rs", "proptests.rs", "fixtures.rs", "test_util.rs"].contains(&name.as_str())
        || declared_for_tests_only(path)
}

/// True when the module file at `path` is declared `#[cfg(test)] mod <name>;` by its
/// parent (`mod.rs`, `lib.rs` or `main.rs` beside it, or `<dir>.rs` above it).
pub fn declared_for_tests_only(path: &Path) -> bool {
    let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
        return false;
    };
    let Some(dir) = path.parent() else {
        return false;
    };
    let mut parents: Vec<PathBuf> = ["mod.rs", "lib.rs", "main.rs"]
        .iter()
        .map(|n| dir.join(n))
        .collect();
    parents.push(dir.with_extension("rs"));
    parents
        .iter()
        .filter(|p| p.as_path() != path)
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .any(|text| {
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            lines.iter().enumerate().any(|(i, l)| {
                let declares = *l == format!("mod {stem};") || *l == format!("pub mod {stem};");
                declares
                    && lines[..i]
                        .iter()
                        .rev()
                        .take_while(|a| a.starts_with("#["))
                        .any(|a| *a == "#[cfg(test)]")
            })
        })
}

/// Every production `.rs` file under a crate's `src/`.
pub fn production_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = workspace();
    for group in ["functions", "shared", "infra"] {
        let Ok(crates) = std::fs::read_dir(root.join(group)) else {
            continue;
        };
        for krate in crates.flatten() {
            out.extend(files_under(&krate.path().join("src"), &["rs"]));
        }
    }
    out.retain(|p| !is_test_code(p));
    out.sort();
    out
}

/// The file's lines up to its inline `#[cfg(test)]` module (attributes between the two
/// allowed), if any.
pub fn production_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let starts_test_module = |i: usize| {
        lines[i].trim() == "#[cfg(test)]"
            && lines[i + 1..]
                .iter()
                .find(|l| !l.trim_start().starts_with("#["))
                .is_some_and(|l| l.trim_start().starts_with("mod "))
    };
    let cut = (0..lines.len())
        .find(|&i| starts_test_module(i))
        .unwrap_or(lines.len());
    lines[..cut].to_vec()
}

/// The code of each line with strings, chars and comments blanked, so braces inside
/// format strings never count.
pub fn code_only(lines: &[&str]) -> Vec<String> {
    let text = lines.join("\n");
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut block_depth = 0usize;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if block_depth > 0 {
            if c == '*' && next == Some('/') {
                block_depth -= 1;
                i += 2;
            } else if c == '/' && next == Some('*') {
                block_depth += 1;
                i += 2;
            } else {
                out.push(if c == '\n' { '\n' } else { ' ' });
                i += 1;
            }
            continue;
        }
        match c {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                block_depth = 1;
                i += 2;
            }
            'r' if matches!(next, Some('"') | Some('#'))
                && !chars
                    .get(i.wrapping_sub(1))
                    .is_some_and(|p| p.is_alphanumeric() || *p == '_') =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    out.push(c);
                    i += 1;
                    continue;
                }
                j += 1;
                loop {
                    match chars.get(j) {
                        None => break,
                        Some('"') if (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) => {
                            j += 1 + hashes;
                            break;
                        }
                        Some('\n') => out.push('\n'),
                        _ => {}
                    }
                    j += 1;
                }
                i = j;
            }
            '"' => {
                let mut j = i + 1;
                while let Some(&d) = chars.get(j) {
                    if d == '\\' {
                        j += 2;
                        continue;
                    }
                    if d == '\n' {
                        out.push('\n');
                    }
                    if d == '"' {
                        break;
                    }
                    j += 1;
                }
                i = j + 1;
            }
            '\'' if chars.get(i + 2) == Some(&'\'') || next == Some('\\') => {
                // A char literal ('{' or '\n'); a lifetime has no closing quote.
                let mut j = i + 1;
                while let Some(&d) = chars.get(j) {
                    if d == '\\' {
                        j += 2;
                        continue;
                    }
                    if d == '\'' {
                        break;
                    }
                    j += 1;
                }
                i = j + 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out.split('\n').map(str::to_owned).collect()
}
