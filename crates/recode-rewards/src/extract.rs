//! Code extraction (spec §4.2).

use std::borrow::Cow;

use crate::Mode;
use crate::whitespace::python_strip;

const FENCE_OPEN: &str = "```python\n";
const FENCE_CLOSE: &str = "\n```";

/// The code of the graded python block, or `None` when there is none.
///
/// Parity: the first match of ```` ```python\n(.*?)\n``` ```` (DOTALL) anywhere in the
/// completion, then Python's `strip()`.
///
/// Fixed: CRLF and lone CR become LF first; the search starts after the first `</think>`
/// when there is one (the reasoning's scratch code is not graded); no `strip()` — the fixed
/// normalisation removes blank lines and the common indentation instead, so a fully indented
/// block is not broken by stripping only its first line.
pub fn extract_code(completion: &str, mode: Mode) -> Option<Cow<'_, str>> {
    match mode {
        Mode::Parity => first_python_block(completion).map(|code| Cow::Borrowed(python_strip(code))),
        Mode::Fixed => {
            let unix = to_unix_newlines(completion);
            let region = match unix.find("</think>") {
                Some(end) => &unix[end + "</think>".len()..],
                None => &unix[..],
            };
            first_python_block(region).map(|code| Cow::Owned(code.to_owned()))
        }
    }
}

/// The body of the first ```` ```python\n…\n``` ```` block.
///
/// The lazy body ends at the first "\n```" after the opening; if the leftmost opening has no
/// closing after it, no later opening has one either, so the first opening decides.
fn first_python_block(text: &str) -> Option<&str> {
    let start = text.find(FENCE_OPEN)? + FENCE_OPEN.len();
    let len = text[start..].find(FENCE_CLOSE)?;
    Some(&text[start..start + len])
}

/// "\r\n" and lone "\r" to "\n", borrowing when there is nothing to change.
pub(crate) fn to_unix_newlines(text: &str) -> Cow<'_, str> {
    if text.contains('\r') { Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n")) } else { Cow::Borrowed(text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parity(c: &str) -> Option<String> {
        extract_code(c, Mode::Parity).map(Cow::into_owned)
    }
    fn fixed(c: &str) -> Option<String> {
        extract_code(c, Mode::Fixed).map(Cow::into_owned)
    }

    #[test]
    fn first_block_anywhere_in_parity() {
        let c = "```python\na = 1\n```</think><answer>```python\nb = 2\n```</answer>";
        assert_eq!(parity(c).as_deref(), Some("a = 1"));
        assert_eq!(fixed(c).as_deref(), Some("b = 2"));
    }

    #[test]
    fn crlf_has_no_block_in_parity_only() {
        let c = "r</think>\r\n<answer>\r\n```python\r\nx = 1\r\n```\r\n</answer>";
        assert_eq!(parity(c), None);
        assert_eq!(fixed(c).as_deref(), Some("x = 1"));
    }

    #[test]
    fn closing_fence_needs_its_own_line() {
        assert_eq!(parity("```python\nx = 1```"), None);
        assert_eq!(parity("```python\nx = 1```\n```").as_deref(), Some("x = 1```"));
        assert_eq!(parity("```python\n```"), None);
        assert_eq!(parity("```python\n\n```").as_deref(), Some(""));
    }

    #[test]
    fn parity_strips_only_the_outside() {
        assert_eq!(parity("```python\n\n    if a:\n        b\n\n```").as_deref(), Some("if a:\n        b"));
        assert_eq!(fixed("```python\n    if a:\n        b\n```").as_deref(), Some("    if a:\n        b"));
    }
}
