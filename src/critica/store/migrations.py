"""Append-only schema migrations for the critica store.

Each migration is a named function ``m###_what(conn)`` appended to :data:`MIGRATIONS`. :func:`migrate` applies,
in order, every migration whose name is not yet in the ``_migrations`` table, in one transaction together with the
rows that record them, so a crash mid-migration leaves the database as it was. Never edit or
reorder a released migration: add a new one that alters what the old one made.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["MIGRATIONS", "migrate", "applied"]

Migration = Callable[[sqlite3.Connection], None]


def m001_initial(conn: sqlite3.Connection) -> None:
    """Runs, items, critiques (filter columns + full JSON) and input errors."""
    conn.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            config TEXT NOT NULL DEFAULT '{}',
            model TEXT,
            protocol TEXT,
            source TEXT,
            status TEXT NOT NULL DEFAULT 'running',
            started_at TEXT NOT NULL,
            ended_at TEXT,
            totals TEXT NOT NULL DEFAULT '{}'
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE items (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            item_id TEXT NOT NULL,
            item TEXT NOT NULL,
            PRIMARY KEY (run_id, item_id)
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE critiques (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            item_id TEXT NOT NULL,
            critic TEXT NOT NULL,
            verdict TEXT NOT NULL,
            first_error_step INTEGER,
            parse_status TEXT NOT NULL,
            score REAL,
            error TEXT,
            created_at TEXT NOT NULL,
            critique TEXT NOT NULL,
            UNIQUE (run_id, item_id)
        )
        """
    )
    conn.execute("CREATE INDEX critiques_run_verdict ON critiques (run_id, verdict)")
    conn.execute("CREATE INDEX critiques_run_critic ON critiques (run_id, critic)")
    conn.execute(
        """
        CREATE TABLE input_errors (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            location TEXT NOT NULL,
            field TEXT,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (run_id, source, location)
        )
        """
    )


def m002_call_cache(conn: sqlite3.Connection) -> None:
    """Cached backend calls: one row per distinct request, also the per-call record (model, tokens, latency, hits)."""
    conn.execute(
        """
        CREATE TABLE call_cache (
            key TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            request TEXT NOT NULL,
            completion TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            latency_s REAL NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            hits INTEGER NOT NULL DEFAULT 0,
            last_hit_at TEXT
        )
        """
    )
    conn.execute("CREATE INDEX call_cache_model ON call_cache (model)")


def m003_failed_critiques(conn: sqlite3.Connection) -> None:
    """A ``failed`` flag per critique (error, failed call or failed panel member): such an item is stored so nothing
    is lost, but it is not final — a resumed batch critiques it again and replaces the row. Existing rows are
    flagged from their ``error`` column and the ``failed_calls`` / ``failures`` their JSON may hold."""
    conn.execute("ALTER TABLE critiques ADD COLUMN failed INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        "UPDATE critiques SET failed = 1 WHERE error IS NOT NULL OR (json_valid(critique) AND ("
        "coalesce(json_extract(critique, '$.usage.failed_calls'), 0) > 0 "
        "OR coalesce(json_array_length(critique, '$.metadata.failures'), 0) > 0))"
    )
    conn.execute("CREATE INDEX critiques_run_failed ON critiques (run_id, failed)")


MIGRATIONS: list[Migration] = [m001_initial, m002_call_cache, m003_failed_critiques]
"""Every migration, oldest first. Append only."""


def applied(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations already applied to ``conn``'s database, in order."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    return [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; returns the names applied now (empty when up to date).

    Safe to call from several processes at once: ``BEGIN IMMEDIATE`` takes the write lock before the pending list
    is re-read, so each migration runs exactly once.
    """
    done_now: list[str] = []
    if set(applied(conn)) >= {m.__name__ for m in MIGRATIONS}:
        return done_now
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = set(applied(conn))
        for migration in MIGRATIONS:
            if migration.__name__ in done:
                continue
            migration(conn)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (migration.__name__, datetime.now(UTC).isoformat()),
            )
            done_now.append(migration.__name__)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return done_now
