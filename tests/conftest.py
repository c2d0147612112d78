"""Fixtures shared by the service tests: a data directory and one API key per role."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_service import make_key


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def keys(data: Path) -> dict[str, str]:
    return {role: make_key(data, role) for role in ("ingest", "reviewer", "admin")}
