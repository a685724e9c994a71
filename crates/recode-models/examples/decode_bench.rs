//! Batched decode throughput:
//!
//!     cargo run --release -p recode-models --example decode_bench -- [MODEL] [NEW_TOKENS] [BATCH…]
//!         [--device cpu|cuda] [--dtype f32|bf16]
//!     … --example decode_bench -- --random SHAPE [NEW_TOKENS] [BATCH…] [--device …] [--dtype …] [--seed N]
//!     … --example decode_bench -- --random SHAPE --save-hf DIR [--seed N]
//!
//! Defaults: the default model, 256 new tokens, batches 1 8 16, CPU, f32. Every row decodes
//! exactly NEW_TOKENS tokens (no stop ids), greedy. With a real model the prompts are the
//! training prompts of data/train.jsonl; with `--random SHAPE` (`qwen2.5-0.5b` or a config.json)
//! the weights are random of that shape and the prompts pseudo-random ids of 96–159 tokens
//! (`common::synthetic_prompt`, also in python/bench/gpu_torch.py). Either way rows have different
//! lengths and are left-padded as in training. `--save-hf DIR` writes the random weights as a
//! Hugging Face directory (for transformers) and exits. One untimed warm-up generation first
//! (on a GPU it loads the kernels). Each batch also prints a `RESULT` line for scripts.
mod common;

use std::time::Instant;

use candle_core::DType;
use recode_data::prompt::training_prompt;
use recode_models::{CausalLm, SamplingConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = common::parse_options()?;
    if let (Some(shape), Some(dir)) = (&options.random, &options.save_hf) {
        return common::save_random(shape, options.seed, dir);
    }
    let mut args = options.positional.iter();
    let (model, prompts, pad_id, label) = match &options.random {
        Some(shape) => {
            let checkpoint = common::random_checkpoint(shape, options.seed)?;
            let mut tensors = std::collections::HashMap::new();
            for (name, t) in &checkpoint.tensors {
                tensors.insert(name.clone(), t.to_dtype(options.dtype)?.to_device(&options.device)?);
            }
            let model = CausalLm::from_tensors(&checkpoint.config, &tensors)?;
            let prompts: Vec<Vec<u32>> = (0..16).map(common::synthetic_prompt).collect();
            (model, prompts, checkpoint.tokenizer.pad_token_id(), format!("random {shape} (seed {})", options.seed))
        }
        None => {
            let path = args.next().map(Into::into).unwrap_or_else(recode_weights::default_model_path);
            let local = recode_models::LocalModel::load(&path, None, &options.device, options.dtype)?;
            let items = recode_data::read_jsonl(std::path::Path::new("data/train.jsonl"))?;
            let prompts: Vec<Vec<u32>> =
                items.iter().take(16).map(|i| local.tokenizer.encode(&training_prompt(i))).collect::<Result<_, _>>()?;
            let pad = local.tokenizer.pad_token_id();
            (local.model, prompts, pad, path.display().to_string())
        }
    };
    let new_tokens: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(256);
    let batches: Vec<usize> = args.map(|s| s.parse()).collect::<Result<_, _>>()?;
    let batches = if batches.is_empty() { vec![1, 8, 16] } else { batches };
    let run = |rows: &[Vec<u32>], tokens: usize, first_step: &mut Option<f64>| {
        let config = SamplingConfig { max_new_tokens: tokens, ..SamplingConfig::default() };
        let streams: Vec<u64> = (0..rows.len() as u64).collect();
        recode_models::generate_with_streams(&model, rows, &streams, &config, pad_id, &|_| String::new(), &mut |p| {
            first_step.get_or_insert(p.seconds);
        })
    };
    run(&prompts[..1], 4, &mut None)?;
    let dtype = match options.dtype {
        DType::BF16 => "bf16",
        DType::F16 => "f16",
        _ => "f32",
    };
    println!("model {label}  new tokens {new_tokens}  device {}  dtype {dtype}", options.device_name);
    for &b in &batches {
        let rows: Vec<Vec<u32>> = prompts.iter().cycle().take(b).cloned().collect();
        let prompt_tokens: usize = rows.iter().map(Vec::len).sum();
        let mut first_step = None;
        let sampler = common::MemorySampler::start(&options.device);
        let started = Instant::now();
        let out = run(&rows, new_tokens, &mut first_step)?;
        let seconds = started.elapsed().as_secs_f64();
        let peak = sampler.finish();
        let generated: usize = out.iter().map(|g| g.ids.len()).sum();
        let prefill = first_step.unwrap_or(0.0);
        let (overall, decoding) = (generated as f64 / seconds, (generated - b) as f64 / (seconds - prefill));
        println!(
            "batch {b:>2}: {generated} tokens in {seconds:.2} s = {overall:.1} tok/s overall, {decoding:.1} tok/s decoding (prefill of {prompt_tokens} prompt tokens {prefill:.3} s){}",
            peak.map(|p| format!(", peak device memory {p:.0} MiB")).unwrap_or_default()
        );
        println!(
            "RESULT decode impl=recode device={} dtype={dtype} batch={b} new_tokens={new_tokens} seconds={seconds:.4} tok_s={overall:.2} decode_tok_s={decoding:.2} prefill_s={prefill:.4} peak_mib={:.0} row0_head={}",
            options.device_name,
            peak.unwrap_or(0.0),
            out[0].ids.iter().take(8).map(u32::to_string).collect::<Vec<_>>().join("-")
        );
    }
    Ok(())
}
