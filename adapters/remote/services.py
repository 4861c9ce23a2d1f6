"""The use cases the CLI calls, answered by a gpt-trader server over its REST API v1.

Each class has the methods (names, arguments, returned core values) of the local use case a command
calls — ``Backtester.run``, ``MarketReads.bars``, ``StrategyCatalog.list``, ``PortfolioView``,
``Workflows``, ``Monitoring.status`` — so a command runs unchanged against either; the composition root
(``entrypoints/container.py``) chooses which. Values come back through the remote edge's converter.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import datetime as dt
import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from adapters.remote.client import RemoteClient
from adapters.remote.converter import structure
from adapters.remote.errors import RemoteError
from gpt_trader_core.errors import ConflictError, InvalidParameterError, NotFoundError

log = logging.getLogger("gpt_trader.remote")

if TYPE_CHECKING:  # each use case imports the core values it returns when first called (keeps start-up quick)
    import numpy as np

    from gpt_trader_core.backtesting.config import BacktestConfig
    from gpt_trader_core.domain.bars import Bars
    from gpt_trader_core.domain.records import Event, Execution, ExecutionStatus
    from gpt_trader_core.domain.results import BacktestResult
    from gpt_trader_core.regime import RegimeAnalysis
    from gpt_trader_core.services.backtest import BacktestRequest, BacktestRun
    from gpt_trader_core.services.catalog import StrategyInfo
    from gpt_trader_core.services.monitoring import MonitoringSnapshot
    from gpt_trader_core.services.portfolio_values import PortfolioPerformance, PortfolioRisk, SessionPositions
    from gpt_trader_core.services.portfolio_view import Rebalance
    from gpt_trader_core.services.sessions import SessionReport

#: Seconds between two status polls of a running execution.
POLL_INTERVAL_S = 0.25


def _day(value: dt.datetime | None, name: str) -> str | None:
    """The REST API takes days: a time of day would be silently dropped, so it is refused instead."""
    if value is None:
        return None
    if value.time() != dt.time():
        raise InvalidParameterError(f"--{name} with --remote is a day (YYYY-MM-DD); the server takes no time of day")
    return value.date().isoformat()


def _times(values: Sequence[str]) -> np.ndarray:
    import numpy as np

    return np.array([np.datetime64(v.rstrip("Z"), "ns") for v in values], dtype="datetime64[ns]")


class RemoteBacktester:
    """``Backtester.run`` on the server (``POST /api/v1/strategies/backtest`` with ``detail: full``)."""

    def __init__(self, client: RemoteClient) -> None:
        self._client = client

    async def run(self, request: BacktestRequest, *, save: bool = True) -> BacktestRun:
        from gpt_trader_core.services.backtest import BacktestRun

        config = request.config
        body: dict[str, Any] = {
            "symbol": request.symbol,
            "strategy": request.strategy,
            "params": dict(request.params),
            "start": _day(request.start, "from"),
            "end": _day(request.end, "to"),
            "costs": _costs(config),
            "save": save,
            "detail": "full",
        }
        if request.timeframe is not None:
            body["timeframe"] = request.timeframe
        answer = self._client.request("POST", "/api/v1/strategies/backtest", body=_compact(body))
        if answer.status == 202:
            location = answer.headers.get("location", "")
            raise RemoteError(
                f"{self._client.url} runs a backtest this large in the background (execution {answer.body.get('id')}, "
                f"{location}); its statistics are saved there — narrow --from/--to to get the full result here"
            )
        view = answer.body
        return BacktestRun(_result(view["result"]), view.get("id"), bool(view.get("cached")))


def _costs(config: BacktestConfig) -> dict[str, Any]:
    return {
        "cash": config.cash,
        "commission": config.commission,
        "slippage": config.slippage,
        "spread": config.spread,
        "mode": config.mode,
        "fill": config.fill,
        "close_at_end": config.close_at_end,
        "stop_loss": config.stop_loss,
        "take_profit": config.take_profit,
        "trailing_stop": config.trailing_stop,
    }


def _compact(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def _result(data: Mapping[str, Any]) -> BacktestResult:
    """A ``BacktestResult`` from the full result the server sends (``detail: full``)."""
    series = data["equity"]
    return _build_result(data, _times(series["timestamps"]), series["equity"], series["drawdown"], series["position"])


def _plain_result(data: Mapping[str, Any]) -> BacktestResult:
    """A ``BacktestResult`` from the JSON edge's plain form of one (arrays as lists, times as nanoseconds):
    what a comparison's rows carry."""
    import numpy as np

    stamps = np.array(data["timestamps"], dtype="int64").astype("datetime64[ns]")
    return _build_result(data, stamps, data["equity"], data["drawdown"], data["position"])


def _build_result(
    data: Mapping[str, Any], timestamps: np.ndarray, equity: Any, drawdown: Any, position: Any
) -> BacktestResult:
    import numpy as np

    from gpt_trader_core.backtesting.config import BacktestConfig
    from gpt_trader_core.domain.results import BacktestResult
    from gpt_trader_core.domain.trading import Position, Trade

    open_position = data.get("open_position")
    return BacktestResult(
        strategy=data["strategy"],
        params=dict(data["params"]),
        symbol=data["symbol"],
        timeframe=data["timeframe"],
        source=data["source"],
        synthetic=bool(data["synthetic"]),
        data_fingerprint=data["data_fingerprint"],
        config=structure(data["config"], BacktestConfig),
        stats={key: _stat(key, value) for key, value in data["stats"].items()},
        trades=tuple(structure(t, Trade) for t in data["trades"]),
        timestamps=timestamps,
        equity=np.array(equity, dtype=float),
        drawdown=np.array(drawdown, dtype=float),
        position=np.array(position, dtype=float),
        open_position=None if open_position is None else structure(open_position, Position),
        monthly_returns=_periods(data["monthly_returns"], "month"),
        yearly_returns=_periods(data["yearly_returns"], "year"),
        exit_reasons={k: dict(v) for k, v in data["exit_reasons"].items()},
        rejected_orders=int(data.get("rejected_orders", 0)),
    )


def _periods(items: Sequence[Any], key: str) -> tuple[tuple[str, float], ...]:
    """Monthly/yearly returns: ``{key, return_pct}`` objects (``detail: full``) or ``[period, return]`` pairs."""
    return tuple(
        (item[key], _nan(item["return_pct"])) if isinstance(item, Mapping) else (item[0], _nan(item[1]))
        for item in items
    )


def _stat(key: str, value: Any) -> Any:
    """A statistic as the engine computes it: ``start``/``end`` datetimes, ``*duration`` timedeltas (``None``
    when undefined), other undefined numbers NaN (the JSON edge writes both as ``null``)."""
    if key in ("start", "end"):
        return dt.datetime.fromisoformat(value)
    if key.endswith("duration"):
        return None if value is None else dt.timedelta(seconds=value)
    return math.nan if value is None else value


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


class RemoteMarketReads:
    """``MarketReads.bars`` on the server (``GET /api/v1/market/data/{symbol}``)."""

    def __init__(self, client: RemoteClient) -> None:
        self._client = client

    async def bars(
        self, symbol: str, start: dt.datetime | None, end: dt.datetime | None, timeframe: str | None
    ) -> Bars:
        query = {"start": _day(start, "from"), "end": _day(end, "to"), "timeframe": timeframe}
        view = await self._client.call("GET", f"/api/v1/market/data/{symbol}", query=query)
        from gpt_trader_core.domain.bars import Bars

        return Bars(
            timestamps=_times(view["timestamps"]),
            open=view["open"],
            high=view["high"],
            low=view["low"],
            close=view["close"],
            volume=view["volume"],
            symbol=view["symbol"],
            timeframe=view["timeframe"],
            source=view["source"],
            synthetic=bool(view["synthetic"]),
        )

    async def regime(
        self, symbol: str, start: dt.datetime | None, end: dt.datetime | None, timeframe: str, method: str
    ) -> RegimeAnalysis:
        """``MarketReads.regime``: the whole analysis (``GET /api/v1/market/regime/analysis``)."""
        query = {
            "symbol": symbol,
            "method": method,
            "start": _day(start, "from"),
            "end": _day(end, "to"),
            "timeframe": timeframe,
        }
        view = await self._client.call("GET", "/api/v1/market/regime/analysis", query=query)
        from gpt_trader_core.regime import RegimeAnalysis

        return structure(view["analysis"], RegimeAnalysis)


class RemoteCatalog:
    """``StrategyCatalog.list`` on the server (``GET /api/v1/strategies/list``)."""

    def __init__(self, client: RemoteClient) -> None:
        self._client = client

    async def list(self) -> tuple[StrategyInfo, ...]:
        data = await self._client.call("GET", "/api/v1/strategies/list")
        from gpt_trader_core.services.catalog import StrategyInfo

        return tuple(structure(item, StrategyInfo) for item in data["items"])


class RemotePortfolio:
    """``PortfolioView`` on the server (``/api/v1/portfolio/*``): the sessions the server runs."""

    def __init__(self, client: RemoteClient) -> None:
        self._client = client

    async def positions(self, session_id: str | None = None) -> builtins.list[SessionPositions]:
        data = await self._client.call("GET", "/api/v1/portfolio/positions", query={"session_id": session_id})
        from gpt_trader_core.domain.trading import Position
        from gpt_trader_core.services.portfolio_values import SessionPositions

        groups: dict[str, builtins.list[Position]] = {}
        for item in data["items"]:
            groups.setdefault(item["session_id"], []).append(structure(item, Position))
        if session_id is not None and not groups:
            groups[session_id] = []
        return [SessionPositions(sid, tuple(positions)) for sid, positions in groups.items()]

    async def performance(self, session_id: str, points: int = 200) -> PortfolioPerformance:
        data = await self._client.call("GET", "/api/v1/portfolio/performance", query={"session_id": session_id})
        from gpt_trader_core.services.portfolio_values import PortfolioPerformance

        return structure(data, PortfolioPerformance)

    async def risk(self, session_id: str) -> PortfolioRisk:
        data = await self._client.call("GET", "/api/v1/portfolio/risk", query={"session_id": session_id})
        from gpt_trader_core.services.portfolio_values import PortfolioRisk

        return structure(data, PortfolioRisk)

    async def rebalance(self, session_id: str, target_weights: Mapping[str, float], *, execute: bool) -> Rebalance:
        from gpt_trader_core.portfolio.adaptive import RebalancePlan
        from gpt_trader_core.services.portfolio_view import Rebalance

        body = {"session_id": session_id, "target_weights": dict(target_weights), "execute": execute}
        data = await self._client.call("POST", "/api/v1/portfolio/rebalance", body=body)
        return Rebalance(data["session_id"], bool(data["executed"]), structure(data["plan"], RebalancePlan))


class RemoteMonitoring:
    """``Monitoring.status`` on the server (``GET /api/v1/system/metrics``): its components, executions,
    machine and firing alerts."""

    def __init__(self, client: RemoteClient) -> None:
        self._client = client

    async def status(self) -> MonitoringSnapshot:
        data = dict(await self._client.call("GET", "/api/v1/system/metrics"))
        data.pop("metrics", None)  # the raw metric families: not part of the snapshot value
        from gpt_trader_core.services.monitoring import MonitoringSnapshot

        return structure(data, MonitoringSnapshot)


class RemoteWorkflows:
    """``Workflows`` on the server (``/api/v1/workflows/*``). The server runs the execution; ``events`` and
    ``wait`` follow it on the server's WebSocket channel ``workflow:EXECUTION_ID`` (``ExecutionFollow``),
    or by polling its status when that stream cannot be had."""

    def __init__(self, client: RemoteClient, poll_interval: float = POLL_INTERVAL_S) -> None:
        self._client = client
        self._poll = poll_interval
        self._running: set[str] = set()
        self._follows: dict[str, ExecutionFollow] = {}

    async def catalogue(self) -> builtins.list[dict[str, Any]]:
        data = await self._client.call("GET", "/api/v1/workflows/list")
        return [dict(item["definition"]) for item in data["items"]]

    async def prepare(self, name: str, params: Mapping[str, Any] | None = None) -> Execution:
        """Start ``name`` on the server (it runs there; ``run_prepared`` waits for it)."""
        body = {"params": dict(params or {})}
        return self._execution(await self._client.call("POST", f"/api/v1/workflows/execute/{name}", body=body))

    async def run_prepared(self, execution_id: str, name: str | None = None) -> Execution:
        """Wait for the server's execution to finish; a cancellation here (Ctrl-C) cancels it there."""
        self._running.add(execution_id)  # until it finishes: ``shutdown`` cancels it on the server
        execution = await self.wait(execution_id)
        self._running.discard(execution_id)
        return execution

    async def wait(self, execution_id: str, timeout: float | None = None) -> Execution:
        """The execution once finished (as its status says then), or as it stands after ``timeout`` s."""
        follow = self._follow(execution_id)
        try:
            return await asyncio.wait_for(asyncio.shield(follow.finished), timeout)
        except TimeoutError:
            return await self.status(execution_id)

    async def status(self, execution_id: str) -> Execution:
        return self._execution(await self._client.call("GET", f"/api/v1/workflows/status/{execution_id}"))

    async def cancel(self, execution_id: str, *, timeout: float = 5.0) -> Execution:
        return self._execution(await self._client.call("DELETE", f"/api/v1/workflows/cancel/{execution_id}"))

    async def list(self, limit: int = 50, status: ExecutionStatus | str | None = None) -> builtins.list[Execution]:
        value = getattr(status, "value", status)
        data = await self._client.call("GET", "/api/v1/workflows/executions", query={"limit": limit, "status": value})
        return [self._execution(item) for item in data["items"]]

    def events(self, execution_id: str | None = None) -> FollowedEvents:
        if execution_id is None:
            raise InvalidParameterError("following every execution needs an execution id with --remote")
        return self._follow(execution_id).subscribe()

    def _follow(self, execution_id: str) -> ExecutionFollow:
        follow = self._follows.get(execution_id)
        if follow is None:
            follow = self._follows[execution_id] = ExecutionFollow(self, self._client, execution_id, self._poll)
        return follow

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel on the server what this command was waiting for (Ctrl-C, SIGTERM); stop following."""
        for execution_id in list(self._running):
            try:
                await self.cancel(execution_id, timeout=timeout)
            except (ConflictError, NotFoundError):
                pass  # it finished meanwhile (409) or is gone (404): nothing left to cancel
            except RemoteError as error:  # unreachable now: say so, the interruption goes on
                log.warning("could not cancel %s on %s: %s", execution_id, self._client.url, error)
            self._running.discard(execution_id)
        for follow in self._follows.values():
            await follow.close()

    @staticmethod
    def _execution(data: Any) -> Execution:
        from gpt_trader_core.domain.records import Execution

        return structure(data, Execution)


#: The events that end an execution's stream (the workflow engine's last event).
FINAL_EVENTS = frozenset({"execution_finished", "execution_failed", "execution_cancelled"})
#: A step's states in the order they happen (a status read later never takes a step back).
_STEP_ORDER = {"pending": 0, "running": 1, "succeeded": 2, "failed": 2, "skipped": 2, "cancelled": 2}
#: Seconds without a stream message after which the status is read (the truth, should the stream stall).
QUIET_CHECK_S = 5.0


class StepTracker:
    """What a follower has told about one execution (started, each step's state), so that the events a
    status read shows and the stream did not are derived once, and never twice."""

    def __init__(self, execution_id: str) -> None:
        self.topic = f"execution:{execution_id}"
        self.started = False
        self.seen: dict[str, str] = {}

    def observe(self, event: Event) -> None:
        """An event the stream delivered."""
        if event.type == "execution_started" or event.type.startswith("step_"):
            self.started = True
        step = event.data.get("step")
        state = {"step_started": "running", "step_finished": "succeeded", "step_failed": "failed"}.get(event.type)
        state = state or {"step_skipped": "skipped"}.get(event.type)
        if step and state:
            self.seen[str(step)] = state

    def changes(self, execution: Execution) -> builtins.list[Event]:
        """The events of what ``execution`` (a status read) shows beyond what was told already."""
        from gpt_trader_core.domain.records import Event, ExecutionStatus

        events: builtins.list[Event] = []
        if not self.started and execution.status is not ExecutionStatus.PENDING:
            self.started = True
            data = {"workflow": execution.name, "execution_id": execution.id}
            events.append(Event(self.topic, "execution_started", data, execution.started_at or execution.created_at))
        for step in (execution.result or {}).get("steps") or ():
            name, state = step.get("name"), step.get("status")
            previous = self.seen.get(name)
            if not name or state == previous or _STEP_ORDER.get(state, 0) <= _STEP_ORDER.get(previous or "", -1):
                continue
            self.seen[name] = state
            kind = {
                "running": "step_started",
                "succeeded": "step_finished",
                "failed": "step_failed",
                "skipped": "step_skipped",
            }.get(state or "")
            if kind is None:
                continue
            if kind in ("step_finished", "step_failed") and previous != "running":  # started since the last read
                events.append(Event(self.topic, "step_started", {"step": name}, _when(step.get("started_at"))))
            at = step.get("finished_at") if kind != "step_started" else step.get("started_at")
            events.append(
                Event(self.topic, kind, {"step": name, **{k: step.get(k) for k in ("duration_s", "error")}}, _when(at))
            )
        return events


class ExecutionFollow:
    """One execution of the server followed to its end: its events to every ``subscribe``-r, in order and
    each once, and ``finished`` (the execution as its status reads at the end).

    The status is read first (an execution that has finished already is told from it), then the
    WebSocket channel ``workflow:ID`` is followed from its first message (resuming after a dropped
    connection); when its last event arrives the status is read again and anything it shows that the
    stream did not is told before that last event. Without a usable stream (refused, or gone for good)
    it says so once on standard error and polls the status instead, carrying on from what was told."""

    def __init__(self, workflows: RemoteWorkflows, client: RemoteClient, execution_id: str, poll: float) -> None:
        self._workflows = workflows
        self._client = client
        self.id = execution_id
        self._poll = poll
        self.tracker = StepTracker(execution_id)
        self._subscribers: builtins.list[FollowedEvents] = []
        self.finished: asyncio.Future[Execution] = asyncio.get_running_loop().create_future()
        self.polled = False
        self.stream: Any = None
        self._task = asyncio.create_task(self._run(), name=f"remote-follow-{execution_id}")

    def subscribe(self) -> FollowedEvents:
        subscription = FollowedEvents(self)
        self._subscribers.append(subscription)
        if self.finished.done():
            subscription.end()
        return subscription

    def _tell(self, events: Sequence[Event]) -> None:
        for event in events:
            for subscriber in self._subscribers:
                subscriber.put(event)

    async def _run(self) -> None:
        try:
            execution = await self._workflows.status(self.id)
            if not execution.status.finished:
                execution = await self._follow_stream()
            else:
                self._tell(self.tracker.changes(execution))
            self.finished.set_result(execution)
        except asyncio.CancelledError:
            self.finished.cancel()
            raise
        except BaseException as exc:  # the caller of ``wait`` gets it (unreachable server, …)
            self.finished.set_exception(exc)
        finally:
            for subscriber in self._subscribers:
                subscriber.end()

    async def _follow_stream(self) -> Execution:
        from adapters.remote.follow import ChannelStream, StreamUnavailableError, when
        from gpt_trader_core.domain.records import Event

        self.stream = stream = ChannelStream(self._client, f"workflow:{self.id}")
        try:
            while True:
                message = await stream.get(QUIET_CHECK_S)
                if message is None:  # a quiet stream: the status says whether it ended meanwhile
                    execution = await self._workflows.status(self.id)
                    if execution.status.finished:
                        self._tell(self.tracker.changes(execution))
                        return execution
                    continue
                kind, data, topic = str(message["type"]), dict(message.get("data") or {}), self.tracker.topic
                stamp, seq = when(message), int(message["seq"])
                event = Event(topic, kind, data, stamp, seq) if stamp else Event(topic, kind, data, seq=seq)
                if kind in FINAL_EVENTS:  # the end: what the stored execution shows and the stream did not, first
                    execution = await self._workflows.status(self.id)
                    self._tell(self.tracker.changes(execution))
                    self._tell([event])
                    if execution.status.finished:
                        return execution
                    break  # announced before it was stored (it never is): the status is polled until it is
                self.tracker.observe(event)
                self._tell([event])
        except StreamUnavailableError as unavailable:
            log.warning("%s; following execution %s by polling its status instead", unavailable, self.id)
            self.polled = True
        finally:
            await stream.close()
        while True:
            execution = await self._workflows.status(self.id)
            self._tell(self.tracker.changes(execution))
            if execution.status.finished:
                return execution
            await asyncio.sleep(self._poll)

    async def close(self) -> None:
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class FollowedEvents:
    """The ``Subscription`` of one remote execution (see ``ExecutionFollow``): it ends when the execution
    has been followed to its end, or at ``close``."""

    dropped = 0

    def __init__(self, follow: ExecutionFollow) -> None:
        self.follow = follow
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()

    def put(self, event: Event) -> None:
        self._queue.put_nowait(event)

    def end(self) -> None:
        self._queue.put_nowait(None)

    def __aiter__(self) -> FollowedEvents:
        return self

    async def __anext__(self) -> Event:
        event = await self._queue.get()
        if event is None:
            self._queue.put_nowait(None)
            raise StopAsyncIteration
        return event

    async def get(self, timeout: float | None = None) -> Event | None:
        try:
            event = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if event is None:
            self._queue.put_nowait(None)
        return event

    async def close(self) -> None:
        """No more events after those already told (the follow goes on for ``wait``)."""
        self.end()


def _when(value: Any) -> dt.datetime:
    from gpt_trader_core.domain.records import utcnow

    if value is None:
        return utcnow()
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=None)


class RemoteSessions:
    """``TradingSessions.list`` on the server (``GET /api/v1/sessions``): the sessions it runs or ran.
    The records come back without ``owner`` (which process of the server runs a session is its own affair)."""

    def __init__(self, client: RemoteClient, poll_interval: float = 0.5) -> None:
        self._client = client
        self._poll = poll_interval
        self.stream: Any = None  # the last session's ``ChannelStream`` (tests read it) …
        self.polled = False  # … and whether it was followed by polling instead

    async def list(self, *, status: Any = None, limit: int = 50) -> builtins.list[Any]:
        from gpt_trader_core.domain.records import SessionRecord

        value = getattr(status, "value", status)
        data = await self._client.call("GET", "/api/v1/sessions", query={"limit": limit, "status": value})
        return [structure(item, SessionRecord) for item in data["items"]]

    async def run(self, request: Any, stop: asyncio.Event | None = None) -> Any:
        """``TradingSessions.run`` on the server: start the session (``POST /api/v1/sessions``) and wait
        while it trades there; ``stop`` (Ctrl-C, SIGTERM) stops it there after its current bar. The server
        trades with its own costs (its ``backtest`` settings): a request for others is refused."""
        from gpt_trader_core.backtesting.config import BacktestConfig
        from gpt_trader_core.domain.records import SessionRecord

        config, defaults = request.config, BacktestConfig()
        if config is not None and (config.commission, config.slippage) != (defaults.commission, defaults.slippage):
            raise InvalidParameterError(
                f"{self._client.url} trades with its own costs: drop --commission (and backtest.commission/"
                "slippage settings) with --remote"
            )
        feed = {
            k: v.isoformat() if isinstance(v, dt.datetime) else v
            for k, v in attrs.asdict(request.feed, recurse=False).items()
            if k in ("kind", "timeframe", "speed", "start", "end", "seed", "warmup", "stop_after") and v is not None
        }
        body = {
            "strategy": request.strategy,
            "symbols": list(request.symbols),
            "params": dict(request.params),
            "capital": request.capital,
            "mode": request.mode,
            "feed": feed,
            "risk": None if request.risk is None else attrs.asdict(request.risk),
            "tier_aware": request.tier_aware,
        }
        record = structure(await self._client.call("POST", "/api/v1/sessions", body=_compact(body)), SessionRecord)
        return await self._follow(record, stop)

    async def resume(
        self, session_id: str, stop: asyncio.Event | None = None, *, speed: float | None = None, bars: int | None = None
    ) -> Any:
        """``TradingSessions.resume`` on the server (``POST /api/v1/sessions/{id}/resume``): it continues the
        stored session there, on the data it started on, and this waits while it trades, as ``run``."""
        from gpt_trader_core.domain.records import SessionRecord

        path = f"/api/v1/sessions/{_segment(session_id)}/resume"
        record = structure(
            await self._client.call("POST", path, body=_compact({"speed": speed, "bars": bars})), SessionRecord
        )
        return await self._follow(record, stop)

    async def _follow(self, record: Any, stop: asyncio.Event | None) -> Any:
        """Wait while the server's session ``record`` trades, until it ends there (the record as its
        status then reads); ``stop`` (Ctrl-C, SIGTERM) or a cancellation stops it there.

        The end comes from the server's WebSocket channel ``system:events``, where a session's start and
        end are published (through its outbox, once stored): subscribed from its next message first, then
        the status read (a session that ended meanwhile is told from it), then the status read again at each
        lifecycle message of this session — and ``QUIET_CHECK_S`` after the last read without one (the
        stream is not trusted to end it). Without a usable stream it says so once on standard error and
        polls the status instead."""
        stop = stop or asyncio.Event()
        stopping = asyncio.ensure_future(stop.wait())
        try:
            ended = await self._until_end(record, stopping)
        except _StopRequestedError:
            return await self.stop(record.id)
        except asyncio.CancelledError:
            await self.stop(record.id)
            raise
        finally:
            stopping.cancel()
        return ended

    async def _until_end(self, record: Any, stopping: asyncio.Future[Any]) -> Any:
        from adapters.remote.follow import ChannelStream, StreamUnavailableError

        self.polled = False
        self.stream = stream = ChannelStream(self._client, SESSION_CHANNEL, last_seq=None)
        try:
            clock = asyncio.get_running_loop().time
            if record.status.value == "running":
                await _unless(stopping, stream.open())
                record = await self._record(record.id)  # the truth at the start: it may have ended meanwhile
            read = clock()
            while record.status.value == "running":
                message = await _unless(stopping, stream.get(max(0.0, read + QUIET_CHECK_S - clock())))
                mine = message is not None and _lifecycle_of(message, record.id)
                if message is not None and not mine and clock() < read + QUIET_CHECK_S:
                    continue  # another session's, or an alert (the channel is shared)
                record = await self._record(record.id)  # this session started or ended, or quiet: the truth
                read = clock()
                if mine and record.status.value == "running" and _is_end(message or {}):
                    break  # announced before it was stored (it never is): the status is polled until it is
        except StreamUnavailableError as unavailable:
            log.warning("%s; following session %s by polling its status instead", unavailable, record.id)
            self.polled = True
        finally:
            await stream.close()
        while record.status.value == "running":
            await _unless(stopping, asyncio.sleep(self._poll))
            record = await self._record(record.id)
        return record

    async def _record(self, session_id: str) -> Any:
        from gpt_trader_core.domain.records import SessionRecord

        view = await self._client.call("GET", f"/api/v1/sessions/{_segment(session_id)}")
        return structure(view["session"], SessionRecord)

    async def status(self, session_id: str, *, recent_fills: int = 20) -> SessionReport:
        """``GET /api/v1/sessions/{id}``: the session, its positions, recent fills and performance. The
        per-bar equity and every fill (what a chart draws) are not in that answer: the report has none."""
        data = await self._client.call("GET", f"/api/v1/sessions/{_segment(session_id)}")
        from gpt_trader_core.domain.records import SessionRecord
        from gpt_trader_core.domain.trading import Fill, Position
        from gpt_trader_core.services.sessions import SessionReport

        return SessionReport(
            session=structure(data["session"], SessionRecord),
            positions=tuple(structure(p, Position) for p in data["positions"]),
            fills=tuple(structure(f, Fill) for f in data["recent_fills"]),
            orders=int(data["orders"]),
            performance=dict(data["performance"]),
            running=bool(data["running"]),
        )

    async def stop(self, session_id: str, timeout: float = 10.0) -> Any:
        """``POST /api/v1/sessions/{id}/stop``: the server stops it after its current bar."""
        from gpt_trader_core.domain.records import SessionRecord

        data = await self._client.call("POST", f"/api/v1/sessions/{_segment(session_id)}/stop", body={})
        return structure(data, SessionRecord)


#: The WebSocket channel of the sessions' lifecycle: message type ``session`` (started, finished, stopped,
#: failed: the catalogue's ``session_*`` events, named by the message's ``state``).
SESSION_CHANNEL = "system:events"


class _StopRequestedError(Exception):
    """``stop`` was set while waiting (``RemoteSessions._follow`` then stops the session on the server)."""


async def _unless(stopping: asyncio.Future[Any], awaitable: Any) -> Any:
    """``awaitable``'s result, unless ``stopping`` completes first: then ``awaitable`` is cancelled and
    ``_StopRequestedError`` raised."""
    task = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if stopping.done():
        task.cancel()
        await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # what it was doing no longer matters (the session is being stopped): retrieved
        raise _StopRequestedError
    return task.result()


def _lifecycle_of(message: Mapping[str, Any], session_id: str) -> bool:
    return message.get("type") == "session" and (message.get("data") or {}).get("session_id") == session_id


def _is_end(message: Mapping[str, Any]) -> bool:
    data = message.get("data") or {}
    if "state" in data:
        return data["state"] != "started"
    return data.get("resume_at") is None  # a server from before messages named their state


def _segment(value: str) -> str:
    """One path segment: an id typed by a person may hold anything, which must not change the route."""
    from urllib.parse import quote

    return quote(value, safe="")


class RemoteStudies:
    """The optimiser's stored studies on the server (``/api/v1/studies``): ``Optimizer.list_studies``,
    ``get_study`` and ``delete_study``. Running a study stays a local command (``gpt-trader optimize``)."""

    def __init__(self, client: RemoteClient) -> None:
        self._client = client

    async def list_studies(self, *, limit: int = 50) -> builtins.list[Any]:
        from gpt_trader_core.domain.records import StudyRecord

        data = await self._client.call("GET", "/api/v1/studies", query={"limit": limit})
        return [structure(item, StudyRecord) for item in data["items"]]

    async def get_study(self, study_id: str) -> tuple[Any, builtins.list[Any]]:
        from gpt_trader_core.domain.records import StudyRecord, TrialRecord

        data = await self._client.call("GET", f"/api/v1/studies/{_segment(study_id)}")
        return structure(data["study"], StudyRecord), [structure(t, TrialRecord) for t in data["trials"]]

    async def delete_study(self, study_id: str) -> None:
        await self._client.call("DELETE", f"/api/v1/studies/{_segment(study_id)}")
