"""The package's API: argument handling, errors, prompts, validation, GIL release, fork safety."""

import functools
import json
import multiprocessing
import threading
import time

import pytest

import recode
from conftest import REPO, read_jsonl, run_cli

GOOD = "\nrename the call\n</think>\n<answer>\n```python\nimport numpy as np\ny = np.prod(x)\n```\n</answer>"
TARGET = "import numpy as np\ny = np.prod(x)"


def test_trl_calling_convention():
    # TRL calls reward functions with keyword arguments only, and passes more than they use.
    kwargs = dict(prompts=["p", "p"], completion_ids=[[1], [2]], target=[TARGET, TARGET], id=["a", "b"],
                  trainer_state=object(), log_extra=None, log_metric=None)
    assert recode.format_reward(completions=[GOOD, "no"], **kwargs) == [1.0, -1.0]
    assert recode.es_star(completions=[GOOD, "no"], **kwargs) == [2.0, -2.0]
    assert recode.em_star(completions=[GOOD, "no"], **kwargs) == [2.0, -2.0]
    assert recode.recode_reward(completions=[GOOD, "no"], **kwargs) == [3.0, -3.0]
    fixed = functools.partial(recode.es_star, mode="fixed")
    assert fixed(completions=[GOOD], **{**kwargs, "target": [TARGET]}) == [2.0]
    for f in (recode.format_reward, recode.es_star, recode.em_star, recode.recode_reward):
        assert f.__name__ in {"format_reward", "es_star", "em_star", "recode_reward"}
    assert recode.es_star([], target=[]) == []


def test_conversational_completions():
    conv = [[{"role": "assistant", "content": GOOD}], ({"role": "assistant", "content": "x"},)]
    assert recode.format_reward(conv) == [1.0, -1.0]
    # The last assistant message is the one read; other roles are skipped.
    multi = [[{"role": "assistant", "content": "x"}, {"role": "tool", "content": "out"},
              {"role": "assistant", "content": GOOD}]]
    assert recode.es_star(multi, [TARGET]) == [2.0]
    # Only a leading prefill is removed (TRL's old "bootstrap").
    assert recode.format_reward([[{"role": "assistant", "content": recode.ASSISTANT_PREFILL + GOOD}]]) == [1.0]
    assert recode.format_reward([[{"role": "assistant", "content": "<think>" + GOOD}]]) == [-1.0]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: recode.format_reward("one string"), TypeError, "completions must be a list"),
        (lambda: recode.es_star([GOOD], TARGET), TypeError, "target must be a list of strings"),
        (lambda: recode.es_star([GOOD, GOOD], [TARGET]), ValueError, "target has 1 entries but there are 2"),
        (lambda: recode.es_star([GOOD, 3], [TARGET, TARGET]), TypeError, "completions[1]: expected a str"),
        (lambda: recode.es_star([GOOD], [None]), TypeError, "target[0]: expected a str, got NoneType"),
        (lambda: recode.es_star([GOOD], [TARGET], mode="exact"), ValueError, "mode must be 'parity' or 'fixed'"),
        (lambda: recode.format_reward([[{"role": "user", "content": "x"}]]), ValueError, "no message with role 'assistant'"),
        (lambda: recode.format_reward([[{"content": "x"}]]), ValueError, "completions[0][0]: message has no 'role'"),
        (lambda: recode.format_reward([[{"role": "assistant"}]]), ValueError, "has no 'content'"),
        (lambda: recode.format_reward([["text"]]), TypeError, "completions[0][0]: expected a {'role', 'content'}"),
        (lambda: recode.es_star([GOOD], target=None), TypeError, "target must be a list of strings"),
        (lambda: recode.compute_score("recode/x", GOOD, None), TypeError, "ground_truth must be a str"),
        (lambda: recode.compute_score("recode/x", 5, TARGET), TypeError, "solution_str must be a str"),
        (lambda: recode.compute_score_batch(["s"], [GOOD, GOOD], [TARGET, TARGET]), ValueError, "data_sources has 1 entries"),
        (lambda: recode.score_batch([GOOD], [TARGET, TARGET]), ValueError, "targets has 2 entries"),
    ],
)
def test_bad_input_is_reported_precisely(call, error, message):
    with pytest.raises(error) as e:
        call()
    assert message in str(e.value)


def test_missing_target_column_is_a_type_error():
    with pytest.raises(TypeError, match="target"):
        recode.es_star(completions=[GOOD], prompts=["p"])


def test_verl_results():
    assert recode.compute_score("recode/numpy", GOOD, TARGET) == 3.0
    assert recode.compute_score(data_source="recode/numpy", solution_str=GOOD, ground_truth=TARGET,
                                extra_info={"index": 0}) == 3.0
    d = recode.compute_score("recode/numpy", "nothing", TARGET, None, return_dict=True)
    assert d == {"score": -3.0, "format": -1.0, "em_star": -2.0, "es_star": -2.0}
    # verl's reward loop may pass more context; it is ignored.
    assert recode.compute_score("s", GOOD, TARGET, {}, reward_router_address=None) == 3.0
    from recode import verl

    assert verl.compute_score is recode.compute_score
    assert verl.compute_score_batch is recode.compute_score_batch


def test_score_reports_where_the_reference_raises():
    only_comment = "x</think><answer>\n```python\n# nothing\n```\n</answer>"
    s = recode.score(only_comment, "", mode="parity")
    assert s["reference_raises"] == "ZeroDivisionError" and s["es_star"] == 2.0
    assert recode.score(only_comment, "", mode="fixed")["reference_raises"] is None


def _items():
    return read_jsonl(REPO / "data/sample.jsonl")


def test_prompts_equal_the_cli_and_the_trl_export(recode_cli, tmp_path):
    items = _items()
    out = tmp_path / "trl.jsonl"
    run_cli(recode_cli, "data", "export", REPO / "data/sample.jsonl", "--format", "trl", "--out", out)
    exported = read_jsonl(out)
    assert len(exported) == len(items)
    for item, row in zip(items, exported):
        assert recode.training_prompt(item) == row["prompt"]
        assert row["target"] == item["new_code"]
        messages = recode.training_messages(item)
        assert [m["role"] for m in messages] == ["system", "user", "assistant"]
        assert messages[0]["content"] == recode.TRAIN_SYSTEM
        assert messages[1]["content"] == recode.training_user_content(item)
        assert messages[2]["content"] == recode.ASSISTANT_PREFILL
        assert recode.render_chatml(messages) == row["prompt"]
    for index in (0, len(items) - 1):
        cli = run_cli(recode_cli, "data", "prompt", REPO / "data/sample.jsonl", "--index", index).stdout.decode("utf-8")
        assert cli.rstrip("\n") == recode.training_prompt(items[index]).rstrip("\n")


def test_cua_prompt():
    problem = dict(function_path="math.sin", update_description="adds unit", update_signature="sin(x, unit)",
                   update_docstring="doc", scenario="S", problem="P", solution_signature="def f(x)")
    messages = recode.cua_test_messages(problem)
    assert messages[0]["content"] == recode.TEST_SYSTEM
    assert messages[1]["content"].startswith("Update Note: There's an recent update to a function math.sin \u2013 adds unit.")
    assert messages[2] == {"role": "assistant", "content": recode.ASSISTANT_PREFILL}
    with pytest.raises(ValueError, match='problem: missing "scenario"'):
        recode.cua_test_messages({k: v for k, v in problem.items() if k != "scenario"})


def test_prompt_item_errors():
    item = _items()[0]
    with pytest.raises(ValueError, match="item: new_code: missing"):
        recode.training_prompt({k: v for k, v in item.items() if k != "new_code"})
    with pytest.raises(ValueError, match="item: dependency: expected a string, found a number"):
        recode.training_prompt({**item, "dependency": 3})
    with pytest.raises(TypeError, match="item must be a dict"):
        recode.training_prompt(["not", "an", "item"])


def test_validate_matches_the_cli(recode_cli, tmp_path):
    reports = recode.validate(REPO / "data/sample.jsonl")
    assert len(reports) == 1 and reports[0]["ok"] and reports[0]["items"] == len(_items())
    bad = tmp_path / "bad.jsonl"
    item = _items()[0]
    lines = [json.dumps(item), "", "{not json", json.dumps({**item, "new_version": "2.0"}), json.dumps([1])]
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = recode.validate([str(bad)])[0]
    assert not report["ok"] and report["lines"] == 5
    cli = run_cli(recode_cli, "data", "validate", bad, check=False)
    assert cli.returncode == 1
    cli_lines = [l for l in cli.stdout.decode("utf-8").splitlines() + cli.stderr.decode("utf-8").splitlines()
                 if l.startswith(str(bad) + ":")]
    assert [p["text"] for p in report["problems"]] == cli_lines
    assert {p["line"] for p in report["problems"]} >= {2, 3, 4, 5}
    text_report = recode.validate_jsonl(bad.read_bytes(), file="mem.jsonl")
    assert [p["message"] for p in text_report["problems"]] == [p["message"] for p in report["problems"]]
    with pytest.raises(OSError, match="cannot read"):
        recode.validate(tmp_path / "missing.jsonl")


def _heavy_batch(n=400):
    # Long pairs: the edit distance dominates, so the call runs for a while.
    body = "\n".join(f"value_{i} = compute(data, axis={i % 3})" for i in range(120))
    completion = f"\nthinking\n</think>\n<answer>\n```python\n{body}\n```\n</answer>"
    target = body.replace("compute", "evaluate")
    return [completion] * n, [target] * n


def test_the_gil_is_released_while_scoring():
    completions, targets = _heavy_batch()
    t0 = time.perf_counter()
    recode.score_batch(completions, targets)
    duration = time.perf_counter() - t0
    ticks = 0
    done = threading.Event()

    def score():
        recode.score_batch(completions, targets)
        done.set()

    worker = threading.Thread(target=score)
    worker.start()
    time.sleep(0.001)
    while not done.is_set():  # runs only while the GIL is free
        ticks += 1
        time.sleep(0)
    worker.join()
    # With the GIL held for the whole call this loop could not run at all during it.
    assert duration > 0.02, "batch too small to measure"
    assert ticks > 100, (ticks, duration)


def _score_in_child(queue):
    queue.put(recode.recode_reward([GOOD] * 64, [TARGET] * 64))


def test_scoring_works_in_a_forked_child():
    recode.recode_reward([GOOD] * 64, [TARGET] * 64)  # the parent's pool exists now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_score_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked child hung (thread pool inherited from the parent)"
    assert queue.get(timeout=5) == [3.0] * 64
