"""``Optimizer`` on a gpt-trader server: ``gpt-trader optimize --remote URL``.

``run`` starts the study as the server's background job (``POST /api/v1/strategies/optimize``), follows
its progress on the server's WebSocket channel ``optimize:ID`` (its status, ``GET
/api/v1/strategies/optimize/{id}``, read at the end — or polled when the stream is unavailable), cancels
it there when this command is interrupted (``DELETE``), and rebuilds the ``OptimizationResult`` from the
stored study and every one of its trials (``GET /api/v1/studies/{id}``) — ranked as the optimiser ranks
them — so the command prints exactly what it prints for a local study. The stored studies (list, show,
delete) are ``RemoteStudies``'.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from adapters.remote.client import RemoteClient
from adapters.remote.errors import RemoteError
from adapters.remote.services import POLL_INTERVAL_S, QUIET_CHECK_S, RemoteStudies, _compact, _costs, _day, _segment
from gpt_trader_core.errors import CancelledError, ConflictError, InvalidParameterError, NotFoundError

if TYPE_CHECKING:
    from gpt_trader_core.optimization.runner import CancelToken, OptimizationResult, Progress
    from gpt_trader_core.services.optimization import OptimizeRequest

_PROGRESS = re.compile(r"^(\d+)/(\d+) trials")
_FINAL = frozenset({"job_succeeded", "job_failed", "job_cancelled"})
_FINISHED = frozenset({"succeeded", "failed", "cancelled"})
#: Seconds between two looks at the cancel token (set by Ctrl-C) while the stream is quiet.
_CANCEL_CHECK_S = 0.1

log = logging.getLogger("gpt_trader.remote")


class RemoteStudyCancelledError(CancelledError):
    """The server's study stopped because this command was interrupted; ``study_id`` is the server's id
    (what ``--resume`` takes there), not one this machine made up."""

    def __init__(self, message: str, study_id: str) -> None:
        super().__init__(message)
        self.study_id = study_id


class RemoteOptimizer(RemoteStudies):
    """``Optimizer.run`` as a background study on the server, plus the stored studies."""

    def __init__(self, client: RemoteClient, poll_interval: float = POLL_INTERVAL_S) -> None:
        super().__init__(client)
        self._poll = poll_interval
        #: The last study's stream (``ChannelStream``) and whether it was followed by polling instead.
        self.stream: Any = None
        self.polled = False

    async def run(
        self,
        request: OptimizeRequest,
        *,
        progress: Callable[[Progress], None] | None = None,
        cancel: CancelToken | None = None,
        study_id: str | None = None,
    ) -> OptimizationResult:
        """The server names the study (its id is the job's); ``study_id`` is a local choice it cannot take."""
        body = {
            "symbol": request.symbol,
            "strategy": request.strategy,
            "space": dict(request.space),
            "start": _day(request.start, "from"),
            "end": _day(request.end, "to"),
            "timeframe": request.timeframe,
            "objective": request.objective,
            "maximize": request.maximize,
            "method": request.method,
            "n_trials": request.n_trials,
            "seed": request.seed,
            "costs": _costs(request.config),
        }
        started = await self._client.call("POST", "/api/v1/strategies/optimize", body=_compact(body))
        execution_id = str(started["id"])
        try:
            view = await self._follow(execution_id, progress, cancel)
        except (asyncio.CancelledError, KeyboardInterrupt):
            await self._cancel(execution_id)
            raise
        status = view["status"]
        if status == "cancelled":
            raise RemoteStudyCancelledError(
                f"study {execution_id} was cancelled on {self._client.url} after {_done(view)} trials; "
                "its finished trials are kept there",
                execution_id,
            )
        if status != "succeeded":
            error = str(view.get("error") or "no reason given")
            kind, _, why = error.partition(": ")
            if kind in ("InvalidParameterError", "InvalidDataError", "NotFoundError"):
                raise InvalidParameterError(why or error)  # bad input found once the study ran: exit 1
            raise RemoteError(f"study {execution_id} failed on {self._client.url}: {error}")
        return await self._result(execution_id, view["result"])

    async def resume(self, study_id: str, **_: Any) -> OptimizationResult:
        raise InvalidParameterError(
            f"--resume continues a study on this machine; {self._client.url} has no resume: drop --remote, "
            "or start a new study there"
        )

    async def walk_forward(self, request: OptimizeRequest, **_: Any) -> Any:
        raise InvalidParameterError(
            f"--method walk-forward runs on this machine only ({self._client.url} optimises grid, random or "
            "bayes): drop --remote"
        )

    async def _follow(
        self, execution_id: str, progress: Callable[[Progress], None] | None, cancel: CancelToken | None
    ) -> Mapping[str, Any]:
        """Follow the study's job to its end on the server's WebSocket channel ``optimize:ID`` (from its
        first message, resuming after a dropped connection), telling ``progress`` how far it got; a set
        ``cancel`` (Ctrl-C) cancels it on the server. The job's status read at the end is what comes back
        (read too after a quiet while: the stream is not trusted to end it). Without a usable stream it says
        so once on standard error and polls the status instead."""
        from adapters.remote.follow import ChannelStream, StreamUnavailableError

        follow = _StudyFollow(self, execution_id, progress, cancel, asyncio.get_running_loop().time())
        self.stream = stream = ChannelStream(self._client, f"optimize:{execution_id}")
        try:
            quiet = 0.0
            while True:
                await follow.check_cancel()
                message = await stream.get(_CANCEL_CHECK_S)
                if message is None:
                    quiet += _CANCEL_CHECK_S
                    if quiet >= QUIET_CHECK_S:  # nothing for a while: does the status say it ended?
                        quiet = 0.0
                        view = await follow.status()
                        if view["status"] in _FINISHED:
                            return view
                    continue
                quiet = 0.0
                kind, data = str(message.get("type")), message.get("data") or {}
                if kind == "job_progressed":
                    follow.tell(data)
                elif kind in _FINAL:
                    view = await follow.status()
                    if view["status"] in _FINISHED:  # stored before it was announced: always so
                        return view
        except StreamUnavailableError as unavailable:
            log.warning("%s; following study %s by polling its status instead", unavailable, execution_id)
            self.polled = True
        finally:
            await stream.close()
        while True:
            view = await follow.status()
            if view["status"] in _FINISHED:
                return view
            match = _PROGRESS.match(str(view.get("message") or ""))
            if match:
                follow.tell({"done": int(match[1]), "total": int(match[2])})
            if await follow.check_cancel():
                continue  # its final state (cancelled, or finished meanwhile) on the next read
            await asyncio.sleep(self._poll)

    async def _cancel(self, execution_id: str) -> None:
        with contextlib.suppress(ConflictError, NotFoundError):  # it finished meanwhile: nothing to cancel
            await self._client.call("DELETE", f"/api/v1/strategies/optimize/{_segment(execution_id)}")

    async def _result(self, study_id: str, summary: Mapping[str, Any]) -> OptimizationResult:
        """The study as the optimiser returns it: trials ranked best first (ties: earlier first), at most
        ``KEEP_TRIALS`` of them kept (the rest counted as ``dropped``)."""
        from gpt_trader_core.optimization.objective import Objective
        from gpt_trader_core.optimization.runner import KEEP_TRIALS, OptimizationResult, Trial
        from gpt_trader_core.optimization.space import SearchSpace
        from gpt_trader_core.strategy import REGISTRY

        study, records = await self.get_study(study_id)
        objective = Objective.of(study.objective, study.maximize)
        strategy = REGISTRY.get_spec(study.strategy).cls
        space = SearchSpace.build(strategy, {**study.space, **study.fixed})
        trials = [Trial(t.number, t.params, t.stats, t.value) for t in records]
        trials.sort(key=lambda t: (-objective.rank_key(t.value), t.number))
        kept = trials[:KEEP_TRIALS]
        return OptimizationResult(
            study.strategy,
            study.symbol,
            bool(summary["synthetic"]),
            objective,
            study.method,
            space,
            tuple(kept),
            study.total,
            float(summary["elapsed_s"]),
            study.id,
            int(summary.get("resumed") or 0),
            tuple(summary.get("notes") or ()),
            len(trials) - len(kept),
        )


class _StudyFollow:
    """What following one study keeps: the progress callback and when it began, whether a cancel was
    asked for on the server already."""

    def __init__(
        self,
        optimizer: RemoteOptimizer,
        execution_id: str,
        progress: Callable[[Progress], None] | None,
        cancel: CancelToken | None,
        began: float,
    ) -> None:
        self._optimizer = optimizer
        self._id = execution_id
        self._progress = progress
        self._cancel = cancel
        self._began = began
        self.asked_to_cancel = False

    async def status(self) -> dict[str, Any]:
        return dict(await self._optimizer._client.call("GET", f"/api/v1/strategies/optimize/{_segment(self._id)}"))

    async def check_cancel(self) -> bool:
        """Cancel the study on the server once ``cancel`` is set; True when that happened now."""
        if self._cancel is None or not self._cancel.cancelled or self.asked_to_cancel:
            return False
        self.asked_to_cancel = True
        await self._optimizer._cancel(self._id)
        return True

    def tell(self, data: Mapping[str, Any]) -> None:
        """A ``job_progressed`` message's data (or the done/total a status shows) to the progress callback."""
        from gpt_trader_core.optimization.runner import Progress

        if self._progress is None or data.get("total") is None:
            return
        params = data.get("best_params")
        value = data.get("best_value") if params is not None else None  # a value alone is not shown
        elapsed = asyncio.get_running_loop().time() - self._began
        eta = data.get("eta_s")
        self._progress(
            Progress(int(data["done"]), int(data["total"]), value, params, elapsed, None if eta is None else float(eta))
        )


def _done(view: Mapping[str, Any]) -> str:
    match = _PROGRESS.match(str(view.get("message") or ""))
    return match[1] if match else "its finished"  # reads "after its finished trials"
