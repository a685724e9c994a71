//! One file through the pipeline: scan, prompt, generate, choose, validate, splice.
use std::path::{Path, PathBuf};

use recode_data::Item;
use recode_data::prompt::{Message, training_messages};
use recode_generate::{Completion, Generator, SamplingParams};
use recode_python::{Verdict, check_module};
use serde::Serialize;

use crate::answer::{Choice, answer_code, choose, code_key, explanation, import_key, split_imports};
use crate::detect::{Scan, Unit, UnitKind, scan};
use crate::library::Library;
use crate::names::AffectedNames;
use crate::splice::{Edit, apply, dedent_unit, line_ending, reindent};

/// Everything that stays the same for every file of a run. Defaults (see [`Settings::new`]):
/// one sample, [`Choice::First`], greedy decoding, 1,024 new tokens.
#[derive(Debug, Clone)]
pub struct Settings {
    pub library: Library,
    /// The new version, as shown in the prompt (`2.0.0`).
    pub to_version: String,
    /// The release-note text shown in the prompt.
    pub update_info: String,
    pub names: AffectedNames,
    pub choice: Choice,
    /// Sampling; `n` is the number of samples per unit (`--samples K`).
    pub sampling: SamplingParams,
}

impl Settings {
    pub fn new(library: Library, to_version: &str, update_info: &str, names: AffectedNames) -> Settings {
        Settings {
            library,
            to_version: to_version.to_string(),
            update_info: update_info.to_string(),
            names,
            choice: Choice::First,
            sampling: SamplingParams { max_new_tokens: 1024, ..SamplingParams::default() },
        }
    }
}

/// What happened to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The model's code replaces the unit.
    Changed,
    /// The model's code is the unit's (after normalisation): nothing to do.
    Unchanged,
    /// No usable answer, or the answer would break the file: nothing written, reason given.
    Rejected,
    /// Not sent to the model (reason given).
    Skipped,
}

/// One unit's record (`--json` prints these, one per line).
#[derive(Debug, Clone, Serialize)]
pub struct UnitRecord {
    pub file: String,
    pub kind: UnitKind,
    pub name: Option<String>,
    pub start_line: usize,
    pub end_line: usize,
    /// The affected names that made it a unit.
    pub matched: Vec<String>,
    pub status: Status,
    /// Why it was rejected or skipped.
    pub reason: Option<String>,
    /// The unit's text in the file.
    pub old: String,
    /// The text that replaces it (changed), or the rejected candidate's code (rejected), as it
    /// would go into the file.
    pub new: Option<String>,
    /// Imports the answer needs that the file lacks (added after the file's leading imports).
    pub new_imports: Vec<String>,
    /// The model's reasoning (its `<think>` block) for the chosen sample.
    pub explanation: Option<String>,
    /// Samples generated and how many were usable.
    pub samples: usize,
    pub usable_samples: usize,
}

/// One file's outcome.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub path: PathBuf,
    /// The path as given/found, for messages and diffs.
    pub display: String,
    /// Set when the file could not be processed (unreadable, not Python, generator failure).
    pub error: Option<String>,
    pub original: String,
    /// The accepted edits (units and added imports) on `original`.
    pub edits: Vec<Edit>,
    pub records: Vec<UnitRecord>,
    /// Whether the file was parsed (false: it never mentions the library).
    pub parsed: bool,
}

impl FileOutcome {
    pub fn new_text(&self) -> String {
        apply(&self.original, &self.edits)
    }
    pub fn changed(&self) -> bool {
        !self.edits.is_empty()
    }
    fn failed(path: &Path, display: &str, error: String) -> FileOutcome {
        FileOutcome {
            path: path.to_path_buf(),
            display: display.to_string(),
            error: Some(error),
            original: String::new(),
            edits: Vec::new(),
            records: Vec::new(),
            parsed: false,
        }
    }
}

/// A file read and scanned, ready for the model.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub path: PathBuf,
    pub display: String,
    pub source: String,
    pub scan: Scan,
}

/// Reads and scans one file. Errors are per-file messages (`not UTF-8`, syntax error with
/// line and column).
pub fn prepare(path: &Path, display: &str, settings: &Settings) -> Result<Prepared, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let source = String::from_utf8(bytes)
        .map_err(|e| format!("not a Python source file: invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()))?;
    prepare_source(path, display, source, settings)
}

/// [`prepare`] for text already in memory.
pub fn prepare_source(path: &Path, display: &str, source: String, settings: &Settings) -> Result<Prepared, String> {
    let scan = scan(&source, &settings.names, &settings.library)
        .map_err(|p| format!("not valid Python: line {}, column {}: {}", p.line, p.column, p.message))?;
    if !scan.units.is_empty() && check_module(&source) != Verdict::Valid {
        return Err("not valid Python 3.11 (CPython's parser would reject it)".to_string());
    }
    Ok(Prepared { path: path.to_path_buf(), display: display.to_string(), source, scan })
}

/// The model's old code for a unit: the file's top-level imports as context, a blank line,
/// then the unit at top level. An import unit is shown alone.
pub fn unit_old_code(prepared: &Prepared, unit: &Unit) -> String {
    let shown = dedent_unit(&prepared.source[unit.range.clone()], &unit.indent);
    if unit.kind == UnitKind::Import {
        return shown;
    }
    let context: Vec<String> =
        prepared.scan.imports.iter().map(|r| prepared.source[r.clone()].replace("\r\n", "\n")).collect();
    if context.is_empty() { shown } else { format!("{}\n\n{shown}", context.join("\n")) }
}

/// The training prompt (spec §3.1) for a unit: `dependency` = the library's display name,
/// `new_version` = `==` + the target version, `update_info`, `old_code` = [`unit_old_code`].
pub fn unit_prompt(prepared: &Prepared, unit: &Unit, settings: &Settings) -> Vec<Message> {
    let item = Item {
        id: None,
        dependency: settings.library.display.clone(),
        new_version: format!("=={}", settings.to_version),
        description: String::new(),
        update_info: settings.update_info.clone(),
        old_code: unit_old_code(prepared, unit),
        new_code: String::new(),
        update_type: None,
        source: None,
        check: None,
        new_env: None,
        old_env: None,
        validation: None,
        extra: Default::default(),
    };
    training_messages(&item)
}

/// What one sample proposes for a unit.
#[derive(Debug, Clone)]
enum Proposal {
    Unchanged,
    Change { text: String, imports: Vec<String>, key: String },
}

/// Runs the model on a prepared file and builds the outcome. `generator` errors make the
/// whole file an error (nothing changed).
pub fn migrate_prepared(prepared: Prepared, generator: &dyn Generator, settings: &Settings) -> FileOutcome {
    migrate_batch(vec![prepared], generator, settings).pop().expect("one outcome per file")
}

/// [`migrate_prepared`] for several files with one generator call: all their units are
/// generated together (a local model decodes them in one continuous batch, an endpoint
/// concurrently), which is several times faster than file by file. A generator error makes every
/// file of the batch an error. Outcomes are in the order of `files`.
pub fn migrate_batch(files: Vec<Prepared>, generator: &dyn Generator, settings: &Settings) -> Vec<FileOutcome> {
    let sendable: Vec<Vec<usize>> = files.iter().map(sendable_units).collect();
    let mut prompts: Vec<Vec<Message>> = Vec::new();
    for (prepared, units) in files.iter().zip(&sendable) {
        prompts.extend(units.iter().map(|&i| unit_prompt(prepared, &prepared.scan.units[i], settings)));
    }
    let completions = if prompts.is_empty() {
        Ok(Vec::new())
    } else {
        match generator.generate(&prompts, &settings.sampling) {
            Ok(c) if c.len() == prompts.len() => Ok(c),
            Ok(c) => Err(format!("generator returned completions for {} prompts, expected {}", c.len(), prompts.len())),
            Err(e) => Err(format!("generation failed: {e}")),
        }
    };
    match completions {
        Err(error) => files.iter().map(|p| FileOutcome::failed(&p.path, &p.display, error.clone())).collect(),
        Ok(completions) => {
            let mut completions = completions.into_iter();
            files
                .into_iter()
                .zip(&sendable)
                .map(|(prepared, units)| {
                    let own: Vec<Vec<Completion>> = completions.by_ref().take(units.len()).collect();
                    apply_completions(prepared, own, settings.choice)
                })
                .collect()
        }
    }
}

/// The units of a file that go to the model: those that do not share a line with another statement.
fn sendable_units(prepared: &Prepared) -> Vec<usize> {
    (0..prepared.scan.units.len()).filter(|&i| !prepared.scan.units[i].shares_line).collect()
}

/// The outcome of a file from the samples of its sendable units (in unit order).
fn apply_completions(prepared: Prepared, completions: Vec<Vec<Completion>>, choice: Choice) -> FileOutcome {
    let mut outcome = FileOutcome {
        path: prepared.path.clone(),
        display: prepared.display.clone(),
        error: None,
        original: prepared.source.clone(),
        edits: Vec::new(),
        records: Vec::new(),
        parsed: prepared.scan.parsed,
    };
    let units = &prepared.scan.units;
    let source = &prepared.source;
    let newline = line_ending(source);
    let existing_imports: Vec<String> = prepared.scan.imports.iter().map(|r| import_key(&source[r.clone()])).collect();
    // (record index, edit, imports) of the units that change.
    let mut accepted: Vec<(usize, Edit, Vec<String>)> = Vec::new();
    let mut sent = completions.into_iter();
    for unit in units {
        let old = source[unit.range.clone()].to_string();
        let mut record = UnitRecord {
            file: prepared.display.clone(),
            kind: unit.kind,
            name: unit.name.clone(),
            start_line: unit.lines.0,
            end_line: unit.lines.1,
            matched: unit.matched.clone(),
            status: Status::Skipped,
            reason: None,
            old: old.clone(),
            new: None,
            new_imports: Vec::new(),
            explanation: None,
            samples: 0,
            usable_samples: 0,
        };
        if unit.shares_line {
            record.reason = Some("shares its line with another statement (`;`); migrate it by hand".into());
            outcome.records.push(record);
            continue;
        }
        let samples = sent.next().expect("one completion list per sendable unit");
        record.samples = samples.len();
        let shown = dedent_unit(&old, &unit.indent);
        let shown_key = code_key(&shown);
        let mut proposals: Vec<Result<Proposal, String>> = Vec::new();
        for sample in &samples {
            let proposal = propose(&sample.text, unit, &shown_key, &existing_imports, &old, newline).and_then(|p| {
                // The file with only this change must still parse.
                if let Proposal::Change { text, imports, .. } = &p {
                    let edits = edits_for(
                        source,
                        &prepared.scan,
                        &[(unit.range.clone(), text.clone(), imports.clone())],
                        newline,
                    );
                    if check_module(&apply(source, &edits)) != Verdict::Valid {
                        return Err("the file does not parse with this replacement".to_string());
                    }
                }
                Ok(p)
            });
            proposals.push(proposal);
        }
        let keys: Vec<Option<String>> = proposals
            .iter()
            .map(|p| match p {
                Ok(Proposal::Unchanged) => Some(shown_key.clone()),
                Ok(Proposal::Change { key, .. }) => Some(key.clone()),
                Err(_) => None,
            })
            .collect();
        record.usable_samples = keys.iter().filter(|k| k.is_some()).count();
        match choose(&keys, choice) {
            Some(chosen) => {
                record.explanation = explanation(&samples[chosen].text);
                match &proposals[chosen] {
                    Ok(Proposal::Unchanged) => record.status = Status::Unchanged,
                    Ok(Proposal::Change { text, imports, .. }) => {
                        record.status = Status::Changed;
                        record.new = Some(text.clone());
                        record.new_imports = imports.clone();
                        accepted.push((
                            outcome.records.len(),
                            Edit { range: unit.range.clone(), text: text.clone() },
                            imports.clone(),
                        ));
                    }
                    Err(_) => unreachable!("chosen samples are usable"),
                }
            }
            None => {
                record.status = Status::Rejected;
                record.explanation = samples.first().and_then(|s| explanation(&s.text));
                record.new = samples.first().and_then(|s| answer_code(&s.text));
                let reasons: Vec<String> = proposals.iter().filter_map(|p| p.as_ref().err().cloned()).collect();
                record.reason = Some(if reasons.len() == 1 {
                    reasons[0].clone()
                } else {
                    let listed: Vec<String> =
                        reasons.iter().enumerate().map(|(i, r)| format!("{}: {r}", i + 1)).collect();
                    format!("none of {} samples usable ({})", reasons.len(), listed.join("; "))
                });
            }
        }
        outcome.records.push(record);
    }
    // All accepted changes together; when that does not parse, add them one at a time and
    // reject those that break the file.
    let all: Vec<_> = accepted.iter().map(|(_, e, i)| (e.range.clone(), e.text.clone(), i.clone())).collect();
    let edits = edits_for(source, &prepared.scan, &all, newline);
    if check_module(&apply(source, &edits)) == Verdict::Valid {
        outcome.edits = edits;
    } else {
        let mut kept: Vec<(std::ops::Range<usize>, String, Vec<String>)> = Vec::new();
        for (index, edit, imports) in &accepted {
            let mut trial = kept.clone();
            trial.push((edit.range.clone(), edit.text.clone(), imports.clone()));
            let edits = edits_for(source, &prepared.scan, &trial, newline);
            if check_module(&apply(source, &edits)) == Verdict::Valid {
                kept = trial;
            } else {
                let record = &mut outcome.records[*index];
                record.status = Status::Rejected;
                record.reason = Some("the file does not parse with this change together with the earlier ones".into());
            }
        }
        outcome.edits = edits_for(source, &prepared.scan, &kept, newline);
    }
    outcome
}

/// Reads one sample's completion for a unit.
fn propose(
    completion: &str,
    unit: &Unit,
    shown_key: &str,
    existing_imports: &[String],
    old: &str,
    newline: &str,
) -> Result<Proposal, String> {
    let code = answer_code(completion).ok_or("the answer has no ```python block")?;
    if code.trim().is_empty() {
        return Err("the answer's python block is empty".into());
    }
    if check_module(&code) != Verdict::Valid {
        return Err("the answer's code does not parse (Python 3.11)".into());
    }
    let split = split_imports(&code);
    let (body, imports) = if unit.kind == UnitKind::Import {
        if !split.only_imports {
            return Err("the answer for an import statement contains other statements".into());
        }
        (code.clone(), Vec::new())
    } else {
        if split.body.trim().is_empty() {
            return Err("the answer has only imports, no code for the unit".into());
        }
        let mut new_imports: Vec<String> = Vec::new();
        for import in split.imports {
            let key = import_key(&import);
            if !existing_imports.contains(&key) && !new_imports.iter().any(|i| import_key(i) == key) {
                new_imports.push(import);
            }
        }
        (split.body, new_imports)
    };
    let key = code_key(&body);
    if key == shown_key && imports.is_empty() {
        return Ok(Proposal::Unchanged);
    }
    let text = reindent(&body, &unit.indent, old, newline);
    let key = format!("{key}\n#imports\n{}", imports.join("\n"));
    Ok(Proposal::Change { text, imports, key })
}

/// The edits for a set of unit changes: each unit's replacement, plus one insertion of the
/// imports they add that the changed file does not already have.
fn edits_for(
    source: &str,
    scan: &Scan,
    changes: &[(std::ops::Range<usize>, String, Vec<String>)],
    newline: &str,
) -> Vec<Edit> {
    let mut edits: Vec<Edit> = changes.iter().map(|(r, t, _)| Edit { range: r.clone(), text: t.clone() }).collect();
    let mut wanted: Vec<&String> = Vec::new();
    for (_, _, imports) in changes {
        for import in imports {
            if !wanted.iter().any(|w| import_key(w) == import_key(import)) {
                wanted.push(import);
            }
        }
    }
    if wanted.is_empty() {
        return edits;
    }
    // Imports the file has after the unit changes (an import unit may have been rewritten to
    // exactly what another unit's answer imports).
    let changed = apply(source, &edits);
    let present: Vec<String> = top_level_imports(&changed).into_iter().map(|s| import_key(&s)).collect();
    let missing: Vec<&String> = wanted.into_iter().filter(|w| !present.contains(&import_key(w))).collect();
    if missing.is_empty() {
        return edits;
    }
    let at = insert_point(source, scan);
    let mut text = String::new();
    if at == source.len() && !source.is_empty() && !source.ends_with('\n') {
        text.push_str(newline);
    }
    for import in missing {
        text.push_str(&import.replace('\n', newline));
        text.push_str(newline);
    }
    edits.push(Edit { range: at..at, text });
    edits
}

/// The scan's insertion point, moved past a leading block of comment lines (shebang, encoding
/// declaration, licence header) when the file has no leading imports or docstring.
fn insert_point(source: &str, scan: &Scan) -> usize {
    if scan.import_insert_at != 0 {
        return scan.import_insert_at;
    }
    let mut at = 0;
    for line in source.split_inclusive('\n') {
        if line.trim_start().starts_with('#') {
            at += line.len();
        } else {
            break;
        }
    }
    at
}

fn top_level_imports(source: &str) -> Vec<String> {
    let parsed = crate::detect::parse(source);
    let mut out = Vec::new();
    if let ruff_python_ast::Mod::Module(module) = parsed.syntax() {
        for stmt in &module.body {
            if matches!(stmt, ruff_python_ast::Stmt::Import(_) | ruff_python_ast::Stmt::ImportFrom(_)) {
                use ruff_text_size::Ranged;
                out.push(source[stmt.start().to_usize()..stmt.end().to_usize()].to_string());
            }
        }
    }
    crate::detect::drop_deep(parsed, source.len());
    out
}

/// Reads, scans and migrates one file; every failure is the outcome's `error`.
pub fn migrate_file(path: &Path, display: &str, generator: &dyn Generator, settings: &Settings) -> FileOutcome {
    match prepare(path, display, settings) {
        Ok(prepared) => migrate_prepared(prepared, generator, settings),
        Err(error) => FileOutcome::failed(path, display, error),
    }
}

/// An outcome for a file that failed before the model (for callers that prepare files themselves).
pub fn failed_outcome(path: &Path, display: &str, error: String) -> FileOutcome {
    FileOutcome::failed(path, display, error)
}
