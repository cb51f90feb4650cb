"""Replay of LLMBar evaluator outputs (``Dataset/<set>/evaluators/<LLM>/<Strategy>/result.json``).

Source: Zeng et al., "Evaluating Large Language Models at Evaluating Instruction Following" (ICLR 2024),
github.com/princeton-nlp/LLMBar, ``LLMEvaluator/evaluate.py``. The authors' rule, reproduced here:

* the winner of each order is read from the last entry of ``results`` with the strategy's regexes, "1" tried before
  "2" (:func:`critica.critics.labels.llmbar_winner_authors`); the swapped order is mapped back 1↔2;
* ``Acc. = (#correct no-swap + #correct swap) / 2N · 100``; ``Agr. = #(winner_noswap == winner_swap) / N · 100``;
  a null winner counts as wrong, and two nulls count as agreement;
* Rating strategies score each output separately; the winner is the higher integer score, and ties or unreadable
  scores give "1" without swap and "2" with swap.

Which regexes apply depends on the strategy's config: prompts ending "Output (x) is better." (CoT, the first stage of
Swap/Swap_CoT, the second stage of Swap_CoT; but PaLM2/CoT used the line-start rule) use ``is-better``, all others
``line-start``. The strategy is read from the path; ``rule=`` overrides it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from critica.critics.labels import llmbar_winner, llmbar_winner_authors, swap_winner
from critica.errors import InputError
from critica.rescore.base import RescoreResult, field_error, iter_objects, pct, register_adapter
from critica.rescore.pairwise import combine_orders, pairwise_critique
from critica.types import Critique

__all__ = ["replay_llmbar", "llmbar_rule_for"]

_TO_PREF = {"1": "A", "2": "B", None: None}


def llmbar_rule_for(llm: str, strategy: str, stage: int) -> str:
    """The regex rule of an LLMBar evaluator config for stage ``stage`` (0 = comparison, 1 = synthesis)."""
    if strategy.startswith("Rating"):
        return "rating"
    if strategy in ("Swap", "Swap_CoT"):
        if stage == 0:
            return "is-better"
        return "is-better" if strategy == "Swap_CoT" else "line-start"
    if strategy == "CoT":
        return "line-start" if llm.startswith("PaLM") else "is-better"
    return "line-start"


def _config_from_path(path: Path) -> tuple[str, str] | None:
    parts = path.resolve().parts
    if "evaluators" in parts:
        i = len(parts) - 1 - parts[::-1].index("evaluators")
        if i + 2 < len(parts):
            return parts[i + 1], parts[i + 2]
    return None


def _published(path: Path) -> dict[str, Any]:
    stats = path.with_name("statistics.json")
    if not stats.is_file():
        return {}
    try:
        data = json.loads(stats.read_text(encoding="utf-8"))
        pcts = {k: float(re.findall(r"([\d.]+)%", str(v))[-1]) for k, v in data.items() if k in ("correct_average", "equal")}
        return {"accuracy": round(pcts["correct_average"], 2), "agreement": round(pcts["equal"], 2), "file": str(stats)}
    except (ValueError, KeyError, IndexError, json.JSONDecodeError):
        return {}


def _rating_winners(entry: dict[str, Any]) -> tuple[tuple[str, str], tuple[str | None, str | None], list[str]]:
    """Authors' (winner_noswap, winner_swap), critica's and the raw texts of a Rating entry."""
    raws = [str(entry["score_1"][0]), str(entry["score_2"][0])]
    try:
        s1, s2 = int(raws[0]), int(raws[1])
        authors = ("1" if s1 > s2 else "2", "2" if s2 > s1 else "1")
    except ValueError:
        authors = ("1", "2")
    mine: tuple[str | None, str | None] = (None, None)
    m1, m2 = (re.fullmatch(r"\s*(\d{1,3})(?:\s*/\s*10)?\s*\.?\s*", r) for r in raws)
    if m1 and m2 and int(m1.group(1)) != int(m2.group(1)):
        w = "1" if int(m1.group(1)) > int(m2.group(1)) else "2"
        mine = (w, w)
    return authors, mine, raws


@register_adapter("llmbar", "LLMBar result.json: 'Output (a)/(b)' verdicts in both orders → Acc. and Agr. (%)")
def replay_llmbar(path: str | Path, *, rule: str | None = None, strategy: str | None = None) -> RescoreResult:
    """Replay an LLMBar ``result.json`` and compute the paper's Acc. and Agr.

    Args:
        path: A ``result.json`` (items aligned with the set's ``dataset.json``).
        rule: Force the winner regexes (``line-start`` or ``is-better``) instead of the strategy's.
        strategy: ``<LLM>/<Strategy>`` (e.g. ``GPT-4/CoT``) when the path does not follow the released layout.

    Returns:
        Figures ``n``, ``accuracy``, ``agreement`` (percent, 2 decimals, authors' rule), the per-order counts and
        null winners, ``stored_winner_mismatches`` (re-parsed vs stored winners) and the ``critica_*`` figures.
    """
    path = Path(path)
    notes: list[str] = []
    config = tuple(strategy.split("/", 1)) if strategy and "/" in strategy else _config_from_path(path)
    llm, strat = config if config else ("?", "?")
    records: list[tuple[int, dict[str, Any]]] = []
    errors: list[InputError] = []
    for index, rec in iter_objects(path):
        if isinstance(rec, InputError):
            errors.append(rec)
            continue
        where = f"index {index}"
        if "label" not in rec or str(rec["label"]) not in ("1", "2"):
            errors.append(field_error(path, where, "label", "missing or not 1/2"))
            continue
        results = rec.get("results")
        last = results[-1] if isinstance(results, list) and results else None
        ok = isinstance(last, dict) and (
            all(isinstance(last.get(k), dict) and isinstance(last[k].get("completion"), list) and last[k]["completion"]
                for k in ("swap = False", "swap = True"))
            or all(isinstance(last.get(k), list) and last[k] for k in ("score_1", "score_2"))
        )
        if not ok:
            errors.append(field_error(path, where, "results", "last entry lacks 'swap = False'/'swap = True' completions"))
            continue
        records.append((index, rec))

    if config is None and rule is None:
        rule = _infer_rule(records)
        notes.append(f"strategy not in the path: winner regexes '{rule}' chosen as the rule that reproduces more stored winners")
    elif rule is None:
        notes.append(f"strategy {llm}/{strat}: winner regexes from its evaluator config")
    model = None if llm == "?" else llm

    c_no = c_sw = agree = nulls = mism = 0
    k_no = k_sw = k_agree = k_unparsed = 0
    critiques: list[Critique] = []
    for index, rec in records:
        label = str(rec["label"])
        last = rec["results"][-1]
        if "score_1" in last:
            (w_no, w_sw), (k1, k2), raws = _rating_winners(last)
            texts = raws
        else:
            stage = len(rec["results"]) - 1 if strat in ("Swap", "Swap_CoT") else 0
            r = rule or llmbar_rule_for(llm, strat, min(stage, 1))
            texts = [str(last["swap = False"]["completion"][0] or ""), str(last["swap = True"]["completion"][0] or "")]
            w_no = llmbar_winner_authors(texts[0], r)
            w_sw = swap_winner(llmbar_winner_authors(texts[1], r))
            k1, k2 = llmbar_winner(texts[0]), swap_winner(llmbar_winner(texts[1]))
            stored = (last["swap = False"].get("winner"), last["swap = True"].get("winner"))
            mism += (stored[0] != w_no) + (stored[1] != w_sw)
        c_no += w_no == label
        c_sw += w_sw == label
        agree += w_no == w_sw
        nulls += (w_no is None) + (w_sw is None)
        k_no_ok, k_sw_ok = k1 == label, k2 == label
        k_no += k_no_ok
        k_sw += k_sw_ok
        k_agree += k1 is not None and k1 == k2
        k_unparsed += (k1 is None) + (k2 is None)
        iid = str(index)
        samples = [
            pairwise_critique(iid, "llmbar-replay", texts[0], _TO_PREF[k1], model=model,
                              metadata={"order": "original", "authors_winner": w_no}),
            pairwise_critique(iid, "llmbar-replay", texts[1], _TO_PREF[k2], model=model,
                              metadata={"order": "swapped", "authors_winner": w_sw}),
        ]
        critiques.append(combine_orders(iid, "llmbar-replay", samples, model, label=label, set=str(path.parent)))

    n = len(records)
    figures: dict[str, Any] = {
        "n": n,
        "accuracy": pct(c_no + c_sw, 2 * n),
        "agreement": pct(agree, n),
        "correct_no_swap": c_no,
        "correct_swap": c_sw,
        "null_winners": nulls,
        "stored_winner_mismatches": mism,
        "critica_accuracy": pct(k_no + k_sw, 2 * n),
        "critica_agreement": pct(k_agree, n),
        "critica_unparsed": k_unparsed,
    }
    notes.append("null (unparseable) winners count as wrong and two nulls count as agreement (authors' rule); "
                 "critica_agreement counts only two identical parsed verdicts")
    notes.append("critica_*: the last verdict statement binds, case-insensitive, markdown allowed")
    return RescoreResult("llmbar", str(path), figures, critiques, errors, notes, _published(path))


def _infer_rule(records: list[tuple[int, dict[str, Any]]]) -> str:
    hits = {"line-start": 0, "is-better": 0}
    for _i, rec in records:
        last = rec["results"][-1]
        if "swap = False" not in last:
            continue
        for key, back in (("swap = False", False), ("swap = True", True)):
            text = str(last[key]["completion"][0] or "")
            for r in hits:
                w = llmbar_winner_authors(text, r)
                hits[r] += (swap_winner(w) if back else w) == last[key].get("winner")
    return max(hits, key=lambda r: (hits[r], r == "line-start"))
