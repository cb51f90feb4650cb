"""Output files that are complete or absent: written to a temporary file beside the target, then renamed over it.

A process killed while writing an export, a benchmark's JSON or a plot must not leave a truncated file that a
reader could take for a complete one (a JSONL export cut between two lines is still well-formed). So every
user-facing output file is written through :func:`atomic_path` / :func:`atomic_open`:

* the data goes to a hidden temporary file in the target's directory (``.NAME.XXXXXXXX.tmp``; same directory, so the
  rename cannot cross file systems);
* on success it is flushed and ``fsync``-ed, then ``os.replace``-d over the target (atomic on POSIX and Windows),
  and the directory is ``fsync``-ed so the rename itself survives a crash;
* on an exception (``KeyboardInterrupt`` included) the temporary file is removed and the target is left as it was:
  absent, or the previous complete version. A signal that ends the process without an exception (``kill -9``, and
  with Python's default handlers ``SIGTERM`` and ``SIGHUP`` too) can leave the hidden temporary file behind, but
  never a truncated target.

A target that is a symbolic link is written through it, like ``open`` would: the temporary file is created beside
the file the link points to and renamed over that file, so the link stays a link and its target gets the content.

A target that exists and is not a regular file (``/dev/stdout``, a FIFO) is written in place: it cannot be renamed
over, and nothing could mistake it for a finished file.

Streams that are meant to be read while they grow (``critica critique --out``) are not written this way; they write
each record as one complete line instead (see :class:`critica.cli.common.JsonlSink`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_path", "atomic_open", "atomic_write_text"]


def _in_place(path: Path) -> bool:
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        return False


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":  # Windows cannot open a directory for fsync; its rename is durable enough
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _temp_beside(path: Path) -> Path:
    """Create (exclusively, honouring the umask like a normal ``open``) an empty hidden file next to ``path``."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to; it becomes ``path`` only if the block succeeds.

    For writers that take a path (pyarrow, matplotlib). The yielded file exists (empty) and is removed on failure.
    """
    # Through a symlink to its real target: renaming over the link itself would replace it with a regular file and
    # leave the file it points to stale.
    path = Path(os.path.realpath(path))
    if _in_place(path):
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(path)
    try:
        yield tmp
        with open(tmp, "rb+") as f:  # the writer may have closed it without fsync
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            if path.exists():  # replacing a file keeps its permissions
                os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """``open(path, mode)`` whose content appears at ``path`` complete, or not at all (see the module docstring).

    ``mode`` is ``"w"`` or ``"wb"``; text mode defaults to UTF-8.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes a whole file: mode 'w' or 'wb', not {mode!r}")
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as f:
        yield f


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_open(path, "w") as f:
        f.write(text)
    return Path(path)
