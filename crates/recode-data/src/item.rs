//! The ReCode item (spec §2).
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The six required ReCode fields, in the spec's order. All are strings.
pub const FIELDS: [&str; 6] = ["dependency", "new_version", "description", "update_info", "old_code", "new_code"];

/// The optional fields this crate knows: `id`, `update_type`, `source` (strings) and
/// `validation` (a JSON object). `null` counts as absent for all four.
pub const OPTIONAL_FIELDS: [&str; 4] = ["id", "update_type", "source", "validation"];

/// One ReCode training item: an API update and a pair of equivalent snippets.
///
/// Serialised field order: `id`, the six required fields, `update_type`, `source`, `check`,
/// `new_env`, `old_env`, `validation`, then every unknown field in the order it was read.
/// Unknown fields are kept in [`Item::extra`] so that reading and rewriting a file loses
/// nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Optional stable identifier; must be unique within a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Library name as written in the prompt, e.g. `Numpy`.
    pub dependency: String,
    /// `==` followed by the version, e.g. `==2.2.0`; the prompt drops the first two characters.
    pub new_version: String,
    /// What the code does (not used in the prompt).
    pub description: String,
    /// The release-note text of the API change.
    pub update_info: String,
    /// A snippet using the old API.
    pub old_code: String,
    /// The same snippet migrated to the new API (the reward's target).
    pub new_code: String,
    /// Kind of update (rename, added parameter, …), free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_type: Option<String>,
    /// Where the item came from (release-note URL, generator, …), free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Python statements appended to `new_code` that assert on its results (execution check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Name of the Python environment with the library's new version (execution check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_env: Option<String>,
    /// Name of a Python environment with an older version of the library (execution check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_env: Option<String>,
    /// Results of executable validation (filled by later tooling), e.g. `{"rule": "…"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Map<String, Value>>,
    /// Every other field, carried through unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Item {
    /// The version as shown in the prompt: `new_version` without its first two characters
    /// (Unicode scalar values, like Python's `new_version[2:]`); empty when shorter.
    pub fn version(&self) -> &str {
        match self.new_version.char_indices().nth(2) {
            Some((at, _)) => &self.new_version[at..],
            None => "",
        }
    }

    /// `validation.rule` when it is present and a string.
    pub fn validation_rule(&self) -> Option<&str> {
        self.validation.as_ref()?.get("rule")?.as_str()
    }
}

/// "a string", "an array", … for messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Builds an item from a JSON object, reporting every structural problem as
/// `(field, message)`: missing or non-string required fields, optional fields of the wrong type.
pub(crate) fn from_object(mut map: Map<String, Value>) -> Result<Item, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut required = |name: &str, map: &mut Map<String, Value>| -> String {
        match map.shift_remove(name) {
            Some(Value::String(s)) => s,
            Some(other) => {
                problems.push((name.to_string(), format!("expected a string, found {}", json_kind(&other))));
                String::new()
            }
            None => {
                problems.push((name.to_string(), "missing".to_string()));
                String::new()
            }
        }
    };
    let dependency = required("dependency", &mut map);
    let new_version = required("new_version", &mut map);
    let description = required("description", &mut map);
    let update_info = required("update_info", &mut map);
    let old_code = required("old_code", &mut map);
    let new_code = required("new_code", &mut map);

    let mut optional = |name: &str, map: &mut Map<String, Value>| -> Option<String> {
        match map.shift_remove(name) {
            Some(Value::String(s)) => Some(s),
            None | Some(Value::Null) => None,
            Some(other) => {
                problems.push((name.to_string(), format!("expected a string or null, found {}", json_kind(&other))));
                None
            }
        }
    };
    let id = optional("id", &mut map);
    let update_type = optional("update_type", &mut map);
    let source = optional("source", &mut map);
    let check = optional("check", &mut map);
    let new_env = optional("new_env", &mut map);
    let old_env = optional("old_env", &mut map);
    let validation = match map.shift_remove("validation") {
        Some(Value::Object(o)) => Some(o),
        None | Some(Value::Null) => None,
        Some(other) => {
            problems
                .push(("validation".to_string(), format!("expected an object or null, found {}", json_kind(&other))));
            None
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Item {
        id,
        dependency,
        new_version,
        description,
        update_info,
        old_code,
        new_code,
        update_type,
        source,
        check,
        new_env,
        old_env,
        validation,
        extra: map,
    })
}
