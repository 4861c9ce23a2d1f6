"""The trading workflows: ``risk_managed_live_trading`` and ``adaptive_strategy_selection``.

``risk_managed_live_trading``: pre-trade checks → a paper (or, once a live broker exists, live)
session guarded by daily-loss and drawdown limits whose breach triggers the engine's emergency stop
(flatten, stop) → post-session reconciliation (the account rebuilt from the stored orders and fills
must equal the stored session).

Pre-trade checks: the mode is tradable (live is refused until a live broker adapter exists), the
strategy is allowed in the capital's tier, the risk limits are valid, and the market is not in a
``crisis`` regime (unless ``allow_crisis``).

``adaptive_strategy_selection``: data → regime → score the built-in strategies on the recent
``lookback`` bars (Sharpe ratio of a backtest, plus a bonus of 0.25 for the strategies the regime
heuristic ranks in its top two) → select the best one allowed in the capital's tier → allocate: the
session gets the whole capital with risk limits from the tier's budgets (daily budget → daily-loss
limit, quarterly budget → drawdown limit, the tier's position count) → start a paper session.

Both trade ``bars`` bars of the feed and then stop the session (stopped sessions resume with
``gpt-trader run --resume``); ``bars=0`` leaves the session running (in a server process).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.specs import FeedSpec, RiskSpec
from gpt_trader_core.errors import ConflictError, InvalidParameterError
from gpt_trader_core.services.sessions import SessionRequest, TradingSessions
from gpt_trader_core.strategy.base import Param
from gpt_trader_core.strategy.registry import StrategyRegistry
from gpt_trader_core.workflows.common import DATA_PARAMS, WorkflowServices, data_step, parse_assignments
from gpt_trader_core.workflows.definition import Step, WorkflowContext, WorkflowDefinition

FEED_PARAMS: tuple[Param, ...] = (
    Param(
        "feed",
        str,
        "replay",
        description="replay (history at full speed) or synthetic (live synthetic bars)",
        choices=("replay", "synthetic"),
    ),
    Param("bars", int, 250, 0, 1_000_000, "Bars to trade before stopping the session (0: leave it running)"),
)


def _feed(values: Mapping[str, Any]) -> FeedSpec:
    """Replay as fast as possible, or synthetic 1m bars at 1,200× real time (20 a second)."""
    stop_after = values["bars"] or None
    if values["feed"] == "replay":
        return FeedSpec("replay", speed=0.0, stop_after=stop_after)
    return FeedSpec("synthetic", speed=1200.0, stop_after=stop_after)


async def trade(sessions: TradingSessions, request: SessionRequest, bars: int, ctx: WorkflowContext) -> dict[str, Any]:
    """Start a session, follow its events until ``bars`` bars are done (or it ends, or the workflow is
    cancelled), stop it, and return its report. The session's owner is the execution's (``before_start``)."""
    record = await sessions.start(request, before_start=ctx.before_start)
    events = sessions.subscribe(record.id)
    alerts: list[dict[str, Any]] = []
    try:
        while bars:
            if ctx.cancel.cancelled:
                break
            event = await events.get(0.2)
            if event is None:
                if record.id not in sessions.running():
                    break
                continue
            if event.type == "risk_alert":
                alerts.append(dict(event.data))
            if event.type in ("session_finished", "session_stopped", "session_failed"):
                break
    finally:
        await events.close()
    if bars:
        await sessions.stop(record.id)  # already stopped after its bars, unless cancelled
    report = await sessions.status(record.id)
    return {
        "session_id": record.id,
        "status": report.session.status.value,
        "running": report.running,
        "bars": report.session.last_bar + 1,
        "equity": report.session.equity,
        "error": report.session.error,
        "performance": dict(report.performance),
        "risk_alerts": alerts,
    }


def risk_managed_live_trading(services: WorkflowServices, sessions: TradingSessions) -> WorkflowDefinition:
    name = "risk_managed_live_trading"

    def request(values: Mapping[str, Any]) -> SessionRequest:
        params = parse_assignments(name, "strategy_params", values["strategy_params"])
        risk = RiskSpec(max_drawdown_pct=values["max_drawdown_pct"], max_daily_loss_pct=values["max_daily_loss_pct"])
        return SessionRequest(
            values["strategy"], (values["symbol"],), params, values["capital"], values["mode"], _feed(values), risk=risk
        )

    def check(values: Mapping[str, Any]) -> None:
        if values["mode"] == "live":
            raise ConflictError(f"{name}: live trading needs a live broker adapter, and none is configured")
        sessions.validate(request(values))

    async def pre_trade(ctx: WorkflowContext) -> dict[str, Any]:
        from gpt_trader_core.portfolio import classify_tier  # (step code is imported when a step runs)
        from gpt_trader_core.regime import detect_regime

        req = request(ctx.params)
        sessions.validate(req)
        regime = detect_regime(ctx["data"])
        if regime.current == "crisis" and not ctx.params["allow_crisis"]:
            raise ConflictError(
                f"{name}: {ctx.params['symbol']} is in a crisis regime (confidence {regime.confidence:.2f}); "
                "not starting a session — pass allow_crisis=true to override"
            )
        tier = classify_tier(ctx.params["capital"]).tier
        return {
            "regime": regime.current,
            "tier": tier.name,
            "strategy_allowed": True,
            "risk_limits": attrs.asdict(req.risk) if req.risk else {},
        }

    async def session(ctx: WorkflowContext) -> dict[str, Any]:
        return await trade(sessions, request(ctx.params), ctx.params["bars"], ctx)

    async def reconcile(ctx: WorkflowContext) -> dict[str, Any]:
        result = await sessions.reconcile(ctx["session"]["session_id"])
        if not result.ok:
            raise ConflictError(f"{name}: reconciliation failed: {'; '.join(result.problems)}")
        return {
            "ok": result.ok,
            "orders": result.orders,
            "fills": result.fills,
            "open_orders": list(result.open_orders),
            "positions": dict(result.positions),
            "cash": result.rebuilt_cash,
        }

    def report(ctx: WorkflowContext) -> dict[str, Any]:
        return {
            "pre_trade": ctx["pre_trade"],
            "session": ctx["session"],
            "reconciliation": ctx["reconcile"],
            "emergency_stop": bool(ctx["session"]["error"] and "emergency stop" in ctx["session"]["error"]),
        }

    return WorkflowDefinition(
        name=name,
        description="Pre-trade checks, a paper session guarded by loss limits with an emergency stop, reconciliation",
        params=(
            *DATA_PARAMS,
            Param("strategy", str, "momentum", description="Strategy to trade"),
            Param("strategy_params", str, "", description="Its parameters, e.g. lookback=30"),
            Param("capital", float, 10_000.0, 1.0, 1e12, "Starting capital"),
            Param("mode", str, "paper", description="paper (live needs a live broker)", choices=("paper", "live")),
            Param("max_daily_loss_pct", float, 2.0, 0.1, 100.0, "Emergency stop beyond this daily loss (%)"),
            Param("max_drawdown_pct", float, 10.0, 0.1, 100.0, "Emergency stop beyond this drawdown (%)"),
            Param("allow_crisis", bool, False, description="Trade even when the regime is crisis"),
            *FEED_PARAMS,
        ),
        steps=(
            data_step(services, name),
            Step("pre_trade", pre_trade, depends_on="data", description="tier, risk limits, mode and regime checks"),
            Step("session", session, depends_on="pre_trade", description="the guarded paper session"),
            Step("reconcile", reconcile, depends_on="session", description="rebuild the account from the store"),
        ),
        report=report,
        check=check,
    )


def _score(bars: Bars, lookback: int, registry: StrategyRegistry) -> dict[str, Any]:
    from gpt_trader_core.analysis import compare_strategies  # (step code is imported when a step runs)
    from gpt_trader_core.ml import predict

    recent = bars.slice(max(0, len(bars) - lookback))
    comparison = compare_strategies(
        recent, ["sma_cross", "momentum", "mean_reversion", "volatility", "breakout"], registry=registry
    )
    favoured = [entry.strategy for entry in predict(None, bars).ranking[:2]]
    scores = {}
    for row in comparison.rows:
        sharpe = row.stats["sharpe_ratio"]
        base = sharpe if isinstance(sharpe, float) and math.isfinite(sharpe) else -10.0
        scores[row.strategy] = round(base + (0.25 if row.strategy in favoured else 0.0), 6)
    return {"scores": scores, "favoured_by_regime": favoured, "lookback": len(recent)}


def adaptive_strategy_selection(services: WorkflowServices, sessions: TradingSessions) -> WorkflowDefinition:
    name = "adaptive_strategy_selection"

    async def regime(ctx: WorkflowContext) -> dict[str, Any]:
        from gpt_trader_core.regime import detect_regime  # (step code is imported when a step runs)

        analysis = detect_regime(ctx["data"])
        return {"current": analysis.current, "confidence": analysis.confidence}

    async def score(ctx: WorkflowContext) -> dict[str, Any]:
        return await services.executor.run(_score, ctx["data"], ctx.params["lookback"], services.registry)

    async def select(ctx: WorkflowContext) -> dict[str, Any]:
        from gpt_trader_core.portfolio import classify_tier

        tier = classify_tier(ctx.params["capital"]).tier
        ranked = sorted(ctx["score"]["scores"].items(), key=lambda kv: -kv[1])
        allowed = [(s, v) for s, v in ranked if s in tier.allowed_strategies]
        if not allowed:
            raise InvalidParameterError(f"{name}: no scored strategy is allowed in the {tier.name} tier")
        return {"strategy": allowed[0][0], "score": allowed[0][1], "tier": tier.name, "ranking": ranked}

    async def allocate(ctx: WorkflowContext) -> dict[str, Any]:
        from gpt_trader_core.portfolio import classify_tier

        tier = classify_tier(ctx.params["capital"]).tier
        return {
            "capital": ctx.params["capital"],
            "tier": tier.name,
            "risk": attrs.asdict(
                RiskSpec(
                    max_drawdown_pct=tier.quarterly_risk_budget_pct,
                    max_daily_loss_pct=tier.daily_risk_budget_pct,
                    max_open_positions=tier.max_positions,
                )
            ),
        }

    async def start(ctx: WorkflowContext) -> dict[str, Any]:
        allocation = ctx["allocate"]
        req = SessionRequest(
            ctx["select"]["strategy"],
            (ctx.params["symbol"],),
            {},
            allocation["capital"],
            "paper",
            _feed(ctx.params),
            risk=RiskSpec(**allocation["risk"]),
        )
        return await trade(sessions, req, ctx.params["bars"], ctx)

    def report(ctx: WorkflowContext) -> dict[str, Any]:
        return {
            "regime": ctx["regime"],
            "scores": ctx["score"],
            "selection": ctx["select"],
            "allocation": ctx["allocate"],
            "session": ctx["start"],
        }

    return WorkflowDefinition(
        name=name,
        description="Regime → score strategies → select within the capital tier → allocate → paper session",
        params=(
            *DATA_PARAMS,
            Param("capital", float, 10_000.0, 1.0, 1e12, "Capital to allocate"),
            Param("lookback", int, 504, 60, 100_000, "Recent bars the strategies are scored on"),
            *FEED_PARAMS,
        ),
        steps=(
            data_step(services, name),
            Step("regime", regime, depends_on="data", description="current market regime"),
            Step("score", score, depends_on="data", description="recent Sharpe of each strategy, regime bonus"),
            Step("select", select, depends_on=("score", "regime"), description="best strategy allowed in the tier"),
            Step("allocate", allocate, depends_on="select", description="capital and risk limits from the tier"),
            Step("start", start, depends_on="allocate", description="start the paper session"),
        ),
        report=report,
    )
