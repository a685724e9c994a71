//! Resumable per-item results files (JSONL, one finished item per line) and the shared
//! pieces of reports: per-test outcomes, pass@k summaries.
use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use recode_cua::pass_at_k;
use recode_sandbox::{RunOutput, SandboxError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::EvalError;

/// How one program run ended, as reports record it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestOutcome {
    /// Index of the unit test (or check) in its item.
    pub test: usize,
    /// `ok`, `Timeout`, `Killed(SIGKILL)`, an exception type (`AssertionError`,
    /// `SyntaxError`, …), `Exit(n)`, or `SandboxError` when the program could not be run.
    pub class: String,
    /// The traceback's exception line (or the last line of stderr); `None` when it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Wall-clock seconds.
    pub wall_s: f64,
}

impl TestOutcome {
    /// The outcome of a run (or of a failure to run).
    pub fn from_run(test: usize, run: &Result<RunOutput, SandboxError>) -> TestOutcome {
        match run {
            Ok(out) => TestOutcome {
                test,
                class: out.error_class().to_string(),
                line: out.error_line().map(|l| truncate(&l, 300)),
                wall_s: round3(out.wall.as_secs_f64()),
            },
            Err(e) => TestOutcome { test, class: "SandboxError".into(), line: Some(e.to_string()), wall_s: 0.0 },
        }
    }

    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.class == "ok"
    }
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// pass@k-style numbers over a set of problems.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Problems (items) counted.
    pub items: usize,
    /// Samples counted.
    pub samples: usize,
    /// Samples that passed.
    pub passed_samples: usize,
    /// `pass@k` for every k ≤ n: mean unbiased estimate over problems, in [0, 1].
    pub pass_at: BTreeMap<String, f64>,
    /// `upass@k` (CodeUpdateArena only): the same estimator over UPass samples.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub upass_at: BTreeMap<String, f64>,
}

impl Summary {
    /// From `(n, passed, upassed)` per problem; `ks` above a problem's n are skipped.
    pub fn from_counts(counts: &[(usize, usize, Option<usize>)], ks: &[usize]) -> Summary {
        let mut summary = Summary {
            items: counts.len(),
            samples: counts.iter().map(|c| c.0).sum(),
            passed_samples: counts.iter().map(|c| c.1).sum(),
            ..Summary::default()
        };
        for &k in ks {
            let usable: Vec<_> = counts.iter().filter(|c| c.0 >= k).collect();
            if usable.is_empty() {
                continue;
            }
            let mean = |f: &dyn Fn(&(usize, usize, Option<usize>)) -> usize| {
                usable.iter().map(|c| pass_at_k(c.0, f(c), k).unwrap_or(0.0)).sum::<f64>() / usable.len() as f64
            };
            summary.pass_at.insert(format!("pass@{k}"), round6(mean(&|c| c.1)));
            if usable.iter().all(|c| c.2.is_some()) {
                summary.upass_at.insert(format!("upass@{k}"), round6(mean(&|c| c.2.unwrap_or(0))));
            }
        }
        summary
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A per-item results file: finished items are appended one JSON line each, so an
/// interrupted run continues where it stopped.
///
/// Every line carries a `key` (what was evaluated and how: candidates, sampling, n); on
/// [`ResultsFile::open`] lines of another key or of items not in this run are dropped, a last
/// line cut short by an interruption is dropped, and the file is rewritten with what is kept.
/// Any other malformed line is an error (`FILE:LINE`).
pub struct ResultsFile<T> {
    path: PathBuf,
    file: File,
    /// The finished items read back, by id.
    pub done: BTreeMap<String, T>,
    /// Lines dropped on open (another key, unknown item, cut short), for the progress message.
    pub dropped: usize,
}

/// What a results line must provide.
pub trait ResultLine: Serialize + DeserializeOwned {
    /// The item's id.
    fn id(&self) -> &str;
    /// The run key the line was written under.
    fn key(&self) -> &str;
}

impl<T: ResultLine> ResultsFile<T> {
    /// Reads what `path` holds for `key` and these `ids`, rewrites it with only that, and
    /// opens it for appending.
    pub fn open(path: &Path, key: &str, ids: &HashSet<&str>) -> Result<ResultsFile<T>, EvalError> {
        let mut done = BTreeMap::new();
        let mut dropped = 0;
        let mut kept = Vec::new();
        match std::fs::read(path) {
            Ok(bytes) => {
                let file = path.display().to_string();
                let complete = bytes.ends_with(b"\n");
                let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
                let count = lines.len();
                for (i, line) in lines.into_iter().enumerate() {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let last = i + 1 == count || (i + 2 == count && complete);
                    match serde_json::from_slice::<T>(line) {
                        Ok(value) => {
                            if value.key() == key && ids.contains(value.id()) && !done.contains_key(value.id()) {
                                kept.extend_from_slice(line);
                                kept.push(b'\n');
                                done.insert(value.id().to_string(), value);
                            } else {
                                dropped += 1;
                            }
                        }
                        Err(_) if last && !complete => dropped += 1,
                        Err(e) => return Err(EvalError::line(&file, i + 1, "<record>", e.to_string())),
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(EvalError::Io { op: "read", path: path.to_path_buf(), error }),
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| EvalError::Io {
                op: "create",
                path: parent.to_path_buf(),
                error,
            })?;
        }
        recode_data::write_atomic(path, &kept).map_err(|error| EvalError::Io {
            op: "write",
            path: path.to_path_buf(),
            error,
        })?;
        let file = OpenOptions::new().append(true).open(path).map_err(|error| EvalError::Io {
            op: "open",
            path: path.to_path_buf(),
            error,
        })?;
        Ok(ResultsFile { path: path.to_path_buf(), file, done, dropped })
    }

    /// Appends one finished item (one write of the whole line).
    pub fn append(&mut self, value: &T) -> Result<(), EvalError> {
        let mut line = serde_json::to_vec(value).expect("results serialise");
        line.push(b'\n');
        self.file.write_all(&line).and_then(|()| self.file.flush()).map_err(|error| EvalError::Io {
            op: "append to",
            path: self.path.clone(),
            error,
        })
    }
}
