"""Package faces that load their names on first use (PEP 562), so importing a package stays light."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_getattr(package: str, names: dict[str, str], namespace: dict) -> Callable[[str], object]:
    """A module `__getattr__` for `package`: `names` maps each public name to the module (absolute, or
    relative to `package`) that defines it; a name is imported when first asked for and then kept in
    `namespace` (the package's globals). Other names raise AttributeError."""

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    return __getattr__
