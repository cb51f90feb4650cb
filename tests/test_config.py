"""Settings (critica.config): environment variables."""

from __future__ import annotations

import pytest

from critica.config import from_env
from critica.errors import UserError


def test_limit_env_vars_are_read_and_checked():
    s = from_env({"CRITICA_MAX_RECORD_BYTES": "1000", "CRITICA_MAX_DEPTH": "5", "CRITICA_MAX_VALUES": "9"})
    assert (s.max_record_bytes, s.max_depth, s.max_values) == (1000, 5, 9)
    with pytest.raises(UserError, match="CRITICA_MAX_DEPTH"):
        from_env({"CRITICA_MAX_DEPTH": "0"})
