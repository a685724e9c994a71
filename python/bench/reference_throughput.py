#!/usr/bin/env python3
"""Throughput of the reference reward (parity `format + es_star`) in one CPython process.

    python3 python/bench/reference_throughput.py --n 2000 --write-cases FILE [--seconds-only] [--seed S] [--runs 3]

Builds N realistic completions deterministically: 200-400 tokens (whitespace-
separated words) of reasoning inside <think>, then <answer> with a 10-30 line
python block that is a plausible migration of the target (exact, re-commented,
partially migrated, lightly edited, renamed variable, reordered lines).  Writes
them as JSONL (`id`, `completion`, `target`) to FILE -- the same file the Rust
CLI `recode reward --input FILE` reads -- then times the oracle's parity
`format_reward + es_star` (Levenshtein by the plain full-table DP, the
reference's cost) over all N cases, RUNS times, and reports the median
completions/second.  With --seconds-only the only output is that number.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))
import reward_oracle as ro  # noqa: E402

WORDS = ("the update note says that old function is deprecated and replaced by new one so I need to change "
         "call keep behaviour same arguments renamed keyword default value changed module moved rest of code "
         "stays as it is return shape identical downstream works imports unchanged only line using API "
         "differs let me check carefully whether other calls also need migration numpy pandas torch axis "
         "dtype index column frame tensor array result output value first then finally also because").split()

OLD_NEW = [
    ("np.asscalar({v}.mean())", "{v}.mean().item()"),
    ("np.alen({v})", "len({v})"),
    ("np.product({v})", "np.prod({v})"),
    ("{v}.astype(np.float)", "{v}.astype(np.float64)"),
    ("np.in1d({v}, keep)", "np.isin({v}, keep)"),
    ("np.row_stack([{v}, {v}])", "np.vstack([{v}, {v}])"),
    ("{d}.append(row, ignore_index=True)", "pd.concat([{d}, pd.DataFrame([row])], ignore_index=True)"),
    ("{d}.ix[0]", "{d}.iloc[0]"),
    ("{d}['{c}'].iteritems()", "{d}['{c}'].items()"),
    ("{d}.fillna(method='ffill')", "{d}.ffill()"),
    ("torch.qr({v})", "torch.linalg.qr({v})"),
    ("torch.symeig({v}, eigenvectors=True)", "torch.linalg.eigh({v})"),
    ("F.softmax({v})", "F.softmax({v}, dim=-1)"),
    ("ax.set_axis_bgcolor('white')", "ax.set_facecolor('white')"),
    ("cm.get_cmap('viridis', 8)", "matplotlib.colormaps['viridis'].resampled(8)"),
    ("ax.grid(b=True)", "ax.grid(visible=True)"),
]

FILLER = [  # units of one or more lines; block openers come with their bodies
    ("{v} = load_data('{c}.csv')",),
    ("{v} = {v}[{v} > 0]",),
    ("print({v}.shape)",),
    ("total = {v}.sum()",),
    ("{d} = {d}.dropna(subset=['{c}'])",),
    ("{d}['{c}_norm'] = {d}['{c}'] / {d}['{c}'].max()",),
    ("for i, row in enumerate({v}):", "    logger.info('row %d: %s', i, row)"),
    ("if {v}.ndim > 1:", "    {v} = {v}.reshape(-1)"),
    ("result = process({v}, axis=0)",),
    ("fig, ax = plt.subplots(figsize=(8, 4))", "ax.plot({v}, label='{c}')", "ax.legend(loc='best')"),
    ("model.eval()",),
    ("with torch.no_grad():", "    out = model({v})"),
    ("mean, std = {v}.mean(), {v}.std()", "{v} = ({v} - mean) / std"),
    ("assert {v} is not None",),
    ("def summarise({v}):", "    \"\"\"Summary statistics of {v}.\"\"\"", "    return {v}.min(), {v}.max()"),
]
IMPORTS = ["import numpy as np", "import pandas as pd", "import torch", "import torch.nn.functional as F",
           "import matplotlib", "import matplotlib.pyplot as plt", "import matplotlib.cm as cm"]
VARS = ["x", "arr", "data", "values", "scores", "weights", "feats", "batch"]
DFS = ["df", "frame", "sales", "users"]
COLS = ["price", "qty", "region", "score", "label", "amount", "age", "clicks"]


def make_pair(r):
    v, d, c = r.choice(VARS), r.choice(DFS), r.choice(COLS)
    n_lines = r.randint(10, 30)
    imports = sorted(r.sample(IMPORTS, r.randint(1, 3)))
    body_old, body_new = [], []
    n_changes = r.randint(1, 3)
    while len(body_new) < n_lines - len(imports) - n_changes:
        for line in r.choice(FILLER):
            line = line.format(v=v, d=d, c=c)
            body_old.append(line)
            body_new.append(line)
    for _ in range(n_changes):
        # insert the changed statement at a top-level position
        spots = [i for i in range(len(body_new) + 1) if i == len(body_new) or not body_new[i].startswith(" ")]
        at = r.choice(spots)
        o, nw = r.choice(OLD_NEW)
        lhs = r.choice(["result", "out", v, "tmp"])
        body_old.insert(at, f"{lhs} = " + o.format(v=v, d=d, c=c))
        body_new.insert(at, f"{lhs} = " + nw.format(v=v, d=d, c=c))
    return "\n".join(imports + body_old), "\n".join(imports + body_new)


def variant(r, old, new):
    lines = new.split("\n")
    k = r.randrange(6)
    if k == 0:  # exact
        return new
    if k == 1:  # comments and blank lines added
        out = []
        for l in lines:
            out.append(l + ("  # updated for the new API" if r.random() < 0.2 else ""))
            if r.random() < 0.1:
                out.append("")
        return "\n".join(out)
    if k == 2:  # partial migration (the old code)
        return old
    if k == 3:  # light character edits
        s = list(new)
        for _ in range(r.randint(1, 6)):
            i = r.randrange(len(s))
            if s[i].isalpha():
                s[i] = r.choice("abcdefghijklmnopqrstuvwxyz")
        return "".join(s)
    if k == 4:  # renamed variable
        return new.replace("result", "res")
    # two adjacent body lines swapped
    if len(lines) > 4:
        i = r.randrange(len(lines) - 4) + 3
        if not any(l.startswith(" ") or l.endswith(":") for l in lines[i:i + 3]):
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
    return "\n".join(lines)


def build_cases(n, seed):
    r = random.Random(seed)
    cases = []
    for i in range(n):
        old, new = make_pair(r)
        reasoning = " ".join(r.choice(WORDS) for _ in range(r.randint(200, 400)))
        code = variant(r, old, new)
        completion = f"\n{reasoning}\n</think>\n<answer>\n```python\n{code}\n```\n</answer>"
        cases.append({"id": f"bench-{i}", "completion": completion, "target": new})
    return cases


def reward(completion, target):
    """Parity `format + es_star`, the reference's way (full-table Levenshtein)."""
    fmt = ro.format_reward(completion)
    code = ro.extract_parity(completion)
    if code is None:
        return fmt - 2.0
    a = ro.normalize_parity(code)
    ok, _ = ro.parses(a)
    if not ok:
        return fmt - 2.0
    b = ro.normalize_parity(target)
    longest = max(len(a), len(b))
    es = 1.0 if longest == 0 else 1 - ro.lev_full(a, b) / longest
    return fmt + es * 3.5 - 1.5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write-cases", metavar="FILE")
    ap.add_argument("--seconds-only", action="store_true",
                    help="print only the median completions/second")
    args = ap.parse_args()
    cases = build_cases(args.n, args.seed)
    if args.write_cases:
        with open(args.write_cases, "w", encoding="utf-8", newline="\n") as f:
            for c in cases:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")
    rates, secs = [], []
    checksum = 0.0
    for _ in range(args.runs):
        t = time.perf_counter()
        checksum = 0.0
        for c in cases:
            checksum += reward(c["completion"], c["target"])
        dt = time.perf_counter() - t
        secs.append(dt)
        rates.append(len(cases) / dt)
    med = statistics.median(rates)
    if args.seconds_only:
        print(f"{med:.2f}")
        return
    avg_c = sum(len(c["completion"]) for c in cases) / len(cases)
    avg_t = sum(len(c["target"]) for c in cases) / len(cases)
    print(f"cases: {len(cases)} (mean completion {avg_c:.0f} chars, mean target {avg_t:.0f} chars)")
    print("runs (s): " + ", ".join(f"{s:.2f}" for s in secs))
    print(f"sum of rewards: {checksum!r}")
    print(f"median throughput: {med:.2f} completions/s (single process, CPython {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
