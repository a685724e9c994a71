//! The training configuration: one TOML file (`configs/*.toml`), `--set key.path=value`
//! overrides, and a validation that reports every problem before any work starts.
//!
//! Every field has a default; the defaults are the paper's GRPO run (spec §5: TRL
//! GRPOTrainer + PEFT), and each field's documentation gives the paper's value for the GRPO
//! and the DAPO run where they differ. Relative paths are relative to the working directory.
//!
//! ```toml
//! seed = 42
//! steps = 5000
//! run_dir = "runs/grpo"
//! [model]        # what to train
//! [data]         # the training items
//! [lora]         # the adapter
//! [algorithm]    # GRPO / DAPO / SFT and every knob of the loss
//! [reward]       # which reward components
//! [sampling]     # how completions are sampled
//! [optim]        # AdamW, schedule, clipping
//! [checkpoint]   # how often, how many
//! [logging]      # progress, completions log
//! ```
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use crate::loss::LossAggregation;
pub use crate::reward::Correctness;
pub use crate::schedule::Schedule;

/// The whole configuration of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Seed of every random choice: data order, adapter initialisation, dropout, sampling.
    /// Paper: 42.
    pub seed: u64,
    /// Optimizer steps (one batch of P prompts each; with `mini_batch_prompts` a step takes
    /// P / mini_batch_prompts updates). Paper: 5,000.
    pub steps: u64,
    /// Where the run writes `config.toml` (the resolved config), `metrics.jsonl`,
    /// `completions.jsonl` and `checkpoints/`.
    pub run_dir: PathBuf,
    pub model: ModelConfig,
    pub data: DataConfig,
    pub lora: LoraConfig,
    pub algorithm: AlgorithmConfig,
    pub reward: RewardConfig,
    pub sampling: SamplingConfig,
    pub optim: OptimConfig,
    pub checkpoint: CheckpointConfig,
    pub logging: LoggingConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 42,
            steps: 5000,
            run_dir: PathBuf::from("runs/train"),
            model: ModelConfig::default(),
            data: DataConfig::default(),
            lora: LoraConfig::default(),
            algorithm: AlgorithmConfig::default(),
            reward: RewardConfig::default(),
            sampling: SamplingConfig::default(),
            optim: OptimConfig::default(),
            checkpoint: CheckpointConfig::default(),
            logging: LoggingConfig::default(),
        }
    }
}

/// `[model]`: the base model the adapter is trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// A Hugging Face model directory or a GGUF file, or the marker `"tiny"`: a tiny random
    /// Qwen2-style model built in-process from `[model.tiny]` and the seed (for tests; see
    /// [`ModelConfig::source`]). Required. Paper: Qwen2.5-Coder-7B-Instruct.
    pub path: String,
    /// Weights' dtype for the frozen base: `"f32"`, `"bf16"` or `"f16"`. CPU: f32.
    pub dtype: String,
    /// `"cpu"` or `"cuda"` (`"cuda:N"` for device N).
    pub device: String,
    /// Longest prompt in tokens: longer items are skipped (and counted) rather than
    /// truncated, as verl's `filter_overlong_prompts`. Paper scripts: 2048.
    pub max_prompt_tokens: usize,
    /// The tiny random model's shape, used only when `path = "tiny"`.
    pub tiny: TinyModelConfig,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            path: String::new(),
            dtype: "f32".into(),
            device: "cpu".into(),
            max_prompt_tokens: 2048,
            tiny: TinyModelConfig::default(),
        }
    }
}

/// `[model.tiny]`: a random Qwen2-architecture model small enough for unit tests (the
/// defaults: 2 layers, hidden 32, ~50k parameters with a 512-token vocabulary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TinyModelConfig {
    /// Vocabulary size (ids the random model and its test tokenizer use).
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
}

impl Default for TinyModelConfig {
    fn default() -> Self {
        TinyModelConfig {
            vocab_size: 512,
            hidden_size: 32,
            intermediate_size: 64,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: 2,
        }
    }
}

/// What `model.path` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// `path = "tiny"`: build the random model of `[model.tiny]`.
    Tiny,
    /// A model directory or GGUF file.
    Path(PathBuf),
}

/// The marker `model.path` takes for the tiny random model.
pub const TINY_MODEL: &str = "tiny";

impl ModelConfig {
    pub fn source(&self) -> ModelSource {
        if self.path == TINY_MODEL { ModelSource::Tiny } else { ModelSource::Path(PathBuf::from(&self.path)) }
    }
}

/// `[data]`: the training items (ReCode JSONL, spec §2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// The training set. Default: the repository's `data/train.jsonl`.
    pub train: PathBuf,
    /// Shuffle the items (a new permutation each epoch, from the seed). TRL: true.
    pub shuffle: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig { train: PathBuf::from("data/train.jsonl"), shuffle: true }
    }
}

/// LoRA or DoRA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdapterKind {
    Lora,
    /// Weight-decomposed LoRA (Liu et al. 2024): LoRA plus a learned magnitude vector. Paper.
    Dora,
}

/// `[lora]`: the adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoraConfig {
    /// `"lora"` or `"dora"`. Paper: DoRA (the DAPO script does full fine-tuning instead).
    pub kind: AdapterKind,
    /// Rank r. Paper: 64.
    pub r: usize,
    /// Scale α (the update is scaled by α / r). Paper: 64.
    pub alpha: f64,
    /// Dropout on the adapter's input. Paper: 0.01.
    pub dropout: f64,
    /// Linear layers to adapt, by their Hugging Face names: `q_proj`, `k_proj`, `v_proj`,
    /// `o_proj`, `gate_proj`, `up_proj`, `down_proj`. Paper: PEFT's default for Qwen2,
    /// `["q_proj", "v_proj"]`.
    pub targets: Vec<String>,
    /// Decoder layers (0-based) that get adapters; empty = all (paper). Adapting only the
    /// last few layers also shortens the backward pass, which stops at the first adapted layer.
    pub layers: Vec<usize>,
}

/// The linear layers an adapter can target.
pub const LORA_TARGETS: [&str; 7] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

impl Default for LoraConfig {
    fn default() -> Self {
        LoraConfig {
            kind: AdapterKind::Dora,
            r: 64,
            alpha: 64.0,
            dropout: 0.01,
            targets: vec!["q_proj".into(), "v_proj".into()],
            layers: Vec::new(),
        }
    }
}

/// What is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Group Relative Policy Optimization (the paper's main run).
    Grpo,
    /// GRPO with DAPO's knobs (the paper's second run). Runs the same loop as `grpo`; the name
    /// records intent, the knobs (`eps_high`, `dual_clip`, `dynamic_sampling`, …) do the work.
    Dapo,
    /// Supervised fine-tuning on `new_code` after the prompt (the paper's baseline).
    Sft,
}

/// How advantages are scaled (see [`crate::advantage::group_advantages`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleRewards {
    /// By the group's standard deviation (GRPO, DAPO).
    Group,
    /// By the batch's standard deviation.
    Batch,
    /// Not at all (Dr. GRPO).
    None,
}

/// Which value DAPO's dynamic sampling compares within a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DynamicSamplingMetric {
    /// The correctness component (ES* by default); the total when there is none.
    Correctness,
    /// The total reward.
    Total,
}

/// `[algorithm]`: the algorithm and every knob of its loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlgorithmConfig {
    /// `"grpo"`, `"dapo"` or `"sft"`.
    pub name: Algorithm,
    /// P, prompts per step. Paper: GRPO 1 (TRL counts completions: 4 per device × 2 GPUs = 8
    /// = one group of G = 8, the paper's "batch 8"); DAPO 8.
    pub prompts_per_step: usize,
    /// G, completions sampled per prompt (≥ 2 for GRPO / DAPO; unused by SFT). Paper: 8.
    pub group_size: usize,
    /// Advantage scaling: `"group"`, `"batch"` or `"none"`. Paper: group (both runs).
    pub scale_rewards: ScaleRewards,
    /// ε added to the standard deviation. TRL: 1e-4 (the GRPO run); verl: 1e-6 (DAPO run).
    pub std_epsilon: f64,
    /// Lower clip ε_low: ratios below 1 − ε_low stop pushing down. Paper: 0.2 (both).
    pub eps_low: f64,
    /// Upper clip ε_high. Paper: GRPO 0.2; DAPO 0.28 ("clip-higher").
    pub eps_high: f64,
    /// Dual-clip bound c (> 1) for negative advantages; absent = none. Paper: GRPO none;
    /// DAPO 10.
    pub dual_clip: Option<f64>,
    /// μ, optimisation passes over each batch with the sampling-time log-probs as π_old.
    /// Paper: 1.
    pub num_iterations: usize,
    /// β, coefficient of the k3 KL to the reference (the base model, adapters off). Paper:
    /// GRPO 0.001; DAPO 0 (no KL: the reference pass is skipped).
    pub kl_beta: f64,
    /// `"seq-mean-token-mean"` (GRPO), `"token-mean"` (DAPO) or `"seq-mean-token-sum-norm"`
    /// (Dr. GRPO). Paper: GRPO seq-mean-token-mean (TRL's "grpo" loss of early 2025); DAPO
    /// token-mean.
    pub loss_aggregation: LossAggregation,
    /// L of `seq-mean-token-sum-norm`; absent = `sampling.max_new_tokens` (as TRL and verl).
    pub loss_norm_length: Option<usize>,
    /// Completions per forward/backward pass; gradients are accumulated over the
    /// micro-batches of a step, so memory is bounded whatever P × G is. Must divide P × G
    /// (SFT: P). Paper: 4 (GRPO, per device).
    pub micro_batch_size: usize,
    /// Recompute each decoder layer's activations during the backward pass instead of keeping
    /// every layer's: training memory stops growing with layers × tokens, for one more forward
    /// pass over the adapted layers. Default on, as TRL's; paper: not stated.
    pub gradient_checkpointing: bool,
    /// Prompts per optimizer update (verl's `ppo_mini_batch_size`): a step's P prompts are
    /// split into P / this updates; absent = one update per step. Paper: GRPO absent; DAPO 4
    /// (two updates per batch of 8).
    pub mini_batch_prompts: Option<usize>,
    /// DAPO dynamic sampling: drop groups whose metric values are all equal and sample more
    /// prompts until P informative groups are gathered. Paper: GRPO false; DAPO true.
    pub dynamic_sampling: bool,
    /// What dynamic sampling compares. Paper (DAPO): correctness.
    pub dynamic_sampling_metric: DynamicSamplingMetric,
    /// Most generation batches per step with dynamic sampling, the first included (verl's
    /// `max_num_gen_batches`); when they are spent the step trains on the groups it has.
    /// Paper (DAPO): 10.
    pub max_num_gen_batches: usize,
    /// Exclude truncated completions (stopped at `max_new_tokens`) from the loss. Paper:
    /// false (TRL's default).
    pub mask_truncated: bool,
    /// DAPO overlong reward shaping.
    pub overlong: OverlongConfig,
}

impl Default for AlgorithmConfig {
    fn default() -> Self {
        AlgorithmConfig {
            name: Algorithm::Grpo,
            prompts_per_step: 1,
            group_size: 8,
            scale_rewards: ScaleRewards::Group,
            std_epsilon: 1e-4,
            eps_low: 0.2,
            eps_high: 0.2,
            dual_clip: None,
            num_iterations: 1,
            kl_beta: 0.001,
            loss_aggregation: LossAggregation::SeqMeanTokenMean,
            loss_norm_length: None,
            micro_batch_size: 4,
            gradient_checkpointing: true,
            mini_batch_prompts: None,
            dynamic_sampling: false,
            dynamic_sampling_metric: DynamicSamplingMetric::Correctness,
            max_num_gen_batches: 10,
            mask_truncated: false,
            overlong: OverlongConfig::default(),
        }
    }
}

impl AlgorithmConfig {
    /// Completions per step before dynamic sampling: P × G (SFT: P).
    pub fn completions_per_step(&self) -> usize {
        match self.name {
            Algorithm::Sft => self.prompts_per_step,
            _ => self.prompts_per_step * self.group_size,
        }
    }

    /// The loss settings, resolving `loss_norm_length`.
    pub fn loss_settings(&self, max_new_tokens: usize) -> crate::loss::LossSettings {
        crate::loss::LossSettings {
            eps_low: self.eps_low,
            eps_high: self.eps_high,
            dual_clip: self.dual_clip,
            beta: self.kl_beta,
            aggregation: self.loss_aggregation,
            norm_length: self.loss_norm_length.unwrap_or(max_new_tokens),
        }
    }
}

/// `[algorithm.overlong]`: DAPO's overlong reward shaping (see
/// [`crate::advantage::overlong_penalty`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OverlongConfig {
    /// Paper (DAPO): available but disabled.
    pub enabled: bool,
    /// L_cache, tokens before `max_new_tokens` where the penalty starts. verl's DAPO recipe:
    /// 4096 of 20480.
    pub buffer_len: usize,
    /// Penalty at `max_new_tokens`. DAPO: 1.0.
    pub penalty_factor: f64,
}

impl Default for OverlongConfig {
    fn default() -> Self {
        OverlongConfig { enabled: false, buffer_len: 256, penalty_factor: 1.0 }
    }
}

/// `[reward]`: the reward of spec §4, total = format + correctness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RewardConfig {
    /// Include the format reward (+1 / −1). Paper: true.
    pub format: bool,
    /// `"es_star"` (paper), `"em_star"`, `"contains"` (tests) or `"none"`.
    pub correctness: Correctness,
    /// `"parity"` (the reference implementation's numbers, paper) or `"fixed"`.
    pub mode: recode_rewards::Mode,
    /// The text `correctness = "contains"` looks for.
    pub contains: String,
}

impl Default for RewardConfig {
    fn default() -> Self {
        RewardConfig {
            format: true,
            correctness: Correctness::EsStar,
            mode: recode_rewards::Mode::Parity,
            contains: String::new(),
        }
    }
}

/// `[sampling]`: how completions are sampled during training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplingConfig {
    /// Softmax temperature (> 0: groups of identical greedy completions teach nothing).
    /// Paper: 1.0 (verl DAPO; TRL's default).
    pub temperature: f64,
    /// Nucleus mass in (0, 1]. Paper: 1.0.
    pub top_p: f64,
    /// Keep the k most likely tokens; 0 = off. Paper: 0.
    pub top_k: usize,
    /// Longest completion in tokens. Paper scripts: 1024.
    pub max_new_tokens: usize,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig { temperature: 1.0, top_p: 1.0, top_k: 0, max_new_tokens: 1024 }
    }
}

/// `[optim]`: AdamW with a warm-up + decay schedule and gradient clipping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimConfig {
    /// Peak learning rate. Paper: GRPO 5e-5; DAPO 1e-6 (full fine-tuning).
    pub lr: f64,
    /// `"constant"`, `"linear"` or `"cosine"` after warm-up. Paper: GRPO cosine; DAPO
    /// constant (verl's default).
    pub schedule: Schedule,
    /// Updates of linear warm-up from 0. Paper: GRPO 150 (warm-up ratio 0.03 of 5,000);
    /// DAPO 10.
    pub warmup_steps: u64,
    /// Floor of the decay as a fraction of `lr` (verl's `min_lr_ratio`). Paper: 0.
    pub min_lr_ratio: f64,
    /// AdamW decoupled weight decay. Paper: GRPO 0 (TRL's default); DAPO 0.1.
    pub weight_decay: f64,
    /// Adam β1. 0.9.
    pub beta1: f64,
    /// Adam β2. 0.999.
    pub beta2: f64,
    /// Adam ε. 1e-8.
    pub adam_eps: f64,
    /// Clip gradients to this global L2 norm; absent = no clipping. Paper: 1.0 (both).
    pub max_grad_norm: Option<f64>,
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            lr: 5e-5,
            schedule: Schedule::Cosine,
            warmup_steps: 150,
            min_lr_ratio: 0.0,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            adam_eps: 1e-8,
            max_grad_norm: Some(1.0),
        }
    }
}

/// `[checkpoint]`: the adapter (PEFT layout), optimizer, schedule position, RNG states and data
/// cursor, written atomically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointConfig {
    /// Save every N steps (and always at the end); 0 = only at the end. TRL: 500.
    pub every: u64,
    /// Keep only the newest N checkpoints; absent = keep all.
    pub keep_last: Option<usize>,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig { every: 500, keep_last: None }
    }
}

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// Show a progress bar (step, reward, ETA) on standard error.
    pub progress: bool,
    /// Write every completion with its rewards to `completions.jsonl`.
    pub completions: bool,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig { progress: true, completions: true }
    }
}

/// One problem found by validation: the key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key, e.g. `algorithm.group_size`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// TOML syntax or a value of the wrong type; `message` gives line and column.
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{origin}: unknown key `{key}`; valid keys {section}: {valid}{hint}")]
    UnknownKey { origin: String, key: String, section: String, valid: String, hint: String },
    /// A `--set` that cannot be applied.
    #[error("--set {assignment}: {message}")]
    Override { assignment: String, message: String },
    /// Every semantic problem, one per line.
    #[error("{origin}: invalid configuration:\n{}", problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid { origin: String, problems: Vec<Problem> },
}

impl TrainConfig {
    /// Reads `path`, applies `overrides` (`key.path=value`, in order) and validates. Every
    /// error names the file or the `--set`, the key and what was expected.
    pub fn load(path: &Path, overrides: &[String]) -> Result<TrainConfig, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let origin = path.display().to_string();
        let config = Self::from_toml_str(&text, &origin, overrides)?;
        let problems = config.validate();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid { origin, problems });
        }
        Ok(config)
    }

    /// Parses TOML text (`origin` names it in errors) and applies `overrides`, without
    /// [`TrainConfig::validate`] (which checks files on disk).
    pub fn from_toml_str(text: &str, origin: &str, overrides: &[String]) -> Result<TrainConfig, ConfigError> {
        let parse_error =
            |e: toml::de::Error| ConfigError::Parse { path: PathBuf::from(origin), message: one_line(&e) };
        let mut table: toml::Table = toml::from_str(text).map_err(parse_error)?;
        let schema = schema();
        check_keys(&table, &schema, "", origin)?;
        // Type errors of the file itself, with its line and column.
        let from_file: TrainConfig = toml::from_str(text).map_err(parse_error)?;
        if overrides.is_empty() {
            return Ok(from_file);
        }
        for assignment in overrides {
            apply_override(&mut table, &schema, assignment)?;
        }
        toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| ConfigError::Override {
            assignment: overrides.join(" --set "),
            message: one_line(&e),
        })
    }

    /// The resolved configuration as TOML (written to the run directory).
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(self).expect("a TrainConfig always serialises to TOML")
    }

    /// Every problem that would make the run fail or mean something else than asked, found
    /// before any work starts. Empty = valid.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| problems.push(Problem { key: key.into(), message });
        let a = &self.algorithm;
        let rl = a.name != Algorithm::Sft;
        let name = serde_plain(&a.name);

        if self.steps == 0 {
            bad("steps", "must be at least 1".into());
        }
        if self.model.path.is_empty() {
            bad("model.path", format!("required: a model directory, a GGUF file, or \"{TINY_MODEL}\""));
        } else if let ModelSource::Path(path) = self.model.source()
            && !path.exists()
        {
            bad("model.path", format!("{} does not exist", path.display()));
        }
        if !["f32", "bf16", "f16"].contains(&self.model.dtype.as_str()) {
            bad("model.dtype", format!("expected \"f32\", \"bf16\" or \"f16\", got {:?}", self.model.dtype));
        }
        let device = self.model.device.as_str();
        let cuda_index_ok = device.strip_prefix("cuda:").is_some_and(|n| n.parse::<usize>().is_ok());
        if device != "cpu" && device != "cuda" && !cuda_index_ok {
            bad("model.device", format!("expected \"cpu\", \"cuda\" or \"cuda:N\", got {device:?}"));
        }
        if self.model.max_prompt_tokens == 0 {
            bad("model.max_prompt_tokens", "must be at least 1".into());
        }
        if self.model.path == TINY_MODEL {
            let t = &self.model.tiny;
            for (key, value) in [
                ("vocab_size", t.vocab_size),
                ("hidden_size", t.hidden_size),
                ("intermediate_size", t.intermediate_size),
                ("num_hidden_layers", t.num_hidden_layers),
                ("num_attention_heads", t.num_attention_heads),
                ("num_key_value_heads", t.num_key_value_heads),
            ] {
                if value == 0 {
                    bad(&format!("model.tiny.{key}"), "must be at least 1".into());
                }
            }
            if t.num_attention_heads > 0 && !t.hidden_size.is_multiple_of(t.num_attention_heads) {
                bad(
                    "model.tiny.hidden_size",
                    format!("{} is not divisible by num_attention_heads = {}", t.hidden_size, t.num_attention_heads),
                );
            }
            if t.num_key_value_heads > 0 && !t.num_attention_heads.is_multiple_of(t.num_key_value_heads) {
                bad(
                    "model.tiny.num_attention_heads",
                    format!(
                        "{} is not divisible by num_key_value_heads = {}",
                        t.num_attention_heads, t.num_key_value_heads
                    ),
                );
            }
        }

        if !self.data.train.is_file() {
            let what = if self.data.train.exists() { "is not a file" } else { "does not exist" };
            bad("data.train", format!("{} {what}", self.data.train.display()));
        }

        let l = &self.lora;
        if l.r == 0 {
            bad("lora.r", "must be at least 1".into());
        }
        if !(l.alpha.is_finite() && l.alpha > 0.0) {
            bad("lora.alpha", format!("must be > 0, got {}", l.alpha));
        }
        if !(0.0..1.0).contains(&l.dropout) {
            bad("lora.dropout", format!("must be in [0, 1), got {}", l.dropout));
        }
        if l.targets.is_empty() {
            bad("lora.targets", format!("must name at least one of {}", LORA_TARGETS.join(", ")));
        }
        let mut seen = BTreeSet::new();
        for target in &l.targets {
            if !LORA_TARGETS.contains(&target.as_str()) {
                bad("lora.targets", format!("unknown layer {target:?}; expected one of {}", LORA_TARGETS.join(", ")));
            } else if !seen.insert(target) {
                bad("lora.targets", format!("{target:?} is listed twice"));
            }
        }
        let mut seen = BTreeSet::new();
        for layer in &l.layers {
            if !seen.insert(layer) {
                bad("lora.layers", format!("layer {layer} is listed twice"));
            }
        }
        if self.model.path == TINY_MODEL
            && let Some(layer) = l.layers.iter().find(|&&n| n >= self.model.tiny.num_hidden_layers)
        {
            bad(
                "lora.layers",
                format!(
                    "layer {layer} does not exist: the tiny model has {} layers",
                    self.model.tiny.num_hidden_layers
                ),
            );
        }

        let p = a.prompts_per_step;
        let g = a.group_size;
        if p == 0 {
            bad("algorithm.prompts_per_step", "must be at least 1".into());
        }
        if rl && g < 2 {
            bad(
                "algorithm.group_size",
                format!("must be at least 2 for {name}: advantages compare completions within a group (got {g})"),
            );
        }
        let per_step = a.completions_per_step();
        let per_step_text = if rl { format!("P × G = {p} × {g} = {per_step}") } else { format!("P = {p}") };
        if a.micro_batch_size == 0 {
            bad("algorithm.micro_batch_size", "must be at least 1".into());
        } else if per_step > 0 && !per_step.is_multiple_of(a.micro_batch_size) {
            bad(
                "algorithm.micro_batch_size",
                format!("{per_step_text} is not divisible by micro_batch_size = {}", a.micro_batch_size),
            );
        }
        if let Some(m) = a.mini_batch_prompts {
            if m == 0 || (p > 0 && !p.is_multiple_of(m)) {
                bad(
                    "algorithm.mini_batch_prompts",
                    format!("must be at least 1 and divide prompts_per_step = {p}, got {m}"),
                );
            } else if a.micro_batch_size > 0 {
                let per_update = if rl { m * g } else { m };
                if !per_update.is_multiple_of(a.micro_batch_size) {
                    bad(
                        "algorithm.micro_batch_size",
                        format!(
                            "the {per_update} completions of one update (mini_batch_prompts = {m}) are not divisible by micro_batch_size = {}",
                            a.micro_batch_size
                        ),
                    );
                }
            }
        }
        if rl {
            if !(a.std_epsilon.is_finite() && a.std_epsilon > 0.0) {
                bad("algorithm.std_epsilon", format!("must be > 0, got {}", a.std_epsilon));
            }
            if !(a.eps_low > 0.0 && a.eps_low < 1.0) {
                bad("algorithm.eps_low", format!("must be in (0, 1), got {}", a.eps_low));
            }
            if !(a.eps_high.is_finite() && a.eps_high > 0.0) {
                bad("algorithm.eps_high", format!("must be > 0, got {}", a.eps_high));
            }
            // Below 1 + ε_high the dual clip would cut into the ordinary clip range.
            let dual_floor = (1.0 + a.eps_high).max(1.0);
            if let Some(c) = a.dual_clip
                && !(c.is_finite() && c > dual_floor)
            {
                bad("algorithm.dual_clip", format!("must be > max(1, 1 + eps_high) = {dual_floor}, got {c}"));
            }
            if a.num_iterations == 0 {
                bad("algorithm.num_iterations", "must be at least 1".into());
            }
            if !(a.kl_beta.is_finite() && a.kl_beta >= 0.0) {
                bad("algorithm.kl_beta", format!("must be ≥ 0, got {}", a.kl_beta));
            }
            if a.loss_norm_length == Some(0) {
                bad("algorithm.loss_norm_length", "must be at least 1".into());
            }
            if a.dynamic_sampling && a.max_num_gen_batches == 0 {
                bad("algorithm.max_num_gen_batches", "must be at least 1".into());
            }
            let o = &a.overlong;
            if o.enabled {
                if o.buffer_len == 0 || o.buffer_len > self.sampling.max_new_tokens {
                    bad(
                        "algorithm.overlong.buffer_len",
                        format!(
                            "must be in 1..=max_new_tokens = {}, got {}",
                            self.sampling.max_new_tokens, o.buffer_len
                        ),
                    );
                }
                if !(o.penalty_factor.is_finite() && o.penalty_factor >= 0.0) {
                    bad("algorithm.overlong.penalty_factor", format!("must be ≥ 0, got {}", o.penalty_factor));
                }
            }
            if !self.reward.format && self.reward.correctness == Correctness::None {
                bad("reward", "no reward component: set reward.format = true or a reward.correctness".into());
            }
            if self.reward.correctness == Correctness::Contains && self.reward.contains.is_empty() {
                bad("reward.contains", "must be a non-empty text when reward.correctness = \"contains\"".into());
            }
            let s = &self.sampling;
            if !(s.temperature.is_finite() && s.temperature > 0.0) {
                bad(
                    "sampling.temperature",
                    format!(
                        "must be > 0 for {name}: greedy groups are identical and teach nothing (got {})",
                        s.temperature
                    ),
                );
            }
            if !(s.top_p > 0.0 && s.top_p <= 1.0) {
                bad("sampling.top_p", format!("must be in (0, 1], got {}", s.top_p));
            }
        } else if a.dynamic_sampling {
            bad("algorithm.dynamic_sampling", "applies to grpo and dapo, not sft".into());
        }
        if self.sampling.max_new_tokens == 0 {
            bad("sampling.max_new_tokens", "must be at least 1".into());
        }

        let o = &self.optim;
        if !(o.lr.is_finite() && o.lr > 0.0) {
            bad("optim.lr", format!("must be > 0, got {}", o.lr));
        }
        if o.warmup_steps > self.steps {
            bad("optim.warmup_steps", format!("{} is more than steps = {}", o.warmup_steps, self.steps));
        }
        if !(0.0..=1.0).contains(&o.min_lr_ratio) {
            bad("optim.min_lr_ratio", format!("must be in [0, 1], got {}", o.min_lr_ratio));
        }
        if !(o.weight_decay.is_finite() && o.weight_decay >= 0.0) {
            bad("optim.weight_decay", format!("must be ≥ 0, got {}", o.weight_decay));
        }
        for (key, value) in [("optim.beta1", o.beta1), ("optim.beta2", o.beta2)] {
            if !(0.0..1.0).contains(&value) {
                bad(key, format!("must be in [0, 1), got {value}"));
            }
        }
        if !(o.adam_eps.is_finite() && o.adam_eps > 0.0) {
            bad("optim.adam_eps", format!("must be > 0, got {}", o.adam_eps));
        }
        if let Some(norm) = o.max_grad_norm
            && !(norm.is_finite() && norm > 0.0)
        {
            bad("optim.max_grad_norm", format!("must be > 0 (leave it out for no clipping), got {norm}"));
        }
        if self.checkpoint.keep_last == Some(0) {
            bad("checkpoint.keep_last", "must be at least 1 (leave it out to keep all)".into());
        }
        problems
    }

    /// Settings that are valid but probably not what was meant (printed as warnings).
    pub fn warnings(&self) -> Vec<String> {
        let a = &self.algorithm;
        let mut out = Vec::new();
        if a.name == Algorithm::Dapo {
            if !a.dynamic_sampling {
                out.push("algorithm.name = \"dapo\" but algorithm.dynamic_sampling = false".into());
            }
            if a.kl_beta != 0.0 {
                out.push(format!("algorithm.name = \"dapo\" but algorithm.kl_beta = {} (DAPO uses no KL)", a.kl_beta));
            }
        }
        if a.name == Algorithm::Sft && self.reward != RewardConfig::default() {
            out.push("[reward] is ignored by sft".into());
        }
        out
    }
}

/// The serde name of a unit enum value (`Algorithm::Grpo` → `grpo`).
fn serde_plain<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Json::String(s)) => s,
        _ => String::new(),
    }
}

/// A toml error on one line: its message already says where.
fn one_line(error: &toml::de::Error) -> String {
    let text = error.to_string();
    let mut lines = text.lines().map(str::trim_end).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default().to_string();
    // toml's messages are "TOML parse error at line L, column C", a source excerpt, then the message.
    let message = error.message().trim();
    if first.starts_with("TOML parse error") {
        format!("{}: {message}", first.trim_start_matches("TOML parse error at "))
    } else {
        message.to_string()
    }
}

/// The key tree of [`TrainConfig`], every key present (an absent `Option` appears as `null`).
fn schema() -> Json {
    serde_json::to_value(TrainConfig::default()).expect("the default config serialises")
}

fn section_name(prefix: &str) -> String {
    if prefix.is_empty() { "at the top level".into() } else { format!("in [{}]", prefix.trim_end_matches('.')) }
}

fn unknown_key(origin: &str, prefix: &str, key: &str, allowed: &serde_json::Map<String, Json>) -> ConfigError {
    let valid: Vec<&str> = allowed.keys().map(String::as_str).collect();
    // A prefix (`optimizer` for `optim`) or a few edits away (`eps_hi` for `eps_high`).
    let distance = |v: &str| if v.starts_with(key) || key.starts_with(v) { 0 } else { edit_distance(key, v) };
    let closest = valid.iter().map(|v| (distance(v), *v)).min().filter(|(d, _)| *d <= 3.max(key.len() / 3));
    ConfigError::UnknownKey {
        origin: origin.into(),
        key: format!("{prefix}{key}"),
        section: section_name(prefix),
        valid: valid.join(", "),
        hint: closest.map(|(_, v)| format!(" (did you mean `{prefix}{v}`?)")).unwrap_or_default(),
    }
}

/// Rejects keys that are not fields, with the full dotted path and the keys that are.
fn check_keys(table: &toml::Table, schema: &Json, prefix: &str, origin: &str) -> Result<(), ConfigError> {
    let Json::Object(allowed) = schema else { return Ok(()) };
    for (key, value) in table {
        let Some(sub) = allowed.get(key) else { return Err(unknown_key(origin, prefix, key, allowed)) };
        if let (toml::Value::Table(inner), Json::Object(_)) = (value, sub) {
            check_keys(inner, sub, &format!("{prefix}{key}."), origin)?;
        }
    }
    Ok(())
}

/// Applies one `key.path=value`: the key must exist; the value is read as TOML (`0.1`,
/// `true`, `["q_proj", "v_proj"]`, `"text"`) and checked against the key's type; a string
/// key also takes a bare word (`--set algorithm.name=dapo`).
fn apply_override(table: &mut toml::Table, schema: &Json, assignment: &str) -> Result<(), ConfigError> {
    let fail = |message: String| ConfigError::Override { assignment: assignment.into(), message };
    let Some((key, raw)) = assignment.split_once('=') else {
        return Err(fail("expected KEY=VALUE, e.g. algorithm.group_size=4".into()));
    };
    let key = key.trim();
    let raw = raw.trim();
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(fail(format!("`{key}` is not a dotted key path")));
    }
    // Walk the schema to the key's expected type.
    let mut expected = schema;
    for (depth, part) in parts.iter().enumerate() {
        let prefix: String = parts[..depth].iter().map(|p| format!("{p}.")).collect();
        let Json::Object(allowed) = expected else {
            return Err(fail(format!("`{}` is a value, not a section", prefix.trim_end_matches('.'))));
        };
        expected = allowed.get(*part).ok_or_else(|| match unknown_key("--set", &prefix, part, allowed) {
            ConfigError::UnknownKey { key, section, valid, hint, .. } => {
                fail(format!("unknown key `{key}`; valid keys {section}: {valid}{hint}"))
            }
            other => other,
        })?;
    }
    if let Json::Object(fields) = expected {
        let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        return Err(fail(format!("`{key}` is a section; set one of its keys: {}", keys.join(", "))));
    }
    let parsed: Option<toml::Value> =
        toml::from_str::<toml::Table>(&format!("v = {raw}")).ok().and_then(|mut t| t.remove("v"));
    let value = match (expected, parsed) {
        (Json::String(_), Some(toml::Value::String(s))) => toml::Value::String(s),
        (Json::String(_), _) => toml::Value::String(raw.to_string()),
        (Json::Bool(_), Some(v @ toml::Value::Boolean(_))) => v,
        (Json::Number(n), Some(toml::Value::Integer(i))) if n.is_f64() => toml::Value::Float(i as f64),
        (Json::Number(n), Some(v @ toml::Value::Float(_))) if n.is_f64() => v,
        (Json::Number(n), Some(v @ toml::Value::Integer(i))) if !n.is_f64() => {
            if i < 0 {
                return Err(fail(format!("`{key}` must be a non-negative integer, got {raw}")));
            }
            v
        }
        (Json::Array(_), Some(v @ toml::Value::Array(_))) => v,
        (Json::Null, Some(v)) => v,
        (Json::Null, None) => toml::Value::String(raw.to_string()),
        (expected, _) => {
            let what = match expected {
                Json::Bool(_) => "true or false".to_string(),
                Json::Number(n) if n.is_f64() => "a number".into(),
                Json::Number(_) => "a non-negative integer".into(),
                Json::Array(_) => "a TOML array, e.g. [\"q_proj\", \"v_proj\"] or [20, 21]".into(),
                _ => "a value".into(),
            };
            return Err(fail(format!("`{key}` expects {what}, got `{raw}`")));
        }
    };
    // Insert, creating sections that the file left out.
    let mut current = table;
    for part in &parts[..parts.len() - 1] {
        let entry = current.entry(part.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(next) = entry else {
            return Err(fail(format!("`{part}` in the file is not a section")));
        };
        current = next;
    }
    current.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// Levenshtein distance over chars, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            current.push((previous[j] + usize::from(ca != *cb)).min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}
