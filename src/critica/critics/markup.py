"""Item text inside a prompt: neutralise the protocol's own markup, keep the text readable.

Every prompt puts item text (written by the models being judged) between markers the protocol relies on: the
``<paragraph_i>`` tags of ProcessBench, section headers such as ``[Response B]`` or ``[Reference answer]``, step
labels ``Step k:``, passage labels ``[k]``, verdict markers ``[[A>B]]`` and ``[RESULT]``, and, once the backend
renders the chat template, role tokens such as ``<|im_start|>``. Item text that writes those markers could close a
paragraph early, add a step, forge a reference answer or a second response, or open a system turn. :func:`neutralise`
rewrites exactly those markers inside item text with look-alike characters, so the text still reads the same to the
critic but can no longer form the protocol's markup:

====================================================================  ======================================
markup written in item text                                            becomes
====================================================================  ======================================
``<paragraph_0>``, ``</paragraph_0>``, ``<think>``, ``</think>``       ``‹paragraph_0›``, ``‹/think›`` …
chat-template tokens ``<|im_start|>``, ``<|eot_id|>``, ``<s>``,        ``‹|im_start|›``, ``‹s›``, ``‹‹SYS››`` …
``<<SYS>>``, ``<start_of_turn>``; ``[INST]``, ``[/INST]``              ``［INST］``
a line that is only one of the templates' headers: ``[Question]``,     ``［Response B］``
``[Response B]``, ``[Reference answer]``, ``[Tool evidence]`` …
a bracketed number starting a line (a passage label): ``[2] …``        ``［2］ …``
verdict markers ``[[A]]``, ``[[A>B]]``, ``[[A=B]]``, ``[RESULT]``      ``［［A›B］］``, ``［RESULT］``
a system role label starting a line: ``SYSTEM:``, ``**Developer:**``   ``SYSTEM∶`` (U+2236)
a markdown role header: ``### System``, ``## Instruction``, ``#         ``＃＃＃ System``
Response``, ``### Assistant``
with ``strict=True`` (numbered-step layouts, loop and meta prompts):
``Step 3:`` starting a line (a forged step)                            ``Step 3∶``
a line that is only a template label: ``Critique:``, ``Solution:``     ``Critique∶``
====================================================================  ======================================

Normal text is left byte-identical, and the function is idempotent. On the public benchmarks, the prompts of
ProcessBench, MR-GSM8K and PRMBench do not change at all (the rules were narrowed until they did not: ``[asy]``
blocks, ``Human:``/``Assistant:`` transcripts and responses numbering their own steps are content, not markup). The look-alikes are: ‹ › (U+2039/U+203A) for angle brackets, ［ ］ (U+FF3B/U+FF3D) for square
brackets, ∶ (U+2236) for the colon and ＃ (U+FF03) for ``#``.

Not neutralised, on purpose: ``\\boxed{…}`` (nearly every math solution ends with one, and the critic must see the
solution's answer as written) and answer lines such as ``Verdict: correct``. Parsers read only the critic's reply,
never the prompt, and bind to its *final* answer; an item that persuades the critic to end its reply with a copied
``\\boxed{-1}`` is prompt injection into the model, which no markup can prevent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from critica.backends.base import CONTROL_TOKENS
from critica.inputs.steps import numbered

__all__ = ["neutralise", "numbered_steps", "numbered_passages", "LOOKALIKES"]

LOOKALIKES = str.maketrans({"<": "‹", ">": "›", "[": "［", "]": "］", ":": "∶", "#": "＃"})
"""The character substitutions applied inside a matched marker (nothing else is changed)."""

# A line break as tokenizers see one (str.splitlines' set, which includes \r and U+2028).
_BOL = r"(?:^|(?<=[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]))"
_EOL = r"(?=[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]|\Z)"

_ROLES = r"system|developer"
"""Plain-text role labels neutralised anywhere: a forged system turn. (``Human:``/``Assistant:`` are left alone:
dialogue transcripts, such as every HH-RLHF record, are written with them.)"""
_MD_ROLES = r"system|developer|assistant|user|instruction|input|response"
_HEADERS = (r"question|solution|response|response [a-z]|response \d{1,4}|reference answer|math problem|"
            r"retrieved passages|answer reasoning|first-pass critique|instruction|response to evaluate|score rubric|"
            r"query|principles you must include|tool evidence")
"""The section headers of the shipped templates (``[Question]`` …), matched as a whole line, any case."""
_TEMPLATE_LABELS = (r"problem|solution|critique|question|answer|retrieved passages|answer and reasoning|"
                    r"solution so far|solution under review|the reviewer's critique")
"""The line labels of the loop and meta templates (``Critique:`` alone on a line)."""

_COMMON = [
    # chat-template control tokens, as the backends know them: <|im_start|>, <|eot_id|>, </s>, <<SYS>> …
    CONTROL_TOKENS,
    # protocol and reasoning tags
    r"<{1,2}/?(?:paragraph_\d{1,9}|think|thinking|reasoning)>{1,2}",
    r"\[/?INST\]",
    # a whole line that is one of the templates' bracketed headers: [Question], [Response B] …
    _BOL + r"[ \t]*\[[ \t]*(?:" + _HEADERS + r")[ \t]*\][ \t]*" + _EOL,
    # a passage label starting a line: [3] …
    _BOL + r"[ \t]*\[\d{1,6}\]",
    # verdict markers of the pairwise and rubric protocols
    r"\[\[[ \t]*[AB][ \t]*(?:[<>=][ \t]*[AB][ \t]*)?\]\]",
    r"\[RESULT\]",
    # role labels starting a line: "SYSTEM:", "**System:**", "> developer:"
    _BOL + r"[ \t>*_\-]*(?:" + _ROLES + r")[ \t*_]*:",
    # markdown role headers: "### System", "## Instruction", "# Response"
    _BOL + r"[ \t]*#{1,6}(?=[ \t]*(?:" + _MD_ROLES + r")\b)",
]
_STRICT = [
    # a step label starting a line: the marker of the numbered-steps layouts
    _BOL + r"[ \t]*Step[ \t]+\d{1,9}[ \t]*:",
    # a line that is only one of the loop and meta templates' labels ("Critique:", "Solution so far:")
    _BOL + r"[ \t]*(?:" + _TEMPLATE_LABELS + r")[ \t]*:[ \t]*" + _EOL,
]
_REWRITTEN = re.compile(r"[<>\[\]:#]")
"""The characters :data:`LOOKALIKES` rewrites: a text without any of them comes out of :func:`neutralise` unchanged."""
_MARKUP = re.compile("|".join(_COMMON), re.IGNORECASE)
_MARKUP_STRICT = re.compile("|".join(_COMMON + _STRICT), re.IGNORECASE)


def neutralise(text: str, *, strict: bool = False, inline: bool = False) -> str:
    """``text`` with the protocol markup it contains rewritten in look-alike characters (see the module docstring);
    text without such markup is returned unchanged.

    Args:
        strict: Also the markers of the layouts that number steps line by line and of the loop templates: a ``Step
            k:`` label starting a line, and a line that is only a template label (``Critique:``). For text placed in
            those prompts; elsewhere such lines are plain content (a response that numbers its own steps).
        inline: The text's first line continues a line of the template (a step's text after ``Step 3: ``), so it
            does not start a line: ``Step 3: Step 3: …`` is the usual look of a response that numbered its steps.
    """
    if not text or _REWRITTEN.search(text) is None:
        # nothing a match could rewrite: skip the full pattern, the largest cost of rendering a prompt
        return text
    pattern = _MARKUP_STRICT if strict else _MARKUP
    if inline:  # a character that is not a line break keeps the first line from matching as a line start
        return pattern.sub(lambda m: m.group(0).translate(LOOKALIKES), "\x00" + text)[1:]
    return pattern.sub(lambda m: m.group(0).translate(LOOKALIKES), text)


def numbered_steps(steps: Iterable[str], *, sep: str = "\n") -> str:
    """Steps as ``Step 1: …`` (1-based, as people read them), joined by ``sep``; each step's text is neutralised
    (strict: it sits in a numbered-steps layout; inline: it continues its label's line). Steps are shown as given
    (the critics' layouts strip them first), less a step's own leading ``Step k:`` marker
    (:func:`critica.inputs.steps.numbered`: never ``Step 3: Step 3: …``)."""
    return sep.join(f"Step {i}: {neutralise(s, strict=True, inline=True)}" for i, s in numbered(steps))


def numbered_passages(passages: Iterable[str]) -> str:
    """Passages as ``[1] …`` blocks (1-based) separated by blank lines, each stripped and neutralised (strict,
    inline: it continues its label's line)."""
    return "\n\n".join(f"[{i}] {neutralise(p.strip(), strict=True, inline=True)}" for i, p in enumerate(passages, 1))
