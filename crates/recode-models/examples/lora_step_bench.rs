//! One LoRA training step's forward + backward on a real model: `cargo run --release -p
//! recode-models --example lora_step_bench -- [MODEL] [ROWS] [PROMPT_LEN] [COMPLETION_LEN]`
//! (defaults: the default model, 8 × (150 + 256) tokens, LoRA r = 8 on q/k/v/o). The loss is
//! Σ log π over the completion tokens (what a policy-gradient step differentiates); token ids
//! are fixed pseudo-random so that PyTorch + PEFT (python/bench/lora_step_torch.py) runs the
//! very same batch. Prints seconds and the process's peak resident memory.
use std::time::Instant;

use candle_core::{DType, Device};
use recode_models::adapter::{AdapterConfig, ForwardMode};
use recode_models::{CausalLm, sequence_log_probs};
use recode_weights::load_checkpoint;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

/// The batch both benchmarks use: id = (a·i + b·row) mod 30000 + 100.
pub fn ids(row: usize, len: usize, salt: usize) -> Vec<u32> {
    (0..len).map(|i| ((7919 * i + 104_729 * row + salt) % 30_000 + 100) as u32).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().filter(|s| !s.is_empty()).map(Into::into).unwrap_or_else(recode_weights::default_model_path);
    let num = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (rows, prompt_len, completion_len) = (num(1, 8), num(2, 150), num(3, 256));
    let checkpoint = load_checkpoint(&path, &Device::Cpu, DType::F32)?;
    let mut model = CausalLm::from_tensors(&checkpoint.config, &checkpoint.tensors)?;
    drop(checkpoint);
    model.add_adapters(&AdapterConfig { dropout: 0.0, ..AdapterConfig::default() }, 0)?;
    let prompts: Vec<Vec<u32>> = (0..rows).map(|r| ids(r, prompt_len, 1)).collect();
    let completions: Vec<Vec<u32>> = (0..rows).map(|r| ids(r, completion_len, 2)).collect();
    let loaded_mb = peak_rss_mb();
    for step in 0..2 {
        let started = Instant::now();
        let lp = sequence_log_probs(&model, &prompts, &completions, 0, ForwardMode::TRAIN)?;
        let loss = (lp.log_probs * lp.mask)?.sum_all()?;
        let forward = started.elapsed().as_secs_f64();
        let grads = loss.backward()?;
        let total = started.elapsed().as_secs_f64();
        let n = model.trainable_vars().iter().filter(|v| grads.get(v.as_tensor()).is_some()).count();
        println!(
            "step {step}: {rows} × ({prompt_len} + {completion_len}) tokens: forward {forward:.1} s, forward+backward {total:.1} s, {n} adapter tensors with gradients, loss {:.1}, peak RSS {:.0} MB (after loading {loaded_mb:.0} MB)",
            loss.to_scalar::<f32>()?,
            peak_rss_mb()
        );
    }
    Ok(())
}
