//! A key/value cache for batched decoding: preallocated per layer and written in place, so a
//! decoding step does not copy the cache; rows can be dropped when they finish.
use candle_core::{DType, Device, Tensor};
use recode_weights::ModelConfig;

use crate::error::ModelError;

#[derive(Debug)]
pub struct KvCache {
    /// Per layer: keys and values `[b, kv_heads, capacity, head_dim]`.
    layers: Vec<(Tensor, Tensor)>,
    len: usize,
    capacity: usize,
}

impl KvCache {
    /// Room for `capacity` columns of `batch` rows.
    pub fn new(
        config: &ModelConfig,
        batch: usize,
        capacity: usize,
        device: &Device,
        dtype: DType,
    ) -> Result<Self, ModelError> {
        let shape = (batch, config.num_key_value_heads, capacity, config.head_dim);
        let layers = (0..config.num_hidden_layers)
            .map(|_| Ok((Tensor::zeros(shape, dtype, device)?, Tensor::zeros(shape, dtype, device)?)))
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(KvCache { layers, len: 0, capacity })
    }

    /// Columns filled so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes layer `layer`'s new keys and values `[b, kv_heads, s, d]` after the filled
    /// columns and returns all of them (`[b, kv_heads, len + s, d]`, views into the cache).
    pub fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let s = k.dim(2)?;
        if self.len + s > self.capacity {
            candle_core::bail!("kv cache full: {} + {s} columns > capacity {}", self.len, self.capacity)
        }
        let (ks, vs) = &self.layers[layer];
        ks.slice_set(&k.contiguous()?, 2, self.len)?;
        vs.slice_set(&v.contiguous()?, 2, self.len)?;
        Ok((ks.narrow(2, 0, self.len + s)?, vs.narrow(2, 0, self.len + s)?))
    }

    /// Marks `s` more columns filled (after every layer has appended them).
    pub fn advance(&mut self, s: usize) {
        self.len += s;
    }

    /// A new cache with `top`'s rows (its columns from `skip` on) above `bottom`'s, each part's
    /// filled columns right-aligned to end at column `width`; room for `capacity` columns.
    pub fn stack(
        top: &KvCache,
        skip: usize,
        bottom: &KvCache,
        width: usize,
        capacity: usize,
    ) -> Result<KvCache, ModelError> {
        let top_width = top.len.checked_sub(skip).filter(|&w| w <= width);
        if top_width.is_none() || bottom.len > width || width > capacity {
            return Err(ModelError::InvalidRequest(format!(
                "cannot stack caches of {} (from column {skip}) and {} columns into {width} of {capacity}",
                top.len, bottom.len
            )));
        }
        let part = |t: &Tensor, from: usize, used: usize| -> candle_core::Result<Tensor> {
            let filled = t.narrow(2, from, used)?;
            if used == width {
                return Ok(filled);
            }
            let (b, heads, _, d) = t.dims4()?;
            Tensor::cat(&[&Tensor::zeros((b, heads, width - used, d), t.dtype(), t.device())?, &filled], 2)
        };
        let top_width = top_width.unwrap_or_default();
        let both = |t: &Tensor, b: &Tensor| -> candle_core::Result<Tensor> {
            let rows = Tensor::cat(&[&part(t, skip, top_width)?, &part(b, 0, bottom.len)?], 0)?;
            let (n, heads, _, d) = rows.dims4()?;
            let full = Tensor::zeros((n, heads, capacity, d), rows.dtype(), rows.device())?;
            full.slice_set(&rows, 2, 0)?;
            Ok(full)
        };
        let layers = top
            .layers
            .iter()
            .zip(&bottom.layers)
            .map(|((tk, tv), (bk, bv))| Ok((both(tk, bk)?, both(tv, bv)?)))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(KvCache { layers, len: width, capacity })
    }

    /// Keeps only the given rows, in the given order.
    pub fn select_rows(&mut self, rows: &[usize]) -> Result<(), ModelError> {
        let device = self.layers.first().map(|(k, _)| k.device().clone()).unwrap_or(Device::Cpu);
        let index = Tensor::from_vec(rows.iter().map(|&r| r as u32).collect::<Vec<_>>(), rows.len(), &device)?;
        for (k, v) in &mut self.layers {
            *k = k.index_select(&index, 0)?;
            *v = v.index_select(&index, 0)?;
        }
        Ok(())
    }
}
