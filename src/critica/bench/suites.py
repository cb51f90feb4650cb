"""Imports every module that registers a benchmark suite (one line per suite module)."""
from critica.bench import realcritic  # noqa: E402,F401 - closed-loop RealCritic suite
