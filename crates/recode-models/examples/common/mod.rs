//! What decode_bench and lora_step_bench share: `--device`, `--dtype` and `--random` flags,
//! random weights of a real model's shape (the real 0.5B weights do not travel to a GPU
//! machine), the pseudo-random token ids both benchmarks and their PyTorch peers
//! (python/bench/gpu_torch.py) use, and peak device-memory sampling.
#![allow(dead_code)] // Each example uses part of this module.

use std::path::PathBuf;

use candle_core::{DType, Device};
use recode_weights::{Checkpoint, ModelConfig};

/// Qwen2.5-0.5B's shape (its config.json, less the fields that do not change the computation).
const QWEN25_05B: &str = r#"{
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
  "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
  "max_position_embeddings": 32768, "rope_theta": 1000000.0, "rms_norm_eps": 1e-06,
  "tie_word_embeddings": true, "bos_token_id": 151643, "eos_token_id": 151643
}"#;

/// Flags after the positional arguments have been taken out.
pub struct Options {
    pub positional: Vec<String>,
    pub device: Device,
    pub device_name: String,
    pub dtype: DType,
    /// `--random SHAPE`: random weights of SHAPE (`qwen2.5-0.5b` or a config.json path).
    pub random: Option<String>,
    pub seed: u64,
    /// `--save-hf DIR`: write the random weights as a Hugging Face directory and exit.
    pub save_hf: Option<PathBuf>,
    /// `--checkpointed`: recompute each layer's activations in the backward pass (lora_step_bench).
    pub checkpointed: bool,
}

pub fn parse_options() -> Result<Options, Box<dyn std::error::Error>> {
    let mut positional = Vec::new();
    let (mut device_name, mut dtype_name) = ("cpu".to_string(), "f32".to_string());
    let (mut random, mut seed, mut save_hf, mut checkpointed) = (None, 0u64, None, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--device" => device_name = value("--device")?,
            "--dtype" => dtype_name = value("--dtype")?,
            "--random" => random = Some(value("--random")?),
            "--seed" => seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--save-hf" => save_hf = Some(PathBuf::from(value("--save-hf")?)),
            "--checkpointed" => checkpointed = true,
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}").into()),
            _ => positional.push(arg),
        }
    }
    let device = match device_name.as_str() {
        "cpu" => Device::Cpu,
        "cuda" => Device::new_cuda(0).map_err(|e| format!("--device cuda: {e}"))?,
        other => return Err(format!("--device {other}: expected cpu or cuda").into()),
    };
    let dtype = match dtype_name.as_str() {
        "f32" => DType::F32,
        "bf16" => DType::BF16,
        "f16" => DType::F16,
        other => return Err(format!("--dtype {other}: expected f32, bf16 or f16").into()),
    };
    if save_hf.is_some() && random.is_none() {
        return Err("--save-hf needs --random".into());
    }
    Ok(Options { positional, device, device_name, dtype, random, seed, save_hf, checkpointed })
}

/// The config of a `--random` shape.
pub fn shape_config(shape: &str) -> Result<ModelConfig, Box<dyn std::error::Error>> {
    let text = match shape {
        "qwen2.5-0.5b" => QWEN25_05B.to_string(),
        path => std::fs::read_to_string(path).map_err(|e| format!("--random {path}: {e}"))?,
    };
    Ok(ModelConfig::from_hf_json(&text).map_err(|e| format!("--random {shape}: {e}"))?)
}

/// Random weights of `shape` (deterministic in `seed`), stored in bf16 so that the f32 and bf16
/// runs, and transformers loading the saved directory, all use the very same numbers.
pub fn random_checkpoint(shape: &str, seed: u64) -> Result<Checkpoint, Box<dyn std::error::Error>> {
    let config = shape_config(shape)?;
    let tokenizer = recode_weights::testing::tiny_tokenizer();
    Ok(recode_weights::testing::random_checkpoint(&config, tokenizer, seed, &Device::Cpu, DType::BF16)?)
}

/// Writes the random checkpoint for `--save-hf`.
pub fn save_random(shape: &str, seed: u64, dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let checkpoint = random_checkpoint(shape, seed)?;
    recode_weights::save_hf_dir(dir, &checkpoint)?;
    println!("wrote {} ({} parameters, bf16) to {}", shape, checkpoint.parameter_count(), dir.display());
    Ok(())
}

/// The token ids every benchmark and its PyTorch peer use: (7919·i + 104729·row + salt) mod 30000 + 100.
pub fn ids(row: usize, len: usize, salt: usize) -> Vec<u32> {
    (0..len).map(|i| ((7919 * i + 104_729 * row + salt) % 30_000 + 100) as u32).collect()
}

/// Prompt `row` of the random-weights decode benchmark: 96 to 159 tokens, so rows are left-padded.
pub fn synthetic_prompt(row: usize) -> Vec<u32> {
    ids(row, 96 + (row * 37) % 64, 3)
}

/// Samples the device's used memory (total − free, as nvidia-smi counts it) every 2 ms while
/// alive; `peak_mb` is the highest value seen. On the CPU it samples nothing.
pub struct MemorySampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    peak: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MemorySampler {
    pub fn start(device: &Device) -> MemorySampler {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let peak = std::sync::Arc::new(AtomicUsize::new(0));
        let thread = used_bytes_probe(device).map(|probe| {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(used) = probe() {
                        peak.fetch_max(used, Ordering::Relaxed);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
            })
        });
        MemorySampler { stop, peak, thread }
    }

    /// Stops sampling; the peak in MiB, or None on the CPU.
    pub fn finish(mut self) -> Option<f64> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let thread = self.thread.take()?;
        thread.join().ok()?;
        Some(self.peak.load(std::sync::atomic::Ordering::Relaxed) as f64 / (1024.0 * 1024.0))
    }
}

/// Used device memory now, in MiB (None on the CPU).
pub fn used_mb(device: &Device) -> Option<f64> {
    used_bytes_probe(device).and_then(|probe| probe()).map(|b| b as f64 / (1024.0 * 1024.0))
}

type Probe = Box<dyn Fn() -> Option<usize> + Send>;

#[cfg(feature = "cuda")]
fn used_bytes_probe(device: &Device) -> Option<Probe> {
    let context = device.as_cuda_device().ok()?.cuda_stream().context().clone();
    Some(Box::new(move || context.mem_get_info().ok().map(|(free, total)| total - free)))
}

#[cfg(not(feature = "cuda"))]
fn used_bytes_probe(_device: &Device) -> Option<Probe> {
    None
}

/// Peak resident memory of this process, in MiB.
/// Resets the peak resident memory (`VmHWM`) to the current one, so that a later
/// [`peak_rss_mb`] measures what came after (Linux: `clear_refs` value 5).
pub fn reset_peak_rss() {
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        eprintln!("warning: the peak RSS could not be reset ({e}): the peaks below include loading");
    }
}

pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}
