//! The program that runs one unit test (spec §6.1).

use recode_rewards::{Mode, extract_code};

use crate::arena::{Item, Update, UpdateType};
use crate::error::ProgramError;

/// How an update is put in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnforceKind {
    /// Argument/output changes: `{function_path} = {new}` (e.g. `math.sin = sin`).
    Replace,
    /// `modify-function-name`: `del {parent}.{old}` then `setattr({parent}, '{new}', {new})`.
    Rename,
    /// `add-function`: `setattr({parent}, '{new}', {new})`.
    Add,
}

impl EnforceKind {
    /// The kind for an update type (`None` for an unknown type).
    pub fn of(update_type: &UpdateType) -> Option<EnforceKind> {
        match update_type {
            UpdateType::ModifyFunctionName => Some(EnforceKind::Rename),
            UpdateType::AddFunction => Some(EnforceKind::Add),
            UpdateType::Other(_) => None,
            _ => Some(EnforceKind::Replace),
        }
    }
}

/// With or without the update (the latter for UPass: passes with, fails without).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Update imports, implementation, enforce statement, candidate, item imports, test, call.
    WithUpdate,
    /// The same without the implementation and the enforce statement.
    WithoutUpdate,
}

/// Names of the top-level (column-0) functions a source defines, in order.
fn top_level_defs(source: &str) -> Vec<&str> {
    source.lines().filter_map(def_name).collect()
}

fn def_name(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("def ").or_else(|| line.strip_prefix("async def "))?;
    let rest = rest.trim_start();
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// The name a signature gives its function: `math.multicomb(n, k, /)` → `multicomb`,
/// `def math.sine(x,/)` → `sine`, `radians(x: …)` → `radians`.
fn signature_name(signature: &str) -> Option<&str> {
    let s = signature.trim_start();
    let s = s.strip_prefix("def ").unwrap_or(s);
    let head = s[..s.find('(')?].trim();
    let name = head.rsplit('.').next()?.trim();
    (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')).then_some(name)
}

fn split_path(update: &Update) -> Result<(&str, &str), ProgramError> {
    match update.function_path.rsplit_once('.') {
        Some((parent, old)) if !parent.is_empty() && !old.is_empty() => Ok((parent, old)),
        _ => Err(ProgramError::NoParent {
            update_id: update.update_id.clone(),
            function_path: update.function_path.clone(),
        }),
    }
}

/// The name of the new function defined by `update.implementation`.
///
/// Among the implementation's top-level `def`s: for a replacement, the one named like the last
/// part of `function_path` (`math.sin` → `sin`); for a rename or an added function, the one
/// the new `signature` names (`math.multicomb(…)` → `multicomb`), else the only one that is
/// not the old name. Failing that, the only `def`. (In `arena.jsonl` every implementation has
/// exactly one top-level `def`.)
pub fn new_function_name(update: &Update) -> Result<String, ProgramError> {
    let kind = EnforceKind::of(&update.update_type).ok_or_else(|| unknown(update))?;
    let (_, old) = split_path(update)?;
    let defs = top_level_defs(&update.implementation);
    let from_signature = signature_name(&update.signature).filter(|n| defs.contains(n));
    let chosen = match kind {
        EnforceKind::Replace => defs.iter().copied().find(|d| *d == old).or(from_signature),
        EnforceKind::Rename | EnforceKind::Add => from_signature.filter(|n| *n != old).or_else(|| {
            let others: Vec<&str> = defs.iter().copied().filter(|d| *d != old).collect();
            (others.len() == 1).then(|| others[0])
        }),
    };
    let chosen = chosen.or_else(|| (defs.len() == 1).then(|| defs[0]));
    chosen.map(str::to_string).ok_or_else(|| ProgramError::NoNewName {
        update_id: update.update_id.clone(),
        why: if defs.is_empty() {
            "no top-level def".to_string()
        } else {
            format!("top-level defs {defs:?}, old name {old:?}, signature {:?}", update.signature)
        },
    })
}

fn unknown(update: &Update) -> ProgramError {
    ProgramError::UnknownUpdateType {
        update_id: update.update_id.clone(),
        update_type: update.update_type.as_str().to_string(),
    }
}

/// The statement that puts the update in place (no trailing newline):
/// - argument/output changes: `math.sin = sin`;
/// - `modify-function-name`: `del math.sin\nsetattr(math, 'sine', sine)`;
/// - `add-function`: `setattr(math, 'multicomb', multicomb)`.
pub fn enforce_statement(update: &Update) -> Result<String, ProgramError> {
    let kind = EnforceKind::of(&update.update_type).ok_or_else(|| unknown(update))?;
    let (parent, old) = split_path(update)?;
    let new = new_function_name(update)?;
    Ok(match kind {
        EnforceKind::Replace => format!("{} = {new}", update.function_path),
        EnforceKind::Rename => format!("del {parent}.{old}\nsetattr({parent}, '{new}', {new})"),
        EnforceKind::Add => format!("setattr({parent}, '{new}', {new})"),
    })
}

/// The name of the first top-level function a unit test defines (the one to call).
pub fn test_function_name(test: &str) -> Option<&str> {
    test.lines().find_map(def_name)
}

/// The candidate solution in a model's answer: its first python block, stripped — the same
/// extraction as the rewards (`extract_code(answer, Mode::Parity)`). `None` when there is none.
pub fn candidate_from_answer(answer: &str) -> Option<String> {
    extract_code(answer, Mode::Parity).map(|c| c.into_owned())
}

fn push_section(out: &mut String, section: &str) {
    if section.trim().is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(section);
    if !section.ends_with('\n') {
        out.push('\n');
    }
}

/// The program for one unit test of `item` with `candidate` (spec §6.1), sections separated by
/// a blank line:
///
/// 1. the update's `imports` (one per line);
/// 2. the update's `implementation` and 3. [`enforce_statement`] — [`Variant::WithUpdate`] only;
/// 4. `candidate`;
/// 5. the item's `imports`, **except lines that are already among the update's imports**;
/// 6. `unit_test`; 7. a call `test_name()`.
///
/// Why 5 skips repeated lines: in the benchmark the item's imports repeat the update's, which
/// save the original (`old_sin = math.sin`, `setattr(math, 'old_sin', old_sin)`). Run again
/// after the enforce statement they would rebind `old_sin` to the new function (whose body
/// calls `old_sin`: endless recursion) or, after a rename's `del math.sin`, raise
/// `AttributeError`. Item lines not in the update's imports are kept, in order.
pub fn build_program(item: &Item, unit_test: &str, candidate: &str, variant: Variant) -> Result<String, ProgramError> {
    let name =
        test_function_name(unit_test).ok_or_else(|| ProgramError::NoTestFunction { item_id: item.item_id.clone() })?;
    let update = &item.update;
    let mut out = String::new();
    push_section(&mut out, &update.imports.join("\n"));
    if variant == Variant::WithUpdate {
        let enforce = enforce_statement(update)?;
        push_section(&mut out, &update.implementation);
        push_section(&mut out, &enforce);
    }
    push_section(&mut out, candidate);
    let extra: Vec<&str> = item.imports.iter().filter(|l| !update.imports.contains(l)).map(String::as_str).collect();
    push_section(&mut out, &extra.join("\n"));
    push_section(&mut out, unit_test);
    push_section(&mut out, &format!("{name}()"));
    Ok(out)
}

/// [`build_program`] for each of the item's unit tests, in order.
pub fn build_programs(item: &Item, candidate: &str, variant: Variant) -> Result<Vec<String>, ProgramError> {
    item.unit_tests.iter().map(|t| build_program(item, t, candidate, variant)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(def_name("def sin(x, unit='radians'):"), Some("sin"));
        assert_eq!(def_name("async def f():"), Some("f"));
        assert_eq!(def_name("    def inner():"), None);
        assert_eq!(signature_name("def math.sine(x,/)"), Some("sine"));
        assert_eq!(signature_name("radians(x: Union[float, List[float]], /) -> X"), Some("radians"));
        assert_eq!(signature_name("numpy.arange([start,] stop)"), Some("arange"));
        assert_eq!(signature_name("no parens"), None);
    }

    #[test]
    fn candidate_is_first_python_block() {
        let answer = "<think>x</think>\n<answer>\n```python\ndef f():\n    return 1\n```\n</answer>";
        assert_eq!(candidate_from_answer(answer).as_deref(), Some("def f():\n    return 1"));
        assert_eq!(candidate_from_answer("no code"), None);
    }
}
