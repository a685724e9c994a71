"""verl: recode.verl.compute_score / compute_score_batch as verl calls them.

When verl is importable, its own reward managers (naive, batch, dapo) score a small DataProto
batch with recode's functions, loaded the way verl loads a custom reward function
(`custom_reward_function.path=pkg://recode.verl`). Without verl, the same calls are made with
the exact argument names and types verl's managers pass (keyword arguments; numpy object
arrays for the batched data_sources and extra_infos; extra_info dicts carrying verl's own keys;
reward_kwargs merged in), which is the contract those managers rely on.
"""

import importlib
import importlib.util
import json

import pytest

import recode
from conftest import REPO, read_jsonl, run_cli

np = pytest.importorskip("numpy")


@pytest.fixture(scope="module")
def sample(recode_cli, tmp_path_factory):
    rows = read_jsonl(REPO / "data/sample-completions.jsonl")[:12]
    path = tmp_path_factory.mktemp("verl") / "cases.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = {}
    for mode in ("parity", "fixed"):
        proc = run_cli(recode_cli, "reward", "--input", path, "--mode", mode, "--quiet")
        out[mode] = [json.loads(l) for l in proc.stdout.decode("utf-8").split("\n") if l.strip()]
    return rows, out


def _load_like_verl(path_spec):
    """verl.utils.import_utils.load_module: pkg:// imports a module, else a file path is executed."""
    if path_spec.startswith("pkg://"):
        return importlib.import_module(path_spec[len("pkg://"):].replace("/", "."))
    spec = importlib.util.spec_from_file_location("custom_module_recode", path_spec)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path_spec", ["pkg://recode.verl", "file"])
def test_contract_of_verl_reward_managers(sample, path_spec):
    rows, cli = sample
    import recode.verl

    module = _load_like_verl(recode.verl.__file__ if path_spec == "file" else path_spec)
    compute_score = getattr(module, "compute_score")
    compute_score_batch = getattr(module, "compute_score_batch")
    for mode, reward_kwargs in (("parity", {}), ("fixed", {"mode": "fixed"})):
        want = [r["total"] for r in cli[mode]]
        # verl.trainer.ppo.reward.get_custom_reward_fn merges reward_kwargs into every call.
        def call(fn, **kwargs):
            return fn(**{**kwargs, **reward_kwargs})

        data_sources = np.array(["recode/" + r["item_id"].split("-")[0] for r in rows], dtype=object)
        extra_infos = np.array([{"index": i, "num_turns": None, "rollout_reward_scores": {}} for i in range(len(rows))],
                               dtype=object)
        # naive / dapo managers: one call per response, keyword arguments.
        got = [call(compute_score, data_source=data_sources[i], solution_str=r["completion"],
                    ground_truth=r["target"], extra_info=extra_infos[i]) for i, r in enumerate(rows)]
        assert got == want
        assert all(isinstance(x, float) for x in got)
        # batch manager: plural names, numpy object arrays, reward_kwargs.
        batch = call(compute_score_batch, data_sources=data_sources, solution_strs=[r["completion"] for r in rows],
                     ground_truths=[r["target"] for r in rows], extra_infos=extra_infos)
        assert batch == want
        # return_dict: verl reads "score" and logs the rest.
        detailed = compute_score(data_source="recode/numpy", solution_str=rows[0]["completion"],
                                 ground_truth=rows[0]["target"], extra_info={}, return_dict=True, **reward_kwargs)
        assert detailed["score"] == want[0]
        assert detailed["es_star"] == cli[mode][0]["es_star"] and detailed["format"] == cli[mode][0]["format"]


def test_with_verl_reward_managers(sample):
    """verl's own NaiveRewardManager and BatchRewardManager on a DataProto batch."""
    pytest.importorskip("verl", reason="verl is not installed here; the contract test above covers its calls")
    import torch
    from verl import DataProto
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.workers.reward_manager import BatchRewardManager, NaiveRewardManager
    from omegaconf import OmegaConf

    from tiny import tiny_tokenizer

    rows, cli = sample
    tok = tiny_tokenizer([r["completion"] for r in rows] + [r["target"] for r in rows])
    prompt_ids = [tok("<|im_start|>user\nmigrate<|im_end|>\n<|im_start|>assistant\n<think>")["input_ids"]] * len(rows)
    response_ids = [tok(r["completion"])["input_ids"] + [tok.eos_token_id] for r in rows]
    assert all(tok.decode(ids, skip_special_tokens=True) == r["completion"] for ids, r in zip(response_ids, rows))
    P, R = max(map(len, prompt_ids)), max(map(len, response_ids))
    prompts = torch.full((len(rows), P), tok.pad_token_id)
    responses = torch.full((len(rows), R), tok.pad_token_id)
    mask = torch.zeros((len(rows), P + R), dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompt_ids, response_ids)):
        prompts[i, P - len(p):] = torch.tensor(p)
        responses[i, : len(r)] = torch.tensor(r)
        mask[i, P - len(p): P + len(r)] = 1
    data = DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": mask},
        non_tensors={
            "data_source": np.array(["recode/numpy"] * len(rows), dtype=object),
            "reward_model": np.array([{"style": "rule", "ground_truth": r["target"]} for r in rows], dtype=object),
            "extra_info": np.array([{"index": i} for i in range(len(rows))], dtype=object),
        },
    )
    lengths = [len(r) for r in response_ids]
    for mode in ("parity", "fixed"):
        want = [r["total"] for r in cli[mode]]
        for name, manager_cls in (("compute_score", NaiveRewardManager), ("compute_score_batch", BatchRewardManager)):
            custom = {"path": "pkg://recode.verl", "name": name, "reward_kwargs": {"mode": mode}}
            # verl >= 0.9 reads reward.custom_reward_function, earlier versions the top-level key.
            config = OmegaConf.create({"custom_reward_function": custom, "reward": {"custom_reward_function": custom}})
            fn = get_custom_reward_fn(config)
            manager = manager_cls(tokenizer=tok, num_examine=0, compute_score=fn)
            out = manager(data, return_dict=True)
            scores = [out["reward_tensor"][i, lengths[i] - 1].item() for i in range(len(rows))]
            assert scores == pytest.approx(want, abs=1e-6), (name, mode)
