//! Hugging Face model directories: reading (`config.json`, sharded or single safetensors,
//! `tokenizer.json`, `tokenizer_config.json`, `generation_config.json`, `chat_template.jinja`) and
//! writing (atomically: a temporary sibling directory renamed into place).
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use serde_json::{Map, Value, json};
use tokenizers::Tokenizer;

use crate::checkpoint::{Checkpoint, check_tensors};
use crate::config::ModelConfig;
use crate::error::WeightsError;
use crate::tokenizer::{ChatTokenizer, END_TOKENS};

fn read_text(path: &Path) -> Result<String, WeightsError> {
    std::fs::read_to_string(path).map_err(|e| WeightsError::io(path, e))
}

fn read_json_object(path: &Path) -> Result<Option<Map<String, Value>>, WeightsError> {
    if !path.is_file() {
        return Ok(None);
    }
    let value: Value =
        serde_json::from_str(&read_text(path)?).map_err(|e| WeightsError::Json { path: path.into(), source: e })?;
    match value {
        Value::Object(map) => Ok(Some(map)),
        _ => Err(WeightsError::Invalid { path: path.into(), message: "expected a JSON object".into() }),
    }
}

pub(crate) fn load_hf_config(dir: &Path) -> Result<ModelConfig, WeightsError> {
    let text = read_text(&dir.join("config.json"))?;
    ModelConfig::from_hf_json(&text).map_err(|e| WeightsError::Config { dir: dir.to_path_buf(), source: e })
}

/// A token given in `tokenizer_config.json` as a string or as `{"content": ...}`.
fn token_text(map: &Map<String, Value>, key: &str, path: &Path) -> Result<Option<String>, WeightsError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Object(o)) => match o.get("content") {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            _ => Err(WeightsError::Invalid {
                path: path.into(),
                message: format!("`{key}`: expected a string or an object with a string `content`"),
            }),
        },
        Some(_) => Err(WeightsError::Invalid {
            path: path.into(),
            message: format!("`{key}`: expected a string or an object with `content`"),
        }),
    }
}

/// Token ids given as one id or a list (`eos_token_id` in `config.json` / `generation_config.json`).
fn token_ids(map: &Map<String, Value>, key: &str, path: &Path) -> Result<Vec<u32>, WeightsError> {
    let bad = || WeightsError::Invalid {
        path: path.into(),
        message: format!("`{key}`: expected a token id or a list of token ids"),
    };
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Number(n)) => Ok(vec![n.as_u64().ok_or_else(bad)? as u32]),
        Some(Value::Array(items)) => items.iter().map(|v| v.as_u64().map(|n| n as u32).ok_or_else(bad)).collect(),
        Some(_) => Err(bad()),
    }
}

fn chat_template(dir: &Path, tokenizer_config: Option<&Map<String, Value>>) -> Result<Option<String>, WeightsError> {
    // Newer transformers save the template in its own file; it wins over tokenizer_config.json.
    let jinja = dir.join("chat_template.jinja");
    if jinja.is_file() {
        return read_text(&jinja).map(Some);
    }
    let path = dir.join("tokenizer_config.json");
    match tokenizer_config.and_then(|c| c.get("chat_template")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        // Several named templates: the one called "default".
        Some(Value::Array(items)) => {
            for item in items {
                if item.get("name").and_then(Value::as_str) == Some("default")
                    && let Some(template) = item.get("template").and_then(Value::as_str)
                {
                    return Ok(Some(template.to_string()));
                }
            }
            Err(WeightsError::Invalid {
                path,
                message: "`chat_template`: a list without a template named \"default\"".into(),
            })
        }
        Some(_) => Err(WeightsError::Invalid { path, message: "`chat_template`: expected a string or a list".into() }),
    }
}

/// The tokenizer of a Hugging Face directory with its special ids, and the chat template.
///
/// End-of-sequence ids: `generation_config.json`, then `config.json`, then `eos_token` of
/// `tokenizer_config.json`, then the usual end tokens (`<|im_end|>`, `<|endoftext|>`, …) that are
/// special tokens of this tokenizer. Padding: `generation_config.json`'s `pad_token_id`, else
/// `pad_token`, else `config.json`'s, else `<|endoftext|>`, else the first end id.
pub(crate) fn load_hf_tokenizer(dir: &Path) -> Result<(ChatTokenizer, Option<String>), WeightsError> {
    let tokenizer_path = dir.join("tokenizer.json");
    if !tokenizer_path.is_file() {
        return Err(WeightsError::NotAModel {
            path: dir.into(),
            reason: "no tokenizer.json (only fast tokenizers are supported)".into(),
        });
    }
    let tokenizer = Tokenizer::from_file(&tokenizer_path)
        .map_err(|e| WeightsError::Invalid { path: tokenizer_path.clone(), message: e.to_string() })?;
    let config_path = dir.join("config.json");
    let generation_path = dir.join("generation_config.json");
    let tokenizer_config_path = dir.join("tokenizer_config.json");
    let config = read_json_object(&config_path)?.unwrap_or_default();
    let generation = read_json_object(&generation_path)?.unwrap_or_default();
    let tokenizer_config = read_json_object(&tokenizer_config_path)?;
    let named_id = |key: &str| -> Result<Option<u32>, WeightsError> {
        let Some(config) = &tokenizer_config else { return Ok(None) };
        let Some(text) = token_text(config, key, &tokenizer_config_path)? else { return Ok(None) };
        tokenizer.token_to_id(&text).map(Some).ok_or_else(|| WeightsError::Invalid {
            path: tokenizer_config_path.clone(),
            message: format!("`{key}` {text:?} is not a token of tokenizer.json"),
        })
    };
    let special: Vec<String> =
        tokenizer.get_added_tokens_decoder().into_values().filter(|t| t.special).map(|t| t.content).collect();
    let mut eos = token_ids(&generation, "eos_token_id", &generation_path)?;
    eos.extend(token_ids(&config, "eos_token_id", &config_path)?);
    eos.extend(named_id("eos_token")?);
    for name in END_TOKENS {
        if special.iter().any(|s| s == name)
            && let Some(id) = tokenizer.token_to_id(name)
        {
            eos.push(id);
        }
    }
    if eos.is_empty() {
        return Err(WeightsError::Invalid {
            path: dir.into(),
            message: "no end-of-sequence token: none of generation_config.json / config.json `eos_token_id`, \
                      tokenizer_config.json `eos_token`, or a known end token"
                .into(),
        });
    }
    let pad = match token_ids(&generation, "pad_token_id", &generation_path)?.first() {
        Some(&id) => id,
        None => match named_id("pad_token")? {
            Some(id) => id,
            None => match token_ids(&config, "pad_token_id", &config_path)?.first() {
                Some(&id) => id,
                None => tokenizer.token_to_id("<|endoftext|>").unwrap_or(eos[0]),
            },
        },
    };
    let bos = match token_ids(&generation, "bos_token_id", &generation_path)?.first() {
        Some(&id) => Some(id),
        None => match token_ids(&config, "bos_token_id", &config_path)?.first() {
            Some(&id) => Some(id),
            None => named_id("bos_token")?,
        },
    };
    let template = chat_template(dir, tokenizer_config.as_ref())?;
    let chat = ChatTokenizer::from_tokenizer(tokenizer, eos, pad)
        .and_then(|c| c.with_bos_token_id(bos))
        .map_err(|e| WeightsError::Invalid { path: dir.into(), message: e.to_string() })?;
    Ok((chat, template))
}

/// The safetensors files of a directory: those named by `model.safetensors.index.json`, else
/// every `*.safetensors`.
pub(crate) fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>, WeightsError> {
    let index_path = dir.join("model.safetensors.index.json");
    if let Some(index) = read_json_object(&index_path)? {
        let map = index.get("weight_map").and_then(Value::as_object).ok_or_else(|| WeightsError::Invalid {
            path: index_path.clone(),
            message: "`weight_map`: missing or not an object".into(),
        })?;
        let mut files = BTreeSet::new();
        for (tensor, file) in map {
            let file = file.as_str().ok_or_else(|| WeightsError::Invalid {
                path: index_path.clone(),
                message: format!("`weight_map.{tensor}`: expected a file name"),
            })?;
            files.insert(dir.join(file));
        }
        return Ok(files.into_iter().collect());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| WeightsError::io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(WeightsError::NotAModel {
            path: dir.into(),
            reason: "no *.safetensors files (PyTorch .bin checkpoints are not supported)".into(),
        });
    }
    Ok(files)
}

pub(crate) fn load_hf_dir(dir: &Path, device: &Device, dtype: DType) -> Result<Checkpoint, WeightsError> {
    let mut config = load_hf_config(dir)?;
    let (tokenizer, chat_template) = load_hf_tokenizer(dir)?;
    config.eos_token_ids = tokenizer.eos_token_ids().to_vec();
    let mut tensors = HashMap::new();
    for file in safetensors_files(dir)? {
        crate::safetensors::read_tensors(&file, |name, tensor| {
            // Buffers some exporters save; they are recomputed, not learned.
            if name.ends_with(".rotary_emb.inv_freq") {
                return Ok(());
            }
            // transformers ignores a stored lm_head when the embeddings are tied; so do we.
            if name == "lm_head.weight" && config.tie_word_embeddings {
                return Ok(());
            }
            let tensor = tensor
                .to_dtype(dtype)
                .and_then(|t| t.to_device(device))
                .map_err(|e| WeightsError::candle(format!("{}: tensor `{name}`", file.display()), e))?;
            if tensors.insert(name.clone(), tensor).is_some() {
                return Err(WeightsError::Invalid {
                    path: file.clone(),
                    message: format!("tensor `{name}` is stored in more than one file"),
                });
            }
            Ok(())
        })?;
    }
    Ok(Checkpoint { config, tensors, tokenizer, chat_template })
}

fn tokenizer_config_json(checkpoint: &Checkpoint) -> Result<Value, WeightsError> {
    let tokenizer = &checkpoint.tokenizer;
    let text = |id: u32| {
        tokenizer.token(id).ok_or_else(|| WeightsError::tokenizer(format!("id {id} is not in the vocabulary")))
    };
    let mut added = Map::new();
    for (id, token) in tokenizer.added_tokens() {
        added.insert(
            id.to_string(),
            json!({
                "content": token.content, "lstrip": token.lstrip, "normalized": token.normalized,
                "rstrip": token.rstrip, "single_word": token.single_word, "special": token.special,
            }),
        );
    }
    let adds_bos =
        tokenizer.bos_token_id().is_some() && tokenizer.encode("")?.first() == tokenizer.bos_token_id().as_ref();
    let mut map = Map::new();
    map.insert("add_bos_token".into(), json!(adds_bos));
    map.insert("add_eos_token".into(), json!(false));
    map.insert("added_tokens_decoder".into(), Value::Object(added));
    map.insert("bos_token".into(), tokenizer.bos_token_id().map(text).transpose()?.map_or(Value::Null, Value::String));
    map.insert("chat_template".into(), checkpoint.chat_template.clone().map_or(Value::Null, Value::String));
    map.insert("clean_up_tokenization_spaces".into(), json!(false));
    map.insert("eos_token".into(), json!(text(tokenizer.eos_token_ids()[0])?));
    map.insert("errors".into(), json!("replace"));
    map.insert("model_max_length".into(), json!(checkpoint.config.max_position_embeddings));
    map.insert("pad_token".into(), json!(text(tokenizer.pad_token_id())?));
    map.insert("split_special_tokens".into(), json!(false));
    map.insert("tokenizer_class".into(), json!("PreTrainedTokenizerFast"));
    map.insert("unk_token".into(), Value::Null);
    Ok(Value::Object(map))
}

fn generation_config_json(checkpoint: &Checkpoint) -> Value {
    let tokenizer = &checkpoint.tokenizer;
    let mut map = Map::new();
    if let Some(bos) = tokenizer.bos_token_id() {
        map.insert("bos_token_id".into(), json!(bos));
    }
    map.insert("eos_token_id".into(), json!(tokenizer.eos_token_ids()));
    map.insert("pad_token_id".into(), json!(tokenizer.pad_token_id()));
    Value::Object(map)
}

/// Writes `checkpoint` as a Hugging Face directory that transformers and candle load:
/// `config.json`, `model.safetensors` (tensors in their dtype), `tokenizer.json`,
/// `tokenizer_config.json` (chat template, special tokens), `generation_config.json`.
///
/// Atomic: everything is written to a temporary sibling directory that is then renamed to `dir`.
/// An existing `dir` is replaced only when it is empty or holds a model (`config.json`);
/// anything else is refused.
pub fn save_hf_dir(dir: &Path, checkpoint: &Checkpoint) -> Result<(), WeightsError> {
    check_tensors(&checkpoint.config, &checkpoint.tensors)?;
    if dir.exists() {
        let is_dir = dir.is_dir();
        let empty = is_dir && std::fs::read_dir(dir).map_err(|e| WeightsError::io(dir, e))?.next().is_none();
        if !is_dir || !(empty || dir.join("config.json").is_file()) {
            return Err(WeightsError::OutputExists {
                path: dir.into(),
                reason: "exists and is not an empty directory or a model directory (no config.json)".into(),
            });
        }
    }
    let name = dir
        .file_name()
        .ok_or_else(|| WeightsError::OutputExists { path: dir.into(), reason: "has no final path component".into() })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| WeightsError::io(&parent, e))?;
    let unique = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    );
    let staging = parent.join(format!(".{}.tmp-{unique}", name.to_string_lossy()));
    std::fs::create_dir(&staging).map_err(|e| WeightsError::io(&staging, e))?;
    let result = write_files(&staging, checkpoint).and_then(|()| {
        if dir.exists() {
            let old = parent.join(format!(".{}.old-{unique}", name.to_string_lossy()));
            std::fs::rename(dir, &old).map_err(|e| WeightsError::io(dir, e))?;
            std::fs::rename(&staging, dir).map_err(|e| WeightsError::io(dir, e))?;
            std::fs::remove_dir_all(&old).map_err(|e| WeightsError::io(&old, e))
        } else {
            std::fs::rename(&staging, dir).map_err(|e| WeightsError::io(dir, e))
        }
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn write_files(staging: &Path, checkpoint: &Checkpoint) -> Result<(), WeightsError> {
    let write = |file: &str, text: String| {
        let path = staging.join(file);
        std::fs::write(&path, text).map_err(|e| WeightsError::io(path, e))
    };
    let pretty = |value: &Value| serde_json::to_string_pretty(value).expect("JSON values serialise");
    write("config.json", checkpoint.config.to_hf_json())?;
    write("generation_config.json", pretty(&generation_config_json(checkpoint)))?;
    write("tokenizer_config.json", pretty(&tokenizer_config_json(checkpoint)?))?;
    write("tokenizer.json", checkpoint.tokenizer.to_json(true)?)?;
    crate::safetensors::write_safetensors(&staging.join("model.safetensors"), &checkpoint.tensors)
}
