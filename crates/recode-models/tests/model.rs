//! The trainable model against candle's stock implementations, gradients against finite
//! differences, cached against uncached decoding, adapters and their PEFT files.
use std::collections::HashMap;

use candle_core::{D, DType, Device, Tensor, Var};
use recode_models::adapter::{AdapterConfig, AdapterKind, ForwardMode};
use recode_models::generate::{SamplingConfig, generate, generate_continuous, generate_with_streams};
use recode_models::{CausalLm, ForwardInput, Generation, random_tensors, sequence_log_probs};
use recode_weights::{Architecture, ModelConfig};

/// The device the tests run on: the CPU, or the first CUDA GPU with `RECODE_TEST_DEVICE=cuda`
/// (needs the `cuda` feature). One device for the whole binary, created once.
fn dev() -> Device {
    static DEVICE: std::sync::OnceLock<Device> = std::sync::OnceLock::new();
    DEVICE
        .get_or_init(|| match std::env::var("RECODE_TEST_DEVICE").as_deref() {
            Err(_) | Ok("") | Ok("cpu") => Device::Cpu,
            Ok("cuda") => Device::new_cuda(0).unwrap_or_else(|e| panic!("RECODE_TEST_DEVICE=cuda: {e}")),
            Ok(other) => panic!("RECODE_TEST_DEVICE={other}: expected `cpu` or `cuda`"),
        })
        .clone()
}

fn tiny(architecture: Architecture, tied: bool) -> ModelConfig {
    ModelConfig {
        architecture,
        vocab_size: 61,
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 8,
        rope_theta: 10_000.0,
        rms_norm_eps: 1e-6,
        max_position_embeddings: 128,
        tie_word_embeddings: tied,
        attention_bias: architecture == Architecture::Qwen2,
        bos_token_id: None,
        eos_token_ids: vec![60],
    }
}

fn model(config: &ModelConfig, dtype: DType) -> (CausalLm, HashMap<String, Tensor>) {
    let tensors = random_tensors(config, 42, &dev(), dtype).unwrap();
    (CausalLm::from_tensors(config, &tensors).unwrap(), tensors)
}

/// Full-sequence logits of one unpadded row, `[s, vocab]`.
fn logits_of(model: &CausalLm, ids: &[u32], mode: ForwardMode) -> Tensor {
    let (input, _) = ForwardInput::left_padded(&[ids.to_vec()], 0, &dev(), model.dtype()).unwrap();
    let hidden = model.forward(&input, None, mode).unwrap();
    model.logits(&hidden).unwrap().squeeze(0).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
        .to_scalar()
        .unwrap()
}

const IDS: [u32; 9] = [3, 17, 5, 59, 22, 8, 8, 40, 1];

#[test]
fn qwen2_logits_match_candle_stock_model() {
    use candle_transformers::models::qwen2;
    for tied in [false, true] {
        let config = tiny(Architecture::Qwen2, tied);
        let (ours, tensors) = model(&config, DType::F32);
        let stock_config: qwen2::Config = serde_json::from_str(&config.to_hf_json()).unwrap();
        let vb = candle_nn::VarBuilder::from_tensors(tensors, DType::F32, &dev());
        let mut stock = qwen2::ModelForCausalLM::new(&stock_config, vb).unwrap();
        let full = logits_of(&ours, &IDS, ForwardMode::INFERENCE);
        for len in 1..=IDS.len() {
            stock.clear_kv_cache();
            let input = Tensor::new(&IDS[..len], &dev()).unwrap().unsqueeze(0).unwrap();
            let last = stock.forward(&input, 0).unwrap().flatten_all().unwrap();
            let diff = max_abs_diff(&last, &full.get(len - 1).unwrap());
            assert!(diff < 1e-4, "tied={tied} len={len}: max |Δlogit| = {diff}");
        }
    }
}

#[test]
fn llama_logits_match_candle_stock_model() {
    use candle_transformers::models::llama;
    for tied in [false, true] {
        let config = tiny(Architecture::Llama, tied);
        let (ours, tensors) = model(&config, DType::F32);
        let stock_config: llama::LlamaConfig = serde_json::from_str(&config.to_hf_json()).unwrap();
        let stock_config = stock_config.into_config(false);
        let vb = candle_nn::VarBuilder::from_tensors(tensors, DType::F32, &dev());
        let stock = llama::Llama::load(vb, &stock_config).unwrap();
        let full = logits_of(&ours, &IDS, ForwardMode::INFERENCE);
        for len in 1..=IDS.len() {
            let mut cache = llama::Cache::new(false, DType::F32, &stock_config, &dev()).unwrap();
            let input = Tensor::new(&IDS[..len], &dev()).unwrap().unsqueeze(0).unwrap();
            let last = stock.forward(&input, 0, &mut cache).unwrap().flatten_all().unwrap();
            let diff = max_abs_diff(&last, &full.get(len - 1).unwrap());
            assert!(diff < 1e-4, "tied={tied} len={len}: max |Δlogit| = {diff}");
        }
    }
}

#[test]
fn left_padding_and_batch_neighbours_do_not_change_a_row() {
    let config = tiny(Architecture::Qwen2, false);
    let (m, _) = model(&config, DType::F32);
    let rows = vec![IDS[..4].to_vec(), IDS.to_vec(), IDS[2..7].to_vec()];
    let (input, _) = ForwardInput::left_padded(&rows, 0, &dev(), DType::F32).unwrap();
    let batched = m.logits(&m.forward(&input, None, ForwardMode::INFERENCE).unwrap()).unwrap();
    let width = IDS.len();
    for (r, row) in rows.iter().enumerate() {
        let alone = logits_of(&m, row, ForwardMode::INFERENCE);
        let padded = batched.get(r).unwrap().narrow(0, width - row.len(), row.len()).unwrap();
        let diff = max_abs_diff(&alone, &padded);
        assert!(diff < 1e-4, "row {r}: {diff}");
    }
}

#[test]
fn cached_and_uncached_greedy_decoding_agree() {
    let config = tiny(Architecture::Llama, false);
    let (m, _) = model(&config, DType::F32);
    let prompts = vec![IDS[..3].to_vec(), IDS.to_vec(), vec![7]];
    let sampling = SamplingConfig { max_new_tokens: 12, ..SamplingConfig::default() };
    let cached = generate(&m, &prompts, &sampling, 0, &|_| String::new(), &mut |_| {}).unwrap();
    for (prompt, generation) in prompts.iter().zip(&cached) {
        // Uncached: the whole sequence again at every step, one row alone.
        let mut seq = prompt.clone();
        let mut expected = Vec::new();
        for _ in 0..sampling.max_new_tokens {
            let logits = logits_of(&m, &seq, ForwardMode::INFERENCE);
            let next = logits.get(seq.len() - 1).unwrap().argmax(0).unwrap().to_scalar::<u32>().unwrap();
            expected.push(next);
            seq.push(next);
        }
        assert_eq!(generation.ids, expected);
        assert_eq!(generation.log_probs.len(), expected.len());
        assert!(generation.truncated());
    }
}

#[test]
fn sampling_is_seeded_stops_at_eos_and_is_independent_of_batch_neighbours() {
    let config = tiny(Architecture::Qwen2, false);
    let (m, _) = model(&config, DType::F32);
    let sampling = SamplingConfig {
        max_new_tokens: 20,
        temperature: 1.5,
        top_p: 0.95,
        top_k: 40,
        seed: 9,
        stop_ids: vec![60, 2],
        ..SamplingConfig::default()
    };
    let prompts = vec![IDS.to_vec(), IDS[..2].to_vec(), IDS[4..].to_vec()];
    let a = generate(&m, &prompts, &sampling, 0, &|_| String::new(), &mut |_| {}).unwrap();
    let b = generate(&m, &prompts, &sampling, 0, &|_| String::new(), &mut |_| {}).unwrap();
    assert_eq!(a, b);
    let first_alone = generate(&m, &prompts[..1], &sampling, 0, &|_| String::new(), &mut |_| {}).unwrap();
    assert_eq!(first_alone[0].ids, a[0].ids);
    let other_seed =
        generate(&m, &prompts, &SamplingConfig { seed: 10, ..sampling.clone() }, 0, &|_| String::new(), &mut |_| {})
            .unwrap();
    assert_ne!(a, other_seed);
    for g in &a {
        match g.finish {
            recode_models::FinishReason::StopToken => assert!(sampling.stop_ids.contains(g.ids.last().unwrap())),
            recode_models::FinishReason::Length => assert_eq!(g.ids.len(), 20),
            other => panic!("{other:?}"),
        }
        assert!(g.ids[..g.ids.len() - 1].iter().all(|t| !sampling.stop_ids.contains(t)));
    }
    // Sampling log-probs agree with a teacher-forced forward pass at temperature 1.
    let plain = SamplingConfig { temperature: 1.0, top_p: 1.0, top_k: 0, ..sampling.clone() };
    let gens = generate(&m, &prompts, &plain, 0, &|_| String::new(), &mut |_| {}).unwrap();
    let completions: Vec<Vec<u32>> = gens.iter().map(|g| g.ids.clone()).collect();
    let scored = sequence_log_probs(&m, &prompts, &completions, 0, ForwardMode::INFERENCE).unwrap();
    let values = scored.log_probs.to_vec2::<f32>().unwrap();
    for (r, g) in gens.iter().enumerate() {
        for (i, lp) in g.log_probs.iter().enumerate() {
            assert!((lp - values[r][i]).abs() < 1e-4, "row {r} token {i}: {lp} vs {}", values[r][i]);
        }
    }
}

#[test]
fn stop_strings_end_a_row() {
    let config = tiny(Architecture::Qwen2, false);
    let (m, _) = model(&config, DType::F32);
    let greedy = SamplingConfig { max_new_tokens: 10, ..SamplingConfig::default() };
    let free = generate(&m, &[IDS.to_vec()], &greedy, 0, &|_| String::new(), &mut |_| {}).unwrap();
    // Decode ids as letters; stop at the text of the third token.
    let decode = |ids: &[u32]| ids.iter().map(|&i| char::from(b'A' + (i % 26) as u8)).collect::<String>();
    let stop = decode(&free[0].ids[2..3]);
    let expected_len = (1..=10).find(|&n| decode(&free[0].ids[..n]).contains(&stop)).unwrap();
    let with_stop = SamplingConfig { stop_strings: vec![stop], ..greedy };
    let stopped = generate(&m, &[IDS.to_vec()], &with_stop, 0, &decode, &mut |_| {}).unwrap();
    assert_eq!(stopped[0].ids, free[0].ids[..expected_len]);
    assert_eq!(stopped[0].finish, recode_models::FinishReason::StopString);
}

#[test]
fn fresh_adapters_and_adapters_off_give_the_base_model() {
    for kind in [AdapterKind::Lora, AdapterKind::Dora] {
        let config = tiny(Architecture::Qwen2, false);
        let (mut m, _) = model(&config, DType::F32);
        let base = logits_of(&m, &IDS, ForwardMode::INFERENCE);
        let adapter = AdapterConfig {
            kind,
            targets: recode_models::adapter::TARGETABLE.map(String::from).to_vec(),
            ..AdapterConfig::default()
        };
        m.add_adapters(&adapter, 1).unwrap();
        assert!(max_abs_diff(&base, &logits_of(&m, &IDS, ForwardMode::INFERENCE)) < 1e-5);
        // Move B (and the magnitude) away from their initial values.
        for var in m.trainable_vars() {
            let noise = Tensor::randn(0f32, 0.3, var.shape(), &dev()).unwrap();
            var.set(&(var.as_tensor() + noise).unwrap()).unwrap();
        }
        let adapted = logits_of(&m, &IDS, ForwardMode::INFERENCE);
        assert!(max_abs_diff(&base, &adapted) > 1e-2, "{kind:?}: the adapter changes nothing");
        assert_eq!(max_abs_diff(&base, &logits_of(&m, &IDS, ForwardMode::REFERENCE)), 0.0);
        // Merged weights give the adapted model.
        let merged = CausalLm::from_tensors(&config, &m.merged_tensors().unwrap()).unwrap();
        let diff = max_abs_diff(&adapted, &logits_of(&merged, &IDS, ForwardMode::INFERENCE));
        assert!(diff < 1e-4, "{kind:?}: merged vs adapted {diff}");
    }
}

#[test]
fn peft_files_round_trip_with_peft_names() {
    let config = tiny(Architecture::Qwen2, false);
    let (mut m, tensors) = model(&config, DType::F32);
    let adapter = AdapterConfig { kind: AdapterKind::Dora, layers: Some(vec![1]), ..AdapterConfig::default() };
    m.add_adapters(&adapter, 3).unwrap();
    for var in m.trainable_vars() {
        var.set(&(var.as_tensor() + 0.1).unwrap()).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    m.save_adapters(dir.path(), "tiny").unwrap();
    let saved = candle_core::safetensors::load(dir.path().join("adapter_model.safetensors"), &dev()).unwrap();
    let mut names: Vec<&String> = saved.keys().collect();
    names.sort();
    assert_eq!(names.len(), 12, "{names:?}");
    assert!(saved.contains_key("base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight"));
    assert!(saved.contains_key("base_model.model.model.layers.1.self_attn.o_proj.lora_magnitude_vector"));
    assert_eq!(saved["base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"].dims(), &[16, 8]);
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("adapter_config.json")).unwrap()).unwrap();
    assert_eq!(cfg["use_dora"], true);
    assert_eq!(cfg["layers_to_transform"], serde_json::json!([1]));

    let mut loaded = CausalLm::from_tensors(&config, &tensors).unwrap();
    loaded.load_adapters(dir.path()).unwrap();
    assert_eq!(
        max_abs_diff(&logits_of(&m, &IDS, ForwardMode::INFERENCE), &logits_of(&loaded, &IDS, ForwardMode::INFERENCE)),
        0.0
    );

    // A tensor of the wrong shape is named in the error.
    let mut bad = saved.clone();
    bad.insert(
        "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight".into(),
        Tensor::zeros((8, 31), DType::F32, &dev()).unwrap(),
    );
    candle_core::safetensors::save(&bad, dir.path().join("adapter_model.safetensors")).unwrap();
    let err = CausalLm::from_tensors(&config, &tensors).unwrap().load_adapters(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("layers.1.self_attn.q_proj.lora_A.weight") && err.contains("[8, 31]") && err.contains("[8, 32]"),
        "{err}"
    );
}

#[test]
fn missing_and_misshapen_base_tensors_are_named() {
    let config = tiny(Architecture::Llama, false);
    let (_, mut tensors) = model(&config, DType::F32);
    tensors.remove("model.layers.1.mlp.up_proj.weight");
    let err = CausalLm::from_tensors(&config, &tensors).unwrap_err().to_string();
    assert!(err.contains("model.layers.1.mlp.up_proj.weight") && err.contains("[48, 32]"), "{err}");
    tensors.insert("model.layers.1.mlp.up_proj.weight".into(), Tensor::zeros((32, 48), DType::F32, &dev()).unwrap());
    let err = CausalLm::from_tensors(&config, &tensors).unwrap_err().to_string();
    assert!(err.contains("[32, 48]") && err.contains("expected [48, 32]"), "{err}");
}

/// Σ w ⊙ log π over a small batch (rows 0 and 2 share their prompt's forward pass), as a
/// function of the adapter parameters.
fn weighted_log_prob(m: &CausalLm, weights: &Tensor) -> Tensor {
    let prompts = vec![IDS[..4].to_vec(), IDS[..2].to_vec(), IDS[..4].to_vec()];
    let completions = vec![vec![5, 9, 11], vec![30, 2], vec![7, 3]];
    let lp = sequence_log_probs(m, &prompts, &completions, 0, ForwardMode::TRAIN).unwrap();
    (lp.log_probs * lp.mask).unwrap().broadcast_mul(weights).unwrap().sum_all().unwrap()
}

#[test]
fn gradients_match_finite_differences() {
    for kind in [AdapterKind::Lora, AdapterKind::Dora] {
        let config = tiny(Architecture::Qwen2, false);
        let (mut m, _) = model(&config, DType::F64);
        let adapter = AdapterConfig {
            kind,
            // Seeded dropout draws the same masks on every evaluation, so it is differentiated too.
            dropout: 0.1,
            targets: recode_models::adapter::TARGETABLE.map(String::from).to_vec(),
            ..AdapterConfig::default()
        };
        m.add_adapters(&adapter, 5).unwrap();
        for var in m.trainable_vars() {
            var.set(&(var.as_tensor() + Tensor::randn(0f64, 0.2, var.shape(), &dev()).unwrap()).unwrap()).unwrap();
        }
        let weights = Tensor::new(&[[1.0f64, -0.5, 2.0], [0.7, 1.3, 0.0], [-1.1, 0.4, 0.0]], &dev()).unwrap();
        let loss = weighted_log_prob(&m, &weights);
        let grads = loss.backward().unwrap();
        let eps = 1e-5;
        let mut checked = 0;
        for (v, var) in m.trainable_vars().iter().enumerate() {
            // DoRA's row norm is detached by design (DoRA §4.3, as PEFT), so only the magnitude
            // (every third parameter: A, B, m) has the exact derivative.
            if kind == AdapterKind::Dora && v % 3 != 2 {
                continue;
            }
            let grad = grads.get(var.as_tensor()).expect("every adapter parameter gets a gradient");
            let analytic = grad.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let original = var.as_tensor().flatten_all().unwrap().to_vec1::<f64>().unwrap();
            // A few coordinates per parameter keep the test fast.
            for idx in [0, original.len() / 2, original.len() - 1] {
                let eval = |delta: f64| {
                    let mut values = original.clone();
                    values[idx] += delta;
                    var.set(&Tensor::from_vec(values, var.shape(), &dev()).unwrap()).unwrap();
                    weighted_log_prob(&m, &weights).to_scalar::<f64>().unwrap()
                };
                let numeric = (eval(eps) - eval(-eps)) / (2.0 * eps);
                var.set(&Tensor::from_vec(original.clone(), var.shape(), &dev()).unwrap()).unwrap();
                let err = (numeric - analytic[idx]).abs();
                assert!(
                    err < 1e-6 * (1.0 + numeric.abs()),
                    "{kind:?} var {v} idx {idx}: numeric {numeric} analytic {}",
                    analytic[idx]
                );
                checked += 1;
            }
        }
        assert!(checked >= 3 * 2 * 7, "{checked}");
    }
}

/// Rows that share a prompt share its forward pass: their log-probs and the adapter gradients
/// equal those of each row scored alone.
#[test]
fn a_shared_prompt_gives_the_log_probs_and_gradients_of_rows_scored_alone() {
    let config = tiny(Architecture::Llama, false);
    let (mut m, _) = model(&config, DType::F32);
    let adapter = AdapterConfig { dropout: 0.0, ..AdapterConfig::default() };
    m.add_adapters(&adapter, 2).unwrap();
    for var in m.trainable_vars() {
        var.set(&(var.as_tensor() + Tensor::randn(0f32, 0.2, var.shape(), &dev()).unwrap()).unwrap()).unwrap();
    }
    let prompts = vec![IDS.to_vec(), IDS.to_vec(), IDS[2..].to_vec(), IDS.to_vec()];
    let completions = vec![vec![5, 9, 11, 4], vec![30], vec![8, 8, 1], vec![12, 40]];
    let batch = sequence_log_probs(&m, &prompts, &completions, 0, ForwardMode::TRAIN).unwrap();
    let together = batch.log_probs.to_vec2::<f32>().unwrap();
    let grads = (batch.log_probs * batch.mask).unwrap().sum_all().unwrap().backward().unwrap();
    let vars = m.trainable_vars();
    let mut summed: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().zeros_like().unwrap()).collect();
    for r in 0..prompts.len() {
        let alone = sequence_log_probs(&m, &prompts[r..=r], &completions[r..=r], 0, ForwardMode::TRAIN).unwrap();
        let values = alone.log_probs.to_vec2::<f32>().unwrap();
        for (i, v) in values[0].iter().enumerate() {
            assert!((v - together[r][i]).abs() < 1e-5, "row {r} token {i}: {v} vs {}", together[r][i]);
        }
        let g = alone.log_probs.sum_all().unwrap().backward().unwrap();
        for (sum, var) in summed.iter_mut().zip(&vars) {
            *sum = (&*sum + g.get(var.as_tensor()).unwrap()).unwrap();
        }
    }
    for (sum, var) in summed.iter().zip(&vars) {
        assert!(max_abs_diff(sum, grads.get(var.as_tensor()).unwrap()) < 1e-4);
    }
}

#[test]
fn frozen_linear_gradients_equal_the_plain_matmul_ones() {
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (5, 7), &dev()).unwrap()).unwrap();
    let w = Tensor::randn(0f32, 1.0, (3, 7), &dev()).unwrap();
    let g = Tensor::randn(0f32, 1.0, (5, 3), &dev()).unwrap();
    let ours = recode_models::ops::frozen_linear(x.as_tensor(), &w).unwrap();
    let plain = x.as_tensor().matmul(&w.t().unwrap()).unwrap();
    assert!(max_abs_diff(&ours, &plain) < 1e-6);
    let grad_ours = (ours * &g).unwrap().sum_all().unwrap().backward().unwrap();
    let grad_plain = (plain * &g).unwrap().sum_all().unwrap().backward().unwrap();
    assert!(max_abs_diff(grad_ours.get(x.as_tensor()).unwrap(), grad_plain.get(x.as_tensor()).unwrap()) < 1e-5);
    // The fused softmax against candle's composite one, values and gradients.
    let s = Var::from_tensor(&Tensor::randn(0f32, 3.0, (4, 9), &dev()).unwrap()).unwrap();
    let h = Tensor::randn(0f32, 1.0, (4, 9), &dev()).unwrap();
    let a = recode_models::ops::softmax_last_dim(s.as_tensor()).unwrap();
    let b = candle_nn::ops::softmax(s.as_tensor(), D::Minus1).unwrap();
    assert!(max_abs_diff(&a, &b) < 1e-6);
    let ga = (a * &h).unwrap().sum_all().unwrap().backward().unwrap();
    let gb = (b * &h).unwrap().sum_all().unwrap().backward().unwrap();
    assert!(max_abs_diff(ga.get(s.as_tensor()).unwrap(), gb.get(s.as_tensor()).unwrap()) < 1e-5);
}

#[test]
fn chunked_log_probs_equal_the_full_log_softmax() {
    let hidden = Var::from_tensor(&Tensor::randn(0f32, 1.0, (6, 8), &dev()).unwrap()).unwrap();
    let head = Tensor::randn(0f32, 1.0, (50, 8), &dev()).unwrap();
    let targets = [3u32, 49, 0, 7, 7, 21];
    let (lp, entropy) = recode_models::ops::completion_log_probs(hidden.as_tensor(), &head, &targets).unwrap();
    let logits = hidden.as_tensor().matmul(&head.t().unwrap()).unwrap();
    let full = candle_nn::ops::log_softmax(&logits, D::Minus1).unwrap();
    let idx = Tensor::new(&targets, &dev()).unwrap().unsqueeze(1).unwrap();
    let expected = full.gather(&idx, 1).unwrap().squeeze(1).unwrap();
    assert!(max_abs_diff(&lp, &expected) < 1e-5);
    let expected_entropy = (full.exp().unwrap() * &full).unwrap().sum(1).unwrap().neg().unwrap();
    assert!(max_abs_diff(&entropy, &expected_entropy) < 1e-4);
    let w = Tensor::new(&[1f32, 2.0, -1.0, 0.5, 0.5, 3.0], &dev()).unwrap();
    let g1 = (lp * &w).unwrap().sum_all().unwrap().backward().unwrap();
    let g2 = (expected * &w).unwrap().sum_all().unwrap().backward().unwrap();
    assert!(max_abs_diff(g1.get(hidden.as_tensor()).unwrap(), g2.get(hidden.as_tensor()).unwrap()) < 1e-4);
}

/// Half-precision models reduce over the vocabulary in f32: a bf16 sum over 30,000 logits would
/// stall at 256 and give log-probabilities off by several nats.
#[test]
fn bf16_log_probs_and_their_gradients_follow_f32() {
    let vocab = 30_000;
    let hidden = Tensor::randn(0f32, 1.0, (4, 16), &dev()).unwrap();
    let head = (Tensor::randn(0f32, 1.0, (vocab, 16), &dev()).unwrap() * 0.1).unwrap();
    let targets = [3u32, 29_999, 0, 12_345];
    let run = |dtype: DType| {
        let h = Var::from_tensor(&hidden.to_dtype(dtype).unwrap()).unwrap();
        let (lp, entropy) =
            recode_models::ops::completion_log_probs(h.as_tensor(), &head.to_dtype(dtype).unwrap(), &targets).unwrap();
        assert_eq!(lp.dtype(), DType::F32, "{dtype:?} log-probs come out in f32");
        let grads = lp.sum_all().unwrap().backward().unwrap();
        let g = grads.get(h.as_tensor()).unwrap().to_dtype(DType::F32).unwrap();
        assert_eq!(grads.get(h.as_tensor()).unwrap().dtype(), dtype);
        (lp, entropy, g)
    };
    let (lp32, e32, g32) = run(DType::F32);
    let (lp16, e16, g16) = run(DType::BF16);
    // bf16 rounding of the inputs alone moves each logit by ~1e-2.
    assert!(max_abs_diff(&lp32, &lp16) < 0.05, "{lp32} vs {lp16}");
    assert!(max_abs_diff(&e32, &e16) < 0.05);
    assert!(max_abs_diff(&g32, &g16) < 0.05);
}

/// Asserts that `row` is what `prompt` samples alone with `stream`: the same tokens, the same
/// finish, log-probs within float noise.
fn assert_samples_as_alone(m: &CausalLm, prompt: &[u32], stream: u64, sampling: &SamplingConfig, row: &Generation) {
    let alone = generate_with_streams(m, &[prompt.to_vec()], &[stream], sampling, 0, &|_| String::new(), &mut |_| {})
        .unwrap()
        .remove(0);
    assert_eq!(alone.ids, row.ids, "prompt {prompt:?}, stream {stream}");
    assert_eq!(alone.finish, row.finish);
    for (x, y) in alone.log_probs.iter().zip(&row.log_probs) {
        assert!((x - y).abs() < 1e-4, "stream {stream}: {x} vs {y}");
    }
}

/// A GRPO group's identical prompts share one prefill: each row still samples exactly what it
/// samples alone with its stream.
#[test]
fn identical_prompts_share_a_prefill_without_changing_any_row() {
    let config = tiny(Architecture::Qwen2, false);
    let (m, _) = model(&config, DType::F32);
    let sampling = SamplingConfig {
        max_new_tokens: 12,
        temperature: 1.2,
        seed: 3,
        stop_ids: vec![60],
        ..SamplingConfig::default()
    };
    let (a, b) = (IDS.to_vec(), IDS[3..].to_vec());
    let prompts = vec![a.clone(), a.clone(), b.clone(), a.clone(), b.clone()];
    let streams = [11u64, 12, 13, 14, 15];
    let batch = generate_with_streams(&m, &prompts, &streams, &sampling, 0, &|_| String::new(), &mut |_| {}).unwrap();
    for (i, prompt) in prompts.iter().enumerate() {
        assert_samples_as_alone(&m, prompt, streams[i], &sampling, &batch[i]);
    }
    assert_ne!(batch[0].ids, batch[1].ids, "rows of one prompt sample independently");
}

/// Continuous batching: finished rows are replaced by waiting prompts, and every row still
/// samples exactly what it samples alone with its stream, whatever the batch width.
#[test]
fn refilled_batches_sample_every_row_as_it_samples_alone() {
    let config = tiny(Architecture::Qwen2, false);
    let (m, _) = model(&config, DType::F32);
    let prompts: Vec<Vec<u32>> = vec![
        IDS.to_vec(),
        IDS[..2].to_vec(),
        IDS[4..].to_vec(),
        IDS.to_vec(),
        IDS[1..7].to_vec(),
        vec![9],
        IDS.to_vec(),
    ];
    let streams: Vec<u64> = (20..27).collect();
    for temperature in [0.0, 1.3] {
        let sampling = SamplingConfig {
            max_new_tokens: 14,
            temperature,
            seed: 5,
            stop_ids: vec![60, 2, 7, 31],
            ..SamplingConfig::default()
        };
        let run = |max_rows: usize, trace: &mut Vec<(usize, usize)>| {
            generate_continuous(&m, &prompts, &streams, &sampling, max_rows, 0, &|_| String::new(), &mut |p| {
                trace.push((p.rows_finished, p.active_rows))
            })
            .unwrap()
        };
        let mut trace = Vec::new();
        let refilled = run(3, &mut trace);
        assert_eq!(trace.last().unwrap().0, prompts.len(), "every row finishes");
        if temperature > 0.0 {
            // A row finished while others ran on (0 < active < 3), and later the batch was full again.
            let partial = trace.iter().position(|&(_, active)| active > 0 && active < 3).expect("{trace:?}");
            assert!(trace[partial..].iter().any(|&(_, active)| active == 3), "no refill: {trace:?}");
        }
        for (i, prompt) in prompts.iter().enumerate() {
            assert_samples_as_alone(&m, prompt, streams[i], &sampling, &refilled[i]);
        }
        let (one, all) = (run(1, &mut Vec::new()), run(7, &mut Vec::new()));
        for ((a, b), c) in one.iter().zip(&all).zip(&refilled) {
            assert!(a.ids == b.ids && b.ids == c.ids && a.finish == b.finish && b.finish == c.finish);
        }
    }
}
