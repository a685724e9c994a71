//! Validation reports every problem, as `FILE:LINE: field: message`.
use recode_data::{LINE_FIELD, validate_bytes, validate_file};

const GOOD: &str = r#"{"id":"np-1","dependency":"Numpy","new_version":"==2.2.0","description":"d","update_info":"u","old_code":"x = 1","new_code":"y = 1"}"#;

#[test]
fn a_good_file_has_no_problems() {
    let other = GOOD
        .replace("np-1", "np-2")
        .replace(r#""update_info":"u""#, r#""update_info":"another update""#);
    let text = format!("{GOOD}\n{other}\n");
    let report = validate_bytes("good.jsonl", text.as_bytes());
    assert_eq!(report.problems, vec![]);
    assert_eq!((report.lines, report.items), (2, 2));
    assert!(report.is_ok());
    // No final newline, CRLF, unknown fields, null optional fields: all fine.
    let text = format!(
        "{}\r\n{}",
        GOOD.replace("}", r#","extra":[1,2],"source":null}"#),
        other
    );
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
        "bad.jsonl:11: old_code: near-duplicate of line 1 (same update, code similarity 1.00)",
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
    assert!(
        err.to_string()
            .starts_with("cannot read /nonexistent/dir/x.jsonl: "),
        "{err}"
    );
}
