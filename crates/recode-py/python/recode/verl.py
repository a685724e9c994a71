"""verl reward functions for data exported with ``recode data export verl``.

Point verl's custom reward function at this module::

    custom_reward_function.path=pkg://recode.verl      # verl versions with pkg:// paths
    custom_reward_function.name=compute_score          # or compute_score_batch with
                                                       # reward_model.reward_manager=batch
    +custom_reward_function.reward_kwargs.mode=fixed   # optional: parity (default) or fixed

Older verl versions take a file path only: use the path printed by
``python -c "import recode.verl; print(recode.verl.__file__)"``.

``compute_score(data_source, solution_str, ground_truth, extra_info=None, *, mode="parity",
return_dict=False, **kwargs)`` returns the summed ReCode reward ``format + es_star`` of the
decoded response; ``compute_score_batch(data_sources, solution_strs, ground_truths,
extra_infos=None, ...)`` scores a whole batch in parallel with the GIL released.
``return_dict=True`` returns ``{"score", "format", "em_star", "es_star"}``, which verl's reward
managers log key by key.
"""

from recode._native import compute_score, compute_score_batch

__all__ = ["compute_score", "compute_score_batch"]
