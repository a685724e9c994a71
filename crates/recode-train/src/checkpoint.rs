//! Checkpoints: everything a run needs to continue exactly, in one directory written atomically.
//!
//! ```text
//! RUN_DIR/checkpoints/step-000012/
//!   adapter_config.json, adapter_model.safetensors   the adapter, PEFT layout
//!   optimizer.safetensors                            AdamW moments (`m.{i}`, `v.{i}`)
//!   trainer_state.json                               step, AdamW step, data cursor, seed
//! ```
//!
//! The directory is filled under a temporary name and renamed into place, so a killed run
//! leaves either the whole checkpoint or none of it. Sampling needs no saved generator state:
//! each step's random streams are derived from (seed, step), see [`crate::trainer`].
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use recode_rl::CursorState;
use serde::{Deserialize, Serialize};

use crate::optim::AdamWState;

/// `trainer_state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Steps completed.
    pub step: u64,
    /// Optimizer updates applied (several per step with mini-batches or μ > 1).
    pub optimizer_step: u64,
    pub cursor: CursorState,
    /// The run's seed, checked on resume.
    pub seed: u64,
    /// Number of trainable tensors, checked on resume.
    pub trainable_tensors: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{0}: no checkpoint in it (expected step-NNNNNN directories under checkpoints/)")]
    NoneFound(PathBuf),
}

fn io(path: &Path, e: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Io { path: path.to_path_buf(), message: e.to_string() }
}

/// The directory of the checkpoint after `step` steps.
pub fn checkpoint_dir(run_dir: &Path, step: u64) -> PathBuf {
    run_dir.join("checkpoints").join(format!("step-{step:06}"))
}

/// Writes a checkpoint: `write_adapter` fills the adapter files into the directory it is
/// given, then the optimizer and trainer state are added and the whole directory is renamed to
/// [`checkpoint_dir`]. An existing checkpoint of the same step is replaced.
pub fn save(
    run_dir: &Path,
    state: &TrainerState,
    optimizer: &AdamWState,
    write_adapter: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<PathBuf, CheckpointError> {
    let final_dir = checkpoint_dir(run_dir, state.step);
    let parent = final_dir.parent().expect("checkpoint dir has a parent");
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let tmp = parent.join(format!(".step-{:06}.tmp-{}", state.step, std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    write_adapter(&tmp).map_err(|message| CheckpointError::Io { path: tmp.clone(), message })?;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for (i, (m, v)) in optimizer.first_moments.iter().zip(&optimizer.second_moments).enumerate() {
        tensors.insert(format!("m.{i}"), m.clone());
        tensors.insert(format!("v.{i}"), v.clone());
    }
    let moments = tmp.join("optimizer.safetensors");
    candle_core::safetensors::save(&tensors, &moments).map_err(|e| io(&moments, e))?;
    let state_path = tmp.join("trainer_state.json");
    let text = serde_json::to_string_pretty(state).expect("the trainer state serialises") + "\n";
    std::fs::write(&state_path, text).map_err(|e| io(&state_path, e))?;
    sync_dir(&tmp)?;
    if final_dir.exists() {
        let old = parent.join(format!(".step-{:06}.old-{}", state.step, std::process::id()));
        std::fs::rename(&final_dir, &old).map_err(|e| io(&final_dir, e))?;
        std::fs::rename(&tmp, &final_dir).map_err(|e| io(&final_dir, e))?;
        std::fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
    } else {
        std::fs::rename(&tmp, &final_dir).map_err(|e| io(&final_dir, e))?;
    }
    sync_dir(parent)?;
    Ok(final_dir)
}

/// fsyncs every file of `dir` and the directory itself, so a rename after it publishes
/// complete files.
fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if path.is_file() {
            std::fs::File::open(&path).and_then(|f| f.sync_all()).map_err(|e| io(&path, e))?;
        }
    }
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| io(dir, e))
}

/// The trainer state and optimizer moments of a checkpoint directory.
pub fn load(dir: &Path, device: &Device) -> Result<(TrainerState, AdamWState), CheckpointError> {
    let state_path = dir.join("trainer_state.json");
    let text = std::fs::read_to_string(&state_path).map_err(|e| io(&state_path, e))?;
    let state: TrainerState = serde_json::from_str(&text)
        .map_err(|e| CheckpointError::Invalid { path: state_path.clone(), message: e.to_string() })?;
    let moments_path = dir.join("optimizer.safetensors");
    let mut tensors = candle_core::safetensors::load(&moments_path, device).map_err(|e| io(&moments_path, e))?;
    let mut take = |name: String| {
        tensors.remove(&name).ok_or_else(|| CheckpointError::Invalid {
            path: moments_path.clone(),
            message: format!("missing tensor `{name}` ({} trainable tensors expected)", state.trainable_tensors),
        })
    };
    let mut first_moments = Vec::with_capacity(state.trainable_tensors);
    let mut second_moments = Vec::with_capacity(state.trainable_tensors);
    for i in 0..state.trainable_tensors {
        first_moments.push(take(format!("m.{i}"))?);
        second_moments.push(take(format!("v.{i}"))?);
    }
    if let Some(extra) = tensors.keys().min() {
        return Err(CheckpointError::Invalid {
            path: moments_path,
            message: format!("unexpected tensor `{extra}` ({} trainable tensors expected)", state.trainable_tensors),
        });
    }
    Ok((state.clone(), AdamWState { step: state.optimizer_step, first_moments, second_moments }))
}

/// `path` if it is a checkpoint, else the newest checkpoint of the run directory `path`.
pub fn resolve(path: &Path) -> Result<PathBuf, CheckpointError> {
    if path.join("trainer_state.json").is_file() {
        return Ok(path.to_path_buf());
    }
    let all = list(path)?;
    all.into_iter().next_back().map(|(_, dir)| dir).ok_or_else(|| CheckpointError::NoneFound(path.to_path_buf()))
}

/// The complete checkpoints of a run directory, oldest first.
pub fn list(run_dir: &Path) -> Result<Vec<(u64, PathBuf)>, CheckpointError> {
    let dir = run_dir.join("checkpoints");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| io(&dir, e))?.path();
        let step = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("step-"))
            .and_then(|s| s.parse().ok());
        if let Some(step) = step
            && path.join("trainer_state.json").is_file()
        {
            out.push((step, path));
        }
    }
    out.sort();
    Ok(out)
}

/// Removes all but the newest `keep` checkpoints.
pub fn prune(run_dir: &Path, keep: usize) -> Result<(), CheckpointError> {
    let all = list(run_dir)?;
    for (_, dir) in &all[..all.len().saturating_sub(keep)] {
        std::fs::remove_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    Ok(())
}
