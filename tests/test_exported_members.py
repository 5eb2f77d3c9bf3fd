"""Each layer's public face is exactly its ``__all__`` (after httpx's test of the same name)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import aimsight

LAYERS = sorted(name for _, name, is_pkg in pkgutil.iter_modules(aimsight.__path__) if is_pkg)


@pytest.mark.parametrize("layer", LAYERS)
def test_all_lists_exactly_the_public_names(layer: str) -> None:
    module = importlib.import_module(f"aimsight.{layer}")
    exported = set(getattr(module, "__all__", []))
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not (getattr(value, "__name__", "").startswith("aimsight.") and name in LAYERS)
        and not isinstance(value, type(importlib))
    }
    assert exported == public
