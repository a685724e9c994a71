//! `recode data check --exec` on fake environments.
//!
//! A fake environment is a minimal venv made by hand: `bin/python` is a symlink to the real
//! system interpreter and `pyvenv.cfg` makes Python treat the directory as a venv, so the
//! fake library in its `lib/pythonX.Y/site-packages/` is importable there and nowhere else —
//! the same mechanism as the real environments of `scripts/setup-data-envs`. `mylib-2` has the
//! new API (`new_name`, `total`, `clip`, a deprecated `legacy_total`), `mylib-1` the old one.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check")
}

struct Python {
    executable: PathBuf,
    short_version: String,
    version: String,
}

/// The real interpreter behind `python3` (not a shim script such as pyenv's).
fn python() -> &'static Python {
    static PYTHON: OnceLock<Python> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("python3")
            .args([
                "-c",
                "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2]); \
                 print(sys.version.split()[0])",
            ])
            .output()
            .expect("python3 on PATH");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines = text.lines();
        Python {
            executable: PathBuf::from(lines.next().unwrap()),
            short_version: lines.next().unwrap().to_string(),
            version: lines.next().unwrap().to_string(),
        }
    })
}

/// Creates `envs/NAME` with the fake library of `fixtures/check/MODULE_DIR` at `version`.
fn fake_env(envs: &Path, name: &str, module_dir: &str, version: &str) {
    let py = python();
    let env = envs.join(name);
    std::fs::create_dir_all(env.join("bin")).unwrap();
    std::os::unix::fs::symlink(&py.executable, env.join("bin/python")).unwrap();
    std::fs::write(
        env.join("pyvenv.cfg"),
        format!(
            "home = {}\ninclude-system-site-packages = false\nversion = {}\n",
            py.executable.parent().unwrap().display(),
            py.version
        ),
    )
    .unwrap();
    let site = env.join(format!("lib/python{}/site-packages", py.short_version));
    std::fs::create_dir_all(&site).unwrap();
    std::fs::copy(fixtures().join(module_dir).join("mylib.py"), site.join("mylib.py")).unwrap();
    let stamp = serde_json::json!({
        "name": name,
        "packages": [format!("mylib=={version}")],
        "versions": {"mylib": version, "pip": "24.0"},
    });
    std::fs::write(env.join("recode-env.json"), stamp.to_string()).unwrap();
}

/// A temporary directory with `envs/mylib-1` and `envs/mylib-2`.
fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let envs = tmp.path().join("envs");
    fake_env(&envs, "mylib-1", "mylib-1", "1.0");
    fake_env(&envs, "mylib-2", "mylib-2", "2.0");
    tmp
}

fn recode(dir: &Path, args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_recode"));
    command.args(args).current_dir(dir);
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().expect("run recode")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn item<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["items"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap_or_else(|| panic!("no item {id}"))
}

fn reason(report: &Value, id: &str) -> String {
    item(report, id)["reason"].as_str().unwrap_or("").to_string()
}

#[test]
fn every_rule() {
    let tmp = setup();
    let dir = tmp.path();
    let items = fixtures().join("items.jsonl");
    let out = recode(
        dir,
        &[
            "data",
            "check",
            "--exec",
            items.to_str().unwrap(),
            "--envs-dir",
            "envs",
            "--timeout",
            "2",
            "--jobs",
            "2",
            "--report",
            "report.json",
            "--write-validated",
            "validated.jsonl",
        ],
        &[],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("checked 8/8 items, 5 failed"), "{stderr}");
    assert!(stdout.contains("8 checked, 3 valid (new-fails-on-old 1, old-fails-on-new 2), 5 invalid"), "{stdout}");
    assert!(stdout.contains("wrote report.json"), "{stdout}");

    let report = read_json(&dir.join("report.json"));
    let verdict = |id: &str| {
        let i = item(&report, id);
        (i["valid"].as_bool().unwrap(), i["rule"].as_str().map(str::to_string))
    };
    let rule = |r: &str| Some(r.to_string());

    // A rename: the old code fails on the new version with AttributeError.
    assert_eq!(verdict("rename"), (true, rule("old-fails-on-new")));
    let runs = item(&report, "rename")["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["step"], "R0");
    assert_eq!(runs[0]["exit_code"], 0);
    assert_eq!(runs[1]["error_class"], "AttributeError");
    assert!(
        runs[1]["error_line"]
            .as_str()
            .unwrap()
            .starts_with("AttributeError: module 'mylib' has no attribute 'old_name'"),
        "{}",
        runs[1]
    );
    assert!(runs[1]["duration_s"].as_f64().unwrap() > 0.0);

    // A deprecation: the warning is an error on the new version.
    assert_eq!(verdict("deprecation"), (true, rule("old-fails-on-new")));
    let runs = item(&report, "deprecation")["runs"].as_array().unwrap();
    assert_eq!(runs[1]["error_class"], "DeprecationWarning");

    // An addition: the old code still runs on the new version, but the new code fails on
    // the old one.
    assert_eq!(verdict("addition"), (true, rule("new-fails-on-old")));
    let runs = item(&report, "addition")["runs"].as_array().unwrap();
    let steps: Vec<&str> = runs.iter().map(|r| r["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["R0", "old-on-new", "old-check-on-old", "new-check-on-old"]);
    assert_eq!(runs[1]["passed"], false);
    assert_eq!(runs[2]["warnings_as_errors"], false);
    assert_eq!(runs[3]["env"], "mylib-1");
    assert_eq!(runs[3]["error_class"], "AttributeError");

    // The new code fails its own check.
    assert_eq!(verdict("new-code-fails"), (false, None));
    let why = reason(&report, "new-code-fails");
    assert!(why.starts_with("R0: new_code + check failed on `mylib-2`"), "{why}");
    assert!(why.ends_with("AssertionError: got 4"), "{why}");

    // The old code still works and there is no old environment to show it is old.
    assert_eq!(verdict("old-still-works"), (false, None));
    let why = reason(&report, "old-still-works");
    assert!(why.contains("old_code did not fail on `mylib-2`"), "{why}");
    assert!(why.contains("no old_env"), "{why}");

    // An environment that does not exist.
    assert_eq!(verdict("missing-env"), (false, None));
    let why = reason(&report, "missing-env");
    assert!(why.starts_with("environment `mylib-9` does not exist"), "{why}");
    assert!(why.contains("`scripts/setup-data-envs mylib-9`"), "{why}");
    assert_eq!(report["envs"]["mylib-9"]["exists"], false);

    // A program that never ends.
    assert_eq!(verdict("timeout"), (false, None));
    let runs = item(&report, "timeout")["runs"].as_array().unwrap();
    assert_eq!(runs[0]["error_class"], "Timeout");
    assert_eq!(runs[0]["timed_out"], true);
    assert!(reason(&report, "timeout").contains("timed out after 2 s"));

    // No check.
    assert!(reason(&report, "no-check").starts_with("no `check` field"));

    // Environments, summary.
    assert_eq!(report["envs"]["mylib-2"]["versions"]["mylib"], "2.0");
    assert_eq!(report["envs"]["mylib-1"]["packages"][0], "mylib==1.0");
    let summary = &report["summary"];
    assert_eq!(summary["items"], 8);
    assert_eq!(summary["valid"], 3);
    assert_eq!(summary["invalid"], 5);
    assert_eq!(summary["by_library"]["Mylib"]["valid"], 3);
    assert_eq!(summary["by_rule"]["old-fails-on-new"], 2);
    assert_eq!(summary["by_rule"]["new-fails-on-old"], 1);
    assert_eq!(summary["by_rule"]["none"], 5);
    assert_eq!(summary["failures"].as_array().unwrap().len(), 5);
    assert!(summary["network_isolated"].is_boolean());
    assert!(summary["wall_time_s"].as_f64().unwrap() > 0.0);

    // The validated items carry their validation.
    let validated: Vec<Value> = std::fs::read_to_string(dir.join("validated.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = validated.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["rename", "deprecation", "addition"]);
    let v = &validated[2]["validation"];
    assert_eq!(v["rule"], "new-fails-on-old");
    assert_eq!(v["new_env"], "mylib-2");
    assert_eq!(v["old_env"], "mylib-1");
    assert_eq!(v["versions"]["mylib-2"]["mylib"], "2.0");
    assert_eq!(v["versions"]["mylib-1"]["mylib"], "1.0");
    assert_eq!(v["checked"].as_str().unwrap().len(), 10);
    assert_eq!(validated[0]["validation"]["old_env"], Value::Null);
    // Field order: the execution fields come after `source`, `validation` after them.
    let keys: Vec<&String> = validated[2].as_object().unwrap().keys().collect();
    let tail: Vec<&str> = keys[keys.len() - 5..].iter().map(|k| k.as_str()).collect();
    assert_eq!(tail, ["source", "check", "new_env", "old_env", "validation"]);
}

#[test]
fn valid_file_exits_zero_with_default_paths() {
    let tmp = setup();
    let dir = tmp.path();
    std::fs::copy(fixtures().join("valid.jsonl"), dir.join("valid.jsonl")).unwrap();
    // RECODE_HOME locates the environments: $RECODE_HOME/envs.
    let out = recode(dir, &["data", "check", "--exec", "valid.jsonl"], &[("RECODE_HOME", dir)]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let report = read_json(&dir.join("valid.exec-report.json"));
    assert_eq!(report["summary"]["valid"], 3);
    assert_eq!(report["sample"], Value::Null);
}

#[test]
fn samples_are_deterministic() {
    let tmp = setup();
    let dir = tmp.path();
    let items = fixtures().join("items.jsonl");
    let ids = |report: &str| -> Vec<String> {
        let out = recode(
            dir,
            &[
                "data",
                "check",
                "--exec",
                items.to_str().unwrap(),
                "--envs-dir",
                "envs",
                "--sample",
                "3",
                "--seed",
                "11",
                "--timeout",
                "2",
                "--report",
                report,
            ],
            &[],
        );
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
        let report = read_json(&dir.join(report));
        assert_eq!(report["sample"]["n"], 3);
        assert_eq!(report["items_in_file"], 8);
        report["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
    };
    let first = ids("a.json");
    assert_eq!(first.len(), 3);
    assert_eq!(first, ids("b.json"));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let tmp = setup();
    let dir = tmp.path();
    let items = fixtures().join("items.jsonl");
    let out = recode(dir, &["data", "check", items.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("pass --exec"), "{}", text(&out.stderr));

    let out = recode(dir, &["data", "check", "--exec", "missing.jsonl"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.jsonl"), "{}", text(&out.stderr));

    let out = recode(dir, &["data", "check", "--exec", items.to_str().unwrap(), "--timeout", "0"], &[]);
    assert_eq!(out.status.code(), Some(2));

    let out = recode(
        dir,
        &[
            "data",
            "check",
            "--exec",
            items.to_str().unwrap(),
            "--envs-dir",
            "envs",
            "--report",
            "no/such/dir/report.json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no/such/dir/report.json"), "{}", text(&out.stderr));
}
