"""The batch runner on a Ray cluster: the same critic, rebuilt on each worker, fed small chunks of items.

The driver keeps reading the input lazily and committing results (so resume, exactly-once and input-error
handling are the local executor's, unchanged); workers only critique and send their critiques back. Each worker
process builds the critic from its :class:`~critica.run.batch.CriticRecipe` once and reuses it for every chunk it
receives, so a local model is loaded once per worker, not once per chunk. At most ``max_in_flight`` chunks are
outstanding, which bounds the driver's memory whatever the input size.

Connecting (:func:`connect`) is bounded in time and fails in one line: the address is probed (a TCP connect, then
``ray.init`` in a child process that is killed at the deadline, whose output never reaches the terminal) before
the driver joins. Ray's token authentication works for every address form, ``ray://`` (Ray Client) included: the
probe finds whether the cluster wants a token and sets the driver's mode to match (Ray itself turns token mode on
for ``auto`` only).

A chunk whose worker or node is lost is retried by Ray on another node (``max_retries``); one that still fails is
left out of the run (never half-stored), counted in ``lost``, and critiqued by the next invocation (resume).

Ray is an optional dependency (``pip install 'critica[ray]'``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critica.errors import ClusterUnavailable, InputError, MissingDependency, UserError
from critica.types import Critique, Item

if TYPE_CHECKING:
    from critica.run.batch import CriticRecipe

__all__ = ["RayOptions", "connect", "ray_stream"]

DEFAULT_CONNECT_TIMEOUT_S = 20.0
"""Default bound on reaching a cluster (Ray's own connect can wait for minutes on a dead address)."""

# Ray's own settings; they are read (and set, for the driver's Ray) here because they belong to Ray, not critica.
_AUTH_MODE, _AUTH_TOKEN, _AUTH_TOKEN_PATH = "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"

_CRITICS: dict[str, Any] = {}
"""Critics built in this worker process, by recipe (a worker serves many chunks)."""


@dataclass(frozen=True)
class RayOptions:
    """How the driver reaches a cluster and what it sends there."""

    address: str | None = None
    """``host:port`` of the GCS, ``ray://host:10001`` (Ray Client) or ``auto``; None: ``RAY_ADDRESS``, else a
    local instance started for this job."""
    token_file: str | None = None
    """File holding the cluster's authentication token (else ``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or
    ``~/.ray/auth_token``, as Ray looks them up)."""
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    """Bound on reaching the cluster; past it the job stops with one line, before any item is run."""
    ship_code: bool = True
    """Send this critica package to the workers (a Ray ``py_modules`` runtime environment), so that every node
    runs the driver's version; its dependencies must still be installed on the nodes."""
    runtime_env: dict[str, Any] = field(default_factory=dict)
    """More runtime environment for the job (``pip``, ``env_vars`` …); never put a key here (Ray logs it)."""
    chunk: int = 16
    """Items per Ray task (small chunks lose less work to a crash, large ones amortise task overhead)."""
    max_retries: int = 3
    """Times Ray re-runs a chunk whose worker or node died (elsewhere if the node is gone)."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependency("Ray (--executor ray)", "pip install 'critica[ray]'") from None
    return ray


# -- connecting ------------------------------------------------------------------------------------------------------


def _token_source(token_file: str | None) -> str | None:
    """Where Ray will read the token from (for messages), after pointing it at ``token_file``; None: no token."""
    if token_file:
        path = Path(token_file).expanduser()
        try:
            if not path.read_text(encoding="utf-8").strip():
                raise ClusterUnavailable(f"--ray-token-file {token_file}: the file is empty")
        except OSError as e:
            raise ClusterUnavailable(f"--ray-token-file {token_file}: cannot read it ({e.strerror})") from None
        os.environ[_AUTH_TOKEN_PATH] = str(path.resolve())
        os.environ.pop(_AUTH_TOKEN, None)  # Ray prefers the variable to the file; the file was asked for
        return f"--ray-token-file {token_file}"
    if os.environ.get(_AUTH_TOKEN):
        return _AUTH_TOKEN
    if os.environ.get(_AUTH_TOKEN_PATH):
        return f"{_AUTH_TOKEN_PATH}={os.environ[_AUTH_TOKEN_PATH]}"
    if (Path.home() / ".ray" / "auth_token").is_file():
        return "~/.ray/auth_token"
    return None


def _set_auth_mode(mode: str) -> None:
    """Set Ray's authentication mode for this process (and the Ray it has imported, which caches it)."""
    os.environ[_AUTH_MODE] = mode
    if "ray" in sys.modules:
        try:
            from ray._raylet import AuthenticationTokenLoader, Config

            Config.initialize("")
            AuthenticationTokenLoader.instance().reset_cache()
        except Exception:  # noqa: BLE001 - a Ray without token auth has nothing to refresh
            pass


_PROBE = r"""
import json, logging, sys
try:
    import ray
    if sys.argv[1].startswith("ray://"):
        # Ray Client retries a refused token as if the server were still starting (for ~30 s) and says why only
        # at debug level: let those lines through to the captured stderr, where the refusal is spotted.
        log = logging.getLogger("ray.util.client.worker")
        log.setLevel(logging.DEBUG)
        log.addHandler(logging.StreamHandler(sys.stderr))
    ray.init(address=sys.argv[1], include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    cpus = ray.cluster_resources().get("CPU", 0)
    ray.shutdown()
    print(json.dumps({"ok": True, "nodes": len(nodes), "cpus": cpus}))
except BaseException as e:
    print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
"""

_NOT_GCS = "method not found"
"""What Ray's GCS client logs when the port it was given serves gRPC but not the GCS (a Ray Client port, say)."""

_REFUSED = ("invalidauthtoken", "unauthenticated", "token is invalid",
            "invalid or missing authentication token")  # the last: Ray Client's server (ray://)


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a ``host:port`` or ``ray://host:port`` address; None for ``auto`` or a malformed one."""
    bare = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = bare.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def _classify(address: str, text: str, *, timed_out: bool, timeout_s: float, token: str | None) -> str:
    """One line saying why ``address`` could not be joined, from what Ray printed while trying."""
    low = text.lower()
    if any(m in low for m in _REFUSED):
        if token is None:
            return (f"the Ray cluster at {address} requires an authentication token and none was found: pass it "
                    f"with --ray-token-file or {_AUTH_TOKEN} (on the head node: ray get-auth-token)")
        return (f"the Ray cluster at {address} refused the token from {token}: pass the cluster's token with "
                f"--ray-token-file or {_AUTH_TOKEN} (on the head node: ray get-auth-token)")
    if "no authentication token was found" in low or "couldn't find an authentication token" in low:
        return (f"the Ray cluster at {address} requires an authentication token and none was found: pass it with "
                f"--ray-token-file or {_AUTH_TOKEN}")
    if _NOT_GCS in low and not address.startswith("ray://"):
        return (f"{address} answers gRPC but is not a Ray head's GCS port: if it is the head's Ray Client server "
                f"port, give ray://{address}; else check that it runs the same Ray version as this driver")
    if "version mismatch" in low:
        line = next((ln for ln in text.splitlines() if "version mismatch" in ln.lower()), "")
        return f"the Ray cluster at {address} runs another Ray or Python version: {line.strip()[:300]}"
    if "could not find any running ray instance" in low:
        return "no running Ray cluster was found on this machine (--ray-address auto): give its address"
    if timed_out:
        what = ("the head's Ray Client server port (ray start --head --ray-client-server-port, default 10001)"
                if address.startswith("ray://") else "the head's GCS address, as printed by `ray start --head`")
        return (f"no Ray cluster answered at {address} within {timeout_s:g} s (is it {what}? raise "
                f"--ray-connect-timeout if it is only slow)")
    last = next((ln for ln in reversed(text.splitlines()) if ln.strip()), "no output")
    return f"cannot join the Ray cluster at {address}: {last.strip()[:300]}"


@dataclass
class _Attempt:
    ok: bool
    info: dict = field(default_factory=dict)
    text: str = ""
    timed_out: bool = False
    refused: bool = False


_CLIENT_SERVER_TRIES = 3


def _client_server_died(address: str, text: str) -> bool:
    """Whether joining failed only because the driver process Ray Client starts on the head for each connection
    died or was slow to start: under load that happens, and a new connection gets a fresh process, so it is worth
    another try. Ray says "Starting Ray client server failed", or, when the process died while Ray's proxy was
    reading its command line, passes on psutil's "ZombieProcess"."""
    low = text.lower()
    return address.startswith("ray://") and ("client server failed" in low or "zombieprocess" in low)


def _attempt(address: str, env: dict[str, str], deadline: float) -> _Attempt:
    """``ray.init(address)`` in a child process with ``env``, killed at ``deadline`` or at the first sign that
    the cluster refuses its token or is not a GCS (Ray would retry either for 20 s or more, warning each second)."""
    proc = subprocess.Popen([sys.executable, "-c", _PROBE, address], stdin=subprocess.DEVNULL, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    err: list[str] = []
    refused, hopeless = threading.Event(), threading.Event()

    def read_stderr() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            err.append(line)
            if any(m in line.lower() for m in _REFUSED):
                refused.set()
            if _NOT_GCS in line.lower():
                hopeless.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        while (proc.poll() is None and not refused.is_set() and not hopeless.is_set()
               and time.monotonic() < deadline):
            time.sleep(0.05)
        timed_out = proc.poll() is None and not refused.is_set() and not hopeless.is_set()
        if proc.poll() is None:
            proc.kill()
        out = proc.stdout.read() if proc.stdout else ""
        proc.wait()
    finally:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    reader.join(timeout=1)
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    answer = json.loads(lines[-1]) if lines else {"ok": False, "error": ""}
    text = "".join(err) + "\n" + str(answer.get("error", ""))
    if answer.get("ok"):
        return _Attempt(True, {"nodes": answer["nodes"], "cpus": answer["cpus"]})
    return _Attempt(False, text=text, timed_out=timed_out, refused=refused.is_set() or any(m in text.lower() for m in _REFUSED))


def probe(address: str, *, timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S, token_file: str | None = None) -> dict:
    """Check, within ``timeout_s``, that ``address`` is a Ray cluster this process may join, and set this
    process's Ray authentication mode to the cluster's.

    Ray's connect retries for minutes on a dead address and prints GCS warnings all the while, and it cannot be
    interrupted in-process; so it runs in a child process with its output captured, killed at the deadline.

    Unless ``RAY_AUTH_MODE`` says otherwise, the cluster's mode is found by trying without a token first, then
    with one: Ray turns token mode on by itself only for ``auto``, so an explicit address of a token cluster
    failed; and a driver in token mode on a cluster without authentication connects, but its workers are then
    refused the driver's objects and every task fails.

    Returns:
        ``{"nodes": N, "cpus": C}`` of the cluster.

    Raises:
        ClusterUnavailable: with one line saying why.
    """
    start = time.monotonic()
    deadline = start + max(0.5, timeout_s)
    token = _token_source(token_file)
    hp = _host_port(address)
    if hp is not None:  # nothing listening: say so at once rather than after the whole timeout
        try:
            socket.create_connection(hp, timeout=max(0.1, min(5.0, timeout_s))).close()
        except OSError as e:
            why = e.strerror or type(e).__name__
            raise ClusterUnavailable(f"cannot reach the Ray cluster at {address}: {why} (is the head node up, "
                                     "and is this its address?)") from None
    chosen = os.environ.get(_AUTH_MODE)
    modes = [chosen] if chosen else ["disabled", "token"] if token else ["disabled"]
    for mode in modes:
        for tries in range(1, _CLIENT_SERVER_TRIES + 1):
            got = _attempt(address, {**os.environ, _AUTH_MODE: mode}, deadline)
            if got.ok or not _client_server_died(address, got.text) or time.monotonic() + 2 * tries > deadline:
                break
            time.sleep(tries)
        if got.ok:
            _set_auth_mode(mode)
            return got.info
        if not (got.refused and mode == "disabled" and len(modes) > 1):
            break
    raise ClusterUnavailable(_classify(address, got.text, timed_out=got.timed_out, timeout_s=timeout_s,
                                       token=token if mode == "token" else None))


def _critica_runtime_env(opts: RayOptions) -> dict[str, Any]:
    env = dict(opts.runtime_env)
    if opts.ship_code:
        import critica

        # The package directory as a py_module: Ray zips and uploads it once per job and puts it ahead of any
        # installed critica on every worker, so all nodes run the driver's code.
        env["py_modules"] = [str(Path(critica.__file__).parent), *env.get("py_modules", [])]
        env.setdefault("excludes", ["__pycache__", "*.pyc"])
    return env


def connect(opts: RayOptions | None = None) -> dict:
    """Join the cluster ``opts`` names (bounded in time, one-line errors); a session already open is kept.

    Sets this process's ``RAY_AUTH_MODE`` to the cluster's (and ``RAY_AUTH_TOKEN_PATH`` to ``opts.token_file``),
    which is how Ray is told.

    Returns:
        ``{"nodes": N, "cpus": C}`` of the cluster joined.

    Raises:
        ClusterUnavailable: the cluster cannot be reached within ``connect_timeout_s`` or refused the token.
        MissingDependency: Ray is not installed.
    """
    opts = opts or RayOptions()
    ray = _import_ray()
    if ray.is_initialized():
        return {"nodes": len([n for n in ray.nodes() if n.get("Alive")]),
                "cpus": ray.cluster_resources().get("CPU", 0)}
    address = opts.address or os.environ.get("RAY_ADDRESS") or None
    init: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address is None:  # a local instance for this job: nothing to probe or authenticate against
        ray.init(**init)
        return {"nodes": 1, "cpus": ray.cluster_resources().get("CPU", 0)}
    info = probe(address, timeout_s=opts.connect_timeout_s, token_file=opts.token_file)
    if address.startswith("ray://"):
        # Ray Client runs a driver for this job on the head (ray.init there gets these arguments) and streams its
        # stderr here; at WARNING it prints a warning of its own making (no SIGTERM handler off the main thread).
        init["logging_level"] = logging.ERROR
    # Ray Client starts a driver process on the head for each connection; under load that process sometimes dies
    # while starting ("Starting Ray client server failed"), and a new connection gets a fresh one: retry that, and
    # only that, a bounded number of times within the connect timeout.
    deadline = time.monotonic() + opts.connect_timeout_s
    for attempt in range(_CLIENT_SERVER_TRIES):
        try:
            ray.init(address=address, runtime_env=_critica_runtime_env(opts) or None, **init)
            return info
        except Exception as e:  # the probe passed a moment ago: the cluster went away or changed its mind
            message = " ".join(str(e).split())
            if (not _client_server_died(address, message) or attempt == _CLIENT_SERVER_TRIES - 1
                    or time.monotonic() + 1 + attempt > deadline):
                raise ClusterUnavailable(f"cannot join the Ray cluster at {address}: {message[:300]}") from None
            with contextlib.suppress(Exception):
                ray.shutdown()
            time.sleep(1 + attempt)
    return info


# -- running ---------------------------------------------------------------------------------------------------------


def _critique_chunk(recipe: CriticRecipe, items: list[Item]) -> tuple[list[Critique], int, int]:
    """Runs on a worker: critique ``items``; returns the critiques and this chunk's cache hits and misses."""
    from critica.run.runner import critique_stream

    key = (repr(recipe), repr(sorted(recipe.settings.items())))  # the repr leaves settings out (they hold the key)
    critic = _CRITICS.get(key)
    if critic is None:
        if recipe.cache_path:
            # The driver's store path names a per-node cache file on another machine: make its folder there.
            try:
                Path(recipe.cache_path).parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass  # build() says what is wrong with the path
        critic = _CRITICS[key] = recipe.build()
    stats = getattr(getattr(critic, "caller", None), "cache_stats", None)
    hits0, misses0 = (stats.hits, stats.misses) if stats is not None else (0, 0)

    async def collect() -> list[Critique]:
        return [c async for c in critique_stream(critic, items, concurrency=recipe.concurrency,  # type: ignore[misc]
                                                 budget=recipe.budget)]

    out = asyncio.run(collect())
    if stats is None:
        return out, 0, 0
    return out, stats.hits - hits0, stats.misses - misses0


def _missing_import(error: BaseException) -> str | None:
    """The module a worker could not import, when that is what ``error`` (a Ray task error) comes down to."""
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ImportError) and getattr(e, "name", None):
            return e.name
        e = getattr(e, "cause", None) or e.__cause__
    found = re.search(r"No module named '([^']+)'", str(error))
    return found.group(1) if found else None


def ray_stream(
    recipe: CriticRecipe,
    records: Iterable[Item | InputError],
    *,
    address: str | None = None,
    chunk: int | None = None,
    max_in_flight: int | None = None,
    cache_counter: Any = None,
    options: RayOptions | None = None,
) -> Iterator[Critique | InputError]:
    """Yield a critique per item (computed on Ray workers) and each input error, as they become available.

    Args:
        recipe: How each worker builds the critic.
        records: Items and input errors, pulled lazily.
        address: Ray cluster address (overrides ``options.address``).
        chunk: Items per Ray task (overrides ``options.chunk``).
        max_in_flight: Outstanding tasks at most (default: twice the cluster's CPUs).
        cache_counter: Object with ``cache_hits``/``cache_misses``/``lost`` attributes: the workers' cache counts
            are added to the first two, and items of chunks lost with their node (after Ray's retries) to
            ``lost``. Lost items are neither yielded nor stored: the next invocation critiques them.
        options: How to reach the cluster (:class:`RayOptions`).
    """
    opts = options or RayOptions()
    if address is not None:
        opts = RayOptions(**{**opts.__dict__, "address": address})
    ray = _import_ray()
    connect(opts)
    from ray import exceptions as rex

    task = ray.remote(num_cpus=1, max_retries=max(0, opts.max_retries), retry_exceptions=False)(_critique_chunk)
    limit = max_in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    recipe_ref = ray.put(recipe)
    in_flight: dict[Any, int] = {}  # task → items in it
    size = max(1, chunk or opts.chunk)
    # A worker or node that died (after Ray's retries): its chunk is left for the next invocation.
    lost_kinds = tuple(k for k in (getattr(rex, n, None) for n in (
        "WorkerCrashedError", "NodeDiedError", "ObjectLostError", "OwnerDiedError", "LocalRayletDiedError",
        "ObjectReconstructionFailedError", "TaskUnschedulableError")) if isinstance(k, type))

    def collect(ready: list[Any]) -> Iterator[Critique]:
        for ref in ready:
            n = in_flight.pop(ref)
            try:
                critiques, hits, misses = ray.get(ref)
            except lost_kinds:
                if cache_counter is not None:
                    cache_counter.lost = getattr(cache_counter, "lost", 0) + n
                continue
            except (rex.RayTaskError, rex.RaySystemError) as e:
                missing = _missing_import(e)
                if missing is not None:
                    raise ClusterUnavailable(
                        f"a Ray worker cannot import {missing!r}: install critica's dependencies on every node "
                        f"(pip install 'critica[ray]' plus the extras your critic needs, e.g. critica[local]), "
                        f"the same versions as on the driver") from None
                text = " ".join(str(e).split())
                key = recipe.settings.get("api_key")
                if key:  # a remote traceback can quote what the backend said, and a backend can quote the key
                    text = text.replace(str(key), "***")
                raise UserError(f"a Ray worker failed: {text[:400]}") from None
            if cache_counter is not None:
                cache_counter.cache_hits += hits
                cache_counter.cache_misses += misses
            yield from critiques

    buf: list[Item] = []
    try:
        for rec in records:
            if isinstance(rec, InputError):
                yield rec
                continue
            buf.append(rec)
            if len(buf) >= size:
                in_flight[task.remote(recipe_ref, buf)] = len(buf)
                buf = []
                while len(in_flight) >= limit:
                    ready, _ = ray.wait(list(in_flight), num_returns=1)
                    yield from collect(ready)
        if buf:
            in_flight[task.remote(recipe_ref, buf)] = len(buf)
        while in_flight:
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            yield from collect(ready)
    finally:
        for ref in in_flight:
            ray.cancel(ref, force=False)
