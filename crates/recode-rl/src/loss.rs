//! The GRPO / DAPO loss in plain f64 (spec §5): the reference the tensor implementation is
//! checked against, and the definition of every number the metrics report about it.
//!
//! Per token `t` of completion `i` (advantage `A_i`), with `ρ = exp(logp − old_logp)`:
//!
//! - surrogate `s = max(−A·ρ, −A·clip(ρ, 1 − ε_low, 1 + ε_high))`;
//! - dual clip (verl's `clip_ratio_c = c`, only where `A < 0`): `s = min(s, −A·c)`;
//! - k3 KL to the reference: `k = exp(ref − logp) − (ref − logp) − 1`;
//! - token loss `ℓ = s + β·k`, and the batch loss `L = Σ w_t · ℓ_t` with the aggregation
//!   weights of [`aggregation_weights`].
//!
//! Writing the aggregation as fixed per-token weights computed over the *whole* batch makes
//! gradient accumulation exact: summing `Σ w_t ℓ_t` over micro-batches with the full batch's
//! weights gives the full-batch loss and gradient, whatever the micro-batch size.
use serde::{Deserialize, Serialize};

/// How token losses become one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossAggregation {
    /// Mean over every unmasked token of the batch: `w_t = 1 / Σ mask`. DAPO (verl
    /// `token-mean`; TRL `loss_type = "dapo"` / `"bnpo"`).
    TokenMean,
    /// Mean over sequences of each sequence's token mean: `w_t = 1 / (rows · len_i)`. The
    /// original GRPO (verl `seq-mean-token-mean`; TRL `loss_type = "grpo"`). Rows whose mask is
    /// all false still count in `rows`, as in TRL.
    SeqMeanTokenMean,
    /// Token sums divided by a constant: `w_t = 1 / (rows · L)` with `L` the config's
    /// `loss_norm_length` (default `max_new_tokens`). Dr. GRPO (verl
    /// `seq-mean-token-sum-norm`; TRL `loss_type = "dr_grpo"`).
    SeqMeanTokenSumNorm,
}

/// The loss knobs (from `[algorithm]` of the config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossSettings {
    pub eps_low: f64,
    pub eps_high: f64,
    /// `c` of the dual clip, `None` for none.
    pub dual_clip: Option<f64>,
    /// KL coefficient β.
    pub beta: f64,
    pub aggregation: LossAggregation,
    /// `L` of [`LossAggregation::SeqMeanTokenSumNorm`].
    pub norm_length: usize,
}

/// One batch, row `i` a completion: per-token log-probabilities under the current policy
/// (`logp`), at sampling time (`old_logp`, = `logp` when μ = 1) and under the reference
/// (`ref_logp`, adapters off; needed when β > 0, optional otherwise: given, it yields the KL
/// metric). Rows may differ in length; `mask[i][t]` false excludes a token (padding, or a
/// truncated row under `mask_truncated`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LossInput {
    pub logp: Vec<Vec<f64>>,
    pub old_logp: Vec<Vec<f64>>,
    pub ref_logp: Option<Vec<Vec<f64>>>,
    pub mask: Vec<Vec<bool>>,
    pub advantages: Vec<f64>,
}

/// The loss and what it saw.
#[derive(Debug, Clone, PartialEq)]
pub struct LossReport {
    /// `L = policy_loss + kl_loss`.
    pub loss: f64,
    /// `Σ w_t s_t`.
    pub policy_loss: f64,
    /// `β Σ w_t k_t`.
    pub kl_loss: f64,
    /// Mean of `k_t` over unmasked tokens (the logged KL); `None` without `ref_logp`.
    pub mean_kl: Option<f64>,
    /// Fraction of unmasked tokens with `ρ < 1 − ε_low` and `A < 0` (the lower clip is active:
    /// no gradient), as TRL's `clip_ratio/low_mean`.
    pub clip_fraction_low: f64,
    /// Fraction with `ρ > 1 + ε_high` and `A > 0` (TRL's `clip_ratio/high_mean`).
    pub clip_fraction_high: f64,
    /// Fraction where the dual clip bound `−A·c` is the loss (`A < 0`, `ρ > c`).
    pub clip_fraction_dual: f64,
    /// Unmasked tokens.
    pub tokens: usize,
    /// `∂L/∂logp_t` for every token (0 where masked), holding `old_logp` and `ref_logp`
    /// fixed: what backpropagation into the log-probabilities must produce. At a clip bound
    /// exactly the gradient passes (torch's `clamp` is inclusive).
    pub grad_logp: Vec<Vec<f64>>,
}

/// Inputs that do not fit together.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LossError {
    #[error("{what} has {got} rows but logp has {expected}")]
    Rows { what: &'static str, got: usize, expected: usize },
    #[error("row {row}: {what} has {got} tokens but logp has {expected}")]
    Tokens { row: usize, what: &'static str, got: usize, expected: usize },
    #[error("kl_beta is {0} but no reference log-probabilities were given")]
    MissingReference(f64),
    #[error("row {row} token {token}: {what} is {value}, not finite")]
    NotFinite { row: usize, token: usize, what: &'static str, value: f64 },
    #[error("advantage {row} is {value}, not finite")]
    AdvantageNotFinite { row: usize, value: f64 },
    #[error("loss_norm_length must be at least 1 for seq-mean-token-sum-norm")]
    ZeroNormLength,
}

/// Per-token weights `w` of the aggregation (see [`LossAggregation`]): `L = Σ w_t ℓ_t`.
/// Masked tokens get 0. A batch without unmasked tokens gets all zeros.
pub fn aggregation_weights(
    aggregation: LossAggregation,
    mask: &[Vec<bool>],
    norm_length: usize,
) -> Result<Vec<Vec<f64>>, LossError> {
    let rows = mask.len().max(1) as f64;
    let total: usize = mask.iter().map(|row| row.iter().filter(|m| **m).count()).sum();
    if aggregation == LossAggregation::SeqMeanTokenSumNorm && norm_length == 0 {
        return Err(LossError::ZeroNormLength);
    }
    Ok(mask
        .iter()
        .map(|row| {
            let len = row.iter().filter(|m| **m).count();
            let w = match aggregation {
                LossAggregation::TokenMean => 1.0 / total.max(1) as f64,
                LossAggregation::SeqMeanTokenMean => 1.0 / (rows * len.max(1) as f64),
                LossAggregation::SeqMeanTokenSumNorm => 1.0 / (rows * norm_length as f64),
            };
            row.iter().map(|&m| if m { w } else { 0.0 }).collect()
        })
        .collect())
}

/// The loss of a whole batch (weights from [`aggregation_weights`] over this batch).
pub fn policy_loss(input: &LossInput, settings: &LossSettings) -> Result<LossReport, LossError> {
    check(input, settings)?;
    let weights = aggregation_weights(settings.aggregation, &input.mask, settings.norm_length)?;
    policy_loss_weighted(input, settings, &weights)
}

/// The loss with given weights, e.g. one micro-batch's rows with their slice of the full
/// batch's weights: the micro-batch losses then add up to the batch loss. The fractions and
/// `mean_kl` are over this input's tokens.
pub fn policy_loss_weighted(
    input: &LossInput,
    settings: &LossSettings,
    weights: &[Vec<f64>],
) -> Result<LossReport, LossError> {
    check(input, settings)?;
    if weights.len() != input.logp.len() {
        return Err(LossError::Rows { what: "weights", got: weights.len(), expected: input.logp.len() });
    }
    let (mut policy, mut kl_term, mut kl_sum) = (0.0, 0.0, 0.0);
    let (mut low, mut high, mut dual, mut tokens) = (0usize, 0usize, 0usize, 0usize);
    let mut grad_logp = Vec::with_capacity(input.logp.len());
    for (i, logp_row) in input.logp.iter().enumerate() {
        if weights[i].len() != logp_row.len() {
            return Err(LossError::Tokens { row: i, what: "weights", got: weights[i].len(), expected: logp_row.len() });
        }
        let a = input.advantages[i];
        let mut grad_row = vec![0.0; logp_row.len()];
        for (t, &logp) in logp_row.iter().enumerate() {
            if !input.mask[i][t] {
                continue;
            }
            tokens += 1;
            let w = weights[i][t];
            let ratio = (logp - input.old_logp[i][t]).exp();
            let clipped_ratio = ratio.clamp(1.0 - settings.eps_low, 1.0 + settings.eps_high);
            let unclipped_loss = -a * ratio;
            let clipped_loss = -a * clipped_ratio;
            let (mut surrogate, mut d_surrogate) =
                if unclipped_loss >= clipped_loss { (unclipped_loss, -a * ratio) } else { (clipped_loss, 0.0) };
            if ratio < 1.0 - settings.eps_low && a < 0.0 {
                low += 1;
            }
            if ratio > 1.0 + settings.eps_high && a > 0.0 {
                high += 1;
            }
            if let Some(c) = settings.dual_clip
                && a < 0.0
                && surrogate > -a * c
            {
                surrogate = -a * c;
                d_surrogate = 0.0;
                dual += 1;
            }
            policy += w * surrogate;
            let mut d_kl = 0.0;
            if let Some(reference) = &input.ref_logp {
                let delta = reference[i][t] - logp;
                let k3 = delta.exp() - delta - 1.0;
                kl_sum += k3;
                kl_term += w * settings.beta * k3;
                d_kl = settings.beta * (1.0 - delta.exp());
            }
            grad_row[t] = w * (d_surrogate + d_kl);
        }
        grad_logp.push(grad_row);
    }
    let per_token = |n: usize| if tokens == 0 { 0.0 } else { n as f64 / tokens as f64 };
    Ok(LossReport {
        loss: policy + kl_term,
        policy_loss: policy,
        kl_loss: kl_term,
        mean_kl: input.ref_logp.as_ref().map(|_| if tokens == 0 { 0.0 } else { kl_sum / tokens as f64 }),
        clip_fraction_low: per_token(low),
        clip_fraction_high: per_token(high),
        clip_fraction_dual: per_token(dual),
        tokens,
        grad_logp,
    })
}

/// Supervised fine-tuning's loss: the mean negative log-likelihood over every unmasked target
/// token of the batch (token-mean, as `transformers` computes cross-entropy), with its
/// gradient `∂L/∂logp_t = −1 / tokens`.
pub fn sft_loss(logp: &[Vec<f64>], mask: &[Vec<bool>]) -> Result<(f64, Vec<Vec<f64>>), LossError> {
    if mask.len() != logp.len() {
        return Err(LossError::Rows { what: "mask", got: mask.len(), expected: logp.len() });
    }
    for (row, (l, m)) in logp.iter().zip(mask).enumerate() {
        if l.len() != m.len() {
            return Err(LossError::Tokens { row, what: "mask", got: m.len(), expected: l.len() });
        }
    }
    let weights = aggregation_weights(LossAggregation::TokenMean, mask, 1)?;
    let loss = -logp.iter().zip(&weights).flat_map(|(l, w)| l.iter().zip(w).map(|(l, w)| l * w)).sum::<f64>();
    let grad = weights.iter().map(|row| row.iter().map(|w| -w).collect()).collect();
    Ok((loss, grad))
}

fn check(input: &LossInput, settings: &LossSettings) -> Result<(), LossError> {
    let rows = input.logp.len();
    let mut tables: Vec<(&'static str, &Vec<Vec<f64>>)> = vec![("old_logp", &input.old_logp)];
    if let Some(reference) = &input.ref_logp {
        tables.push(("ref_logp", reference));
    } else if settings.beta != 0.0 {
        return Err(LossError::MissingReference(settings.beta));
    }
    for (what, table) in &tables {
        if table.len() != rows {
            return Err(LossError::Rows { what, got: table.len(), expected: rows });
        }
    }
    if input.mask.len() != rows {
        return Err(LossError::Rows { what: "mask", got: input.mask.len(), expected: rows });
    }
    if input.advantages.len() != rows {
        return Err(LossError::Rows { what: "advantages", got: input.advantages.len(), expected: rows });
    }
    tables.push(("logp", &input.logp));
    for (row, logp_row) in input.logp.iter().enumerate() {
        if input.mask[row].len() != logp_row.len() {
            return Err(LossError::Tokens { row, what: "mask", got: input.mask[row].len(), expected: logp_row.len() });
        }
        for (what, table) in &tables {
            if table[row].len() != logp_row.len() {
                return Err(LossError::Tokens { row, what, got: table[row].len(), expected: logp_row.len() });
            }
            for (token, &value) in table[row].iter().enumerate() {
                if input.mask[row][token] && !value.is_finite() {
                    return Err(LossError::NotFinite { row, token, what, value });
                }
            }
        }
        if !input.advantages[row].is_finite() {
            return Err(LossError::AdvantageNotFinite { row, value: input.advantages[row] });
        }
    }
    Ok(())
}
