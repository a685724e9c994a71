//! The tensor side of GRPO / DAPO / SFT: the training loop ([`Trainer`]), its steps and
//! checkpoints.
//!
//! The loss is defined once, in plain f64, by `recode-rl` (clipped surrogate, dual clip, k3 KL,
//! aggregation weights), which also returns `∂L/∂logp_t` for every token. A step here computes
//! the completion log-probabilities with the model, hands their values to that reference, and
//! back-propagates `Σ_t g_t · logp_t` with the returned `g_t` held constant: by the chain rule
//! its gradient with respect to the adapter parameters is exactly `∂L/∂θ`. So the clipping and
//! aggregation rules cannot drift between the tested reference and the trainer.
pub mod checkpoint;
pub mod optim;
pub mod step;
pub mod trainer;

pub use checkpoint::{CheckpointError, TrainerState};
pub use optim::{AdamW, AdamWConfig, AdamWState};
pub use step::{Backprop, Rollouts, StepError, StepReport, policy_gradient, sft_gradient};
pub use trainer::{StepOutcome, TrainError, Trainer, sft_target};
