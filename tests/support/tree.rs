//! The repository's own files, for the tests that read the source tree (room sizes,
//! docs links): the workspace root and a walk that skips hidden folders, `target/` and
//! `node_modules/`.

use std::path::{Path, PathBuf};

/// The workspace root (the folder holding the workspace's `Cargo.toml`).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file under `dir` whose extension is one of `extensions`, depth first; build
/// output, installed packages and hidden folders are skipped. A missing `dir` is empty.
pub fn files_under(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect(dir, extensions, &mut out);
    out
}

fn collect(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if p.is_dir() {
            collect(&p, extensions, out);
        } else if p
            .extension()
            .is_some_and(|x| extensions.contains(&x.to_string_lossy().as_ref()))
        {
            out.push(p);
        }
    }
}
