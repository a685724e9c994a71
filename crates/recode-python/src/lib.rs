//! Python source facts for recode, with no tensor dependencies.
//!
//! `parses_as_module` answers what CPython 3.11's `ast.parse(src)` answers
//! (accept / raise `SyntaxError`), which the rewards' syntax check needs.

/// True when CPython 3.11 `ast.parse(source)` would succeed.
pub fn parses_as_module(source: &str) -> bool {
    ruff_python_parser::parse_module(source).is_ok()
}
