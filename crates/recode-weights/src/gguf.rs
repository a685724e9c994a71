//! GGUF files (llama.cpp's format): metadata → [`ModelConfig`], tokenizer metadata → a byte-level
//! BPE [`ChatTokenizer`], tensors dequantized and renamed to the Hugging Face layout.
use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::{DType, Device, Tensor};

use crate::checkpoint::{Checkpoint, check_shapes, gguf_qk_permuted, unpermute_llama_qk};
use crate::config::{Architecture, ModelConfig};
use crate::error::WeightsError;
use crate::tokenizer::{
    ByteLevelBpeSpec, ChatTokenizer, END_TOKENS, PreTokenizer, TOKEN_TYPE_CONTROL, build_byte_level_bpe,
};

/// GGUF block names → Hugging Face module names inside `model.layers.N.`.
const LAYER_NAMES: &[(&str, &str)] = &[
    ("attn_q", "self_attn.q_proj"),
    ("attn_k", "self_attn.k_proj"),
    ("attn_v", "self_attn.v_proj"),
    ("attn_output", "self_attn.o_proj"),
    ("ffn_gate", "mlp.gate_proj"),
    ("ffn_up", "mlp.up_proj"),
    ("ffn_down", "mlp.down_proj"),
    ("attn_norm", "input_layernorm"),
    ("ffn_norm", "post_attention_layernorm"),
];

/// The Hugging Face name of a GGUF tensor (`blk.3.attn_q.bias` → `model.layers.3.self_attn.q_proj.bias`).
pub fn gguf_to_hf_name(name: &str) -> Option<String> {
    match name {
        "token_embd.weight" => return Some("model.embed_tokens.weight".into()),
        "output_norm.weight" => return Some("model.norm.weight".into()),
        "output.weight" => return Some("lm_head.weight".into()),
        _ => {}
    }
    let rest = name.strip_prefix("blk.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, param) = rest.rsplit_once('.')?;
    if param != "weight" && param != "bias" {
        return None;
    }
    let (_, hf) = LAYER_NAMES.iter().find(|(gguf, _)| *gguf == module)?;
    Some(format!("model.layers.{layer}.{hf}.{param}"))
}

/// The GGUF name of a Hugging Face tensor (inverse of [`gguf_to_hf_name`]).
pub fn hf_to_gguf_name(name: &str) -> Option<String> {
    match name {
        "model.embed_tokens.weight" => return Some("token_embd.weight".into()),
        "model.norm.weight" => return Some("output_norm.weight".into()),
        "lm_head.weight" => return Some("output.weight".into()),
        _ => {}
    }
    let rest = name.strip_prefix("model.layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, param) = rest.rsplit_once('.')?;
    let (gguf, _) = LAYER_NAMES.iter().find(|(_, hf)| *hf == module)?;
    Some(format!("blk.{layer}.{gguf}.{param}"))
}

/// An open GGUF file: its metadata and tensor directory; tensor data is read on demand.
pub struct GgufFile {
    path: PathBuf,
    content: Content,
    reader: BufReader<File>,
}

/// One tensor of a GGUF file as stored.
#[derive(Debug, Clone)]
pub struct GgufTensorInfo {
    pub gguf_name: String,
    pub hf_name: Option<String>,
    pub shape: Vec<usize>,
    pub ggml_dtype: String,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<GgufFile, WeightsError> {
        let file = File::open(path).map_err(|e| WeightsError::io(path, e))?;
        let mut reader = BufReader::new(file);
        let content = Content::read(&mut reader)
            .map_err(|e| WeightsError::Gguf { path: path.to_path_buf(), message: e.to_string() })?;
        Ok(GgufFile { path: path.to_path_buf(), content, reader })
    }

    pub fn metadata(&self) -> &HashMap<String, Value> {
        &self.content.metadata
    }

    /// Every tensor in the file, sorted by GGUF name.
    pub fn tensor_infos(&self) -> Vec<GgufTensorInfo> {
        let mut infos: Vec<GgufTensorInfo> = self
            .content
            .tensor_infos
            .iter()
            .map(|(name, info)| GgufTensorInfo {
                gguf_name: name.clone(),
                hf_name: gguf_to_hf_name(name),
                shape: info.shape.dims().to_vec(),
                ggml_dtype: format!("{:?}", info.ggml_dtype),
            })
            .collect();
        infos.sort_by(|a, b| a.gguf_name.cmp(&b.gguf_name));
        infos
    }

    fn meta_error(&self, key: &str, message: impl Into<String>) -> WeightsError {
        WeightsError::GgufMetadata { path: self.path.clone(), key: key.to_string(), message: message.into() }
    }

    fn optional_u64(&self, key: &str) -> Result<Option<u64>, WeightsError> {
        let Some(value) = self.content.metadata.get(key) else { return Ok(None) };
        let number = match *value {
            Value::U8(v) => Some(v as u64),
            Value::U16(v) => Some(v as u64),
            Value::U32(v) => Some(v as u64),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        };
        number
            .map(Some)
            .ok_or_else(|| self.meta_error(key, format!("expected a non-negative integer, found {value:?}")))
    }

    fn required_usize(&self, key: &str) -> Result<usize, WeightsError> {
        self.optional_u64(key)?.map(|v| v as usize).ok_or_else(|| self.meta_error(key, "missing"))
    }

    fn optional_f64(&self, key: &str) -> Result<Option<f64>, WeightsError> {
        match self.content.metadata.get(key) {
            None => Ok(None),
            // The shortest decimal that round-trips the f32 (1e-6, not 9.99999997e-7).
            Some(Value::F32(v)) => Ok(Some(v.to_string().parse::<f64>().unwrap_or(*v as f64))),
            Some(Value::F64(v)) => Ok(Some(*v)),
            Some(_) => self.optional_u64(key).map(|v| v.map(|v| v as f64)),
        }
    }

    fn optional_string(&self, key: &str) -> Result<Option<&str>, WeightsError> {
        match self.content.metadata.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.meta_error(key, format!("expected a string, found a {:?}", other.value_type()))),
        }
    }

    fn optional_bool(&self, key: &str) -> Result<Option<bool>, WeightsError> {
        match self.content.metadata.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.meta_error(key, format!("expected a bool, found a {:?}", other.value_type()))),
        }
    }

    fn array(&self, key: &str) -> Result<Option<&Vec<Value>>, WeightsError> {
        match self.content.metadata.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.meta_error(key, format!("expected an array, found a {:?}", other.value_type()))),
        }
    }

    fn string_array(&self, key: &str) -> Result<Option<Vec<String>>, WeightsError> {
        let Some(items) = self.array(key)? else { return Ok(None) };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => {
                    Err(self.meta_error(key, format!("item {i}: expected a string, found {:?}", other.value_type())))
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn i32_array(&self, key: &str) -> Result<Option<Vec<i32>>, WeightsError> {
        let Some(items) = self.array(key)? else { return Ok(None) };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match *v {
                Value::I32(x) => Ok(x),
                Value::U32(x) => i32::try_from(x).map_err(|_| self.meta_error(key, format!("item {i}: {x} too large"))),
                Value::I8(x) => Ok(x as i32),
                Value::U8(x) => Ok(x as i32),
                ref other => {
                    Err(self.meta_error(key, format!("item {i}: expected an integer, found {:?}", other.value_type())))
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// `general.architecture` as one of ours.
    pub fn architecture(&self) -> Result<Architecture, WeightsError> {
        let name = self
            .optional_string("general.architecture")?
            .ok_or_else(|| self.meta_error("general.architecture", "missing"))?;
        match name {
            "qwen2" => Ok(Architecture::Qwen2),
            "llama" => Ok(Architecture::Llama),
            other => Err(WeightsError::UnsupportedArchitecture { name: other.to_string() }),
        }
    }

    /// The model's hyper-parameters from the `{arch}.*` metadata and the tensor directory.
    pub fn config(&self) -> Result<ModelConfig, WeightsError> {
        self.architecture()?;
        let (_, special) = self.tokenizer_parts()?;
        self.config_with(&special)
    }

    fn config_with(&self, special: &SpecialIds) -> Result<ModelConfig, WeightsError> {
        let architecture = self.architecture()?;
        let arch = architecture.model_type();
        let key = |suffix: &str| format!("{arch}.{suffix}");
        let hidden_size = self.required_usize(&key("embedding_length"))?;
        let num_attention_heads = self.required_usize(&key("attention.head_count"))?;
        if num_attention_heads == 0 {
            return Err(self.meta_error(&key("attention.head_count"), "must be positive"));
        }
        let num_key_value_heads =
            self.optional_u64(&key("attention.head_count_kv"))?.map_or(num_attention_heads, |v| v as usize);
        if num_key_value_heads == 0 || num_attention_heads % num_key_value_heads != 0 {
            return Err(self.meta_error(
                &key("attention.head_count_kv"),
                format!("{num_key_value_heads} does not divide the {num_attention_heads} attention heads"),
            ));
        }
        let head_dim = match self.optional_u64(&key("attention.key_length"))? {
            Some(v) => v as usize,
            None if hidden_size % num_attention_heads == 0 => hidden_size / num_attention_heads,
            None => {
                return Err(self.meta_error(
                    &key("attention.head_count"),
                    format!("{num_attention_heads} heads do not divide embedding_length {hidden_size}"),
                ));
            }
        };
        if let Some(value_length) = self.optional_u64(&key("attention.value_length"))?
            && value_length as usize != head_dim
        {
            return Err(self.meta_error(
                &key("attention.value_length"),
                format!("{value_length} differs from the key length {head_dim} (unsupported)"),
            ));
        }
        if let Some(rotary) = self.optional_u64(&key("rope.dimension_count"))?
            && rotary as usize != head_dim
        {
            return Err(self.meta_error(
                &key("rope.dimension_count"),
                format!("partial rotary embeddings ({rotary} of {head_dim} dimensions) are not supported"),
            ));
        }
        if let Some(scaling) = self.optional_string(&key("rope.scaling.type"))?
            && scaling != "none"
        {
            return Err(
                self.meta_error(&key("rope.scaling.type"), format!("RoPE scaling {scaling:?} is not supported"))
            );
        }
        let rms_norm_eps = self
            .optional_f64(&key("attention.layer_norm_rms_epsilon"))?
            .ok_or_else(|| self.meta_error(&key("attention.layer_norm_rms_epsilon"), "missing"))?;
        let embedding =
            self.content.tensor_infos.get("token_embd.weight").ok_or_else(|| WeightsError::MissingTensor {
                name: "token_embd.weight (model.embed_tokens.weight)".into(),
                expected: vec![0, hidden_size],
            })?;
        let vocab_size = embedding.shape.dims()[0];
        Ok(ModelConfig {
            architecture,
            vocab_size,
            hidden_size,
            intermediate_size: self.required_usize(&key("feed_forward_length"))?,
            num_hidden_layers: self.required_usize(&key("block_count"))?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            rope_theta: self.optional_f64(&key("rope.freq_base"))?.unwrap_or(10_000.0),
            rms_norm_eps,
            max_position_embeddings: self.optional_u64(&key("context_length"))?.map_or(4096, |v| v as usize),
            tie_word_embeddings: !self.content.tensor_infos.contains_key("output.weight"),
            attention_bias: architecture == Architecture::Qwen2
                || self.content.tensor_infos.contains_key("blk.0.attn_q.bias"),
            bos_token_id: special.bos,
            eos_token_ids: special.eos.clone(),
        })
    }

    /// The byte-level BPE tokenizer and its special ids from `tokenizer.ggml.*`.
    fn tokenizer_parts(&self) -> Result<(ByteLevelBpeParts, SpecialIds), WeightsError> {
        let model = self.optional_string("tokenizer.ggml.model")?.unwrap_or("(missing)");
        if model != "gpt2" {
            return Err(WeightsError::UnsupportedTokenizer {
                message: format!(
                    "{}: tokenizer.ggml.model = {model:?}; only byte-level BPE (\"gpt2\") is supported",
                    self.path.display()
                ),
            });
        }
        let tokens = self
            .string_array("tokenizer.ggml.tokens")?
            .ok_or_else(|| self.meta_error("tokenizer.ggml.tokens", "missing"))?;
        let token_types = self.i32_array("tokenizer.ggml.token_type")?;
        let merges = self
            .string_array("tokenizer.ggml.merges")?
            .ok_or_else(|| self.meta_error("tokenizer.ggml.merges", "missing"))?
            .into_iter()
            .enumerate()
            .map(|(i, merge)| {
                merge.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())).ok_or_else(|| {
                    self.meta_error("tokenizer.ggml.merges", format!("item {i} ({merge:?}) has no space"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let pre_tokenizer = match self.optional_string("tokenizer.ggml.pre")? {
            Some(name) => PreTokenizer::from_gguf_name(name).ok_or_else(|| WeightsError::UnsupportedTokenizer {
                message: format!(
                    "{}: tokenizer.ggml.pre = {name:?} (supported: qwen2, gpt-2, smollm, starcoder, llama-bpe)",
                    self.path.display()
                ),
            })?,
            None if self.architecture()? == Architecture::Qwen2 => PreTokenizer::Qwen2,
            None => {
                return Err(self.meta_error("tokenizer.ggml.pre", "missing (which pre-tokenizer to use is unknown)"));
            }
        };
        let id = |key: &str| -> Result<Option<u32>, WeightsError> {
            let Some(id) = self.optional_u64(key)? else { return Ok(None) };
            if id as usize >= tokens.len() {
                return Err(self.meta_error(key, format!("id {id} is outside the {} tokens", tokens.len())));
            }
            Ok(Some(id as u32))
        };
        let bos = id("tokenizer.ggml.bos_token_id")?;
        let add_bos = self.optional_bool("tokenizer.ggml.add_bos_token")?.unwrap_or(false);
        if add_bos && bos.is_none() {
            return Err(
                self.meta_error("tokenizer.ggml.add_bos_token", "true, but tokenizer.ggml.bos_token_id is missing")
            );
        }
        let is_control = |i: usize| token_types.as_ref().is_none_or(|t| t[i] == TOKEN_TYPE_CONTROL);
        let mut eos = Vec::new();
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
            if let Some(id) = id(key)?
                && !eos.contains(&id)
            {
                eos.push(id);
            }
        }
        for name in END_TOKENS {
            if let Some(i) = tokens.iter().position(|t| t == name)
                && is_control(i)
                && !eos.contains(&(i as u32))
            {
                eos.push(i as u32);
            }
        }
        if eos.is_empty() {
            return Err(self.meta_error("tokenizer.ggml.eos_token_id", "missing, and no end-of-text token found"));
        }
        let pad = match id("tokenizer.ggml.padding_token_id")? {
            Some(pad) => pad,
            None => tokens.iter().position(|t| t == "<|endoftext|>").map_or(eos[0], |i| i as u32),
        };
        if let Some(types) = &token_types
            && types.len() != tokens.len()
        {
            return Err(self.meta_error(
                "tokenizer.ggml.token_type",
                format!("{} entries for {} tokens", types.len(), tokens.len()),
            ));
        }
        Ok((
            ByteLevelBpeParts {
                tokens,
                token_types,
                merges,
                pre_tokenizer,
                prepend_bos: if add_bos { bos } else { None },
            },
            SpecialIds { bos, eos, pad },
        ))
    }

    /// The tokenizer (exactly as the Hugging Face `tokenizer.json` of the same model tokenizes)
    /// and the chat template.
    pub fn tokenizer(&self) -> Result<(ChatTokenizer, Option<String>), WeightsError> {
        let (parts, special) = self.tokenizer_parts()?;
        self.tokenizer_from(parts, special)
    }

    /// Config and tokenizer, reading the tokenizer metadata once.
    pub fn config_and_tokenizer(&self) -> Result<(ModelConfig, ChatTokenizer, Option<String>), WeightsError> {
        // An unsupported architecture is the more useful message than anything about its tokenizer.
        self.architecture()?;
        let (parts, special) = self.tokenizer_parts()?;
        let config = self.config_with(&special)?;
        let (tokenizer, template) = self.tokenizer_from(parts, special)?;
        Ok((config, tokenizer, template))
    }

    fn tokenizer_from(
        &self,
        parts: ByteLevelBpeParts,
        special: SpecialIds,
    ) -> Result<(ChatTokenizer, Option<String>), WeightsError> {
        let tokenizer = build_byte_level_bpe(&ByteLevelBpeSpec {
            tokens: &parts.tokens,
            token_types: parts.token_types.as_deref(),
            merges: &parts.merges,
            pre_tokenizer: parts.pre_tokenizer,
            prepend_bos: parts.prepend_bos,
        })
        .map_err(|e| WeightsError::Gguf { path: self.path.clone(), message: e.to_string() })?;
        let chat =
            ChatTokenizer::from_tokenizer(tokenizer, special.eos, special.pad)?.with_bos_token_id(special.bos)?;
        let template = self.optional_string("tokenizer.chat_template")?.map(str::to_string);
        Ok((chat, template))
    }

    /// Every tensor dequantized, renamed to Hugging Face names, Llama q/k un-permuted, in
    /// `dtype` on `device`. Shapes are checked against `config` before any data is read.
    pub fn tensors(
        &mut self,
        config: &ModelConfig,
        device: &Device,
        dtype: DType,
    ) -> Result<HashMap<String, Tensor>, WeightsError> {
        let mut names = Vec::with_capacity(self.content.tensor_infos.len());
        let mut shapes = HashMap::with_capacity(self.content.tensor_infos.len());
        for (gguf_name, info) in &self.content.tensor_infos {
            let hf_name = gguf_to_hf_name(gguf_name).ok_or_else(|| WeightsError::UnexpectedTensor {
                name: format!("{gguf_name} (GGUF name, no Hugging Face equivalent)"),
                shape: info.shape.dims().to_vec(),
                architecture: config.architecture.model_type(),
            })?;
            shapes.insert(hf_name.clone(), info.shape.dims().to_vec());
            names.push((gguf_name.clone(), hf_name));
        }
        check_shapes(config, &shapes)?;
        names.sort();
        let mut tensors = HashMap::with_capacity(names.len());
        for (gguf_name, hf_name) in names {
            let context = || format!("{}: tensor `{gguf_name}`", self.path.display());
            let quantized = self
                .content
                .tensor(&mut self.reader, &gguf_name, &Device::Cpu)
                .map_err(|e| WeightsError::candle(context(), e))?;
            let mut tensor = quantized.dequantize(&Device::Cpu).map_err(|e| WeightsError::candle(context(), e))?;
            if gguf_qk_permuted(config.architecture) {
                let heads = if gguf_name.contains(".attn_q.") {
                    Some(config.num_attention_heads)
                } else if gguf_name.contains(".attn_k.") {
                    Some(config.num_key_value_heads)
                } else {
                    None
                };
                if let Some(heads) = heads {
                    tensor = unpermute_llama_qk(&tensor, heads).map_err(|e| WeightsError::candle(context(), e))?;
                }
            }
            let tensor = tensor
                .to_dtype(dtype)
                .and_then(|t| t.to_device(device))
                .map_err(|e| WeightsError::candle(context(), e))?;
            tensors.insert(hf_name, tensor);
        }
        Ok(tensors)
    }
}

struct ByteLevelBpeParts {
    tokens: Vec<String>,
    token_types: Option<Vec<i32>>,
    merges: Vec<(String, String)>,
    pre_tokenizer: PreTokenizer,
    prepend_bos: Option<u32>,
}

struct SpecialIds {
    bos: Option<u32>,
    eos: Vec<u32>,
    pad: u32,
}

pub(crate) fn load_gguf(path: &Path, device: &Device, dtype: DType) -> Result<Checkpoint, WeightsError> {
    let mut file = GgufFile::open(path)?;
    let (config, tokenizer, chat_template) = file.config_and_tokenizer()?;
    let tensors = file.tensors(&config, device, dtype)?;
    Ok(Checkpoint { config, tensors, tokenizer, chat_template })
}
