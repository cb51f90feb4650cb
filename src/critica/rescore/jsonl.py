"""Generic replay: one raw generation per JSONL line, parsed with one of critica's verdict parsers.

Each line: ``item_id`` (or ``id``), the raw text in ``text`` (or ``raw``, ``output``, ``response``), optionally
``sample`` (index of the sample), ``order`` (``original``/``swapped``, or 0/1: the judge saw the pair swapped) and
``gold`` (the expected answer: ``A``/``B``/``A>B``/``B>A`` for pairwise parsers, ``correct``/``wrong`` for
``mr-gsm8k``, a final answer for ``boxed``). Generations of one item become one critique with the replies as its
``samples``. Figures: records, unparsed, and with gold labels the accuracy of the parsed answers (unparsed count
as wrong, stated in the notes).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from critica.critics.labels import arena_decision, llmbar_winner, parse_mr_gsm8k
from critica.critics.parse import last_boxed, strip_reasoning
from critica.errors import InputError, UserError
from critica.rescore.base import RescoreResult, field_error, iter_objects, pct, register_adapter
from critica.rescore.pairwise import combine_orders, pairwise_critique
from critica.types import Critique, ParseStatus, Verdict

__all__ = ["replay_jsonl", "PARSERS"]

PARSERS = ("arena", "llmbar", "mr-gsm8k", "boxed")
_TEXT_KEYS = ("text", "raw", "output", "response")
_GOLD_PREF = {"A": "A", "B": "B", "A>B": "A", "B>A": "B", "A=B": "tie", "1": "A", "2": "B", "TIE": "tie"}


def _pref(parser: str, text: str) -> str | None:
    if parser == "arena":
        return {"A>B": "A", "B>A": "B", "A=B": "tie"}.get(arena_decision(text) or "")
    return {"1": "A", "2": "B"}.get(llmbar_winner(text) or "")


@register_adapter("jsonl", "generic JSONL: item_id, optional sample/order/gold, raw text → parsed critiques (--parser)")
def replay_jsonl(path: str | Path, *, parser: str = "arena") -> RescoreResult:
    """Replay raw generations from a generic JSONL file with one of :data:`PARSERS`.

    Raises:
        UserError: unknown parser.
    """
    if parser not in PARSERS:
        raise UserError(f"unknown parser {parser!r} for the jsonl format; choose one of: {', '.join(PARSERS)}")
    path = Path(path)
    errors: list[InputError] = []
    by_item: dict[str, list[Critique]] = defaultdict(list)
    records = unparsed = graded = right = 0
    for line, rec in iter_objects(path):
        if isinstance(rec, InputError):
            errors.append(rec)
            continue
        where = f"line {line}"
        iid = rec.get("item_id", rec.get("id"))
        text = next((rec[k] for k in _TEXT_KEYS if isinstance(rec.get(k), str)), None)
        if iid is None or str(iid) == "":
            errors.append(field_error(path, where, "item_id", "missing"))
            continue
        if text is None:
            errors.append(field_error(path, where, "text", "missing raw text (text/raw/output/response)"))
            continue
        order = str(rec.get("order", "original")).lower()
        swapped = order in ("swapped", "1", "true", "swap")
        meta: dict[str, Any] = {"sample": rec.get("sample", 0), "order": "swapped" if swapped else "original",
                                "line": line}
        gold = rec.get("gold")
        records += 1
        iid = str(iid)
        if parser in ("arena", "llmbar"):
            p = _pref(parser, text)
            if p is not None and swapped:
                p = {"A": "B", "B": "A"}.get(p, p)
            c = pairwise_critique(iid, f"replay-{parser}", text, p, model=rec.get("model"), metadata=meta)
            ok = gold is not None and p is not None and _GOLD_PREF.get(str(gold).upper()) == p
        elif parser == "mr-gsm8k":
            v = parse_mr_gsm8k(text)
            c = _verdict_critique(iid, text, v.verdict, v.first_error_step, v.error_reason, meta)
            ok = gold is not None and v.verdict == {"incorrect": "wrong"}.get(str(gold).lower(), str(gold).lower())
            p = v.verdict
        else:
            from critica.rescore.realcritic import answers_equivalent

            p = last_boxed(strip_reasoning(text))
            ok = gold is not None and p is not None and answers_equivalent(p, str(gold))
            c = Critique(item_id=iid, critic="replay-boxed", verdict=Verdict.UNSCORED,
                         parse_status=ParseStatus.OK if p is not None else ParseStatus.FAILED,
                         parse_error=None if p is not None else "no \\boxed{} answer", raw_outputs=[text],
                         metadata=meta | {"answer": p, "answer_correct": ok if gold is not None else None})
        unparsed += p is None
        graded += gold is not None
        right += bool(ok)
        by_item[iid].append(c)
    critiques = [
        combine_orders(i, f"replay-{parser}", cs, None) if parser in ("arena", "llmbar") else
        (cs[0] if len(cs) == 1 else cs[0].model_copy(update={"samples": cs}))
        for i, cs in by_item.items()
    ]
    figures = {"records": records, "items": len(by_item), "unparsed": unparsed,
               "graded": graded, "accuracy": pct(right, graded)}
    notes = [f"parser {parser}; accuracy over records with a gold label, unparsed outputs count as wrong"]
    return RescoreResult("jsonl", str(path), figures, critiques, errors, notes)


def _verdict_critique(iid: str, text: str, verdict: str | None, step: int | None, reason: str | None,
                      meta: dict[str, Any]) -> Critique:
    if verdict is None:
        return Critique(item_id=iid, critic="replay-mr-gsm8k", verdict=Verdict.UNSCORED,
                        parse_status=ParseStatus.FAILED, parse_error="no 'Final Judgement' verdict",
                        raw_outputs=[text], metadata=meta)
    return Critique(item_id=iid, critic="replay-mr-gsm8k",
                    verdict=Verdict.CORRECT if verdict == "correct" else Verdict.INCORRECT,
                    first_error_step=step - 1 if step else None, explanation=reason or "",
                    raw_outputs=[text], metadata=meta)
