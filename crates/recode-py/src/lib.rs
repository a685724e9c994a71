//! The `recode` Python package (PyO3 + maturin): ReCode's rewards as TRL reward functions and
//! a verl `compute_score`, the prompt renderers and the data validator, all from the crates the
//! `recode` CLI uses.
//!
//! This file is the pure-Rust core (batch scoring on a fork-safe thread pool, the reading of
//! TRL's conversational completions); it is compiled and tested by `cargo test` without Python.
//! The bindings are in `python.rs`, behind the `python` feature that `maturin build` enables
//! (see `pyproject.toml`): linking them needs a Python interpreter, which `cargo test
//! --workspace` must not require.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use recode_data::prompt::ASSISTANT_PREFILL;
use recode_rewards::{Mode, Scores};

#[cfg(feature = "python")]
mod python;

/// Environment variable that sets the number of scoring threads (default: rayon's, i.e.
/// `RAYON_NUM_THREADS` or the number of logical cores).
pub const THREADS_ENV: &str = "RECODE_NUM_THREADS";

/// Batches shorter than this are scored on the calling thread: handing them to the pool costs
/// more than it saves.
pub const MIN_PARALLEL_BATCH: usize = 4;

/// Parses `"parity"` / `"fixed"`.
pub fn parse_mode(name: &str) -> Option<Mode> {
    match name {
        "parity" => Some(Mode::Parity),
        "fixed" => Some(Mode::Fixed),
        _ => None,
    }
}

/// The name of a mode, as the CLI writes it.
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Parity => "parity",
        Mode::Fixed => "fixed",
    }
}

/// The text recode scores from a conversational completion's last assistant message.
///
/// Rewards are defined on the text generated after the prompt's prefilled
/// `Let me solve this step by step.\n<think>`. Older TRL versions put the prefill of a
/// conversational prompt back in front of the generated text ("bootstrap"); it is removed here
/// so that such completions score like plain-string ones. Nothing else is changed.
pub fn generated_text(assistant_content: &str) -> &str {
    assistant_content.strip_prefix(ASSISTANT_PREFILL).unwrap_or(assistant_content)
}

/// Scores every `(completion, target)` pair in parallel, in input order.
pub fn score_batch<C: AsRef<str> + Sync, T: AsRef<str> + Sync>(
    completions: &[C],
    targets: &[T],
    mode: Mode,
) -> Vec<Scores> {
    assert_eq!(completions.len(), targets.len(), "one target per completion");
    let one = |(c, t): (&C, &T)| recode_rewards::score(c.as_ref(), t.as_ref(), mode);
    if completions.len() < MIN_PARALLEL_BATCH {
        return completions.iter().zip(targets).map(one).collect();
    }
    pool().install(|| completions.par_iter().zip(targets.par_iter()).map(one).collect())
}

/// The process's scoring pool, rebuilt after a `fork()`.
///
/// rayon's global pool must not be used in a forked child: its worker threads exist only in
/// the parent, so the child would wait for them forever. Reward code runs in forked processes
/// (multiprocessing's default start method on Linux, dataloader workers, Ray), so the pool is
/// owned here and tagged with the id of the process that built it.
fn pool() -> Arc<rayon::ThreadPool> {
    static POOL: Mutex<Option<(u32, Arc<rayon::ThreadPool>)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match slot.as_ref() {
        Some((owner, pool)) if *owner == pid => return Arc::clone(pool),
        // Inherited from the parent: its threads are gone; dropping it would signal them.
        Some(_) => std::mem::forget(slot.take()),
        None => {}
    }
    let pool = Arc::new(build_pool());
    *slot = Some((pid, Arc::clone(&pool)));
    pool
}

fn build_pool() -> rayon::ThreadPool {
    let threads = std::env::var(THREADS_ENV).ok().and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(0);
    let builder = rayon::ThreadPoolBuilder::new().num_threads(threads).thread_name(|i| format!("recode-score-{i}"));
    // Building fails only when the OS refuses threads; scoring then runs on one helper thread
    // rather than failing the training step.
    builder
        .build()
        .unwrap_or_else(|_| rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a one-thread pool"))
}

/// Threads the scoring pool uses (builds it if needed).
pub fn num_threads() -> usize {
    pool().current_num_threads()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\nrename\n</think>\n<answer>\n```python\nimport numpy as np\nx = np.prod(a)\n```\n</answer>";
    const TARGET: &str = "import numpy as np\nx = np.prod(a)";

    #[test]
    fn batch_matches_single_scores_in_order() {
        let completions: Vec<String> =
            (0..37).map(|i| if i % 3 == 0 { GOOD.to_string() } else { format!("{GOOD}{}", "x".repeat(i)) }).collect();
        let targets = vec![TARGET; completions.len()];
        for mode in [Mode::Parity, Mode::Fixed] {
            let batch = score_batch(&completions, &targets, mode);
            assert_eq!(batch.len(), completions.len());
            for (i, (c, s)) in completions.iter().zip(&batch).enumerate() {
                assert_eq!(*s, recode_rewards::score(c, TARGET, mode), "case {i}");
            }
            assert_eq!(batch[0].total, 3.0);
            assert_eq!(batch[1].format, -1.0);
        }
    }

    #[test]
    fn short_and_empty_batches() {
        assert!(score_batch::<&str, &str>(&[], &[], Mode::Parity).is_empty());
        let one = score_batch(&[GOOD], &[TARGET], Mode::Fixed);
        assert_eq!(one[0].es_star, 2.0);
    }

    #[test]
    fn prefill_is_removed_once_and_only_at_the_start() {
        let text = format!("{ASSISTANT_PREFILL}{GOOD}");
        assert_eq!(generated_text(&text), GOOD);
        assert_eq!(generated_text(GOOD), GOOD);
        let twice = format!("{ASSISTANT_PREFILL}{ASSISTANT_PREFILL}");
        assert_eq!(generated_text(&twice), ASSISTANT_PREFILL);
    }

    #[test]
    fn modes_by_name() {
        assert_eq!(parse_mode("parity"), Some(Mode::Parity));
        assert_eq!(parse_mode("fixed"), Some(Mode::Fixed));
        assert_eq!(parse_mode("Fixed"), None);
        assert_eq!(mode_name(Mode::Fixed), "fixed");
        assert!(num_threads() >= 1);
    }
}
