//! `recode plot RUN_DIR`: PNG plots of a training run's `metrics.jsonl` (reward, KL and
//! completion length against step).
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

#[derive(clap::Args)]
pub struct Args {
    /// The run directory: the one `recode train` wrote, holding `metrics.jsonl`.
    pub run_dir: PathBuf,
    /// Where to write `reward.png`, `kl.png` and `length.png` (created if needed).
    /// Default: RUN_DIR/plots.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let metrics_path = args.run_dir.join("metrics.jsonl");
    let metrics = match recode_rl::read_metrics(&metrics_path) {
        Ok(metrics) => metrics,
        Err(err) => {
            // Bad input (missing file, a bad line): say where, write nothing.
            eprintln!("{err}");
            eprintln!("nothing was plotted");
            return Ok(ExitCode::from(1));
        }
    };
    let out = args.out.unwrap_or_else(|| args.run_dir.join("plots"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let written = recode_rl::plot::plot_run(&metrics, &out)?;
    for path in &written {
        println!("{}", path.display());
    }
    let (first, last) = (metrics[0].step, metrics[metrics.len() - 1].step);
    eprintln!("plotted {} steps ({first}–{last}) from {}", metrics.len(), metrics_path.display());
    Ok(ExitCode::SUCCESS)
}
