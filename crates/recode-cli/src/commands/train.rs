//! `recode train --config FILE [--set key=value …] [--resume DIR]`: GRPO, DAPO or SFT of a
//! LoRA/DoRA adapter (spec §5). Writes RUN_DIR/{config.toml, metrics.jsonl,
//! completions.jsonl, checkpoints/step-NNNNNN/, adapter/}.
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use recode_rl::TrainConfig;
use recode_train::{StepOutcome, Trainer};

#[derive(clap::Args)]
pub struct Args {
    /// The run's TOML config (configs/paper-grpo.toml, paper-dapo.toml, demo.toml, tiny.toml).
    /// With --resume and no --config, the run directory's config.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override a config value, e.g. `--set optim.lr=1e-4` (repeatable, applied in order).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Continue a run: a checkpoint directory, or a run directory (its newest checkpoint).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config_path = match (&args.config, &args.resume) {
        (Some(path), _) => path.clone(),
        (None, Some(dir)) => run_dir_of(dir).join("config.toml"),
        (None, None) => anyhow::bail!("give --config FILE (or --resume DIR of an earlier run)"),
    };
    let config = match TrainConfig::load(&config_path, &args.overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            eprintln!("nothing was trained");
            return Ok(ExitCode::from(2));
        }
    };
    for warning in config.warnings() {
        eprintln!("warning: {warning}");
    }
    let started = Instant::now();
    let progress = config.logging.progress;
    let steps = config.steps;
    let run_dir = config.run_dir.clone();
    let mut trainer = match Trainer::new(config, args.resume.as_deref()) {
        Ok(trainer) => trainer,
        Err(err) => {
            eprintln!("{err}");
            eprintln!("nothing was trained");
            return Ok(ExitCode::from(1));
        }
    };
    let first_step = trainer.step_index();
    eprintln!(
        "{} training examples ({} skipped: prompt over model.max_prompt_tokens); {} trainable parameters; \
         loaded in {:.1} s{}",
        trainer.training_examples(),
        trainer.skipped_prompts,
        trainer.model().trainable_vars().iter().map(|v| v.elem_count()).sum::<usize>(),
        started.elapsed().as_secs_f64(),
        if first_step > 0 { format!("; resuming after step {first_step}") } else { String::new() },
    );
    let loop_started = Instant::now();
    let mut show = |outcome: &StepOutcome| {
        if !progress {
            return;
        }
        let m = &outcome.metrics;
        let done = (m.step - first_step) as f64;
        let per_step = loop_started.elapsed().as_secs_f64() / done;
        let eta = per_step * (steps - m.step) as f64;
        let bar_width = 24;
        let filled = (m.step as usize * bar_width / steps.max(1) as usize).min(bar_width);
        eprint!(
            "\r[{}{}] step {}/{} reward {:+.3} (±{:.3}) loss {:+.4} kl {} len {:.0} {:.1} s/step ETA {}   ",
            "#".repeat(filled),
            ".".repeat(bar_width - filled),
            m.step,
            steps,
            m.reward_mean,
            m.reward_std,
            m.loss,
            m.kl.map_or("-".to_string(), |k| format!("{k:.2e}")),
            m.completion_length_mean,
            per_step,
            format_seconds(eta),
        );
        if let Some(dir) = &outcome.checkpoint {
            eprint!("\n  checkpoint {}\n", dir.display());
        }
        let _ = std::io::stderr().flush();
    };
    if let Err(err) = trainer.run(&mut show) {
        eprintln!("\n{err}");
        eprintln!("the last checkpoint in {} holds the progress so far", run_dir.join("checkpoints").display());
        return Ok(ExitCode::from(1));
    }
    let adapter_dir = run_dir.join("adapter");
    let tmp = run_dir.join(".adapter.tmp");
    trainer.model().save_adapters(&tmp, &trainer.config().model.path).context("writing the final adapter")?;
    // Swap in the new adapter: a crash leaves the old one or the new one, under one of the names.
    let old = run_dir.join(".adapter.old");
    if adapter_dir.exists() {
        std::fs::rename(&adapter_dir, &old).with_context(|| format!("replacing {}", adapter_dir.display()))?;
    }
    std::fs::rename(&tmp, &adapter_dir).with_context(|| format!("writing {}", adapter_dir.display()))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    }
    eprintln!(
        "\ntrained {} steps in {}; adapter {}; metrics {}",
        trainer.step_index() - first_step,
        format_seconds(started.elapsed().as_secs_f64()),
        adapter_dir.display(),
        run_dir.join("metrics.jsonl").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The run directory of `--resume DIR` (DIR itself, or the run holding checkpoint DIR).
fn run_dir_of(dir: &std::path::Path) -> PathBuf {
    if dir.join("trainer_state.json").is_file()
        && let Some(run) = dir.parent().and_then(|checkpoints| checkpoints.parent())
    {
        return run.to_path_buf();
    }
    dir.to_path_buf()
}

fn format_seconds(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 { format!("{}h{:02}m", s / 3600, s / 60 % 60) } else { format!("{}m{:02}s", s / 60, s % 60) }
}
