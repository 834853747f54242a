"""Session fixture for the guest tests: both kernel variants and the disk image, built once in a
temporary copy of guest_src/ (the working tree's build folder is left alone)."""

from __future__ import annotations

import pytest

from previrt.guestrun import GuestBuild, build_guest


@pytest.fixture(scope="session")
def guest(tmp_path_factory) -> GuestBuild:
    return build_guest(tmp_path_factory.mktemp("guest") / "guest_src")
