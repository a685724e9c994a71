//! Near-duplicate detection: two items of the same update with nearly the same program
//! (see [`near_duplicates`] for the criterion, its thresholds and their calibration).
use std::collections::{BTreeSet, HashMap};

use recode_rewards::{is_python_space, levenshtein};

use crate::item::Item;

/// Minimum [`edit_similarity`] of two `update_info` texts for "the same update" when the
/// two items have the same `new_version`.
pub const UPDATE_INFO_SIMILARITY: f64 = 0.6;

/// Minimum [`edit_similarity`] of two `update_info` texts for "the same update" when the
/// two items have different `new_version`s.
pub const UPDATE_INFO_SIMILARITY_ANY_VERSION: f64 = 0.9;

/// Minimum [`edit_similarity`] of two white-space-normalised `old_code` programs for "nearly
/// the same program".
pub const CODE_SIMILARITY: f64 = 0.85;

/// Edit similarity `1 − lev(a, b) / max(len a, len b)` over code points, in [0, 1]; two empty
/// sequences are identical (1).
pub fn edit_similarity(a: &[char], b: &[char]) -> f64 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    1.0 - levenshtein(a, b) as f64 / longest as f64
}

/// The highest [`edit_similarity`] two sequences of these lengths can have.
pub fn similarity_bound(la: usize, lb: usize) -> f64 {
    let longest = la.max(lb);
    if longest == 0 {
        return 1.0;
    }
    1.0 - la.abs_diff(lb) as f64 / longest as f64
}

/// The words an edit `old` → `new` removes and adds: each word (maximal run of alphanumeric
/// characters and `_`) of `old` that is not in `new`, as `(false, word)`, and each of `new`
/// not in `old`, as `(true, word)`; sorted and without repeats.
pub fn migration_words(old: &str, new: &str) -> Vec<(bool, String)> {
    let words = |code: &str| -> BTreeSet<String> {
        code.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).map(str::to_string).collect()
    };
    let (old, new) = (words(old), words(new));
    let mut out: Vec<(bool, String)> = old.difference(&new).map(|w| (false, w.clone())).collect();
    out.extend(new.difference(&old).map(|w| (true, w.clone())));
    out.sort();
    out
}

/// Whether two edits are the same migration (test 3 of [`near_duplicates`]), given
/// their sorted [`migration_words`].
fn same_migration(a: &[(bool, String)], b: &[(bool, String)]) -> bool {
    if a.is_empty() || b.is_empty() {
        return a.is_empty() && b.is_empty();
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// The code points of `code` with white space normalised: every run of (Python) white space,
/// line breaks and indentation included, becomes one space, and leading and trailing white
/// space is dropped. Re-indenting, re-wrapping or adding blank lines does not make a program
/// "different".
pub fn normalize_code(code: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(code.len());
    let mut pending_space = false;
    for c in code.chars() {
        if is_python_space(c) {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// One near-duplicate: item `index` repeats the earlier item `of` (indices into the slice
/// given to [`near_duplicates`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearDuplicate {
    pub index: usize,
    pub of: usize,
    /// [`edit_similarity`] of the two `update_info` texts (≥ [`UPDATE_INFO_SIMILARITY`], or
    /// ≥ [`UPDATE_INFO_SIMILARITY_ANY_VERSION`] when the versions differ).
    pub update_similarity: f64,
    /// [`edit_similarity`] of the two normalised `old_code` programs (≥ [`CODE_SIMILARITY`]).
    pub code_similarity: f64,
}

/// Every item that is a near-duplicate of an earlier one, in order of `index`, each naming
/// the earlier item with the highest code similarity (the earliest of those on a tie). An
/// item is reported at most once; the first of a group never.
///
/// A training set must not hold the same migration twice under two ids: it over-weights one
/// update and, after a train/test split, leaks test items into training. Two items are
/// **near-duplicates** when all of these hold:
///
/// 1. the same `dependency` (compared trimmed and case-insensitively);
/// 2. the same update: `update_info` texts with an [`edit_similarity`] of at least
///    [`UPDATE_INFO_SIMILARITY`] and the same `new_version` (trimmed), or of at least
///    [`UPDATE_INFO_SIMILARITY_ANY_VERSION`] whatever the versions;
/// 3. the same migration: the two edits `old_code` → `new_code` touch a common word — a word
///    (run of letters, digits and `_`) that the edit removes or adds in both items, on the
///    same side — or neither edit removes or adds any word ([`migration_words`]);
/// 4. nearly the same program: `old_code`, white space normalised by [`normalize_code`], with
///    an [`edit_similarity`] of at least [`CODE_SIMILARITY`].
///
/// Items with a blank `dependency`, `update_info` or `old_code` take no part (validation
/// reports those already).
///
/// # Thresholds and why
///
/// Calibrated on the 677 items of `data/train/*.jsonl` (nine libraries) and
/// `data/sample.jsonl`, all compared together (about 27 000 pairs of one dependency).
///
/// * **Code, 0.85.** No two distinct programs come close: per item, the most similar other
///   program of the same update scores 0.17–0.54 (most 0.25–0.40; one update's programs share
///   the imports and the API call, little else), and of any other update of the library at
///   most 0.78 (seaborn programs sharing a plotting scaffold, e.g. `lvplot` → `boxenplot` vs
///   the `boxenplot` `scale` rename; the pandas offset-alias programs, 0.75). A program saved
///   twice scores 1.0; one re-saved with a renamed variable, an edited literal or
///   re-indented scores 0.93–1.00 even for a short (220-character) program, more for longer
///   ones. 0.85 sits in the empty gap between the two.
/// * **Update text, 0.6 with the same version.** Edit similarity of `update_info` does not by
///   itself tell one update from another: one update worded twice scores 0.70–0.95 (the
///   `scipy.stats.mode` keepdims texts 0.77, the `scipy.signal` window texts 0.88), while
///   templated texts of different updates score up to 0.85 (`np.string_` vs `np.unicode_`
///   alias removal). Requiring the same `new_version` removes most templated false matches
///   (among the first 607 items, of the 163 pairs scoring ≥ 0.6 the 21 with different
///   versions are 19 different updates, e.g. the `base_estimator` renames of four sklearn
///   estimators, 0.60–0.77), and 0.6 keeps rewordings (0.70+) with a margin. Different
///   updates of one release with templated texts still pass this test; the migration test
///   below separates them.
/// * **Update text, 0.9 whatever the version.** One update is sometimes dated by its
///   deprecation release and sometimes by its removal release (the same `scipy.sparse.linalg`
///   `tol` text appears under `==1.12.0` and `==1.14.0`); a copy relabelled so is still a
///   duplicate. Different updates with different versions score at most 0.77 here.
/// * **Same migration.** Test 3 tells sibling updates of one release apart when their texts
///   are templated: a program migrated from `np.float_` to `np.float64` and the same program
///   migrated from `np.complex_` to `np.complex128` share no removed or added word, while a
///   copy of one migration (with renamed variables or edited literals) shares them all.
///
/// On that data (as of this calibration) no pair is flagged: the closest pair of programs of
/// one update is at 0.54, the closest pair of any programs at 0.78.
///
/// # Speed
///
/// Only pairs within one dependency are compared; a pair is skipped unless the length bound
/// `1 − |la − lb| / max(la, lb)` (an upper bound of the similarity, as the edit distance is
/// at least the length difference) reaches the threshold, which for code means lengths
/// within 15 %. Distances are [`recode_rewards::levenshtein`] (bit-parallel).
pub fn near_duplicates(items: &[&Item]) -> Vec<NearDuplicate> {
    struct Prepared<'a> {
        index: usize,
        version: &'a str,
        update: Vec<char>,
        migration: Vec<(bool, String)>,
        code: Vec<char>,
    }
    let mut by_dependency: HashMap<String, Vec<Prepared>> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        if item.dependency.trim().is_empty() || item.update_info.trim().is_empty() || item.old_code.trim().is_empty() {
            continue;
        }
        by_dependency.entry(item.dependency.trim().to_lowercase()).or_default().push(Prepared {
            index,
            version: item.new_version.trim(),
            update: item.update_info.trim().chars().collect(),
            code: normalize_code(&item.old_code),
            migration: migration_words(&item.old_code, &item.new_code),
        });
    }
    let mut found = Vec::new();
    for group in by_dependency.values() {
        for (k, later) in group.iter().enumerate() {
            let mut best: Option<NearDuplicate> = None;
            for earlier in &group[..k] {
                let update_minimum = if later.version == earlier.version {
                    UPDATE_INFO_SIMILARITY
                } else {
                    UPDATE_INFO_SIMILARITY_ANY_VERSION
                };
                if similarity_bound(later.code.len(), earlier.code.len()) < CODE_SIMILARITY
                    || similarity_bound(later.update.len(), earlier.update.len()) < update_minimum
                {
                    continue;
                }
                let update_similarity = edit_similarity(&later.update, &earlier.update);
                if update_similarity < update_minimum || !same_migration(&later.migration, &earlier.migration) {
                    continue;
                }
                let code_similarity = edit_similarity(&later.code, &earlier.code);
                if code_similarity < CODE_SIMILARITY {
                    continue;
                }
                if best.is_none_or(|b| code_similarity > b.code_similarity) {
                    best = Some(NearDuplicate {
                        index: later.index,
                        of: earlier.index,
                        update_similarity,
                        code_similarity,
                    });
                }
            }
            found.extend(best);
        }
    }
    found.sort_by_key(|d| d.index);
    found
}

/// A similarity for display: rounded *down* to two decimals, so a value shown never
/// exceeds the true one (0.999 shows as 0.99, only identical code as 1.00).
pub fn format_similarity(similarity: f64) -> String {
    // The small epsilon keeps exact decimals (0.85 = 17/20) from flooring to 0.84.
    format!("{:.2}", ((similarity * 100.0) + 1e-9).floor() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_basics() {
        let s = |a: &str, b: &str| edit_similarity(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>());
        assert_eq!(s("", ""), 1.0);
        assert_eq!(s("abc", ""), 0.0);
        assert_eq!(s("abcd", "abcd"), 1.0);
        assert_eq!(s("abcd", "abxd"), 0.75);
        assert_eq!(s("é", "e"), 0.0);
        assert_eq!(similarity_bound(100, 85), 0.85);
        assert_eq!(similarity_bound(0, 0), 1.0);
    }

    #[test]
    fn whitespace_is_normalised() {
        let n = |s: &str| normalize_code(s).into_iter().collect::<String>();
        assert_eq!(n("  a =  1\n\n\tb\r\n"), "a = 1 b");
        assert_eq!(n("def f():\n    return 1\n"), "def f(): return 1");
        assert_eq!(n(" \n "), "");
    }

    #[test]
    fn migrations() {
        let float = migration_words("x = np.float_(1)", "x = np.float64(1)");
        assert_eq!(float, vec![(false, "float_".to_string()), (true, "float64".to_string())]);
        let renamed = migration_words("y = np.float_(2)", "y = np.float64(2)");
        let complex = migration_words("x = np.complex_(1)", "x = np.complex128(1)");
        let partly = migration_words("x = np.float_(1)", "x = float(1)");
        let none = migration_words("f(1, 2)", "f(2, 1)");
        assert!(same_migration(&float, &renamed));
        assert!(same_migration(&float, &partly));
        assert!(!same_migration(&float, &complex));
        assert!(same_migration(&none, &none));
        assert!(!same_migration(&none, &float));
    }

    #[test]
    fn display_rounds_down() {
        assert_eq!(format_similarity(1.0), "1.00");
        assert_eq!(format_similarity(0.999), "0.99");
        assert_eq!(format_similarity(0.85), "0.85");
        assert_eq!(format_similarity(0.9349), "0.93");
    }
}
