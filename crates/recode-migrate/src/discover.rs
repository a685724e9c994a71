//! Which files a run looks at.
//!
//! A path given as a file is always taken (whatever its extension: the user asked for it). A
//! directory is walked recursively for `*.py` files (stubs, `*.pyi`, are not migrated), in
//! sorted order, without following symbolic links, skipping the directories
//! ruff skips by default (`.git`, `.venv`, `venv`, `node_modules`, `site-packages`, `build`,
//! `dist`, `__pycache__`, …) and every hidden directory.
use std::path::{Path, PathBuf};

/// Directory names never entered (ruff's default exclusions, plus `__pycache__`).
pub const SKIPPED_DIRS: &[&str] = &[
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pypackages__",
    "__pycache__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
];

/// A file to process: where it is and how to name it in messages and diffs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    pub display: String,
}

/// The files under `paths`, and a message for each path that cannot be used
/// (`PATH: does not exist`, `DIR: cannot list: …`).
pub fn discover(paths: &[PathBuf]) -> (Vec<Found>, Vec<(String, String)>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let display = path.display().to_string();
        match std::fs::metadata(path) {
            Err(e) => errors.push((display, format!("cannot read: {e}"))),
            Ok(meta) if meta.is_dir() => walk(path, &mut found, &mut errors),
            Ok(_) => found.push(Found { path: path.clone(), display }),
        }
    }
    // The same file named twice (as a file and inside a directory) is processed once.
    let mut seen = std::collections::HashSet::new();
    found.retain(|f| seen.insert(std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone())));
    (found, errors)
}

fn walk(dir: &Path, found: &mut Vec<Found>, errors: &mut Vec<(String, String)>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push((dir.display().to_string(), format!("cannot list directory: {e}")));
            return;
        }
    };
    let mut children: Vec<(PathBuf, std::fs::FileType)> = Vec::new();
    for entry in entries {
        match entry.and_then(|e| Ok((e.path(), e.file_type()?))) {
            Ok(child) => children.push(child),
            Err(e) => errors.push((dir.display().to_string(), format!("cannot list directory: {e}"))),
        }
    }
    children.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, kind) in children {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if kind.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_str()) {
                walk(&path, found, errors);
            }
        } else if kind.is_file() && name.ends_with(".py") {
            found.push(Found { display: path.display().to_string(), path });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_skips_excluded_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in ["b.py", "a/x.py", "a/notes.txt", ".hidden/h.py", "venv/v.py", "a/__pycache__/c.py"] {
            let path = root.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let (found, errors) = discover(&[root.to_path_buf(), root.join("b.py"), root.join("missing.py")]);
        let names: Vec<_> = found.iter().map(|f| f.path.strip_prefix(root).unwrap().display().to_string()).collect();
        assert_eq!(names, ["a/x.py", "b.py"]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].0.ends_with("missing.py"));
    }
}
