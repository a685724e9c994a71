"""Does a Hugging Face directory written by `recode model convert` give the same logits as
transformers loading the GGUF itself?

Loads the model twice in float32 -- `AutoModelForCausalLM.from_pretrained(HF_DIR)` and
`AutoModelForCausalLM.from_pretrained(dirname(GGUF), gguf_file=basename(GGUF))` -- runs the same
prompts (tokenized by each side's own tokenizer; the ids must agree), and reports the max abs
difference of the full-sequence logits, argmax agreement, and whether greedy continuations agree.

    /work/venvs/torch/bin/python python/weights_oracle/logits_oracle.py \
        --gguf ~/.cache/recode/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \
        --hf ~/.cache/recode/models/qwen2.5-coder-0.5b-instruct-hf [--json out.json]
"""

import argparse
import json
import os
import sys
import time

PROMPTS = [
    "<|im_start|>system\nYou are a helpful coding assistant.<|im_end|>\n<|im_start|>user\n"
    "Write a Python function that returns the n-th Fibonacci number.<|im_end|>\n<|im_start|>assistant\n",
    "import numpy as np\n\ndef normalize(x):\n    ",
    "The quick brown fox jumps over the lazy dog. 1234567890 ünïcödé 😀",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--hf", required=True)
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    gguf = os.path.abspath(os.path.expanduser(args.gguf))
    hf = os.path.abspath(os.path.expanduser(args.hf))
    start = time.time()
    ours_tok = AutoTokenizer.from_pretrained(hf)
    ours = AutoModelForCausalLM.from_pretrained(hf, dtype=torch.float32).eval()
    print(f"loaded {hf} in {time.time() - start:.1f} s", file=sys.stderr)
    start = time.time()
    ref_tok = AutoTokenizer.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf))
    ref = AutoModelForCausalLM.from_pretrained(
        os.path.dirname(gguf), gguf_file=os.path.basename(gguf), dtype=torch.float32
    ).eval()
    print(f"loaded {gguf} in {time.time() - start:.1f} s", file=sys.stderr)

    ours_params = sum(p.numel() for p in ours.parameters())
    results = {"gguf": gguf, "hf": hf, "parameters_hf": ours_params, "prompts": []}
    worst = 0.0
    for prompt in PROMPTS:
        ids = ours_tok(prompt, return_tensors="pt")["input_ids"]
        ref_ids = ref_tok(prompt, return_tensors="pt")["input_ids"]
        same_ids = ids.tolist() == ref_ids.tolist()
        with torch.no_grad():
            a = ours(ids).logits[0]
            b = ref(ids).logits[0]
            diff = (a - b).abs().max().item()
            scale = b.abs().max().item()
            argmax = (a.argmax(-1) == b.argmax(-1)).float().mean().item()
            gen_a = ours.generate(ids, max_new_tokens=args.new_tokens, do_sample=False, pad_token_id=ours_tok.pad_token_id)
            gen_b = ref.generate(ids, max_new_tokens=args.new_tokens, do_sample=False, pad_token_id=ours_tok.pad_token_id)
        worst = max(worst, diff)
        row = {
            "prompt": prompt[:60],
            "tokens": ids.shape[1],
            "same_token_ids": same_ids,
            "max_abs_logit_diff": diff,
            "max_abs_logit": scale,
            "argmax_agreement": argmax,
            "same_greedy_continuation": gen_a.tolist() == gen_b.tolist(),
            "continuation": ours_tok.decode(gen_a[0, ids.shape[1]:]),
        }
        results["prompts"].append(row)
        print(json.dumps(row, ensure_ascii=False))
    results["max_abs_logit_diff"] = worst
    print(f"max abs logit diff over {len(PROMPTS)} prompts: {worst:.3g}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
