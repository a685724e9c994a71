//! Edit distance over Unicode code points, bit-parallel (Myers 1999, in Hyyrö's block form):
//! O(⌈m/64⌉·n) word operations instead of the reference's O(m·n) table.

use std::collections::HashMap;

/// Plain Levenshtein distance (insert, delete, substitute each cost 1) between two
/// sequences of code points.
pub fn levenshtein(a: &[char], b: &[char]) -> usize {
    // Common prefix and suffix never change the distance.
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    // The shorter string is the bit-vector "pattern".
    let (pattern, text) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if pattern.is_empty() {
        return text.len();
    }
    let peq = PatternMasks::new(pattern);
    let blocks = pattern.len().div_ceil(64);
    let last_bit = 1u64 << ((pattern.len() - 1) % 64);
    let mut positive = vec![u64::MAX; blocks];
    let mut negative = vec![0u64; blocks];
    let mut distance = pattern.len();
    for &c in text {
        let eq = peq.get(c);
        // The top row of the DP table grows by one per text character.
        let mut carry: i8 = 1;
        for block in 0..blocks {
            let high = if block + 1 == blocks { last_bit } else { 1 << 63 };
            carry = advance_block(&mut positive[block], &mut negative[block], eq.map_or(0, |e| e[block]), carry, high);
        }
        distance = distance.wrapping_add_signed(carry as isize);
    }
    distance
}

/// One column step of one 64-row block; `carry_in` and the result are the horizontal
/// deltas (−1, 0, +1) entering at the block's top and leaving at its row `high`.
#[inline(always)]
fn advance_block(pv: &mut u64, mv: &mut u64, eq: u64, carry_in: i8, high: u64) -> i8 {
    let neg_in = u64::from(carry_in < 0);
    let xv = eq | *mv;
    let eq = eq | neg_in;
    let xh = ((eq & *pv).wrapping_add(*pv) ^ *pv) | eq;
    let mut ph = *mv | !(xh | *pv);
    let mut mh = *pv & xh;
    let carry_out = if ph & high != 0 {
        1
    } else if mh & high != 0 {
        -1
    } else {
        0
    };
    ph = (ph << 1) | u64::from(carry_in > 0);
    mh = (mh << 1) | neg_in;
    *pv = mh | !(xv | ph);
    *mv = ph & xv;
    carry_out
}

/// For each character, the bit mask of the pattern positions that hold it, per 64-row block.
struct PatternMasks {
    blocks: usize,
    ascii: Vec<u64>,
    other: HashMap<char, Vec<u64>>,
}

impl PatternMasks {
    fn new(pattern: &[char]) -> Self {
        let blocks = pattern.len().div_ceil(64);
        let mut masks = Self { blocks, ascii: vec![0; 128 * blocks], other: HashMap::new() };
        for (i, &c) in pattern.iter().enumerate() {
            let bit = 1u64 << (i % 64);
            if c.is_ascii() {
                masks.ascii[c as usize * blocks + i / 64] |= bit;
            } else {
                masks.other.entry(c).or_insert_with(|| vec![0; blocks])[i / 64] |= bit;
            }
        }
        masks
    }

    fn get(&self, c: char) -> Option<&[u64]> {
        if c.is_ascii() {
            let start = c as usize * self.blocks;
            Some(&self.ascii[start..start + self.blocks])
        } else {
            self.other.get(&c).map(Vec::as_slice)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(a: &[char], b: &[char]) -> usize {
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.iter().enumerate() {
            let mut diagonal = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let substitute = diagonal + usize::from(ca != cb);
                diagonal = row[j + 1];
                row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
            }
        }
        row[b.len()]
    }

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn known_distances() {
        assert_eq!(levenshtein(&chars("kitten"), &chars("sitting")), 3);
        assert_eq!(levenshtein(&chars(""), &chars("abc")), 3);
        assert_eq!(levenshtein(&chars("äöü"), &chars("aöu")), 2, "code points, not bytes");
        assert_eq!(levenshtein(&chars("np.trapz(y)"), &chars("np.trapezoid(y)")), 4);
    }

    #[test]
    fn long_strings_cross_block_boundaries() {
        let a: Vec<char> = (0..300).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
        let mut b = a.clone();
        b.remove(63);
        b.insert(130, 'é');
        b[200] = 'z';
        assert_eq!(levenshtein(&a, &b), table(&a, &b));
    }

    proptest! {
        #[test]
        fn equals_the_dynamic_programming_table(a in "[ab\\né€ ]{0,150}", b in "[abc\\n€ ]{0,150}") {
            let (a, b) = (chars(&a), chars(&b));
            prop_assert_eq!(levenshtein(&a, &b), table(&a, &b));
            prop_assert_eq!(levenshtein(&b, &a), table(&a, &b));
        }
    }
}
