//! `recode data check --exec FILE`: execution validation of ReCode items (issue 6).
//!
//! Every item names a Python environment with the library's new version (`new_env`) and
//! optionally one with an older version (`old_env`); environments are venvs at
//! `<envs-dir>/<name>/` made by `scripts/setup-data-envs`. Each program runs in the
//! `recode-sandbox` executor. The rules, with `W` = `-W error::DeprecationWarning
//! -W error::PendingDeprecationWarning -W error::FutureWarning`:
//!
//! * **R0** (required): `new_code + "\n" + check` exits 0 on `new_env` with `W`.
//! * **old-fails-on-new**: `old_code` exits non-zero on `new_env` with `W` (an exception, or
//!   one of those warnings raised as an error).
//! * **new-fails-on-old** (only with `old_env`): `old_code + "\n" + check` exits 0 on
//!   `old_env` without `W`, and `new_code + "\n" + check` exits non-zero on `old_env`.
//!
//! An item is valid when R0 passes and one of the other two does. They are tried in that
//! order and lazily: R0 first (nothing else runs when it fails), then old-fails-on-new, and
//! new-fails-on-old only when old-fails-on-new did not pass. "Exits non-zero" means a normal
//! non-zero exit: a timeout or a death by signal (CPU or memory limit, crash) proves nothing
//! about the API and does not count as the expected failure.
//!
//! Exit status: 0 when every checked item is valid, 1 otherwise, 2 on usage or I/O errors.
use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use recode_data::{Item, SplitMix64, read_jsonl};
use recode_sandbox::{ErrorClass, Limits, NetworkPolicy, RunOutput, RunSpec, Sandbox, default_jobs, map_ordered};
use serde_json::{Map, Value, json};

/// The interpreter flags that turn deprecation warnings into errors.
const WARNING_FLAGS: [&str; 6] =
    ["-W", "error::DeprecationWarning", "-W", "error::PendingDeprecationWarning", "-W", "error::FutureWarning"];

/// The environment every program gets (on top of the sandbox's base environment).
const PROGRAM_ENV: [(&str, &str); 5] = [
    ("MPLBACKEND", "Agg"),
    ("PYTHONHASHSEED", "0"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
    ("CUDA_VISIBLE_DEVICES", ""),
    ("JAX_PLATFORMS", "cpu"),
];

const RULE_OLD_FAILS: &str = "old-fails-on-new";
const RULE_NEW_FAILS: &str = "new-fails-on-old";

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Run the items' code in the sandbox (execution validation; the only check so far).
    #[arg(long)]
    exec: bool,
    /// A ReCode JSONL file whose items carry `check`, `new_env` and optionally `old_env`.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Check only N items, a deterministic sample (SplitMix64 seeded with --seed), in file order.
    #[arg(long, value_name = "N")]
    sample: Option<usize>,
    /// Seed of --sample.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Items checked in parallel [default: the number of cores].
    #[arg(long, value_name = "J")]
    jobs: Option<usize>,
    /// The JSON report [default: FILE's stem + `.exec-report.json`, next to FILE].
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,
    /// Also write the valid items, each with its `validation` field set, to PATH (JSONL).
    #[arg(long, value_name = "PATH")]
    write_validated: Option<PathBuf>,
    /// Where the environments live [default: $RECODE_HOME/envs; RECODE_HOME defaults to
    /// $XDG_CACHE_HOME/recode or ~/.cache/recode].
    #[arg(long, value_name = "DIR")]
    envs_dir: Option<PathBuf>,
    /// Wall-clock limit of each program, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 15.0)]
    timeout: f64,
}

/// `$RECODE_HOME/envs`, `RECODE_HOME` defaulting to `$XDG_CACHE_HOME/recode` or
/// `~/.cache/recode` (empty variables count as unset).
pub fn default_envs_dir() -> anyhow::Result<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = match var("RECODE_HOME") {
        Some(home) => home,
        None => {
            let cache = match var("XDG_CACHE_HOME") {
                Some(cache) => cache,
                None => var("HOME")
                    .context("cannot locate the environments: set RECODE_HOME or HOME, or pass --envs-dir")?
                    .join(".cache"),
            };
            cache.join("recode")
        }
    };
    Ok(home.join("envs"))
}

/// One environment as found on disk.
struct Env {
    name: String,
    dir: PathBuf,
    python: PathBuf,
    /// Why it cannot be used (it does not exist, bad name).
    error: Option<String>,
    /// The stamp's `packages` (pinned requirement strings).
    packages: Vec<String>,
    /// The stamp's `versions` (every installed distribution).
    versions: BTreeMap<String, String>,
    /// Why the stamp could not be read (the environment is still used).
    stamp_error: Option<String>,
}

impl Env {
    fn load(envs_dir: &Path, name: &str) -> Env {
        let dir = envs_dir.join(name);
        let python = dir.join("bin").join("python");
        let mut env = Env {
            name: name.to_string(),
            dir: dir.clone(),
            python: python.clone(),
            error: None,
            packages: Vec::new(),
            versions: BTreeMap::new(),
            stamp_error: None,
        };
        let plain = !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0']);
        if !plain {
            env.error = Some(format!("invalid environment name {name:?}: expected a plain directory name"));
            return env;
        }
        if !python.exists() {
            env.error = Some(format!(
                "environment `{name}` does not exist ({} not found); create it with \
                 `scripts/setup-data-envs {name}` (definitions in data/envs/*.toml)",
                python.display()
            ));
            return env;
        }
        let stamp = dir.join("recode-env.json");
        match std::fs::read_to_string(&stamp) {
            Err(e) => {
                env.stamp_error = Some(format!(
                    "cannot read {}: {e} (versions unknown; recreate with `scripts/setup-data-envs {name}`)",
                    stamp.display()
                ))
            }
            Ok(text) => match serde_json::from_str::<Value>(&text) {
                Err(e) => env.stamp_error = Some(format!("{}: invalid JSON: {e}", stamp.display())),
                Ok(value) => {
                    env.packages = value["packages"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|p| p.as_str().map(String::from)).collect())
                        .unwrap_or_default();
                    env.versions = value["versions"]
                        .as_object()
                        .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
                        .unwrap_or_default();
                    if let Some(stamped) = value["name"].as_str()
                        && stamped != name
                    {
                        env.stamp_error =
                            Some(format!("{} names environment `{stamped}`, not `{name}`", stamp.display()));
                    }
                }
            },
        }
        env
    }

    /// Installed versions of the pinned packages: `{"numpy": "2.2.6"}`.
    fn pinned_versions(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for requirement in &self.packages {
            let name: String = requirement.chars().take_while(|c| !"=<>!~;[ @".contains(*c)).collect();
            let key = normalize_dist(&name);
            let version = self.versions.iter().find(|(dist, _)| normalize_dist(dist) == key).map(|(_, v)| v.clone());
            if let Some(version) = version {
                out.insert(name.trim().to_string(), Value::String(version));
            }
        }
        out
    }

    fn report(&self) -> Value {
        json!({
            "path": self.dir.display().to_string(),
            "exists": self.error.is_none(),
            "error": self.error,
            "packages": self.packages,
            "versions": self.versions,
            "stamp_error": self.stamp_error,
        })
    }
}

/// PEP 503 normalisation: lower case, runs of `-`, `_`, `.` as one `-`.
fn normalize_dist(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// One program run of an item.
struct Step {
    /// `R0`, `old-on-new`, `old-check-on-old`, `new-check-on-old`.
    name: &'static str,
    env: String,
    warnings_as_errors: bool,
    /// What the rule needs: a clean exit (`true`) or a normal non-zero exit (`false`).
    expect_success: bool,
    passed: bool,
    outcome: Result<RunOutput, String>,
}

impl Step {
    fn report(&self) -> Value {
        let mut value = json!({
            "step": self.name,
            "env": self.env,
            "warnings_as_errors": self.warnings_as_errors,
            "expect": if self.expect_success { "success" } else { "failure" },
            "passed": self.passed,
        });
        let map = value.as_object_mut().expect("object");
        match &self.outcome {
            Ok(out) => {
                map.insert("exit_code".into(), json!(out.exit_code()));
                map.insert("signal".into(), json!(out.signal()));
                map.insert("timed_out".into(), json!(out.timed_out));
                map.insert("error_class".into(), json!(out.error_class().to_string()));
                map.insert("error_line".into(), json!(out.error_line()));
                map.insert("duration_s".into(), json!(round3(out.wall.as_secs_f64())));
                map.insert("cpu_s".into(), json!(out.cpu.map(|c| round3(c.as_secs_f64()))));
                map.insert("network_isolated".into(), json!(out.network_isolated));
                if out.stdout.truncated || out.stderr.truncated {
                    map.insert(
                        "output_truncated".into(),
                        json!({"stdout": out.stdout.truncated, "stderr": out.stderr.truncated}),
                    );
                }
            }
            Err(error) => {
                map.insert("sandbox_error".into(), json!(error));
            }
        }
        value
    }

    /// `AttributeError: …`, `timed out after 15 s`, `exit status 0`, … for reasons.
    fn describe(&self) -> String {
        match &self.outcome {
            Err(error) => format!("sandbox error: {error}"),
            Ok(out) => match out.error_class() {
                ErrorClass::Ok => "it exited 0".to_string(),
                ErrorClass::Timeout => format!("it timed out after {} s", trim_float(out.wall.as_secs_f64())),
                class => match out.error_line() {
                    Some(line) if !matches!(class, ErrorClass::Killed(_)) => line,
                    _ => class.to_string(),
                },
            },
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn trim_float(x: f64) -> String {
    let s = format!("{:.1}", x);
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// The verdict on one item.
struct Outcome {
    index: usize,
    valid: bool,
    rule: Option<&'static str>,
    reason: Option<String>,
    steps: Vec<Step>,
}

struct Checker<'a> {
    sandbox: Sandbox,
    envs: &'a BTreeMap<String, Env>,
}

impl Checker<'_> {
    fn run(&self, name: &'static str, env: &Env, code: String, warnings_as_errors: bool, expect_success: bool) -> Step {
        let mut spec = RunSpec::new(&env.python, code);
        if warnings_as_errors {
            for flag in WARNING_FLAGS {
                spec = spec.flag(flag);
            }
        }
        for (key, value) in PROGRAM_ENV {
            spec = spec.env(key, value);
        }
        let outcome = self.sandbox.run(&spec).map_err(|e| e.to_string());
        let passed = match &outcome {
            Ok(out) if expect_success => out.success(),
            Ok(out) => !out.timed_out && matches!(out.exit_code(), Some(code) if code != 0),
            Err(_) => false,
        };
        Step { name, env: env.name.clone(), warnings_as_errors, expect_success, passed, outcome }
    }

    fn check(&self, index: usize, item: &Item) -> Outcome {
        let invalid =
            |reason: String, steps: Vec<Step>| Outcome { index, valid: false, rule: None, reason: Some(reason), steps };
        let Some(check) = item.check.as_deref().filter(|c| !c.trim().is_empty()) else {
            return invalid(
                "no `check` field: execution validation needs Python statements that assert \
                 on new_code's results"
                    .to_string(),
                Vec::new(),
            );
        };
        let Some(new_name) = item.new_env.as_deref() else {
            return invalid(
                "no `new_env` field: name the environment with the library's new version".to_string(),
                Vec::new(),
            );
        };
        let env = |name: &str| -> Result<&Env, String> {
            let env = &self.envs[name];
            match &env.error {
                Some(error) => Err(error.clone()),
                None => Ok(env),
            }
        };
        let new_env = match env(new_name) {
            Ok(env) => env,
            Err(error) => return invalid(error, Vec::new()),
        };
        let old_env = match item.old_env.as_deref().map(env) {
            None => None,
            Some(Ok(env)) => Some(env),
            Some(Err(error)) => return invalid(error, Vec::new()),
        };
        let new_checked = format!("{}\n{check}", item.new_code);
        let old_checked = format!("{}\n{check}", item.old_code);

        let mut steps = vec![self.run("R0", new_env, new_checked.clone(), true, true)];
        if !steps[0].passed {
            let reason =
                format!("R0: new_code + check failed on `{new_name}` (warnings as errors): {}", steps[0].describe());
            return invalid(reason, steps);
        }
        let valid = |rule, steps| Outcome { index, valid: true, rule: Some(rule), reason: None, steps };
        steps.push(self.run("old-on-new", new_env, item.old_code.clone(), true, false));
        if steps[1].passed {
            return valid(RULE_OLD_FAILS, steps);
        }
        let first = format!(
            "old-fails-on-new: old_code did not fail on `{new_name}` (warnings as errors): {}",
            steps[1].describe()
        );
        let Some(old_env) = old_env else {
            return invalid(format!("{first}; no old_env to try new-fails-on-old"), steps);
        };
        let old_name = &old_env.name;
        steps.push(self.run("old-check-on-old", old_env, old_checked, false, true));
        if !steps[2].passed {
            let reason =
                format!("{first}; new-fails-on-old: old_code + check failed on `{old_name}`: {}", steps[2].describe());
            return invalid(reason, steps);
        }
        steps.push(self.run("new-check-on-old", old_env, new_checked, false, false));
        if steps[3].passed {
            return valid(RULE_NEW_FAILS, steps);
        }
        let reason = format!(
            "{first}; new-fails-on-old: new_code + check did not fail on `{old_name}`: {}",
            steps[3].describe()
        );
        invalid(reason, steps)
    }
}

/// `N` indices out of `0..len`, chosen with SplitMix64(seed) (partial Fisher–Yates), sorted.
fn sample_indices(len: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut all: Vec<usize> = (0..len).collect();
    let n = n.min(len);
    let mut rng = SplitMix64::new(seed);
    for i in 0..n {
        let j = i + rng.below((len - i) as u64) as usize;
        all.swap(i, j);
    }
    let mut chosen = all[..n].to_vec();
    chosen.sort_unstable();
    chosen
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
fn utc_date(secs: u64) -> String {
    // Days to civil date (Howard Hinnant's algorithm).
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn default_report(input: &Path) -> anyhow::Result<PathBuf> {
    let stem = input.file_stem().with_context(|| format!("cannot derive the report name from {}", input.display()))?;
    let mut name = stem.to_os_string();
    name.push(".exec-report.json");
    Ok(input.with_file_name(name))
}

fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    } else if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    if !args.exec {
        bail!("nothing to check: pass --exec to run the items in the sandbox (the only check so far)");
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        bail!("--timeout must be a positive number of seconds, got {}", args.timeout);
    }
    if args.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    let report_path = match &args.report {
        Some(path) => path.clone(),
        None => default_report(&args.file)?,
    };
    // Fail before hours of checking, not after.
    for path in std::iter::once(&report_path).chain(&args.write_validated) {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            bail!("cannot write {}: directory {} does not exist", path.display(), dir.display());
        }
    }
    let envs_dir = match &args.envs_dir {
        Some(dir) => dir.clone(),
        None => default_envs_dir()?,
    };
    // Programs run in their own directories: interpreter paths must not be relative.
    let envs_dir = std::path::absolute(&envs_dir).with_context(|| format!("cannot resolve {}", envs_dir.display()))?;
    let items = read_jsonl(&args.file).map_err(|err| match err {
        recode_data::DataError::Invalid(_) => {
            anyhow::anyhow!("{err} (run `recode data validate` to see every problem)")
        }
        other => other.into(),
    })?;
    let selected: Vec<usize> = match args.sample {
        Some(n) => sample_indices(items.len(), n, args.seed),
        None => (0..items.len()).collect(),
    };

    let names: BTreeSet<&str> =
        selected.iter().flat_map(|&i| [items[i].new_env.as_deref(), items[i].old_env.as_deref()]).flatten().collect();
    let envs: BTreeMap<String, Env> =
        names.into_iter().map(|name| (name.to_string(), Env::load(&envs_dir, name))).collect();
    for env in envs.values() {
        if let Some(warning) = &env.stamp_error {
            eprintln!("warning: {warning}");
        }
    }

    let limits = Limits { wall: Duration::from_secs_f64(args.timeout), ..Limits::default() };
    let checker =
        Checker { sandbox: Sandbox::new().with_limits(limits).with_network(NetworkPolicy::BestEffort), envs: &envs };
    let jobs = args.jobs.unwrap_or_else(default_jobs);
    let tty = std::io::stderr().is_terminal();
    let start = Instant::now();
    let mut failures = 0usize;
    let mut last_line = Instant::now();
    let outcomes = map_ordered(
        &selected,
        jobs,
        |_, &index| checker.check(index, &items[index]),
        |progress, _, outcome: &Outcome| {
            failures += usize::from(!outcome.valid);
            let last = progress.done == progress.total;
            if !(tty || last || last_line.elapsed() >= Duration::from_secs(5)) {
                return;
            }
            last_line = Instant::now();
            let eta = match progress.eta() {
                Some(eta) if !last => format!(", ETA {}", format_duration(eta)),
                _ => format!(", {}", format_duration(progress.elapsed)),
            };
            let line = format!("checked {}/{} items, {failures} failed{eta}", progress.done, progress.total);
            let mut err = std::io::stderr().lock();
            let _ = if tty {
                write!(err, "\r\x1b[K{line}{}", if last { "\n" } else { "" })
            } else {
                writeln!(err, "{line}")
            };
        },
    );
    let wall = start.elapsed();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let date = utc_date(now);

    // The report.
    let mut by_library: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut item_reports = Vec::new();
    let (mut runs, mut isolated_runs) = (0usize, 0usize);
    let mut network_notes = BTreeSet::new();
    for outcome in &outcomes {
        let item = &items[outcome.index];
        let counts = by_library.entry(&item.dependency).or_default();
        counts.0 += 1;
        if outcome.valid {
            counts.1 += 1;
        }
        *by_rule.entry(outcome.rule.unwrap_or("none")).or_default() += 1;
        if !outcome.valid {
            failures.push(json!({
                "index": outcome.index,
                "id": item.id,
                "dependency": item.dependency,
                "reason": outcome.reason,
            }));
        }
        for step in &outcome.steps {
            if let Ok(out) = &step.outcome {
                runs += 1;
                isolated_runs += usize::from(out.network_isolated);
                if let Some(note) = &out.network_note {
                    network_notes.insert(note.clone());
                }
            }
        }
        item_reports.push(json!({
            "index": outcome.index,
            "id": item.id,
            "dependency": item.dependency,
            "update_type": item.update_type,
            "new_env": item.new_env,
            "old_env": item.old_env,
            "valid": outcome.valid,
            "rule": outcome.rule,
            "reason": outcome.reason,
            "runs": outcome.steps.iter().map(Step::report).collect::<Vec<_>>(),
        }));
    }
    let valid_count = outcomes.iter().filter(|o| o.valid).count();
    let report = json!({
        "file": args.file.display().to_string(),
        "checked": date,
        "items_in_file": items.len(),
        "sample": args.sample.map(|n| json!({"n": n, "seed": args.seed})),
        "envs_dir": envs_dir.display().to_string(),
        "envs": envs.iter().map(|(k, v)| (k.clone(), v.report())).collect::<Map<_, _>>(),
        "timeout_s": args.timeout,
        "jobs": jobs,
        "warning_flags": WARNING_FLAGS,
        "program_env": PROGRAM_ENV.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
        "items": item_reports,
        "summary": {
            "items": outcomes.len(),
            "valid": valid_count,
            "invalid": outcomes.len() - valid_count,
            "by_library": by_library.iter().map(|(lib, (n, v))| {
                (lib.to_string(), json!({"items": n, "valid": v, "invalid": n - v}))
            }).collect::<Map<_, _>>(),
            "by_rule": by_rule,
            "failures": failures,
            "wall_time_s": round3(wall.as_secs_f64()),
            "runs": runs,
            "network_isolated": runs > 0 && isolated_runs == runs,
            "network_isolated_runs": isolated_runs,
            "network_notes": network_notes,
        },
    });
    let mut text = serde_json::to_string_pretty(&report)?;
    text.push('\n');
    recode_data::write_atomic(&report_path, text.as_bytes())
        .with_context(|| format!("cannot write {}", report_path.display()))?;

    if let Some(path) = &args.write_validated {
        let validated: Vec<Item> = outcomes
            .iter()
            .filter(|o| o.valid)
            .map(|o| {
                let mut item = items[o.index].clone();
                let mut versions = Map::new();
                for name in [item.new_env.as_deref(), item.old_env.as_deref()].into_iter().flatten() {
                    versions.insert(name.to_string(), Value::Object(envs[name].pinned_versions()));
                }
                let mut validation = Map::new();
                validation.insert("rule".into(), json!(o.rule));
                validation.insert("new_env".into(), json!(item.new_env));
                validation.insert("old_env".into(), json!(item.old_env));
                validation.insert("versions".into(), Value::Object(versions));
                validation.insert("checked".into(), json!(date));
                item.validation = Some(validation);
                item
            })
            .collect();
        recode_data::write_jsonl(path, &validated)?;
    }

    let mut out = std::io::stdout().lock();
    for failure in &failures {
        let label = failure["id"].as_str().map(str::to_string).unwrap_or_else(|| format!("item {}", failure["index"]));
        writeln!(out, "{}: {label}: {}", args.file.display(), failure["reason"].as_str().unwrap_or(""))?;
    }
    let rules = by_rule
        .iter()
        .filter(|(rule, _)| **rule != "none")
        .map(|(rule, n)| format!("{rule} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    writeln!(
        out,
        "{} checked, {valid_count} valid{}, {} invalid in {}; network isolation: {}",
        outcomes.len(),
        if rules.is_empty() { String::new() } else { format!(" ({rules})") },
        outcomes.len() - valid_count,
        format_duration(wall),
        if runs == 0 {
            "no runs"
        } else if isolated_runs == runs {
            "yes"
        } else if isolated_runs == 0 {
            "NO"
        } else {
            "partial"
        },
    )?;
    writeln!(out, "wrote {}", report_path.display())?;
    if let Some(path) = &args.write_validated {
        writeln!(out, "wrote {}", path.display())?;
    }
    out.flush()?;
    Ok(ExitCode::from(if valid_count == outcomes.len() { 0 } else { 1 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_735_689_599), "2024-12-31");
        assert_eq!(utc_date(1_735_689_600), "2025-01-01");
    }

    #[test]
    fn samples_are_deterministic_sorted_and_distinct() {
        let a = sample_indices(100, 10, 7);
        assert_eq!(a, sample_indices(100, 10, 7));
        assert_ne!(a, sample_indices(100, 10, 8));
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample_indices(3, 10, 1), [0, 1, 2]);
        assert!(sample_indices(0, 5, 1).is_empty());
    }

    #[test]
    fn dist_names() {
        assert_eq!(normalize_dist("Scikit_Learn"), "scikit-learn");
        assert_eq!(normalize_dist("zope.interface"), "zope-interface");
    }
}
