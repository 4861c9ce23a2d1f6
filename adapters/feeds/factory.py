"""Build a session's market feed from the ``FeedSpec`` stored with it — on the data it recorded."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import attrs

from adapters.feeds.replay import ReplayFeed
from adapters.feeds.synthetic import SyntheticLiveFeed
from adapters.market_data.sources import describe_source, open_source
from gpt_trader_core.domain.bars import Bars, to_datetime
from gpt_trader_core.domain.records import SessionRecord
from gpt_trader_core.domain.specs import SYNTHETIC_START, DataSource, FeedSpec
from gpt_trader_core.errors import ConflictError, DataSourceError
from gpt_trader_core.ports import MarketData, MarketFeed


class FeedFactory:
    """The ``FeedFactory`` port: ``replay`` feeds play history from the session's recorded data
    source (the configured ``market_data`` when it is that source, else the source opened again);
    ``synthetic`` feeds generate live SYNTHETIC bars."""

    def __init__(self, market_data: MarketData) -> None:
        self._market_data = market_data

    def pin(self, spec: FeedSpec, symbols: Sequence[str], require: Callable[[Bars], None] | None = None) -> FeedSpec:
        """``spec`` with its data made explicit (see the port); loads every symbol's data once."""
        if spec.kind == "synthetic":
            return spec if spec.started_at is not None else attrs.evolve(spec, started_at=time.time())
        source = spec.source or describe_source(self._market_data)
        bars = self._history(source, spec, symbols)
        if require is not None:  # the backtest's rule: too few bars for the strategy is refused, not traded
            for b in bars.values():
                require(b)
        ReplayFeed(bars, warmup=spec.warmup)  # refuses data without common bars now, not at the first bar
        return attrs.evolve(
            spec,
            timeframe=next(iter(bars.values())).timeframe,
            source=source,
            start=min(to_datetime(b.timestamps[0]) for b in bars.values()),
            end=max(to_datetime(b.timestamps[-1]) for b in bars.values()),
            fingerprints={symbol: b.fingerprint() for symbol, b in bars.items()},
        )

    def __call__(self, session: SessionRecord) -> MarketFeed:
        spec = session.feed
        if spec.kind == "synthetic":
            return SyntheticLiveFeed(
                seed=spec.seed,
                timeframe=spec.bar_timeframe,
                start=spec.start or SYNTHETIC_START,
                interval=spec.interval,
                history_bars=spec.history_bars,
                started_at=spec.started_at,
            )
        if spec.source is None:
            raise ConflictError(
                f"session {session.id} does not record which data it replays (recorded before sessions stored "
                "their data source, or it failed before its data were loaded), so it cannot be resumed on the "
                "same data; start a new session"
            )
        bars = self._history(spec.source, spec, session.symbols)
        for symbol, b in bars.items():
            recorded = spec.fingerprints.get(symbol)
            if recorded is None or b.fingerprint() != recorded:
                raise DataSourceError(
                    f"the {symbol} data of session {session.id} changed since it started: {spec.source.describe()} "
                    f"now gives {spec.timeframe} bars from {spec.start} to {spec.end} with fingerprint "
                    f"{b.fingerprint()}, the session traded {recorded or 'other data'}; restore the data it "
                    "started on, or start a new session"
                )
        return ReplayFeed(bars, speed=spec.speed or 0.0, warmup=spec.warmup)

    def _history(self, source: DataSource, spec: FeedSpec, symbols: Sequence[str]) -> dict[str, Bars]:
        market = self._market_data if _same(source, self._market_data) else open_source(source)
        return {symbol: market.history(symbol, spec.start, spec.end, spec.timeframe) for symbol in symbols}


def _same(source: DataSource, market_data: MarketData) -> bool:
    try:
        return describe_source(market_data) == source
    except DataSourceError:
        return False
