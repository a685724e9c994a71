"""PyTorch + PEFT: one LoRA step's forward + backward, the peer of recode-models' lora_step_bench.

    python python/bench/lora_step_torch.py HF_DIR [ROWS] [PROMPT_LEN] [COMPLETION_LEN] [--checkpointed]

Same model (the converted Hugging Face directory), same token ids, LoRA r = 8 / α = 16 on
q/k/v/o, f32, loss = Σ log π over the completion tokens (logits only at completion positions and
a per-row log-softmax, as TRL computes them); prints seconds, the loading's peak RSS and the
steps' peak RSS (VmHWM reset after loading). `--checkpointed`: transformers' gradient
checkpointing (non-reentrant), as TRL enables by default.
"""
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM


def ids(row: int, length: int, salt: int) -> list[int]:
    return [(7919 * i + 104729 * row + salt) % 30000 + 100 for i in range(length)]


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024


def reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def main() -> None:
    checkpointed = "--checkpointed" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--checkpointed"]
    hf_dir = args[0]
    rows, prompt_len, completion_len = (int(a) for a in (args[1:4] + ["8", "150", "256"][len(args[1:4]):]))
    model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0,
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    if checkpointed:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.train()
    input_ids = torch.tensor([ids(r, prompt_len, 1) + ids(r, completion_len, 2) for r in range(rows)])
    loaded = peak_rss_mb()
    reset_peak_rss()
    for step in range(2):
        started = time.perf_counter()
        # As TRL does: logits only at the completion positions, then a log-softmax per row
        # (TRL's selective_log_softmax) to keep the [rows, len, vocab] tensors few.
        logits = model(input_ids=input_ids, logits_to_keep=completion_len + 1).logits[:, :-1]
        targets = input_ids[:, prompt_len:]
        logp = torch.stack([torch.log_softmax(l, dim=-1).gather(-1, t[:, None]).squeeze(-1) for l, t in zip(logits, targets)])
        loss = logp.sum()
        forward = time.perf_counter() - started
        loss.backward()
        total = time.perf_counter() - started
        model.zero_grad(set_to_none=True)
        print(f"step {step}: {rows} × ({prompt_len} + {completion_len}) tokens: forward {forward:.1f} s, "
              f"forward+backward {total:.1f} s, loss {loss.item():.1f}, peak RSS since loading {peak_rss_mb():.0f} MB "
              f"(loading's peak {loaded:.0f} MB), checkpointed {checkpointed}, "
              f"torch {torch.__version__} threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
