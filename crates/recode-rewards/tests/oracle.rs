//! Golden tests of `recode_rewards::score` against the independent Python oracle
//! (`python/oracle/reward_oracle.py`), on the deterministic cases of
//! `python/oracle/gen_cases.py --seed 7 --n 2500`, in both modes.
//!
//! Needs `python3` (stdlib only) on PATH; fails loudly when it is missing.
//! The cases and the oracle's answers are also written under
//! `CARGO_TARGET_TMPDIR/oracle/` for diagnosis.

use recode_rewards::{Mode, ReferenceRaises, Scores, score};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const SEED: u64 = 7;
const N: usize = 2500;

/// `RECODE_ORACLE_SEED` / `RECODE_ORACLE_N` override the case set (exploration only).
fn seed_and_n() -> (u64, usize) {
    let get = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
    (get("RECODE_ORACLE_SEED").unwrap_or(SEED), get("RECODE_ORACLE_N").map(|n: u64| n as usize).unwrap_or(N))
}
const TOL: f64 = 1e-12;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

fn python() -> String {
    std::env::var("RECODE_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn run_python(args: &[&str], stdin: Option<Vec<u8>>) -> Vec<u8> {
    let py = python();
    let mut child = Command::new(&py)
        .args(args)
        .current_dir(repo_root())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{py}` ({e}): the oracle tests need CPython 3.11 as python3 on PATH (or set RECODE_PYTHON)"
            )
        });
    let writer = stdin.map(|data| {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            pipe.write_all(&data).expect("write to python stdin");
        })
    });
    let out = child.wait_with_output().expect("wait for python");
    if let Some(w) = writer {
        w.join().unwrap();
    }
    assert!(
        out.status.success(),
        "`{py} {}` failed ({}):\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn jsonl(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .expect("utf-8 from python")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json line from python"))
        .collect()
}

struct Case {
    id: String,
    kind: String,
    completion: String,
    target: String,
}

fn raises_name(r: Option<ReferenceRaises>) -> &'static str {
    match r {
        None => "null",
        Some(ReferenceRaises::ZeroDivisionError) => "ZeroDivisionError",
        Some(ReferenceRaises::TooDeeplyNested) => "TooDeeplyNested",
    }
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= TOL
}

fn clip(s: &str) -> String {
    let s: String = s.chars().take(160).collect();
    format!("{s:?}")
}

/// Compare one case; `None` when it matches, else a one-line description.
fn compare(got: &std::thread::Result<Scores>, want: &Value) -> Option<String> {
    let f = |k: &str| want[k].as_f64().unwrap_or_else(|| panic!("oracle field {k} missing"));
    let want_raises = want["raises"].as_str().unwrap_or("null");
    let got = match got {
        Ok(s) => s,
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return Some(format!("score() panicked: {}", clip(&msg)));
        }
    };
    let mut diffs = Vec::new();
    for (name, g, w) in [
        ("format", got.format, f("format")),
        ("em_star", got.em_star, f("em_star")),
        ("es_star", got.es_star, f("es_star")),
        ("total", got.total, f("total")),
    ] {
        if !close(g, w) {
            diffs.push(format!("{name}: rust {g:?} oracle {w:?}"));
        }
    }
    if raises_name(got.reference_raises) != want_raises {
        diffs.push(format!("raises: rust {} oracle {want_raises}", raises_name(got.reference_raises)));
    }
    if diffs.is_empty() { None } else { Some(diffs.join("; ")) }
}

#[test]
fn rust_scores_match_python_oracle() {
    let t0 = std::time::Instant::now();
    let root = repo_root();
    let gen_path = root.join("python/oracle/gen_cases.py");
    let oracle_path = root.join("python/oracle/reward_oracle.py");
    let (seed, n) = seed_and_n();
    let cases_raw = run_python(&[gen_path.to_str().unwrap(), "--seed", &seed.to_string(), "--n", &n.to_string()], None);
    // The two oracle runs in parallel.
    let (parity_raw, fixed_raw) = std::thread::scope(|s| {
        let p = s.spawn(|| run_python(&[oracle_path.to_str().unwrap(), "--mode", "parity"], Some(cases_raw.clone())));
        let f = s.spawn(|| run_python(&[oracle_path.to_str().unwrap(), "--mode", "fixed"], Some(cases_raw.clone())));
        (p.join().unwrap(), f.join().unwrap())
    });
    let dump = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oracle");
    let _ = std::fs::create_dir_all(&dump);
    let _ = std::fs::write(dump.join("cases.jsonl"), &cases_raw);
    let _ = std::fs::write(dump.join("expected-parity.jsonl"), &parity_raw);
    let _ = std::fs::write(dump.join("expected-fixed.jsonl"), &fixed_raw);

    let cases: Vec<Case> = jsonl(&cases_raw)
        .into_iter()
        .map(|v| Case {
            id: v["id"].as_str().unwrap().to_string(),
            kind: v["kind"].as_str().unwrap().to_string(),
            completion: v["completion"].as_str().unwrap().to_string(),
            target: v["target"].as_str().unwrap().to_string(),
        })
        .collect();
    assert_eq!(cases.len(), n, "gen_cases.py produced {} cases", cases.len());
    let t_py = t0.elapsed();

    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &cases {
        *per_kind.entry(c.kind.as_str()).or_default() += 1;
    }

    // score() may still be todo!(): catch panics so the report shows them, quietly.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    // (mode, kind) -> (count, first examples)
    let mut mismatches: BTreeMap<(String, String), (usize, Vec<String>)> = BTreeMap::new();
    let mut total_bad = 0usize;
    for (mode_name, mode, raw) in [("parity", Mode::Parity, &parity_raw), ("fixed", Mode::Fixed, &fixed_raw)] {
        let expected = jsonl(raw);
        assert_eq!(
            expected.len(),
            cases.len(),
            "oracle ({mode_name}) answered {} of {} cases",
            expected.len(),
            cases.len()
        );
        for (case, want) in cases.iter().zip(&expected) {
            assert_eq!(want["id"].as_str(), Some(case.id.as_str()), "oracle output out of order");
            let got = std::panic::catch_unwind(|| score(&case.completion, &case.target, mode));
            if let Some(diff) = compare(&got, want) {
                total_bad += 1;
                let entry = mismatches.entry((mode_name.to_string(), case.kind.clone())).or_default();
                entry.0 += 1;
                if entry.1.len() < 5 {
                    let mut line = format!("    {}: {diff}", case.id);
                    if !want["fixed_untokenizable"].as_bool().unwrap_or(false) {
                        line += &format!(
                            "\n      oracle norm_completion {}\n      oracle norm_target     {}",
                            want["norm_completion"].as_str().map(clip).unwrap_or_else(|| "null".into()),
                            want["norm_target"].as_str().map(clip).unwrap_or_else(|| "null".into()),
                        );
                    } else {
                        line += "\n      (fixed_untokenizable: normalised text not compared)";
                    }
                    entry.1.push(line);
                }
            }
        }
    }
    std::panic::set_hook(hook);

    println!("oracle cases per kind ({} cases, seed {seed}):", cases.len());
    for (kind, n) in &per_kind {
        println!("  {kind:<24} {n}");
    }
    println!("python (generate + both oracle runs): {:.1?}; total {:.1?}", t_py, t0.elapsed());
    if total_bad > 0 {
        println!("\n{total_bad} mismatches of {} scored cases; by mode and kind (first 5 each):", 2 * cases.len());
        for ((mode, kind), (n, examples)) in &mismatches {
            println!("  [{mode}] {kind}: {n} of {}", per_kind[kind.as_str()]);
            for e in examples {
                println!("{e}");
            }
        }
        println!("\ncases and oracle answers: {}", dump.display());
        panic!("{total_bad} mismatches between recode_rewards::score and the python oracle (see report above)");
    }
}
