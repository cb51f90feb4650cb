"""Placing an item's images in a critic's prompt, as OpenAI content parts.

Every prompt-based critic builds its prompt as text from a template; :func:`attach_images` then turns the last user
message into a list of content parts (``{"type": "text", ...}`` and ``{"type": "image_url", "image_url": {"url":
...}}``), so every protocol places images by one rule:

1. Each image belongs to the question or the response (``ImageInput.part``). The text it belongs to is found in the
   prompt as the template quoted it (the question; the response, or for step layouts its last step).
2. Within that text, the k-th ``<image>`` placeholder (the LLaVA / MM-RLHF convention) is replaced by the k-th
   image of that part: the image sits exactly where the text refers to it.
3. Images left without a placeholder follow right after the text they belong to (after the question, before the
   response; after the response, before the rubric or the answer format).
4. When the prompt does not quote that text (a user template that leaves it out, a meta-prompt over a critique),
   the images go at the end of the message: the critic still sees every image, never fewer.

Each image is preceded by a label, ``[Image 2 (response): <caption>]``, numbered in item order, so the critic's
feedback can name it. Captions are item text and are neutralised like it (:mod:`critica.critics.markup`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from critica.backends.base import Message
from critica.critics.markup import neutralise
from critica.types import ImageInput, Item

__all__ = ["PLACEHOLDER", "attach_images", "image_parts"]

PLACEHOLDER = "<image>"
"""Where an image sits in its text: the k-th placeholder of the question (response) is its k-th image."""

_CLOSING_TAG = re.compile(r"\n?</paragraph_\d+>")


def _label(k: int, image: ImageInput) -> str:
    caption = " ".join((image.caption or "").split())
    caption = neutralise(caption[:500], inline=True)
    return f"[Image {k} ({image.part}){': ' + caption if caption else ''}]"


def image_parts(k: int, image: ImageInput) -> list[dict[str, Any]]:
    """The label and the image part of image ``k`` (1-based, in item order)."""
    return [{"type": "text", "text": _label(k, image) + "\n"},
            {"type": "image_url", "image_url": {"url": image.url}}]


def _find(text: str, needle: str, start: int = 0, *, last: bool = False, min_len: int = 12) -> tuple[int, int] | None:
    """Span of ``needle`` in ``text`` from ``start``: as whole lines (a template puts item text on lines of its own),
    else between non-alphanumeric characters when the needle has ``min_len`` characters or more (a short one, "r",
    would be found inside the template's own words); the first occurrence, or the last with ``last``."""
    needle = needle.strip()
    if not needle:
        return None
    spans = []
    pos = text.find(needle, start)
    while pos != -1:
        spans.append((pos, pos + len(needle)))
        pos = text.find(needle, pos + 1)

    def bounded(span: tuple[int, int], stop: Callable[[str], bool]) -> bool:
        before = text[span[0] - 1] if span[0] > 0 else "\n"
        after = text[span[1]] if span[1] < len(text) else "\n"
        return stop(before) and stop(after)

    found = [s for s in spans if bounded(s, lambda c: c == "\n")]
    if not found and len(needle) >= min_len:
        found = [s for s in spans if bounded(s, lambda c: not c.isalnum())]
    if not found:
        return None
    return found[-1] if last else found[0]


def _response_span(item: Item, text: str, start: int) -> tuple[int, int] | None:
    body = item.text
    for variant in (neutralise(body), neutralise(body, strict=True)):
        found = _find(text, variant, start)
        if found:
            return found
    steps = [s for s in (item.steps or []) if s.strip()]
    if steps:  # step layouts quote steps one by one: the response ends where its last step does
        last = steps[-1]
        for variant in (neutralise(last, inline=True), neutralise(last, strict=True, inline=True), neutralise(last)):
            found = _find(text, variant, start, last=True, min_len=1)
            if found:
                first = _find(text, neutralise(steps[0], inline=True), start, min_len=1) or found
                tail = _CLOSING_TAG.match(text, found[1])
                return first[0], tail.end() if tail else found[1]
    return None


def _events(text: str, span: tuple[int, int] | None, images: list[tuple[int, ImageInput]]) -> list[tuple[int, int, list]]:
    """Where the images go: (start, end, images) — text[start:end] (a placeholder, or nothing) is replaced."""
    if not images:
        return []
    if span is None:
        return [(len(text), len(text), images)]
    out: list[tuple[int, int, list]] = []
    pos, rest = span[0], list(images)
    while rest:
        hit = text.find(PLACEHOLDER, pos, span[1])
        if hit == -1:
            break
        out.append((hit, hit + len(PLACEHOLDER), [rest.pop(0)]))
        pos = hit + len(PLACEHOLDER)
    if rest:
        out.append((span[1], span[1], rest))
    return out


def _parts(text: str, events: list[tuple[int, int, list]]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []

    def add_text(t: str) -> None:
        if not t:
            return
        if parts and parts[-1]["type"] == "text":
            parts[-1]["text"] += t
        else:
            parts.append({"type": "text", "text": t})

    cursor = 0
    for start, end, images in sorted(events, key=lambda e: (e[0], e[1])):
        add_text(text[cursor:start])
        if start == end and (start == 0 or text[start - 1] != "\n"):
            add_text("\n")
        for k, image in images:
            label, part = image_parts(k, image)
            add_text(label["text"])
            parts.append(part)
        if start == end and text[end:end + 1] not in ("", "\n"):
            add_text("\n")
        cursor = end
    add_text(text[cursor:])
    return parts


def attach_images(item: Item, messages: list[Message]) -> list[Message]:
    """``messages`` with ``item``'s images placed in the last user message by the rule of the module docstring
    (``messages`` itself when the item has none). The content becomes a list of OpenAI content parts."""
    if not item.images:
        return messages
    out = [dict(m) for m in messages]
    target = next((m for m in reversed(out) if m.get("role") == "user"), None)
    if target is None:
        target = {"role": "user", "content": ""}
        out.append(target)
    text = target.get("content")
    if not isinstance(text, str):  # already content parts: images were placed by the critic itself
        return out
    numbered = list(enumerate(item.images, start=1))
    question = [(k, im) for k, im in numbered if im.part == "question"]
    response = [(k, im) for k, im in numbered if im.part == "response"]
    q_span = _find(text, neutralise(item.question)) or _find(text, neutralise(item.question, strict=True))
    r_span = _response_span(item, text, q_span[1] if q_span else 0) if response else None
    target["content"] = _parts(text, _events(text, q_span, question) + _events(text, r_span, response))
    return out
