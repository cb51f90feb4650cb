"""Background jobs: a long batch is accepted at once (202) and polled until done.

Jobs live in memory (the critiques themselves go to the store as they land, so a restart loses only the job
record, never finished work). Each key may run ``per_key`` jobs at once; at most ``max_jobs`` are kept, finished
ones dropped oldest first.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from critica.server.errors import HTTPProblem
from critica.server.schemas import FieldProblem, JobStatus
from critica.types import Critique

__all__ = ["Job", "JobManager"]

_ACTIVE = ("queued", "running")


@dataclass
class Job:
    """One background batch."""

    id: str
    key: str
    critic: str
    model: str | None
    total: int
    run_id: str | None = None
    status: str = "queued"
    done: int = 0
    error: str | None = None
    errors: list[FieldProblem] = field(default_factory=list)
    critiques: list[Critique] | None = None
    task: asyncio.Task | None = None

    def view(self, results: bool = True) -> JobStatus:
        """The job as the API shows it."""
        return JobStatus(id=self.id, status=self.status, total=self.total, done=self.done, run_id=self.run_id,  # type: ignore[arg-type]
                         critic=self.critic, model=self.model, error=self.error, errors=self.errors,
                         critiques=self.critiques if results else None)


class JobManager:
    """Starts, tracks and cancels jobs."""

    def __init__(self, *, max_jobs: int, per_key: int, redact: Callable[[str], str] = str) -> None:
        self.max_jobs = max_jobs
        self.per_key = per_key
        self.redact = redact
        """Applied to a failed job's error text (the server passes its key redactor)."""
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    def _make_room(self, key: str) -> None:
        active = sum(1 for j in self._jobs.values() if j.key == key and j.status in _ACTIVE)
        if active >= self.per_key:
            raise HTTPProblem(429, f"this key already has {active} job(s) running (limit {self.per_key}); poll them "
                                   "or cancel one first", headers={"Retry-After": "5"})
        while len(self._jobs) >= self.max_jobs:
            finished = next((j for j in self._jobs.values() if j.status not in _ACTIVE), None)
            if finished is None:
                raise HTTPProblem(429, f"the server is running {self.max_jobs} jobs; retry later",
                                  headers={"Retry-After": "10"})
            del self._jobs[finished.id]

    def submit(self, job: Job, work: Callable[[Job], Awaitable[list[Critique]]]) -> Job:
        """Start ``work(job)`` in the background; its result becomes ``job.critiques``."""
        self._make_room(job.key)
        job.id = job.id or "job-" + secrets.token_hex(6)
        self._jobs[job.id] = job

        async def runner() -> None:
            job.status = "running"
            try:
                job.critiques = await work(job)
                job.status = "done"
            except asyncio.CancelledError:
                job.status = "cancelled"
                raise
            except HTTPProblem as e:
                job.status, job.error = "failed", self.redact(e.message)
            except Exception as e:  # noqa: BLE001 - a failed job is reported, the server stays up
                job.status, job.error = "failed", self.redact(f"{type(e).__name__}: {e}")

        job.task = asyncio.get_running_loop().create_task(runner())
        return job

    def get(self, key: str, job_id: str) -> Job:
        """The job ``job_id`` of ``key`` (other keys' jobs are invisible: 404)."""
        job = self._jobs.get(job_id)
        if job is None or job.key != key:
            raise HTTPProblem(404, f"no job {job_id!r}")
        return job

    def list(self, key: str) -> list[Job]:
        """The key's jobs, oldest first."""
        return [j for j in self._jobs.values() if j.key == key]

    def cancel(self, key: str, job_id: str) -> Job:
        """Cancel a queued or running job (finished critiques stay stored)."""
        job = self.get(key, job_id)
        if job.status in _ACTIVE and job.task is not None:
            job.task.cancel()
            job.status = "cancelled"
        return job

    async def aclose(self) -> None:
        """Cancel every running job."""
        tasks = [j.task for j in self._jobs.values() if j.task is not None and not j.task.done()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
