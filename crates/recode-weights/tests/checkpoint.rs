//! Tiny random checkpoints written as GGUF (the way llama.cpp lays them out) and as Hugging Face
//! directories, read back, converted, and broken in precise ways.
use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::GgmlDType;
use candle_core::quantized::gguf_file::{self, Value};
use candle_core::{DType, Device, Tensor};
use recode_weights::testing::{CHATML_TEMPLATE, random_checkpoint, tiny_config, tiny_tokenizer, write_gguf};
use recode_weights::{
    Architecture, Checkpoint, PreTokenizer, WeightsError, check_tensors, inspect, load_checkpoint, load_config,
    load_tokenizer, save_hf_dir,
};

fn tiny(architecture: Architecture, seed: u64) -> Checkpoint {
    random_checkpoint(&tiny_config(architecture), tiny_tokenizer(), seed, &Device::Cpu, DType::F32).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

fn assert_same_tensors(a: &Checkpoint, b: &Checkpoint, tolerance: f32) {
    let mut names: Vec<&String> = a.tensors.keys().collect();
    names.sort();
    let other: Vec<&String> = {
        let mut n: Vec<&String> = b.tensors.keys().collect();
        n.sort();
        n
    };
    assert_eq!(names, other);
    for name in names {
        let (x, y) = (&a.tensors[name], &b.tensors[name]);
        assert_eq!(x.dims(), y.dims(), "{name}");
        let diff = max_abs_diff(&x.to_dtype(DType::F32).unwrap(), &y.to_dtype(DType::F32).unwrap());
        assert!(diff <= tolerance, "{name}: max abs diff {diff} > {tolerance}");
    }
}

fn assert_same_tokenizer(a: &Checkpoint, b: &Checkpoint) {
    for text in ["<|im_start|>user\ndef add(a, b):\n    return a + b<|im_end|>\n", "ünï 😀 123 import x"] {
        assert_eq!(a.tokenizer.encode(text).unwrap(), b.tokenizer.encode(text).unwrap(), "{text:?}");
    }
    assert_eq!(a.tokenizer.eos_token_ids(), b.tokenizer.eos_token_ids());
    assert_eq!(a.tokenizer.pad_token_id(), b.tokenizer.pad_token_id());
    assert_eq!(a.tokenizer.vocab_size(), b.tokenizer.vocab_size());
}

#[test]
fn gguf_f32_round_trip_is_exact_for_both_architectures() {
    for architecture in [Architecture::Qwen2, Architecture::Llama] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        let original = tiny(architecture, 7);
        write_gguf(&path, &original, PreTokenizer::Qwen2, GgmlDType::F32).unwrap();
        let loaded = load_checkpoint(&path, &Device::Cpu, DType::F32).unwrap();
        assert_eq!(loaded.config, original.config, "{architecture:?}");
        // Exact: llama q/k permuted on write and un-permuted on read.
        assert_same_tensors(&original, &loaded, 0.0);
        assert_same_tokenizer(&original, &loaded);
        assert_eq!(loaded.chat_template.as_deref(), Some(CHATML_TEMPLATE));
        assert_eq!(load_config(&path).unwrap(), original.config);
        assert_eq!(load_tokenizer(&path).unwrap().0.encode("<|im_end|>").unwrap(), vec![278]);
    }
}

#[test]
fn llama_qk_are_stored_permuted_and_qwen_qk_are_not() {
    // Read the raw GGUF tensors: llama's attn_q rows must differ from the HF rows (permuted),
    // qwen's must not; this guards against a permutation that is its own inverse by accident.
    for (architecture, permuted) in [(Architecture::Llama, true), (Architecture::Qwen2, false)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        let original = tiny(architecture, 3);
        write_gguf(&path, &original, PreTokenizer::Qwen2, GgmlDType::F32).unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        let content = gguf_file::Content::read(&mut file).unwrap();
        for (gguf, hf) in [
            ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"),
            ("blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight"),
        ] {
            let raw = content.tensor(&mut file, gguf, &Device::Cpu).unwrap().dequantize(&Device::Cpu).unwrap();
            let diff = max_abs_diff(&raw, &original.tensors[hf]);
            assert_eq!(diff > 0.0, permuted, "{architecture:?} {gguf}: diff {diff}");
        }
    }
}

#[test]
fn gguf_quantized_matrices_dequantize_close_to_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny-q8.gguf");
    let original = tiny(Architecture::Llama, 11);
    write_gguf(&path, &original, PreTokenizer::SmolLm, GgmlDType::Q8_0).unwrap();
    let loaded = load_checkpoint(&path, &Device::Cpu, DType::F32).unwrap();
    // Q8_0: 8-bit with one scale per 32 values; weights are at most 1/sqrt(64) = 0.125.
    assert_same_tensors(&original, &loaded, 0.125 / 127.0);
    let mut file = std::fs::File::open(&path).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    assert_eq!(content.tensor_infos["blk.0.ffn_up.weight"].ggml_dtype, GgmlDType::Q8_0);
    assert_eq!(content.tensor_infos["blk.0.attn_norm.weight"].ggml_dtype, GgmlDType::F32);
}

#[test]
fn gguf_loads_in_bf16() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    write_gguf(&path, &tiny(Architecture::Qwen2, 1), PreTokenizer::Qwen2, GgmlDType::F32).unwrap();
    let loaded = load_checkpoint(&path, &Device::Cpu, DType::BF16).unwrap();
    assert!(loaded.tensors.values().all(|t| t.dtype() == DType::BF16));
}

#[test]
fn hf_directory_round_trip_and_gguf_conversion() {
    let dir = tempfile::tempdir().unwrap();
    for architecture in [Architecture::Qwen2, Architecture::Llama] {
        let gguf = dir.path().join(format!("{}.gguf", architecture.model_type()));
        let hf = dir.path().join(format!("{}-hf", architecture.model_type()));
        let original = tiny(architecture, 5);
        write_gguf(&gguf, &original, PreTokenizer::Qwen2, GgmlDType::F32).unwrap();
        let from_gguf = load_checkpoint(&gguf, &Device::Cpu, DType::F32).unwrap();
        save_hf_dir(&hf, &from_gguf).unwrap();
        for file in
            ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"]
        {
            assert!(hf.join(file).is_file(), "{file}");
        }
        let from_hf = load_checkpoint(&hf, &Device::Cpu, DType::F32).unwrap();
        assert_eq!(from_hf.config, original.config);
        assert_same_tensors(&original, &from_hf, 0.0);
        assert_same_tokenizer(&original, &from_hf);
        assert_eq!(from_hf.chat_template.as_deref(), Some(CHATML_TEMPLATE));
        // transformers' safetensors loader wants the "pt" format marker.
        let bytes = std::fs::read(hf.join("model.safetensors")).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
        assert_eq!(header["__metadata__"]["format"], "pt");
        let tokenizer_config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(hf.join("tokenizer_config.json")).unwrap()).unwrap();
        assert_eq!(tokenizer_config["eos_token"], "<|im_end|>");
        assert_eq!(tokenizer_config["pad_token"], "<|endoftext|>");
        assert_eq!(tokenizer_config["added_tokens_decoder"]["277"]["content"], "<|im_start|>");
        let generation: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(hf.join("generation_config.json")).unwrap()).unwrap();
        assert_eq!(generation["eos_token_id"], serde_json::json!([278, 276]));
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(hf.join("config.json")).unwrap()).unwrap();
        assert_eq!(config["tie_word_embeddings"], architecture == Architecture::Llama);
    }
    // Nothing but the two GGUF files and the two directories: no temporary directories left.
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    names.sort();
    assert_eq!(names, vec!["llama-hf", "llama.gguf", "qwen2-hf", "qwen2.gguf"]);
}

#[test]
fn bf16_directory_loads_as_f32() {
    let dir = tempfile::tempdir().unwrap();
    let hf = dir.path().join("bf16");
    let original = tiny(Architecture::Qwen2, 2);
    let mut halved = original.clone();
    for tensor in halved.tensors.values_mut() {
        *tensor = tensor.to_dtype(DType::BF16).unwrap();
    }
    save_hf_dir(&hf, &halved).unwrap();
    let header = recode_weights::safetensors::read_header(&hf.join("model.safetensors")).unwrap();
    assert!(header.iter().all(|e| e.dtype == "BF16"));
    let loaded = load_checkpoint(&hf, &Device::Cpu, DType::F32).unwrap();
    // bf16 keeps 8 significant bits: relative error 2^-9; norm weights reach 1.1.
    assert_same_tensors(&original, &loaded, 1.1 / 256.0);
}

#[test]
fn sharded_directory_with_index_loads() {
    let dir = tempfile::tempdir().unwrap();
    let hf = dir.path().join("sharded");
    let original = tiny(Architecture::Llama, 9);
    save_hf_dir(&hf, &original).unwrap();
    std::fs::remove_file(hf.join("model.safetensors")).unwrap();
    let (mut first, mut second) = (HashMap::new(), HashMap::new());
    let mut weight_map = serde_json::Map::new();
    for (name, tensor) in &original.tensors {
        let shard = if name.contains("layers.1") {
            "model-00002-of-00002.safetensors"
        } else {
            "model-00001-of-00002.safetensors"
        };
        weight_map.insert(name.clone(), serde_json::json!(shard));
        if shard.starts_with("model-00002") { &mut second } else { &mut first }.insert(name.clone(), tensor.clone());
    }
    recode_weights::safetensors::write_safetensors(&hf.join("model-00001-of-00002.safetensors"), &first).unwrap();
    recode_weights::safetensors::write_safetensors(&hf.join("model-00002-of-00002.safetensors"), &second).unwrap();
    let index = serde_json::json!({"metadata": {}, "weight_map": weight_map});
    std::fs::write(hf.join("model.safetensors.index.json"), index.to_string()).unwrap();
    let loaded = load_checkpoint(&hf, &Device::Cpu, DType::F32).unwrap();
    assert_same_tensors(&original, &loaded, 0.0);
    let info = inspect(&hf).unwrap();
    assert_eq!(info.tensors.len(), original.tensors.len());
    assert_eq!(info.tensor_check, Ok(()));
}

#[test]
fn save_refuses_to_replace_a_directory_that_is_not_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("precious");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("notes.txt"), "keep me").unwrap();
    let err = save_hf_dir(&target, &tiny(Architecture::Qwen2, 1)).unwrap_err();
    assert!(matches!(err, WeightsError::OutputExists { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(target.join("notes.txt")).unwrap(), "keep me");
    // A model directory is replaced as a whole.
    let model = dir.path().join("model");
    save_hf_dir(&model, &tiny(Architecture::Qwen2, 1)).unwrap();
    std::fs::write(model.join("stale.txt"), "old").unwrap();
    let newer = tiny(Architecture::Qwen2, 2);
    save_hf_dir(&model, &newer).unwrap();
    assert!(!model.join("stale.txt").exists());
    assert_same_tensors(&newer, &load_checkpoint(&model, &Device::Cpu, DType::F32).unwrap(), 0.0);
}

#[test]
fn check_tensors_names_the_tensor_and_both_shapes() {
    let checkpoint = tiny(Architecture::Qwen2, 4);
    let config = &checkpoint.config;
    check_tensors(config, &checkpoint.tensors).unwrap();

    let mut missing = checkpoint.tensors.clone();
    missing.remove("model.layers.1.self_attn.k_proj.bias");
    let err = check_tensors(config, &missing).unwrap_err().to_string();
    assert_eq!(err, "missing tensor `model.layers.1.self_attn.k_proj.bias` (expected shape [32])");

    let mut wrong = checkpoint.tensors.clone();
    wrong.insert(
        "model.layers.0.mlp.down_proj.weight".into(),
        Tensor::zeros((64, 100), DType::F32, &Device::Cpu).unwrap(),
    );
    let err = check_tensors(config, &wrong).unwrap_err().to_string();
    assert_eq!(err, "tensor `model.layers.0.mlp.down_proj.weight`: shape [64, 100], expected [64, 128]");

    let mut extra = checkpoint.tensors.clone();
    extra.insert(
        "model.layers.2.mlp.up_proj.weight".into(),
        Tensor::zeros((128, 64), DType::F32, &Device::Cpu).unwrap(),
    );
    let err = check_tensors(config, &extra).unwrap_err().to_string();
    assert!(err.starts_with("unexpected tensor `model.layers.2.mlp.up_proj.weight` (shape [128, 64])"), "{err}");

    let mut mixed = checkpoint.tensors.clone();
    let norm = mixed["model.norm.weight"].to_dtype(DType::F16).unwrap();
    mixed.insert("model.norm.weight".into(), norm);
    let err = check_tensors(config, &mixed).unwrap_err().to_string();
    assert_eq!(err, "tensor `model.norm.weight`: dtype F16, expected F32");

    // Tied config: lm_head must be absent.
    let llama = tiny(Architecture::Llama, 4);
    let mut untied = llama.tensors.clone();
    untied.insert("lm_head.weight".into(), llama.tensors["model.embed_tokens.weight"].clone());
    let err = check_tensors(&llama.config, &untied).unwrap_err().to_string();
    assert!(err.starts_with("unexpected tensor `lm_head.weight`"), "{err}");
}

#[test]
fn gguf_whose_metadata_disagrees_with_its_tensors_is_rejected_precisely() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.gguf");
    let mut checkpoint = tiny(Architecture::Qwen2, 6);
    checkpoint.config.intermediate_size = 96;
    write_gguf(&path, &checkpoint, PreTokenizer::Qwen2, GgmlDType::F32).unwrap();
    let err = load_checkpoint(&path, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert_eq!(err, "tensor `model.layers.0.mlp.gate_proj.weight`: shape [128, 64], expected [96, 64]");
    // inspect reports the same problem without failing.
    let info = inspect(&path).unwrap();
    assert_eq!(info.tensor_check.unwrap_err(), err);
}

#[test]
fn gguf_missing_a_tensor_is_rejected_with_its_hugging_face_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.gguf");
    let mut checkpoint = tiny(Architecture::Llama, 6);
    checkpoint.tensors.remove("model.layers.1.post_attention_layernorm.weight");
    write_gguf(&path, &checkpoint, PreTokenizer::Qwen2, GgmlDType::F32).unwrap();
    let err = load_checkpoint(&path, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert_eq!(err, "missing tensor `model.layers.1.post_attention_layernorm.weight` (expected shape [64])");
}

/// A GGUF file written directly with candle's writer: only what a test needs.
fn write_raw_gguf(path: &Path, metadata: &[(&str, Value)], tensors: &[(&str, Tensor)]) {
    let qtensors: Vec<(&str, candle_core::quantized::QTensor)> = tensors
        .iter()
        .map(|(n, t)| (*n, candle_core::quantized::QTensor::quantize(t, GgmlDType::F32).unwrap()))
        .collect();
    let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensors: Vec<(&str, &candle_core::quantized::QTensor)> = qtensors.iter().map(|(n, t)| (*n, t)).collect();
    let mut file = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut file, &metadata, &tensors).unwrap();
}

#[test]
fn unsupported_architecture_and_tokenizer_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gemma.gguf");
    let embed = Tensor::zeros((8, 4), DType::F32, &Device::Cpu).unwrap();
    write_raw_gguf(
        &path,
        &[("general.architecture", Value::String("gemma".into()))],
        &[("token_embd.weight", embed.clone())],
    );
    let err = load_checkpoint(&path, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert_eq!(err, "unsupported architecture \"gemma\" (supported: qwen2, llama)");

    let path = dir.path().join("spm.gguf");
    let metadata = [
        ("general.architecture", Value::String("llama".into())),
        ("llama.embedding_length", Value::U32(4)),
        ("llama.attention.head_count", Value::U32(2)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("tokenizer.ggml.model", Value::String("llama".into())),
    ];
    write_raw_gguf(&path, &metadata, &[("token_embd.weight", embed)]);
    let err = load_checkpoint(&path, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(err.contains("tokenizer.ggml.model = \"llama\"; only byte-level BPE (\"gpt2\") is supported"), "{err}");
}

#[test]
fn missing_metadata_and_unknown_tensors_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let original = tiny(Architecture::Qwen2, 8);
    let good = dir.path().join("good.gguf");
    write_gguf(&good, &original, PreTokenizer::Qwen2, GgmlDType::F32).unwrap();
    let mut file = std::fs::File::open(&good).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    let tensors: Vec<(String, Tensor)> = content
        .tensor_infos
        .keys()
        .map(|n| (n.clone(), content.tensor(&mut file, n, &Device::Cpu).unwrap().dequantize(&Device::Cpu).unwrap()))
        .collect();
    let rewrite = |name: &str, drop_key: Option<&str>, extra_tensor: Option<(&str, Tensor)>| {
        let path = dir.path().join(name);
        let metadata: Vec<(&str, Value)> = content
            .metadata
            .iter()
            .filter(|(k, _)| Some(k.as_str()) != drop_key)
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let mut all: Vec<(&str, Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
        if let Some(extra) = extra_tensor {
            all.push(extra);
        }
        write_raw_gguf(&path, &metadata, &all);
        path
    };
    let path = rewrite("no-ffn.gguf", Some("qwen2.feed_forward_length"), None);
    let err = load_checkpoint(&path, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(err.ends_with("no-ffn.gguf: GGUF metadata `qwen2.feed_forward_length`: missing"), "{err}");

    let rope = Tensor::zeros(8, DType::F32, &Device::Cpu).unwrap();
    let path = rewrite("extra.gguf", None, Some(("rope_freqs.weight", rope)));
    let err = load_checkpoint(&path, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(
        err.starts_with("unexpected tensor `rope_freqs.weight (GGUF name, no Hugging Face equivalent)` (shape [8])"),
        "{err}"
    );

    let path = rewrite("no-merges.gguf", Some("tokenizer.ggml.merges"), None);
    let err = load_checkpoint(&path, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(err.ends_with("GGUF metadata `tokenizer.ggml.merges`: missing"), "{err}");
}

#[test]
fn files_that_are_not_models_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("model.gguf");
    std::fs::write(&text, "not a gguf file at all").unwrap();
    let err = load_checkpoint(&text, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(
        err.ends_with(
            "model.gguf: not a model: a file that is not GGUF (expected a .gguf file or a Hugging Face model directory)"
        ),
        "{err}"
    );

    let truncated = dir.path().join("truncated.gguf");
    let good = dir.path().join("good.gguf");
    write_gguf(&good, &tiny(Architecture::Qwen2, 1), PreTokenizer::Qwen2, GgmlDType::F32).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() - 1000]).unwrap();
    let err = load_checkpoint(&truncated, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(err.contains("truncated.gguf: tensor `") && err.contains("remaining in file"), "{err}");

    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let err = load_checkpoint(&empty_dir, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(
        err.ends_with("not a model: a directory without config.json (expected a Hugging Face model directory)"),
        "{err}"
    );

    let err = load_checkpoint(&dir.path().join("absent"), &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(err.contains("absent: No such file or directory"), "{err}");
}

#[test]
fn hf_directory_errors_name_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let hf = dir.path().join("hf");
    save_hf_dir(&hf, &tiny(Architecture::Qwen2, 1)).unwrap();
    let config_path = hf.join("config.json");
    let config = std::fs::read_to_string(&config_path).unwrap();

    std::fs::write(&config_path, config.replace("\"qwen2\"", "\"mistral\"")).unwrap();
    let err = load_checkpoint(&hf, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(err.ends_with("hf/config.json: unsupported model_type \"mistral\" (supported: qwen2, llama)"), "{err}");

    std::fs::write(&config_path, config.replace("\"intermediate_size\": 128", "\"intermediate_size\": 100")).unwrap();
    let err = load_checkpoint(&hf, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert_eq!(err, "tensor `model.layers.0.mlp.gate_proj.weight`: shape [128, 64], expected [100, 64]");

    std::fs::write(&config_path, &config).unwrap();
    let tc_path = hf.join("tokenizer_config.json");
    let tc = std::fs::read_to_string(&tc_path).unwrap();
    std::fs::write(&tc_path, tc.replace("\"pad_token\": \"<|endoftext|>\"", "\"pad_token\": \"<pad>\"")).unwrap();
    std::fs::remove_file(hf.join("generation_config.json")).unwrap();
    let err = load_checkpoint(&hf, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(err.ends_with("tokenizer_config.json: `pad_token` \"<pad>\" is not a token of tokenizer.json"), "{err}");

    std::fs::write(&tc_path, &tc).unwrap();
    let weights = hf.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() - 100]).unwrap();
    let err = load_checkpoint(&hf, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(
        err.contains("model.safetensors: tensor `") && err.contains("bytes) within the file"),
        "a truncated file: {err}"
    );
    std::fs::write(&weights, &bytes[..4]).unwrap();
    let err = load_checkpoint(&hf, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(err.ends_with("model.safetensors: too short for a safetensors header"), "{err}");
    std::fs::remove_file(&weights).unwrap();
    let err = load_checkpoint(&hf, &Device::Cpu, DType::F32).unwrap_err().to_string();
    assert!(err.ends_with("not a model: no *.safetensors files (PyTorch .bin checkpoints are not supported)"), "{err}");
}

#[test]
fn hf_special_ids_come_from_generation_config_and_tokenizer_config() {
    let dir = tempfile::tempdir().unwrap();
    let hf = dir.path().join("hf");
    save_hf_dir(&hf, &tiny(Architecture::Llama, 1)).unwrap();
    // Only tokenizer_config.json names the tokens; config.json has no eos either.
    std::fs::remove_file(hf.join("generation_config.json")).unwrap();
    let config_path = hf.join("config.json");
    let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config.as_object_mut().unwrap().remove("eos_token_id");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let tc_path = hf.join("tokenizer_config.json");
    let mut tc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&tc_path).unwrap()).unwrap();
    tc["eos_token"] = serde_json::json!({"content": "<|endoftext|>"});
    tc.as_object_mut().unwrap().remove("chat_template");
    std::fs::write(&tc_path, tc.to_string()).unwrap();
    std::fs::write(hf.join("chat_template.jinja"), "{{ messages }}").unwrap();
    let (tokenizer, template) = load_tokenizer(&hf).unwrap();
    // The named eos first, then the other known end token.
    assert_eq!(tokenizer.eos_token_ids(), &[276, 278]);
    assert_eq!(tokenizer.pad_token_id(), 276);
    assert_eq!(template.as_deref(), Some("{{ messages }}"));
}
