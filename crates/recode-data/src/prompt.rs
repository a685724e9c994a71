//! The exact prompts of spec §3: the migration training prompt (§3.1) and the
//! CodeUpdateArena zero-shot test prompt (§3.2), as chat messages and as ChatML text.
use serde::{Deserialize, Serialize};

use crate::item::Item;

/// System message of the training prompt (§3.1). The slip "You first thinks" is the
/// original's and is kept for parity.
pub const TRAIN_SYSTEM: &str = "You are a helpful coding assistant. Your task is to transform \
the old version of the code into the new version specified, based on the update information. \
You first thinks about the reasoning process in the mind and then provides the solution.";

/// System message of the CodeUpdateArena test prompt (§3.2).
pub const TEST_SYSTEM: &str = "You are a helpful code assistant. You first think about the \
reasoning process in the mind and then provide a Python solution to a problem in a real-world \
scenario.";

/// The instruction that ends both user messages (without the blank line before it and the
/// newline after it, which the user messages add).
pub const SHOW_YOUR_WORK: &str = "Show your work in <think> </think> tags. And return the final \
code in <answer> </answer>, the code within <answer></answer> should be enclosed in ```python \
``` tags.";

/// The prefilled assistant message of both prompts, left open by [`render_chatml`].
pub const ASSISTANT_PREFILL: &str = "Let me solve this step by step.\n<think>";

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    /// `system`, `user` or `assistant`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One chat message; serialises as `{"role": "...", "content": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message { role, content: content.into() }
    }
}

/// The user message of the training prompt (§3.1), exactly:
///
/// ```text
/// \n{dependency} performed an API update in version {version}, and the update content
/// includes:\n<doc>\n{update_info}\n</doc>\nThe old version of the code is:\n```python\n
/// {old_code}\n```\n\n{SHOW_YOUR_WORK}\n
/// ```
///
/// (one string, wrapped here for reading) where `version` is [`Item::version`]
/// (`new_version` without its first two characters). Field values are inserted verbatim.
pub fn training_user_content(item: &Item) -> String {
    format!(
        "\n{dependency} performed an API update in version {version}, and the update content \
         includes:\n<doc>\n{update_info}\n</doc>\nThe old version of the code is:\n```python\n\
         {old_code}\n```\n\n{SHOW_YOUR_WORK}\n",
        dependency = item.dependency,
        version = item.version(),
        update_info = item.update_info,
        old_code = item.old_code,
    )
}

/// The three training messages (§3.1): [`TRAIN_SYSTEM`], [`training_user_content`], and the
/// assistant prefill [`ASSISTANT_PREFILL`].
pub fn training_messages(item: &Item) -> Vec<Message> {
    vec![
        Message::new(Role::System, TRAIN_SYSTEM),
        Message::new(Role::User, training_user_content(item)),
        Message::new(Role::Assistant, ASSISTANT_PREFILL),
    ]
}

/// The rendered training prompt: `render_chatml(&training_messages(item))`.
pub fn training_prompt(item: &Item) -> String {
    render_chatml(&training_messages(item))
}

/// Minimal ChatML (§3.1), the same for every model: each message becomes
/// `<|im_start|>{role}\n{content}<|im_end|>\n`, except that a final **assistant** message is
/// left open — `<|im_start|>assistant\n{content}` with nothing after it — so generation
/// continues inside it. When the last message is not from the assistant every message is
/// closed and nothing is appended (no generation header is added). No message is escaped or
/// trimmed. An empty slice renders as the empty string.
pub fn render_chatml(messages: &[Message]) -> String {
    let mut out = String::new();
    for (i, message) in messages.iter().enumerate() {
        out.push_str("<|im_start|>");
        out.push_str(message.role.as_str());
        out.push('\n');
        out.push_str(&message.content);
        let open = i + 1 == messages.len() && message.role == Role::Assistant;
        if !open {
            out.push_str("<|im_end|>\n");
        }
    }
    out
}

/// The fields of one CodeUpdateArena program-synthesis item that the test prompt shows (the
/// evaluator fills it from the benchmark's `update` and `prog_syn_examples` entries).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CuaProblem {
    /// `update.function_path`, e.g. `math.sin`.
    pub function_path: String,
    /// `update.description`.
    pub update_description: String,
    /// `update.signature`.
    pub update_signature: String,
    /// `update.docstring`.
    pub update_docstring: String,
    /// The item's `scenario`.
    pub scenario: String,
    /// The item's `problem`.
    pub problem: String,
    /// The item's `solution_signature`.
    pub solution_signature: String,
}

/// The user message of the CodeUpdateArena test prompt (§3.2), exactly:
///
/// ```text
/// Update Note: There's an recent update to a function {function_path} – {update_description}.
/// The function now has a new function signature – {update_signature}. Here is a detailed
/// documentation about the update: <doc>\n{update_docstring}\n</doc>\nScenario: {scenario}\n
/// Problem: {problem}\nSolution Signature: {solution_signature}\n\n{SHOW_YOUR_WORK}\n
/// ```
///
/// (one string, wrapped here for reading). The dashes are U+2013 EN DASH with a space on each
/// side, as in the spec; "an recent" is the original's slip. Separators the spec leaves open,
/// chosen here: no leading newline (unlike §3.1, the spec's text starts at "Update Note");
/// a single `\n` after `</doc>` and after the Scenario and Problem lines ("each on its own
/// line"); and the "Show your work" sentence framed as in §3.1 — a blank line before it
/// (`\n\n` after the Solution Signature line) and a `\n` after it. Values are inserted
/// verbatim (a description ending in "." gives "..", as in the reference template).
pub fn cua_user_content(problem: &CuaProblem) -> String {
    format!(
        "Update Note: There's an recent update to a function {function_path} \u{2013} \
         {update_description}. The function now has a new function signature \u{2013} \
         {update_signature}. Here is a detailed documentation about the update: \
         <doc>\n{update_docstring}\n</doc>\nScenario: {scenario}\nProblem: {problem}\n\
         Solution Signature: {solution_signature}\n\n{SHOW_YOUR_WORK}\n",
        function_path = problem.function_path,
        update_description = problem.update_description,
        update_signature = problem.update_signature,
        update_docstring = problem.update_docstring,
        scenario = problem.scenario,
        problem = problem.problem,
        solution_signature = problem.solution_signature,
    )
}

/// The three test messages (§3.2): [`TEST_SYSTEM`], [`cua_user_content`], and the assistant
/// prefill [`ASSISTANT_PREFILL`].
pub fn cua_test_messages(problem: &CuaProblem) -> Vec<Message> {
    vec![
        Message::new(Role::System, TEST_SYSTEM),
        Message::new(Role::User, cua_user_content(problem)),
        Message::new(Role::Assistant, ASSISTANT_PREFILL),
    ]
}
