"""House rules that keep the architecture honest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    """import-linter: the core imports no adapters, entrypoints, frameworks or pandas."""
    proc = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" not in proc.stdout.lower() or "0 broken" in proc.stdout.lower()


def test_importing_the_core_loads_no_heavy_frameworks() -> None:
    code = (
        "import sys, gpt_trader_core as gt; gt.backtest; gt.Bars; "
        "bad = [m for m in ('pandas', 'sanic', 'cleo', 'aiocache', 'dependency_injector', 'redis') "
        "if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_no_argparse_anywhere() -> None:
    """The design card: every command line is Cleo — benchmarks' and examples' included."""
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("gpt_trader_core", "adapters", "entrypoints", "tests", "examples")
        for path in (ROOT / package).rglob("*.py")
        if "argparse" in path.read_text() and path != Path(__file__)
    ]
    assert offenders == []


def test_public_names_are_not_shadowed_by_subpackages() -> None:
    """``import gpt_trader_core.x`` binds ``gt.x`` to the subpackage: no public function may share a
    subpackage's name, whatever was imported first."""
    code = (
        "import importlib, pkgutil, types, gpt_trader_core as gt\n"
        "for m in pkgutil.walk_packages(gt.__path__, 'gpt_trader_core.'): importlib.import_module(m.name)\n"
        "bad = [n for n in gt.__all__ if n != 'indicators' and isinstance(getattr(gt, n), types.ModuleType)]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_the_core_declares_its_layers_and_forbids_cycles() -> None:
    """ARCHITECTURE.md rule 4 is enforced by contracts, not by goodwill: removing them fails here."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = [c for c in contracts if c["type"] == "layers" and c.get("containers") == ["gpt_trader_core"]]
    assert len(layers) == 1 and layers[0]["exhaustive"] is True
    order = [layer.replace(" ", "") for layer in layers[0]["layers"]]
    assert order[:3] == ["app|functions", "workflows", "services"] and order[-2:] == ["domain", "errors"]
    assert any(c["type"] == "acyclic_siblings" and c["ancestors"] == ["gpt_trader_core"] for c in contracts)


def test_only_the_python_api_reaches_for_the_global_strategy_registry() -> None:
    """ARCHITECTURE.md rule 4: slices and use cases get the registry handed in (no service locator);
    only ``gt.*`` functions default to the global one."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "gpt_trader_core").rglob("*.py")
        if path.parent.name != "strategy"
        and path.name != "functions.py"
        and "import REGISTRY" in path.read_text().replace("strategy import (\n    REGISTRY", "import REGISTRY")
    ]
    assert offenders == []
