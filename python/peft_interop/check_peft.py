"""Loads recode's PEFT adapters with Python PEFT and compares logits with recode's.

    cargo run -p recode-models --example peft_fixture -- /tmp/peft-fixture
    python python/peft_interop/check_peft.py /tmp/peft-fixture     # needs torch, transformers, peft

Checks, for LoRA and DoRA adapters written by recode: PEFT loads them without missing or
unexpected keys; PEFT's logits equal recode's; PEFT's merge_and_unload equals recode's merged
model (`recode model merge`'s weights) loaded by transformers. Exit 1 on any mismatch.
"""
import json
import sys
from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

TOL = 1e-4


def main(root: Path) -> int:
    expected = json.loads((root / "expected.json").read_text())
    ids = torch.tensor([expected["ids"]])
    failures = 0

    def check(name: str, logits: torch.Tensor, reference) -> None:
        nonlocal failures
        diff = (logits[0] - torch.tensor(reference)).abs().max().item()
        ok = diff < TOL
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: max |Δlogit| = {diff:.2e}")

    with torch.no_grad():
        base = AutoModelForCausalLM.from_pretrained(root / "base", torch_dtype=torch.float32)
        check("base (transformers) vs recode", base(ids).logits, expected["base"])
        for kind in ["lora", "dora"]:
            model = AutoModelForCausalLM.from_pretrained(root / "base", torch_dtype=torch.float32)
            peft_model = PeftModel.from_pretrained(model, root / kind)
            peft_model.eval()
            check(f"{kind}: PEFT adapter vs recode", peft_model(ids).logits, expected[kind])
            merged_peft = peft_model.merge_and_unload()
            check(f"{kind}: PEFT merge_and_unload vs recode", merged_peft(ids).logits, expected[kind])
            merged = AutoModelForCausalLM.from_pretrained(root / f"{kind}-merged", torch_dtype=torch.float32)
            check(f"{kind}: recode's merged weights in transformers vs recode", merged(ids).logits, expected[kind])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
