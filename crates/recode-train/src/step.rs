//! One policy-gradient step: log-probabilities → reference loss → gradients, over micro-batches.
use candle_core::{DType, Tensor, Var};
use recode_models::{CausalLm, ForwardMode, LogProbGraph, ModelError, sequence_log_probs};
use recode_rl::{LossAggregation, LossInput, LossReport, LossSettings, aggregation_weights, policy_loss_weighted};

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error("loss: {0}")]
    Loss(String),
}

/// How a step's backward pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backprop {
    /// Rows per forward/backward pass; gradients are summed over the micro-batches.
    pub micro_batch: usize,
    /// Where the adapter dropout masks are drawn from.
    pub dropout_seed: u64,
    /// Recompute each layer's activations in the backward pass (see [`LogProbGraph`]).
    pub checkpointed: bool,
}

/// A batch of sampled completions with their advantages (one per completion).
#[derive(Debug, Clone)]
pub struct Rollouts {
    pub prompts: Vec<Vec<u32>>,
    pub completions: Vec<Vec<u32>>,
    /// Sampling-time log-probabilities (π_old); `None` = the current policy's (μ = 1).
    pub old_log_probs: Option<Vec<Vec<f32>>>,
    pub advantages: Vec<f64>,
    /// Per completion: false masks the whole row out of the loss (e.g. truncated rows).
    pub keep: Vec<bool>,
}

impl Rollouts {
    /// The rows `range` as a batch of their own.
    pub fn rows(&self, range: std::ops::Range<usize>) -> Rollouts {
        Rollouts {
            prompts: self.prompts[range.clone()].to_vec(),
            completions: self.completions[range.clone()].to_vec(),
            old_log_probs: self.old_log_probs.as_ref().map(|old| old[range.clone()].to_vec()),
            advantages: self.advantages[range.clone()].to_vec(),
            keep: self.keep[range].to_vec(),
        }
    }
}

/// What one step computed, summed or averaged over its micro-batches.
#[derive(Debug, Clone, Default)]
pub struct StepReport {
    pub loss: f64,
    pub policy_loss: f64,
    pub kl_loss: f64,
    /// Mean k3 KL per token (when β > 0).
    pub mean_kl: Option<f64>,
    pub clip_fraction_low: f64,
    pub clip_fraction_high: f64,
    pub clip_fraction_dual: f64,
    pub mean_entropy: f64,
    pub tokens: usize,
}

/// Gradients of the policy loss with respect to `vars`, accumulated over the micro-batches of
/// `plan`. Returns one gradient per var (zeros where the loss does not reach it).
pub fn policy_gradient(
    model: &CausalLm,
    vars: &[Var],
    rollouts: &Rollouts,
    settings: &LossSettings,
    pad_id: u32,
    plan: Backprop,
) -> Result<(Vec<Tensor>, StepReport), StepError> {
    let mask: Vec<Vec<bool>> =
        rollouts.completions.iter().zip(&rollouts.keep).map(|(c, &keep)| vec![keep; c.len()]).collect();
    // The whole batch's weights, so micro-batch losses add up to the batch loss.
    let weights = aggregation_weights(settings.aggregation, &mask, settings.norm_length).map_err(loss_err)?;
    let mut report = StepReport::default();
    let (mut kl_weighted, mut low, mut high, mut dual) = (0.0, 0.0, 0.0, 0.0);
    let grads = backprop_micro_batches(
        model,
        vars,
        &rollouts.prompts,
        &rollouts.completions,
        pad_id,
        plan,
        &mut report,
        |rows, logp| {
            let ref_logp = if settings.beta > 0.0 {
                let reference = sequence_log_probs(
                    model,
                    &rollouts.prompts[rows.clone()],
                    &rollouts.completions[rows.clone()],
                    pad_id,
                    ForwardMode::REFERENCE,
                )?;
                Some(rows_f64(&reference.log_probs, &rollouts.completions[rows.clone()])?)
            } else {
                None
            };
            let old_logp = match &rollouts.old_log_probs {
                Some(old) => old[rows.clone()].iter().map(|r| r.iter().map(|&v| v as f64).collect()).collect(),
                None => logp.clone(),
            };
            let input = LossInput {
                logp,
                old_logp,
                ref_logp,
                mask: mask[rows.clone()].to_vec(),
                advantages: rollouts.advantages[rows.clone()].to_vec(),
            };
            let part: LossReport = policy_loss_weighted(&input, settings, &weights[rows]).map_err(loss_err)?;
            let tokens = part.tokens as f64;
            kl_weighted += part.mean_kl.unwrap_or(0.0) * tokens;
            low += part.clip_fraction_low * tokens;
            high += part.clip_fraction_high * tokens;
            dual += part.clip_fraction_dual * tokens;
            Ok(Partial {
                grad_logp: part.grad_logp,
                loss: part.loss,
                policy_loss: part.policy_loss,
                kl_loss: part.kl_loss,
                tokens: part.tokens,
            })
        },
    )?;
    let tokens = report.tokens.max(1) as f64;
    report.mean_kl = (settings.beta > 0.0).then_some(kl_weighted / tokens);
    report.clip_fraction_low = low / tokens;
    report.clip_fraction_high = high / tokens;
    report.clip_fraction_dual = dual / tokens;
    Ok((grads, report))
}

/// Gradients of supervised fine-tuning's loss (mean negative log-likelihood of every
/// completion token of the batch, see [`recode_rl::sft_loss`]), accumulated over micro-batches.
pub fn sft_gradient(
    model: &CausalLm,
    vars: &[Var],
    prompts: &[Vec<u32>],
    targets: &[Vec<u32>],
    pad_id: u32,
    plan: Backprop,
) -> Result<(Vec<Tensor>, StepReport), StepError> {
    let mask: Vec<Vec<bool>> = targets.iter().map(|t| vec![true; t.len()]).collect();
    let weights = aggregation_weights(LossAggregation::TokenMean, &mask, 1).map_err(loss_err)?;
    let mut report = StepReport::default();
    let grads = backprop_micro_batches(model, vars, prompts, targets, pad_id, plan, &mut report, |rows, logp| {
        let weights = &weights[rows];
        let loss = -logp.iter().zip(weights).flat_map(|(l, w)| l.iter().zip(w).map(|(l, w)| l * w)).sum::<f64>();
        let grad_logp = weights.iter().map(|row| row.iter().map(|w| -w).collect()).collect();
        Ok(Partial { grad_logp, loss, policy_loss: loss, kl_loss: 0.0, tokens: logp.iter().map(Vec::len).sum() })
    })?;
    Ok((grads, report))
}

fn loss_err(e: impl std::fmt::Display) -> StepError {
    StepError::Loss(e.to_string())
}

/// What a loss returns for one micro-batch: `∂L/∂logp` per token and its share of the loss.
struct Partial {
    grad_logp: Vec<Vec<f64>>,
    loss: f64,
    policy_loss: f64,
    kl_loss: f64,
    tokens: usize,
}

/// For each micro-batch: the completion log-probs (train mode), the loss's `∂L/∂logp` from
/// `loss_of(rows, logp)`, then the backward pass of `Σ g·logp` with `g` held constant — whose
/// gradient is the loss's. Sums the gradients of `vars` and fills the report's totals.
#[allow(clippy::too_many_arguments)]
fn backprop_micro_batches(
    model: &CausalLm,
    vars: &[Var],
    prompts: &[Vec<u32>],
    completions: &[Vec<u32>],
    pad_id: u32,
    plan: Backprop,
    report: &mut StepReport,
    mut loss_of: impl FnMut(std::ops::Range<usize>, Vec<Vec<f64>>) -> Result<Partial, StepError>,
) -> Result<Vec<Tensor>, StepError> {
    let n = completions.len();
    let micro_batch = plan.micro_batch.max(1);
    let mut grads: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().zeros_like()).collect::<Result<_, _>>()?;
    let mut entropy_sum = 0.0;
    for start in (0..n).step_by(micro_batch) {
        let rows = start..(start + micro_batch).min(n);
        let mode = ForwardMode::train_with_seed(plan.dropout_seed).next_pass(start as u64);
        let graph = LogProbGraph::forward(
            model,
            &prompts[rows.clone()],
            &completions[rows.clone()],
            pad_id,
            mode,
            plan.checkpointed,
        )?;
        let current = graph.values();
        let entropy = (current.entropy.to_dtype(DType::F64)? * current.mask.to_dtype(DType::F64)?)?.sum_all()?;
        entropy_sum += entropy.to_scalar::<f64>()?;
        let logp = rows_f64(&current.log_probs, &completions[rows.clone()])?;
        let part = loss_of(rows.clone(), logp)?;
        let width = current.log_probs.dim(1)?;
        let g: Vec<f32> = part
            .grad_logp
            .iter()
            .flat_map(|row| row.iter().map(|&v| v as f32).chain(std::iter::repeat(0.0)).take(width))
            .collect();
        let micro_grads = graph.backward(&Tensor::from_vec(g, (rows.len(), width), model.device())?, vars)?;
        for (sum, g) in grads.iter_mut().zip(micro_grads) {
            if let Some(g) = g {
                *sum = (&*sum + g)?;
            }
        }
        report.loss += part.loss;
        report.policy_loss += part.policy_loss;
        report.kl_loss += part.kl_loss;
        report.tokens += part.tokens;
    }
    let all_tokens: usize = completions.iter().map(Vec::len).sum();
    report.mean_entropy = entropy_sum / all_tokens.max(1) as f64;
    Ok(grads)
}

/// The first `len` values of each row of a right-padded `[b, max_len]` tensor.
fn rows_f64(t: &Tensor, completions: &[Vec<u32>]) -> Result<Vec<Vec<f64>>, StepError> {
    let values = t.to_dtype(DType::F64)?.to_vec2::<f64>()?;
    Ok(values.into_iter().zip(completions).map(|(row, c)| row[..c.len()].to_vec()).collect())
}
