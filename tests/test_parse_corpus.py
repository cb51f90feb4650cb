"""The parse corpus: realistic raw critic outputs (tests/data/parse_corpus*.jsonl) with the parse each must give.

Each case names a protocol, whether JSON was asked for (``structured``), a minimal item (``steps``: how many,
``candidates``, ``evidence``: how many, ``rubric``, ``allow_tie``), the raw reply and the expected fields. Only the
fields given in ``expect`` are checked; a failed parse must always be unscored with a reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from critica.backends.call import Caller
from critica.backends.fake import ScriptedBackend
from critica.critics.deliberate import DeliberateCritic
from critica.critics.direct import DirectCritic
from critica.critics.evidence import EvidenceCritic
from critica.critics.pairwise import parse_preference
from critica.critics.principles import PrinciplesCritic
from critica.critics.processbench import ProcessBenchCritic
from critica.critics.rubric import RubricCritic
from critica.types import Critique, Item, ParseStatus, Verdict

DATA = Path(__file__).parent / "data"
CASES = [json.loads(line) for path in sorted(DATA.glob("parse_corpus*.jsonl"))
         for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
CRITICS = {"direct": DirectCritic, "deliberate": DeliberateCritic, "principles": PrinciplesCritic,
           "processbench": ProcessBenchCritic, "rubric": RubricCritic, "evidence": EvidenceCritic}


def test_corpus_is_large_and_covers_every_protocol():
    assert len(CASES) >= 200
    assert {c["protocol"] for c in CASES} == {*CRITICS, "pairwise"}
    assert len({c["id"] for c in CASES}) == len(CASES)
    statuses = {c["expect"]["parse_status"] for c in CASES}
    assert statuses == {"ok", "repaired", "failed"}


def _item(spec: dict[str, Any]) -> Item:
    return Item(
        id="case", question="What is 2 + 3 * 4?",
        steps=[f"Step text {i}: 3 * 4 = 12." for i in range(spec.get("steps", 1))],
        candidates=[f"Candidate {i}" for i in range(spec.get("candidates", 0))],
        evidence=[f"Passage {i} says something." for i in range(spec.get("evidence", 0))],
        rubric=spec.get("rubric"),
    )


def _check_critique(crit: Critique, expect: dict[str, Any]) -> None:
    assert crit.parse_status.value == expect["parse_status"], (crit.parse_status, crit.parse_error)
    if crit.parse_status == ParseStatus.FAILED:
        assert crit.verdict == Verdict.UNSCORED and crit.parse_error
        assert crit.score is None and crit.first_error_step is None
    elif crit.parse_status == ParseStatus.REPAIRED:
        assert crit.parse_error, "a repair must say what was repaired"
    if "verdict" in expect:
        assert crit.verdict.value == expect["verdict"]
    if "first_error_step" in expect:
        assert crit.first_error_step == expect["first_error_step"]
    if "score" in expect:
        assert crit.score is not None and crit.score.value == expect["score"]
    if "scale" in expect:
        assert crit.score is not None and [crit.score.min, crit.score.max] == expect["scale"]
    if "step_verdicts" in expect:
        assert [s.verdict.value for s in crit.steps] == expect["step_verdicts"]
    for key in ("scores", "best", "aspect_scores", "cited_passages", "steps_disagree", "issues_disagree", "official_index"):
        if key in expect:
            assert crit.metadata.get(key) == expect[key], key


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_corpus_case(case):
    expect = case["expect"]
    if case["protocol"] == "pairwise":
        got = parse_preference(case["raw"], structured=case["structured"], allow_tie=case["item"].get("allow_tie", True))
        assert got.status.value == expect["parse_status"], got
        assert got.preference == expect["preference"]
        if got.status == ParseStatus.FAILED:
            assert got.note
        return
    critic = CRITICS[case["protocol"]](Caller(ScriptedBackend()), structured=case["structured"])
    crit = critic.parse(_item(case["item"]), case["raw"])
    assert isinstance(crit, Critique)
    _check_critique(crit, expect)
