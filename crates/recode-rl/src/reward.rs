//! The reward of one completion as training uses it: the configured components of spec §4
//! summed, plus DAPO's overlong penalty when enabled.
use serde::{Deserialize, Serialize};

use crate::config::RewardConfig;

/// The correctness component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Correctness {
    /// ES*: AST-checked edit similarity, in [−1.5, 2.0] or −2.0 (spec §4.5; the paper's best).
    EsStar,
    /// EM*: AST-checked exact match, +2.0 / −1.5 / −2.0 (spec §4.5).
    EmStar,
    /// `1.0` when the completion contains `reward.contains`, else `0.0`: a simple verifiable
    /// reward for learning tests on the tiny model. Not a ReCode reward.
    Contains,
    /// No correctness reward (the paper's "format only" ablation).
    None,
}

impl Correctness {
    /// The component's name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Correctness::EsStar => "es_star",
            Correctness::EmStar => "em_star",
            Correctness::Contains => "contains",
            Correctness::None => "none",
        }
    }
}

/// One completion's reward, by component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reward {
    /// Format reward (+1 / −1), when configured.
    pub format: Option<f64>,
    /// The correctness component (see [`Correctness`]), when configured.
    pub correctness: Option<f64>,
    /// DAPO overlong penalty (≤ 0), 0 unless `algorithm.overlong.enabled`.
    pub overlong: f64,
    /// The sum of the above: what advantages are computed from.
    pub total: f64,
}

impl Reward {
    /// `(name, value)` of each configured component, then `("total", total)`: the keys of the
    /// metrics' `reward_components` and of the completions log.
    pub fn components(&self, config: &RewardConfig) -> Vec<(&'static str, f64)> {
        let mut out = Vec::with_capacity(4);
        if let Some(format) = self.format {
            out.push(("format", format));
        }
        if let Some(correctness) = self.correctness {
            out.push((config.correctness.name(), correctness));
        }
        if self.overlong != 0.0 {
            out.push(("overlong", self.overlong));
        }
        out.push(("total", self.total));
        out
    }

    /// The value DAPO's dynamic sampling compares within a group: correctness when there is
    /// one, otherwise the total.
    pub fn correctness_or_total(&self) -> f64 {
        self.correctness.unwrap_or(self.total)
    }

    /// This reward with an overlong penalty added (see [`crate::advantage::overlong_penalty`]).
    pub fn with_overlong(mut self, penalty: f64) -> Self {
        self.total += penalty - self.overlong;
        self.overlong = penalty;
        self
    }
}

impl RewardConfig {
    /// Scores `completion` (the text after the prompt's prefilled `<think>`) against the
    /// reference migration `target` (`new_code`).
    pub fn score(&self, completion: &str, target: &str) -> Reward {
        let needs_recode = self.format || matches!(self.correctness, Correctness::EsStar | Correctness::EmStar);
        let scores = needs_recode.then(|| recode_rewards::score(completion, target, self.mode));
        let format = if self.format { scores.map(|s| s.format) } else { None };
        let correctness = match self.correctness {
            Correctness::EsStar => scores.map(|s| s.es_star),
            Correctness::EmStar => scores.map(|s| s.em_star),
            Correctness::Contains => Some(if completion.contains(&self.contains) { 1.0 } else { 0.0 }),
            Correctness::None => None,
        };
        let total = format.unwrap_or(0.0) + correctness.unwrap_or(0.0);
        Reward { format, correctness, overlong: 0.0, total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "import numpy as np\nx = np.zeros(3)";

    fn good() -> String {
        format!("reasoning</think>\n<answer>\n```python\n{TARGET}\n```\n</answer>")
    }

    #[test]
    fn default_is_format_plus_es_star() {
        let config = RewardConfig::default();
        let reward = config.score(&good(), TARGET);
        assert_eq!(reward.format, Some(1.0));
        assert_eq!(reward.correctness, Some(2.0));
        assert_eq!(reward.total, 3.0);
        assert_eq!(reward.components(&config), [("format", 1.0), ("es_star", 2.0), ("total", 3.0)]);
    }

    #[test]
    fn em_star_and_format_only_and_contains() {
        let em = RewardConfig { correctness: Correctness::EmStar, ..RewardConfig::default() };
        let wrong = "x</think><answer>```python\ny = 1\n```</answer>";
        assert_eq!(em.score(wrong, TARGET).correctness, Some(-1.5));
        let format_only = RewardConfig { correctness: Correctness::None, ..RewardConfig::default() };
        let r = format_only.score("no format at all", TARGET);
        assert_eq!((r.format, r.correctness, r.total), (Some(-1.0), None, -1.0));
        let contains = RewardConfig {
            format: false,
            correctness: Correctness::Contains,
            contains: "zeros".into(),
            ..RewardConfig::default()
        };
        assert_eq!(contains.score("np.zeros", TARGET).total, 1.0);
        assert_eq!(contains.score("np.ones", TARGET).total, 0.0);
        assert_eq!(contains.score("np.ones", TARGET).correctness_or_total(), 0.0);
    }

    #[test]
    fn overlong_penalty_is_added_once() {
        let config = RewardConfig::default();
        let r = config.score(&good(), TARGET).with_overlong(-0.5).with_overlong(-0.25);
        assert_eq!(r.overlong, -0.25);
        assert_eq!(r.total, 2.75);
        assert_eq!(r.components(&config).len(), 4);
    }
}
