"""Alert rules over named metric values, and an evaluator that raises and resolves each alert once.

    evaluator = AlertEvaluator(DEFAULT_RULES)
    changes = evaluator.evaluate({"system.cpu_percent": 93.0, ...})   # [AlertChange("raised", Alert(...))]
    evaluator.evaluate({"system.cpu_percent": 93.5, ...})              # [] (still firing: no repeat)
    evaluator.evaluate({"system.cpu_percent": 12.0, ...})              # [AlertChange("resolved", ...)]

A metric that is missing or ``None`` (no requests yet, a platform without /proc) does not breach its
rule: an alert that was firing resolves.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

import attrs

from gpt_trader_core.errors import InvalidParameterError

__all__ = ["DEFAULT_RULES", "OPERATORS", "SEVERITIES", "Alert", "AlertChange", "AlertEvaluator", "AlertRule"]

OPERATORS: Mapping[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
SEVERITIES = ("info", "warning", "critical")


def _check_op(_instance: object, _attribute: object, value: str) -> None:
    if value not in OPERATORS:
        raise InvalidParameterError(f"alert operator must be one of {', '.join(OPERATORS)}, got {value!r}")


def _check_severity(_instance: object, _attribute: object, value: str) -> None:
    if value not in SEVERITIES:
        raise InvalidParameterError(f"alert severity must be one of {', '.join(SEVERITIES)}, got {value!r}")


def _check_for(_instance: object, _attribute: object, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise InvalidParameterError(f"alert for_seconds must be >= 0, got {value!r}")


@attrs.frozen
class AlertRule:
    """Fire when ``metric op threshold`` has held for at least ``for_seconds`` seconds."""

    name: str
    metric: str
    op: str = attrs.field(validator=_check_op)
    threshold: float = attrs.field(converter=float)
    for_seconds: float = attrs.field(default=0.0, converter=float, validator=_check_for)
    severity: str = attrs.field(default="warning", validator=_check_severity)

    def breached(self, value: float | None) -> bool:
        if value is None or math.isnan(value):
            return False
        return OPERATORS[self.op](value, self.threshold)

    def describe(self, value: float | None) -> str:
        shown = "n/a" if value is None else f"{value:.4g}"
        return f"{self.metric} = {shown} ({self.op} {self.threshold:g})"


#: CPU > 80 % (for a minute: a backtest may spike it), memory > 80 %, disk > 90 %,
#: error rate > 5 % and p95 response time > 1 s over the request window.
DEFAULT_RULES: tuple[AlertRule, ...] = (
    AlertRule("high_cpu", "system.cpu_percent", ">", 80, for_seconds=60, severity="warning"),
    AlertRule("high_memory", "system.memory_percent", ">", 80, severity="warning"),
    AlertRule("disk_almost_full", "system.disk_percent", ">", 90, severity="critical"),
    AlertRule("high_error_rate", "requests.error_rate_percent", ">", 5, severity="critical"),
    AlertRule("slow_responses", "requests.p95_ms", ">", 1000, severity="warning"),
)


@attrs.frozen
class Alert:
    """A firing (or, in a "resolved" change, a finished) alert. Times are naive UTC."""

    rule: str
    metric: str
    op: str
    threshold: float
    severity: str
    value: float | None
    since: dt.datetime
    message: str
    resolved_at: dt.datetime | None = None


@attrs.frozen
class AlertChange:
    """An alert started (``raised``) or stopped (``resolved``) firing."""

    kind: Literal["raised", "resolved"]
    alert: Alert

    @property
    def event_type(self) -> str:
        return f"alert_{self.kind}"


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


@attrs.define
class _RuleState:
    pending_since: float | None = None
    active: Alert | None = None


class AlertEvaluator:
    """Keeps, per rule, whether it is pending (breached, waiting ``for_seconds``) or firing.

    ``evaluate`` returns only the changes: one ``raised`` when a rule starts firing, one ``resolved``
    when it stops; a rule that keeps firing produces nothing (its ``value`` in ``firing`` is updated).
    ``clock`` gives epoch seconds (inject one in tests).
    """

    def __init__(self, rules: Iterable[AlertRule] = DEFAULT_RULES, *, clock: Callable[[], float] = time.time) -> None:
        self.rules = tuple(rules)
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"alert rule names must be unique, got {names}")
        self._clock = clock
        self._state = {rule.name: _RuleState() for rule in self.rules}
        self.evaluations = 0

    def evaluate(self, values: Mapping[str, float | None]) -> list[AlertChange]:
        now = self._clock()
        self.evaluations += 1
        changes: list[AlertChange] = []
        for rule in self.rules:
            state = self._state[rule.name]
            value = values.get(rule.metric)
            if not rule.breached(value):
                state.pending_since = None
                if state.active is not None:
                    resolved = attrs.evolve(state.active, value=value, resolved_at=_utc(now))
                    changes.append(AlertChange("resolved", resolved))
                    state.active = None
                continue
            if state.active is not None:
                state.active = attrs.evolve(state.active, value=value, message=rule.describe(value))
                continue
            if state.pending_since is None:
                state.pending_since = now
            if now - state.pending_since >= rule.for_seconds:
                state.active = self._alert(rule, value, state.pending_since)
                changes.append(AlertChange("raised", state.active))
        return changes

    @staticmethod
    def _alert(rule: AlertRule, value: float | None, since: float) -> Alert:
        return Alert(
            rule.name, rule.metric, rule.op, rule.threshold, rule.severity, value, _utc(since), rule.describe(value)
        )

    def breaches(self, values: Mapping[str, float | None]) -> tuple[Alert, ...]:
        """The rules breached by ``values`` right now, ignoring ``for_seconds`` and without changing any
        state (for a one-shot status that cannot wait)."""
        now = self._clock()
        return tuple(
            self._alert(rule, values.get(rule.metric), now)
            for rule in self.rules
            if rule.breached(values.get(rule.metric))
        )

    @property
    def firing(self) -> tuple[Alert, ...]:
        return tuple(state.active for state in self._state.values() if state.active is not None)
