//! Batched sampling with the KV cache over left-padded prompts of different lengths.
//!
//! Each row has its own random stream (forked from the seed by row index), so a row's sample
//! does not depend on which other rows share its batch. Rows that finish leave the batch, so
//! later steps only pay for the rows still running, and [`generate_continuous`] refills the
//! batch from the prompts still waiting.
use std::time::Instant;

use candle_core::{DType, Tensor};

use crate::adapter::ForwardMode;
use crate::cache::KvCache;
use crate::error::ModelError;
use crate::model::{CausalLm, ForwardInput, distinct_rows};
use crate::rng::SplitMix64;

/// How to sample. Defaults: greedy, 256 new tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingConfig {
    pub max_new_tokens: usize,
    /// 0 = greedy.
    pub temperature: f64,
    /// 1.0 = off.
    pub top_p: f64,
    /// 0 = off.
    pub top_k: usize,
    pub seed: u64,
    /// Token ids that end a row (end of turn, end of text); kept as the row's last token.
    pub stop_ids: Vec<u32>,
    /// Strings that end a row once its decoded text contains one.
    pub stop_strings: Vec<String>,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            max_new_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            seed: 0,
            stop_ids: Vec::new(),
            stop_strings: Vec::new(),
        }
    }
}

/// Why a row stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// A stop id was sampled (it is the last of `ids`).
    StopToken,
    /// The decoded text contains a stop string.
    StopString,
    /// `max_new_tokens` reached.
    Length,
}

/// One row's completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub ids: Vec<u32>,
    /// Log-probability of each sampled token under the distribution it was drawn from
    /// (temperature applied, before top-k / top-p truncation; temperature 1 when greedy).
    pub log_probs: Vec<f32>,
    pub finish: FinishReason,
}

impl Generation {
    pub fn truncated(&self) -> bool {
        self.finish == FinishReason::Length
    }

    /// The completion's tokens without the final stop token (what its text is decoded from).
    pub fn content_ids(&self) -> &[u32] {
        match self.finish {
            FinishReason::StopToken => &self.ids[..self.ids.len() - 1],
            _ => &self.ids,
        }
    }
}

/// Progress of a generation call.
#[derive(Debug, Clone, Copy)]
pub struct GenerateProgress {
    /// Decoding steps so far (one token for every active row).
    pub step: usize,
    pub active_rows: usize,
    /// Rows finished so far, of all the call's prompts.
    pub rows_finished: usize,
    pub tokens_generated: usize,
    pub seconds: f64,
}

/// Samples a completion for every prompt in one batch; row `r` draws from random stream `r`.
pub fn generate(
    model: &CausalLm,
    prompts: &[Vec<u32>],
    config: &SamplingConfig,
    pad_id: u32,
    decode: &dyn Fn(&[u32]) -> String,
    progress: &mut dyn FnMut(GenerateProgress),
) -> Result<Vec<Generation>, ModelError> {
    let streams: Vec<u64> = (0..prompts.len() as u64).collect();
    generate_with_streams(model, prompts, &streams, config, pad_id, decode, progress)
}

/// [`generate`] with an explicit random stream per row, so that a row's sample is the same
/// whatever batch it is put in. All rows are decoded together.
pub fn generate_with_streams(
    model: &CausalLm,
    prompts: &[Vec<u32>],
    streams: &[u64],
    config: &SamplingConfig,
    pad_id: u32,
    decode: &dyn Fn(&[u32]) -> String,
    progress: &mut dyn FnMut(GenerateProgress),
) -> Result<Vec<Generation>, ModelError> {
    generate_continuous(model, prompts, streams, config, prompts.len().max(1), pad_id, decode, progress)
}

/// Samples a completion for every prompt with at most `max_rows` rows decoded together:
/// when rows finish, waiting prompts (in the given order) are prefilled and join the running
/// batch, so the batch stays full instead of draining to its slowest row. Each row samples what
/// it samples alone with its stream.
#[allow(clippy::too_many_arguments)]
pub fn generate_continuous(
    model: &CausalLm,
    prompts: &[Vec<u32>],
    streams: &[u64],
    config: &SamplingConfig,
    max_rows: usize,
    pad_id: u32,
    decode: &dyn Fn(&[u32]) -> String,
    progress: &mut dyn FnMut(GenerateProgress),
) -> Result<Vec<Generation>, ModelError> {
    if streams.len() != prompts.len() {
        return Err(ModelError::InvalidRequest(format!("{} prompts but {} streams", prompts.len(), streams.len())));
    }
    if !(config.temperature >= 0.0 && config.top_p > 0.0 && config.top_p <= 1.0) {
        return Err(ModelError::InvalidRequest(format!(
            "temperature must be ≥ 0 and top_p in (0, 1]; got {} and {}",
            config.temperature, config.top_p
        )));
    }
    if max_rows == 0 {
        return Err(ModelError::InvalidRequest("max_rows must be at least 1".into()));
    }
    if prompts.iter().any(Vec::is_empty) {
        return Err(ModelError::InvalidRequest("an empty prompt".into()));
    }
    let started = Instant::now();
    let device = model.device().clone();
    let dtype = model.dtype();
    let mut out: Vec<Generation> = prompts
        .iter()
        .map(|_| Generation { ids: Vec::new(), log_probs: Vec::new(), finish: FinishReason::Length })
        .collect();
    if config.max_new_tokens == 0 || prompts.is_empty() {
        return Ok(out);
    }
    let root = SplitMix64::new(config.seed);
    let mut rngs: Vec<SplitMix64> = streams.iter().map(|&s| root.fork(s)).collect();
    // Refilling on every finished row would copy the cache at almost every step; a quarter of
    // the batch free is worth one copy.
    let admit_at = max_rows.div_ceil(4);
    let mut next_prompt = 0;
    let mut batch: Option<Batch> = None;
    let (mut step, mut generated, mut finished) = (0usize, 0usize, 0usize);
    loop {
        let active = batch.as_ref().map_or(0, |b| b.rows.len());
        let free = max_rows.saturating_sub(active);
        if next_prompt < prompts.len() && (active == 0 || free >= admit_at) {
            let take = free.min(prompts.len() - next_prompt);
            let joining = Batch::prefill(model, prompts, next_prompt..next_prompt + take, config, pad_id)?;
            next_prompt += take;
            batch = Some(match batch.take() {
                Some(running) => running.merge(joining, config.max_new_tokens)?,
                None => joining,
            });
        }
        let Some(current) = batch.as_mut() else { break };
        let logits = current.logits.to_dtype(DType::F32)?.to_vec2::<f32>()?;
        let mut next = Vec::with_capacity(current.rows.len());
        let mut keep = Vec::with_capacity(current.rows.len());
        for (pos, &row) in current.rows.iter().enumerate() {
            let (token, log_prob) = sample(&logits[pos], config, &mut rngs[row]);
            let generation = &mut out[row];
            generation.ids.push(token);
            generation.log_probs.push(log_prob);
            generated += 1;
            if config.stop_ids.contains(&token) {
                generation.finish = FinishReason::StopToken;
            } else if !config.stop_strings.is_empty() && {
                let text = decode(&generation.ids);
                config.stop_strings.iter().any(|s| text.contains(s.as_str()))
            } {
                generation.finish = FinishReason::StopString;
            } else if generation.ids.len() < config.max_new_tokens {
                keep.push(pos);
                next.push(token);
                continue;
            }
            finished += 1;
        }
        step += 1;
        progress(GenerateProgress {
            step,
            active_rows: keep.len(),
            rows_finished: finished,
            tokens_generated: generated,
            seconds: started.elapsed().as_secs_f64(),
        });
        if keep.is_empty() {
            batch = None;
            continue;
        }
        if keep.len() < current.rows.len() {
            current.cache.select_rows(&keep)?;
            current.valid = keep.iter().map(|&p| current.valid[p].clone()).collect();
            current.rows = keep.iter().map(|&p| current.rows[p]).collect();
        }
        for row in &mut current.valid {
            row.push(true);
        }
        let ids: Vec<Vec<u32>> = next.iter().map(|&t| vec![t]).collect();
        let input = ForwardInput::new(&ids, &current.valid, &device, dtype)?;
        let hidden = model.forward(&input, Some(&mut current.cache), ForwardMode::INFERENCE)?;
        current.cache.advance(1);
        current.logits = model.logits(&hidden.squeeze(1)?)?;
    }
    Ok(out)
}

/// The rows being decoded together: their cache, which of its columns hold each row's tokens,
/// and the logits of each row's next token.
struct Batch {
    /// Batch position → prompt index.
    rows: Vec<usize>,
    cache: KvCache,
    /// Per row, one flag per filled cache column.
    valid: Vec<Vec<bool>>,
    /// `[rows, vocab]`
    logits: Tensor,
}

impl Batch {
    /// Prefills `prompts[range]` left-padded in one forward pass. Identical prompts (the G rows
    /// of a GRPO group) are prefilled once; their cache rows and first logits are copied.
    fn prefill(
        model: &CausalLm,
        prompts: &[Vec<u32>],
        range: std::ops::Range<usize>,
        config: &SamplingConfig,
        pad_id: u32,
    ) -> Result<Batch, ModelError> {
        let device = model.device();
        let (distinct, distinct_of) = distinct_rows(&prompts[range.clone()]);
        let prompt_len = distinct.iter().map(Vec::len).max().unwrap_or(0);
        let (input, distinct_valid) = ForwardInput::left_padded(&distinct, pad_id, device, model.dtype())?;
        let mut cache =
            KvCache::new(&model.config, distinct.len(), prompt_len + config.max_new_tokens, device, model.dtype())?;
        let hidden = model.forward(&input, Some(&mut cache), ForwardMode::INFERENCE)?;
        cache.advance(prompt_len);
        let mut logits = model.logits(&hidden.narrow(1, prompt_len - 1, 1)?.squeeze(1)?)?;
        if distinct.len() < range.len() {
            cache.select_rows(&distinct_of)?;
            let index =
                Tensor::from_vec(distinct_of.iter().map(|&d| d as u32).collect::<Vec<_>>(), range.len(), device)?;
            logits = logits.index_select(&index, 0)?;
        }
        let valid = distinct_of.iter().map(|&d| distinct_valid[d].clone()).collect();
        Ok(Batch { rows: range.collect(), cache, valid, logits })
    }

    /// This batch's rows followed by `joining`'s, their filled columns right-aligned in a new
    /// cache. Leading columns no running row uses are dropped on the way.
    fn merge(self, joining: Batch, max_new_tokens: usize) -> Result<Batch, ModelError> {
        let unused = self.valid.iter().map(|row| row.iter().position(|&v| v).unwrap_or(row.len())).min().unwrap_or(0);
        let own_width = self.cache.len() - unused;
        let width = own_width.max(joining.cache.len());
        let cache = KvCache::stack(&self.cache, unused, &joining.cache, width, width + max_new_tokens)?;
        let align = |valid: Vec<Vec<bool>>, skip: usize, used: usize| -> Vec<Vec<bool>> {
            valid
                .into_iter()
                .map(|row| std::iter::repeat_n(false, width - used).chain(row.into_iter().skip(skip)).collect())
                .collect()
        };
        let joining_width = joining.cache.len();
        let mut valid = align(self.valid, unused, own_width);
        valid.extend(align(joining.valid, 0, joining_width));
        let mut rows = self.rows;
        rows.extend(joining.rows);
        Ok(Batch { rows, cache, valid, logits: Tensor::cat(&[&self.logits, &joining.logits], 0)? })
    }
}

/// Draws one token from `logits` and returns it with its log-probability.
pub fn sample(logits: &[f32], config: &SamplingConfig, rng: &mut SplitMix64) -> (u32, f32) {
    if config.temperature == 0.0 {
        let (best, _) =
            logits.iter().enumerate().fold((0, f32::NEG_INFINITY), |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc });
        return (best as u32, logits[best] - log_sum_exp(logits.iter().copied()));
    }
    let inv_t = (1.0 / config.temperature) as f32;
    let scaled: Vec<f32> = logits.iter().map(|&v| v * inv_t).collect();
    let lse = log_sum_exp(scaled.iter().copied());
    let mut candidates: Vec<u32> = (0..scaled.len() as u32).collect();
    let by_logit_desc = |a: &u32, b: &u32| scaled[*b as usize].total_cmp(&scaled[*a as usize]);
    if config.top_k > 0 && config.top_k < candidates.len() {
        candidates.select_nth_unstable_by(config.top_k - 1, by_logit_desc);
        candidates.truncate(config.top_k);
    }
    if config.top_p < 1.0 {
        // Most of the mass sits in few tokens: sort a prefix first, the whole list if needed.
        let prefix = 4096.min(candidates.len());
        if prefix < candidates.len() {
            candidates.select_nth_unstable_by(prefix - 1, by_logit_desc);
        }
        candidates[..prefix].sort_unstable_by(by_logit_desc);
        let mut cut = cumulative_cut(&candidates[..prefix], &scaled, lse, config.top_p);
        if cut.is_none() && prefix < candidates.len() {
            candidates.sort_unstable_by(by_logit_desc);
            cut = cumulative_cut(&candidates, &scaled, lse, config.top_p);
        }
        candidates.truncate(cut.unwrap_or(candidates.len()));
    }
    let weights: Vec<f64> = candidates.iter().map(|&i| ((scaled[i as usize] - lse) as f64).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut target = rng.next_f64() * total;
    let mut chosen = *candidates.last().expect("at least one candidate");
    for (&i, &w) in candidates.iter().zip(&weights) {
        if target < w {
            chosen = i;
            break;
        }
        target -= w;
    }
    (chosen, scaled[chosen as usize] - lse)
}

/// How many of the sorted `candidates` are needed to reach probability mass `top_p`.
fn cumulative_cut(candidates: &[u32], scaled: &[f32], lse: f32, top_p: f64) -> Option<usize> {
    let mut mass = 0.0f64;
    for (n, &i) in candidates.iter().enumerate() {
        mass += ((scaled[i as usize] - lse) as f64).exp();
        if mass >= top_p {
            return Some(n + 1);
        }
    }
    None
}

fn log_sum_exp(values: impl Iterator<Item = f32> + Clone) -> f32 {
    let max = values.clone().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    max + values.map(|v| ((v - max) as f64).exp()).sum::<f64>().ln() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(temperature: f64, top_p: f64, top_k: usize) -> SamplingConfig {
        SamplingConfig { temperature, top_p, top_k, ..SamplingConfig::default() }
    }

    #[test]
    fn greedy_takes_the_argmax_with_its_log_prob() {
        let logits = [0.0f32, 2.0, 1.0];
        let (t, lp) = sample(&logits, &config(0.0, 1.0, 0), &mut SplitMix64::new(0));
        assert_eq!(t, 1);
        let expected = 2.0 - (1.0f64 + 2f64.exp() + 1f64.exp()).ln();
        assert!((lp as f64 - expected).abs() < 1e-6);
    }

    #[test]
    fn frequencies_follow_the_distribution_and_truncations() {
        let logits: Vec<f32> = [0.5f64, 0.3, 0.15, 0.05].iter().map(|p| p.ln() as f32).collect();
        let count = |cfg: &SamplingConfig| {
            let mut rng = SplitMix64::new(11);
            let mut counts = [0usize; 4];
            for _ in 0..20_000 {
                counts[sample(&logits, cfg, &mut rng).0 as usize] += 1;
            }
            counts.map(|c| c as f64 / 20_000.0)
        };
        let full = count(&config(1.0, 1.0, 0));
        for (f, p) in full.iter().zip([0.5, 0.3, 0.15, 0.05]) {
            assert!((f - p).abs() < 0.015, "{full:?}");
        }
        // top-p 0.75 keeps {0.5, 0.3}: renormalised 0.625 / 0.375.
        let nucleus = count(&config(1.0, 0.75, 0));
        assert!((nucleus[0] - 0.625).abs() < 0.015 && nucleus[2] == 0.0 && nucleus[3] == 0.0, "{nucleus:?}");
        // top-k 3 drops the last.
        let top3 = count(&config(1.0, 1.0, 3));
        assert!(top3[3] == 0.0 && (top3[0] - 0.5 / 0.95).abs() < 0.015, "{top3:?}");
        // Low temperature sharpens towards the argmax.
        let cold = count(&config(0.1, 1.0, 0));
        assert!(cold[0] > 0.99, "{cold:?}");
    }

    #[test]
    fn sampled_log_prob_is_under_the_tempered_distribution() {
        let logits = [1.0f32, 0.0];
        let (t, lp) = sample(&logits, &config(2.0, 0.5, 0), &mut SplitMix64::new(1));
        assert_eq!(t, 0); // top-p 0.5 keeps only the first
        let expected = 0.5 - (0.5f64.exp() + 1.0).ln();
        assert!((lp as f64 - expected).abs() < 1e-6, "{lp} {expected}");
    }
}
