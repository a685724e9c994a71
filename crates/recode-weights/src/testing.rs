//! Small real components for tests (here and in other crates): a byte-level BPE tokenizer with
//! the ChatML special tokens, tiny configs, deterministic random checkpoints, and a GGUF writer
//! that stores a checkpoint the way llama.cpp's converter does. Not for production use.
use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};

use crate::checkpoint::{Checkpoint, expected_tensors, permute_llama_qk};
use crate::config::{Architecture, ModelConfig};
use crate::error::WeightsError;
use crate::gguf::hf_to_gguf_name;
use crate::tokenizer::{
    ByteLevelBpeSpec, ChatTokenizer, PreTokenizer, TOKEN_TYPE_CONTROL, TOKEN_TYPE_USER_DEFINED, bpe_merges,
    build_byte_level_bpe, byte_to_unicode,
};

/// Merges of the tiny tokenizer, in rank order (`Ġ` is a space).
const TINY_MERGES: &[(&str, &str)] = &[
    ("Ġ", "t"),
    ("h", "e"),
    ("i", "n"),
    ("r", "e"),
    ("o", "n"),
    ("e", "r"),
    ("Ġ", "a"),
    ("Ġ", "Ġ"),
    ("ĠĠ", "ĠĠ"),
    ("d", "e"),
    ("Ġ", "de"),
    ("Ġde", "f"),
    ("i", "m"),
    ("p", "o"),
    ("r", "t"),
    ("po", "rt"),
    ("im", "port"),
    ("Ġ", "="),
    ("r", "n"),
    ("u", "rn"),
];

/// The special tokens of the tiny tokenizer, after the byte tokens and the merges.
pub const TINY_SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// A byte-level BPE tokenizer built in code: the 256 byte tokens (ids 0–255, by byte value), 20
/// merges, then `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` as special tokens (279 ids in all).
/// Qwen2's pre-tokenizer. End of sequence: `<|im_end|>`, `<|endoftext|>`; padding `<|endoftext|>`.
/// Every string round-trips; for tests only.
pub fn tiny_tokenizer() -> ChatTokenizer {
    let bytes = byte_to_unicode();
    let mut tokens: Vec<String> = bytes.iter().map(|c| c.to_string()).collect();
    let merges: Vec<(String, String)> = TINY_MERGES.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    for (a, b) in &merges {
        tokens.push(format!("{a}{b}"));
    }
    let mut types = vec![1; tokens.len()];
    for special in TINY_SPECIAL_TOKENS {
        tokens.push(special.to_string());
        types.push(TOKEN_TYPE_CONTROL);
    }
    let tokenizer = build_byte_level_bpe(&ByteLevelBpeSpec {
        tokens: &tokens,
        token_types: Some(&types),
        merges: &merges,
        pre_tokenizer: PreTokenizer::Qwen2,
        prepend_bos: None,
    })
    .expect("the tiny tokenizer is well formed");
    let id = |t: &str| tokens.iter().position(|x| x == t).expect("special token present") as u32;
    ChatTokenizer::from_tokenizer(tokenizer, vec![id("<|im_end|>"), id("<|endoftext|>")], id("<|endoftext|>"))
        .and_then(|t| t.with_bos_token_id(None))
        .expect("the tiny tokenizer's special ids exist")
}

/// A ChatML chat template (what Qwen2.5 uses, without the tool-calling branches).
pub const CHATML_TEMPLATE: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// A tiny config of `architecture` fitting [`tiny_tokenizer`]: 2 layers, hidden 64, 4 heads of 16
/// with 2 key/value heads (GQA), FFN 128, vocabulary 288 (the tokenizer's 279 ids, padded).
pub fn tiny_config(architecture: Architecture) -> ModelConfig {
    let tokenizer = tiny_tokenizer();
    ModelConfig {
        architecture,
        vocab_size: 288,
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 16,
        rope_theta: 10_000.0,
        rms_norm_eps: 1e-6,
        max_position_embeddings: 512,
        tie_word_embeddings: architecture == Architecture::Llama,
        attention_bias: architecture == Architecture::Qwen2,
        bos_token_id: None,
        eos_token_ids: tokenizer.eos_token_ids().to_vec(),
    }
}

/// Deterministic pseudo-random numbers in [-1, 1) (SplitMix64), independent of candle's RNG.
fn uniform(seed: u64, count: usize) -> Vec<f32> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// A checkpoint of `config` with deterministic random weights (same seed, same weights):
/// matrices uniform in ±1/√fan_in, norm weights near 1, biases small.
pub fn random_checkpoint(
    config: &ModelConfig,
    tokenizer: ChatTokenizer,
    seed: u64,
    device: &Device,
    dtype: DType,
) -> Result<Checkpoint, WeightsError> {
    let mut tensors = HashMap::new();
    for (index, (name, shape)) in expected_tensors(config).into_iter().enumerate() {
        let count: usize = shape.iter().product();
        let noise = uniform(seed.wrapping_mul(1_000_003).wrapping_add(index as u64), count);
        let values: Vec<f32> = if name.ends_with("norm.weight") {
            noise.iter().map(|x| 1.0 + 0.1 * x).collect()
        } else if name.ends_with(".bias") {
            noise.iter().map(|x| 0.1 * x).collect()
        } else {
            let scale = 1.0 / (shape[1] as f32).sqrt();
            noise.iter().map(|x| scale * x).collect()
        };
        let tensor = Tensor::from_vec(values, shape, device)
            .and_then(|t| t.to_dtype(dtype))
            .map_err(|e| WeightsError::candle(format!("tensor `{name}`"), e))?;
        tensors.insert(name, tensor);
    }
    Ok(Checkpoint { config: config.clone(), tensors, tokenizer, chat_template: Some(CHATML_TEMPLATE.to_string()) })
}

/// Writes `checkpoint` as a GGUF file the way llama.cpp's converter lays it out: GGUF tensor
/// names, Llama q/k permuted, metadata under `{arch}.*` and `tokenizer.ggml.*`. 2-D weights are
/// stored as `matrix_dtype` (F32, F16, Q8_0, Q4_0, …; quantized types need row lengths that are
/// multiples of the block size), 1-D tensors as F32.
pub fn write_gguf(
    path: &Path,
    checkpoint: &Checkpoint,
    pre_tokenizer: PreTokenizer,
    matrix_dtype: GgmlDType,
) -> Result<(), WeightsError> {
    let config = &checkpoint.config;
    let arch = config.architecture.model_type();
    let tokenizer = &checkpoint.tokenizer;
    let mut metadata: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(arch.into())),
        (format!("{arch}.embedding_length"), Value::U32(config.hidden_size as u32)),
        (format!("{arch}.feed_forward_length"), Value::U32(config.intermediate_size as u32)),
        (format!("{arch}.block_count"), Value::U32(config.num_hidden_layers as u32)),
        (format!("{arch}.attention.head_count"), Value::U32(config.num_attention_heads as u32)),
        (format!("{arch}.attention.head_count_kv"), Value::U32(config.num_key_value_heads as u32)),
        (format!("{arch}.attention.key_length"), Value::U32(config.head_dim as u32)),
        (format!("{arch}.attention.value_length"), Value::U32(config.head_dim as u32)),
        (format!("{arch}.rope.dimension_count"), Value::U32(config.head_dim as u32)),
        (format!("{arch}.rope.freq_base"), Value::F32(config.rope_theta as f32)),
        (format!("{arch}.attention.layer_norm_rms_epsilon"), Value::F32(config.rms_norm_eps as f32)),
        (format!("{arch}.context_length"), Value::U32(config.max_position_embeddings as u32)),
        ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
        ("tokenizer.ggml.pre".into(), Value::String(pre_tokenizer.gguf_name().into())),
    ];
    let vocab = tokenizer.vocab_size() as u32;
    let added: HashMap<u32, bool> = tokenizer.added_tokens().into_iter().map(|(id, t)| (id, t.special)).collect();
    let mut tokens = Vec::with_capacity(vocab as usize);
    let mut types = Vec::with_capacity(vocab as usize);
    for id in 0..vocab {
        let token = tokenizer
            .token(id)
            .ok_or_else(|| WeightsError::tokenizer(format!("ids are not contiguous: {id} is missing")))?;
        tokens.push(Value::String(token));
        types.push(Value::I32(match added.get(&id) {
            Some(true) => TOKEN_TYPE_CONTROL,
            Some(false) => TOKEN_TYPE_USER_DEFINED,
            None => 1,
        }));
    }
    let merges = bpe_merges(tokenizer.inner())?.into_iter().map(|(a, b)| Value::String(format!("{a} {b}"))).collect();
    metadata.push(("tokenizer.ggml.tokens".into(), Value::Array(tokens)));
    metadata.push(("tokenizer.ggml.token_type".into(), Value::Array(types)));
    metadata.push(("tokenizer.ggml.merges".into(), Value::Array(merges)));
    metadata.push(("tokenizer.ggml.eos_token_id".into(), Value::U32(tokenizer.eos_token_ids()[0])));
    metadata.push(("tokenizer.ggml.padding_token_id".into(), Value::U32(tokenizer.pad_token_id())));
    if let Some(bos) = tokenizer.bos_token_id() {
        metadata.push(("tokenizer.ggml.bos_token_id".into(), Value::U32(bos)));
    }
    let adds_bos =
        tokenizer.bos_token_id().is_some() && tokenizer.encode("")?.first() == tokenizer.bos_token_id().as_ref();
    metadata.push(("tokenizer.ggml.add_bos_token".into(), Value::Bool(adds_bos)));
    if let Some(template) = &checkpoint.chat_template {
        metadata.push(("tokenizer.chat_template".into(), Value::String(template.clone())));
    }

    let mut names: Vec<&String> = checkpoint.tensors.keys().collect();
    names.sort();
    let mut qtensors = Vec::with_capacity(names.len());
    for name in names {
        let gguf_name = hf_to_gguf_name(name).ok_or_else(|| WeightsError::UnexpectedTensor {
            name: name.clone(),
            shape: checkpoint.tensors[name].dims().to_vec(),
            architecture: arch,
        })?;
        let context = || format!("tensor `{name}`");
        let mut tensor = checkpoint.tensors[name]
            .to_dtype(DType::F32)
            .and_then(|t| t.to_device(&Device::Cpu))
            .map_err(|e| WeightsError::candle(context(), e))?;
        if config.architecture == Architecture::Llama {
            let heads = if gguf_name.contains(".attn_q.") {
                Some(config.num_attention_heads)
            } else if gguf_name.contains(".attn_k.") {
                Some(config.num_key_value_heads)
            } else {
                None
            };
            if let Some(heads) = heads {
                tensor = permute_llama_qk(&tensor, heads).map_err(|e| WeightsError::candle(context(), e))?;
            }
        }
        let dtype = if tensor.rank() == 2 { matrix_dtype } else { GgmlDType::F32 };
        let quantized = QTensor::quantize(&tensor, dtype).map_err(|e| WeightsError::candle(context(), e))?;
        qtensors.push((gguf_name, quantized));
    }

    let file = std::fs::File::create(path).map_err(|e| WeightsError::io(path, e))?;
    let mut out = std::io::BufWriter::new(file);
    let metadata_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = qtensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    candle_core::quantized::gguf_file::write(&mut out, &metadata_refs, &tensor_refs)
        .map_err(|e| WeightsError::candle(format!("{}", path.display()), e))?;
    std::io::Write::flush(&mut out).map_err(|e| WeightsError::io(path, e))
}
