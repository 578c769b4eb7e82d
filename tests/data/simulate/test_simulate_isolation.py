"""The simulator's latent factors and panel weights stay private to ``perceptops.data.simulate``.

Scans every module under src/perceptops (and stages/) with ``ast``: imports of the package's private
modules from outside it fail, and so do imports of its public names from anywhere but the two callers
the contract allows (the ``synthetic`` source calls ``synthesize``; the survey code calls
``simulate_panel``). A text scan also catches dynamic imports (importlib / __import__) of the private
modules.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from support import REPO_ROOT

PKG = "perceptops.data.simulate"
ALLOWED = {  # caller module prefix -> public names it may import
    "perceptops.data.sources": {"synthesize", "SyntheticCity"},
    "perceptops.data.surve": {"simulate_panel"},  # perceptops.data.survey / surveys
}
PRIVATE_TEXT = re.compile(r"perceptops\.data\.simulate\._|simulate\._(factors|weights|panel|render|api)\b")


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, *([node.module] if node.module else [])])


def violations(source: str, module: str, is_pkg: bool = False) -> list[str]:
    """Why ``module`` (with this source) breaks the simulator's isolation; empty when it does not."""
    if module == PKG or module.startswith(PKG + "."):
        return []
    allowed = next((names for prefix, names in ALLOWED.items() if module.startswith(prefix)), set())
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PKG or alias.name.startswith(PKG + "."):
                    out.append(f"{module}: 'import {alias.name}' (use 'from {PKG} import <public name>')")
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, module, is_pkg)
            if target.startswith(PKG + "."):
                out.append(f"{module}: imports private module {target}")
            elif target == PKG:
                for alias in node.names:
                    if alias.name not in allowed:
                        out.append(f"{module}: imports {PKG}.{alias.name} (allowed here: {sorted(allowed)})")
            elif target == "perceptops.data":
                for alias in node.names:
                    if alias.name == "simulate":
                        out.append(f"{module}: imports the {PKG} module object")
    if PRIVATE_TEXT.search(source):
        out.append(f"{module}: names a private simulator module in its text")
    return out


def _sources() -> list[tuple[str, str, bool]]:
    src = REPO_ROOT / "src"
    found = [(module_name(p, src), p.read_text(), p.name == "__init__.py") for p in sorted(src.rglob("*.py"))]
    for p in sorted((REPO_ROOT / "stages").glob("*.py")):
        found.append((f"stages.{p.stem}", p.read_text(), False))
    return found


def test_no_module_outside_the_simulator_reads_its_private_parts():
    mods = _sources()
    assert any(m == f"{PKG}._weights" for m, _, _ in mods)  # the scan really sees the tree
    problems = [v for m, text, is_pkg in mods for v in violations(text, m, is_pkg)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("perceptops.describe.scene_backend", "from perceptops.data.simulate._weights import BASE"),
        ("perceptops.model.train", "import perceptops.data.simulate._factors as f"),
        ("perceptops.model.train", "from perceptops.data.simulate import synthesize"),
        ("perceptops.data.sources.synthetic", "from perceptops.data.simulate import simulate_panel"),
        ("perceptops.data.sources", "from .simulate._panel import make_raters"),
        ("perceptops.data.survey", "from perceptops.data import simulate"),
        ("perceptops.maps.build", "importlib.import_module('perceptops.data.simulate._weights')"),
    ],
)
def test_the_scan_catches_each_kind_of_leak(module, source):
    assert violations(source, module)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("perceptops.data.sources", "from perceptops.data.simulate import synthesize, SyntheticCity"),
        ("perceptops.data.sources.synthetic", "from ..simulate import synthesize"),
        ("perceptops.data.survey", "from perceptops.data.simulate import simulate_panel"),
        ("perceptops.data.simulate._api", "from perceptops.data.simulate._render import render"),
    ],
)
def test_the_allowed_calls_pass(module, source):
    assert violations(source, module) == []
