"""The Ray executor on a local Ray instance gives exactly the local executor's results, and resumes the same way."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))
from test_batch_support import write_items  # noqa: E402

from critica.errors import ClusterUnavailable, InputError  # noqa: E402
from critica.run.batch import CriticRecipe, iter_source, run_batch  # noqa: E402
from critica.run.ray import RayOptions  # noqa: E402
from critica.store import Store  # noqa: E402

RECIPE = CriticRecipe(critic="test_batch_support:make_critic", concurrency=4)


@pytest.fixture(scope="module")
def local_ray():
    # Workers import the test critic by path, so they need tests/ on their path too (and the caller's PYTHONPATH,
    # so a checkout under test is what the workers import, not another installed copy).
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield
    ray.shutdown()


def _critiques(store: Store, run: str) -> dict[str, dict]:
    return {c.item_id: c.model_dump(exclude={"latency_s"}) for c in store.iter_critiques(run)}


def test_ray_and_local_give_identical_results(local_ray, tmp_path):
    src = tmp_path / "in.jsonl"
    ids = write_items(src, 60, bad_lines=(11,))
    store = Store.open(tmp_path / "c.db")
    for run in ("local", "ray"):
        store.create_run(run)
    local = run_batch(RECIPE, iter_source(src), store.sink("local"), executor="local")
    remote = run_batch(RECIPE, iter_source(src), store.sink("ray"), executor="ray")
    assert local.stats.items == remote.stats.items == len(ids)
    assert local.stats.input_errors == remote.stats.input_errors == 1
    assert local.stats.verdicts == remote.stats.verdicts
    assert _critiques(store, "ray") == _critiques(store, "local")
    assert set(_critiques(store, "ray")) == ids
    assert store.input_errors("ray") == store.input_errors("local")


def test_ray_resume_skips_stored_items(local_ray, tmp_path):
    src = tmp_path / "in.jsonl"
    ids = write_items(src, 40)
    store = Store.open(tmp_path / "c.db")
    store.create_run("r")
    first = [r for r in iter_source(src) if isinstance(r, InputError) or int(r.id[2:]) < 25]
    run_batch(RECIPE, first, store.sink("r"), executor="ray")
    res = run_batch(RECIPE, iter_source(src), store.sink("r"), executor="ray")
    assert res.skipped == 25 and res.stats.items == 15
    assert set(_critiques(store, "r")) == ids


def test_chunk_whose_worker_dies_is_left_for_resume(local_ray, tmp_path):
    """A worker lost with its chunk (after Ray's retries, none here): those items are neither stored nor counted
    done; the other chunks are; the next invocation critiques exactly the lost ones."""
    src = tmp_path / "in.jsonl"
    ids = write_items(src, 40)
    store = Store.open(tmp_path / "c.db")
    store.create_run("r")
    crash = CriticRecipe(critic="ray_support:make_crashing_critic", options={"crash_on": "it3"})
    first = run_batch(crash, iter_source(src), store.sink("r"), executor="ray", ray=RayOptions(chunk=8, max_retries=0))
    assert first.lost == 8 and first.stats.items == 32  # the chunk it0..it7 went down with its worker
    assert set(_critiques(store, "r")) == ids - {f"it{i}" for i in range(8)}
    fine = CriticRecipe(critic="ray_support:make_crashing_critic")
    again = run_batch(fine, iter_source(src), store.sink("r"), executor="ray", ray=RayOptions(chunk=8))
    assert again.skipped == 32 and again.stats.items == 8 and again.lost == 0
    assert set(_critiques(store, "r")) == ids


def test_chunk_whose_worker_dies_is_retried_once_and_stored_once(local_ray, tmp_path):
    src = tmp_path / "in.jsonl"
    ids = write_items(src, 24)
    store = Store.open(tmp_path / "c.db")
    store.create_run("r")
    crash = CriticRecipe(critic="ray_support:make_crashing_critic",
                         options={"crash_on": "it9", "once": str(tmp_path / "crashed")})
    res = run_batch(crash, iter_source(src), store.sink("r"), executor="ray", ray=RayOptions(chunk=8, max_retries=2))
    assert (tmp_path / "crashed").exists()  # a worker did die
    assert res.lost == 0 and res.stats.items == 24  # Ray re-ran its chunk; each item delivered once
    assert set(_critiques(store, "r")) == ids


def test_worker_lacking_a_dependency_stops_with_one_clear_error(local_ray, tmp_path):
    src = tmp_path / "in.jsonl"
    write_items(src, 10)
    store = Store.open(tmp_path / "c.db")
    store.create_run("r")
    recipe = CriticRecipe(critic="ray_support:make_missing_dep_critic")
    with pytest.raises(ClusterUnavailable, match="cannot import 'critica_no_such_dependency'.*on every node"):
        run_batch(recipe, iter_source(src), store.sink("r"), executor="ray")
    assert _critiques(store, "r") == {}


class _FlakyClientRay:
    """A stand-in for the ray module whose ray.init fails ``failures`` times as Ray Client's head does under load."""

    def __init__(self, failures: int, message: str = "Starting Ray client server failed. See x.err") -> None:
        self.failures, self.message, self.inits, self.shutdowns = failures, message, 0, 0

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs) -> None:
        self.inits += 1
        if self.inits <= self.failures:
            raise RuntimeError(self.message)

    def shutdown(self) -> None:
        self.shutdowns += 1


@pytest.mark.parametrize(("address", "failures", "message", "inits", "joins"), [
    ("ray://127.0.0.1:1", 1, "Starting Ray client server failed. See x.err", 2, True),   # retried, then joined
    ("ray://127.0.0.1:1", 5, "Starting Ray client server failed. See x.err", 3, False),  # bounded: 3 tries
    ("ray://127.0.0.1:1", 1, "something else", 1, False),                                 # only that failure
    ("127.0.0.1:1", 1, "Starting Ray client server failed. See x.err", 1, False),         # only Ray Client
])
def test_ray_client_server_start_failure_is_retried_a_bounded_number_of_times(monkeypatch, address, failures, message,
                                                                            inits, joins):
    import critica.run.ray as rr

    fake = _FlakyClientRay(failures, message)
    monkeypatch.setattr(rr, "_import_ray", lambda: fake)
    monkeypatch.setattr(rr, "probe", lambda *a, **k: {"nodes": 1, "cpus": 1})
    monkeypatch.setattr(rr.time, "sleep", lambda s: None)
    opts = RayOptions(address=address, connect_timeout_s=20)
    if joins:
        assert rr.connect(opts) == {"nodes": 1, "cpus": 1}
    else:
        with pytest.raises(ClusterUnavailable, match="cannot join the Ray cluster"):
            rr.connect(opts)
    assert fake.inits == inits


@pytest.mark.parametrize(("address", "failures", "message", "attempts", "joins"), [
    ("ray://127.0.0.1:{port}", 1, "RuntimeError: Starting Ray client server failed. See x.err", 2, True),
    ("ray://127.0.0.1:{port}", 5, "RuntimeError: Starting Ray client server failed. See x.err", 3, False),
    ("ray://127.0.0.1:{port}", 1, "ZombieProcess: PID still exists but it's a zombie (pid=29256)", 2, True),
    ("ray://127.0.0.1:{port}", 1, "RuntimeError: something else", 1, False),
    ("127.0.0.1:{port}", 1, "RuntimeError: Starting Ray client server failed. See x.err", 1, False),
])
def test_probe_retries_a_ray_client_server_that_died_starting(monkeypatch, address, failures, message, attempts, joins):
    """The probe's own connection meets the same head-side failure as the job's (it did in CI, on a fresh cluster's
    first Ray Client connection): it is retried there too, a bounded number of times."""
    import socket

    import critica.run.ray as rr

    calls = []

    def fake_attempt(addr, env, deadline):
        calls.append(addr)
        if len(calls) <= failures:
            return rr._Attempt(False, text=message)
        return rr._Attempt(True, {"nodes": 2, "cpus": 2})

    monkeypatch.setattr(rr, "_attempt", fake_attempt)
    monkeypatch.setattr(rr.time, "sleep", lambda s: None)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    with socket.socket() as listener:  # the probe first checks that something listens at the address
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        addr = address.format(port=listener.getsockname()[1])
        if joins:
            assert rr.probe(addr, timeout_s=30) == {"nodes": 2, "cpus": 2}
        else:
            with pytest.raises(ClusterUnavailable, match="something else|client server failed"):
                rr.probe(addr, timeout_s=30)
    assert len(calls) == attempts
