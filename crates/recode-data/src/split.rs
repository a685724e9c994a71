//! Deterministic train/test split, stratified by library.
use std::collections::BTreeMap;

use crate::error::DataError;
use crate::item::Item;

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, well-mixed 64-bit generator. Its
/// output depends only on the seed, identically on every platform.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..n` (without modulo bias: draws below `2^64 mod n` are
    /// rejected). Panics when `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SplitMix64::below(0)");
        let reject_under = n.wrapping_neg() % n; // 2^64 mod n
        loop {
            let x = self.next_u64();
            if x >= reject_under {
                return x % n;
            }
        }
    }

    /// Fisher–Yates shuffle (from the last position down).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// How many of a library's `n` items go to the test set for fraction `test_frac`:
///
/// 1. `k = round(n × test_frac)`, rounding halves away from zero (`f64::round`; the product is
///    an IEEE double, so e.g. 5 × 0.1 = 0.5 rounds to 1);
/// 2. when `n ≥ 2`: if `test_frac > 0` and `k = 0`, then `k = 1` (every library with two or
///    more items is represented in the test set); if `test_frac < 1` and `k = n`, then
///    `k = n − 1` (and in the training set);
/// 3. a library with one item goes to test exactly when `round(test_frac) = 1`
///    (`test_frac ≥ 0.5`).
///
/// So `test_frac = 0` puts everything in train and `test_frac = 1` everything in test.
pub fn test_count(n: usize, test_frac: f64) -> usize {
    let mut k = ((n as f64) * test_frac).round().clamp(0.0, n as f64) as usize;
    if n >= 2 {
        if test_frac > 0.0 && k == 0 {
            k = 1;
        }
        if test_frac < 1.0 && k == n {
            k = n - 1;
        }
    }
    k
}

/// Indices (into the input) of the train and test items, each list ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitIndices {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// The train and test items, each in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Vec<Item>,
    pub test: Vec<Item>,
}

/// FNV-1a 64 of the library name, to give each library its own random stream.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Deterministic split stratified by library (`dependency`, exact string).
///
/// For each library, its items' indices (in input order) are shuffled with
/// [`SplitMix64`] seeded with `seed XOR FNV-1a-64(dependency)` — so adding or removing one
/// library does not change how the others are split — and the first
/// [`test_count`]`(n, test_frac)` shuffled items go to test, the rest to train. Every item is
/// in exactly one of the two lists. The result depends only on the items' `dependency`
/// values, their order, `test_frac` and `seed`: the same on every platform and run.
///
/// Errors: [`DataError::InvalidTestFraction`] unless `0 ≤ test_frac ≤ 1`.
pub fn split_indices(items: &[Item], test_frac: f64, seed: u64) -> Result<SplitIndices, DataError> {
    if !(0.0..=1.0).contains(&test_frac) {
        return Err(DataError::InvalidTestFraction(test_frac));
    }
    let mut by_library: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        by_library.entry(&item.dependency).or_default().push(index);
    }
    let mut in_test = vec![false; items.len()];
    for (library, mut indices) in by_library {
        let mut rng = SplitMix64::new(seed ^ fnv1a64(library.as_bytes()));
        rng.shuffle(&mut indices);
        for &index in &indices[..test_count(indices.len(), test_frac)] {
            in_test[index] = true;
        }
    }
    let (test, train): (Vec<usize>, Vec<usize>) = (0..items.len()).partition(|&i| in_test[i]);
    Ok(SplitIndices { train, test })
}

/// [`split_indices`], returning clones of the items.
pub fn split(items: &[Item], test_frac: f64, seed: u64) -> Result<Split, DataError> {
    let indices = split_indices(items, test_frac, seed)?;
    let pick = |list: &[usize]| list.iter().map(|&i| items[i].clone()).collect();
    Ok(Split { train: pick(&indices.train), test: pick(&indices.test) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // First outputs for seed 1234567, from the reference C implementation (Vigna).
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
        assert_eq!(rng.next_u64(), 9817491932198370423);
    }

    #[test]
    fn below_is_in_range() {
        let mut rng = SplitMix64::new(7);
        for n in [1u64, 2, 3, 10, 1 << 63, u64::MAX] {
            for _ in 0..100 {
                assert!(rng.below(n) < n);
            }
        }
    }

    #[test]
    fn counts() {
        assert_eq!(test_count(0, 0.5), 0);
        assert_eq!(test_count(1, 0.1), 0);
        assert_eq!(test_count(1, 0.5), 1);
        assert_eq!(test_count(2, 0.1), 1);
        assert_eq!(test_count(2, 0.9), 1);
        assert_eq!(test_count(5, 0.1), 1);
        assert_eq!(test_count(10, 0.25), 3); // 2.5 rounds up
        assert_eq!(test_count(10, 0.0), 0);
        assert_eq!(test_count(10, 1.0), 10);
        assert_eq!(test_count(199, 0.1), 20); // 19.9
        assert_eq!(test_count(85, 0.1), 9); // 8.5 -> 9
    }
}
