//! Strict JSONL reading and atomic writing.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::DataError;
use crate::item::Item;
use crate::validate::{Problem, lines, parse_record};

/// Reads a JSONL file of items strictly: the first structural problem (empty line, invalid
/// UTF-8, bad JSON, not an object, missing or mistyped field) is returned as
/// [`DataError::Invalid`] naming the file and line. Content problems (Python syntax, version
/// format, …) are not checked here; see [`validate_file`](crate::validate_file).
pub fn read_jsonl(path: &Path) -> Result<Vec<Item>, DataError> {
    let bytes = std::fs::read(path).map_err(|error| DataError::Io {
        op: "read",
        path: path.to_path_buf(),
        error,
    })?;
    parse_jsonl(&path.display().to_string(), &bytes)
}

/// Like [`read_jsonl`] for bytes already in memory; `file` names them in errors.
pub fn parse_jsonl(file: &str, bytes: &[u8]) -> Result<Vec<Item>, DataError> {
    let mut items = Vec::new();
    for (line, raw) in lines(bytes) {
        match parse_record(line, raw) {
            Ok(item) => items.push(item),
            Err(mut problems) => {
                let (field, message) = problems.remove(0);
                return Err(DataError::Invalid(Problem {
                    file: file.to_string(),
                    line,
                    field,
                    message,
                }));
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
        serde_json::to_writer(&mut text, item)
            .map_err(|error| DataError::Serialize { index, error })?;
        text.push(b'\n');
    }
    out.write_all(&text)
        .and_then(|()| out.flush())
        .map_err(|error| DataError::Io {
            op: "write",
            path: PathBuf::from("<output>"),
            error,
        })
}

/// Writes items as JSONL to `path` atomically: everything goes to a new temporary file in the
/// same directory (`.NAME.PID.N.tmp`), which is flushed to disk and then renamed over `path`.
/// Readers see either the old file or the complete new one; on failure the temporary file is
/// removed and `path` is untouched. The new file gets default permissions (not the old file's).
pub fn write_jsonl(path: &Path, items: &[Item]) -> Result<(), DataError> {
    let io = |op: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |error| DataError::Io { op, path, error }
    };
    let mut text = Vec::new();
    write_jsonl_to(&mut text, items)?;

    let name = path.file_name().ok_or_else(|| DataError::Io {
        op: "write",
        path: path.to_path_buf(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (tmp, mut file) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.{n}.tmp", std::process::id()));
        let tmp = dir.join(tmp_name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1_000_000 => continue,
            Err(e) => return Err(io("create", &tmp)(e)),
        }
    };
    let written = file
        .write_all(&text)
        .and_then(|()| file.sync_all())
        .map_err(io("write", &tmp));
    drop(file);
    let result = written.and_then(|()| std::fs::rename(&tmp, path).map_err(io("replace", path)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
