//! Agreement with CPython 3.11 `ast.parse` on the generated corpus (python/syntax_corpus).
//!
//! Needs `python3` 3.11 on PATH (the labels are computed by the generator with CPython itself).
//! `RECODE_SYNTAX_N` (default 5,000) and `RECODE_SYNTAX_SEED` (default 1) change the run;
//! `RECODE_SYNTAX_CORPUS=FILE.jsonl` checks an existing labelled file instead of generating one.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use recode_python::{Verdict, check_module};

fn python_311() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed to label the syntax corpus, but it could not be run: {e}"));
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && version == "3.11",
        "python3 must be CPython 3.11 (the labels are its ast.parse verdicts); found {version:?}"
    );
    version
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn agrees_with_cpython_311() {
    python_311();
    let n = env_num("RECODE_SYNTAX_N", 5_000);
    let seed = env_num("RECODE_SYNTAX_SEED", 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = dir.path().join("corpus.jsonl");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../python/syntax_corpus/generate.py");
    let corpus = match std::env::var_os("RECODE_SYNTAX_CORPUS") {
        Some(path) => path.into(),
        None => {
            let status = Command::new("python3")
                .arg(&script)
                .args(["--seed", &seed.to_string(), "--n", &n.to_string(), "--out"])
                .arg(&corpus)
                .status()
                .expect("run generate.py");
            assert!(status.success(), "generate.py failed: {status}");
            corpus
        }
    };
    let text = std::fs::read_to_string(&corpus).expect("read corpus");
    let rows: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).expect("corpus line is JSON")).collect();
    if std::env::var_os("RECODE_SYNTAX_CORPUS").is_none() {
        assert_eq!(rows.len() as u64, n, "generator wrote the wrong number of snippets");
    }

    let started = Instant::now();
    let mut bytes = 0usize;
    let mut disagreements = Vec::new();
    let mut labelled_valid = 0usize;
    for row in &rows {
        let source = row["source"].as_str().expect("source");
        bytes += source.len();
        let expected = match (row["valid"].as_bool().expect("valid"), row["error"].as_str()) {
            (true, _) => Verdict::Valid,
            (false, Some("too_complex")) => Verdict::TooComplex,
            (false, _) => Verdict::Invalid,
        };
        labelled_valid += usize::from(expected == Verdict::Valid);
        let got = check_module(source);
        if got != expected {
            disagreements.push((row, expected, got));
        }
    }
    let elapsed = started.elapsed();
    for (row, expected, got) in &disagreements {
        let src = row["source"].as_str().unwrap_or_default();
        let excerpt: String = src.chars().take(300).collect();
        println!(
            "DISAGREE id={} kind={} cpython={:?} ({}) ours={:?}\n{:?}\n",
            row["id"], row["kind"], expected, row["error"], got, excerpt
        );
    }
    let agreement = 1.0 - disagreements.len() as f64 / rows.len() as f64;
    println!(
        "agreement {:.4}% ({} of {} disagree; {} labelled valid); checked {} KiB in {:.2?} ({:.1} MiB/s)",
        agreement * 100.0,
        disagreements.len(),
        rows.len(),
        labelled_valid,
        bytes / 1024,
        elapsed,
        bytes as f64 / (1 << 20) as f64 / elapsed.as_secs_f64()
    );
    assert!(agreement >= 0.999, "agreement {agreement:.4} is below 99.9%");
}
