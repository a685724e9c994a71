//! `recode data export` run as a real process on the fixtures in `tests/fixtures/export/`.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use recode_data::prompt::training_prompt;
use recode_data::read_jsonl;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/export")
}

/// Runs `recode data export ARGS` in the fixtures directory (so file names print as given).
fn export(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_recode"))
        .args(["data", "export"])
        .args(args)
        .current_dir(fixtures())
        .output()
        .expect("run recode");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr")
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The directory's entries, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

#[test]
fn verl_writes_the_library_parquet_and_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("train.parquet");
    let template = dir.path().join("recode_chatml.jinja");
    let out = export(&["items.jsonl", "--format", "verl", "--out", s(&out_path), "--chat-template-out", s(&template)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("wrote {} (verl Parquet, 3 items)\nwrote {} (chat template)\n", out_path.display(), template.display())
    );
    // Byte for byte what the library writes (its tests read it back with Rust and pyarrow).
    let items = read_jsonl(&fixtures().join("items.jsonl")).unwrap();
    let written = std::fs::read(&out_path).unwrap();
    assert_eq!(written, recode_export::verl_parquet_bytes(&items).unwrap());
    assert!(written.starts_with(b"PAR1") && written.ends_with(b"PAR1"));
    assert_eq!(std::fs::read_to_string(&template).unwrap(), recode_export::VERL_CHAT_TEMPLATE);
    assert_eq!(entries(dir.path()), ["recode_chatml.jinja", "train.parquet"]);
}

#[test]
fn trl_writes_prompt_target_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("train.jsonl");
    // `-o` and `--output` are accepted too.
    let out = export(&["items.jsonl", "--format", "trl", "-o", s(&out_path)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("wrote {} (TRL JSONL, 3 items)\n", out_path.display()));

    let items = read_jsonl(&fixtures().join("items.jsonl")).unwrap();
    let text = std::fs::read_to_string(&out_path).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    for (line, item) in lines.iter().zip(&items) {
        assert_eq!(line["prompt"], training_prompt(item).as_str());
        assert_eq!(line["target"], item.new_code.as_str());
    }
    assert_eq!(lines[0]["id"], "numpy-0001");
    assert_eq!(lines[1]["id"], "pandas-0001");
    assert!(lines[2].get("id").is_none());
    assert!(
        lines[0]["prompt"]
            .as_str()
            .unwrap()
            .ends_with("<|im_end|>\n<|im_start|>assistant\nLet me solve this step by step.\n<think>")
    );
    assert_eq!(entries(dir.path()), ["train.jsonl"]);
}

#[test]
fn bad_format_name_is_rejected_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("train.out");
    let out = export(&["items.jsonl", "--format", "parquet", "--out", s(&out_path)]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("invalid value 'parquet' for '--format <FORMAT>'"), "{err}");
    assert!(err.contains("[possible values: verl, trl]"), "{err}");
    assert!(entries(dir.path()).is_empty());

    // --format is required.
    let out = export(&["items.jsonl", "--out", s(&out_path)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--format <FORMAT>"), "{}", stderr(&out));
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn missing_input_file_is_an_error_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("train.parquet");
    for format in ["verl", "trl"] {
        let out = export(&["no-such-file.jsonl", "--format", format, "--out", s(&out_path)]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stdout(&out).is_empty());
        let err = stderr(&out);
        assert!(err.starts_with("error: cannot read no-such-file.jsonl: No such file or directory"), "{err}");
    }
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn bad_input_leaves_an_existing_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("train.parquet");
    std::fs::write(&out_path, b"previous export").unwrap();

    let out = export(&["bad.jsonl", "--format", "verl", "--out", s(&out_path)]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: bad.jsonl:2: new_code: missing\n");

    let out = export(&["empty.jsonl", "--format", "trl", "--out", s(&out_path)]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: empty.jsonl: no items to export\n");

    // The output directory does not exist.
    let nested = dir.path().join("missing/train.parquet");
    let out = export(&["items.jsonl", "--format", "verl", "--out", s(&nested)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with(&format!("error: cannot write {}: No such file or directory", nested.display())),
        "{}",
        stderr(&out)
    );

    // --chat-template-out makes sense for verl only.
    let template = dir.path().join("t.jinja");
    let out = export(&["items.jsonl", "--format", "trl", "--out", s(&out_path), "--chat-template-out", s(&template)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--chat-template-out is only meaningful with --format verl"));

    assert_eq!(std::fs::read(&out_path).unwrap(), b"previous export");
    assert_eq!(entries(dir.path()), ["train.parquet"]);
}
