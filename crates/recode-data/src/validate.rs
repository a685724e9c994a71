//! Validation: every problem of a JSONL file, each as `FILE:LINE: field: message`.
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::DataError;
use crate::item::{Item, from_object, json_kind};
use crate::similarity::{format_similarity, near_duplicates};
use crate::version::is_valid_version;

/// The `field` of a problem that concerns the whole line (empty line, invalid UTF-8, bad JSON,
/// not an object) rather than one field.
pub const LINE_FIELD: &str = "<line>";

/// One problem: where (file as given, 1-based line), which field, and what is wrong.
///
/// `Display` is `FILE:LINE: field: message`, e.g.
/// `data.jsonl:7: new_version: not of the form ==X[.Y...] (got "2.0")`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    /// A field name, or [`LINE_FIELD`] for whole-line problems.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.file, self.line, self.field, self.message)
    }
}

/// The result of validating one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Number of lines read (a final line terminator does not start another line).
    pub lines: usize,
    /// Number of lines that hold a structurally complete item (a JSON object with the six
    /// string fields and well-typed optional fields), whether or not it has other problems.
    pub items: usize,
    /// Every problem, ordered by line, then by field in the order of the checks below.
    pub problems: Vec<Problem>,
}

impl Report {
    /// True when there is no problem.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads and validates a file; only a failure to read it is an error.
pub fn validate_file(path: &Path) -> Result<Report, DataError> {
    Ok(validate_bytes(&path.display().to_string(), &read(path)?))
}

/// Reads and validates several files together: each is checked as by [`validate_file`], and
/// near-duplicates (check 4 of [`validate_bytes`]) are also sought across files, an item of
/// a later file being reported as a near-duplicate of one in an earlier file. One result per
/// path, in order; a file that cannot be read gives its error and takes no part.
pub fn validate_files<P: AsRef<Path>>(paths: &[P]) -> Vec<Result<Report, DataError>> {
    let read: Vec<Result<(String, Vec<u8>), DataError>> = paths
        .iter()
        .map(|path| {
            let path = path.as_ref();
            Ok((path.display().to_string(), read(path)?))
        })
        .collect();
    let sources: Vec<(&str, &[u8])> =
        read.iter().filter_map(|r| r.as_ref().ok()).map(|(name, bytes)| (name.as_str(), bytes.as_slice())).collect();
    let mut reports = validate_sources(&sources).into_iter();
    read.into_iter().map(|r| r.map(|_| reports.next().expect("one report per readable file"))).collect()
}

fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|error| DataError::Io { op: "read", path: path.to_path_buf(), error })
}

/// Validates the bytes of a JSONL file named `file` (used only in the problems).
///
/// Lines are separated by `\n` (a `\r` before it is accepted as JSON white space); the file
/// may or may not end with `\n`. No line is ever skipped without a problem. Checks per line,
/// in this order:
///
/// 1. `<line>`: empty or white-space-only line; invalid UTF-8 (with the byte offset); a UTF-8
///    byte-order mark; invalid JSON (with the column); a JSON value that is not an object.
/// 2. each of the six fields (`dependency`, `new_version`, `description`, `update_info`,
///    `old_code`, `new_code`): missing, or not a string; `id`, `update_type`, `source`: not a
///    string (null is accepted as absent); `validation`: not an object (null accepted).
///    Unknown fields are accepted and carried, never reported.
/// 3. for a structurally complete item: `id` blank or duplicate (naming the first line);
///    `dependency` blank; `new_version` not accepted by [`is_valid_version`]; `update_info`
///    blank; `old_code`, `new_code` empty (only white space) or not parsing as a Python module
///    (CPython 3.11 `ast.parse`, via `recode_python::parses_as_module`); `new_code` exactly
///    equal to `old_code`.
/// 4. `old_code`: a near-duplicate of an earlier item — the same dependency, the same update
///    and migration, and nearly the same program, as defined (with the thresholds and their
///    calibration) by [`near_duplicates`](crate::near_duplicates) — reported as
///    `near-duplicate of line N (same update, code similarity 0.93)`, naming the earlier item
///    with the most similar code; the similarity is rounded down to two decimals. Items with
///    other problems take part too. With [`validate_files`] the earlier item may be in an
///    earlier file, named as `FILE:N`.
pub fn validate_bytes(file: &str, bytes: &[u8]) -> Report {
    validate_sources(&[(file, bytes)]).pop().expect("one report per source")
}

/// Validates several named JSONL texts together (see [`validate_files`]): one report each.
pub fn validate_sources(sources: &[(&str, &[u8])]) -> Vec<Report> {
    let mut scans: Vec<Scan> = sources.iter().map(|(_, bytes)| scan(bytes)).collect();
    // Check 4, across all the sources.
    let mut near: Vec<(usize, usize, String)> = Vec::new();
    {
        let located: Vec<(usize, usize)> =
            scans.iter().enumerate().flat_map(|(s, scan)| scan.items.iter().map(move |(line, _)| (s, *line))).collect();
        let items: Vec<&Item> = scans.iter().flat_map(|scan| scan.items.iter().map(|(_, item)| item)).collect();
        for duplicate in near_duplicates(&items) {
            let (source, line) = located[duplicate.index];
            let (first_source, first_line) = located[duplicate.of];
            let first = if first_source == source {
                format!("line {first_line}")
            } else {
                format!("{}:{first_line}", sources[first_source].0)
            };
            near.push((
                source,
                line,
                format!(
                    "near-duplicate of {first} (same update, code similarity {})",
                    format_similarity(duplicate.code_similarity)
                ),
            ));
        }
    }
    for (source, line, message) in near {
        scans[source].found[line - 1].push(("old_code".to_string(), message));
    }
    scans
        .into_iter()
        .zip(sources)
        .map(|(scan, (file, _))| Report {
            lines: scan.found.len(),
            items: scan.items.len(),
            problems: scan
                .found
                .into_iter()
                .enumerate()
                .flat_map(|(i, found)| {
                    found.into_iter().map(move |(field, message)| Problem {
                        file: file.to_string(),
                        line: i + 1,
                        field,
                        message,
                    })
                })
                .collect(),
        })
        .collect()
}

/// One file after checks 1–3: the problems of each line (index = line − 1) and the
/// structurally complete items with their lines.
struct Scan {
    found: Vec<Vec<(String, String)>>,
    items: Vec<(usize, Item)>,
}

fn scan(bytes: &[u8]) -> Scan {
    let mut scan = Scan { found: Vec::new(), items: Vec::new() };
    let mut first_line_of_id: HashMap<String, usize> = HashMap::new();
    for (line, raw) in jsonl_lines(bytes) {
        let mut found: Vec<(String, String)> = Vec::new();
        match parse_record(line, raw) {
            Err(problems) => found = problems,
            Ok(item) => {
                if let Some(id) = &item.id {
                    if id.trim().is_empty() {
                        found.push(("id".into(), "blank".into()));
                    } else if let Some(first) = first_line_of_id.get(id) {
                        found.push(("id".into(), format!("duplicate {id:?} (first on line {first})")));
                    } else {
                        first_line_of_id.insert(id.clone(), line);
                    }
                }
                for (field, message) in content_problems(&item) {
                    found.push((field.to_string(), message));
                }
                scan.items.push((line, item));
            }
        }
        scan.found.push(found);
    }
    scan
}

/// Problems of a structurally complete item that do not depend on other items.
fn content_problems(item: &Item) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if item.dependency.trim().is_empty() {
        problems.push(("dependency", "blank".to_string()));
    }
    if !is_valid_version(&item.new_version) {
        problems.push((
            "new_version",
            format!(
                "not of the form ==X[.Y...] with numeric parts and an optional aN/bN/rcN, \
                 .postN, .devN suffix (got {:?})",
                item.new_version
            ),
        ));
    }
    if item.update_info.trim().is_empty() {
        problems.push(("update_info", "blank".to_string()));
    }
    for (field, code) in [("old_code", &item.old_code), ("new_code", &item.new_code)] {
        if code.trim().is_empty() {
            problems.push((field, "empty (no code, only white space)".to_string()));
        } else if !recode_python::parses_as_module(code) {
            problems.push((field, "does not parse as Python (CPython 3.11 ast.parse)".to_string()));
        }
    }
    if item.old_code == item.new_code && !item.old_code.trim().is_empty() {
        problems.push(("new_code", "identical to old_code".to_string()));
    }
    problems
}

/// The lines of a JSONL file with their 1-based numbers. Split on `\n`; a final `\n` does
/// not start another (empty) line, so an empty file has no lines.
pub fn jsonl_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    body.split(|&b| b == b'\n').enumerate().filter(move |_| !empty).map(|(i, line)| (i + 1, line))
}

/// Turns one line into an item or the list of its structural problems `(field, message)`.
pub(crate) fn parse_record(line: usize, raw: &[u8]) -> Result<Item, Vec<(String, String)>> {
    let whole = |message: String| vec![(LINE_FIELD.to_string(), message)];
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(whole("empty line".to_string()));
    }
    let text = std::str::from_utf8(raw)
        .map_err(|e| whole(format!("invalid UTF-8 at byte offset {} of the line", e.valid_up_to())))?;
    if text.starts_with('\u{feff}') {
        let where_ = if line == 1 { "file" } else { "line" };
        return Err(whole(format!("{where_} starts with a UTF-8 byte-order mark (U+FEFF); remove it")));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        // serde_json appends " at line L column C"; the line is always 1 here.
        let message = match full.rfind(" at line ") {
            Some(at) => &full[..at],
            None => full.as_str(),
        };
        whole(format!("invalid JSON at column {}: {message}", e.column()))
    })?;
    let Value::Object(map) = value else {
        return Err(whole(format!("expected a JSON object, found {}", json_kind(&value))));
    };
    from_object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_numbers(bytes: &[u8]) -> Vec<(usize, Vec<u8>)> {
        jsonl_lines(bytes).map(|(n, l)| (n, l.to_vec())).collect()
    }

    #[test]
    fn line_splitting() {
        assert!(line_numbers(b"").is_empty());
        assert_eq!(line_numbers(b"\n"), vec![(1, b"".to_vec())]);
        assert_eq!(line_numbers(b"a"), vec![(1, b"a".to_vec())]);
        assert_eq!(line_numbers(b"a\n"), vec![(1, b"a".to_vec())]);
        assert_eq!(line_numbers(b"a\n\nb"), vec![(1, b"a".to_vec()), (2, b"".to_vec()), (3, b"b".to_vec())]);
        assert_eq!(line_numbers(b"a\n\n"), vec![(1, b"a".to_vec()), (2, b"".to_vec())]);
    }
}
