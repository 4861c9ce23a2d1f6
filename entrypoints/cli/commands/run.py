"""``gpt-trader run``: a paper-trading session in the foreground with a live status line."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.backtest import parse_date, parse_float
from gpt_trader_core.domain.bars import TIMEFRAMES
from gpt_trader_core.errors import InvalidParameterError


class RunCommand(AppCommand):
    name = "run"
    description = "Run a strategy as a paper-trading session (Ctrl-C stops it cleanly; --resume continues it)."
    help = """Trades <info>--strategy</info> on <info>--symbol</info> with the simulated broker, bar by bar, with the
same code and fill model as the backtest. Every order, fill, position and equity value is saved
before it is reported, so a session survives a crash: <info>--resume SESSION_ID</info> continues it.

  <comment>gpt-trader run --strategy momentum --symbol AAPL --mode paper</comment>   (synthetic bars, 1 per second)
  <comment>gpt-trader run -s sma_cross --symbol GOOG --feed replay --speed 0 --data-dir ./csv</comment>
  <comment>gpt-trader run -s breakout --symbol SPY --feed synthetic --timeframe 1m --speed 60</comment>
  <comment>gpt-trader run --resume ses_0123456789abcdef</comment>

<info>--mode live</info> is refused until a live broker adapter is configured."""
    options: ClassVar[list[Option]] = [
        option("strategy", "s", "Strategy name", flag=False),
        option("symbol", None, "Symbol (repeatable)", flag=False, multiple=True),
        option("mode", None, "paper (live needs a live broker)", flag=False, default="paper"),
        option(
            "feed",
            None,
            "synthetic (live synthetic bars) or replay (history as fast as --speed)",
            flag=False,
            default="synthetic",
        ),
        option(
            "speed", None, "Replay/synthetic speed as a multiple of real time (0 = as fast as possible)", flag=False
        ),
        option("timeframe", "t", "Bar timeframe (replay default 1d, synthetic default 1m)", flag=False),
        option("from", None, "Replay from (YYYY-MM-DD)", flag=False),
        option("to", None, "Replay to (YYYY-MM-DD)", flag=False),
        option("param", "p", "Strategy parameter key=value (repeatable)", flag=False, multiple=True),
        option("capital", None, "Starting capital", flag=False, default="10000"),
        option("commission", None, "Commission rate per side", flag=False),
        option("max-drawdown", None, "Emergency stop beyond this drawdown (%)", flag=False),
        option("max-daily-loss", None, "Emergency stop beyond this daily loss (%)", flag=False),
        option("bars", None, "Stop after this many bars", flag=False),
        option("resume", None, "Continue a stored session", flag=False),
        option("data-dir", None, "Directory of SYMBOL.csv files for the replay", flag=False),
        option("no-tier-check", None, "Allow strategies outside the capital tier", flag=True),
    ]

    def settings_overrides(self) -> list[str]:
        if self.option("data-dir"):
            return ["market_data.source=csv", f"market_data.path={self.option('data-dir')}"]
        return []

    def _request(self, loaded: Any) -> Any:
        from gpt_trader_core.backtesting.config import BacktestConfig
        from gpt_trader_core.services.sessions import SessionRequest

        strategy = self.option("strategy")
        if not strategy:
            raise InvalidParameterError("--strategy is required (or --resume SESSION_ID)")
        symbols = tuple(self.option("symbol") or ["AAPL"])
        feed_kind = self.option("feed")
        if feed_kind not in ("synthetic", "replay"):
            raise InvalidParameterError(f"--feed must be synthetic or replay, got {feed_kind!r}")
        speed = parse_float("speed", self.option("speed"))
        if speed is not None and speed < 0:
            raise InvalidParameterError(f"--speed must be >= 0, got {speed:g}")
        timeframe = self.option("timeframe") or ("1d" if feed_kind == "replay" else "1m")
        if timeframe not in TIMEFRAMES:
            raise InvalidParameterError(f"--timeframe {timeframe!r} is unknown; use one of {', '.join(TIMEFRAMES)}")
        if feed_kind == "replay":
            start, end = parse_date("from", self.option("from")), parse_date("to", self.option("to"))
            feed = {
                "kind": "replay",
                "timeframe": timeframe,
                "speed": speed or 0.0,
                "start": start.isoformat() if start else None,
                "end": end.isoformat() if end else None,
            }
        else:
            seconds = TIMEFRAMES[timeframe].astype("timedelta64[s]").astype(float)
            interval = seconds / speed if speed else (0.0 if speed == 0 else 1.0)
            feed = {
                "kind": "synthetic",
                "timeframe": timeframe,
                "interval": interval,
                "started_at": time.time(),
                "seed": loaded.settings.market_data.seed,
            }
        risk = None
        drawdown, daily = (
            parse_float("max-drawdown", self.option("max-drawdown")),
            parse_float("max-daily-loss", self.option("max-daily-loss")),
        )
        if drawdown is not None or daily is not None:
            risk = {
                "max_drawdown_pct": drawdown or 100.0,
                "max_daily_loss_pct": daily or 100.0,
                "max_position_pct": 100.0,
                "min_cash_reserve_pct": 0.0,
            }
        commission = parse_float("commission", self.option("commission"))
        config = BacktestConfig(
            commission=loaded.settings.backtest.commission if commission is None else commission,
            slippage=loaded.settings.backtest.slippage,
        )
        if self.option("bars"):
            feed["stop_after"] = int(self.option("bars"))
        capital = parse_float("capital", self.option("capital")) or 0.0
        return SessionRequest(
            strategy,
            symbols,
            self.parse_pairs("param", self.option("param")),
            capital,
            self.option("mode"),
            feed,
            config,
            risk,
            not self.option("no-tier-check"),
        )

    def handle(self) -> int:
        loaded = self.load_settings()
        resume = self.option("resume")
        request = None if resume else self._request(loaded)
        limit = int(self.option("bars")) if self.option("bars") else None
        line = StatusLine(self.io.error_output.stream if hasattr(self.io.error_output, "stream") else sys.stderr)

        async def work(container: Any) -> Any:
            sessions = await container.services.sessions()
            bus = await _resolve(container.adapters.event_bus())
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGINT, stop.set)
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            subscription = bus.subscribe("session:*")
            watcher = asyncio.create_task(line.follow(subscription, stop, None if request else limit))
            try:
                if resume:
                    record = await sessions.resume(resume, stop)
                else:
                    record = await sessions.run(request, stop)
                return record, await sessions.status(record.id)
            finally:
                watcher.cancel()
                await subscription.close()
                loop.remove_signal_handler(signal.SIGINT)
                loop.remove_signal_handler(signal.SIGTERM)

        record, report = self.run_with_container(work)
        line.end()
        perf = report.performance
        tag = " (SYNTHETIC DATA)" if record.feed.get("kind") == "synthetic" else ""
        self.line(
            f"session <info>{record.id}</info> {record.status.value}{tag}: {perf.get('bars', 0)} bars, "
            f"equity {record.equity:,.2f} ({perf.get('return_pct', 0.0):+.2f} %), {report.orders} orders, "
            f"{len(report.fills)} recent fills"
        )
        for p in report.positions:
            self.line(f"  position {p.symbol}: {p.size:+g} @ {p.entry_price:.4f}")
        if record.error:
            self.line(f"  <comment>{record.error}</comment>")
        if record.status.value in ("stopped", "running"):
            self.line(f"resume with: <info>gpt-trader run --resume {record.id}</info>")
        return 0


async def _resolve(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future) else value


class StatusLine:
    """One line on standard error, rewritten as bars, orders and fills arrive."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.state: dict[str, Any] = {"bar": "-", "equity": 0.0, "fills": 0, "orders": 0, "last": ""}

    async def follow(self, subscription: Any, stop: asyncio.Event, limit: int | None) -> None:
        async for event in subscription:
            data = event.data
            if event.type == "portfolio_updated":
                self.state.update(bar=data["bar"], equity=data["equity"], time=data["time"])
                if limit is not None and data["bar"] + 1 >= limit:
                    stop.set()
            elif event.type == "fill_recorded":
                self.state["fills"] += 1
                self.state["last"] = f"{data['side']} {data['quantity']:g} {data['symbol']} @ {data['price']:.4f}"
            elif event.type.startswith("order_"):
                self.state["orders"] += 1
            elif event.type == "risk_alert":
                self.state["last"] = "RISK: " + "; ".join(data.get("reasons", []))
            self.draw()

    def draw(self) -> None:
        s = self.state
        text = (
            f"bar {s['bar']} {s.get('time', '')[:16]} | equity {s['equity']:,.2f} | orders {s['orders']} "
            f"fills {s['fills']} | {s['last']}"
        )
        if self.tty:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()

    def end(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
