"""Checking critic options before a critic is built: the sampling options every model critic shares, and the
verifier's own options, typed.

Options reach critics from flags, config files and HTTP bodies (``"options": {...}``). A wrong value must be the
caller's error naming the option — not a crash deep inside a request (``"temperature": "hot"``), a silently coerced
value (``"structured": "x"``) or a number no backend can take (``"seed": 1e400``, ``"max_tokens": -5``). Options a
model critic does not take are refused by its factory (a ``TypeError`` turned into a
:class:`~critica.errors.OptionError`); the verifier's are checked whole by :func:`verifier_options`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError

from critica.errors import OptionError, did_you_mean

__all__ = ["SAMPLING_OPTIONS", "VERIFIER_OPTIONS", "check_options", "verifier_options"]

_Int64 = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
_Real = StrictFloat | StrictInt  # strict: "0.5" and true are refused, 1 is a float


class _Sampling(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    temperature: Annotated[_Real, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    top_p: Annotated[_Real, Field(gt=0, le=1, allow_inf_nan=False)] | None = None
    max_tokens: Annotated[StrictInt, Field(ge=1, le=10_000_000)] | None = None
    seed: _Int64 | None = None
    structured: StrictBool | None = None


SAMPLING_OPTIONS = frozenset(_Sampling.model_fields)
"""Options every model-backed critic takes (model-free critics accept and ignore them)."""


class _Verifier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arithmetic: StrictBool = True
    final_answer: StrictBool = True
    evidence: StrictBool = True
    code: StrictBool = True
    rules: StrictBool = True
    locate: Literal["confident", "earliest"] | None = None


VERIFIER_OPTIONS = tuple(_Verifier.model_fields)
"""Options of the ``verifier`` critic (:class:`~critica.verifiers.critic.VerifierCritic`'s arguments)."""

_VERIFIER_REASONS = {"bool_type": "must be true or false", "literal_error": "must be 'confident' or 'earliest'"}


def _finite(critic: str, name: str, value: Any) -> None:
    # Iterative: an option value nested a thousand levels deep must not hit the recursion limit.
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            raise OptionError(critic, name, f"{v} is not a finite number")
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend(v)


def check_options(critic: str, options: dict[str, Any]) -> None:
    """Check ``options`` (finite numbers, the shared sampling options typed); raises OptionError naming the first bad
    one."""
    for key, value in options.items():
        if not isinstance(key, str):
            raise OptionError(critic, repr(key), "option names must be strings")
        _finite(critic, key, value)
    sampling = {k: v for k, v in options.items() if k in SAMPLING_OPTIONS}
    try:
        _Sampling(**sampling)
    except ValidationError as e:
        first = e.errors()[0]
        name = str(first.get("loc", ("?",))[0])  # the option, not the union branch pydantic tried ("temperature.float")
        raise OptionError(critic, name, f"{first.get('msg', 'invalid')} (got {options.get(name)!r:.60})") from None


def verifier_options(critic: str, options: dict[str, Any]) -> dict[str, Any]:
    """The verifier options given, checked (those not given are left out); raises OptionError naming ``critic``
    (the critic asked for) and the first bad option. Sampling options must already be dropped (``build_critic``
    drops them for model-free critics)."""
    try:
        checked = _Verifier(**options)
    except ValidationError as e:
        first = e.errors()[0]
        name = str(first["loc"][0])
        if first["type"] == "extra_forbidden":
            raise OptionError(critic, name, f"the critic does not accept this option{did_you_mean(name, VERIFIER_OPTIONS)}; "
                                            f"it takes: {', '.join(VERIFIER_OPTIONS)}") from None
        reason = _VERIFIER_REASONS.get(first["type"], first["msg"])
        raise OptionError(critic, name, f"{reason}, not {options.get(name)!r:.40}") from None
    return checked.model_dump(exclude_unset=True)
