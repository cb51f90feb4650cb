"""The critica error tree.

::

    CriticaError
    ├── UserError                 the user's mistake: bad config, bad input (names file, line, field)
    │   ├── InputError            one malformed record in an input file
    │   ├── OptionError           a critic option it does not take, or a bad value (names the option)
    │   └── ClusterUnavailable    a Ray cluster unreachable, refusing the token, or whose workers lack critica
    ├── BackendError              a backend call failed (after bounded retries); carries status and body
    │   ├── BackendUnavailable    the server could not be reached / timed out
    │   └── ImagesUnsupported     the backend, or the server or model behind it, cannot take the item's images
    └── MissingDependency         an optional package or file is absent; carries the command that fixes it

A failing item becomes data in a run (an unscored critique with ``error`` set), never a crashed batch.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CriticaError", "UserError", "InputError", "OptionError", "ClusterUnavailable", "BackendError", "BackendUnavailable",
           "ImagesUnsupported",
           "MissingDependency", "close_matches", "did_you_mean"]


def close_matches(word: str, choices: Iterable[str]) -> list[str]:
    """The (at most two) choices closest to ``word``, closest first; empty when none is close."""
    import difflib

    return difflib.get_close_matches(word, list(choices), n=2, cutoff=0.6)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` naming the closest choices to ``word``, or ``""`` when none is close."""
    close = close_matches(word, choices)
    return (" (did you mean " + " or ".join(repr(c) for c in close) + "?)") if close else ""


class CriticaError(Exception):
    """Base of every error critica raises on purpose."""


class UserError(CriticaError):
    """Bad configuration or input; the message says what to change."""


class InputError(UserError):
    """A malformed record in an input file."""

    def __init__(self, path: str, location: str, field: str | None, reason: str) -> None:
        self.path = path
        self.location = location
        self.field = field
        self.reason = reason
        where = f"{path}:{location}"
        super().__init__(f"{where}: field '{field}': {reason}" if field else f"{where}: {reason}")


class OptionError(UserError):
    """A critic option that is not taken, or whose value is wrong; ``option`` names it."""

    def __init__(self, critic: str, option: str, reason: str) -> None:
        self.critic = critic
        self.option = option
        self.reason = reason
        super().__init__(f"critic {critic!r}: option {option!r}: {reason}")


class BackendError(CriticaError):
    """A backend call failed after its retries."""

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None) -> None:
        self.status = status
        self.body = body
        super().__init__(message)


class BackendUnavailable(BackendError):
    """The backend could not be reached or did not answer within the timeout."""


class ImagesUnsupported(BackendError):
    """The item has images and the backend cannot take them (an in-process text model, or a server that refused the
    image parts). The item is left unscored with this reason: a critic never judges it without its images."""


class ClusterUnavailable(UserError):
    """A Ray cluster could not be reached, refused the token, or its workers cannot run critica."""


class MissingDependency(CriticaError):
    """An optional dependency is missing; ``fix`` is the command that installs it."""

    def __init__(self, what: str, fix: str) -> None:
        self.fix = fix
        super().__init__(f"{what} is not available. Install it with: {fix}")
