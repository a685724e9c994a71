//! The training loop on the tiny random model: exact resume, learning with GRPO and DAPO on a
//! verifiable reward, SFT, logs and checkpoints.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use recode_rl::{TrainConfig, read_metrics};
use recode_train::Trainer;

/// The repository (configs/, data/); RECODE_REPO overrides the build-time path, for test
/// binaries run on another machine.
fn repo() -> PathBuf {
    std::env::var_os("RECODE_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// configs/tiny.toml with the run directory in `dir` and `overrides` applied.
fn tiny(dir: &Path, overrides: &[&str]) -> TrainConfig {
    let text = std::fs::read_to_string(repo().join("configs/tiny.toml")).unwrap();
    let mut all = vec![
        format!("run_dir={:?}", dir.display().to_string()),
        format!("data.train={:?}", repo().join("data/train.jsonl").display().to_string()),
    ];
    // RECODE_TEST_DEVICE=cuda runs the loop on the GPU (the `cuda` feature).
    if let Ok(device) = std::env::var("RECODE_TEST_DEVICE") {
        all.push(format!("model.device={device:?}"));
    }
    all.extend(overrides.iter().map(|s| s.to_string()));
    let config = TrainConfig::from_toml_str(&text, "configs/tiny.toml", &all).unwrap();
    assert_eq!(config.validate(), vec![], "tiny.toml must validate");
    config
}

fn adapter(dir: &Path) -> HashMap<String, Tensor> {
    // Loaded on the CPU whatever device trained them: the comparisons are exact either way.
    candle_core::safetensors::load(dir.join("adapter_model.safetensors"), &Device::Cpu).unwrap()
}

fn assert_same_adapters(a: &Path, b: &Path) {
    let (a, b) = (adapter(a), adapter(b));
    assert_eq!(a.len(), b.len());
    assert!(!a.is_empty());
    for (name, x) in &a {
        let y = &b[name];
        let diff = (x - y).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(diff, 0.0, "{name} differs by {diff}");
    }
}

#[test]
fn three_steps_resume_three_steps_equals_six_straight() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = resume_equals_straight(&tmp.path().join("plain"), &[]);
    // With adapter dropout on, the masks are drawn from the run's seed, so the same holds.
    let dropout = resume_equals_straight(&tmp.path().join("dropout"), &["lora.dropout=0.1"]);
    let (x, y) = (adapter(&plain), adapter(&dropout));
    assert!(
        x.keys().any(|k| (&x[k] - &y[k]).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap() > 0.0)
    );
}

/// Runs 6 steps straight and 3 + resume + 3 under `dir` with `overrides`, checks that both end
/// identical, and returns the straight run's last checkpoint.
fn resume_equals_straight(dir: &Path, overrides: &[&str]) -> PathBuf {
    let (straight, split) = (dir.join("straight"), dir.join("split"));
    Trainer::new(tiny(&straight, overrides), None).unwrap().run(|_| {}).unwrap();

    let first_half: Vec<&str> = overrides.iter().copied().chain(["steps=3"]).collect();
    let mut first = Trainer::new(tiny(&split, &first_half), None).unwrap();
    first.run(|_| {}).unwrap();
    drop(first);
    let mut resumed = Trainer::new(tiny(&split, overrides), Some(&split)).unwrap();
    assert_eq!(resumed.step_index(), 3);
    resumed.run(|_| {}).unwrap();

    let checkpoint = |run: &Path| run.join("checkpoints/step-000006");
    assert_same_adapters(&checkpoint(&straight), &checkpoint(&split));
    // The optimizer moments too, and the logs line up step for step.
    let moments = |run: &Path| {
        candle_core::safetensors::load(checkpoint(run).join("optimizer.safetensors"), &Device::Cpu).unwrap()
    };
    let (m1, m2) = (moments(&straight), moments(&split));
    for (name, x) in &m1 {
        let diff = (x - &m2[name]).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(diff, 0.0, "optimizer {name}");
    }
    let (a, b) =
        (read_metrics(&straight.join("metrics.jsonl")).unwrap(), read_metrics(&split.join("metrics.jsonl")).unwrap());
    assert_eq!(a.iter().map(|m| m.step).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(b.iter().map(|m| m.step).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((x.reward_mean, x.loss, x.grad_norm), (y.reward_mean, y.loss, y.grad_norm), "step {}", x.step);
    }
    let completions = |run: &Path| std::fs::read_to_string(run.join("completions.jsonl")).unwrap();
    assert_eq!(completions(&straight), completions(&split));
    // checkpoint.every = 3: steps 3 and 6.
    let steps: Vec<u64> = recode_train::checkpoint::list(&straight).unwrap().into_iter().map(|(s, _)| s).collect();
    assert_eq!(steps, vec![3, 6]);
    checkpoint(&straight)
}

#[test]
fn resume_after_a_crash_between_checkpoints_repeats_only_the_lost_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    // Five steps, checkpoint at 3; steps 4 and 5 are "lost" (as if killed before step 6's save),
    // and a half-written checkpoint directory is left behind.
    let mut trainer = Trainer::new(tiny(&run, &[]), None).unwrap();
    for _ in 0..5 {
        trainer.step().unwrap();
    }
    drop(trainer);
    std::fs::create_dir_all(run.join("checkpoints/.step-000006.tmp-1")).unwrap();
    std::fs::write(run.join("checkpoints/.step-000006.tmp-1/adapter_model.safetensors"), b"torn").unwrap();
    let resumed = Trainer::new(tiny(&run, &[]), Some(&run)).unwrap();
    assert_eq!(resumed.step_index(), 3);
    let metrics = read_metrics(&run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.last().unwrap().step, 3, "the logs are cut back to the checkpoint");
}

#[test]
fn a_fresh_run_refuses_a_directory_with_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    Trainer::new(tiny(&run, &["steps=3"]), None).unwrap().run(|_| {}).unwrap();
    let metrics_before = std::fs::read(run.join("metrics.jsonl")).unwrap();
    let err = Trainer::new(tiny(&run, &[]), None).err().expect("must refuse").to_string();
    assert!(err.contains("--resume"), "{err}");
    assert_eq!(
        std::fs::read(run.join("metrics.jsonl")).unwrap(),
        metrics_before,
        "the refused run must not touch the logs"
    );
}

/// Mean reward of the first and last `window` steps of a run.
fn reward_trend(run: &Path, window: usize) -> (f64, f64, Vec<f64>) {
    let rewards: Vec<f64> = read_metrics(&run.join("metrics.jsonl")).unwrap().iter().map(|m| m.reward_mean).collect();
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    (mean(&rewards[..window]), mean(&rewards[rewards.len() - window..]), rewards)
}

/// The verifiable reward: 1 when the completion contains "e". A random model emits it in a
/// few percent of its 8-token completions; a policy that learned it, in nearly all. One group
/// of 8 per step over the 30 shortest prompts keeps a step near 2 s.
const LEARNING: &[&str] = &[
    "steps=15",
    "model.max_prompt_tokens=850",
    "reward.contains=\"e\"",
    "sampling.max_new_tokens=8",
    "algorithm.prompts_per_step=1",
    "algorithm.group_size=8",
    "algorithm.micro_batch_size=8",
    "optim.lr=3e-2",
    "checkpoint.every=0",
    "logging.completions=false",
];

#[test]
fn grpo_raises_the_reward() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("grpo");
    Trainer::new(tiny(&run, LEARNING), None).unwrap().run(|_| {}).unwrap();
    let (first, last, all) = reward_trend(&run, 4);
    assert!(last > first + 0.4 && last > 0.7, "GRPO reward did not rise: {all:?}");
}

#[test]
fn dapo_raises_the_reward_and_reports_dropped_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("dapo");
    let mut overrides = LEARNING.to_vec();
    // Dynamic sampling resamples when a group scored all 0 (most at first) or all 1 (at the end).
    overrides.extend([
        "algorithm.name=\"dapo\"",
        "algorithm.eps_high=0.28",
        "algorithm.dual_clip=10.0",
        "algorithm.kl_beta=0.0",
        "algorithm.loss_aggregation=\"token-mean\"",
        "algorithm.dynamic_sampling=true",
        "algorithm.max_num_gen_batches=4",
    ]);
    Trainer::new(tiny(&run, &overrides), None).unwrap().run(|_| {}).unwrap();
    let (first, last, all) = reward_trend(&run, 4);
    assert!(last > first + 0.4 && last > 0.7, "DAPO reward did not rise: {all:?}");
    let metrics = read_metrics(&run.join("metrics.jsonl")).unwrap();
    // Once the policy emits "e" every time, whole groups score 1 and are dropped.
    assert!(metrics.iter().any(|m| m.groups_dropped > 0), "no group was ever dropped");
    assert!(metrics.iter().all(|m| m.kl.is_none()), "β = 0 must skip the reference pass");
    assert!(metrics.iter().any(|m| m.generation_batches > 1));
}

#[test]
fn sft_lowers_its_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("sft");
    // Two items, seen again and again: their negative log-likelihood must fall.
    let data = tmp.path().join("two.jsonl");
    let text = std::fs::read_to_string(repo().join("data/train.jsonl")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_by_key(|l| l.len());
    lines.truncate(2);
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let overrides = [
        "algorithm.name=\"sft\"".to_string(),
        "steps=12".into(),
        "algorithm.prompts_per_step=2".into(),
        "algorithm.micro_batch_size=1".into(),
        format!("data.train={:?}", data.display().to_string()),
        "checkpoint.every=0".into(),
    ];
    let overrides: Vec<&str> = overrides.iter().map(String::as_str).collect();
    Trainer::new(tiny(&run, &overrides), None).unwrap().run(|_| {}).unwrap();
    let losses: Vec<f64> = read_metrics(&run.join("metrics.jsonl")).unwrap().iter().map(|m| m.loss).collect();
    assert!(losses[11] < 0.8 * losses[0], "SFT loss did not fall: {losses:?}");
}
