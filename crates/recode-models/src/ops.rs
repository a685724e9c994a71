//! Differentiable operations with the backward passes training needs and candle lacks:
//!
//! - [`frozen_linear`]: `x · Wᵀ` whose backward returns only the input gradient. candle's
//!   matmul backward always computes both operands' gradients, so a frozen 0.5B base model
//!   would pay a weight-sized gradient per layer that is then thrown away.
//! - [`masked_softmax`] (attention) and [`softmax_last_dim`]: fused softmaxes whose backward
//!   keeps only the output and runs in one pass, instead of the score-sized intermediates of
//!   the composite `add / exp / sum` forms (each a fresh allocation the size of `[b, heads, s, t]`).
//! - [`completion_log_probs`]: LM head + log-softmax + gather at chosen positions, computed
//!   in chunks forward and recomputed in chunks backward, so memory does not scale with
//!   positions × vocabulary.
//!
//! `frozen_linear` and `completion_log_probs` have a CPU and a CUDA forward (their backward is
//! written in tensor ops, so it runs on either); off the CPU the softmaxes are candle's ops.
use std::sync::{Arc, Mutex};

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CudaStorage, CustomOp1, CustomOp2, D, DType, Layout, Result, Shape, Storage, Tensor};

/// `x · Wᵀ` for `x: [n, in]` and a frozen `W: [out, in]`; no gradient flows to `W`.
pub fn frozen_linear(x: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let x = x.contiguous()?;
    if !x.track_op() {
        // Inference: no graph to build, the plain matmul is the same computation.
        return x.matmul(&weight.t()?);
    }
    x.apply_op1(FrozenMatmul { weight: weight.clone() })
}

struct FrozenMatmul {
    weight: Tensor,
}

impl FrozenMatmul {
    fn dims(&self, layout: &Layout) -> Result<(usize, usize, usize)> {
        let (n, k) = layout.shape().dims2()?;
        let (out, k_w) = self.weight.dims2()?;
        if k != k_w {
            candle_core::bail!("frozen-matmul: input width {k} does not match weight [{out}, {k_w}]")
        }
        Ok((n, k, out))
    }

    fn forward<S: BackendStorage>(&self, x: &S, layout: &Layout, w: &S, w_layout: &Layout) -> Result<(S, Shape)> {
        let (n, k, out) = self.dims(layout)?;
        let w_t = w_layout.transpose(0, 1)?;
        Ok((x.matmul(w, (1, n, out, k), layout, &w_t)?, Shape::from((n, out))))
    }
}

impl CustomOp1 for FrozenMatmul {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }

    fn cpu_fwd(&self, x: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (w, w_layout) = self.weight.storage_and_layout();
        match &*w {
            Storage::Cpu(w) => self.forward(x, layout, w, w_layout),
            _ => candle_core::bail!("frozen-matmul: input on the CPU, weight elsewhere"),
        }
    }

    fn cuda_fwd(&self, x: &CudaStorage, layout: &Layout) -> Result<(CudaStorage, Shape)> {
        let (w, w_layout) = self.weight.storage_and_layout();
        match &*w {
            Storage::Cuda(w) => self.forward(x, layout, w, w_layout),
            _ => candle_core::bail!("frozen-matmul: input on the GPU, weight elsewhere"),
        }
    }

    fn bwd(&self, _x: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad_y.matmul(&self.weight)?))
    }
}

/// Softmax over the last dimension. On the CPU (f32, f64) this is one fused pass whose backward
/// needs only the output (`dx = y ⊙ (g − Σ g⊙y)`); elsewhere it is candle's composite softmax.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64) {
        x.contiguous()?.apply_op1(SoftmaxLastDim)
    } else {
        candle_nn::ops::softmax(x, D::Minus1)
    }
}

struct SoftmaxLastDim;

impl CustomOp1 for SoftmaxLastDim {
    fn name(&self) -> &'static str {
        "softmax-last-dim"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (start, end) = layout
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::RequiresContiguous { op: "softmax-last-dim" })?;
        let width = layout.dims().last().copied().unwrap_or(1).max(1);
        let out = match storage {
            CpuStorage::F32(data) => CpuStorage::F32(softmax_rows(&data[start..end], width)),
            CpuStorage::F64(data) => CpuStorage::F64(softmax_rows(&data[start..end], width)),
            _ => candle_core::bail!("softmax-last-dim: expected f32 or f64"),
        };
        Ok((out, layout.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, grad_y: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(softmax_backward(y, grad_y)?))
    }
}

/// `softmax(scores + bias)` over the last dimension, with `scores: [b, heads, s, t]` and the
/// attention bias `bias: [b, 1, s, t]` broadcast over the heads. On the CPU (f32, f64) one
/// fused pass: neither `scores + bias` nor a copy of it is materialised, and the backward is
/// one pass too. Elsewhere candle's composite ops.
pub fn masked_softmax(scores: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let (b, _, s, t) = scores.dims4()?;
    if bias.dims() != [b, 1, s, t] {
        candle_core::bail!("masked-softmax: bias {:?} for scores {:?}", bias.dims(), scores.dims())
    }
    if scores.device().is_cpu() && matches!(scores.dtype(), DType::F32 | DType::F64) && bias.dtype() == scores.dtype() {
        scores.contiguous()?.apply_op2(&bias.contiguous()?, MaskedSoftmax)
    } else {
        candle_nn::ops::softmax(&scores.broadcast_add(bias)?, D::Minus1)
    }
}

struct MaskedSoftmax;

impl CustomOp2 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "masked-softmax"
    }

    fn cpu_fwd(&self, scores: &CpuStorage, l1: &Layout, bias: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let offsets =
            |l: &Layout| l.contiguous_offsets().ok_or(candle_core::Error::RequiresContiguous { op: "masked-softmax" });
        let ((a, a_end), (m, m_end)) = (offsets(l1)?, offsets(l2)?);
        let (_, heads, s, t) = l1.shape().dims4()?;
        let out = match (scores, bias) {
            (CpuStorage::F32(x), CpuStorage::F32(bias)) => {
                CpuStorage::F32(masked_softmax_rows(&x[a..a_end], &bias[m..m_end], heads, s, t))
            }
            (CpuStorage::F64(x), CpuStorage::F64(bias)) => {
                CpuStorage::F64(masked_softmax_rows(&x[a..a_end], &bias[m..m_end], heads, s, t))
            }
            _ => candle_core::bail!("masked-softmax: expected f32 or f64 scores and bias of the same dtype"),
        };
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        _scores: &Tensor,
        _bias: &Tensor,
        y: &Tensor,
        grad_y: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // The bias is a constant mask.
        Ok((Some(softmax_backward(y, grad_y)?), None))
    }
}

fn masked_softmax_rows<T: num_traits::Float>(x: &[T], bias: &[T], heads: usize, s: usize, t: usize) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    for (r, (row, out)) in x.chunks(t).zip(out.chunks_mut(t)).enumerate() {
        // Row r is (batch, head, query) = (r / (heads·s), ·, r % s); its bias row is (batch, query).
        let bias_row = (r / (heads * s)) * s + r % s;
        let bias = &bias[bias_row * t..(bias_row + 1) * t];
        let mut max = T::neg_infinity();
        for ((o, &v), &m) in out.iter_mut().zip(row).zip(bias) {
            *o = v + m;
            max = max.max(*o);
        }
        let mut sum = T::zero();
        for o in out.iter_mut() {
            *o = (*o - max).exp();
            sum = sum + *o;
        }
        let inv = T::one() / sum;
        out.iter_mut().for_each(|o| *o = *o * inv);
    }
    out
}

/// The softmax's input gradient from its output: `dx = y ⊙ (g − Σ g⊙y)`, one pass per row on
/// the CPU (f32, f64), composite ops elsewhere.
fn softmax_backward(y: &Tensor, grad_y: &Tensor) -> Result<Tensor> {
    if y.device().is_cpu() && matches!(y.dtype(), DType::F32 | DType::F64) && grad_y.dtype() == y.dtype() {
        y.contiguous()?.apply_op2_no_bwd(&grad_y.contiguous()?, &SoftmaxBackward)
    } else {
        let dot = (grad_y * y)?.sum_keepdim(D::Minus1)?;
        y * grad_y.broadcast_sub(&dot)?
    }
}

struct SoftmaxBackward;

impl CustomOp2 for SoftmaxBackward {
    fn name(&self) -> &'static str {
        "softmax-backward"
    }

    fn cpu_fwd(&self, y: &CpuStorage, l1: &Layout, g: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let offsets = |l: &Layout| {
            l.contiguous_offsets().ok_or(candle_core::Error::RequiresContiguous { op: "softmax-backward" })
        };
        let ((a, a_end), (b, b_end)) = (offsets(l1)?, offsets(l2)?);
        if l1.dims() != l2.dims() {
            candle_core::bail!("softmax-backward: output {:?} but gradient {:?}", l1.dims(), l2.dims())
        }
        let width = l1.dims().last().copied().unwrap_or(1).max(1);
        let out = match (y, g) {
            (CpuStorage::F32(y), CpuStorage::F32(g)) => {
                CpuStorage::F32(softmax_backward_rows(&y[a..a_end], &g[b..b_end], width))
            }
            (CpuStorage::F64(y), CpuStorage::F64(g)) => {
                CpuStorage::F64(softmax_backward_rows(&y[a..a_end], &g[b..b_end], width))
            }
            _ => candle_core::bail!("softmax-backward: expected f32 or f64 of one dtype"),
        };
        Ok((out, l1.shape().clone()))
    }
}

fn softmax_backward_rows<T: num_traits::Float>(y: &[T], g: &[T], width: usize) -> Vec<T> {
    let mut out = vec![T::zero(); y.len()];
    for ((y, g), out) in y.chunks(width).zip(g.chunks(width)).zip(out.chunks_mut(width)) {
        let dot = y.iter().zip(g).fold(T::zero(), |acc, (&y, &g)| acc + y * g);
        for ((o, &y), &g) in out.iter_mut().zip(y).zip(g) {
            *o = y * (g - dot);
        }
    }
    out
}

fn softmax_rows<T: num_traits::Float>(data: &[T], width: usize) -> Vec<T> {
    let mut out = data.to_vec();
    for row in out.chunks_mut(width) {
        let max = row.iter().copied().fold(T::neg_infinity(), T::max);
        let mut sum = T::zero();
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum = sum + *v;
        }
        let inv = T::one() / sum;
        row.iter_mut().for_each(|v| *v = *v * inv);
    }
    out
}

/// Rows of the LM head processed at once: `chunk × vocab` floats are alive at a time.
pub const LOG_PROB_CHUNK_ELEMENTS: usize = 1 << 24;

/// Logits in the dtype they are reduced over the vocabulary in: a bf16/f16 sum of 10⁵ terms
/// stalls at 256 (8-bit mantissa), so half-precision logits are upcast to f32 (as transformers
/// does); the op's outputs are then f32.
fn reduction_dtype(logits: Tensor) -> Result<Tensor> {
    match logits.dtype() {
        DType::BF16 | DType::F16 => logits.to_dtype(DType::F32),
        _ => Ok(logits),
    }
}

/// Per-row log-probability of `targets[i]` under `softmax(hidden[i] · Wᵀ)`, and the entropy of
/// that distribution. `hidden: [n, h]`, `lm_head: [vocab, h]` (frozen), `targets: [n]` (u32).
/// The log-probabilities are differentiable with respect to `hidden`; the entropy is a
/// detached metric.
pub fn completion_log_probs(hidden: &Tensor, lm_head: &Tensor, targets: &[u32]) -> Result<(Tensor, Tensor)> {
    let (n, _) = hidden.dims2()?;
    if n != targets.len() {
        candle_core::bail!("completion-log-probs: {n} rows but {} targets", targets.len())
    }
    let vocab = lm_head.dim(0)?;
    if let Some(bad) = targets.iter().find(|&&t| t as usize >= vocab) {
        candle_core::bail!("completion-log-probs: target id {bad} outside the vocabulary ({vocab})")
    }
    let chunk = (LOG_PROB_CHUNK_ELEMENTS / vocab).max(1);
    let detached = hidden.detach();
    let targets_t = Tensor::new(targets, hidden.device())?;
    let mut log_probs = Vec::with_capacity(n);
    let mut entropies = Vec::with_capacity(n);
    for start in (0..n).step_by(chunk) {
        let len = chunk.min(n - start);
        let logits = reduction_dtype(detached.narrow(0, start, len)?.matmul(&lm_head.t()?)?)?;
        let lse = logits.log_sum_exp(D::Minus1)?; // [len]
        let picked = logits.gather(&targets_t.narrow(0, start, len)?.unsqueeze(1)?, 1)?.squeeze(1)?;
        log_probs.push((picked - &lse)?);
        let probs = logits.broadcast_sub(&lse.unsqueeze(1)?)?.exp()?;
        let expected_logit = (probs * &logits)?.sum(D::Minus1)?;
        entropies.push((lse - expected_logit)?);
    }
    let values = Tensor::cat(&log_probs, 0)?;
    let entropy = Tensor::cat(&entropies, 0)?;
    if !hidden.track_op() {
        return Ok((values, entropy));
    }
    let op = CompletionLogProbs {
        lm_head: lm_head.clone(),
        targets: targets_t,
        chunk,
        values: Arc::new(Mutex::new(Some(values.to_device(&candle_core::Device::Cpu)?))),
    };
    Ok((hidden.apply_op1(op)?, entropy))
}

struct CompletionLogProbs {
    lm_head: Tensor,
    targets: Tensor,
    chunk: usize,
    /// Computed before the op is applied (on the CPU); the forward only hands them over.
    values: Arc<Mutex<Option<Tensor>>>,
}

impl CompletionLogProbs {
    fn take_values(&self) -> Result<CpuStorage> {
        let mut values = self.values.lock().map_err(|_| candle_core::Error::Msg("poisoned lock".into()))?;
        let values =
            values.take().ok_or_else(|| candle_core::Error::Msg("completion-log-probs: forward ran twice".into()))?;
        let (storage, layout) = values.storage_and_layout();
        match &*storage {
            Storage::Cpu(cpu) if layout.is_contiguous() && layout.start_offset() == 0 => Ok(cpu.clone()),
            _ => candle_core::bail!("completion-log-probs: values not contiguous on the CPU"),
        }
    }
}

impl CustomOp1 for CompletionLogProbs {
    fn name(&self) -> &'static str {
        "completion-log-probs"
    }

    fn cpu_fwd(&self, _storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let n = layout.dims()[0];
        Ok((self.take_values()?, Shape::from(n)))
    }

    fn cuda_fwd(&self, storage: &CudaStorage, layout: &Layout) -> Result<(CudaStorage, Shape)> {
        use candle_core::backend::BackendDevice;
        let n = layout.dims()[0];
        Ok((storage.device().storage_from_cpu_storage_owned(self.take_values()?)?, Shape::from(n)))
    }

    fn bwd(&self, hidden: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Result<Option<Tensor>> {
        // d log p(t) / d logits = onehot(t) − softmax(logits), recomputed chunk by chunk.
        let (n, _) = hidden.dims2()?;
        let hidden = hidden.detach();
        let mut grads = Vec::new();
        for start in (0..n).step_by(self.chunk) {
            let len = self.chunk.min(n - start);
            let h = hidden.narrow(0, start, len)?;
            let g = grad_y.narrow(0, start, len)?.unsqueeze(1)?; // [len, 1]
            let logits = reduction_dtype(h.matmul(&self.lm_head.t()?)?)?;
            let probs = softmax_last_dim(&logits)?;
            let g = g.to_dtype(probs.dtype())?;
            let grad_logits = probs.broadcast_mul(&g)?.neg()?;
            let grad_logits = grad_logits.scatter_add(&self.targets.narrow(0, start, len)?.unsqueeze(1)?, &g, 1)?;
            grads.push(grad_logits.to_dtype(self.lm_head.dtype())?.matmul(&self.lm_head)?);
        }
        Ok(Some(Tensor::cat(&grads, 0)?))
    }
}
