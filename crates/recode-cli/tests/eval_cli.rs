//! `recode eval …` end to end on tiny fixtures with the system `python3`; the real benchmark in
//! the evaluation venv when both exist (skipped, with the reason printed, otherwise).
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn recode() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recode"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../recode-eval/tests/fixtures").join(name)
}

fn python() -> String {
    let out = Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().expect("python3");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn cua_reference_report_and_resume() {
    let out_dir = tempfile::tempdir().unwrap();
    for executor in ["fork", "plain"] {
        let dir = out_dir.path().join(executor);
        let run = || {
            recode()
                .args(["eval", "cua"])
                .arg(fixture("arena-tiny.jsonl"))
                .args(["--reference", "--python", &python(), "--executor", executor, "--jobs", "2", "--timeout", "5"])
                .arg("--out")
                .arg(&dir)
                .output()
                .unwrap()
        };
        let out = run();
        assert!(out.status.success(), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("4 items, 3/4 samples passed; pass@1 75.0%, upass@1 50.0%"), "{}", text(&out));
        let report = json(&dir.join("report.json"));
        assert_eq!(report["overall"]["pass_at"]["pass@1"], 0.75);
        assert_eq!(report["items"].as_array().unwrap().len(), 4);
        assert!(report["environment"]["python_version"].as_str().unwrap().starts_with("3."));
        assert!(report["executor"].as_str().unwrap().contains(if executor == "fork" { "fork" } else { "one process" }));
        let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
        assert!(summary.contains("## By update type"));
        // Again: everything is read back from results.jsonl.
        let out = run();
        assert!(out.status.success(), "{}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("resuming: 4 of 4 items already done"), "{}", text(&out));
        assert_eq!(json(&dir.join("report.json"))["resumed_items"], 4);
    }
}

#[test]
fn cua_usage_and_data_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = recode()
        .args(["eval", "cua"])
        .arg(fixture("arena-tiny.jsonl"))
        .args(["--python", &python(), "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--reference, --model PATH, or --endpoint URL --model NAME"),
        "{}",
        text(&out)
    );

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"prog_syn_id\": 3}\n").unwrap();
    let out = recode()
        .args(["eval", "cua"])
        .arg(&bad)
        .args(["--reference", "--python", &python(), "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{}:1:", bad.display())), "{}", text(&out));

    let out = recode()
        .args(["eval", "cua"])
        .arg(fixture("arena-tiny.jsonl"))
        .args(["--reference", "--package", "numpy", "--python", &python(), "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no items left after the filters (4 loaded)"),
        "{}",
        text(&out)
    );
}

#[test]
fn humaneval_samples_and_migrate_reference() {
    let dir = tempfile::tempdir().unwrap();
    let out = recode()
        .args(["eval", "humaneval", "--problems"])
        .arg(fixture("humaneval-tiny.jsonl.gz"))
        .arg("--samples")
        .arg(fixture("samples-tiny.jsonl"))
        .args(["--python", &python(), "--timeout", "2", "--k", "1", "--k", "2", "--out"])
        .arg(dir.path().join("he"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("2 problems, 2/4 samples passed; pass@1 50.0%, pass@2 100.0%")
    );

    let items = dir.path().join("items.jsonl");
    std::fs::write(
        &items,
        "{\"dependency\": \"Python\", \"new_version\": \"==3.11\", \"description\": \"d\", \"update_info\": \"u\", \
         \"old_code\": \"x = 1\", \"new_code\": \"x = 2\"}\n",
    )
    .unwrap();
    let out = recode()
        .args(["eval", "migrate"])
        .arg(&items)
        .args(["--reference", "--python", &python(), "--out"])
        .arg(dir.path().join("mig"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 samples: EM 100.0%, ES 1.000, ES* 2.000, syntax-valid 100.0%"),
        "{}",
        text(&out)
    );
    let completions = dir.path().join("completions.jsonl");
    std::fs::write(&completions, "{\"completion\": \"no answer\"}\n{\"completion\": \"extra\"}\n").unwrap();
    let out = recode()
        .args(["eval", "migrate"])
        .arg(&items)
        .arg("--completions")
        .arg(&completions)
        .args(["--python", &python(), "--out"])
        .arg(dir.path().join("mig2"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 completions for 1 items"), "{}", text(&out));
}

/// The real benchmark (a few items of each package) in the evaluation venv.
#[test]
fn real_benchmark_sample_in_the_eval_env() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/CodeUpdateArena/arena.jsonl");
    let data = std::env::var_os("RECODE_CUA_DATA").map(PathBuf::from).unwrap_or(data);
    let env = std::env::var_os("RECODE_EVAL_ENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/recode/eval-env")));
    let Some(env) = env.filter(|e| e.join("bin/python").exists()) else {
        eprintln!("SKIPPED real_benchmark_sample_in_the_eval_env: no evaluation venv (run scripts/setup-eval-env)");
        return;
    };
    if !data.exists() {
        eprintln!("SKIPPED real_benchmark_sample_in_the_eval_env: {} not found (set RECODE_CUA_DATA)", data.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = recode()
        .args(["eval", "cua"])
        .arg(&data)
        .args(["--reference", "--limit", "30", "--jobs", "2", "--env"])
        .arg(&env)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let report = json(&dir.path().join("report.json"));
    let pass = report["overall"]["pass_at"]["pass@1"].as_f64().unwrap();
    assert!(pass >= 0.9, "reference pass@1 {pass}: {}", text(&out));
    assert!(report["environment"]["packages"]["numpy"].is_string());
}
