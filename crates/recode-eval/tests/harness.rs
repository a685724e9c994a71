//! The harnesses on tiny fixtures (stdlib-only programs, so the system `python3` serves), in
//! both execution modes, with reference, scripted and hostile candidates.
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::OnceLock;
use std::time::Duration;

use recode_data::prompt::Message;
use recode_eval::cua::{Candidates, CuaConfig, CuaHarness, CuaProgress, ItemResult};
use recode_eval::env::EnvInfo;
use recode_eval::humaneval::{self, HumanEvalCandidates};
use recode_generate::{Completion, GenerateError, Generator, SamplingParams};
use recode_sandbox::{Executor, ForkServer, ForkServerConfig, Limits, Sandbox};

fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let out = std::process::Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .expect("python3 on PATH");
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        })
        .clone()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn limits() -> Limits {
    Limits { wall: Duration::from_secs(3), processes: Some(64), address_space: Some(2 << 30), ..Limits::default() }
}

fn executors(root: &Path) -> Vec<Box<dyn Executor>> {
    let sandbox = Sandbox::new().with_limits(limits()).with_temp_root(root);
    vec![
        Box::new(sandbox.clone()),
        Box::new(ForkServer::start(sandbox, ForkServerConfig::new(python()).preload("json")).unwrap()),
    ]
}

fn no_files_left(root: &Path) {
    let left: Vec<_> = std::fs::read_dir(root).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "{left:?}");
}

fn answer(code: &str) -> String {
    format!("\nthinking\n</think>\n<answer>\n```python\n{code}\n```\n</answer>")
}

/// Answers by problem text, recording the prompts and the sampling.
struct Scripted {
    answers: Vec<(&'static str, Vec<String>)>,
    calls: Mutex<usize>,
}

impl Generator for Scripted {
    fn describe(&self) -> String {
        "scripted".into()
    }
    fn generate(
        &self,
        prompts: &[Vec<Message>],
        params: &SamplingParams,
    ) -> Result<Vec<Vec<Completion>>, GenerateError> {
        *self.calls.lock().unwrap() += 1;
        Ok(prompts
            .iter()
            .map(|p| {
                let user = &p[1].content;
                let answers = &self.answers.iter().find(|(key, _)| user.contains(key)).expect("known problem").1;
                assert!(p[2].content.ends_with("<think>"), "zero-shot prefill");
                (0..params.n)
                    .map(|i| Completion { text: answers[i % answers.len()].clone(), truncated: false })
                    .collect()
            })
            .collect())
    }
}

#[test]
fn reference_self_check_in_both_modes() {
    let root = tempfile::tempdir().unwrap();
    let arena = recode_cua::load(fixture("arena-tiny.jsonl")).unwrap();
    let environment = EnvInfo::probe(&python()).unwrap();
    for executor in executors(root.path()) {
        let harness =
            CuaHarness { executor: executor.as_ref(), interpreter: python(), environment: environment.clone() };
        let config = CuaConfig { jobs: 2, limits: limits(), ..CuaConfig::new() };
        let report = harness
            .run(&arena.items, Candidates::Reference, &config, None, serde_json::json!({}), &mut |_| {})
            .unwrap();
        let by_id = |suffix: &str| report.items.iter().find(|i| i.item_id.ends_with(suffix)).unwrap();
        let sine = &by_id("[update-0]:[prog_syn-0]");
        assert_eq!(sine.package, "math");
        let s = &sine.samples[0];
        assert!(s.pass && s.upass == Some(true), "rename: passes, and fails without the update: {s:?}");
        assert_eq!(s.with_update.tests.len(), 2);
        assert_eq!(s.without_update.as_ref().unwrap().tests[0].class, "AttributeError");
        let legacy = &report
            .items
            .iter()
            .find(|i| i.item_id.ends_with("sqrt]:[add-argument-default_value(s)]:[update-0]:[prog_syn-1]"))
            .unwrap()
            .samples[0];
        assert!(legacy.pass && legacy.upass == Some(false), "passes without the update too: not UPass");
        let broken = &report.items.iter().find(|i| i.item_id.ends_with("[prog_syn-2]")).unwrap().samples[0];
        assert!(!broken.pass);
        assert_eq!(broken.class, "AssertionError");
        assert_eq!(broken.with_update.tests.len(), 1, "stops at the first failing test");
        assert_eq!(broken.without_update, None);
        assert_eq!(report.overall.items, 4);
        assert_eq!(report.overall.pass_at["pass@1"], 0.75);
        assert_eq!(report.overall.upass_at["upass@1"], 0.5);
        assert!(!report.overall.pass_at.contains_key("pass@5"), "k above n is left out");
        assert_eq!(report.by_update_type["modify-function-name"].pass_at["pass@1"], 1.0);
        assert_eq!(report.classes["ok"], 3);
        assert_eq!(report.failures.len(), 1);
        assert!(report.to_markdown().contains("| **all** | 4 | 75.0 | 50.0 |"), "{}", report.to_markdown());
        no_files_left(root.path());
    }
}

#[test]
fn generated_candidates_pass_at_k_and_resume() {
    let root = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let results = out.path().join("results.jsonl");
    let arena = recode_cua::load(fixture("arena-tiny.jsonl")).unwrap();
    let generator = Scripted {
        answers: vec![
            (
                "Compute sines.",
                vec![
                    answer("def sines(xs: list) -> list:\n    return [math.sine(x) for x in xs]"),
                    "no code at all".to_string(),
                    answer("def sines(xs: list) -> list:\n    return [math.sin(x) for x in xs]"),
                    answer("def sines(xs:\n    return"),
                    answer("def sines(xs: list) -> list:\n    while True:\n        pass"),
                ],
            ),
            ("Double roots.", vec![answer("def double_root(x: float) -> float:\n    return math.sqrt(x, scale=2.0)")]),
            ("Double roots without", vec![answer("def double_root(x):\n    import os\n    os._exit(4)")]),
            ("A reference that fails.", vec![answer("def double_root(x):\n    raise KeyError(x)")]),
        ],
        calls: Mutex::new(0),
    };
    let sandbox = Sandbox::new().with_limits(limits()).with_temp_root(root.path());
    let server = ForkServer::start(sandbox, ForkServerConfig::new(python())).unwrap();
    let harness =
        CuaHarness { executor: &server, interpreter: python(), environment: EnvInfo::probe(&python()).unwrap() };
    let config = CuaConfig {
        n: 5,
        ks: vec![1, 2, 5],
        jobs: 2,
        generation_batch: 2,
        limits: Limits { wall: Duration::from_secs(2), ..limits() },
        ..CuaConfig::new()
    };
    let mut events = Vec::new();
    let report = harness
        .run(
            &arena.items,
            Candidates::Generator(&generator),
            &config,
            Some(&results),
            serde_json::json!({}),
            &mut |p| events.push(format!("{p:?}")),
        )
        .unwrap();
    assert_eq!(*generator.calls.lock().unwrap(), 2, "batches of 2 items");
    let sine = &report.items[0];
    let classes: Vec<&str> = sine.samples.iter().map(|s| s.class.as_str()).collect();
    assert_eq!(classes, ["ok", "NoCode", "AttributeError", "SyntaxError", "Timeout"]);
    assert!(sine.samples[0].answer.is_some());
    // pass@1 over items: sine 1/5, sqrt 5/5, legacy 0 (Exit(4)), broken 0.
    let p1 = report.overall.pass_at["pass@1"];
    assert!((p1 - (0.2 + 1.0) / 4.0).abs() < 1e-9, "{p1}");
    // pass@2 for sine: 1 − C(4,2)/C(5,2) = 0.4.
    assert!((report.overall.pass_at["pass@2"] - (0.4 + 1.0) / 4.0).abs() < 1e-6);
    assert!((report.overall.pass_at["pass@5"] - 0.5).abs() < 1e-9);
    assert_eq!(report.items[2].samples[0].class, "Exit(4)");
    assert_eq!(report.items[3].samples[0].class, "KeyError");
    assert_eq!(report.classes["Timeout"], 1);
    assert_eq!(std::fs::read_to_string(&results).unwrap().lines().count(), 4);

    // Resume: an interrupted file (last line cut) runs only the missing items again.
    let text = std::fs::read_to_string(&results).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = format!("{}\n{}\n{}", lines[0], lines[1], &lines[2][..lines[2].len() / 2]);
    std::fs::write(&results, cut).unwrap();
    let again = harness
        .run(
            &arena.items,
            Candidates::Generator(&generator),
            &config,
            Some(&results),
            serde_json::json!({}),
            &mut |p| {
                if let CuaProgress::Resumed { done, dropped, .. } = p {
                    assert_eq!((done, dropped), (2, 1));
                }
            },
        )
        .unwrap();
    assert_eq!(again.resumed_items, 2);
    assert_eq!(*generator.calls.lock().unwrap(), 3, "one more batch for the two missing items");
    assert_eq!(again.overall, report.overall);
    let reread: Vec<ItemResult> =
        std::fs::read_to_string(&results).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(reread.len(), 4);
    // Another key (n changed): nothing is reused.
    let other = CuaConfig { n: 1, ..config.clone() };
    let third = harness
        .run(
            &arena.items,
            Candidates::Generator(&generator),
            &other,
            Some(&results),
            serde_json::json!({}),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(third.resumed_items, 0);
    // A malformed line in the middle is an error naming the line.
    std::fs::write(&results, "{\"not\": \"a result\"}\n\n").unwrap();
    let err = harness
        .run(&arena.items, Candidates::Reference, &config, Some(&results), serde_json::json!({}), &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().starts_with(&format!("{}:1: <record>:", results.display())), "{err}");
    no_files_left(root.path());
}

#[test]
fn humaneval_prompt_opens_the_assistant_turn() {
    let problems = humaneval::load_problems(&fixture("humaneval-tiny.jsonl.gz")).unwrap();
    let text = recode_data::prompt::render_chatml(&humaneval::messages(&problems[0]));
    assert!(text.starts_with("<|im_start|>system\nYou are a helpful code assistant.<|im_end|>\n<|im_start|>user\n"));
    assert!(text.contains(&problems[0].prompt));
    assert!(text.ends_with("```\n<|im_end|>\n<|im_start|>assistant\n"), "{text}");
}

#[test]
fn humaneval_reference_and_samples() {
    let root = tempfile::tempdir().unwrap();
    let problems = humaneval::load_problems(&fixture("humaneval-tiny.jsonl.gz")).unwrap();
    assert_eq!(problems.len(), 2);
    let env = EnvInfo::probe(&python()).unwrap();
    let sandbox =
        Sandbox::new().with_limits(Limits { wall: Duration::from_secs(2), ..limits() }).with_temp_root(root.path());
    let server = ForkServer::start(sandbox.clone(), ForkServerConfig::new(python())).unwrap();
    let report = humaneval::run(
        &problems,
        "tiny",
        HumanEvalCandidates::Reference,
        &[1],
        &server,
        &python(),
        env.clone(),
        sandbox.limits(),
        2,
        None,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(report.overall.pass_at["pass@1"], 1.0);
    let samples = humaneval::load_samples(&fixture("samples-tiny.jsonl")).unwrap();
    let report = humaneval::run(
        &problems,
        "tiny",
        HumanEvalCandidates::Samples(samples),
        &[1, 2],
        &server,
        &python(),
        env,
        sandbox.limits(),
        2,
        None,
        &mut |_, _| {},
    )
    .unwrap();
    let classes: Vec<&str> = report.problems.iter().flat_map(|p| p.samples.iter().map(|s| s.class.as_str())).collect();
    assert_eq!(report.overall.pass_at["pass@1"], 0.5, "{report:#?}");
    assert_eq!(report.overall.pass_at["pass@2"], 1.0);
    assert_eq!(classes, ["ok", "AssertionError", "ok", "Timeout"]);
    // Answers from a model's reply.
    let p = &problems[1];
    let full = humaneval::answer_from_reply(p, &answer("import math\ndef root(x):\n    return math.sqrt(x)"));
    assert!(
        matches!(&full, Some(humaneval::Answer::Solution(s)) if s.starts_with(&p.prompt) && s.contains("    pass\n"))
    );
    assert!(matches!(humaneval::answer_from_reply(p, &answer("    return 3")), Some(humaneval::Answer::Completion(_))));
    assert_eq!(humaneval::answer_from_reply(p, "no block"), None);
    // Malformed files name the line.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"task_id\": \"a\", \"prompt\": 1}\n").unwrap();
    let err = humaneval::load_problems(&bad).unwrap_err().to_string();
    assert_eq!(err, format!("{}:1: prompt: expected a string, found a number", bad.display()));
    no_files_left(root.path());
}

#[test]
fn migration_metrics() {
    use recode_eval::migrate;
    let item: recode_data::Item = serde_json::from_value(serde_json::json!({
        "id": "x", "dependency": "Python", "new_version": "==3.11", "description": "d", "update_info": "u",
        "old_code": "import math\nx = math.floor(2.5)", "new_code": "import math\nx = math.floor(2.5)",
        "check": "assert x == 2", "new_env": "py"
    }))
    .unwrap();
    // An environments directory whose `py` is the system python.
    let envs = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(envs.path().join("py/bin")).unwrap();
    std::os::unix::fs::symlink(python(), envs.path().join("py/bin/python")).unwrap();
    let completions = vec![vec![
        migrate::reference_completion(&item),
        answer("import math\nx = math.floor(2.5)  # same after normalisation"),
        answer("import math\nx = math.ceil(2.5)"),
        answer("import math\nx = math.floor(2.5"),
        "nothing".to_string(),
    ]];
    let root = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::new().with_limits(limits()).with_temp_root(root.path());
    let report = migrate::evaluate(
        &[item],
        &completions,
        vec!["t".into()],
        "test".into(),
        recode_rewards::Mode::Parity,
        &sandbox,
        &limits(),
        Some(envs.path()),
        2,
        &mut |_, _| {},
    )
    .unwrap();
    let s = &report.scores;
    assert_eq!(s.iter().map(|s| s.em).collect::<Vec<_>>(), [true, true, false, false, false]);
    assert_eq!(s.iter().map(|s| s.syntax_valid).collect::<Vec<_>>(), [true, true, true, false, false]);
    assert_eq!(s[0].es, 1.0);
    assert_eq!(s[0].es_star, 2.0);
    assert!(s[2].es > 0.8 && s[2].es < 1.0);
    let exec: Vec<&str> = s.iter().map(|s| s.exec.as_ref().unwrap().class.as_str()).collect();
    assert_eq!(exec, ["ok", "ok", "AssertionError", "SyntaxError", "NoCode"]);
    assert_eq!(report.overall.em_rate, 0.4);
    assert_eq!(report.overall.syntax_valid_rate, 0.6);
    assert_eq!(report.overall.exec_pass_rate, Some(0.4));
    assert!(report.to_markdown().contains("| **all** | 5 | 40.0 % |"));
    no_files_left(root.path());
}
