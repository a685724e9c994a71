//! `recode migrate` end to end against a scripted OpenAI-compatible server on 127.0.0.1 (the
//! model's text is beside the point here: the server renames `trapz` to `trapezoid` in the
//! prompt's old code, like a model that does the obvious).
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

fn recode() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recode"))
}

/// Serves `/v1/completions`: the answer renames trapz in the prompt's old code. Returns the
/// base URL. The server thread lives as long as the test process.
fn scripted_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || serve(stream));
        }
    });
    url
}

fn serve(mut stream: std::net::TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let prompt = request["prompt"].as_str().unwrap();
    let start = prompt.find("```python\n").unwrap() + "```python\n".len();
    let end = prompt.rfind("\n```\n\nShow your work").unwrap();
    let new = prompt[start..end].replace("trapz", "trapezoid");
    let text = format!(" trapz was renamed to trapezoid.\n</think>\n<answer>\n```python\n{new}\n```\n</answer>");
    let response = serde_json::json!({"choices": [{"text": text, "finish_reason": "stop"}]}).to_string();
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{response}",
        response.len()
    );
}

const SOURCE: &str = "import numpy as np\n\n\ndef area(y):\n    return np.trapz(y)\n";
const NOTE: &str = "np.trapz is deprecated in NumPy 2.0; use np.trapezoid.";

fn migrate(dir: &Path, url: &str, extra: &[&str]) -> std::process::Output {
    recode()
        .current_dir(dir)
        .args(["migrate", ".", "--library", "numpy", "--to-version", "2.0.0", "--update-info", NOTE])
        .args(["--endpoint", url, "--model", "scripted"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn diff_by_default_write_writes_and_a_second_run_finds_nothing() {
    let url = scripted_server();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("calc.py"), SOURCE).unwrap();
    std::fs::write(dir.path().join("other.py"), "print('no numpy here')\n").unwrap();

    let out = migrate(dir.path(), &url, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "--- a/./calc.py\n+++ b/./calc.py\n@@ -2,4 +2,4 @@\n \n \n def area(y):\n-    return np.trapz(y)\n+    return np.trapezoid(y)\n"
    );
    assert!(stderr.contains("2 files scanned, 1 units found, 1 changed"), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path().join("calc.py")).unwrap(), SOURCE, "nothing written by default");

    let out = migrate(dir.path(), &url, &["--check"]);
    assert_eq!(out.status.code(), Some(1), "--check with pending changes");

    let out = migrate(dir.path(), &url, &["--write"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(dir.path().join("calc.py")).unwrap(), SOURCE.replace("trapz", "trapezoid"));

    let out = migrate(dir.path(), &url, &["--check"]);
    assert_eq!(out.status.code(), Some(0), "nothing left after --write: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 units found"));
}

#[test]
fn json_records_and_bad_files_are_reported_while_others_are_processed() {
    let url = scripted_server();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.py"), SOURCE).unwrap();
    std::fs::write(dir.path().join("broken.py"), "import numpy as np\ndef f(:\n").unwrap();
    std::fs::write(dir.path().join("latin1.py"), b"import numpy\nx = '\xe9'\n").unwrap();
    let out = migrate(dir.path(), &url, &["--json"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("broken.py: error: not valid Python: line 2, column 7"), "{stderr}");
    assert!(stderr.contains("latin1.py: error: not a Python source file: invalid UTF-8 at byte 18"), "{stderr}");
    let records: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let unit = records.iter().find(|r| r["file"] == "./a.py").unwrap();
    assert_eq!(unit["status"], "changed");
    assert_eq!(unit["kind"], "function");
    assert_eq!(unit["name"], "area");
    assert_eq!((unit["start_line"].as_u64(), unit["end_line"].as_u64()), (Some(4), Some(5)));
    assert_eq!(unit["old"], "def area(y):\n    return np.trapz(y)");
    assert_eq!(unit["new"], "def area(y):\n    return np.trapezoid(y)");
    assert_eq!(unit["explanation"], "trapz was renamed to trapezoid.");
    assert_eq!(unit["matched"], serde_json::json!(["numpy.trapz"]));
    assert_eq!(records.iter().filter(|r| r["status"] == "error").count(), 2);
}

#[test]
fn verify_runs_the_command_on_a_copy_and_blocks_failing_writes() {
    let url = scripted_server();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("calc.py"), SOURCE).unwrap();
    // A "test suite" that demands the new name (passes) or the old one (fails).
    let pass = "grep -q trapezoid calc.py";
    let out = migrate(dir.path(), &url, &["--write", "--verify", pass]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("verify ./calc.py: passed"), "{stderr}");
    assert!(std::fs::read_to_string(dir.path().join("calc.py")).unwrap().contains("trapezoid"));

    std::fs::write(dir.path().join("calc.py"), SOURCE).unwrap();
    let out = migrate(dir.path(), &url, &["--write", "--verify", "grep -q 'np.trapz(' calc.py"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("verify ./calc.py: FAILED"), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path().join("calc.py")).unwrap(), SOURCE, "not written");
}

#[test]
fn usage_errors_are_precise() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.py"), SOURCE).unwrap();
    let run = |args: &[&str]| {
        let out = recode().current_dir(dir.path()).arg("migrate").args(args).output().unwrap();
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    };
    let base = ["a.py", "--to-version", "2.0.0", "--update-info", NOTE];
    let (code, err) = run(&[&base[..], &["--library", "my-lib", "--endpoint", "http://x", "--model", "m"]].concat());
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown library `my-lib`"), "{err}");
    let (code, err) = run(&[&base[..], &["--library", "numpy", "--model", "/no/such/model"]].concat());
    assert_eq!(code, Some(2));
    assert!(err.contains("model not found: /no/such/model"), "{err}");
    let (code, err) = run(&[&base[..], &["--library", "numpy", "--model", "."]].concat());
    assert_eq!(code, Some(2));
    assert!(err.contains("not a model: a directory without config.json"), "{err}");
    let (code, err) = run(&[&base[..], &["--library", "numpy"]].concat());
    assert_eq!(code, Some(2));
    assert!(err.contains("a model is needed"), "{err}");
    std::fs::write(dir.path().join("u.txt"), "apis: [numpy.trapz, pandas.concat]\n---\nnote\n").unwrap();
    let (code, err) = run(&[
        "a.py",
        "--to-version",
        "2",
        "--library",
        "numpy",
        "--update-file",
        "u.txt",
        "--endpoint",
        "http://x",
        "--model",
        "m",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("u.txt:1: `pandas.concat` is not a name of library `numpy`"), "{err}");
}

#[test]
fn an_endpoint_that_is_down_fails_each_file_with_the_url() {
    // A port nobody listens on: bind, read the port, close.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.py"), SOURCE).unwrap();
    std::fs::write(dir.path().join("b.py"), "import numpy\nnumpy.trapz([1])\n").unwrap();
    let out = migrate(dir.path(), &format!("http://127.0.0.1:{port}"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.matches("error: generation failed: endpoint").count(), 2, "{stderr}");
    assert!(out.stdout.is_empty());
}
