"""A real multi-node Ray cluster on this machine, for tests and ``benchmarks/ray_nodes.py``.

Every node is a ``ray start`` on 127.0.0.1 with its own free ports and its own ``--temp-dir`` under one short,
unique root, and token authentication on (a token file of its own). It is stopped by signalling only the processes
that belong to it — those whose command line names its root, and their descendants — never with ``ray stop``, which
would stop every Ray process of this user (other jobs' clusters included).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")  # the venv's own, so that the nodes run this Ray
if not RAY.exists():
    RAY = Path(shutil.which("ray") or "ray")
OBJECT_STORE_BYTES = 100 * 1024 * 1024  # Ray's default is 30% of memory: far too much for a shared machine


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _has_ray_client() -> bool:
    """Whether ``ray[client]`` (grpcio) is installed, so that ``ray start --head`` serves Ray Client."""
    import importlib.util

    return importlib.util.find_spec("grpc") is not None


def _pids_with(tag: str) -> list[int]:
    """This user's processes whose command line mentions ``tag``."""
    me, out, mine = os.getuid(), [], {os.getpid(), os.getppid()}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) in mine:
            continue
        try:
            if d.stat().st_uid != me:
                continue
            if tag in (d / "cmdline").read_bytes().decode(errors="replace"):
                out.append(int(d.name))
        except OSError:
            continue
    return out


def _descendants(roots: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    seen, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, []))
    return sorted(seen)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


class LocalCluster:
    """``ray start --head`` plus worker nodes, all on 127.0.0.1, under ``self.root``."""

    def __init__(self, *, env: dict[str, str] | None = None, token: bool = True) -> None:
        # Short: Ray's unix socket paths live under the temp dir and must stay under ~107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="crt-", dir="/tmp"))
        self.token_file: Path | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        self.env.update({"RAY_USAGE_STATS_ENABLED": "0", **(env or {})})
        if token:
            self.token_file = self.root / "token"
            self.token_file.write_text(secrets.token_hex(16))
            self.token_file.chmod(0o600)
            self.env.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(self.token_file)})
        else:
            self.env["RAY_AUTH_MODE"] = "disabled"
        self.address: str | None = None
        self.client_address: str | None = None
        """``ray://127.0.0.1:PORT`` of the head's Ray Client server (where ``ray[client]`` is installed)."""
        self.nodes: dict[str, Path] = {}

    def _start(self, name: str, head: bool, num_cpus: int, resources: str | None, timeout_s: float) -> None:
        tmp = self.root / name
        ports = free_ports(6 + 2 * head)
        # The worker port range must not hold this node's other ports (drawn from the same ephemeral range):
        # ray start refuses to start a node whose components share a port.
        base = random.randrange(30000, 59000, 200)
        while any(base <= p < base + 200 for p in ports):
            base = random.randrange(30000, 59000, 200)
        args = [str(RAY), "start", "--node-ip-address", "127.0.0.1", "--num-cpus", str(num_cpus),
                "--object-store-memory", str(OBJECT_STORE_BYTES), "--temp-dir", str(tmp),
                "--node-manager-port", str(ports[0]), "--object-manager-port", str(ports[1]),
                "--metrics-export-port", str(ports[2]), "--dashboard-agent-listen-port", str(ports[3]),
                "--dashboard-agent-grpc-port", str(ports[4]), "--runtime-env-agent-port", str(ports[5]),
                "--min-worker-port", str(base), "--max-worker-port", str(base + 199), "--disable-usage-stats"]
        if resources:
            args += ["--resources", resources]
        if head:
            args += ["--head", "--port", str(ports[6]), "--include-dashboard", "false"]
            self.address = f"127.0.0.1:{ports[6]}"
            if _has_ray_client():
                # Always a port of its own: with ray[client] installed, ray start serves Ray Client on 10001 by
                # default, where two clusters on one machine (two test runs, a benchmark) would collide.
                args += ["--ray-client-server-port", str(ports[7])]
                self.client_address = f"ray://127.0.0.1:{ports[7]}"
        else:
            args += ["--address", str(self.address)]
        proc = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=timeout_s)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start ({name}) failed: {proc.stderr[-2000:]}")
        self.nodes[name] = tmp

    def start(self, *, head_cpus: int = 1, workers: int = 1, worker_cpus: int = 1, timeout_s: float = 90) -> str:
        """Start the head and ``workers`` nodes (node ``nK`` carries the custom resource ``nK``); its address."""
        try:
            self._start("head", True, head_cpus, '{"head": 100}', timeout_s)
            for k in range(1, workers + 1):
                self.add_node(f"n{k}", num_cpus=worker_cpus, timeout_s=timeout_s)
        except BaseException:
            self.stop()
            raise
        return str(self.address)

    def add_node(self, name: str, *, num_cpus: int = 1, timeout_s: float = 90) -> None:
        """Start one more node ``name`` (carrying the custom resource ``name``) into the running cluster."""
        self._start(name, False, num_cpus, json.dumps({name: 100}), timeout_s)

    def raylet_pids(self, name: str) -> list[int]:
        return [p for p in _pids_with(str(self.nodes[name])) if "raylet" in Path(f"/proc/{p}/cmdline").read_bytes()
                .split(b"\0")[0].decode(errors="replace")]

    def kill_node(self, name: str) -> None:
        """SIGKILL the raylet of node ``name`` (its workers then die with it), as a machine lost mid-run."""
        pids = self.raylet_pids(name)
        if not pids:
            raise RuntimeError(f"no raylet found for node {name}")
        _signal(pids, signal.SIGKILL)

    def stop(self) -> None:
        """Stop this cluster's processes only (SIGTERM, then SIGKILL until none is left), and remove its root."""
        pids = _descendants(_pids_with(str(self.root)))
        _signal(pids, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)
        for _ in range(20):
            left = [p for p in _descendants([p for p in pids if _alive(p)] + _pids_with(str(self.root))) if _alive(p)]
            if not left:
                break
            _signal(left, signal.SIGKILL)
            time.sleep(0.2)
        keep = os.environ.get("CRITICA_KEEP_RAY_LOGS")
        if keep:  # a failing cluster test is diagnosed from Ray's own logs, which go with the root otherwise
            for node, tmp in self.nodes.items():
                for logs in tmp.glob("session_*/logs"):
                    shutil.copytree(logs, Path(keep) / self.root.name / node, dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns("*.sock"))
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
