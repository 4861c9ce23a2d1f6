"""What a trading session trades on and within: ``FeedSpec`` (its market feed and the data behind it)
and ``RiskSpec`` (its risk limits). Defined once, with one set of defaults, for every driver (CLI,
workflows, the Python API, HTTP) and stored with the session, so any process can rebuild the very
same feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from gpt_trader_core.domain.timeframes import TIMEFRAME_SECONDS as TIMEFRAMES  # numpy-free
from gpt_trader_core.errors import InvalidParameterError

__all__ = ["DATA_KINDS", "FEED_KINDS", "DataSource", "FeedSpec", "RiskSpec"]

FEED_KINDS = ("replay", "synthetic")
DATA_KINDS = ("synthetic", "csv", "parquet", "memory")
#: The first streamed bar of a synthetic live feed when no ``start`` is given.
SYNTHETIC_START = dt.datetime(2024, 1, 2)


def _choice(name: str, choices: tuple[str, ...]) -> Any:
    def check(_: Any, __: Any, value: Any) -> None:
        if value not in choices:
            raise InvalidParameterError(f"{name} must be one of {', '.join(choices)}, got {value!r}")

    return check


def _non_negative(name: str) -> Any:
    def check(_: Any, __: Any, value: Any) -> None:
        if value is not None and (isinstance(value, bool) or not value >= 0):
            raise InvalidParameterError(f"{name} must be >= 0, got {value!r}")

    return check


@attrs.frozen
class DataSource:
    """Where bars come from. ``kind``: ``synthetic`` (generated from ``seed``), ``csv`` or ``parquet``
    (``path``: the absolute directory of ``SYMBOL.csv``/``.parquet`` files) or ``memory`` (bars held by
    one process, ``path`` names them; they do not outlive it)."""

    kind: str = attrs.field(validator=_choice("data source kind", DATA_KINDS))
    path: str | None = None
    seed: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.kind in ("csv", "parquet") and not self.path:
            raise InvalidParameterError(f"a {self.kind} data source needs the path of its directory")
        if self.kind == "synthetic" and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise InvalidParameterError(f"a synthetic data source needs an integer seed, got {self.seed!r}")

    def describe(self) -> str:
        """``csv:/data/csv``, ``synthetic(seed=0)``, ``memory:name`` — as the adapters name themselves."""
        if self.kind == "synthetic":
            return f"synthetic(seed={self.seed})"
        return f"{self.kind}:{self.path}"


def _when(value: Any) -> dt.datetime | None:
    """A range bound as a naive datetime (a date or ISO text accepted, as drivers pass them)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidParameterError(f"feed start/end must be an ISO date like 2024-01-31, got {value!r}") from None
    raise InvalidParameterError(f"feed start/end must be a datetime, got {value!r}")


def _default_timeframe(spec: Any) -> str | None:
    return None if spec.kind == "replay" else "1m"


def _timeframe(_: Any, __: Any, value: Any) -> None:
    if value is not None and value not in TIMEFRAMES:
        raise InvalidParameterError(f"timeframe must be one of {', '.join(TIMEFRAMES)}, got {value!r}")


@attrs.frozen
class FeedSpec:
    """A session's market feed.

    ``kind``: ``replay`` (history from ``source``, between ``start`` and ``end``) or ``synthetic`` (live
    SYNTHETIC bars generated from ``seed`` from ``start``, default 2024-01-02, one every bar length /
    ``speed`` seconds from the wall-clock time ``started_at``, after ``history_bars`` warm-up bars).
    ``timeframe``: replay default ``None`` = the data's own (set when the session starts), synthetic
    default ``1m``. ``speed``: a multiple of real time,
    0 = as fast as possible; ``None`` = the kind's default (replay: as fast as possible; synthetic:
    one bar per second). ``warmup``: leading replay bars used as history only. ``stop_after``: stop
    (resumably) once this many bars are done.

    ``source`` (replay) is ``None`` in a request (= the configured market data) and always set in a
    stored session, with ``fingerprints`` (symbol → ``Bars.fingerprint()`` of the replayed bars): a
    session resumes on exactly that data, or refuses to.
    """

    kind: str = attrs.field(default="synthetic", validator=_choice("feed kind", FEED_KINDS))
    timeframe: str | None = attrs.field(
        default=attrs.Factory(_default_timeframe, takes_self=True), validator=_timeframe
    )
    speed: float | None = attrs.field(default=None, validator=_non_negative("speed"))
    start: dt.datetime | None = attrs.field(default=None, converter=_when)
    end: dt.datetime | None = attrs.field(default=None, converter=_when)
    source: DataSource | None = None
    seed: int = 0
    warmup: int = attrs.field(default=0, validator=_non_negative("warmup"))
    history_bars: int = attrs.field(default=300, validator=_non_negative("history_bars"))
    started_at: float | None = None
    stop_after: int | None = None
    fingerprints: Mapping[str, str] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if self.stop_after is not None and (isinstance(self.stop_after, bool) or self.stop_after < 1):
            raise InvalidParameterError(f"stop_after must be a number of bars >= 1, got {self.stop_after!r}")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise InvalidParameterError(f"the feed's end ({self.end}) is before its start ({self.start})")
        if self.kind == "synthetic" and self.timeframe in ("1w", "1mo", None):
            raise InvalidParameterError(
                f"a synthetic live feed needs an intraday or daily timeframe, got {self.timeframe!r}"
            )

    @property
    def bar_timeframe(self) -> str:
        """The bars' timeframe (a replay's is known once its data are loaded, see ``FeedFactory.pin``)."""
        if self.timeframe is None:
            raise InvalidParameterError("the replay's timeframe is not known before its data are loaded")
        return self.timeframe

    @property
    def bar_seconds(self) -> float:
        return float(TIMEFRAMES[self.bar_timeframe])

    @property
    def interval(self) -> float:
        """Wall-clock seconds between two live bars (0 = as fast as possible)."""
        if self.speed is None:
            return 1.0 if self.kind == "synthetic" else 0.0
        return self.bar_seconds / self.speed if self.speed else 0.0

    def at_speed(self, speed: float, resume_at: int, now: float) -> FeedSpec:
        """The same feed played at ``speed`` from bar ``resume_at`` on: a synthetic feed's wall-clock
        anchor moves so that bar ``resume_at`` is due ``now`` (the bars themselves do not change)."""
        spec = attrs.evolve(self, speed=speed)
        if self.kind == "synthetic":
            spec = attrs.evolve(spec, started_at=now - resume_at * spec.interval)
        return spec


@attrs.frozen
class RiskSpec:
    """A session's risk limits, in percent of equity (``max_open_positions`` is a count). Orders are
    checked against them; a drawdown or daily loss beyond its limit triggers the emergency stop
    (flatten, then stop). The defaults leave each limit off, so a session is limited only by what
    is asked for (``RiskSpec(max_drawdown_pct=10)``); ``max_open_positions`` defaults to 10."""

    max_drawdown_pct: float = 100.0
    max_daily_loss_pct: float = 100.0
    max_position_pct: float = 100.0
    min_cash_reserve_pct: float = 0.0
    max_open_positions: int = 10
