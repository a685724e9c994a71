//! Strict JSONL reading and atomic writing.
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::DataError;
use crate::item::Item;
use crate::validate::{Problem, jsonl_lines, parse_record};

/// Reads a JSONL file of items strictly: the first structural problem (empty line, invalid
/// UTF-8, bad JSON, not an object, missing or mistyped field) is returned as
/// [`DataError::Invalid`] naming the file and line. Content problems (Python syntax, version
/// format, …) are not checked here; see [`validate_file`](crate::validate_file).
pub fn read_jsonl(path: &Path) -> Result<Vec<Item>, DataError> {
    let bytes = std::fs::read(path).map_err(|error| DataError::Io { op: "read", path: path.to_path_buf(), error })?;
    parse_jsonl(&path.display().to_string(), &bytes)
}

/// Like [`read_jsonl`] for bytes already in memory; `file` names them in errors.
pub fn parse_jsonl(file: &str, bytes: &[u8]) -> Result<Vec<Item>, DataError> {
    let mut items = Vec::new();
    for (line, raw) in jsonl_lines(bytes) {
        match parse_record(line, raw) {
            Ok(item) => items.push(item),
            Err(mut problems) => {
                let (field, message) = problems.remove(0);
                return Err(DataError::Invalid(Problem { file: file.to_string(), line, field, message }));
            }
        }
    }
    Ok(items)
}

/// Serialises items as JSONL: one compact JSON object per line, each line ending in `\n`
/// (an empty slice gives an empty string). Non-ASCII text is written as UTF-8, not escaped.
pub fn write_jsonl_to(mut out: impl Write, items: &[Item]) -> Result<(), DataError> {
    let mut text = Vec::new();
    for (index, item) in items.iter().enumerate() {
        serde_json::to_writer(&mut text, item).map_err(|error| DataError::Serialize { index, error })?;
        text.push(b'\n');
    }
    out.write_all(&text).and_then(|()| out.flush()).map_err(|error| DataError::Io {
        op: "write",
        path: PathBuf::from("<output>"),
        error,
    })
}

/// Writes items as JSONL to `path` atomically (see [`write_atomic`](crate::write_atomic)).
pub fn write_jsonl(path: &Path, items: &[Item]) -> Result<(), DataError> {
    let mut text = Vec::new();
    write_jsonl_to(&mut text, items)?;
    crate::write_atomic(path, &text).map_err(|error| DataError::Io { op: "write", path: path.to_path_buf(), error })
}
