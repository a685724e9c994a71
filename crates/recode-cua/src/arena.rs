//! Loading CodeUpdateArena in both of its layouts into one normalised form.
//!
//! # Layouts (detected per file from its first non-blank line)
//!
//! **Grouped** (`arena.jsonl`, June 2024; one update per line): `{"update": {...},
//! "prog_syn_examples": [{...}, ...]}`. `update.imports` and each example's `imports` and
//! `unit_tests` are lists of strings. (The next upstream commit joined them into strings and
//! renamed the example's `imports` to `prog_syn_imports`; both spellings and both forms are
//! accepted.)
//!
//! **Ungrouped** (`arena-ungrouped.jsonl`, final; one program-synthesis item per line). That
//! file could not be fetched; its shape is inferred from the upstream data card and Croissant
//! file, and **assumed** as follows:
//! - a line is recognised by a top-level `prog_syn_id` (and no `prog_syn_examples`);
//! - the update is a nested object `update` holding `description`, `rationale`, `docstring`,
//!   `signature`, `imports` (one `"\n"`-joined string), `implementation`, `unit_tests` (tests of
//!   the update itself, `"\n\n"`-joined; optional), `update_type`, `function_path`, `package`,
//!   `update_id` (the data card's example). When there is no `update` object, the same update
//!   fields are read from the top level instead (the Croissant file lists the columns flat);
//! - item fields at the top level: `update_id` (optional; must equal `update.update_id` when
//!   both are present), `scenario`, `problem`, `solution_signature`, `unit_tests` (one
//!   `"\n\n"`-joined string), `ref_solution`, `prog_syn_id`, and the item's imports as
//!   `prog_syn_imports` (Croissant) or `imports` (data card, nested form only — in the flat
//!   form `imports` is the update's) — one `"\n"`-joined string;
//! - every text-list field may also be a JSON list of strings.
//!
//! Lines of one update repeat the update; the first line's copy is kept.
//!
//! Joined unit tests are split back into test functions by [`split_unit_tests`] (a blank line
//! is not a safe separator: 16 of the 3,611 tests in `arena.jsonl` contain blank lines).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use recode_data::json_kind;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::LoadError;

/// The kind of API update (CodeUpdateArena's 16 types), which decides the enforce statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub enum UpdateType {
    AddArgument,
    AddArgumentDataType,
    AddArgumentDefaultValues,
    AddArgumentSemantics,
    AddArgumentSupportedValues,
    AddFunction,
    AddOutputDataType,
    AddOutputSemantics,
    ModifyArgumentDataType,
    ModifyArgumentDefaultValues,
    ModifyArgumentName,
    ModifyArgumentSemantics,
    ModifyArgumentSupportedValues,
    ModifyFunctionName,
    ModifyOutputDataType,
    ModifyOutputSemantics,
    /// A type not among the 16 (loading accepts it; building a program for it fails).
    Other(String),
}

impl UpdateType {
    /// The 16 known types, in the benchmark's spelling order.
    pub const KNOWN: [UpdateType; 16] = [
        UpdateType::AddArgument,
        UpdateType::AddArgumentDataType,
        UpdateType::AddArgumentDefaultValues,
        UpdateType::AddArgumentSemantics,
        UpdateType::AddArgumentSupportedValues,
        UpdateType::AddFunction,
        UpdateType::AddOutputDataType,
        UpdateType::AddOutputSemantics,
        UpdateType::ModifyArgumentDataType,
        UpdateType::ModifyArgumentDefaultValues,
        UpdateType::ModifyArgumentName,
        UpdateType::ModifyArgumentSemantics,
        UpdateType::ModifyArgumentSupportedValues,
        UpdateType::ModifyFunctionName,
        UpdateType::ModifyOutputDataType,
        UpdateType::ModifyOutputSemantics,
    ];

    /// The benchmark's spelling, e.g. `add-argument-default_value(s)`.
    pub fn as_str(&self) -> &str {
        match self {
            UpdateType::AddArgument => "add-argument",
            UpdateType::AddArgumentDataType => "add-argument-data_type",
            UpdateType::AddArgumentDefaultValues => "add-argument-default_value(s)",
            UpdateType::AddArgumentSemantics => "add-argument-semantics",
            UpdateType::AddArgumentSupportedValues => "add-argument-supported_value(s)",
            UpdateType::AddFunction => "add-function",
            UpdateType::AddOutputDataType => "add-output-data_type",
            UpdateType::AddOutputSemantics => "add-output-semantics",
            UpdateType::ModifyArgumentDataType => "modify-argument-data_type",
            UpdateType::ModifyArgumentDefaultValues => "modify-argument-default_value(s)",
            UpdateType::ModifyArgumentName => "modify-argument-name",
            UpdateType::ModifyArgumentSemantics => "modify-argument-semantics",
            UpdateType::ModifyArgumentSupportedValues => "modify-argument-supported_value(s)",
            UpdateType::ModifyFunctionName => "modify-function-name",
            UpdateType::ModifyOutputDataType => "modify-output-data_type",
            UpdateType::ModifyOutputSemantics => "modify-output-semantics",
            UpdateType::Other(s) => s,
        }
    }

    /// Parses the benchmark's spelling; anything else becomes [`UpdateType::Other`].
    pub fn parse(s: &str) -> UpdateType {
        UpdateType::KNOWN.iter().find(|t| t.as_str() == s).cloned().unwrap_or_else(|| UpdateType::Other(s.to_string()))
    }
}

impl std::fmt::Display for UpdateType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<UpdateType> for String {
    fn from(t: UpdateType) -> String {
        t.as_str().to_string()
    }
}

/// One (synthetic) API update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Update {
    /// e.g. `[math.sin]:[modify-output-semantics]:[update-0]`.
    pub update_id: String,
    /// e.g. `math`.
    pub package: String,
    pub update_type: UpdateType,
    /// The updated (or, for `add-function`, the related) API, e.g. `math.sin`, `torch.Tensor.view`.
    pub function_path: String,
    pub description: String,
    /// Empty when absent.
    pub rationale: String,
    pub docstring: String,
    /// The new signature, e.g. `math.sin(x, unit='radians')`.
    pub signature: String,
    /// Setup lines, one per element (they save the original, e.g. `old_sin = math.sin`).
    pub imports: Vec<String>,
    /// Python source of the new function.
    pub implementation: String,
    /// Tests of the update itself (final layout only; empty otherwise).
    pub unit_tests: Vec<String>,
}

/// One program-synthesis item (the unit of evaluation).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `prog_syn_id`, e.g. `[math.sin]:[modify-output-semantics]:[update-0]:[prog_syn-0]`.
    pub item_id: String,
    /// The update this item exercises (shared by the items of one update).
    pub update: Arc<Update>,
    pub scenario: String,
    pub problem: String,
    /// e.g. `def calculate_sine_values(degrees_list: List[int]) -> List[Tuple[float, float]]:`.
    pub solution_signature: String,
    /// The item's setup lines, one per element.
    pub imports: Vec<String>,
    /// Test functions (source), one per element; at least one.
    pub unit_tests: Vec<String>,
    pub ref_solution: String,
    /// Where the item was read: file (as given) and 1-based line.
    pub source: (String, usize),
}

impl Item {
    /// The update's id.
    pub fn update_id(&self) -> &str {
        &self.update.update_id
    }
    /// The update's package.
    pub fn package(&self) -> &str {
        &self.update.package
    }
}

/// Which layout a file was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// One update per line with `prog_syn_examples` (June-2024 `arena.jsonl`).
    Grouped,
    /// One item per line (final `arena-ungrouped.jsonl`).
    Ungrouped,
}

/// A loaded benchmark: updates in first-seen order and items in file order.
#[derive(Debug, Clone, Default)]
pub struct Arena {
    pub updates: Vec<Arc<Update>>,
    pub items: Vec<Item>,
    /// The layout of each file read, in order (file as given, layout; `None` for an empty file).
    pub layouts: Vec<(String, Option<Layout>)>,
}

impl Arena {
    /// The items (and their updates) that `filter` keeps.
    pub fn filter(&self, filter: &Filter) -> Arena {
        let items: Vec<Item> = self.items.iter().filter(|i| filter.matches(i)).cloned().collect();
        let updates =
            self.updates.iter().filter(|u| items.iter().any(|i| Arc::ptr_eq(&i.update, u))).cloned().collect();
        Arena { updates, items, layouts: self.layouts.clone() }
    }

    /// The item with this `prog_syn_id`.
    pub fn item(&self, item_id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.item_id == item_id)
    }

    /// The update with this id.
    pub fn update(&self, update_id: &str) -> Option<&Arc<Update>> {
        self.updates.iter().find(|u| u.update_id == update_id)
    }
}

/// Selects items. Each non-empty list is a constraint (the item's value must be in it); the
/// constraints are combined with AND. The default keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub packages: Vec<String>,
    pub update_ids: Vec<String>,
    pub item_ids: Vec<String>,
    /// Update types in the benchmark's spelling (`modify-function-name`, …).
    pub update_types: Vec<String>,
}

impl Filter {
    /// Whether `item` passes every constraint.
    pub fn matches(&self, item: &Item) -> bool {
        fn ok(list: &[String], value: &str) -> bool {
            list.is_empty() || list.iter().any(|v| v == value)
        }
        ok(&self.packages, &item.update.package)
            && ok(&self.update_ids, &item.update.update_id)
            && ok(&self.item_ids, &item.item_id)
            && ok(&self.update_types, item.update.update_type.as_str())
    }
}

/// Reads one benchmark file (either layout).
pub fn load(path: impl AsRef<Path>) -> Result<Arena, LoadError> {
    load_files(&[path])
}

/// Reads several files (each in either layout) into one [`Arena`]. A `prog_syn_id` may occur
/// only once over all files; an update id seen again (in the same or another file) refers to
/// the first copy.
pub fn load_files<P: AsRef<Path>>(paths: &[P]) -> Result<Arena, LoadError> {
    let mut loader = Loader::default();
    for path in paths {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|error| LoadError::Io { path: path.to_path_buf(), error })?;
        loader.add(&text, &path.display().to_string())?;
    }
    Ok(loader.arena)
}

/// Parses the text of one file; `file` names it in errors.
pub fn parse_str(text: &str, file: &str) -> Result<Arena, LoadError> {
    let mut loader = Loader::default();
    loader.add(text, file)?;
    Ok(loader.arena)
}

/// Splits `"\n\n"`-joined unit tests back into one test per element.
///
/// A test starts at a column-0 `def `/`async def ` line, or at the first of the column-0
/// comment (`#`) or decorator (`@`) lines directly above it; it runs to the next start.
/// Anything before the first start joins the first test. Trailing white space of each test is
/// removed and one `"\n"` added. (A column-0 `def` inside a triple-quoted string would be taken
/// for a start; no test in the benchmark has one.) Text without any `def` gives one test.
pub fn split_unit_tests(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut starts = Vec::new();
    let mut run: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with('#') || line.starts_with('@') {
            run.get_or_insert(i);
        } else if line.starts_with("def ") || line.starts_with("async def ") {
            starts.push(run.take().unwrap_or(i));
        } else {
            run = None;
        }
    }
    if starts.is_empty() {
        return if text.trim().is_empty() { Vec::new() } else { vec![format!("{}\n", text.trim_end())] };
    }
    starts[0] = 0;
    let mut tests = Vec::with_capacity(starts.len());
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(lines.len());
        let chunk: String = lines[start..end].concat();
        let chunk = chunk.trim_end();
        if !chunk.is_empty() {
            tests.push(format!("{chunk}\n"));
        }
    }
    tests
}

#[derive(Default)]
struct Loader {
    arena: Arena,
    update_index: HashMap<String, usize>,
    item_seen: HashMap<String, (String, usize)>,
}

/// Where a line is and how its fields are named in errors.
struct Ctx<'a> {
    file: &'a str,
    line: usize,
}

impl Ctx<'_> {
    fn err(&self, field: impl Into<String>, message: impl Into<String>) -> LoadError {
        LoadError::line(self.file, self.line, field, message)
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

fn text(ctx: &Ctx, obj: &Map<String, Value>, prefix: &str, key: &str) -> Result<String, LoadError> {
    match obj.get(key) {
        None => Err(ctx.err(join(prefix, key), "missing")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(ctx.err(join(prefix, key), format!("expected a string, found {}", json_kind(v)))),
    }
}

fn nonempty_text(ctx: &Ctx, obj: &Map<String, Value>, prefix: &str, key: &str) -> Result<String, LoadError> {
    let s = text(ctx, obj, prefix, key)?;
    if s.trim().is_empty() {
        return Err(ctx.err(join(prefix, key), "empty"));
    }
    Ok(s)
}

fn optional_text(ctx: &Ctx, obj: &Map<String, Value>, prefix: &str, key: &str) -> Result<String, LoadError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(_) => text(ctx, obj, prefix, key),
    }
}

/// A list of strings, or one string (split by `split`).
fn text_list(ctx: &Ctx, value: &Value, field: &str, split: fn(&str) -> Vec<String>) -> Result<Vec<String>, LoadError> {
    match value {
        Value::String(s) => Ok(split(s)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => {
                    Err(ctx.err(format!("{field}[{i}]"), format!("expected a string, found {}", json_kind(other))))
                }
            })
            .collect(),
        other => Err(ctx.err(field, format!("expected a string or an array of strings, found {}", json_kind(other)))),
    }
}

fn split_lines(s: &str) -> Vec<String> {
    s.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
}

fn imports_field(ctx: &Ctx, obj: &Map<String, Value>, prefix: &str, key: &str) -> Result<Vec<String>, LoadError> {
    match obj.get(key) {
        None => Err(ctx.err(join(prefix, key), "missing")),
        Some(v) => text_list(ctx, v, &join(prefix, key), split_lines),
    }
}

fn tests_field(
    ctx: &Ctx,
    obj: &Map<String, Value>,
    prefix: &str,
    key: &str,
    required: bool,
) -> Result<Vec<String>, LoadError> {
    let field = join(prefix, key);
    let tests = match obj.get(key) {
        None | Some(Value::Null) if !required => return Ok(Vec::new()),
        None => return Err(ctx.err(field, "missing")),
        Some(v) => text_list(ctx, v, &field, split_unit_tests)?,
    };
    if required {
        if tests.is_empty() {
            return Err(ctx.err(field, "no unit tests"));
        }
        if let Some(i) = tests.iter().position(|t| crate::program::test_function_name(t).is_none()) {
            return Err(ctx.err(format!("{field}[{i}]"), "no top-level `def` (nothing to call)"));
        }
    }
    Ok(tests)
}

/// The update fields of `obj` (the `update` object, or the top level of a flat line).
fn parse_update(ctx: &Ctx, obj: &Map<String, Value>, prefix: &str) -> Result<Update, LoadError> {
    let update_id = nonempty_text(ctx, obj, prefix, "update_id")?;
    let function_path = nonempty_text(ctx, obj, prefix, "function_path")?;
    if !function_path.contains('.') || function_path.split('.').any(|p| p.is_empty()) {
        return Err(ctx.err(
            join(prefix, "function_path"),
            format!("{function_path:?} is not a dotted path with a parent (e.g. math.sin)"),
        ));
    }
    Ok(Update {
        update_id,
        package: nonempty_text(ctx, obj, prefix, "package")?,
        update_type: UpdateType::parse(&nonempty_text(ctx, obj, prefix, "update_type")?),
        function_path,
        description: text(ctx, obj, prefix, "description")?,
        rationale: optional_text(ctx, obj, prefix, "rationale")?,
        docstring: text(ctx, obj, prefix, "docstring")?,
        signature: text(ctx, obj, prefix, "signature")?,
        imports: imports_field(ctx, obj, prefix, "imports")?,
        implementation: nonempty_text(ctx, obj, prefix, "implementation")?,
        unit_tests: tests_field(ctx, obj, prefix, "unit_tests", false)?,
    })
}

struct ItemFields {
    item_id: String,
    scenario: String,
    problem: String,
    solution_signature: String,
    imports: Vec<String>,
    unit_tests: Vec<String>,
    ref_solution: String,
}

/// Item fields of `obj`; `imports_keys` in order of preference.
fn parse_item(
    ctx: &Ctx,
    obj: &Map<String, Value>,
    prefix: &str,
    imports_keys: &[&str],
    update_id: &str,
) -> Result<ItemFields, LoadError> {
    let item_id = nonempty_text(ctx, obj, prefix, "prog_syn_id")?;
    if !item_id.starts_with(update_id) {
        return Err(ctx
            .err(join(prefix, "prog_syn_id"), format!("{item_id:?} does not start with its update id {update_id:?}")));
    }
    let imports = match imports_keys.iter().find(|k| obj.contains_key(**k)) {
        Some(key) => imports_field(ctx, obj, prefix, key)?,
        None => return Err(ctx.err(join(prefix, imports_keys.join("|").as_str()), "missing")),
    };
    Ok(ItemFields {
        item_id,
        scenario: text(ctx, obj, prefix, "scenario")?,
        problem: nonempty_text(ctx, obj, prefix, "problem")?,
        solution_signature: nonempty_text(ctx, obj, prefix, "solution_signature")?,
        imports,
        unit_tests: tests_field(ctx, obj, prefix, "unit_tests", true)?,
        ref_solution: text(ctx, obj, prefix, "ref_solution")?,
    })
}

impl Loader {
    fn add(&mut self, text: &str, file: &str) -> Result<(), LoadError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut layout: Option<(Layout, usize)> = None;
        for (index, raw) in text.split('\n').enumerate() {
            let ctx = Ctx { file, line: index + 1 };
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if raw.trim().is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(raw).map_err(|e| ctx.err("<json>", e.to_string()))?;
            let Value::Object(obj) = value else {
                return Err(ctx.err("<record>", format!("expected a JSON object, found {}", json_kind(&value))));
            };
            let this = if obj.contains_key("prog_syn_examples") {
                Layout::Grouped
            } else if obj.contains_key("prog_syn_id") {
                Layout::Ungrouped
            } else {
                return Err(ctx.err(
                    "<record>",
                    "neither `prog_syn_examples` (grouped layout) nor `prog_syn_id` (ungrouped layout)",
                ));
            };
            match layout {
                None => layout = Some((this, ctx.line)),
                Some((first, first_line)) if first != this => {
                    return Err(ctx.err(
                        "<record>",
                        format!(
                            "a {} line in a file detected as {} from line {first_line}",
                            layout_name(this),
                            layout_name(first)
                        ),
                    ));
                }
                Some(_) => {}
            }
            match this {
                Layout::Grouped => self.add_grouped(&ctx, &obj)?,
                Layout::Ungrouped => self.add_ungrouped(&ctx, &obj)?,
            }
        }
        self.arena.layouts.push((file.to_string(), layout.map(|(l, _)| l)));
        Ok(())
    }

    fn intern_update(&mut self, update: Update) -> Arc<Update> {
        if let Some(&i) = self.update_index.get(&update.update_id) {
            return self.arena.updates[i].clone();
        }
        let update = Arc::new(update);
        self.update_index.insert(update.update_id.clone(), self.arena.updates.len());
        self.arena.updates.push(update.clone());
        update
    }

    fn push_item(&mut self, ctx: &Ctx, field: &str, update: &Arc<Update>, f: ItemFields) -> Result<(), LoadError> {
        if let Some((file, line)) = self.item_seen.get(&f.item_id) {
            return Err(ctx.err(field, format!("duplicate id {:?} (first at {file}:{line})", f.item_id)));
        }
        self.item_seen.insert(f.item_id.clone(), (ctx.file.to_string(), ctx.line));
        self.arena.items.push(Item {
            item_id: f.item_id,
            update: update.clone(),
            scenario: f.scenario,
            problem: f.problem,
            solution_signature: f.solution_signature,
            imports: f.imports,
            unit_tests: f.unit_tests,
            ref_solution: f.ref_solution,
            source: (ctx.file.to_string(), ctx.line),
        });
        Ok(())
    }

    fn add_grouped(&mut self, ctx: &Ctx, obj: &Map<String, Value>) -> Result<(), LoadError> {
        let update = match obj.get("update") {
            Some(Value::Object(u)) => parse_update(ctx, u, "update")?,
            Some(v) => return Err(ctx.err("update", format!("expected an object, found {}", json_kind(v)))),
            None => return Err(ctx.err("update", "missing")),
        };
        let examples = match obj.get("prog_syn_examples") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            Some(Value::Array(_)) => return Err(ctx.err("prog_syn_examples", "empty")),
            Some(v) => return Err(ctx.err("prog_syn_examples", format!("expected an array, found {}", json_kind(v)))),
            None => unreachable!("layout detection saw prog_syn_examples"),
        };
        let mut fields = Vec::with_capacity(examples.len());
        for (i, example) in examples.iter().enumerate() {
            let prefix = format!("prog_syn_examples[{i}]");
            let Value::Object(e) = example else {
                return Err(ctx.err(prefix, format!("expected an object, found {}", json_kind(example))));
            };
            let f = parse_item(ctx, e, &prefix, &["imports", "prog_syn_imports"], &update.update_id)?;
            fields.push((join(&prefix, "prog_syn_id"), f));
        }
        let update = self.intern_update(update);
        for (field, f) in fields {
            self.push_item(ctx, &field, &update, f)?;
        }
        Ok(())
    }

    fn add_ungrouped(&mut self, ctx: &Ctx, obj: &Map<String, Value>) -> Result<(), LoadError> {
        let (update, imports_keys): (Update, &[&str]) = match obj.get("update") {
            Some(Value::Object(u)) => (parse_update(ctx, u, "update")?, &["prog_syn_imports", "imports"]),
            Some(v) => return Err(ctx.err("update", format!("expected an object, found {}", json_kind(v)))),
            // Flat: `imports` is the update's; the item's are `prog_syn_imports` (else the same).
            None => {
                let mut flat = obj.clone();
                // The item's unit tests are not the update's.
                flat.remove("unit_tests");
                (parse_update(ctx, &flat, "")?, &["prog_syn_imports", "imports"])
            }
        };
        if obj.contains_key("update")
            && let Some(top) = obj.get("update_id")
        {
            match top {
                Value::String(s) if *s == update.update_id => {}
                Value::String(s) => {
                    return Err(
                        ctx.err("update_id", format!("{s:?} differs from update.update_id {:?}", update.update_id))
                    );
                }
                v => return Err(ctx.err("update_id", format!("expected a string, found {}", json_kind(v)))),
            }
        }
        let f = parse_item(ctx, obj, "", imports_keys, &update.update_id)?;
        let update = self.intern_update(update);
        self.push_item(ctx, "prog_syn_id", &update, f)
    }
}

fn layout_name(l: Layout) -> &'static str {
    match l {
        Layout::Grouped => "grouped",
        Layout::Ungrouped => "ungrouped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_blank_lines_and_leading_comments() {
        let joined = "def test_a():\n    x = 1\n\n    assert x\n\n# about b\ndef test_b():\n    pass\n\n@dec\ndef test_c():\n    pass\n";
        let tests = split_unit_tests(joined);
        assert_eq!(
            tests,
            vec![
                "def test_a():\n    x = 1\n\n    assert x\n".to_string(),
                "# about b\ndef test_b():\n    pass\n".to_string(),
                "@dec\ndef test_c():\n    pass\n".to_string(),
            ]
        );
        assert_eq!(split_unit_tests("  \n"), Vec::<String>::new());
        assert_eq!(split_unit_tests("x = 1"), vec!["x = 1\n".to_string()]);
    }

    #[test]
    fn update_type_round_trips() {
        for t in UpdateType::KNOWN {
            assert_eq!(UpdateType::parse(t.as_str()), t);
        }
        assert_eq!(UpdateType::parse("rename"), UpdateType::Other("rename".into()));
    }
}
