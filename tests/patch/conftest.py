"""Every patcher test caches in a folder of its own (never the user's ~/.cache/previrt)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    folder = tmp_path / "previrt-cache"
    monkeypatch.setenv("PREVIRT_CACHE_DIR", str(folder))
    return folder / "patch"
