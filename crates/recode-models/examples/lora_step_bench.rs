//! One LoRA training step's forward + backward:
//!
//!     cargo run --release -p recode-models --example lora_step_bench -- [MODEL] [ROWS] [PROMPT_LEN] [COMPLETION_LEN]
//!         [--device cpu|cuda] [--dtype f32|bf16] [--checkpointed]
//!     … --example lora_step_bench -- --random SHAPE [ROWS] [PROMPT_LEN] [COMPLETION_LEN] [--device …] [--dtype …]
//!
//! Defaults: the default model, 8 × (150 + 256) tokens, LoRA r = 8 / α = 16 on q/k/v/o, no
//! dropout, CPU, f32. `--random SHAPE` (`qwen2.5-0.5b` or a config.json) uses random weights of
//! that shape (the same as decode_bench's `--random`). The loss is Σ log π over the completion
//! tokens (what a policy-gradient step differentiates); token ids are fixed pseudo-random so that
//! PyTorch + PEFT (python/bench/lora_step_torch.py, python/bench/gpu_torch.py) runs the very same
//! batch. Runs 3 steps (the first warms up: kernel loading on a GPU) and prints seconds, the
//! process's peak resident memory and, on a GPU, the peak device memory in use; each step also
//! prints a `RESULT` line for scripts. `--checkpointed` recomputes each layer's activations in
//! the backward pass (gradient checkpointing; its forward time is then the whole step's).
mod common;

use std::time::Instant;

use candle_core::DType;
use recode_models::adapter::{AdapterConfig, ForwardMode};
use recode_models::{CausalLm, LogProbGraph};
use recode_weights::load_checkpoint;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = common::parse_options()?;
    if let (Some(shape), Some(dir)) = (&options.random, &options.save_hf) {
        return common::save_random(shape, options.seed, dir);
    }
    let mut args = options.positional.iter();
    let checkpoint = match &options.random {
        Some(shape) => common::random_checkpoint(shape, options.seed)?,
        None => {
            let path = args
                .next()
                .filter(|s| !s.is_empty())
                .map(Into::into)
                .unwrap_or_else(recode_weights::default_model_path);
            load_checkpoint(&path, &candle_core::Device::Cpu, options.dtype)?
        }
    };
    let num = |s: Option<&String>, d: usize| s.and_then(|s| s.parse().ok()).unwrap_or(d);
    let (rows, prompt_len, completion_len) = (num(args.next(), 8), num(args.next(), 150), num(args.next(), 256));
    let mut tensors = std::collections::HashMap::new();
    for (name, t) in &checkpoint.tensors {
        tensors.insert(name.clone(), t.to_dtype(options.dtype)?.to_device(&options.device)?);
    }
    let mut model = CausalLm::from_tensors(&checkpoint.config, &tensors)?;
    drop((checkpoint, tensors));
    model.add_adapters(&AdapterConfig { dropout: 0.0, ..AdapterConfig::default() }, 0)?;
    let prompts: Vec<Vec<u32>> = (0..rows).map(|r| common::ids(r, prompt_len, 1)).collect();
    let completions: Vec<Vec<u32>> = (0..rows).map(|r| common::ids(r, completion_len, 2)).collect();
    let loaded_mb = common::peak_rss_mb();
    common::reset_peak_rss(); // the steps' peak, not the loading's
    let loaded_device = common::used_mb(&options.device);
    let dtype = if options.dtype == DType::BF16 { "bf16" } else { "f32" };
    for step in 0..3 {
        let sampler = common::MemorySampler::start(&options.device);
        let started = Instant::now();
        let graph = LogProbGraph::forward(&model, &prompts, &completions, 0, ForwardMode::TRAIN, options.checkpointed)?;
        options.device.synchronize()?;
        let forward = started.elapsed().as_secs_f64();
        let lp = graph.values().clone();
        let grads = graph.backward(&lp.mask, &model.trainable_vars())?;
        options.device.synchronize()?;
        let total = started.elapsed().as_secs_f64();
        let peak = sampler.finish();
        let n = grads.iter().filter(|g| g.is_some()).count();
        let loss_value = (lp.log_probs * lp.mask)?.sum_all()?.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        let device_memory = match (peak, loaded_device) {
            (Some(p), Some(l)) => format!(", peak device memory {p:.0} MiB (after loading {l:.0} MiB)"),
            _ => String::new(),
        };
        println!(
            "step {step}: {rows} × ({prompt_len} + {completion_len}) tokens: forward {forward:.3} s, forward+backward {total:.3} s, {n} adapter tensors with gradients, loss {loss_value:.3}, peak RSS since loading {:.0} MB (loading's peak {loaded_mb:.0} MB){device_memory}",
            common::peak_rss_mb()
        );
        println!(
            "RESULT lora_step impl=recode device={} dtype={dtype} checkpointed={} step={step} rows={rows} prompt={prompt_len} completion={completion_len} forward_s={forward:.4} total_s={total:.4} loss={loss_value:.4} peak_mib={:.0} loaded_mib={:.0}",
            options.device_name,
            options.checkpointed,
            peak.unwrap_or(0.0),
            loaded_device.unwrap_or(0.0)
        );
    }
    Ok(())
}
