"""Shared fixtures: the repository, the `recode` CLI, and the golden reward cases.

The tests exercise the installed `recode` wheel (never a source tree on sys.path) against the
`recode` CLI built from the same crates: RECODE_CLI names the binary, else
target/debug/recode, else target/release/recode (scripts/test-python builds it).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _cli_path():
    env = os.environ.get("RECODE_CLI")
    candidates = [Path(env)] if env else []
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    candidates += [target / "debug" / "recode", target / "release" / "recode"]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    pytest.fail(
        "the recode CLI is needed (set RECODE_CLI or run `cargo build -p recode-cli`); looked at "
        + ", ".join(str(c) for c in candidates)
    )


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def recode_cli():
    return _cli_path()


def run_cli(cli, *args, input_bytes=None, check=True):
    proc = subprocess.run([str(cli), *map(str, args)], input=input_bytes, capture_output=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"recode {' '.join(map(str, args))} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}"
        )
    return proc


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def golden_cases(tmp_path_factory):
    """The oracle's generated cases (seed 7, as crates/recode-rewards/tests/oracle.rs, first 1000)
    plus data/sample-completions.jsonl; each {"id", "completion", "target"}."""
    gen = subprocess.run(
        [sys.executable, str(REPO / "python/oracle/gen_cases.py"), "--seed", "7", "--n", "1000"],
        capture_output=True,
        check=True,
    )
    cases = [json.loads(line) for line in gen.stdout.decode("utf-8").split("\n") if line.strip()]
    for c in read_jsonl(REPO / "data/sample-completions.jsonl"):
        cases.append({"id": c["id"], "completion": c["completion"], "target": c["target"]})
    assert len(cases) > 1000
    path = tmp_path_factory.mktemp("golden") / "cases.jsonl"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for c in cases:
            f.write(json.dumps({"id": c["id"], "completion": c["completion"], "target": c["target"]}, ensure_ascii=False) + "\n")
    return path, cases
