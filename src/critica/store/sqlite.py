"""The critica store: runs, items and critiques in one SQLite file, written one item at a time.

Design:

* One file, ``$CRITICA_HOME/critica.db`` (default: the per-user data directory, e.g. ``~/.local/share/critica``),
  in WAL mode so readers (``critica runs``, the HTTP server) never block the writer and the writer never blocks them.
* ``runs`` holds one row per named run: its config (JSON), model, protocol (critic), data source, status,
  start/end times and totals. ``items`` keeps each critiqued item's JSON (exports need the prompt and responses).
* ``critiques`` has a column for everything people filter on (run, item_id, critic, verdict, first_error_step,
  parse_status, score, error) **plus the full Critique JSON**, which is what readers get back. A unique
  ``(run, item_id)`` constraint makes a run hold at most one critique per item.
* Each item is written in **one transaction** (item row + critique row), so a process killed at any moment leaves
  every item either fully stored or absent: restarting a run skips exactly the stored items (no loss, no
  duplicates). ``synchronous=NORMAL`` keeps commits durable across a process crash (not an OS crash) while cheap.
* A **failed** critique (``failed`` column: an error, a failed backend call or a failed panel member, see
  :attr:`~critica.types.Critique.failed`) is stored like any other, so nothing is lost, but it is not final:
  :meth:`Store.done_item_ids` leaves it out, a resumed run critiques the item again, and the new result replaces
  the failed row in one transaction (``add_critique(..., replace_failed=True)``, an ``UPDATE`` of that row only while
  it is still failed). A final critique is never replaced, so exactly-once holds under ``kill -9`` as before.
* Malformed input records are stored in ``input_errors`` with file, location, field and reason (unique per
  location, so a resumed run does not record them twice).
* The schema is versioned by the append-only migrations in :mod:`critica.store.migrations`.

This module imports only :mod:`critica.types` and :mod:`critica.errors`, never critics or backends.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from critica.errors import InputError, UserError
from critica.store.migrations import migrate
from critica.types import Critique, Item

__all__ = ["Store", "RunInfo", "InputErrorRecord", "StoreSink", "default_home", "connect"]

DB_NAME = "critica.db"


def default_home() -> Path:
    """Directory of the store and call cache: ``CRITICA_HOME`` if set, else the per-user data directory."""
    from critica.config import from_env  # the one place env vars are read

    home = from_env().home
    if home:
        return Path(home).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "critica"
    if sys.platform.startswith("win"):
        return Path.home() / "AppData" / "Local" / "critica"
    return Path.home() / ".local" / "share" / "critica"


def connect(path: str | Path | None = None) -> sqlite3.Connection:
    """Open (creating and migrating if needed) the database at ``path`` (default ``default_home()/critica.db``).

    The connection is in autocommit mode; callers group writes with explicit ``BEGIN``/``COMMIT``.
    """
    db = Path(path) if path is not None else default_home() / DB_NAME
    if str(db) != ":memory:":
        db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(db), isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    migrate(conn)
    return conn


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunInfo(BaseModel):
    """A run as stored, with its current counts."""

    name: str
    """Unique run name (``--run NAME``)."""
    config: dict[str, Any] = Field(default_factory=dict)
    """The settings the run was started with (critic options, sampling, executor …)."""
    model: str | None = None
    """Model spec, None for model-free critics."""
    protocol: str | None = None
    """The critic (protocol) name."""
    source: str | None = None
    """Where the items came from (input path or dataset name)."""
    status: str = "running"
    """``running`` (started, or killed), ``finished``, or ``failed`` (an error stopped it; resume it by running
    the same command again)."""
    started_at: str
    """ISO-8601 UTC time the run was first created."""
    ended_at: str | None = None
    """ISO-8601 UTC time it last finished, if it has."""
    totals: dict[str, Any] = Field(default_factory=dict)
    """Totals recorded when it last finished (verdict counts, tokens, cache hits …)."""
    critiques: int = 0
    """Critiques stored so far (failed ones included)."""
    failed: int = 0
    """Stored critiques that are failed (an error, a failed call or member): a resumed batch retries them."""
    input_errors: int = 0
    """Malformed input records stored so far."""


class InputErrorRecord(BaseModel):
    """A malformed input record kept with its reason."""

    source: str
    location: str
    field: str | None = None
    reason: str


_FILTERS = ("critic", "verdict", "parse_status", "first_error_step", "failed")

# A run with its counts, in the column order _run_info reads.
_RUN_SELECT = (
    "SELECT r.name, r.config, r.model, r.protocol, r.source, r.status, r.started_at, r.ended_at, r.totals, "
    "(SELECT count(*) FROM critiques c WHERE c.run_id = r.id), "
    "(SELECT count(*) FROM input_errors e WHERE e.run_id = r.id), "
    "(SELECT count(*) FROM critiques c WHERE c.run_id = r.id AND c.failed = 1) FROM runs r"
)


class Store:
    """Runs, items and critiques in SQLite. Thread-safe; one instance may be shared by a server's threads.

    Example::

        store = Store.open()                      # $CRITICA_HOME/critica.db
        store.create_run("pb-gsm8k", {"critic": "processbench"}, model="local:smollm2", protocol="processbench")
        store.add_critique("pb-gsm8k", critique, item)
        for c in store.iter_critiques("pb-gsm8k", verdict="incorrect"):
            ...
    """

    def __init__(self, conn: sqlite3.Connection, path: Path | None = None) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        """Database file, None for an in-memory store."""

    @classmethod
    def open(cls, path: str | Path | None = None) -> Store:
        """Open the store at ``path`` (a ``.db`` file), by default ``default_home()/critica.db``."""
        db = Path(path) if path is not None else default_home() / DB_NAME
        return cls(connect(db), None if str(db) == ":memory:" else db)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs -------------------------------------------------------------------------------------------------------

    def create_run(
        self,
        name: str,
        config: dict[str, Any] | None = None,
        *,
        model: str | None = None,
        protocol: str | None = None,
        source: str | None = None,
        exist_ok: bool = False,
    ) -> RunInfo:
        """Create run ``name``; with ``exist_ok`` return the existing run (marked running again) instead of failing.

        Raises:
            UserError: the run exists and ``exist_ok`` is false.
        """
        if not name or not name.strip():
            raise UserError("a run needs a non-empty name")
        with self._lock:
            row = self._conn.execute("SELECT id FROM runs WHERE name = ?", (name,)).fetchone()
            if row is not None:
                if not exist_ok:
                    raise UserError(f"run {name!r} already exists (choose another name or remove it: critica runs rm {name})")
                self._conn.execute("UPDATE runs SET status = 'running' WHERE id = ?", (row[0],))
            else:
                self._conn.execute(
                    "INSERT INTO runs (name, config, model, protocol, source, started_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (name, json.dumps(config or {}, default=str), model, protocol, source, _now()),
                )
        info = self.get_run(name)
        assert info is not None
        return info

    def get_run(self, name: str) -> RunInfo | None:
        """The run called ``name`` with its counts, or None."""
        with self._lock:
            row = self._conn.execute(f"{_RUN_SELECT} WHERE r.name = ?", (name,)).fetchone()
        return None if row is None else _run_info(row)

    def list_runs(self) -> list[RunInfo]:
        """All runs, newest first."""
        with self._lock:
            rows = self._conn.execute(f"{_RUN_SELECT} ORDER BY r.id DESC").fetchall()
        return [_run_info(r) for r in rows]

    def finish_run(self, name: str, totals: dict[str, Any] | None = None, *,
                   status: Literal["finished", "failed"] = "finished") -> None:
        """Mark ``name`` ended now with ``status`` (``finished``, or ``failed`` when an error stopped it) and record
        its totals."""
        with self._lock:
            self._conn.execute(
                "UPDATE runs SET status = ?, ended_at = ?, totals = ? WHERE id = ?",
                (status, _now(), json.dumps(totals or {}, default=str), self._run_id(name)),
            )

    def delete_run(self, name: str) -> bool:
        """Delete run ``name`` with its items, critiques and input errors; False if there was none."""
        with self._lock:
            row = self._conn.execute("SELECT id FROM runs WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for table in ("critiques", "items", "input_errors"):
                    self._conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (row[0],))
                self._conn.execute("DELETE FROM runs WHERE id = ?", (row[0],))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return True

    def _run_id(self, name: str) -> int:
        row = self._conn.execute("SELECT id FROM runs WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UserError(f"no run named {name!r} (see: critica runs list)")
        return int(row[0])

    # -- writes -----------------------------------------------------------------------------------------------------

    def add_critique(self, run: str, critique: Critique, item: Item | None = None, *, replace_failed: bool = False) -> bool:
        """Store ``critique`` (and its item) in one transaction; False if the run already has one for that item.

        With ``replace_failed`` a stored *failed* critique of the item (a retry's predecessor) is replaced in place
        by this one, in the same transaction; a final critique is never replaced.
        """
        with self._lock:
            run_id = self._run_id(run)
            columns = (
                critique.critic, critique.verdict.value, critique.first_error_step, critique.parse_status.value,
                None if critique.score is None else critique.score.value, critique.error, int(critique.failed), _now(),
                critique.model_dump_json(),
            )
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                cur = self._conn.execute(
                    "INSERT OR IGNORE INTO critiques (run_id, item_id, critic, verdict, first_error_step, parse_status, "
                    "score, error, failed, created_at, critique) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, critique.item_id, *columns),
                )
                added = cur.rowcount == 1
                if not added and replace_failed:
                    cur = self._conn.execute(
                        "UPDATE critiques SET critic = ?, verdict = ?, first_error_step = ?, parse_status = ?, score = ?, "
                        "error = ?, failed = ?, created_at = ?, critique = ? WHERE run_id = ? AND item_id = ? AND failed = 1",
                        (*columns, run_id, critique.item_id),
                    )
                    added = cur.rowcount == 1
                if added and item is not None:
                    self._conn.execute(
                        "INSERT OR REPLACE INTO items (run_id, item_id, item) VALUES (?, ?, ?)",
                        (run_id, item.id, item.model_dump_json()),
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return added

    def add_input_error(self, run: str, error: InputError) -> bool:
        """Record a malformed input record; False if that location was already recorded for the run."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO input_errors (run_id, source, location, field, reason, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (self._run_id(run), error.path, error.location, error.field, error.reason, _now()),
            )
        return cur.rowcount == 1

    def sink(self, run: str) -> StoreSink:
        """A runner :class:`~critica.run.runner.Sink` writing into ``run`` (which must exist)."""
        with self._lock:
            self._run_id(run)  # fail now, not at the first write
        return StoreSink(self, run)

    # -- reads ------------------------------------------------------------------------------------------------------

    def _where(self, run: str, filters: dict[str, Any], prefix: str = "") -> tuple[str, list[Any]]:
        clauses, args = [f"{prefix}run_id = ?"], [self._run_id(run)]
        for key, value in filters.items():
            if key not in _FILTERS:
                raise UserError(f"unknown critique filter {key!r}; use one of: {', '.join(_FILTERS)}")
            if value is None:
                continue
            clauses.append(f"{prefix}{key} = ?")
            args.append(getattr(value, "value", value))  # enums compare by value
        return " AND ".join(clauses), args

    def iter_critiques(
        self, run: str, *, limit: int | None = None, offset: int = 0, **filters: Any
    ) -> Iterator[Critique]:
        """Critiques of ``run`` in insertion order, filtered by ``critic``, ``verdict``, ``parse_status`` or
        ``first_error_step`` (None means any). Streams in pages, so memory stays flat for large runs."""
        for _item, critique in self.iter_records(run, limit=limit, offset=offset, with_items=False, **filters):
            yield critique

    def iter_records(
        self, run: str, *, limit: int | None = None, offset: int = 0, with_items: bool = True, **filters: Any
    ) -> Iterator[tuple[Item | None, Critique]]:
        """(item, critique) pairs of ``run`` in insertion order (item None if it was not stored), for exports.

        Pages by row id (keyset pagination), so the lock is held only per page and memory stays flat.
        """
        with self._lock:
            where, args = self._where(run, filters, prefix="c.")
            last_id = 0
            if offset > 0:
                row = self._conn.execute(
                    f"SELECT c.id FROM critiques c WHERE {where} ORDER BY c.id LIMIT 1 OFFSET ?", [*args, offset - 1]
                ).fetchone()
                if row is None:
                    return
                last_id = row[0]
        cols = "c.id, c.critique, i.item" if with_items else "c.id, c.critique, NULL"
        join = "LEFT JOIN items i ON i.run_id = c.run_id AND i.item_id = c.item_id" if with_items else ""
        sql = f"SELECT {cols} FROM critiques c {join} WHERE {where} AND c.id > ? ORDER BY c.id LIMIT ?"
        remaining = limit
        while remaining is None or remaining > 0:
            n = 500 if remaining is None else min(500, remaining)
            with self._lock:
                rows = self._conn.execute(sql, [*args, last_id, n]).fetchall()
            if not rows:
                return
            for row_id, critique_json, item_json in rows:
                last_id = row_id
                yield (Item.model_validate_json(item_json) if item_json else None), Critique.model_validate_json(critique_json)
            if remaining is not None:
                remaining -= len(rows)

    def get_critique(self, run: str, item_id: str) -> Critique | None:
        """The critique of ``item_id`` in ``run``, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT critique FROM critiques WHERE run_id = ? AND item_id = ?", (self._run_id(run), item_id)
            ).fetchone()
        return None if row is None else Critique.model_validate_json(row[0])

    def get_item(self, run: str, item_id: str) -> Item | None:
        """The stored item ``item_id`` of ``run``, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT item FROM items WHERE run_id = ? AND item_id = ?", (self._run_id(run), item_id)
            ).fetchone()
        return None if row is None else Item.model_validate_json(row[0])

    def count_critiques(self, run: str, **filters: Any) -> int:
        """Number of critiques of ``run`` matching the filters (see :meth:`iter_critiques`)."""
        with self._lock:
            where, args = self._where(run, filters)
            return int(self._conn.execute(f"SELECT count(*) FROM critiques WHERE {where}", args).fetchone()[0])

    def done_item_ids(self, run: str, among: Iterable[str] | None = None) -> set[str]:
        """Item ids of ``run`` that already have a *final* critique (not failed); restricted to ``among`` when given.

        Batch jobs pass ``among`` one chunk at a time so resuming a million-item run never loads every id.
        """
        return {i for i, failed in self.stored_item_ids(run, among).items() if not failed}

    def failed_item_ids(self, run: str, among: Iterable[str] | None = None) -> set[str]:
        """Item ids of ``run`` whose stored critique is failed (to be retried); restricted to ``among`` when given."""
        return {i for i, failed in self.stored_item_ids(run, among).items() if failed}

    def stored_item_ids(self, run: str, among: Iterable[str] | None = None) -> dict[str, bool]:
        """Item ids of ``run`` that have a critique, each mapped to whether it is failed; restricted to ``among``."""
        with self._lock:
            run_id = self._run_id(run)
            if among is None:
                rows = self._conn.execute("SELECT item_id, failed FROM critiques WHERE run_id = ?", (run_id,))
                return {r[0]: bool(r[1]) for r in rows}
            ids = list(among)
            found: dict[str, bool] = {}
            for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit is 999 on old builds
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                found.update((r[0], bool(r[1])) for r in self._conn.execute(
                    f"SELECT item_id, failed FROM critiques WHERE run_id = ? AND item_id IN ({marks})", (run_id, *chunk)))
            return found

    def input_errors(self, run: str) -> list[InputErrorRecord]:
        """Malformed input records of ``run``, in the order they were recorded."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT source, location, field, reason FROM input_errors WHERE run_id = ? ORDER BY id",
                (self._run_id(run),),
            ).fetchall()
        return [InputErrorRecord(source=s, location=loc, field=f, reason=r) for s, loc, f, r in rows]

    def verdict_counts(self, run: str) -> dict[str, int]:
        """Critiques of ``run`` per verdict."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT verdict, count(*) FROM critiques WHERE run_id = ? GROUP BY verdict", (self._run_id(run),)
            ).fetchall()
        return {v: int(n) for v, n in rows}


class StoreSink:
    """Writes runner results into a stored run: one transaction per critique, input errors kept with their reason.

    ``duplicates`` counts critiques refused because the run already had one for that item id (an input holding
    the same id twice); each is also recorded as an input error so it is not lost silently. ``retried`` counts the
    items :meth:`done` found stored as failed: they are critiqued again and their new critique replaces the old.
    """

    def __init__(self, store: Store, run: str) -> None:
        self.store = store
        self.run = run
        self.duplicates = 0
        self.retried = 0
        self._items: dict[str, Item] = {}
        self._retry: set[str] = set()  # stored-as-failed ids handed out for a retry, until their result arrives

    def remember(self, item: Item) -> None:
        """Keep ``item`` until its critique arrives, so both are written together."""
        self._items[item.id] = item

    def write(self, critique: Critique) -> None:
        item = self._items.pop(critique.item_id, None)
        retry = critique.item_id in self._retry
        self._retry.discard(critique.item_id)  # only the first result replaces: a second one is a duplicate
        if not self.store.add_critique(self.run, critique, item, replace_failed=retry):
            if retry:  # another process finished the retry first: the run holds a final critique, nothing is lost
                return
            self.duplicates += 1
            self.store.add_input_error(self.run, InputError(
                "(input)", f"item {critique.item_id}", "id", "duplicate item id: the run already has a critique for it"))

    def error(self, error: InputError) -> None:
        self.store.add_input_error(self.run, error)

    def done(self, item_ids: list[str]) -> set[str]:
        """Which of ``item_ids`` the run already holds as final (skipped on resume); failed ones are retried."""
        stored = self.store.stored_item_ids(self.run, item_ids)
        failed = {i for i, f in stored.items() if f}
        self.retried += len(failed)
        self._retry |= failed
        return {i for i, f in stored.items() if not f}


def _run_info(row: tuple) -> RunInfo:
    name, config, model, protocol, source, status, started, ended, totals, n_crit, n_err, n_failed = row
    return RunInfo(
        name=name, config=json.loads(config or "{}"), model=model, protocol=protocol, source=source, status=status,
        started_at=started, ended_at=ended, totals=json.loads(totals or "{}"), critiques=n_crit, input_errors=n_err,
        failed=n_failed,
    )
