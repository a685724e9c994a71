//! Unified diffs built from the edits themselves (the changed spans are known exactly, so no
//! diff algorithm has to guess): each edit is widened to whole lines, lines it leaves equal at
//! either end are trimmed, and changes closer than twice the context are one hunk. Lines keep
//! their own endings (a CRLF file gives CRLF lines); a last line without a newline is marked
//! `\ No newline at end of file`, as `diff -u` does.
use crate::splice::Edit;

/// Lines of context around each change.
pub const CONTEXT: usize = 3;

struct Change {
    /// 0-based index of the first old line replaced.
    old_start: usize,
    old_len: usize,
    new_lines: Vec<String>,
}

/// The unified diff of `edits` applied to `old`, with headers `--- a/PATH` and `+++ b/PATH`;
/// empty when nothing changes.
pub fn unified_diff(path: &str, old: &str, edits: &[Edit]) -> String {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut line_starts = Vec::with_capacity(old_lines.len() + 1);
    let mut at = 0;
    for line in &old_lines {
        line_starts.push(at);
        at += line.len();
    }
    line_starts.push(old.len());
    let line_index = |offset: usize| line_starts.partition_point(|&s| s <= offset).saturating_sub(1);

    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    // Group edits whose line spans touch.
    let mut groups: Vec<(usize, usize, Vec<&Edit>)> = Vec::new(); // (first line, last line exclusive, edits)
    for edit in sorted {
        let first = line_index(edit.range.start).min(old_lines.len().saturating_sub(1));
        let last = if edit.range.end > edit.range.start { line_index(edit.range.end - 1) + 1 } else { first + 1 }
            .min(old_lines.len().max(1));
        match groups.last_mut() {
            Some(group) if first < group.1 => {
                group.1 = group.1.max(last);
                group.2.push(edit);
            }
            _ => groups.push((first, last, vec![edit])),
        }
    }
    let mut changes = Vec::new();
    for (first, last, group) in groups {
        let block_start = line_starts.get(first).copied().unwrap_or(old.len());
        let block_end = line_starts.get(last).copied().unwrap_or(old.len());
        let mut new_block = String::new();
        let mut at = block_start;
        for edit in &group {
            new_block.push_str(&old[at..edit.range.start]);
            new_block.push_str(&edit.text);
            at = edit.range.end;
        }
        new_block.push_str(&old[at..block_end]);
        let old_block: Vec<&str> = if first < old_lines.len() { old_lines[first..last].to_vec() } else { Vec::new() };
        let new_block: Vec<String> = new_block.split_inclusive('\n').map(String::from).collect();
        // Trim lines equal at both ends.
        let mut head = 0;
        while head < old_block.len() && head < new_block.len() && old_block[head] == new_block[head] {
            head += 1;
        }
        let mut tail = 0;
        while tail < old_block.len() - head
            && tail < new_block.len() - head
            && old_block[old_block.len() - 1 - tail] == new_block[new_block.len() - 1 - tail]
        {
            tail += 1;
        }
        if head == old_block.len() && head == new_block.len() {
            continue;
        }
        changes.push(Change {
            old_start: first + head,
            old_len: old_block.len() - head - tail,
            new_lines: new_block[head..new_block.len() - tail].to_vec(),
        });
    }
    if changes.is_empty() {
        return String::new();
    }
    let mut out = format!("--- a/{path}\n+++ b/{path}\n");
    let mut i = 0;
    // Running difference between new and old line numbers before the current hunk.
    let mut shift: isize = 0;
    while i < changes.len() {
        let mut j = i;
        while j + 1 < changes.len()
            && changes[j + 1].old_start <= changes[j].old_start + changes[j].old_len + 2 * CONTEXT
        {
            j += 1;
        }
        let hunk_old_start = changes[i].old_start.saturating_sub(CONTEXT);
        let hunk_old_end = (changes[j].old_start + changes[j].old_len + CONTEXT).min(old_lines.len());
        let mut body = String::new();
        let mut new_count = 0;
        let mut line = hunk_old_start;
        let mut hunk_shift = 0isize;
        for change in &changes[i..=j] {
            while line < change.old_start {
                push_line(&mut body, ' ', old_lines[line]);
                new_count += 1;
                line += 1;
            }
            for old_line in &old_lines[change.old_start..change.old_start + change.old_len] {
                push_line(&mut body, '-', old_line);
            }
            for new_line in &change.new_lines {
                push_line(&mut body, '+', new_line);
                new_count += 1;
            }
            line = change.old_start + change.old_len;
            hunk_shift += change.new_lines.len() as isize - change.old_len as isize;
        }
        while line < hunk_old_end {
            push_line(&mut body, ' ', old_lines[line]);
            new_count += 1;
            line += 1;
        }
        let old_count = hunk_old_end - hunk_old_start;
        let new_start = (hunk_old_start as isize + shift) as usize;
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range_label(hunk_old_start, old_count),
            range_label(new_start, new_count)
        ));
        out.push_str(&body);
        shift += hunk_shift;
        i = j + 1;
    }
    out
}

/// `start,count` in diff's 1-based convention (`start` is the line before when `count` is 0).
fn range_label(start0: usize, count: usize) -> String {
    if count == 0 {
        format!("{start0},0")
    } else if count == 1 {
        format!("{}", start0 + 1)
    } else {
        format!("{},{count}", start0 + 1)
    }
}

fn push_line(out: &mut String, mark: char, line: &str) {
    out.push(mark);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(source: &str, from: &str, to: &str) -> Edit {
        let start = source.find(from).unwrap();
        Edit { range: start..start + from.len(), text: to.to_string() }
    }

    #[test]
    fn one_hunk_with_context_and_line_numbers() {
        let old = "l1\nl2\nl3\nl4\nx = np.trapz(y)\nl6\nl7\nl8\nl9\n";
        let d = unified_diff("f.py", old, &[edit(old, "np.trapz", "np.trapezoid")]);
        assert_eq!(
            d,
            "--- a/f.py\n+++ b/f.py\n@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-x = np.trapz(y)\n+x = np.trapezoid(y)\n l6\n l7\n l8\n"
        );
    }

    #[test]
    fn missing_final_newline_is_marked_and_far_changes_are_separate_hunks() {
        let old: String = (1..=20).map(|i| format!("l{i}\n")).collect::<String>() + "end";
        let d = unified_diff("f.py", &old, &[edit(&old, "l2\n", "L2\nL2b\n"), edit(&old, "end", "END")]);
        assert!(d.contains("@@ -1,5 +1,6 @@\n l1\n-l2\n+L2\n+L2b\n l3\n"), "{d}");
        assert!(d.contains("@@ -18,3 +19,3 @@\n l18\n l19\n l20\n-end\n\\ No newline at end of file\n+END\n\\ No newline at end of file\n") || d.contains("@@ -18,4 +19,4 @@"), "{d}");
        assert_eq!(unified_diff("f.py", "same\n", &[edit("same\n", "same", "same")]), "");
    }

    #[test]
    fn insertions_count_from_the_line_before() {
        let old = "import os\nx = 1\n";
        let d = unified_diff("f.py", old, &[Edit { range: 10..10, text: "import numpy as np\n".into() }]);
        assert_eq!(d, "--- a/f.py\n+++ b/f.py\n@@ -1,2 +1,3 @@\n import os\n+import numpy as np\n x = 1\n");
    }
}
