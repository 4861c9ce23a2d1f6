"""What a module costs to import: the lazy re-exports keep numpy, optimisation and the file readers out
of the modules read-only commands load (CLI start-up, issue 15). Each check runs in a fresh interpreter,
since this test process has long imported everything."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gpt_trader_core.domain.bars import TIMEFRAMES
from gpt_trader_core.domain.timeframes import TIMEFRAME_SECONDS


def _loaded_after(statement: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with one of ``prefixes`` that ``statement`` leaves imported."""
    probe = f"import sys\n{statement}\nprint(' '.join(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return out.split()


@pytest.mark.parametrize(
    "statement",
    [
        "import gpt_trader_core.ports",
        "import gpt_trader_core.domain.records",
        "import gpt_trader_core.domain.specs",
        "from gpt_trader_core.domain import Trade",
        "from gpt_trader_core.domain.formatting import format_value",  # every CLI table
        "import gpt_trader_core.services.portfolio_values",  # what `portfolio positions --remote` rebuilds
        "import entrypoints.presenters.status",  # `status`, also with --remote
        "import gpt_trader_core.backtesting.config",  # the sessions service's defaults
        "import gpt_trader_core.monitor.alerts",  # `status`
    ],
)
def test_ports_and_records_do_not_import_numpy(statement: str) -> None:
    assert _loaded_after(statement, ("numpy", "gpt_trader_core.domain.bars")) == []


def test_the_domain_package_still_re_exports_its_values_lazily() -> None:
    import gpt_trader_core.domain as domain
    from gpt_trader_core.domain import Bars, Trade
    from gpt_trader_core.domain.bars import Bars as BarsDirect
    from gpt_trader_core.domain.trading import Trade as TradeDirect

    assert Bars is BarsDirect and Trade is TradeDirect
    assert set(domain.__all__) <= set(dir(domain))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        domain.Nope  # noqa: B018 - the attribute access is the test


@pytest.mark.parametrize("package", ["domain", "backtesting", "monitor", "analysis", "portfolio", "risk"])
def test_every_lazy_re_export_resolves_to_its_definition(package: str) -> None:
    import importlib

    module = importlib.import_module(f"gpt_trader_core.{package}")
    for name in module.__all__:
        value = getattr(module, name)
        assert getattr(module, name) is value and name in dir(module)


def test_moved_names_keep_their_old_import_paths() -> None:
    from gpt_trader_core.domain import formatting, results
    from gpt_trader_core.services import portfolio_values, portfolio_view

    assert results.format_value is formatting.format_value
    assert portfolio_view.SessionPositions is portfolio_values.SessionPositions


def test_listing_strategies_does_not_import_optimisation_or_jobs() -> None:
    loaded = _loaded_after(
        "import gpt_trader_core.services.catalog",
        ("gpt_trader_core.optimization", "gpt_trader_core.services.jobs", "gpt_trader_core.services.research"),
    )
    assert loaded == []
    from gpt_trader_core.services import catalog, research

    assert research.StrategyCatalog is catalog.StrategyCatalog  # the old import path still works


def test_market_data_package_imports_an_adapter_on_first_use() -> None:
    assert _loaded_after("import adapters.market_data.sources", ("adapters.market_data.",)) == [
        "adapters.market_data.sources"
    ]
    from adapters.market_data import CsvMarketData
    from adapters.market_data.csv import CsvMarketData as Direct

    assert CsvMarketData is Direct


def test_strategies_do_not_import_fractions_until_a_near_tie() -> None:
    assert "fractions" not in _loaded_after("import gpt_trader_core.strategy", ("fractions",))


def test_numpy_free_timeframes_equal_the_bars_timeframes() -> None:
    """``specs`` validates timeframes against the numpy-free table: it must name the same lengths."""
    assert list(TIMEFRAME_SECONDS) == list(TIMEFRAMES)
    for name, length in TIMEFRAMES.items():
        assert TIMEFRAME_SECONDS[name] == length / np.timedelta64(1, "s")
