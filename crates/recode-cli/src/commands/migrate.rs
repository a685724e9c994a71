//! `recode migrate PATHS… --library NAME --to-version X (--update-info TEXT | --update-file FILE)
//! (--endpoint URL --model NAME | --model PATH [--adapter DIR]) [--write | --check] [--json]
//! [--samples K] [--verify CMD]`: move Python files to a new library version with a model.
//!
//! Default: a unified diff per changed file on stdout, nothing written. `--write` writes the
//! changed files atomically. `--check` exits 1 when any file would change (for CI). `--json`
//! prints one JSON record per line instead of diffs: one per unit (`file`, `kind`, `name`,
//! `start_line`, `end_line`, `matched`, `status` = changed / unchanged / rejected / skipped,
//! `reason`, `old`, `new`, `new_imports`, `explanation` — the model's `<think>` text —,
//! `samples`, `usable_samples`), one per file that failed (`status: "error"`, `reason`) and,
//! with `--verify`, one per verified file (`status: "verify"`, `passed`, `detail`). Progress
//! and the summary go to stderr.
//!
//! Exit status: 2 when any path or file could not be processed (unreadable, not Python,
//! generation failed, a write failed) or on usage errors — the other files are still
//! processed; otherwise 1 when `--check` finds pending changes or `--verify` fails for a file;
//! 0 otherwise.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use recode_generate::Generator;
use recode_generate::endpoint::{ApiMode, EndpointConfig, OpenAiEndpoint};
use recode_migrate::{
    Choice, FileOutcome, Library, Prepared, Settings, Status, Update, discover, engine, prepare_all, verify,
};
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// Python files and directories (walked for *.py, skipping .git, venvs, build dirs).
    #[arg(value_name = "PATHS", required = true)]
    paths: Vec<PathBuf>,
    /// The library being updated: numpy, pandas, torch, matplotlib, scikit-learn, scipy,
    /// scrapy, seaborn, jax, or any import name.
    #[arg(long, value_name = "NAME")]
    library: String,
    /// The version migrated to, as the prompt shows it (`2.0.0`).
    #[arg(long, value_name = "X")]
    to_version: String,
    /// The release-note text of the update (affected names are taken from its identifiers).
    #[arg(long, value_name = "TEXT", conflicts_with = "update_file", required_unless_present = "update_file")]
    update_info: Option<String>,
    /// An update file: optional header `apis: [numpy.trapz, …]`, a line `---`, then the text.
    #[arg(long, value_name = "FILE")]
    update_file: Option<PathBuf>,
    /// With --endpoint: the served model's name. Without: a local model directory or file.
    #[arg(long, value_name = "PATH|NAME")]
    model: Option<String>,
    /// A LoRA/DoRA adapter directory for a local --model.
    #[arg(long, value_name = "DIR")]
    adapter: Option<PathBuf>,
    /// An OpenAI-compatible server (`http://localhost:8000`); the API key is read from
    /// RECODE_API_KEY or OPENAI_API_KEY when set.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Which endpoint API: `completions` (our exact ChatML prompt) or `chat` (the server's template).
    #[arg(long, value_name = "MODE", default_value = "completions")]
    endpoint_api: String,
    /// Only detect: list the units that would go to the model (`FILE:FIRST-LAST: kind name
    /// [matched names]`) and the summary; no model is needed and nothing is written.
    #[arg(long, conflicts_with_all = ["write", "check", "verify"])]
    list: bool,
    /// Write the changed files (atomically) instead of printing diffs.
    #[arg(long, conflicts_with = "check")]
    write: bool,
    /// Exit 1 when any file would change (nothing written).
    #[arg(long)]
    check: bool,
    /// One JSON record per unit (and per failed or verified file) on stdout instead of diffs.
    #[arg(long)]
    json: bool,
    /// Samples per unit.
    #[arg(long, value_name = "K", default_value_t = 1)]
    samples: usize,
    /// How to pick among samples: `first` (first usable) or `majority` (by normalised code).
    #[arg(long, value_name = "RULE", default_value = "first")]
    choose: String,
    /// Sampling temperature [default: 0 (greedy) for one sample, 0.7 for several].
    #[arg(long, value_name = "T")]
    temperature: Option<f64>,
    /// Most tokens generated per sample.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_new_tokens: usize,
    /// Sampling seed.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Run this shell command (e.g. the tests) in the sandbox on a temporary copy of the tree
    /// with the changes applied, before anything is written; files that fail are not written.
    #[arg(long, value_name = "CMD")]
    verify: Option<String>,
    /// The tree copied for --verify.
    #[arg(long, value_name = "DIR", default_value = ".")]
    verify_root: PathBuf,
    /// Wall-clock limit of one --verify run, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    verify_timeout: u64,
}

/// Consecutive batches whose generation failed after which the generator is not called again
/// (an endpoint that is down would otherwise cost every batch its retries).
const GIVE_UP_AFTER: usize = 3;

/// Units per generator call: files are batched until they hold this many, so that a local model
/// decodes the units of many files together (a batch of one decodes ~3× slower per token) while
/// progress still moves and a failed call costs only its batch.
const BATCH_UNITS: usize = 32;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let library = Library::resolve(&args.library)?;
    let (update, update_name) = match (&args.update_info, &args.update_file) {
        (Some(text), None) => (Update::from_text(text.clone()), "--update-info".to_string()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            (Update::parse_file(&path.display().to_string(), &text)?, path.display().to_string())
        }
        _ => bail!("give the update with --update-info TEXT or --update-file FILE"),
    };
    let names = update.affected_names(&library, &update_name)?;
    if names.is_empty() {
        bail!(
            "{update_name}: no API names of `{}` found in the update text; list them in an update file \
             (`apis: [{}.name, …]`, a line `---`, then the text)",
            library.root,
            library.root
        );
    }
    if args.samples == 0 {
        bail!("--samples must be at least 1");
    }
    let choice = match args.choose.as_str() {
        "first" => Choice::First,
        "majority" => Choice::Majority,
        other => bail!("--choose: expected `first` or `majority`, found `{other}`"),
    };
    if args.list {
        return list_units(&args, &library, names, &update.text, started);
    }
    let generator = build_generator(&args)?;
    let mut settings = Settings::new(library, &args.to_version, &update.text, names);
    settings.choice = choice;
    settings.sampling.n = args.samples;
    settings.sampling.temperature = args.temperature.unwrap_or(if args.samples > 1 { 0.7 } else { 0.0 });
    settings.sampling.max_new_tokens = args.max_new_tokens;
    settings.sampling.seed = args.seed;

    let mut errors = 0usize;
    let mut stdout = std::io::stdout().lock();
    let (found, path_errors) = discover(&args.paths);
    for (path, message) in &path_errors {
        errors += 1;
        report_error(&mut stdout, args.json, path, message)?;
    }
    eprintln!(
        "migrate: {} ({}) -> {}; model: {}",
        settings.library.display,
        settings.library.root,
        args.to_version,
        generator.describe()
    );
    let scan_started = Instant::now();
    let prepared = prepare_all(&found, &settings);
    let with_units = prepared.iter().filter(|p| p.as_ref().is_ok_and(|p| !p.scan.units.is_empty())).count();
    let units_found: usize = prepared.iter().filter_map(|p| p.as_ref().ok()).map(|p| p.scan.units.len()).sum();
    eprintln!(
        "scanned {} files in {:.2} s: {units_found} units in {with_units} files",
        found.len(),
        scan_started.elapsed().as_secs_f64()
    );

    let mut outcomes: Vec<Option<FileOutcome>> = Vec::with_capacity(found.len());
    let mut to_model: Vec<(usize, Prepared)> = Vec::new();
    for (index, (found, prepared)) in found.iter().zip(prepared).enumerate() {
        outcomes.push(match prepared {
            Err(message) => Some(engine::failed_outcome(&found.path, &found.display, message)),
            Ok(p) if p.scan.units.is_empty() => Some(engine::migrate_prepared(p, generator.as_ref(), &settings)),
            Ok(p) => {
                to_model.push((index, p));
                None
            }
        });
    }
    let mut done = 0;
    let mut failed_batches = 0;
    let mut last_failure = String::new();
    for batch in unit_batches(to_model, BATCH_UNITS) {
        let (indices, files): (Vec<usize>, Vec<Prepared>) = batch.into_iter().unzip();
        let units: usize = files.iter().map(|p| p.scan.units.len()).sum();
        let first = done + 1;
        done += files.len();
        let more = if files.len() > 1 { format!(" and {} more", files.len() - 1) } else { String::new() };
        eprintln!("[{first}-{done}/{with_units} files] {units} unit(s): {}{more}", files[0].display);
        let results = if failed_batches >= GIVE_UP_AFTER {
            let message =
                format!("not migrated: generation failed for the previous {GIVE_UP_AFTER} batches ({last_failure})");
            files.iter().map(|p| engine::failed_outcome(&p.path, &p.display, message.clone())).collect()
        } else {
            let results = engine::migrate_batch(files, generator.as_ref(), &settings);
            match results.iter().find_map(|o| o.error.clone()) {
                Some(e) => {
                    failed_batches += 1;
                    last_failure = e;
                }
                None => failed_batches = 0,
            }
            results
        };
        for (index, outcome) in indices.into_iter().zip(results) {
            outcomes[index] = Some(outcome);
        }
    }
    let outcomes: Vec<FileOutcome> = outcomes.into_iter().map(|o| o.expect("every file has an outcome")).collect();

    // Verification before anything is written.
    let mut verify_failed: Vec<bool> = vec![false; outcomes.len()];
    let mut verify_failures = 0;
    if let Some(command) = &args.verify {
        let changed: Vec<usize> = (0..outcomes.len()).filter(|&i| outcomes[i].changed()).collect();
        if !changed.is_empty() {
            eprintln!("verifying {} changed file(s) with `{command}`", changed.len());
            let mut config = verify::VerifyConfig::new(command.clone(), &args.verify_root);
            config.timeout = Duration::from_secs(args.verify_timeout);
            let changes: Vec<(PathBuf, String)> =
                changed.iter().map(|&i| (outcomes[i].path.clone(), outcomes[i].new_text())).collect();
            let verdicts = verify::per_file(&config, &changes)?;
            for (&i, verdict) in changed.iter().zip(&verdicts) {
                let outcome = &outcomes[i];
                eprintln!(
                    "verify {}: {} ({})",
                    outcome.display,
                    if verdict.passed { "passed" } else { "FAILED" },
                    verdict.detail
                );
                if !verdict.passed {
                    verify_failed[i] = true;
                    verify_failures += 1;
                }
                if args.json {
                    let record = json!({"file": outcome.display, "status": "verify", "passed": verdict.passed, "detail": verdict.detail});
                    writeln!(stdout, "{record}")?;
                }
            }
        }
    }

    let mut files_changed = 0;
    let mut written = 0;
    let mut counts = [0usize; 4];
    for (i, outcome) in outcomes.iter().enumerate() {
        if let Some(error) = &outcome.error {
            errors += 1;
            report_error(&mut stdout, args.json, &outcome.display, error)?;
        }
        for record in &outcome.records {
            counts[record.status as usize] += 1;
            if record.status == Status::Rejected || record.status == Status::Skipped {
                eprintln!(
                    "{}:{}: {} {}: {}",
                    record.file,
                    record.start_line,
                    if record.status == Status::Rejected { "rejected" } else { "skipped" },
                    record.name.as_deref().unwrap_or("statement"),
                    record.reason.as_deref().unwrap_or("")
                );
            }
            if args.json {
                writeln!(stdout, "{}", serde_json::to_string(record)?)?;
            }
        }
        if !outcome.changed() {
            continue;
        }
        files_changed += 1;
        if !args.json && !args.write {
            write!(
                stdout,
                "{}",
                recode_migrate::diff::unified_diff(&outcome.display, &outcome.original, &outcome.edits)
            )?;
        }
        if args.write {
            if verify_failed[i] {
                eprintln!("{}: not written (verification failed)", outcome.display);
                continue;
            }
            match recode_data::write_atomic(&outcome.path, outcome.new_text().as_bytes()) {
                Ok(()) => {
                    written += 1;
                    eprintln!("wrote {}", outcome.display);
                }
                Err(e) => {
                    errors += 1;
                    report_error(&mut stdout, args.json, &outcome.display, &format!("cannot write: {e}"))?;
                }
            }
        }
    }
    stdout.flush()?;
    let [changed, unchanged, rejected, skipped] = counts;
    eprintln!(
        "summary: {} files scanned, {units_found} units found, {changed} changed, {unchanged} unchanged, \
         {rejected} rejected, {skipped} skipped; {files_changed} files {}; {errors} errors; {:.1} s",
        found.len() + path_errors.len(),
        if args.write { format!("changed, {written} written") } else { "would change".to_string() },
        started.elapsed().as_secs_f64()
    );
    Ok(if errors > 0 {
        ExitCode::from(2)
    } else if (args.check && files_changed > 0) || verify_failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--list`: detection only.
fn list_units(
    args: &Args,
    library: &Library,
    names: recode_migrate::AffectedNames,
    update_text: &str,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let settings = Settings::new(library.clone(), &args.to_version, update_text, names);
    let mut stdout = std::io::stdout().lock();
    let (found, path_errors) = discover(&args.paths);
    let mut errors = 0;
    for (path, message) in &path_errors {
        errors += 1;
        report_error(&mut stdout, args.json, path, message)?;
    }
    let prepared = prepare_all(&found, &settings);
    let (mut units, mut files_with_units, mut parsed) = (0, 0, 0);
    for (found, prepared) in found.iter().zip(&prepared) {
        match prepared {
            Err(message) => {
                errors += 1;
                report_error(&mut stdout, args.json, &found.display, message)?;
            }
            Ok(p) => {
                parsed += usize::from(p.scan.parsed);
                files_with_units += usize::from(!p.scan.units.is_empty());
                for unit in &p.scan.units {
                    units += 1;
                    if args.json {
                        let record = json!({
                            "file": p.display, "kind": unit.kind, "name": unit.name,
                            "start_line": unit.lines.0, "end_line": unit.lines.1, "matched": unit.matched,
                            "shares_line": unit.shares_line,
                        });
                        writeln!(stdout, "{record}")?;
                    } else {
                        writeln!(
                            stdout,
                            "{}:{}-{}: {} {} [{}]",
                            p.display,
                            unit.lines.0,
                            unit.lines.1,
                            serde_json::to_value(unit.kind)?.as_str().unwrap_or("unit"),
                            unit.name.as_deref().unwrap_or("-"),
                            unit.matched.join(", ")
                        )?;
                    }
                }
            }
        }
    }
    stdout.flush()?;
    eprintln!(
        "summary: {} files scanned ({parsed} parsed), {units} units found in {files_with_units} files; {errors} errors; {:.2} s",
        found.len() + path_errors.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(if errors > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn report_error(out: &mut impl Write, json: bool, file: &str, message: &str) -> anyhow::Result<()> {
    eprintln!("{file}: error: {message}");
    if json {
        writeln!(out, "{}", json!({"file": file, "status": "error", "reason": message}))?;
    }
    Ok(())
}

/// The completion source: an OpenAI-compatible endpoint, or a local model ([`local_generator`]).
fn build_generator(args: &Args) -> anyhow::Result<Box<dyn Generator>> {
    match (&args.endpoint, &args.model) {
        (Some(url), Some(model)) => {
            if args.adapter.is_some() {
                bail!("--adapter applies to a local --model; with --endpoint, serve the adapter from the server");
            }
            let mut config = EndpointConfig::new(url.clone(), model.clone());
            config.mode = match args.endpoint_api.as_str() {
                "completions" => ApiMode::Completions,
                "chat" => ApiMode::Chat,
                other => bail!("--endpoint-api: expected `completions` or `chat`, found `{other}`"),
            };
            config.api_key = ["RECODE_API_KEY", "OPENAI_API_KEY"]
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
            Ok(Box::new(OpenAiEndpoint::new(config)?))
        }
        (Some(_), None) => bail!("--endpoint needs --model NAME (the served model's name)"),
        (None, Some(model)) => local_generator(Path::new(model), args.adapter.as_deref()),
        (None, None) => bail!("a model is needed: --endpoint URL --model NAME, or --model PATH [--adapter DIR]"),
    }
}

/// A local candle model (with an optional adapter) as a [`Generator`].
///
/// This is where local models plug in: replace the `bail!` below with the construction of the
/// `recode-models` generator (load `model`, apply `adapter`), returned boxed. Everything else
/// in `recode migrate` works on `Box<dyn Generator>` already.
fn local_generator(model: &Path, adapter: Option<&Path>) -> anyhow::Result<Box<dyn Generator>> {
    if !model.exists() {
        bail!("model not found: {} (for a served model use --endpoint URL --model NAME)", model.display());
    }
    if let Some(adapter) = adapter
        && !adapter.exists()
    {
        bail!("adapter not found: {}", adapter.display());
    }
    let model =
        super::generate::load_local_model(Some(&model.to_path_buf()), adapter.map(Path::to_path_buf).as_ref(), 8)?;
    Ok(Box::new(model))
}

/// Consecutive runs of `files` holding about `units` units each (at least one file each).
fn unit_batches(files: Vec<(usize, Prepared)>, units: usize) -> Vec<Vec<(usize, Prepared)>> {
    let mut batches: Vec<Vec<(usize, Prepared)>> = Vec::new();
    let mut in_last = usize::MAX;
    for file in files {
        let n = file.1.scan.units.len();
        if in_last >= units {
            batches.push(Vec::new());
            in_last = 0;
        }
        in_last += n;
        batches.last_mut().expect("a batch was opened").push(file);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_about_the_unit_budget_in_file_order() {
        let library = Library::resolve("numpy").unwrap();
        let mut names = recode_migrate::AffectedNames::default();
        assert!(names.add("numpy.trapz", &library));
        let settings = Settings::new(library, "2.0.0", "np.trapz is deprecated", names);
        let file = |index: usize, units: usize| {
            let source = format!("import numpy as np\n{}", "x = np.trapz(y)\n".repeat(units));
            let name = format!("f{index}.py");
            (index, engine::prepare_source(Path::new(&name), &name, source, &settings).unwrap())
        };
        let files = vec![file(0, 3), file(1, 2), file(2, 5), file(3, 1), file(4, 1)];
        let batches = unit_batches(files, 5);
        let shape: Vec<Vec<(usize, usize)>> =
            batches.iter().map(|b| b.iter().map(|(i, p)| (*i, p.scan.units.len())).collect()).collect();
        assert_eq!(shape, vec![vec![(0, 3), (1, 2)], vec![(2, 5)], vec![(3, 1), (4, 1)]]);
        assert!(unit_batches(Vec::new(), 5).is_empty());
    }
}
