"""A ranked comparison of strategies on one symbol, as ``strategies compare`` and
``backtest --strategy all`` print it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from entrypoints.cli.render import SYNTHETIC_BANNER, plain_csv, report_table

if TYPE_CHECKING:
    from cleo.commands.command import Command

    from gpt_trader_core.analysis import StrategyComparison

COLUMNS = ("rank", "strategy", "return_pct", "sharpe_ratio", "max_drawdown_pct", "num_trades", "win_rate_pct")


def comparison_dict(comparison: StrategyComparison) -> dict[str, Any]:
    """Ranked rows (rank, strategy, params, stats) without the full results (equity curves)."""
    return {
        "symbol": comparison.symbol,
        "rank_by": comparison.rank_by,
        "rows": [
            {"rank": r.rank, "strategy": r.strategy, "params": r.params, "stats": r.stats} for r in comparison.rows
        ],
    }


def print_comparison(command: Command, comparison: StrategyComparison, fmt: str) -> None:
    if fmt == "json":  # the REST API's shape (POST /api/v1/strategies/compare)
        from entrypoints.presenters import dumps, plain
        from entrypoints.presenters.market import Explained

        command.line(dumps(Explained(plain(comparison), None)))
        return
    rows = [[r.rank, r.strategy, *(r.stats.get(k) for k in COLUMNS[2:])] for r in comparison.rows]
    if fmt == "csv":
        command.line(plain_csv(COLUMNS, rows))
        return
    synthetic = any(r.result.synthetic for r in comparison.rows)
    if synthetic:
        command.line(f"<comment>{SYNTHETIC_BANNER}</comment>")
    best = comparison.rows[0] if comparison.rows else None
    title = f"<info>{comparison.symbol}</info>: {len(comparison.rows)} strategies ranked by {comparison.rank_by}"
    if best is not None:
        title += f" · best <info>{best.strategy}</info>"
    command.line(title)
    report_table(command, COLUMNS, rows)
