//! Moving a unit's text to the model and the model's code back into the file.
//!
//! The model sees a unit as top-level code: the unit's indentation is removed from every line
//! that does not start inside a string literal, and CRLF becomes LF. The replacement goes back
//! the other way: it gets the unit's indentation on every non-blank line that does not start
//! inside a string (so the contents of a multi-line string are never changed), the file's line
//! endings, and — when the unit's own body was indented with tabs and the model answered with
//! spaces — tabs for its indentation. Everything outside the unit's byte range stays as it was.
use std::ops::Range;

/// The line ending a file uses: the first one found, LF when there is none.
pub fn line_ending(source: &str) -> &'static str {
    match source.find('\n') {
        Some(i) if i > 0 && source.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Byte offsets of line starts (after the first) that lie inside a string literal.
fn line_starts_in_strings(text: &str) -> Vec<usize> {
    let strings = recode_python::string_ranges(text);
    let mut out = Vec::new();
    for range in strings {
        for (i, _) in text[range.clone()].match_indices('\n') {
            let at = range.start + i + 1;
            if at < range.end {
                out.push(at);
            }
        }
    }
    out
}

/// The unit's text as the model sees it: LF line endings, the unit's indentation removed from
/// the lines after the first (the first starts at the unit itself) unless they start inside a
/// string.
pub fn dedent_unit(unit_text: &str, indent: &str) -> String {
    let text = unit_text.replace("\r\n", "\n");
    if indent.is_empty() {
        return text;
    }
    let in_strings = line_starts_in_strings(&text);
    let mut out = String::with_capacity(text.len());
    let mut line_start = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let keep = i == 0 || in_strings.binary_search(&line_start).is_ok();
        out.push_str(if keep { line } else { line.strip_prefix(indent).unwrap_or(line) });
        line_start += line.len();
    }
    out
}

/// Removes blank lines at both ends and the indentation common to all lines that do not start
/// inside a string (models sometimes indent the whole answer).
pub fn clean_answer_code(code: &str) -> String {
    let code = code.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = code.split('\n').collect();
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let Some(first) = first else { return String::new() };
    let last = lines.iter().rposition(|l| !l.trim().is_empty()).unwrap_or(first);
    let mut body = lines[first..=last].iter().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n");
    let in_strings = line_starts_in_strings(&body);
    let mut starts = Vec::new();
    let mut at = 0;
    for line in body.split('\n') {
        if !line.trim().is_empty() && in_strings.binary_search(&at).is_err() {
            starts.push(line);
        }
        at += line.len() + 1;
    }
    let common = starts.iter().map(|l| l.len() - l.trim_start_matches([' ', '\t']).len()).min().unwrap_or(0);
    if common > 0 {
        let prefix_ok = starts.iter().all(|l| l.as_bytes()[..common] == starts[0].as_bytes()[..common]);
        if prefix_ok {
            let mut out = String::with_capacity(body.len());
            let mut at = 0;
            for (i, line) in body.split('\n').enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                let inside = in_strings.binary_search(&at).is_ok();
                out.push_str(if inside || line.len() < common { line } else { &line[common..] });
                at += line.len() + 1;
            }
            body = out;
        }
    }
    body
}

/// How the original unit indents its body relative to its own indentation: with tabs?
fn body_uses_tabs(unit_text: &str, indent: &str) -> bool {
    unit_text
        .split('\n')
        .skip(1)
        .filter_map(|line| line.strip_prefix(indent))
        .find(|rest| !rest.trim().is_empty() && rest.starts_with([' ', '\t']))
        .is_some_and(|rest| rest.starts_with('\t'))
}

/// The replacement as it goes into the file at the unit's position: `code` (LF, top-level)
/// with `indent` added to every non-blank line after the first that does not start inside a
/// string, tabs for space indentation when `original` (the unit's text in the file) indents
/// its body with tabs, and `newline` as line ending.
pub fn reindent(code: &str, indent: &str, original: &str, newline: &str) -> String {
    let in_strings = line_starts_in_strings(code);
    let tabs = body_uses_tabs(original, indent) && !body_uses_tabs(code, "");
    // The model's indentation step: the smallest positive run of leading spaces.
    let step =
        code.split('\n').map(|l| l.len() - l.trim_start_matches(' ').len()).filter(|&n| n > 0).min().unwrap_or(4);
    let mut out = String::with_capacity(code.len() + 16);
    let mut at = 0;
    for (i, line) in code.split('\n').enumerate() {
        if i > 0 {
            out.push_str(newline);
        }
        let inside = in_strings.binary_search(&at).is_ok();
        if inside {
            out.push_str(line);
        } else {
            if i > 0 && !line.trim().is_empty() {
                out.push_str(indent);
            }
            if tabs {
                let spaces = line.len() - line.trim_start_matches(' ').len();
                out.push_str(&"\t".repeat(spaces / step));
                out.push_str(&" ".repeat(spaces % step));
                out.push_str(&line[spaces..]);
            } else {
                out.push_str(line);
            }
        }
        at += line.len() + 1;
    }
    out
}

/// One change to a file: replace `range` with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

/// Applies non-overlapping edits (any order) to `source`.
pub fn apply(source: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(source.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut at = 0;
    for edit in sorted {
        out.push_str(&source[at..edit.range.start]);
        out.push_str(&edit.text);
        at = edit.range.end;
    }
    out.push_str(&source[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedent_keeps_string_contents_and_reindent_round_trips() {
        let unit = "def m(self):\n        \"\"\"Doc.\n\n  odd line\n        \"\"\"\n        return 1";
        let shown = dedent_unit(unit, "    ");
        assert_eq!(shown, "def m(self):\n    \"\"\"Doc.\n\n  odd line\n        \"\"\"\n    return 1");
        assert_eq!(reindent(&shown, "    ", unit, "\n"), unit);
    }

    #[test]
    fn crlf_and_tabs_follow_the_file() {
        let unit = "def m(self):\r\n\t\treturn np.trapz(x)";
        let shown = dedent_unit(unit, "\t");
        assert_eq!(shown, "def m(self):\n\treturn np.trapz(x)");
        let code = "def m(self):\n    if x:\n        return np.trapezoid(x)";
        assert_eq!(reindent(code, "\t", unit, "\r\n"), "def m(self):\r\n\t\tif x:\r\n\t\t\treturn np.trapezoid(x)");
    }

    #[test]
    fn answers_lose_blank_edges_and_common_indentation() {
        assert_eq!(clean_answer_code("\n\n    x = 1\n    if x:\n        y = 2\n\n"), "x = 1\nif x:\n    y = 2");
        assert_eq!(clean_answer_code("x = '''\n  a\n'''"), "x = '''\n  a\n'''");
        assert_eq!(clean_answer_code("  \n\t\n"), "");
    }

    #[test]
    fn edits_apply_in_order_and_keep_the_rest() {
        let src = "a = 1\nb = 2\nc = 3";
        let edits = [Edit { range: 12..17, text: "c = 4".into() }, Edit { range: 0..5, text: "a = 0".into() }];
        assert_eq!(apply(src, &edits), "a = 0\nb = 2\nc = 4");
        assert_eq!(line_ending("x\r\ny\n"), "\r\n");
        assert_eq!(line_ending("x"), "\n");
    }
}
