//! The architecture hyper-parameters of a Qwen2 or Llama causal LM, read from and written to a
//! Hugging Face `config.json`.
use serde_json::{Map, Value, json};

/// The model families recode implements. The math is shared; they differ in defaults
/// (Qwen2 has q/k/v biases) and in the names `config.json` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    Qwen2,
    Llama,
}

impl Architecture {
    /// `model_type` in `config.json`.
    pub fn model_type(self) -> &'static str {
        match self {
            Architecture::Qwen2 => "qwen2",
            Architecture::Llama => "llama",
        }
    }

    /// `architectures[0]` in `config.json`.
    pub fn class_name(self) -> &'static str {
        match self {
            Architecture::Qwen2 => "Qwen2ForCausalLM",
            Architecture::Llama => "LlamaForCausalLM",
        }
    }
}

/// Hyper-parameters of a decoder-only transformer (RMSNorm, RoPE, GQA, SwiGLU MLP).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub architecture: Architecture,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    /// Per-head dimension; `hidden_size / num_attention_heads` unless the config says otherwise.
    pub head_dim: usize,
    pub rope_theta: f64,
    pub rms_norm_eps: f64,
    pub max_position_embeddings: usize,
    /// The LM head reuses the embedding matrix (no `lm_head.weight` tensor).
    pub tie_word_embeddings: bool,
    /// q/k/v projections have biases (Qwen2: always; Llama: `attention_bias`).
    pub attention_bias: bool,
    pub bos_token_id: Option<u32>,
    /// Every id that ends generation (end of turn and end of text).
    pub eos_token_ids: Vec<u32>,
}

/// A `config.json` that cannot describe a supported model.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("config.json: unsupported model_type {0:?} (supported: qwen2, llama)")]
    UnsupportedArchitecture(String),
    #[error("config.json: field `{field}`: {message}")]
    Field { field: &'static str, message: String },
}

fn field<'a>(map: &'a Map<String, Value>, name: &'static str) -> Result<&'a Value, ConfigError> {
    map.get(name).ok_or(ConfigError::Field { field: name, message: "missing".into() })
}

fn usize_field(map: &Map<String, Value>, name: &'static str) -> Result<usize, ConfigError> {
    field(map, name)?
        .as_u64()
        .map(|v| v as usize)
        .ok_or(ConfigError::Field { field: name, message: "expected a non-negative integer".into() })
}

fn f64_field(map: &Map<String, Value>, name: &'static str, default: f64) -> Result<f64, ConfigError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_f64().ok_or(ConfigError::Field { field: name, message: "expected a number".into() }),
    }
}

fn token_ids(value: Option<&Value>, name: &'static str) -> Result<Vec<u32>, ConfigError> {
    let bad = || ConfigError::Field { field: name, message: "expected a token id or a list of token ids".into() };
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Number(n)) => Ok(vec![n.as_u64().ok_or_else(bad)? as u32]),
        Some(Value::Array(items)) => items.iter().map(|v| v.as_u64().map(|n| n as u32).ok_or_else(bad)).collect(),
        Some(_) => Err(bad()),
    }
}

impl ModelConfig {
    /// Reads a Hugging Face `config.json`.
    pub fn from_hf_json(text: &str) -> Result<ModelConfig, ConfigError> {
        let value: Value = serde_json::from_str(text)?;
        let map = value
            .as_object()
            .ok_or(ConfigError::Field { field: "(top level)", message: "expected a JSON object".into() })?;
        let model_type = field(map, "model_type")?.as_str().unwrap_or_default();
        let architecture = match model_type {
            "qwen2" => Architecture::Qwen2,
            "llama" => Architecture::Llama,
            other => return Err(ConfigError::UnsupportedArchitecture(other.to_string())),
        };
        let hidden_size = usize_field(map, "hidden_size")?;
        let num_attention_heads = usize_field(map, "num_attention_heads")?;
        if num_attention_heads == 0 || hidden_size % num_attention_heads != 0 && !map.contains_key("head_dim") {
            return Err(ConfigError::Field {
                field: "num_attention_heads",
                message: format!("{num_attention_heads} does not divide hidden_size {hidden_size}"),
            });
        }
        let num_key_value_heads = match map.get("num_key_value_heads") {
            None | Some(Value::Null) => num_attention_heads,
            Some(_) => usize_field(map, "num_key_value_heads")?,
        };
        if num_key_value_heads == 0 || num_attention_heads % num_key_value_heads != 0 {
            return Err(ConfigError::Field {
                field: "num_key_value_heads",
                message: format!("{num_key_value_heads} does not divide num_attention_heads {num_attention_heads}"),
            });
        }
        let head_dim = match map.get("head_dim") {
            None | Some(Value::Null) => hidden_size / num_attention_heads,
            Some(_) => usize_field(map, "head_dim")?,
        };
        let attention_bias = match architecture {
            Architecture::Qwen2 => true,
            Architecture::Llama => map.get("attention_bias").and_then(Value::as_bool).unwrap_or(false),
        };
        let mut eos_token_ids = token_ids(map.get("eos_token_id"), "eos_token_id")?;
        eos_token_ids.dedup();
        Ok(ModelConfig {
            architecture,
            vocab_size: usize_field(map, "vocab_size")?,
            hidden_size,
            intermediate_size: usize_field(map, "intermediate_size")?,
            num_hidden_layers: usize_field(map, "num_hidden_layers")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            rope_theta: f64_field(map, "rope_theta", 10_000.0)?,
            rms_norm_eps: f64_field(map, "rms_norm_eps", 1e-6)?,
            max_position_embeddings: match map.get("max_position_embeddings") {
                None | Some(Value::Null) => 4096,
                Some(_) => usize_field(map, "max_position_embeddings")?,
            },
            tie_word_embeddings: map.get("tie_word_embeddings").and_then(Value::as_bool).unwrap_or(false),
            attention_bias,
            bos_token_id: token_ids(map.get("bos_token_id"), "bos_token_id")?.first().copied(),
            eos_token_ids,
        })
    }

    /// A `config.json` that transformers and candle's stock models load.
    pub fn to_hf_json(&self) -> String {
        let mut value = json!({
            "architectures": [self.architecture.class_name()],
            "model_type": self.architecture.model_type(),
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "rope_theta": self.rope_theta,
            "rms_norm_eps": self.rms_norm_eps,
            "max_position_embeddings": self.max_position_embeddings,
            "tie_word_embeddings": self.tie_word_embeddings,
            "torch_dtype": "float32",
        });
        let map = value.as_object_mut().expect("object literal");
        if self.architecture == Architecture::Llama {
            map.insert("attention_bias".into(), json!(self.attention_bias));
            map.insert("mlp_bias".into(), json!(false));
        } else {
            // transformers' Qwen2 reads these; candle's stock Qwen2 requires them.
            map.insert("sliding_window".into(), json!(self.max_position_embeddings));
            map.insert("max_window_layers".into(), json!(self.num_hidden_layers));
            map.insert("use_sliding_window".into(), json!(false));
        }
        if let Some(bos) = self.bos_token_id {
            map.insert("bos_token_id".into(), json!(bos));
        }
        match self.eos_token_ids.as_slice() {
            [] => {}
            [one] => {
                map.insert("eos_token_id".into(), json!(one));
            }
            many => {
                map.insert("eos_token_id".into(), json!(many));
            }
        }
        serde_json::to_string_pretty(&value).expect("serialisable")
    }

    /// Key/value heads are repeated this many times to match the query heads (GQA).
    pub fn kv_groups(&self) -> usize {
        self.num_attention_heads / self.num_key_value_heads
    }
}
