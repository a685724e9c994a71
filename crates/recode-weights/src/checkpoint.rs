//! A loaded model: config, tensors under Hugging Face names, tokenizer and chat template; and the
//! tensor names and shapes a config implies.
use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::config::{Architecture, ModelConfig};
use crate::error::WeightsError;
use crate::tokenizer::ChatTokenizer;

/// A model checkpoint in memory, whatever file it came from.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub config: ModelConfig,
    /// Hugging Face names (`model.layers.0.self_attn.q_proj.weight`, …), shapes as in PyTorch
    /// (`[out_features, in_features]`); `lm_head.weight` absent when the embeddings are tied.
    pub tensors: HashMap<String, Tensor>,
    pub tokenizer: ChatTokenizer,
    /// The Jinja chat template, when the checkpoint has one.
    pub chat_template: Option<String>,
}

impl Checkpoint {
    /// Number of parameters (the embedding counted once when tied).
    pub fn parameter_count(&self) -> usize {
        self.tensors.values().map(|t| t.elem_count()).sum()
    }
}

/// Reads a Hugging Face model directory or a `.gguf` file; tensors in `dtype` on `device`.
///
/// GGUF tensors are dequantized to f32 first, then converted. Llama GGUF q/k projections are
/// un-permuted back to the Hugging Face layout. The result passes [`check_tensors`].
pub fn load_checkpoint(path: &Path, device: &Device, dtype: DType) -> Result<Checkpoint, WeightsError> {
    let checkpoint = match checkpoint_kind(path)? {
        CheckpointKind::Gguf => crate::gguf::load_gguf(path, device, dtype)?,
        CheckpointKind::HfDir => crate::hf::load_hf_dir(path, device, dtype)?,
    };
    check_tensors(&checkpoint.config, &checkpoint.tensors)?;
    Ok(checkpoint)
}

/// Only the tokenizer (and chat template) of a checkpoint, without reading any tensor.
pub fn load_tokenizer(path: &Path) -> Result<(ChatTokenizer, Option<String>), WeightsError> {
    match checkpoint_kind(path)? {
        CheckpointKind::Gguf => crate::gguf::GgufFile::open(path)?.tokenizer(),
        CheckpointKind::HfDir => crate::hf::load_hf_tokenizer(path),
    }
}

/// Only the config of a checkpoint, without reading any tensor.
pub fn load_config(path: &Path) -> Result<ModelConfig, WeightsError> {
    match checkpoint_kind(path)? {
        CheckpointKind::Gguf => crate::gguf::GgufFile::open(path)?.config(),
        CheckpointKind::HfDir => crate::hf::load_hf_config(path),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckpointKind {
    Gguf,
    HfDir,
}

pub(crate) fn checkpoint_kind(path: &Path) -> Result<CheckpointKind, WeightsError> {
    let metadata = std::fs::metadata(path).map_err(|e| WeightsError::io(path, e))?;
    if metadata.is_dir() {
        if !path.join("config.json").is_file() {
            return Err(WeightsError::NotAModel {
                path: path.to_path_buf(),
                reason: "a directory without config.json (expected a Hugging Face model directory)".into(),
            });
        }
        return Ok(CheckpointKind::HfDir);
    }
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic));
    match read {
        Ok(()) if &magic == b"GGUF" => Ok(CheckpointKind::Gguf),
        Ok(()) => Err(WeightsError::NotAModel {
            path: path.to_path_buf(),
            reason: "a file that is not GGUF (expected a .gguf file or a Hugging Face model directory)".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(WeightsError::NotAModel { path: path.to_path_buf(), reason: "a file too short to be GGUF".into() })
        }
        Err(e) => Err(WeightsError::io(path, e)),
    }
}

/// Every tensor a model with `config` has, with its shape, in layer order.
pub fn expected_tensors(config: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let h = config.hidden_size;
    let q = config.num_attention_heads * config.head_dim;
    let kv = config.num_key_value_heads * config.head_dim;
    let ffn = config.intermediate_size;
    let mut tensors = vec![("model.embed_tokens.weight".to_string(), vec![config.vocab_size, h])];
    for layer in 0..config.num_hidden_layers {
        let p = format!("model.layers.{layer}");
        tensors.push((format!("{p}.input_layernorm.weight"), vec![h]));
        tensors.push((format!("{p}.self_attn.q_proj.weight"), vec![q, h]));
        tensors.push((format!("{p}.self_attn.k_proj.weight"), vec![kv, h]));
        tensors.push((format!("{p}.self_attn.v_proj.weight"), vec![kv, h]));
        if config.attention_bias {
            tensors.push((format!("{p}.self_attn.q_proj.bias"), vec![q]));
            tensors.push((format!("{p}.self_attn.k_proj.bias"), vec![kv]));
            tensors.push((format!("{p}.self_attn.v_proj.bias"), vec![kv]));
        }
        tensors.push((format!("{p}.self_attn.o_proj.weight"), vec![h, q]));
        tensors.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
        tensors.push((format!("{p}.mlp.gate_proj.weight"), vec![ffn, h]));
        tensors.push((format!("{p}.mlp.up_proj.weight"), vec![ffn, h]));
        tensors.push((format!("{p}.mlp.down_proj.weight"), vec![h, ffn]));
    }
    tensors.push(("model.norm.weight".to_string(), vec![h]));
    if !config.tie_word_embeddings {
        tensors.push(("lm_head.weight".to_string(), vec![config.vocab_size, h]));
    }
    tensors
}

/// Checks that `tensors` are exactly the tensors of a model with `config`: none missing, none
/// extra, every shape right, one dtype throughout. The error names the tensor and both shapes.
pub fn check_tensors(config: &ModelConfig, tensors: &HashMap<String, Tensor>) -> Result<(), WeightsError> {
    let shapes: HashMap<String, Vec<usize>> = tensors.iter().map(|(n, t)| (n.clone(), t.dims().to_vec())).collect();
    check_shapes(config, &shapes)?;
    let mut dtype: Option<DType> = None;
    for (name, _) in expected_tensors(config) {
        let found = tensors[&name].dtype();
        match dtype {
            None => dtype = Some(found),
            Some(expected) if expected != found => return Err(WeightsError::TensorDtype { name, expected, found }),
            Some(_) => {}
        }
    }
    Ok(())
}

/// [`check_tensors`] on shapes alone (before any tensor data is read).
pub fn check_shapes(config: &ModelConfig, shapes: &HashMap<String, Vec<usize>>) -> Result<(), WeightsError> {
    let expected = expected_tensors(config);
    for (name, shape) in &expected {
        let found = shapes
            .get(name)
            .ok_or_else(|| WeightsError::MissingTensor { name: name.clone(), expected: shape.clone() })?;
        if found != shape {
            return Err(WeightsError::TensorShape {
                name: name.clone(),
                expected: shape.clone(),
                found: found.clone(),
            });
        }
    }
    if shapes.len() != expected.len() {
        let known: std::collections::HashSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
        let mut extra: Vec<&String> = shapes.keys().filter(|n| !known.contains(n.as_str())).collect();
        extra.sort();
        if let Some(name) = extra.first() {
            return Err(WeightsError::UnexpectedTensor {
                name: (*name).clone(),
                shape: shapes[*name].clone(),
                architecture: config.architecture.model_type(),
            });
        }
    }
    Ok(())
}

/// llama.cpp's converter permutes Llama q/k rows so that rotary pairs are adjacent
/// (`(heads, 2, d/2) → (heads, d/2, 2)`); this undoes it. Qwen2 GGUF files are not permuted.
pub(crate) fn unpermute_llama_qk(tensor: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
    let dims = tensor.dims().to_vec();
    let rows = dims[0];
    if heads == 0 || rows % (heads * 2) != 0 {
        candle_core::bail!("{rows} rows cannot be split into {heads} heads of rotary pairs");
    }
    let half = rows / heads / 2;
    let rest: usize = dims[1..].iter().product();
    tensor.reshape((heads, half, 2, rest))?.transpose(1, 2)?.contiguous()?.reshape(dims)
}

/// The inverse of [`unpermute_llama_qk`]: the layout llama.cpp writes.
pub(crate) fn permute_llama_qk(tensor: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
    let dims = tensor.dims().to_vec();
    let rows = dims[0];
    if heads == 0 || rows % (heads * 2) != 0 {
        candle_core::bail!("{rows} rows cannot be split into {heads} heads of rotary pairs");
    }
    let half = rows / heads / 2;
    let rest: usize = dims[1..].iter().product();
    tensor.reshape((heads, 2, half, rest))?.transpose(1, 2)?.contiguous()?.reshape(dims)
}

/// Whether the architecture's GGUF files store q/k permuted (see [`unpermute_llama_qk`]).
pub(crate) fn gguf_qk_permuted(architecture: Architecture) -> bool {
    architecture == Architecture::Llama
}
