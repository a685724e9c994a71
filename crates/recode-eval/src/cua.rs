//! The CodeUpdateArena harness (spec §6.1): for each item and sample, every unit test runs as
//! its own program with the update enforced (pass) and, for samples that pass, without it
//! (UPass: passes with the update and fails without it).
//!
//! Candidates come from the reference solutions ([`Candidates::Reference`], the harness's
//! self-check) or from any [`Generator`] ([`Candidates::Generator`]: an OpenAI-compatible
//! endpoint, a local model), prompted with ReCode's zero-shot test prompt; the candidate is the
//! first python block of the answer.
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use recode_cua::{Item, Variant, build_program, candidate_from_answer, zero_shot_messages};
use recode_generate::{Generator, SamplingParams};
use recode_sandbox::{Executor, Limits, RunSpec, map_ordered};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::env::EnvInfo;
use crate::error::EvalError;
use crate::results::{ResultLine, ResultsFile, Summary, TestOutcome, round3, truncate};

/// Where candidates come from.
#[derive(Clone, Copy)]
pub enum Candidates<'a> {
    /// Each item's `ref_solution` (n = 1 is enough: it is deterministic).
    Reference,
    /// Completions of the zero-shot prompt.
    Generator(&'a dyn Generator),
}

impl Candidates<'_> {
    /// For reports and the run key.
    pub fn describe(&self) -> String {
        match self {
            Candidates::Reference => "reference solutions".to_string(),
            Candidates::Generator(g) => g.describe(),
        }
    }
}

/// Settings of a run. Defaults (via [`CuaConfig::new`]): n = 1, k ∈ {1, 5}, one job per core,
/// greedy sampling with 1024 new tokens, 32 items per generation call, UPass measured, the
/// sandbox's default limits (15 s per test).
#[derive(Debug, Clone)]
pub struct CuaConfig {
    /// Samples per item.
    pub n: usize,
    /// The k of pass@k and UPass@k (those above n are left out of the report).
    pub ks: Vec<usize>,
    /// Programs run in parallel.
    pub jobs: usize,
    /// Sampling (its `n` is replaced by [`CuaConfig::n`]).
    pub sampling: SamplingParams,
    /// Items per call of the generator (a results line is written per finished item).
    pub generation_batch: usize,
    /// Also run the programs without the update, for UPass.
    pub upass: bool,
    /// Limits of every program.
    pub limits: Limits,
    /// Extra environment variables of every program.
    pub program_env: Vec<(String, String)>,
}

impl CuaConfig {
    pub fn new() -> Self {
        CuaConfig {
            n: 1,
            ks: vec![1, 5],
            jobs: recode_sandbox::default_jobs(),
            sampling: SamplingParams { max_new_tokens: 1024, ..SamplingParams::default() },
            generation_batch: 32,
            upass: true,
            limits: Limits::default(),
            program_env: vec![("PYTHONDONTWRITEBYTECODE".into(), "1".into())],
        }
    }
}

impl Default for CuaConfig {
    fn default() -> Self {
        CuaConfig::new()
    }
}

/// The programs of one variant of one sample, in test order; stops at the first failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantOutcome {
    /// Every test passed.
    pub passed: bool,
    /// The tests that ran (up to and including the first failure).
    pub tests: Vec<TestOutcome>,
}

/// One sample of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleResult {
    pub sample: usize,
    /// The generated text (after the prefill); absent for reference solutions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Generation stopped at the token limit.
    #[serde(default)]
    pub truncated: bool,
    /// Whether a python block was found (always for reference solutions).
    pub has_code: bool,
    /// All tests pass with the update.
    pub pass: bool,
    /// Passes with the update and fails without it (`None` when UPass was not measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upass: Option<bool>,
    /// `ok`, `NoCode`, or the class of the first failing test with the update.
    pub class: String,
    pub with_update: VariantOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without_update: Option<VariantOutcome>,
}

/// One finished item: a line of the results file and an entry of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    pub item_id: String,
    pub update_id: String,
    pub package: String,
    pub update_type: String,
    /// The run key (candidates, n, sampling) this was computed under.
    pub key: String,
    pub samples: Vec<SampleResult>,
}

impl ResultLine for ItemResult {
    fn id(&self) -> &str {
        &self.item_id
    }
    fn key(&self) -> &str {
        &self.key
    }
}

impl ItemResult {
    fn counts(&self) -> (usize, usize, Option<usize>) {
        let n = self.samples.len();
        let c = self.samples.iter().filter(|s| s.pass).count();
        let u = self.samples.iter().map(|s| s.upass.map(usize::from)).sum::<Option<usize>>();
        (n, c, u)
    }
}

/// Everything a run found: metrics, breakdowns, the environment, every sample.
#[derive(Debug, Clone, Serialize)]
pub struct CuaReport {
    pub benchmark: Value,
    pub candidates: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling: Option<SamplingParams>,
    pub n: usize,
    pub ks: Vec<usize>,
    pub executor: String,
    pub environment: EnvInfo,
    pub limits: Value,
    pub overall: Summary,
    pub by_package: BTreeMap<String, Summary>,
    pub by_update_type: BTreeMap<String, Summary>,
    /// Samples by class (`ok`, `NoCode`, exception types, `Timeout`, …).
    pub classes: BTreeMap<String, usize>,
    /// Items whose first sample failed, with its class and line (at most 200).
    pub failures: Vec<Value>,
    pub wall_s: f64,
    /// Items read back from the results file instead of being run again.
    pub resumed_items: usize,
    pub items: Vec<ItemResult>,
}

/// Progress of a run, for the caller to show.
#[derive(Debug, Clone)]
pub enum CuaProgress {
    /// Items already done in the results file.
    Resumed { done: usize, dropped: usize, total: usize },
    /// A batch of prompts is being generated.
    Generating { items: usize },
    /// An item finished.
    Item { done: usize, total: usize, item_id: String, passed: usize, n: usize, elapsed_s: f64 },
}

/// The harness: an executor (plain sandbox or fork server) and the interpreter it runs.
pub struct CuaHarness<'a> {
    pub executor: &'a dyn Executor,
    pub interpreter: PathBuf,
    pub environment: EnvInfo,
}

impl<'a> CuaHarness<'a> {
    /// Runs `items`; finished items go to `results` (when given) as they finish, and items
    /// already there under the same key are not run again.
    pub fn run(
        &self,
        items: &[Item],
        candidates: Candidates<'_>,
        config: &CuaConfig,
        results: Option<&Path>,
        benchmark: Value,
        progress: &mut (dyn FnMut(CuaProgress) + Send),
    ) -> Result<CuaReport, EvalError> {
        if config.n == 0 {
            return Err(EvalError::Config("n must be at least 1".into()));
        }
        if config.ks.contains(&0) {
            return Err(EvalError::Config("k must be at least 1".into()));
        }
        let start = Instant::now();
        let sampling = SamplingParams { n: config.n, ..config.sampling.clone() };
        let key = match candidates {
            Candidates::Reference => format!("reference|n={}|upass={}", config.n, config.upass),
            Candidates::Generator(g) => format!(
                "{}|n={}|upass={}|{}",
                g.describe(),
                config.n,
                config.upass,
                serde_json::to_string(&sampling).expect("serialise")
            ),
        };
        let ids: HashSet<&str> = items.iter().map(|i| i.item_id.as_str()).collect();
        let mut file = match results {
            Some(path) => Some(ResultsFile::<ItemResult>::open(path, &key, &ids)?),
            None => None,
        };
        let mut done: BTreeMap<String, ItemResult> =
            file.as_mut().map(|f| std::mem::take(&mut f.done)).unwrap_or_default();
        let resumed = done.len();
        if let Some(f) = &file {
            progress(CuaProgress::Resumed { done: resumed, dropped: f.dropped, total: items.len() });
        }
        let todo: Vec<&Item> = items.iter().filter(|i| !done.contains_key(&i.item_id)).collect();
        let batch = match candidates {
            Candidates::Reference => todo.len().max(1),
            Candidates::Generator(_) => config.generation_batch.max(1),
        };
        let mut finished = resumed;
        for chunk in todo.chunks(batch) {
            // Answers: (text, truncated) per item and sample; None for reference solutions.
            let answers: Vec<Vec<Option<(String, bool)>>> = match candidates {
                Candidates::Reference => chunk.iter().map(|_| (0..config.n).map(|_| None).collect()).collect(),
                Candidates::Generator(generator) => {
                    progress(CuaProgress::Generating { items: chunk.len() });
                    let prompts: Vec<_> = chunk.iter().map(|i| zero_shot_messages(i)).collect();
                    let out = generator.generate(&prompts, &sampling)?;
                    if out.len() != chunk.len() || out.iter().any(|s| s.len() != config.n) {
                        return Err(EvalError::Config(format!(
                            "the generator returned {} lists for {} prompts (or not n = {} each)",
                            out.len(),
                            chunk.len(),
                            config.n
                        )));
                    }
                    out.into_iter()
                        .map(|samples| samples.into_iter().map(|c| Some((c.text, c.truncated))).collect())
                        .collect()
                }
            };
            let jobs: Vec<(usize, usize)> = (0..chunk.len()).flat_map(|i| (0..config.n).map(move |s| (i, s))).collect();
            let mut pending: Vec<Vec<Option<SampleResult>>> = chunk.iter().map(|_| vec![None; config.n]).collect();
            let mut write_error = None;
            let total = items.len();
            map_ordered(
                &jobs,
                config.jobs,
                |_, &(i, s)| self.run_sample(chunk[i], s, answers[i][s].as_ref(), config),
                |_, index, sample| {
                    let (i, s) = jobs[index];
                    pending[i][s] = Some(sample.clone());
                    if pending[i].iter().all(Option::is_some) {
                        let item = chunk[i];
                        let result = ItemResult {
                            item_id: item.item_id.clone(),
                            update_id: item.update.update_id.clone(),
                            package: item.update.package.clone(),
                            update_type: item.update.update_type.to_string(),
                            key: key.clone(),
                            samples: pending[i].iter_mut().map(|s| s.take().expect("finished")).collect(),
                        };
                        if let Some(f) = file.as_mut()
                            && let Err(e) = f.append(&result)
                        {
                            write_error.get_or_insert(e);
                        }
                        finished += 1;
                        progress(CuaProgress::Item {
                            done: finished,
                            total,
                            item_id: result.item_id.clone(),
                            passed: result.samples.iter().filter(|s| s.pass).count(),
                            n: config.n,
                            elapsed_s: start.elapsed().as_secs_f64(),
                        });
                        done.insert(result.item_id.clone(), result);
                    }
                },
            );
            if let Some(e) = write_error {
                return Err(e);
            }
        }
        let ordered: Vec<ItemResult> = items.iter().filter_map(|i| done.remove(&i.item_id)).collect();
        Ok(self.report(ordered, candidates, config, sampling, benchmark, start, resumed))
    }

    fn spec(&self, source: String, config: &CuaConfig) -> RunSpec {
        let mut spec = RunSpec::new(&self.interpreter, source).limits(config.limits.clone());
        for (k, v) in &config.program_env {
            spec = spec.env(k, v);
        }
        spec
    }

    fn run_variant(&self, item: &Item, candidate: &str, variant: Variant, config: &CuaConfig) -> VariantOutcome {
        let mut tests = Vec::new();
        for (t, test) in item.unit_tests.iter().enumerate() {
            let outcome = match build_program(item, test, candidate, variant) {
                Ok(program) => TestOutcome::from_run(t, &self.executor.run(&self.spec(program, config))),
                Err(e) => TestOutcome { test: t, class: "HarnessError".into(), line: Some(e.to_string()), wall_s: 0.0 },
            };
            let failed = !outcome.passed();
            tests.push(outcome);
            if failed {
                return VariantOutcome { passed: false, tests };
            }
        }
        VariantOutcome { passed: true, tests }
    }

    fn run_sample(
        &self,
        item: &Item,
        sample: usize,
        answer: Option<&(String, bool)>,
        config: &CuaConfig,
    ) -> SampleResult {
        let candidate = match answer {
            None => Some(item.ref_solution.clone()),
            Some((text, _)) => candidate_from_answer(text),
        };
        let (answer_text, truncated) = match answer {
            Some((text, truncated)) => (Some(text.clone()), *truncated),
            None => (None, false),
        };
        let Some(candidate) = candidate else {
            return SampleResult {
                sample,
                answer: answer_text,
                truncated,
                has_code: false,
                pass: false,
                upass: config.upass.then_some(false),
                class: "NoCode".into(),
                with_update: VariantOutcome { passed: false, tests: Vec::new() },
                without_update: None,
            };
        };
        let with_update = self.run_variant(item, &candidate, Variant::WithUpdate, config);
        let class = with_update.tests.iter().find(|t| !t.passed()).map_or("ok".to_string(), |t| t.class.clone());
        let without_update = (config.upass && with_update.passed)
            .then(|| self.run_variant(item, &candidate, Variant::WithoutUpdate, config));
        let upass = config.upass.then(|| with_update.passed && without_update.as_ref().is_some_and(|w| !w.passed));
        SampleResult {
            sample,
            answer: answer_text,
            truncated,
            has_code: true,
            pass: with_update.passed,
            upass,
            class,
            with_update,
            without_update,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        items: Vec<ItemResult>,
        candidates: Candidates<'_>,
        config: &CuaConfig,
        sampling: SamplingParams,
        benchmark: Value,
        start: Instant,
        resumed: usize,
    ) -> CuaReport {
        let summary = |filter: &dyn Fn(&ItemResult) -> bool| {
            let counts: Vec<_> = items.iter().filter(|i| filter(i)).map(ItemResult::counts).collect();
            Summary::from_counts(&counts, &config.ks)
        };
        let packages: std::collections::BTreeSet<&str> = items.iter().map(|i| i.package.as_str()).collect();
        let types: std::collections::BTreeSet<&str> = items.iter().map(|i| i.update_type.as_str()).collect();
        let mut classes = BTreeMap::new();
        for sample in items.iter().flat_map(|i| &i.samples) {
            *classes.entry(sample.class.clone()).or_insert(0) += 1;
        }
        let failures = items
            .iter()
            .filter(|i| !i.samples[0].pass)
            .take(200)
            .map(|i| {
                let s = &i.samples[0];
                let failing = s.with_update.tests.iter().find(|t| !t.passed());
                json!({
                    "item_id": i.item_id,
                    "class": s.class,
                    "test": failing.map(|t| t.test),
                    "line": failing.and_then(|t| t.line.as_deref().map(|l| truncate(l, 200))),
                })
            })
            .collect();
        let limits = &config.limits;
        CuaReport {
            benchmark,
            candidates: candidates.describe(),
            sampling: matches!(candidates, Candidates::Generator(_)).then_some(sampling),
            n: config.n,
            ks: config.ks.clone(),
            executor: self.executor.describe(),
            environment: self.environment.clone(),
            limits: json!({
                "wall_s": limits.wall.as_secs_f64(),
                "cpu_s": limits.effective_cpu_secs(),
                "address_space": limits.address_space,
                "file_size": limits.file_size,
                "processes": limits.processes,
                "jobs": config.jobs,
            }),
            overall: summary(&|_| true),
            by_package: packages.iter().map(|p| (p.to_string(), summary(&|i| i.package == *p))).collect(),
            by_update_type: types.iter().map(|t| (t.to_string(), summary(&|i| i.update_type == *t))).collect(),
            classes,
            failures,
            wall_s: round3(start.elapsed().as_secs_f64()),
            resumed_items: resumed,
            items,
        }
    }
}

fn pct(x: Option<&f64>) -> String {
    x.map_or("–".to_string(), |v| format!("{:.1}", v * 100.0))
}

impl CuaReport {
    /// A Markdown summary: settings, overall pass@k / UPass@k, breakdowns, classes, failures.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let ks: Vec<usize> = self.ks.iter().copied().filter(|&k| k <= self.n).collect();
        out.push_str("# CodeUpdateArena\n\n");
        out.push_str(&format!(
            "- candidates: {}\n- items: {} (n = {} samples each; {} resumed)\n- executor: {}\n- python {} at {}\n",
            self.candidates,
            self.overall.items,
            self.n,
            self.resumed_items,
            self.executor,
            self.environment.python_version,
            self.environment.interpreter.display()
        ));
        let versions: Vec<String> = self.environment.packages.iter().map(|(k, v)| format!("{k} {v}")).collect();
        out.push_str(&format!("- packages: {}\n", versions.join(", ")));
        if let Some(s) = &self.sampling {
            out.push_str(&format!(
                "- sampling: temperature {}, top-p {}, top-k {}, max new tokens {}, seed {}\n",
                s.temperature, s.top_p, s.top_k, s.max_new_tokens, s.seed
            ));
        }
        out.push_str(&format!("- wall time: {:.1} s\n\n", self.wall_s));
        let header = |first: &str| {
            let mut h = format!("| {first} | items |");
            let mut rule = "|---|---|".to_string();
            for k in &ks {
                h.push_str(&format!(" pass@{k} |"));
                rule.push_str("---|");
            }
            for k in &ks {
                h.push_str(&format!(" UPass@{k} |"));
                rule.push_str("---|");
            }
            format!("{h}\n{rule}\n")
        };
        let row = |name: &str, s: &Summary| {
            let mut r = format!("| {name} | {} |", s.items);
            for k in &ks {
                r.push_str(&format!(" {} |", pct(s.pass_at.get(&format!("pass@{k}")))));
            }
            for k in &ks {
                r.push_str(&format!(" {} |", pct(s.upass_at.get(&format!("upass@{k}")))));
            }
            r.push('\n');
            r
        };
        out.push_str(&header("set"));
        out.push_str(&row("**all**", &self.overall));
        out.push_str("\n## By package\n\n");
        out.push_str(&header("package"));
        for (name, s) in &self.by_package {
            out.push_str(&row(name, s));
        }
        out.push_str("\n## By update type\n\n");
        out.push_str(&header("update type"));
        for (name, s) in &self.by_update_type {
            out.push_str(&row(name, s));
        }
        out.push_str("\n## Samples by outcome\n\n| class | samples |\n|---|---|\n");
        let mut classes: Vec<_> = self.classes.iter().collect();
        classes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (class, count) in classes {
            out.push_str(&format!("| {class} | {count} |\n"));
        }
        if !self.failures.is_empty() {
            out.push_str("\n## Failing items (first sample)\n\n| item | class | test | line |\n|---|---|---|---|\n");
            for f in &self.failures {
                out.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    f["item_id"].as_str().unwrap_or(""),
                    f["class"].as_str().unwrap_or(""),
                    f["test"].as_u64().map_or("–".to_string(), |t| t.to_string()),
                    f["line"].as_str().unwrap_or("").replace('|', "\\|")
                ));
            }
        }
        out
    }
}

/// What identifies the benchmark in a report: files, layouts, item count.
pub fn benchmark_info(arena: &recode_cua::Arena, items: usize) -> Value {
    json!({
        "name": "CodeUpdateArena",
        "files": arena.layouts.iter().map(|(f, l)| json!({"file": f, "layout": l})).collect::<Vec<_>>(),
        "items": items,
        "updates": arena.updates.len(),
    })
}
