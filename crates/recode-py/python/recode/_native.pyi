"""Type stubs of the compiled core (crates/recode-py/src/python.rs)."""

from os import PathLike
from typing import Any, Iterable, Literal, Mapping, Sequence, TypedDict, Union

Mode = Literal["parity", "fixed"]
Message = Mapping[str, str]
Completion = Union[str, Sequence[Message]]

TRAIN_SYSTEM: str
TEST_SYSTEM: str
ASSISTANT_PREFILL: str
NO_VALID_CODE: float
__version__: str

class Scores(TypedDict):
    format: float
    em_star: float
    es_star: float
    total: float
    mode: str
    reference_raises: Union[None, Literal["ZeroDivisionError", "TooDeeplyNested"]]

class Problem(TypedDict):
    file: str
    line: int
    field: str
    message: str
    text: str

class Report(TypedDict):
    file: str
    ok: bool
    lines: int
    items: int
    problems: list[Problem]

def format_reward(completions: Iterable[Completion], **kwargs: Any) -> list[float]: ...
def es_star(completions: Iterable[Completion], target: Iterable[str], *, mode: Mode = "parity", **kwargs: Any) -> list[float]: ...
def em_star(completions: Iterable[Completion], target: Iterable[str], *, mode: Mode = "parity", **kwargs: Any) -> list[float]: ...
def recode_reward(completions: Iterable[Completion], target: Iterable[str], *, mode: Mode = "parity", **kwargs: Any) -> list[float]: ...
def score(completion: str, target: str, mode: Mode = "parity") -> Scores: ...
def score_batch(completions: Iterable[str], targets: Iterable[str], mode: Mode = "parity") -> list[Scores]: ...
def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: str,
    extra_info: Any = None,
    *,
    mode: Mode = "parity",
    return_dict: bool = False,
    **kwargs: Any,
) -> Union[float, dict[str, float]]: ...
def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Iterable[str],
    ground_truths: Iterable[str],
    extra_infos: Any = None,
    *,
    mode: Mode = "parity",
    return_dict: bool = False,
    **kwargs: Any,
) -> list[Union[float, dict[str, float]]]: ...
def training_messages(item: Mapping[str, Any]) -> list[dict[str, str]]: ...
def training_prompt(item: Mapping[str, Any]) -> str: ...
def training_user_content(item: Mapping[str, Any]) -> str: ...
def render_chatml(messages: Iterable[Message]) -> str: ...
def cua_test_messages(problem: Mapping[str, str]) -> list[dict[str, str]]: ...
def validate(paths: Union[str, PathLike[str], Iterable[Union[str, PathLike[str]]]]) -> list[Report]: ...
def validate_jsonl(data: Union[str, bytes], file: str = "<string>") -> Report: ...
def num_threads() -> int: ...
