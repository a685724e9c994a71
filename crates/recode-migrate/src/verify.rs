//! `--verify CMD`: run the user's command (their tests) on a temporary copy of the tree with
//! the changes applied, inside the sandbox, before anything is written.
//!
//! The tree (the verify root, by default the current directory) is copied to a new temporary
//! directory — symbolic links stay links, permissions are kept, and `.git`, `__pycache__`,
//! tool caches and virtual environments (`.venv`, `venv`, `.tox`, `.nox`, `node_modules`) are
//! left out — then the changed files are written into the copy. `CMD` runs with `/bin/sh`
//! in the [`recode_sandbox::Sandbox`] (own process group, limits, no network where the
//! platform allows it, a wall-clock limit), from the copy's root, with `PYTHONPATH` starting
//! with the copy's root (so the copy's top-level modules shadow an editable install of the
//! original) and `PATH`, `HOME`, `VIRTUAL_ENV`, `CONDA_PREFIX` and the old `PYTHONPATH`
//! passed on. The copy is removed afterwards.
//!
//! **Per file.** All changes are tried together first; when that passes, every changed file
//! passes. When it fails and several files changed, each file's changes are tried alone, so
//! that each file gets its own verdict.
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use recode_sandbox::{Limits, RunSpec, Sandbox};

use crate::MigrateError;

/// Directory names not copied.
pub const NOT_COPIED: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "node_modules",
];

/// How to verify. Default timeout (via [`VerifyConfig::new`]): 600 s per run.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// The shell command (run by `/bin/sh`).
    pub command: String,
    /// The tree that is copied; changed files must lie inside it.
    pub root: PathBuf,
    /// Wall-clock limit of one run.
    pub timeout: Duration,
}

impl VerifyConfig {
    pub fn new(command: impl Into<String>, root: impl Into<PathBuf>) -> Self {
        VerifyConfig { command: command.into(), root: root.into(), timeout: Duration::from_secs(600) }
    }
}

/// The verdict of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub passed: bool,
    /// `exit 0`, `exit 1: AssertionError: …`, `timed out after 600 s`, …
    pub detail: String,
}

/// Runs the command once with `changes` (absolute or relative paths and their new contents)
/// applied to a copy of the tree.
pub fn run_once(config: &VerifyConfig, changes: &[(PathBuf, String)]) -> Result<Verdict, MigrateError> {
    let io = |what: String, e: std::io::Error| MigrateError::Verify(format!("{what}: {e}"));
    let root =
        std::fs::canonicalize(&config.root).map_err(|e| io(format!("verify root {}", config.root.display()), e))?;
    let temp =
        tempfile::Builder::new().prefix("recode-verify-").tempdir().map_err(|e| io("temporary directory".into(), e))?;
    let copy = temp.path().join("tree");
    copy_tree(&root, &copy).map_err(|e| io(format!("copying {} to {}", root.display(), copy.display()), e))?;
    for (path, text) in changes {
        let absolute = std::fs::canonicalize(path).map_err(|e| io(path.display().to_string(), e))?;
        let relative = absolute.strip_prefix(&root).map_err(|_| {
            MigrateError::Verify(format!(
                "{} is outside the verify root {} (pass --verify-root)",
                path.display(),
                root.display()
            ))
        })?;
        std::fs::write(copy.join(relative), text).map_err(|e| io(copy.join(relative).display().to_string(), e))?;
    }
    let script = format!("cd {} || exit 125\n{}\n", shell_quote(&copy.to_string_lossy()), config.command);
    let mut spec = RunSpec::new("/bin/sh", script);
    spec.script_name = "recode-verify.sh".to_string();
    let mut python_path = OsString::from(copy.as_os_str());
    if let Some(old) = std::env::var_os("PYTHONPATH").filter(|v| !v.is_empty()) {
        python_path.push(":");
        python_path.push(old);
    }
    spec = spec.env("PYTHONPATH", python_path).env("PYTHONDONTWRITEBYTECODE", "1");
    for name in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(value) = std::env::var_os(name) {
            spec = spec.env(name, value);
        }
    }
    spec = spec.limits(Limits { wall: config.timeout, ..Limits::default() });
    let output = Sandbox::new().run(&spec).map_err(|e| MigrateError::Verify(e.to_string()))?;
    let detail = if output.success() {
        "exit 0".to_string()
    } else if output.timed_out {
        format!("timed out after {} s", config.timeout.as_secs())
    } else {
        let line = output.error_line().unwrap_or_default();
        match (output.exit_code(), output.signal()) {
            (Some(code), _) => format!("exit {code}: {line}"),
            (None, Some(signal)) => format!("killed by {}", recode_sandbox::signal_name(signal)),
            _ => line,
        }
    };
    Ok(Verdict { passed: output.success(), detail })
}

/// A verdict per changed file: all together first; on failure with several files, each alone.
pub fn per_file(config: &VerifyConfig, changes: &[(PathBuf, String)]) -> Result<Vec<Verdict>, MigrateError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let together = run_once(config, changes)?;
    if together.passed || changes.len() == 1 {
        return Ok(vec![together; changes.len()]);
    }
    changes.iter().map(|change| run_once(config, std::slice::from_ref(change))).collect()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        let target = to.join(&name);
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else if kind.is_dir() {
            if !NOT_COPIED.contains(&name.to_string_lossy().as_ref()) {
                copy_tree(&entry.path(), &target)?;
            }
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_a_copy_with_the_changes_and_leaves_the_tree_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("mod.py"), "VALUE = 1\n").unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/big"), "x").unwrap();
        let config =
            VerifyConfig::new("test ! -e .git && python3 -c 'import mod; assert mod.VALUE == 2, mod.VALUE'", root);
        let fail = run_once(&config, &[]).unwrap();
        assert!(!fail.passed && fail.detail.contains("AssertionError"), "{fail:?}");
        let change = vec![(root.join("mod.py"), "VALUE = 2\n".to_string())];
        assert!(run_once(&config, &change).unwrap().passed);
        assert_eq!(std::fs::read_to_string(root.join("mod.py")).unwrap(), "VALUE = 1\n");
        let outside = vec![(std::env::current_dir().unwrap().join("Cargo.toml"), String::new())];
        assert!(run_once(&config, &outside).unwrap_err().to_string().contains("outside the verify root"));
    }

    #[test]
    fn failing_together_splits_per_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a.py"), "A = 1\n").unwrap();
        std::fs::write(root.join("b.py"), "B = 1\n").unwrap();
        let config = VerifyConfig::new("python3 -c 'import a, b; assert a.A == 2 or b.B == 1'", root);
        let changes = vec![(root.join("a.py"), "A = 2\n".to_string()), (root.join("b.py"), "B = 2\n".to_string())];
        let verdicts = per_file(&config, &changes).unwrap();
        assert_eq!(verdicts.iter().map(|v| v.passed).collect::<Vec<_>>(), [true, true]);
        let config = VerifyConfig::new("python3 -c 'import a, b; assert b.B == 1'", root);
        let verdicts = per_file(&config, &changes).unwrap();
        assert_eq!(verdicts.iter().map(|v| v.passed).collect::<Vec<_>>(), [true, false]);
    }
}
