//! Dataset statistics with a pluggable length measure.
use std::collections::BTreeMap;
use std::convert::Infallible;

use serde::Serialize;

use crate::item::Item;
use crate::prompt::training_prompt;

/// The key under which items without an `update_type` (or, in [`Stats::by_rule`], without a
/// string `validation.rule`) are counted.
pub const UNSPECIFIED: &str = "(none)";

/// min / mean / median / max of a list of lengths. The median of an even count is the mean
/// of the two middle values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LengthSummary {
    pub min: usize,
    pub mean: f64,
    pub median: f64,
    pub max: usize,
}

impl LengthSummary {
    /// `None` for an empty list.
    pub fn of(lengths: &[usize]) -> Option<LengthSummary> {
        if lengths.is_empty() {
            return None;
        }
        let mut sorted = lengths.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        let total: u128 = sorted.iter().map(|&l| l as u128).sum();
        let median =
            if n % 2 == 1 { sorted[n / 2] as f64 } else { (sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0 };
        Some(LengthSummary { min: sorted[0], mean: total as f64 / n as f64, median, max: sorted[n - 1] })
    }
}

/// Counts and lengths of a list of items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Number of items.
    pub items: usize,
    /// Items per `dependency` (exact string; `Numpy` and `numpy` are different libraries).
    pub by_dependency: BTreeMap<String, usize>,
    /// Items per `update_type`; items without one are counted under [`UNSPECIFIED`].
    pub by_update_type: BTreeMap<String, usize>,
    /// Items per `validation.rule`; empty when no item has a string `validation.rule`,
    /// otherwise items without one are counted under [`UNSPECIFIED`].
    pub by_rule: BTreeMap<String, usize>,
    /// Length of `old_code`; `None` when there are no items.
    pub old_code: Option<LengthSummary>,
    /// Length of `new_code`.
    pub new_code: Option<LengthSummary>,
    /// Length of the full rendered training prompt
    /// ([`training_prompt`](crate::prompt::training_prompt): ChatML, all three messages).
    pub prompt: Option<LengthSummary>,
}

/// The default length measure: Unicode scalar values (what Python's `len` counts).
pub fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// Statistics with lengths measured by `measure` (e.g. [`char_len`], or a tokenizer's count).
pub fn compute_stats(items: &[Item], mut measure: impl FnMut(&str) -> usize) -> Stats {
    match try_compute_stats(items, |text| Ok::<_, Infallible>(measure(text))) {
        Ok(stats) => stats,
        Err(never) => match never {},
    }
}

/// Like [`compute_stats`] with a fallible measure; the first error is returned.
pub fn try_compute_stats<E>(items: &[Item], mut measure: impl FnMut(&str) -> Result<usize, E>) -> Result<Stats, E> {
    let mut by_dependency = BTreeMap::new();
    let mut by_update_type = BTreeMap::new();
    let mut by_rule = BTreeMap::new();
    let (mut old, mut new, mut prompt) = (Vec::new(), Vec::new(), Vec::new());
    let any_rule = items.iter().any(|i| i.validation_rule().is_some());
    for item in items {
        *by_dependency.entry(item.dependency.clone()).or_insert(0) += 1;
        let kind = item.update_type.as_deref().unwrap_or(UNSPECIFIED);
        *by_update_type.entry(kind.to_string()).or_insert(0) += 1;
        if any_rule {
            let rule = item.validation_rule().unwrap_or(UNSPECIFIED);
            *by_rule.entry(rule.to_string()).or_insert(0) += 1;
        }
        old.push(measure(&item.old_code)?);
        new.push(measure(&item.new_code)?);
        prompt.push(measure(&training_prompt(item))?);
    }
    Ok(Stats {
        items: items.len(),
        by_dependency,
        by_update_type,
        by_rule,
        old_code: LengthSummary::of(&old),
        new_code: LengthSummary::of(&new),
        prompt: LengthSummary::of(&prompt),
    })
}
