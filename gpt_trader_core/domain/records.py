"""Stored records: what the state store keeps about backtests and executions."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

import attrs

from gpt_trader_core.domain.specs import FeedSpec, RiskSpec
from gpt_trader_core.domain.trading import Trade


def utcnow() -> dt.datetime:
    """Now, as a naive UTC datetime (the convention for every stored time)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@attrs.frozen
class BacktestRecord:
    """A saved backtest: inputs (strategy, parameters, data identity, config) and outputs (stats, trades)."""

    id: str
    created_at: dt.datetime
    strategy: str
    params: Mapping[str, Any]
    symbol: str
    timeframe: str
    source: str
    synthetic: bool
    data_fingerprint: str
    start: dt.datetime
    end: dt.datetime
    config: Mapping[str, Any]
    stats: Mapping[str, Any]
    trades: tuple[Trade, ...] = ()


class ExecutionStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)


@attrs.frozen
class Execution:
    """One run of a long job (a workflow, an optimisation, a backtest) under an id.

    ``progress`` is in [0, 1]; ``result`` (JSON-like mapping) is set on success, ``error`` (one line)
    on failure or cancellation. Times are naive UTC.
    """

    id: str
    kind: str
    name: str
    status: ExecutionStatus = ExecutionStatus.PENDING
    params: Mapping[str, Any] = attrs.field(factory=dict)
    progress: float = 0.0
    message: str = ""
    created_at: dt.datetime = attrs.field(factory=utcnow)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    result: Mapping[str, Any] | None = None
    error: str | None = None


@attrs.frozen
class ModelRecord:
    """A trained model: ``payload`` holds its parameters as JSON-like data (lists of floats, not
    pickles), ``metrics`` its validation results. Saving under an existing name replaces it."""

    name: str
    kind: str
    created_at: dt.datetime
    params: Mapping[str, Any] = attrs.field(factory=dict)
    payload: Mapping[str, Any] = attrs.field(factory=dict)
    metrics: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class StudyRecord:
    """A persisted optimisation: what is searched and how, so it can be resumed after a crash.

    ``space`` maps each searched parameter to its candidate values, ``fixed`` the fixed ones;
    ``status`` is an ``ExecutionStatus``; the best trial so far is kept for listings.
    """

    id: str
    created_at: dt.datetime
    strategy: str
    symbol: str
    timeframe: str
    start: dt.datetime | None
    end: dt.datetime | None
    method: str
    objective: str
    maximize: bool
    space: Mapping[str, Any]
    fixed: Mapping[str, Any]
    config: Mapping[str, Any]
    n_trials: int | None
    seed: int
    total: int
    status: ExecutionStatus = ExecutionStatus.RUNNING
    best_params: Mapping[str, Any] | None = None
    best_value: float | None = None
    finished_at: dt.datetime | None = None
    error: str | None = None


@attrs.frozen
class TrialRecord:
    """One finished trial of a study (``number`` = its place in the search order)."""

    number: int
    params: Mapping[str, Any]
    stats: Mapping[str, Any]
    value: float


@attrs.frozen
class Event:
    """Something that happened, published on a topic (``session:abc``, ``execution:xyz``, ``system``).

    ``type`` is past tense (``order_filled``, ``step_finished``); ``seq`` is the bus's sequence number
    for the topic (monotonic, for resuming streams); ``data`` is JSON-like. ``channels``: the stream
    channels' message numbers given to it when published, by a bus that several server processes
    share (``{"trades:live": 42}``; empty when each process numbers its channels itself).
    """

    topic: str
    type: str
    data: Mapping[str, Any]
    time: dt.datetime = attrs.field(factory=utcnow)
    seq: int = 0
    channels: Mapping[str, int] = attrs.field(factory=dict)


class SessionStatus(enum.StrEnum):
    RUNNING = "running"  # a live process (``owner``) is trading it
    STOPPED = "stopped"  # stopped on request; can be resumed
    FINISHED = "finished"  # the feed ended
    FAILED = "failed"  # failed to start or stopped on an error (``error`` says why); can be resumed
    # Never stored: what a stored "running" session is when no live process holds it (its process was
    # killed, or a server paused it on shutdown). ``serve`` recovers it; ``run --resume`` continues it.
    INTERRUPTED = "interrupted"


@attrs.frozen
class SessionRecord:
    """A paper (or live) trading session: what it trades and where it has got to.

    ``last_bar`` is the index of the last bar fully processed and committed (-1 before the first);
    ``feed`` describes the market feed and the data behind it (source, range, fingerprints) so a
    restarted process rebuilds exactly the same feed; ``risk`` its risk limits; ``cash``/``equity``
    are as of ``last_bar``. ``owner`` names the process that runs it (``host:pid``) while it is
    ``running``; ``None`` when none holds it (a server released it on shutdown).
    """

    id: str
    created_at: dt.datetime
    strategy: str
    params: Mapping[str, Any]
    symbols: tuple[str, ...]
    mode: str
    capital: float
    config: Mapping[str, Any]
    feed: FeedSpec
    status: SessionStatus = SessionStatus.RUNNING
    last_bar: int = -1
    last_time: dt.datetime | None = None
    cash: float = 0.0
    equity: float = 0.0
    updated_at: dt.datetime | None = None
    error: str | None = None
    risk: RiskSpec | None = None
    owner: str | None = None


@attrs.frozen
class EquitySnapshot:
    """Account value after a bar."""

    bar: int
    time: dt.datetime
    cash: float
    equity: float
