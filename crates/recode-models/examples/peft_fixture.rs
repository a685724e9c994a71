//! Writes a tiny random Qwen2 model (Hugging Face directory), a LoRA and a DoRA adapter in
//! PEFT's layout, their merged models, and our logits for fixed ids, so that
//! `python/peft_interop/check_peft.py` can load them with transformers + PEFT and compare.
//! `cargo run -p recode-models --example peft_fixture -- OUT_DIR`
use candle_core::{DType, Device, Tensor};
use recode_models::adapter::{AdapterConfig, AdapterKind, ForwardMode};
use recode_models::{CausalLm, ForwardInput, random_tensors};
use recode_weights::testing::{tiny_config, tiny_tokenizer};
use recode_weights::{Architecture, Checkpoint, save_hf_dir};

const IDS: [u32; 10] = [3, 17, 5, 59, 22, 8, 8, 40, 1, 250];

fn logits(model: &CausalLm, mode: ForwardMode) -> Vec<Vec<f32>> {
    let (input, _) = ForwardInput::left_padded(&[IDS.to_vec()], 0, &Device::Cpu, DType::F32).unwrap();
    model.logits(&model.forward(&input, None, mode).unwrap()).unwrap().squeeze(0).unwrap().to_vec2().unwrap()
}

fn main() {
    let out = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: peft_fixture OUT_DIR"));
    let tokenizer = tiny_tokenizer();
    let mut config = tiny_config(Architecture::Qwen2);
    config.vocab_size = tokenizer.vocab_size();
    let tensors = random_tensors(&config, 7, &Device::Cpu, DType::F32).unwrap();
    let base = Checkpoint {
        config: config.clone(),
        tensors: tensors.clone(),
        tokenizer: tokenizer.clone(),
        chat_template: None,
    };
    save_hf_dir(&out.join("base"), &base).unwrap();
    let mut expected = serde_json::Map::new();
    expected.insert("ids".into(), serde_json::json!(IDS));
    let model = CausalLm::from_tensors(&config, &tensors).unwrap();
    expected.insert("base".into(), serde_json::json!(logits(&model, ForwardMode::INFERENCE)));
    for kind in [AdapterKind::Lora, AdapterKind::Dora] {
        let name = format!("{kind:?}").to_lowercase();
        let mut model = CausalLm::from_tensors(&config, &tensors).unwrap();
        let adapter = AdapterConfig {
            kind,
            targets: recode_models::adapter::TARGETABLE.map(String::from).to_vec(),
            layers: Some(vec![0, 1]),
            ..AdapterConfig::default()
        };
        model.add_adapters(&adapter, 11).unwrap();
        for (i, var) in model.trainable_vars().iter().enumerate() {
            let noise = Tensor::randn(0f32, 0.2, var.shape(), &Device::Cpu).unwrap();
            let _ = i;
            var.set(&(var.as_tensor() + noise).unwrap()).unwrap();
        }
        model.save_adapters(&out.join(&name), "base").unwrap();
        expected.insert(name.clone(), serde_json::json!(logits(&model, ForwardMode::INFERENCE)));
        let merged = Checkpoint {
            config: config.clone(),
            tensors: model.merged_tensors().unwrap(),
            tokenizer: tokenizer.clone(),
            chat_template: None,
        };
        save_hf_dir(&out.join(format!("{name}-merged")), &merged).unwrap();
    }
    std::fs::write(out.join("expected.json"), serde_json::to_string(&expected).unwrap()).unwrap();
    println!("wrote {}", out.display());
}
