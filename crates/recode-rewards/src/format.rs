//! The format reward (spec §4.1).
//!
//! The reference matches `"<think>" + completion` against
//! `^<think>([^<]*(?:<(?!/?think>)[^<]*)*)<\/think>\s*<answer>([\s\S]*?)<\/answer>\s*$`
//! with `re.search` and DOTALL. The look-ahead is out of reach of the `regex` crate, and the
//! pattern reduces to three plain checks, which is also much faster:
//! 1. the think block runs to the first `</think>` and holds no `<think>` (a `<` is allowed
//!    anywhere else, so the only excluded substrings are `<think>` and `</think>`);
//! 2. after `</think>`, Python white space then `<answer>`;
//! 3. some `</answer>` after that is followed only by Python white space (the lazy group
//!    can stretch over any text, other `<answer>` blocks included).

use crate::whitespace::is_python_space;

/// +1.0 when the completion has the `<think>…</think> <answer>…</answer>` shape, else −1.0.
/// `completion` is the generated text, which begins after the prompt's prefilled `<think>`.
pub fn format_reward(completion: &str) -> f64 {
    if has_answer_format(completion) { 1.0 } else { -1.0 }
}

fn has_answer_format(completion: &str) -> bool {
    // The implicit leading `<think>` of the reference is already consumed: the think body
    // starts at the completion's first byte.
    let Some(think_end) = completion.find("</think>") else {
        return false;
    };
    if completion[..think_end].contains("<think>") {
        return false;
    }
    let after_think = completion[think_end + "</think>".len()..].trim_start_matches(is_python_space);
    let Some(answer_body) = after_think.strip_prefix("<answer>") else {
        return false;
    };
    // `\s*$` after `</answer>`: `$` also matches before a final "\n", which is white space anyway.
    answer_body.trim_end_matches(is_python_space).ends_with("</answer>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed() {
        assert_eq!(format_reward("x</think>\n<answer>\n```python\nx\n```\n</answer>\n"), 1.0);
        assert_eq!(format_reward("</think><answer></answer>"), 1.0);
        assert_eq!(format_reward("a < b <thin> </thinker></think> <answer>a</answer> \u{1c}"), 1.0);
    }

    #[test]
    fn malformed() {
        // The completion itself opens a second think block.
        assert_eq!(format_reward("<think>x</think><answer>a</answer>"), -1.0);
        assert_eq!(format_reward("x</think><answer>a</answer> trailing"), -1.0);
        assert_eq!(format_reward("x</think>text<answer>a</answer>"), -1.0);
        assert_eq!(format_reward("x</think><answer>a"), -1.0);
        assert_eq!(format_reward("x</think></answer><answer>"), -1.0);
        assert_eq!(format_reward(""), -1.0);
        // U+200B is not Python white space.
        assert_eq!(format_reward("x</think><answer>a</answer>\u{200b}"), -1.0);
    }

    #[test]
    fn several_answers_and_inner_tags_still_count() {
        assert_eq!(format_reward("x</think><answer>a</answer><answer>b</answer>"), 1.0);
        assert_eq!(format_reward("x</think><answer>a</think></answer>"), 1.0);
    }
}
