"""``gpt-trader run``: a paper-trading session in the foreground with a live status line."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.backtest import parse_date, parse_float
from gpt_trader_core.errors import InvalidParameterError


class RunCommand(AppCommand):
    remote_capable = True
    name = "run"
    description = "Run a strategy as a paper-trading session (Ctrl-C stops it cleanly; --resume continues it)."
    help = """Trades <info>--strategy</info> on <info>--symbol</info> with the simulated broker, bar by bar, with the
same code and fill model as the backtest. Every order, fill, position and equity value is saved
before it is reported, so a session survives a crash: <info>--resume SESSION_ID</info> continues it on
exactly the data it started on (the data source, range and a fingerprint of the bars are stored with
it; a changed file is refused, saying so). On resume only <info>--speed</info> and <info>--bars</info> apply.
With <info>--remote URL</info> the session trades on the server (Ctrl-C stops it there) and <info>--resume</info>
continues one of the server's sessions there.

<info>--mode live</info> is refused until a live broker adapter is configured.

  <comment>gpt-trader run --strategy momentum --symbol AAPL --mode paper</comment>  (synthetic bars, 1 per second)
  <comment>gpt-trader run -s sma_cross --symbol GOOG --feed replay --speed 0 --data-dir ./csv</comment>
  <comment>gpt-trader run -s breakout --symbol SPY --feed synthetic --timeframe 1m --speed 60</comment>
  <comment>gpt-trader run --resume ses_0123456789abcdef</comment>"""
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
        option("timeframe", "t", "Bar timeframe (replay default: the data's own, synthetic default 1m)", flag=False),
        option("from", None, "Replay from (YYYY-MM-DD)", flag=False),
        option("to", None, "Replay to (YYYY-MM-DD)", flag=False),
        option("param", "p", "Strategy parameter key=value (repeatable)", flag=False, multiple=True),
        option("capital", None, "Starting capital", flag=False, default="10000"),
        option("commission", None, "Commission rate per side", flag=False),
        option("max-drawdown", None, "Emergency stop beyond this drawdown (%)", flag=False),
        option("max-daily-loss", None, "Emergency stop beyond this daily loss (%)", flag=False),
        option("bars", None, "Stop after this many bars (on resume: this many more)", flag=False),
        option("resume", None, "Continue a stored session on the data it started on", flag=False),
        option("data-dir", None, "Directory of SYMBOL.csv files for the replay", flag=False),
        option("no-tier-check", None, "Allow strategies outside the capital tier", flag=True),
    ]

    def settings_overrides(self) -> list[str]:
        if self.option("data-dir"):
            return ["market_data.source=csv", f"market_data.path={self.option('data-dir')}"]
        return []

    def _request(self, loaded: Any) -> Any:
        import attrs

        from gpt_trader_core.backtesting.config import BacktestConfig
        from gpt_trader_core.domain.bars import TIMEFRAMES  # numpy: not for --help
        from gpt_trader_core.domain.specs import FeedSpec, RiskSpec
        from gpt_trader_core.domain.symbols import shown
        from gpt_trader_core.services.sessions import SessionRequest

        strategy = self.option("strategy")
        if not strategy:
            raise InvalidParameterError("--strategy is required (or --resume SESSION_ID)")
        symbols = tuple(self.option("symbol") or ["AAPL"])
        feed_kind = self.option("feed")
        if feed_kind not in ("synthetic", "replay"):
            raise InvalidParameterError(f"--feed must be synthetic or replay, got {shown(feed_kind)}")
        speed = parse_float("speed", self.option("speed"))
        if speed is not None and speed < 0:
            raise InvalidParameterError(f"--speed must be >= 0, got {speed:g}")
        timeframe = self.option("timeframe") or (None if feed_kind == "replay" else "1m")
        if timeframe is not None and timeframe not in TIMEFRAMES:
            raise InvalidParameterError(
                f"--timeframe {shown(timeframe)} is unknown; use one of {', '.join(TIMEFRAMES)}"
            )
        start = end = None
        if feed_kind == "replay":
            start, end = parse_date("from", self.option("from")), parse_date("to", self.option("to"))
        limit = parse_bars(self.option("bars"))
        feed = FeedSpec(
            feed_kind, timeframe, speed, start, end, seed=loaded.settings.market_data.seed, stop_after=limit
        )
        risk = None
        drawdown, daily = (
            parse_float("max-drawdown", self.option("max-drawdown")),
            parse_float("max-daily-loss", self.option("max-daily-loss")),
        )
        if drawdown is not None or daily is not None:
            given: dict[str, Any] = {"max_drawdown_pct": drawdown, "max_daily_loss_pct": daily}
            risk = attrs.evolve(RiskSpec(), **{k: v for k, v in given.items() if v is not None})
        commission = parse_float("commission", self.option("commission"))
        config = BacktestConfig(
            commission=loaded.settings.backtest.commission if commission is None else commission,
            slippage=loaded.settings.backtest.slippage,
        )
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

    def _check_resume_options(self) -> None:
        """A resumed session trades what it recorded: options that would change it are refused."""
        fixed = [
            name
            for name in (
                "strategy",
                "symbol",
                "timeframe",
                "from",
                "to",
                "param",
                "commission",
                "max-drawdown",
                "max-daily-loss",
                "data-dir",
                "no-tier-check",
            )
            if self.option(name)
        ]
        if fixed:
            raise InvalidParameterError(
                f"--resume continues a session on the strategy, symbols, data and limits it recorded; "
                f"--{', --'.join(fixed)} cannot change them (only --speed and --bars apply): drop them, or start "
                "a new session"
            )

    def handle(self) -> int:
        loaded = self.load_settings()
        resume = self.option("resume")
        if resume:
            self._check_resume_options()
        request = None if resume else self._request(loaded)
        speed = parse_float("speed", self.option("speed")) if resume else None
        if speed is not None and speed < 0:
            raise InvalidParameterError(f"--speed must be >= 0, got {speed:g}")
        limit = parse_bars(self.option("bars"))
        line = StatusLine(
            self.io.error_output.stream if hasattr(self.io.error_output, "stream") else sys.stderr, self.line
        )

        async def work(container: Any) -> Any:
            sessions = await container.services.sessions()
            bus = await _resolve(container.adapters.event_bus())
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGINT, stop.set)
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            subscription = bus.subscribe("session:*")
            watcher = asyncio.create_task(line.follow(subscription, stop))
            try:
                if resume:
                    record = await sessions.resume(resume, stop, speed=speed, bars=limit)
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
        source = record.feed.source
        synthetic = record.feed.kind == "synthetic" or (source is not None and source.kind == "synthetic")
        tag = " (SYNTHETIC DATA)" if synthetic else ""
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
            there = f" --remote {self.remote_url()}" if self.remote_url() else ""
            self.line(f"resume with: <info>gpt-trader run --resume {record.id}{there}</info>")
        return 0


def parse_bars(text: str | None) -> int | None:
    from gpt_trader_core.domain.symbols import shown

    if text is None:
        return None
    try:
        bars = int(text)
    except ValueError:
        raise InvalidParameterError(f"--bars must be a whole number of bars >= 1, got {shown(text)}") from None
    if bars < 1:
        raise InvalidParameterError(f"--bars must be a whole number of bars >= 1, got {bars}")
    return bars


async def _resolve(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future) else value


class StatusLine:
    """Progress of the session: on a terminal, one line on standard error rewritten as bars, orders
    and fills arrive; otherwise (a pipe, a log file, a service) whole lines on standard output, at
    most one every ``every`` seconds plus the first bar and every risk alert."""

    def __init__(
        self,
        stream: Any,
        emit: Callable[[str], None],
        *,
        every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.emit = emit
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.every, self.clock = every, clock
        self.state: dict[str, Any] = {"bar": "-", "equity": 0.0, "fills": 0, "orders": 0, "last": ""}
        self._printed: float | None = None
        self._pending = False

    async def follow(self, subscription: Any, stop: asyncio.Event) -> None:
        async for event in subscription:
            data = event.data
            urgent = False
            if event.type == "portfolio_updated":
                self.state.update(bar=data["bar"], equity=data["equity"], time=data["time"])
            elif event.type == "fill_recorded":
                self.state["fills"] += 1
                self.state["last"] = f"{data['side']} {data['quantity']:g} {data['symbol']} @ {data['price']:.4f}"
            elif event.type.startswith("order_"):
                self.state["orders"] += 1
            elif event.type == "risk_alert":
                self.state["last"] = "RISK: " + "; ".join(data.get("reasons", []))
                urgent = True
            self.draw(urgent)

    def text(self) -> str:
        s = self.state
        return (
            f"bar {s['bar']} {s.get('time', '')[:16]} | equity {s['equity']:,.2f} | orders {s['orders']} "
            f"fills {s['fills']} | {s['last']}"
        )

    def draw(self, urgent: bool = False) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + self.text())
            self.stream.flush()
            return
        if self.state["bar"] == "-":
            return
        now = self.clock()
        if urgent or self._printed is None or now - self._printed >= self.every:
            self.emit(self.text())
            self._printed, self._pending = now, False
        else:
            self._pending = True

    def end(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
        elif self._pending:  # the last state, when the throttle held it back
            self.emit(self.text())
            self._pending = False
