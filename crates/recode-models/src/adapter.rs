//! LoRA and DoRA as a reparameterisation of a frozen linear layer, and the PEFT file layout.
//!
//! LoRA: `y = x·Wᵀ + b + s · (drop(x)·Aᵀ)·Bᵀ` with `s = α / r` (or `α / √r` with rsLoRA).
//! DoRA: `y = (m / ‖W + s·B·A‖_row) ⊙ (x·Wᵀ + s · (drop(x)·Aᵀ)·Bᵀ) + b`, the row norm detached
//! as in the DoRA paper (§4.3) and PEFT. `A` starts Kaiming-uniform, `B` at zero, `m` at `‖W‖_row`,
//! so a fresh adapter leaves the model unchanged.
use std::collections::HashMap;
use std::path::Path;

use candle_core::{D, DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ModelError;
use crate::ops::frozen_linear;
use crate::rng::SplitMix64;

/// The projections an adapter may wrap, by their Hugging Face / PEFT module names.
pub const TARGETABLE: [&str; 7] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/// Which reparameterisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdapterKind {
    Lora,
    Dora,
}

/// What to adapt and how. Defaults are the paper's (spec §5): LoRA, r = 8... see fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterConfig {
    /// LoRA or DoRA. Default: LoRA.
    pub kind: AdapterKind,
    /// Rank r. Default 8.
    pub rank: usize,
    /// α; the update is scaled by α / r. Default 16.
    pub alpha: f64,
    /// Dropout on the adapter's input during training. Default 0.05.
    pub dropout: f64,
    /// Module names to adapt (a subset of [`TARGETABLE`]). Default q/k/v/o.
    pub targets: Vec<String>,
    /// Layer indices to adapt; `None` = all. Default `None`.
    pub layers: Option<Vec<usize>>,
    /// Scale by α / √r instead of α / r. Default false.
    pub use_rslora: bool,
}

impl Default for AdapterConfig {
    fn default() -> Self {
        AdapterConfig {
            kind: AdapterKind::Lora,
            rank: 8,
            alpha: 16.0,
            dropout: 0.05,
            targets: ["q_proj", "k_proj", "v_proj", "o_proj"].map(String::from).to_vec(),
            layers: None,
            use_rslora: false,
        }
    }
}

impl AdapterConfig {
    pub fn scale(&self) -> f64 {
        if self.use_rslora { self.alpha / (self.rank as f64).sqrt() } else { self.alpha / self.rank as f64 }
    }

    pub fn validate(&self, num_layers: usize) -> Result<(), ModelError> {
        let bad = |message: String| Err(ModelError::Adapter(message));
        if self.rank == 0 {
            return bad("rank must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        if self.targets.is_empty() {
            return bad("no target modules".into());
        }
        for target in &self.targets {
            if !TARGETABLE.contains(&target.as_str()) {
                return bad(format!("unknown target module {target:?} (expected one of {})", TARGETABLE.join(", ")));
            }
        }
        if let Some(layers) = &self.layers {
            if let Some(bad_layer) = layers.iter().find(|&&l| l >= num_layers) {
                return bad(format!("layer {bad_layer} does not exist (the model has {num_layers})"));
            }
        }
        Ok(())
    }

    pub fn applies_to(&self, layer: usize, module: &str) -> bool {
        self.targets.iter().any(|t| t == module) && self.layers.as_ref().is_none_or(|ls| ls.contains(&layer))
    }
}

/// The trainable part of one adapted linear layer.
#[derive(Debug, Clone)]
pub struct Adapter {
    /// `[r, in]`
    pub a: Var,
    /// `[out, r]`
    pub b: Var,
    /// DoRA magnitude `[out]`.
    pub magnitude: Option<Var>,
    pub scale: f64,
    pub dropout: f64,
    /// This adapter's own dropout stream (from its layer and module), so that two adapters never
    /// draw the same mask from one [`ForwardMode::dropout_seed`].
    pub stream: u64,
}

/// The dropout stream of the adapter on `module` of layer `layer`.
pub fn adapter_stream(layer: usize, module: &str) -> u64 {
    let index = TARGETABLE.iter().position(|&m| m == module).unwrap_or(TARGETABLE.len());
    (layer * (TARGETABLE.len() + 1) + index) as u64
}

impl Adapter {
    /// A fresh adapter for `weight: [out, in]`: it does not change the layer's output.
    pub fn init(
        weight: &Tensor,
        config: &AdapterConfig,
        stream: u64,
        rng: &mut SplitMix64,
    ) -> Result<Adapter, ModelError> {
        let (out, inp) = weight.dims2()?;
        let bound = 1.0 / (inp as f64).sqrt(); // kaiming_uniform(a = √5), as PEFT
        let a: Vec<f32> = (0..config.rank * inp).map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32).collect();
        let a = Var::from_tensor(&Tensor::from_vec(a, (config.rank, inp), weight.device())?.to_dtype(weight.dtype())?)?;
        let b = Var::zeros((out, config.rank), weight.dtype(), weight.device())?;
        let magnitude = match config.kind {
            AdapterKind::Lora => None,
            AdapterKind::Dora => Some(Var::from_tensor(&row_norm(weight)?)?),
        };
        Ok(Adapter { a, b, magnitude, scale: config.scale(), dropout: config.dropout, stream })
    }

    /// `W + s·B·A`, the weight this adapter stands for.
    pub fn merged_weight(&self, weight: &Tensor) -> Result<Tensor, ModelError> {
        let delta = (self.b.as_tensor().matmul(self.a.as_tensor())? * self.scale)?;
        let merged = (weight + delta)?;
        Ok(match &self.magnitude {
            None => merged,
            Some(m) => {
                let norm = row_norm(&merged)?;
                merged.broadcast_mul(&(m.as_tensor() / norm)?.unsqueeze(1)?)?
            }
        })
    }

    pub fn vars(&self) -> Vec<&Var> {
        let mut vars = vec![&self.a, &self.b];
        vars.extend(self.magnitude.as_ref());
        vars
    }
}

fn row_norm(w: &Tensor) -> candle_core::Result<Tensor> {
    w.sqr()?.sum(D::Minus1)?.sqrt()
}

/// A frozen linear layer, possibly with an adapter.
#[derive(Debug, Clone)]
pub struct AdaptedLinear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub adapter: Option<Adapter>,
}

/// How a forward pass treats adapters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardMode {
    /// Use the adapters; `false` gives the base model exactly (the reference policy).
    pub adapters: bool,
    /// Training: adapter dropout is active.
    pub train: bool,
    /// Where training's dropout masks are drawn from: one seed gives the same masks, so a run
    /// repeats exactly (and resumes exactly) with dropout on.
    pub dropout_seed: u64,
}

impl ForwardMode {
    pub const INFERENCE: ForwardMode = ForwardMode { adapters: true, train: false, dropout_seed: 0 };
    pub const TRAIN: ForwardMode = ForwardMode { adapters: true, train: true, dropout_seed: 0 };
    pub const REFERENCE: ForwardMode = ForwardMode { adapters: false, train: false, dropout_seed: 0 };

    /// Training with dropout masks drawn from `seed`.
    pub fn train_with_seed(seed: u64) -> ForwardMode {
        ForwardMode { dropout_seed: seed, ..ForwardMode::TRAIN }
    }

    /// The same mode with fresh dropout masks, for another pass over other tokens.
    pub fn next_pass(self, pass: u64) -> ForwardMode {
        ForwardMode { dropout_seed: SplitMix64::new(self.dropout_seed).fork(pass).next_u64(), ..self }
    }
}

/// `x ⊙ mask / (1 − p)` with a Bernoulli(1 − p) mask drawn from `rng`: inverted dropout, as
/// PyTorch's, with a reproducible mask.
fn seeded_dropout(x: &Tensor, p: f64, rng: &mut SplitMix64) -> candle_core::Result<Tensor> {
    let keep = (1.0 / (1.0 - p)) as f32;
    let mask: Vec<f32> = (0..x.elem_count()).map(|_| if rng.next_f64() < p { 0.0 } else { keep }).collect();
    x * Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?
}

impl AdaptedLinear {
    /// `x: [n, in]` → `[n, out]`.
    pub fn forward(&self, x: &Tensor, mode: ForwardMode) -> candle_core::Result<Tensor> {
        let base = frozen_linear(x, &self.weight)?;
        let out = match (&self.adapter, mode.adapters) {
            (Some(adapter), true) => {
                let dropped = if mode.train && adapter.dropout > 0.0 {
                    seeded_dropout(x, adapter.dropout, &mut SplitMix64::new(mode.dropout_seed).fork(adapter.stream))?
                } else {
                    x.clone()
                };
                let update = (dropped.matmul(&adapter.a.as_tensor().t()?)?.matmul(&adapter.b.as_tensor().t()?)?
                    * adapter.scale)?;
                match &adapter.magnitude {
                    None => (base + update)?,
                    Some(m) => {
                        let delta = (adapter.b.as_tensor().matmul(adapter.a.as_tensor())? * adapter.scale)?;
                        let norm = row_norm(&(&self.weight + delta)?)?.detach();
                        let factor = (m.as_tensor() / norm)?;
                        (base + update)?.broadcast_mul(&factor)?
                    }
                }
            }
            _ => base,
        };
        match &self.bias {
            Some(bias) => out.broadcast_add(bias),
            None => Ok(out),
        }
    }
}

/// The PEFT name prefix of a module: `base_model.model.model.layers.{layer}.{self_attn|mlp}.{module}`.
pub fn peft_module_name(layer: usize, module: &str) -> String {
    let block = if matches!(module, "gate_proj" | "up_proj" | "down_proj") { "mlp" } else { "self_attn" };
    format!("base_model.model.model.layers.{layer}.{block}.{module}")
}

/// `adapter_config.json` in PEFT's format.
pub fn peft_config_json(config: &AdapterConfig, base_model: &str) -> Value {
    json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": config.rank,
        "lora_alpha": config.alpha,
        "lora_dropout": config.dropout,
        "target_modules": config.targets,
        "layers_to_transform": config.layers,
        "use_dora": config.kind == AdapterKind::Dora,
        "use_rslora": config.use_rslora,
        "bias": "none",
        "fan_in_fan_out": false,
        "inference_mode": true,
        "init_lora_weights": true,
        "modules_to_save": null,
        "rank_pattern": {},
        "alpha_pattern": {},
    })
}

/// Reads PEFT's `adapter_config.json`, rejecting what recode does not implement.
pub fn parse_peft_config(text: &str, file: &Path) -> Result<AdapterConfig, ModelError> {
    let err = |message: String| ModelError::Adapter(format!("{}: {message}", file.display()));
    let value: Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    let get = |key: &str| value.get(key).filter(|v| !v.is_null());
    if let Some(kind) = get("peft_type").and_then(Value::as_str) {
        if kind != "LORA" {
            return Err(err(format!("peft_type {kind:?} is not supported (expected LORA)")));
        }
    }
    for key in ["rank_pattern", "alpha_pattern"] {
        if get(key).and_then(Value::as_object).is_some_and(|m| !m.is_empty()) {
            return Err(err(format!("`{key}` (per-module ranks) is not supported")));
        }
    }
    let rank = get("r").and_then(Value::as_u64).ok_or_else(|| err("`r`: expected a positive integer".into()))?;
    let alpha = get("lora_alpha").and_then(Value::as_f64).unwrap_or(8.0);
    let targets = match get("target_modules") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(String::from).ok_or_else(|| err("`target_modules`: expected strings".into())))
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::String(s)) => return Err(err(format!("`target_modules` as a regex ({s:?}) is not supported"))),
        _ => return Err(err("`target_modules`: missing".into())),
    };
    let layers = match get("layers_to_transform") {
        None => None,
        Some(Value::Number(n)) => Some(vec![n.as_u64().unwrap_or(0) as usize]),
        Some(Value::Array(items)) => Some(items.iter().filter_map(Value::as_u64).map(|n| n as usize).collect()),
        Some(_) => return Err(err("`layers_to_transform`: expected an integer or a list".into())),
    };
    Ok(AdapterConfig {
        kind: if get("use_dora").and_then(Value::as_bool).unwrap_or(false) {
            AdapterKind::Dora
        } else {
            AdapterKind::Lora
        },
        rank: rank as usize,
        alpha,
        dropout: get("lora_dropout").and_then(Value::as_f64).unwrap_or(0.0),
        targets,
        layers,
        use_rslora: get("use_rslora").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// The tensors of `adapters` (`(layer, module) → adapter`) under PEFT names, in f32 on the CPU.
pub fn peft_tensors(adapters: &[((usize, String), &Adapter)]) -> Result<HashMap<String, Tensor>, ModelError> {
    let mut out = HashMap::new();
    for ((layer, module), adapter) in adapters {
        let prefix = peft_module_name(*layer, module);
        let cpu = |t: &Tensor| t.to_dtype(DType::F32)?.to_device(&Device::Cpu);
        out.insert(format!("{prefix}.lora_A.weight"), cpu(adapter.a.as_tensor())?);
        out.insert(format!("{prefix}.lora_B.weight"), cpu(adapter.b.as_tensor())?);
        if let Some(m) = &adapter.magnitude {
            out.insert(format!("{prefix}.lora_magnitude_vector"), cpu(m.as_tensor())?);
        }
    }
    Ok(out)
}
