//! A trainable decoder-only transformer covering Qwen2 and Llama: RMSNorm, rotary position
//! embeddings, grouped-query attention, SwiGLU MLP. Every operation has a backward pass.
//!
//! Rows are left-padded; each forward pass gets the token ids, per-token positions (starting at
//! 0 at each row's first real token) and an additive attention bias that combines the causal
//! and padding masks (see [`ForwardInput`]). The model knows nothing of optimisers.
use std::collections::HashMap;
use std::path::Path;

use candle_core::{D, DType, Device, Tensor, Var};
use recode_weights::{Architecture, ModelConfig, expected_tensors};

use crate::adapter::{
    AdaptedLinear, Adapter, AdapterConfig, ForwardMode, adapter_stream, parse_peft_config, peft_config_json,
    peft_module_name, peft_tensors,
};
use crate::cache::KvCache;
use crate::error::ModelError;
use crate::ops::masked_softmax;
use crate::rng::SplitMix64;

/// Added to the attention scores of masked positions. Finite, so that a query with no visible
/// key (a padding row) gets a uniform distribution instead of NaN.
const MASKED: f32 = -1e30;

/// The inputs of one forward pass over `b` rows of `s` new tokens each, attending to `t`
/// columns (the cached ones followed by the new ones).
#[derive(Debug, Clone)]
pub struct ForwardInput {
    /// `[b, s]` u32.
    pub ids: Tensor,
    /// Position of every new token, flattened `[b · s]`.
    pub positions: Vec<u32>,
    /// `[b, 1, s, t]` additive bias: 0 where a query may attend, [`MASKED`] elsewhere.
    pub bias: Tensor,
}

impl ForwardInput {
    /// `ids[r]` are the `s` new tokens of row `r`; `valid[r]` (length `t ≥ s`) says which of the
    /// row's `t` columns hold real tokens (the new ones are the last `s`). A query attends to the
    /// valid columns at or before its own; positions count the valid columns before a token.
    pub fn new(ids: &[Vec<u32>], valid: &[Vec<bool>], device: &Device, dtype: DType) -> Result<Self, ModelError> {
        let b = ids.len();
        let s = ids.first().map_or(0, Vec::len);
        let t = valid.first().map_or(0, Vec::len);
        if b == 0 || s == 0 || valid.len() != b || t < s {
            return Err(ModelError::InvalidRequest(format!("bad batch: {b} rows, {s} new tokens, {t} columns")));
        }
        if ids.iter().any(|r| r.len() != s) || valid.iter().any(|r| r.len() != t) {
            return Err(ModelError::InvalidRequest("rows of different lengths".into()));
        }
        let first_new = t - s;
        let mut positions = Vec::with_capacity(b * s);
        let mut bias = Vec::with_capacity(b * s * t);
        for row in valid {
            let mut seen = row[..first_new].iter().filter(|&&v| v).count() as u32;
            for i in 0..s {
                let col = first_new + i;
                positions.push(seen);
                if row[col] {
                    seen += 1;
                }
                bias.extend((0..t).map(|j| if j <= col && row[j] { 0.0 } else { MASKED }));
            }
        }
        let flat: Vec<u32> = ids.iter().flatten().copied().collect();
        Ok(ForwardInput {
            ids: Tensor::from_vec(flat, (b, s), device)?,
            positions,
            bias: Tensor::from_vec(bias, (b, 1, s, t), device)?.to_dtype(dtype)?,
        })
    }

    /// Left-pads `rows` to a common length: the input for a full (uncached) forward pass, and
    /// each row's validity mask.
    pub fn left_padded(
        rows: &[Vec<u32>],
        pad: u32,
        device: &Device,
        dtype: DType,
    ) -> Result<(Self, Vec<Vec<bool>>), ModelError> {
        let len = rows.iter().map(Vec::len).max().unwrap_or(0);
        if rows.iter().any(Vec::is_empty) {
            return Err(ModelError::InvalidRequest("an empty sequence".into()));
        }
        let ids: Vec<Vec<u32>> =
            rows.iter().map(|r| std::iter::repeat_n(pad, len - r.len()).chain(r.iter().copied()).collect()).collect();
        let valid: Vec<Vec<bool>> = rows.iter().map(|r| (0..len).map(|j| j >= len - r.len()).collect()).collect();
        Ok((ForwardInput::new(&ids, &valid, device, dtype)?, valid))
    }
}

/// The distinct rows of `rows` in first-seen order, and for each row the index of its distinct
/// row: identical prompts (a GRPO group's) are then run once.
pub(crate) fn distinct_rows(rows: &[Vec<u32>]) -> (Vec<Vec<u32>>, Vec<usize>) {
    let mut distinct: Vec<Vec<u32>> = Vec::new();
    let mut index_of: Vec<usize> = Vec::with_capacity(rows.len());
    let mut seen: HashMap<&[u32], usize> = HashMap::new();
    for row in rows {
        let index = *seen.entry(row.as_slice()).or_insert_with(|| {
            distinct.push(row.clone());
            distinct.len() - 1
        });
        index_of.push(index);
    }
    (distinct, index_of)
}

#[derive(Debug, Clone)]
struct Attention {
    q: AdaptedLinear,
    k: AdaptedLinear,
    v: AdaptedLinear,
    o: AdaptedLinear,
}

#[derive(Debug, Clone)]
struct Mlp {
    gate: AdaptedLinear,
    up: AdaptedLinear,
    down: AdaptedLinear,
}

#[derive(Debug, Clone)]
struct DecoderLayer {
    input_norm: Tensor,
    attn: Attention,
    post_norm: Tensor,
    mlp: Mlp,
}

impl DecoderLayer {
    fn linears(&self) -> [(&'static str, &AdaptedLinear); 7] {
        [
            ("q_proj", &self.attn.q),
            ("k_proj", &self.attn.k),
            ("v_proj", &self.attn.v),
            ("o_proj", &self.attn.o),
            ("gate_proj", &self.mlp.gate),
            ("up_proj", &self.mlp.up),
            ("down_proj", &self.mlp.down),
        ]
    }

    fn linears_mut(&mut self) -> [(&'static str, &mut AdaptedLinear); 7] {
        [
            ("q_proj", &mut self.attn.q),
            ("k_proj", &mut self.attn.k),
            ("v_proj", &mut self.attn.v),
            ("o_proj", &mut self.attn.o),
            ("gate_proj", &mut self.mlp.gate),
            ("up_proj", &mut self.mlp.up),
            ("down_proj", &mut self.mlp.down),
        ]
    }
}

/// Per forward pass, what all its layers share.
pub(crate) struct PassInput {
    b: usize,
    s: usize,
    /// Rotary tables `[b, 1, s, head_dim / 2]`.
    cos: Tensor,
    sin: Tensor,
    /// `[b, 1, s, t]`, see [`ForwardInput::bias`].
    bias: Tensor,
}

/// The keys and values of earlier tokens a forward pass attends to before its own.
pub enum Context<'a> {
    /// Only the input's own tokens.
    None,
    /// Inference: the cache's filled columns; the new keys and values are written into it.
    Cache(&'a mut KvCache),
    /// Only the input's own tokens, and every layer's keys and values `[b, kv_heads, s, d]` are
    /// kept (in the autograd graph) for a later [`Context::Prefix`] pass.
    Record(&'a mut Vec<(Tensor, Tensor)>),
    /// Recorded keys and values first: row `r` of the input continues recorded row `rows[r]`
    /// (so rows that share a prompt share its activations, and gradients flow back into them).
    Prefix { layers: &'a [(Tensor, Tensor)], rows: &'a Tensor },
}

/// A Qwen2 or Llama causal LM with optional LoRA/DoRA adapters.
#[derive(Debug, Clone)]
pub struct CausalLm {
    pub config: ModelConfig,
    embed: Tensor,
    layers: Vec<DecoderLayer>,
    norm: Tensor,
    lm_head: Tensor,
    adapter_config: Option<AdapterConfig>,
}

fn module_prefix(module: &str) -> &'static str {
    if matches!(module, "gate_proj" | "up_proj" | "down_proj") { "mlp" } else { "self_attn" }
}

/// Random weights for tests: N(0, 0.02²) matrices, norms near 1, small biases.
pub fn random_tensors(
    config: &ModelConfig,
    seed: u64,
    device: &Device,
    dtype: DType,
) -> Result<HashMap<String, Tensor>, ModelError> {
    let mut rng = SplitMix64::new(seed);
    let mut out = HashMap::new();
    for (name, shape) in expected_tensors(config) {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = if name.ends_with("norm.weight") {
            (0..n).map(|_| (1.0 + 0.1 * rng.next_normal()) as f32).collect()
        } else {
            let std = if name.ends_with(".bias") { 0.05 } else { 0.2 / (shape[shape.len() - 1] as f64).sqrt() };
            (0..n).map(|_| (std * rng.next_normal()) as f32).collect()
        };
        out.insert(name, Tensor::from_vec(values, shape, device)?.to_dtype(dtype)?);
    }
    Ok(out)
}

impl CausalLm {
    /// Builds the model from tensors under Hugging Face names, checking every name and shape.
    pub fn from_tensors(config: &ModelConfig, tensors: &HashMap<String, Tensor>) -> Result<Self, ModelError> {
        if config.num_attention_heads % config.num_key_value_heads != 0 || config.head_dim % 2 != 0 {
            return Err(ModelError::InvalidRequest("heads must group evenly and head_dim must be even".into()));
        }
        let expected: HashMap<String, Vec<usize>> = expected_tensors(config).into_iter().collect();
        let take = |name: &str| -> Result<Tensor, ModelError> {
            let shape = &expected[name];
            let t = tensors
                .get(name)
                .ok_or_else(|| ModelError::MissingTensor { name: name.to_string(), expected: shape.clone() })?;
            if t.dims() != shape.as_slice() {
                return Err(ModelError::ShapeMismatch {
                    name: name.to_string(),
                    expected: shape.clone(),
                    found: t.dims().to_vec(),
                });
            }
            Ok(t.clone())
        };
        let linear = |p: &str, module: &str, bias: bool| -> Result<AdaptedLinear, ModelError> {
            let base = format!("{p}.{}.{module}", module_prefix(module));
            Ok(AdaptedLinear {
                weight: take(&format!("{base}.weight"))?,
                bias: if bias { Some(take(&format!("{base}.bias"))?) } else { None },
                adapter: None,
            })
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("model.layers.{l}");
            let bias = config.attention_bias;
            layers.push(DecoderLayer {
                input_norm: take(&format!("{p}.input_layernorm.weight"))?,
                post_norm: take(&format!("{p}.post_attention_layernorm.weight"))?,
                attn: Attention {
                    q: linear(&p, "q_proj", bias)?,
                    k: linear(&p, "k_proj", bias)?,
                    v: linear(&p, "v_proj", bias)?,
                    o: linear(&p, "o_proj", false)?,
                },
                mlp: Mlp {
                    gate: linear(&p, "gate_proj", false)?,
                    up: linear(&p, "up_proj", false)?,
                    down: linear(&p, "down_proj", false)?,
                },
            });
        }
        let embed = take("model.embed_tokens.weight")?;
        let lm_head = if config.tie_word_embeddings { embed.clone() } else { take("lm_head.weight")? };
        Ok(CausalLm {
            config: config.clone(),
            embed,
            layers,
            norm: take("model.norm.weight")?,
            lm_head,
            adapter_config: None,
        })
    }

    pub fn device(&self) -> &Device {
        self.embed.device()
    }

    pub fn dtype(&self) -> DType {
        self.embed.dtype()
    }

    /// The LM head matrix `[vocab, hidden]`.
    pub fn lm_head(&self) -> &Tensor {
        &self.lm_head
    }

    pub fn adapter_config(&self) -> Option<&AdapterConfig> {
        self.adapter_config.as_ref()
    }

    /// Wraps the configured linear layers with fresh adapters (replacing any).
    pub fn add_adapters(&mut self, config: &AdapterConfig, seed: u64) -> Result<(), ModelError> {
        config.validate(self.layers.len())?;
        let mut rng = SplitMix64::new(seed);
        for (l, layer) in self.layers.iter_mut().enumerate() {
            for (module, linear) in layer.linears_mut() {
                linear.adapter = if config.applies_to(l, module) {
                    Some(Adapter::init(&linear.weight, config, adapter_stream(l, module), &mut rng)?)
                } else {
                    None
                };
            }
        }
        self.adapter_config = Some(config.clone());
        Ok(())
    }

    /// Every adapter with its layer and module name, in a fixed order.
    pub fn adapters(&self) -> Vec<((usize, String), &Adapter)> {
        let mut out = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            for (module, linear) in layer.linears() {
                if let Some(adapter) = &linear.adapter {
                    out.push(((l, module.to_string()), adapter));
                }
            }
        }
        out
    }

    /// The lowest layer with an adapter: no gradient flows below it.
    pub(crate) fn first_adapted_layer(&self) -> Option<usize> {
        self.layers.iter().position(|layer| layer.linears().iter().any(|(_, linear)| linear.adapter.is_some()))
    }

    /// The trainable parameters, in the order of [`CausalLm::adapters`].
    pub fn trainable_vars(&self) -> Vec<Var> {
        self.adapters().into_iter().flat_map(|(_, a)| a.vars().into_iter().cloned()).collect()
    }

    /// Writes `adapter_config.json` and `adapter_model.safetensors` (PEFT layout) into `dir`.
    /// Each file is written to a temporary name and renamed into place.
    pub fn save_adapters(&self, dir: &Path, base_model: &str) -> Result<(), ModelError> {
        let config =
            self.adapter_config.as_ref().ok_or_else(|| ModelError::Adapter("the model has no adapters".into()))?;
        let io = |path: &Path, e: &dyn std::fmt::Display| ModelError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
        let tensors = peft_tensors(&self.adapters())?;
        let weights = dir.join("adapter_model.safetensors");
        let tmp = dir.join(".adapter_model.safetensors.tmp");
        candle_core::safetensors::save(&tensors, &tmp)?;
        std::fs::rename(&tmp, &weights).map_err(|e| io(&weights, &e))?;
        let text = serde_json::to_string_pretty(&peft_config_json(config, base_model)).expect("serialisable");
        let cfg = dir.join("adapter_config.json");
        let tmp = dir.join(".adapter_config.json.tmp");
        std::fs::write(&tmp, text + "\n").map_err(|e| io(&tmp, &e))?;
        std::fs::rename(&tmp, &cfg).map_err(|e| io(&cfg, &e))?;
        Ok(())
    }

    /// Loads a PEFT adapter directory, checking every tensor name and shape.
    pub fn load_adapters(&mut self, dir: &Path) -> Result<(), ModelError> {
        let cfg_path = dir.join("adapter_config.json");
        let text = std::fs::read_to_string(&cfg_path)
            .map_err(|e| ModelError::Io { path: cfg_path.display().to_string(), message: e.to_string() })?;
        let config = parse_peft_config(&text, &cfg_path)?;
        config.validate(self.layers.len())?;
        let weights_path = dir.join("adapter_model.safetensors");
        if !weights_path.exists() {
            return Err(ModelError::Io { path: weights_path.display().to_string(), message: "not found".into() });
        }
        let mut tensors = candle_core::safetensors::load(&weights_path, self.device())?;
        let dtype = self.dtype();
        let mut take = |name: String, shape: &[usize]| -> Result<Var, ModelError> {
            let t = tensors
                .remove(&name)
                .ok_or_else(|| ModelError::MissingTensor { name: name.clone(), expected: shape.to_vec() })?;
            if t.dims() != shape {
                return Err(ModelError::ShapeMismatch { name, expected: shape.to_vec(), found: t.dims().to_vec() });
            }
            Ok(Var::from_tensor(&t.to_dtype(dtype)?)?)
        };
        for (l, layer) in self.layers.iter_mut().enumerate() {
            for (module, linear) in layer.linears_mut() {
                linear.adapter = None;
                if !config.applies_to(l, module) {
                    continue;
                }
                let (out, inp) = linear.weight.dims2()?;
                let prefix = peft_module_name(l, module);
                let a = take(format!("{prefix}.lora_A.weight"), &[config.rank, inp])?;
                let b = take(format!("{prefix}.lora_B.weight"), &[out, config.rank])?;
                let magnitude = match config.kind {
                    crate::adapter::AdapterKind::Dora => Some(take(format!("{prefix}.lora_magnitude_vector"), &[out])?),
                    crate::adapter::AdapterKind::Lora => None,
                };
                let (scale, dropout, stream) = (config.scale(), config.dropout, adapter_stream(l, module));
                linear.adapter = Some(Adapter { a, b, magnitude, scale, dropout, stream });
            }
        }
        if let Some(extra) = tensors.keys().min() {
            return Err(ModelError::Adapter(format!(
                "{}: unexpected tensor `{extra}` (not a module of this model and adapter config)",
                weights_path.display()
            )));
        }
        self.adapter_config = Some(config);
        Ok(())
    }

    /// The model's tensors under Hugging Face names with every adapter merged into its weight.
    pub fn merged_tensors(&self) -> Result<HashMap<String, Tensor>, ModelError> {
        let mut out = HashMap::new();
        out.insert("model.embed_tokens.weight".to_string(), self.embed.clone());
        out.insert("model.norm.weight".to_string(), self.norm.clone());
        if !self.config.tie_word_embeddings {
            out.insert("lm_head.weight".to_string(), self.lm_head.clone());
        }
        for (l, layer) in self.layers.iter().enumerate() {
            let p = format!("model.layers.{l}");
            out.insert(format!("{p}.input_layernorm.weight"), layer.input_norm.clone());
            out.insert(format!("{p}.post_attention_layernorm.weight"), layer.post_norm.clone());
            for (module, linear) in layer.linears() {
                let base = format!("{p}.{}.{module}", module_prefix(module));
                let weight = match &linear.adapter {
                    Some(adapter) => adapter.merged_weight(&linear.weight)?,
                    None => linear.weight.clone(),
                };
                out.insert(format!("{base}.weight"), weight);
                if let Some(bias) = &linear.bias {
                    out.insert(format!("{base}.bias"), bias.clone());
                }
            }
        }
        Ok(out)
    }

    /// Hidden states after the final norm, `[b, s, hidden]`. With a cache, the new keys and
    /// values are appended to it (the caller advances it with [`KvCache::advance`]).
    pub fn forward(
        &self,
        input: &ForwardInput,
        cache: Option<&mut KvCache>,
        mode: ForwardMode,
    ) -> Result<Tensor, ModelError> {
        match cache {
            Some(cache) => self.forward_in(input, &mut Context::Cache(cache), mode),
            None => self.forward_in(input, &mut Context::None, mode),
        }
    }

    /// [`CausalLm::forward`] with the keys and values of earlier tokens given by `context`.
    pub fn forward_in(
        &self,
        input: &ForwardInput,
        context: &mut Context<'_>,
        mode: ForwardMode,
    ) -> Result<Tensor, ModelError> {
        let pass = self.pass_input(input)?;
        let mut x = self.embed_ids(&input.ids)?;
        for l in 0..self.layers.len() {
            x = self.decoder_layer(l, &x, &pass, context, mode)?;
        }
        self.final_norm(&x, &pass)
    }

    /// What every layer of one forward pass over `input` shares: its shape, rotary tables and
    /// attention bias.
    pub(crate) fn pass_input(&self, input: &ForwardInput) -> Result<PassInput, ModelError> {
        let (b, s) = input.ids.dims2()?;
        let (cos, sin) = self.rotary(&input.positions, b, s)?;
        Ok(PassInput { b, s, cos, sin, bias: input.bias.clone() })
    }

    /// Token embeddings `[b·s, hidden]` of ids `[b, s]`.
    pub(crate) fn embed_ids(&self, ids: &Tensor) -> Result<Tensor, ModelError> {
        Ok(self.embed.index_select(&ids.flatten_all()?, 0)?)
    }

    /// Decoder layer `l`: hidden states `[b·s, hidden]` in and out.
    pub(crate) fn decoder_layer(
        &self,
        l: usize,
        x: &Tensor,
        pass: &PassInput,
        context: &mut Context<'_>,
        mode: ForwardMode,
    ) -> Result<Tensor, ModelError> {
        let layer = &self.layers[l];
        let eps = self.config.rms_norm_eps;
        let h = rms_norm(x, &layer.input_norm, eps)?;
        let x = (x + self.attention(l, layer, &h, pass, context, mode)?)?;
        let h = rms_norm(&x, &layer.post_norm, eps)?;
        let gate = layer.mlp.gate.forward(&h, mode)?.silu()?;
        let up = layer.mlp.up.forward(&h, mode)?;
        Ok((&x + layer.mlp.down.forward(&(gate * up)?, mode)?)?)
    }

    /// The final norm of the last layer's states `[b·s, hidden]`, as `[b, s, hidden]`.
    pub(crate) fn final_norm(&self, x: &Tensor, pass: &PassInput) -> Result<Tensor, ModelError> {
        Ok(rms_norm(x, &self.norm, self.config.rms_norm_eps)?.reshape((pass.b, pass.s, self.config.hidden_size))?)
    }

    /// Logits `[..., vocab]` of hidden states `[..., hidden]`.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor, ModelError> {
        let dims = hidden.dims().to_vec();
        let flat = hidden.reshape(((), self.config.hidden_size))?;
        let logits = flat.matmul(&self.lm_head.t()?)?;
        let mut out_dims = dims[..dims.len() - 1].to_vec();
        out_dims.push(self.config.vocab_size);
        Ok(logits.reshape(out_dims)?)
    }

    /// cos/sin tables `[b, 1, s, head_dim / 2]` for the given positions (non-interleaved
    /// "rotate half" convention of Qwen2 and Llama in Hugging Face layout).
    fn rotary(&self, positions: &[u32], b: usize, s: usize) -> Result<(Tensor, Tensor), ModelError> {
        let half = self.config.head_dim / 2;
        let inv_freq: Vec<f32> = (0..half)
            .map(|i| 1.0 / self.config.rope_theta.powf(2.0 * i as f64 / self.config.head_dim as f64) as f32)
            .collect();
        let mut cos = Vec::with_capacity(positions.len() * half);
        let mut sin = Vec::with_capacity(positions.len() * half);
        for &p in positions {
            for &f in &inv_freq {
                let angle = p as f32 * f;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
        let device = self.device();
        let make = |v: Vec<f32>| -> Result<Tensor, ModelError> {
            Ok(Tensor::from_vec(v, (b, 1, s, half), device)?.to_dtype(self.dtype())?)
        };
        Ok((make(cos)?, make(sin)?))
    }

    fn attention(
        &self,
        l: usize,
        layer: &DecoderLayer,
        x: &Tensor,
        pass: &PassInput,
        context: &mut Context<'_>,
        mode: ForwardMode,
    ) -> Result<Tensor, ModelError> {
        let PassInput { b, s, cos, sin, bias } = pass;
        let (b, s) = (*b, *s);
        let c = &self.config;
        let (heads, kv_heads, d) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim);
        let groups = heads / kv_heads;
        let split = |t: Tensor, n: usize| t.reshape((b, s, n, d))?.transpose(1, 2);
        let q = rope(&split(layer.attn.q.forward(x, mode)?, heads)?, cos, sin)?;
        let k = rope(&split(layer.attn.k.forward(x, mode)?, kv_heads)?, cos, sin)?;
        let v = split(layer.attn.v.forward(x, mode)?, kv_heads)?.contiguous()?;
        let (k, v) = match context {
            Context::None => (k, v),
            Context::Cache(cache) => cache.append(l, &k, &v)?,
            Context::Record(layers) => {
                layers.push((k.clone(), v.clone()));
                (k, v)
            }
            Context::Prefix { layers, rows } => {
                let (pk, pv) = &layers[l];
                (Tensor::cat(&[&pk.index_select(rows, 0)?, &k], 2)?, Tensor::cat(&[&pv.index_select(rows, 0)?, &v], 2)?)
            }
        };
        let t = k.dim(2)?;
        // Query heads grouped by their key/value head: no copy of K and V per query head.
        // Scaling q rather than the scores saves a pass over the [b, heads, s, t] tensor.
        let q = (q.reshape((b, kv_heads, groups * s, d))? * (1.0 / (d as f64).sqrt()))?;
        let scores = q.matmul(&k.t()?)?.reshape((b, heads, s, t))?;
        let probs = masked_softmax(&scores, bias)?.reshape((b, kv_heads, groups * s, t))?;
        let out = probs.matmul(&v)?.reshape((b, heads, s, d))?.transpose(1, 2)?.reshape((b * s, heads * d))?;
        Ok(layer.attn.o.forward(&out, mode)?)
    }

    /// The architecture family.
    pub fn architecture(&self) -> Architecture {
        self.config.architecture
    }

    /// Parameters of the base model (the tied head counted once).
    pub fn num_parameters(&self) -> usize {
        expected_tensors(&self.config).iter().map(|(_, s)| s.iter().product::<usize>()).sum()
    }
}

fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    let mean_square = x.sqr()?.mean_keepdim(D::Minus1)?;
    x.broadcast_div(&(mean_square + eps)?.sqrt()?)?.broadcast_mul(weight)
}

fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> candle_core::Result<Tensor> {
    let half = x.dim(D::Minus1)? / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let rotated_1 = (x1.broadcast_mul(cos)? - x2.broadcast_mul(sin)?)?;
    let rotated_2 = (x2.broadcast_mul(cos)? + x1.broadcast_mul(sin)?)?;
    Tensor::cat(&[rotated_1, rotated_2], D::Minus1)
}
