"""``gpt-trader optimize``."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.backtest import parse_date
from entrypoints.cli.render import to_csv, write_table
from gpt_trader_core.errors import InvalidParameterError


def parse_space(items: list[str]) -> dict[str, Any]:
    """``name=a:b:step`` (inclusive range), ``name=v1,v2,...`` (list) or ``name=v`` (fixed)."""
    space: dict[str, Any] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not name.strip() or not spec.strip():
            raise InvalidParameterError(f"--space expects name=start:stop:step, name=a,b,c or name=value; got {item!r}")
        spec = spec.strip()
        if ":" in spec:
            parts = spec.split(":")
            if len(parts) != 3:
                raise InvalidParameterError(f"--space {item!r}: a range is start:stop:step, e.g. fast=5:30:5")
            try:
                start, stop, step = (float(p) for p in parts)
            except ValueError:
                raise InvalidParameterError(f"--space {item!r}: start, stop and step must be numbers") from None
            if step <= 0 or stop < start:
                raise InvalidParameterError(f"--space {item!r}: needs step > 0 and stop >= start")
            count = round((stop - start) / step) + 1
            values = [start + i * step for i in range(count) if start + i * step <= stop + 1e-9]
            space[name.strip()] = [int(v) if v.is_integer() else round(v, 10) for v in values]
        elif "," in spec:
            space[name.strip()] = [v.strip() for v in spec.split(",") if v.strip()]
        else:
            space[name.strip()] = spec
    return space


EXECUTORS = ("inline", "local", "dask")
#: Heatmap rows shown before neighbouring rows are merged into ranges.
MAX_HEATMAP_ROWS = 40


@contextmanager
def cancel_on_interrupt(token: Any) -> Iterator[None]:
    """First Ctrl-C asks the search to stop (finished trials are kept); a second one interrupts at once."""
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class OptimizeCommand(AppCommand):
    remote_capable = True
    name = "optimize"
    description = "Optimise a strategy's parameters: grid, random, bayes (TPE) or walk-forward; resumable."
    help = """Searches the parameters of <info>--strategy</info> on <info>--symbol</info> and ranks them by
<info>--metric</info>. Every finished trial is saved, so an interrupted study (Ctrl-C, a crash) continues
with <info>--resume ID</info>.

Unnamed parameters are searched over the strategy's declared range (see `gpt-trader strategies`).
A search of more than <info>optimize.max_trials</info> trials (100,000 by default; 0 = no limit) is refused unless
confirmed with <info>--yes</info> (or sample it with
<info>--method random --trials N</info>). Ctrl-C stops the search, keeps every finished trial and prints the
command that resumes it (exit code 130). Stored studies: <info>gpt-trader studies list|show|delete</info>.
With <info>--remote URL</info> the server runs the study (grid, random or bayes; its executor) and Ctrl-C cancels
it there.

  <comment>gpt-trader optimize --strategy mean_reversion --metric sharpe</comment>
  <comment>gpt-trader optimize -s sma_cross --space fast=5:25:5 --space slow=10:65:5 --data-dir ./csv</comment>
  <comment>gpt-trader optimize -s breakout --method bayes --trials 60 --executor local</comment>
  <comment>gpt-trader optimize -s sma_cross --method walk-forward --windows 6 --anchored</comment>
  <comment>gpt-trader optimize --resume study_1a2b3c4d5e6f7a8b</comment>"""
    options: ClassVar[list[Option]] = [
        option("strategy", "s", "Strategy name", flag=False),
        option("symbol", None, "Symbol", flag=False, default="AAPL"),
        option("from", None, "First day (YYYY-MM-DD)", flag=False),
        option("to", None, "Last day (YYYY-MM-DD)", flag=False),
        option("timeframe", "t", "Bar timeframe (1d, 1h, 15m, ...; default: the data's own)", flag=False),
        option(
            "space", None, "Search space: name=start:stop:step | name=a,b,c | name=value", flag=False, multiple=True
        ),
        option(
            "metric",
            "m",
            "Objective: a statistic or alias (sharpe, return, calmar, sqn, ...)",
            flag=False,
            default="sharpe",
        ),
        option("minimize", None, "Minimise the metric instead of maximising it", flag=True),
        option("method", None, "grid, random, bayes or walk-forward", flag=False, default="grid"),
        option("trials", None, "Trials for random/bayes (default: up to 100)", flag=False),
        option("seed", None, "Seed for random/bayes", flag=False, default="0"),
        option("windows", None, "Walk-forward windows", flag=False, default="5"),
        option("anchored", None, "Walk-forward with anchored (expanding) training windows", flag=True),
        option("commission", None, "Commission rate per side", flag=False),
        option(
            "slippage", None, "Slippage rate per fill, e.g. 0.0005 (default: settings backtest.slippage)", flag=False
        ),
        option("spread", None, "Bid-ask spread rate paid on entries (default: settings backtest.spread)", flag=False),
        option("cash", None, "Starting cash", flag=False),
        option("mode", None, "long_short or long_only", flag=False, default="long_short"),
        option("executor", "e", "inline, local (process pool) or dask (default: executor.kind)", flag=False),
        option("scheduler", None, "Dask scheduler address (with --executor dask)", flag=False),
        option("resume", None, "Continue a stored study by its id", flag=False),
        option("yes", "y", "Run a search above the optimize.max_trials guard (100,000 by default)", flag=True),
        option("data-dir", None, "Directory of SYMBOL.csv files instead of the synthetic market", flag=False),
        option("top", None, "Rows of the ranking to print", flag=False, default="10"),
        option("format", "f", "Output: table, json or csv", flag=False),
    ]

    def settings_overrides(self) -> list[str]:
        overrides = []
        if self.option("data-dir"):
            overrides += ["market_data.source=csv", f"market_data.path={self.option('data-dir')}"]
        if self.option("scheduler"):
            overrides.append(f"executor.scheduler_address={self.option('scheduler')}")
        return overrides

    def _int(self, name: str) -> int | None:
        value = self.option(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise InvalidParameterError(f"--{name} expects a whole number, got {value!r}") from None

    def _positive(self, name: str) -> int | None:
        value = self._int(name)
        if value is not None and value < 1:
            raise InvalidParameterError(f"--{name} must be a whole number >= 1, got {value}")
        return value

    def handle(self) -> int:
        from entrypoints.container import backtest_defaults
        from gpt_trader_core.backtesting.config import BacktestConfig
        from gpt_trader_core.errors import CancelledError
        from gpt_trader_core.optimization.runner import CancelToken
        from gpt_trader_core.services.backtest import new_id
        from gpt_trader_core.services.optimization import OptimizeRequest

        fmt = self.output_format()
        loaded = self.load_settings()
        method = self.option("method").replace("_", "-")
        if method not in ("grid", "random", "bayes", "walk-forward"):
            raise InvalidParameterError(f"--method must be grid, random, bayes or walk-forward, got {method!r}")
        executor = self.option("executor") or loaded.settings.executor.kind
        if executor not in EXECUTORS:
            raise InvalidParameterError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
        resume = self.option("resume")
        if not resume and not self.option("strategy"):
            raise InvalidParameterError("--strategy is required (or --resume STUDY_ID)")
        windows = self._positive("windows") or 5
        defaults = backtest_defaults(loaded.settings)  # the container's services.backtest_defaults
        from entrypoints.cli.commands.backtest import parse_float

        def number(name: str, default: float) -> float:
            value = parse_float(name, self.option(name))
            return default if value is None else value

        config = BacktestConfig(
            cash=number("cash", defaults.cash),
            commission=number("commission", defaults.commission),
            slippage=number("slippage", defaults.slippage),
            spread=number("spread", defaults.spread),
            mode=self.option("mode"),
        )
        request = OptimizeRequest(
            symbol=self.option("symbol"),
            strategy=self.option("strategy") or "",
            space=parse_space(self.option("space")),
            start=parse_date("from", self.option("from")),
            end=parse_date("to", self.option("to")),
            timeframe=self.option("timeframe"),
            objective=self.option("metric"),
            maximize=not self.option("minimize"),
            method="grid" if method == "walk-forward" else method,
            n_trials=self._int("trials"),
            seed=self._int("seed") or 0,
            config=config,
            max_trials=None
            if self.option("yes") or not loaded.settings.optimize.max_trials
            else loaded.settings.optimize.max_trials,
        )
        self.executor = executor
        token = CancelToken()
        study_id = resume or new_id("study")
        bar = self._progress_bar(fmt, loaded.settings.cli.progress_bars)

        async def work(container: Any) -> Any:
            optimizer = await container.services.optimizer()
            if method == "walk-forward":
                return await optimizer.walk_forward(
                    request, n_windows=windows, anchored=self.option("anchored"), progress=bar, cancel=token
                )
            if resume:
                return await optimizer.resume(resume, progress=bar, cancel=token)
            return await optimizer.run(request, progress=bar, cancel=token, study_id=study_id)

        try:
            with cancel_on_interrupt(token):
                result = self.run_with_container(work)
        except (CancelledError, KeyboardInterrupt) as exc:
            if bar is not None:
                bar.interrupt()
            # a server's study has the id the server gave it (``RemoteStudyCancelledError.study_id``)
            self._interrupted(method, getattr(exc, "study_id", None) or study_id, exc)
            return 130
        if bar is not None:
            bar.finish()
        if method == "walk-forward":
            self._show_walk_forward(result, fmt)
        else:
            self._show(result, fmt)
        return 0

    def _interrupted(self, method: str, study_id: str, exc: BaseException) -> None:
        """One line on its own (the progress bar is cleared first): what was kept, how to go on."""
        if method == "walk-forward":
            self.io.write_error_line("<comment>interrupted</comment>: walk-forward stopped; nothing was saved")
            return
        done = str(exc).split(" after ", 1)[1].split(";", 1)[0] if " after " in str(exc) else "the finished trials"
        self.io.write_error_line(
            f"<comment>interrupted</comment>: study {study_id} keeps {done}; "
            f"resume with: gpt-trader optimize --resume {study_id}"
        )

    def _progress_bar(self, fmt: str, enabled: bool) -> Any:
        if fmt != "table" or not enabled or self.io.output.is_quiet():
            return None
        from entrypoints.cli.progress import OptimizationProgressBar

        return OptimizationProgressBar(self.io)

    def _show(self, result: Any, fmt: str) -> None:
        from entrypoints.serialization import dumps

        top = self._int("top") or 10
        rows = result.table(top)
        if fmt == "json":
            from entrypoints.presenters.backtests import optimization_summary

            self.line(dumps(optimization_summary(result, top)))
            return
        headers = list(rows[0]) if rows else ["rank"]
        if fmt == "csv":
            self.line(to_csv(headers, [list(r.values()) for r in rows]).rstrip("\n"))
            return
        tag = " — SYNTHETIC DATA" if result.synthetic else ""
        resumed = f" ({result.resumed} resumed)" if result.resumed else ""
        done = len(result.trials) + result.dropped
        self.line(
            f"<info>{result.strategy} on {result.symbol}{tag}</info>: {done}/{result.total} trials"
            f"{resumed}, "
            f"{result.method}, {result.elapsed_s:.2f} s, study <info>{result.study_id}</info>"
        )
        for note in result.notes:
            self.line(f"<comment>note:</comment> {note}")
        write_table(self, headers, [list(r.values()) for r in rows])
        self.line(f"best: <info>{result.best_params}</info> → {result.objective.metric} {result.best.value:.4f}")
        searched = [n for n in result.space.names if len(result.space.values[n]) > 1]
        if len(searched) == 2:
            self._show_heatmap(result, searched)

    def _show_heatmap(self, result: Any, searched: list[str]) -> None:
        """The heatmap, its columns (and rows) merged into ranges when it would not fit the terminal."""
        import shutil

        from gpt_trader_core.domain.results import format_value

        heat = result.heatmap(*searched)
        width = shutil.get_terminal_size((120, 24)).columns
        cell = max(len(format_value(v)) for v in [*heat.values.ravel().tolist(), *heat.x_values]) + 3
        label = len(f"{heat.y_name} \\ {heat.x_name}") + 4
        fitted = heat.fit(max(2, (width - label - 1) // cell), MAX_HEATMAP_ROWS, result.objective.maximize)
        merged = "" if fitted is heat else f" (ranges merged to fit {width} columns; all cells: --format json)"
        self.line(
            f"{result.objective.metric} by {heat.y_name} (rows) × {heat.x_name} (columns), best per cell{merged}:"
        )
        write_table(
            self,
            [f"{fitted.y_name} \\ {fitted.x_name}", *map(str, fitted.x_values)],
            [[y, *row.tolist()] for y, row in zip(fitted.y_values, fitted.values, strict=True)],
        )

    def _show_walk_forward(self, result: Any, fmt: str) -> None:
        from entrypoints.serialization import dumps, to_plain

        if fmt == "json":
            self.line(
                dumps(
                    {
                        "strategy": result.strategy,
                        "symbol": result.symbol,
                        "synthetic": result.synthetic,
                        "anchored": result.anchored,
                        "stats": to_plain(result.stats),
                        "degradation": to_plain(result.degradation),
                        "parameter_stability": to_plain(result.parameter_stability),
                        "windows": [
                            {
                                "test": [w.test_period[0], w.test_period[1]],
                                "best_params": dict(w.best_params),
                                "in_sample": w.in_sample_value,
                                "out_of_sample": w.out_of_sample_value,
                            }
                            for w in result.windows
                        ],
                    }
                )
            )
            return
        self.line(repr(result))
