//! ReCode's rule-based rewards (spec §4): format, code extraction, normalisation,
//! syntax check, EM* and ES*. No tensor dependencies.
//!
//! Two modes: [`Mode::Parity`] returns the reference implementation's numbers on every
//! input, quirks included; [`Mode::Fixed`] returns what the reference meant.

/// Which semantics to score with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Bit-for-bit the reference implementation's numbers, quirks included.
    #[default]
    Parity,
    /// What the reference meant (see the crate docs for every difference).
    Fixed,
}

/// Where the reference implementation raises instead of returning a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReferenceRaises {
    /// Both normalised strings empty: `distance / max_length` divides by zero.
    /// recode scores the pair as identical (ES = 1, ES* = 2.0).
    ZeroDivisionError,
    /// `ast.parse` gives up on deeply nested code (MemoryError / RecursionError).
    /// recode scores the code as not parsing (−2.0).
    TooDeeplyNested,
}

/// The reward components of one completion.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scores {
    /// +1 or −1 (spec §4.1).
    pub format: f64,
    /// +2.0, −1.5 or −2.0 (spec §4.5).
    pub em_star: f64,
    /// In [−1.5, 2.0], or −2.0 when there is no parsable python block (spec §4.5).
    pub es_star: f64,
    /// `format + es_star`.
    pub total: f64,
    /// Set where the reference would raise; the value used instead is documented on the variant.
    pub reference_raises: Option<ReferenceRaises>,
}

/// Score one completion (the text generated after the prefilled `<think>`) against the target code.
pub fn score(completion: &str, target: &str, mode: Mode) -> Scores {
    let _ = (completion, target, mode);
    todo!()
}
