"""One mechanism for names a package exports but loads on first use (PEP 562).

A package keeps ``import crmcore`` light by naming what it offers without
importing it::

    __getattr__, __dir__ = lazy_exports(__name__, {"Policy": "crmcore.policy._policy"})

``Policy`` is then imported from its module the first time it is asked for
and kept in the package's namespace; ``dir()`` lists it beforehand. A value
of ``None`` names a submodule of the package itself (``crmcore.validation``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str | None]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` that import ``names`` on first use.

    Args:
        package: the package's ``__name__``.
        names: exported name -> the module that defines it, or ``None`` for
            the submodule ``package.name`` itself.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        source = names[name]
        if source is None:
            value: Any = importlib.import_module(f"{package}.{name}")
        else:
            value = getattr(importlib.import_module(source), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__
