//! Crates and modules form layers, not circles. No library crate (`shared/`, `infra/`)
//! depends on a function crate: the CLI reads the sync's configuration from
//! `lambda-shell`, as the functions do. And within every crate, no module reaches back
//! into a module that reaches it: the `crate::` and `super::` paths of production code
//! (comments, strings and test code left out) give an edge between the two sibling
//! modules they cross, and that graph has no cycle (`billing` ↔ `sync`, the Telnyx client
//! ↔ its walk and the planner ↔ its context once had one).

use integration_tests::source::{code_only, production_files, production_lines};
use integration_tests::tree::workspace;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

/// The module path of `file` under its crate's `src/` (`lib.rs`, `main.rs` and `mod.rs`
/// name their folder's module).
fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: ModPath = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|l| ["lib", "main", "mod"].contains(&l.as_str()))
    {
        parts.pop();
    }
    parts
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The module paths `code` names after `crate::` or `super::` (resolved against
/// `module`), `use` groups (`super::{a, b::c}`) expanded one level.
fn paths_named(code: &str, module: &[String]) -> Vec<ModPath> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let rest: String = chars[i..chars.len().min(i + 7)].iter().collect();
        let at_word = i == 0 || !is_ident(chars[i - 1]);
        if !(at_word && (rest.starts_with("crate::") || rest.starts_with("super::"))) {
            i += 1;
            continue;
        }
        let mut base: ModPath = Vec::new();
        if rest.starts_with("crate::") {
            i += 7;
        } else {
            base = module.to_vec();
            while chars[i..].iter().collect::<String>().starts_with("super::") {
                base.pop();
                i += 7;
            }
        }
        let (segs, next) = segments(&chars, i);
        i = next;
        let mut prefix = base;
        prefix.extend(segs);
        if chars.get(i) == Some(&'{') {
            let (items, close) = group_items(&chars, i);
            for item in items {
                let item: Vec<char> = item.trim().chars().collect();
                let (segs, _) = segments(&item, 0);
                let mut p = prefix.clone();
                p.extend(segs);
                out.push(p);
            }
            i = close;
        } else {
            out.push(prefix);
        }
    }
    out
}

/// The items of the `use` group opening at `chars[open]` (`{a, b::{c, d}}` gives `a` and
/// `b::{c, d}`), and where it closes.
fn group_items(chars: &[char], open: usize) -> (Vec<String>, usize) {
    let mut items = vec![String::new()];
    let mut depth = 0usize;
    for (i, &c) in chars.iter().enumerate().skip(open + 1) {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return (items, i),
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = items.last_mut() {
            last.push(c);
        }
    }
    (items, chars.len())
}

/// The lower-case path segments from `chars[i]` (`a::b::` of `a::b::Type`), and where
/// they end.
fn segments(chars: &[char], mut i: usize) -> (ModPath, usize) {
    let mut segs = Vec::new();
    loop {
        let start = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let is_module = word.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if !is_module {
            return (segs, start);
        }
        segs.push(word);
        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            return (segs, i);
        }
    }
}

/// Every crate's `src/` folder and its production files.
fn crates() -> BTreeMap<PathBuf, Vec<PathBuf>> {
    let mut out: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for file in production_files() {
        let src = file
            .ancestors()
            .find(|a| a.file_name().is_some_and(|n| n == "src"))
            .map(Path::to_path_buf);
        if let Some(src) = src {
            out.entry(src).or_default().push(file);
        }
    }
    out
}

/// Edges between sibling modules of one crate: `a → b` when code in `a` (or below it)
/// names `b` (or something in it).
fn sibling_edges(src: &Path, files: &[PathBuf]) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let modules: BTreeSet<ModPath> = files.iter().map(|f| module_of(src, f)).collect();
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for file in files {
        let from = module_of(src, file);
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let code = code_only(&production_lines(&text)).join("\n");
        for named in paths_named(&code, &from) {
            let Some(to) = (1..=named.len())
                .rev()
                .map(|k| named[..k].to_vec())
                .find(|p| modules.contains(p))
            else {
                continue;
            };
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common < from.len() && common < to.len() {
                edges
                    .entry(from[..=common].to_vec())
                    .or_default()
                    .insert(to[..=common].to_vec());
            }
        }
    }
    edges
}

/// One cycle of `edges`, if there is any, as the modules along it.
fn a_cycle(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Option<Vec<ModPath>> {
    fn visit(
        node: &ModPath,
        edges: &BTreeMap<ModPath, BTreeSet<ModPath>>,
        done: &mut BTreeSet<ModPath>,
        stack: &mut Vec<ModPath>,
    ) -> Option<Vec<ModPath>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, done, stack) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut done, &mut Vec::new()))
}

#[test]
fn no_module_imports_a_module_that_imports_it() {
    let crates = crates();
    assert!(crates.len() >= 8, "every crate read: {:?}", crates.keys());
    let mut cycles = Vec::new();
    let mut edge_count = 0;
    for (src, files) in &crates {
        let edges = sibling_edges(src, files);
        edge_count += edges.values().map(BTreeSet::len).sum::<usize>();
        if let Some(cycle) = a_cycle(&edges) {
            let shown: Vec<String> = cycle.iter().map(|m| m.join("::")).collect();
            let krate = src
                .strip_prefix(workspace())
                .unwrap_or(src)
                .display()
                .to_string();
            cycles.push(format!("{krate}: {}", shown.join(" → ")));
        }
    }
    assert!(edge_count > 100, "the graph was read ({edge_count} edges)");
    assert!(
        cycles.is_empty(),
        "module import cycles:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_graph_sees_paths_through_use_groups_and_super() {
    let module: ModPath = vec!["plan".into(), "services".into()];
    let named = paths_named(
        "use super::{context::{Context, Desired}, messages};\nlet x = crate::sync::messages::f();\nlet y = super::super::domain::Id;",
        &module,
    );
    let shown: Vec<String> = named.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        shown,
        [
            "plan::context",
            "plan::messages",
            "sync::messages::f",
            "domain"
        ]
    );
    let mut edges = BTreeMap::new();
    let m = |s: &str| -> ModPath { s.split("::").map(str::to_owned).collect() };
    edges.insert(m("billing"), BTreeSet::from([m("sync")]));
    edges.insert(m("sync"), BTreeSet::from([m("plan")]));
    assert_eq!(a_cycle(&edges), None);
    edges.insert(m("plan"), BTreeSet::from([m("billing")]));
    assert!(a_cycle(&edges).is_some(), "a cycle of three is found");
}

#[test]
fn no_library_crate_depends_on_a_function_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let root = workspace().canonicalize().expect("workspace");
    let under = |p: &str, folder: &str| Path::new(p).starts_with(root.join(folder));
    let mut libraries = 0;
    let mut bad = Vec::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        let manifest = package["manifest_path"].as_str().unwrap_or_default();
        if !(under(manifest, "shared") || under(manifest, "infra")) {
            continue;
        }
        libraries += 1;
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            if dep["path"].as_str().is_some_and(|p| under(p, "functions")) {
                bad.push(format!("{} → {}", package["name"], dep["name"]));
            }
        }
    }
    assert!(libraries >= 6, "library crates read: {libraries}");
    assert!(bad.is_empty(), "library crates on function crates: {bad:?}");
}
