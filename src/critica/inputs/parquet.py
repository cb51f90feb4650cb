"""Parquet rows as records: read a batch at a time with ``pyarrow``, each cell turned into JSON data or refused.

What a row costs is known only once it is decoded: a dictionary-encoded column stores a repeated value once, so
the file, the row group's metadata and ``batch.nbytes`` can all be tiny while the rows hold gigabytes of text (one
1 MiB string over 300 rows is a 1 KB file). So text columns are read as Arrow dictionaries, each row's size is
computed in Arrow from its dictionary entries, rows past ``max_record_bytes`` are refused without being converted,
and the others become Python data ~16 MiB at a time.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from critica.errors import MissingDependency, UserError
from critica.inputs.records import Invalid, RawRecord, ReadLimits, too_large

__all__ = ["parquet_records"]


_TEXT_TYPES = {"STRING", "NONE", "JSON", "BSON", "ENUM"}  # BYTE_ARRAY leaves that Arrow can read as dictionaries
_AS_DICTIONARY = {"PLAIN", "PLAIN_DICTIONARY", "RLE_DICTIONARY", "RLE", "BIT_PACKED"}  # encodings it can do so from
_CHUNK_BYTES = 16 << 20  # rows are converted to Python objects about this many bytes of cells at a time


def _from_arrow(value: Any, limits: ReadLimits) -> Any:
    """A Parquet row's Python value as JSON data. Binary cells that are UTF-8 become text, others an
    :class:`Invalid` marker; dates and times become ISO text, decimals exact text."""

    def conv(v: Any, depth: int) -> Any:
        if isinstance(v, str) or v is None or isinstance(v, (bool, int, float)):
            return v
        if depth > limits.max_depth:
            return Invalid(f"nested deeper than the limit of {limits.max_depth} levels (max_depth)")
        if isinstance(v, dict):
            return {k: conv(x, depth + 1) for k, x in v.items()}
        if isinstance(v, (list, tuple)):  # Arrow maps come as lists of (key, value) tuples
            return [conv(x, depth + 1) for x in v]
        if isinstance(v, (bytes, bytearray)):
            try:
                return bytes(v).decode("utf-8")
            except UnicodeDecodeError:
                return Invalid("binary data that is not UTF-8 text")
        if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
            return v.isoformat()
        if isinstance(v, (decimal.Decimal, _dt.timedelta)):
            return str(v)
        return Invalid(f"a {type(v).__name__} value, which JSON cannot hold")

    return conv(value, 0)


def _value_bytes(arr: Any) -> Any:
    """The size of each value of an Arrow array as a row of Python data: text and binary lengths plus 8 bytes per
    value (lists and structs summed over what they hold), computed in Arrow, before anything is converted.

    A dictionary-encoded column holds each distinct value once, so its size in the file, in the row group's metadata
    and in ``batch.nbytes`` says nothing of what converting its rows costs (one 1 MiB string repeated over 1,000 rows
    is a 55 KB file and 1 GB of Python strings): each row's index is looked up in the dictionary's sizes instead.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    if isinstance(arr, pa.ExtensionArray):
        return _value_bytes(arr.storage)
    if pa.types.is_dictionary(t):
        return pc.fill_null(_value_bytes(arr.dictionary).take(arr.indices), 0)
    if str(t) in ("string_view", "binary_view"):  # no binary_length kernel for views
        arr, t = arr.cast(pa.large_binary()), pa.large_binary()
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or \
            pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return pc.add(pc.fill_null(pc.binary_length(arr).cast(pa.int64()), 0), 8)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t) or pa.types.is_fixed_size_list(t):
        if pa.types.is_fixed_size_list(t):
            n = t.list_size
            offsets = pa.array(range(arr.offset * n, (arr.offset + len(arr)) * n + 1, n), pa.int64())
        else:
            offsets = arr.offsets.cast(pa.int64())  # into arr.values, slicing included (null lists: counted)
        inner = pc.cumulative_sum(_value_bytes(arr.values))
        ends = pa.concat_arrays([pa.array([0], pa.int64()), inner])
        return pc.add(pc.subtract(ends.take(offsets[1:]), ends.take(offsets[:-1])), 8)
    total = pa.repeat(pa.scalar(8, pa.int64()), len(arr))
    if pa.types.is_struct(t):
        for child in arr.flatten():
            total = pc.add(total, _value_bytes(child))
    return total


def _row_bytes(batch: Any) -> list[int]:
    """The size of each row of a record batch as Python data (see :func:`_value_bytes`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = pa.repeat(pa.scalar(8, pa.int64()), batch.num_rows)
    for column in batch.columns:
        total = pc.add(total, _value_bytes(column))
    return total.to_pylist()


def _chunks(sizes: list[int], limits: ReadLimits) -> Iterator[tuple[int, int, bool]]:
    """``(start, stop, too_large)`` runs of rows: each too large row alone, the others about _CHUNK_BYTES at a time."""
    start = total = 0
    for i, size in enumerate(sizes):
        if size > limits.max_record_bytes or total + size > _CHUNK_BYTES:
            if i > start:
                yield start, i, False
            start, total = i, 0
            if size > limits.max_record_bytes:
                yield i, i + 1, True
                start = i + 1
                continue
        total += size
    if len(sizes) > start:
        yield start, len(sizes), False


def _plain_type(t: Any) -> Any:
    """Arrow type ``t`` with every dictionary replaced by its value type."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return _plain_type(t.value_type)
    if pa.types.is_map(t):
        return pa.map_(t.key_field.with_type(_plain_type(t.key_type)), t.item_field.with_type(_plain_type(t.item_type)))
    if pa.types.is_fixed_size_list(t):
        return pa.list_(t.value_field.with_type(_plain_type(t.value_type)), t.list_size)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return (pa.list_ if pa.types.is_list(t) else pa.large_list)(t.value_field.with_type(_plain_type(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(_plain_type(t.field(i).type)) for i in range(t.num_fields)])
    return t


def _to_pylist(batch: Any) -> list[Any]:
    """The rows of a record batch as Python dicts; a row that cannot be converted becomes an :class:`Invalid`."""
    import pyarrow as pa

    try:
        # Dictionaries decoded first, in Arrow (to_pylist is ~8x slower on them), from a copy of just these rows (a
        # cast of a slice would decode all the values the slice's lists point into).
        plain = pa.schema([f.with_type(_plain_type(f.type)) for f in batch.schema])
        return pa.Table.from_batches([batch]).cast(plain).to_pylist()
    except Exception:  # noqa: BLE001 - one undecodable cell: convert row by row to find it
        rows: list[Any] = []
        for i in range(batch.num_rows):
            try:
                rows.extend(batch.slice(i, 1).to_pylist())
            except Exception as e:  # noqa: BLE001
                rows.append(Invalid(f"cannot be read: {type(e).__name__}: {e}"))
        return rows


def parquet_records(path: Path, limits: ReadLimits, batch_size: int) -> Iterator[RawRecord]:
    """The rows of a Parquet file as records (``row N``), a batch at a time (see the module docstring).

    A row group that cannot be decoded (a corrupt page) makes its remaining rows input errors; the next group is read.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependency("pyarrow (Parquet input)", "pip install 'critica[batch]'") from None
    try:
        pf = pq.ParquetFile(path)
        pf = pq.ParquetFile(path, read_dictionary=_dictionary_columns(pf))
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
        size = max(1, min(batch_size, (256 << 20) // per_row))  # ~256 MiB of encoded cells per batch at most
        if any("DELTA_BYTE_ARRAY" in meta.column(c).encodings for c in range(meta.num_columns)):
            size = 1  # values written as a prefix of the one before: their size is known only once decoded
        end = row + meta.num_rows
        for batch in _batches(pf, group, size):
            if isinstance(batch, Exception):
                reason = f"row group {group} cannot be read past row {row}: {type(batch).__name__}: {batch}"
                yield from (RawRecord(f"row {r}", r, error=reason) for r in range(row, end))
                break
            for start, stop, too_big in _chunks(_row_bytes(batch), limits):
                if too_big:
                    yield RawRecord(f"row {row}", row, error=too_large(limits))
                    row += 1
                    continue
                for record in _to_pylist(batch.take(pa.array(range(start, stop), pa.int64()))):
                    if isinstance(record, Invalid):
                        yield RawRecord(f"row {row}", row, error=record.reason)
                    else:
                        yield RawRecord(f"row {row}", row, _from_arrow(record, limits))
                    row += 1
        row = end


def _batches(pf: Any, group: int, size: int) -> Iterator[Any]:
    """The record batches of one row group, then the exception that stopped them, if one did."""
    try:
        yield from pf.iter_batches(batch_size=size, row_groups=[group])
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a page it cannot decode
        yield e


def _dictionary_columns(pf: Any) -> list[str]:
    """The text columns (leaf paths) that Arrow can read as dictionaries from every row group's encodings."""
    groups = [pf.metadata.row_group(g) for g in range(pf.metadata.num_row_groups)]
    columns = [pf.schema.column(i) for i in range(len(pf.schema))]
    return [c.path for i, c in enumerate(columns) if c.physical_type == "BYTE_ARRAY" and
            c.logical_type.type in _TEXT_TYPES and all(set(g.column(i).encodings) <= _AS_DICTIONARY for g in groups)]
