//! `recode plot RUN_DIR` end to end: PNGs from a metrics file, and precise errors on bad ones.
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use recode_rl::{JsonlAppender, MeanStd, StepMetrics};

fn recode(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recode")).args(args).output().expect("recode runs")
}

fn step(step: u64, kl: Option<f64>) -> StepMetrics {
    let s = step as f64;
    StepMetrics {
        step,
        epoch: s / 100.0,
        completions: 8,
        reward_mean: -1.0 + 0.2 * s,
        reward_std: 0.5,
        reward_components: BTreeMap::from([
            ("format".to_string(), MeanStd { mean: -0.5 + 0.1 * s, std: 0.8 }),
            ("es_star".to_string(), MeanStd { mean: -0.5 + 0.1 * s, std: 0.4 }),
            ("total".to_string(), MeanStd { mean: -1.0 + 0.2 * s, std: 0.5 }),
        ]),
        zero_variance_group_fraction: Some(0.25),
        groups_dropped: 0,
        generation_batches: 1,
        loss: 0.01,
        clip_fraction_low: Some(0.0),
        clip_fraction_high: Some(0.0),
        clip_fraction_dual: None,
        kl: kl.map(|k| k * s),
        entropy: Some(0.9),
        grad_norm: 0.4,
        lr: 2e-4,
        prompt_tokens_mean: 300.0,
        completion_length_mean: 150.0 - s,
        completion_length_max: 192,
        truncated_fraction: 0.1,
        seconds_generating: 30.0,
        seconds_scoring: 0.2,
        seconds_training: 20.0,
    }
}

fn write_run(dir: &Path, steps: &[StepMetrics]) {
    let mut log = JsonlAppender::open(&dir.join("metrics.jsonl")).unwrap();
    for s in steps {
        log.append(s).unwrap();
    }
}

/// Width and height from a PNG's IHDR chunk (after checking the signature).
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height)
}

#[test]
fn writes_three_pngs_into_run_dir_plots() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &(1..=12).map(|s| step(s, Some(0.001))).collect::<Vec<_>>());
    let out = recode(&["plot", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let plots = dir.path().join("plots");
    let mut sizes = Vec::new();
    for name in ["reward.png", "kl.png", "length.png"] {
        let path = plots.join(name);
        assert!(stdout.contains(&path.display().to_string()), "{stdout}");
        assert_eq!(png_size(&path), (960, 540));
        sizes.push(std::fs::metadata(&path).unwrap().len());
    }
    // Three different pictures, each well above an empty canvas.
    assert!(sizes[0] != sizes[1] && sizes[1] != sizes[2], "{sizes:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("plotted 12 steps (1–12)"));
}

#[test]
fn a_run_without_kl_and_a_single_step_still_plots() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &[step(1, None)]);
    let target = dir.path().join("elsewhere/plots");
    let out = recode(&["plot", dir.path().to_str().unwrap(), "--out", target.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for name in ["reward.png", "kl.png", "length.png"] {
        assert_eq!(png_size(&target.join(name)), (960, 540));
    }
}

#[test]
fn a_bad_metrics_line_is_reported_with_file_and_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let good = serde_json::to_string(&step(1, Some(0.001))).unwrap();
    let bad = good.replace("\"reward_mean\":", "\"reward_mean\":\"high\",\"x\":");
    let metrics = dir.path().join("metrics.jsonl");
    std::fs::write(&metrics, format!("{good}\n{bad}\n")).unwrap();
    let out = recode(&["plot", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("{}:2: invalid type: string \"high\", expected f64 (column ", metrics.display())),
        "{stderr}"
    );
    assert!(!dir.path().join("plots").exists());

    std::fs::write(&metrics, format!("{good}\n{good}\n")).unwrap();
    let out = recode(&["plot", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with(&format!("{}:2: step 1 after step 1", metrics.display())), "{stderr}");
}

#[test]
fn a_missing_or_empty_metrics_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = recode(&["plot", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with(&format!("{}: No such file", dir.path().join("metrics.jsonl").display())), "{stderr}");

    std::fs::write(dir.path().join("metrics.jsonl"), "").unwrap();
    let out = recode(&["plot", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("metrics.jsonl: no metrics lines"));
}

#[test]
fn a_torn_last_line_from_a_killed_run_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &[step(1, Some(0.001)), step(2, Some(0.001))]);
    let metrics = dir.path().join("metrics.jsonl");
    let mut text = std::fs::read_to_string(&metrics).unwrap();
    text.push_str("{\"step\": 3, \"epo");
    std::fs::write(&metrics, text).unwrap();
    let out = recode(&["plot", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8(out.stderr).unwrap().contains("plotted 2 steps"));
}
