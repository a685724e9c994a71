//! Loading (both layouts, errors), prompts and program building.

use std::collections::BTreeMap;
use std::path::Path;

use recode_cua::{
    Filter, Layout, LoadError, UpdateType, Variant, build_program, build_programs, enforce_statement, load, parse_str,
    zero_shot_prompt,
};

const ARENA: &str = "../../../shared/data/CodeUpdateArena/arena.jsonl";
const TINY: &str = "tests/fixtures/ungrouped-tiny.jsonl";

/// The real benchmark file, or `None` (with a printed note) when shared/ is absent.
fn real_arena() -> Option<recode_cua::Arena> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(ARENA);
    if !path.exists() {
        println!("SKIPPED: {} not found (shared/ data absent); real-data checks not run", path.display());
        return None;
    }
    Some(load(&path).expect("arena.jsonl loads"))
}

#[test]
fn loads_real_grouped_file() {
    let Some(arena) = real_arena() else { return };
    assert_eq!(arena.layouts.len(), 1);
    assert_eq!(arena.layouts[0].1, Some(Layout::Grouped));
    assert_eq!(arena.updates.len(), 141);
    assert_eq!(arena.items.len(), 577);
    let tests: usize = arena.items.iter().map(|i| i.unit_tests.len()).sum();
    assert_eq!(tests, 3611);
    let mut per_package: BTreeMap<&str, usize> = BTreeMap::new();
    for item in &arena.items {
        *per_package.entry(item.package()).or_default() += 1;
    }
    let expected: BTreeMap<&str, usize> =
        [("math", 182), ("numpy", 141), ("torch", 106), ("re", 91), ("itertools", 45), ("sympy", 12)].into();
    assert_eq!(per_package, expected);
    let types: std::collections::BTreeSet<_> = arena.updates.iter().map(|u| u.update_type.clone()).collect();
    assert_eq!(types.len(), 16);
    assert!(types.iter().all(|t| !matches!(t, UpdateType::Other(_))));

    let first = &arena.items[0];
    assert_eq!(first.item_id, "[math.sin]:[modify-output-semantics]:[update-0]:[prog_syn-0]");
    assert_eq!(first.update_id(), "[math.sin]:[modify-output-semantics]:[update-0]");
    assert_eq!(first.update.imports[3], "old_sin = math.sin");
    assert_eq!(first.source.1, 1);
}

#[test]
fn filters() {
    let Some(arena) = real_arena() else { return };
    let re = arena.filter(&Filter { packages: vec!["re".into()], ..Filter::default() });
    assert_eq!((re.updates.len(), re.items.len()), (23, 91));
    let one_update = arena.filter(&Filter {
        update_ids: vec!["[math.sin]:[modify-output-semantics]:[update-0]".into()],
        ..Filter::default()
    });
    assert_eq!(one_update.updates.len(), 1);
    assert!(one_update.items.iter().all(|i| i.update_id() == "[math.sin]:[modify-output-semantics]:[update-0]"));
    let id = "[math.sin]:[modify-output-semantics]:[update-0]:[prog_syn-0]";
    let one = arena.filter(&Filter { item_ids: vec![id.into()], ..Filter::default() });
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.items[0].item_id, id);
    let none = arena.filter(&Filter { packages: vec!["re".into()], item_ids: vec![id.into()], ..Filter::default() });
    assert!(none.items.is_empty() && none.updates.is_empty());
    let renames = arena.filter(&Filter { update_types: vec!["modify-function-name".into()], ..Filter::default() });
    assert_eq!(renames.updates.len(), 15);
}

#[test]
fn enforce_statement_of_each_update_type() {
    let Some(arena) = real_arena() else { return };
    // The first update of each type in file order, and its exact statement.
    let expected: BTreeMap<&str, &str> = [
        ("add-argument", "math.radians = radians"),
        ("add-argument-data_type", "math.radians = radians"),
        ("add-argument-default_value(s)", "math.pow = pow"),
        ("add-argument-semantics", "math.sin = sin"),
        ("add-argument-supported_value(s)", "math.radians = radians"),
        ("add-function", "setattr(math, 'multicomb', multicomb)"),
        ("add-output-data_type", "math.sin = sin"),
        ("add-output-semantics", "math.degrees = degrees"),
        ("modify-argument-data_type", "math.log = log"),
        ("modify-argument-default_value(s)", "re.match = match"),
        ("modify-argument-name", "numpy.arange = arange"),
        ("modify-argument-semantics", "numpy.cross = cross"),
        ("modify-argument-supported_value(s)", "numpy.mean = mean"),
        ("modify-function-name", "del math.sin\nsetattr(math, 'sine', sine)"),
        ("modify-output-data_type", "math.pow = pow"),
        ("modify-output-semantics", "math.sin = sin"),
    ]
    .into();
    let mut first: BTreeMap<&str, String> = BTreeMap::new();
    for update in &arena.updates {
        let statement = enforce_statement(update).expect("enforce statement");
        first.entry(update.update_type.as_str()).or_insert(statement);
    }
    let first: BTreeMap<&str, &str> = first.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(first, expected);

    // Nested paths and the other renames / added function.
    let by_id = |id: &str| enforce_statement(arena.update(id).expect(id)).unwrap();
    assert_eq!(by_id("[torch.Tensor.view]:[add-argument]:[update-0]"), "torch.Tensor.view = view");
    let statements: Vec<String> = arena.updates.iter().map(|u| enforce_statement(u).unwrap()).collect();
    assert!(statements.contains(&"setattr(re, 'sub_multi', sub_multi)".to_string()));
    assert!(statements.contains(&"del torch.stack\nsetattr(torch, 'stack_tensors', stack_tensors)".to_string()));
    assert!(
        statements
            .contains(&"del itertools.product\nsetattr(itertools, 'cartesian_product', cartesian_product)".into())
    );
}

/// Every item's first unit test with its reference solution builds into a program that
/// parses (both variants).
#[test]
fn every_reference_program_parses() {
    let Some(arena) = real_arena() else { return };
    let mut checked = 0;
    for item in &arena.items {
        for variant in [Variant::WithUpdate, Variant::WithoutUpdate] {
            let program = build_program(item, &item.unit_tests[0], &item.ref_solution, variant)
                .unwrap_or_else(|e| panic!("{}: {e}", item.item_id));
            assert!(
                recode_python::parses_as_module(&program),
                "{} ({variant:?}) does not parse:\n{program}",
                item.item_id
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 577);
    // All tests of all items build.
    for item in &arena.items {
        assert_eq!(build_programs(item, &item.ref_solution, Variant::WithUpdate).unwrap().len(), item.unit_tests.len());
    }
}

/// Joining the grouped file's tests with "\n\n" (as the later layout does) and splitting them
/// again gives the same tests.
#[test]
fn joined_tests_split_back() {
    let Some(arena) = real_arena() else { return };
    for item in &arena.items {
        let joined = item.unit_tests.join("\n\n");
        let split = recode_cua::split_unit_tests(&joined);
        let original: Vec<&str> = item.unit_tests.iter().map(|t| t.trim_end()).collect();
        let again: Vec<&str> = split.iter().map(|t| t.trim_end()).collect();
        assert_eq!(again, original, "{}", item.item_id);
    }
}

#[test]
fn zero_shot_prompt_of_real_item() {
    let Some(arena) = real_arena() else { return };
    let prompt = zero_shot_prompt(&arena.items[0]);
    assert!(prompt.starts_with("<|im_start|>system\nYou are a helpful code assistant."));
    assert!(prompt.contains(
        "<|im_start|>user\nUpdate Note: There's an recent update to a function math.sin \u{2013} Update the math.sin"
    ));
    assert!(prompt.contains("\nSolution Signature: def calculate_sine_values(degrees_list: List[int]) -> List[Tuple[float, float]]:\n\nShow your work"));
    assert!(prompt.ends_with("<|im_start|>assistant\nLet me solve this step by step.\n<think>"));
}

fn tiny() -> recode_cua::Arena {
    load(Path::new(env!("CARGO_MANIFEST_DIR")).join(TINY)).expect("fixture loads")
}

#[test]
fn loads_ungrouped_fixture() {
    let arena = tiny();
    assert_eq!(arena.layouts[0].1, Some(Layout::Ungrouped));
    assert_eq!(arena.updates.len(), 2);
    assert_eq!(arena.items.len(), 3);
    // The two lines of one update share one copy.
    assert!(std::sync::Arc::ptr_eq(&arena.items[0].update, &arena.items[1].update));
    let rename = &arena.items[0].update;
    assert_eq!(rename.update_type, UpdateType::ModifyFunctionName);
    assert_eq!(rename.imports, ["import math", "old_sin = math.sin", "setattr(math, 'old_sin', old_sin)"]);
    assert_eq!(
        rename.unit_tests,
        [
            "def test_sine_zero():\n    assert math.sine(0) == 0\n",
            "def test_sine_pi():\n    # blank line inside\n\n    assert abs(math.sine(math.pi)) < 1e-9\n",
        ]
    );
    let item = &arena.items[0];
    assert_eq!(
        item.unit_tests,
        [
            "def test_zero_sine_a():\n    assert zero_sine(0.0) == 0.0\n",
            "# second test\ndef test_zero_sine_b():\n    result = zero_sine(1.0)\n\n    assert isinstance(result, float)\n",
        ]
    );
    // The flat line: update fields at the top level, item imports in prog_syn_imports.
    let flat = &arena.items[2];
    assert_eq!(flat.update.update_type, UpdateType::AddArgument);
    assert!(flat.update.unit_tests.is_empty());
    assert_eq!(flat.unit_tests.len(), 1);
    assert_eq!(flat.imports.last().unwrap(), "import random");
    assert_eq!(flat.update.rationale, "");
}

#[test]
fn exact_programs_for_fixture() {
    let arena = tiny();
    let item = &arena.items[0];
    let candidate = "import math\n\ndef zero_sine(x: float) -> float:\n    return math.sine(0.0) * x";
    let with = build_program(item, &item.unit_tests[1], candidate, Variant::WithUpdate).unwrap();
    assert_eq!(
        with,
        "import math\nold_sin = math.sin\nsetattr(math, 'old_sin', old_sin)\n\
         \n\
         def sine(x):\n    return old_sin(x)\n\
         \n\
         del math.sin\nsetattr(math, 'sine', sine)\n\
         \n\
         import math\n\ndef zero_sine(x: float) -> float:\n    return math.sine(0.0) * x\n\
         \n\
         # second test\ndef test_zero_sine_b():\n    result = zero_sine(1.0)\n\n    assert isinstance(result, float)\n\
         \n\
         test_zero_sine_b()\n"
    );
    let without = build_program(item, &item.unit_tests[0], candidate, Variant::WithoutUpdate).unwrap();
    assert_eq!(
        without,
        "import math\nold_sin = math.sin\nsetattr(math, 'old_sin', old_sin)\n\
         \n\
         import math\n\ndef zero_sine(x: float) -> float:\n    return math.sine(0.0) * x\n\
         \n\
         def test_zero_sine_a():\n    assert zero_sine(0.0) == 0.0\n\
         \n\
         test_zero_sine_a()\n"
    );
    // Item import lines that the update does not have are kept (after the candidate).
    let flat = &arena.items[2];
    let program =
        build_program(flat, &flat.unit_tests[0], "def cos_deg(a):\n    return 0.5", Variant::WithUpdate).unwrap();
    assert!(
        program.contains("math.cos = cos\n\ndef cos_deg(a):\n    return 0.5\n\nimport random\n\ndef test_cos_deg():")
    );
    assert_eq!(program.matches("old_cos = math.cos").count(), 1);
    assert!(recode_python::parses_as_module(&program));
}

fn error_of(text: &str) -> String {
    match parse_str(text, "bench.jsonl") {
        Err(e @ LoadError::Line { .. }) => e.to_string(),
        other => panic!("expected a line error, got {other:?}"),
    }
}

fn tiny_line(n: usize) -> serde_json::Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(TINY)).unwrap();
    serde_json::from_str(text.lines().nth(n).unwrap()).unwrap()
}

#[test]
fn malformed_lines() {
    assert_eq!(error_of("\n{not json\n"), "bench.jsonl:2: <json>: key must be a string at line 1 column 2");
    assert_eq!(error_of("[1]"), "bench.jsonl:1: <record>: expected a JSON object, found an array");
    assert_eq!(
        error_of("{\"x\": 1}"),
        "bench.jsonl:1: <record>: neither `prog_syn_examples` (grouped layout) nor `prog_syn_id` (ungrouped layout)"
    );

    let good = tiny_line(0).to_string();
    let mut v = tiny_line(1);
    v["update"]["implementation"] = serde_json::json!(3);
    assert_eq!(
        error_of(&format!("{good}\n{v}")),
        "bench.jsonl:2: update.implementation: expected a string, found a number"
    );
    let mut v = tiny_line(0);
    v["update"].as_object_mut().unwrap().remove("function_path");
    assert_eq!(error_of(&v.to_string()), "bench.jsonl:1: update.function_path: missing");
    let mut v = tiny_line(0);
    v["unit_tests"] = serde_json::json!(["def test_a():\n    pass\n", 7]);
    assert_eq!(error_of(&v.to_string()), "bench.jsonl:1: unit_tests[1]: expected a string, found a number");
    let mut v = tiny_line(0);
    v["update_id"] = serde_json::json!("[other]");
    assert!(
        error_of(&v.to_string()).starts_with("bench.jsonl:1: update_id: \"[other]\" differs from update.update_id")
    );
    let mut v = tiny_line(0);
    v["unit_tests"] = serde_json::json!("   ");
    assert_eq!(error_of(&v.to_string()), "bench.jsonl:1: unit_tests: no unit tests");
    // Duplicate item ids.
    assert_eq!(
        error_of(&format!("{good}\n\n{good}")),
        "bench.jsonl:3: prog_syn_id: duplicate id \"[math.sin]:[modify-function-name]:[update-0]:[prog_syn-0]\" (first at bench.jsonl:1)"
    );
    // Grouped: errors name the example.
    let grouped = serde_json::json!({
        "update": tiny_line(0)["update"],
        "prog_syn_examples": [{"scenario": "s", "problem": "p", "solution_signature": "def f():",
            "unit_tests": ["def test_f():\n    pass\n"], "imports": ["import math"], "ref_solution": "",
            "prog_syn_id": "[math.sin]:[modify-function-name]:[update-0]:[prog_syn-0]"},
            {"scenario": "s", "problem": "p", "solution_signature": "def f():",
            "unit_tests": ["def test_f():\n    pass\n"], "imports": {"a": 1}, "ref_solution": "",
            "prog_syn_id": "[math.sin]:[modify-function-name]:[update-0]:[prog_syn-1]"}]
    });
    assert_eq!(
        error_of(&grouped.to_string()),
        "bench.jsonl:1: prog_syn_examples[1].imports: expected a string or an array of strings, found an object"
    );
    // Layouts cannot be mixed within a file.
    assert_eq!(
        error_of(&format!("{good}\n{grouped}")),
        "bench.jsonl:2: <record>: a grouped line in a file detected as ungrouped from line 1"
    );
    // An id that does not belong to its update.
    let mut v = tiny_line(0);
    v["prog_syn_id"] = serde_json::json!("[math.cos]:[x]:[update-0]:[prog_syn-0]");
    assert!(error_of(&v.to_string()).starts_with("bench.jsonl:1: prog_syn_id: \"[math.cos]"));
    // Missing file.
    assert!(matches!(load("/nonexistent/arena.jsonl"), Err(LoadError::Io { .. })));
}

#[test]
fn unknown_update_type_loads_but_has_no_enforce_statement() {
    let mut v = tiny_line(0);
    v["update"]["update_type"] = serde_json::json!("make-it-faster");
    let arena = parse_str(&v.to_string(), "x.jsonl").unwrap();
    assert_eq!(arena.items[0].update.update_type, UpdateType::Other("make-it-faster".into()));
    let err = enforce_statement(&arena.items[0].update).unwrap_err();
    assert_eq!(
        err.to_string(),
        "update [math.sin]:[modify-function-name]:[update-0]: unknown update type \"make-it-faster\""
    );
}
