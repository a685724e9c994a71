//! In-domain migration metrics on ReCode-format items: each completion (the text after the
//! training prompt's prefilled `<think>`, spec §3.1) is scored against the item's `new_code`:
//!
//! - **EM**: the extracted code equals the target after the reward's normalisation (§4.3);
//! - **ES**: `1 − lev/max_len` of the normalised code and target (0 without parsable code);
//! - **ES\***: the reward's correctness term (§4.5), in [−2, 2];
//! - **syntax-valid**: a python block was found and its normalised code parses (CPython 3.11);
//! - **execution pass** (items with `check` and `new_env` only): the extracted code plus the
//!   item's `check` runs cleanly in the item's environment, deprecation warnings as errors —
//!   the rule the training data itself was proven with (`recode data check --exec`, R0).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use recode_data::Item;
use recode_rewards::{Mode, extract_code, normalize};
use recode_sandbox::{Limits, RunSpec, Sandbox, map_ordered};
use serde::Serialize;

use crate::error::EvalError;
use crate::results::{TestOutcome, round3};

/// The interpreter flags of the execution check (the data check's R0).
pub const WARNING_FLAGS: [&str; 6] =
    ["-W", "error::DeprecationWarning", "-W", "error::PendingDeprecationWarning", "-W", "error::FutureWarning"];

/// The environment the execution check's programs get (the data check's).
pub const PROGRAM_ENV: [(&str, &str); 5] = [
    ("MPLBACKEND", "Agg"),
    ("PYTHONHASHSEED", "0"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
    ("CUDA_VISIBLE_DEVICES", ""),
    ("JAX_PLATFORMS", "cpu"),
];

/// The scores of one completion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationScore {
    pub item: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub sample: usize,
    pub format: f64,
    pub em: bool,
    pub es: f64,
    pub es_star: f64,
    pub syntax_valid: bool,
    /// `None` when the item has no executable check (or its environment is missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<TestOutcome>,
    /// Why the execution check did not run, when the item has a check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec_skipped: Option<String>,
}

/// Scores without execution.
pub fn score_text(item: &Item, completion: &str, mode: Mode) -> (f64, bool, f64, f64, bool, Option<String>) {
    let scores = recode_rewards::score(completion, &item.new_code, mode);
    let code = extract_code(completion, mode).map(|c| c.into_owned());
    let (em, es, valid) = match &code {
        Some(code) => {
            let normalised = normalize(code, mode);
            let valid = matches!(recode_python::check_module(&normalised), recode_python::Verdict::Valid);
            let target = normalize(&item.new_code, mode);
            if valid {
                (normalised == target, recode_rewards::edit_similarity(&normalised, &target), true)
            } else {
                (false, 0.0, false)
            }
        }
        None => (false, 0.0, false),
    };
    (scores.format, em, es, scores.es_star, valid, code)
}

/// Aggregates over samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MigrationSummary {
    pub samples: usize,
    pub em_rate: f64,
    pub mean_es: f64,
    pub mean_es_star: f64,
    pub syntax_valid_rate: f64,
    pub format_rate: f64,
    /// Samples whose execution check ran.
    pub exec_samples: usize,
    /// Of those, the fraction that passed (`None` when none ran).
    pub exec_pass_rate: Option<f64>,
}

impl MigrationSummary {
    pub fn of(scores: &[&MigrationScore]) -> MigrationSummary {
        let n = scores.len();
        if n == 0 {
            return MigrationSummary::default();
        }
        let mean = |f: &dyn Fn(&MigrationScore) -> f64| round6(scores.iter().map(|s| f(s)).sum::<f64>() / n as f64);
        let ran: Vec<_> = scores.iter().filter_map(|s| s.exec.as_ref()).collect();
        MigrationSummary {
            samples: n,
            em_rate: mean(&|s| f64::from(u8::from(s.em))),
            mean_es: mean(&|s| s.es),
            mean_es_star: mean(&|s| s.es_star),
            syntax_valid_rate: mean(&|s| f64::from(u8::from(s.syntax_valid))),
            format_rate: mean(&|s| f64::from(u8::from(s.format > 0.0))),
            exec_samples: ran.len(),
            exec_pass_rate: (!ran.is_empty())
                .then(|| round6(ran.iter().filter(|o| o.passed()).count() as f64 / ran.len() as f64)),
        }
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The report of `recode eval migrate`.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    pub files: Vec<String>,
    pub candidates: String,
    pub reward_mode: Mode,
    pub overall: MigrationSummary,
    /// By the items' `dependency`.
    pub by_library: BTreeMap<String, MigrationSummary>,
    /// Environments the execution check needed and did not find.
    pub missing_envs: Vec<String>,
    pub wall_s: f64,
    pub scores: Vec<MigrationScore>,
}

impl MigrationReport {
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# In-domain migration\n\n- files: {}\n- candidates: {}\n- reward mode: {:?}\n- wall time: {:.1} s\n\n\
             | set | samples | EM | ES | ES* | syntax-valid | format | exec samples | exec pass |\n|---|---|---|---|---|---|---|---|---|\n",
            self.files.join(", "),
            self.candidates,
            self.reward_mode,
            self.wall_s
        );
        let row = |name: &str, s: &MigrationSummary| {
            format!(
                "| {name} | {} | {:.1} % | {:.3} | {:.3} | {:.1} % | {:.1} % | {} | {} |\n",
                s.samples,
                s.em_rate * 100.0,
                s.mean_es,
                s.mean_es_star,
                s.syntax_valid_rate * 100.0,
                s.format_rate * 100.0,
                s.exec_samples,
                s.exec_pass_rate.map_or("–".to_string(), |r| format!("{:.1} %", r * 100.0))
            )
        };
        out.push_str(&row("**all**", &self.overall));
        for (name, s) in &self.by_library {
            out.push_str(&row(name, s));
        }
        if !self.missing_envs.is_empty() {
            out.push_str(&format!(
                "\nExecution check skipped for items whose environment is missing: {} (scripts/setup-data-envs).\n",
                self.missing_envs.join(", ")
            ));
        }
        out
    }
}

/// Scores `completions[i]` (samples of `items[i]`), running the execution checks over `jobs`
/// threads in `sandbox` with each item's `new_env` under `envs_dir`.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    items: &[Item],
    completions: &[Vec<String>],
    files: Vec<String>,
    candidates: String,
    mode: Mode,
    sandbox: &Sandbox,
    limits: &Limits,
    envs_dir: Option<&Path>,
    jobs: usize,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<MigrationReport, EvalError> {
    if items.len() != completions.len() {
        return Err(EvalError::Config(format!("{} items but {} completion lists", items.len(), completions.len())));
    }
    let start = Instant::now();
    let mut missing = std::collections::BTreeSet::new();
    let python_of = |item: &Item| -> Option<Result<PathBuf, String>> {
        let check = item.check.as_ref()?;
        if check.trim().is_empty() {
            return None;
        }
        let env = item.new_env.as_ref()?;
        let dir = envs_dir?;
        let python = dir.join(env).join("bin").join("python");
        Some(if python.exists() { Ok(python) } else { Err(env.clone()) })
    };
    let jobs_list: Vec<(usize, usize)> =
        completions.iter().enumerate().flat_map(|(i, c)| (0..c.len()).map(move |s| (i, s))).collect();
    for item in items {
        if let Some(Err(env)) = python_of(item) {
            missing.insert(env);
        }
    }
    let scores = map_ordered(
        &jobs_list,
        jobs,
        |_, &(i, s)| {
            let item = &items[i];
            let (format, em, es, es_star, syntax_valid, code) = score_text(item, &completions[i][s], mode);
            let (exec, exec_skipped) = match (python_of(item), code) {
                (None, _) => (None, None),
                (Some(Err(env)), _) => (None, Some(format!("environment {env} not found"))),
                (Some(Ok(_)), None) => {
                    (Some(TestOutcome { test: 0, class: "NoCode".into(), line: None, wall_s: 0.0 }), None)
                }
                (Some(Ok(python)), Some(code)) => {
                    let source = format!("{code}\n{}\n", item.check.as_deref().unwrap_or(""));
                    let mut spec = RunSpec::new(python, source).limits(limits.clone());
                    for flag in WARNING_FLAGS {
                        spec = spec.flag(flag);
                    }
                    for (k, v) in PROGRAM_ENV {
                        spec = spec.env(k, v);
                    }
                    (Some(TestOutcome::from_run(0, &sandbox.run(&spec))), None)
                }
            };
            MigrationScore {
                item: i,
                id: item.id.clone(),
                sample: s,
                format,
                em,
                es,
                es_star,
                syntax_valid,
                exec,
                exec_skipped,
            }
        },
        |p, _, _| progress(p.done, p.total),
    );
    let all: Vec<&MigrationScore> = scores.iter().collect();
    let libraries: std::collections::BTreeSet<&str> = items.iter().map(|i| i.dependency.as_str()).collect();
    let by_library = libraries
        .iter()
        .map(|lib| {
            let subset: Vec<&MigrationScore> = scores.iter().filter(|s| items[s.item].dependency == *lib).collect();
            (lib.to_string(), MigrationSummary::of(&subset))
        })
        .collect();
    Ok(MigrationReport {
        files,
        candidates,
        reward_mode: mode,
        overall: MigrationSummary::of(&all),
        by_library,
        missing_envs: missing.into_iter().collect(),
        wall_s: round3(start.elapsed().as_secs_f64()),
        scores,
    })
}

/// A completion that answers with the reference migration (`--reference`, the self-check).
pub fn reference_completion(item: &Item) -> String {
    format!("\nThe reference migration.\n</think>\n<answer>\n```python\n{}\n```\n</answer>", item.new_code.trim_end())
}
