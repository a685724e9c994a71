"""TRL's GRPOTrainer, for real, with recode's reward functions and recode-exported data.

A tiny Qwen2 model with random weights and a byte-level BPE tokenizer trained here on the
exported prompts (no hub access), two GRPO steps on CPU. The reward functions are recode's,
wrapped only to record what they returned; the test asserts that the trainer logged exactly
those rewards, and that they are the CLI's (`recode reward`) for the same completions.
"""

import json
import math

import pytest

import recode
from conftest import REPO, read_jsonl, run_cli
from tiny import tiny_tokenizer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
trl = pytest.importorskip("trl")
datasets = pytest.importorskip("datasets")
tokenizers = pytest.importorskip("tokenizers")

def tiny_model(tokenizer):
    config = transformers.Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    model = transformers.Qwen2ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def recording(fn, name, calls):
    def reward(completions, **kwargs):
        out = fn(completions, **kwargs)
        calls.append({"completions": list(completions), "target": list(kwargs.get("target") or []),
                      "prompts": list(kwargs.get("prompts") or []), "rewards": list(out)})
        return out

    reward.__name__ = name
    return reward


def test_grpo_trainer_logs_recode_rewards(recode_cli, tmp_path):
    # recode-exported data: the TRL export of the first four sample items.
    items = read_jsonl(REPO / "data/sample.jsonl")[:4]
    source = tmp_path / "items.jsonl"
    source.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    exported = tmp_path / "train.trl.jsonl"
    run_cli(recode_cli, "data", "export", source, "--format", "trl", "--out", exported)
    rows = read_jsonl(exported)
    assert [r["target"] for r in rows] == [i["new_code"] for i in items]
    dataset = datasets.Dataset.from_list(rows)

    tokenizer = tiny_tokenizer([r["prompt"] for r in rows] + [r["target"] for r in rows])
    # Saved locally: with beta > 0 the trainer loads its reference model from the model's path.
    model_dir = tmp_path / "tiny-qwen2"
    tiny_model(tokenizer).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)

    format_calls, es_calls = [], []
    reward_funcs = [
        recording(recode.format_reward, "format_reward", format_calls),
        recording(recode.es_star, "es_star", es_calls),
    ]
    args = trl.GRPOConfig(
        output_dir=str(tmp_path / "out"),
        use_cpu=True,
        bf16=False,
        max_steps=2,
        per_device_train_batch_size=4,
        num_generations=2,
        max_completion_length=24,
        learning_rate=5e-5,
        beta=0.001,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        seed=42,
        dataloader_num_workers=0,
    )
    trainer = trl.GRPOTrainer(
        model=str(model_dir), reward_funcs=reward_funcs, args=args, train_dataset=dataset, processing_class=tokenizer
    )
    trainer.train()
    assert trainer.state.global_step == 2

    logs = [entry for entry in trainer.state.log_history if "rewards/format_reward/mean" in entry]
    assert len(logs) == 2 == len(format_calls) == len(es_calls)
    for log, f_call, e_call in zip(logs, format_calls, es_calls):
        assert len(f_call["rewards"]) == 4
        f_mean = sum(f_call["rewards"]) / 4
        e_mean = sum(e_call["rewards"]) / 4
        assert math.isclose(log["rewards/format_reward/mean"], f_mean, abs_tol=1e-6)
        assert math.isclose(log["rewards/es_star/mean"], e_mean, abs_tol=1e-6)
        totals = [a + b for a, b in zip(f_call["rewards"], e_call["rewards"])]
        assert math.isclose(log["reward"], sum(totals) / 4, abs_tol=1e-6)
        # The trainer passed each completion with its own prompt's target.
        by_prompt = {r["prompt"]: r["target"] for r in rows}
        assert e_call["target"] == [by_prompt[p] for p in e_call["prompts"]]
        assert e_call["completions"] == f_call["completions"]

    # The rewards recode returned inside the trainer are the CLI's for the same completions.
    cases = tmp_path / "completions.jsonl"
    with open(cases, "w", encoding="utf-8", newline="\n") as f:
        for call in es_calls:
            for c, t in zip(call["completions"], call["target"]):
                f.write(json.dumps({"completion": c, "target": t}, ensure_ascii=False) + "\n")
    cli = [json.loads(l) for l in run_cli(recode_cli, "reward", "--input", cases, "--quiet").stdout.decode("utf-8").split("\n") if l.strip()]
    assert [r["format"] for r in cli] == [x for call in format_calls for x in call["rewards"]]
    assert [r["es_star"] for r in cli] == [x for call in es_calls for x in call["rewards"]]
