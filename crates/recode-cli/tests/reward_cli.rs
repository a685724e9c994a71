//! `recode reward` end to end: output order and fields, both modes, bad input.

use std::process::{Command, Output};

use recode_rewards::{Mode, score};
use serde_json::{Value, json};

fn recode(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_recode"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("recode runs");
    let mut pipe = child.stdin.take().expect("stdin");
    pipe.write_all(stdin.unwrap_or("").as_bytes()).expect("write stdin");
    drop(pipe);
    child.wait_with_output().expect("recode finishes")
}

fn cases() -> Vec<Value> {
    let good =
        "Rename.\n</think>\n<answer>\n```python\nimport numpy as np\narea = np.trapezoid([1, 2, 3])\n```\n</answer>";
    let partial = "Hmm.</think><answer>```python\nimport numpy as np\narea = np.trapz([1, 2, 3])\n```</answer>";
    let nothing = "I am not sure.";
    let comment_only = "x</think><answer>\n```python\n# nothing to do\n```\n</answer>";
    let target = "import numpy as np\narea = np.trapezoid([1, 2, 3])  # integrate\n";
    vec![
        json!({"id": "a", "completion": good, "target": target, "step": 3}),
        json!({"completion": partial, "target": target}),
        json!({"id": "c", "completion": nothing, "target": target}),
        json!({"id": "d", "completion": comment_only, "target": "# empty target\n"}),
    ]
}

fn jsonl(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

#[test]
fn scores_every_line_in_order_with_carried_fields() {
    let input = cases();
    for mode in [Mode::Parity, Mode::Fixed] {
        let mode_name = serde_json::to_value(mode).unwrap();
        let out = recode(
            &["reward", "--input", "-", "--mode", mode_name.as_str().unwrap(), "--jobs", "2"],
            Some(&jsonl(&input)),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<Value> =
            String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), input.len());
        for (case, line) in input.iter().zip(&lines) {
            let expected = score(case["completion"].as_str().unwrap(), case["target"].as_str().unwrap(), mode);
            assert_eq!(line["format"], expected.format);
            assert_eq!(line["em_star"], expected.em_star);
            assert_eq!(line["es_star"], expected.es_star);
            assert_eq!(line["total"], expected.total);
            assert_eq!(line["mode"], mode_name);
            assert_eq!(line.get("id"), case.get("id"));
            assert!(line.get("completion").is_none() && line.get("target").is_none());
        }
        assert_eq!(lines[0]["step"], 3, "other fields are carried through");
        assert_eq!(lines[0]["es_star"], 2.0, "a comment does not change the score");
        assert_eq!(lines[2]["es_star"], -2.0, "no python block");
        // Comment-only code against a comment-only target: the reference divides by zero.
        let raises = lines[3].get("reference_raises").cloned();
        match mode {
            Mode::Parity => assert_eq!(raises, Some(json!("ZeroDivisionError"))),
            Mode::Fixed => assert_eq!(raises, None),
        }
    }
}

#[test]
fn bad_lines_are_all_reported_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let output = dir.path().join("out.jsonl");
    let text = format!(
        "{}\n{}\n\n{}\nnot json\n[1]\n{}\n",
        json!({"completion": "a", "target": "b"}),
        json!({"completion": 1, "target": "b"}),
        json!({"target": "b"}),
        json!({"completion": "a", "target": null}),
    );
    std::fs::write(&input, text).unwrap();
    let path = input.display().to_string();
    let out = recode(&["reward", "--input", &path, "--output", output.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(!output.exists(), "nothing is written when a line is bad");
    let stderr = String::from_utf8(out.stderr).unwrap();
    for expected in [
        format!("{path}:2: completion: expected a string, found a number"),
        format!("{path}:3: line: empty line (expected a JSON object)"),
        format!("{path}:4: completion: missing (expected a string)"),
        format!("{path}:5: line: invalid JSON: expected ident at line 1 column 2"),
        format!("{path}:6: line: expected a JSON object"),
        format!("{path}:7: target: expected a string, found null"),
    ] {
        assert!(stderr.contains(&expected), "missing {expected:?} in\n{stderr}");
    }
    assert!(!stderr.contains(&format!("{path}:1:")), "{stderr}");
}

#[test]
fn output_file_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("scores.jsonl");
    let out =
        recode(&["reward", "--input", "-", "--output", output.to_str().unwrap(), "--quiet"], Some(&jsonl(&cases())));
    assert!(out.status.success());
    assert!(out.stderr.is_empty() && out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&output).unwrap().lines().count(), cases().len());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left: {leftovers:?}");
}

#[test]
fn missing_file_and_invalid_utf8_are_precise_errors() {
    let out = recode(&["reward", "--input", "/nonexistent/x.jsonl"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/x.jsonl"));

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.jsonl");
    std::fs::write(&input, b"{\"completion\": \"\xff\", \"target\": \"x\"}\n").unwrap();
    let out = recode(&["reward", "--input", input.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":1: line: invalid UTF-8 at byte 16"));
}
