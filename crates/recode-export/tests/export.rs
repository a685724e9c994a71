//! Export tests: the verl Parquet file is read back with the Rust Parquet reader (always) and
//! with pyarrow (when a Python with pyarrow is available, see `scripts/setup-test-env`); the
//! TRL JSONL is parsed back; failures leave nothing behind.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use recode_data::prompt::{training_messages, training_prompt};
use recode_data::{Item, parse_jsonl};
use recode_export::{
    ExportError, ROW_GROUP_SIZE, TrlRecord, VERL_CHAT_TEMPLATE, export_trl, export_verl, verl_schema,
    write_chat_template,
};
use serde_json::{Value, json};

/// Three items: plain; with every optional field and awkward text (quotes, backticks,
/// non-ASCII, CRLF, tabs, a `<|im_end|>` lookalike); and one without optional fields.
const ITEMS: &str = r#"{"id": "numpy-0001", "dependency": "Numpy", "new_version": "==2.2.0", "description": "Set a ufunc docstring.", "update_info": "_add_newdoc_ufunc is now deprecated. ufunc.__doc__ = newdoc should be used instead.", "old_code": "import numpy as np\nnp._add_newdoc_ufunc(np.add, 'doc')", "new_code": "import numpy as np\nnp.add.__doc__ = 'doc'", "update_type": "deprecation", "source": "https://numpy.org/doc/2.2/release/2.2.0-notes.html"}
{"id": "pandas-0002", "dependency": "Pandas", "new_version": "==2.0.0rc1", "description": "Ünïcödé — “quotes”", "update_info": "Removed `DataFrame.append`; use ```pd.concat``` \"instead\".\r\n\tTabs & <|im_end|> stay verbatim 🐼", "old_code": "df = df.append(row)", "new_code": "df = pd.concat([df, row])", "update_type": "removal", "source": "release notes", "validation": {"rule": "x"}, "extra_field": [1, 2]}
{"dependency": "Scikit-Learn", "new_version": "==1.6", "description": "d", "update_info": "u", "old_code": "a = 1", "new_code": "a = 2"}
"#;

fn items() -> Vec<Item> {
    parse_jsonl("items.jsonl", ITEMS.as_bytes()).unwrap()
}

fn read_parquet(path: &Path) -> (arrow_schema::SchemaRef, Vec<RecordBatch>, Compression) {
    let file = std::fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let compression = builder.metadata().row_group(0).column(0).compression();
    let schema = builder.schema().clone();
    let batches = builder.build().unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    (schema, batches, compression)
}

fn strs(array: &dyn Array) -> Vec<Option<String>> {
    let array: &StringArray = array.as_string::<i32>();
    array.iter().map(|s| s.map(str::to_string)).collect()
}

/// What each row must hold, as JSON (also handed to the pyarrow check).
fn expected_rows(items: &[Item]) -> Value {
    Value::Array(
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                json!({
                    "data_source": format!("recode/{}", item.dependency.to_lowercase()),
                    "messages": training_messages(item),
                    "ground_truth": item.new_code,
                    "extra_info": {
                        "index": index,
                        "id": item.id,
                        "dependency": item.dependency,
                        "new_version": item.new_version,
                        "update_type": item.update_type,
                        "source": item.source,
                    },
                    "rendered": training_prompt(item),
                })
            })
            .collect(),
    )
}

/// Checks one read-back table against `expected_rows`.
fn check_rows(batches: &[RecordBatch], expected: &Value) {
    let expected = expected.as_array().unwrap();
    let mut row = 0;
    for batch in batches {
        let data_source = strs(batch.column_by_name("data_source").unwrap());
        let ability = strs(batch.column_by_name("ability").unwrap());
        let prompt = batch.column_by_name("prompt").unwrap().as_list::<i32>();
        let reward = batch.column_by_name("reward_model").unwrap().as_struct();
        let extra = batch.column_by_name("extra_info").unwrap().as_struct();
        let index = extra.column_by_name("index").unwrap().as_primitive::<Int64Type>();
        for r in 0..batch.num_rows() {
            let want = &expected[row];
            assert_eq!(data_source[r].as_deref(), want["data_source"].as_str(), "row {row}");
            assert_eq!(ability[r].as_deref(), Some("code-migration"), "row {row}");

            let messages = prompt.value(r);
            let messages = messages.as_struct();
            let roles = strs(messages.column_by_name("role").unwrap());
            let contents = strs(messages.column_by_name("content").unwrap());
            let got: Vec<Value> =
                roles.iter().zip(&contents).map(|(role, content)| json!({"role": role, "content": content})).collect();
            assert_eq!(Value::Array(got), want["messages"], "row {row}");

            assert_eq!(strs(reward.column_by_name("style").unwrap())[r].as_deref(), Some("rule"));
            assert_eq!(
                strs(reward.column_by_name("ground_truth").unwrap())[r].as_deref(),
                want["ground_truth"].as_str(),
                "row {row}"
            );

            assert_eq!(index.value(r), want["extra_info"]["index"].as_i64().unwrap());
            for key in ["id", "dependency", "new_version", "update_type", "source"] {
                assert_eq!(
                    strs(extra.column_by_name(key).unwrap())[r].as_deref(),
                    want["extra_info"][key].as_str(),
                    "row {row} extra_info.{key}"
                );
            }
            row += 1;
        }
    }
    assert_eq!(row, expected.len());
}

#[test]
fn verl_parquet_reads_back_in_rust() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("train.parquet");
    let items = items();
    export_verl(&items, &out).unwrap();

    let (schema, batches, compression) = read_parquet(&out);
    assert_eq!(schema.fields(), verl_schema().fields());
    assert_eq!(compression, Compression::SNAPPY);
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["data_source", "prompt", "ability", "reward_model", "extra_info"]);
    check_rows(&batches, &expected_rows(&items));

    // Spot checks written out literally, independent of the helpers above.
    let b = &batches[0];
    assert_eq!(
        strs(b.column(0)),
        [Some("recode/numpy".into()), Some("recode/pandas".into()), Some("recode/scikit-learn".into())]
    );
    let extra = b.column(4).as_struct();
    assert_eq!(strs(extra.column_by_name("id").unwrap())[2], None);
    assert_eq!(strs(extra.column_by_name("update_type").unwrap())[2], None);
    assert_eq!(strs(extra.column_by_name("source").unwrap())[1].as_deref(), Some("release notes"));
    let first = b.column(1).as_list::<i32>().value(0);
    let user = strs(first.as_struct().column(1))[1].clone().unwrap();
    assert!(
        user.starts_with("\nNumpy performed an API update in version 2.2.0, and the update content includes:\n<doc>\n")
    );
    assert!(user.ends_with("```python\nimport numpy as np\nnp._add_newdoc_ufunc(np.add, 'doc')\n```\n\nShow your work in <think> </think> tags. And return the final code in <answer> </answer>, the code within <answer></answer> should be enclosed in ```python ``` tags.\n"));
    assert_eq!(strs(first.as_struct().column(1))[2].as_deref(), Some("Let me solve this step by step.\n<think>"));

    // No temporary file is left next to the output.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, [std::ffi::OsString::from("train.parquet")]);
}

#[test]
fn verl_parquet_spans_row_groups_with_continuous_index() {
    let base = items();
    let n = ROW_GROUP_SIZE + 5;
    let many: Vec<Item> = (0..n)
        .map(|i| {
            let mut item = base[i % base.len()].clone();
            item.id = Some(format!("item-{i}"));
            item
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("many.parquet");
    export_verl(&many, &out).unwrap();
    let file = std::fs::File::open(&out).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    assert_eq!(builder.metadata().num_row_groups(), 2);
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
    check_rows(&batches, &expected_rows(&many));
}

#[test]
fn trl_jsonl_holds_the_exact_prompt_and_target() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("train.jsonl");
    let items = items();
    export_trl(&items, &out).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    for (line, item) in lines.iter().zip(&items) {
        let value: Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        if item.id.is_some() {
            assert_eq!(keys, ["prompt", "target", "id"]);
        } else {
            assert_eq!(keys, ["prompt", "target"]);
        }
        let record: TrlRecord = serde_json::from_value(value).unwrap();
        assert_eq!(record.prompt, training_prompt(item));
        assert_eq!(record.target, item.new_code);
        assert_eq!(record.id, item.id);
    }
    // The exact text of the first prompt (spec §3.1), spelled out.
    let first: TrlRecord = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(
        first.prompt,
        "<|im_start|>system\nYou are a helpful coding assistant. Your task is to transform the old version of the code into the new version specified, based on the update information. You first thinks about the reasoning process in the mind and then provides the solution.<|im_end|>\n\
         <|im_start|>user\n\nNumpy performed an API update in version 2.2.0, and the update content includes:\n<doc>\n_add_newdoc_ufunc is now deprecated. ufunc.__doc__ = newdoc should be used instead.\n</doc>\nThe old version of the code is:\n```python\nimport numpy as np\nnp._add_newdoc_ufunc(np.add, 'doc')\n```\n\nShow your work in <think> </think> tags. And return the final code in <answer> </answer>, the code within <answer></answer> should be enclosed in ```python ``` tags.\n<|im_end|>\n\
         <|im_start|>assistant\nLet me solve this step by step.\n<think>"
    );
    // Non-ASCII is written as UTF-8, not escaped.
    assert!(lines[1].contains("🐼") && lines[1].contains("\\r\\n\\t"));
}

#[test]
fn failures_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    std::fs::write(&out, b"old").unwrap();

    // No items: an error, and the existing file is untouched.
    assert!(matches!(export_verl(&[], &out), Err(ExportError::NoItems)));
    assert!(matches!(export_trl(&[], &out), Err(ExportError::NoItems)));
    assert_eq!(std::fs::read(&out).unwrap(), b"old");

    // Missing parent directory: a precise I/O error naming it; nothing is created.
    let missing = dir.path().join("no/such/dir/out.parquet");
    let err = export_verl(&items(), &missing).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("cannot write {}: ", missing.display())), "{msg}");
    assert!(!dir.path().join("no").exists());

    // The target is a directory: nothing replaces it and no temporary file is left.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("keep"), b"x").unwrap();
    let err = export_trl(&items(), &sub).unwrap_err();
    assert!(err.to_string().starts_with(&format!("cannot write {}: ", sub.display())), "{err}");
    assert!(sub.join("keep").exists());

    // A path without a file name.
    assert!(matches!(export_verl(&items(), Path::new("/")), Err(ExportError::NotAFile(_))));

    let mut left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, [std::ffi::OsString::from("out.parquet"), "sub".into()]);

    // Success replaces the old file.
    export_verl(&items(), &out).unwrap();
    assert_eq!(&std::fs::read(&out).unwrap()[..4], b"PAR1");
}

/// Writes to the real stderr, bypassing the test harness's capture, so the notice is seen.
fn notice(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The Python for the cross-check: `$RECODE_TEST_PYTHON`, else `<repo>/.venv-test/bin/python`;
/// `Err(reason)` when there is none or it cannot import pyarrow.
fn pyarrow_python() -> Result<PathBuf, String> {
    let python = match std::env::var_os("RECODE_TEST_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => {
            let venv = repo_root().join(".venv-test/bin/python");
            if !venv.exists() {
                return Err(format!(
                    "RECODE_TEST_PYTHON is not set and {} does not exist (run scripts/setup-test-env)",
                    venv.display()
                ));
            }
            venv
        }
    };
    match Command::new(&python).args(["-c", "import pyarrow"]).output() {
        Ok(out) if out.status.success() => Ok(python),
        Ok(out) => Err(format!(
            "{} cannot import pyarrow: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim().lines().last().unwrap_or("")
        )),
        Err(e) => Err(format!("cannot run {}: {e}", python.display())),
    }
}

#[test]
fn verl_parquet_reads_back_in_pyarrow() {
    let python = match pyarrow_python() {
        Ok(python) => python,
        Err(reason) => {
            notice(&format!("NOTE: pyarrow cross-check of the verl Parquet export SKIPPED: {reason}"));
            if std::env::var_os("RECODE_REQUIRE_PYARROW").is_some() {
                panic!("RECODE_REQUIRE_PYARROW is set but the pyarrow cross-check cannot run: {reason}");
            }
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("train.parquet");
    let expected = dir.path().join("expected.json");
    let template = dir.path().join("recode_chatml.jinja");
    let items = items();
    export_verl(&items, &out).unwrap();
    std::fs::write(&expected, serde_json::to_vec(&expected_rows(&items)).unwrap()).unwrap();
    write_chat_template(&template).unwrap();
    assert_eq!(std::fs::read_to_string(&template).unwrap(), VERL_CHAT_TEMPLATE);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check_verl_parquet.py");
    let run = Command::new(&python).arg(&script).arg(&out).arg(&expected).arg(&template).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "pyarrow check failed:\n{stdout}\n{stderr}");
    notice(&format!("pyarrow cross-check ran with {}:\n{}", python.display(), stdout.trim_end()));
}
