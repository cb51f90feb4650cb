"""Scripted judges with a known bias, to show that the bias probes detect one (and report none without it).

:func:`biased_judge` returns a reply function for :class:`critica.backends.fake.ScriptedBackend` that answers the
text prompts of the ``pairwise`` and ``rubric`` protocols (``structured=False``). Its choices are pseudo-random but
deterministic: every coin is a hash of the seed and the whole prompt.

* ``kind="length"``, pairwise: with probability ``bias`` it prefers the longer response (by words), otherwise a fair
  coin picks A or B. Rubric: the score is a coin in 2–4 plus ``floor(bias · words / 50)`` (clamped to 1–5), so for
  ``bias > 0`` a longer answer scores higher.
* ``kind="self"``: answers whose text is in ``own`` are the judge's own. Pairwise: with probability ``bias`` it
  prefers the own response when exactly one is own, otherwise a fair coin. Rubric: a coin in 2–4, plus 1 for an own
  answer with probability ``bias``.

``bias=0`` is an unbiased judge of the same shape (pure coins): a probe must report no bias for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from critica.backends.base import GenerateRequest
from critica.critics.markup import neutralise

__all__ = ["biased_judge"]


def _unit(seed: int, text: str, salt: str) -> float:
    digest = hashlib.sha256(f"{seed}\x00{salt}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _between(text: str, start: str, ends: Iterable[str]) -> str:
    rest = text.split(start, 1)[1] if start in text else ""
    for end in ends:
        if end in rest:
            rest = rest.split(end, 1)[0]
    return rest.strip()


def biased_judge(kind: str = "length", bias: float = 0.8, *, own: Iterable[str] = (), seed: int = 0
                 ) -> Callable[[GenerateRequest, int], str]:
    """A scripted pairwise/rubric judge with a known ``kind`` of bias of strength ``bias`` (0 = none)."""
    if kind not in ("length", "self"):
        raise ValueError(f"kind {kind!r}: use 'length' or 'self'")
    own_texts = {neutralise(t).strip() for t in own}

    def reply(request: GenerateRequest, _index: int) -> str:
        prompt = "\n".join(str(m.get("content", "")) for m in request.messages)
        if "[Response A]" in prompt:
            a = _between(prompt, "[Response A]\n", ["\n\n[Response B]"])
            b = _between(prompt, "[Response B]\n", ["\n[Reference answer]", "\nExplain your comparison"])
            favoured = None
            if kind == "length" and len(a.split()) != len(b.split()):
                favoured = "A" if len(a.split()) > len(b.split()) else "B"
            elif kind == "self" and (a in own_texts) != (b in own_texts):
                favoured = "A" if a in own_texts else "B"
            if favoured is not None and _unit(seed, prompt, "bias") < bias:
                pick = favoured
            else:
                pick = "A" if _unit(seed, prompt, "coin") < 0.5 else "B"
            return f"Scripted comparison.\n[[{pick}>{'B' if pick == 'A' else 'A'}]]"
        response = _between(prompt, "[Response to evaluate]\n", ["\n[Reference answer]", "\n[Score rubric]"])
        score = 2 + min(2, int(_unit(seed, prompt, "coin") * 3))
        if kind == "length":
            score += int(bias * len(response.split()) / 50)
        elif response in own_texts and _unit(seed, prompt, "bias") < bias:
            score += 1
        return f"Feedback: scripted.\n[RESULT] {max(1, min(5, score))}"

    return reply
