//! The update: the release-note text shown to the model and, optionally, the affected APIs.
//!
//! # The update file (`--update-file FILE`)
//!
//! A small YAML-like header, a line `---`, then the release-note text, verbatim:
//!
//! ```text
//! # comments (lines starting with #) are allowed in the header
//! apis: [numpy.trapz, np.in1d, "DataFrame.append"]
//! ---
//! np.trapz has been deprecated in NumPy 2.0; use np.trapezoid (same arguments).
//! ```
//!
//! `apis` is the only key. Its value is a list in brackets (it may span lines) or a block of
//! `- name` lines below `apis:`; items may be quoted and may end in `()`. When the file does
//! not start with a header (its first line that is neither blank nor a comment is not
//! `apis:`), the whole file is the text and the affected names are taken from it
//! ([`crate::names::text_names`]). With `apis`, only those names are affected: the list is the
//! precise route, the text heuristics the convenient one. The text between `---` and the end
//! of the file has its leading and trailing blank lines removed.
use crate::MigrateError;
use crate::library::Library;
use crate::names::AffectedNames;

/// What the model is told and what is searched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The release-note text (`{update_info}` of the prompt).
    pub text: String,
    /// The `apis:` list with the line of each item, when the update file has one.
    pub apis: Option<Vec<(String, usize)>>,
}

impl Update {
    /// An update given as text only (`--update-info TEXT`).
    pub fn from_text(text: impl Into<String>) -> Update {
        Update { text: text.into(), apis: None }
    }

    /// Parses an update file (format in the [module docs](self)). `file` names it in errors.
    pub fn parse_file(file: &str, content: &str) -> Result<Update, MigrateError> {
        let err = |line: usize, message: String| MigrateError::UpdateFile { file: file.to_string(), line, message };
        let lines: Vec<&str> = content.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
        let first = lines.iter().position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        let Some(first) = first.filter(|&i| lines[i].trim_start().starts_with("apis:")) else {
            return Ok(Update::from_text(trim_blank_lines(&lines)));
        };
        let Some(separator) = lines.iter().position(|l| l.trim_end() == "---") else {
            return Err(err(first + 1, "a header (`apis: […]`) must end with a line `---` before the text".into()));
        };
        let mut apis = Vec::new();
        let mut i = first;
        while i < separator {
            let line = lines[i].trim();
            if line.is_empty() || line.starts_with('#') {
                i += 1;
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(err(i + 1, format!("expected `key: value`, found `{line}`")));
            };
            if key.trim() != "apis" {
                return Err(err(i + 1, format!("unknown key `{}` (the only key is `apis`)", key.trim())));
            }
            if !apis.is_empty() {
                return Err(err(i + 1, "`apis` given twice".into()));
            }
            let value = value.trim();
            if value.starts_with('[') {
                // A bracketed list, possibly over several lines.
                let mut text = String::new();
                let mut j = i;
                let mut rest = value;
                loop {
                    text.push_str(rest);
                    text.push('\n');
                    if rest.contains(']') {
                        break;
                    }
                    j += 1;
                    if j >= separator {
                        return Err(err(i + 1, "`apis: [` is not closed by `]` before `---`".into()));
                    }
                    rest = lines[j].trim();
                }
                let inner = text.trim().trim_start_matches('[');
                let (inner, after) = inner.split_once(']').unwrap_or((inner, ""));
                if !after.trim().is_empty() {
                    return Err(err(j + 1, format!("unexpected `{}` after `]`", after.trim())));
                }
                // Items keep the line they are on, for errors.
                for (offset, line_text) in inner.split('\n').enumerate() {
                    for item in line_text.split(',') {
                        let item = item.trim();
                        if !item.is_empty() {
                            apis.push((item.to_string(), i + 1 + offset));
                        }
                    }
                }
                i = j + 1;
            } else if value.is_empty() {
                i += 1;
                while i < separator {
                    let line = lines[i].trim();
                    if line.is_empty() || line.starts_with('#') {
                        i += 1;
                        continue;
                    }
                    let Some(item) = line.strip_prefix('-') else { break };
                    apis.push((item.trim().to_string(), i + 1));
                    i += 1;
                }
            } else {
                return Err(err(
                    i + 1,
                    format!("expected a list after `apis:` (`[a, b]` or `- a` lines), found `{value}`"),
                ));
            }
        }
        let mut cleaned = Vec::new();
        for (item, line) in apis {
            let name = item.trim_matches(|c| c == '"' || c == '\'' || c == '`');
            if name.is_empty() || !crate::library::is_dotted_identifier(name.trim_end_matches("()")) {
                return Err(err(line, format!("`{item}` is not a Python name (expected e.g. `numpy.trapz`)")));
            }
            cleaned.push((name.to_string(), line));
        }
        if cleaned.is_empty() {
            return Err(err(first + 1, "`apis` is empty".into()));
        }
        Ok(Update { text: trim_blank_lines(&lines[separator + 1..]), apis: Some(cleaned) })
    }

    /// The affected names: the `apis` list, each checked to be a name of `library`, or the
    /// names of the text. `file` names the update file in errors.
    pub fn affected_names(&self, library: &Library, file: &str) -> Result<AffectedNames, MigrateError> {
        match &self.apis {
            Some(apis) => {
                let mut names = AffectedNames::default();
                for (api, line) in apis {
                    if !names.add(api, library) {
                        return Err(MigrateError::UpdateFile {
                            file: file.to_string(),
                            line: *line,
                            message: format!("`{api}` is not a name of library `{}`", library.root),
                        });
                    }
                }
                Ok(names)
            }
            None => Ok(AffectedNames::from_text(&self.text, library)),
        }
    }
}

fn trim_blank_lines(lines: &[&str]) -> String {
    let start = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(lines.len());
    let end = lines.iter().rposition(|l| !l.trim().is_empty()).map_or(start, |e| e + 1);
    lines[start..end].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_list_forms_and_text() {
        let u = Update::parse_file("u", "# note\napis: [numpy.trapz, \"np.in1d\",\n  trapz()]\n---\n\nText here.\n\n")
            .unwrap();
        assert_eq!(u.text, "Text here.");
        let apis: Vec<_> = u.apis.unwrap().into_iter().collect();
        assert_eq!(apis, vec![("numpy.trapz".into(), 2), ("np.in1d".into(), 2), ("trapz()".into(), 3)]);
        let u = Update::parse_file("u", "apis:\n  - numpy.trapz\n  - numpy.in1d\n---\nT\r\n").unwrap();
        assert_eq!(u.apis.unwrap().len(), 2);
        assert_eq!(u.text, "T");
        let u = Update::parse_file("u", "Just a note: np.trapz is gone.\n").unwrap();
        assert_eq!(u, Update::from_text("Just a note: np.trapz is gone."));
    }

    #[test]
    fn errors_name_the_line() {
        let e = Update::parse_file("u.txt", "apis: [numpy.trapz]\ntext\n").unwrap_err().to_string();
        assert!(e.contains("u.txt:1:") && e.contains("---"), "{e}");
        let e = Update::parse_file("u.txt", "apis: [numpy.trapz,\n 3x]\n---\n").unwrap_err().to_string();
        assert!(e.starts_with("u.txt:2:") && e.contains("3x"), "{e}");
        let e = Update::parse_file("u.txt", "apis: [a]\nlibrary: numpy\n---\n").unwrap_err().to_string();
        assert!(e.starts_with("u.txt:2:") && e.contains("unknown key"), "{e}");
        let u = Update::parse_file("u.txt", "apis: [numpy.trapz,\n pandas.concat]\n---\n").unwrap();
        let e = u.affected_names(&Library::resolve("numpy").unwrap(), "u.txt").unwrap_err().to_string();
        assert!(e.starts_with("u.txt:2:") && e.contains("pandas.concat"), "{e}");
    }
}
