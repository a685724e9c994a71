//! Opt-in: `recode migrate` end to end with the real default model (ignored by default):
//!
//! ```text
//! recode model fetch
//! cargo test --release -p recode-cli --test migrate_real_model -- --ignored --nocapture
//! ```
//! `RECODE_MODEL=PATH` picks another Hugging Face directory or GGUF file.
use std::path::PathBuf;
use std::process::Command;

const SOURCE: &str = r#""""Signal helpers."""
import numpy as np


def area(samples, spacing=1.0):
    # integrate with the trapezoid rule
    return np.trapz(samples, dx=spacing)


def peak(samples):
    return float(np.max(samples))
"#;
// Greedy decoding makes the run deterministic. With a vaguer note ("… use numpy.trapezoid, which
// takes the same arguments") the untrained 0.5B model answers with the unit unchanged.
const NOTE: &str = "numpy.trapz was removed in NumPy 2.0. Use numpy.trapezoid instead: numpy.trapz(y, dx=1.0) \
                    becomes numpy.trapezoid(y, dx=1.0).";

fn model_path() -> PathBuf {
    let path = std::env::var_os("RECODE_MODEL").map(PathBuf::from).unwrap_or_else(recode_weights::default_model_path);
    assert!(path.exists(), "{} not found: run `recode model fetch` (or set RECODE_MODEL)", path.display());
    path
}

fn migrate(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_recode"))
        .current_dir(dir)
        .args(["migrate", ".", "--library", "numpy", "--to-version", "2.0.0", "--update-info", NOTE])
        .arg("--model")
        .arg(model_path())
        .args(["--max-new-tokens", "512"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs the real model (recode model fetch); about a minute on 2 cores"]
fn the_default_model_migrates_a_small_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signal.py");
    std::fs::write(&file, SOURCE).unwrap();
    let started = std::time::Instant::now();
    let out = migrate(dir.path(), &["--json", "--write"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}\n{:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let records: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let units: Vec<&serde_json::Value> = records.iter().filter(|r| r.get("name").is_some()).collect();
    assert_eq!(units.len(), 1, "only `area` uses numpy.trapz: {records:?}");
    assert_eq!(units[0]["name"], "area");
    eprintln!("new unit:\n{}", units[0]["new"].as_str().unwrap_or_default());
    assert_eq!(units[0]["status"], "changed", "{:?}", units[0]);

    let migrated = std::fs::read_to_string(&file).unwrap();
    assert!(migrated.contains("np.trapezoid(") && !migrated.contains("trapz("), "{migrated}");
    // Everything outside the unit is kept byte for byte.
    let unit_start = SOURCE.find("def area").unwrap();
    let unit_end = SOURCE.find("\n\n\ndef peak").unwrap();
    assert!(migrated.starts_with(&SOURCE[..unit_start]), "{migrated}");
    assert!(migrated.ends_with(&SOURCE[unit_end..]), "{migrated}");
    let parsed = Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(parsed.status.success(), "the migrated file parses: {migrated}");

    // Idempotence with the real model: nothing is left to migrate.
    let again = migrate(dir.path(), &["--check"]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), migrated);
}
