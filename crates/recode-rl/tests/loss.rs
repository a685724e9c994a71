//! The reference loss against values computed by hand from the formulas of spec §5 (see the
//! comment above each case), for every aggregation mode, clip setting and β.
use recode_rl::loss::{LossAggregation, LossError, LossInput, LossSettings, aggregation_weights, policy_loss_weighted};
use recode_rl::{Rng, policy_loss, sft_loss};

const LN2: f64 = std::f64::consts::LN_2;

fn settings(aggregation: LossAggregation) -> LossSettings {
    LossSettings { eps_low: 0.2, eps_high: 0.28, dual_clip: None, beta: 0.0, aggregation, norm_length: 4 }
}

fn assert_close(got: f64, expected: f64) {
    assert!((got - expected).abs() < 1e-12, "got {got}, expected {expected}");
}

fn assert_rows_close(got: &[Vec<f64>], expected: &[Vec<f64>]) {
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(expected) {
        assert_eq!(g.len(), e.len());
        for (a, b) in g.iter().zip(e) {
            assert_close(*a, *b);
        }
    }
}

/// Rows with the given ratios: `old_logp = −1` everywhere and `logp = −1 + ln ρ`.
fn with_ratios(ratios: &[&[f64]], advantages: &[f64]) -> LossInput {
    LossInput {
        logp: ratios.iter().map(|row| row.iter().map(|r| -1.0 + r.ln()).collect()).collect(),
        old_logp: ratios.iter().map(|row| vec![-1.0; row.len()]).collect(),
        ref_logp: None,
        mask: ratios.iter().map(|row| vec![true; row.len()]).collect(),
        advantages: advantages.to_vec(),
    }
}

/// μ = 1 (ρ = 1 everywhere). Rows: two tokens with A = 1; a single-token completion with
/// A = −1; a truncated row masked out (A = 0.5); a row of an equal-reward group (A = 0).
/// Token losses −A: [−1, −1], [1], masked, [0, 0]; 4 rows, 5 unmasked tokens.
fn mu_one_batch() -> LossInput {
    let mut input = with_ratios(&[&[1.0, 1.0], &[1.0], &[1.0, 1.0, 1.0], &[1.0, 1.0]], &[1.0, -1.0, 0.5, 0.0]);
    input.logp = vec![vec![-0.5, -2.0], vec![-0.1], vec![-3.0, -1.0, -0.2], vec![-0.7, -0.9]];
    input.old_logp = input.logp.clone();
    input.mask[2] = recode_rl::truncation_mask(3, true, true);
    input
}

#[test]
fn token_mean_at_ratio_one() {
    // L = (−1 − 1 + 1 + 0 + 0) / 5 = −0.2; ∂L/∂logp = −A·ρ / 5.
    let r = policy_loss(&mu_one_batch(), &settings(LossAggregation::TokenMean)).unwrap();
    assert_close(r.loss, -0.2);
    assert_eq!(r.tokens, 5);
    assert_rows_close(&r.grad_logp, &[vec![-0.2, -0.2], vec![0.2], vec![0.0; 3], vec![0.0, 0.0]]);
    assert_eq!((r.clip_fraction_low, r.clip_fraction_high, r.clip_fraction_dual), (0.0, 0.0, 0.0));
    assert_eq!(r.mean_kl, None);
}

#[test]
fn seq_mean_token_mean_at_ratio_one() {
    // Row means −1, 1, 0 (no tokens), 0 over 4 rows: L = 0. Weights 1/(4·2), 1/(4·1).
    let r = policy_loss(&mu_one_batch(), &settings(LossAggregation::SeqMeanTokenMean)).unwrap();
    assert_close(r.loss, 0.0);
    assert_rows_close(&r.grad_logp, &[vec![-0.125, -0.125], vec![0.25], vec![0.0; 3], vec![0.0, 0.0]]);
}

#[test]
fn seq_mean_token_sum_norm_at_ratio_one() {
    // Dr. GRPO with L = 4: (−2 + 1 + 0 + 0) / (4 rows · 4) = −1/16.
    let r = policy_loss(&mu_one_batch(), &settings(LossAggregation::SeqMeanTokenSumNorm)).unwrap();
    assert_close(r.loss, -1.0 / 16.0);
    assert_rows_close(&r.grad_logp, &[vec![-1.0 / 16.0, -1.0 / 16.0], vec![1.0 / 16.0], vec![0.0; 3], vec![0.0, 0.0]]);
}

#[test]
fn unmasked_truncated_row_counts_when_not_masked() {
    // Same batch with mask_truncated off: the truncated row's three tokens (A = 0.5) count.
    // Token mean: (−2 + 1 − 1.5 + 0) / 8 = −0.3125.
    let mut input = mu_one_batch();
    input.mask[2] = recode_rl::truncation_mask(3, true, false);
    let r = policy_loss(&input, &settings(LossAggregation::TokenMean)).unwrap();
    assert_close(r.loss, -0.3125);
    assert_eq!(r.tokens, 8);
}

/// Ratios away from 1 (as on a second pass, μ > 1). Row 0, A = 2: ρ = 1.5 is clipped at
/// 1 + ε_high (loss −2·1.28 = −2.56, no gradient, counted high); ρ = 0.5 is not clipped for
/// A > 0 (max(−1, −1.6) = −1, gradient −Aρ = −1); ρ = 1.1 is inside (−2.2, gradient −2.2).
/// Row 1, A = −1: ρ = 1.5 → max(1.5, 1.28) = 1.5 (gradient 1.5); ρ = 0.5 → max(0.5, 0.8) =
/// 0.8 (clipped low, no gradient).
fn clipped_batch() -> LossInput {
    with_ratios(&[&[1.5, 0.5, 1.1], &[1.5, 0.5]], &[2.0, -1.0])
}

#[test]
fn clip_higher_token_mean() {
    // (−2.56 − 1 − 2.2 + 1.5 + 0.8) / 5 = −0.692.
    let r = policy_loss(&clipped_batch(), &settings(LossAggregation::TokenMean)).unwrap();
    assert_close(r.loss, -0.692);
    assert_close(r.clip_fraction_low, 0.2);
    assert_close(r.clip_fraction_high, 0.2);
    assert_rows_close(&r.grad_logp, &[vec![0.0, -0.2, -0.44], vec![0.3, 0.0]]);
}

#[test]
fn clip_higher_seq_mean_token_mean() {
    // Row means −5.76/3 = −1.92 and 2.3/2 = 1.15: L = (−1.92 + 1.15) / 2 = −0.385.
    let r = policy_loss(&clipped_batch(), &settings(LossAggregation::SeqMeanTokenMean)).unwrap();
    assert_close(r.loss, -0.385);
    assert_rows_close(&r.grad_logp, &[vec![0.0, -1.0 / 6.0, -2.2 / 6.0], vec![1.5 / 4.0, 0.0]]);
}

#[test]
fn clip_higher_seq_mean_token_sum_norm() {
    // (−5.76 + 2.3) / (2 rows · L = 3) = −0.57666…
    let s = LossSettings { norm_length: 3, ..settings(LossAggregation::SeqMeanTokenSumNorm) };
    let r = policy_loss(&clipped_batch(), &s).unwrap();
    assert_close(r.loss, -3.46 / 6.0);
}

#[test]
fn symmetric_clip_differs_from_clip_higher() {
    // ε_high = 0.2: row 0's ρ = 1.5 now costs −2·1.2 = −2.4: (−2.4 − 1 − 2.2 + 1.5 + 0.8) / 5 = −0.66.
    let s = LossSettings { eps_high: 0.2, ..settings(LossAggregation::TokenMean) };
    let r = policy_loss(&clipped_batch(), &s).unwrap();
    assert_close(r.loss, -0.66);
    assert_close(r.clip_fraction_high, 0.2);
}

/// Row 0, A = −1: ρ = 20 → max(20, 1.28) = 20, capped by the dual clip at −A·c = 10 (no
/// gradient); ρ = 5 → 5 (< 10, gradient 5); ρ = 0.5 → 0.8 (clipped low). Row 1, A = +1,
/// ρ = 20 → max(−20, −1.28) = −1.28 (clipped high; the dual clip is for A < 0 only).
fn dual_batch() -> LossInput {
    with_ratios(&[&[20.0, 5.0, 0.5], &[20.0]], &[-1.0, 1.0])
}

#[test]
fn dual_clip_caps_negative_advantages() {
    let s = LossSettings { dual_clip: Some(10.0), ..settings(LossAggregation::TokenMean) };
    let r = policy_loss(&dual_batch(), &s).unwrap();
    // (10 + 5 + 0.8 − 1.28) / 4 = 3.63.
    assert_close(r.loss, 3.63);
    assert_close(r.clip_fraction_dual, 0.25);
    assert_close(r.clip_fraction_low, 0.25);
    assert_close(r.clip_fraction_high, 0.25);
    assert_rows_close(&r.grad_logp, &[vec![0.0, 1.25, 0.0], vec![0.0]]);
}

#[test]
fn without_dual_clip_the_large_ratio_is_unbounded() {
    // (20 + 5 + 0.8 − 1.28) / 4 = 6.13; ρ = 20 now has gradient −Aρ/4 = 5.
    let r = policy_loss(&dual_batch(), &settings(LossAggregation::TokenMean)).unwrap();
    assert_close(r.loss, 6.13);
    assert_eq!(r.clip_fraction_dual, 0.0);
    assert_rows_close(&r.grad_logp, &[vec![5.0, 1.25, 0.0], vec![0.0]]);
}

/// An equal-reward group (A = 0 everywhere, so no policy term) with the reference at
/// `ref − logp = d`: row 0 d = [ln 2, 0], row 1 d = [−ln 2]. k3 = e^d − d − 1:
/// [1 − ln 2, 0], [ln 2 − ½]; their mean is ½ / 3 = 1/6. ∂k3/∂logp = 1 − e^d: [−1, 0], [½].
fn kl_batch() -> LossInput {
    let mut input = with_ratios(&[&[1.3, 0.7], &[2.0]], &[0.0, 0.0]);
    input.ref_logp = Some(vec![vec![input.logp[0][0] + LN2, input.logp[0][1]], vec![input.logp[1][0] - LN2]]);
    input
}

#[test]
fn k3_kl_with_beta_for_each_aggregation() {
    let beta = 0.1;
    let cases = [
        // (mode, expected mean-of-k3 under the aggregation, per-token weights)
        (LossAggregation::TokenMean, 1.0 / 6.0, [[1.0 / 3.0, 1.0 / 3.0], [1.0 / 3.0, 0.0]]),
        // ((1 − ln 2)/2 + (ln 2 − ½)) / 2 = ln 2 / 4.
        (LossAggregation::SeqMeanTokenMean, LN2 / 4.0, [[0.25, 0.25], [0.5, 0.0]]),
        // (1 − ln 2 + ln 2 − ½) / (2 rows · L = 2) = 1/8.
        (LossAggregation::SeqMeanTokenSumNorm, 0.125, [[0.25, 0.25], [0.25, 0.0]]),
    ];
    for (aggregation, expected, w) in cases {
        let s = LossSettings { beta, norm_length: 2, ..settings(aggregation) };
        let r = policy_loss(&kl_batch(), &s).unwrap();
        assert_close(r.policy_loss, 0.0);
        assert_close(r.kl_loss, beta * expected);
        assert_close(r.loss, beta * expected);
        assert_close(r.mean_kl.unwrap(), 1.0 / 6.0);
        assert_rows_close(&r.grad_logp, &[vec![-beta * w[0][0], 0.0], vec![beta * 0.5 * w[1][0]]]);
    }
}

#[test]
fn beta_zero_still_reports_kl_and_paper_beta_scales_it() {
    let r = policy_loss(&kl_batch(), &settings(LossAggregation::TokenMean)).unwrap();
    assert_eq!(r.loss, 0.0);
    assert_close(r.mean_kl.unwrap(), 1.0 / 6.0);
    let s = LossSettings { beta: 0.001, ..settings(LossAggregation::TokenMean) };
    assert_close(policy_loss(&kl_batch(), &s).unwrap().loss, 0.001 / 6.0);
}

#[test]
fn beta_without_reference_is_an_error() {
    let s = LossSettings { beta: 0.001, ..settings(LossAggregation::TokenMean) };
    assert_eq!(policy_loss(&clipped_batch(), &s), Err(LossError::MissingReference(0.001)));
}

#[test]
fn policy_and_kl_terms_add_up() {
    // Clipped batch plus a reference 0.1 below logp everywhere: k3 = e^−0.1 + 0.1 − 1 per token.
    let mut input = clipped_batch();
    input.ref_logp = Some(input.logp.iter().map(|row| row.iter().map(|l| l - 0.1).collect()).collect());
    let s = LossSettings { beta: 0.5, ..settings(LossAggregation::TokenMean) };
    let r = policy_loss(&input, &s).unwrap();
    let k3 = (-0.1f64).exp() + 0.1 - 1.0;
    assert_close(r.loss, -0.692 + 0.5 * k3);
    assert_close(r.mean_kl.unwrap(), k3);
}

#[test]
fn all_masked_batch_has_zero_loss() {
    let mut input = clipped_batch();
    input.mask = vec![vec![false; 3], vec![false; 2]];
    for aggregation in
        [LossAggregation::TokenMean, LossAggregation::SeqMeanTokenMean, LossAggregation::SeqMeanTokenSumNorm]
    {
        let r = policy_loss(&input, &settings(aggregation)).unwrap();
        assert_eq!((r.loss, r.tokens, r.clip_fraction_low), (0.0, 0, 0.0));
    }
    let empty = LossInput::default();
    assert_eq!(policy_loss(&empty, &settings(LossAggregation::TokenMean)).unwrap().loss, 0.0);
}

#[test]
fn masked_tokens_may_hold_padding_values() {
    // Padding positions can hold anything (even NaN); only unmasked tokens are checked.
    let mut input = clipped_batch();
    input.logp[1][1] = f64::NAN;
    input.mask[1][1] = false;
    assert!(policy_loss(&input, &settings(LossAggregation::TokenMean)).is_ok());
    input.mask[1][1] = true;
    assert!(matches!(
        policy_loss(&input, &settings(LossAggregation::TokenMean)),
        Err(LossError::NotFinite { row: 1, token: 1, what: "logp", .. })
    ));
}

#[test]
fn shape_errors_are_reported() {
    let mut input = clipped_batch();
    input.advantages.push(1.0);
    assert_eq!(
        policy_loss(&input, &settings(LossAggregation::TokenMean)),
        Err(LossError::Rows { what: "advantages", got: 3, expected: 2 })
    );
    let mut input = clipped_batch();
    input.old_logp[0].pop();
    assert_eq!(
        policy_loss(&input, &settings(LossAggregation::TokenMean)),
        Err(LossError::Tokens { row: 0, what: "old_logp", got: 2, expected: 3 })
    );
    let s = LossSettings { norm_length: 0, ..settings(LossAggregation::SeqMeanTokenSumNorm) };
    assert_eq!(policy_loss(&clipped_batch(), &s), Err(LossError::ZeroNormLength));
}

/// A random batch: rows of 1–6 tokens, ratios in [0.5, 2], some masked tokens, a reference.
fn random_batch(seed: u64) -> LossInput {
    let mut rng = Rng::new(seed);
    let rows = 7;
    let mut input = LossInput { ref_logp: Some(Vec::new()), ..LossInput::default() };
    for _ in 0..rows {
        let len = 1 + rng.below(6) as usize;
        let old: Vec<f64> = (0..len).map(|_| -3.0 * rng.next_f64()).collect();
        let logp: Vec<f64> = old.iter().map(|o| o + (0.5 + 1.5 * rng.next_f64()).ln()).collect();
        let reference: Vec<f64> = logp.iter().map(|l| l + rng.next_f64() - 0.5).collect();
        let mask: Vec<bool> = (0..len).map(|_| rng.next_f64() > 0.2).collect();
        input.logp.push(logp);
        input.old_logp.push(old);
        input.ref_logp.as_mut().unwrap().push(reference);
        input.mask.push(mask);
        input.advantages.push(2.0 * rng.next_f64() - 1.0);
    }
    input
}

#[test]
fn micro_batches_with_full_batch_weights_add_up_to_the_batch_loss() {
    for aggregation in
        [LossAggregation::TokenMean, LossAggregation::SeqMeanTokenMean, LossAggregation::SeqMeanTokenSumNorm]
    {
        let input = random_batch(5);
        let s = LossSettings { beta: 0.04, dual_clip: Some(3.0), ..settings(aggregation) };
        let full = policy_loss(&input, &s).unwrap();
        let weights = aggregation_weights(aggregation, &input.mask, s.norm_length).unwrap();
        let (mut sum, mut grads) = (0.0, Vec::new());
        for range in [0..3, 3..5, 5..7] {
            let part = LossInput {
                logp: input.logp[range.clone()].to_vec(),
                old_logp: input.old_logp[range.clone()].to_vec(),
                ref_logp: Some(input.ref_logp.as_ref().unwrap()[range.clone()].to_vec()),
                mask: input.mask[range.clone()].to_vec(),
                advantages: input.advantages[range.clone()].to_vec(),
            };
            let r = policy_loss_weighted(&part, &s, &weights[range]).unwrap();
            sum += r.loss;
            grads.extend(r.grad_logp);
        }
        assert_close(sum, full.loss);
        assert_rows_close(&grads, &full.grad_logp);
    }
}

#[test]
fn analytic_gradient_matches_finite_differences() {
    let h = 1e-6;
    for seed in 0..5 {
        for aggregation in
            [LossAggregation::TokenMean, LossAggregation::SeqMeanTokenMean, LossAggregation::SeqMeanTokenSumNorm]
        {
            let input = random_batch(seed);
            let s = LossSettings { beta: 0.1, dual_clip: Some(1.5), ..settings(aggregation) };
            let r = policy_loss(&input, &s).unwrap();
            for i in 0..input.logp.len() {
                for t in 0..input.logp[i].len() {
                    let mut plus = input.clone();
                    plus.logp[i][t] += h;
                    let mut minus = input.clone();
                    minus.logp[i][t] -= h;
                    let numeric =
                        (policy_loss(&plus, &s).unwrap().loss - policy_loss(&minus, &s).unwrap().loss) / (2.0 * h);
                    assert!(
                        (numeric - r.grad_logp[i][t]).abs() < 1e-6,
                        "seed {seed} {aggregation:?} row {i} token {t}: numeric {numeric}, analytic {}",
                        r.grad_logp[i][t]
                    );
                }
            }
        }
    }
}

#[test]
fn sft_loss_is_the_token_mean_negative_log_likelihood() {
    // −(ln ½ + ln ¼ + ln ½) / 3 = 4 ln 2 / 3; the masked token does not count.
    let logp = vec![vec![0.5f64.ln(), 0.25f64.ln()], vec![0.5f64.ln(), -9.0]];
    let mask = vec![vec![true, true], vec![true, false]];
    let (loss, grad) = sft_loss(&logp, &mask).unwrap();
    assert_close(loss, 4.0 * LN2 / 3.0);
    assert_rows_close(&grad, &[vec![-1.0 / 3.0, -1.0 / 3.0], vec![-1.0 / 3.0, 0.0]]);
}
