//! Learning-rate schedules as pure functions of the optimizer step, written to match Hugging
//! Face `transformers` (`get_{constant,linear,cosine}_schedule_with_warmup`, which TRL uses)
//! and verl (same shapes, plus a floor `min_lr_ratio` for cosine).
//!
//! `step` is the 0-based index of the optimizer update about to be applied: update 0 uses
//! `lr_multiplier(.., 0, ..)`. As in both libraries, the warm-up starts at 0, so with
//! `warmup_steps > 0` the first update has learning rate 0.
use serde::{Deserialize, Serialize};

/// The shape after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Flat at the base rate.
    Constant,
    /// Straight down to the floor at `total_steps`.
    Linear,
    /// Half a cosine down to the floor at `total_steps` (the paper's).
    Cosine,
}

/// Factor applied to the base learning rate at update `step` (0-based) of `total_steps`:
///
/// - warm-up, `step < warmup_steps`: `step / warmup_steps`;
/// - then, with `progress = (step − warmup) / max(1, total − warmup)` and floor `m = min_lr_ratio`:
///   constant `1`; linear `m + (1 − m) · max(0, 1 − progress)`;
///   cosine `m + (1 − m) · max(0, ½ (1 + cos(π · progress)))`.
///
/// With `m = 0` these are exactly the `transformers` functions.
pub fn lr_multiplier(schedule: Schedule, step: u64, warmup_steps: u64, total_steps: u64, min_lr_ratio: f64) -> f64 {
    if step < warmup_steps {
        return step as f64 / warmup_steps.max(1) as f64;
    }
    let progress = (step - warmup_steps) as f64 / total_steps.saturating_sub(warmup_steps).max(1) as f64;
    let shape = match schedule {
        Schedule::Constant => return 1.0,
        Schedule::Linear => (1.0 - progress).max(0.0),
        Schedule::Cosine => (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())).max(0.0),
    };
    min_lr_ratio + (1.0 - min_lr_ratio) * shape
}

/// `base_lr × lr_multiplier(..)`.
pub fn lr_at(
    base_lr: f64,
    schedule: Schedule,
    step: u64,
    warmup_steps: u64,
    total_steps: u64,
    min_lr_ratio: f64,
) -> f64 {
    base_lr * lr_multiplier(schedule, step, warmup_steps, total_steps, min_lr_ratio)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn warmup_is_linear_from_zero() {
        for schedule in [Schedule::Constant, Schedule::Linear, Schedule::Cosine] {
            assert_eq!(lr_multiplier(schedule, 0, 4, 10, 0.0), 0.0);
            assert!(close(lr_multiplier(schedule, 1, 4, 10, 0.0), 0.25));
            assert!(close(lr_multiplier(schedule, 3, 4, 10, 0.0), 0.75));
            assert!(close(lr_multiplier(schedule, 4, 4, 10, 0.0), 1.0));
        }
    }

    #[test]
    fn cosine_matches_the_transformers_formula() {
        // warmup 150 of 5000 (the paper): halfway through the decay the factor is 0.5.
        let mid = 150 + (5000 - 150) / 2;
        assert!(close(lr_multiplier(Schedule::Cosine, mid, 150, 5000, 0.0), 0.5));
        // progress 1/3 → ½(1 + cos(π/3)) = 0.75.
        assert!(close(lr_multiplier(Schedule::Cosine, 2 + 3, 2, 11, 0.0), 0.75));
        assert!(close(lr_multiplier(Schedule::Cosine, 5000, 150, 5000, 0.0), 0.0));
        assert!(close(lr_at(5e-5, Schedule::Cosine, 150, 150, 5000, 0.0), 5e-5));
    }

    #[test]
    fn linear_decays_to_zero_and_stays() {
        assert!(close(lr_multiplier(Schedule::Linear, 6, 2, 10, 0.0), 0.5));
        assert_eq!(lr_multiplier(Schedule::Linear, 10, 2, 10, 0.0), 0.0);
        assert_eq!(lr_multiplier(Schedule::Linear, 12, 2, 10, 0.0), 0.0);
    }

    #[test]
    fn floor_applies_after_warmup_only() {
        assert!(close(lr_multiplier(Schedule::Cosine, 10, 0, 10, 0.1), 0.1));
        assert!(close(lr_multiplier(Schedule::Linear, 5, 0, 10, 0.1), 0.55));
        assert_eq!(lr_multiplier(Schedule::Cosine, 0, 2, 10, 0.1), 0.0);
    }

    #[test]
    fn constant_without_warmup_is_flat() {
        for step in [0, 1, 999] {
            assert_eq!(lr_multiplier(Schedule::Constant, step, 0, 10, 0.0), 1.0);
        }
    }
}
