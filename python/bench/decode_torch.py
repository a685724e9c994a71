"""PyTorch + transformers `generate` throughput, the peer of recode-models' decode_bench.

    python python/bench/decode_torch.py HF_DIR [NEW_TOKENS] [BATCH ...]

Same prompts as `cargo run --release -p recode-models --example decode_bench`: the §3.1
training prompts of the first 16 items of data/train.jsonl (rendered by `recode data prompt`),
left-padded, greedy, f32, every row forced to NEW_TOKENS tokens, torch on all cores.
"""
import subprocess
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main() -> None:
    hf_dir = sys.argv[1]
    new_tokens = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    batches = [int(b) for b in sys.argv[3:]] or [1, 8, 16]
    prompts = [
        subprocess.run(
            ["target/debug/recode", "data", "prompt", "data/train.jsonl", "--index", str(i)],
            check=True, capture_output=True, text=True,
        ).stdout
        for i in range(16)
    ]
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32).eval()
    print(f"model {hf_dir}  new tokens {new_tokens}  torch {torch.__version__}  threads {torch.get_num_threads()}")
    for b in batches:
        rows = [prompts[i % len(prompts)] for i in range(b)]
        enc = tokenizer(rows, return_tensors="pt", padding=True, add_special_tokens=False)
        started = time.perf_counter()
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        seconds = time.perf_counter() - started
        generated = (out.shape[1] - enc["input_ids"].shape[1]) * b
        print(f"batch {b:>2}: {generated} tokens in {seconds:.1f} s = {generated / seconds:.1f} tok/s overall")


if __name__ == "__main__":
    main()
