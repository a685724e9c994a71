//! `recode reward`: score completions against targets.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;
use recode_rewards::Mode;
use serde_json::{Map, Value};

#[derive(clap::Args)]
pub struct RewardArgs {
    /// JSONL file (`-` for stdin); each line an object with string fields `completion`
    /// (the text generated after the prefilled `<think>`) and `target`. Other fields are
    /// carried through to the output.
    #[arg(long, short)]
    input: PathBuf,
    /// Reward semantics: `parity` (the reference's numbers, quirks included) or `fixed`.
    #[arg(long, value_enum, default_value_t = ModeArg::Parity)]
    mode: ModeArg,
    /// Worker threads (default: all cores).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Write the scores here (atomically) instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Do not print the throughput summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    Parity,
    Fixed,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Parity => Mode::Parity,
            ModeArg::Fixed => Mode::Fixed,
        }
    }
}

struct Case {
    completion: String,
    target: String,
    carried: Map<String, Value>,
}

pub fn run(args: RewardArgs) -> anyhow::Result<ExitCode> {
    let source = args.input.display().to_string();
    let bytes = read_input(&args.input)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    let mode = Mode::from(args.mode);

    let parsed: Vec<Result<Case, String>> = pool.install(|| {
        let lines: Vec<&[u8]> = recode_data::jsonl_lines(&bytes).map(|(_, line)| line).collect();
        lines.par_iter().map(|line| parse_case(line)).collect()
    });
    let problems: Vec<String> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, case)| case.as_ref().err().map(|e| format!("{source}:{}: {e}", i + 1)))
        .collect();
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("{problem}");
        }
        eprintln!("{}: {} bad line(s); nothing was scored", source, problems.len());
        return Ok(ExitCode::from(1));
    }
    let cases: Vec<Case> = parsed.into_iter().flatten().collect();

    let started = Instant::now();
    let scored: Vec<(recode_rewards::Scores, String)> = pool.install(|| {
        cases
            .into_par_iter()
            .map(|case| {
                let scores = recode_rewards::score(&case.completion, &case.target, mode);
                let mut out = case.carried;
                out.insert("format".into(), scores.format.into());
                out.insert("em_star".into(), scores.em_star.into());
                out.insert("es_star".into(), scores.es_star.into());
                out.insert("total".into(), scores.total.into());
                out.insert("mode".into(), serde_json::to_value(mode).unwrap_or_default());
                if let Some(raises) = scores.reference_raises {
                    out.insert("reference_raises".into(), serde_json::to_value(raises).unwrap_or_default());
                }
                (scores, Value::Object(out).to_string())
            })
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();

    let mut text = String::with_capacity(scored.iter().map(|(_, l)| l.len() + 1).sum());
    for (_, line) in &scored {
        text.push_str(line);
        text.push('\n');
    }
    match &args.output {
        Some(path) => recode_data::write_atomic(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).context("writing to stdout")?;
        }
    }
    if !args.quiet {
        let n = scored.len();
        let mean =
            |f: fn(&recode_rewards::Scores) -> f64| scored.iter().map(|(s, _)| f(s)).sum::<f64>() / n.max(1) as f64;
        eprintln!(
            "scored {n} completions in {elapsed:.3} s ({:.0}/s, {} threads, {mode:?} mode); \
             mean format {:+.3}, em_star {:+.3}, es_star {:+.3}, total {:+.3}; reference raises on {}",
            n as f64 / elapsed.max(1e-9),
            pool.current_num_threads(),
            mean(|s| s.format),
            mean(|s| s.em_star),
            mean(|s| s.es_star),
            mean(|s| s.total),
            scored.iter().filter(|(s, _)| s.reference_raises.is_some()).count(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn read_input(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).context("reading stdin")?;
        Ok(bytes)
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

fn parse_case(line: &[u8]) -> Result<Case, String> {
    let text = std::str::from_utf8(line).map_err(|e| format!("line: invalid UTF-8 at byte {}", e.valid_up_to()))?;
    if text.trim().is_empty() {
        return Err("line: empty line (expected a JSON object)".into());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| format!("line: invalid JSON: {e}"))?;
    let Value::Object(mut object) = value else {
        return Err("line: expected a JSON object".into());
    };
    let mut take = |field: &str| match object.remove(field) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!("{field}: expected a string, found {}", recode_data::json_kind(&other))),
        None => Err(format!("{field}: missing (expected a string)")),
    };
    let completion = take("completion")?;
    let target = take("target")?;
    Ok(Case { completion, target, carried: object })
}
