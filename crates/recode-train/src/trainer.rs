//! The training loop (spec §5): data → prompt → rollout → reward → advantage → loss → update.
//!
//! One [`Trainer::step`]:
//! 1. take P items from the shuffled data cursor and render their training prompts (§3.1);
//! 2. sample G completions per prompt with the current policy (adapters on), all rows of a
//!    generation batch decoded together with the KV cache;
//! 3. score each completion ([`recode_rl::Reward`]: format + ES* by default) and add DAPO's
//!    overlong penalty when enabled; with dynamic sampling, drop groups whose correctness is
//!    all equal and sample more prompts, up to `max_num_gen_batches` batches;
//! 4. group-normalised advantages;
//! 5. μ passes over the batch, split into mini-batches of prompts, each an AdamW update whose
//!    gradient is accumulated over micro-batches ([`crate::policy_gradient`]).
//!
//! SFT shares the loop without sampling: the target is the reference migration in the answer
//! format the reward checks.
//!
//! Randomness: the data order comes from the cursor (seeded, checkpointed); sampling uses one
//! random stream per completion derived from (seed, step, generation batch, row), so a resumed
//! run samples exactly what the uninterrupted one would have.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device};
use recode_data::Item;
use recode_data::prompt::training_prompt;
use recode_models::{AdapterConfig, CausalLm, ForwardMode, Generation, SamplingConfig, generate_with_streams};
use recode_rl::{
    Algorithm, CompletionRecord, DataCursor, DynamicBatch, JsonlAppender, MeanStd, ModelSource, Reward, Rng,
    StepMetrics, TrainConfig, group_advantages, lr_at, overlong_penalty, truncate_after_step,
};
use recode_weights::{ChatTokenizer, load_checkpoint};

use crate::checkpoint::{self, CheckpointError, TrainerState};
use crate::optim::{AdamW, AdamWConfig};
use crate::step::{Backprop, Rollouts, StepError, StepReport, policy_gradient, sft_gradient};

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{key}: {message}")]
    Config { key: String, message: String },
    #[error(transparent)]
    Data(#[from] recode_data::DataError),
    #[error(transparent)]
    Weights(#[from] recode_weights::WeightsError),
    #[error(transparent)]
    Model(#[from] recode_models::ModelError),
    #[error(transparent)]
    Step(#[from] StepError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Metrics(#[from] recode_rl::MetricsError),
    #[error("resume from {path}: {message}")]
    Resume { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("step {step}: {message}")]
    Numeric { step: u64, message: String },
}

impl From<candle_core::Error> for TrainError {
    fn from(e: candle_core::Error) -> Self {
        TrainError::Step(StepError::Candle(e))
    }
}

fn config_error(key: &str, message: impl Into<String>) -> TrainError {
    TrainError::Config { key: key.to_string(), message: message.into() }
}

/// A training item ready for the loop: its prompt ids and reference migration.
struct Example {
    item: Item,
    prompt: Vec<u32>,
}

/// What happened in one step, for the caller's progress display.
pub struct StepOutcome {
    pub metrics: StepMetrics,
    /// The checkpoint written after this step, if any.
    pub checkpoint: Option<PathBuf>,
}

pub struct Trainer {
    config: TrainConfig,
    model: CausalLm,
    tokenizer: ChatTokenizer,
    model_name: String,
    examples: Vec<Example>,
    /// Items skipped for prompts over `model.max_prompt_tokens`.
    pub skipped_prompts: usize,
    cursor: DataCursor,
    optimizer: AdamW,
    step: u64,
    metrics_log: JsonlAppender,
    completions_log: Option<JsonlAppender>,
}

impl Trainer {
    /// Loads the model and data of a validated config, adds fresh adapters and prepares the
    /// run directory. With `resume`, continues from that checkpoint (or from the newest one of
    /// that run directory) instead: adapter, optimizer, step and data cursor are restored and
    /// the logs are cut back to the checkpoint's step.
    pub fn new(config: TrainConfig, resume: Option<&Path>) -> Result<Trainer, TrainError> {
        let device = parse_device(&config.model.device)?;
        let dtype = match config.model.dtype.as_str() {
            "f32" => DType::F32,
            "bf16" => DType::BF16,
            "f16" => DType::F16,
            other => return Err(config_error("model.dtype", format!("expected f32, bf16 or f16, got {other:?}"))),
        };
        let (mut model, tokenizer, model_name) = load_model(&config, &device, dtype)?;
        let adapter = AdapterConfig {
            kind: match config.lora.kind {
                recode_rl::AdapterKind::Lora => recode_models::AdapterKind::Lora,
                recode_rl::AdapterKind::Dora => recode_models::AdapterKind::Dora,
            },
            rank: config.lora.r,
            alpha: config.lora.alpha,
            dropout: config.lora.dropout,
            targets: config.lora.targets.clone(),
            layers: (!config.lora.layers.is_empty()).then(|| config.lora.layers.clone()),
            use_rslora: false,
        };
        model.add_adapters(&adapter, config.seed)?;

        let items = recode_data::read_jsonl(&config.data.train)?;
        let mut examples = Vec::with_capacity(items.len());
        let mut skipped_prompts = 0;
        for item in items {
            let prompt = tokenizer.encode(&training_prompt(&item))?;
            if prompt.len() > config.model.max_prompt_tokens {
                skipped_prompts += 1;
            } else {
                examples.push(Example { item, prompt });
            }
        }
        if examples.is_empty() {
            return Err(config_error(
                "model.max_prompt_tokens",
                format!(
                    "every one of the {skipped_prompts} prompts of {} is longer than {} tokens",
                    config.data.train.display(),
                    config.model.max_prompt_tokens
                ),
            ));
        }
        let cursor = DataCursor::new(examples.len(), config.seed, config.data.shuffle)
            .map_err(|e| config_error("data.train", e.to_string()))?;
        let o = &config.optim;
        let optim_config = AdamWConfig {
            lr: o.lr,
            beta1: o.beta1,
            beta2: o.beta2,
            eps: o.adam_eps,
            weight_decay: o.weight_decay,
            max_grad_norm: o.max_grad_norm,
        };
        let optimizer = AdamW::new(model.trainable_vars(), optim_config)?;

        let run_dir = config.run_dir.clone();
        std::fs::create_dir_all(&run_dir)
            .map_err(|e| TrainError::Io { path: run_dir.clone(), message: e.to_string() })?;
        let mut trainer = Trainer {
            metrics_log: JsonlAppender::open(&run_dir.join("metrics.jsonl"))?,
            completions_log: None,
            config,
            model,
            tokenizer,
            model_name,
            examples,
            skipped_prompts,
            cursor,
            optimizer,
            step: 0,
        };
        match resume {
            Some(path) => trainer.restore(path)?,
            None => {
                if !checkpoint::list(&run_dir)?.is_empty() {
                    return Err(TrainError::Resume {
                        path: run_dir,
                        message: "this run directory already has checkpoints: pass --resume to continue it, or \
                                  choose another run_dir"
                            .into(),
                    });
                }
                // A fresh run must not append to an old (checkpoint-less) run's logs.
                for name in ["metrics.jsonl", "completions.jsonl"] {
                    truncate_after_step(&run_dir.join(name), 0)?;
                }
            }
        }
        if trainer.config.logging.completions {
            trainer.completions_log = Some(JsonlAppender::open(&run_dir.join("completions.jsonl"))?);
        }
        let text = trainer.config.to_toml_string();
        let config_path = run_dir.join("config.toml");
        recode_data::write_atomic(&config_path, text.as_bytes())
            .map_err(|e| TrainError::Io { path: config_path, message: e.to_string() })?;
        Ok(trainer)
    }

    fn restore(&mut self, path: &Path) -> Result<(), TrainError> {
        let dir = checkpoint::resolve(path)?;
        let resume_err = |message: String| TrainError::Resume { path: dir.clone(), message };
        let (state, moments) = checkpoint::load(&dir, self.model.device())?;
        if state.seed != self.config.seed {
            return Err(resume_err(format!("checkpoint seed {} but the config's is {}", state.seed, self.config.seed)));
        }
        self.model.load_adapters(&dir)?;
        // The adapter's shape must be the config's: load_adapters accepts any PEFT adapter.
        let vars = self.model.trainable_vars();
        if vars.len() != state.trainable_tensors {
            return Err(resume_err(format!(
                "the adapter has {} tensors but the config makes {}",
                state.trainable_tensors,
                vars.len()
            )));
        }
        self.optimizer = AdamW::new(vars, self.optimizer.config)?;
        self.optimizer.restore(moments).map_err(|e| resume_err(e.to_string()))?;
        self.cursor =
            DataCursor::from_state(state.cursor.clone(), self.examples.len()).map_err(|e| resume_err(e.to_string()))?;
        self.step = state.step;
        for name in ["metrics.jsonl", "completions.jsonl"] {
            truncate_after_step(&self.config.run_dir.join(name), state.step)?;
        }
        Ok(())
    }

    pub fn step_index(&self) -> u64 {
        self.step
    }

    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    pub fn model(&self) -> &CausalLm {
        &self.model
    }

    pub fn tokenizer(&self) -> &ChatTokenizer {
        &self.tokenizer
    }

    pub fn training_examples(&self) -> usize {
        self.examples.len()
    }

    /// Runs the remaining steps; `on_step` sees each step's outcome (progress display).
    pub fn run(&mut self, mut on_step: impl FnMut(&StepOutcome)) -> Result<(), TrainError> {
        while self.step < self.config.steps {
            let outcome = self.step()?;
            on_step(&outcome);
        }
        if checkpoint::list(&self.config.run_dir)?.last().map(|(s, _)| *s) != Some(self.step) {
            self.save_checkpoint()?;
        }
        Ok(())
    }

    /// One training step, its metrics logged and its checkpoint written when due.
    pub fn step(&mut self) -> Result<StepOutcome, TrainError> {
        let step = self.step + 1;
        let metrics = match self.config.algorithm.name {
            Algorithm::Sft => self.sft_step(step)?,
            Algorithm::Grpo | Algorithm::Dapo => self.rl_step(step)?,
        };
        self.metrics_log.append(&metrics)?;
        self.step = step;
        let every = self.config.checkpoint.every;
        let due = (every > 0 && step.is_multiple_of(every)) || step == self.config.steps;
        let checkpoint = if due { Some(self.save_checkpoint()?) } else { None };
        Ok(StepOutcome { metrics, checkpoint })
    }

    /// Writes a checkpoint of the current state (and prunes old ones per `keep_last`).
    pub fn save_checkpoint(&self) -> Result<PathBuf, TrainError> {
        let state = TrainerState {
            step: self.step,
            optimizer_step: self.optimizer.state.step,
            cursor: self.cursor.state().clone(),
            seed: self.config.seed,
            trainable_tensors: self.optimizer.vars.len(),
        };
        let dir = checkpoint::save(&self.config.run_dir, &state, &self.optimizer.state, |dir| {
            self.model.save_adapters(dir, &self.model_name).map_err(|e| e.to_string())
        })?;
        if let Some(keep) = self.config.checkpoint.keep_last {
            checkpoint::prune(&self.config.run_dir, keep.max(1))?;
        }
        Ok(dir)
    }

    fn lr(&self, step: u64) -> f64 {
        let o = &self.config.optim;
        // The schedule's position is the number of steps done before this one, as an LR
        // scheduler stepped after each optimizer step (warm-up starts at 0).
        lr_at(o.lr, o.schedule, step - 1, o.warmup_steps, self.config.steps, o.min_lr_ratio)
    }

    /// The adapter-dropout seed of one update of a step: a function of the run's seed only, so a
    /// resumed run draws the masks an uninterrupted one would. Its own stream family, apart
    /// from sampling's.
    fn dropout_seed(&self, step: u64, update: u64) -> u64 {
        let family = Rng::derive(self.config.seed, DROPOUT_STREAMS).next_u64();
        Rng::derive(family, step * 1024 + update).next_u64()
    }

    /// The backward pass of update `update` of step `step`.
    fn backprop(&self, step: u64, update: u64) -> Backprop {
        let a = &self.config.algorithm;
        Backprop {
            micro_batch: a.micro_batch_size,
            dropout_seed: self.dropout_seed(step, update),
            checkpointed: a.gradient_checkpointing,
        }
    }

    fn sampling_config(&self, step: u64, batch: usize) -> SamplingConfig {
        let s = &self.config.sampling;
        SamplingConfig {
            max_new_tokens: s.max_new_tokens,
            temperature: s.temperature,
            top_p: s.top_p,
            top_k: s.top_k,
            seed: Rng::derive(self.config.seed, step * 1024 + batch as u64).next_u64(),
            stop_ids: self.tokenizer.eos_token_ids().to_vec(),
            stop_strings: Vec::new(),
        }
    }

    /// Samples G completions for each of the next P prompts.
    fn sample_groups(&mut self, step: u64, batch: usize) -> Result<Vec<Group>, TrainError> {
        let (p, g) = (self.config.algorithm.prompts_per_step, self.config.algorithm.group_size);
        let indices = self.cursor.next_indices(p);
        let rows: Vec<Vec<u32>> =
            indices.iter().flat_map(|&i| std::iter::repeat_n(self.examples[i].prompt.clone(), g)).collect();
        let streams: Vec<u64> = (0..rows.len() as u64).collect();
        let sampling = self.sampling_config(step, batch);
        let decode = |ids: &[u32]| self.tokenizer.decode(ids).unwrap_or_default();
        let generations = generate_with_streams(
            &self.model,
            &rows,
            &streams,
            &sampling,
            self.tokenizer.pad_token_id(),
            &decode,
            &mut |_| {},
        )?;
        let mut groups = Vec::with_capacity(p);
        let mut generations = generations.into_iter();
        for &index in &indices {
            let completions: Vec<Generation> = generations.by_ref().take(g).collect();
            let ordinal = batch * p + groups.len();
            groups.push(Group { ordinal, example: index, completions, texts: Vec::new(), rewards: Vec::new() });
        }
        Ok(groups)
    }

    fn score(&self, group: &mut Group) -> Result<(), TrainError> {
        let target = &self.examples[group.example].item.new_code;
        let a = &self.config.algorithm;
        group.rewards.clear();
        group.texts.clear();
        for generation in &group.completions {
            let text = self.tokenizer.decode(generation.content_ids())?;
            let mut reward = self.config.reward.score(&text, target);
            if a.overlong.enabled {
                let penalty = overlong_penalty(
                    generation.ids.len(),
                    self.config.sampling.max_new_tokens,
                    a.overlong.buffer_len,
                    a.overlong.penalty_factor,
                );
                reward = reward.with_overlong(penalty);
            }
            group.rewards.push(reward);
            group.texts.push(text);
        }
        Ok(())
    }

    fn rl_step(&mut self, step: u64) -> Result<StepMetrics, TrainError> {
        let a = self.config.algorithm.clone();
        let (mut seconds_generating, mut seconds_scoring) = (0.0, 0.0);
        let mut generated: Vec<Group> = Vec::new();
        let mut sample_and_score = |this: &mut Self, batch: usize| -> Result<Vec<Group>, TrainError> {
            let started = Instant::now();
            let mut groups = this.sample_groups(step, batch)?;
            seconds_generating += started.elapsed().as_secs_f64();
            let started = Instant::now();
            for group in &mut groups {
                this.score(group)?;
            }
            seconds_scoring += started.elapsed().as_secs_f64();
            generated.extend(groups.iter().cloned());
            Ok(groups)
        };
        let (groups, groups_dropped, generation_batches) = if a.dynamic_sampling {
            let mut dynamic = DynamicBatch::new(a.prompts_per_step, a.max_num_gen_batches);
            let mut batch = 0;
            loop {
                let groups = sample_and_score(self, batch)?;
                batch += 1;
                let offered = groups.into_iter().map(|g| {
                    let metric = g.rewards.iter().map(|r| dynamic_metric(r, a.dynamic_sampling_metric)).collect();
                    (g, metric)
                });
                if dynamic.offer(offered) != recode_rl::DynamicStatus::NeedMore {
                    break;
                }
            }
            let outcome = dynamic.finish();
            (outcome.groups, outcome.dropped, outcome.generation_batches)
        } else {
            (sample_and_score(self, 0)?, 0, 1)
        };

        let started = Instant::now();
        let totals: Vec<f64> = groups.iter().flat_map(|g| g.rewards.iter().map(|r| r.total)).collect();
        let (advantages, zero_variance) = if groups.is_empty() {
            (Vec::new(), None)
        } else {
            let adv = group_advantages(&totals, a.group_size, a.scale_rewards, a.std_epsilon)
                .map_err(|e| TrainError::Numeric { step, message: e.to_string() })?;
            let fraction = adv.zero_variance_fraction();
            (adv.values, Some(fraction))
        };
        let pad = self.tokenizer.pad_token_id();
        let mut rollouts = Rollouts {
            prompts: Vec::new(),
            completions: Vec::new(),
            old_log_probs: None,
            advantages,
            keep: Vec::new(),
        };
        for group in &groups {
            for generation in &group.completions {
                rollouts.prompts.push(self.examples[group.example].prompt.clone());
                rollouts.completions.push(generation.ids.clone());
                rollouts.keep.push(!(a.mask_truncated && generation.truncated()));
            }
        }
        let mini_batch_rows = a.mini_batch_prompts.unwrap_or(a.prompts_per_step).max(1) * a.group_size;
        let updates_per_pass = rollouts.completions.len().div_ceil(mini_batch_rows);
        // Several updates on one batch make all but the first off-policy: π_old is then the
        // policy that sampled, its log-probs computed before the first update.
        if a.num_iterations > 1 || updates_per_pass > 1 {
            let mut old = Vec::with_capacity(rollouts.completions.len());
            for start in (0..rollouts.completions.len()).step_by(a.micro_batch_size.max(1)) {
                let rows = start..(start + a.micro_batch_size.max(1)).min(rollouts.completions.len());
                let lp = recode_models::sequence_log_probs(
                    &self.model,
                    &rollouts.prompts[rows.clone()],
                    &rollouts.completions[rows.clone()],
                    pad,
                    ForwardMode::INFERENCE,
                )?;
                let values = lp.log_probs.to_dtype(DType::F32)?.to_vec2::<f32>()?;
                old.extend(values.into_iter().zip(&rollouts.completions[rows]).map(|(row, c)| row[..c.len()].to_vec()));
            }
            rollouts.old_log_probs = Some(old);
        }
        let settings = a.loss_settings(self.config.sampling.max_new_tokens);
        let lr = self.lr(step);
        let mut report = StepReport::default();
        let mut grad_norm = 0.0;
        if !rollouts.completions.is_empty() {
            for pass in 0..a.num_iterations.max(1) {
                for start in (0..rollouts.completions.len()).step_by(mini_batch_rows) {
                    let part = rollouts.rows(start..(start + mini_batch_rows).min(rollouts.completions.len()));
                    let vars = self.optimizer.vars.clone();
                    let update = (pass * rollouts.completions.len() + start) as u64;
                    let (grads, r) =
                        policy_gradient(&self.model, &vars, &part, &settings, pad, self.backprop(step, update))?;
                    if !r.loss.is_finite() {
                        return Err(TrainError::Numeric { step, message: format!("loss is {}", r.loss) });
                    }
                    grad_norm = self.optimizer.step(&grads, lr)?;
                    if !grad_norm.is_finite() {
                        return Err(TrainError::Numeric { step, message: format!("gradient norm is {grad_norm}") });
                    }
                    report = r;
                }
            }
        }
        let seconds_training = started.elapsed().as_secs_f64();

        if let Some(log) = self.completions_log.as_mut() {
            let mut advantage_of: BTreeMap<(usize, usize), f64> = BTreeMap::new();
            let mut next = rollouts.advantages.iter();
            for group in &groups {
                for sample in 0..group.completions.len() {
                    advantage_of.insert((group.ordinal, sample), *next.next().expect("one advantage per completion"));
                }
            }
            for group in &generated {
                let scored = group.completions.iter().zip(&group.texts).zip(&group.rewards);
                for (sample, ((generation, text), reward)) in scored.enumerate() {
                    log.append(&CompletionRecord {
                        step,
                        prompt_id: self.examples[group.example].item.id.clone().unwrap_or_default(),
                        sample,
                        completion: text.clone(),
                        rewards: reward
                            .components(&self.config.reward)
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect(),
                        advantage: advantage_of.get(&(group.ordinal, sample)).copied(),
                        length: generation.ids.len(),
                        truncated: generation.truncated(),
                    })?;
                }
            }
        }

        let all: Vec<&Generation> = generated.iter().flat_map(|g| &g.completions).collect();
        let rewards: Vec<&Reward> = generated.iter().flat_map(|g| &g.rewards).collect();
        let mut components: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for reward in &rewards {
            for (name, value) in reward.components(&self.config.reward) {
                components.entry(name.to_string()).or_default().push(value);
            }
        }
        let total: Vec<f64> = rewards.iter().map(|r| r.total).collect();
        let reward = MeanStd::of(&total);
        let lengths: Vec<f64> = all.iter().map(|g| g.ids.len() as f64).collect();
        let prompt_tokens: Vec<f64> = generated
            .iter()
            .flat_map(|g| std::iter::repeat_n(self.examples[g.example].prompt.len() as f64, g.completions.len()))
            .collect();
        Ok(StepMetrics {
            step,
            epoch: self.cursor.epochs_done(),
            completions: rollouts.completions.len(),
            reward_mean: reward.mean,
            reward_std: reward.std,
            reward_components: components.into_iter().map(|(k, v)| (k, MeanStd::of(&v))).collect(),
            zero_variance_group_fraction: zero_variance,
            groups_dropped,
            generation_batches,
            loss: report.loss,
            clip_fraction_low: Some(report.clip_fraction_low),
            clip_fraction_high: Some(report.clip_fraction_high),
            clip_fraction_dual: a.dual_clip.map(|_| report.clip_fraction_dual),
            kl: report.mean_kl,
            entropy: (report.tokens > 0).then_some(report.mean_entropy),
            grad_norm,
            lr,
            prompt_tokens_mean: MeanStd::of(&prompt_tokens).mean,
            completion_length_mean: MeanStd::of(&lengths).mean,
            completion_length_max: all.iter().map(|g| g.ids.len()).max().unwrap_or(0),
            truncated_fraction: all.iter().filter(|g| g.truncated()).count() as f64 / all.len().max(1) as f64,
            seconds_generating,
            seconds_scoring,
            seconds_training,
        })
    }

    fn sft_step(&mut self, step: u64) -> Result<StepMetrics, TrainError> {
        let started = Instant::now();
        let indices = self.cursor.next_indices(self.config.algorithm.prompts_per_step);
        let mut prompts = Vec::with_capacity(indices.len());
        let mut targets = Vec::with_capacity(indices.len());
        let end = self.tokenizer.eos_token_ids().first().copied();
        for &i in &indices {
            let example = &self.examples[i];
            let mut ids = self.tokenizer.encode(&sft_target(&example.item))?;
            ids.extend(end);
            prompts.push(example.prompt.clone());
            targets.push(ids);
        }
        let vars = self.optimizer.vars.clone();
        let pad = self.tokenizer.pad_token_id();
        let (grads, report) = sft_gradient(&self.model, &vars, &prompts, &targets, pad, self.backprop(step, 0))?;
        if !report.loss.is_finite() {
            return Err(TrainError::Numeric { step, message: format!("loss is {}", report.loss) });
        }
        let lr = self.lr(step);
        let grad_norm = self.optimizer.step(&grads, lr)?;
        let lengths: Vec<f64> = targets.iter().map(|t| t.len() as f64).collect();
        Ok(StepMetrics {
            step,
            epoch: self.cursor.epochs_done(),
            completions: targets.len(),
            reward_mean: 0.0,
            reward_std: 0.0,
            reward_components: BTreeMap::new(),
            zero_variance_group_fraction: None,
            groups_dropped: 0,
            generation_batches: 0,
            loss: report.loss,
            clip_fraction_low: None,
            clip_fraction_high: None,
            clip_fraction_dual: None,
            kl: None,
            entropy: Some(report.mean_entropy),
            grad_norm,
            lr,
            prompt_tokens_mean: MeanStd::of(&prompts.iter().map(|p| p.len() as f64).collect::<Vec<_>>()).mean,
            completion_length_mean: MeanStd::of(&lengths).mean,
            completion_length_max: targets.iter().map(Vec::len).max().unwrap_or(0),
            truncated_fraction: 0.0,
            seconds_generating: 0.0,
            seconds_scoring: 0.0,
            seconds_training: started.elapsed().as_secs_f64(),
        })
    }
}

/// One prompt's sampled completions, their decoded texts and their rewards.
#[derive(Clone)]
struct Group {
    /// Position among the step's generated groups (generation batch × P + index).
    ordinal: usize,
    example: usize,
    completions: Vec<Generation>,
    /// Each completion's text without its stop token (what was scored and is logged).
    texts: Vec<String>,
    rewards: Vec<Reward>,
}

fn dynamic_metric(reward: &Reward, metric: recode_rl::DynamicSamplingMetric) -> f64 {
    match metric {
        recode_rl::DynamicSamplingMetric::Correctness => reward.correctness_or_total(),
        recode_rl::DynamicSamplingMetric::Total => reward.total,
    }
}

/// What SFT teaches after the prompt's prefilled `<think>`: close it and give the reference
/// migration in the answer format the reward checks (spec §4.1).
pub fn sft_target(item: &Item) -> String {
    format!("\n</think>\n<answer>\n```python\n{}\n```\n</answer>", item.new_code)
}

fn parse_device(name: &str) -> Result<Device, TrainError> {
    let cuda =
        |ordinal: usize| Device::new_cuda(ordinal).map_err(|e| config_error("model.device", format!("{name}: {e}")));
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" => cuda(0),
        other => match other.strip_prefix("cuda:").and_then(|n| n.parse().ok()) {
            Some(ordinal) => cuda(ordinal),
            None => {
                Err(config_error("model.device", format!("expected \"cpu\", \"cuda\" or \"cuda:N\", got {other:?}")))
            }
        },
    }
}

/// Gain on the tiny model's final norm (see [`load_model`]).
const TINY_OUTPUT_GAIN: f64 = 4.0;

/// The stream (of the run's seed) that adapter-dropout seeds derive from.
const DROPOUT_STREAMS: u64 = 0xD80F_0000_0000_0001;

/// The base model: a checkpoint on disk, or the tiny random model of `[model.tiny]`.
fn load_model(
    config: &TrainConfig,
    device: &Device,
    dtype: DType,
) -> Result<(CausalLm, ChatTokenizer, String), TrainError> {
    match config.model.source() {
        ModelSource::Path(path) => {
            let checkpoint = load_checkpoint(&path, device, dtype)?;
            let model = CausalLm::from_tensors(&checkpoint.config, &checkpoint.tensors)?;
            Ok((model, checkpoint.tokenizer, path.display().to_string()))
        }
        ModelSource::Tiny => {
            let t = &config.model.tiny;
            let tokenizer = recode_weights::testing::tiny_tokenizer();
            if t.vocab_size < tokenizer.vocab_size() {
                return Err(config_error(
                    "model.tiny.vocab_size",
                    format!(
                        "must be at least {} (the tiny tokenizer's ids), got {}",
                        tokenizer.vocab_size(),
                        t.vocab_size
                    ),
                ));
            }
            let mut shape = recode_weights::testing::tiny_config(recode_weights::Architecture::Qwen2);
            shape.vocab_size = t.vocab_size;
            shape.hidden_size = t.hidden_size;
            shape.intermediate_size = t.intermediate_size;
            shape.num_hidden_layers = t.num_hidden_layers;
            shape.num_attention_heads = t.num_attention_heads;
            shape.num_key_value_heads = t.num_key_value_heads;
            shape.head_dim = t.hidden_size / t.num_attention_heads;
            shape.max_position_embeddings = config.model.max_prompt_tokens + config.sampling.max_new_tokens;
            let mut checkpoint =
                recode_weights::testing::random_checkpoint(&shape, tokenizer, config.seed, device, dtype)?;
            // A random LM head over an RMS-normalised state bounds every logit near 1, which
            // caps any token's probability near 1 / vocabulary: no policy could learn to prefer
            // anything. A gain on the final norm lets the tiny model express the peaked
            // distributions a trained model has.
            let norm = checkpoint.tensors.get_mut("model.norm.weight").expect("the final norm exists");
            *norm = (&*norm * TINY_OUTPUT_GAIN)?;
            let model = CausalLm::from_tensors(&checkpoint.config, &checkpoint.tensors)?;
            Ok((model, checkpoint.tokenizer, "tiny".to_string()))
        }
    }
}
