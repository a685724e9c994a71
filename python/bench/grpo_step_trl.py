"""TRL's GRPOTrainer + PEFT on the CPU: the peer of `recode train` in BENCHMARKS.md (issue 4).

Same weights (a Hugging Face directory, e.g. `recode model convert` of the default GGUF), the
same prompts (`recode data export data/train.jsonl --format trl`: the rendered §3.1 text), the
same reward (format + ES* from the `recode` wheel), G = 8 completions of at most 128 tokens for
one prompt per step, LoRA r = 8 / alpha = 16 on q/k/v/o, beta = 0.001, f32. Prints each step's
seconds (generation included) and the process's peak resident memory.

    python python/bench/grpo_step_trl.py MODEL_DIR TRL_JSONL [--steps 3]
"""

import argparse
import json
import resource
import tempfile
import time

import recode
import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import TrainerCallback
from trl import GRPOConfig, GRPOTrainer


class StepTimer(TrainerCallback):
    def __init__(self):
        self.started = None
        self.seconds = []

    def on_step_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self.started)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"RESULT trl step={len(self.seconds)} seconds={self.seconds[-1]:.2f} peak_rss_mb={rss:.0f}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [json.loads(line) for line in open(args.data)]
    dataset = Dataset.from_list([{"prompt": r["prompt"], "target": r["target"]} for r in rows])

    def reward(completions, target, **kwargs):
        return recode.recode_reward(completions, target)

    config = GRPOConfig(
        output_dir=tempfile.mkdtemp(prefix="trl-grpo-"),
        per_device_train_batch_size=8,
        num_generations=8,
        max_completion_length=128,
        beta=0.001,
        learning_rate=2e-4,
        lr_scheduler_type="constant",
        max_steps=args.steps,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        bf16=False,
        temperature=1.0,
        seed=42,
    )
    peft_config = LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM"
    )
    timer = StepTimer()
    trainer = GRPOTrainer(
        model=args.model,
        reward_funcs=reward,
        args=config,
        train_dataset=dataset,
        peft_config=peft_config,
        callbacks=[timer],
    )
    trainer.processing_class.padding_side = "left"
    trainer.train()
    steady = timer.seconds[1:] or timer.seconds
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"SUMMARY trl steps={len(timer.seconds)} mean_seconds_after_first={sum(steady) / len(steady):.2f} peak_rss_mb={rss:.0f}")


if __name__ == "__main__":
    main()
