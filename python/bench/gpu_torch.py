"""PyTorch + transformers (+ PEFT) on a GPU (or the CPU), the peer of recode-models' decode_bench and
lora_step_bench run with `--random SHAPE` on the same weights (written by `decode_bench --random SHAPE
--save-hf DIR`), with the same token ids:

    python python/bench/gpu_torch.py decode HF_DIR [--device cuda] [--dtype f32|bf16] [--new-tokens 256] [--batches 1 8 16]
    python python/bench/gpu_torch.py lora   HF_DIR [--device cuda] [--dtype f32|bf16] [--rows 8] [--prompt 150] [--completion 256]
    python python/bench/gpu_torch.py summary LOG    (tables with ratios from both sides' RESULT lines)

decode: greedy `generate`, every row forced to NEW_TOKENS tokens, left-padded pseudo-random prompts of
96-159 tokens (decode_bench's `synthetic_prompt`), one untimed warm-up first.
lora: LoRA r = 8 / alpha = 16 on q/k/v/o, no dropout, adapters in the model's dtype (as recode's), loss =
sum of log pi over the completion tokens (logits only at completion positions, per-row log-softmax as
TRL computes them); 3 steps, the first a warm-up.
Peak device memory: total - free sampled every 2 ms (what recode's benchmarks report too), and
torch's own max_memory_allocated / max_memory_reserved. Prints `RESULT` lines in the format of the
Rust benchmarks (impl=torch).
"""
from __future__ import annotations

import argparse
import threading
import time

torch = None  # imported in main(): `summary` needs neither torch nor transformers


def ids(row: int, length: int, salt: int) -> list[int]:
    return [(7919 * i + 104729 * row + salt) % 30000 + 100 for i in range(length)]


def synthetic_prompt(row: int) -> list[int]:
    return ids(row, 96 + (row * 37) % 64, 3)


class MemorySampler:
    """Device memory in use (total - free), sampled every 2 ms; no-op on the CPU."""

    def __init__(self, device: torch.device):
        self.peak = 0
        self.active = device.type == "cuda"
        self.stop = threading.Event()
        if self.active:
            torch.cuda.reset_peak_memory_stats()
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            free, total = torch.cuda.mem_get_info()
            self.peak = max(self.peak, total - free)
            time.sleep(0.002)

    def finish(self) -> tuple[float, float, float]:
        """(peak used MiB, max allocated MiB, max reserved MiB)."""
        if not self.active:
            return 0.0, 0.0, 0.0
        self.stop.set()
        self.thread.join()
        mib = 1024 * 1024
        return self.peak / mib, torch.cuda.max_memory_allocated() / mib, torch.cuda.max_memory_reserved() / mib


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def load(hf_dir: str, device: torch.device, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(hf_dir, dtype=dtype).to(device)


def decode(args, device: torch.device, dtype: torch.dtype) -> None:
    model = load(args.hf_dir, device, dtype).eval()
    pad = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    prompts = [synthetic_prompt(r) for r in range(16)]

    def batch(rows: list[list[int]]):
        width = max(map(len, rows))
        input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=device)
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=device)
        return input_ids, mask

    def generate(rows, new_tokens):
        input_ids, mask = batch(rows)
        with torch.no_grad():
            out = model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=new_tokens,
                                 min_new_tokens=new_tokens, do_sample=False, pad_token_id=pad)
        sync(device)
        return out[:, input_ids.shape[1]:]

    generate(prompts[:1], 4)
    name = "bf16" if dtype == torch.bfloat16 else "f32"
    print(f"model {args.hf_dir}  new tokens {args.new_tokens}  device {device}  dtype {name}  torch {torch.__version__}")
    for b in args.batches:
        rows = [prompts[i % len(prompts)] for i in range(b)]
        sampler = MemorySampler(device)
        started = time.perf_counter()
        out = generate(rows, args.new_tokens)
        seconds = time.perf_counter() - started
        peak, allocated, reserved = sampler.finish()
        generated = out.shape[0] * out.shape[1]
        head = "-".join(str(t) for t in out[0, :8].tolist())
        print(f"batch {b:>2}: {generated} tokens in {seconds:.2f} s = {generated / seconds:.1f} tok/s overall"
              f" (peak device memory {peak:.0f} MiB, torch allocated {allocated:.0f} / reserved {reserved:.0f} MiB)")
        print(f"RESULT decode impl=torch device={device.type} dtype={name} batch={b} new_tokens={args.new_tokens} "
              f"seconds={seconds:.4f} tok_s={generated / seconds:.2f} peak_mib={peak:.0f} "
              f"torch_alloc_mib={allocated:.0f} row0_head={head}")


def lora(args, device: torch.device, dtype: torch.dtype) -> None:
    from peft import LoraConfig, get_peft_model

    model = load(args.hf_dir, device, dtype)
    config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    model = get_peft_model(model, config, autocast_adapter_dtype=False)
    model.train()
    rows, prompt_len, completion_len = args.rows, args.prompt, args.completion
    input_ids = torch.tensor([ids(r, prompt_len, 1) + ids(r, completion_len, 2) for r in range(rows)], device=device)
    sync(device)
    loaded = torch.cuda.mem_get_info() if device.type == "cuda" else (0, 0)
    loaded_mib = (loaded[1] - loaded[0]) / (1024 * 1024)
    name = "bf16" if dtype == torch.bfloat16 else "f32"
    for step in range(3):
        sampler = MemorySampler(device)
        started = time.perf_counter()
        logits = model(input_ids=input_ids, logits_to_keep=completion_len + 1).logits[:, :-1]
        targets = input_ids[:, prompt_len:]
        logp = torch.stack([torch.log_softmax(l.float(), dim=-1).gather(-1, t[:, None]).squeeze(-1)
                            for l, t in zip(logits, targets)])
        loss = logp.sum()
        sync(device)
        forward = time.perf_counter() - started
        loss.backward()
        sync(device)
        total = time.perf_counter() - started
        peak, allocated, reserved = sampler.finish()
        with_grad = sum(1 for p in model.parameters() if p.requires_grad and p.grad is not None)
        model.zero_grad(set_to_none=True)
        print(f"step {step}: {rows} x ({prompt_len} + {completion_len}) tokens: forward {forward:.3f} s, "
              f"forward+backward {total:.3f} s, {with_grad} adapter tensors with gradients, loss {loss.item():.3f}, "
              f"peak device memory {peak:.0f} MiB (after loading {loaded_mib:.0f} MiB; torch allocated "
              f"{allocated:.0f} / reserved {reserved:.0f} MiB)")
        print(f"RESULT lora_step impl=torch device={device.type} dtype={name} step={step} rows={rows} "
              f"prompt={prompt_len} completion={completion_len} forward_s={forward:.4f} total_s={total:.4f} "
              f"loss={loss.item():.4f} peak_mib={peak:.0f} loaded_mib={loaded_mib:.0f} torch_alloc_mib={allocated:.0f}")
        del logits, logp, loss


def summary(log_path: str) -> None:
    """Side-by-side tables from the RESULT lines of a log (recode's and torch's)."""
    results = []
    for line in open(log_path, encoding="utf-8", errors="replace"):
        if line.startswith("RESULT "):
            kind, *pairs = line.split()[1:]
            results.append((kind, dict(p.split("=", 1) for p in pairs if "=" in p)))
    decode_rows = {}
    for kind, r in results:
        if kind == "decode":
            decode_rows.setdefault((r["dtype"], int(r["batch"])), {})[r["impl"]] = r
    print("decode, 256 new tokens per row, greedy (tok/s = generated tokens / wall seconds, prefill included)")
    print(f"{'dtype':5} {'batch':>5} {'recode tok/s':>13} {'torch tok/s':>12} {'recode/torch':>13} "
          f"{'recode MiB':>11} {'torch MiB':>10}  same first ids")
    for (dtype, batch), by in sorted(decode_rows.items()):
        ours, theirs = by.get("recode"), by.get("torch")
        a = float(ours["tok_s"]) if ours else float("nan")
        b = float(theirs["tok_s"]) if theirs else float("nan")
        same = ours and theirs and ours.get("row0_head") == theirs.get("row0_head")
        print(f"{dtype:5} {batch:>5} {a:>13.1f} {b:>12.1f} {a / b:>12.2f}x "
              f"{(ours or {}).get('peak_mib', '-'):>11} {(theirs or {}).get('peak_mib', '-'):>10}  {bool(same)}")
    steps = {}
    for kind, r in results:
        if kind == "lora_step" and int(r["step"]) > 0:  # step 0 warms up
            steps.setdefault(r["dtype"], {}).setdefault(r["impl"], []).append(r)
    print("\nLoRA step (forward + backward), best of the steps after the warm-up")
    print(f"{'dtype':5} {'recode s':>9} {'torch s':>8} {'recode/torch time':>18} {'recode MiB':>11} "
          f"{'torch MiB':>10} {'recode loss':>12} {'torch loss':>12}")
    for dtype, by in sorted(steps.items()):
        best = {k: min(v, key=lambda r: float(r["total_s"])) for k, v in by.items()}
        ours, theirs = best.get("recode", {}), best.get("torch", {})
        a, b = float(ours.get("total_s", "nan")), float(theirs.get("total_s", "nan"))
        peak = {k: max(int(float(r["peak_mib"])) for r in v) for k, v in by.items()}
        print(f"{dtype:5} {a:>9.3f} {b:>8.3f} {a / b:>17.2f}x {peak.get('recode', '-'):>11} {peak.get('torch', '-'):>10} "
              f"{ours.get('loss', '-'):>12} {theirs.get('loss', '-'):>12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["decode", "lora", "summary"])
    parser.add_argument("hf_dir", help="the Hugging Face directory (summary: the log file)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--prompt", type=int, default=150)
    parser.add_argument("--completion", type=int, default=256)
    args = parser.parse_args()
    if args.mode == "summary":
        return summary(args.hf_dir)
    global torch
    import torch
    device = torch.device(args.device)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    torch.backends.cuda.matmul.allow_tf32 = False  # recode's f32 matmuls are full f32 (cuBLAS without TF32)
    (decode if args.mode == "decode" else lora)(args, device, dtype)


if __name__ == "__main__":
    main()
