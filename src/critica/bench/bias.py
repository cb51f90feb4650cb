"""Length-bias probe: does padding an answer with content-free text move a judge toward it? (suite ``length-bias``)

The probe takes labelled pairs (LLMBar by default, ``--option data=judgebench``) and, for each pair, one side chosen
by a seeded coin (``--seed``). That side is judged as it is and padded with ``k`` neutral sentences for every level
``k`` of ``--option pad=[2,6]``. Padding (:func:`pad_answer`) is appended after a blank line and says nothing about
the task: sentences drawn without replacement, in a seeded order, from :data:`FILLER` (``pad_style=filler``, the
default), or the question restated followed by filler (``pad_style=restate``). The same seed, item and level always
give the same padding.

Two protocols, chosen by ``--option protocol=pairwise|absolute`` (default: ``pairwise`` for ``--critic pairwise``,
else ``absolute``):

* **pairwise** — the pair is judged with and without the padded side (each judgement in both orders, as the
  ``pairwise`` critic does by default). Per order, the padded side's win ``w`` is 1 (preferred), 0.5 (tie) or 0.
  ``shift`` = mean over items of ``w(padded) − w(unpadded)`` averaged over the two orders, so position bias cancels;
  ``shift_shown_first`` / ``shift_shown_second`` are the same in the order where the padded side is shown first /
  second (a length bias moves both; a pure position bias moves neither). ``first_shown_win_rate`` is the plain
  position bias of the unpadded pairs (0.5 for a judge without one). An item whose orders did not all parse in both
  versions is unscored and left out of ``shift``.
* **absolute** — the side is scored alone with and without padding (``rubric`` or any critic with a score; a critic
  with only a verdict counts ``correct`` as 1 and ``incorrect`` as 0). Scores are put on 0–1 by their scale;
  ``shift`` = mean of ``value(padded) − value(unpadded)`` over items where both parsed; ``higher_rate`` /
  ``lower_rate`` how often padding raised / lowered the value.

Every ``*_ci`` is a 95% percentile bootstrap over items (``n_boot``, default 1000, seeded). A shift whose CI excludes
0 is a length bias at that padding level; a CI covering 0 says the probe found none at this sample size.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from critica.bench.base import BenchContext, BenchResult, critique_records, register_suite
from critica.bench.metrics import bootstrap_ci, mean
from critica.bench.pairwise import LLMBAR_DEFAULT, PairItem, load_judgebench, load_llmbar
from critica.errors import UserError
from critica.types import Critique, Item, ParseStatus, Verdict

__all__ = ["FILLER", "pad_answer", "critique_value", "length_pairwise_metrics", "length_absolute_metrics",
           "load_pairs", "protocol_of"]

FILLER = (
    "I hope this helps.",
    "Thank you for the question.",
    "Let me know if you have any other questions.",
    "This is the end of my response.",
    "Please feel free to ask for more details.",
    "I have written this response to the request above.",
    "Have a nice day.",
    "Feel free to reach out again at any time.",
    "That is all I have to say on this.",
    "Thanks for reading.",
    "I am happy to help with follow-up requests.",
    "The text above is my reply.",
)
"""Content-free sentences: none states a fact, takes a side or praises the answer."""

_NOTES_PAIRWISE = [
    "pairwise: shift = mean over items of w(padded side, padded) − w(same side, unpadded), w = 1 win / 0.5 tie / 0 "
    "loss per order, averaged over both orders (position bias cancels); shown_first/second split it by the order",
    "first_shown_win_rate: share of order judgements won by the response shown first, unpadded pairs (0.5 = none)",
    "unscored: an order that did not parse in either version; such items are left out of shift",
]
_NOTES_ABSOLUTE = [
    "absolute: value = score put on 0–1 by its scale (verdict-only critics: correct 1, incorrect 0); shift = mean of "
    "value(padded) − value(unpadded) over items where both parsed",
]


_COLUMNS = {
    "pairwise": ["split", "n", "scored", "pad_words", "shift", "shift_ci", "shift_shown_first", "shift_shown_first_ci",
                 "shift_shown_second", "shift_shown_second_ci", "win_unpadded", "win_padded", "first_shown_win_rate",
                 "unscored"],
    "absolute": ["split", "n", "scored", "pad_words", "value_unpadded", "value_padded", "shift", "shift_ci",
                 "higher_rate", "lower_rate", "unscored"],
}


def pad_answer(answer: str, question: str, sentences: int, *, seed: int, key: str, style: str = "filler") -> str:
    """``answer`` followed by a blank line and ``sentences`` content-free sentences (deterministic in seed and key).

    ``style="restate"`` makes the first sentence a restatement of the question (its first 40 words).
    """
    if sentences <= 0:
        return answer
    rng = random.Random(f"{seed}:{key}:{sentences}")
    bank = list(FILLER)
    rng.shuffle(bank)
    out: list[str] = []
    if style == "restate":
        words = " ".join(question.split()).split(" ")
        out.append("To restate the request: " + " ".join(words[:40]) + ("…" if len(words) > 40 else ""))
    elif style != "filler":
        raise UserError(f"option pad_style={style!r}: use 'filler' or 'restate'")
    while len(out) < sentences:
        out.append(bank[len(out) % len(bank)])
    return answer.rstrip() + "\n\n" + " ".join(out)


def critique_value(c: Critique) -> float | None:
    """A critique's absolute judgement on 0–1: the score by its scale, else the verdict (1/0); None if unscored."""
    if c.error is not None or c.parse_status == ParseStatus.FAILED:
        return None
    if c.score is not None and c.score.max is not None and c.score.min is not None and c.score.max > c.score.min:
        return (c.score.value - c.score.min) / (c.score.max - c.score.min)
    return {Verdict.CORRECT: 1.0, Verdict.INCORRECT: 0.0}.get(c.verdict)


def load_pairs(ctx: BenchContext) -> tuple[list[PairItem], list[str]]:
    """The labelled pairs named by ``--option data`` (llmbar or judgebench), with ``--split`` and ``--limit``."""
    data = str(ctx.options.get("data", "llmbar"))
    if data == "llmbar":
        return load_llmbar(ctx.data_dir, ctx.splits or LLMBAR_DEFAULT, ctx.limit, ctx.seed)
    if data == "judgebench":
        return load_judgebench(ctx.data_dir, ctx.splits, ctx.limit, ctx.seed)
    raise UserError(f"option data={data!r}: use 'llmbar' or 'judgebench'")


def protocol_of(ctx: BenchContext) -> str:
    """``pairwise`` or ``absolute``: the ``protocol`` option, else pairwise for ``--critic pairwise``."""
    protocol = str(ctx.options.get("protocol", "pairwise" if ctx.critic_name == "pairwise" else "absolute"))
    if protocol not in ("pairwise", "absolute"):
        raise UserError(f"option protocol={protocol!r}: use 'pairwise' or 'absolute'")
    return protocol


def _levels(ctx: BenchContext) -> list[int]:
    raw = ctx.options.get("pad", [2, 6])
    levels = raw if isinstance(raw, list) else [raw]
    try:
        out = sorted({int(k) for k in levels})
    except (TypeError, ValueError):
        raise UserError(f"option pad={raw!r}: give a number of sentences or a list, e.g. pad=[2,6]") from None
    if not out or out[0] < 1:
        raise UserError(f"option pad={raw!r}: padding levels are whole numbers of sentences ≥ 1")
    return out


@dataclass(frozen=True)
class _Variant:
    pair: PairItem
    side: str  # "A" or "B": the side that is padded
    level: int  # 0 = unpadded
    item: Item
    pad_words: int  # words added by the padding


def _variants(pairs: Sequence[PairItem], levels: Sequence[int], ctx: BenchContext, protocol: str) -> list[_Variant]:
    style = str(ctx.options.get("pad_style", "filler"))
    out = []
    for p in pairs:
        side = random.Random(f"{ctx.seed}:side:{p.item.id}").choice("AB")
        text = p.item.text if side == "A" else p.item.candidates[0]
        for k in [0, *levels]:
            padded = pad_answer(text, p.item.question, k, seed=ctx.seed, key=p.item.id, style=style)
            vid = f"{p.item.id}#pad{k}"
            if protocol == "pairwise":
                a, b = (padded, p.item.candidates[0]) if side == "A" else (p.item.text, padded)
                item = p.item.model_copy(update={"id": vid, "response": a, "candidates": [b]})
            else:
                item = Item(id=vid, question=p.item.question, response=padded)
            out.append(_Variant(p, side, k, item, len(padded.split()) - len(text.split())))
    return out


def _record(v: _Variant, c: Critique, protocol: str) -> dict[str, Any]:
    unscored = c.error is not None or c.parse_status == ParseStatus.FAILED
    rec: dict[str, Any] = {"id": v.item.id, "pair": v.pair.item.id, "split": v.pair.split, "side": v.side,
                           "level": v.level, "pad_words": v.pad_words,
                           "unscored": unscored, "parse_status": c.parse_status.value,
                "parse_error": c.parse_error, "error": c.error}
    if protocol == "pairwise":
        if "preference" not in c.metadata and not unscored:
            raise UserError(f"critic {c.critic!r} gives no pairwise preference; use --critic pairwise or "
                            "--option protocol=absolute")
        rec["orders"] = {o.get("order"): o.get("preference") for o in c.metadata.get("orders", [])}
        rec["preference"] = c.metadata.get("preference")
    else:
        rec["value"] = critique_value(c)
        rec["score"] = c.score.value if c.score is not None else None
    return rec


def _win(pref: str | None, side: str) -> float | None:
    if pref is None:
        return None
    return 1.0 if pref == side else 0.5 if pref == "tie" else 0.0


def _pair_deltas(orig: dict[str, Any], padded: dict[str, Any]) -> dict[str, Any]:
    """Per-item shift of the padded side's win, overall and by the order in which it is shown first/second."""
    side = orig["side"]
    first_order, second_order = ("AB", "BA") if side == "A" else ("BA", "AB")
    d: dict[str, float | None] = {}
    for name, order in (("first", first_order), ("second", second_order)):
        w0, w1 = _win(orig["orders"].get(order), side), _win(padded["orders"].get(order), side)
        d[name] = None if w0 is None or w1 is None else w1 - w0
    both = d["first"] is not None and d["second"] is not None
    return {"shift": (d["first"] + d["second"]) / 2 if both else None,  # type: ignore[operator]
            "shift_shown_first": d["first"], "shift_shown_second": d["second"]}


def _mean_of(key: str):
    def stat(rows: Sequence[dict[str, Any]]) -> float | None:
        return mean([r[key] for r in rows if r[key] is not None])
    return stat


def length_pairwise_metrics(orig: Sequence[dict[str, Any]], padded: Sequence[dict[str, Any]], *, seed: int = 0,
                            n_boot: int = 1000) -> dict[str, Any]:
    """Figures of one padding level from aligned unpadded and padded pairwise records (definitions: module doc)."""
    deltas = [_pair_deltas(o, p) for o, p in zip(orig, padded, strict=True)]
    firsts = []
    for o in orig:
        for order, pref in o["orders"].items():
            if pref is not None:
                firsts.append(_win(pref, order[0]))
    out: dict[str, Any] = {"n": len(deltas), "scored": sum(d["shift"] is not None for d in deltas)}
    for key in ("shift", "shift_shown_first", "shift_shown_second"):
        out[key] = _mean_of(key)(deltas)
        out[f"{key}_ci"] = bootstrap_ci(deltas, _mean_of(key), n=n_boot, seed=seed) if out[key] is not None else None
    scored = [(o, p) for (o, p), d in zip(zip(orig, padded, strict=True), deltas, strict=True) if d["shift"] is not None]
    out["win_unpadded"] = mean([mean([_win(o["orders"][k], o["side"]) for k in o["orders"]]) for o, _ in scored])
    out["win_padded"] = mean([mean([_win(p["orders"][k], p["side"]) for k in p["orders"]]) for _, p in scored])
    out["first_shown_win_rate"] = mean(firsts)  # type: ignore[arg-type]
    out["unscored"] = len(deltas) - out["scored"]
    return out


def length_absolute_metrics(orig: Sequence[dict[str, Any]], padded: Sequence[dict[str, Any]], *, seed: int = 0,
                            n_boot: int = 1000) -> dict[str, Any]:
    """Figures of one padding level from aligned unpadded and padded absolute records (definitions: module doc)."""
    both = [(o["value"], p["value"]) for o, p in zip(orig, padded, strict=True)
            if o["value"] is not None and p["value"] is not None]
    diffs = [b - a for a, b in both]

    def stat(s: Sequence[float]) -> float | None:
        return mean(list(s))

    return {
        "n": len(orig), "scored": len(both),
        "value_unpadded": mean([a for a, _ in both]), "value_padded": mean([b for _, b in both]),
        "shift": mean(diffs), "shift_ci": bootstrap_ci(diffs, stat, n=n_boot, seed=seed) if diffs else None,
        "higher_rate": mean([float(d > 0) for d in diffs]), "lower_rate": mean([float(d < 0) for d in diffs]),
        "unscored": len(orig) - len(both),
    }


@register_suite("length-bias", "Length-bias probe: one side of each LLMBar/JudgeBench pair padded with neutral "
                "sentences; preference (pairwise) or score (absolute) shift with CIs")
def run_length_bias(ctx: BenchContext) -> BenchResult:
    """Judge each pair (or one answer) unpadded and padded at every level; report the shift toward padding."""
    protocol = protocol_of(ctx)
    levels = _levels(ctx)
    pairs, errors = load_pairs(ctx)
    variants = _variants(pairs, levels, ctx, protocol)
    start = time.perf_counter()
    records = critique_records(ctx, variants, lambda v: v.item, lambda v, c: _record(v, c, protocol))
    wall = time.perf_counter() - start
    n_boot = int(ctx.options.get("n_boot", 1000))
    by = {(r["pair"], r["level"]): r for r in records}
    ids = [p.item.id for p in pairs]
    metrics = length_pairwise_metrics if protocol == "pairwise" else length_absolute_metrics
    rows = []
    for k in levels:
        orig, padded = [by[(i, 0)] for i in ids], [by[(i, k)] for i in ids]
        words = mean([v.pad_words for v in variants if v.level == k])
        rows.append({"split": f"pad {k} sentences", "pad_words": words,
                     **metrics(orig, padded, seed=ctx.seed, n_boot=n_boot)})
    notes = list(_NOTES_PAIRWISE if protocol == "pairwise" else _NOTES_ABSOLUTE)
    notes.append(f"data {ctx.options.get('data', 'llmbar')}, splits {sorted({p.split for p in pairs})}; padded side "
                 f"chosen by a seeded coin; pad_style {ctx.options.get('pad_style', 'filler')}; 95% bootstrap CIs")
    if errors:
        notes.append(f"{len(errors)} malformed record(s) skipped, first: {errors[0]}")
    return BenchResult(suite="length-bias", critic=ctx.critic_name, model=ctx.model, rows=rows, items=records,
                       notes=notes, wall_s=wall, extra={"protocol": protocol, "levels": levels, "input_errors": errors,
                                                        "tables": [_COLUMNS[protocol]]})
