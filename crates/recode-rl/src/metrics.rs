//! What a run records: one [`StepMetrics`] JSON line per step in `metrics.jsonl`, one
//! [`CompletionRecord`] per sampled completion in `completions.jsonl`. Lines are appended and
//! flushed as they are produced, so a killed run keeps every finished step; on resume,
//! [`truncate_after_step`] drops the lines of steps after the checkpoint (they will be redone).
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Mean and population standard deviation (divides by n) of a set of values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
}

impl MeanStd {
    /// Of `values`; an empty slice gives 0 and 0.
    pub fn of(values: &[f64]) -> MeanStd {
        if values.is_empty() {
            return MeanStd::default();
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        MeanStd { mean, std: var.sqrt() }
    }
}

/// One line of `metrics.jsonl`: what happened in one optimizer step. Fields that do not apply
/// (KL without a reference pass, clipping in SFT) are `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// 1-based step number.
    pub step: u64,
    /// Epochs of training data consumed so far (e.g. 1.25).
    pub epoch: f64,
    /// Completions trained on this step.
    pub completions: usize,
    /// Mean of the total reward over the step's completions (all generated ones, before
    /// dynamic sampling drops any).
    pub reward_mean: f64,
    /// Population standard deviation of the total reward.
    pub reward_std: f64,
    /// Mean and std of each component (`format`, `es_star`, `overlong`, …, `total`).
    pub reward_components: BTreeMap<String, MeanStd>,
    /// Fraction of the trained groups whose rewards were all equal (zero advantages).
    pub zero_variance_group_fraction: Option<f64>,
    /// Groups dropped by dynamic sampling (0 without it).
    pub groups_dropped: usize,
    /// Generation batches sampled this step (1 without dynamic sampling).
    pub generation_batches: usize,
    /// The loss of the last optimisation pass.
    pub loss: f64,
    pub clip_fraction_low: Option<f64>,
    pub clip_fraction_high: Option<f64>,
    pub clip_fraction_dual: Option<f64>,
    /// Mean k3 KL to the reference per token; `null` when β = 0 (no reference pass) or SFT.
    pub kl: Option<f64>,
    /// Mean per-token entropy of the policy on the completions.
    pub entropy: Option<f64>,
    /// Global L2 norm of the gradient before clipping.
    pub grad_norm: f64,
    /// Learning rate of the step's (last) update.
    pub lr: f64,
    /// Mean prompt length in tokens of the step's completions (what every row attends to).
    #[serde(default)]
    pub prompt_tokens_mean: f64,
    /// Completion length in tokens.
    pub completion_length_mean: f64,
    pub completion_length_max: usize,
    /// Fraction of completions stopped by `max_new_tokens`.
    pub truncated_fraction: f64,
    pub seconds_generating: f64,
    pub seconds_scoring: f64,
    pub seconds_training: f64,
}

/// One line of `completions.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionRecord {
    pub step: u64,
    /// The training item's `id`.
    pub prompt_id: String,
    /// Index of the completion within its group (0..G).
    pub sample: usize,
    /// The generated text (after the prompt's prefilled `<think>`).
    pub completion: String,
    /// Reward components and `total` (see [`crate::Reward::components`]).
    pub rewards: BTreeMap<String, f64>,
    /// The completion's advantage; `null` for a group dropped by dynamic sampling.
    pub advantage: Option<f64>,
    /// Tokens generated.
    pub length: usize,
    /// Stopped at `max_new_tokens`.
    pub truncated: bool,
}

/// Problems reading or writing a JSONL log; every one names the file (and line).
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Line { path: PathBuf, line: usize, message: String },
    #[error("{0}: no metrics lines (has the run finished a step?)")]
    Empty(PathBuf),
}

/// An append-only JSONL file: each record is written as one line and flushed at once.
#[derive(Debug)]
pub struct JsonlAppender {
    path: PathBuf,
    file: File,
}

impl JsonlAppender {
    /// Opens `path` for appending, creating it (not its directory) if needed.
    pub fn open(path: &Path) -> Result<Self, MetricsError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| MetricsError::Io { path: path.to_path_buf(), source })?;
        Ok(JsonlAppender { path: path.to_path_buf(), file })
    }

    pub fn append<T: Serialize>(&mut self, record: &T) -> Result<(), MetricsError> {
        let mut line = serde_json::to_string(record).map_err(|e| MetricsError::Io {
            path: self.path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        line.push('\n');
        // One write per line: a kill can leave at most one torn last line.
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .map_err(|source| MetricsError::Io { path: self.path.clone(), source })
    }
}

/// serde_json's message without its "at line 1 column N" (one JSONL line is one JSON line),
/// with the column kept.
fn json_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let message = text.rsplit_once(" at line ").map(|(m, _)| m).unwrap_or(&text);
    format!("{message} (column {})", error.column())
}

/// Reads every line of a `metrics.jsonl`. A line that is not a [`StepMetrics`] is an error
/// naming `file:line`; so are steps that do not increase. An unterminated last line (a run
/// killed while writing it) is skipped. Blank lines are errors.
pub fn read_metrics(path: &Path) -> Result<Vec<StepMetrics>, MetricsError> {
    let bytes = std::fs::read(path).map_err(|source| MetricsError::Io { path: path.to_path_buf(), source })?;
    let mut out: Vec<StepMetrics> = Vec::new();
    for (line_no, line, terminated) in lines(&bytes) {
        let error = |message: String| MetricsError::Line { path: path.to_path_buf(), line: line_no, message };
        let metrics: StepMetrics = match serde_json::from_slice(line) {
            Ok(m) => m,
            Err(_) if !terminated => break,
            Err(e) => return Err(error(json_message(&e))),
        };
        if let Some(previous) = out.last()
            && metrics.step <= previous.step
        {
            return Err(error(format!("step {} after step {}: steps must increase", metrics.step, previous.step)));
        }
        out.push(metrics);
    }
    if out.is_empty() {
        return Err(MetricsError::Empty(path.to_path_buf()));
    }
    Ok(out)
}

/// `(1-based line number, line without '\n', terminated by '\n')`.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8], bool)> {
    let mut rest = bytes;
    let mut n = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        n += 1;
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let line = &rest[..i];
                rest = &rest[i + 1..];
                Some((n, line, true))
            }
            None => {
                let line = rest;
                rest = &[];
                Some((n, line, false))
            }
        }
    })
}

/// Prepares a JSONL log (metrics or completions: any lines with a `step` field) for resuming
/// after `last_step`: keeps the lines with `step ≤ last_step`, drops the rest and an
/// unterminated last line, and rewrites the file atomically. Returns the number of lines
/// dropped. A missing file is left missing (0).
pub fn truncate_after_step(path: &Path, last_step: u64) -> Result<usize, MetricsError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(MetricsError::Io { path: path.to_path_buf(), source }),
    };
    #[derive(Deserialize)]
    struct Step {
        step: u64,
    }
    let mut kept = Vec::with_capacity(bytes.len());
    let mut dropped = 0;
    for (line_no, line, terminated) in lines(&bytes) {
        match serde_json::from_slice::<Step>(line) {
            Ok(s) if s.step <= last_step => {
                kept.extend_from_slice(line);
                kept.push(b'\n');
            }
            Ok(_) => dropped += 1,
            Err(_) if !terminated => dropped += 1,
            Err(e) => {
                return Err(MetricsError::Line { path: path.to_path_buf(), line: line_no, message: json_message(&e) });
            }
        }
    }
    if dropped > 0 {
        recode_data::write_atomic(path, &kept)
            .map_err(|source| MetricsError::Io { path: path.to_path_buf(), source })?;
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(step: u64) -> StepMetrics {
        StepMetrics {
            step,
            epoch: step as f64 / 10.0,
            completions: 8,
            reward_mean: 0.5 * step as f64,
            reward_std: 1.0,
            reward_components: BTreeMap::from([
                ("format".to_string(), MeanStd { mean: 0.5, std: 0.5 }),
                ("total".to_string(), MeanStd { mean: 0.5 * step as f64, std: 1.0 }),
            ]),
            zero_variance_group_fraction: Some(0.5),
            groups_dropped: 0,
            generation_batches: 1,
            loss: 0.01,
            clip_fraction_low: Some(0.0),
            clip_fraction_high: Some(0.0),
            clip_fraction_dual: None,
            kl: Some(0.001 * step as f64),
            entropy: Some(1.5),
            grad_norm: 0.3,
            lr: 5e-5,
            prompt_tokens_mean: 300.0,
            completion_length_mean: 100.0,
            completion_length_max: 128,
            truncated_fraction: 0.125,
            seconds_generating: 10.0,
            seconds_scoring: 0.1,
            seconds_training: 5.0,
        }
    }

    #[test]
    fn mean_std_is_the_population_one() {
        assert_eq!(MeanStd::of(&[1.0, 3.0]), MeanStd { mean: 2.0, std: 1.0 });
        assert_eq!(MeanStd::of(&[]), MeanStd::default());
    }

    #[test]
    fn appended_lines_read_back_and_resume_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let mut log = JsonlAppender::open(&path).unwrap();
        for step in 1..=5 {
            log.append(&sample(step)).unwrap();
        }
        drop(log);
        let read = read_metrics(&path).unwrap();
        assert_eq!(read, (1..=5).map(sample).collect::<Vec<_>>());

        // A torn last line (killed mid-write) is ignored by the reader and dropped on resume.
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"step\": 6, \"epo").unwrap();
        assert_eq!(read_metrics(&path).unwrap().len(), 5);
        assert_eq!(truncate_after_step(&path, 3).unwrap(), 3);
        let steps: Vec<u64> = read_metrics(&path).unwrap().iter().map(|m| m.step).collect();
        assert_eq!(steps, [1, 2, 3]);
        let mut log = JsonlAppender::open(&path).unwrap();
        log.append(&sample(4)).unwrap();
        assert_eq!(read_metrics(&path).unwrap().len(), 4);
        assert_eq!(truncate_after_step(&dir.path().join("absent.jsonl"), 3).unwrap(), 0);
    }

    #[test]
    fn bad_lines_are_reported_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let good = serde_json::to_string(&sample(1)).unwrap();
        std::fs::write(&path, format!("{good}\n{{\"step\": 2}}\n")).unwrap();
        let err = read_metrics(&path).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:2: missing field `epoch`", path.display())), "{err}");

        std::fs::write(&path, format!("{good}\n{good}\n")).unwrap();
        let err = read_metrics(&path).unwrap_err().to_string();
        assert!(err.ends_with(":2: step 1 after step 1: steps must increase"), "{err}");

        std::fs::write(&path, "").unwrap();
        assert!(matches!(read_metrics(&path), Err(MetricsError::Empty(_))));

        std::fs::write(&path, format!("{good}\nnot json\n")).unwrap();
        let err = truncate_after_step(&path, 0).unwrap_err().to_string();
        assert!(err.contains("metrics.jsonl:2: expected ident"), "{err}");
    }

    #[test]
    fn completion_records_round_trip() {
        let record = CompletionRecord {
            step: 3,
            prompt_id: "numpy-001".into(),
            sample: 2,
            completion: "x</think><answer>…</answer>".into(),
            rewards: BTreeMap::from([("format".into(), 1.0), ("total".into(), 2.5)]),
            advantage: Some(0.7),
            length: 12,
            truncated: false,
        };
        let line = serde_json::to_string(&record).unwrap();
        assert_eq!(serde_json::from_str::<CompletionRecord>(&line).unwrap(), record);
    }
}
