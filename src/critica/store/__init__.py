"""The embedded store: runs, items, critiques and the call cache in one SQLite file (see :mod:`.sqlite`)."""

from critica.store.sqlite import InputErrorRecord, RunInfo, Store, StoreSink, connect, default_home

__all__ = ["Store", "StoreSink", "RunInfo", "InputErrorRecord", "connect", "default_home"]
