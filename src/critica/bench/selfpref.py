"""Self-preference probe and correlation with human scores (suite ``self-preference``).

Does a critic favour answers written by its own model (family) over others', beyond what their quality warrants?
``--option self=MODEL`` names the critic's model; an answer is *own* when its author's family equals that model's
(``match=family``, the default: the leading letters of the name, so ``Qwen2.5-72B-Instruct`` and ``qwen-7b`` are
both ``qwen``, ``llama-2-70b-chat-hf`` is ``llama``; fine-tunes keep their own name: ``vicuna`` is not ``llama``) or
when the author's name starts with it (``match=model``, case-insensitive).

Which shared data say who wrote what (see each ``SOURCE.md``): **MetaCritique** ``annotation_data.json`` (three
critiques per answer: Shepherd's human critique and two LLM critiques whose ``model`` field names one of eight models
— llama-2-70b/13b-chat, vicuna-13b/33b, WizardLM-13b/70b, selfee-13b, gpt-3.5-turbo — with human Meta-P/R/F1 per
critique) and **RealCritic** (each solution's ``model``: Qwen, Llama-3.1, DeepSeek-Math families, with a
correctness label). JudgeBench names the model that wrote *both* responses of a pair (no own-vs-other pair);
LLMBar, HH-RLHF, ProcessBench and PRMBench carry no per-answer author.

``--option data=metacritique`` (default): the *answers* judged are critiques (of a response to a question, with the
GPT-4 reference answer shown); the gold preference between two critiques is the higher human Meta-F1 (equal F1: a
tie). Each pair of an own and an other critique of the same answer is judged:

* ``--critic pairwise``: directly (both orders, own side shown as A or B by a seeded coin);
* an absolute critic (``rubric`` …): each critique is scored alone (on 0–1 by its scale; verdict-only critics 1/0)
  and the pair's preference is the higher score. This protocol also reports, over every scored critique, the
  **Pearson, Spearman and Kendall correlation** of the critic's score with the human Meta-F1 (and with Meta-P and
  Meta-R), with bootstrap CIs, and mean scores per author group and per source (human, llm1, llm2). Here ``self``
  may be left out: the suite then reports the correlations and means only. The pair row adds ``value_diff``, the
  mean own − other score over pairs (0–1 scale, with CI), beside ``human_f1_diff``, the same for the human Meta-F1:
  a judge without self-preference keeps the first near what the second warrants.

Pair figures: ``judge_own_rate`` (own wins 1, tie or order-inconsistent 0.5, other 0) and ``human_own_rate`` (the
same from the gold) over scored pairs, ``excess`` = their difference; ``equal_opportunity`` = P(judge prefers own |
humans prefer own) − P(judge prefers other | humans prefer other), the self-preference measure of Wataoka et al.
("Self-Preference Bias in LLM-as-a-Judge", arXiv:2410.21819): 0 for a judge that treats both sides alike, whatever its
accuracy. Unscored judgements are counted and left out.

``--option data=realcritic`` (absolute protocol only; RealCritic has one solution per problem): each solution is
judged alone; rows ``gold correct`` / ``gold incorrect`` give the mean value (acceptance rate for verdicts) of own
and other solutions and their difference; ``stratified`` is the mean of the two differences, so a critic that merely
accepts more correct solutions, written more often by one family, shows no self-preference.

Every ``*_ci`` is a 95% percentile bootstrap over answered questions (metacritique: the pairs of one question share
a critique, so they are resampled together) or solutions (realcritic), ``n_boot``
resamples (default 1000) seeded by ``--seed``. ``--limit N`` keeps N seeded-random answers per MetaCritique file /
RealCritic task.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from critica.bench.base import BenchContext, BenchResult, critique_records, register_suite
from critica.bench.bias import critique_value, protocol_of
from critica.bench.metrics import bootstrap_ci, correlations, mean
from critica.errors import UserError
from critica.types import Critique, Item, ParseStatus

__all__ = ["family", "is_own", "AuthoredAnswer", "load_metacritique_authored", "pair_metrics", "stratified_metrics"]

_SOURCES = ("human_critique", "llm1_critique", "llm2_critique")


_TABLES = {
    "metacritique": [
        ["split", "n", "scored", "gold_own", "gold_other", "judge_own_rate", "human_own_rate", "excess", "excess_ci",
         "p_own_given_own", "p_other_given_other", "equal_opportunity", "equal_opportunity_ci", "value_diff",
         "value_diff_ci", "human_f1_diff", "unscored"],
        ["split", "n", "pearson", "pearson_ci", "spearman", "spearman_ci", "kendall", "kendall_ci", "unscored"],
        ["split", "n", "value", "human_f1"],
    ],
    "realcritic": [["split", "n", "own", "other", "value_own", "value_other", "diff", "diff_ci", "unscored"]],
}


def family(model: str) -> str:
    """The model family: the leading letters of the lower-cased name (``Qwen2.5-7B`` → ``qwen``)."""
    m = re.match(r"[a-z]+", model.strip().lower())
    return m.group(0) if m else model.strip().lower()


def is_own(author: str, self_model: str, match: str = "family") -> bool:
    """Whether ``author`` is the critic's own model (``match``: ``family`` or ``model``, see the module doc)."""
    if not self_model:
        return False
    if match == "family":
        return family(author) == family(self_model)
    if match == "model":
        return author.strip().lower().startswith(self_model.strip().lower())
    raise UserError(f"option match={match!r}: use 'family' or 'model'")


@dataclass(frozen=True)
class AuthoredAnswer:
    """One answer with its author and human scores (MetaCritique: a critique and its human Meta-P/R/F1)."""

    record: str
    """The answer's group: answers with the same record answer the same question (pairs are formed within it)."""
    source: str
    author: str
    item: Item
    human: dict[str, float]


def _frame(question: str, response: str) -> str:
    return ("Write a critique of the answer below: say what is right and wrong in it.\n\n"
            f"[Question]\n{question}\n\n[Answer to critique]\n{response}")


def load_metacritique_authored(data_dir: Path, limit: int | None = None, seed: int = 0) -> list[AuthoredAnswer]:
    """The 300 human-annotated MetaCritique critiques (``limit``: a seeded sample of records), each with its author."""
    path = Path(data_dir) / "metacritique" / "annotation_data.json"
    if not path.is_file():
        raise UserError(f"MetaCritique data not found at {path}; pass --data-dir or set CRITICA_DATA")
    rows = json.loads(path.read_text(encoding="utf-8"))
    idx = list(range(len(rows)))
    if limit is not None and limit < len(rows):
        idx = sorted(random.Random(seed).sample(idx, limit))
    out = []
    for i in idx:
        row = rows[i]
        for src in _SOURCES:
            c = row[src]
            author = "human" if src == "human_critique" else str(c["model"])
            item = Item(id=f"mc{row['index']}/{src}", question=_frame(str(row["question"]), str(row["response"])),
                        response=str(c["critique"]), reference_answer=str(row["gpt4_answer"]))
            human = {"f1": float(c["f1_score"]), "precision": float(c["precision_score"]),
                     "recall": float(c["recall_score"])}
            out.append(AuthoredAnswer(f"mc{row['index']}", src, author, item, human))
    return out


def _gold(own: AuthoredAnswer, other: AuthoredAnswer) -> str:
    a, b = own.human["f1"], other.human["f1"]
    return "own" if a > b else "other" if a < b else "tie"


def _share(sample: Sequence[dict[str, Any]], judge: str, gold: str) -> float | None:
    cond = [r for r in sample if r["gold"] == gold]
    return sum(r["judge"] == judge for r in cond) / len(cond) if cond else None


_W = {"own": 1.0, "other": 0.0, "tie": 0.5, "inconsistent": 0.5}


def _clustered(pairs: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for i, r in enumerate(pairs):
        groups.setdefault(r.get("record", i), []).append(r)
    return list(groups.values())


def _ci(pairs: Sequence[dict[str, Any]], stat, *, n_boot: int, seed: int) -> list[float] | None:
    """Bootstrap over answer groups, not pairs: the pairs of one record share a critique, so they are not independent."""
    if stat(pairs) is None:
        return None
    return bootstrap_ci(_clustered(pairs), lambda gs: stat([r for g in gs for r in g]), n=n_boot, seed=seed)


def pair_metrics(pairs: Sequence[dict[str, Any]], *, seed: int = 0, n_boot: int = 1000) -> dict[str, Any]:
    """Self-preference figures of own-vs-other pairs (``gold``/``judge``: own, other, tie; judge also inconsistent/None).

    Pairs with the same ``record`` are resampled together by the bootstrap.
    """
    scored = [r for r in pairs if r["judge"] is not None]

    def judge_rate(s: Sequence[dict[str, Any]]) -> float | None:
        return mean([_W[r["judge"]] for r in s])

    def human_rate(s: Sequence[dict[str, Any]]) -> float | None:
        return mean([_W[r["gold"]] for r in s])

    def excess(s: Sequence[dict[str, Any]]) -> float | None:
        j, h = judge_rate(s), human_rate(s)
        return None if j is None or h is None else j - h

    def eo(s: Sequence[dict[str, Any]]) -> float | None:
        a, b = _share(s, "own", "own"), _share(s, "other", "other")
        return None if a is None or b is None else a - b

    return {
        "n": len(pairs), "scored": len(scored),
        "gold_own": sum(r["gold"] == "own" for r in scored), "gold_other": sum(r["gold"] == "other" for r in scored),
        "judge_own_rate": judge_rate(scored), "human_own_rate": human_rate(scored),
        "excess": excess(scored), "excess_ci": _ci(scored, excess, n_boot=n_boot, seed=seed),
        "p_own_given_own": _share(scored, "own", "own"), "p_other_given_other": _share(scored, "other", "other"),
        "equal_opportunity": eo(scored),
        "equal_opportunity_ci": _ci(scored, eo, n_boot=n_boot, seed=seed),
        "unscored": len(pairs) - len(scored),
    }


def _diff(sample: Sequence[dict[str, Any]], gold: bool | None = None) -> float | None:
    rows = [r for r in sample if gold is None or r["gold"] == gold]
    own = mean([r["value"] for r in rows if r["own"]])
    other = mean([r["value"] for r in rows if not r["own"]])
    return None if own is None or other is None else own - other


def _stratified(sample: Sequence[dict[str, Any]]) -> float | None:
    a, b = _diff(sample, True), _diff(sample, False)
    return None if a is None or b is None else (a + b) / 2


def stratified_metrics(records: Sequence[dict[str, Any]], *, seed: int = 0, n_boot: int = 1000) -> list[dict[str, Any]]:
    """RealCritic rows: own − other mean value within gold-correct and gold-incorrect solutions, and their mean."""
    scored = [r for r in records if r["value"] is not None]
    rows = []
    for name, gold in (("gold correct", True), ("gold incorrect", False)):
        sub = [r for r in scored if r["gold"] == gold]
        d = _diff(sub)
        rows.append({"split": name, "n": sum(r["gold"] == gold for r in records), "own": sum(r["own"] for r in sub),
                     "other": sum(not r["own"] for r in sub),
                     "value_own": mean([r["value"] for r in sub if r["own"]]),
                     "value_other": mean([r["value"] for r in sub if not r["own"]]),
                     "diff": d, "diff_ci": bootstrap_ci(sub, _diff, n=n_boot, seed=seed) if d is not None else None,
                     "unscored": sum(r["gold"] == gold and r["value"] is None for r in records)})
    s = _stratified(scored)
    rows.append({"split": "stratified", "n": len(records), "own": sum(r["own"] for r in scored),
                 "other": sum(not r["own"] for r in scored), "diff": s,
                 "diff_ci": bootstrap_ci(scored, _stratified, n=n_boot, seed=seed) if s is not None else None,
                 "unscored": len(records) - len(scored)})
    return rows


def _unscored(c: Critique) -> bool:
    return c.error is not None or c.parse_status == ParseStatus.FAILED


def _judge_of(pref: str | None, own_side: str) -> str | None:
    if pref is None:
        return None
    if pref in ("tie", "inconsistent"):
        return pref
    return "own" if pref == own_side else "other"


def _own_pairs(answers: Sequence[AuthoredAnswer], self_model: str, match: str) -> list[tuple[AuthoredAnswer, AuthoredAnswer]]:
    groups: dict[str, list[AuthoredAnswer]] = {}
    for a in answers:
        groups.setdefault(a.record, []).append(a)
    out = []
    for group in groups.values():
        own = [a for a in group if is_own(a.author, self_model, match)]
        other = [a for a in group if not is_own(a.author, self_model, match)]
        out += [(o, x) for o in own for x in other]
    return out


def _metacritique_pairwise(ctx: BenchContext, answers: list[AuthoredAnswer], self_model: str, match: str,
                           n_boot: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pairs = _own_pairs(answers, self_model, match)
    labeled = []
    for own, other in pairs:
        own_side = random.Random(f"{ctx.seed}:{own.item.id}:{other.item.id}").choice("AB")
        a, b = (own, other) if own_side == "A" else (other, own)
        item = a.item.model_copy(update={"id": f"{own.item.id}|{other.item.id}", "candidates": [b.item.text]})
        labeled.append((own, other, own_side, item))

    def record(x: tuple, c: Critique) -> dict[str, Any]:
        own, other, own_side, item = x
        if "preference" not in c.metadata and not _unscored(c):
            raise UserError(f"critic {c.critic!r} gives no pairwise preference; use --critic pairwise or "
                            "--option protocol=absolute")
        return {"id": item.id, "record": own.record, "own_id": own.item.id, "other_id": other.item.id, "own_author": own.author,
                "other_author": other.author, "own_side": own_side, "gold": _gold(own, other),
                "preference": c.metadata.get("preference"), "judge": _judge_of(c.metadata.get("preference"), own_side),
                "unscored": _unscored(c), "parse_status": c.parse_status.value,
                "parse_error": c.parse_error, "error": c.error}

    records = critique_records(ctx, labeled, lambda x: x[3], record)
    return [{"split": "own vs other (pairwise)", **pair_metrics(records, seed=ctx.seed, n_boot=n_boot)}], records


def _metacritique_absolute(ctx: BenchContext, answers: list[AuthoredAnswer], self_model: str, match: str,
                           n_boot: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    def record(a: AuthoredAnswer, c: Critique) -> dict[str, Any]:
        return {"id": a.item.id, "record": a.record, "source": a.source, "author": a.author,
                "own": is_own(a.author, self_model, match), "value": critique_value(c),
                "score": c.score.value if c.score is not None else None, "human": a.human,
                "unscored": _unscored(c), "parse_status": c.parse_status.value,
                "parse_error": c.parse_error, "error": c.error}

    records = critique_records(ctx, answers, lambda a: a.item, record)
    value = {r["id"]: r["value"] for r in records}
    pairs = []
    for own, other in _own_pairs(answers, self_model, match):
        vo, vx = value[own.item.id], value[other.item.id]
        judge = None if vo is None or vx is None else "own" if vo > vx else "other" if vo < vx else "tie"
        pairs.append({"record": own.record, "gold": _gold(own, other), "judge": judge,
                      "value_diff": None if judge is None else vo - vx,  # type: ignore[operator]
                      "human_diff": own.human["f1"] - other.human["f1"]})
    rows: list[dict[str, Any]] = []
    if self_model:
        diffs = [p for p in pairs if p["value_diff"] is not None]
        value_diff = mean([p["value_diff"] for p in diffs])
        rows.append({"split": "own vs other (scores)", **pair_metrics(pairs, seed=ctx.seed, n_boot=n_boot),
                     "value_diff": value_diff,
                     "value_diff_ci": _ci(diffs, lambda s: mean([p["value_diff"] for p in s]), n_boot=n_boot,
                                          seed=ctx.seed),
                     "human_f1_diff": mean([p["human_diff"] for p in diffs])})
    scored = [r for r in records if r["value"] is not None]
    for key in ("f1", "precision", "recall"):
        corr = correlations([r["value"] for r in scored], [r["human"][key] for r in scored], n=n_boot, seed=ctx.seed)
        rows.append({"split": f"score vs human Meta-{key[0].upper() if key != 'f1' else 'F1'}", **corr,
                     "unscored": len(records) - len(scored)})
    groups = [("own critiques", lambda r: r["own"]), ("other critiques", lambda r: not r["own"])] if self_model else []
    groups += [(f"{src.split('_')[0]} critiques", lambda r, src=src: r["source"] == src) for src in _SOURCES]
    for label, sel in groups:
        sub = [r for r in scored if sel(r)]
        rows.append({"split": label, "n": len(sub), "value": mean([r["value"] for r in sub]),
                     "human_f1": mean([r["human"]["f1"] for r in sub])})
    return rows, records


def _realcritic(ctx: BenchContext, self_model: str, match: str, n_boot: int) -> tuple[list[dict[str, Any]],
                                                                                      list[dict[str, Any]], list[str]]:
    from critica.bench.realcritic import load_realcritic

    items, errors = [], []
    for x in load_realcritic(ctx.data_dir, ctx.splits):
        if isinstance(x, UserError):
            errors.append(str(x))
        else:
            items.append(x)
    if ctx.limit is not None:
        keep = []
        for task in dict.fromkeys(x.task for x in items):
            rows = [x for x in items if x.task == task]
            keep += rows if ctx.limit >= len(rows) else random.Random(ctx.seed).sample(rows, ctx.limit)
        items = keep
    labeled = [(x, Item(id=x.id, question=x.question, response=x.solution)) for x in items]

    def record(x: tuple, c: Critique) -> dict[str, Any]:
        rc = x[0]
        return {"id": rc.id, "split": rc.task, "author": rc.author_model, "own": is_own(rc.author_model, self_model, match),
                "gold": rc.previous_correct, "value": critique_value(c),
                "score": c.score.value if c.score is not None else None,
                "unscored": _unscored(c), "parse_status": c.parse_status.value,
                "parse_error": c.parse_error, "error": c.error}

    records = critique_records(ctx, labeled, lambda x: x[1], record)
    return stratified_metrics(records, seed=ctx.seed, n_boot=n_boot), records, errors


@register_suite("self-preference", "Self-preference probe (--option self=MODEL): own-family vs others' answers on "
                "MetaCritique critiques (pairwise or scores, with human-score correlations) or RealCritic solutions")
def run_self_preference(ctx: BenchContext) -> BenchResult:
    """Judge answers of known authorship and report the critic's preference for its own model's, with CIs."""
    data = str(ctx.options.get("data", "metacritique"))
    protocol = protocol_of(ctx)
    self_model = str(ctx.options.get("self") or "")
    # Without a model, the absolute protocol on MetaCritique still measures agreement with the human scores.
    if not self_model and not (data == "metacritique" and protocol == "absolute"):
        raise UserError("self-preference needs the critic's model: --option self=MODEL (e.g. self=llama-2-70b-chat)")
    match = str(ctx.options.get("match", "family"))
    is_own("x", self_model or "x", match)  # validates the option before any call
    n_boot = int(ctx.options.get("n_boot", 1000))
    errors: list[str] = []
    start = time.perf_counter()
    if data == "metacritique":
        answers = load_metacritique_authored(ctx.data_dir, ctx.limit, ctx.seed)
        if self_model and not any(is_own(a.author, self_model, match) for a in answers):
            authors = sorted({a.author for a in answers})
            raise UserError(f"no MetaCritique critique is by {self_model!r} ({match}); authors: {', '.join(authors)}")
        run = _metacritique_pairwise if protocol == "pairwise" else _metacritique_absolute
        rows, records = run(ctx, answers, self_model, match, n_boot)
    elif data == "realcritic":
        if protocol == "pairwise":
            raise UserError("RealCritic has one solution per problem: no own-vs-other pairs; use an absolute critic "
                            "(e.g. --critic direct or rubric) or --option data=metacritique")
        rows, records, errors = _realcritic(ctx, self_model, match, n_boot)
    else:
        raise UserError(f"option data={data!r}: use 'metacritique' or 'realcritic'")
    wall = time.perf_counter() - start
    own_authors = sorted({r["own_author"] for r in records if "own_author" in r}
                         | {r["author"] for r in records if r.get("own") is True})
    notes = [f"self={self_model or '(none)'} (match={match}): own authors in this sample: {', '.join(own_authors) or 'none'}",
             "95% percentile bootstrap CIs; unscored judgements are counted and left out"]
    if data == "metacritique":
        notes.append("gold between two critiques = higher human Meta-F1 (equal: tie); equal_opportunity = "
                     "P(judge own | gold own) − P(judge other | gold other), 0 = no self-preference")
    else:
        notes.append("diff = own − other mean value (verdict: acceptance rate) within each gold stratum; stratified "
                     "= mean of the two")
    if errors:
        notes.append(f"{len(errors)} malformed record(s) skipped, first: {errors[0]}")
    return BenchResult(suite="self-preference", critic=ctx.critic_name, model=ctx.model, rows=rows, items=records,
                       notes=notes, wall_s=wall, extra={"self": self_model, "match": match, "data": data,
                                                        "protocol": protocol, "tables": _TABLES[data]})
