//! Where ruff's parser (targeting 3.11) and CPython 3.11's `ast.parse` disagree, the CPython
//! rule, checked directly. Each check was found by the agreement corpus.

use ruff_python_ast::Mod;
use ruff_python_ast::token::TokenKind;
use ruff_python_parser::Parsed;
use ruff_text_size::Ranged;

use crate::Verdict;

/// CPython's tokenizer limits: `MAXLEVEL` open brackets, `MAXINDENT` indentation levels.
const MAX_BRACKETS: usize = 200;
const MAX_INDENT: usize = 100;

/// Verdicts decided from the raw text, before parsing.
pub(crate) fn pre_parse(source: &str) -> Option<Verdict> {
    // CPython 3.11.7: "source code string cannot contain null bytes" (a SyntaxError).
    if source.contains('\0') {
        return Some(Verdict::Invalid);
    }
    // `ast.parse` of a str does not skip a byte-order mark: "invalid non-printable character".
    if source.starts_with('\u{feff}') {
        return Some(Verdict::Invalid);
    }
    None
}

/// Verdicts for sources ruff accepts but CPython 3.11 rejects.
pub(crate) fn post_parse(source: &str, parsed: &Parsed<Mod>) -> Option<Verdict> {
    let (mut brackets, mut indent) = (0usize, 0usize);
    // Tabs in indentation: check consistency the way CPython's tokenizer does.
    let tabs = source.contains('\t');
    let mut alt = Indents::default();
    let mut line_start = true;
    for t in parsed.tokens().iter() {
        let kind = t.kind();
        if tabs
            && line_start
            && brackets == 0
            && !kind.is_trivia()
            && !matches!(kind, TokenKind::Indent | TokenKind::Dedent | TokenKind::NonLogicalNewline)
        {
            line_start = false;
            if !alt.check(source, t.start().to_usize()) {
                return Some(Verdict::Invalid);
            }
        }
        match kind {
            TokenKind::Newline => line_start = true,
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => {
                brackets += 1;
                if brackets > MAX_BRACKETS {
                    return Some(Verdict::Invalid);
                }
            }
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => brackets = brackets.saturating_sub(1),
            TokenKind::Indent => {
                indent += 1;
                if indent >= MAX_INDENT {
                    return Some(Verdict::Invalid);
                }
            }
            TokenKind::Dedent => indent = indent.saturating_sub(1),
            TokenKind::Name
                if source
                    .get(t.start().to_usize()..t.end().to_usize())
                    .is_some_and(|name| !identifier_ok_in_unicode_14(name)) =>
            {
                return Some(Verdict::Invalid);
            }
            _ => {}
        }
    }
    None
}

/// CPython's indentation stacks: columns with tabs to multiples of 8, and with tabs as 1
/// (`altcol`). A line whose order differs between the two is a `TabError`.
#[derive(Default)]
struct Indents {
    stack: Vec<(usize, usize)>,
}

impl Indents {
    /// Checks the indentation of the line holding `offset` (the first token of a logical
    /// line); false for a `TabError`.
    fn check(&mut self, source: &str, offset: usize) -> bool {
        let line = source[..offset].rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let (mut col, mut alt) = (0usize, 0usize);
        for b in source[line..offset].bytes() {
            match b {
                b' ' => (col, alt) = (col + 1, alt + 1),
                b'\t' => (col, alt) = ((col / 8 + 1) * 8, alt + 1),
                b'\x0c' => (col, alt) = (0, 0),
                // A continuation line or odd whitespace: not an indentation CPython checks.
                _ => return true,
            }
        }
        let (top, alt_top) = self.stack.last().copied().unwrap_or((0, 0));
        if col == top {
            alt == alt_top
        } else if col > top {
            self.stack.push((col, alt));
            alt > alt_top
        } else {
            while self.stack.last().is_some_and(|&(c, _)| col < c) {
                self.stack.pop();
            }
            let (top, alt_top) = self.stack.last().copied().unwrap_or((0, 0));
            col != top || alt == alt_top
        }
    }
}

/// CPython 3.11 knows Unicode 14: later additions to the identifier classes (new letters,
/// and ZWNJ, ZWJ and the katakana middle dots made `XID_Continue` in 15.1) are invalid there.
fn identifier_ok_in_unicode_14(name: &str) -> bool {
    name.is_ascii()
        || name.chars().all(|c| {
            let c = c as u32;
            !matches!(c, 0x200C | 0x200D | 0x30FB | 0xFF65)
                && crate::unicode14::UNASSIGNED
                    .binary_search_by(|&(lo, hi)| {
                        if hi < c {
                            std::cmp::Ordering::Less
                        } else if lo > c {
                            std::cmp::Ordering::Greater
                        } else {
                            std::cmp::Ordering::Equal
                        }
                    })
                    .is_err()
        })
}
