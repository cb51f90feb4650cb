"""``design``: a design critique of a visual artefact (a screen, page, chart, slide, poster) shown in the item's images.

A rubric critic (:mod:`critica.critics.rubric`: feedback, one score per aspect, an overall score, ``[RESULT] k``)
with its own prompt and a default rubric of four aspects scored 1–5: **layout** (alignment, spacing, grouping),
**legibility** (type size, typefaces, contrast with the background), **hierarchy** (what is seen first, and in what
order) and **accessibility** (WCAG 2.2 AA contrast, meaning not carried by colour alone, target sizes, text in
images). The rubric is ``prompts/design_default.txt``; an item's ``rubric`` or the ``rubric``/``aspects`` options
replace it, as for ``rubric``.

The item's ``question`` is the design brief, its ``response`` the author's description of the artefact (may be
empty), and its ``images`` the artefact itself: they are placed in the prompt by the rule of
:mod:`critica.critics.images`. An item without an image is ``unscored`` ("no image of the artefact") without a
call: a design critique of a description alone would be a guess. A backend that cannot take images leaves it
``unscored`` too (``images not accepted by the backend``). ``verdict`` is ``correct`` when the overall score passes
``pass_threshold`` (default: 4–5 on 1–5).

Sources: the rubric follows the critique dimensions of Duan et al., "UICrit: Enhancing Automated Design Evaluation
with a UI Critique Dataset" (UIST 2024, arXiv:2407.08850: layout, visual hierarchy, readability/legibility,
accessibility) and the WCAG 2.2 contrast thresholds; the scoring protocol is Prometheus's (arXiv:2310.08491).
"""

from __future__ import annotations

from critica.backends.base import Message
from critica.critics.base import unscored
from critica.critics.rubric import RubricCritic
from critica.types import Critique, Item

__all__ = ["DesignCritic"]

NO_IMAGE = "no image of the artefact: a design critique needs the item's images"
NO_DESCRIPTION = "(no description: the artefact is in the image)"
"""Stands for an empty response, so that the response's images have a place in the prompt (after this line)."""


class DesignCritic(RubricCritic):
    """Rubric scores for layout, legibility, hierarchy and accessibility of the artefact in the item's images."""

    name = "design"
    template = "design"
    default_rubric = "design_default"

    def messages(self, item: Item) -> list[Message]:
        if not item.text.strip():
            item = item.model_copy(update={"response": NO_DESCRIPTION, "steps": None})
        return super().messages(item)

    def augment(self, item: Item, messages: list[Message]) -> list[Message]:
        if not item.text.strip():
            item = item.model_copy(update={"response": NO_DESCRIPTION, "steps": None})
        return super().augment(item, messages)

    async def sample(self, item: Item, n: int = 1, seed: int | None = None) -> list[Critique]:
        if not item.images:
            return [unscored(item, self.name, reason=NO_IMAGE, model=self.caller.name) for _ in range(n)]
        return await super().sample(item, n, seed)
