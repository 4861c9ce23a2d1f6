"""The REST API v1: one blueprint per resource, each with its full ``/api/v1/...`` prefix."""

from __future__ import annotations

from sanic import Blueprint


def group() -> list[Blueprint]:
    from entrypoints.http.api import backtests, market, portfolio, sessions, strategies, studies, system, workflows

    return [
        system.health,
        system.bp,
        workflows.bp,
        strategies.bp,
        market.bp,
        portfolio.bp,
        sessions.bp,
        backtests.bp,
        studies.bp,
    ]
