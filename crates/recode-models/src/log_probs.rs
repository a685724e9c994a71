//! Per-token log-probabilities of completions given their prompts, for the policy-gradient
//! loss. The LM head runs only at completion positions, in chunks ([`completion_log_probs`]).
use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};

use crate::adapter::ForwardMode;
use crate::error::ModelError;
use crate::model::{CausalLm, Context, ForwardInput, PassInput, distinct_rows};
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
    let batch = Batch::new(model, prompts, completions, pad_id)?;
    let mut recorded = Vec::with_capacity(model.config.num_hidden_layers);
    let prefix_hidden = model.forward_in(&batch.prefix_input, &mut Context::Record(&mut recorded), mode)?;
    let hidden = model.forward_in(
        &batch.input,
        &mut Context::Prefix { layers: &recorded, rows: &batch.rows },
        completion_mode(mode),
    )?;
    batch.log_probs(model, &prefix_hidden, &hidden)
}

/// The completion log-probabilities of a batch, ready to be differentiated: [`LogProbGraph::values`]
/// gives them (as [`sequence_log_probs`] would), [`LogProbGraph::backward`] the gradients of
/// `Σ g · log_probs` for the loss's `g = ∂L/∂log_probs`.
///
/// Checkpointed, each decoder layer's activations live only while that layer is differentiated:
/// the forward pass keeps the states between layers, and the backward pass recomputes one layer
/// at a time (with the same dropout masks) — one more forward pass, for memory that no longer
/// grows with layers × tokens.
pub struct LogProbGraph<'a> {
    model: &'a CausalLm,
    values: TokenLogProbs,
    kind: GraphKind<'a>,
}

// One value per micro-batch: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum GraphKind<'a> {
    /// The whole forward graph is kept in `values.log_probs`.
    Stored,
    Checkpointed {
        batch: Batch<'a>,
        mode: ForwardMode,
        prefix_pass: PassInput,
        pass: PassInput,
        /// The inputs of every layer (detached), prompts and completions.
        prefix_states: Vec<Tensor>,
        states: Vec<Tensor>,
        /// Every layer's prompt keys and values (detached).
        recorded: Vec<(Tensor, Tensor)>,
        /// The last layer's outputs, as the head's differentiable inputs.
        prefix_top: Var,
        top: Var,
    },
}

impl<'a> LogProbGraph<'a> {
    /// The forward pass (train mode `mode`), stored or checkpointed.
    pub fn forward(
        model: &'a CausalLm,
        prompts: &[Vec<u32>],
        completions: &'a [Vec<u32>],
        pad_id: u32,
        mode: ForwardMode,
        checkpointed: bool,
    ) -> Result<Self, ModelError> {
        if !checkpointed {
            let values = sequence_log_probs(model, prompts, completions, pad_id, mode)?;
            return Ok(LogProbGraph { model, values, kind: GraphKind::Stored });
        }
        let batch = Batch::new(model, prompts, completions, pad_id)?;
        let (prefix_pass, pass) = (model.pass_input(&batch.prefix_input)?, model.pass_input(&batch.input)?);
        // Every layer's graph is dropped as soon as its outputs are detached.
        let mut prefix_states = vec![model.embed_ids(&batch.prefix_input.ids)?];
        let mut states = vec![model.embed_ids(&batch.input.ids)?];
        let mut recorded: Vec<(Tensor, Tensor)> = Vec::with_capacity(model.config.num_hidden_layers);
        for l in 0..model.config.num_hidden_layers {
            let (prefix_out, out) =
                layer_pair(model, l, &batch, &prefix_pass, &pass, &prefix_states[l], &states[l], &mut recorded, mode)?;
            recorded[l] = (recorded[l].0.detach(), recorded[l].1.detach());
            prefix_states.push(prefix_out.detach());
            states.push(out.detach());
        }
        let prefix_top = Var::from_tensor(&prefix_states.pop().expect("one state per layer boundary"))?;
        let top = Var::from_tensor(&states.pop().expect("one state per layer boundary"))?;
        let values = batch.log_probs(
            model,
            &model.final_norm(prefix_top.as_tensor(), &prefix_pass)?,
            &model.final_norm(top.as_tensor(), &pass)?,
        )?;
        let kind = GraphKind::Checkpointed {
            batch,
            mode,
            prefix_pass,
            pass,
            prefix_states,
            states,
            recorded,
            prefix_top,
            top,
        };
        Ok(LogProbGraph { model, values, kind })
    }

    /// The log-probabilities (and entropies, mask, lengths).
    pub fn values(&self) -> &TokenLogProbs {
        &self.values
    }

    /// The gradients of `Σ g · log_probs` (`g`: `[b, max_len]`, zero at padding) with respect to
    /// `vars`; `None` where it does not reach a var.
    pub fn backward(self, g: &Tensor, vars: &[Var]) -> Result<Vec<Option<Tensor>>, ModelError> {
        let log_probs = &self.values.log_probs;
        let store = (log_probs * g.to_dtype(log_probs.dtype())?)?.sum_all()?.backward()?;
        let GraphKind::Checkpointed {
            batch,
            mode,
            prefix_pass,
            pass,
            mut prefix_states,
            mut states,
            mut recorded,
            prefix_top,
            top,
        } = self.kind
        else {
            return Ok(vars.iter().map(|v| store.get(v.as_tensor()).cloned()).collect());
        };
        let mut grad_prefix = grad_or_zeros(&store, &prefix_top)?;
        let mut grad = grad_or_zeros(&store, &top)?;
        let mut grads: Vec<Option<Tensor>> = vec![None; vars.len()];
        // Nothing below the lowest adapted layer has a gradient to give.
        let lowest = self.model.first_adapted_layer().unwrap_or(self.model.config.num_hidden_layers);
        for l in (lowest..self.model.config.num_hidden_layers).rev() {
            let prefix_in = Var::from_tensor(&prefix_states.pop().expect("one state per layer boundary"))?;
            let input = Var::from_tensor(&states.pop().expect("one state per layer boundary"))?;
            let (prefix_out, out) = layer_pair(
                self.model,
                l,
                &batch,
                &prefix_pass,
                &pass,
                prefix_in.as_tensor(),
                input.as_tensor(),
                &mut recorded,
                mode,
            )?;
            let surrogate = ((prefix_out * &grad_prefix)?.sum_all()? + (out * &grad)?.sum_all()?)?;
            let store = surrogate.backward()?;
            for (sum, var) in grads.iter_mut().zip(vars) {
                if let Some(g) = store.get(var.as_tensor()) {
                    *sum = Some(match sum.take() {
                        Some(s) => (s + g)?,
                        None => g.clone(),
                    });
                }
            }
            grad_prefix = grad_or_zeros(&store, &prefix_in)?;
            grad = grad_or_zeros(&store, &input)?;
            recorded.truncate(l); // drops layer l's recomputed graph
        }
        Ok(grads)
    }
}

/// Layer `l` over the prompts (recording their keys and values as `recorded[l]`) and then over
/// the completions attending to them.
#[allow(clippy::too_many_arguments)]
fn layer_pair(
    model: &CausalLm,
    l: usize,
    batch: &Batch,
    prefix_pass: &PassInput,
    pass: &PassInput,
    prefix_x: &Tensor,
    x: &Tensor,
    recorded: &mut Vec<(Tensor, Tensor)>,
    mode: ForwardMode,
) -> Result<(Tensor, Tensor), ModelError> {
    let mut layer_kv = Vec::with_capacity(1);
    let prefix_out = model.decoder_layer(l, prefix_x, prefix_pass, &mut Context::Record(&mut layer_kv), mode)?;
    let kv = layer_kv.pop().expect("the layer recorded its keys and values");
    if recorded.len() == l {
        recorded.push(kv);
    } else {
        recorded[l] = kv;
    }
    let out = model.decoder_layer(
        l,
        x,
        pass,
        &mut Context::Prefix { layers: recorded, rows: &batch.rows },
        completion_mode(mode),
    )?;
    Ok((prefix_out, out))
}

/// The completions get dropout masks of their own, not the prompt pass's again.
fn completion_mode(mode: ForwardMode) -> ForwardMode {
    mode.next_pass(1)
}

fn grad_or_zeros(store: &GradStore, v: &Var) -> Result<Tensor, ModelError> {
    match store.get(v.as_tensor()) {
        Some(g) => Ok(g.clone()),
        None => Ok(v.as_tensor().zeros_like()?),
    }
}

/// A batch of (prompt, completion) rows laid out for the shared prompt pass and the
/// right-padded completion pass.
struct Batch<'a> {
    completions: &'a [Vec<u32>],
    /// The distinct prompts, left-padded.
    prefix_input: ForwardInput,
    /// The completions, right-padded, each attending to its prompt's columns.
    input: ForwardInput,
    /// `[b]` u32: the distinct prompt of each row.
    rows: Tensor,
    distinct_of: Vec<usize>,
    max_len: usize,
}

impl<'a> Batch<'a> {
    fn new(
        model: &CausalLm,
        prompts: &[Vec<u32>],
        completions: &'a [Vec<u32>],
        pad_id: u32,
    ) -> Result<Self, ModelError> {
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
        Ok(Batch { completions, prefix_input, input, rows, distinct_of, max_len })
    }

    /// The completions' log-probabilities from the final hidden states of the prompt pass
    /// `[d, p, h]` and the completion pass `[b, max_len, h]`.
    fn log_probs(
        &self,
        model: &CausalLm,
        prefix_hidden: &Tensor,
        hidden: &Tensor,
    ) -> Result<TokenLogProbs, ModelError> {
        let (d, p, h) = prefix_hidden.dims3()?;
        let (b, max_len, device) = (self.completions.len(), self.max_len, model.device());
        // A completion's first token is predicted by its prompt's last hidden state, token i by the
        // completion's hidden state i − 1: both come from one table [prompt states; completion states].
        let states = Tensor::cat(&[prefix_hidden.reshape((d * p, h))?, hidden.reshape((b * max_len, h))?], 0)?;
        let mut positions = Vec::new();
        let mut targets = Vec::new();
        for (r, row) in self.completions.iter().enumerate() {
            positions.push((self.distinct_of[r] * p + p - 1) as u32);
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
        for c in self.completions {
            for i in 0..max_len {
                gather.push(if i < c.len() { (offset + i) as u32 } else { n as u32 });
                mask.push(if i < c.len() { 1f32 } else { 0.0 });
            }
            offset += c.len();
        }
        let gather = Tensor::from_vec(gather, b * max_len, device)?;
        // f32 for the loss, unless the model runs in f64 (gradient checks).
        let dtype = if model.dtype() == DType::F64 { DType::F64 } else { DType::F32 };
        let pad = |t: &Tensor| -> Result<Tensor, ModelError> {
            let zero = Tensor::zeros(1, t.dtype(), t.device())?;
            Ok(Tensor::cat(&[t, &zero], 0)?.index_select(&gather, 0)?.reshape((b, max_len))?)
        };
        Ok(TokenLogProbs {
            log_probs: pad(&values.to_dtype(dtype)?)?,
            entropy: pad(&entropy.to_dtype(dtype)?)?,
            mask: Tensor::from_vec(mask, (b, max_len), device)?.to_dtype(dtype)?,
            lengths: self.completions.iter().map(Vec::len).collect(),
        })
    }
}
