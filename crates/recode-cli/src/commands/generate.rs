//! `recode generate`: sample completions from a local model (Hugging Face directory or GGUF),
//! optionally with a PEFT adapter, for one prompt or every item of a ReCode JSONL file.
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use candle_core::{DType, Device};
use recode_data::prompt::{Message, Role, training_messages};
use recode_generate::{Generator, SamplingParams};
use recode_models::LocalModel;

#[derive(clap::Args)]
pub struct Args {
    /// Model: a Hugging Face directory or a GGUF file (default: the fetched default model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// PEFT adapter directory (adapter_config.json + adapter_model.safetensors).
    #[arg(long)]
    pub adapter: Option<PathBuf>,
    /// One user message to answer.
    #[arg(long, conflicts_with = "data", required_unless_present = "data")]
    pub prompt: Option<String>,
    /// ReCode-format JSONL: every item's training prompt (spec §3.1).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Rows decoded together.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Write JSONL here (atomically) instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Sampling options shared by the commands that generate.
#[derive(clap::Args, Clone)]
pub struct SamplingArgs {
    #[arg(long, default_value_t = 512)]
    pub max_new_tokens: usize,
    /// 0 = greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    /// 0 = off.
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Completions per prompt.
    #[arg(long, default_value_t = 1)]
    pub n: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop a completion once its text contains this string (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
}

impl SamplingArgs {
    pub fn params(&self) -> SamplingParams {
        SamplingParams {
            max_new_tokens: self.max_new_tokens,
            temperature: self.temperature,
            top_p: self.top_p,
            top_k: self.top_k,
            n: self.n,
            seed: self.seed,
            stop: self.stop.clone(),
        }
    }
}

/// Loads a local model for generation with a progress line on stderr.
pub fn load_local_model(
    model: Option<&PathBuf>,
    adapter: Option<&PathBuf>,
    batch_size: usize,
) -> anyhow::Result<LocalModel> {
    let path = match model {
        Some(path) => path.clone(),
        None => {
            let path = recode_weights::default_model_path();
            anyhow::ensure!(
                path.exists(),
                "no --model given and the default model is not fetched: run `recode model fetch`"
            );
            path
        }
    };
    let started = Instant::now();
    let mut local = LocalModel::load(&path, adapter.map(PathBuf::as_path), &Device::Cpu, DType::F32)
        .with_context(|| format!("loading {}", path.display()))?;
    local.batch_size = batch_size.max(1);
    eprintln!("loaded {} in {:.1} s", local.describe(), started.elapsed().as_secs_f64());
    let mut last = Instant::now();
    local.set_progress(Box::new(move |done, total, p| {
        if last.elapsed().as_secs_f64() >= 1.0 || p.active_rows == 0 {
            last = Instant::now();
            eprint!(
                "\r  rows {done}/{total}  step {}  active {}  {:.1} tok/s   ",
                p.step,
                p.active_rows,
                p.tokens_generated as f64 / p.seconds.max(1e-9)
            );
        }
    }));
    Ok(local)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let prompts: Vec<(String, Vec<Message>)> = match (&args.prompt, &args.data) {
        (Some(text), _) => vec![(
            "prompt".to_string(),
            vec![Message::new(Role::User, text.clone()), Message::new(Role::Assistant, "")],
        )],
        (None, Some(path)) => {
            let items = recode_data::read_jsonl(path).with_context(|| format!("reading {}", path.display()))?;
            items.iter().map(|item| (item.id.clone().unwrap_or_default(), training_messages(item))).collect()
        }
        (None, None) => anyhow::bail!("give --prompt or --data"),
    };
    let params = args.sampling.params();
    anyhow::ensure!(params.n >= 1, "--n must be at least 1");
    let model = load_local_model(args.model.as_ref(), args.adapter.as_ref(), args.batch_size)?;
    let started = Instant::now();
    let messages: Vec<Vec<Message>> = prompts.iter().map(|(_, m)| m.clone()).collect();
    let completions = model.generate(&messages, &params)?;
    let seconds = started.elapsed().as_secs_f64();
    let mut out = Vec::new();
    let mut tokens = 0usize;
    for ((id, _), samples) in prompts.iter().zip(&completions) {
        for (sample, c) in samples.iter().enumerate() {
            tokens += model.tokenizer.encode(&c.text).map(|t| t.len()).unwrap_or(0);
            let line = serde_json::json!({"id": id, "sample": sample, "completion": c.text, "truncated": c.truncated});
            writeln!(out, "{line}")?;
        }
    }
    eprintln!(
        "\ngenerated {} completions, ~{tokens} tokens in {seconds:.1} s ({:.1} tok/s)",
        completions.len() * params.n,
        tokens as f64 / seconds.max(1e-9)
    );
    match &args.output {
        Some(path) => recode_data::write_atomic(path, &out).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().write_all(&out)?,
    }
    Ok(ExitCode::SUCCESS)
}
