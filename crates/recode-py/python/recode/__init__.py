"""recode: ReCode's rule-based rewards, prompts and data validator, from the Rust crates.

Reward functions for TRL's GRPOTrainer (each takes ``completions`` and keyword arguments, and
returns one float per completion)::

    format_reward(completions, **kwargs)                      # +1 / -1 (spec 4.1)
    es_star(completions, target, *, mode="parity", **kwargs)  # ES*, the paper's default
    em_star(completions, target, *, mode="parity", **kwargs)  # EM*
    recode_reward(completions, target, *, mode="parity", **kwargs)  # format + es_star

``completions`` are plain strings (the text generated after the prompt's prefilled
``<think>``, as with the prompts of ``recode data export trl``) or TRL conversational
completions (lists of ``{"role", "content"}`` messages; the last assistant message is read).
``target`` is the dataset's ``target`` column, which TRL passes by name. To choose the fixed
semantics use ``functools.partial(recode.es_star, mode="fixed")`` (TRL names it ``es_star``).

verl: ``recode.verl.compute_score`` / ``compute_score_batch`` (``custom_reward_function.path=
pkg://recode.verl``). Also: ``score``, ``score_batch`` (every component, as ``recode reward``
writes them), the prompt renderers (``training_messages``, ``training_prompt``,
``render_chatml``, ``cua_test_messages``) and the validator (``validate``, ``validate_jsonl``).

Every function copies its input, then releases the GIL; batches are scored in parallel on a
pool of ``num_threads()`` threads (``RECODE_NUM_THREADS``, else ``RAYON_NUM_THREADS``, else all
logical cores), rebuilt in forked child processes.
"""

from recode._native import (
    ASSISTANT_PREFILL,
    NO_VALID_CODE,
    TEST_SYSTEM,
    TRAIN_SYSTEM,
    __version__,
    compute_score,
    compute_score_batch,
    cua_test_messages,
    em_star,
    es_star,
    format_reward,
    num_threads,
    recode_reward,
    render_chatml,
    score,
    score_batch,
    training_messages,
    training_prompt,
    training_user_content,
    validate,
    validate_jsonl,
)

MODES = ("parity", "fixed")

__all__ = [
    "ASSISTANT_PREFILL",
    "MODES",
    "NO_VALID_CODE",
    "TEST_SYSTEM",
    "TRAIN_SYSTEM",
    "__version__",
    "compute_score",
    "compute_score_batch",
    "cua_test_messages",
    "em_star",
    "es_star",
    "format_reward",
    "num_threads",
    "recode_reward",
    "render_chatml",
    "score",
    "score_batch",
    "training_messages",
    "training_prompt",
    "training_user_content",
    "validate",
    "validate_jsonl",
]
