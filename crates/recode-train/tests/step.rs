//! The training step against its f64 reference: gradients by finite differences of the
//! recode-rl loss, and micro-batching (learning is tested through the loop, tests/train.rs).
use candle_core::{DType, Device, Tensor};
use recode_models::adapter::{AdapterConfig, AdapterKind, ForwardMode, TARGETABLE};
use recode_models::{CausalLm, random_tensors, sequence_log_probs};
use recode_rl::{LossAggregation, LossInput, LossSettings, policy_loss};
use recode_train::{Backprop, Rollouts, policy_gradient};
use recode_weights::Architecture;
use recode_weights::testing::tiny_config;

fn tiny_model(dtype: DType, seed: u64) -> CausalLm {
    tiny_model_with(dtype, seed, AdapterConfig { dropout: 0.0, ..AdapterConfig::default() })
}

fn tiny_model_with(dtype: DType, seed: u64, adapter: AdapterConfig) -> CausalLm {
    let mut config = tiny_config(Architecture::Qwen2);
    config.vocab_size = 40;
    let tensors = random_tensors(&config, seed, &Device::Cpu, dtype).unwrap();
    let mut model = CausalLm::from_tensors(&config, &tensors).unwrap();
    model.add_adapters(&AdapterConfig { targets: TARGETABLE.map(String::from).to_vec(), ..adapter }, seed).unwrap();
    model
}

fn plan(micro_batch: usize, checkpointed: bool) -> Backprop {
    Backprop { micro_batch, dropout_seed: 0, checkpointed }
}

fn max_abs_diff(x: &Tensor, y: &Tensor) -> f64 {
    (x - y).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f64>().unwrap()
}

fn settings(aggregation: LossAggregation, beta: f64, dual_clip: Option<f64>) -> LossSettings {
    LossSettings { eps_low: 0.2, eps_high: 0.28, dual_clip, beta, aggregation, norm_length: 6 }
}

fn rollouts() -> Rollouts {
    Rollouts {
        prompts: vec![vec![1, 5, 9], vec![2, 3], vec![7, 7, 7, 7], vec![4]],
        completions: vec![vec![3, 8, 8], vec![11], vec![20, 21, 22, 23, 24], vec![6, 30]],
        old_log_probs: None,
        advantages: vec![1.2, -0.7, 0.4, -1.5],
        keep: vec![true, true, true, false],
    }
}

/// The reference loss of the model's current log-probabilities.
fn reference_loss(model: &CausalLm, r: &Rollouts, s: &LossSettings) -> f64 {
    let values = |mode| {
        let lp = sequence_log_probs(model, &r.prompts, &r.completions, 0, mode).unwrap();
        let rows = lp.log_probs.to_vec2::<f64>().unwrap();
        rows.into_iter().zip(&r.completions).map(|(row, c)| row[..c.len()].to_vec()).collect::<Vec<_>>()
    };
    let logp = values(ForwardMode::TRAIN);
    let input = LossInput {
        old_logp: r.old_log_probs.as_ref().unwrap().iter().map(|row| row.iter().map(|&v| v as f64).collect()).collect(),
        ref_logp: (s.beta > 0.0).then(|| values(ForwardMode::REFERENCE)),
        mask: r.completions.iter().zip(&r.keep).map(|(c, &k)| vec![k; c.len()]).collect(),
        advantages: r.advantages.clone(),
        logp,
    };
    policy_loss(&input, s).unwrap().loss
}

#[test]
fn gradients_are_the_reference_loss_gradients() {
    let model = tiny_model(DType::F64, 3);
    let vars = model.trainable_vars();
    for var in &vars {
        var.set(&(var.as_tensor() + Tensor::randn(0f64, 0.3, var.shape(), &Device::Cpu).unwrap()).unwrap()).unwrap();
    }
    // π_old: the current log-probs shifted so that ratios span both clip bounds.
    let mut r = rollouts();
    let lp = sequence_log_probs(&model, &r.prompts, &r.completions, 0, ForwardMode::TRAIN)
        .unwrap()
        .log_probs
        .to_vec2::<f64>()
        .unwrap();
    let shifts = [0.0, 0.3, -0.3, 0.05, -0.5];
    r.old_log_probs = Some(
        lp.iter()
            .zip(&r.completions)
            .enumerate()
            .map(|(i, (row, c))| (0..c.len()).map(|t| (row[t] + shifts[(i + t) % 5]) as f32).collect())
            .collect(),
    );
    for (aggregation, beta, dual, checkpointed) in [
        (LossAggregation::TokenMean, 0.0, None, false),
        (LossAggregation::SeqMeanTokenMean, 0.04, None, false),
        (LossAggregation::SeqMeanTokenSumNorm, 0.001, Some(3.0), false),
        (LossAggregation::SeqMeanTokenMean, 0.04, Some(3.0), true),
    ] {
        let s = settings(aggregation, beta, dual);
        let (grads, report) = policy_gradient(&model, &vars, &r, &s, 0, plan(4, checkpointed)).unwrap();
        assert!((report.loss - reference_loss(&model, &r, &s)).abs() < 1e-5, "{aggregation:?}");
        let eps = 1e-6;
        for (v, var) in vars.iter().enumerate().step_by(5) {
            let analytic = grads[v].flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let original = var.as_tensor().flatten_all().unwrap().to_vec1::<f64>().unwrap();
            for idx in [0, original.len() - 1] {
                let at = |delta: f64| {
                    let mut values = original.clone();
                    values[idx] += delta;
                    var.set(&Tensor::from_vec(values, var.shape(), &Device::Cpu).unwrap()).unwrap();
                    reference_loss(&model, &r, &s)
                };
                let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
                var.set(&Tensor::from_vec(original.clone(), var.shape(), &Device::Cpu).unwrap()).unwrap();
                assert!(
                    (numeric - analytic[idx]).abs() < 1e-6 * (1.0 + numeric.abs()),
                    "{aggregation:?} var {v}[{idx}]: {numeric} vs {}",
                    analytic[idx]
                );
            }
        }
    }
}

#[test]
fn micro_batches_add_up_to_the_full_batch() {
    let model = tiny_model(DType::F64, 4);
    let vars = model.trainable_vars();
    for var in &vars {
        var.set(&(var.as_tensor() + Tensor::randn(0f64, 0.3, var.shape(), &Device::Cpu).unwrap()).unwrap()).unwrap();
    }
    let s = settings(LossAggregation::SeqMeanTokenMean, 0.04, None);
    let (full, a) = policy_gradient(&model, &vars, &rollouts(), &s, 0, plan(4, false)).unwrap();
    let (micro, b) = policy_gradient(&model, &vars, &rollouts(), &s, 0, plan(1, false)).unwrap();
    assert!((a.loss - b.loss).abs() < 1e-10);
    for (x, y) in full.iter().zip(&micro) {
        let diff = max_abs_diff(x, y);
        assert!(diff < 1e-10, "{diff}");
    }
}

#[test]
fn checkpointed_gradients_equal_the_stored_ones() {
    // Dropout on (the recomputation must draw the same masks), a prompt shared by three rows
    // (its gradient comes from several completions), LoRA and DoRA, and adapters on the last
    // layer only (the recomputation stops there).
    for (kind, layers) in [(AdapterKind::Lora, None), (AdapterKind::Dora, None), (AdapterKind::Lora, Some(vec![1]))] {
        let adapter = AdapterConfig { dropout: 0.1, kind, layers, ..AdapterConfig::default() };
        let model = tiny_model_with(DType::F64, 6, adapter);
        let vars = model.trainable_vars();
        for var in &vars {
            var.set(&(var.as_tensor() + Tensor::randn(0f64, 0.3, var.shape(), &Device::Cpu).unwrap()).unwrap())
                .unwrap();
        }
        let mut r = rollouts();
        r.prompts = vec![vec![1, 5, 9], vec![2, 3], vec![1, 5, 9], vec![1, 5, 9]];
        let s = settings(LossAggregation::TokenMean, 0.04, None);
        for micro_batch in [4, 2] {
            let seeded = |checkpointed| Backprop { dropout_seed: 17, ..plan(micro_batch, checkpointed) };
            let (stored, a) = policy_gradient(&model, &vars, &r, &s, 0, seeded(false)).unwrap();
            let (recomputed, b) = policy_gradient(&model, &vars, &r, &s, 0, seeded(true)).unwrap();
            assert!((a.loss - b.loss).abs() < 1e-12, "{kind:?}: {} vs {}", a.loss, b.loss);
            assert!(stored.iter().any(|g| max_abs_diff(g, &g.zeros_like().unwrap()) > 1e-3), "gradients are zero");
            for (v, (x, y)) in stored.iter().zip(&recomputed).enumerate() {
                let diff = max_abs_diff(x, y);
                assert!(diff < 1e-10, "{kind:?} micro-batch {micro_batch} var {v}: {diff}");
            }
        }
    }
}
