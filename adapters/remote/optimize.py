"""``Optimizer`` on a gpt-trader server: ``gpt-trader optimize --remote URL``.

``run`` starts the study as the server's background job (``POST /api/v1/strategies/optimize``), follows
its progress (``GET /api/v1/strategies/optimize/{id}``), cancels it there when this command is
interrupted (``DELETE``), and rebuilds the ``OptimizationResult`` from the stored study and every one of
its trials (``GET /api/v1/studies/{id}``) — ranked as the optimiser ranks them — so the command prints
exactly what it prints for a local study. The stored studies (list, show, delete) are ``RemoteStudies``'.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from adapters.remote.client import RemoteClient
from adapters.remote.errors import RemoteError
from adapters.remote.services import POLL_INTERVAL_S, RemoteStudies, _compact, _costs, _day, _segment
from gpt_trader_core.errors import CancelledError, ConflictError, InvalidParameterError, NotFoundError

if TYPE_CHECKING:
    from gpt_trader_core.optimization.runner import CancelToken, OptimizationResult, Progress
    from gpt_trader_core.services.optimization import OptimizeRequest

_PROGRESS = re.compile(r"^(\d+)/(\d+) trials")


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
        """Poll the study's job until it finishes, telling ``progress`` how far it got; a set ``cancel``
        (Ctrl-C) cancels it on the server, and the job's final state is what comes back."""
        from gpt_trader_core.optimization.runner import Progress

        loop = asyncio.get_running_loop()
        began = loop.time()
        asked_to_cancel = False
        while True:
            view = await self._client.call("GET", f"/api/v1/strategies/optimize/{_segment(execution_id)}")
            if view["status"] in ("succeeded", "failed", "cancelled"):
                return dict(view)
            match = _PROGRESS.match(str(view.get("message") or ""))
            if progress is not None and match:
                progress(Progress(int(match[1]), int(match[2]), None, None, loop.time() - began, None))
            if cancel is not None and cancel.cancelled and not asked_to_cancel:
                asked_to_cancel = True
                await self._cancel(execution_id)
                continue  # its final state (cancelled, or finished meanwhile) on the next poll
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


def _done(view: Mapping[str, Any]) -> str:
    match = _PROGRESS.match(str(view.get("message") or ""))
    return match[1] if match else "its finished"  # reads "after its finished trials"
