//! The PyO3 bindings: the `recode._native` extension module (re-exported by `recode`).
//!
//! Inputs are copied into Rust strings while the GIL is held; scoring and validation then run
//! with the GIL released (`Python::detach`), batches on the fork-safe pool of `lib.rs`.
//! Bad input raises `TypeError` / `ValueError` naming the argument and the index.

use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};
use recode_data::prompt::{self, CuaProblem, Message, Role};
use recode_data::{Item, Problem, Report};
use recode_rewards::{Mode, ReferenceRaises, Scores};
use serde_json::{Map, Number, Value};

use crate::{generated_text, mode_name, parse_mode, score_batch};

fn mode_arg(mode: &str) -> PyResult<Mode> {
    parse_mode(mode).ok_or_else(|| PyValueError::new_err(format!("mode must be 'parity' or 'fixed', got {mode:?}")))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".to_string())
}

/// A list of strings from any iterable that is not itself a string (a `str` would otherwise be
/// read as a list of one-character strings).
fn strings(arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{arg} must be a list of strings (one per completion), got a single str"
        )));
    }
    let iter = obj
        .try_iter()
        .map_err(|_| PyTypeError::new_err(format!("{arg} must be a list of strings, got {}", type_name(obj))))?;
    iter.enumerate()
        .map(|(i, item)| {
            let item = item?;
            item.extract::<String>()
                .map_err(|_| PyTypeError::new_err(format!("{arg}[{i}]: expected a str, got {}", type_name(&item))))
        })
        .collect()
}

/// The generated texts of TRL completions: plain strings, or conversational completions (a
/// list of `{"role", "content"}` messages, of which the last assistant message is read).
fn completion_texts(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("completions must be a list (one entry per completion), got a single str"));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!("completions must be a list of completions, got {}", type_name(obj)))
    })?;
    iter.enumerate().map(|(i, item)| completion_text(i, &item?)).collect()
}

fn completion_text(i: usize, item: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = item.cast::<PyString>() {
        return Ok(text.to_cow()?.into_owned());
    }
    if !(item.is_instance_of::<PyList>() || item.is_instance_of::<PyTuple>()) {
        return Err(PyTypeError::new_err(format!(
            "completions[{i}]: expected a str or a list of {{'role', 'content'}} messages, got {}",
            type_name(item)
        )));
    }
    let mut last_assistant: Option<String> = None;
    for (j, message) in item.try_iter()?.enumerate() {
        let message = message?;
        let at = || format!("completions[{i}][{j}]");
        let message = message.cast::<PyMapping>().map_err(|_| {
            PyTypeError::new_err(format!(
                "{}: expected a {{'role', 'content'}} message, got {}",
                at(),
                type_name(&message)
            ))
        })?;
        let role =
            message.get_item("role").map_err(|_| PyValueError::new_err(format!("{}: message has no 'role'", at())))?;
        let role: String =
            role.extract().map_err(|_| PyTypeError::new_err(format!("{}: 'role' must be a str", at())))?;
        if role != "assistant" {
            continue;
        }
        let content = message
            .get_item("content")
            .map_err(|_| PyValueError::new_err(format!("{}: assistant message has no 'content'", at())))?;
        let content: String = content.extract().map_err(|_| {
            PyTypeError::new_err(format!("{}: 'content' must be a str, got {}", at(), type_name(&content)))
        })?;
        last_assistant = Some(content);
    }
    let content = last_assistant
        .ok_or_else(|| PyValueError::new_err(format!("completions[{i}]: no message with role 'assistant'")))?;
    Ok(generated_text(&content).to_owned())
}

fn same_length(completions: usize, arg: &str, targets: usize) -> PyResult<()> {
    if completions != targets {
        return Err(PyValueError::new_err(format!(
            "{arg} has {targets} entries but there are {completions} completions (one {arg} per completion)"
        )));
    }
    Ok(())
}

/// Reads completions and targets, then scores them with the GIL released.
fn score_trl(
    py: Python<'_>,
    completions: &Bound<'_, PyAny>,
    target: Option<&Bound<'_, PyAny>>,
    mode: &str,
) -> PyResult<Vec<Scores>> {
    let mode = mode_arg(mode)?;
    let texts = completion_texts(completions)?;
    let targets = match target {
        Some(target) => strings("target", target)?,
        // format_reward needs no target; the empty strings only shape the batch.
        None => vec![String::new(); texts.len()],
    };
    same_length(texts.len(), "target", targets.len())?;
    Ok(py.detach(|| score_batch(&texts, &targets, mode)))
}

/// format_reward(completions, **kwargs) -> list[float]
///
/// +1.0 for each completion with the `…</think> <answer>…</answer>` shape (spec §4.1), else
/// -1.0. `completions`: plain strings (the text generated after the prompt's prefilled
/// `<think>`) or TRL conversational completions. Other keyword arguments (TRL passes
/// `prompts`, `completion_ids`, the dataset columns, …) are ignored.
#[pyfunction]
#[pyo3(signature = (completions, **kwargs))]
fn format_reward(
    py: Python<'_>,
    completions: &Bound<'_, PyAny>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<f64>> {
    let _ = kwargs;
    let texts = completion_texts(completions)?;
    Ok(py.detach(|| texts.iter().map(|t| recode_rewards::format_reward(t)).collect()))
}

/// es_star(completions, target, *, mode="parity", **kwargs) -> list[float]
///
/// ES* of each completion against its target (spec §4.5): 3.5·ES − 1.5 in [−1.5, 2.0], or
/// −2.0 when the completion has no python block or its code does not parse. `target`: one
/// string per completion (the `target` column of `recode data export trl`).
#[pyfunction]
#[pyo3(signature = (completions, target, *, mode = "parity", **kwargs))]
fn es_star(
    py: Python<'_>,
    completions: &Bound<'_, PyAny>,
    target: &Bound<'_, PyAny>,
    mode: &str,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<f64>> {
    let _ = kwargs;
    Ok(score_trl(py, completions, Some(target), mode)?.iter().map(|s| s.es_star).collect())
}

/// em_star(completions, target, *, mode="parity", **kwargs) -> list[float]
///
/// EM* of each completion (spec §4.5): +2.0 when the normalised code equals the normalised
/// target, −1.5 when it parses but differs, −2.0 when there is no block or it does not parse.
#[pyfunction]
#[pyo3(signature = (completions, target, *, mode = "parity", **kwargs))]
fn em_star(
    py: Python<'_>,
    completions: &Bound<'_, PyAny>,
    target: &Bound<'_, PyAny>,
    mode: &str,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<f64>> {
    let _ = kwargs;
    Ok(score_trl(py, completions, Some(target), mode)?.iter().map(|s| s.em_star).collect())
}

/// recode_reward(completions, target, *, mode="parity", **kwargs) -> list[float]
///
/// The combined reward, `format + es_star` (ReCode's total), in one pass.
#[pyfunction]
#[pyo3(signature = (completions, target, *, mode = "parity", **kwargs))]
fn recode_reward(
    py: Python<'_>,
    completions: &Bound<'_, PyAny>,
    target: &Bound<'_, PyAny>,
    mode: &str,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<f64>> {
    let _ = kwargs;
    Ok(score_trl(py, completions, Some(target), mode)?.iter().map(|s| s.total).collect())
}

fn raises_name(raises: Option<ReferenceRaises>) -> Option<&'static str> {
    raises.map(|r| match r {
        ReferenceRaises::ZeroDivisionError => "ZeroDivisionError",
        ReferenceRaises::TooDeeplyNested => "TooDeeplyNested",
    })
}

/// The fields `recode reward` writes for one completion.
fn scores_dict<'py>(py: Python<'py>, s: &Scores, mode: Mode) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("format", s.format)?;
    d.set_item("em_star", s.em_star)?;
    d.set_item("es_star", s.es_star)?;
    d.set_item("total", s.total)?;
    d.set_item("mode", mode_name(mode))?;
    d.set_item("reference_raises", raises_name(s.reference_raises))?;
    Ok(d)
}

/// score(completion, target, mode="parity") -> dict
///
/// Every component for one completion, as `recode reward` writes them: `format`, `em_star`,
/// `es_star`, `total`, `mode`, `reference_raises` (None, "ZeroDivisionError" or
/// "TooDeeplyNested": where the reference implementation would raise).
#[pyfunction]
#[pyo3(signature = (completion, target, mode = "parity"))]
fn score<'py>(py: Python<'py>, completion: &str, target: &str, mode: &str) -> PyResult<Bound<'py, PyDict>> {
    let mode = mode_arg(mode)?;
    let (completion, target) = (completion.to_owned(), target.to_owned());
    let scores = py.detach(|| recode_rewards::score(&completion, &target, mode));
    scores_dict(py, &scores, mode)
}

/// score_batch(completions, targets, mode="parity") -> list[dict]
///
/// [`score`] for a batch of plain-string completions, in parallel, in input order.
#[pyfunction]
#[pyo3(name = "score_batch", signature = (completions, targets, mode = "parity"))]
fn score_many<'py>(
    py: Python<'py>,
    completions: &Bound<'py, PyAny>,
    targets: &Bound<'py, PyAny>,
    mode: &str,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let mode = mode_arg(mode)?;
    let completions = strings("completions", completions)?;
    let targets = strings("targets", targets)?;
    same_length(completions.len(), "targets", targets.len())?;
    let scores = py.detach(|| score_batch(&completions, &targets, mode));
    scores.iter().map(|s| scores_dict(py, s, mode)).collect()
}

/// The verl result: the summed score, or with `return_dict` a dict verl logs key by key.
fn verl_result<'py>(py: Python<'py>, s: &Scores, return_dict: bool) -> PyResult<Bound<'py, PyAny>> {
    if !return_dict {
        return Ok(PyFloat::new(py, s.total).into_any());
    }
    let d = PyDict::new(py);
    d.set_item("score", s.total)?;
    d.set_item("format", s.format)?;
    d.set_item("em_star", s.em_star)?;
    d.set_item("es_star", s.es_star)?;
    Ok(d.into_any())
}

fn ground_truth_str(arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    obj.extract::<String>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{arg} must be a str (the item's new_code, verl's reward_model.ground_truth), got {}",
            type_name(obj)
        ))
    })
}

/// compute_score(data_source, solution_str, ground_truth, extra_info=None, *, mode="parity",
/// return_dict=False, **kwargs) -> float | dict
///
/// verl's custom reward function (`custom_reward_function.path=pkg://recode.verl`,
/// `name=compute_score`): the summed ReCode reward `format + es_star` of the decoded response
/// `solution_str` against `ground_truth`. `data_source` and `extra_info` are not used (verl
/// passes them; every `recode/*` source is scored the same way); further keyword arguments that
/// some verl versions pass (e.g. `reward_router_address`) are ignored. `mode` and
/// `return_dict` can be set with `custom_reward_function.reward_kwargs`; with
/// `return_dict=True` the result is `{"score", "format", "em_star", "es_star"}`, which verl
/// logs per key.
#[pyfunction]
#[pyo3(signature = (data_source, solution_str, ground_truth, extra_info = None, *, mode = "parity", return_dict = false, **kwargs))]
#[allow(clippy::too_many_arguments)]
fn compute_score<'py>(
    py: Python<'py>,
    data_source: &Bound<'py, PyAny>,
    solution_str: &Bound<'py, PyAny>,
    ground_truth: &Bound<'py, PyAny>,
    extra_info: Option<&Bound<'py, PyAny>>,
    mode: &str,
    return_dict: bool,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let _ = (data_source, extra_info, kwargs);
    let mode = mode_arg(mode)?;
    let solution: String = solution_str.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "solution_str must be a str (the decoded response), got {}",
            type_name(solution_str)
        ))
    })?;
    let target = ground_truth_str("ground_truth", ground_truth)?;
    let scores = py.detach(|| recode_rewards::score(&solution, &target, mode));
    verl_result(py, &scores, return_dict)
}

/// compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos=None, *,
/// mode="parity", return_dict=False, **kwargs) -> list[float | dict]
///
/// The batched variant for verl's `reward_model.reward_manager=batch` (which calls it with
/// these keyword names): [`compute_score`] of every response, in parallel, in input order.
/// Any sequence works (verl passes numpy object arrays for `data_sources` and `extra_infos`).
#[pyfunction]
#[pyo3(signature = (data_sources, solution_strs, ground_truths, extra_infos = None, *, mode = "parity", return_dict = false, **kwargs))]
#[allow(clippy::too_many_arguments)]
fn compute_score_batch<'py>(
    py: Python<'py>,
    data_sources: &Bound<'py, PyAny>,
    solution_strs: &Bound<'py, PyAny>,
    ground_truths: &Bound<'py, PyAny>,
    extra_infos: Option<&Bound<'py, PyAny>>,
    mode: &str,
    return_dict: bool,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let _ = (extra_infos, kwargs);
    let mode = mode_arg(mode)?;
    let solutions = strings("solution_strs", solution_strs)?;
    let targets = strings("ground_truths", ground_truths)?;
    same_length(solutions.len(), "ground_truths", targets.len())?;
    let sources = data_sources.len().map_err(|_| {
        PyTypeError::new_err(format!("data_sources must be a sequence, got {}", type_name(data_sources)))
    })?;
    if sources != solutions.len() {
        return Err(PyValueError::new_err(format!(
            "data_sources has {sources} entries but solution_strs has {}",
            solutions.len()
        )));
    }
    let scores = py.detach(|| score_batch(&solutions, &targets, mode));
    scores.iter().map(|s| verl_result(py, s, return_dict)).collect()
}

// ---------------------------------------------------------------------------------------------
// Prompts

/// A Python object as JSON, for reading items through recode-data's own checks.
fn to_json(path: &str, obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(PyValueError::new_err(format!("{path}: integer out of the 64-bit range")));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{path}: {} is not a finite number", f.value())));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return obj.try_iter()?.enumerate().map(|(i, v)| to_json(&format!("{path}[{i}]"), &v?)).collect();
    }
    if let Ok(mapping) = obj.cast::<PyMapping>() {
        let mut map = Map::new();
        for entry in mapping.items()?.iter() {
            let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = entry.extract()?;
            let key: String = key
                .extract()
                .map_err(|_| PyTypeError::new_err(format!("{path}: keys must be str, got {}", type_name(&key))))?;
            let value = to_json(&format!("{path}[{key:?}]"), &value)?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    Err(PyTypeError::new_err(format!("{path}: {} cannot be stored in JSON", type_name(obj))))
}

/// A ReCode item from a dict, checked as `recode data validate` checks a line's structure.
fn item_arg(obj: &Bound<'_, PyAny>) -> PyResult<Item> {
    let value = to_json("item", obj)?;
    if !value.is_object() {
        return Err(PyTypeError::new_err(format!("item must be a dict, got {}", type_name(obj))));
    }
    let line = serde_json::to_vec(&value).map_err(|e| PyValueError::new_err(format!("item: {e}")))?;
    let mut items = recode_data::parse_jsonl("item", &line).map_err(|e| match e {
        recode_data::DataError::Invalid(p) => PyValueError::new_err(format!("item: {}: {}", p.field, p.message)),
        other => PyValueError::new_err(other.to_string()),
    })?;
    Ok(items.pop().expect("one line gives one item"))
}

fn messages_list<'py>(py: Python<'py>, messages: &[Message]) -> PyResult<Vec<Bound<'py, PyDict>>> {
    messages
        .iter()
        .map(|m| {
            let d = PyDict::new(py);
            d.set_item("role", m.role.as_str())?;
            d.set_item("content", &m.content)?;
            Ok(d)
        })
        .collect()
}

/// training_messages(item) -> list[dict]
///
/// The three messages of the training prompt (spec §3.1) for a ReCode item (a dict with the
/// six fields): system, user, and the prefilled assistant message.
#[pyfunction]
fn training_messages<'py>(py: Python<'py>, item: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyDict>>> {
    messages_list(py, &prompt::training_messages(&item_arg(item)?))
}

/// training_prompt(item) -> str
///
/// The rendered training prompt (minimal ChatML, assistant prefill left open): the `prompt`
/// that `recode data export trl` writes.
#[pyfunction]
fn training_prompt(item: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(prompt::training_prompt(&item_arg(item)?))
}

/// training_user_content(item) -> str
///
/// The user message of the training prompt.
#[pyfunction]
fn training_user_content(item: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(prompt::training_user_content(&item_arg(item)?))
}

fn role_arg(at: &str, role: &str) -> PyResult<Role> {
    match role {
        "system" => Ok(Role::System),
        "user" => Ok(Role::User),
        "assistant" => Ok(Role::Assistant),
        other => {
            Err(PyValueError::new_err(format!("{at}: role must be 'system', 'user' or 'assistant', got {other:?}")))
        }
    }
}

/// render_chatml(messages) -> str
///
/// Minimal ChatML (spec §3.1): `<|im_start|>{role}\n{content}<|im_end|>\n` per message, a final
/// assistant message left open.
#[pyfunction]
fn render_chatml(messages: &Bound<'_, PyAny>) -> PyResult<String> {
    if messages.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("messages must be a list of {'role', 'content'} dicts, got a str"));
    }
    let mut out = Vec::new();
    for (i, message) in messages.try_iter()?.enumerate() {
        let message = message?;
        let at = format!("messages[{i}]");
        let message = message.cast::<PyMapping>().map_err(|_| {
            PyTypeError::new_err(format!("{at}: expected a {{'role', 'content'}} dict, got {}", type_name(&message)))
        })?;
        let field = |name: &str| -> PyResult<String> {
            let value = message.get_item(name).map_err(|_| PyValueError::new_err(format!("{at}: missing {name:?}")))?;
            value.extract().map_err(|_| PyTypeError::new_err(format!("{at}: {name:?} must be a str")))
        };
        out.push(Message::new(role_arg(&at, &field("role")?)?, field("content")?));
    }
    Ok(prompt::render_chatml(&out))
}

/// cua_test_messages(problem) -> list[dict]
///
/// The CodeUpdateArena zero-shot test prompt (spec §3.2). `problem`: a dict with the string
/// fields `function_path`, `update_description`, `update_signature`, `update_docstring`,
/// `scenario`, `problem`, `solution_signature`.
#[pyfunction]
fn cua_test_messages<'py>(py: Python<'py>, problem: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let problem = problem
        .cast::<PyMapping>()
        .map_err(|_| PyTypeError::new_err(format!("problem must be a dict, got {}", type_name(problem))))?;
    let field = |name: &str| -> PyResult<String> {
        let value = problem.get_item(name).map_err(|_| PyValueError::new_err(format!("problem: missing {name:?}")))?;
        value.extract().map_err(|_| PyTypeError::new_err(format!("problem: {name:?} must be a str")))
    };
    let problem = CuaProblem {
        function_path: field("function_path")?,
        update_description: field("update_description")?,
        update_signature: field("update_signature")?,
        update_docstring: field("update_docstring")?,
        scenario: field("scenario")?,
        problem: field("problem")?,
        solution_signature: field("solution_signature")?,
    };
    messages_list(py, &prompt::cua_test_messages(&problem))
}

// ---------------------------------------------------------------------------------------------
// Validation

fn problem_dict<'py>(py: Python<'py>, p: &Problem) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("file", &p.file)?;
    d.set_item("line", p.line)?;
    d.set_item("field", &p.field)?;
    d.set_item("message", &p.message)?;
    d.set_item("text", p.to_string())?;
    Ok(d)
}

fn report_dict<'py>(py: Python<'py>, file: &str, r: &Report) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("file", file)?;
    d.set_item("ok", r.is_ok())?;
    d.set_item("lines", r.lines)?;
    d.set_item("items", r.items)?;
    let problems: Vec<_> = r.problems.iter().map(|p| problem_dict(py, p)).collect::<PyResult<_>>()?;
    d.set_item("problems", problems)?;
    Ok(d)
}

fn path_arg(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    // str or os.PathLike
    let fspath = obj.py().import("os")?.getattr("fspath")?.call1((obj,))?;
    fspath.extract::<String>().map_err(|_| PyTypeError::new_err(format!("expected a path, got {}", type_name(obj))))
}

/// validate(paths) -> list[dict]
///
/// `recode data validate` on one path or a list of paths (near-duplicates are sought across
/// files too). One report per file: `{"file", "ok", "lines", "items", "problems"}`, each problem
/// `{"file", "line", "field", "message", "text"}` (`text` = `FILE:LINE: field: message`).
/// A file that cannot be read raises OSError.
#[pyfunction]
fn validate<'py>(py: Python<'py>, paths: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let list: Vec<String> = if paths.is_instance_of::<PyString>() || paths.hasattr("__fspath__")? {
        vec![path_arg(paths)?]
    } else {
        paths.try_iter()?.map(|p| path_arg(&p?)).collect::<PyResult<_>>()?
    };
    let results = py.detach(|| recode_data::validate_files(&list));
    list.iter()
        .zip(results)
        .map(|(file, result)| match result {
            Ok(report) => report_dict(py, file, &report),
            Err(e) => Err(PyOSError::new_err(e.to_string())),
        })
        .collect()
}

/// validate_jsonl(data, file="<string>") -> dict
///
/// Validates JSONL text (str or bytes) named `file` in the problems; the report as in
/// [`validate`].
#[pyfunction]
#[pyo3(signature = (data, file = "<string>"))]
fn validate_jsonl<'py>(py: Python<'py>, data: &Bound<'py, PyAny>, file: &str) -> PyResult<Bound<'py, PyDict>> {
    let bytes: Vec<u8> = if let Ok(s) = data.cast::<PyString>() {
        s.to_cow()?.as_bytes().to_vec()
    } else {
        data.extract::<Vec<u8>>()
            .map_err(|_| PyTypeError::new_err(format!("data must be str or bytes, got {}", type_name(data))))?
    };
    let name = file.to_owned();
    let report = py.detach(|| recode_data::validate_bytes(&name, &bytes));
    report_dict(py, file, &report)
}

/// num_threads() -> int
///
/// Threads used to score a batch (`RECODE_NUM_THREADS`, else `RAYON_NUM_THREADS`, else the
/// number of logical cores; read once per process).
#[pyfunction]
fn num_threads() -> usize {
    crate::num_threads()
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(format_reward, m)?)?;
    m.add_function(wrap_pyfunction!(es_star, m)?)?;
    m.add_function(wrap_pyfunction!(em_star, m)?)?;
    m.add_function(wrap_pyfunction!(recode_reward, m)?)?;
    m.add_function(wrap_pyfunction!(score, m)?)?;
    m.add_function(wrap_pyfunction!(score_many, m)?)?;
    m.add_function(wrap_pyfunction!(compute_score, m)?)?;
    m.add_function(wrap_pyfunction!(compute_score_batch, m)?)?;
    m.add_function(wrap_pyfunction!(training_messages, m)?)?;
    m.add_function(wrap_pyfunction!(training_prompt, m)?)?;
    m.add_function(wrap_pyfunction!(training_user_content, m)?)?;
    m.add_function(wrap_pyfunction!(render_chatml, m)?)?;
    m.add_function(wrap_pyfunction!(cua_test_messages, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(validate_jsonl, m)?)?;
    m.add_function(wrap_pyfunction!(num_threads, m)?)?;
    m.add("TRAIN_SYSTEM", prompt::TRAIN_SYSTEM)?;
    m.add("TEST_SYSTEM", prompt::TEST_SYSTEM)?;
    m.add("ASSISTANT_PREFILL", prompt::ASSISTANT_PREFILL)?;
    m.add("NO_VALID_CODE", recode_rewards::NO_VALID_CODE)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
