"""A layer imports only layers to its left in the data flow (DESIGN.md, package layout).

Security and privacy cut across every layer, so they sit right after the store: every later
layer may use them. ``demo`` composes the whole pipeline and ``cli`` sits on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import aimsight

ORDER = [
    "core",
    "store",
    "security",
    "privacy",
    "ingest",
    "identity",
    "features",
    "insight",
    "registry",
    "decide",
    "monitor",
    "experiment",
    "aims",
    "status",
    "web",
    "api",
    "demo",
    "cli",
]
ROOT = Path(aimsight.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """The ``aimsight.*`` modules ``path`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        modules.update(name for name in names if name.startswith("aimsight."))
    return modules


def _imported_layers(path: Path) -> set[str]:
    return {module.split(".")[1] for module in _imported_modules(path)}


def test_no_layer_imports_a_layer_to_its_right() -> None:
    violations = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        layer = relative.parts[0].removesuffix(".py")
        if layer not in ORDER:
            continue
        for imported in _imported_layers(path):
            if imported in ORDER and ORDER.index(imported) > ORDER.index(layer):
                violations.append(f"{relative} imports aimsight.{imported}")
    assert violations == []


def test_every_layer_folder_is_placed_in_the_order() -> None:
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(ORDER)


def test_a_layer_uses_only_the_public_names_of_another() -> None:
    violations = []
    for path in ROOT.rglob("*.py"):
        layer = path.relative_to(ROOT).parts[0].removesuffix(".py")
        for module in _imported_modules(path):
            parts = module.split(".")
            if parts[1] != layer and any(part.startswith("_") for part in parts[2:]):
                violations.append(f"{path.relative_to(ROOT)} imports {module}")
    assert violations == []
