//! From a completion to a replacement: the answer's code (the rewards' extraction), the
//! reasoning, the imports the answer adds, and the choice among several samples.
use recode_rewards::{Mode, extract_code, normalize};
use ruff_python_ast::{Mod, Stmt};
use ruff_text_size::Ranged;

use crate::detect::{drop_deep, parse};
use crate::splice::clean_answer_code;

/// The reasoning of a completion: the text before `</think>` (the prompt's prefill opened the
/// `<think>` block), trimmed; `None` when there is no `</think>` or nothing before it.
pub fn explanation(completion: &str) -> Option<String> {
    let end = completion.find("</think>")?;
    let text = completion[..end].trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The code of a completion: the rewards' extraction in fixed mode
/// (`recode_rewards::extract_code(completion, Mode::Fixed)`: the first ```` ```python ````
/// block after `</think>`, CRLF accepted — the answer's code rather than scratch code in the
/// reasoning), with blank edge lines and common indentation removed.
pub fn answer_code(completion: &str) -> Option<String> {
    extract_code(completion, Mode::Fixed).map(|code| clean_answer_code(&code))
}

/// An answer split into the imports it starts with and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitAnswer {
    /// The leading top-level import statements, each as written.
    pub imports: Vec<String>,
    /// Everything after them, leading blank lines removed.
    pub body: String,
    /// Whether every top-level statement is an import.
    pub only_imports: bool,
}

/// Splits valid Python `code` into its leading imports and the rest.
pub fn split_imports(code: &str) -> SplitAnswer {
    let parsed = parse(code);
    let mut imports = Vec::new();
    let mut body_start = 0;
    let mut only_imports = true;
    if let Mod::Module(module) = parsed.syntax() {
        let mut leading = true;
        for stmt in &module.body {
            let is_import = matches!(stmt, Stmt::Import(_) | Stmt::ImportFrom(_));
            only_imports &= is_import;
            if leading && is_import {
                imports.push(code[stmt.start().to_usize()..stmt.end().to_usize()].to_string());
                let end = stmt.end().to_usize();
                body_start = code[end..].find('\n').map_or(code.len(), |i| end + i + 1);
            } else {
                leading = false;
            }
        }
    }
    drop_deep(parsed, code.len());
    let body = code[body_start..].trim_start_matches(['\n', '\r']).to_string();
    SplitAnswer { imports, body, only_imports }
}

/// Collapses white space runs, for comparing import statements.
pub fn import_key(statement: &str) -> String {
    statement.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The key by which samples are compared: the rewards' fixed normalisation (comments, blank
/// lines and trailing white space do not count).
pub fn code_key(code: &str) -> String {
    normalize(code, Mode::Fixed)
}

/// How to pick one of several samples for a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choice {
    /// The first sample (in sampling order) that is usable: it parses and the file with it parses.
    #[default]
    First,
    /// Among the usable samples, the most frequent by normalised code (ties: the group seen
    /// first); its first sample.
    Majority,
}

/// Index of the chosen sample among `keys` (`None` for an unusable sample).
pub fn choose(keys: &[Option<String>], rule: Choice) -> Option<usize> {
    match rule {
        Choice::First => keys.iter().position(Option::is_some),
        Choice::Majority => {
            let mut best: Option<(usize, usize)> = None; // (count, first index)
            for (i, key) in keys.iter().enumerate() {
                let Some(key) = key else { continue };
                if keys[..i].iter().any(|k| k.as_ref() == Some(key)) {
                    continue; // counted with its first occurrence
                }
                let count = keys.iter().filter(|k| k.as_ref() == Some(key)).count();
                if best.is_none_or(|(c, _)| count > c) {
                    best = Some((count, i));
                }
            }
            best.map(|(_, i)| i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_and_answer_code() {
        let c = " think about ```python\nscratch()\n```</think>\n<answer>\n```python\n    x = np.trapezoid(y)\n```\n</answer>";
        assert_eq!(explanation(c).as_deref(), Some("think about ```python\nscratch()\n```"));
        assert_eq!(answer_code(c).as_deref(), Some("x = np.trapezoid(y)"));
        assert_eq!(answer_code("no code</think>"), None);
    }

    #[test]
    fn leading_imports_are_split_off() {
        let s = split_imports("import numpy as np\nfrom a import (b,\n  c)\n\n# why\nx = np.trapezoid(y)\nimport os");
        assert_eq!(s.imports, ["import numpy as np", "from a import (b,\n  c)"]);
        assert_eq!(s.body, "# why\nx = np.trapezoid(y)\nimport os");
        assert!(!s.only_imports);
        assert!(split_imports("import a\nimport b").only_imports);
        assert_eq!(import_key("from  a import\tb"), "from a import b");
    }

    #[test]
    fn choice_rules() {
        let k = |s: &str| Some(s.to_string());
        let keys = vec![None, k("a"), k("b"), k("b"), None, k("a"), k("b")];
        assert_eq!(choose(&keys, Choice::First), Some(1));
        assert_eq!(choose(&keys, Choice::Majority), Some(2));
        let tie = vec![k("a"), k("b"), k("b"), k("a")];
        assert_eq!(choose(&tie, Choice::Majority), Some(0));
        assert_eq!(choose(&[None, None], Choice::Majority), None);
    }
}
