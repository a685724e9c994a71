//! Python's definition of white space (`str.isspace`, and `\s` in `re` for `str` patterns).
//!
//! It differs from Rust's `char::is_whitespace` by U+001C–U+001F (the ASCII information
//! separators), which Python counts as white space and Rust does not.

/// True for exactly the 29 code points for which CPython's `str.isspace()` is true.
pub fn is_python_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\u{1c}'..='\u{20}') || (c > '\u{7f}' && c.is_whitespace())
}

/// Python's `str.strip()` with no argument.
pub fn python_strip(s: &str) -> &str {
    s.trim_matches(is_python_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_cpython_isspace_table() {
        // From CPython 3.11: [hex(c) for c in range(0x110000) if chr(c).isspace()]
        let expected: Vec<u32> = vec![
            0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
            0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
        ];
        let actual: Vec<u32> =
            (0..=0x10ffffu32).filter_map(char::from_u32).filter(|&c| is_python_space(c)).map(|c| c as u32).collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn strip_removes_information_separators() {
        assert_eq!(python_strip("\u{1c} x = 1\u{1f}\n"), "x = 1");
        assert_eq!(python_strip("\u{200b}x"), "\u{200b}x", "U+200B is not white space in Python");
    }
}
