"""The LLM MetaCritique judge (critic ``metacritique-llm``): the paper's prompts over any critica backend.

Prompts (``critica/critics/prompts/metacritique_*.txt``, overridable through ``$CRITICA_PROMPTS``) are those of
Sun et al., "The Critique of Critique" (ACL 2024 Findings, arXiv:2401.04518; GAIR-NLP/MetaCritique, Apache-2.0):
``extract`` (critique → check-worthy claims, the AIUs), ``precision`` (is an AIU true given the question, the
model-generated answer and the reference answer?), ``recall`` (is a reference AIU stated in or deducible from the
critique?) and ``reference`` (write a reference critique when none is given). Each file holds the system message,
a line ``=== user ===`` and the user message; the user parts are laid out as upstream builds them. One departure:
when the item has a reference answer, the reference-critique prompt shows it (upstream's prompt shows only the
question and answer although the paper describes the reference critique as written with the reference answer).

Calls per critique: one reference critique (if not given), up to two extractions (skipped for given AIUs), one
verification per AIU — all through the caller (its timeout, retries, concurrency limit and cache).

Parsing follows critica's conventions. With ``structured=True`` (the default) the request carries a JSON schema
(``{"claims": [...]}`` / ``{"verification", "claim_is": "true"|"false"}``); a reply that is not that JSON falls
back to the paper's text reading: ``claim is true`` / ``claim is false``, the **last** occurrence binding (upstream
checks "true" first, anywhere). Anything else — or a failed call — leaves the AIU **unscored**: never counted as
factual or covered. An extraction that yields no claim leaves that side unscored.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from critica.backends.base import Message
from critica.backends.call import Caller
from critica.critics.base import unscored
from critica.critics.markup import neutralise
from critica.critics.parse import strip_reasoning
from critica.critics.prompts import load_template
from critica.critics.structured import ProtocolCritic, Reply, find_json
from critica.errors import UserError
from critica.metacritique.base import MetaInput, as_critique, build_result, meta_input
from critica.types import (
    Coverage,
    Critique,
    Factuality,
    HypothesisAIU,
    Item,
    MetaCritiqueResult,
    ReferenceAIU,
    Usage,
)

__all__ = ["LLMMetaJudge", "parse_claims", "parse_verification", "EXTRACT_SCHEMA", "VERIFY_SCHEMA"]

EXTRACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"claims": {"type": "array", "items": {"type": "string"}}},
    "required": ["claims"],
    "additionalProperties": False,
}
VERIFY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"verification": {"type": "string"}, "claim_is": {"type": "string", "enum": ["true", "false"]}},
    "required": ["verification", "claim_is"],
    "additionalProperties": False,
}
_EXTRACT_JSON = '\nAnswer with a JSON object: {"claims": ["<claim>", ...]} (one self-contained claim per string).'
_VERIFY_JSON = ('\nAnswer with a JSON object: {"verification": "<your step-by-step verification>", '
                '"claim_is": "true" or "false"}.')
_USER = "\n=== user ===\n"
_VERDICT = re.compile(r"claim\s+is\s+(true|false)\b", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*•]+|\d+[.)]|claims?\s*:)\s*", re.IGNORECASE)
MAX_AIUS = 64
"""At most this many AIUs per side are verified (a note says when more were extracted)."""


def _messages(template: str, **fields: str) -> list[Message]:
    text = load_template(template)
    system, sep, user = text.partition(_USER)
    if not sep:  # an override without the separator: all of it is the user message
        return [{"role": "user", "content": text.format(**fields)}]
    return [{"role": "system", "content": system.strip()}, {"role": "user", "content": user.format(**fields)}]


def parse_claims(raw: str | None, *, structured: bool = True) -> list[str] | None:
    """The claims of an extraction reply: the JSON ``claims`` list, else one claim per non-empty line (list
    markers stripped, as upstream splits the reply at newlines); None when nothing usable is there."""
    if raw is None:
        return None
    ans = find_json(raw, structured=structured)
    if ans is not None and isinstance(ans.value.get("claims"), list):
        claims = [c.strip() for c in ans.value["claims"] if isinstance(c, str) and c.strip()]
        return claims or None
    lines = [_BULLET.sub("", ln).strip() for ln in strip_reasoning(raw).splitlines()]
    claims = [ln for ln in lines if ln and not ln.startswith("{") and re.search(r"[A-Za-z]{2}", ln)]
    return claims or None


def parse_verification(raw: str | None, *, structured: bool = True) -> bool | None:
    """True / False for a verification reply, None when it gives no verdict the prompt offered."""
    if raw is None:
        return None
    ans = find_json(raw, structured=structured)
    if ans is not None and "claim_is" in ans.value:
        v = ans.value["claim_is"]
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.strip().lower() in ("true", "false"):
            return v.strip().lower() == "true"
    found = _VERDICT.findall(strip_reasoning(raw))
    return found[-1].lower() == "true" if found else None


class LLMMetaJudge(ProtocolCritic):
    """MetaCritique with an LLM judge (see the module docstring); also a Critic.

    Args:
        caller: The judge model.
        threshold: Meta-F1 from which the returned critique's verdict is ``correct`` (a good critique).
        temperature, max_tokens, seed, structured: As for every LLM critic.
    """

    name = "metacritique-llm"
    reads_critique = True  # as a --meta-critic it is shown the item with the sample's critique (aggregate.voting)
    multi_call = True

    def __init__(self, caller: Caller, *, threshold: float = 0.5, temperature: float | None = 0.0,
                 max_tokens: int | None = 1024, seed: int | None = 0, structured: bool = True) -> None:
        super().__init__(caller, temperature=temperature, max_tokens=max_tokens, seed=seed, structured=structured)
        if not 0 <= threshold <= 1:
            raise UserError(f"threshold must be between 0 and 1, got {threshold}")
        self.threshold = threshold

    def _ask(self, item: Item, messages: list[Message], schema: dict[str, Any] | None, name: str, seed: int | None,
             suffix: str = "") -> Any:
        if self.structured and suffix:
            messages = [*messages[:-1], {**messages[-1], "content": messages[-1]["content"].rstrip("\n") + suffix + "\n"}]
        return self.call(item, messages, schema, name, seed=seed)

    async def _extract(self, item: Item, critique: str, seed: int | None) -> tuple[list[str] | None, Reply]:
        reply = await self._ask(item, _messages("metacritique_extract", critique=neutralise(critique.strip())),
                                EXTRACT_SCHEMA, "metacritique_claims", seed, _EXTRACT_JSON)
        return parse_claims(reply.text, structured=self.structured), reply

    async def _verify(self, item: Item, messages: list[Message], seed: int | None) -> tuple[bool | None, Reply]:
        reply = await self._ask(item, messages, VERIFY_SCHEMA, "metacritique_verify", seed, _VERIFY_JSON)
        return parse_verification(reply.text, structured=self.structured), reply

    async def judge(self, item: Item, given: MetaInput, seed: int | None = None) -> MetaCritiqueResult:
        """Score ``given.critique`` of ``item`` with the paper's three prompts (and the reference prompt if needed)."""
        seed = self.sampling.seed if seed is None else seed
        replies: list[Reply] = []
        notes: list[str] = []
        errors: list[str] = []
        reference = given.reference_critique
        generated = False
        if not reference:
            ref_block = (f"reference answer:\n{neutralise(item.reference_answer.strip())}\n\n"
                         if item.reference_answer else "")
            reply = await self.call(item, _messages("metacritique_reference", question=neutralise(item.question.strip()),
                                                    response=neutralise(item.text.strip()), reference=ref_block),
                                    None, "metacritique_reference", seed=seed)
            replies.append(reply)
            reference, generated = (strip_reasoning(reply.text).strip() if reply.text else ""), True
            if reply.error:
                errors.append(f"reference critique: {reply.error}")
            notes.append("reference critique written by the judge" + ("" if item.reference_answer else
                                                                      " without a reference answer"))

        async def aius(given_aius: list[str] | None, text: str, what: str) -> list[str] | None:
            if given_aius is not None:
                return given_aius
            if not text.strip():
                return []
            claims, reply = await self._extract(item, text, seed)
            replies.append(reply)
            if reply.error:
                errors.append(f"{what} AIU extraction: {reply.error}")
            elif claims is None:
                notes.append(f"{what} AIU extraction gave no claim (unparseable reply)")
            return claims

        hyp_texts, ref_texts = await asyncio.gather(aius(given.critique_aius, given.critique, "critique"),
                                                    aius(given.reference_aius, reference, "reference"))
        for texts, what in ((hyp_texts, "critique"), (ref_texts, "reference")):
            if texts is not None and len(texts) > MAX_AIUS:
                notes.append(f"{len(texts)} {what} AIUs: only the first {MAX_AIUS} verified")
        hyp_texts = (hyp_texts or [])[:MAX_AIUS]
        ref_texts = (ref_texts or [])[:MAX_AIUS]
        question, response = neutralise(item.question.strip()), neutralise(item.text.strip())
        answer = neutralise((item.reference_answer or "").strip()) or "(none given)"
        critique = neutralise(given.critique.strip())
        checks = [self._verify(item, _messages("metacritique_precision", question=question, response=response,
                                               reference=answer, claim=neutralise(a.strip())), seed) for a in hyp_texts]
        checks += [self._verify(item, _messages("metacritique_recall", critique=critique, claim=neutralise(a.strip())),
                                seed) for a in ref_texts]
        verdicts = await asyncio.gather(*checks)
        hypothesis: list[HypothesisAIU] = []
        coverage: list[ReferenceAIU] = []
        for i, (ok, reply) in enumerate(verdicts):
            replies.append(reply)
            why = reply.error or ("" if ok is not None else "no 'claim is true/false' verdict in the reply")
            if reply.error:
                errors.append(reply.error)
            explanation = (reply.text or "")[:2000] if not why else f"unscored: {why}"
            if i < len(hyp_texts):
                fv = Factuality.UNSCORED if ok is None else Factuality.FACTUAL if ok else Factuality.NOT_FACTUAL
                hypothesis.append(HypothesisAIU(text=hyp_texts[i], verdict=fv, explanation=explanation))
            else:
                cv = Coverage.UNSCORED if ok is None else Coverage.COVERED if ok else Coverage.NOT_COVERED
                coverage.append(ReferenceAIU(text=ref_texts[i - len(hyp_texts)], verdict=cv, explanation=explanation))
        usage = Usage()
        for r in replies:
            usage = usage + r.usage
        if ref_texts == [] and not reference:
            notes.append("no reference critique: recall unscored")
        return build_result(item, self.name, given, reference or "", hypothesis, coverage, method=self.caller.name,
                            notes=notes, reference_generated=generated, usage=usage,
                            error="; ".join(dict.fromkeys(errors))[:2000] or None)

    async def run(self, item: Item, seed: int | None) -> Critique:
        start = time.perf_counter()
        try:
            given = meta_input(item)
        except UserError as e:
            return unscored(item, self.name, reason=str(e))
        result = await self.judge(item, given, seed)
        crit = as_critique(item, result, threshold=self.threshold)
        crit.model = self.caller.name
        crit.sampling = self.sampling.model_copy(update={"seed": seed})
        crit.latency_s = time.perf_counter() - start
        return crit
