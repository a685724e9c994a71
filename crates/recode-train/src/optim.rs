//! AdamW over the adapter parameters, with its whole state exposed for checkpoints.
use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

/// Hyper-parameters; defaults are PyTorch's / Hugging Face's (β = (0.9, 0.999), ε = 1e-8,
/// weight decay 0.0 as TRL's GRPOConfig), learning rate 1e-6 (the paper's, spec §5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// Clip the global gradient norm to this (`None` = no clipping). Default 1.0.
    pub max_grad_norm: Option<f64>,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig { lr: 1e-6, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, max_grad_norm: Some(1.0) }
    }
}

/// The moments and step count (what a checkpoint must hold to resume exactly).
#[derive(Debug, Clone)]
pub struct AdamWState {
    pub step: u64,
    pub first_moments: Vec<Tensor>,
    pub second_moments: Vec<Tensor>,
}

pub struct AdamW {
    pub config: AdamWConfig,
    pub vars: Vec<Var>,
    pub state: AdamWState,
}

impl AdamW {
    pub fn new(vars: Vec<Var>, config: AdamWConfig) -> candle_core::Result<Self> {
        let zeros = |v: &Var| v.as_tensor().zeros_like();
        let state = AdamWState {
            step: 0,
            first_moments: vars.iter().map(zeros).collect::<Result<_, _>>()?,
            second_moments: vars.iter().map(zeros).collect::<Result<_, _>>()?,
        };
        Ok(AdamW { config, vars, state })
    }

    /// Replaces the moments and step count with a checkpoint's, checking every shape.
    pub fn restore(&mut self, state: AdamWState) -> candle_core::Result<()> {
        if state.first_moments.len() != self.vars.len() || state.second_moments.len() != self.vars.len() {
            candle_core::bail!(
                "optimizer state has {} tensors, the adapter {}",
                state.first_moments.len(),
                self.vars.len()
            )
        }
        for (i, var) in self.vars.iter().enumerate() {
            for moment in [&state.first_moments[i], &state.second_moments[i]] {
                if moment.dims() != var.dims() {
                    candle_core::bail!(
                        "optimizer moment {i} has shape {:?}, the parameter {:?}",
                        moment.dims(),
                        var.dims()
                    )
                }
            }
        }
        let Some(first) = self.vars.first() else {
            self.state = state;
            return Ok(());
        };
        let (device, dtype) = (first.device().clone(), first.dtype());
        let convert = |t: Vec<Tensor>| {
            t.into_iter().map(|t| t.to_device(&device)?.to_dtype(dtype)).collect::<candle_core::Result<Vec<_>>>()
        };
        self.state = AdamWState {
            step: state.step,
            first_moments: convert(state.first_moments)?,
            second_moments: convert(state.second_moments)?,
        };
        Ok(())
    }

    /// Applies one update with `grads` (one per var) at learning rate `lr`; returns the global
    /// gradient norm before clipping.
    pub fn step(&mut self, grads: &[Tensor], lr: f64) -> candle_core::Result<f64> {
        if grads.len() != self.vars.len() {
            candle_core::bail!("{} gradients for {} parameters", grads.len(), self.vars.len())
        }
        let mut norm_sq = 0.0f64;
        for g in grads {
            norm_sq += g.sqr()?.sum_all()?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        }
        let norm = norm_sq.sqrt();
        let scale = match self.config.max_grad_norm {
            Some(max) if norm > max => max / (norm + 1e-6),
            _ => 1.0,
        };
        let c = self.config;
        self.state.step += 1;
        let t = self.state.step as i32;
        let (bias1, bias2) = (1.0 - c.beta1.powi(t), 1.0 - c.beta2.powi(t));
        for (i, var) in self.vars.iter().enumerate() {
            let g = (&grads[i] * scale)?;
            let m = ((&self.state.first_moments[i] * c.beta1)? + (&g * (1.0 - c.beta1))?)?;
            let v = ((&self.state.second_moments[i] * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?;
            let update = ((&m / bias1)? / ((&v / bias2)?.sqrt()? + c.eps)?)?;
            let decayed = (var.as_tensor() * (1.0 - lr * c.weight_decay))?;
            var.set(&(decayed - (update * lr)?)?)?;
            self.state.first_moments[i] = m;
            self.state.second_moments[i] = v;
        }
        Ok(norm)
    }
}
