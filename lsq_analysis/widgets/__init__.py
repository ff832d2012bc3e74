"""Temporary: the widgets layer while it is split into modules (see docs/architecture.md)."""

from .core import *  # noqa: F403
from .core import __all__  # noqa: F401


def __getattr__(name: str) -> object:
    from . import core

    return getattr(core, name)
