//! Validation reports every problem, as `FILE:LINE: field: message`.
use recode_data::{LINE_FIELD, validate_bytes, validate_file, validate_files, validate_sources};

const GOOD: &str = r#"{"id":"np-1","dependency":"Numpy","new_version":"==2.2.0","description":"d","update_info":"u","old_code":"x = 1","new_code":"y = 1"}"#;

#[test]
fn a_good_file_has_no_problems() {
    let other = GOOD.replace("np-1", "np-2").replace(r#""update_info":"u""#, r#""update_info":"another update""#);
    let text = format!("{GOOD}\n{other}\n");
    let report = validate_bytes("good.jsonl", text.as_bytes());
    assert_eq!(report.problems, vec![]);
    assert_eq!((report.lines, report.items), (2, 2));
    assert!(report.is_ok());
    // No final newline, CRLF, unknown fields, null optional fields: all fine.
    let text = format!("{}\r\n{}", GOOD.replace("}", r#","extra":[1,2],"source":null}"#), other);
    let report = validate_bytes("good.jsonl", text.as_bytes());
    assert_eq!(report.problems, vec![]);
    assert_eq!(report.items, 2);
}

#[test]
fn every_problem_is_reported() {
    let lines = [
        /* 1 */ GOOD.to_string(),
        /* 2 */ String::new(),
        /* 3 */ "   \t".to_string(),
        /* 4 */ "{not json".to_string(),
        /* 5 */ "[1, 2]".to_string(),
        /* 6 */ r#"{"dependency":"Numpy"}"#.to_string(),
        /* 7 */ GOOD.replace(r#""new_version":"==2.2.0""#, r#""new_version":2.2"#)
            .replace(r#""id":"np-1""#, r#""id":7"#),
        /* 8 */ GOOD.replace("==2.2.0", "2.2.0").replace("np-1", "np-8"),
        /* 9 */ GOOD.replace(r#""x = 1""#, r#""  \n\t""#).replace("np-1", "np-9"),
        /* 10 */ GOOD.replace(r#""y = 1""#, r#""def (:""#).replace("np-1", "np-10"),
        /* 11 */ GOOD.replace(r#""y = 1""#, r#""x = 1""#).replace("np-1", "np-11"),
        /* 12 */ GOOD.to_string(),
        /* 13 */ GOOD
            .replace(r#""Numpy""#, r#""  ""#)
            .replace(r#""update_info":"u""#, r#""update_info":"""#)
            .replace("np-1", "np-13"),
        /* 14 */ GOOD.replace(r#""np-1""#, r#"" ""#),
        /* 15 */ GOOD.replace("np-1", "np-15")
            .replace("}", r#","validation":"yes","update_type":false}"#)
            .replace(r#""d""#, r#"{"a":1}"#),
        /* 16 */ r#"{"id":"np-16","dependency":"Numpy","new_version":"==2.2.0","update_info":"u","old_code":"x = 1","new_code":"y = 1"}"#.to_string(),
        /* 17 */ GOOD.replace("np-1", "np-12"),
        /* 18 */ "null".to_string(),
    ];
    let mut bytes = lines.join("\n").into_bytes();
    bytes.extend_from_slice(b"\n{\"a\": \"\xff\xfe\"}\n"); // 19: invalid UTF-8
    bytes.extend_from_slice(GOOD.replace("np-1", "np-20").as_bytes()); // 20: no final newline
    let report = validate_bytes("bad.jsonl", &bytes);
    let shown: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    let expected = [
        "bad.jsonl:2: <line>: empty line",
        "bad.jsonl:3: <line>: empty line",
        "bad.jsonl:4: <line>: invalid JSON at column 2: key must be a string",
        "bad.jsonl:5: <line>: expected a JSON object, found an array",
        "bad.jsonl:6: new_version: missing",
        "bad.jsonl:6: description: missing",
        "bad.jsonl:6: update_info: missing",
        "bad.jsonl:6: old_code: missing",
        "bad.jsonl:6: new_code: missing",
        "bad.jsonl:7: new_version: expected a string, found a number",
        "bad.jsonl:7: id: expected a string or null, found a number",
        "bad.jsonl:8: new_version: not of the form ==X[.Y...] with numeric parts and an optional aN/bN/rcN, .postN, .devN suffix (got \"2.2.0\")",
        "bad.jsonl:8: old_code: near-duplicate of line 1 (same update, code similarity 1.00)",
        "bad.jsonl:9: old_code: empty (no code, only white space)",
        "bad.jsonl:10: new_code: does not parse as Python (CPython 3.11 ast.parse)",
        "bad.jsonl:10: old_code: near-duplicate of line 1 (same update, code similarity 1.00)",
        "bad.jsonl:11: new_code: identical to old_code",
        "bad.jsonl:12: id: duplicate \"np-1\" (first on line 1)",
        "bad.jsonl:12: old_code: near-duplicate of line 1 (same update, code similarity 1.00)",
        "bad.jsonl:13: dependency: blank",
        "bad.jsonl:13: update_info: blank",
        "bad.jsonl:14: id: blank",
        "bad.jsonl:14: old_code: near-duplicate of line 1 (same update, code similarity 1.00)",
        "bad.jsonl:15: description: expected a string, found an object",
        "bad.jsonl:15: update_type: expected a string or null, found a boolean",
        "bad.jsonl:15: validation: expected an object or null, found a string",
        "bad.jsonl:16: description: missing",
        "bad.jsonl:17: old_code: near-duplicate of line 1 (same update, code similarity 1.00)",
        "bad.jsonl:18: <line>: expected a JSON object, found null",
        "bad.jsonl:19: <line>: invalid UTF-8 at byte offset 7 of the line",
        "bad.jsonl:20: old_code: near-duplicate of line 1 (same update, code similarity 1.00)",
    ];
    assert_eq!(shown, expected);
    assert_eq!(report.lines, 20);
    // Lines 1, 8-14 and 17, 20 are structurally complete items.
    assert_eq!(report.items, 10);
    assert!(report.problems.iter().any(|p| p.field == LINE_FIELD));
}

#[test]
fn byte_order_mark_is_named() {
    let text = format!("\u{feff}{GOOD}\n");
    let report = validate_bytes("bom.jsonl", text.as_bytes());
    assert_eq!(
        report.problems[0].to_string(),
        "bom.jsonl:1: <line>: file starts with a UTF-8 byte-order mark (U+FEFF); remove it"
    );
}

#[test]
fn empty_file_and_lone_newline() {
    assert_eq!(validate_bytes("e", b"").problems, vec![]);
    let report = validate_bytes("e", b"\n");
    assert_eq!(report.problems[0].to_string(), "e:1: <line>: empty line");
}

#[test]
fn version_forms() {
    for (version, ok) in [
        ("==1.0", true),
        ("==0.13.2", true),
        ("==2.0.0rc1", true),
        ("==1.5.post1", true),
        ("==2.2", true),
        ("==v2.2", false),
        (">=2.2", false),
        ("==2.2 ", false),
        ("==", false),
    ] {
        let text = GOOD.replace("==2.2.0", version);
        let report = validate_bytes("v", text.as_bytes());
        assert_eq!(report.is_ok(), ok, "{version}: {:?}", report.problems);
    }
}

#[test]
fn missing_file_is_an_error() {
    let err = validate_file(std::path::Path::new("/nonexistent/dir/x.jsonl")).unwrap_err();
    assert!(err.to_string().starts_with("cannot read /nonexistent/dir/x.jsonl: "), "{err}");
}

// ---------------------------------------------------------------- near-duplicates

const FLOAT_INFO: &str = "The np.float_ alias has been removed in NumPy 2.0. Use np.float64 instead.";

const SCALE_OLD: &str = "import numpy as np

readings = np.array([12, 40, 7, 33], dtype=np.int32)
SCALE = 0.25

def to_float(values):
    scaled = values.astype(np.float_) * SCALE
    return scaled.round(2)

result = to_float(readings)
print(\"Scaled:\", result)
";

/// One JSON line of an item.
fn item(id: &str, dependency: &str, version: &str, info: &str, old: &str, new: &str) -> String {
    serde_json::json!({
        "id": id,
        "dependency": dependency,
        "new_version": version,
        "description": "d",
        "update_info": info,
        "old_code": old,
        "new_code": new,
    })
    .to_string()
}

fn float_item(id: &str, old: &str) -> String {
    item(id, "Numpy", "==2.0.0", FLOAT_INFO, old, &old.replace("np.float_", "np.float64"))
}

fn shown(file: &str, lines: &[String]) -> Vec<String> {
    let text = lines.join("\n");
    let report = validate_bytes(file, text.as_bytes());
    report.problems.iter().map(|p| p.to_string()).collect()
}

#[test]
fn a_near_duplicate_is_flagged_naming_the_first_line() {
    // The same program re-saved: a variable renamed, re-indented, a blank line dropped, and
    // the update text reworded.
    let copy = SCALE_OLD.replace("readings", "counts").replace("    ", "  ").replace("\n\nresult", "\nresult");
    let reworded = "np.float_ was removed in NumPy 2.0; use np.float64 instead.";
    let lines = [
        float_item("np-a", SCALE_OLD),
        item(
            "np-b",
            "Numpy",
            "==2.0.0",
            "np.product was removed; use np.prod.",
            "import numpy as np\nprint(np.product([1, 2]))",
            "import numpy as np\nprint(np.prod([1, 2]))",
        ),
        item("np-c", "Numpy", "==2.0.0", reworded, &copy, &copy.replace("np.float_", "np.float64")),
        float_item("np-d", SCALE_OLD),
    ];
    assert_eq!(
        shown("train.jsonl", &lines),
        [
            "train.jsonl:3: old_code: near-duplicate of line 1 (same update, code similarity 0.94)",
            "train.jsonl:4: old_code: near-duplicate of line 1 (same update, code similarity 1.00)",
        ]
    );
}

#[test]
fn the_same_update_with_a_different_program_is_not_flagged() {
    let other = "import numpy as np

def mean_ratio(a, b):
    a = np.asarray(a, dtype=np.float_)
    b = np.asarray(b, dtype=np.float_)
    return float(np.mean(a / b))

print(mean_ratio([1, 2, 3], [2, 4, 6]))
";
    // A program of the same shape with other data, names and arithmetic: still distinct.
    let sibling = "import numpy as np

temperatures = np.array([21, 19, 25, 30, 18], dtype=np.int64)
OFFSET = 273.15

def to_kelvin(celsius):
    kelvin = celsius.astype(np.float_) + OFFSET
    return kelvin.round(1)

print(\"Kelvin:\", to_kelvin(temperatures))
";
    let lines = [float_item("np-a", SCALE_OLD), float_item("np-b", other), float_item("np-c", sibling)];
    assert_eq!(shown("train.jsonl", &lines), Vec::<String>::new());
}

#[test]
fn different_updates_with_similar_code_are_not_flagged() {
    let complex_old = SCALE_OLD.replace("np.float_", "np.complex_");
    let lines = [
        float_item("np-a", SCALE_OLD),
        // A sibling update of the same release with a templated text (similarity ≥ 0.6) and
        // the same program: a different migration (np.complex_ → np.complex128).
        item(
            "np-b",
            "Numpy",
            "==2.0.0",
            "The np.complex_ alias has been removed in NumPy 2.0. Use np.complex128 instead.",
            &complex_old,
            &complex_old.replace("np.complex_", "np.complex128"),
        ),
        // An unrelated update whose program differs from the first in one call.
        item(
            "np-c",
            "Numpy",
            "==2.0.0",
            "np.round_ is deprecated; use np.round.",
            &SCALE_OLD.replace("scaled.round(2)", "np.round_(scaled, 2)"),
            &SCALE_OLD.replace("scaled.round(2)", "np.round(scaled, 2)"),
        ),
        // A templated text of another release: different versions need similarity ≥ 0.9.
        item(
            "np-d",
            "Numpy",
            "==1.20.0",
            "The np.float alias has been deprecated in NumPy 1.20. Use float instead.",
            &SCALE_OLD.replace("np.float_", "np.float"),
            &SCALE_OLD.replace("np.float_", "float"),
        ),
        // The same update and program of another library.
        item("jx-e", "JAX", "==2.0.0", FLOAT_INFO, SCALE_OLD, &SCALE_OLD.replace("np.float_", "np.float64")),
    ];
    assert_eq!(shown("train.jsonl", &lines), Vec::<String>::new());
}

#[test]
fn a_copy_relabelled_with_another_version_is_flagged() {
    let lines = [
        float_item("np-a", SCALE_OLD),
        item("np-b", "numpy ", "==1.25.0", FLOAT_INFO, SCALE_OLD, &SCALE_OLD.replace("np.float_", "np.float64")),
    ];
    assert_eq!(shown("t", &lines), ["t:2: old_code: near-duplicate of line 1 (same update, code similarity 1.00)"]);
}

#[test]
fn the_most_similar_earlier_item_is_named() {
    let edited = SCALE_OLD.replace("[12, 40, 7, 33]", "[12, 40, 7, 34]");
    let lines = [
        float_item("np-a", &SCALE_OLD.replace("readings", "xs")),
        float_item("np-b", SCALE_OLD),
        float_item("np-c", &edited),
    ];
    assert_eq!(
        shown("t", &lines),
        [
            "t:2: old_code: near-duplicate of line 1 (same update, code similarity 0.93)",
            "t:3: old_code: near-duplicate of line 2 (same update, code similarity 0.99)",
        ]
    );
}

#[test]
fn near_duplicates_across_files_name_the_other_file() {
    let first = format!("{}\n", float_item("np-a", SCALE_OLD));
    let second = format!(
        "{}\n{}\n",
        item(
            "np-x",
            "Numpy",
            "==2.0.0",
            "np.product was removed; use np.prod.",
            "import numpy as np\nprint(np.product([1, 2]))",
            "import numpy as np\nprint(np.prod([1, 2]))"
        ),
        float_item("np-b", &SCALE_OLD.replace("SCALE", "FACTOR"))
    );
    let reports = validate_sources(&[("a.jsonl", first.as_bytes()), ("b.jsonl", second.as_bytes())]);
    assert_eq!(reports.len(), 2);
    assert!(reports[0].is_ok());
    let shown: Vec<String> = reports[1].problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(shown, ["b.jsonl:2: old_code: near-duplicate of a.jsonl:1 (same update, code similarity 0.95)"]);
    // Each file alone has no near-duplicate.
    assert!(validate_bytes("b.jsonl", second.as_bytes()).is_ok());

    // validate_files reads the files and keeps an unreadable one's error in its place.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.jsonl"), &first).unwrap();
    std::fs::write(dir.path().join("b.jsonl"), &second).unwrap();
    let paths = [dir.path().join("a.jsonl"), dir.path().join("missing.jsonl"), dir.path().join("b.jsonl")];
    let results = validate_files(&paths);
    assert_eq!(results.len(), 3);
    assert!(results[0].as_ref().unwrap().is_ok());
    assert!(results[1].is_err());
    let problems = &results[2].as_ref().unwrap().problems;
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].message,
        format!("near-duplicate of {}:1 (same update, code similarity 0.95)", paths[0].display())
    );
}
