"""Reference tokenizations for recode-weights' GGUF tokenizer.

Writes one JSON line per corpus text with the ids that transformers produces for the same GGUF
(`AutoTokenizer.from_pretrained(dir, gguf_file=...)`) and, when given, the ids of an upstream
Hugging Face `tokenizer.json` (the file the GGUF was converted from, or one with the same
vocabulary and merges). The Rust test `real_tokenizers_match_the_oracle` (crates/recode-weights/
tests/real_models.rs, ignored by default) reads the file and compares.

    /work/venvs/torch/bin/python python/weights_oracle/tokenizer_oracle.py \
        --gguf ~/.cache/recode/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \
        --data data/train.jsonl --out /tmp/qwen-oracle.jsonl \
        [--reference-tokenizer-json path/to/tokenizer.json]
"""

import argparse
import json
import os
import sys
import unicodedata

TRAIN_SYSTEM = (
    "You are a helpful coding assistant. Your task is to transform the old version of the code into the new "
    "version specified, based on the update information. You first thinks about the reasoning process in the "
    "mind and then provides the solution."
)

HANDWRITTEN = [
    "",
    " ",
    "hello world",
    " leading space",
    "trailing spaces   ",
    "\t\ttabs\tand\r\nCRLF\r\n",
    "I'M IT'S you're WE'LL they'd",
    "x = 1234567890 + 3.14159e-10 - 0x1F",
    "数字和中文：你好，世界！",
    "日本語のテキストとカタカナ",
    "한국어 텍스트",
    "emoji 😀👍🏽 👨‍👩‍👧 flags 🇫🇷",
    "Ünïcödé ÀÉÎÕÜ ßœæ",
    "decomposed e\u0301 and a\u0308 (not NFC)",
    "zero\u200bwidth\u200djoiner",
    "RTL: שלום עולם مرحبا",
    "math: ∑∫√∞≠≤ → ⇒",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|><|endoftext|>",
    "a<|im_end|>b<|im_start|>c",
    "<|fim_prefix|>def f(x):<|fim_suffix|>\n    return y<|fim_middle|>",
    "<tool_call>{\"name\": \"f\"}</tool_call>",
    "<|im_start|> spaced <|im_end|> ",
    "<|im_start|",
    "<think>reasoning</think><answer>```python\nprint(1)\n```</answer>",
    "    def method(self):\n        return self._x\n\n\n\nclass A:\n\tpass\n",
    "\n\n\n",
    "          ",
    "'''docstring'''  \"\"\"more\"\"\"  f'{x!r:>10}'",
    "url https://example.com/a?b=c&d=e#f  path C:\\Users\\x",
]


def corpus(data_path, limit):
    texts = list(HANDWRITTEN)
    if data_path and os.path.exists(data_path):
        with open(data_path, encoding="utf-8") as f:
            for index, line in enumerate(f):
                if index >= limit:
                    break
                item = json.loads(line)
                user = (
                    f"Update note ({item['dependency']} {item['new_version'][2:]}): {item['update_info']}\n\n"
                    f"Old code:\n```python\n{item['old_code']}\n```\n\nShow your work in <think> </think> tags."
                )
                texts.append(
                    f"<|im_start|>system\n{TRAIN_SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
                    f"<|im_start|>assistant\nLet me solve this step by step.\n<think>"
                )
                texts.append(item["new_code"])
                texts.append(item["description"])
    return texts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--data", default="data/train.jsonl")
    parser.add_argument("--limit", type=int, default=200, help="items of --data to use (3 texts each)")
    parser.add_argument("--reference-tokenizer-json")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from transformers import AutoTokenizer

    gguf = os.path.abspath(os.path.expanduser(args.gguf))
    from_gguf = AutoTokenizer.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf))
    reference = None
    if args.reference_tokenizer_json:
        from tokenizers import Tokenizer

        # A reference from a sibling model (e.g. Qwen3's tokenizer.json for Qwen2.5: same vocabulary
        # and merges, a few more added tokens) keeps only the added tokens this GGUF also has.
        with open(args.reference_tokenizer_json, encoding="utf-8") as f:
            document = json.load(f)
        kept = [t for t in document["added_tokens"] if from_gguf.convert_ids_to_tokens(t["id"]) == t["content"]]
        dropped = [t["content"] for t in document["added_tokens"] if t not in kept]
        if dropped:
            print(f"reference: dropped added tokens the GGUF does not have: {dropped}", file=sys.stderr)
        document["added_tokens"] = kept
        reference = Tokenizer.from_str(json.dumps(document))

    texts = corpus(args.data, args.limit)
    with open(args.out, "w", encoding="utf-8") as out:
        for text in texts:
            row = {
                "text": text,
                "nfc": unicodedata.normalize("NFC", text) == text,
                "transformers_gguf": from_gguf(text, add_special_tokens=True)["input_ids"],
                "reference": reference.encode(text, add_special_tokens=True).ids if reference else None,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(texts)} texts -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
