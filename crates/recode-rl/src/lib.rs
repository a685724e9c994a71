//! The tensor-free half of recode's trainer (spec §5): everything about GRPO, DAPO and SFT
//! that can be stated on plain numbers, so that it can be tested exactly.
//!
//! - [`config`]: [`TrainConfig`], read from TOML with `--set key.path=value` overrides and
//!   validated before any work starts;
//! - [`advantage`]: group-normalised advantages, DAPO dynamic sampling, overlong shaping,
//!   masking of truncated completions;
//! - [`loss`]: the clipped-surrogate + k3-KL loss in f64, the reference the tensor
//!   implementation is checked against (value, per-token gradient, clip fractions, KL);
//! - [`cursor`] and [`rng`]: the shuffled data order and a random generator whose whole
//!   state is a checkpointable `u64`;
//! - [`schedule`]: learning-rate schedules (constant, linear, cosine, with warm-up);
//! - [`metrics`]: the per-step metrics line, the completions log, JSONL append and
//!   resume-time truncation;
//! - [`plot`]: PNG plots of a run's metrics (`recode plot`).

pub mod advantage;
pub mod config;
pub mod cursor;
pub mod loss;
pub mod metrics;
pub mod plot;
pub mod reward;
pub mod rng;
pub mod schedule;

pub use advantage::{
    Advantages, DynamicBatch, DynamicOutcome, DynamicStatus, GroupFilter, ShapeError, group_advantages,
    overlong_penalty, truncation_mask, variance_filter,
};
pub use config::{
    AdapterKind, Algorithm, AlgorithmConfig, CheckpointConfig, ConfigError, DataConfig, DynamicSamplingMetric,
    LoggingConfig, LoraConfig, LossAggregation, ModelConfig, ModelSource, OptimConfig, OverlongConfig, Problem,
    RewardConfig, SamplingConfig, ScaleRewards, Schedule, TINY_MODEL, TinyModelConfig, TrainConfig,
};
pub use cursor::{CursorError, CursorState, DataCursor};
pub use loss::{
    LossError, LossInput, LossReport, LossSettings, aggregation_weights, policy_loss, policy_loss_weighted, sft_loss,
};
pub use metrics::{
    CompletionRecord, JsonlAppender, MeanStd, MetricsError, StepMetrics, read_metrics, truncate_after_step,
};
pub use reward::{Correctness, Reward};
pub use rng::Rng;
pub use schedule::{lr_at, lr_multiplier};
