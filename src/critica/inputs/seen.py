"""The ids an input has used so far, for refusing a duplicate, in memory that does not grow with the input.

A reader must remember every id it has read to refuse a repeat before anything critiques it, and a batch input can
hold millions of records. Ids are kept as 128-bit hashes (a collision between two different ids is out of reach).
The first ``in_memory`` of them live in a Python set (fast, about 80 bytes each); past that they move to a private
temporary SQLite database on disk, whose page cache is capped, so a file of a million records costs a few MB more
than a small one, not 80.
"""

from __future__ import annotations

import hashlib
import sqlite3

__all__ = ["SeenIds"]

_PAGE_CACHE_KIB = 4096


class SeenIds:
    """Answers "was this id seen before?" for one input, in bounded memory (see the module docstring).

    Args:
        in_memory: Most ids held in a set before they move to the temporary database.
    """

    def __init__(self, in_memory: int = 100_000) -> None:
        self.in_memory = max(0, in_memory)
        self._set: set[bytes] | None = set()
        self._db: sqlite3.Connection | None = None
        self.count = 0

    def add(self, key: str) -> bool:
        """Remember ``key``; True when it is new, False when an earlier call already gave it."""
        digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if self._set is not None:
            if digest in self._set:
                return False
            if len(self._set) < self.in_memory:
                self._set.add(digest)
                self.count += 1
                return True
            self._spill()
        assert self._db is not None
        new = self._db.execute("INSERT OR IGNORE INTO ids VALUES (?)", (digest,)).rowcount == 1
        self.count += new
        return new

    def _spill(self) -> None:
        # "" opens a private temporary database on disk, deleted when it is closed; nothing here needs durability.
        db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute(f"PRAGMA cache_size=-{_PAGE_CACHE_KIB}")
        db.execute("CREATE TABLE ids (h BLOB PRIMARY KEY) WITHOUT ROWID")
        db.execute("BEGIN")
        db.executemany("INSERT INTO ids VALUES (?)", ((d,) for d in self._set or ()))
        self._db, self._set = db, None

    @property
    def on_disk(self) -> bool:
        """Whether the ids have moved to the temporary database."""
        return self._db is not None

    def close(self) -> None:
        """Forget every id (the temporary database is deleted)."""
        if self._db is not None:
            self._db.close()
            self._db = None
        self._set = set()
        self.count = 0
