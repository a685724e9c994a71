//! Statistics with a pluggable length measure.
use recode_data::{Item, LengthSummary, UNSPECIFIED, char_len, compute_stats, try_compute_stats};

fn item(lib: &str, kind: Option<&str>, rule: Option<&str>, old: &str) -> Item {
    let mut value = serde_json::json!({
        "dependency": lib, "new_version": "==1.0", "description": "",
        "update_info": "u", "old_code": old, "new_code": "y",
    });
    if let Some(kind) = kind {
        value["update_type"] = kind.into();
    }
    if let Some(rule) = rule {
        value["validation"] = serde_json::json!({ "rule": rule });
    }
    serde_json::from_value(value).unwrap()
}

#[test]
fn counts_and_lengths() {
    let items = vec![
        item("Numpy", Some("rename"), Some("ast"), "a"),
        item("Numpy", None, None, "ééé"),
        item("Pandas", Some("rename"), Some("exec"), "abcdefghij"),
        item("Pandas", Some("removal"), Some("ast"), "abcd"),
    ];
    let stats = compute_stats(&items, char_len);
    assert_eq!(stats.items, 4);
    assert_eq!(stats.by_dependency.get("Numpy"), Some(&2));
    assert_eq!(stats.by_dependency.get("Pandas"), Some(&2));
    assert_eq!(
        stats.by_update_type.iter().map(|(k, v)| (k.as_str(), *v)).collect::<Vec<_>>(),
        [(UNSPECIFIED, 1), ("removal", 1), ("rename", 2)]
    );
    assert_eq!(
        stats.by_rule.iter().map(|(k, v)| (k.as_str(), *v)).collect::<Vec<_>>(),
        [(UNSPECIFIED, 1), ("ast", 2), ("exec", 1)]
    );
    // Characters, not bytes: "ééé" is 3.
    assert_eq!(stats.old_code, Some(LengthSummary { min: 1, mean: 4.5, median: 3.5, max: 10 }));
    assert_eq!(stats.new_code, Some(LengthSummary { min: 1, mean: 1.0, median: 1.0, max: 1 }));
    let prompt = stats.prompt.unwrap();
    let shortest = recode_data::prompt::training_prompt(&items[0]).chars().count();
    assert_eq!(prompt.min, shortest);
    assert_eq!(prompt.max, shortest + 9 + 1); // "Pandas" is one longer than "Numpy"
}

#[test]
fn no_rules_means_no_rule_table_and_empty_input_has_no_lengths() {
    let stats = compute_stats(&[item("Numpy", None, None, "a")], char_len);
    assert!(stats.by_rule.is_empty());
    let stats = compute_stats(&[], char_len);
    assert_eq!(stats.items, 0);
    assert_eq!(stats.old_code, None);
    assert_eq!(stats.prompt, None);
}

#[test]
fn custom_and_fallible_measures() {
    let items = vec![item("Numpy", None, None, "a b  c")];
    let words = |s: &str| s.split_whitespace().count();
    assert_eq!(compute_stats(&items, words).old_code.unwrap().max, 3);
    let failing = |_: &str| Err::<usize, _>("no tokenizer");
    assert_eq!(try_compute_stats(&items, failing).unwrap_err(), "no tokenizer");
    assert_eq!(LengthSummary::of(&[5]).unwrap().median, 5.0);
}
