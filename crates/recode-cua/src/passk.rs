//! The unbiased pass@k estimator.

use crate::error::PassAtKError;

/// Unbiased pass@k from `n` samples of which `c` pass: `1 − C(n−c, k) / C(n, k)`.
///
/// Computed as `1 − Π_{i=n−c+1}^{n} (1 − k/i)` (no binomials, so no overflow; exact 1 when
/// `n − c < k`). Needs `1 ≤ k ≤ n` and `c ≤ n`.
pub fn pass_at_k(n: usize, c: usize, k: usize) -> Result<f64, PassAtKError> {
    if k == 0 {
        return Err(PassAtKError::ZeroK);
    }
    if k > n {
        return Err(PassAtKError::KAboveN { n, k });
    }
    if c > n {
        return Err(PassAtKError::CAboveN { n, c });
    }
    if n - c < k {
        return Ok(1.0);
    }
    let kf = k as f64;
    let product: f64 = (n - c + 1..=n).map(|i| 1.0 - kf / i as f64).product();
    Ok(1.0 - product)
}

/// Mean pass@k over problems given as `(n, c)` pairs (0 for an empty slice).
pub fn mean_pass_at_k(counts: &[(usize, usize)], k: usize) -> Result<f64, PassAtKError> {
    if counts.is_empty() {
        return Ok(0.0);
    }
    let mut sum = 0.0;
    for &(n, c) in counts {
        sum += pass_at_k(n, c, k)?;
    }
    Ok(sum / counts.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn hand_computed_values() {
        // pass@1 = c/n.
        close(pass_at_k(5, 0, 1).unwrap(), 0.0);
        close(pass_at_k(5, 2, 1).unwrap(), 0.4);
        close(pass_at_k(5, 5, 1).unwrap(), 1.0);
        // n=5, c=1, k=2: 1 − C(4,2)/C(5,2) = 1 − 6/10.
        close(pass_at_k(5, 1, 2).unwrap(), 0.4);
        // n=5, c=2, k=2: 1 − C(3,2)/C(5,2) = 1 − 3/10.
        close(pass_at_k(5, 2, 2).unwrap(), 0.7);
        // n=10, c=3, k=5: 1 − C(7,5)/C(10,5) = 1 − 21/252 = 11/12.
        close(pass_at_k(10, 3, 5).unwrap(), 11.0 / 12.0);
        // k = n: 1 when any passes, else 0.
        close(pass_at_k(5, 1, 5).unwrap(), 1.0);
        close(pass_at_k(5, 0, 5).unwrap(), 0.0);
        // n − c < k exactly 1.
        assert_eq!(pass_at_k(10, 8, 3).unwrap(), 1.0);
        // Large n: 1 − C(199,10)/C(200,10) = 10/200.
        close(pass_at_k(200, 1, 10).unwrap(), 0.05);
    }

    #[test]
    fn invalid_arguments() {
        assert_eq!(pass_at_k(5, 1, 0), Err(PassAtKError::ZeroK));
        assert_eq!(pass_at_k(4, 1, 5), Err(PassAtKError::KAboveN { n: 4, k: 5 }));
        assert_eq!(pass_at_k(4, 5, 1), Err(PassAtKError::CAboveN { n: 4, c: 5 }));
    }

    #[test]
    fn mean() {
        close(mean_pass_at_k(&[(5, 0), (5, 5), (5, 2)], 1).unwrap(), (0.0 + 1.0 + 0.4) / 3.0);
        assert_eq!(mean_pass_at_k(&[], 1).unwrap(), 0.0);
    }
}
