#!/usr/bin/env python3
"""Python-side reward throughput: the `recode` package against the reference implementation.

    python python/tests/bench_throughput.py [--n 400] [--repeat 50] [--runs 5]

One process, the same completions for both sides: N realistic completions from
python/bench/reference_throughput.py (200-400 words of reasoning, then a 10-30-line python
block migrating the target), scored by
  * the reference: the oracle's parity `format + es_star` with the reference's full-table
    edit distance (`reference_throughput.reward`), once over the N cases;
  * recode.recode_reward(completions, target=...) -- the TRL reward function, one batch call
    (parallel, GIL released) -- over the N cases repeated REPEAT times;
  * recode.compute_score (verl's per-response function) in a Python loop, and
    recode.recode_reward on batches of one: the per-call cost, on the calling thread.
Run it again with RECODE_NUM_THREADS=1 for the batch figure on one thread.
Prints completions/s for each and the ratio to the reference (median of RUNS for recode).
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import reference_throughput as ref  # noqa: E402

import recode  # noqa: E402


def rate(n, seconds):
    return n / seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    cases = ref.build_cases(args.n, args.seed)
    completions = [c["completion"] for c in cases]
    targets = [c["target"] for c in cases]

    # The two sides must agree before their speeds are compared.
    mine = recode.recode_reward(completions, target=targets)
    for c, m in zip(cases, mine):
        want = ref.reward(c["completion"], c["target"])
        assert abs(m - want) <= 1e-12, (c["id"], m, want)

    t = time.perf_counter()
    for c in cases:
        ref.reward(c["completion"], c["target"])
    ref_rate = rate(len(cases), time.perf_counter() - t)

    big_c, big_t = completions * args.repeat, targets * args.repeat
    batch_rates, loop_rates, single_rates = [], [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        recode.recode_reward(big_c, target=big_t)
        batch_rates.append(rate(len(big_c), time.perf_counter() - t))
        t = time.perf_counter()
        for c, g in zip(big_c[: 10 * len(cases)], big_t):
            recode.compute_score("recode/numpy", c, g)
        loop_rates.append(rate(10 * len(cases), time.perf_counter() - t))
        t = time.perf_counter()
        for c, g in zip(big_c[: 10 * len(cases)], big_t):
            recode.recode_reward([c], target=[g])
        single_rates.append(rate(10 * len(cases), time.perf_counter() - t))

    b, l, s = (statistics.median(x) for x in (batch_rates, loop_rates, single_rates))
    avg_c = sum(map(len, completions)) / len(completions)
    avg_t = sum(map(len, targets)) / len(targets)
    print(f"{len(cases)} cases (mean completion {avg_c:.0f} chars, target {avg_t:.0f}); "
          f"CPython {sys.version.split()[0]}; recode {recode.__version__}, {recode.num_threads()} scoring threads")
    print("| scorer (one Python process) | completions/s | x reference |")
    print("|---|---|---|")
    print(f"| reference (oracle parity format + es_star, full-table edit distance) | {ref_rate:.1f} | 1 |")
    print(f"| recode.recode_reward, one batch of {len(big_c)} ({recode.num_threads()} threads, GIL released) "
          f"| {b:.0f} | {b / ref_rate:.0f}x |")
    print(f"| recode.compute_score, one call per completion (verl naive manager) | {l:.0f} | {l / ref_rate:.0f}x |")
    print(f"| recode.recode_reward, batches of 1 | {s:.0f} | {s / ref_rate:.0f}x |")


if __name__ == "__main__":
    main()
