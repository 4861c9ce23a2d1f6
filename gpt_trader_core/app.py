"""``gt.App``: a synchronous facade over the use cases, for notebooks and scripts.

It owns a private event loop on a background thread, so it works the same in a plain script and
inside Jupyter (whose own loop is already running). It is built from ports, never from adapters:
``entrypoints.notebook.open_app()`` wires it through the composition root.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.domain.records import BacktestRecord, SessionRecord
from gpt_trader_core.domain.results import BacktestResult
from gpt_trader_core.errors import GptTraderError
from gpt_trader_core.services.backtest import Backtester, BacktestRequest, BacktestRun
from gpt_trader_core.services.results import BacktestResults
from gpt_trader_core.services.sessions import SessionReport, SessionRequest, TradingSessions

T = TypeVar("T")

_CONFIG_FIELDS = {a.name for a in attrs.fields(BacktestConfig)}


@attrs.frozen
class AppServices:
    """The use cases an App calls (the composition root builds them: ``entrypoints.notebook``)."""

    backtester: Backtester
    results: BacktestResults
    sessions: TradingSessions | None = None


class _LoopThread:
    """An event loop running on a daemon thread; ``call`` runs a coroutine there and waits for it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="gpt-trader-app", daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


class App:
    """Run, save and list backtests with the application's adapters (state store, cache, data).

    ``connect`` builds the services (and starts their resources) on the App's loop; ``disconnect``
    releases them. Use it as a context manager or call ``close()``.
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[AppServices]],
        disconnect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._runner = _LoopThread()
        self._disconnect = disconnect
        try:
            self._services = self._runner.call(_awaited(connect()))
        except BaseException:
            self._runner.stop()
            raise
        self._closed = False

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise GptTraderError("this gt.App is closed; open a new one")
        return self._runner.call(coro)

    def backtest(
        self,
        symbol: str,
        strategy: str,
        *,
        start: Any = None,
        end: Any = None,
        timeframe: str = "1d",
        save: bool = True,
        **options: Any,
    ) -> BacktestRun:
        """Backtest on the configured market data; keyword options are strategy parameters or
        ``BacktestConfig`` fields (cash, commission, mode, ...). Saved unless ``save=False``."""
        config = BacktestConfig(**{k: v for k, v in options.items() if k in _CONFIG_FIELDS})
        params = {k: v for k, v in options.items() if k not in _CONFIG_FIELDS}
        request = BacktestRequest(symbol, strategy, params, _when(start), _when(end), timeframe, config)
        return self._call(self._services.backtester.run(request, save=save))

    def save(self, result: BacktestResult) -> str:
        """Save a result (e.g. from ``gt.backtest``) and return its id."""
        return self._call(self._services.results.save(result))

    def results(
        self, *, strategy: str | None = None, symbol: str | None = None, limit: int = 50
    ) -> list[BacktestRecord]:
        """Saved results, newest first (without their trades)."""
        return self._call(self._services.results.list(strategy=strategy, symbol=symbol, limit=limit))

    def result(self, record_id: str) -> BacktestRecord:
        """One saved result with its trades."""
        return self._call(self._services.results.get(record_id))

    def delete(self, record_id: str) -> None:
        self._call(self._services.results.delete(record_id))

    # -- paper trading ----------------------------------------------------------------------------

    def _sessions(self) -> TradingSessions:
        if self._services.sessions is None:
            raise GptTraderError("this gt.App was built without trading sessions")
        return self._services.sessions

    def start_session(
        self,
        strategy: str,
        symbols: str | Sequence[str],
        *,
        capital: float = 10_000.0,
        feed: Mapping[str, Any] | None = None,
        risk: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> SessionRecord:
        """Start a paper session in the background (it keeps running while this App is open)."""
        symbols = (symbols,) if isinstance(symbols, str) else tuple(symbols)
        request = SessionRequest(strategy, symbols, params, capital, "paper", feed or {"kind": "synthetic"}, risk=risk)
        return self._call(self._sessions().start(request))

    def session(self, session_id: str) -> SessionReport:
        """A session's record, positions, recent fills and performance."""
        return self._call(self._sessions().status(session_id))

    def sessions(self) -> list[SessionRecord]:
        return self._call(self._sessions().list())

    def stop_session(self, session_id: str) -> SessionRecord:
        return self._call(self._sessions().stop(session_id))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._services.sessions is not None:
                self._runner.call(self._services.sessions.stop_all())
            if self._disconnect is not None:
                self._runner.call(_awaited(self._disconnect()))
        finally:
            self._runner.stop()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _awaited(value: Awaitable[T]) -> T:
    return await value


def _when(value: Any) -> Any:
    import datetime as dt

    if value is None or isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return dt.datetime.fromisoformat(str(value))
