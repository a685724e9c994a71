//! Batched decode throughput on a real model: `cargo run --release -p recode-models --example
//! decode_bench -- [MODEL] [NEW_TOKENS] [BATCH…]` (defaults: the default model, 256, 1 8 16).
//! Every row decodes exactly NEW_TOKENS tokens (no stop ids), greedy, from prompts of different
//! lengths (the training prompts of data/train.jsonl), so rows are left-padded as in training.
use std::time::Instant;

use candle_core::{DType, Device};
use recode_data::prompt::training_prompt;
use recode_models::{LocalModel, SamplingConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().map(Into::into).unwrap_or_else(recode_weights::default_model_path);
    let new_tokens: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(256);
    let batches: Vec<usize> = if args.len() > 2 { args[2..].iter().map(|s| s.parse()).collect::<Result<_, _>>()? } else { vec![1, 8, 16] };
    let model = LocalModel::load(&path, None, &Device::Cpu, DType::F32)?;
    let items = recode_data::read_jsonl(std::path::Path::new("data/train.jsonl"))?;
    let prompts: Vec<Vec<u32>> = items.iter().take(16).map(|i| model.tokenizer.encode(&training_prompt(i))).collect::<Result<_, _>>()?;
    let config = SamplingConfig { max_new_tokens: new_tokens, ..SamplingConfig::default() };
    println!("model {}  new tokens {new_tokens}", path.display());
    for &b in &batches {
        let rows: Vec<Vec<u32>> = prompts.iter().cycle().take(b).cloned().collect();
        let prompt_tokens: usize = rows.iter().map(Vec::len).sum();
        let streams: Vec<u64> = (0..b as u64).collect();
        let mut first_step = None;
        let started = Instant::now();
        let out = recode_models::generate_with_streams(&model.model, &rows, &streams, &config, model.tokenizer.pad_token_id(), &|_| String::new(), &mut |p| {
            first_step.get_or_insert(p.seconds);
        })?;
        let seconds = started.elapsed().as_secs_f64();
        let generated: usize = out.iter().map(|g| g.ids.len()).sum();
        let prefill = first_step.unwrap_or(0.0);
        println!(
            "batch {b:>2}: {generated} tokens in {seconds:.1} s = {:.1} tok/s overall, {:.1} tok/s decoding (prefill of {prompt_tokens} prompt tokens {prefill:.1} s)",
            generated as f64 / seconds,
            (generated - b) as f64 / (seconds - prefill)
        );
    }
    Ok(())
}
