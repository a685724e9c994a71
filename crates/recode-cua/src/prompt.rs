//! ReCode's zero-shot CodeUpdateArena prompt (spec §3.2).

use recode_data::prompt::{CuaProblem, Message, cua_test_messages, render_chatml};

use crate::arena::Item;

/// The fields of `item` (and its update) that the prompt shows.
pub fn cua_problem(item: &Item) -> CuaProblem {
    CuaProblem {
        function_path: item.update.function_path.clone(),
        update_description: item.update.description.clone(),
        update_signature: item.update.signature.clone(),
        update_docstring: item.update.docstring.clone(),
        scenario: item.scenario.clone(),
        problem: item.problem.clone(),
        solution_signature: item.solution_signature.clone(),
    }
}

/// The three messages (system, user, open assistant prefill).
pub fn zero_shot_messages(item: &Item) -> Vec<Message> {
    cua_test_messages(&cua_problem(item))
}

/// The zero-shot test prompt rendered in ChatML, ending inside the open assistant message
/// (`Let me solve this step by step.\n<think>`).
pub fn zero_shot_prompt(item: &Item) -> String {
    render_chatml(&zero_shot_messages(item))
}
