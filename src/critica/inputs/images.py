"""Image inputs: what an input record may say about an item's images, checked and turned into data URLs.

An input record's ``images`` field (also read from ``image``, the LLaVA / MM-RLHF name) is one entry or a list of
them. An entry is a string or an object ``{"url" | "path": ..., "caption": ..., "part": "question" | "response"}``:

* ``data:image/<png|jpeg|gif|webp>;base64,...`` — decoded (strict base64), size-checked and sniffed: the bytes must
  be an image of the declared type;
* ``http://…`` / ``https://…`` — passed through as a URL: critica never fetches it (the model server does), so it
  is neither size-checked nor sniffed here. Refused where ``ReadLimits.image_urls`` is off (the HTTP API's default);
* anything else is a **local path**, read only by a reader that was given a directory to resolve it against (the
  file readers give the input file's directory; the HTTP API gives none, so it refuses every path, ``file://`` URL
  and other scheme, and never reads a file of the server host). The file must be a regular file (not a FIFO or a
  device: ``/dev/zero`` is refused before a byte is read), at most ``image_max_bytes``, and start with the
  signature of one of :data:`~critica.types.IMAGE_TYPES`; it becomes a data URL and its path is kept in
  ``ImageInput.source`` as a label.

Every problem is a :class:`ImageError` naming the field as the record spells it (``images[1].path``); the readers
turn it into an input error naming file, line and field.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from critica.types import IMAGE_TYPES, ImageInput

__all__ = ["ImageError", "image_file", "parse_images", "sniff", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_COUNT"]

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_COUNT = 8
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_KEYS = ("url", "path", "caption", "part")


class ImageError(ValueError):
    """A bad image entry: ``field`` names it as the record spells it, ``reason`` says what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def sniff(data: bytes) -> str | None:
    """The image type whose signature ``data`` starts with (one of :data:`~critica.types.IMAGE_TYPES`), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _data_url(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _read_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of regular file ``path``, at most ``max_bytes``; OSError/ValueError with the reason otherwise."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it (and devices) before any read.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("is not a regular file")
        if info.st_size > max_bytes:
            raise ValueError(f"is {info.st_size:,} bytes, over the image limit of {max_bytes:,} (CRITICA_IMAGE_MAX_BYTES)")
        chunks, left = [], max_bytes + 1  # a file that grows while read is still cut at the limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise ValueError(f"is over the image limit of {max_bytes:,} bytes (CRITICA_IMAGE_MAX_BYTES)")
    return data


def image_file(path: str | Path, *, caption: str | None = None, part: str = "question",
               max_bytes: int = DEFAULT_MAX_BYTES, base_dir: str | Path | None = None) -> ImageInput:
    """An :class:`~critica.types.ImageInput` holding the image file ``path`` as a data URL.

    Args:
        path: The image file (PNG, JPEG, GIF or WebP, recognised by its first bytes, not its name).
        caption: Shown to the critic beside the image.
        part: ``"question"`` or ``"response"``: the text the image belongs to.
        max_bytes: Largest file accepted.
        base_dir: Directory a relative ``path`` is resolved against (default: the working directory).

    Raises:
        ImageError: the file is missing, unreadable, not a regular file, too large or not an image (``field`` is
            ``"path"``).
    """
    given = str(path)
    full = Path(base_dir, path) if base_dir is not None else Path(path)
    try:
        data = _read_file(full, max_bytes)
    except FileNotFoundError:
        raise ImageError("path", f"image file {given!r} does not exist (relative paths are read from "
                                 f"{str(base_dir) if base_dir is not None else 'the working directory'})") from None
    except OSError as e:
        raise ImageError("path", f"image file {given!r} cannot be read ({e.strerror or type(e).__name__})") from None
    except ValueError as e:
        raise ImageError("path", f"image file {given!r} {e}") from None
    media_type = sniff(data)
    if media_type is None:
        # Its bytes are not quoted: the file may hold anything (a key), and the message goes to logs and stored runs.
        raise ImageError("path", f"image file {given!r} is not a PNG, JPEG, GIF or WebP image (by its first bytes)")
    try:
        return ImageInput(url=_data_url(data, media_type), caption=caption, part=part, source=given)  # type: ignore[arg-type]
    except ValidationError as e:
        raise ImageError(str(e.errors()[0]["loc"][0]), e.errors()[0]["msg"]) from None


def _check_data_url(url: str, max_bytes: int) -> None:
    head, _, payload = url.partition(",")
    declared = head[5:].split(";")[0].lower()
    if declared not in IMAGE_TYPES or not head.endswith(";base64"):
        raise ValueError(f"a data URL must be data:<{'|'.join(IMAGE_TYPES)}>;base64,<data>, not {head[:60]!r}")
    if len(payload) > (max_bytes + 2) // 3 * 4 + 4:  # refused before decoding a huge payload
        raise ValueError(f"holds over {max_bytes:,} bytes, the image limit (CRITICA_IMAGE_MAX_BYTES)")
    try:
        data = binascii.a2b_base64(payload, strict_mode=True)
    except binascii.Error as e:
        raise ValueError(f"is not valid base64 ({e})") from None
    if len(data) > max_bytes:
        raise ValueError(f"holds {len(data):,} bytes, over the image limit of {max_bytes:,} (CRITICA_IMAGE_MAX_BYTES)")
    found = sniff(data)
    if found is None:
        raise ValueError(f"declares {declared} but its data is not a PNG, JPEG, GIF or WebP image")
    if found != declared:
        raise ValueError(f"declares {declared} but holds {found} data")


def _entry(value: Any, field: str, base_dir: Path | None, max_bytes: int, urls: bool) -> ImageInput:
    as_object = not isinstance(value, str)
    if isinstance(value, str):
        value = {"url": value}
    elif not isinstance(value, Mapping):
        raise ImageError(field, f"must be a string (a path or URL) or an object with 'url' or 'path', not "
                                f"{type(value).__name__}")
    extra = [k for k in value if k not in _KEYS]
    if extra:
        raise ImageError(f"{field}.{extra[0]}", f"unknown image field (an image takes {', '.join(_KEYS)})")
    caption, part = value.get("caption"), value.get("part", "question")
    if caption is not None and not isinstance(caption, str):
        raise ImageError(f"{field}.caption", "must be a string")
    if part not in ("question", "response"):
        raise ImageError(f"{field}.part", f"must be 'question' or 'response', not {part!r:.40}")
    if ("url" in value) == ("path" in value):
        raise ImageError(field, "give exactly one of 'url' and 'path'")
    key = "url" if "url" in value else "path"
    where = f"{field}.{key}" if as_object else field
    target = value[key]
    if not isinstance(target, str) or not target:
        raise ImageError(where, "must be a non-empty string")
    lowered = target[:12].lower()
    if key == "url" and lowered.startswith("data:"):
        try:
            _check_data_url(target, max_bytes)
            return ImageInput(url=target, caption=caption, part=part)
        except ValidationError as e:  # a form the type refuses (DATA:, a ;charset= parameter …)
            raise ImageError(where, str(e.errors()[0].get("ctx", {}).get("error", e.errors()[0]["msg"]))) from None
        except ValueError as e:
            raise ImageError(where, f"data URL {e}") from None
    if key == "url" and lowered.startswith(("http://", "https://")):
        if not urls:
            raise ImageError(where, "remote image URLs are not accepted here (the model server would fetch them); "
                                    "send the image as a data: URL")
        try:
            return ImageInput(url=target, caption=caption, part=part)
        except ValidationError as e:
            raise ImageError(where, str(e.errors()[0]["ctx"].get("error", e.errors()[0]["msg"]))) from None
    if _SCHEME.match(target) and not re.match(r"[A-Za-z]:[\\/]", target):
        scheme = target.split(":", 1)[0]
        raise ImageError(where, f"{scheme}: URLs are not read (an image is a data: URL, an http(s):// URL, or a file "
                                "path in an input file)")
    if base_dir is None:
        raise ImageError(where, "local image files are not read here (only from input files): send the image as a "
                                "data: URL")
    try:
        return image_file(target, caption=caption, part=part, max_bytes=max_bytes, base_dir=base_dir)
    except ImageError as e:
        raise ImageError(where, e.reason) from None


def parse_images(value: Any, src: str = "images", *, base_dir: str | Path | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, max_count: int = DEFAULT_MAX_COUNT,
                 urls: bool = True) -> list[ImageInput]:
    """The images an input record's field ``src`` describes (module docstring), checked.

    Args:
        value: The field's value: one entry or a list of entries.
        src: The field's name in the record, for error messages.
        base_dir: Directory relative paths are read from; None refuses every local path (the HTTP API).
        max_bytes: Largest image (file or decoded data URL).
        max_count: Most images.
        urls: Whether remote ``http(s)`` URLs are accepted.

    Raises:
        ImageError: the first bad entry, named ``src[i]`` or ``src[i].path`` …
    """
    entries = value if isinstance(value, list) else [value]
    if len(entries) > max_count:
        raise ImageError(src, f"{len(entries)} images, over the limit of {max_count} per item (CRITICA_IMAGE_MAX_COUNT)")
    base = Path(base_dir) if base_dir is not None else None
    return [_entry(e, f"{src}[{i}]" if isinstance(value, list) else src, base, max_bytes, urls)
            for i, e in enumerate(entries)]
