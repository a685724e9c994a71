//! `recode data …` run as a real process on the fixtures in `tests/fixtures/data/`.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data")
}

/// Runs `recode ARGS` in `dir`.
fn recode_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recode")).args(args).current_dir(dir).output().expect("run recode")
}

/// Runs `recode ARGS` in the fixtures directory (so file names print as given).
fn recode(args: &[&str]) -> Output {
    recode_in(&fixtures(), args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr")
}

fn assert_no_panic(out: &Output) {
    assert!(!stderr(out).contains("panicked"), "{}", stderr(out));
}

fn good_items() -> Vec<serde_json::Value> {
    std::fs::read_to_string(fixtures().join("good.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

// ---------------------------------------------------------------- validate

#[test]
fn validate_good_file() {
    let out = recode(&["data", "validate", "good.jsonl"]);
    assert_eq!(stdout(&out), "8 items, 0 problems in 1 file\n");
    assert_eq!(stderr(&out), "");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn validate_bad_file_reports_every_problem() {
    let out = recode(&["data", "validate", "bad.jsonl"]);
    let expected = "\
bad.jsonl:2: <line>: empty line
bad.jsonl:3: <line>: invalid JSON at column 39: EOF while parsing a value
bad.jsonl:4: <line>: expected a JSON object, found a string
bad.jsonl:5: old_code: missing
bad.jsonl:5: new_code: expected a string, found a number
bad.jsonl:6: new_version: not of the form ==X[.Y...] with numeric parts and an optional aN/bN/rcN, .postN, .devN suffix (got \"2.0\")
bad.jsonl:6: old_code: near-duplicate of line 1 (same update, code similarity 1.00)
bad.jsonl:7: new_version: not of the form ==X[.Y...] with numeric parts and an optional aN/bN/rcN, .postN, .devN suffix (got \"==2.0 \")
bad.jsonl:7: old_code: near-duplicate of line 1 (same update, code similarity 1.00)
bad.jsonl:8: old_code: empty (no code, only white space)
bad.jsonl:9: new_code: does not parse as Python (CPython 3.11 ast.parse)
bad.jsonl:9: old_code: near-duplicate of line 1 (same update, code similarity 1.00)
bad.jsonl:10: new_code: identical to old_code
bad.jsonl:11: id: duplicate \"x-1\" (first on line 1)
bad.jsonl:11: old_code: near-duplicate of line 1 (same update, code similarity 1.00)
bad.jsonl:12: dependency: blank
bad.jsonl:12: update_info: blank
bad.jsonl:13: <line>: invalid UTF-8 at byte offset 80 of the line
bad.jsonl:14: validation: expected an object or null, found an array
bad.jsonl:15: old_code: does not parse as Python (CPython 3.11 ast.parse)
bad.jsonl:16: old_code: near-duplicate of line 1 (same update, code similarity 1.00)
10 items, 21 problems in 1 file
";
    assert_eq!(stdout(&out), expected);
    assert_eq!(stderr(&out), "");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn validate_several_files_and_a_missing_one() {
    let out = recode(&["data", "validate", "good.jsonl", "missing.jsonl", "bad.jsonl"]);
    let text = stdout(&out);
    assert!(text.starts_with("bad.jsonl:2: <line>: empty line\n"), "{text}");
    assert!(text.ends_with("\n18 items, 21 problems in 2 files\n"), "{text}");
    assert_eq!(
        stderr(&out),
        "error: cannot read missing.jsonl: No such file or directory (os error 2)\n\
         error: 1 file could not be read\n"
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn validate_needs_a_file_and_rejects_a_directory() {
    let out = recode(&["data", "validate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("<FILE>..."), "{}", stderr(&out));
    let out = recode(&["data", "validate", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: cannot read .: "), "{}", stderr(&out));
    assert_no_panic(&out);
}

// ---------------------------------------------------------------- stats

#[test]
fn stats_table() {
    let out = recode(&["data", "stats", "good.jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let expected_head = "\
good.jsonl: 8 items

library   items   share
JAX           1   12.5%
Numpy         4   50.0%
Pandas        3   37.5%

update type    items   share
(none)             1   12.5%
added-method       1   12.5%
deprecation        1   12.5%
removal            3   37.5%
rename             2   25.0%

validation rule   items   share
(none)                6   75.0%
ast                   1   12.5%
exec                  1   12.5%

length (characters)       min        mean      median       max
old_code                   29        62.6        60.5        93
";
    assert!(text.starts_with(expected_head), "{text}");
    assert_eq!(text.lines().count(), 23, "{text}");
}

fn summary(values: &[usize]) -> (usize, f64, f64, usize) {
    let mut v = values.to_vec();
    v.sort();
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] as f64 } else { (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0 };
    (v[0], v.iter().sum::<usize>() as f64 / n as f64, median, v[n - 1])
}

fn check_summary(json: &serde_json::Value, key: &str, lengths: &[usize]) {
    let (min, mean, median, max) = summary(lengths);
    let got = &json[key];
    assert_eq!(got["min"].as_u64(), Some(min as u64), "{key}");
    assert_eq!(got["max"].as_u64(), Some(max as u64), "{key}");
    assert!((got["mean"].as_f64().unwrap() - mean).abs() < 1e-9, "{key}");
    assert_eq!(got["median"].as_f64(), Some(median), "{key}");
}

#[test]
fn stats_json_in_characters() {
    let out = recode(&["data", "stats", "good.jsonl", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["file"], "good.jsonl");
    assert_eq!(json["unit"], "characters");
    assert_eq!(json["tokenizer"], serde_json::Value::Null);
    assert_eq!(json["items"], 8);
    assert_eq!(json["by_dependency"], serde_json::json!({"JAX": 1, "Numpy": 4, "Pandas": 3}));
    assert_eq!(json["by_rule"]["ast"], 1);
    let items = good_items();
    let chars = |key: &str| -> Vec<usize> { items.iter().map(|i| i[key].as_str().unwrap().chars().count()).collect() };
    check_summary(&json, "old_code", &chars("old_code"));
    check_summary(&json, "new_code", &chars("new_code"));
    // The prompt of item 1 is printed by `prompt`; its length is in the prompt summary range.
    let prompt = stdout(&recode(&["data", "prompt", "good.jsonl", "--index", "1"]));
    let n = prompt.chars().count() as u64;
    assert!(json["prompt"]["min"].as_u64().unwrap() <= n);
    assert!(json["prompt"]["max"].as_u64().unwrap() >= n);
}

/// A word-level tokenizer whose pre-tokenizer splits like `\w+|[^\w\s]+`; every piece is one
/// token (known words or `[UNK]`).
const TOKENIZER_JSON: &str = r#"{
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [],
  "normalizer": null,
  "pre_tokenizer": {"type": "Whitespace"},
  "post_processor": null,
  "decoder": null,
  "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "import": 1, "numpy": 2, "as": 3, "np": 4, "=": 5, ".": 6}, "unk_token": "[UNK]"}
}"#;

/// The number of pieces `\w+|[^\w\s]+` finds.
fn whitespace_pieces(text: &str) -> usize {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Word,
        Punct,
        Space,
    }
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            Class::Word
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Punct
        }
    };
    let mut pieces = 0;
    let mut previous = Class::Space;
    for c in text.chars() {
        let now = class(c);
        if now != Class::Space && now != previous {
            pieces += 1;
        }
        previous = now;
    }
    pieces
}

#[test]
fn stats_in_tokens() {
    assert_eq!(whitespace_pieces("np.add.__doc__ = \"x\""), 9);
    let dir = tempfile::tempdir().unwrap();
    let tokenizer = dir.path().join("tokenizer.json");
    std::fs::write(&tokenizer, TOKENIZER_JSON).unwrap();
    let out = recode(&["data", "stats", "good.jsonl", "--json", "--tokenizer", tokenizer.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["unit"], "tokens");
    assert_eq!(json["tokenizer"], tokenizer.to_str().unwrap());
    let items = good_items();
    let tokens =
        |key: &str| -> Vec<usize> { items.iter().map(|i| whitespace_pieces(i[key].as_str().unwrap())).collect() };
    check_summary(&json, "old_code", &tokens("old_code"));
    check_summary(&json, "new_code", &tokens("new_code"));
    // The table says which unit it uses.
    let out = recode(&["data", "stats", "good.jsonl", "--tokenizer", tokenizer.to_str().unwrap()]);
    assert!(stdout(&out).contains("\nlength (tokens)  "), "{}", stdout(&out));
}

#[test]
fn stats_with_a_bad_tokenizer_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let tokenizer = dir.path().join("tokenizer.json");
    std::fs::write(&tokenizer, "{\"model\": 3}").unwrap();
    let out = recode(&["data", "stats", "good.jsonl", "--tokenizer", tokenizer.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with(&format!("error: cannot load tokenizer {}: ", tokenizer.display())),
        "{}",
        stderr(&out)
    );
    assert_no_panic(&out);
    let out = recode(&["data", "stats", "good.jsonl", "--tokenizer", "nope.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: cannot load tokenizer nope.json: "));
    let out = recode(&["data", "stats", "bad.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: bad.jsonl:2: <line>: empty line (run `recode data validate` to see every problem)\n"
    );
}

// ---------------------------------------------------------------- split

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn split_is_deterministic_disjoint_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("good.jsonl");
    std::fs::copy(fixtures().join("good.jsonl"), &input).unwrap();

    // Default output names, next to the input.
    let out = recode_in(dir.path(), &["data", "split", "good.jsonl", "--test-frac", "0.25", "--seed", "42"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "\
library   items   train    test
JAX           1       1       0
Numpy         4       3       1
Pandas        3       2       1
total         8       6       2
wrote good.train.jsonl
wrote good.test.jsonl
"
    );
    let train = read_lines(&dir.path().join("good.train.jsonl"));
    let test = read_lines(&dir.path().join("good.test.jsonl"));
    assert_eq!((train.len(), test.len()), (6, 2));

    // Same seed, explicit outputs: byte-identical files.
    let (train2, test2) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let out = recode_in(
        dir.path(),
        &[
            "data",
            "split",
            "good.jsonl",
            "--test-frac",
            "0.25",
            "--seed",
            "42",
            "--train-out",
            "a.jsonl",
            "--test-out",
            "b.jsonl",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read_lines(&train2), train);
    assert_eq!(read_lines(&test2), test);

    // Disjoint and complete: every input item is in exactly one output, unchanged (unknown
    // fields and `validation` included), in input order.
    let parse = |lines: &[String]| -> Vec<serde_json::Value> {
        lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let (train_items, test_items) = (parse(&train), parse(&test));
    let id = |v: &serde_json::Value| v["id"].as_str().unwrap().to_string();
    for t in &test_items {
        assert!(!train_items.contains(t));
    }
    let originals = good_items();
    let mut merged: Vec<_> = train_items.iter().chain(&test_items).cloned().collect();
    merged.sort_by_key(id);
    let mut expected = originals.clone();
    expected.sort_by_key(id);
    assert_eq!(merged, expected);
    let order = |items: &[serde_json::Value]| {
        items.iter().map(|v| originals.iter().position(|o| o == v).unwrap()).collect::<Vec<_>>()
    };
    assert!(order(&train_items).windows(2).all(|w| w[0] < w[1]));
    assert!(order(&test_items).windows(2).all(|w| w[0] < w[1]));
    assert!(train.iter().chain(&test).any(|l| l.contains("\"extra_note\":\"kept\"")));

    // Every seed gives a valid stratified split; not all seeds give the same one.
    let mut seen = BTreeMap::new();
    for seed in 0..8u64 {
        let seed = seed.to_string();
        let out = recode_in(
            dir.path(),
            &[
                "data",
                "split",
                "good.jsonl",
                "--test-frac",
                "0.25",
                "--seed",
                &seed,
                "--train-out",
                "a.jsonl",
                "--test-out",
                "b.jsonl",
            ],
        );
        assert_eq!(out.status.code(), Some(0));
        let test = parse(&read_lines(&test2));
        assert_eq!(test.len(), 2);
        let mut libs: Vec<_> = test.iter().map(|v| v["dependency"].as_str().unwrap().to_string()).collect();
        libs.sort();
        assert_eq!(libs, ["Numpy", "Pandas"]);
        seen.insert(test.iter().map(id).collect::<Vec<_>>(), ());
    }
    assert!(seen.len() > 1);
}

#[test]
fn split_rejects_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixtures().join("good.jsonl");
    let good = good.to_str().unwrap();
    let run = |args: &[&str]| recode_in(dir.path(), args);

    let out = run(&["data", "split", good, "--test-frac", "1.5", "--seed", "1", "--train-out", "a", "--test-out", "b"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: --test-frac must be a number between 0 and 1, got 1.5\n");

    let out = run(&["data", "split", good, "--test-frac", "x", "--seed", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid value 'x' for '--test-frac <F>'"));

    let out = run(&["data", "split", good, "--test-frac", "0.5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--seed <S>"));

    let out = run(&[
        "data",
        "split",
        good,
        "--test-frac",
        "0.5",
        "--seed",
        "1",
        "--train-out",
        "s.jsonl",
        "--test-out",
        "s.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: the training and test outputs are the same file: s.jsonl\n");

    let out = run(&[
        "data",
        "split",
        good,
        "--test-frac",
        "0.5",
        "--seed",
        "1",
        "--train-out",
        good,
        "--test-out",
        "t.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), format!("error: refusing to overwrite the input {good}\n"));

    let bad = fixtures().join("bad.jsonl");
    let out = run(&[
        "data",
        "split",
        bad.to_str().unwrap(),
        "--test-frac",
        "0.5",
        "--seed",
        "1",
        "--train-out",
        "a",
        "--test-out",
        "b",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).ends_with("bad.jsonl:2: <line>: empty line (run `recode data validate` to see every problem)\n")
    );

    let out = run(&["data", "split", "missing.jsonl", "--test-frac", "0.5", "--seed", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: cannot read missing.jsonl: No such file or directory (os error 2)\n");

    std::fs::write(dir.path().join("empty.jsonl"), "").unwrap();
    let out = run(&["data", "split", "empty.jsonl", "--test-frac", "0.5", "--seed", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: empty.jsonl: no items to split\n");

    // Nothing was written by any failed run.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["empty.jsonl"]);
}

// ---------------------------------------------------------------- prompt

#[test]
fn prompt_is_exact() {
    let out = recode(&["data", "prompt", "good.jsonl", "--index", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = "<|im_start|>system\n\
You are a helpful coding assistant. Your task is to transform the old version of the code into the new version specified, based on the update information. You first thinks about the reasoning process in the mind and then provides the solution.<|im_end|>\n\
<|im_start|>user\n\
\n\
Numpy performed an API update in version 2.0.0, and the update content includes:\n\
<doc>\n\
np.product has been removed; use np.prod instead.\n\
</doc>\n\
The old version of the code is:\n\
```python\n\
import numpy as np\n\
x = np.product([1, 2, 3])\n\
```\n\
\n\
Show your work in <think> </think> tags. And return the final code in <answer> </answer>, the code within <answer></answer> should be enclosed in ```python ``` tags.\n\
<|im_end|>\n\
<|im_start|>assistant\n\
Let me solve this step by step.\n\
<think>";
    assert_eq!(out.stdout, expected.as_bytes());

    // Default index 0; non-ASCII text passes through untouched.
    let out = recode(&["data", "prompt", "good.jsonl"]);
    assert!(stdout(&out).contains("\nNumpy performed an API update in version 2.2.0, and"));
    let out = recode(&["data", "prompt", "good.jsonl", "--index", "3"]);
    assert!(stdout(&out).contains(" in version 2.0.0rc1, and "));
}

#[test]
fn prompt_as_chat_json() {
    let out = recode(&["data", "prompt", "good.jsonl", "--index", "1", "--chat-json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = r#"[
  {
    "role": "system",
    "content": "You are a helpful coding assistant. Your task is to transform the old version of the code into the new version specified, based on the update information. You first thinks about the reasoning process in the mind and then provides the solution."
  },
  {
    "role": "user",
    "content": "\nNumpy performed an API update in version 2.0.0, and the update content includes:\n<doc>\nnp.product has been removed; use np.prod instead.\n</doc>\nThe old version of the code is:\n```python\nimport numpy as np\nx = np.product([1, 2, 3])\n```\n\nShow your work in <think> </think> tags. And return the final code in <answer> </answer>, the code within <answer></answer> should be enclosed in ```python ``` tags.\n"
  },
  {
    "role": "assistant",
    "content": "Let me solve this step by step.\n<think>"
  }
]
"#;
    assert_eq!(stdout(&out), expected);
}

#[test]
fn prompt_errors() {
    let out = recode(&["data", "prompt", "good.jsonl", "--index", "8"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: --index 8 is out of range: good.jsonl has 8 items (indices start at 0)\n");
    assert_eq!(stdout(&out), "");
    let out = recode(&["data", "prompt", "good.jsonl", "--index", "-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_no_panic(&out);
    let out = recode(&["data", "prompt", "bad.jsonl", "--index", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: bad.jsonl:2: <line>: empty line (run `recode data validate` to see every problem)\n"
    );
    let out = recode(&["data", "prompt", "nope.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: cannot read nope.jsonl: No such file or directory (os error 2)\n");
}
