//! `recode train` as a real process on the tiny random model: a run, its outputs, resume, and
//! bad configs refused before any work.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn train(dir: &Path, extra: &[&str]) -> Output {
    let config = repo().join("configs/tiny.toml");
    let data = format!("data.train={:?}", repo().join("data/train.jsonl").display().to_string());
    let mut args =
        vec!["train", "--config", config.to_str().unwrap(), "--set", &data, "--set", "model.max_prompt_tokens=850"];
    args.extend(extra);
    Command::new(env!("CARGO_BIN_EXE_recode")).args(&args).current_dir(dir).output().expect("run recode")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_run_writes_metrics_checkpoints_and_the_adapter_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = train(dir.path(), &["--set", "steps=2", "--set", "checkpoint.every=1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = dir.path().join("runs/tiny");
    for file in [
        "config.toml",
        "metrics.jsonl",
        "completions.jsonl",
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
    ] {
        assert!(run.join(file).is_file(), "missing {file}");
    }
    assert!(run.join("checkpoints/step-000002/optimizer.safetensors").is_file());
    assert_eq!(recode_rl::read_metrics(&run.join("metrics.jsonl")).unwrap().len(), 2);
    // 8 completions per step (P = 2, G = 4), each logged with its rewards and advantage.
    let completions = std::fs::read_to_string(run.join("completions.jsonl")).unwrap();
    assert_eq!(completions.lines().count(), 16);

    // Resume with the run's own config.toml, two more steps.
    let out = Command::new(env!("CARGO_BIN_EXE_recode"))
        .args(["train", "--resume", "runs/tiny", "--set", "steps=4"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("resuming after step 2"), "{}", stderr(&out));
    let steps: Vec<u64> = recode_rl::read_metrics(&run.join("metrics.jsonl")).unwrap().iter().map(|m| m.step).collect();
    assert_eq!(steps, vec![1, 2, 3, 4]);
}

#[test]
fn bad_configs_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    for (set, expected) in [
        ("algorithm.group_size=1", "algorithm.group_size"),
        ("algorithm.micro_batch_size=3", "not divisible by micro_batch_size = 3"),
        ("data.train=\"no/such.jsonl\"", "no/such.jsonl does not exist"),
        ("algorithm.eps_hi=0.3", "unknown key"),
    ] {
        let out = train(dir.path(), &["--set", set]);
        assert_eq!(out.status.code(), Some(2), "{set}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{set}: {}", stderr(&out));
        assert!(stderr(&out).contains("nothing was trained"));
        assert!(!dir.path().join("runs").exists(), "{set}: a refused config must not create the run directory");
    }
}
