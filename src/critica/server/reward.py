"""The reward endpoint's mapping: samples in RL-trainer shapes → items, critiques → one float each.

A critique becomes a reward in [0, 1]: the critic's own score normalised to its scale when it gives one, otherwise
1.0 for ``correct`` and 0.0 for ``incorrect``. An item the critic could not judge gets the server's
``unscored_reward`` and ``scored: false`` in its details, so a trainer can mask it instead of learning from a guess.
"""

from __future__ import annotations

from critica.inputs.images import ImageError, parse_images
from critica.inputs.records import ReadLimits
from critica.server.errors import HTTPProblem
from critica.server.schemas import FieldProblem, RewardDetail, RewardRequest, RewardSample
from critica.types import Critique, Item, Verdict

__all__ = ["reward_samples", "reward_items", "to_reward"]


def reward_samples(req: RewardRequest) -> list[RewardSample]:
    """The request's samples, from critica's ``samples`` or OpenRLHF's ``query``/``prompts``/``labels``."""
    if req.samples is not None:
        if req.query is not None:
            raise HTTPProblem(422, "send either 'samples' or 'query' (OpenRLHF), not both")
        return req.samples
    if req.query is None:
        raise HTTPProblem(422, "request body: field 'samples': missing (or send OpenRLHF's 'query' list)",
                          errors=[FieldProblem(location="request body", field="samples", reason="missing",
                                               message="request body: field 'samples': missing")])
    n = len(req.query)
    for name, values in (("prompts", req.prompts), ("labels", req.labels)):
        if values is not None and len(values) != n:
            raise HTTPProblem(422, f"request body: field '{name}': has {len(values)} entries, 'query' has {n}")
    out = []
    for i, text in enumerate(req.query):
        prompt = req.prompts[i] if req.prompts is not None else ""
        # OpenRLHF sends prompt+response as one string; the response is what follows the prompt.
        response = text[len(prompt):] if prompt and text.startswith(prompt) else text
        label = req.labels[i] if req.labels is not None else None
        out.append(RewardSample(prompt=prompt, response=response, reference=label))
    return out


def reward_items(samples: list[RewardSample], limits: ReadLimits | None = None) -> list[Item]:
    """One item per sample; ids are the given ones or the position. Images are checked as posted items' are (no
    file path is read, remote URLs only where ``limits`` allow); a bad one answers 422 naming the sample."""
    limits = limits or ReadLimits(image_urls=False)
    items = []
    seen: set[str] = set()
    for i, s in enumerate(samples):
        item_id = s.id or str(i)
        if item_id in seen:
            raise HTTPProblem(422, f"items[{i}]: field 'id': duplicate id {item_id!r} in this request")
        seen.add(item_id)
        images = []
        if s.images:
            try:
                images = parse_images(s.images, "images", base_dir=None, max_bytes=limits.image_max_bytes,
                                      max_count=limits.image_max_count, urls=limits.image_urls)
            except ImageError as e:
                message = f"samples[{i}]: field '{e.field}': {e.reason}"
                raise HTTPProblem(422, message, errors=[FieldProblem(location=f"samples[{i}]", field=e.field,
                                                                      reason=e.reason, message=message)]) from None
        items.append(Item(id=item_id, question=s.prompt, response=s.response, reference_answer=s.reference,
                          tests=list(s.tests or []), images=images))
    return items


def to_reward(c: Critique, unscored_reward: float) -> tuple[float, RewardDetail]:
    """The reward of one critique and how it was obtained."""
    if c.verdict == Verdict.UNSCORED:
        reason = c.error or c.parse_error or "no verdict"
        return unscored_reward, RewardDetail(scored=False, verdict=c.verdict.value, reason=reason)
    if c.verdict == Verdict.CORRECT and _checked_nothing(c):
        # "No error found" in a response where nothing could be checked (no computation the verifier reads, no
        # reference, no tests) is not a judgement: a policy could earn it with text the checks skip.
        return unscored_reward, RewardDetail(scored=False, verdict=c.verdict.value,
                                             reason="no error found, but nothing in the response could be checked")
    norm = c.score.normalized if c.score is not None else None
    value = norm if norm is not None else (1.0 if c.verdict == Verdict.CORRECT else 0.0)
    return float(value), RewardDetail(scored=True, verdict=c.verdict.value, first_error_step=c.first_error_step,
                                      score=norm)


def _checked_nothing(c: Critique) -> bool:
    """Whether ``c``'s verdict rests on no check at all: the verifier says so (``metadata["checked_nothing"]``), or
    every sample that voted for the verdict (in a vote, panel or cascade) rests on none."""
    if c.metadata.get("checked_nothing") is True:
        return True
    backing = [s for s in c.samples if s.verdict == c.verdict]
    return bool(backing) and all(_checked_nothing(s) for s in backing)
