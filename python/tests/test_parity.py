"""Parity of the Python functions with the CLI (`recode reward`) and with the independent
Python oracle on the golden cases, in both modes."""

import json
import sys

import pytest

import recode
from conftest import REPO, run_cli

sys.path.insert(0, str(REPO / "python" / "oracle"))
import reward_oracle  # noqa: E402

MODES = ["parity", "fixed"]


@pytest.fixture(scope="module", params=MODES)
def cli_scores(request, recode_cli, golden_cases):
    path, cases = golden_cases
    proc = run_cli(recode_cli, "reward", "--input", path, "--mode", request.param, "--quiet", "--jobs", "2")
    rows = [json.loads(line) for line in proc.stdout.decode("utf-8").split("\n") if line.strip()]
    assert [r["id"] for r in rows] == [c["id"] for c in cases]
    return request.param, cases, rows


def test_score_batch_equals_cli(cli_scores):
    mode, cases, rows = cli_scores
    got = recode.score_batch([c["completion"] for c in cases], [c["target"] for c in cases], mode=mode)
    assert len(got) == len(rows)
    for case, mine, cli in zip(cases, got, rows):
        for key in ("format", "em_star", "es_star", "total", "mode"):
            assert mine[key] == cli[key], (case["id"], key)
        assert mine["reference_raises"] == cli.get("reference_raises"), case["id"]


def test_trl_and_verl_functions_equal_cli(cli_scores):
    mode, cases, rows = cli_scores
    completions = [c["completion"] for c in cases]
    target = [c["target"] for c in cases]
    assert recode.format_reward(completions) == [r["format"] for r in rows]
    assert recode.es_star(completions, target, mode=mode) == [r["es_star"] for r in rows]
    assert recode.em_star(completions, target, mode=mode) == [r["em_star"] for r in rows]
    assert recode.recode_reward(completions, target, mode=mode) == [r["total"] for r in rows]
    # Conversational completions score like the plain text, with or without TRL's old bootstrap.
    conversational = [[{"role": "assistant", "content": c}] for c in completions[:200]]
    assert recode.es_star(conversational, target[:200], mode=mode) == [r["es_star"] for r in rows[:200]]
    bootstrapped = [[{"role": "assistant", "content": recode.ASSISTANT_PREFILL + c}] for c in completions[:200]]
    assert recode.recode_reward(bootstrapped, target[:200], mode=mode) == [r["total"] for r in rows[:200]]
    # verl: one at a time, and batched.
    single = [recode.compute_score("recode/numpy", c, t, {}, mode=mode) for c, t in zip(completions[:300], target)]
    assert single == [r["total"] for r in rows[:300]]
    batch = recode.compute_score_batch(["recode/numpy"] * len(cases), completions, target, None, mode=mode)
    assert batch == [r["total"] for r in rows]


def test_agrees_with_the_python_oracle(golden_cases):
    """The independent oracle (python/oracle/reward_oracle.py) on the sample completions and
    the first 300 generated cases; exact up to 1e-12 as in crates/recode-rewards/tests/oracle.rs."""
    _, cases = golden_cases
    subset = cases[:300] + cases[1000:]
    for mode in MODES:
        got = recode.score_batch([c["completion"] for c in subset], [c["target"] for c in subset], mode=mode)
        for case, mine in zip(subset, got):
            want = reward_oracle.score(case["completion"], case["target"], mode)
            for key in ("format", "em_star", "es_star", "total"):
                assert abs(mine[key] - want[key]) <= 1e-12, (mode, case["id"], key, mine[key], want[key])
            assert mine["reference_raises"] == want["raises"], (mode, case["id"])
