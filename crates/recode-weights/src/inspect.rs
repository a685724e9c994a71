//! What a checkpoint holds, read from headers and metadata only (no tensor data is loaded).
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::checkpoint::{CheckpointKind, check_shapes, checkpoint_kind};
use crate::config::ModelConfig;
use crate::error::WeightsError;
use crate::tokenizer::ChatTokenizer;

/// One stored tensor.
#[derive(Debug, Clone)]
pub struct StoredTensor {
    /// The Hugging Face name (`None` for a GGUF tensor without one).
    pub name: Option<String>,
    /// The name in the file (GGUF name, or the safetensors name).
    pub stored_name: String,
    pub shape: Vec<usize>,
    /// As stored: a GGML type (`Q4K`, `F32`, …) or a safetensors dtype (`BF16`, …).
    pub stored_dtype: String,
}

/// A summary of a checkpoint.
#[derive(Debug)]
pub struct CheckpointInfo {
    pub path: PathBuf,
    /// `"gguf"` or `"hf"`.
    pub format: &'static str,
    pub config: ModelConfig,
    pub tokenizer: ChatTokenizer,
    pub chat_template: Option<String>,
    pub tensors: Vec<StoredTensor>,
    /// Bytes on disk (the file, or the directory's safetensors files).
    pub size_bytes: u64,
    /// `Err` with the first problem when the tensors do not match the config.
    pub tensor_check: Result<(), String>,
}

impl CheckpointInfo {
    /// Number of parameters stored (an untied `lm_head` included).
    pub fn parameter_count(&self) -> usize {
        self.tensors.iter().map(|t| t.shape.iter().product::<usize>()).sum()
    }
}

/// Reads config, tokenizer and the tensor directory of a GGUF file or Hugging Face directory.
pub fn inspect(path: &Path) -> Result<CheckpointInfo, WeightsError> {
    let kind = checkpoint_kind(path)?;
    let (format, config, (tokenizer, chat_template), tensors, size_bytes) = match kind {
        CheckpointKind::Gguf => {
            let file = crate::gguf::GgufFile::open(path)?;
            let tensors = file
                .tensor_infos()
                .into_iter()
                .map(|t| StoredTensor {
                    name: t.hf_name,
                    stored_name: t.gguf_name,
                    shape: t.shape,
                    stored_dtype: t.ggml_dtype,
                })
                .collect();
            let size = std::fs::metadata(path).map_err(|e| WeightsError::io(path, e))?.len();
            let (config, tokenizer, template) = file.config_and_tokenizer()?;
            ("gguf", config, (tokenizer, template), tensors, size)
        }
        CheckpointKind::HfDir => {
            let mut config = crate::hf::load_hf_config(path)?;
            let tokenizer = crate::hf::load_hf_tokenizer(path)?;
            config.eos_token_ids = tokenizer.0.eos_token_ids().to_vec();
            let mut tensors = Vec::new();
            let mut size = 0;
            for file in crate::hf::safetensors_files(path)? {
                size += std::fs::metadata(&file).map_err(|e| WeightsError::io(&file, e))?.len();
                for entry in crate::safetensors::read_header(&file)? {
                    tensors.push(StoredTensor {
                        name: Some(entry.name.clone()),
                        stored_name: entry.name,
                        shape: entry.shape,
                        stored_dtype: entry.dtype,
                    });
                }
            }
            tensors.sort_by(|a, b| a.stored_name.cmp(&b.stored_name));
            ("hf", config, tokenizer, tensors, size)
        }
    };
    let mut shapes = HashMap::new();
    let mut unnamed = None;
    for tensor in &tensors {
        match &tensor.name {
            Some(name) => {
                shapes.insert(name.clone(), tensor.shape.clone());
            }
            None => unnamed = Some(tensor.stored_name.clone()),
        }
    }
    let tensor_check = match unnamed {
        Some(name) => Err(format!("GGUF tensor `{name}` has no Hugging Face equivalent")),
        None => check_shapes(&config, &shapes).map_err(|e| e.to_string()),
    };
    Ok(CheckpointInfo {
        path: path.to_path_buf(),
        format,
        config,
        tokenizer,
        chat_template,
        tensors,
        size_bytes,
        tensor_check,
    })
}
