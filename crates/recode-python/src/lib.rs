//! Python source facts for recode, with no tensor dependencies.
//!
//! [`check_module`] answers what CPython 3.11's `ast.parse(src)` answers (accept, raise
//! `SyntaxError`, or give up with `MemoryError`/`RecursionError`), which the rewards' syntax
//! check needs. [`comment_ranges`] and [`string_ranges`] give token ranges for the rewards'
//! "fixed" normalisation mode.
//!
//! The parser is ruff's (error-resilient, stack-safe), told to target Python 3.11; the places
//! where it and CPython 3.11 still disagree are closed by the checks in `cpython`, each found
//! by the agreement corpus in `python/syntax_corpus`.

use std::ops::Range;

use ruff_python_ast::Mod;
use ruff_python_ast::PythonVersion;
use ruff_python_ast::token::TokenKind;
use ruff_python_parser::{Mode, ParseOptions, Parsed, parse_unchecked};
use ruff_text_size::Ranged;

mod cpython;
mod depth;
mod unicode14;

/// CPython 3.11 `ast.parse` outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// `ast.parse` returns a module.
    Valid,
    /// `ast.parse` raises `SyntaxError` (or a subclass: `IndentationError`, `TabError`).
    Invalid,
    /// `ast.parse` raises `MemoryError` or `RecursionError` (nesting too deep); the reference
    /// treats this as undefined, so callers decide.
    TooComplex,
}

/// True when CPython 3.11 `ast.parse(source)` would succeed (false for [`Verdict::TooComplex`]).
pub fn parses_as_module(source: &str) -> bool {
    check_module(source) == Verdict::Valid
}

/// CPython 3.11 `ast.parse(source)` verdict. Never panics, whatever the input.
pub fn check_module(source: &str) -> Verdict {
    // Checks on the raw text that CPython's tokenizer makes before its parser runs.
    if let Some(v) = cpython::pre_parse(source) {
        return v;
    }
    let parsed = parse(source);
    let verdict = if !parsed.errors().is_empty() || !parsed.unsupported_syntax_errors().is_empty() {
        Verdict::Invalid
    } else if let Some(v) = cpython::post_parse(source, &parsed) {
        v
    } else {
        depth::verdict(source, &parsed)
    };
    depth::drop_deep(parsed, source.len());
    verdict
}

fn parse(source: &str) -> Parsed<Mod> {
    parse_unchecked(source, ParseOptions::from(Mode::Module).with_target_version(PythonVersion::PY311))
}

/// Byte ranges of comment tokens (`#` to end of line, without the line break), as Python's
/// tokenizer sees them: a `#` inside a string is not a comment, and a quote inside a comment
/// opens nothing. Best effort on invalid code.
pub fn comment_ranges(source: &str) -> Vec<Range<usize>> {
    let parsed = parse(source);
    let out = parsed
        .tokens()
        .iter()
        .filter(|t| t.kind() == TokenKind::Comment)
        .map(|t| t.range().start().to_usize()..t.range().end().to_usize())
        .collect();
    depth::drop_deep(parsed, source.len());
    out
}

/// Byte ranges of string literal tokens: plain, bytes and triple-quoted strings, and each
/// f-string (or t-string) as one range from its prefix to its closing quote. Adjacent literals
/// (implicit concatenation) are separate ranges. Best effort on invalid code: an unterminated
/// f-string runs to its last piece.
pub fn string_ranges(source: &str) -> Vec<Range<usize>> {
    let parsed = parse(source);
    let mut out = Vec::new();
    // Start of the outermost open f-string/t-string and how deeply they nest.
    let mut open: Option<(usize, usize)> = None;
    let mut last_end = 0;
    for t in parsed.tokens().iter() {
        let (s, e) = (t.range().start().to_usize(), t.range().end().to_usize());
        match t.kind() {
            TokenKind::String if open.is_none() => out.push(s..e),
            TokenKind::FStringStart | TokenKind::TStringStart => {
                open = Some(match open {
                    None => (s, 1),
                    Some((start, n)) => (start, n + 1),
                });
            }
            TokenKind::FStringEnd | TokenKind::TStringEnd => {
                if let Some((start, n)) = open {
                    if n == 1 {
                        out.push(start..e);
                        open = None;
                    } else {
                        open = Some((start, n - 1));
                    }
                }
            }
            // Unterminated f-string: the lexer moves on at the line end without an end token.
            TokenKind::Newline | TokenKind::EndOfFile if open.is_some() => {
                let (start, _) = open.take().unwrap_or_default();
                out.push(start..last_end.max(start));
            }
            _ => {}
        }
        if open.is_some() {
            last_end = e;
        }
    }
    if let Some((start, _)) = open {
        out.push(start..last_end.max(start));
    }
    depth::drop_deep(parsed, source.len());
    out
}
