//! Per-token log-probabilities of completions given their prompts, for the policy-gradient
//! loss. The LM head runs only at completion positions, in chunks ([`completion_log_probs`]).
use candle_core::{DType, Tensor};

use crate::adapter::ForwardMode;
use crate::error::ModelError;
use crate::model::{CausalLm, Context, ForwardInput, distinct_rows};
use crate::ops::completion_log_probs;

/// Right-padded per-token values of a batch of completions.
#[derive(Debug, Clone)]
pub struct TokenLogProbs {
    /// `[b, max_len]` log π(token | prefix) in f32 (f64 for an f64 model); differentiable when the forward pass was.
    pub log_probs: Tensor,
    /// `[b, max_len]` entropy of each position's distribution (detached).
    pub entropy: Tensor,
    /// `[b, max_len]` (f32, or f64 for an f64 model): 1 for real completion tokens, 0 for padding.
    pub mask: Tensor,
    pub lengths: Vec<usize>,
}

/// Log-probabilities of `completions[i]` after `prompts[i]`. Each distinct prompt is run once
/// (a GRPO group's G rows share one prompt forward pass, and its gradient), then all completions
/// together, right-padded, attending to their prompt's keys and values.
pub fn sequence_log_probs(
    model: &CausalLm,
    prompts: &[Vec<u32>],
    completions: &[Vec<u32>],
    pad_id: u32,
    mode: ForwardMode,
) -> Result<TokenLogProbs, ModelError> {
    if prompts.len() != completions.len() || prompts.is_empty() {
        return Err(ModelError::InvalidRequest(format!(
            "{} prompts and {} completions",
            prompts.len(),
            completions.len()
        )));
    }
    if let Some(i) = (0..prompts.len()).find(|&i| prompts[i].is_empty() || completions[i].is_empty()) {
        return Err(ModelError::InvalidRequest(format!("row {i}: empty prompt or completion")));
    }
    let device = model.device();
    let (distinct, distinct_of) = distinct_rows(prompts);
    let (prefix_input, prefix_valid) = ForwardInput::left_padded(&distinct, pad_id, device, model.dtype())?;
    let mut recorded = Vec::with_capacity(model.config.num_hidden_layers);
    let prefix_hidden = model.forward_in(&prefix_input, &mut Context::Record(&mut recorded), mode)?; // [d, p, h]
    let (d, p, h) = prefix_hidden.dims3()?;
    let b = completions.len();
    let max_len = completions.iter().map(Vec::len).max().unwrap_or(0);
    let ids: Vec<Vec<u32>> = completions
        .iter()
        .map(|row| row.iter().copied().chain(std::iter::repeat_n(pad_id, max_len - row.len())).collect())
        .collect();
    let valid: Vec<Vec<bool>> = completions
        .iter()
        .zip(&distinct_of)
        .map(|(row, &of)| prefix_valid[of].iter().copied().chain((0..max_len).map(|i| i < row.len())).collect())
        .collect();
    let input = ForwardInput::new(&ids, &valid, device, model.dtype())?;
    let rows = Tensor::from_vec(distinct_of.iter().map(|&i| i as u32).collect::<Vec<_>>(), b, device)?;
    // The completions get dropout masks of their own, not the prompt pass's again.
    let hidden =
        model.forward_in(&input, &mut Context::Prefix { layers: &recorded, rows: &rows }, mode.next_pass(1))?; // [b, c, h]
    // A completion's first token is predicted by its prompt's last hidden state, token i by the
    // completion's hidden state i − 1: both come from one table [prompt states; completion states].
    let states = Tensor::cat(&[prefix_hidden.reshape((d * p, h))?, hidden.reshape((b * max_len, h))?], 0)?;
    let mut positions = Vec::new();
    let mut targets = Vec::new();
    for (r, row) in completions.iter().enumerate() {
        positions.push((distinct_of[r] * p + p - 1) as u32);
        positions.extend((1..row.len()).map(|i| (d * p + r * max_len + i - 1) as u32));
        targets.extend_from_slice(row);
    }
    let n = positions.len();
    let index = Tensor::from_vec(positions, n, device)?;
    let selected = states.index_select(&index, 0)?;
    let (values, entropy) = completion_log_probs(&selected, model.lm_head(), &targets)?;
    // Scatter the n values into [b, max_len], pointing padding at an appended zero.
    let mut gather = Vec::with_capacity(b * max_len);
    let mut mask = Vec::with_capacity(b * max_len);
    let mut offset = 0;
    for c in completions {
        for i in 0..max_len {
            gather.push(if i < c.len() { (offset + i) as u32 } else { n as u32 });
            mask.push(if i < c.len() { 1f32 } else { 0.0 });
        }
        offset += c.len();
    }
    let gather = Tensor::from_vec(gather, b * max_len, model.device())?;
    // f32 for the loss, unless the model runs in f64 (gradient checks).
    let dtype = if model.dtype() == DType::F64 { DType::F64 } else { DType::F32 };
    let pad = |t: &Tensor| -> Result<Tensor, ModelError> {
        let zero = Tensor::zeros(1, t.dtype(), t.device())?;
        Ok(Tensor::cat(&[t, &zero], 0)?.index_select(&gather, 0)?.reshape((b, max_len))?)
    };
    Ok(TokenLogProbs {
        log_probs: pad(&values.to_dtype(dtype)?)?,
        entropy: pad(&entropy.to_dtype(dtype)?)?,
        mask: Tensor::from_vec(mask, (b, max_len), model.device())?.to_dtype(dtype)?,
        lengths: completions.iter().map(Vec::len).collect(),
    })
}
