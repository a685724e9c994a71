"""Cross-checks a verl Parquet file written by recode-export with pyarrow (and Jinja2).

Usage: check_verl_parquet.py FILE.parquet EXPECTED.json TEMPLATE.jinja

EXPECTED.json is a list with one object per row:
  {"data_source", "messages": [{"role", "content"}...], "ground_truth", "extra_info": {...},
   "rendered": the exact §3.1 prompt string}
Exits 0 when everything matches; prints what it checked. Jinja2 is optional (the template
check is skipped, with a message, when it is missing).
"""
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq

path, expected_path, template_path = sys.argv[1:4]
expected = json.load(open(expected_path, encoding="utf-8"))

table = pq.read_table(path)
message = pa.struct([("role", pa.string()), ("content", pa.string())])
want_schema = {
    "data_source": pa.string(),
    "prompt": pa.list_(message),
    "ability": pa.string(),
    "reward_model": pa.struct([("style", pa.string()), ("ground_truth", pa.string())]),
    "extra_info": pa.struct(
        [
            ("index", pa.int64()),
            ("id", pa.string()),
            ("dependency", pa.string()),
            ("new_version", pa.string()),
            ("update_type", pa.string()),
            ("source", pa.string()),
        ]
    ),
}
assert table.column_names == list(want_schema), table.column_names
for name, typ in want_schema.items():
    got = table.schema.field(name).type
    # list field names ("item"/"element") do not matter to readers; compare the value type.
    if pa.types.is_list(typ):
        assert pa.types.is_list(got), (name, got)
        assert got.value_type == typ.value_type, (name, got)
    else:
        assert got == typ, (name, got, typ)
assert table.num_rows == len(expected), (table.num_rows, len(expected))

rows = table.to_pylist()
for i, (row, want) in enumerate(zip(rows, expected)):
    assert row["data_source"] == want["data_source"], (i, row["data_source"])
    assert row["ability"] == "code-migration", (i, row["ability"])
    assert row["prompt"] == want["messages"], (i, row["prompt"])
    assert [m["role"] for m in row["prompt"]] == ["system", "user", "assistant"], i
    assert row["prompt"][2]["content"] == "Let me solve this step by step.\n<think>", i
    assert row["reward_model"] == {"style": "rule", "ground_truth": want["ground_truth"]}, i
    assert row["extra_info"] == want["extra_info"], (i, row["extra_info"], want["extra_info"])
print(f"pyarrow {pa.__version__}: {table.num_rows} rows, schema and values match")

# How verl builds the prompt: tokenizer.apply_chat_template(messages,
# add_generation_prompt=True, tokenize=False) with transformers' Jinja environment.
try:
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError as e:
    print(f"jinja2 not available ({e}); chat-template rendering check SKIPPED")
    sys.exit(0)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
template = env.from_string(open(template_path, encoding="utf-8").read())
special = {"bos_token": "<s>", "eos_token": "<|im_end|>", "pad_token": None, "unk_token": None}
for i, (row, want) in enumerate(zip(rows, expected)):
    for add in (True, False):
        got = template.render(messages=row["prompt"], add_generation_prompt=add, **special)
        assert got == want["rendered"], (i, add, got, want["rendered"])
# Without the prefill, the generation header is added (stock behaviour).
two = rows[0]["prompt"][:2]
got = template.render(messages=two, add_generation_prompt=True, **special)
want = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in two)
assert got == want + "<|im_start|>assistant\n", got
print(f"jinja2 {jinja2.__version__}: the chat template renders the §3.1 prompt for every row")
