//! A local model with its tokenizer as a [`Generator`]: chat prompts in, completions out.
use std::path::Path;
use std::sync::Mutex;

use candle_core::{DType, Device};
use recode_data::prompt::{Message, render_chatml};
use recode_generate::{Completion, GenerateError, Generator, SamplingParams};
use recode_weights::{ChatTokenizer, load_checkpoint};

use crate::error::ModelError;
use crate::generate::{GenerateProgress, Generation, SamplingConfig, generate_continuous};
use crate::model::CausalLm;

/// Reports generation progress (rows done, tokens, seconds) to the caller.
pub type ProgressSink = Box<dyn FnMut(usize, usize, &GenerateProgress) + Send>;

/// A model, its tokenizer, and how many rows to decode together.
pub struct LocalModel {
    pub model: CausalLm,
    pub tokenizer: ChatTokenizer,
    /// Rows decoded together (default 8).
    pub batch_size: usize,
    description: String,
    progress: Mutex<Option<ProgressSink>>,
}

impl LocalModel {
    /// Loads a Hugging Face directory or GGUF file, and optionally a PEFT adapter directory.
    pub fn load(path: &Path, adapter: Option<&Path>, device: &Device, dtype: DType) -> Result<Self, ModelError> {
        let checkpoint = load_checkpoint(path, device, dtype)?;
        let mut model = CausalLm::from_tensors(&checkpoint.config, &checkpoint.tensors)?;
        let mut description =
            format!("{} ({:?}, {})", path.display(), dtype, if device.is_cpu() { "cpu" } else { "gpu" });
        if let Some(dir) = adapter {
            model.load_adapters(dir)?;
            description.push_str(&format!(" + adapter {}", dir.display()));
        }
        Ok(LocalModel::new(model, checkpoint.tokenizer, description))
    }

    pub fn new(model: CausalLm, tokenizer: ChatTokenizer, description: String) -> Self {
        LocalModel { model, tokenizer, batch_size: 8, description, progress: Mutex::new(None) }
    }

    pub fn set_progress(&self, sink: ProgressSink) {
        *self.progress.lock().expect("progress lock") = Some(sink);
    }

    /// Samples one completion per `(prompt ids, stream)`, `batch_size` rows decoded together
    /// (longest prompts first; finished rows are replaced by waiting ones).
    pub fn generate_ids(
        &self,
        prompts: &[Vec<u32>],
        streams: &[u64],
        config: &SamplingConfig,
    ) -> Result<Vec<Generation>, ModelError> {
        let mut order: Vec<usize> = (0..prompts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(prompts[i].len()));
        let sorted: Vec<Vec<u32>> = order.iter().map(|&i| prompts[i].clone()).collect();
        let sorted_streams: Vec<u64> = order.iter().map(|&i| streams[i]).collect();
        let decode = |ids: &[u32]| self.tokenizer.decode(ids).unwrap_or_default();
        let mut progress = self.progress.lock().expect("progress lock");
        let mut report = |p: GenerateProgress| {
            if let Some(sink) = progress.as_mut() {
                sink(p.rows_finished, prompts.len(), &p);
            }
        };
        let generations = generate_continuous(
            &self.model,
            &sorted,
            &sorted_streams,
            config,
            self.batch_size.max(1),
            self.tokenizer.pad_token_id(),
            &decode,
            &mut report,
        )?;
        let mut out: Vec<Option<Generation>> = vec![None; prompts.len()];
        for (&i, g) in order.iter().zip(generations) {
            out[i] = Some(g);
        }
        Ok(out.into_iter().map(|g| g.expect("every row generated")).collect())
    }

    /// The completion text of a generation: its tokens without the final stop token.
    pub fn completion_text(&self, generation: &Generation) -> Result<String, ModelError> {
        Ok(self.tokenizer.decode(generation.content_ids())?)
    }

    pub fn sampling_config(&self, params: &SamplingParams) -> SamplingConfig {
        SamplingConfig {
            max_new_tokens: params.max_new_tokens,
            temperature: params.temperature,
            top_p: params.top_p,
            top_k: params.top_k,
            seed: params.seed,
            stop_ids: self.tokenizer.eos_token_ids().to_vec(),
            stop_strings: params.stop.clone(),
        }
    }
}

impl Generator for LocalModel {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn generate(
        &self,
        prompts: &[Vec<Message>],
        params: &SamplingParams,
    ) -> Result<Vec<Vec<Completion>>, GenerateError> {
        let model_err = |e: ModelError| GenerateError::Model(e.to_string());
        let mut rows = Vec::with_capacity(prompts.len() * params.n);
        let mut streams = Vec::with_capacity(prompts.len() * params.n);
        for (p, messages) in prompts.iter().enumerate() {
            let ids = self.tokenizer.encode(&render_chatml(messages)).map_err(|e| model_err(e.into()))?;
            if ids.is_empty() {
                return Err(GenerateError::InvalidRequest(format!("prompt {p} is empty")));
            }
            for s in 0..params.n {
                rows.push(ids.clone());
                streams.push((p * params.n + s) as u64);
            }
        }
        let generations = self.generate_ids(&rows, &streams, &self.sampling_config(params)).map_err(model_err)?;
        let mut out = Vec::with_capacity(prompts.len());
        let mut it = generations.iter();
        for _ in prompts {
            let mut completions = Vec::with_capacity(params.n);
            for g in it.by_ref().take(params.n) {
                completions
                    .push(Completion { text: self.completion_text(g).map_err(model_err)?, truncated: g.truncated() });
            }
            out.push(completions);
        }
        Ok(out)
    }
}
