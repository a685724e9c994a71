//! `recode data …`: validate, stats, split, prompt, export.
//!
//! Exit status: 0 success; 1 `validate` found problems; 2 any error (unreadable file, bad
//! input, bad arguments), reported on stderr as `error: …` by `main`.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use recode_data::prompt::{training_messages, training_prompt};
use recode_data::{Item, LengthSummary, Stats, read_jsonl};

#[derive(clap::Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(clap::Subcommand)]
enum DataCommand {
    /// Check ReCode JSONL files and print every problem as `FILE:LINE: field: message`.
    ///
    /// Problems and then a summary line (`N items, M problems in K files`) go to stdout.
    /// Exit 1 when there is any problem, 0 otherwise; 2 when a file cannot be read (the other
    /// files are still checked; the error is printed on stderr).
    Validate(ValidateArgs),
    /// Counts per library, update type and validation rule, and code and prompt lengths.
    Stats(StatsArgs),
    /// Deterministic train/test split, stratified by library, written atomically.
    Split(SplitArgs),
    /// Print the exact training prompt (spec §3.1) of one item.
    Prompt(PromptArgs),
    /// Export items for another trainer (verl Parquet, TRL JSONL).
    Export(super::export::ExportArgs),
    /// Execution validation: run every item's code in the sandbox on its environments.
    Check(super::check::CheckArgs),
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// ReCode JSONL files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct StatsArgs {
    /// A ReCode JSONL file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Measure lengths in tokens of this Hugging Face `tokenizer.json` (no special tokens
    /// added) instead of characters (Unicode scalar values).
    #[arg(long, value_name = "TOKENIZER_JSON")]
    tokenizer: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct SplitArgs {
    /// A ReCode JSONL file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Fraction of each library's items that goes to the test set, in [0, 1]; each library
    /// contributes round(n × F) items (at least 1 when F > 0 and n ≥ 2, at most n − 1 when
    /// F < 1 and n ≥ 2).
    #[arg(long, value_name = "F")]
    test_frac: f64,
    /// Seed of the shuffle; the same file, fraction and seed always give the same split.
    #[arg(long, value_name = "S")]
    seed: u64,
    /// Training output [default: FILE's stem + `.train.jsonl`, next to FILE].
    #[arg(long, value_name = "PATH")]
    train_out: Option<PathBuf>,
    /// Test output [default: FILE's stem + `.test.jsonl`, next to FILE].
    #[arg(long, value_name = "PATH")]
    test_out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct PromptArgs {
    /// A ReCode JSONL file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// 0-based index of the item (line number − 1).
    #[arg(long, default_value_t = 0, value_name = "N")]
    index: usize,
    /// Print the three chat messages as a JSON array instead of the rendered ChatML text.
    #[arg(long)]
    chat_json: bool,
}

pub fn run(args: DataArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        DataCommand::Validate(args) => validate(args),
        DataCommand::Stats(args) => stats(args),
        DataCommand::Split(args) => split(args),
        DataCommand::Prompt(args) => prompt(args),
        DataCommand::Export(args) => super::export::run(args),
        DataCommand::Check(args) => super::check::run(args),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let (mut items, mut problems, mut files, mut unreadable) = (0, 0, 0, 0);
    // Together, so that near-duplicates are found across files too.
    for report in recode_data::validate_files(&args.files) {
        let report = match report {
            Ok(report) => report,
            Err(err) => {
                eprintln!("error: {err}");
                unreadable += 1;
                continue;
            }
        };
        files += 1;
        items += report.items;
        problems += report.problems.len();
        for problem in &report.problems {
            writeln!(out, "{problem}")?;
        }
    }
    writeln!(
        out,
        "{}, {} in {}",
        plural(items, "item", "items"),
        plural(problems, "problem", "problems"),
        plural(files, "file", "files"),
    )?;
    out.flush()?;
    if unreadable > 0 {
        bail!("{} could not be read", plural(unreadable, "file", "files"));
    }
    Ok(ExitCode::from(if problems > 0 { 1 } else { 0 }))
}

fn load(path: &Path) -> anyhow::Result<Vec<Item>> {
    // The error already names the file (and line); add the cure for content errors.
    read_jsonl(path).map_err(|err| match err {
        recode_data::DataError::Invalid(_) => {
            anyhow::anyhow!("{err} (run `recode data validate` to see every problem)")
        }
        other => other.into(),
    })
}

fn stats(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let items = load(&args.file)?;
    let (stats, unit) = match &args.tokenizer {
        None => (recode_data::compute_stats(&items, recode_data::char_len), "characters"),
        Some(path) => {
            let tokenizer = tokenizers::Tokenizer::from_file(path)
                .map_err(|err| anyhow::anyhow!("cannot load tokenizer {}: {err}", path.display()))?;
            let stats = recode_data::try_compute_stats(&items, |text| {
                tokenizer
                    .encode(text, false)
                    .map(|encoding| encoding.len())
                    .map_err(|err| anyhow::anyhow!("tokenizer {} failed: {err}", path.display()))
            })?;
            (stats, "tokens")
        }
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut value = serde_json::json!({
            "file": args.file.display().to_string(),
            "unit": unit,
            "tokenizer": args.tokenizer.as_ref().map(|p| p.display().to_string()),
        });
        let serde_json::Value::Object(stats) = serde_json::to_value(&stats)? else {
            unreachable!("Stats serialises as an object");
        };
        value.as_object_mut().expect("object").extend(stats);
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        write!(out, "{}", stats_table(&args.file, unit, &stats))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The readable form of the statistics.
fn stats_table(file: &Path, unit: &str, stats: &Stats) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "{}: {}", file.display(), plural(stats.items, "item", "items"));
    let counts = |s: &mut String, title: &str, map: &std::collections::BTreeMap<String, usize>| {
        if map.is_empty() {
            return;
        }
        let width = map.keys().map(|k| k.chars().count()).chain([title.len()]).max().unwrap_or(0);
        let _ = writeln!(s, "\n{title:<width$}  {:>6}  {:>6}", "items", "share");
        for (key, n) in map {
            let share = 100.0 * *n as f64 / stats.items.max(1) as f64;
            let _ = writeln!(s, "{key:<width$}  {n:>6}  {share:>5.1}%");
        }
    };
    counts(&mut s, "library", &stats.by_dependency);
    counts(&mut s, "update type", &stats.by_update_type);
    counts(&mut s, "validation rule", &stats.by_rule);
    let title = format!("length ({unit})");
    let width = title.len().max(8);
    let _ = writeln!(s, "\n{title:<width$}  {:>8}  {:>10}  {:>10}  {:>8}", "min", "mean", "median", "max");
    for (name, summary) in [("old_code", &stats.old_code), ("new_code", &stats.new_code), ("prompt", &stats.prompt)] {
        match summary {
            Some(LengthSummary { min, mean, median, max }) => {
                let _ = writeln!(s, "{name:<width$}  {min:>8}  {mean:>10.1}  {median:>10.1}  {max:>8}");
            }
            None => {
                let _ = writeln!(s, "{name:<width$}  {:>8}  {:>10}  {:>10}  {:>8}", "-", "-", "-", "-");
            }
        }
    }
    s
}

/// `dir/stem.jsonl` → `dir/stem{suffix}`.
fn default_output(input: &Path, suffix: &str) -> anyhow::Result<PathBuf> {
    let stem = input.file_stem().with_context(|| format!("cannot derive output names from {}", input.display()))?;
    let mut name = stem.to_os_string();
    name.push(suffix);
    Ok(input.with_file_name(name))
}

fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn split(args: SplitArgs) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.test_frac) {
        bail!("--test-frac must be a number between 0 and 1, got {}", args.test_frac);
    }
    let train_out = match args.train_out {
        Some(path) => path,
        None => default_output(&args.file, ".train.jsonl")?,
    };
    let test_out = match args.test_out {
        Some(path) => path,
        None => default_output(&args.file, ".test.jsonl")?,
    };
    if same_file(&train_out, &test_out) {
        bail!("the training and test outputs are the same file: {}", train_out.display());
    }
    for out in [&train_out, &test_out] {
        if same_file(out, &args.file) {
            bail!("refusing to overwrite the input {}", args.file.display());
        }
    }
    let items = load(&args.file)?;
    if items.is_empty() {
        bail!("{}: no items to split", args.file.display());
    }
    let indices = recode_data::split_indices(&items, args.test_frac, args.seed)?;
    let pick = |list: &[usize]| -> Vec<Item> { list.iter().map(|&i| items[i].clone()).collect() };
    let (train, test) = (pick(&indices.train), pick(&indices.test));
    recode_data::write_jsonl(&train_out, &train)?;
    recode_data::write_jsonl(&test_out, &test)?;

    let mut per_library: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for item in &train {
        per_library.entry(&item.dependency).or_default().0 += 1;
    }
    for item in &test {
        per_library.entry(&item.dependency).or_default().1 += 1;
    }
    let width = per_library.keys().map(|k| k.chars().count()).chain(["library".len()]).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<width$}  {:>6}  {:>6}  {:>6}", "library", "items", "train", "test")?;
    for (library, (n_train, n_test)) in &per_library {
        writeln!(out, "{library:<width$}  {:>6}  {n_train:>6}  {n_test:>6}", n_train + n_test)?;
    }
    writeln!(out, "{:<width$}  {:>6}  {:>6}  {:>6}", "total", items.len(), train.len(), test.len())?;
    writeln!(out, "wrote {}", train_out.display())?;
    writeln!(out, "wrote {}", test_out.display())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn prompt(args: PromptArgs) -> anyhow::Result<ExitCode> {
    let items = load(&args.file)?;
    let Some(item) = items.get(args.index) else {
        bail!(
            "--index {} is out of range: {} has {} (indices start at 0)",
            args.index,
            args.file.display(),
            plural(items.len(), "item", "items")
        );
    };
    let mut out = std::io::stdout().lock();
    if args.chat_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&training_messages(item))?)?;
    } else {
        // Exactly the prompt: no newline is added after the open `<think>`.
        out.write_all(training_prompt(item).as_bytes())?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
