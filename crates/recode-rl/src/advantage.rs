//! From rewards to advantages (spec §5): group normalisation, DAPO's dynamic-sampling filter,
//! overlong reward shaping and the masking of truncated completions.
//!
//! Rewards come grouped: completions `g·G .. (g+1)·G` answer prompt `g`.
use crate::config::ScaleRewards;

/// Problems with the shapes handed to these functions (a bug in the caller, reported instead
/// of a panic).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ShapeError {
    #[error("group size {0} is too small: group normalisation needs at least 2 completions per prompt")]
    GroupTooSmall(usize),
    #[error("{len} rewards do not split into groups of {group_size}")]
    Ragged { len: usize, group_size: usize },
    #[error("reward {index} is {value}: rewards must be finite")]
    NotFinite { index: usize, value: f64 },
}

/// Advantages of a batch and what the normalisation saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Advantages {
    /// One per completion, in input order.
    pub values: Vec<f64>,
    /// Groups whose rewards are all equal: their advantages are 0 and they teach nothing.
    pub zero_variance_groups: usize,
    pub groups: usize,
}

impl Advantages {
    /// `zero_variance_groups / groups` (0 for an empty batch).
    pub fn zero_variance_fraction(&self) -> f64 {
        if self.groups == 0 { 0.0 } else { self.zero_variance_groups as f64 / self.groups as f64 }
    }
}

/// Sample standard deviation (divides by n − 1), as `torch.std` computes it by default.
fn sample_std(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// `A_i = (r_i − mean_g) / (std + ε)` for each completion `i` of group `g`:
///
/// - `mean_g` is always the mean of the completion's own group;
/// - [`ScaleRewards::Group`]: `std` is the group's standard deviation (GRPO);
///   [`ScaleRewards::Batch`]: the standard deviation of all rewards of the batch;
///   [`ScaleRewards::None`]: no division at all, `A_i = r_i − mean_g` (Dr. GRPO).
///
/// The standard deviation is the *sample* one (n − 1 in the denominator), as both TRL
/// (`rewards.view(-1, G).std(dim=1)`, then `+ 1e-4`) and verl (`torch.std`, then `+ 1e-6`)
/// compute it: `torch.std` defaults to Bessel's correction. `epsilon` is the config's
/// `algorithm.std_epsilon`. A group whose rewards are all equal gets advantages exactly 0.
pub fn group_advantages(
    rewards: &[f64],
    group_size: usize,
    scale: ScaleRewards,
    epsilon: f64,
) -> Result<Advantages, ShapeError> {
    if group_size < 2 {
        return Err(ShapeError::GroupTooSmall(group_size));
    }
    if !rewards.len().is_multiple_of(group_size) {
        return Err(ShapeError::Ragged { len: rewards.len(), group_size });
    }
    if let Some((index, &value)) = rewards.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ShapeError::NotFinite { index, value });
    }
    let batch_std = if rewards.len() >= 2 { sample_std(rewards) } else { 0.0 };
    let mut values = Vec::with_capacity(rewards.len());
    let mut zero_variance_groups = 0;
    for group in rewards.chunks(group_size) {
        let mean = group.iter().sum::<f64>() / group.len() as f64;
        let all_equal = group.iter().all(|&r| r == group[0]);
        zero_variance_groups += usize::from(all_equal);
        let denominator = match scale {
            ScaleRewards::Group => sample_std(group) + epsilon,
            ScaleRewards::Batch => batch_std + epsilon,
            ScaleRewards::None => 1.0,
        };
        // Equal rewards: exactly 0 (r − mean can be ±1 ulp off when the mean is not exact).
        values.extend(group.iter().map(|&r| if all_equal { 0.0 } else { (r - mean) / denominator }));
    }
    Ok(Advantages { values, zero_variance_groups, groups: rewards.len() / group_size })
}

/// Which groups DAPO's dynamic sampling keeps: those whose `metric` values (one per
/// completion; the correctness reward by default) are not all equal. As in verl's
/// `filter_groups`, a group is dropped exactly when the (population) standard deviation of its
/// metric is 0.
pub fn variance_filter(metric: &[f64], group_size: usize) -> Result<GroupFilter, ShapeError> {
    if group_size < 2 {
        return Err(ShapeError::GroupTooSmall(group_size));
    }
    if !metric.len().is_multiple_of(group_size) {
        return Err(ShapeError::Ragged { len: metric.len(), group_size });
    }
    let keep: Vec<bool> = metric.chunks(group_size).map(|g| g.iter().any(|&m| m != g[0])).collect();
    let dropped = keep.iter().filter(|k| !**k).count();
    Ok(GroupFilter { keep, dropped })
}

/// The verdict of [`variance_filter`].
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFilter {
    /// One per group: false when all its completions scored the same.
    pub keep: Vec<bool>,
    /// Number of `false` in `keep`.
    pub dropped: usize,
}

/// Where a [`DynamicBatch`] stands after a generation batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamicStatus {
    /// Enough informative groups: train on [`DynamicBatch::finish`].
    Full,
    /// Generate another batch of prompts and [`DynamicBatch::offer`] it.
    NeedMore,
    /// `max_num_gen_batches` generation batches were used and the batch is still not full:
    /// [`DynamicBatch::finish`] returns the groups kept so far (possibly none).
    Exhausted,
}

/// DAPO dynamic sampling: collects groups over successive generation batches, dropping those
/// with equal metrics, until `target_groups` (the config's P) informative groups are
/// gathered or `max_num_gen_batches` generation batches are spent (verl counts the first batch
/// among them, as here). Surplus groups of the last batch are discarded, as verl does.
///
/// verl raises an error when the limit is reached; here the caller gets the partial batch and
/// decides (train on fewer groups, or skip the step) — the metrics then show it.
#[derive(Debug, Clone)]
pub struct DynamicBatch<T> {
    target_groups: usize,
    max_num_gen_batches: usize,
    generation_batches: usize,
    kept: Vec<T>,
    dropped: usize,
    generated: usize,
}

/// What [`DynamicBatch::finish`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicOutcome<T> {
    /// At most `target_groups` groups with varied metrics, in generation order.
    pub groups: Vec<T>,
    /// Groups dropped because their metric values were all equal.
    pub dropped: usize,
    /// Informative groups generated beyond the target and discarded.
    pub surplus: usize,
    /// Generation batches used (1 when the first was enough).
    pub generation_batches: usize,
    /// Groups generated in all.
    pub generated: usize,
}

impl<T> DynamicBatch<T> {
    pub fn new(target_groups: usize, max_num_gen_batches: usize) -> Self {
        DynamicBatch {
            target_groups,
            max_num_gen_batches: max_num_gen_batches.max(1),
            generation_batches: 0,
            kept: Vec::new(),
            dropped: 0,
            generated: 0,
        }
    }

    /// Adds one generation batch: each group with its metric values (one per completion).
    pub fn offer(&mut self, groups: impl IntoIterator<Item = (T, Vec<f64>)>) -> DynamicStatus {
        self.generation_batches += 1;
        for (group, metric) in groups {
            self.generated += 1;
            if metric.iter().any(|&m| m != metric[0]) {
                self.kept.push(group);
            } else {
                self.dropped += 1;
            }
        }
        self.status()
    }

    pub fn status(&self) -> DynamicStatus {
        if self.kept.len() >= self.target_groups {
            DynamicStatus::Full
        } else if self.generation_batches >= self.max_num_gen_batches {
            DynamicStatus::Exhausted
        } else {
            DynamicStatus::NeedMore
        }
    }

    /// How many more informative groups are needed (0 when full).
    pub fn missing(&self) -> usize {
        self.target_groups.saturating_sub(self.kept.len())
    }

    pub fn finish(mut self) -> DynamicOutcome<T> {
        let surplus = self.kept.len().saturating_sub(self.target_groups);
        self.kept.truncate(self.target_groups);
        DynamicOutcome {
            groups: self.kept,
            dropped: self.dropped,
            surplus,
            generation_batches: self.generation_batches,
            generated: self.generated,
        }
    }
}

/// DAPO's overlong reward shaping (Yu et al. 2025, eq. 13; verl's `overlong_buffer`): with
/// `L_max = max_new_tokens`, buffer `L_cache = buffer_len` and `expected = L_max − L_cache`,
///
/// `penalty(len) = 0` when `len ≤ expected`, otherwise `−(len − expected) / L_cache · factor`,
/// reaching `−factor` at `len = L_max` (and staying there beyond it).
///
/// The paper's formula is the `factor = 1` case. Returns a value in `[−factor, 0]`, added to
/// the total reward. `buffer_len == 0` disables the penalty.
pub fn overlong_penalty(len: usize, max_new_tokens: usize, buffer_len: usize, factor: f64) -> f64 {
    if buffer_len == 0 {
        return 0.0;
    }
    let expected = max_new_tokens.saturating_sub(buffer_len);
    if len <= expected {
        return 0.0;
    }
    let exceed = (len - expected).min(buffer_len);
    -(exceed as f64) / buffer_len as f64 * factor
}

/// The loss mask of one completion of `len` tokens: every token counts, unless the completion
/// was truncated (stopped at `max_new_tokens`) and `mask_truncated` is set, in which case none
/// does (TRL's `mask_truncated_completions`, DAPO's overlong filtering). The row still counts
/// as a sequence for `seq-mean-*` aggregations, as in TRL.
pub fn truncation_mask(len: usize, truncated: bool, mask_truncated: bool) -> Vec<bool> {
    vec![!(truncated && mask_truncated); len]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn group_scaling_uses_the_sample_std() {
        // Group [1, 2, 3]: mean 2, sample std 1 → (r − 2) / (1 + ε).
        // Group [0, 0, 4]: mean 4/3, sample std sqrt(((4/3)²·2 + (8/3)²)/2) = sqrt(16/3).
        let eps = 1e-4;
        let a = group_advantages(&[1.0, 2.0, 3.0, 0.0, 0.0, 4.0], 3, ScaleRewards::Group, eps).unwrap();
        let s2 = (16.0f64 / 3.0).sqrt() + eps;
        close(
            &a.values,
            &[-1.0 / (1.0 + eps), 0.0, 1.0 / (1.0 + eps), -4.0 / 3.0 / s2, -4.0 / 3.0 / s2, 8.0 / 3.0 / s2],
        );
        assert_eq!((a.groups, a.zero_variance_groups), (2, 0));
    }

    #[test]
    fn batch_scaling_uses_group_mean_and_batch_std() {
        // Rewards [1, 3, 5, 7]: group means 2 and 6; batch mean 4, sample std sqrt(20/3).
        let a = group_advantages(&[1.0, 3.0, 5.0, 7.0], 2, ScaleRewards::Batch, 0.0).unwrap();
        let s = (20.0f64 / 3.0).sqrt();
        close(&a.values, &[-1.0 / s, 1.0 / s, -1.0 / s, 1.0 / s]);
    }

    #[test]
    fn no_scaling_only_centres() {
        let a = group_advantages(&[1.0, 3.0, 10.0, 30.0], 2, ScaleRewards::None, 1e-4).unwrap();
        close(&a.values, &[-1.0, 1.0, -10.0, 10.0]);
    }

    #[test]
    fn equal_reward_groups_get_zero_advantage_and_are_counted() {
        for scale in [ScaleRewards::Group, ScaleRewards::Batch, ScaleRewards::None] {
            let a = group_advantages(&[0.7, 0.7, 0.7, -2.0, 2.0, 0.0, 0.1, 0.1, 0.1], 3, scale, 1e-6).unwrap();
            assert_eq!(&a.values[0..3], &[0.0, 0.0, 0.0]);
            assert_eq!(&a.values[6..9], &[0.0, 0.0, 0.0]);
            assert!(a.values[3] < 0.0 && a.values[4] > 0.0);
            assert_eq!(a.zero_variance_groups, 2);
            assert!((a.zero_variance_fraction() - 2.0 / 3.0).abs() < 1e-15);
        }
    }

    #[test]
    fn shape_errors_are_reported() {
        assert_eq!(group_advantages(&[1.0], 1, ScaleRewards::Group, 1e-4), Err(ShapeError::GroupTooSmall(1)));
        assert_eq!(
            group_advantages(&[1.0, 2.0, 3.0], 2, ScaleRewards::Group, 1e-4),
            Err(ShapeError::Ragged { len: 3, group_size: 2 })
        );
        assert!(matches!(
            group_advantages(&[1.0, f64::NAN], 2, ScaleRewards::Group, 1e-4),
            Err(ShapeError::NotFinite { index: 1, .. })
        ));
    }

    #[test]
    fn variance_filter_drops_equal_groups() {
        let f = variance_filter(&[1.0, 1.0, 0.0, 1.0, -2.0, -2.0], 2).unwrap();
        assert_eq!(f.keep, [false, true, false]);
        assert_eq!(f.dropped, 2);
    }

    #[test]
    fn dynamic_batch_fills_over_generation_batches_and_discards_surplus() {
        let mut batch = DynamicBatch::new(3, 10);
        let status = batch.offer([("a", vec![1.0, 1.0]), ("b", vec![0.0, 1.0]), ("c", vec![2.0, 2.0])]);
        assert_eq!(status, DynamicStatus::NeedMore);
        assert_eq!(batch.missing(), 2);
        let status = batch.offer([("d", vec![0.0, 2.0]), ("e", vec![0.5, 0.5]), ("f", vec![1.0, 1.0])]);
        assert_eq!(status, DynamicStatus::NeedMore);
        let status = batch.offer([("g", vec![0.0, 1.0]), ("h", vec![3.0, 1.0])]);
        assert_eq!(status, DynamicStatus::Full);
        let out = batch.finish();
        assert_eq!(out.groups, ["b", "d", "g"]);
        assert_eq!((out.dropped, out.surplus, out.generation_batches, out.generated), (4, 1, 3, 8));
    }

    #[test]
    fn dynamic_batch_stops_at_the_generation_limit() {
        let mut batch = DynamicBatch::new(2, 2);
        assert_eq!(batch.offer([(1, vec![0.0, 0.0]), (2, vec![0.0, 1.0])]), DynamicStatus::NeedMore);
        assert_eq!(batch.offer([(3, vec![1.0, 1.0]), (4, vec![1.0, 1.0])]), DynamicStatus::Exhausted);
        let out = batch.finish();
        assert_eq!(out.groups, [2]);
        assert_eq!((out.dropped, out.generation_batches), (3, 2));
    }

    #[test]
    fn overlong_penalty_follows_the_dapo_formula() {
        // L_max 20, buffer 4: expected 16. len 16 → 0; 17 → −1/4; 20 → −1; beyond stays −1.
        assert_eq!(overlong_penalty(10, 20, 4, 1.0), 0.0);
        assert_eq!(overlong_penalty(16, 20, 4, 1.0), 0.0);
        assert_eq!(overlong_penalty(17, 20, 4, 1.0), -0.25);
        assert_eq!(overlong_penalty(18, 20, 4, 2.0), -1.0);
        assert_eq!(overlong_penalty(20, 20, 4, 1.0), -1.0);
        assert_eq!(overlong_penalty(25, 20, 4, 1.0), -1.0);
        assert_eq!(overlong_penalty(20, 20, 0, 1.0), 0.0);
    }

    #[test]
    fn truncated_rows_are_masked_only_when_asked() {
        assert_eq!(truncation_mask(3, true, true), [false, false, false]);
        assert_eq!(truncation_mask(3, true, false), [true, true, true]);
        assert_eq!(truncation_mask(2, false, true), [true, true]);
    }
}
