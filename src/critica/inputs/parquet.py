"""Parquet rows as records: read a batch at a time with ``pyarrow``, each cell turned into JSON data or refused."""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from critica.errors import MissingDependency, UserError
from critica.inputs.records import Invalid, RawRecord, ReadLimits, too_large

__all__ = ["parquet_records"]


def _from_arrow(value: Any, limits: ReadLimits) -> tuple[Any, int]:
    """A Parquet row's Python value as JSON data, and its approximate size in bytes. Binary cells that are UTF-8
    become text, others an :class:`Invalid` marker; dates and times become ISO text, decimals exact text."""
    size = 0

    def conv(v: Any, depth: int) -> Any:
        nonlocal size
        size += 8
        if isinstance(v, str):
            size += len(v)
            return v
        if v is None or isinstance(v, (bool, int, float)):
            return v
        if depth > limits.max_depth:
            return Invalid(f"nested deeper than the limit of {limits.max_depth} levels (max_depth)")
        if isinstance(v, dict):
            return {k: conv(x, depth + 1) for k, x in v.items()}
        if isinstance(v, (list, tuple)):  # Arrow maps come as lists of (key, value) tuples
            return [conv(x, depth + 1) for x in v]
        if isinstance(v, (bytes, bytearray)):
            size += len(v)
            try:
                return bytes(v).decode("utf-8")
            except UnicodeDecodeError:
                return Invalid("binary data that is not UTF-8 text")
        if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
            return v.isoformat()
        if isinstance(v, (decimal.Decimal, _dt.timedelta)):
            return str(v)
        return Invalid(f"a {type(v).__name__} value, which JSON cannot hold")

    out = conv(value, 0)
    return out, size


def parquet_records(path: Path, limits: ReadLimits, batch_size: int) -> Iterator[RawRecord]:
    """The rows of a Parquet file as records (``row N``), a batch at a time."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependency("pyarrow (Parquet input)", "pip install 'critica[batch]'") from None
    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise UserError(f"{path}: not a readable Parquet file ({e})") from None
    row = 0
    for group in range(pf.metadata.num_row_groups):
        meta = pf.metadata.row_group(group)
        # A row group decompresses as a whole: one far larger than its rows may be (a decompression bomb) is refused
        # from its metadata, before it is read.
        if meta.total_byte_size > limits.max_record_bytes * max(1, meta.num_rows):
            for r in range(row, row + meta.num_rows):
                yield RawRecord(f"row {r}", r, error=f"row group {group} holds {meta.total_byte_size} bytes "
                                f"uncompressed for {meta.num_rows} row(s), past max_record_bytes per row")
            row += meta.num_rows
            continue
        per_row = max(1, meta.total_byte_size // max(1, meta.num_rows))
        size = max(1, min(batch_size, (256 << 20) // per_row))  # ~256 MiB of cells per batch at most
        for batch in pf.iter_batches(batch_size=size, row_groups=[group]):
            try:
                rows = batch.to_pylist()
            except Exception:  # noqa: BLE001 - one undecodable cell: convert row by row to find it
                rows = []
                for i in range(batch.num_rows):
                    try:
                        rows.extend(batch.slice(i, 1).to_pylist())
                    except Exception as e:  # noqa: BLE001
                        rows.append(Invalid(f"cannot be read: {type(e).__name__}: {e}"))
            for record in rows:
                where = f"row {row}"
                if isinstance(record, Invalid):
                    yield RawRecord(where, row, error=record.reason)
                else:
                    value, nbytes = _from_arrow(record, limits)
                    if nbytes > limits.max_record_bytes:
                        yield RawRecord(where, row, error=too_large(limits))
                    else:
                        yield RawRecord(where, row, value)
                row += 1
