"""Shared fixtures. Any connection to a non-loopback address fails the test."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest
from hypothesis import settings

# Property tests explore the same examples on every run, so CI cannot pass or fail by luck;
# run with HYPOTHESIS_PROFILE=explore locally to search new examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_create_connection = socket.create_connection


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
    else:  # AF_UNIX paths and the like are local by nature
        return True
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it would need DNS, which is the network


class NetworkBlockedError(OSError):
    """Raised when a test tries to reach anything but loopback."""


def _guard(address: object) -> None:
    if not _is_loopback(address):
        raise NetworkBlockedError(f"tests may only connect to loopback, not {address!r}")


@pytest.fixture(autouse=True)
def _block_non_loopback_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _guard(address)
        return _real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _guard(address)
        return _real_connect_ex(self, address)

    def create_connection(address: tuple, *args: object, **kwargs: object) -> socket.socket:
        _guard(address)
        return _real_create_connection(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)


@pytest.fixture(autouse=True)
def _no_lsq_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Tests never pick up a developer's real LSQ_* variables or .env file."""
    for name in ("LSQ_HOST", "LSQ_ACCESS_KEY", "LSQ_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(params=["c", "pyarrow"])
def frame_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a frame test once with the C parser and once with pyarrow's reader (its fallback).

    Both must give the same frames; where a C compiler exists the C parser must be built.
    """
    from lsq_analysis.frames import readers

    if request.param == "c":
        require_c_parser()
    monkeypatch.setattr(readers, "USE_C_PARSER", request.param == "c")
    return str(request.param)


def require_c_parser() -> None:
    """Skip where the C parser is off or cannot be built; fail where it should be there."""
    import os
    import shutil

    from lsq_analysis.frames import readers

    if readers._fastjson is not None:
        return
    if os.environ.get("LSQ_ANALYSIS_PARSER", "").strip().lower() == "pyarrow":
        pytest.skip("the C parser is turned off (LSQ_ANALYSIS_PARSER=pyarrow)")
    if not any(shutil.which(cc) for cc in ("cc", "gcc", "clang")):
        pytest.skip("no C compiler on this machine, so the C parser was not built")
    pytest.fail("lsq_analysis.frames._fastjson is not built (or stale): pip install -e . again")
