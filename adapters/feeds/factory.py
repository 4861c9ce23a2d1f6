"""Build a session's market feed from the feed description stored with it."""

from __future__ import annotations

import datetime as dt

from adapters.feeds.replay import ReplayFeed
from adapters.feeds.synthetic import SyntheticLiveFeed
from gpt_trader_core.domain.records import SessionRecord
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.ports import MarketData, MarketFeed


def _when(value: object) -> dt.datetime | None:
    return None if value in (None, "") else dt.datetime.fromisoformat(str(value))


class FeedFactory:
    """``feed`` kinds: ``replay`` (history from the market-data port: ``start``, ``end``,
    ``timeframe``, ``speed``, ``warmup``) and ``synthetic`` (live synthetic bars: ``seed``,
    ``timeframe``, ``interval`` seconds, ``start``, ``history_bars``, ``started_at``)."""

    def __init__(self, market_data: MarketData) -> None:
        self._market_data = market_data

    def __call__(self, record: SessionRecord) -> MarketFeed:
        spec = dict(record.feed)
        kind = spec.get("kind", "synthetic")
        if kind == "replay":
            timeframe = str(spec.get("timeframe", "1d"))
            bars = {
                s: self._market_data.history(s, _when(spec.get("start")), _when(spec.get("end")), timeframe)
                for s in record.symbols
            }
            return ReplayFeed(bars, speed=float(spec.get("speed", 0)), warmup=int(spec.get("warmup", 0)))
        if kind == "synthetic":
            return SyntheticLiveFeed(
                seed=int(spec.get("seed", 0)),
                timeframe=str(spec.get("timeframe", "1m")),
                start=str(spec.get("start", "2024-01-02")),
                interval=float(spec.get("interval", 1.0)),
                history_bars=int(spec.get("history_bars", 300)),
                started_at=float(spec["started_at"]) if spec.get("started_at") is not None else None,
            )
        raise InvalidParameterError(f"unknown feed {kind!r}; use replay or synthetic")
