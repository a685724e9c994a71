//! The prompts of spec §3, compared byte for byte with strings written out in full.
use recode_data::Item;
use recode_data::prompt::{CuaProblem, Message, Role, cua_test_messages, render_chatml, training_messages};

fn numpy_item() -> Item {
    serde_json::from_str(
        r#"{"dependency":"Numpy","new_version":"==2.2.0","description":"Set a ufunc docstring.",
            "update_info":"_add_newdoc_ufunc is now deprecated. ufunc.__doc__ = newdoc should be used instead.",
            "old_code":"import numpy as np\nnp._add_newdoc_ufunc(np.add, \"doc\")",
            "new_code":"import numpy as np\nnp.add.__doc__ = \"doc\""}"#,
    )
    .unwrap()
}

const EXPECTED_TRAINING_PROMPT: &str = "<|im_start|>system\n\
You are a helpful coding assistant. Your task is to transform the old version of the code into the new version specified, based on the update information. You first thinks about the reasoning process in the mind and then provides the solution.<|im_end|>\n\
<|im_start|>user\n\
\n\
Numpy performed an API update in version 2.2.0, and the update content includes:\n\
<doc>\n\
_add_newdoc_ufunc is now deprecated. ufunc.__doc__ = newdoc should be used instead.\n\
</doc>\n\
The old version of the code is:\n\
```python\n\
import numpy as np\n\
np._add_newdoc_ufunc(np.add, \"doc\")\n\
```\n\
\n\
Show your work in <think> </think> tags. And return the final code in <answer> </answer>, the code within <answer></answer> should be enclosed in ```python ``` tags.\n\
<|im_end|>\n\
<|im_start|>assistant\n\
Let me solve this step by step.\n\
<think>";

#[test]
fn training_prompt_is_exact() {
    let rendered = render_chatml(&training_messages(&numpy_item()));
    assert_eq!(rendered, EXPECTED_TRAINING_PROMPT);
    // The same thing spelled out with explicit escapes only, to rule out any line-continuation
    // surprise in the constant above.
    let user = "\nNumpy performed an API update in version 2.2.0, and the update content includes:\n<doc>\n_add_newdoc_ufunc is now deprecated. ufunc.__doc__ = newdoc should be used instead.\n</doc>\nThe old version of the code is:\n```python\nimport numpy as np\nnp._add_newdoc_ufunc(np.add, \"doc\")\n```\n\nShow your work in <think> </think> tags. And return the final code in <answer> </answer>, the code within <answer></answer> should be enclosed in ```python ``` tags.\n";
    let system = "You are a helpful coding assistant. Your task is to transform the old version of the code into the new version specified, based on the update information. You first thinks about the reasoning process in the mind and then provides the solution.";
    let expected = format!(
        "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\nLet me solve this step by step.\n<think>"
    );
    assert_eq!(rendered, expected);
    assert!(!rendered.ends_with("<|im_end|>\n"));
}

#[test]
fn training_messages_are_exact() {
    let messages = training_messages(&numpy_item());
    assert_eq!(messages.len(), 3);
    assert_eq!(messages.iter().map(|m| m.role).collect::<Vec<_>>(), [Role::System, Role::User, Role::Assistant]);
    assert_eq!(messages[2].content, "Let me solve this step by step.\n<think>");
    let json = serde_json::to_string(&messages[2]).unwrap();
    assert_eq!(json, r#"{"role":"assistant","content":"Let me solve this step by step.\n<think>"}"#);
}

#[test]
fn version_drops_first_two_characters_only() {
    let mut item = numpy_item();
    item.new_version = "==1.0".into();
    assert!(render_chatml(&training_messages(&item)).contains(" in version 1.0, and"));
    // Python's `[2:]` counts code points, and there is no further trimming.
    item.new_version = "éé3.10rc1 ".into();
    assert!(render_chatml(&training_messages(&item)).contains(" in version 3.10rc1 , and"));
    item.new_version = "=".into();
    assert!(render_chatml(&training_messages(&item)).contains(" in version , and"));
}

#[test]
fn values_are_inserted_verbatim() {
    let mut item = numpy_item();
    item.old_code = "x = '{}' # {old_code}\n".into();
    item.update_info = "".into();
    let rendered = render_chatml(&training_messages(&item));
    assert!(rendered.contains("<doc>\n\n</doc>\n"));
    assert!(rendered.contains("```python\nx = '{}' # {old_code}\n\n```\n\n"));
}

#[test]
fn chatml_leaves_only_a_final_assistant_message_open() {
    assert_eq!(render_chatml(&[]), "");
    let user = Message::new(Role::User, "hi");
    let assistant = Message::new(Role::Assistant, "ok");
    assert_eq!(render_chatml(std::slice::from_ref(&user)), "<|im_start|>user\nhi<|im_end|>\n");
    assert_eq!(
        render_chatml(&[assistant.clone(), user.clone()]),
        "<|im_start|>assistant\nok<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
    );
    assert_eq!(render_chatml(&[user, assistant]), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nok");
}

fn sin_problem() -> CuaProblem {
    CuaProblem {
        function_path: "math.sin".into(),
        update_description: "Add a 'unit' argument to choose radians or degrees".into(),
        update_signature: "math.sin(x, unit='radians')".into(),
        update_docstring: "The new 'unit' argument selects the unit of x.\nIt defaults to 'radians'.".into(),
        scenario: "A surveyor records angles in degrees.".into(),
        problem: "Compute the sines of a list of angles given in degrees.".into(),
        solution_signature: "def sines(angles: List[float]) -> List[float]:".into(),
    }
}

#[test]
fn cua_test_prompt_is_exact() {
    let rendered = render_chatml(&cua_test_messages(&sin_problem()));
    let expected = "<|im_start|>system\n\
You are a helpful code assistant. You first think about the reasoning process in the mind and then provide a Python solution to a problem in a real-world scenario.<|im_end|>\n\
<|im_start|>user\n\
Update Note: There's an recent update to a function math.sin \u{2013} Add a 'unit' argument to choose radians or degrees. The function now has a new function signature \u{2013} math.sin(x, unit='radians'). Here is a detailed documentation about the update: <doc>\n\
The new 'unit' argument selects the unit of x.\n\
It defaults to 'radians'.\n\
</doc>\n\
Scenario: A surveyor records angles in degrees.\n\
Problem: Compute the sines of a list of angles given in degrees.\n\
Solution Signature: def sines(angles: List[float]) -> List[float]:\n\
\n\
Show your work in <think> </think> tags. And return the final code in <answer> </answer>, the code within <answer></answer> should be enclosed in ```python ``` tags.\n\
<|im_end|>\n\
<|im_start|>assistant\n\
Let me solve this step by step.\n\
<think>";
    assert_eq!(rendered, expected);
    // The dash is U+2013 (three bytes in UTF-8), as in the spec.
    assert!(rendered.contains("math.sin \u{2013} Add"));
    assert!(rendered.as_bytes().windows(5).any(|w| w == b" \xe2\x80\x93 "));
    let messages = cua_test_messages(&sin_problem());
    assert_eq!(messages.iter().map(|m| m.role).collect::<Vec<_>>(), [Role::System, Role::User, Role::Assistant]);
    assert!(messages[1].content.starts_with("Update Note: "));
}
