//! `recode data validate` reports near-duplicates (same update, nearly the same program).
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data")
}

#[test]
fn validate_reports_near_duplicates() {
    // Line 1 and 2: two programs of one update; line 3: the first program for a sibling
    // update (np.complex_); line 4: line 1 with a variable renamed and the update reworded;
    // line 5: line 2 re-indented and dated by another release.
    let out = Command::new(env!("CARGO_BIN_EXE_recode"))
        .args(["data", "validate", "near_dup.jsonl"])
        .current_dir(fixtures())
        .output()
        .expect("run recode");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        "\
near_dup.jsonl:4: old_code: near-duplicate of line 1 (same update, code similarity 0.94)
near_dup.jsonl:5: old_code: near-duplicate of line 2 (same update, code similarity 1.00)
5 items, 2 problems in 1 file
"
    );
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "");
    assert_eq!(out.status.code(), Some(1));
}
