"""Lazy re-exports for the model packages: ``from simulations import plrf`` costs what it uses.

A model package names its public API in its ``__init__`` as ``{submodule: names}`` and hands it
to :func:`lazy_exports`; a name is imported from its submodule on first access, so importing the
package (or its pure-JAX ``model`` layer) never pulls in fits, tables, xarray or matplotlib.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package`` re-exporting ``exports`` lazily.

    Args:
        package: the package's ``__name__``.
        exports: submodule name -> the public names it provides (its ``__all__``). The
            submodules themselves are attributes of the package too.

    Raises:
        ValueError: if a name is exported by two submodules.
    """
    where: dict[str, str] = {}
    for module, names in exports.items():
        for name in names:
            if name in where:
                raise ValueError(f"{package}: {name!r} exported by {where[name]} and {module}")
            where[name] = module
    public = sorted({*exports, *where})

    def __getattr__(name: str) -> Any:
        if name in exports:
            return importlib.import_module(f"{package}.{name}")
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return list(public)

    return __getattr__, __dir__, public
