//! Opt-in checks on the real models (ignored by default: they need the files in the cache, and
//! the tokenizer checks need reference tokenizations made with Python).
//!
//! ```text
//! cargo run -p recode-cli -- model fetch                                   # Qwen2.5-Coder-0.5B
//! cargo run -p recode-cli -- model fetch --model smollm2-135m-instruct     # SmolLM2-135M
//! /work/venvs/torch/bin/python python/weights_oracle/tokenizer_oracle.py \
//!     --gguf ~/.cache/recode/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf --out /tmp/qwen-oracle.jsonl \
//!     [--reference-tokenizer-json UPSTREAM/tokenizer.json]
//! /work/venvs/torch/bin/python python/weights_oracle/tokenizer_oracle.py \
//!     --gguf ~/.cache/recode/models/smollm2-135m-instruct-q4_1.gguf --out /tmp/smollm2-oracle.jsonl
//! RECODE_QWEN_TOKENIZER_ORACLE=/tmp/qwen-oracle.jsonl RECODE_SMOLLM2_TOKENIZER_ORACLE=/tmp/smollm2-oracle.jsonl \
//!     cargo test --release -p recode-weights --test real_models -- --ignored --nocapture
//! ```
use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use recode_weights::fetch::{QWEN25_CODER_05B_INSTRUCT, SMOLLM2_135M_INSTRUCT};
use recode_weights::{Architecture, ChatTokenizer, check_tensors, load_checkpoint, load_tokenizer, models_dir};

fn model_file(name: &str) -> PathBuf {
    let path = models_dir().join(name);
    assert!(path.is_file(), "{} is missing: run `recode model fetch` first", path.display());
    path
}

#[derive(serde::Deserialize)]
struct OracleRow {
    text: String,
    nfc: bool,
    transformers_gguf: Vec<u32>,
    reference: Option<Vec<u32>>,
}

/// Compares our tokenizer with the oracle file; returns (rows, agree with transformers, agree
/// with the reference, texts where transformers differs).
fn compare(tokenizer: &ChatTokenizer, oracle: &Path) -> (usize, usize, usize, usize, Vec<String>) {
    let text = std::fs::read_to_string(oracle).unwrap_or_else(|e| panic!("{}: {e}", oracle.display()));
    let (mut rows, mut with_transformers, mut with_reference, mut references) = (0, 0, 0, 0);
    let mut differing = Vec::new();
    for line in text.lines() {
        let row: OracleRow = serde_json::from_str(line).unwrap();
        let ours = tokenizer.encode(&row.text).unwrap();
        rows += 1;
        if ours == row.transformers_gguf {
            with_transformers += 1;
        } else {
            let theirs = tokenizer.decode(&row.transformers_gguf).unwrap_or_default();
            differing.push(format!(
                "{:?}\n    ours:         {:?}\n    transformers: {:?} (decodes to {theirs:?})",
                row.text,
                ours.iter().map(|&id| tokenizer.token(id).unwrap_or_default()).collect::<Vec<_>>(),
                row.transformers_gguf.iter().map(|&id| tokenizer.token(id).unwrap_or_default()).collect::<Vec<_>>(),
            ));
        }
        if let Some(reference) = &row.reference {
            references += 1;
            assert_eq!(&ours, reference, "differs from the upstream tokenizer.json on {:?}", row.text);
            with_reference += 1;
        }
        // Round trip: exact for NFC text (Qwen normalises to NFC before tokenizing).
        if row.nfc {
            assert_eq!(tokenizer.decode(&ours).unwrap(), row.text);
        }
    }
    (rows, with_transformers, with_reference, references, differing)
}

fn report(model: &str, tokenizer: &ChatTokenizer, oracle_var: &str) -> Vec<String> {
    let Ok(oracle) = std::env::var(oracle_var) else {
        panic!("set {oracle_var} to the output of python/weights_oracle/tokenizer_oracle.py (see this file's header)")
    };
    let (rows, with_transformers, with_reference, references, differing) = compare(tokenizer, Path::new(&oracle));
    println!(
        "{model}: {rows} texts; agree with transformers(gguf_file=) on {with_transformers}; with the upstream \
         tokenizer.json on {with_reference} of {references}"
    );
    for difference in &differing {
        println!("  differs from transformers: {difference}");
    }
    differing
}

#[test]
#[ignore = "needs the Qwen GGUF in the cache and RECODE_QWEN_TOKENIZER_ORACLE"]
fn real_qwen_tokenizer_matches_the_oracle() {
    let path = model_file(QWEN25_CODER_05B_INSTRUCT.file_name);
    let start = std::time::Instant::now();
    let (tokenizer, template) = load_tokenizer(&path).unwrap();
    println!("tokenizer built from GGUF metadata in {:.2} s", start.elapsed().as_secs_f64());
    assert_eq!(tokenizer.token_id("<|im_start|>"), Some(151644));
    assert_eq!(tokenizer.token_id("<|im_end|>"), Some(151645));
    assert_eq!(tokenizer.token_id("<|endoftext|>"), Some(151643));
    assert_eq!(tokenizer.eos_token_ids(), &[151645, 151643]);
    assert_eq!(tokenizer.pad_token_id(), 151643);
    assert_eq!(tokenizer.encode("<|im_start|>user\n").unwrap(), vec![151644, 872, 198]);
    assert!(template.unwrap().contains("<|im_start|>"));
    let differing = report("qwen2.5-coder-0.5b-instruct", &tokenizer, "RECODE_QWEN_TOKENIZER_ORACLE");
    // transformers builds the GGUF tokenizer without Qwen's NFC normaliser; the only texts where
    // it may differ from ours (and from the upstream tokenizer.json) are the non-NFC ones.
    assert!(differing.iter().all(|d| d.starts_with("\"decomposed")), "{differing:#?}");
}

#[test]
#[ignore = "needs the SmolLM2 GGUF in the cache and RECODE_SMOLLM2_TOKENIZER_ORACLE"]
fn real_smollm2_tokenizer_matches_the_oracle() {
    let path = model_file(SMOLLM2_135M_INSTRUCT.file_name);
    let (tokenizer, _) = load_tokenizer(&path).unwrap();
    assert_eq!(tokenizer.token_id("<|im_start|>"), Some(1));
    assert_eq!(tokenizer.token_id("<|im_end|>"), Some(2));
    assert_eq!(tokenizer.eos_token_ids(), &[2, 0]);
    // No BOS and no prefix space.
    let ids = tokenizer.encode("hello").unwrap();
    assert_eq!(tokenizer.decode(&ids).unwrap(), "hello");
    assert!(!tokenizer.token(ids[0]).unwrap().starts_with('Ġ'));
    let differing = report("smollm2-135m-instruct", &tokenizer, "RECODE_SMOLLM2_TOKENIZER_ORACLE");
    // transformers' GGUF loader has no "smollm" pre-tokenizer and keeps digit runs together;
    // SmolLM2's own tokenizer (and llama.cpp's "smollm") splits every digit. Differences must
    // all involve digits.
    assert!(
        differing.iter().all(|d| d.split('\n').next().unwrap().chars().any(|c| c.is_ascii_digit())),
        "{differing:#?}"
    );
}

#[test]
#[ignore = "needs both GGUF files in the cache; reads ~3 GB"]
fn real_checkpoints_load_with_the_documented_shapes() {
    for (file, architecture, layers, parameters, tied) in [
        (QWEN25_CODER_05B_INSTRUCT.file_name, Architecture::Qwen2, 24, 630_167_424usize, false),
        (SMOLLM2_135M_INSTRUCT.file_name, Architecture::Llama, 30, 134_515_008, true),
    ] {
        let start = std::time::Instant::now();
        let checkpoint = load_checkpoint(&model_file(file), &Device::Cpu, DType::F32).unwrap();
        println!(
            "{file}: {} tensors, {} parameters, loaded in {:.1} s",
            checkpoint.tensors.len(),
            checkpoint.parameter_count(),
            start.elapsed().as_secs_f64()
        );
        assert_eq!(checkpoint.config.architecture, architecture);
        assert_eq!(checkpoint.config.num_hidden_layers, layers);
        assert_eq!(checkpoint.config.tie_word_embeddings, tied);
        assert_eq!(checkpoint.parameter_count(), parameters);
        check_tensors(&checkpoint.config, &checkpoint.tensors).unwrap();
    }
}
