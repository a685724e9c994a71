//! Opt-in checks on the real default model (Qwen2.5-Coder-0.5B-Instruct), ignored by default:
//!
//! ```text
//! recode model fetch
//! cargo test --release -p recode-models --test real_model -- --ignored --nocapture
//! ```
//! `RECODE_MODEL=PATH` picks another Hugging Face directory or GGUF file.
use std::path::PathBuf;

use candle_core::{DType, Device};
use recode_data::prompt::{Message, Role};
use recode_generate::{Generator, SamplingParams};
use recode_models::LocalModel;

fn model_path() -> PathBuf {
    let path = std::env::var_os("RECODE_MODEL").map(PathBuf::from).unwrap_or_else(recode_weights::default_model_path);
    assert!(path.exists(), "{} not found: run `recode model fetch` (or set RECODE_MODEL)", path.display());
    path
}

#[test]
#[ignore = "needs the real model (recode model fetch); slow"]
fn greedy_decoding_writes_sensible_python() {
    let model = LocalModel::load(&model_path(), None, &Device::Cpu, DType::F32).unwrap();
    let prompts: Vec<Vec<Message>> = [
        "Write a Python function `is_prime(n)` that returns True when n is prime. Reply with one python code block.",
        "Write a Python function `reverse_words(s)` that reverses the order of words in a string. Reply with one python code block.",
    ]
    .iter()
    .map(|p| vec![Message::new(Role::User, *p), Message::new(Role::Assistant, "")])
    .collect();
    let params = SamplingParams { max_new_tokens: 160, ..SamplingParams::default() };
    let started = std::time::Instant::now();
    let out = model.generate(&prompts, &params).unwrap();
    eprintln!("2 prompts, greedy, {:.1} s", started.elapsed().as_secs_f64());
    for (completions, name) in out.iter().zip(["def is_prime", "def reverse_words"]) {
        let text = &completions[0].text;
        eprintln!("---\n{text}");
        let code = text.split("```python").nth(1).and_then(|rest| rest.split("```").next()).expect("a python block");
        assert!(code.contains(name), "{code}");
        assert!(recode_python::parses_as_module(code), "does not parse:\n{code}");
    }
}
