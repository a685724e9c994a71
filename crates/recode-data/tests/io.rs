//! Reading strictly, writing atomically, carrying unknown fields.
use recode_data::{DataError, Item, parse_jsonl, read_jsonl, write_jsonl};

const LINE: &str = r#"{"dependency":"Numpy","new_version":"==2.2.0","description":"d","update_info":"u","old_code":"x = 1","new_code":"y = 1","zeta":{"k":[1,2.5,null]},"id":"a","validation":{"rule":"ast","ok":true},"alpha":"é"}"#;

#[test]
fn round_trip_keeps_unknown_fields() {
    let items = parse_jsonl("in.jsonl", format!("{LINE}\n").as_bytes()).unwrap();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item.id.as_deref(), Some("a"));
    assert_eq!(item.validation_rule(), Some("ast"));
    assert_eq!(item.version(), "2.2.0");
    assert_eq!(item.extra.keys().collect::<Vec<_>>(), ["zeta", "alpha"], "unknown fields in input order");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.jsonl");
    write_jsonl(&path, &items).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "{\"id\":\"a\",\"dependency\":\"Numpy\",\"new_version\":\"==2.2.0\",\"description\":\"d\",\"update_info\":\"u\",\"old_code\":\"x = 1\",\"new_code\":\"y = 1\",\"validation\":{\"rule\":\"ast\",\"ok\":true},\"zeta\":{\"k\":[1,2.5,null]},\"alpha\":\"é\"}\n"
    );
    assert_eq!(read_jsonl(&path).unwrap(), items);
    // Only the output file is left in the directory (no temporary file).
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["out.jsonl"]);
    // Serde's own derive agrees with the strict reader.
    let via_serde: Item = serde_json::from_str(LINE).unwrap();
    assert_eq!(via_serde, items[0]);
}

#[test]
fn overwrite_replaces_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.jsonl");
    std::fs::write(&path, "old content that is much longer than the new one\n".repeat(100)).unwrap();
    write_jsonl(&path, &[]).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
}

#[test]
fn write_failure_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    // The target is a non-empty directory: nothing can replace it.
    let target = dir.path().join("sub");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), "x").unwrap();
    let items = parse_jsonl("in", LINE.as_bytes()).unwrap();
    let err = write_jsonl(&target, &items).unwrap_err();
    assert!(matches!(err, DataError::Io { op: "write", .. }), "{err}");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["sub"]);
    // A directory that does not exist.
    let err = write_jsonl(&dir.path().join("no/such/dir/x.jsonl"), &items).unwrap_err();
    assert!(err.to_string().starts_with("cannot write "), "{err}");
}

#[test]
fn strict_reading_names_the_first_problem() {
    let text = format!("{LINE}\n\n{{\"dependency\": 1}}\n");
    let err = parse_jsonl("in.jsonl", text.as_bytes()).unwrap_err();
    assert_eq!(err.to_string(), "in.jsonl:2: <line>: empty line");
    let text = format!("{LINE}\n{{\"dependency\": 1}}\n");
    let err = parse_jsonl("in.jsonl", text.as_bytes()).unwrap_err();
    assert_eq!(err.to_string(), "in.jsonl:2: dependency: expected a string, found a number");
    // Content problems are not checked when reading.
    let text = LINE.replace("==2.2.0", "latest");
    assert_eq!(parse_jsonl("in", text.as_bytes()).unwrap().len(), 1);
    let err = read_jsonl(std::path::Path::new("/no/such/file.jsonl")).unwrap_err();
    assert!(err.to_string().starts_with("cannot read /no/such/file.jsonl: "));
}
